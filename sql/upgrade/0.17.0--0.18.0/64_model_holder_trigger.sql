-- battery_model's rules trigger (red team r20, F4), after its function
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.battery_model
    FOR EACH ROW EXECUTE FUNCTION @extschema@._model_rules();
