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
-- battery_id: a validated, normalised battery identifier (src/pg/battery_id.c).
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
    AS 'MODULE_PATHNAME', 'battledger_chain_trigger' LANGUAGE C;
CREATE FUNCTION @extschema@._refuse_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_refuse_trigger' LANGUAGE C;
CREATE FUNCTION @extschema@._arrive_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_arrive_trigger' LANGUAGE C;
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

-- Which origin hosts a member, as this database first saw it (0.23.0).  A
-- member two origins added used to count the key rows of both (so that two
-- origins racing to add one kept their keys, red team r25 X1), so a
-- member's superuser who added a competitor again at its own origin, past
-- its rules, then added a key for it, signed as the competitor on every
-- member.  Which adding row came first cannot be told from the rows (their
-- at is their writer's), but each database saw one before the other: the
-- first adding row inserted or arrived here pins the member to its origin
-- (a trigger on member_event, below), and an adding row of another origin
-- hosts nothing here.  A race two origins run before either sees the
-- other's row leaves members disagreeing, named member_hosting_contested;
-- the consortium settles it with pin_member_host() on every member.  A
-- member already contested when 0.23.0 came (the order its rows arrived in
-- was not kept) has a pin with no origin, "contested": every origin that
-- added it hosts it, as before.  A join's copies carry no order (0.24.0):
-- the adding rows a joining member copies from two origins come in the
-- order its table copies happen to run, so a malicious member's row
-- adding a competitor again, copied first, hosted the competitor there.
-- A pin made by a copy is "copied"; an adding row of another origin that
-- a copy brings too makes it "unsettled" (no origin): nobody hosts the
-- member here, its keys sign for nobody, until pin_member_host().  So does
-- a copied adding row of another origin where the pin came from a row
-- streamed in from a third origin (0.25.0): a joiner that joined m, then c,
-- saw m's row adding c's member again stream in between its two copies
-- (red team rt25 J5).  A pin of this database's own origin is never moved
-- by a copy, and a row that arrives as it is written never moves a pin.
-- Local configuration,
-- like consortium_member: kept by pg_dump, whose data comes before
-- member_event's (it orders table data by name).
CREATE TABLE @extschema@.host_pin (
    member    text PRIMARY KEY,
    origin    text,
    how       text NOT NULL CHECK (how IN ('first_seen', 'copied', 'pinned', 'contested', 'unsettled')),
    pinned_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((origin IS NULL) = (how IN ('contested', 'unsettled')))
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.host_pin', '');
GRANT SELECT ON @extschema@.host_pin TO PUBLIC;
-- _origin() RETURNS text: battledger.origin as the loaded library reads it
-- ('' unset), for the rules and the readers that decide by "here"
-- (_member_hosts, below): current_setting() reads a placeholder any role
-- may SET while the library is not loaded yet (red team r28, P1; r29 E1);
-- calling this loads it, and the placeholder reverts.
CREATE FUNCTION @extschema@._origin() RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_origin' LANGUAGE C STABLE PARALLEL SAFE;
-- Who hosts a member (0.23.0), one row per row adding it that this
-- database's pin allows: the pinned origin's (a member pinned "contested":
-- every origin's, so its namespaces, which need every adding row's origin,
-- count for nothing, as before 0.23.0; "unsettled": none).  A member added under the empty
-- origin was added here (before battledger.origin was set, or by 0.1.0;
-- the arrival check refuses empty-origin rows from elsewhere), so such a
-- row hosts it at this database's origin as well (red team r25, E1), as
-- _origin() reads it: read with current_setting(), a placeholder any role
-- SET before the library loaded made the rows of the origin it named count
-- for such a member in that session's reads (red team r29, E1).  A member
-- no row has added yet has no host (r25 D1).  The one definition
-- that the counted rows below, the writer's rules (_governance_rules()),
-- the namespaces' hosting (_ns_hosted()) and registry_conflicts() share, as
-- "row origin = ANY (origins)": a view, not a function, so that it is
-- inlined and probed by member where a row is judged (an SQL function with
-- a pinned search_path is not inlined).  Over member_event, with the pin
-- as a second probe: read from host_pin alone (one row per member) the
-- planner hashed the whole table for each key probe (3x the time at 200
-- members), and a UNION ALL of pinned and unpinned members scanned
-- member_event.
CREATE VIEW @extschema@._member_hosts AS
    SELECT e.member,
           CASE WHEN e.ledger_origin = ''
                THEN ARRAY['', @extschema@._origin()]
                ELSE ARRAY[e.ledger_origin] END AS origins
      FROM @extschema@.member_event e
     WHERE e.event = 'added'
       AND NOT EXISTS (SELECT FROM @extschema@.host_pin p
                        WHERE p.member = e.member
                          AND (p.origin <> e.ledger_origin OR p.how = 'unsettled'));
-- The member rows that count (0.23.0): a row adding a member counts (its
-- origin hosts it by definition); a change of roles counts only where its
-- origin hosts the member, the rule _governance_rules() applies on the
-- writer.  Until 0.22.0 a member's superuser who disabled that trigger (or
-- wrote in session_replication_role = replica) stripped a competitor's
-- roles, or gave its own member a role it was not granted, on every member
-- (named roles_not_hosted only); judged here, such a row changes nothing.
CREATE VIEW @extschema@._member_rows_counted AS
    SELECT m.* FROM @extschema@.member_event m
     WHERE EXISTS (SELECT FROM @extschema@._member_hosts h
                    WHERE h.member = m.member AND m.ledger_origin = ANY (h.origins));
-- Proofs of possession (0.23.0): a key's holder signs
-- key_possession_message(member, public key) with the key, so that a key a
-- member's superuser registered for its own member as well (a competitor's
-- public key, to void it: key_registered_twice) signs for the member that
-- proves it holds it.  A table of its own, not a column of key_event: the
-- existing rows' encoding, hashes and signatures stay as they are, and a
-- holder can prove a key registered before 0.23.0.  A ledger table chained
-- per member like key_event, replicated like it; a proof counts wherever
-- it was written (it is cryptographic, not a matter of hosting), so the
-- readers check its signature, not the writer: each database once, as the
-- row arrives (_key_proof_checked, below; 0.24.0).
CREATE TABLE @extschema@.key_proof (
    key_id      @extschema@.hash256 NOT NULL,
    member      text NOT NULL,
    public_key  bytea NOT NULL CHECK (length(public_key) = 32),
    signature   bytea NOT NULL CHECK (length(signature) = 64),
    at          timestamptz NOT NULL DEFAULT now(),
    CHECK (key_id = @extschema@.key_id(public_key))
);
SELECT @extschema@.enable_ledger('@extschema@.key_proof', 'member');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.key_proof', '');
CREATE INDEX key_proof_key_id ON @extschema@.key_proof (key_id);

-- key_possession_message(member text, public_key bytea) RETURNS bytea
CREATE FUNCTION @extschema@.key_possession_message(member text, public_key bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'battledger_key_possession_message' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- _key_possession_valid(member text, public_key bytea, signature bytea) RETURNS boolean:
-- false, never an error, for malformed or weak keys (a reader must not fail
-- on a row a superuser wrote past the table's checks)
CREATE FUNCTION @extschema@._key_possession_valid(member text, public_key bytea, signature bytea) RETURNS boolean
    AS 'MODULE_PATHNAME', 'battledger_key_possession_valid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Proofs of possession as this database checked them (0.24.0): one row
-- per key, member and origin, for the first proof of that origin for that
-- member (the least ledger_seq; of two at one position, valid if either
-- verifies), and whether it verifies.  Until 0.23.0 every reader of a
-- contested key verified one proof per contesting member, so a member's
-- superuser who registered a competitor's key for K members of its own,
-- each with a garbage proof, made every probe of that key's signer (the
-- key cache, _signer_at(), each fold) cost K signature checks: ~100 ms at
-- K = 2,000 (red team r29, C1).  Here each proof is checked once, as it
-- is inserted or arrives (_key_proof_arrived(), below), and a reader's
-- probe is an index read of the valid rows.  Local derived state, like
-- _usage_state: not a ledger table, not replicated, not dumped (the
-- trigger fills it again as pg_restore copies key_proof in), so no peer
-- can write it; what a peer sends is key_proof, checked here.  This
-- database's superuser can write it, which fools this database alone
-- (another member checks the proofs itself): key_proof_check() names
-- every row that differs from a check of the proofs, key_proof_rebuild()
-- checks them all again, and registry_conflicts() verifies the proofs
-- (_key_proven_member_verify()), not this table.
CREATE TABLE @extschema@._key_proof_checked (
    key_id    @extschema@.hash256 NOT NULL,
    member    text NOT NULL,
    origin    text NOT NULL,
    first_seq bigint NOT NULL,
    valid     boolean NOT NULL,
    PRIMARY KEY (key_id, member, origin)
);
-- (the readers look for the valid rows of a key alone: a key with
-- thousands of garbage proofs is one or two index entries here)
CREATE INDEX _key_proof_checked_valid ON @extschema@._key_proof_checked (key_id) WHERE valid;
-- (readable as key_proof is: the keys view reads it as its caller)
GRANT SELECT ON @extschema@._key_proof_checked TO PUBLIC;
-- Does a key_proof row prove possession of its key for its member?  Its
-- key_id must be its public key's (the table's CHECK, which a superuser
-- can drop) and its signature verify.
-- _key_proof_valid(key_id hash256, member text, public_key bytea, signature bytea) RETURNS boolean
CREATE FUNCTION @extschema@._key_proof_valid(key_id @extschema@.hash256, member text, public_key bytea, signature bytea)
    RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(@extschema@.key_id(public_key) OPERATOR(@extschema@.=) key_id
                    AND @extschema@._key_possession_valid(member, public_key, signature), false)
$$;
-- _key_proof_arrived(), trigger: a proof inserted here or arriving (the
-- apply worker, the initial copy, pg_restore) is checked once into
-- _key_proof_checked if it is the first of its origin for its member
-- known here (rows may arrive out of chain order during a table copy: an
-- earlier one replaces a later one's row).  ENABLE ALWAYS, as the other
-- arrival triggers.  As the owner: the writers (prove_key()'s callers, the
-- apply worker's role) may not write the table.
CREATE FUNCTION @extschema@._key_proof_arrived() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- (a later proof of an origin already checked costs no verification:
    -- a superuser writing garbage proofs by the thousand for one member)
    IF EXISTS (SELECT FROM @extschema@._key_proof_checked c
                WHERE c.key_id OPERATOR(@extschema@.=) NEW.key_id AND c.member = NEW.member
                  AND c.origin = NEW.ledger_origin AND c.first_seq < NEW.ledger_seq) THEN
        RETURN NULL;
    END IF;
    INSERT INTO @extschema@._key_proof_checked AS c (key_id, member, origin, first_seq, valid)
    VALUES (NEW.key_id, NEW.member, NEW.ledger_origin, NEW.ledger_seq,
            @extschema@._key_proof_valid(NEW.key_id, NEW.member, NEW.public_key, NEW.signature))
        ON CONFLICT (key_id, member, origin) DO UPDATE
        SET valid = CASE WHEN EXCLUDED.first_seq = c.first_seq THEN c.valid OR EXCLUDED.valid ELSE EXCLUDED.valid END,
            first_seq = EXCLUDED.first_seq
        WHERE EXCLUDED.first_seq <= c.first_seq;
    RETURN NULL;
END $$;
CREATE TRIGGER battledger_key_proof_checked AFTER INSERT ON @extschema@.key_proof
    FOR EACH ROW EXECUTE FUNCTION @extschema@._key_proof_arrived();
ALTER TABLE @extschema@.key_proof ENABLE ALWAYS TRIGGER battledger_key_proof_checked;
-- _key_proof_computed(): _key_proof_checked's rows as a check of every
-- proof in key_proof gives them (one verification per key, member and
-- origin, of its first proofs).
CREATE FUNCTION @extschema@._key_proof_computed() RETURNS SETOF @extschema@._key_proof_checked
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT f.key_id, f.member, f.ledger_origin, f.ledger_seq,
           bool_or(@extschema@._key_proof_valid(f.key_id, f.member, f.public_key, f.signature))
      FROM (SELECT p.key_id, p.member, p.ledger_origin, p.ledger_seq, p.public_key, p.signature,
                   min(p.ledger_seq) OVER (PARTITION BY p.key_id, p.member, p.ledger_origin) AS first_seq
              FROM @extschema@.key_proof p) f
     WHERE f.ledger_seq = f.first_seq
     GROUP BY f.key_id, f.member, f.ledger_origin, f.ledger_seq
$$;
-- key_proof_check() RETURNS TABLE (key_id hash256, member text, origin text, problem text):
-- every row of _key_proof_checked that differs from a check of the proofs
-- in key_proof, or is missing ("not here"), or has no proof; no rows when
-- the readers judge contested keys as the proofs say.
CREATE FUNCTION @extschema@.key_proof_check()
    RETURNS TABLE (key_id @extschema@.hash256, member text, origin text, problem text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(c.key_id, h.key_id), coalesce(c.member, h.member), coalesce(c.origin, h.origin),
           CASE WHEN h.key_id IS NULL THEN 'not here'
                WHEN c.key_id IS NULL THEN 'here, and no such proof'
                WHEN h.valid AND NOT c.valid THEN 'valid here, the proof does not verify'
                WHEN c.valid AND NOT h.valid THEN 'not valid here, the proof verifies'
                ELSE format('first proof at seq %s here, at %s in key_proof', h.first_seq, c.first_seq) END
      FROM @extschema@._key_proof_computed() c
      FULL JOIN @extschema@._key_proof_checked h
        ON h.key_id OPERATOR(@extschema@.=) c.key_id AND h.member = c.member AND h.origin = c.origin
     WHERE h.key_id IS NULL OR c.key_id IS NULL OR h.valid <> c.valid OR h.first_seq <> c.first_seq
     ORDER BY 1, 2, 3
$$;
-- key_proof_rebuild() RETURNS bigint: check every proof again into
-- _key_proof_checked (after a load with the triggers disabled, or what
-- key_proof_check() found); returns its number of rows.
CREATE FUNCTION @extschema@.key_proof_rebuild() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    LOCK TABLE @extschema@._key_proof_checked IN EXCLUSIVE MODE;
    DELETE FROM @extschema@._key_proof_checked;
    INSERT INTO @extschema@._key_proof_checked SELECT * FROM @extschema@._key_proof_computed();
    GET DIAGNOSTICS n = ROW_COUNT;
    -- (the folds cached before judged signers by the old rows: every
    -- battery's, as which keys' rows changed is not known here)
    UPDATE @extschema@.fold_inputs SET changes = changes + 1, resets = resets + 1;
    RETURN n;
END $$;

CREATE VIEW @extschema@.members AS
    SELECT DISTINCT ON (member) member, roles, at AS since
      FROM @extschema@._member_rows_counted ORDER BY member, at DESC, ledger_origin DESC, ledger_seq DESC;
-- The key rows that count (0.22.0): a key_event row, adding or revoking a
-- key, counts only if its origin added the member it names, the hosting
-- rule _governance_rules() applies on the writer.  The trigger does not
-- fire for a member's superuser who disables it, nor in the apply worker,
-- so until 0.21.0 a key written past it for a competitor signed as the
-- competitor on every member (named key_not_hosted only); judged here, it
-- signs for nobody.  Hosting is _member_hosts': a member added under the
-- empty origin is hosted here too (r25 E1); a member added nowhere yet has
-- no counted key: pg_restore brings key_event's rows before member_event's,
-- and they count once their member's row is in, if its origin wrote them
-- (r25 D1); a member two origins added (a race, r25 X1) counts the rows of
-- either: its adding origins may still revoke the keys they added.
CREATE VIEW @extschema@._key_rows_counted AS
    SELECT k.* FROM @extschema@.key_event k
     WHERE EXISTS (SELECT FROM @extschema@._member_hosts h
                    WHERE h.member = k.member AND k.ledger_origin = ANY (h.origins));
-- The member a contested key signs for (0.23.0): of the members its counted
-- rows add it for, the one with a valid proof of possession in key_proof,
-- if exactly one has; NULL otherwise (none proved it, or the holder proved
-- it for two).  Proofs count wherever they were written, so a superuser
-- can insert any bytes into key_proof past its checks, and a forged,
-- replayed (another member's) or garbage proof verifies for nobody.  Only
-- the first proof of each origin for each member counts (its chain order,
-- the writer's, ledger_seq): prove_key() never writes a second.  Since
-- 0.24.0 read from this database's check of each proof as it arrived
-- (_key_proof_checked: an index read of the key's valid rows, whatever
-- number of garbage proofs a superuser wrote; red team r29, C1), where
-- 0.23.0 verified them on every probe.  Only contested keys come here (the
-- keys view), so the common path reads neither table.
-- _key_proven_member(key_id hash256) RETURNS text
CREATE FUNCTION @extschema@._key_proven_member(key_id @extschema@.hash256) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT min(f.member) FROM (
        SELECT DISTINCT c.member
          FROM @extschema@._key_proof_checked c
         WHERE c.key_id OPERATOR(@extschema@.=) _key_proven_member.key_id AND c.valid
           AND EXISTS (SELECT FROM @extschema@._key_rows_counted a
                        WHERE a.key_id OPERATOR(@extschema@.=) c.key_id AND a.event = 'added'
                          AND a.member = c.member)) f
    HAVING count(*) = 1
$$;
-- The same member from the proofs themselves (0.23.0's reader): for the
-- checks that judge (registry_conflicts()), which must not take this
-- database's table on trust; one verification per contesting member and
-- origin.
-- _key_proven_member_verify(key_id hash256) RETURNS text
CREATE FUNCTION @extschema@._key_proven_member_verify(key_id @extschema@.hash256) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT min(f.member) FROM (
        SELECT DISTINCT f.member
          FROM (SELECT p.*, min(p.ledger_seq) OVER (PARTITION BY p.member, p.ledger_origin) AS first_seq
                  FROM @extschema@.key_proof p
                 WHERE p.key_id OPERATOR(@extschema@.=) _key_proven_member_verify.key_id) f
         WHERE f.ledger_seq = f.first_seq
           AND EXISTS (SELECT FROM @extschema@._key_rows_counted a
                        WHERE a.key_id OPERATOR(@extschema@.=) f.key_id AND a.event = 'added'
                          AND a.member = f.member)
           AND @extschema@._key_proof_valid(f.key_id, f.member, f.public_key, f.signature)) f
    HAVING count(*) = 1
$$;
-- The validity a key's counted rows adding it for one member allow (the
-- winner's rows of a contested key: the loser's row cannot cut it short).
-- _key_member_validity(key_id hash256, member text, OUT valid_from timestamptz, OUT valid_until timestamptz)
CREATE FUNCTION @extschema@._key_member_validity(key_id @extschema@.hash256, member text,
                                                 OUT valid_from timestamptz, OUT valid_until timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT max(c.valid_from), min(c.valid_until) FROM @extschema@._key_rows_counted c
     WHERE c.key_id OPERATOR(@extschema@.=) _key_member_validity.key_id AND c.event = 'added'
       AND c.member = _key_member_validity.member
$$;
-- The keys that sign, one row per key: the counted rows adding it.  A key
-- whose counted rows name two members signs for the one that proved
-- possession of it (_key_proven_member(), 0.23.0), else for neither
-- (which one is meant cannot be told; registry_conflicts() names
-- key_registered_twice); rows adding it twice for one member give the
-- validity both allow (for a contested key, the winner's rows only), so
-- that no reader depends on which row an index scan meets first (until
-- 0.21.0 the key cache and _signer_at() took one with LIMIT 1).  A
-- revocation counts for the member it names, if it counts (red team r25,
-- V1): one written past the rules revokes nothing.  The C key cache (the
-- chain trigger, the arrival check, verify()) reads this view, and so do
-- _signer(), _signer_at() and every probe of a row's signer.  Grouped by
-- key alone, so that a reader's key_id is pushed down to the index on
-- key_event (member is an aggregate: probe by key, then compare it).  The
-- contested path is in functions called only from the CASE branches an
-- uncontested key never takes: the common path pays no signature check
-- and no plan nodes for them (a LATERAL branch gated on the members
-- differing cost each probe about a third more, measured with 2,000 keys).
CREATE VIEW @extschema@.keys AS
    SELECT g.key_id, g.member, g.public_key,
           CASE WHEN g.contested THEN (@extschema@._key_member_validity(g.key_id, g.member)).valid_from
                ELSE g.valid_from END AS valid_from,
           CASE WHEN g.contested THEN (@extschema@._key_member_validity(g.key_id, g.member)).valid_until
                ELSE g.valid_until END AS valid_until,
           (SELECT min(r.revoked_at) FROM @extschema@._key_rows_counted r
             WHERE r.key_id OPERATOR(@extschema@.=) g.key_id AND r.event = 'revoked' AND r.member = g.member) AS revoked_at
      FROM (SELECT a.key_id, a.public_key, min(a.member) <> max(a.member) AS contested,
                   CASE WHEN min(a.member) = max(a.member) THEN min(a.member)
                        ELSE @extschema@._key_proven_member(a.key_id) END AS member,
                   max(a.valid_from) AS valid_from, min(a.valid_until) AS valid_until
              FROM @extschema@._key_rows_counted a
             WHERE a.event = 'added'
             GROUP BY a.key_id, a.public_key) g
     WHERE g.member IS NOT NULL;
GRANT SELECT ON @extschema@.member_event, @extschema@.key_event, @extschema@.key_proof,
                @extschema@.members, @extschema@.keys, @extschema@._key_rows_counted,
                @extschema@._member_hosts, @extschema@._member_rows_counted TO PUBLIC;

-- Parsed keys are cached in each backend; a statement trigger tells every
-- backend to drop its cache when keys or roles change.
CREATE FUNCTION @extschema@._keys_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_keys_changed' LANGUAGE C;
CREATE TRIGGER battledger_keys_changed AFTER INSERT ON @extschema@.member_event
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
CREATE TRIGGER battledger_keys_changed AFTER INSERT ON @extschema@.key_event
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@.member_event ENABLE ALWAYS TRIGGER battledger_keys_changed;
CREATE TRIGGER battledger_keys_changed AFTER INSERT ON @extschema@.key_proof
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@.key_event ENABLE ALWAYS TRIGGER battledger_keys_changed;
ALTER TABLE @extschema@.key_proof ENABLE ALWAYS TRIGGER battledger_keys_changed;

-- _pin_first_host(): the first row adding a member that this database
-- inserts or receives pins the member to its origin (host_pin, above).
-- ENABLE ALWAYS: rows from other members arrive through the apply worker.
-- As the owner: add_member()'s callers and the apply worker's role may not
-- write host_pin themselves.  A row a table copy brings (a tablesync
-- worker: pg_stat_subscription names the table it copies) pins "copied",
-- and a copied row of another origin unsettles a copied pin, whichever of
-- the two copies ran first (0.24.0).  It unsettles as well a pin
-- "first_seen" of another origin than this database's own (0.25.0, red
-- team rt25 J5): such a pin was made by a row streamed in from that
-- origin, and a joiner's streams and copies carry no order between them
-- either (j joined m, m's superuser added c's member again once j's copy
-- of m was done, the row streamed to j and pinned it to m, then j's copy
-- of c could not move it: m's key signed as c's member at j).  Never a pin
-- of this database's own origin (or of the empty origin: rows added here
-- before battledger.origin was set): a member this database hosts stays
-- its own whatever a copy brings (red team m23/r31 H1).  Rows a join
-- again copies that are already here are skipped before this trigger
-- (the arrival check), so only a row new here unsettles.  INSERT ... ON
-- CONFLICT: two copies racing take the row lock in turn, and the second
-- sees the first's pin.
-- A parallel apply worker (PostgreSQL 16+, a subscription with streaming =
-- parallel, which join() no longer makes: 0.25.0) names no table there:
-- its rows pin as arrivals, which they are.
CREATE FUNCTION @extschema@._pin_first_host() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    copied boolean := EXISTS (SELECT FROM pg_catalog.pg_stat_subscription s
                               WHERE s.pid = pg_catalog.pg_backend_pid() AND s.relid IS NOT NULL);
BEGIN
    INSERT INTO @extschema@.host_pin AS p (member, origin, how)
        VALUES (NEW.member, NEW.ledger_origin, CASE WHEN copied THEN 'copied' ELSE 'first_seen' END)
        ON CONFLICT (member) DO UPDATE SET origin = NULL, how = 'unsettled', pinned_at = now()
        WHERE copied AND p.origin <> EXCLUDED.origin
          AND (p.how = 'copied'
               OR (p.how = 'first_seen' AND p.origin <> '' AND p.origin <> @extschema@._origin()));
    RETURN NULL;
END $$;
CREATE TRIGGER battledger_host_pin AFTER INSERT ON @extschema@.member_event
    FOR EACH ROW WHEN (NEW.event = 'added') EXECUTE FUNCTION @extschema@._pin_first_host();
ALTER TABLE @extschema@.member_event ENABLE ALWAYS TRIGGER battledger_host_pin;
-- a pin changed by pin_member_host() changes which keys sign
CREATE TRIGGER battledger_keys_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.host_pin
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@.host_pin ENABLE ALWAYS TRIGGER battledger_keys_changed;
-- (a row of _key_proof_checked changed changes which member a contested
-- key signs for here: the key caches are dropped, as for host_pin)
CREATE TRIGGER battledger_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@._key_proof_checked
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@._key_proof_checked ENABLE ALWAYS TRIGGER battledger_keys_changed;

-- pin_member_host(member text, origin text): settle a contested hosting
-- here: the member's keys and roles are those of the rows the given
-- origin wrote (after the consortium agreed which origin hosts it; run it
-- on every member).  Needs a row of that origin adding the member.
CREATE FUNCTION @extschema@.pin_member_host(member text, origin text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.member_event e
                    WHERE e.member = pin_member_host.member AND e.event = 'added'
                      AND e.ledger_origin = pin_member_host.origin) THEN
        RAISE EXCEPTION 'no row of origin "%" adds member "%"', origin, member USING ERRCODE = 'undefined_object',
            DETAIL = format('The origins that added it: %s.',
                            coalesce((SELECT string_agg(DISTINCT '"' || e.ledger_origin || '"', ', ')
                                        FROM @extschema@.member_event e
                                       WHERE e.member = pin_member_host.member AND e.event = 'added'), 'none')),
            HINT = 'Pin a member to an origin whose row adding it is here.';
    END IF;
    INSERT INTO @extschema@.host_pin (member, origin, how) VALUES (member, origin, 'pinned')
        ON CONFLICT ON CONSTRAINT host_pin_pkey
        DO UPDATE SET origin = EXCLUDED.origin, how = 'pinned', pinned_at = now();
END $$;

CREATE FUNCTION @extschema@.add_member(name text, roles text[]) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- (a row adding it: a roles row another origin wrote for a name nobody
    -- had added, which counts for nothing, must not keep its host from
    -- adding it; red team m23, R4)
    IF EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = name AND e.event = 'added') THEN
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
    IF NOT EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = name AND e.event = 'added') THEN
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
    IF NOT EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = add_key.member AND e.event = 'added') THEN
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

-- revoke_key(key_id hash256, at timestamptz DEFAULT now()) RETURNS void:
-- the revocation names the member the key signs for here (the keys view:
-- the one member its counted rows add it for, or the one that proved
-- possession of it), or the one member every row adding it names.  Until
-- 0.23.0 it took the member of whichever adding row a scan met first, so
-- for a key added for two members (a competitor's public key registered
-- past the rules) it could revoke it for the wrong one: the holder's key
-- went on signing.  A key added for two members that signs for neither
-- here is refused, naming them: which one is meant cannot be told.
CREATE FUNCTION @extschema@.revoke_key(key_id @extschema@.hash256, at timestamptz DEFAULT now())
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    owner text;
    named text[];
BEGIN
    SELECT array_agg(DISTINCT k.member ORDER BY k.member) INTO named FROM @extschema@.key_event k
     WHERE k.key_id OPERATOR(@extschema@.=) revoke_key.key_id AND k.event = 'added';
    IF named IS NULL THEN
        RAISE EXCEPTION 'key % is not registered', key_id USING ERRCODE = 'undefined_object';
    END IF;
    IF at IS NULL THEN
        RAISE EXCEPTION 'revocation time must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT k.member INTO owner FROM @extschema@.keys k WHERE k.key_id OPERATOR(@extschema@.=) revoke_key.key_id;
    IF owner IS NULL AND cardinality(named) = 1 THEN
        owner := named[1];
    END IF;
    IF owner IS NULL THEN
        RAISE EXCEPTION 'key % is added for % members and signs for none of them here', key_id, cardinality(named)
            USING ERRCODE = 'too_many_rows',
                  DETAIL = format('It is added for %s; none of them proved possession of it (key_proof), or more than one did, so which one a revocation is for cannot be told.',
                                  (SELECT string_agg(format('"%s"', m), ', ') FROM unnest(named) m)),
                  HINT = 'The holder proves possession for its member with battledger.prove_key(); then revoke the key.';
    END IF;
    INSERT INTO @extschema@.key_event (key_id, member, event, revoked_at)
    VALUES (key_id, owner, 'revoked', at);
END $$;
COMMENT ON FUNCTION @extschema@.revoke_key(@extschema@.hash256, timestamptz) IS
    'revoke a key from the given time on (rows it signed from then on no longer verify)';

-- prove_key(key_id hash256, signature bytea, member text DEFAULT NULL) RETURNS text:
-- store a proof of possession (0.23.0) of a registered key, signature =
-- the key's Ed25519 signature over key_possession_message(member, public
-- key); returns the member it proves the key for (member NULL: the member
-- the key is added for whose message the signature verifies).  Checked
-- here for the caller's sake only: every database checks each proof again
-- as it arrives (_key_proof_arrived()), since a superuser can write
-- key_proof directly.
CREATE FUNCTION @extschema@.prove_key(key_id @extschema@.hash256, signature bytea, member text DEFAULT NULL)
    RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    pub bytea;
    who text;
BEGIN
    SELECT k.public_key INTO pub FROM @extschema@.key_event k
     WHERE k.key_id OPERATOR(@extschema@.=) prove_key.key_id AND k.event = 'added' LIMIT 1;
    IF pub IS NULL THEN
        RAISE EXCEPTION 'key % is not registered', key_id USING ERRCODE = 'undefined_object',
            HINT = 'Register it first with battledger.add_key().';
    END IF;
    IF member IS NOT NULL AND NOT EXISTS (SELECT FROM @extschema@.key_event k
                                           WHERE k.key_id OPERATOR(@extschema@.=) prove_key.key_id
                                             AND k.event = 'added' AND k.member = prove_key.member) THEN
        RAISE EXCEPTION 'key % is not registered for member "%"', key_id, member USING ERRCODE = 'undefined_object',
            DETAIL = 'A proof of possession counts only for a member the key is added for.';
    END IF;
    IF signature IS NULL OR length(signature) <> 64 THEN
        RAISE EXCEPTION 'an Ed25519 signature is 64 bytes, not %', coalesce(length(signature), 0)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT min(k.member) INTO who
      FROM (SELECT DISTINCT k.member FROM @extschema@.key_event k
             WHERE k.key_id OPERATOR(@extschema@.=) prove_key.key_id AND k.event = 'added'
               AND (prove_key.member IS NULL OR k.member = prove_key.member)) k
     WHERE @extschema@._key_possession_valid(k.member, pub, signature);
    IF who IS NULL THEN
        RAISE EXCEPTION 'the signature does not prove possession of key %', key_id USING ERRCODE = 'BL016',
            DETAIL = CASE WHEN member IS NULL THEN 'It verifies over key_possession_message() of no member the key is added for.'
                          ELSE format('It does not verify over key_possession_message(''%s'', public key).', member) END,
            HINT = 'Sign battledger.key_possession_message(member, public_key) with the key (battledger sign --key FILE --hex ...).';
    END IF;
    -- only the first proof of an origin for a member counts (_key_proven_member())
    IF EXISTS (SELECT FROM @extschema@.key_proof p
                WHERE p.key_id OPERATOR(@extschema@.=) prove_key.key_id AND p.member = who
                  AND p.ledger_origin = coalesce(pg_catalog.current_setting('battledger.origin', true), '')) THEN
        RAISE EXCEPTION 'key % already has a proof of possession for member "%" written here', key_id, who
            USING ERRCODE = 'duplicate_object',
                  DETAIL = 'Only the first proof of each origin for a member counts; '
                           || CASE WHEN EXISTS (SELECT FROM @extschema@.key_proof p
                                                 WHERE p.key_id OPERATOR(@extschema@.=) prove_key.key_id AND p.member = who
                                                   AND @extschema@._key_possession_valid(p.member, p.public_key, p.signature))
                                   THEN 'a valid one is stored.'
                                   ELSE 'the one stored here does not verify (written past prove_key()): prove the key at another member.' END;
    END IF;
    INSERT INTO @extschema@.key_proof (key_id, member, public_key, signature)
    VALUES (key_id, who, pub, signature);
    RETURN who;
END $$;

CREATE FUNCTION @extschema@.member_keys_at(member text, at timestamptz)
    RETURNS SETOF @extschema@.keys LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT * FROM @extschema@.keys k
     WHERE k.member = member_keys_at.member AND k.valid_from <= at
       AND (k.valid_until IS NULL OR at < k.valid_until)
       AND (k.revoked_at IS NULL OR at < k.revoked_at)
$$;

REVOKE ALL ON FUNCTION @extschema@.add_member(text, text[]), @extschema@.set_member_roles(text, text[]),
    @extschema@.pin_member_host(text, text), @extschema@._pin_first_host(),
    @extschema@.add_key(text, bytea, timestamptz, timestamptz),
    @extschema@.add_key(text, text, timestamptz, timestamptz),
    @extschema@.revoke_key(@extschema@.hash256, timestamptz),
    @extschema@.prove_key(@extschema@.hash256, bytea, text),
    @extschema@._key_proof_arrived(), @extschema@.key_proof_rebuild(),
    -- (the owner's audit, as usage_state_check(): a verification per proof)
    @extschema@.key_proof_check(), @extschema@._key_proof_computed() FROM PUBLIC;

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
-- at PRE_COMMIT (src/pg/sign.c), after every deferred trigger.
CREATE TRIGGER battledger_batch_check BEFORE INSERT ON @extschema@.batch
    FOR EACH ROW EXECUTE FUNCTION @extschema@._batch_check();

-----------------------------------------------------------------------------
-- Transparency log (docs/transparency-log.md): every ledger row becomes a
-- leaf of an RFC 9162 Merkle tree when sealed; checkpoints are C2SP signed notes.
-----------------------------------------------------------------------------
-- The queue is UNLOGGED: a ledger row's queue entry costs no WAL (the row
-- itself is in WAL, in its table).  A crash, a promoted standby or a restored
-- base backup empties unlogged tables; log_pending_intact, emptied with it,
-- says so, and the next seal() re-queues from the tables every row of this
-- member that is in no leaf (docs/design.md, "The log queue").
CREATE UNLOGGED TABLE @extschema@.log_pending (     -- chained rows waiting for seal()
    tbl      text NOT NULL,
    seq      bigint NOT NULL,
    prev     @extschema@.hash256 NOT NULL,
    row_hash @extschema@.hash256 NOT NULL
);
CREATE UNLOGGED TABLE @extschema@.log_pending_intact (  -- one row while the queue is whole
    intact boolean NOT NULL DEFAULT true CHECK (intact)
);
INSERT INTO @extschema@.log_pending_intact DEFAULT VALUES;
CREATE TABLE @extschema@.log_leaf (
    leaf_index bigint PRIMARY KEY,
    tbl        text NOT NULL,
    seq        bigint NOT NULL,
    prev       @extschema@.hash256 NOT NULL,
    row_hash   @extschema@.hash256 NOT NULL,
    leaf_hash  @extschema@.hash256 NOT NULL
);
CREATE INDEX log_leaf_row ON @extschema@.log_leaf USING hash (row_hash);
-- Tiles (C2SP tlog-tiles' layout; docs/design.md, "The tiled layout"): row
-- (level, idx, width) holds the hashes of the tree's nodes at tree level
-- 8 * level, indexes 256 * idx .. 256 * idx + width - 1, concatenated (32 bytes
-- each).  Full tiles have width 256; a seal that grows the right edge adds a
-- wider row of the same tile.  Tree level 0 (the leaves) is log_leaf.
CREATE TABLE @extschema@.log_tile (
    level  int NOT NULL,
    idx    bigint NOT NULL,
    width  int NOT NULL,
    hashes bytea NOT NULL,
    PRIMARY KEY (level, idx, width)
);
-- hashes do not compress: store them out of line without trying
ALTER TABLE @extschema@.log_tile ALTER COLUMN hashes SET STORAGE EXTERNAL;
-- Blocks (0.9.0; docs/design.md, "Blocks of 16 nodes"): row (level, idx,
-- width) holds the first width of the 16 nodes of tree level `level` (4, 8,
-- 12, ...) from index 16 * idx, concatenated, each node the root of 16 nodes
-- four levels below; so a proof reads one small row per four levels of the
-- tree and 16 leaves, instead of whole 256-wide tiles and 256 leaves.  A full
-- block has width 16 (512 bytes, stored inline); a seal that grows the right
-- edge of a level adds a wider row, and readers take the widest, as for the
-- tiles.  Derived from the leaves like the tiles, and checked by verify_log().
CREATE TABLE @extschema@.log_block (
    level  int NOT NULL,
    idx    bigint NOT NULL,
    width  int NOT NULL,
    hashes bytea NOT NULL,
    PRIMARY KEY (level, idx, width)
);
ALTER TABLE @extschema@.log_block ALTER COLUMN hashes SET STORAGE MAIN;
CREATE TABLE @extschema@.checkpoint (
    tree_size bigint PRIMARY KEY,
    root      @extschema@.hash256 NOT NULL,
    note      text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.log_pending', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.log_leaf', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.log_tile', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.log_block', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.checkpoint', '');
-- the tree and its checkpoints are append-only too
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.log_leaf
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.log_tile
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.log_block
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
ALTER TABLE @extschema@.log_leaf ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE @extschema@.log_tile ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE @extschema@.log_block ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE @extschema@.checkpoint ENABLE ALWAYS TRIGGER battledger_append_only;
REVOKE ALL ON @extschema@.log_pending, @extschema@.log_pending_intact, @extschema@.log_leaf,
              @extschema@.log_tile, @extschema@.log_block, @extschema@.checkpoint FROM PUBLIC;
GRANT SELECT ON @extschema@.log_leaf, @extschema@.log_tile, @extschema@.log_block, @extschema@.checkpoint TO PUBLIC;
-- verify_log() reads the queue to tell queued rows from rows added behind the guards
GRANT SELECT ON @extschema@.log_pending, @extschema@.log_pending_intact TO PUBLIC;
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
-- (_origin(), the origin as the loaded library reads it: 50_members_keys.sql,
-- before _member_hosts, its first reader)
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
-- PL/pgSQL, not SQL: a SQL function with SET options is planned again at each
-- call, which cost more than the lookup (a passport asks for a dozen; issue 15)
CREATE FUNCTION @extschema@.leaf_index(tbl regclass, ledger_hash @extschema@.hash256) RETURNS bigint
    LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    RETURN (SELECT l.leaf_index FROM @extschema@.log_leaf l
             WHERE l.row_hash OPERATOR(@extschema@.=) $2
               AND l.tbl = (SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c
                              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1));
END $$;
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
    'recompute the tree from the leaves, check every stored tile and checkpoint (signatures against log_vkey, the published verifier key, else the log key file), and (check_rows) every ledger row against its leaf';
-----------------------------------------------------------------------------
-- The battery registry (docs/registry.md): battery passports in the vocabulary
-- of Regulation (EU) 2023/1542, on signed ledger tables.  Every event is
-- signed by a member holding the role allowed for it; the rules below (role
-- per event, custody and mass balance of material lots, the battery status
-- state machine, passports) are checked by a BEFORE INSERT trigger, which
-- fires before the chain trigger, so a refused event leaves no trace.
-----------------------------------------------------------------------------

-- Which member roles may sign which event (docs/registry.md).
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
    ('placed_on_market',  'battery', '{pack_maker,oem,second_life_operator}', 'placed on the market: status original, first passport issued'),
    ('installed',         'battery', '{oem,fleet_operator}', 'installed in a vehicle, put into service'),
    ('ownership_transferred', 'battery', '{oem,fleet_operator,second_life_operator}', 'ownership transferred'),
    ('soh_reported',      'battery', '{oem,fleet_operator,second_life_operator}', 'state of health and usage reported'),
    ('repaired',          'battery', '{repairer,fleet_operator}', 'maintenance or repair'),
    ('negative_event',    'battery', '{repairer,fleet_operator,oem}', 'accident or other negative event'),
    ('removed',           'battery', '{oem,repairer,second_life_operator}', 'removed from the vehicle or application'),
    ('status_changed',    'battery', '{repairer,second_life_operator,collector,recycler,oem,fleet_operator}', 'status change (Art. 77); re-use, repurposing and remanufacturing issue a new passport'),
    ('dismantled',        'battery', '{recycler}', 'dismantled (waste batteries only)'),
    ('recycled',          'battery', '{recycler}', 'recycled, with the recovered material masses: the passport ceases to exist'),
    ('handover',          'battery', '{cell_maker,pack_maker,oem,fleet_operator,repairer,second_life_operator,collector,recycler}',
                          'the custodian hands write authority over the battery''s lifecycle to another member (data {"to": member})'),
    ('handover_accepted', 'battery', '{cell_maker,pack_maker,oem,fleet_operator,repairer,second_life_operator,collector,recycler}',
                          'the member a handover names accepts it and becomes the battery''s custodian'),
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
-- its rows are the registry's history: pg_dump keeps them (until 0.23.0 it did not)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.battery_model', '');

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
-- its rows are the registry's history: pg_dump keeps them (until 0.23.0 it did not)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lot_event', '');

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
-- its rows are the registry's history: pg_dump keeps them (until 0.23.0 it did not)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.battery_event', '');
-- the few events that decide a battery's state, found without walking its usage reports;
-- events are ordered by (ledger_at, ledger_origin, ledger_seq): a chain's rows never
-- predate their predecessors, and rows of different members meet by time
CREATE INDEX battery_event_state ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                    'handover', 'handover_accepted');
-- the latest usage report, per dynamic passport attribute (the chain index, led by
-- ledger_origin, no longer serves "latest of this battery" as it did in 0.1.0)
CREATE INDEX battery_event_usage ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event = 'soh_reported';
-- a battery's other events (installed, negative_event, repaired, quality_checked,
-- ...): the passport reads them without walking its usage reports (issue 15)
CREATE INDEX battery_event_other ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event <> 'soh_reported';
-- a passport id belongs to the first event naming it, in registry order: not a
-- unique index, which would stop replication when two members race for one id
CREATE INDEX battery_event_passport ON @extschema@.battery_event (passport_id) WHERE passport_id IS NOT NULL;
-- the first event issuing a passport id, in registry order (_battery_verdict():
-- does an earlier event hold the id?); by passport_id alone the fold walked
-- every row naming the id dated after the event judged (red team r10, F2).
-- battery_id last: registry order ties across batteries (each chain has its
-- own ledger_seq), and the holder's tie-break stays within one index probe
CREATE INDEX battery_event_passport_holder ON @extschema@.battery_event (passport_id, ledger_at, ledger_origin, ledger_seq, battery_id)
    WHERE passport_id IS NOT NULL
      AND (event = 'placed_on_market'
           OR (event = 'status_changed' AND new_status IN ('re-used', 'repurposed', 'remanufactured')));
-- the first issuing event of a namespaced passport id signed by one key
-- (_passport_holder_by(): one probe per key of each member whose namespace
-- covers the id): by battery_event_passport_holder alone, the probe for the
-- first row the namespace allows walked every squatter's row dated before
-- it, as many as a member bypassing its rules writes (red team r10, F2)
CREATE INDEX battery_event_passport_signer ON @extschema@.battery_event (passport_id, ledger_key_id, ledger_at, ledger_origin, ledger_seq, battery_id)
    WHERE passport_id IS NOT NULL
      AND (event = 'placed_on_market'
           OR (event = 'status_changed' AND new_status IN ('re-used', 'repurposed', 'remanufactured')));
-- a battery's passports in registry order (the current one, the passport's
-- history): without it both read every passport of the registry (issue 15)
CREATE INDEX battery_event_issued ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE passport_id IS NOT NULL;
CREATE INDEX lot_event_inputs ON @extschema@.lot_event USING gin (inputs jsonb_path_ops);
-- a lot's creations in registry order (_lot_counted_creation, read by the
-- walk, _lot_creation() and recycled_content(), takes the first counting one): the
-- walk stops at the first creation the registry counts.  Without it every
-- creation row of the lot was judged (its signer, roles and namespace) and
-- sorted on every passport's path: 2,000 rows another member wrote after
-- the maker's creation cost each passport of a battery made from the lot
-- about 35 ms (0.19.0's first-row sort about 5; red team r23, C1)
CREATE INDEX lot_event_creation ON @extschema@.lot_event (lot_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event IN ('extracted', 'processed', 'secondary_created');
CREATE INDEX battery_event_lots ON @extschema@.battery_event USING gin (lots jsonb_path_ops)
    WHERE lots IS NOT NULL;
GRANT SELECT ON @extschema@.battery_model, @extschema@.lot_event, @extschema@.battery_event TO PUBLIC;
GRANT INSERT ON @extschema@.battery_model, @extschema@.lot_event, @extschema@.battery_event TO PUBLIC;

-- The member behind a signed row, and its roles; NULL if the key is unknown
-- (the chain trigger then refuses the row with BL011).  The helpers
-- below pin their search_path; those called for every row are PL/pgSQL, whose
-- plans are kept for the session.
CREATE FUNCTION @extschema@._signer(key_id @extschema@.hash256, OUT member text, OUT roles text[])
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    -- PL/pgSQL, not SQL: with its pinned search_path an SQL function is not
    -- inlined and would be planned again on every call (every rule, every row)
    -- (the roles: the members view probed for the key's member, a subquery
    -- kept apart, OFFSET 0, so that the member reaches the view's DISTINCT
    -- ON as a condition; joined to the view, every member's row was worked
    -- out at each call, 1.6 ms at 1,600 member rows; 0.24.0, issue 15)
    SELECT k.member, m.roles INTO member, roles
      FROM @extschema@.keys k
     CROSS JOIN LATERAL (SELECT m.roles FROM @extschema@.members m
                          WHERE m.member = k.member OFFSET 0) m
     WHERE k.key_id OPERATOR(@extschema@.=) _signer.key_id;
END $$;

-- The member behind a signed row and its roles at a time (the row's
-- ledger_at): the rules judge an event by the roles its signer held when it
-- was written, not by roles changed since (the arrival check does the same).
CREATE FUNCTION @extschema@._signer_at(key_id @extschema@.hash256, at timestamptz, OUT member text, OUT roles text[])
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    -- (the key's counted member, as the key cache reads it: a key row
    -- written where its member is not hosted signs for nobody, and a key
    -- two members' rows count for is nobody's; 0.22.0)
    SELECT k.member INTO member FROM @extschema@.keys k
     WHERE k.key_id OPERATOR(@extschema@.=) _signer_at.key_id;
    IF member IS NOT NULL THEN
        -- (roles changed where the member is not hosted change nothing; 0.23.0)
        SELECT m.roles INTO roles FROM @extschema@._member_rows_counted m
         WHERE m.member = _signer_at.member AND m.at <= _signer_at.at
         ORDER BY m.at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1;
    END IF;
END $$;

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

-- _batch_open_here(batch_id text, tbl regclass, key_id hash256): whether a
-- row of tbl naming that batch and key would pass the chain trigger's batch
-- check (the batch inserted, its signature verified, in this transaction).
-- VOLATILE: this transaction's batches change within a statement.
CREATE FUNCTION @extschema@._batch_open_here(batch_id text, tbl regclass, key_id @extschema@.hash256)
    RETURNS boolean AS 'MODULE_PATHNAME', 'battledger_batch_open_here' LANGUAGE C VOLATILE;

-- _row_signed(r anyelement, tbl regclass): whether the chain trigger of tbl
-- (a battery_event or lot_event the rule triggers judge, before the chain
-- trigger) would accept the signature of the new row r: its ledger_sig
-- verifies over its signing bytes with the key it names, that key valid now
-- for a member holding one of the table's signer roles, or it joins a batch
-- that key signed in this transaction.  Asked only before a verdict is
-- raised (red team r16b P2): a verdict names a battery's status, a lot's
-- custodian or its kilograms left, and must reach only a writer that can
-- sign as the key it names.  In C, the chain trigger's own judgement
-- (sign.c, judge_new_row()), so that the two cannot drift: it never says
-- "not signed" of a row the chain trigger accepts, or the rules would let
-- that row through.  VOLATILE: it reads this transaction's batches.
CREATE FUNCTION @extschema@._row_signed(r anyelement, tbl regclass) RETURNS boolean
    AS 'MODULE_PATHNAME', 'battledger_row_signed' LANGUAGE C VOLATILE;

-- _refuse_row(r anyelement, tbl regclass, code, msg, detail, hint): the rule
-- triggers' verdict on the row r of tbl, raised only if r is signed by the
-- key it names (_row_signed); otherwise it returns, and the caller returns
-- the row unjudged for the chain trigger to refuse with its own error.  On
-- the refusal path only: an accepted row costs no second verification.
CREATE FUNCTION @extschema@._refuse_row(r anyelement, tbl regclass, code text, msg text,
                                        detail text DEFAULT NULL, hint text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF @extschema@._row_signed(r, tbl) THEN
        PERFORM @extschema@._refuse(code, msg, detail, hint);
    END IF;
END $$;

-- _json_num(v): a number in a registry row's JSON (a lot's mass in a
-- processing's inputs or a manufacture's lots, a measurement) as a finite
-- numeric, NULL for anything else, and never an error (src/pg/json_num.c):
-- a member bypassing its rules writes what it likes, and a cast of "abc"
-- made every reader of the lot it named fail, on every member.  Pure.
CREATE FUNCTION @extschema@._json_num(v jsonb) RETURNS numeric
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'bl_json_num';

-- Mass of a lot not yet consumed by processing or manufacturing: its
-- effective creation's mass, less the inputs of the consumers the registry
-- judges effective (_lot_consumers(): signed by the lot's holder at their
-- place in registry order).  Counting every row naming the lot let a member
-- bypassing its rules use up a lot it did not hold, on every member, the
-- holder's own uses refused (BL033; red team r20, L2).  From _lot_balance():
-- one walk of the lot's rows.
CREATE FUNCTION @extschema@.lot_available_kg(lot text) RETURNS numeric
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    left_kg numeric;
BEGIN
    SELECT b.available_kg INTO left_kg FROM @extschema@._lot_balance(lot) b;
    RETURN left_kg;
END $$;

-- A lot's custody, judged in registry order (red team r20, L1): its first
-- creation (extracted, processed, secondary_created) gives it to its signer;
-- a shipment by the holder offers it to the addressee (a later one replaces
-- the offer), whose receipt makes it the holder.  Rows by a key unknown at
-- their time, outside the event's roles, or out of turn (a receipt nobody
-- offered, a shipment by another member) change nothing, so a member that
-- bypassed its rules takes no lot: "the last creator or receiver" let one
-- unshipped "received" take any lot on every member, its holder refused
-- (BL032).  The same on every member holding the same rows.
-- A lot id in a registered namespace (_text_id_key(): 'gs1:01/<GTIN>/10/
-- <batch>', 'iso15459:<IAC>/<CIN>/...') is created only by a member that
-- registered it, for rows dated after the registration (as battery ids,
-- _id_owners()): else a member bypassing its rules could wait for the
-- maker's creation to arrive and write its own dated at its statement's
-- start, before it, and hold the lot everywhere (ns21; red team r21 F3's
-- trick on lots).  An id in no registered namespace stays its first
-- creator's in registry order.
-- _lot_custody_steps(lot): every row of the lot by a known key, in registry
-- order, its verdict (NULL problem when effective) and the custody after it.
CREATE FUNCTION @extschema@._lot_custody_steps(lot text)
    RETURNS TABLE (ledger_at timestamptz, ledger_origin text, ledger_seq bigint, event text, signer text,
                   mass_kg numeric, effective boolean, problem text, holder text, offered text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    e record;
    made boolean := false;
    c_origin text;
    c_seq bigint;
BEGIN
    -- the creation that counts, as _lot_counted_creation judges it (the
    -- one judge of a lot's creation): a creation row in role before it is
    -- outside the lot id's namespace, one after it a second creation
    SELECT v.ledger_origin, v.ledger_seq INTO c_origin, c_seq FROM @extschema@._lot_counted_creation v
     WHERE v.lot_id = lot;
    FOR e IN SELECT x.ledger_at, x.ledger_origin, x.ledger_seq, x.event, x.counterparty, x.mass_kg, s.member,
                    s.roles && k.roles AS in_role
               FROM @extschema@.lot_event x
               CROSS JOIN LATERAL @extschema@._signer_at(x.ledger_key_id, x.ledger_at) s
               LEFT JOIN @extschema@.event_kind k ON k.event = x.event AND k.subject = 'lot'
              WHERE x.lot_id = lot AND s.member IS NOT NULL
              ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LOOP
        problem := NULL;
        IF NOT coalesce(e.in_role, false) THEN
            problem := 'wrong_role';
        ELSIF e.event IN ('extracted', 'processed', 'secondary_created') THEN
            IF made THEN
                problem := 'lot_created_twice';
            ELSIF e.ledger_origin IS DISTINCT FROM c_origin OR e.ledger_seq IS DISTINCT FROM c_seq THEN
                problem := 'foreign_namespace';
            ELSE
                holder := e.member; made := true;
            END IF;
        ELSIF e.event = 'shipped' THEN
            IF e.member IS DISTINCT FROM holder OR e.counterparty IS NULL THEN
                problem := 'lot_not_held';
            ELSE
                offered := e.counterparty;
            END IF;
        ELSIF e.event = 'received' THEN
            IF e.member IS DISTINCT FROM offered THEN
                problem := 'lot_not_offered';
            ELSE
                holder := e.member; offered := NULL;
            END IF;
        END IF;
        ledger_at := e.ledger_at; ledger_origin := e.ledger_origin; ledger_seq := e.ledger_seq;
        event := e.event; signer := e.member; mass_kg := e.mass_kg; effective := problem IS NULL;
        RETURN NEXT;
    END LOOP;
END $$;

-- _lot_creation(lot): the lot's creation the registry counts, as
-- _lot_counted_creation judges it (the first effective one of
-- _lot_custody_steps()) -- the first creation in registry order by a known
-- key, in the event's roles, that the lot id's namespace allows -- found
-- without walking the lot's other rows, as a whole row.
-- material_provenance() reads a lot's material and inputs from it (and
-- recycled_content() from the view, planned in); they read the first
-- creation in registry order, whoever wrote it, until 0.20.0, so that
-- another member's creation of a maker's namespaced lot id dated before
-- the maker's (ineffective, foreign_namespace) set the recycled content and
-- provenance of every battery made from the lot, on every member.  NULL:
-- the lot was never created.  The owner's functions call it.
CREATE FUNCTION @extschema@._lot_creation(lot text) RETURNS @extschema@.lot_event
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r @extschema@.lot_event;
BEGIN
    SELECT x.* INTO r FROM @extschema@.lot_event x
     WHERE (x.lot_id, x.ledger_origin, x.ledger_seq) =
           (SELECT v.lot_id, v.ledger_origin, v.ledger_seq FROM @extschema@._lot_counted_creation v
             WHERE v.lot_id = lot);
    RETURN r;
END $$;
REVOKE ALL ON FUNCTION @extschema@._lot_creation(text) FROM PUBLIC;

CREATE FUNCTION @extschema@._lot_custody(lot text, OUT holder text, OUT offered text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT st.holder, st.offered INTO holder, offered FROM @extschema@._lot_custody_steps(lot) st
     ORDER BY st.ledger_at DESC, st.ledger_origin DESC, st.ledger_seq DESC LIMIT 1;
END $$;

-- _lot_ledger(lot): the lot's own rows (step 0: _lot_custody_steps(), each
-- with its verdict and the custody after it) and every row consuming the lot
-- (step 1: a "processed" lot's inputs, a "manufactured" battery's lots
-- naming it, with its kilograms of the lot), in one registry order, the
-- lot's rows first on a tie.  A consumer counts (effective) only if its
-- signer wrote it while holding the lot: the custody after the last lot row
-- before it, and not while the lot was shipped to another member and not
-- yet received (red team r22, L2).  A consumer is judged by the lot's
-- custody alone: the holder's own row that its output lot's or battery's
-- rules judge otherwise still uses the mass it names.  A consumer's signer
-- by key, as _lot_custody() (a key names one member); per row one probe of
-- keys (the counted key rows), no function call.  (OFFSET 0 on each
-- probe of keys, here and below: a key probed by its id, as LIMIT 1 kept
-- it until 0.21.0, not the grouped view joined whole.)
-- The custody before each consumer is carried forward over the lot's rows
-- and its consumers in one registry order (a window), not looked up by a
-- scan of the lot's rows per consumer: a member writing a thousand rows of
-- a lot it does not hold and a thousand consumers of it made every
-- lot_available_kg() of it cost their product (r22, L3).  Both kinds of
-- rows come out of one walk of the lot's rows: _lot_balance() reads the
-- custody, the creation's mass and the consumers' sum from them (0.20.0:
-- a lot write walked them three times).
-- Its uses are found through GIN (jsonb_path_ops): gin_fuzzy_search_limit,
-- which any session may set, makes a GIN scan return a random subset, and
-- an application got a use past the lot's balance accepted (BL033; red
-- team rt26 G1); pinned to 0 (exact) here and wherever a decision reads GIN.
CREATE FUNCTION @extschema@._lot_ledger(lot text)
    RETURNS TABLE (step integer, battery_id @extschema@.battery_id, lot_id text, ledger_at timestamptz,
                   ledger_origin text, ledger_seq bigint, event text, signer text, mass_kg numeric,
                   effective boolean, holder text, offered text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET gin_fuzzy_search_limit = 0 AS $$
BEGIN
    -- (PL/pgSQL: its query planned once per session, not on every call as
    -- an SQL function with a pinned search_path is; writers call it)
    RETURN QUERY
    WITH c AS (SELECT NULL::@extschema@.battery_id AS battery_id, e.lot_id, e.ledger_at, e.ledger_origin, e.ledger_seq,
                 e.event, e.ledger_key_id,
                 (SELECT sum(@extschema@._json_num(i->'mass_kg')) FROM jsonb_array_elements(e.inputs) i WHERE i->>'lot' = lot) AS kg
            FROM @extschema@.lot_event e
           WHERE e.inputs @> jsonb_build_array(jsonb_build_object('lot', lot)) AND jsonb_typeof(e.inputs) = 'array'
          UNION ALL
          SELECT b.battery_id, NULL, b.ledger_at, b.ledger_origin, b.ledger_seq, b.event, b.ledger_key_id,
                 (SELECT sum(@extschema@._json_num(i->'mass_kg')) FROM jsonb_array_elements(b.lots) i WHERE i->>'lot' = lot)
            FROM @extschema@.battery_event b
           WHERE b.lots @> jsonb_build_array(jsonb_build_object('lot', lot)) AND jsonb_typeof(b.lots) = 'array'),
    -- the lot's rows (step 0) and its consumers (1) in registry order, the
    -- lot's rows first on a tie; g: how many lot rows come up to each
    o AS (SELECT 0 AS step, s.ledger_at, s.ledger_origin, s.ledger_seq, s.holder, s.offered,
                 NULL::@extschema@.battery_id AS battery_id, lot AS lot_id, s.event,
                 NULL::@extschema@.hash256 AS ledger_key_id, s.mass_kg AS kg, s.signer, s.effective
            FROM @extschema@._lot_custody_steps(lot) s
          UNION ALL
          SELECT 1, c.ledger_at, c.ledger_origin, c.ledger_seq, NULL, NULL,
                 c.battery_id, c.lot_id, c.event, c.ledger_key_id, c.kg, NULL, NULL
            FROM c),
    g AS (SELECT o.*, count(*) FILTER (WHERE o.step = 0)
                          OVER (ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.step ROWS UNBOUNDED PRECEDING) AS n
            FROM o),
    -- each consumer gets the custody after the last lot row before it
    h AS (SELECT g.*, first_value(g.holder) OVER w AS h_holder, first_value(g.offered) OVER w AS h_offered
            FROM g WINDOW w AS (PARTITION BY g.n ORDER BY g.step, g.ledger_at, g.ledger_origin, g.ledger_seq))
    SELECT h.step, h.battery_id, h.lot_id, h.ledger_at, h.ledger_origin, h.ledger_seq, h.event,
           CASE WHEN h.step = 0 THEN h.signer ELSE k.member END, h.kg,
           CASE WHEN h.step = 0 THEN h.effective
                ELSE k.member IS NOT NULL AND k.member = h.h_holder AND h.h_offered IS NULL END,
           h.holder, h.offered
      FROM h
      LEFT JOIN LATERAL (SELECT x.member FROM @extschema@.keys x
                          WHERE h.step = 1 AND x.key_id OPERATOR(@extschema@.=) h.ledger_key_id OFFSET 0) k ON true
     ORDER BY h.ledger_at, h.ledger_origin, h.ledger_seq, h.step;
END $$;

-- _lot_consumers(lot): every row consuming the lot, in registry order, with
-- its kilograms of the lot, its signer and whether it counts (_lot_ledger()).
CREATE FUNCTION @extschema@._lot_consumers(lot text)
    RETURNS TABLE (battery_id @extschema@.battery_id, lot_id text, ledger_at timestamptz, ledger_origin text,
                   ledger_seq bigint, event text, signer text, mass_kg numeric, effective boolean)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    SELECT l.battery_id, l.lot_id, l.ledger_at, l.ledger_origin, l.ledger_seq, l.event, l.signer, l.mass_kg, l.effective
      FROM @extschema@._lot_ledger(lot) l
     WHERE l.step = 1
     ORDER BY l.ledger_at, l.ledger_origin, l.ledger_seq;
END $$;

-- _lot_balance(lot): the lot's custody after its last row (holder, and the
-- member it is shipped to if not yet received), as _lot_custody(), and the
-- mass left, as lot_available_kg(): its effective creation's mass less the
-- effective consumers' kilograms.  One walk of the lot's rows
-- (_lot_ledger()) for the three: _check_inputs() read the custody and then
-- the mass, which walked them twice more (0.20.0).
CREATE FUNCTION @extschema@._lot_balance(lot text, OUT holder text, OUT offered text, OUT available_kg numeric)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- (the rows come in registry order: the last lot row's custody is the
    -- lot's; one creation at most is effective)
    SELECT (array_agg(l.holder ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC)
              FILTER (WHERE l.step = 0))[1],
           (array_agg(l.offered ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC)
              FILTER (WHERE l.step = 0))[1],
           coalesce(sum(l.mass_kg) FILTER (WHERE l.step = 0 AND l.effective
                                             AND l.event IN ('extracted', 'processed', 'secondary_created')), 0)
         - coalesce(sum(l.mass_kg) FILTER (WHERE l.step = 1 AND l.effective), 0)
      INTO holder, offered, available_kg
      FROM @extschema@._lot_ledger(lot) l;
END $$;

-- The member holding a lot: its creator or the last member that received
-- it from its holder (_lot_custody()).
CREATE FUNCTION @extschema@.lot_custodian(lot text) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (@extschema@._lot_custody(lot)).holder;
END $$;

-- The rules decide on the latest committed state of a lot or battery: writers
-- of the same lot, battery or passport id take turns, and read at READ
-- COMMITTED, where each query after the lock sees what the previous writer
-- committed.  The turn is a row lock in subject_lock, a table no role but
-- the extension's owner may read or lock (the rule triggers run as that
-- owner): an advisory lock, which any role may take, let a plain role hold a
-- battery's turn in an open transaction and stall its writers (red team F9).
-- UNLOGGED: a lock needs no WAL and nothing of it must survive a crash.
CREATE UNLOGGED TABLE @extschema@.subject_lock (
    kind text NOT NULL,
    id   text NOT NULL,
    PRIMARY KEY (kind, id)
);
REVOKE ALL ON @extschema@.subject_lock FROM PUBLIC;

CREATE FUNCTION @extschema@._lock_subject(kind text, id text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'registry events must be written at READ COMMITTED'
            USING ERRCODE = 'BL039',
                  DETAIL = format('This transaction runs at %s; the registry''s rules must see the latest committed state of a %s.',
                                  current_setting('transaction_isolation'), kind);
    END IF;
    PERFORM FROM @extschema@.subject_lock l WHERE l.kind = _lock_subject.kind AND l.id = _lock_subject.id FOR UPDATE;
    IF NOT FOUND THEN
        -- the first writer of a subject: a concurrent first writer's insert
        -- waits for this one's transaction, which is the same turn
        INSERT INTO @extschema@.subject_lock VALUES (kind, id) ON CONFLICT DO NOTHING;
        PERFORM FROM @extschema@.subject_lock l WHERE l.kind = _lock_subject.kind AND l.id = _lock_subject.id FOR UPDATE;
    END IF;
END $$;

-- _lot_after_now(lot): the time of the lot's latest row the registry
-- counts (an effective custody step or consumer) if registry order puts it
-- after a row this server writes now, else NULL.  A lot row is dated at its
-- statement's start, but judged once the statement has the lot's turn,
-- which a concurrent writer may have taken first: a shipment whose
-- statement started before a use of the lot it then did not see made that
-- use, accepted by the same member's rules, one of a lot in transit
-- (lot_not_held, its kilograms counted nowhere); a receipt dated before the
-- shipment it accepted (a slow statement, or a clock behind the shipper's)
-- was lot_not_offered, on every member (red team r23, R).  Such a row is
-- refused (BL032, "clock is behind"), as batteries refuse an acceptance
-- dated before its handover (BL043): retried, it comes after.
CREATE FUNCTION @extschema@._lot_after_now(lot text) RETURNS timestamptz
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    here text := coalesce(current_setting('battledger.origin', true), '');
BEGIN
    RETURN (SELECT max(x.ledger_at) FROM (
                SELECT s.ledger_at, s.ledger_origin FROM @extschema@._lot_custody_steps(lot) s WHERE s.effective
                UNION ALL
                SELECT c.ledger_at, c.ledger_origin FROM @extschema@._lot_consumers(lot) c WHERE c.effective) x
             WHERE (x.ledger_at, x.ledger_origin) > (statement_timestamp(), here));
END $$;
REVOKE ALL ON FUNCTION @extschema@._lot_after_now(text) FROM PUBLIC;

-- Inputs [{"lot": ..., "mass_kg": ...}] must be lots the signer holds, with that much mass left.
-- A lot named more than once is checked for the sum of its entries: each
-- checked alone against the lot's mass let 100 kg give 120 (red team r22,
-- L1).  A lot the holder has shipped and the addressee not yet received is
-- not the holder's to consume (_lot_consumers() judges it so): consumed
-- meanwhile, the addressee received a lot with nothing left (r22, L2).
-- r is the row of tbl being judged: a refusal is raised only if it is signed
-- (_refuse_row); otherwise NULL, and the caller lets the chain trigger refuse it.
CREATE FUNCTION @extschema@._check_inputs(r anyelement, tbl regclass, inputs jsonb, signer text, what text)
    RETURNS numeric
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    later timestamptz;
    i jsonb;
    inp record;
    cust record;
    total numeric := 0;
    want numeric;
BEGIN
    IF inputs IS NULL OR jsonb_typeof(inputs) <> 'array' OR jsonb_array_length(inputs) = 0 THEN
        PERFORM @extschema@._refuse_row(r, tbl, 'BL031', format('%s needs its input lots', what),
            'Give them as a JSON array: [{"lot": "...", "mass_kg": 12.5}, ...].');
        RETURN NULL;
    END IF;
    -- lock every input first, in one order, so two writers cannot deadlock
    PERFORM @extschema@._lock_subject('lot', l) FROM (
        SELECT DISTINCT e->>'lot' AS l FROM jsonb_array_elements(inputs) e WHERE e->>'lot' IS NOT NULL ORDER BY 1) x;
    FOR i IN SELECT * FROM jsonb_array_elements(inputs) LOOP
        -- (what every member's readers will count: a number, or nothing)
        want := @extschema@._json_num(i->'mass_kg');
        IF i->>'lot' IS NULL OR want IS NULL OR want <= 0 THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL031', format('malformed input lot %s in %s', i, what));
            RETURN NULL;
        END IF;
    END LOOP;
    FOR inp IN SELECT e.v->>'lot' AS lot, sum(@extschema@._json_num(e.v->'mass_kg')) AS kg
               FROM jsonb_array_elements(inputs) WITH ORDINALITY e(v, ord) GROUP BY 1 ORDER BY min(e.ord) LOOP
        SELECT * INTO cust FROM @extschema@._lot_balance(inp.lot);
        IF cust.holder IS DISTINCT FROM signer THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL032', format('lot "%s" is not held by member "%s"', inp.lot, signer),
                format('Its custodian is %s.', coalesce('"' || cust.holder || '"', 'nobody (no such lot)')));
            RETURN NULL;
        END IF;
        IF cust.offered IS NOT NULL THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL032', format('lot "%s" is shipped to member "%s"', inp.lot, cust.offered),
                'A lot shipped and not yet received is not its shipper''s to consume.');
            RETURN NULL;
        END IF;
        later := @extschema@._lot_after_now(inp.lot);
        IF later IS NOT NULL THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL032', format('this server''s clock is behind lot "%s"', inp.lot),
                format('Its latest row is dated %s; a use dated before it would come first in registry order.', later),
                'Check the server''s clock (NTP) and retry.');
            RETURN NULL;
        END IF;
        -- a lot made with a mass that is no finite number (written before
        -- 0.27.0, whose rules let it through, or past the rules): NaN sorts
        -- above every number, so the comparison below let every use pass.
        -- Nor one of more than 1,000 digits either side of the point, as
        -- _json_num() reads the uses' masses (red team rt27b F3)
        IF @extschema@._json_num(pg_catalog.to_jsonb(cust.available_kg)) IS NULL THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL033', format('mass balance: lot "%s" has %s kg left', inp.lot, cust.available_kg),
                'Its creation''s mass is no finite number of at most 1,000 digits either side of the point; registry_conflicts() names it (value_not_finite).',
                'Create the material as a lot with its real mass.');
            RETURN NULL;
        END IF;
        IF cust.available_kg < inp.kg THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL033', format('mass balance: lot "%s" has %s kg left, not %s kg',
                inp.lot, cust.available_kg, inp.kg));
            RETURN NULL;
        END IF;
        total := total + inp.kg;
    END LOOP;
    RETURN total;
END $$;

-- A superuser's pg_restore (battledger.restore on, src/pg/restore.h): the
-- rules triggers let the dumped rows pass, as the chain trigger keeps them;
-- they were judged when written, and are restored in table order, not in
-- the order they were written.
CREATE FUNCTION @extschema@._restoring() RETURNS boolean
    AS 'MODULE_PATHNAME', 'battledger_restoring' LANGUAGE C STABLE PARALLEL SAFE;

-- The rule triggers run as the extension's owner (SECURITY DEFINER): they
-- take the subjects' turns in subject_lock, which no other role may lock, and
-- read every row they decide on whatever row security a table gains.
CREATE FUNCTION @extschema@._lot_rules() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    k @extschema@.event_kind;
    cust record;
    ns record;
    input_kg numeric;
    later timestamptz;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;                 -- unknown key: the chain trigger refuses it (BL011)
    END IF;
    SELECT * INTO k FROM @extschema@.event_kind WHERE event = NEW.event AND subject = 'lot';
    IF NOT FOUND THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL030', format('unknown lot event "%s"', NEW.event),
            hint => 'See battledger.event_kind.');
        RETURN NEW;
    END IF;
    IF NOT s.roles && k.roles THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL015', format('member "%s" may not sign a "%s" lot event', s.member, NEW.event),
            format('Its roles are %s; the event needs one of %s.', s.roles, k.roles));
        RETURN NEW;
    END IF;
    -- a mass that is no number (NaN) or an infinity: the CHECK (> 0) lets
    -- both through (NaN sorts above every number), and a lot of NaN kg had
    -- every use of it pass the mass balance (0.27.0).  Nor a number of more
    -- than 1,000 digits either side of the point (numeric holds 131,072
    -- before it and 16,383 after), the bound _json_num() reads the uses'
    -- masses with (red team rt27b F3)
    IF @extschema@._json_num(pg_catalog.to_jsonb(NEW.mass_kg)) IS NULL THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL031', format('lot "%s" has a mass of %s kg', NEW.lot_id, NEW.mass_kg),
            'A lot''s mass is a finite number of kilograms, of at most 1,000 digits either side of the point.', 'Write the mass the lot has.');
        RETURN NEW;
    END IF;
    PERFORM @extschema@._lock_subject('lot', NEW.lot_id);
    -- a lot exists once a creation counts (_lot_custody()): an ineffective
    -- one (another member's, in the maker's namespace) must not block the maker
    SELECT * INTO cust FROM @extschema@._lot_custody(NEW.lot_id);
    IF NEW.event IN ('extracted', 'processed', 'secondary_created') AND cust.holder IS NOT NULL THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL034', format('lot "%s" already exists', NEW.lot_id));
        RETURN NEW;
    ELSIF NEW.event IN ('shipped', 'received') AND cust.holder IS NULL THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL034', format('lot "%s" does not exist', NEW.lot_id));
        RETURN NEW;
    END IF;
    -- a lot id in another member's namespace is its to create (ns21)
    IF NEW.event IN ('extracted', 'processed', 'secondary_created') THEN
        SELECT * INTO ns FROM @extschema@._key_owners(@extschema@._text_id_key(NEW.lot_id), statement_timestamp());
        IF ns.members IS NOT NULL AND NOT s.member = ANY (ns.members) THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL044', format('lot id %s is in the namespace of member "%s"',
                                                                      NEW.lot_id, array_to_string(ns.members, '", "')),
                format('Namespace %s is registered to "%s"; a lot id of the form gs1:01/<GTIN>/10/<batch> or iso15459:<IAC>/<CIN>/... is its members'' to create.',
                       array_to_string(ns.namespaces, ', '), array_to_string(ns.members, '", "')),
                'Use a lot id of a namespace registered to you (battledger.id_namespace).');
            RETURN NEW;
        END IF;
    END IF;
    IF NEW.event = 'processed' THEN
        input_kg := @extschema@._check_inputs(NEW, TG_RELID, NEW.inputs, s.member, format('lot "%s"', NEW.lot_id));
        IF input_kg IS NULL THEN
            RETURN NEW;             -- refused, but not signed: the chain trigger refuses it
        END IF;
        IF NEW.mass_kg > input_kg THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL033', format('mass balance: output lot "%s" (%s kg) exceeds its inputs (%s kg)',
                NEW.lot_id, NEW.mass_kg, input_kg));
            RETURN NEW;
        END IF;
    ELSIF NEW.event = 'shipped' THEN
        IF @extschema@.lot_custodian(NEW.lot_id) IS DISTINCT FROM s.member THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL032', format('member "%s" cannot ship lot "%s": it does not hold it', s.member, NEW.lot_id));
            RETURN NEW;
        END IF;
        IF NEW.counterparty IS NULL OR NOT EXISTS (SELECT 1 FROM @extschema@.members m WHERE m.member = NEW.counterparty) THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL031', 'a shipment needs the receiving member as counterparty');
            RETURN NEW;
        END IF;
    ELSIF NEW.event = 'received' THEN
        -- the holder's pending shipment (_lot_custody()), not the last row:
        -- another member's row must not stand in for it (red team r20, L1)
        IF cust.offered IS DISTINCT FROM s.member THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL032', format('lot "%s" was not shipped to member "%s"', NEW.lot_id, s.member));
            RETURN NEW;
        END IF;
    END IF;
    -- registry order must put a shipment or receipt after every row of the
    -- lot that counts (_lot_after_now(): red team r23, R)
    IF NEW.event IN ('shipped', 'received') THEN
        later := @extschema@._lot_after_now(NEW.lot_id);
        IF later IS NOT NULL THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL032', format('this server''s clock is behind lot "%s"', NEW.lot_id),
                format('Its latest row is dated %s; a %s row dated before it would come first in registry order.', later, NEW.event),
                'Check the server''s clock (NTP) and retry.');
            RETURN NEW;
        END IF;
    END IF;
    RETURN NEW;
END $$;

-----------------------------------------------------------------------------
-- A battery's lifecycle, the same on every member (docs/consortium.md, "One
-- history per battery").  The events that decide a battery's state (its
-- lifecycle events) are judged in registry order, (ledger_at, ledger_origin,
-- ledger_seq), each against the state the events before it reached: an event
-- the rules refuse there is kept (it is signed evidence) but changes nothing.
-- Every member holding the same rows therefore computes the same state,
-- whatever order the rows arrived in.  The writer's trigger refuses the same
-- events with the same verdict, so a member whose rules run never writes one.
--
-- Custody: one member at a time holds write authority over a battery's
-- lifecycle (placing it on the market, moving its status, dismantling,
-- recycling, handing it over): first its manufacturer, then whoever accepts
-- a handover.  A handover names the receiver; from then on nobody holds the
-- authority until the receiver accepts, and a handover cannot be withdrawn
-- (a withdrawal could race the acceptance).  So two honest members never
-- both move a battery, and a move by anyone else is judged ineffective
-- everywhere and reported as equivocation (registry_conflicts()).  Usage
-- reports, repairs and the other events commute: they stay open to their
-- roles.
-----------------------------------------------------------------------------

-- Custody is enforced for lifecycle events dated from 'since' on: -infinity
-- for a registry created with 0.4.0; the moment of the update for one updated
-- from 0.3.0, whose earlier moves were written without custody.  Members of a
-- consortium must agree on it (set_custody_from(), docs/consortium.md).
-- No row means -infinity (_custody_from()): CREATE EXTENSION writes none, so
-- that pg_restore can COPY a dumped date into the table without colliding
-- with a row of its own (until 0.24.0 the date was not dumped, and a
-- restored member enforced custody from -infinity unlike its peers).
CREATE TABLE @extschema@.registry_rule (
    rule  text PRIMARY KEY CHECK (rule IN ('custody')),
    since timestamptz NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.registry_rule', '');
GRANT SELECT ON @extschema@.registry_rule TO PUBLIC;

-- set_custody_from(since timestamptz): the consortium's agreed custody date (owner or superuser)
CREATE FUNCTION @extschema@.set_custody_from(since timestamptz) RETURNS timestamptz
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF since IS NULL THEN
        RAISE EXCEPTION 'the custody date cannot be NULL' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Give -infinity to enforce custody for every event.';
    END IF;
    INSERT INTO @extschema@.registry_rule AS r (rule, since) VALUES ('custody', set_custody_from.since)
        ON CONFLICT (rule) DO UPDATE SET since = excluded.since;
    RETURN since;
END $$;

CREATE FUNCTION @extschema@._custody_from() RETURNS timestamptz
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN coalesce((SELECT r.since FROM @extschema@.registry_rule r WHERE r.rule = 'custody'), '-infinity');
END $$;

-----------------------------------------------------------------------------
-- Identifier namespaces: who may make which batteries.  A battery id is its
-- maker's: a GS1 GTIN carries the maker's GS1 company prefix, an ISO/IEC
-- 15459 id its issuing agency and company number.  Registered here, a
-- namespace makes "manufactured" under it its member's alone, so nobody can
-- take a battery by writing its first row before the real maker (squatting
-- its serials, or dating a row of its own earlier: registry order follows
-- the writer's clock).  Registrations replicate like members and keys; one
-- counts only if written where its member is hosted (the origin that added
-- the member).  Two members registering overlapping namespaces are both
-- reported by registry_conflicts(), and where they overlap neither excludes
-- the other: a claim cannot take another member's namespace, only fail to
-- protect it until the consortium settles it.  A registration governs the
-- rows dated after it, so a new one never changes how a stored row is
-- judged (one dated back to do so is reported by verify_member()).
CREATE TABLE @extschema@.id_namespace (
    namespace text NOT NULL CHECK (namespace ~ '^(gs1:[0-9]{4,12}|iso15459:[A-Z0-9]{1,3}/[A-Z0-9]{1,35})$'),
    member    text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
SELECT @extschema@.enable_ledger('@extschema@.id_namespace', 'namespace');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.id_namespace', '');
-- the registrations a GS1 prefix covers, by a range of prefixes in byte
-- order whatever the database's collation (registry_conflicts():
-- namespace_contested, once per registration; red team r24, D1)
CREATE INDEX id_namespace_prefix ON @extschema@.id_namespace ((namespace COLLATE "C"));
GRANT SELECT ON @extschema@.id_namespace TO PUBLIC;

-- The key of a battery id that namespaces are prefixes of: 'gs1:' and the
-- GTIN's company prefix and item reference (the indicator digit and check
-- digit left out), or 'iso15459:IAC/CIN/'.
CREATE FUNCTION @extschema@._id_key(id @extschema@.battery_id) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN @extschema@.battery_id_scheme(id) = 'gs1' THEN 'gs1:' || substr(@extschema@.battery_gtin(id), 2, 12)
                ELSE regexp_replace(@extschema@.text(id), '[^/]*$', '') END
$$;

-- Does a namespace (as registered) cover a key (_id_key()) or another namespace?
CREATE FUNCTION @extschema@._ns_covers(namespace text, key text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN namespace LIKE 'gs1:%' THEN starts_with(key, namespace)
                ELSE starts_with(key || '/', namespace || '/') END
$$;

-- _ns_candidates(key text): the namespaces that could cover a key
-- (_ns_covers()), which are all prefixes of it: for a gs1 key every prefix
-- from 'gs1:' on, for another the key itself and each prefix that the key
-- follows with a '/'.  A loop of simple expressions: the same set as
-- ARRAY(SELECT left(key, n) FROM generate_series(...) WHERE ...), which was
-- a query of its own, 21 against 6 µs a call; every namespace check (a
-- battery's manufacture, a model's holder on a passport's path, a lot's
-- creation) computes it (0.19.0).  A gs1 key as _id_key() and
-- _text_id_key() make it ('gs1:' and 12 characters) takes one expression
-- of the same set, in the loop's order, instead of the loop's sixteen
-- turns (0.20.0, the namespaced passport's goal).  The loop stops at 48
-- characters, the longest namespace id_namespace's CHECK admits
-- ('iso15459:', 3 and '/', 35): no longer prefix can be one.  Unbounded,
-- it was quadratic in the key's length (substr() of a multibyte text walks
-- from its start, and a gs1 key appended every prefix): any role could
-- spend 22 s of CPU on one call with a 100,000-character key (0.22.0).
CREATE FUNCTION @extschema@._ns_candidates(key text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    candidates text[] := ARRAY[key];
    gs1 boolean := starts_with(key, 'gs1:');
BEGIN
    IF gs1 AND length(key) = 16 THEN
        RETURN ARRAY[key, left(key, 4), left(key, 5), left(key, 6), left(key, 7), left(key, 8), left(key, 9),
                     left(key, 10), left(key, 11), left(key, 12), left(key, 13), left(key, 14), left(key, 15)];
    END IF;
    FOR n IN 0 .. least(length(key) - 1, 48) LOOP
        IF (gs1 AND n >= 4) OR substr(key, n + 1, 1) = '/' THEN
            candidates := candidates || left(key, n);
        END IF;
    END LOOP;
    RETURN candidates;
END $$;

-- Is a registration written where its member is hosted (the origin of the
-- row that added the member)?  Another origin's DBA cannot speak for it.
-- Hosting is _member_hosts', as for keys and roles: a member added under the
-- empty origin is hosted here too (r25 E1; until 0.23.0 such a member's
-- registrations were refused, BL044, once battledger.origin was set: red
-- team r28, N1).
CREATE FUNCTION @extschema@._ns_hosted(member text, origin text) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    -- (every row adding the member: a second origin claiming to add it, however
    -- dated, makes its hosting contested, not moved: the red team's finding D)
    SELECT coalesce((SELECT bool_and(origin = ANY (h.origins)) FROM @extschema@._member_hosts h
                      WHERE h.member = _ns_hosted.member), false)
$$;

-- The writer's rules for the consortium's own registrations (red team r24):
-- a member's keys and roles are registered where the member was added, as
-- its namespaces are.  add_key(), revoke_key() and set_member_roles()
-- checked no hosting, so a member's DBA, with no bypass, could add a key of
-- its own for a competitor and sign as it, revoke the competitor's key, or
-- strip its roles, on every member; adding a member again at a second
-- origin (a direct INSERT: add_member() refuses it) made its hosting
-- contested and its namespaces void.  A row trigger on both tables, so that
-- a direct INSERT is judged like the functions' (the apply worker does not
-- fire it: rows from other members are judged by registry_conflicts(),
-- key_not_hosted and roles_not_hosted).
CREATE FUNCTION @extschema@._governance_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- (not current_setting(): before the library loads, which the chain
    -- trigger does after this one, any role may SET a placeholder for it
    -- and pass for another origin; red team r28, P1)
    here text := @extschema@._origin();
    host text;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
    IF TG_TABLE_NAME = 'member_event' AND NEW.event = 'added' THEN
        SELECT e.ledger_origin INTO host FROM @extschema@.member_event e
         WHERE e.member = NEW.member AND e.event = 'added' LIMIT 1;
        IF FOUND THEN
            PERFORM @extschema@._refuse('BL044', format('member "%s" was added by origin "%s"', NEW.member, host),
                'A member is added once, by the origin that hosts it; adding it again elsewhere would contest its hosting.',
                'Change its roles with battledger.set_member_roles() at its own origin.');
        END IF;
        RETURN NEW;
    END IF;
    -- a key row names its key by key_id, and the readers (keys, the key
    -- cache, _signer_at()) read a revocation by key_id alone and take one
    -- of a key's 'added' rows: a row naming a member hosted here but
    -- another member's key revoked or re-registered that member's key
    -- (red team r25, V1, V2)
    IF TG_TABLE_NAME = 'key_event' AND NEW.event = 'added' THEN
        SELECT k.member INTO host FROM @extschema@.key_event k
         WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id AND k.event = 'added' LIMIT 1;
        IF FOUND THEN
            PERFORM @extschema@._refuse('BL044', format('key %s is already registered, for member "%s"', NEW.key_id, host),
                'A key is registered once, for one member: a second row would make its signer ambiguous.',
                'Register a key pair of the member''s own.');
        END IF;
    ELSIF TG_TABLE_NAME = 'key_event' THEN
        IF NOT EXISTS (SELECT FROM @extschema@.key_event k WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id
                          AND k.event = 'added' AND k.member = NEW.member) THEN
            PERFORM @extschema@._refuse('BL044', format('key %s is not a key of member "%s"', NEW.key_id, NEW.member),
                'A revocation names the member the key was added for.',
                'Revoke keys with battledger.revoke_key().');
        END IF;
        -- the origin that added a key may always withdraw it, also where a
        -- second origin adding the member has contested its hosting since
        -- (a compromised key must stay revocable; red team r25, X1)
        IF EXISTS (SELECT FROM @extschema@.key_event k WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id
                      AND k.event = 'added' AND k.member = NEW.member AND k.ledger_origin IN (here, '')) THEN
            RETURN NEW;
        END IF;
    END IF;
    -- (a row of the empty origin was written here, before battledger.origin
    -- was set or by 0.1.0: the arrival check refuses one from elsewhere;
    -- red team r25, E1.)  A member added nowhere yet passes: pg_restore
    -- brings key_event's rows before member_event's (pg_dump orders table
    -- data by name), and a key row for a member no origin has added signs
    -- for no roles; if another origin adds that member later, the row is
    -- named key_not_hosted (registry_conflicts(); red team r25, D1)
    IF EXISTS (SELECT FROM @extschema@._member_hosts h WHERE h.member = NEW.member AND NOT h.origins && ARRAY[here, '']) THEN
        SELECT string_agg(DISTINCT '"' || e.ledger_origin || '"', ', ') INTO host FROM @extschema@.member_event e
         WHERE e.member = NEW.member AND e.event = 'added';
        PERFORM @extschema@._refuse('BL044', format('member "%s" is not hosted here', NEW.member),
            format('A member''s keys and roles are registered by the origin that added it (%s); this database is "%s".',
                   coalesce(host, 'none'), here),
            'Ask the DBA of the member''s own database to register it.');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.key_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._governance_rules();
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.member_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._governance_rules();

-- _id_owners(id battery_id, at timestamptz): the members whose (hosted)
-- registrations, made by time at, cover a battery id, the namespaces, and
-- when the first was registered; NULLs if none.  A registration governs the
-- rows dated after it: it never changes how an earlier row is judged.
-- _key_owners() of the id's key (_id_key()): until 0.20.0 the same query
-- was written out twice.
CREATE FUNCTION @extschema@._id_owners(id @extschema@.battery_id, at timestamptz,
                                       OUT members text[], OUT namespaces text[], OUT since timestamptz)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT o.members, o.namespaces, o.since INTO members, namespaces, since
      FROM @extschema@._key_owners(@extschema@._id_key(id), at) o;
END $$;

-- Model and lot ids in namespaces (ns21; red team r21 F3).  A model id or a
-- lot id written in a namespace's form is that namespace's member's, as a
-- battery id is: a GS1 GTIN identifies a trade item (a model) and with a
-- batch number (AI 10) a lot; an ISO/IEC 15459 id carries its issuing agency
-- and company.  _text_id_key(id text): the key of such an id that
-- namespaces are prefixes of (as _id_key()): 'gs1:' and the GTIN's company
-- prefix and item reference for 'gs1:01/<GTIN-14>' alone or followed by
-- '/...'; 'iso15459:<IAC>/<CIN>/' for 'iso15459:<IAC>/<CIN>/<anything>'.
-- NULL for any other id: it is in no namespace, and stays its first
-- declarer's (or creator's) in registry order.  Another spelling is another
-- id, which a passport does not name; but the spellings battery ids accept
-- for the same company (battery_id.c: a GS1 element string '(01)<GTIN-14>',
-- a Digital Link 'https://<host>/.../01/<GTIN>', a GTIN-8/12/13, any case;
-- an ISO/IEC 15459 id in lower case) are in its namespace too, so that a
-- maker writing its model or lot ids so is not left unprotected, another
-- member free to take them (red team r22, N3).  Likewise what the
-- battery_id parser (type_text.c) reads besides: surrounding white space
-- (a scanner's), an element string with a GTIN-8/12/13 ('(01)<13
-- digits>(21)...', padded to 14) and a Digital Link whose GTIN digits are
-- percent-encoded ('/01/%30%39...'): until 0.21.0 they were in no
-- namespace, so another member's application issued, for its own battery,
-- a passport id that battery_id reads as the namespace member's battery's
-- (red team r24, S1).
-- (PL/pgSQL, as _signer(): with its pinned search_path an SQL function is
-- planned again on every call, and passport() calls it through _model_holder())
CREATE FUNCTION @extschema@._text_id_key(id text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gtin text;
    lead text;
BEGIN
    -- the white space battery_id trims (type_text.c, is_space()), tested
    -- without an expression: the canonical form's path below needs none
    IF ascii(id) IN (9, 10, 11, 12, 13, 32) OR ascii(right(id, 1)) IN (9, 10, 11, 12, 13, 32) THEN
        id := btrim(id, E' \t\n\r\f' || chr(11));
    END IF;
    -- the canonical form first ('^gs1:01/[0-9]{14}(/|$)'), and each other
    -- spelling's regular expression only for an id with its prefix: a
    -- backend keeps its 32 last compiled expressions, and the path of a
    -- passport, which calls this through _model_holder(), has others; the
    -- canonical form needs none, an id of no spelling none either (0.20.0)
    IF starts_with(id, 'gs1:01/') AND length(id) >= 21 AND translate(substr(id, 8, 14), '0123456789', '') = ''
       AND (length(id) = 21 OR substr(id, 22, 1) = '/') THEN
        RETURN 'gs1:' || substr(id, 9, 12);
    END IF;
    -- (the prefixes in lower case: each expression below matches only ids
    -- whose first characters are these in either case)
    lead := lower(left(id, 9));
    IF starts_with(lead, 'gs1:01/') THEN
        gtin := substring(id from '(?i)^gs1:01/([0-9]{8}|[0-9]{12,14})(?:/|$)');
    ELSIF starts_with(id, '(01)') THEN
        -- (a GTIN-8/12/13 ends at the next element's '(' or the end:
        -- battery_id pads it; fourteen digits as before, whatever follows)
        gtin := coalesce(substring(id from '^\(01\)([0-9]{14})'),
                         substring(id from '^\(01\)([0-9]{13}|[0-9]{12}|[0-9]{8})(?:\(|$)'));
    ELSIF starts_with(lead, 'http') THEN
        -- (a digit percent-encoded is that digit, as battery_id decodes
        -- the GTIN's segment; '%3' and a digit encode nothing else)
        IF strpos(id, '%3') > 0 THEN
            FOR d IN 0 .. 9 LOOP
                id := replace(id, '%3' || d, d::text);
            END LOOP;
        END IF;
        gtin := substring(id from '(?i)^https?://[^/?#]+(?:/[^?#]*)?/01/([0-9]{8}|[0-9]{12,14})(?:[/?#]|$)');
    END IF;
    IF gtin IS NOT NULL THEN
        RETURN 'gs1:' || substr(lpad(gtin, 14, '0'), 2, 12);
    END IF;
    IF starts_with(lead, 'iso15459:') THEN
        RETURN 'iso15459:' || upper(substring(id from '(?i)^iso15459:([A-Z0-9]{1,3}/[A-Z0-9]{1,35}/).'));
    END IF;
    RETURN NULL;
END $$;

-- _key_owners(key text, at timestamptz): the members whose (hosted)
-- registrations, made by time at, cover a key (_id_key() of a battery id,
-- _text_id_key() of a model or lot id), their namespaces and the first
-- registration's time; NULLs if none (and for a NULL key).  Every namespace
-- _ns_covers() lets cover key is a prefix of it (_ns_candidates()): a gs1
-- one any prefix (starts_with), another one a prefix that key || '/'
-- follows with a '/'.  Those few are looked up in the chain index
-- (namespace first); testing every registration made each "manufactured"
-- verdict cost their number, and a member registering namespaces by the
-- ten thousand slowed every member (red team G2).  _key_claims() is the same
-- registrations read for every time at once, without their namespaces,
-- which its callers do not need: it does not serve this one (a second query
-- for the namespaces would cost more than it saves).
CREATE FUNCTION @extschema@._key_owners(key text, at timestamptz,
                                        OUT members text[], OUT namespaces text[], OUT since timestamptz)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    candidates text[] := @extschema@._ns_candidates(key);
BEGIN
    IF key IS NULL THEN
        RETURN;
    END IF;
    -- _ns_covers() and _ns_hosted() written out, as in _key_claims(): SQL
    -- functions with a pinned search_path are planned on every call, and
    -- each battery's manufacture reads this (_id_owners())
    SELECT array_agg(DISTINCT n.member ORDER BY n.member), array_agg(DISTINCT n.namespace ORDER BY n.namespace), min(n.at)
      INTO members, namespaces, since
      FROM @extschema@.id_namespace n
     WHERE n.namespace = ANY (candidates)
       AND CASE WHEN n.namespace LIKE 'gs1:%' THEN starts_with(key, n.namespace)
                ELSE starts_with(key || '/', n.namespace || '/') END
       AND n.at <= _key_owners.at
       AND coalesce((SELECT bool_and(n.ledger_origin = ANY (h.origins)) FROM @extschema@._member_hosts h
                      WHERE h.member = n.member), false);
END $$;

-- _key_claims(key text): every member whose hosted registration covers the
-- key and when it first registered one, as two arrays (NULL if none): what
-- _key_claim_allows() judges each row of an id by, read once per id, not
-- once per row.
CREATE FUNCTION @extschema@._key_claims(key text, OUT members text[], OUT since timestamptz[])
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    candidates text[] := @extschema@._ns_candidates(key);
BEGIN
    IF key IS NULL THEN
        RETURN;
    END IF;
    -- _ns_covers() and _ns_hosted() written out: SQL functions with a
    -- pinned search_path are planned on every call, and this is on the
    -- passport's path (_model_holder())
    SELECT array_agg(x.member ORDER BY x.member), array_agg(x.at ORDER BY x.member) INTO members, since
      FROM (SELECT n.member, min(n.at) AS at FROM @extschema@.id_namespace n
             WHERE n.namespace = ANY (candidates)
               AND CASE WHEN n.namespace LIKE 'gs1:%' THEN starts_with(key, n.namespace)
                        ELSE starts_with(key || '/', n.namespace || '/') END
               AND coalesce((SELECT bool_and(n.ledger_origin = ANY (h.origins)) FROM @extschema@._member_hosts h
                              WHERE h.member = n.member), false)
             GROUP BY n.member) x;
END $$;

-- _key_claim_allows(members, since, member, at): may member write the first
-- row of an id whose claims (_key_claims()) are these, at time at?  Yes if
-- no claim was registered by then (a registration governs the rows dated
-- after it), or if one of those is member's: where two members' claims
-- overlap neither excludes the other (namespace_contested).
-- (PL/pgSQL: called for every row of an id; a loop over the few claims)
CREATE FUNCTION @extschema@._key_claim_allows(members text[], since timestamptz[], member text, at timestamptz)
    RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    claimed boolean := false;
BEGIN
    FOR i IN 1 .. coalesce(array_length(members, 1), 0) LOOP
        IF since[i] <= at THEN
            IF members[i] = member THEN
                RETURN true;
            END IF;
            claimed := true;
        END IF;
    END LOOP;
    RETURN NOT claimed;
END $$;

-- _lot_counted_creation: each lot's creation the registry counts, one row
-- per lot that has a creation row (extracted, processed, secondary_created)
-- with a NULL creation where none counts: the first creation row in
-- registry order by a known key (its signer as _signer_at() reads it) whose
-- signer's roles at its time allow the event and, for a lot id in a
-- registered namespace (_text_id_key()), that the namespace allows
-- (_key_claims(), read once per lot; _key_claim_allows() per row).  The one
-- judge of a lot's creation (0.21.0): the walk (_lot_custody_steps()),
-- _lot_creation() and recycled_content() read it with "WHERE lot_id = ...";
-- until 0.20.0 each judged it itself, the walk in its loop and
-- recycled_content() written out twice.  A view, so that the queries
-- reading it plan it in, the lot id pushed into its list of lots and the
-- creation read by index lot_event_creation, stopping at the first row that
-- counts: a function call per lot cost recycled_content(), on every
-- passport's path, about 0.1 ms a lot, and an SQL function the planner
-- could inline would have to leave its search_path unpinned.  The claims
-- read per row instead of per lot cost 75 µs a row: 2,000 rows of another
-- member dated before the maker's creation made each read 155 ms.
-- A reader joining it to other lots reads it in a LATERAL subquery with
-- LIMIT 1 (recycled_content()): a plain join may be planned as a hash join
-- over every lot's creation.
-- security_invoker: it reads the raw lot events with its reader's rights
-- (the walk runs as its caller, a role reading lot_event; 42501 for the
-- others), so PUBLIC may select from it and learns nothing it could not
-- read in the tables themselves.
CREATE VIEW @extschema@._lot_counted_creation WITH (security_invoker = true) AS
SELECT l.lot_id, f.event, f.material, f.mass_kg, f.inputs, f.signer, f.ledger_at, f.ledger_origin, f.ledger_seq
  FROM (SELECT x.lot_id FROM @extschema@.lot_event x
         WHERE x.event IN ('extracted', 'processed', 'secondary_created') GROUP BY x.lot_id) l
  -- (OFFSET 0: not pulled up, so that the key's test gates the claims'
  -- query, which a lot id in no namespace does not run)
  LEFT JOIN LATERAL (SELECT c.members, c.since FROM @extschema@._key_claims(@extschema@._text_id_key(l.lot_id)) c
                      WHERE @extschema@._text_id_key(l.lot_id) IS NOT NULL OFFSET 0) cl ON true
  LEFT JOIN LATERAL (
      SELECT x.event, x.material, x.mass_kg, x.inputs, s.member AS signer, x.ledger_at, x.ledger_origin, x.ledger_seq
        FROM @extschema@.lot_event x
        CROSS JOIN LATERAL (SELECT ke.member FROM @extschema@.keys ke
                             WHERE ke.key_id OPERATOR(@extschema@.=) x.ledger_key_id OFFSET 0) s
       WHERE x.lot_id = l.lot_id AND x.event IN ('extracted', 'processed', 'secondary_created')
         AND coalesce((SELECT m.roles FROM @extschema@._member_rows_counted m
                        WHERE m.member = s.member AND m.at <= x.ledger_at
                        ORDER BY m.at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1)
                      && (SELECT k.roles FROM @extschema@.event_kind k WHERE k.event = x.event AND k.subject = 'lot'),
                      false)
         AND (cl.members IS NULL OR @extschema@._key_claim_allows(cl.members, cl.since, s.member, x.ledger_at))
       ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LIMIT 1) f ON true;
GRANT SELECT ON @extschema@._lot_counted_creation TO PUBLIC;

-- add_id_namespace(member text, namespace text): register a GS1 company prefix
-- ('gs1:4012345') or an ISO/IEC 15459 issuer and company ('iso15459:UN/123456')
-- as the member's; from then on only it may manufacture batteries under it.
CREATE FUNCTION @extschema@.add_id_namespace(member text, namespace text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    other record;
BEGIN
    IF member IS NULL OR NOT EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = add_id_namespace.member AND e.event = 'added') THEN
        RAISE EXCEPTION 'member "%" does not exist', member USING ERRCODE = 'undefined_object',
            HINT = 'Register it first with battledger.add_member().';
    END IF;
    -- (_origin(), not current_setting(): a placeholder SET before the
    -- library loads is not this database's origin; red team r28, P2)
    IF NOT @extschema@._ns_hosted(member, @extschema@._origin()) THEN
        RAISE EXCEPTION 'member "%" is not hosted here', member USING ERRCODE = 'BL044',
            DETAIL = 'A namespace is registered where its member was added; a registration made elsewhere does not count.',
            HINT = 'Ask the DBA of the member''s own database to register it.';
    END IF;
    IF namespace IS NULL OR namespace !~ '^(gs1:[0-9]{4,12}|iso15459:[A-Z0-9]{1,3}/[A-Z0-9]{1,35})$' THEN
        RAISE EXCEPTION 'invalid identifier namespace "%"', namespace USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'A namespace is a GS1 company prefix (4 to 12 digits) or an ISO/IEC 15459 issuing agency code and company number.',
            HINT = 'For example ''gs1:4012345'' or ''iso15459:UN/123456''.';
    END IF;
    SELECT n.namespace, n.member INTO other FROM @extschema@.id_namespace n
     WHERE n.member = add_id_namespace.member
       AND (@extschema@._ns_covers(n.namespace, add_id_namespace.namespace)
            OR @extschema@._ns_covers(add_id_namespace.namespace, n.namespace)) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'namespace "%" overlaps "%", already registered to "%"', namespace, other.namespace, other.member
            USING ERRCODE = 'duplicate_object';
    END IF;
    -- another member's overlapping claim is not a reason to refuse this one:
    -- refusing would let whoever registers first (a short prefix, say) keep
    -- the real owner out.  Both are recorded; where they overlap neither
    -- excludes the other, and both are named until the consortium settles it
    SELECT n.namespace, n.member INTO other FROM @extschema@.id_namespace n
     WHERE n.member <> add_id_namespace.member
       AND (@extschema@._ns_covers(n.namespace, add_id_namespace.namespace)
            OR @extschema@._ns_covers(add_id_namespace.namespace, n.namespace)) LIMIT 1;
    IF FOUND THEN
        RAISE WARNING 'namespace "%" overlaps "%", registered to "%": contested', namespace, other.namespace, other.member
            USING DETAIL = 'Where the two overlap, neither member''s claim excludes the other''s batteries until the consortium settles it.',
                  HINT = 'See battledger.registry_conflicts() (namespace_contested).';
    END IF;
    -- registering a namespace must not take batteries another member has made under it
    SELECT s.member, e.battery_id INTO other FROM @extschema@.battery_event e, @extschema@._signer(e.ledger_key_id) s
     WHERE e.event = 'manufactured' AND s.member IS DISTINCT FROM add_id_namespace.member
       AND @extschema@._ns_covers(add_id_namespace.namespace, @extschema@._id_key(e.battery_id))
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'member "%" has made batteries in namespace "%"', other.member, namespace
            USING ERRCODE = 'BL044', DETAIL = format('For example %s.', other.battery_id),
                  HINT = 'Agree in the consortium whose namespace it is; the registration would make those batteries ineffective.';
    END IF;
    -- nor models another member declared, nor lots it created, under it
    -- (ns21 put them in namespaces): their rows dated before it keep
    -- counting, but the holder's own application was refused its model's
    -- next declaration (BL044; red team r22, N1).  Every spelling
    -- _text_id_key() reads: one pass over them, at registration only
    SELECT s.member, x.id INTO other
      FROM (SELECT m.model_id AS id, m.ledger_key_id, m.ledger_at, m.ledger_origin, m.ledger_seq FROM @extschema@.battery_model m
            UNION ALL
            SELECT l.lot_id, l.ledger_key_id, l.ledger_at, l.ledger_origin, l.ledger_seq FROM @extschema@.lot_event l
             WHERE l.event IN ('extracted', 'processed', 'secondary_created')) x,
           @extschema@._signer(x.ledger_key_id) s
     WHERE s.member IS DISTINCT FROM add_id_namespace.member
       AND @extschema@._ns_covers(add_id_namespace.namespace, @extschema@._text_id_key(x.id))
     ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'member "%" has declared models or created lots in namespace "%"', other.member, namespace
            USING ERRCODE = 'BL044', DETAIL = format('For example %s.', other.id),
                  HINT = 'Agree in the consortium whose namespace it is; the registration would refuse that member''s next rows of them.';
    END IF;
    -- nor passport ids another member issued under it (pp23 put them in
    -- namespaces): a claim overlapping the issuer's excludes neither, so
    -- the registering member's application could then issue the issuer's
    -- next passport ids before it, and hold them (BL038 for the issuer;
    -- red team r24, N1).  One pass over the issuing rows, at registration
    SELECT s.member, e.passport_id AS id INTO other
      FROM @extschema@.battery_event e, @extschema@._signer(e.ledger_key_id) s
     WHERE e.passport_id IS NOT NULL
       AND (e.event = 'placed_on_market' OR (e.event = 'status_changed' AND e.new_status IN ('re-used', 'repurposed', 'remanufactured')))
       AND s.member IS DISTINCT FROM add_id_namespace.member
       AND @extschema@._ns_covers(add_id_namespace.namespace, @extschema@._text_id_key(e.passport_id))
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'member "%" has issued passport ids in namespace "%"', other.member, namespace
            USING ERRCODE = 'BL044', DETAIL = format('For example %s.', other.id),
                  HINT = 'Agree in the consortium whose namespace it is; the registration would let you issue that member''s next passport ids.';
    END IF;
    INSERT INTO @extschema@.id_namespace (namespace, member) VALUES (namespace, member);
    RETURN namespace;
END $$;

-- Passport ids in namespaces (pp23).  A passport id is held by the first
-- event issuing it in registry order (placed_on_market, or a move into
-- re-use, repurposing or remanufacturing), even an ineffective one, so a
-- member bypassing its rules took a competitor's id on every member by an
-- issuing row dated first: a statement that waits for the competitor's row
-- to arrive and writes its own dated at its start (red team r21 F3's trick).
-- An id written in a registered namespace's form (_text_id_key(): every
-- spelling battery ids accept, e.g. 'gs1:01/<GTIN>/21/<serial>') is held as
-- a namespaced model id is (_model_holder()): only rows the namespace
-- allows (_key_claim_allows(): dated before every claim on it, or signed by
-- a member whose claim was registered by then) hold it; a row of another
-- member dated after the registration holds nothing, wherever it falls in
-- registry order.  Ids in no registered namespace keep the first issuing
-- row (a residual, docs/security.md).
-- _passport_holder_by(passport, members, since, after_row): that holder's
-- key (registry order, then battery_id, as _battery_verdict() and
-- _passport_holder_arrived() order them), or the first such row after
-- after_row (the row a new holder displaces); NULLs if none.  members and
-- since are the id's claims (_key_claims(), NULL for an id in no
-- namespace), which its callers read once for several uses: _key_claims()
-- is most of the cost.  One probe of battery_event_passport_holder for an
-- id in no namespace (red team r10, F2; _battery_verdict() and the trigger
-- write that one out), and for a namespaced one that probe below the first
-- claim plus one of battery_event_passport_signer per key of each claiming
-- member: never a walk over the rows the namespace refuses, however many a
-- member writes.
CREATE FUNCTION @extschema@._passport_holder_by(passport text, members text[], since timestamptz[],
                                                after_row @extschema@.battery_event DEFAULT NULL,
                                                OUT ledger_at timestamptz, OUT ledger_origin text, OUT ledger_seq bigint,
                                                OUT battery_id @extschema@.battery_id)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    first timestamptz;
BEGIN
    IF members IS NULL THEN
        SELECT o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id INTO ledger_at, ledger_origin, ledger_seq, battery_id
          FROM @extschema@.battery_event o
         WHERE o.passport_id = passport
           AND (o.event = 'placed_on_market'
                OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
           AND (after_row.ledger_at IS NULL
                OR ((o.ledger_at, o.ledger_origin, o.ledger_seq) >= (after_row.ledger_at, after_row.ledger_origin, after_row.ledger_seq)
                    AND ((o.ledger_at, o.ledger_origin, o.ledger_seq) > (after_row.ledger_at, after_row.ledger_origin, after_row.ledger_seq)
                         OR o.battery_id OPERATOR(@extschema@.>) after_row.battery_id)))
         ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id LIMIT 1;
        RETURN;
    END IF;
    SELECT min(x) INTO first FROM unnest(since) x;
    SELECT h.ledger_at, h.ledger_origin, h.ledger_seq, h.battery_id INTO ledger_at, ledger_origin, ledger_seq, battery_id
      FROM (-- any member's rows dated before every claim
            (SELECT o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id
               FROM @extschema@.battery_event o
              WHERE o.passport_id = passport AND o.ledger_at < first
                AND (o.event = 'placed_on_market'
                     OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
                AND (after_row.ledger_at IS NULL
                     OR ((o.ledger_at, o.ledger_origin, o.ledger_seq) >= (after_row.ledger_at, after_row.ledger_origin, after_row.ledger_seq)
                         AND ((o.ledger_at, o.ledger_origin, o.ledger_seq) > (after_row.ledger_at, after_row.ledger_origin, after_row.ledger_seq)
                              OR o.battery_id OPERATOR(@extschema@.>) after_row.battery_id)))
              ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id LIMIT 1)
            UNION ALL
            -- a claiming member's rows (its keys: as _signer() finds a row's
            -- member) dated from its registration.  A key added for two
            -- members (a member's superuser adding its own key again for
            -- the namespace's member) is the one member _signer_at()
            -- reads, as the verdict's: every key row naming the member
            -- made the squatter's row, judged passport_foreign_namespace,
            -- hold the id, and the member's own issue of it BL038 (red
            -- team r24, K1)
            SELECT f.* FROM unnest(members, since) c(member, at)
              -- (keys: the counted rows, one member per key, _signer_at()'s
              -- reading, probed by key: 0.22.0)
              JOIN @extschema@.key_event ka ON ka.member = c.member AND ka.event = 'added'
              CROSS JOIN LATERAL (SELECT x.key_id FROM @extschema@.keys x
                                   WHERE x.key_id OPERATOR(@extschema@.=) ka.key_id AND x.member = c.member OFFSET 0) k
              CROSS JOIN LATERAL (
                SELECT o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id
                  FROM @extschema@.battery_event o
                 WHERE o.passport_id = passport AND o.ledger_key_id OPERATOR(@extschema@.=) k.key_id AND o.ledger_at >= c.at
                   AND (o.event = 'placed_on_market'
                        OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
                   AND (after_row.ledger_at IS NULL
                        OR ((o.ledger_at, o.ledger_origin, o.ledger_seq) >= (after_row.ledger_at, after_row.ledger_origin, after_row.ledger_seq)
                            AND ((o.ledger_at, o.ledger_origin, o.ledger_seq) > (after_row.ledger_at, after_row.ledger_origin, after_row.ledger_seq)
                                 OR o.battery_id OPERATOR(@extschema@.>) after_row.battery_id)))
                 ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id LIMIT 1) f) h
     ORDER BY h.ledger_at, h.ledger_origin, h.ledger_seq, h.battery_id LIMIT 1;
END $$;

-- _passport_holder(passport): an id's holder, its claims read here
CREATE FUNCTION @extschema@._passport_holder(passport text,
                                             OUT ledger_at timestamptz, OUT ledger_origin text, OUT ledger_seq bigint,
                                             OUT battery_id @extschema@.battery_id)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    key text := @extschema@._text_id_key(passport);
    members text[];
    since timestamptz[];
BEGIN
    IF key IS NOT NULL THEN
        SELECT c.members, c.since INTO members, since FROM @extschema@._key_claims(key) c;
    END IF;
    SELECT * INTO ledger_at, ledger_origin, ledger_seq, battery_id
      FROM @extschema@._passport_holder_by(passport, members, since);
END $$;

-- The state a battery's lifecycle events reached.
CREATE TYPE @extschema@.battery_fold_state AS (
    manufactured boolean,
    status       text,       -- original, re-used, repurposed, remanufactured, waste, recycled; NULL before the market
    passport_id  text,       -- the current passport
    custodian    text,       -- the member holding write authority (NULL while a handover is pending)
    handover_to  text,       -- the member a pending handover names
    successor    text        -- second life: the battery it was repurposed or remanufactured into
);

-- The rules' verdict on one event e, signed by member (with roles), given
-- the state st the events before it reached: NULL problem if allowed, else
-- the problem and the error the writer raises.  'writer' adds the checks only
-- the writing member can make at that moment (models, lots, corrections,
-- its clock), whose facts may reach another member later or in another order.
CREATE FUNCTION @extschema@._battery_verdict(e @extschema@.battery_event, member text, roles text[],
                                             st @extschema@.battery_fold_state, custody boolean, writer boolean,
                                             OUT problem text, OUT code text, OUT message text, OUT detail text, OUT hint text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k @extschema@.event_kind;
    needed text[];
    offered timestamptz;
    offered_by text;
    ns record;
    held record;
    pkey text;
    cm text[];
    cs timestamptz[];
BEGIN
    SELECT * INTO k FROM @extschema@.event_kind ek WHERE ek.event = e.event AND ek.subject = 'battery';
    IF NOT FOUND THEN
        problem := 'unknown_event'; code := 'BL030';
        message := format('unknown battery event "%s"', e.event); hint := 'See battledger.event_kind.';
        RETURN;
    END IF;
    needed := k.roles;
    IF e.event = 'status_changed' THEN
        SELECT sr.roles INTO needed FROM @extschema@.status_role sr WHERE sr.status = e.new_status;
        IF needed IS NULL THEN
            problem := 'unknown_status'; code := 'BL035';
            message := format('"%s" is not a status a battery can be moved into', e.new_status);
            detail := 'The statuses are re-used, repurposed, remanufactured and waste; recycled is recorded by a "recycled" event.';
            RETURN;
        END IF;
    END IF;
    -- second life (Art. 77(7)): a second-life operator makes the new battery it repurposes into
    IF e.event = 'manufactured' AND jsonb_typeof(e.data->'predecessors') = 'array' AND jsonb_array_length(e.data->'predecessors') > 0 THEN
        needed := needed || '{second_life_operator}'::text[];
    END IF;
    IF NOT roles && needed THEN
        problem := 'wrong_role'; code := 'BL015';
        message := format('member "%s" may not sign "%s"%s', member, e.event,
                          CASE WHEN e.event = 'status_changed' THEN format(' into "%s"', e.new_status) ELSE '' END);
        detail := format('Its roles are %s; this needs one of %s.', roles, needed);
        RETURN;
    END IF;
    -- only the events that issue a passport may name one: an id named by any
    -- other event would be held against its issuer.  The writer refuses it
    -- here (manufactured, quality checks, corrections and handovers return
    -- before the passport rules below); rows stored before 0.4.0 may carry
    -- one, so the fold lets them stand and registry_conflicts() names them
    IF writer AND e.passport_id IS NOT NULL
       AND NOT (e.event = 'placed_on_market' OR (e.event = 'status_changed' AND e.new_status IN ('re-used', 'repurposed', 'remanufactured'))) THEN
        problem := 'passport_not_issued'; code := 'BL038';
        message := format('"%s" does not issue a passport', e.event);
        RETURN;
    END IF;
    IF st.status = 'recycled' THEN
        problem := 'after_recycled'; code := 'BL036';
        message := format('battery %s has been recycled', e.battery_id);
        detail := 'Nothing is recorded after "recycled": its passport has ceased to exist (Art. 77(8)).';
        RETURN;
    END IF;
    -- second life: a battery consumed into its successor moves no more
    IF st.successor IS NOT NULL AND e.event <> 'manufactured' AND @extschema@._is_lifecycle(e.event) THEN
        problem := 'consumed'; code := 'BL036';
        message := format('battery %s has been %s into battery %s', e.battery_id, st.status, st.successor);
        detail := 'A repurposed or remanufactured battery lives on as its successor, with the successor''s passport (Art. 77(7)).';
        RETURN;
    END IF;
    IF e.event = 'manufactured' THEN
        IF st.manufactured THEN
            problem := 'manufactured_twice'; code := 'BL036';
            message := format('battery %s is already manufactured', e.battery_id);
            RETURN;
        END IF;
        -- a battery id is its namespace's member's to make (custody starts here)
        IF custody THEN
            SELECT * INTO ns FROM @extschema@._id_owners(e.battery_id, coalesce(e.ledger_at, statement_timestamp()));
            IF ns.members IS NOT NULL AND NOT member = ANY (ns.members) THEN
                problem := 'foreign_namespace'; code := 'BL044';
                message := format('battery id %s is in the namespace of member "%s"', e.battery_id, array_to_string(ns.members, '", "'));
                detail := format('Namespace %s is registered to "%s": only it may write "manufactured" under it.',
                                 array_to_string(ns.namespaces, ', '), array_to_string(ns.members, '", "'));
                hint := 'Use an identifier of a namespace registered to you (battledger.id_namespace).';
            END IF;
        END IF;
        RETURN;
    END IF;
    IF NOT coalesce(st.manufactured, false) THEN
        problem := 'not_manufactured'; code := 'BL036';
        message := format('battery %s has not been manufactured', e.battery_id);
        detail := 'Its first event must be "manufactured".';
        RETURN;
    END IF;
    IF e.event IN ('correction', 'quality_checked') THEN
        RETURN;
    END IF;

    -- custody: the lifecycle moves are the custodian's alone
    IF e.event IN ('placed_on_market', 'status_changed', 'dismantled', 'recycled', 'handover') AND custody THEN
        IF st.handover_to IS NOT NULL THEN
            problem := 'handover_pending'; code := 'BL043';
            message := format('battery %s is being handed over to "%s"', e.battery_id, st.handover_to);
            detail := format('Until "%s" accepts the handover, nobody may write "%s" for it.', st.handover_to, e.event);
            hint := 'The receiver records a "handover_accepted" event; a handover cannot be withdrawn.';
            RETURN;
        ELSIF st.custodian IS DISTINCT FROM member THEN
            problem := 'not_custodian'; code := 'BL043';
            message := format('member "%s" does not hold battery %s', member, e.battery_id);
            detail := format('"%s" needs write authority over the battery; its custodian is "%s".', e.event, st.custodian);
            hint := 'The custodian hands the battery over ("handover", data {"to": member}) and the member accepts it ("handover_accepted").';
            RETURN;
        END IF;
    END IF;
    IF e.event = 'handover' THEN
        IF e.data->>'to' IS NULL OR e.data->>'to' = member
           OR NOT EXISTS (SELECT 1 FROM @extschema@.members m WHERE m.member = e.data->>'to') THEN
            problem := 'bad_handover'; code := 'BL043';
            message := 'a handover must name another member as receiver';
            hint := 'Set data to {"to": "<member>"}.';
        ELSIF writer AND NOT EXISTS (SELECT 1 FROM @extschema@.members m, @extschema@.event_kind ek
                                      WHERE m.member = e.data->>'to' AND ek.event = 'handover_accepted'
                                        AND ek.subject = 'battery' AND m.roles && ek.roles) THEN
            -- a handover cannot be withdrawn: one to a member that may not accept
            -- it would leave the battery without a custodian for good (the
            -- writer's check only: the fold does not re-judge it if roles change)
            problem := 'bad_handover'; code := 'BL043';
            message := format('member "%s" may not accept a handover', e.data->>'to');
            detail := format('Its roles are %s; "handover_accepted" needs one of %s.',
                             (SELECT m.roles FROM @extschema@.members m WHERE m.member = e.data->>'to'),
                             (SELECT ek.roles FROM @extschema@.event_kind ek WHERE ek.event = 'handover_accepted' AND ek.subject = 'battery'));
            hint := 'A handover cannot be withdrawn: name a member that holds a battery role.';
        END IF;
        RETURN;
    ELSIF e.event = 'handover_accepted' THEN
        IF st.handover_to IS DISTINCT FROM member THEN
            problem := 'no_handover'; code := 'BL043';
            message := format('battery %s is not being handed over to "%s"', e.battery_id, member);
            detail := CASE WHEN st.handover_to IS NULL THEN 'No handover of it is pending.'
                           ELSE format('The pending handover names "%s".', st.handover_to) END;
        ELSIF writer THEN
            -- registry order must put the acceptance after the handover on every member:
            -- (ledger_at, ledger_origin) after it, or the same chain (the same origin)
            -- the pending handover is the last effective one: a later, ineffective
            -- handover (a rogue member's, dated far ahead) must not hold it up
            -- (the rules trigger has just brought its cache up to date: read it there)
            SELECT c.handover_at, c.handover_origin INTO offered, offered_by
              FROM @extschema@.battery_fold_cache c WHERE c.battery_id OPERATOR(@extschema@.=) e.battery_id;
            IF offered IS NULL THEN
                SELECT h.ledger_at, h.ledger_origin INTO offered, offered_by FROM @extschema@.battery_lifecycle(e.battery_id) h
                 WHERE h.event = 'handover' AND h.effective
                 ORDER BY h.ledger_at DESC, h.ledger_origin DESC, h.ledger_seq DESC LIMIT 1;
            END IF;
            IF offered > statement_timestamp()
               OR (offered = statement_timestamp() AND offered_by > coalesce(current_setting('battledger.origin', true), '')) THEN
                problem := 'clock_behind'; code := 'BL043';
                message := format('this server''s clock is behind the handover of battery %s', e.battery_id);
                detail := format('The handover is dated %s; an acceptance dated before it would come first in registry order.', offered);
                hint := 'Check the server''s clock (NTP) and retry.';
            END IF;
        END IF;
        RETURN;
    END IF;

    IF e.event = 'placed_on_market' THEN
        IF st.status IS NOT NULL THEN
            problem := 'already_on_market'; code := 'BL035';
            message := format('battery %s is already on the market (status %s)', e.battery_id, st.status);
            RETURN;
        END IF;
    ELSIF st.status IS NULL THEN
        problem := 'not_on_market'; code := 'BL036';
        message := format('battery %s has not been placed on the market', e.battery_id);
        detail := format('"%s" needs a battery with a status.', e.event);
        RETURN;
    END IF;
    IF e.event = 'status_changed' THEN
        IF NOT @extschema@.status_move_allowed(st.status, e.new_status) THEN
            problem := 'move_not_allowed'; code := 'BL035';
            message := format('status cannot move from "%s" to "%s"', st.status, e.new_status);
            detail := 'Allowed: original -> re-used|repurposed|remanufactured|waste; re-used|repurposed|remanufactured -> the same or waste; waste -> re-used|repurposed|recycled.';
            RETURN;
        END IF;
    ELSIF e.event IN ('dismantled', 'recycled') AND st.status IS DISTINCT FROM 'waste' THEN
        problem := 'not_waste'; code := 'BL035';
        message := format('only a waste battery can be %s; battery %s is "%s"', e.event, e.battery_id, st.status);
        RETURN;
    END IF;

    -- second life (Art. 77(7)): a move into repurposed or remanufactured that
    -- names a successor consumes the battery; the new passport is the successor's
    IF e.event = 'status_changed' AND e.data ? 'successor' THEN
        SELECT * INTO problem, code, message, detail, hint FROM @extschema@._consume_verdict(e, writer);
        RETURN;
    END IF;
    -- passports: issued when placed on the market and on each move into re-use,
    -- repurposing, remanufacturing; an id belongs to its holder, the first
    -- event issuing it that its namespace allows (pp23)
    IF e.event = 'placed_on_market' OR (e.event = 'status_changed' AND e.new_status IN ('re-used', 'repurposed', 'remanufactured')) THEN
        IF e.passport_id IS NULL THEN
            problem := 'passport_missing'; code := 'BL038';
            message := format('"%s" must issue a new passport', e.event);
            hint := 'Set passport_id to the new passport''s identifier.';
            RETURN;
        END IF;
        -- an id in another member's namespace, issued after its
        -- registration: the writer refuses it (BL044, as a model id), and a
        -- row written past the rules holds nothing, however dated (an
        -- equivocation).  The writer's row is dated at its statement's start.
        -- (An id in no namespace, most, skips the lookups; the claims are
        -- read once, for this and the holder, _key_owners() only to say whose)
        pkey := @extschema@._text_id_key(e.passport_id);
        IF pkey IS NOT NULL THEN
            SELECT c.members, c.since INTO cm, cs FROM @extschema@._key_claims(pkey) c;
        END IF;
        IF cm IS NOT NULL
           AND NOT @extschema@._key_claim_allows(cm, cs, member, CASE WHEN writer THEN statement_timestamp() ELSE e.ledger_at END) THEN
            SELECT * INTO ns FROM @extschema@._key_owners(pkey, CASE WHEN writer THEN statement_timestamp() ELSE e.ledger_at END);
            problem := 'passport_foreign_namespace'; code := 'BL044';
            message := format('passport id "%s" is in the namespace of member "%s"', e.passport_id, array_to_string(ns.members, '", "'));
            detail := format('Namespace %s is registered to "%s": a passport id of the form gs1:01/<GTIN>/21/<serial> or iso15459:<IAC>/<CIN>/... is its members'' to issue.',
                             array_to_string(ns.namespaces, ', '), array_to_string(ns.members, '", "'));
            hint := 'Use a passport id of a namespace registered to you (battledger.id_namespace).';
            RETURN;
        END IF;
        -- the id's holder (_passport_holder_by()): one probe of
        -- battery_event_passport_holder for an id in no namespace (a few for
        -- a namespaced one).  An EXISTS of any earlier one walked every row
        -- naming the id that is not earlier, so rows naming it dated ahead
        -- made each fold cost their number (red team r10, F2).  Registry
        -- order numbers rows per chain, so two batteries' rows of one member
        -- can share (ledger_at, ledger_origin, ledger_seq): battery_id breaks
        -- the tie, by its own btree order (bytes, no collation), so every
        -- member finds the same single holder (red team r11, T1: both held
        -- the id)
        IF cm IS NULL THEN
            -- (_passport_holder_by() for an id in no namespace, most of
            -- them, written out: a call costs more than the probe)
            SELECT o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id INTO held
              FROM @extschema@.battery_event o
             WHERE o.passport_id = e.passport_id
               AND (o.event = 'placed_on_market'
                    OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
             ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id LIMIT 1;
        ELSE
            SELECT * INTO held FROM @extschema@._passport_holder_by(e.passport_id, cm, cs);
        END IF;
        IF (writer AND held.ledger_at IS NOT NULL)   -- the writer's row is not stored yet: any holder is earlier
           -- e is stored and allowed: the holder is e, or an earlier row
           OR (NOT writer AND NOT coalesce((held.ledger_at, held.ledger_origin, held.ledger_seq) = (e.ledger_at, e.ledger_origin, e.ledger_seq)
                                           AND held.battery_id OPERATOR(@extschema@.=) e.battery_id, false)) THEN
            problem := 'passport_taken'; code := 'BL038';
            message := format('passport "%s" already exists', e.passport_id);
        END IF;
    ELSIF e.passport_id IS NOT NULL THEN
        problem := 'passport_not_issued'; code := 'BL038';
        message := format('"%s" does not issue a passport', e.event);
    END IF;
END $$;

-- The events that decide a battery's state.
CREATE FUNCTION @extschema@._is_lifecycle(event text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                     'handover', 'handover_accepted')
$$;

-----------------------------------------------------------------------------
-- Second life and composition (Art. 77(7); docs/registry.md, "Second life
-- and composition").  Repurposing or remanufacturing makes a new battery with
-- its own identifier and passport:
--   * the holder of each original battery (its custodian) moves it into
--     repurposed or remanufactured with data {"successor": id}: the battery is
--     consumed, moves no more, and keeps its passport, which now links to the
--     successor.  It is a lifecycle event of the original battery, judged by
--     its fold like any move: custody, the state machine, consumed once;
--   * the same member then manufactures the successor with data
--     {"predecessors": [id, ...]} (its own model: category, rated values,
--     carbon footprint).  A claim counts only if the predecessor's own history
--     has its consumption into this successor, by this member, before the
--     manufacture in registry order: so nobody claims a battery it did not
--     consume, and no cycle can form (each consumption follows its battery's
--     manufacture, each confirmed manufacture follows its consumptions).
-- Composition: a pack (or module) lists its modules or cells in its
-- "manufactured" event, data {"components": [id, ...]}; each must be a battery
-- of the registry, manufactured before the pack, held by the pack's maker when
-- the pack is made, and in no earlier pack.
-- The writer refuses what it can see; every member judges the claims from the
-- rows alone (_second_life_claims()), so members holding the same rows agree,
-- and registry_conflicts() names every claim that is not confirmed.
-----------------------------------------------------------------------------

-- claims are found by value: which manufacture names a battery, which move a successor
CREATE INDEX battery_event_second_life ON @extschema@.battery_event USING gin (data jsonb_path_ops)
    WHERE event IN ('manufactured', 'status_changed') AND data IS NOT NULL;

-- A battery identifier given as text, or NULL if it is none: rows of a member
-- that bypassed its rules may hold anything, and no reader may fail on them.
CREATE FUNCTION @extschema@._battery_id_or_null(id text) RETURNS @extschema@.battery_id
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN id::@extschema@.battery_id;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END $$;

-- The verdict on a consuming move (status_changed naming a successor), from
-- the event alone; the fold has already checked custody and the state machine.
CREATE FUNCTION @extschema@._consume_verdict(e @extschema@.battery_event, writer boolean,
                                             OUT problem text, OUT code text, OUT message text, OUT detail text, OUT hint text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s @extschema@.battery_id := @extschema@._battery_id_or_null(e.data->>'successor');
BEGIN
    IF e.new_status NOT IN ('repurposed', 'remanufactured') THEN
        problem := 'bad_successor'; code := 'BL035';
        message := format('a move into "%s" names no successor', e.new_status);
        detail := 'Only repurposing and remanufacturing make a new battery (Art. 77(7)); re-use keeps the battery.';
    ELSIF jsonb_typeof(e.data->'successor') IS DISTINCT FROM 'string' OR s IS NULL OR s::text <> e.data->>'successor' THEN
        problem := 'bad_successor'; code := 'BL031';
        message := format('the successor %s is not a battery identifier in canonical form', e.data->'successor');
        hint := 'Give the new battery''s identifier as battledger prints it, e.g. "gs1:01/09521234567899/21/S1".';
    ELSIF s OPERATOR(@extschema@.=) e.battery_id THEN
        problem := 'bad_successor'; code := 'BL031';
        message := format('battery %s cannot be its own successor', e.battery_id);
    ELSIF e.passport_id IS NOT NULL THEN
        problem := 'passport_not_issued'; code := 'BL038';
        message := 'a move that consumes a battery issues no passport';
        detail := format('The new passport is the successor''s: battery %s issues it when placed on the market.', s);
    ELSIF writer AND EXISTS (SELECT 1 FROM @extschema@.battery_event x
                              WHERE x.battery_id OPERATOR(@extschema@.=) s AND x.event = 'manufactured') THEN
        -- its manufacture would precede the consumption in registry order: it could never name this battery
        problem := 'successor_exists'; code := 'BL036';
        message := format('battery %s already exists', s);
        detail := 'A successor is a new battery: consume the originals first, then manufacture it naming them as predecessors.';
    END IF;
END $$;

-- The move that consumed a battery into its successor (the effective one, in registry order), if any.
CREATE FUNCTION @extschema@._battery_consumption(battery @extschema@.battery_id,
                                                 OUT successor text, OUT signer text, OUT new_status text,
                                                 OUT ledger_at timestamptz, OUT ledger_origin text, OUT ledger_seq bigint,
                                                 OUT occurred_at timestamptz, OUT restricted @extschema@.hash256)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- the battery's status changes by its own index, then their data (OFFSET
    -- 0: see _second_life_claims())
    IF NOT EXISTS (SELECT 1 FROM (SELECT e.data FROM @extschema@.battery_event e
                                   WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'status_changed'
                                  OFFSET 0) moved
                    WHERE moved.data ? 'successor') THEN
        RETURN;     -- the common case: no fold needed
    END IF;
    SELECT e.data->>'successor', l.signer, e.new_status, e.ledger_at, e.ledger_origin, e.ledger_seq, e.occurred_at, e.restricted
      INTO successor, signer, new_status, ledger_at, ledger_origin, ledger_seq, occurred_at, restricted
      FROM @extschema@.battery_lifecycle(battery) l
      JOIN @extschema@.battery_event e ON e.battery_id OPERATOR(@extschema@.=) battery
                                      AND e.ledger_origin = l.ledger_origin AND e.ledger_seq = l.ledger_seq
     WHERE l.effective AND l.event = 'status_changed' AND e.data ? 'successor'
     ORDER BY l.ledger_at, l.ledger_origin, l.ledger_seq LIMIT 1;
END $$;

CREATE FUNCTION @extschema@._battery_successor(battery @extschema@.battery_id) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (@extschema@._battery_consumption(battery)).successor;
END $$;

-- Did 'maker' hold battery c (manufactured, its custodian) before the
-- registry position (at, origin)?  Rows of two chains are compared by
-- (ledger_at, ledger_origin) alone: ledger_seq counts within one chain, so
-- two rows of one statement have no order, and neither comes first.
CREATE FUNCTION @extschema@._held_before(c @extschema@.battery_id, maker text, at timestamptz, origin text)
    RETURNS boolean LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    l record;
BEGIN
    SELECT x.manufactured, x.custodian INTO l FROM @extschema@.battery_lifecycle(c) x
     WHERE (x.ledger_at, x.ledger_origin) < (at, origin)
     ORDER BY x.ledger_at DESC, x.ledger_origin DESC, x.ledger_seq DESC LIMIT 1;
    RETURN coalesce(l.manufactured AND l.custodian = maker, false);
END $$;

-- The effective manufacture of a battery (the first in registry order that the fold accepts).
-- Before a battery's first effective manufacture every lifecycle event is
-- ineffective (not_manufactured, or refused before it: unknown event, role)
-- and leaves the fold's state as it starts, so the fold's verdict on each
-- manufactured row up to it is _battery_verdict()'s on the initial state:
-- the first row it accepts is the fold's, found without folding the life.
-- passport(), recycled_content() and material_provenance() read it (red team
-- r20, F1: they read the first manufactured row, an ineffective one when a
-- member squatted the battery under another maker's namespace)
CREATE FUNCTION @extschema@._effective_manufacture(battery @extschema@.battery_id)
    RETURNS @extschema@.battery_event LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r @extschema@.battery_event;
    s record;
    v record;
    since timestamptz := @extschema@._custody_from();
    c @extschema@.battery_fold_cache;
BEGIN
    -- the owner's callers (passport(), recycled_content(),
    -- material_provenance()) read its key from the battery-state cache where
    -- it holds: a member appending thousands of ineffective manufactures
    -- dated before it made each passport judge them all (500 ms at 2,000)
    IF NOT pg_is_in_recovery()
       AND has_function_privilege('@extschema@._battery_fold_cached(@extschema@.battery_id, bigint)', 'EXECUTE') THEN
        c := @extschema@._battery_fold_cached(battery);
        SELECT e.* INTO r FROM @extschema@.battery_event e
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.ledger_origin = c.made_origin AND e.ledger_seq = c.made_seq;
        RETURN CASE WHEN r.battery_id IS NULL THEN NULL ELSE r END;
    END IF;
    FOR r IN SELECT e.* FROM @extschema@.battery_event e
              WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
              ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LOOP
        SELECT * INTO s FROM @extschema@._signer_at(r.ledger_key_id, r.ledger_at);
        CONTINUE WHEN s.member IS NULL;         -- unknown_key: ineffective
        SELECT * INTO v FROM @extschema@._battery_verdict(r, s.member, s.roles,
                                                          ROW(false, NULL, NULL, NULL, NULL, NULL)::@extschema@.battery_fold_state,
                                                          r.ledger_at >= since, false);
        IF v.problem IS NULL THEN
            RETURN r;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

-- Each predecessor and component a battery's (effective) manufacture names,
-- and whether the rows confirm it; the same on every member holding the same rows.
-- (gin_fuzzy_search_limit pinned to 0: claims found through GIN, _lot_ledger()'s header)
CREATE FUNCTION @extschema@._second_life_claims(battery @extschema@.battery_id)
    RETURNS TABLE (claim text, id text, confirmed boolean, race boolean, maker text,
                   ledger_at timestamptz, ledger_origin text, ledger_seq bigint)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET gin_fuzzy_search_limit = 0 AS $$
DECLARE
    m @extschema@.battery_event;
    x text;
    b @extschema@.battery_id;
    c record;
    k @extschema@.battery_event;
BEGIN
    -- most batteries claim nothing: no fold for them (passports call this).
    -- The battery's manufactured rows by its own index, then their data
    -- (OFFSET 0 keeps the test out of the scan): offered the data test, the
    -- planner could AND in the second-life GIN index, whose "data IS NOT
    -- NULL" part reads an entry for every battery of the registry (it did at
    -- 2,000 batteries: 0.4 ms a call, twice a passport; at 20,000 it chose
    -- otherwise; issue 15)
    IF NOT EXISTS (SELECT 1 FROM (SELECT e.data FROM @extschema@.battery_event e
                                   WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
                                  OFFSET 0) made
                    WHERE made.data ? 'predecessors' OR made.data ? 'components') THEN
        RETURN;
    END IF;
    m := @extschema@._effective_manufacture(battery);
    IF m.battery_id IS NULL OR m.data IS NULL THEN
        RETURN;
    END IF;
    maker := (@extschema@._signer(m.ledger_key_id)).member;
    ledger_at := m.ledger_at; ledger_origin := m.ledger_origin; ledger_seq := m.ledger_seq;
    IF jsonb_typeof(m.data->'predecessors') = 'array' THEN
        FOR x IN SELECT DISTINCT p #>> '{}' FROM jsonb_array_elements(m.data->'predecessors') p LOOP
            claim := 'predecessor'; id := x; race := false;
            b := @extschema@._battery_id_or_null(x);
            SELECT * INTO c FROM @extschema@._battery_consumption(b);
            -- (two chains: compared by (ledger_at, ledger_origin) alone, see _held_before)
            confirmed := coalesce(b IS NOT NULL AND c.successor = battery::text AND c.signer = maker
                                  AND (c.ledger_at, c.ledger_origin) < (m.ledger_at, m.ledger_origin), false);
            IF NOT confirmed THEN
                -- lost a race no single member could see: the maker's own consumption
                -- into this battery, written before custody, judged ineffective
                race := EXISTS (SELECT 1 FROM @extschema@.battery_lifecycle(b) l
                                  JOIN @extschema@.battery_event e ON e.battery_id OPERATOR(@extschema@.=) b
                                   AND e.ledger_origin = l.ledger_origin AND e.ledger_seq = l.ledger_seq
                                 WHERE NOT l.effective AND NOT l.custody AND l.signer = maker
                                   AND e.data->>'successor' = battery::text);
            END IF;
            RETURN NEXT;
        END LOOP;
    END IF;
    IF jsonb_typeof(m.data->'components') = 'array' THEN
        FOR x IN SELECT DISTINCT p #>> '{}' FROM jsonb_array_elements(m.data->'components') p LOOP
            claim := 'component'; id := x; race := m.ledger_at < @extschema@._custody_from();
            b := @extschema@._battery_id_or_null(x);
            confirmed := coalesce(b IS NOT NULL AND NOT b OPERATOR(@extschema@.=) battery
                                  AND @extschema@._held_before(b, maker, m.ledger_at, m.ledger_origin), false);
            IF confirmed THEN
                -- in no earlier pack whose maker held it then
                FOR k IN SELECT e.* FROM @extschema@.battery_event e
                          WHERE e.event = 'manufactured' AND e.data @> jsonb_build_object('components', jsonb_build_array(x))
                            AND NOT e.battery_id OPERATOR(@extschema@.=) battery
                            -- the first claim wins; ties (one statement) broken by battery id,
                            -- in battery_id's own order (bytes): as text it took the
                            -- database's collation, and members with other locales
                            -- confirmed another pack
                            AND ((e.ledger_at, e.ledger_origin) < (m.ledger_at, m.ledger_origin)
                                 OR ((e.ledger_at, e.ledger_origin) = (m.ledger_at, m.ledger_origin)
                                     AND e.battery_id OPERATOR(@extschema@.<) battery))
                          ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LOOP
                    IF (@extschema@._effective_manufacture(k.battery_id)).ledger_hash OPERATOR(@extschema@.=) k.ledger_hash
                       AND @extschema@._held_before(b, (@extschema@._signer(k.ledger_key_id)).member, k.ledger_at, k.ledger_origin) THEN
                        confirmed := false;
                        EXIT;
                    END IF;
                END LOOP;
            END IF;
            RETURN NEXT;
        END LOOP;
    END IF;
END $$;

-- The writer's checks on a manufacture naming predecessors or components
-- (called by _battery_rules): what the claims must be when written.  True if
-- they hold; false if they do not and n is not signed (_refuse_row), for the
-- chain trigger to refuse; a signed n that breaks them gets the verdict.
-- (gin_fuzzy_search_limit pinned to 0: components found through GIN, _lot_ledger()'s header)
CREATE FUNCTION @extschema@._check_second_life(n @extschema@.battery_event, member text) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET gin_fuzzy_search_limit = 0 AS $$
DECLARE
    what text;
    list jsonb;
    x text;
    b @extschema@.battery_id;
    c record;
    st record;
    k @extschema@.battery_id;
    here text := coalesce(current_setting('battledger.origin', true), '');   -- this member's ledger_origin
BEGIN
    FOREACH what IN ARRAY ARRAY['predecessors', 'components'] LOOP
        list := n.data->what;
        CONTINUE WHEN list IS NULL;
        IF jsonb_typeof(list) <> 'array' OR jsonb_array_length(list) = 0
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(list) p
                       WHERE jsonb_typeof(p) <> 'string'
                          OR @extschema@._battery_id_or_null(p #>> '{}') IS NULL
                          OR @extschema@._battery_id_or_null(p #>> '{}')::text <> p #>> '{}')
           OR (SELECT count(DISTINCT p) <> count(*) FROM jsonb_array_elements(list) p) THEN
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL031', format('malformed %s of battery %s', what, n.battery_id),
                format('"%s" must be a non-empty array of distinct battery identifiers in canonical form.', what),
                'e.g. ["gs1:01/09521234567899/21/B0025"]');
            RETURN false;
        END IF;
        IF list ? n.battery_id::text THEN
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL031', format('battery %s cannot be one of its own %s', n.battery_id, what));
            RETURN false;
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements_text(n.data->'components') p WHERE n.data->'predecessors' ? p) THEN
        PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL031', 'a battery cannot be both a predecessor and a component',
            hint => 'A predecessor is consumed whole (repurposing); a component is built in by its holder.');
        RETURN false;
    END IF;
    -- lock every named battery, in one order, so two writers cannot deadlock
    PERFORM @extschema@._lock_subject('battery', p) FROM (
        SELECT DISTINCT p FROM (SELECT jsonb_array_elements_text(n.data->'predecessors') p
                                UNION ALL SELECT jsonb_array_elements_text(n.data->'components')) y ORDER BY 1) z;
    FOR x IN SELECT jsonb_array_elements_text(n.data->'predecessors') LOOP
        b := x::@extschema@.battery_id;
        SELECT * INTO c FROM @extschema@._battery_consumption(b);
        IF c.successor IS NOT DISTINCT FROM n.battery_id::text AND c.signer IS NOT DISTINCT FROM member
           AND NOT (c.ledger_at, c.ledger_origin) < (statement_timestamp(), here) THEN
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL036', format('the consumption of battery %s does not precede this manufacture', b),
                format('It is dated %s; registry order must put it before the successor''s manufacture on every member.', c.ledger_at),
                'Write the consumption and the manufacture in separate statements; check the server''s clock (NTP).');
            RETURN false;
        END IF;
        IF c.successor IS DISTINCT FROM n.battery_id::text OR c.signer IS DISTINCT FROM member THEN
            SELECT * INTO st FROM @extschema@.battery_state(b);
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL043', format('battery %s was not consumed into battery %s by member "%s"', b, n.battery_id, member),
                CASE WHEN NOT st.manufactured THEN 'It is not in the registry.'
                     WHEN c.successor IS NOT NULL THEN format('It was %s into battery %s by "%s".', c.new_status, c.successor, c.signer)
                     ELSE format('Its status is %s; its custodian is %s.', coalesce(st.status, 'none (not on the market)'),
                                 coalesce('"' || st.custodian || '"', 'nobody (a handover is pending)')) END,
                format('Its holder records "status_changed" into repurposed or remanufactured with data {"successor": "%s"} first.', n.battery_id));
            RETURN false;
        END IF;
    END LOOP;
    FOR x IN SELECT jsonb_array_elements_text(n.data->'components') LOOP
        b := x::@extschema@.battery_id;
        SELECT * INTO st FROM @extschema@.battery_state(b);
        IF NOT st.manufactured THEN
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL036', format('component %s is not in the registry', b),
                hint => 'Its maker records its "manufactured" event first.');
            RETURN false;
        ELSIF st.custodian IS DISTINCT FROM member THEN
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL043', format('member "%s" does not hold component %s', member, b),
                format('Its custodian is %s.', coalesce('"' || st.custodian || '"', 'nobody (a handover is pending)')),
                'Its holder hands it over ("handover") and the pack''s maker accepts it first.');
            RETURN false;
        ELSIF EXISTS (SELECT 1 FROM @extschema@.battery_lifecycle(b) l
                       WHERE NOT (l.ledger_at, l.ledger_origin) < (statement_timestamp(), here)) THEN
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL036', format('the history of component %s does not precede this manufacture', b),
                'Registry order must put the component''s manufacture and custody before the pack''s on every member.',
                'Write them in separate statements; check the server''s clock (NTP).');
            RETURN false;
        END IF;
        SELECT e.battery_id INTO k FROM @extschema@.battery_event e
         WHERE e.event = 'manufactured' AND e.data @> jsonb_build_object('components', jsonb_build_array(x))
           AND EXISTS (SELECT 1 FROM @extschema@._second_life_claims(e.battery_id) cl WHERE cl.claim = 'component' AND cl.id = x AND cl.confirmed)
         LIMIT 1;
        IF k IS NOT NULL THEN
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL036', format('component %s is already part of battery %s', b, k));
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END $$;

-- Every manufacture's claim the rows do not confirm (for registry_conflicts()).
CREATE FUNCTION @extschema@._second_life_conflicts()
    RETURNS TABLE (battery_id @extschema@.battery_id, ledger_origin text, ledger_seq bigint, event text, signer text,
                   problem text, kind text, message text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    SELECT b.battery_id, c.ledger_origin, c.ledger_seq, 'manufactured'::text, c.maker, c.claim || '_unconfirmed',
           CASE WHEN c.race THEN 'conflict' ELSE 'equivocation' END,
           format('battery %s names %s as %s, which its history does not confirm', b.battery_id, c.id, c.claim)
      FROM (SELECT DISTINCT e.battery_id FROM @extschema@.battery_event e
             WHERE e.event = 'manufactured' AND (e.data ? 'predecessors' OR e.data ? 'components')) b,
           @extschema@._second_life_claims(b.battery_id) c
     WHERE NOT c.confirmed
    UNION ALL
    -- a battery consumed into one that already existed: no manufacture can confirm it
    SELECT b.battery_id, c.ledger_origin, c.ledger_seq, 'status_changed'::text, c.signer, 'successor_exists', 'equivocation',
           format('battery %s was consumed into battery %s, which already existed', b.battery_id, c.successor)
      FROM (SELECT DISTINCT e.battery_id FROM @extschema@.battery_event e
             WHERE e.event = 'status_changed' AND e.data ? 'successor') b,
           @extschema@._battery_consumption(b.battery_id) c,
           @extschema@._effective_manufacture(@extschema@._battery_id_or_null(c.successor)) m
     WHERE NOT (m.ledger_at, m.ledger_origin) > (c.ledger_at, c.ledger_origin)
     ORDER BY 1, 2, 3;
END $$;

-- _battery_fold(battery, st, after_at, after_origin, after_seq): the fold of
-- battery_lifecycle(), from state st, over the lifecycle events after the
-- given registry-order key (all of them when after_at is NULL); also the
-- passport id each event names (the writer's cache kept them until 0.11.0:
-- passport_holder_moved) and the successor reached (second life), for the
-- writer's cache of the state.
CREATE FUNCTION @extschema@._battery_fold(battery @extschema@.battery_id, st @extschema@.battery_fold_state,
                                          after_at timestamptz, after_origin text, after_seq bigint)
    RETURNS TABLE (ledger_at timestamptz, ledger_origin text, ledger_seq bigint, event text, signer text,
                   effective boolean, problem text, message text, custody boolean,
                   status text, passport_id text, custodian text, handover_to text, manufactured boolean,
                   named_passport text, fold_successor text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    e @extschema@.battery_event;
    s record;
    v record;
    since timestamptz := @extschema@._custody_from();
BEGIN
    FOR e IN SELECT * FROM @extschema@.battery_event x
              WHERE x.battery_id OPERATOR(@extschema@.=) battery
                AND x.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                                'handover', 'handover_accepted')
                AND (after_at IS NULL OR (x.ledger_at, x.ledger_origin, x.ledger_seq) > (after_at, after_origin, after_seq))
              ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LOOP
        SELECT * INTO s FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at);
        custody := e.ledger_at >= since;
        IF s.member IS NULL THEN
            -- (a record from SELECT ... INTO keeps the field names; a ROW() would not)
            SELECT 'unknown_key'::text AS problem, 'BL011'::text AS code, 'the event''s key is unknown here'::text AS message,
                   NULL::text AS detail, NULL::text AS hint INTO v;
        ELSE
            SELECT * INTO v FROM @extschema@._battery_verdict(e, s.member, s.roles, st, custody, false);
        END IF;
        effective := v.problem IS NULL;
        problem := v.problem;
        message := v.message;
        IF effective THEN
            CASE e.event
                WHEN 'manufactured' THEN st.manufactured := true; st.custodian := s.member;
                WHEN 'placed_on_market' THEN st.status := 'original'; st.passport_id := e.passport_id;
                WHEN 'status_changed' THEN st.status := e.new_status; st.passport_id := coalesce(e.passport_id, st.passport_id);
                                           st.successor := e.data->>'successor';   -- second life
                WHEN 'recycled' THEN st.status := 'recycled';
                WHEN 'handover' THEN st.handover_to := e.data->>'to'; st.custodian := NULL;
                WHEN 'handover_accepted' THEN st.custodian := s.member; st.handover_to := NULL;
                ELSE NULL;
            END CASE;
            -- before custody, whoever last moved the battery holds it
            IF NOT custody AND e.event IN ('placed_on_market', 'status_changed', 'dismantled', 'recycled') THEN
                st.custodian := s.member; st.handover_to := NULL;
            END IF;
        END IF;
        ledger_at := e.ledger_at; ledger_origin := e.ledger_origin; ledger_seq := e.ledger_seq;
        event := e.event; signer := s.member;
        status := st.status; passport_id := st.passport_id; custodian := st.custodian; handover_to := st.handover_to;
        manufactured := st.manufactured; named_passport := e.passport_id; fold_successor := st.successor;
        RETURN NEXT;
    END LOOP;
END $$;

-- battery_lifecycle(battery battery_id): each lifecycle event of the battery in
-- registry order, with the rules' verdict and the state reached after it.
CREATE FUNCTION @extschema@.battery_lifecycle(battery @extschema@.battery_id)
    RETURNS TABLE (ledger_at timestamptz, ledger_origin text, ledger_seq bigint, event text, signer text,
                   effective boolean, problem text, message text, custody boolean,
                   status text, passport_id text, custodian text, handover_to text, manufactured boolean)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT f.ledger_at, f.ledger_origin, f.ledger_seq, f.event, f.signer, f.effective, f.problem, f.message,
                        f.custody, f.status, f.passport_id, f.custodian, f.handover_to, f.manufactured
                   FROM @extschema@._battery_fold(battery, ROW(false, NULL, NULL, NULL, NULL, NULL), NULL, NULL, NULL) f;
END $$;

-- The state a battery's lifecycle events reached: status, current passport,
-- whether manufactured, who holds it.  From the rules' cache of the state
-- where it still holds (_battery_state_read(), below: the same state as the
-- whole fold, read-only), for the callers that may read every row the fold
-- reads; otherwise, and on a standby (which cannot read an unlogged table),
-- the whole fold as the caller.
CREATE FUNCTION @extschema@.battery_state(battery @extschema@.battery_id,
                                          OUT manufactured boolean, OUT status text, OUT passport_id text,
                                          OUT custodian text, OUT handover_to text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    l record;
    s @extschema@.battery_fold_state;
BEGIN
    IF NOT pg_is_in_recovery()
       AND has_function_privilege('@extschema@._battery_state_read(@extschema@.battery_id)', 'EXECUTE') THEN
        s := @extschema@._battery_state_read(battery);
        manufactured := s.manufactured; status := s.status; passport_id := s.passport_id;
        custodian := s.custodian; handover_to := s.handover_to;
        RETURN;
    END IF;
    manufactured := false;
    -- the state after the last lifecycle event
    FOR l IN SELECT * FROM @extschema@.battery_lifecycle(battery) LOOP
        manufactured := l.manufactured; status := l.status; passport_id := l.passport_id;
        custodian := l.custodian; handover_to := l.handover_to;
    END LOOP;
END $$;

-- The writer's cache of each battery's state (red team F8).  The rules
-- judge every insert on the state the battery's lifecycle events reached;
-- folding them all each time let a member that appends thousands of
-- ineffective lifecycle rows to a battery slow its honest writers.  The
-- cache keeps the state with what it was computed from, and is used only
-- while that still holds: the same lifecycle rows up to its last key (new
-- rows after it are folded on from the cached state), the same members,
-- keys, roles, namespaces and custody date, and the same first issuing
-- event of each passport id its events named (another battery's earlier
-- row naming one changes a verdict: passport_holder_moved, below).
-- Otherwise the battery is folded whole, as
-- battery_state() always does.  UNLOGGED: it can be rebuilt at any time.
CREATE UNLOGGED TABLE @extschema@.battery_fold_cache (
    battery_id    @extschema@.battery_id PRIMARY KEY,
    n             bigint NOT NULL,             -- lifecycle events folded
    last_at       timestamptz NOT NULL,        -- the last one's registry-order key
    last_origin   text NOT NULL,
    last_seq      bigint NOT NULL,
    generation    text NOT NULL,               -- _fold_generation() when folded
    st            @extschema@.battery_fold_state NOT NULL,
    handover_at     timestamptz,               -- the last effective handover's key
    handover_origin text,
    -- the last effective placed_on_market or status_changed (the operator
    -- responsible now, passport()): its key, signer and the status it left
    resp_origin   text,
    resp_seq      bigint,
    resp_signer   text,
    resp_status   text,
    -- lifecycle events when it was last folded whole: the apply worker folds
    -- a battery whole again only once it has grown by a quarter since
    -- (_battery_fold_arrived(), red team r9 F1)
    whole_n       bigint NOT NULL,
    -- passport_holder_moved rows of this battery (and of every battery),
    -- when folded: a new one voids it (red team r10, F5; until then the ids
    -- its events named and a SHA-256 of their first issuing events, one
    -- index probe per id at every check)
    holders_moved bigint NOT NULL,
    -- the effective moves that named a passport id, [[origin, seq], ...] in
    -- registry order: the passport's history (0.18.0; it listed every row
    -- naming an id, so a member moving a battery it did not hold wrote
    -- passports into its history on every member: red team r20, F2)
    issued        jsonb NOT NULL,
    -- the effective manufacture's key, for the passport (red team r20, F1:
    -- found by _effective_manufacture(), whose verdicts on rows before it
    -- a member could multiply)
    made_origin   text,
    made_seq      bigint,
    -- the members, keys and namespaces the fold read (fold_subject_changes,
    -- below: 'm:' member, 'k:' key id, 'n:' namespace; '*' every one of
    -- them) and the sum of their counts when folded: a change to any other
    -- leaves the cache standing (0.25.0; until then any member, key or
    -- namespace row voided every battery's cache, issue 15)
    deps          text[] NOT NULL,
    dep_sum       bigint NOT NULL
);
REVOKE ALL ON @extschema@.battery_fold_cache FROM PUBLIC;

-- How many rows the ledgers every battery's fold reads besides its own
-- events (members, keys, proofs, namespaces, host pins) have received: one
-- row, bumped by a row trigger on each in the inserting transaction (so that
-- it is read under the same snapshot as they are, and by the apply worker
-- too: ENABLE ALWAYS, and a row trigger, as the apply worker fires no
-- statement triggers).  Until 0.11.0 _fold_generation() counted their rows,
-- which made every check of a battery's cache (every arriving lifecycle row,
-- every battery_state() and passport()) scan them: a member adding keys by
-- the hundred thousand slowed every member's apply worker and readers by
-- milliseconds a row (G1 in docs/security.md).  Logged, unlike the cache: it
-- must not go back.  Since 0.25.0 changes is read only by the folds that
-- depend on every member and key ('*' in battery_fold_cache.deps: a passport
-- id in a namespace); the others read the counts of what they depend on
-- (fold_subject_changes).  resets voids every cache (_fold_generation()):
-- key_proof_rebuild(), and a TRUNCATE of host_pin, whose rows are gone
-- unnamed.
CREATE TABLE @extschema@.fold_inputs (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    changes bigint NOT NULL,
    resets  bigint NOT NULL DEFAULT 0
);
INSERT INTO @extschema@.fold_inputs VALUES (true, 0);
-- _fold_generation() runs as its caller, any role
GRANT SELECT ON @extschema@.fold_inputs TO PUBLIC;

-- How many rows naming each member, key and namespace those ledgers have
-- received (0.25.0, issue 15): 'm:' || member for member_event and host_pin
-- (its hosting, so which of its key and role rows count), 'k:' || key_id
-- for key_event and key_proof (which member the key signs for, when, and
-- whether a contest of it is settled), 'n:' || namespace for id_namespace.
-- A battery's fold reads, besides its own rows, only: its rows' keys and
-- the members every row of those keys names (the keys view), the roles of
-- the key's member (_signer_at()), the member a handover names, the
-- namespaces that could cover its id (_ns_candidates()) and their
-- registrants' hosting, and for a passport id in a namespace every key of
-- the namespace's members ('*').  The cache keeps those subjects and the sum
-- of their counts (they only grow, so an equal sum is unchanged counts): a
-- member joining, a key added or revoked, a namespace registered voids only
-- the folds that read them; until 0.25.0 each voided every battery's, so
-- that the first passport of most batteries after any of them refolded
-- the battery's whole life (0.5-0.8 ms at 2,358 reports).  Logged, as
-- fold_inputs; the owner's alone (the cache's readers run as the owner).
CREATE TABLE @extschema@.fold_subject_changes (
    subject text PRIMARY KEY,
    changes bigint NOT NULL
);
REVOKE ALL ON @extschema@.fold_subject_changes FROM PUBLIC;

-- _fold_ns_subject(namespace text): the fold_subject_changes subject a
-- registration of the namespace counts for, and that a battery whose id
-- it could cover reads: a gs1 namespace's first eight characters ('gs1:'
-- and four digits, the shortest the table's CHECK admits: every gs1
-- namespace covering an id shares them with the id's key), so that a
-- battery reads one subject, not one per prefix of its key; another its
-- own.  NULL for a gs1 namespace shorter than that, which only a
-- superuser writing past the CHECK stores: it voids every cache.
-- (PL/pgSQL: with its pinned search_path an SQL function is planned again
-- at every call, and _fold_deps() calls it for each prefix of a key)
CREATE FUNCTION @extschema@._fold_ns_subject(namespace text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN CASE WHEN NOT starts_with(namespace, 'gs1:') THEN 'n:' || namespace
                WHEN length(namespace) >= 8 THEN 'n:' || left(namespace, 8) END;
END $$;

-- _fold_inputs_changed(): trigger on member_event, key_event, key_proof,
-- id_namespace and host_pin.  As the owner: the writers (add_key(), the apply
-- worker's role) may not update fold_inputs themselves.  fold_inputs first,
-- then the subject's row: every transaction takes the locks in that order,
-- so two writers of members and keys wait for each other, never deadlock.
CREATE FUNCTION @extschema@._fold_inputs_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s text[];
BEGIN
    UPDATE @extschema@.fold_inputs SET changes = changes + 1;
    IF TG_LEVEL = 'STATEMENT' THEN
        -- (host_pin TRUNCATE: which members' pins went is not known)
        UPDATE @extschema@.fold_inputs SET resets = resets + 1;
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'member_event' THEN
        s := ARRAY['m:' || NEW.member];
    ELSIF TG_TABLE_NAME IN ('key_event', 'key_proof') THEN
        s := ARRAY['k:' || NEW.key_id::text];
    ELSIF TG_TABLE_NAME = 'id_namespace' THEN
        s := ARRAY[@extschema@._fold_ns_subject(NEW.namespace)];
        IF s[1] IS NULL THEN
            -- (a namespace the table's CHECK refuses, written past it)
            UPDATE @extschema@.fold_inputs SET resets = resets + 1;
            RETURN NULL;
        END IF;
    ELSIF TG_TABLE_NAME = 'host_pin' THEN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            s := ARRAY['m:' || OLD.member];
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            s := s || ('m:' || NEW.member);
        END IF;
    ELSE
        UPDATE @extschema@.fold_inputs SET resets = resets + 1;
        RETURN NULL;
    END IF;
    INSERT INTO @extschema@.fold_subject_changes AS f (subject, changes)
    SELECT DISTINCT x, 1 FROM unnest(s) x WHERE x IS NOT NULL ORDER BY 1
        ON CONFLICT (subject) DO UPDATE SET changes = f.changes + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.member_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.key_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.id_namespace
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
-- (a proof of possession can settle a contested key's member, 0.23.0)
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.key_proof
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
ALTER TABLE @extschema@.member_event ENABLE ALWAYS TRIGGER battledger_fold_inputs;
ALTER TABLE @extschema@.key_event ENABLE ALWAYS TRIGGER battledger_fold_inputs;
ALTER TABLE @extschema@.id_namespace ENABLE ALWAYS TRIGGER battledger_fold_inputs;
ALTER TABLE @extschema@.key_proof ENABLE ALWAYS TRIGGER battledger_fold_inputs;
-- (a member's pinned host decides which of its keys and roles count; a row
-- trigger since 0.25.0, so that a pin names its member)
CREATE TRIGGER battledger_fold_inputs AFTER INSERT OR UPDATE OR DELETE ON @extschema@.host_pin
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
CREATE TRIGGER battledger_fold_inputs_truncate AFTER TRUNCATE ON @extschema@.host_pin
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._fold_inputs_changed();
ALTER TABLE @extschema@.host_pin ENABLE ALWAYS TRIGGER battledger_fold_inputs;
ALTER TABLE @extschema@.host_pin ENABLE ALWAYS TRIGGER battledger_fold_inputs_truncate;

-- The batteries whose passport ids changed holder.  A battery's fold reads
-- one thing of other batteries' rows: the first issuing event of each
-- passport id its events named (_battery_verdict(): passport_taken).  Until
-- 0.11.0 each cache check probed the first issuing event of every id the
-- battery ever named: a member remanufacturing its own battery thousands of
-- times (a new id each) made each check cost their number, and the apply
-- worker's work grow with the square of its rows (red team r10, F5).  Now
-- the row that moves an id's holder says so: an issuing row before the id's
-- holder (its first issuing event that its namespace allows, pp23;
-- registry order, then battery_id, as in _battery_verdict()) leaves here
-- one row with the holder's battery, and
-- the cache holds while their number is the same (one index probe).  Only
-- the holder's verdict changes: an issuing event after the holder was
-- already taken, and one after the new row but before the holder cannot
-- exist (the holder was the first).  A row after the holder changes nothing
-- and leaves nothing (F2c).
-- Every writer of an issuing row takes the id's turn (_lock_subject(), at
-- READ COMMITTED) before reading its holder, and keeps it until commit: so
-- each sees the issuing rows of every earlier turn, the rows leave their
-- battery_id in the order the holders moved, and a cache folded under any
-- snapshot either saw a move or finds its row here.  A writer that cannot
-- take turns (not READ COMMITTED: an apply worker, should a database's
-- default_transaction_isolation say otherwise) leaves a row with no
-- battery_id, which voids every cache.  UNLOGGED, as the cache: a crash
-- empties both.
CREATE UNLOGGED TABLE @extschema@.passport_holder_moved (
    battery_id  @extschema@.battery_id,    -- NULL: every battery
    passport_id text NOT NULL
);
CREATE INDEX passport_holder_moved_battery ON @extschema@.passport_holder_moved (battery_id);
REVOKE ALL ON @extschema@.passport_holder_moved FROM PUBLIC;

-- _holders_moved(battery battery_id): the passport_holder_moved rows that
-- void its cache, counted under the caller's snapshot.
CREATE FUNCTION @extschema@._holders_moved(battery @extschema@.battery_id) RETURNS bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT count(*) FROM @extschema@.passport_holder_moved m WHERE m.battery_id OPERATOR(@extschema@.=) battery)
         + (SELECT count(*) FROM @extschema@.passport_holder_moved m WHERE m.battery_id IS NULL);
END $$;

-- What every battery's fold reads besides its own events and the members,
-- keys and namespaces it names (battery_fold_cache.deps: since 0.25.0 their
-- counts are checked per battery; fold_inputs.resets here voids every
-- cache); event_kind and status_role are
-- plain tables the owner may UPDATE (who may sign what), so a SHA-256 of
-- their contents goes in, not their row counts (red team hx2: an UPDATE left
-- the cache standing and the writer judged new rows on a state the whole
-- fold no longer reaches; not MD5, which a FIPS-mode OpenSSL refuses).  The custody date as epoch
-- seconds (no row: -infinity, as _custody_from() reads it): its text would
-- depend on the session's TimeZone and DateStyle.
-- PL/pgSQL, not SQL: a SQL function with SET options is planned again at
-- each call, and planning cost more than running it.
CREATE FUNCTION @extschema@._fold_generation() RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN concat_ws('/', extract(epoch FROM coalesce((SELECT r.since FROM @extschema@.registry_rule r WHERE r.rule = 'custody'), '-infinity')),
                     (SELECT f.resets FROM @extschema@.fold_inputs f),
                     (SELECT encode(sha256(convert_to(string_agg(concat_ws(':', ek.event, ek.subject, ek.roles), ',' ORDER BY ek.event), 'UTF8')), 'hex')
                        FROM @extschema@.event_kind ek),
                     (SELECT encode(sha256(convert_to(string_agg(concat_ws(':', sr.status, sr.roles), ',' ORDER BY sr.status), 'UTF8')), 'hex')
                        FROM @extschema@.status_role sr));
END $$;

-- _fold_deps(battery battery_id, deps text[], after_at timestamptz,
-- after_origin text, after_seq bigint): deps and what the battery's
-- lifecycle rows after the given registry-order key (all of them when
-- after_at is NULL) read besides the battery's rows, as subjects of
-- fold_subject_changes, sorted: each row's key and every member a row of
-- that key names (the keys view counts a key's rows by their members'
-- hosting, and a second member contests it), and so its signer, whose roles
-- _signer_at() reads; the member a handover names (it must exist); for a
-- manufacture, the namespaces that could cover the battery id
-- (_fold_ns_subject(): one subject for a gs1 id) and their
-- registrants, hosted or not yet (_id_owners(); a registration is hosted
-- once its member's adding row is in); '*' for a row naming a passport id
-- in a namespace, whose holder is the first issuing row signed by any key
-- of the namespace's members (_passport_holder_by()).  A row that would
-- add to these (a new key row of one of those keys, a new registration of
-- one of those namespaces) moves one of their counts itself.  More than 64
-- subjects are '*' alone (every member, key and namespace row moves its
-- count, fold_inputs.changes): a member writing past its rules could make a
-- key's rows name thousands of members, or a battery's handovers name
-- thousands, and each check of the cache sum their counts; '*' is one
-- probe, and voids the cache as every change did until 0.25.0.
CREATE FUNCTION @extschema@._fold_deps(battery @extschema@.battery_id, deps text[],
                                       after_at timestamptz, after_origin text, after_seq bigint)
    RETURNS text[] LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    res text[];
BEGIN
    IF deps = '{*}' THEN
        RETURN deps;
    END IF;
    res := (WITH r AS MATERIALIZED (
        SELECT x.ledger_key_id, x.event, x.passport_id, x.data->>'to' AS handed_to
          FROM @extschema@.battery_event x
         WHERE x.battery_id OPERATOR(@extschema@.=) battery
           AND x.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                           'handover', 'handover_accepted')
           AND (after_at IS NULL OR (x.ledger_at, x.ledger_origin, x.ledger_seq) > (after_at, after_origin, after_seq))),
    k AS (SELECT DISTINCT r.ledger_key_id FROM r),
    ns AS (SELECT unnest(@extschema@._ns_candidates(@extschema@._id_key(battery))) AS namespace
            WHERE EXISTS (SELECT FROM r WHERE r.event = 'manufactured'))
    SELECT coalesce(array_agg(DISTINCT d ORDER BY d) FILTER (WHERE d IS NOT NULL), '{}') FROM (
        SELECT unnest(deps) AS d
        UNION ALL SELECT 'k:' || k.ledger_key_id::text FROM k
        UNION ALL SELECT 'm:' || ke.member FROM k JOIN @extschema@.key_event ke ON ke.key_id OPERATOR(@extschema@.=) k.ledger_key_id
        UNION ALL SELECT 'm:' || r.handed_to FROM r WHERE r.event = 'handover' AND r.handed_to IS NOT NULL
        UNION ALL SELECT @extschema@._fold_ns_subject(ns.namespace) FROM ns
        UNION ALL SELECT 'm:' || n.member FROM ns JOIN @extschema@.id_namespace n ON n.namespace = ns.namespace
        UNION ALL SELECT '*' FROM r WHERE r.passport_id IS NOT NULL AND @extschema@._text_id_key(r.passport_id) IS NOT NULL) x);
    RETURN CASE WHEN cardinality(res) > 64 THEN '{*}' ELSE res END;
END $$;

-- _fold_dep_sum(deps text[]): the sum of the counts of those subjects now
-- (fold_subject_changes; fold_inputs.changes for '*').  The counts only
-- grow, so the sum is the same only if none of them moved.  PL/pgSQL: an
-- SQL function with SET options is planned again at every call.
CREATE FUNCTION @extschema@._fold_dep_sum(deps text[]) RETURNS bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN coalesce((SELECT sum(f.changes) FROM unnest(deps) d(subject)
                       JOIN @extschema@.fold_subject_changes f ON f.subject = d.subject), 0)::bigint
         + CASE WHEN '*' = ANY (deps) THEN (SELECT f.changes FROM @extschema@.fold_inputs f) ELSE 0 END;
END $$;

-- _battery_fold_cached(battery battery_id, whole_from bigint DEFAULT 0): the
-- cache row a battery's state comes to, from the stored one where it still
-- holds (see above): the same generation, the same counts of the members,
-- keys and namespaces it read (deps), the same passport holders, the same
-- rows up to its horizon.  The rows folded on add what they read to deps
-- (_fold_deps()).  STABLE, so that the check, the fold and the counts
-- stored with it all read one snapshot: a row committed in between must not
-- be folded in yet counted as seen, or seen yet not folded (the red team's
-- finding C).  Where the stored row does not hold and the battery has fewer
-- than whole_from lifecycle events, NULL: not folded (the apply worker's
-- bound on whole folds, _battery_fold_arrived()).
-- (generic plans: the check's sum over the subjects of c.deps was planned
-- again at every call, 155 against 6 us for the rest of the condition, as
-- its custom plan looked cheaper than the generic one; every statement here
-- probes by key, which a generic plan does as well)
CREATE FUNCTION @extschema@._battery_fold_cached(battery @extschema@.battery_id, whole_from bigint DEFAULT 0)
    RETURNS @extschema@.battery_fold_cache
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    c @extschema@.battery_fold_cache;
    gen text := @extschema@._fold_generation();
    st @extschema@.battery_fold_state := ROW(false, NULL, NULL, NULL, NULL, NULL);
    n bigint := 0;
    la timestamptz;
    lo text;
    ls bigint;
    l record;
    ha timestamptz;
    ho text;
    ro text;
    rs bigint;
    rsig text;
    rst text;
    wn bigint;
    moved bigint := @extschema@._holders_moved(battery);
    iss jsonb := '[]';
    mo text;
    ms bigint;
    deps text[];
    dsum bigint;
    grow boolean := false;
    la0 timestamptz;
    lo0 text;
    ls0 bigint;
BEGIN
    SELECT * INTO c FROM @extschema@.battery_fold_cache f WHERE f.battery_id OPERATOR(@extschema@.=) battery;
    IF c.battery_id IS NOT NULL AND c.generation = gen
       AND c.holders_moved = moved
       -- (_fold_dep_sum() written out: a call with its SET option costs
       -- more than the probes; a join to the array's elements, as
       -- "subject = ANY (deps)" was planned again at every call: 41
       -- against 12 us for 9 subjects)
       AND c.dep_sum = (coalesce((SELECT sum(f.changes) FROM unnest(c.deps) d(subject)
                                   JOIN @extschema@.fold_subject_changes f ON f.subject = d.subject), 0)
                        + CASE WHEN '*' = ANY (c.deps) THEN (SELECT f.changes FROM @extschema@.fold_inputs f) ELSE 0 END)
       AND c.n = (SELECT count(*) FROM @extschema@.battery_event x
                   WHERE x.battery_id OPERATOR(@extschema@.=) battery
                     AND x.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                                     'handover', 'handover_accepted')
                     AND (x.ledger_at, x.ledger_origin, x.ledger_seq) <= (c.last_at, c.last_origin, c.last_seq)) THEN
        st := c.st; n := c.n; la := c.last_at; lo := c.last_origin; ls := c.last_seq;
        ha := c.handover_at; ho := c.handover_origin;
        ro := c.resp_origin; rs := c.resp_seq; rsig := c.resp_signer; rst := c.resp_status;
        wn := c.whole_n; iss := c.issued; mo := c.made_origin; ms := c.made_seq;
        deps := c.deps; dsum := c.dep_sum;
    ELSIF whole_from > 0
          AND (SELECT count(*) FROM @extschema@.battery_event x
                WHERE x.battery_id OPERATOR(@extschema@.=) battery
                  AND x.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                                  'handover', 'handover_accepted')) < whole_from THEN
        RETURN NULL;
    END IF;
    la0 := la; lo0 := lo; ls0 := ls;
    FOR l IN SELECT * FROM @extschema@._battery_fold(battery, st, la, lo, ls) LOOP
        st := ROW(l.manufactured, l.status, l.passport_id, l.custodian, l.handover_to, l.fold_successor);
        n := n + 1; la := l.ledger_at; lo := l.ledger_origin; ls := l.ledger_seq;
        IF l.event = 'handover' AND l.effective THEN
            ha := l.ledger_at; ho := l.ledger_origin;
        END IF;
        IF l.event = 'manufactured' AND l.effective THEN
            mo := l.ledger_origin; ms := l.ledger_seq;
        END IF;
        IF l.event IN ('placed_on_market', 'status_changed') AND l.effective THEN
            ro := l.ledger_origin; rs := l.ledger_seq; rsig := l.signer; rst := l.status;
            IF l.named_passport IS NOT NULL THEN
                iss := iss || jsonb_build_array(jsonb_build_array(l.ledger_origin, l.ledger_seq));
            END IF;
        END IF;
        -- a row folded on from the cache: does it read anything deps does
        -- not name yet (a key not in it, a handover's member, a
        -- manufacture's namespaces, a passport id)?  One probe of the row
        -- here; _fold_deps() only then (136 us a row; most rows are signed
        -- by a key the battery's rows already used)
        IF deps IS NOT NULL AND NOT grow AND deps <> '{*}' THEN
            grow := coalesce((SELECT bool_or(NOT ('k:' || x.ledger_key_id::text) = ANY (deps)
                                             OR x.event = 'manufactured' OR x.passport_id IS NOT NULL
                                             OR (x.event = 'handover' AND NOT ('m:' || (x.data->>'to')) = ANY (deps)))
                                FROM @extschema@.battery_event x
                               WHERE x.battery_id OPERATOR(@extschema@.=) battery
                                 AND (x.ledger_at, x.ledger_origin, x.ledger_seq) = (l.ledger_at, l.ledger_origin, l.ledger_seq)), true);
        END IF;
    END LOOP;
    -- what the rows folded here read (all of them when nothing was cached)
    IF deps IS NULL OR grow THEN
        deps := @extschema@._fold_deps(battery, deps, la0, lo0, ls0);
        dsum := @extschema@._fold_dep_sum(deps);
    END IF;
    RETURN ROW(battery, n, la, lo, ls, gen, st, ha, ho,
               ro, rs, rsig, rst, coalesce(wn, n), moved, iss, mo, ms, deps, dsum);
END $$;

-- _battery_state_cached(battery battery_id, whole_from bigint DEFAULT 0):
-- battery_state() for the rules trigger, from the cache where it still
-- holds; stores what it came to (only the rule triggers, which run as the
-- extension's owner, call it).  NULL, nothing stored, where
-- _battery_fold_cached() did not fold (whole_from).
CREATE FUNCTION @extschema@._battery_state_cached(battery @extschema@.battery_id, whole_from bigint DEFAULT 0)
    RETURNS @extschema@.battery_fold_state
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    c @extschema@.battery_fold_cache;
    r @extschema@.battery_fold_cache := @extschema@._battery_fold_cached(battery, whole_from);
BEGIN
    SELECT * INTO c FROM @extschema@.battery_fold_cache f WHERE f.battery_id OPERATOR(@extschema@.=) battery;
    IF r.n > 0 AND r IS DISTINCT FROM c THEN
        INSERT INTO @extschema@.battery_fold_cache AS f SELECT r.*
        ON CONFLICT (battery_id) DO UPDATE
           SET n = EXCLUDED.n, last_at = EXCLUDED.last_at, last_origin = EXCLUDED.last_origin,
               last_seq = EXCLUDED.last_seq, generation = EXCLUDED.generation, st = EXCLUDED.st,
               handover_at = EXCLUDED.handover_at, handover_origin = EXCLUDED.handover_origin,
               resp_origin = EXCLUDED.resp_origin, resp_seq = EXCLUDED.resp_seq,
               resp_signer = EXCLUDED.resp_signer, resp_status = EXCLUDED.resp_status,
               whole_n = EXCLUDED.whole_n, holders_moved = EXCLUDED.holders_moved,
               issued = EXCLUDED.issued, made_origin = EXCLUDED.made_origin, made_seq = EXCLUDED.made_seq,
               deps = EXCLUDED.deps, dep_sum = EXCLUDED.dep_sum;
    END IF;
    RETURN r.st;
END $$;

-- _battery_state_read(battery battery_id): the state battery_state() reads,
-- from the rules' cache where it still holds (the rows after its horizon
-- folded on), the whole fold otherwise: the same state either way, and
-- nothing written (a STABLE reader, any role).  It runs as the owner, as the
-- cache is readable by no role; only the roles that may SELECT every row the
-- fold reads may execute it (99_privileges.sql), so it tells nobody anything
-- they could not fold themselves, and a caller chooses only which battery.
CREATE FUNCTION @extschema@._battery_state_read(battery @extschema@.battery_id)
    RETURNS @extschema@.battery_fold_state
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT (@extschema@._battery_fold_cached(battery)).st
$$;

-- A battery model belongs to the member that declared it first: the signer
-- (a known key) of the first row of its model_id in registry order.  Only
-- that member's rows are the model: any cell maker, pack maker or OEM may
-- sign a battery_model row, and one naming a competitor's model_id changed
-- the rated values, chemistry, carbon footprint and declared recycled
-- content in the passports of all the competitor's batteries of that model,
-- on every member, its rules followed (red team r20, F4).  As for operator
-- identifiers (operator_holder()): first in registry order, on every member.
-- A model id in a registered namespace (_text_id_key(): 'gs1:01/<GTIN-14>',
-- 'iso15459:<IAC>/<CIN>/<model>') is declared only by a member that
-- registered it: a row by anyone else dated after the registration is
-- never the first declaration (_key_claim_allows()).  Registry order
-- follows the writer's clock, so a member bypassing its rules could wait
-- for the maker's first row to arrive and write its own dated at its
-- statement's start, before it, and hold the id everywhere (red team r21,
-- F3; ns21).  Ids in no registered namespace, and rows dated before the
-- registration (models declared before it, 0.18.0's among them), keep the
-- first declarer.  Every row of the model is read and sorted as before;
-- the claims are read once per call, not per row (passport() calls it).
-- A row's signer is the member its key counts for (keys: a member that
-- exists, whose origin added the key): what _signer() reads, probed in the
-- query, not called per row (0.20.0: 12 of a namespaced model's 56 µs,
-- issue 15).
CREATE FUNCTION @extschema@._model_holder(model text) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    holder text;
BEGIN
    -- (the claims read in the same statement as the model's rows: one query
    -- less on every passport's path, 0.20.0; _key_claims(NULL) is NULLs)
    SELECT s.member INTO holder
      FROM @extschema@._key_claims(@extschema@._text_id_key(model)) c
     CROSS JOIN @extschema@.battery_model m
     CROSS JOIN LATERAL (SELECT k.member FROM @extschema@.keys k
                          WHERE k.key_id OPERATOR(@extschema@.=) m.ledger_key_id OFFSET 0) s
     WHERE m.model_id = model
       AND (c.members IS NULL OR @extschema@._key_claim_allows(c.members, c.since, s.member, m.ledger_at))
     ORDER BY m.ledger_at, m.ledger_origin, m.ledger_seq LIMIT 1;
    RETURN holder;
END $$;

-- _model_row(model): the model as its holder (_model_holder()) declared it
-- last: its latest row in registry order by a key added for the holder.
-- Another member's row of the model id, the latest, was read until 0.18.0
-- (red team r20, F4).  The one reader of it (0.21.0): passport() and
-- usage_derived() each wrote it out, the second with a _signer() call per
-- row; this is the cheaper form, one probe of keys per row, the
-- signer as _model_holder() reads it.  NULL: no row of the model by its
-- holder.  Runs as its caller; not PUBLIC's (it reads every column of
-- battery_model): the owner's functions and usage_derived() call it.
CREATE FUNCTION @extschema@._model_row(model text) RETURNS @extschema@.battery_model
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    holder text := @extschema@._model_holder(model);
    r @extschema@.battery_model;
BEGIN
    SELECT * INTO r FROM @extschema@.battery_model m WHERE m.model_id = model
       AND EXISTS (SELECT FROM @extschema@.keys k
                    WHERE k.key_id OPERATOR(@extschema@.=) m.ledger_key_id AND k.member = holder OFFSET 0)
     ORDER BY m.ledger_at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1;
    RETURN r;
END $$;
REVOKE ALL ON FUNCTION @extschema@._model_row(text) FROM PUBLIC;

-- registry_conflicts(): every event the rules judge ineffective, on every battery.
-- An 'equivocation' is an event the writer's own rules would have refused
-- (its member bypassed them); a 'conflict' is a race the rules could not see
-- from one member (two members issuing one passport id, moves before custody).
CREATE FUNCTION @extschema@.registry_conflicts()
    RETURNS TABLE (battery_id @extschema@.battery_id, ledger_origin text, ledger_seq bigint, event text,
                   signer text, problem text, kind text, message text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    -- a race two honest members can lose (one passport id, one battery made
    -- twice, moves before custody) is a conflict, and so is what the loser
    -- wrote on that battery after it, believing it had won
    SELECT c.battery_id, c.ledger_origin, c.ledger_seq, c.event, c.signer, c.problem,
           CASE WHEN c.race OR c.lost_before THEN 'conflict' ELSE 'equivocation' END, c.message
      FROM (SELECT b.battery_id, l.*, r.race,
                   coalesce(bool_or(NOT l.effective AND r.race) OVER (
                       PARTITION BY b.battery_id, l.signer ORDER BY l.ledger_at, l.ledger_origin, l.ledger_seq
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), false) AS lost_before
              FROM (SELECT DISTINCT e.battery_id FROM @extschema@.battery_event e
                     WHERE e.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                                       'handover', 'handover_accepted')) b,
                   @extschema@.battery_lifecycle(b.battery_id) l,
                   -- (a battery made under another maker's namespace is never an
                   -- honest race, whether or not the registration had arrived:
                   -- no maker uses another company's prefix)
                   LATERAL (SELECT l.problem IN ('passport_taken', 'manufactured_twice') OR NOT l.custody AS race) r) c
     WHERE NOT c.effective
    UNION ALL
    -- the other events commute; their role is all that decides
    SELECT e.battery_id, e.ledger_origin, e.ledger_seq, e.event, s.member,
           CASE WHEN k.event IS NULL THEN 'unknown_event' ELSE 'wrong_role' END, 'equivocation',
           format('member "%s" may not sign "%s"', s.member, e.event)
      FROM @extschema@.battery_event e
      CROSS JOIN LATERAL @extschema@._signer_at(e.ledger_key_id, e.ledger_at) s
      LEFT JOIN @extschema@.event_kind k ON k.event = e.event AND k.subject = 'battery'
     WHERE NOT @extschema@._is_lifecycle(e.event) AND s.member IS NOT NULL
       AND (k.event IS NULL OR NOT s.roles && k.roles)
    UNION ALL
    -- a passport id named by an event that does not issue one (the fold
    -- judges it for the other lifecycle events); since custody, the writer refuses it
    SELECT e.battery_id, e.ledger_origin, e.ledger_seq, e.event, s.member, 'passport_not_issued', 'equivocation',
           format('"%s" does not issue a passport, but names "%s"', e.event, e.passport_id)
      FROM @extschema@.battery_event e
      CROSS JOIN LATERAL @extschema@._signer(e.ledger_key_id) s
     WHERE e.passport_id IS NOT NULL AND s.member IS NOT NULL
       AND e.event NOT IN ('placed_on_market', 'status_changed', 'dismantled', 'recycled')
       AND e.ledger_at >= @extschema@._custody_from()
    UNION ALL
    -- two members claiming overlapping namespaces: where they overlap, neither
    -- excludes the other until the consortium settles it (both are named).
    -- Each registration once, with the first other member's registration
    -- it overlaps (one covering it, else one it covers): a row per pair
    -- made a member registering one namespace under a thousand members of
    -- its own (add_member(), add_id_namespace(): a WARNING each) cost every
    -- reader a million rows, 6 s here, and verify_member() as much, growing
    -- with the square (red team r24, D1).  Those covering it are among its
    -- prefixes (_ns_candidates(): the chain index, namespace first); those
    -- it covers are the longer GS1 prefixes it starts (an ISO/IEC 15459
    -- one overlaps only its equal), found in id_namespace_prefix ('0'-'9'
    -- sort before ';' in "C")
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member, 'namespace_contested', 'conflict',
           format('namespace "%s" of "%s" overlaps "%s" of "%s"', n.namespace, n.member, f.namespace, f.member)
      FROM @extschema@.id_namespace n
     CROSS JOIN LATERAL (
           (SELECT o.namespace, o.member FROM @extschema@.id_namespace o
             WHERE o.namespace = ANY (@extschema@._ns_candidates(n.namespace)) AND o.member <> n.member
               AND @extschema@._ns_covers(o.namespace, n.namespace) AND @extschema@._ns_hosted(o.member, o.ledger_origin)
             ORDER BY o.namespace, o.ledger_origin, o.ledger_seq LIMIT 1)
           UNION ALL
           (SELECT o.namespace, o.member FROM @extschema@.id_namespace o
             WHERE n.namespace LIKE 'gs1:%'
               AND (o.namespace COLLATE "C") > (n.namespace COLLATE "C") AND (o.namespace COLLATE "C") < ((n.namespace || ';') COLLATE "C")
               AND o.member <> n.member AND @extschema@._ns_hosted(o.member, o.ledger_origin)
             ORDER BY (o.namespace COLLATE "C") LIMIT 1)
           LIMIT 1) f
     WHERE @extschema@._ns_hosted(n.member, n.ledger_origin)
    UNION ALL
    -- a registration covering batteries another member made (a claim dated
    -- back over them, or made while their rows were on their way): named
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member, 'namespace_over_others', 'conflict',
           format('namespace "%s" of "%s" covers batteries "%s" made, e.g. %s', n.namespace, n.member, m.member, m.battery_id)
      FROM @extschema@.id_namespace n
      CROSS JOIN LATERAL (SELECT s.member, e.battery_id FROM @extschema@.battery_event e, @extschema@._signer(e.ledger_key_id) s
                           WHERE e.event = 'manufactured' AND s.member IS DISTINCT FROM n.member
                             AND @extschema@._ns_covers(n.namespace, @extschema@._id_key(e.battery_id))
                           ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1) m
     WHERE @extschema@._ns_hosted(n.member, n.ledger_origin)
    UNION ALL
    -- the same over models another member declared or lots it created (ns21
    -- put them in namespaces): a registration dated back over them (its at
    -- is the writer's) makes their rows ineffective on every member, which
    -- then named only the victim's rows, as foreign_namespace (red team
    -- r22, N2)
    -- (each namespaced id's key computed once and the registrations that
    -- can cover it probed by their few candidate prefixes, as _key_owners():
    -- not every model and lot per registration)
    SELECT NULL, o.ledger_origin, o.ledger_seq, 'id_namespace', o.member, 'namespace_over_others', 'conflict',
           format('namespace "%s" of "%s" covers %s "%s" made, e.g. %s', o.namespace, o.member, o.what, o.other, o.id)
      FROM (SELECT DISTINCT ON (n.namespace, n.member, n.ledger_origin, n.ledger_seq) n.namespace, n.member, n.ledger_origin, n.ledger_seq,
                   x.what, s.member AS other, x.id
              FROM (SELECT y.*, @extschema@._text_id_key(y.id) AS key
                      FROM (SELECT m.model_id AS id, 'models' AS what, m.ledger_key_id, m.ledger_at, m.ledger_origin, m.ledger_seq
                              FROM @extschema@.battery_model m
                            UNION ALL
                            SELECT l.lot_id, 'lots', l.ledger_key_id, l.ledger_at, l.ledger_origin, l.ledger_seq
                              FROM @extschema@.lot_event l
                             WHERE l.event IN ('extracted', 'processed', 'secondary_created')) y OFFSET 0) x
              JOIN @extschema@.id_namespace n
                ON n.namespace = ANY (@extschema@._ns_candidates(x.key))
               -- _ns_covers() and _signer() written out, as in _key_claims():
               -- SQL functions with a pinned search_path are planned on
               -- every call, here once per namespaced row
               AND CASE WHEN n.namespace LIKE 'gs1:%' THEN starts_with(x.key, n.namespace)
                        ELSE starts_with(x.key || '/', n.namespace || '/') END
              CROSS JOIN LATERAL (SELECT k.member FROM @extschema@.keys k
                                   WHERE k.key_id OPERATOR(@extschema@.=) x.ledger_key_id OFFSET 0) s
             WHERE x.key IS NOT NULL AND s.member IS NOT NULL AND s.member IS DISTINCT FROM n.member
             ORDER BY n.namespace, n.member, n.ledger_origin, n.ledger_seq, x.ledger_at, x.ledger_origin, x.ledger_seq
            OFFSET 0) o
     -- (after the DISTINCT: once per registration named)
     WHERE @extschema@._ns_hosted(o.member, o.ledger_origin)
    UNION ALL
    -- a registration written where its member is not hosted counts for
    -- nothing: an equivocation of its origin, which never added the member.
    -- One written where the member was added, whose hosting another origin
    -- contests by adding it too, is a conflict naming those origins: the
    -- registering member's rules could not see it coming, and another
    -- member's superuser adding the member at its own origin made every
    -- registration of it its host's equivocation (red team r24, H1)
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member,
           CASE WHEN h.others IS NULL THEN 'namespace_not_hosted' ELSE 'namespace_hosting_contested' END,
           CASE WHEN h.others IS NULL THEN 'equivocation' ELSE 'conflict' END,
           CASE WHEN h.others IS NULL
                THEN format('namespace "%s" registered for "%s" by origin "%s", where that member is not hosted', n.namespace, n.member, n.ledger_origin)
                ELSE format('namespace "%s" registered for "%s" by origin "%s", which added that member, as did %s: its hosting is contested',
                            n.namespace, n.member, n.ledger_origin, h.others) END
      FROM @extschema@.id_namespace n
     CROSS JOIN LATERAL (
           SELECT CASE WHEN bool_or(e.ledger_origin = n.ledger_origin)
                       THEN string_agg(DISTINCT '"' || e.ledger_origin || '"', ', ') FILTER (WHERE e.ledger_origin <> n.ledger_origin) END AS others
             FROM @extschema@.member_event e WHERE e.member = n.member AND e.event = 'added') h
     WHERE NOT @extschema@._ns_hosted(n.member, n.ledger_origin)
    UNION ALL
    -- a key added or revoked, or roles changed, by an origin that never
    -- added the member (_governance_rules() refuses it on the writer; red
    -- team r24): an equivocation of that origin.  Such a row counts for
    -- nothing since 0.22.0 (the keys view: its key signs for nobody, its
    -- revocation revokes nothing); this names it.
    -- Where the origin did add the member and another origin contests its
    -- hosting, the namespace branch above names the contest
    -- A revocation naming a member the key was not added for revokes the
    -- key anyway (readers judge it by key_id): that too (red team r25, V1)
    SELECT NULL, g.ledger_origin, g.ledger_seq, g.tbl, g.member,
           CASE g.tbl WHEN 'key_event' THEN 'key_not_hosted' ELSE 'roles_not_hosted' END, 'equivocation',
           CASE WHEN g.hosted THEN format('%s for "%s" by origin "%s", which was not added for that member', g.what, g.member, g.ledger_origin)
                ELSE format('%s for "%s" by origin "%s", which did not add that member', g.what, g.member, g.ledger_origin) END
      -- (hosting as every reader judges it, _member_hosts: a member added
      -- under the empty origin was added here too; red team r25, E1)
      FROM (SELECT h.*, EXISTS (SELECT FROM @extschema@._member_hosts e
                                 WHERE e.member = h.member AND h.ledger_origin = ANY (e.origins)) AS hosted
              FROM (SELECT 'key_event' AS tbl, k.member, k.ledger_origin, k.ledger_seq, k.key_id, k.event,
                           format('key %s %s', k.key_id, k.event) AS what
                      FROM @extschema@.key_event k
                    UNION ALL
                    SELECT 'member_event', m.member, m.ledger_origin, m.ledger_seq, NULL, m.event, format('roles %s', m.roles)
                      FROM @extschema@.member_event m WHERE m.event <> 'added') h) g
     WHERE NOT g.hosted
        OR (g.event = 'revoked' AND NOT EXISTS (SELECT FROM @extschema@.key_event a
                                                 WHERE a.key_id OPERATOR(@extschema@.=) g.key_id AND a.event = 'added'
                                                   AND a.member = g.member))
    UNION ALL
    -- a key added more than once (for two members, or by two origins: the
    -- writer refuses a second on one database, red team r25 V2, but two
    -- origins can each add it before seeing the other's row, or one writes
    -- past its rules).  Since 0.22.0 every reader (the keys view) counts
    -- only its rows whose origin added their member, and a key those name
    -- two members for signs for neither; the rest are named too.  Named at
    -- each of its rows, a conflict.  Since 0.23.0 such a key signs for the
    -- one member whose holder proved possession of it (key_proof): still
    -- named, the detail saying who proved it; a row adding it for another
    -- member is then its origin's equivocation (it registered a key whose
    -- holder is another member: verify_member() files it under key_event),
    -- the prover's own rows stay conflicts
    SELECT NULL, a.ledger_origin, a.ledger_seq, 'key_event', a.member, 'key_registered_twice',
           CASE WHEN pr.signs AND a.member <> pr.member THEN 'equivocation' ELSE 'conflict' END,
           format('key %s added for "%s" by origin "%s", and %s times more', a.key_id, a.member, a.ledger_origin,
                  (SELECT count(*) - 1 FROM @extschema@.key_event o
                    WHERE o.key_id OPERATOR(@extschema@.=) a.key_id AND o.event = 'added'))
           || CASE WHEN pr.member IS NULL THEN ''
                   ELSE format('; "%s" proved possession of it (key_proof)%s', pr.member,
                               CASE WHEN pr.signs THEN ', so it signs for that member' ELSE '' END) END
      FROM @extschema@.key_event a
      -- (who proved it, once per key, not per row: the proofs verified
      -- one per contesting member, so a superuser who added a competitor's
      -- key for K members of its own, each with a garbage proof, made this
      -- K^2 verifications, over 10 minutes at K = 2,000; red team r29, C1.
      -- From the proofs themselves, _key_proven_member_verify(), not from
      -- this database's record of them, _key_proof_checked, which the keys
      -- view reads and this database's superuser can write (0.24.0): the
      -- member it names signs for the key, as the keys view says where
      -- that record is the proofs', key_proof_check())
      JOIN (WITH t AS MATERIALIZED (
                SELECT t.key_id, x.member, x.member IS NOT NULL AS signs
                  FROM (SELECT o.key_id FROM @extschema@.key_event o WHERE o.event = 'added'
                         GROUP BY o.key_id HAVING count(*) > 1) t
                 CROSS JOIN LATERAL (SELECT @extschema@._key_proven_member_verify(t.key_id) AS member) x)
            SELECT * FROM t) pr ON pr.key_id OPERATOR(@extschema@.=) a.key_id
     WHERE a.event = 'added'
       -- (another row: chains are per member, so one origin's rows for two
       -- members can share a ledger_seq; until 0.23.0 such a pair went unnamed)
       AND EXISTS (SELECT FROM @extschema@.key_event o
                    WHERE o.key_id OPERATOR(@extschema@.=) a.key_id AND o.event = 'added'
                      AND (o.member, o.ledger_origin, o.ledger_seq) IS DISTINCT FROM (a.member, a.ledger_origin, a.ledger_seq))
    UNION ALL
    -- a row naming a commitment an earlier row (registry order) names
    -- (0.24.0 for usage reports, 0.25.0 for every event kind, red team
    -- rt25 Q1-Q3): its writer refuses it (BL045); one written past that,
    -- or in a race, counts for neither, nor does the earlier one (0.25.0:
    -- 87_usage_state.sql, the passport's test reports, _performance_at();
    -- until then the disclosed values counted again where they are held,
    -- red team r31, U1/U2).  Which of the two copied the other cannot be
    -- told from the rows (a member's superuser backdates its copy, and the
    -- genuine row is then the later): a conflict, the later listed, its
    -- message naming both rows, their kinds and both signers as parties,
    -- neither as the culprit
    SELECT e.battery_id, e.ledger_origin, e.ledger_seq, e.event,
           (@extschema@._signer_at(e.ledger_key_id, e.ledger_at)).member, 'commitment_replayed', 'conflict',
           format('commitment %s named by more than one event: this %s, by "%s" (battery %s, origin "%s", seq %s), '
                  'and a %s by "%s" earlier in registry order (battery %s, origin "%s", seq %s); either may be the copy '
                  '(a backdated copy comes first), and the disclosed values count for neither',
                  e.restricted, e.event, (@extschema@._signer_at(e.ledger_key_id, e.ledger_at)).member, e.battery_id, e.ledger_origin,
                  e.ledger_seq, o.event, o.member, o.battery_id, o.ledger_origin, o.ledger_seq)
      -- (the commitments named twice, by one pass over the rows naming
      -- one; the first row of each found once, in registry order, and every
      -- later row of it joined to that one: a probe per row for the first
      -- before it read every row of a commitment a thousand replays name,
      -- once per replay, red team rt25b X3)
      FROM (SELECT f.restricted, f.battery_id, f.ledger_at, f.ledger_origin, f.ledger_seq, f.event,
                   (@extschema@._signer_at(f.ledger_key_id, f.ledger_at)).member
              FROM (SELECT DISTINCT ON (r.restricted) r.restricted, r.battery_id, r.ledger_at, r.ledger_origin,
                           r.ledger_seq, r.event, r.ledger_key_id
                      FROM (SELECT t.restricted FROM @extschema@.battery_event t
                             WHERE t.restricted IS NOT NULL
                             GROUP BY t.restricted HAVING count(*) > 1) twice
                      JOIN @extschema@.battery_event r ON r.restricted OPERATOR(@extschema@.=) twice.restricted
                     ORDER BY r.restricted, r.ledger_at, r.ledger_origin, r.ledger_seq, r.battery_id::text COLLATE "C") f) o
      -- (the battery last: one origin's n-th rows of two batteries written
      -- in one transaction tie in the registry's order, and neither was
      -- listed; red team rt25c T1)
      JOIN @extschema@.battery_event e
        ON e.restricted OPERATOR(@extschema@.=) o.restricted
       AND (o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id::text COLLATE "C")
         < (e.ledger_at, e.ledger_origin, e.ledger_seq, e.battery_id::text COLLATE "C")
    UNION ALL
    -- a member added by more than one origin (two origins adding it before
    -- either saw the other's row, or one written past the rules): its
    -- hosting is contested; each database counts the keys and roles of the
    -- origin it pinned (the first it saw adding it, or pin_member_host()),
    -- so members may disagree until the consortium settles it; named once
    -- per row adding it, whether or not it has a namespace (red team r25,
    -- X1; 0.23.0)
    SELECT NULL, a.ledger_origin, a.ledger_seq, 'member_event', a.member, 'member_hosting_contested', 'conflict',
           format('member "%s" added by origin "%s", and also by %s; %s', a.member, a.ledger_origin,
                  (SELECT string_agg(DISTINCT '"' || o.ledger_origin || '"', ', ') FROM @extschema@.member_event o
                    WHERE o.member = a.member AND o.event = 'added' AND o.ledger_origin <> a.ledger_origin),
                  -- (which of them this database counts: its pin, host_pin)
                  coalesce((SELECT CASE WHEN p.how = 'unsettled'
                                        THEN 'hosted here by no origin (unsettled: a join''s copy brought the adding row of '
                                             || 'another origin than the one this database had, copied or streamed in, in no order it can tell; '
                                             || 'settle with pin_member_host())'
                                        ELSE format('hosted here by "%s" (%s)', p.origin, replace(p.how, '_', ' ')) END
                              FROM @extschema@.host_pin p WHERE p.member = a.member AND p.how <> 'contested'),
                           'no origin pinned here (contested before 0.23.0): the rows of each count'))
      FROM @extschema@.member_event a
     WHERE a.event = 'added'
       AND EXISTS (SELECT FROM @extschema@.member_event o
                    WHERE o.member = a.member AND o.event = 'added' AND o.ledger_origin <> a.ledger_origin)
    UNION ALL
    -- a model declared by a member that is not its holder (ns21): in another
    -- member's namespace its rules would have refused it (an equivocation,
    -- however dated); otherwise a race for a free id that the first
    -- declarer in registry order won (BL061 for the writer that saw it)
    SELECT NULL, m.ledger_origin, m.ledger_seq, 'battery_model', s.member,
           CASE WHEN o.members IS NOT NULL AND NOT s.member = ANY (o.members) THEN 'model_foreign_namespace' ELSE 'model_not_holder' END,
           CASE WHEN o.members IS NOT NULL AND NOT s.member = ANY (o.members) THEN 'equivocation' ELSE 'conflict' END,
           CASE WHEN o.members IS NOT NULL AND NOT s.member = ANY (o.members)
                THEN format('model id "%s" is in namespace %s of "%s"', m.model_id, array_to_string(o.namespaces, ', '), array_to_string(o.members, '", "'))
                ELSE format('model "%s" is declared by "%s"', m.model_id, h.holder) END
      FROM (SELECT DISTINCT x.model_id FROM @extschema@.battery_model x) d
      CROSS JOIN LATERAL (SELECT @extschema@._model_holder(d.model_id) AS holder) h
      JOIN @extschema@.battery_model m ON m.model_id = d.model_id
      CROSS JOIN LATERAL @extschema@._signer(m.ledger_key_id) s
      CROSS JOIN LATERAL @extschema@._key_owners(@extschema@._text_id_key(m.model_id), m.ledger_at) o
     WHERE s.member IS NOT NULL AND s.member IS DISTINCT FROM h.holder
    UNION ALL
    -- lot rows that change nothing (ns21): a creation in another member's
    -- namespace or of a lot that exists, a shipment by a member that does
    -- not hold the lot, a receipt nobody offered, a role the event does not
    -- allow.  A second creation of a free id is a race (conflict)
    SELECT NULL, st.ledger_origin, st.ledger_seq, st.event, st.signer, st.problem,
           CASE WHEN st.problem = 'lot_created_twice' THEN 'conflict' ELSE 'equivocation' END,
           format('lot "%s": %s', d.lot_id, st.problem)
      FROM (SELECT DISTINCT x.lot_id FROM @extschema@.lot_event x) d
      CROSS JOIN LATERAL @extschema@._lot_custody_steps(d.lot_id) st
     WHERE NOT st.effective
    UNION ALL
    -- values that are no number (NaN) or infinite (0.27.0): a lot's mass, a
    -- model's rated values.  CHECK (> 0) let them through and 0.26.0's rules
    -- did too; the writer refuses them since (BL031), and numbers of more
    -- than 1,000 digits either side of the point (_json_num()'s bound),
    -- which overflowed the readers' arithmetic (red team rt27b F1-F3).  Rows written before,
    -- or past the rules, are named; a lot of no finite mass has no use
    -- accepted by the writer's mass balance (BL033)
    SELECT NULL, x.ledger_origin, x.ledger_seq, x.event, s.member, 'value_not_finite', 'equivocation',
           format('lot "%s" has a mass of %s kg', x.lot_id, x.mass_kg)
      FROM @extschema@.lot_event x
      CROSS JOIN LATERAL @extschema@._signer(x.ledger_key_id) s
     WHERE @extschema@._json_num(pg_catalog.to_jsonb(x.mass_kg)) IS NULL
    UNION ALL
    -- (a model's: model_value_not_finite, so that verify_member() files it
    -- under battery_model, as the other model_* problems; red team rt27b V1)
    SELECT NULL, m.ledger_origin, m.ledger_seq, 'battery_model', s.member, 'model_value_not_finite', 'equivocation',
           format('battery model "%s": %s', m.model_id, v.bad)
      FROM @extschema@.battery_model m
      CROSS JOIN LATERAL (SELECT string_agg(format('%s = %s', c.col, c.x), ', ') AS bad
                            FROM (VALUES ('rated_capacity_ah', m.rated_capacity_ah), ('rated_energy_kwh', m.rated_energy_kwh),
                                         ('nominal_voltage_v', m.nominal_voltage_v), ('min_voltage_v', m.min_voltage_v),
                                         ('max_voltage_v', m.max_voltage_v), ('original_power_w', m.original_power_w),
                                         ('capacity_threshold_pct', m.capacity_threshold_pct), ('mass_kg', m.mass_kg),
                                         ('carbon_footprint_kg_co2e_per_kwh', m.carbon_footprint_kg_co2e_per_kwh)) c(col, x)
                           WHERE c.x IS NOT NULL AND @extschema@._json_num(pg_catalog.to_jsonb(c.x)) IS NULL) v
      CROSS JOIN LATERAL @extschema@._signer(m.ledger_key_id) s
     WHERE v.bad IS NOT NULL
    UNION ALL
    -- rows consuming a lot their signer did not hold (ns21; red team r20, L2):
    -- they use none of it up.  The lots consumed are the ones named as inputs.
    -- And the holder's own rows that the writer's mass balance refuses
    -- (BL031, BL033), which only a holder bypassing its rules writes: a use
    -- of more than was left at the row's place in registry order, or of no
    -- positive mass.  They still count (lot_available_kg() judges consumers
    -- by custody alone, docs/security.md), and are named here: lot_overdrawn,
    -- lot_bad_mass.  Rows tied in registry order share their running sum,
    -- so every member names the same rows.  Honest uses never are: the
    -- writer admits a use only if all uses so far, it included, fit in the
    -- lot, and a sum of positive masses does not depend on their order.
    SELECT c.battery_id, c.ledger_origin, c.ledger_seq, c.event, c.signer,
           CASE WHEN NOT c.effective THEN 'lot_not_held'
                WHEN c.mass_kg IS NULL OR c.mass_kg <= 0 THEN 'lot_bad_mass'
                ELSE 'lot_overdrawn' END,
           'equivocation',
           CASE WHEN NOT c.effective
                THEN format('%s kg of lot "%s" consumed by "%s", which did not hold it', c.mass_kg, d.lot, coalesce(c.signer, '(unknown key)'))
                WHEN c.mass_kg IS NULL OR c.mass_kg <= 0
                THEN format('lot "%s" consumed by "%s" with a mass of %s kg', d.lot, c.signer, coalesce(c.mass_kg::text, 'no'))
                ELSE format('%s kg of lot "%s" consumed by "%s" when %s kg were left', c.mass_kg, d.lot, c.signer,
                            coalesce(m.made, 0) - (c.used - c.mass_kg)) END
      FROM (SELECT DISTINCT i->>'lot' AS lot FROM @extschema@.lot_event x, jsonb_array_elements(x.inputs) i
             WHERE jsonb_typeof(x.inputs) = 'array' AND i->>'lot' IS NOT NULL
            UNION
            SELECT DISTINCT i->>'lot' FROM @extschema@.battery_event b, jsonb_array_elements(b.lots) i
             WHERE b.lots IS NOT NULL AND jsonb_typeof(b.lots) = 'array' AND i->>'lot' IS NOT NULL) d
      -- (one walk of the lot's rows, _lot_ledger(): its one effective
      -- creation's mass, NULL when nobody holds it, and its consumers)
      CROSS JOIN LATERAL (SELECT k.*,
                                 max(k.mass_kg) FILTER (WHERE k.step = 0 AND k.effective
                                                          AND k.event IN ('extracted', 'processed', 'secondary_created')) OVER () AS made,
                                 coalesce(sum(k.mass_kg) FILTER (WHERE k.step = 1 AND k.effective)
                                              OVER (ORDER BY k.ledger_at, k.ledger_origin, k.ledger_seq), 0) AS used
                            FROM @extschema@._lot_ledger(d.lot) k) c
      CROSS JOIN LATERAL (SELECT c.made) m
     WHERE c.step = 1 AND (NOT c.effective OR c.mass_kg IS NULL OR c.mass_kg <= 0 OR c.used > coalesce(m.made, 0))
    UNION ALL
    -- second life and composition: claims of a manufacture the predecessors' and
    -- components' own histories do not confirm
    SELECT c.battery_id, c.ledger_origin, c.ledger_seq, c.event, c.signer, c.problem, c.kind, c.message
      FROM @extschema@._second_life_conflicts() c
$$;

CREATE FUNCTION @extschema@._battery_rules() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    st @extschema@.battery_fold_state;
    v record;
    corrected record;
    earlier record;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;                 -- unknown key: the chain trigger refuses it (BL011)
    END IF;
    -- the checks that need no state first, then the battery's turn
    IF NOT EXISTS (SELECT 1 FROM @extschema@.event_kind k WHERE k.event = NEW.event AND k.subject = 'battery') THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL030', format('unknown battery event "%s"', NEW.event),
            hint => 'See battledger.event_kind.');
        RETURN NEW;
    END IF;
    PERFORM @extschema@._lock_subject('battery', NEW.battery_id::text);
    IF NEW.passport_id IS NOT NULL THEN
        PERFORM @extschema@._lock_subject('passport', NEW.passport_id);
    END IF;
    -- (the cached state carries the successor a battery was consumed into: second life)
    st := @extschema@._battery_state_cached(NEW.battery_id);
    -- NEW has no ledger fields yet: it comes after every event here in registry order
    SELECT * INTO v FROM @extschema@._battery_verdict(NEW, s.member, s.roles, st,
                                                      statement_timestamp() >= @extschema@._custody_from(), true);
    IF v.problem IS NOT NULL THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, v.code, v.message, v.detail, v.hint);
        RETURN NEW;
    END IF;
    -- a commitment names one row (0.24.0 for usage reports, 0.25.0 for
    -- every event kind): the rows are public, their disclosures are not,
    -- and a member's application that copied another member's commitment
    -- into a row of its own made the disclosed values count twice where
    -- the disclosure is held (a second report of the battery, or a report
    -- of another battery: red team r31, U1/U2; a quality check's test
    -- report, a consuming move's performance, a usage report naming either,
    -- or a consuming move naming a report: rt25 Q1-Q3).  Honest rows each
    -- take a fresh salt.  In the commitment's turn, the lock the usage
    -- state's triggers take.
    IF NEW.restricted IS NOT NULL THEN
        PERFORM @extschema@._usage_lock(NEW.restricted);
        SELECT e.battery_id, e.ledger_origin, e.ledger_seq, e.event INTO earlier FROM @extschema@.battery_event e
         WHERE e.restricted OPERATOR(@extschema@.=) NEW.restricted LIMIT 1;
        IF FOUND THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL045',
                format('commitment %s is named by an event already (%s of battery %s, origin "%s", seq %s)',
                       NEW.restricted, earlier.event, earlier.battery_id, earlier.ledger_origin, earlier.ledger_seq),
                'A commitment names one event, whatever its kind: a second would show the values it discloses again, as another event''s or another battery''s, wherever they are disclosed.',
                'Commit each event''s values with a fresh random salt: battledger.commitment(salt, value).');
            RETURN NEW;
        END IF;
    END IF;

    IF NEW.event = 'manufactured' THEN
        IF NOT EXISTS (SELECT 1 FROM @extschema@.battery_model m WHERE m.model_id = NEW.model_id) THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL031', format('unknown battery model "%s"', NEW.model_id),
                hint => 'Declare it in battledger.battery_model first.');
            RETURN NEW;
        END IF;
        IF NEW.lots IS NOT NULL THEN
            IF @extschema@._check_inputs(NEW, TG_RELID, NEW.lots, s.member, format('battery %s', NEW.battery_id)) IS NULL THEN
                RETURN NEW;         -- refused, but not signed: the chain trigger refuses it
            END IF;
        END IF;
        -- second life and composition: predecessors consumed by the signer, components it holds
        IF NOT @extschema@._check_second_life(NEW, s.member) THEN
            RETURN NEW;
        END IF;
    ELSIF NEW.event = 'correction' THEN
        SELECT e.event, sg.member INTO corrected
          FROM @extschema@.battery_event e, @extschema@._signer(e.ledger_key_id) sg
         WHERE e.battery_id OPERATOR(@extschema@.=) NEW.battery_id
           AND e.ledger_hash OPERATOR(@extschema@.=) NEW.corrects;
        IF corrected.event IS NULL THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL037', 'a correction must reference an event of the same battery',
                'Set "corrects" to the ledger_hash of the corrected event.');
            RETURN NEW;
        ELSIF corrected.member IS DISTINCT FROM s.member THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL037', format('only "%s", who signed the corrected event, may correct it', corrected.member));
            RETURN NEW;
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.lot_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._lot_rules();
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.battery_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._battery_rules();

-- The writer's rules: a model id in another member's namespace is refused
-- (BL044, as a battery id); only the model's holder declares it again (BL061).
CREATE FUNCTION @extschema@._model_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    ns record;
    holder text;
    bad text;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;                 -- unknown key: the chain trigger refuses it (BL011)
    END IF;
    -- rated values that are no number (NaN) or infinite: the columns are
    -- plain numeric and CHECK (> 0) lets NaN through; the passport shows
    -- them as text and the derived values (state of health, cycles) divide
    -- by them (0.27.0).  Nor of more than 1,000 digits either side of the
    -- point (_json_num()'s bound): a rated capacity of 1e131071 Ah made
    -- 100 * (rated - measured) overflow numeric, and every legitimate-
    -- interest passport of the model's batteries fail (red team rt27b F1)
    SELECT string_agg(format('%s = %s', v.col, v.x), ', ') INTO bad
      FROM (VALUES ('rated_capacity_ah', NEW.rated_capacity_ah), ('rated_energy_kwh', NEW.rated_energy_kwh),
                   ('nominal_voltage_v', NEW.nominal_voltage_v), ('min_voltage_v', NEW.min_voltage_v),
                   ('max_voltage_v', NEW.max_voltage_v), ('original_power_w', NEW.original_power_w),
                   ('capacity_threshold_pct', NEW.capacity_threshold_pct), ('mass_kg', NEW.mass_kg),
                   ('carbon_footprint_kg_co2e_per_kwh', NEW.carbon_footprint_kg_co2e_per_kwh)) v(col, x)
     WHERE v.x IS NOT NULL AND @extschema@._json_num(pg_catalog.to_jsonb(v.x)) IS NULL;
    IF bad IS NOT NULL THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL031', format('battery model "%s": %s', NEW.model_id, bad),
            'A model''s rated values are finite numbers, of at most 1,000 digits either side of the point.', 'Leave a value you do not know NULL.');
        RETURN NEW;
    END IF;
    -- the holder's own model is its to declare again, whatever namespace
    -- was registered after its first declaration (_model_holder() keeps it;
    -- red team r22, N1)
    holder := @extschema@._model_holder(NEW.model_id);
    SELECT * INTO ns FROM @extschema@._key_owners(@extschema@._text_id_key(NEW.model_id), statement_timestamp());
    IF holder IS DISTINCT FROM s.member AND ns.members IS NOT NULL AND NOT s.member = ANY (ns.members) THEN
        PERFORM @extschema@._refuse('BL044', format('battery model id "%s" is in the namespace of member "%s"',
                                                    NEW.model_id, array_to_string(ns.members, '", "')),
            format('Namespace %s is registered to "%s"; a model id of the form gs1:01/<GTIN> or iso15459:<IAC>/<CIN>/... is its members'' to declare.',
                   array_to_string(ns.namespaces, ', '), array_to_string(ns.members, '", "')),
            'Use a model id of a namespace registered to you (battledger.id_namespace).');
    END IF;
    IF holder IS NOT NULL AND holder <> s.member THEN
        PERFORM @extschema@._refuse('BL061', format('battery model "%s" is declared by member "%s"', NEW.model_id, holder),
            'A model belongs to the member that declared it first; only that member may declare it again.',
            'Declare your model under a model id of your own.');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.battery_model
    FOR EACH ROW EXECUTE FUNCTION @extschema@._model_rules();

-- The writer's cache of battery states, kept on arrival too.  Other
-- members' rows reach battery_event through the apply worker, where the
-- rules trigger does not fire: a battery only other members write had no
-- cache row here, and battery_state() and passport() folded its whole life
-- on every call (issue 15: passport() within 2 ms at any history length, on
-- every member).  ENABLE REPLICA: only the apply worker fires it.  Only the
-- lifecycle events (the fold's list, as in _battery_fold_cached()) move a
-- state, so other rows cost the apply worker nothing; the cache is checked
-- before every use, so a cache the apply worker left standing only makes
-- the next read fold whole.
CREATE FUNCTION @extschema@._battery_fold_arrived() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w bigint;
BEGIN
    -- Rows after the cache's horizon are folded on from it.  A row before
    -- it, a new key or member, or another battery's row taking one of this
    -- battery's passport ids (passport_holder_moved) voids the cache, and
    -- the battery is folded whole again, but here only once it has a
    -- quarter more lifecycle events than at its last whole fold.  A member
    -- sending rows dated alternately before and after the horizon (it
    -- chooses ledger_at) made every second row a whole fold, the apply
    -- worker's work growing with the square of the rows (red team r9, F1);
    -- now the whole folds cost at most four events' folds per arriving row.
    -- An honest row dated a little before another member's last one most
    -- often finds a battery that has grown by a quarter since its last whole
    -- fold (rows folded on meanwhile), and is folded whole at once; until a
    -- battery is, readers fold it whole, and a local write (the rules
    -- trigger) folds it and stores the result.
    SELECT f.whole_n INTO w
      FROM @extschema@.battery_fold_cache f WHERE f.battery_id OPERATOR(@extschema@.=) NEW.battery_id;
    PERFORM @extschema@._battery_state_cached(NEW.battery_id, coalesce(w + greatest(1, w / 4), 0));
    RETURN NULL;
END $$;
CREATE TRIGGER zz_battledger_fold_arrived AFTER INSERT ON @extschema@.battery_event
    FOR EACH ROW
    WHEN (NEW.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                        'handover', 'handover_accepted'))
    EXECUTE FUNCTION @extschema@._battery_fold_arrived();
ALTER TABLE @extschema@.battery_event ENABLE REPLICA TRIGGER zz_battledger_fold_arrived;

-- An issuing row that moves its passport id's holder (passport_holder_moved,
-- above): the id's turn first, then the id's holder (_passport_holder(), as
-- in _battery_verdict(): the first issuing row its namespace allows); only
-- if that is the new row, the first such row after it (the holder it
-- displaces), whose battery's cache it voids.  The order is _battery_verdict()'s, total: registry order, then
-- battery_id (rows of two batteries can share a registry key, red team r11,
-- T1), so the row displaced is the one holder there was, and a tied row that
-- comes after the holder moves nothing.  A member's rows naming an id after
-- its issue cost one probe and leave nothing (F2); each moves the holder at
-- most once, so the rows left here are at most the issuing rows.  ENABLE
-- ALWAYS: local writers, the apply worker and the initial table copy alike.
CREATE FUNCTION @extschema@._passport_holder_arrived() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    h record;
    pkey text;
    cm text[];
    cs timestamptz[];
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        -- no turn: a concurrent holder may stay unseen; void every cache
        INSERT INTO @extschema@.passport_holder_moved VALUES (NULL, NEW.passport_id);
        RETURN NULL;
    END IF;
    PERFORM @extschema@._lock_subject('passport', NEW.passport_id);
    -- (each query below takes its snapshot after the turn: READ COMMITTED)
    -- the holder (_passport_holder(): the first issuing row its namespace
    -- allows), NEW itself at least if the namespace allows it.  (A probe for
    -- "any row before NEW" must skip tied rows of higher battery ids, as
    -- many as the batteries a member dates alike.)  A row its namespace
    -- refuses holds nothing and displaces nobody, wherever it is dated: a
    -- squatter's row dated before the holder's leaves every cache standing
    -- (pp23)
    pkey := @extschema@._text_id_key(NEW.passport_id);
    IF pkey IS NOT NULL THEN
        SELECT c.members, c.since INTO cm, cs FROM @extschema@._key_claims(pkey) c;
    END IF;
    IF cm IS NULL THEN
        -- (_passport_holder_by() for an id in no namespace written out, as
        -- in _battery_verdict(); the first issuing row)
        SELECT o.ledger_origin, o.ledger_seq, o.battery_id INTO h
          FROM @extschema@.battery_event o
         WHERE o.passport_id = NEW.passport_id
           AND (o.event = 'placed_on_market'
                OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
         ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id LIMIT 1;
    ELSE
        SELECT * INTO h FROM @extschema@._passport_holder_by(NEW.passport_id, cm, cs);
    END IF;
    IF NOT coalesce(h.battery_id OPERATOR(@extschema@.=) NEW.battery_id
                    AND h.ledger_origin = NEW.ledger_origin AND h.ledger_seq = NEW.ledger_seq, false) THEN
        RETURN NULL;    -- an earlier row holds the id, and keeps it (NEW: the chain's unique key)
    END IF;
    -- the row it displaces: the next one the namespace allows (a row at
    -- NEW's registry key with a lower battery_id would have been the
    -- holder; a refused row between them held nothing, and voiding its
    -- battery's cache would leave the displaced holder's standing)
    IF cm IS NULL THEN
        SELECT o.battery_id INTO h
          FROM @extschema@.battery_event o
         WHERE o.passport_id = NEW.passport_id
           AND (o.event = 'placed_on_market'
                OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
           AND (o.ledger_at, o.ledger_origin, o.ledger_seq) >= (NEW.ledger_at, NEW.ledger_origin, NEW.ledger_seq)
           AND ((o.ledger_at, o.ledger_origin, o.ledger_seq) > (NEW.ledger_at, NEW.ledger_origin, NEW.ledger_seq)
                OR o.battery_id OPERATOR(@extschema@.>) NEW.battery_id)
         ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id LIMIT 1;
    ELSE
        SELECT * INTO h FROM @extschema@._passport_holder_by(NEW.passport_id, cm, cs, NEW);
    END IF;
    IF h.battery_id IS NOT NULL THEN
        INSERT INTO @extschema@.passport_holder_moved VALUES (h.battery_id, NEW.passport_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER battledger_passport_holder AFTER INSERT ON @extschema@.battery_event
    FOR EACH ROW
    WHEN (NEW.passport_id IS NOT NULL
          AND (NEW.event = 'placed_on_market'
               OR (NEW.event = 'status_changed' AND NEW.new_status IN ('re-used', 'repurposed', 'remanufactured'))))
    EXECUTE FUNCTION @extschema@._passport_holder_arrived();
ALTER TABLE @extschema@.battery_event ENABLE ALWAYS TRIGGER battledger_passport_holder;

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
-- Economic operators and facilities as registered identifiers (issue 14,
-- deliverable 6; docs/registry.md "Economic operators and facilities").
-- A member registers the identifiers it holds -- GLN, LEI, EORI, Catena-X
-- BPNL for itself as an operator; GLN, BPNS, BPNA for its facilities -- with
-- name, address and contact, in a signed ledger table like its models.  The
-- identifier's check digits and format are verified; a member registers for
-- itself only; the first registration of an identifier in registry order
-- owns it, and passports render the operator block from the registry.
-----------------------------------------------------------------------------

-- The canonical form "scheme:value" of an operator or facility identifier,
-- or an error saying exactly what is wrong with it.
CREATE FUNCTION @extschema@.operator_id(id text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    scheme text := lower(btrim(split_part(id, ':', 1)));
    v text := upper(regexp_replace(substr(btrim(id), strpos(btrim(id), ':') + 1), '[\s-]', '', 'g'));
    digits text := '';
    sum int := 0;
    r numeric;
    i int;
    c text;
    want int;
BEGIN
    IF strpos(id, ':') = 0 OR scheme NOT IN ('gln', 'lei', 'eori', 'bpnl', 'bpns', 'bpna') THEN
        RAISE EXCEPTION 'invalid operator or facility identifier: "%"', left(id, 100)
            USING ERRCODE = 'invalid_text_representation',
                  DETAIL = 'An identifier is "scheme:value", with scheme gln, lei, eori, bpnl (operators) or gln, bpns, bpna (facilities).',
                  HINT = 'For example gln:4000001000005, lei:5493001KJTIIGC8Y1R12, eori:DE123456789012345 or bpnl:BPNL00000003AYRE.';
    END IF;
    IF scheme = 'gln' THEN
        -- GS1 Global Location Number: 13 digits, the last a mod-10 check digit (as a GTIN's)
        IF v !~ '^[0-9]{13}$' THEN
            RAISE EXCEPTION 'invalid GLN: "%"', left(v, 100) USING ERRCODE = 'invalid_text_representation',
                DETAIL = 'A GLN has exactly 13 digits.', HINT = 'Give it as gln:<13 digits>, e.g. gln:4000001000005.';
        END IF;
        FOR i IN 1..12 LOOP
            sum := sum + substr(v, i, 1)::int * CASE WHEN i % 2 = 0 THEN 3 ELSE 1 END;
        END LOOP;
        want := (10 - sum % 10) % 10;
        IF substr(v, 13, 1)::int <> want THEN
            RAISE EXCEPTION 'invalid GLN: "%"', v USING ERRCODE = 'invalid_text_representation',
                DETAIL = format('The check digit of GLN %s is %s, but %s was expected.', v, substr(v, 13, 1), want),
                HINT = 'Check the number against the GS1 company prefix it was issued from.';
        END IF;
    ELSIF scheme = 'lei' THEN
        -- ISO 17442: 18 alphanumerics and two check digits, ISO 7064 MOD 97-10 (letters A=10 .. Z=35)
        IF v !~ '^[0-9A-Z]{18}[0-9]{2}$' THEN
            RAISE EXCEPTION 'invalid LEI: "%"', left(v, 100) USING ERRCODE = 'invalid_text_representation',
                DETAIL = 'An LEI (ISO 17442) has 20 characters: 18 letters or digits, then two check digits.',
                HINT = 'Copy it from the GLEIF record of the legal entity.';
        END IF;
        FOR i IN 1..20 LOOP
            c := substr(v, i, 1);
            digits := digits || CASE WHEN c ~ '[0-9]' THEN c ELSE (ascii(c) - 55)::text END;
        END LOOP;
        r := digits::numeric % 97;
        IF r <> 1 THEN
            RAISE EXCEPTION 'invalid LEI: "%"', v USING ERRCODE = 'invalid_text_representation',
                DETAIL = format('The check digits of LEI %s do not hold: the number is %s modulo 97, not 1 (ISO 7064 MOD 97-10).', v, r),
                HINT = 'Copy it from the GLEIF record of the legal entity.';
        END IF;
    ELSIF scheme = 'eori' THEN
        -- EU customs: an ISO 3166 country code and up to 15 letters or digits
        IF v !~ '^[A-Z]{2}[0-9A-Z]{1,15}$' THEN
            RAISE EXCEPTION 'invalid EORI number: "%"', left(v, 100) USING ERRCODE = 'invalid_text_representation',
                DETAIL = 'An EORI number is a two-letter country code followed by 1 to 15 letters or digits.',
                HINT = 'For example eori:DE123456789012345.';
        END IF;
    ELSE
        -- Catena-X business partner numbers: BPNL (legal entity), BPNS (site), BPNA (address), then 12 letters or digits
        IF v !~ ('^' || upper(scheme) || '[0-9A-Z]{12}$') THEN
            RAISE EXCEPTION 'invalid Catena-X business partner number: "%"', left(v, 100) USING ERRCODE = 'invalid_text_representation',
                DETAIL = format('A %s is "%s" followed by 12 letters or digits (16 characters).', upper(scheme), upper(scheme)),
                HINT = 'Copy it from the Catena-X business partner data management service.';
        END IF;
    END IF;
    RETURN scheme || ':' || v;
END $$;
COMMENT ON FUNCTION @extschema@.operator_id(text) IS
    'the canonical "scheme:value" of a GLN, LEI (ISO 17442), EORI or Catena-X BPNL/BPNS/BPNA, check digits verified';

CREATE TABLE @extschema@.operator_registration (
    identifier  text NOT NULL CHECK (length(identifier) BETWEEN 5 AND 40),
    kind        text NOT NULL CHECK (kind IN ('operator', 'facility')),
    member      text NOT NULL,     -- who holds the identifier: the signer's member
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    address     jsonb CHECK (address IS NULL OR jsonb_typeof(address) = 'object'),  -- {country, postalCode, city, street}
    contact     jsonb CHECK (contact IS NULL OR jsonb_typeof(contact) = 'object'),  -- {email, web, phone}
    operator    text,              -- a facility: the operator identifier (of the same member) running it
    occurred_at timestamptz NOT NULL
);
SELECT @extschema@.enable_ledger('@extschema@.operator_registration', 'identifier', signed => true,
    signer_roles => ARRAY['miner', 'refiner', 'cell_maker', 'pack_maker', 'oem', 'fleet_operator', 'repairer',
                          'second_life_operator', 'collector', 'recycler']);
-- its rows are the registry's history: pg_dump keeps them (until 0.23.0 it did not)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.operator_registration', '');
COMMENT ON TABLE @extschema@.operator_registration IS
    'economic operators and facilities by identifier (GLN, LEI, EORI, BPNL; GLN, BPNS, BPNA), signed by the member holding them';
CREATE INDEX operator_registration_member ON @extschema@.operator_registration (member);
-- operators'' names, addresses and contacts are Annex XIII point 1 (public)
GRANT SELECT ON @extschema@.operator_registration TO PUBLIC;
GRANT INSERT ON @extschema@.operator_registration TO PUBLIC;   -- as the other signed tables: the signature decides

-- The member holding an identifier: the signer of its first registration in
-- registry order whose signer names itself.  Judged from the signatures, not
-- the member column, so a row replicated from a member whose rules were
-- bypassed cannot take another member's identifier.
CREATE FUNCTION @extschema@.operator_holder(identifier text) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.member FROM @extschema@.operator_registration o, @extschema@._signer(o.ledger_key_id) s
     WHERE o.identifier = operator_holder.identifier AND s.member = o.member
     ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq LIMIT 1
$$;
COMMENT ON FUNCTION @extschema@.operator_holder(text) IS
    'the member holding an operator or facility identifier: the first to register it in registry order';

-- The registered operator or facility, as the passport shows it: the holder's
-- latest registration.  NULL when the identifier is not registered.
-- PL/pgSQL, not SQL (0.24.0): with its pinned search_path an SQL function is
-- not inlined and was planned again at each call, one a passport or more
-- (issue 15); its signer is the keys view's member, probed in the query
-- (_signer() added a call and the member's roles, not used here)
CREATE FUNCTION @extschema@.operator_info(identifier text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT jsonb_strip_nulls(jsonb_build_object(
               'id', o.identifier, 'kind', o.kind, 'name', o.name, 'address', o.address,
               'email', o.contact->'email', 'web', o.contact->'web', 'phone', o.contact->'phone',
               'operator', o.operator, 'member', o.member,
               'registration', jsonb_build_object('at', o.occurred_at, 'ledgerHash', o.ledger_hash::text)))
      FROM @extschema@.operator_registration o
     WHERE o.identifier = operator_info.identifier
       AND EXISTS (SELECT FROM @extschema@.keys k
                    WHERE k.key_id OPERATOR(@extschema@.=) o.ledger_key_id AND k.member = o.member)
       AND o.member = @extschema@.operator_holder(operator_info.identifier)
     ORDER BY o.ledger_at DESC, o.ledger_origin DESC, o.ledger_seq DESC LIMIT 1);
END $$;
COMMENT ON FUNCTION @extschema@.operator_info(text) IS
    'a registered operator or facility (name, address, contact, holder) as its holder last registered it; NULL if unregistered';

-- Registrations that count for nobody: signed by another member than the one
-- they name (the writer's rules were bypassed), or of an identifier another
-- member registered first in registry order (a claim that lost a race between
-- two members' databases, or was written behind the rules).  For auditors.
CREATE FUNCTION @extschema@.operator_conflicts()
    RETURNS TABLE (identifier text, ledger_origin text, ledger_seq bigint, signer text, named_member text,
                   holder text, problem text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT o.identifier, o.ledger_origin, o.ledger_seq, s.member, o.member, h.holder,
           CASE WHEN s.member IS DISTINCT FROM o.member THEN 'signer_not_member' ELSE 'held_by_other' END
      FROM @extschema@.operator_registration o
      CROSS JOIN LATERAL @extschema@._signer(o.ledger_key_id) s
      CROSS JOIN LATERAL (SELECT @extschema@.operator_holder(o.identifier) AS holder) h
     WHERE s.member IS DISTINCT FROM o.member OR h.holder IS DISTINCT FROM s.member
     ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq
$$;
COMMENT ON FUNCTION @extschema@.operator_conflicts() IS
    'operator and facility registrations that count for nobody: signed for another member, or of an identifier another member holds';

-- The rules of a registration, before the chain trigger (a refused row leaves no trace).
-- As the owner, as the lot and battery rules: it takes the identifier's
-- turn (_lock_subject(), not PUBLIC's since red team F9), and as the writer
-- every registration by a role other than the owner failed there with
-- 42501 (found by priv27, 0.27.0).
CREATE FUNCTION @extschema@._operator_rules() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    canonical text;
    holder text;
    scheme text;
    runs jsonb;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;                 -- unknown key: the chain trigger refuses it (BL011)
    END IF;
    canonical := @extschema@.operator_id(NEW.identifier);
    IF canonical <> NEW.identifier THEN
        PERFORM @extschema@._refuse('22P02', format('identifier "%s" is not in canonical form', NEW.identifier),
            format('Its canonical form is "%s"; the signature covers the identifier as written.', canonical),
            'Sign the row with battledger.operator_id(identifier).');
    END IF;
    IF NEW.member IS DISTINCT FROM s.member THEN
        PERFORM @extschema@._refuse('BL060', format('member "%s" cannot register an identifier for member "%s"', s.member, NEW.member),
            'A member registers the identifiers it holds, signed with its own key.',
            format('Set member to "%s".', s.member));
    END IF;
    scheme := split_part(canonical, ':', 1);
    IF NEW.kind = 'operator' AND scheme NOT IN ('gln', 'lei', 'eori', 'bpnl') THEN
        PERFORM @extschema@._refuse('BL062', format('a %s identifies a facility, not an operator', upper(scheme)),
            hint => 'Register an operator by GLN, LEI, EORI or BPNL.');
    ELSIF NEW.kind = 'facility' AND scheme NOT IN ('gln', 'bpns', 'bpna') THEN
        PERFORM @extschema@._refuse('BL062', format('a %s identifies an operator, not a facility', upper(scheme)),
            hint => 'Register a facility by GLN, BPNS or BPNA.');
    END IF;
    IF NEW.address IS NOT NULL AND coalesce(NEW.address->>'country', '') !~ '^[A-Z]{2}$' THEN
        PERFORM @extschema@._refuse('BL031', 'an operator''s or facility''s address needs its country',
            'address.country is an ISO 3166-1 alpha-2 code such as "DE".');
    END IF;
    PERFORM @extschema@._lock_subject('operator', canonical);
    holder := @extschema@.operator_holder(canonical);
    IF holder IS NOT NULL AND holder <> s.member THEN
        PERFORM @extschema@._refuse('BL061', format('identifier "%s" is registered by member "%s"', canonical, holder),
            'An identifier belongs to the first member that registered it; only that member may update it.',
            'If the identifier is yours, ask the consortium to resolve the claim out of band (GLEIF, GS1, Catena-X records).');
    END IF;
    IF NEW.kind = 'facility' THEN
        IF NEW.operator IS NULL OR @extschema@.operator_holder(NEW.operator) IS DISTINCT FROM s.member
           OR NOT EXISTS (SELECT 1 FROM @extschema@.operator_registration o
                           WHERE o.identifier = NEW.operator AND o.kind = 'operator' AND o.member = s.member) THEN
            PERFORM @extschema@._refuse('BL062', format('facility "%s" needs the operator running it', canonical),
                format('operator must be an operator identifier registered by member "%s".', s.member),
                'Register the operator first, then the facility with operator set to its identifier.');
        END IF;
    ELSIF NEW.operator IS NOT NULL THEN
        PERFORM @extschema@._refuse('BL031', 'only a facility names an operator');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.operator_registration
    FOR EACH ROW EXECUTE FUNCTION @extschema@._operator_rules();

-- A battery event naming an operator, manufacturer or facility (data.operator.id,
-- data.manufacturer.id, data.facility) must name a well-formed identifier, and
-- one registered by another member is not the signer's to claim.  A separate
-- trigger from battledger_rules; it fires after it and before the chain trigger.
CREATE FUNCTION @extschema@._operator_refs() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    ref record;
    canonical text;
    holder text;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
    IF NEW.data IS NULL OR jsonb_typeof(NEW.data) <> 'object' THEN
        RETURN NEW;
    END IF;
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;
    END IF;
    FOR ref IN SELECT * FROM (VALUES ('data.operator.id', NEW.data->'operator'->>'id'),
                                     ('data.manufacturer.id', NEW.data->'manufacturer'->>'id'),
                                     ('data.facility', NEW.data->>'facility')) r(field, id)
                WHERE r.id IS NOT NULL LOOP
        canonical := @extschema@.operator_id(ref.id);
        holder := @extschema@.operator_holder(canonical);
        IF holder IS NOT NULL AND holder <> s.member THEN
            PERFORM @extschema@._refuse('BL063', format('%s "%s" is registered by member "%s"', ref.field, canonical, holder),
                format('Member "%s" may name only identifiers it holds, or that nobody has registered.', s.member),
                'Register your own identifier (battledger.operator_registration) and name it.');
        END IF;
    END LOOP;
    RETURN NEW;
END $$;
CREATE TRIGGER battledger_rules_operators BEFORE INSERT ON @extschema@.battery_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._operator_refs();
REVOKE ALL ON FUNCTION @extschema@._operator_rules(), @extschema@._operator_refs() FROM PUBLIC;

-- The resolver this registry's GS1 Digital Links point to: battledger.resolver
-- (set by a superuser: ALTER SYSTEM or ALTER DATABASE), GS1's by default.
-- PL/pgSQL, not SQL (0.24.0): planned again at each call as SQL (issue 15)
CREATE FUNCTION @extschema@.registry_resolver() RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN coalesce(nullif(current_setting('battledger.resolver', true), ''), 'https://id.gs1.org');
END $$;
COMMENT ON FUNCTION @extschema@.registry_resolver() IS
    'the resolver of this registry''s GS1 Digital Links (battledger.resolver; https://id.gs1.org when unset)';
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

-- which disclosures carry a key: lets the passport skip usage values nobody reports
CREATE INDEX disclosure_keys ON @extschema@.disclosure USING gin (value);

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
    ('t_cell_max_c', 'maximumCellTemperature', 'degC'),
    ('soce_pct', 'stateOfCertifiedEnergy', '%'),
    ('soc_pct', 'stateOfCharge', '%'),
    ('remaining_energy_kwh', 'remainingEnergy', 'kWh'),
    ('remaining_power_w', 'remainingPowerCapability', 'W'),
    ('remaining_power_soc_pct', 'remainingPowerCapabilityAtStateOfCharge', '%'),
    ('power_fade_pct', 'powerFade', '%'),
    ('rte_remaining_pct', 'remainingRoundTripEnergyEfficiency', '%'),
    ('rte_fade_pct', 'roundTripEfficiencyFade', '%'),
    ('self_discharge_pct', 'currentSelfDischargingRate', '%'),
    ('self_discharge_evolution_pct', 'evolutionOfSelfDischarge', '%'),
    ('t_extreme_high_min', 'timeExtremeHighTemperature', 'min'),
    ('t_extreme_low_min', 'timeExtremeLowTemperature', 'min'),
    ('t_extreme_high_charging_min', 'timeExtremeHighTemperatureCharging', 'min'),
    ('t_extreme_low_charging_min', 'timeExtremeLowTemperatureCharging', 'min'),
    ('deep_discharge_events', 'numberOfDeepDischargeEvents', 'events'),
    ('overcharge_events', 'numberOfOverchargeEvents', 'events'),
    ('re_cell_ohm', 'cellInternalResistance', 'ohm'),
    ('resistance_increase_cell_pct', 'cellInternalResistanceIncrease', '%');
GRANT SELECT ON @extschema@._dynamic_attribute TO PUBLIC;
ANALYZE @extschema@._dynamic_attribute;

-- _rated(value, unit): a rated value with its unit, NULL for none.
-- PL/pgSQL, not SQL (0.21.0): with its pinned search_path an SQL function
-- is not inlined and was planned again at each call, nine a passport
-- (0.15 of the legitimate-interest passport's 2.1 ms; issue 15)
CREATE FUNCTION @extschema@._rated(value numeric, unit text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    RETURN CASE WHEN value IS NULL THEN NULL ELSE jsonb_build_object('value', value, 'unit', unit) END;
END $$;

-- _usage_value(value numeric, at timestamptz, event text, sequence bigint,
-- ledger_hash text, leaf_index bigint, basis text[, method text, reports
-- bigint]) RETURNS jsonb: one usage value of a passport, the same object as
-- jsonb_build_object() of those fields under their passport names.  In C
-- (src/pg/usage_value.c): jsonb_build_object() looked up every argument's
-- type on every call, 1.1M of a legitimate-interest passport's 8.7M
-- instructions (0.26.0, issue 15).
CREATE FUNCTION @extschema@._usage_value(value numeric, at timestamptz, event text, sequence bigint,
                                         ledger_hash text, leaf_index bigint, basis text) RETURNS jsonb
    LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'bl_usage_value';
CREATE FUNCTION @extschema@._usage_value(value numeric, at timestamptz, event text, sequence bigint,
                                         ledger_hash text, leaf_index bigint, basis text,
                                         method text, reports bigint) RETURNS jsonb
    LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'bl_usage_value';

-- The sources of a passport, as one JSON object, holding only what the tier may
-- read (Art. 77(2), Annex XIII): public = point 1; legitimate_interest = points
-- 1, 2 and 4; authority = points 1, 2 and 3.  The formats below only reshape it,
-- so a value withheld here cannot appear in any format.  It runs as the
-- extension's owner (called from the tier functions below, which PostgreSQL
-- guards by EXECUTE privilege) and so filters restricted values itself.
-- JIT off: compiling costs far more than these small per-battery queries run
-- (gin_fuzzy_search_limit pinned to 0: the authority tier's test reports
-- are found with jsonb's ?, which a GIN index on disclosure can serve; a
-- fuzzy scan would drop some, as it did in usage_derived(), red team rt27e)
CREATE FUNCTION @extschema@._passport_source(battery @extschema@.battery_id, tier text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off
    SET gin_fuzzy_search_limit = 0 AS $$
DECLARE
    st record;
    made @extschema@.battery_event;
    placed @extschema@.battery_event;
    model @extschema@.battery_model;
    restricted_ok boolean := tier IN ('legitimate_interest', 'authority');   -- Annex XIII point 2
    usage_ok boolean := tier = 'legitimate_interest';                        -- point 4
    tests_ok boolean := tier = 'authority';                                  -- point 3
    v jsonb;
    fc @extschema@.battery_fold_cache;
    resp record;
    issued jsonb;
BEGIN
    -- the manufacture the fold accepts: another row (a member squatting the
    -- battery under another maker's namespace, a second "manufactured") must
    -- not give the passport its model, maker or date (red team r20, F1)
    -- (from the fold cache where it holds, read once here for the state as
    -- well: each read checks the cache against the registry)
    IF pg_is_in_recovery() THEN
        made := @extschema@._effective_manufacture(battery);
    ELSE
        fc := @extschema@._battery_fold_cached(battery);
        SELECT e.* INTO made FROM @extschema@.battery_event e
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.ledger_origin = fc.made_origin AND e.ledger_seq = fc.made_seq;
    END IF;
    IF made.battery_id IS NULL THEN
        RAISE EXCEPTION 'no battery % in the registry', battery USING ERRCODE = 'no_data_found';
    END IF;
    -- The state, and the operator responsible now (Art. 77(7), Art. 62):
    -- whoever last placed the battery on the market or moved its status; on
    -- "waste" the collector, recycler or operator that declared it waste.
    -- From the rules' fold cache where it still holds (the same as the whole
    -- fold, read-only), read once for both (issue 15: each read checks the
    -- cache against the registry); a standby cannot read the unlogged cache.
    -- _passport() moves responsibleOperator into the second-life section.
    IF pg_is_in_recovery() THEN
        SELECT * INTO st FROM @extschema@.battery_state(battery);
        SELECT l.signer, e.occurred_at, l.status INTO resp FROM @extschema@.battery_lifecycle(battery) l
          JOIN @extschema@.battery_event e ON e.battery_id OPERATOR(@extschema@.=) battery
                                          AND e.ledger_origin = l.ledger_origin AND e.ledger_seq = l.ledger_seq
         WHERE l.effective AND l.event IN ('placed_on_market', 'status_changed')
         ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC LIMIT 1;
        SELECT coalesce(jsonb_agg(jsonb_build_array(f.ledger_origin, f.ledger_seq)), '[]') INTO issued
          FROM @extschema@._battery_fold(battery, ROW(false, NULL, NULL, NULL, NULL, NULL), NULL, NULL, NULL) f
         WHERE f.effective AND f.named_passport IS NOT NULL AND f.event IN ('placed_on_market', 'status_changed');
    ELSE
        SELECT (fc.st).* INTO st;
        issued := fc.issued;
        SELECT fc.resp_signer AS signer, e.occurred_at, fc.resp_status AS status INTO resp
          FROM @extschema@.battery_event e
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.ledger_origin = fc.resp_origin AND e.ledger_seq = fc.resp_seq;
    END IF;
    -- the model as its holder declared it last (red team r20, F4: another
    -- member's row of the model id, the latest, was read)
    model := @extschema@._model_row(made.model_id);
    -- the event that issued the current passport (the fold's): the first of
    -- the battery's moves naming it.  The last row naming any passport id
    -- was read until 0.18.0, so a member moving a battery it did not hold
    -- (ineffective, an equivocation) set the passport's operator, issue date
    -- and warranty on every member (red team r20, F2).  An earlier issuing
    -- row naming the id would hold it, and the fold's would not be effective
    SELECT * INTO placed FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id = st.passport_id
       AND e.event IN ('placed_on_market', 'status_changed')
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1;

    v := jsonb_build_object(
        'tier', tier,
        'battery', battery::text,
        -- its status stays point 4
        'responsibleOperator', CASE WHEN resp.signer IS NOT NULL THEN jsonb_strip_nulls(jsonb_build_object(
            'member', resp.signer,
            'since', CASE WHEN usage_ok THEN resp.occurred_at END,
            'becauseOfStatus', CASE WHEN usage_ok THEN resp.status END)) END,
        -- the QR code's link resolves at this registry's resolver (battledger.resolver)
        'digitalLink', @extschema@.battery_digital_link(battery, @extschema@.registry_resolver()),
        'passportId', st.passport_id,
        'ceased', st.status = 'recycled',
        -- (the columns left out in one pass: each "-" copied the model again; 0.26.0)
        'model', to_jsonb(model) - ARRAY['materials', 'ledger_sig', 'ledger_key_id', 'ledger_prev', 'ledger_hash',
                                         'ledger_seq', 'ledger_batch', 'ledger_origin', 'ledger_at'],
        -- point 1: chemistry, critical raw materials, hazardous substances; point 2: the rest of the composition
        'materials', CASE WHEN restricted_ok THEN model.materials
                          ELSE (SELECT jsonb_object_agg(key, value) FROM jsonb_each(model.materials)
                                 WHERE key IN ('chemistry', 'criticalRawMaterials', 'hazardousSubstances', 'hazardousElements')) END,
        -- (a row's signer: the keys view's member, probed in the statement;
        -- _signer() adds a call and the member's roles, which are not shown,
        -- and a counted key's member always has them; 0.24.0, issue 15)
        'manufactured', jsonb_build_object('at', made.occurred_at, 'by', (SELECT k.member FROM @extschema@.keys k WHERE k.key_id OPERATOR(@extschema@.=) made.ledger_key_id),
                                           'data', made.data),
        'issued', jsonb_build_object('at', placed.occurred_at, 'by', (SELECT k.member FROM @extschema@.keys k WHERE k.key_id OPERATOR(@extschema@.=) placed.ledger_key_id),
                                     'event', placed.event, 'data', placed.data),
        -- the passports the fold's effective moves issued (red team r20, F2:
        -- every row naming an id was listed, a member's moves of a battery it
        -- did not hold included): from the cache, or the whole fold on a standby
        'history', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                               'passportId', e.passport_id, 'issuedAt', e.occurred_at,
                               'issuedBy', (SELECT k.member FROM @extschema@.keys k WHERE k.key_id OPERATOR(@extschema@.=) e.ledger_key_id),
                               'status', CASE WHEN usage_ok THEN
                                   CASE WHEN e.event = 'placed_on_market' THEN 'original' ELSE e.new_status END END))
                           ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
                      FROM @extschema@.battery_event e
                     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id IS NOT NULL
                       AND (e.ledger_origin, e.ledger_seq) IN (SELECT i->>0, (i->>1)::bigint FROM jsonb_array_elements(issued) i)));

    -- the manufacturer's declarations not for everyone (the v1.2 attribute list's access rights):
    -- safety measures are point 2; expected lifetime in years and initial self-discharge point 4
    IF NOT restricted_ok THEN
        v := v #- '{manufactured,data,documents,safetyInstructions}';
    END IF;
    IF NOT usage_ok THEN
        v := v #- '{manufactured,data,rated,expectedLifetimeYears}' #- '{manufactured,data,rated,selfDischargePct}';
    END IF;
    IF usage_ok THEN
        v := v || jsonb_build_object(
            'status', st.status,
            'inService', (SELECT min(e.occurred_at) FROM @extschema@.battery_event e
                           WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'installed'
                             -- signed in a role the event allows (red team r20, F3: a
                             -- member without one, bypassing its rules, wrote them)
                             AND EXISTS (SELECT 1 FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at) sg
                                           JOIN @extschema@.event_kind ek ON ek.event = e.event AND ek.subject = 'battery'
                                          WHERE sg.roles && ek.roles)),
            -- each dynamic attribute from the latest usage report that set it,
            -- the report named by the battery's usage state (87_usage_state.sql:
            -- until 0.22.0 the 8 latest reports were read, then each key none of
            -- them carried walked back through the battery's reports, and a GIN
            -- precheck for it matched every battery's nested cycle fields; issue
            -- 15); its value, time and hash read from the report; a value that is
            -- no number is none (_json_num(): a cast made the passport fail)
            -- (the reports the keys name, each read once with its leaf: a
            -- battery's keys often share one report; by position with LIMIT 1,
            -- which keeps the planner from joining every report of the battery,
            -- 9.5 ms at 18,864 reports)
            'dynamic', (WITH r AS MATERIALIZED (
                            SELECT p.pos, e.occurred_at, e.event, e.ledger_seq, e.ledger_hash, d.value,
                                   -- (leaf_index() written out: its call, with its pinned
                                   -- search_path, cost 6 times the probe; 0.26.0)
                                   (SELECT l.leaf_index FROM @extschema@.log_leaf l
                                     WHERE l.row_hash OPERATOR(@extschema@.=) e.ledger_hash
                                       AND l.tbl = '@extschema@.battery_event') AS leaf_index
                              FROM (SELECT DISTINCT p.value AS pos FROM @extschema@._usage_state u
                                     CROSS JOIN LATERAL jsonb_each(u.latest) p
                                     WHERE u.battery_id OPERATOR(@extschema@.=) battery) p
                             CROSS JOIN LATERAL (
                                   SELECT x.occurred_at, x.event, x.ledger_seq, x.ledger_hash, x.restricted
                                     FROM @extschema@.battery_event x
                                    WHERE x.battery_id OPERATOR(@extschema@.=) battery AND x.event = 'soh_reported'
                                      AND x.ledger_at = (p.pos->>0)::timestamptz AND x.ledger_origin = p.pos->>1
                                      AND x.ledger_seq = (p.pos->>2)::bigint
                                    LIMIT 1) e
                              JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                                                           AND d.tier = 'legitimate_interest'
                        )
                        -- (basis: the values as reported, which _passport_derived() adds
                        -- the derived ones to; it shaped them again until 0.26.0)
                        -- (_usage_value(): jsonb_build_object() of these fields, in C; 0.26.0)
                        SELECT jsonb_object_agg(a.key, @extschema@._usage_value(@extschema@._json_num(r.value->a.key),
                                   r.occurred_at, r.event, r.ledger_seq, r.ledger_hash::text, r.leaf_index, 'reported'))
                          FROM @extschema@._usage_state u
                         CROSS JOIN LATERAL jsonb_each(u.latest) p
                          JOIN @extschema@._dynamic_attribute a ON a.key = p.key
                          JOIN r ON r.pos = p.value
                         WHERE u.battery_id OPERATOR(@extschema@.=) battery AND r.value ? a.key),
            'negativeEvents', coalesce((SELECT jsonb_agg(jsonb_build_object('at', e.occurred_at, 'kind', e.data->>'kind')
                                                 ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
                                          FROM @extschema@.battery_event e
                                         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'negative_event'
                                           -- signed in a role the event allows (red team r20, F3: a
                                           -- member without one, bypassing its rules, wrote them)
                                           AND EXISTS (SELECT 1 FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at) sg
                                                         JOIN @extschema@.event_kind ek ON ek.event = e.event AND ek.subject = 'battery'
                                                        WHERE sg.roles && ek.roles)),
                                       '[]'::jsonb));
    END IF;
    IF tests_ok THEN
        -- test reports: restricted values of quality checks disclosed to
        -- authorities, each commitment named by its check alone (0.25.0,
        -- 87_usage_state.sql's header: a check naming another battery's
        -- commitment showed that battery's report as this one's, red team
        -- rt25 Q1; a probe per disclosed check)
        v := v || jsonb_build_object('testReports', (
            SELECT jsonb_agg(d.value->'testReport' ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
              FROM @extschema@.battery_event e
              JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
             WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'quality_checked'
               AND d.tier = 'authority' AND d.value ? 'testReport'
               AND @extschema@._commitment_rows(e.restricted, 2, false) < 2));
    END IF;
    -- values computed from the ledger (recycled content, usage) and registered operators
    RETURN @extschema@._passport_derived(v, battery, usage_ok, made, model);
END $$;

-- _passport_battledger(src jsonb) RETURNS jsonb: the registry's own passport
-- document (0.2.0's, with the tiers of Annex XIII), its second-life section
-- (src->'secondLife') included.  In C since 0.26.0 (src/pg/passport_doc.c,
-- whose header gives the fields): the PL/pgSQL expression built it level by
-- level, each level copying the ones below it again, the usage values
-- shaped a third time, nulls stripped by one more pass and the second-life
-- section concatenated by another, a quarter of a legitimate-interest
-- passport's instructions (issue 15).  The same document, byte for byte
-- (test/shell/passport_doc.sh).
CREATE FUNCTION @extschema@._passport_battledger(src jsonb) RETURNS jsonb
    LANGUAGE C IMMUTABLE AS 'MODULE_PATHNAME', 'bl_passport_battledger';

-- A passport identifier as a UUID (RFC 9562 version 8, name-based on SHA-256):
-- the standards' formats want a UUID or a bare URN where the registry lets the
-- operator choose any identifier.  The same passport always gets the same UUID.
CREATE FUNCTION @extschema@.passport_uuid(passport_id text) RETURNS uuid
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT encode(set_byte(set_byte(substr(h, 1, 16), 6, (get_byte(h, 6) & 15) | 128),
                           8, (get_byte(h, 8) & 63) | 128), 'hex')::uuid
      FROM (SELECT sha256(convert_to('battledger passport id' || chr(10) || passport_id, 'UTF8')) AS h) x
$$;
COMMENT ON FUNCTION @extschema@.passport_uuid(text) IS
    'a passport identifier as the UUID the BatteryPass and Catena-X formats show (version 8, from SHA-256)';

-- Helpers of the standard formats: each returns NULL when its source is absent,
-- so that a missing value is missing, never an empty placeholder.
CREATE FUNCTION @extschema@._bp_address(a jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN jsonb_typeof(a) = 'object' THEN jsonb_strip_nulls(jsonb_build_object(
        'addressCountry', a->'country', 'postalCode', a->'postalCode', 'streetAddress', a->'street')) END
$$;
-- No e-mail address: BatteryPass 1.2's pattern for it here lost its backslashes
-- ("^[w.-]+@[w.-]+.[A-Za-z]{2,}$" admits only the letter w, dots and hyphens),
-- so a real address would fail validation.  The registry's own format has it.
CREATE FUNCTION @extschema@._bp_contact(c jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT CASE WHEN jsonb_typeof(c) = 'object' THEN jsonb_strip_nulls(jsonb_build_object(
        'identifier', c->'id', 'contactName', c->'name', 'postalAddress', @extschema@._bp_address(c->'address'),
        'webAddress', c->'web')) END
$$;
-- a value of the latest usage report, with its time, in the shape BatteryPass uses
CREATE FUNCTION @extschema@._bp_dynamic(d jsonb, name text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN d ? 'value' THEN jsonb_build_object(name, d->'value', 'lastUpdate', d->'at') END
$$;
CREATE FUNCTION @extschema@._bp_array(a jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN jsonb_typeof(a) = 'array' THEN a END
$$;

-- The seven BatteryPass 1.2 aspects (DIN DKE SPEC 99100), keyed by aspect model URN.
CREATE FUNCTION @extschema@._passport_batterypass(src jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT jsonb_build_object(
        'urn:samm:io.BatteryPass.GeneralProductInformation:1.2.0#GeneralProductInformation', jsonb_strip_nulls(jsonb_build_object(
            'productIdentifier', m->'model_id',
            'batteryPassportIdentifier', 'urn:battledger:' || replace(@extschema@.passport_uuid(src->>'passportId')::text, '-', ''),
            'batteryCategory', CASE WHEN m->>'category' IN ('lmt', 'ev', 'industrial', 'stationary') THEN m->'category' END,
            'manufacturerInformation', @extschema@._bp_contact(made->'manufacturer'),
            'manufacturingDate', src->'manufactured'->'at',
            'batteryStatus', CASE src->>'status' WHEN 'original' THEN 'Original' WHEN 're-used' THEN 'Reused'
                                 WHEN 'repurposed' THEN 'Repurposed' WHEN 'remanufactured' THEN 'Remanufactured'
                                 WHEN 'waste' THEN 'Waste' END,
            'batteryMass', m->'mass_kg',
            'manufacturingPlace', @extschema@._bp_address(made->'manufacturingPlace'),
            'operatorInformation', @extschema@._bp_contact(issued->'operator'),
            'puttingIntoService', src->'inService',
            -- the schema's type is a month of the year (xsd:gMonth): only 1 to 12 months fit
            -- (a value that is not a number is none: _json_num(); a cast
            -- made the whole passport fail on an application's typo)
            'warrentyPeriod', CASE WHEN issued->'warranty'->>'unit' = 'month'
                                    AND @extschema@._json_num(issued->'warranty'->'value') BETWEEN 1 AND 12
                                   THEN '--' || lpad((@extschema@._json_num(issued->'warranty'->'value')::int)::text, 2, '0') END)),
        'urn:samm:io.BatteryPass.Performance:1.2.0#PerformanceAndDurability', jsonb_strip_nulls(jsonb_build_object(
            'batteryTechicalProperties', jsonb_build_object(
                'originalPowerCapability', (SELECT jsonb_agg(jsonb_build_object('atSoC', p.soc, 'powerCapabilityAt', p.w))
                                              FROM (VALUES (20, r->'powerAt20SocW'), (80, r->'powerAt80SocW')) p(soc, w)
                                             WHERE p.w IS NOT NULL),
                'ratedMaximumPower', r->'maximumPowerW',
                'powerCapabilityRatio', r->'powerCapabilityRatio',
                'ratedEnergy', m->'rated_energy_kwh',
                'expectedNumberOfCycles', m->'expected_lifetime_cycles',
                'initialSelfDischarge', r->'selfDischargePct',
                'roundtripEfficiency', r->'roundTripEfficiencyPct',
                'ratedCapacity', m->'rated_capacity_ah',
                'initialInternalResistance', (SELECT jsonb_agg(jsonb_build_object('ohmicResistance', x.ohm, 'batteryComponent', x.c))
                                                FROM (VALUES ('cell', r->'internalResistanceCellOhm'), ('module', r->'internalResistanceModuleOhm'),
                                                             ('pack', r->'internalResistancePackOhm')) x(c, ohm)
                                               WHERE x.ohm IS NOT NULL),
                'expectedLifetime', r->'expectedLifetimeYears',
                'cRate', r->'cRate',
                'nominalVoltage', m->'nominal_voltage_v',
                'minimumVoltage', m->'min_voltage_v',
                'maximumVoltage', m->'max_voltage_v',
                'capacityThresholdForExhaustion', m->'capacity_threshold_pct',
                'lifetimeReferenceTest', made->'documents'->'lifetimeReferenceTest'->'url',
                'cRateLifeCycleTest', r->'cycleLifeTest'->'chargeRate',
                -- one number in the schema for a range: the upper limit
                'temperatureRangeIdleState', r->'idleTemperatureUpperC'),
            'batteryCondition', CASE WHEN jsonb_typeof(src->'dynamic') = 'object' THEN jsonb_build_object(
                'energyThroughput', d->'energy_throughput_kwh'->'value',
                'capacityThroughput', @extschema@._bp_dynamic(d->'capacity_throughput_ah', 'capacityThroughputValue'),
                'numberOfFullCycles', @extschema@._bp_dynamic(d->'full_cycles', 'numberOfFullCyclesValue'),
                'stateOfCertifiedEnergy', @extschema@._bp_dynamic(d->'soce_pct', 'stateOfCertifiedEnergyValue'),
                'capacityFade', @extschema@._bp_dynamic(d->'capacity_fade_pct', 'capacityFadeValue'),
                'remainingEnergy', @extschema@._bp_dynamic(d->'remaining_energy_kwh', 'remainingEnergyalue'),
                'remainingCapacity', @extschema@._bp_dynamic(d->'capacity_ah', 'remainingCapacityValue'),
                'negativeEvents', (SELECT jsonb_agg(jsonb_build_object('negativeEvent', coalesce(n->>'kind', 'unspecified'), 'lastUpdate', n->'at'))
                                     FROM jsonb_array_elements(@extschema@._bp_array(src->'negativeEvents')) n),
                'temperatureInformation', CASE WHEN d ?& ARRAY['t_extreme_high_min', 't_extreme_low_min',
                                                               't_extreme_high_charging_min', 't_extreme_low_charging_min'] THEN
                    jsonb_build_object('timeExtremeHighTemp', d->'t_extreme_high_min'->'value',
                                       'timeExtremeLowTemp', d->'t_extreme_low_min'->'value',
                                       'timeExtremeHighTempCharging', d->'t_extreme_high_charging_min'->'value',
                                       'timeExtremeLowTempCharging', d->'t_extreme_low_charging_min'->'value',
                                       'lastUpdate', d->'t_extreme_high_min'->'at') END,
                'remainingPowerCapability', CASE WHEN d ? 'remaining_power_w' AND d ? 'remaining_power_soc_pct' THEN
                    jsonb_build_array(jsonb_build_object('remainingPowerCapabilityValue', jsonb_build_object(
                        'rPCLastUpdated', d->'remaining_power_w'->'at', 'atSoC', d->'remaining_power_soc_pct'->'value',
                        'powerCapabilityAt', d->'remaining_power_w'->'value'), 'lastUpdate', d->'remaining_power_w'->'at')) END,
                'powerFade', d->'power_fade_pct'->'value',
                'roundTripEfficiencyFade', d->'rte_fade_pct'->'value',
                'evolutionOfSelfDischarge', CASE WHEN d ? 'self_discharge_evolution_pct' THEN
                    jsonb_build_object('evolutionOfSelfDischargeEntityValue', d->'self_discharge_evolution_pct'->'value') END,
                'currentSelfDischargingRate', @extschema@._bp_dynamic(d->'self_discharge_pct', 'currentSelfDischargingRateEntity'),
                'internalResistanceIncrease', CASE WHEN d ? 'resistance_increase_pct' THEN
                    jsonb_build_array(@extschema@._bp_dynamic(d->'resistance_increase_pct', 'internalResistanceIncreaseValue')
                                      || jsonb_build_object('batteryComponent', coalesce(made->>'granularity', 'pack'))) END,
                'roundTripEfficiencyat50PerCentCycleLife', r->'roundTripEfficiencyAt50PctLifePct',
                'remainingRoundTripEnergyEfficiency', @extschema@._bp_dynamic(d->'rte_remaining_pct', 'remainingRoundTripEnergyEfficiencyValue'),
                'stateOfCharge', @extschema@._bp_dynamic(d->'soc_pct', 'stateOfChargeValue')) END)),
        'urn:samm:io.BatteryPass.MaterialComposition:1.2.0#MaterialComposition', jsonb_strip_nulls(jsonb_build_object(
            'batteryChemistry', coalesce(src->'materials'->'chemistry',
                                         jsonb_build_object('shortName', split_part(m->>'chemistry', ' ', 1), 'clearName', m->'chemistry')),
            'batteryMaterials', (SELECT jsonb_agg(jsonb_build_object(
                                        'batteryMaterialLocation', jsonb_build_object('componentName', x->'component'),
                                        'batteryMaterialIdentifier', x->'cas', 'batteryMaterialName', x->'name',
                                        'batteryMaterialMass', x->'massKg', 'isCriticalRawMaterial', x->'critical'))
                                   FROM jsonb_array_elements(@extschema@._bp_array(src->'materials'->'batteryMaterials')) x),
            'hazardousSubstances', (SELECT jsonb_agg(jsonb_build_object(
                                        'hazardousSubstanceClass', x->'class', 'hazardousSubstanceName', x->'name',
                                        'hazardousSubstanceConcentration', x->'concentrationPct',
                                        'hazardousSubstanceImpact', x->'impact',
                                        'hazardousSubstanceLocation', jsonb_build_object('componentName', x->'component'),
                                        'hazardousSubstanceIdentifier', x->'cas'))
                                      FROM jsonb_array_elements(@extschema@._bp_array(src->'materials'->'hazardousSubstances')) x))),
        'urn:samm:io.BatteryPass.Circularity:1.2.0#Circularity', jsonb_strip_nulls(jsonb_build_object(
            'dismantlingAndRemovalInformation', (SELECT jsonb_agg(jsonb_build_object('documentType', x->'documentType',
                                                        'mimeType', x->'mimeType', 'documentURL', x->'url'))
                                                   FROM jsonb_array_elements(@extschema@._bp_array(src->'materials'->'dismantling')) x),
            'sparePartSources', (SELECT jsonb_agg(jsonb_build_object('nameOfSupplier', x->'name',
                                        'addressOfSupplier', @extschema@._bp_address(x->'address'),
                                        'emailAddressOfSupplier', x->'email', 'supplierWebAddress', x->'web',
                                        'components', x->'components'))
                                   FROM jsonb_array_elements(@extschema@._bp_array(src->'materials'->'sparePartSources')) x),
            'recycledContent', (SELECT jsonb_agg(jsonb_build_object('recycledMaterial', initcap(k.key),
                                        'preConsumerShare', k.value->'preConsumerShare', 'postConsumerShare', k.value->'postConsumerShare')
                                        ORDER BY k.key)
                                  FROM jsonb_each(CASE WHEN jsonb_typeof(m->'recycled_content') = 'object' THEN m->'recycled_content' END) k
                                 WHERE k.key IN ('cobalt', 'nickel', 'lithium', 'lead')),
            'safetyMeasures', CASE WHEN made->'documents' ? 'safetyInstructions' OR made ? 'extinguishingAgent' THEN jsonb_build_object(
                'safetyInstructions', made->'documents'->'safetyInstructions'->'url',
                'extinguishingAgent', made->'extinguishingAgent') END,
            'endOfLifeInformation', CASE WHEN made->'documents' ?| ARRAY['wastePrevention', 'separateCollection', 'informationOnCollection'] THEN jsonb_build_object(
                'wastePrevention', made->'documents'->'wastePrevention'->'url',
                'separateCollection', made->'documents'->'separateCollection'->'url',
                'informationOnCollection', made->'documents'->'informationOnCollection'->'url') END,
            'renewableContent', made->'renewableContentPct')),
        'urn:samm:io.BatteryPass.CarbonFootprint:1.2.0#CarbonFootprintForBatteries', jsonb_strip_nulls(jsonb_build_object(
            'batteryCarbonFootprint', m->'carbon_footprint_kg_co2e_per_kwh',
            'carbonFootprintPerLifecycleStage', (SELECT jsonb_agg(jsonb_build_object('lifecycleStage', k.key, 'carbonFootprint', k.value)
                                                        ORDER BY k.key)
                                                   FROM jsonb_each(CASE WHEN jsonb_typeof(made->'carbonFootprint'->'perStage') = 'object'
                                                                        THEN made->'carbonFootprint'->'perStage' END) k),
            'carbonFootprintPerformanceClass', made->'carbonFootprint'->'performanceClass',
            'carbonFootprintStudy', made->'documents'->'carbonFootprintStudy'->'url',
            'absoluteCarbonFootprint', made->'carbonFootprint'->'absoluteKgCo2e')),
        'urn:samm:io.BatteryPass.SupplyChainDueDiligence:1.2.0#SupplyChainDueDiligence', jsonb_strip_nulls(jsonb_build_object(
            'supplyChainDueDiligenceReport', made->'documents'->'dueDiligenceReport'->'url',
            'thirdPartyAussurances', made->'documents'->'thirdPartyAssurances'->'url',
            'supplyChainIndicies', made->'supplyChainIndex')),
        'urn:samm:io.BatteryPass.Labels:1.2.0#Labeling', jsonb_strip_nulls(jsonb_build_object(
            'declarationOfConformity', made->'documents'->'declarationOfConformity'->'url',
            'resultOfTestReport', src->'testReports'->-1->'url',
            'labels', (SELECT jsonb_agg(jsonb_build_object('labelingSubject', x->'subject', 'labelingSymbol', x->'symbol',
                                                           'labelingMeaning', jsonb_build_object('en', x->'meaning')))
                         FROM jsonb_array_elements(@extschema@._bp_array(made->'labels')) x))))
      FROM (SELECT src->'model' AS m, coalesce(src->'manufactured'->'data', '{}') AS made,
                   coalesce(src->'issued'->'data', '{}') AS issued, coalesce(src->'manufactured'->'data'->'rated', '{}') AS r,
                   CASE WHEN jsonb_typeof(src->'dynamic') = 'object' THEN src->'dynamic' ELSE '{}' END AS d) x
$$;

-- A document reference in Catena-X's shape: the ledger holds {url, sha256}.
CREATE FUNCTION @extschema@._cx_doc(doc jsonb, header text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN doc ? 'url' THEN jsonb_build_array(jsonb_build_object(
        'contentType', 'URL', 'header', left(coalesce(doc->>'title', header), 100), 'content', doc->'url')) END
$$;
-- the value of an identifier "scheme:value" when its scheme is the one wanted (bpnl, bpna)
CREATE FUNCTION @extschema@._cx_id(id text, scheme text) RETURNS text
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN lower(split_part(id, ':', 1)) = scheme THEN substr(id, length(scheme) + 2) END
$$;
CREATE FUNCTION @extschema@._cx_dynamic(d jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN d ? 'value' THEN jsonb_build_object('value', d->'value', 'time', d->'at') END
$$;

-- One Catena-X battery pass (io.catenax.battery.battery_pass 6.1.0).
CREATE FUNCTION @extschema@._passport_catenax(src jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'identification', jsonb_build_object(
            -- Catena-X has no stationary category: stationary storage batteries are industrial batteries (Art. 3(14))
            'category', CASE m->>'category' WHEN 'ev' THEN 'EV' WHEN 'lmt' THEN 'LMT' WHEN 'sli' THEN 'SLI'
                                            WHEN 'portable' THEN 'portable' WHEN 'industrial' THEN 'industrial'
                                            WHEN 'stationary' THEN 'industrial' END,
            -- the data matrix / QR code carries the battery identifier
            'idDmc', src->'battery',
            'chemistry', m->'chemistry',
            'identification', jsonb_build_object(
                'type', jsonb_build_object('manufacturerPartId', m->'model_id', 'nameAtManufacturer', coalesce(made->'productName', m->'model_id')),
                'codes', made->'codes',
                'dataCarrier', CASE WHEN made ? 'dataCarrierLayout' THEN
                    jsonb_build_object('carrierType', 'QR', 'carrierLayout', made->'dataCarrierLayout') END,
                'classification', made->'classification')),
        'operation', jsonb_build_object('manufacturer', jsonb_build_object(
            'manufacturer', @extschema@._cx_id(coalesce(made->'manufacturer'->>'bpnl', made->'manufacturer'->>'id'), 'bpnl'),
            'facility', CASE WHEN @extschema@._cx_id(made->>'facility', 'bpna') IS NOT NULL THEN
                jsonb_build_array(jsonb_build_object('facility', @extschema@._cx_id(made->>'facility', 'bpna'))) END)),
        'characteristics', jsonb_build_object(
            'warranty', CASE WHEN issued->'warranty'->>'unit' IN ('day', 'month', 'year', 'cycle') THEN jsonb_build_object(
                'lifeValue', issued->'warranty'->'value', 'lifeUnit', 'unit:' || (issued->'warranty'->>'unit')) END,
            'physicalDimension', CASE WHEN m ? 'mass_kg' AND m->'mass_kg' <> 'null' THEN jsonb_build_object(
                'weight', jsonb_build_object('value', m->'mass_kg', 'unit', 'unit:kilogram')) END),
        'sustainability', jsonb_build_object(
            'documents', jsonb_build_object(
                'separateCollection', @extschema@._cx_doc(docs->'separateCollection', 'separate collection'),
                'wastePrevention', @extschema@._cx_doc(docs->'wastePrevention', 'waste prevention')),
            'carbonFootprint', CASE WHEN m->'carbon_footprint_kg_co2e_per_kwh' <> 'null' THEN (
                SELECT jsonb_agg(jsonb_build_object('value', c.value, 'unit', 'kg CO2e / kWh', 'type', 'Climate Change Total',
                                                    'lifecycle', c.stage,
                                                    'performanceClass', made->'carbonFootprint'->'performanceClass',
                                                    'rulebook', @extschema@._cx_doc(docs->'carbonFootprintRulebook', 'carbon footprint rules'),
                                                    'declaration', @extschema@._cx_doc(docs->'carbonFootprintStudy', 'carbon footprint study'),
                                                    'manufacturingPlant', CASE WHEN @extschema@._cx_id(made->>'facility', 'bpna') IS NOT NULL THEN
                                                        jsonb_build_array(jsonb_build_object('facility', @extschema@._cx_id(made->>'facility', 'bpna'))) END)
                                 ORDER BY c.n)
                  FROM (SELECT 0 AS n, 'total' AS stage, m->'carbon_footprint_kg_co2e_per_kwh' AS value
                        UNION ALL
                        SELECT 1, k.key, k.value FROM jsonb_each(CASE WHEN jsonb_typeof(made->'carbonFootprint'->'perStage') = 'object'
                                                                      THEN made->'carbonFootprint'->'perStage' END) k) c) END,
            'status', src->'status'),
        'materials', jsonb_build_object(
            'active', (SELECT jsonb_object_agg(k.key, k.value || jsonb_build_object(
                                  'recycled', coalesce(@extschema@._json_num(m->'recycled_content'->k.key->'preConsumerShare'), 0)
                                            + coalesce(@extschema@._json_num(m->'recycled_content'->k.key->'postConsumerShare'), 0)))
                         FROM jsonb_each(CASE WHEN jsonb_typeof(mat->'activeMaterials') = 'object' THEN mat->'activeMaterials' END) k),
            'hazardous', CASE WHEN jsonb_typeof(mat->'hazardousElements') = 'object' THEN mat->'hazardousElements' END,
            'composition', (SELECT jsonb_agg(jsonb_build_object(
                                    'id', jsonb_build_array(jsonb_build_object('id', x->'cas', 'type', 'CAS', 'name', x->'name')),
                                    'concentration', x->'concentrationPct', 'unit', 'unit:percent', 'critical', x->'critical',
                                    'documentation', coalesce(@extschema@._cx_doc(x->'documentation', 'composition'), '[]'),
                                    'recycled', coalesce(x->'recycledPct', '0'), 'location', x->'component',
                                    'renewable', coalesce(x->'renewablePct', '0')))
                              FROM jsonb_array_elements(@extschema@._bp_array(mat->'batteryMaterials')) x)),
        'performance', jsonb_build_object(
            'rated', jsonb_build_object(
                'voltage', jsonb_build_object('min', m->'min_voltage_v', 'max', m->'max_voltage_v', 'nominal', m->'nominal_voltage_v'),
                'roundTripEfficiency', jsonb_build_object('depthOfDischarge', r->'roundTripEfficiencyDoDPct',
                                                          'initial', r->'roundTripEfficiencyPct',
                                                          '50PercentLife', r->'roundTripEfficiencyAt50PctLifePct'),
                'resistance', jsonb_build_object('cell', r->'internalResistanceCellOhm', 'pack', r->'internalResistancePackOhm'),
                'power', jsonb_build_object('value', coalesce(r->'maximumPowerW', m->'original_power_w'),
                                            'at20SoC', r->'powerAt20SocW', 'at80SoC', r->'powerAt80SocW'),
                'capacity', jsonb_build_object('value', m->'rated_capacity_ah', 'thresholdExhaustion', m->'capacity_threshold_pct'),
                'temperature', jsonb_build_object('lower', r->'idleTemperatureLowerC', 'upper', r->'idleTemperatureUpperC'),
                'selfDischargingRate', r->'selfDischargePct',
                'lifetime', jsonb_build_object(
                    'expectedYears', r->'expectedLifetimeYears',
                    'report', @extschema@._cx_doc(docs->'lifetimeReferenceTest', 'lifetime reference test'),
                    'cycleLifeTesting', CASE WHEN jsonb_typeof(r->'cycleLifeTest') = 'object' THEN jsonb_build_object(
                        'temperature', r->'cycleLifeTest'->'temperatureC', 'cycles', coalesce(r->'cycleLifeTest'->'cycles', m->'expected_lifetime_cycles'),
                        'depthOfDischarge', r->'cycleLifeTest'->'depthOfDischargePct',
                        'appliedChargeRate', r->'cycleLifeTest'->'chargeRate',
                        'appliedDischargeRate', r->'cycleLifeTest'->'dischargeRate') END)),
            'dynamic', CASE WHEN jsonb_typeof(src->'dynamic') = 'object' THEN jsonb_build_object(
                'stateOfCharge', @extschema@._cx_dynamic(d->'soc_pct'),
                'fullCycles', @extschema@._cx_dynamic(d->'full_cycles'),
                'selfDischargingRate', d->'self_discharge_pct'->'value',
                'power', jsonb_build_object('fade', @extschema@._cx_dynamic(d->'power_fade_pct'),
                                            'remaining', @extschema@._cx_dynamic(d->'remaining_power_w')),
                'capacity', jsonb_build_object('fade', @extschema@._cx_dynamic(d->'capacity_fade_pct'),
                                               'throughput', @extschema@._cx_dynamic(d->'capacity_throughput_ah'),
                                               'capacity', @extschema@._cx_dynamic(d->'capacity_ah')),
                'roundTripEfficiency', jsonb_build_object('fade', @extschema@._cx_dynamic(d->'rte_fade_pct'),
                                                          'remaining', @extschema@._cx_dynamic(d->'rte_remaining_pct')),
                -- the battery's own level (its granularity) and, for a pack or module, its cells
                'resistance', jsonb_build_object(
                    'increase', jsonb_build_object('cell', @extschema@._cx_dynamic(d->'resistance_increase_cell_pct'))
                                || jsonb_build_object(coalesce(made->>'granularity', 'pack'), @extschema@._cx_dynamic(d->'resistance_increase_pct')),
                    'remaining', jsonb_build_object('cell', @extschema@._cx_dynamic(d->'re_cell_ohm'))
                                 || jsonb_build_object(coalesce(made->>'granularity', 'pack'), @extschema@._cx_dynamic(d->'re_ohm'))),
                'energy', jsonb_build_object('soce', @extschema@._cx_dynamic(d->'soce_pct'),
                                             'remaining', @extschema@._cx_dynamic(d->'remaining_energy_kwh'))) END),
        'conformity', jsonb_build_object(
            'declarationOfConformity', @extschema@._cx_doc(docs->'declarationOfConformity', 'EU declaration of conformity'),
            'resultOfTestReport', (SELECT jsonb_agg(t->0) FROM jsonb_array_elements(@extschema@._bp_array(src->'testReports')) x,
                                          LATERAL (SELECT @extschema@._cx_doc(x, 'test report') AS t) y WHERE t IS NOT NULL),
            'thirdPartyAssurance', @extschema@._cx_doc(docs->'thirdPartyAssurances', 'third-party assurance'),
            'dueDiligencePolicy', @extschema@._cx_doc(docs->'dueDiligenceReport', 'supply chain due diligence report')),
        'safety', jsonb_build_object(
            'usableExtinguishAgent', (SELECT jsonb_agg(jsonb_build_object('media', x->'media', 'fireClass', x->'fireClass'))
                                        FROM jsonb_array_elements(@extschema@._bp_array(made->'extinguishingAgents')) x),
            'safetyMeasures', @extschema@._cx_doc(docs->'safetyInstructions', 'safety instructions'),
            'meaningOfLabels', @extschema@._cx_doc(docs->'meaningOfLabels', 'meaning of labels'),
            'dismantling', (SELECT jsonb_agg(jsonb_build_object('contentType', 'URL', 'header', left(x->>'documentType', 100), 'content', x->'url'))
                              FROM jsonb_array_elements(@extschema@._bp_array(mat->'dismantling')) x)),
        'metadata', jsonb_build_object(
            'version', (jsonb_array_length(@extschema@._bp_array(src->'history')))::text,
            'issueDate', to_char((src->'issued'->>'at')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
            'expirationDate', issued->'passportExpiry',
            -- the operator's Catena-X BPNL, as registered when it is named by another scheme
            'economicOperatorId', @extschema@._cx_id(coalesce(issued->'operator'->>'bpnl', issued->'operator'->>'id'), 'bpnl'),
            'passportIdentifier', 'urn:uuid:' || @extschema@.passport_uuid(src->>'passportId')::text,
            -- the previous passport of this battery; the nil UUID for the first
            -- (for a successor's first passport: its first predecessor's, Art. 77(7); the others are in the native format)
            'predecessor', 'urn:uuid:' || coalesce(@extschema@.passport_uuid(src->'history'->-2->>'passportId'),
                                                   @extschema@.passport_uuid(src->'secondLife'->'predecessors'->0->>'passportId'),
                                                   '00000000-0000-0000-0000-000000000000'::uuid)::text,
            'registrationIdentifier', src->'passportId',
            'backupReference', src->'digitalLink'),
        'commercial', jsonb_build_object(
            'purpose', made->'purpose',
            'placedOnMarket', (SELECT to_char((h->>'issuedAt')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM jsonb_array_elements(@extschema@._bp_array(src->'history')) h LIMIT 1)),
        'handling', CASE WHEN mat ? 'sparePartSources' THEN jsonb_build_object(
            'applicable', true,
            'content', jsonb_build_object(
                'producer', (SELECT jsonb_agg(jsonb_build_object('id', @extschema@._cx_id(x->>'id', 'bpnl')))
                               FROM jsonb_array_elements(@extschema@._bp_array(mat->'sparePartSources')) x
                              WHERE @extschema@._cx_id(x->>'id', 'bpnl') IS NOT NULL),
                'sparePart', (SELECT jsonb_agg(jsonb_build_object('manufacturerPartId', c->'partNumber', 'nameAtManufacturer', c->'partName'))
                                FROM jsonb_array_elements(@extschema@._bp_array(mat->'sparePartSources')) x,
                                     jsonb_array_elements(@extschema@._bp_array(x->'components')) c))) END))
      FROM (SELECT src->'model' AS m, coalesce(src->'manufactured'->'data', '{}') AS made,
                   coalesce(src->'manufactured'->'data'->'documents', '{}') AS docs,
                   coalesce(src->'materials', '{}') AS mat,
                   coalesce(src->'issued'->'data', '{}') AS issued, coalesce(src->'manufactured'->'data'->'rated', '{}') AS r,
                   CASE WHEN jsonb_typeof(src->'dynamic') = 'object' THEN src->'dynamic' ELSE '{}' END AS d) x
$$;

-- Second life, composition, responsibility and repairs in a passport (Art.
-- 77(7); docs/registry.md, "Second life and composition"), at a tier: the
-- links between passports and the operator responsible now are public
-- (point 1); the composition is point 2; statuses, the performance captured
-- when a battery was repurposed or remanufactured and the repairs are point 4.
CREATE FUNCTION @extschema@._passport_second_life(battery @extschema@.battery_id, tier text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    restricted_ok boolean := tier IN ('legitimate_interest', 'authority');   -- point 2
    usage_ok boolean := tier = 'legitimate_interest';                        -- point 4
    preds jsonb;
    comps jsonb;
    succ jsonb;
    c record;
    part @extschema@.battery_id;
BEGIN
    -- the predecessors the rows confirm, each with its passport and, for
    -- legitimate interest, its status and performance at the status change:
    -- the values disclosed with the consuming move, else its last usage report
    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'batteryIdentifier', cl.id,
               'passportId', (@extschema@.battery_state(cl.id::@extschema@.battery_id)).passport_id,
               'digitalLink', @extschema@.battery_digital_link(cl.id::@extschema@.battery_id),
               'consumedAt', co.occurred_at, 'consumedBy', co.signer,
               'status', CASE WHEN usage_ok THEN co.new_status END,
               'performanceAtStatusChange', CASE WHEN usage_ok THEN @extschema@._performance_at(cl.id::@extschema@.battery_id, co) END))
               ORDER BY co.ledger_at, co.ledger_origin, co.ledger_seq)
      INTO preds
      FROM @extschema@._second_life_claims(battery) cl
      CROSS JOIN LATERAL @extschema@._battery_consumption(cl.id::@extschema@.battery_id) co
     WHERE cl.claim = 'predecessor' AND cl.confirmed;
    IF restricted_ok THEN
        SELECT jsonb_agg(jsonb_build_object('batteryIdentifier', cl.id,
                                            'passportId', (@extschema@.battery_state(cl.id::@extschema@.battery_id)).passport_id)
                         ORDER BY cl.id)
          INTO comps FROM @extschema@._second_life_claims(battery) cl WHERE cl.claim = 'component' AND cl.confirmed;
        -- the pack this battery was built into (the first confirmed claim)
        SELECT e.battery_id INTO part FROM @extschema@.battery_event e
         WHERE e.event = 'manufactured' AND e.data @> jsonb_build_object('components', jsonb_build_array(battery::text))
           AND EXISTS (SELECT 1 FROM @extschema@._second_life_claims(e.battery_id) cl
                        WHERE cl.claim = 'component' AND cl.id = battery::text AND cl.confirmed)
         LIMIT 1;
    END IF;
    SELECT * INTO c FROM @extschema@._battery_consumption(battery);
    IF c.successor IS NOT NULL THEN
        succ := jsonb_strip_nulls(jsonb_build_object(
            'batteryIdentifier', c.successor,
            'passportId', (@extschema@.battery_state(c.successor::@extschema@.battery_id)).passport_id,
            'at', c.occurred_at, 'by', c.signer,
            'status', CASE WHEN usage_ok THEN c.new_status END,
            -- does the successor's manufacture name this battery?
            'confirmed', EXISTS (SELECT 1 FROM @extschema@._second_life_claims(c.successor::@extschema@.battery_id) cl
                                  WHERE cl.claim = 'predecessor' AND cl.id = battery::text AND cl.confirmed)));
    END IF;
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'predecessors', preds,
        'successor', succ,
        'composition', comps,
        'partOf', part::text,
        -- (responsibleOperator: _passport_source(), with the state)
        -- DIN DKE SPEC 99100 6.1.3.7 f: repairs, for legitimate interest
        'repairs', CASE WHEN usage_ok THEN (
            SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('at', e.occurred_at, 'by', (@extschema@._signer(e.ledger_key_id)).member,
                                                                  'kind', e.data->'kind', 'parts', e.data->'parts',
                                                                  'ledgerHash', e.ledger_hash::text))
                             ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
              FROM @extschema@.battery_event e
             WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'repaired'
               -- signed in a role the event allows (red team r20, F3)
               AND EXISTS (SELECT 1 FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at) sg
                             JOIN @extschema@.event_kind ek ON ek.event = e.event AND ek.subject = 'battery'
                            WHERE sg.roles && ek.roles)) END));
END $$;

-- A consumed battery's performance when its status changed: the values
-- disclosed (legitimate interest) with the consuming move, else those of its
-- last usage report before it; by passport attribute name.  A commitment
-- another row of any kind names too counts for none (0.25.0,
-- 87_usage_state.sql's header; red team rt25 Q2: a consuming move naming
-- another battery's usage report showed its values as this battery's):
-- the move's then counts as undisclosed.
CREATE FUNCTION @extschema@._performance_at(battery @extschema@.battery_id, co record) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v jsonb;
    src text := 'statusChange';
    at timestamptz := co.occurred_at;
BEGIN
    SELECT d.value INTO v FROM @extschema@.disclosure d
     WHERE d.commitment OPERATOR(@extschema@.=) co.restricted AND d.tier = 'legitimate_interest'
       AND @extschema@._commitment_rows(co.restricted, 2, false) < 2;
    IF v IS NULL THEN
        src := 'lastUsageReport';
        SELECT d.value, e.occurred_at INTO v, at FROM @extschema@.battery_event e
          JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND d.tier = 'legitimate_interest'
           AND (e.ledger_at, e.ledger_origin, e.ledger_seq) < (co.ledger_at, co.ledger_origin, co.ledger_seq)
           -- a commitment another row names too counts for none (0.25.0, 87_usage_state.sql)
           AND @extschema@._commitment_rows(e.restricted, 2, false) < 2
         ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1;
    END IF;
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object('source', src, 'timestamp', at)
        || coalesce((SELECT jsonb_object_agg(a.name, jsonb_build_object('value', v->a.key, 'unit', a.unit))
                       FROM @extschema@._dynamic_attribute a WHERE v ? a.key), '{}');
END $$;

-- Generic plans for everything a passport runs (the setting holds for the
-- functions it calls): its statements' best plans do not depend on which
-- battery, and custom plans made PostgreSQL plan them again on every call,
-- a third of a legitimate-interest passport's time (issue 15).
CREATE FUNCTION @extschema@._passport(battery @extschema@.battery_id, tier text, format text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off
    SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    src jsonb := @extschema@._passport_source(battery, tier);
    second_life jsonb := @extschema@._passport_second_life(battery, tier);
BEGIN
    -- the operator responsible now is read with the state (_passport_source())
    -- and shown among the links between passports
    IF jsonb_typeof(src->'responsibleOperator') = 'object' THEN
        second_life := second_life || jsonb_build_object('responsibleOperator', src->'responsibleOperator');
    END IF;
    src := src - 'responsibleOperator';
    src := src || jsonb_build_object('secondLife', second_life);
    IF format = 'battledger' THEN
        -- (the second-life section from src: _passport_battledger() copies it)
        RETURN @extschema@._passport_battledger(src);
    END IF;
    IF (src->>'ceased')::boolean THEN
        RAISE EXCEPTION 'the passport of battery % has ceased to exist', battery USING ERRCODE = 'no_data_found',
            DETAIL = 'The battery has been recycled (Art. 77(8)); neither BatteryPass nor Catena-X has a status for it.',
            HINT = 'The registry''s own format (battledger) still shows its history.';
    END IF;
    IF format = 'batterypass' THEN
        IF src->'model'->>'category' NOT IN ('lmt', 'ev', 'industrial', 'stationary') THEN
            RAISE EXCEPTION 'BatteryPass 1.2 has no passport for a % battery', src->'model'->>'category'
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = 'Its categories are lmt, ev, industrial and stationary: the batteries that need a passport (Art. 77(1)).',
                      HINT = 'Use the formats battledger or catenax.';
        END IF;
        RETURN @extschema@._passport_batterypass(src);
    END IF;
    RETURN @extschema@._passport_catenax(src);
END $$;

-- One function per tier, so that PostgreSQL itself decides who reads which
-- tier: each runs as the owner (the ledger tables are not readable by roles
-- without a tier) and only the tier's role may execute it.  PL/pgSQL, not
-- SQL (0.24.0): an SQL function with SET options is parsed and planned again
-- at each call (issue 15).
CREATE FUNCTION @extschema@._passport_public(battery @extschema@.battery_id, format text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN @extschema@._passport(battery, 'public', format);
END $$;
CREATE FUNCTION @extschema@._passport_legitimate_interest(battery @extschema@.battery_id, format text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN @extschema@._passport(battery, 'legitimate_interest', format);
END $$;
CREATE FUNCTION @extschema@._passport_authority(battery @extschema@.battery_id, format text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN @extschema@._passport(battery, 'authority', format);
END $$;

-- The passport at an access tier, in a format: battledger (the registry's own
-- document), batterypass (the seven BatteryPass 1.2 aspects, keyed by aspect
-- model URN) or catenax (one Catena-X battery pass 6.1.0).  It runs as the
-- caller: the tier check below reads the caller's roles, and the tier
-- function it calls checks them again (EXECUTE privilege).
CREATE FUNCTION @extschema@.passport(battery @extschema@.battery_id, tier text DEFAULT 'public',
                                     format text DEFAULT 'battledger')
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF tier IS NULL OR tier NOT IN ('public', 'legitimate_interest', 'authority') THEN
        RAISE EXCEPTION 'unknown access tier "%"', tier USING ERRCODE = 'invalid_parameter_value',
            HINT = 'The tiers are public, legitimate_interest and authority.';
    END IF;
    IF format IS NULL OR format NOT IN ('battledger', 'batterypass', 'catenax') THEN
        RAISE EXCEPTION 'unknown passport format "%"', format USING ERRCODE = 'invalid_parameter_value',
            HINT = 'The formats are battledger, batterypass (BatteryPass 1.2) and catenax (Catena-X 6.1.0).';
    END IF;
    IF tier <> 'public' AND NOT pg_has_role(current_user, 'battledger_' || tier, 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied for passport tier "%"', tier USING ERRCODE = 'insufficient_privilege',
            HINT = format('Grant the role battledger_%s to read it.', tier);
    END IF;
    -- separate statements: EXECUTE is checked when an expression starts, for every function in it
    IF tier = 'public' THEN
        RETURN @extschema@._passport_public(battery, format);
    ELSIF tier = 'legitimate_interest' THEN
        RETURN @extschema@._passport_legitimate_interest(battery, format);
    END IF;
    RETURN @extschema@._passport_authority(battery, format);
END $$;
COMMENT ON FUNCTION @extschema@.passport(@extschema@.battery_id, text, text) IS
    'the battery passport as of now, at an access tier (Art. 77(2)), as battledger, batterypass (BatteryPass 1.2) or catenax (Catena-X 6.1.0)';

CREATE FUNCTION @extschema@.battery_history(battery @extschema@.battery_id)
    RETURNS TABLE (seq bigint, event text, occurred_at timestamptz, signer text, new_status text,
                   passport_id text, ledger_hash @extschema@.hash256, leaf_index bigint, sealed boolean)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT e.ledger_seq, e.event, e.occurred_at, k.member,
           e.new_status, e.passport_id, e.ledger_hash, l.leaf_index, l.leaf_index IS NOT NULL
      FROM @extschema@.battery_event e
      -- (keys: the member the key counts for, one row at most; a key_event
      -- row added twice listed the event twice until 0.22.0)
      LEFT JOIN LATERAL (SELECT x.member FROM @extschema@.keys x
                          WHERE x.key_id OPERATOR(@extschema@.=) e.ledger_key_id OFFSET 0) k ON true
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
        SELECT 1, i->>'lot', @extschema@._json_num(i->'mass_kg')
          FROM @extschema@.battery_event e, jsonb_array_elements(e.lots) i
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
           -- the manufacture the fold accepts: not a squatter's lots (red team r20, F1)
           AND e.ledger_hash OPERATOR(@extschema@.=) (@extschema@._effective_manufacture(battery)).ledger_hash
           AND jsonb_typeof(e.lots) = 'array'
        -- UNION, not UNION ALL: a lot named at the same depth with the same
        -- mass by several paths is listed once.  One row per path let a lot
        -- whose inputs name the same lots many times (itself, written past
        -- the rules; or ten lots a level each naming the ten below) make
        -- 3^19 rows or more (red team r23, F2)
        UNION
        -- a lot's inputs, and below its material, from the creation the
        -- registry counts (_lot_creation()): not every row creating the
        -- id, another member's among them
        SELECT u.depth + 1, i->>'lot', @extschema@._json_num(i->'mass_kg')
          FROM used u
          CROSS JOIN LATERAL @extschema@._lot_creation(u.lot) le
          CROSS JOIN LATERAL jsonb_array_elements(le.inputs) i
         WHERE u.depth < 20 AND le.event = 'processed' AND jsonb_typeof(le.inputs) = 'array'
    )
    SELECT u.depth, u.lot, c.event, c.material, c.mass_kg, u.kg, c.country, c.facility,
           (@extschema@._signer(c.ledger_key_id)).member
      FROM used u
      CROSS JOIN LATERAL @extschema@._lot_creation(u.lot) c
     WHERE c.lot_id IS NOT NULL
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
-- Access tiers outside passport() (Art. 77(2), Annex XIII).  A role holding no
-- tier reads the public passport and nothing else of a battery: the raw
-- battery and lot events carry point-4 data (status moves, putting into
-- service, usage reports, negative events; a secondary lot names the battery
-- it was recovered from) and the model's materials carry point-2 data.
--   battledger_member: a consortium member's application, which writes events
--     (the registry's rules read the tables as the writer) and verifies them;
--   battledger_legitimate_interest: points 1, 2 and 4 — the raw events too;
--   battledger_authority: points 1, 2 and 3 — through passport() and
--     material_provenance(), not the raw events (they hold point 4).
-- verify(), verify_log() and replication run as the owner and read all rows.
-----------------------------------------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'battledger_member') THEN
        CREATE ROLE battledger_member NOLOGIN;
    END IF;
END $$;
REVOKE SELECT ON @extschema@.battery_event, @extschema@.lot_event, @extschema@.battery_model FROM PUBLIC;
GRANT SELECT (model_id, manufacturer, category, chemistry, rated_capacity_ah, rated_energy_kwh, nominal_voltage_v,
              min_voltage_v, max_voltage_v, original_power_w, expected_lifetime_cycles, capacity_threshold_pct,
              mass_kg, carbon_footprint_kg_co2e_per_kwh, recycled_content,
              ledger_seq, ledger_prev, ledger_hash, ledger_key_id, ledger_sig, ledger_batch, ledger_origin, ledger_at)
    ON @extschema@.battery_model TO PUBLIC;
GRANT SELECT ON @extschema@.battery_model TO battledger_member, battledger_legitimate_interest, battledger_authority;
GRANT SELECT ON @extschema@.battery_event, @extschema@.lot_event TO battledger_member, battledger_legitimate_interest;
-- an authority reads test reports (tier authority), no longer the legitimate-interest values
ALTER POLICY authority ON @extschema@.disclosure USING (tier = 'authority');

-- the formats' internals: only the owner's passport functions call them
REVOKE ALL ON FUNCTION @extschema@._usage_value(numeric, timestamptz, text, bigint, text, bigint, text),
    @extschema@._usage_value(numeric, timestamptz, text, bigint, text, bigint, text, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._passport_battledger(jsonb), @extschema@._passport_batterypass(jsonb),
    @extschema@._passport_catenax(jsonb), @extschema@._bp_address(jsonb), @extschema@._bp_contact(jsonb),
    @extschema@._bp_dynamic(jsonb, text), @extschema@._bp_array(jsonb), @extschema@._cx_doc(jsonb, text),
    @extschema@._cx_id(text, text), @extschema@._cx_dynamic(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._passport_source(@extschema@.battery_id, text),
    @extschema@._passport(@extschema@.battery_id, text, text),
    @extschema@._passport_legitimate_interest(@extschema@.battery_id, text),
    @extschema@._passport_authority(@extschema@.battery_id, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._passport_legitimate_interest(@extschema@.battery_id, text) TO battledger_legitimate_interest;
GRANT EXECUTE ON FUNCTION @extschema@._passport_authority(@extschema@.battery_id, text) TO battledger_authority;
-- the lots in a battery, back to the mine: its detailed composition (point 2)
ALTER FUNCTION @extschema@.material_provenance(@extschema@.battery_id) SECURITY DEFINER;
REVOKE ALL ON FUNCTION @extschema@.material_provenance(@extschema@.battery_id) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.material_provenance(@extschema@.battery_id)
    TO battledger_member, battledger_legitimate_interest, battledger_authority;
-----------------------------------------------------------------------------
-- Passport values computed from the ledger, not declared (issue 14,
-- deliverable 4; docs/registry.md "Values derived from the ledger"):
--   * recycled content: the shares of cobalt, lithium, nickel and lead that
--     come from secondary (recycled) lots, through the lots the battery
--     consumed and the processing behind them (mass balance);
--   * usage values: from the per-cycle measurements ("cycle") the usage
--     reports carry.
-- The passport shows a derived value where the ledger supports one and the
-- declared or reported value otherwise, and says which.
-----------------------------------------------------------------------------

-- The recycled shares of the battery's cobalt, lithium, nickel and lead.
-- Each lot the battery consumed is traced back through processing: a
-- processed lot is its inputs in proportion to their masses, a secondary lot
-- is recycled (post-consumer when recovered from a battery, pre-consumer when
-- its inputs say {"source": "pre_consumer"}: manufacturing waste), an
-- extracted lot is primary.  A consumed lot counts for the element its
-- material names (e.g. "cobalt sulfate" for cobalt), by the mass consumed.
-- PL/pgSQL, not SQL: a SQL function with SET options is planned again at each
-- call, and planning this query cost more than running it (issue 15)
-- _recycled_content(battery, made): given the battery's effective
-- manufacture's ledger_hash (_effective_manufacture()), which the passport
-- has read already: a second read checked the battery's fold cache again,
-- a tenth of the legitimate-interest passport (0.21.0, issue 15).  Runs as
-- its caller, the owner: recycled_content() and _passport_derived().
CREATE FUNCTION @extschema@._recycled_content(battery @extschema@.battery_id, made @extschema@.hash256)
    RETURNS TABLE (material text, pre_consumer_pct numeric, post_consumer_pct numeric, consumed_kg numeric, lots bigint)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY
    WITH RECURSIVE consumed AS (
        SELECT i->>'lot' AS lot, sum(@extschema@._json_num(i->'mass_kg')) AS kg
          FROM @extschema@.battery_event e, jsonb_array_elements(e.lots) i
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
           AND jsonb_typeof(e.lots) = 'array'
           -- the manufacture the fold accepts: not a squatter's lots (red team r20, F1)
           AND e.ledger_hash OPERATOR(@extschema@.=) made
         GROUP BY 1
        -- a lot of no positive mass in all counts for nothing: a manufacture
        -- of +5 and -5 kg of cobalt (past the rules, lot_bad_mass) made the
        -- shares below divide by zero, and every passport of the battery
        -- fail, on every member (red team rt27b R1)
        HAVING sum(@extschema@._json_num(i->'mass_kg')) > 0
    ), trace(root, depth, front, pre, post, material) AS (
        -- level by level: one row per consumed lot (root) and depth, its
        -- frontier the lots at that depth with their summed weights, each
        -- with the event that created it (the one the registry counts,
        -- _lot_counted_creation, the view planned in, not a function called
        -- per lot, and read per lot: LIMIT 1 keeps the subquery from being
        -- pulled up into a join over every lot's creation; not another
        -- member's creation of the id dated before it), and the recycled
        -- weights among them.
        -- One path per row, as until 0.20.0, let a lot whose inputs name
        -- the same lots many times (itself, three times, written past the
        -- rules; or ten lots a level each naming the ten below, which the
        -- rules allow) make 3^19 rows or more: every passport of a battery
        -- made from it ran until cancelled (red team r23, F1).  A weight is
        -- a lot's share of its root: a processed lot is its inputs in
        -- proportion to their masses.
        SELECT c.lot, 1, jsonb_build_object(c.lot, jsonb_build_object('w', 1.0, 'e', o.event, 'i', o.inputs)),
               CASE WHEN o.event = 'secondary_created' AND o.inputs->>'source' = 'pre_consumer' THEN 1.0 ELSE 0 END,
               CASE WHEN o.event = 'secondary_created' AND o.inputs->>'source' IS DISTINCT FROM 'pre_consumer' THEN 1.0 ELSE 0 END,
               o.material
          FROM consumed c
          LEFT JOIN LATERAL (SELECT v.event, v.inputs, v.material FROM @extschema@._lot_counted_creation v
                              WHERE v.lot_id = c.lot LIMIT 1) o ON true
        UNION ALL
        SELECT t.root, t.depth + 1, n.front, n.pre, n.post, NULL
          FROM trace t
          CROSS JOIN LATERAL (
              SELECT coalesce(jsonb_object_agg(k.lot, jsonb_build_object('w', k.w, 'e', o.event, 'i', o.inputs)), '{}') AS front,
                     coalesce(sum(k.w) FILTER (WHERE o.event = 'secondary_created' AND o.inputs->>'source' = 'pre_consumer'), 0) AS pre,
                     coalesce(sum(k.w) FILTER (WHERE o.event = 'secondary_created' AND o.inputs->>'source' IS DISTINCT FROM 'pre_consumer'), 0) AS post
                FROM (SELECT i->>'lot' AS lot,
                             sum((f.value->>'w')::numeric * @extschema@._json_num(i->'mass_kg') / nullif(s.total, 0)) AS w
                        FROM jsonb_each(t.front) f
                        CROSS JOIN LATERAL (SELECT sum(@extschema@._json_num(j->'mass_kg')) AS total
                                              FROM jsonb_array_elements(f.value->'i') j) s
                        CROSS JOIN LATERAL jsonb_array_elements(f.value->'i') i
                       WHERE f.value->>'e' = 'processed' AND jsonb_typeof(f.value->'i') = 'array'
                         AND f.value->>'w' IS NOT NULL
                       GROUP BY 1) k
                LEFT JOIN LATERAL (SELECT v.event, v.inputs FROM @extschema@._lot_counted_creation v
                                    WHERE v.lot_id = k.lot LIMIT 1) o ON true
               WHERE k.lot IS NOT NULL AND k.w IS NOT NULL) n
         WHERE t.depth < 20 AND t.front <> '{}'
    ), per_root AS (
        SELECT t.root, sum(t.pre) AS pre, sum(t.post) AS post
          FROM trace t
         GROUP BY t.root
    ), el AS (
        SELECT c.lot, c.kg, r.pre, r.post,
               (regexp_match(lower(t.material), '\m(cobalt|lithium|nickel|lead)'))[1] AS element
          FROM consumed c
          JOIN trace t ON t.root = c.lot AND t.depth = 1
          JOIN per_root r ON r.root = c.lot
    )
    SELECT element, round(100 * sum(kg * pre) / sum(kg), 2), round(100 * sum(kg * post) / sum(kg), 2), sum(kg), count(*)
      FROM el WHERE element IS NOT NULL GROUP BY element ORDER BY element;
END $$;
REVOKE ALL ON FUNCTION @extschema@._recycled_content(@extschema@.battery_id, @extschema@.hash256) FROM PUBLIC;

CREATE FUNCTION @extschema@.recycled_content(battery @extschema@.battery_id)
    RETURNS TABLE (material text, pre_consumer_pct numeric, post_consumer_pct numeric, consumed_kg numeric, lots bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT * FROM @extschema@._recycled_content(battery, (@extschema@._effective_manufacture(battery)).ledger_hash);
END $$;
COMMENT ON FUNCTION @extschema@.recycled_content(@extschema@.battery_id) IS
    'pre- and post-consumer recycled shares (%) of the cobalt, lithium, nickel and lead a battery consumed, traced through its lots';

-- Usage values computed from the per-cycle measurements of a battery's usage
-- reports (soh_reported, disclosed value key "cycle": {type charge|discharge|
-- impedance, duration_s, v_min, v_max, t_cell_max_c, ambient_c, ah, wh,
-- capacity_ah, re_ohm}), each with the report it is current as of.  Reads
-- only what the caller's tier may (the disclosure table's row security).
-- Thresholds: rated capacity and energy from the model; deep-discharge and
-- overcharge voltages and the idle temperature range from the manufacturer's
-- declaration (manufactured data.rated), the model's minimum and maximum
-- voltage when it declares none.
-- (gin_fuzzy_search_limit pinned to 0: its "no per-cycle data" test reads
-- disclosure through its GIN index, where the owner reads it unfiltered,
-- and a fuzzy scan found none about half the time; red team rt27e G2)
CREATE FUNCTION @extschema@.usage_derived(battery @extschema@.battery_id)
    RETURNS TABLE (key text, value numeric, at timestamptz, reports bigint, method text,
                   ledger_seq bigint, ledger_hash @extschema@.hash256)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off
    SET gin_fuzzy_search_limit = 0 AS $$
DECLARE
    made @extschema@.battery_event;
BEGIN
    -- nothing to derive: no disclosure carries per-cycle data (a key index lookup)
    IF NOT EXISTS (SELECT 1 FROM @extschema@.disclosure d WHERE d.value ? 'cycle') THEN
        RETURN;
    END IF;
    -- the manufacture the fold accepts and the model as its holder declared
    -- it last, as passport() reads them: the first manufactured row in
    -- registry order and the latest row of the model id, whoever wrote
    -- them, were read until 0.20.0, so a squatter's row (red team r20, F1,
    -- F4) set the thresholds the usage values are judged by
    made := @extschema@._effective_manufacture(battery);
    RETURN QUERY SELECT * FROM @extschema@._usage_derived(battery, made, @extschema@._model_row(made.model_id));
END $$;
COMMENT ON FUNCTION @extschema@.usage_derived(@extschema@.battery_id) IS
    'usage values (capacity, energy, SOCE, fade, resistance, round trip, event counts, temperature time) computed from the per-cycle data of a battery''s usage reports';

-- _usage_derived(battery, made, m): usage_derived() given the battery's
-- effective manufacture and its model as its holder declared it, which the
-- passport has read already: reading them again (the fold cache checked
-- against the registry, the model's holder judged) was about a tenth of a
-- legitimate-interest passport with per-cycle data (0.22.0, issue 15).
-- Runs as its caller: the disclosure table's row security decides which
-- reports it sees.  Not PUBLIC's; given to the tier usage_derived() runs
-- as, for which thresholds of its own choosing reveal nothing it cannot
-- compute from the rows it reads.
-- (gin_fuzzy_search_limit pinned to 0, as usage_derived(): the same test)
CREATE FUNCTION @extschema@._usage_derived(battery @extschema@.battery_id, made @extschema@.battery_event,
                                           m @extschema@.battery_model)
    RETURNS TABLE (key text, value numeric, at timestamptz, reports bigint, method text,
                   ledger_seq bigint, ledger_hash @extschema@.hash256)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off
    SET gin_fuzzy_search_limit = 0 AS $$
DECLARE
    r jsonb;
    deep_v numeric;
    over_v numeric;
    t_hi numeric;
    t_lo numeric;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.disclosure d WHERE d.value ? 'cycle') THEN
        RETURN;
    END IF;
    -- the rated values divided by, as _json_num() reads a number: NaN, an
    -- infinity or one of more than 1,000 digits either side of the point
    -- (a malicious member's model, past its rules) is none; 1e131071 Ah
    -- made 100 * (rated - measured) overflow numeric (red team rt27b F2)
    m.rated_capacity_ah := @extschema@._json_num(pg_catalog.to_jsonb(m.rated_capacity_ah));
    m.rated_energy_kwh := @extschema@._json_num(pg_catalog.to_jsonb(m.rated_energy_kwh));
    -- numbers as _json_num() reads them: a value that is not one is not
    -- declared (a cast raised an error, and the passport with it)
    r := coalesce(made.data->'rated', '{}');
    deep_v := coalesce(@extschema@._json_num(r->'deepDischargeVoltageV'), m.min_voltage_v);
    over_v := coalesce(@extschema@._json_num(r->'overchargeVoltageV'), m.max_voltage_v);
    t_hi := @extschema@._json_num(r->'idleTemperatureUpperC');
    t_lo := @extschema@._json_num(r->'idleTemperatureLowerC');
    RETURN QUERY
    WITH c AS (
        SELECT e.ledger_at, e.ledger_origin, e.ledger_seq AS seq, e.ledger_hash AS hash, e.occurred_at,
               d.value->'cycle'->>'type' AS type,
               -- a failed measurement ("NaN"), or anything that is not a
               -- number, is not measured (_json_num(); a cast of a value
               -- that was not one raised an error)
               @extschema@._json_num(d.value->'cycle'->'duration_s') AS duration_s,
               @extschema@._json_num(d.value->'cycle'->'v_min') AS v_min,
               @extschema@._json_num(d.value->'cycle'->'v_max') AS v_max,
               @extschema@._json_num(d.value->'cycle'->'t_cell_max_c') AS t_max,
               @extschema@._json_num(d.value->'cycle'->'ambient_c') AS ambient,
               @extschema@._json_num(d.value->'cycle'->'ah') AS ah,
               @extschema@._json_num(d.value->'cycle'->'wh') AS wh,
               @extschema@._json_num(d.value->'cycle'->'capacity_ah') AS cap,
               @extschema@._json_num(d.value->'cycle'->'re_ohm') AS re,
               row_number() OVER (ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq) AS n
          FROM @extschema@.battery_event e
          JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
           AND d.tier = 'legitimate_interest' AND jsonb_typeof(d.value->'cycle') = 'object'
           -- a commitment counts once (0.25.0): one another report names too
           -- (a replay past BL045) counts for neither, as the usage state
           -- counts it (87_usage_state.sql's header; docs/security.md)
           AND NOT EXISTS (SELECT FROM @extschema@.battery_event o
                            WHERE o.restricted OPERATOR(@extschema@.=) e.restricted OFFSET 1)
    ), pairs AS (
        -- round trip: a discharge's energy over the energy of the charge just
        -- before it (the previous charge or discharge, by lag() over those
        -- alone: a subquery per discharge scanning the reports before it
        -- was quadratic, 0.37 s a call at 2,358 reports; 0.22.0)
        SELECT x.n, x.occurred_at, x.seq, x.hash, x.wh / x.prev_wh AS rte
          FROM (SELECT y.n, y.occurred_at, y.seq, y.hash, y.type, y.wh,
                       lag(y.type) OVER w AS prev_type, lag(y.wh) OVER w AS prev_wh
                  FROM c y WHERE y.type IN ('charge', 'discharge')
                WINDOW w AS (ORDER BY y.n)) x
         WHERE x.type = 'discharge' AND x.wh IS NOT NULL AND x.prev_type = 'charge' AND x.prev_wh > 0
    ), last_dis AS (
        SELECT * FROM c WHERE type = 'discharge' AND cap IS NOT NULL ORDER BY n DESC LIMIT 1
    ), last_en AS (
        SELECT * FROM c WHERE type = 'discharge' AND wh IS NOT NULL ORDER BY n DESC LIMIT 1
    ), re AS (
        SELECT (SELECT x.re FROM c x WHERE x.re > 0 ORDER BY x.n LIMIT 1) AS first,
               l.re AS last, l.occurred_at, l.seq, l.hash
          FROM (SELECT * FROM c WHERE re > 0 ORDER BY n DESC LIMIT 1) l
    ), last AS (
        SELECT * FROM c ORDER BY n DESC LIMIT 1
    ), agg AS (
        SELECT count(*) AS n,
               sum(ah) AS ah, sum(wh) AS wh, sum(ah) FILTER (WHERE type = 'discharge') AS ah_out,
               max(t_max) AS t_max,
               count(*) FILTER (WHERE type = 'discharge' AND v_min < deep_v) AS deep,
               count(*) FILTER (WHERE type = 'charge' AND v_max > over_v) AS over,
               sum(duration_s) FILTER (WHERE type IN ('charge', 'discharge') AND t_max > t_hi) / 60 AS hi,
               sum(duration_s) FILTER (WHERE type = 'charge' AND t_max > t_hi) / 60 AS hi_chg,
               sum(duration_s) FILTER (WHERE type IN ('charge', 'discharge') AND ambient < t_lo) / 60 AS lo,
               sum(duration_s) FILTER (WHERE type = 'charge' AND ambient < t_lo) / 60 AS lo_chg
          FROM c
    )
    SELECT v.key, v.value, v.at, a.n, v.method, v.seq, v.hash
      FROM agg a, last l,
      LATERAL (
        SELECT 'capacity_ah', round(d.cap, 5), d.occurred_at, 'latest measured discharge capacity', d.seq, d.hash FROM last_dis d
        UNION ALL SELECT 'soh_pct', round(100 * d.cap / m.rated_capacity_ah, 2), d.occurred_at,
                         'latest discharge capacity / rated capacity', d.seq, d.hash FROM last_dis d
        UNION ALL SELECT 'capacity_fade_pct', round(100 * (m.rated_capacity_ah - d.cap) / m.rated_capacity_ah, 2), d.occurred_at,
                         '(rated capacity - latest discharge capacity) / rated capacity', d.seq, d.hash FROM last_dis d
        UNION ALL SELECT 'remaining_energy_kwh', round(d.wh / 1000, 6), d.occurred_at,
                         'energy of the latest measured discharge', d.seq, d.hash FROM last_en d
        UNION ALL SELECT 'soce_pct', round(100 * d.wh / 1000 / m.rated_energy_kwh, 2), d.occurred_at,
                         'energy of the latest discharge / rated (certified) energy', d.seq, d.hash
                    FROM last_en d WHERE m.rated_energy_kwh > 0
        UNION ALL SELECT 'capacity_throughput_ah', round(a.ah, 4), l.occurred_at, 'sum of charged and discharged Ah', l.seq, l.hash
                   WHERE a.ah IS NOT NULL
        UNION ALL SELECT 'energy_throughput_kwh', round(a.wh / 1000, 6), l.occurred_at, 'sum of charged and discharged energy', l.seq, l.hash
                   WHERE a.wh IS NOT NULL
        UNION ALL SELECT 'full_cycles', round(a.ah_out / m.rated_capacity_ah, 2), l.occurred_at,
                         'discharged Ah / rated capacity (full equivalent cycles)', l.seq, l.hash WHERE a.ah_out IS NOT NULL
        UNION ALL SELECT 're_ohm', x.last, x.occurred_at, 'latest measured internal (ohmic) resistance', x.seq, x.hash FROM re x
        UNION ALL SELECT 'resistance_increase_pct', round(100 * (x.last / x.first - 1), 2), x.occurred_at,
                         'latest / first measured internal resistance - 1', x.seq, x.hash FROM re x
        UNION ALL SELECT 'power_fade_pct', round(100 * (1 - x.first / x.last), 2), x.occurred_at,
                         'estimated from resistance: power capability at a given voltage is inversely proportional to it', x.seq, x.hash FROM re x
        UNION ALL SELECT 'rte_remaining_pct', round(100 * p.rte, 2), p.occurred_at,
                         'latest discharge energy / energy of the charge before it', p.seq, p.hash
                    FROM (SELECT * FROM pairs ORDER BY n DESC LIMIT 1) p
        -- (none when the first round trip gave nothing back: a discharge of
        -- 0 Wh, an application's reading, made the division fail, and with
        -- it every legitimate-interest passport of the battery; red team r23, U)
        UNION ALL SELECT 'rte_fade_pct', round(100 * (f.rte - p.rte) / nullif(f.rte, 0), 2), p.occurred_at,
                         'decrease of the round-trip efficiency since the first measured cycle', p.seq, p.hash
                    FROM (SELECT * FROM pairs ORDER BY n DESC LIMIT 1) p, (SELECT * FROM pairs ORDER BY n LIMIT 1) f
        UNION ALL SELECT 't_cell_max_c', a.t_max, l.occurred_at, 'highest measured cell temperature', l.seq, l.hash WHERE a.t_max IS NOT NULL
        UNION ALL SELECT 'deep_discharge_events', a.deep, l.occurred_at,
                         format('discharges below %s V', deep_v), l.seq, l.hash WHERE deep_v IS NOT NULL
        UNION ALL SELECT 'overcharge_events', a.over, l.occurred_at,
                         format('charges above %s V', over_v), l.seq, l.hash WHERE over_v IS NOT NULL
        UNION ALL SELECT 't_extreme_high_min', round(coalesce(a.hi, 0), 2), l.occurred_at,
                         format('at most: duration of charges and discharges whose peak cell temperature exceeded %s degC', t_hi), l.seq, l.hash
                   WHERE t_hi IS NOT NULL
        UNION ALL SELECT 't_extreme_high_charging_min', round(coalesce(a.hi_chg, 0), 2), l.occurred_at,
                         format('at most: duration of charges whose peak cell temperature exceeded %s degC', t_hi), l.seq, l.hash
                   WHERE t_hi IS NOT NULL
        UNION ALL SELECT 't_extreme_low_min', round(coalesce(a.lo, 0), 2), l.occurred_at,
                         format('at most: duration of charges and discharges at an ambient temperature below %s degC', t_lo), l.seq, l.hash
                   WHERE t_lo IS NOT NULL
        UNION ALL SELECT 't_extreme_low_charging_min', round(coalesce(a.lo_chg, 0), 2), l.occurred_at,
                         format('at most: duration of charges at an ambient temperature below %s degC', t_lo), l.seq, l.hash
                   WHERE t_lo IS NOT NULL
      ) v(key, value, at, method, seq, hash)
     WHERE v.value IS NOT NULL;
END $$;

-- The passport's source with the derived values (called by _passport_source,
-- as the owner): recycled content from the lots, usage values from the
-- reports' cycles (tier legitimate interest), operators, manufacturers and
-- facilities from the registry of identifiers.  Each says where it comes from.
-- made, model: the battery's effective manufacture and its model as its
-- holder declared it, as the source read them (0.21.0: recycled_content()
-- read the manufacture again; 0.22.0: usage_derived() read both again).
CREATE FUNCTION @extschema@._passport_derived(v jsonb, battery @extschema@.battery_id, usage_ok boolean,
                                              made @extschema@.battery_event, model @extschema@.battery_model)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    rc jsonb;
    declared jsonb := CASE WHEN jsonb_typeof(v->'model'->'recycled_content') = 'object' THEN v->'model'->'recycled_content' ELSE '{}' END;
    k text;
    info jsonb;
    ud jsonb;
    rep jsonb;
BEGIN
    -- recycled content: derived from the lots where the battery consumed any of the element, declared otherwise;
    -- only the shares: the masses behind them are the detailed composition (Annex XIII point 2)
    -- (only where the manufacture names lots: _recycled_content() starts
    -- from the lots of this very row, a manufacture of this battery, and
    -- finds none otherwise; its plan cost 0.13 ms a passport to start
    -- for nothing; 0.24.0, issue 15)
    IF made.battery_id OPERATOR(@extschema@.=) battery AND made.event = 'manufactured'
       AND jsonb_typeof(made.lots) = 'array' THEN
        SELECT jsonb_object_agg(r.material, jsonb_build_object('preConsumerShare', r.pre_consumer_pct,
                                                               'postConsumerShare', r.post_consumer_pct,
                                                               'basis', 'derived'))
          INTO rc FROM @extschema@._recycled_content(battery, made.ledger_hash) r;
    END IF;
    rc := coalesce(rc, '{}');
    -- (the loop's query started only when the model declares shares: most
    -- declare none; 0.26.0, issue 15)
    IF declared <> '{}' THEN
        FOR k IN SELECT jsonb_object_keys(declared) LOOP
            IF NOT rc ? k AND jsonb_typeof(declared->k) = 'object' THEN
                rc := rc || jsonb_build_object(k, (declared->k) || '{"basis": "declared"}');
            END IF;
        END LOOP;
    END IF;
    IF rc <> '{}' THEN
        v := jsonb_set(v, '{model,recycled_content}', rc);
    END IF;

    -- usage values: derived from the reports' cycles, the reported value where none can be;
    -- from the battery's usage state (87_usage_state.sql: summing every report
    -- on every call grew with the battery's history; issue 15)
    IF usage_ok THEN
        -- (each report's leaf looked up once: about 20 values name 4 or 5 reports)
        WITH u AS MATERIALIZED (
            SELECT u.* FROM @extschema@._usage_derived_state(battery, made, model) u
              JOIN @extschema@._dynamic_attribute a ON a.key = u.key
        ), h AS MATERIALIZED (
            -- (leaf_index() written out, as in _passport_source(): its call cost 6
            -- times the probe; 0.26.0)
            SELECT x.ledger_hash, (SELECT l.leaf_index FROM @extschema@.log_leaf l
                                    WHERE l.row_hash OPERATOR(@extschema@.=) x.ledger_hash
                                      AND l.tbl = '@extschema@.battery_event') AS leaf_index
              FROM (SELECT DISTINCT u.ledger_hash FROM u) x
        )
        -- (_usage_value(): jsonb_build_object() of these fields, in C; 0.26.0)
        SELECT jsonb_object_agg(u.key, @extschema@._usage_value(u.value, u.at, 'soh_reported', u.ledger_seq,
                   u.ledger_hash::text, h.leaf_index, 'derived', u.method, u.reports))
          INTO ud
          FROM u LEFT JOIN h ON h.ledger_hash OPERATOR(@extschema@.=) u.ledger_hash;
        -- (the reported values: _passport_source() gives them their basis)
        rep := CASE WHEN jsonb_typeof(v->'dynamic') = 'object' AND v->'dynamic' <> '{}' THEN v->'dynamic' END;
        IF ud IS NOT NULL OR rep IS NOT NULL THEN
            v := jsonb_set(v, '{dynamic}', coalesce(rep, '{}') || coalesce(ud, '{}'));
        END IF;
    END IF;

    -- operators, manufacturers and facilities: the registry's block when the
    -- event's signer holds the identifier it names
    v := @extschema@._passport_operator(v, '{manufactured}', 'manufacturer');
    v := @extschema@._passport_operator(v, '{issued}', 'operator');
    -- the facility: its registered address is the manufacturing place when the event gives none
    -- (none named: operator_info(NULL) finds none, and its call cost 0.04 ms; 0.26.0)
    info := CASE WHEN v->'manufactured'->'data'->>'facility' IS NOT NULL
                 THEN @extschema@.operator_info(v->'manufactured'->'data'->>'facility') END;
    IF info IS NOT NULL AND info->>'member' = v->'manufactured'->>'by' THEN
        v := jsonb_set(v, '{manufactured,facility}', info || '{"basis": "registered"}');
        IF NOT v->'manufactured'->'data' ? 'manufacturingPlace' AND info ? 'address' THEN
            v := jsonb_set(v, '{manufactured,data,manufacturingPlace}', info->'address');
        END IF;
    END IF;
    RETURN v;
END $$;

-- One operator block (manufactured.data.manufacturer, issued.data.operator)
-- rendered from the registry when the event's signer holds its identifier;
-- bpnl: the holder's Catena-X BPNL, which Catena-X shows whatever scheme the
-- event names.
CREATE FUNCTION @extschema@._passport_operator(v jsonb, event_path text[], field text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ev jsonb := v #> event_path;
    id text := ev->'data'->field->>'id';
    info jsonb;
    bpnl text;
BEGIN
    IF id IS NULL OR ev IS NULL THEN
        RETURN v;
    END IF;
    info := @extschema@.operator_info(id);
    IF info IS NULL OR info->>'member' IS DISTINCT FROM ev->>'by' THEN
        RETURN jsonb_set(v, event_path || ARRAY['data', field, 'basis'], '"declared"');
    END IF;
    SELECT o.identifier INTO bpnl FROM @extschema@.operator_registration o
     WHERE o.member = info->>'member' AND o.kind = 'operator' AND o.identifier LIKE 'bpnl:%'
       AND @extschema@.operator_holder(o.identifier) = o.member
     ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq LIMIT 1;
    RETURN jsonb_set(v, event_path || ARRAY['data', field],
                     info - 'kind' - 'operator' || jsonb_strip_nulls(jsonb_build_object('bpnl', bpnl, 'basis', 'registered')));
END $$;

REVOKE ALL ON FUNCTION @extschema@._passport_derived(jsonb, @extschema@.battery_id, boolean, @extschema@.battery_event, @extschema@.battery_model),
    @extschema@._passport_operator(jsonb, text[], text) FROM PUBLIC;
-- recycled shares and derived usage read the lots and usage reports: like material_provenance()
-- (point 2) the recycled shares run as the owner for members and tiers; usage_derived() runs as
-- the caller, so the disclosure table's row security decides which reports it sees
ALTER FUNCTION @extschema@.recycled_content(@extschema@.battery_id) SECURITY DEFINER;
REVOKE ALL ON FUNCTION @extschema@.recycled_content(@extschema@.battery_id) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.recycled_content(@extschema@.battery_id)
    TO battledger_member, battledger_legitimate_interest, battledger_authority;
REVOKE ALL ON FUNCTION @extschema@.usage_derived(@extschema@.battery_id) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.usage_derived(@extschema@.battery_id) TO battledger_legitimate_interest;
REVOKE ALL ON FUNCTION @extschema@._usage_derived(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._usage_derived(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model)
    TO battledger_legitimate_interest;
-- the model usage_derived() judges the values by, read as its caller (80_registry.sql)
GRANT EXECUTE ON FUNCTION @extschema@._model_row(text) TO battledger_legitimate_interest;
-----------------------------------------------------------------------------
-- A battery's usage reports, folded as they arrive (issue 15: passport()
-- <= 2 ms at any history length; docs/design.md "Usage state").
-- The legitimate-interest passport shows, per dynamic value, the latest
-- report that set it, and values derived from every report's per-cycle
-- data (sums, counts, maxima, the latest of each kind).  Read from the
-- reports themselves (0.22.0) both grew with the battery's history, and the
-- walk for a key the battery never reported with every other battery's
-- (jsonb_ops knows no nesting: the nested cycle fields of every battery
-- matched the precheck for three keys).  Here each legitimate-interest
-- report is folded once, by triggers, into one row per battery.
--
-- The row is derived state, not trusted: a superuser may write it.  It
-- holds positions and sums, never what the passport shows of a report
-- (values, times, hashes are read from the report the position names), and
-- usage_state_check() recomputes every row from the reports and names each
-- battery whose row differs; usage_state_rebuild() recomputes rows.
--
-- A commitment counts once (0.25.0): a report whose commitment another
-- report names too (a replay written past BL045, registry_conflicts()'s
-- commitment_replayed) counts for none of them, in the state, its
-- computation and every reader of the reports (_usage_derived(), the
-- passport's walks, _performance_at()): which of two reports copied the
-- other cannot be told from the rows (a superuser backdates its copy), and
-- the set of rows naming a commitment is the same on every member whatever
-- order they arrived in (docs/security.md, "Usage reports").  Readers test
-- it as "another row names it": _commitment_rows(commitment, 2, false) < 2,
-- an index scan of battery_event_restricted stopping at two rows (0.26.0;
-- before, NOT EXISTS (... OFFSET 1), which a bitmap plan read whole).
-- Left in SQL: usage_state_check()'s registry-wide enumeration, a set the
-- planner plans as a whole, and _usage_derived(), which runs as its caller
-- (row security decides what it reads; the probe is not its caller's).
-- Another row of any event kind (red team rt25 Q1-Q3): a quality check's
-- or a status change's commitment is a disclosure too, and one event kind
-- naming another's commitment showed one battery's disclosed values as
-- another's (a usage report naming a status change's, a consuming move
-- naming a usage report's); so "another row" is any battery_event row,
-- and the passport's other readers of disclosures (test reports,
-- _performance_at()'s consuming move) test it the same way.
-----------------------------------------------------------------------------

-- One row per battery with a legitimate-interest usage report (soh_reported
-- whose restricted value is disclosed at that tier).  Positions are
-- (ledger_at, ledger_origin, ledger_seq), the registry's order.
CREATE TABLE @extschema@._usage_state (
    battery_id      @extschema@.battery_id PRIMARY KEY,
    -- per key of _dynamic_attribute: [ledger_at, ledger_origin, ledger_seq]
    -- of the latest report whose disclosed value has the key (top level)
    latest          jsonb NOT NULL,
    -- the thresholds the counts below were taken with (_usage_thresholds()
    -- when the row was made): a passport judging by others computes the
    -- derived values from the reports instead
    deep_v          numeric,
    over_v          numeric,
    t_hi            numeric,
    t_lo            numeric,
    -- over the reports with per-cycle data ("cycle" an object), as
    -- _usage_derived() computes them
    n               bigint NOT NULL,
    ah              numeric,
    wh              numeric,
    ah_out          numeric,
    t_max           numeric,
    deep_n          bigint NOT NULL,
    over_n          bigint NOT NULL,
    hi_s            numeric,
    hi_chg_s        numeric,
    lo_s            numeric,
    lo_chg_s        numeric,
    -- the latest such report; the latest discharge with a capacity; the
    -- latest discharge with its energy; the first and latest with a
    -- resistance above 0
    last_at         timestamptz,
    last_origin     text COLLATE "C",
    last_seq        bigint,
    dis_at          timestamptz,
    dis_origin      text COLLATE "C",
    dis_seq         bigint,
    en_at           timestamptz,
    en_origin       text COLLATE "C",
    en_seq          bigint,
    re_first_at     timestamptz,
    re_first_origin text COLLATE "C",
    re_first_seq    bigint,
    re_at           timestamptz,
    re_origin       text COLLATE "C",
    re_seq          bigint,
    -- a report of the battery disclosed at this tier whose commitment
    -- another report names too (counted for none, the header; 0.25.0):
    -- only then do the passport's round-trip walks test each report
    contested       boolean NOT NULL DEFAULT false
);
REVOKE ALL ON @extschema@._usage_state FROM PUBLIC;

-- a disclosure arriving after its report finds the report; the readers'
-- "another row names it" probe, and BL045, find the rows of every event
-- kind naming a commitment (until 0.25.0 usage reports' alone: rt25 Q1-Q3)
CREATE INDEX battery_event_restricted ON @extschema@.battery_event (restricted)
    WHERE restricted IS NOT NULL;

-- _usage_thresholds(made, m): deep-discharge and overcharge voltages and the
-- idle temperature range the derived counts are judged by, as
-- _usage_derived() reads them from the effective manufacture and the model
-- as its holder declared it.
CREATE FUNCTION @extschema@._usage_thresholds(made @extschema@.battery_event, m @extschema@.battery_model,
                                              OUT deep_v numeric, OUT over_v numeric, OUT t_hi numeric, OUT t_lo numeric)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r jsonb := coalesce(made.data->'rated', '{}');
BEGIN
    deep_v := coalesce(@extschema@._json_num(r->'deepDischargeVoltageV'), m.min_voltage_v);
    over_v := coalesce(@extschema@._json_num(r->'overchargeVoltageV'), m.max_voltage_v);
    t_hi := @extschema@._json_num(r->'idleTemperatureUpperC');
    t_lo := @extschema@._json_num(r->'idleTemperatureLowerC');
END $$;

-- _usage_state_add(battery, at, origin, seq, v): fold one report (its
-- position and disclosed value) into the battery's row, making the row
-- with the battery's thresholds as of now if it has none.  Every field is
-- order-free (sums, counts, maxima, the latest and first by position), so
-- reports may arrive in any order (replication's table copy, a disclosure
-- after its report).  TimeZone UTC: the positions' text in "latest" is the
-- same whoever writes it.
CREATE FUNCTION @extschema@._usage_state_add(battery @extschema@.battery_id, at timestamptz, origin text,
                                             seq bigint, v jsonb) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    s @extschema@._usage_state;
    made @extschema@.battery_event;
    th record;
    cy jsonb := CASE WHEN jsonb_typeof(v->'cycle') = 'object' THEN v->'cycle' END;
    typ text;
    dur numeric;
    vmin numeric;
    vmax numeric;
    tmax numeric;
    amb numeric;
    ah numeric;
    wh numeric;
    cap numeric;
    re numeric;
    k text;
    p jsonb;
BEGIN
    SELECT * INTO s FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) battery FOR UPDATE;
    IF NOT FOUND THEN
        made := @extschema@._effective_manufacture(battery);
        th := @extschema@._usage_thresholds(made, @extschema@._model_row(made.model_id));
        INSERT INTO @extschema@._usage_state (battery_id, latest, deep_v, over_v, t_hi, t_lo, n, deep_n, over_n, contested)
        VALUES (battery, '{}', th.deep_v, th.over_v, th.t_hi, th.t_lo, 0, 0, 0, @extschema@._usage_contested(battery))
        ON CONFLICT (battery_id) DO NOTHING;
        SELECT * INTO s FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) battery FOR UPDATE;
    END IF;
    -- the dynamic values the report sets
    FOR k IN SELECT a.key FROM @extschema@._dynamic_attribute a WHERE v ? a.key LOOP
        p := s.latest->k;
        IF p IS NULL OR (at, origin COLLATE "C", seq)
                        > ((p->>0)::timestamptz, (p->>1) COLLATE "C", (p->>2)::bigint) THEN
            s.latest := s.latest || jsonb_build_object(k, jsonb_build_array(at, origin, seq));
        END IF;
    END LOOP;
    IF cy IS NOT NULL THEN
        -- as _usage_derived() reads them (_json_num(): what is no number is not measured)
        typ := cy->>'type';
        dur := @extschema@._json_num(cy->'duration_s');
        vmin := @extschema@._json_num(cy->'v_min');
        vmax := @extschema@._json_num(cy->'v_max');
        tmax := @extschema@._json_num(cy->'t_cell_max_c');
        amb := @extschema@._json_num(cy->'ambient_c');
        ah := @extschema@._json_num(cy->'ah');
        wh := @extschema@._json_num(cy->'wh');
        cap := @extschema@._json_num(cy->'capacity_ah');
        re := @extschema@._json_num(cy->'re_ohm');
        s.n := s.n + 1;
        -- sum() skips NULLs and is NULL over none
        s.ah := coalesce(s.ah + ah, s.ah, ah);
        s.wh := coalesce(s.wh + wh, s.wh, wh);
        IF typ = 'discharge' THEN
            s.ah_out := coalesce(s.ah_out + ah, s.ah_out, ah);
        END IF;
        s.t_max := greatest(s.t_max, tmax);
        IF typ = 'discharge' AND vmin < s.deep_v THEN
            s.deep_n := s.deep_n + 1;
        END IF;
        IF typ = 'charge' AND vmax > s.over_v THEN
            s.over_n := s.over_n + 1;
        END IF;
        IF typ IN ('charge', 'discharge') AND tmax > s.t_hi THEN
            s.hi_s := coalesce(s.hi_s + dur, s.hi_s, dur);
        END IF;
        IF typ = 'charge' AND tmax > s.t_hi THEN
            s.hi_chg_s := coalesce(s.hi_chg_s + dur, s.hi_chg_s, dur);
        END IF;
        IF typ IN ('charge', 'discharge') AND amb < s.t_lo THEN
            s.lo_s := coalesce(s.lo_s + dur, s.lo_s, dur);
        END IF;
        IF typ = 'charge' AND amb < s.t_lo THEN
            s.lo_chg_s := coalesce(s.lo_chg_s + dur, s.lo_chg_s, dur);
        END IF;
        IF s.last_at IS NULL OR (at, origin COLLATE "C", seq) > (s.last_at, s.last_origin, s.last_seq) THEN
            s.last_at := at; s.last_origin := origin; s.last_seq := seq;
        END IF;
        IF typ = 'discharge' AND cap IS NOT NULL
           AND (s.dis_at IS NULL OR (at, origin COLLATE "C", seq) > (s.dis_at, s.dis_origin, s.dis_seq)) THEN
            s.dis_at := at; s.dis_origin := origin; s.dis_seq := seq;
        END IF;
        IF typ = 'discharge' AND wh IS NOT NULL
           AND (s.en_at IS NULL OR (at, origin COLLATE "C", seq) > (s.en_at, s.en_origin, s.en_seq)) THEN
            s.en_at := at; s.en_origin := origin; s.en_seq := seq;
        END IF;
        IF re > 0 THEN
            IF s.re_at IS NULL OR (at, origin COLLATE "C", seq) > (s.re_at, s.re_origin, s.re_seq) THEN
                s.re_at := at; s.re_origin := origin; s.re_seq := seq;
            END IF;
            IF s.re_first_at IS NULL OR (at, origin COLLATE "C", seq) < (s.re_first_at, s.re_first_origin, s.re_first_seq) THEN
                s.re_first_at := at; s.re_first_origin := origin; s.re_first_seq := seq;
            END IF;
        END IF;
    END IF;
    UPDATE @extschema@._usage_state u
       SET latest = s.latest, n = s.n, ah = s.ah, wh = s.wh, ah_out = s.ah_out, t_max = s.t_max,
           deep_n = s.deep_n, over_n = s.over_n, hi_s = s.hi_s, hi_chg_s = s.hi_chg_s, lo_s = s.lo_s, lo_chg_s = s.lo_chg_s,
           last_at = s.last_at, last_origin = s.last_origin, last_seq = s.last_seq,
           dis_at = s.dis_at, dis_origin = s.dis_origin, dis_seq = s.dis_seq,
           en_at = s.en_at, en_origin = s.en_origin, en_seq = s.en_seq,
           re_first_at = s.re_first_at, re_first_origin = s.re_first_origin, re_first_seq = s.re_first_seq,
           re_at = s.re_at, re_origin = s.re_origin, re_seq = s.re_seq
     WHERE u.battery_id OPERATOR(@extschema@.=) battery;
END $$;

-- _commitment_rows(commitment hash256, lim integer, latest boolean) RETURNS
-- integer: the battery_event rows of any event kind naming the commitment,
-- counted up to lim by an index scan of battery_event_restricted that stops
-- there, whatever the planner settings and statistics (src/pg/commitment_rows.c,
-- 0.26.0).  As SQL the triggers' counts were the planner's to plan: a bitmap
-- scan read every entry of a commitment before the LIMIT, and 1,000 replays
-- of one read its index 500,000 times (red team rt25b X1); 0.25.0's
-- SET enable_bitmapscan = off on the triggers left enable_indexscan = off or
-- a high random_page_cost to turn each count into a scan of the table.
-- latest false: the rows the calling query sees; true: those committed now
-- (the latest snapshot), NULL at READ COMMITTED.  Callers compare counts
-- taken with one lim, which they pass.
CREATE FUNCTION @extschema@._commitment_rows(commitment @extschema@.hash256, lim integer, latest boolean) RETURNS integer
    AS 'MODULE_PATHNAME', 'bl_commitment_rows' LANGUAGE C VOLATILE STRICT;

-- _usage_contested(battery): does a report of the battery disclosed at the
-- legitimate-interest tier name a commitment another row (any kind) names too?
-- The usage state's "contested" (0.25.0).  A probe per report of the
-- battery: on a row's creation and in its computation, not in a passport.
CREATE FUNCTION @extschema@._usage_contested(battery @extschema@.battery_id) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT FROM @extschema@.battery_event e
                     JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                    WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
                      AND d.tier = 'legitimate_interest'
                      AND @extschema@._commitment_rows(e.restricted, 2, false) = 2)
$$;

-- _usage_state_compute(battery, deep_v, over_v, t_hi, t_lo): the battery's
-- row recomputed from its reports, with the given thresholds; no row (all
-- NULL) for a battery without a legitimate-interest report.  What
-- usage_state_check() compares and usage_state_rebuild() writes.
-- (gin_fuzzy_search_limit pinned to 0: the state is stored and read by
-- everyone here, and a disclosure's keys may be matched through GIN; red
-- team rt26 G1, _lot_ledger()'s header)
CREATE FUNCTION @extschema@._usage_state_compute(battery @extschema@.battery_id, deep_v numeric, over_v numeric,
                                                 t_hi numeric, t_lo numeric)
    RETURNS @extschema@._usage_state
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET gin_fuzzy_search_limit = 0 SET timezone = 'UTC' SET jit = off AS $$
DECLARE
    s @extschema@._usage_state;
BEGIN
    WITH r AS MATERIALIZED (
        SELECT e.ledger_at AS at, e.ledger_origin AS origin, e.ledger_seq AS seq, d.value
          FROM @extschema@.battery_event e
          JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND d.tier = 'legitimate_interest'
           -- a commitment named by one report alone (the header)
           AND @extschema@._commitment_rows(e.restricted, 2, false) < 2
    ), c AS MATERIALIZED (
        SELECT r.at, r.origin, r.seq, r.value->'cycle'->>'type' AS type,
               @extschema@._json_num(r.value->'cycle'->'duration_s') AS dur, @extschema@._json_num(r.value->'cycle'->'v_min') AS vmin,
               @extschema@._json_num(r.value->'cycle'->'v_max') AS vmax, @extschema@._json_num(r.value->'cycle'->'t_cell_max_c') AS tmax,
               @extschema@._json_num(r.value->'cycle'->'ambient_c') AS amb, @extschema@._json_num(r.value->'cycle'->'ah') AS ah,
               @extschema@._json_num(r.value->'cycle'->'wh') AS wh, @extschema@._json_num(r.value->'cycle'->'capacity_ah') AS cap,
               @extschema@._json_num(r.value->'cycle'->'re_ohm') AS re
          FROM r WHERE jsonb_typeof(r.value->'cycle') = 'object'
    )
    SELECT battery,
           (SELECT coalesce(jsonb_object_agg(x.key, jsonb_build_array(x.at, x.origin, x.seq)), '{}')
              FROM (SELECT DISTINCT ON (a.key) a.key, r.at, r.origin, r.seq
                      FROM @extschema@._dynamic_attribute a JOIN r ON r.value ? a.key
                     ORDER BY a.key, r.at DESC, r.origin DESC, r.seq DESC) x),
           deep_v, over_v, t_hi, t_lo,
           a.n, a.ah, a.wh, a.ah_out, a.t_max, a.deep_n, a.over_n, a.hi_s, a.hi_chg_s, a.lo_s, a.lo_chg_s,
           l.at, l.origin, l.seq, ds.at, ds.origin, ds.seq, en.at, en.origin, en.seq,
           rf.at, rf.origin, rf.seq, rl.at, rl.origin, rl.seq, @extschema@._usage_contested(battery)
      INTO s
      FROM (SELECT count(*) AS n, sum(c.ah) AS ah, sum(c.wh) AS wh, sum(c.ah) FILTER (WHERE c.type = 'discharge') AS ah_out,
                   max(c.tmax) AS t_max,
                   count(*) FILTER (WHERE c.type = 'discharge' AND c.vmin < deep_v) AS deep_n,
                   count(*) FILTER (WHERE c.type = 'charge' AND c.vmax > over_v) AS over_n,
                   sum(c.dur) FILTER (WHERE c.type IN ('charge', 'discharge') AND c.tmax > t_hi) AS hi_s,
                   sum(c.dur) FILTER (WHERE c.type = 'charge' AND c.tmax > t_hi) AS hi_chg_s,
                   sum(c.dur) FILTER (WHERE c.type IN ('charge', 'discharge') AND c.amb < t_lo) AS lo_s,
                   sum(c.dur) FILTER (WHERE c.type = 'charge' AND c.amb < t_lo) AS lo_chg_s
              FROM c) a
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c ORDER BY c.at DESC, c.origin DESC, c.seq DESC LIMIT 1) l ON true
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c WHERE c.type = 'discharge' AND c.cap IS NOT NULL
                          ORDER BY c.at DESC, c.origin DESC, c.seq DESC LIMIT 1) ds ON true
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c WHERE c.type = 'discharge' AND c.wh IS NOT NULL
                          ORDER BY c.at DESC, c.origin DESC, c.seq DESC LIMIT 1) en ON true
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c WHERE c.re > 0 ORDER BY c.at, c.origin, c.seq LIMIT 1) rf ON true
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c WHERE c.re > 0
                          ORDER BY c.at DESC, c.origin DESC, c.seq DESC LIMIT 1) rl ON true
     WHERE EXISTS (SELECT 1 FROM r);
    RETURN s;
END $$;

-- usage_state_rebuild(battery): recompute the battery's row from its
-- reports, with its thresholds as of now (NULL: every battery's).  After a
-- model's or manufacture's thresholds changed (the passport then computes
-- from the reports, correct but slower), or where usage_state_check() found
-- a difference.  Returns the rows written.
CREATE FUNCTION @extschema@.usage_state_rebuild(battery @extschema@.battery_id DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    b @extschema@.battery_id;
    made @extschema@.battery_event;
    th record;
    s @extschema@._usage_state;
    n bigint := 0;
BEGIN
    -- the reports' disclosures must all be seen (row security would hide some)
    IF row_security_active('@extschema@.disclosure') THEN
        RAISE EXCEPTION 'usage_state_rebuild() must see every disclosure' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Run it as the extension''s owner.';
    END IF;
    FOR b IN SELECT DISTINCT x.battery_id FROM (
                 SELECT u.battery_id FROM @extschema@._usage_state u WHERE battery IS NULL
                 UNION ALL
                 SELECT e.battery_id FROM @extschema@.battery_event e
                   JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                  WHERE battery IS NULL AND e.event = 'soh_reported' AND d.tier = 'legitimate_interest'
                 UNION ALL
                 SELECT battery WHERE battery IS NOT NULL) x LOOP
        made := @extschema@._effective_manufacture(b);
        th := @extschema@._usage_thresholds(made, @extschema@._model_row(made.model_id));
        s := @extschema@._usage_state_compute(b, th.deep_v, th.over_v, th.t_hi, th.t_lo);
        DELETE FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) b;
        IF s.battery_id IS NOT NULL THEN
            INSERT INTO @extschema@._usage_state SELECT s.*;
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END $$;

-- usage_state_check(): every battery whose usage state differs from its
-- reports (recomputed with the row's own thresholds: they only decide
-- whether the passport reads the row), or has a row and no report, or
-- reports and no row.  As text, so that 1.5 and 1.50 differ as in a passport.
CREATE FUNCTION @extschema@.usage_state_check()
    RETURNS TABLE (battery_id @extschema@.battery_id, problem text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    b @extschema@.battery_id;
    s @extschema@._usage_state;
    c @extschema@._usage_state;
BEGIN
    IF row_security_active('@extschema@.disclosure') THEN
        RAISE EXCEPTION 'usage_state_check() must see every disclosure' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Run it as the extension''s owner.';
    END IF;
    FOR b IN SELECT DISTINCT x.battery_id FROM (
                 SELECT u.battery_id FROM @extschema@._usage_state u
                 UNION ALL
                 SELECT e.battery_id FROM @extschema@.battery_event e
                   JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                  WHERE e.event = 'soh_reported' AND d.tier = 'legitimate_interest'
                    -- (a report whose commitment another names too counts for none: the header)
                    AND NOT EXISTS (SELECT FROM @extschema@.battery_event o
                                     WHERE o.restricted OPERATOR(@extschema@.=) e.restricted OFFSET 1)) x LOOP
        SELECT * INTO s FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) b;
        IF NOT FOUND THEN
            battery_id := b; problem := 'reports and no usage state';
            RETURN NEXT;
            CONTINUE;
        END IF;
        c := @extschema@._usage_state_compute(b, s.deep_v, s.over_v, s.t_hi, s.t_lo);
        IF c.battery_id IS NULL THEN
            battery_id := b; problem := 'usage state and no report';
            RETURN NEXT;
        ELSIF s::text IS DISTINCT FROM c::text THEN
            battery_id := b; problem := 'usage state differs from the reports';
            RETURN NEXT;
        END IF;
    END LOOP;
END $$;

-- _usage_derived_state(battery, made, m): _usage_derived()'s rows from the
-- battery's usage state (the passport's; _usage_derived() stays the
-- reference usage_derived() returns and the check compares with): sums and
-- counts from the row, the reports it names read for their values, times
-- and hashes, and the round trips from a walk back (the latest) and forward
-- (the first) from the ends of the battery's charges and discharges, which
-- stops at the first pair (a round trip depends on its neighbour, which a
-- report arriving out of order can change: not kept).  Thresholds other
-- than the row's (a model redeclared, a manufacture arriving after the
-- reports): computed from the reports, as before.  Runs as the owner: not
-- PUBLIC's, not given to any tier.
CREATE FUNCTION @extschema@._usage_derived_state(battery @extschema@.battery_id, made @extschema@.battery_event,
                                                 m @extschema@.battery_model)
    RETURNS TABLE (key text, value numeric, at timestamptz, reports bigint, method text,
                   ledger_seq bigint, ledger_hash @extschema@.hash256)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    s @extschema@._usage_state;
    th record;
    l record;
    d record;
    en record;
    re record;
    re0 numeric;
    r record;
    nxt_type text;
    nxt_wh numeric;
    nxt_at timestamptz;
    nxt_seq bigint;
    nxt_hash @extschema@.hash256;
    prv_type text;
    prv_wh numeric;
    b_at timestamptz;
    b_origin text;
    b_seq bigint;
    k int;
    wh numeric;
    p_at timestamptz;
    p_seq bigint;
    p_hash @extschema@.hash256;
    p_rte numeric;
    f_rte numeric;
    cap numeric;
    soh numeric;
    fade numeric;
    kwh numeric;
    soce numeric;
    fc numeric;
    re_inc numeric;
    pfade numeric;
    rte numeric;
    rte_fade numeric;
BEGIN
    SELECT * INTO s FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) battery;
    IF NOT FOUND OR s.n = 0 THEN
        RETURN;
    END IF;
    th := @extschema@._usage_thresholds(made, m);
    -- the rated values divided by, as _usage_derived() reads them (red team
    -- rt27b F2: no NaN, infinity or number past _json_num()'s bound)
    m.rated_capacity_ah := @extschema@._json_num(pg_catalog.to_jsonb(m.rated_capacity_ah));
    m.rated_energy_kwh := @extschema@._json_num(pg_catalog.to_jsonb(m.rated_energy_kwh));
    IF (th.deep_v, th.over_v, th.t_hi, th.t_lo) IS DISTINCT FROM (s.deep_v, s.over_v, s.t_hi, s.t_lo) THEN
        RETURN QUERY SELECT * FROM @extschema@._usage_derived(battery, made, m);
        RETURN;
    END IF;
    -- the reports the row names (each a report with per-cycle data, disclosed
    -- at this tier, its commitment named by it alone: the triggers below
    -- keep a contested one out of the row, the check compares)
    SELECT e.occurred_at, e.ledger_seq AS seq, e.ledger_hash AS hash INTO l
      FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
       AND e.ledger_at = s.last_at AND e.ledger_origin = s.last_origin AND e.ledger_seq = s.last_seq;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT e.occurred_at, e.ledger_seq AS seq, e.ledger_hash AS hash,
           @extschema@._json_num(x.value->'cycle'->'capacity_ah') AS cap INTO d
      FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
       AND e.ledger_at = s.dis_at AND e.ledger_origin = s.dis_origin AND e.ledger_seq = s.dis_seq;
    IF FOUND THEN
        cap := round(d.cap, 5);
        soh := round(100 * d.cap / m.rated_capacity_ah, 2);
        fade := round(100 * (m.rated_capacity_ah - d.cap) / m.rated_capacity_ah, 2);
    END IF;
    SELECT e.occurred_at, e.ledger_seq AS seq, e.ledger_hash AS hash,
           @extschema@._json_num(x.value->'cycle'->'wh') AS wh INTO en
      FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
       AND e.ledger_at = s.en_at AND e.ledger_origin = s.en_origin AND e.ledger_seq = s.en_seq;
    IF FOUND THEN
        kwh := round(en.wh / 1000, 6);
        IF m.rated_energy_kwh > 0 THEN
            soce := round(100 * en.wh / 1000 / m.rated_energy_kwh, 2);
        END IF;
    END IF;
    IF s.ah_out IS NOT NULL THEN
        fc := round(s.ah_out / m.rated_capacity_ah, 2);
    END IF;
    SELECT e.occurred_at, e.ledger_seq AS seq, e.ledger_hash AS hash,
           @extschema@._json_num(x.value->'cycle'->'re_ohm') AS re INTO re
      FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
       AND e.ledger_at = s.re_at AND e.ledger_origin = s.re_origin AND e.ledger_seq = s.re_seq;
    IF FOUND THEN
        SELECT @extschema@._json_num(x.value->'cycle'->'re_ohm') INTO re0
          FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
           AND e.ledger_at = s.re_first_at AND e.ledger_origin = s.re_first_origin AND e.ledger_seq = s.re_first_seq;
        re_inc := round(100 * (re.re / re0 - 1), 2);
        pfade := round(100 * (1 - re0 / re.re), 2);
    END IF;
    -- the latest round trip: a discharge whose charge or discharge before
    -- it is a charge (_usage_derived()'s pairs), walking back over the
    -- battery's reports from the latest, and the first walking forward; each
    -- walk stops at its pair.  Pages of 8 reports by position, each report's
    -- disclosure read by its key: as one query the planner sorted all the
    -- battery's reports, or scanned every disclosure of the registry (it
    -- cannot estimate the JSON filters), a plan growing with the history
    b_at := 'infinity'; b_origin := ''; b_seq := 0;
    <<back>>
    LOOP
        k := 0;
        FOR r IN SELECT e.ledger_at, e.ledger_origin, e.ledger_seq AS seq, e.occurred_at, e.ledger_hash AS hash, x.cy
                   FROM @extschema@.battery_event e
                   LEFT JOIN LATERAL (SELECT d0.value->'cycle' AS cy FROM @extschema@.disclosure d0
                                       WHERE d0.commitment OPERATOR(@extschema@.=) e.restricted
                                         AND d0.tier = 'legitimate_interest'
                                         -- (named by this report alone, the header: tested where the
                                         -- battery has a contested report, a probe per report walked)
                                         AND (NOT s.contested OR @extschema@._commitment_rows(e.restricted, 2, false) < 2)) x ON true
                  WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
                    AND (e.ledger_at, e.ledger_origin, e.ledger_seq) < (b_at, b_origin, b_seq)
                  ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 8 LOOP
            k := k + 1;
            b_at := r.ledger_at; b_origin := r.ledger_origin; b_seq := r.seq;
            CONTINUE WHEN jsonb_typeof(r.cy) IS DISTINCT FROM 'object' OR NOT coalesce(r.cy->>'type' IN ('charge', 'discharge'), false);
            wh := @extschema@._json_num(r.cy->'wh');
            IF nxt_type = 'discharge' AND nxt_wh IS NOT NULL AND r.cy->>'type' = 'charge' AND wh > 0 THEN
                p_at := nxt_at; p_seq := nxt_seq; p_hash := nxt_hash; p_rte := nxt_wh / wh;
                EXIT back;
            END IF;
            nxt_type := r.cy->>'type'; nxt_wh := wh; nxt_at := r.occurred_at; nxt_seq := r.seq; nxt_hash := r.hash;
        END LOOP;
        EXIT WHEN k < 8;
    END LOOP;
    IF p_seq IS NOT NULL THEN
        rte := round(100 * p_rte, 2);
        b_at := '-infinity'; b_origin := ''; b_seq := 0;
        <<forward>>
        LOOP
            k := 0;
            FOR r IN SELECT e.ledger_at, e.ledger_origin, e.ledger_seq AS seq, x.cy
                       FROM @extschema@.battery_event e
                       LEFT JOIN LATERAL (SELECT d0.value->'cycle' AS cy FROM @extschema@.disclosure d0
                                           WHERE d0.commitment OPERATOR(@extschema@.=) e.restricted
                                             AND d0.tier = 'legitimate_interest'
                                             AND (NOT s.contested OR @extschema@._commitment_rows(e.restricted, 2, false) < 2)) x ON true
                      WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
                        AND (e.ledger_at, e.ledger_origin, e.ledger_seq) > (b_at, b_origin, b_seq)
                      ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 8 LOOP
                k := k + 1;
                b_at := r.ledger_at; b_origin := r.ledger_origin; b_seq := r.seq;
                CONTINUE WHEN jsonb_typeof(r.cy) IS DISTINCT FROM 'object' OR NOT coalesce(r.cy->>'type' IN ('charge', 'discharge'), false);
                wh := @extschema@._json_num(r.cy->'wh');
                IF r.cy->>'type' = 'discharge' AND wh IS NOT NULL AND prv_type = 'charge' AND prv_wh > 0 THEN
                    f_rte := wh / prv_wh;
                    EXIT forward;
                END IF;
                prv_type := r.cy->>'type'; prv_wh := wh;
            END LOOP;
            EXIT WHEN k < 8;
        END LOOP;
        rte_fade := round(100 * (f_rte - p_rte) / nullif(f_rte, 0), 2);
    END IF;
    -- the rows, names and methods of _usage_derived(), in its order
    RETURN QUERY
    SELECT v.key, v.value, v.at, s.n, v.method, v.seq, v.hash
      FROM (SELECT 'capacity_ah'::text, cap, d.occurred_at, 'latest measured discharge capacity'::text, d.seq, d.hash
             WHERE d.seq IS NOT NULL
            UNION ALL SELECT 'soh_pct', soh, d.occurred_at, 'latest discharge capacity / rated capacity', d.seq, d.hash
             WHERE d.seq IS NOT NULL
            UNION ALL SELECT 'capacity_fade_pct', fade, d.occurred_at,
                             '(rated capacity - latest discharge capacity) / rated capacity', d.seq, d.hash
             WHERE d.seq IS NOT NULL
            UNION ALL SELECT 'remaining_energy_kwh', kwh, en.occurred_at, 'energy of the latest measured discharge', en.seq, en.hash
             WHERE en.seq IS NOT NULL
            UNION ALL SELECT 'soce_pct', soce, en.occurred_at,
                             'energy of the latest discharge / rated (certified) energy', en.seq, en.hash
             WHERE en.seq IS NOT NULL
            UNION ALL SELECT 'capacity_throughput_ah', round(s.ah, 4), l.occurred_at, 'sum of charged and discharged Ah', l.seq, l.hash
            UNION ALL SELECT 'energy_throughput_kwh', round(s.wh / 1000, 6), l.occurred_at, 'sum of charged and discharged energy', l.seq, l.hash
            UNION ALL SELECT 'full_cycles', fc, l.occurred_at,
                             'discharged Ah / rated capacity (full equivalent cycles)', l.seq, l.hash
            UNION ALL SELECT 're_ohm', re.re, re.occurred_at, 'latest measured internal (ohmic) resistance', re.seq, re.hash
             WHERE re.seq IS NOT NULL
            UNION ALL SELECT 'resistance_increase_pct', re_inc, re.occurred_at,
                             'latest / first measured internal resistance - 1', re.seq, re.hash
             WHERE re.seq IS NOT NULL
            UNION ALL SELECT 'power_fade_pct', pfade, re.occurred_at,
                             'estimated from resistance: power capability at a given voltage is inversely proportional to it', re.seq, re.hash
             WHERE re.seq IS NOT NULL
            UNION ALL SELECT 'rte_remaining_pct', rte, p_at,
                             'latest discharge energy / energy of the charge before it', p_seq, p_hash
             WHERE p_seq IS NOT NULL
            UNION ALL SELECT 'rte_fade_pct', rte_fade, p_at,
                             'decrease of the round-trip efficiency since the first measured cycle', p_seq, p_hash
             WHERE p_seq IS NOT NULL
            UNION ALL SELECT 't_cell_max_c', s.t_max, l.occurred_at, 'highest measured cell temperature', l.seq, l.hash
            UNION ALL SELECT 'deep_discharge_events', s.deep_n, l.occurred_at,
                             format('discharges below %s V', th.deep_v), l.seq, l.hash WHERE th.deep_v IS NOT NULL
            UNION ALL SELECT 'overcharge_events', s.over_n, l.occurred_at,
                             format('charges above %s V', th.over_v), l.seq, l.hash WHERE th.over_v IS NOT NULL
            UNION ALL SELECT 't_extreme_high_min', round(coalesce(s.hi_s / 60, 0), 2), l.occurred_at,
                             format('at most: duration of charges and discharges whose peak cell temperature exceeded %s degC', th.t_hi), l.seq, l.hash
             WHERE th.t_hi IS NOT NULL
            UNION ALL SELECT 't_extreme_high_charging_min', round(coalesce(s.hi_chg_s / 60, 0), 2), l.occurred_at,
                             format('at most: duration of charges whose peak cell temperature exceeded %s degC', th.t_hi), l.seq, l.hash
             WHERE th.t_hi IS NOT NULL
            UNION ALL SELECT 't_extreme_low_min', round(coalesce(s.lo_s / 60, 0), 2), l.occurred_at,
                             format('at most: duration of charges and discharges at an ambient temperature below %s degC', th.t_lo), l.seq, l.hash
             WHERE th.t_lo IS NOT NULL
            UNION ALL SELECT 't_extreme_low_charging_min', round(coalesce(s.lo_chg_s / 60, 0), 2), l.occurred_at,
                             format('at most: duration of charges at an ambient temperature below %s degC', th.t_lo), l.seq, l.hash
             WHERE th.t_lo IS NOT NULL
      ) v(key, value, at, method, seq, hash)
     WHERE v.value IS NOT NULL;
END $$;

-- _usage_lock(commitment hash256) RETURNS void: this transaction's turn on
-- a commitment, for the two triggers below (src/pg/usage_lock.c).  A lock
-- whose fourth field no SQL-level advisory lock uses: with
-- pg_advisory_xact_lock() (0.23.0) a role that may read battery_event held
-- a report's lock in its session and the report's disclosure waited as long
-- (red team r31 L1).
CREATE FUNCTION @extschema@._usage_lock(commitment @extschema@.hash256) RETURNS void
    AS 'MODULE_PATHNAME', 'battledger_usage_lock' LANGUAGE C VOLATILE STRICT;

-- _usage_state_reported(), trigger: a usage report arriving, folded when
-- its disclosure is here (written first, as applications do, or in the
-- same transaction).  The disclosure trigger below folds the other order.
-- Both take a lock on the commitment (_usage_lock()), so that a report and its disclosure
-- written concurrently by two READ COMMITTED transactions are folded by
-- the second (a report is written at READ COMMITTED only, BL039; a
-- disclosure at REPEATABLE READ may not see a report committed after its
-- snapshot: its trigger below fails then, 0.24.0).  ENABLE ALWAYS: the
-- apply worker folds the reports it applies (a member without the
-- disclosures finds none).
--
-- A commitment counts once (0.25.0; the header): the report is folded if
-- it alone names its commitment.  The second row naming one (a replay
-- past BL045, written here or arriving, before or after the genuine one)
-- takes the first out: the batteries the commitment's reports are of are
-- recomputed (sums cannot forget a report), and a third changes nothing.
-- That second row may be of any event kind (rt25 Q2, Q3): the trigger
-- fires on every row with a commitment, and a quality check or status
-- change naming a report's commitment takes the report out as a second
-- report does; a report naming theirs is never folded.
-- So the row is the same whatever order the rows and the disclosure
-- arrive in.  Counted under the commitment's lock: a row committing
-- meanwhile is seen (READ COMMITTED), or, at REPEATABLE READ (a member's
-- superuser's session past BL039), counted with the latest snapshot and
-- the transaction failed as the disclosure's trigger fails it.
-- The apply worker runs at the level default_transaction_isolation gives
-- it, and the rules that refuse a report at REPEATABLE READ do not run
-- there: a disclosure committed after its snapshot, whose own trigger found
-- no report yet, was not seen.  At any level but READ COMMITTED the
-- disclosure is read with the latest snapshot, after the lock (0.25.0,
-- test/shell/usage_state_rr.sh).
CREATE FUNCTION @extschema@._usage_state_reported() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- counts stop at 3: the first, the second (which takes the first out)
    -- and a third or later (which changes nothing) are told apart
    lim CONSTANT integer := 3;
    v jsonb;
    late boolean := false;
    named integer;
    latest integer;
    b @extschema@.battery_id;
BEGIN
    PERFORM @extschema@._usage_lock(NEW.restricted);
    SELECT d.value INTO v FROM @extschema@.disclosure d
     WHERE d.commitment OPERATOR(@extschema@.=) NEW.restricted AND d.tier = 'legitimate_interest';
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        -- what is committed now decides (the header above): a disclosure
        -- committed after this transaction's snapshot is folded, one erased
        -- after it is not (the erasure's trigger ran before this row
        -- existed: red team rt25c R1)
        late := NOT FOUND;
        v := @extschema@._usage_disclosure_latest(NEW.restricted);
        late := late AND v IS NOT NULL;
    END IF;
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    -- the rows of any kind naming the commitment, this one among them, up
    -- to lim (a member writing thousands of replays of one commitment made
    -- each count them all: quadratic)
    named := @extschema@._commitment_rows(NEW.restricted, lim, false);
    latest := @extschema@._commitment_rows(NEW.restricted, lim, true);   -- NULL at READ COMMITTED
    IF latest > named THEN
        RAISE EXCEPTION 'a row naming this row''s commitment was committed after this transaction''s snapshot'
            USING ERRCODE = 'serialization_failure',
                  DETAIL = format('This transaction runs at %s and sees fewer of the rows naming commitment %s than are committed (%s of at most %s counted); a commitment two rows name counts for none, which it cannot fold.',
                                  current_setting('transaction_isolation'), NEW.restricted, named, lim),
                  HINT = 'Retry the transaction (its new snapshot sees them), or write events at READ COMMITTED.';
    END IF;
    IF late AND named >= 2 THEN
        -- taking the first row out recomputes its battery from this
        -- transaction's snapshot, which lacks the disclosure's fold
        -- (committed after it) and cannot undo it: a state that counts a
        -- contested report (red team rt25b X2).  A first row folds here,
        -- and a state row committed after the snapshot fails it anyway.
        RAISE EXCEPTION 'the disclosure of this row''s commitment was committed after this transaction''s snapshot'
            USING ERRCODE = 'serialization_failure',
                  DETAIL = format('This transaction runs at %s; commitment %s is named by another row, and the usage state its disclosure folded is not visible here to take it out.',
                                  current_setting('transaction_isolation'), NEW.restricted),
                  HINT = 'Retry the transaction (its new snapshot sees it), or apply and write events at READ COMMITTED.';
    END IF;
    IF named = 1 THEN
        IF NEW.event = 'soh_reported' THEN
            PERFORM @extschema@._usage_state_add(NEW.battery_id, NEW.ledger_at, NEW.ledger_origin, NEW.ledger_seq, v);
        END IF;
    ELSIF named = 2 THEN
        -- the first row counted until now, if a report: out (this one never
        -- counts); a report's battery has a contested report now
        FOR b IN SELECT DISTINCT r.battery_id FROM @extschema@.battery_event r
                  WHERE r.restricted OPERATOR(@extschema@.=) NEW.restricted AND r.event = 'soh_reported' LOOP
            PERFORM @extschema@.usage_state_rebuild(b);
        END LOOP;
    ELSIF NEW.event = 'soh_reported' THEN
        -- a third or later: counted for none already; its battery has a contested report now
        UPDATE @extschema@._usage_state u SET contested = true
         WHERE u.battery_id OPERATOR(@extschema@.=) NEW.battery_id AND NOT u.contested;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER zz_battledger_usage_state AFTER INSERT ON @extschema@.battery_event
    FOR EACH ROW WHEN (NEW.restricted IS NOT NULL)
    EXECUTE FUNCTION @extschema@._usage_state_reported();
ALTER TABLE @extschema@.battery_event ENABLE ALWAYS TRIGGER zz_battledger_usage_state;

-- _usage_disclosure_latest(commitment): the commitment's legitimate-interest
-- disclosure read with the latest snapshot (src/pg/usage_latest.c); NULL at
-- READ COMMITTED, where every query's snapshot is the latest, or if none.
CREATE FUNCTION @extschema@._usage_disclosure_latest(commitment @extschema@.hash256) RETURNS jsonb
    LANGUAGE C STRICT AS 'MODULE_PATHNAME', 'bl_usage_disclosure_latest';

-- _usage_state_disclosed(), trigger: a disclosure arriving after its report(s)
-- folds them.  Reports are written at READ COMMITTED (BL039), a disclosure
-- may be written at REPEATABLE READ or SERIALIZABLE: a report committed
-- after its transaction's snapshot is not seen here, and the report's own
-- trigger, earlier, found no disclosure, so the report was never folded
-- (0.24.0, test/shell/usage_state_rr.sh).  Counted again with the latest
-- snapshot after the lock (a report committing meanwhile holds the lock
-- until it commits), fewer folded than committed is a serialization
-- failure: the application's retry, with a new snapshot, folds them.
-- A commitment two or more rows name counts for none (0.25.0; the
-- header): folded only where one row, a usage report, names it.  Rows of
-- any event kind count (rt25 Q2, Q3), in both counts (_commitment_rows()).
CREATE FUNCTION @extschema@._usage_state_disclosed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- counts stop at 2: one row, or more (a third changes nothing)
    lim CONSTANT integer := 2;
    one record;
    seen integer;
    latest integer;
BEGIN
    PERFORM @extschema@._usage_lock(NEW.commitment);
    seen := @extschema@._commitment_rows(NEW.commitment, lim, false);
    IF seen = 1 THEN
        -- the one row (an index or bitmap scan reads its one entry; a
        -- planner told to take neither reads the table, once per disclosure)
        SELECT r.battery_id, r.ledger_at, r.ledger_origin, r.ledger_seq, r.event INTO one
          FROM @extschema@.battery_event r WHERE r.restricted OPERATOR(@extschema@.=) NEW.commitment;
        IF one.event = 'soh_reported' THEN
            PERFORM @extschema@._usage_state_add(one.battery_id, one.ledger_at, one.ledger_origin, one.ledger_seq, NEW.value);
        END IF;
    ELSIF seen = 2 THEN
        -- counted for none: the batteries its reports are of have a contested report
        UPDATE @extschema@._usage_state u SET contested = true
         WHERE NOT u.contested
           AND EXISTS (SELECT FROM @extschema@.battery_event r
                        WHERE r.battery_id OPERATOR(@extschema@.=) u.battery_id
                          AND r.restricted OPERATOR(@extschema@.=) NEW.commitment AND r.event = 'soh_reported');
    END IF;
    latest := @extschema@._commitment_rows(NEW.commitment, lim, true);   -- NULL at READ COMMITTED
    IF latest > seen THEN
        RAISE EXCEPTION 'a row this disclosure discloses was committed after this transaction''s snapshot'
            USING ERRCODE = 'serialization_failure',
                  DETAIL = format('This transaction runs at %s and sees fewer of the rows naming commitment %s than are committed (%s of at most %s counted); it cannot fold them into the usage state.',
                                  current_setting('transaction_isolation'), NEW.commitment, seen, lim),
                  HINT = 'Retry the transaction (its new snapshot sees them), or write disclosures at READ COMMITTED.';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER battledger_usage_state AFTER INSERT ON @extschema@.disclosure
    FOR EACH ROW WHEN (NEW.tier = 'legitimate_interest')
    EXECUTE FUNCTION @extschema@._usage_state_disclosed();
ALTER TABLE @extschema@.disclosure ENABLE ALWAYS TRIGGER battledger_usage_state;

-- _usage_state_erased(), trigger: a disclosure erased (erase_disclosure())
-- or changed; sums cannot forget a maximum or a latest report, so the
-- batteries it counted for are recomputed.  Emptied (TRUNCATE): no report is disclosed any more.
-- In the commitment's turn, as the other two triggers (0.25.0): a report
-- written while the disclosure was being erased read it (not yet erased)
-- and folded it, and this trigger, not yet seeing that report, left its
-- battery counting the erased values (usage_state_check() named it).  At
-- REPEATABLE READ or SERIALIZABLE a report committed after this
-- transaction's snapshot is not seen: fewer seen than committed is a
-- serialization failure, as for a disclosure (test/shell/usage_state_rr.sh).
CREATE FUNCTION @extschema@._usage_state_erased() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- counts stop at 3, as the report trigger's: fewer seen than committed
    -- is all this asks
    lim CONSTANT integer := 3;
    b @extschema@.battery_id;
    c @extschema@.hash256;
    cs @extschema@.hash256[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM @extschema@._usage_state;
        RETURN NULL;
    END IF;
    -- the commitments erased or changed: the old one, and a new one an UPDATE gave
    cs := CASE WHEN TG_OP = 'UPDATE' AND NEW.commitment OPERATOR(@extschema@.<>) OLD.commitment
               THEN ARRAY[OLD.commitment, NEW.commitment] ELSE ARRAY[OLD.commitment] END;
    FOREACH c IN ARRAY cs LOOP
        PERFORM @extschema@._usage_lock(c);
        IF @extschema@._commitment_rows(c, lim, true) > @extschema@._commitment_rows(c, lim, false) THEN
            RAISE EXCEPTION 'a row naming this disclosure was committed after this transaction''s snapshot'
                USING ERRCODE = 'serialization_failure',
                      DETAIL = format('This transaction runs at %s and does not see every row naming commitment %s; it cannot recompute their batteries'' usage state.',
                                      current_setting('transaction_isolation'), c),
                      HINT = 'Retry the transaction (its new snapshot sees them), or erase disclosures at READ COMMITTED.';
        END IF;
    END LOOP;
    -- (one array probe of the index, once per erasure: every report of the
    -- commitments is rebuilt, however many)
    FOR b IN SELECT DISTINCT r.battery_id FROM @extschema@.battery_event r
              WHERE r.event = 'soh_reported' AND r.restricted OPERATOR(@extschema@.=) ANY (cs) LOOP
        PERFORM @extschema@.usage_state_rebuild(b);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER battledger_usage_state_erased AFTER UPDATE OR DELETE ON @extschema@.disclosure
    FOR EACH ROW EXECUTE FUNCTION @extschema@._usage_state_erased();
ALTER TABLE @extschema@.disclosure ENABLE ALWAYS TRIGGER battledger_usage_state_erased;
CREATE TRIGGER battledger_usage_state_emptied AFTER TRUNCATE ON @extschema@.disclosure
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._usage_state_erased();

REVOKE ALL ON FUNCTION @extschema@._usage_thresholds(@extschema@.battery_event, @extschema@.battery_model),
    @extschema@._usage_contested(@extschema@.battery_id),
    @extschema@._usage_state_add(@extschema@.battery_id, timestamptz, text, bigint, jsonb),
    @extschema@._usage_state_compute(@extschema@.battery_id, numeric, numeric, numeric, numeric),
    @extschema@._usage_derived_state(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model),
    @extschema@.usage_state_rebuild(@extschema@.battery_id), @extschema@.usage_state_check(),
    @extschema@._usage_state_reported(), @extschema@._usage_state_disclosed(), @extschema@._usage_state_erased(),
    @extschema@._usage_lock(@extschema@.hash256),
    @extschema@._commitment_rows(@extschema@.hash256, integer, boolean),
    @extschema@._usage_disclosure_latest(@extschema@.hash256)
    FROM PUBLIC;
-----------------------------------------------------------------------------
-- Consortium (docs/consortium.md): each member publishes its own rows and log
-- by logical replication and subscribes to every other member; arriving rows
-- are checked (src/pg/arrive.c), arriving checkpoints witnessed (src/pg/witness.c).
-----------------------------------------------------------------------------
CREATE TABLE @extschema@.consortium_member (
    origin       text COLLATE "C" PRIMARY KEY,  -- the member's battledger.origin
    subscription name NOT NULL UNIQUE,
    log_vkey     text NOT NULL,                 -- verifies its checkpoints (after rotations: its keys, oldest first, one per line)
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
    new_note    text,           -- the contradicting one, signed by the same log key; NULL for a
                                -- leaf published again differently that no checkpoint signs yet (0.23.0)
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
-- A witness's last signed second: the cosignature trigger reads it at each
-- cosignature of a member with two witness keys pinned or more (its era,
-- src/pg/witness.c witness_era()); the primary key does not serve it, and
-- without this a rotated member's every cosignature read the whole table
-- (red team r19 F2).
CREATE INDEX cosignature_witness_at ON @extschema@.cosignature (witness, cosigned_at);
-- What has arrived from each member, table by table: its rows (accepted or
-- held back by a quarantine) and the leaves of its log naming them, counted
-- by the arrival triggers (rows once per applied transaction, leaves as they
-- are stored), so that consortium_status(), which is polled, compares two
-- numbers instead of matching leaves to rows (verify_member(): a scan).
-- More leaves than rows: the member's log names rows that never came (the
-- table left its publication); more rows than leaves for longer than
-- battledger.unsealed_after: the member stopped sealing.  unsealed_since:
-- since when rows beyond the leaves have waited (reset as each of the
-- member's checkpoints stores leaves of the table, cleared once none wait).
CREATE TABLE @extschema@.peer_arrival (
    origin          text COLLATE "C" NOT NULL,
    tbl             text NOT NULL,          -- "schema.table", as log leaves name it
    rows_received   bigint NOT NULL DEFAULT 0,
    leaves_received bigint NOT NULL DEFAULT 0,
    last_row_at     timestamptz,
    last_leaf_at    timestamptz,
    unsealed_since  timestamptz,
    PRIMARY KEY (origin, tbl)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consortium_member', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.peer_leaf', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.peer_arrival', '');
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
              @extschema@.log_conflict, @extschema@.cosignature, @extschema@.peer_arrival FROM PUBLIC;
GRANT SELECT ON @extschema@.consortium_member, @extschema@.peer_leaf, @extschema@.peer_checkpoint,
                @extschema@.log_conflict, @extschema@.cosignature, @extschema@.peer_arrival TO PUBLIC;

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
-- _log_keys_problem(log_vkey text, origin text) RETURNS text: NULL when
-- log_vkey lists a member's log keys as the peer's checkpoint trigger reads
-- them (src/pg/log_keys.c: one to sixteen distinct Ed25519 note verifier
-- keys named origin, none weak, oldest first, one per line), else what is wrong
CREATE FUNCTION @extschema@._log_keys_problem(log_vkey text, origin text) RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_log_keys_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION @extschema@._log_keys_problem(text, text) FROM PUBLIC;
-- _witness_keys_problem(witness_vkey text, origin text) RETURNS text: the
-- same for a member's witness keys (cosignature/v1), as the cosignature
-- trigger reads them (0.17.0)
CREATE FUNCTION @extschema@._witness_keys_problem(witness_vkey text, origin text) RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_witness_keys_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION @extschema@._witness_keys_problem(text, text) FROM PUBLIC;
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
     -- this database's lines, by OID: a dropped database's lines do not show in a new
     -- one of the same name (lines written before 0.4.0 have only the name)
     WHERE CASE WHEN j ? 'database_oid'
                THEN (j->>'database_oid')::oid = (SELECT d.oid FROM pg_catalog.pg_database d
                                                   WHERE d.datname = pg_catalog.current_database())
                ELSE j->>'database' = pg_catalog.current_database() END;
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
-- log_vkey is the member's log key, or after rotations its keys oldest
-- first, one per line (0.17.0; red team r17k F4: a peer joining after a
-- rotation with the current key alone was stopped by the older checkpoints
-- its join copies).
CREATE FUNCTION @extschema@.join(origin text, conninfo text, log_vkey text, witness_vkey text DEFAULT NULL)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me text := pg_catalog.current_setting('battledger.origin', true);
    sub name;
    problem text;
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
    -- a weak key is refused with its own error (anybody could sign under
    -- it), before _log_keys_problem() names it as a clause; split as the list
    -- is read, a CR before the LF stripped (red team r18 F1: "<weak key>\r"
    -- did not parse here, and was pinned unchecked)
    PERFORM @extschema@._vkey_name(k, 1) FROM pg_catalog.regexp_split_to_table(log_vkey, E'\r?\n') k;
    problem := @extschema@._log_keys_problem(log_vkey, origin);
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'log_vkey is not %named "%"',
                        CASE WHEN log_vkey ~ '\S\s*\n\s*\S' THEN 'a list of Ed25519 verifier keys ' ELSE 'an Ed25519 verifier key ' END, origin
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('In log_vkey, %s. A log key is named by its origin: <origin>+<key id>+<key>; '
                                             'after key rotations, give its keys oldest first, one per line.', problem),
                  HINT = 'Ask the member for SELECT battledger.log_vkey() (and, if it rotated its key, the keys it used before).';
    END IF;
    -- the witness keys likewise: one, or after rotations all, oldest first (0.17.0)
    IF witness_vkey IS NOT NULL THEN
        PERFORM @extschema@._vkey_name(k, 4) FROM pg_catalog.regexp_split_to_table(witness_vkey, E'\r?\n') k;
        problem := @extschema@._witness_keys_problem(witness_vkey, origin);
        IF problem IS NOT NULL THEN
            RAISE EXCEPTION 'witness_vkey is not %named "%"',
                            CASE WHEN witness_vkey ~ '\S\s*\n\s*\S' THEN 'a list of cosignature/v1 verifier keys ' ELSE 'a cosignature/v1 verifier key ' END, origin
                USING ERRCODE = '22023',
                      DETAIL = pg_catalog.format('In witness_vkey, %s. After witness key rotations, give its keys oldest first, one per line.', problem),
                      HINT = 'Ask the member for SELECT battledger.witness_vkey() (and, if it rotated its witness key, the keys it used before).';
        END IF;
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
    -- when the member merely restarts; a refused row stops it (src/pg/arrive.c).
    -- streaming = on, whatever the server's default (0.25.0): PostgreSQL 18
    -- makes it parallel, where a large transaction's rows are applied by a
    -- parallel apply worker while the transactions the member committed
    -- before it are still being applied, so that its rows' triggers (the
    -- arrival checks, the seal rule, the usage state's and pins' folds) see
    -- them as arriving before seals that came first.  "on" (PostgreSQL 14 to
    -- 18 alike) sends a large transaction as it is decoded, the member's
    -- disk not holding it, and applies it here from a file once it commits,
    -- in commit order, as a small one is; "off" would make the member hold it
    -- till its commit.  The same word on every version: nothing to choose
    -- by server_version_num.
    RETURN format('CREATE SUBSCRIPTION %I CONNECTION %L PUBLICATION battledger_member '
                  'WITH (copy_data = true, slot_name = %L, streaming = on)', sub, conninfo, sub);
END $$;
COMMENT ON FUNCTION @extschema@.join(text, text, text, text) IS
    'record a member and its keys; returns the CREATE SUBSCRIPTION to run next (psql: \gexec)';
REVOKE ALL ON FUNCTION @extschema@.join(text, text, text, text) FROM PUBLIC;

-- _repin_key(origin text, vkey text, kind text) RETURNS text: what
-- repin_log_key() (kind 'log') and repin_witness_key() ('witness') share:
-- pin one new key of a member after its pinned ones, checked one by one and
-- as the whole list the peer's triggers will read (src/pg/log_keys.c), and
-- return the ALTER SUBSCRIPTION that restarts its subscription.
CREATE FUNCTION @extschema@._repin_key(origin text, vkey text, kind text)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    witness boolean := kind = 'witness';
    col text := kind || '_vkey';
    m record;
    keys text;
    problem text;
BEGIN
    IF kind NOT IN ('log', 'witness') THEN
        RAISE EXCEPTION 'no key kind "%"', kind USING ERRCODE = '22023';
    END IF;
    IF origin IS NULL OR vkey IS NULL THEN
        RAISE EXCEPTION 'origin and % are required', col USING ERRCODE = '22004';
    END IF;
    SELECT c.subscription, CASE WHEN witness THEN c.witness_vkey ELSE c.log_vkey END AS pinned
      INTO m FROM @extschema@.consortium_member c WHERE c.origin = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'member "%" has not joined', origin
            USING ERRCODE = '42704', HINT = 'battledger.join() pins a member''s first keys.';
    END IF;
    PERFORM @extschema@._vkey_name(vkey, CASE WHEN witness THEN 4 ELSE 1 END);   -- a weak key: its own error
    -- one key, on one line (a CR or LF would split it into keys when read)
    problem := CASE WHEN vkey ~ '[\r\n]' THEN 'it is more than one line'
                    WHEN witness THEN @extschema@._witness_keys_problem(vkey, origin)
                    ELSE @extschema@._log_keys_problem(vkey, origin) END;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION '% is not % named "%"', col,
                        CASE WHEN witness THEN 'a cosignature/v1 verifier key' ELSE 'an Ed25519 verifier key' END, origin
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('In %s, %s. %s', col, problem,
                                             CASE WHEN witness THEN 'Pin one new key at a time.'
                                                  ELSE 'A log key is named by its origin: <origin>+<key id>+<key>; pin one new key at a time.' END),
                  HINT = pg_catalog.format('Ask the member for SELECT battledger.%s() after its rotation.', col);
    END IF;
    -- the pinned lines as the list is read (join() pins it as given: CRLF
    -- and blank lines too): keys, not lines, count (red team r18 F2, F4)
    IF vkey = ANY (pg_catalog.regexp_split_to_array(coalesce(m.pinned, ''), E'\r?\n')) THEN
        RAISE EXCEPTION 'this % key of member "%" is pinned already', kind, origin USING ERRCODE = '42710';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.regexp_split_to_table(coalesce(m.pinned, ''), E'\r?\n') k WHERE k <> '') >= 16 THEN
        RAISE EXCEPTION 'member "%" has 16 % keys pinned', origin, kind
            USING ERRCODE = '54000',
                  HINT = pg_catalog.format('Join the member again to start over from its current %s.', CASE WHEN witness THEN 'keys' ELSE 'key' END);
    END IF;
    -- the whole list as the peer's trigger will read it: the same key
    -- written another way (a trailing blank), or a list damaged by hand;
    -- a member joined without a witness key gets this one as its first
    keys := coalesce(m.pinned || E'\n', '') || vkey;
    problem := CASE WHEN witness THEN @extschema@._witness_keys_problem(keys, origin)
                    ELSE @extschema@._log_keys_problem(keys, origin) END;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'the % keys of member "%" would not be usable with this one', kind, origin
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('In the pinned keys followed by the new one, %s.', problem),
                  HINT = pg_catalog.format('battledger.consortium_member.%s must hold the keys join() and repin_%s_key() pinned, oldest first.', col, kind);
    END IF;
    IF witness THEN
        UPDATE @extschema@.consortium_member c SET witness_vkey = keys WHERE c.origin = $1;
    ELSE
        UPDATE @extschema@.consortium_member c SET log_vkey = keys WHERE c.origin = $1;
    END IF;
    RETURN pg_catalog.format('ALTER SUBSCRIPTION %I ENABLE', m.subscription);
END $$;
REVOKE ALL ON FUNCTION @extschema@._repin_key(text, text, text) FROM PUBLIC;

-- repin_log_key(origin text, log_vkey text) RETURNS text: pin the new log key
-- of a member that rotated its key (docs/consortium.md, "A member rotates its
-- log key").  The keys stay pinned, oldest first; an arriving checkpoint must
-- be signed by the key of the last one witnessed or a newer one
-- (src/pg/witness.c).  Returns the ALTER SUBSCRIPTION that restarts a
-- subscription the first checkpoint by the new key stopped (psql: \gexec).
-- The checks are _repin_key()'s, shared with repin_witness_key() (0.18.0).
CREATE FUNCTION @extschema@.repin_log_key(origin text, log_vkey text)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN @extschema@._repin_key(origin, log_vkey, 'log');
END $$;
COMMENT ON FUNCTION @extschema@.repin_log_key(text, text) IS
    'pin the new log key of a member that rotated it (kept oldest first); returns the ALTER SUBSCRIPTION that restarts its subscription (psql: \gexec)';
REVOKE ALL ON FUNCTION @extschema@.repin_log_key(text, text) FROM PUBLIC;

-- repin_witness_key(origin text, witness_vkey text) RETURNS text: pin the new
-- witness key of a member that rotated it (0.17.0; docs/consortium.md, "A
-- member rotates its witness key"), as repin_log_key() does for its log
-- key: its cosignatures by the new key are refused, and its subscription
-- stopped, until then.  The keys stay pinned, oldest first; an arriving
-- cosignature must verify under the key of the member's last stored
-- cosignature or a newer one (src/pg/witness.c).  A member that joined
-- without a witness key gets this one as its first.
CREATE FUNCTION @extschema@.repin_witness_key(origin text, witness_vkey text)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN @extschema@._repin_key(origin, witness_vkey, 'witness');
END $$;
COMMENT ON FUNCTION @extschema@.repin_witness_key(text, text) IS
    'pin the new witness key of a member that rotated it (kept oldest first); returns the ALTER SUBSCRIPTION that restarts its subscription (psql: \gexec)';
REVOKE ALL ON FUNCTION @extschema@.repin_witness_key(text, text) FROM PUBLIC;

-- recopy_table(member text, tbl regclass) RETURNS text: copy again one table
-- of a member's subscription whose join's copy stopped (0.23.0; red team r26
-- C1; docs/consortium.md, "A join's copy that stopped"), with the
-- subscription disabled by the caller and its workers gone.  PostgreSQL's
-- table-sync worker drops its slot at the member before it commits the
-- table's next state here: a stop in between leaves the table in state f
-- (copied, catch-up due) with no slot to catch up from, and no command
-- copies one table of a subscription again (REFRESH PUBLICATION adds and
-- drops tables).  This does what PostgreSQL does to a table it adds: the
-- table's sync origin dropped and its state set back to i (init) in
-- pg_subscription_rel, then the subscription enabled; its sync worker then
-- makes a new slot and copies the table from the start, the rows and
-- leaves held here compared and skipped as a join again's are.  Only state
-- f: in i or d the worker starts over by itself, and a table past its copy
-- needs nothing.  A superuser's (a catalog row and a replication origin);
-- REVOKEd from PUBLIC.  The cheaper recovery than a join again, which copies
-- every table.
CREATE FUNCTION @extschema@.recopy_table(member text, tbl regclass)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sub oid;
    sub_name name;
    enabled boolean;
    state "char";
BEGIN
    SELECT s.oid, s.subname, s.subenabled INTO sub, sub_name, enabled
      FROM @extschema@.consortium_member m
      JOIN pg_catalog.pg_subscription s
        ON s.subname = m.subscription AND s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
     WHERE m.origin = member;
    IF sub IS NULL THEN
        RAISE EXCEPTION 'member "%" has no subscription here', member
            USING ERRCODE = '42704', HINT = 'See battledger.consortium_member and battledger.consortium_status().';
    END IF;
    SELECT r.srsubstate INTO state FROM pg_catalog.pg_subscription_rel r WHERE r.srsubid = sub AND r.srrelid = tbl;
    IF state IS NULL THEN
        RAISE EXCEPTION 'table % is not in the subscription % to member "%"', tbl, sub_name, member
            USING ERRCODE = '42P01', HINT = 'pg_subscription_rel lists its tables.';
    END IF;
    IF state <> 'f' THEN
        RAISE EXCEPTION 'the copy of table % from member "%" is in state %, not f', tbl, member, state
            USING ERRCODE = '55000',
                  DETAIL = 'Only a table copied whose catch-up cannot start (state f: consortium_status() says "copy failing" and names it) is copied again: in states i and d its sync worker starts over by itself; past f it needs nothing.';
    END IF;
    IF enabled THEN
        RAISE EXCEPTION 'subscription % is enabled', sub_name
            USING ERRCODE = '55000',
                  DETAIL = 'Its workers must be gone before the table''s copy is reset.',
                  HINT = pg_catalog.format('ALTER SUBSCRIPTION %I DISABLE, then call this again (it enables the subscription).', sub_name);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_stat_subscription w WHERE w.subid = sub AND w.pid IS NOT NULL) THEN
        RAISE EXCEPTION 'a worker of subscription % still runs', sub_name
            USING ERRCODE = '55006', HINT = 'It exits within moments of the DISABLE: call this again.';
    END IF;
    -- the table-sync origin, named as PostgreSQL names it (pg_<subscription>_<table>)
    PERFORM pg_catalog.pg_replication_origin_drop(o.roname)
       FROM pg_catalog.pg_replication_origin o
      WHERE o.roname = pg_catalog.format('pg_%s_%s', sub, tbl::oid);
    UPDATE pg_catalog.pg_subscription_rel SET srsubstate = 'i', srsublsn = NULL
     WHERE srsubid = sub AND srrelid = tbl;
    EXECUTE pg_catalog.format('ALTER SUBSCRIPTION %I ENABLE', sub_name);
    RETURN pg_catalog.format('%s is copied again from member "%s" once the subscription %s starts (consortium_status(): "copying", then "ok"); '
                             'if the member still has a slot pg_%s_sync_%s_..., its sync worker cannot make a new one: drop that slot there.',
                             tbl, member, sub_name, sub, tbl::oid);
END $$;
COMMENT ON FUNCTION @extschema@.recopy_table(text, regclass) IS
    'copy again a table of a member''s subscription whose join''s copy stopped (state f, "copy failing"): the subscription disabled first; enables it';
REVOKE ALL ON FUNCTION @extschema@.recopy_table(text, regclass) FROM PUBLIC;

-- Why a worker of subscription sub applies nothing though it runs and what it
-- last heard is recent: it waits for a lock a local session holds (a LOCK
-- TABLE, a VACUUM FULL or REINDEX of a ledger table, a transaction left open
-- on a battery's turn), and reads no message meanwhile, so "silent" would
-- come only after twice wal_receiver_timeout, naming the network.  NULL when
-- no worker has waited longer than deadlock_timeout, PostgreSQL's own
-- threshold for reporting a lock wait (log_lock_waits).  pg_locks copies the
-- whole lock table: it is read only when a worker's wait_event_type says it
-- waits on a lock, or when the owner may not see that (no pg_read_all_stats:
-- backend_start is hidden too; pg_locks is not).  PL/pgSQL, so that its plans are kept: consortium_status()
-- is SQL, planned on every call.
CREATE FUNCTION @extschema@._lock_wait_reason(sub oid) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_subscription w, pg_catalog.pg_stat_get_activity(w.pid) a
                    WHERE w.subid = sub AND (a.wait_event_type = 'Lock' OR a.backend_start IS NULL)) THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT pg_catalog.format('A replication worker has waited %s s for a lock on %s held by pid %s: it applies nothing meanwhile (pg_locks; end or wait for that session).',
                                     pg_catalog.round(extract(epoch FROM pg_catalog.now() - min(l.waitstart))),
                                     pg_catalog.string_agg(DISTINCT coalesce(l.relation::regclass::text, l.locktype), ', '),
                                     coalesce(pg_catalog.string_agg(DISTINCT b::text, ', '), '?'))
              FROM pg_catalog.pg_stat_subscription w
              JOIN pg_catalog.pg_locks l ON l.pid = w.pid AND NOT l.granted
              LEFT JOIN LATERAL pg_catalog.unnest(pg_catalog.pg_blocking_pids(l.pid)) b ON true
             WHERE w.subid = sub
            HAVING min(l.waitstart) < pg_catalog.now() - pg_catalog.current_setting('deadlock_timeout')::interval);
END $$;
REVOKE ALL ON FUNCTION @extschema@._lock_wait_reason(oid) FROM PUBLIC;

-- _background_workers() RETURNS integer: the background workers running on
-- this server now, each one a PGPROC of the max_worker_processes pool
-- (src/pg/bgworkers.c): what that setting limits, counted positively.
CREATE FUNCTION @extschema@._background_workers() RETURNS integer
    AS 'MODULE_PATHNAME', 'battledger_background_workers' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION @extschema@._background_workers() FROM PUBLIC;

-- Why no table of a subscription's join is being copied, when none can be
-- (0.24.0), or NULL: tables that need a table-sync worker (states i, d
-- and f) while the apply worker runs and no sync worker of the
-- subscription does, because none can start.  The apply worker launches
-- them, and when this server has no slot for one it says so only in a
-- WARNING of the server log ("out of logical replication worker slots",
-- "out of background worker slots") and tries again later: the status
-- said "copying" for ever.  The cause is read from the settings and from
-- the workers running now, never from the mere absence of a sync worker:
-- between one table's worker exiting and the next one's start none runs
-- either, but a slot is then free, so none of these holds.  Each limit is
-- compared with what it counts: max_logical_replication_workers with
-- pg_stat_subscription's workers (apply, table-sync and, on 16+, parallel
-- apply workers all take its slots), max_worker_processes with the
-- background workers _background_workers() counts (0.25.0: 0.24.0 counted
-- pg_stat_activity's rows that were none of PostgreSQL 15 to 18's own
-- process kinds, so a kind a later major adds counted as a worker and
-- "copy waiting" came with a slot free).  A worker waiting for its
-- restart holds a slot it does not show, so a count can fall short (then
-- "copying", as before), never over.  PL/pgSQL, its plans kept (as
-- _lock_wait_reason()'s): for a subscription copied, one probe of
-- pg_subscription_rel.
CREATE FUNCTION @extschema@._copy_wait_reason(sub oid) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    waiting bigint;
    tables text[];
    lr bigint;
    bg bigint;
    cause text;
BEGIN
    SELECT count(*), array_agg(r.srrelid::regclass::text ORDER BY r.srrelid::regclass::text)
      INTO waiting, tables
      FROM pg_catalog.pg_subscription_rel r WHERE r.srsubid = sub AND r.srsubstate IN ('i', 'd', 'f');
    IF waiting = 0
       OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_subscription w WHERE w.subid = sub AND w.relid IS NULL AND w.pid IS NOT NULL)
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_stat_subscription w WHERE w.subid = sub AND w.relid IS NOT NULL AND w.pid IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    IF current_setting('max_sync_workers_per_subscription')::int = 0 THEN
        cause := 'max_sync_workers_per_subscription = 0 here: no table-sync worker may start. '
                 'Raise it (a reload is enough: ALTER SYSTEM SET max_sync_workers_per_subscription = 2; SELECT pg_reload_conf())';
    ELSE
        -- every subscription's workers take this server's slots
        SELECT count(*) INTO lr FROM pg_catalog.pg_stat_subscription w WHERE w.pid IS NOT NULL;
        IF lr >= current_setting('max_logical_replication_workers')::int THEN
            cause := format('every logical replication worker slot of this server is in use (max_logical_replication_workers: %s of %s, every subscription''s apply and sync workers counted; '
                            '"out of logical replication worker slots" in the server log). Raise max_logical_replication_workers (a restart; one per subscription, '
                            'plus max_sync_workers_per_subscription for each one copying), or wait for the other subscriptions'' copies to end',
                            lr, current_setting('max_logical_replication_workers'));
        ELSE
            bg := @extschema@._background_workers();
            IF bg >= current_setting('max_worker_processes')::int THEN
                cause := format('every background worker slot of this server is in use (max_worker_processes: %s of %s, the logical replication launcher and workers, '
                                'parallel query workers and other extensions'' workers counted; "out of background worker slots" in the server log). '
                                'Raise max_worker_processes (a restart; past max_logical_replication_workers plus the other workers this server runs)',
                                bg, current_setting('max_worker_processes'));
            END IF;
        END IF;
    END IF;
    IF cause IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN format('%s not copied yet (%s), and no table-sync worker runs for them: %s. The copy then starts by itself (docs/consortium.md, "A join''s copy waiting for a worker").',
                  @extschema@._counted(waiting, 'table', 'tables'),
                  array_to_string(tables[1:3], ', ')
                  || CASE WHEN waiting > 3 THEN format(' and %s more', waiting - 3) ELSE '' END, cause);
END $$;
REVOKE ALL ON FUNCTION @extschema@._copy_wait_reason(oid) FROM PUBLIC;

-- This database's own triggers that fire on arriving rows before they are
-- stored, per subscription: {"<subscription oid>": "name on table (ENABLE
-- ALWAYS), ..."}, or NULL if there is none.  BEFORE INSERT row triggers
-- (tgtype bits ROW 1, BEFORE 2, INSERT 4) enabled ALWAYS or REPLICA on a
-- table a subscription delivers into (pg_subscription_rel), not the
-- extension's own (their functions live in its schema).  One firing before
-- the arrival trigger can drop a row uncounted (the member then looks "rows
-- missing") or change it (refused as the member's); one firing after it
-- stops the apply (_arrive_trigger() refuses to run before it).  The DDL
-- guard refuses them to every role but a superuser (0.14.0);
-- consortium_status() names them, so that this database is suspected
-- before the member.  Called once per status call, not per member;
-- PL/pgSQL, so that its plans are kept (as _lock_wait_reason()'s): when
-- there is none, as a rule, it costs one scan of pg_trigger.
CREATE FUNCTION @extschema@._arrival_triggers() RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    found oid[];
BEGIN
    SELECT pg_catalog.array_agg(t.oid) INTO found
      FROM pg_catalog.pg_trigger t
      JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
     WHERE t.tgenabled IN ('A', 'R') AND NOT t.tgisinternal AND t.tgtype::int & 7 = 7
       AND p.pronamespace <> '@extschema@'::pg_catalog.regnamespace;
    IF found IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT pg_catalog.jsonb_object_agg(x.sub, x.names)
              FROM (SELECT r.srsubid::text AS sub,
                           pg_catalog.string_agg(pg_catalog.format('%I on %s (ENABLE %s)', t.tgname, t.tgrelid::pg_catalog.regclass,
                                                                   CASE t.tgenabled WHEN 'A' THEN 'ALWAYS' ELSE 'REPLICA' END),
                                                 ', ' ORDER BY t.tgrelid::pg_catalog.regclass::text, t.tgname) AS names
                      FROM pg_catalog.pg_trigger t
                      JOIN pg_catalog.pg_subscription_rel r ON r.srrelid = t.tgrelid
                     WHERE t.oid = ANY (found)
                     GROUP BY r.srsubid) x);
END $$;
REVOKE ALL ON FUNCTION @extschema@._arrival_triggers() FROM PUBLIC;

-- "1 row is", "2 rows are": a count with its noun (and verb) in agreement,
-- for the status and verify_member() texts ("1 apply errors" read badly;
-- ops21).  NULL for a NULL count, which format() prints as nothing, as it
-- printed the count before.
CREATE FUNCTION @extschema@._counted(n numeric, one text, many text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT n::text || ' ' || CASE WHEN n = 1 THEN one ELSE many END
$$;
-- (left to PUBLIC: it reads nothing, and verify_member() runs as its caller)

-- One line per member: replication, its log as witnessed here, cosignatures.
-- The state is read from the facts (pg_subscription, pg_stat_subscription,
-- pg_subscription_rel, pg_stat_subscription_stats, pg_locks, log_conflict), never
-- from a flag alone: "ok" means enabled, copied, a worker applying (not waiting
-- on a lock) and in contact, every row the member's log names received, and
-- no row received waiting for a checkpoint longer than battledger.unsealed_after.
-- SECURITY DEFINER, executable by pg_monitor (ops21), as health() is: a
-- monitoring role sees what a superuser sees (the apply worker's start in
-- pg_stat_activity too) without SELECT on the tables read here, some of which
-- hold what it must not read (rejections' refused rows, held rows).  What it
-- returns is counts, states, and in the reasons names (members,
-- subscriptions, tables, triggers, chain keys of quarantines, which PUBLIC
-- reads anyway), a refusal's table and problem, a lock holder's pid: no row
-- data, no conninfo (a held row's chain key and release problem, its data,
-- only to a session user who may read held_row: red team r22, S4).  It takes no argument and writes nothing; its
-- search_path is pinned and every object it names is qualified; the
-- settings it reads from the caller's session (battledger.origin,
-- battledger.unsealed_after, battledger.max_clock_ahead) only a superuser
-- may set (PGC_SUSET).
CREATE FUNCTION @extschema@.consortium_status()
    RETURNS TABLE (member text, subscription name, enabled boolean, received_lsn pg_lsn,
                   last_message timestamptz, apply_errors bigint, their_lag_bytes numeric,
                   checkpoint_size bigint,
                   checkpoint_verified_at timestamptz, state text, reason text, rejected bigint,
                   cosigned_by_me bigint, my_latest_cosigned_by_them bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT m.origin, m.subscription, s.subenabled, st.received_lsn, st.last_msg_receipt_time,
           coalesce(ss.apply_error_count, 0) + coalesce(ss.sync_error_count, 0),
           -- how far the member is behind this member's WAL, from its slot here
           (SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.confirmed_flush_lsn)
              FROM pg_catalog.pg_replication_slots r
             WHERE r.slot_name = @extschema@._slot_name(m.origin, pg_catalog.current_setting('battledger.origin', true))),
           pc.tree_size, pc.verified_at,
           f.state,
           -- this database's own triggers that fire on the member's rows
           -- before they are stored, named whatever the state: an initplan
           -- (once per call, not per member), in the target list, not one
           -- more lateral join (each join the planner orders costs every
           -- call its time: the status is planned on every call)
           pg_catalog.concat_ws(' ',
           CASE WHEN (SELECT @extschema@._arrival_triggers()) ->> s.oid::text IS NULL THEN f.reason
                ELSE pg_catalog.concat_ws(' ', f.reason, pg_catalog.format(
               'This database''s own triggers fire on the member''s rows before they are stored (BEFORE INSERT row triggers enabled ALWAYS or REPLICA, pg_trigger): %s. They can drop rows here (the member then looks "rows missing") or change them (refused as the member''s): check them before suspecting the member.',
               (SELECT @extschema@._arrival_triggers()) ->> s.oid::text)) END,
           -- streaming = parallel (PostgreSQL 16+; 18's default, so a
           -- subscription join() of 0.24.0 made there has it): a large
           -- transaction's rows are applied before the member's earlier
           -- commits are, and the seal rule of verify_member() and the
           -- order-dependent folds can see them out of order (0.25.0).
           -- substream is boolean on 15, "char" (f, t, p) on 16+: as text,
           -- 'p' only there
           CASE WHEN s.substream::text = 'p' THEN pg_catalog.format(
               'The subscription applies large transactions in parallel (streaming = parallel, PostgreSQL 18''s default): their rows can be applied before transactions the member committed earlier, and verify_member() can then report rows of them "in no leaf" falsely. Run ALTER SUBSCRIPTION %I SET (streaming = on).',
               m.subscription) END),
           (SELECT count(*) FROM @extschema@.rejections r WHERE r.origin = m.origin),
           (SELECT max(c.tree_size) FROM @extschema@.cosignature c
             WHERE c.log_origin = m.origin AND c.witness = pg_catalog.current_setting('battledger.origin', true)),
           -- of a checkpoint this log signed only (red team r21 F1, health())
           (SELECT max(c.tree_size) FROM @extschema@.cosignature c
              JOIN @extschema@.checkpoint k ON k.tree_size = c.tree_size AND k.root OPERATOR(@extschema@.=) c.root
             WHERE c.log_origin = pg_catalog.current_setting('battledger.origin', true) AND c.witness = m.origin)
      FROM @extschema@.consortium_member m
      LEFT JOIN pg_subscription s ON s.subname = m.subscription AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      -- the apply worker: no table (a table-sync worker names one) and, on
      -- PostgreSQL 16+, no leader (a parallel apply worker names its
      -- leader's pid in leader_pid, a column 15 lacks: read from the row as
      -- json, NULL there), so that a parallel one adds no second line
      LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL
                                        AND (pg_catalog.to_jsonb(st) ->> 'leader_pid') IS NULL
      LEFT JOIN pg_stat_subscription_stats ss ON ss.subid = s.oid
      -- tables not copied yet; of them, those copied (state f, the copy
      -- committed, the catch-up due) whose table-sync worker has not run
      -- for 10 s: PostgreSQL's sync worker drops its slot at the member
      -- before it commits the table's next state here, and a stop in
      -- between leaves the table in state f with no slot to catch up from;
      -- each relaunch of its worker then fails at once ("replication slot
      -- "pg_..._sync_..." does not exist"), outside the code that counts
      -- errors in pg_stat_subscription_stats, and lives a moment (red team
      -- r26 C1).  A worker copying or catching up runs on, and state f
      -- lasts no longer than the catch-up does; a worker that has run 10 s
      -- is not one failing at its start.
      LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE r.srsubstate <> 'r') AS copying,
                                count(*) FILTER (WHERE r.srsubstate = 'f' AND NOT EXISTS (
                                    SELECT 1 FROM pg_catalog.pg_stat_subscription w, pg_catalog.pg_stat_get_activity(w.pid) a
                                     WHERE w.subid = s.oid AND w.relid = r.srrelid AND a.pid = w.pid
                                       AND a.backend_start < pg_catalog.now() - interval '10 s')) AS stuck,
                                pg_catalog.string_agg(r.srrelid::pg_catalog.regclass::text, ', ' ORDER BY r.srrelid::pg_catalog.regclass::text)
                                    FILTER (WHERE r.srsubstate = 'f' AND NOT EXISTS (
                                    SELECT 1 FROM pg_catalog.pg_stat_subscription w, pg_catalog.pg_stat_get_activity(w.pid) a
                                     WHERE w.subid = s.oid AND w.relid = r.srrelid AND a.pid = w.pid
                                       AND a.backend_start < pg_catalog.now() - interval '10 s')) AS stuck_tables
                           FROM pg_subscription_rel r WHERE r.srsubid = s.oid) sr ON true
      LEFT JOIN LATERAL (SELECT a.backend_start AS started,
                                GREATEST(3 * pg_catalog.current_setting('wal_retrieve_retry_interval')::interval,
                                         interval '30 s') AS win
                           -- one backend's line, not the pg_stat_activity view's every
                           -- line per member; a NULL pid would ask for all of them
                           FROM (SELECT st.pid WHERE st.pid IS NOT NULL) w,
                                LATERAL pg_catalog.pg_stat_get_activity(w.pid) a WHERE a.pid = w.pid) wk ON true
      LEFT JOIN LATERAL (SELECT p.tree_size, p.verified_at FROM @extschema@.peer_checkpoint p
                          WHERE p.origin = m.origin ORDER BY p.tree_size DESC LIMIT 1) pc ON true
      -- the member's slot here: what it confirmed having received from this
      -- server.  Past this server's WAL, this server went back in time (a
      -- file-system backup or snapshot restored, slots included): the
      -- member holds rows of this log this server lost, and its walsender
      -- skips every transaction written here until the WAL passes that
      -- point, while the member's own status says "ok" (f23)
      LEFT JOIN LATERAL (SELECT r.confirmed_flush_lsn AS confirmed, pg_catalog.pg_current_wal_lsn() AS wal
                           FROM pg_catalog.pg_replication_slots r
                          WHERE r.slot_name = @extschema@._slot_name(m.origin, pg_catalog.current_setting('battledger.origin', true))
                            -- (a standby has no WAL position of its own)
                            AND r.confirmed_flush_lsn > CASE WHEN NOT pg_catalog.pg_is_in_recovery()
                                                             THEN pg_catalog.pg_current_wal_lsn() END) rw ON true
      -- (each evaluated once per member: a lateral on the nullable side of
      -- an outer join, so its values are placeholders, not expressions
      -- copied into each use; the key lists are read as the peer's triggers
      -- read them)
      LEFT JOIN LATERAL (SELECT @extschema@._lock_wait_reason(s.oid) AS reason,
                                @extschema@._copy_wait_reason(s.oid) AS copy_wait,
                                @extschema@._log_keys_problem(m.log_vkey, m.origin) AS log_keys,
                                @extschema@._witness_keys_problem(m.witness_vkey, m.origin) AS witness_keys) lw ON true
      -- (0.26.0) whom the apply workers run as: a stored setting of role or
      -- session_authorization for this database (its owner may ALTER
      -- DATABASE SET either without being a superuser), for the
      -- subscription's owner, or for both; PostgreSQL's apply worker takes
      -- it at its start and, on 15, applies every row as that role, which
      -- may not write battledger's tables: every row refused, only the
      -- server log saying why (red team rt26 R1).  Per setting the one
      -- that wins, as PostgreSQL applies them (role in database, role,
      -- database, all: rt26b S4); a superuser or the owner itself harms
      -- nothing (S5); each with the statement that removes it (S3)
      LEFT JOIN LATERAL (SELECT pg_catalog.string_agg(pg_catalog.format('%s=%s (%s)', e.name, e.value, e.reset), '; ' ORDER BY e.name) AS settings
                           FROM (SELECT DISTINCT ON (c.name) c.name, c.value,
                                        CASE WHEN d.setrole = 0 AND d.setdatabase = 0 THEN pg_catalog.format('ALTER ROLE ALL RESET %s', c.name)
                                             WHEN d.setrole = 0 THEN pg_catalog.format('ALTER DATABASE %I RESET %s', pg_catalog.current_database(), c.name)
                                             WHEN d.setdatabase = 0 THEN pg_catalog.format('ALTER ROLE %I RESET %s', pg_catalog.pg_get_userbyid(d.setrole), c.name)
                                             ELSE pg_catalog.format('ALTER ROLE %I IN DATABASE %I RESET %s', pg_catalog.pg_get_userbyid(d.setrole),
                                                                    pg_catalog.current_database(), c.name) END AS reset
                                   FROM pg_catalog.pg_db_role_setting d,
                                        LATERAL (SELECT pg_catalog.lower(pg_catalog.split_part(x.cfg, '=', 1)) AS name,
                                                        pg_catalog.substr(x.cfg, pg_catalog.strpos(x.cfg, '=') + 1) AS value
                                                   FROM pg_catalog.unnest(d.setconfig) x(cfg)) c
                                  WHERE s.oid IS NOT NULL
                                    AND d.setdatabase IN (0, s.subdbid) AND d.setrole IN (0, s.subowner)
                                    AND c.name IN ('role', 'session_authorization')
                                  ORDER BY c.name, d.setrole <> 0 DESC, d.setdatabase <> 0 DESC) e
                          WHERE e.value NOT IN ('none', pg_catalog.pg_get_userbyid(s.subowner))
                            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = e.value AND r.rolsuper)) ra ON true
      -- leaves stored past the last checkpoint verified here (peer_leaf's
      -- primary key, an empty range while the member seals): a member's
      -- leaves and the checkpoint that signs them come in one transaction,
      -- so leaves alone, for longer than battledger.unsealed_after, are a
      -- log that nothing here verifies (its checkpoint table left its
      -- publication, or its superuser wrote leaves without one)
      -- (the first and last by two probes of that key, not a count: a
      -- member flooding leaves it never seals must not make each call
      -- walk them)
      LEFT JOIN LATERAL (SELECT min(p.leaf_index) AS first, max(p.leaf_index) AS last
                           FROM @extschema@.peer_leaf p
                          WHERE p.origin = m.origin AND p.leaf_index >= coalesce(pc.tree_size, 0)) uv ON true
      -- what arrived, table by table (peer_arrival: a row per table per
      -- member, read by its primary key): leaves naming rows that never
      -- came, and rows no leaf has named for longer than
      -- battledger.unsealed_after; the tables are named in the reasons
      -- below, three at most, read only when the state holds
      LEFT JOIN LATERAL (SELECT
               count(*) FILTER (WHERE a.leaves_received > a.rows_received) AS missing_tables,
               sum(a.leaves_received - a.rows_received) FILTER (WHERE a.leaves_received > a.rows_received) AS missing_rows,
               count(*) FILTER (WHERE a.rows_received > a.leaves_received AND a.unsealed_since < pg_catalog.now() - u.after) AS unsealed_tables,
               sum(a.rows_received - a.leaves_received)
                   FILTER (WHERE a.rows_received > a.leaves_received AND a.unsealed_since < pg_catalog.now() - u.after) AS unsealed_rows,
               min(a.unsealed_since)
                   FILTER (WHERE a.rows_received > a.leaves_received AND a.unsealed_since < pg_catalog.now() - u.after) AS unsealed_since,
               min(u.after) AS after
          FROM (SELECT coalesce(pg_catalog.current_setting('battledger.unsealed_after', true), '600')::interval AS after) u,
               @extschema@.peer_arrival a
         WHERE a.origin = m.origin) ar ON true
      CROSS JOIN LATERAL (SELECT * FROM (VALUES
           -- first: a fault of this server, whatever its subscription to
           -- the member says (f23)
           (0, rw.confirmed IS NOT NULL, 'rewound',
               pg_catalog.format('The member confirmed receiving this server''s WAL up to %s (its slot %s here), past this server''s WAL (%s): this server was restored from a backup or snapshot taken before. '
                                 'The member holds rows and checkpoints of this log that this server lost, and skips whatever is written here until the WAL passes %s: stop writing and sealing, and see docs/consortium.md, "A member restored from a backup".',
                                 rw.confirmed, @extschema@._slot_name(m.origin, pg_catalog.current_setting('battledger.origin', true)), rw.wal, rw.confirmed)),
           (1, s.oid IS NULL, 'no subscription', 'Run the CREATE SUBSCRIPTION that battledger.join() returned.'),
           (2, EXISTS (SELECT 1 FROM @extschema@.log_conflict c WHERE c.origin = m.origin), 'log conflict',
               'The member published a checkpoint (or, with new_note NULL, a leaf) that contradicts one verified before: see battledger.log_conflict.'),
           -- keys the peer's checkpoint trigger cannot read (written by
           -- hand): every checkpoint of the member is refused, and the
           -- apply errors alone would not say why (red team r17k F5)
           (3, lw.log_keys IS NOT NULL, 'bad log keys',
               pg_catalog.format('The log keys pinned for the member (battledger.consortium_member.log_vkey) are not usable: %s. '
                                 'While the list breaks a rule every checkpoint from the member is refused (a weak key: those it signed): put back the keys join() and repin_log_key() pinned, oldest first.',
                                 lw.log_keys)),
           -- the same for its witness keys (0.18.0): each cosignature from
           -- the member is refused, and its subscription stopped, which
           -- alone said only "stopped"
           (4, lw.witness_keys IS NOT NULL, 'bad witness keys',
               pg_catalog.format('The witness keys pinned for the member (battledger.consortium_member.witness_vkey) are not usable: %s. '
                                 'While the list breaks a rule every cosignature from the member is refused (a weak key: those it signed) and its subscription stopped: put back the keys join() and repin_witness_key() pinned, oldest first, then ALTER SUBSCRIPTION %I ENABLE.',
                                 lw.witness_keys, m.subscription)),
           -- (0.26.0) before "stopped" and "failing", which it causes (on 16
           -- and later too: the apply worker, running as that role, cannot
           -- switch to a table's owner it may not SET ROLE to)
           (4.5, ra.settings IS NOT NULL, 'runs as another role',
               pg_catalog.format('This database''s stored settings make the apply workers of subscription %I start as another role: %s; %s counted. '
                                 'Rows applied as that role are refused ("permission denied" in the server log), whoever owns the subscription. '
                                 'Reset the setting as a superuser with the statement in brackets; the apply worker takes it at its next start (ALTER SUBSCRIPTION %I DISABLE, then ENABLE, restarts it at once).',
                                 m.subscription, ra.settings, @extschema@._counted(ss.apply_error_count, 'apply error', 'apply errors'), m.subscription)),
           -- the member's last refusal, read only when stopped; a
           -- cosignature dated ahead (0.18.0) is named with its recovery
           (5, NOT s.subenabled, 'stopped',
               CASE WHEN NOT s.subenabled THEN coalesce(
                   (SELECT CASE r.problem
                             WHEN 'cosignature_ahead' THEN pg_catalog.format(
                                 'A cosignature from the member was refused: it is dated ahead of this member''s clock by more than battledger.max_clock_ahead (%s; battledger.rejections). '
                                 'If the member''s clock runs ahead, have it corrected: ALTER SUBSCRIPTION %I ENABLE retries the cosignature, accepted once this clock is within the bound of its date. '
                                 'One dated far ahead on purpose never will be: drop its remote transaction with ALTER SUBSCRIPTION %I SKIP (lsn = the "finished at" LSN of the error in the server log), then ENABLE.',
                                 coalesce(pg_catalog.current_setting('battledger.max_clock_ahead', true), '600'), m.subscription, m.subscription)
                             -- the table and problem: a checkpoint or a cosignature
                             -- refused was "a row" too (ops20)
                             ELSE pg_catalog.format('A row of %s from the member was refused (%s): see battledger.rejections.',
                                                    r.tbl, r.problem) END
                      FROM @extschema@.rejections r WHERE r.origin = m.origin ORDER BY r.at DESC LIMIT 1),
                   'The subscription is disabled.') END),
           -- no apply worker: nothing moves, a copy included (the apply
           -- worker starts the table copies and marks them done), so these
           -- come before "copying", which a member stopped or cut off in the
           -- middle of its join's copy would otherwise show for ever
           (6, st.pid IS NULL AND coalesce(ss.apply_error_count, 0) > 0, 'failing',
               pg_catalog.format('No apply worker runs; %s (the member down, its slot lost, or a row refused: server log).%s',
                                 @extschema@._counted(ss.apply_error_count, 'apply error', 'apply errors'),
                                 CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s not copied yet.', @extschema@._counted(sr.copying, 'table', 'tables')) ELSE '' END)),
           (7, st.pid IS NULL, 'not connected',
               'No apply worker runs for the subscription (the member down or unreachable, or its slot there lost: server log).'
               || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s not copied yet.', @extschema@._counted(sr.copying, 'table', 'tables')) ELSE '' END),
           (8, lw.reason IS NOT NULL, 'blocked',
               lw.reason || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s not copied yet.', @extschema@._counted(sr.copying, 'table', 'tables')) ELSE '' END),
           -- (0.24.0) no table-sync worker can start (above): before
           -- "copy failing", whose errors counted may be old ones, and whose
           -- table in state f cannot catch up either without a worker
           (9, st.pid IS NOT NULL AND lw.copy_wait IS NOT NULL, 'copy waiting', lw.copy_wait),
           -- copy errors counted, or (0.23.0) a table copied whose
           -- catch-up cannot start (above), once the apply worker has run
           -- longer than the window of rank 14 (a restart relaunches the
           -- sync workers within wal_retrieve_retry_interval): before,
           -- "copying" for ever (red team r26 C1)
           (10, sr.copying > 0 AND (coalesce(ss.sync_error_count, 0) > 0
                                   OR (sr.stuck > 0 AND wk.started < pg_catalog.now() - wk.win)), 'copy failing',
               CASE WHEN sr.stuck > 0 AND wk.started < pg_catalog.now() - wk.win THEN pg_catalog.format(
                   '%s not copied yet. The copy of %s is done but its catch-up never starts: no table-sync worker has run 10 s for it while the apply worker has run %s s '
                   '(its worker fails at each start, likely on its slot at the member: "replication slot "pg_%s_sync_..." does not exist" in the server log, '
                   'a slot PostgreSQL drops before it commits the table''s state here, so a stop in between leaves the copy unable to finish). '
                   'It does not end by itself: ALTER SUBSCRIPTION %I DISABLE, then SELECT battledger.recopy_table(%L, %L) copies it again (one call per table named), '
                   'or join again (docs/consortium.md, "A join''s copy that stopped").',
                   @extschema@._counted(sr.copying, 'table', 'tables'), sr.stuck_tables,
                   pg_catalog.round(extract(epoch FROM pg_catalog.now() - wk.started)), s.oid,
                   m.subscription, m.origin, pg_catalog.split_part(sr.stuck_tables, ', ', 1))
               -- (0.24.0) the limits that fail a sync worker at its start
               -- named: at the member each needs a WAL sender and a slot,
               -- here a replication origin; PostgreSQL counts the error
               -- and relaunches the worker, so raising one is the way out
               ELSE pg_catalog.format('%s not copied yet; %s (server log). One cause: a limit reached as a table-sync worker starts, at the member its max_wal_senders or max_replication_slots '
                                      '("number of requested standby connections exceeds max_wal_senders", "all replication slots are in use"), here max_replication_slots, which bounds the replication origins '
                                      '("could not find free replication state slot"): raise it (a restart) and the copy starts again by itself.',
                                      @extschema@._counted(sr.copying, 'table', 'tables'),
                                      @extschema@._counted(ss.sync_error_count, 'copy error', 'copy errors')) END),
           (11, sr.copying > 0, 'copying', pg_catalog.format('%s not copied yet.', @extschema@._counted(sr.copying, 'table', 'tables'))),
           (12, st.received_lsn IS NULL OR st.last_msg_receipt_time
                   < pg_catalog.now() - 2 * NULLIF(pg_catalog.current_setting('wal_receiver_timeout'), '0')::interval, 'silent',
               'The apply worker has heard nothing from the member for twice wal_receiver_timeout.'),
           -- a quarantine the DBA closed (close_quarantine(): rows that can
           -- never be stored, kept as evidence) is not counted, so that the
           -- member is not "quarantined" for good (ops21); a release that
           -- left rows held names the first and the way out
           (13, EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin AND q.closed_at IS NULL), 'quarantined',
               CASE WHEN EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin AND q.closed_at IS NULL) THEN
               (SELECT pg_catalog.concat_ws(' ',
                       pg_catalog.format('%s held back, %s held: see battledger.quarantine and battledger.held_row; battledger.release_chain() stores what extends the chain once the member has repaired it.',
                                         @extschema@._counted(count(*), 'chain', 'chains'), @extschema@._counted(sum(x.held), 'row', 'rows')),
                       -- the held row's chain key and problem (release_chain()'s
                       -- SQLERRM, which can quote a value) are its data: said
                       -- only to a caller who may read held_row; a pg_monitor
                       -- role gets the table and position (red team r22, S4)
                       (SELECT pg_catalog.format('Its last release could not store %s (the first: %s, %sposition %s%s). '
                                                 'Rows the member cannot repair (a forged row: its later rows link to it) never will be: '
                                                 'SELECT battledger.close_quarantine(%L, %L, %L) keeps them held for good, as evidence, and stops counting the member not ok (docs/consortium.md, "A quarantine that cannot be released").',
                                                 @extschema@._counted(f.n, 'row', 'rows'), f.tbl,
                                                 CASE WHEN f.readable THEN pg_catalog.format('chain %s, ', coalesce(f.chain_key, '(none)'))
                                                      WHEN f.quarantined_key IS NOT NULL THEN pg_catalog.format('chain %s, ', f.quarantined_key)
                                                      ELSE '' END,
                                                 f.seq,
                                                 CASE WHEN f.readable THEN ': ' || f.problem ELSE ': battledger.held_row says why' END,
                                                 m.origin, f.tbl, f.quarantined_key)
                          FROM (SELECT h.tbl, h.chain_key, h.seq, h.problem, q.chain_key AS quarantined_key, count(*) OVER () AS n,
                                       pg_catalog.has_table_privilege(session_user, '@extschema@.held_row', 'SELECT') AS readable
                                  FROM @extschema@.quarantine q
                                  JOIN @extschema@.held_row h
                                    ON h.origin = q.origin AND h.tbl = q.tbl AND (q.chain_key IS NULL OR h.chain_key = q.chain_key)
                                 WHERE q.origin = m.origin AND q.closed_at IS NULL AND h.problem IS NOT NULL
                                 ORDER BY h.tbl, h.chain_key, h.seq, h.held_at LIMIT 1) f))
                  FROM @extschema@.quarantine q
                  LEFT JOIN LATERAL (SELECT count(*) AS held FROM @extschema@.held_row h
                                      WHERE h.origin = q.origin AND h.tbl = q.tbl
                                        AND (q.chain_key IS NULL OR h.chain_key = q.chain_key)) x ON true
                 WHERE q.origin = m.origin AND q.closed_at IS NULL) END),
           -- a worker that errors in a loop (a replicated column missing
           -- here, its slot there gone after START_REPLICATION, any error
           -- the arrival checks do not see) is relaunched every
           -- wal_retrieve_retry_interval and lives for a moment each time:
           -- while it lives it looks like a working one.  The errors have no
           -- time, but the worker's start has (pg_stat_activity): errors
           -- counted and a worker younger than the window is "failing" until
           -- it has run that long without dying.  The window (three retry
           -- intervals, at least 30 s) outlives the loop's period; a member
           -- that merely restarted shows "failing" for that long after.  An
           -- owner who may not see the worker's start (no pg_read_all_stats;
           -- since 0.19.0 the function runs as the owner, not the caller)
           -- cannot tell: "failing" too, rather than an "ok" not read.  Last
           -- before "ok": a subscription resumed after a refusal counted one
           -- error, and its quarantine, when it has one, says more.
           (14, st.pid IS NOT NULL AND coalesce(ss.apply_error_count, 0) > 0
               AND coalesce(wk.started > pg_catalog.now() - wk.win, true), 'failing',
               CASE WHEN wk.started IS NULL
                    THEN pg_catalog.format('%s, and the apply worker''s start is not visible to this role (pg_read_all_stats): it may be restarting in a loop (server log).',
                                           @extschema@._counted(ss.apply_error_count, 'apply error', 'apply errors'))
                    ELSE pg_catalog.format('The apply worker started %s s ago, after %s: if it errors again it is restarting in a loop (server log); this clears once it has run %s s.',
                                           pg_catalog.round(extract(epoch FROM pg_catalog.now() - wk.started)),
                                           @extschema@._counted(ss.apply_error_count, 'apply error', 'apply errors'),
                                           pg_catalog.round(extract(epoch FROM wk.win))) END),
           -- last, so that none of the states above is hidden: the member's
           -- log names rows of a table that never arrived (the table left its
           -- publication, or a row filter leaves rows out); leaves arrive
           -- after their rows (commit order), so this is no transient
           (15, ar.missing_tables > 0, 'rows missing',
               CASE WHEN ar.missing_tables > 0 THEN pg_catalog.format(
                   '%s the member''s log names never arrived here: %s%s. Is the table still in the member''s publication battledger_member (pg_publication_tables there)? battledger.verify_member(%L) lists them.',
                   @extschema@._counted(ar.missing_rows, 'row', 'rows'),
                   (SELECT pg_catalog.string_agg(pg_catalog.format('%s: %s, %s received (last row %s, last leaf %s)',
                                                                   a.tbl, @extschema@._counted(a.leaves_received, 'leaf', 'leaves'),
                                                                   @extschema@._counted(a.rows_received, 'row', 'rows'),
                                                                   coalesce(a.last_row_at::text, 'not counted'),
                                                                   coalesce(a.last_leaf_at::text, 'not counted')), '; ' ORDER BY a.tbl)
                      FROM (SELECT * FROM @extschema@.peer_arrival a WHERE a.origin = m.origin AND a.leaves_received > a.rows_received
                             ORDER BY a.tbl LIMIT 3) a),
                   CASE WHEN ar.missing_tables > 3 THEN pg_catalog.format(' and %s more', @extschema@._counted(ar.missing_tables - 3, 'table', 'tables')) ELSE '' END,
                   m.origin) END),
           -- rows arrive before the checkpoint that seals them: only rows
           -- waiting longer than battledger.unsealed_after say the member
           -- stopped sealing
           (16, ar.unsealed_tables > 0, 'unsealed',
               CASE WHEN ar.unsealed_tables > 0 THEN pg_catalog.format(
                   '%s received from the member (%s%s) %s in no checkpoint since %s, longer than battledger.unsealed_after (%s): the member does not seal (its seal() or seal worker, battledger.seal_interval).',
                   @extschema@._counted(ar.unsealed_rows, 'row', 'rows'),
                   (SELECT pg_catalog.string_agg(a.tbl, ', ' ORDER BY a.tbl)
                      FROM (SELECT a.tbl FROM @extschema@.peer_arrival a
                             WHERE a.origin = m.origin AND a.rows_received > a.leaves_received
                               AND a.unsealed_since < pg_catalog.now() - ar.after ORDER BY a.tbl LIMIT 3) a),
                   CASE WHEN ar.unsealed_tables > 3 THEN pg_catalog.format(' and %s more', @extschema@._counted(ar.unsealed_tables - 3, 'table', 'tables')) ELSE '' END,
                   CASE WHEN ar.unsealed_rows = 1 THEN 'is' ELSE 'are' END,
                   ar.unsealed_since, ar.after) END),
           (17, uv.first IS NOT NULL AND coalesce(pc.verified_at, '-infinity')
                   < pg_catalog.now() - coalesce(pg_catalog.current_setting('battledger.unsealed_after', true), '600')::interval,
               'unverified',
               pg_catalog.format(
                   'leaves %s to %s of the member''s log arrived without a checkpoint that signs them; the last checkpoint verified here (size %s, at %s) is older than battledger.unsealed_after. Is battledger.checkpoint still in the member''s publication battledger_member (pg_publication_tables there)?',
                   uv.first, uv.last, coalesce(pc.tree_size, 0), coalesce(pc.verified_at::text, 'none'))),
           -- "ok", and the quarantines closed for good said (ops21)
           (18, true, 'ok',
               CASE WHEN EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin AND q.closed_at IS NOT NULL) THEN
               (SELECT pg_catalog.format('%s closed by close_quarantine() (the first at %s): %s held back for good, as evidence (battledger.quarantine, battledger.held_row).',
                                         @extschema@._counted(count(*), 'quarantined chain', 'quarantined chains'), min(q.closed_at),
                                         @extschema@._counted(sum(x.held), 'row', 'rows'))
                  FROM @extschema@.quarantine q
                  LEFT JOIN LATERAL (SELECT count(*) AS held FROM @extschema@.held_row h
                                      WHERE h.origin = q.origin AND h.tbl = q.tbl
                                        AND (q.chain_key IS NULL OR h.chain_key = q.chain_key)) x ON true
                 WHERE q.origin = m.origin AND q.closed_at IS NOT NULL) END)) v(rank, holds, state, reason)
         WHERE v.holds ORDER BY v.rank LIMIT 1) f
     ORDER BY m.origin
$$;
COMMENT ON FUNCTION @extschema@.consortium_status() IS
    'for each member: subscription state and its reason (read from pg_stat_subscription, pg_subscription_rel, apply errors, lock waits, conflicts, leaves and rows received), how far it is behind this member''s WAL, last checkpoint verified, rejections, cosignatures both ways';
REVOKE ALL ON FUNCTION @extschema@.consortium_status() FROM PUBLIC;
-- monitoring, as health() (93_health.sql): pg_monitor, a predefined role, as
-- contrib's pg_buffercache grants to it, rather than a role of the
-- extension's own, which any role with CREATEROLE could have made first
GRANT EXECUTE ON FUNCTION @extschema@.consortium_status() TO pg_monitor;

-- peer_arrival counted again from what is stored: the rows of each member in
-- every ledger table and held back, and its leaves (a scan of each; the
-- update to 0.13.0 runs it once).  Locked first: a worker's count written
-- meanwhile waits and is added on top (its rows commit after this count).
CREATE FUNCTION @extschema@.recount_arrivals() RETURNS SETOF @extschema@.peer_arrival
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sql text;
BEGIN
    LOCK TABLE @extschema@.peer_arrival IN EXCLUSIVE MODE;
    SELECT string_agg(format('SELECT r.ledger_origin AS origin, %L AS tbl, count(*) AS nrows, 0::bigint AS nleaves FROM ONLY %s r '
                             'WHERE r.ledger_origin IN (SELECT m.origin FROM @extschema@.consortium_member m) GROUP BY 1',
                             n.nspname || '.' || c.relname, l.tbl), ' UNION ALL ')
      INTO sql FROM @extschema@.ledger_tables l JOIN pg_class c ON c.oid = l.tbl JOIN pg_namespace n ON n.oid = c.relnamespace;
    sql := concat_ws(' UNION ALL ', sql,
                     'SELECT h.origin, h.tbl, count(*), 0 FROM @extschema@.held_row h GROUP BY 1, 2',
                     'SELECT p.origin, p.tbl, 0, count(*) FROM @extschema@.peer_leaf p GROUP BY 1, 2');
    DELETE FROM @extschema@.peer_arrival;
    EXECUTE 'INSERT INTO @extschema@.peer_arrival (origin, tbl, rows_received, leaves_received, unsealed_since) '
            'SELECT u.origin, u.tbl, sum(u.nrows), sum(u.nleaves), '
            '       CASE WHEN sum(u.nrows) > sum(u.nleaves) THEN pg_catalog.now() END '
            '  FROM (' || sql || ') u GROUP BY 1, 2';
    RETURN QUERY SELECT * FROM @extschema@.peer_arrival a ORDER BY a.origin, a.tbl;
END $$;
COMMENT ON FUNCTION @extschema@.recount_arrivals() IS
    'count again, from the stored rows, held rows and leaves, what arrived from each member (battledger.peer_arrival); returns the counts';
REVOKE ALL ON FUNCTION @extschema@.recount_arrivals() FROM PUBLIC;

-- Everything this member holds of another: chains, leaves against rows, rows
-- against leaves, checkpoints.  (row_security off: a policy must not hide a
-- row from the checks; one that would fails the read instead, as verify()
-- refuses.)
CREATE FUNCTION @extschema@.verify_member(member text)
    RETURNS TABLE (tbl text, problem text, detail text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET row_security = off AS $$
DECLARE
    sql text;
    t record;
    n bigint;
    cp record;
    last_age int;       -- age of the transaction that stored the member's latest checkpoints here
    before_age int;     -- of the one before it (NULL: fewer than two)
    sealed_before bigint;   -- the largest tree stored before the latest checkpoints' transaction
    -- each table's leaves no received row names (leaf_without_row), and the
    -- rows not in the log (row_not_in_log, row_leaf_mismatch), found by one
    -- grouping per table and returned in the order they always were
    named_tbls text[] := '{}';  -- the tables the member's leaves name, as they name them,
    named_rels oid[] := '{}';   -- and the ledger table of that name here (NULL: none)
    leaf_rels oid[] := '{}';
    leaf_counts bigint[] := '{}';
    row_problems text[];
    row_details text[];
    lost_chain text[];      -- a table's rows lost: no leaf at their seq, prev and row hash
    lost_sealed bigint[];   -- (the last seq of their chain a sealed leaf names)
    lost_seq bigint[];
    lost_age int[];
    lost_prev @extschema@.hash256[];
    rows_tbl text[] := '{}';
    rows_problem text[] := '{}';
    rows_detail text[] := '{}';
    -- progress: one step per table and check (verify() reports its own rows)
    what text := pg_catalog.format('verify_member(%s)', member);
    steps bigint;
    done bigint := 0;
    started timestamptz := pg_catalog.clock_timestamp();
    last timestamptz := started;
BEGIN
    -- the tables the member's leaves name, read once (every leaf of the
    -- member): the checks below read the leaves only of these, and the
    -- leaves' findings are returned in this order (0.24.0's)
    FOR t IN SELECT DISTINCT p.tbl, l.rel FROM @extschema@.peer_leaf p
               LEFT JOIN (SELECT lt.tbl AS rel, n.nspname || '.' || c.relname AS qualname
                            FROM @extschema@.ledger_tables lt
                            JOIN pg_class c ON c.oid = lt.tbl JOIN pg_namespace n ON n.oid = c.relnamespace) l
                 ON l.qualname = p.tbl
              WHERE p.origin = member LOOP
        named_tbls := named_tbls || t.tbl;
        named_rels := named_rels || t.rel::oid;
    END LOOP;
    steps := (SELECT 2 * count(*) + 2 * count(*) FILTER (WHERE l.signer_roles IS NOT NULL) FROM @extschema@.ledger_tables l)
             + (SELECT count(DISTINCT x.tbl) FROM pg_catalog.unnest(named_tbls) AS x(tbl));
    FOR t IN SELECT l.tbl FROM @extschema@.ledger_tables l ORDER BY l.tbl::text LOOP
        RETURN QUERY SELECT t.tbl::text, v.problem, coalesce(v.chain_key || ': ', '') || v.detail
                       FROM @extschema@.verify(t.tbl, member) v;
        done := done + 1;
        last := @extschema@._progress(what, 'checks', done, steps, started, last);
    END LOOP;
    -- every row received from the member is in its log once the log has
    -- sealed past it (docs/security.md, "Rows a member never sealed"): its
    -- leaf (same seq, prev and row hash) is stored here, or the row is named
    --   row_leaf_mismatch: a leaf of the table at the row's place (same seq
    --     and prev, seq > 1: a first row's prev is every chain's) holds
    --     another row hash;
    --   row_not_in_log: the log sealed past it: a later row of its chain has
    --     a leaf in a checkpoint stored before the latest seal (which began
    --     after the earlier seal committed, so after the row did: the row
    --     was queued for it), or two seals were stored after the row (the
    --     row committed before the first did, so it was queued when the
    --     second began).
    -- A seal: a transaction that stored a checkpoint of the member
    -- witnessed as it arrived (frontier set), which the apply worker does
    -- only once the join's copy is over, applying the member's transactions
    -- in commit order (the copy's checkpoints, stored in no order with the
    -- rows copied, do not count).  Local order is the age of the storing
    -- transaction (xmin: rows and checkpoints are only ever inserted).  An
    -- honest row in flight (committed after the last seal but one) is named
    -- by neither; a member that stops sealing is a status
    -- (consortium_status(): unsealed), not a row's finding.
    -- (A STABLE function reads one snapshot: these counts are the ones the
    -- tables' checks below see, wherever they are read.)
    SELECT pg_catalog.min(pg_catalog.age(pc.xmin)) INTO last_age
      FROM @extschema@.peer_checkpoint pc WHERE pc.origin = member AND pc.frontier IS NOT NULL;
    SELECT pg_catalog.min(pg_catalog.age(pc.xmin)) FILTER (WHERE pc.frontier IS NOT NULL), pg_catalog.max(pc.tree_size)
      INTO before_age, sealed_before
      FROM @extschema@.peer_checkpoint pc WHERE pc.origin = member AND pg_catalog.age(pc.xmin) > last_age;
    -- One grouping of each table's leaves and rows serves both that and
    -- "every leaf names a row received" (leaf_without_row, returned first,
    -- below): reading them twice was most of this function's cost (0.24.0:
    -- 2-3x; docs/benchmarks.md, "0.25.0: verify_member()'s leaves and rows
    -- grouped once").  Leaves and rows are matched by grouping, not by a
    -- join: neither side has an index on (origin, seq), and right after a
    -- join's copy the tables have no statistics yet, so the planner takes
    -- the leaves for one row and plans an anti join as a nested loop
    -- scanning the whole table per leaf (quadratic: 52 s for 20,000 rows).
    -- A grouping is hashed or sorted whatever the statistics say.
    -- Grouped by seq, prev and row hash (each row with its leaf, as the leaf
    -- hashes them; src 0 a leaf, 1 a row of the table itself, 2 a row of a
    -- table inheriting from it (which the guard refuses; read as before), 3
    -- a row held back by a quarantine: received, its hash the one it arrived
    -- with, in row_data), then by chain: the last row sealed, the rows lost
    -- and the leaves no received row matches; the places of lost rows that
    -- a leaf holds, reading the leaves again only if a row past its chain's
    -- first is lost.
    -- A leaf whose group holds no received row is named leaf_without_row if
    -- no received row has its seq and row hash whatever its prev, as before:
    -- only when some leaf's group has none (a leaf without its row, or one
    -- giving a row another prev) is that counted again, by the earlier
    -- grouping on (seq, row hash), reading the table again.
    FOR t IN SELECT l.tbl, l.chain_by, n.nspname || '.' || c.relname AS qualname, c.relhassubclass AS children,
                    (SELECT pg_catalog.format(' COLLATE %I.%I', cn.nspname, co.collname) FROM pg_attribute a
                       JOIN pg_collation co ON co.oid = a.attcollation JOIN pg_namespace cn ON cn.oid = co.collnamespace
                      WHERE a.attrelid = l.tbl AND a.attname = l.chain_by) AS chain_coll
               FROM @extschema@.ledger_tables l
               JOIN pg_class c ON c.oid = l.tbl JOIN pg_namespace n ON n.oid = c.relnamespace
              ORDER BY l.tbl::text LOOP
        EXECUTE format(
            'WITH ch AS MATERIALIZED ('
            '       SELECT g.chain, pg_catalog.max(g.seq) FILTER (WHERE g.li < $4 AND g.has_row) AS sealed_seq, '
            '              pg_catalog.array_agg(g.seq) FILTER (WHERE g.li IS NULL AND g.has_row) AS seqs, '
            '              pg_catalog.array_agg(g.age) FILTER (WHERE g.li IS NULL AND g.has_row) AS ages, '
            '              pg_catalog.array_agg(g.prev) FILTER (WHERE g.li IS NULL AND g.has_row) AS prevs, '
            '              pg_catalog.sum(g.leaves) FILTER (WHERE NOT g.received) AS unmatched '
            '         FROM (SELECT u.seq, u.prev, pg_catalog.min(u.leaf_index) AS li, pg_catalog.max(u.chain) AS chain, pg_catalog.max(u.age) AS age, '
            '                      pg_catalog.count(*) FILTER (WHERE u.src = 0) AS leaves, pg_catalog.bool_or(u.src <> 0) AS received, '
            '                      pg_catalog.bool_or(u.src = 1) AS has_row '
            '                 FROM (SELECT 0 AS src, p.leaf_index, p.seq, p.prev, p.row_hash AS h, NULL::text AS chain, NULL::int AS age '
            '                         FROM @extschema@.peer_leaf p WHERE %s AND p.origin = $1 AND p.tbl = $2 '
            '                       UNION ALL '
            '                       SELECT 1, NULL, r.ledger_seq, r.ledger_prev, r.ledger_hash, %s, pg_catalog.age(r.xmin) '
            '                         FROM ONLY %s r WHERE r.ledger_origin = $1 '
            '                       %s'
            '                       UNION ALL '
            '                       SELECT 3, NULL, h.seq, (h.row_data->>''ledger_prev'')::@extschema@.hash256, (h.row_data->>''ledger_hash'')::@extschema@.hash256, NULL, NULL '
            '                         FROM @extschema@.held_row h WHERE h.origin = $1 AND h.tbl = $2) u '
            '                GROUP BY u.seq, u.prev, u.h) g '
            '        GROUP BY g.chain HAVING pg_catalog.bool_or(g.li IS NULL AND g.has_row) OR pg_catalog.bool_or(NOT g.received)) '
            'SELECT (SELECT coalesce(pg_catalog.sum(c.unmatched), 0) FROM ch c), pg_catalog.array_agg(c.chain), '
            '       pg_catalog.array_agg(c.sealed_seq), pg_catalog.array_agg(s.seq), pg_catalog.array_agg(s.age), pg_catalog.array_agg(s.prev) '
            '  FROM ch c, ROWS FROM (pg_catalog.unnest(c.seqs), pg_catalog.unnest(c.ages), pg_catalog.unnest(c.prevs)) AS s(seq, age, prev)',
            CASE WHEN t.tbl::oid = ANY (named_rels) THEN 'true' ELSE 'false' END,   -- leaves of the table only if its name has some
            CASE WHEN t.chain_by IS NULL THEN '''(one chain)''::text' ELSE pg_catalog.format('r.%I::text', t.chain_by) END, t.tbl,
            CASE WHEN t.children
                 THEN pg_catalog.format('UNION ALL SELECT 2, NULL, r.ledger_seq, r.ledger_prev, r.ledger_hash, NULL, NULL FROM %s r '
                                        'WHERE r.ledger_origin = $1 AND r.tableoid OPERATOR(pg_catalog.<>) %s::pg_catalog.oid ', t.tbl, t.tbl::oid)
                 ELSE '' END)
            INTO n, lost_chain, lost_sealed, lost_seq, lost_age, lost_prev USING member, t.qualname, before_age, sealed_before;
        -- the rows lost (no leaf at their seq, prev and row hash: in the
        -- usual case only the rows in flight) are named; the leaves at their
        -- places are picked by prev from a constant array of the lost rows'
        -- (hashed whatever the statistics say), not grouped again
        row_problems := NULL;
        row_details := NULL;
        IF pg_catalog.cardinality(lost_seq) > 0 THEN
            -- (the chain keys sorted and grouped in the chain column's collation, as above)
            EXECUTE format(
                'WITH lost AS (SELECT l.chain%s AS chain, l.sealed_seq, l.seq, l.age, l.prev '
                '                FROM ROWS FROM (pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9)) '
                '                     AS l(chain, sealed_seq, seq, age, prev)), '
                '     mm AS (SELECT x.seq, pg_catalog.max(x.chain) AS chain '
                '              FROM (SELECT p.seq, p.prev, NULL::text AS chain FROM @extschema@.peer_leaf p '
                '                     WHERE %s AND p.origin = $1 AND p.tbl = $2 AND p.seq > 1 AND p.prev OPERATOR(@extschema@.=) ANY ($10) '
                '                    UNION ALL '
                '                    SELECT l.seq, l.prev, l.chain FROM lost l WHERE l.seq > 1) x '
                '             GROUP BY x.seq, x.prev HAVING pg_catalog.bool_or(x.chain IS NULL) AND pg_catalog.bool_or(x.chain IS NOT NULL)) '
                'SELECT pg_catalog.array_agg(z.problem ORDER BY z.chain, z.seq), pg_catalog.array_agg(z.detail ORDER BY z.chain, z.seq) '
                '  FROM (SELECT f.chain, f.seq, pg_catalog.min(f.problem) AS problem, '
                '               pg_catalog.format(''row of origin %%s, chain %%s, seq %%s: in no leaf of the member''''s log stored here, though %%s.'', '
                '                                 $1, f.chain, f.seq, (pg_catalog.array_agg(f.why ORDER BY f.problem))[1]) AS detail '
                '          FROM (SELECT l.chain, l.seq, ''row_not_in_log'' AS problem, '
                '                       CASE WHEN l.seq < l.sealed_seq THEN pg_catalog.format(''a later row of its chain (seq %%s) is in a checkpoint of the log'', l.sealed_seq) '
                '                            ELSE ''two seals of the log arrived here after it'' END AS why '
                '                  FROM lost l WHERE l.seq < l.sealed_seq OR l.age > $3 '
                '                UNION ALL '
                '                SELECT m.chain, m.seq, ''row_leaf_mismatch'', ''the leaf at its place (same seq and prev) names another row hash'' FROM mm m) f '
                '         GROUP BY f.chain, f.seq) z', coalesce(t.chain_coll, ''),
                CASE WHEN t.tbl::oid = ANY (named_rels) THEN 'true' ELSE 'false' END)
                INTO row_problems, row_details
                USING member, t.qualname, before_age, sealed_before, lost_chain, lost_sealed, lost_seq, lost_age, lost_prev,
                      ARRAY(SELECT l.prev FROM ROWS FROM (pg_catalog.unnest(lost_seq), pg_catalog.unnest(lost_prev)) AS l(seq, prev) WHERE l.seq > 1);
        END IF;
        IF n > 0 THEN
            EXECUTE format('SELECT coalesce(sum(g.leaves), 0) FROM ('
                           '  SELECT count(*) FILTER (WHERE u.leaf) AS leaves, bool_or(NOT u.leaf) AS received'
                           '    FROM (SELECT true AS leaf, p.seq, p.row_hash AS h FROM @extschema@.peer_leaf p'
                           '           WHERE p.origin = $1 AND p.tbl = $2'
                           '          UNION ALL'
                           '          SELECT false, r.ledger_seq, r.ledger_hash FROM %s r WHERE r.ledger_origin = $1'
                           '          UNION ALL'
                           '          SELECT false, h.seq, (h.row_data->>''ledger_hash'')::@extschema@.hash256 FROM @extschema@.held_row h'
                           '           WHERE h.origin = $1 AND h.tbl = $2) u'
                           '   GROUP BY u.seq, u.h) g WHERE NOT g.received', t.tbl)
                INTO n USING member, t.qualname;
        END IF;
        leaf_rels := leaf_rels || t.tbl::oid;
        leaf_counts := leaf_counts || n;
        rows_tbl := rows_tbl || pg_catalog.array_fill(t.qualname, ARRAY[coalesce(pg_catalog.cardinality(row_problems), 0)]);
        rows_problem := rows_problem || row_problems;
        rows_detail := rows_detail || row_details;
        done := done + 1;
        last := @extschema@._progress(what, 'checks', done, steps, started, last);
    END LOOP;
    -- every leaf names a row received from the member (leaves name tables as text:
    -- only this database's ledger tables are looked into), as counted above
    FOR i IN 1 .. pg_catalog.cardinality(named_tbls) LOOP
        IF named_rels[i] IS NULL THEN
            RETURN QUERY SELECT named_tbls[i], 'unknown_table'::text, 'The member''s log names a table that is not a ledger table here.'::text;
            done := done + 1;
            CONTINUE;
        END IF;
        n := leaf_counts[pg_catalog.array_position(leaf_rels, named_rels[i])];
        IF n > 0 THEN
            RETURN QUERY SELECT named_tbls[i], 'leaf_without_row'::text, format('%s not received.', @extschema@._counted(n, 'leaf names a row', 'leaves name rows'));
        END IF;
        done := done + 1;
        last := @extschema@._progress(what, 'checks', done, steps, started, last);
    END LOOP;
    -- and the rows not in the log, table by table, as found above
    RETURN QUERY SELECT x.tbl, x.problem, x.detail
                   FROM ROWS FROM (pg_catalog.unnest(rows_tbl), pg_catalog.unnest(rows_problem), pg_catalog.unnest(rows_detail))
                        WITH ORDINALITY AS x(tbl, problem, detail, i)
                  ORDER BY x.i;
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
                format('%s signed with a key since revoked, dated before the revocation, %s not covered by a checkpoint another witness cosigned before it.',
                       @extschema@._counted(n, 'row', 'rows'), CASE WHEN n = 1 THEN 'is' ELSE 'are' END);
        END IF;
        done := done + 1;
        last := @extschema@._progress(what, 'checks', done, steps, started, last);
    END LOOP;
    -- a row dated well before a row the member sealed earlier: within a
    -- member, log order is commit order, so only a transaction open that long
    -- (battledger.max_backdate) dates a row so far back honestly; a new
    -- chain has no predecessor to bound its date otherwise, and registry order
    -- follows the date (docs/security.md, "backdated rows")
    -- (each leaf gets its row's ledger_at by a window over leaves and rows
    -- partitioned by (seq, hash), not by a join, for the reason given above)
    SELECT string_agg(format('SELECT v.leaf_index, v.ledger_at, %L::text AS tbl FROM ('
                             '  SELECT w.leaf_index, max(w.ledger_at) OVER (PARTITION BY w.seq, w.h) AS ledger_at'
                             '    FROM (SELECT p.leaf_index, p.seq, p.row_hash AS h, NULL::timestamptz AS ledger_at'
                             '            FROM @extschema@.peer_leaf p WHERE p.origin = $1 AND p.tbl = %L'
                             '          UNION ALL'
                             '          SELECT NULL, r.ledger_seq, r.ledger_hash, r.ledger_at FROM ONLY %s r'
                             '           WHERE r.ledger_origin = $1) w) v'
                             ' WHERE v.leaf_index IS NOT NULL AND v.ledger_at IS NOT NULL',
                             l.tbl::text, n.nspname || '.' || c.relname, l.tbl), ' UNION ALL ')
      INTO sql FROM @extschema@.ledger_tables l JOIN pg_class c ON c.oid = l.tbl JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE l.signer_roles IS NOT NULL    -- only signed tables carry ledger_at
       AND l.tbl::oid = ANY (named_rels);   -- (a table no leaf names has no row to judge)
    -- and namespace registrations their own date, which decides what they govern
    sql := nullif(concat_ws(' UNION ALL ', sql,
        CASE WHEN '@extschema@.id_namespace'::regclass::oid = ANY (named_rels) THEN
        'SELECT p.leaf_index, r.at, ''@extschema@.id_namespace''::text FROM @extschema@.peer_leaf p '
        'JOIN ONLY @extschema@.id_namespace r ON r.ledger_origin = p.origin AND r.ledger_seq = p.seq '
        'AND r.ledger_hash OPERATOR(@extschema@.=) p.row_hash WHERE p.origin = $1 AND p.tbl = ''@extschema@.id_namespace''' END), '');
    IF sql IS NOT NULL THEN
        RETURN QUERY EXECUTE format(
            'SELECT x.tbl, ''backdated_row''::text, pg_catalog.format(''%%s dated more than %%s before a row the member sealed earlier (the first at leaf %%s).'', '
            '       @extschema@._counted(count(*), ''row is'', ''rows are''), $2, min(x.leaf_index)) '
            'FROM (SELECT u.*, max(u.ledger_at) OVER (ORDER BY u.leaf_index ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before '
            '        FROM (%s) u) x WHERE x.ledger_at < x.before - $2 GROUP BY x.tbl ORDER BY x.tbl', sql)
            USING member, coalesce(pg_catalog.current_setting('battledger.max_backdate', true), '600')::interval;
    END IF;
    -- what the arrival check leaves to this function for rows copied at a join
    -- (keys, roles, batches and the members' rows may arrive after the rows
    -- that need them), and what verify() does not check for rows of a batch:
    -- the signer's role at ledger_at, the key's validity at ledger_at, the
    -- batch naming this table and this key; and (0.27.0, red team rt27) a
    -- signer's member the member's origin did not add: a copy of another
    -- member's signed row under the member's origin (signer_not_hosted, the
    -- arrival check's refusal since 0.27.0; a row of a batch by its key)
    FOR t IN SELECT l.tbl, l.signer_roles FROM @extschema@.ledger_tables l
              WHERE l.signer_roles IS NOT NULL ORDER BY l.tbl::text LOOP
        EXECUTE format('SELECT count(*) FILTER (WHERE NOT coalesce(ra.roles && $2, false)) AS n_role, '
                       '       count(*) FILTER (WHERE k.member IS NOT NULL AND NOT EXISTS (SELECT 1 FROM @extschema@._member_hosts h '
                       '           WHERE h.member = k.member AND r.ledger_origin = ANY (h.origins))) AS n_host, '
                       '       count(*) FILTER (WHERE r.ledger_batch IS NOT NULL AND (k.key_id IS NULL '
                       '           OR r.ledger_at < k.valid_from OR r.ledger_at >= coalesce(k.valid_until, ''infinity'') '
                       '           OR r.ledger_at >= coalesce(k.revoked_at, ''infinity''))) AS n_key, '
                       '       count(*) FILTER (WHERE r.ledger_batch IS NOT NULL AND NOT EXISTS (SELECT 1 FROM @extschema@.batch b '
                       '           WHERE b.batch_id = r.ledger_batch AND pg_catalog.to_regclass(b.tbl) = $3 '
                       '             AND b.key_id OPERATOR(@extschema@.=) r.ledger_key_id)) AS n_batch '
                       'FROM ONLY %s r LEFT JOIN @extschema@.keys k ON k.key_id OPERATOR(@extschema@.=) r.ledger_key_id '
                       'LEFT JOIN LATERAL (SELECT e.roles FROM @extschema@._member_rows_counted e '
                       '                    WHERE e.member = k.member AND e.at <= r.ledger_at '
                       '                    ORDER BY e.at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1) ra ON true '
                       'WHERE r.ledger_origin = $1', t.tbl)
            INTO cp USING member, t.signer_roles, t.tbl;
        IF cp.n_role > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'wrong_role'::text,
                format('%s signed by a key whose member held none of the table''s roles at the row''s time.',
                       @extschema@._counted(cp.n_role, 'row is', 'rows are'));
        END IF;
        IF cp.n_host > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'signer_not_hosted'::text,
                format('%s signed for a member the member''s origin did not add: copies of another member''s signed rows.',
                       @extschema@._counted(cp.n_host, 'row is', 'rows are'));
        END IF;
        IF cp.n_key > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'batch_key_invalid'::text,
                format('%s signed by a key unknown, not valid or revoked at the row''s time.',
                       @extschema@._counted(cp.n_key, 'row of a batch is', 'rows of batches are'));
        END IF;
        IF cp.n_batch > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'batch_mismatch'::text,
                format('%s a batch that is missing, for another table, or signed by another key.',
                       @extschema@._counted(cp.n_batch, 'row names', 'rows name'));
        END IF;
        done := done + 1;
        last := @extschema@._progress(what, 'checks', done, steps, started, last);
    END LOOP;
    -- registry rows its rules should have refused: judged ineffective on
    -- every member (battery_lifecycle(), _model_holder(), _lot_custody_steps()),
    -- and named here as the member's doing, with the table each is in (a
    -- namespace, model or lot row names no battery)
    -- (by the problem, which each branch of registry_conflicts() sets, not
    -- by the event, a lot row's free text: one written past the rules as
    -- 'battery_model' was filed there; red team r22, V1)
    RETURN QUERY SELECT CASE WHEN c.battery_id IS NULL AND c.problem LIKE 'namespace\_%' THEN 'battledger.id_namespace'
                             WHEN c.battery_id IS NULL AND c.problem IN ('key_not_hosted', 'key_registered_twice') THEN 'battledger.key_event'
                             WHEN c.battery_id IS NULL AND c.problem IN ('roles_not_hosted', 'member_hosting_contested') THEN 'battledger.member_event'
                             WHEN c.battery_id IS NULL AND c.problem LIKE 'model\_%' THEN 'battledger.battery_model'
                             WHEN c.battery_id IS NULL THEN 'battledger.lot_event'
                             ELSE 'battledger.battery_event' END,
                        'registry_equivocation'::text,
                        CASE WHEN c.battery_id IS NULL
                             THEN pg_catalog.format('%s (seq %s): %s', c.event, c.ledger_seq, c.message)
                             ELSE pg_catalog.format('%s of battery %s (seq %s): %s', c.event, c.battery_id, c.ledger_seq, c.message) END
                   FROM @extschema@.registry_conflicts() c
                  WHERE c.ledger_origin = member AND c.kind = 'equivocation'
                  ORDER BY c.battery_id::text NULLS LAST, c.event, c.ledger_seq;
    -- rows held back from a quarantined chain are not here yet
    RETURN QUERY SELECT h.tbl, 'held_back'::text,
                        pg_catalog.format('%s of chain %s held back by a quarantine.', @extschema@._counted(count(*), 'row', 'rows'), coalesce(h.chain_key, '(every chain)'))
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
    'check everything received from a member: its chains, that its leaves name rows received, that its rows are in its log once it has sealed past them, its latest checkpoint''s root';
-----------------------------------------------------------------------------
-- Quarantine (src/pg/quarantine.c): hold back one chain, or every chain of a
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
    -- close_quarantine(): its rows can never be stored; still held back,
    -- no longer counted by consortium_status() (0.19.0)
    closed_at timestamptz,
    closed_reason text,
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
        INSERT INTO @extschema@.quarantine (origin, tbl, chain_key, since, reason, closed_at, closed_reason)
        VALUES (q.origin, q.tbl, q.chain_key, q.since, q.reason, q.closed_at, q.closed_reason);
    END IF;
END $$;
COMMENT ON FUNCTION @extschema@.release_chain(text, regclass, text) IS
    're-check a quarantined chain''s held rows: store those that extend it, keep the rest held with the reason';
REVOKE ALL ON FUNCTION @extschema@.release_chain(text, regclass, text) FROM PUBLIC;

-- A quarantine that can never be released: the member cannot repair the
-- chain (a forged row stays in its append-only table, and its later rows
-- link to it), so release_chain() leaves its rows held for good, and
-- consortium_status() said "quarantined", health() counted the member not ok,
-- for good (0.18.0's closing note; ops21).  Closing it keeps everything as it
-- is -- the chain held back, its rows kept as evidence, later rows of it held
-- too -- and only stops counting it: the member can be "ok" again, the reason
-- then naming the closed chains.  Only after release_chain() has re-checked
-- every held row (each has its problem): closing must not hide a chain that
-- a release would store.  Reopened by setting closed_at back to NULL
-- (docs/consortium.md).  Returns the rows kept held.
CREATE FUNCTION @extschema@.close_quarantine(origin text, tbl regclass, chain_key text DEFAULT NULL,
                                             reason text DEFAULT NULL)
    RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    qual text;
    q record;
    unchecked bigint;
    held bigint;
BEGIN
    SELECT n.nspname || '.' || c.relname INTO qual
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = close_quarantine.tbl;
    SELECT * INTO q FROM @extschema@.quarantine x
     WHERE x.origin = close_quarantine.origin AND x.tbl = qual
       AND x.chain_key IS NOT DISTINCT FROM close_quarantine.chain_key
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no quarantine of % % %', origin, tbl, coalesce(chain_key, '(every chain)')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'battledger.quarantine lists them.';
    END IF;
    IF q.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'the quarantine of % % % is closed already', origin, tbl, coalesce(chain_key, '(every chain)')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('It was closed at %s%s.', q.closed_at, ': ' || q.closed_reason);
    END IF;
    SELECT count(*), count(*) FILTER (WHERE h.problem IS NULL) INTO held, unchecked
      FROM @extschema@.held_row h
     WHERE h.origin = close_quarantine.origin AND h.tbl = qual
       AND (close_quarantine.chain_key IS NULL OR h.chain_key = close_quarantine.chain_key);
    IF held = 0 THEN
        RAISE EXCEPTION 'the quarantine of % % % holds no rows', origin, tbl, coalesce(chain_key, '(every chain)')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('SELECT * FROM battledger.release_chain(%L, %L, %L) ends it.', origin, qual, chain_key);
    END IF;
    IF unchecked > 0 THEN
        RAISE EXCEPTION 'the quarantine of % % % holds % that release_chain() has not re-checked',
                        origin, tbl, coalesce(chain_key, '(every chain)'), @extschema@._counted(unchecked, 'row', 'rows')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A quarantine is closed only when a release has shown that its rows cannot be stored.',
                  HINT = format('SELECT * FROM battledger.release_chain(%L, %L, %L) first: it stores what it can.',
                                origin, qual, chain_key);
    END IF;
    UPDATE @extschema@.quarantine x SET closed_at = pg_catalog.now(), closed_reason = close_quarantine.reason
     WHERE x.origin = q.origin AND x.tbl = q.tbl AND x.chain_key IS NOT DISTINCT FROM q.chain_key;
    RETURN held;
END $$;
COMMENT ON FUNCTION @extschema@.close_quarantine(text, regclass, text, text) IS
    'close a quarantine that release_chain() cannot end: its rows stay held for good, as evidence, and consortium_status() no longer counts it';
REVOKE ALL ON FUNCTION @extschema@.close_quarantine(text, regclass, text, text) FROM PUBLIC;
-----------------------------------------------------------------------------
-- One line of health for monitoring: the log's backlog and age, how much of
-- it the other members have cosigned, the members not "ok", refusals, held
-- rows.  monitoring/postgres_exporter.yml exports it to Prometheus.
-----------------------------------------------------------------------------
-- The queue is unlogged, and a standby cannot read an unlogged table (the
-- planner refuses it): PL/pgSQL plans the count only when it is reached.
CREATE FUNCTION @extschema@._pending_rows() RETURNS bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT count(*) FROM @extschema@.log_pending);
END $$;
REVOKE ALL ON FUNCTION @extschema@._pending_rows() FROM PUBLIC;
CREATE FUNCTION @extschema@.health(
        OUT origin text, OUT pending_rows bigint, OUT log_size bigint,
        OUT last_checkpoint_at timestamptz, OUT seconds_since_checkpoint double precision,
        OUT cosigned_size bigint, OUT uncosigned_leaves bigint,
        OUT members bigint, OUT members_not_ok bigint, OUT rejections bigint, OUT held_rows bigint,
        OUT unpublished bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.current_setting('battledger.origin', true),
           @extschema@._pending_rows(),
           coalesce(c.tree_size, 0), c.at,
           extract(epoch FROM pg_catalog.now() - c.at)::double precision,
           coalesce(w.size, 0), coalesce(c.tree_size, 0) - coalesce(w.size, 0),
           (SELECT count(*) FROM @extschema@.consortium_member),
           (SELECT count(*) FROM @extschema@.consortium_status() s WHERE s.state <> 'ok'),
           (SELECT count(*) FROM @extschema@.rejections),
           (SELECT count(*) FROM @extschema@.held_row),
           -- the tables this member publishes (publish_member()) that its
           -- publication lacks (0.24.0): a ledger table enabled after the
           -- publication was made, or a database restored from pg_dump,
           -- which leaves the extension's own tables out of it; the other
           -- members see only rows missing, or no checkpoint, much later.
           -- NULL where there is no publication and no member is joined
           -- (not a member yet); every table where the publication is gone
           -- (renamed, dropped) or publishes no inserts.  A table counts as
           -- published in it whole: no column list, and no row filter on
           -- the log's leaves and checkpoints (publish_member() sets none;
           -- the ledger tables' and cosignatures' filters by origin are
           -- not compared: red team r32, F4).
           CASE WHEN pub.oid IS NULL AND NOT EXISTS (SELECT FROM @extschema@.consortium_member) THEN NULL
                WHEN pub.puballtables AND pub.pubinsert THEN 0 ELSE
           (SELECT count(*) FROM (SELECT l.tbl FROM @extschema@.ledger_tables l
                                  UNION ALL
                                  VALUES ('@extschema@.log_leaf'::pg_catalog.regclass),
                                         ('@extschema@.checkpoint'::pg_catalog.regclass),
                                         ('@extschema@.cosignature'::pg_catalog.regclass)) want (rel)
             WHERE NOT coalesce(pub.pubinsert, false)
                OR (NOT EXISTS (SELECT FROM pg_catalog.pg_publication_rel r
                                 WHERE r.prpubid = pub.oid AND r.prrelid = want.rel AND r.prattrs IS NULL
                                   AND (r.prqual IS NULL
                                        OR want.rel NOT IN ('@extschema@.log_leaf'::pg_catalog.regclass,
                                                            '@extschema@.checkpoint'::pg_catalog.regclass)))
                    AND NOT EXISTS (SELECT FROM pg_catalog.pg_publication_namespace n
                                      JOIN pg_catalog.pg_class c ON c.relnamespace = n.pnnspid
                                     WHERE n.pnpubid = pub.oid AND c.oid = want.rel))) END
      FROM (SELECT 1) one
      LEFT JOIN pg_catalog.pg_publication pub ON pub.pubname = 'battledger_member'
      LEFT JOIN LATERAL (SELECT k.tree_size, k.at FROM @extschema@.checkpoint k ORDER BY k.tree_size DESC LIMIT 1) c ON true
      -- only cosignatures of a checkpoint this log signed (its size and
      -- root): the cosignature trigger checks the witness's signature, not
      -- that the tree was ever this member's, and a witness cosigning a
      -- made-up tree of this log must not make it look cosigned (red team
      -- r21 F1); tlog_proof() reads them the same way
      LEFT JOIN LATERAL (SELECT max(s.tree_size) AS size FROM @extschema@.cosignature s
                           JOIN @extschema@.checkpoint k
                             ON k.tree_size = s.tree_size AND k.root OPERATOR(@extschema@.=) s.root
                          WHERE s.log_origin = pg_catalog.current_setting('battledger.origin', true)
                            AND s.witness <> s.log_origin) w ON true
$$;
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
    'the state a battery''s lifecycle events have reached: manufactured, status, current passport id, custodian, pending handover';
COMMENT ON FUNCTION @extschema@.battery_lifecycle(@extschema@.battery_id) IS
    'a battery''s lifecycle events in registry order, each with the rules'' verdict and the state reached: the same on every member';
COMMENT ON FUNCTION @extschema@.registry_conflicts() IS
    'every registry event the rules judge ineffective (equivocation: its writer bypassed the rules; conflict: a race between members)';
COMMENT ON FUNCTION @extschema@.set_custody_from(timestamptz) IS
    'the consortium''s agreed date from which lifecycle events need the battery''s custody';
COMMENT ON FUNCTION @extschema@._battery_verdict(@extschema@.battery_event, text, text[], @extschema@.battery_fold_state, boolean, boolean) IS
    'internal: the registry rules'' verdict on one battery event given the state before it';
COMMENT ON FUNCTION @extschema@._custody_from() IS 'internal: the date custody is enforced from';
COMMENT ON FUNCTION @extschema@._signer_at(@extschema@.hash256, timestamptz) IS 'internal: the member behind a key and its roles at a time';
COMMENT ON FUNCTION @extschema@._row_signed(anyelement, regclass) IS
    'internal: would the chain trigger accept the signature of this new row (by the key it names, valid now, or a batch that key signed in this transaction)?';
COMMENT ON FUNCTION @extschema@._refuse_row(anyelement, regclass, text, text, text, text) IS
    'internal: the rules'' verdict on a row, raised only if the row is signed; otherwise the chain trigger refuses it';
COMMENT ON FUNCTION @extschema@._batch_open_here(text, regclass, @extschema@.hash256) IS
    'internal: was this batch inserted by this transaction, for this table, with this key?';
COMMENT ON FUNCTION @extschema@._is_lifecycle(text) IS 'internal: does this event kind decide a battery''s state?';
COMMENT ON TABLE @extschema@.id_namespace IS 'identifier namespaces (GS1 company prefixes, ISO/IEC 15459 issuers) and the member that makes batteries under each';
COMMENT ON FUNCTION @extschema@.add_id_namespace(text, text) IS
    'register a GS1 company prefix (gs1:NNNN…) or ISO/IEC 15459 issuer and company (iso15459:IAC/CIN) as a member''s: only it may then write "manufactured" under it';
COMMENT ON FUNCTION @extschema@._id_key(@extschema@.battery_id) IS 'internal: the part of a battery id that namespaces are prefixes of';
COMMENT ON FUNCTION @extschema@._ns_covers(text, text) IS 'internal: does a namespace cover an id key or another namespace?';
COMMENT ON FUNCTION @extschema@._json_num(jsonb) IS 'internal: a number in a registry row''s JSON as a finite numeric, else NULL, never an error';
COMMENT ON VIEW @extschema@._lot_counted_creation IS 'internal: each lot''s creation the registry counts (in role, in its namespace, first in registry order), NULL where none counts';
COMMENT ON FUNCTION @extschema@._lot_creation(text) IS 'internal: the creation of a lot the registry counts (in role, in its namespace, first in registry order)';
COMMENT ON FUNCTION @extschema@._model_row(text) IS 'internal: the model as its holder declared it last (its latest row by a key added for the holder)';
COMMENT ON FUNCTION @extschema@._usage_derived(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model) IS 'internal: usage_derived() given the battery''s effective manufacture and its model as its holder declared it';
COMMENT ON FUNCTION @extschema@._recycled_content(@extschema@.battery_id, @extschema@.hash256) IS 'internal: recycled_content() given the ledger_hash of the battery''s effective manufacture';
COMMENT ON TABLE @extschema@._usage_state IS
    'internal: per battery, its legitimate-interest usage reports folded as they arrive (derived, checked by usage_state_check())';
COMMENT ON FUNCTION @extschema@.usage_state_rebuild(@extschema@.battery_id) IS
    'recompute the per-battery usage state the legitimate-interest passport reads, from the reports (NULL: every battery)';
COMMENT ON FUNCTION @extschema@.usage_state_check() IS
    'batteries whose per-battery usage state (what the legitimate-interest passport reads) differs from a recompute from their reports';
COMMENT ON FUNCTION @extschema@._usage_thresholds(@extschema@.battery_event, @extschema@.battery_model) IS
    'internal: the thresholds usage values are judged by, from the effective manufacture and the model';
COMMENT ON FUNCTION @extschema@._usage_state_add(@extschema@.battery_id, timestamptz, text, bigint, jsonb) IS
    'internal: fold one legitimate-interest usage report into its battery''s usage state';
COMMENT ON FUNCTION @extschema@._usage_state_compute(@extschema@.battery_id, numeric, numeric, numeric, numeric) IS
    'internal: a battery''s usage state recomputed from its reports, with given thresholds';
COMMENT ON FUNCTION @extschema@._usage_derived_state(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model) IS
    'internal: _usage_derived()''s rows from the battery''s usage state (the passport''s)';
COMMENT ON FUNCTION @extschema@._usage_state_reported() IS 'internal: trigger folding an arriving usage report into its battery''s usage state';
COMMENT ON FUNCTION @extschema@._usage_state_disclosed() IS 'internal: trigger folding the reports of an arriving disclosure into their batteries'' usage state';
COMMENT ON FUNCTION @extschema@._usage_lock(@extschema@.hash256) IS 'internal: the usage triggers'' turn on a commitment, a lock no SQL-level advisory lock can hold up';
COMMENT ON FUNCTION @extschema@._commitment_rows(@extschema@.hash256, integer, boolean) IS
    'internal: the battery_event rows naming a commitment, up to a limit, by an index scan that stops there (the transaction''s snapshot, or the latest)';
COMMENT ON FUNCTION @extschema@._usage_state_erased() IS 'internal: trigger recomputing the usage state of batteries whose disclosure was erased or changed';
COMMENT ON FUNCTION @extschema@._lot_after_now(text) IS 'internal: when the latest row of a lot that counts is dated, if after a row written now';
COMMENT ON FUNCTION @extschema@._ns_candidates(text) IS 'internal: the prefixes of an id key that a namespace covering it could be';
COMMENT ON FUNCTION @extschema@._id_owners(@extschema@.battery_id, timestamptz) IS 'internal: the members whose namespaces, registered by a time, cover a battery id';
COMMENT ON FUNCTION @extschema@._text_id_key(text) IS 'internal: the namespace key of a model, lot or passport id written as gs1:01/<GTIN>... or iso15459:<IAC>/<CIN>/... (or another spelling battery ids accept), else NULL';
COMMENT ON FUNCTION @extschema@._key_owners(text, timestamptz) IS 'internal: the members whose namespaces, registered by a time, cover a namespace key';
COMMENT ON FUNCTION @extschema@._key_claims(text) IS 'internal: every member whose namespace covers a key, and when it first registered one';
COMMENT ON FUNCTION @extschema@._passport_holder_by(text, text[], timestamptz[], @extschema@.battery_event) IS 'internal: _passport_holder() given the id''s namespace claims (_key_claims(), NULL for none), or the first such row after a row';
COMMENT ON FUNCTION @extschema@._passport_holder(text) IS 'internal: the key of a passport id''s holder (its first issuing row that its namespace allows)';
COMMENT ON FUNCTION @extschema@._key_claim_allows(text[], timestamptz[], text, timestamptz) IS 'internal: may a member write the first row of an id with these claims at a time';
COMMENT ON FUNCTION @extschema@._lot_custody_steps(text) IS 'internal: a lot''s rows in registry order, each one''s verdict and the custody after it';
COMMENT ON FUNCTION @extschema@._lot_consumers(text) IS 'internal: the rows consuming a lot, and whether each counts (signed by the lot''s holder then)';
COMMENT ON FUNCTION @extschema@._lot_ledger(text) IS 'internal: a lot''s rows and the rows consuming it in one registry order, from one walk of the lot''s rows';
COMMENT ON FUNCTION @extschema@._lot_balance(text) IS 'internal: a lot''s custody and the mass it has left, from one walk of its rows';
COMMENT ON FUNCTION @extschema@._ns_hosted(text, text) IS 'internal: was a namespace registration written at the origin that hosts its member?';
COMMENT ON TABLE @extschema@.subject_lock IS 'internal: one row per lot, battery and passport id whose writers take turns (row locks only the rule triggers can take)';
COMMENT ON TABLE @extschema@.battery_fold_cache IS 'internal: the rules'' cache of each battery''s state, with what it was computed from (used only while that holds)';
COMMENT ON FUNCTION @extschema@._battery_fold(@extschema@.battery_id, @extschema@.battery_fold_state, timestamptz, text, bigint) IS
    'internal: battery_lifecycle()''s fold from a state, over the lifecycle events after a registry-order key';
COMMENT ON FUNCTION @extschema@._fold_generation() IS 'internal: what every battery''s fold reads besides its own events, as one value';
COMMENT ON TABLE @extschema@.fold_inputs IS 'internal: how many rows the members'', keys'' and namespaces'' ledgers have received, and the resets that void every battery''s fold cache (part of _fold_generation())';
COMMENT ON TABLE @extschema@.fold_subject_changes IS 'internal: how many rows naming each member, key and namespace their ledgers have received (battery_fold_cache.deps)';
COMMENT ON FUNCTION @extschema@._fold_deps(@extschema@.battery_id, text[], timestamptz, text, bigint) IS 'internal: the members, keys and namespaces a battery''s fold reads';
COMMENT ON FUNCTION @extschema@._fold_ns_subject(text) IS 'internal: the subject of the fold cache''s dependencies a namespace registration counts for';
COMMENT ON FUNCTION @extschema@._fold_dep_sum(text[]) IS 'internal: the sum of the counts of the members, keys and namespaces a fold read';
COMMENT ON FUNCTION @extschema@._fold_inputs_changed() IS 'internal: trigger counting the rows the members'', keys'' and namespaces'' ledgers receive';
COMMENT ON TABLE @extschema@.passport_holder_moved IS 'internal: the batteries whose passport id an earlier issuing row took since (voids their cache rows)';
COMMENT ON FUNCTION @extschema@._holders_moved(@extschema@.battery_id) IS 'internal: the passport_holder_moved rows that void a battery''s cache row';
COMMENT ON FUNCTION @extschema@._passport_holder_arrived() IS 'internal: an issuing row that takes its passport id from its holder says so (passport_holder_moved)';
COMMENT ON FUNCTION @extschema@._battery_fold_cached(@extschema@.battery_id, bigint) IS 'internal: the cache row a battery''s state comes to, read under one snapshot';
COMMENT ON FUNCTION @extschema@._battery_state_cached(@extschema@.battery_id, bigint) IS 'internal: battery_state() for the rules trigger, from its cache where that still holds';
COMMENT ON FUNCTION @extschema@._battery_state_read(@extschema@.battery_id) IS 'internal: battery_state() from the rules'' cache where it still holds, read-only, as the owner';
COMMENT ON TABLE @extschema@.registry_rule IS 'registry rules enforced from a date: custody (set_custody_from(); no row: from -infinity)';
COMMENT ON TYPE @extschema@.battery_fold_state IS 'the state a battery''s lifecycle events reached (battery_lifecycle())';
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
COMMENT ON VIEW @extschema@.members IS 'each member''s current roles, from the counted member rows';
COMMENT ON TABLE @extschema@.host_pin IS
    'each member''s host as this database counts it: the origin of the first row adding it seen here (none if a join copied two), or pin_member_host()''s';
COMMENT ON FUNCTION @extschema@.pin_member_host(text, text) IS
    'settle a contested hosting here: count the keys and roles of the given origin''s rows for the member';
COMMENT ON VIEW @extschema@._member_hosts IS
    'the origins hosting each member, per row adding it (a row of the empty origin: this database''s origin too)';
COMMENT ON VIEW @extschema@._member_rows_counted IS
    'the member_event rows that count: a member''s adding rows, and role changes whose origin hosts the member';
COMMENT ON TABLE @extschema@.key_proof IS
    'proofs of possession: a key''s Ed25519 signature over key_possession_message(member, public key); a key registered for two members signs for the one that proved it';
COMMENT ON TABLE @extschema@._key_proof_checked IS
    'internal: each proof of possession as this database checked it when it arrived (the first of each origin for each member); local, derived, checked by key_proof_check()';
COMMENT ON FUNCTION @extschema@._key_proof_arrived() IS 'internal: trigger checking an inserted or arriving proof of possession once into _key_proof_checked';
COMMENT ON FUNCTION @extschema@.key_proof_check() IS
    'every row of _key_proof_checked that differs from a check of the proofs in key_proof (or is missing, or names no proof); no rows when intact';
COMMENT ON FUNCTION @extschema@.key_proof_rebuild() IS
    'check every proof of possession again into _key_proof_checked; returns its number of rows';
COMMENT ON VIEW @extschema@.keys IS 'each key that signs: member, public key, validity and revocation, from the counted key rows (a key counted for two members: the one that proved possession of it, if exactly one did)';
COMMENT ON FUNCTION @extschema@.key_possession_message(text, bytea) IS
    'what a key''s holder signs to prove possession of it for a member: "battledger key-possession v1\n" || member || "\n" || public key';
COMMENT ON FUNCTION @extschema@.prove_key(@extschema@.hash256, bytea, text) IS
    'store a proof of possession of a registered key (its signature over key_possession_message()); returns the member it proves the key for';
COMMENT ON VIEW @extschema@._key_rows_counted IS
    'the key_event rows that count: those whose origin added the member they name (the hosting rule)';
COMMENT ON TABLE @extschema@.checkpoint IS 'this log''s signed checkpoints (C2SP), one per seal() piece';
COMMENT ON TABLE @extschema@.log_leaf IS 'this log''s leaves: one per sealed ledger row';
COMMENT ON TABLE @extschema@.log_block IS 'this log''s blocks: the tree''s nodes of levels 4, 8, 12, ..., 16 a row (width fewer at each level''s right edge), which proofs read instead of tiles and leaves';
COMMENT ON TABLE @extschema@.log_tile IS 'this log''s tiles: the hashes of tree level 8 * level, 256 a row (width fewer at the right edge); the nodes between are recomputed, level 0 is log_leaf';
COMMENT ON TABLE @extschema@.log_pending IS 'ledger rows queued for the next seal()';
COMMENT ON TABLE @extschema@.log_pending_intact IS 'one row while log_pending is whole; empty after a crash or failover reset the unlogged queue, until seal() re-queues the unsealed rows from their tables';
COMMENT ON TABLE @extschema@.cosignature IS 'tlog-cosignature/v1 lines: by this member''s witness and received from others';
COMMENT ON TABLE @extschema@.log_conflict IS 'evidence of a member''s rewritten or forked log: both conflicting checkpoints (new_note NULL: a leaf it published again differently, signed by no checkpoint yet)';
COMMENT ON TABLE @extschema@.peer_checkpoint IS 'other members'' checkpoints, verified and witnessed here';
COMMENT ON TABLE @extschema@.peer_leaf IS 'other members'' log leaves, as verified against their checkpoints';
COMMENT ON TABLE @extschema@.peer_arrival IS 'rows and log leaves received from each member, per table, counted by the arrival triggers: consortium_status() compares them ("rows missing", "unsealed")';
COMMENT ON FUNCTION @extschema@.migrate_to_ledger(regclass, name, name[], name, integer) IS
    'bring an existing table with rows into the ledger: the rows copied in order into a new ledger table of the same name, the old table kept aside (docs/dba-guide.md)';
-- (0.24.0: here, so that the update, which recreates health() with a new
-- column, comments it too)
COMMENT ON FUNCTION @extschema@.health() IS
    'one line for monitoring: rows waiting to be sealed, log size and age, leaves not yet cosigned by another member, members not ok, refusals, held rows, tables missing from this member''s publication';
-----------------------------------------------------------------------------
-- Internal functions that no role needs to call: trigger and event-trigger
-- functions fire without an EXECUTE check, and without EXECUTE nobody but a
-- superuser can attach them to a table of their own making.
-- (test/shell/privileges.sh compares every object's privileges with
-- test/privileges.expected, so a new object cannot slip in with PUBLIC's.)
-----------------------------------------------------------------------------
REVOKE ALL ON FUNCTION @extschema@._ddl_guard(), @extschema@._drop_guard(),
    @extschema@._keys_changed(), @extschema@._fold_inputs_changed(), @extschema@._batch_check(),
    @extschema@._lot_rules(), @extschema@._battery_rules(), @extschema@._model_rules(), @extschema@._battery_fold_arrived(),
    @extschema@._governance_rules(),
    @extschema@._passport_holder_arrived(),
    @extschema@._peer_leaf_trigger(), @extschema@._peer_checkpoint_trigger(),
    @extschema@._cosignature_trigger() FROM PUBLIC;
-- the consortium's agreed custody date is the DBA's to set
REVOKE ALL ON FUNCTION @extschema@.set_custody_from(timestamptz) FROM PUBLIC;
-- a subject's turn is the rule triggers' to take (subject_lock: red team F9)
REVOKE ALL ON FUNCTION @extschema@._lock_subject(text, text) FROM PUBLIC;
-- and the writer's cache of battery states is theirs to write (F8)
REVOKE ALL ON FUNCTION @extschema@._battery_state_cached(@extschema@.battery_id, bigint),
    @extschema@._battery_fold_cached(@extschema@.battery_id, bigint),
    @extschema@._holders_moved(@extschema@.battery_id),
    @extschema@._fold_deps(@extschema@.battery_id, text[], timestamptz, text, bigint),
    @extschema@._fold_dep_sum(text[]), @extschema@._fold_ns_subject(text) FROM PUBLIC;
-- battery_state()'s read of that cache (runs as the owner): for the roles that
-- read the raw battery events and so could fold them themselves
REVOKE ALL ON FUNCTION @extschema@._battery_state_read(@extschema@.battery_id) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._battery_state_read(@extschema@.battery_id)
    TO battledger_member, battledger_legitimate_interest;
-- as members and keys: which organisation owns which identifiers is the DBA's to register
REVOKE ALL ON FUNCTION @extschema@.add_id_namespace(text, text) FROM PUBLIC;
-- second life (85_passport.sql): the passport's second-life section reads
-- restricted values as the owner; only the tier functions call it
REVOKE ALL ON FUNCTION @extschema@._passport_second_life(@extschema@.battery_id, text),
    @extschema@._performance_at(@extschema@.battery_id, record) FROM PUBLIC;
-- the rule triggers' signature check before a verdict (red team r16b P2):
-- theirs to call, as the owner; the batch check reads this transaction's batches
REVOKE ALL ON FUNCTION @extschema@._batch_open_here(text, regclass, @extschema@.hash256),
    @extschema@._row_signed(anyelement, regclass),
    @extschema@._refuse_row(anyelement, regclass, text, text, text, text) FROM PUBLIC;
-- the mass balance of a row's input lots: the rule triggers' (SECURITY
-- DEFINER) to call; run by another role it took lot locks in its name
-- and judged nothing (red team rt27b)
REVOKE ALL ON FUNCTION @extschema@._check_inputs(anyelement, regclass, jsonb, text, text) FROM PUBLIC;
-- Internal functions PUBLIC no longer needs (0.27.0, priv27), judged caller
-- by caller (docs/security.md, 0.27.0).  Nobody's own statement reaches
-- these: the rules triggers (SECURITY DEFINER), join(), consortium_status(),
-- close_quarantine() and verify_member() (which reads held_row: the owner's)
-- call them as the owner, and _attr, _rated are 0.25.0's passport internals
-- that passport_doc.c replaced.
REVOKE ALL ON FUNCTION @extschema@._attr(anyelement, text, timestamptz, @extschema@.battery_event),
    @extschema@._rated(numeric, text),
    @extschema@._battery_successor(@extschema@.battery_id),
    @extschema@._check_second_life(@extschema@.battery_event, text),
    @extschema@._lot_consumers(text),
    @extschema@._passport_holder(text),
    @extschema@._slot_name(text, text),
    @extschema@._vkey_name(text, integer),
    @extschema@._peer_root(text, bigint),
    @extschema@._counted(numeric, text, text) FROM PUBLIC;
-- The SECURITY INVOKER helpers of registry_conflicts(), battery_lifecycle(),
-- battery_state(), lot_available_kg(), lot_custodian() and usage_derived():
-- every path to them reads the raw battery or lot events as the caller, which
-- only battledger_member and battledger_legitimate_interest may (a plain role
-- or the authority got 42501 there anyway).  Called directly they took the
-- caller's CPU and, for the lot and battery walks, its SELECT on the raw
-- events: theirs, as battery_state()'s cache read is.
REVOKE ALL ON FUNCTION @extschema@._battery_consumption(@extschema@.battery_id),
    @extschema@._battery_fold(@extschema@.battery_id, @extschema@.battery_fold_state, timestamptz, text, bigint),
    @extschema@._battery_id_or_null(text),
    @extschema@._battery_verdict(@extschema@.battery_event, text, text[], @extschema@.battery_fold_state, boolean, boolean),
    @extschema@._consume_verdict(@extschema@.battery_event, boolean),
    @extschema@._custody_from(),
    @extschema@._effective_manufacture(@extschema@.battery_id),
    @extschema@._fold_generation(),
    @extschema@._held_before(@extschema@.battery_id, text, timestamptz, text),
    @extschema@._is_lifecycle(text),
    @extschema@._key_possession_valid(text, bytea, bytea),
    @extschema@._key_proof_valid(@extschema@.hash256, text, bytea, bytea),
    @extschema@._key_proven_member_verify(@extschema@.hash256),
    @extschema@._lot_balance(text),
    @extschema@._lot_custody(text),
    @extschema@._lot_custody_steps(text),
    @extschema@._lot_ledger(text),
    @extschema@._passport_holder_by(text, text[], timestamptz[], @extschema@.battery_event),
    @extschema@._second_life_claims(@extschema@.battery_id),
    @extschema@._second_life_conflicts(),
    @extschema@._signer_at(@extschema@.hash256, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._battery_consumption(@extschema@.battery_id),
    @extschema@._battery_fold(@extschema@.battery_id, @extschema@.battery_fold_state, timestamptz, text, bigint),
    @extschema@._battery_id_or_null(text),
    @extschema@._battery_verdict(@extschema@.battery_event, text, text[], @extschema@.battery_fold_state, boolean, boolean),
    @extschema@._consume_verdict(@extschema@.battery_event, boolean),
    @extschema@._custody_from(),
    @extschema@._effective_manufacture(@extschema@.battery_id),
    @extschema@._fold_generation(),
    @extschema@._held_before(@extschema@.battery_id, text, timestamptz, text),
    @extschema@._is_lifecycle(text),
    @extschema@._key_possession_valid(text, bytea, bytea),
    @extschema@._key_proof_valid(@extschema@.hash256, text, bytea, bytea),
    @extschema@._key_proven_member_verify(@extschema@.hash256),
    @extschema@._lot_balance(text),
    @extschema@._lot_custody(text),
    @extschema@._lot_custody_steps(text),
    @extschema@._lot_ledger(text),
    @extschema@._passport_holder_by(text, text[], timestamptz[], @extschema@.battery_event),
    @extschema@._second_life_claims(@extschema@.battery_id),
    @extschema@._second_life_conflicts(),
    @extschema@._signer_at(@extschema@.hash256, timestamptz)
    TO battledger_member, battledger_legitimate_interest;
-- Still PUBLIC's, each because a plain role's own statement calls it:
--  _register, _check_encodable: enable_ledger() on the caller's own table;
--  _progress: migrate_to_ledger() reports progress with it;
--  _refuse, _restoring, _signer, _model_holder, _key_owners, _key_claims,
--    _key_claim_allows, _id_owners, _id_key, _ns_candidates, _ns_covers,
--    _ns_hosted, _text_id_key, _json_num: battery_model's rules trigger
--    (SECURITY INVOKER) as the writer, and operator_registration's and
--    battery_event's operator rules (_refuse, _restoring, _signer);
--  _key_proven_member, _key_member_validity: the keys view; _origin: the
--    _member_hosts view (both PUBLIC's; a view calls as its reader);
--  _passport_public: passport()'s public tier (SECURITY DEFINER).
