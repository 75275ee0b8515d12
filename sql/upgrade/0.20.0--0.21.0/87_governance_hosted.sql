-- the triggers of 86_governance_hosted.replace's function (its REVOKE is in
-- 99_privileges.sql): a key or roles row written here for a member another
-- origin added is refused (BL044), and so is adding a member twice
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.key_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._governance_rules();
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.member_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._governance_rules();
