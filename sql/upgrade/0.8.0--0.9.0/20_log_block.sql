-- Blocks of 16 nodes (log_block): the tree's nodes of levels 4, 8, 12, ...,
-- 16 a row, so that a proof reads one small row per four levels of the tree
-- and 16 leaves instead of 256-wide tiles and 256 leaves.  The rows of the
-- tree already sealed are computed here as seal() computes them (each node
-- SHA-256(0x01 || left || right) of the two below it): level 4 from
-- log_leaf's leaf hashes, set-based, then each level 4k + 4 from the full
-- rows of level 4k.  A log whose leaves have a gap (deleted behind the
-- guards) is refused: its blocks would be computed wrong, and verify_log()
-- already names it (missing_leaves).
DO $$
BEGIN
    IF (SELECT pg_catalog.count(*) <> coalesce(pg_catalog.max(leaf_index) + 1, 0) FROM @extschema@.log_leaf) THEN
        RAISE EXCEPTION 'the log''s leaves are not dense: cannot compute its blocks'
            USING ERRCODE = 'XX001',
                  HINT = 'Run battledger.verify_log() (missing_leaves) and restore the log''s tables from a backup before updating.';
    END IF;
END $$;
CREATE TABLE @extschema@.log_block (
    level  int NOT NULL,
    idx    bigint NOT NULL,
    width  int NOT NULL,
    hashes bytea NOT NULL,
    PRIMARY KEY (level, idx, width)
);
ALTER TABLE @extschema@.log_block ALTER COLUMN hashes SET STORAGE MAIN;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.log_block', '');
INSERT INTO @extschema@.log_block (level, idx, width, hashes)
SELECT 4, l4.j / 16, pg_catalog.count(*), pg_catalog.string_agg(l4.h, ''::bytea ORDER BY l4.j)
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
DO $$
DECLARE
    r record;
    cur bytea;
    nxt bytea;
    acc bytea;
    acc_idx bigint;
    cnt int;
BEGIN
    FOR lvl IN 4 .. 56 BY 4 LOOP
        acc := ''::bytea;
        acc_idx := NULL;
        cnt := 0;
        -- node j of level lvl + 4 is the root of the full row j of level lvl
        FOR r IN SELECT b.idx, b.hashes FROM @extschema@.log_block b
                  WHERE b.level = lvl AND b.width = 16 ORDER BY b.idx LOOP
            cur := r.hashes;
            FOR step IN 1 .. 4 LOOP
                nxt := ''::bytea;
                FOR k IN 0 .. pg_catalog.octet_length(cur) / 64 - 1 LOOP
                    nxt := nxt || pg_catalog.sha256('\x01'::bytea || pg_catalog.substring(cur, 64 * k + 1, 64));
                END LOOP;
                cur := nxt;
            END LOOP;
            IF acc_idx IS NOT NULL AND r.idx / 16 <> acc_idx THEN
                INSERT INTO @extschema@.log_block (level, idx, width, hashes) VALUES (lvl + 4, acc_idx, cnt, acc);
                acc := ''::bytea;
                cnt := 0;
            END IF;
            acc_idx := r.idx / 16;
            acc := acc || cur;
            cnt := cnt + 1;
        END LOOP;
        EXIT WHEN cnt = 0;
        INSERT INTO @extschema@.log_block (level, idx, width, hashes) VALUES (lvl + 4, acc_idx, cnt, acc);
    END LOOP;
END $$;
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.log_block
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
ALTER TABLE @extschema@.log_block ENABLE ALWAYS TRIGGER battledger_append_only;
REVOKE ALL ON @extschema@.log_block FROM PUBLIC;
GRANT SELECT ON @extschema@.log_block TO PUBLIC;
