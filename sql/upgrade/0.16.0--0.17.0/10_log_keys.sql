-- _log_keys_problem(): join() takes a member's log keys oldest first,
-- repin_log_key() checks the whole pinned list, consortium_status() says
-- "bad log keys" (replaced below from 90_consortium.sql); internal.
CREATE FUNCTION @extschema@._log_keys_problem(log_vkey text, origin text) RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_log_keys_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION @extschema@._log_keys_problem(text, text) FROM PUBLIC;
