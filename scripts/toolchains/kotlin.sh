#!/usr/bin/env bash
# Idempotent installer for the JVM Kotlin toolchain used to test fieldcheck's
# Kotlin bindings (uniffi + JNA + JUnit4).
#
#   scripts/toolchains/kotlin.sh            # install if needed, print `export ...` lines
#   eval "$(scripts/toolchains/kotlin.sh)"  # ...and put them in the current shell
#   . "${FIELDCHECK_TOOLCHAINS:-$HOME/.cache/fieldcheck-toolchains}/kotlin/env.sh"
#
# Installs:
#   * kotlinc from the npm package `kotlin-compiler` (pinned, see KOTLIN_COMPILER_VERSION)
#     into $FIELDCHECK_TOOLCHAINS/kotlin/npm   (no global npm install)
#   * Debian packages libjna-java, junit4, libhamcrest-java (jars in /usr/share/java)
# Needs: java/javac >= 17 (installs default-jdk-headless if java is missing), npm.
#
# Logs go to stderr; stdout carries only the `export` lines.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

KOTLIN_COMPILER_VERSION="${FIELDCHECK_KOTLIN_VERSION:-2.4.20}"
TOOLCHAINS="${FIELDCHECK_TOOLCHAINS:-${HOME:-/root}/.cache/fieldcheck-toolchains}"
KDIR="$TOOLCHAINS/kotlin"
NPM_PREFIX="$KDIR/npm-$KOTLIN_COMPILER_VERSION"
ENV_FILE="$KDIR/env.sh"

log() { printf '[kotlin.sh] %s\n' "$*" >&2; }
die() { printf '[kotlin.sh] ERROR: %s\n' "$*" >&2; exit 1; }

# ---- Debian packages -------------------------------------------------------
APT_UPDATED=0
apt_install() { # apt_install PKG... : installs only the ones not yet installed
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "need root to apt-get install ${missing[*]}"
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        apt-get update -qq >&2
        APT_UPDATED=1
    fi
    log "apt-get install ${missing[*]}"
    apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}" >&2
}

# The library reads zone rules from the OS, as on a phone (core feature
# `system-tzdb`): the JVM tests load it on this host.
apt_install tzdata
if ! command -v java >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
    apt_install default-jdk-headless
fi
java_major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
[ -n "$java_major" ] && [ "$java_major" -ge 17 ] || die "java >= 17 required (found: ${java_major:-none})"

apt_install libjna-java junit4 libhamcrest-java
command -v npm >/dev/null 2>&1 || apt_install npm

JNA_JAR=/usr/share/java/jna.jar
JUNIT_JAR=/usr/share/java/junit4.jar
HAMCREST_JAR=/usr/share/java/hamcrest.jar
for j in "$JNA_JAR" "$JUNIT_JAR" "$HAMCREST_JAR"; do
    [ -f "$j" ] || die "expected jar not found: $j"
done
# Debian's JNA loads its native part (libjnidispatch) from the system JNI dir.
jnidispatch="$(dpkg -L libjna-jni 2>/dev/null | grep 'libjnidispatch' | head -n1 || true)"
JNA_BOOT_LIBRARY_PATH="${jnidispatch:+$(dirname "$jnidispatch")}"

# ---- kotlinc from npm ------------------------------------------------------
KOTLIN_HOME="$NPM_PREFIX/node_modules/kotlin-compiler"
installed_version() {
    sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$KOTLIN_HOME/package.json" 2>/dev/null | head -n1
}
if [ "$(installed_version)" != "$KOTLIN_COMPILER_VERSION" ] || [ ! -x "$KOTLIN_HOME/bin/kotlinc" ]; then
    log "npm install kotlin-compiler@$KOTLIN_COMPILER_VERSION -> $NPM_PREFIX"
    mkdir -p "$KDIR"
    tmp="$(mktemp -d "$KDIR/.npm-tmp.XXXXXX")"; chmod 755 "$tmp"
    trap 'rm -rf "$tmp"' EXIT
    # Throwaway npm cache: the installed package is the cache; keeps ~/.npm untouched.
    npm install --prefix "$tmp" --cache "$tmp/.npm-cache" --no-save --no-package-lock \
        --no-audit --no-fund --loglevel=error "kotlin-compiler@$KOTLIN_COMPILER_VERSION" >&2
    rm -rf "$tmp/.npm-cache"
    chmod +x "$tmp"/node_modules/kotlin-compiler/bin/* 2>/dev/null || true
    rm -rf "$NPM_PREFIX"
    mv "$tmp" "$NPM_PREFIX"
    trap - EXIT
    log "kotlinc: $("$KOTLIN_HOME/bin/kotlinc" -version 2>&1 | tail -n1)"
fi

KOTLINC="$KOTLIN_HOME/bin/kotlinc"
KOTLIN_LIB="$KOTLIN_HOME/lib"
KOTLIN_STDLIB_JAR="$KOTLIN_LIB/kotlin-stdlib.jar"
KOTLIN_TEST_JAR="$KOTLIN_LIB/kotlin-test.jar"
KOTLIN_TEST_JUNIT_JAR="$KOTLIN_LIB/kotlin-test-junit.jar"
KOTLINX_COROUTINES_JAR="$KOTLIN_LIB/kotlinx-coroutines-core-jvm.jar"
for j in "$KOTLIN_STDLIB_JAR" "$KOTLIN_TEST_JAR" "$KOTLIN_TEST_JUNIT_JAR" "$KOTLINX_COROUTINES_JAR"; do
    [ -f "$j" ] || die "expected jar not found in KOTLIN_LIB: $j"
done
# Runtime/test classpath for uniffi-generated Kotlin + kotlin-test + JUnit4.
KOTLIN_TEST_CLASSPATH="$KOTLIN_STDLIB_JAR:$KOTLINX_COROUTINES_JAR:$KOTLIN_TEST_JAR:$KOTLIN_TEST_JUNIT_JAR:$JNA_JAR:$JUNIT_JAR:$HAMCREST_JAR"

# ---- env file + stdout -----------------------------------------------------
vars=(KOTLINC KOTLIN_HOME KOTLIN_LIB KOTLIN_STDLIB_JAR KOTLIN_TEST_JAR KOTLIN_TEST_JUNIT_JAR
      KOTLINX_COROUTINES_JAR JNA_JAR JNA_BOOT_LIBRARY_PATH JUNIT_JAR HAMCREST_JAR KOTLIN_TEST_CLASSPATH)
out=""
for v in "${vars[@]}"; do
    out+="export $v=$(printf '%q' "${!v}")"$'\n'
done
mkdir -p "$KDIR"
if [ ! -f "$ENV_FILE" ] || [ "$(cat "$ENV_FILE")" != "${out%$'\n'}" ]; then
    printf '%s' "$out" > "$ENV_FILE.tmp" && mv "$ENV_FILE.tmp" "$ENV_FILE"
fi
log "ready (env file: $ENV_FILE)"
printf '%s' "$out"
