#!/usr/bin/env bash
# test/bench/passport_callgrind_ab.sh — the legitimate-interest passport in
# instructions (callgrind), an earlier release's functions (BENCH_OLD,
# 0.23.0) against this version's, on one database: a figure the load of a
# shared machine does not move (passport_cycles_ab.sh's CPU times spread
# 10-30% between rounds at load 5-7).
#
# The database is test/shell/derived_values.sh's (its checks run first and
# must pass) plus NASA-ALL, as passport_cycles_ab.sh builds it. BENCH_FUNCS
# are swapped in place from the frozen sql/upgrade/battledger--$BENCH_OLD.sql
# and from sql/install/; after each swap the cluster stops and a copy of its
# data directory runs in single-user mode under callgrind, counting (a) only
# the DO block that calls passport(b, 'legitimate_interest') BENCH_CALLS
# times, in one transaction, as passport_cycles_ab.sh does (two calls before
# it, not counted, fill the session's caches), and (b) BENCH_CALLS calls of
# one statement each, as a reader asks (statement runs counted, less those
# of the two first: a PL/pgSQL function's simple expressions and an SQL
# function's plan are kept for a transaction, not longer). Both variants'
# documents must be identical: every tier in every format (since 0.26.0;
# the legitimate-interest battledger document alone before).
#
#   bash test/bench/passport_callgrind_ab.sh     # battledger as installed, port DV_PORT (55475)
# Environment: BENCH_OLD (0.23.0), BENCH_FUNCS (default: the functions 0.24.0
# changed on the passport's path), BENCH_CALLS (20), BENCH_FRESH (0; 1: both
# batteries' fold caches stored first, as a write leaves them: the passport
# reads them without folding, as fold_stale_ab.sh's "fresh"). Needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/lib/cluster.sh
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
BENCH_OLD=${BENCH_OLD:-0.23.0}
BENCH_FUNCS=${BENCH_FUNCS:-_signer operator_info registry_resolver _passport_source _passport_battledger _passport_public _passport_legitimate_interest _passport_authority _passport_derived}
BENCH_CALLS=${BENCH_CALLS:-20}
bl_scratch
W=$BL_WORK
BL_WORK=$W bash test/shell/derived_values.sh > "$W/derived_values.out" 2>&1 ||
  { tail -20 "$W/derived_values.out"; echo "derived_values.sh failed" >&2; exit 1; }
DATA=$W/dv
OLD_FUNCS=$(for f in $BENCH_FUNCS; do grep -q "^CREATE FUNCTION @extschema@\.$f(" "sql/upgrade/battledger--$BENCH_OLD.sql" && echo "$f" || true; done | xargs)
awk -v names="$OLD_FUNCS" -f sql/upgrade/replace_functions.awk "sql/upgrade/battledger--$BENCH_OLD.sql" \
  | sed 's/@extschema@/battledger/g' > "$W/old.sql"
cat sql/install/*.sql | awk -v names="$BENCH_FUNCS" -f sql/upgrade/replace_functions.awk \
  | sed 's/@extschema@/battledger/g; s|MODULE_PATHNAME|$libdir/battledger|g' > "$W/this.sql"
P() { psql -X -q -At -h "$W" -p "${DV_PORT:-55475}" -U postgres -d dv "$@"; }
# NASA-ALL: every cell of the CSV reported as one battery (as passport_cycles_ab.sh)
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
if [ "${BENCH_FRESH:-0}" = 1 ]; then
  for b in NASA-B0025 NASA-ALL; do
    P -c "SET search_path = public, battledger, battledger_test" -c "SELECT battledger._battery_state_cached(bid('$b')) IS NOT NULL" >/dev/null
  done
fi
declare -A IR IRS DOC
# single FILE FUNCTION N: instructions counted in FUNCTION (callgrind
# --toggle-collect) over the statements of FILE run by a single-user
# postgres on the copy, divided by N
single() {
  chmod 644 "$1"
  as_pg valgrind --tool=callgrind --collect-atstart=no --toggle-collect="$2" \
    --callgrind-out-file="$W/cg.out" "$PG_BIN/postgres" --single -D "$W/copy" -c jit=off dv \
    < "$1" > "$W/single.out" 2>&1
  awk -v n="$3" '/^totals:/ { printf "%.0f", $2 / n }' "$W/cg.out"
}
for v in old this; do
  P -f "$W/$v.sql" >/dev/null
  for b in NASA-B0025 NASA-ALL; do
    DOC[$v,$b]=$(P -c "SET search_path = public, battledger, battledger_test" \
                   -c "SELECT md5(string_agg(battledger.passport(bid('$b'), t, f)::text, E'\\n' ORDER BY t, f))
                         FROM unnest(ARRAY['public', 'legitimate_interest', 'authority']) t,
                              unnest(ARRAY['battledger', 'batterypass', 'catenax']) f")
  done
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  rm -rf "$W/copy"; cp -a "$DATA" "$W/copy"
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$W/dv.log" -w start >/dev/null
  for b in NASA-B0025 NASA-ALL; do
    # (a) BENCH_CALLS calls in one DO block, one transaction: only the block counted
    { echo "SET search_path = public, battledger, battledger_test;"
      echo "SELECT battledger.passport(bid('$b'), 'legitimate_interest') IS NULL;"
      echo "SELECT battledger.passport(bid('$b'), 'legitimate_interest') IS NULL;"
      echo "DO \$\$ DECLARE b battledger.battery_id := bid('$b'); BEGIN FOR i IN 1..$BENCH_CALLS LOOP PERFORM battledger.passport(b, 'legitimate_interest'); END LOOP; END \$\$;"
    } > "$W/in.sql"
    IR[$v,$b]=$(single "$W/in.sql" plpgsql_inline_handler $BENCH_CALLS)
    # (b) one statement (and transaction) a call, as a reader asks: every
    # statement's run counted (PortalRun), 2 + BENCH_CALLS of them less 2
    { echo "SET search_path = public, battledger, battledger_test;"
      for i in 1 2; do echo "SELECT battledger.passport(bid('$b'), 'legitimate_interest') IS NULL;"; done
    } > "$W/in2.sql"
    { cat "$W/in2.sql"
      for i in $(seq "$BENCH_CALLS"); do echo "SELECT battledger.passport(bid('$b'), 'legitimate_interest') IS NULL;"; done
    } > "$W/inN.sql"
    IRS[$v,$b]=$(( $(single "$W/inN.sql" PortalRun 1) - $(single "$W/in2.sql" PortalRun 1) ))
    IRS[$v,$b]=$(( IRS[$v,$b] / BENCH_CALLS ))
  done
done
echo "legitimate-interest passport (battledger.passport()), instructions per call (callgrind), $BENCH_CALLS calls after two:"
echo "in one DO block (one transaction, as passport_cycles_ab.sh), and one statement each (as a reader asks)"
echo "commit $(git rev-parse --short HEAD); $BENCH_OLD's functions swapped in place: $OLD_FUNCS; fold caches $([ "${BENCH_FRESH:-0}" = 1 ] && echo "stored first (fresh)" || echo "as derived_values.sh left them")"
echo
echo "| battery | calls | $BENCH_OLD | this | this / $BENCH_OLD |"
echo "|---|---|---:|---:|---:|"
fail=0
for b in NASA-B0025 NASA-ALL; do
  echo "| $b | one DO block | ${IR[old,$b]} | ${IR[this,$b]} | $(awk -v a="${IR[this,$b]}" -v o="${IR[old,$b]}" 'BEGIN { printf "%.3f", a / o }') |"
  echo "| $b | a statement each | ${IRS[old,$b]} | ${IRS[this,$b]} | $(awk -v a="${IRS[this,$b]}" -v o="${IRS[old,$b]}" 'BEGIN { printf "%.3f", a / o }') |"
  [ "${DOC[old,$b]}" = "${DOC[this,$b]}" ] || { echo "$b: documents DIFFER (${DOC[old,$b]}, ${DOC[this,$b]})"; fail=1; }
done
[ $fail = 0 ] && echo "documents identical, 3 tiers x 3 formats (md5 ${DOC[this,NASA-B0025]}, ${DOC[this,NASA-ALL]})"
exit $fail
