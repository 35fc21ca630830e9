#!/usr/bin/env bash
# Builds fieldcheck and runs the demo: a simulated working week of field
# agents on an embedded SQLite file (target/fieldcheck-demo.db), printing the
# supervisor summary. Extra arguments go to `fieldcheck demo` (e.g. --json,
# or --via-server: the week travels through a local fieldcheck-server and the
# summary's reports come from the server's store).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p fieldcheck-cli -p fieldcheck-server
exec target/release/fieldcheck demo --db target/fieldcheck-demo.db "$@"
