-- _witness_keys_problem(): join() takes a member's witness keys oldest
-- first, repin_witness_key() (below) pins a rotated one; internal.
CREATE FUNCTION @extschema@._witness_keys_problem(witness_vkey text, origin text) RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_witness_keys_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION @extschema@._witness_keys_problem(text, text) FROM PUBLIC;
