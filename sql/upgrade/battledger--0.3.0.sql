-- battledger 0.2.0: hash256 type, canonical row encoding, append-only hash-chained ledger tables,
-- signatures, the transparency log, the battery registry and the consortium.
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
-- battery_id: a validated, normalised battery identifier (src/battery_id.c).
-- GS1 GTIN (AI 01) + serial (AI 21), read from a Digital Link URI, an element
-- string or gs1:01/<gtin14>/21/<serial>; or another ISO/IEC 15459 identifier,
-- iso15459:<IAC>/<CIN>/<serial>.  Stored as its canonical text.
-----------------------------------------------------------------------------
CREATE TYPE @extschema@.battery_id;

CREATE FUNCTION @extschema@.battery_id_in(cstring) RETURNS @extschema@.battery_id
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.battery_id_out(@extschema@.battery_id) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.battery_id_recv(internal) RETURNS @extschema@.battery_id
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.battery_id_send(@extschema@.battery_id) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.battery_id (
    INPUT = @extschema@.battery_id_in,
    OUTPUT = @extschema@.battery_id_out,
    RECEIVE = @extschema@.battery_id_recv,
    SEND = @extschema@.battery_id_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.battery_id IS
    'battery identifier: gs1:01/<GTIN-14>/21/<serial> (from a GS1 Digital Link URI, element string or this text) or iso15459:<IAC>/<CIN>/<serial>';

CREATE FUNCTION @extschema@.text(@extschema@.battery_id) RETURNS text
    AS 'MODULE_PATHNAME', 'battery_id_to_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE CAST (@extschema@.battery_id AS text) WITH FUNCTION @extschema@.text(@extschema@.battery_id)
    AS ASSIGNMENT;

CREATE FUNCTION @extschema@.battery_id_scheme(@extschema@.battery_id) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.battery_id_scheme(@extschema@.battery_id) IS
    'the identifier''s scheme: gs1 or iso15459';
CREATE FUNCTION @extschema@.battery_gtin(@extschema@.battery_id) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.battery_gtin(@extschema@.battery_id) IS
    'the GTIN-14 (AI 01) of a GS1 identifier; NULL for other schemes';
CREATE FUNCTION @extschema@.battery_serial(@extschema@.battery_id) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.battery_serial(@extschema@.battery_id) IS
    'the serial number (AI 21 for GS1)';
CREATE FUNCTION @extschema@.battery_digital_link(id @extschema@.battery_id,
                                                 resolver text DEFAULT 'https://id.gs1.org')
    RETURNS text AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.battery_digital_link(@extschema@.battery_id, text) IS
    'the GS1 Digital Link URI <resolver>/01/<GTIN-14>/21/<percent-encoded serial>; NULL for non-GS1 identifiers';

CREATE FUNCTION @extschema@.battery_id_eq(@extschema@.battery_id, @extschema@.battery_id) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_ne(@extschema@.battery_id, @extschema@.battery_id) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_lt(@extschema@.battery_id, @extschema@.battery_id) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_le(@extschema@.battery_id, @extschema@.battery_id) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_gt(@extschema@.battery_id, @extschema@.battery_id) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_ge(@extschema@.battery_id, @extschema@.battery_id) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_cmp(@extschema@.battery_id, @extschema@.battery_id) RETURNS int4
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_hash(@extschema@.battery_id) RETURNS int4
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_hash_extended(@extschema@.battery_id, int8) RETURNS int8
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.battery_id, RIGHTARG = @extschema@.battery_id,
    PROCEDURE = @extschema@.battery_id_eq, COMMUTATOR = OPERATOR(@extschema@.=),
    NEGATOR = OPERATOR(@extschema@.<>), RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES);
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.battery_id, RIGHTARG = @extschema@.battery_id,
    PROCEDURE = @extschema@.battery_id_ne, COMMUTATOR = OPERATOR(@extschema@.<>),
    NEGATOR = OPERATOR(@extschema@.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR @extschema@.< (
    LEFTARG = @extschema@.battery_id, RIGHTARG = @extschema@.battery_id,
    PROCEDURE = @extschema@.battery_id_lt, COMMUTATOR = OPERATOR(@extschema@.>),
    NEGATOR = OPERATOR(@extschema@.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR @extschema@.<= (
    LEFTARG = @extschema@.battery_id, RIGHTARG = @extschema@.battery_id,
    PROCEDURE = @extschema@.battery_id_le, COMMUTATOR = OPERATOR(@extschema@.>=),
    NEGATOR = OPERATOR(@extschema@.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR @extschema@.> (
    LEFTARG = @extschema@.battery_id, RIGHTARG = @extschema@.battery_id,
    PROCEDURE = @extschema@.battery_id_gt, COMMUTATOR = OPERATOR(@extschema@.<),
    NEGATOR = OPERATOR(@extschema@.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR @extschema@.>= (
    LEFTARG = @extschema@.battery_id, RIGHTARG = @extschema@.battery_id,
    PROCEDURE = @extschema@.battery_id_ge, COMMUTATOR = OPERATOR(@extschema@.<=),
    NEGATOR = OPERATOR(@extschema@.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR CLASS @extschema@.battery_id_ops DEFAULT FOR TYPE @extschema@.battery_id USING btree AS
    OPERATOR 1 @extschema@.<,
    OPERATOR 2 @extschema@.<=,
    OPERATOR 3 @extschema@.=,
    OPERATOR 4 @extschema@.>=,
    OPERATOR 5 @extschema@.>,
    FUNCTION 1 @extschema@.battery_id_cmp(@extschema@.battery_id, @extschema@.battery_id);
CREATE OPERATOR CLASS @extschema@.battery_id_hash_ops DEFAULT FOR TYPE @extschema@.battery_id USING hash AS
    OPERATOR 1 @extschema@.=,
    FUNCTION 1 @extschema@.battery_id_hash(@extschema@.battery_id),
    FUNCTION 2 @extschema@.battery_id_hash_extended(@extschema@.battery_id, int8);
-----------------------------------------------------------------------------
-- Canonical row encoding (docs/encoding.md)
-----------------------------------------------------------------------------
CREATE FUNCTION @extschema@.row_bytes(record) RETURNS bytea
    AS 'MODULE_PATHNAME', 'battledger_row_bytes' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.row_bytes(record) IS
    'canonical, settings-independent bytes of a row''s content: NULLs and the chain columns (ledger_seq, ledger_prev, ledger_hash) left out; ledger_origin in, unless empty';
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
    'the bytes a member signs (v2): the table''s name, then row content with ledger_key_id and ledger_batch, without chain fields, ledger_sig and ledger_at';
CREATE FUNCTION @extschema@.signing_bytes(record, regclass) RETURNS bytea
    AS 'MODULE_PATHNAME', 'battledger_signing_bytes_for' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.signing_bytes(record, regclass) IS
    'signing bytes (v2) of a row built in another shape, for the ledger table given';
CREATE FUNCTION @extschema@.signing_bytes_v1(record) RETURNS bytea
    AS 'MODULE_PATHNAME', 'battledger_signing_bytes_v1' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.signing_bytes_v1(record) IS
    'signing bytes v1 (no table name): what rows signed before 0.3.0 were signed over';

-- The consortium roles (Regulation (EU) 2023/1542 vocabulary; docs/signatures.md).
CREATE FUNCTION @extschema@.member_roles() RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
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
    chain_index name NOT NULL,  -- in the table's schema; a name, not regclass, so pg_restore
                                -- can load the registry before the index is rebuilt
    signed_v1_before timestamptz  -- signed rows (and batches) dated before this were signed
                                  -- without the table's name (signing bytes v1, before 0.3.0)
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
CREATE FUNCTION @extschema@._arrive_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ledger_arrive_trigger' LANGUAGE C;
CREATE FUNCTION @extschema@._log_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_log_trigger' LANGUAGE C;
-- Only _register() attaches these (as the extension's owner): no other role may
-- put a ledger trigger on a table of its own making.
REVOKE ALL ON FUNCTION @extschema@._chain_trigger(), @extschema@._refuse_trigger(),
    @extschema@._arrive_trigger(), @extschema@._log_trigger() FROM PUBLIC;

CREATE FUNCTION @extschema@.verify(tbl regclass, origin text DEFAULT NULL)
    RETURNS TABLE (origin text, chain_key text, seq bigint, problem text, detail text)
    AS 'MODULE_PATHNAME', 'battledger_verify' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.verify(regclass, text) IS
    'one row per problem in the ledger table''s chains (of one origin, if given); no rows when intact';
-----------------------------------------------------------------------------
-- enable_ledger() and the registration it ends with (CREATE OR REPLACE: the
-- upgrade scripts load this file too)
-----------------------------------------------------------------------------
-- The last step of enable_ledger() (src/enable.c): checks the prepared table
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
                 'DROP INDEX', 'DROP EXTENSION', 'DROP SCHEMA', 'CREATE RULE')
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
      FROM @extschema@.member_event ORDER BY member, at DESC, ledger_origin DESC, ledger_seq DESC;
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
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.add_key(member, @extschema@.public_key_from_pem(public_key_pem), valid_from, valid_until)
$$;
COMMENT ON FUNCTION @extschema@.add_key(text, text, timestamptz, timestamptz) IS
    'register a member''s Ed25519 public key given as SubjectPublicKeyInfo PEM';

CREATE FUNCTION @extschema@.revoke_key(key_id @extschema@.hash256, at timestamptz DEFAULT now())
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
    RETURNS SETOF @extschema@.keys LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
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
    'manifest v1 (no table), what batches filed before 0.3.0 were signed over: "battledger batch v1\n" || batch_id || "\n" || u64 count || root';
CREATE FUNCTION @extschema@.batch_manifest(tbl regclass, batch_id text, row_count bigint, root @extschema@.hash256)
    RETURNS bytea AS 'MODULE_PATHNAME', 'battledger_batch_manifest_v2' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.batch_manifest(regclass, text, bigint, @extschema@.hash256) IS
    'the bytes a member signs for a batch (v2): "battledger batch v2\n" || u16 length || table || batch_id || "\n" || u64 count || root';
CREATE FUNCTION @extschema@.batch_root(content_hashes @extschema@.hash256[])
    RETURNS @extschema@.hash256 AS 'MODULE_PATHNAME', 'battledger_batch_root' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.batch_root(@extschema@.hash256[]) IS
    'RFC 6962 Merkle root over the rows'' content hashes (SHA-256 of signing_bytes), sorted ascending';

CREATE FUNCTION @extschema@._batch_check() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_batch_check' LANGUAGE C;
-- The signature, key and role are checked as the batch is inserted; its rows,
-- at PRE_COMMIT (src/sign.c), after every deferred trigger.
CREATE TRIGGER battledger_batch_check BEFORE INSERT ON @extschema@.batch
    FOR EACH ROW EXECUTE FUNCTION @extschema@._batch_check();

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
-- verify_log() reads the queue to tell queued rows from rows added behind the guards
GRANT SELECT ON @extschema@.log_pending TO PUBLIC;
-- No grant on log_pending: the log trigger queues rows without a privilege
-- check, and a role that could insert there could have seal() sign leaves
-- for rows that do not exist.

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
CREATE FUNCTION @extschema@.tlog_proof(leaf_index bigint, min_cosignatures int DEFAULT 0) RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_tlog_proof' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.tlog_proof(bigint, int) IS
    'a C2SP tlog-proof@v1 bundle: index, inclusion proof and the latest signed checkpoint (cosigned by at least min_cosignatures witnesses), with its cosignatures';
CREATE FUNCTION @extschema@.leaf_index(tbl regclass, ledger_hash @extschema@.hash256) RETURNS bigint
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT l.leaf_index FROM @extschema@.log_leaf l
     WHERE l.row_hash OPERATOR(@extschema@.=) $2
       AND l.tbl = (SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c
                      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1)
$$;
CREATE FUNCTION @extschema@.tlog_proof(tbl regclass, ledger_hash @extschema@.hash256, min_cosignatures int DEFAULT 0) RETURNS text
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.tlog_proof(@extschema@.leaf_index(tbl, ledger_hash), min_cosignatures)
$$;
COMMENT ON FUNCTION @extschema@.tlog_proof(regclass, @extschema@.hash256, int) IS
    'the tlog-proof@v1 bundle for the row of tbl whose ledger_hash is given (NULL if not sealed yet)';
CREATE FUNCTION @extschema@.verify_inclusion(leaf bytea, leaf_index bigint, tree_size bigint,
                                             proof @extschema@.hash256[], root @extschema@.hash256)
    RETURNS boolean AS 'MODULE_PATHNAME', 'battledger_verify_inclusion' LANGUAGE C IMMUTABLE STRICT;
CREATE FUNCTION @extschema@.verify_consistency(size1 bigint, size2 bigint, root1 @extschema@.hash256,
                                               root2 @extschema@.hash256, proof @extschema@.hash256[])
    RETURNS boolean AS 'MODULE_PATHNAME', 'battledger_verify_consistency' LANGUAGE C IMMUTABLE STRICT;
CREATE FUNCTION @extschema@.verify_log(check_rows boolean DEFAULT true, log_vkey text DEFAULT NULL)
    RETURNS TABLE (problem text, ref bigint, detail text)
    AS 'MODULE_PATHNAME', 'battledger_verify_log' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.verify_log(boolean, text) IS
    'recompute the tree from the leaves, check every stored node and checkpoint (signatures against log_vkey, the published verifier key, else the log key file), and (check_rows) every ledger row against its leaf';
-----------------------------------------------------------------------------
-- The battery registry (docs/registry.md): battery passports in the vocabulary
-- of Regulation (EU) 2023/1542, on signed ledger tables.  Every event is
-- signed by a member holding the role allowed for it; the rules below (role
-- per event, custody and mass balance of material lots, the battery status
-- state machine, passports) are checked by a BEFORE INSERT trigger, which
-- fires before the chain trigger, so a refused event leaves no trace.
-----------------------------------------------------------------------------

-- Which member roles may sign which event (../shared/DOMAIN.md).
CREATE TABLE @extschema@.event_kind (
    event       text PRIMARY KEY,
    subject     text NOT NULL CHECK (subject IN ('lot', 'battery')),
    roles       text[] NOT NULL,
    description text NOT NULL
);
INSERT INTO @extschema@.event_kind VALUES
    ('extracted',         'lot', '{miner}', 'raw material extracted at a mine: a new lot (material, mass, mine, country)'),
    ('shipped',           'lot', '{miner,refiner,cell_maker,pack_maker,collector,recycler}', 'custody transfer, sender''s side (signed by the current custodian)'),
    ('received',          'lot', '{miner,refiner,cell_maker,pack_maker,collector,recycler}', 'custody transfer, receiver''s side (signed by the addressee)'),
    ('processed',         'lot', '{refiner}', 'a new lot made from input lots; its mass cannot exceed theirs'),
    ('secondary_created', 'lot', '{recycler}', 'a secondary (recycled) lot recovered from a battery'),
    ('manufactured',      'battery', '{cell_maker,pack_maker}', 'cell manufactured or pack assembled, with the lots it used'),
    ('quality_checked',   'battery', '{cell_maker,pack_maker,auditor}', 'quality check recorded'),
    ('placed_on_market',  'battery', '{pack_maker,oem}', 'placed on the market: status original, first passport issued'),
    ('installed',         'battery', '{oem,fleet_operator}', 'installed in a vehicle, put into service'),
    ('ownership_transferred', 'battery', '{oem,fleet_operator,second_life_operator}', 'ownership transferred'),
    ('soh_reported',      'battery', '{oem,fleet_operator,second_life_operator}', 'state of health and usage reported'),
    ('repaired',          'battery', '{repairer,fleet_operator}', 'maintenance or repair'),
    ('negative_event',    'battery', '{repairer,fleet_operator,oem}', 'accident or other negative event'),
    ('removed',           'battery', '{oem,repairer,second_life_operator}', 'removed from the vehicle or application'),
    ('status_changed',    'battery', '{repairer,second_life_operator,collector,recycler,oem,fleet_operator}', 'status change (Art. 77); re-use, repurposing and remanufacturing issue a new passport'),
    ('dismantled',        'battery', '{recycler}', 'dismantled (waste batteries only)'),
    ('recycled',          'battery', '{recycler}', 'recycled, with the recovered material masses: the passport ceases to exist'),
    ('correction',        'battery', '{miner,refiner,cell_maker,pack_maker,oem,fleet_operator,repairer,second_life_operator,collector,recycler,auditor}',
                          'a new event correcting an earlier one (signed by the same member)');

-- Who may move a battery into which status.
CREATE TABLE @extschema@.status_role (
    status text PRIMARY KEY,
    roles  text[] NOT NULL
);
INSERT INTO @extschema@.status_role VALUES
    ('re-used',        '{repairer,second_life_operator,fleet_operator}'),
    ('repurposed',     '{second_life_operator}'),
    ('remanufactured', '{second_life_operator,pack_maker}'),
    ('waste',          '{collector,recycler,oem,fleet_operator,second_life_operator}');
GRANT SELECT ON @extschema@.event_kind, @extschema@.status_role TO PUBLIC;

-- Art. 77 / Annex XIII: the allowed status moves.
CREATE FUNCTION @extschema@.status_move_allowed(from_status text, to_status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT CASE
        WHEN from_status = 'original' THEN to_status IN ('re-used', 'repurposed', 'remanufactured', 'waste')
        WHEN from_status IN ('re-used', 'repurposed', 'remanufactured')
             THEN to_status IN ('re-used', 'repurposed', 'remanufactured', 'waste')
        WHEN from_status = 'waste' THEN to_status IN ('re-used', 'repurposed', 'recycled')
        ELSE false
    END
$$;
COMMENT ON FUNCTION @extschema@.status_move_allowed(text, text) IS
    'Art. 77 status state machine: never back to original, nothing after recycled';

-- Battery models: rated performance, materials, carbon footprint, recycled content (public).
CREATE TABLE @extschema@.battery_model (
    model_id                 text NOT NULL,
    manufacturer             text NOT NULL,
    category                 text NOT NULL CHECK (category IN ('ev', 'lmt', 'industrial', 'stationary', 'portable', 'sli')),
    chemistry                text NOT NULL,
    rated_capacity_ah        numeric NOT NULL CHECK (rated_capacity_ah > 0),
    rated_energy_kwh         numeric,
    nominal_voltage_v        numeric,
    min_voltage_v            numeric,
    max_voltage_v            numeric,
    original_power_w         numeric,
    expected_lifetime_cycles integer,
    capacity_threshold_pct   numeric,
    mass_kg                  numeric,
    carbon_footprint_kg_co2e_per_kwh numeric,
    materials                jsonb,
    recycled_content         jsonb
);
SELECT @extschema@.enable_ledger('@extschema@.battery_model', 'model_id', signed => true,
                                 signer_roles => ARRAY['cell_maker', 'pack_maker', 'oem']);

-- Material lots and their flows.
CREATE TABLE @extschema@.lot_event (
    lot_id       text NOT NULL CHECK (length(lot_id) BETWEEN 1 AND 200),
    event        text NOT NULL,
    material     text NOT NULL,
    mass_kg      numeric NOT NULL CHECK (mass_kg > 0),
    country      text CHECK (country ~ '^[A-Z]{2}$'),
    facility     text,               -- scheme:value, e.g. gln:0614141000005
    counterparty text,               -- shipped: the addressee; received: the sender
    inputs       jsonb,              -- processed: [{"lot": ..., "mass_kg": ...}]; secondary_created: {"battery": ...}
    occurred_at  timestamptz NOT NULL
);
SELECT @extschema@.enable_ledger('@extschema@.lot_event', 'lot_id', signed => true,
    signer_roles => ARRAY['miner', 'refiner', 'cell_maker', 'pack_maker', 'collector', 'recycler']);

-- Battery lifecycle events, one chain per battery.
CREATE TABLE @extschema@.battery_event (
    battery_id  @extschema@.battery_id NOT NULL,
    event       text NOT NULL,
    occurred_at timestamptz NOT NULL,
    model_id    text,                 -- manufactured
    lots        jsonb,                -- manufactured: [{"lot": ..., "mass_kg": ...}]
    new_status  text,                 -- status_changed
    passport_id text,                 -- placed_on_market, status_changed into re-use/repurposing/remanufacturing
    data        jsonb,                -- public values of the event
    restricted  @extschema@.hash256,  -- salted commitment to restricted values (battledger.disclosure)
    corrects    @extschema@.hash256   -- correction: ledger_hash of the corrected event
);
SELECT @extschema@.enable_ledger('@extschema@.battery_event', 'battery_id', signed => true,
    signer_roles => ARRAY['cell_maker', 'pack_maker', 'oem', 'fleet_operator', 'repairer',
                          'second_life_operator', 'collector', 'recycler', 'auditor',
                          'miner', 'refiner']);
-- the few events that decide a battery's state, found without walking its usage reports;
-- events are ordered by (ledger_at, ledger_origin, ledger_seq): a chain's rows never
-- predate their predecessors, and rows of different members meet by time
CREATE INDEX battery_event_state ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event IN ('manufactured', 'placed_on_market', 'status_changed', 'recycled');
-- the latest usage report, per dynamic passport attribute (the chain index, led by
-- ledger_origin, no longer serves "latest of this battery" as it did in 0.1.0)
CREATE INDEX battery_event_usage ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event = 'soh_reported';
-- a passport is issued once (the rules say so first; the index holds under any race)
CREATE UNIQUE INDEX battery_event_passport ON @extschema@.battery_event (passport_id) WHERE passport_id IS NOT NULL;
CREATE INDEX lot_event_inputs ON @extschema@.lot_event USING gin (inputs jsonb_path_ops);
CREATE INDEX battery_event_lots ON @extschema@.battery_event USING gin (lots jsonb_path_ops)
    WHERE lots IS NOT NULL;
GRANT SELECT ON @extschema@.battery_model, @extschema@.lot_event, @extschema@.battery_event TO PUBLIC;
GRANT INSERT ON @extschema@.battery_model, @extschema@.lot_event, @extschema@.battery_event TO PUBLIC;

-- The member behind a signed row, and its roles; NULL if the key is unknown
-- (the chain trigger then refuses the row with BL011).  The small helpers
-- below have no SET clause so that the planner can inline them; their names
-- are qualified and they only read.
CREATE FUNCTION @extschema@._signer(key_id @extschema@.hash256, OUT member text, OUT roles text[])
    LANGUAGE sql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT k.member, m.roles FROM @extschema@.keys k JOIN @extschema@.members m ON m.member = k.member
     WHERE k.key_id OPERATOR(@extschema@.=) $1
$$;

CREATE FUNCTION @extschema@._refuse(code text, msg text, detail text DEFAULT NULL, hint text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    -- RAISE refuses NULL options, so only the fields given are set
    IF detail IS NULL AND hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg;
    ELSIF hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, DETAIL = detail;
    ELSIF detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, HINT = hint;
    END IF;
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, DETAIL = detail, HINT = hint;
END $$;

-- Mass of a lot not yet consumed by processing or manufacturing.
CREATE FUNCTION @extschema@.lot_available_kg(lot text) RETURNS numeric
    LANGUAGE sql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT coalesce((SELECT e.mass_kg FROM @extschema@.lot_event e
                      WHERE e.lot_id = lot AND e.event IN ('extracted', 'processed', 'secondary_created')
                      ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1), 0)
         - coalesce((SELECT sum((i->>'mass_kg')::numeric) FROM @extschema@.lot_event e,
                            jsonb_array_elements(e.inputs) i
                      WHERE e.inputs @> jsonb_build_array(jsonb_build_object('lot', lot))
                        AND jsonb_typeof(e.inputs) = 'array' AND i->>'lot' = lot), 0)
         - coalesce((SELECT sum((i->>'mass_kg')::numeric) FROM @extschema@.battery_event b,
                            jsonb_array_elements(b.lots) i
                      WHERE b.lots @> jsonb_build_array(jsonb_build_object('lot', lot)) AND i->>'lot' = lot), 0)
$$;

-- The member holding a lot: whoever created or last received it.
CREATE FUNCTION @extschema@.lot_custodian(lot text) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT s.member FROM @extschema@.lot_event e, @extschema@._signer(e.ledger_key_id) s
     WHERE e.lot_id = lot AND e.event IN ('extracted', 'processed', 'secondary_created', 'received')
     ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1
$$;

-- The rules decide on the latest committed state of a lot or battery: writers
-- of the same lot or battery take turns (a transaction-scoped advisory lock in
-- battledger's own key class), and read at READ COMMITTED, where each query
-- after the lock sees what the previous writer committed.
CREATE FUNCTION @extschema@._lock_subject(kind text, id text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'registry events must be written at READ COMMITTED'
            USING ERRCODE = 'BL039',
                  DETAIL = format('This transaction runs at %s; the registry''s rules must see the latest committed state of a %s.',
                                  current_setting('transaction_isolation'), kind);
    END IF;
    PERFORM pg_advisory_xact_lock(-1108, hashtext(kind || ':' || id));
END $$;

-- Inputs [{"lot": ..., "mass_kg": ...}] must be lots the signer holds, with that much mass left.
CREATE FUNCTION @extschema@._check_inputs(inputs jsonb, signer text, what text) RETURNS numeric
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    i jsonb;
    total numeric := 0;
    want numeric;
BEGIN
    IF inputs IS NULL OR jsonb_typeof(inputs) <> 'array' OR jsonb_array_length(inputs) = 0 THEN
        PERFORM @extschema@._refuse('BL031', format('%s needs its input lots', what),
            'Give them as a JSON array: [{"lot": "...", "mass_kg": 12.5}, ...].');
    END IF;
    -- lock every input first, in one order, so two writers cannot deadlock
    PERFORM @extschema@._lock_subject('lot', l) FROM (
        SELECT DISTINCT e->>'lot' AS l FROM jsonb_array_elements(inputs) e WHERE e->>'lot' IS NOT NULL ORDER BY 1) x;
    FOR i IN SELECT * FROM jsonb_array_elements(inputs) LOOP
        want := (i->>'mass_kg')::numeric;
        IF i->>'lot' IS NULL OR want IS NULL OR want <= 0 THEN
            PERFORM @extschema@._refuse('BL031', format('malformed input lot %s in %s', i, what));
        END IF;
        IF @extschema@.lot_custodian(i->>'lot') IS DISTINCT FROM signer THEN
            PERFORM @extschema@._refuse('BL032', format('lot "%s" is not held by member "%s"', i->>'lot', signer),
                format('Its custodian is %s.', coalesce('"' || @extschema@.lot_custodian(i->>'lot') || '"', 'nobody (no such lot)')));
        END IF;
        IF @extschema@.lot_available_kg(i->>'lot') < want THEN
            PERFORM @extschema@._refuse('BL033', format('mass balance: lot "%s" has %s kg left, not %s kg',
                i->>'lot', @extschema@.lot_available_kg(i->>'lot'), want));
        END IF;
        total := total + want;
    END LOOP;
    RETURN total;
END $$;

CREATE FUNCTION @extschema@._lot_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    k @extschema@.event_kind;
    last @extschema@.lot_event;
    input_kg numeric;
BEGIN
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;                 -- unknown key: the chain trigger refuses it (BL011)
    END IF;
    SELECT * INTO k FROM @extschema@.event_kind WHERE event = NEW.event AND subject = 'lot';
    IF NOT FOUND THEN
        PERFORM @extschema@._refuse('BL030', format('unknown lot event "%s"', NEW.event),
            hint => 'See battledger.event_kind.');
    END IF;
    IF NOT s.roles && k.roles THEN
        PERFORM @extschema@._refuse('BL015', format('member "%s" may not sign a "%s" lot event', s.member, NEW.event),
            format('Its roles are %s; the event needs one of %s.', s.roles, k.roles));
    END IF;
    PERFORM @extschema@._lock_subject('lot', NEW.lot_id);
    SELECT * INTO last FROM @extschema@.lot_event e WHERE e.lot_id = NEW.lot_id ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1;
    IF NEW.event IN ('extracted', 'processed', 'secondary_created') AND last.lot_id IS NOT NULL THEN
        PERFORM @extschema@._refuse('BL034', format('lot "%s" already exists', NEW.lot_id));
    ELSIF NEW.event IN ('shipped', 'received') AND last.lot_id IS NULL THEN
        PERFORM @extschema@._refuse('BL034', format('lot "%s" does not exist', NEW.lot_id));
    END IF;
    IF NEW.event = 'processed' THEN
        input_kg := @extschema@._check_inputs(NEW.inputs, s.member, format('lot "%s"', NEW.lot_id));
        IF NEW.mass_kg > input_kg THEN
            PERFORM @extschema@._refuse('BL033', format('mass balance: output lot "%s" (%s kg) exceeds its inputs (%s kg)',
                NEW.lot_id, NEW.mass_kg, input_kg));
        END IF;
    ELSIF NEW.event = 'shipped' THEN
        IF @extschema@.lot_custodian(NEW.lot_id) IS DISTINCT FROM s.member THEN
            PERFORM @extschema@._refuse('BL032', format('member "%s" cannot ship lot "%s": it does not hold it', s.member, NEW.lot_id));
        END IF;
        IF NEW.counterparty IS NULL OR NOT EXISTS (SELECT 1 FROM @extschema@.members m WHERE m.member = NEW.counterparty) THEN
            PERFORM @extschema@._refuse('BL031', 'a shipment needs the receiving member as counterparty');
        END IF;
    ELSIF NEW.event = 'received' THEN
        IF last.event IS DISTINCT FROM 'shipped' OR last.counterparty IS DISTINCT FROM s.member THEN
            PERFORM @extschema@._refuse('BL032', format('lot "%s" was not shipped to member "%s"', NEW.lot_id, s.member));
        END IF;
    END IF;
    RETURN NEW;
END $$;

-- The state a battery's events have reached: status, current passport, whether placed on market.
CREATE FUNCTION @extschema@.battery_state(battery @extschema@.battery_id,
                                          OUT manufactured boolean, OUT status text, OUT passport_id text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT bool_or(e.event = 'manufactured'),
           (array_agg(CASE WHEN e.event = 'placed_on_market' THEN 'original'
                           WHEN e.event = 'status_changed' THEN e.new_status
                           WHEN e.event = 'recycled' THEN 'recycled' END
                      ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC) FILTER (WHERE e.event <> 'manufactured'))[1],
           (array_agg(e.passport_id ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC) FILTER (WHERE e.passport_id IS NOT NULL))[1]
      FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery
       AND e.event IN ('manufactured', 'placed_on_market', 'status_changed', 'recycled')
$$;

CREATE FUNCTION @extschema@._battery_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    k @extschema@.event_kind;
    st record;
    needed text[];
    corrected record;
BEGIN
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;                 -- unknown key: the chain trigger refuses it (BL011)
    END IF;
    SELECT * INTO k FROM @extschema@.event_kind WHERE event = NEW.event AND subject = 'battery';
    IF NOT FOUND THEN
        PERFORM @extschema@._refuse('BL030', format('unknown battery event "%s"', NEW.event),
            hint => 'See battledger.event_kind.');
    END IF;
    needed := k.roles;
    IF NEW.event = 'status_changed' THEN
        SELECT roles INTO needed FROM @extschema@.status_role WHERE status = NEW.new_status;
        IF needed IS NULL THEN
            PERFORM @extschema@._refuse('BL035', format('"%s" is not a status a battery can be moved into', NEW.new_status),
                'The statuses are re-used, repurposed, remanufactured and waste; recycled is recorded by a "recycled" event.');
        END IF;
    END IF;
    IF NOT s.roles && needed THEN
        PERFORM @extschema@._refuse('BL015',
            format('member "%s" may not sign "%s"%s', s.member, NEW.event,
                   CASE WHEN NEW.event = 'status_changed' THEN format(' into "%s"', NEW.new_status) ELSE '' END),
            format('Its roles are %s; this needs one of %s.', s.roles, needed));
    END IF;

    PERFORM @extschema@._lock_subject('battery', NEW.battery_id::text);
    SELECT * INTO st FROM @extschema@.battery_state(NEW.battery_id);
    IF st.status = 'recycled' THEN
        PERFORM @extschema@._refuse('BL036', format('battery %s has been recycled', NEW.battery_id),
            'Nothing is recorded after "recycled": its passport has ceased to exist (Art. 77(8)).');
    END IF;

    IF NEW.event = 'manufactured' THEN
        IF st.manufactured THEN
            PERFORM @extschema@._refuse('BL036', format('battery %s is already manufactured', NEW.battery_id));
        END IF;
        IF NOT EXISTS (SELECT 1 FROM @extschema@.battery_model m WHERE m.model_id = NEW.model_id) THEN
            PERFORM @extschema@._refuse('BL031', format('unknown battery model "%s"', NEW.model_id),
                hint => 'Declare it in battledger.battery_model first.');
        END IF;
        IF NEW.lots IS NOT NULL THEN
            PERFORM @extschema@._check_inputs(NEW.lots, s.member, format('battery %s', NEW.battery_id));
        END IF;
        RETURN NEW;
    END IF;
    IF NOT coalesce(st.manufactured, false) THEN
        PERFORM @extschema@._refuse('BL036', format('battery %s has not been manufactured', NEW.battery_id),
            'Its first event must be "manufactured".');
    END IF;

    IF NEW.event = 'correction' THEN
        SELECT e.event, sg.member INTO corrected
          FROM @extschema@.battery_event e, @extschema@._signer(e.ledger_key_id) sg
         WHERE e.battery_id OPERATOR(@extschema@.=) NEW.battery_id
           AND e.ledger_hash OPERATOR(@extschema@.=) NEW.corrects;
        IF corrected.event IS NULL THEN
            PERFORM @extschema@._refuse('BL037', 'a correction must reference an event of the same battery',
                'Set "corrects" to the ledger_hash of the corrected event.');
        ELSIF corrected.member IS DISTINCT FROM s.member THEN
            PERFORM @extschema@._refuse('BL037', format('only "%s", who signed the corrected event, may correct it', corrected.member));
        END IF;
        RETURN NEW;
    END IF;

    IF NEW.event = 'quality_checked' THEN
        RETURN NEW;
    END IF;
    IF NEW.event = 'placed_on_market' THEN
        IF st.status IS NOT NULL THEN
            PERFORM @extschema@._refuse('BL035', format('battery %s is already on the market (status %s)', NEW.battery_id, st.status));
        END IF;
    ELSIF st.status IS NULL THEN
        PERFORM @extschema@._refuse('BL036', format('battery %s has not been placed on the market', NEW.battery_id),
            format('"%s" needs a battery with a status.', NEW.event));
    END IF;

    IF NEW.event = 'status_changed' THEN
        IF NOT @extschema@.status_move_allowed(st.status, NEW.new_status) THEN
            PERFORM @extschema@._refuse('BL035', format('status cannot move from "%s" to "%s"', st.status, NEW.new_status),
                'Allowed: original -> re-used|repurposed|remanufactured|waste; re-used|repurposed|remanufactured -> the same or waste; waste -> re-used|repurposed|recycled.');
        END IF;
    ELSIF NEW.event IN ('dismantled', 'recycled') AND st.status IS DISTINCT FROM 'waste' THEN
        PERFORM @extschema@._refuse('BL035', format('only a waste battery can be %s; battery %s is "%s"', NEW.event, NEW.battery_id, st.status));
    END IF;

    -- passports: issued when placed on the market and on each move into re-use, repurposing, remanufacturing
    IF NEW.event = 'placed_on_market' OR (NEW.event = 'status_changed' AND NEW.new_status IN ('re-used', 'repurposed', 'remanufactured')) THEN
        IF NEW.passport_id IS NULL THEN
            PERFORM @extschema@._refuse('BL038', format('"%s" must issue a new passport', NEW.event),
                hint => 'Set passport_id to the new passport''s identifier.');
        ELSIF EXISTS (SELECT 1 FROM @extschema@.battery_event e WHERE e.passport_id = NEW.passport_id) THEN
            PERFORM @extschema@._refuse('BL038', format('passport "%s" already exists', NEW.passport_id));
        END IF;
    ELSIF NEW.passport_id IS NOT NULL THEN
        PERFORM @extschema@._refuse('BL038', format('"%s" does not issue a passport', NEW.event));
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.lot_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._lot_rules();
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.battery_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._battery_rules();

-----------------------------------------------------------------------------
-- Restricted data: salted commitments on the ledger, cleartext in a side table
-- that is never replicated, can be erased (GDPR), and is readable per access tier.
-----------------------------------------------------------------------------
CREATE FUNCTION @extschema@.commitment(salt bytea, value jsonb) RETURNS @extschema@.hash256
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.sha256('battledger commit v1' || '\x0a'::bytea || salt || convert_to(value::text, 'UTF8'))::@extschema@.hash256
$$;
COMMENT ON FUNCTION @extschema@.commitment(bytea, jsonb) IS
    'SHA-256("battledger commit v1\n" || salt || UTF-8 of the jsonb text): what the ledger stores for a restricted value';

CREATE TABLE @extschema@.disclosure (
    commitment @extschema@.hash256 PRIMARY KEY,
    tier       text NOT NULL CHECK (tier IN ('legitimate_interest', 'authority')),
    salt       bytea NOT NULL CHECK (length(salt) >= 16),
    value      jsonb NOT NULL,
    CHECK (commitment OPERATOR(@extschema@.=) @extschema@.commitment(salt, value))
);
COMMENT ON TABLE @extschema@.disclosure IS
    'cleartext of restricted passport values; erasable; never published to other members';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.disclosure', '');
ALTER TABLE @extschema@.disclosure ENABLE ROW LEVEL SECURITY;

-- Access tiers as roles (cluster-wide; created once, kept if the extension is dropped).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'battledger_legitimate_interest') THEN
        CREATE ROLE battledger_legitimate_interest NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'battledger_authority') THEN
        CREATE ROLE battledger_authority NOLOGIN;
    END IF;
END $$;
-- plan the small reference tables' queries with real statistics
ANALYZE @extschema@.event_kind, @extschema@.status_role;

CREATE POLICY legitimate_interest ON @extschema@.disclosure FOR SELECT TO battledger_legitimate_interest
    USING (tier = 'legitimate_interest');
CREATE POLICY authority ON @extschema@.disclosure FOR SELECT TO battledger_authority
    USING (true);
REVOKE ALL ON @extschema@.disclosure FROM PUBLIC;
GRANT SELECT ON @extschema@.disclosure TO battledger_legitimate_interest, battledger_authority;

CREATE FUNCTION @extschema@.check_disclosure(commitment @extschema@.hash256, salt bytea, value jsonb)
    RETURNS boolean LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.commitment(salt, value) OPERATOR(@extschema@.=) commitment
$$;
COMMENT ON FUNCTION @extschema@.check_disclosure(@extschema@.hash256, bytea, jsonb) IS
    'does a disclosed (salt, value) match the commitment on the ledger?';

CREATE FUNCTION @extschema@.erase_disclosure(commitment @extschema@.hash256) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM @extschema@.disclosure d WHERE d.commitment OPERATOR(@extschema@.=) erase_disclosure.commitment;
    RETURN FOUND;
END $$;
COMMENT ON FUNCTION @extschema@.erase_disclosure(@extschema@.hash256) IS
    'erase a restricted value (GDPR): the commitment, chains and proofs stay valid';
REVOKE ALL ON FUNCTION @extschema@.erase_disclosure(@extschema@.hash256) FROM PUBLIC;
-----------------------------------------------------------------------------
-- Reading the registry: passports, histories, provenance, proofs.
-----------------------------------------------------------------------------

-- A value with its unit, when and by which event it was set.
CREATE FUNCTION @extschema@._attr(value anyelement, unit text, at timestamptz, e @extschema@.battery_event)
    RETURNS jsonb LANGUAGE sql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT CASE WHEN value IS NULL THEN NULL ELSE
        jsonb_strip_nulls(jsonb_build_object('value', value, 'unit', unit, 'timestamp', at,
            'setBy', jsonb_build_object('event', e.event, 'sequence', e.ledger_seq,
                                        'ledgerHash', e.ledger_hash::text,
                                        'leafIndex', @extschema@.leaf_index('@extschema@.battery_event', e.ledger_hash))))
    END
$$;

-- Usage values (keys of a report's restricted values) and their passport names.
CREATE TABLE @extschema@._dynamic_attribute (key text PRIMARY KEY, name text NOT NULL, unit text NOT NULL);
INSERT INTO @extschema@._dynamic_attribute VALUES
    ('soh_pct', 'stateOfHealth', '%'),
    ('capacity_ah', 'remainingCapacity', 'Ah'),
    ('capacity_fade_pct', 'capacityFade', '%'),
    ('full_cycles', 'numberOfFullCycles', 'cycles'),
    ('energy_throughput_kwh', 'energyThroughput', 'kWh'),
    ('capacity_throughput_ah', 'capacityThroughput', 'Ah'),
    ('re_ohm', 'internalResistance', 'ohm'),
    ('resistance_increase_pct', 'internalResistanceIncrease', '%'),
    ('t_cell_max_c', 'maximumCellTemperature', 'degC');
GRANT SELECT ON @extschema@._dynamic_attribute TO PUBLIC;
ANALYZE @extschema@._dynamic_attribute;

CREATE FUNCTION @extschema@._rated(value numeric, unit text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT CASE WHEN value IS NULL THEN NULL ELSE jsonb_build_object('value', value, 'unit', unit) END
$$;

-- JIT off: compiling costs far more than these small per-battery queries run
CREATE FUNCTION @extschema@.passport(battery @extschema@.battery_id, tier text DEFAULT 'public')
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    st record;
    made @extschema@.battery_event;
    model @extschema@.battery_model;
    v jsonb;
    dyn jsonb;
    history jsonb;
    service timestamptz;
BEGIN
    IF tier IS NULL OR tier NOT IN ('public', 'legitimate_interest', 'authority') THEN
        RAISE EXCEPTION 'unknown access tier "%"', tier USING ERRCODE = 'invalid_parameter_value',
            HINT = 'The tiers are public, legitimate_interest and authority.';
    END IF;
    IF tier <> 'public' AND NOT (
           pg_has_role(current_user, 'battledger_authority', 'MEMBER')
        OR (tier = 'legitimate_interest' AND pg_has_role(current_user, 'battledger_legitimate_interest', 'MEMBER'))) THEN
        RAISE EXCEPTION 'permission denied for passport tier "%"', tier USING ERRCODE = 'insufficient_privilege',
            HINT = format('Grant the role battledger_%s to read it.', tier);
    END IF;

    SELECT * INTO made FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no battery % in the registry', battery USING ERRCODE = 'no_data_found';
    END IF;
    SELECT * INTO st FROM @extschema@.battery_state(battery);
    SELECT * INTO model FROM @extschema@.battery_model m WHERE m.model_id = made.model_id
     ORDER BY m.ledger_at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1;
    SELECT min(e.occurred_at) INTO service FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'installed';

    SELECT jsonb_agg(jsonb_build_object('passportId', e.passport_id, 'issuedAt', e.occurred_at,
                                        'issuedBy', (@extschema@._signer(e.ledger_key_id)).member,
                                        'status', CASE WHEN e.event = 'placed_on_market' THEN 'original' ELSE e.new_status END)
                     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
      INTO history FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id IS NOT NULL;

    v := jsonb_build_object(
        'passportId', st.passport_id,
        'batteryIdentifier', battery::text,
        'digitalLink', @extschema@.battery_digital_link(battery),
        'batteryStatus', st.status,
        'passportHistory', history,
        'generalProductInformation', jsonb_strip_nulls(jsonb_build_object(
            'batteryCategory', model.category,
            'manufacturerIdentification', model.manufacturer,
            'batteryModel', model.model_id,
            'manufacturingDate', made.occurred_at,
            'manufacturingPlace', made.data->>'facility',
            'puttingIntoService', service,
            'batteryMass', @extschema@._rated(model.mass_kg, 'kg'))),
        'batteryChemistry', model.chemistry,
        'performance', jsonb_build_object('rated', jsonb_strip_nulls(jsonb_build_object(
            'ratedCapacity', @extschema@._rated(model.rated_capacity_ah, 'Ah'),
            'ratedEnergy', @extschema@._rated(model.rated_energy_kwh, 'kWh'),
            'nominalVoltage', @extschema@._rated(model.nominal_voltage_v, 'V'),
            'minimumVoltage', @extschema@._rated(model.min_voltage_v, 'V'),
            'maximumVoltage', @extschema@._rated(model.max_voltage_v, 'V'),
            'originalPowerCapability', @extschema@._rated(model.original_power_w, 'W'),
            'expectedLifetimeNumberOfChargeDischargeCycles', model.expected_lifetime_cycles,
            'capacityThresholdForExhaustion', @extschema@._rated(model.capacity_threshold_pct, '%')))),
        'materialComposition', model.materials,
        'recycledContent', model.recycled_content,
        'carbonFootprint', jsonb_build_object('batteryCarbonFootprint',
            @extschema@._rated(model.carbon_footprint_kg_co2e_per_kwh, 'kg CO2e/kWh')),
        'passportCeased', CASE WHEN st.status = 'recycled' THEN true END,
        'accessTier', tier);

    IF tier <> 'public' THEN
        -- each dynamic attribute from the latest usage report that set it and that this caller may read
        SELECT jsonb_object_agg(a.name, @extschema@._attr(x.value, a.unit, x.occurred_at, x.e))
          INTO dyn
          FROM @extschema@._dynamic_attribute a
          CROSS JOIN LATERAL (
                SELECT (d.value->>a.key)::numeric AS value, e.occurred_at, e
                  FROM @extschema@.battery_event e
                  JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                 WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
                   AND d.value ? a.key
                 ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1) x;
        IF dyn IS NOT NULL THEN
            v := jsonb_set(v, '{performance,dynamic}', dyn);
        END IF;
        v := jsonb_set(v, '{negativeEvents}', to_jsonb((SELECT count(*) FROM @extschema@.battery_event e
             WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'negative_event')));
    END IF;
    RETURN jsonb_strip_nulls(v);
END $$;
COMMENT ON FUNCTION @extschema@.passport(@extschema@.battery_id, text) IS
    'the battery passport as of now (BatteryPass / DIN DKE SPEC 99100 attribute names), at an access tier';

CREATE FUNCTION @extschema@.battery_history(battery @extschema@.battery_id)
    RETURNS TABLE (seq bigint, event text, occurred_at timestamptz, signer text, new_status text,
                   passport_id text, ledger_hash @extschema@.hash256, leaf_index bigint, sealed boolean)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT e.ledger_seq, e.event, e.occurred_at, k.member,
           e.new_status, e.passport_id, e.ledger_hash, l.leaf_index, l.leaf_index IS NOT NULL
      FROM @extschema@.battery_event e
      LEFT JOIN @extschema@.key_event k ON k.key_id OPERATOR(@extschema@.=) e.ledger_key_id AND k.event = 'added'
      LEFT JOIN @extschema@.log_leaf l ON l.tbl = '@extschema@.battery_event'
                                      AND l.row_hash OPERATOR(@extschema@.=) e.ledger_hash
     WHERE e.battery_id OPERATOR(@extschema@.=) battery
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq
$$;

CREATE FUNCTION @extschema@.material_provenance(battery @extschema@.battery_id)
    RETURNS TABLE (depth int, lot_id text, event text, material text, lot_mass_kg numeric, used_kg numeric,
                   country text, facility text, member text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE used(depth, lot, kg) AS (
        SELECT 1, i->>'lot', (i->>'mass_kg')::numeric
          FROM @extschema@.battery_event e, jsonb_array_elements(e.lots) i
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
        UNION ALL
        SELECT u.depth + 1, i->>'lot', (i->>'mass_kg')::numeric
          FROM used u
          JOIN @extschema@.lot_event le ON le.lot_id = u.lot AND le.event = 'processed'
          CROSS JOIN LATERAL jsonb_array_elements(le.inputs) i
         WHERE u.depth < 20
    )
    SELECT u.depth, u.lot, c.event, c.material, c.mass_kg, u.kg, c.country, c.facility,
           (@extschema@._signer(c.ledger_key_id)).member
      FROM used u
      JOIN @extschema@.lot_event c ON c.lot_id = u.lot AND c.event IN ('extracted', 'processed', 'secondary_created')
     ORDER BY u.depth, u.lot
$$;
COMMENT ON FUNCTION @extschema@.material_provenance(@extschema@.battery_id) IS
    'the material lots in a battery, back to the mine: masses used, countries, facilities, who recorded them';

CREATE FUNCTION @extschema@.battery_proofs(battery @extschema@.battery_id)
    RETURNS TABLE (seq bigint, event text, leaf_index bigint, leaf bytea, tlog_proof text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT h.seq, h.event, h.leaf_index, @extschema@.leaf(h.leaf_index), @extschema@.tlog_proof(h.leaf_index)
      FROM @extschema@.battery_history(battery) h
     WHERE h.sealed AND h.leaf_index < (SELECT max(tree_size) FROM @extschema@.checkpoint)
$$;
COMMENT ON FUNCTION @extschema@.battery_proofs(@extschema@.battery_id) IS
    'tlog-proof@v1 bundles (and leaf bytes) for every sealed event of a battery, against the latest checkpoint';
-----------------------------------------------------------------------------
-- Consortium (docs/consortium.md): each member publishes its own rows and log
-- by logical replication and subscribes to every other member; arriving rows
-- are checked (src/arrive.c), arriving checkpoints witnessed (src/witness.c).
-----------------------------------------------------------------------------
CREATE TABLE @extschema@.consortium_member (
    origin       text COLLATE "C" PRIMARY KEY,  -- the member's battledger.origin
    subscription name NOT NULL UNIQUE,
    log_vkey     text NOT NULL,                 -- verifies its checkpoints
    witness_vkey text,                          -- verifies its cosignatures
    joined_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.consortium_member IS 'the members this database subscribes to, with the keys pinned at join';

-- Other members' logs, as verified here; the local log stays in log_leaf/checkpoint.
CREATE TABLE @extschema@.peer_leaf (
    origin     text COLLATE "C" NOT NULL,
    leaf_index bigint NOT NULL,
    tbl        text NOT NULL,
    seq        bigint NOT NULL,
    prev       @extschema@.hash256 NOT NULL,
    row_hash   @extschema@.hash256 NOT NULL,
    leaf_hash  @extschema@.hash256 NOT NULL,
    PRIMARY KEY (origin, leaf_index)
);
CREATE TABLE @extschema@.peer_checkpoint (
    origin      text COLLATE "C" NOT NULL,
    tree_size   bigint NOT NULL,
    root        @extschema@.hash256 NOT NULL,
    note        text NOT NULL,
    frontier    bytea,          -- compact range at tree_size; NULL until verified (copied at join)
    verified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (origin, tree_size)
);
-- Evidence: a member signed a checkpoint that contradicts one verified before.
CREATE TABLE @extschema@.log_conflict (
    origin      text COLLATE "C" NOT NULL,
    problem     text NOT NULL,
    detail      text NOT NULL,
    held_note   text,           -- the last checkpoint verified
    new_note    text NOT NULL,  -- the contradicting one, signed by the same log key
    detected_at timestamptz NOT NULL DEFAULT now()
);
-- tlog-cosignature/v1 lines, by this member's witness (published) and others' (received).
CREATE TABLE @extschema@.cosignature (
    log_origin  text COLLATE "C" NOT NULL,
    tree_size   bigint NOT NULL,
    root        @extschema@.hash256 NOT NULL,
    witness     text COLLATE "C" NOT NULL,
    cosigned_at bigint NOT NULL,     -- seconds since the Unix epoch, as signed
    line        text NOT NULL,       -- the signature line to append to the checkpoint note
    PRIMARY KEY (log_origin, tree_size, witness)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consortium_member', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.peer_leaf', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.peer_checkpoint', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.log_conflict', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.cosignature', '');
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.peer_leaf
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.peer_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.log_conflict
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.cosignature
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
ALTER TABLE @extschema@.peer_leaf ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE @extschema@.peer_checkpoint ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE @extschema@.log_conflict ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE @extschema@.cosignature ENABLE ALWAYS TRIGGER battledger_append_only;
REVOKE ALL ON @extschema@.consortium_member, @extschema@.peer_leaf, @extschema@.peer_checkpoint,
              @extschema@.log_conflict, @extschema@.cosignature FROM PUBLIC;
GRANT SELECT ON @extschema@.consortium_member, @extschema@.peer_leaf, @extschema@.peer_checkpoint,
                @extschema@.log_conflict, @extschema@.cosignature TO PUBLIC;

-- Arriving log rows are diverted into the peer tables (ENABLE REPLICA: they
-- fire only in the apply worker, or for a superuser who asks for replica role).
CREATE FUNCTION @extschema@._peer_leaf_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_peer_leaf_trigger' LANGUAGE C;
CREATE FUNCTION @extschema@._peer_checkpoint_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_peer_checkpoint_trigger' LANGUAGE C;
CREATE FUNCTION @extschema@._cosignature_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_cosignature_trigger' LANGUAGE C;
CREATE TRIGGER zz_battledger_arrive BEFORE INSERT ON @extschema@.log_leaf
    FOR EACH ROW EXECUTE FUNCTION @extschema@._peer_leaf_trigger();
CREATE TRIGGER zz_battledger_arrive BEFORE INSERT ON @extschema@.checkpoint
    FOR EACH ROW EXECUTE FUNCTION @extschema@._peer_checkpoint_trigger();
CREATE TRIGGER zz_battledger_arrive BEFORE INSERT ON @extschema@.cosignature
    FOR EACH ROW EXECUTE FUNCTION @extschema@._cosignature_trigger();
ALTER TABLE @extschema@.log_leaf ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER TABLE @extschema@.checkpoint ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER TABLE @extschema@.cosignature ENABLE REPLICA TRIGGER zz_battledger_arrive;

CREATE FUNCTION @extschema@.witness_vkey() RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_witness_vkey' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.witness_vkey() IS
    'this member''s witness verifier key (tlog-cosignature/v1), from battledger.witness_key_file';
CREATE FUNCTION @extschema@._vkey_name(vkey text, alg int) RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_vkey_name' LANGUAGE C IMMUTABLE STRICT;
CREATE FUNCTION @extschema@._peer_root(origin text, tree_size bigint) RETURNS @extschema@.hash256
    AS 'MODULE_PATHNAME', 'battledger_peer_root' LANGUAGE C STABLE STRICT;

CREATE FUNCTION @extschema@._rejection_lines() RETURNS SETOF jsonb
    AS 'MODULE_PATHNAME', 'battledger_rejection_lines' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@._rejection_lines() FROM PUBLIC;
CREATE VIEW @extschema@.rejections AS
    SELECT pg_catalog.to_timestamp((j->>'at')::float8) AS at, j->>'subscription' AS subscription, j->>'origin' AS origin,
           j->>'table' AS tbl, (j->>'seq')::bigint AS seq, j->>'problem' AS problem,
           j->>'detail' AS detail, j->'row' AS row_data
      FROM @extschema@._rejection_lines() j
     WHERE j->>'database' = pg_catalog.current_database();
COMMENT ON VIEW @extschema@.rejections IS
    'rows and checkpoints refused by the arrival checks: from other members, re-checked by release_chain(), or written locally as replicated rows (kept in pg_battledger/rejections, cluster-wide: the refusal rolls back the transaction)';
REVOKE ALL ON @extschema@.rejections FROM PUBLIC;

-- The publication: this member's own ledger rows, its log, its cosignatures.
CREATE FUNCTION @extschema@.publish_member() RETURNS text
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me text := pg_catalog.current_setting('battledger.origin', true);
    tables text;
BEGIN
    IF coalesce(me, '') = '' THEN
        RAISE EXCEPTION 'battledger.origin is not set'
            USING ERRCODE = '55000',
                  HINT = 'Name this member first, e.g. ALTER SYSTEM SET battledger.origin = ''oem.example/batteries''.';
    END IF;
    IF pg_catalog.current_setting('wal_level') <> 'logical' THEN
        RAISE EXCEPTION 'wal_level is %, not logical', pg_catalog.current_setting('wal_level')
            USING ERRCODE = '55000', HINT = 'Set wal_level = logical and restart the server.';
    END IF;
    SELECT string_agg(format('%s WHERE (ledger_origin = %L)', l.tbl, me), ', ' ORDER BY l.tbl::text)
      INTO tables FROM @extschema@.ledger_tables l;
    tables := tables || ', @extschema@.log_leaf, @extschema@.checkpoint, '
              || format('@extschema@.cosignature WHERE (witness = %L)', me);
    IF EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'battledger_member') THEN
        EXECUTE 'ALTER PUBLICATION battledger_member SET TABLE ' || tables;
    ELSE
        EXECUTE 'CREATE PUBLICATION battledger_member FOR TABLE ' || tables || ' WITH (publish = ''insert'')';
    END IF;
    RETURN 'battledger_member';
END $$;
COMMENT ON FUNCTION @extschema@.publish_member() IS
    'create (or bring up to date with the ledger tables) the publication battledger_member: this member''s rows, log and cosignatures, inserts only';
REVOKE ALL ON FUNCTION @extschema@.publish_member() FROM PUBLIC;

-- The subscription (and replication slot) subscriber uses for publisher's rows:
-- readable, and unique on the publisher, whose slots are named by subscriber and publisher.
CREATE FUNCTION @extschema@._slot_name(subscriber text, publisher text) RETURNS name
    LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT (left('bl_' || regexp_replace(lower(subscriber), '[^a-z0-9]+', '_', 'g'), 24) || '_'
            || left(md5(subscriber || ' ' || publisher), 8) || '_'
            || left(regexp_replace(lower(publisher), '[^a-z0-9]+', '_', 'g'), 24))::name
$$;

-- Pins the member's keys and returns the CREATE SUBSCRIPTION to run (\gexec in
-- psql): it cannot run inside a function, as it creates a replication slot.
CREATE FUNCTION @extschema@.join(origin text, conninfo text, log_vkey text, witness_vkey text DEFAULT NULL)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me text := pg_catalog.current_setting('battledger.origin', true);
    sub name;
BEGIN
    IF coalesce(me, '') = '' THEN
        RAISE EXCEPTION 'battledger.origin is not set' USING ERRCODE = '55000';
    END IF;
    IF origin IS NULL OR conninfo IS NULL OR log_vkey IS NULL THEN
        RAISE EXCEPTION 'origin, conninfo and log_vkey are required' USING ERRCODE = '22004';
    END IF;
    IF origin = me THEN
        RAISE EXCEPTION 'a member does not join itself' USING ERRCODE = '22023';
    END IF;
    IF @extschema@._vkey_name(log_vkey, 1) IS DISTINCT FROM origin THEN
        RAISE EXCEPTION 'log_vkey is not an Ed25519 verifier key named "%"', origin
            USING ERRCODE = '22023',
                  DETAIL = 'A log key is named by its origin: <origin>+<key id>+<key>.',
                  HINT = 'Ask the member for SELECT battledger.log_vkey().';
    END IF;
    IF witness_vkey IS NOT NULL AND @extschema@._vkey_name(witness_vkey, 4) IS DISTINCT FROM origin THEN
        RAISE EXCEPTION 'witness_vkey is not a cosignature/v1 verifier key named "%"', origin
            USING ERRCODE = '22023', HINT = 'Ask the member for SELECT battledger.witness_vkey().';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.consortium_member m WHERE m.origin = $1) THEN
        RAISE EXCEPTION 'member "%" has joined already', origin
            USING ERRCODE = '42710',
                  DETAIL = 'Its keys are pinned in battledger.consortium_member.',
                  HINT = 'To change them, drop its subscription and delete its row from battledger.consortium_member first.';
    END IF;
    sub := @extschema@._slot_name(me, origin);
    INSERT INTO @extschema@.consortium_member (origin, subscription, log_vkey, witness_vkey)
    VALUES ($1, sub, $3, $4);
    -- not disable_on_error: on PostgreSQL 15 it also stops the subscription
    -- when the member merely restarts; a refused row stops it (src/arrive.c)
    RETURN format('CREATE SUBSCRIPTION %I CONNECTION %L PUBLICATION battledger_member '
                  'WITH (copy_data = true, slot_name = %L)', sub, conninfo, sub);
END $$;
COMMENT ON FUNCTION @extschema@.join(text, text, text, text) IS
    'record a member and its keys; returns the CREATE SUBSCRIPTION to run next (psql: \gexec)';
REVOKE ALL ON FUNCTION @extschema@.join(text, text, text, text) FROM PUBLIC;

-- One line per member: replication, its log as witnessed here, cosignatures.
-- The state is read from the facts (pg_subscription, pg_stat_subscription,
-- pg_subscription_rel, pg_stat_subscription_stats, log_conflict), never from a
-- flag alone: "ok" means enabled, copied, a worker applying and in contact.
CREATE FUNCTION @extschema@.consortium_status()
    RETURNS TABLE (member text, subscription name, enabled boolean, received_lsn pg_lsn,
                   last_message timestamptz, apply_errors bigint, their_lag_bytes numeric,
                   checkpoint_size bigint,
                   checkpoint_verified_at timestamptz, state text, reason text, rejected bigint,
                   cosigned_by_me bigint, my_latest_cosigned_by_them bigint)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT m.origin, m.subscription, s.subenabled, st.received_lsn, st.last_msg_receipt_time,
           coalesce(ss.apply_error_count, 0) + coalesce(ss.sync_error_count, 0),
           -- how far the member is behind this member's WAL, from its slot here
           (SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.confirmed_flush_lsn)
              FROM pg_catalog.pg_replication_slots r
             WHERE r.slot_name = @extschema@._slot_name(m.origin, pg_catalog.current_setting('battledger.origin', true))),
           pc.tree_size, pc.verified_at,
           f.state, f.reason,
           (SELECT count(*) FROM @extschema@.rejections r WHERE r.origin = m.origin),
           (SELECT max(c.tree_size) FROM @extschema@.cosignature c
             WHERE c.log_origin = m.origin AND c.witness = pg_catalog.current_setting('battledger.origin', true)),
           (SELECT max(c.tree_size) FROM @extschema@.cosignature c
             WHERE c.log_origin = pg_catalog.current_setting('battledger.origin', true) AND c.witness = m.origin)
      FROM @extschema@.consortium_member m
      LEFT JOIN pg_subscription s ON s.subname = m.subscription AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL
      LEFT JOIN pg_stat_subscription_stats ss ON ss.subid = s.oid
      LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE r.srsubstate <> 'r') AS copying
                           FROM pg_subscription_rel r WHERE r.srsubid = s.oid) sr ON true
      LEFT JOIN LATERAL (SELECT p.tree_size, p.verified_at FROM @extschema@.peer_checkpoint p
                          WHERE p.origin = m.origin ORDER BY p.tree_size DESC LIMIT 1) pc ON true
      CROSS JOIN LATERAL (SELECT * FROM (VALUES
           (1, s.oid IS NULL, 'no subscription', 'Run the CREATE SUBSCRIPTION that battledger.join() returned.'),
           (2, EXISTS (SELECT 1 FROM @extschema@.log_conflict c WHERE c.origin = m.origin), 'log conflict',
               'The member published a checkpoint that contradicts one verified before: see battledger.log_conflict.'),
           (3, NOT s.subenabled, 'stopped',
               CASE WHEN EXISTS (SELECT 1 FROM @extschema@.rejections r WHERE r.origin = m.origin)
                    THEN 'A row from the member was refused: see battledger.rejections.'
                    ELSE 'The subscription is disabled.' END),
           (4, sr.copying > 0 AND coalesce(ss.sync_error_count, 0) > 0, 'copy failing',
               pg_catalog.format('%s tables not copied yet; %s copy errors (server log).', sr.copying, ss.sync_error_count)),
           (5, sr.copying > 0, 'copying', pg_catalog.format('%s tables not copied yet.', sr.copying)),
           (6, st.pid IS NULL AND coalesce(ss.apply_error_count, 0) > 0, 'failing',
               pg_catalog.format('No apply worker runs; %s apply errors (the member down, its slot lost, or a row refused: server log).',
                                 ss.apply_error_count)),
           (7, st.pid IS NULL, 'not connected', 'No apply worker runs for the subscription.'),
           (8, st.received_lsn IS NULL OR st.last_msg_receipt_time
                   < pg_catalog.now() - 2 * NULLIF(pg_catalog.current_setting('wal_receiver_timeout'), '0')::interval, 'silent',
               'The apply worker has heard nothing from the member for twice wal_receiver_timeout.'),
           (9, EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin), 'quarantined',
               pg_catalog.format('%s chains held back, %s rows held: see battledger.quarantine and battledger.held_row.',
                                 (SELECT count(*) FROM @extschema@.quarantine q WHERE q.origin = m.origin),
                                 (SELECT count(*) FROM @extschema@.held_row h WHERE h.origin = m.origin))),
           (10, true, 'ok', NULL)) v(rank, holds, state, reason)
         WHERE v.holds ORDER BY v.rank LIMIT 1) f
     ORDER BY m.origin
$$;
COMMENT ON FUNCTION @extschema@.consortium_status() IS
    'for each member: subscription state and its reason (read from pg_stat_subscription, pg_subscription_rel, apply errors, conflicts), how far it is behind this member''s WAL, last checkpoint verified, rejections, cosignatures both ways';
REVOKE ALL ON FUNCTION @extschema@.consortium_status() FROM PUBLIC;

-- Everything this member holds of another: chains, leaves against rows, checkpoints.
CREATE FUNCTION @extschema@.verify_member(member text)
    RETURNS TABLE (tbl text, problem text, detail text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t record;
    n bigint;
    cp record;
BEGIN
    FOR t IN SELECT l.tbl FROM @extschema@.ledger_tables l ORDER BY l.tbl::text LOOP
        RETURN QUERY SELECT t.tbl::text, v.problem, coalesce(v.chain_key || ': ', '') || v.detail
                       FROM @extschema@.verify(t.tbl, member) v;
    END LOOP;
    -- every leaf names a row received from the member (leaves name tables as text:
    -- only this database's ledger tables are looked into)
    FOR t IN SELECT DISTINCT p.tbl, l.rel FROM @extschema@.peer_leaf p
               LEFT JOIN (SELECT lt.tbl AS rel, n.nspname || '.' || c.relname AS qualname
                            FROM @extschema@.ledger_tables lt
                            JOIN pg_class c ON c.oid = lt.tbl JOIN pg_namespace n ON n.oid = c.relnamespace) l
                 ON l.qualname = p.tbl
              WHERE p.origin = member LOOP
        IF t.rel IS NULL THEN
            RETURN QUERY SELECT t.tbl, 'unknown_table'::text, 'The member''s log names a table that is not a ledger table here.'::text;
            CONTINUE;
        END IF;
        EXECUTE format('SELECT count(*) FROM @extschema@.peer_leaf p WHERE p.origin = $1 AND p.tbl = $2 '
                       'AND NOT EXISTS (SELECT 1 FROM %s r WHERE r.ledger_origin = p.origin '
                       'AND r.ledger_seq = p.seq AND r.ledger_hash OPERATOR(@extschema@.=) p.row_hash)', t.rel)
            INTO n USING member, t.tbl;
        IF n > 0 THEN
            RETURN QUERY SELECT t.tbl, 'leaf_without_row'::text, format('%s leaves name rows not received.', n);
        END IF;
    END LOOP;
    -- a row signed with a key since revoked, dated before the revocation, is
    -- proven only by another witness's cosignature, made before the revocation,
    -- of a checkpoint covering its leaf: the signer alone can date a row as it
    -- likes (a new chain has no predecessor to bound it), not a witness's
    -- signed timestamp (docs/signatures.md, "Time and revocation")
    FOR t IN SELECT l.tbl, n.nspname || '.' || c.relname AS qualname FROM @extschema@.ledger_tables l
               JOIN pg_class c ON c.oid = l.tbl JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE l.signer_roles IS NOT NULL ORDER BY l.tbl::text LOOP
        EXECUTE format('SELECT count(*) FROM ONLY %s r JOIN @extschema@.keys k ON k.key_id OPERATOR(@extschema@.=) r.ledger_key_id '
                       'WHERE r.ledger_origin = $1 AND k.revoked_at IS NOT NULL AND r.ledger_at < k.revoked_at '
                       'AND NOT EXISTS (SELECT 1 FROM @extschema@.peer_leaf p JOIN @extschema@.cosignature s '
                       '                  ON s.log_origin = p.origin AND s.tree_size > p.leaf_index '
                       '                WHERE p.origin = $1 AND p.tbl = $2 AND p.seq = r.ledger_seq '
                       '                  AND p.row_hash OPERATOR(@extschema@.=) r.ledger_hash '
                       '                  AND s.witness <> $1 AND s.cosigned_at < extract(epoch FROM k.revoked_at) '
                       -- a cosignature of the tree this member verified, not of another tree of that size
                       '                  AND s.root OPERATOR(@extschema@.=) (SELECT pc.root FROM @extschema@.peer_checkpoint pc '
                       '                                                     WHERE pc.origin = $1 AND pc.tree_size = s.tree_size))', t.tbl)
            INTO n USING member, t.qualname;
        IF n > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'revoked_key_unproven'::text,
                format('%s rows signed with a key since revoked, dated before the revocation, are not covered by a checkpoint another witness cosigned before it.', n);
        END IF;
    END LOOP;
    -- what the arrival check leaves to this function for rows copied at a join
    -- (keys, roles and batches may arrive after the rows that need them), and
    -- what verify() does not check for rows of a batch: the signer's role at
    -- ledger_at, the key's validity at ledger_at, the batch naming this table
    -- and this key
    FOR t IN SELECT l.tbl, l.signer_roles FROM @extschema@.ledger_tables l
              WHERE l.signer_roles IS NOT NULL ORDER BY l.tbl::text LOOP
        EXECUTE format('SELECT count(*) FILTER (WHERE NOT coalesce(ra.roles && $2, false)) AS n_role, '
                       '       count(*) FILTER (WHERE r.ledger_batch IS NOT NULL AND (k.key_id IS NULL '
                       '           OR r.ledger_at < k.valid_from OR r.ledger_at >= coalesce(k.valid_until, ''infinity'') '
                       '           OR r.ledger_at >= coalesce(k.revoked_at, ''infinity''))) AS n_key, '
                       '       count(*) FILTER (WHERE r.ledger_batch IS NOT NULL AND NOT EXISTS (SELECT 1 FROM @extschema@.batch b '
                       '           WHERE b.batch_id = r.ledger_batch AND pg_catalog.to_regclass(b.tbl) = $3 '
                       '             AND b.key_id OPERATOR(@extschema@.=) r.ledger_key_id)) AS n_batch '
                       'FROM ONLY %s r LEFT JOIN @extschema@.keys k ON k.key_id OPERATOR(@extschema@.=) r.ledger_key_id '
                       'LEFT JOIN LATERAL (SELECT e.roles FROM @extschema@.member_event e '
                       '                    WHERE e.member = k.member AND e.at <= r.ledger_at '
                       '                    ORDER BY e.at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1) ra ON true '
                       'WHERE r.ledger_origin = $1', t.tbl)
            INTO cp USING member, t.signer_roles, t.tbl;
        IF cp.n_role > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'wrong_role'::text,
                format('%s rows are signed by a key whose member held none of the table''s roles at the row''s time.', cp.n_role);
        END IF;
        IF cp.n_key > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'batch_key_invalid'::text,
                format('%s rows of batches are signed by a key unknown, not valid or revoked at the row''s time.', cp.n_key);
        END IF;
        IF cp.n_batch > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'batch_mismatch'::text,
                format('%s rows name a batch that is missing, for another table, or signed by another key.', cp.n_batch);
        END IF;
    END LOOP;
    -- rows held back from a quarantined chain are not here yet
    RETURN QUERY SELECT h.tbl, 'held_back'::text,
                        pg_catalog.format('%s rows of chain %s held back by a quarantine.', count(*), coalesce(h.chain_key, '(every chain)'))
                   FROM @extschema@.held_row h WHERE h.origin = member GROUP BY h.tbl, h.chain_key ORDER BY 1, 3;
    -- the latest checkpoint is the tree of the stored leaves
    SELECT p.tree_size, p.root INTO cp FROM @extschema@.peer_checkpoint p
     WHERE p.origin = member ORDER BY p.tree_size DESC LIMIT 1;
    IF FOUND AND @extschema@._peer_root(member, cp.tree_size)::text IS DISTINCT FROM cp.root::text THEN
        RETURN QUERY SELECT NULL::text, 'root_mismatch'::text,
                            format('The stored leaves do not give the root of checkpoint %s.', cp.tree_size);
    END IF;
END $$;
COMMENT ON FUNCTION @extschema@.verify_member(text) IS
    'check everything received from a member: its chains, that its leaves name rows received, its latest checkpoint''s root';
-----------------------------------------------------------------------------
-- Quarantine (src/quarantine.c): hold back one chain, or every chain of a
-- table, from a member, and keep receiving everything else from it;
-- release later re-checks what was held (docs/consortium.md, "A refused row").
-- Local operational state of this member: not ledger tables, not published.
-----------------------------------------------------------------------------
CREATE TABLE @extschema@.quarantine (
    origin    text COLLATE "C" NOT NULL,
    tbl       text NOT NULL,            -- "schema.table", as log leaves name it
    chain_key text,                     -- the chain column's text; NULL: every chain of tbl
    since     timestamptz NOT NULL DEFAULT now(),
    reason    text,
    UNIQUE NULLS NOT DISTINCT (origin, tbl, chain_key)
);
COMMENT ON TABLE @extschema@.quarantine IS
    'chains of other members whose arriving rows are held back (held_row) instead of checked and stored';
CREATE TABLE @extschema@.held_row (
    origin    text COLLATE "C" NOT NULL,
    tbl       text NOT NULL,
    chain_key text,
    seq       bigint,
    held_at   timestamptz NOT NULL DEFAULT now(),
    row_data  jsonb NOT NULL,           -- the row as it arrived
    problem   text                      -- why release_chain() left it held; NULL: not re-checked yet
);
COMMENT ON TABLE @extschema@.held_row IS
    'rows of quarantined chains, as they arrived, until release_chain() stores them or names why not';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.quarantine', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.held_row', '');
REVOKE ALL ON @extschema@.quarantine, @extschema@.held_row FROM PUBLIC;
-- which chains are held back is public; what they hold is not (a held row is a
-- row of a table PUBLIC may not read, like the rows in battledger.rejections)
GRANT SELECT ON @extschema@.quarantine TO PUBLIC;

-- Hold back a member's chain (chain_key NULL: every chain of tbl) from now on.
CREATE FUNCTION @extschema@.quarantine_chain(origin text, tbl regclass, chain_key text DEFAULT NULL,
                                             reason text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF origin IS NULL OR tbl IS NULL THEN
        RAISE EXCEPTION 'origin and tbl are required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.consortium_member m WHERE m.origin = quarantine_chain.origin) THEN
        RAISE EXCEPTION 'no member "%" has joined', origin USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.ledger_tables l WHERE l.tbl = quarantine_chain.tbl) THEN
        RAISE EXCEPTION '"%" is not a ledger table', tbl USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    INSERT INTO @extschema@.quarantine (origin, tbl, chain_key, reason)
    SELECT quarantine_chain.origin, n.nspname || '.' || c.relname, quarantine_chain.chain_key, quarantine_chain.reason
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = quarantine_chain.tbl;
END $$;
COMMENT ON FUNCTION @extschema@.quarantine_chain(text, regclass, text, text) IS
    'hold back a member''s chain (chain_key NULL: every chain of the table) so that its other rows keep flowing';
REVOKE ALL ON FUNCTION @extschema@.quarantine_chain(text, regclass, text, text) FROM PUBLIC;

-- Re-check the held rows of a quarantined chain in position order, as if they
-- arrived now: those that extend the chain are stored; the others stay held,
-- with the reason.  The quarantine ends only when nothing is left held.
CREATE FUNCTION @extschema@.release_chain(origin text, tbl regclass, chain_key text DEFAULT NULL)
    RETURNS TABLE (seq bigint, outcome text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    q record;
    h record;
    qual text;
    owner name;
    left_held bigint;
BEGIN
    SELECT n.nspname || '.' || c.relname, c.relowner::regrole::name INTO qual, owner
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = release_chain.tbl;
    DELETE FROM @extschema@.quarantine x
     WHERE x.origin = release_chain.origin AND x.tbl = qual AND x.chain_key IS NOT DISTINCT FROM release_chain.chain_key
    RETURNING * INTO q;
    IF q IS NULL THEN
        RAISE EXCEPTION 'no quarantine of % % %', origin, tbl, coalesce(chain_key, '(every chain)')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the rows go through the arrival checks, as rows from another member do
    PERFORM set_config('session_replication_role', 'replica', true);
    FOR h IN SELECT x.ctid AS id, x.seq, x.row_data FROM @extschema@.held_row x
              WHERE x.origin = release_chain.origin AND x.tbl = qual
                AND (release_chain.chain_key IS NULL OR x.chain_key = release_chain.chain_key)
              ORDER BY x.seq, x.held_at LOOP
        BEGIN
            -- as the table's owner, as a row from another member would be
            -- applied by its subscription: its triggers and index expressions
            -- are the owner's code, and must not run as the superuser releasing
            EXECUTE format('SET LOCAL ROLE %I', owner);
            EXECUTE format('INSERT INTO %s SELECT * FROM pg_catalog.jsonb_populate_record(NULL::%s, $1)', tbl, tbl)
                USING h.row_data;
            RESET ROLE;
            DELETE FROM @extschema@.held_row x WHERE x.ctid = h.id;
            seq := h.seq; outcome := 'stored';
        EXCEPTION WHEN OTHERS THEN
            UPDATE @extschema@.held_row x SET problem = SQLERRM WHERE x.ctid = h.id;
            seq := h.seq; outcome := SQLERRM;
        END;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('session_replication_role', 'origin', true);
    SELECT count(*) INTO left_held FROM @extschema@.held_row x
     WHERE x.origin = release_chain.origin AND x.tbl = qual
       AND (release_chain.chain_key IS NULL OR x.chain_key = release_chain.chain_key);
    IF left_held > 0 THEN
        -- still broken: the chain stays held back
        INSERT INTO @extschema@.quarantine (origin, tbl, chain_key, since, reason)
        VALUES (q.origin, q.tbl, q.chain_key, q.since, q.reason);
    END IF;
END $$;
COMMENT ON FUNCTION @extschema@.release_chain(text, regclass, text) IS
    're-check a quarantined chain''s held rows: store those that extend it, keep the rest held with the reason';
REVOKE ALL ON FUNCTION @extschema@.release_chain(text, regclass, text) FROM PUBLIC;
-----------------------------------------------------------------------------
-- One line of health for monitoring: the log's backlog and age, how much of
-- it the other members have cosigned, the members not "ok", refusals, held
-- rows.  monitoring/postgres_exporter.yml exports it to Prometheus.
-----------------------------------------------------------------------------
CREATE FUNCTION @extschema@.health(
        OUT origin text, OUT pending_rows bigint, OUT log_size bigint,
        OUT last_checkpoint_at timestamptz, OUT seconds_since_checkpoint double precision,
        OUT cosigned_size bigint, OUT uncosigned_leaves bigint,
        OUT members bigint, OUT members_not_ok bigint, OUT rejections bigint, OUT held_rows bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.current_setting('battledger.origin', true),
           (SELECT count(*) FROM @extschema@.log_pending),
           coalesce(c.tree_size, 0), c.at,
           extract(epoch FROM pg_catalog.now() - c.at)::double precision,
           coalesce(w.size, 0), coalesce(c.tree_size, 0) - coalesce(w.size, 0),
           (SELECT count(*) FROM @extschema@.consortium_member),
           (SELECT count(*) FROM @extschema@.consortium_status() s WHERE s.state <> 'ok'),
           (SELECT count(*) FROM @extschema@.rejections),
           (SELECT count(*) FROM @extschema@.held_row)
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (SELECT k.tree_size, k.at FROM @extschema@.checkpoint k ORDER BY k.tree_size DESC LIMIT 1) c ON true
      LEFT JOIN LATERAL (SELECT max(s.tree_size) AS size FROM @extschema@.cosignature s
                          WHERE s.log_origin = pg_catalog.current_setting('battledger.origin', true)
                            AND s.witness <> s.log_origin) w ON true
$$;
COMMENT ON FUNCTION @extschema@.health() IS
    'one line for monitoring: rows waiting to be sealed, log size and age, leaves not yet cosigned by another member, members not ok, refusals, held rows';
-- counts only, for monitoring roles; SECURITY DEFINER because it reads the
-- consortium's status and refusals, which PUBLIC cannot
REVOKE ALL ON FUNCTION @extschema@.health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.health() TO pg_monitor;
-----------------------------------------------------------------------------
-- What each user-facing object is, for \df+, \dt+ and \dv+ (sql/privileges.sql
-- lists any function, table, view or type of the extension left without one).
-----------------------------------------------------------------------------
COMMENT ON FUNCTION @extschema@.battery_history(@extschema@.battery_id) IS
    'a battery''s lifecycle events across members, in registry order, with signer, status moves and log leaf';
COMMENT ON FUNCTION @extschema@.battery_state(@extschema@.battery_id) IS
    'the state a battery''s events have reached: manufactured, status, current passport id';
COMMENT ON FUNCTION @extschema@.bytea(@extschema@.hash256) IS 'the 32 bytes of a hash256';
COMMENT ON FUNCTION @extschema@.hash256(bytea) IS 'a hash256 from 32 bytes';
COMMENT ON FUNCTION @extschema@.text(@extschema@.battery_id) IS 'a battery id as text (its canonical form; the cast to text)';
COMMENT ON FUNCTION @extschema@.checkpoint() IS 'this log''s latest signed checkpoint (C2SP signed note)';
COMMENT ON FUNCTION @extschema@.consistency_proof(bigint, bigint) IS
    'RFC 9162 consistency proof between two tree sizes of this log';
COMMENT ON FUNCTION @extschema@.inclusion_proof(bigint, bigint) IS
    'RFC 9162 inclusion proof of a leaf in the tree of a size (default: the latest checkpoint)';
COMMENT ON FUNCTION @extschema@.leaf(bigint) IS 'the bytes of a log leaf (its hash is SHA-256(0x00 || bytes))';
COMMENT ON FUNCTION @extschema@.leaf_index(regclass, @extschema@.hash256) IS
    'the log leaf of a ledger row, by its table and ledger_hash (NULL until sealed)';
COMMENT ON FUNCTION @extschema@.tree_root(bigint) IS 'the Merkle root of this log at a tree size';
COMMENT ON FUNCTION @extschema@.verify_consistency(bigint, bigint, @extschema@.hash256, @extschema@.hash256, @extschema@.hash256[]) IS
    'check an RFC 9162 consistency proof between two roots';
COMMENT ON FUNCTION @extschema@.verify_inclusion(bytea, bigint, bigint, @extschema@.hash256[], @extschema@.hash256) IS
    'check an RFC 9162 inclusion proof of leaf bytes under a root';
COMMENT ON FUNCTION @extschema@.ed25519_verify(bytea, bytea, bytea) IS
    'verify an Ed25519 signature (public key, message, signature); weak keys are refused';
COMMENT ON FUNCTION @extschema@.lot_available_kg(text) IS 'mass of a material lot not yet consumed by later lots';
COMMENT ON FUNCTION @extschema@.lot_custodian(text) IS 'the member holding a material lot now (its custody events)';
COMMENT ON FUNCTION @extschema@.member_keys_at(text, timestamptz) IS 'a member''s keys valid at a time';
COMMENT ON FUNCTION @extschema@.member_roles() IS 'the consortium roles (Regulation (EU) 2023/1542 vocabulary)';
COMMENT ON FUNCTION @extschema@.set_member_roles(text, text[]) IS 'record a member''s new roles (from now on)';

COMMENT ON TABLE @extschema@._dynamic_attribute IS 'the passport''s dynamic attributes: key, BatteryPass name, unit';
COMMENT ON TABLE @extschema@.batch IS 'signed batch manifests: one signature over the Merkle root of many rows';
COMMENT ON TABLE @extschema@.battery_event IS 'the registry''s battery lifecycle events, each signed by a role allowed to sign it';
COMMENT ON TABLE @extschema@.battery_model IS 'battery models: rated values of the passport''s static attributes';
COMMENT ON TABLE @extschema@.lot_event IS 'material lots: extraction, refining, custody, consumption, with mass balance';
COMMENT ON TABLE @extschema@.event_kind IS 'the registry''s event kinds and the member roles that may sign each';
COMMENT ON TABLE @extschema@.status_role IS 'Art. 77 statuses a battery can be moved into, and the roles that may move it';
COMMENT ON TABLE @extschema@.member_event IS 'consortium members and their roles, as append-only history';
COMMENT ON TABLE @extschema@.key_event IS 'members'' Ed25519 public keys: added and revoked, as append-only history';
COMMENT ON VIEW @extschema@.members IS 'each member''s current roles';
COMMENT ON VIEW @extschema@.keys IS 'each key: member, public key, validity and revocation';
COMMENT ON TABLE @extschema@.checkpoint IS 'this log''s signed checkpoints (C2SP), one per seal() piece';
COMMENT ON TABLE @extschema@.log_leaf IS 'this log''s leaves: one per sealed ledger row';
COMMENT ON TABLE @extschema@.log_node IS 'this log''s stored perfect subtrees (levels >= 1), for O(log n) proofs';
COMMENT ON TABLE @extschema@.log_pending IS 'ledger rows queued for the next seal()';
COMMENT ON TABLE @extschema@.cosignature IS 'tlog-cosignature/v1 lines: by this member''s witness and received from others';
COMMENT ON TABLE @extschema@.log_conflict IS 'evidence of a member''s rewritten or forked log: both conflicting checkpoints';
COMMENT ON TABLE @extschema@.peer_checkpoint IS 'other members'' checkpoints, verified and witnessed here';
COMMENT ON TABLE @extschema@.peer_leaf IS 'other members'' log leaves, as verified against their checkpoints';
-----------------------------------------------------------------------------
-- Internal functions that no role needs to call: trigger and event-trigger
-- functions fire without an EXECUTE check, and without EXECUTE nobody but a
-- superuser can attach them to a table of their own making.
-- (test/shell/privileges.sh compares every object's privileges with
-- test/privileges.expected, so a new object cannot slip in with PUBLIC's.)
-----------------------------------------------------------------------------
REVOKE ALL ON FUNCTION @extschema@._ddl_guard(), @extschema@._drop_guard(),
    @extschema@._keys_changed(), @extschema@._batch_check(),
    @extschema@._lot_rules(), @extschema@._battery_rules(),
    @extschema@._peer_leaf_trigger(), @extschema@._peer_checkpoint_trigger(),
    @extschema@._cosignature_trigger() FROM PUBLIC;
