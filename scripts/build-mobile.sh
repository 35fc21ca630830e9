#!/usr/bin/env bash
# Builds the library apps ship (`mobile` profile: size over speed, LTO,
# one codegen unit, stripped) for the host and prints its size. SQLite is
# trimmed to what fieldcheck uses: no full-text search, R*Tree, dbstat,
# column metadata, extension loading, STAT4, soundex, SQL JSON functions,
# UTF-16 and trace APIs or deprecated APIs (all options SQLite documents as
# usable with the amalgamation).
#
#   scripts/build-mobile.sh [cargo args, e.g. --target aarch64-linux-android]
#
# Bindings are generated from the unstripped `release` build
# (scripts/bindings.sh release): stripping removes uniffi's metadata.
set -euo pipefail
cd "$(dirname "$0")/.."
export LIBSQLITE3_FLAGS="-USQLITE_ENABLE_FTS3 -USQLITE_ENABLE_FTS3_PARENTHESIS -USQLITE_ENABLE_FTS5 \
  -USQLITE_ENABLE_RTREE -USQLITE_ENABLE_DBSTAT_VTAB -USQLITE_ENABLE_COLUMN_METADATA \
  -USQLITE_ENABLE_LOAD_EXTENSION -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_DEPRECATED \
  -USQLITE_ENABLE_STAT4 -USQLITE_SOUNDEX -USQLITE_ENABLE_JSON1 -DSQLITE_OMIT_JSON \
  -DSQLITE_OMIT_AUTHORIZATION -DSQLITE_OMIT_COMPLETE -DSQLITE_OMIT_GET_TABLE \
  -DSQLITE_OMIT_DESERIALIZE -DSQLITE_OMIT_INTROSPECTION_PRAGMAS -DSQLITE_UNTESTABLE \
  -DSQLITE_OMIT_UTF16 -DSQLITE_OMIT_TRACE -DSQLITE_OMIT_DECLTYPE -DSQLITE_DQS=0 \
  -DSQLITE_MAX_EXPR_DEPTH=0 -DSQLITE_LIKE_DOESNT_MATCH_BLOBS \
  -DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_OMIT_PROGRESS_CALLBACK"
# SQLite's C frames need no unwind tables: no Rust panic unwinds through
# them (rusqlite catches panics in its callbacks). Sections let the linker
# drop what nothing calls.
export CFLAGS="${CFLAGS:-} -fno-asynchronous-unwind-tables -fno-unwind-tables -ffunction-sections -fdata-sections"
# A shared library alone: for a crate that also builds its `lib` and
# `staticlib` types cargo leaves out the profile's `lto = true` (its rustc
# command has no `-C lto`), and the library came out 879,000 bytes larger
# (4,493,040 against 3,614,288 bytes, the same 352 exported symbols;
# cargo issue 9672).
cargo rustc --locked --profile mobile -p fieldcheck-ffi --lib --crate-type cdylib "$@" >&2
# Where cargo put it: target/[TRIPLE/]mobile/.
triple=
args=("$@")
for i in "${!args[@]}"; do
  case "${args[$i]}" in
    --target) triple=${args[$((i + 1))]:-} ;;
    --target=*) triple=${args[$i]#--target=} ;;
  esac
done
lib="${CARGO_TARGET_DIR:-target}/${triple:+$triple/}mobile/libfieldcheck_ffi.so"
if [ ! -f "$lib" ]; then
  echo "no library at $lib after the build" >&2
  exit 1
fi
# Trimming must not leave SQLite symbols for the dynamic loader to miss.
if nm -D --undefined-only "$lib" | grep -q ' sqlite3'; then
  echo "undefined SQLite symbols in $lib:" >&2
  nm -D --undefined-only "$lib" | grep ' sqlite3' >&2
  exit 1
fi
printf '%s %s bytes\n' "$lib" "$(stat -c %s "$lib")"
