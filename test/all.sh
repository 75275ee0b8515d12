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

# The scenarios.  Each starts its clusters in its own scratch directory
# (bl_scratch: BL_WORK is not exported, so every script makes its own) on
# sockets there, so equal port numbers do not collide; scenarios that mostly
# wait (replication, servers starting, psql round trips) run BL_JOBS at a
# time (default 2: on two vCPUs the suite takes about 11 minutes instead of
# 14; BL_JOBS=1 runs them one after the other), each one's output printed
# whole when it ends.  The ones in BL_ALONE have the
# machine to themselves, after the others: what they check depends on the
# CPU they get or on time -- fuzz.sh and sql_fuzz.sh (a time budget: less
# CPU, fewer inputs tried), fold_arrived.sh (cost ratios), stress.sh
# (pgbench for a fixed time), registry_locks.sh and registry_races.sh
# (lock waits, timeouts and backdating windows of a second or so).
BL_JOBS=${BL_JOBS:-2}
BL_ALONE=${BL_ALONE:-"fuzz.sh sql_fuzz.sh fold_arrived.sh stress.sh registry_locks.sh registry_races.sh"}
alone=() shared=()
for t in test/shell/*.sh; do
  if [[ " $BL_ALONE " == *" $(basename "$t") "* ]] || [ "$BL_JOBS" -le 1 ]; then alone+=("$t"); else shared+=("$t"); fi
done
# the longest first, so that the last to end does not run alone
# (BL_FIRST: the slowest of the last timed run)
BL_FIRST=${BL_FIRST:-"upgrade.sh consortium.sh cli_roundtrip.sh passport_schemas.sh"}
ordered=()
for f in $BL_FIRST; do for t in "${shared[@]}"; do [ "$(basename "$t")" = "$f" ] && ordered+=("$t"); done; done
for t in "${shared[@]}"; do [[ " $BL_FIRST " == *" $(basename "$t") "* ]] || ordered+=("$t"); done
logs=$BL_WORK/scenario-logs; mkdir -p "$logs"
declare -A job_of job_t0
running=0
# finish_one: wait for any running scenario, print its output whole, time it
finish_one() {
  local pid rc=0 t t0 now secs
  wait -n -p pid || rc=$?
  t=${job_of[$pid]}; t0=${job_t0[$pid]}; unset "job_of[$pid]" "job_t0[$pid]"
  running=$((running - 1))
  now=$(date +%s.%N)
  secs=$(awk -v a="$t0" -v b="$now" 'BEGIN { printf "%.1f", b - a }')
  say "scenario: $t (ran beside others)"
  cat "$logs/$(basename "$t").log"
  BL_TIMES+=("$secs $t$([ $rc = 0 ] || echo ' (FAILED)')")
  printf -- '-- %s: %ss\n' "$t" "$secs"
  [ $rc = 0 ] || failed+=("$t")
}
if [ ${#ordered[@]} -gt 0 ]; then
  say "scenarios, $BL_JOBS at a time: ${ordered[*]##*/}"
  for t in "${ordered[@]}"; do
    [ $running -lt "$BL_JOBS" ] || finish_one
    bash "$t" > "$logs/$(basename "$t").log" 2>&1 &
    job_of[$!]=$t; job_t0[$!]=$(date +%s.%N)
    running=$((running + 1))
  done
  while [ $running -gt 0 ]; do finish_one; done
  lap "(the ${#ordered[@]} scenarios above, $BL_JOBS at a time: wall time)"
fi
for t in "${alone[@]}"; do
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
