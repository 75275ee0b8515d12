#!/usr/bin/env bash
# test/bench/consortium.sh — what does checking rows on arrival cost a
# consortium member, and does it keep up?
#
# Starts two throwaway PostgreSQL 15 clusters on this machine (durable
# commits: fsync and synchronous_commit at their defaults), each a member
# with wal_level = logical and its own log key (battledger keygen):
#   P  the publisher,  battledger.origin 'pub.example/log', port BENCH_PORT;
#   S  the subscriber, battledger.origin 'sub.example/log', port BENCH_PORT + 1.
# Both hold the same tables (consortium_schema.sql): soh, a signed ledger
# table, and plain_soh, the same columns and indexes without any trigger.
# P registers the signing member fleet.example and its key and signs every
# row before anything is timed (consortium_publisher.sql, TEST-ONLY signer).
# P publishes with battledger.publish_member() (soh, its log) and, for the
# baseline, CREATE PUBLICATION plain_pub FOR TABLE plain_soh; S runs
# battledger.join() for P (its CREATE SUBSCRIPTION via \gexec: rows of soh are
# checked on arrival — chain link, hash, signature, key — by src/pg/arrive.c) and
# a plain CREATE SUBSCRIPTION plain_sub (copy_data = false).  Then:
#
#   1. throughput: with S's subscription paused, BENCH_ROWS pre-signed rows
#      inserted at P into soh in transactions of 1,000 rows (INSERT ... SELECT
#      from the staging table); then the subscription is resumed and timed
#      until S holds every row (S's count(*) polled every 0.1 s, server-side)
#      -> verified apply rows/s, not bounded by P's insert rate; then the
#      same rows, every column as soh holds them at P, into plain_soh the same
#      way -> plain apply rows/s.  Also P's own insert rate, and the CPU per
#      row of S's apply worker and P's walsender (from /proc);
#   2. lag under steady load: pgbench at P, 1 client, one pre-signed row per
#      transaction into soh (consortium_insert.sql), for BENCH_SECONDS; every
#      second, P's pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)
#      for S's battledger slot and both sides' row counts; then the time S
#      needs to catch up after pgbench stops (drain).  Goal "the subscriber
#      keeps up (lag does not grow)": lag at the end of the window
#      <= max(64 kB, 2 x lag at 25 % of the window) AND drain < 2 s;
#   3. battledger.verify('soh') and battledger.rejections at S (both must be 0),
#      and the same rows (ledger_hash) at P and S.
#
# Uses the extension, the CLI and the TEST-ONLY signer (battledger_test_signer)
# as installed: builds and installs nothing.  Prints a markdown summary and
# writes it to test/bench/results/consortium.md.
#
# Environment:
#   BENCH_ROWS           rows of measurement 1 (default 50000)
#   BENCH_SECONDS        duration of the pgbench run of measurement 2 (default 15)
#   BENCH_PORT           port of P; S uses BENCH_PORT + 1 (default 55471)
#   BENCH_STAGE_PGBENCH  pre-signed rows for pgbench (default 4000 x BENCH_SECONDS)
#   BENCH_TIMEOUT        seconds to wait for S to catch up before giving up (default 300)
#   BATTLEDGER_CLI       the CLI (default: battledger on PATH, else /usr/local/bin/battledger)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/cluster.sh
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"

BENCH_ROWS=${BENCH_ROWS:-50000}
BENCH_SECONDS=${BENCH_SECONDS:-15}
BENCH_PORT=${BENCH_PORT:-55471}
STAGE_PGB=${BENCH_STAGE_PGBENCH:-$((4000 * BENCH_SECONDS))}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}
CLI=${BATTLEDGER_CLI:-$(command -v battledger || echo /usr/local/bin/battledger)}
BATCH=1000
PORT_P=$BENCH_PORT
PORT_S=$((BENCH_PORT + 1))
ORIGIN_P=pub.example/log
ORIGIN_S=sub.example/log
DB=bench
LAG_FLOOR=65536             # bytes: the goal's allowance for feedback granularity
DRAIN_GOAL_MS=2000
SLOPE_GOAL=2                # rows/s: growth of the backlog the goal tolerates
RESULTS=$HERE/results/consortium.md
COMMAND="BENCH_ROWS=$BENCH_ROWS BENCH_SECONDS=$BENCH_SECONDS test/bench/consortium.sh"

rps() { awk -v n="$1" -v m="$2" 'BEGIN { printf "%.0f", (m > 0) ? n / (m / 1000) : 0 }'; }  # per second from count and ms
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
upr() { awk -v n="$1" -v t="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }'; }  # CPU µs per row from ticks
kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
pid_ticks() {               # user + system CPU ticks of a live process (0 if gone)
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] && awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# A cluster's CPU: the postmaster and its exited children (lib.sh), plus its live children.
cluster_cpu_all() {
  local pm c live=0
  pm=$(head -n 1 "$1/postmaster.pid" 2>/dev/null) || { echo 0; return; }
  for c in $(pgrep -P "$pm" || true); do live=$((live + $(pid_ticks "$c"))); done
  awk -v a="$(cluster_cpu "$1")" -v b="$live" -v hz="$CLK_TCK" 'BEGIN { print a + b / hz }'
}

[ -x "$CLI" ] || { echo "battledger CLI not found (set BATTLEDGER_CLI)" >&2; exit 1; }
GIT_STATE=$(bench_git_state)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_0=$(machine_busy); OWN_0=$(children_cpu); T_0=$(now_ms)

# ---------------------------------------------------------------------------
# Two members, each with its own log key (as test/shell/consortium.sh).
# ---------------------------------------------------------------------------
bl_scratch
W=$BL_WORK/consortium_keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([p]=$PORT_P [s]=$PORT_S) ORIGIN=([p]=$ORIGIN_P [s]=$ORIGIN_S) NAME=([p]=cons_pub [s]=cons_sub)
for m in p s; do
  "$CLI" keygen --out "$W/$m-log" >/dev/null
  [ "$(id -u)" = 0 ] && chown postgres: "$W/$m-log.key"
  say "starting ${NAME[$m]} (origin ${ORIGIN[$m]}, port ${PORT[$m]})"
  bl_start_cluster "${NAME[$m]}" "${PORT[$m]}" "wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
max_logical_replication_workers = 8
max_worker_processes = 16
shared_buffers = 512MB
session_preload_libraries = 'battledger'
max_wal_size = 8GB
checkpoint_timeout = 30min
work_mem = 64MB
battledger.origin = '${ORIGIN[$m]}'
battledger.log_key_file = '$W/$m-log.key'"
  createdb -h "$BL_WORK" -p "${PORT[$m]}" -U postgres "$DB"
done
DATA_P=$BL_WORK/${NAME[p]}
DATA_S=$BL_WORK/${NAME[s]}

psql_() { local m=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[$m]}" -U postgres -d "$DB" "$@"; }
qp() { psql_ p -At -c "$1"; }
qs() { psql_ s -At -c "$1"; }

say "creating the tables on both members (test/bench/consortium_schema.sql)"
psql_ p -f "$HERE/consortium_schema.sql" >/dev/null
psql_ s -f "$HERE/consortium_schema.sql" >/dev/null
say "registering fleet.example and its key at P (test/bench/consortium_publisher.sql)"
psql_ p -f "$HERE/consortium_publisher.sql" >/dev/null

# ---------------------------------------------------------------------------
# Signing, before any timing: rows 1..BENCH_ROWS for measurement 1, the next
# STAGE_PGB for pgbench; one session per core.
# ---------------------------------------------------------------------------
STAGE_ROWS=$((BENCH_ROWS + STAGE_PGB))
SESSIONS=$(nproc); [ "$SESSIONS" -gt 4 ] && SESSIONS=4
say "signing $STAGE_ROWS rows (one Ed25519 signature each) in $SESSIONS sessions"
t0=$(now_ms)
pids=()
per=$(( (STAGE_ROWS + SESSIONS - 1) / SESSIONS ))
for c in $(seq 0 $((SESSIONS - 1))); do
  lo=$((c * per + 1)); hi=$(( (c + 1) * per )); [ "$hi" -gt "$STAGE_ROWS" ] && hi=$STAGE_ROWS
  qp "SELECT bench_cons.stage_signed($lo, $hi)" >/dev/null &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
SIGN_MS=$(( $(now_ms) - t0 ))
[ "$(qp 'SELECT count(*) FROM bench_cons.stage')" = "$STAGE_ROWS" ] || { echo "staging failed" >&2; exit 1; }
echo "$STAGE_ROWS rows signed in $SIGN_MS ms"
qp "VACUUM ANALYZE bench_cons.stage"

# As signed.sh: write WAL once (before any slot exists) so no timed run pays for new segments.
say "warming up WAL at P"
qp "CREATE TABLE bench_cons.warmup AS SELECT g, md5(g::text) AS m FROM generate_series(1, 2000000) AS g"
qp "DROP TABLE bench_cons.warmup"
qp "CHECKPOINT"

# ---------------------------------------------------------------------------
# Publications at P, subscriptions at S.
# ---------------------------------------------------------------------------
say "P: publish_member() and plain_pub; S: join() and plain_sub"
PUB=$(qp "SELECT battledger.publish_member()")
qp "CREATE PUBLICATION plain_pub FOR TABLE plain_soh WITH (publish = 'insert')"
LOGV_P=$(qp "SELECT battledger.log_vkey()")
CONN_P="host=$BL_WORK port=$PORT_P dbname=$DB user=postgres"
psql_ s -v origin="$ORIGIN_P" -v conn="$CONN_P" -v lv="$LOGV_P" >/dev/null <<'SQL'
SELECT battledger.join(:'origin', :'conn', :'lv', NULL) \gexec
SQL
psql_ s -v conn="$CONN_P" >/dev/null <<'SQL'
CREATE SUBSCRIPTION plain_sub CONNECTION :'conn' PUBLICATION plain_pub WITH (copy_data = false);
SQL
SUB=$(qs "SELECT subscription FROM battledger.consortium_member WHERE origin = '$ORIGIN_P'")
echo "publication $PUB; subscriptions $SUB (slot $SUB) and plain_sub"

# Until the initial copy is done and both apply workers stream.
wait_ready() {

  for _ in $(seq 1 600); do
    if [ "$(qs "SELECT NOT EXISTS (SELECT 1 FROM pg_subscription_rel WHERE srsubstate <> 'r')
                   AND (SELECT count(*) FROM pg_stat_subscription WHERE relid IS NULL AND pid IS NOT NULL
                         AND subname IN ('$SUB', 'plain_sub')) = 2")" = t ] &&
       [ "$(qp "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'
                   AND application_name IN ('$SUB', 'plain_sub')")" = 2 ]; then
      return 0
    fi
    sleep 0.2
  done
  echo "timed out waiting for the subscriptions to stream" >&2
  qs "SELECT srsubid, srrelid::regclass, srsubstate FROM pg_subscription_rel" >&2
  return 1
}
wait_ready
echo "both subscriptions streaming; S knows $(qs "SELECT count(*) FROM battledger.key_event") key event(s) from P"

apply_pid() { qs "SELECT pid FROM pg_stat_subscription WHERE subname = '$1' AND relid IS NULL"; }
sender_pid() { qp "SELECT pid FROM pg_stat_replication WHERE application_name = '$1'"; }
# fail_wait SUB RESULT: S did not catch up; say why and stop.
fail_wait() {
  echo "S did not catch up on subscription $1: $2" >&2
  qs "SELECT * FROM battledger.rejections" >&2 || true
  qs "SELECT subname, subenabled FROM pg_subscription" >&2 || true
  exit 1
}

# ---------------------------------------------------------------------------
# 1. throughput.  The loader runs at P in the background; S's server-side
#    poll (bench_cons.wait_rows) returns once the table holds every row.
# ---------------------------------------------------------------------------
declare -A APPLY_MS P_MS P_TICKS APPLY_TICKS SEND_TICKS
measure1() {                # measure1 soh|plain TABLE SUB
  local kind=$1 tbl=$2 sub=$3 ap sp s0 t0 res out i
  qp "CHECKPOINT"; qs "CHECKPOINT"
  say "1. $BENCH_ROWS rows into $tbl at P, $BATCH per transaction, $sub paused; then until S has applied them all"
  # a backlog: the subscriber's apply rate, not bounded by P's insert rate
  qs "ALTER SUBSCRIPTION $sub DISABLE"
  for i in $(seq 1 100); do [ -z "$(apply_pid "$sub")" ] && break; sleep 0.1; done
  out=$(qp "CALL bench_cons.load('$kind', 1, $BENCH_ROWS, $BATCH)")
  P_MS[$kind]=${out%|*}; P_TICKS[$kind]=${out#*|}
  qp "CHECKPOINT"
  t0=$(now_ms)
  qs "ALTER SUBSCRIPTION $sub ENABLE"
  for i in $(seq 1 200); do ap=$(apply_pid "$sub"); [ -n "$ap" ] && break; sleep 0.05; done
  sp=$(sender_pid "$sub"); s0=$(pid_ticks "$sp")
  res=$(qs "SELECT bench_cons.wait_rows('public.$tbl', $BENCH_ROWS, $BENCH_TIMEOUT, '$sub')")
  APPLY_MS[$kind]=$(( $(now_ms) - t0 ))
  [ "${res%% *}" = ok ] || fail_wait "$sub" "$res"
  APPLY_TICKS[$kind]=$(pid_ticks "$ap")     # the worker started with ENABLE: all its CPU is this backlog
  SEND_TICKS[$kind]=$(( $(pid_ticks "$sp") - s0 ))
  [ "$(apply_pid "$sub")" = "$ap" ] || echo "note: the apply worker of $sub restarted during the run" >&2
  echo "P inserted in ${P_MS[$kind]} ms ($(rps "$BENCH_ROWS" "${P_MS[$kind]}") rows/s);" \
       "S applied the backlog in ${APPLY_MS[$kind]} ms ($(rps "$BENCH_ROWS" "${APPLY_MS[$kind]}") rows/s);" \
       "S apply worker $(upr "$BENCH_ROWS" "${APPLY_TICKS[$kind]}") µs CPU per row"
}
measure1 soh soh "$SUB"
# The same rows, every column as soh holds them at P, staged (untimed) for plain_soh.
qp "CREATE UNLOGGED TABLE bench_cons.plain_stage AS
      SELECT st.id, s.* FROM public.soh s JOIN bench_cons.stage st ON st.ledger_sig = s.ledger_sig"
qp "ALTER TABLE bench_cons.plain_stage ADD PRIMARY KEY (id)"
qp "VACUUM ANALYZE bench_cons.plain_stage"
[ "$(qp 'SELECT count(*) FROM bench_cons.plain_stage')" = "$BENCH_ROWS" ] || { echo "plain_stage: wrong row count" >&2; exit 1; }
measure1 plain plain_soh plain_sub

# ---------------------------------------------------------------------------
# 2. lag under steady load: pgbench at P (1 client), samples every second.
# ---------------------------------------------------------------------------
qp "CHECKPOINT"; qs "CHECKPOINT"
P_ROWS0=$(qp "SELECT count(*) FROM soh")
say "2. pgbench at P: 1 client, one pre-signed row per transaction into soh, ${BENCH_SECONDS}s; sampling lag every second"
AP2=$(apply_pid "$SUB"); A2_0=$(pid_ticks "$AP2")
sample() {                  # prints: ms_since_T2 p_rows lag_bytes s_rows (S counted first, so P >= S)
  local p s
  s=$(qs "SELECT count(*) FROM soh")
  p=$(qp "SELECT (SELECT count(*) FROM soh) || ' ' ||
                 coalesce((SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint
                             FROM pg_replication_slots WHERE slot_name = '$SUB'), -1)")
  echo "$(( $(now_ms) - T2 )) $p $s"
}
T2=$(now_ms)
pgbench -n -h "$BL_WORK" -p "$PORT_P" -U postgres -f "$HERE/consortium_insert.sql" \
  -D base="$BENCH_ROWS" -D stride="$STAGE_PGB" -D n=0 -c 1 -j 1 -T "$BENCH_SECONDS" "$DB" \
  > "$BL_WORK/pgbench.out" 2>&1 &
PGB=$!
SAMPLES=("$(sample)")
for k in $(seq 1 "$BENCH_SECONDS"); do
  d=$(( T2 + k * 1000 - $(now_ms) ))
  [ "$d" -gt 0 ] && sleep "$(awk -v d="$d" 'BEGIN { print d / 1000 }')"
  SAMPLES+=("$(sample)")
  echo "  t=${SAMPLES[-1]%% *} ms  P rows, lag bytes, S rows: ${SAMPLES[-1]#* }"
done
wait "$PGB" || { cat "$BL_WORK/pgbench.out"; exit 1; }
T_STOP=$(now_ms)
P_ROWS1=$(qp "SELECT count(*) FROM soh")
res=$(qs "SELECT bench_cons.wait_rows('public.soh', $P_ROWS1, $BENCH_TIMEOUT, '$SUB')")
DRAIN_MS=$(( $(now_ms) - T_STOP ))
[ "${res%% *}" = ok ] || fail_wait "$SUB" "$res"
APPLY2_TICKS=$(( $(pid_ticks "$AP2") - A2_0 ))
sleep 1
LAG_AFTER=$(qp "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = '$SUB'")
PGB_OUT=$(cat "$BL_WORK/pgbench.out")
grep -E '^(number of transactions actually processed|number of failed|latency average|tps)' <<<"$PGB_OUT" || true
PGB_N=$(awk -F': ' '/^number of transactions actually processed/ { split($2, a, "/"); print a[1]; exit }' <<<"$PGB_OUT")
PGB_TPS=$(awk '/^tps = / { print $3; exit }' <<<"$PGB_OUT")
if [ "$((P_ROWS1 - P_ROWS0))" != "$PGB_N" ]; then
  echo "soh gained $((P_ROWS1 - P_ROWS0)) rows in $PGB_N transactions: pgbench ran out of staged rows" \
       "(raise BENCH_STAGE_PGBENCH above $STAGE_PGB)" >&2
  exit 1
fi
echo "drained $DRAIN_MS ms after pgbench stopped; lag 1 s later: $LAG_AFTER bytes"

# Samples -> lag at 25/50/75/100 % of the window, max, and S's apply rate.
NS=$((${#SAMPLES[@]} - 1))
at_pct() { awk -v p="$1" -v n="$NS" 'BEGIN { k = int(p * n / 100 + 0.5); if (k < 1) k = 1; print k }'; }
field() { awk -v f="$2" '{ print $f }' <<<"${SAMPLES[$1]}"; }
declare -A LAG_AT
for p in 25 50 75 100; do LAG_AT[$p]=$(field "$(at_pct $p)" 3); done
LAG_MAX=$(for s in "${SAMPLES[@]}"; do awk '{ print $3 }' <<<"$s"; done | sort -g | tail -n 1)
W_MS=$(( $(field "$NS" 1) - $(field 0 1) ))
W_ROWS=$(( $(field "$NS" 4) - $(field 0 4) ))
S_RATE=$(rps "$W_ROWS" "$W_MS")
LAG_LIMIT=$(awk -v a="${LAG_AT[25]}" -v f="$LAG_FLOOR" 'BEGIN { x = 2 * a; print (x > f) ? x : f }')
LAG_OK=$(awk -v e="${LAG_AT[100]}" -v l="$LAG_LIMIT" 'BEGIN { print (e <= l) ? 1 : 0 }')
DRAIN_OK=$([ "$DRAIN_MS" -lt "$DRAIN_GOAL_MS" ] && echo 1 || echo 0)
# "Does not grow" is a trend: least-squares slope of the rows S is behind P,
# over the samples after the first second (the first catches pgbench's start).
# Single samples swing several-fold from one second to the next.
SLOPE=$(for s in "${SAMPLES[@]}"; do echo "$s"; done | awk '$1 >= 1000 { x = $1 / 1000; y = $2 - $4; n++; sx += x; sy += y; sxx += x * x; sxy += x * y }
  END { d = n * sxx - sx * sx; printf "%.2f", (n > 2 && d != 0) ? (n * sxy - sx * sy) / d : 0 }')
TREND_OK=$(awk -v s="$SLOPE" -v g="$SLOPE_GOAL" 'BEGIN { print (s <= g) ? 1 : 0 }')
if [ "$TREND_OK$DRAIN_OK" = 11 ]; then GOAL=met; else GOAL="**missed**"; fi

# ---------------------------------------------------------------------------
# 3. verification at S.
# ---------------------------------------------------------------------------
say "3. verify('soh') and rejections at S"
S_ROWS=$(qs "SELECT count(*) FROM soh")
T3=$(now_ms)
VERIFY_PROBLEMS=$(qs "SELECT count(*) FROM battledger.verify('soh')")
VERIFY_MS=$(( $(now_ms) - T3 ))
VERIFY_DETAILS=""
[ "$VERIFY_PROBLEMS" = 0 ] || VERIFY_DETAILS=$(qs "SELECT format('| %s | %s | %s | %s |', chain_key, seq, problem, detail) FROM battledger.verify('soh') LIMIT 5")
REJECTIONS=$(qs "SELECT count(*) FROM battledger.rejections")
SAME_P=$(qp "SELECT md5(string_agg(ledger_hash::text, ',' ORDER BY ledger_hash::text)) FROM soh")
SAME_S=$(qs "SELECT md5(string_agg(ledger_hash::text, ',' ORDER BY ledger_hash::text)) FROM soh")
SAME=$([ "$SAME_P" = "$SAME_S" ] && echo yes || echo "**no**")
PLAIN_SAME=$([ "$(qp "SELECT md5(string_agg(ledger_hash::text, ',' ORDER BY ledger_hash::text)) FROM plain_soh")" = \
               "$(qs "SELECT md5(string_agg(ledger_hash::text, ',' ORDER BY ledger_hash::text)) FROM plain_soh")" ] && echo yes || echo "**no**")
echo "S: $S_ROWS rows in soh; verify: $VERIFY_PROBLEMS problem(s) in $VERIFY_MS ms; rejections: $REJECTIONS; same rows as P: $SAME"

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(awk -v a="$T_0" -v b="$(now_ms)" 'BEGIN { print (b - a) / 1000 }')
BUSY=$(awk -v a="$BUSY_0" -v b="$(machine_busy)" 'BEGIN { print b - a }')
OWN=$(awk -v a="$OWN_0" -v b="$(children_cpu)" -v c="$(cluster_cpu_all "$DATA_P")" -v d="$(cluster_cpu_all "$DATA_S")" \
        'BEGIN { print b - a + c + d }')
OTHER=$(awk -v b="$BUSY" -v o="$OWN" 'BEGIN { x = b - o; print (x < 0) ? 0 : x }')

# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------
summary() {
  local k s label
  bench_report_head ": consortium replication (verification on arrival)" "$COMMAND"
  bench_run_rows
  echo "| PostgreSQL | $(qp 'SELECT version()') |"
  echo "| members | P (publisher) \`$ORIGIN_P\`, port $PORT_P; S (subscriber) \`$ORIGIN_S\`, port $PORT_S; both on this machine |"
  qp "SELECT '| ' || name || ' (both) | ' || current_setting(name) || ' |'
        FROM unnest(ARRAY['wal_level', 'shared_buffers', 'session_preload_libraries', 'synchronous_commit', 'fsync',
                          'max_wal_size', 'checkpoint_timeout', 'max_worker_processes']) AS name"
  echo "| subscriptions | \`$SUB\` (battledger.join, checks on arrival), \`plain_sub\` (plain_pub, copy_data = false); subscription synchronous_commit: $(qs "SELECT string_agg(subname || ' ' || subsynccommit, ', ' ORDER BY subname) FROM pg_subscription") |"
  echo
  echo "soh is a signed ledger table (\`enable_ledger('soh', 'battery', signed => true, signer_roles => ARRAY['fleet_operator'])\`,"
  echo "1,000 chain keys); plain_soh has the same columns and indexes (\`LIKE soh INCLUDING INDEXES\`) and no triggers."
  echo "Signing before anything is timed (TEST-ONLY signer, $SESSIONS sessions): $STAGE_ROWS rows in $(fmt '%.1f' "$(awk -v m="$SIGN_MS" 'BEGIN { print m / 1000 }')") s."
  echo "CPU figures are user + system time from /proc (${CLK_TCK} Hz ticks) of S's apply worker and P's walsender for the subscription."
  echo
  echo "## 1. Throughput: a backlog of $BENCH_ROWS rows (inserted at P in transactions of $BATCH while S's subscription was paused)"
  echo
  echo "Timed from ALTER SUBSCRIPTION ... ENABLE at S until S's \`count(*)\` (polled every 0.1 s) reaches $BENCH_ROWS."
  echo
  echo "| table at S | applied rows/s at S | time to apply the backlog | P's insert rows/s (P time) | P backend CPU µs/row | S apply worker CPU µs/row | P walsender CPU µs/row |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for k in soh plain; do
    [ $k = soh ] && label="**soh, verified on arrival**" || label="plain_soh (plain logical replication)"
    echo "| $label | **$(rps "$BENCH_ROWS" "${APPLY_MS[$k]}")** | $(fmt '%.2f' "$(awk -v m="${APPLY_MS[$k]}" 'BEGIN { print m / 1000 }')") s |" \
         "$(rps "$BENCH_ROWS" "${P_MS[$k]}") ($(fmt '%.2f' "$(awk -v m="${P_MS[$k]}" 'BEGIN { print m / 1000 }')") s) | $(upr "$BENCH_ROWS" "${P_TICKS[$k]}") |" \
         "$(upr "$BENCH_ROWS" "${APPLY_TICKS[$k]}") | $(upr "$BENCH_ROWS" "${SEND_TICKS[$k]}") |"
  done
  echo
  echo "Verified / plain apply rate: **$(div "$(rps "$BENCH_ROWS" "${APPLY_MS[soh]}")" "$(rps "$BENCH_ROWS" "${APPLY_MS[plain]}")")x**;" \
       "S apply worker CPU per row, verified / plain: $(awk -v a="${APPLY_TICKS[soh]}" -v b="${APPLY_TICKS[plain]}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "–" }')."
  echo "P's insert of the signed rows (chain trigger, signature checked) ran at $(rps "$BENCH_ROWS" "${P_MS[soh]}") rows/s."
  echo
  echo "## 2. Lag under steady load: pgbench at P, 1 client, one pre-signed row per transaction, ${BENCH_SECONDS} s"
  echo
  echo "Lag = \`pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)\` at P for slot \`$SUB\`, sampled every second."
  echo
  echo "| | |"
  echo "|---|---:|"
  echo "| publisher rate (pgbench tps = rows; $PGB_N rows, checked) | $(fmt '%.0f' "$PGB_TPS") rows/s |"
  echo "| subscriber apply rate over the window ($W_ROWS rows in $(fmt '%.1f' "$(awk -v m="$W_MS" 'BEGIN { print m / 1000 }')") s) | $S_RATE rows/s |"
  for p in 25 50 75 100; do
    echo "| lag at $p % of the window (t = $(fmt '%.1f' "$(awk -v m="$(field "$(at_pct $p)" 1)" 'BEGIN { print m / 1000 }')") s) | $(kb "${LAG_AT[$p]}") kB |"
  done
  echo "| lag, max of the samples | $(kb "$LAG_MAX") kB |"
  echo "| time to drain after pgbench stopped (S holds every row) | $DRAIN_MS ms |"
  echo "| lag 1 s after draining | $(kb "$LAG_AFTER") kB |"
  echo "| S apply worker CPU µs/row (window and drain) | $(upr "$((P_ROWS1 - P_ROWS0))" "$APPLY2_TICKS") |"
  echo
  echo "Goal \"subscriber keeps up (lag does not grow)\": the backlog's trend (least-squares slope of the rows S is"
  echo "behind P, samples after the first second) <= $SLOPE_GOAL rows/s: $([ "$TREND_OK" = 1 ] && echo yes || echo "**no**") ($SLOPE rows/s, against P's $(fmt '%.0f' "$PGB_TPS") rows/s);" \
       "drain < $DRAIN_GOAL_MS ms: $([ "$DRAIN_OK" = 1 ] && echo yes || echo "**no**") ($DRAIN_MS ms). **Goal: $GOAL.**"
  echo "(A single-sample comparison, lag at the end <= max(64 kB, 2 x lag at 25 %) = $(kb "$LAG_LIMIT") kB:" \
       "$([ "$LAG_OK" = 1 ] && echo yes || echo no), $(kb "${LAG_AT[100]}") kB; single samples swing several-fold from one second to the next.)"
  echo
  echo "| t (s) | rows at P | rows at S | rows behind | lag |"
  echo "|---:|---:|---:|---:|---:|"
  for s in "${SAMPLES[@]}"; do
    awk '{ printf "| %.1f | %d | %d | %d | %.1f kB |\n", $1 / 1000, $2, $4, $2 - $4, $3 / 1024 }' <<<"$s"
  done
  echo
  echo "## 3. Verification at S"
  echo
  echo "| | |"
  echo "|---|---:|"
  echo "| rows in soh at S | $S_ROWS |"
  echo "| \`battledger.verify('soh')\` problems (must be 0) | **$VERIFY_PROBLEMS** ($VERIFY_MS ms) |"
  echo "| \`SELECT count(*) FROM battledger.rejections\` (must be 0) | **$REJECTIONS** |"
  echo "| same rows at P and S (md5 of the ledger_hash values): soh / plain_soh | $SAME / $PLAIN_SAME |"
  if [ -n "$VERIFY_DETAILS" ]; then
    echo
    echo "| chain key | seq | problem | detail |"
    echo "|---|---|---|---|"
    echo "$VERIFY_DETAILS"
  fi
  echo
  echo "## Commands"
  echo
  echo "- \`$COMMAND\` (clusters via test/lib/cluster.sh; extension, CLI and TEST-ONLY signer as installed)"
  echo "- 1: at P \`CALL bench_cons.load('soh' | 'plain', 1, $BENCH_ROWS, $BATCH)\`; at S \`SELECT bench_cons.wait_rows('soh' | 'plain_soh', $BENCH_ROWS, ...)\`"
  echo "- 2: \`pgbench -n -f test/bench/consortium_insert.sql -D base=$BENCH_ROWS -D stride=$STAGE_PGB -D n=0 -c 1 -j 1 -T $BENCH_SECONDS\`"
  echo "- 3: at S \`SELECT count(*) FROM battledger.verify('soh')\`, \`SELECT count(*) FROM battledger.rejections\`"
}

mkdir -p "$(dirname "$RESULTS")"
summary > "$RESULTS"
say "summary (also in ${RESULTS#"$BL_ROOT"/})"
cat "$RESULTS"
