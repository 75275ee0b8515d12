#!/usr/bin/env bash
# test/bench/passport_cycles_ab.sh — the legitimate-interest passport of a
# battery whose usage reports carry per-cycle data, this version's functions
# against an earlier release's (BENCH_OLD, 0.21.0), on one database.
#
# passport_ab.sh's batteries carry no per-cycle data, so usage_derived()
# returns at its first check there; this one measures the path where it
# computes. The database is test/shell/derived_values.sh's (its checks run
# first and must pass): NASA-B0025 with its per-cycle usage reports, its
# lots and model; and NASA-ALL, added here, every cell of the CSV reported
# as one battery (2,358 reports). BENCH_FUNCS (default "_passport_source
# _passport_derived usage_derived _usage_derived") are swapped in place from the frozen
# sql/upgrade/battledger--$BENCH_OLD.sql and from sql/install/, alternately;
# a function whose signature changed between the two is created beside the
# other (the old _passport_source calls the old one). For each variant:
# the backend's CPU time (user + system, /proc/PID/stat) over BENCH_CALLS
# calls of _passport_source(b, 'legitimate_interest'), per call, in
# BENCH_REPS interleaved rounds; then the parts the variants differ by, and
# both variants' documents, which must be identical.
#
#   bash test/bench/passport_cycles_ab.sh     # battledger as installed, port DV_PORT (55475)
# Environment: BENCH_OLD (0.21.0), BENCH_FUNCS, BENCH_CALLS (300; NASA-ALL: BENCH_BIG_CALLS, 10),
# BENCH_ENTRY (_passport_source: called directly, planned per call; passport:
# passport(b, 'legitimate_interest'), the generic plans _passport() sets, as a reader calls it),
# BENCH_REPS (5).
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/lib/cluster.sh
BENCH_OLD=${BENCH_OLD:-0.21.0}
BENCH_FUNCS=${BENCH_FUNCS:-_passport_source _passport_derived usage_derived _usage_derived}
BENCH_CALLS=${BENCH_CALLS:-300}
BENCH_REPS=${BENCH_REPS:-5}
BENCH_BIG_CALLS=${BENCH_BIG_CALLS:-10}
BENCH_ENTRY=${BENCH_ENTRY:-_passport_source}
bl_scratch
# derived_values.sh builds the database in this BL_WORK and, given one, leaves
# its cluster running for us (bl_scratch sets no trap then); ours stops it
W=$BL_WORK
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BL_WORK=$W bash test/shell/derived_values.sh > "$W/derived_values.out" 2>&1 ||
  { tail -20 "$W/derived_values.out"; echo "derived_values.sh failed" >&2; exit 1; }
# (a function the old release does not have, e.g. _usage_derived for 0.21.0, is this version's alone)
OLD_FUNCS=$(for f in $BENCH_FUNCS; do grep -q "^CREATE FUNCTION @extschema@\.$f(" "sql/upgrade/battledger--$BENCH_OLD.sql" && echo "$f" || true; done | xargs)
awk -v names="$OLD_FUNCS" -f sql/upgrade/replace_functions.awk "sql/upgrade/battledger--$BENCH_OLD.sql" \
  | sed 's/@extschema@/battledger/g' > "$W/old.sql"
cat sql/install/*.sql | awk -v names="$BENCH_FUNCS" -f sql/upgrade/replace_functions.awk \
  | sed 's/@extschema@/battledger/g; s|MODULE_PATHNAME|$libdir/battledger|g' > "$W/this.sql"
P() { psql -X -q -At -h "$W" -p "${DV_PORT:-55475}" -U postgres -d dv "$@"; }
B="bid('NASA-B0025')"
# backend CPU ms per call of an expression, BENCH_CALLS calls in one session
# (one call first: the session's plans and caches are not what is measured)
cpu_ms() {
  P <<SQL | tail -1
SET search_path = public, battledger, battledger_test;
SELECT ($1) IS NOT NULL;
CREATE TEMP TABLE t0 AS SELECT split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ' ', 14)::bigint
                             + split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ' ', 15)::bigint AS ticks;
DO \$\$ BEGIN FOR i IN 1..$BENCH_CALLS LOOP PERFORM $1; END LOOP; END \$\$;
SELECT round(((split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ' ', 14)::bigint
             + split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ' ', 15)::bigint - ticks)
              * 1000.0 / $(getconf CLK_TCK) / $BENCH_CALLS)::numeric, 3) FROM t0;
SQL
}
# a second battery with a long history: every cell of the CSV reported as
# one battery, NASA-ALL (2,358 reports with per-cycle data)
P >/dev/null <<'SQL'
SET search_path = public, battledger, battledger_test;
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('NASA-ALL')::text, 'event', 'manufactured', 'model_id', 'NASA-18650',
          'data', '{"rated": {"overchargeVoltageV": 4.21, "idleTemperatureLowerC": 5, "idleTemperatureUpperC": 40}}'::jsonb,
          'occurred_at', '2009-01-15T00:00:00Z'));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('NASA-ALL')::text, 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb,
          'occurred_at', '2009-01-20T00:00:00Z'));
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('NASA-ALL')::text, 'event', 'handover_accepted', 'occurred_at', '2009-01-20T00:00:00Z'));
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('NASA-ALL')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:NASA-ALL:1',
          'occurred_at', '2009-02-01T00:00:00Z'));
SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('NASA-ALL')::text, 'event', 'installed', 'occurred_at', '2009-02-10T00:00:00Z'));
SELECT sum(nasa_cycles('fleet.test', c, 'NASA-ALL')) FROM (SELECT DISTINCT cell c FROM nasa_raw ORDER BY 1) x;
SQL
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "legitimate-interest passport (battledger.$BENCH_ENTRY()), backend CPU ms per call, median of $BENCH_REPS rounds (in brackets),"
echo "$BENCH_CALLS calls a round (NASA-B0025), $BENCH_BIG_CALLS (NASA-ALL)"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1), load $LOAD_BEFORE before; commit $(git rev-parse --short HEAD)"
echo
echo "| battery (reports with per-cycle data) | $BENCH_OLD | this | this / $BENCH_OLD |"
echo "|---|---:|---:|---:|"
fail=0
for b in NASA-B0025 NASA-ALL; do
  B="bid('$b')"; n=$BENCH_CALLS; [ $b = NASA-ALL ] && n=$BENCH_BIG_CALLS
  PASSPORT="battledger.$BENCH_ENTRY($B, 'legitimate_interest')"
  OLD=(); THIS=()
  for r in $(seq 1 "$BENCH_REPS"); do
    P -f "$W/old.sql" >/dev/null;  OLD+=("$(BENCH_CALLS=$n cpu_ms "$PASSPORT")")
    P -f "$W/this.sql" >/dev/null; THIS+=("$(BENCH_CALLS=$n cpu_ms "$PASSPORT")")
  done
  mo=$(median "${OLD[@]}"); mt=$(median "${THIS[@]}")
  reports=$(P -c "SET search_path = public, battledger, battledger_test" -c "SELECT count(*) FROM battledger.battery_event e
             JOIN battledger.disclosure d ON d.commitment OPERATOR(battledger.=) e.restricted
            WHERE e.battery_id OPERATOR(battledger.=) $B AND d.value ? 'cycle'")
  echo "| $b ($reports) | $mo [${OLD[*]}] | $mt [${THIS[*]}] | $(awk -v a="$mt" -v b="$mo" 'BEGIN { printf "%.2f", a / b }') |"
  P -f "$W/old.sql" >/dev/null;  DOC_OLD=$(P -c "SET search_path = public, battledger, battledger_test" -c "SELECT md5(($PASSPORT)::text)")
  P -f "$W/this.sql" >/dev/null; DOC_THIS=$(P -c "SET search_path = public, battledger, battledger_test" -c "SELECT md5(($PASSPORT)::text)")
  if [ "$DOC_OLD" = "$DOC_THIS" ]; then DOCS+=" $b identical (md5 $DOC_THIS);"; else DOCS+=" $b DIFFER ($DOC_OLD, $DOC_THIS);"; fail=1; fi
done
echo
B="bid('NASA-B0025')"
echo "parts (this version, NASA-B0025, ms per call): public passport $(cpu_ms "battledger._passport_source($B, 'public')"),"
echo "  usage_derived() $(cpu_ms "(SELECT count(*) FROM battledger.usage_derived($B))"),"
echo "  _effective_manufacture() $(cpu_ms "battledger._effective_manufacture($B)");"
echo "  NASA-ALL: usage_derived() $(BENCH_CALLS=$BENCH_BIG_CALLS cpu_ms "(SELECT count(*) FROM battledger.usage_derived(bid('NASA-ALL')))")"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "documents:$DOCS"
exit $fail
