-- battledger 0.1.0: hash256 type, canonical row encoding, append-only hash-chained ledger tables.
\echo Use "CREATE EXTENSION battledger" to load this file. \quit

-- Applications use the types and functions; internal functions are revoked below.
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

-----------------------------------------------------------------------------
-- hash256: a 32-byte SHA-256 digest
-----------------------------------------------------------------------------
CREATE TYPE @extschema@.hash256;

CREATE FUNCTION @extschema@.hash256_in(cstring) RETURNS @extschema@.hash256
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.hash256_out(@extschema@.hash256) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.hash256_recv(internal) RETURNS @extschema@.hash256
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.hash256_send(@extschema@.hash256) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.hash256 (
    INPUT = @extschema@.hash256_in,
    OUTPUT = @extschema@.hash256_out,
    RECEIVE = @extschema@.hash256_recv,
    SEND = @extschema@.hash256_send,
    INTERNALLENGTH = 32,
    ALIGNMENT = char,
    STORAGE = plain
);
COMMENT ON TYPE @extschema@.hash256 IS 'SHA-256 digest (32 bytes, 64 hex digits)';

CREATE FUNCTION @extschema@.hash256(bytea) RETURNS @extschema@.hash256
    AS 'MODULE_PATHNAME', 'hash256_from_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.bytea(@extschema@.hash256) RETURNS bytea
    AS 'MODULE_PATHNAME', 'hash256_to_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (bytea AS @extschema@.hash256) WITH FUNCTION @extschema@.hash256(bytea);
CREATE CAST (@extschema@.hash256 AS bytea) WITH FUNCTION @extschema@.bytea(@extschema@.hash256);

CREATE FUNCTION @extschema@.hash256_eq(@extschema@.hash256, @extschema@.hash256) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_ne(@extschema@.hash256, @extschema@.hash256) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_lt(@extschema@.hash256, @extschema@.hash256) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_le(@extschema@.hash256, @extschema@.hash256) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_gt(@extschema@.hash256, @extschema@.hash256) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_ge(@extschema@.hash256, @extschema@.hash256) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_cmp(@extschema@.hash256, @extschema@.hash256) RETURNS int4
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_hash(@extschema@.hash256) RETURNS int4
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_hash_extended(@extschema@.hash256, int8) RETURNS int8
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.hash256, RIGHTARG = @extschema@.hash256,
    PROCEDURE = @extschema@.hash256_eq, COMMUTATOR = OPERATOR(@extschema@.=),
    NEGATOR = OPERATOR(@extschema@.<>), RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES);
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.hash256, RIGHTARG = @extschema@.hash256,
    PROCEDURE = @extschema@.hash256_ne, COMMUTATOR = OPERATOR(@extschema@.<>),
    NEGATOR = OPERATOR(@extschema@.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR @extschema@.< (
    LEFTARG = @extschema@.hash256, RIGHTARG = @extschema@.hash256,
    PROCEDURE = @extschema@.hash256_lt, COMMUTATOR = OPERATOR(@extschema@.>),
    NEGATOR = OPERATOR(@extschema@.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR @extschema@.<= (
    LEFTARG = @extschema@.hash256, RIGHTARG = @extschema@.hash256,
    PROCEDURE = @extschema@.hash256_le, COMMUTATOR = OPERATOR(@extschema@.>=),
    NEGATOR = OPERATOR(@extschema@.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR @extschema@.> (
    LEFTARG = @extschema@.hash256, RIGHTARG = @extschema@.hash256,
    PROCEDURE = @extschema@.hash256_gt, COMMUTATOR = OPERATOR(@extschema@.<),
    NEGATOR = OPERATOR(@extschema@.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR @extschema@.>= (
    LEFTARG = @extschema@.hash256, RIGHTARG = @extschema@.hash256,
    PROCEDURE = @extschema@.hash256_ge, COMMUTATOR = OPERATOR(@extschema@.<=),
    NEGATOR = OPERATOR(@extschema@.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR CLASS @extschema@.hash256_ops DEFAULT FOR TYPE @extschema@.hash256 USING btree AS
    OPERATOR 1 @extschema@.<,
    OPERATOR 2 @extschema@.<=,
    OPERATOR 3 @extschema@.=,
    OPERATOR 4 @extschema@.>=,
    OPERATOR 5 @extschema@.>,
    FUNCTION 1 @extschema@.hash256_cmp(@extschema@.hash256, @extschema@.hash256);
CREATE OPERATOR CLASS @extschema@.hash256_hash_ops DEFAULT FOR TYPE @extschema@.hash256 USING hash AS
    OPERATOR 1 @extschema@.=,
    FUNCTION 1 @extschema@.hash256_hash(@extschema@.hash256),
    FUNCTION 2 @extschema@.hash256_hash_extended(@extschema@.hash256, int8);

-----------------------------------------------------------------------------
-- Canonical row encoding (docs/encoding.md)
-----------------------------------------------------------------------------
CREATE FUNCTION @extschema@.row_bytes(record) RETURNS bytea
    AS 'MODULE_PATHNAME', 'battledger_row_bytes' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.row_bytes(record) IS
    'canonical, settings-independent bytes of a row''s content (ledger columns and NULLs left out)';
CREATE FUNCTION @extschema@.row_hash(record) RETURNS @extschema@.hash256
    AS 'MODULE_PATHNAME', 'battledger_row_hash' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.row_hash(record) IS 'SHA-256 of row_bytes(record)';
CREATE FUNCTION @extschema@.chain_hash(prev @extschema@.hash256, seq bigint, content bytea)
    RETURNS @extschema@.hash256
    AS 'MODULE_PATHNAME', 'battledger_chain_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.chain_hash(@extschema@.hash256, bigint, bytea) IS
    'SHA-256(prev || seq as 8-byte big-endian || content): the ledger_hash of a row';

-- Internal: raises feature_not_supported for a column type the encoding cannot represent.
CREATE FUNCTION @extschema@._check_encodable(tbl regclass) RETURNS void
    AS 'MODULE_PATHNAME', 'battledger_check_encodable' LANGUAGE C STABLE STRICT;

-----------------------------------------------------------------------------
-- Ledger tables
-----------------------------------------------------------------------------
CREATE TABLE @extschema@.ledger_tables (
    tbl         regclass PRIMARY KEY,
    chain_by    name,
    chain_index name NOT NULL   -- in the table's schema; a name, not regclass, so pg_restore
                                -- can load the registry before the index is rebuilt
);
COMMENT ON TABLE @extschema@.ledger_tables IS 'the tables enable_ledger() made ledger tables';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ledger_tables', '');
REVOKE ALL ON @extschema@.ledger_tables FROM PUBLIC;
GRANT SELECT ON @extschema@.ledger_tables TO PUBLIC;

CREATE FUNCTION @extschema@._chain_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ledger_chain_trigger' LANGUAGE C;
CREATE FUNCTION @extschema@._refuse_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ledger_refuse_trigger' LANGUAGE C;

CREATE FUNCTION @extschema@.verify(tbl regclass)
    RETURNS TABLE (chain_key text, seq bigint, problem text, detail text)
    AS 'MODULE_PATHNAME', 'battledger_verify' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.verify(regclass) IS
    'one row per problem in the ledger table''s chains; no rows when intact';

-- Records a ledger table; SECURITY DEFINER because the registry is not
-- writable by table owners.  Only the owner of tbl may register it, and only
-- once the triggers enable_ledger() creates are in place.
CREATE FUNCTION @extschema@._register(tbl regclass, chain_by name, chain_index name)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF NOT pg_catalog.pg_has_role(session_user, (SELECT relowner FROM pg_catalog.pg_class WHERE oid = tbl), 'USAGE')
       AND NOT pg_catalog.pg_has_role(current_user, (SELECT relowner FROM pg_catalog.pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = '42501';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.pg_trigger t
         WHERE t.tgrelid = tbl
           AND t.tgname IN ('zz_battledger_chain', 'battledger_append_only')) <> 2 THEN
        RAISE EXCEPTION 'table % does not have the ledger triggers', tbl
            USING ERRCODE = '55000', HINT = 'Use battledger.enable_ledger().';
    END IF;
    INSERT INTO @extschema@.ledger_tables VALUES (tbl, chain_by, chain_index);
END $$;
REVOKE ALL ON FUNCTION @extschema@._register(regclass, name, name) FROM PUBLIC;

CREATE FUNCTION @extschema@.enable_ledger(tbl regclass, chain_by name DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
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
                  AND attname IN ('ledger_seq', 'ledger_prev', 'ledger_hash') LOOP
        RAISE EXCEPTION 'table "%" already has a column named "%"', tbl, col
            USING ERRCODE = 'duplicate_column',
                  DETAIL = 'The names ledger_seq, ledger_prev and ledger_hash are reserved for the ledger''s own columns.';
    END LOOP;
    IF chain_by IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = chain_by
           AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'column "%" of table "%" does not exist', chain_by, tbl
            USING ERRCODE = 'undefined_column';
    END IF;

    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', tbl);
    PERFORM @extschema@._check_encodable(tbl);
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', tbl) INTO STRICT has_rows;
    IF has_rows THEN
        RAISE EXCEPTION 'table "%" already has rows', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Existing rows have no agreed order to chain them in.',
                  HINT = 'Create the ledger table empty, enable it, then copy the rows in with INSERT ... SELECT ... ORDER BY in the order the chain should record.';
    END IF;

    EXECUTE format('ALTER TABLE %s ADD COLUMN ledger_seq bigint NOT NULL, '
                   'ADD COLUMN ledger_prev @extschema@.hash256 NOT NULL, '
                   'ADD COLUMN ledger_hash @extschema@.hash256 NOT NULL', tbl);
    idx := left((SELECT relname FROM pg_class WHERE oid = tbl), 48) || '_ledger_chain';
    IF chain_by IS NOT NULL THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', tbl, chain_by);
        EXECUTE format('CREATE UNIQUE INDEX %I ON %s (%I, ledger_seq)', idx, tbl, chain_by);
    ELSE
        EXECUTE format('CREATE UNIQUE INDEX %I ON %s (ledger_seq)', idx, tbl);
    END IF;
    EXECUTE format('CREATE TRIGGER zz_battledger_chain BEFORE INSERT ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION @extschema@._chain_trigger(%L)', tbl, coalesce(chain_by, ''));
    EXECUTE format('CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger()', tbl);
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER battledger_append_only', tbl);
    PERFORM @extschema@._register(tbl, chain_by, idx);
END $$;
COMMENT ON FUNCTION @extschema@.enable_ledger(regclass, name) IS
    'make an empty table an append-only, hash-chained ledger table (one chain per chain_by value)';

-----------------------------------------------------------------------------
-- DDL guard
-----------------------------------------------------------------------------
CREATE FUNCTION @extschema@._ddl_guard() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'ledger_ddl_guard' LANGUAGE C;

CREATE FUNCTION @extschema@._drop_guard() RETURNS event_trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    r record;
BEGIN
    IF to_regclass('@extschema@.ledger_tables') IS NULL THEN
        RETURN;   -- the extension itself is being dropped
    END IF;
    FOR r IN
        SELECT d.object_type, d.object_identity
          FROM pg_event_trigger_dropped_objects() d
         WHERE (d.classid = 'pg_class'::regclass AND d.objsubid = 0
                AND d.objid IN (SELECT l.tbl::oid FROM @extschema@.ledger_tables l))
            OR (d.object_type = 'index'
                AND (d.schema_name, d.object_name) IN
                    (SELECT n.nspname, l.chain_index
                       FROM @extschema@.ledger_tables l
                       JOIN pg_class c ON c.oid = l.tbl
                       JOIN pg_namespace n ON n.oid = c.relnamespace))
            OR (d.object_type = 'trigger'
                AND split_part(d.object_identity, ' on ', 1) IN ('zz_battledger_chain', 'battledger_append_only')
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
    WHEN TAG IN ('ALTER TABLE', 'ALTER TRIGGER')
    EXECUTE FUNCTION @extschema@._ddl_guard();
CREATE EVENT TRIGGER battledger_drop_guard ON sql_drop
    EXECUTE FUNCTION @extschema@._drop_guard();
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
ALTER EVENT TRIGGER battledger_drop_guard ENABLE ALWAYS;
