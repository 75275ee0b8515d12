-- The passport hands usage values the manufacture and model it read
-- (20_usage_derived_once.replace): _passport_derived() takes them as rows.
DROP FUNCTION @extschema@._passport_derived(jsonb, @extschema@.battery_id, boolean, @extschema@.hash256);
REVOKE ALL ON FUNCTION @extschema@._passport_derived(jsonb, @extschema@.battery_id, boolean, @extschema@.battery_event, @extschema@.battery_model) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._usage_derived(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._usage_derived(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model)
    TO battledger_legitimate_interest;
