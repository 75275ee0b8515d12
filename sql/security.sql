-- The trust boundary (issue 10, docs/security.md): what a plain role, a
-- table owner who is not superuser, and a superuser behind the guards can
-- no longer do.  Every case here succeeded or crashed the server on 0.2.0.
\set SHOW_CONTEXT never
SET search_path = public, battledger;
CREATE ROLE sec_owner;
CREATE ROLE sec_plain;
GRANT CREATE ON SCHEMA public TO sec_owner;

-- 1. A table owner cannot attach the ledger's trigger functions to a table
-- of their own making (on 0.2.0 these crashed the server on the INSERT).
SET ROLE sec_owner;
CREATE TABLE j (ledger_seq bigint, ledger_prev int, ledger_hash int);
CREATE TRIGGER t AFTER INSERT ON j REFERENCING NEW TABLE AS n
    FOR EACH STATEMENT EXECUTE FUNCTION battledger._log_trigger();
CREATE TRIGGER t BEFORE INSERT ON j FOR EACH ROW EXECUTE FUNCTION battledger._chain_trigger();
CREATE TRIGGER t BEFORE INSERT ON j FOR EACH ROW EXECUTE FUNCTION battledger._arrive_trigger();
CREATE TRIGGER t BEFORE INSERT ON j FOR EACH ROW EXECUTE FUNCTION battledger._peer_leaf_trigger();
RESET ROLE;
-- attached by a superuser anyway, each is a clean error, not a crash
CREATE TRIGGER t AFTER INSERT ON j REFERENCING NEW TABLE AS n
    FOR EACH STATEMENT EXECUTE FUNCTION battledger._log_trigger();
INSERT INTO j VALUES (1, 1, 1);
DROP TRIGGER t ON j;
CREATE TRIGGER t BEFORE INSERT ON j FOR EACH ROW EXECUTE FUNCTION battledger._peer_leaf_trigger();
INSERT INTO j VALUES (1, 1, 1);
DROP TRIGGER t ON j;
CREATE TABLE k (ledger_seq text, ledger_prev text, ledger_hash text, ledger_origin text COLLATE "C");
CREATE UNIQUE INDEX k_chain ON k (ledger_origin, ledger_seq);
CREATE TRIGGER t BEFORE INSERT ON k FOR EACH ROW EXECUTE FUNCTION battledger._chain_trigger();
INSERT INTO k VALUES ('1', 'x', 'y', '');
DROP TRIGGER t ON k;
-- a mistyped table cannot be registered, and one a superuser registers by
-- hand is refused by verify() before any value is read
SELECT battledger._register('k', NULL, 'k_chain', NULL);
INSERT INTO battledger.ledger_tables (tbl, chain_index) VALUES ('k', 'k_chain');
SELECT * FROM battledger.verify('k');
DELETE FROM battledger.ledger_tables WHERE tbl = 'k'::regclass;
DROP TABLE j, k;

-- 2. Registration cannot be faked.  A table prepared like a ledger:
SET ROLE sec_owner;
CREATE TABLE fake (note text, ledger_seq bigint NOT NULL, ledger_prev hash256 NOT NULL,
                   ledger_hash hash256 NOT NULL, ledger_origin text COLLATE "C" NOT NULL);
CREATE UNIQUE INDEX fake_chain ON fake (ledger_origin, ledger_seq);
-- ... with its own no-op trigger under the chain trigger's name
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER zz_battledger_chain BEFORE INSERT ON fake FOR EACH ROW EXECUTE FUNCTION noop();
SELECT battledger._register('fake', NULL, 'fake_chain', NULL);
DROP TRIGGER zz_battledger_chain ON fake;
-- ... pre-filled with a fabricated row under another member's origin,
-- hidden from its owner by a forced row-level security policy
INSERT INTO fake VALUES ('forged', 1, repeat('00', 32)::hash256, repeat('11', 32)::hash256, 'other.example/log');
ALTER TABLE fake ENABLE ROW LEVEL SECURITY;
ALTER TABLE fake FORCE ROW LEVEL SECURITY;
CREATE POLICY hide ON fake USING (false);
SELECT count(*) AS rows_the_owner_sees FROM fake;
SELECT battledger._register('fake', NULL, 'fake_chain', NULL);
-- ... registered by someone who does not own it
SET ROLE sec_plain;
SELECT battledger._register('fake', NULL, 'fake_chain', NULL);
-- an empty table prepared the same way and registered directly is a genuine ledger
SET ROLE sec_owner;
CREATE TABLE direct (note text, ledger_seq bigint NOT NULL, ledger_prev hash256 NOT NULL,
                     ledger_hash hash256 NOT NULL, ledger_origin text COLLATE "C" NOT NULL);
CREATE UNIQUE INDEX direct_chain ON direct (ledger_origin, ledger_seq);
SELECT battledger._register('direct', NULL, 'direct_chain', NULL);
INSERT INTO direct (note) VALUES ('a'), ('b');
SELECT note, ledger_seq FROM direct ORDER BY ledger_seq;
UPDATE direct SET note = 'c';
SELECT count(*) AS problems FROM verify('direct');
RESET ROLE;
SELECT count(*) AS queued_for_the_log FROM battledger.log_pending WHERE tbl = 'public.direct';
SET ROLE sec_owner;

-- 7. Guards watch objects, not command tags
DROP TRIGGER zz_battledger_arrive ON direct;
CREATE OR REPLACE TRIGGER zz_battledger_chain BEFORE INSERT ON direct FOR EACH ROW EXECUTE FUNCTION noop();
ALTER INDEX direct RENAME TO renamed;
ALTER INDEX direct_chain RENAME TO renamed_chain;
DROP INDEX direct_chain;
ALTER SEQUENCE direct RENAME TO renamed;
-- a BEFORE trigger that would rewrite a replicated row after its arrival
-- check: the owner may not enable it for replication (0.14.0, see (k)); a
-- superuser may (warned), and the arrival trigger then refuses to run
CREATE TRIGGER zz_battledger_b BEFORE INSERT ON direct FOR EACH ROW EXECUTE FUNCTION noop();
ALTER TABLE direct ENABLE REPLICA TRIGGER zz_battledger_b;
RESET ROLE;
ALTER TABLE direct ENABLE REPLICA TRIGGER zz_battledger_b;
SET session_replication_role = replica;
INSERT INTO direct VALUES ('x', 1, repeat('00', 32)::hash256, repeat('11', 32)::hash256, 'other.example/log');
RESET session_replication_role;
DROP TRIGGER zz_battledger_b ON direct;

-- 8. The extension cannot be dropped from under its ledgers
DROP EXTENSION battledger CASCADE;
DROP SCHEMA battledger CASCADE;
SELECT count(*) AS still_a_ledger FROM battledger.ledger_tables WHERE tbl = 'direct'::regclass;

-- 11. Every function of the extension pins its search_path, pg_temp last
-- (C functions pin it in their own SPI calls: bl_spi_connect())
SELECT p.oid::regprocedure AS unpinned
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_language l ON l.oid = p.prolang
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'battledger')
   AND l.lanname NOT IN ('c', 'internal')
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c
                    WHERE c LIKE 'search_path=pg_catalog%' AND c LIKE '%, pg_temp');

-- 9. A signed row or batch manifest is bound to its table: replaying it into
-- another table with the same columns and signer roles is refused
CREATE EXTENSION IF NOT EXISTS battledger_test_signer;   -- TEST ONLY
SELECT add_member('replay.example', ARRAY['oem']);
SELECT add_key('replay.example', battledger_test.public_key(battledger_test.seed('replay-1'))) IS NOT NULL AS key_added;
CREATE TABLE soh_a (battery text, soh numeric);
CREATE TABLE soh_b (battery text, soh numeric);
SELECT enable_ledger('soh_a', 'battery', signed => true, signer_roles => ARRAY['oem']);
SELECT enable_ledger('soh_b', 'battery', signed => true, signer_roles => ARRAY['oem']);
CREATE FUNCTION signed_a(battery text, soh numeric) RETURNS soh_a LANGUAGE plpgsql AS $$
DECLARE r soh_a := jsonb_populate_record(NULL::soh_a, jsonb_build_object('battery', battery, 'soh', soh));
BEGIN
    r.ledger_key_id := key_id(battledger_test.public_key(battledger_test.seed('replay-1')));
    r.ledger_sig := battledger_test.sign(battledger_test.seed('replay-1'), signing_bytes(r));
    RETURN r;
END $$;
INSERT INTO soh_a SELECT (signed_a('B1', 97)).*;
-- the same row, signature and all, into the other table
INSERT INTO soh_b (battery, soh, ledger_key_id, ledger_sig) SELECT battery, soh, ledger_key_id, ledger_sig FROM soh_a;
-- the signing bytes begin with the table's name
SELECT substr(signing_bytes(r), 1, 4) AS magic, convert_from(substr(signing_bytes(r), 7, 12), 'UTF8') AS tbl
  FROM soh_a r;
-- a batch manifest signed for soh_a cannot be filed for soh_b
CREATE TABLE replay_rows AS
    SELECT jsonb_populate_record(NULL::soh_a, jsonb_build_object('battery', 'B2', 'soh', 90 + i,
               'ledger_key_id', key_id(battledger_test.public_key(battledger_test.seed('replay-1')))::text,
               'ledger_batch', 'replay-batch')) r FROM generate_series(1, 2) i;
CREATE FUNCTION replay_manifest(tbl regclass) RETURNS bytea LANGUAGE sql AS $$
    SELECT battledger_test.sign(battledger_test.seed('replay-1'),
               batch_manifest(tbl, 'replay-batch', 2, batch_root(array_agg(sha256(signing_bytes(r))::hash256))))
      FROM replay_rows $$;
INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
SELECT 'replay-batch', 'public.soh_b', key_id(battledger_test.public_key(battledger_test.seed('replay-1'))), 2,
       batch_root(array_agg(sha256(signing_bytes(r))::hash256)), replay_manifest('soh_a')
  FROM replay_rows;
-- filed for the table it was signed for, with its rows, it is accepted
BEGIN;
INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
SELECT 'replay-batch', 'public.soh_a', key_id(battledger_test.public_key(battledger_test.seed('replay-1'))), 2,
       batch_root(array_agg(sha256(signing_bytes(r))::hash256)), replay_manifest('soh_a')
  FROM replay_rows;
INSERT INTO soh_a SELECT (r).* FROM replay_rows;
COMMIT;
SELECT count(*) AS rows_a FROM soh_a;
SELECT (SELECT count(*) FROM verify('soh_a')) + (SELECT count(*) FROM verify('soh_b')) AS problems;
DROP TABLE replay_rows;

-- Found by a red-team review of the above
-- (a) an owner's index expression never runs as the superuser who verifies
SET ROLE sec_owner;
CREATE FUNCTION sec_probe() RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'owner code ran as superuser %', current_user;
    END IF;
    RETURN 0;
END $$;
CREATE UNIQUE INDEX direct_probe ON direct (ledger_origin, (ledger_seq + sec_probe()));
REINDEX INDEX CONCURRENTLY direct_chain;   -- the chain index now comes after the probe
RESET ROLE;
SELECT count(*) AS problems FROM verify('direct');
SELECT count(*) AS log_problems_of_direct FROM verify_log(true) WHERE detail LIKE '%public.direct%';
-- (b) a record with a non-text ledger_origin is encoded, not a crash
SELECT row_hash(t) IS NOT NULL AS hashed FROM (SELECT 1 AS ledger_origin) t;
-- (c) _register checks ownership before it locks (a catalog would block every session)
SET ROLE sec_plain;
SELECT _register('pg_catalog.pg_authid'::regclass, NULL, 'x', NULL);
SELECT _check_encodable('pg_catalog.pg_authid'::regclass);
-- (d) the signature's unique index is guarded by object, not by name
SET ROLE sec_owner;
RESET ROLE;
ALTER TABLE soh_a OWNER TO sec_owner;
SET ROLE sec_owner;
ALTER INDEX soh_a_ledger_sig_key RENAME TO harmless;
-- (e) inheritance from the child's side, rules, identity, cascaded column drops
CREATE TABLE kid (LIKE direct);
ALTER TABLE kid INHERIT direct;
CREATE RULE divert AS ON INSERT TO direct DO INSTEAD NOTHING;
ALTER TABLE direct ALTER COLUMN ledger_seq ADD GENERATED ALWAYS AS IDENTITY;
CREATE DOMAIN sec_text AS text;
CREATE TABLE dom (id int, amount sec_text);
SELECT enable_ledger('dom');
DROP DOMAIN sec_text CASCADE;
RESET ROLE;
-- (f) a chain forged behind the guards under an origin that is no member's
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE direct DISABLE TRIGGER USER;
-- (a)'s probe would run as this superuser's INSERT: the forger here is the superuser
DROP INDEX direct_probe;
INSERT INTO direct VALUES ('ghost', 1, repeat('00', 32)::hash256,
    chain_hash(repeat('00', 32)::hash256, 1, row_bytes(ROW('ghost', 1, repeat('00', 32)::hash256, NULL, 'ghost.example/log')::direct)),
    'ghost.example/log');
SELECT count(*) AS problems FROM verify('direct');
SELECT problem, ref FROM verify_log(true) WHERE detail LIKE '%ghost.example/log%';
ROLLBACK;

-- (g) releasing a quarantined chain stores its rows as the table's owner:
-- the owner's triggers never run as the superuser releasing; and what is
-- held is not readable by PUBLIC
SET ROLE sec_owner;
CREATE TABLE qn (k text, v int);
SELECT enable_ledger('qn', 'k');
CREATE TABLE qwho (u text);
CREATE FUNCTION qwho_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.qwho VALUES (current_user); RETURN NEW; END $$;
RESET ROLE;
INSERT INTO battledger.consortium_member (origin, subscription, log_vkey) VALUES ('q.example/log', 'subq', 'k');
SELECT quarantine_chain('q.example/log', 'qn', 'K1');
SET session_replication_role = replica;
INSERT INTO qn VALUES ('K1', 1, 1, repeat('00', 32)::hash256,
    chain_hash(repeat('00', 32)::hash256, 1, row_bytes(ROW('K1', 1, 1, NULL, NULL, 'q.example/log')::qn)), 'q.example/log');
RESET session_replication_role;
SELECT count(*) AS held FROM battledger.held_row;
SET ROLE sec_owner;
-- (an AFTER trigger: a BEFORE one may not fire on replicated rows since 0.14.0, see (k))
CREATE TRIGGER a_qwho AFTER INSERT ON qn FOR EACH ROW EXECUTE FUNCTION qwho_record();
ALTER TABLE qn ENABLE ALWAYS TRIGGER a_qwho;
SET ROLE sec_plain;
SELECT count(*) FROM battledger.held_row;
RESET ROLE;
SELECT * FROM release_chain('q.example/log', 'qn', 'K1');
SELECT u AS the_owners_trigger_ran_as FROM qwho;
SELECT count(*) AS stored FROM qn;
DELETE FROM battledger.consortium_member WHERE origin = 'q.example/log';

-- (h) a row the chain index does not hold: a superuser switches the index's
-- maintenance off, adds a row that copies a sealed row's chain fields, and
-- switches it back on; verify() walks the index, so it counts the table's
-- rows too and names the one the index does not hold.  An UPDATE behind the
-- guards (a heap-only tuple, reached through its chain's entry) is a
-- hash_mismatch, not a row outside the index.
CREATE TABLE hid (battery text, v int);
SELECT enable_ledger('hid', 'battery');
INSERT INTO hid SELECT 'B' || (i % 3), i FROM generate_series(1, 30) i;
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
UPDATE pg_index SET indisready = false WHERE indexrelid = 'hid_ledger_chain'::regclass;
ALTER TABLE hid DISABLE TRIGGER ALL;
INSERT INTO hid SELECT battery, 999, ledger_seq, ledger_prev, ledger_hash, ledger_origin
  FROM hid WHERE battery = 'B1' AND ledger_seq = 3;
UPDATE pg_index SET indisready = true WHERE indexrelid = 'hid_ledger_chain'::regclass;
SELECT chain_key, seq, problem FROM verify('hid');
SELECT count(*) AS problems_of_another_origin FROM verify('hid', 'other.example/log');
ROLLBACK;
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE hid DISABLE TRIGGER ALL;
UPDATE hid SET v = -v WHERE battery = 'B2' AND ledger_seq = 4;
SELECT chain_key, seq, problem FROM verify('hid');
ROLLBACK;
-- ... and a row added outside the index, then updated in place: its new
-- version is heap-only too, but no entry leads to it (red team r8, V1)
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
UPDATE pg_index SET indisready = false WHERE indexrelid = 'hid_ledger_chain'::regclass;
ALTER TABLE hid DISABLE TRIGGER ALL;
INSERT INTO hid SELECT battery, 999, ledger_seq, ledger_prev, ledger_hash, ledger_origin
  FROM hid WHERE battery = 'B1' AND ledger_seq = 3;
UPDATE pg_index SET indisready = true WHERE indexrelid = 'hid_ledger_chain'::regclass;
UPDATE hid SET v = 998 WHERE v = 999;
UPDATE hid SET v = -v WHERE battery = 'B2' AND ledger_seq = 4;
SELECT chain_key, seq, problem FROM verify('hid');
ROLLBACK;
SELECT count(*) AS problems FROM verify('hid');

-- (i) a chain key under a nondeterministic collation: 'A' and 'a' would be one
-- chain to the chain head cache, the chain index and verify(), though the
-- rows' bytes name two keys (red team r8, K1): refused, also inside an array
-- of a domain; a deterministic collation other than the default is accepted
CREATE COLLATION sec_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE DOMAIN sec_cid AS text COLLATE sec_ci;
CREATE TABLE kci (battery text COLLATE sec_ci, v int);
SELECT enable_ledger('kci', 'battery');
CREATE TABLE kci2 (battery sec_cid[], v int);
SELECT enable_ledger('kci2', 'battery');
CREATE TABLE kc (battery text COLLATE "C", v int);
SELECT enable_ledger('kc', 'battery');
INSERT INTO kc VALUES ('A', 1), ('a', 2);
SELECT battery, ledger_seq FROM kc ORDER BY v;
DROP TABLE kci, kci2;
DROP DOMAIN sec_cid;
DROP COLLATION sec_ci;

-- (j) the signature's unique index leaves NULLs out (0.13.0, issue 15): a
-- batch-signed row (ledger_sig NULL) costs it no entry, and a signature is
-- still never accepted twice, whoever inserts it: a plain role with INSERT,
-- the table's owner, a superuser (rows arriving from another member are
-- probed against the same index: test/shell/consortium.sh (6)).  ANALYZE
-- counts an index's entries from its sample: a partial index holds only the
-- sampled rows its predicate admits
SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'soh_a' AND indexname LIKE '%sig%';
SELECT count(*) FILTER (WHERE ledger_sig IS NULL) AS batch_rows, count(ledger_sig) AS signed_rows FROM soh_a;
ANALYZE soh_a;
SELECT reltuples AS sig_index_entries FROM pg_class WHERE relname = 'soh_a_ledger_sig_key';
GRANT INSERT, SELECT ON soh_a TO sec_plain;
SET ROLE sec_plain;
INSERT INTO soh_a (battery, soh, ledger_key_id, ledger_sig) SELECT battery, soh, ledger_key_id, ledger_sig FROM soh_a WHERE ledger_sig IS NOT NULL;
SET ROLE sec_owner;
INSERT INTO soh_a (battery, soh, ledger_key_id, ledger_sig) SELECT battery, soh, ledger_key_id, ledger_sig FROM soh_a WHERE ledger_sig IS NOT NULL;
DROP INDEX soh_a_ledger_sig_key;
RESET ROLE;
INSERT INTO soh_a (battery, soh, ledger_key_id, ledger_sig) SELECT battery, soh, ledger_key_id, ledger_sig FROM soh_a WHERE ledger_sig IS NOT NULL;
SELECT count(*) AS rows_a, count(DISTINCT ledger_sig) AS signatures FROM soh_a;
-- _register() accepts a hand-made signed table with the partial index, and
-- refuses one whose index predicate exempts rows
SET ROLE sec_owner;
CREATE TABLE hand (battery text NOT NULL, ledger_seq bigint NOT NULL, ledger_prev hash256 NOT NULL,
                   ledger_hash hash256 NOT NULL, ledger_key_id hash256 NOT NULL, ledger_sig bytea,
                   ledger_batch text, ledger_at timestamptz NOT NULL, ledger_origin text COLLATE "C" NOT NULL);
CREATE UNIQUE INDEX hand_chain ON hand (battery, ledger_origin, ledger_seq);
CREATE UNIQUE INDEX hand_sig ON hand (ledger_sig) WHERE ledger_sig IS NOT NULL AND battery <> 'exempt';
SELECT battledger._register('hand', 'battery', 'hand_chain', ARRAY['oem']);
DROP INDEX hand_sig;
CREATE UNIQUE INDEX hand_sig ON hand (ledger_sig) WHERE ledger_sig IS NULL;
SELECT battledger._register('hand', 'battery', 'hand_chain', ARRAY['oem']);
DROP INDEX hand_sig;
CREATE UNIQUE INDEX hand_sig ON hand (ledger_sig) WHERE ledger_sig IS NOT NULL;
SELECT battledger._register('hand', 'battery', 'hand_chain', ARRAY['oem']);
SELECT tbl, signer_roles FROM ledger_tables WHERE tbl = 'hand'::regclass;
RESET ROLE;

-- (k) a table owner's own BEFORE INSERT row triggers (0.14.0, red team r14).
-- Enabled ALWAYS or REPLICA, one fires in the apply worker on other members'
-- rows and could drop them before the arrival trigger counts them; named
-- after the chain trigger, one fires after the row is hashed.  Both are
-- refused to the owner, on a ledger table and by enable_ledger(); AFTER and
-- statement triggers, ENABLE ALWAYS or not, and ORIGIN BEFORE triggers named
-- before the chain trigger stay allowed; a superuser is warned, not refused
SET ROLE sec_owner;
CREATE FUNCTION sec_keep() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE FUNCTION sec_drop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE TABLE trg (battery text, v int);
SELECT enable_ledger('trg', 'battery');
CREATE TRIGGER a_drop BEFORE INSERT ON trg FOR EACH ROW EXECUTE FUNCTION sec_drop();
ALTER TABLE trg ENABLE ALWAYS TRIGGER a_drop;
ALTER TABLE trg ENABLE REPLICA TRIGGER a_drop;
ALTER TRIGGER a_drop ON trg RENAME TO zzz_drop;
CREATE TRIGGER zzz_late BEFORE INSERT OR UPDATE ON trg FOR EACH ROW EXECUTE FUNCTION sec_keep();
CREATE OR REPLACE TRIGGER zzz_late BEFORE INSERT ON trg FOR EACH ROW EXECUTE FUNCTION sec_keep();
-- disabled, it fires nowhere: it may take any name, but is not enabled
-- again under one that fires after the chain trigger
ALTER TABLE trg DISABLE TRIGGER a_drop;
ALTER TRIGGER a_drop ON trg RENAME TO zzz_drop;
ALTER TABLE trg ENABLE TRIGGER zzz_drop;
ALTER TRIGGER zzz_drop ON trg RENAME TO b_drop;
CREATE TRIGGER b_fill BEFORE INSERT ON trg FOR EACH ROW EXECUTE FUNCTION sec_keep();
CREATE TRIGGER zzz_audit AFTER INSERT ON trg FOR EACH ROW EXECUTE FUNCTION sec_keep();
ALTER TABLE trg ENABLE ALWAYS TRIGGER zzz_audit;
CREATE TRIGGER stmt BEFORE INSERT ON trg FOR EACH STATEMENT EXECUTE FUNCTION sec_keep();
ALTER TABLE trg ENABLE REPLICA TRIGGER stmt;
-- CREATE OR REPLACE TRIGGER makes a trigger fire ORIGIN again, whatever it
-- fired as (the guard relies on it): an ALWAYS AFTER trigger made BEFORE
CREATE TRIGGER c_audit AFTER INSERT ON trg FOR EACH ROW EXECUTE FUNCTION sec_keep();
ALTER TABLE trg ENABLE ALWAYS TRIGGER c_audit;
CREATE OR REPLACE TRIGGER c_audit BEFORE INSERT ON trg FOR EACH ROW EXECUTE FUNCTION sec_keep();
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'trg'::regclass ORDER BY tgname;
INSERT INTO trg VALUES ('B1', 1), ('B1', 2);
SELECT count(*) AS stored FROM trg;
SELECT count(*) AS problems FROM verify('trg');
-- the same triggers on a table before enable_ledger(): refused there
CREATE TABLE trg2 (battery text, v int);
CREATE TRIGGER a_drop BEFORE INSERT ON trg2 FOR EACH ROW EXECUTE FUNCTION sec_drop();
ALTER TABLE trg2 ENABLE ALWAYS TRIGGER a_drop;
SELECT enable_ledger('trg2', 'battery');
ALTER TABLE trg2 ENABLE REPLICA TRIGGER a_drop;
SELECT enable_ledger('trg2', 'battery');
ALTER TABLE trg2 ENABLE TRIGGER a_drop;
ALTER TRIGGER a_drop ON trg2 RENAME TO zzz_drop;
SELECT enable_ledger('trg2', 'battery');
DROP TABLE trg2;
-- a plain role cannot create a trigger on the table at all
SET ROLE sec_plain;
CREATE TRIGGER a_plain BEFORE INSERT ON trg FOR EACH ROW EXECUTE FUNCTION sec_keep();
RESET ROLE;
-- a superuser is warned, not refused (consortium_status() names such a
-- trigger on a table a subscription delivers into: test/redteam/r14_0130_findings.sh T)
ALTER TABLE trg ENABLE ALWAYS TRIGGER b_drop;
CREATE TRIGGER zzz_su BEFORE INSERT ON trg FOR EACH ROW EXECUTE FUNCTION sec_keep();
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'trg'::regclass AND tgname IN ('b_drop', 'zzz_su') ORDER BY tgname;
DROP TRIGGER b_drop ON trg;
DROP TRIGGER zzz_su ON trg;
DROP TRIGGER b_fill ON trg;
DROP TRIGGER c_audit ON trg;
DROP TRIGGER zzz_audit ON trg;
DROP TRIGGER stmt ON trg;
DROP FUNCTION sec_keep(), sec_drop();

-- 13. Clean errors instead of misleading answers
SELECT * FROM verify(0::regclass);
SELECT * FROM verify_log(NULL);
SELECT passport('https://id.gs1.org/01/09521234567899/21/X1'::battery_id, NULL);
SELECT batch_manifest('b', -1, repeat('00', 32)::hash256);
SELECT batch_root(ARRAY[[repeat('00', 32)::hash256]]);

DROP TABLE fake, kid, qwho;
-- hand is a ledger table now: it stays, as soh_a and soh_b do
DROP FUNCTION qwho_record();
DROP FUNCTION noop();
REASSIGN OWNED BY sec_owner TO CURRENT_USER;
DROP OWNED BY sec_owner, sec_plain;
DROP ROLE sec_owner, sec_plain;
-- (l) a row sealed twice: a queue entry duplicated behind the guards (a
-- superuser) is sealed as a second leaf; the tree and the checkpoint stay
-- consistent, and only the rows check can tell: duplicate_leaf, at the later
-- leaf, naming the earlier one (before 0.15.0 nothing was reported).  Last in
-- the file: the log keeps the duplicate for the tests that follow.
CREATE TABLE twice (battery text, n int);
SELECT battledger.enable_ledger('twice', 'battery') IS NOT NULL AS enabled;
INSERT INTO twice SELECT 'T' || (i % 2), i FROM generate_series(1, 6) AS i;
SELECT count(*) AS problems_before FROM battledger.verify_log(true) WHERE detail LIKE '%"public.twice"%';
INSERT INTO battledger.log_pending
  SELECT * FROM battledger.log_pending WHERE tbl = 'public.twice' ORDER BY seq, row_hash LIMIT 1;
SELECT battledger.seal() IS NOT NULL AS sealed;
SELECT count(*) AS leaves, count(DISTINCT (seq, row_hash)) AS rows_sealed
  FROM battledger.log_leaf WHERE tbl = 'public.twice';
SELECT problem, ref - (SELECT min(leaf_index) FROM battledger.log_leaf WHERE tbl = 'public.twice') AS leaf_in_table,
       regexp_replace(detail, 'leaf [0-9]+', 'leaf N') AS detail
  FROM battledger.verify_log(true) WHERE detail LIKE '%"public.twice"%';
