#!/usr/bin/env bash
# battledger demo — a battery's life, from the mine to the recycler.
#
# Installs what it needs (Debian 12, as root or with sudo), builds and installs
# the extension and the battledger CLI, starts a throwaway PostgreSQL 15
# cluster on a private socket, and plays a consortium of eight members, each
# signing with its own Ed25519 key (made by `battledger keygen`; private keys
# never reach the database).  Usage comes from real NASA PCoE cell-ageing
# measurements.  A second member database (the recycler's) then joins by
# logical replication: it checks every row it receives, witnesses the first
# member's log and cosigns its checkpoint.  It ends with the battery passport
# and an offline proof that demands that cosignature.
# KEEP=1 ./demo.sh leaves the clusters running.
set -euo pipefail
cd "$(dirname "$0")"
source test/lib/cluster.sh

bl_install_packages
bl_build_install
CLI=$BL_ROOT/bin/battledger
bl_scratch
K=$BL_WORK/keys; mkdir -p "$K"; chmod 700 "$K"
"$CLI" keygen --out "$K/log" >/dev/null           # the member database's log key
"$CLI" keygen --out "$K/log2" >/dev/null          # the recycler's database: log key,
"$CLI" keygen --out "$K/witness2" >/dev/null      # and the key it cosigns others' logs with
[ "$(id -u)" = 0 ] && chown postgres: "$K" "$K/log.key" "$K/log2.key" "$K/witness2.key"
bl_start_cluster demo 55430 "battledger.origin = 'oem.example/batteries'
battledger.log_key_file = '$K/log.key'
wal_level = logical"
[ "${KEEP:-0}" = 1 ] && trap - EXIT
createdb demo

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d demo "$@"; }
step() { printf '\n\033[1;34m▶ %s\033[0m\n' "$*"; }
ok() { printf '  \033[32m✔\033[0m %s\n' "$*"; }
no() { printf '  \033[31m✘\033[0m %s\n' "$*"; }
# what the demo shows must hold: an attack accepted or a problem found makes
# it end non-zero (test/long/demo.sh runs it so in CI)
failed=0
bad() { no "$@"; failed=1; }
# "<what>: N problems", a check only when N is 0
problems() { if [ "$2" = 0 ]; then ok "$1 0 problems"; else bad "$1 $2 problems"; fi; }

declare -A KID
# sign a row of battledger.<table> as <member> and insert it: the server gives
# the signing bytes, the member's key (a file on the member's side) signs them
record() {
  local m=$1 tbl=$2 json=$3 hex sig
  hex=$(q -v j="$json" -v kid="${KID[$m]}" <<SQL
SELECT encode(battledger.signing_bytes(jsonb_populate_record(NULL::battledger.$tbl,
       :'j'::jsonb || jsonb_build_object('ledger_key_id', :'kid'))), 'hex')
SQL
)
  sig=$("$CLI" sign --key "$K/$m.key" --hex "$hex")
  q -v j="$json" -v kid="${KID[$m]}" -v sig="$sig" <<SQL
INSERT INTO battledger.$tbl SELECT (jsonb_populate_record(NULL::battledger.$tbl,
       :'j'::jsonb || jsonb_build_object('ledger_key_id', :'kid', 'ledger_sig', '\x' || :'sig'))).*
SQL
}
# the holder of the battery hands it over; the receiver accepts (custody of its lifecycle)
handover() {
  local from=$1 to=$2 day=$3 b=${4:-$BATTERY}
  record "$from" battery_event "{\"battery_id\": \"$b\", \"event\": \"handover\", \"data\": {\"to\": \"$to\"}, \"occurred_at\": \"${day}T00:00:00Z\"}"
  record "$to" battery_event "{\"battery_id\": \"$b\", \"event\": \"handover_accepted\", \"occurred_at\": \"${day}T00:00:00Z\"}"
}

step "1. The consortium: eight members, each with its own Ed25519 key"
q -c "CREATE EXTENSION battledger" -c "ALTER DATABASE demo SET search_path = \"\$user\", public, battledger"
for spec in miner.example:miner refiner.example:refiner cells.example:cell_maker,pack_maker \
            oem.example:oem fleet.example:fleet_operator second-life.example:second_life_operator \
            recycler.example:recycler,collector auditor.example:auditor; do
  m=${spec%%:*}; roles=${spec#*:}
  "$CLI" keygen --out "$K/$m" >/dev/null
  q -c "SELECT battledger.add_member('$m', string_to_array('$roles', ','))" >/dev/null
  KID[$m]=$(q -v pem="$(cat "$K/$m.pub")" <<< "SELECT battledger.add_key('$m', :'pem'::text)")
  ok "$(printf '%-22s %-28s key %s…' "$m" "$roles" "${KID[$m]:0:16}")"
done
# the cell maker's GS1 company prefix: only it may make batteries under it
q -c "SELECT battledger.add_id_namespace('cells.example', 'gs1:952123')" >/dev/null
ok "GS1 company prefix 952123 registered to cells.example (no other member may make batteries under it)"

BATTERY='https://id.gs1.org/01/09521234567899/21/B0025'
step "2. Raw materials: extracted, shipped, refined (custody and mass balance checked)"
record cells.example battery_model '{"model_id": "NMC-18650-2Ah", "manufacturer": "cells.example", "category": "ev",
  "chemistry": "NMC / graphite", "rated_capacity_ah": 2.0, "nominal_voltage_v": 3.7, "min_voltage_v": 2.7,
  "max_voltage_v": 4.2, "rated_energy_kwh": 0.0074, "mass_kg": 0.045, "expected_lifetime_cycles": 500,
  "capacity_threshold_pct": 70, "carbon_footprint_kg_co2e_per_kwh": 61.2,
  "materials": {"cathode": "NMC", "anode": "graphite", "criticalRawMaterials": ["cobalt", "lithium", "nickel"]},
  "recycled_content": {"cobalt": {"preConsumerShare": 4, "postConsumerShare": 12}}}'
ok "cells.example declared model NMC-18650-2Ah (2.0 Ah, 61.2 kg CO2e/kWh)"
record miner.example lot_event '{"lot_id": "CL-LI-2009-001", "event": "extracted", "material": "lithium carbonate", "mass_kg": 1000, "country": "CL", "facility": "mine:salar-de-atacama", "occurred_at": "2008-10-01T00:00:00Z"}'
record miner.example lot_event '{"lot_id": "CD-CO-2009-001", "event": "extracted", "material": "cobalt hydroxide", "mass_kg": 500, "country": "CD", "facility": "mine:kolwezi", "occurred_at": "2008-10-03T00:00:00Z"}'
ok "miner.example extracted lithium carbonate (1000 kg, CL) and cobalt hydroxide (500 kg, CD)"
for lot in CL-LI-2009-001 CD-CO-2009-001; do
  record miner.example lot_event "{\"lot_id\": \"$lot\", \"event\": \"shipped\", \"material\": \"ore\", \"mass_kg\": 1, \"counterparty\": \"refiner.example\", \"occurred_at\": \"2008-10-10T00:00:00Z\"}"
  record refiner.example lot_event "{\"lot_id\": \"$lot\", \"event\": \"received\", \"material\": \"ore\", \"mass_kg\": 1, \"counterparty\": \"miner.example\", \"occurred_at\": \"2008-10-20T00:00:00Z\"}"
done
ok "shipped to refiner.example and received (each side signs its half of the custody transfer)"
if record refiner.example lot_event '{"lot_id": "CAM-2009-007", "event": "processed", "material": "NMC cathode material", "mass_kg": 950, "inputs": [{"lot": "CL-LI-2009-001", "mass_kg": 600}, {"lot": "CD-CO-2009-001", "mass_kg": 300}], "occurred_at": "2008-11-01T00:00:00Z"}' 2>"$BL_WORK/err"; then
  bad "950 kg out of 900 kg in was accepted?!"
else
  no "refused: $(grep -o 'mass balance.*' "$BL_WORK/err" | head -1)"
fi
record refiner.example lot_event '{"lot_id": "CAM-2009-007", "event": "processed", "material": "NMC cathode material", "mass_kg": 850, "inputs": [{"lot": "CL-LI-2009-001", "mass_kg": 600}, {"lot": "CD-CO-2009-001", "mass_kg": 300}], "occurred_at": "2008-11-01T00:00:00Z"}'
record refiner.example lot_event '{"lot_id": "CAM-2009-007", "event": "shipped", "material": "NMC cathode material", "mass_kg": 850, "counterparty": "cells.example", "occurred_at": "2008-11-05T00:00:00Z"}'
record cells.example lot_event '{"lot_id": "CAM-2009-007", "event": "received", "material": "NMC cathode material", "mass_kg": 850, "counterparty": "refiner.example", "occurred_at": "2008-11-20T00:00:00Z"}'
ok "refiner.example made 850 kg of cathode material from 900 kg of inputs, shipped it to cells.example"

step "3. The battery: manufactured, checked, placed on the market, installed"
record cells.example battery_event "{\"battery_id\": \"$BATTERY\", \"event\": \"manufactured\", \"model_id\": \"NMC-18650-2Ah\", \"lots\": [{\"lot\": \"CAM-2009-007\", \"mass_kg\": 0.011}], \"data\": {\"facility\": \"gln:0614141000012\"}, \"occurred_at\": \"2009-01-15T00:00:00Z\"}"
record cells.example battery_event "{\"battery_id\": \"$BATTERY\", \"event\": \"quality_checked\", \"data\": {\"result\": \"pass\"}, \"occurred_at\": \"2009-01-20T00:00:00Z\"}"
# custody: the maker hands the battery to the car maker, which accepts it (docs/consortium.md)
handover cells.example oem.example 2009-01-25
record oem.example battery_event "{\"battery_id\": \"$BATTERY\", \"event\": \"placed_on_market\", \"passport_id\": \"urn:bp:B0025:1\", \"occurred_at\": \"2009-02-01T00:00:00Z\"}"
record fleet.example battery_event "{\"battery_id\": \"$BATTERY\", \"event\": \"installed\", \"occurred_at\": \"2009-02-10T00:00:00Z\"}"
ok "battery $(q -c "SELECT '$BATTERY'::battledger.battery_id") — passport urn:bp:B0025:1, status original"

step "4. A year of real use: NASA PCoE cell B0025, 80 measurements, one signed batch"
q -c "CREATE TABLE demo_usage (cell text, seq int, measured_at timestamptz, value jsonb, salt bytea)"
psql -X -q -v ON_ERROR_STOP=1 -d demo -v nasa_csv="data/nasa/nasa_pcoe_cycle_summary.csv" <<'SQL'
\i demo/nasa_usage.sql
INSERT INTO demo_usage SELECT cell, seq, measured_at, value, uuid_send(gen_random_uuid()) FROM nasa_usage;
SQL
ROWS="SELECT jsonb_populate_record(NULL::battledger.battery_event, jsonb_build_object(
        'battery_id', '$BATTERY', 'event', 'soh_reported', 'occurred_at', u.measured_at,
        'restricted', battledger.commitment(u.salt, u.value)::text,
        'ledger_key_id', '${KID[fleet.example]}', 'ledger_batch', 'fleet-2009-B0025')) r, u.salt, u.value
      FROM demo_usage u WHERE u.cell = 'B0025' ORDER BY u.seq"
q -c "SELECT encode(sha256(battledger.signing_bytes(r)), 'hex') FROM ($ROWS) s" \
  | "$CLI" sign-batch --key "$K/fleet.example.key" --table battledger.battery_event --batch-id fleet-2009-B0025 > "$BL_WORK/batch"
root=$(awk '$1 == "root" {print $2}' "$BL_WORK/batch"); sig=$(awk '$1 == "signature" {print $2}' "$BL_WORK/batch")
q <<SQL
BEGIN;
INSERT INTO battledger.disclosure SELECT (r).restricted, 'legitimate_interest', salt, value FROM ($ROWS) s;
INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
VALUES ('fleet-2009-B0025', 'battledger.battery_event', '${KID[fleet.example]}', 80, '$root', decode('$sig', 'hex'));
INSERT INTO battledger.battery_event SELECT (r).* FROM ($ROWS) s;
COMMIT;
SQL
ok "fleet.example signed one manifest (root ${root:0:16}…) for 80 usage reports"
ok "state of health, capacity and throughput sit on the ledger only as salted commitments"
q -F ' ' -c "SELECT 'first capacity', d.value->>'capacity_ah', 'Ah at', to_char(e.occurred_at, 'YYYY-MM-DD')
  FROM battledger.battery_event e JOIN battledger.disclosure d ON d.commitment = e.restricted
 WHERE d.value ? 'capacity_ah' ORDER BY e.ledger_seq LIMIT 1" | sed 's/^/    /'
q -F ' ' -c "SELECT 'last capacity ', d.value->>'capacity_ah', 'Ah at', to_char(e.occurred_at, 'YYYY-MM-DD')
  FROM battledger.battery_event e JOIN battledger.disclosure d ON d.commitment = e.restricted
 WHERE d.value ? 'capacity_ah' ORDER BY e.ledger_seq DESC LIMIT 1" | sed 's/^/    /'

step "5. Forgeries are refused before anything is written"
if record miner.example battery_event "{\"battery_id\": \"$BATTERY\", \"event\": \"soh_reported\", \"occurred_at\": \"2009-04-01T00:00:00Z\"}" 2>"$BL_WORK/err"; then
  bad "a miner reporting state of health was accepted?!"
else no "miner.example reporting state of health: $(sed -n 's/^ERROR: *//p' "$BL_WORK/err" | head -1)"; fi
hex=$(q -c "SELECT encode(battledger.signing_bytes(jsonb_populate_record(NULL::battledger.battery_event,
  jsonb_build_object('battery_id', '$BATTERY', 'event', 'negative_event', 'data', '{\"kind\": \"minor\"}'::jsonb,
  'occurred_at', '2009-04-01T00:00:00Z', 'ledger_key_id', '${KID[fleet.example]}'))), 'hex')")
sig=$("$CLI" sign --key "$K/fleet.example.key" --hex "$hex")
if q -c "INSERT INTO battledger.battery_event (battery_id, event, data, occurred_at, ledger_key_id, ledger_sig)
         VALUES ('$BATTERY', 'negative_event', '{\"kind\": \"none\"}', '2009-04-01T00:00:00Z', '${KID[fleet.example]}', decode('$sig', 'hex'))" 2>"$BL_WORK/err"; then
  bad "an altered event was accepted?!"
else no "a signed event altered in transit: $(sed -n 's/^ERROR: *//p' "$BL_WORK/err" | head -1)"; fi
if q -c "UPDATE battledger.battery_event SET data = '{}'" 2>"$BL_WORK/err"; then bad "UPDATE accepted?!"
else no "rewriting history: $(sed -n 's/^ERROR: *//p' "$BL_WORK/err" | head -1)"; fi

step "6. Second life, end of life, recycling"
record fleet.example battery_event "{\"battery_id\": \"$BATTERY\", \"event\": \"removed\", \"occurred_at\": \"2009-04-02T00:00:00Z\"}" 2>/dev/null || \
record oem.example battery_event "{\"battery_id\": \"$BATTERY\", \"event\": \"removed\", \"occurred_at\": \"2009-04-02T00:00:00Z\"}"
handover oem.example second-life.example 2009-04-20
record second-life.example battery_event "{\"battery_id\": \"$BATTERY\", \"event\": \"status_changed\", \"new_status\": \"repurposed\", \"passport_id\": \"urn:bp:B0025:2\", \"data\": {\"application\": \"home storage\"}, \"occurred_at\": \"2009-05-01T00:00:00Z\"}"
ok "second-life.example repurposed it for home storage: new passport urn:bp:B0025:2, linked to the first"
if record second-life.example battery_event "{\"battery_id\": \"$BATTERY\", \"event\": \"status_changed\", \"new_status\": \"original\", \"occurred_at\": \"2012-01-01T00:00:00Z\"}" 2>"$BL_WORK/err"; then bad "back to original accepted?!"
else no "back to \"original\": $(sed -n 's/^ERROR: *//p' "$BL_WORK/err" | head -1)"; fi
handover second-life.example recycler.example 2015-05-20
record recycler.example battery_event "{\"battery_id\": \"$BATTERY\", \"event\": \"status_changed\", \"new_status\": \"waste\", \"occurred_at\": \"2015-06-01T00:00:00Z\"}"
record recycler.example battery_event "{\"battery_id\": \"$BATTERY\", \"event\": \"dismantled\", \"occurred_at\": \"2015-06-10T00:00:00Z\"}"
record recycler.example battery_event "{\"battery_id\": \"$BATTERY\", \"event\": \"recycled\", \"data\": {\"recoveredMaterials\": {\"cobalt_kg\": 0.0026, \"lithium_kg\": 0.0009, \"nickel_kg\": 0.0025}}, \"occurred_at\": \"2015-07-01T00:00:00Z\"}"
record recycler.example lot_event "{\"lot_id\": \"SEC-CO-2015-01\", \"event\": \"secondary_created\", \"material\": \"recycled cobalt\", \"mass_kg\": 0.0026, \"inputs\": {\"battery\": \"$BATTERY\"}, \"occurred_at\": \"2015-07-02T00:00:00Z\"}"
ok "recycler.example took it as waste, dismantled and recycled it; 2.6 g of cobalt become a secondary lot"
if record fleet.example battery_event "{\"battery_id\": \"$BATTERY\", \"event\": \"soh_reported\", \"occurred_at\": \"2016-01-01T00:00:00Z\"}" 2>"$BL_WORK/err"; then bad "event after recycling accepted?!"
else no "an event after recycling: $(sed -n 's/^ERROR: *//p' "$BL_WORK/err" | head -1)"; fi

step "7. The recycler's own database joins: every row replicated to it is checked on arrival"
bl_start_cluster member2 55432 "battledger.origin = 'recycler.example/registry'
battledger.log_key_file = '$K/log2.key'
battledger.witness_key_file = '$K/witness2.key'
wal_level = logical"
export PGPORT=55430                  # q talks to the first member; q2 to the recycler's database
createdb -p 55432 demo
q2() { psql -X -q -At -v ON_ERROR_STOP=1 -p 55432 -d demo "$@"; }
q2 -c "CREATE EXTENSION battledger" -c "SELECT battledger.publish_member()" >/dev/null
q -c "SELECT battledger.publish_member()" >/dev/null
# each side pins the other's keys (handed over out of band), then subscribes
q2 -v v="$(q -c "SELECT battledger.log_vkey()")" -v c="host=$BL_WORK port=55430 dbname=demo user=postgres" >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT battledger.join('oem.example/batteries', :'c', :'v') \gexec
SQL
q -v v="$(q2 -c "SELECT battledger.log_vkey()")" -v w="$(q2 -c "SELECT battledger.witness_vkey()")" \
  -v c="host=$BL_WORK port=55432 dbname=demo user=postgres" >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT battledger.join('recycler.example/registry', :'c', :'v', :'w') \gexec
SQL
want=$(q -c "SELECT count(*) FROM battledger.battery_event")
for i in $(seq 1 150); do
  [ "$(q2 -c "SELECT count(*) FROM battledger.battery_event")" = "$want" ] && \
    [ "$(q2 -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ] && break
  sleep 0.2
done
ok "recycler.example/registry holds $(q2 -c "SELECT count(*) FROM battledger.battery_event") battery events, $(q2 -c "SELECT count(*) FROM battledger.lot_event") lot events and $(q2 -c "SELECT count(*) FROM battledger.key_event") keys of oem.example/batteries"
problems "verify_member('oem.example/batteries') there (chains, hashes, keys, signatures):" "$(q2 -c "SELECT count(*) FROM battledger.verify_member('oem.example/batteries')")"

step "8. Sealing: every event becomes a leaf of the member's transparency log; the recycler witnesses it"
q -c "SELECT battledger.seal()" | sed 's/^/    /'
for i in $(seq 1 150); do
  [ "$(q -c "SELECT count(*) FROM battledger.cosignature WHERE log_origin = 'oem.example/batteries'")" -gt 0 ] && break
  sleep 0.2
done
q2 -F ' | ' -c "SELECT member, state, 'checkpoint ' || checkpoint_size || ' verified', 'cosigned ' || cosigned_by_me FROM battledger.consortium_status()" | sed 's/^/    /'
ok "oem.example/batteries received the cosignature: $(q -c "SELECT line FROM battledger.cosignature WHERE log_origin = 'oem.example/batteries' LIMIT 1" | cut -c1-60)…"

step "9. The battery passport (public tier)"
q -c "SELECT jsonb_pretty(battledger.passport('$BATTERY') - 'materialComposition' - 'digitalLink')" | sed 's/^/    /'
step "   … and what a repairer or recycler with legitimate interest also sees"
q -F ' | ' -c "SELECT rpad(key, 27), rpad(value->>'value', 9), rpad(value->>'unit', 6), to_char((value->>'timestamp')::timestamptz, 'YYYY-MM-DD'),
                      'set by event #' || (value->'setBy'->>'sequence') || ', leaf ' || (value->'setBy'->>'leafIndex')
                 FROM jsonb_each(battledger.passport('$BATTERY', 'legitimate_interest')->'performance'->'dynamic') ORDER BY key" | sed 's/^/    /'

step "   … and as the industry's data models: BatteryPass 1.2 (seven aspects) and Catena-X 6.1.0"
# B0025 is recycled: its passport has ceased to exist (Art. 77(8)), and neither model has a status for it
{ q -c "SELECT battledger.passport('$BATTERY', 'public', 'batterypass')" 2>&1 || true; } | sed -n 's/^ERROR:  /    refused for B0025: /p'
# so a sister cell, just placed on the market, shows them
B26='https://id.gs1.org/01/09521234567899/21/B0026'
record cells.example battery_event "{\"battery_id\": \"$B26\", \"event\": \"manufactured\", \"model_id\": \"NMC-18650-2Ah\", \"data\": {\"facility\": \"gln:0614141000012\"}, \"occurred_at\": \"2009-01-15T00:00:00Z\"}"
handover cells.example oem.example 2009-01-25 "$B26"
record oem.example battery_event "{\"battery_id\": \"$B26\", \"event\": \"placed_on_market\", \"passport_id\": \"urn:bp:B0026:1\", \"occurred_at\": \"2009-02-01T00:00:00Z\"}"
for fmt in batterypass catenax; do
  for tier in public legitimate_interest; do
    q -c "SELECT battledger.passport('$B26', '$tier', '$fmt')" > "$BL_WORK/B0026.$tier.$fmt.json"
    echo '*' > "$BL_WORK/B0026.$tier.$fmt.json.absent"   # this demo declares only what the model's columns hold
  done
done
q -c "SELECT jsonb_pretty(passport - 'urn:samm:io.BatteryPass.Performance:1.2.0#PerformanceAndDurability')
        FROM battledger.passport('$B26', 'public', 'batterypass') passport" | sed 's/^/    /' | head -40
echo "    …"
q -c "SELECT jsonb_pretty(jsonb_build_object('identification', p->'identification', 'metadata', p->'metadata'))
        FROM battledger.passport('$B26', 'public', 'catenax') p" | sed 's/^/    /'
if /usr/bin/python3 test/lib/validate_passport.py test/standards test/standards/withheld.json "$BL_WORK"/B0026.*.json \
     > "$BL_WORK/validation.txt"; then
  ok "every document validated against its schema (draft 4, format checking), public and legitimate-interest tiers:"
else
  bad "validation FAILED:"
fi
sed 's/, [0-9]* required values.*/ (values this demo does not declare or the tier withholds: left out)/; s/^/    /' "$BL_WORK/validation.txt"

step "10. History and material provenance"
q -F ' | ' -c "SELECT lpad(seq::text, 3), rpad(event, 17), rpad(signer, 20), coalesce(new_status, ''), coalesce(passport_id, ''),
                      'leaf ' || leaf_index FROM battledger.battery_history('$BATTERY') WHERE event <> 'soh_reported'" | sed 's/^/    /'
echo "    (+ $(q -c "SELECT count(*) FROM battledger.battery_history('$BATTERY') WHERE event = 'soh_reported'") usage reports)"
q -F ' | ' -c "SELECT repeat('  ', depth - 1) || lot_id, material, used_kg || ' kg', coalesce(country, ''), coalesce(facility, ''), member
                 FROM battledger.material_provenance('$BATTERY')" | sed 's/^/    /'

step "11. An auditor verifies the recycling event offline: the log's key and the recycler's cosignature"
q -c "SELECT battledger.log_vkey()" > "$BL_WORK/vkey"
q2 -c "SELECT battledger.witness_vkey()" > "$BL_WORK/witness"
leaf=$(q -c "SELECT leaf_index FROM battledger.battery_history('$BATTERY') WHERE event = 'recycled'")
printf '%s\n' "$(q -c "SELECT battledger.tlog_proof($leaf, 1)")" > "$BL_WORK/proof.txt"
q -c "SELECT encode(battledger.leaf($leaf), 'hex')" > "$BL_WORK/leaf.hex"
echo "    \$ battledger verify-proof --vkey \"\$(cat vkey)\" --witness \"\$(cat witness)\" --proof proof.txt --leaf-hex \$(cat leaf.hex)"
printf '    '; "$CLI" verify-proof --vkey "$(cat "$BL_WORK/vkey")" --witness "$(cat "$BL_WORK/witness")" --proof "$BL_WORK/proof.txt" --leaf-hex "$(cat "$BL_WORK/leaf.hex")"
sed '2s/index [0-9]*/index 0/' "$BL_WORK/proof.txt" > "$BL_WORK/forged.txt"
echo "    \$ # the same proof, claiming another position in the log:"
printf '    '
if "$CLI" verify-proof --vkey "$(cat "$BL_WORK/vkey")" --proof "$BL_WORK/forged.txt" --leaf-hex "$(cat "$BL_WORK/leaf.hex")"; then
  bad "a proof claiming another position was accepted?!"
fi

step "12. Everything verifies, at both members"
for t in member_event key_event battery_model lot_event battery_event batch; do
  problems "verify(battledger.$t):" "$(q -c "SELECT count(*) FROM battledger.verify('battledger.$t')")"
done
problems "verify_log():" "$(q -c "SELECT count(*) FROM battledger.verify_log()")"
problems "at recycler.example/registry: verify(battledger.battery_event) and rows refused on arrival:" \
  "$(q2 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.rejections)")"

echo
if [ "${KEEP:-0}" = 1 ]; then
  echo "The clusters are still running: psql -h $BL_WORK -p 55430 -U postgres demo (and -p 55432)"
else
  echo "Done. The throwaway clusters are stopped and removed (KEEP=1 ./demo.sh keeps them)."
fi
echo "Usage data: B. Saha and K. Goebel (2007), \"Battery Data Set\", NASA Ames Prognostics Center of Excellence."
if [ "$failed" != 0 ]; then
  echo "The demo found something wrong: see the ✘ lines marked ?! or with problems above." >&2
  exit 1
fi
