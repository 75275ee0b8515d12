-- repin_witness_key() (created above from 90_consortium.sql): a member's
-- witness key rotation reaches its peers without a new join; superuser
-- only, like join() and repin_log_key().
COMMENT ON FUNCTION @extschema@.repin_witness_key(text, text) IS
    'pin the new witness key of a member that rotated it (kept oldest first); returns the ALTER SUBSCRIPTION that restarts its subscription (psql: \gexec)';
REVOKE ALL ON FUNCTION @extschema@.repin_witness_key(text, text) FROM PUBLIC;
