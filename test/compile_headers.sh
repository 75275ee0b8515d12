#!/usr/bin/env bash
# test/compile_headers.sh SERVER_INCLUDE_DIR — compile every C file of the
# extension (the Makefile's OBJS) and the test signer with -Werror against
# the server headers in SERVER_INCLUDE_DIR (what `pg_config
# --includedir-server` prints for that version), without a pg_config or a
# server of that version.  This is how PostgreSQL 16, which Debian does not
# package, is checked (README: "Supported PostgreSQL versions"); objects go
# to a temporary directory that is removed.  The headers' pg_config.h
# describes the C library they were configured against (HAVE_DECL_STRLCPY,
# ...): use headers configured for a C library like this machine's.
# Usage: bash test/compile_headers.sh /path/to/16/include/server
set -euo pipefail
inc=${1:?usage: test/compile_headers.sh SERVER_INCLUDE_DIR}
[ -f "$inc/pg_config.h" ] || { echo "$inc/pg_config.h not found: not a server include directory" >&2; exit 2; }
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CC=${CC:-gcc}
# PGXS's warning flags plus the project's (see test/all.sh)
flags=(-std=gnu99 -O2 -fPIC -fno-strict-aliasing -fwrapv -D_GNU_SOURCE
       -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
       -Wmissing-prototypes -Wpointer-arith -Wdeclaration-after-statement -Werror=vla
       -Wendif-labels -Wmissing-format-attribute -Wimplicit-fallthrough=3
       -Wcast-function-type -Wformat-security -Werror)
version=$(sed -n 's/^#define PG_VERSION "\(.*\)"/\1/p' "$inc/pg_config.h")
files=$(sed -n '/^[A-Z_]*OBJS =/,/[^\\]$/p' Makefile | grep -o 'src/[a-z]*/[a-z_0-9]*\.o' | sed 's/\.o$/.c/')
n=0 bad=0
for f in $files test/signer/battledger_test_signer.c; do
  n=$((n + 1))
  "$CC" "${flags[@]}" -I. -Isrc/core -Isrc/pg -I"$inc" -c -o "$out/$(basename "$f" .c).o" "$f" || { bad=$((bad + 1)); echo "FAILED: $f"; }
done
echo "PostgreSQL $version headers: $((n - bad)) of $n files compiled with -Werror"
[ "$bad" = 0 ]
