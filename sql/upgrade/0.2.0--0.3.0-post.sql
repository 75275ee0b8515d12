
-- The DDL guard watches objects, not command tags: more tags reach it.
DROP EVENT TRIGGER battledger_ddl_guard;
CREATE EVENT TRIGGER battledger_ddl_guard ON ddl_command_start
    -- by object, not by command: ALTER INDEX/VIEW/SEQUENCE ... can name a table too
    WHEN TAG IN ('ALTER TABLE', 'ALTER TRIGGER', 'CREATE TABLE', 'ALTER SCHEMA', 'ALTER INDEX', 'ALTER VIEW',
                 'ALTER SEQUENCE', 'ALTER MATERIALIZED VIEW', 'ALTER FOREIGN TABLE', 'CREATE TRIGGER',
                 'DROP INDEX', 'DROP EXTENSION', 'DROP SCHEMA', 'CREATE RULE')
    EXECUTE FUNCTION @extschema@._ddl_guard();
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;

-- verify_log() reads the queue to tell queued rows from rows added behind the guards
GRANT SELECT ON @extschema@.log_pending TO PUBLIC;

-- Signing bytes and batch manifests v2 name the table (docs/encoding.md):
-- rows and batches of existing signed tables dated before now keep verifying
-- under v1; everything written from now on is v2.
ALTER TABLE @extschema@.ledger_tables ADD COLUMN signed_v1_before timestamptz;
UPDATE @extschema@.ledger_tables SET signed_v1_before = pg_catalog.now() WHERE signer_roles IS NOT NULL;
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
COMMENT ON FUNCTION @extschema@.batch_manifest(text, bigint, @extschema@.hash256) IS
    'manifest v1 (no table), what batches filed before 0.3.0 were signed over: "battledger batch v1\n" || batch_id || "\n" || u64 count || root';
CREATE FUNCTION @extschema@.batch_manifest(tbl regclass, batch_id text, row_count bigint, root @extschema@.hash256)
    RETURNS bytea AS 'MODULE_PATHNAME', 'battledger_batch_manifest_v2' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.batch_manifest(regclass, text, bigint, @extschema@.hash256) IS
    'the bytes a member signs for a batch (v2): "battledger batch v2\n" || u16 length || table || batch_id || "\n" || u64 count || root';

COMMENT ON FUNCTION @extschema@.consortium_status() IS
    'for each member: subscription state and its reason (read from pg_stat_subscription, pg_subscription_rel, apply errors, conflicts), how far it is behind this member''s WAL, last checkpoint verified, rejections, cosignatures both ways';
REVOKE ALL ON FUNCTION @extschema@.consortium_status() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.verify_log(boolean, text) IS
    'recompute the tree from the leaves, check every stored node and checkpoint (signatures against log_vkey, the published verifier key, else the log key file), and (check_rows) every ledger row against its leaf';
COMMENT ON FUNCTION @extschema@.row_bytes(record) IS
    'canonical, settings-independent bytes of a row''s content: NULLs and the chain columns (ledger_seq, ledger_prev, ledger_hash) left out; ledger_origin in, unless empty';
COMMENT ON VIEW @extschema@.rejections IS
    'rows and checkpoints refused by the arrival checks: from other members, re-checked by release_chain(), or written locally as replicated rows (kept in pg_battledger/rejections, cluster-wide: the refusal rolls back the transaction)';
