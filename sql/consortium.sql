-- Consortium: ledger_origin, publishing, joining, and the refusals a DBA sees.
-- (Replication itself runs in test/shell/consortium.sh, with three clusters.)
\set SHOW_CONTEXT never
SET search_path = public, battledger;
-- rejections are kept per cluster: look only at this run's
SELECT clock_timestamp() AS t0 \gset

-- every ledger row carries this database's origin, filled in by the chain trigger
CREATE TABLE reading (battery text, soh_pct numeric);
SELECT enable_ledger('reading', 'battery');
INSERT INTO reading VALUES ('B0025', 97.5), ('B0025', 96.0);
SELECT battery, ledger_origin, ledger_seq FROM reading ORDER BY ledger_seq;
-- ... and it is part of the hashed bytes: a relabelled row no longer verifies
SELECT encode(row_bytes(r), 'hex') LIKE '%' || encode(convert_to('ledger_origin', 'UTF8'), 'hex') || '%' AS origin_in_bytes
  FROM reading r WHERE ledger_seq = 1;
-- a row may name this database's origin, never another member's
INSERT INTO reading (battery, soh_pct, ledger_origin) VALUES ('B0025', 95.0, 'battledger.test/regress');
INSERT INTO reading (battery, soh_pct, ledger_origin) VALUES ('B0025', 94.0, 'other.example/log');
-- the chain is per (origin, key): an unnamed database writes under the empty
-- origin, in a chain of its own, and the empty origin is left out of the bytes
SET battledger.origin = '';
INSERT INTO reading VALUES ('B0025', 93.0);
RESET battledger.origin;
SELECT ledger_origin, ledger_seq, soh_pct FROM reading ORDER BY ledger_origin, ledger_seq;
SELECT position(convert_to('ledger_origin', 'UTF8') IN row_bytes(r)) = 0 AS empty_origin_omitted
  FROM reading r WHERE ledger_origin = '';
SELECT count(*) AS problems FROM verify('reading');
SELECT count(*) AS problems_of_one_origin FROM verify('reading', 'battledger.test/regress');

-- rows arriving by replication are checked: this database's own origin is refused
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO reading (battery, soh_pct, ledger_seq, ledger_prev, ledger_hash, ledger_origin)
VALUES ('B0030', 90, 1, repeat('0', 64)::hash256, repeat('0', 64)::hash256, 'battledger.test/regress');
ROLLBACK;
-- another member's row with a wrong hash is refused, and recorded
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO reading (battery, soh_pct, ledger_seq, ledger_prev, ledger_hash, ledger_origin)
VALUES ('B0030', 90, 1, repeat('0', 64)::hash256, repeat('0', 64)::hash256, 'b.example/log');
ROLLBACK;
SELECT origin, tbl, seq, problem, row_data->>'battery' AS battery
  FROM rejections WHERE tbl = 'public.reading' AND at >= :'t0' ORDER BY at;
-- a correct row of another member is accepted (as the apply worker would write it)
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO reading (battery, soh_pct, ledger_seq, ledger_prev, ledger_hash, ledger_origin)
SELECT 'B0030', 90, 1, repeat('0', 64)::hash256,
       chain_hash(repeat('0', 64)::hash256, 1,
                  row_bytes(ROW('B0030', 90, 1, NULL, NULL, 'b.example/log')::reading)), 'b.example/log';
-- its successor must link to it: a gap and a fork are refused
INSERT INTO reading (battery, soh_pct, ledger_seq, ledger_prev, ledger_hash, ledger_origin)
SELECT 'B0030', 89, 3, repeat('0', 64)::hash256,
       chain_hash(repeat('0', 64)::hash256, 3,
                  row_bytes(ROW('B0030', 89, 3, NULL, NULL, 'b.example/log')::reading)), 'b.example/log';
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO reading (battery, soh_pct, ledger_seq, ledger_prev, ledger_hash, ledger_origin)
SELECT 'B0030', 90, 1, repeat('0', 64)::hash256,
       chain_hash(repeat('0', 64)::hash256, 1,
                  row_bytes(ROW('B0030', 90, 1, NULL, NULL, 'b.example/log')::reading)), 'b.example/log';
SELECT ledger_origin, ledger_seq FROM reading WHERE battery = 'B0030';
SELECT count(*) AS problems FROM verify('reading', 'b.example/log');
INSERT INTO reading (battery, soh_pct, ledger_seq, ledger_prev, ledger_hash, ledger_origin)
SELECT 'B0030', 91, 1, repeat('0', 64)::hash256,
       chain_hash(repeat('0', 64)::hash256, 1,
                  row_bytes(ROW('B0030', 91, 1, NULL, NULL, 'b.example/log')::reading)), 'b.example/log';
ROLLBACK;
SELECT problem, count(*) FROM rejections WHERE tbl = 'public.reading' AND at >= :'t0' GROUP BY 1 ORDER BY 1;

-- unique indexes besides the chain's are checked on arrival (a conflict is
-- named, not retried forever by the apply worker): a NULL key passes a plain
-- NULLS DISTINCT index without a lookup, never a NULLS NOT DISTINCT one, nor
-- an index on an expression, which are probed as a given key is
CREATE TABLE tagged (battery text, tag text, code text);
SELECT enable_ledger('tagged', 'battery');
CREATE UNIQUE INDEX tagged_tag ON tagged (tag);
CREATE UNIQUE INDEX tagged_code ON tagged (code) NULLS NOT DISTINCT;
CREATE UNIQUE INDEX tagged_lower ON tagged (lower(tag));
CREATE FUNCTION pg_temp.t_row(b text, tag text, code text) RETURNS tagged LANGUAGE plpgsql AS $$
DECLARE r tagged := jsonb_populate_record(NULL::tagged, jsonb_build_object('battery', b, 'tag', tag, 'code', code));
BEGIN
    r.ledger_origin := 'b.example/log'; r.ledger_seq := 1; r.ledger_prev := repeat('0', 64)::hash256;
    r.ledger_hash := chain_hash(r.ledger_prev, 1, row_bytes(r));
    RETURN r;
END $$;
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO tagged SELECT (pg_temp.t_row('T1', NULL, 'c1')).*;
INSERT INTO tagged SELECT (pg_temp.t_row('T2', NULL, 'c2')).*;   -- a second NULL tag: distinct
INSERT INTO tagged SELECT (pg_temp.t_row('T3', 'x', NULL)).*;
SELECT battery, tag, code, ledger_origin FROM tagged ORDER BY battery;
INSERT INTO tagged SELECT (pg_temp.t_row('T4', 'y', NULL)).*;    -- a second NULL code: not distinct
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO tagged SELECT (pg_temp.t_row('T3', 'x', NULL)).*;
INSERT INTO tagged SELECT (pg_temp.t_row('T5', 'X', 'c5')).*;    -- another tag, the same lower(tag)
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO tagged SELECT (pg_temp.t_row('T1', 'x', 'c1')).*;
INSERT INTO tagged SELECT (pg_temp.t_row('T6', 'x', 'c6')).*;    -- the same tag
ROLLBACK;
-- a DEFERRABLE unique constraint (its commit-time recheck does not fire for
-- replicated rows: the row was stored) and an exclusion constraint (the
-- apply worker failed in a loop, unnamed) are probed too (red team r8)
ALTER TABLE tagged ADD CONSTRAINT tagged_code_deferred UNIQUE (code) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE tagged ADD CONSTRAINT tagged_code_excl EXCLUDE USING btree (left(code, 2) WITH =);
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO tagged SELECT (pg_temp.t_row('T1', 'x', 'c1')).*;
INSERT INTO tagged SELECT (pg_temp.t_row('T7', 'z', 'c1')).*;    -- the same code, deferrable
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO tagged SELECT (pg_temp.t_row('T8', 'p', 'c8')).*;
INSERT INTO tagged SELECT (pg_temp.t_row('T9', 'q', 'c8x')).*;   -- another code, the same left(code, 2): excluded
ROLLBACK;
SELECT seq, problem, row_data->>'battery' AS battery FROM rejections
 WHERE tbl = 'public.tagged' AND at >= :'t0' ORDER BY at;

-- a row breaking a CHECK or NOT NULL constraint of the table here (its member
-- dropped the constraint at home) is refused and named, not left to fail the
-- apply worker in a loop (red team r8, C1)
CREATE TABLE checked (battery text, soh int CHECK (soh BETWEEN 0 AND 100), note text NOT NULL);
SELECT enable_ledger('checked', 'battery');
CREATE FUNCTION pg_temp.c_row(b text, soh int, note text) RETURNS checked LANGUAGE plpgsql AS $$
DECLARE r checked := jsonb_populate_record(NULL::checked, jsonb_build_object('battery', b, 'soh', soh, 'note', note));
BEGIN
    r.ledger_origin := 'b.example/log'; r.ledger_seq := 1; r.ledger_prev := repeat('0', 64)::hash256;
    r.ledger_hash := chain_hash(r.ledger_prev, 1, row_bytes(r));
    RETURN r;
END $$;
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO checked SELECT (pg_temp.c_row('C1', 150, 'x')).*;
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO checked SELECT (pg_temp.c_row('C2', 50, NULL)).*;
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO checked SELECT (pg_temp.c_row('C3', NULL, 'x')).*;   -- a NULL passes a CHECK
SELECT battery, soh, note FROM checked;
ROLLBACK;
SELECT problem, detail, row_data->>'battery' AS battery FROM rejections
 WHERE tbl = 'public.checked' AND at >= :'t0' ORDER BY at;

-- signed rows of another member: keys are judged at ledger_at, which never goes backwards
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS battledger_test_signer;   -- TEST ONLY (signatures.sql made it)
RESET client_min_messages;
SELECT add_member('relay.example', ARRAY['fleet_operator']);
SELECT add_key('relay.example', battledger_test.public_key(battledger_test.seed('relay-1'))) IS NOT NULL AS key_added;
CREATE TABLE sreading (battery text, soh_pct numeric);
SELECT enable_ledger('sreading', 'battery', signed => true, signer_roles => ARRAY['fleet_operator']);
-- member b's row adding relay.example, which b's rows below are signed for:
-- an origin publishes rows of the members it added (red team rt27 H3: one
-- signed for a member its origin did not add is signer_not_hosted); each
-- transaction below adds it first, and rolls it back.  relay.example is
-- added here too, and pinned here: b's row adding it again counts for
-- nothing until a pin moves it to b (red team rt27c I1), as b_add() does
CREATE FUNCTION pg_temp.b_member() RETURNS battledger.member_event LANGUAGE plpgsql AS $$
DECLARE r battledger.member_event;
BEGIN
    r.member := 'relay.example'; r.event := 'added'; r.roles := ARRAY['fleet_operator']; r.at := '2026-01-01 00:00+00';
    r.ledger_origin := 'b.example/log'; r.ledger_seq := 1; r.ledger_prev := repeat('0', 64)::hash256;
    r.ledger_hash := chain_hash(r.ledger_prev, 1, row_bytes(r));
    RETURN r;
END $$;
CREATE FUNCTION pg_temp.b_add() RETURNS void LANGUAGE plpgsql AS $$
DECLARE m battledger.member_event := pg_temp.b_member(); k battledger.key_event;
BEGIN
    INSERT INTO battledger.member_event SELECT m.*;
    PERFORM pin_member_host('relay.example', 'b.example/log');
    -- the key as b registered it: keys count where their member is hosted
    SELECT e.* INTO k FROM battledger.key_event e WHERE e.member = 'relay.example';
    k.ledger_origin := 'b.example/log'; k.ledger_seq := 1; k.ledger_prev := repeat('0', 64)::hash256;
    k.ledger_hash := chain_hash(k.ledger_prev, 1, row_bytes(k));
    INSERT INTO battledger.key_event SELECT k.*;
END $$;
-- a row as member b would publish it: signed by the member, chained by b
CREATE FUNCTION pg_temp.b_row(soh numeric, seq bigint, prev hash256, at timestamptz, batch text DEFAULT NULL)
RETURNS sreading LANGUAGE plpgsql AS $$
DECLARE r sreading := jsonb_populate_record(NULL::sreading, jsonb_build_object('battery', 'B0040', 'soh_pct', soh));
BEGIN
    r.ledger_key_id := key_id(battledger_test.public_key(battledger_test.seed('relay-1')));
    IF batch IS NULL THEN
        r.ledger_sig := battledger_test.sign(battledger_test.seed('relay-1'), signing_bytes(r));
    ELSE
        r.ledger_batch := batch;
    END IF;
    r.ledger_at := at; r.ledger_origin := 'b.example/log'; r.ledger_seq := seq; r.ledger_prev := prev;
    r.ledger_hash := chain_hash(prev, seq, row_bytes(r));
    RETURN r;
END $$;
BEGIN;
SET LOCAL session_replication_role = replica;
SELECT pg_temp.b_add();
INSERT INTO sreading SELECT (pg_temp.b_row(99, 1, repeat('0', 64)::hash256, now() + interval '2 hours')).*;
SELECT ledger_origin, ledger_seq FROM sreading;
-- dated before its predecessor
INSERT INTO sreading SELECT (pg_temp.b_row(98, 2, (SELECT ledger_hash FROM sreading), now() + interval '1 hour')).*;
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
SELECT pg_temp.b_add();
INSERT INTO sreading SELECT (pg_temp.b_row(99, 1, repeat('0', 64)::hash256, now() + interval '2 hours')).*;
-- a row of a batch that did not arrive first
INSERT INTO sreading SELECT (pg_temp.b_row(98, 2, (SELECT ledger_hash FROM sreading), now() + interval '3 hours', 'no-such-batch')).*;
ROLLBACK;
-- nor of a batch id longer than a batch's 200 bytes: the same refusal (batch_join())
BEGIN;
SET LOCAL session_replication_role = replica;
SELECT pg_temp.b_add();
INSERT INTO sreading SELECT (pg_temp.b_row(99, 1, repeat('0', 64)::hash256, now() + interval '2 hours')).*;
INSERT INTO sreading SELECT (pg_temp.b_row(98, 2, (SELECT ledger_hash FROM sreading), now() + interval '3 hours', repeat('x', 201))).*;
ROLLBACK;
-- a batch of member b's arrives before its rows; its manifest's signature is
-- checked at commit as a local batch's is, here with no insert trigger having
-- checked it first (the apply worker fires none): a signature of other bytes
-- by the same key is refused
CREATE FUNCTION pg_temp.b_batch(id text, soh numeric, signed_bytes bytea) RETURNS battledger.batch LANGUAGE plpgsql AS $$
DECLARE r battledger.batch;
BEGIN
    r.batch_id := id; r.tbl := 'public.sreading'; r.row_count := 1;
    r.key_id := key_id(battledger_test.public_key(battledger_test.seed('relay-1')));
    r.root := batch_root(ARRAY[sha256(signing_bytes(pg_temp.b_row(soh, 1, repeat('0', 64)::hash256, now(), id)))::hash256]);
    r.sig := battledger_test.sign(battledger_test.seed('relay-1'),
                                  coalesce(signed_bytes, batch_manifest('public.sreading', id, 1, r.root)));
    r.at := now();
    r.ledger_origin := 'b.example/log'; r.ledger_seq := 1; r.ledger_prev := repeat('0', 64)::hash256;
    r.ledger_hash := chain_hash(r.ledger_prev, 1, row_bytes(r));
    RETURN r;
END $$;
BEGIN;
SET LOCAL session_replication_role = replica;
SELECT pg_temp.b_add();
INSERT INTO battledger.batch SELECT (pg_temp.b_batch('b-forged', 97, convert_to('not this manifest', 'UTF8'))).*;
INSERT INTO sreading SELECT (pg_temp.b_row(97, 1, repeat('0', 64)::hash256, now() + interval '2 hours', 'b-forged')).*;
COMMIT;
SELECT count(*) AS forged_batches_stored FROM battledger.batch WHERE batch_id = 'b-forged';

-- a key registered at another member arrives as a key_event row: a weak one (here
-- the identity 01 00..00, under which anybody can sign) is refused, as it is here
CREATE FUNCTION pg_temp.b_key(k bytea) RETURNS battledger.key_event LANGUAGE plpgsql AS $$
DECLARE r battledger.key_event;
BEGIN
    r.key_id := key_id(k); r.member := 'relay.example'; r.event := 'added'; r.public_key := k;
    r.valid_from := '2026-01-01 00:00+00'; r.at := '2026-01-01 00:00+00';
    r.ledger_origin := 'b.example/log'; r.ledger_seq := 1; r.ledger_prev := repeat('0', 64)::hash256;
    r.ledger_hash := chain_hash(r.ledger_prev, 1, row_bytes(r));
    RETURN r;
END $$;
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO battledger.key_event SELECT (pg_temp.b_key(battledger_test.public_key(battledger_test.seed('relay-2')))).*;
SELECT member, ledger_origin, ledger_seq FROM battledger.key_event WHERE ledger_origin = 'b.example/log';
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO battledger.key_event SELECT (pg_temp.b_key('\x01'::bytea || decode(repeat('00', 31), 'hex'))).*;
ROLLBACK;
SELECT origin, tbl, seq, problem, detail FROM rejections WHERE tbl = 'battledger.key_event' AND at >= :'t0';

-- the log's own tables accept other members' leaves only from a subscription
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO log_leaf VALUES (0, 'public.reading', 1, repeat('0', 64)::hash256, repeat('0', 64)::hash256, repeat('0', 64)::hash256);
ROLLBACK;

-- publishing: this member's rows, its log and its cosignatures, inserts only
SELECT publish_member();
SELECT pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication WHERE pubname = 'battledger_member';
SELECT schemaname, tablename, rowfilter FROM pg_publication_tables WHERE pubname = 'battledger_member'
   AND (schemaname = 'battledger' OR tablename = 'reading')
 ORDER BY schemaname, tablename;
-- run again after enable_ledger() on a new table, it brings the publication up to date
CREATE TABLE extra (x int);
SELECT enable_ledger('extra');
SELECT publish_member();
SELECT count(*) FROM pg_publication_tables WHERE pubname = 'battledger_member' AND tablename = 'extra';

-- joining: the keys are checked and pinned; the subscription is returned, not run
SELECT join('b.example/log', 'host=b.example dbname=registry', log_vkey());
SELECT join('battledger.test/regress', 'host=x', log_vkey());
SELECT join('b.example/log', 'host=x', 'not a key');
SELECT join('b.example/log', 'host=x', 'b.example/log+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
SELECT join('b.example/log', 'host=x', NULL);
-- a well-formed key for another name: C2SP key id = SHA-256(name || LF || alg || key)[0:4]
CREATE FUNCTION pg_temp.vkey(name text, alg bytea) RETURNS text LANGUAGE sql AS $$
    SELECT name || '+' || encode(substr(sha256(convert_to(name, 'UTF8') || '\x0a'::bytea || alg || k), 1, 4), 'hex')
                || '+' || encode(alg || k, 'base64')
      FROM (SELECT substr(decode(regexp_replace(log_vkey(), '^[^+]*[+][^+]*[+]', ''), 'base64'), 2) AS k) x
$$;
SELECT join('b.example/log', 'host=x', pg_temp.vkey('b.example/log', '\x04'));   -- a witness key as log key
-- a well-formed vkey of a weak key (the identity 01 00..00) is refused: anybody could sign under it
CREATE FUNCTION pg_temp.vkey_of(name text, alg bytea, k bytea) RETURNS text LANGUAGE sql AS $$
    SELECT name || '+' || encode(substr(sha256(convert_to(name, 'UTF8') || '\x0a'::bytea || alg || k), 1, 4), 'hex')
                || '+' || encode(alg || k, 'base64')
$$;
SELECT join('b.example/log', 'host=x', pg_temp.vkey_of('b.example/log', '\x01', '\x01'::bytea || decode(repeat('00', 31), 'hex')));
-- in a CRLF list too (red team r18 F1: the CR kept the line from parsing, and unchecked)
SELECT join('b.example/log', 'host=x', pg_temp.vkey_of('b.example/log', '\x01', '\x01'::bytea || decode(repeat('00', 31), 'hex'))
                                       || E'\r\n' || pg_temp.vkey('b.example/log', '\x01'));
\set VERBOSITY sqlstate
SELECT join('b.example/log', 'host=x', pg_temp.vkey('b.example/log', '\x01'),
            pg_temp.vkey_of('b.example/log', '\x04', '\x01'::bytea || decode(repeat('00', 31), 'hex')));
\set VERBOSITY default
SELECT join('b.example/log', 'host=x', pg_temp.vkey('b.example/log', '\x01'), pg_temp.vkey('b.example/log', '\x01'));
SELECT join('b.example/log', 'host=b.example dbname=registry',
            pg_temp.vkey('b.example/log', '\x01'), pg_temp.vkey('b.example/log', '\x04'));
SELECT join('b.example/log', 'host=x', pg_temp.vkey('b.example/log', '\x01'));   -- joined already
-- after key rotations, a member's log keys oldest first, one per line
-- (0.17.0): each key once, all named for its origin
CREATE FUNCTION pg_temp.k(name text, seed text) RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.vkey_of(name, '\x01', battledger_test.public_key(battledger_test.seed(seed)))
$$;
SELECT join('c.example/log', 'host=x', pg_temp.k('c.example/log', 'c1') || E'\n' || pg_temp.k('c.example/log', 'c1'));
SELECT join('c.example/log', 'host=x', pg_temp.k('c.example/log', 'c1') || E'\n' || pg_temp.k('d.example/log', 'c2'));
SELECT join('c.example/log', 'host=x', pg_temp.k('d.example/log', 'c1') || E'\n' || pg_temp.k('d.example/log', 'c2'));
SELECT join('c.example/log', 'host=x', pg_temp.k('c.example/log', 'c1') || E'\r\n' || pg_temp.k('c.example/log', 'c2') || E'\n') LIKE 'CREATE SUBSCRIPTION%' AS joined_with_two_keys;
SELECT log_vkey = pg_temp.k('c.example/log', 'c1') || E'\r\n' || pg_temp.k('c.example/log', 'c2') || E'\n' AS pinned_as_given
  FROM consortium_member WHERE origin = 'c.example/log';
-- repin_log_key(): one key, on one line
SELECT repin_log_key('c.example/log', pg_temp.k('c.example/log', 'c2') || ' ');
SELECT repin_log_key('c.example/log', pg_temp.k('c.example/log', 'c3') || E'\n' || pg_temp.k('c.example/log', 'c4'));
-- a key of the list join() pinned with CRLF is pinned already (red team r18 F4)
SELECT repin_log_key('c.example/log', pg_temp.k('c.example/log', 'c1'));
SELECT repin_log_key('c.example/log', pg_temp.k('c.example/log', 'c3'));
-- keys count, not lines: eight keys pinned with a blank line after each take a
-- ninth (red team r18 F2: "has 16 log keys pinned")
BEGIN;
SELECT join('e.example/log', 'host=x', (SELECT string_agg(pg_temp.k('e.example/log', 'e' || i) || E'\n', E'\n') FROM generate_series(1, 8) i) || E'\n')
       LIKE 'CREATE SUBSCRIPTION%' AS joined_with_eight_keys;
SELECT repin_log_key('e.example/log', pg_temp.k('e.example/log', 'e9')) LIKE 'ALTER SUBSCRIPTION%' AS ninth_key_pinned;
ROLLBACK;
-- a pinned list damaged by hand: what the status says of it ("bad log
-- keys", after "no subscription": test/shell/key_rotation_peer.sh)
UPDATE consortium_member SET log_vkey = log_vkey || E'\n' || pg_temp.k('c.example/log', 'c1') WHERE origin = 'c.example/log';
SELECT _log_keys_problem(log_vkey, origin) FROM consortium_member WHERE origin = 'c.example/log';
SELECT repin_log_key('c.example/log', pg_temp.k('c.example/log', 'c4'));
-- a weak key pinned by hand: nothing verifies under it, so it is named too
-- (red team r18 F3: the status said only "stopped" once a checkpoint came)
UPDATE consortium_member SET log_vkey = pg_temp.k('c.example/log', 'c1') || E'\r\n'
       || pg_temp.vkey_of('c.example/log', '\x01', '\x01'::bytea || decode(repeat('00', 31), 'hex')) WHERE origin = 'c.example/log';
SELECT _log_keys_problem(log_vkey, origin) FROM consortium_member WHERE origin = 'c.example/log';
-- witness keys likewise (0.17.0): a list at join(), one key at a time after
CREATE FUNCTION pg_temp.w(name text, seed text) RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.vkey_of(name, '\x04', battledger_test.public_key(battledger_test.seed(seed)))
$$;
SELECT repin_witness_key('c.example/log', pg_temp.w('c.example/log', 'w1'));   -- joined without one: the first
SELECT repin_witness_key('c.example/log', pg_temp.w('c.example/log', 'w1'));
SELECT repin_witness_key('c.example/log', pg_temp.k('c.example/log', 'w2'));   -- a log key
SELECT repin_witness_key('c.example/log', pg_temp.w('d.example/log', 'w2'));
SELECT repin_witness_key('c.example/log', pg_temp.w('c.example/log', 'w2')) LIKE 'ALTER SUBSCRIPTION%' AS repinned;
SELECT witness_vkey = pg_temp.w('c.example/log', 'w1') || E'\n' || pg_temp.w('c.example/log', 'w2') AS witness_keys_oldest_first
  FROM consortium_member WHERE origin = 'c.example/log';
DELETE FROM consortium_member WHERE origin = 'c.example/log';
SELECT join('c.example/log', 'host=x', pg_temp.k('c.example/log', 'c1'),
            pg_temp.w('c.example/log', 'w1') || E'\n' || pg_temp.w('c.example/log', 'w1'));
SELECT join('c.example/log', 'host=x', pg_temp.k('c.example/log', 'c1'),
            pg_temp.w('c.example/log', 'w1') || E'\n' || pg_temp.w('c.example/log', 'w2')) LIKE 'CREATE SUBSCRIPTION%' AS joined_with_two_witness_keys;
DELETE FROM consortium_member WHERE origin = 'c.example/log';
SELECT has_function_privilege('public', 'battledger._log_keys_problem(text, text)', 'EXECUTE') AS public_may_call,
       has_function_privilege('public', 'battledger._witness_keys_problem(text, text)', 'EXECUTE') AS public_may_call_w,
       has_function_privilege('public', 'battledger.repin_witness_key(text, text)', 'EXECUTE') AS public_may_repin_w;
SELECT origin, subscription, witness_vkey IS NOT NULL AS has_witness_key FROM consortium_member;
SELECT member, enabled, state, rejected > 0 AS has_rejections FROM consortium_status();
-- the status texts' counts agree with their nouns (ops21: "1 apply errors")
SELECT _counted(0, 'apply error', 'apply errors') AS none, _counted(1, 'apply error', 'apply errors') AS one,
       _counted(2::bigint, 'row is', 'rows are') AS two, _counted(NULL, 'row', 'rows') AS unknown;
-- a quarantine that can never be released (ops21): close_quarantine()
-- refuses one holding no row (a release ends it) or rows no release has
-- re-checked; closed, the chain stays held back, its rows kept
SELECT quarantine_chain('b.example/log', 'reading', 'B9', 'forged row at position 2');
SELECT close_quarantine('b.example/log', 'reading', 'B9');
SELECT close_quarantine('b.example/log', 'reading', 'B8');
INSERT INTO held_row (origin, tbl, chain_key, seq, row_data) VALUES ('b.example/log', 'public.reading', 'B9', 2, '{}');
SELECT close_quarantine('b.example/log', 'reading', 'B9');
UPDATE held_row SET problem = 'battledger refused a row (hash_mismatch)' WHERE chain_key = 'B9';
SELECT close_quarantine('b.example/log', 'reading', 'B9', 'the consortium was told') AS kept_held;
\set VERBOSITY terse
SELECT close_quarantine('b.example/log', 'reading', 'B9');
\set VERBOSITY default
SELECT tbl, chain_key, reason, closed_at IS NOT NULL AS closed, closed_reason FROM quarantine;
DELETE FROM held_row WHERE chain_key = 'B9';
DELETE FROM quarantine WHERE chain_key = 'B9';
-- monitoring (ops21): a role with pg_monitor alone reads the status and
-- health() a superuser reads, row for row; a role without it is refused
CREATE ROLE consortium_monitor IN ROLE pg_monitor;
CREATE ROLE consortium_plain;
SELECT string_agg(s::text, ' | ' ORDER BY s.member) AS status_seen FROM consortium_status() s \gset owner_
-- (all but seconds_since_checkpoint, which moves between the two calls)
SELECT (h.origin, h.pending_rows, h.log_size, h.last_checkpoint_at, h.cosigned_size, h.uncosigned_leaves,
        h.members, h.members_not_ok, h.rejections, h.held_rows)::text AS health_seen FROM health() h \gset owner_
SET ROLE consortium_monitor;
SELECT count(*) AS members, string_agg(s::text, ' | ' ORDER BY s.member) = :'owner_status_seen' AS same_status
  FROM consortium_status() s;
SELECT (h.origin, h.pending_rows, h.log_size, h.last_checkpoint_at, h.cosigned_size, h.uncosigned_leaves,
        h.members, h.members_not_ok, h.rejections, h.held_rows)::text = :'owner_health_seen' AS same_health FROM health() h;
SET ROLE consortium_plain;
SELECT * FROM consortium_status();
SELECT * FROM health();
RESET ROLE;
DROP ROLE consortium_monitor, consortium_plain;
SELECT witness_vkey();

-- proofs: a checkpoint with cosignatures can be asked for
SELECT seal() IS NOT NULL AS sealed;
SELECT tlog_proof(0, 1);
SELECT tlog_proof(0) LIKE 'c2sp.org/tlog-proof@v1%' AS proof_without_cosignatures;
-- privileges: joining and publishing are for the DBA
SELECT has_function_privilege('public', 'battledger.join(text, text, text, text)', 'EXECUTE') AS public_may_join,
       has_function_privilege('public', 'battledger.publish_member()', 'EXECUTE') AS public_may_publish,
       has_table_privilege('public', 'battledger.rejections', 'SELECT') AS public_reads_rejections,
       has_table_privilege('public', 'battledger.cosignature', 'INSERT') AS public_may_cosign;
DROP PUBLICATION battledger_member;
