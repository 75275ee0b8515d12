#!/usr/bin/env bash
# test/bench/passport_holder_ab.sh — the passport holder's probe of two builds
# (red team r11 T1, 0.12.0: battery_event_passport_holder ends with
# battery_id, the fold and the holder trigger break registry-order ties by
# it), in backend CPU time.
#
# Two clusters, one per build (the change is in SQL objects, so each build
# creates its own extension), both running; each loads the same BENCH_N
# batteries (default 10,000) with sql/registry.sql's test members: a
# manufacture and a placing on the market with its own passport id, each
# row signed (TEST-ONLY signer).  Timed:
#   load     the issuing statements, BENCH_N rows in BENCH_REPS slices,
#            alternating which build goes first (the writer's verdict and the
#            holder trigger probe the index: three probes a row)
#   fold     every battery's whole fold (battery_lifecycle(): one holder
#            probe a battery), in a fresh session, once to warm, once timed,
#            BENCH_REPS rounds alternating which build goes first
# and the holder index's size.  Both builds must compute the same states.
#
#   OLD_PG_BIN   bin directory of a PostgreSQL copy with the old battledger installed
#   PG_BIN       the new build's (installed before: this script builds nothing)
#   BENCH_PORT (55498; the old build's cluster on the next port), BENCH_REPS (5), BENCH_N (10000)
#
# Writes test/bench/results/passport_holder_ab.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"

: "${OLD_PG_BIN:?set OLD_PG_BIN to the bin directory of the old build}"
BENCH_PORT=${BENCH_PORT:-55498}
BENCH_REPS=${BENCH_REPS:-5}
N=${BENCH_N:-10000}
RESULTS=$HERE/results/passport_holder_ab.md
COMMAND="OLD_PG_BIN=$OLD_PG_BIN BENCH_REPS=$BENCH_REPS BENCH_N=$N test/bench/passport_holder_ab.sh"
NEW_PG_BIN=$PG_BIN
GIT_STATE=$(bench_git_state)
bl_scratch
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_0=$(machine_busy); T_0=$(now_ms)

declare -A BIN=([old]=$OLD_PG_BIN [new]=$NEW_PG_BIN) PORTOF=([new]=$BENCH_PORT [old]=$((BENCH_PORT + 1)))
for b in old new; do
  PG_BIN=${BIN[$b]} bl_start_cluster "bench_$b" "${PORTOF[$b]}" "shared_buffers = 256MB
work_mem = 64MB"
done
qb() { local b=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORTOF[$b]}" -d postgres "$@"; }

CPU_FN="CREATE FUNCTION public.cpu_ms() RETURNS numeric LANGUAGE sql AS \$\$
  SELECT (split_part(s, ' ', 14)::numeric + split_part(s, ' ', 15)::numeric) * 1000 / $(getconf CLK_TCK)
    FROM pg_read_file('/proc/self/stat') AS s \$\$;"
# timed STATEMENT: "cpu_ms wall_ms" of the statement in this backend
timed() {
  local b=$1 sql=$2
  qb "$b" <<SQL | tail -n 1
SELECT public.cpu_ms() AS c0, clock_timestamp() AS t0 \gset
$sql
SELECT round(public.cpu_ms() - :c0) || ' ' || round(extract(epoch FROM clock_timestamp() - :'t0') * 1000);
SQL
}

declare -A LOAD_CPU
for b in old new; do
  say "$b: making $N batteries"
  qb "$b" -c "CREATE EXTENSION battledger" -c "ALTER DATABASE postgres SET search_path = public, battledger, battledger_test" -c "$CPU_FN" >/dev/null
  sed -n '1,52p' "$BL_ROOT/sql/registry.sql" | qb "$b" >/dev/null
  qb "$b" -c "SELECT count(ev('cells.test', jsonb_build_object('battery_id', bid('H' || i)::text, 'event', 'manufactured',
                'model_id', 'NMC-18650-2Ah', 'occurred_at', '2024-03-01T00:00:00Z'))) FROM generate_series(1, $N) i" \
     -c "VACUUM ANALYZE battledger.battery_event" >/dev/null
done
# the placings in BENCH_REPS slices, alternating which build goes first
step=$(( (N + BENCH_REPS - 1) / BENCH_REPS ))
for r in $(seq 1 "$BENCH_REPS"); do
  lo=$(( (r - 1) * step + 1 )); hi=$(( r * step < N ? r * step : N ))
  order="old new"; [ $((r % 2)) = 0 ] && order="new old"
  for b in $order; do
    a=$(timed "$b" "SELECT count(ev('cells.test', jsonb_build_object('battery_id', bid('H' || i)::text, 'event', 'placed_on_market',
                  'passport_id', 'P-H' || i, 'occurred_at', '2024-03-02T00:00:00Z'))) FROM generate_series($lo, $hi) i;")
    LOAD_CPU[$b]+="${a%% *} "
  done
done
for b in old new; do qb "$b" -c "VACUUM ANALYZE battledger.battery_event" >/dev/null; done

FOLD="SELECT count(*) FILTER (WHERE l.effective) FROM generate_series(1, $N) i, battledger.battery_lifecycle(bid('H' || i)) l;"
declare -A FOLD_CPU FOLD_WALL
for r in $(seq 1 "$BENCH_REPS"); do
  order="old new"; [ $((r % 2)) = 0 ] && order="new old"
  for b in $order; do
    timed "$b" "$FOLD" >/dev/null
    t=$(timed "$b" "$FOLD")
    FOLD_CPU[$b]+="${t%% *} "; FOLD_WALL[$b]+="${t##* } "
  done
done

same=$( [ "$(qb old -c "SELECT md5(string_agg(s::text, ',' ORDER BY i)) FROM generate_series(1, $N) i, battledger.battery_state(bid('H' || i)) s")" = \
          "$(qb new -c "SELECT md5(string_agg(s::text, ',' ORDER BY i)) FROM generate_series(1, $N) i, battledger.battery_state(bid('H' || i)) s")" ] && echo yes || echo NO)
held=$(qb new -c "SELECT count(*) FROM generate_series(1, $N) i WHERE (battery_state(bid('H' || i))).passport_id = 'P-H' || i")
T_1=$(now_ms); BUSY_1=$(machine_busy)
mkdir -p "$(dirname "$RESULTS")"
{
  bench_report_head ": the passport holder's probe, two builds" "$COMMAND"
  echo
  echo "new: $GIT_STATE ($NEW_PG_BIN); old: $OLD_PG_BIN. Load average before: $LOAD_BEFORE; machine busy $(fmt '%.0f' "$(awk -v a="$BUSY_0" -v b="$BUSY_1" -v t="$(( (T_1 - T_0) ))" -v n="$(nproc)" 'BEGIN { print 100 * (b - a) / (t / 1000 * n) }')")% of $(nproc) CPUs over the run."
  echo
  echo "| | old | new |"
  echo "|---|---|---|"
  echo "| $step placings on the market (one statement), backend CPU ms, median of $BENCH_REPS (all) | $(median ${LOAD_CPU[old]}) (${LOAD_CPU[old]% }) | $(median ${LOAD_CPU[new]}) (${LOAD_CPU[new]% }) |"
  echo "| whole fold of $N batteries, backend CPU ms, median of $BENCH_REPS (all) | $(median ${FOLD_CPU[old]}) (${FOLD_CPU[old]% }) | $(median ${FOLD_CPU[new]}) (${FOLD_CPU[new]% }) |"
  echo "| the same, wall ms, median | $(median ${FOLD_WALL[old]}) | $(median ${FOLD_WALL[new]}) |"
  echo "| battery_event_passport_holder, bytes per issuing row | $(qb old -c "SELECT round(pg_relation_size('battledger.battery_event_passport_holder') / $N.0, 1)") | $(qb new -c "SELECT round(pg_relation_size('battledger.battery_event_passport_holder') / $N.0, 1)") |"
  echo
  echo "Same states on both builds: $same; batteries holding their passport (new): $held of $N."
} | tee "$RESULTS"
