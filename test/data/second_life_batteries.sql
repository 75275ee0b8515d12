-- Second life and composition (docs/registry.md, "Second life and
-- composition"), on top of test/data/passport_batteries.sql (its members,
-- signing functions and declarations): two EV packs repurposed into one
-- stationary pack (SL-STAT), and cells built into a module built into a pack
-- (SL-PACK).  Signed with the TEST-ONLY signer.
SET search_path = public, battledger, battledger_test;
SELECT add_member('second.test', ARRAY['second_life_operator']), add_key('second.test', public_key(seed('second.test')));
SELECT add_member('collect.test', ARRAY['collector']), add_key('collect.test', public_key(seed('collect.test')));
-- the second-life product's model: a stationary battery, its own rated values and carbon footprint
SELECT model('cells.test', jsonb_build_object('model_id', 'SL-stationary', 'manufacturer', 'second.test', 'category', 'stationary',
        'chemistry', 'NMC 811 / graphite', 'rated_capacity_ah', 300, 'rated_energy_kwh', 110, 'nominal_voltage_v', 370,
        'min_voltage_v', 300, 'max_voltage_v', 420, 'original_power_w', 50000, 'expected_lifetime_cycles', 3000,
        'capacity_threshold_pct', 60, 'mass_kg', 900, 'carbon_footprint_kg_co2e_per_kwh', 8.4,
        'materials', full_materials(),
        'recycled_content', '{"cobalt": {"preConsumerShare": 4, "postConsumerShare": 12}}'::jsonb));
-- two EV packs live their first life and are handed to the second-life operator
SELECT life('SL-EV-A', 'FULL-ev', full_declaration()), life('SL-EV-B', 'FULL-ev', full_declaration());
SELECT ev('oem.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'handover', 'data', '{"to": "second.test"}'::jsonb,
          'occurred_at', '2031-01-01T00:00:00Z')),
       ev('second.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'handover_accepted', 'occurred_at', '2031-01-02T00:00:00Z'))
  FROM unnest(ARRAY['SL-EV-A', 'SL-EV-B']) s;
SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('SL-EV-A')::text, 'event', 'repaired', 'occurred_at', '2030-05-01T00:00:00Z',
          'data', '{"kind": "module replaced", "parts": ["M-7"]}'::jsonb));
-- A is repurposed with its performance measured at the status change; B is
-- first declared waste (the second-life operator responsible), then repurposed
SELECT ev('second.test', jsonb_build_object('battery_id', bid('SL-EV-A')::text, 'event', 'status_changed', 'new_status', 'repurposed',
          'data', jsonb_build_object('successor', bid('SL-STAT')::text), 'occurred_at', '2031-02-01T00:00:00Z',
          'restricted', disclose('legitimate_interest', '{"soh_pct": 81.5, "capacity_ah": 163, "full_cycles": 1400, "serial": "SL-EV-A"}')));
SELECT ev('second.test', jsonb_build_object('battery_id', bid('SL-EV-B')::text, 'event', 'status_changed', 'new_status', 'waste',
          'occurred_at', '2031-02-01T00:00:00Z'));
SELECT ev('second.test', jsonb_build_object('battery_id', bid('SL-EV-B')::text, 'event', 'status_changed', 'new_status', 'repurposed',
          'data', jsonb_build_object('successor', bid('SL-STAT')::text), 'occurred_at', '2031-02-02T00:00:00Z'));
-- the successor: a new battery, its own model, naming both predecessors, with its own passport
SELECT ev('second.test', jsonb_build_object('battery_id', bid('SL-STAT')::text, 'event', 'manufactured', 'model_id', 'SL-stationary',
          -- the second-life operator is the new battery's manufacturer: its own identity and plant
          -- (naming the cell maker's registered identifiers would be refused, BL063)
          'data', full_declaration() || jsonb_build_object(
                      'manufacturer', '{"id": "bpnl:BPNL000000000009", "name": "Second Life Test GmbH", "email": "passport@second.example",
                                        "web": "https://second.example", "address": {"country": "DE", "postalCode": "10115", "street": "Invalidenstr. 1"}}'::jsonb,
                      'facility', 'bpna:BPNA000000000009',
                      'manufacturingPlace', '{"country": "DE", "postalCode": "10115", "street": "Invalidenstr. 1"}'::jsonb)
                  || jsonb_build_object('predecessors', jsonb_build_array(bid('SL-EV-A')::text, bid('SL-EV-B')::text),
                                                           'carbonFootprint', '{"perStage": {"MainProduction": 2.1}, "performanceClass": "A", "absoluteKgCo2e": 920}'::jsonb),
          'occurred_at', '2031-03-01T00:00:00Z'));
SELECT ev('second.test', jsonb_build_object('battery_id', bid('SL-STAT')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:SL-STAT:1',
          'data', '{"operator": {"id": "bpnl:BPNL000000000009", "name": "Second Life Test GmbH", "email": "passport@second.example",
                                 "web": "https://second.example", "address": {"country": "DE", "postalCode": "10115", "street": "Invalidenstr. 1"}},
                    "passportExpiry": "2045-01-01", "warranty": {"value": 5, "unit": "year"}}'::jsonb,
          'occurred_at', '2031-03-05T00:00:00Z'));
-- composition: two cells, a module of them, a pack of the module, all made by the pack maker
SELECT ev('cells.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'manufactured', 'model_id', 'FULL-ev',
          'occurred_at', '2025-01-01T00:00:00Z')) FROM unnest(ARRAY['SL-CELL-1', 'SL-CELL-2']) s;
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('SL-MOD')::text, 'event', 'manufactured', 'model_id', 'FULL-ev',
          'data', jsonb_build_object('granularity', 'module', 'components', jsonb_build_array(bid('SL-CELL-1')::text, bid('SL-CELL-2')::text)),
          'occurred_at', '2025-01-02T00:00:00Z'));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('SL-PACK')::text, 'event', 'manufactured', 'model_id', 'FULL-ev',
          'data', full_declaration() || jsonb_build_object('components', jsonb_build_array(bid('SL-MOD')::text)),
          'occurred_at', '2025-01-03T00:00:00Z'));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('SL-PACK')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:SL-PACK:1',
          'data', '{"operator": {"id": "bpnl:BPNL000000000001", "name": "Cells Test GmbH", "email": "passport@cells.example",
                                 "web": "https://cells.example", "address": {"country": "DE", "postalCode": "38440", "street": "Werkstr. 1"}},
                    "passportExpiry": "2040-01-01", "warranty": {"value": 8, "unit": "year"}}'::jsonb,
          'occurred_at', '2025-01-04T00:00:00Z'));
-- both new batteries get a test report (authorities), are put into service and report their own usage
SELECT ev('lab.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'quality_checked', 'occurred_at', '2031-03-06T00:00:00Z',
          'restricted', disclose('authority', jsonb_build_object('testReport', doc('test-report-' || s))))),
       ev('fleet.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'installed', 'occurred_at', '2031-03-10T00:00:00Z')),
       ev(CASE s WHEN 'SL-STAT' THEN 'second.test' ELSE 'fleet.test' END,
          jsonb_build_object('battery_id', bid(s)::text, 'event', 'soh_reported', 'occurred_at', '2031-09-01T00:00:00Z',
          'restricted', disclose('legitimate_interest', jsonb_build_object('serial', s,
                       'soh_pct', 99.1, 'capacity_ah', 297.3, 'capacity_fade_pct', 0.9, 'full_cycles', 150, 'energy_throughput_kwh', 16000,
                       'capacity_throughput_ah', 44000, 're_ohm', 0.061, 'resistance_increase_pct', 1.2, 'soce_pct', 98.8, 'soc_pct', 55,
                       're_cell_ohm', 0.00090, 'resistance_increase_cell_pct', 1.1,
                       'remaining_energy_kwh', 108.7, 'remaining_power_w', 49000, 'remaining_power_soc_pct', 80, 'power_fade_pct', 2,
                       'rte_remaining_pct', 93.2, 'rte_fade_pct', 0.4, 'self_discharge_pct', 2.3, 'self_discharge_evolution_pct', 0.1,
                       't_extreme_high_min', 0, 't_extreme_low_min', 30, 't_extreme_high_charging_min', 0, 't_extreme_low_charging_min', 0,
                       'deep_discharge_events', 0, 'overcharge_events', 0)))),
       ev('fleet.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'negative_event', 'data', '{"kind": "overheating"}'::jsonb,
          'occurred_at', '2031-10-01T00:00:00Z'))
  FROM unnest(ARRAY['SL-STAT', 'SL-PACK']) s;
SELECT seal() IS NOT NULL;
