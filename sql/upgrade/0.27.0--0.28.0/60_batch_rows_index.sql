-- A batch's rows are read back (at its commit, by verify()) by its name, the
-- id and its signer's key (10_batch_names.sql), but each signed table's index
-- was on ledger_batch alone: every other key's rows of the same id were
-- fetched and filtered out.  A member filing a victim's next id with many
-- rows slowed the victim's commit by as much, and K keys filing one id made
-- verify() fetch K times each row of that id (red team rt28 P1, P2).  The
-- index is rebuilt on (ledger_batch, ledger_key_id), under its own name, on
-- every signed ledger table: this takes the time of building it.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT l.tbl, i.indexrelid::regclass AS idx, c.relname AS idxname
          FROM @extschema@.ledger_tables l
          JOIN pg_catalog.pg_index i ON i.indrelid = l.tbl
          JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
          JOIN pg_catalog.pg_attribute a ON a.attrelid = l.tbl AND a.attname = 'ledger_batch' AND NOT a.attisdropped
         WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute k
                        WHERE k.attrelid = l.tbl AND k.attname = 'ledger_key_id' AND NOT k.attisdropped)
           AND i.indnatts = 1 AND i.indkey[0] = a.attnum AND NOT i.indisunique
           -- exactly the index enable_ledger() made: an owner's own index
           -- on the column (another method, another predicate) is left alone
           AND c.relam = (SELECT am.oid FROM pg_catalog.pg_am am WHERE am.amname = 'btree')
           AND i.indexprs IS NULL
           -- and of its operator class, collation, order and storage
           -- parameters: an owner's text_pattern_ops, COLLATE "C" or
           -- fillfactor index of the column was rebuilt as (ledger_batch,
           -- ledger_key_id), its own definition lost (red team rt28b B6)
           AND i.indclass[0] = (SELECT opc.oid FROM pg_catalog.pg_opclass opc
                                 WHERE opc.opcmethod = c.relam AND opc.opcdefault
                                   AND opc.opcintype = 'pg_catalog.text'::pg_catalog.regtype)
           AND i.indcollation[0] = a.attcollation AND i.indoption[0] = 0
           AND c.reloptions IS NULL
           AND pg_catalog.pg_get_expr(i.indpred, i.indrelid) = '(ledger_batch IS NOT NULL)'
    LOOP
        EXECUTE pg_catalog.format('DROP INDEX %s', t.idx);
        EXECUTE pg_catalog.format('CREATE INDEX %I ON %s (ledger_batch, ledger_key_id) WHERE ledger_batch IS NOT NULL',
                                  t.idxname, t.tbl);
    END LOOP;
END $$;
