#!/usr/bin/env bash
# test/bench/verify_ab.sh — verify() and verify_log() of two builds on one
# cluster, in backend CPU time (issue 15, 0.6.0).
#
# The cluster is created and a 1,000-chain ledger table (public.log_events,
# test/bench/log_schema.sql) loaded with BENCH_ROWS rows (default 1M) and
# sealed into the log (one leaf per row) once, with the new build.  Then for
# each of BENCH_REPS rounds the cluster is restarted with the OLD build and
# with the NEW build (alternating which goes first), and verify('log_events'),
# verify_log(false) and verify_log(true) are each run once to warm the caches
# and then timed inside the server: wall ms and the backend's own user +
# system CPU ms (/proc/self/stat), which the other work on a shared machine
# does not inflate.  Both builds must find no problem.  Each is timed twice:
#   fresh  the first call in a new session (a new backend process)
#   warm   the third call in one session (two untimed calls before it)
# A new backend pays for first touching each page of shared memory it reads
# (its page tables are its own; 4 kB pages unless huge_pages is in use) and
# of its own working memory: on the 2-vCPU VM of docs/benchmarks.md that made
# a fresh call of verify() cost about twice a warm one (0.13.0).  The table
# is VACUUMed after loading, so no call sets hint bits.
#
#   OLD_PG_BIN   bin directory of a PostgreSQL copy with the old battledger installed
#   PG_BIN, PG_CONFIG   the new build's (installed: BENCH_NO_INSTALL=1 skips building)
#   BENCH_PORT (55448), BENCH_REPS (3), BENCH_ROWS (1000000)
#   BENCH_KEEP=1 leaves the cluster running (for perf) and prints its directory
#
# Writes test/bench/results/verify_ab.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"

: "${OLD_PG_BIN:?set OLD_PG_BIN to the bin directory of the old build}"
BENCH_PORT=${BENCH_PORT:-55448}
BENCH_REPS=${BENCH_REPS:-3}
ROWS=${BENCH_ROWS:-1000000}
RESULTS=$HERE/results/verify_ab.md
COMMAND="OLD_PG_BIN=$OLD_PG_BIN BENCH_REPS=$BENCH_REPS BENCH_ROWS=$ROWS test/bench/verify_ab.sh"
NEW_PG_BIN=$PG_BIN

GIT_STATE=$(bench_git_state)
bench_install
bl_scratch
[ "${BENCH_KEEP:-0}" = 1 ] && trap - EXIT     # keep the scratch directory and cluster
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_0=$(machine_busy); OWN_0=$(children_cpu); T_0=$(now_ms)
bl_start_cluster bench_v "$BENCH_PORT" "$(bl_test_log_conf bench.example/log)
shared_buffers = 1GB
work_mem = 128MB
max_wal_size = 8GB"
DATA=$BL_WORK/bench_v

psql_() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
q() { psql_ -At -c "$1"; }
restart_with() {            # restart_with BINDIR
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  PG_BIN=$1
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$DATA.log" -w start >/dev/null
}

say "creating the ledger table and the log: $ROWS rows"
psql_ -f "$HERE/log_schema.sql" >/dev/null
sed "s/CLK_TCK_HERE/$(getconf CLK_TCK)/" <<'SQL' | psql_ >/dev/null
CREATE FUNCTION bench_log.cpu_ms() RETURNS numeric LANGUAGE sql AS $$
  SELECT (split_part(s, ' ', 14)::numeric + split_part(s, ' ', 15)::numeric) * 1000 / CLK_TCK_HERE
    FROM pg_read_file('/proc/self/stat') AS s $$;
-- what: 'verify', 'log_false' or 'log_true'; wall and backend CPU ms, problems found
CREATE FUNCTION bench_log.time_verify_cpu(what text, OUT ms numeric, OUT cpu_ms numeric, OUT problems bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    t0 timestamptz;
    c0 numeric;
BEGIN
    c0 := bench_log.cpu_ms();
    t0 := clock_timestamp();
    CASE what
      WHEN 'verify' THEN SELECT count(*) INTO problems FROM battledger.verify('public.log_events');
      WHEN 'log_false' THEN SELECT count(*) INTO problems FROM battledger.verify_log(false);
      ELSE SELECT count(*) INTO problems FROM battledger.verify_log(true);
    END CASE;
    ms := round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
    cpu_ms := round(bench_log.cpu_ms() - c0, 1);
END $fn$;
SQL
q "SELECT bench_log.load(1, $ROWS)" >/dev/null
q "SELECT battledger.seal()" >/dev/null
q "VACUUM ANALYZE battledger.log_leaf"
q "VACUUM ANALYZE battledger.log_tile"
q "VACUUM ANALYZE public.log_events"

VARIANTS="verify log_false log_true"
declare -A MS CPU WMS WCPU
one() {                     # one BUILD ROUND
  local b=$1 r=$2 v ms cpu problems t
  [ "$b" = old ] && restart_with "$OLD_PG_BIN" || restart_with "$NEW_PG_BIN"
  for v in $VARIANTS; do
    q "SELECT problems FROM bench_log.time_verify_cpu('$v')" >/dev/null
    IFS='|' read -r ms cpu problems <<<"$(q "SELECT ms, cpu_ms, problems FROM bench_log.time_verify_cpu('$v')")"
    [ "$problems" = 0 ] || { echo "$b build: $v found $problems problems" >&2; exit 1; }
    MS[$b,$v,$r]=$ms; CPU[$b,$v,$r]=$cpu
    t=$(psql_ -At -c "SELECT 1 FROM bench_log.time_verify_cpu('$v')" -c "SELECT 1 FROM bench_log.time_verify_cpu('$v')" \
          -c "SELECT ms, cpu_ms, problems FROM bench_log.time_verify_cpu('$v')" | tail -1)
    IFS='|' read -r ms cpu problems <<<"$t"
    [ "$problems" = 0 ] || { echo "$b build: $v found $problems problems" >&2; exit 1; }
    WMS[$b,$v,$r]=$ms; WCPU[$b,$v,$r]=$cpu
    echo "$b build, round $r: $v fresh ${MS[$b,$v,$r]} ms, backend CPU ${CPU[$b,$v,$r]} ms; warm $ms ms, CPU $cpu ms"
  done
}
for r in $(seq 1 "$BENCH_REPS"); do
  say "round $r"
  if [ $((r % 2)) = 1 ]; then one old "$r"; one new "$r"; else one new "$r"; one old "$r"; fi
done
restart_with "$NEW_PG_BIN"

ELAPSED=$(( ($(now_ms) - T_0) / 1000 ))
OWN=$(awk -v a="$(children_cpu)" -v b="$OWN_0" 'BEGIN { print a - b }')
OTHER=$(awk -v a="$(machine_busy)" -v b="$BUSY_0" -v o="$OWN" 'BEGIN { x = a - b - o; print (x < 0) ? 0 : x }')
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

name() { case $1 in verify) echo "verify(log_events)";; log_false) echo "verify_log(false)";; *) echo "verify_log(true)";; esac; }
mkdir -p "$(dirname "$RESULTS")"
{
  bench_report_head ": verify() and verify_log(), old build vs new build on one cluster" "$COMMAND"
  bench_run_rows
  echo
  echo "## $ROWS rows (1,000 chains), sealed into $ROWS leaves; median of $BENCH_REPS rounds (in the server, shared buffers warm)"
  echo
  echo "Backend CPU time (user + system), the one-core rate, **fresh session** (the first call in a new backend):"
  echo
  echo "| variant | old CPU ms | **new CPU ms** | old rows per CPU s | **new rows per CPU s** | **new / old** | runs old | runs new |"
  echo "|---|---:|---:|---:|---:|---:|---|---|"
  for v in $VARIANTS; do
    o=(); n=()
    for r in $(seq 1 "$BENCH_REPS"); do o+=("${CPU[old,$v,$r]}"); n+=("${CPU[new,$v,$r]}"); done
    mo=$(median "${o[@]}"); mn=$(median "${n[@]}")
    echo "| $(name $v) | $mo | **$mn** | $(awk -v n="$ROWS" -v m="$mo" 'BEGIN { printf "%.0f", n / (m / 1000) }') | **$(awk -v n="$ROWS" -v m="$mn" 'BEGIN { printf "%.0f", n / (m / 1000) }')** | **$(fmt '%.2f' "$(awk -v a="$mo" -v b="$mn" 'BEGIN { print a / b }')")x** | ${o[*]} | ${n[*]} |"
  done
  echo
  echo "Backend CPU time, **warm session** (the third call in one backend):"
  echo
  echo "| variant | old CPU ms | **new CPU ms** | old rows per CPU s | **new rows per CPU s** | **new / old** | runs old | runs new |"
  echo "|---|---:|---:|---:|---:|---:|---|---|"
  for v in $VARIANTS; do
    o=(); n=()
    for r in $(seq 1 "$BENCH_REPS"); do o+=("${WCPU[old,$v,$r]}"); n+=("${WCPU[new,$v,$r]}"); done
    mo=$(median "${o[@]}"); mn=$(median "${n[@]}")
    echo "| $(name $v) | $mo | **$mn** | $(awk -v n="$ROWS" -v m="$mo" 'BEGIN { printf "%.0f", n / (m / 1000) }') | **$(awk -v n="$ROWS" -v m="$mn" 'BEGIN { printf "%.0f", n / (m / 1000) }')** | **$(fmt '%.2f' "$(awk -v a="$mo" -v b="$mn" 'BEGIN { print a / b }')")x** | ${o[*]} | ${n[*]} |"
  done
  echo
  echo "Wall time, fresh session:"
  echo
  echo "| variant | old ms | **new ms** | old rows/s | **new rows/s** | **new / old** | runs old | runs new |"
  echo "|---|---:|---:|---:|---:|---:|---|---|"
  for v in $VARIANTS; do
    o=(); n=()
    for r in $(seq 1 "$BENCH_REPS"); do o+=("${MS[old,$v,$r]}"); n+=("${MS[new,$v,$r]}"); done
    mo=$(median "${o[@]}"); mn=$(median "${n[@]}")
    echo "| $(name $v) | $mo | **$mn** | $(awk -v n="$ROWS" -v m="$mo" 'BEGIN { printf "%.0f", n / (m / 1000) }') | **$(awk -v n="$ROWS" -v m="$mn" 'BEGIN { printf "%.0f", n / (m / 1000) }')** | **$(fmt '%.2f' "$(awk -v a="$mo" -v b="$mn" 'BEGIN { print a / b }')")x** | ${o[*]} | ${n[*]} |"
  done
} | tee "$RESULTS"
if [ "${BENCH_KEEP:-0}" = 1 ]; then
  echo "cluster left running: $DATA (PGHOST=$BL_WORK PGPORT=$BENCH_PORT)"
else
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
fi
