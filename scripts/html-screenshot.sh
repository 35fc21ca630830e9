#!/usr/bin/env bash
# Screenshots a local HTML file with headless Chromium, as a phone would show
# it (default viewport 412x915 CSS px, device scale factor 1).
#
#   scripts/html-screenshot.sh IN.html OUT.png [WIDTHxHEIGHT]
#   scripts/html-screenshot.sh IN.html OUT.html [WIDTHxHEIGHT]
#
# With an OUT ending in .html it writes the DOM after the page's scripts ran
# (--dump-dom) instead of a PNG: layout tests let a probe script measure the
# page at that viewport and read its answer from the DOM.
#
# Browser: $FIELDCHECK_CHROMIUM if set, else the first of chromium,
# chromium-browser, google-chrome, google-chrome-stable on PATH; if none,
# installs Debian's `chromium` with apt-get (sudo when not root).
# Exits non-zero with a message when no PNG comes out.
set -euo pipefail

die() {
  echo "html-screenshot: $*" >&2
  exit 1
}

[[ $# -ge 2 && $# -le 3 ]] || die "usage: $0 IN.html OUT.png [WIDTHxHEIGHT (default 412x915)]"
in=$1
out=$2
size=${3:-412x915}
[[ -f $in ]] || die "no such file: $in"
[[ $size =~ ^([0-9]{2,5})x([0-9]{2,5})$ ]] || die "size must be WIDTHxHEIGHT, got '$size'"
width=${BASH_REMATCH[1]}
height=${BASH_REMATCH[2]}

find_browser() {
  local name
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$name" && return 0
  done
  return 1
}

install_chromium() {
  command -v apt-get >/dev/null || die "no Chromium found and no apt-get to install one; set FIELDCHECK_CHROMIUM"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "no Chromium found; installing it needs root or sudo"
    sudo=(sudo)
  fi
  echo "html-screenshot: no Chromium found; installing Debian's chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Tests run in parallel: a second install waits for the first one's dpkg
  # lock (and then finds chromium there) instead of failing on it.
  local apt=("${sudo[@]}" apt-get -o DPkg::Lock::Timeout=900)
  if ! "${apt[@]}" install -y --no-install-recommends chromium >&2; then
    "${apt[@]}" update >&2 || die "apt-get update failed"
    "${apt[@]}" install -y --no-install-recommends chromium >&2 ||
      die "could not install chromium with apt-get"
  fi
}

if [[ -n ${FIELDCHECK_CHROMIUM:-} ]]; then
  browser=$(command -v "$FIELDCHECK_CHROMIUM") ||
    die "FIELDCHECK_CHROMIUM=$FIELDCHECK_CHROMIUM is not an executable"
elif ! browser=$(find_browser); then
  install_chromium
  browser=$(find_browser) || die "no Chromium on PATH after installing it"
fi

# file:// URL of the absolute path, with the characters a URL reserves escaped.
abs_in=$(cd "$(dirname "$in")" && pwd)/$(basename "$in")
url=file://$(printf '%s' "$abs_in" | sed -e 's/%/%25/g' -e 's/ /%20/g' -e 's/#/%23/g' -e 's/?/%3F/g')

profile=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$profile" "$log"' EXIT
rm -f "$out"

# Flags for a container: no sandbox (no user namespaces), no GPU, no /dev/shm
# (often 64 MB), nothing fetched from the network, a throwaway profile.
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage
  --disable-background-networking --disable-extensions --disable-sync
  --no-first-run --no-default-browser-check --mute-audio --hide-scrollbars
  --force-device-scale-factor=1 --user-data-dir="$profile"
  --window-size="$width,$height")
status=0
if [[ $out == *.html ]]; then
  timeout 60 "$browser" "${flags[@]}" --dump-dom "$url" >"$out" 2>"$log" || status=$?
  if [[ $status -ne 0 || ! -s $out ]]; then
    echo "html-screenshot: $browser (exit $status) dumped no DOM; its output:" >&2
    cat "$log" >&2
    exit 1
  fi
  exit 0
fi
timeout 60 "$browser" "${flags[@]}" --screenshot="$out" "$url" >"$log" 2>&1 || status=$?

if [[ ! -s $out ]] || [[ $(head -c 8 "$out" | od -An -tx1 | tr -d ' \n') != 89504e470d0a1a0a ]]; then
  [[ $status -eq 124 ]] && echo "html-screenshot: $browser timed out after 60 s" >&2
  echo "html-screenshot: $browser (exit $status) wrote no PNG to $out; its output:" >&2
  cat "$log" >&2
  exit 1
fi
