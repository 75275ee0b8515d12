#!/usr/bin/env bash
# test/bench/passport_ab.sh — passport() of this version against an earlier
# release's (0.6.0's unless BENCH_OLD says), on one database, in the same run.
#
# One throwaway cluster, battledger as installed for PG_CONFIG / PG_BIN, the
# NASA-ALL-X1 / X2 / X8 batteries of test/bench/registry_schema.sql (2,358 /
# 4,716 / 18,864 usage reports) among BENCH_FLEET other batteries placed on
# the market (a registry holds many passports). Two variants, swapped in place and
# interleaved in every repetition:
#   0.6.0   0.6.0's _passport_source() and _passport() (from the frozen
#           sql/upgrade/battledger--0.6.0.sql) and no index battery_event_issued;
#           with BENCH_OLD=0.9.0 (say), that release's BENCH_FUNCS instead, and
#           the index kept (0.7.0 added it);
#   this    the functions and the index as installed.
# For each battery and tier: the backend's CPU time (user + system, from
# /proc/PID/stat) over BENCH_CALLS calls, per call; the median of BENCH_REPS.
# Every variant's documents (every tier, all three formats) must be identical,
# or the script fails.
#
#   PG_BIN=... PG_CONFIG=... bash test/bench/passport_ab.sh
# Environment: BENCH_CALLS (300), BENCH_REPS (3), BENCH_FLEET (2000), BENCH_PORT (55496),
# BENCH_OLD (0.6.0), BENCH_FUNCS (the functions swapped: "_passport_source _passport_derived
# _passport", those of them the old release has; since 0.26.0 the source gives the
# reported usage values their basis, which _passport_derived() added before, so the two go together),
# BENCH_MODEL_ID (the model's id; default NMC-18650-2Ah), BENCH_NAMESPACE (registered to
# the model's maker first, e.g. gs1:952123 for BENCH_MODEL_ID=gs1:01/09521234567899).
# The swapped functions must keep their signatures between the two versions.
# BENCH_OLD_VIEWS: views the old functions read that this version no longer
# has (e.g. _lot_creation_rows for 0.20.0), created once from the frozen
# script, outside the extension, before the first run.
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/lib/cluster.sh
BENCH_CALLS=${BENCH_CALLS:-300}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_PORT=${BENCH_PORT:-55496}
BENCH_FLEET=${BENCH_FLEET:-2000}
bl_scratch
BENCH_OLD=${BENCH_OLD:-0.6.0}
BENCH_FUNCS=${BENCH_FUNCS:-_passport_source _passport_derived _passport}
OLD_FN=$BL_WORK/passport-$BENCH_OLD.sql
# (the old release's own functions among them: 0.6.0 had no _passport_derived())
OLD_FUNCS=$(for f in $BENCH_FUNCS; do grep -q "^CREATE FUNCTION @extschema@\.$f(" "sql/upgrade/battledger--$BENCH_OLD.sql" && echo "$f" || true; done | xargs)
awk -v names="$OLD_FUNCS" -f sql/upgrade/replace_functions.awk "sql/upgrade/battledger--$BENCH_OLD.sql" \
  | sed 's/@extschema@/battledger/g' > "$OLD_FN"
NEW_FN=$BL_WORK/passport-this.sql
cat sql/install/*.sql | awk -v names="$BENCH_FUNCS" -f sql/upgrade/replace_functions.awk \
  | sed 's/@extschema@/battledger/g' > "$NEW_FN"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
bl_start_cluster pab "$BENCH_PORT" "$(bl_test_log_conf bench.example/pab)
shared_buffers = 1GB"
DB=registry; createdb $DB
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
q "CREATE EXTENSION battledger"; q "CREATE EXTENSION battledger_test_signer"
q 'ALTER DATABASE registry SET search_path = "$user", public, battledger, battledger_test'
SCHEMA=test/bench/registry_schema.sql
if [ -n "${BENCH_MODEL_ID:-}" ]; then
  # the batteries' model under another id, e.g. one in a namespace
  # (gs1:01/09521234567899, with BENCH_NAMESPACE=gs1:952123 registered to
  # its maker first: _model_holder() then reads the namespace's claims)
  SCHEMA=$BL_WORK/registry_schema.sql
  sed -e "s|NMC-18650-2Ah|$BENCH_MODEL_ID|g" -e "s|^\\\\ir ../../|\\\\i $PWD/|" test/bench/registry_schema.sql > "$SCHEMA"
  if [ -n "${BENCH_NAMESPACE:-}" ]; then
    sed -i "s|^CREATE FUNCTION bench_reg.key(|SELECT battledger.add_id_namespace('cells.bench', '$BENCH_NAMESPACE');\n&|" "$SCHEMA"
  fi
fi
psql -X -q -v ON_ERROR_STOP=1 -d $DB -v nasa_csv=data/nasa/nasa_pcoe_cycle_summary.csv -f "$SCHEMA" >/dev/null
[ -z "${BENCH_MODEL_ID:-}" ] || [ "$(q "SELECT battledger._model_holder('$BENCH_MODEL_ID')")" = cells.bench ] ||
  { echo "model $BENCH_MODEL_ID is not cells.bench's" >&2; exit 1; }
for x in 1 2 8; do
  q "SELECT bench_reg.place('NASA-ALL-X$x', with_lots => true)" >/dev/null
  q "SELECT bench_reg.stage('x$x', 'NASA-ALL-X$x', $x)" >/dev/null
  q "CALL bench_reg.load('x$x', 'battledger.battery_event', 'battledger.disclosure', true)" >/dev/null
done
q "SELECT count(bench_reg.place('FLEET-' || i)) FROM generate_series(1, $BENCH_FLEET) i" >/dev/null
q "SELECT battledger.seal()" >/dev/null; q "VACUUM ANALYZE"
for v in ${BENCH_OLD_VIEWS:-}; do
  awk -v v="$v" '$0 ~ "^CREATE VIEW @extschema@\\." v " " { on = 1 } on { print } on && /;$/ { exit }' \
    "sql/upgrade/battledger--$BENCH_OLD.sql" | sed 's/@extschema@/battledger/g' > "$BL_WORK/view-$v.sql"
  [ -s "$BL_WORK/view-$v.sql" ] || { echo "no view $v in battledger--$BENCH_OLD.sql" >&2; exit 1; }
  psql -X -q -v ON_ERROR_STOP=1 -d $DB -f "$BL_WORK/view-$v.sql"
done
INDEX_DEF=$(q "SELECT indexdef FROM pg_indexes WHERE schemaname = 'battledger' AND indexname = 'battery_event_issued'")
[ -n "$INDEX_DEF" ] || { echo "battery_event_issued is not installed: install this build first" >&2; exit 1; }
use() {           # use VARIANT: swap the variant's functions and index in
  if [ "$1" = old ] && [ "$BENCH_OLD" = 0.6.0 ]; then
    psql -X -q -v ON_ERROR_STOP=1 -d $DB -c "DROP INDEX IF EXISTS battledger.battery_event_issued" -f "$OLD_FN"
  elif [ "$1" = old ]; then
    psql -X -q -v ON_ERROR_STOP=1 -d $DB -f "$OLD_FN"
  else
    psql -X -q -v ON_ERROR_STOP=1 -d $DB -c "DROP INDEX IF EXISTS battledger.battery_event_issued" -c "$INDEX_DEF" -f "$NEW_FN"
  fi
}
# cpu BATTERY TIER: backend CPU ms per call, after 5 calls to warm the session
cpu() {
  psql -X -q -At -v ON_ERROR_STOP=1 -d $DB <<SQL | tail -1
SELECT pg_backend_pid() AS pid \gset
\setenv BPID :pid
SELECT count(battledger.passport(bench_reg.bid('NASA-ALL-$1'), '$2')) FROM generate_series(1, 5) \g /dev/null
\! awk '{ print \$14 + \$15 }' /proc/\$BPID/stat > $BL_WORK/cpu0
SELECT count(battledger.passport(bench_reg.bid('NASA-ALL-$1'), '$2')) FROM generate_series(1, $BENCH_CALLS) \g /dev/null
\! awk -v n=$BENCH_CALLS -v a=\$(cat $BL_WORK/cpu0) -v hz=\$(getconf CLK_TCK) '{ printf "%.3f\n", (\$14 + \$15 - a) * 1000 / hz / n }' /proc/\$BPID/stat
SQL
}
documents() {
  q "SELECT md5(string_agg(battledger.passport(bench_reg.bid(b), t, f)::text, '|' ORDER BY b, t, f))
       FROM unnest(ARRAY['NASA-ALL-X1', 'NASA-ALL-X2', 'NASA-ALL-X8']) b,
            unnest(ARRAY['public', 'legitimate_interest', 'authority']) t,
            unnest(ARRAY['battledger', 'batterypass', 'catenax']) f"
}
declare -A MS DOC
for r in $(seq "$BENCH_REPS"); do
  for v in old this; do
    use $v
    [ "$r" = 1 ] && DOC[$v]=$(documents)
    for b in X1 X2 X8; do
      for t in public legitimate_interest; do MS[$v,$b,$t]+=" $(cpu $b $t)"; done
    done
  done
done
median() { tr ' ' '\n' <<<"$*" | grep . | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo "passport() backend CPU ms per call, median of $BENCH_REPS x $BENCH_CALLS calls (runs in brackets); $BENCH_FLEET other batteries"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $LOAD_BEFORE before / $(cut -d' ' -f1-3 /proc/loadavg) after; commit $(git rev-parse --short HEAD)"
echo
echo "| battery (usage reports) | tier | $BENCH_OLD | this | this / $BENCH_OLD |"
echo "|---|---|---:|---:|---:|"
for b in X1 X2 X8; do
  n=$(q "SELECT count(*) FROM battledger.battery_event WHERE battery_id = bench_reg.bid('NASA-ALL-$b') AND event = 'soh_reported'")
  for t in public legitimate_interest; do
    # shellcheck disable=SC2086
    a=$(median ${MS[old,$b,$t]}); c=$(median ${MS[this,$b,$t]})
    echo "| NASA-ALL-$b ($n) | $t | $a [${MS[old,$b,$t]# }] | $c [${MS[this,$b,$t]# }] | $(awk -v a="$a" -v c="$c" 'BEGIN { printf "%.2f", c / a }') |"
  done
done
echo
if [ "${DOC[old]}" = "${DOC[this]}" ]; then
  echo "documents: identical (every tier and format of the three batteries, md5 ${DOC[this]})"
else
  echo "FAIL - the documents differ: $BENCH_OLD ${DOC[old]}, this ${DOC[this]}"; exit 1
fi
