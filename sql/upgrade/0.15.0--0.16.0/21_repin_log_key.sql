
-- repin_log_key() (created above from 90_consortium.sql): a member's log key
-- rotation reaches its peers without a new join; superuser only, like join().
COMMENT ON FUNCTION @extschema@.repin_log_key(text, text) IS
    'pin the new log key of a member that rotated it (kept oldest first); returns the ALTER SUBSCRIPTION that restarts its subscription (psql: \gexec)';
REVOKE ALL ON FUNCTION @extschema@.repin_log_key(text, text) FROM PUBLIC;
