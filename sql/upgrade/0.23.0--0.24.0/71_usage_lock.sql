-- (r31 L1) the usage triggers' turn on a commitment, a lock no role can take
-- with pg_advisory_lock() (70_usage_lock.replace calls it)
CREATE FUNCTION @extschema@._usage_lock(commitment @extschema@.hash256) RETURNS void
    AS 'MODULE_PATHNAME', 'battledger_usage_lock' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION @extschema@._usage_lock(@extschema@.hash256) FROM PUBLIC;
