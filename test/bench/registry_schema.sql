-- test/bench/registry_schema.sql — objects test/bench/registry.sh needs, in schema "bench_reg".
--
-- psql -d registry -v nasa_csv=/abs/path/nasa_pcoe_cycle_summary.csv -f registry_schema.sql
--
-- Members, keys, the battery model and the material lots are those of the
-- regression test (sql/registry.sql), with ".bench" members.  Usage data are
-- the real NASA PCoE measurements (data/nasa, demo/nasa_usage.sql), copied
-- into bench_reg.nasa_usage; nothing here invents a measurement.
--
-- Everything a member's client does before uploading — content hashes,
-- Merkle roots, batch signatures, salts and commitments — is done here, by
-- bench_reg.stage(), into unlogged staging tables, BEFORE anything is timed.
-- bench_reg.load() then replays an upload the way a client sends it: per
-- batch, one transaction of
--     INSERT INTO battledger.disclosure ...;   -- the commitments' cleartext
--     INSERT INTO battledger.batch ...;        -- the signed manifest
--     INSERT INTO battledger.battery_event ...;-- the batch's rows
--     COMMIT;                                  -- the deferred batch check
\set ON_ERROR_STOP on
CREATE SCHEMA bench_reg;

-- TEST ONLY: members whose private key seed is SHA-256 of their name (test/signer).
SELECT count(*) AS members FROM (
    SELECT battledger.add_member(m, r),
           battledger.add_key(m, battledger_test.public_key(battledger_test.seed(m)))
      FROM (VALUES ('miner.bench', ARRAY['miner']), ('refiner.bench', ARRAY['refiner']),
                   ('cells.bench', ARRAY['cell_maker', 'pack_maker']), ('oem.bench', ARRAY['oem']),
                   ('fleet.bench', ARRAY['fleet_operator'])) v(m, r)) x;

CREATE FUNCTION bench_reg.key(m text) RETURNS battledger.hash256 LANGUAGE sql IMMUTABLE AS $$
    SELECT battledger.key_id(battledger_test.public_key(battledger_test.seed(m))) $$;
CREATE FUNCTION bench_reg.bid(serial text) RETURNS battledger.battery_id LANGUAGE sql IMMUTABLE AS $$
    SELECT ('https://id.gs1.org/01/09521234567899/21/' || serial)::battledger.battery_id $$;

-- A member's application for single events (as sql/registry.sql): key id, sign, insert.
CREATE FUNCTION bench_reg.lot(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.lot_event := jsonb_populate_record(NULL::battledger.lot_event, j || jsonb_build_object('ledger_key_id', bench_reg.key(m)::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.lot_event SELECT r.*; END $$;
CREATE FUNCTION bench_reg.ev(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, j || jsonb_build_object('ledger_key_id', bench_reg.key(m)::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.battery_event SELECT r.*; END $$;
CREATE FUNCTION bench_reg.model(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_model := jsonb_populate_record(NULL::battledger.battery_model, j || jsonb_build_object('ledger_key_id', bench_reg.key(m)::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.battery_model SELECT r.*; END $$;

-- The model and the lot chain of sql/registry.sql (mine -> refiner -> cathode material -> cell maker).
SELECT bench_reg.model('cells.bench', '{"model_id": "NMC-18650-2Ah", "manufacturer": "cells.bench", "category": "ev",
    "chemistry": "NMC (LiNiMnCoO2) / graphite", "rated_capacity_ah": 2.0, "nominal_voltage_v": 3.7,
    "min_voltage_v": 2.7, "max_voltage_v": 4.2, "rated_energy_kwh": 0.0074, "mass_kg": 0.045,
    "expected_lifetime_cycles": 500, "capacity_threshold_pct": 70, "carbon_footprint_kg_co2e_per_kwh": 61.2,
    "materials": {"cathode": "NMC", "anode": "graphite", "criticalRawMaterials": ["cobalt", "lithium", "nickel", "natural graphite"]},
    "recycled_content": {"cobalt": {"preConsumerShare": 4, "postConsumerShare": 12}}}');
SELECT bench_reg.lot('miner.bench', '{"lot_id": "CL-LI-1", "event": "extracted", "material": "lithium carbonate", "mass_kg": 1000, "country": "CL", "facility": "mine:salar-de-atacama", "occurred_at": "2024-01-05T00:00:00Z"}');
SELECT bench_reg.lot('miner.bench', '{"lot_id": "CD-CO-1", "event": "extracted", "material": "cobalt hydroxide", "mass_kg": 500, "country": "CD", "facility": "mine:kolwezi", "occurred_at": "2024-01-06T00:00:00Z"}');
SELECT bench_reg.lot('miner.bench', '{"lot_id": "CL-LI-1", "event": "shipped", "material": "lithium carbonate", "mass_kg": 1000, "counterparty": "refiner.bench", "occurred_at": "2024-01-07T00:00:00Z"}');
SELECT bench_reg.lot('refiner.bench', '{"lot_id": "CL-LI-1", "event": "received", "material": "lithium carbonate", "mass_kg": 1000, "counterparty": "miner.bench", "occurred_at": "2024-01-08T00:00:00Z"}');
SELECT bench_reg.lot('miner.bench', '{"lot_id": "CD-CO-1", "event": "shipped", "material": "cobalt hydroxide", "mass_kg": 500, "counterparty": "refiner.bench", "occurred_at": "2024-01-07T00:00:00Z"}');
SELECT bench_reg.lot('refiner.bench', '{"lot_id": "CD-CO-1", "event": "received", "material": "cobalt hydroxide", "mass_kg": 500, "counterparty": "miner.bench", "occurred_at": "2024-01-08T00:00:00Z"}');
SELECT bench_reg.lot('refiner.bench', '{"lot_id": "CAM-1", "event": "processed", "material": "NMC cathode active material", "mass_kg": 850, "inputs": [{"lot": "CL-LI-1", "mass_kg": 600}, {"lot": "CD-CO-1", "mass_kg": 300}], "occurred_at": "2024-02-01T00:00:00Z"}');
SELECT bench_reg.lot('refiner.bench', '{"lot_id": "CAM-1", "event": "shipped", "material": "NMC cathode active material", "mass_kg": 850, "counterparty": "cells.bench", "occurred_at": "2024-02-02T00:00:00Z"}');
SELECT bench_reg.lot('cells.bench', '{"lot_id": "CAM-1", "event": "received", "material": "NMC cathode active material", "mass_kg": 850, "counterparty": "refiner.bench", "occurred_at": "2024-02-03T00:00:00Z"}');

-- The real usage reports, one per NASA measurement (demo/nasa_usage.sql leaves a temp table).
\ir ../../demo/nasa_usage.sql
CREATE TABLE bench_reg.nasa_usage AS SELECT * FROM nasa_usage;
ALTER TABLE bench_reg.nasa_usage ADD PRIMARY KEY (cell, seq);

-- A battery from manufacture to service (per-row signatures, as sql/registry.sql):
-- manufactured (optionally from lot CAM-1, 0.011 kg as in the test), handed to the car maker,
-- placed on the market, installed.
CREATE FUNCTION bench_reg.place(serial text, with_lots boolean DEFAULT false) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM bench_reg.ev('cells.bench', jsonb_strip_nulls(jsonb_build_object('battery_id', bench_reg.bid(serial)::text,
        'event', 'manufactured', 'model_id', 'NMC-18650-2Ah', 'occurred_at', '2009-01-15T00:00:00Z',
        'lots', CASE WHEN with_lots THEN '[{"lot": "CAM-1", "mass_kg": 0.011}]'::jsonb END,
        'data', '{"facility": "gln:0614141000012"}'::jsonb)));
    -- custody (0.4.0): the maker hands the battery to the car maker, which accepts it
    PERFORM bench_reg.ev('cells.bench', jsonb_build_object('battery_id', bench_reg.bid(serial)::text, 'event', 'handover',
        'data', '{"to": "oem.bench"}'::jsonb, 'occurred_at', '2009-01-20T00:00:00Z'));
    PERFORM bench_reg.ev('oem.bench', jsonb_build_object('battery_id', bench_reg.bid(serial)::text, 'event', 'handover_accepted',
        'occurred_at', '2009-01-20T00:00:00Z'));
    PERFORM bench_reg.ev('oem.bench', jsonb_build_object('battery_id', bench_reg.bid(serial)::text, 'event', 'placed_on_market',
        'passport_id', 'urn:bp:' || serial || ':1', 'occurred_at', '2009-02-01T00:00:00Z'));
    PERFORM bench_reg.ev('fleet.bench', jsonb_build_object('battery_id', bench_reg.bid(serial)::text, 'event', 'installed',
        'occurred_at', '2009-02-10T00:00:00Z'));
END $$;

-- ---------------------------------------------------------------------------
-- Staging: the client's side, done before anything is timed.
-- ---------------------------------------------------------------------------
CREATE UNLOGGED TABLE bench_reg.stage_event (
    load          text NOT NULL,      -- which upload: r1, r2, ... (fleet), x1, x2 (one long battery)
    batch_no      int NOT NULL,
    seq           int NOT NULL,       -- the NASA measurement's seq within its cell
    cell          text NOT NULL,
    battery_id    battledger.battery_id NOT NULL,
    event         text NOT NULL,
    occurred_at   timestamptz NOT NULL,
    restricted    battledger.hash256 NOT NULL,
    ledger_key_id battledger.hash256 NOT NULL,
    ledger_batch  text NOT NULL,
    salt          bytea NOT NULL,
    value         jsonb NOT NULL,
    content_hash  battledger.hash256 NOT NULL,
    PRIMARY KEY (load, batch_no, seq));
CREATE UNLOGGED TABLE bench_reg.stage_batch (
    load      text NOT NULL,
    batch_no  int NOT NULL,
    batch_id  text NOT NULL UNIQUE,
    key_id    battledger.hash256 NOT NULL,
    row_count bigint NOT NULL,
    root      battledger.hash256 NOT NULL,
    sig       bytea NOT NULL,
    PRIMARY KEY (load, batch_no));

-- stage(load, serial, copies): the fleet operator's upload of the NASA file.
--   serial NULL: one battery per cell (serial <cell>-<LOAD>), one batch per cell;
--   serial given: every cell's reports, in cell order, `copies` times over, for
--                 that one battery, one batch per cell and copy.
-- Per docs/signatures.md: content hash = SHA-256(signing_bytes(row)) (the row
-- built as battledger.battery_event, so its signing bytes name that table),
-- root = batch_root(hashes), Ed25519 over
-- batch_manifest('battledger.battery_event', batch_id, row_count, root): the
-- v2 manifest, which names the table the batch is for.
-- Salts are reproducible (TEST ONLY, as sql/registry.sql): SHA-256(batch_id || ':' || seq).
CREATE FUNCTION bench_reg.stage(p_load text, p_serial text DEFAULT NULL, copies int DEFAULT 1) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    m text := 'fleet.bench';
    kid battledger.hash256 := bench_reg.key(m);
    n bigint;
BEGIN
    INSERT INTO bench_reg.stage_event
    SELECT p_load, b.batch_no, u.seq, u.cell, b.battery, 'soh_reported', u.measured_at, c.restricted, kid, b.batch_id,
           s.salt, u.value,
           sha256(battledger.signing_bytes(jsonb_populate_record(NULL::battledger.battery_event, jsonb_build_object(
               'battery_id', b.battery::text, 'event', 'soh_reported', 'occurred_at', u.measured_at,
               'restricted', c.restricted::text, 'ledger_key_id', kid::text, 'ledger_batch', b.batch_id))))::battledger.hash256
      FROM (SELECT row_number() OVER (ORDER BY k, cell)::int AS batch_no, cell,
                   bench_reg.bid(coalesce(p_serial, cell || '-' || upper(p_load))) AS battery,
                   format('fleet-%s-%s-%s', p_load, k, cell) AS batch_id
              FROM (SELECT DISTINCT cell FROM bench_reg.nasa_usage) cells, generate_series(1, copies) k) b
      JOIN bench_reg.nasa_usage u ON u.cell = b.cell
     CROSS JOIN LATERAL (SELECT sha256(convert_to(b.batch_id || ':' || u.seq, 'UTF8')) AS salt) s
     CROSS JOIN LATERAL (SELECT battledger.commitment(s.salt, u.value) AS restricted) c;
    INSERT INTO bench_reg.stage_batch
    SELECT p_load, batch_no, batch_id, kid, row_count, root,
           battledger_test.sign(battledger_test.seed(m),
                                battledger.batch_manifest('battledger.battery_event', batch_id, row_count, root))
      FROM (SELECT e.batch_no, min(e.ledger_batch) AS batch_id, count(*) AS row_count,
                   battledger.batch_root(array_agg(e.content_hash)) AS root
              FROM bench_reg.stage_event e WHERE e.load = p_load GROUP BY e.batch_no) x;
    SELECT count(*) INTO n FROM bench_reg.stage_event e WHERE e.load = p_load;
    RETURN n;
END $fn$;

-- ---------------------------------------------------------------------------
-- The timed upload.
-- ---------------------------------------------------------------------------
-- A plain table with battery_event's columns (LIKE: no index, no constraint but
-- NOT NULL, no trigger); the columns the server fills on a ledger table
-- (ledger_seq, _prev, _hash, _at) are left NULL.  Likewise for disclosure.
CREATE FUNCTION bench_reg.make_plain(sfx text) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format('CREATE TABLE bench_reg.%I (LIKE battledger.battery_event)', 'plain_event_' || sfx);
    EXECUTE format('ALTER TABLE bench_reg.%I ALTER ledger_seq DROP NOT NULL, ALTER ledger_prev DROP NOT NULL,
                    ALTER ledger_hash DROP NOT NULL, ALTER ledger_at DROP NOT NULL, ALTER ledger_origin DROP NOT NULL', 'plain_event_' || sfx);
    EXECUTE format('CREATE TABLE bench_reg.%I (LIKE battledger.disclosure)', 'plain_disclosure_' || sfx);
END $fn$;

-- load(load, events, disclosures, batches): replay staged upload `load`, one
-- transaction per batch, into table `events` (battledger.battery_event or a
-- plain copy), its cleartext into `disclosures` (NULL: none) and, if
-- `batches`, its signed manifests into battledger.batch.  CALL it outside a
-- transaction block.  ms is from before the first batch to after the last
-- COMMIT; the other outputs split it by statement (commit_ms: the COMMITs,
-- where the deferred batch check re-reads the rows, and the WAL flush).
CREATE PROCEDURE bench_reg.load(p_load text, events text, disclosures text, batches boolean,
                                INOUT ms numeric DEFAULT NULL, INOUT disclosure_ms numeric DEFAULT NULL,
                                INOUT batch_ms numeric DEFAULT NULL, INOUT events_ms numeric DEFAULT NULL,
                                INOUT commit_ms numeric DEFAULT NULL, INOUT n_events bigint DEFAULT NULL)
LANGUAGE plpgsql AS $fn$
DECLARE
    nbatches int := (SELECT count(*) FROM bench_reg.stage_batch s WHERE s.load = p_load);
    ins_disc text;
    ins_ev text;
    t0 timestamptz;
    t timestamptz;
    d interval := '0'; bt interval := '0'; ev interval := '0'; cm interval := '0';
    k bigint;
BEGIN
    ins_disc := format('INSERT INTO %s (commitment, tier, salt, value)
                        SELECT restricted, ''legitimate_interest'', salt, value
                          FROM bench_reg.stage_event WHERE load = $1 AND batch_no = $2 ORDER BY seq', disclosures);
    ins_ev := format('INSERT INTO %s (battery_id, event, occurred_at, restricted, ledger_key_id, ledger_batch)
                      SELECT battery_id, event, occurred_at, restricted, ledger_key_id, ledger_batch
                        FROM bench_reg.stage_event WHERE load = $1 AND batch_no = $2 ORDER BY seq', events);
    n_events := 0;
    COMMIT;
    t0 := clock_timestamp();
    FOR b IN 1 .. nbatches LOOP
        t := clock_timestamp();
        IF disclosures IS NOT NULL THEN
            EXECUTE ins_disc USING p_load, b;
        END IF;
        d := d + (clock_timestamp() - t); t := clock_timestamp();
        IF batches THEN
            INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
            SELECT s.batch_id, 'battledger.battery_event', s.key_id, s.row_count, s.root, s.sig
              FROM bench_reg.stage_batch s WHERE s.load = p_load AND s.batch_no = b;
        END IF;
        bt := bt + (clock_timestamp() - t); t := clock_timestamp();
        EXECUTE ins_ev USING p_load, b;
        GET DIAGNOSTICS k = ROW_COUNT;
        n_events := n_events + k;
        ev := ev + (clock_timestamp() - t); t := clock_timestamp();
        COMMIT;
        cm := cm + (clock_timestamp() - t);
    END LOOP;
    ms := round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
    disclosure_ms := round(extract(epoch FROM d)::numeric * 1000, 1);
    batch_ms := round(extract(epoch FROM bt)::numeric * 1000, 1);
    events_ms := round(extract(epoch FROM ev)::numeric * 1000, 1);
    commit_ms := round(extract(epoch FROM cm)::numeric * 1000, 1);
END $fn$;

-- ---------------------------------------------------------------------------
-- Reading, timed inside the server (no client round trip): `calls` calls of
-- `stmt` with $1 = battery; median and p95 in microseconds.  Plans inside
-- passport() etc. are cached by the session after the first call.
-- ---------------------------------------------------------------------------
-- This backend's CPU time so far (user + system), in clock ticks (/proc/self/stat
-- fields 14 and 15; the fields after the command name's closing parenthesis).
-- (SECURITY DEFINER: pg_read_file is the superuser's; the RLS reader calls it too)
CREATE FUNCTION bench_reg.cpu_ticks() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS $$
    SELECT f[12]::bigint + f[13]::bigint
      FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) x
$$;
-- cpu_us: the backend's CPU time (user + system) per call over all the calls,
-- at the kernel's tick resolution (ticks per second: tick_hz) — not inflated
-- by waiting for a CPU on a shared machine, as the wall-clock figures are.
CREATE FUNCTION bench_reg.time_calls(stmt text, battery battledger.battery_id, calls int, tick_hz int,
                                     OUT median_us numeric, OUT p95_us numeric, OUT cpu_us numeric)
LANGUAGE plpgsql AS $fn$
DECLARE
    t timestamptz;
    us numeric[] := '{}';
    c0 bigint;
BEGIN
    EXECUTE stmt USING battery;         -- warm the session's caches once, untimed
    c0 := bench_reg.cpu_ticks();
    FOR i IN 1 .. calls LOOP
        t := clock_timestamp();
        EXECUTE stmt USING battery;
        us := us || round(extract(epoch FROM clock_timestamp() - t)::numeric * 1e6, 1);
    END LOOP;
    cpu_us := round((bench_reg.cpu_ticks() - c0) * 1e6 / tick_hz / calls, 0);
    SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY x), percentile_disc(0.95) WITHIN GROUP (ORDER BY x)
      INTO median_us, p95_us FROM unnest(us) x;
END $fn$;

-- verify() / verify_log() timing: milliseconds and the problems reported (kept in verify_out).
CREATE UNLOGGED TABLE bench_reg.verify_out (what text, run int, problem text, detail text);
CREATE FUNCTION bench_reg.time_verify(tbl regclass, run int, OUT ms numeric, OUT problems bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    INSERT INTO bench_reg.verify_out
    SELECT 'verify(' || tbl::text || ')', run, v.problem, format('%s #%s: %s', v.chain_key, v.seq, v.detail)
      FROM battledger.verify(tbl) v;
    GET DIAGNOSTICS problems = ROW_COUNT;
    ms := round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
END $fn$;
CREATE FUNCTION bench_reg.time_verify_log(run int, OUT ms numeric, OUT problems bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    INSERT INTO bench_reg.verify_out
    SELECT 'verify_log()', run, v.problem, format('%s: %s', v.ref, v.detail) FROM battledger.verify_log() v;
    GET DIAGNOSTICS problems = ROW_COUNT;
    ms := round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
END $fn$;
