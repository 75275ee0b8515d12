#!/usr/bin/env bash
# test/bench/registry.sh — what does the battery registry cost on real data?
#
# Starts one throwaway PostgreSQL 15 cluster (durable commits: fsync and
# synchronous_commit at their defaults) with the TEST-ONLY log key and the
# TEST-ONLY signer (test/signer), a database "registry" with battledger and
# battledger_test_signer, and measures in one run (see registry_schema.sql):
#
#   1. loading the whole NASA PCoE file (data/nasa: 2,358 real measurements of
#      21 cells) as batch-signed soh_reported events, one battery and one
#      signed batch per cell, one transaction per batch: disclosures (the
#      commitments' cleartext), the signed manifest, the events, COMMIT (the
#      deferred batch check).  Signatures, roots, salts and commitments are
#      made beforehand, untimed, as a client does before uploading.  The same
#      rows into a plain table (same columns, same 21 transactions) beside it;
#      BENCH_REPS runs, each into 21 new batteries, medians reported;
#   2. read latency for batteries with thousands of events: NASA-ALL-X1 (all
#      21 cells' reports concatenated: 2,358 events) and NASA-ALL-X2 (that
#      set twice: 4,716 events), pgbench -n -c 1 -T BENCH_SECONDS per call,
#      median and p95 from pgbench -l, for passport() (public and
#      legitimate_interest), battery_history() and material_provenance();
#   3. verify('battledger.battery_event') and verify_log() at the end.
#
# If a passport() latency goal (≤ 2 ms) is missed, or BENCH_PROFILE=1, the
# backend serving pgbench is profiled with perf record -g.
#
# Prints a markdown summary and writes it to test/bench/results/registry.md.
#
# Environment:
#   BENCH_PORT       port of the private cluster (default 55444)
#   BENCH_SECONDS    duration of each pgbench run (default 10)
#   BENCH_REPS       runs of each load and of each verify, median reported (default 3)
#   BENCH_CALLS      in-server timed calls per read function and battery (default 200)
#   BENCH_PROFILE    1: profile passport() even if its goal is met (default 0)
#   BENCH_X8         1: also NASA-ALL-X8 (the 21 cells' reports eight times:
#                    18,864 events) in part 2 (default 0)
#   BENCH_NO_INSTALL 1: install and build nothing, use battledger and the signer as
#                    installed for PG_CONFIG (lib.sh)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"

BENCH_PORT=${BENCH_PORT:-55444}
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_CALLS=${BENCH_CALLS:-200}
BENCH_PROFILE=${BENCH_PROFILE:-0}
BENCH_X8=${BENCH_X8:-0}
XS="x1 x2"; [ "$BENCH_X8" = 1 ] && XS="x1 x2 x8"   # the long-lived batteries of part 2
PERF_SECONDS=5
DB=registry
NASA_CSV=$BL_ROOT/data/nasa/nasa_pcoe_cycle_summary.csv
GOAL_MS=2                   # passport() latency (issue 15; 0.5.0 and before: 5 ms)
RESULTS=$HERE/results/registry.md
COMMAND="BENCH_X8=$BENCH_X8 BENCH_SECONDS=$BENCH_SECONDS BENCH_REPS=$BENCH_REPS BENCH_CALLS=$BENCH_CALLS BENCH_PROFILE=$BENCH_PROFILE test/bench/registry.sh"
GS1=gs1:01/09521234567899/21  # battery ids: bench_reg.bid(serial) = $GS1/<serial>

div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rps() { awk -v n="$1" -v m="$2" 'BEGIN { printf "%.0f", n / (m / 1000) }'; }   # per second from count and ms
goal_le() { awk -v x="$1" -v g="$2" 'BEGIN { print (x <= g) ? "met" : "**missed**" }'; }

GIT_STATE=$(bench_git_state)   # the commit built, and uncommitted files
bench_install signer           # lib.sh; BENCH_NO_INSTALL=1 skips it
bl_scratch                  # BL_WORK must exist before bl_test_log_conf copies the key into it
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_0=$(machine_busy); OWN_0=$(children_cpu); T_0=$(now_ms)
bl_start_cluster bench_reg "$BENCH_PORT" "$(bl_test_log_conf bench.example/registry)
shared_buffers = 1GB"

psql_() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
q() { psql_ -At -c "$1"; }

say "creating database $DB"
createdb "$DB"
q "CREATE EXTENSION battledger"
q "CREATE EXTENSION battledger_test_signer"    # TEST ONLY: private keys in SQL
# shellcheck disable=SC2016
q 'ALTER DATABASE registry SET search_path = "$user", public, battledger, battledger_test'

say "creating benchmark schema (test/bench/registry_schema.sql), NASA usage from ${NASA_CSV#"$BL_ROOT"/}"
psql_ -v nasa_csv="$NASA_CSV" -f "$HERE/registry_schema.sql" >/dev/null
IFS='|' read -r MEASUREMENTS CELLS <<<"$(q "SELECT count(*), count(DISTINCT cell) FROM bench_reg.nasa_usage")"
echo "$MEASUREMENTS measurements of $CELLS cells"
if [ "$MEASUREMENTS" != 2358 ] || [ "$CELLS" != 21 ]; then echo "expected 2,358 measurements of 21 cells" >&2; exit 1; fi

# ---------------------------------------------------------------------------
# Batteries (per-row signed manufacture, market, installation; untimed) and
# the uploads, signed beforehand (untimed).
# ---------------------------------------------------------------------------
LOADS=""
for r in $(seq "$BENCH_REPS"); do LOADS="$LOADS r$r"; done
say "placing $((BENCH_REPS * CELLS)) + 2 batteries on the market (manufactured, placed_on_market, installed)"
for r in $(seq "$BENCH_REPS"); do
  q "SELECT count(bench_reg.place(cell || '-R$r')) FROM (SELECT DISTINCT cell FROM bench_reg.nasa_usage) c" >/dev/null
done
q "SELECT bench_reg.place('NASA-ALL-X1', with_lots => true), bench_reg.place('NASA-ALL-X2', with_lots => true)" >/dev/null
[ "$BENCH_X8" = 1 ] && q "SELECT bench_reg.place('NASA-ALL-X8', with_lots => true)" >/dev/null

say "signing the uploads beforehand (content hashes, Merkle roots, Ed25519 per batch, salts, commitments)"
t0=$(now_ms)
for l in $LOADS; do q "SELECT bench_reg.stage('$l')" >/dev/null; done
q "SELECT bench_reg.stage('x1', 'NASA-ALL-X1', 1)" >/dev/null
q "SELECT bench_reg.stage('x2', 'NASA-ALL-X2', 2)" >/dev/null
[ "$BENCH_X8" = 1 ] && q "SELECT bench_reg.stage('x8', 'NASA-ALL-X8', 8)" >/dev/null
SIGN_MS=$(( $(now_ms) - t0 ))
STAGED=$(q "SELECT string_agg(format('%s: %s events in %s batches', load, n, b), '; ' ORDER BY load)
              FROM (SELECT load, count(*) AS n, count(DISTINCT batch_no) AS b FROM bench_reg.stage_event GROUP BY load) s")
echo "$STAGED ($SIGN_MS ms)"
q "VACUUM ANALYZE bench_reg.stage_event"
q "VACUUM ANALYZE bench_reg.stage_batch"

# As run.sh: write WAL once so that no timed load pays for creating segments
# (~150 MB; a load writes a few MB).
say "warming up WAL"
q "CREATE TABLE bench_reg.warmup AS SELECT g, md5(g::text) AS m FROM generate_series(1, 1000000) AS g"
q "DROP TABLE bench_reg.warmup"
q "CHECKPOINT"

# ---------------------------------------------------------------------------
# 1. the uploads.  Per run: plain events; plain events + plain disclosures;
#    the registry (disclosures, signed batches, events).  A CHECKPOINT before
#    each, so no load inherits another's dirty buffers.
# ---------------------------------------------------------------------------
declare -A L_MS L_DISC L_BATCH L_EV L_COMMIT L_WALL
LOAD_FAILURES=()
load() {                    # load KIND LOAD EVENTS DISCLOSURES BATCHES; prints the CALL's outputs
  local kind=$1 l=$2 out t0 wall n ms disc batch ev commit
  q "CHECKPOINT"
  t0=$(now_ms)
  if ! out=$(q "CALL bench_reg.load('$l', '$3', $4, $5)" 2>&1); then
    echo "  $kind: $out"
    LOAD_FAILURES+=("$kind, upload $l: $(grep -m1 ERROR <<<"$out")")
    return 0
  fi
  wall=$(( $(now_ms) - t0 ))
  IFS='|' read -r ms disc batch ev commit n <<<"$out"
  [ "$n" = "$(q "SELECT count(*) FROM bench_reg.stage_event WHERE load = '$l'")" ] \
    || { echo "$kind, upload $l: $n events inserted" >&2; exit 1; }
  echo "  $kind: $n events, $ms ms ($(rps "$n" "$ms") events/s): disclosures $disc ms, batch manifests $batch ms," \
       "events $ev ms, COMMITs $commit ms; shell wall time $wall ms"
  L_MS[$kind]+=" $ms"; L_DISC[$kind]+=" $disc"; L_BATCH[$kind]+=" $batch"
  L_EV[$kind]+=" $ev"; L_COMMIT[$kind]+=" $commit"; L_WALL[$kind]+=" $wall"
}
for l in $LOADS; do
  say "upload $l: the NASA file, $CELLS batteries, one transaction per cell"
  q "SELECT bench_reg.make_plain('${l}e'), bench_reg.make_plain('${l}d')" >/dev/null
  load plain "$l" "bench_reg.plain_event_${l}e" NULL false
  load plain_disc "$l" "bench_reg.plain_event_${l}d" "'bench_reg.plain_disclosure_${l}d'" false
  load ledger "$l" battledger.battery_event "'battledger.disclosure'" true
done
[ -n "${L_MS[ledger]:-}" ] || { echo "every registry upload was refused" >&2; exit 1; }
N_FLEET=$(q "SELECT count(*) FROM bench_reg.stage_event WHERE load = 'r1'")
declare -A M_MS M_DISC M_BATCH M_EV M_COMMIT M_WALL
for kind in plain plain_disc ledger; do
  # shellcheck disable=SC2086
  { M_MS[$kind]=$(median ${L_MS[$kind]}); M_DISC[$kind]=$(median ${L_DISC[$kind]}); M_BATCH[$kind]=$(median ${L_BATCH[$kind]})
    M_EV[$kind]=$(median ${L_EV[$kind]}); M_COMMIT[$kind]=$(median ${L_COMMIT[$kind]}); M_WALL[$kind]=$(median ${L_WALL[$kind]}); }
done

# The two long-lived batteries, loaded the same way (not part of the goal).
declare -A X_MS X_N
for l in $XS; do
  say "upload $l: one battery, every cell's reports$([ $l = x2 ] && echo ", twice")$([ $l = x8 ] && echo ", eight times")"
  q "CHECKPOINT"
  IFS='|' read -r X_MS[$l] _ _ _ _ X_N[$l] <<<"$(q "CALL bench_reg.load('$l', 'battledger.battery_event', 'battledger.disclosure', true)")"
  echo "  ${X_N[$l]} events, ${X_MS[$l]} ms"
done

say "seal(), then VACUUM ANALYZE (tables at rest)"
t0=$(now_ms)
q "SELECT battledger.seal()" >/dev/null
SEAL_MS=$(( $(now_ms) - t0 ))
SEAL_LEAVES=$(q "SELECT count(*) FROM battledger.log_leaf")
PENDING=$(q "SELECT count(*) FROM battledger.log_pending")
echo "$SEAL_LEAVES leaves, $PENDING pending, ${SEAL_MS} ms"
for t in battledger.battery_event battledger.disclosure battledger.batch battledger.lot_event battledger.battery_model \
         battledger.log_leaf battledger.log_tile battledger.checkpoint battledger.keys battledger.members; do
  q "VACUUM ANALYZE $t" 2>/dev/null || true
done

# ---------------------------------------------------------------------------
# 2. read latency.
# ---------------------------------------------------------------------------
declare -A B_SERIAL B_EVENTS B_DESC
B_SERIAL[x1]=NASA-ALL-X1; B_SERIAL[x2]=NASA-ALL-X2; B_SERIAL[x8]=NASA-ALL-X8
for b in $XS; do
  B_EVENTS[$b]=$(q "SELECT count(*) FROM battledger.battery_event WHERE battery_id = bench_reg.bid('${B_SERIAL[$b]}')")
done
B_DESC[x1]="the 21 cells' reports concatenated once"
B_DESC[x2]="the 21 cells' reports concatenated, the whole set twice"
B_DESC[x8]="the 21 cells' reports concatenated, the whole set eight times"
# Sanity: the passport's remainingCapacity is the last staged report carrying capacity_ah.
CHECK=""
for b in $XS; do
  IFS='|' read -r got want <<<"$(q "SELECT battledger.passport(bench_reg.bid('${B_SERIAL[$b]}'), 'legitimate_interest')
                                             ->'performance'->'dynamic'->'remainingCapacity'->>'value',
                                           (SELECT value->>'capacity_ah' FROM bench_reg.stage_event
                                             WHERE load = '$b' AND value ? 'capacity_ah' ORDER BY batch_no DESC, seq DESC LIMIT 1)")"
  CHECK="$CHECK ${B_SERIAL[$b]}: passport remainingCapacity $got Ah, last staged capacity_ah $want Ah;"
  [ "$got" = "$want" ] || { echo "passport of ${B_SERIAL[$b]}: remainingCapacity $got, expected $want" >&2; exit 1; }
done
echo "check:$CHECK"
PASSPORT_BYTES=$(q "SELECT length(battledger.passport(bench_reg.bid('NASA-ALL-X2'))::text) || ' / ' ||
                           length(battledger.passport(bench_reg.bid('NASA-ALL-X2'), 'legitimate_interest')::text)")
PROV_ROWS=$(q "SELECT count(*) FROM battledger.material_provenance(bench_reg.bid('NASA-ALL-X2'))")

# A non-superuser member of battledger_legitimate_interest (row-level security applies), for comparison.
q "CREATE ROLE bench_repairer LOGIN IN ROLE battledger_legitimate_interest"
q "GRANT USAGE ON SCHEMA battledger_test, bench_reg TO bench_repairer"

READS="passport_public passport_li history provenance passport_li_rls passport_li_nojit"
declare -A R_SCRIPT R_LABEL R_STMT R_USER R_OPTS
R_SCRIPT[passport_public]=registry_passport_public.sql;  R_LABEL[passport_public]="passport(id) — public"
R_SCRIPT[passport_li]=registry_passport_li.sql;          R_LABEL[passport_li]="passport(id, 'legitimate_interest') — superuser, RLS bypassed"
R_SCRIPT[history]=registry_history.sql;                  R_LABEL[history]="SELECT * FROM battery_history(id) — all rows to the client"
R_SCRIPT[provenance]=registry_provenance.sql;            R_LABEL[provenance]="SELECT * FROM material_provenance(id)"
R_SCRIPT[passport_li_rls]=registry_passport_li.sql;      R_LABEL[passport_li_rls]="passport(id, 'legitimate_interest') — LOGIN member of battledger_legitimate_interest, RLS applied (info)"
R_SCRIPT[passport_li_nojit]=registry_passport_li.sql;    R_LABEL[passport_li_nojit]="passport(id, 'legitimate_interest') — superuser, with PGOPTIONS='-c jit=off' (info)"
R_STMT[passport_public]='SELECT battledger.passport($1)'
R_STMT[passport_li]="SELECT battledger.passport(\$1, 'legitimate_interest')"
R_STMT[history]='SELECT count(*) FROM battledger.battery_history($1)'
R_STMT[provenance]='SELECT count(*) FROM battledger.material_provenance($1)'
R_STMT[passport_li_rls]=${R_STMT[passport_li]}
R_STMT[passport_li_nojit]=${R_STMT[passport_li]}
for what in $READS; do R_USER[$what]=postgres; R_OPTS[$what]=""; done
R_USER[passport_li_rls]=bench_repairer
R_OPTS[passport_li_nojit]="-c jit=off"

declare -A P_TX P_AVG P_MED P_P95 P_IN_MED P_IN_P95 P_CPU
TICK_HZ=$(getconf CLK_TCK)   # /proc/self/stat counts CPU time in these
pgb_cmd() {                 # the pgbench command line for READ on battery B
  local opts="" user=""
  [ -n "${R_OPTS[$1]}" ] && opts="PGOPTIONS='${R_OPTS[$1]}' "
  [ "${R_USER[$1]}" = postgres ] || user=" -U ${R_USER[$1]}"
  echo "${opts}pgbench -n -c 1 -T $BENCH_SECONDS -f test/bench/${R_SCRIPT[$1]} -D id=\"'$GS1/${B_SERIAL[$2]}'\"$user -l $DB"
}
pgb_read() {                # pgb_read READ B
  local what=$1 b=$2 prefix=$BL_WORK/pgb_$1_$2 out stats nlog
  say "pgbench: $what on ${B_SERIAL[$b]} (${B_EVENTS[$b]} events), 1 client, ${BENCH_SECONDS}s"
  out=$(cd "$BL_WORK" && PGOPTIONS="${R_OPTS[$what]}" pgbench -n -c 1 -T "$BENCH_SECONDS" -f "$HERE/${R_SCRIPT[$what]}" \
          -D id="'$GS1/${B_SERIAL[$b]}'" -U "${R_USER[$what]}" -l --log-prefix="$prefix" "$DB" 2>&1) || { echo "$out"; exit 1; }
  grep -E '^(number of transactions actually processed|number of failed|latency average|tps)' <<<"$out" || true
  P_TX[$what,$b]=$(awk -F': ' '/^number of transactions actually processed/ { split($2, a, "/"); print a[1]; exit }' <<<"$out")
  P_AVG[$what,$b]=$(awk '/^latency average/ { print $4; exit }' <<<"$out")
  # -l: one line per transaction, the third field its latency in microseconds
  stats=$(cat "$prefix".* | awk '{ print $3 }' | sort -n |
          awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
                                    p = v[int(0.95 * NR + 0.999999)];
                                    printf "%.3f %.3f %d", m / 1000, p / 1000, NR }')
  read -r "P_MED[$what,$b]" "P_P95[$what,$b]" nlog <<<"$stats"
  [ "$nlog" = "${P_TX[$what,$b]}" ] || { echo "pgbench log has $nlog lines for ${P_TX[$what,$b]} transactions" >&2; exit 1; }
  rm -f "$prefix".*
  IFS='|' read -r "P_IN_MED[$what,$b]" "P_IN_P95[$what,$b]" "P_CPU[$what,$b]" \
    <<<"$(PGOPTIONS="${R_OPTS[$what]}" psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -U "${R_USER[$what]}" -At \
            -c "SELECT median_us, p95_us, cpu_us FROM bench_reg.time_calls(\$s\$${R_STMT[$what]}\$s\$, bench_reg.bid('${B_SERIAL[$b]}'), $BENCH_CALLS, $TICK_HZ)")"
  echo "median ${P_MED[$what,$b]} ms, p95 ${P_P95[$what,$b]} ms (pgbench -l); in-server median ${P_IN_MED[$what,$b]} µs, p95 ${P_IN_P95[$what,$b]} µs, backend CPU ${P_CPU[$what,$b]} µs per call"
}
for b in $XS; do
  for what in $READS; do pgb_read "$what" "$b"; done
done

# ---------------------------------------------------------------------------
# Profiles: perf record -g on a backend.  passport() (as pgbench runs it) for
# each battery and tier whose goal is missed (or all, BENCH_PROFILE=1); and,
# always, one extra upload of the NASA file (untimed: p1, 21 more batteries),
# to show where a registry load spends its time.
# ---------------------------------------------------------------------------
PROFILE_TARGETS=()
for what in passport_public passport_li; do
  for b in $XS; do
    if [ "$BENCH_PROFILE" = 1 ] || [ "$(goal_le "${P_P95[$what,$b]}" "$GOAL_MS")" != met ]; then
      PROFILE_TARGETS+=("$what,$b")
    fi
  done
done
# Inclusive shares (perf report --children) of a few exported functions that
# tell the story: SQL-language function bodies, their parsing and planning, triggers.
MARKERS="fmgr_sql pg_plan_query pg_analyze_and_rewrite_withcb raw_parser ExecBRInsertTriggers plpgsql_exec_trigger ExecMakeTableFunctionResult index_getbitmap heap_insert"
declare -A PROFILE PROFILE_MARKS
perf_summary() {            # perf_summary DATA KEY
  local data=$1 key=$2 m
  PROFILE[$key]=$(perf report -i "$data" --stdio --no-children --sort dso,symbol -g none --percent-limit 1.5 2>/dev/null |
                  awk '/^ +[0-9.]+%/ { sub(/ +-? +-? *$/, ""); print }' | grep -v ' 0x0000' | head -n 15 || true)
  PROFILE_MARKS[$key]="self time by object: $(perf report -i "$data" --stdio --no-children --sort dso -g none 2>/dev/null |
                        awk '/^ +[0-9.]+%/ && n < 5 { printf "%s %s; ", $2, $1; n++ }')

inclusive: "
  local children
  children=$(perf report -i "$data" --stdio --children --sort symbol -g none 2>/dev/null | awk '/^ +[0-9.]+%/ { print $1, $4 }')
  for m in $MARKERS; do
    PROFILE_MARKS[$key]+=$(awk -v m="$m" '$2 == m { printf "%s %s; ", m, $1; exit }' <<<"$children")
  done
}
profile_read() {            # profile_read READ B
  local what=$1 b=$2 pid pgb_pid data=$BL_WORK/perf_$1_$2.data
  say "perf record -g: $what on ${B_SERIAL[$b]}, ${PERF_SECONDS}s"
  ( cd "$BL_WORK" && PGOPTIONS="${R_OPTS[$what]}" pgbench -n -c 1 -T $((PERF_SECONDS + 4)) -f "$HERE/${R_SCRIPT[$what]}" \
      -D id="'$GS1/${B_SERIAL[$b]}'" "$DB" >/dev/null 2>&1 ) &
  pgb_pid=$!
  sleep 1
  pid=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench' AND datname = '$DB' LIMIT 1")
  [ -z "$pid" ] || perf record -q -g -p "$pid" -o "$data" -- sleep "$PERF_SECONDS" >/dev/null 2>&1 || true
  if [ -s "$data" ]; then
    perf_summary "$data" "$what,$b"
  else
    PROFILE[$what,$b]="(perf record failed)"
  fi
  wait "$pgb_pid" || true
  echo "${PROFILE_MARKS[$what,$b]:-}"
}
for t in "${PROFILE_TARGETS[@]}"; do profile_read "${t%,*}" "${t#*,}"; done

say "perf record -g: one more upload of the NASA file (p1, untimed)"
q "SELECT count(bench_reg.place(cell || '-P1')) FROM (SELECT DISTINCT cell FROM bench_reg.nasa_usage) c" >/dev/null
q "SELECT bench_reg.stage('p1')" >/dev/null
q "CHECKPOINT"
( PGAPPNAME=bench_reg_load psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -At \
    -c "SELECT pg_sleep(1)" -c "CALL bench_reg.load('p1', 'battledger.battery_event', 'battledger.disclosure', true)" \
    -c "SELECT pg_sleep(4)" > "$BL_WORK/p1.out" 2>&1 ) &
p1_pid=$!
sleep 0.5
pid=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'bench_reg_load' LIMIT 1")
PROFILE_LOAD_TARGET=""
[ -z "$pid" ] || perf record -q -g -p "$pid" -o "$BL_WORK/perf_load.data" -- sleep 3 >/dev/null 2>&1 || true
if [ -s "$BL_WORK/perf_load.data" ]; then
  perf_summary "$BL_WORK/perf_load.data" load
  PROFILE_LOAD_TARGET=load
else
  PROFILE[load]="(perf record failed)"
fi
wait "$p1_pid" || { cat "$BL_WORK/p1.out"; exit 1; }
P1_MS=$(grep -m1 '|' "$BL_WORK/p1.out" | cut -d'|' -f1)
echo "p1: ${P1_MS} ms under perf; ${PROFILE_MARKS[load]:-}"
q "SELECT battledger.seal()" >/dev/null
LEAVES=$(q "SELECT count(*) FROM battledger.log_leaf")

# ---------------------------------------------------------------------------
# 3. verify() and verify_log() at the end, BENCH_REPS runs each, each in a new session.
# ---------------------------------------------------------------------------
q "VACUUM ANALYZE battledger.battery_event"
EVENT_ROWS=$(q "SELECT count(*) FROM battledger.battery_event")
declare -A V_MS V_PROBLEMS
for what in verify verify_log; do
  runs=(); problems=0
  say "$what, $BENCH_REPS runs"
  for r in $(seq "$BENCH_REPS"); do
    if [ "$what" = verify ]; then
      IFS='|' read -r ms p <<<"$(q "SELECT ms, problems FROM bench_reg.time_verify('battledger.battery_event', $r)")"
    else
      IFS='|' read -r ms p <<<"$(q "SELECT ms, problems FROM bench_reg.time_verify_log($r)")"
    fi
    echo "  run $r: $ms ms, $p problem(s)"
    runs+=("$ms"); problems=$((problems + p))
  done
  V_MS[$what]=$(median "${runs[@]}"); V_PROBLEMS[$what]=$problems
done
VERIFY_DETAILS=$(q "SELECT format('| %s | %s | %s | %s |', what, run, problem, detail)
                      FROM (SELECT *, row_number() OVER (PARTITION BY what, run) AS k FROM bench_reg.verify_out) v
                     WHERE k <= 5 ORDER BY what, run")
LOG_STATS=$(q "SELECT format('%s leaves, %s checkpoints', (SELECT count(*) FROM battledger.log_leaf),
                             (SELECT count(*) FROM battledger.checkpoint))")

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(awk -v a="$T_0" -v b="$(now_ms)" 'BEGIN { print (b - a) / 1000 }')
BUSY=$(awk -v a="$BUSY_0" -v b="$(machine_busy)" 'BEGIN { print b - a }')
OWN=$(awk -v a="$OWN_0" -v b="$(children_cpu)" -v c="$(cluster_cpu "$BL_WORK/bench_reg")" 'BEGIN { print b - a + c }')
OTHER=$(awk -v b="$BUSY" -v o="$OWN" 'BEGIN { x = b - o; print (x < 0) ? 0 : x }')
echo "CPU during the run: machine $BUSY s busy, this benchmark $OWN s, other work $OTHER s, in $ELAPSED s"

# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------
summary() {
  local kind what b line
  bench_report_head ": the battery registry on the NASA PCoE data" "$COMMAND"
  bench_run_rows
  echo "| PostgreSQL | $(q 'SELECT version()') |"
  q "SELECT '| ' || name || ' | ' || current_setting(name) || ' |'
       FROM unnest(ARRAY['shared_buffers', 'work_mem', 'max_wal_size', 'checkpoint_timeout',
                         'synchronous_commit', 'fsync', 'full_page_writes', 'wal_level',
                         'default_transaction_isolation', 'autovacuum', 'jit', 'search_path',
                         'battledger.origin']) AS name"
  echo
  echo "Data: \`data/nasa/nasa_pcoe_cycle_summary.csv\`, $MEASUREMENTS measurements of $CELLS cells (B. Saha and"
  echo "K. Goebel, NASA Ames PCoE, public domain), one soh_reported event each, values derived by"
  echo "\`demo/nasa_usage.sql\`. Signing beforehand (untimed; content hashes, $((BENCH_REPS * CELLS + 63)) Merkle roots and"
  echo "batch signatures, salts, commitments): $STAGED — $(fmt '%.1f' "$(awk -v m="$SIGN_MS" 'BEGIN{print m/1000}')") s."
  echo
  echo "## 1. Loading the NASA file as batch-signed events ($N_FLEET events, $CELLS batteries, median of $BENCH_REPS runs)"
  echo
  echo "One battery and one signed batch per cell; per batch one transaction: \`INSERT INTO battledger.disclosure\`"
  echo "(the cleartext of the salted commitments, CHECKed against them), \`INSERT INTO battledger.batch\` (manifest"
  echo "signature checked), \`INSERT INTO battledger.battery_event\` (registry rules, chain, per-row batch membership),"
  echo "\`COMMIT\` (the deferred check re-reads and re-hashes the batch; WAL flush). Timed in \`bench_reg.load\` from"
  echo "before the first batch to after the last COMMIT ($CELLS transactions); each run into $CELLS new batteries."
  echo "The plain rows: the same events (content columns + ledger_key_id, ledger_batch) in the same $CELLS transactions"
  echo "into \`CREATE TABLE ... (LIKE battledger.battery_event)\` (no index, no trigger; the server-filled ledger"
  echo "columns left NULL), and optionally the disclosures into a \`LIKE battledger.disclosure\` copy."
  echo
  echo "| load | total time | events/s | disclosures | batch manifests | events | COMMITs | registry vs this | shell wall time |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for kind in ledger plain plain_disc; do
    case $kind in
      ledger) line="**registry**: disclosures + signed batches + events" ;;
      plain) line="plain table, events only" ;;
      plain_disc) line="plain tables, events + disclosures" ;;
    esac
    echo "| $line | $(fmt '%.1f' "${M_MS[$kind]}") ms | $( [ $kind = ledger ] && echo "**$(rps "$N_FLEET" "${M_MS[$kind]}")**" || rps "$N_FLEET" "${M_MS[$kind]}") |" \
         "$( [ $kind = plain ] && echo – || fmt '%.1f ms' "${M_DISC[$kind]}") | $( [ $kind = ledger ] && fmt '%.1f ms' "${M_BATCH[$kind]}" || echo –) |" \
         "$(fmt '%.1f' "${M_EV[$kind]}") ms | $(fmt '%.1f' "${M_COMMIT[$kind]}") ms |" \
         "$( [ $kind = ledger ] && echo – || echo "$(awk -v a="${M_MS[$kind]}" -v b="${M_MS[ledger]}" 'BEGIN { printf "%.3fx (1/%.0f)", a / b, b / a }')") | $(fmt '%.0f' "${M_WALL[$kind]}") ms |"
  done
  echo
  echo "Runs (total ms): registry${L_MS[ledger]}; plain${L_MS[plain]}; plain + disclosures${L_MS[plain_disc]}."
  echo
  echo "Commands (per run r<n>; the plain tables from \`SELECT bench_reg.make_plain('r<n>e'), bench_reg.make_plain('r<n>d')\`):"
  echo
  echo '```'
  echo "psql -d $DB -At -c \"CALL bench_reg.load('r1', 'bench_reg.plain_event_r1e', NULL, false)\""
  echo "psql -d $DB -At -c \"CALL bench_reg.load('r1', 'bench_reg.plain_event_r1d', 'bench_reg.plain_disclosure_r1d', false)\""
  echo "psql -d $DB -At -c \"CALL bench_reg.load('r1', 'battledger.battery_event', 'battledger.disclosure', true)\""
  echo '```'
  echo
  echo "\"registry vs this\": registry events/s divided by this load's. Phase columns are medians of each phase on"
  echo "its own (they need not add up to the median total). Shell wall time: around the psql \`CALL\`, connection included."
  if [ ${#LOAD_FAILURES[@]} -gt 0 ]; then
    echo
    echo "**Loads refused** (left out of the medians):"
    echo
    for line in "${LOAD_FAILURES[@]}"; do echo "- $line"; done
  fi
  echo
  echo "The long-lived batteries of part 2, loaded the same way: NASA-ALL-X1 ${X_N[x1]} events in ${X_MS[x1]} ms"
  echo "($(rps "${X_N[x1]}" "${X_MS[x1]}") events/s, 21 batches), NASA-ALL-X2 ${X_N[x2]} events in ${X_MS[x2]} ms"
  echo "($(rps "${X_N[x2]}" "${X_MS[x2]}") events/s, 42 batches, one chain)$([ "$BENCH_X8" = 1 ] && echo ", NASA-ALL-X8 ${X_N[x8]} events in ${X_MS[x8]} ms (168 batches)"). Then \`seal()\`: $SEAL_LEAVES leaves in $SEAL_MS ms."
  echo
  echo "## 2. Read latency, batteries with thousands of events (pgbench -n -c 1 -T $BENCH_SECONDS, goal passport() ≤ $GOAL_MS ms)"
  echo
  echo "| battery | events | what it is |"
  echo "|---|---:|---|"
  for b in $XS; do
    echo "| $GS1/${B_SERIAL[$b]} | ${B_EVENTS[$b]} | manufactured (from lot CAM-1), handover and acceptance, placed_on_market, installed, then ${B_DESC[$b]} ($(( ${B_EVENTS[$b]} - 5 )) soh_reported) |"
  done
  echo
  echo "Only real measurements, none invented: each report is one NASA measurement as \`demo/nasa_usage.sql\` derives it;"
  echo "the concatenation keeps each cell's own running totals (cycles, throughput restart at each cell boundary),"
  echo "and X2 repeats the same 2,358 reports (new salts, so new commitments). Check:$CHECK"
  echo "Passport size (X2): $PASSPORT_BYTES characters (public / legitimate_interest); provenance rows: $PROV_ROWS."
  echo "Everything runs as the superuser \`postgres\`, which bypasses row-level security on battledger.disclosure"
  echo "(and holds every tier). Two rows per battery are for information only: the same call as a LOGIN member of"
  echo "battledger_legitimate_interest (RLS applied), and as the superuser with JIT compilation off (the server default is jit = on)."
  echo
  echo "| battery | call | transactions | median | p95 | average | in-server median / p95 | backend CPU per call | goal (p95 ≤ $GOAL_MS ms) |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
  for b in $XS; do
    for what in $READS; do
      case $what in passport_public|passport_li) g="$(goal_le "${P_P95[$what,$b]}" "$GOAL_MS") (median: $(goal_le "${P_MED[$what,$b]}" "$GOAL_MS"))" ;; *) g="(info)" ;; esac
      echo "| ${B_SERIAL[$b]} (${B_EVENTS[$b]}) | ${R_LABEL[$what]} | ${P_TX[$what,$b]} | $(fmt '%.3f' "${P_MED[$what,$b]}") ms |" \
           "$(fmt '%.3f' "${P_P95[$what,$b]}") ms | ${P_AVG[$what,$b]} ms | $(fmt '%.0f' "${P_IN_MED[$what,$b]}") / $(fmt '%.0f' "${P_IN_P95[$what,$b]}") µs | ${P_CPU[$what,$b]} µs | $g |"
    done
  done
  echo
  echo "Median and p95 from the per-transaction latencies of \`pgbench -l\` (client side: round trip, result transfer)."
  echo "Backend CPU per call: the in-server session's user + system CPU time (/proc/self/stat, $TICK_HZ ticks/s) over the"
  echo "$BENCH_CALLS calls, divided by them: what the call costs, whatever else the machine runs."
  echo "In-server: $BENCH_CALLS calls timed with clock_timestamp() in one session (\`bench_reg.time_calls\`), after one"
  echo "untimed call; battery_history and material_provenance there as \`SELECT count(*) FROM ...\` (no rows sent)."
  echo
  echo "Commands (from the repository root, PGHOST/PGPORT set to the cluster):"
  echo
  echo '```'
  for what in $READS; do pgb_cmd "$what" x2; done
  echo '```'
  echo
  echo "### Where the time goes (perf record -g -p <backend pid>)"
  echo
  echo "Inclusive shares (\`perf report --children\`) of: fmgr_sql = bodies of LANGUAGE sql functions;"
  echo "pg_plan_query / pg_analyze_and_rewrite_withcb / raw_parser = planning / parse analysis / parsing"
  echo "(of those bodies, here); ExecBRInsertTriggers = BEFORE INSERT triggers; ExecMakeTableFunctionResult ="
  echo "functions called in FROM. JIT compilation shows as self time in libLLVM. Then the top self-time symbols"
  echo "(≥ 1.5 %; the postgres binary is stripped, so static functions are left out)."
  for t in "${PROFILE_TARGETS[@]}" $PROFILE_LOAD_TARGET; do
    echo
    if [ "$t" = load ]; then
      echo "**An upload of the NASA file** (one more, p1: $CELLS new batteries, untimed, $P1_MS ms under perf, 3 s sampled):"
    else
      echo "**${R_LABEL[${t%,*}]} on ${B_SERIAL[${t#*,}]}** (pgbench, ${PERF_SECONDS} s sampled):"
    fi
    echo
    echo "${PROFILE_MARKS[$t]:-}"
    echo
    echo '```'
    echo "${PROFILE[$t]}"
    echo '```'
  done
  echo
  echo "## 3. Verification at the end (median of $BENCH_REPS runs, each in a new session, after VACUUM ANALYZE)"
  echo
  echo "| call | rows | median time | rows/s | problems (all runs) |"
  echo "|---|---:|---:|---:|---:|"
  echo "| verify('battledger.battery_event') | $EVENT_ROWS | $(fmt '%.1f' "${V_MS[verify]}") ms | $(rps "$EVENT_ROWS" "${V_MS[verify]}") | ${V_PROBLEMS[verify]} |"
  echo "| verify_log() (tree, checkpoints, every sealed row) | $LEAVES leaves | $(fmt '%.1f' "${V_MS[verify_log]}") ms | $(rps "$LEAVES" "${V_MS[verify_log]}") | ${V_PROBLEMS[verify_log]} |"
  echo
  echo "Both must report 0 problems: **$( [ $((V_PROBLEMS[verify] + V_PROBLEMS[verify_log])) = 0 ] && echo met || echo missed)**. Log: $LOG_STATS."
  if [ -n "$VERIFY_DETAILS" ]; then
    echo
    echo "Problems reported (at most 5 per call and run):"
    echo
    echo "| call | run | problem | detail |"
    echo "|---|---:|---|---|"
    echo "$VERIFY_DETAILS"
  fi
}

mkdir -p "$(dirname "$RESULTS")"
summary > "$RESULTS"
say "summary (also in ${RESULTS#"$BL_ROOT"/})"
cat "$RESULTS"
