-- The passport's history lists the passports the fold's effective moves
-- issued, kept with the battery's cached state (red team r20, F2).  The
-- cache is unlogged and rebuilt at will: empty it, then add the column.
TRUNCATE @extschema@.battery_fold_cache;
ALTER TABLE @extschema@.battery_fold_cache ADD COLUMN issued jsonb NOT NULL;
