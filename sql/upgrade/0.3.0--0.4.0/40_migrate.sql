-- Progress lines for PL/pgSQL work (migrate_to_ledger(), verify_member()):
-- the C function, repeated from sql/install/34_migrate.sql (the .replace
-- extractor copies $$ bodies only).  Every role may call it (it only raises
-- a NOTICE) and the owners running migrate_to_ledger() need it.
CREATE FUNCTION @extschema@._progress(what text, unit text, done bigint, total bigint,
                                      started timestamptz, last timestamptz)
    RETURNS timestamptz AS 'MODULE_PATHNAME', 'battledger_progress' LANGUAGE C VOLATILE STRICT;

-- The DDL guard also sees ALTER TYPE (RENAME VALUE of an enum a ledger
-- column holds: rows hash enum values by label).
DROP EVENT TRIGGER battledger_ddl_guard;
CREATE EVENT TRIGGER battledger_ddl_guard ON ddl_command_start
    -- by object, not by command: ALTER INDEX/VIEW/SEQUENCE ... can name a table too
    WHEN TAG IN ('ALTER TABLE', 'ALTER TRIGGER', 'CREATE TABLE', 'ALTER SCHEMA', 'ALTER INDEX', 'ALTER VIEW',
                 'ALTER SEQUENCE', 'ALTER MATERIALIZED VIEW', 'ALTER FOREIGN TABLE', 'CREATE TRIGGER',
                 'DROP INDEX', 'DROP EXTENSION', 'DROP SCHEMA', 'CREATE RULE',
                 -- ALTER TYPE ... RENAME VALUE of an enum a ledger column holds
                 'ALTER TYPE')
    EXECUTE FUNCTION @extschema@._ddl_guard();
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
