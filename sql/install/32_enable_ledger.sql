-----------------------------------------------------------------------------
-- enable_ledger() and the registration it ends with (CREATE OR REPLACE: the
-- upgrade scripts load this file too)
-----------------------------------------------------------------------------
-- The last step of enable_ledger() (src/pg/enable.c): checks the prepared table
-- and, as the extension's owner, creates the ledger triggers and registers it.
-- Executable by every role, so that a table's owner can run enable_ledger():
-- it checks everything itself, so that calling it directly can make nothing
-- but a genuine, empty ledger table of the caller's own.
CREATE OR REPLACE FUNCTION @extschema@._register(tbl regclass, chain_by name, chain_index name, signer_roles text[])
    RETURNS void AS 'MODULE_PATHNAME', 'battledger_register' LANGUAGE C;
GRANT EXECUTE ON FUNCTION @extschema@._register(regclass, name, name, text[]) TO PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.enable_ledger(tbl regclass, chain_by name DEFAULT NULL,
                                          signed boolean DEFAULT false, signer_roles text[] DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kind "char";
    has_rows boolean;
    col name;
    idx text;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT relkind INTO kind FROM pg_class WHERE oid = tbl;
    IF kind IS DISTINCT FROM 'r' THEN
        RAISE EXCEPTION '"%" is not an ordinary table', tbl
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'Only ordinary (non-partitioned) tables can be ledger tables.';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.ledger_tables l WHERE l.tbl = enable_ledger.tbl) THEN
        RAISE EXCEPTION 'table "%" is already a ledger table', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    FOR col IN SELECT attname FROM pg_attribute
                WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped
                  AND attname IN ('ledger_origin', 'ledger_seq', 'ledger_prev', 'ledger_hash',
                                  'ledger_key_id', 'ledger_sig', 'ledger_at', 'ledger_batch') LOOP
        RAISE EXCEPTION 'table "%" already has a column named "%"', tbl, col
            USING ERRCODE = 'duplicate_column',
                  DETAIL = 'Names beginning with ledger_ that enable_ledger() adds are reserved for the ledger''s own columns.';
    END LOOP;
    IF signed AND (signer_roles IS NULL OR cardinality(signer_roles) = 0) THEN
        RAISE EXCEPTION 'a signed ledger table needs signer_roles'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Name the member roles allowed to sign its rows, e.g. signer_roles => ARRAY[''oem''].';
    END IF;
    IF signed AND NOT signer_roles <@ @extschema@.member_roles() THEN
        RAISE EXCEPTION 'unknown member role in %', signer_roles
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The roles are: %s.', array_to_string(@extschema@.member_roles(), ', '));
    END IF;
    IF NOT signed AND signer_roles IS NOT NULL THEN
        RAISE EXCEPTION 'signer_roles given for an unsigned ledger table'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Add signed => true.';
    END IF;
    IF chain_by IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = chain_by
           AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'column "%" of table "%" does not exist', chain_by, tbl
            USING ERRCODE = 'undefined_column';
    END IF;

    FOR col IN SELECT attname FROM pg_attribute
                WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped AND attgenerated <> '' LOOP
        RAISE EXCEPTION 'column "%" of table "%" is generated', col, tbl
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Generated columns are computed after the chain trigger hashes the row.',
                  HINT = 'Compute the value in the application, or in a BEFORE INSERT trigger.';
    END LOOP;
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', tbl);
    PERFORM @extschema@._check_encodable(tbl);
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', tbl) INTO STRICT has_rows;
    IF has_rows THEN
        RAISE EXCEPTION 'table "%" already has rows', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Existing rows have no agreed order to chain them in.',
                  HINT = 'Bring the table and its rows in with battledger.migrate_to_ledger(), naming the order the chains should record (see "Bringing an existing table into the ledger" in docs/dba-guide.md).';
    END IF;

    EXECUTE format('ALTER TABLE %s ADD COLUMN ledger_seq bigint NOT NULL, '
                   'ADD COLUMN ledger_prev @extschema@.hash256 NOT NULL, '
                   'ADD COLUMN ledger_hash @extschema@.hash256 NOT NULL', tbl);
    IF signed THEN
        EXECUTE format('ALTER TABLE %s ADD COLUMN ledger_key_id @extschema@.hash256 NOT NULL, '
                       'ADD COLUMN ledger_sig bytea, '
                       'ADD COLUMN ledger_batch text, '
                       'ADD COLUMN ledger_at timestamptz NOT NULL', tbl);
        -- the signature is unique: Ed25519 is deterministic, so a replayed row is
        -- refused.  Partial: a batch-signed row's ledger_sig is NULL, and a NULL
        -- never conflicts, so indexing those rows cost every batch row an index
        -- insert for nothing (0.13.0; the name is the one PostgreSQL gave the
        -- UNIQUE constraint before, which the upgrade keeps)
        EXECUTE format('CREATE UNIQUE INDEX %I ON %s (ledger_sig) WHERE ledger_sig IS NOT NULL',
                       left((SELECT relname FROM pg_class WHERE oid = tbl), 48) || '_ledger_sig_key', tbl);
        -- a batch's rows, found by its name (0.28.0): the id and its signer's key,
        -- so that reading one member's batch back never walks another key's rows
        -- of the same id (red team rt28 P1, P2)
        EXECUTE format('CREATE INDEX %I ON %s (ledger_batch, ledger_key_id) WHERE ledger_batch IS NOT NULL',
                       left((SELECT relname FROM pg_class WHERE oid = tbl), 48) || '_ledger_batch', tbl);
    END IF;
    -- the chain trigger fills ledger_origin in ('' in a database battledger.origin does not name)
    EXECUTE format('ALTER TABLE %s ADD COLUMN ledger_origin text COLLATE "C" NOT NULL', tbl);
    idx := left((SELECT relname FROM pg_class WHERE oid = tbl), 48) || '_ledger_chain';
    IF chain_by IS NOT NULL THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', tbl, chain_by);
        EXECUTE format('CREATE UNIQUE INDEX %I ON %s (%I, ledger_origin, ledger_seq)', idx, tbl, chain_by);
    ELSE
        EXECUTE format('CREATE UNIQUE INDEX %I ON %s (ledger_origin, ledger_seq)', idx, tbl);
    END IF;
    -- the triggers, and the registration that makes them mean something
    PERFORM @extschema@._register(tbl, chain_by, idx, signer_roles);
END $$;
COMMENT ON FUNCTION @extschema@.enable_ledger(regclass, name, boolean, text[]) IS
    'make an empty table an append-only, hash-chained ledger table (one chain per chain_by value), optionally signed';

