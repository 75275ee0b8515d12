-- The log queue costs no WAL (issue 15): log_pending becomes UNLOGGED, keeping
-- the rows queued under 0.3.0; log_pending_intact says the queue is whole, and
-- once a crash or failover resets both, seal() re-queues from the tables.
ALTER TABLE @extschema@.log_pending SET UNLOGGED;
CREATE UNLOGGED TABLE @extschema@.log_pending_intact (  -- one row while the queue is whole
    intact boolean NOT NULL DEFAULT true CHECK (intact)
);
INSERT INTO @extschema@.log_pending_intact DEFAULT VALUES;
REVOKE ALL ON @extschema@.log_pending_intact FROM PUBLIC;
GRANT SELECT ON @extschema@.log_pending_intact TO PUBLIC;
-- health() counts the queue through this function: a standby cannot plan a
-- query over an unlogged table
CREATE FUNCTION @extschema@._pending_rows() RETURNS bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT count(*) FROM @extschema@.log_pending);
END $$;
REVOKE ALL ON FUNCTION @extschema@._pending_rows() FROM PUBLIC;
