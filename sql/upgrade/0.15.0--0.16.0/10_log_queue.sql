
-- The log trigger no longer reads a transition table: the chain trigger
-- records each row it chains and the log trigger writes those entries to
-- log_pending at the statement's end (src/pg/log_queue.c).  Every ledger
-- table's log trigger is recreated without REFERENCING NEW TABLE, which made
-- PostgreSQL copy every inserted row into a tuplestore; its firing mode is
-- kept.  The guards refuse trigger DDL on ledger tables: off meanwhile.
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER EVENT TRIGGER battledger_drop_guard DISABLE;
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT g.tgrelid::pg_catalog.regclass AS tbl, g.tgenabled
               FROM pg_catalog.pg_trigger g
              WHERE g.tgname = 'battledger_log' AND g.tgnewtable IS NOT NULL
                AND g.tgrelid IN (SELECT l.tbl::pg_catalog.oid FROM @extschema@.ledger_tables l)
              ORDER BY g.tgrelid LOOP
        EXECUTE format('DROP TRIGGER battledger_log ON %s', t.tbl);
        EXECUTE format('CREATE TRIGGER battledger_log AFTER INSERT ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._log_trigger()', t.tbl);
        IF t.tgenabled <> 'O' THEN
            EXECUTE format('ALTER TABLE %s %s TRIGGER battledger_log', t.tbl,
                           CASE t.tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'A' THEN 'ENABLE ALWAYS'
                                            WHEN 'R' THEN 'ENABLE REPLICA' END);
        END IF;
    END LOOP;
END $$;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
ALTER EVENT TRIGGER battledger_drop_guard ENABLE ALWAYS;
