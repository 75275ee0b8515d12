-- battledger 0.1.0 -> 0.2.0, the consortium release (docs/consortium.md).
-- Built into battledger--0.1.0--0.2.0.sql with sql/install/32_enable_ledger.sql,
-- sql/upgrade/0.1.0--0.2.0-post.sql and sql/install/90_consortium.sql.
\echo Use "ALTER EXTENSION battledger UPDATE TO '0.2.0'" to load this file. \quit

-- rows from other members are checked by this trigger (src/arrive.c)
CREATE FUNCTION @extschema@._arrive_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ledger_arrive_trigger' LANGUAGE C;

-- verify() reports the origin of each chain, and can check one origin
DROP FUNCTION @extschema@.verify(regclass);
CREATE FUNCTION @extschema@.verify(tbl regclass, origin text DEFAULT NULL)
    RETURNS TABLE (origin text, chain_key text, seq bigint, problem text, detail text)
    AS 'MODULE_PATHNAME', 'battledger_verify' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.verify(regclass, text) IS
    'one row per problem in the ledger table''s chains (of one origin, if given); no rows when intact';

-- proofs can ask for a checkpoint cosigned by witnesses
DROP FUNCTION @extschema@.tlog_proof(regclass, @extschema@.hash256);
DROP FUNCTION @extschema@.tlog_proof(bigint);
CREATE FUNCTION @extschema@.tlog_proof(leaf_index bigint, min_cosignatures int DEFAULT 0) RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_tlog_proof' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.tlog_proof(bigint, int) IS
    'a C2SP tlog-proof@v1 bundle: index, inclusion proof and the latest signed checkpoint (cosigned by at least min_cosignatures witnesses), with its cosignatures';
CREATE FUNCTION @extschema@.tlog_proof(tbl regclass, ledger_hash @extschema@.hash256, min_cosignatures int DEFAULT 0) RETURNS text
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog AS $$
    SELECT @extschema@.tlog_proof(@extschema@.leaf_index(tbl, ledger_hash), min_cosignatures)
$$;
COMMENT ON FUNCTION @extschema@.tlog_proof(regclass, @extschema@.hash256, int) IS
    'the tlog-proof@v1 bundle for the row of tbl whose ledger_hash is given (NULL if not sealed yet)';
