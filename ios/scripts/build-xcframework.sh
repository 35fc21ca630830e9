#!/usr/bin/env bash
# Builds ios/FieldCheckCoreFFI.xcframework and the generated Swift bindings
# the package's Apple build uses. macOS only (Xcode's xcodebuild and lipo,
# rustup). Not run in this repository's Linux CI.
#
#   ios/scripts/build-xcframework.sh
#
# 1. builds the static library (crate fieldcheck-ffi, --profile mobile) for
#      aarch64-apple-ios        devices
#      aarch64-apple-ios-sim    simulator on Apple silicon  \ one fat library
#      x86_64-apple-ios         simulator on Intel Macs     /  (lipo)
#      aarch64-apple-darwin     macOS                       \ one fat library
#      x86_64-apple-darwin      macOS                       /  (lipo; for `swift test` on a Mac)
# 2. generates the Swift bindings with the workspace's own uniffi-bindgen
#    from a host build of the same crate (the metadata are the same)
# 3. packs libraries + header + module map (module fieldcheck_ffiFFI, in
#    Headers/fieldcheck_ffiFFI/ so it cannot collide with other frameworks'
#    module maps) with `xcodebuild -create-xcframework`
# 4. puts FieldCheckCore.swift into ios/Sources/FieldCheckCore/
# Both outputs are git-ignored; run it again after every change to the core.
set -euo pipefail
ios="$(cd "$(dirname "$0")/.." && pwd)"
root="$(dirname "$ios")"
cd "$root"

if [ "$(uname -s)" != Darwin ] || ! command -v xcodebuild >/dev/null; then
  echo "build-xcframework.sh needs macOS with Xcode (xcodebuild, lipo)" >&2
  exit 2
fi

# The same minimum versions as Package.swift's `platforms`.
export IPHONEOS_DEPLOYMENT_TARGET=15.0 MACOSX_DEPLOYMENT_TARGET=12.0
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${targets[@]}"
for target in "${targets[@]}"; do
  # The static library alone: beside the crate's `lib` type cargo leaves
  # out link-time optimisation (cargo issue 9672).
  cargo rustc --locked --profile mobile --target "$target" -p fieldcheck-ffi --lib --crate-type staticlib
done
lib() { echo "target/$1/mobile/libfieldcheck_ffi.a"; }

work="target/xcframework"
rm -rf "$work"
mkdir -p "$work/swift" "$work/headers/fieldcheck_ffiFFI" "$work/ios-simulator" "$work/macos"

cargo build --locked -p fieldcheck-ffi -p fieldcheck-uniffi-bindgen
target/debug/uniffi-bindgen generate --no-format --library target/debug/libfieldcheck_ffi.dylib \
  --language swift --out-dir "$work/swift"
cp "$work/swift/fieldcheck_ffiFFI.h" "$work/headers/fieldcheck_ffiFFI/"
cp "$work/swift/fieldcheck_ffiFFI.modulemap" "$work/headers/fieldcheck_ffiFFI/module.modulemap"

lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$work/ios-simulator/libfieldcheck_ffi.a"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$work/macos/libfieldcheck_ffi.a"

rm -rf "$ios/FieldCheckCoreFFI.xcframework"
xcodebuild -create-xcframework \
  -library "$(lib aarch64-apple-ios)" -headers "$work/headers" \
  -library "$work/ios-simulator/libfieldcheck_ffi.a" -headers "$work/headers" \
  -library "$work/macos/libfieldcheck_ffi.a" -headers "$work/headers" \
  -output "$ios/FieldCheckCoreFFI.xcframework"

mkdir -p "$ios/Sources/FieldCheckCore"
cp "$work/swift/FieldCheckCore.swift" "$ios/Sources/FieldCheckCore/FieldCheckCore.swift"
echo "built $ios/FieldCheckCoreFFI.xcframework and $ios/Sources/FieldCheckCore/FieldCheckCore.swift" >&2
