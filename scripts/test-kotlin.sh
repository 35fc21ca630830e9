#!/usr/bin/env bash
# The Kotlin shell (android/) on the JVM, against the host-built core:
#
#   scripts/test-kotlin.sh           debug library; every JUnit test under android/src/test/kotlin
#   scripts/test-kotlin.sh --bench   release library; check-in calls from Kotlin beside native Rust
#
# Steps: install the toolchain (scripts/toolchains/kotlin.sh), build the
# library and regenerate the bindings (scripts/bindings.sh), compile the
# generated bindings (cached by content in target/kotlin/cache), the plain
# Kotlin shell (android/src/main/kotlin minus its Android-only android/
# folder, which needs the Android SDK), then the tests, and run them. The
# last line is `N passed, N failed`; the exit status is non-zero on any
# failure. Safe to rerun, needs no TTY.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=test
case "${1:-}" in
  "") ;;
  --bench) mode=bench ;;
  *) echo "usage: $0 [--bench]" >&2; exit 2 ;;
esac
profile=debug
[ "$mode" = bench ] && profile=release

log() { echo "[test-kotlin] $*" >&2; }

toolchain=$(scripts/toolchains/kotlin.sh)
eval "$toolchain"

out=$root/target/kotlin
work=$out/$profile
rm -rf "$work"
mkdir -p "$work/lib" "$out/cache"
# Generate and snapshot the generated file and the library under the
# bindings lock (see scripts/bindings.sh): the Swift suite may regenerate
# target/bindings or relink the library meanwhile, and the bindings check
# their checksums against the library they load.
exec 9>target/.bindings.lock
flock 9
bindings=$(FIELDCHECK_BINDINGS_LOCKED=1 scripts/bindings.sh "$profile")
eval "$bindings"
cp "$BINDINGS_KOTLIN/app/fieldcheck/core/fieldcheck_ffi.kt" "$work/"
cp "$FFI_LIB_DIR/libfieldcheck_ffi.so" "$work/lib/"
exec 9>&-

kotlinc() { "$KOTLINC" -nowarn -jvm-target 17 "$@"; }

# The generated file (~120 KB) takes kotlinc 20-40 s: compile it once per
# content and compiler version.
key=$( { cat "$work/fieldcheck_ffi.kt"; echo "$KOTLINC"; } | sha256sum | cut -c1-16)
bindings_jar=$out/cache/bindings-$key.jar
if [ ! -f "$bindings_jar" ]; then
  log "compiling the generated bindings"
  kotlinc -cp "$JNA_JAR:$KOTLINX_COROUTINES_JAR" "$work/fieldcheck_ffi.kt" -d "$work/bindings.jar"
  mv "$work/bindings.jar" "$bindings_jar"
else
  log "generated bindings unchanged: $bindings_jar"
fi

# The shell alone, so it cannot lean on test code.
mapfile -t main_sources < <(find android/src/main/kotlin -name '*.kt' -not -path '*/app/fieldcheck/android/*' | sort)
log "compiling the shell (${#main_sources[@]} files)"
kotlinc -cp "$bindings_jar:$JNA_JAR:$KOTLINX_COROUTINES_JAR" "${main_sources[@]}" -d "$work/shell"

mapfile -t test_sources < <(find android/src/test/kotlin -name '*.kt' | sort)
log "compiling the tests (${#test_sources[@]} files)"
classpath="$bindings_jar:$work/shell:$KOTLIN_TEST_CLASSPATH"
kotlinc -cp "$classpath" "${test_sources[@]}" -d "$work/test"
classpath="$work/test:$classpath"

# The device-sync test starts the real server and mints codes with the CLI.
log "building fieldcheck-server and fieldcheck (debug)"
cargo build --quiet -p fieldcheck-server -p fieldcheck-cli

jvm=(java -Djna.library.path="$work/lib" -Dfieldcheck.repo="$root" -cp "$classpath")

if [ "$mode" = bench ]; then
  exec "${jvm[@]}" app.fieldcheck.CheckInBenchmarkKt
fi

mapfile -t classes < <(cd "$work/test" && find . -name '*Test.class' -not -name '*$*' | sed 's|^\./||; s|\.class$||; s|/|.|g' | sort)
log "running ${#classes[@]} test classes"
exec "${jvm[@]}" app.fieldcheck.RunTestsKt "${classes[@]}"
