#!/usr/bin/env bash
# test/bench/join.sh — how long does a new member take to join a registry of
# BENCH_ROWS rows, and how fast does a member that was offline catch up,
# against plain logical replication of the same tables in the same run?
#
# Two throwaway PostgreSQL 15 clusters on this machine (durable commits),
# each a member with wal_level = logical and its own log key:
#   P  the registry, origin 'pub.example/log', port BENCH_PORT;
#   S  the joining member, origin 'sub.example/log', port BENCH_PORT + 1.
# Both run test/bench/join_schema.sql.  At P (untimed): one fleet operator
# with BENCH_BATTERIES batteries in service, then BENCH_ROWS usage reports
# (soh_reported) uploaded in signed batches of BENCH_BATCH rows (the way
# usage data reaches a registry: test/bench/registry.sh), then seal().  The
# baseline tables plain_event, plain_batch, plain_leaf, plain_checkpoint get
# the same rows, every column, and are published by a plain publication.
#
#   1. join: at S, battledger.join() and its CREATE SUBSCRIPTION (copy_data),
#      timed until every table of the subscription is copied (state r) and
#      the log is witnessed up to P's latest checkpoint; then at once
#      verify_member('pub.example/log') (must find nothing), timed, on tables
#      autovacuum has usually not analyzed yet (the report says whether it
#      had; BENCH_ANALYZE=1 runs ANALYZE first, timed, for comparison).
#      Baseline: CREATE SUBSCRIPTION plain_sub (copy_data) of the plain
#      tables, timed until every table is copied.  One after the other.
#   2. catch-up: S stopped (pg_ctl stop -m fast; plain_sub disabled first);
#      P writes, three times: BENCH_CATCHUP batch-signed rows as fast as it
#      can; BENCH_CATCHUP_SIGNED per-row-signed rows in transactions of 100;
#      and, the scaled-down "hour offline", per-row-signed rows at a fixed
#      BENCH_RATE rows/s for BENCH_OFFLINE seconds (pgbench --rate, 2
#      clients, one row per durable transaction, as an application writes).
#      P seals after each; the plain tables get the same rows.  S started:
#      timed from pg_ctl start until S holds every row and has witnessed P's
#      latest checkpoint; then plain_sub enabled, timed until S's plain
#      tables hold every row.  The rate is rows/s caught up.
#
# Uses the extension, the CLI and the TEST-ONLY signer as installed (build
# nothing): PG_BIN/PG_CONFIG name the PostgreSQL they are installed in.
# Writes a markdown summary to test/bench/results/join.md.
#
# Environment (the defaults are small, for a run of a minute or two; the
# figures in docs/benchmarks.md were taken with BENCH_ROWS=1000000
# BENCH_CATCHUP=200000 BENCH_CATCHUP_SIGNED=20000 BENCH_BATTERIES=1000
# BENCH_OFFLINE=300 BENCH_RATE=200):
#   BENCH_ROWS            rows of the registry S joins (default 20000)
#   BENCH_BATCH           rows per signed batch (default 1000)
#   BENCH_BATTERIES       batteries (default 200)
#   BENCH_CATCHUP         batch-signed rows written while S is offline (default 10000)
#   BENCH_CATCHUP_SIGNED  per-row-signed rows written while S is offline (default 1000)
#   BENCH_OFFLINE         seconds S is offline while P writes at BENCH_RATE (default 20)
#   BENCH_RATE            per-row-signed rows/s P writes meanwhile (default 100)
#   BENCH_ANALYZE         1: ANALYZE at S before the first verify_member() (default 0)
#   BENCH_PORT            port of P; S uses BENCH_PORT + 1 (default 55491)
#   BENCH_TIMEOUT         seconds to wait for any one step (default 1800)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"

BENCH_ROWS=${BENCH_ROWS:-20000}
BENCH_BATCH=${BENCH_BATCH:-1000}
BENCH_BATTERIES=${BENCH_BATTERIES:-200}
BENCH_CATCHUP=${BENCH_CATCHUP:-10000}
BENCH_CATCHUP_SIGNED=${BENCH_CATCHUP_SIGNED:-1000}
BENCH_OFFLINE=${BENCH_OFFLINE:-20}
BENCH_RATE=${BENCH_RATE:-100}
BENCH_ANALYZE=${BENCH_ANALYZE:-0}
BENCH_PORT=${BENCH_PORT:-55491}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1800}
CLI=${BATTLEDGER_CLI:-$BL_ROOT/bin/battledger}
DB=bench
M=fleet.join
RESULTS=$HERE/results/join.md
COMMAND="BENCH_ROWS=$BENCH_ROWS BENCH_CATCHUP=$BENCH_CATCHUP BENCH_CATCHUP_SIGNED=$BENCH_CATCHUP_SIGNED BENCH_BATTERIES=$BENCH_BATTERIES BENCH_OFFLINE=$BENCH_OFFLINE BENCH_RATE=$BENCH_RATE BENCH_ANALYZE=$BENCH_ANALYZE test/bench/join.sh"
[ $((BENCH_ROWS % BENCH_BATCH)) = 0 ] && [ $((BENCH_CATCHUP % BENCH_BATCH)) = 0 ] \
  || { echo "BENCH_ROWS and BENCH_CATCHUP must be multiples of BENCH_BATCH" >&2; exit 1; }

rps() { awk -v n="$1" -v m="$2" 'BEGIN { printf "%.0f", (m > 0) ? n / (m / 1000) : 0 }'; }
sec() { awk -v m="$1" 'BEGIN { printf "%.1f", m / 1000 }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

GIT_STATE=$(bench_git_state)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_0=$(machine_busy); OWN_0=$(children_cpu); T_0=$(now_ms)

bl_scratch
W=$BL_WORK/join_keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([p]=$BENCH_PORT [s]=$((BENCH_PORT + 1))) ORIGIN=([p]=pub.example/log [s]=sub.example/log)
declare -A NAME=([p]=join_pub [s]=join_sub)
for m in p s; do
  "$CLI" keygen --out "$W/$m-log" >/dev/null
  "$CLI" keygen --out "$W/$m-witness" >/dev/null
  [ "$(id -u)" = 0 ] && chown postgres: "$W/$m-log.key" "$W/$m-witness.key"
  say "starting ${NAME[$m]} (origin ${ORIGIN[$m]}, port ${PORT[$m]})"
  bl_start_cluster "${NAME[$m]}" "${PORT[$m]}" "wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
max_logical_replication_workers = 8
max_worker_processes = 16
shared_buffers = 512MB
max_wal_size = 8GB
checkpoint_timeout = 30min
work_mem = 64MB
maintenance_work_mem = 256MB
# the launcher starts apply workers at most once per this interval (default
# 5 s): the plain subscription, enabled right after S caught up, would
# otherwise wait out the interval the battledger subscription's start began
wal_retrieve_retry_interval = 200ms
battledger.origin = '${ORIGIN[$m]}'
battledger.log_key_file = '$W/$m-log.key'
battledger.witness_key_file = '$W/$m-witness.key'"
  createdb -h "$BL_WORK" -p "${PORT[$m]}" -U postgres "$DB"
done
psql_() { local m=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[$m]}" -U postgres -d "$DB" "$@"; }
qp() { psql_ p -At -c "$1"; }
qs() { psql_ s -At -c "$1"; }
# wait_s SQL: until S's query returns t; the elapsed ms since T is printed
wait_s() {
  local i
  for i in $(seq 1 $((BENCH_TIMEOUT * 10))); do
    [ "$(qs "$1" 2>/dev/null)" = t ] && return 0
    sleep 0.1
  done
  echo "timed out at S waiting for: $1" >&2
  qs "SELECT * FROM battledger.rejections" >&2 || true
  qs "SELECT subname, subenabled FROM pg_subscription" >&2 || true
  qs "SELECT srrelid::regclass, srsubstate FROM pg_subscription_rel" >&2 || true
  exit 1
}
for m in p s; do psql_ "$m" -f "$HERE/join_schema.sql" >/dev/null; done

# ---------------------------------------------------------------------------
# The registry at P (untimed)
# ---------------------------------------------------------------------------
say "P: $M with $BENCH_BATTERIES batteries in service (per-row signed)"
qp "SELECT bench_join.setup('$M', $BENCH_BATTERIES)"
say "P: staging $BENCH_ROWS + $BENCH_CATCHUP usage reports in signed batches of $BENCH_BATCH"
t0=$(now_ms)
qp "SELECT bench_join.stage('$M', 'base', $((BENCH_ROWS / BENCH_BATCH)), $BENCH_BATCH, $BENCH_BATTERIES)"
qp "SELECT bench_join.stage('$M', 'off', $((BENCH_CATCHUP / BENCH_BATCH)), $BENCH_BATCH, $BENCH_BATTERIES)" >/dev/null
echo "staged in $(( $(now_ms) - t0 )) ms"
say "P: uploading $BENCH_ROWS rows, then seal()"
t0=$(now_ms)
qp "CALL bench_join.load('base')"
LOAD_MS=$(( $(now_ms) - t0 ))
t0=$(now_ms)
qp "SELECT battledger.seal()" >/dev/null
SEAL_MS=$(( $(now_ms) - t0 ))
qp "SELECT bench_join.copy_plain()" >/dev/null
for t in battledger.battery_event battledger.batch battledger.log_leaf battledger.checkpoint plain_event plain_batch plain_leaf plain_checkpoint; do
  qp "VACUUM ANALYZE $t"
done
qp "CHECKPOINT"
P_EVENTS=$(qp "SELECT count(*) FROM battledger.battery_event")
P_LEAVES=$(qp "SELECT count(*) FROM battledger.log_leaf")
P_BYTES=$(qp "SELECT pg_size_pretty(sum(pg_total_relation_size(t))) FROM unnest(ARRAY['battledger.battery_event', 'battledger.batch', 'battledger.log_leaf', 'battledger.checkpoint']::regclass[]) t")
P_PLAIN_BYTES=$(qp "SELECT pg_size_pretty(sum(pg_total_relation_size(t))) FROM unnest(ARRAY['plain_event', 'plain_batch', 'plain_leaf', 'plain_checkpoint']::regclass[]) t")
echo "P: $P_EVENTS events ($(rps "$BENCH_ROWS" "$LOAD_MS") rows/s uploaded), $P_LEAVES leaves (seal $SEAL_MS ms); $P_BYTES with indexes (plain copies: $P_PLAIN_BYTES)"

qp "SELECT battledger.publish_member()" >/dev/null
qp "CREATE PUBLICATION plain_pub FOR TABLE plain_event, plain_batch, plain_leaf, plain_checkpoint WITH (publish = 'insert')"
LOGV=$(qp "SELECT battledger.log_vkey()"); WITV=$(qp "SELECT battledger.witness_vkey()")
CONN="host=$BL_WORK port=${PORT[p]} dbname=$DB user=postgres"
P_TREE() { qp "SELECT max(tree_size) FROM battledger.checkpoint"; }

# ---------------------------------------------------------------------------
# 1. join
# ---------------------------------------------------------------------------
say "1. S joins P (battledger.join, copy_data)"
qs "CHECKPOINT"
t0=$(now_ms)
psql_ s -v origin="${ORIGIN[p]}" -v conn="$CONN" -v lv="$LOGV" -v wv="$WITV" >/dev/null <<'SQL'
SELECT battledger.join(:'origin', :'conn', :'lv', :'wv') \gexec
SQL
SUB=$(qs "SELECT subscription FROM battledger.consortium_member WHERE origin = '${ORIGIN[p]}'")
wait_s "SELECT bool_and(r.srsubstate = 'r') AND count(*) > 0 FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subname = '$SUB'"
JOIN_COPY_MS=$(( $(now_ms) - t0 ))
wait_s "SELECT coalesce(max(tree_size), 0) = $(P_TREE) FROM battledger.peer_checkpoint WHERE origin = '${ORIGIN[p]}'"
JOIN_MS=$(( $(now_ms) - t0 ))
S_EVENTS=$(qs "SELECT count(*) FROM battledger.battery_event WHERE ledger_origin = '${ORIGIN[p]}'")
[ "$S_EVENTS" = "$P_EVENTS" ] || { echo "S holds $S_EVENTS of P's $P_EVENTS events" >&2; exit 1; }
echo "copied in $JOIN_COPY_MS ms, witnessed in $JOIN_MS ms"
# verify_member() right after the join, as a DBA would run it: the copy
# leaves the tables without statistics until autovacuum gets to them (up to
# a minute later), which made it quadratic before 0.5.0 (it matched leaves
# to rows by a join planned as a nested loop); BENCH_ANALYZE=1 analyzes first
ANALYZE_MS=0
STATS=$(qs "SELECT CASE WHEN last_analyze IS NULL AND last_autoanalyze IS NULL THEN 'none (not analyzed yet)' ELSE 'analyzed' END
              FROM pg_stat_user_tables WHERE relid = 'battledger.battery_event'::regclass")
if [ "$BENCH_ANALYZE" = 1 ]; then
  t0=$(now_ms)
  qs "ANALYZE"
  ANALYZE_MS=$(( $(now_ms) - t0 ))
  STATS="analyzed by BENCH_ANALYZE=1 ($(sec "$ANALYZE_MS") s)"
fi
t0=$(now_ms)
VM_PROBLEMS=$(qs "SELECT count(*) FROM battledger.verify_member('${ORIGIN[p]}')")
VERIFY_MS=$(( $(now_ms) - t0 ))
REJ1=$(qs "SELECT count(*) FROM battledger.rejections")
echo "verify_member: $VM_PROBLEMS problem(s) in $VERIFY_MS ms (statistics of battery_event at S: $STATS); rejections: $REJ1"
[ "$VM_PROBLEMS:$REJ1" = 0:0 ] || { qs "SELECT * FROM battledger.verify_member('${ORIGIN[p]}') LIMIT 10" >&2; exit 1; }

say "1. baseline: S subscribes to plain_pub (copy_data)"
qs "CHECKPOINT"
t0=$(now_ms)
psql_ s -v conn="$CONN" >/dev/null <<'SQL'
CREATE SUBSCRIPTION plain_sub CONNECTION :'conn' PUBLICATION plain_pub WITH (copy_data = true);
SQL
wait_s "SELECT bool_and(r.srsubstate = 'r') AND count(*) = 4 FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subname = 'plain_sub'"
PLAIN_JOIN_MS=$(( $(now_ms) - t0 ))
[ "$(qs "SELECT count(*) FROM plain_event")" = "$P_EVENTS" ] || { echo "plain_event incomplete" >&2; exit 1; }
echo "plain copy in $PLAIN_JOIN_MS ms"

# ---------------------------------------------------------------------------
# 2. catch-up after S was offline
# ---------------------------------------------------------------------------
declare -A CU_ROWS CU_MS CU_PLAIN_MS CU_P_MS
catchup() {                 # catchup KIND ROWS: KIND batch | signed
  local kind=$1 rows=$2 t0 pe pl
  say "2. $kind: S offline while P writes $rows rows"
  qs "ALTER SUBSCRIPTION plain_sub DISABLE"
  as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/${NAME[s]}" -m fast stop >/dev/null
  t0=$(now_ms)
  if [ "$kind" = batch ]; then
    qp "CALL bench_join.load('off')"
  elif [ "$kind" = steady ]; then
    # one per-row-signed row per durable transaction, at a fixed rate
    as_pg "$PG_BIN/pgbench" -n -h "$BL_WORK" -p "${PORT[p]}" -U postgres -c 2 -j 2 -R "$BENCH_RATE" -T "$BENCH_OFFLINE" \
      -D nbat="$BENCH_BATTERIES" -f "$HERE/join_steady.sql" "$DB" > "$BL_WORK/steady.out" 2>&1 \
      || { cat "$BL_WORK/steady.out" >&2; exit 1; }
    rows=$(( $(qp "SELECT count(*) FROM battledger.battery_event") - $(qp "SELECT count(*) FROM plain_event") ))
  else
    qp "CALL bench_join.load_signed('$M', $rows, 100, $BENCH_BATTERIES)"
  fi
  CU_P_MS[$kind]=$(( $(now_ms) - t0 ))
  qp "SELECT battledger.seal()" >/dev/null
  pe=$(qp "SELECT bench_join.copy_plain()")
  pl=$(qp "SELECT count(*) FROM plain_leaf")
  qp "CHECKPOINT"
  CU_ROWS[$kind]=$rows
  t0=$(now_ms)
  as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/${NAME[s]}" -l "$BL_WORK/${NAME[s]}.log" -w start >/dev/null
  wait_s "SELECT count(*) = $pe FROM battledger.battery_event WHERE ledger_origin = '${ORIGIN[p]}'"
  wait_s "SELECT coalesce(max(tree_size), 0) = $(P_TREE) FROM battledger.peer_checkpoint WHERE origin = '${ORIGIN[p]}'"
  CU_MS[$kind]=$(( $(now_ms) - t0 ))
  t0=$(now_ms)
  qs "ALTER SUBSCRIPTION plain_sub ENABLE"
  wait_s "SELECT (SELECT count(*) = $pe FROM plain_event) AND (SELECT count(*) = $pl FROM plain_leaf)"
  CU_PLAIN_MS[$kind]=$(( $(now_ms) - t0 ))
  echo "battledger: $rows rows caught up in ${CU_MS[$kind]} ms ($(rps "$rows" "${CU_MS[$kind]}") rows/s); plain: ${CU_PLAIN_MS[$kind]} ms ($(rps "$rows" "${CU_PLAIN_MS[$kind]}") rows/s)"
}
catchup batch "$BENCH_CATCHUP"
catchup signed "$BENCH_CATCHUP_SIGNED"
catchup steady 0
t0=$(now_ms)
VM2=$(qs "SELECT count(*) FROM battledger.verify_member('${ORIGIN[p]}')")
VERIFY2_MS=$(( $(now_ms) - t0 ))
REJ2=$(qs "SELECT count(*) FROM battledger.rejections")
SAME=$([ "$(qp "SELECT md5(string_agg(ledger_hash::text, ',' ORDER BY ledger_hash::text)) FROM battledger.battery_event")" = \
         "$(qs "SELECT md5(string_agg(ledger_hash::text, ',' ORDER BY ledger_hash::text)) FROM battledger.battery_event WHERE ledger_origin = '${ORIGIN[p]}'")" ] && echo yes || echo "**no**")
echo "after catching up: verify_member $VM2 problem(s) ($VERIFY2_MS ms), rejections $REJ2, same rows: $SAME"
[ "$VM2:$REJ2:$SAME" = 0:0:yes ] || exit 1

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(awk -v a="$T_0" -v b="$(now_ms)" 'BEGIN { print (b - a) / 1000 }')
BUSY=$(awk -v a="$BUSY_0" -v b="$(machine_busy)" 'BEGIN { print b - a }')
OWN=$(awk -v a="$OWN_0" -v b="$(children_cpu)" -v c="$(cluster_cpu "$BL_WORK/${NAME[p]}")" -v d="$(cluster_cpu "$BL_WORK/${NAME[s]}")" 'BEGIN { print b - a + c + d }')
OTHER=$(awk -v b="$BUSY" -v o="$OWN" 'BEGIN { x = b - o; print (x < 0) ? 0 : x }')

summary() {
  bench_report_head ": joining and catching up" "$COMMAND"
  bench_run_rows
  echo "| PostgreSQL | $(qp 'SELECT version()') |"
  echo "| members | P \`${ORIGIN[p]}\` and S \`${ORIGIN[s]}\`, both clusters on this machine; shared_buffers 512MB, durable commits |"
  echo
  echo "The registry at P: $BENCH_BATTERIES batteries (manufactured, placed on the market, installed; per-row signed)"
  echo "and $BENCH_ROWS usage reports uploaded in signed batches of $BENCH_BATCH rows ($(rps "$BENCH_ROWS" "$LOAD_MS") rows/s), sealed"
  echo "($P_LEAVES leaves, $(sec "$SEAL_MS") s): battery_event, batch, log_leaf and checkpoint take $P_BYTES with their indexes."
  echo "The baseline tables (same columns and indexes, no triggers) hold the same rows ($P_PLAIN_BYTES)."
  echo
  echo "### Joining a registry of $P_EVENTS rows"
  echo
  echo "| | time | rows/s |"
  echo "|---|---:|---:|"
  echo "| battledger: join, until every table is copied (rows checked on arrival) | $(sec "$JOIN_COPY_MS") s | $(rps "$P_EVENTS" "$JOIN_COPY_MS") |"
  echo "| battledger: … and P's latest checkpoint witnessed and cosigned | $(sec "$JOIN_MS") s | |"
  [ "$BENCH_ANALYZE" = 1 ] && echo "| battledger: then \`ANALYZE\` at S | $(sec "$ANALYZE_MS") s | |"
  echo "| battledger: then \`verify_member()\` (0 problems; statistics: $STATS) | $(sec "$VERIFY_MS") s | $(rps "$P_EVENTS" "$VERIFY_MS") |"
  echo "| **battledger: join + verify** | **$(sec $((JOIN_MS + ANALYZE_MS + VERIFY_MS))) s** | |"
  echo "| plain logical replication of the same rows (copy_data) | $(sec "$PLAIN_JOIN_MS") s | $(rps "$P_EVENTS" "$PLAIN_JOIN_MS") |"
  echo
  echo "Join + verify takes **$(div $((JOIN_MS + ANALYZE_MS + VERIFY_MS)) "$PLAIN_JOIN_MS")x** the plain copy's time (the copy alone $(div "$JOIN_COPY_MS" "$PLAIN_JOIN_MS")x)."
  echo
  echo "### Catching up after being offline"
  echo
  echo "S stopped while P wrote; timed from \`pg_ctl start\` at S until it holds every row (and has witnessed P's latest"
  echo "checkpoint); the plain subscription, disabled during the same window, is then enabled and timed alone."
  echo
  echo "| rows written while S was offline | P wrote them at | battledger catch-up | rows/s | plain catch-up | rows/s | ratio |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for k in batch signed steady; do
    case $k in
      batch) what="in signed batches of $BENCH_BATCH, as fast as P can" ;;
      signed) what="signed one by one, 100 per transaction, as fast as P can" ;;
      steady) what="signed one by one, one per transaction, at $BENCH_RATE rows/s for $BENCH_OFFLINE s (2 clients)" ;;
    esac
    echo "| ${CU_ROWS[$k]} $what |" \
         "$(rps "${CU_ROWS[$k]}" "${CU_P_MS[$k]}") rows/s | $(sec "${CU_MS[$k]}") s | **$(rps "${CU_ROWS[$k]}" "${CU_MS[$k]}")** |" \
         "$(sec "${CU_PLAIN_MS[$k]}") s | $(rps "${CU_ROWS[$k]}" "${CU_PLAIN_MS[$k]}") | $(div "$(rps "${CU_ROWS[$k]}" "${CU_MS[$k]}")" "$(rps "${CU_ROWS[$k]}" "${CU_PLAIN_MS[$k]}")")x |"
  done
  echo
  echo "After catching up: \`verify_member()\` $VM2 problems ($(sec "$VERIFY2_MS") s), $REJ2 rejections, same rows at P and S: $SAME."
}
mkdir -p "$(dirname "$RESULTS")"
summary > "$RESULTS"
say "summary (also in ${RESULTS#"$BL_ROOT"/})"
cat "$RESULTS"
