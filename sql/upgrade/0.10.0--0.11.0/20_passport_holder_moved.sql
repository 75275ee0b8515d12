-- Red team r10 F5: each check of a battery's cache probed the first issuing
-- event of every passport id the battery ever named, so a battery
-- remanufactured thousands of times (a new id each) made the apply worker's
-- work grow with the square of its rows.  The row that moves an id's holder
-- now says so in passport_holder_moved, and the cache counts those rows
-- instead of keeping the ids and their holders (80_registry.sql).  The cache
-- is unlogged and rebuilt on use: emptied, as its rows were checked the old way.
TRUNCATE @extschema@.battery_fold_cache;
ALTER TABLE @extschema@.battery_fold_cache DROP COLUMN passports, DROP COLUMN passport_rows,
    ADD COLUMN holders_moved bigint NOT NULL;
CREATE UNLOGGED TABLE @extschema@.passport_holder_moved (
    battery_id  @extschema@.battery_id,    -- NULL: every battery
    passport_id text NOT NULL
);
CREATE INDEX passport_holder_moved_battery ON @extschema@.passport_holder_moved (battery_id);
REVOKE ALL ON @extschema@.passport_holder_moved FROM PUBLIC;
