-- The legitimate-interest passport reads a per-battery usage state folded as
-- reports arrive (87_usage_state.sql; issue 15): its table and the index
-- by which a disclosure arriving after its report finds it, before the
-- functions (51_usage_state.replace) that name the table's row type.
CREATE TABLE @extschema@._usage_state (
    battery_id      @extschema@.battery_id PRIMARY KEY,
    latest          jsonb NOT NULL,
    deep_v          numeric,
    over_v          numeric,
    t_hi            numeric,
    t_lo            numeric,
    n               bigint NOT NULL,
    ah              numeric,
    wh              numeric,
    ah_out          numeric,
    t_max           numeric,
    deep_n          bigint NOT NULL,
    over_n          bigint NOT NULL,
    hi_s            numeric,
    hi_chg_s        numeric,
    lo_s            numeric,
    lo_chg_s        numeric,
    last_at         timestamptz,
    last_origin     text COLLATE "C",
    last_seq        bigint,
    dis_at          timestamptz,
    dis_origin      text COLLATE "C",
    dis_seq         bigint,
    en_at           timestamptz,
    en_origin       text COLLATE "C",
    en_seq          bigint,
    re_first_at     timestamptz,
    re_first_origin text COLLATE "C",
    re_first_seq    bigint,
    re_at           timestamptz,
    re_origin       text COLLATE "C",
    re_seq          bigint
);
REVOKE ALL ON @extschema@._usage_state FROM PUBLIC;
CREATE INDEX battery_event_restricted ON @extschema@.battery_event (restricted)
    WHERE event = 'soh_reported' AND restricted IS NOT NULL;
