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

CREATE FUNCTION @extschema@.signing_bytes(record) RETURNS bytea
    AS 'MODULE_PATHNAME', 'battledger_signing_bytes' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.signing_bytes(record) IS
    'the bytes a member signs: row content with ledger_key_id and ledger_batch, without chain fields, ledger_sig and ledger_at';

-- The consortium roles (Regulation (EU) 2023/1542 vocabulary; docs/signatures.md).
CREATE FUNCTION @extschema@.member_roles() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['miner', 'refiner', 'cell_maker', 'pack_maker', 'oem', 'fleet_operator',
                 'repairer', 'second_life_operator', 'collector', 'recycler', 'auditor',
                 'governance']::text[]
$$;

-- Internal: raises feature_not_supported for a column type the encoding cannot represent.
CREATE FUNCTION @extschema@._check_encodable(tbl regclass) RETURNS void
    AS 'MODULE_PATHNAME', 'battledger_check_encodable' LANGUAGE C STABLE STRICT;

-----------------------------------------------------------------------------
-- Ledger tables
-----------------------------------------------------------------------------
CREATE TABLE @extschema@.ledger_tables (
    tbl         regclass PRIMARY KEY,
    chain_by    name,
    signer_roles text[],        -- NULL: unsigned table
    builtin     boolean NOT NULL DEFAULT false,   -- the extension's own ledger tables
    chain_index name NOT NULL   -- in the table's schema; a name, not regclass, so pg_restore
                                -- can load the registry before the index is rebuilt
);
COMMENT ON TABLE @extschema@.ledger_tables IS 'the tables enable_ledger() made ledger tables';
-- The extension's own rows are recreated by CREATE EXTENSION, so only users' are dumped.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ledger_tables', 'WHERE NOT builtin');
REVOKE ALL ON @extschema@.ledger_tables FROM PUBLIC;
GRANT SELECT ON @extschema@.ledger_tables TO PUBLIC;

CREATE FUNCTION @extschema@._chain_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ledger_chain_trigger' LANGUAGE C;
CREATE FUNCTION @extschema@._refuse_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ledger_refuse_trigger' LANGUAGE C;
CREATE FUNCTION @extschema@._log_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_log_trigger' LANGUAGE C;

CREATE FUNCTION @extschema@.verify(tbl regclass)
    RETURNS TABLE (chain_key text, seq bigint, problem text, detail text)
    AS 'MODULE_PATHNAME', 'battledger_verify' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.verify(regclass) IS
    'one row per problem in the ledger table''s chains; no rows when intact';

-- Records a ledger table; SECURITY DEFINER because the registry is not
-- writable by table owners.  Only the owner of tbl may register it, and only
-- once the triggers enable_ledger() creates are in place.
CREATE FUNCTION @extschema@._register(tbl regclass, chain_by name, chain_index name, signer_roles text[])
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF NOT pg_catalog.pg_has_role(session_user, (SELECT relowner FROM pg_catalog.pg_class WHERE oid = tbl), 'USAGE')
       AND NOT pg_catalog.pg_has_role(current_user, (SELECT relowner FROM pg_catalog.pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = '42501';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.pg_trigger t
         WHERE t.tgrelid = tbl
           AND t.tgname IN ('zz_battledger_chain', 'battledger_append_only', 'battledger_log')) <> 3 THEN
        RAISE EXCEPTION 'table % does not have the ledger triggers', tbl
            USING ERRCODE = '55000', HINT = 'Use battledger.enable_ledger().';
    END IF;
    INSERT INTO @extschema@.ledger_tables (tbl, chain_by, signer_roles, builtin, chain_index)
    VALUES (tbl, chain_by, signer_roles,
            (SELECT relnamespace = '@extschema@'::regnamespace FROM pg_catalog.pg_class WHERE oid = tbl),
            chain_index);
END $$;
REVOKE ALL ON FUNCTION @extschema@._register(regclass, name, name, text[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.enable_ledger(tbl regclass, chain_by name DEFAULT NULL,
                                          signed boolean DEFAULT false, signer_roles text[] DEFAULT NULL)
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
                  AND attname IN ('ledger_seq', 'ledger_prev', 'ledger_hash',
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
    IF signed THEN
        -- the signature is unique: Ed25519 is deterministic, so a replayed row is refused
        EXECUTE format('ALTER TABLE %s ADD COLUMN ledger_key_id @extschema@.hash256 NOT NULL, '
                       'ADD COLUMN ledger_sig bytea UNIQUE, '
                       'ADD COLUMN ledger_batch text, '
                       'ADD COLUMN ledger_at timestamptz NOT NULL', tbl);
        EXECUTE format('CREATE INDEX %I ON %s (ledger_batch) WHERE ledger_batch IS NOT NULL',
                       left((SELECT relname FROM pg_class WHERE oid = tbl), 48) || '_ledger_batch', tbl);
    END IF;
    idx := left((SELECT relname FROM pg_class WHERE oid = tbl), 48) || '_ledger_chain';
    IF chain_by IS NOT NULL THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', tbl, chain_by);
        EXECUTE format('CREATE UNIQUE INDEX %I ON %s (%I, ledger_seq)', idx, tbl, chain_by);
    ELSE
        EXECUTE format('CREATE UNIQUE INDEX %I ON %s (ledger_seq)', idx, tbl);
    END IF;
    EXECUTE format('CREATE TRIGGER zz_battledger_chain BEFORE INSERT ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION @extschema@._chain_trigger(%L, %L)', tbl, coalesce(chain_by, ''),
                   coalesce(signer_roles::text, ''));
    EXECUTE format('CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger()', tbl);
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER battledger_append_only', tbl);
    -- rows actually inserted (not those ON CONFLICT skipped) are queued for the log
    EXECUTE format('CREATE TRIGGER battledger_log AFTER INSERT ON %s REFERENCING NEW TABLE AS battledger_new '
                   'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._log_trigger()', tbl);
    PERFORM @extschema@._register(tbl, chain_by, idx, signer_roles);
END $$;
COMMENT ON FUNCTION @extschema@.enable_ledger(regclass, name, boolean, text[]) IS
    'make an empty table an append-only, hash-chained ledger table (one chain per chain_by value), optionally signed';

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
                AND split_part(d.object_identity, ' on ', 1) IN ('zz_battledger_chain', 'battledger_append_only', 'battledger_log')
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

-----------------------------------------------------------------------------
-- Members and their keys (docs/signatures.md).  Both are ledger tables: a
-- change is a new row, so "which keys did this member hold at time T" can
-- always be answered and proven.
-----------------------------------------------------------------------------
CREATE FUNCTION @extschema@.public_key_from_pem(pem text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'battledger_public_key_from_pem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.public_key_from_pem(text) IS
    'the raw 32-byte Ed25519 public key in a SubjectPublicKeyInfo PEM (as openssl pkey -pubout writes)';
CREATE FUNCTION @extschema@.key_id(public_key bytea) RETURNS @extschema@.hash256
    AS 'MODULE_PATHNAME', 'battledger_key_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.key_id(bytea) IS
    'SHA-256("battledger key v1" || 0x0A || public key): the id a signed row names its key by';
CREATE FUNCTION @extschema@.ed25519_verify(public_key bytea, message bytea, signature bytea) RETURNS boolean
    AS 'MODULE_PATHNAME', 'battledger_ed25519_verify' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TABLE @extschema@.member_event (
    member  text NOT NULL CHECK (member ~ '^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$'),
    event   text NOT NULL CHECK (event IN ('added', 'roles_changed')),
    roles   text[] NOT NULL CHECK (cardinality(roles) > 0 AND roles <@ @extschema@.member_roles()),
    at      timestamptz NOT NULL DEFAULT now()
);
SELECT @extschema@.enable_ledger('@extschema@.member_event', 'member');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.member_event', '');

CREATE TABLE @extschema@.key_event (
    key_id      @extschema@.hash256 NOT NULL,
    member      text NOT NULL,
    event       text NOT NULL CHECK (event IN ('added', 'revoked')),
    public_key  bytea CHECK (length(public_key) = 32),
    valid_from  timestamptz,
    valid_until timestamptz,
    revoked_at  timestamptz,
    at          timestamptz NOT NULL DEFAULT now(),
    CHECK (event <> 'added' OR (public_key IS NOT NULL AND valid_from IS NOT NULL
                                AND key_id = @extschema@.key_id(public_key))),
    CHECK (event <> 'revoked' OR revoked_at IS NOT NULL),
    CHECK (valid_until IS NULL OR valid_until > valid_from)
);
SELECT @extschema@.enable_ledger('@extschema@.key_event', 'member');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.key_event', '');
CREATE INDEX key_event_key_id ON @extschema@.key_event (key_id);

CREATE VIEW @extschema@.members AS
    SELECT DISTINCT ON (member) member, roles, at AS since
      FROM @extschema@.member_event ORDER BY member, ledger_seq DESC;
CREATE VIEW @extschema@.keys AS
    SELECT a.key_id, a.member, a.public_key, a.valid_from, a.valid_until,
           (SELECT min(r.revoked_at) FROM @extschema@.key_event r
             WHERE r.key_id = a.key_id AND r.event = 'revoked') AS revoked_at
      FROM @extschema@.key_event a WHERE a.event = 'added';
GRANT SELECT ON @extschema@.member_event, @extschema@.key_event,
                @extschema@.members, @extschema@.keys TO PUBLIC;

-- Parsed keys are cached in each backend; a statement trigger tells every
-- backend to drop its cache when keys or roles change.
CREATE FUNCTION @extschema@._keys_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_keys_changed' LANGUAGE C;
CREATE TRIGGER battledger_keys_changed AFTER INSERT ON @extschema@.member_event
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
CREATE TRIGGER battledger_keys_changed AFTER INSERT ON @extschema@.key_event
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@.member_event ENABLE ALWAYS TRIGGER battledger_keys_changed;
ALTER TABLE @extschema@.key_event ENABLE ALWAYS TRIGGER battledger_keys_changed;

CREATE FUNCTION @extschema@.add_member(name text, roles text[]) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = name) THEN
        RAISE EXCEPTION 'member "%" already exists', name USING ERRCODE = 'duplicate_object',
            HINT = 'Change its roles with battledger.set_member_roles().';
    END IF;
    IF NOT roles <@ @extschema@.member_roles() THEN
        RAISE EXCEPTION 'unknown member role in %', roles USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('The roles are: %s.', array_to_string(@extschema@.member_roles(), ', '));
    END IF;
    INSERT INTO @extschema@.member_event (member, event, roles) VALUES (name, 'added', roles);
    RETURN name;
END $$;
COMMENT ON FUNCTION @extschema@.add_member(text, text[]) IS 'register a consortium member; returns its id (the name)';

CREATE FUNCTION @extschema@.set_member_roles(name text, roles text[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = name) THEN
        RAISE EXCEPTION 'member "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    INSERT INTO @extschema@.member_event (member, event, roles) VALUES (name, 'roles_changed', roles);
END $$;

CREATE FUNCTION @extschema@.add_key(member text, public_key bytea,
                                    valid_from timestamptz DEFAULT now(),
                                    valid_until timestamptz DEFAULT NULL)
    RETURNS @extschema@.hash256
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    id @extschema@.hash256 := @extschema@.key_id(public_key);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = add_key.member) THEN
        RAISE EXCEPTION 'member "%" does not exist', member USING ERRCODE = 'undefined_object',
            HINT = 'Register it first with battledger.add_member().';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.key_event k WHERE k.key_id OPERATOR(@extschema@.=) id) THEN
        RAISE EXCEPTION 'key % is already registered', id USING ERRCODE = 'duplicate_object';
    END IF;
    IF valid_from IS NULL OR (valid_until IS NOT NULL AND valid_until <= valid_from) THEN
        RAISE EXCEPTION 'invalid validity period [%, %)', valid_from, valid_until
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO @extschema@.key_event (key_id, member, event, public_key, valid_from, valid_until)
    VALUES (id, member, 'added', public_key, valid_from, valid_until);
    RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.add_key(text, bytea, timestamptz, timestamptz) IS
    'register a member''s raw 32-byte Ed25519 public key; returns its key id';

CREATE FUNCTION @extschema@.add_key(member text, public_key_pem text,
                                    valid_from timestamptz DEFAULT now(),
                                    valid_until timestamptz DEFAULT NULL)
    RETURNS @extschema@.hash256
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT @extschema@.add_key(member, @extschema@.public_key_from_pem(public_key_pem), valid_from, valid_until)
$$;
COMMENT ON FUNCTION @extschema@.add_key(text, text, timestamptz, timestamptz) IS
    'register a member''s Ed25519 public key given as SubjectPublicKeyInfo PEM';

CREATE FUNCTION @extschema@.revoke_key(key_id @extschema@.hash256, at timestamptz DEFAULT now())
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    owner text;
BEGIN
    SELECT k.member INTO owner FROM @extschema@.key_event k
     WHERE k.key_id OPERATOR(@extschema@.=) revoke_key.key_id AND k.event = 'added';
    IF owner IS NULL THEN
        RAISE EXCEPTION 'key % is not registered', key_id USING ERRCODE = 'undefined_object';
    END IF;
    IF at IS NULL THEN
        RAISE EXCEPTION 'revocation time must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    INSERT INTO @extschema@.key_event (key_id, member, event, revoked_at)
    VALUES (key_id, owner, 'revoked', at);
END $$;
COMMENT ON FUNCTION @extschema@.revoke_key(@extschema@.hash256, timestamptz) IS
    'revoke a key from the given time on (rows it signed from then on no longer verify)';

CREATE FUNCTION @extschema@.member_keys_at(member text, at timestamptz)
    RETURNS SETOF @extschema@.keys LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT * FROM @extschema@.keys k
     WHERE k.member = member_keys_at.member AND k.valid_from <= at
       AND (k.valid_until IS NULL OR at < k.valid_until)
       AND (k.revoked_at IS NULL OR at < k.revoked_at)
$$;

REVOKE ALL ON FUNCTION @extschema@.add_member(text, text[]), @extschema@.set_member_roles(text, text[]),
    @extschema@.add_key(text, bytea, timestamptz, timestamptz),
    @extschema@.add_key(text, text, timestamptz, timestamptz),
    @extschema@.revoke_key(@extschema@.hash256, timestamptz) FROM PUBLIC;

-----------------------------------------------------------------------------
-- Batch signatures: one signature over a manifest that commits to many rows.
-----------------------------------------------------------------------------
CREATE TABLE @extschema@.batch (
    batch_id   text NOT NULL UNIQUE CHECK (length(batch_id) BETWEEN 1 AND 200),
    tbl        text NOT NULL,      -- the target ledger table, schema-qualified (a name: OIDs are not portable)
    key_id     @extschema@.hash256 NOT NULL,
    row_count  bigint NOT NULL CHECK (row_count > 0),
    root       @extschema@.hash256 NOT NULL,
    sig        bytea NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
SELECT @extschema@.enable_ledger('@extschema@.batch', 'key_id');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.batch', '');
GRANT SELECT ON @extschema@.batch TO PUBLIC;
GRANT INSERT ON @extschema@.batch TO PUBLIC;   -- every insert is checked: signature, key, role

CREATE FUNCTION @extschema@.batch_manifest(batch_id text, row_count bigint, root @extschema@.hash256)
    RETURNS bytea AS 'MODULE_PATHNAME', 'battledger_batch_manifest' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.batch_manifest(text, bigint, @extschema@.hash256) IS
    'the bytes a member signs for a batch: "battledger batch v1\n" || batch_id || "\n" || u64 count || root';
CREATE FUNCTION @extschema@.batch_root(content_hashes @extschema@.hash256[])
    RETURNS @extschema@.hash256 AS 'MODULE_PATHNAME', 'battledger_batch_root' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.batch_root(@extschema@.hash256[]) IS
    'RFC 6962 Merkle root over the rows'' content hashes (SHA-256 of signing_bytes), sorted ascending';

CREATE FUNCTION @extschema@._batch_check() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_batch_check' LANGUAGE C;
CREATE FUNCTION @extschema@._batch_commit_check() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_batch_commit_check' LANGUAGE C;
CREATE TRIGGER battledger_batch_check BEFORE INSERT ON @extschema@.batch
    FOR EACH ROW EXECUTE FUNCTION @extschema@._batch_check();
CREATE CONSTRAINT TRIGGER battledger_batch_complete AFTER INSERT ON @extschema@.batch
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION @extschema@._batch_commit_check();

-----------------------------------------------------------------------------
-- Transparency log (docs/transparency-log.md): every ledger row becomes a
-- leaf of an RFC 9162 Merkle tree when sealed; checkpoints are C2SP signed notes.
-----------------------------------------------------------------------------
CREATE TABLE @extschema@.log_pending (     -- chained rows waiting for seal()
    tbl      text NOT NULL,
    seq      bigint NOT NULL,
    prev     @extschema@.hash256 NOT NULL,
    row_hash @extschema@.hash256 NOT NULL
);
CREATE TABLE @extschema@.log_leaf (
    leaf_index bigint PRIMARY KEY,
    tbl        text NOT NULL,
    seq        bigint NOT NULL,
    prev       @extschema@.hash256 NOT NULL,
    row_hash   @extschema@.hash256 NOT NULL,
    leaf_hash  @extschema@.hash256 NOT NULL
);
CREATE INDEX log_leaf_row ON @extschema@.log_leaf (row_hash);
CREATE TABLE @extschema@.log_node (        -- perfect subtrees, levels >= 1 (level 0 is log_leaf)
    level int NOT NULL,
    idx   bigint NOT NULL,
    hash  @extschema@.hash256 NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE @extschema@.checkpoint (
    tree_size bigint PRIMARY KEY,
    root      @extschema@.hash256 NOT NULL,
    note      text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.log_pending', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.log_leaf', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.log_node', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.checkpoint', '');
-- the tree and its checkpoints are append-only too
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.log_leaf
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.log_node
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
ALTER TABLE @extschema@.log_leaf ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE @extschema@.log_node ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE @extschema@.checkpoint ENABLE ALWAYS TRIGGER battledger_append_only;
REVOKE ALL ON @extschema@.log_pending, @extschema@.log_leaf, @extschema@.log_node,
              @extschema@.checkpoint FROM PUBLIC;
GRANT SELECT ON @extschema@.log_leaf, @extschema@.log_node, @extschema@.checkpoint TO PUBLIC;
-- every inserting role queues its rows
GRANT INSERT ON @extschema@.log_pending TO PUBLIC;

CREATE FUNCTION @extschema@.seal() RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_seal' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.seal() IS
    'integrate every committed, unsealed ledger row into the log and return the new signed checkpoint';
REVOKE ALL ON FUNCTION @extschema@.seal() FROM PUBLIC;
CREATE FUNCTION @extschema@.checkpoint() RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_checkpoint' LANGUAGE C STABLE;
CREATE FUNCTION @extschema@.log_vkey() RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_log_vkey' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.log_vkey() IS 'the log''s C2SP verifier key, for auditors';
CREATE FUNCTION @extschema@.leaf(leaf_index bigint) RETURNS bytea
    AS 'MODULE_PATHNAME', 'battledger_leaf' LANGUAGE C STABLE STRICT;
CREATE FUNCTION @extschema@.tree_root(tree_size bigint) RETURNS @extschema@.hash256
    AS 'MODULE_PATHNAME', 'battledger_root' LANGUAGE C STABLE STRICT;
CREATE FUNCTION @extschema@.inclusion_proof(leaf_index bigint, tree_size bigint DEFAULT NULL)
    RETURNS @extschema@.hash256[] AS 'MODULE_PATHNAME', 'battledger_inclusion_proof' LANGUAGE C STABLE;
CREATE FUNCTION @extschema@.consistency_proof(size1 bigint, size2 bigint)
    RETURNS @extschema@.hash256[] AS 'MODULE_PATHNAME', 'battledger_consistency_proof' LANGUAGE C STABLE STRICT;
CREATE FUNCTION @extschema@.tlog_proof(leaf_index bigint) RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_tlog_proof' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.tlog_proof(bigint) IS
    'a C2SP tlog-proof@v1 bundle: index, inclusion proof and the latest signed checkpoint';
CREATE FUNCTION @extschema@.leaf_index(tbl regclass, ledger_hash @extschema@.hash256) RETURNS bigint
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog AS $$
    SELECT l.leaf_index FROM @extschema@.log_leaf l
     WHERE l.row_hash OPERATOR(@extschema@.=) $2
       AND l.tbl = (SELECT n.nspname || '.' || c.relname FROM pg_class c
                      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1)
$$;
CREATE FUNCTION @extschema@.tlog_proof(tbl regclass, ledger_hash @extschema@.hash256) RETURNS text
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog AS $$
    SELECT @extschema@.tlog_proof(@extschema@.leaf_index(tbl, ledger_hash))
$$;
COMMENT ON FUNCTION @extschema@.tlog_proof(regclass, @extschema@.hash256) IS
    'the tlog-proof@v1 bundle for the row of tbl whose ledger_hash is given (NULL if not sealed yet)';
CREATE FUNCTION @extschema@.verify_inclusion(leaf bytea, leaf_index bigint, tree_size bigint,
                                             proof @extschema@.hash256[], root @extschema@.hash256)
    RETURNS boolean AS 'MODULE_PATHNAME', 'battledger_verify_inclusion' LANGUAGE C IMMUTABLE STRICT;
CREATE FUNCTION @extschema@.verify_consistency(size1 bigint, size2 bigint, root1 @extschema@.hash256,
                                               root2 @extschema@.hash256, proof @extschema@.hash256[])
    RETURNS boolean AS 'MODULE_PATHNAME', 'battledger_verify_consistency' LANGUAGE C IMMUTABLE STRICT;
CREATE FUNCTION @extschema@.verify_log(check_rows boolean DEFAULT true)
    RETURNS TABLE (problem text, ref bigint, detail text)
    AS 'MODULE_PATHNAME', 'battledger_verify_log' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.verify_log(boolean) IS
    'recompute the tree from the leaves, check every stored node and checkpoint, and (check_rows) that every sealed row is unchanged';
