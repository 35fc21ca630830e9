#!/usr/bin/env bash
# Runs a command beside a temporary PostgreSQL server (Debian's
# `postgresql` package, installed if missing): a cluster made with
# `initdb --locale=C --encoding=UTF8` in a temporary directory, run by the
# `postgres` user on a socket in that directory (no TCP port), stopped and
# removed by a trap. The command sees FIELDCHECK_TEST_PG, a URL whose
# database is `{db}` (the tests make one database per store).
#
#   scripts/with-postgres.sh cargo test -p fieldcheck-core --features postgres --lib store::
set -euo pipefail

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(bindir)" ] || [ ! -x "$(bindir)/initdb" ]; then
  "${sudo[@]}" apt-get install -y --no-install-recommends postgresql ||
    { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends postgresql; }
fi
bin=$(bindir)
as_postgres=(runuser -u postgres --)
if [ "$(id -u)" -ne 0 ]; then as_postgres=(sudo -u postgres); fi

dir=$(mktemp -d /tmp/fieldcheck-pg.XXXXXX)
chmod 755 "$dir"
chown postgres "$dir" 2>/dev/null || "${sudo[@]}" chown postgres "$dir"
stop() {
  "${as_postgres[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir" 2>/dev/null || "${sudo[@]}" rm -rf "$dir"
}
trap stop EXIT
"${as_postgres[@]}" "$bin/initdb" -D "$dir/data" --locale=C --encoding=UTF8 -A trust -U postgres >/dev/null
# fsync off: a conformance run, not a durability test.
"${as_postgres[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-k $dir -c listen_addresses='' -c fsync=off -c max_connections=300" start >/dev/null

export FIELDCHECK_TEST_PG="postgres://postgres@localhost/{db}?host=$dir"
"$@"
