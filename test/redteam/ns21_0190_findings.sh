#!/usr/bin/env bash
# ns21 (0.19.0, on main 7b7d4bc): model ids and lot ids a backdated statement
# cannot take (red team r21 F3 and its trick on lots), and a lot's mass
# balance that counts only the consumers holding it (red team r20 L2), in a
# consortium of two members: c (a cell maker and miner, the honest one,
# which registered the GS1 company prefix 952123) and m (a malicious
# member: its superuser turns its rules off).  Each case prints "ok   - ..."
# when the property holds, "FAIL - ..." for a finding; exit status: the
# number of FAILs.  PG_BIN: the build under test.  NS21_PORT (default
# 56110; uses 2 ports).
# Results, PostgreSQL 15, 2026-12-06 ~13:40 UTC: main 7b7d4bc 12 FAILs (M1,
# M2 and its passport, redeclaration and conflict lines, L1, L2 and its
# conflict line, L3 and its three lines); branch ns21 0 FAILs.  The trick
# works on both (the squatter's rows are dated first: the two control lines
# hold on main too).
#   M1  m's application (its rules on) declares a model id in c's namespace
#       ('gs1:01/<GTIN of prefix 952123>'): refused, BL044.
#   M2  r21 F3 with a namespaced model id: m runs one statement that waits
#       for c's first battery_model row of the id to arrive and then writes
#       its own, dated at the statement's start, before c's.  The holder is
#       c on both members, c's passport of a battery of that model shows
#       c's values on m, c may declare its model again, and
#       registry_conflicts() names m's row (model_foreign_namespace).
#   L1  m's application creates a lot whose id is in c's namespace
#       ('gs1:01/<GTIN>/10/<batch>'): refused, BL044.
#   L2  the same backdated-statement trick on a lot: c extracts it, m's
#       statement waits for the row and writes its own "extracted", dated
#       before it.  c holds the lot on both members, its mass is c's, and
#       registry_conflicts() names m's row (foreign_namespace).
#   L3  r20 L2 across members: m "processes" c's lot (it does not hold it)
#       into a lot of its own, all of it.  The lot's mass is c's still on
#       both members, c's own processing passes, and registry_conflicts()
#       names m's row (lot_not_held).
#   residual (printed, not counted): an id in no registered namespace is
#       still its first declarer's (creator's) in registry order: the same
#       statement takes it (docs/security.md, "Residual risks").
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
P=${NS21_PORT:-56110}
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([c]=$P [m]=$((P + 1)))
declare -A ORIGIN=([c]=c.example/log [m]=m.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
# the SQLSTATE of a statement, or "" if it passed
state() { local x=$1; shift; psql -X -q -At -h "$BL_WORK" -p "${PORT[$x]}" -d bl -v VERBOSITY=sqlstate "$@" 2>&1 >/dev/null | sed -n 's/^ERROR: *//p' | head -1; }

for x in c m; do
  bl_member_start "$x" "$W" witness "$BL_QUICK_RETRY"
  q "$x" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
CREATE FUNCTION public.lot(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.lot_event := jsonb_populate_record(NULL::battledger.lot_event,
    j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN
    r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r));
    INSERT INTO battledger.lot_event SELECT r.*;
END $$;
-- squat(tbl, col, id, stmt): one statement that waits for a row of id to
-- arrive in tbl, then runs stmt, its rows dated at this statement's start
CREATE FUNCTION public.squat(tbl regclass, col text, id text, stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    there boolean;
BEGIN
    FOR i IN 1..300 LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I = $1)', tbl, col) INTO there USING id;
        EXIT WHEN there;
        PERFORM pg_sleep(0.1);
    END LOOP;
    EXECUTE stmt;
    RETURN 'done';
END $$;
SELECT battledger.publish_member();
SQL
done
q c -c "SELECT battledger.add_member('cell.example', ARRAY['cell_maker', 'miner', 'refiner']),
              battledger.add_key('cell.example', battledger_test.public_key(battledger_test.seed('cell-1'))),
              battledger.add_id_namespace('cell.example', 'gs1:952123')" >/dev/null
q m -c "SELECT battledger.add_member('mal.example', ARRAY['pack_maker', 'miner', 'refiner']),
              battledger.add_key('mal.example', battledger_test.public_key(battledger_test.seed('mal-1')))" >/dev/null
for x in c m; do bl_member_keys "$x" witness; done
bl_join c m; bl_join m c
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.members" >/dev/null; done
bl_wait_for m "SELECT count(*) = 1 FROM battledger.id_namespace" >/dev/null

MJ='{"model_id": "%s", "manufacturer": "%s", "category": "ev", "chemistry": "%s", "rated_capacity_ah": %s}'
LJ='{"lot_id": "%s", "event": "extracted", "material": "%s", "mass_kg": %s, "country": "CD", "occurred_at": "2026-01-01T00:00:00Z"}'
MODEL=gs1:01/09521230000017          # in c's namespace (GS1 company prefix 952123)
LOT=gs1:01/09521230000024/10/LOT1    # the same, a batch of a material

# ---------------------------------------------------------------- M. model ids
R=$(state m -c "SELECT model('mal-1', '$(printf "$MJ" gs1:01/09521230000093 mal.example NMC 1)'::jsonb)")
check "M1 m's application declaring a model id in c's namespace is refused" "$R" BL044
q m >/dev/null <<SQL
ALTER TABLE battledger.battery_model DISABLE TRIGGER battledger_rules;
SQL
q m -c "SELECT squat('battledger.battery_model', 'model_id', '$MODEL',
                     \$s\$SELECT model('mal-1', '$(printf "$MJ" "$MODEL" mal.example NMC-fake 1)'::jsonb)\$s\$)" >/dev/null 2>&1 &
squat=$!
sleep 2
q c -c "SELECT model('cell-1', '$(printf "$MJ" "$MODEL" cell.example LFP 280)'::jsonb)" >/dev/null
wait $squat
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.battery_model WHERE model_id = '$MODEL'" >/dev/null; done
check "  the squatter's row is dated before the maker's (the trick worked)" \
  "$(q c -c "SELECT string_agg(manufacturer, ' ' ORDER BY ledger_at) FROM battledger.battery_model WHERE model_id = '$MODEL'")" \
  "mal.example cell.example"
HC=$(q c -c "SELECT battledger._model_holder('$MODEL')"); HM=$(q m -c "SELECT battledger._model_holder('$MODEL')")
check "M2 a model id in c's namespace stays c's on both members, the squatter's row dated first" "$HC/$HM" "cell.example/cell.example"
q c -c "SELECT ev('cell-1', jsonb_build_object('battery_id', 'gs1:01/09521230000017/21/S1', 'event', 'manufactured',
                                              'occurred_at', '2026-01-02T00:00:00Z', 'model_id', '$MODEL'))" >/dev/null
bl_wait_for m "SELECT count(*) = 1 FROM battledger.battery_event WHERE model_id = '$MODEL'" >/dev/null
check "  m's passport of c's battery of that model shows c's declaration" \
  "$(q m -c "SELECT p->>'batteryChemistry' FROM battledger.passport('gs1:01/09521230000017/21/S1') p")" LFP
R=$(state c -c "SELECT model('cell-1', '$(printf "$MJ" "$MODEL" cell.example LFP 281)'::jsonb)")
check "  c may declare its model again" "$R" ""
check "  registry_conflicts() names m's row on c" \
  "$(q c -c "SELECT string_agg(signer || ' ' || problem || ' ' || kind, ', ') FROM battledger.registry_conflicts() WHERE event = 'battery_model'")" \
  "mal.example model_foreign_namespace equivocation"
# residual: a model id in no namespace
q m -c "SELECT squat('battledger.battery_model', 'model_id', 'CELL-FREE',
                     \$s\$SELECT model('mal-1', '$(printf "$MJ" CELL-FREE mal.example NMC-fake 1)'::jsonb)\$s\$)" >/dev/null 2>&1 &
squat=$!
sleep 2
q c -c "SELECT model('cell-1', '$(printf "$MJ" CELL-FREE cell.example LFP 280)'::jsonb)" >/dev/null
wait $squat
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.battery_model WHERE model_id = 'CELL-FREE'" >/dev/null; done
echo "#   residual: model CELL-FREE (no namespace): holder at c '$(q c -c "SELECT battledger._model_holder('CELL-FREE')")', at m '$(q m -c "SELECT battledger._model_holder('CELL-FREE')")' (documented)"
q m -c "ALTER TABLE battledger.battery_model ENABLE TRIGGER battledger_rules" >/dev/null

# ---------------------------------------------------------------- L. lots
R=$(state m -c "SELECT lot('mal-1', '$(printf "$LJ" gs1:01/09521230000093/10/X mal.example 5)'::jsonb)")
check "L1 m's application creating a lot id in c's namespace is refused" "$R" BL044
q m -c "ALTER TABLE battledger.lot_event DISABLE TRIGGER battledger_rules" >/dev/null
q m -c "SELECT squat('battledger.lot_event', 'lot_id', '$LOT',
                     \$s\$SELECT lot('mal-1', '$(printf "$LJ" "$LOT" 'cobalt ore' 1)'::jsonb)\$s\$)" >/dev/null 2>&1 &
squat=$!
sleep 2
q c -c "SELECT lot('cell-1', '$(printf "$LJ" "$LOT" 'cobalt ore' 100)'::jsonb)" >/dev/null
wait $squat
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.lot_event WHERE lot_id = '$LOT'" >/dev/null; done
check "  the squatter's lot row is dated before the maker's (the trick worked)" \
  "$(q c -c "SELECT string_agg(mass_kg::text, ' ' ORDER BY ledger_at) FROM battledger.lot_event WHERE lot_id = '$LOT'")" "1 100"
G=$(for x in c m; do q "$x" -c "SELECT battledger.lot_custodian('$LOT') || ' ' || battledger.lot_available_kg('$LOT')"; done | paste -sd/)
check "L2 a lot id in c's namespace stays c's, with c's mass, on both members" "$G" "cell.example 100/cell.example 100"
check "  registry_conflicts() names m's lot row on c" \
  "$(q c -c "SELECT string_agg(signer || ' ' || problem || ' ' || kind, ', ') FROM battledger.registry_conflicts() WHERE event = 'extracted'")" \
  "mal.example foreign_namespace equivocation"
# residual: a lot id in no namespace
q m -c "SELECT squat('battledger.lot_event', 'lot_id', 'LOT-FREE',
                     \$s\$SELECT lot('mal-1', '$(printf "$LJ" LOT-FREE 'cobalt ore' 1)'::jsonb)\$s\$)" >/dev/null 2>&1 &
squat=$!
sleep 2
q c -c "SELECT lot('cell-1', '$(printf "$LJ" LOT-FREE 'cobalt ore' 100)'::jsonb)" >/dev/null
wait $squat
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.lot_event WHERE lot_id = 'LOT-FREE'" >/dev/null; done
echo "#   residual: lot LOT-FREE (no namespace): custodian at c '$(q c -c "SELECT battledger.lot_custodian('LOT-FREE')")', at m '$(q m -c "SELECT battledger.lot_custodian('LOT-FREE')")' (documented)"

# L3 (r20 L2 across members): m processes c's lot, all of it, into its own
q m -c "SELECT lot('mal-1', jsonb_build_object('lot_id', 'M-OUT', 'event', 'processed', 'material', 'cobalt sulfate', 'mass_kg', 100,
                                              'inputs', jsonb_build_array(jsonb_build_object('lot', '$LOT', 'mass_kg', 100)),
                                              'occurred_at', '2026-01-03T00:00:00Z'))" >/dev/null
q m -c "ALTER TABLE battledger.lot_event ENABLE TRIGGER battledger_rules" >/dev/null
bl_wait_for c "SELECT count(*) = 1 FROM battledger.lot_event WHERE lot_id = 'M-OUT'" >/dev/null
G=$(for x in c m; do q "$x" -c "SELECT battledger.lot_available_kg('$LOT')"; done | paste -sd/)
check "L3 a lot processed by a member that does not hold it keeps its mass on both members" "$G" "100/100"
R=$(state c -c "SELECT lot('cell-1', jsonb_build_object('lot_id', 'gs1:01/09521230000031/10/OUT', 'event', 'processed',
                 'material', 'cobalt sulfate', 'mass_kg', 10, 'inputs', jsonb_build_array(jsonb_build_object('lot', '$LOT', 'mass_kg', 10)),
                 'occurred_at', '2026-01-04T00:00:00Z'))")
check "  and the holder's own processing of it passes" "$R" ""
check "  registry_conflicts() names m's consumer row on c" \
  "$(q c -c "SELECT string_agg(signer || ' ' || problem || ' ' || kind, ', ') FROM battledger.registry_conflicts() WHERE problem = 'lot_not_held'")" \
  "mal.example lot_not_held equivocation"
check "  and c's lot has 90 kg left" "$(q c -c "SELECT battledger.lot_available_kg('$LOT')")" 90

# V (lead, after the merge): verify_member() names each equivocation with the
# table it is in; 0.18.0's body called every one "battledger.battery_event"
# and "... of battery (null)"
V=$(q c -c "SELECT string_agg(DISTINCT tbl, ',' ORDER BY tbl) FROM battledger.verify_member('m.example/log') WHERE problem = 'registry_equivocation'")
check "V verify_member() on c names m's model and lot rows in their tables" "$V" "battledger.battery_model,battledger.lot_event"
check "  and names no battery for them" \
  "$(q c -c "SELECT count(*) FROM battledger.verify_member('m.example/log') WHERE problem = 'registry_equivocation' AND detail LIKE '%of battery%'")" 0

echo "# $FAILS FAIL(s)"
exit "$FAILS"
