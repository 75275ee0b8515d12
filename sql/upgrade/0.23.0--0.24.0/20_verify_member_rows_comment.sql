-- verify_member() checks the member's rows against its leaves (r30 P1): its comment says so
COMMENT ON FUNCTION @extschema@.verify_member(text) IS
    'check everything received from a member: its chains, that its leaves name rows received, that its rows are in its log once it has sealed past them, its latest checkpoint''s root';
