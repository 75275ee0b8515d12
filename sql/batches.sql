-- Batch signatures: one signature over a manifest committing to many rows.
\set SHOW_CONTEXT never
CREATE EXTENSION IF NOT EXISTS battledger_test_signer;   -- TEST ONLY
SET search_path = public, battledger, battledger_test;

SELECT add_member('fleetco.example', ARRAY['fleet_operator']);
SELECT add_member('minerco.example', ARRAY['miner']);
SELECT add_key('fleetco.example', public_key(seed('fleetco-1'))) IS NOT NULL AS fleet_key;
SELECT add_key('minerco.example', public_key(seed('minerco-1'))) IS NOT NULL AS miner_key;
CREATE TABLE telemetry (battery text, cycle int, capacity_ah numeric);
SELECT enable_ledger('telemetry', 'battery', signed => true, signer_roles => ARRAY['fleet_operator']);

-- n rows of real NASA B0025 capacities for a batch, signed by seedname's key
CREATE FUNCTION batch_rows(seedname text, id text, n int) RETURNS SETOF telemetry LANGUAGE sql AS $$
    SELECT jsonb_populate_record(NULL::telemetry, jsonb_build_object(
               'battery', 'B0025', 'cycle', i,
               'capacity_ah', (ARRAY[1.8470, 1.8486, 1.8471, 1.8456, 1.8453, 1.8441, 1.8430, 1.8408])[i],
               'ledger_key_id', key_id(public_key(seed(seedname)))::text, 'ledger_batch', id))
      FROM generate_series(1, n) i
$$;
-- the member's side: hash each row's signing bytes, sign the manifest over their root
CREATE FUNCTION sign_batch(seedname text, id text, rows telemetry[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    root hash256 := batch_root(ARRAY(SELECT sha256(signing_bytes(r))::hash256 FROM unnest(rows) r));
BEGIN
    INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
    VALUES (id, 'public.telemetry', key_id(public_key(seed(seedname))), cardinality(rows), root,
            sign(seed(seedname), batch_manifest('public.telemetry', id, cardinality(rows), root)));
END $$;

-- the manifest bytes, exactly: v2 names the table (a copy cannot be filed for
-- another), v1 verifies batches filed before 0.3.0
SELECT batch_manifest('telemetry', 'b-1', 3, repeat('ab', 32)::hash256)
     = convert_to(E'battledger batch v2\n', 'UTF8') || '\x0010'::bytea || convert_to('public.telemetry', 'UTF8')
       || convert_to(E'b-1\n', 'UTF8') || '\x0000000000000003'::bytea || decode(repeat('ab', 32), 'hex')
       AS manifest_layout,
       batch_manifest('b-1', 3, repeat('ab', 32)::hash256)
     = convert_to(E'battledger batch v1\nb-1\n', 'UTF8') || '\x0000000000000003'::bytea || decode(repeat('ab', 32), 'hex')
       AS manifest_v1_layout;
-- batch_root is RFC 6962 over the sorted content hashes: order does not matter
SELECT batch_root(ARRAY[sha256('a')::hash256, sha256('b')::hash256])
     = batch_root(ARRAY[sha256('b')::hash256, sha256('a')::hash256]) AS order_free,
       batch_root(ARRAY[sha256('a')::hash256])
     = sha256('\x00'::bytea || sha256('a'))::hash256 AS one_leaf;

-- 1. a complete batch is accepted with one signature check
BEGIN;
SELECT sign_batch('fleetco-1', 'upload-1', ARRAY(SELECT batch_rows('fleetco-1', 'upload-1', 8)));
INSERT INTO telemetry SELECT * FROM batch_rows('fleetco-1', 'upload-1', 8);
COMMIT;
SELECT count(*) AS rows, count(ledger_sig) AS row_signatures, max(ledger_seq) AS head FROM telemetry;
SELECT count(*) AS problems FROM verify('telemetry');

-- 2. a batch missing a row is refused at commit
BEGIN;
SELECT sign_batch('fleetco-1', 'upload-2', ARRAY(SELECT batch_rows('fleetco-1', 'upload-2', 5)));
INSERT INTO telemetry SELECT * FROM batch_rows('fleetco-1', 'upload-2', 4);
COMMIT;

-- 3. a batch with an extra row is refused at commit
BEGIN;
SELECT sign_batch('fleetco-1', 'upload-3', ARRAY(SELECT batch_rows('fleetco-1', 'upload-3', 3)));
INSERT INTO telemetry SELECT * FROM batch_rows('fleetco-1', 'upload-3', 4);
COMMIT;

-- 4. an altered row (same count) is refused at commit
BEGIN;
SELECT sign_batch('fleetco-1', 'upload-4', ARRAY(SELECT batch_rows('fleetco-1', 'upload-4', 3)));
INSERT INTO telemetry SELECT battery, cycle, capacity_ah + 0.1, ledger_seq, ledger_prev, ledger_hash,
                             ledger_key_id, ledger_sig, ledger_batch, ledger_at
  FROM batch_rows('fleetco-1', 'upload-4', 3);
COMMIT;

-- 5. a row lost to a savepoint rollback leaves the batch incomplete
BEGIN;
SELECT sign_batch('fleetco-1', 'upload-5', ARRAY(SELECT batch_rows('fleetco-1', 'upload-5', 2)));
INSERT INTO telemetry SELECT * FROM batch_rows('fleetco-1', 'upload-5', 1);
SAVEPOINT s;
INSERT INTO telemetry SELECT * FROM batch_rows('fleetco-1', 'upload-5', 2) OFFSET 1;
ROLLBACK TO s;
COMMIT;

-- 6. rows cannot join a batch after its transaction, an unknown batch, or with another key
INSERT INTO telemetry SELECT * FROM batch_rows('fleetco-1', 'upload-1', 1);
INSERT INTO telemetry SELECT * FROM batch_rows('fleetco-1', 'no-such-batch', 1);
BEGIN;
SELECT sign_batch('fleetco-1', 'upload-6', ARRAY(SELECT batch_rows('fleetco-1', 'upload-6', 1)));
INSERT INTO telemetry SELECT * FROM batch_rows('minerco-1', 'upload-6', 1);
ROLLBACK;

-- 7. a batch with no rows; the manifest itself: bad signature, wrong role, not a signed table
SELECT sign_batch('fleetco-1', 'upload-7', ARRAY(SELECT batch_rows('fleetco-1', 'upload-7', 2)));
INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
VALUES ('upload-8', 'public.telemetry', key_id(public_key(seed('fleetco-1'))), 2, repeat('00', 32)::hash256,
        sign(seed('fleetco-1'), 'something else'));
SELECT sign_batch('minerco-1', 'upload-9', ARRAY(SELECT batch_rows('minerco-1', 'upload-9', 2)));
CREATE TABLE unsigned_t (x int);
INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
VALUES ('upload-10', 'public.unsigned_t', key_id(public_key(seed('fleetco-1'))), 1, repeat('00', 32)::hash256, '\x00');

-- 8. the check cannot be fired early and then outrun (SET CONSTRAINTS has nothing to fire)
BEGIN;
SELECT sign_batch('fleetco-1', 'upload-11', ARRAY(SELECT batch_rows('fleetco-1', 'upload-11', 2)));
INSERT INTO telemetry SELECT * FROM batch_rows('fleetco-1', 'upload-11', 2);
SET CONSTRAINTS ALL IMMEDIATE;
INSERT INTO telemetry SELECT battery, cycle + 100, capacity_ah, ledger_seq, ledger_prev, ledger_hash,
                             ledger_key_id, ledger_sig, ledger_batch, ledger_at
  FROM batch_rows('fleetco-1', 'upload-11', 1);
COMMIT;
-- 9. a batch rolled back to a savepoint cannot be joined afterwards
BEGIN;
SAVEPOINT s;
SELECT sign_batch('fleetco-1', 'upload-12', ARRAY(SELECT batch_rows('fleetco-1', 'upload-12', 1)));
ROLLBACK TO s;
INSERT INTO telemetry SELECT * FROM batch_rows('fleetco-1', 'upload-12', 1);
ROLLBACK;
-- 10. NULL columns are refused cleanly; the table name is stored resolved
INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
VALUES (NULL, 'x', repeat('00', 32)::hash256, 1, repeat('00', 32)::hash256, '\x00');
INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
VALUES ('b-null', NULL, repeat('00', 32)::hash256, 1, repeat('00', 32)::hash256, '\x00');
SELECT DISTINCT tbl FROM battledger.batch;

-- nothing from the refused batches remains; the table verifies
SELECT ledger_batch, count(*) FROM telemetry GROUP BY 1 ORDER BY 1;
SELECT batch_id, row_count FROM battledger.batch ORDER BY 1;
SELECT count(*) AS problems FROM verify('telemetry');

-- verify() re-checks batches: a superuser deleting one row of a committed batch
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE telemetry DISABLE TRIGGER USER;
DELETE FROM telemetry WHERE ledger_seq = 8;
SELECT * FROM verify('telemetry');
ROLLBACK;

-- 11. (issue 10) a row-level security policy cannot let an extra row ride on a
-- member's signed batch: the check reads every row, whoever inserts them
CREATE ROLE tele_app;
ALTER TABLE telemetry ENABLE ROW LEVEL SECURITY;
CREATE POLICY app_sees ON telemetry FOR SELECT TO tele_app USING (cycle <> 99);
CREATE POLICY app_adds ON telemetry FOR INSERT TO tele_app WITH CHECK (true);
GRANT SELECT, INSERT ON telemetry TO tele_app;
CREATE TABLE rls_rows AS
    SELECT * FROM batch_rows('fleetco-1', 'upload-rls', 3)
    UNION ALL SELECT (r).battery, 99, (r).capacity_ah, NULL, NULL, NULL, (r).ledger_key_id, NULL, 'upload-rls', NULL, NULL
      FROM (SELECT r FROM batch_rows('fleetco-1', 'upload-rls', 1) r) s;
GRANT SELECT ON rls_rows TO tele_app;
BEGIN;
SELECT sign_batch('fleetco-1', 'upload-rls', ARRAY(SELECT batch_rows('fleetco-1', 'upload-rls', 3)));
SET LOCAL ROLE tele_app;
INSERT INTO telemetry SELECT * FROM rls_rows;
SELECT count(*) AS rows_the_app_sees FROM telemetry WHERE ledger_batch = 'upload-rls';
COMMIT;
SELECT count(*) AS rls_rows_stored FROM telemetry WHERE ledger_batch = 'upload-rls';
DROP TABLE rls_rows;
DROP POLICY app_sees ON telemetry;
DROP POLICY app_adds ON telemetry;
ALTER TABLE telemetry DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON telemetry FROM tele_app;
DROP ROLE tele_app;

-- 12. (issue 10) verify() flags a row dated before its predecessor (the chain
-- trigger never writes one: such a row was written behind it, perhaps to be
-- judged by a key's validity at a time it did not exist), and verify_log()
-- flags a row added behind the guards that is neither sealed nor queued
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE telemetry DISABLE TRIGGER USER;
INSERT INTO telemetry
SELECT t.battery, 200, t.capacity_ah, t.ledger_seq + 1, t.ledger_hash,
       chain_hash(t.ledger_hash, t.ledger_seq + 1,
                  row_bytes(ROW(t.battery, 200, t.capacity_ah, t.ledger_seq + 1, t.ledger_hash, NULL, t.ledger_key_id,
                                NULL, t.ledger_batch, t.ledger_at - interval '1 hour', t.ledger_origin)::telemetry)),
       t.ledger_key_id, NULL, t.ledger_batch, t.ledger_at - interval '1 hour', t.ledger_origin
  FROM telemetry t ORDER BY t.ledger_seq DESC LIMIT 1;
SELECT seq, problem FROM verify('telemetry') ORDER BY seq, problem;
SELECT problem, ref FROM verify_log(true) WHERE problem = 'row_not_in_log';
ROLLBACK;

-- 13. (0.14.0) the commit check does not verify the manifest's signature a
-- second time when the batch row it re-reads holds the very bytes the insert
-- trigger verified; a row changed after that check is verified again at
-- commit and refused (here by a later BEFORE trigger a superuser added, named
-- to fire after the check and before the chain trigger, which swaps in
-- another signature by the same key)
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
CREATE FUNCTION swap_batch_sig() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sig := sign(seed('fleetco-1'), convert_to('not this manifest', 'UTF8'));
    RETURN NEW;
END $$;
CREATE TRIGGER battledger_batch_check_swap BEFORE INSERT ON battledger.batch FOR EACH ROW EXECUTE FUNCTION swap_batch_sig();
SELECT sign_batch('fleetco-1', 'upload-swapped', ARRAY(SELECT batch_rows('fleetco-1', 'upload-swapped', 3)));
INSERT INTO telemetry SELECT * FROM batch_rows('fleetco-1', 'upload-swapped', 3);
COMMIT;
SELECT count(*) AS swapped_rows_stored FROM telemetry WHERE ledger_batch = 'upload-swapped';
