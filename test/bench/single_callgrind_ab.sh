#!/usr/bin/env bash
# test/bench/single_callgrind_ab.sh — single-row INSERT transactions counted
# in instructions, two builds.
#
# queue.sh measures single-row inserts with pgbench, in CPU time; on a
# machine shared with other work that varies by a third between identical
# runs.  Instructions do not: each build's postmaster runs under valgrind's
# callgrind (--trace-children=yes), counting only the steps of
# exec_simple_query (parse, plan, execution, and the commit: the log
# queue's work at the statement's end and at commit is in it).  One session sends BENCH_TX
# single-row INSERTs, each its own transaction, into each of:
#   indexed           the baseline (schema.sql: an index on (battery, at));
#   ledger            battledger as installed;
#   ledger_noqueue    the same with its log trigger disabled (the event
#                     triggers lifted for that one statement): the floor for
#                     any log queue, not a supported configuration.
# Prints instructions per transaction, ledger/indexed, what the log queue
# costs (ledger - ledger_noqueue) and B/A; every ledger table must verify
# clean.  The first table divides the session's count by its transactions,
# so it holds what a session pays once (loading battledger, its first
# lookups of each table and function): about 10k of a ledger transaction at
# BENCH_TX=1000.  The second is the steady state: each table gets a second
# session of its warm-up row alone, and the difference between the two
# sessions is divided by BENCH_TX (perf22).  Needs valgrind (not in BL_PACKAGES).  Environment: PG_BIN_A,
# PG_BIN_B (required), BENCH_TX (default 2000), BENCH_PORT (default 57350),
# BENCH_ORIGIN (default unset; as bulk_callgrind_ab.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"
export PG_BIN=${PG_BIN:-$PG_BIN_B}
N=${BENCH_TX:-2000}
PORT=${BENCH_PORT:-57350}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
bl_scratch
# exec_simple_query is static (not in a stripped binary's symbols): its
# steps, each called from it alone, none inside another.  Toggles flip, they
# do not nest: a pg_plan_queries reached inside PortalRun (SPI planning a
# cached plan) would switch counting off for its own length (perf21).  These
# loads' paths run no SPI (no SPI_* function in their profiles); a load that
# does needs signed_callgrind_ab.sh's way, PortalRun and the commit alone.
TOGGLES="--toggle-collect=StartTransactionCommand --toggle-collect=pg_parse_query"
TOGGLES+=" --toggle-collect=pg_analyze_and_rewrite_fixedparams --toggle-collect=pg_plan_queries"
TOGGLES+=" --toggle-collect=PortalRun --toggle-collect=CommitTransactionCommand"

q() { psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "$PORT" -U postgres -d postgres -At -c "$1"; }
totals() { awk '/^totals:/ { print $2 }' "$1"; }
# evt ENABLE|DISABLE: battledger's event triggers (the DDL guard refuses
# disabling the log trigger, as it should: lifted for that one statement)
evt() {
  q "SELECT string_agg(format('ALTER EVENT TRIGGER %I $1', evtname), '; ') FROM pg_event_trigger
      WHERE evtname LIKE 'battledger%'" | psql -X -q -h "$BL_WORK" -p "$PORT" -U postgres -d postgres >/dev/null
}

# the statements: N single-row INSERTs over 1,000 chain keys, as insert.sql's
awk -v n="$N" 'BEGIN { srand(42); for (i = 0; i < n; i++)
  printf "INSERT INTO TBL (battery, kind, at, soh, note) VALUES (%cB%d%c, %ccharge%c, now(), %.2f, %cpgbench row%c);\n",
         39, int(rand() * 1000) + 1, 39, 39, 39, 60 + rand() * 40, 39, 39 }' > "$BL_WORK/tx.sql"

run_build() {   # run_build NAME BIN
  local name=$1 bin=$2 d=$BL_WORK/$1 pid f kind tbl
  as_pg "$bin/initdb" -D "$d" -A trust -U postgres --no-sync -E UTF8 --locale=C >/dev/null
  cat >> "$d/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$BL_WORK'
shared_buffers = 256MB
max_wal_size = 8GB
autovacuum = off
synchronous_commit = off
CONF
  [ -z "${BENCH_ORIGIN:-}" ] || echo "battledger.origin = '$BENCH_ORIGIN'" >> "$d/postgresql.conf"
  mkdir -p "$BL_WORK/cg_$name"; chown postgres: "$BL_WORK/cg_$name" 2>/dev/null || true
  as_pg bash -c "valgrind --tool=callgrind --trace-children=yes --log-file=$BL_WORK/cg_$name/vg.%p \
    --callgrind-out-file=$BL_WORK/cg_$name/cg.%p --collect-atstart=no $TOGGLES \
    '$bin/postgres' -D '$d' > '$BL_WORK/$name.log' 2>&1 &"
  for _ in $(seq 120); do pg_isready -q -h "$BL_WORK" -p "$PORT" -U postgres && break; sleep 1; done
  psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "$PORT" -U postgres -d postgres -f "$HERE/schema.sql"
  for kind in indexed ledger ledger_noqueue; do
    mk=${kind%_noqueue}; tbl=${mk}_${kind:0:1}${kind: -1}
    q "SELECT bench.make_table('$mk', '${tbl#*_}')" >/dev/null
    if [ "$kind" = ledger_noqueue ]; then
      evt "DISABLE"
      q "ALTER TABLE $tbl DISABLE TRIGGER battledger_log"
      evt "ENABLE"
    fi
    # a warm-up row (the library loaded, the caches made), then the
    # transactions; then a session of the warm-up row alone (steady state)
    for part in all warm; do
      pid=$( { echo "SELECT pg_backend_pid();"; sed -n 1p "$BL_WORK/tx.sql"; [ $part = warm ] || cat "$BL_WORK/tx.sql"; } |
             sed "s/INSERT INTO TBL/INSERT INTO $tbl/" |
             psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "$PORT" -U postgres -d postgres -At | head -n 1)
      f=$BL_WORK/cg_$name/cg.$pid
      for _ in $(seq 60); do [ -s "$f" ] && grep -q '^totals:' "$f" && break; sleep 1; done
      if [ $part = all ]; then RES[$name,$kind]=$f; else RES0[$name,$kind]=$f; fi
    done
  done
  PROB[$name]=$(q "SELECT sum((SELECT count(*) FROM battledger.verify(l.tbl))) FROM battledger.ledger_tables l WHERE NOT builtin")
  as_pg "$bin/pg_ctl" -D "$d" -m fast -w stop >/dev/null
}

declare -A RES RES0 PROB
run_build A "$PG_BIN_A"
run_build B "$PG_BIN_B"

say "instructions per single-row INSERT transaction (callgrind: parse, plan, run, commit), $N transactions"
echo "| build | indexed | ledger | ledger without its log trigger | ledger/indexed | the log queue | ledger B/A |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for b in A B; do
  ii=$(totals "${RES[$b,indexed]}"); il=$(totals "${RES[$b,ledger]}"); in=$(totals "${RES[$b,ledger_noqueue]}")
  ba=""; [ "$b" = B ] && ba=$(fmt '%.3f' "$(awk -v x="$il" -v y="$(totals "${RES[A,ledger]}")" 'BEGIN { print x / y }')")
  echo "| $b | $((ii / (N + 1))) | $((il / (N + 1))) | $((in / (N + 1))) | $(fmt '%.2f' "$(awk -v a="$ii" -v b="$il" 'BEGIN { print a / b }')")x | $(((il - in) / (N + 1))) | $ba |"
done
echo
say "steady state: instructions per transaction beyond a session of the warm-up row alone"
echo "| build | indexed | ledger | ledger without its log trigger | ledger/indexed | the log queue | ledger B/A |"
echo "|---|---:|---:|---:|---:|---:|---:|"
steady() { echo $(( ($(totals "${RES[$1,$2]}") - $(totals "${RES0[$1,$2]}")) / N )); }
for b in A B; do
  ii=$(steady $b indexed); il=$(steady $b ledger); in=$(steady $b ledger_noqueue)
  ba=""; [ "$b" = B ] && ba=$(fmt '%.3f' "$(awk -v x="$il" -v y="$(steady A ledger)" 'BEGIN { print x / y }')")
  echo "| $b | $ii | $il | $in | $(fmt '%.2f' "$(awk -v a="$ii" -v b="$il" 'BEGIN { print a / b }')")x | $((il - in)) | $ba |"
done
echo "verify() problems over every ledger table: A ${PROB[A]}, B ${PROB[B]}"
[ "${PROB[A]}" = 0 ] && [ "${PROB[B]}" = 0 ]
