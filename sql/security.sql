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
-- a BEFORE trigger that would rewrite a replicated row after its arrival check
CREATE TRIGGER zz_battledger_b BEFORE INSERT ON direct FOR EACH ROW EXECUTE FUNCTION noop();
ALTER TABLE direct ENABLE REPLICA TRIGGER zz_battledger_b;
RESET ROLE;
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

-- 13. Clean errors instead of misleading answers
SELECT * FROM verify(0::regclass);
SELECT * FROM verify_log(NULL);
SELECT passport('https://id.gs1.org/01/09521234567899/21/X1'::battery_id, NULL);
SELECT batch_manifest('b', -1, repeat('00', 32)::hash256);
SELECT batch_root(ARRAY[[repeat('00', 32)::hash256]]);

DROP TABLE fake;
DROP FUNCTION noop();
REASSIGN OWNED BY sec_owner TO CURRENT_USER;
DROP OWNED BY sec_owner, sec_plain;
DROP ROLE sec_owner, sec_plain;
