-- every issuing row, local or arriving, records the holder it displaces
-- (_passport_holder_arrived(), replaced above)
CREATE TRIGGER battledger_passport_holder AFTER INSERT ON @extschema@.battery_event
    FOR EACH ROW
    WHEN (NEW.passport_id IS NOT NULL
          AND (NEW.event = 'placed_on_market'
               OR (NEW.event = 'status_changed' AND NEW.new_status IN ('re-used', 'repurposed', 'remanufactured'))))
    EXECUTE FUNCTION @extschema@._passport_holder_arrived();
ALTER TABLE @extschema@.battery_event ENABLE ALWAYS TRIGGER battledger_passport_holder;
