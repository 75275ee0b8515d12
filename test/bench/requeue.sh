#!/usr/bin/env bash
# test/bench/requeue.sh — seal() with the queue logged (0.3.0) and unlogged
# (0.4.0), interleaved, and what rebuilding the queue after a crash costs.
#
#   1. BENCH_REPS times: load BENCH_ROWS rows into one ledger table with
#      log_pending LOGGED, seal() them; the same with it UNLOGGED (time, leaves/s,
#      WAL bytes per leaf);
#   2. crash (pg_ctl -m immediate) with every row sealed: the next seal()
#      scans every row and re-queues none;
#   3. load BENCH_ROWS more, crash: the next seal() re-queues and seals them;
#      the log must then hold every row once and verify_log(true) find nothing.
#
# Environment: BENCH_ROWS (default 200000), BENCH_REPS (3), BENCH_PORT (55449),
#   BENCH_NO_INSTALL (lib.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"
N=${BENCH_ROWS:-200000}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_PORT=${BENCH_PORT:-55449}

bench_install
bl_scratch
bl_start_cluster rq "$BENCH_PORT" "$(bl_test_log_conf bench.example/requeue)
shared_buffers = 1GB
max_wal_size = 8GB
checkpoint_timeout = 30min
work_mem = 128MB"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
ms_since() { echo $(( $(now_ms) - $1 )); }
per_s() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.0f", n / ms * 1000 }'; }
q "CREATE EXTENSION battledger"
q "CREATE TABLE t (battery text, v int)"
q "SELECT battledger.enable_ledger('t', 'battery')" >/dev/null
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), BENCH_ROWS=$N BENCH_REPS=$BENCH_REPS test/bench/requeue.sh, $(bench_git_state), load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$BENCH_REPS"); do
  for mode in LOGGED UNLOGGED; do
    q "ALTER TABLE battledger.log_pending SET $mode"
    q "INSERT INTO t SELECT 'B' || (i % 1000), i FROM generate_series(1, $N) i"
    q "CHECKPOINT"
    l0=$(q "SELECT pg_current_wal_lsn()")
    t0=$(now_ms); q "SELECT battledger.seal()" >/dev/null 2>&1; ms=$(ms_since "$t0")
    w=$(q "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$l0') / $N, 1)")
    echo "rep $r: seal() of $N queued rows, queue $mode: $ms ms, $(per_s "$N" "$ms") leaves/s, $w WAL bytes/leaf"
  done
done
crash() {
  as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/rq" -m immediate stop >/dev/null
  as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/rq" -l "$BL_WORK/rq.log" -w start >/dev/null
}
total=$(q "SELECT count(*) FROM t")
q "VACUUM ANALYZE t"
t0=$(now_ms); q "SELECT count(*) FROM battledger.verify_log(true)" >/dev/null; ms=$(ms_since "$t0")
echo "for comparison, verify_log(true) over the $total leaves: $ms ms, $(per_s "$total" "$ms") leaves/s"
crash
[ "$(q 'SELECT count(*) FROM battledger.log_pending_intact')" = 0 ] || { echo "the queue survived the crash?" >&2; exit 1; }
t0=$(now_ms); q "SELECT battledger.seal()" >/dev/null 2>&1; ms=$(ms_since "$t0")
echo "first seal() after a crash, all $total rows sealed (re-queue reads every row, queues none): $ms ms, $(per_s "$total" "$ms") rows/s"
q "INSERT INTO t SELECT 'B' || (i % 1000), i FROM generate_series(1, $N) i"
crash
t0=$(now_ms); q "SELECT battledger.seal()" >/dev/null 2>&1; ms=$(ms_since "$t0")
echo "first seal() after a crash, $N of $((total + N)) rows unsealed (re-queue and seal): $ms ms"
res="leaves=$(q 'SELECT count(*) FROM battledger.log_leaf') rows=$(q 'SELECT count(*) FROM t') problems=$(q 'SELECT count(*) FROM battledger.verify_log(true)')"
echo "$res"
[ "$res" = "leaves=$((total + N)) rows=$((total + N)) problems=0" ] || { echo "the log does not hold every row once" >&2; exit 1; }
echo "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
