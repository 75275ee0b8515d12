-- Batteries of every category for the passport format tests
-- (test/shell/passport_schemas.sh, test/shell/passport_coverage.sh): members,
-- models and events signed with the TEST-ONLY signer, restricted values as
-- salted commitments with their cleartext disclosed to a tier.  Runs on
-- battledger 0.3.0 too (the coverage test compares with it).
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
    'labels', jsonb_build_array(jsonb_build_object('subject', 'SeparateCollection', 'symbol', doc('wheelie-bin')->'url', 'meaning', 'Separate collection'),
                                jsonb_build_object('subject', 'HazardousMaterial', 'symbol', doc('cd-pb')->'url', 'meaning', 'Cadmium and lead'),
                                jsonb_build_object('subject', 'CarbonFootPrint', 'symbol', doc('cf-label')->'url', 'meaning', 'Carbon footprint class B')),
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

-- the manufacturer, its plant and the car maker as registered identifiers (0.5.0;
-- passport_coverage.sh also loads this into 0.3.0, which has no such table): the
-- passports render their blocks from these registrations
DO $do$
BEGIN
    IF to_regclass('battledger.operator_registration') IS NOT NULL THEN
        EXECUTE $f$
            CREATE FUNCTION reg(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
            DECLARE r battledger.operator_registration := jsonb_populate_record(NULL::battledger.operator_registration,
                        j || jsonb_build_object('member', m, 'occurred_at', '2025-01-01T00:00:00Z', 'ledger_key_id', key_id(public_key(seed(m)))::text));
            BEGIN r.ledger_sig := sign(seed(m), signing_bytes(r)); INSERT INTO battledger.operator_registration SELECT r.*; END $$ $f$;
        PERFORM reg('cells.test', '{"identifier": "bpnl:BPNL000000000001", "kind": "operator", "name": "Cells Test GmbH",
                                    "address": {"country": "DE", "postalCode": "38440", "street": "Werkstr. 1"},
                                    "contact": {"email": "contact@cells.example", "web": "https://cells.example"}}');
        PERFORM reg('cells.test', '{"identifier": "bpna:BPNA000000000001", "kind": "facility", "name": "Cells Test plant",
                                    "operator": "bpnl:BPNL000000000001", "address": {"country": "DE", "postalCode": "38440", "street": "Werkstr. 1"}}');
        PERFORM reg('oem.test', '{"identifier": "bpnl:BPNL000000000002", "kind": "operator", "name": "OEM Test AG",
                                  "address": {"country": "DE", "postalCode": "80809", "street": "Petuelring 130"},
                                  "contact": {"email": "passport@oem.example", "web": "https://oem.example"}}');
    END IF;
END $do$;

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
    -- custody (0.4.0; passport_coverage.sh also loads this into 0.3.0):
    -- the maker hands the battery to the car maker, which places it
    IF EXISTS (SELECT 1 FROM battledger.event_kind k WHERE k.event = 'handover') THEN
        PERFORM ev('cells.test', jsonb_build_object('battery_id', b, 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb,
                   'occurred_at', '2025-01-20T00:00:00Z'));
        PERFORM ev('oem.test', jsonb_build_object('battery_id', b, 'event', 'handover_accepted', 'occurred_at', '2025-01-20T00:00:00Z'));
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
-- (and an identifier nobody registered, so no registration supplies the address)
SELECT life('NOADDR-ev', 'FULL-ev', jsonb_set(full_declaration() #- '{manufacturer,address}', '{manufacturer,id}', '"bpnl:BPNL00000000NOAD"'));
SELECT seal() IS NOT NULL;
