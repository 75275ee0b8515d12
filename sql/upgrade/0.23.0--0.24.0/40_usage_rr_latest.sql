-- the disclosure trigger's count of a commitment's usage reports with the
-- latest snapshot (40_usage_rr.replace calls it): as in 87_usage_state.sql
CREATE FUNCTION @extschema@._usage_reports_latest(commitment @extschema@.hash256) RETURNS bigint
    LANGUAGE C STRICT AS 'MODULE_PATHNAME', 'bl_usage_reports_latest';
REVOKE ALL ON FUNCTION @extschema@._usage_reports_latest(@extschema@.hash256) FROM PUBLIC;
