-- Proofs of possession (0.23.0, docs/security.md): a key whose counted rows
-- name two members (a member's superuser registered a competitor's public
-- key for its own member) signs for the one member that proved it holds
-- the key, if exactly one did; otherwise for neither.  As a plain role, a
-- role granted prove_key(), and a superuser writing past the rules (the
-- malicious member: this database's origin added both members here, so
-- both key rows count).
\set SHOW_CONTEXT never
\set VERBOSITY terse
CREATE EXTENSION IF NOT EXISTS battledger_test_signer;   -- TEST ONLY
SET search_path = public, battledger, battledger_test;

SELECT add_member('kp-cell.example', ARRAY['cell_maker']), add_member('kp-mal.example', ARRAY['cell_maker']);
SELECT add_key('kp-cell.example', public_key(seed('kp-cell-1')), now() - interval '1 day') IS NOT NULL AS cell_key,
       add_key('kp-mal.example', public_key(seed('kp-mal-1')), now() - interval '1 day') IS NOT NULL AS mal_key;
CREATE TABLE kp_cell (battery text, note text);
SELECT enable_ledger('kp_cell', 'battery', signed => true, signer_roles => ARRAY['cell_maker']);
CREATE FUNCTION kp_signed(seedname text, battery text, note text) RETURNS kp_cell
LANGUAGE plpgsql AS $$
DECLARE r kp_cell := jsonb_populate_record(NULL::kp_cell, jsonb_build_object('battery', battery, 'note', note));
BEGIN
    r.ledger_key_id := key_id(public_key(seed(seedname)));
    r.ledger_sig := sign(seed(seedname), signing_bytes(r));
    RETURN r;
END $$;
CREATE FUNCTION kp_signer(seedname text) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce((SELECT k.member FROM battledger.keys k WHERE k.key_id OPERATOR(battledger.=) key_id(public_key(seed(seedname)))), 'nobody')
$$;
INSERT INTO kp_cell SELECT (kp_signed('kp-cell-1', 'K1', 'before the theft')).*;

-- The message: the prefix, the member, a newline, the 32-byte public key
SELECT key_possession_message('kp-cell.example', public_key(seed('kp-cell-1')))
       = convert_to(E'battledger key-possession v1\nkp-cell.example\n', 'UTF8') || public_key(seed('kp-cell-1')) AS message_bytes;
SELECT key_possession_message('kp-cell.example', '\x01');

-- The theft: mal's superuser registers cell's public key for its own member
-- past the rules (valid only an hour, a day ago, to cut the key short too)
ALTER TABLE key_event DISABLE TRIGGER battledger_rules;
INSERT INTO key_event (key_id, member, event, public_key, valid_from, valid_until)
VALUES (key_id(public_key(seed('kp-cell-1'))), 'kp-mal.example', 'added', public_key(seed('kp-cell-1')),
        now() - interval '2 days', now() - interval '47 hours');
ALTER TABLE key_event ENABLE TRIGGER battledger_rules;
-- no proof: the key signs for neither (fail closed), and cell's row stops verifying
SELECT kp_signer('kp-cell-1') AS signer;
SELECT problem FROM verify('kp_cell');
INSERT INTO kp_cell SELECT (kp_signed('kp-cell-1', 'K2', 'no proof yet')).*;
SELECT count(*) AS named_twice FROM registry_conflicts() WHERE problem = 'key_registered_twice' AND signer LIKE 'kp-%';

-- the values the roles below pass (they may not call the test signer)
SELECT key_id(public_key(seed('kp-cell-1'))) AS kid, public_key(seed('kp-cell-1')) AS pub,
       sign(seed('kp-cell-1'), key_possession_message('kp-cell.example', public_key(seed('kp-cell-1')))) AS cell_proof,
       sign(seed('kp-mal-1'), key_possession_message('kp-mal.example', public_key(seed('kp-cell-1')))) AS mal_forgery,
       key_id(public_key(seed('kp-nobody'))) AS kid_nobody \gset

-- A plain role may build the message but not prove, nor write key_proof
CREATE ROLE kp_plain;
CREATE ROLE kp_admin;
GRANT EXECUTE ON FUNCTION prove_key(hash256, bytea, text) TO kp_admin;
SET ROLE kp_plain;
SELECT length(key_possession_message('kp-cell.example', :'pub')) AS message_length;
SELECT prove_key(:'kid', :'cell_proof');
INSERT INTO key_proof (key_id, member, public_key, signature) VALUES (:'kid', 'kp-cell.example', :'pub', :'cell_proof');
RESET ROLE;

-- prove_key() refuses what proves nothing
SET ROLE kp_admin;
-- mal cannot sign with cell's key: its own key's signature, for its member
\set VERBOSITY default
SELECT prove_key(:'kid', :'mal_forgery');
SELECT prove_key(:'kid', :'mal_forgery', 'kp-mal.example');
\set VERBOSITY terse
SELECT prove_key(:'kid', :'cell_proof', 'kp-mal.example');
SELECT prove_key(:'kid', '\x0102');
SELECT prove_key(:'kid_nobody', :'cell_proof');
SELECT prove_key(:'kid', :'cell_proof', 'kp-nobody.example');
RESET ROLE;

-- Forged proofs written straight into key_proof (a superuser past any
-- check) resolve nothing: signed by another key, for another member's
-- message (cell's own proof of another key replayed), garbage
INSERT INTO key_proof (key_id, member, public_key, signature) VALUES
    (key_id(public_key(seed('kp-cell-1'))), 'kp-mal.example', public_key(seed('kp-cell-1')),
     sign(seed('kp-mal-1'), key_possession_message('kp-mal.example', public_key(seed('kp-cell-1'))))),
    (key_id(public_key(seed('kp-cell-1'))), 'kp-mal.example', public_key(seed('kp-cell-1')),
     sign(seed('kp-mal-1'), key_possession_message('kp-mal.example', public_key(seed('kp-mal-1'))))),
    (key_id(public_key(seed('kp-cell-1'))), 'kp-mal.example', public_key(seed('kp-cell-1')), decode(repeat('5a', 64), 'hex'));
SELECT kp_signer('kp-cell-1') AS signer_after_forgeries;
-- a genuine proof by cell's key, but for cell's member, replayed under mal's name
INSERT INTO key_proof (key_id, member, public_key, signature) VALUES
    (key_id(public_key(seed('kp-cell-1'))), 'kp-mal.example', public_key(seed('kp-cell-1')),
     sign(seed('kp-cell-1'), key_possession_message('kp-cell.example', public_key(seed('kp-cell-1')))));
SELECT kp_signer('kp-cell-1') AS signer_after_replay;

-- cell proves it: the key signs for cell again, its validity its own rows'
-- (mal's row cannot cut it short), and its stored rows verify
SET ROLE kp_admin;
SELECT prove_key(:'kid', :'cell_proof') AS proved_for;
SELECT prove_key(:'kid', :'cell_proof') AS again;
RESET ROLE;
SELECT member, valid_until IS NULL AS open_ended FROM keys WHERE key_id OPERATOR(=) key_id(public_key(seed('kp-cell-1')));
SELECT count(*) AS problems FROM verify('kp_cell');
INSERT INTO kp_cell SELECT (kp_signed('kp-cell-1', 'K2', 'after the proof')).*;
SELECT battery, (_signer_at(ledger_key_id, ledger_at)).member FROM kp_cell ORDER BY ledger_seq;
-- still named, each row, with who proved it
SELECT signer, kind, regexp_replace(message, 'key [0-9a-f]{64}', 'key K') AS message
  FROM registry_conflicts() WHERE problem = 'key_registered_twice' AND signer LIKE 'kp-%' ORDER BY signer;

-- a revocation mal writes (for its own member) revokes nothing of cell's
ALTER TABLE key_event DISABLE TRIGGER battledger_rules;
INSERT INTO key_event (key_id, member, event, revoked_at)
VALUES (key_id(public_key(seed('kp-cell-1'))), 'kp-mal.example', 'revoked', now() - interval '1 hour');
ALTER TABLE key_event ENABLE TRIGGER battledger_rules;
SELECT member, revoked_at IS NULL AS not_revoked FROM keys WHERE key_id OPERATOR(=) key_id(public_key(seed('kp-cell-1')));

-- only the first proof of each origin for a member counts (a superuser's
-- garbage by the thousand must not make each probe verify each): a valid
-- proof for mal written here after its forgeries counts for nothing
INSERT INTO key_proof (key_id, member, public_key, signature) VALUES
    (key_id(public_key(seed('kp-cell-1'))), 'kp-mal.example', public_key(seed('kp-cell-1')),
     sign(seed('kp-cell-1'), key_possession_message('kp-mal.example', public_key(seed('kp-cell-1')))));
SELECT kp_signer('kp-cell-1') AS signer_late_proof;
SET ROLE kp_admin;
SELECT prove_key(:'kid', :'cell_proof') AS proved_here_again;
RESET ROLE;

-- a second key stolen the same way; the holder proving it for both members
-- settles nothing: neither
SELECT add_key('kp-cell.example', public_key(seed('kp-cell-2')), now() - interval '1 day') IS NOT NULL AS cell_key_2;
ALTER TABLE key_event DISABLE TRIGGER battledger_rules;
INSERT INTO key_event (key_id, member, event, public_key, valid_from)
VALUES (key_id(public_key(seed('kp-cell-2'))), 'kp-mal.example', 'added', public_key(seed('kp-cell-2')), now() - interval '2 days');
ALTER TABLE key_event ENABLE TRIGGER battledger_rules;
INSERT INTO key_proof (key_id, member, public_key, signature)
SELECT key_id(public_key(seed('kp-cell-2'))), m, public_key(seed('kp-cell-2')),
       sign(seed('kp-cell-2'), key_possession_message(m, public_key(seed('kp-cell-2'))))
  FROM unnest(ARRAY['kp-cell.example', 'kp-mal.example']) m;
SELECT kp_signer('kp-cell-2') AS signer_proved_twice;

-- an uncontested key never reads key_proof: a proof for a member the key
-- is not counted for changes nothing
INSERT INTO key_proof (key_id, member, public_key, signature) VALUES
    (key_id(public_key(seed('kp-mal-1'))), 'kp-cell.example', public_key(seed('kp-mal-1')),
     sign(seed('kp-mal-1'), key_possession_message('kp-cell.example', public_key(seed('kp-mal-1')))));
SELECT kp_signer('kp-mal-1') AS uncontested_signer;

-- (0.24.0) each proof was checked once as it was inserted: the local
-- record of them is the proofs' (key_proof_check() names nothing), one row
-- per key, member and origin
SELECT count(*) AS check_finds FROM key_proof_check();
SELECT c.member, c.valid, c.first_seq = (SELECT min(p.ledger_seq) FROM key_proof p
                                          WHERE p.key_id OPERATOR(=) c.key_id AND p.member = c.member
                                            AND p.ledger_origin = c.origin) AS first
  FROM _key_proof_checked c ORDER BY c.key_id::text, c.member;

-- (0.24.0) revoke_key() of a key added for two members: for the one it
-- signs for (kp-cell-1, proved by kp-cell.example), refused for one that
-- signs for neither (kp-cell-2, proved for both), naming both
\set VERBOSITY default
SELECT revoke_key(key_id(public_key(seed('kp-cell-2'))));
\set VERBOSITY terse
SELECT revoke_key(key_id(public_key(seed('kp-cell-1'))), now() + interval '1 day');
SELECT member, event FROM key_event
 WHERE key_id OPERATOR(=) key_id(public_key(seed('kp-cell-1'))) AND event = 'revoked' AND revoked_at > now();

DROP OWNED BY kp_plain, kp_admin;
DROP ROLE kp_plain;
DROP ROLE kp_admin;
