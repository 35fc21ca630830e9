#!/usr/bin/env bash
# Builds fieldcheck and runs the demo: a simulated working week of field
# agents on an embedded SQLite file (target/fieldcheck-demo.db), printing the
# supervisor summary. Extra arguments go to `fieldcheck demo` (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p fieldcheck-cli
exec target/release/fieldcheck demo --db target/fieldcheck-demo.db "$@"
