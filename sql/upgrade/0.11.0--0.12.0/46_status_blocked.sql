-- consortium_status() says "blocked" while a replication worker waits on a lock
-- (red team r12x X1): the reason, read before 47_status_blocked.replace needs it
CREATE FUNCTION @extschema@._lock_wait_reason(sub oid) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_subscription w, pg_catalog.pg_stat_get_activity(w.pid) a
                    WHERE w.subid = sub AND (a.wait_event_type = 'Lock' OR a.backend_start IS NULL)) THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT pg_catalog.format('A replication worker has waited %s s for a lock on %s held by pid %s: it applies nothing meanwhile (pg_locks; end or wait for that session).',
                                     pg_catalog.round(extract(epoch FROM pg_catalog.now() - min(l.waitstart))),
                                     pg_catalog.string_agg(DISTINCT coalesce(l.relation::regclass::text, l.locktype), ', '),
                                     coalesce(pg_catalog.string_agg(DISTINCT b::text, ', '), '?'))
              FROM pg_catalog.pg_stat_subscription w
              JOIN pg_catalog.pg_locks l ON l.pid = w.pid AND NOT l.granted
              LEFT JOIN LATERAL pg_catalog.unnest(pg_catalog.pg_blocking_pids(l.pid)) b ON true
             WHERE w.subid = sub
            HAVING min(l.waitstart) < pg_catalog.now() - pg_catalog.current_setting('deadlock_timeout')::interval);
END $$;

REVOKE ALL ON FUNCTION @extschema@._lock_wait_reason(oid) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.consortium_status() IS
    'for each member: subscription state and its reason (read from pg_stat_subscription, pg_subscription_rel, apply errors, lock waits, conflicts), how far it is behind this member''s WAL, last checkpoint verified, rejections, cosignatures both ways';
