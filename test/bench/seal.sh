#!/usr/bin/env bash
# test/bench/seal.sh — seal() with bulk writes vs seal() through SQL statements.
#
# One throwaway PostgreSQL 15 cluster (durable commits), the TEST-ONLY log
# key, the ledger table of test/bench/log_schema.sql.  For each backlog size
# (BENCH_SEAL_SIZES, default 100k and 1M) and each of BENCH_REPS rounds, two
# seals run back to back, in alternating order from round to round:
#
#   bulk   battledger.seal_bulk_write = on (the default since 0.5.0): the
#          queue is read with one heap scan, leaves and nodes are written with
#          table_multi_insert and direct index inserts (src/pg/log_bulk.c);
#   stmt   battledger.seal_bulk_write = off: the statements 0.4.0 ran
#          (DELETE ... RETURNING on the queue, INSERT ... SELECT unnest(...)).
#
# Before each seal the backlog is loaded with one INSERT ... SELECT and a
# CHECKPOINT is taken, so each seal starts with no dirty buffers to write.
# seal() is timed inside the server (no COMMIT): wall-clock milliseconds, and
# the CPU time of the sealing backend (user + system, from /proc/self/stat
# read by the backend itself: needs Linux and a superuser), which is the
# figure to trust when other work shares the machine; "leaves per CPU
# second" is the one-core rate the goal names.  The
# log grows through the run (both variants seal into the same log, so each
# round's two seals see about the same log size).  After the run,
# verify_log(false) must find nothing: both variants built one valid tree.
#
# Prints a markdown summary and writes it to test/bench/results/seal.md.
#
# Environment:
#   BENCH_PORT         port of the private cluster (default 55446)
#   BENCH_REPS         rounds per size (default 3); the median is reported
#   BENCH_SEAL_SIZES   backlog sizes (default "100000 1000000")
#   BENCH_NO_INSTALL   1: install and build nothing (lib.sh)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"

BENCH_PORT=${BENCH_PORT:-55446}
BENCH_REPS=${BENCH_REPS:-3}
SIZES=${BENCH_SEAL_SIZES:-"100000 1000000"}
RESULTS=$HERE/results/seal.md
COMMAND="BENCH_REPS=$BENCH_REPS BENCH_SEAL_SIZES=\"$SIZES\" test/bench/seal.sh"

rps() { awk -v n="$1" -v m="$2" 'BEGIN { printf "%.0f", n / (m / 1000) }'; }
k() { awk -v n="$1" 'BEGIN { if (n >= 1000000) printf "%gM", n/1000000; else printf "%gk", n/1000 }'; }

GIT_STATE=$(bench_git_state)
bench_install
bl_scratch
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_0=$(machine_busy); OWN_0=$(children_cpu); T_0=$(now_ms)
bl_start_cluster bench_seal "$BENCH_PORT" "$(bl_test_log_conf bench.example/log)
shared_buffers = 1GB
work_mem = 128MB
max_wal_size = 8GB"

psql_() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
q() { psql_ -At -c "$1"; }

say "creating benchmark schema (test/bench/log_schema.sql)"
psql_ -f "$HERE/log_schema.sql" >/dev/null
# seal() timed in the server: wall ms and the backend's own CPU ms
sed "s/CLK_TCK_HERE/$(getconf CLK_TCK)/" <<'SQL' | psql_ >/dev/null
CREATE FUNCTION bench_log.cpu_ms() RETURNS numeric LANGUAGE sql AS $$
  SELECT (split_part(s, ' ', 14)::numeric + split_part(s, ' ', 15)::numeric) * 1000 / CLK_TCK_HERE
    FROM pg_read_file('/proc/self/stat') AS s $$;
CREATE FUNCTION bench_log.time_seal_cpu(OUT ms numeric, OUT cpu_ms numeric, OUT leaves_before bigint,
                                        OUT leaves_after bigint, OUT isolation text)
LANGUAGE plpgsql AS $fn$
DECLARE
    t0 timestamptz;
    c0 numeric;
BEGIN
    isolation := current_setting('transaction_isolation');
    SELECT coalesce(max(tree_size), 0) INTO leaves_before FROM battledger.checkpoint;
    c0 := bench_log.cpu_ms();
    t0 := clock_timestamp();
    PERFORM battledger.seal();
    ms := round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
    cpu_ms := round(bench_log.cpu_ms() - c0, 1);
    SELECT coalesce(max(tree_size), 0) INTO leaves_after FROM battledger.checkpoint;
END $fn$;
SQL
say "warming up WAL"
q "CREATE TABLE bench_log.warmup AS SELECT g, md5(g::text) AS m FROM generate_series(1, 4000000) AS g"
q "DROP TABLE bench_log.warmup"
q "CHECKPOINT"

declare -A MS CPU
loaded=0
one_seal() {                # one_seal VARIANT SIZE ROUND
  local v=$1 n=$2 r=$3 setting ms cpu before after iso
  [ "$v" = bulk ] && setting=on || setting=off
  q "SELECT bench_log.load($((loaded + 1)), $((loaded + n)))" >/dev/null
  loaded=$((loaded + n))
  q "CHECKPOINT"
  IFS='|' read -r ms cpu before after iso <<<"$(psql_ -At -c "SET battledger.seal_bulk_write = $setting" \
      -c "SELECT ms, cpu_ms, leaves_before, leaves_after, isolation FROM bench_log.time_seal_cpu()")"
  [ "$iso" = "read committed" ] || { echo "seal() ran at $iso" >&2; exit 1; }
  [ "$((after - before))" = "$n" ] || { echo "seal() added $((after - before)) leaves, expected $n" >&2; exit 1; }
  MS[$v,$n,$r]=$ms
  CPU[$v,$n,$r]=$cpu
  echo "$v $(k "$n") round $r: $ms ms ($(rps "$n" "$ms") leaves/s), backend CPU $cpu ms ($(rps "$n" "$cpu") leaves per CPU second), log now $after leaves"
}

for n in $SIZES; do
  for r in $(seq 1 "$BENCH_REPS"); do
    say "backlog $(k "$n"), round $r"
    if [ $((r % 2)) = 1 ]; then one_seal bulk "$n" "$r"; one_seal stmt "$n" "$r"
    else one_seal stmt "$n" "$r"; one_seal bulk "$n" "$r"; fi
  done
done

say "verify_log(false) over the whole log"
problems=$(q "SELECT count(*) FROM battledger.verify_log(false)")
[ "$problems" = 0 ] || { echo "verify_log(false) found $problems problems" >&2; exit 1; }
LEAVES=$(q "SELECT count(*) FROM battledger.log_leaf")

ELAPSED=$(( ($(now_ms) - T_0) / 1000 ))
OWN=$(awk -v a="$(children_cpu)" -v b="$OWN_0" 'BEGIN { print a - b }')
OTHER=$(awk -v a="$(machine_busy)" -v b="$BUSY_0" -v o="$OWN" 'BEGIN { x = a - b - o; print (x < 0) ? 0 : x }')
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

mkdir -p "$(dirname "$RESULTS")"
{
  bench_report_head ": seal(), bulk writes vs SQL statements" "$COMMAND"
  bench_run_rows
  echo
  echo "## seal() (in the server, no COMMIT), median of $BENCH_REPS rounds"
  echo
  echo "| backlog | statements (0.4.0) ms | **bulk (0.5.0) ms** | statements leaves/s | **bulk leaves/s** | **bulk / statements** | runs bulk | runs statements |"
  echo "|---:|---:|---:|---:|---:|---:|---|---|"
  for n in $SIZES; do
    b=(); s=()
    for r in $(seq 1 "$BENCH_REPS"); do b+=("${MS[bulk,$n,$r]}"); s+=("${MS[stmt,$n,$r]}"); done
    mb=$(median "${b[@]}"); msv=$(median "${s[@]}")
    echo "| $(k "$n") | $msv | **$mb** | $(rps "$n" "$msv") | **$(rps "$n" "$mb")** | **$(fmt '%.2f' "$(awk -v a="$msv" -v b="$mb" 'BEGIN { print a / b }')")x** | ${b[*]} | ${s[*]} |"
  done
  echo
  echo "## seal(): CPU time of the sealing backend (user + system), median of $BENCH_REPS rounds"
  echo
  echo "| backlog | statements (0.4.0) CPU ms | **bulk (0.5.0) CPU ms** | statements leaves per CPU s | **bulk leaves per CPU s** | **bulk / statements** | runs bulk | runs statements |"
  echo "|---:|---:|---:|---:|---:|---:|---|---|"
  for n in $SIZES; do
    b=(); s=()
    for r in $(seq 1 "$BENCH_REPS"); do b+=("${CPU[bulk,$n,$r]}"); s+=("${CPU[stmt,$n,$r]}"); done
    mb=$(median "${b[@]}"); msv=$(median "${s[@]}")
    echo "| $(k "$n") | $msv | **$mb** | $(rps "$n" "$msv") | **$(rps "$n" "$mb")** | **$(fmt '%.2f' "$(awk -v a="$msv" -v b="$mb" 'BEGIN { print a / b }')")x** | ${b[*]} | ${s[*]} |"
  done
  echo
  echo "After the run the log held $LEAVES leaves; verify_log(false) found $problems problems."
} | tee "$RESULTS"
