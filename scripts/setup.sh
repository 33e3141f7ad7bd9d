#!/usr/bin/env bash
# Installs everything the project needs into .venv (Python) and node_modules (Azurite), idempotently.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.5,<1"
fi
# Install exactly what uv.lock pins (all extras, dev group) into .venv; fail if uv.lock is stale.
.venv/bin/uv sync --quiet --locked --all-extras --python .venv/bin/python
if [ "${CFWB_SKIP_NPM:-0}" != "1" ] && [ ! -x node_modules/.bin/azurite-blob ]; then
  if command -v npm >/dev/null 2>&1; then
    npm ci --silent --no-audit --no-fund
  else
    echo "npm not found: the Azurite tests will be skipped" >&2
  fi
fi
# Real third-party file servers for the FTP/FTPS/SFTP tests (tests/real_file_servers.py): vsftpd and
# OpenSSH's sshd from Debian. Only installed when missing, as root, with apt; the tests start their own
# instances (own config, ports, users) and never the system services.
if [ "${CFWB_SKIP_APT:-0}" != "1" ] && { [ ! -x /usr/sbin/vsftpd ] || [ ! -x /usr/sbin/sshd ]; }; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends vsftpd openssh-server
  else
    echo "vsftpd/sshd not installed (needs root and apt-get): the vsftpd and openssh tests will be skipped" >&2
  fi
fi
