-- Leaf blocks: each block of 256 leaves keeps its nodes of tree level 4
-- (log_block: 16 a row, fewer for the right edge's partial block), so that a
-- proof reads 16 leaves and one row instead of 256 leaves.  The blocks
-- already sealed get theirs here, computed from
-- log_leaf's leaf hashes level by level (SHA-256(0x01 || left || right)), as
-- seal() computes them.  A block over missing or rewritten leaves gets nodes
-- that are not the tree's: verify_log() names the leaves, and the block
-- (block_mismatch).
CREATE TABLE @extschema@.log_block (
    idx    bigint NOT NULL,
    width  int NOT NULL,
    hashes bytea NOT NULL,
    PRIMARY KEY (idx, width)
);
ALTER TABLE @extschema@.log_block ALTER COLUMN hashes SET STORAGE MAIN;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.log_block', '');
INSERT INTO @extschema@.log_block (idx, width, hashes)
SELECT l4.j / 16, pg_catalog.count(*), pg_catalog.string_agg(l4.h, ''::bytea ORDER BY l4.j)
  FROM (SELECT l3.j / 2 AS j, pg_catalog.sha256('\x01'::bytea || pg_catalog.string_agg(l3.h, ''::bytea ORDER BY l3.j)) AS h
          FROM (SELECT l2.j / 2 AS j, pg_catalog.sha256('\x01'::bytea || pg_catalog.string_agg(l2.h, ''::bytea ORDER BY l2.j)) AS h
                  FROM (SELECT l1.j / 2 AS j, pg_catalog.sha256('\x01'::bytea || pg_catalog.string_agg(l1.h, ''::bytea ORDER BY l1.j)) AS h
                          FROM (SELECT l0.leaf_index / 2 AS j,
                                       pg_catalog.sha256('\x01'::bytea || pg_catalog.string_agg(@extschema@.bytea(l0.leaf_hash), ''::bytea ORDER BY l0.leaf_index)) AS h
                                  FROM @extschema@.log_leaf l0
                                 WHERE l0.leaf_index < (SELECT (pg_catalog.count(*) / 16) * 16 FROM @extschema@.log_leaf)
                                 GROUP BY l0.leaf_index / 2) l1
                         GROUP BY l1.j / 2) l2
                 GROUP BY l2.j / 2) l3
         GROUP BY l3.j / 2) l4
 GROUP BY l4.j / 16;
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.log_block
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
ALTER TABLE @extschema@.log_block ENABLE ALWAYS TRIGGER battledger_append_only;
REVOKE ALL ON @extschema@.log_block FROM PUBLIC;
GRANT SELECT ON @extschema@.log_block TO PUBLIC;
