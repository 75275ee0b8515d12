#!/usr/bin/env bash
# Runs every battledger test from a clean clone on Debian 12, as root or with sudo:
# installs the Debian packages, builds with -Werror, installs, starts throwaway
# PostgreSQL 15 clusters on private sockets, then runs pg_regress
# (make installcheck), pgTAP (pg_prove) and the shell-driven scenarios
# (concurrency stress, kill -9 crash recovery, dump/restore).
set -euo pipefail
cd "$(dirname "$0")/.."
source test/lib/cluster.sh

# Wall time of each stage and scenario, printed as it ends and in a table at
# the end (slowest first): the suite must stay well under 15 minutes, and the
# table shows where the time goes.  lap NAME [STATUS] records the time since
# the previous lap in BL_TIMES ("seconds name" lines).  It is called after a
# stage rather than wrapping it (`timed f || ...` would switch set -e off
# inside f), so set -e still stops the script where it stopped it before.
BL_TIMES=()
BL_SUITE_START=$(date +%s.%N)
BL_LAP=$BL_SUITE_START
lap() {
  local now t
  now=$(date +%s.%N)
  t=$(awk -v a="$BL_LAP" -v b="$now" 'BEGIN { printf "%.1f", b - a }')
  BL_LAP=$now
  BL_TIMES+=("$t $1$([ "${2:-0}" = 0 ] || echo ' (FAILED)')")
  printf -- '-- %s: %ss\n' "$1" "$t"
}
print_times() {
  local total
  total=$(awk -v a="$BL_SUITE_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  say "wall time per stage, slowest first (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
  printf '%s\n' "${BL_TIMES[@]}" | sort -rn | awk '{ t = $1; $1 = ""; printf "%8.1fs %s\n", t, substr($0, 2) }'
  printf '%8.1fs %s\n' "$total" "whole suite"
}

bl_install_packages
lap packages
bl_build_install
lap build
say "installing the TEST-ONLY signing extension (test/signer)"
make -s -C test/signer PG_CONFIG="$PG_CONFIG" with_llvm=no && as_root make -s -C test/signer PG_CONFIG="$PG_CONFIG" with_llvm=no install
lap signer
bl_scratch
# the settings `make check-temp` gives its temporary instance (test/regress.conf)
bl_start_cluster regress 55431 "$(bl_test_log_conf battledger.test/regress)
$(grep -v '^battledger.origin' test/regress.conf)"
lap "regress cluster"
failed=()

say "source layout (test/layout_check.sh)"
rc=0; bash test/layout_check.sh || rc=$?
lap layout $rc; [ $rc = 0 ] || failed+=(layout)

say "unit tests: Merkle proofs, RFC 9162 vectors, notes, CLI (no database)"
rc=0; bash test/unit/run.sh || rc=$?
lap unit $rc; [ $rc = 0 ] || failed+=(unit)

say "pg_regress (make installcheck)"
rc=0; make -s installcheck PG_CONFIG="$PG_CONFIG" with_llvm=no || rc=$?
lap pg_regress $rc
if [ $rc != 0 ]; then
  failed+=(pg_regress)
  [ -f regression.diffs ] && cat regression.diffs
fi

say "pgTAP (pg_prove)"
createdb tap
# one log per origin in a cluster: this database seals under its own
psql -X -q -v ON_ERROR_STOP=1 -d tap -c "LOAD 'battledger'" -c "ALTER DATABASE tap SET battledger.origin = 'battledger.test/tap'"
psql -X -q -v ON_ERROR_STOP=1 -d tap \
  -c "CREATE EXTENSION battledger; CREATE EXTENSION pgtap; CREATE EXTENSION pgcrypto; CREATE EXTENSION dblink;"
rc=0; pg_prove -d tap test/pgtap/*.sql || rc=$?
lap pgtap $rc; [ $rc = 0 ] || failed+=(pgtap)

for t in test/shell/*.sh; do
  say "scenario: $t"
  rc=0; bash "$t" || rc=$?
  lap "$t" $rc; [ $rc = 0 ] || failed+=("$t")
done

print_times
if [ ${#failed[@]} -gt 0 ]; then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "all tests passed"
