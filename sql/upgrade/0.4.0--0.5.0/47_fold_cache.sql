-- The writer's cache of battery states (red team F8): a new UNLOGGED table,
-- empty after the update (the first write of each battery folds it whole).
CREATE UNLOGGED TABLE @extschema@.battery_fold_cache (
    battery_id    @extschema@.battery_id PRIMARY KEY,
    n             bigint NOT NULL,             -- lifecycle events folded
    last_at       timestamptz NOT NULL,        -- the last one's registry-order key
    last_origin   text NOT NULL,
    last_seq      bigint NOT NULL,
    generation    text NOT NULL,               -- _fold_generation() when folded
    passports     text[] NOT NULL,             -- passport ids the events named
    passport_rows bigint NOT NULL,             -- rows naming them, when folded
    st            @extschema@.battery_fold_state NOT NULL,
    handover_at     timestamptz,               -- the last effective handover's key
    handover_origin text
);
REVOKE ALL ON @extschema@.battery_fold_cache FROM PUBLIC;
