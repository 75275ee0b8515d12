-- pop23: the keys view reads proofs of possession for a contested key
-- (sql/install/50_members_keys.sql); key_proof's triggers and privileges.
CREATE OR REPLACE VIEW @extschema@.keys AS
    SELECT g.key_id, g.member, g.public_key,
           CASE WHEN g.contested THEN (@extschema@._key_member_validity(g.key_id, g.member)).valid_from
                ELSE g.valid_from END AS valid_from,
           CASE WHEN g.contested THEN (@extschema@._key_member_validity(g.key_id, g.member)).valid_until
                ELSE g.valid_until END AS valid_until,
           (SELECT min(r.revoked_at) FROM @extschema@._key_rows_counted r
             WHERE r.key_id OPERATOR(@extschema@.=) g.key_id AND r.event = 'revoked' AND r.member = g.member) AS revoked_at
      FROM (SELECT a.key_id, a.public_key, min(a.member) <> max(a.member) AS contested,
                   CASE WHEN min(a.member) = max(a.member) THEN min(a.member)
                        ELSE @extschema@._key_proven_member(a.key_id) END AS member,
                   max(a.valid_from) AS valid_from, min(a.valid_until) AS valid_until
              FROM @extschema@._key_rows_counted a
             WHERE a.event = 'added'
             GROUP BY a.key_id, a.public_key) g
     WHERE g.member IS NOT NULL;
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
