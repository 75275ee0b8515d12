-- The writer's cache of battery states, kept on arrival too (issue 15:
-- passport() on a member that only receives a battery's rows); the trigger
-- function comes from 30_fold_arrived.replace.  Every replica's cache fills
-- as lifecycle rows arrive; until a battery's next one, its reads fold
-- whole, as in 0.7.0.
CREATE TRIGGER zz_battledger_fold_arrived AFTER INSERT ON @extschema@.battery_event
    FOR EACH ROW
    WHEN (NEW.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                        'handover', 'handover_accepted'))
    EXECUTE FUNCTION @extschema@._battery_fold_arrived();
ALTER TABLE @extschema@.battery_event ENABLE REPLICA TRIGGER zz_battledger_fold_arrived;
