-- The writer's cache of battery states, kept on arrival too (issue 15:
-- passport() on a member that only receives a battery's rows).  New objects
-- only: every replica's cache fills as lifecycle rows arrive; until a
-- battery's next one, its reads fold whole, as in 0.7.0.
CREATE FUNCTION @extschema@._battery_fold_arrived() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c record;
BEGIN
    -- a row before the cache's horizon is left for the readers to fold whole:
    -- folding the whole life here for each would let a member that sends
    -- thousands of lifecycle rows dated just before another member's last
    -- one make the apply worker's work grow with their square
    SELECT f.last_at, f.last_origin, f.last_seq INTO c
      FROM @extschema@.battery_fold_cache f WHERE f.battery_id OPERATOR(@extschema@.=) NEW.battery_id;
    IF NOT FOUND OR (NEW.ledger_at, NEW.ledger_origin, NEW.ledger_seq) > (c.last_at, c.last_origin, c.last_seq) THEN
        PERFORM @extschema@._battery_state_cached(NEW.battery_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER zz_battledger_fold_arrived AFTER INSERT ON @extschema@.battery_event
    FOR EACH ROW
    WHEN (NEW.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                        'handover', 'handover_accepted'))
    EXECUTE FUNCTION @extschema@._battery_fold_arrived();
ALTER TABLE @extschema@.battery_event ENABLE REPLICA TRIGGER zz_battledger_fold_arrived;
