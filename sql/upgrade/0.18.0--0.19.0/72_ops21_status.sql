-- ops21: monitoring roles read the status (as health()); closing a
-- quarantine is the DBA's
GRANT EXECUTE ON FUNCTION @extschema@.consortium_status() TO pg_monitor;
COMMENT ON FUNCTION @extschema@.close_quarantine(text, regclass, text, text) IS
    'close a quarantine that release_chain() cannot end: its rows stay held for good, as evidence, and consortium_status() no longer counts it';
REVOKE ALL ON FUNCTION @extschema@.close_quarantine(text, regclass, text, text) FROM PUBLIC;
