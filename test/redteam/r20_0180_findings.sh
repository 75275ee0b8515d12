#!/usr/bin/env bash
# Red team r20 (0.18.0, on main febef8f = 0.17.0 + the opened 0.18.0): the
# battery registry and passports, as an application role, a table owner and
# a malicious member (its superuser bypassing its rules, DISABLE TRIGGER
# battledger_rules, as sql/registry.sql does: what it writes is what its
# peers receive).  Each case prints "ok   - ..." when the property holds,
# "FAIL - ..." for a finding; exit status: the number of FAILs.
# PG_BIN: the build under test.  R20_PORT (default 55662).
# Results, PostgreSQL 15, 2026-12-06 ~10:50 UTC: main febef8f 8 FAILs
# (F1a, F1b, F2a, F2b, F3, F4, L1, L2), branch r20 1 FAIL (L2, not fixed).
#   F1a a member squats a battery under another maker's registered namespace
#       (its "manufactured" is ineffective: foreign_namespace), before the
#       real maker makes it.  FAILS on main: every member's passport shows
#       the squatter's model (chemistry, carbon footprint, rated values),
#       maker and manufacturing date (_passport_source() read the first
#       manufactured row; by index order, or heap order under a bitmap
#       scan, so members could even differ).  FIXED: _effective_manufacture()
#   F1c ... and 2,000 such rows before the real one: a passport within 100 ms
#       (holds on main, which read the first row; FAILED at this branch's
#       first fix, 500 ms, as _effective_manufacture() judged each row:
#       the fold cache now keeps the effective manufacture's key; 6 ms)
#   F1b the same battery's recycled content (public) counted the squatter's
#       lots.  FAILS on main; FIXED (recycled_content(), material_provenance())
#   F2a a member moves a battery it does not hold (not_custodian,
#       ineffective) naming a new passport id: FAILS on main: every member's
#       passport names it as operator (issued.by, operatorInformation,
#       Catena-X economicOperatorId, issue date, warranty).  FIXED
#   F2b ... and its passport id appears in every member's passportHistory.
#       FAILS on main; FIXED (battery_fold_cache.issued: the effective moves)
#   F3  a member without the role (wrong_role, ineffective) reports a
#       negative event, an installation and a repair: FAILS on main: the
#       legitimate-interest passport counts the accident, shows the service
#       date and the repair.  FIXED (role at the time of signing)
#   F4  the worst: another member's LOGIN application (an OEM, battledger_member,
#       its rules followed, no bypass) writes a battery_model row with the
#       model id of a cell maker's batteries.  FAILS on main: accepted, and
#       every member's passport of those batteries shows its chemistry,
#       rated values, carbon footprint, declared recycled content and maker
#       (the latest row of the model id was read; battery_model had no
#       rules).  FIXED: the first declarer holds a model id (BL061 for
#       others), the passport reads the holder's rows only
#   L1  a member bypassing its rules writes "received" for another member's
#       lot that nobody shipped to it.  FAILS on main: lot_custodian() (the
#       last creator or receiver) names it on every member, the holder's
#       own shipment is refused (BL032), and nothing names the row (lots
#       have no registry_conflicts()).  FIXED: _lot_custody() judges the
#       lot's custody in registry order
#   L2  the same member "processes" a lot it does not hold, consuming it all:
#       lot_available_kg() counts every consumer, so the holder can use
#       none of it (BL033) on any member, and nothing names the row.  NOT
#       FIXED (needs the mass balance judged in registry order too: which
#       consumers were effective, in their lots' order).  FIXED in 0.19.0
#       (ns21): lot_available_kg() counts only consumers signed by the
#       lot's holder at their place in registry order (_lot_consumers());
#       registry_conflicts() names the others (lot_not_held)
#   H1  custody, as a member's LOGIN application (battledger_member): accept a
#       handover naming another member, accept with none pending, move,
#       hand over or recycle a battery it does not hold: BL043 each (holds)
#   H2  a plain LOGIN role: raw events, battery_state(), battery_lifecycle(),
#       registry_conflicts(), the legitimate-interest and authority tiers:
#       42501 each; a zero-signature "waste" move of a battery in its
#       custodian's name gets the chain trigger's refusal whatever the
#       battery's status (no oracle) (holds)
#   H3  the member's application writing a battery event whose data is 10,000
#       nested arrays, or 1 MB, and reading the passport: no crash (holds)
#   H4  a table owner (no superuser) creating public.battery_event and a
#       public.passport() shadowing the extension's, then a superuser with
#       search_path = public, battledger reading passport() (holds: pinned
#       search_path, schema-qualified)
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
PORT=${R20_PORT:-55662}
bl_scratch
bl_start_cluster r20 "$PORT" "$(bl_test_log_conf r20.test/log)"
createdb bl
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d bl "$@"; }
# qs ROLE SQL: the SQLSTATE of the first error, or "ok"
qs() {
  local s
  s=$(psql -X -q -At -d bl -U "$1" -v VERBOSITY=sqlstate -c "$2" 2>&1 >/dev/null | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\).*/\1/p' | head -1)
  echo "${s:-ok}"
}

q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
SELECT battledger.add_member(m, r), battledger.add_key(m, battledger_test.public_key(battledger_test.seed(m)))
  FROM (VALUES ('cells.test', ARRAY['cell_maker', 'pack_maker']), ('oem.test', ARRAY['oem']),
               ('rogue.test', ARRAY['cell_maker', 'pack_maker', 'oem']), ('recycler.test', ARRAY['recycler', 'collector']),
               ('refiner.test', ARRAY['refiner', 'miner'])) v(m, r);
SELECT count(*) FROM battledger.members;
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
CREATE FUNCTION public.lot(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.lot_event := jsonb_populate_record(NULL::battledger.lot_event,
    j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.lot_event SELECT r.*; END $$;
SELECT public.model('cells.test', '{"model_id": "REAL-1", "manufacturer": "cells.test", "category": "ev", "chemistry": "NMC",
    "rated_capacity_ah": 2.0, "nominal_voltage_v": 3.7, "mass_kg": 0.045, "carbon_footprint_kg_co2e_per_kwh": 61.2}');
SELECT public.model('rogue.test', '{"model_id": "FAKE-1", "manufacturer": "rogue.test", "category": "ev", "chemistry": "LFP",
    "rated_capacity_ah": 9.0, "nominal_voltage_v": 3.2, "mass_kg": 0.045, "carbon_footprint_kg_co2e_per_kwh": 1.0}');
SELECT battledger.add_id_namespace('cells.test', 'gs1:952123');
-- a recycled cobalt lot the squatter names
SELECT public.lot('recycler.test', '{"lot_id": "L-REC", "event": "secondary_created", "material": "cobalt sulfate", "mass_kg": 100,
    "inputs": {"battery": "gs1:01/09521234567899/21/OLD"}, "occurred_at": "2023-01-01T00:00:00Z"}');
SQL

B1=gs1:01/09521234567899/21/B1
# F1: the squatter first, then the real maker
q >/dev/null <<SQL
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT public.ev('rogue.test', '{"battery_id": "$B1", "event": "manufactured", "model_id": "FAKE-1",
    "occurred_at": "2024-01-01T00:00:00Z", "lots": [{"lot": "L-REC", "mass_kg": 1}], "data": {"manufacturer": {"name": "Rogue"}}}');
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SQL
q >/dev/null <<SQL
SELECT public.ev('cells.test', '{"battery_id": "$B1", "event": "manufactured", "model_id": "REAL-1",
    "occurred_at": "2024-02-01T00:00:00Z", "data": {"manufacturer": {"name": "Real"}}}');
SQL
verdict=$(q -c "SELECT string_agg(signer || ':' || effective, ',' ORDER BY ledger_at) FROM battledger.battery_lifecycle('$B1')")
got=$(q -c "SELECT concat_ws('/', p->'generalProductInformation'->>'batteryModel', p->>'batteryChemistry',
                p->'generalProductInformation'->'manufacturerInformation'->>'name')
              FROM battledger.passport('$B1') p")
if [ "$got" = "REAL-1/NMC/Real" ]; then ok "F1a passport of a squatted battery is the real maker's ($verdict)"
else fail "F1a passport of a squatted battery" "fold says $verdict, passport shows model/chemistry/maker $got"; fi
rc=$(q -c "SELECT coalesce((SELECT jsonb_object_agg(key, value->'postConsumerShare') FROM jsonb_each(battledger.passport('$B1')->'recycledContent')
                             WHERE value->>'basis' = 'derived')::text, 'none')")
if [ "$rc" = none ]; then ok "F1b recycled content counts no squatter's lots"
else fail "F1b recycled content" "the public passport derives $rc from the ineffective manufacture's lots"; fi

# F1c: reading the effective manufacture must not cost a verdict per squatting
# row: 2,000 ineffective manufactures dated before the real one
B6=gs1:01/09521234567899/21/B6
q >/dev/null <<SQL
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT count(*) FROM (SELECT public.ev('rogue.test', jsonb_build_object('battery_id', '$B6', 'event', 'manufactured', 'model_id', 'FAKE-1',
    'occurred_at', '2024-01-01T00:00:00Z', 'data', jsonb_build_object('i', i))) FROM generate_series(1, 2000) i) x;
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SELECT public.ev('cells.test', '{"battery_id": "$B6", "event": "manufactured", "model_id": "REAL-1", "occurred_at": "2024-02-01T00:00:00Z"}');
SQL
ms=$(q -c "SELECT battledger.passport('$B6')" -c "DO \$\$ DECLARE t timestamptz := clock_timestamp(); BEGIN
  FOR i IN 1..5 LOOP PERFORM battledger.passport('$B6'); END LOOP;
  RAISE NOTICE 'ms=%', round(extract(epoch FROM clock_timestamp() - t) * 1000 / 5); END \$\$" 2>&1 | sed -n 's/.*ms=//p')
if [ "$ms" -lt 100 ]; then ok "F1c a passport behind 2,000 squatting manufactures: $ms ms"
else fail "F1c passport cost" "$ms ms a passport behind 2,000 ineffective manufactures"; fi

# F2, F3: a placed battery; a non-holder's move naming a passport, a wrong-role member's events
B2=gs1:01/09521234567899/21/B2
q >/dev/null <<SQL
SELECT public.ev('cells.test', '{"battery_id": "$B2", "event": "manufactured", "model_id": "REAL-1", "occurred_at": "2024-02-01T00:00:00Z"}');
SELECT public.ev('cells.test', '{"battery_id": "$B2", "event": "placed_on_market", "passport_id": "P-B2", "occurred_at": "2024-02-02T00:00:00Z",
    "data": {"operator": {"name": "Real operator"}}}');
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT public.ev('rogue.test', '{"battery_id": "$B2", "event": "status_changed", "new_status": "remanufactured", "passport_id": "P-B2-FAKE",
    "occurred_at": "2024-03-01T00:00:00Z", "data": {"operator": {"name": "Rogue operator"}}}');
SELECT public.ev('recycler.test', jsonb_build_object('battery_id', '$B2', 'event', e, 'occurred_at', '2020-01-01T00:00:00Z',
    'data', '{"kind": "fire"}')) FROM unnest(ARRAY['negative_event', 'installed', 'repaired']) e;
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SQL
conf=$(q -c "SELECT string_agg(signer || ':' || problem, ',' ORDER BY ledger_seq) FROM battledger.registry_conflicts() WHERE battery_id::text = '$B2'")
got=$(q -c "SELECT concat_ws('/', p->>'passportId', p->'generalProductInformation'->'operatorInformation'->>'name')
              FROM battledger.passport('$B2') p")
if [ "$got" = "P-B2/Real operator" ]; then ok "F2a the operator is the current passport's issuer ($conf)"
else fail "F2a operator of the passport" "passport/operator $got while registry_conflicts() says $conf"; fi
hist=$(q -c "SELECT string_agg(h->>'passportId', ',') FROM jsonb_array_elements(battledger.passport('$B2')->'passportHistory') h")
if [ "$hist" = "P-B2" ]; then ok "F2b the history lists the effective passports only"
else fail "F2b passport history" "lists $hist: a passport issued by a member that did not hold the battery"; fi
li=$(q -c "SELECT concat_ws('/', p->>'negativeEvents', coalesce(p->'generalProductInformation'->>'puttingIntoService', '-'),
                     coalesce(jsonb_array_length(p->'secondLife'->'repairs'), 0))
             FROM battledger.passport('$B2', 'legitimate_interest') p")
if [ "$li" = "0/-/0" ]; then ok "F3 events signed outside their roles are not in the passport"
else fail "F3 wrong-role events in the passport" "negative events/in service/repairs = $li (each an equivocation in registry_conflicts())"; fi

# H1: custody as a member's LOGIN application
q >/dev/null <<SQL
CREATE ROLE app_rogue LOGIN IN ROLE battledger_member;
GRANT USAGE ON SCHEMA battledger_test TO app_rogue;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA battledger_test TO app_rogue;
CREATE ROLE plain LOGIN;
SELECT public.ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/B3", "event": "manufactured", "model_id": "REAL-1", "occurred_at": "2024-02-01T00:00:00Z"}');
SELECT public.ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/B3", "event": "placed_on_market", "passport_id": "P-B3", "occurred_at": "2024-02-02T00:00:00Z"}');
SELECT public.ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/B3", "event": "handover", "data": {"to": "oem.test"}, "occurred_at": "2024-02-03T00:00:00Z"}');
SQL
B3=gs1:01/09521234567899/21/B3
h1=""
for j in '"event": "handover_accepted"' '"event": "status_changed", "new_status": "waste"' \
         '"event": "handover", "data": {"to": "recycler.test"}'; do
  h1+="$(qs app_rogue "SELECT public.ev('rogue.test', '{\"battery_id\": \"$B3\", $j, \"occurred_at\": \"2024-03-01T00:00:00Z\"}')") "
done
h1+="$(qs app_rogue "SELECT public.ev('rogue.test', '{\"battery_id\": \"$B2\", \"event\": \"handover_accepted\", \"occurred_at\": \"2024-03-01T00:00:00Z\"}')")"
if [ "$h1" = "BL043 BL043 BL043 BL043" ]; then ok "H1 custody holds for a member's application (BL043 x4)"
else fail "H1 custody" "got $h1"; fi

# F4: another member's application (an OEM, its rules followed, no bypass)
# declares the model id of cells.test's batteries
f4=$(qs app_rogue "SELECT public.model('rogue.test', '{\"model_id\": \"REAL-1\", \"manufacturer\": \"rogue.test\", \"category\": \"ev\",
      \"chemistry\": \"LFP\", \"rated_capacity_ah\": 9.0, \"carbon_footprint_kg_co2e_per_kwh\": 0.5}')")
got=$(q -c "SELECT concat_ws('/', p->>'batteryChemistry', p->'carbonFootprint'->'batteryCarbonFootprint'->>'value',
                p->'generalProductInformation'->>'manufacturerIdentification') FROM battledger.passport('$B2') p")
if [ "$got" = "NMC/61.2/cells.test" ]; then ok "F4 another member cannot redeclare a maker's model (declaration: $f4; passport $got)"
else fail "F4 a maker's model redeclared by another member" "declaration by rogue.test's application: $f4; cells.test's passport now shows chemistry/footprint/maker $got"; fi

# L1: a member bypassing its rules "receives" a lot nobody shipped to it;
# then the lot's holder ships it on
q >/dev/null <<'SQL'
SELECT public.lot('refiner.test', '{"lot_id": "L-V", "event": "extracted", "material": "cobalt ore", "mass_kg": 50,
    "country": "CD", "occurred_at": "2023-01-01T00:00:00Z"}');
ALTER TABLE battledger.lot_event DISABLE TRIGGER battledger_rules;
SELECT public.lot('rogue.test', '{"lot_id": "L-V", "event": "received", "material": "cobalt ore", "mass_kg": 50,
    "counterparty": "refiner.test", "occurred_at": "2023-01-02T00:00:00Z"}');
ALTER TABLE battledger.lot_event ENABLE TRIGGER battledger_rules;
SQL
l1c=$(q -c "SELECT battledger.lot_custodian('L-V')")
l1s=$(qs postgres "SELECT public.lot('refiner.test', '{\"lot_id\": \"L-V\", \"event\": \"shipped\", \"material\": \"cobalt ore\", \"mass_kg\": 50, \"counterparty\": \"cells.test\", \"occurred_at\": \"2023-01-03T00:00:00Z\"}')")
if [ "$l1c" = refiner.test ] && [ "$l1s" = ok ]; then ok "L1 a lot received without a shipment stays its holder's (custodian $l1c, its shipment $l1s)"
else fail "L1 lot custody taken" "after rogue.test's unshipped \"received\" (no conflict listed anywhere) lot_custodian() = $l1c on every member, and the holder's own shipment gets $l1s"; fi

# L2: a member bypassing its rules "processes" another member's lot (it does
# not hold it) into a lot of its own, consuming all of it; the holder then
# uses the lot.  (Fixed in 0.19.0: lot_available_kg() counts only the holder's)
q >/dev/null <<'SQL'
SELECT public.lot('refiner.test', '{"lot_id": "L-W", "event": "extracted", "material": "cobalt ore", "mass_kg": 50,
    "country": "CD", "occurred_at": "2023-01-01T00:00:00Z"}');
SELECT battledger.add_member('rogue-refiner.test', ARRAY['refiner']),
       battledger.add_key('rogue-refiner.test', battledger_test.public_key(battledger_test.seed('rogue-refiner.test')));
ALTER TABLE battledger.lot_event DISABLE TRIGGER battledger_rules;
SELECT public.lot('rogue-refiner.test', '{"lot_id": "L-STOLEN", "event": "processed", "material": "cobalt sulfate", "mass_kg": 50,
    "inputs": [{"lot": "L-W", "mass_kg": 50}], "occurred_at": "2023-01-02T00:00:00Z"}');
ALTER TABLE battledger.lot_event ENABLE TRIGGER battledger_rules;
SQL
l2k=$(q -c "SELECT battledger.lot_available_kg('L-W')")
l2s=$(qs postgres "SELECT public.lot('refiner.test', '{\"lot_id\": \"L-W2\", \"event\": \"processed\", \"material\": \"cobalt sulfate\", \"mass_kg\": 10, \"inputs\": [{\"lot\": \"L-W\", \"mass_kg\": 10}], \"occurred_at\": \"2023-01-03T00:00:00Z\"}')")
if [ "$l2s" = ok ]; then ok "L2 a lot consumed by a member that did not hold it is still its holder's to use ($l2k kg left)"
else fail "L2 lot mass taken (not fixed)" "after rogue-refiner.test processed the lot it did not hold (no conflict listed), lot_available_kg() = $l2k on every member and the holder's own processing gets $l2s"; fi

# H2: a plain LOGIN role
h2=""
for s in "SELECT count(*) FROM battledger.battery_event" "SELECT * FROM battledger.battery_state('$B2')" \
         "SELECT count(*) FROM battledger.battery_lifecycle('$B2')" "SELECT count(*) FROM battledger.registry_conflicts()" \
         "SELECT battledger.passport('$B2', 'legitimate_interest')" "SELECT battledger.passport('$B2', 'authority')" \
         "SELECT battledger._passport_source('$B2', 'legitimate_interest')" "SELECT battledger._effective_manufacture('$B2')"; do
  h2+="$(qs plain "$s") "
done
# the oracle of r16b P2, again: status of B3 (handover pending) vs B2 (original)
k=$(q -c "SELECT battledger.key_id(battledger_test.public_key(battledger_test.seed('cells.test')))")
o1=$(qs plain "INSERT INTO battledger.battery_event (battery_id, event, new_status, ledger_key_id, ledger_sig) VALUES ('$B3', 'status_changed', 'waste', '$k', '\\x$(printf '%0128d' 0)')")
o2=$(qs plain "INSERT INTO battledger.battery_event (battery_id, event, new_status, ledger_key_id, ledger_sig) VALUES ('$B2', 'status_changed', 'waste', '$k', '\\x$(printf '%0128d' 0)')")
if [ "$h2" = "42501 42501 42501 42501 42501 42501 42501 42501 " ] && [ "$o1" = "$o2" ]; then
  ok "H2 a plain role reads no raw events, state, conflicts or restricted tiers; no verdict oracle ($o1 = $o2)"
else fail "H2 plain role" "got [$h2] oracle $o1 vs $o2"; fi

# H3: huge and deep data from the member's application
deep=$(python3 -c "print('['*10000 + ']'*10000)")
h3a=$(qs app_rogue "SELECT public.ev('rogue.test', jsonb_build_object('battery_id', 'iso15459:LJ/4711/B4', 'event', 'manufactured', 'model_id', 'FAKE-1', 'occurred_at', '2024-01-01T00:00:00Z', 'data', '{\"x\": $deep}'::jsonb))")
h3b=$(qs app_rogue "SELECT public.ev('rogue.test', jsonb_build_object('battery_id', 'iso15459:LJ/4711/B5', 'event', 'manufactured', 'model_id', 'FAKE-1', 'occurred_at', '2024-01-01T00:00:00Z', 'data', jsonb_build_object('x', repeat('y', 1000000))))")
h3c=$(qs plain "SELECT length(battledger.passport('iso15459:LJ/4711/B5')::text)")
if ! grep -q "terminated by signal" "$BL_WORK/r20.log" && [ "$(q -c 'SELECT 1')" = 1 ]; then
  ok "H3 10,000-deep and 1 MB event data: no crash (write $h3a, $h3b; passport $h3c)"
else fail "H3 huge inputs" "the server crashed"; fi

# H4: a table owner's shadow objects in public, a superuser with public first
q >/dev/null <<'SQL'
CREATE ROLE shadow LOGIN;
GRANT CREATE ON SCHEMA public TO shadow;
SET ROLE shadow;
CREATE TABLE public.battery_event (battery_id text, event text);
CREATE TABLE public.called (who text);
GRANT INSERT ON public.called TO PUBLIC;
CREATE FUNCTION public._effective_manufacture(b battledger.battery_id) RETURNS battledger.battery_event
    LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.called VALUES (current_user); RETURN NULL; END $$;
CREATE FUNCTION public._signer_at(k battledger.hash256, at timestamptz, OUT member text, OUT roles text[])
    LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.called VALUES (current_user); END $$;
RESET ROLE;
SQL
p=$(q -c "SET search_path = public, battledger" -c "SELECT passport('$B2')->>'passportId'" -c "SELECT count(*) FROM public.called")
if [ "$p" = "P-B2
0" ]; then ok "H4 shadow functions and tables in public are never called by passport()"
else fail "H4 search_path" "got $p"; fi

echo "# $FAILS FAIL(s)"
exit $FAILS
