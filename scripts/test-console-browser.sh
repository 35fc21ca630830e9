#!/usr/bin/env bash
# The console's end-to-end tests in a real browser: installs npm
# playwright-core and axe-core (pinned) and openpyxl from PyPI (to read the
# XLSX downloads back), cached in
# ${FIELDCHECK_TOOLCHAINS:-~/.cache/fieldcheck-toolchains}, uses Debian's
# Chromium (installed with apt when missing), builds the server and the CLI
# and runs tests/browser/*.e2e.mjs, each of which starts the server itself
# on 127.0.0.1 port 0. FIELDCHECK_SCREENSHOTS=DIR keeps the screenshots.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

playwright_version=1.65.2
axe_version=4.14.1
toolchains=${FIELDCHECK_TOOLCHAINS:-$HOME/.cache/fieldcheck-toolchains}
prefix=$toolchains/console-browser-$playwright_version-$axe_version

sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
apt_install() {
  "${sudo[@]}" apt-get install -y --no-install-recommends "$@" ||
    { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends "$@"; }
}
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_install nodejs npm
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ]; then
  apt_install chromium
  chromium=$(command -v chromium)
fi

if [ ! -d "$prefix/node_modules/playwright-core" ] || [ ! -d "$prefix/node_modules/axe-core" ]; then
  tmp=$(mktemp -d "$toolchains/console-browser.XXXXXX")
  npm install --prefix "$tmp" --cache "$tmp/.npm-cache" --no-save --no-package-lock \
    --no-audit --no-fund "playwright-core@$playwright_version" "axe-core@$axe_version" >&2
  rm -rf "$tmp/.npm-cache" "$prefix"
  mv "$tmp" "$prefix"
fi

openpyxl_version=3.1.5
venv=$toolchains/openpyxl-$openpyxl_version
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import openpyxl' 2>/dev/null; then
  rm -rf "$venv.tmp"
  python3 -m venv "$venv.tmp" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv.tmp"; }
  "$venv.tmp/bin/pip" install --quiet --disable-pip-version-check "openpyxl==$openpyxl_version"
  rm -rf "$venv"
  mv "$venv.tmp" "$venv"
fi

cargo build --locked -p fieldcheck-server -p fieldcheck-cli
# Names given: only those tests (the PostgreSQL pass runs the console's).
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=("$root"/tests/browser/*.e2e.mjs)
for test in "${tests[@]}"; do
  echo "-- $(basename "$test")"
  FIELDCHECK_CLI=$root/target/debug/fieldcheck \
  FIELDCHECK_SERVER=$root/target/debug/fieldcheck-server \
  CHROMIUM=$chromium \
  NODE_PATH=$prefix/node_modules \
  XLSX_PYTHON=$venv/bin/python \
    node "$test"
done
