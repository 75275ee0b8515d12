-- issue 15 (fold25): a battery's fold cache keeps the members, keys and
-- namespaces its fold read (deps) and is voided only by a change to one of
-- them, not by any member, key or namespace row (80_registry.sql,
-- fold_subject_changes).  The cache is unlogged and rebuilt on demand:
-- emptied here, as its rows have no deps.
ALTER TABLE @extschema@.fold_inputs ADD COLUMN resets bigint NOT NULL DEFAULT 0;
CREATE TABLE @extschema@.fold_subject_changes (
    subject text PRIMARY KEY,
    changes bigint NOT NULL
);
REVOKE ALL ON @extschema@.fold_subject_changes FROM PUBLIC;
TRUNCATE @extschema@.battery_fold_cache;
ALTER TABLE @extschema@.battery_fold_cache ADD COLUMN deps text[] NOT NULL, ADD COLUMN dep_sum bigint NOT NULL;
-- host_pin's trigger names its member (a row trigger), and a TRUNCATE voids every cache
DROP TRIGGER battledger_fold_inputs ON @extschema@.host_pin;
CREATE TRIGGER battledger_fold_inputs AFTER INSERT OR UPDATE OR DELETE ON @extschema@.host_pin
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
CREATE TRIGGER battledger_fold_inputs_truncate AFTER TRUNCATE ON @extschema@.host_pin
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._fold_inputs_changed();
ALTER TABLE @extschema@.host_pin ENABLE ALWAYS TRIGGER battledger_fold_inputs;
ALTER TABLE @extschema@.host_pin ENABLE ALWAYS TRIGGER battledger_fold_inputs_truncate;
