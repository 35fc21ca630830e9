#!/usr/bin/env bash
# Builds the fieldcheck-ffi library and generates the Kotlin and Swift
# bindings from it with the workspace's own uniffi-bindgen, so generator and
# runtime versions always match and no stale copy is ever used.
#
#   scripts/bindings.sh [debug|release]     (default: debug)
#
# (The stripped `mobile` library carries no uniffi metadata: generate from
# `release`, ship `mobile`; see scripts/build-mobile.sh.)
#
# Output (printed as shell assignments on stdout, logs on stderr):
#   FFI_LIB_DIR      directory holding libfieldcheck_ffi.so
#   BINDINGS_KOTLIN  generated Kotlin sources (package app.fieldcheck.core)
#   BINDINGS_SWIFT   generated Swift (FieldCheckCore.swift, header, module.modulemap)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-debug}
case "$profile" in
  debug) cargo_profile=dev; dir=debug ;;
  release) cargo_profile=release; dir=release ;;
  *) echo "unknown profile $profile" >&2; exit 2 ;;
esac
# One generator at a time: the Kotlin and Swift suites may run side by side.
# A caller that already holds the lock (to copy the result before anyone
# regenerates it) sets FIELDCHECK_BINDINGS_LOCKED=1.
mkdir -p target
if [ "${FIELDCHECK_BINDINGS_LOCKED:-0}" != 1 ]; then
  exec 9>target/.bindings.lock
  flock 9
fi
cargo build --locked --profile "$cargo_profile" -p fieldcheck-ffi >&2
cargo build --locked -p fieldcheck-uniffi-bindgen >&2
lib="$PWD/target/$dir/libfieldcheck_ffi.so"
out="$PWD/target/bindings"
# Generate beside, then swap in whole: readers never see half a tree.
tmp="$PWD/target/bindings.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/kotlin" "$tmp/swift"
# ktlint/swift-format are not installed; formatting is cosmetic.
target/debug/uniffi-bindgen generate --no-format --library "$lib" --language kotlin --out-dir "$tmp/kotlin" >&2
target/debug/uniffi-bindgen generate --no-format --library "$lib" --language swift --out-dir "$tmp/swift" >&2
# SwiftPM and clang look for a file named exactly module.modulemap.
mv "$tmp/swift/fieldcheck_ffiFFI.modulemap" "$tmp/swift/module.modulemap"
rm -rf "$out"
mv "$tmp" "$out"
echo "FFI_LIB_DIR=$PWD/target/$dir"
echo "BINDINGS_KOTLIN=$out/kotlin"
echo "BINDINGS_SWIFT=$out/swift"
