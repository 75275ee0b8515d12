#!/usr/bin/env bash
# test/bench/run.sh — how much does a battledger ledger table cost?
#
# Starts one throwaway PostgreSQL 15 cluster with durable commits (fsync and
# synchronous_commit left at their defaults: on) and compares, in the same
# run, three tables with identical content columns (see schema.sql):
#   plain        an ordinary table;
#   handwritten  the PL/pgSQL + pgcrypto global hash chain a DBA writes today;
#   ledger       battledger.enable_ledger(tbl, 'battery').
#
#   a. single-row INSERT TPS with pgbench, 1 and 8 clients, and WAL bytes per row;
#   b. bulk INSERT ... SELECT generate_series, 100k and 200k rows;
#   c. battledger.verify() speed on 200k and 1M rows.
#
# Prints a markdown summary and writes it to test/bench/results/latest.md.
#
# Environment:
#   BENCH_SECONDS     duration of each pgbench run (default 15)
#   BENCH_PORT        port of the private cluster (default 55440)
#   BENCH_HW_TIMEOUT  cap in seconds on one hand-written bulk load (default 300)
#   BENCH_REPS        runs of each bulk load, the median is reported (default 3)
#   BENCH_NO_INSTALL  1: install and build nothing, use what is installed for PG_CONFIG (lib.sh)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"

BENCH_SECONDS=${BENCH_SECONDS:-15}
BENCH_PORT=${BENCH_PORT:-55440}
BENCH_HW_TIMEOUT=${BENCH_HW_TIMEOUT:-300}
BENCH_REPS=${BENCH_REPS:-3}
LOAD_1M_TIMEOUT=60            # the 1M-row verify table is only built if it loads this fast
RESULTS=$HERE/results/latest.md

bench_install                 # lib.sh; BENCH_NO_INSTALL=1 skips it
# shared_buffers holds every table of the run, so reads never hit the disk;
# a large max_wal_size keeps checkpoints out of the timed bulk loads; work_mem
# keeps generate_series()'s tuplestore in memory (at 4MB it spills to a temp
# file above ~100k rows, which made even the plain load superlinear).
bl_start_cluster bench "$BENCH_PORT" "shared_buffers = 1GB
session_preload_libraries = 'battledger'
max_wal_size = 8GB
checkpoint_timeout = 30min
work_mem = 128MB"

psql_() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
q() { psql_ -At -c "$1"; }
ratio() {                   # a / b, or – when either is missing or timed out
  case "$1,$2" in ,*|*,|timeout,*|*,timeout) echo "–" ;;
    *) awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }' ;; esac
}

say "creating benchmark schema"
psql_ -f "$HERE/schema.sql"
# A new cluster creates (and zero-fills) its WAL segments as it first needs
# them; write ~1 GB of WAL once so that whichever table is timed first does
# not pay for that, then checkpoint so the segments are recycled.
say "warming up WAL"
q "CREATE TABLE bench.warmup AS SELECT g, md5(g::text) AS m FROM generate_series(1, 4000000) AS g"
q "DROP TABLE bench.warmup"
q "CHECKPOINT"

# ---------------------------------------------------------------------------
# a. single-row inserts: each client runs INSERT ... VALUES in autocommit, so
#    every transaction waits for its WAL flush.  Fresh tables for each client
#    count; a CHECKPOINT before each run so no run inherits another's dirty
#    buffers.
# ---------------------------------------------------------------------------
declare -A TPS WALROW
KINDS="plain indexed handwritten ledger"
for clients in 1 8; do
  jobs=$(( clients > 1 ? 2 : 1 ))
  for kind in $KINDS; do
    tbl=${kind}_c$clients
    q "SELECT bench.make_table('$kind', 'c$clients')" >/dev/null
    q "CHECKPOINT"
    say "pgbench: $tbl, $clients client(s), $jobs thread(s), ${BENCH_SECONDS}s"
    l0=$(q "SELECT pg_current_wal_lsn()")
    out=$(pgbench -n -f "$HERE/insert.sql" -D tbl="$tbl" -c "$clients" -j "$jobs" \
            -T "$BENCH_SECONDS" postgres 2>&1) || { echo "$out"; exit 1; }
    TPS[$kind,$clients]=$(awk '/^tps = / { print $3; exit }' <<<"$out")
    # WAL bytes per inserted row over the run (every backend's WAL, commit records included)
    WALROW[$kind,$clients]=$(q "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$l0') / greatest(count(*), 1), 1) FROM $tbl")
    grep -E '^(number of failed|latency average|tps)' <<<"$out" || true
  done
done
# The pgbench ledger tables must still verify (concurrent appends, 1,000 chains).
PGB_PROBLEMS=$(q "SELECT (SELECT count(*) FROM battledger.verify('ledger_c1'))
                       + (SELECT count(*) FROM battledger.verify('ledger_c8'))")

# ---------------------------------------------------------------------------
# b. bulk loads: one INSERT ... SELECT of N rows over 1,000 chain keys into a
#    fresh empty table, timed inside the server; the median of BENCH_REPS
#    runs, because single runs on a small shared VM vary by ±20 %.  The
#    hand-written chain gets a statement_timeout so that a quadratic blow-up
#    cannot stall the run.
# ---------------------------------------------------------------------------
declare -A BULK_MS          # [kind,N] -> median milliseconds, or "timeout"
bulk_once() {               # bulk_once KIND N SUFFIX [timeout_s]; prints ms or "timeout"
  local kind=$1 n=$2 sfx=$3 limit=${4:-0} ms
  q "SELECT bench.make_table('$kind', '$sfx')" >/dev/null
  q "CHECKPOINT"            # start every load with no dirty buffers to write
  if ms=$(PGOPTIONS="-c statement_timeout=${limit}s" \
          q "SELECT bench.time_ms(bench.bulk_sql('${kind}_$sfx', $n))" 2>&1); then
    echo "$ms"
  elif grep -q 'statement timeout' <<<"$ms"; then
    echo timeout
  else
    echo "$ms" >&2; return 1
  fi
  # Ledger tables are permanent (DROP is refused); drop the others to keep
  # everything the run creates inside shared_buffers.
  case $kind in
    plain|indexed) q "DROP TABLE ${kind}_$sfx" ;;
    handwritten) q "DROP TABLE handwritten_$sfx; DROP FUNCTION bench.chain_handwritten_$sfx()" ;;
  esac
}
bulk() {                    # bulk KIND N [timeout_s]: median of BENCH_REPS runs into BULK_MS
  local kind=$1 n=$2 limit=${3:-0} r ms runs=()
  say "bulk: $kind, $n rows, $BENCH_REPS runs${3:+ (cap ${3}s each)}"
  for r in $(seq "$BENCH_REPS"); do
    ms=$(bulk_once "$kind" "$n" "bulk${n}_r$r" "$limit")
    if [ "$ms" = timeout ]; then echo "  run $r: cancelled at the cap"; else echo "  run $r: $ms ms"; fi
    runs+=("$ms")
    [ "$ms" = timeout ] && { BULK_MS[$kind,$n]=timeout; return; }
  done
  BULK_MS[$kind,$n]=$(median "${runs[@]}")
}
BULK_SIZES="100000 200000"
for n in $BULK_SIZES; do
  for kind in plain indexed ledger; do bulk "$kind" "$n"; done
done
# The hand-written chain at 100k and 200k (capped at BENCH_HW_TIMEOUT per
# load); if one hits the cap it is also run at 20k and 40k, with plain beside
# it, so that its growth can still be measured.
bulk handwritten 100000 "$BENCH_HW_TIMEOUT"
[ "${BULK_MS[handwritten,100000]}" = timeout ] || bulk handwritten 200000 "$BENCH_HW_TIMEOUT"
if [[ "${BULK_MS[handwritten,100000]} ${BULK_MS[handwritten,200000]:-timeout}" == *timeout* ]]; then
  for n in 20000 40000; do
    for kind in plain handwritten; do bulk "$kind" "$n" "$BENCH_HW_TIMEOUT"; done
  done
fi

# ---------------------------------------------------------------------------
# c. verify(): three runs each, median, on the 200k ledger table and on a 1M
#    one if that loads within LOAD_1M_TIMEOUT.
# ---------------------------------------------------------------------------
declare -A VERIFY_MS VERIFY_PROBLEMS
verify3() {                 # verify3 TABLE ROWS
  local tbl=$1 rows=$2 runs=() r ms problems out
  q "VACUUM ANALYZE $tbl"   # set hint bits once, as a table at rest would have them
  for r in 1 2 3; do
    out=$(q "SELECT ms, problems FROM bench.time_verify('$tbl')")
    IFS='|' read -r ms problems <<<"$out"
    echo "  run $r: $ms ms, $problems problem(s)"
    runs+=("$ms")
  done
  VERIFY_MS[$rows]=$(median "${runs[@]}")
  VERIFY_PROBLEMS[$rows]=$problems
}
say "verify: ledger_bulk200000_r1"
verify3 ledger_bulk200000_r1 200000
say "loading a 1,000,000-row ledger table (cap ${LOAD_1M_TIMEOUT}s)"
LOAD_1M=$(bulk_once ledger 1000000 bulk1000000 "$LOAD_1M_TIMEOUT"); echo "$LOAD_1M ms"
if [ "$LOAD_1M" != timeout ]; then
  say "verify: ledger_bulk1000000"
  verify3 ledger_bulk1000000 1000000
fi

# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------
secs() { [ "$1" = timeout ] && echo "> cap" || fmt '%.2f s' "$(awk -v m="$1" 'BEGIN{print m/1000}')"; }
rps() { [ "$2" = timeout ] && echo "–" || fmt '%.0f' "$(awk -v n="$1" -v m="$2" 'BEGIN{print n/(m/1000)}')"; }
# growth KIND N 2N: time(2N)/time(N), a lower bound if 2N hit the cap, "–" if not measured
growth() {
  local a=${BULK_MS[$1,$2]:-} b=${BULK_MS[$1,$3]:-}
  if [ -z "$a" ] || [ -z "$b" ] || [ "$a" = timeout ]; then echo "–"
  elif [ "$b" = timeout ]; then echo "> $(awk -v c="$BENCH_HW_TIMEOUT" -v a="$a" 'BEGIN{printf "%.1f", c*1000/a}') (capped)"
  else awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b/a}'
  fi
}
k() { awk -v n="$1" 'BEGIN { if (n >= 1000000) printf "%gM", n/1000000; else printf "%gk", n/1000 }'; }

summary() {
  local n kind ms
  bench_report_head "" "BENCH_SECONDS=$BENCH_SECONDS BENCH_REPS=$BENCH_REPS BENCH_HW_TIMEOUT=$BENCH_HW_TIMEOUT test/bench/run.sh"
  echo "| PostgreSQL | $(q 'SELECT version()') |"
  q "SELECT '| ' || name || ' | ' || current_setting(name) || ' |'
       FROM unnest(ARRAY['shared_buffers', 'synchronous_commit', 'fsync', 'wal_level',
                         'max_wal_size', 'checkpoint_timeout', 'full_page_writes', 'work_mem']) AS name"
  echo
  echo "## a. Single-row INSERT, one row per transaction (pgbench -n, ${BENCH_SECONDS} s, 1,000 chain keys)"
  echo
  echo "| table | 1 client TPS | vs plain | vs indexed | 8 clients (-j 2) TPS | vs plain | vs indexed | WAL bytes/row (1 / 8 clients) | vs indexed |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for kind in $KINDS; do
    echo "| $kind | $(fmt '%.0f' "${TPS[$kind,1]}") | $(ratio "${TPS[$kind,1]}" "${TPS[plain,1]}") | $(ratio "${TPS[$kind,1]}" "${TPS[indexed,1]}") |" \
         "$(fmt '%.0f' "${TPS[$kind,8]}") | $(ratio "${TPS[$kind,8]}" "${TPS[plain,8]}") | $(ratio "${TPS[$kind,8]}" "${TPS[indexed,8]}") |" \
         "${WALROW[$kind,1]} / ${WALROW[$kind,8]} | $(ratio "${WALROW[$kind,1]}" "${WALROW[indexed,1]}") / $(ratio "${WALROW[$kind,8]}" "${WALROW[indexed,8]}") |"
  done
  echo
  echo "verify() on the two pgbench ledger tables afterwards: $PGB_PROBLEMS problem(s)."
  echo
  echo "## b. Bulk INSERT ... SELECT FROM generate_series(1, N), one statement, 1,000 chain keys (median of $BENCH_REPS)"
  echo
  echo "| table | N | time | rows/s | vs plain (same N) | vs indexed (same N) |"
  echo "|---|---:|---:|---:|---:|---:|"
  for kind in plain indexed handwritten ledger; do
    for n in 20000 40000 100000 200000; do
      ms=${BULK_MS[$kind,$n]:-}
      [ -z "$ms" ] && continue
      if [ "$ms" = timeout ]; then
        echo "| $kind | $(k "$n") | > ${BENCH_HW_TIMEOUT} s (cancelled) | – | – |"
      else
        echo "| $kind | $(k "$n") | $(secs "$ms") | $(rps "$n" "$ms") |" \
             "$(ratio "${BULK_MS[plain,$n]}" "$ms") | $(ratio "${BULK_MS[indexed,$n]:-}" "$ms") |"
      fi
    done
  done
  echo
  echo "Scaling: time(2N) / time(N); 2.0 is linear, 4.0 quadratic (goal for ledger: 200k/100k ≤ 2.3)."
  echo
  echo "| table | 200k / 100k | 40k / 20k |"
  echo "|---|---:|---:|"
  for kind in plain indexed handwritten ledger; do
    echo "| $kind | $(growth "$kind" 100000 200000) | $(growth "$kind" 20000 40000) |"
  done
  echo
  echo "## c. battledger.verify() (median of 3 runs, after VACUUM ANALYZE)"
  echo
  echo "| ledger rows | median time | rows/s | problems reported |"
  echo "|---:|---:|---:|---:|"
  for n in 200000 1000000; do
    if [ -n "${VERIFY_MS[$n]:-}" ]; then
      echo "| $(k "$n") | $(secs "${VERIFY_MS[$n]}") | $(rps "$n" "${VERIFY_MS[$n]}") | ${VERIFY_PROBLEMS[$n]} |"
    fi
  done
  if [ "$LOAD_1M" = timeout ]; then
    echo
    echo "The 1M-row ledger table did not load within ${LOAD_1M_TIMEOUT} s, so it was not verified."
  else
    echo
    echo "The 1M-row ledger table loaded in $(secs "$LOAD_1M") ($(rps 1000000 "$LOAD_1M") rows/s)."
  fi
  echo
  echo "Notes: the hand-written table is one global chain (every insert serialised by one"
  echo "advisory lock held to commit); the ledger table has one chain per battery (1,000)."
  echo "Indexes: plain has none, indexed one on (battery, at), handwritten a unique index on"
  echo "(seq), ledger the unique (battery, ledger_origin, ledger_seq) index enable_ledger() creates (and it"
  echo "queues each row for the transparency log). The cluster runs with"
  echo "session_preload_libraries = 'battledger' (recommended, docs/dba-guide.md), so that"
  echo "every statement, not only those after the library's first use in a session, may"
  echo "cache chain heads."
  echo "Bulk and verify times are measured inside the server with clock_timestamp()"
  echo "(no connection start-up, no commit flush)."
}

mkdir -p "$(dirname "$RESULTS")"
summary > "$RESULTS"
say "summary (also in ${RESULTS#"$BL_ROOT"/})"
cat "$RESULTS"
