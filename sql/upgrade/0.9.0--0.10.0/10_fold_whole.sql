-- Red team r9 F1: the apply worker folds a battery whole again only once it
-- has a quarter more lifecycle events than at its last whole fold, which the
-- cache now records (whole_n).  The cache is UNLOGGED and rebuilt on use:
-- emptied here, so that the column needs no value for rows folded by 0.9.0.
TRUNCATE @extschema@.battery_fold_cache;
ALTER TABLE @extschema@.battery_fold_cache ADD COLUMN whole_n bigint NOT NULL;
-- both gain a second argument (with a default: their callers are unchanged)
DROP FUNCTION @extschema@._battery_state_cached(@extschema@.battery_id);
DROP FUNCTION @extschema@._battery_fold_cached(@extschema@.battery_id);
