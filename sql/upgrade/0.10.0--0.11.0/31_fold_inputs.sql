-- G1: _fold_generation() counted the rows of member_event, key_event and
-- id_namespace at every check of a battery's cache; a member adding keys by
-- the hundred thousand slowed every member's apply worker and readers.  One
-- row counts what they receive (its trigger, _fold_inputs_changed(), comes
-- from 30_fold_inputs.replace).  Its start value does not matter: the
-- generation's form changes, so every cache row is void once (and the cache
-- was emptied by 20_passport_holder_moved.sql).
CREATE TABLE @extschema@.fold_inputs (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    changes bigint NOT NULL
);
INSERT INTO @extschema@.fold_inputs VALUES (true, 0);
GRANT SELECT ON @extschema@.fold_inputs TO PUBLIC;
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.member_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.key_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.id_namespace
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
ALTER TABLE @extschema@.member_event ENABLE ALWAYS TRIGGER battledger_fold_inputs;
ALTER TABLE @extschema@.key_event ENABLE ALWAYS TRIGGER battledger_fold_inputs;
ALTER TABLE @extschema@.id_namespace ENABLE ALWAYS TRIGGER battledger_fold_inputs;
