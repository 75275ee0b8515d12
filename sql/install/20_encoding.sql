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

