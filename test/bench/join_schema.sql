-- test/bench/join_schema.sql — run on BOTH members by test/bench/join.sh
-- (publisher P and the joining member S), so their tables match:
--
--   the registry's own ledger tables (battledger.battery_event, ...), written
--   at P as a fleet operator's uploads: usage reports (soh_reported) in
--   signed batches, plus per-row-signed reports for the catch-up windows;
--   plain_event, plain_batch, plain_leaf, plain_checkpoint: the baseline,
--   the same columns and indexes as battledger.battery_event, .batch,
--   .log_leaf and .checkpoint (LIKE ... INCLUDING INDEXES) and no triggers,
--   filled at P with the same rows, replicated by a plain publication.
--
-- Plus, in schema "bench_join", the helpers (P: staging and loading; S: waiting).
CREATE EXTENSION IF NOT EXISTS battledger;
CREATE EXTENSION IF NOT EXISTS battledger_test_signer;   -- TEST ONLY: private keys in SQL
CREATE SCHEMA bench_join;

CREATE TABLE public.plain_event (LIKE battledger.battery_event INCLUDING INDEXES);
CREATE TABLE public.plain_batch (LIKE battledger.batch INCLUDING INDEXES);
CREATE TABLE public.plain_leaf (LIKE battledger.log_leaf INCLUDING INDEXES);
CREATE TABLE public.plain_checkpoint (LIKE battledger.checkpoint INCLUDING INDEXES);

CREATE FUNCTION bench_join.key(m text) RETURNS battledger.hash256 LANGUAGE sql IMMUTABLE AS $$
    SELECT battledger.key_id(battledger_test.public_key(battledger_test.seed(m))) $$;
CREATE FUNCTION bench_join.bid(i int) RETURNS battledger.battery_id LANGUAGE sql IMMUTABLE AS $$
    SELECT ('https://id.gs1.org/01/09521234567899/21/J' || i)::battledger.battery_id $$;
-- one signed event, as a member's application writes it
CREATE FUNCTION bench_join.ev(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event,
        j || jsonb_build_object('ledger_key_id', bench_join.key(m)::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r));
      INSERT INTO battledger.battery_event SELECT r.*; END $$;
CREATE FUNCTION bench_join.model(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_model := jsonb_populate_record(NULL::battledger.battery_model,
        j || jsonb_build_object('ledger_key_id', bench_join.key(m)::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r));
      INSERT INTO battledger.battery_model SELECT r.*; END $$;

-- P: the member, its model and `n` batteries in service (per-row signed).
CREATE FUNCTION bench_join.setup(m text, n int) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    PERFORM battledger.add_member(m, ARRAY['pack_maker', 'oem', 'fleet_operator']);
    PERFORM battledger.add_key(m, battledger_test.public_key(battledger_test.seed(m)));
    PERFORM bench_join.model(m, jsonb_build_object('model_id', 'J-1', 'manufacturer', m, 'category', 'ev',
            'chemistry', 'NMC / graphite', 'rated_capacity_ah', 60, 'nominal_voltage_v', 3.7, 'mass_kg', 0.9));
    PERFORM bench_join.ev(m, jsonb_build_object('battery_id', bench_join.bid(i)::text, 'event', e.event,
                'model_id', CASE WHEN e.event = 'manufactured' THEN 'J-1' END,
                'passport_id', CASE WHEN e.event = 'placed_on_market' THEN 'urn:bp:J' || i || ':1' END,
                'occurred_at', e.at))
      FROM generate_series(1, n) i,
           (VALUES (1, 'manufactured', '2025-01-01T00:00:00Z'), (2, 'placed_on_market', '2025-01-02T00:00:00Z'),
                   (3, 'installed', '2025-01-03T00:00:00Z')) e(k, event, at)
     ORDER BY i, e.k;
    RETURN (SELECT count(*) FROM battledger.battery_event);
END $$;

-- P, before anything is timed: the client's side of batch-signed uploads.
-- Batch b (1..nbatches) holds `per` usage reports of battery ((b - 1) % nbat) + 1;
-- content hash = SHA-256(signing_bytes(row)), root = batch_root(hashes),
-- Ed25519 over the v2 manifest (docs/signatures.md).
CREATE UNLOGGED TABLE bench_join.stage_event (tag text, batch_no int, seq int, battery_id battledger.battery_id,
    occurred_at timestamptz, data jsonb, ledger_key_id battledger.hash256, ledger_batch text, content_hash battledger.hash256,
    PRIMARY KEY (tag, batch_no, seq));
CREATE UNLOGGED TABLE bench_join.stage_batch (tag text, batch_no int, batch_id text, key_id battledger.hash256,
    row_count bigint, root battledger.hash256, sig bytea, PRIMARY KEY (tag, batch_no));
CREATE FUNCTION bench_join.stage(m text, p_tag text, nbatches int, per int, nbat int) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE kid battledger.hash256 := bench_join.key(m);
BEGIN
    INSERT INTO bench_join.stage_event
    SELECT p_tag, b, s, bench_join.bid((b - 1) % nbat + 1), t, d, kid, format('%s-%s', p_tag, b),
           sha256(battledger.signing_bytes(jsonb_populate_record(NULL::battledger.battery_event, jsonb_build_object(
               'battery_id', bench_join.bid((b - 1) % nbat + 1)::text, 'event', 'soh_reported', 'occurred_at', t,
               'data', d, 'ledger_key_id', kid::text, 'ledger_batch', format('%s-%s', p_tag, b)))))::battledger.hash256
      FROM generate_series(1, nbatches) b, generate_series(1, per) s,
           LATERAL (SELECT timestamptz '2026-01-01' + (b * per + s) * interval '1 second' AS t,
                           jsonb_build_object('soh_pct', 100 - (s % 300) * 0.1, 'cycles', s) AS d) x;
    INSERT INTO bench_join.stage_batch
    SELECT p_tag, batch_no, batch_id, kid, row_count, root,
           battledger_test.sign(battledger_test.seed(m), battledger.batch_manifest('battledger.battery_event', batch_id, row_count, root))
      FROM (SELECT e.batch_no, min(e.ledger_batch) AS batch_id, count(*) AS row_count,
                   battledger.batch_root(array_agg(e.content_hash)) AS root
              FROM bench_join.stage_event e WHERE e.tag = p_tag GROUP BY e.batch_no) x;
    RETURN (SELECT count(*) FROM bench_join.stage_event e WHERE e.tag = p_tag);
END $fn$;

-- P: the upload, one transaction per batch (manifest, then its rows).
CREATE PROCEDURE bench_join.load(p_tag text) LANGUAGE plpgsql AS $fn$
DECLARE b record;
BEGIN
    COMMIT;
    FOR b IN SELECT s.batch_no FROM bench_join.stage_batch s WHERE s.tag = p_tag ORDER BY 1 LOOP
        INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
        SELECT s.batch_id, 'battledger.battery_event', s.key_id, s.row_count, s.root, s.sig
          FROM bench_join.stage_batch s WHERE s.tag = p_tag AND s.batch_no = b.batch_no;
        INSERT INTO battledger.battery_event (battery_id, event, occurred_at, data, ledger_key_id, ledger_batch)
        SELECT e.battery_id, 'soh_reported', e.occurred_at, e.data, e.ledger_key_id, e.ledger_batch
          FROM bench_join.stage_event e WHERE e.tag = p_tag AND e.batch_no = b.batch_no ORDER BY e.seq;
        COMMIT;
    END LOOP;
END $fn$;

-- P: `n` per-row-signed usage reports (signed as the client would, one
-- Ed25519 signature per row), `per` rows per transaction, over `nbat` batteries.
CREATE PROCEDURE bench_join.load_signed(m text, n int, per int, nbat int) LANGUAGE plpgsql AS $fn$
BEGIN
    COMMIT;
    FOR k IN 0 .. (n - 1) / per LOOP
        PERFORM bench_join.ev(m, jsonb_build_object('battery_id', bench_join.bid((k * per + i) % nbat + 1)::text,
                    'event', 'soh_reported', 'occurred_at', clock_timestamp(),
                    'data', jsonb_build_object('soh_pct', 90 - i % 100 * 0.1, 'cycles', i)))
          FROM generate_series(1, least(per, n - k * per)) i;
        COMMIT;
    END LOOP;
END $fn$;

-- P: the baseline tables get exactly the rows the registry tables hold (every column).
CREATE FUNCTION bench_join.copy_plain() RETURNS bigint LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO public.plain_event SELECT * FROM battledger.battery_event e
     WHERE NOT EXISTS (SELECT 1 FROM public.plain_event p WHERE p.ledger_hash::text = e.ledger_hash::text);
    INSERT INTO public.plain_batch SELECT * FROM battledger.batch b
     WHERE NOT EXISTS (SELECT 1 FROM public.plain_batch p WHERE p.batch_id = b.batch_id);
    INSERT INTO public.plain_leaf SELECT * FROM battledger.log_leaf l
     WHERE l.leaf_index >= coalesce((SELECT max(leaf_index) + 1 FROM public.plain_leaf), 0);
    INSERT INTO public.plain_checkpoint SELECT * FROM battledger.checkpoint c
     WHERE c.tree_size > coalesce((SELECT max(tree_size) FROM public.plain_checkpoint), 0);
    RETURN (SELECT count(*) FROM public.plain_event);
END $fn$;
