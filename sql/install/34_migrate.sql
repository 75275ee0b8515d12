-----------------------------------------------------------------------------
-- Bringing an existing table into the ledger: migrate_to_ledger()
-----------------------------------------------------------------------------
-- A progress line for work written in PL/pgSQL (src/pg/progress.c): reports if
-- battledger.progress_interval has passed since last, returns when it last
-- reported.  It can only raise a NOTICE, and the table owners who run
-- migrate_to_ledger() need it: executable by every role.
CREATE FUNCTION @extschema@._progress(what text, unit text, done bigint, total bigint,
                                      started timestamptz, last timestamptz)
    RETURNS timestamptz AS 'MODULE_PATHNAME', 'battledger_progress' LANGUAGE C VOLATILE STRICT;

-- Runs as its caller (SECURITY INVOKER): it can do nothing the caller could
-- not do by hand, and it checks first that the caller owns the table.  The
-- whole migration is one transaction holding the table's ACCESS EXCLUSIVE
-- lock from before the first row is read to the commit: no writer can add a
-- row to the old table after the copy, and a writer waiting on the lock finds
-- the name leading to the ledger table when it gets it.
CREATE FUNCTION @extschema@.migrate_to_ledger(tbl regclass, chain_by name DEFAULT NULL,
                                              order_by name[] DEFAULT NULL, keep_as name DEFAULT NULL,
                                              batch_rows integer DEFAULT 10000)
    RETURNS bigint LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp SET row_security = off AS $$
DECLARE
    rel record;
    nsp text;
    old_name name;
    keep name;
    old_q text;          -- the old table, schema-qualified, once renamed
    new_q text;          -- the ledger table, schema-qualified (the old name)
    new_oid oid;
    cols text;           -- "a", "b", ... in column order
    src_cols text;       -- battledger_src."a", ...
    ord text;
    total bigint;
    copied bigint := 0;
    tids tid[] := '{}';
    t tid;
    started timestamptz := clock_timestamp();
    last timestamptz := clock_timestamp();
    what text;
    r record;
    n integer;
    defs text[] := '{}';      -- indexes and constraints, as they were created
    ddl text;
    acl record;
    seq record;
    tbl_comment text;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF batch_rows IS NULL OR batch_rows < 1 THEN
        RAISE EXCEPTION 'batch_rows must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT c.relname, c.relkind, c.relpersistence, c.relowner, c.relnamespace, c.relacl, c.reloptions,
           c.reltablespace, c.relrowsecurity, c.relhassubclass, c.relispartition
      INTO rel FROM pg_class c WHERE c.oid = tbl;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'relation with OID % does not exist', tbl::oid USING ERRCODE = 'undefined_table';
    END IF;
    -- ownership before any lock: a lock requested on someone else's table
    -- would queue behind its users and block everyone after them.  The owner
    -- itself, not a member of its role nor a superuser: the copy runs the
    -- table's CHECK constraints, which its owner wrote, with the caller's
    -- rights, so they must be the owner's rights.
    IF rel.relowner IS DISTINCT FROM (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'must be run as the owner of table %', rel.relname
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'migrate_to_ledger() renames the table, replaces it and runs its constraints: only its owner may, with the owner''s rights.',
                  HINT = format('Run it as the owner: SET ROLE %I.', (SELECT rolname FROM pg_roles WHERE oid = rel.relowner));
    END IF;
    IF rel.relkind <> 'r' THEN
        RAISE EXCEPTION '"%" is not an ordinary table', tbl
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'Only ordinary (non-partitioned) tables can be ledger tables.';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.ledger_tables l WHERE l.tbl = migrate_to_ledger.tbl) THEN
        RAISE EXCEPTION 'table "%" is already a ledger table', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', tbl);
    -- what may have changed while we waited for the lock
    SELECT c.relname, c.relkind, c.relpersistence, c.relowner, c.relnamespace, c.relacl, c.reloptions,
           c.reltablespace, c.relrowsecurity, c.relhassubclass, c.relispartition
      INTO rel FROM pg_class c WHERE c.oid = tbl;
    IF rel.relowner IS DISTINCT FROM (SELECT oid FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'must be run as the owner of table %', rel.relname USING ERRCODE = 'insufficient_privilege';
    END IF;
    nsp := (SELECT nspname FROM pg_namespace WHERE oid = rel.relnamespace);
    old_name := rel.relname;
    new_q := format('%I.%I', nsp, old_name);

    -- what a copy under the same name could not carry over is refused, not lost
    IF rel.relpersistence <> 'p' THEN
        RAISE EXCEPTION 'table "%" is temporary or unlogged', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A crash empties an unlogged table, and its history with it.';
    END IF;
    IF rel.relhassubclass OR rel.relispartition OR EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = tbl) THEN
        RAISE EXCEPTION 'table "%" has a parent or child table', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Rows reached through a parent or a child table would escape the ledger''s guards.';
    END IF;
    FOR r IN SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS what
               FROM pg_depend d
              WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = tbl AND d.deptype = 'n'
                -- the table's own parts, which the copy carries over
                AND NOT (d.classid = 'pg_class'::regclass
                         AND d.objid IN (SELECT tbl UNION ALL SELECT indexrelid FROM pg_index WHERE indrelid = tbl))
                AND NOT (d.classid = 'pg_constraint'::regclass
                         AND d.objid IN (SELECT oid FROM pg_constraint WHERE conrelid = tbl AND confrelid <> tbl))
                AND NOT (d.classid = 'pg_attrdef'::regclass AND d.objid IN (SELECT oid FROM pg_attrdef WHERE adrelid = tbl))
                AND NOT (d.classid = 'pg_statistic_ext'::regclass
                         AND d.objid IN (SELECT oid FROM pg_statistic_ext WHERE stxrelid = tbl))
             UNION ALL
             SELECT pg_describe_object(d.classid, d.objid, d.objsubid)
               FROM pg_depend d
              WHERE d.refclassid = 'pg_type'::regclass AND d.deptype = 'n'
                AND d.refobjid = (SELECT reltype FROM pg_class WHERE oid = tbl)
             ORDER BY 1 LIMIT 1 LOOP
        RAISE EXCEPTION 'table "%" is used by %', tbl, r.what
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = 'Views, rules, foreign keys of other tables and functions keep pointing at the old table after the swap.',
                  HINT = 'Drop them (keep their definitions), migrate, then create them again.';
    END LOOP;
    FOR r IN SELECT t.tgname FROM pg_trigger t WHERE t.tgrelid = tbl AND NOT t.tgisinternal ORDER BY 1 LIMIT 1 LOOP
        RAISE EXCEPTION 'table "%" has trigger "%"', tbl, r.tgname
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A trigger would fire on every copied row, and its order relative to the chain trigger matters.',
                  HINT = 'Drop the trigger, migrate, then create it again (a BEFORE INSERT row trigger''s name must sort before "zz_battledger_chain").';
    END LOOP;
    IF rel.relrowsecurity OR EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = tbl) THEN
        RAISE EXCEPTION 'table "%" has row-level security', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Disable it and drop its policies, migrate, then create them again on the ledger table.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_publication_rel WHERE prrelid = tbl) THEN
        RAISE EXCEPTION 'table "%" is in a publication', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Remove it from the publication (ALTER PUBLICATION ... DROP TABLE), migrate, then add the ledger table.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped AND attacl IS NOT NULL) THEN
        RAISE EXCEPTION 'table "%" has column privileges', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Revoke them, migrate, then grant them again on the ledger table.';
    END IF;
    -- LIKE would make a generated column a plain one: the ledger would lose its rule silently
    FOR r IN SELECT attname FROM pg_attribute
              WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped AND attgenerated <> '' LIMIT 1 LOOP
        RAISE EXCEPTION 'column "%" of table "%" is generated', r.attname, tbl
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Generated columns are computed after the chain trigger hashes the row.',
                  HINT = 'Make it a plain column (ALTER TABLE ... ALTER COLUMN ... DROP EXPRESSION) and compute it in the application, then migrate.';
    END LOOP;
    IF chain_by IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = chain_by AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'column "%" of table "%" does not exist', chain_by, tbl USING ERRCODE = 'undefined_column';
    END IF;

    -- the chain's order: the columns named, else the primary key
    IF order_by IS NULL THEN
        SELECT array_agg(a.attname ORDER BY k.i) INTO order_by
          FROM pg_index x CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, i)
          JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
         WHERE x.indrelid = tbl AND x.indisprimary;
        IF order_by IS NULL THEN
            RAISE EXCEPTION 'table "%" has no primary key to order its rows by', tbl
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'Each chain records its rows in one order, which the migration must be told.',
                      HINT = 'Name the columns: order_by => ARRAY[''recorded_at'', ''id''].';
        END IF;
    END IF;
    IF cardinality(order_by) = 0 OR array_position(order_by, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'order_by must name at least one column, without nulls' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR r IN SELECT o.c FROM unnest(order_by) o(c)
              WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = o.c
                                   AND a.attnum > 0 AND NOT a.attisdropped) LIMIT 1 LOOP
        RAISE EXCEPTION 'column "%" of table "%" does not exist', r.c, tbl USING ERRCODE = 'undefined_column';
    END LOOP;
    -- the log receives the rows in this order too; ties within a chain are
    -- left to the heap's order, so the columns should be unique (docs/dba-guide.md)
    SELECT string_agg(format('battledger_src.%I', c), ', ' ORDER BY i)
      INTO ord FROM unnest(order_by) WITH ORDINALITY u(c, i);

    keep := coalesce(keep_as, left(old_name, 49) || '_premigration');
    IF to_regclass(format('%I.%I', nsp, keep)) IS NOT NULL THEN
        RAISE EXCEPTION 'relation "%.%" already exists', nsp, keep
            USING ERRCODE = 'duplicate_table', HINT = 'Name the table the old rows are kept in: keep_as => ''...''.';
    END IF;
    old_q := format('%I.%I', nsp, keep);

    -- what the ledger table gets again under the old names, captured before
    -- any renaming (the definitions name the table as it is called now, which
    -- is the name the ledger table will have): constraints with an index or
    -- a foreign key, then the other indexes
    SELECT coalesce(array_agg(d ORDER BY k, i), '{}') INTO defs FROM (
        SELECT CASE WHEN c.contype = 'f' THEN 2 ELSE 0 END AS k, c.oid::bigint AS i,
               format('ALTER TABLE %s ADD CONSTRAINT %I %s', new_q, c.conname, pg_get_constraintdef(c.oid)) AS d
          FROM pg_constraint c WHERE c.conrelid = tbl AND c.contype IN ('p', 'u', 'x', 'f')
        UNION ALL
        SELECT 1, x.indexrelid::bigint, pg_get_indexdef(x.indexrelid)
          FROM pg_index x WHERE x.indrelid = tbl
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = tbl)) s;
    tbl_comment := obj_description(tbl, 'pg_class');

    -- the old table, its indexes and its identity sequences step aside
    EXECUTE format('ALTER TABLE %s RENAME TO %I', new_q, keep);
    n := 0;
    FOR r IN SELECT x.indexrelid FROM pg_index x WHERE x.indrelid = tbl ORDER BY 1 LOOP
        n := n + 1;
        EXECUTE format('ALTER INDEX %s RENAME TO %I', r.indexrelid::regclass, left(keep, 52) || '_idx' || n);
    END LOOP;
    FOR r IN SELECT d.objid::regclass AS s, a.attname
               FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
              WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                AND d.refobjid = tbl AND d.deptype = 'i' ORDER BY a.attnum LOOP
        EXECUTE format('ALTER SEQUENCE %s RENAME TO %I', r.s, left(keep, 40) || '_' || left(r.attname, 18) || '_seq');
    END LOOP;

    -- the ledger table: the same columns, defaults, identities, checks,
    -- storage, compression, column comments and statistics objects
    EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS '
                   'INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS INCLUDING STATISTICS)%s%s',
                   new_q, old_q,
                   CASE WHEN rel.reloptions IS NOT NULL
                        THEN format(' WITH (%s)', array_to_string(rel.reloptions, ', ')) ELSE '' END,
                   CASE WHEN rel.reltablespace <> 0
                        THEN format(' TABLESPACE %I', (SELECT spcname FROM pg_tablespace WHERE oid = rel.reltablespace))
                        ELSE '' END);
    new_oid := to_regclass(new_q)::oid;
    PERFORM @extschema@.enable_ledger(new_oid::regclass, chain_by);

    -- the copy, in the chain's order, batch_rows rows at a time
    SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum),
           string_agg(format('battledger_src.%I', a.attname), ', ' ORDER BY a.attnum)
      INTO cols, src_cols
      FROM pg_attribute a WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped;
    EXECUTE format('SELECT count(*) FROM %s', old_q) INTO total;
    what := format('migrate_to_ledger(%s)', new_q);
    FOR t IN EXECUTE format('SELECT battledger_src.ctid FROM %s AS battledger_src ORDER BY %s', old_q, ord) LOOP
        tids := tids || t;
        IF cardinality(tids) >= batch_rows THEN
            EXECUTE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s '
                           'FROM pg_catalog.unnest($1) WITH ORDINALITY AS battledger_batch(tid, n) '
                           'JOIN %s AS battledger_src ON battledger_src.ctid = battledger_batch.tid '
                           'ORDER BY battledger_batch.n', new_q, cols, src_cols, old_q) USING tids;
            copied := copied + cardinality(tids);
            tids := '{}';
            last := @extschema@._progress(what, 'rows', copied, total, started, last);
        END IF;
    END LOOP;
    IF cardinality(tids) > 0 THEN
        EXECUTE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s '
                       'FROM pg_catalog.unnest($1) WITH ORDINALITY AS battledger_batch(tid, n) '
                       'JOIN %s AS battledger_src ON battledger_src.ctid = battledger_batch.tid '
                       'ORDER BY battledger_batch.n', new_q, cols, src_cols, old_q) USING tids;
        copied := copied + cardinality(tids);
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', new_q) INTO total;
    IF total <> copied THEN
        RAISE EXCEPTION 'migration of "%" copied % rows, the ledger table has %', new_q, copied, total
            USING ERRCODE = 'internal_error';
    END IF;

    -- indexes and constraints after the rows: built once, not maintained row by row
    FOREACH ddl IN ARRAY defs LOOP
        EXECUTE ddl;
    END LOOP;
    -- identity columns continue where the old table's left off
    FOR seq IN SELECT a.attname, d.objid::regclass AS old_seq
                 FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                  AND d.refobjid = tbl AND d.deptype = 'i' LOOP
        EXECUTE format('SELECT pg_catalog.setval(%L, s.last_value, s.is_called) FROM %s s',
                       pg_get_serial_sequence(new_q, seq.attname), seq.old_seq);
    END LOOP;
    -- serial columns: their sequence now belongs to the ledger table's column
    -- (else dropping the old table would drop it)
    FOR seq IN SELECT a.attname, d.objid::regclass AS s
                 FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                  AND d.refobjid = tbl AND d.deptype = 'a'
                  AND (SELECT relkind FROM pg_class WHERE oid = d.objid) = 'S' LOOP
        EXECUTE format('ALTER SEQUENCE %s OWNED BY %s.%I', seq.s, new_q, seq.attname);
    END LOOP;
    IF tbl_comment IS NOT NULL THEN
        EXECUTE format('COMMENT ON TABLE %s IS %L', new_q, tbl_comment);
    END IF;
    -- the grants of the old table, not those of the owner's default privileges
    -- (the owner is the caller, who created the ledger table)
    FOR acl IN SELECT DISTINCT a.grantee FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.oid = new_oid AND a.grantee <> rel.relowner LOOP
        EXECUTE format('REVOKE ALL ON %s FROM %s', new_q,
                       CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident((SELECT rolname FROM pg_roles WHERE oid = acl.grantee)) END);
    END LOOP;
    FOR acl IN SELECT a.grantee, a.privilege_type, a.is_grantable
                 FROM aclexplode(rel.relacl) a WHERE a.grantee <> rel.relowner LOOP
        EXECUTE format('GRANT %s ON %s TO %s%s', acl.privilege_type, new_q,
                       CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident((SELECT rolname FROM pg_roles WHERE oid = acl.grantee)) END,
                       CASE WHEN acl.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    EXECUTE format('ANALYZE %s', new_q);
    RAISE NOTICE 'migrate_to_ledger: % rows of % copied into ledger table %, the old table kept as %',
        copied, new_q, new_q, old_q
        USING DETAIL = format('%s s.', round(extract(epoch FROM clock_timestamp() - started)::numeric, 1)),
              HINT = format('Check the ledger table, then DROP TABLE %s.', old_q);
    RETURN copied;
END $$;
