#!/usr/bin/env bash
# A throwaway PostgreSQL server for the leaderboard tests (specs/leaderboard.md: the same tests run
# against SQLite and a real PostgreSQL started from the distribution's packages).
#
#   dir=$(mktemp -d)
#   export TTTD_TEST_POSTGRES_URL=$(bash scripts/postgres-test-server.sh start "$dir")
#   ...run the tests...
#   bash scripts/postgres-test-server.sh stop "$dir"
#
# start: installs Debian's `postgresql` package if no server binaries are found (apt-get; needs root
#        or sudo), initialises a cluster in DIR/data (owned by the `postgres` user when run as root,
#        since PostgreSQL refuses to run as root), starts it listening on 127.0.0.1 only on a free
#        port (Unix socket in DIR), creates the role `tttd` (password auth over TCP, CREATEDB so the
#        tests can create one database per test) and its database `tttd`, and prints the URL on
#        stdout — nothing else goes to stdout. The server log is DIR/server.log.
# stop:  stops the server and removes DIR.
set -euo pipefail

usage() { echo "usage: $0 start DIR | stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$(cd "$2" 2>/dev/null && pwd) || { echo "$0: $2 is not a directory" >&2; exit 2; }
log() { echo "postgres-test-server: $*" >&2; }

find_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then dirname "$(command -v initdb)"; return 0; fi
  return 1
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }

# Run a PostgreSQL server command as the account that owns the cluster.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$action" in
  start)
    if ! bindir=$(find_bindir); then
      log "installing PostgreSQL (apt-get install postgresql)"
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
      bindir=$(find_bindir) || { log "PostgreSQL server binaries not found after installing"; exit 1; }
    fi
    if [ "$(id -u)" -eq 0 ]; then
      id postgres >/dev/null 2>&1 || { log "no 'postgres' user to run the server as"; exit 1; }
      chown postgres: "$dir"
    fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    # Local socket: trust (setup only, and the socket lives in DIR); TCP: password.
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C --auth-local=trust \
      --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    # fsync off: a throwaway cluster; the tests kill clients, never the server.
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >&2 \
      || { cat "$dir/server.log" >&2; exit 1; }
    as_pg "$bindir/psql" -v ON_ERROR_STOP=1 -q -h "$dir" -p "$port" -U postgres -d postgres >&2 <<SQL
CREATE ROLE tttd LOGIN CREATEDB PASSWORD '$password';
CREATE DATABASE tttd OWNER tttd;
SQL
    echo "$port" >"$dir/port"
    echo "postgresql://tttd:$password@127.0.0.1:$port/tttd"
    ;;
  stop)
    if [ -d "$dir/data" ]; then
      bindir=$(find_bindir) || { log "PostgreSQL binaries not found"; exit 1; }
      as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    fi
    rm -rf "$dir"
    ;;
  *) usage ;;
esac
