-----------------------------------------------------------------------------
-- Ledger tables
-----------------------------------------------------------------------------
CREATE TABLE @extschema@.ledger_tables (
    tbl         regclass PRIMARY KEY,
    chain_by    name,
    signer_roles text[],        -- NULL: unsigned table
    builtin     boolean NOT NULL DEFAULT false,   -- the extension's own ledger tables
    chain_index name NOT NULL,  -- in the table's schema; a name, not regclass, so pg_restore
                                -- can load the registry before the index is rebuilt
    signed_v1_before timestamptz  -- signed rows (and batches) dated before this were signed
                                  -- without the table's name (signing bytes v1, before 0.3.0)
);
COMMENT ON TABLE @extschema@.ledger_tables IS 'the tables enable_ledger() made ledger tables';
-- The extension's own rows are recreated by CREATE EXTENSION, so only users' are dumped.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ledger_tables', 'WHERE NOT builtin');
REVOKE ALL ON @extschema@.ledger_tables FROM PUBLIC;
GRANT SELECT ON @extschema@.ledger_tables TO PUBLIC;

CREATE FUNCTION @extschema@._chain_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_chain_trigger' LANGUAGE C;
CREATE FUNCTION @extschema@._refuse_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_refuse_trigger' LANGUAGE C;
CREATE FUNCTION @extschema@._arrive_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_arrive_trigger' LANGUAGE C;
CREATE FUNCTION @extschema@._log_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_log_trigger' LANGUAGE C;
-- Only _register() attaches these (as the extension's owner): no other role may
-- put a ledger trigger on a table of its own making.
REVOKE ALL ON FUNCTION @extschema@._chain_trigger(), @extschema@._refuse_trigger(),
    @extschema@._arrive_trigger(), @extschema@._log_trigger() FROM PUBLIC;

CREATE FUNCTION @extschema@.verify(tbl regclass, origin text DEFAULT NULL)
    RETURNS TABLE (origin text, chain_key text, seq bigint, problem text, detail text)
    AS 'MODULE_PATHNAME', 'battledger_verify' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.verify(regclass, text) IS
    'one row per problem in the ledger table''s chains (of one origin, if given); no rows when intact';
