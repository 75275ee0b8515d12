-- The passport's history lists the passports the fold's effective moves
-- issued, and its manufacture is the fold's, both kept with the battery's
-- cached state (red team r20, F1, F2).  The cache is unlogged and rebuilt
-- at will: empty it, then add the columns.
TRUNCATE @extschema@.battery_fold_cache;
ALTER TABLE @extschema@.battery_fold_cache ADD COLUMN issued jsonb NOT NULL,
    ADD COLUMN made_origin text, ADD COLUMN made_seq bigint;
