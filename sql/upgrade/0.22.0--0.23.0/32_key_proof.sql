-- pop23: key_proof's triggers and privileges (the keys view, which reads
-- proofs of possession for a contested key: 31_key_proof.replace).
GRANT SELECT ON @extschema@.key_proof TO PUBLIC;
CREATE TRIGGER battledger_keys_changed AFTER INSERT ON @extschema@.key_proof
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@.key_proof ENABLE ALWAYS TRIGGER battledger_keys_changed;
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.key_proof
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
ALTER TABLE @extschema@.key_proof ENABLE ALWAYS TRIGGER battledger_fold_inputs;
REVOKE ALL ON FUNCTION @extschema@.prove_key(@extschema@.hash256, bytea, text) FROM PUBLIC;
-- a member that publishes: key_proof joins its publication (its
-- subscribers: ALTER SUBSCRIPTION ... REFRESH PUBLICATION once they run
-- 0.23.0 too; docs/consortium.md, "Adding a ledger table later")
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = 'battledger_member') THEN
        PERFORM @extschema@.publish_member();
    END IF;
END $$;
