#!/usr/bin/env bash
# Passport values computed from the ledger, and operators by identifier
# (issue 14, deliverables 4 and 6; docs/registry.md):
#  1. recycled content from the lots a battery consumed, against shares
#     computed here from the scenario's masses;
#  2. usage values from NASA PCoE cells' per-cycle usage reports
#     (test/data/nasa_cycles.sql), against the same values computed here by
#     python3 straight from data/nasa/nasa_pcoe_cycle_summary.csv;
#  3. operator and facility identifiers: check digits, who may register
#     what, passports rendering the registry's operator block, the
#     registry's resolver;
#  4. who may call what (a plain role, each tier, a member);
#  5. the passports of these batteries still validate (BatteryPass 1.2,
#     Catena-X 6.1.0) at every tier.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster dv "${DV_PORT:-55475}" "$(bl_test_log_conf battledger.test/dv)"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d dv "$@"; }
# the SQLSTATE an SQL statement fails with (or "ok"), as ROLE
state() { psql -X -q -At -d dv -U "${2:-postgres}" -v ON_ERROR_STOP=1 -c "\\set VERBOSITY sqlstate" -c "$1" >/dev/null 2>"$BL_WORK/err" \
            && echo ok || sed -n 's/^ERROR:  //p' "$BL_WORK/err" | head -1; }
CSV=$BL_ROOT/data/nasa/nasa_pcoe_cycle_summary.csv
createdb dv
q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
ALTER DATABASE dv SET search_path = public, battledger, battledger_test;
SET search_path = public, battledger, battledger_test;
SELECT add_member(m, r), add_key(m, public_key(seed(m)))
  FROM (VALUES ('cells.test', ARRAY['cell_maker', 'pack_maker']), ('oem.test', ARRAY['oem']),
               ('fleet.test', ARRAY['fleet_operator']), ('miner.test', ARRAY['miner']),
               ('refiner.test', ARRAY['refiner']), ('recycler.test', ARRAY['recycler']),
               ('rival.test', ARRAY['oem'])) v(m, r);
-- a member's application: fill in the key id, sign the signing bytes, insert
CREATE FUNCTION ev(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, j || jsonb_build_object('ledger_key_id', key_id(public_key(seed(m)))::text));
BEGIN r.ledger_sig := sign(seed(m), signing_bytes(r)); INSERT INTO battledger.battery_event SELECT r.*; END $$;
CREATE FUNCTION lot(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.lot_event := jsonb_populate_record(NULL::battledger.lot_event, j || jsonb_build_object('ledger_key_id', key_id(public_key(seed(m)))::text));
BEGIN r.ledger_sig := sign(seed(m), signing_bytes(r)); INSERT INTO battledger.lot_event SELECT r.*; END $$;
CREATE FUNCTION model(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_model := jsonb_populate_record(NULL::battledger.battery_model, j || jsonb_build_object('ledger_key_id', key_id(public_key(seed(m)))::text));
BEGIN r.ledger_sig := sign(seed(m), signing_bytes(r)); INSERT INTO battledger.battery_model SELECT r.*; END $$;
-- an operator or facility registration, signed by member m (for itself unless j names another member)
CREATE FUNCTION reg(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.operator_registration := jsonb_populate_record(NULL::battledger.operator_registration,
            jsonb_build_object('member', m, 'occurred_at', '2025-01-01T00:00:00Z') || j
            || jsonb_build_object('ledger_key_id', key_id(public_key(seed(m)))::text));
BEGIN r.ledger_sig := sign(seed(m), signing_bytes(r)); INSERT INTO battledger.operator_registration SELECT r.*; END $$;
CREATE FUNCTION bid(serial text) RETURNS battery_id LANGUAGE sql AS $$
    SELECT ('https://id.gs1.org/01/09521234567899/21/' || serial)::battery_id $$;
SQL

echo "== 1. recycled content from the lots"
q >/dev/null <<'SQL'
-- cobalt: ore (primary), a lot recovered from a waste battery (post-consumer) and production scrap (pre-consumer), refined together
SELECT lot('miner.test', '{"lot_id": "CO-ORE", "event": "extracted", "material": "cobalt hydroxide", "mass_kg": 1000, "country": "CD", "occurred_at": "2024-01-01T00:00:00Z"}');
SELECT lot('recycler.test', '{"lot_id": "CO-REC", "event": "secondary_created", "material": "cobalt sulfate", "mass_kg": 300, "inputs": {"battery": "gs1:01/09521234567899/21/OLD-1"}, "occurred_at": "2024-01-02T00:00:00Z"}');
SELECT lot('recycler.test', '{"lot_id": "CO-SCRAP", "event": "secondary_created", "material": "cobalt sulfate", "mass_kg": 100, "inputs": {"source": "pre_consumer"}, "occurred_at": "2024-01-02T00:00:00Z"}');
SELECT lot('miner.test', '{"lot_id": "CO-ORE", "event": "shipped", "material": "cobalt hydroxide", "mass_kg": 1000, "counterparty": "refiner.test", "occurred_at": "2024-01-03T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "CO-ORE", "event": "received", "material": "cobalt hydroxide", "mass_kg": 1000, "occurred_at": "2024-01-04T00:00:00Z"}');
SELECT lot('recycler.test', jsonb_build_object('lot_id', l, 'event', 'shipped', 'material', 'cobalt sulfate', 'mass_kg', 1, 'counterparty', 'refiner.test', 'occurred_at', '2024-01-03T00:00:00Z')),
       lot('refiner.test', jsonb_build_object('lot_id', l, 'event', 'received', 'material', 'cobalt sulfate', 'mass_kg', 1, 'occurred_at', '2024-01-04T00:00:00Z'))
  FROM unnest(ARRAY['CO-REC', 'CO-SCRAP']) l;
SELECT lot('refiner.test', '{"lot_id": "CO-SULF", "event": "processed", "material": "cobalt sulfate", "mass_kg": 500,
                             "inputs": [{"lot": "CO-ORE", "mass_kg": 400}, {"lot": "CO-REC", "mass_kg": 150}, {"lot": "CO-SCRAP", "mass_kg": 50}], "occurred_at": "2024-01-05T00:00:00Z"}');
-- lithium: primary and recovered, consumed directly
SELECT lot('miner.test', '{"lot_id": "LI-1", "event": "extracted", "material": "lithium carbonate", "mass_kg": 1000, "country": "CL", "occurred_at": "2024-01-01T00:00:00Z"}');
SELECT lot('recycler.test', '{"lot_id": "LI-REC", "event": "secondary_created", "material": "lithium carbonate", "mass_kg": 200, "inputs": {"battery": "gs1:01/09521234567899/21/OLD-2"}, "occurred_at": "2024-01-02T00:00:00Z"}');
SELECT lot(s, jsonb_build_object('lot_id', l, 'event', 'shipped', 'material', m, 'mass_kg', 1, 'counterparty', 'cells.test', 'occurred_at', '2024-01-06T00:00:00Z')),
       lot('cells.test', jsonb_build_object('lot_id', l, 'event', 'received', 'material', m, 'mass_kg', 1, 'occurred_at', '2024-01-07T00:00:00Z'))
  FROM (VALUES ('refiner.test', 'CO-SULF', 'cobalt sulfate'), ('miner.test', 'LI-1', 'lithium carbonate'),
               ('recycler.test', 'LI-REC', 'lithium carbonate')) v(s, l, m);
SELECT model('cells.test', '{"model_id": "RC-1", "manufacturer": "cells.test", "category": "ev", "chemistry": "NMC", "rated_capacity_ah": 60,
                             "recycled_content": {"cobalt": {"preConsumerShare": 1, "postConsumerShare": 1},
                                                  "nickel": {"preConsumerShare": 2, "postConsumerShare": 7}}}');
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('RC-1')::text, 'event', 'manufactured', 'model_id', 'RC-1',
          'lots', '[{"lot": "CO-SULF", "mass_kg": 10}, {"lot": "LI-1", "mass_kg": 6}, {"lot": "LI-REC", "mass_kg": 2}]'::jsonb,
          'occurred_at', '2025-01-10T00:00:00Z'));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('RC-1')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:RC-1:1',
          'occurred_at', '2025-01-11T00:00:00Z'));
SQL
# expected, from the scenario's masses: cobalt = 10 kg of CO-SULF, refined from 400 kg ore, 150 kg post- and 50 kg pre-consumer;
# lithium = 6 kg primary + 2 kg recovered
exp_rc=$(python3 -c "
co = 400 + 150 + 50
print(f'cobalt|{100*50/co:.2f}|{100*150/co:.2f}|10'); print(f'lithium|0.00|{100*2/8:.2f}|8')")
got_rc=$(q -c "SELECT material || '|' || pre_consumer_pct || '|' || post_consumer_pct || '|' || consumed_kg FROM battledger.recycled_content(bid('RC-1'))")
echo "$got_rc"
check "recycled shares follow the lots (cobalt 8.33/25.00 through refining, lithium 0/25.00)" test "$got_rc" = "$exp_rc"
bp=$(q -c "SELECT battledger.passport(bid('RC-1'), 'public', 'batterypass')->'urn:samm:io.BatteryPass.Circularity:1.2.0#Circularity'->'recycledContent'")
check "BatteryPass: cobalt derived, nickel declared (no nickel lot consumed)" \
  test "$(jq -c '[.[] | [.recycledMaterial, .preConsumerShare, .postConsumerShare]]' <<<"$bp")" = '[["Cobalt",8.33,25],["Lithium",0,25],["Nickel",2,7]]'
check "the registry's document says which share is derived and which declared" \
  test "$(q -c "SELECT string_agg(k || '=' || (v->>'basis'), ',' ORDER BY k) FROM jsonb_each(battledger.passport(bid('RC-1'))->'recycledContent') x(k, v)")" = \
  "cobalt=derived,lithium=derived,nickel=declared"

echo "== 2. usage values from NASA PCoE per-cycle reports"
q -v nasa_csv="$CSV" -f "$BL_ROOT/test/data/nasa_cycles.sql" >/dev/null
q >/dev/null <<'SQL'
-- the NASA cells: 2.0 Ah rated (data/nasa/README.md); the rest is this test model's declaration
SELECT model('cells.test', '{"model_id": "NASA-18650", "manufacturer": "cells.test", "category": "ev", "chemistry": "LCO",
                             "rated_capacity_ah": 2.0, "rated_energy_kwh": 0.0074, "nominal_voltage_v": 3.7,
                             "min_voltage_v": 2.5, "max_voltage_v": 4.2}');
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('NASA-' || c)::text, 'event', 'manufactured', 'model_id', 'NASA-18650',
          'data', '{"rated": {"overchargeVoltageV": 4.21, "idleTemperatureLowerC": 5, "idleTemperatureUpperC": 40}}'::jsonb,
          'occurred_at', '2009-01-15T00:00:00Z')),
       ev('cells.test', jsonb_build_object('battery_id', bid('NASA-' || c)::text, 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb,
          'occurred_at', '2009-01-20T00:00:00Z')),
       ev('oem.test', jsonb_build_object('battery_id', bid('NASA-' || c)::text, 'event', 'handover_accepted', 'occurred_at', '2009-01-20T00:00:00Z')),
       ev('oem.test', jsonb_build_object('battery_id', bid('NASA-' || c)::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:NASA-' || c || ':1',
          'occurred_at', '2009-02-01T00:00:00Z')),
       ev('fleet.test', jsonb_build_object('battery_id', bid('NASA-' || c)::text, 'event', 'installed', 'occurred_at', '2009-02-10T00:00:00Z'))
  FROM unnest(ARRAY['B0025', 'B0047']) c;
SELECT nasa_cycles('fleet.test', c, 'NASA-' || c) FROM unnest(ARRAY['B0025', 'B0047']) c;
SELECT seal() IS NOT NULL;
SQL
q -c "CREATE ROLE li LOGIN IN ROLE battledger_legitimate_interest; CREATE ROLE auth LOGIN IN ROLE battledger_authority;
      CREATE ROLE member LOGIN IN ROLE battledger_member; CREATE ROLE plain LOGIN;"
for cell in B0025 B0047; do
  # the ledger's derivation, read by a legitimate-interest role
  psql -X -q -At -d dv -U li -c "SELECT key || ' ' || value FROM battledger.usage_derived(bid('NASA-$cell')) ORDER BY key" > "$BL_WORK/got.$cell"
  # the same values straight from the CSV (same definitions as docs/registry.md, computed independently)
  python3 - "$CSV" "$cell" > "$BL_WORK/want.$cell" <<'PY'
import csv, math, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r['battery_id'] == sys.argv[2]]
rows.sort(key=lambda r: int(r['seq']))
def num(s):
    if s in ('', None): return None
    v = float(s)
    return None if math.isnan(v) else v
RATED_AH, RATED_KWH, DEEP_V, OVER_V, T_HI, T_LO = 2.0, 0.0074, 2.5, 4.21, 40, 5
out = {}
dis = [r for r in rows if r['type'] == 'discharge']
cap = [r for r in dis if num(r['capacity_ah']) is not None]
out['capacity_ah'] = num(cap[-1]['capacity_ah'])
out['soh_pct'] = 100 * out['capacity_ah'] / RATED_AH
out['capacity_fade_pct'] = 100 * (RATED_AH - out['capacity_ah']) / RATED_AH
en = [r for r in dis if num(r['wh_throughput']) is not None]
out['remaining_energy_kwh'] = num(en[-1]['wh_throughput']) / 1000
out['soce_pct'] = 100 * out['remaining_energy_kwh'] / RATED_KWH
out['capacity_throughput_ah'] = sum(num(r['ah_throughput']) or 0 for r in rows)
out['energy_throughput_kwh'] = sum(num(r['wh_throughput']) or 0 for r in rows) / 1000
out['full_cycles'] = sum(num(r['ah_throughput']) or 0 for r in dis) / RATED_AH
re = [num(r['re_ohm']) for r in rows if (num(r['re_ohm']) or 0) > 0]
out['re_ohm'] = re[-1]
out['resistance_increase_pct'] = 100 * (re[-1] / re[0] - 1)
out['power_fade_pct'] = 100 * (1 - re[0] / re[-1])
rte, prev = [], None
for r in rows:
    if r['type'] == 'discharge' and num(r['wh_throughput']) is not None and prev is not None \
       and prev['type'] == 'charge' and (num(prev['wh_throughput']) or 0) > 0:
        rte.append(num(r['wh_throughput']) / num(prev['wh_throughput']))
    if r['type'] in ('charge', 'discharge'): prev = r
out['rte_remaining_pct'] = 100 * rte[-1]
out['rte_fade_pct'] = 100 * (rte[0] - rte[-1]) / rte[0]
out['t_cell_max_c'] = max(num(r['t_cell_max_c']) for r in rows if num(r['t_cell_max_c']) is not None)
out['deep_discharge_events'] = sum(1 for r in dis if num(r['v_min']) < DEEP_V)
out['overcharge_events'] = sum(1 for r in rows if r['type'] == 'charge' and num(r['v_max']) > OVER_V)
cd = [r for r in rows if r['type'] in ('charge', 'discharge')]
out['t_extreme_high_min'] = sum(num(r['duration_s']) for r in cd if num(r['t_cell_max_c']) > T_HI) / 60
out['t_extreme_high_charging_min'] = sum(num(r['duration_s']) for r in cd if r['type'] == 'charge' and num(r['t_cell_max_c']) > T_HI) / 60
out['t_extreme_low_min'] = sum(num(r['duration_s']) for r in cd if float(r['ambient_temperature_c']) < T_LO) / 60
out['t_extreme_low_charging_min'] = sum(num(r['duration_s']) for r in cd if r['type'] == 'charge' and float(r['ambient_temperature_c']) < T_LO) / 60
for k in sorted(out): print(k, repr(out[k]))
PY
  # equal up to the ledger's rounding (2 decimals for %, min and cycles; 4-6 for Ah, kWh)
  r=$(python3 - "$BL_WORK/got.$cell" "$BL_WORK/want.$cell" <<'PY'
import sys
got = dict(l.split() for l in open(sys.argv[1]) if l.strip())
want = dict(l.split() for l in open(sys.argv[2]) if l.strip())
bad = []
for k in sorted(set(got) | set(want)):
    if k not in got or k not in want:
        bad.append(f'{k}: ledger {got.get(k)} csv {want.get(k)}'); continue
    g, w = float(got[k]), float(want[k])
    tol = 0.5 * 10 ** -(len(got[k].split('.')[1]) if '.' in got[k] else 0) + 1e-9
    if abs(g - w) > tol: bad.append(f'{k}: ledger {g} csv {w}')
print(f'{len(got)} values; ' + ('; '.join(bad) if bad else 'all equal'))
PY
)
  echo "$cell: $r"; sed 's/^/    /' "$BL_WORK/got.$cell"
  check "$cell: 20 usage values derived from the reports equal the CSV's" test "$r" = "20 values; all equal"
done
check "B0047 (4 degC chamber) spent time below the 5 degC boundary, B0025 (24 degC) none" \
  test "$(grep '^t_extreme_low_min ' "$BL_WORK/got.B0047" | awk '{print ($2 > 0)}')$(grep '^t_extreme_low_min ' "$BL_WORK/got.B0025" | cut -d' ' -f2)" = "10.00"
li_doc=$(psql -X -q -At -d dv -U li -c "SELECT battledger.passport(bid('NASA-B0025'), 'legitimate_interest')->'performance'->'dynamic'")
check "the passport shows SOCE as derived, with its method and the report it is current as of" \
  test "$(jq -r '.stateOfCertifiedEnergy | [.basis, (.derivation | length > 0), .setBy.event] | join(",")' <<<"$li_doc")" = "derived,true,soh_reported"
check "... and the value usage_derived() gives" \
  test "$(jq -r '.stateOfCertifiedEnergy.value' <<<"$li_doc")" = "$(grep '^soce_pct ' "$BL_WORK/got.B0025" | cut -d' ' -f2)"
cx=$(psql -X -q -At -d dv -U li -c "SELECT battledger.passport(bid('NASA-B0025'), 'legitimate_interest', 'catenax')->'performance'->'dynamic'")
check "Catena-X: SOCE, remaining energy, power fade, round-trip efficiency" \
  test "$(jq -c '[.energy.soce.value != null, .energy.remaining.value != null, .power.fade.value != null, .roundTripEfficiency.remaining.value != null]' <<<"$cx")" = "[true,true,true,true]"
check "a report's value a derivation replaces stays out (the derived one wins; reported ones only where nothing is derived)" \
  test "$(q -c "SELECT count(*) FROM jsonb_each(battledger._passport_source(bid('NASA-B0025'), 'legitimate_interest')->'dynamic') x(k, v) WHERE v->>'basis' <> 'derived'")" = 0

echo "== 3. operators and facilities by identifier"
for bad in "gln:4000001000006|22P02|check digit of GLN 4000001000006 is 6, but 5 was expected" \
           "lei:5493001KJTIIGC8Y1R13|22P02|do not hold: the number is 2 modulo 97" \
           "bpnl:BPNL0000|22P02|followed by 12 letters or digits" \
           "eori:123|22P02|two-letter country code" \
           "duns:123456789|22P02|scheme gln, lei, eori, bpnl"; do
  IFS='|' read -r id code detail <<<"$bad"
  out=$(psql -X -q -At -d dv -c "\\set VERBOSITY verbose" -c "SELECT battledger.operator_id('$id')" 2>&1 || true)
  check "operator_id('$id'): $code, detail says why" test "$(grep -c "ERROR:  $code" <<<"$out")$(grep -c "DETAIL:.*$detail" <<<"$out")" = 11
done
check "canonical forms" test "$(q -c "SELECT battledger.operator_id('LEI: 5493001kjtiigc8y1r12') || ' ' || battledger.operator_id('gln:4000001000005') || ' ' || battledger.operator_id('bpnl:bpnl00000003ayre')")" = \
  "lei:5493001KJTIIGC8Y1R12 gln:4000001000005 bpnl:BPNL00000003AYRE"
q >/dev/null <<'SQL'
SELECT reg('cells.test', '{"identifier": "lei:5493001KJTIIGC8Y1R12", "kind": "operator", "name": "Cells Registered GmbH",
                          "address": {"country": "DE", "postalCode": "38440", "city": "Wolfsburg", "street": "Werkstr. 1"},
                          "contact": {"email": "passport@cells.example", "web": "https://cells.example"}}');
SELECT reg('cells.test', '{"identifier": "bpnl:BPNL00000003AYRE", "kind": "operator", "name": "Cells Registered GmbH",
                          "address": {"country": "DE", "postalCode": "38440", "street": "Werkstr. 1"}}');
SELECT reg('cells.test', '{"identifier": "bpna:BPNA000000000001", "kind": "facility", "name": "Cells plant 1", "operator": "lei:5493001KJTIIGC8Y1R12",
                          "address": {"country": "DE", "postalCode": "38442", "street": "Werkstr. 9"}}');
SELECT reg('oem.test', '{"identifier": "gln:4000001000005", "kind": "operator", "name": "OEM Registered AG",
                        "address": {"country": "DE", "postalCode": "80809", "street": "Petuelring 130"}, "contact": {"web": "https://oem.example"}}');
SQL
try_reg() { state "SELECT reg('$1', '$2')"; }
check "a member registers for itself only (BL060)" \
  test "$(try_reg cells.test '{"identifier": "lei:529900T8BM49AURSDO55", "kind": "operator", "name": "x", "member": "oem.test"}')" = BL060
check "a member cannot claim another's LEI (BL061)" \
  test "$(try_reg rival.test '{"identifier": "lei:5493001KJTIIGC8Y1R12", "kind": "operator", "name": "Not Cells"}')" = BL061
check "... nor another's facility (BL061)" \
  test "$(try_reg rival.test '{"identifier": "bpna:BPNA000000000001", "kind": "facility", "name": "x", "operator": "gln:4000001000005"}')" = BL061
check "a facility is run by one of the member's own operators (BL062)" \
  test "$(try_reg rival.test '{"identifier": "bpna:BPNA000000000002", "kind": "facility", "name": "x", "operator": "lei:5493001KJTIIGC8Y1R12"}')" = BL062
check "an LEI is no facility (BL062)" \
  test "$(try_reg rival.test '{"identifier": "lei:529900T8BM49AURSDO55", "kind": "facility", "name": "x", "operator": "lei:529900T8BM49AURSDO55"}')" = BL062
check "only the canonical form is signed (22P02)" \
  test "$(try_reg rival.test '{"identifier": "LEI:529900t8bm49aursdo55", "kind": "operator", "name": "x"}')" = 22P02
check "a bad check digit is refused at registration (22P02)" \
  test "$(try_reg rival.test '{"identifier": "gln:4000001000006", "kind": "operator", "name": "x"}')" = 22P02
check "the holder updates its own registration" \
  test "$(try_reg cells.test '{"identifier": "lei:5493001KJTIIGC8Y1R12", "kind": "operator", "name": "Cells Registered GmbH", "address": {"country": "DE", "postalCode": "38440", "city": "Wolfsburg", "street": "Werkstr. 2"}, "contact": {"email": "passport@cells.example", "web": "https://cells.example"}}')" = ok
check "a battery event may not name another member's identifier (BL063)" \
  test "$(state "SELECT ev('rival.test', jsonb_build_object('battery_id', bid('RC-1')::text, 'event', 'soh_reported', 'data', '{\"operator\": {\"id\": \"lei:5493001KJTIIGC8Y1R12\"}}'::jsonb, 'occurred_at', '2025-03-01T00:00:00Z'))")" = BL063
check "... nor an invalid one (22P02)" \
  test "$(state "SELECT ev('cells.test', jsonb_build_object('battery_id', bid('OP-X')::text, 'event', 'manufactured', 'model_id', 'RC-1', 'data', '{\"facility\": \"gln:4000001000006\"}'::jsonb, 'occurred_at', '2025-03-01T00:00:00Z'))")" = 22P02
q >/dev/null <<'SQL'
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('OP-1')::text, 'event', 'manufactured', 'model_id', 'RC-1',
          'data', '{"manufacturer": {"id": "lei:5493001KJTIIGC8Y1R12", "name": "whatever the event says"}, "facility": "bpna:BPNA000000000001"}'::jsonb,
          'occurred_at', '2025-03-01T00:00:00Z'));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('OP-1')::text, 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb, 'occurred_at', '2025-03-02T00:00:00Z'));
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('OP-1')::text, 'event', 'handover_accepted', 'occurred_at', '2025-03-02T00:00:00Z'));
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('OP-1')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:OP-1:1',
          'data', '{"operator": {"id": "gln:4000001000005"}}'::jsonb, 'occurred_at', '2025-03-03T00:00:00Z'));
SQL
doc=$(q -c "SELECT battledger.passport(bid('OP-1'))->'generalProductInformation'")
check "the manufacturer block comes from the registry (its latest registration), not the event's text" \
  test "$(jq -r '.manufacturerInformation | [.name, .address.street, .basis, .bpnl] | join(",")' <<<"$doc")" = "Cells Registered GmbH,Werkstr. 2,registered,bpnl:BPNL00000003AYRE"
check "the operator block too, and the facility's address is the manufacturing place" \
  test "$(jq -r '[.operatorInformation.name, .manufacturingFacility.name, .manufacturingFacility.address.postalCode] | join(",")' <<<"$doc")" = "OEM Registered AG,Cells plant 1,38442"
cxm=$(q -c "SELECT battledger.passport(bid('OP-1'), 'public', 'catenax')->'operation'->'manufacturer'->>'manufacturer'")
check "Catena-X names the manufacturer by its registered BPNL though the event names its LEI" test "$cxm" = BPNL00000003AYRE
bpm=$(q -c "SELECT battledger.passport(bid('OP-1'), 'public', 'batterypass')->'urn:samm:io.BatteryPass.GeneralProductInformation:1.2.0#GeneralProductInformation'")
check "BatteryPass: manufacturer and operator information and the manufacturing place from the registry" \
  test "$(jq -r '[.manufacturerInformation.contactName, .operatorInformation.identifier, .manufacturingPlace.postalCode] | join(",")' <<<"$bpm")" = "Cells Registered GmbH,gln:4000001000005,38442"
check "the registry's public rows: a plain role reads who holds which identifier" \
  test "$(psql -X -q -At -d dv -U plain -c "SELECT battledger.operator_holder('lei:5493001KJTIIGC8Y1R12')")" = cells.test

# a member whose rules are bypassed (its own superuser disables them, as a replicated row skips them):
# a claim on another's LEI and a registration signed by one member in another's name count for nobody
q >/dev/null <<'SQL'
ALTER TABLE battledger.operator_registration DISABLE TRIGGER battledger_rules;
SELECT reg('rival.test', '{"identifier": "lei:5493001KJTIIGC8Y1R12", "kind": "operator", "name": "Not Cells"}');
SELECT reg('rival.test', '{"identifier": "gln:0614141000005", "kind": "operator", "name": "Cells (forged)", "member": "cells.test"}');
ALTER TABLE battledger.operator_registration ENABLE TRIGGER battledger_rules;
SQL
check "behind the rules: the LEI's holder is still the first registrant" \
  test "$(q -c "SELECT battledger.operator_holder('lei:5493001KJTIIGC8Y1R12') || ',' || (battledger.operator_info('lei:5493001KJTIIGC8Y1R12')->>'name') || ',' || coalesce(battledger.operator_holder('gln:0614141000005'), 'nobody')")" = \
  "cells.test,Cells Registered GmbH,nobody"
check "... and operator_conflicts() names both rows" \
  test "$(q -c "SELECT string_agg(identifier || ':' || signer || ':' || problem, ' ' ORDER BY identifier DESC) FROM battledger.operator_conflicts()")" = \
  "lei:5493001KJTIIGC8Y1R12:rival.test:held_by_other gln:0614141000005:rival.test:signer_not_member"
check "... and the passport still shows the holder's registration" \
  test "$(q -c "SELECT battledger.passport(bid('OP-1'))->'generalProductInformation'->'manufacturerInformation'->>'name'")" = "Cells Registered GmbH"

echo "== the data carrier resolves at this registry"
check "GS1's resolver by default" \
  test "$(q -c "SELECT battledger.passport(bid('OP-1'))->>'digitalLink'")" = "https://id.gs1.org/01/09521234567899/21/OP-1"
check "battledger.resolver set by the DBA: the passport's link points to this registry" \
  test "$(q -c "SET battledger.resolver = 'https://passports.cells.example/gs1/'" -c "SELECT battledger.passport(bid('OP-1'))->>'digitalLink'")" = \
  "https://passports.cells.example/gs1/01/09521234567899/21/OP-1"
# the library loaded first (any battery identifier loads it): only then is the setting known
LOADED="SELECT 'gs1:01/09521234567899/21/X'::battledger.battery_id;"
check "a bad resolver is refused (22023)" test "$(state "$LOADED SET battledger.resolver = 'ftp://x.example'")" = 22023
check "a plain role cannot redirect it (42501)" test "$(state "$LOADED SET battledger.resolver = 'https://evil.example'" plain)" = 42501
q -c "LOAD 'battledger'" -c "ALTER DATABASE dv SET battledger.resolver = 'https://passports.cells.example'"
check "... set per database, every session's passports use it" \
  test "$(psql -X -q -At -d dv -U plain -c "SELECT battledger.passport(bid('OP-1'), 'public', 'catenax')->'metadata'->>'backupReference'")" = \
  "https://passports.cells.example/01/09521234567899/21/OP-1"

echo "== 4. who may call what"
B="bid('NASA-B0025')"
printf '%-40s %-8s %-8s %-8s %-8s\n' call plain li auth member
while IFS='|' read -r what sql w; do
  row=""; for r in plain li auth member; do row="$row $(printf '%-8s' "$(state "$sql" $r)")"; done
  printf '%-40s%s\n' "$what" "$row"
  check "$what: $w" test "$(echo $row)" = "$w"
done <<EOF
usage_derived()|SELECT * FROM battledger.usage_derived($B)|42501 ok 42501 42501
recycled_content()|SELECT * FROM battledger.recycled_content(bid('RC-1'))|42501 ok ok ok
_passport_derived()|SELECT battledger._passport_derived('{}', $B, true, NULL, NULL)|42501 42501 42501 42501
_usage_derived()|SELECT * FROM battledger._usage_derived($B, NULL, NULL)|42501 ok 42501 42501
_recycled_content()|SELECT * FROM battledger._recycled_content(bid('RC-1'), NULL)|42501 42501 42501 42501
_model_row()|SELECT battledger._model_row('NMC-18650-2Ah')|42501 ok 42501 42501
operator_info()|SELECT battledger.operator_info('gln:4000001000005')|ok ok ok ok
INSERT operator_registration unsigned|INSERT INTO battledger.operator_registration (identifier, kind, member, name, occurred_at) VALUES ('gln:4000001000005', 'operator', 'x', 'x', now())|BL017 BL017 BL017 BL017
EOF
check "usage values are not in the public or authority passport" \
  test "$(q -c "SELECT battledger.passport($B)->'performance' ? 'dynamic'")$(q -c "SELECT battledger.passport($B, 'authority')->'performance' ? 'dynamic'")" = ff

echo "== 5. these batteries' passports validate at every tier"
OUT=$BL_WORK/pp; mkdir -p "$OUT"
for b in RC-1 NASA-B0025 NASA-B0047 OP-1; do
  for tier in public legitimate_interest authority; do
    for fmt in batterypass catenax; do
      q -c "SELECT battledger.passport(bid('$b'), '$tier', '$fmt')" > "$OUT/$b.$tier.$fmt.json"
      echo '*' > "$OUT/$b.$tier.$fmt.json.absent"     # these test batteries declare little: optional blocks may be absent
    done
  done
done
V="/usr/bin/python3 $BL_ROOT/test/lib/validate_passport.py $BL_ROOT/test/standards $BL_ROOT/test/standards/withheld.json"
if $V "$OUT"/*.json > "$BL_WORK/validation.txt"; then vrc=0; else vrc=$?; fi
grep -v '^ok' "$BL_WORK/validation.txt" || true
check "$(grep -c '^ok' "$BL_WORK/validation.txt") documents validate (BatteryPass 1.2 and Catena-X 6.1.0)" test "$vrc" = 0
check "verify() of every ledger table: no problems" \
  test "$(q -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('battledger.operator_registration')) + (SELECT count(*) FROM battledger.verify('battledger.lot_event')) + (SELECT count(*) FROM battledger.verify_log())")" = 0

echo "== 6. usage thresholds from the manufacture the fold accepts; values that are not numbers"
# Another member, its rules off, manufactures SQ-1 under cells.test's
# namespace before cells.test does (ineffective: foreign_namespace),
# declaring a deep-discharge voltage of 4.0 V and an idle temperature that is
# no number; the fleet's second report has a duration that is no number.
# usage_derived() read the first manufacture in registry order and cast
# every value until 0.20.0: an error (22P02), or every discharge a deep one.
q >/dev/null <<'SQL'
SELECT add_id_namespace('cells.test', 'gs1:952123');
SELECT add_member('squat.test', ARRAY['cell_maker']), add_key('squat.test', public_key(seed('squat.test')));
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT ev('squat.test', jsonb_build_object('battery_id', bid('SQ-1')::text, 'event', 'manufactured', 'model_id', 'NASA-18650',
          'data', '{"rated": {"deepDischargeVoltageV": 4.0, "idleTemperatureUpperC": "hot"}}'::jsonb, 'occurred_at', '2009-01-14T00:00:00Z'));
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('SQ-1')::text, 'event', 'manufactured', 'model_id', 'NASA-18650',
          'data', '{"rated": {"idleTemperatureUpperC": 40}}'::jsonb, 'occurred_at', '2009-01-15T00:00:00Z'));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('SQ-1')::text, 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb,
          'occurred_at', '2009-01-20T00:00:00Z')),
       ev('oem.test', jsonb_build_object('battery_id', bid('SQ-1')::text, 'event', 'handover_accepted', 'occurred_at', '2009-01-20T00:00:00Z')),
       ev('oem.test', jsonb_build_object('battery_id', bid('SQ-1')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:SQ-1:1',
          'data', '{"warranty": {"value": "twelve", "unit": "month"}}'::jsonb, 'occurred_at', '2009-02-01T00:00:00Z')),
       ev('fleet.test', jsonb_build_object('battery_id', bid('SQ-1')::text, 'event', 'installed', 'occurred_at', '2009-02-10T00:00:00Z'));
CREATE TEMP TABLE sq_report AS
SELECT at, v, sha256(convert_to('SQ-1:' || at, 'UTF8')) AS salt   -- TEST ONLY: reproducible salts
  FROM (VALUES ('2009-03-01T00:00:00Z', '{"cycle": {"type": "discharge", "duration_s": 600, "v_min": 3.0, "t_cell_max_c": 30, "capacity_ah": 1.9}}'::jsonb),
               ('2009-03-02T00:00:00Z', '{"cycle": {"type": "discharge", "duration_s": "ten minutes", "v_min": 3.1, "t_cell_max_c": 45, "capacity_ah": 1.8}}'::jsonb),
               ('2009-03-03T00:00:00Z', '{"soh_pct": "n/a", "full_cycles": "many"}'::jsonb)) c(at, v);
INSERT INTO battledger.disclosure SELECT commitment(salt, v), 'legitimate_interest', salt, v FROM sq_report;
SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('SQ-1')::text, 'event', 'soh_reported', 'occurred_at', at,
          'restricted', commitment(salt, v)::text))
  FROM sq_report ORDER BY at;
SQL
u=$(psql -X -q -At -d dv -U li -c "SELECT string_agg(key || ' ' || value, ', ' ORDER BY key) FROM battledger.usage_derived(bid('SQ-1'))
                                    WHERE key IN ('capacity_ah', 'deep_discharge_events', 't_extreme_high_min')" 2>&1)
echo "    $u"
check "SQ-1: thresholds from cells.test's manufacture (no deep discharge at 3.0 V), the report's value that is no number left out" \
  test "$u" = "capacity_ah 1.80000, deep_discharge_events 0, t_extreme_high_min 0.00"
w=$(q -c "SELECT coalesce(battledger.passport(bid('SQ-1'), 'legitimate_interest', 'batterypass')
                          #>> '{urn:samm:io.BatteryPass.GeneralProductInformation:1.2.0#GeneralProductInformation,warrentyPeriod}', 'none')" 2>&1)
check "SQ-1: a warranty that is no number is no warranty period, and the passport is made ($w)" test "$w" = none
check "SQ-1: a reported value that is no number is no value (the derived one stands)" \
  test "$(psql -X -q -At -d dv -U li -c "SELECT coalesce(battledger.passport(bid('SQ-1'), 'legitimate_interest')->'performance'->'dynamic'->'stateOfHealth'->>'basis', 'none')" 2>&1)" = derived
echo "== 7. the usage state the legitimate-interest passport reads (87_usage_state.sql)"
# Every passport (three tiers, three formats, every battery) from this
# version's functions must be byte-identical to 0.22.0's, which read the
# reports themselves; on ADV-1, reports written to catch a fold that is not
# the computation: disclosures after their reports, values that are no
# numbers, a dynamic key only nested, "cycle" not an object, one commitment
# under two reports, a report disclosed to authorities only, round trips
# with 0 Wh, resistances of 0 and below, an erased disclosure.
FUNCS="_passport_source _passport_derived"
awk -v names="$FUNCS" -f "$BL_ROOT/sql/upgrade/replace_functions.awk" "$BL_ROOT/sql/upgrade/battledger--0.22.0.sql" \
  | sed 's/@extschema@/battledger/g' > "$BL_WORK/old.sql"
cat "$BL_ROOT"/sql/install/*.sql | awk -v names="$FUNCS" -f "$BL_ROOT/sql/upgrade/replace_functions.awk" \
  | sed 's/@extschema@/battledger/g' > "$BL_WORK/this.sql"
docs() {
  q -c "SELECT string_agg(b || ' ' || t || ' ' || f || ' ' || md5(coalesce(p::text, 'null')), E'\n' ORDER BY b, t, f)
          FROM (SELECT b.battery_id::text AS b, t, f,
                       (SELECT battledger.passport(b.battery_id, t, f)) AS p
                  FROM (SELECT DISTINCT battery_id FROM battledger.battery_event WHERE event = 'manufactured') b,
                       unnest(ARRAY['public', 'legitimate_interest', 'authority']) t,
                       unnest(ARRAY['battledger', 'catenax']) f) x"
}
# docs as 0.22.0 makes them, then as this version does: must be equal
same_docs() {
  local a b
  q -f "$BL_WORK/old.sql" >/dev/null; a=$(docs); q -f "$BL_WORK/this.sql" >/dev/null; b=$(docs)
  [ -n "$a" ] && [ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b") | head -5; return 1; }
}
q >/dev/null <<'SQL'
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('ADV-1')::text, 'event', 'manufactured', 'model_id', 'NASA-18650',
          'data', '{"rated": {"overchargeVoltageV": 4.21, "idleTemperatureLowerC": 5, "idleTemperatureUpperC": 40}}'::jsonb,
          'occurred_at', '2009-01-15T00:00:00Z'));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('ADV-1')::text, 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb,
          'occurred_at', '2009-01-20T00:00:00Z')),
       ev('oem.test', jsonb_build_object('battery_id', bid('ADV-1')::text, 'event', 'handover_accepted', 'occurred_at', '2009-01-20T00:00:00Z')),
       ev('oem.test', jsonb_build_object('battery_id', bid('ADV-1')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:ADV-1:1',
          'occurred_at', '2009-02-01T00:00:00Z'));
CREATE TABLE adv_report AS
SELECT n, v, sha256(convert_to('ADV-1:' || n, 'UTF8')) AS salt, tier, late   -- TEST ONLY: reproducible salts
  FROM (VALUES (1, '{"soh_pct": 99.5, "full_cycles": 1, "cycle": {"type": "charge", "wh": 0, "ah": 1.0, "duration_s": 100, "v_max": 4.3, "t_cell_max_c": 41, "ambient_c": 4}}'::jsonb, 'legitimate_interest', false),
               (2, '{"cycle": {"type": "discharge", "wh": 3.5, "ah": 0.9, "capacity_ah": 1.95, "v_min": 2.4, "duration_s": 90, "ambient_c": 3}}'::jsonb, 'legitimate_interest', true),
               (3, '{"cycle": {"type": "charge", "wh": 4.0, "ah": 1.0, "duration_s": "long", "v_max": 4.1}}'::jsonb, 'legitimate_interest', false),
               (4, '{"cycle": {"type": "discharge", "wh": 3.2, "ah": 0.8, "capacity_ah": "NaN", "t_cell_max_c": 45, "duration_s": 80}}'::jsonb, 'legitimate_interest', true),
               (5, '{"cycle": {"type": "impedance", "re_ohm": 0}}'::jsonb, 'legitimate_interest', false),
               (6, '{"cycle": {"type": "impedance", "re_ohm": -0.1}}'::jsonb, 'legitimate_interest', false),
               (7, '{"cycle": {"type": "impedance", "re_ohm": 0.07}}'::jsonb, 'legitimate_interest', true),
               (8, '{"extra": {"soh_pct": 50, "re_ohm": 9}, "cycle": [1, 2]}'::jsonb, 'legitimate_interest', false),
               (9, '{"cycle": "discharge", "soh_pct": "n/a"}'::jsonb, 'legitimate_interest', false),
               (10, '{"soh_pct": 10, "cycle": {"type": "discharge", "wh": 9, "capacity_ah": 9}}'::jsonb, 'authority', false),
               (11, '{"cycle": {"type": "charge", "wh": 4.4, "ah": 1.1}}'::jsonb, 'legitimate_interest', false),
               (12, '{"cycle": {"type": "discharge", "wh": 0, "ah": 0.0, "capacity_ah": 1.9}}'::jsonb, 'legitimate_interest', false),
               (13, '{"cycle": {"type": "impedance", "re_ohm": 0.08}, "remaining_power_w": 12}'::jsonb, 'legitimate_interest', true),
               (14, '{"cycle": {"type": "discharge", "wh": 2.0, "ah": 0.5, "capacity_ah": 1.7, "v_min": 2.3}}'::jsonb, 'legitimate_interest', false)) r(n, v, tier, late);
-- disclosures first (as applications write them), but the late ones after their reports
INSERT INTO battledger.disclosure SELECT commitment(salt, v), tier, salt, v FROM adv_report WHERE NOT late;
SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('ADV-1')::text, 'event', 'soh_reported',
          'occurred_at', '2009-03-01T00:00:00Z'::timestamptz + n * interval '1 hour', 'restricted', commitment(salt, v)::text))
  FROM adv_report ORDER BY n;
-- report 3's commitment named again by a later report: refused on the
-- writer since 0.24.0 (BL045, below), written here past the rules, as a
-- member's superuser can; since 0.25.0 it counts for neither report, in
-- the state as in the reference (until then: twice)
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('ADV-1')::text, 'event', 'soh_reported',
          'occurred_at', '2009-03-02T00:00:00Z', 'restricted', commitment(salt, v)::text)) FROM adv_report WHERE n = 3;
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
INSERT INTO battledger.disclosure SELECT commitment(salt, v), tier, salt, v FROM adv_report WHERE late;
SQL
check "a usage report naming another report's commitment is refused on its writer (BL045)" \
  test "$(q -v VERBOSITY=sqlstate -c "SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('ADV-1')::text, 'event', 'soh_reported', 'occurred_at', '2009-03-03T00:00:00Z', 'restricted', commitment(salt, v)::text)) FROM adv_report WHERE n = 5" 2>&1 | sed -n 's/^ERROR: *//p')" = BL045
check "  and the one written past the rules is named commitment_replayed" \
  test "$(q -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'commitment_replayed' AND battery_id = bid('ADV-1')")" = 1
check "  and report 3's values count for neither report (10 of ADV-1's 12 reports with legitimate-interest cycles)" \
  test "$(q -c "SELECT string_agg(DISTINCT reports::text, ',') FROM battledger.usage_derived(bid('ADV-1'))")" = 10
check "ADV-1: the usage state is the reports' (usage_state_check() finds nothing)" test "$(q -c "SELECT count(*) FROM battledger.usage_state_check()")" = 0
check "every passport as 0.22.0 makes it from the reports (3 tiers, 2 formats, every battery)" same_docs
q -c "SELECT battledger.erase_disclosure(commitment(salt, v)) FROM adv_report WHERE n = 14" >/dev/null
check "a disclosure erased: the state recomputed, passports as 0.22.0's" \
  test "$(q -c "SELECT count(*) FROM battledger.usage_state_check()")" = 0 -a "$(same_docs && echo same)" = same
# derived state is not trusted: a superuser may write it; the check names it
q -c "UPDATE battledger._usage_state SET n = n + 1 WHERE battery_id = bid('NASA-B0025')" >/dev/null
q -c "DELETE FROM battledger._usage_state WHERE battery_id = bid('NASA-B0047')" >/dev/null
q -c "UPDATE battledger._usage_state SET latest = latest - 'soh_pct' WHERE battery_id = bid('SQ-1')" >/dev/null
found=$(q -c "SELECT string_agg(replace(battery_id::text, 'gs1:01/09521234567899/21/', '') || ': ' || problem, '; ' ORDER BY 1) FROM battledger.usage_state_check()")
echo "    $found"
check "usage_state_check() names each battery whose state was written" \
  test "$found" = "NASA-B0025: usage state differs from the reports; NASA-B0047: reports and no usage state; SQ-1: usage state differs from the reports"
not() { ! "$@"; }
check "the written state shows in the passports (the comparison with 0.22.0's can fail)" not same_docs
check "usage_state_rebuild() recomputes them" \
  test "$(q -c "SELECT battledger.usage_state_rebuild(bid(b)) FROM unnest(ARRAY['NASA-B0025', 'NASA-B0047', 'SQ-1']) b" | paste -sd,)" = "1,1,1" \
       -a "$(q -c "SELECT count(*) FROM battledger.usage_state_check()")" = 0 -a "$(same_docs && echo same)" = same
# thresholds other than the row's (a model redeclared): the passport computes from the reports
q -c "UPDATE battledger._usage_state SET deep_v = 0, deep_n = 0 WHERE battery_id = bid('ADV-1')" >/dev/null
check "thresholds other than the state's: passports still 0.22.0's (computed from the reports)" same_docs
q -c "SELECT battledger.usage_state_rebuild(bid('ADV-1'))" >/dev/null
check "who may call the state's functions: no tier, no member" \
  test "$(q -c "SELECT string_agg(r || ':' || has_function_privilege(r, f, 'EXECUTE'), ' ' ORDER BY r, f)
                  FROM unnest(ARRAY['battledger_legitimate_interest', 'battledger_member', 'plain']) r,
                       unnest(ARRAY['battledger.usage_state_check()', 'battledger.usage_state_rebuild(battledger.battery_id)']) f" | grep -c true)" = 0
exit $fail
