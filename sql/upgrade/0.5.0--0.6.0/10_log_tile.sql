-- The transparency log's tiled layout (issue 15; docs/design.md, "The tiled
-- layout"): log_node (one row and one index entry per perfect subtree) gives
-- way to log_tile, whose rows hold the hashes of tree levels 8, 16, ... 256 at
-- a time.  The tiles are built from log_node's nodes of those levels, the
-- root of every stored checkpoint is recomputed from them (through the new
-- library's tree_root(), which reads tiles and leaves only) before log_node
-- is dropped; any difference fails the update.  log_leaf, every checkpoint and
-- every cosignature are kept as they are.
CREATE TABLE @extschema@.log_tile (
    level  int NOT NULL,
    idx    bigint NOT NULL,
    width  int NOT NULL,
    hashes bytea NOT NULL,
    PRIMARY KEY (level, idx, width)
);
ALTER TABLE @extschema@.log_tile ALTER COLUMN hashes SET STORAGE EXTERNAL;

-- each tile's nodes must be there, from its first, without a gap: log_node
-- was append-only, so a gap is a node deleted behind the guard
DO $$
DECLARE
    g record;
BEGIN
    SELECT level, idx / 256 AS tile, count(*) AS n, min(idx) AS lo, max(idx) AS hi INTO g
      FROM @extschema@.log_node WHERE level > 0 AND level % 8 = 0
     GROUP BY level, idx / 256
    HAVING min(idx) <> (idx / 256) * 256 OR max(idx) - min(idx) + 1 <> count(*)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'battledger: cannot build the log''s tiles: the stored nodes of level % from index % to % have gaps',
                        g.level, g.lo, g.hi
            USING ERRCODE = 'data_corrupted',
                  HINT = 'Run battledger.verify_log() under 0.5.0 and restore the log''s tables from a backup.';
    END IF;
END
$$;

INSERT INTO @extschema@.log_tile (level, idx, width, hashes)
SELECT level / 8, idx / 256, count(*)::int,
       pg_catalog.string_agg(@extschema@.bytea(hash), ''::bytea ORDER BY idx)
  FROM @extschema@.log_node
 WHERE level > 0 AND level % 8 = 0
 GROUP BY level / 8, idx / 256;

-- every checkpoint's root, recomputed from the tiles and leaves, before the
-- nodes go
DO $$
DECLARE
    c record;
    r @extschema@.hash256;
BEGIN
    FOR c IN SELECT tree_size, root FROM @extschema@.checkpoint ORDER BY tree_size LOOP
        r := @extschema@.tree_root(c.tree_size);
        IF @extschema@.bytea(r) <> @extschema@.bytea(c.root) THEN
            RAISE EXCEPTION 'battledger: the log''s tiles do not give the root of the checkpoint of size %', c.tree_size
                USING ERRCODE = 'data_corrupted',
                      DETAIL = pg_catalog.format('The tiles give %s, the checkpoint holds %s.', r, c.root),
                      HINT = 'Run battledger.verify_log() under 0.5.0 and restore the log''s tables from a backup.';
        END IF;
    END LOOP;
END
$$;

-- leave the extension first: that also takes it out of pg_extension.extconfig
-- (a dropped member table would leave its OID there for pg_dump)
ALTER EXTENSION battledger DROP TABLE @extschema@.log_node;
DROP TABLE @extschema@.log_node;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.log_tile', '');
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.log_tile
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
ALTER TABLE @extschema@.log_tile ENABLE ALWAYS TRIGGER battledger_append_only;
REVOKE ALL ON @extschema@.log_tile FROM PUBLIC;
GRANT SELECT ON @extschema@.log_tile TO PUBLIC;
COMMENT ON FUNCTION @extschema@.verify_log(boolean, text) IS
    'recompute the tree from the leaves, check every stored tile and checkpoint (signatures against log_vkey, the published verifier key, else the log key file), and (check_rows) every ledger row against its leaf';
