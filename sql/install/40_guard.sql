-----------------------------------------------------------------------------
-- DDL guard
-----------------------------------------------------------------------------
CREATE FUNCTION @extschema@._ddl_guard() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'ledger_ddl_guard' LANGUAGE C;

CREATE FUNCTION @extschema@._drop_guard() RETURNS event_trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
BEGIN
    IF to_regclass('@extschema@.ledger_tables') IS NULL THEN
        RETURN;   -- the extension itself is being dropped
    END IF;
    FOR r IN
        SELECT d.object_type, d.object_identity
          FROM pg_event_trigger_dropped_objects() d
         -- the table, or one of its columns (dropped through a type, domain or collation's CASCADE)
         WHERE (d.classid = 'pg_class'::regclass
                AND d.objid IN (SELECT l.tbl::oid FROM @extschema@.ledger_tables l))
            OR (d.object_type = 'index'
                AND (d.schema_name, d.object_name) IN
                    (SELECT n.nspname, l.chain_index
                       FROM @extschema@.ledger_tables l
                       JOIN pg_class c ON c.oid = l.tbl
                       JOIN pg_namespace n ON n.oid = c.relnamespace))
            OR (d.object_type = 'trigger'
                AND split_part(d.object_identity, ' on ', 1) IN ('zz_battledger_chain', 'battledger_append_only', 'battledger_log',
                                                                 'zz_battledger_arrive')
                AND to_regclass(substr(d.object_identity, strpos(d.object_identity, ' on ') + 4))::oid
                    IN (SELECT l.tbl::oid FROM @extschema@.ledger_tables l))
    LOOP
        RAISE EXCEPTION 'cannot drop % %', r.object_type, r.object_identity
            USING ERRCODE = 'BL002',
                  DETAIL = 'Ledger tables, their chain indexes and their ledger triggers are permanent.',
                  HINT = 'Ledger history is never deleted; stop writing to the table instead.';
    END LOOP;
END $$;

CREATE EVENT TRIGGER battledger_ddl_guard ON ddl_command_start
    -- by object, not by command: ALTER INDEX/VIEW/SEQUENCE ... can name a table too
    WHEN TAG IN ('ALTER TABLE', 'ALTER TRIGGER', 'CREATE TABLE', 'ALTER SCHEMA', 'ALTER INDEX', 'ALTER VIEW',
                 'ALTER SEQUENCE', 'ALTER MATERIALIZED VIEW', 'ALTER FOREIGN TABLE', 'CREATE TRIGGER',
                 'DROP INDEX', 'DROP EXTENSION', 'DROP SCHEMA', 'CREATE RULE',
                 -- ALTER TYPE ... RENAME VALUE of an enum a ledger column holds
                 'ALTER TYPE')
    EXECUTE FUNCTION @extschema@._ddl_guard();
CREATE EVENT TRIGGER battledger_drop_guard ON sql_drop
    EXECUTE FUNCTION @extschema@._drop_guard();
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
ALTER EVENT TRIGGER battledger_drop_guard ENABLE ALWAYS;

