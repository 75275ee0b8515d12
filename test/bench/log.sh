#!/usr/bin/env bash
# test/bench/log.sh — what does the transparency log cost?
#
# Starts one throwaway PostgreSQL 15 cluster (durable commits: fsync and
# synchronous_commit at their defaults) with the TEST-ONLY log key, one
# ledger table (enable_ledger(t, 'battery'), see log_schema.sql), and grows
# the log to 10k, 100k and 1M leaves.  At each size, in one run:
#
#   1. seal() throughput: the new rows are loaded with one INSERT ... SELECT
#      (timed for context, not part of the goal), then one
#      `SELECT battledger.seal()` at READ COMMITTED integrates them
#      (10k, then 90k, then 900k leaves);
#   2. proof latency right after the seal: pgbench, one client, a random
#      argument per call (log_inclusion.sql, log_consistency.sql, log_tlog.sql);
#      average, median and p95 of the per-transaction latencies (pgbench -l),
#      plus the same calls timed alone inside the server (no round trip);
#      a sample of the proofs is checked against tree_root();
#   3. at 1M leaves: verify_log(false) (tree and checkpoints) and
#      verify_log(true) (also every sealed row against its table).
#
# Prints a markdown summary and writes it to test/bench/results/log.md.
#
# Environment:
#   BENCH_PORT            port of the private cluster (default 55442)
#   BENCH_PROOF_SECONDS   duration of each pgbench proof run (default 5)
#   BENCH_PROOF_CALLS     in-server timed calls per proof function and size (default 500)
#   BENCH_REPS            runs of each verify_log variant, the median is reported (default 3)
#   BENCH_VERIFY_TIMEOUT  cap in seconds on one verify_log run (default 600)
#   BENCH_NO_INSTALL      1: install and build nothing, use what is installed for PG_CONFIG (lib.sh)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"

BENCH_PORT=${BENCH_PORT:-55442}
PROOF_SECONDS=${BENCH_PROOF_SECONDS:-5}
PROOF_CALLS=${BENCH_PROOF_CALLS:-500}
BENCH_REPS=${BENCH_REPS:-3}
VERIFY_TIMEOUT=${BENCH_VERIFY_TIMEOUT:-600}
SIZES="10000 100000 1000000"
PROOFS="inclusion consistency tlog"
SEAL_GOAL=100000            # leaves/s
PROOF_GOAL_MS=1             # median, per call
VERIFY_GOAL=500000          # leaves/s
RESULTS=$HERE/results/log.md
COMMAND="BENCH_PROOF_SECONDS=$PROOF_SECONDS BENCH_PROOF_CALLS=$PROOF_CALLS BENCH_REPS=$BENCH_REPS test/bench/log.sh"

rps() { awk -v n="$1" -v m="$2" 'BEGIN { printf "%.0f", n / (m / 1000) }'; }   # per second from count and ms
goal_ge() { awk -v x="$1" -v g="$2" 'BEGIN { print (x >= g) ? "met" : "**missed**" }'; }
goal_le() { awk -v x="$1" -v g="$2" 'BEGIN { print (x <= g) ? "met" : "**missed**" }'; }
k() { awk -v n="$1" 'BEGIN { if (n >= 1000000) printf "%gM", n/1000000; else printf "%gk", n/1000 }'; }

GIT_STATE=$(bench_git_state)   # the commit built, and uncommitted files
bench_install                  # lib.sh; BENCH_NO_INSTALL=1 skips it
bl_scratch                  # BL_WORK must exist before bl_test_log_conf copies the key into it
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_0=$(machine_busy); OWN_0=$(children_cpu); T_0=$(now_ms)
bl_start_cluster bench_log "$BENCH_PORT" "$(bl_test_log_conf bench.example/log)
shared_buffers = 1GB
work_mem = 128MB
max_wal_size = 8GB"

psql_() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
q() { psql_ -At -c "$1"; }

say "creating benchmark schema (test/bench/log_schema.sql)"
psql_ -f "$HERE/log_schema.sql" >/dev/null
# As run.sh: write ~1 GB of WAL once so no timed step pays for new segments.
say "warming up WAL"
q "CREATE TABLE bench_log.warmup AS SELECT g, md5(g::text) AS m FROM generate_series(1, 4000000) AS g"
q "DROP TABLE bench_log.warmup"
q "CHECKPOINT"

# ---------------------------------------------------------------------------
# 2. proof latency at log size N, right after the seal.
# ---------------------------------------------------------------------------
declare -A P_CALLS P_AVG P_MED P_P95 P_STMT P_IN_MED P_IN_P95
pgb_proof() {               # pgb_proof inclusion|consistency|tlog N
  local what=$1 n=$2 prefix=$BL_WORK/pgb_$1_$2 out stats
  say "pgbench: ${what} proof at $(k "$n") leaves, 1 client, ${PROOF_SECONDS}s"
  out=$(cd "$BL_WORK" && pgbench -n -c 1 -T "$PROOF_SECONDS" -f "$HERE/log_$what.sql" -D n="$n" \
          -r -l --log-prefix="$prefix" postgres 2>&1) || { echo "$out"; exit 1; }
  grep -E '^(number of transactions actually processed|number of failed|latency average|tps)' <<<"$out" || true
  P_CALLS[$what,$n]=$(awk -F': ' '/^number of transactions actually processed/ { split($2, a, "/"); print a[1]; exit }' <<<"$out")
  P_AVG[$what,$n]=$(awk '/^latency average/ { print $4; exit }' <<<"$out")
  # -r: the SELECT's own line (the \set line is the client's, microseconds)
  P_STMT[$what,$n]=$(awk '/^ +[0-9.]+ +[0-9]+ +SELECT battledger/ { print $1; exit }' <<<"$out")
  # -l: one line per transaction, the third field its latency in microseconds
  stats=$(cat "$prefix".* | awk '{ print $3 }' | sort -n |
          awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                                    p = v[int(0.95 * NR + 0.999999)];
                                    printf "%.3f %.3f %d", m / 1000, p / 1000, NR }')
  read -r "P_MED[$what,$n]" "P_P95[$what,$n]" nlog <<<"$stats"
  [ "$nlog" = "${P_CALLS[$what,$n]}" ] || { echo "pgbench log has $nlog lines for ${P_CALLS[$what,$n]} transactions" >&2; exit 1; }
  echo "median ${P_MED[$what,$n]} ms, p95 ${P_P95[$what,$n]} ms (from the -l log)"
  rm -f "$prefix".*
  IFS='|' read -r "P_IN_MED[$what,$n]" "P_IN_P95[$what,$n]" \
    <<<"$(q "SELECT median_us, p95_us FROM bench_log.proof_us('$what', $n, $PROOF_CALLS)")"
  echo "in-server: median ${P_IN_MED[$what,$n]} µs, p95 ${P_IN_P95[$what,$n]} µs over $PROOF_CALLS calls"
}

# ---------------------------------------------------------------------------
# 1. grow the log: load, seal; then the proofs at that size.
# ---------------------------------------------------------------------------
declare -A INSERT_MS SEAL_MS SEAL_WALL SEALED PROOF_FAILS
prev=0
for n in $SIZES; do
  add=$((n - prev))
  say "loading $add ledger rows (INSERT ... SELECT, one statement)"
  INSERT_MS[$n]=$(q "SELECT bench_log.load($((prev + 1)), $n)")
  echo "${INSERT_MS[$n]} ms ($(rps "$add" "${INSERT_MS[$n]}") rows/s)"
  pending=$(q "SELECT count(*) FROM battledger.log_pending")
  [ "$pending" = "$add" ] || { echo "log_pending holds $pending rows, expected $add" >&2; exit 1; }
  q "CHECKPOINT"            # the seal starts with no dirty buffers to write
  say "seal(): $add queued rows -> $(k "$n") leaves"
  t0=$(now_ms)
  IFS='|' read -r ms before after iso <<<"$(q "SELECT ms, leaves_before, leaves_after, isolation FROM bench_log.time_seal()")"
  SEAL_WALL[$n]=$(( $(now_ms) - t0 ))
  [ "$iso" = "read committed" ] || { echo "seal() ran at $iso" >&2; exit 1; }
  if [ "$before" != "$prev" ] || [ "$after" != "$n" ]; then echo "seal(): log went from $before to $after leaves, expected $prev to $n" >&2; exit 1; fi
  [ "$(q "SELECT count(*) FROM battledger.log_pending")" = 0 ] || { echo "rows left in log_pending after seal()" >&2; exit 1; }
  SEAL_MS[$n]=$ms
  SEALED[$n]=$add
  echo "$ms ms in the server ($(rps "$add" "$ms") leaves/s); ${SEAL_WALL[$n]} ms with COMMIT and psql start-up"
  for what in $PROOFS; do pgb_proof "$what" "$n"; done
  PROOF_FAILS[$n]=$(q "SELECT bench_log.check_proofs($n, 200)")
  echo "proof check: ${PROOF_FAILS[$n]} of 400 sampled proofs failed to verify"
  prev=$n
done
N=$prev

# ---------------------------------------------------------------------------
# 3. verify_log at 1M leaves, BENCH_REPS runs of each variant (after VACUUM
#    ANALYZE, as run.sh does for verify(): tables at rest).
# ---------------------------------------------------------------------------
say "VACUUM ANALYZE of the log and the ledger table"
q "VACUUM ANALYZE battledger.log_leaf"
q "VACUUM ANALYZE battledger.log_tile"
q "VACUUM ANALYZE battledger.checkpoint"
q "VACUUM ANALYZE public.log_events"
declare -A V_MS V_RUNS V_PROBLEMS
for rows in false true; do
  runs=()
  say "verify_log($rows) at $(k "$N") leaves, $BENCH_REPS runs (cap ${VERIFY_TIMEOUT}s each)"
  for r in $(seq "$BENCH_REPS"); do
    if ! out=$(PGOPTIONS="-c statement_timeout=${VERIFY_TIMEOUT}s" \
               q "SELECT ms, problems FROM bench_log.time_verify_log($rows)" 2>&1); then
      grep -q 'statement timeout' <<<"$out" || { echo "$out" >&2; exit 1; }
      echo "  run $r: cancelled at the cap"
      runs+=(timeout)
      break
    fi
    IFS='|' read -r ms problems <<<"$out"
    echo "  run $r: $ms ms, $problems problem(s)"
    runs+=("$ms")
    V_PROBLEMS[$rows]=$problems
  done
  V_RUNS[$rows]="${runs[*]}"
  if [[ " ${runs[*]} " == *" timeout "* ]]; then V_MS[$rows]=timeout; else V_MS[$rows]=$(median "${runs[@]}"); fi
done
# The final word: everything verify_log(true) reports now (must be nothing).
FINAL_PROBLEMS=$(PGOPTIONS="-c statement_timeout=${VERIFY_TIMEOUT}s" q "SELECT count(*) FROM battledger.verify_log(true)" 2>&1) \
  || FINAL_PROBLEMS="not known (${FINAL_PROBLEMS//$'\n'/ })"
FINAL_DETAILS=$(q "SELECT format('| %s | %s | %s |', problem, ref, coalesce(detail, '')) FROM battledger.verify_log(false) LIMIT 10" 2>/dev/null || true)
LOG_STATS=$(q "SELECT format('log_leaf %s, log_tile %s, checkpoint %s rows; log tables %s on disk (with indexes)',
                             (SELECT count(*) FROM battledger.log_leaf), (SELECT count(*) FROM battledger.log_tile),
                             (SELECT count(*) FROM battledger.checkpoint),
                             pg_size_pretty(pg_total_relation_size('battledger.log_leaf') + pg_total_relation_size('battledger.log_tile')))")
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(awk -v a="$T_0" -v b="$(now_ms)" 'BEGIN { print (b - a) / 1000 }')
BUSY=$(awk -v a="$BUSY_0" -v b="$(machine_busy)" 'BEGIN { print b - a }')
OWN=$(awk -v a="$OWN_0" -v b="$(children_cpu)" -v c="$(cluster_cpu "$BL_WORK/bench_log")" 'BEGIN { print b - a + c }')
OTHER=$(awk -v b="$BUSY" -v o="$OWN" 'BEGIN { x = b - o; print (x < 0) ? 0 : x }')
echo "CPU during the run: machine $BUSY s busy, this benchmark $OWN s, other work $OTHER s, in $ELAPSED s"

# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------
summary() {
  local n what r ms flat base
  bench_report_head ": transparency log" "$COMMAND"
  bench_run_rows
  echo "| PostgreSQL | $(q 'SELECT version()') |"
  q "SELECT '| ' || name || ' | ' || current_setting(name) || ' |'
       FROM unnest(ARRAY['shared_buffers', 'work_mem', 'max_wal_size', 'checkpoint_timeout',
                         'synchronous_commit', 'fsync', 'full_page_writes', 'wal_level',
                         'default_transaction_isolation', 'autovacuum', 'jit',
                         'battledger.origin']) AS name"
  echo
  echo "## 1. seal() throughput (goal ≥ 100,000 leaves/s)"
  echo
  echo "Each step: \`SELECT bench_log.load(first, last)\` (one INSERT ... SELECT into the ledger table"
  echo "public.log_events, 1,000 chain keys, untimed for the goal), \`CHECKPOINT\`, then one"
  echo "\`SELECT ... FROM bench_log.time_seal()\`: \`battledger.seal()\` at READ COMMITTED, timed inside the"
  echo "server with clock_timestamp(); \"with COMMIT\" is the shell's wall time around that psql call"
  echo "(connection start-up and the commit's WAL flush included)."
  echo
  echo "| log size after | leaves sealed | seal() time | **leaves/s** | with COMMIT | leaves/s | goal | ledger INSERT time | INSERT rows/s |"
  echo "|---:|---:|---:|---:|---:|---:|---|---:|---:|"
  for n in $SIZES; do
    r=$(rps "${SEALED[$n]}" "${SEAL_MS[$n]}")
    echo "| $(k "$n") | ${SEALED[$n]} | $(fmt '%.1f' "${SEAL_MS[$n]}") ms | **$r** | ${SEAL_WALL[$n]} ms |" \
         "$(rps "${SEALED[$n]}" "${SEAL_WALL[$n]}") | $(goal_ge "$r" $SEAL_GOAL) | $(fmt '%.1f' "${INSERT_MS[$n]}") ms |" \
         "$(rps "${SEALED[$n]}" "${INSERT_MS[$n]}") |"
  done
  echo
  echo "## 2. Proof latency right after each seal (goal: median ≤ $PROOF_GOAL_MS ms, flat as the log grows)"
  echo
  echo "\`pgbench -n -c 1 -T $PROOF_SECONDS -f test/bench/log_<kind>.sql -D n=<size> -r -l\` over the Unix socket,"
  echo "simple protocol, one call per transaction, random argument per call (\`\\set i random(0, :n - 1)\`;"
  echo "consistency: \`\\set s1 random(1, :n)\`, proof from s1 to n; tlog: \`tlog_proof(i)\` against the latest"
  echo "checkpoint, = size n).  Median and p95 are over every transaction in pgbench's -l log (client-side"
  echo "latency: round trip, parse, plan, execute); \"SELECT\" is pgbench -r's average for the statement."
  echo "\"In server\" is $PROOF_CALLS further calls each timed alone with clock_timestamp() inside one plpgsql"
  echo "loop (\`bench_log.proof_us\`): the function's own cost."
  echo
  echo "| log size | function | calls | average | **median** | p95 | SELECT (-r) | in server median / p95 | goal |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|---|"
  for n in $SIZES; do
    for what in $PROOFS; do
      case $what in
        inclusion) f="inclusion_proof(i, n)" ;;
        consistency) f="consistency_proof(s1, n)" ;;
        tlog) f="tlog_proof(i)" ;;
      esac
      echo "| $(k "$n") | $f | ${P_CALLS[$what,$n]} | ${P_AVG[$what,$n]} ms | **${P_MED[$what,$n]} ms** |" \
           "${P_P95[$what,$n]} ms | ${P_STMT[$what,$n]} ms | ${P_IN_MED[$what,$n]} / ${P_IN_P95[$what,$n]} µs |" \
           "$(goal_le "${P_MED[$what,$n]}" $PROOF_GOAL_MS) |"
    done
  done
  echo
  echo "Flatness, median at 1M / median at 10k:"
  for what in $PROOFS; do
    base=${P_MED[$what,10000]}
    flat=$(awk -v a="${P_MED[$what,1000000]}" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
    echo "$what $flat (pgbench), $(awk -v a="${P_IN_MED[$what,1000000]}" -v b="${P_IN_MED[$what,10000]}" 'BEGIN { printf "%.2f", a / b }') (in server);"
  done | paste -sd' ' -
  echo
  echo "Sampled proofs checked with verify_inclusion / verify_consistency against tree_root() (200 + 200 per size):"
  echo "$(for n in $SIZES; do echo "$(k "$n"): ${PROOF_FAILS[$n]} failed"; done | paste -sd';' - | sed 's/;/; /g')."
  echo
  echo "## 3. verify_log() at $(k "$N") leaves (goal ≥ 500,000 leaves/s; median of $BENCH_REPS, after VACUUM ANALYZE)"
  echo
  echo "| variant | checks | median time | **leaves/s** | goal | runs (ms) | problems |"
  echo "|---|---|---:|---:|---|---|---:|"
  for rows in false true; do
    if [ "$rows" = false ]; then what="leaf hashes, every stored node, every checkpoint's root and signature"
    else what="as false, plus every sealed row re-read from its table and re-hashed"; fi
    ms=${V_MS[$rows]}
    if [ "$ms" = timeout ]; then
      echo "| verify_log($rows) | $what | > ${VERIFY_TIMEOUT} s (cancelled) | – | **missed** | ${V_RUNS[$rows]} | ${V_PROBLEMS[$rows]:-–} |"
    else
      r=$(rps "$N" "$ms")
      echo "| verify_log($rows) | $what | $(fmt '%.1f' "$ms") ms | **$r** | $(goal_ge "$r" $VERIFY_GOAL) | ${V_RUNS[$rows]} | ${V_PROBLEMS[$rows]} |"
    fi
  done
  echo
  echo "At the end: \`SELECT count(*) FROM battledger.verify_log(true)\` = **$FINAL_PROBLEMS** problem(s) (must be 0)."
  if [ -n "$FINAL_DETAILS" ]; then
    echo
    echo "| problem | ref | detail |"
    echo "|---|---:|---|"
    echo "$FINAL_DETAILS"
  fi
  echo
  echo "Log at the end: $LOG_STATS."
  echo
  echo "## Commands"
  echo
  echo "- \`$COMMAND\` (cluster on port $BENCH_PORT via test/lib/cluster.sh: \`bl_start_cluster bench_log $BENCH_PORT \"\$(bl_test_log_conf bench.example/log)\` + the settings above)"
  echo "- schema: \`psql -f test/bench/log_schema.sql\`"
  echo "- 1: \`SELECT bench_log.load(first, last)\`; \`CHECKPOINT\`; \`SELECT ms, leaves_before, leaves_after, isolation FROM bench_log.time_seal()\`"
  echo "- 2: \`pgbench -n -c 1 -T $PROOF_SECONDS -f test/bench/log_{inclusion,consistency,tlog}.sql -D n=<size> -r -l --log-prefix=...\`;"
  echo "  \`SELECT * FROM bench_log.proof_us('inclusion'|'consistency'|'tlog', <size>, $PROOF_CALLS)\`; \`SELECT bench_log.check_proofs(<size>, 200)\`"
  echo "- 3: \`VACUUM ANALYZE\` battledger.log_leaf, log_tile, checkpoint, public.log_events;"
  echo "  \`SELECT ms, problems FROM bench_log.time_verify_log(false|true)\` (\`count(*) FROM battledger.verify_log(...)\` timed in the server)"
}

mkdir -p "$(dirname "$RESULTS")"
summary > "$RESULTS"
say "summary (also in ${RESULTS#"$BL_ROOT"/})"
cat "$RESULTS"
