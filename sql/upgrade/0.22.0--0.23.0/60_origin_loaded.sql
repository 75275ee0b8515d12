-- _origin(): battledger.origin as the loaded library reads it, for the
-- rules that decide by "here" (red team r28, P1, P2: a placeholder SET
-- before the library loads passed for another origin)
CREATE FUNCTION @extschema@._origin() RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_origin' LANGUAGE C STABLE PARALLEL SAFE;
