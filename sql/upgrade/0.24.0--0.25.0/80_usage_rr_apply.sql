-- the report trigger's reading of a commitment's disclosure with the latest
-- snapshot (80_usage_rr_apply.replace calls it): as in 87_usage_state.sql
CREATE FUNCTION @extschema@._usage_disclosure_latest(commitment @extschema@.hash256) RETURNS jsonb
    LANGUAGE C STRICT AS 'MODULE_PATHNAME', 'bl_usage_disclosure_latest';
REVOKE ALL ON FUNCTION @extschema@._usage_disclosure_latest(@extschema@.hash256) FROM PUBLIC;
