#!/usr/bin/env bash
# Runs the Swift shell's tests (ios/) on Linux: the generated bindings, the
# FieldCheck facade and the shared scenarios (tests/scenarios) against the
# real Rust library.
#
#   scripts/test-swift.sh            (FIELDCHECK_PROFILE=debug|release, default debug)
#
# 1. installs (or reuses) Swift 6.0.3 in a chroot: scripts/toolchains/swift.sh
# 2. builds libfieldcheck_ffi and regenerates the bindings: scripts/bindings.sh
# 3. stages them into the package (git-ignored): ios/Sources/FieldCheckCore/,
#    ios/Sources/fieldcheck_ffiFFI/ (header + module.modulemap), ios/.ffi/ (the .so)
# 4. runs `swift test` in the chroot, linking the .so (uniffi's modulemap has
#    no link line) and finding it at run time through LD_LIBRARY_PATH.
# Idempotent, no TTY needed, must run as root (chroot). Exits non-zero on any
# failure; the last line of a run is XCTest's "Executed N tests, with M failures".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
profile="${FIELDCHECK_PROFILE:-debug}"
pkg="$root/ios"

log() { printf '[test-swift] %s\n' "$*" >&2; }

log "toolchain"
scripts/toolchains/swift.sh >/dev/null

# Copies only what changed. When the generated bindings or the library
# change, SwiftPM's incremental build has been seen to keep stale type
# layouts of the regenerated module (crashes in `destroy for VerifyReport`),
# so any change means a clean build.
changed=0
stage() { # SRC DEST
  if ! cmp -s "$1" "$2"; then
    mkdir -p "$(dirname "$2")"
    cp "$1" "$2.tmp" && mv "$2.tmp" "$2"
    changed=1
  fi
}

log "bindings ($profile)"
# scripts/bindings.sh rewrites target/bindings from scratch; the lock keeps two
# runs of this script from copying each other's half-written files.
mkdir -p target
exec 9>target/.bindings.lock
flock 9
bindings="$(FIELDCHECK_BINDINGS_LOCKED=1 scripts/bindings.sh "$profile")"
FFI_LIB_DIR="$(sed -n 's/^FFI_LIB_DIR=//p' <<<"$bindings")"
BINDINGS_SWIFT="$(sed -n 's/^BINDINGS_SWIFT=//p' <<<"$bindings")"
stage "$BINDINGS_SWIFT/FieldCheckCore.swift" "$pkg/Sources/FieldCheckCore/FieldCheckCore.swift"
stage "$BINDINGS_SWIFT/fieldcheck_ffiFFI.h" "$pkg/Sources/fieldcheck_ffiFFI/fieldcheck_ffiFFI.h"
stage "$BINDINGS_SWIFT/module.modulemap" "$pkg/Sources/fieldcheck_ffiFFI/module.modulemap"
stage "$FFI_LIB_DIR/libfieldcheck_ffi.so" "$pkg/.ffi/libfieldcheck_ffi.so"
flock -u 9
exec 9>&-
if [ "$changed" = 1 ]; then
  log "bindings changed: clean Swift build"
  rm -rf "$pkg/.build"
fi

# The device-sync test starts the real server and mints codes with the CLI
# (host binaries, seen in the chroot at the same path).
log "building fieldcheck-server and fieldcheck (debug)"
cargo build --quiet -p fieldcheck-server -p fieldcheck-cli

log "swift test"
exec scripts/toolchains/swift.sh run -b "$root" -C "$pkg" \
  -e "LD_LIBRARY_PATH=$pkg/.ffi" \
  -e "FIELDCHECK_SCENARIOS=$root/tests/scenarios" \
  -e "FIELDCHECK_BIN_DIR=$root/target/debug" \
  -- swift test --disable-swift-testing \
  -Xlinker -L"$pkg/.ffi" -Xlinker -lfieldcheck_ffi
