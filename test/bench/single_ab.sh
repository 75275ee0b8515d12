#!/usr/bin/env bash
# test/bench/single_ab.sh — single-row INSERT transactions, two builds, in
# backend CPU time.
#
# The native counterpart of single_callgrind_ab.sh: one cluster per build
# (PG_BIN_A, PG_BIN_B), each with an indexed table and a ledger table
# (schema.sql); in every round each table of each build gets a pgbench run
# of one client (insert.sql: one single-row INSERT per transaction, 1,000
# chain keys), the builds alternating, and the backend's CPU time (utime +
# stime from /proc) is divided by the transactions it committed.  On a
# machine shared with other work the rounds vary; the medians of the
# rounds and the ratios within each round are printed.
# Environment: PG_BIN_A, PG_BIN_B (required), BENCH_ROUNDS (default 5),
# BENCH_SECONDS (default 5), BENCH_PORT (default 57360; A on it, B on the next).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"
export PG_BIN=${PG_BIN:-$PG_BIN_B}
ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECONDS:-5}
PORT=${BENCH_PORT:-57360}
bl_scratch
declare -A P=([A]=$PORT [B]=$((PORT + 1)))
declare -A BIN=([A]=$PG_BIN_A [B]=$PG_BIN_B)
q() { psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${P[$1]}" -U postgres -d postgres -At -c "$2"; }

for b in A B; do
  PG_BIN=${BIN[$b]} bl_start_cluster "$b" "${P[$b]}" "shared_buffers = 256MB
max_wal_size = 8GB
autovacuum = off
synchronous_commit = off"
  psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${P[$b]}" -U postgres -d postgres -f "$HERE/schema.sql"
  q "$b" "SELECT bench.make_table('indexed', 't'), bench.make_table('ledger', 't')" >/dev/null
done
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# one_run BUILD TABLE: backend CPU microseconds per transaction (a run whose
# backend could not be read, e.g. found exiting, is run again)
one_run() {
  local v
  for _ in 1 2 3; do
    v=$(one_try "$@")
    [ "$v" != x ] && { echo "$v"; return; }
  done
  echo "FAIL: no reading of $1's $2" >&2; exit 1
}
one_try() {
  local b=$1 t=$2 pid u0 u1 n0 n1 tck
  tck=$(getconf CLK_TCK)
  pgbench -n -h "$BL_WORK" -p "${P[$b]}" -U postgres -f "$HERE/insert.sql" -D tbl="$t" -c 1 -T "$SECS" postgres \
    > "$BL_WORK/pgbench.log" 2>&1 &
  local bg=$!
  for _ in $(seq 50); do
    pid=$(q "$b" "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench' AND state IS NOT NULL
                   ORDER BY backend_start DESC LIMIT 1")
    [ -n "$pid" ] && break; sleep 0.1
  done
  sleep 0.5
  u0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat"); n0=$(q "$b" "SELECT count(*) FROM $t")
  sleep $((SECS - 2))
  u1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat"); n1=$(q "$b" "SELECT count(*) FROM $t")
  wait "$bg"
  if [ $((u1 - u0)) -le 0 ] || [ $((n1 - n0)) -le 0 ]; then echo x; return; fi
  awk -v c=$((u1 - u0)) -v n=$((n1 - n0)) -v t="$tck" 'BEGIN { printf "%.1f", c / t * 1e6 / n }'
}

declare -A R
for r in $(seq "$ROUNDS"); do
  for b in A B; do for t in indexed_t ledger_t; do R[$r,$b,$t]=$(one_run "$b" "$t"); done; done
  say "round $r: A indexed ${R[$r,A,indexed_t]} ledger ${R[$r,A,ledger_t]} | B indexed ${R[$r,B,indexed_t]} ledger ${R[$r,B,ledger_t]} (µs CPU/tx)"
done
med() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo
echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| build | indexed µs CPU/tx | ledger µs CPU/tx | indexed/ledger (median of rounds' ratios) |"
echo "|---|---:|---:|---:|"
for b in A B; do
  mi=$(for r in $(seq "$ROUNDS"); do echo "${R[$r,$b,indexed_t]}"; done | med)
  ml=$(for r in $(seq "$ROUNDS"); do echo "${R[$r,$b,ledger_t]}"; done | med)
  mr=$(for r in $(seq "$ROUNDS"); do awk -v i="${R[$r,$b,indexed_t]}" -v l="${R[$r,$b,ledger_t]}" 'BEGIN { print i / l }'; done | med)
  echo "| $b | $mi | $ml | $(fmt '%.2f' "$mr")x |"
done
mba=$(for r in $(seq "$ROUNDS"); do awk -v a="${R[$r,A,ledger_t]}" -v b="${R[$r,B,ledger_t]}" 'BEGIN { print b / a }'; done | med)
echo "ledger B/A (median of rounds' ratios): $(fmt '%.3f' "$mba")"
for b in A B; do
  [ "$(q "$b" "SELECT count(*) FROM battledger.verify('ledger_t')")" = 0 ] || { echo "FAIL: $b's ledger_t does not verify"; exit 1; }
done
