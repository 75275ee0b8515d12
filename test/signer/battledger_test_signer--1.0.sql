-- TEST ONLY.  Private keys in SQL are exactly what battledger forbids in
-- production; this exists so regression tests can make deterministic signatures.
\echo Use "CREATE EXTENSION battledger_test_signer" to load this file. \quit
CREATE FUNCTION @extschema@.public_key(seed bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'test_public_key' LANGUAGE C IMMUTABLE STRICT;
CREATE FUNCTION @extschema@.sign(seed bytea, message bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'test_sign' LANGUAGE C IMMUTABLE STRICT;
-- a fixed test key per name: seed = SHA-256(name)
CREATE FUNCTION @extschema@.seed(name text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT pg_catalog.sha256(pg_catalog.convert_to(name, 'UTF8')) $$;
REVOKE ALL ON FUNCTION @extschema@.public_key(bytea), @extschema@.sign(bytea, bytea) FROM PUBLIC;
