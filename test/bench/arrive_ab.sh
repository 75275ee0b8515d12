#!/usr/bin/env bash
# test/bench/arrive_ab.sh — the arrival check (src/pg/arrive.c) of two
# installed builds, A and B, on the same rows in the same run: apply worker
# CPU per row while a member catches up, against plain logical replication of
# the same rows.
#
# Three throwaway PostgreSQL 15 clusters (wal_level = logical, durable commits):
#   P   the registry, origin 'pub.example/log', build B, port BENCH_PORT;
#   SA  a member with build A, origin 'sa.example/log', port BENCH_PORT + 1;
#   SB  a member with build B, origin 'sb.example/log', port BENCH_PORT + 2.
# All run test/bench/join_schema.sql.  P: a fleet operator with
# BENCH_BATTERIES batteries (per-row signed), BENCH_ROWS usage reports in
# signed batches of 1,000, seal(); SA and SB join P (battledger.join) and
# subscribe to the plain copies (plain_pub: plain_event, plain_batch,
# plain_leaf, plain_checkpoint, the same rows and columns, no triggers).
# Then BENCH_REPS rounds; in each, with every subscription of SA and SB
# disabled, P writes BENCH_CATCHUP batch-signed rows (one transaction per
# batch of 1,000, as join.sh's catch-up) and BENCH_SIGNED per-row-signed rows
# (transactions of 100), seals, and copies them to the plain tables; then, in
# alternating order (A first in odd rounds, B first in even ones), each
# member's battledger subscription is enabled and timed until it holds every
# row of P and has witnessed P's latest checkpoint, then its plain_sub until
# it holds every plain row.  Each apply worker starts with its ENABLE, so its
# user + system CPU (/proc) at the end is the catch-up's.
#
# BENCH_PERF=1 also records `perf record -g` of SB's battledger apply worker
# in the first round (test/bench/results/arrive.perf; a summary in arrive_perf.txt).
#
# Environment:
#   BENCH_A, BENCH_B   relocated installs (root of usr/lib/postgresql/15/bin), required
#   BENCH_ROWS         rows at P before the members join (default 2000)
#   BENCH_CATCHUP      batch-signed rows per round (default 20000)
#   BENCH_SIGNED       per-row-signed rows per round (default 2000)
#   BENCH_BATTERIES    batteries (default 200)
#   BENCH_REPS         rounds (default 2)
#   BENCH_PORT         port of P (default 55760)
#   BENCH_TIMEOUT      seconds to wait for any one step (default 900)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${BENCH_A:?BENCH_A: the install root of build A}" "${BENCH_B:?BENCH_B: the install root of build B}"
export PG_BIN=$BENCH_B/usr/lib/postgresql/15/bin PG_CONFIG=$BENCH_B/usr/lib/postgresql/15/bin/pg_config
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"

BENCH_ROWS=${BENCH_ROWS:-2000}
BENCH_CATCHUP=${BENCH_CATCHUP:-20000}
BENCH_SIGNED=${BENCH_SIGNED:-2000}
BENCH_BATTERIES=${BENCH_BATTERIES:-200}
BENCH_REPS=${BENCH_REPS:-2}
BENCH_PORT=${BENCH_PORT:-55760}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-900}
BENCH_PERF=${BENCH_PERF:-0}
CLI=${BATTLEDGER_CLI:-$BENCH_B/bin/battledger}
DB=bench
M=fleet.join
COMMAND="BENCH_A=$BENCH_A BENCH_B=$BENCH_B BENCH_ROWS=$BENCH_ROWS BENCH_CATCHUP=$BENCH_CATCHUP BENCH_SIGNED=$BENCH_SIGNED BENCH_BATTERIES=$BENCH_BATTERIES BENCH_REPS=$BENCH_REPS test/bench/arrive_ab.sh"
[ $((BENCH_ROWS % 1000)) = 0 ] && [ $((BENCH_CATCHUP % 1000)) = 0 ] \
  || { echo "BENCH_ROWS and BENCH_CATCHUP must be multiples of 1000" >&2; exit 1; }

pid_ticks() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
upr() { awk -v n="$1" -v t="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }'; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([p]=$BENCH_PORT [a]=$((BENCH_PORT + 1)) [b]=$((BENCH_PORT + 2)))
declare -A ORIGIN=([p]=pub.example/log [a]=sa.example/log [b]=sb.example/log)
declare -A ROOT=([p]=$BENCH_B [a]=$BENCH_A [b]=$BENCH_B)
for m in p a b; do
  "$CLI" keygen --out "$W/$m-log" >/dev/null
  "$CLI" keygen --out "$W/$m-witness" >/dev/null
  [ "$(id -u)" = 0 ] && chown postgres: "$W/$m-log.key" "$W/$m-witness.key"
  say "starting $m (${ORIGIN[$m]}, port ${PORT[$m]}, ${ROOT[$m]})"
  PG_BIN=${ROOT[$m]}/usr/lib/postgresql/15/bin bl_start_cluster "ab_$m" "${PORT[$m]}" "wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
max_logical_replication_workers = 8
max_worker_processes = 16
shared_buffers = 256MB
max_wal_size = 8GB
checkpoint_timeout = 30min
wal_retrieve_retry_interval = 200ms
battledger.origin = '${ORIGIN[$m]}'
battledger.log_key_file = '$W/$m-log.key'
battledger.witness_key_file = '$W/$m-witness.key'"
  createdb -h "$BL_WORK" -p "${PORT[$m]}" -U postgres "$DB"
done
psql_() { local m=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[$m]}" -U postgres -d "$DB" "$@"; }
q() { local m=$1; shift; psql_ "$m" -At -c "$1"; }
wait_q() {                  # wait_q MEMBER SQL: until it returns t
  local i
  for i in $(seq 1 $((BENCH_TIMEOUT * 10))); do
    [ "$(q "$1" "$2" 2>/dev/null)" = t ] && return 0
    sleep 0.1
  done
  echo "timed out at $1 waiting for: $2" >&2
  q "$1" "SELECT * FROM battledger.rejections" >&2 || true
  exit 1
}
for m in p a b; do psql_ "$m" -f "$HERE/join_schema.sql" >/dev/null; done

say "P: $M, $BENCH_BATTERIES batteries, $BENCH_ROWS batch-signed rows, staging $BENCH_REPS x $BENCH_CATCHUP"
q p "SELECT bench_join.setup('$M', $BENCH_BATTERIES)" >/dev/null
q p "SELECT bench_join.stage('$M', 'base', $((BENCH_ROWS / 1000)), 1000, $BENCH_BATTERIES)" >/dev/null
for r in $(seq 1 "$BENCH_REPS"); do
  q p "SELECT bench_join.stage('$M', 'r$r', $((BENCH_CATCHUP / 1000)), 1000, $BENCH_BATTERIES)" >/dev/null
done
q p "CALL bench_join.load('base')"
q p "SELECT battledger.seal()" >/dev/null
q p "SELECT bench_join.copy_plain()" >/dev/null
q p "SELECT battledger.publish_member()" >/dev/null
q p "CREATE PUBLICATION plain_pub FOR TABLE plain_event, plain_batch, plain_leaf, plain_checkpoint WITH (publish = 'insert')"
LOGV=$(q p "SELECT battledger.log_vkey()"); WITV=$(q p "SELECT battledger.witness_vkey()")
CONN="host=$BL_WORK port=${PORT[p]} dbname=$DB user=postgres"
declare -A SUB
for m in a b; do
  psql_ "$m" -v origin="${ORIGIN[p]}" -v conn="$CONN" -v lv="$LOGV" -v wv="$WITV" -v slot="plain_$m" >/dev/null <<'SQL'
SELECT battledger.join(:'origin', :'conn', :'lv', :'wv') \gexec
CREATE SUBSCRIPTION plain_sub CONNECTION :'conn' PUBLICATION plain_pub WITH (copy_data = true, slot_name = :'slot');
SQL
  SUB[$m]=$(q "$m" "SELECT subscription FROM battledger.consortium_member WHERE origin = '${ORIGIN[p]}'")
done
for m in a b; do
  wait_q "$m" "SELECT bool_and(srsubstate = 'r') AND count(*) > 4 FROM pg_subscription_rel"
  wait_q "$m" "SELECT count(*) = $(q p "SELECT count(*) FROM battledger.battery_event") FROM battledger.battery_event WHERE ledger_origin = '${ORIGIN[p]}'"
  wait_q "$m" "SELECT count(*) = $(q p "SELECT count(*) FROM plain_event") FROM plain_event"
done

apply_pid() { q "$1" "SELECT pid FROM pg_stat_subscription WHERE subname = '$2' AND relid IS NULL"; }
disable() {                 # disable MEMBER SUB: and wait for its worker to exit
  local i
  q "$1" "ALTER SUBSCRIPTION $2 DISABLE"
  for i in $(seq 1 200); do [ -z "$(apply_pid "$1" "$2")" ] && return 0; sleep 0.05; done
  echo "the apply worker of $2 at $1 did not exit" >&2; exit 1
}
# catch_up MEMBER SUB DONE_SQL [perf]: enable, wait, print "ms ticks"
catch_up() {
  local m=$1 sub=$2 done_sql=$3 t0 ap i perfpid=
  t0=$(now_ms)
  q "$m" "ALTER SUBSCRIPTION $sub ENABLE"
  for i in $(seq 1 400); do ap=$(apply_pid "$m" "$sub"); [ -n "$ap" ] && break; sleep 0.02; done
  [ -n "$ap" ] || { echo "no apply worker for $sub at $m" >&2; exit 1; }
  if [ "${4:-}" = perf ]; then
    perf record -g -o "$HERE/results/arrive.perf" -p "$ap" >/dev/null 2>&1 & perfpid=$!
  fi
  wait_q "$m" "$done_sql"
  echo "$(( $(now_ms) - t0 )) $(pid_ticks "$ap")"
  [ -n "$perfpid" ] && { kill -INT "$perfpid"; wait "$perfpid" || true; }
  return 0
}

declare -A BL_MS BL_TK PL_MS PL_TK
for m in a b; do BL_MS[$m]=0; BL_TK[$m]=0; PL_MS[$m]=0; PL_TK[$m]=0; done
ROWS_TOTAL=0
for r in $(seq 1 "$BENCH_REPS"); do
  for m in a b; do disable "$m" "${SUB[$m]}"; disable "$m" plain_sub; done
  n0=$(q p "SELECT count(*) FROM battledger.battery_event")
  say "round $r: P writes $BENCH_CATCHUP batch-signed + $BENCH_SIGNED per-row-signed rows"
  q p "CALL bench_join.load('r$r')"
  [ "$BENCH_SIGNED" -gt 0 ] && q p "CALL bench_join.load_signed('$M', $BENCH_SIGNED, 100, $BENCH_BATTERIES)"
  q p "SELECT battledger.seal()" >/dev/null
  PE=$(q p "SELECT bench_join.copy_plain()")
  PL=$(q p "SELECT count(*) FROM plain_leaf")
  TREE=$(q p "SELECT max(tree_size) FROM battledger.checkpoint")
  rows=$((PE - n0)); ROWS_TOTAL=$((ROWS_TOTAL + rows))
  q p "CHECKPOINT"
  if [ $((r % 2)) = 1 ]; then order="a b"; else order="b a"; fi
  for m in $order; do
    perf=; [ "$BENCH_PERF" = 1 ] && [ "$r" = 1 ] && [ "$m" = b ] && perf=perf
    out=$(catch_up "$m" "${SUB[$m]}" "SELECT (SELECT count(*) = $PE FROM battledger.battery_event WHERE ledger_origin = '${ORIGIN[p]}')
        AND (SELECT coalesce(max(tree_size), 0) = $TREE FROM battledger.peer_checkpoint WHERE origin = '${ORIGIN[p]}')" $perf)
    BL_MS[$m]=$((BL_MS[$m] + ${out% *})); BL_TK[$m]=$((BL_TK[$m] + ${out#* }))
    out2=$(catch_up "$m" plain_sub "SELECT (SELECT count(*) = $PE FROM plain_event) AND (SELECT count(*) = $PL FROM plain_leaf)")
    PL_MS[$m]=$((PL_MS[$m] + ${out2% *})); PL_TK[$m]=$((PL_TK[$m] + ${out2#* }))
    echo "$m: battledger $rows rows in ${out% *} ms, apply worker $(upr "$rows" "${out#* }") µs CPU/row;" \
         "plain in ${out2% *} ms, $(upr "$rows" "${out2#* }") µs CPU/row"
  done
done

say "checks"
HP=$(q p "SELECT md5(string_agg(ledger_hash::text, ',' ORDER BY ledger_hash::text)) FROM battledger.battery_event")
for m in a b; do
  hs=$(q "$m" "SELECT md5(string_agg(ledger_hash::text, ',' ORDER BY ledger_hash::text)) FROM battledger.battery_event WHERE ledger_origin = '${ORIGIN[p]}'")
  rej=$(q "$m" "SELECT count(*) FROM battledger.rejections")
  vm=$(q "$m" "SELECT count(*) FROM battledger.verify_member('${ORIGIN[p]}')")
  echo "$m: same rows as P: $([ "$hs" = "$HP" ] && echo yes || echo NO); rejections $rej; verify_member problems $vm"
  [ "$hs" = "$HP" ] && [ "$rej:$vm" = 0:0 ] || exit 1
done

echo
echo "## arrive_ab.sh: $COMMAND"
echo "load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg); $ROWS_TOTAL rows caught up per member over $BENCH_REPS rounds"
echo
echo "| build | battledger apply CPU µs/row | plain apply CPU µs/row | plain / battledger (CPU) | battledger wall s | plain wall s | plain / battledger (wall) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for m in a b; do
  echo "| $m (${ROOT[$m]}) | $(upr "$ROWS_TOTAL" "${BL_TK[$m]}") | $(upr "$ROWS_TOTAL" "${PL_TK[$m]}") |" \
       "$(awk -v a="${PL_TK[$m]}" -v b="${BL_TK[$m]}" 'BEGIN { printf "%.2fx", a / b }') |" \
       "$(awk -v a="${BL_MS[$m]}" 'BEGIN { printf "%.1f", a / 1000 }') | $(awk -v a="${PL_MS[$m]}" 'BEGIN { printf "%.1f", a / 1000 }') |" \
       "$(awk -v a="${PL_MS[$m]}" -v b="${BL_MS[$m]}" 'BEGIN { printf "%.2fx", a / b }') |"
done
echo
echo "B / A battledger apply CPU: $(awk -v a="${BL_TK[a]}" -v b="${BL_TK[b]}" 'BEGIN { printf "%.2f", b / a }')"
if [ "$BENCH_PERF" = 1 ]; then
  perf report --no-children -i "$HERE/results/arrive.perf" --stdio 2>/dev/null | grep -v '^$' | grep -E '^ +[0-9]' | head -40 > "$HERE/results/arrive_perf.txt" || true
  perf report --children -i "$HERE/results/arrive.perf" --stdio -g none --percent-limit 2 2>/dev/null | grep -E '^ +[0-9]' | head -60 >> "$HERE/results/arrive_perf.txt" || true
  echo "perf (SB's apply worker, first round): test/bench/results/arrive_perf.txt"
fi
