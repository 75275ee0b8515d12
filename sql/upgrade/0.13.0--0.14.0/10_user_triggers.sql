-- 0.14.0: consortium_status() names this database's own triggers that fire on
-- arriving rows (10_user_triggers.replace creates _arrival_triggers()); not PUBLIC's
REVOKE ALL ON FUNCTION @extschema@._arrival_triggers() FROM PUBLIC;
