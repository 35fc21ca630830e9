#!/usr/bin/env bash
# Idempotent installer for the Maven Central jars of the Android shell's CI
# build (android/jvm/pom.xml: Robolectric, the API 35 and API 29 framework
# jars, OkHttp, MockWebServer).
#
#   eval "$(scripts/toolchains/android-jvm.sh)"   # install if needed, export the paths
#
# Resolves once per pom content with `mvn dependency:copy-dependencies`
# into $FIELDCHECK_TOOLCHAINS/android-jvm-<hash>/ (its own local Maven
# repository beside it), then never touches the network again: a second
# run finds the directory and only prints the paths. Robolectric itself
# runs offline from that directory (robolectric.offline,
# robolectric.dependency.dir), where it finds the framework jar by name.
#
# Logs go to stderr; stdout carries only the `export` lines.
set -euo pipefail
self=$(realpath "$0")
cd "$(dirname "$self")/../.."
pom=$PWD/android/jvm/pom.xml

TOOLCHAINS="${FIELDCHECK_TOOLCHAINS:-${HOME:-/root}/.cache/fieldcheck-toolchains}"
key=$(cat "$pom" "$self" | sha256sum | cut -c1-12)
dir=$TOOLCHAINS/android-jvm-$key
log() { printf '[android-jvm.sh] %s\n' "$*" >&2; }

if [ ! -f "$dir/.complete" ]; then
    command -v mvn >/dev/null 2>&1 || {
        [ "$(id -u)" -eq 0 ] || { log "need root to apt-get install maven"; exit 1; }
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends maven >&2
    }
    log "resolving android/jvm/pom.xml into $dir (once)"
    tmp=$(mktemp -d "$TOOLCHAINS/.android-jvm.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    # The Kotlin stdlib comes with kotlinc (scripts/toolchains/kotlin.sh):
    # a second, older copy on the classpath would shadow it.
    mvn -B -q -f "$pom" -Dmaven.repo.local="$TOOLCHAINS/m2" \
        dependency:copy-dependencies -DoutputDirectory="$tmp/jars" \
        -DexcludeGroupIds=org.jetbrains.kotlin >&2
    # Robolectric needs androidx.test's monitor, published as an AAR: the JVM
    # wants the classes.jar inside it.
    for aar in "$tmp"/jars/*.aar; do
        [ -e "$aar" ] || continue
        (cd "$tmp" && jar xf "$aar" classes.jar && mv classes.jar "${aar%.aar}.jar")
        rm "$aar"
    done
    # The older framework jar the tests also run on (see the pom's comment).
    old=$(sed -n 's:.*<android.all.old.version>\(.*\)</android.all.old.version>.*:\1:p' "$pom")
    mvn -B -q -Dmaven.repo.local="$TOOLCHAINS/m2" dependency:copy \
        -Dartifact="org.robolectric:android-all-instrumented:$old" -DoutputDirectory="$tmp/jars" >&2
    touch "$tmp/.complete"
    # Earlier resolutions (another pom) are dead weight: one cache at a time.
    find "$TOOLCHAINS" -maxdepth 1 -name 'android-jvm-*' -type d -exec rm -rf {} +
    mv "$tmp" "$dir"
    trap - EXIT
fi

jars=$dir/jars
version=$(sed -n 's:.*<android.all.version>\(.*\)</android.all.version>.*:\1:p' "$pom")
android_all=$jars/android-all-instrumented-$version.jar
[ -f "$android_all" ] || { log "no android-all jar in $jars"; exit 1; }
# Everything but the framework jar: Robolectric loads that one itself, in
# its sandbox, from robolectric.dependency.dir.
classpath=$(find "$jars" -name '*.jar' -not -name 'android-all-*' | sort | paste -sd:)
printf 'export ANDROID_ALL_JAR=%q\n' "$android_all"
printf 'export ANDROID_JVM_CLASSPATH=%q\n' "$classpath"
printf 'export ROBOLECTRIC_DEPS_DIR=%q\n' "$jars"
log "ready ($dir)"
