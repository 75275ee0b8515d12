-- A batch is named by its id and its signer's key (0.28.0, red team rt27
-- H6), as its rows name it (ledger_batch, ledger_key_id): each member picks
-- its own ids, and with ids one consortium-wide namespace an arriving batch
-- whose id another member had taken stopped the subscription
-- (duplicate_batch; test/shell/batch_names.sh shows it across members).
-- After batch_reread in REGRESS: its rows reach the log, whose leaf counts
-- log.sql checks.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS battledger_test_signer;   -- TEST ONLY
RESET client_min_messages;
SET search_path = public, battledger, battledger_test;
SELECT add_member('names1.example', ARRAY['fleet_operator']);
SELECT add_member('names2.example', ARRAY['fleet_operator']);
SELECT add_key('names1.example', public_key(seed('names1-1'))) IS NOT NULL AS names1_key;
SELECT add_key('names2.example', public_key(seed('names2-1'))) IS NOT NULL AS names2_key;
CREATE TABLE names_t (battery text, n int);
SELECT enable_ledger('names_t', 'battery', signed => true, signer_roles => ARRAY['fleet_operator']);
CREATE FUNCTION names_rows(seedname text, id text, n int) RETURNS SETOF names_t LANGUAGE sql AS $$
    SELECT jsonb_populate_record(NULL::names_t, jsonb_build_object(
               'battery', 'N' || (i % 3), 'n', i,
               'ledger_key_id', key_id(public_key(seed(seedname)))::text, 'ledger_batch', id))
      FROM generate_series(1, n) i
$$;
CREATE FUNCTION sign_names(seedname text, id text, n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    root hash256 := batch_root(ARRAY(SELECT sha256(signing_bytes(r))::hash256 FROM names_rows(seedname, id, n) r));
BEGIN
    INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
    VALUES (id, 'public.names_t', key_id(public_key(seed(seedname))), n, root,
            sign(seed(seedname), batch_manifest('public.names_t', id, n, root)));
END $$;

-- 1. two keys file one id, in two transactions, then both in one, with
-- different row counts: every batch is accepted, each counts its own rows
BEGIN;
SELECT sign_names('names1-1', 'upload-1', 2);
INSERT INTO names_t SELECT * FROM names_rows('names1-1', 'upload-1', 2);
COMMIT;
BEGIN;
SELECT sign_names('names2-1', 'upload-1', 3);
INSERT INTO names_t SELECT * FROM names_rows('names2-1', 'upload-1', 3);
COMMIT;
BEGIN;
SELECT sign_names('names1-1', 'shared', 3);
SELECT sign_names('names2-1', 'shared', 1);
INSERT INTO names_t SELECT * FROM names_rows('names1-1', 'shared', 3);
INSERT INTO names_t SELECT * FROM names_rows('names2-1', 'shared', 1);
COMMIT;
SELECT b.batch_id, k.member, b.row_count,
       (SELECT count(*) FROM names_t t WHERE t.ledger_batch = b.batch_id AND t.ledger_key_id = b.key_id) AS rows
  FROM battledger.batch b JOIN battledger.keys k USING (key_id)
 WHERE b.tbl = 'public.names_t' ORDER BY 1, 2;
SELECT count(*) AS problems FROM verify('names_t');

-- 2. under one key an id is filed once
SELECT sign_names('names2-1', 'upload-1', 1);

-- 3. a row missing from one key's batch is that batch's problem alone
BEGIN;
SELECT sign_names('names1-1', 'half', 2);
SELECT sign_names('names2-1', 'half', 2);
INSERT INTO names_t SELECT * FROM names_rows('names1-1', 'half', 2);
INSERT INTO names_t SELECT * FROM names_rows('names2-1', 'half', 1);
COMMIT;

-- 4. a row naming an id under a key that filed no batch of it: the
-- refusals say what they said when the id alone named a batch (this
-- transaction's batch signed by another key; another transaction's batch)
BEGIN;
SELECT sign_names('names1-1', 'mine', 1);
INSERT INTO names_t SELECT * FROM names_rows('names2-1', 'mine', 1);
ROLLBACK;
INSERT INTO names_t SELECT * FROM names_rows('names1-1', 'upload-1', 1);
INSERT INTO names_t SELECT * FROM names_rows('names1-1', 'never-filed', 1);

-- 5. an id of 200 two-byte characters: verify() finds its batch (until
-- 0.28.0 it looked batches up by the id's first 200 bytes and reported this
-- one unknown_batch)
BEGIN;
SELECT sign_names('names1-1', repeat('é', 200), 2);
INSERT INTO names_t SELECT * FROM names_rows('names1-1', repeat('é', 200), 2);
COMMIT;
SELECT octet_length(batch_id) AS id_bytes FROM battledger.batch WHERE batch_id = repeat('é', 200);

-- 6. a row written past the chain trigger (a superuser's restore mode)
-- onto one key's batch is that batch's extra row in verify(), and the other
-- key's batch of that id stays clean
BEGIN;
SET LOCAL battledger.restore = on;
DO $$
DECLARE r names_t := (SELECT x FROM names_rows('names2-1', 'upload-1', 1) x);
BEGIN
    r.battery := 'N9';
    r.ledger_origin := current_setting('battledger.origin');
    r.ledger_seq := 1;
    r.ledger_at := now();
    r.ledger_prev := repeat('00', 32);
    r.ledger_hash := chain_hash(r.ledger_prev, 1, row_bytes(r));
    INSERT INTO names_t SELECT r.*;
END $$;
COMMIT;
SELECT problem, detail FROM verify('names_t') WHERE problem LIKE 'batch%' ORDER BY problem, detail;
