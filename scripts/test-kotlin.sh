#!/usr/bin/env bash
# The Kotlin shell (android/) on the JVM, against the host-built core:
#
#   scripts/test-kotlin.sh           debug library; every JUnit test under android/src/test/kotlin
#   scripts/test-kotlin.sh --bench   release library; check-in calls from Kotlin beside native Rust
#
# FIELDCHECK_FFI_LIB=path runs the tests against that library instead
# (test.sh gives it the one apps ship, scripts/build-mobile.sh's: built
# another way, it is tested the same way).
#
# Steps: install the toolchains (scripts/toolchains/kotlin.sh, and
# scripts/toolchains/android-jvm.sh for the Maven Central jars: the Android
# framework as Robolectric ships it, Robolectric, OkHttp), build the library
# and regenerate the bindings (scripts/bindings.sh), compile the generated
# bindings (cached by content in target/kotlin/cache), every file of the
# shell (android/src/main/kotlin, Android-only code included, against the
# API 35 framework jar), then the tests, and run them: the plain JVM tests
# in one JVM, the Robolectric tests (android/src/test/kotlin/app/fieldcheck/android)
# in another, offline. Each run ends with `N passed, N failed`; the exit status
# is non-zero on any failure. Safe to rerun, needs no TTY.
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
android_jvm=$(scripts/toolchains/android-jvm.sh)
eval "$android_jvm"

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
cp "${FIELDCHECK_FFI_LIB:-$FFI_LIB_DIR/libfieldcheck_ffi.so}" "$work/lib/libfieldcheck_ffi.so"
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

# The shell alone, so it cannot lean on test code: every file, the
# Android-only ones against the framework jar.
mapfile -t main_sources < <(find android/src/main/kotlin -name '*.kt' | sort)
log "compiling the shell (${#main_sources[@]} files, against $(basename "$ANDROID_ALL_JAR"))"
kotlinc -cp "$bindings_jar:$JNA_JAR:$KOTLINX_COROUTINES_JAR:$ANDROID_ALL_JAR:$ANDROID_JVM_CLASSPATH" \
  "${main_sources[@]}" -d "$work/shell"

mapfile -t test_sources < <(find android/src/test/kotlin -name '*.kt' | sort)
log "compiling the tests (${#test_sources[@]} files)"
classpath="$bindings_jar:$work/shell:$KOTLIN_TEST_CLASSPATH:$ANDROID_JVM_CLASSPATH"
kotlinc -cp "$classpath:$ANDROID_ALL_JAR" "${test_sources[@]}" -d "$work/test"
classpath="$work/test:$classpath"

# The device-sync test starts the real server and mints codes with the CLI.
log "building fieldcheck-server and fieldcheck (debug)"
cargo build --quiet -p fieldcheck-server -p fieldcheck-cli

jvm=(java -Djna.library.path="$work/lib" -Dfieldcheck.repo="$root" -cp "$classpath")

if [ "$mode" = bench ]; then
  exec "${jvm[@]}" app.fieldcheck.CheckInBenchmarkKt
fi

test_classes() { # test_classes DIR: the JUnit classes under $work/test/DIR
  (cd "$work/test" && find "$1" -maxdepth 1 -name '*Test.class' -not -name '*$*' | sed 's|^\./||; s|\.class$||; s|/|.|g' | sort)
}
mapfile -t classes < <(test_classes app/fieldcheck)
mapfile -t android_classes < <(test_classes app/fieldcheck/android)
log "running ${#classes[@]} test classes on the JVM"
status=0
"${jvm[@]}" app.fieldcheck.RunTestsKt "${classes[@]}" || status=1

# Robolectric loads each API level's framework jar itself, in its sandbox,
# from the toolchain directory, and must never reach for the network; the
# API 35 jar is on the class path too, as Android's android.jar is under
# Gradle, for what JUnit reads before the sandbox exists (annotations).
log "running ${#android_classes[@]} Robolectric test classes (offline, $ROBOLECTRIC_DEPS_DIR)"
java -Djna.library.path="$work/lib" -Dfieldcheck.repo="$root" -cp "$classpath:$ANDROID_ALL_JAR" \
  -Drobolectric.offline=true -Drobolectric.dependency.dir="$ROBOLECTRIC_DEPS_DIR" \
  -Drobolectric.logging.enabled=false \
  app.fieldcheck.RunTestsKt "${android_classes[@]}" || status=1
exit $status
