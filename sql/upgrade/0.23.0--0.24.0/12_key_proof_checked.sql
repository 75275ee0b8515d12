-- (kproof24) the trigger checking each proof as it arrives, and the proofs
-- already here checked once
CREATE TRIGGER battledger_key_proof_checked AFTER INSERT ON @extschema@.key_proof
    FOR EACH ROW EXECUTE FUNCTION @extschema@._key_proof_arrived();
ALTER TABLE @extschema@.key_proof ENABLE ALWAYS TRIGGER battledger_key_proof_checked;
CREATE TRIGGER battledger_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@._key_proof_checked
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@._key_proof_checked ENABLE ALWAYS TRIGGER battledger_keys_changed;
REVOKE ALL ON FUNCTION @extschema@._key_proof_arrived(), @extschema@.key_proof_rebuild(),
    @extschema@.key_proof_check(), @extschema@._key_proof_computed() FROM PUBLIC;
SELECT @extschema@.key_proof_rebuild();
