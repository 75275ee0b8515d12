-- ops21: monitoring roles read the status (as health())
GRANT EXECUTE ON FUNCTION @extschema@.consortium_status() TO pg_monitor;
