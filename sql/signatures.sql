-- Members, keys and signed ledger rows: every refusal path, and verify().
\set SHOW_CONTEXT never
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY: signs with seeds given in SQL
SET search_path = public, battledger, battledger_test;

-- Members and keys (deterministic test keys: seed = SHA-256(name))
SELECT add_member('oem.example', ARRAY['oem', 'pack_maker']);
SELECT add_member('fleet.example', ARRAY['fleet_operator']);
SELECT add_member('miner.example', ARRAY['miner']);
SELECT add_key('oem.example', public_key(seed('oem-1'))) AS oem_key;
SELECT add_key('fleet.example', public_key(seed('fleet-1'))) AS fleet_key;
SELECT add_key('miner.example', public_key(seed('miner-1'))) AS miner_key;
SELECT add_key('oem.example', public_key(seed('oem-future')), valid_from => now() + interval '1 day');
SELECT add_key('oem.example', public_key(seed('oem-old')), valid_from => now() - interval '2 days',
               valid_until => now() - interval '1 day');
SELECT add_key('oem.example', public_key(seed('oem-revoked')));
SELECT revoke_key(key_id(public_key(seed('oem-revoked'))), '2025-06-01 00:00+00');
SELECT member, roles FROM members ORDER BY member;
SELECT member, key_id = key_id(public_key) AS id_matches, valid_until IS NOT NULL AS expires,
       revoked_at IS NOT NULL AS revoked FROM keys ORDER BY member, valid_from, key_id;
SELECT count(*) AS problems FROM verify('battledger.key_event');

-- registry refusals
SELECT add_member('oem.example', ARRAY['oem']);
SELECT add_member('nobody.example', ARRAY['wizard']);
SELECT add_key('ghost.example', public_key(seed('x')));
SELECT add_key('oem.example', public_key(seed('oem-1')));
SELECT add_key('oem.example', '\x0102'::bytea);
SELECT add_key('oem.example', 'not a pem'::text);
SELECT add_key('oem.example', public_key(seed('y')), '2026-01-02', '2026-01-01');
SELECT revoke_key(repeat('ab', 32)::hash256);
-- weak keys (BL018): under the identity key 01 00..00, R = identity and S = 0 sign
-- every message, so nobody may register it, nor any key of small order, any
-- non-canonical encoding (y >= 2^255-19) or any encoding of no curve point
\set VERBOSITY default
SELECT add_key('oem.example', '\x0100000000000000000000000000000000000000000000000000000000000000'::bytea);
\set VERBOSITY terse
CREATE FUNCTION add_key_refusal(k text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
BEGIN
    PERFORM add_key('oem.example', decode(k, 'hex'));
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || detail;
END $$;
SELECT what, add_key_refusal(k) FROM (VALUES
    ('identity',               '0100000000000000000000000000000000000000000000000000000000000000'),
    ('identity, sign bit set', '0100000000000000000000000000000000000000000000000000000000000080'),
    ('order 2',                'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
    ('order 2, sign bit set',  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'),
    ('order 4',                '0000000000000000000000000000000000000000000000000000000000000000'),
    ('order 4, other x',       '0000000000000000000000000000000000000000000000000000000000000080'),
    ('order 8',                '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'),
    ('order 8',                '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85'),
    ('order 8',                'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'),
    ('order 8',                'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa'),
    ('y = p: order 4 again',   'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
    ('y = p + 1: identity',    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'),
    ('y = 2: no point',        '0200000000000000000000000000000000000000000000000000000000000000')) AS t(what, k);
SELECT count(*) AS weak_keys_registered FROM key_event WHERE member = 'oem.example' AND event = 'added'
   AND public_key IN (SELECT decode(k, 'hex') FROM (VALUES ('01' || repeat('00', 31)), (repeat('00', 32))) AS t(k));
\set VERBOSITY default
-- PEM (SubjectPublicKeyInfo) is accepted; this is RFC 8410's example key
SELECT encode(public_key_from_pem('-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
-----END PUBLIC KEY-----'), 'hex') AS rfc8410_key;
-- the key id is SHA-256("battledger key v1\n" || key)
SELECT key_id(public_key(seed('oem-1'))) = sha256('battledger key v1' || '\x0a'::bytea || public_key(seed('oem-1')))::hash256 AS key_id_rule;

-- A signed ledger table
CREATE TABLE soh (battery text, soh_pct numeric, note text);
SELECT enable_ledger('soh', 'battery', signed => true, signer_roles => ARRAY['oem', 'fleet_operator']);
CREATE TABLE has_no_roles (x int);
SELECT enable_ledger('has_no_roles', signed => true);
SELECT enable_ledger('has_no_roles', signer_roles => ARRAY['oem']);
CREATE TABLE t_bad_roles (x int);
SELECT enable_ledger('t_bad_roles', signed => true, signer_roles => ARRAY['wizard']);

-- sign a row as the member holding the seed
CREATE FUNCTION signed_soh(seedname text, battery text, soh_pct numeric, note text) RETURNS soh
LANGUAGE plpgsql AS $$
DECLARE r soh := jsonb_populate_record(NULL::soh, jsonb_build_object('battery', battery, 'soh_pct', soh_pct, 'note', note));
BEGIN
    r.ledger_key_id := key_id(public_key(seed(seedname)));
    r.ledger_sig := sign(seed(seedname), signing_bytes(r));
    RETURN r;
END $$;

-- accepted: oem and fleet operator
INSERT INTO soh SELECT (signed_soh('oem-1', 'B0025', 100, 'placed on market')).*;
INSERT INTO soh SELECT (signed_soh('fleet-1', 'B0025', 93.2, 'soh reported')).*;
SELECT battery, ledger_seq, soh_pct, ledger_key_id = key_id(public_key(seed('fleet-1'))) AS by_fleet,
       ed25519_verify(public_key(seed(CASE WHEN ledger_seq = 1 THEN 'oem-1' ELSE 'fleet-1' END)),
                      signing_bytes(s), ledger_sig) AS sig_ok
  FROM soh s ORDER BY ledger_seq;
-- the signing bytes (v2) are 'BLS' 0x02, the table's name (u16 length first),
-- then the row encoding with ledger_key_id and ledger_batch, without ledger_sig,
-- ledger_at and the chain fields; v1 (rows signed before 0.3.0) lacks the name
CREATE TYPE soh_signed AS (battery text, soh_pct numeric, note text, ledger_key_id hash256, ledger_batch text);
SELECT signing_bytes(s) = '\x424c5302000a'::bytea || convert_to('public.soh', 'UTF8')
                          || row_bytes(ROW(s.battery, s.soh_pct, s.note, s.ledger_key_id, s.ledger_batch)::soh_signed)
       AS signing_bytes_rule,
       signing_bytes_v1(s) = row_bytes(ROW(s.battery, s.soh_pct, s.note, s.ledger_key_id, s.ledger_batch)::soh_signed)
       AS v1_rule,
       signing_bytes(ROW(s.battery, s.soh_pct, s.note, s.ledger_key_id, s.ledger_batch)::soh_signed, 'soh') = signing_bytes(s)
       AS named_table_rule
  FROM soh s;

-- refused: each failure has its own SQLSTATE
\set VERBOSITY default
INSERT INTO soh SELECT (signed_soh('stranger', 'B0025', 90, 'unknown key')).*;
INSERT INTO soh SELECT (signed_soh('miner-1', 'B0025', 90, 'wrong role')).*;
INSERT INTO soh SELECT (signed_soh('oem-revoked', 'B0025', 90, 'revoked key')).*;
\set VERBOSITY terse
INSERT INTO soh SELECT (signed_soh('oem-future', 'B0025', 90, 'key not yet valid')).*;
INSERT INTO soh SELECT (signed_soh('oem-old', 'B0025', 90, 'expired key')).*;
\set VERBOSITY default
-- signature by the right member over different bytes
INSERT INTO soh (battery, soh_pct, note, ledger_key_id, ledger_sig)
SELECT battery, 50, note, ledger_key_id, ledger_sig FROM signed_soh('oem-1', 'B0025', 90, 'altered after signing');
-- another member's signature under the oem's key id
INSERT INTO soh (battery, soh_pct, note, ledger_key_id, ledger_sig)
SELECT battery, soh_pct, note, key_id(public_key(seed('oem-1'))), ledger_sig FROM signed_soh('fleet-1', 'B0025', 90, 'forged');
-- a garbage signature, a malformed one, none at all
INSERT INTO soh (battery, soh_pct, ledger_key_id, ledger_sig) VALUES ('B0025', 1, key_id(public_key(seed('oem-1'))), decode(repeat('00', 64), 'hex'));
INSERT INTO soh (battery, soh_pct, ledger_key_id, ledger_sig) VALUES ('B0025', 1, key_id(public_key(seed('oem-1'))), '\x00');
INSERT INTO soh (battery, soh_pct, ledger_key_id) VALUES ('B0025', 1, key_id(public_key(seed('oem-1'))));
-- replaying an accepted row is refused (the signature is unique)
INSERT INTO soh (battery, soh_pct, note, ledger_key_id, ledger_sig)
SELECT battery, soh_pct, note, ledger_key_id, ledger_sig FROM soh WHERE ledger_seq = 1;
SELECT count(*) AS rows_after_refusals, max(ledger_seq) AS head FROM soh;

-- a role change applies from then on
SELECT set_member_roles('miner.example', ARRAY['miner', 'oem']);
INSERT INTO soh SELECT (signed_soh('miner-1', 'B0026', 99, 'now allowed')).* RETURNING battery, ledger_seq;

-- a revocation applies at once, also in the transaction that makes it, though
-- the key has just verified a row (and is cached with its OpenSSL context)
BEGIN;
INSERT INTO soh SELECT (signed_soh('miner-1', 'B0026', 98, 'before the revocation')).* RETURNING battery, ledger_seq;
SELECT revoke_key(key_id(public_key(seed('miner-1'))));
\set VERBOSITY terse
INSERT INTO soh SELECT (signed_soh('miner-1', 'B0026', 97, 'after the revocation')).*;
\set VERBOSITY default
ROLLBACK;
-- rolled back: the key verifies again
BEGIN;
INSERT INTO soh SELECT (signed_soh('miner-1', 'B0026', 98, 'revocation rolled back')).* RETURNING battery, ledger_seq;
ROLLBACK;

-- verify() re-checks every signature
SELECT count(*) AS problems FROM verify('soh');
CREATE FUNCTION tamper_soh(sql text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
    ALTER TABLE soh DISABLE TRIGGER USER;
    EXECUTE sql;
    ALTER TABLE soh ENABLE TRIGGER zz_battledger_chain;
    ALTER TABLE soh ENABLE ALWAYS TRIGGER battledger_append_only;
    ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
END $$;
BEGIN;
-- a superuser alters a value and even recomputes the chain hash: the signature still catches it
SELECT tamper_soh($$UPDATE soh SET soh_pct = 99.9 WHERE battery = 'B0025' AND ledger_seq = 2;
                UPDATE soh s SET ledger_hash = chain_hash(s.ledger_prev, s.ledger_seq, row_bytes(s))
                 WHERE battery = 'B0025' AND ledger_seq = 2$$);
SELECT * FROM verify('soh');
ROLLBACK;
-- a revocation backdated before a row was written makes that row suspect
BEGIN;
SELECT revoke_key(key_id(public_key(seed('fleet-1'))), now() - interval '1 hour');
SELECT chain_key, seq, problem FROM verify('soh');
ROLLBACK;
SELECT count(*) AS problems FROM verify('soh');

-- A weak key registered before they were refused, and a row "signed" under it
-- with R = identity, S = 0 (written here behind the triggers, as an older
-- version let them in): verify() flags both, and nothing new verifies under it.
BEGIN;
SELECT add_member('weak.example', ARRAY['oem']);
CREATE FUNCTION tamper(tbl regclass, sql text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
    EXECUTE format('ALTER TABLE %s DISABLE TRIGGER USER', tbl);
    EXECUTE sql;
    EXECUTE format('ALTER TABLE %s ENABLE TRIGGER zz_battledger_chain', tbl);
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER battledger_append_only', tbl);
    ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
END $$;
SELECT tamper('battledger.key_event', $$
    INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from, ledger_origin,
                                      ledger_seq, ledger_prev, ledger_hash)
    SELECT key_id(k), 'weak.example', 'added', k, now() - interval '1 hour',
           (SELECT ledger_origin FROM battledger.key_event LIMIT 1), 1, repeat('00', 32)::hash256, repeat('00', 32)::hash256
      FROM (VALUES ('\x01'::bytea || decode(repeat('00', 31), 'hex'))) AS w(k);
    UPDATE battledger.key_event ke SET ledger_hash = chain_hash(ke.ledger_prev, ke.ledger_seq, row_bytes(ke))
     WHERE member = 'weak.example'$$);
SELECT tamper('soh', $$
    INSERT INTO soh (battery, soh_pct, note, ledger_key_id, ledger_sig, ledger_at, ledger_origin,
                     ledger_seq, ledger_prev, ledger_hash)
    SELECT 'W1', 100, 'forged', key_id('\x01'::bytea || decode(repeat('00', 31), 'hex')),
           '\x01'::bytea || decode(repeat('00', 63), 'hex'), now(),
           (SELECT ledger_origin FROM soh LIMIT 1), 1, repeat('00', 32)::hash256, repeat('00', 32)::hash256;
    UPDATE soh s SET ledger_hash = chain_hash(s.ledger_prev, s.ledger_seq, row_bytes(s)) WHERE battery = 'W1'$$);
SELECT chain_key, seq, problem, detail FROM verify('battledger.key_event');
SELECT chain_key, seq, problem, detail FROM verify('soh');
SAVEPOINT forging;
INSERT INTO soh (battery, soh_pct, note, ledger_key_id, ledger_sig)
VALUES ('W2', 99, 'forged again', key_id('\x01'::bytea || decode(repeat('00', 31), 'hex')),
        '\x01'::bytea || decode(repeat('00', 63), 'hex'));
ROLLBACK TO forging;
SELECT ed25519_verify('\x01'::bytea || decode(repeat('00', 31), 'hex'), 'any message',
                      '\x01'::bytea || decode(repeat('00', 63), 'hex'));
ROLLBACK;
