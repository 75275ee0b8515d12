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
