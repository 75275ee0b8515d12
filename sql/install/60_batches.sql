-----------------------------------------------------------------------------
-- Batch signatures: one signature over a manifest that commits to many rows.
-----------------------------------------------------------------------------
CREATE TABLE @extschema@.batch (
    batch_id   text NOT NULL CHECK (length(batch_id) BETWEEN 1 AND 200),
    tbl        text NOT NULL,      -- the target ledger table, schema-qualified (a name: OIDs are not portable)
    key_id     @extschema@.hash256 NOT NULL,
    row_count  bigint NOT NULL CHECK (row_count > 0),
    root       @extschema@.hash256 NOT NULL,
    sig        bytea NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    -- a batch is named by its id and its signer's key, as its rows name it
    -- (ledger_batch, ledger_key_id): each member picks its own ids, and one
    -- consortium-wide namespace let two members filing "batch-1" stop each
    -- other's subscriptions (0.28.0, red team rt27 H6)
    UNIQUE (batch_id, key_id)
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

