#!/usr/bin/env bash
# Builds the fieldcheck-ffi library and generates the Kotlin and Swift
# bindings from it with the workspace's own uniffi-bindgen, so generator and
# runtime versions always match and no stale copy is ever used.
#
#   scripts/bindings.sh [debug|release|mobile]     (default: debug)
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
  mobile) cargo_profile=mobile; dir=mobile ;;
  *) echo "unknown profile $profile" >&2; exit 2 ;;
esac
cargo build --locked --profile "$cargo_profile" -p fieldcheck-ffi >&2
cargo build --locked -p fieldcheck-uniffi-bindgen >&2
lib="$PWD/target/$dir/libfieldcheck_ffi.so"
out="$PWD/target/bindings"
rm -rf "$out"
mkdir -p "$out/kotlin" "$out/swift"
# ktlint/swift-format are not installed; formatting is cosmetic.
target/debug/uniffi-bindgen generate --no-format --library "$lib" --language kotlin --out-dir "$out/kotlin" >&2
target/debug/uniffi-bindgen generate --no-format --library "$lib" --language swift --out-dir "$out/swift" >&2
# SwiftPM and clang look for a file named exactly module.modulemap.
mv "$out/swift/fieldcheck_ffiFFI.modulemap" "$out/swift/module.modulemap"
echo "FFI_LIB_DIR=$PWD/target/$dir"
echo "BINDINGS_KOTLIN=$out/kotlin"
echo "BINDINGS_SWIFT=$out/swift"
