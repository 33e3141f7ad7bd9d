"""Real third-party file servers for the FTP/FTPS/SFTP tests: vsftpd and OpenSSH's sshd (Debian packages).

``scripts/setup.sh`` installs them (as root, with apt). Each fixture starts its own server process with
its own configuration on free 127.0.0.1 ports (vsftpd's passive ports too), for a test OS user created
for this session only (``useradd``, random password, removed at the end), with host keys, client keys
and the certificate in a temporary folder; it waits until the server greets, and always stops it.
The system's own vsftpd/sshd services and their ``/etc`` configuration are never used or touched.

vsftpd runs with its default TLS settings (``require_ssl_reuse=YES``, ``force_local_data_ssl=YES``…);
only what a test instance needs differs from the defaults (addresses, ports, log and user list files).
Without root or without the binaries, the tests using these fixtures are skipped with the reason.
Imported by ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from file_servers import FileServer, _free_port
from tls_certificates import self_signed_certificate

VSFTPD = "/usr/sbin/vsftpd"
LOCAL_TIMEZONE = "Europe/Zurich"  # the zone of the `localtime` vsftpd (use_localtime=YES)
SSHD = "/usr/sbin/sshd"


def _need(binary: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"`{binary}` tests need root (a test OS user is created); run the suite as root")
    if not os.access(binary, os.X_OK):
        pytest.skip(f"`{binary}` is not installed: run `scripts/setup.sh` as root (apt-get install)")


def _free_port_range(count: int) -> tuple[int, int]:
    """``count`` consecutive free ports (vsftpd's passive range)."""
    for _ in range(200):
        base = 30_000 + secrets.randbelow(25_000)
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base, base + count - 1
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free range of passive ports")


def _wait_for_greeting(
    port: int, prefix: bytes, proc: subprocess.Popen, log: Path, timeout: float = 15
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if s.recv(64).startswith(prefix):
                    return
        except OSError:
            time.sleep(0.05)
    details = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    _stop(proc)
    pytest.fail(
        f"server on port {port} did not answer within {timeout:g} s (exit code {proc.poll()}): {details}"
    )


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server this fixture started (its own process group: the listener and its sessions)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, 15)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=5)


class TestUser:
    """An OS user made for this test session: ``cfwb`` + random hex, random password, its own home."""

    def __init__(self, base: Path) -> None:
        self.name = f"cfwb{secrets.token_hex(4)}"
        self.password = f"Pw-{secrets.token_urlsafe(12)}"
        self.home = base / "home"
        subprocess.run(
            ["useradd", "--no-create-home", "--home-dir", str(self.home), "--shell", "/bin/sh", self.name],
            check=True,
            capture_output=True,
        )
        subprocess.run(["chpasswd"], input=f"{self.name}:{self.password}", text=True, check=True)
        entry = pwd.getpwnam(self.name)
        self.owner = (entry.pw_uid, entry.pw_gid)
        self.home.mkdir(mode=0o755)
        os.chown(self.home, *self.owner)

    def remove(self) -> None:
        subprocess.run(["userdel", self.name], check=False, capture_output=True)


@pytest.fixture(scope="session")
def real_server_base():
    """A folder every test user can reach (pytest's own tmp folders are private to root), removed at the end."""
    base = Path(tempfile.mkdtemp(prefix="cfwb-real-servers-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _remove_users_of_dead_sessions() -> None:
    """Remove test users (and folders) of sessions that were killed: home gone, or older than 12 hours."""
    for entry in pwd.getpwall():
        name, home = entry.pw_name, Path(entry.pw_dir)
        if not (
            len(name) == 12 and name.startswith("cfwb") and home.parent.name.startswith("cfwb-real-servers-")
        ):
            continue
        if home.parent.exists() and time.time() - home.parent.stat().st_mtime < 12 * 3600:
            continue
        subprocess.run(["userdel", name], check=False, capture_output=True)
        shutil.rmtree(home.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def real_server_user(real_server_base):
    """The session's test OS user (skips when not root)."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("the vsftpd/sshd tests need root to create a test user (useradd)")
    _remove_users_of_dead_sessions()
    user = TestUser(real_server_base)
    yield user
    user.remove()


def _start_vsftpd(base: Path, user: TestUser, mode: str) -> tuple[FileServer, subprocess.Popen]:
    _need(VSFTPD)
    folder = base / f"vsftpd-{mode}"
    folder.mkdir()
    empty = folder / "empty"
    empty.mkdir(mode=0o555)
    (folder / "users").write_text(user.name + "\n")
    port = _free_port()
    low, high = _free_port_range(12)
    settings = {
        "listen": "YES",
        "listen_ipv6": "NO",
        "listen_address": "127.0.0.1",
        "listen_port": port,
        "background": "NO",
        "anonymous_enable": "NO",
        "local_enable": "YES",
        "write_enable": "YES",
        "local_umask": "022",
        "pasv_enable": "YES",
        "pasv_address": "127.0.0.1",
        "pasv_min_port": low,
        "pasv_max_port": high,
        "connect_from_port_20": "NO",
        "pam_service_name": "vsftpd",  # Debian's PAM file: checks the user's password and shell
        "secure_chroot_dir": empty,
        "userlist_enable": "YES",
        "userlist_deny": "NO",  # only the test user may sign in
        "userlist_file": folder / "users",
        "xferlog_enable": "YES",
        "vsftpd_log_file": folder / "vsftpd.log",
        "log_ftp_protocol": "YES",
        "syslog_enable": "NO",
    }
    info = FileServer("127.0.0.1", port, user.home, user=user.name, password=user.password)
    info.extra.update(owner=user.owner, log=folder / "vsftpd.log", software="vsftpd")
    if mode in ("explicit", "implicit"):
        cert_path, key_path = self_signed_certificate(folder)
        settings.update(ssl_enable="YES", rsa_cert_file=cert_path, rsa_private_key_file=key_path)
        if mode == "implicit":
            settings["implicit_ssl"] = "YES"
        info.extra["ca_certificate"] = cert_path.read_text()
    env = None
    if mode == "localtime":  # as in Debian's shipped /etc/vsftpd.conf, on a server in Geneva
        settings["use_localtime"] = "YES"
        env = {"TZ": LOCAL_TIMEZONE, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    config = folder / "vsftpd.conf"
    config.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    config.chmod(0o600)  # vsftpd refuses a config file others may write
    out = (folder / "stdout.log").open("wb")
    proc = subprocess.Popen(
        [VSFTPD, str(config)],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    if mode == "implicit":
        _wait_for_port(port, proc, folder / "stdout.log")
    else:
        _wait_for_greeting(port, b"220", proc, folder / "stdout.log")
    return info, proc


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 15) -> None:
    import ssl

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
                with context.wrap_socket(raw) as s:
                    if s.recv(64).startswith(b"220"):
                        return
        except OSError:
            time.sleep(0.05)
    _stop(proc)
    pytest.fail(
        f"implicit-FTPS vsftpd on port {port} did not answer: {log.read_text(errors='replace')[-2000:]}"
    )


def _vsftpd_fixture(mode: str):
    @pytest.fixture(scope="session")
    def fixture(real_server_base, real_server_user):
        info, proc = _start_vsftpd(real_server_base, real_server_user, mode)
        try:
            yield info
        finally:
            _stop(proc)

    fixture.__doc__ = f"vsftpd ({mode}) on a free 127.0.0.1 port, serving the test user's home folder."
    return fixture


vsftpd_server = _vsftpd_fixture("ftp")
vsftpd_ftps_server = _vsftpd_fixture("explicit")
vsftpd_implicit_server = _vsftpd_fixture("implicit")
vsftpd_localtime_server = _vsftpd_fixture("localtime")


@pytest.fixture(scope="session")
def openssh_server(real_server_base, real_server_user):
    """OpenSSH's sshd (internal-sftp) on a free 127.0.0.1 port; password or key sign-in for the test user.

    ``extra`` holds ``known_hosts`` (the line trusting this server), ``client_private_key`` (a key the
    server accepts) and ``other_host_key`` (a key that is NOT the server's), like ``sftp_server``.
    """
    _need(SSHD)
    import asyncssh

    user = real_server_user
    folder = real_server_base / "sshd"
    folder.mkdir()
    host_key = folder / "ssh_host_ed25519_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True, capture_output=True
    )
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    ssh_dir = user.home / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(client_key.export_public_key().decode())
    for path in (ssh_dir, ssh_dir / "authorized_keys"):
        os.chown(path, *user.owner)
    (ssh_dir / "authorized_keys").chmod(0o600)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation folder (runtime only)
    port = _free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {folder / 'sshd.pid'}\n"
        f"AllowUsers {user.name}\nPermitRootLogin no\nUsePAM no\nPasswordAuthentication yes\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nAuthorizedKeysFile .ssh/authorized_keys\n"
        "StrictModes yes\nSubsystem sftp internal-sftp\nX11Forwarding no\nAllowTcpForwarding no\n"
        "LogLevel VERBOSE\nMaxStartups 50\nMaxSessions 50\n"
    )
    log = folder / "sshd.log"
    proc = subprocess.Popen(
        [SSHD, "-D", "-f", str(config), "-E", str(log)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_greeting(port, b"SSH-2.0-OpenSSH", proc, log)
        public = (folder / "ssh_host_ed25519_key.pub").read_text().split()
        info = FileServer("127.0.0.1", port, user.home, user=user.name, password=user.password)
        info.extra.update(
            owner=user.owner,
            log=log,
            software="openssh",
            known_hosts=f"[127.0.0.1]:{port} {public[0]} {public[1]}",
            client_private_key=client_key.export_private_key().decode(),
            other_host_key=asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip(),
        )
        yield info
    finally:
        _stop(proc)
