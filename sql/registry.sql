-- The battery registry: roles per event, the status state machine, custody
-- and mass balance of material lots, passports and access tiers, erasure of
-- restricted values, and the real NASA PCoE usage data.
\set SHOW_CONTEXT never
CREATE EXTENSION IF NOT EXISTS battledger_test_signer;   -- TEST ONLY
SET search_path = public, battledger, battledger_test;

-- One member per role, each with its own key (seed = its name), plus a few real-looking members.
SELECT count(*) AS members FROM (
    SELECT add_member('only-' || r, ARRAY[r]), add_key('only-' || r, public_key(seed('only-' || r)))
      FROM unnest(member_roles()) r) x;
SELECT add_member(m, r), add_key(m, public_key(seed(m))) IS NOT NULL AS key
  FROM (VALUES ('miner.test', ARRAY['miner']), ('refiner.test', ARRAY['refiner']),
               ('cells.test', ARRAY['cell_maker', 'pack_maker']), ('oem.test', ARRAY['oem']),
               ('fleet.test', ARRAY['fleet_operator']), ('second.test', ARRAY['second_life_operator']),
               ('recycler.test', ARRAY['recycler', 'collector'])) v(m, r);

-- The member's application: fill in the key id, sign the signing bytes, insert.
CREATE FUNCTION lot(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.lot_event := jsonb_populate_record(NULL::battledger.lot_event, j || jsonb_build_object('ledger_key_id', key_id(public_key(seed(m)))::text));
BEGIN r.ledger_sig := sign(seed(m), signing_bytes(r)); INSERT INTO battledger.lot_event SELECT r.*; END $$;
CREATE FUNCTION ev(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, j || jsonb_build_object('ledger_key_id', key_id(public_key(seed(m)))::text));
BEGIN r.ledger_sig := sign(seed(m), signing_bytes(r)); INSERT INTO battledger.battery_event SELECT r.*; END $$;
CREATE FUNCTION model(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_model := jsonb_populate_record(NULL::battledger.battery_model, j || jsonb_build_object('ledger_key_id', key_id(public_key(seed(m)))::text));
BEGIN r.ledger_sig := sign(seed(m), signing_bytes(r)); INSERT INTO battledger.battery_model SELECT r.*; END $$;
-- the SQLSTATE an event gets (or 'ok'), without keeping it
CREATE FUNCTION try_ev(m text, j jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ev(m, j);
    RAISE EXCEPTION USING ERRCODE = 'XX999';
EXCEPTION WHEN OTHERS THEN
    RETURN CASE WHEN SQLSTATE = 'XX999' THEN 'ok' ELSE SQLSTATE END;
END $$;
-- the SQLSTATE a model declaration gets (or 'ok'), without keeping it
CREATE FUNCTION try_model(m text, j jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM model(m, j);
    RAISE EXCEPTION USING ERRCODE = 'XX999';
EXCEPTION WHEN OTHERS THEN
    RETURN CASE WHEN SQLSTATE = 'XX999' THEN 'ok' ELSE SQLSTATE END;
END $$;
CREATE FUNCTION bid(serial text) RETURNS battery_id LANGUAGE sql AS $$
    SELECT ('https://id.gs1.org/01/09521234567899/21/' || serial)::battery_id $$;

SELECT model('cells.test', '{"model_id": "NMC-18650-2Ah", "manufacturer": "cells.test", "category": "ev",
    "chemistry": "NMC (LiNiMnCoO2) / graphite", "rated_capacity_ah": 2.0, "nominal_voltage_v": 3.7,
    "min_voltage_v": 2.7, "max_voltage_v": 4.2, "rated_energy_kwh": 0.0074, "mass_kg": 0.045,
    "expected_lifetime_cycles": 500, "capacity_threshold_pct": 70, "carbon_footprint_kg_co2e_per_kwh": 61.2,
    "materials": {"cathode": "NMC", "anode": "graphite", "criticalRawMaterials": ["cobalt", "lithium", "nickel", "natural graphite"]},
    "recycled_content": {"cobalt": {"preConsumerShare": 4, "postConsumerShare": 12}}}');

-- Custody: the holder hands the battery over and the receiver accepts.
CREATE FUNCTION give(b battery_id, holder text, receiver text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ev(holder, jsonb_build_object('battery_id', b::text, 'event', 'handover', 'data', jsonb_build_object('to', receiver),
                                          'occurred_at', '2024-03-02T00:00:00Z'));
    PERFORM ev(receiver, jsonb_build_object('battery_id', b::text, 'event', 'handover_accepted', 'occurred_at', '2024-03-02T00:00:00Z'));
END $$;

-- A battery taken to a given status through allowed moves, then held by holder.
CREATE FUNCTION battery_at(serial text, status text, holder text DEFAULT NULL) RETURNS battery_id LANGUAGE plpgsql AS $$
DECLARE
    b battery_id := bid(serial);
    custodian text := 'oem.test';
BEGIN
    PERFORM ev('cells.test', jsonb_build_object('battery_id', b::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah', 'occurred_at', '2024-03-01T00:00:00Z'));
    PERFORM give(b, 'cells.test', 'oem.test');
    PERFORM ev('oem.test', jsonb_build_object('battery_id', b::text, 'event', 'placed_on_market', 'passport_id', serial || '/p1', 'occurred_at', '2024-03-05T00:00:00Z'));
    IF status IN ('re-used', 'repurposed', 'remanufactured') THEN
        PERFORM give(b, 'oem.test', 'second.test');
        custodian := 'second.test';
        PERFORM ev('second.test', jsonb_build_object('battery_id', b::text, 'event', 'status_changed',
                   'new_status', status, 'passport_id', serial || '/p2', 'occurred_at', '2025-01-01T00:00:00Z'));
    ELSIF status IN ('waste', 'recycled') THEN
        PERFORM give(b, 'oem.test', 'recycler.test');
        custodian := 'recycler.test';
        PERFORM ev('recycler.test', jsonb_build_object('battery_id', b::text, 'event', 'status_changed', 'new_status', 'waste', 'occurred_at', '2025-01-01T00:00:00Z'));
    END IF;
    IF status = 'recycled' THEN
        PERFORM ev('recycler.test', jsonb_build_object('battery_id', b::text, 'event', 'recycled', 'occurred_at', '2025-02-01T00:00:00Z'));
    ELSIF holder IS NOT NULL AND holder <> custodian THEN
        PERFORM give(b, custodian, holder);
    END IF;
    RETURN b;
END $$;

-- 1. Every status move, from every status: refused moves name the rule (BL035/BL036)
SELECT f.status AS "from", t.status AS "to",
       try_ev(m.mover,
              jsonb_build_object('battery_id', battery_at('S-' || left(md5(f.status || t.status), 10), f.status, m.mover)::text,
                  'event', CASE WHEN t.status = 'recycled' THEN 'recycled' ELSE 'status_changed' END,
                  'new_status', CASE WHEN t.status <> 'recycled' THEN t.status END,
                  'passport_id', CASE WHEN t.status IN ('re-used', 'repurposed', 'remanufactured') THEN 'S-' || f.status || '-' || t.status || '/new' END,
                  'occurred_at', '2025-06-01T00:00:00Z')) AS result,
       status_move_allowed(f.status, t.status) AS allowed
  FROM unnest(ARRAY['original', 're-used', 'repurposed', 'remanufactured', 'waste', 'recycled']) f(status),
       unnest(ARRAY['re-used', 'repurposed', 'remanufactured', 'waste', 'recycled']) t(status),
       LATERAL (SELECT CASE WHEN t.status IN ('re-used', 'repurposed', 'remanufactured') THEN 'second.test'
                            ELSE 'recycler.test' END) m(mover)
 ORDER BY 1, 2;
SELECT try_ev('recycler.test', jsonb_build_object('battery_id', battery_at('S-back', 'waste')::text,
              'event', 'status_changed', 'new_status', 'original', 'occurred_at', '2025-06-01T00:00:00Z')) AS back_to_original;

-- 2. Every event and every role: who may sign what (role checked before state)
CREATE TEMP TABLE role_matrix AS
SELECT k.event, r AS role,
       try_ev('only-' || r, jsonb_build_object('battery_id', battery_at('R-' || left(md5(k.event || r), 10),
                  CASE WHEN k.event IN ('dismantled', 'recycled') THEN 'waste' ELSE 'original' END)::text,
              'event', k.event, 'occurred_at', '2025-06-01T00:00:00Z',
              'new_status', CASE WHEN k.event = 'status_changed' THEN 'waste' END)) AS result
  FROM battledger.event_kind k, unnest(member_roles()) r
 WHERE k.subject = 'battery' AND k.event NOT IN ('manufactured', 'correction');
SELECT event, array_agg(role ORDER BY role) FILTER (WHERE result <> 'BL015') AS signers_accepted
  FROM role_matrix GROUP BY event ORDER BY event;
SELECT count(*) AS role_mismatches FROM role_matrix m JOIN battledger.event_kind k USING (event)
 WHERE (m.result <> 'BL015') <> (m.role = ANY (CASE WHEN k.event = 'status_changed'
            THEN (SELECT roles FROM battledger.status_role WHERE status = 'waste') ELSE k.roles END));
-- status changes: the role depends on the new status
SELECT s.status, array_agg(r ORDER BY r) FILTER (WHERE try_ev('only-' || r, jsonb_build_object(
           'battery_id', battery_at('T-' || left(md5(s.status || r), 10), 'original')::text, 'event', 'status_changed',
           'new_status', s.status, 'passport_id', 'T-' || s.status || '-' || r || '/p2',
           'occurred_at', '2025-06-01T00:00:00Z')) <> 'BL015') AS signers_accepted
  FROM battledger.status_role s, unnest(member_roles()) r GROUP BY s.status ORDER BY 1;
-- manufactured: cell or pack makers only, and only once
SELECT r, try_ev('only-' || r, jsonb_build_object('battery_id', bid('M-' || left(md5(r), 10))::text, 'event', 'manufactured',
          'model_id', 'NMC-18650-2Ah', 'occurred_at', '2024-03-01T00:00:00Z')) AS result
  FROM unnest(member_roles()) r ORDER BY 1;
SELECT try_ev('cells.test', jsonb_build_object('battery_id', battery_at('M-twice', 'original')::text,
              'event', 'manufactured', 'model_id', 'NMC-18650-2Ah', 'occurred_at', '2024-03-01T00:00:00Z')) AS second_manufacture;

\set VERBOSITY default
-- registry rules read the latest committed state: READ COMMITTED only
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT ev('fleet.test', jsonb_build_object('battery_id', battery_at('RR-1', 'original')::text, 'event', 'soh_reported', 'occurred_at', '2026-01-01T00:00:00Z'));
ROLLBACK;
-- refusals, with their messages
SELECT ev('oem.test', '{"battery_id": "gs1:01/09521234567899/21/NEVER-MADE", "event": "placed_on_market", "passport_id": "x", "occurred_at": "2024-01-01T00:00:00Z"}');
SELECT ev('fleet.test', jsonb_build_object('battery_id', battery_at('E-1', 'recycled')::text, 'event', 'soh_reported', 'occurred_at', '2026-01-01T00:00:00Z'));
SELECT ev('recycler.test', jsonb_build_object('battery_id', battery_at('E-2', 'original')::text, 'event', 'status_changed', 'new_status', 'recycled', 'occurred_at', '2026-01-01T00:00:00Z'));
SELECT ev('second.test', jsonb_build_object('battery_id', battery_at('E-3', 'original', 'second.test')::text, 'event', 'status_changed', 'new_status', 'repurposed', 'occurred_at', '2026-01-01T00:00:00Z'));
SELECT ev('second.test', jsonb_build_object('battery_id', battery_at('E-4', 'original', 'second.test')::text, 'event', 'status_changed', 'new_status', 'repurposed', 'passport_id', 'E-4/p1', 'occurred_at', '2026-01-01T00:00:00Z'));
SELECT ev('miner.test', jsonb_build_object('battery_id', battery_at('E-5', 'original')::text, 'event', 'soh_reported', 'occurred_at', '2026-01-01T00:00:00Z'));
SELECT ev('oem.test', jsonb_build_object('battery_id', battery_at('E-6', 'original')::text, 'event', 'warp_drive_fitted', 'occurred_at', '2026-01-01T00:00:00Z'));
SELECT ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/E-7", "event": "manufactured", "model_id": "NO-SUCH-MODEL", "occurred_at": "2024-01-01T00:00:00Z"}');
\set VERBOSITY terse

-- 3. Material lots: custody and mass balance
SELECT lot('miner.test', '{"lot_id": "CL-LI-1", "event": "extracted", "material": "lithium carbonate", "mass_kg": 1000, "country": "CL", "facility": "mine:salar-de-atacama", "occurred_at": "2024-01-05T00:00:00Z"}');
SELECT lot('miner.test', '{"lot_id": "CD-CO-1", "event": "extracted", "material": "cobalt hydroxide", "mass_kg": 500, "country": "CD", "facility": "mine:kolwezi", "occurred_at": "2024-01-06T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "CL-LI-1", "event": "extracted", "material": "lithium carbonate", "mass_kg": 10, "country": "CL", "occurred_at": "2024-01-05T00:00:00Z"}');
SELECT lot('miner.test', '{"lot_id": "CL-LI-1", "event": "extracted", "material": "lithium carbonate", "mass_kg": 10, "country": "CL", "occurred_at": "2024-01-05T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "CL-LI-1", "event": "received", "material": "lithium carbonate", "mass_kg": 1000, "counterparty": "miner.test", "occurred_at": "2024-01-07T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "CL-LI-1", "event": "shipped", "material": "lithium carbonate", "mass_kg": 1000, "counterparty": "cells.test", "occurred_at": "2024-01-07T00:00:00Z"}');
SELECT lot('miner.test', '{"lot_id": "CL-LI-1", "event": "shipped", "material": "lithium carbonate", "mass_kg": 1000, "counterparty": "refiner.test", "occurred_at": "2024-01-07T00:00:00Z"}');
SELECT lot('cells.test', '{"lot_id": "CL-LI-1", "event": "received", "material": "lithium carbonate", "mass_kg": 1000, "counterparty": "miner.test", "occurred_at": "2024-01-08T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "CL-LI-1", "event": "received", "material": "lithium carbonate", "mass_kg": 1000, "counterparty": "miner.test", "occurred_at": "2024-01-08T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "CAM-1", "event": "processed", "material": "NMC cathode active material", "mass_kg": 850, "inputs": [{"lot": "CL-LI-1", "mass_kg": 600}, {"lot": "CD-CO-1", "mass_kg": 300}], "occurred_at": "2024-02-01T00:00:00Z"}');
SELECT lot('miner.test', '{"lot_id": "CD-CO-1", "event": "shipped", "material": "cobalt hydroxide", "mass_kg": 500, "counterparty": "refiner.test", "occurred_at": "2024-01-07T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "CD-CO-1", "event": "received", "material": "cobalt hydroxide", "mass_kg": 500, "counterparty": "miner.test", "occurred_at": "2024-01-08T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "CAM-1", "event": "processed", "material": "NMC cathode active material", "mass_kg": 901, "inputs": [{"lot": "CL-LI-1", "mass_kg": 600}, {"lot": "CD-CO-1", "mass_kg": 300}], "occurred_at": "2024-02-01T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "CAM-1", "event": "processed", "material": "NMC cathode active material", "mass_kg": 850, "inputs": [{"lot": "CL-LI-1", "mass_kg": 1200}], "occurred_at": "2024-02-01T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "CAM-1", "event": "processed", "material": "NMC cathode active material", "mass_kg": 850, "inputs": [{"lot": "CL-LI-1", "mass_kg": 600}, {"lot": "CD-CO-1", "mass_kg": 300}], "occurred_at": "2024-02-01T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "CAM-2", "event": "processed", "material": "NMC cathode active material", "mass_kg": 100, "inputs": [{"lot": "CL-LI-1", "mass_kg": 401}], "occurred_at": "2024-02-01T00:00:00Z"}');
SELECT lot_id, lot_available_kg(lot_id), lot_custodian(lot_id) FROM (VALUES ('CL-LI-1'), ('CD-CO-1'), ('CAM-1')) v(lot_id);
SELECT lot('refiner.test', '{"lot_id": "CAM-1", "event": "shipped", "material": "NMC cathode active material", "mass_kg": 850, "counterparty": "cells.test", "occurred_at": "2024-02-02T00:00:00Z"}');
SELECT lot('cells.test', '{"lot_id": "CAM-1", "event": "received", "material": "NMC cathode active material", "mass_kg": 850, "counterparty": "refiner.test", "occurred_at": "2024-02-03T00:00:00Z"}');

-- 4. A battery's life, with NASA PCoE cell B0025's real measurements as its usage
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('B0025')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'lots', '[{"lot": "CAM-1", "mass_kg": 0.011}]'::jsonb, 'data', '{"facility": "gln:0614141000012"}'::jsonb,
          'occurred_at', '2009-01-15T00:00:00Z'));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('B0025')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'lots', '[{"lot": "CAM-1", "mass_kg": 900}]'::jsonb, 'occurred_at', '2009-01-15T00:00:00Z'));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('B0026')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'lots', '[{"lot": "CAM-1", "mass_kg": 900}]'::jsonb, 'occurred_at', '2009-01-15T00:00:00Z'));
SELECT give(bid('B0025'), 'cells.test', 'oem.test');
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('B0025')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:B0025:1', 'occurred_at', '2009-02-01T00:00:00Z'));
SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('B0025')::text, 'event', 'installed', 'occurred_at', '2009-02-10T00:00:00Z'));

\set nasa_csv data/nasa/nasa_pcoe_cycle_summary.csv
\i demo/nasa_usage.sql
SELECT count(*) AS measurements, count(DISTINCT cell) AS cells FROM nasa_usage;
-- the fleet operator's upload: one signed batch, restricted values as salted commitments
CREATE TEMP TABLE upload (r battledger.battery_event, salt bytea, value jsonb);
CREATE FUNCTION upload_usage(m text, cell text, serial text, batch text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    rows battledger.battery_event[];
    n bigint;
    root hash256;
BEGIN
    TRUNCATE upload;
    INSERT INTO upload
    SELECT jsonb_populate_record(NULL::battledger.battery_event, jsonb_build_object(
               'battery_id', bid(serial)::text, 'event', 'soh_reported', 'occurred_at', u.measured_at,
               'restricted', commitment(s.salt, u.value)::text,
               'ledger_key_id', key_id(public_key(seed(m)))::text, 'ledger_batch', batch)),
           s.salt, u.value
      FROM nasa_usage u, LATERAL (SELECT sha256(convert_to(batch || u.seq, 'UTF8'))::bytea AS salt) s   -- TEST ONLY: reproducible salts
     WHERE u.cell = upload_usage.cell ORDER BY u.seq;
    SELECT array_agg(r), count(*), batch_root(array_agg(sha256(signing_bytes(r))::hash256)) INTO rows, n, root FROM upload;
    INSERT INTO battledger.disclosure SELECT (r).restricted, 'legitimate_interest', salt, value FROM upload;
    INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
    VALUES (batch, 'battledger.battery_event', key_id(public_key(seed(m))), n, root,
            sign(seed(m), batch_manifest('battledger.battery_event', batch, n, root)));
    INSERT INTO battledger.battery_event SELECT (unnest(rows)).*;
    RETURN n;
END $$;
SELECT upload_usage('fleet.test', 'B0025', 'B0025', 'fleet-upload-B0025') AS events;
-- B0025's first and last measured capacities (data/nasa: 1.84701 Ah and 1.76779 Ah)
SELECT (d.value->>'capacity_ah')::numeric AS capacity_ah, e.occurred_at
  FROM battledger.battery_event e JOIN battledger.disclosure d ON d.commitment OPERATOR(battledger.=) e.restricted
 WHERE e.battery_id = bid('B0025') AND d.value ? 'capacity_ah'
 ORDER BY e.ledger_seq LIMIT 1;
SELECT (d.value->>'capacity_ah')::numeric AS capacity_ah, e.occurred_at
  FROM battledger.battery_event e JOIN battledger.disclosure d ON d.commitment OPERATOR(battledger.=) e.restricted
 WHERE e.battery_id = bid('B0025') AND d.value ? 'capacity_ah'
 ORDER BY e.ledger_seq DESC LIMIT 1;

-- repurposing, a correction, end of first life, recycling
SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('B0025')::text, 'event', 'negative_event', 'data', '{"kind": "deep discharge"}'::jsonb, 'occurred_at', '2009-04-01T00:00:00Z'));
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('B0025')::text, 'event', 'removed', 'occurred_at', '2009-04-02T00:00:00Z'));
SELECT give(bid('B0025'), 'oem.test', 'second.test');
SELECT ev('second.test', jsonb_build_object('battery_id', bid('B0025')::text, 'event', 'status_changed', 'new_status', 'repurposed',
          'passport_id', 'urn:bp:B0025:2', 'data', '{"application": "stationary storage"}'::jsonb, 'occurred_at', '2009-05-01T00:00:00Z'));
SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('B0025')::text, 'event', 'correction',
          'corrects', (SELECT ledger_hash::text FROM battledger.battery_event WHERE battery_id = bid('B0025') AND event = 'negative_event'),
          'data', '{"kind": "over-temperature"}'::jsonb, 'occurred_at', '2009-05-02T00:00:00Z'));
SELECT ev('second.test', jsonb_build_object('battery_id', bid('B0025')::text, 'event', 'correction',
          'corrects', (SELECT ledger_hash::text FROM battledger.battery_event WHERE battery_id = bid('B0025') AND event = 'negative_event'),
          'occurred_at', '2009-05-03T00:00:00Z'));

-- 5. Passports: public, legitimate interest, authority
SELECT jsonb_pretty(passport(bid('B0025')) - 'digitalLink');
SELECT passport(bid('B0025')) ? 'performance' AS has_performance,
       passport(bid('B0025'))->'performance' ? 'dynamic' AS public_has_dynamic,
       passport(bid('B0025'), 'legitimate_interest')->'performance'->'dynamic' ? 'stateOfHealth' AS li_has_soh;
SELECT key, value->>'value' AS value, value->>'unit' AS unit, value->>'timestamp' AS at, value->'setBy'->>'event' AS set_by
  FROM jsonb_each(passport(bid('B0025'), 'legitimate_interest')->'performance'->'dynamic') ORDER BY key;
CREATE ROLE registry_reader;
CREATE ROLE registry_repairer IN ROLE battledger_legitimate_interest;
GRANT USAGE ON SCHEMA battledger_test TO registry_reader, registry_repairer;
SET ROLE registry_reader;
SELECT passport(bid('B0025'))->>'batteryStatus' AS public_status;
SELECT passport(bid('B0025'), 'legitimate_interest');
SELECT count(*) AS disclosures_visible FROM battledger.disclosure;
RESET ROLE;
SET ROLE registry_repairer;
SELECT passport(bid('B0025'), 'legitimate_interest')->'performance'->'dynamic'->'stateOfHealth'->>'value' AS soh_seen_by_repairer;
SELECT passport(bid('B0025'), 'authority');
RESET ROLE;
SELECT passport(bid('B0025'), 'secret');
SELECT passport(bid('NOT-A-BATTERY'));

-- 6. History, provenance, proofs
SELECT seq, event, signer, new_status, passport_id FROM battery_history(bid('B0025')) WHERE event <> 'soh_reported' ORDER BY seq;
SELECT depth, lot_id, event, material, lot_mass_kg, used_kg, country, facility, member FROM material_provenance(bid('B0025'));
SELECT seal() IS NOT NULL AS sealed;
SELECT count(*) AS events, count(*) FILTER (WHERE verify_inclusion(leaf, leaf_index,
           (SELECT max(tree_size) FROM battledger.checkpoint), inclusion_proof(leaf_index), tree_root((SELECT max(tree_size) FROM battledger.checkpoint)))) AS proofs_verify
  FROM battery_proofs(bid('B0025'));

-- 7. Erasure (GDPR): the cleartext goes, every hash, chain and proof stays valid
CREATE TEMP TABLE last_soh AS
SELECT e.restricted FROM battledger.battery_event e JOIN battledger.disclosure d ON d.commitment OPERATOR(battledger.=) e.restricted
 WHERE e.battery_id = bid('B0025') AND e.event = 'soh_reported' AND d.value ? 'capacity_ah'
 ORDER BY e.ledger_seq DESC LIMIT 1;
SELECT check_disclosure(restricted, d.salt, d.value) AS disclosure_matches,
       check_disclosure(restricted, d.salt, d.value || '{"soh_pct": 99}') AS altered_value_matches
  FROM last_soh JOIN battledger.disclosure d ON d.commitment = restricted;
SELECT erase_disclosure(restricted) AS erased FROM last_soh;
-- the erased report no longer speaks: the passport falls back to the previous measurement
SELECT passport(bid('B0025'), 'legitimate_interest')->'performance'->'dynamic'->'remainingCapacity'->>'value' AS capacity_after_erasure;
SELECT count(*) AS proofs_still_verify FROM battery_proofs(bid('B0025'))
 WHERE verify_inclusion(leaf, leaf_index, (SELECT max(tree_size) FROM battledger.checkpoint), inclusion_proof(leaf_index),
                        tree_root((SELECT max(tree_size) FROM battledger.checkpoint)));
SELECT count(*) AS chain_problems FROM verify('battledger.battery_event');
SELECT count(*) AS log_problems FROM verify_log();

-- 8. The whole NASA file: 21 cells, every measurement, one signed batch per cell
SELECT count(*) AS cells_placed FROM (
    SELECT ev('cells.test', jsonb_build_object('battery_id', bid(c)::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah', 'occurred_at', '2009-01-15T00:00:00Z')),
           give(bid(c), 'cells.test', 'oem.test'),
           ev('oem.test', jsonb_build_object('battery_id', bid(c)::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:' || c || ':1', 'occurred_at', '2009-02-01T00:00:00Z'))
      FROM (SELECT DISTINCT cell FROM nasa_usage WHERE cell <> 'B0025') x(c)) y;
SELECT sum(upload_usage('fleet.test', c, c, 'fleet-upload-' || c)) AS events_loaded
  FROM (SELECT DISTINCT cell FROM nasa_usage WHERE cell <> 'B0025' ORDER BY 1) x(c);
SELECT count(*) AS soh_events, count(DISTINCT battery_id) AS batteries FROM battledger.battery_event WHERE event = 'soh_reported';
SELECT serial, passport(bid(serial), 'legitimate_interest')->'performance'->'dynamic'->'remainingCapacity'->>'value' AS last_capacity_ah
  FROM (VALUES ('B0026'), ('B0045'), ('B0053')) v(serial);
SELECT count(*) AS problems FROM verify('battledger.battery_event');
SELECT count(*) AS problems FROM verify('battledger.lot_event');

-- 9. Custody: one member at a time moves a battery; every member judges the
-- lifecycle alike, in registry order (docs/consortium.md, "One history per battery")
\set VERBOSITY default
SELECT battery_at('C-1', 'original') IS NOT NULL AS made;
SELECT manufactured, status, passport_id, custodian, handover_to FROM battery_state(bid('C-1'));
-- a member without custody cannot move it, even with the right role
SELECT ev('second.test', jsonb_build_object('battery_id', bid('C-1')::text, 'event', 'status_changed', 'new_status', 'repurposed',
          'passport_id', 'C-1/p2', 'occurred_at', '2026-01-01T00:00:00Z'));
-- nor hand it over, nor accept what was not offered
SELECT ev('second.test', jsonb_build_object('battery_id', bid('C-1')::text, 'event', 'handover', 'data', '{"to": "recycler.test"}'::jsonb, 'occurred_at', '2026-01-01T00:00:00Z'));
SELECT ev('second.test', jsonb_build_object('battery_id', bid('C-1')::text, 'event', 'handover_accepted', 'occurred_at', '2026-01-01T00:00:00Z'));
-- a handover names another, known member
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('C-1')::text, 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb, 'occurred_at', '2026-01-01T00:00:00Z'));
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('C-1')::text, 'event', 'handover', 'data', '{"to": "nobody.test"}'::jsonb, 'occurred_at', '2026-01-01T00:00:00Z'));
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('C-1')::text, 'event', 'handover', 'data', '{"to": "second.test"}'::jsonb, 'occurred_at', '2026-01-01T00:00:00Z'));
-- pending: nobody moves it, not even the member that offered it; only the receiver accepts
SELECT custodian, handover_to FROM battery_state(bid('C-1'));
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('C-1')::text, 'event', 'status_changed', 'new_status', 'waste', 'occurred_at', '2026-01-01T00:00:00Z'));
SELECT ev('recycler.test', jsonb_build_object('battery_id', bid('C-1')::text, 'event', 'handover_accepted', 'occurred_at', '2026-01-01T00:00:00Z'));
SELECT ev('second.test', jsonb_build_object('battery_id', bid('C-1')::text, 'event', 'handover_accepted', 'occurred_at', '2026-01-01T00:00:00Z'));
SELECT ev('second.test', jsonb_build_object('battery_id', bid('C-1')::text, 'event', 'status_changed', 'new_status', 'repurposed',
          'passport_id', 'C-1/p2', 'occurred_at', '2026-01-02T00:00:00Z'));
-- usage reports commute: open to their roles whoever holds the battery
SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('C-1')::text, 'event', 'soh_reported', 'occurred_at', '2026-01-03T00:00:00Z'));
SELECT event, signer, effective, problem, status, passport_id, custodian, handover_to FROM battery_lifecycle(bid('C-1'));
SELECT count(*) AS conflicts_so_far FROM registry_conflicts();

-- A member that bypasses its own rules (its superuser disables the trigger):
-- the row is stored and signed, but judged ineffective here as on every member
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT ev('recycler.test', jsonb_build_object('battery_id', bid('C-1')::text, 'event', 'status_changed', 'new_status', 'waste', 'occurred_at', '2026-01-04T00:00:00Z'));
SELECT ev('recycler.test', jsonb_build_object('battery_id', bid('C-1')::text, 'event', 'recycled', 'occurred_at', '2026-01-04T00:00:00Z'));
-- and two custodians of two batteries racing for one passport id: the first in registry order keeps it
SELECT battery_at('C-2', 'original', 'second.test') IS NOT NULL AS made;
SELECT ev('second.test', jsonb_build_object('battery_id', bid('C-2')::text, 'event', 'status_changed', 'new_status', 're-used',
          'passport_id', 'C-1/p2', 'occurred_at', '2026-01-05T00:00:00Z'));
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SELECT status, passport_id, custodian FROM battery_state(bid('C-1'));
SELECT status, passport_id, custodian FROM battery_state(bid('C-2'));
SELECT passport(bid('C-1'), 'legitimate_interest')->>'batteryStatus' AS c1_passport_status, passport(bid('C-2'), 'legitimate_interest')->>'batteryStatus' AS c2_passport_status;
SELECT right(battery_id::text, 3) AS battery, event, signer, problem, kind, message FROM registry_conflicts() ORDER BY ledger_seq;
-- the chains and the log are intact: the rows are evidence, not damage
SELECT count(*) AS chain_problems FROM verify('battledger.battery_event');

-- Registries updated from 0.3.0 enforce custody from the update on; before it, moves were by role
SELECT battery_at('C-3', 'original') IS NOT NULL AS made;
SELECT set_custody_from('infinity');
SELECT ev('second.test', jsonb_build_object('battery_id', bid('C-3')::text, 'event', 'status_changed', 'new_status', 'repurposed',
          'passport_id', 'C-3/p2', 'occurred_at', '2026-01-01T00:00:00Z'));
SELECT set_custody_from(clock_timestamp()) IS NOT NULL AS custody_from_now;
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('C-3')::text, 'event', 'status_changed', 'new_status', 'waste',
          'occurred_at', '2026-01-02T00:00:00Z'));
SELECT event, signer, effective, problem, custody, custodian FROM battery_lifecycle(bid('C-3'));
-- the member that last moved it before custody holds it now
SELECT ev('second.test', jsonb_build_object('battery_id', bid('C-3')::text, 'event', 'status_changed', 'new_status', 'waste',
          'occurred_at', '2026-01-02T00:00:00Z'));
SELECT set_custody_from('-infinity');
SET ROLE registry_reader;
SELECT set_custody_from('infinity');
RESET ROLE;

-- Only an event that issues a passport may name one (review h7): a quality
-- check, a manufacturing or a handover naming an id held it against its issuer
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('C-4')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'occurred_at', '2026-01-06T00:00:00Z')), give(bid('C-4'), 'cells.test', 'oem.test');
SELECT try_ev('only-auditor', jsonb_build_object('battery_id', bid('C-4')::text, 'event', 'quality_checked',
              'passport_id', 'urn:bp:oem.test:C-4', 'occurred_at', '2026-01-06T00:00:00Z')) AS quality_check_naming_a_passport;
SELECT try_ev('cells.test', jsonb_build_object('battery_id', bid('C-5')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
              'passport_id', 'urn:bp:oem.test:C-4', 'occurred_at', '2026-01-06T00:00:00Z')) AS manufactured_naming_a_passport;
-- a member that bypasses its rules to squat the id is named, and squats nothing
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT ev('only-auditor', jsonb_build_object('battery_id', bid('C-4')::text, 'event', 'quality_checked',
          'passport_id', 'urn:bp:oem.test:C-4', 'occurred_at', '2026-01-06T00:00:00Z'));
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SELECT right(battery_id::text, 3) AS battery, event, signer, problem, kind, message FROM registry_conflicts()
 WHERE right(battery_id::text, 3) = 'C-4';
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('C-4')::text, 'event', 'placed_on_market',
          'passport_id', 'urn:bp:oem.test:C-4', 'occurred_at', '2026-01-07T00:00:00Z'));
SELECT status, passport_id, custodian FROM battery_state(bid('C-4'));
-- a handover cannot be withdrawn: one to a member that may not accept it is refused
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('C-4')::text, 'event', 'handover', 'data', '{"to": "only-auditor"}'::jsonb,
          'occurred_at', '2026-01-08T00:00:00Z'));
SELECT custodian, handover_to FROM battery_state(bid('C-4'));

-- 10. Identifier namespaces: a battery id is its maker's.  Registered, a GS1
-- company prefix (or ISO/IEC 15459 issuer and company) makes "manufactured"
-- under it its member's alone: another maker cannot squat its serials, nor
-- take a battery by writing its first row first (or dated earlier)
CREATE FUNCTION nid(serial text) RETURNS battery_id LANGUAGE sql AS $$
    SELECT ('gs1:01/04012345000016/21/' || serial)::battery_id $$;
SELECT add_id_namespace('cells.test', 'gs1:4012345');
SELECT add_id_namespace('cells.test', 'gs1:40-12');                 -- not a prefix
SELECT add_id_namespace('nobody.test', 'gs1:4099999');              -- not a member
-- another member's overlapping claim is recorded, not refused (refusing would
-- let whoever registers a short prefix first keep the real maker out): where
-- the two overlap neither excludes the other, and both are named below
SELECT add_id_namespace('cells.test', 'gs1:4055555');
SELECT add_id_namespace('only-cell_maker', 'gs1:40555');            -- overlaps cells.test's: contested
SELECT add_id_namespace('only-cell_maker', 'gs1:405555500');        -- overlaps its own: refused
SELECT try_ev('cells.test', jsonb_build_object('battery_id', 'gs1:01/04055555000018/21/N-9', 'event', 'manufactured',
              'model_id', 'NMC-18650-2Ah', 'occurred_at', '2026-02-01T00:00:00Z')) AS maker_in_contested,
       try_ev('only-cell_maker', jsonb_build_object('battery_id', 'gs1:01/04055555000018/21/N-10', 'event', 'manufactured',
              'model_id', 'NMC-18650-2Ah', 'occurred_at', '2026-02-01T00:00:00Z')) AS claimant_in_contested;
SELECT add_id_namespace('only-cell_maker', 'iso15459:UN/123456');
SET ROLE registry_reader;
SELECT add_id_namespace('only-cell_maker', 'gs1:4099999');          -- the DBA's to register
RESET ROLE;
-- another cell maker's writer refuses a battery under cells.test's prefix
SELECT try_ev('only-cell_maker', jsonb_build_object('battery_id', nid('N-1')::text, 'event', 'manufactured',
              'model_id', 'NMC-18650-2Ah', 'occurred_at', '2026-02-01T00:00:00Z')) AS squatting;
-- its own namespace, and batteries under no namespace, stay open to the role
SELECT try_ev('only-cell_maker', jsonb_build_object('battery_id', 'iso15459:UN/123456/N-2', 'event', 'manufactured',
              'model_id', 'NMC-18650-2Ah', 'occurred_at', '2026-02-01T00:00:00Z')) AS own_namespace,
       try_ev('cells.test', jsonb_build_object('battery_id', 'iso15459:UN/123456/N-3', 'event', 'manufactured',
              'model_id', 'NMC-18650-2Ah', 'occurred_at', '2026-02-01T00:00:00Z')) AS others_namespace,
       try_ev('only-cell_maker', jsonb_build_object('battery_id', 'iso15459:UN/1234567/N-4', 'event', 'manufactured',
              'model_id', 'NMC-18650-2Ah', 'occurred_at', '2026-02-01T00:00:00Z')) AS no_namespace;
-- a member whose superuser bypasses its rules writes the battery's first row
-- before the real maker: the row is judged ineffective on every member, the
-- real maker makes and holds the battery, and the bypass is named
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT ev('only-cell_maker', jsonb_build_object('battery_id', nid('N-5')::text, 'event', 'manufactured',
          'model_id', 'NMC-18650-2Ah', 'occurred_at', '2026-01-01T00:00:00Z'));
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SELECT manufactured, custodian FROM battery_state(nid('N-5'));
SELECT ev('cells.test', jsonb_build_object('battery_id', nid('N-5')::text, 'event', 'manufactured',
          'model_id', 'NMC-18650-2Ah', 'occurred_at', '2026-02-01T00:00:00Z'));
SELECT event, signer, effective, problem, custodian FROM battery_lifecycle(nid('N-5'));
-- and under a namespace registered long before (here a day, as received from
-- another member): each is an equivocation, however recent the registration
INSERT INTO battledger.id_namespace (namespace, member, at) VALUES ('gs1:4099999', 'cells.test', now() - interval '1 day');
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT ev('only-cell_maker', jsonb_build_object('battery_id', 'gs1:01/04099999000012/21/N-6', 'event', 'manufactured',
          'model_id', 'NMC-18650-2Ah', 'occurred_at', '2026-01-01T00:00:00Z'));
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SELECT right(battery_id::text, 3) AS battery, event, signer, problem, kind FROM registry_conflicts()
 WHERE battery_id::text ~ '/040(12345000016|99999000012)/' ORDER BY battery;
-- a registration must not take batteries another member already made
SELECT add_id_namespace('only-cell_maker', 'iso15459:UN/1234567');  -- its own N-4: fine
SELECT add_id_namespace('only-cell_maker', 'gs1:952123');            -- cells.test made batteries there
-- two members registering overlapping namespaces (the second bypassing
-- add_id_namespace): both are named; where they overlap neither excludes the
-- other from then on, and what was stored before is judged as it was
INSERT INTO battledger.id_namespace (namespace, member) VALUES ('gs1:40123450', 'only-cell_maker');
SELECT custodian FROM battery_state(nid('N-5'));
SELECT event, signer, problem, kind, message FROM registry_conflicts() WHERE event = 'id_namespace' ORDER BY signer;
SELECT try_ev('only-cell_maker', jsonb_build_object('battery_id', nid('N-7')::text, 'event', 'manufactured',
              'model_id', 'NMC-18650-2Ah', 'occurred_at', '2026-02-01T00:00:00Z')) AS in_contested_namespace,
       try_ev('only-cell_maker', jsonb_build_object('battery_id', 'gs1:01/04012345100013/21/N-8', 'event', 'manufactured',
              'model_id', 'NMC-18650-2Ah', 'occurred_at', '2026-02-01T00:00:00Z')) AS in_cells_test_alone;
SELECT count(*) AS chain_problems FROM verify('battledger.id_namespace');

-- 11. Second life (Art. 77(7)) and composition: repurposing makes a new
-- battery whose manufacture names its predecessors; the holder of each
-- original consumes it (status_changed with data.successor); packs list their
-- components (docs/registry.md, "Second life and composition")
SELECT model('cells.test', '{"model_id": "SL-110kWh", "manufacturer": "second.test", "category": "stationary",
    "chemistry": "NMC (LiNiMnCoO2) / graphite", "rated_capacity_ah": 300, "rated_energy_kwh": 110, "nominal_voltage_v": 370,
    "carbon_footprint_kg_co2e_per_kwh": 8.4}');
SELECT battery_at('S-A', 'original', 'second.test') IS NOT NULL, battery_at('S-B', 'waste', 'second.test') IS NOT NULL,
       battery_at('S-C', 'original') IS NOT NULL, battery_at('S-W', 'waste') IS NOT NULL AS made;
-- the operator responsible now: on "waste", the member that declared it waste
SELECT passport(bid('S-W'))->'secondLife' AS public_responsible, passport(bid('S-W'), 'legitimate_interest')->'secondLife' AS li_responsible;
-- performance at the status change: disclosed to legitimate interest with the consuming move
INSERT INTO battledger.disclosure VALUES (commitment('\x000102030405060708090a0b0c0d0e0f', '{"soh_pct": 81.5, "capacity_ah": 1.63}'),
    'legitimate_interest', '\x000102030405060708090a0b0c0d0e0f', '{"soh_pct": 81.5, "capacity_ah": 1.63}');
SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('S-A')::text, 'event', 'repaired', 'data', '{"kind": "module replaced"}'::jsonb,
          'occurred_at', '2026-02-01T00:00:00Z'));
-- the consuming move: repurposed or remanufactured, a canonical successor other than itself, no passport of its own
SELECT try_ev('second.test', jsonb_build_object('battery_id', bid('S-A')::text, 'event', 'status_changed', 'new_status', 'repurposed',
              'passport_id', 'S-A/p2', 'data', jsonb_build_object('successor', bid('S-NEW')::text), 'occurred_at', '2026-03-01T00:00:00Z')) AS with_passport,
       try_ev('second.test', jsonb_build_object('battery_id', bid('S-A')::text, 'event', 'status_changed', 'new_status', 're-used',
              'passport_id', 'S-A/p2', 'data', jsonb_build_object('successor', bid('S-NEW')::text), 'occurred_at', '2026-03-01T00:00:00Z')) AS into_reused,
       try_ev('second.test', jsonb_build_object('battery_id', bid('S-A')::text, 'event', 'status_changed', 'new_status', 'repurposed',
              'data', jsonb_build_object('successor', bid('S-A')::text), 'occurred_at', '2026-03-01T00:00:00Z')) AS into_itself,
       try_ev('second.test', jsonb_build_object('battery_id', bid('S-A')::text, 'event', 'status_changed', 'new_status', 'repurposed',
              'data', '{"successor": "https://id.gs1.org/01/09521234567899/21/S-NEW"}'::jsonb, 'occurred_at', '2026-03-01T00:00:00Z')) AS not_canonical;
-- a competitor's pack: only its holder consumes it
SELECT ev('second.test', jsonb_build_object('battery_id', bid('S-C')::text, 'event', 'status_changed', 'new_status', 'repurposed',
          'data', jsonb_build_object('successor', bid('S-NEW')::text), 'occurred_at', '2026-03-01T00:00:00Z'));
-- a waste battery may be repurposed, not remanufactured (the state machine)
SELECT ev('second.test', jsonb_build_object('battery_id', bid('S-B')::text, 'event', 'status_changed', 'new_status', 'remanufactured',
          'data', jsonb_build_object('successor', bid('S-NEW')::text), 'occurred_at', '2026-03-01T00:00:00Z'));
SELECT ev('second.test', jsonb_build_object('battery_id', bid('S-A')::text, 'event', 'status_changed', 'new_status', 'repurposed',
          'data', jsonb_build_object('successor', bid('S-NEW')::text), 'occurred_at', '2026-03-01T00:00:00Z',
          'restricted', commitment('\x000102030405060708090a0b0c0d0e0f', '{"soh_pct": 81.5, "capacity_ah": 1.63}')::text)),
       ev('second.test', jsonb_build_object('battery_id', bid('S-B')::text, 'event', 'status_changed', 'new_status', 'repurposed',
          'data', jsonb_build_object('successor', bid('S-NEW')::text), 'occurred_at', '2026-03-01T00:00:00Z'));
-- consumed once: nothing moves it any more, not even its holder
SELECT try_ev('second.test', jsonb_build_object('battery_id', bid('S-A')::text, 'event', 'status_changed', 'new_status', 'repurposed',
              'data', jsonb_build_object('successor', bid('S-NEW2')::text), 'occurred_at', '2026-03-02T00:00:00Z')) AS consumed_twice,
       try_ev('second.test', jsonb_build_object('battery_id', bid('S-A')::text, 'event', 'status_changed', 'new_status', 'waste',
              'occurred_at', '2026-03-02T00:00:00Z')) AS then_waste,
       try_ev('second.test', jsonb_build_object('battery_id', bid('S-A')::text, 'event', 'handover', 'data', '{"to": "recycler.test"}'::jsonb,
              'occurred_at', '2026-03-02T00:00:00Z')) AS then_handover;
SELECT status, passport_id, custodian FROM battery_state(bid('S-A'));
-- the successor's manufacture: well-formed predecessors, each consumed into it by its maker
SELECT try_ev('second.test', jsonb_build_object('battery_id', bid('S-NEW')::text, 'event', 'manufactured', 'model_id', 'SL-110kWh',
              'data', '{"predecessors": []}'::jsonb, 'occurred_at', '2026-03-03T00:00:00Z')) AS empty,
       try_ev('second.test', jsonb_build_object('battery_id', bid('S-NEW')::text, 'event', 'manufactured', 'model_id', 'SL-110kWh',
              'data', jsonb_build_object('predecessors', jsonb_build_array(bid('S-A')::text, bid('S-A')::text)), 'occurred_at', '2026-03-03T00:00:00Z')) AS twice,
       try_ev('second.test', jsonb_build_object('battery_id', bid('S-NEW')::text, 'event', 'manufactured', 'model_id', 'SL-110kWh',
              'data', jsonb_build_object('predecessors', jsonb_build_array(bid('S-NEW')::text)), 'occurred_at', '2026-03-03T00:00:00Z')) AS itself,
       try_ev('oem.test', jsonb_build_object('battery_id', bid('S-NEW')::text, 'event', 'manufactured', 'model_id', 'SL-110kWh',
              'data', jsonb_build_object('predecessors', jsonb_build_array(bid('S-A')::text)), 'occurred_at', '2026-03-03T00:00:00Z')) AS oem_role,
       try_ev('cells.test', jsonb_build_object('battery_id', bid('S-NEW')::text, 'event', 'manufactured', 'model_id', 'SL-110kWh',
              'data', jsonb_build_object('predecessors', jsonb_build_array(bid('S-A')::text)), 'occurred_at', '2026-03-03T00:00:00Z')) AS not_its_consumer;
-- claiming a competitor's pack (never consumed into it) as a predecessor
SELECT ev('second.test', jsonb_build_object('battery_id', bid('S-NEW')::text, 'event', 'manufactured', 'model_id', 'SL-110kWh',
          'data', jsonb_build_object('predecessors', jsonb_build_array(bid('S-A')::text, bid('S-B')::text, bid('S-C')::text)), 'occurred_at', '2026-03-03T00:00:00Z'));
SELECT ev('second.test', jsonb_build_object('battery_id', bid('S-NEW')::text, 'event', 'manufactured', 'model_id', 'SL-110kWh',
          'data', jsonb_build_object('predecessors', jsonb_build_array(bid('S-A')::text, bid('S-B')::text)), 'occurred_at', '2026-03-03T00:00:00Z')),
       ev('second.test', jsonb_build_object('battery_id', bid('S-NEW')::text, 'event', 'placed_on_market', 'passport_id', 'S-NEW/p1',
          'occurred_at', '2026-03-04T00:00:00Z'));
-- one predecessor, one successor: another battery cannot claim it too
SELECT ev('second.test', jsonb_build_object('battery_id', bid('S-NEW2')::text, 'event', 'manufactured', 'model_id', 'SL-110kWh',
          'data', jsonb_build_object('predecessors', jsonb_build_array(bid('S-A')::text)), 'occurred_at', '2026-03-03T00:00:00Z'));
-- a successor is a new battery: an existing one cannot become one (and so no cycle can form)
SELECT battery_at('S-E', 'original', 'second.test') IS NOT NULL AS made;
SELECT ev('second.test', jsonb_build_object('battery_id', bid('S-NEW')::text, 'event', 'status_changed', 'new_status', 'repurposed',
          'data', jsonb_build_object('successor', bid('S-E')::text), 'occurred_at', '2026-03-05T00:00:00Z'));
-- the passports: links public, statuses and the performance at the status change for legitimate interest
SELECT jsonb_pretty(passport(bid('S-NEW'))->'secondLife') AS successor_public;
SELECT jsonb_pretty(passport(bid('S-NEW'), 'legitimate_interest')->'secondLife') AS successor_legitimate_interest;
SELECT passport(bid('S-NEW'))->'generalProductInformation'->>'batteryCategory' AS category,
       passport(bid('S-NEW'))->>'passportId' AS passport,
       passport(bid('S-NEW'))->'carbonFootprint'->'batteryCarbonFootprint'->>'value' AS carbon_footprint,
       passport(bid('S-NEW'), 'public', 'catenax')->'metadata'->>'predecessor' = 'urn:uuid:' || passport_uuid('S-A/p1') AS catenax_predecessor;
SELECT passport(bid('S-A'))->'secondLife'->'successor' AS a_public,
       (passport(bid('S-A'), 'legitimate_interest')->'secondLife') - 'repairs' AS a_legitimate_interest,
       (passport(bid('S-A'), 'legitimate_interest')->'secondLife'->'repairs'->0) - 'ledgerHash' AS a_repair,
       passport(bid('S-A'))->'secondLife' ? 'repairs' AS public_sees_repairs;

-- Composition: cells in a module in a pack, each held by its maker when built in
SELECT ev('cells.test', jsonb_build_object('battery_id', bid(c)::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'occurred_at', '2026-04-01T00:00:00Z')) FROM unnest(ARRAY['P-C1', 'P-C2', 'P-C3']) c;
SELECT try_ev('cells.test', jsonb_build_object('battery_id', bid('P-M')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
              'data', jsonb_build_object('components', jsonb_build_array(bid('P-C1')::text, bid('P-NONE')::text)), 'occurred_at', '2026-04-02T00:00:00Z')) AS unregistered,
       try_ev('cells.test', jsonb_build_object('battery_id', bid('P-M')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
              'data', jsonb_build_object('components', jsonb_build_array(bid('P-M')::text)), 'occurred_at', '2026-04-02T00:00:00Z')) AS itself,
       try_ev('cells.test', jsonb_build_object('battery_id', bid('P-M')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
              'data', jsonb_build_object('components', jsonb_build_array(bid('S-C')::text)), 'occurred_at', '2026-04-02T00:00:00Z')) AS not_held,
       try_ev('second.test', jsonb_build_object('battery_id', bid('P-M')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
              'data', jsonb_build_object('predecessors', jsonb_build_array(bid('S-E')::text), 'components', jsonb_build_array(bid('S-E')::text)),
              'occurred_at', '2026-04-02T00:00:00Z')) AS both;
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('P-M')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'data', jsonb_build_object('components', jsonb_build_array(bid('P-C1')::text, bid('P-C2')::text)), 'occurred_at', '2026-04-02T00:00:00Z'));
-- rows of one statement have no registry order between two batteries: a pack
-- cannot be made in the statement that made its module
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('P-M3')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'occurred_at', '2026-04-02T00:00:00Z')),
       ev('cells.test', jsonb_build_object('battery_id', bid('P-P')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'data', jsonb_build_object('components', jsonb_build_array(bid('P-M3')::text)), 'occurred_at', '2026-04-03T00:00:00Z'));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('P-P')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'data', jsonb_build_object('components', jsonb_build_array(bid('P-M')::text)), 'occurred_at', '2026-04-03T00:00:00Z'));
-- a cell goes into one module only
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('P-M2')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'data', jsonb_build_object('components', jsonb_build_array(bid('P-C3')::text, bid('P-C2')::text)), 'occurred_at', '2026-04-04T00:00:00Z'));
SELECT passport(bid('P-P'))->'secondLife' ? 'composition' AS public_sees_composition,
       passport(bid('P-P'), 'authority')->'secondLife'->'composition' AS pack,
       passport(bid('P-M'), 'legitimate_interest')->'secondLife' AS module,
       passport(bid('P-C1'), 'authority')->'secondLife' AS cell;

-- A member that bypasses its rules: claims a competitor's pack and cells it
-- does not hold, consumes a battery it does not hold, and tries a cycle
-- (S-NEW consumed into its own predecessor S-A): stored, judged, named, never shown
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT ev('second.test', jsonb_build_object('battery_id', bid('S-X')::text, 'event', 'manufactured', 'model_id', 'SL-110kWh',
          'data', jsonb_build_object('predecessors', jsonb_build_array(bid('S-C')::text, bid('S-A')::text)), 'occurred_at', '2026-05-01T00:00:00Z'));
SELECT ev('only-pack_maker', jsonb_build_object('battery_id', bid('P-X')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'data', jsonb_build_object('components', jsonb_build_array(bid('P-C3')::text)), 'occurred_at', '2026-05-01T00:00:00Z'));
SELECT ev('second.test', jsonb_build_object('battery_id', bid('S-C')::text, 'event', 'status_changed', 'new_status', 'repurposed',
          'data', jsonb_build_object('successor', bid('S-X')::text), 'occurred_at', '2026-05-01T00:00:00Z'));
SELECT ev('second.test', jsonb_build_object('battery_id', bid('S-NEW')::text, 'event', 'status_changed', 'new_status', 'repurposed',
          'data', jsonb_build_object('successor', bid('S-A')::text), 'occurred_at', '2026-05-02T00:00:00Z'));
SELECT ev('second.test', jsonb_build_object('battery_id', bid('S-A')::text, 'event', 'manufactured', 'model_id', 'SL-110kWh',
          'data', jsonb_build_object('predecessors', jsonb_build_array(bid('S-NEW')::text)), 'occurred_at', '2026-05-03T00:00:00Z'));
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SELECT right(battery_id::text, 5) AS battery, event, signer, problem, kind FROM registry_conflicts()
 WHERE battery_id::text ~ '/(S|P)-[A-Z0-9]+$' ORDER BY battery_id::text, ledger_seq, problem;
SELECT right(b::text, 5) AS battery, c.claim, right(c.id, 5) AS names, c.confirmed
  FROM unnest(ARRAY[bid('S-NEW'), bid('S-X'), bid('S-A'), bid('P-M'), bid('P-M2'), bid('P-X')]) b, _second_life_claims(b) c ORDER BY 1, 2, 3;
SELECT passport(bid('S-A'))->'secondLife' ? 'predecessors' AS cycle_shown, passport(bid('P-X'), 'authority')->'secondLife' AS rogue_pack,
       passport(bid('S-X'))->'secondLife' AS rogue_successor;
SELECT count(*) AS chain_problems FROM verify('battledger.battery_event');

-- 12. The rules trigger's cache of each battery's state (red team F8) agrees
-- with the whole fold for every battery written above (races, bypasses,
-- corrections, namespaces); and a battery with many lifecycle events is
-- folded on from its cache, not from its first event
SELECT count(*) AS cached_batteries FROM battledger.battery_fold_cache;
-- the whole fold, never the cache (battery_state() reads the cache since 0.6.0):
-- the state after the last lifecycle event
CREATE FUNCTION whole_state(b battery_id) RETURNS battledger.battery_fold_state LANGUAGE sql AS $$
    SELECT coalesce((SELECT ROW(l.manufactured, l.status, l.passport_id, l.custodian, l.handover_to,
                                battledger._battery_successor(b))::battledger.battery_fold_state
                       FROM battledger.battery_lifecycle(b) l
                      ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC LIMIT 1),
                    ROW(false, NULL, NULL, NULL, NULL, NULL)::battledger.battery_fold_state)
$$;
SELECT count(*) AS cache_disagrees FROM (SELECT DISTINCT battery_id FROM battledger.battery_event) b
 WHERE battledger._battery_state_cached(b.battery_id) IS DISTINCT FROM whole_state(b.battery_id);
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('F-1')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'occurred_at', '2026-03-01T00:00:00Z'));
DO $$
BEGIN
    FOR i IN 1..30 LOOP
        PERFORM ev(CASE WHEN i % 2 = 1 THEN 'cells.test' ELSE 'oem.test' END,
                   jsonb_build_object('battery_id', bid('F-1')::text, 'event', 'handover', 'occurred_at', '2026-03-01T00:00:00Z',
                                      'data', jsonb_build_object('to', CASE WHEN i % 2 = 1 THEN 'oem.test' ELSE 'cells.test' END, 'round', i)));
        PERFORM ev(CASE WHEN i % 2 = 1 THEN 'oem.test' ELSE 'cells.test' END,
                   jsonb_build_object('battery_id', bid('F-1')::text, 'event', 'handover_accepted', 'occurred_at', '2026-03-01T00:00:00Z',
                                      'data', jsonb_build_object('round', i)));
    END LOOP;
END $$;
SELECT n, (st).custodian FROM battledger.battery_fold_cache WHERE battery_id = bid('F-1');
-- a member that bypasses its rules appends an ineffective handover: it is
-- folded on from the cache, and the cached state is still the whole fold's
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT ev('only-cell_maker', jsonb_build_object('battery_id', bid('F-1')::text, 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb,
          'occurred_at', '2026-03-01T00:00:00Z'));
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('F-1')::text, 'event', 'quality_checked', 'occurred_at', '2026-03-02T00:00:00Z'));
SELECT n, (st).custodian FROM battledger.battery_fold_cache WHERE battery_id = bid('F-1');
SELECT (battledger._battery_state_cached(bid('F-1'))).custodian AS cached, (battery_state(bid('F-1'))).custodian AS folded;

-- 13. Readers on the cache (issue 15): battery_state(), and through it
-- passport(), read the rules' cache where it still holds, read-only, and come
-- to what the whole fold does
SELECT count(*) AS batteries, count(*) FILTER (WHERE ROW(s.manufactured, s.status, s.passport_id, s.custodian, s.handover_to)
                                    IS DISTINCT FROM ROW(w.manufactured, w.status, w.passport_id, w.custodian, w.handover_to)) AS state_differs
  FROM (SELECT DISTINCT battery_id FROM battledger.battery_event) b,
       battery_state(b.battery_id) s, whole_state(b.battery_id) w;
-- every battery's passport, each tier, with the cache and with none
CREATE TEMP TABLE with_cache AS
SELECT b, passport(b) AS pub, passport(b, 'legitimate_interest') AS li, passport(b, 'authority') AS au
  FROM (SELECT DISTINCT battery_id AS b FROM battledger.battery_event WHERE event = 'manufactured') x
 -- (a battery whose only manufacture the fold refuses, N-6, has no passport: red team r20, F1)
 WHERE (battery_state(b)).manufactured;
SELECT count(*) > 10 AS many_read_from_cache FROM with_cache w JOIN battledger.battery_fold_cache c ON c.battery_id = w.b;
BEGIN;
DELETE FROM battledger.battery_fold_cache;
SELECT count(*) > 10 AS passports,
       count(*) FILTER (WHERE (w.pub, w.li, w.au) IS DISTINCT FROM
                              (passport(w.b), passport(w.b, 'legitimate_interest'), passport(w.b, 'authority'))) AS passports_differ
  FROM with_cache w;
ROLLBACK;
-- the cache is what is read (F-1: 62 lifecycle events): a row altered by hand
-- (only a superuser can: the table has no grants) shows, until what it was
-- computed from changes; then the battery is folded whole again.  Since
-- 0.25.0 a member, key or namespace row voids only the caches whose folds
-- read that member, key or namespace (test/shell/fold_deps.sh): a new key
-- no row of F-1 names, a new member, a namespace not covering F-1 leave
-- the poisoned row showing; the same roles set again for a member whose
-- rows F-1's fold judged void it
CREATE FUNCTION poison() RETURNS text LANGUAGE sql AS $$
    UPDATE battledger.battery_fold_cache SET st.custodian = 'poisoned' WHERE battery_id = bid('F-1');
    SELECT custodian FROM battery_state(bid('F-1'))
$$;
BEGIN;
SELECT poison() AS poisoned_cache_read, (whole_state(bid('F-1'))).custodian AS whole_fold;
SAVEPOINT s;
SELECT add_key('oem.test', public_key(seed('oem.test/2'))) IS NOT NULL AS new_member_key;
SELECT custodian AS after_new_key, (whole_state(bid('F-1'))).custodian AS whole_fold FROM battery_state(bid('F-1'));
ROLLBACK TO s;
SELECT poison() AS poisoned_cache_read;
SELECT add_member('late.test', ARRAY['oem']) IS NOT NULL AS new_member;
SELECT custodian AS after_new_member FROM battery_state(bid('F-1'));
ROLLBACK TO s;
SELECT poison() AS poisoned_cache_read;
SELECT add_id_namespace('oem.test', 'gs1:4077777') IS NOT NULL AS new_namespace;
SELECT custodian AS after_new_namespace FROM battery_state(bid('F-1'));
ROLLBACK TO s;
SELECT poison() AS poisoned_cache_read;
SELECT count(set_member_roles(m.member, m.roles)) AS signer_roles_set_again
  FROM members m WHERE m.member = 'cells.test'
   AND 'm:cells.test' = ANY ((SELECT c.deps FROM battledger.battery_fold_cache c WHERE c.battery_id = bid('F-1'))::text[]);
SELECT custodian AS after_signer_roles, (whole_state(bid('F-1'))).custodian AS whole_fold FROM battery_state(bid('F-1'));
ROLLBACK TO s;
SELECT poison() AS poisoned_cache_read;
SELECT set_custody_from('2026-01-01') IS NOT NULL AS custody_changed;
SELECT custodian AS after_custody_change, (whole_state(bid('F-1'))).custodian AS whole_fold FROM battery_state(bid('F-1'));
ROLLBACK TO s;
-- a row arriving before the cache's horizon (as a member's replicated row
-- dated back does; here the horizon is moved past now instead)
SELECT poison() AS poisoned_cache_read;
UPDATE battledger.battery_fold_cache SET last_at = 'infinity' WHERE battery_id = bid('F-1');
SELECT custodian AS horizon_moved_no_new_row FROM battery_state(bid('F-1'));
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT ev('only-cell_maker', jsonb_build_object('battery_id', bid('F-1')::text, 'event', 'handover', 'data', '{"to": "oem.test", "late": true}'::jsonb,
          'occurred_at', '2026-03-01T00:00:00Z'));
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SELECT custodian AS after_row_before_horizon, (whole_state(bid('F-1'))).custodian AS whole_fold FROM battery_state(bid('F-1'));
ROLLBACK;
-- only the owner's passport functions and the roles reading the raw events
-- may read the cache, and nobody writes it through a reader
SELECT has_function_privilege('registry_reader', 'battledger._battery_state_read(battledger.battery_id)', 'EXECUTE') AS reader_may,
       has_function_privilege('registry_repairer', 'battledger._battery_state_read(battledger.battery_id)', 'EXECUTE') AS repairer_may,
       has_function_privilege('battledger_member', 'battledger._battery_state_read(battledger.battery_id)', 'EXECUTE') AS member_may;
SET ROLE registry_reader;
SELECT battledger._battery_state_read(bid('F-1'));
SELECT * FROM battery_state(bid('F-1'));
RESET ROLE;
SELECT p.provolatile, p.prosecdef, p.proconfig FROM pg_proc p WHERE p.oid = 'battledger._battery_state_read(battledger.battery_id)'::regprocedure;

-- 14. Tied issuing rows (red team r11, T1): registry order numbers rows per
-- chain, so one member's rows on two batteries can share (ledger_at,
-- ledger_origin, ledger_seq) (here: one statement, each battery's second
-- row; the member bypasses its rules, as a malicious one would).  battery_id
-- breaks the tie, in its own byte order: exactly one row holds the id, the
-- lower battery id's, whichever arrived first; the other is passport_taken.
-- A tied row that comes before the holder moves it (T-B's cache is voided),
-- one that comes after leaves the holder's cache standing (T-C).
SELECT ev('cells.test', jsonb_build_object('battery_id', bid(b)::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'occurred_at', '2026-06-01T00:00:00Z')) FROM unnest(ARRAY['T-A', 'T-B', 'T-C', 'T-D']) b;
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
CREATE TEMP TABLE tie_cache (step text, battery text, cached_passport text);
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT * FROM (VALUES ('P-TIE-1', 'T-B', 'T-A'), ('P-TIE-2', 'T-C', 'T-D')) v(id, first, second) LOOP
        PERFORM ev('cells.test', jsonb_build_object('battery_id', bid(p.first)::text, 'event', 'placed_on_market',
                   'passport_id', p.id, 'occurred_at', '2026-06-02T00:00:00Z'));
        PERFORM battledger._battery_state_cached(bid(p.first));   -- the first holds the id, and the cache says so
        INSERT INTO tie_cache SELECT 'before', p.first, (c.st).passport_id
          FROM battledger.battery_fold_cache c WHERE c.battery_id = bid(p.first);
        PERFORM ev('cells.test', jsonb_build_object('battery_id', bid(p.second)::text, 'event', 'placed_on_market',
                   'passport_id', p.id, 'occurred_at', '2026-06-02T00:00:00Z'));
    END LOOP;
END $$;
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SELECT * FROM tie_cache ORDER BY battery;
SELECT e.passport_id, count(DISTINCT (e.ledger_at, e.ledger_origin, e.ledger_seq)) AS registry_keys, count(*) AS issuing_rows
  FROM battledger.battery_event e WHERE e.passport_id IN ('P-TIE-1', 'P-TIE-2') GROUP BY 1 ORDER BY 1;
SELECT right(m.battery_id::text, 3) AS holder_moved_from, m.passport_id
  FROM battledger.passport_holder_moved m WHERE m.passport_id IN ('P-TIE-1', 'P-TIE-2') ORDER BY 1;
SELECT b, (battery_state(bid(b))).passport_id AS holds, (whole_state(bid(b))).passport_id AS whole_fold,
       battledger._battery_state_cached(bid(b)) IS NOT DISTINCT FROM whole_state(bid(b)) AS cache_agrees
  FROM unnest(ARRAY['T-A', 'T-B', 'T-C', 'T-D']) b ORDER BY b;
SELECT right(battery_id::text, 3) AS battery, event, problem, kind FROM registry_conflicts()
 WHERE battery_id::text ~ '/T-[A-D]$' ORDER BY 1;
-- the holder is found by one probe of battery_event_passport_holder, in the
-- fold's order (the index ends with battery_id, in its own opclass)
SELECT pg_get_indexdef('battledger.battery_event_passport_holder'::regclass) ~ 'ledger_seq, battery_id\)' AS index_breaks_ties;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF)
SELECT o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id FROM battledger.battery_event o
 WHERE o.passport_id = 'P-TIE-1'
   AND (o.event = 'placed_on_market' OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
 ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id LIMIT 1;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- The rules' verdict reaches only a writer that can sign as the key the row
-- names (red team r16b P2): a row naming the custodian's key with a bad
-- signature, none, or a batch that key did not sign here gets the chain
-- trigger's refusal whatever the battery's or lot's state; the same row
-- properly signed still gets the verdict.
CREATE FUNCTION p2(tbl regclass, m text, j jsonb, how text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    k hash256 := key_id(public_key(seed(m)));
    b battledger.battery_event;
    l battledger.lot_event;
    root hash256;
BEGIN
    BEGIN
        IF tbl = 'battledger.battery_event'::regclass THEN
            b := jsonb_populate_record(NULL::battledger.battery_event, j || jsonb_build_object('ledger_key_id', k::text));
            IF how = 'signed' THEN
                b.ledger_sig := sign(seed(m), signing_bytes(b));
            ELSIF how = 'zeros' THEN
                b.ledger_sig := decode(repeat('00', 64), 'hex');
            ELSIF how IN ('batch', 'batch-other-key', 'batch-unknown') THEN
                -- a batch of this one row, signed by m (or by only-oem's key)
                b.ledger_batch := 'p2-' || how;
                root := batch_root(ARRAY[sha256(signing_bytes(b))::hash256]);
                IF how <> 'batch-unknown' THEN
                    INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
                    SELECT b.ledger_batch, 'battledger.battery_event', key_id(public_key(seed(s))), 1, root,
                           sign(seed(s), batch_manifest('battledger.battery_event', b.ledger_batch, 1, root))
                      FROM (SELECT CASE how WHEN 'batch' THEN m ELSE 'only-oem' END) x(s);
                END IF;
            END IF;
            INSERT INTO battledger.battery_event SELECT b.*;
        ELSE
            l := jsonb_populate_record(NULL::battledger.lot_event, j || jsonb_build_object('ledger_key_id', k::text));
            l.ledger_sig := CASE how WHEN 'signed' THEN sign(seed(m), signing_bytes(l))
                                     WHEN 'zeros' THEN decode(repeat('00', 64), 'hex') END;
            INSERT INTO battledger.lot_event SELECT l.*;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'XX999';
    EXCEPTION WHEN OTHERS THEN
        RETURN CASE WHEN SQLSTATE = 'XX999' THEN 'accepted' ELSE SQLSTATE || ': ' || SQLERRM END;
    END;
END $$;
SELECT right(battery_at('P2-W', 'waste')::text, 4) AS battery, right(battery_at('P2-O', 'original', 'recycler.test')::text, 4) AS battery;
SELECT s.b AS battery, h.how,
       p2('battledger.battery_event', 'recycler.test',
          jsonb_build_object('battery_id', bid(s.b)::text, 'event', 'status_changed', 'new_status', 'waste',
                             'occurred_at', '2026-07-01T00:00:00Z'), h.how) AS result
  FROM unnest(ARRAY['P2-W', 'P2-O']) s(b),
       unnest(ARRAY['zeros', 'unsigned', 'batch-unknown', 'batch-other-key']) h(how)
 ORDER BY 2, 1;
-- signed, row by row or in its own batch: the verdict, as before
SELECT h.how, p2('battledger.battery_event', 'recycler.test',
                 jsonb_build_object('battery_id', bid('P2-W')::text, 'event', 'status_changed', 'new_status', 'waste',
                                    'occurred_at', '2026-07-01T00:00:00Z'), h.how) AS result
  FROM unnest(ARRAY['signed', 'batch']) h(how);
-- an unknown event kind and a component the signer does not hold: verdicts
-- only for the signed row (_battery_rules, _check_second_life)
SELECT h.how, p2('battledger.battery_event', 'cells.test',
                 jsonb_build_object('battery_id', bid('P2-X')::text, 'event', 'no_such_event',
                                    'occurred_at', '2026-07-01T00:00:00Z'), h.how) AS result
  FROM unnest(ARRAY['zeros', 'signed']) h(how);
SELECT h.how, p2('battledger.battery_event', 'cells.test',
                 jsonb_build_object('battery_id', bid('P2-PACK')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
                                    'data', jsonb_build_object('components', jsonb_build_array(bid('P2-W')::text)),
                                    'occurred_at', '2026-07-01T00:00:00Z'), h.how) AS result
  FROM unnest(ARRAY['zeros', 'signed']) h(how);
-- lots: a lot's custodian (BL032) and its kilograms left (BL033), through
-- _check_inputs() from a lot and from a battery, and a shipment
SELECT h.how, p2('battledger.lot_event', 'refiner.test',
                 '{"lot_id": "P2-CAM", "event": "processed", "material": "NMC", "mass_kg": 1,
                   "inputs": [{"lot": "CAM-1", "mass_kg": 1}], "occurred_at": "2026-07-01T00:00:00Z"}', h.how) AS result
  FROM unnest(ARRAY['zeros', 'unsigned', 'signed']) h(how);
SELECT h.how, p2('battledger.lot_event', 'refiner.test',
                 '{"lot_id": "P2-CAM", "event": "processed", "material": "NMC", "mass_kg": 1,
                   "inputs": [{"lot": "CL-LI-1", "mass_kg": 100000}], "occurred_at": "2026-07-01T00:00:00Z"}', h.how) AS result
  FROM unnest(ARRAY['zeros', 'signed']) h(how);
SELECT h.how, p2('battledger.battery_event', 'cells.test',
                 jsonb_build_object('battery_id', bid('P2-LOTS')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
                                    'lots', '[{"lot": "CL-LI-1", "mass_kg": 100000}]'::jsonb,
                                    'occurred_at', '2026-07-01T00:00:00Z'), h.how) AS result
  FROM unnest(ARRAY['zeros', 'signed']) h(how);
SELECT h.how, p2('battledger.lot_event', 'miner.test',
                 '{"lot_id": "CAM-1", "event": "shipped", "material": "NMC", "mass_kg": 1,
                   "counterparty": "cells.test", "occurred_at": "2026-07-01T00:00:00Z"}', h.how) AS result
  FROM unnest(ARRAY['zeros', 'signed']) h(how);
-- the checks are the rule triggers' to make: no role calls them
SELECT p.proname, has_function_privilege('public', p.oid, 'execute') AS public_may_execute
  FROM pg_proc p WHERE p.pronamespace = 'battledger'::regnamespace
   AND p.proname IN ('_row_signed', '_refuse_row', '_batch_open_here') ORDER BY 1;

-- _row_signed() is the chain trigger's own judgement (0.16.0, sign.c
-- judge_new_row()): for each kind of row, what it says and what the chain
-- trigger does with the same row must agree -- true exactly for the rows the
-- chain trigger accepts.  0.15.0's PL/pgSQL twin said true of a row signed
-- by a revoked key and of one signed by a member without the table's role.
SELECT add_key('recycler.test', public_key(seed('rs-revoked'))) IS NOT NULL AS key_added;
SELECT revoke_key(key_id(public_key(seed('rs-revoked'))), '2025-06-01 00:00+00');
CREATE TABLE rs (id int, v text);
SELECT enable_ledger('rs', signed => true, signer_roles => ARRAY['recycler']);
CREATE TABLE rs_other (id int, v text);
SELECT enable_ledger('rs_other', signed => true, signer_roles => ARRAY['recycler']);
-- a batch of rs filed, with its one row, by an earlier transaction: closed now
CREATE FUNCTION rs_batch(r rs, id text, signer text, for_tbl regclass DEFAULT 'rs') RETURNS rs LANGUAGE plpgsql AS $$
DECLARE root hash256;
BEGIN
    r.ledger_sig := NULL;
    r.ledger_batch := id;
    root := batch_root(ARRAY[sha256(signing_bytes(r))::hash256]);
    INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
    VALUES (id, for_tbl::text, key_id(public_key(seed(signer))), 1, root,
            sign(seed(signer), batch_manifest(for_tbl, id, 1, root)));
    RETURN r;
END $$;
DO $$
DECLARE r rs := jsonb_populate_record(NULL::rs, jsonb_build_object('id', 0, 'v', 'closed',
                                       'ledger_key_id', key_id(public_key(seed('recycler.test')))::text));
BEGIN
    r := rs_batch(r, 'rs-closed', 'recycler.test');
    INSERT INTO rs SELECT r.*;
END $$;
CREATE FUNCTION rs_case(how text) RETURNS TABLE (row_signed boolean, open_here boolean, chain_trigger text)
LANGUAGE plpgsql AS $$
DECLARE
    r rs;
    signer text := 'recycler.test';
BEGIN
    r := jsonb_populate_record(NULL::rs, '{"id": 1, "v": "a"}');
    IF how = 'revoked key' THEN signer := 'rs-revoked';
    ELSIF how = 'member without the role' THEN signer := 'only-oem';
    ELSIF how = 'unknown key' THEN signer := 'nobody';
    END IF;
    r.ledger_key_id := key_id(public_key(seed(signer)));
    r.ledger_sig := sign(seed(signer), signing_bytes(r));
    BEGIN
        CASE how
        WHEN 'signature over another value' THEN r.v := 'b';
        WHEN 'zeros' THEN r.ledger_sig := decode(repeat('00', 64), 'hex');
        WHEN '63 bytes' THEN r.ledger_sig := substr(r.ledger_sig, 1, 63);
        WHEN 'unsigned' THEN r.ledger_sig := NULL;
        WHEN 'no key id' THEN r.ledger_key_id := NULL;
        WHEN 'signature and batch' THEN r.ledger_batch := 'rs-open'; PERFORM rs_batch(r, 'rs-open', signer);
        WHEN 'batch' THEN r := rs_batch(r, 'rs-open', signer);
        WHEN 'batch of another key' THEN r := rs_batch(r, 'rs-open', 'only-recycler'); r.ledger_key_id := key_id(public_key(seed(signer)));
        WHEN 'batch of another table' THEN r := rs_batch(r, 'rs-open', signer, 'rs_other');
        WHEN 'unknown batch' THEN r.ledger_sig := NULL; r.ledger_batch := 'rs-no-such-batch';
        WHEN 'closed batch' THEN r.ledger_sig := NULL; r.ledger_batch := 'rs-closed';
        -- 200 characters of 3 bytes: filed, and joined (0.16.0 refused ids over 200 bytes)
        WHEN 'batch id of 200 multibyte characters' THEN r := rs_batch(r, repeat(chr(8364), 200), signer);
        WHEN 'batch id of 801 bytes' THEN r.ledger_sig := NULL; r.ledger_batch := repeat('x', 801);
        ELSE NULL;
        END CASE;
        row_signed := battledger._row_signed(r, 'rs');
        open_here := CASE WHEN r.ledger_batch IS NOT NULL
                          THEN battledger._batch_open_here(r.ledger_batch, 'rs', r.ledger_key_id) END;
        INSERT INTO rs SELECT r.*;
        RAISE EXCEPTION USING ERRCODE = 'XX999';
    EXCEPTION WHEN OTHERS THEN
        chain_trigger := CASE WHEN SQLSTATE = 'XX999' THEN 'accepted' ELSE SQLSTATE || ': ' || SQLERRM END;
    END;
    RETURN NEXT;
END $$;
SELECT c.how, s.row_signed, s.open_here, s.chain_trigger,
       s.row_signed = (s.chain_trigger = 'accepted') AS agree
  FROM unnest(ARRAY['signed', 'signature over another value', 'zeros', '63 bytes', 'unsigned', 'no key id',
                    'revoked key', 'member without the role', 'unknown key', 'signature and batch',
                    'batch', 'batch of another key', 'batch of another table', 'unknown batch',
                    'closed batch', 'batch id of 200 multibyte characters', 'batch id of 801 bytes']) WITH ORDINALITY c(how, n),
       LATERAL rs_case(c.how) s
 ORDER BY c.n;
-- what r must be: a row of the signed ledger table named
SELECT battledger._row_signed(jsonb_populate_record(NULL::rs_other, '{"id": 1}'), 'rs');
SELECT battledger._row_signed(1, 'rs');
SELECT battledger._row_signed(jsonb_populate_record(NULL::battledger.member_event, '{}'), 'battledger.member_event');

-- Red team r20: a passport shows what the fold accepted, not the rows it
-- judged ineffective.  F1: N-5 was made first by a member squatting under
-- cells.test's namespace (rules bypassed, dated 2026-01-01): its passport is
-- the real maker's (it showed the squatter's date, model and maker), and a
-- battery whose only manufacture is refused (N-6) has none.
SELECT passport(nid('N-5'))->'generalProductInformation'->'manufacturingDate' AS n5_made,
       (SELECT m.ledger_hash = (battledger._effective_manufacture(nid('N-5'))).ledger_hash
          FROM battledger.battery_event m, battledger._signer(m.ledger_key_id) s
         WHERE m.battery_id = nid('N-5') AND m.event = 'manufactured' AND s.member = 'cells.test') AS effective_is_cells;
SELECT passport('gs1:01/04099999000012/21/N-6');
-- F2, F3: a member that moves a battery it does not hold and reports events
-- its roles do not allow (rules bypassed): no passport in the history, not the
-- operator, no negative event, service date or repair
SELECT battery_at('R20-A', 'original') IS NOT NULL AS made;
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT ev('second.test', jsonb_build_object('battery_id', bid('R20-A')::text, 'event', 'status_changed', 'new_status', 're-used',
          'passport_id', 'R20-A/fake', 'occurred_at', '2025-01-01T00:00:00Z', 'data', '{"operator": {"name": "not the holder"}}'));
SELECT ev('recycler.test', jsonb_build_object('battery_id', bid('R20-A')::text, 'event', e, 'occurred_at', '2020-01-01T00:00:00Z',
          'data', '{"kind": "fire"}')) FROM unnest(ARRAY['negative_event', 'installed', 'repaired']) e;
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SELECT event, signer, problem, kind FROM registry_conflicts() WHERE battery_id = bid('R20-A') ORDER BY ledger_seq;
SELECT p->'passportId' AS passport, p->'passportHistory' AS history,
       p->'generalProductInformation'->'operatorInformation' AS operator,
       p->'generalProductInformation'->'puttingIntoService' AS in_service,
       p->'negativeEvents' AS negative_events, p->'secondLife'->'repairs' AS repairs
  FROM passport(bid('R20-A'), 'legitimate_interest') p;
-- F4: another member (an OEM, its rules followed) declaring cells.test's
-- model: refused (BL061); written anyway (rules bypassed), the passports of
-- cells.test's batteries of that model still show cells.test's declaration
SELECT battledger._model_holder('NMC-18650-2Ah') AS holder,
       try_model('only-oem', '{"model_id": "NMC-18650-2Ah", "manufacturer": "only-oem", "category": "ev",
           "chemistry": "LFP", "rated_capacity_ah": 9.9, "carbon_footprint_kg_co2e_per_kwh": 0.1}') AS redeclared,
       try_model('cells.test', '{"model_id": "NMC-18650-2Ah", "manufacturer": "cells.test", "category": "ev",
           "chemistry": "NMC (LiNiMnCoO2) / graphite", "rated_capacity_ah": 2.0, "carbon_footprint_kg_co2e_per_kwh": 61.2}') AS by_holder;
ALTER TABLE battledger.battery_model DISABLE TRIGGER battledger_rules;
SELECT model('only-oem', '{"model_id": "NMC-18650-2Ah", "manufacturer": "only-oem", "category": "ev",
    "chemistry": "LFP", "rated_capacity_ah": 9.9, "carbon_footprint_kg_co2e_per_kwh": 0.1}');
ALTER TABLE battledger.battery_model ENABLE TRIGGER battledger_rules;
SELECT p->'batteryChemistry' AS chemistry, p->'performance'->'rated'->'ratedCapacity' AS capacity,
       p->'carbonFootprint' AS footprint, p->'generalProductInformation'->'manufacturerIdentification' AS maker
  FROM passport(bid('R20-A')) p;
-- L1: a member that bypasses its rules "receives" a lot nobody shipped to
-- it: the lot stays its holder's (it was the last receiver's), who ships it
SELECT lot('miner.test', '{"lot_id": "R20-L", "event": "extracted", "material": "cobalt ore", "mass_kg": 10,
    "country": "CD", "occurred_at": "2024-01-01T00:00:00Z"}');
ALTER TABLE battledger.lot_event DISABLE TRIGGER battledger_rules;
SELECT lot('cells.test', '{"lot_id": "R20-L", "event": "received", "material": "cobalt ore", "mass_kg": 10,
    "occurred_at": "2024-01-02T00:00:00Z"}');
ALTER TABLE battledger.lot_event ENABLE TRIGGER battledger_rules;
SELECT lot_custodian('R20-L') AS after_unshipped_receipt;
SELECT lot('miner.test', '{"lot_id": "R20-L", "event": "shipped", "material": "cobalt ore", "mass_kg": 10,
    "counterparty": "refiner.test", "occurred_at": "2024-01-03T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "R20-L", "event": "received", "material": "cobalt ore", "mass_kg": 10,
    "counterparty": "miner.test", "occurred_at": "2024-01-04T00:00:00Z"}');
SELECT lot_custodian('R20-L') AS after_shipment;
-- ns21 (red team r21 F3): a model id or lot id in a registered namespace is
-- its member's.  A member bypassing its rules could date its row first
-- (its statement's start); here its row is simply written first.
CREATE FUNCTION try_lot(m text, j jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lot(m, j);
    RAISE EXCEPTION USING ERRCODE = 'XX999';
EXCEPTION WHEN OTHERS THEN
    RETURN CASE WHEN SQLSTATE = 'XX999' THEN 'ok' ELSE SQLSTATE END;
END $$;
SELECT _text_id_key(id) AS key FROM unnest(ARRAY['gs1:01/04012345000011', 'gs1:01/04012345000011/10/B7',
    'iso15459:UN/888888/M1', 'NMC-18650-2Ah', 'gs1:4012345', 'iso15459:UN/888888']) id;
-- a model declared before its id's namespace was registered keeps its first declarer
SELECT model('only-oem', '{"model_id": "iso15459:UN/888888/M1", "manufacturer": "only-oem", "category": "ev",
    "chemistry": "LFP", "rated_capacity_ah": 5}');
-- registering the namespace over it is refused, as over another member's
-- batteries (red team r22, N1); a registration made all the same (here by
-- the DBA's INSERT) leaves the model its declarer's, who declares it again
SELECT add_id_namespace('cells.test', 'iso15459:UN/888888');
INSERT INTO id_namespace (namespace, member) VALUES ('iso15459:UN/888888', 'cells.test');
SELECT _model_holder('iso15459:UN/888888/M1') AS declared_before_registration;
SELECT try_model('only-oem', '{"model_id": "iso15459:UN/888888/M1", "manufacturer": "only-oem", "category": "ev",
    "chemistry": "LFP", "rated_capacity_ah": 6}') AS holder_declares_again;
-- cells.test's namespace gs1:4012345: refused to another member's application
SELECT try_model('only-pack_maker', '{"model_id": "gs1:01/04012345000011", "manufacturer": "only-pack_maker", "category": "ev",
    "chemistry": "LFP", "rated_capacity_ah": 9.9}') AS foreign_model;
\set VERBOSITY default
SELECT model('only-pack_maker', '{"model_id": "gs1:01/04012345000011", "manufacturer": "only-pack_maker", "category": "ev",
    "chemistry": "LFP", "rated_capacity_ah": 9.9}');
\set VERBOSITY terse
-- written anyway, first: not the holder; the maker declares its model
ALTER TABLE battledger.battery_model DISABLE TRIGGER battledger_rules;
SELECT model('only-pack_maker', '{"model_id": "gs1:01/04012345000011", "manufacturer": "only-pack_maker", "category": "ev",
    "chemistry": "LFP", "rated_capacity_ah": 9.9}');
ALTER TABLE battledger.battery_model ENABLE TRIGGER battledger_rules;
SELECT try_model('cells.test', '{"model_id": "gs1:01/04012345000011", "manufacturer": "cells.test", "category": "ev",
    "chemistry": "NMC", "rated_capacity_ah": 2.5}') AS by_maker;
SELECT model('cells.test', '{"model_id": "gs1:01/04012345000011", "manufacturer": "cells.test", "category": "ev",
    "chemistry": "NMC", "rated_capacity_ah": 2.5}');
SELECT _model_holder('gs1:01/04012345000011') AS holder;
SELECT event, signer, problem, kind, message FROM registry_conflicts() WHERE event = 'battery_model' ORDER BY ledger_seq;
-- lots: miner.test's namespace iso15459:UN/777777
SELECT add_id_namespace('miner.test', 'iso15459:UN/777777');
SELECT try_lot('only-miner', '{"lot_id": "iso15459:UN/777777/LOT-2", "event": "extracted", "material": "cobalt ore", "mass_kg": 5,
    "occurred_at": "2024-01-01T00:00:00Z"}') AS foreign_lot;
ALTER TABLE battledger.lot_event DISABLE TRIGGER battledger_rules;
SELECT lot('only-miner', '{"lot_id": "iso15459:UN/777777/LOT-1", "event": "extracted", "material": "cobalt ore", "mass_kg": 1,
    "occurred_at": "2024-01-01T00:00:00Z"}');
ALTER TABLE battledger.lot_event ENABLE TRIGGER battledger_rules;
SELECT try_lot('miner.test', '{"lot_id": "iso15459:UN/777777/LOT-1", "event": "extracted", "material": "cobalt ore", "mass_kg": 100,
    "occurred_at": "2024-01-01T00:00:00Z"}') AS by_maker;
SELECT lot('miner.test', '{"lot_id": "iso15459:UN/777777/LOT-1", "event": "extracted", "material": "cobalt ore", "mass_kg": 100,
    "occurred_at": "2024-01-01T00:00:00Z"}');
SELECT lot_custodian('iso15459:UN/777777/LOT-1') AS custodian, lot_available_kg('iso15459:UN/777777/LOT-1') AS kg;
-- red team r20 L2: a member bypassing its rules "processes" a lot it does
-- not hold; the lot keeps its mass and its holder's uses pass
ALTER TABLE battledger.lot_event DISABLE TRIGGER battledger_rules;
SELECT lot('only-refiner', '{"lot_id": "NS21-STOLEN", "event": "processed", "material": "cobalt sulfate", "mass_kg": 100,
    "inputs": [{"lot": "iso15459:UN/777777/LOT-1", "mass_kg": 100}], "occurred_at": "2024-01-02T00:00:00Z"}');
ALTER TABLE battledger.lot_event ENABLE TRIGGER battledger_rules;
SELECT lot_available_kg('iso15459:UN/777777/LOT-1') AS kg_after_stolen;
SELECT lot('miner.test', '{"lot_id": "iso15459:UN/777777/LOT-1", "event": "shipped", "material": "cobalt ore", "mass_kg": 100,
    "counterparty": "refiner.test", "occurred_at": "2024-01-03T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "iso15459:UN/777777/LOT-1", "event": "received", "material": "cobalt ore", "mass_kg": 100,
    "counterparty": "miner.test", "occurred_at": "2024-01-04T00:00:00Z"}');
SELECT try_lot('refiner.test', '{"lot_id": "NS21-OUT", "event": "processed", "material": "cobalt sulfate", "mass_kg": 10,
    "inputs": [{"lot": "iso15459:UN/777777/LOT-1", "mass_kg": 101}], "occurred_at": "2024-01-05T00:00:00Z"}') AS too_much;
SELECT lot('refiner.test', '{"lot_id": "NS21-OUT", "event": "processed", "material": "cobalt sulfate", "mass_kg": 10,
    "inputs": [{"lot": "iso15459:UN/777777/LOT-1", "mass_kg": 10}], "occurred_at": "2024-01-05T00:00:00Z"}');
SELECT lot_available_kg('iso15459:UN/777777/LOT-1') AS kg;
SELECT event, signer, mass_kg, effective FROM _lot_consumers('iso15459:UN/777777/LOT-1');
SELECT event, signer, problem, kind, message FROM registry_conflicts()
 WHERE message LIKE '%UN/777777%' OR message LIKE '%R20-L%' ORDER BY ledger_seq, problem;
-- pp23: a passport id in a registered namespace (cells.test's gs1:4012345,
-- in any spelling battery ids accept) is held only by an issuing row its
-- namespace allows.  A member bypassing its rules could date its row first
-- (its statement's start); here its row is simply written first.
SELECT ev('cells.test', jsonb_build_object('battery_id', b::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'occurred_at', '2024-03-01T00:00:00Z'))
  FROM unnest(ARRAY[nid('PP-1'), bid('PP-O')]) b;
SELECT give(bid('PP-O'), 'cells.test', 'oem.test');
-- oem.test's application issuing one: refused, in every spelling
SELECT try_ev('oem.test', jsonb_build_object('battery_id', bid('PP-O')::text, 'event', 'placed_on_market', 'passport_id', p,
              'occurred_at', '2024-03-05T00:00:00Z')) AS foreign_passport_id, p
  FROM unnest(ARRAY['gs1:01/04012345000016/21/PP-1', '(01)04012345000016(21)PP-1',
                    'https://id.gs1.org/01/04012345000016/21/PP-1', 'gs1:01/04012345000016',
                    -- and what battery_id reads besides (red team r24, S1)
                    ' gs1:01/04012345000016/21/PP-1', E'(01)4012345000016(21)PP-1\n',
                    'https://id.gs1.org/01/%30%34%30%31%32%33%34%35%30%30%30%30%31%36/21/PP-1']) p;
\set VERBOSITY default
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('PP-O')::text, 'event', 'placed_on_market',
          'passport_id', 'gs1:01/04012345000016/21/PP-1', 'occurred_at', '2024-03-05T00:00:00Z'));
\set VERBOSITY terse
-- written anyway, first: it holds nothing, and its battery stays off the market
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('PP-O')::text, 'event', 'placed_on_market',
          'passport_id', 'gs1:01/04012345000016/21/PP-1', 'occurred_at', '2024-03-05T00:00:00Z'));
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SELECT _passport_holder('gs1:01/04012345000016/21/PP-1') AS holder_before_maker;
-- the namespace's member issues it, and holds it
SELECT try_ev('cells.test', jsonb_build_object('battery_id', nid('PP-1')::text, 'event', 'placed_on_market',
              'passport_id', 'gs1:01/04012345000016/21/PP-1', 'occurred_at', '2024-03-05T00:00:00Z')) AS by_maker;
SELECT ev('cells.test', jsonb_build_object('battery_id', nid('PP-1')::text, 'event', 'placed_on_market',
          'passport_id', 'gs1:01/04012345000016/21/PP-1', 'occurred_at', '2024-03-05T00:00:00Z'));
SELECT (_passport_holder('gs1:01/04012345000016/21/PP-1')).battery_id = nid('PP-1') AS maker_holds;
SELECT b = nid('PP-1') AS makers, s.status, s.passport_id, (whole_state(b)).passport_id IS NOT DISTINCT FROM s.passport_id AS cache_is_fold,
       passport(b)->>'passportId' AS passport
  FROM unnest(ARRAY[nid('PP-1'), bid('PP-O')]) b, battery_state(b) s;
SELECT event, signer, problem, kind, message FROM registry_conflicts()
 WHERE battery_id IN (nid('PP-1'), bid('PP-O')) ORDER BY ledger_seq;

-- _ns_candidates() stops at the longest namespace the table admits (48
-- characters): any role may call it, and a 100,000-character key took 22 s
-- of CPU (0.21.0).  Under a timeout so that a quadratic loop fails the test
-- rather than stalling it; the counts are what a bounded loop yields, and a
-- 48-character namespace is still a candidate of the ids under it.
SET statement_timeout = '5s';
SELECT cardinality(_ns_candidates(repeat('A/', 1000000))) AS slashes,
       cardinality(_ns_candidates('gs1:' || repeat('1', 1000000))) AS gs1,
       cardinality(_ns_candidates(repeat('é', 1000000))) AS multibyte,
       'iso15459:ABC/' || repeat('Z', 35) = ANY (_ns_candidates('iso15459:ABC/' || repeat('Z', 35) || '/S1')) AS longest_covers,
       (_key_claims(repeat('A/', 1000000))).members AS claims;
RESET statement_timeout;
