#!/usr/bin/env bash
# `make install` over a running server (0.27.0; src/install_atomic.sh).
# Every new session loads battledger's library from the server's $libdir
# (LOAD, or the first call of one of its functions).  install(1) removes the
# old file, creates the new one with mode 0600, writes it and then sets its
# mode, so a session loading it in that window failed: "could not access
# file" or "could not load library ...: Permission denied".  A member that
# installs a new build before its restart (docs/consortium.md, "Updating the
# members one at a time") had its writers fail at random meanwhile, and so
# did a test run whose PostgreSQL a second run installed into (faults.sh's
# one failed pgbench transaction at a fresh member, 0.26.0's CI).  Now the
# library is installed under a temporary name and renamed over the old one.
#
# A private copy of the server's directories (the PostgreSQL that PG_BIN
# names, which the other scenarios use, is never installed into), one
# cluster from it, the library installed into it over and over (the
# command of the Makefile's install-lib target, as `make install` runs it) while new
# sessions LOAD it: none may fail, and enough must have run during the
# installs.  Before the rename, about one in five failed here.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
P=${INSTALL_ATOMIC_PORT:-55443}
SECS=${INSTALL_ATOMIC_S:-10}

# the copy: the layout the server's relative paths expect (bin -> share)
C=$BL_WORK/pg
src_lib=$(cd "$PG_BIN/.." && pwd)
src_share=$("$PG_CONFIG" --sharedir)
mkdir -p "$C/usr/lib/postgresql" "$C/usr/share/postgresql" "$C/usr/include"
cp -a "$src_lib" "$C/usr/lib/postgresql/"
cp -a "$src_share" "$C/usr/share/postgresql/"
ln -s "$("$PG_CONFIG" --includedir)" "$C/usr/include/postgresql"
CB=$C/usr/lib/postgresql/$(basename "$src_lib")/bin
CC_=$CB/pg_config
LIB=$("$CC_" --pkglibdir)/battledger.so
make -s -C "$BL_ROOT" PG_CONFIG="$CC_" with_llvm=no CLI_BINDIR= install >/dev/null
chmod -R a+rX "$C"

# its cluster (bl_start_cluster with the copy's binaries)
PG_BIN=$CB bl_start_cluster atomic "$P" ""
check "the copy's server loads the copy's library" \
  test "$(psql -X -q -At -h "$BL_WORK" -p "$P" -U postgres -d postgres -c "LOAD 'battledger'" -c "SELECT 'loaded'")" = loaded

# installs, back to back, in the background: the command `make install`
# runs for the library (make -n), run again and again for INSTALL_ATOMIC_S
# seconds (make itself, a second or more a round on a busy machine, would
# leave too few sessions in the window)
inst_cmd=$(make -s -n -C "$BL_ROOT" PG_CONFIG="$CC_" with_llvm=no install-lib | grep 'battledger\.so')
echo "# make install-lib runs: $inst_cmd"
(
  cd "$BL_ROOT"
  end=$(( $(date +%s) + SECS ))
  while [ "$(date +%s)" -lt $end ]; do eval "$inst_cmd"; done
) &
inst=$!
# the sessions: pgbench, a new connection for each LOAD (-C); a session
# that fails aborts its client, and pgbench exits 2
printf "LOAD 'battledger';\n" > "$BL_WORK/load.sql"; chmod 644 "$BL_WORK/load.sql"
rc=0
pgbench -n -C -c 4 -j 1 -T "$SECS" -h "$BL_WORK" -p "$P" -U postgres -f "$BL_WORK/load.sql" postgres \
  > "$BL_WORK/load.out" 2>&1 || rc=$?
wait "$inst"
n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$BL_WORK/load.out")
echo "# ${n:-0} sessions loaded the library during $SECS s of installs; pgbench exited $rc"
grep -m 3 'error' "$BL_WORK/load.out" | sed 's/^/#   /' || true
check "no session failed to load the library while it was installed over" test "$rc:$(grep -c 'ERROR' "$BL_WORK/load.out" || true)" = 0:0
check "enough sessions ran during the installs to see the window (at least 50: ${n:-0})" test "${n:-0}" -ge 50
check "the installed library is the build, whole, and no temporary file is left" \
  bash -c "cmp -s '$BL_ROOT/battledger.so' '$LIB' && ! ls -a '$(dirname "$LIB")' | grep -q '\.tmp$'"

as_pg "$CB/pg_ctl" -D "$BL_WORK/atomic" -m fast stop >/dev/null
[ $fail = 0 ] && echo "install_atomic: PASS" || { echo "install_atomic: FAIL"; exit 1; }
