#!/usr/bin/env bash
# Passports in the industry's formats, checked by the standards' own schemas:
# passport(id, tier, 'batterypass') (seven BatteryPass 1.2 aspects) and
# passport(id, tier, 'catenax') (Catena-X battery pass 6.1.0), for batteries of
# every category built from signed registry events (TEST-ONLY signer), fully
# declared and declaring nothing, at every tier, validated by Debian's
# python3-jsonschema (draft 4, format checking; test/lib/validate_passport.py).
# Then the tiers outside passport(): what a plain role, each tier's role, a
# member's role and the owner may read.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster pp 55471 "$(bl_test_log_conf battledger.test/pp)"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d pp "$@"; }
createdb pp
OUT=$BL_WORK/passports; mkdir -p "$OUT"

q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
SET search_path = public, battledger, battledger_test;
SELECT add_member(m, r), add_key(m, public_key(seed(m)))
  FROM (VALUES ('cells.test', ARRAY['cell_maker', 'pack_maker']), ('oem.test', ARRAY['oem']),
               ('fleet.test', ARRAY['fleet_operator']), ('lab.test', ARRAY['auditor'])) v(m, r);
-- a member's application: fill in the key id, sign the signing bytes, insert
CREATE FUNCTION ev(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, j || jsonb_build_object('ledger_key_id', key_id(public_key(seed(m)))::text));
BEGIN r.ledger_sig := sign(seed(m), signing_bytes(r)); INSERT INTO battledger.battery_event SELECT r.*; END $$;
CREATE FUNCTION model(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_model := jsonb_populate_record(NULL::battledger.battery_model, j || jsonb_build_object('ledger_key_id', key_id(public_key(seed(m)))::text));
BEGIN r.ledger_sig := sign(seed(m), signing_bytes(r)); INSERT INTO battledger.battery_model SELECT r.*; END $$;
CREATE FUNCTION bid(serial text) RETURNS battery_id LANGUAGE sql AS $$
    SELECT ('https://id.gs1.org/01/09521234567899/21/' || serial)::battery_id $$;
-- a restricted value: its salted commitment goes on the ledger, the cleartext to the tier
CREATE FUNCTION disclose(tier text, v jsonb) RETURNS text LANGUAGE sql AS $$
    INSERT INTO battledger.disclosure VALUES (commitment(sha256(convert_to(v::text, 'UTF8')), v), tier,
                                              sha256(convert_to(v::text, 'UTF8')), v)   -- TEST ONLY: reproducible salt
    ON CONFLICT DO NOTHING;
    SELECT commitment(sha256(convert_to(v::text, 'UTF8')), v)::text $$;

CREATE FUNCTION doc(name text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('url', 'https://docs.cells.test/' || name || '.pdf',
                              'sha256', encode(sha256(convert_to(name, 'UTF8')), 'hex')) $$;
-- what a manufacturer declares: materials (Annex XIII points 1 and 2) on the model
CREATE FUNCTION full_materials() RETURNS jsonb LANGUAGE sql AS $$ SELECT jsonb_build_object(
    'cathode', 'NMC 811', 'anode', 'graphite', 'electrolyte', 'LiPF6 in EC/DMC',
    'criticalRawMaterials', '["cobalt", "lithium", "nickel", "natural graphite"]'::jsonb,
    'chemistry', '{"shortName": "NMC", "clearName": "Lithium nickel manganese cobalt oxide / graphite"}'::jsonb,
    'batteryMaterials', '[{"name": "Cobalt", "cas": "7440-48-4", "massKg": 9.1, "concentrationPct": 2.1, "component": "Cathode", "critical": true},
                          {"name": "Lithium", "cas": "7439-93-2", "massKg": 6.2, "concentrationPct": 1.4, "component": "Cathode", "critical": true},
                          {"name": "Natural graphite", "cas": "7782-42-5", "massKg": 48.0, "concentrationPct": 11.2, "component": "Anode", "critical": true}]'::jsonb,
    'hazardousSubstances', '[{"class": "AcuteToxicity", "name": "Lithium hexafluorophosphate", "cas": "21324-40-3", "concentrationPct": 1.2,
                              "impact": ["toxic if swallowed"], "component": "Electrolyte"}]'::jsonb,
    'hazardousElements', jsonb_build_object(
        'cadmium', jsonb_build_object('concentration', 0, 'materialUnit', 'unit:partPerMillion', 'location', 'none', 'critical', false,
                                      'impactOfSubstances', jsonb_build_array(jsonb_build_object('contentType', 'URL', 'header', 'substance impacts', 'content', doc('impacts')->'url')),
                                      'documentation', jsonb_build_array(jsonb_build_object('contentType', 'URL', 'header', 'test', 'content', doc('cd-test')->'url'))),
        'mercury', jsonb_build_object('concentration', 0, 'materialUnit', 'unit:partPerMillion', 'location', 'none', 'critical', false,
                                      'impactOfSubstances', jsonb_build_array(jsonb_build_object('contentType', 'URL', 'header', 'substance impacts', 'content', doc('impacts')->'url')),
                                      'documentation', jsonb_build_array(jsonb_build_object('contentType', 'URL', 'header', 'test', 'content', doc('hg-test')->'url'))),
        'lead', jsonb_build_object('concentration', 0, 'materialUnit', 'unit:partPerMillion', 'location', 'none', 'critical', false, 'recycled', 0,
                                   'impactOfSubstances', jsonb_build_array(jsonb_build_object('contentType', 'URL', 'header', 'substance impacts', 'content', doc('impacts')->'url')),
                                   'documentation', jsonb_build_array(jsonb_build_object('contentType', 'URL', 'header', 'test', 'content', doc('pb-test')->'url')))),
    'activeMaterials', jsonb_build_object(
        'nickel', jsonb_build_object('location', 'cathode', 'critical', true, 'documentation', jsonb_build_array(jsonb_build_object('contentType', 'URL', 'header', 'nickel', 'content', doc('ni')->'url'))),
        'lithium', jsonb_build_object('location', 'cathode', 'critical', true, 'documentation', jsonb_build_array(jsonb_build_object('contentType', 'URL', 'header', 'lithium', 'content', doc('li')->'url'))),
        'cobalt', jsonb_build_object('location', 'cathode', 'critical', true, 'documentation', jsonb_build_array(jsonb_build_object('contentType', 'URL', 'header', 'cobalt', 'content', doc('co')->'url'))),
        'lead', jsonb_build_object('location', 'none', 'critical', false, 'concentration', 0, 'materialUnit', 'unit:partPerMillion',
                                   'impactOfSubstances', jsonb_build_array(jsonb_build_object('contentType', 'URL', 'header', 'substance impacts', 'content', doc('impacts')->'url')),
                                   'documentation', jsonb_build_array(jsonb_build_object('contentType', 'URL', 'header', 'lead', 'content', doc('pb')->'url')))),
    'dismantling', jsonb_build_array(doc('dismantling-manual') || '{"documentType": "DismantlingManual", "mimeType": "application/pdf"}',
                                     doc('bill-of-material') || '{"documentType": "BillOfMaterial", "mimeType": "application/pdf"}'),
    'sparePartSources', '[{"id": "bpnl:BPNL00000000SPAR", "name": "Spares Ltd", "email": "parts@spares.example",
                           "web": "https://spares.example", "address": {"country": "DE", "postalCode": "10719", "street": "Hindenburgstr. 10"},
                           "components": [{"partName": "Cell", "partNumber": "C-811-50"}, {"partName": "BMS", "partNumber": "BMS-7"}]}]'::jsonb) $$;
-- and, signed with the "manufactured" event, the battery's public declarations
CREATE FUNCTION full_declaration() RETURNS jsonb LANGUAGE sql AS $$ SELECT jsonb_build_object(
    'facility', 'bpna:BPNA000000000001',
    'manufacturer', '{"id": "bpnl:BPNL000000000001", "name": "Cells Test GmbH", "email": "contact@cells.example",
                      "web": "https://cells.example", "address": {"country": "DE", "postalCode": "38440", "street": "Werkstr. 1"}}'::jsonb,
    'manufacturingPlace', '{"country": "DE", "postalCode": "38440", "street": "Werkstr. 1"}'::jsonb,
    'granularity', 'pack', 'productName', 'Test pack', 'dataCarrierLayout', 'QR code on the top cover',
    'codes', '[{"key": "TARIC", "value": "8507 60 00"}]'::jsonb,
    'classification', '[{"classificationStandard": "IEC 62660", "classificationID": "EV-NMC"}]'::jsonb,
    'purpose', '["automotive"]'::jsonb,
    'documents', jsonb_build_object('declarationOfConformity', doc('eu-doc'), 'dueDiligenceReport', doc('due-diligence'),
        'thirdPartyAssurances', doc('assurance'), 'carbonFootprintStudy', doc('cf-study'), 'carbonFootprintRulebook', doc('cf-rules'),
        'safetyInstructions', doc('safety'), 'lifetimeReferenceTest', doc('lifetime-test'), 'wastePrevention', doc('waste-prevention'),
        'separateCollection', doc('separate-collection'), 'informationOnCollection', doc('collection'), 'meaningOfLabels', doc('labels')),
    'labels', jsonb_build_array(jsonb_build_object('subject', 'SeparateCollection', 'symbol', doc('wheelie-bin')->'url', 'meaning', 'Separate collection')),
    'extinguishingAgent', '["water"]'::jsonb,
    'extinguishingAgents', '[{"media": "water", "fireClass": "A"}]'::jsonb,
    'carbonFootprint', '{"perStage": {"RawMaterialExtraction": 40.1, "MainProduction": 18.3, "Distribution": 1.2, "Recycling": 1.6},
                         "performanceClass": "B", "absoluteKgCo2e": 4590}'::jsonb,
    'renewableContentPct', 3.5, 'supplyChainIndex', 2,
    'rated', '{"maximumPowerW": 150000, "powerAt20SocW": 110000, "powerAt80SocW": 150000, "powerCapabilityRatio": 0.73,
               "roundTripEfficiencyPct": 95, "roundTripEfficiencyAt50PctLifePct": 92, "roundTripEfficiencyDoDPct": 80,
               "selfDischargePct": 2.0, "internalResistanceCellOhm": 0.0008, "internalResistancePackOhm": 0.09,
               "cRate": 1, "expectedLifetimeYears": 10, "idleTemperatureLowerC": -20, "idleTemperatureUpperC": 45,
               "cycleLifeTest": {"temperatureC": 25, "cycles": 2000, "depthOfDischargePct": 80, "chargeRate": 0.5, "dischargeRate": 1}}'::jsonb) $$;

-- one model per category, fully declared, and one declaring nothing beyond the columns
SELECT model('cells.test', jsonb_build_object('model_id', 'FULL-' || c, 'manufacturer', 'cells.test', 'category', c,
        'chemistry', 'NMC 811 / graphite', 'rated_capacity_ah', 200, 'rated_energy_kwh', 74, 'nominal_voltage_v', 370,
        'min_voltage_v', 300, 'max_voltage_v', 420, 'original_power_w', 150000, 'expected_lifetime_cycles', 2000,
        'capacity_threshold_pct', 70, 'mass_kg', 430, 'carbon_footprint_kg_co2e_per_kwh', 61.2,
        'materials', full_materials(),
        'recycled_content', '{"cobalt": {"preConsumerShare": 4, "postConsumerShare": 12}, "lithium": {"preConsumerShare": 1, "postConsumerShare": 5},
                              "nickel": {"preConsumerShare": 2, "postConsumerShare": 4}, "lead": {"preConsumerShare": 0, "postConsumerShare": 0}}'::jsonb)),
       model('cells.test', jsonb_build_object('model_id', 'BARE-' || c, 'manufacturer', 'cells.test', 'category', c,
        'chemistry', 'LFP', 'rated_capacity_ah', 2)) IS NULL
  FROM unnest(ARRAY['ev', 'lmt', 'industrial', 'stationary', 'portable']) c;

-- a battery's life; declared: what its manufacturer declares (NULL: nothing), warranty: its operator's
CREATE FUNCTION life(serial text, model_id text, declared jsonb, warranty jsonb DEFAULT '{"value": 8, "unit": "year"}') RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    b text := bid(serial)::text;
    declaring boolean := declared IS NOT NULL;
BEGIN
    PERFORM ev('cells.test', jsonb_build_object('battery_id', b, 'event', 'manufactured', 'model_id', model_id,
               'data', declared, 'occurred_at', '2025-01-10T08:00:00Z'));
    IF declaring THEN
        -- a test report, for authorities only (Annex XIII point 3)
        PERFORM ev('lab.test', jsonb_build_object('battery_id', b, 'event', 'quality_checked', 'occurred_at', '2025-01-12T00:00:00Z',
                   'restricted', disclose('authority', jsonb_build_object('testReport', doc('test-report-' || serial)))));
    END IF;
    PERFORM ev('oem.test', jsonb_build_object('battery_id', b, 'event', 'placed_on_market', 'passport_id', 'urn:bp:' || serial || ':1',
               'data', CASE WHEN declaring THEN '{"operator": {"id": "bpnl:BPNL000000000002", "name": "OEM Test AG", "email": "passport@oem.example",
                                                             "web": "https://oem.example", "address": {"country": "DE", "postalCode": "80809", "street": "Petuelring 130"}},
                                                "passportExpiry": "2040-02-01"}'::jsonb || jsonb_build_object('warranty', warranty) END,
               'occurred_at', '2025-02-01T00:00:00Z'));
    IF declaring THEN
        PERFORM ev('fleet.test', jsonb_build_object('battery_id', b, 'event', 'installed', 'occurred_at', '2025-02-10T00:00:00Z'));
        PERFORM ev('fleet.test', jsonb_build_object('battery_id', b, 'event', 'soh_reported', 'occurred_at', '2025-09-01T00:00:00Z',
                   'restricted', disclose('legitimate_interest', jsonb_build_object('serial', serial,
                       'soh_pct', 97.2, 'capacity_ah', 194.4, 'capacity_fade_pct', 2.8, 'full_cycles', 212, 'energy_throughput_kwh', 15100,
                       'capacity_throughput_ah', 41000, 're_ohm', 0.094, 'resistance_increase_pct', 4.4, 'soce_pct', 96.9, 'soc_pct', 63,
                       're_cell_ohm', 0.00083, 'resistance_increase_cell_pct', 3.9,
                       'remaining_energy_kwh', 71.7, 'remaining_power_w', 141000, 'remaining_power_soc_pct', 80, 'power_fade_pct', 6,
                       'rte_remaining_pct', 94.1, 'rte_fade_pct', 0.9, 'self_discharge_pct', 2.1, 'self_discharge_evolution_pct', 0.1,
                       't_extreme_high_min', 35, 't_extreme_low_min', 120, 't_extreme_high_charging_min', 0, 't_extreme_low_charging_min', 4,
                       'deep_discharge_events', 0, 'overcharge_events', 0))));
        PERFORM ev('fleet.test', jsonb_build_object('battery_id', b, 'event', 'negative_event', 'data', '{"kind": "deep discharge"}'::jsonb,
                   'occurred_at', '2025-10-01T00:00:00Z'));
    END IF;
END $$;
-- the LMT battery's warranty (12 months) fits BatteryPass's warrentyPeriod, the others' (8 years) cannot
SELECT life('FULL-' || c, 'FULL-' || c, full_declaration(),
            CASE WHEN c = 'lmt' THEN '{"value": 12, "unit": "month"}' ELSE '{"value": 8, "unit": "year"}' END::jsonb),
       life('BARE-' || c, 'BARE-' || c, NULL)
  FROM unnest(ARRAY['ev', 'lmt', 'industrial', 'stationary', 'portable']) c;
-- the same fully declared EV battery, but its manufacturer's postal address left out
SELECT life('NOADDR-ev', 'FULL-ev', full_declaration() #- '{manufacturer,address}');
SELECT seal() IS NOT NULL;
SQL

# every battery x tier x format, as its own file
for b in FULL-ev FULL-lmt FULL-industrial FULL-stationary FULL-portable BARE-ev BARE-lmt BARE-industrial BARE-stationary BARE-portable; do
  for tier in public legitimate_interest authority; do
    for fmt in batterypass catenax; do
      [ "$fmt" = batterypass ] && [ "${b#*-}" = portable ] && continue
      q -c "SELECT battledger.passport(('https://id.gs1.org/01/09521234567899/21/' || '$b')::battledger.battery_id, '$tier', '$fmt')" \
        > "$OUT/$b.$tier.$fmt.json"
      # what these batteries do not have: BARE-* declare nothing; an 8-year warranty is no xsd:gMonth
      case $b in
        BARE-*) echo '*' > "$OUT/$b.$tier.$fmt.json.absent" ;;
        FULL-lmt) ;;
        FULL-*) echo 'GeneralProductInformation warrentyPeriod' > "$OUT/$b.$tier.$fmt.json.absent" ;;
      esac
    done
  done
done
echo "passports written: $(ls "$OUT"/*.json | wc -l)"

V="/usr/bin/python3 $BL_ROOT/test/lib/validate_passport.py $BL_ROOT/test/standards $BL_ROOT/test/standards/withheld.json"
echo "== validation (BatteryPass 1.2: 7 aspects; Catena-X 6.1.0: 1 document; per battery and tier)"
if $V "$OUT"/*.json > "$BL_WORK/validation.txt"; then vrc=0; else vrc=$?; fi
cat "$BL_WORK/validation.txt"
check "every passport validates (BatteryPass 1.2 and Catena-X 6.1.0, every tier, every category)" test "$vrc" = 0
check "8 documents per fully declared battery per tier (4 categories x 7 aspects + Catena-X, + portable Catena-X)" \
  test "$(grep -c '^ok   FULL-' "$BL_WORK/validation.txt")" = $(( (4 * 8 + 1) * 3 ))

# it must be able to fail: a required value removed (the manufacturer's postal address) ...
q -c "SELECT battledger.passport(('https://id.gs1.org/01/09521234567899/21/NOADDR-ev')::battledger.battery_id, 'legitimate_interest', 'batterypass')" \
  > "$BL_WORK/NOADDR-ev.legitimate_interest.batterypass.json"
echo 'GeneralProductInformation warrentyPeriod' > "$BL_WORK/NOADDR-ev.legitimate_interest.batterypass.json.absent"
if r=$($V "$BL_WORK/NOADDR-ev.legitimate_interest.batterypass.json"); then nrc=0; else nrc=$?; fi
echo "$r" | grep FAIL || true
check "a passport missing a required value fails validation" test "$nrc" = 1
check "... and the failure names it, and only it" test "$(grep FAIL <<<"$r")" = \
  "FAIL NOADDR-ev legitimate_interest GeneralProductInformation: manufacturerInformation.postalAddress (missing)"
# ... and a value of the wrong type (a mass as text)
/usr/bin/python3 -c "
import json,sys; d=json.load(open(sys.argv[1])); k=[k for k in d if 'GeneralProductInformation' in k][0]
d[k]['batteryMass']='430 kg'; json.dump(d, open(sys.argv[2],'w'))" "$OUT/FULL-ev.public.batterypass.json" "$BL_WORK/BROKEN-ev.public.batterypass.json"
if r=$($V "$BL_WORK/BROKEN-ev.public.batterypass.json"); then brc=0; else brc=$?; fi
check "a value of the wrong type fails validation" test "$brc" = 1
# a tier withholding a value cannot excuse it at another tier: the public GPI checked as legitimate interest
cp "$OUT/FULL-ev.public.batterypass.json" "$BL_WORK/FULLPUB-ev.legitimate_interest.batterypass.json"
if r=$($V "$BL_WORK/FULLPUB-ev.legitimate_interest.batterypass.json"); then wrc=0; else wrc=$?; fi
check "values withheld from the public are missing at the legitimate-interest tier" grep -q 'batteryStatus (missing)' <<<"$r"

echo "== what each tier sees"
pp() { q -c "SELECT battledger.passport(('https://id.gs1.org/01/09521234567899/21/FULL-ev')::battledger.battery_id, '$1', '$2') $3"; }
check "public: no status, no putting into service, no cathode"     test "$(pp public battledger "?| ARRAY['batteryStatus']")" = f
check "public: no cathode material"                                test "$(pp public battledger "->'materialComposition' ? 'cathode'")" = f
check "public: critical raw materials"                             test "$(pp public battledger "->'materialComposition' ? 'criticalRawMaterials'")" = t
check "legitimate interest: status, service date, cathode, usage"  test "$(pp legitimate_interest battledger "?& ARRAY['batteryStatus', 'negativeEvents']")" = t
check "legitimate interest: no test report"                        test "$(pp legitimate_interest battledger "? 'testReports'")" = f
check "authority: cathode and test report"                         test "$(pp authority battledger "->'materialComposition' ? 'cathode'")$(pp authority battledger "? 'testReports'")" = tt
check "authority: no status, no usage (Annex XIII point 4)"        test "$(pp authority battledger "?| ARRAY['batteryStatus', 'negativeEvents']")$(pp authority battledger "->'performance' ? 'dynamic'")" = ff
check "history: status moves for legitimate interest only"         test "$(pp public battledger "->'passportHistory'->0 ? 'status'")$(pp legitimate_interest battledger "->'passportHistory'->0 ? 'status'")" = ft

echo "== every readable object, as a plain role, each tier's role, a member and the owner"
q >/dev/null <<'SQL'
CREATE ROLE plain LOGIN;
CREATE ROLE li LOGIN IN ROLE battledger_legitimate_interest;
CREATE ROLE auth LOGIN IN ROLE battledger_authority;
CREATE ROLE member LOGIN IN ROLE battledger_member;
CREATE ROLE owner_role LOGIN;
SQL
# may ROLE run SQL?  prints t or the SQLSTATE
try() { psql -X -q -At -d pp -U "$1" -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -c "\\set VERBOSITY sqlstate" -c "$2" >/dev/null 2>"$BL_WORK/err" && echo ok || sed -n 's/^ERROR:  //p' "$BL_WORK/err" | head -1; }
B="('https://id.gs1.org/01/09521234567899/21/FULL-ev')::battledger.battery_id"
printf '%-58s %-8s %-8s %-8s %-8s %-8s\n' object plain li auth member postgres
declare -A want
while IFS='|' read -r what sql w; do
  row=""
  for r in plain li auth member postgres; do row="$row $(printf '%-8s' "$(try $r "$sql")")"; done
  printf '%-58s%s\n' "$what" "$row"
  check "$what: $w" test "$(echo $row)" = "$w"
done <<EOF
SELECT * FROM battery_event|SELECT * FROM battledger.battery_event|42501 ok 42501 ok ok
SELECT * FROM lot_event|SELECT * FROM battledger.lot_event|42501 ok 42501 ok ok
SELECT materials FROM battery_model|SELECT materials FROM battledger.battery_model|42501 ok ok ok ok
SELECT model_id, chemistry FROM battery_model|SELECT model_id, chemistry FROM battledger.battery_model|ok ok ok ok ok
SELECT * FROM disclosure|SELECT * FROM battledger.disclosure|42501 ok ok 42501 ok
battery_history()|SELECT * FROM battledger.battery_history($B)|42501 ok 42501 ok ok
battery_proofs()|SELECT * FROM battledger.battery_proofs($B)|42501 ok 42501 ok ok
material_provenance()|SELECT * FROM battledger.material_provenance($B)|42501 ok ok ok ok
battery_state()|SELECT * FROM battledger.battery_state($B)|42501 ok 42501 ok ok
passport(public)|SELECT battledger.passport($B)|ok ok ok ok ok
passport(legitimate_interest)|SELECT battledger.passport($B, 'legitimate_interest')|42501 ok 42501 42501 ok
passport(authority)|SELECT battledger.passport($B, 'authority')|42501 42501 ok 42501 ok
_passport_legitimate_interest()|SELECT battledger._passport_legitimate_interest($B, 'catenax')|42501 ok 42501 42501 ok
_passport_authority()|SELECT battledger._passport_authority($B, 'catenax')|42501 42501 ok 42501 ok
_passport()|SELECT battledger._passport($B, 'legitimate_interest', 'catenax')|42501 42501 42501 42501 ok
verify(battery_event)|SELECT count(*) FROM battledger.verify('battledger.battery_event')|42501 ok 42501 ok ok
EOF
check "the authority reads test reports only, the legitimate-interest role usage values only" \
  test "$(psql -X -q -At -d pp -U auth -c "SELECT string_agg(DISTINCT tier, ',') FROM battledger.disclosure")|$(psql -X -q -At -d pp -U li -c "SELECT string_agg(DISTINCT tier, ',') FROM battledger.disclosure")" = "authority|legitimate_interest"
check "verify() and verify_log() as the owner: no problems" \
  test "$(q -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('battledger.battery_model')) + (SELECT count(*) FROM battledger.verify_log())")" = 0

exit $fail
