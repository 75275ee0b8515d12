-- _origin(): battledger.origin as the loaded library reads it, for the
-- rules that decide by "here" (red team r28, P1, P2: a placeholder SET
-- before the library loads passed for another origin), and for
-- _member_hosts (10_member_hosts.replace; red team r29, E1): before the
-- view, which is bound to it (was 60_origin_loaded.sql)
CREATE FUNCTION @extschema@._origin() RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_origin' LANGUAGE C STABLE PARALLEL SAFE;
