-- consortium_status()'s reason for a join's copy waiting for a worker
-- (40_copy_waiting.replace): an internal function, as in the install part
REVOKE ALL ON FUNCTION @extschema@._copy_wait_reason(oid) FROM PUBLIC;
