GRANT SELECT ON @extschema@._member_hosts, @extschema@._member_rows_counted TO PUBLIC;
CREATE TRIGGER battledger_host_pin AFTER INSERT ON @extschema@.member_event
    FOR EACH ROW WHEN (NEW.event = 'added') EXECUTE FUNCTION @extschema@._pin_first_host();
ALTER TABLE @extschema@.member_event ENABLE ALWAYS TRIGGER battledger_host_pin;
CREATE TRIGGER battledger_keys_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.host_pin
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@.host_pin ENABLE ALWAYS TRIGGER battledger_keys_changed;
CREATE TRIGGER battledger_fold_inputs AFTER INSERT OR UPDATE OR DELETE ON @extschema@.host_pin
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._fold_inputs_changed();
ALTER TABLE @extschema@.host_pin ENABLE ALWAYS TRIGGER battledger_fold_inputs;
REVOKE ALL ON FUNCTION @extschema@.pin_member_host(text, text), @extschema@._pin_first_host() FROM PUBLIC;
