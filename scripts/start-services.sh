#!/usr/bin/env bash
# Starts the machine's PostgreSQL and MariaDB when they are installed but not running.
set -u
pg_up() { (exec 3<>/dev/tcp/"${CFWB_PG_HOST:-127.0.0.1}"/"${CFWB_PG_PORT:-5432}") 2>/dev/null; }
my_up() { (exec 3<>/dev/tcp/"${CFWB_MYSQL_HOST:-127.0.0.1}"/"${CFWB_MYSQL_PORT:-3306}") 2>/dev/null; }
if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! my_up && [ -x /usr/sbin/mariadbd ]; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
for _ in $(seq 1 30); do
  pg_up && my_up && break
  sleep 1
done
pg_up || echo "PostgreSQL is not reachable: its tests will be skipped" >&2
my_up || echo "MariaDB is not reachable: its tests will be skipped" >&2
exit 0
