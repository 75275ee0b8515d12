-- The usage state's triggers and privileges (87_usage_state.sql), then the
-- state built from the reports already here, with each battery's
-- thresholds as of now.
CREATE TRIGGER zz_battledger_usage_state AFTER INSERT ON @extschema@.battery_event
    FOR EACH ROW WHEN (NEW.event = 'soh_reported' AND NEW.restricted IS NOT NULL)
    EXECUTE FUNCTION @extschema@._usage_state_reported();
ALTER TABLE @extschema@.battery_event ENABLE ALWAYS TRIGGER zz_battledger_usage_state;
CREATE TRIGGER battledger_usage_state AFTER INSERT ON @extschema@.disclosure
    FOR EACH ROW WHEN (NEW.tier = 'legitimate_interest')
    EXECUTE FUNCTION @extschema@._usage_state_disclosed();
ALTER TABLE @extschema@.disclosure ENABLE ALWAYS TRIGGER battledger_usage_state;
CREATE TRIGGER battledger_usage_state_erased AFTER UPDATE OR DELETE ON @extschema@.disclosure
    FOR EACH ROW EXECUTE FUNCTION @extschema@._usage_state_erased();
ALTER TABLE @extschema@.disclosure ENABLE ALWAYS TRIGGER battledger_usage_state_erased;
CREATE TRIGGER battledger_usage_state_emptied AFTER TRUNCATE ON @extschema@.disclosure
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._usage_state_erased();
REVOKE ALL ON FUNCTION @extschema@._usage_thresholds(@extschema@.battery_event, @extschema@.battery_model),
    @extschema@._usage_state_add(@extschema@.battery_id, timestamptz, text, bigint, jsonb),
    @extschema@._usage_state_compute(@extschema@.battery_id, numeric, numeric, numeric, numeric),
    @extschema@._usage_derived_state(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model),
    @extschema@.usage_state_rebuild(@extschema@.battery_id), @extschema@.usage_state_check(),
    @extschema@._usage_state_reported(), @extschema@._usage_state_disclosed(), @extschema@._usage_state_erased()
    FROM PUBLIC;
SELECT @extschema@.usage_state_rebuild();
