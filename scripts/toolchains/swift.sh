#!/usr/bin/env bash
# Swift on Linux for fieldcheck's Swift bindings: Debian trixie's `swiftlang`
# (Swift 6.0.x, with XCTest + swift-testing) inside a debootstrap'ed chroot.
#
#   scripts/toolchains/swift.sh [install]   idempotent install; prints `export FIELDCHECK_SWIFT_ROOT=...`
#   scripts/toolchains/swift.sh run [-b HOSTDIR[:CHROOTDIR]]... [-C DIR] [-e NAME=VALUE]... -- CMD [ARGS...]
#                                           run CMD inside the chroot (installs first if needed)
#   scripts/toolchains/swift.sh root        print the chroot directory
#
# `run` details:
#   -b HOSTDIR[:CHROOTDIR]  bind-mount HOSTDIR into the chroot (default CHROOTDIR = same path).
#                           Repeatable. Without any -b, the current directory is bound at its own path.
#   -C DIR                  working directory inside the chroot (default: $PWD if it is inside a
#                           bind mount, else /).
#   -e NAME=VALUE           set an environment variable inside the chroot (repeatable). The chroot
#                           starts from a clean environment: PATH, HOME=/root, LANG=C.UTF-8, plus
#                           TERM and CI if set on the host.
# The mounts (/proc, /dev, /sys, a fresh tmpfs on /tmp, the binds) live in a private mount
# namespace (unshare -m), so they vanish when the command exits and parallel runs don't see each
# other; a trap unmounts them explicitly as well.
#
# Cache: ${FIELDCHECK_TOOLCHAINS:-$HOME/.cache/fieldcheck-toolchains}/swift/trixie-rootfs (~3 GB).
# Mirror: the Debian mirror the host's apt uses (from /etc/apt/sources.list*), or
# $FIELDCHECK_DEBIAN_MIRROR. The host's apt proxy (Acquire::http::Proxy), if any, is reused.
# Must run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

SUITE="${FIELDCHECK_SWIFT_SUITE:-trixie}"
# swiftlang pulls gcc/binutils; libc6-dev gives clang the libc headers (stdint.h, ...)
# that uniffi's generated C header and the Swift/C interop need.
# tzdata: the library reads zone rules from the OS (core feature `system-tzdb`).
CHROOT_PACKAGES=(swiftlang libc6-dev tzdata)
TOOLCHAINS="${FIELDCHECK_TOOLCHAINS:-${HOME:-/root}/.cache/fieldcheck-toolchains}"
SDIR="$TOOLCHAINS/swift"
ROOT="$SDIR/$SUITE-rootfs"
STAMP="$ROOT/.fieldcheck-ready"
STAMP_CONTENT="suite=$SUITE packages=${CHROOT_PACKAGES[*]}"
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf '[swift.sh] %s\n' "$*" >&2; }
die() { printf '[swift.sh] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot, mount)"

# ---- helpers ----------------------------------------------------------------
host_debian_mirror() {
    if [ -n "${FIELDCHECK_DEBIAN_MIRROR:-}" ]; then echo "$FIELDCHECK_DEBIAN_MIRROR"; return; fi
    local f uri=""
    # deb822 (*.sources): "URIs: ..." lines; one-line format: "deb [opts] URI suite comps".
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        uri="$(awk '
            /^[[:space:]]*#/ { next }
            /^URIs:/ { for (i = 2; i <= NF; i++) print $i; next }
            $1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i !~ /=/) { print $i; break } }
        ' "$f" | grep -Ev 'security' | grep -E '/debian/?$' | head -n1 || true)"
        [ -n "$uri" ] && break
    done
    echo "${uri:-http://deb.debian.org/debian}"
}

host_apt_proxy() {
    local p=""
    eval "$(apt-config shell p Acquire::http::Proxy 2>/dev/null || true)"
    [ "$p" = "DIRECT" ] && p=""
    echo "$p"
}

is_mounted_under() { # is anything mounted at or below $1 (in this namespace)?
    awk -v d="$1" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# Mounts for a chroot session; MOUNTED keeps them for cleanup (reverse order).
MOUNTED=()
chroot_mount_basics() { # $1 = rootfs
    local r="$1"
    mkdir -p "$r/proc" "$r/dev" "$r/sys" "$r/tmp"
    mount -t proc proc "$r/proc";                                MOUNTED+=("$r/proc")
    mount --rbind /dev "$r/dev"; mount --make-rslave "$r/dev";   MOUNTED+=("$r/dev")
    mount --rbind /sys "$r/sys"; mount --make-rslave "$r/sys";   MOUNTED+=("$r/sys")
    mount -t tmpfs -o mode=1777 tmpfs "$r/tmp";                  MOUNTED+=("$r/tmp")
}
chroot_cleanup() {
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        umount -R "${MOUNTED[i]}" 2>/dev/null || umount -R -l "${MOUNTED[i]}" 2>/dev/null || true
    done
    MOUNTED=()
}

# Run an internal subcommand of this script in a private mount namespace when possible
# (child process; returns its exit status).
SELF="$(realpath "${BASH_SOURCE[0]}")"
in_private_ns() { # in_private_ns SUBCOMMAND ARGS...
    if [ -z "${FIELDCHECK_SWIFT_IN_NS:-}" ] && unshare --mount --propagation private true 2>/dev/null; then
        FIELDCHECK_SWIFT_IN_NS=1 unshare --mount --propagation private "$BASH" "$SELF" "$@"
    else
        "$@" # fallback: same namespace, cleanup relies on the trap
    fi
}

# ---- install ------------------------------------------------------------------
ensure_host_debootstrap() {
    command -v debootstrap >/dev/null 2>&1 && return 0
    log "apt-get update && apt-get install debootstrap (host)"
    apt-get update -qq >&2
    apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends debootstrap >&2
}

__install_packages() { # runs (preferably) in a private mount namespace
    local proxy; proxy="$(host_apt_proxy)"
    trap chroot_cleanup EXIT
    chroot_mount_basics "$ROOT"
    if [ -n "$proxy" ]; then
        printf 'Acquire::http::Proxy "%s";\n' "$proxy" > "$ROOT/etc/apt/apt.conf.d/01fieldcheck-proxy"
    fi
    log "chroot: apt-get install ${CHROOT_PACKAGES[*]}"
    chroot "$ROOT" env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
        sh -ec 'apt-get update -qq
                apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "$@"
                apt-get clean
                swift --version' sh "${CHROOT_PACKAGES[@]}" >&2
    chroot_cleanup
    trap - EXIT
}

do_install() {
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_CONTENT" ] && [ -x "$ROOT/usr/libexec/swift/bin/swift" ]; then
        return 0
    fi
    mkdir -p "$SDIR"
    exec 9>"$SDIR/.install.lock"
    flock 9
    # Re-check after taking the lock (another process may have finished the install).
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_CONTENT" ] && [ -x "$ROOT/usr/libexec/swift/bin/swift" ]; then
        return 0
    fi
    if [ ! -f "$ROOT/.debootstrap-done" ]; then
        if [ -e "$ROOT" ]; then
            is_mounted_under "$ROOT" && die "something is still mounted under $ROOT; unmount it first"
            log "removing incomplete rootfs $ROOT"
            rm -rf --one-file-system "$ROOT"
        fi
        ensure_host_debootstrap
        local mirror proxy
        mirror="$(host_debian_mirror)"
        proxy="$(host_apt_proxy)"
        [ -n "$proxy" ] && export http_proxy="${http_proxy:-$proxy}"
        log "debootstrap --variant=minbase $SUITE $ROOT $mirror"
        debootstrap --variant=minbase "$SUITE" "$ROOT" "$mirror" > "$SDIR/debootstrap.log" 2>&1 \
            || { tail -n 30 "$SDIR/debootstrap.log" >&2; die "debootstrap failed (log: $SDIR/debootstrap.log)"; }
        touch "$ROOT/.debootstrap-done"
    fi
    rm -f "$STAMP"
    in_private_ns __install_packages_then_stamp
    exec 9>&-
}

__install_packages_then_stamp() {
    __install_packages
    printf '%s' "$STAMP_CONTENT" > "$STAMP"
    log "installed: $ROOT"
}

# ---- run ----------------------------------------------------------------------
__run() { # internal; `run` execs it inside `unshare -m` (or calls it directly as a fallback)
    local binds=() envs=() workdir="" arg src dst
    while [ $# -gt 0 ]; do
        case "$1" in
            -b) binds+=("$2"); shift 2 ;;
            -C) workdir="$2"; shift 2 ;;
            -e) envs+=("$2"); shift 2 ;;
            --) shift; break ;;
            *) die "run: unknown option $1 (did you forget '--'?)" ;;
        esac
    done
    [ $# -gt 0 ] || die "run: no command given"
    if [ ${#binds[@]} -eq 0 ] && [ "$PWD" != "/" ]; then binds=("$PWD"); fi

    trap chroot_cleanup EXIT
    trap 'exit 130' INT TERM HUP
    chroot_mount_basics "$ROOT"
    for arg in "${binds[@]}"; do
        src="${arg%%:*}"; dst="${arg#*:}"; [ "$arg" = "$src" ] && dst="$src"
        src="$(realpath -e "$src")" || die "bind source does not exist: $src"
        case "$dst" in /*) ;; *) die "bind destination must be absolute: $dst" ;; esac
        mkdir -p "$ROOT$dst"
        mount --rbind "$src" "$ROOT$dst"; mount --make-rslave "$ROOT$dst"
        MOUNTED+=("$ROOT$dst")
        if [ -z "$workdir" ] && { [ "$PWD" = "$src" ] || [[ "$PWD" == "$src"/* ]]; }; then
            workdir="$dst${PWD#"$src"}"
        fi
    done
    workdir="${workdir:-/}"

    local envv=(PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8)
    [ -n "${TERM:-}" ] && envv+=(TERM="$TERM")
    [ -n "${CI:-}" ] && envv+=(CI="$CI")
    # Run in the background + `wait` so that a TERM/INT sent to this script is forwarded to the
    # command (bash would otherwise defer the trap until the command ends). fd 3 keeps our stdin.
    local rc=0 child
    exec 3<&0
    chroot "$ROOT" env -i "${envv[@]}" "${envs[@]}" sh -c 'cd "$1" && shift && exec "$@"' sh "$workdir" "$@" <&3 &
    child=$!
    trap 'kill -TERM "$child" 2>/dev/null || true' INT TERM HUP
    while :; do
        rc=0; wait "$child" || rc=$?
        kill -0 "$child" 2>/dev/null || break  # a trap interrupted `wait`: wait again
    done
    chroot_cleanup
    trap - EXIT INT TERM HUP
    return "$rc"
}

# ---- main ---------------------------------------------------------------------
cmd="${1:-install}"
[ $# -gt 0 ] && shift
case "$cmd" in
    install)
        do_install
        printf 'export FIELDCHECK_SWIFT_ROOT=%q\n' "$ROOT"
        ;;
    root)
        do_install
        echo "$ROOT"
        ;;
    run)
        do_install
        if [ -z "${FIELDCHECK_SWIFT_IN_NS:-}" ] && unshare --mount --propagation private true 2>/dev/null; then
            # unshare without --fork execs in place: signals reach __run's trap directly.
            FIELDCHECK_SWIFT_IN_NS=1 exec unshare --mount --propagation private "$BASH" "$SELF" __run "$@"
        fi
        __run "$@"
        ;;
    __install_packages_then_stamp | __run)
        "$cmd" "$@"
        ;;
    -h | --help | help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        ;;
    *)
        die "unknown command: $cmd (try --help)"
        ;;
esac
