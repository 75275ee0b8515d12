-- Each tile row keeps the inner nodes above its hashes (log_tile.nodes), so
-- that proofs read them instead of recomputing up to 254 hashes a tile.  The
-- rows already stored get theirs here, computed from their hashes as seal()
-- computes them (bl_merkle_inner_nodes): tree level 8L + k, k = 1 .. 7, holds
-- width >> k nodes, each SHA-256(0x01 || left || right) of the level below.
-- A row whose hashes are not the tree's gets nodes that are not either:
-- verify_log() names it, as before (tile_mismatch).
ALTER TABLE @extschema@.log_tile ADD COLUMN nodes bytea;
ALTER TABLE @extschema@.log_tile ALTER COLUMN nodes SET STORAGE EXTERNAL;
ALTER TABLE @extschema@.log_tile DISABLE TRIGGER battledger_append_only;
DO $$
DECLARE
    t record;
    below bytea;
    lvl bytea;
    inner_nodes bytea;
    n int;
BEGIN
    FOR t IN SELECT ctid, width, hashes FROM @extschema@.log_tile LOOP
        below := t.hashes;
        inner_nodes := ''::bytea;
        n := t.width;
        FOR k IN 1 .. 7 LOOP
            n := n / 2;
            EXIT WHEN n = 0;
            lvl := ''::bytea;
            FOR i IN 0 .. n - 1 LOOP
                lvl := lvl || pg_catalog.sha256('\x01'::bytea || pg_catalog.substring(below, 64 * i + 1, 64));
            END LOOP;
            inner_nodes := inner_nodes || lvl;
            below := lvl;
        END LOOP;
        UPDATE @extschema@.log_tile SET nodes = inner_nodes WHERE ctid = t.ctid;
    END LOOP;
END $$;
ALTER TABLE @extschema@.log_tile ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE @extschema@.log_tile ALTER COLUMN nodes SET NOT NULL;
