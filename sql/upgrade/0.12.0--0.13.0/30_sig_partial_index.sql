-----------------------------------------------------------------------------
-- The signature's unique index leaves out NULLs (issue 15)
-----------------------------------------------------------------------------
-- Until 0.12.0 every signed ledger table had a UNIQUE constraint on
-- ledger_sig: its index held an entry for every batch-signed row too, whose
-- ledger_sig is NULL and can never conflict.  From 0.13.0 enable_ledger()
-- creates a partial unique index WHERE ledger_sig IS NOT NULL instead, and
-- this part converts every signed table registered in the catalog, whoever
-- owns it and whatever its schema (ALTER EXTENSION runs as a superuser:
-- battledger.control says superuser = true).  Rows are not touched: no hash,
-- signature or leaf changes.  The new index keeps the constraint's name, so
-- an error for a replayed signature names the same object as before.
--
-- Concurrent writers: each table is locked ACCESS EXCLUSIVE before its new
-- index is built (a SHARE lock for the build, upgraded later for DROP
-- CONSTRAINT, could deadlock with a session that read the table and then
-- inserts), so a row inserted during the upgrade is either committed before
-- the build (and checked by it) or inserted after this transaction commits,
-- against the new index.  Every writer of a signed table waits for the
-- upgrade; the build reads only the per-row-signed rows into the index.
-- Tables are taken in catalog order (by OID) to keep the order predictable.
--
-- The DDL guard refuses dropping the signature's constraint (it is what
-- refuses a replayed row); it is switched off inside this transaction only,
-- and back on before the end: no other session ever sees it off.
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER EVENT TRIGGER battledger_drop_guard DISABLE;
DO $$
DECLARE
    t record;
    k record;
    tmp name;
    n int;
BEGIN
    FOR t IN
        SELECT l.tbl, n.nspname, a.attnum
          FROM @extschema@.ledger_tables l
          JOIN pg_catalog.pg_class c ON c.oid = l.tbl
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid = l.tbl AND a.attname = 'ledger_sig' AND NOT a.attisdropped
         WHERE l.signer_roles IS NOT NULL
         ORDER BY l.tbl::oid
    LOOP
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', t.tbl);
        -- already partial (a table enabled by a 0.13.0 library before this
        -- ran, or a second run): nothing to do
        CONTINUE WHEN EXISTS (
            SELECT 1 FROM pg_catalog.pg_index i
             WHERE i.indrelid = t.tbl AND i.indisunique AND i.indnkeyatts = 1
               AND i.indkey[0] = t.attnum AND i.indpred IS NOT NULL
               AND pg_catalog.pg_get_expr(i.indpred, i.indrelid) = '(ledger_sig IS NOT NULL)');
        FOR k IN
            SELECT con.conname, ic.relname AS idxname
              FROM pg_catalog.pg_constraint con
              JOIN pg_catalog.pg_class ic ON ic.oid = con.conindid
             WHERE con.conrelid = t.tbl AND con.contype = 'u' AND con.conkey = ARRAY[t.attnum]::int2[]
             ORDER BY con.oid
             LIMIT 1
        LOOP
            -- a name free in the schema for the build; renamed once the
            -- constraint is gone.  Any role that may create in the schema
            -- can take battledger_sig_<oid> first (the OID is readable),
            -- which would fail the whole update: another suffix then
            tmp := 'battledger_sig_' || t.tbl::oid;
            n := 0;
            WHILE EXISTS (SELECT 1 FROM pg_catalog.pg_class r
                           WHERE r.relname = tmp
                             AND r.relnamespace = (SELECT c.relnamespace FROM pg_catalog.pg_class c WHERE c.oid = t.tbl)) LOOP
                n := n + 1;
                tmp := 'battledger_sig_' || t.tbl::oid || '_' || n;
            END LOOP;
            EXECUTE format('CREATE UNIQUE INDEX %I ON %s (ledger_sig) WHERE ledger_sig IS NOT NULL', tmp, t.tbl);
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', t.tbl, k.conname);
            EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', t.nspname, tmp, k.idxname);
        END LOOP;
    END LOOP;
END $$;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
ALTER EVENT TRIGGER battledger_drop_guard ENABLE ALWAYS;
