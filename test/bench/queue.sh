#!/usr/bin/env bash
# test/bench/queue.sh — what the transparency log's queue costs a ledger row.
#
# One throwaway cluster; the same five tables as run.sh's, interleaved in
# every repetition (the machine is shared: a slow minute hits every variant
# of one repetition, not one variant):
#   plain, indexed      the baselines (schema.sql);
#   ledger              battledger as installed: rows queued in the UNLOGGED
#                       log_pending (0.4.0);
#   ledger_logged       the same with log_pending made LOGGED for the run: the
#                       queue as 0.3.0 wrote it (a second copy of every row
#                       through WAL);
#   ledger_noqueue      the log trigger disabled on the table: the floor for
#                       any queue design (e.g. the log reading unsealed rows
#                       from their tables), not a supported configuration.
# For each: single-row INSERT TPS (pgbench, 8 clients then 1), WAL bytes per
# row (pg_current_wal_lsn() before and after, over the rows the run inserted)
# and the backends' CPU time per row (from the postmaster's exited children),
# and a bulk INSERT ... SELECT of BENCH_BULK rows (time and WAL per row).
#
# Environment: BENCH_SECONDS (default 8), BENCH_REPS (3), BENCH_BULK (100000),
#   BENCH_PORT (55446), BENCH_NO_INSTALL (lib.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"

BENCH_SECONDS=${BENCH_SECONDS:-8}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_BULK=${BENCH_BULK:-100000}
BENCH_PORT=${BENCH_PORT:-55446}
RESULTS=$HERE/results/queue.md
VARIANTS="plain indexed ledger ledger_logged ledger_noqueue"

bench_install
bl_start_cluster queue "$BENCH_PORT" "shared_buffers = 1GB
session_preload_libraries = 'battledger'
max_wal_size = 8GB
checkpoint_timeout = 30min
work_mem = 128MB"
psql_() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
q() { psql_ -At -c "$1"; }
psql_ -f "$HERE/schema.sql"
say "warming up WAL"
q "CREATE TABLE bench.warmup AS SELECT g, md5(g::text) AS m FROM generate_series(1, 4000000) AS g"
q "DROP TABLE bench.warmup"
q "CHECKPOINT"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg); T0=$(now_ms); BUSY0=$(machine_busy)

# mk_table VARIANT SFX: a fresh table for the variant; prints its name
mk_table() {
  local kind=$1
  case $1 in ledger_*) kind=ledger ;; esac
  q "SELECT bench.make_table('$kind', '$2')" >/dev/null
  if [ "$1" = ledger_noqueue ]; then
    # the DDL guard refuses this, as it should: lift it for this one statement
    q "SELECT string_agg(format('ALTER EVENT TRIGGER %I DISABLE', evtname), '; ') FROM pg_event_trigger
        WHERE evtname LIKE 'battledger%'" | psql_ >/dev/null
    q "ALTER TABLE ${kind}_$2 DISABLE TRIGGER battledger_log"
    q "SELECT string_agg(format('ALTER EVENT TRIGGER %I ENABLE ALWAYS', evtname), '; ') FROM pg_event_trigger
        WHERE evtname LIKE 'battledger%'" | psql_ >/dev/null
  fi
  echo "${kind}_$2"
}
persist() { case $1 in ledger_logged) q "ALTER TABLE battledger.log_pending SET $2" ;; esac; }
lsn() { q "SELECT pg_current_wal_lsn()"; }
wal_per_row() { q "SELECT round(pg_wal_lsn_diff('$2', '$1') / greatest($3, 1), 1)"; }

declare -A TPS WAL CPU BULKMS BULKWAL
for r in $(seq "$BENCH_REPS"); do
  for clients in 8 1; do
    for v in $VARIANTS; do
      tbl=$(mk_table "$v" "${v}c${clients}r$r")
      persist "$v" LOGGED
      q "CHECKPOINT"
      l0=$(lsn); c0=$(cluster_cpu "$BL_WORK/queue")
      out=$(pgbench -n -f "$HERE/insert.sql" -D tbl="$tbl" -c "$clients" -j $(( clients > 1 ? 2 : 1 )) \
              -T "$BENCH_SECONDS" postgres 2>&1) || { echo "$out"; exit 1; }
      l1=$(lsn)
      sleep 0.5             # let the run's backends exit, so their CPU time is counted
      c1=$(cluster_cpu "$BL_WORK/queue")
      persist "$v" UNLOGGED
      n=$(q "SELECT count(*) FROM $tbl")
      tps=$(awk '/^tps = / { print $3; exit }' <<<"$out")
      w=$(wal_per_row "$l0" "$l1" "$n")
      # CPU time of the run's backends (exited children of the postmaster) per row:
      # unlike TPS, hardly moved by other work on the machine
      u=$(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
      echo "rep $r, $clients client(s), $v: $tps TPS, $w WAL bytes/row, $u backend CPU µs/row"
      TPS[$v,$clients]+="$tps "; WAL[$v,$clients]+="$w "; CPU[$v,$clients]+="$u "
    done
  done
  for v in $VARIANTS; do
    tbl=$(mk_table "$v" "${v}bulkr$r")
    persist "$v" LOGGED
    q "CHECKPOINT"
    l0=$(lsn)
    ms=$(q "SELECT bench.time_ms(bench.bulk_sql('$tbl', $BENCH_BULK))")
    l1=$(lsn)
    persist "$v" UNLOGGED
    w=$(wal_per_row "$l0" "$l1" "$BENCH_BULK")
    echo "rep $r, bulk $BENCH_BULK, $v: $ms ms, $w WAL bytes/row"
    BULKMS[$v]+="$ms "; BULKWAL[$v]+="$w "
    case $v in plain|indexed) q "DROP TABLE $tbl" ;; esac
  done
done
# the rows must still verify and the log must take them all
q "SELECT count(*) FROM battledger.verify('ledger_ledgerc8r1')" | grep -qx 0 || { echo "verify() found problems" >&2; exit 1; }

ELAPSED=$(( ($(now_ms) - T0) / 1000 )); LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
OWN=$(awk -v a="$(children_cpu)" -v b="$(cluster_cpu "$BL_WORK/queue")" 'BEGIN { print a + b }')
OTHER=$(awk -v a="$(machine_busy)" -v b="$BUSY0" -v o="$OWN" 'BEGIN { x = a - b - o; print (x < 0 ? 0 : x) }')
GIT_STATE=$(bench_git_state)

med() { median $1; }
rat() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
summary() {
  bench_report_head " — the log queue" "BENCH_SECONDS=$BENCH_SECONDS BENCH_REPS=$BENCH_REPS BENCH_BULK=$BENCH_BULK test/bench/queue.sh"
  bench_run_rows
  echo "| PostgreSQL | $(q 'SELECT version()') |"
  echo
  echo "Medians of $BENCH_REPS interleaved repetitions (each value's runs in brackets)."
  echo
  for clients in 8 1; do
    echo "### Single-row INSERT, $clients client(s), ${BENCH_SECONDS} s each"
    echo
    echo "| table | TPS | vs plain | vs indexed | WAL bytes/row | vs indexed | backend CPU µs/row | vs indexed |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for v in $VARIANTS; do
      local t w u
      t=$(med "${TPS[$v,$clients]}"); w=$(med "${WAL[$v,$clients]}"); u=$(med "${CPU[$v,$clients]}")
      echo "| $v | $(fmt '%.0f' "$t") [${TPS[$v,$clients]% }] | $(rat "$t" "$(med "${TPS[plain,$clients]}")") |" \
           "$(rat "$t" "$(med "${TPS[indexed,$clients]}")") | $w [${WAL[$v,$clients]% }] | $(rat "$w" "$(med "${WAL[indexed,$clients]}")") |" \
           "$u [${CPU[$v,$clients]% }] | $(rat "$u" "$(med "${CPU[indexed,$clients]}")") |"
    done
    echo
  done
  echo "### Bulk INSERT ... SELECT of $BENCH_BULK rows, 1,000 chain keys"
  echo
  echo "| table | ms | rows/s | vs plain | vs indexed | WAL bytes/row | vs indexed |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for v in $VARIANTS; do
    local m w
    m=$(med "${BULKMS[$v]}"); w=$(med "${BULKWAL[$v]}")
    echo "| $v | $m [${BULKMS[$v]% }] | $(fmt '%.0f' "$(awk -v n="$BENCH_BULK" -v m="$m" 'BEGIN { print n / m * 1000 }')") |" \
         "$(rat "$(med "${BULKMS[plain]}")" "$m") | $(rat "$(med "${BULKMS[indexed]}")" "$m") | $w [${BULKWAL[$v]% }] | $(rat "$w" "$(med "${BULKWAL[indexed]}")") |"
  done
}
mkdir -p "$(dirname "$RESULTS")"
summary > "$RESULTS"
say "summary (also in ${RESULTS#"$BL_ROOT"/})"
cat "$RESULTS"
