#!/usr/bin/env bash
# test/bench/storage.sh — bytes per row on disk: plain, indexed, ledger, and
# the ledger with its transparency log, at each size in BENCH_SIZES.
#
# For each size N, in one cluster: the three tables of schema.sql loaded with
# the same N rows (bench.bulk_sql: 1,000 chain keys), then seal() (the log
# starts empty at each size: one database per size), VACUUM (ANALYZE), and
# pg_total_relation_size() (heap, indexes, TOAST, free space and visibility
# maps) divided by N.  The log's share is log_leaf and the tree's table with
# their indexes (log_tile since 0.6.0, log_node before: the script measures
# whichever the installed build has, so it runs on both), log_block since
# 0.9.0, and checkpoints; the queue (log_pending) is empty after the seal.
#
# Environment: BENCH_SIZES (default "100000 1000000"), BENCH_PORT (55450),
#   BENCH_NO_INSTALL (lib.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"
BENCH_SIZES=${BENCH_SIZES:-"100000 1000000"}
BENCH_PORT=${BENCH_PORT:-55450}
RESULTS=$HERE/results/storage.md

bench_install
bl_scratch
bl_start_cluster storage "$BENCH_PORT" "$(bl_test_log_conf bench.example/storage)
shared_buffers = 1GB
max_wal_size = 8GB
checkpoint_timeout = 30min
work_mem = 128MB"

declare -A B
for n in $BENCH_SIZES; do
  db=s$n
  createdb "$db"
  # one log per origin in a cluster: each size's database seals under its own
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "LOAD 'battledger'" \
    -c "ALTER DATABASE $db SET battledger.origin = 'bench.example/storage-$n'"
  q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$HERE/schema.sql"
  for kind in plain indexed ledger; do
    say "$n rows: $kind"
    q "SELECT bench.make_table('$kind', 's')" >/dev/null
    q "SELECT bench.time_ms(bench.bulk_sql('${kind}_s', $n))" >/dev/null
  done
  say "$n rows: seal()"
  q "SELECT battledger.seal()" >/dev/null 2>&1
  q "VACUUM (ANALYZE)"
  [ "$(q 'SELECT count(*) FROM battledger.log_leaf')" = "$n" ] || { echo "the log does not hold $n leaves" >&2; exit 1; }
  [ "$(q 'SELECT count(*) FROM battledger.log_pending')" = 0 ] || { echo "rows left in the queue" >&2; exit 1; }
  for kind in plain indexed ledger; do
    B[$kind,$n]=$(q "SELECT round(pg_total_relation_size('public.${kind}_s') / $n::numeric, 1)")
  done
  B[lheap,$n]=$(q "SELECT round(pg_table_size('public.ledger_s') / $n::numeric, 1)")
  B[lidx,$n]=$(q "SELECT round(pg_indexes_size('public.ledger_s') / $n::numeric, 1)")
  B[iidx,$n]=$(q "SELECT round(pg_indexes_size('public.indexed_s') / $n::numeric, 1)")
  B[leaf,$n]=$(q "SELECT round(pg_total_relation_size('battledger.log_leaf') / $n::numeric, 1)")
  TREE=$(q "SELECT coalesce(to_regclass('battledger.log_tile'), to_regclass('battledger.log_node'))")
  B[node,$n]=$(q "SELECT round(pg_total_relation_size('$TREE') / $n::numeric, 1)")
  B[cp,$n]=$(q "SELECT round(pg_total_relation_size('battledger.checkpoint') / $n::numeric, 1)")
  # the blocks of 16 nodes (0.9.0; 0 where the build has none)
  B[block,$n]=$(q "SELECT round(coalesce(pg_total_relation_size(to_regclass('battledger.log_block')), 0) / $n::numeric, 1)")
  B[log,$n]=$(awk -v a="${B[leaf,$n]}" -v b="${B[node,$n]}" -v c="${B[cp,$n]}" -v d="${B[block,$n]}" 'BEGIN { printf "%.1f", a + b + c + d }')
  B[all,$n]=$(awk -v a="${B[ledger,$n]}" -v b="${B[log,$n]}" 'BEGIN { printf "%.1f", a + b }')
done

rat() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
GIT_STATE=$(bench_git_state)
{
  bench_report_head " — bytes per row" "BENCH_SIZES=\"$BENCH_SIZES\" test/bench/storage.sh"
  echo "| battledger source | $GIT_STATE |"
  echo
  echo "pg_total_relation_size() / rows, after seal() and VACUUM (ANALYZE)."
  echo
  echo "| | $(for n in $BENCH_SIZES; do printf '%s rows | vs indexed | ' "$n"; done)"
  echo "|---|$(for n in $BENCH_SIZES; do printf -- '---:|---:|'; done)"
  row() {
    local label=$1 key=$2 n
    printf '| %s |' "$label"
    for n in $BENCH_SIZES; do printf ' %s | %s |' "${B[$key,$n]}" "$(rat "${B[$key,$n]}" "${B[indexed,$n]}")"; done
    echo
  }
  row "plain" plain
  row "indexed (battery, at)" indexed
  row "ledger (table, chain index)" ledger
  row "… of which the ledger's heap (with TOAST and maps)" lheap
  row "… of which the ledger's indexes" lidx
  row "(the indexed table's index)" iidx
  row "log: log_leaf with its indexes" leaf
  row "log: ${TREE#battledger.} with its index (and TOAST)" node
  row "log: log_block with its index (0.9.0)" block
  row "log: checkpoints" cp
  row "**ledger + log**" all
} > "$RESULTS"
say "summary (also in ${RESULTS#"$BL_ROOT"/})"
cat "$RESULTS"
