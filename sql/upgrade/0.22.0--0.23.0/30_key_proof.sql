-- pop23: proofs of possession (docs/security.md, 0.23.0).  A key whose
-- counted rows name two members signs for the one member that proved it
-- holds the key (a new ledger table, key_proof, and the C check the readers
-- run on its rows); the functions: 31_key_proof.replace; the keys view, the
-- triggers and privileges: 32_key_proof.sql.
CREATE TABLE @extschema@.key_proof (
    key_id      @extschema@.hash256 NOT NULL,
    member      text NOT NULL,
    public_key  bytea NOT NULL CHECK (length(public_key) = 32),
    signature   bytea NOT NULL CHECK (length(signature) = 64),
    at          timestamptz NOT NULL DEFAULT now(),
    CHECK (key_id = @extschema@.key_id(public_key))
);
SELECT @extschema@.enable_ledger('@extschema@.key_proof', 'member');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.key_proof', '');
CREATE INDEX key_proof_key_id ON @extschema@.key_proof (key_id);

-- key_possession_message(member text, public_key bytea) RETURNS bytea
CREATE FUNCTION @extschema@.key_possession_message(member text, public_key bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'battledger_key_possession_message' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- _key_possession_valid(member text, public_key bytea, signature bytea) RETURNS boolean:
-- false, never an error, for malformed or weak keys (a reader must not fail
-- on a row a superuser wrote past the table's checks)
CREATE FUNCTION @extschema@._key_possession_valid(member text, public_key bytea, signature bytea) RETURNS boolean
    AS 'MODULE_PATHNAME', 'battledger_key_possession_valid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
