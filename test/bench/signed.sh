#!/usr/bin/env bash
# test/bench/signed.sh — what do signed ledger rows cost?
#
# Starts one throwaway PostgreSQL 15 cluster with durable commits (fsync and
# synchronous_commit at their defaults: on), the same settings as run.sh, and
# measures in the same run (see signed_schema.sql):
#
#   0. the baseline: `openssl speed -seconds 5 ed25519`, verifications per
#      second on one core (run before the cluster is busy, and again at the end);
#   1. single-row INSERTs of pre-signed rows (Ed25519 checked per row), pgbench,
#      1 client and 2 clients (-j 2), against the openssl figure (x1 and x2);
#      the same rows into an unsigned ledger table for comparison; and both
#      again with synchronous_commit=off, to separate the WAL flush from the CPU;
#   2. bulk INSERT ... SELECT of 20,000 pre-signed rows (one signature per row)
#      in one statement;
#   3. batch-signed bulk load: 100 batches of 1,000 rows, one transaction per
#      batch (INSERT INTO battledger.batch; INSERT the rows; COMMIT, where the
#      batch is re-checked), against the unsigned ledger loading the same rows
#      the same way (and in one statement);
#   4. battledger.verify() on every signed table.
#
# Besides wall-clock rates, every measurement reports the server backend's CPU
# time per row (from /proc): on a shared machine other work slows wall-clock
# rates, while CPU time per row, like openssl speed's figure (CPU time too),
# is much less disturbed.  The summary also says how much CPU other work used.
#
# All signatures (per row and per batch) are made BEFORE anything is timed,
# with the TEST-ONLY signer extension (test/signer), into unlogged staging
# tables.  Since 0.3.0 what a member signs names the table (signing bytes v2
# and batch manifest v2, docs/encoding.md): a row or batch signed for one
# table is refused in another.  So every signed table is created first and
# signed for on its own (the same content rows each time); the unsigned
# ledger tables take the content of the same staged rows.  Prints a markdown
# summary and writes it to test/bench/results/signed.md.
#
# Environment:
#   BENCH_SECONDS            duration of each pgbench run (default 15)
#   BENCH_PORT               port of the private cluster (default 55441)
#   BENCH_REPS               runs of each bulk load, the median is reported (default 3)
#   BENCH_STAGE_PER_CLIENT   pre-signed rows per pgbench client and table (default 200000)
#   BENCH_NO_INSTALL         1: install and build nothing, use battledger and the signer
#                            as installed for PG_CONFIG (lib.sh)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/cluster.sh
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"

BENCH_SECONDS=${BENCH_SECONDS:-15}
BENCH_PORT=${BENCH_PORT:-55441}
BENCH_REPS=${BENCH_REPS:-3}
STAGE_PER_CLIENT=${BENCH_STAGE_PER_CLIENT:-200000}
MAX_CLIENTS=2
BULK_ROWS=20000
NBATCHES=100
BATCH_SIZE=1000
BATCH_ROWS=$((NBATCHES * BATCH_SIZE))
OPENSSL_SECONDS=5
RESULTS=$HERE/results/signed.md
COMMAND="BENCH_SECONDS=$BENCH_SECONDS BENCH_REPS=$BENCH_REPS BENCH_STAGE_PER_CLIENT=$STAGE_PER_CLIENT test/bench/signed.sh"

div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rps() { awk -v n="$1" -v m="$2" 'BEGIN { printf "%.0f", n / (m / 1000) }'; }   # rows/s from rows and ms
cps() { awk -v n="$1" -v t="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.0f", n / (t / hz) }'; }   # rows per CPU second from rows and ticks
upr() { awk -v n="$1" -v t="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }'; }  # CPU µs per row
goal() { awk -v x="$1" -v g="$2" 'BEGIN { print (x >= g) ? "met" : "**missed**" }'; }
# CPU accounting helpers: lib.sh.
pm_children_ticks() {       # CPU ticks of the cluster's exited processes (its backends)
  awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$(head -n 1 "$BL_WORK/signed/postmaster.pid")/stat"
}

# ---------------------------------------------------------------------------
# 0. openssl's Ed25519 verify/s on one core (its last column; `openssl speed`
#    without -multi runs one process).
# ---------------------------------------------------------------------------
OPENSSL_CMD="openssl speed -seconds $OPENSSL_SECONDS ed25519"
openssl_verify() {
  local out v
  out=$($OPENSSL_CMD 2>/dev/null)
  v=$(awk '/EdDSA \(Ed25519\)/ { print $NF; exit }' <<<"$out")
  [ -n "$v" ] || { echo "could not parse openssl speed output:" >&2; echo "$out" >&2; return 1; }
  echo "$v"
}

GIT_STATE=$(bench_git_state)   # the commit built, and uncommitted files
bench_install signer           # lib.sh; BENCH_NO_INSTALL=1 skips it

say "baseline: $OPENSSL_CMD (one core)"
BUSY_0=$(machine_busy); OWN_0=$(children_cpu); T_0=$(now_ms)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
OSSL_1=$(openssl_verify)
echo "Ed25519 verify/s: $OSSL_1 (load average before: $LOAD_BEFORE)"

# The settings of run.sh (shared_buffers holds everything, no checkpoint in
# a timed load, the library preloaded per session so statements may cache
# chain heads).
bl_start_cluster signed "$BENCH_PORT" "shared_buffers = 1GB
session_preload_libraries = 'battledger'
max_wal_size = 8GB
checkpoint_timeout = 30min
work_mem = 128MB"

psql_() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
q() { psql_ -At -c "$1"; }

say "creating benchmark schema (test/bench/signed_schema.sql)"
psql_ -f "$HERE/signed_schema.sql" >/dev/null

# ---------------------------------------------------------------------------
# Signing, before any timing.  The signing bytes name the table, so each
# signed table is created here and gets its own signed rows: the pgbench
# tables signed_c<N>_<mode> (N x BENCH_STAGE_PER_CLIENT rows each), the bulk
# tables signed_bulk_r<r> (BULK_ROWS rows each), in one session per core;
# then one set of 100 signed batches per batch table signed_batch_r<r>.
# Table sfx's row i (content i) is staged as id BASE[sfx] + i.
# ---------------------------------------------------------------------------
TARGET_SPAN=1000000000      # bases this far apart: a client past its slice finds no row
declare -A BASE
N_BASES=0
STAGE_ROWS=0
sign_for() {                # sign_for SFX ROWS: create public.signed_SFX, sign rows 1..ROWS for it
  local sfx=$1 n=$2 tbl base per lo hi c pids=()
  tbl=$(q "SELECT bench_signed.make_table('signed', '$sfx')")
  base=$((N_BASES * TARGET_SPAN)); BASE[$sfx]=$base; N_BASES=$((N_BASES + 1))
  per=$(( (n + MAX_CLIENTS - 1) / MAX_CLIENTS ))
  for c in $(seq 0 $((MAX_CLIENTS - 1))); do
    lo=$((c * per + 1)); hi=$(( (c + 1) * per )); [ "$hi" -gt "$n" ] && hi=$n
    q "SELECT bench_signed.stage_signed('public.$tbl', $base, $lo, $hi)" >/dev/null &
    pids+=($!)
  done
  for c in "${pids[@]}"; do wait "$c"; done
  STAGE_ROWS=$((STAGE_ROWS + n))
}
N_SIGNED_TABLES=$(( 4 + BENCH_REPS ))
say "signing rows for $N_SIGNED_TABLES signed tables (one Ed25519 signature each) in $MAX_CLIENTS sessions"
t0=$(now_ms)
for mode in sync async; do
  for clients in 1 2; do sign_for "c${clients}_$mode" $((clients * STAGE_PER_CLIENT)); done
done
for r in $(seq "$BENCH_REPS"); do sign_for "bulk_r$r" "$BULK_ROWS"; done
SIGN_MS=$(( $(now_ms) - t0 ))
[ "$(q 'SELECT count(*) FROM bench_signed.stage_rows')" = "$STAGE_ROWS" ] || { echo "staging failed" >&2; exit 1; }
echo "$STAGE_ROWS rows signed in $SIGN_MS ms"

say "staging $BENCH_REPS x $NBATCHES batches of $BATCH_SIZE rows (content hashes, Merkle root, one signature per batch)"
t0=$(now_ms)
for r in $(seq "$BENCH_REPS"); do
  tbl=$(q "SELECT bench_signed.make_table('signed', 'batch_r$r')")
  q "SELECT bench_signed.stage_batch_set('public.$tbl', $r, $NBATCHES, $BATCH_SIZE)" >/dev/null
done
echo "$(q 'SELECT count(*) FROM bench_signed.stage_batches') batches, $(q 'SELECT count(*) FROM bench_signed.stage_batch_rows') rows staged in $(( $(now_ms) - t0 )) ms"
q "VACUUM ANALYZE bench_signed.stage_rows"
q "VACUUM ANALYZE bench_signed.stage_batch_rows"
q "VACUUM ANALYZE bench_signed.stage_batches"

# As run.sh: write ~1 GB of WAL once so no timed run pays for new segments.
say "warming up WAL"
q "CREATE TABLE bench_signed.warmup AS SELECT g, md5(g::text) AS m FROM generate_series(1, 4000000) AS g"
q "DROP TABLE bench_signed.warmup"
q "CHECKPOINT"

# ---------------------------------------------------------------------------
# 1. single-row inserts.  Client c's k-th transaction inserts staged row
#    BASE + c * STAGE_PER_CLIENT + k, so no row is inserted twice; the signed
#    table takes the rows signed for it, the unsigned one the same rows'
#    content.  Every run gets a fresh table; afterwards its row count must
#    equal pgbench's transaction count.
#    Backend CPU: what the cluster's exited processes used during the run
#    (the pgbench backends, once they have exited).
# ---------------------------------------------------------------------------
declare -A TPS TXNS PGB_TICKS
pgb() {                     # pgb signed|ledger CLIENTS sync|async
  local kind=$1 clients=$2 mode=$3 sfx=c${2}_$3 tbl out n rows script opts="" t0
  if [ "$kind" = signed ]; then
    tbl=signed_$sfx           # created, and its rows signed, before anything was timed
  else
    tbl=$(q "SELECT bench_signed.make_table('$kind', '$sfx')")
  fi
  script=$HERE/signed_insert.sql
  [ "$kind" = ledger ] && script=$HERE/signed_insert_unsigned.sql
  [ "$mode" = async ] && opts="-c synchronous_commit=off"
  q "CHECKPOINT"
  say "pgbench: $tbl, $clients client(s), -j $clients, ${BENCH_SECONDS}s${opts:+, $opts}"
  t0=$(pm_children_ticks)
  out=$(PGOPTIONS="$opts" pgbench -n -f "$script" -D tbl="$tbl" -D base="${BASE[$sfx]}" -D stride="$STAGE_PER_CLIENT" \
          -D n=0 -c "$clients" -j "$clients" -T "$BENCH_SECONDS" postgres 2>&1) || { echo "$out"; exit 1; }
  for _ in $(seq 50); do      # wait until the pgbench backends have exited
    [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench'")" = 0 ] && break
    sleep 0.1
  done
  sleep 0.3
  PGB_TICKS[$kind,$clients,$mode]=$(( $(pm_children_ticks) - t0 ))
  grep -E '^(number of transactions actually processed|number of failed|latency average|tps)' <<<"$out" || true
  n=$(awk -F': ' '/^number of transactions actually processed/ { split($2, a, "/"); print a[1]; exit }' <<<"$out")
  rows=$(q "SELECT count(*) FROM $tbl")
  if [ "$rows" != "$n" ]; then
    echo "$tbl holds $rows rows after $n transactions: a client ran out of staged rows" \
         "(raise BENCH_STAGE_PER_CLIENT above $STAGE_PER_CLIENT)" >&2
    exit 1
  fi
  TPS[$kind,$clients,$mode]=$(awk '/^tps = / { print $3; exit }' <<<"$out")
  TXNS[$kind,$clients,$mode]=$n
  echo "backend CPU: $(upr "$n" "${PGB_TICKS[$kind,$clients,$mode]}") µs per row"
}
for mode in sync async; do
  for clients in 1 2; do
    for kind in signed ledger; do pgb "$kind" "$clients" "$mode"; done
  done
done

# Timed procedures print "ms|cpu ticks"; runs are collected as "ms|ticks" words.
declare -A RUNS             # [name] -> " ms|ticks ms|ticks ..."
# shellcheck disable=SC2046  # one word per run, split on purpose
med_ms() { median $(for w in ${RUNS[$1]}; do echo "${w%|*}"; done); }
# shellcheck disable=SC2046
med_ticks() { median $(for w in ${RUNS[$1]}; do echo "${w#*|}"; done); }
runs_ms() { for w in ${RUNS[$1]}; do printf ' %s' "${w%|*}"; done; }

# ---------------------------------------------------------------------------
# 2. bulk insert, one signature per row: 20,000 staged rows in one statement
#    into a fresh table (signed_bulk_r<r>, signed for beforehand), timed with
#    its COMMIT inside a procedure; the same rows into an unsigned ledger
#    table beside it.
# ---------------------------------------------------------------------------
bulk20k() {                 # bulk20k signed|ledger
  local kind=$1 r out tbl cols base
  cols="battery, kind, at, soh, note"
  [ "$kind" = signed ] && cols="$cols, ledger_key_id, ledger_sig"
  say "bulk: $BULK_ROWS pre-signed rows into $kind tables, one statement, $BENCH_REPS runs"
  for r in $(seq "$BENCH_REPS"); do
    base=${BASE[bulk_r$r]}
    if [ "$kind" = signed ]; then tbl=signed_bulk_r$r; else tbl=$(q "SELECT bench_signed.make_table('$kind', 'bulk_r$r')"); fi
    q "CHECKPOINT"
    out=$(q "CALL bench_signed.timed('INSERT INTO public.$tbl ($cols) SELECT $cols FROM bench_signed.stage_rows WHERE id BETWEEN $((base + 1)) AND $((base + BULK_ROWS)) ORDER BY id')")
    [ "$(q "SELECT count(*) FROM $tbl")" = "$BULK_ROWS" ] || { echo "$tbl: wrong row count" >&2; exit 1; }
    echo "  run $r: ${out%|*} ms, backend CPU $(upr "$BULK_ROWS" "${out#*|}") µs per row"
    RUNS[bulk_$kind]+=" $out"
  done
}
bulk20k signed
bulk20k ledger

# ---------------------------------------------------------------------------
# 3. batch-signed load: per run, the same 100,000 rows (100 batches of 1,000)
#    a. into an unsigned ledger table, 100 transactions of 1,000 rows;
#    b. into a signed table as 100 signed batches, one transaction each;
#    c. into an unsigned ledger table in one statement.
#    Each timed inside a procedure, every COMMIT included; the shell's wall
#    time around the CALL of (b) is recorded too.
# ---------------------------------------------------------------------------
WALL_RUNS=()
BATCH_FAILURES=()
for r in $(seq "$BENCH_REPS"); do
  say "batch load, run $r: $NBATCHES x $BATCH_SIZE rows"
  tbl=$(q "SELECT bench_signed.make_table('ledger', 'batchtx_r$r')")
  q "CHECKPOINT"
  out=$(q "CALL bench_signed.load_batches('$tbl', $r, false)")
  echo "  unsigned ledger, $NBATCHES transactions: ${out%|*} ms, backend CPU $(upr "$BATCH_ROWS" "${out#*|}") µs per row"
  RUNS[ledger_tx]+=" $out"

  tbl=signed_batch_r$r        # created, and its batches signed, before anything was timed
  q "CHECKPOINT"
  t0=$(now_ms)
  # A refused batch (BL021 at COMMIT) is recorded and the run skipped, not fatal.
  if ! out=$(q "CALL bench_signed.load_batches('$tbl', $r, true)" 2>&1); then
    echo "$out"
    BATCH_FAILURES+=("run $r: $(grep -m1 ERROR <<<"$out") after $(q "SELECT count(*) FROM $tbl") rows committed")
    continue
  fi
  wall=$(( $(now_ms) - t0 ))
  [ "$(q "SELECT count(*) FROM $tbl")" = "$BATCH_ROWS" ] || { echo "$tbl: wrong row count" >&2; exit 1; }
  echo "  signed batches, $NBATCHES transactions: ${out%|*} ms (shell wall time $wall ms), backend CPU $(upr "$BATCH_ROWS" "${out#*|}") µs per row"
  RUNS[signed_tx]+=" $out"
  WALL_RUNS+=("$wall")

  tbl=$(q "SELECT bench_signed.make_table('ledger', 'batch1_r$r')")
  q "CHECKPOINT"
  out=$(q "CALL bench_signed.timed('INSERT INTO public.$tbl (battery, kind, at, soh, note) SELECT battery, kind, at, soh, note FROM bench_signed.stage_batch_rows WHERE rep = $r ORDER BY batch_no, i')")
  echo "  unsigned ledger, one statement: ${out%|*} ms, backend CPU $(upr "$BATCH_ROWS" "${out#*|}") µs per row"
  RUNS[ledger_one]+=" $out"
done
[ ${#WALL_RUNS[@]} -gt 0 ] || { echo "every signed batch load was refused" >&2; exit 1; }
WALL_MS=$(median "${WALL_RUNS[@]}")

# ---------------------------------------------------------------------------
# 4. verify() on every signed table (after VACUUM ANALYZE, as run.sh), and on
#    battledger.batch (itself a ledger table).
# ---------------------------------------------------------------------------
say "verify()"
# verify() twice in one fresh session per table: the first call finds the key
# cache empty, the second finds it filled (both should report nothing).
VERIFY_ROWS=()
for tbl in $(q "SELECT l.tbl::text FROM battledger.ledger_tables l
                WHERE l.signer_roles IS NOT NULL AND l.tbl::text LIKE 'signed\_%' ORDER BY 1") battledger.batch; do
  q "VACUUM ANALYZE $tbl"
  rows=$(q "SELECT count(*) FROM $tbl")
  out=$(psql_ -At -c "SELECT ms, problems, cpu FROM bench_signed.time_verify('$tbl', 1)" \
                  -c "SELECT ms, problems, cpu FROM bench_signed.time_verify('$tbl', 2)")
  { IFS='|' read -r ms problems ticks; IFS='|' read -r ms2 problems2 _; } <<<"$out"
  echo "  $tbl: $rows rows, $ms ms ($ticks CPU ticks), $problems problem(s); second call in the session: $ms2 ms, $problems2 problem(s)"
  VERIFY_ROWS+=("$tbl|$rows|$ms|$problems|$ticks|$problems2")
done
VERIFY_DETAILS=$(q "SELECT format('| %s | %s | %s | %s | %s | %s |', tbl, call_no, coalesce(chain_key, ''), coalesce(seq::text, ''), problem, detail)
                      FROM (SELECT *, row_number() OVER (PARTITION BY tbl, call_no ORDER BY seq) AS k FROM bench_signed.verify_log) v
                     WHERE k <= 5 ORDER BY tbl, call_no, seq")

say "baseline again: $OPENSSL_CMD"
OSSL_2=$(openssl_verify)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(awk -v a="$T_0" -v b="$(now_ms)" 'BEGIN { print (b - a) / 1000 }')
BUSY=$(awk -v a="$BUSY_0" -v b="$(machine_busy)" 'BEGIN { print b - a }')
OWN=$(awk -v a="$OWN_0" -v b="$(children_cpu)" -v c="$(cluster_cpu "$BL_WORK/signed")" 'BEGIN { print b - a + c }')
OTHER=$(awk -v b="$BUSY" -v o="$OWN" 'BEGIN { x = b - o; print (x < 0) ? 0 : x }')
echo "Ed25519 verify/s: $OSSL_2"
echo "CPU during the run: machine $BUSY s busy, this benchmark $OWN s, other work $OTHER s, in $ELAPSED s"
# The one-core figure the ratios use: the higher of the two runs (the stricter comparison).
OSSL=$(awk -v a="$OSSL_1" -v b="$OSSL_2" 'BEGIN { print (a > b) ? a : b }')

# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------
summary() {
  local kind clients mode tps r c line tbl rows ms problems ticks problems2 total_problems=0 one two label n
  bench_report_head ": signed rows" "$COMMAND"
  bench_run_rows
  echo "| OpenSSL | $(openssl version) |"
  echo "| PostgreSQL | $(q 'SELECT version()') |"
  q "SELECT '| ' || name || ' | ' || current_setting(name) || ' |'
       FROM unnest(ARRAY['shared_buffers', 'session_preload_libraries', 'synchronous_commit', 'fsync', 'wal_level',
                         'max_wal_size', 'checkpoint_timeout', 'full_page_writes', 'work_mem']) AS name"
  echo
  echo "Rates are wall-clock unless marked CPU. \"Backend CPU\" is the server backend's user + system time"
  echo "(/proc, ${CLK_TCK} Hz ticks); openssl speed's figure is CPU time too, so the CPU ratios compare like with"
  echo "like even when other work shares the machine. Goals are judged on the wall-clock figures, as set."
  echo
  echo "## Baseline: \`$OPENSSL_CMD\`"
  echo
  echo "| run | Ed25519 verify/s (one core) | µs per verification |"
  echo "|---|---:|---:|"
  echo "| before the cluster work | $(fmt '%.0f' "$OSSL_1") | $(awk -v o="$OSSL_1" 'BEGIN{printf "%.0f", 1e6/o}') |"
  echo "| after | $(fmt '%.0f' "$OSSL_2") | $(awk -v o="$OSSL_2" 'BEGIN{printf "%.0f", 1e6/o}') |"
  echo "| **used for the ratios (the higher)** | **$(fmt '%.0f' "$OSSL")** | $(awk -v o="$OSSL" 'BEGIN{printf "%.0f", 1e6/o}') |"
  echo
  echo "Signing before the timed parts (test signer, $MAX_CLIENTS sessions; rows signed for each signed table): $STAGE_ROWS rows in $(fmt '%.1f' "$(awk -v m="$SIGN_MS" 'BEGIN{print m/1000}')") s."
  echo
  echo "## 1. Single-row INSERT of a pre-signed row, one row per transaction (pgbench -n, ${BENCH_SECONDS} s)"
  echo
  echo "Script \`test/bench/signed_insert.sql\` (signed) / \`signed_insert_unsigned.sql\` (same staged rows, content"
  echo "columns only, unsigned ledger table); 1,000 chain keys; client c's k-th transaction inserts staged row"
  echo "base + c x $STAGE_PER_CLIENT + k (signed for that table). rows/s = pgbench tps (= rows: each table's row count was checked)."
  echo "For 2 clients the openssl ratio is against 2 x the one-core figure."
  echo
  echo "| commits | table | clients (-j) | rows/s | vs unsigned ledger | vs openssl verify/s | goal | backend CPU µs/row | rows per backend CPU s vs openssl |"
  echo "|---|---|---:|---:|---:|---:|---|---:|---:|"
  for mode in sync async; do
    [ $mode = sync ] && label=durable || label="synchronous_commit=off"
    for clients in 1 2; do
      for kind in signed ledger; do
        tps=${TPS[$kind,$clients,$mode]}
        n=${TXNS[$kind,$clients,$mode]}
        c=$(upr "$n" "${PGB_TICKS[$kind,$clients,$mode]}")
        if [ "$kind" = signed ]; then
          one=$(div "$tps" "$(awk -v o="$OSSL" -v c="$clients" 'BEGIN{print o*c}')")
          if [ "$clients" = 1 ] && [ "$mode" = sync ]; then two="≥ 0.8: $(goal "$one" 0.8)"; else two="(info)"; fi
          echo "| $label | signed | $clients ($clients) | $(fmt '%.0f' "$tps") | $(div "$tps" "${TPS[ledger,$clients,$mode]}")x |" \
               "$one$([ "$clients" = 2 ] && echo " (of 2x)") | $two | $c | $(div "$(cps "$n" "${PGB_TICKS[$kind,$clients,$mode]}")" "$OSSL") |"
        else
          echo "| $label | unsigned ledger | $clients ($clients) | $(fmt '%.0f' "$tps") | 1.00x | – | | $c | |"
        fi
      done
    done
  done
  echo
  echo "The synchronous_commit=off rows (PGOPTIONS, session level) are supplementary: they take the commit's"
  echo "WAL flush out. Per row, 1 client, durable: signed $(awk -v t="${TPS[signed,1,sync]}" 'BEGIN{printf "%.0f", 1e6/t}') µs wall, unsigned ledger" \
       "$(awk -v t="${TPS[ledger,1,sync]}" 'BEGIN{printf "%.0f", 1e6/t}') µs wall; one openssl verification $(awk -v o="$OSSL" 'BEGIN{printf "%.0f", 1e6/o}') µs;" \
       "the 0.8 goal allows $(awk -v o="$OSSL" 'BEGIN{printf "%.0f", 1e6/(0.8*o)}') µs per row in all."
  echo
  echo "## 2. Bulk INSERT ... SELECT of $BULK_ROWS pre-signed rows, one signature per row, one statement (median of $BENCH_REPS)"
  echo
  echo "| table | time (statement + COMMIT) | rows/s | vs openssl verify/s | goal | backend CPU µs/row | rows per backend CPU s | vs openssl (CPU) |"
  echo "|---|---:|---:|---:|---|---:|---:|---:|"
  ms=$(med_ms bulk_signed); ticks=$(med_ticks bulk_signed); r=$(rps "$BULK_ROWS" "$ms"); c=$(cps "$BULK_ROWS" "$ticks")
  echo "| signed | $(fmt '%.1f' "$ms") ms | $r | $(div "$r" "$OSSL") | ≥ 0.8: $(goal "$(div "$r" "$OSSL")" 0.8) |" \
       "$(upr "$BULK_ROWS" "$ticks") | $c | $(div "$c" "$OSSL") |"
  ms=$(med_ms bulk_ledger); ticks=$(med_ticks bulk_ledger)
  echo "| unsigned ledger (same rows, content only) | $(fmt '%.1f' "$ms") ms | $(rps "$BULK_ROWS" "$ms") | – | | $(upr "$BULK_ROWS" "$ticks") | $(cps "$BULK_ROWS" "$ticks") | |"
  echo
  echo "Runs (ms): signed$(runs_ms bulk_signed); unsigned$(runs_ms bulk_ledger)."
  echo
  echo "## 3. Batch-signed load: $NBATCHES batches x $BATCH_SIZE rows = $BATCH_ROWS rows, one transaction per batch (median of $BENCH_REPS)"
  echo
  echo "Each signed transaction: \`INSERT INTO battledger.batch\` (manifest signature checked), \`INSERT INTO t SELECT\`"
  echo "the batch's $BATCH_SIZE rows, \`COMMIT\` (deferred check re-reads and re-hashes the rows). Timed in"
  echo "\`bench_signed.load_batches\` from before the first batch to after the last COMMIT."
  echo
  echo "| load | time | rows/s | signed vs this | goal | backend CPU µs/row | rows per backend CPU s | signed vs this (CPU) |"
  echo "|---|---:|---:|---:|---|---:|---:|---:|"
  ms=$(med_ms signed_tx); ticks=$(med_ticks signed_tx); r=$(rps "$BATCH_ROWS" "$ms")
  echo "| **signed batches**, $NBATCHES transactions | $(fmt '%.1f' "$ms") ms | **$r** | – | ≥ 50,000 rows/s: $(goal "$r" 50000) |" \
       "$(upr "$BATCH_ROWS" "$ticks") | $(cps "$BATCH_ROWS" "$ticks") | – |"
  for k in ledger_tx ledger_one; do
    [ $k = ledger_tx ] && label="unsigned ledger, same rows, $NBATCHES transactions" || label="unsigned ledger, same rows, one statement"
    one=$(div "$(med_ms $k)" "$(med_ms signed_tx)")
    two=$(div "$(med_ticks $k)" "$(med_ticks signed_tx)")
    echo "| $label | $(fmt '%.1f' "$(med_ms $k)") ms | $(rps "$BATCH_ROWS" "$(med_ms $k)") |" \
         "$([ $k = ledger_tx ] && echo "**${one}x**" || echo "${one}x") | ≥ 0.5: $(goal "$one" 0.5) |" \
         "$(upr "$BATCH_ROWS" "$(med_ticks $k)") | $(cps "$BATCH_ROWS" "$(med_ticks $k)") | ${two}x |"
  done
  echo
  echo "Runs (ms): signed$(runs_ms signed_tx); unsigned 100 tx$(runs_ms ledger_tx); unsigned 1 statement$(runs_ms ledger_one)."
  echo "Shell wall time around the signed CALL (connection included): median $WALL_MS ms ($(rps "$BATCH_ROWS" "$WALL_MS") rows/s)."
  if [ ${#BATCH_FAILURES[@]} -gt 0 ]; then
    echo
    echo "**Signed batch loads refused** (those runs are left out of the medians):"
    echo
    for line in "${BATCH_FAILURES[@]}"; do echo "- $line"; done
  fi
  echo
  echo "## 4. battledger.verify() (after VACUUM ANALYZE; two calls in one new session per table)"
  echo
  echo "| table | rows | time (1st call) | rows/s | vs openssl verify/s | rows per backend CPU s | vs openssl (CPU) | problems (1st call) | problems (2nd call) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for line in "${VERIFY_ROWS[@]}"; do
    IFS='|' read -r tbl rows ms problems ticks problems2 <<<"$line"
    r=$(rps "$rows" "$ms")
    c=$( [ "$ticks" -gt 0 ] && cps "$rows" "$ticks" || echo "–")
    case $tbl in
      *batch*) one="– (batches)"; two="–" ;;
      *) one=$(div "$r" "$OSSL"); two=$(div "$c" "$OSSL") ;;
    esac
    echo "| $tbl | $rows | $(fmt '%.1f' "$ms") ms | $r | $one | $c | $two | $problems | $problems2 |"
    total_problems=$((total_problems + problems + problems2))
  done
  echo
  echo "Problems in total: **$total_problems** (must be 0)."
  if [ -n "$VERIFY_DETAILS" ]; then
    echo
    echo "Problems reported (at most 5 per table and call):"
    echo
    echo "| table | call | chain key | seq | problem | detail |"
    echo "|---|---:|---|---|---|---|"
    echo "$VERIFY_DETAILS"
  fi
  echo
  echo "## Commands"
  echo
  echo "- \`$COMMAND\` (cluster on port $BENCH_PORT via test/lib/cluster.sh; signer: \`make -s -C test/signer with_llvm=no && make -s -C test/signer with_llvm=no install\`)"
  echo "- baseline: \`$OPENSSL_CMD\` (verify/s, last column of the Ed25519 line)"
  echo "- 1: \`pgbench -n -f test/bench/signed_insert.sql -D tbl=signed_c<N>_sync -D base=<base> -D stride=$STAGE_PER_CLIENT -D n=0 -c <N> -j <N> -T $BENCH_SECONDS\`"
  echo "- 2: \`CALL bench_signed.timed('INSERT INTO signed_bulk_r<r> (...) SELECT ... FROM bench_signed.stage_rows WHERE id BETWEEN <base> + 1 AND <base> + $BULK_ROWS')\`"
  echo "- 3: \`CALL bench_signed.load_batches('signed_batch_r<r>', <r>, true)\`; unsigned: \`load_batches('ledger_batchtx_r<r>', <r>, false)\`"
  echo "- 4: \`SELECT count(*) FROM battledger.verify(tbl)\` (in \`bench_signed.time_verify\`), twice per session"
}

mkdir -p "$(dirname "$RESULTS")"
summary > "$RESULTS"
say "summary (also in ${RESULTS#"$BL_ROOT"/})"
cat "$RESULTS"
