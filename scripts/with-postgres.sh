#!/usr/bin/env bash
# Runs a command beside a temporary PostgreSQL server (Debian's
# `postgresql` package, installed if missing): a cluster made with
# `initdb --locale=C --encoding=UTF8` in a temporary directory, run by the
# `postgres` user on a socket in that directory (no TCP port), stopped and
# removed by a trap. The command sees FIELDCHECK_TEST_PG, a URL whose
# database is `{db}` (the tests make one database per store),
# FIELDCHECK_MASTER_KEY_FILE (a new master key: every store seals),
# FIELDCHECK_TEST_PGDATA (the cluster's data directory), and
# FIELDCHECK_TEST_PG_TLS, the same server over TLS on a loopback port with a
# certificate from a throwaway CA (`sslrootcert`), plus
# FIELDCHECK_TEST_OTHER_CA, a CA that did not sign it.
#
#   scripts/with-postgres.sh cargo test --workspace --lib store::
set -euo pipefail

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(bindir)" ] || [ ! -x "$(bindir)/initdb" ]; then
  "${sudo[@]}" apt-get install -y --no-install-recommends postgresql ||
    { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends postgresql; }
fi
bin=$(bindir)
if ! command -v openssl >/dev/null 2>&1; then
  "${sudo[@]}" apt-get install -y --no-install-recommends openssl ||
    { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends openssl; }
fi
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
# A throwaway CA and a certificate for localhost, for the TLS tests.
(
  cd "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
    -subj "/CN=fieldcheck test CA" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 2 \
    -subj "/CN=another CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
    -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >san.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out server.crt -days 2 -extfile san.ext 2>/dev/null
  chmod 600 server.key
  chown postgres server.key server.crt 2>/dev/null || "${sudo[@]}" chown postgres server.key server.crt
)
# fsync off: a conformance run, not a durability test; set in the
# configuration file rather than on the command line, so a test may turn it
# back on (ALTER SYSTEM, reload: the sealed-data byte scan runs with the
# defaults). TCP on loopback only, for TLS; a port that turns out taken is
# tried again.
echo "fsync = off" | "${as_postgres[@]}" tee -a "$dir/data/postgresql.conf" >/dev/null
for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  if "${as_postgres[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-k $dir -c listen_addresses=127.0.0.1 -p $port -c max_connections=300 \
        -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key" \
    start >/dev/null; then
    break
  fi
  [ "$attempt" -lt 5 ] || { cat "$dir/log" >&2; exit 1; }
done

# PostgreSQL stores always seal personal values (PRODUCT.md §12.5): every
# server and CLI process of the run gets this master key, so the stores it
# makes on SQLite seal too. The data directory is named for the tests that
# scan PostgreSQL's files for clear values.
head -c 32 /dev/urandom >"$dir/master.key"
chmod 600 "$dir/master.key"
export FIELDCHECK_MASTER_KEY_FILE="$dir/master.key"
export FIELDCHECK_TEST_PGDATA="$dir/data"
export FIELDCHECK_TEST_PG="postgres://postgres@localhost:$port/{db}?host=$dir"
export FIELDCHECK_TEST_PG_TLS="postgres://postgres@localhost:$port/{db}?sslmode=verify-full&sslrootcert=$dir/ca.pem"
export FIELDCHECK_TEST_OTHER_CA="$dir/other-ca.pem"
"$@"
