#!/usr/bin/env bash
# test/bench/verify_log_ab.sh — verify_log() of two builds on the same log.
#
# verify_log()'s reading of the log changed in 0.5.0 (one heap scan per
# table instead of an ordered SPI cursor), with no setting to switch it, so
# this compares two installed builds of the same PostgreSQL 15 on one data
# directory: the cluster is created and the log grown (BENCH_LEAVES leaves,
# default 1M, sealed with the new build) once; then for each of BENCH_REPS
# rounds the cluster is restarted with the OLD build and with the NEW build
# (alternating which goes first), and verify_log(false) and verify_log(true)
# are each run once to warm the caches and once timed inside the server
# (bench_log.time_verify_log).  Both builds must find no problem.
#
#   OLD_PG_BIN   bin directory of a PostgreSQL copy with the old battledger installed
#                (e.g. a relocated copy as in /work/notes; build 6153195 into it)
#   PG_BIN, PG_CONFIG   the new build's (installed: BENCH_NO_INSTALL=1 skips building)
#   BENCH_PORT (55447), BENCH_REPS (3), BENCH_LEAVES (1000000)
#
# Writes test/bench/results/verify_log_ab.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"

: "${OLD_PG_BIN:?set OLD_PG_BIN to the bin directory of the old build}"
BENCH_PORT=${BENCH_PORT:-55447}
BENCH_REPS=${BENCH_REPS:-3}
LEAVES=${BENCH_LEAVES:-1000000}
RESULTS=$HERE/results/verify_log_ab.md
COMMAND="OLD_PG_BIN=$OLD_PG_BIN BENCH_REPS=$BENCH_REPS BENCH_LEAVES=$LEAVES test/bench/verify_log_ab.sh"
NEW_PG_BIN=$PG_BIN

GIT_STATE=$(bench_git_state)
bench_install
bl_scratch
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_0=$(machine_busy); OWN_0=$(children_cpu); T_0=$(now_ms)
bl_start_cluster bench_vl "$BENCH_PORT" "$(bl_test_log_conf bench.example/log)
shared_buffers = 1GB
work_mem = 128MB
max_wal_size = 8GB"
DATA=$BL_WORK/bench_vl

psql_() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
q() { psql_ -At -c "$1"; }
restart_with() {            # restart_with BINDIR
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  PG_BIN=$1
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$DATA.log" -w start >/dev/null
}

say "creating the log: $LEAVES leaves"
psql_ -f "$HERE/log_schema.sql" >/dev/null
q "SELECT bench_log.load(1, $LEAVES)" >/dev/null
q "SELECT battledger.seal()" >/dev/null
q "VACUUM ANALYZE battledger.log_leaf"
q "VACUUM ANALYZE battledger.log_tile"
q "VACUUM ANALYZE public.log_events"

declare -A MS
one() {                     # one BUILD ROUND
  local b=$1 r=$2 v ms problems
  [ "$b" = old ] && restart_with "$OLD_PG_BIN" || restart_with "$NEW_PG_BIN"
  for v in false true; do
    q "SELECT problems FROM bench_log.time_verify_log($v)" >/dev/null
    IFS='|' read -r ms problems <<<"$(q "SELECT ms, problems FROM bench_log.time_verify_log($v)")"
    [ "$problems" = 0 ] || { echo "$b build: verify_log($v) found $problems problems" >&2; exit 1; }
    MS[$b,$v,$r]=$ms
    echo "$b build, round $r: verify_log($v) $ms ms"
  done
}
for r in $(seq 1 "$BENCH_REPS"); do
  say "round $r"
  if [ $((r % 2)) = 1 ]; then one old "$r"; one new "$r"; else one new "$r"; one old "$r"; fi
done
restart_with "$NEW_PG_BIN"

ELAPSED=$(( ($(now_ms) - T_0) / 1000 ))
OWN=$(awk -v a="$(children_cpu)" -v b="$OWN_0" 'BEGIN { print a - b }')
OTHER=$(awk -v a="$(machine_busy)" -v b="$BUSY_0" -v o="$OWN" 'BEGIN { x = a - b - o; print (x < 0) ? 0 : x }')
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

mkdir -p "$(dirname "$RESULTS")"
{
  bench_report_head ": verify_log(), old build vs new build on one log" "$COMMAND"
  bench_run_rows
  echo
  echo "## verify_log() at $LEAVES leaves (in the server, warm caches), median of $BENCH_REPS rounds"
  echo
  echo "| variant | old build ms | **new build ms** | old leaves/s | **new leaves/s** | **new / old speed** | runs old | runs new |"
  echo "|---|---:|---:|---:|---:|---:|---|---|"
  for v in false true; do
    o=(); n=()
    for r in $(seq 1 "$BENCH_REPS"); do o+=("${MS[old,$v,$r]}"); n+=("${MS[new,$v,$r]}"); done
    mo=$(median "${o[@]}"); mn=$(median "${n[@]}")
    echo "| verify_log($v) | $mo | **$mn** | $(awk -v n="$LEAVES" -v m="$mo" 'BEGIN { printf "%.0f", n / (m / 1000) }') | **$(awk -v n="$LEAVES" -v m="$mn" 'BEGIN { printf "%.0f", n / (m / 1000) }')** | **$(fmt '%.2f' "$(awk -v a="$mo" -v b="$mn" 'BEGIN { print a / b }')")x** | ${o[*]} | ${n[*]} |"
  done
} | tee "$RESULTS"
