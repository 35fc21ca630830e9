#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, the Rust suites (unit,
# property, byte-level privacy, kill -9, command-line contract, shared
# scenarios), the device API fuzzed against its OpenAPI document
# (schemathesis), the console end to end in Chromium (Playwright,
# axe-core), then the Kotlin and Swift shells' suites against freshly
# generated bindings (Kotlin's twice: also against the library apps ship). Installs what it needs (cargo, apt, npm, debootstrap);
# toolchains are cached in ${FIELDCHECK_TOOLCHAINS:-~/.cache/fieldcheck-toolchains}.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# One build from scratch, run many times: incremental state would only add
# gigabytes to the disk CI shares.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== Chromium (the HTML report screenshot test)"
# Installed once here rather than by the test, so parallel tests never race
# for the apt lock.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get install -y --no-install-recommends chromium ||
    { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends chromium; }
fi

echo "== Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

echo "== The store's tests again with every test store sealing (SQLite, issue 25)"
FIELDCHECK_TEST_SEAL=1 cargo test --workspace --locked --lib store::

echo "== The store's, server's and CLI's tests on PostgreSQL (a temporary server)"
# --workspace, as above: the same features, so the binaries built there are
# run again rather than a second dependency tree built (and stored).
scripts/with-postgres.sh bash -c 'cargo test --workspace --locked --lib store:: &&
  cargo test --workspace --locked --test postgres --test several_instances \
    --test console --test device_api --test lifecycle --test one_system \
    --test sync --test people --test privacy --test sealed &&
  scripts/test-api-fuzz.sh &&
  scripts/test-console-browser.sh tests/browser/console.e2e.mjs'

echo "== Device API fuzzed against its OpenAPI document (schemathesis)"
scripts/test-api-fuzz.sh

echo "== Supervisor console in a real browser (Playwright + axe-core)"
scripts/test-console-browser.sh

echo "== Kotlin shell (JVM) tests"
scripts/test-kotlin.sh

echo "== Kotlin shell tests again, against the library apps ship (scripts/build-mobile.sh)"
# Built another way (its own profile: size first, link-time optimised, a
# shared library alone), so it is tested, not assumed.
mobile_lib=$(scripts/build-mobile.sh | awk '{print $1}')
FIELDCHECK_FFI_LIB="$(realpath "$mobile_lib")" scripts/test-kotlin.sh

echo "== Swift shell tests"
scripts/test-swift.sh
