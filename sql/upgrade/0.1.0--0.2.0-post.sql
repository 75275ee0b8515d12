-- Every ledger table gains ledger_origin.  Rows written by 0.1.0 get the
-- empty origin, which the canonical encoding leaves out, so their hashes,
-- signatures and log leaves stay valid; new rows are written under
-- battledger.origin, in chains of their own (docs/consortium.md).
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER EVENT TRIGGER battledger_drop_guard DISABLE;
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT l.tbl, l.chain_by, l.signer_roles, l.chain_index, c.relnamespace::regnamespace AS nsp
               FROM @extschema@.ledger_tables l JOIN pg_catalog.pg_class c ON c.oid = l.tbl LOOP
        EXECUTE format('ALTER TABLE %s ADD COLUMN ledger_origin text COLLATE "C" NOT NULL DEFAULT ''''', t.tbl);
        EXECUTE format('ALTER TABLE %s ALTER COLUMN ledger_origin DROP DEFAULT', t.tbl);
        EXECUTE format('DROP INDEX %s.%I', t.nsp, t.chain_index);
        IF t.chain_by IS NOT NULL THEN
            EXECUTE format('CREATE UNIQUE INDEX %I ON %s (%I, ledger_origin, ledger_seq)', t.chain_index, t.tbl, t.chain_by);
        ELSE
            EXECUTE format('CREATE UNIQUE INDEX %I ON %s (ledger_origin, ledger_seq)', t.chain_index, t.tbl);
        END IF;
        EXECUTE format('CREATE TRIGGER zz_battledger_arrive BEFORE INSERT ON %s FOR EACH ROW '
                       'EXECUTE FUNCTION @extschema@._arrive_trigger(%L, %L)', t.tbl, coalesce(t.chain_by, ''),
                       coalesce(t.signer_roles::text, ''));
        EXECUTE format('ALTER TABLE %s ENABLE REPLICA TRIGGER zz_battledger_arrive', t.tbl);
    END LOOP;
END $$;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
ALTER EVENT TRIGGER battledger_drop_guard ENABLE ALWAYS;

-- a member's latest roles: by time, since its events may come from several members' chains
CREATE OR REPLACE VIEW @extschema@.members AS
    SELECT DISTINCT ON (member) member, roles, at AS since
      FROM @extschema@.member_event ORDER BY member, at DESC, ledger_origin DESC, ledger_seq DESC;
