#!/usr/bin/env bash
# Fuzzes the running device API against its own OpenAPI document with
# schemathesis (PyPI): starts fieldcheck-server on 127.0.0.1 port 0 with a
# fresh store (an SQLite file, or with FIELDCHECK_TEST_PG set, as under
# scripts/with-postgres.sh, a new PostgreSQL database), enrols one device for authenticated requests, and fails on
# any 5xx, undocumented status, or response that breaks the document.
# The virtualenv is cached in ${FIELDCHECK_TOOLCHAINS:-~/.cache/fieldcheck-toolchains}.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

toolchains=${FIELDCHECK_TOOLCHAINS:-$HOME/.cache/fieldcheck-toolchains}
venv=$toolchains/schemathesis-4.32.5
if [ ! -x "$venv/bin/st" ]; then
  if ! python3 -m venv "$venv.tmp" 2>/dev/null; then
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
    "${sudo[@]}" apt-get install -y --no-install-recommends python3-venv ||
      { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends python3-venv; }
    rm -rf "$venv.tmp"
    python3 -m venv "$venv.tmp"
  fi
  "$venv.tmp/bin/pip" install --quiet --disable-pip-version-check schemathesis==4.32.5
  rm -rf "$venv"
  mv "$venv.tmp" "$venv"
  # The venv's scripts name their interpreter by path: rewrite after the move.
  sed -i "1s|.*|#!$venv/bin/python3|" "$venv"/bin/st "$venv"/bin/schemathesis
fi

if ! command -v openssl >/dev/null 2>&1; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get install -y --no-install-recommends openssl ||
    { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends openssl; }
fi

cargo build --locked -p fieldcheck-server -p fieldcheck-cli
server_bin=$root/target/debug/fieldcheck-server
cli_bin=$root/target/debug/fieldcheck

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

db=$work/server.db
if [ -n "${FIELDCHECK_TEST_PG:-}" ]; then
  name=fc_fuzz_$$
  psql -q "$(printf %s "$FIELDCHECK_TEST_PG" | sed 's/{db}/postgres/')" -c "CREATE DATABASE $name"
  db=$(printf %s "$FIELDCHECK_TEST_PG" | sed "s/{db}/$name/")
fi
"$server_bin" --db "$db" --listen 127.0.0.1:0 >"$work/stdout" 2>"$work/stderr" &
server_pid=$!
for _ in $(seq 100); do
  if grep -q '^listening on ' "$work/stdout"; then break; fi
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/stdout" | head -1)
[ -n "$url" ] || { echo "the server did not start" >&2; cat "$work/stderr" >&2; exit 1; }

# One enrolled device, so the authenticated paths are reached too.
code=$("$cli_bin" --db "$db" --json device enrol-code --agent fuzz-agent |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')
openssl ecparam -name prime256v1 -genkey -noout -out "$work/key.pem" 2>/dev/null
public_key=$(openssl ec -in "$work/key.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
token=$(python3 - "$url" "$code" "$public_key" <<'PY'
import json, sys, urllib.request
url, code, key = sys.argv[1:]
body = json.dumps({"code": code, "device_id": "fuzz-device", "public_key": key, "platform": "cli"}).encode()
req = urllib.request.Request(url + "/api/v1/devices/enrol", data=body, headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["device_token"])
PY
)

cd "$work"
cp "$root/scripts/schemathesis.toml" schemathesis.toml
# Without credentials: every operation, refusals included. One worker:
# with two, hypothesis parses sources in two threads and CPython 3.11 (the
# machine's) can fail with "AST constructor recursion depth mismatch"
# (cpython gh-106905), a fault of the tool, not of the API.
"$venv/bin/st" run "$url/api/v1/openapi.json" --checks all --exclude-checks ignored_auth \
  --max-examples 60 --workers 1 --seed 1 --warnings off --no-color
# With the device's token (the rate limit, 120 a minute per device, is
# documented as 429 and stays within the document too).
"$venv/bin/st" run "$url/api/v1/openapi.json" --checks all \
  --include-path /api/v1/sync/decisions --include-path /api/v1/sync/batches \
  --include-path /api/v1/sync/config \
  -H "Authorization: Bearer $token" \
  --max-examples 60 --workers 1 --seed 1 --warnings off --no-color

# The server survived all of it and still answers.
python3 -c 'import sys, urllib.request; assert urllib.request.urlopen(sys.argv[1] + "/healthz").status == 200' "$url"
if grep -q '"level":"ERROR"' "$work/stderr"; then
  echo "the server logged errors during the fuzz run:" >&2
  grep '"level":"ERROR"' "$work/stderr" | head -20 >&2
  exit 1
fi
echo "api fuzz: no server error, every response within the document"
