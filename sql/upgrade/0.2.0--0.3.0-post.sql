
-- The DDL guard watches objects, not command tags: more tags reach it.
DROP EVENT TRIGGER battledger_ddl_guard;
CREATE EVENT TRIGGER battledger_ddl_guard ON ddl_command_start
    -- by object, not by command: ALTER INDEX/VIEW/SEQUENCE ... can name a table too
    WHEN TAG IN ('ALTER TABLE', 'ALTER TRIGGER', 'CREATE TABLE', 'ALTER SCHEMA', 'ALTER INDEX', 'ALTER VIEW',
                 'ALTER SEQUENCE', 'ALTER MATERIALIZED VIEW', 'ALTER FOREIGN TABLE', 'CREATE TRIGGER',
                 'DROP INDEX', 'DROP EXTENSION', 'DROP SCHEMA')
    EXECUTE FUNCTION @extschema@._ddl_guard();
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;

-- verify_log() reads the queue to tell queued rows from rows added behind the guards
GRANT SELECT ON @extschema@.log_pending TO PUBLIC;
