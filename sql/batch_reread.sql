-- The commit check's re-read of a batch's rows (0.27.0: each row hashed as
-- the executor returns it, no SPI tuple table).  Last in REGRESS: its rows
-- reach the log, whose leaf counts log.sql checks.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS battledger_test_signer;   -- TEST ONLY
RESET client_min_messages;
SET search_path = public, battledger, battledger_test;
SELECT add_member('wideco.example', ARRAY['fleet_operator']);
SELECT add_key('wideco.example', public_key(seed('wideco-1'))) IS NOT NULL AS wide_key;

-- A batch of 600 rows, more than the reader frees its scratch memory after
-- (256), with a value stored out of line (TOAST) in every row, is accepted;
-- the same batch with one row's out-of-line value changed by one character
-- is refused at commit.
CREATE TABLE wide_t (battery text, n int, blob text);
ALTER TABLE wide_t ALTER COLUMN blob SET STORAGE EXTERNAL;
SELECT enable_ledger('wide_t', 'battery', signed => true, signer_roles => ARRAY['fleet_operator']);
CREATE FUNCTION wide_rows(id text, n int) RETURNS SETOF wide_t LANGUAGE sql AS $$
    SELECT jsonb_populate_record(NULL::wide_t, jsonb_build_object(
               'battery', 'W' || (i % 7), 'n', i,
               'blob', (SELECT string_agg(md5(i::text || '/' || j::text), '') FROM generate_series(1, 100) j),
               'ledger_key_id', key_id(public_key(seed('wideco-1')))::text, 'ledger_batch', id))
      FROM generate_series(1, n) i
$$;
CREATE FUNCTION sign_wide_batch(id text, n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    root hash256 := batch_root(ARRAY(SELECT sha256(signing_bytes(r))::hash256 FROM wide_rows(id, n) r));
BEGIN
    INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
    VALUES (id, 'public.wide_t', key_id(public_key(seed('wideco-1'))), n, root,
            sign(seed('wideco-1'), batch_manifest('public.wide_t', id, n, root)));
END $$;
BEGIN;
SELECT sign_wide_batch('wide-1', 600);
INSERT INTO wide_t SELECT * FROM wide_rows('wide-1', 600);
COMMIT;
SELECT count(*) AS wide_rows, min(length(blob)) AS blob_chars,
       pg_total_relation_size(reltoastrelid) > 600 * 3200 AS stored_out_of_line
  FROM wide_t, pg_class WHERE pg_class.oid = 'wide_t'::regclass GROUP BY reltoastrelid;
SELECT count(*) AS problems FROM verify('wide_t');
BEGIN;
SELECT sign_wide_batch('wide-2', 600);
INSERT INTO wide_t SELECT battery, n, CASE WHEN n = 599 THEN overlay(blob placing 'x' from 3000) ELSE blob END,
                          ledger_seq, ledger_prev, ledger_hash, ledger_key_id, ledger_sig, ledger_batch, ledger_at
  FROM wide_rows('wide-2', 600);
COMMIT;
SELECT count(*) AS wide_2_rows_stored FROM wide_t WHERE ledger_batch = 'wide-2';

-- The batch root does not depend on the order of the content hashes (0.27.0:
-- sorted by a merge sort of their first 8 bytes, memcmp on a tie): 2,000
-- hashes, 1,000 of them sharing their first 8 bytes, in three orders, against
-- the root computed by hand from the hashes sorted by SQL (bytea order is
-- memcmp's) and folded as RFC 6962 does.
CREATE TEMP TABLE h AS
SELECT i, (CASE WHEN i % 2 = 0 THEN '\x0102030405060708'::bytea || substr(sha256(int4send(i)), 9)
                ELSE sha256(int4send(i)) END) AS b
  FROM generate_series(1, 2000) i;
CREATE FUNCTION rfc6962_root(leaves bytea[]) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    n int := cardinality(leaves);
    k int := 1;
BEGIN
    IF n = 1 THEN RETURN sha256('\x00'::bytea || leaves[1]); END IF;
    WHILE k * 2 < n LOOP k := k * 2; END LOOP;
    RETURN sha256('\x01'::bytea || rfc6962_root(leaves[1:k]) || rfc6962_root(leaves[k + 1:n]));
END $$;
SELECT batch_root(ARRAY(SELECT b::hash256 FROM h ORDER BY i)) = batch_root(ARRAY(SELECT b::hash256 FROM h ORDER BY i DESC)) AS reversed_same,
       batch_root(ARRAY(SELECT b::hash256 FROM h ORDER BY md5(b::text))) = batch_root(ARRAY(SELECT b::hash256 FROM h ORDER BY i)) AS shuffled_same,
       batch_root(ARRAY(SELECT b::hash256 FROM h ORDER BY i))::text
       = encode(rfc6962_root(ARRAY(SELECT b FROM h ORDER BY b)), 'hex') AS as_rfc6962_over_sorted;
