-- Tiles past the tree (red team hx2, finding 3): the update to 0.6.0 built
-- log_tile from log_node and checked every checkpoint's root, but a level-8
-- node written behind the guards past the tree (no checkpoint reads it) came
-- through as a tile row wider than the tree, on which seal() now stops.  Refuse
-- to update such a log, naming the row (the update is one transaction:
-- nothing of it stays).
DO $tile_check$
DECLARE
    n bigint := (SELECT count(*) FROM @extschema@.log_leaf);
    bad record;
BEGIN
    SELECT t.level, t.idx, t.width INTO bad FROM @extschema@.log_tile t
     WHERE t.level < 1 OR t.width < 1 OR t.idx < 0
        OR t.idx * 256 + t.width > n >> (8 * least(t.level, 7))
     ORDER BY t.level, t.idx, t.width LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'the log has a tile row past its tree of % leaves: level %, index %, width %', n, bad.level, bad.idx, bad.width
            USING ERRCODE = 'data_corrupted',
                  DETAIL = 'A tile row may hold only nodes the tree has; this one was written behind the guards.',
                  HINT = 'Run SELECT * FROM battledger.verify_log(false) under 0.6.0; nothing has been changed.';
    END IF;
END
$tile_check$;
