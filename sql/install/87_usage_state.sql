-----------------------------------------------------------------------------
-- A battery's usage reports, folded as they arrive (issue 15: passport()
-- <= 2 ms at any history length; docs/design.md "Usage state").
-- The legitimate-interest passport shows, per dynamic value, the latest
-- report that set it, and values derived from every report's per-cycle
-- data (sums, counts, maxima, the latest of each kind).  Read from the
-- reports themselves (0.22.0) both grew with the battery's history, and the
-- walk for a key the battery never reported with every other battery's
-- (jsonb_ops knows no nesting: the nested cycle fields of every battery
-- matched the precheck for three keys).  Here each legitimate-interest
-- report is folded once, by triggers, into one row per battery.
--
-- The row is derived state, not trusted: a superuser may write it.  It
-- holds positions and sums, never what the passport shows of a report
-- (values, times, hashes are read from the report the position names), and
-- usage_state_check() recomputes every row from the reports and names each
-- battery whose row differs; usage_state_rebuild() recomputes rows.
--
-- A commitment counts once (0.25.0): a report whose commitment another
-- report names too (a replay written past BL045, registry_conflicts()'s
-- commitment_replayed) counts for none of them, in the state, its
-- computation and every reader of the reports (_usage_derived(), the
-- passport's walks, _performance_at()): which of two reports copied the
-- other cannot be told from the rows (a superuser backdates its copy), and
-- the set of rows naming a commitment is the same on every member whatever
-- order they arrived in (docs/security.md, "Usage reports").  Readers test
-- it as "another row names it": _commitment_rows(commitment, 2, false) < 2,
-- an index scan of battery_event_restricted stopping at two rows (0.26.0;
-- before, NOT EXISTS (... OFFSET 1), which a bitmap plan read whole).
-- Left in SQL: usage_state_check()'s registry-wide enumeration, a set the
-- planner plans as a whole, and _usage_derived(), which runs as its caller
-- (row security decides what it reads; the probe is not its caller's).
-- Another row of any event kind (red team rt25 Q1-Q3): a quality check's
-- or a status change's commitment is a disclosure too, and one event kind
-- naming another's commitment showed one battery's disclosed values as
-- another's (a usage report naming a status change's, a consuming move
-- naming a usage report's); so "another row" is any battery_event row,
-- and the passport's other readers of disclosures (test reports,
-- _performance_at()'s consuming move) test it the same way.
-----------------------------------------------------------------------------

-- One row per battery with a legitimate-interest usage report (soh_reported
-- whose restricted value is disclosed at that tier).  Positions are
-- (ledger_at, ledger_origin, ledger_seq), the registry's order.
CREATE TABLE @extschema@._usage_state (
    battery_id      @extschema@.battery_id PRIMARY KEY,
    -- per key of _dynamic_attribute: [ledger_at, ledger_origin, ledger_seq]
    -- of the latest report whose disclosed value has the key (top level)
    latest          jsonb NOT NULL,
    -- the thresholds the counts below were taken with (_usage_thresholds()
    -- when the row was made): a passport judging by others computes the
    -- derived values from the reports instead
    deep_v          numeric,
    over_v          numeric,
    t_hi            numeric,
    t_lo            numeric,
    -- over the reports with per-cycle data ("cycle" an object), as
    -- _usage_derived() computes them
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
    -- the latest such report; the latest discharge with a capacity; the
    -- latest discharge with its energy; the first and latest with a
    -- resistance above 0
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
    re_seq          bigint,
    -- a report of the battery disclosed at this tier whose commitment
    -- another report names too (counted for none, the header; 0.25.0):
    -- only then do the passport's round-trip walks test each report
    contested       boolean NOT NULL DEFAULT false
);
REVOKE ALL ON @extschema@._usage_state FROM PUBLIC;

-- a disclosure arriving after its report finds the report; the readers'
-- "another row names it" probe, and BL045, find the rows of every event
-- kind naming a commitment (until 0.25.0 usage reports' alone: rt25 Q1-Q3)
CREATE INDEX battery_event_restricted ON @extschema@.battery_event (restricted)
    WHERE restricted IS NOT NULL;

-- _usage_thresholds(made, m): deep-discharge and overcharge voltages and the
-- idle temperature range the derived counts are judged by, as
-- _usage_derived() reads them from the effective manufacture and the model
-- as its holder declared it.
CREATE FUNCTION @extschema@._usage_thresholds(made @extschema@.battery_event, m @extschema@.battery_model,
                                              OUT deep_v numeric, OUT over_v numeric, OUT t_hi numeric, OUT t_lo numeric)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r jsonb := coalesce(made.data->'rated', '{}');
BEGIN
    deep_v := coalesce(@extschema@._json_num(r->'deepDischargeVoltageV'), m.min_voltage_v);
    over_v := coalesce(@extschema@._json_num(r->'overchargeVoltageV'), m.max_voltage_v);
    t_hi := @extschema@._json_num(r->'idleTemperatureUpperC');
    t_lo := @extschema@._json_num(r->'idleTemperatureLowerC');
END $$;

-- _usage_state_add(battery, at, origin, seq, v): fold one report (its
-- position and disclosed value) into the battery's row, making the row
-- with the battery's thresholds as of now if it has none.  Every field is
-- order-free (sums, counts, maxima, the latest and first by position), so
-- reports may arrive in any order (replication's table copy, a disclosure
-- after its report).  TimeZone UTC: the positions' text in "latest" is the
-- same whoever writes it.
CREATE FUNCTION @extschema@._usage_state_add(battery @extschema@.battery_id, at timestamptz, origin text,
                                             seq bigint, v jsonb) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    s @extschema@._usage_state;
    made @extschema@.battery_event;
    th record;
    cy jsonb := CASE WHEN jsonb_typeof(v->'cycle') = 'object' THEN v->'cycle' END;
    typ text;
    dur numeric;
    vmin numeric;
    vmax numeric;
    tmax numeric;
    amb numeric;
    ah numeric;
    wh numeric;
    cap numeric;
    re numeric;
    k text;
    p jsonb;
BEGIN
    SELECT * INTO s FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) battery FOR UPDATE;
    IF NOT FOUND THEN
        made := @extschema@._effective_manufacture(battery);
        th := @extschema@._usage_thresholds(made, @extschema@._model_row(made.model_id));
        INSERT INTO @extschema@._usage_state (battery_id, latest, deep_v, over_v, t_hi, t_lo, n, deep_n, over_n, contested)
        VALUES (battery, '{}', th.deep_v, th.over_v, th.t_hi, th.t_lo, 0, 0, 0, @extschema@._usage_contested(battery))
        ON CONFLICT (battery_id) DO NOTHING;
        SELECT * INTO s FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) battery FOR UPDATE;
    END IF;
    -- the dynamic values the report sets
    FOR k IN SELECT a.key FROM @extschema@._dynamic_attribute a WHERE v ? a.key LOOP
        p := s.latest->k;
        IF p IS NULL OR (at, origin COLLATE "C", seq)
                        > ((p->>0)::timestamptz, (p->>1) COLLATE "C", (p->>2)::bigint) THEN
            s.latest := s.latest || jsonb_build_object(k, jsonb_build_array(at, origin, seq));
        END IF;
    END LOOP;
    IF cy IS NOT NULL THEN
        -- as _usage_derived() reads them (_json_num(): what is no number is not measured)
        typ := cy->>'type';
        dur := @extschema@._json_num(cy->'duration_s');
        vmin := @extschema@._json_num(cy->'v_min');
        vmax := @extschema@._json_num(cy->'v_max');
        tmax := @extschema@._json_num(cy->'t_cell_max_c');
        amb := @extschema@._json_num(cy->'ambient_c');
        ah := @extschema@._json_num(cy->'ah');
        wh := @extschema@._json_num(cy->'wh');
        cap := @extschema@._json_num(cy->'capacity_ah');
        re := @extschema@._json_num(cy->'re_ohm');
        s.n := s.n + 1;
        -- sum() skips NULLs and is NULL over none
        s.ah := coalesce(s.ah + ah, s.ah, ah);
        s.wh := coalesce(s.wh + wh, s.wh, wh);
        IF typ = 'discharge' THEN
            s.ah_out := coalesce(s.ah_out + ah, s.ah_out, ah);
        END IF;
        s.t_max := greatest(s.t_max, tmax);
        IF typ = 'discharge' AND vmin < s.deep_v THEN
            s.deep_n := s.deep_n + 1;
        END IF;
        IF typ = 'charge' AND vmax > s.over_v THEN
            s.over_n := s.over_n + 1;
        END IF;
        IF typ IN ('charge', 'discharge') AND tmax > s.t_hi THEN
            s.hi_s := coalesce(s.hi_s + dur, s.hi_s, dur);
        END IF;
        IF typ = 'charge' AND tmax > s.t_hi THEN
            s.hi_chg_s := coalesce(s.hi_chg_s + dur, s.hi_chg_s, dur);
        END IF;
        IF typ IN ('charge', 'discharge') AND amb < s.t_lo THEN
            s.lo_s := coalesce(s.lo_s + dur, s.lo_s, dur);
        END IF;
        IF typ = 'charge' AND amb < s.t_lo THEN
            s.lo_chg_s := coalesce(s.lo_chg_s + dur, s.lo_chg_s, dur);
        END IF;
        IF s.last_at IS NULL OR (at, origin COLLATE "C", seq) > (s.last_at, s.last_origin, s.last_seq) THEN
            s.last_at := at; s.last_origin := origin; s.last_seq := seq;
        END IF;
        IF typ = 'discharge' AND cap IS NOT NULL
           AND (s.dis_at IS NULL OR (at, origin COLLATE "C", seq) > (s.dis_at, s.dis_origin, s.dis_seq)) THEN
            s.dis_at := at; s.dis_origin := origin; s.dis_seq := seq;
        END IF;
        IF typ = 'discharge' AND wh IS NOT NULL
           AND (s.en_at IS NULL OR (at, origin COLLATE "C", seq) > (s.en_at, s.en_origin, s.en_seq)) THEN
            s.en_at := at; s.en_origin := origin; s.en_seq := seq;
        END IF;
        IF re > 0 THEN
            IF s.re_at IS NULL OR (at, origin COLLATE "C", seq) > (s.re_at, s.re_origin, s.re_seq) THEN
                s.re_at := at; s.re_origin := origin; s.re_seq := seq;
            END IF;
            IF s.re_first_at IS NULL OR (at, origin COLLATE "C", seq) < (s.re_first_at, s.re_first_origin, s.re_first_seq) THEN
                s.re_first_at := at; s.re_first_origin := origin; s.re_first_seq := seq;
            END IF;
        END IF;
    END IF;
    UPDATE @extschema@._usage_state u
       SET latest = s.latest, n = s.n, ah = s.ah, wh = s.wh, ah_out = s.ah_out, t_max = s.t_max,
           deep_n = s.deep_n, over_n = s.over_n, hi_s = s.hi_s, hi_chg_s = s.hi_chg_s, lo_s = s.lo_s, lo_chg_s = s.lo_chg_s,
           last_at = s.last_at, last_origin = s.last_origin, last_seq = s.last_seq,
           dis_at = s.dis_at, dis_origin = s.dis_origin, dis_seq = s.dis_seq,
           en_at = s.en_at, en_origin = s.en_origin, en_seq = s.en_seq,
           re_first_at = s.re_first_at, re_first_origin = s.re_first_origin, re_first_seq = s.re_first_seq,
           re_at = s.re_at, re_origin = s.re_origin, re_seq = s.re_seq
     WHERE u.battery_id OPERATOR(@extschema@.=) battery;
END $$;

-- _commitment_rows(commitment hash256, lim integer, latest boolean) RETURNS
-- integer: the battery_event rows of any event kind naming the commitment,
-- counted up to lim by an index scan of battery_event_restricted that stops
-- there, whatever the planner settings and statistics (src/pg/commitment_rows.c,
-- 0.26.0).  As SQL the triggers' counts were the planner's to plan: a bitmap
-- scan read every entry of a commitment before the LIMIT, and 1,000 replays
-- of one read its index 500,000 times (red team rt25b X1); 0.25.0's
-- SET enable_bitmapscan = off on the triggers left enable_indexscan = off or
-- a high random_page_cost to turn each count into a scan of the table.
-- latest false: the rows the calling query sees; true: those committed now
-- (the latest snapshot), NULL at READ COMMITTED.  Callers compare counts
-- taken with one lim, which they pass.
CREATE FUNCTION @extschema@._commitment_rows(commitment @extschema@.hash256, lim integer, latest boolean) RETURNS integer
    AS 'MODULE_PATHNAME', 'bl_commitment_rows' LANGUAGE C VOLATILE STRICT;

-- _usage_contested(battery): does a report of the battery disclosed at the
-- legitimate-interest tier name a commitment another row (any kind) names too?
-- The usage state's "contested" (0.25.0).  A probe per report of the
-- battery: on a row's creation and in its computation, not in a passport.
CREATE FUNCTION @extschema@._usage_contested(battery @extschema@.battery_id) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT FROM @extschema@.battery_event e
                     JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                    WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
                      AND d.tier = 'legitimate_interest'
                      AND @extschema@._commitment_rows(e.restricted, 2, false) = 2)
$$;

-- _usage_state_compute(battery, deep_v, over_v, t_hi, t_lo): the battery's
-- row recomputed from its reports, with the given thresholds; no row (all
-- NULL) for a battery without a legitimate-interest report.  What
-- usage_state_check() compares and usage_state_rebuild() writes.
-- (gin_fuzzy_search_limit pinned to 0: the state is stored and read by
-- everyone here, and a disclosure's keys may be matched through GIN; red
-- team rt26 G1, _lot_ledger()'s header)
CREATE FUNCTION @extschema@._usage_state_compute(battery @extschema@.battery_id, deep_v numeric, over_v numeric,
                                                 t_hi numeric, t_lo numeric)
    RETURNS @extschema@._usage_state
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET gin_fuzzy_search_limit = 0 SET timezone = 'UTC' SET jit = off AS $$
DECLARE
    s @extschema@._usage_state;
BEGIN
    WITH r AS MATERIALIZED (
        SELECT e.ledger_at AS at, e.ledger_origin AS origin, e.ledger_seq AS seq, d.value
          FROM @extschema@.battery_event e
          JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND d.tier = 'legitimate_interest'
           -- a commitment named by one report alone (the header)
           AND @extschema@._commitment_rows(e.restricted, 2, false) < 2
    ), c AS MATERIALIZED (
        SELECT r.at, r.origin, r.seq, r.value->'cycle'->>'type' AS type,
               @extschema@._json_num(r.value->'cycle'->'duration_s') AS dur, @extschema@._json_num(r.value->'cycle'->'v_min') AS vmin,
               @extschema@._json_num(r.value->'cycle'->'v_max') AS vmax, @extschema@._json_num(r.value->'cycle'->'t_cell_max_c') AS tmax,
               @extschema@._json_num(r.value->'cycle'->'ambient_c') AS amb, @extschema@._json_num(r.value->'cycle'->'ah') AS ah,
               @extschema@._json_num(r.value->'cycle'->'wh') AS wh, @extschema@._json_num(r.value->'cycle'->'capacity_ah') AS cap,
               @extschema@._json_num(r.value->'cycle'->'re_ohm') AS re
          FROM r WHERE jsonb_typeof(r.value->'cycle') = 'object'
    )
    SELECT battery,
           (SELECT coalesce(jsonb_object_agg(x.key, jsonb_build_array(x.at, x.origin, x.seq)), '{}')
              FROM (SELECT DISTINCT ON (a.key) a.key, r.at, r.origin, r.seq
                      FROM @extschema@._dynamic_attribute a JOIN r ON r.value ? a.key
                     ORDER BY a.key, r.at DESC, r.origin DESC, r.seq DESC) x),
           deep_v, over_v, t_hi, t_lo,
           a.n, a.ah, a.wh, a.ah_out, a.t_max, a.deep_n, a.over_n, a.hi_s, a.hi_chg_s, a.lo_s, a.lo_chg_s,
           l.at, l.origin, l.seq, ds.at, ds.origin, ds.seq, en.at, en.origin, en.seq,
           rf.at, rf.origin, rf.seq, rl.at, rl.origin, rl.seq, @extschema@._usage_contested(battery)
      INTO s
      FROM (SELECT count(*) AS n, sum(c.ah) AS ah, sum(c.wh) AS wh, sum(c.ah) FILTER (WHERE c.type = 'discharge') AS ah_out,
                   max(c.tmax) AS t_max,
                   count(*) FILTER (WHERE c.type = 'discharge' AND c.vmin < deep_v) AS deep_n,
                   count(*) FILTER (WHERE c.type = 'charge' AND c.vmax > over_v) AS over_n,
                   sum(c.dur) FILTER (WHERE c.type IN ('charge', 'discharge') AND c.tmax > t_hi) AS hi_s,
                   sum(c.dur) FILTER (WHERE c.type = 'charge' AND c.tmax > t_hi) AS hi_chg_s,
                   sum(c.dur) FILTER (WHERE c.type IN ('charge', 'discharge') AND c.amb < t_lo) AS lo_s,
                   sum(c.dur) FILTER (WHERE c.type = 'charge' AND c.amb < t_lo) AS lo_chg_s
              FROM c) a
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c ORDER BY c.at DESC, c.origin DESC, c.seq DESC LIMIT 1) l ON true
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c WHERE c.type = 'discharge' AND c.cap IS NOT NULL
                          ORDER BY c.at DESC, c.origin DESC, c.seq DESC LIMIT 1) ds ON true
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c WHERE c.type = 'discharge' AND c.wh IS NOT NULL
                          ORDER BY c.at DESC, c.origin DESC, c.seq DESC LIMIT 1) en ON true
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c WHERE c.re > 0 ORDER BY c.at, c.origin, c.seq LIMIT 1) rf ON true
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c WHERE c.re > 0
                          ORDER BY c.at DESC, c.origin DESC, c.seq DESC LIMIT 1) rl ON true
     WHERE EXISTS (SELECT 1 FROM r);
    RETURN s;
END $$;

-- usage_state_rebuild(battery): recompute the battery's row from its
-- reports, with its thresholds as of now (NULL: every battery's).  After a
-- model's or manufacture's thresholds changed (the passport then computes
-- from the reports, correct but slower), or where usage_state_check() found
-- a difference.  Returns the rows written.
CREATE FUNCTION @extschema@.usage_state_rebuild(battery @extschema@.battery_id DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    b @extschema@.battery_id;
    made @extschema@.battery_event;
    th record;
    s @extschema@._usage_state;
    n bigint := 0;
BEGIN
    -- the reports' disclosures must all be seen (row security would hide some)
    IF row_security_active('@extschema@.disclosure') THEN
        RAISE EXCEPTION 'usage_state_rebuild() must see every disclosure' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Run it as the extension''s owner.';
    END IF;
    FOR b IN SELECT DISTINCT x.battery_id FROM (
                 SELECT u.battery_id FROM @extschema@._usage_state u WHERE battery IS NULL
                 UNION ALL
                 SELECT e.battery_id FROM @extschema@.battery_event e
                   JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                  WHERE battery IS NULL AND e.event = 'soh_reported' AND d.tier = 'legitimate_interest'
                 UNION ALL
                 SELECT battery WHERE battery IS NOT NULL) x LOOP
        made := @extschema@._effective_manufacture(b);
        th := @extschema@._usage_thresholds(made, @extschema@._model_row(made.model_id));
        s := @extschema@._usage_state_compute(b, th.deep_v, th.over_v, th.t_hi, th.t_lo);
        DELETE FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) b;
        IF s.battery_id IS NOT NULL THEN
            INSERT INTO @extschema@._usage_state SELECT s.*;
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END $$;

-- usage_state_check(): every battery whose usage state differs from its
-- reports (recomputed with the row's own thresholds: they only decide
-- whether the passport reads the row), or has a row and no report, or
-- reports and no row.  As text, so that 1.5 and 1.50 differ as in a passport.
CREATE FUNCTION @extschema@.usage_state_check()
    RETURNS TABLE (battery_id @extschema@.battery_id, problem text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    b @extschema@.battery_id;
    s @extschema@._usage_state;
    c @extschema@._usage_state;
BEGIN
    IF row_security_active('@extschema@.disclosure') THEN
        RAISE EXCEPTION 'usage_state_check() must see every disclosure' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Run it as the extension''s owner.';
    END IF;
    FOR b IN SELECT DISTINCT x.battery_id FROM (
                 SELECT u.battery_id FROM @extschema@._usage_state u
                 UNION ALL
                 SELECT e.battery_id FROM @extschema@.battery_event e
                   JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                  WHERE e.event = 'soh_reported' AND d.tier = 'legitimate_interest'
                    -- (a report whose commitment another names too counts for none: the header)
                    AND NOT EXISTS (SELECT FROM @extschema@.battery_event o
                                     WHERE o.restricted OPERATOR(@extschema@.=) e.restricted OFFSET 1)) x LOOP
        SELECT * INTO s FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) b;
        IF NOT FOUND THEN
            battery_id := b; problem := 'reports and no usage state';
            RETURN NEXT;
            CONTINUE;
        END IF;
        c := @extschema@._usage_state_compute(b, s.deep_v, s.over_v, s.t_hi, s.t_lo);
        IF c.battery_id IS NULL THEN
            battery_id := b; problem := 'usage state and no report';
            RETURN NEXT;
        ELSIF s::text IS DISTINCT FROM c::text THEN
            battery_id := b; problem := 'usage state differs from the reports';
            RETURN NEXT;
        END IF;
    END LOOP;
END $$;

-- _usage_derived_state(battery, made, m): _usage_derived()'s rows from the
-- battery's usage state (the passport's; _usage_derived() stays the
-- reference usage_derived() returns and the check compares with): sums and
-- counts from the row, the reports it names read for their values, times
-- and hashes, and the round trips from a walk back (the latest) and forward
-- (the first) from the ends of the battery's charges and discharges, which
-- stops at the first pair (a round trip depends on its neighbour, which a
-- report arriving out of order can change: not kept).  Thresholds other
-- than the row's (a model redeclared, a manufacture arriving after the
-- reports): computed from the reports, as before.  Runs as the owner: not
-- PUBLIC's, not given to any tier.
CREATE FUNCTION @extschema@._usage_derived_state(battery @extschema@.battery_id, made @extschema@.battery_event,
                                                 m @extschema@.battery_model)
    RETURNS TABLE (key text, value numeric, at timestamptz, reports bigint, method text,
                   ledger_seq bigint, ledger_hash @extschema@.hash256)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    s @extschema@._usage_state;
    th record;
    l record;
    d record;
    en record;
    re record;
    re0 numeric;
    r record;
    nxt_type text;
    nxt_wh numeric;
    nxt_at timestamptz;
    nxt_seq bigint;
    nxt_hash @extschema@.hash256;
    prv_type text;
    prv_wh numeric;
    b_at timestamptz;
    b_origin text;
    b_seq bigint;
    k int;
    wh numeric;
    p_at timestamptz;
    p_seq bigint;
    p_hash @extschema@.hash256;
    p_rte numeric;
    f_rte numeric;
    cap numeric;
    soh numeric;
    fade numeric;
    kwh numeric;
    soce numeric;
    fc numeric;
    re_inc numeric;
    pfade numeric;
    rte numeric;
    rte_fade numeric;
BEGIN
    SELECT * INTO s FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) battery;
    IF NOT FOUND OR s.n = 0 THEN
        RETURN;
    END IF;
    th := @extschema@._usage_thresholds(made, m);
    -- the rated values divided by, as _usage_derived() reads them (red team
    -- rt27b F2: no NaN, infinity or number past _json_num()'s bound)
    m.rated_capacity_ah := @extschema@._json_num(pg_catalog.to_jsonb(m.rated_capacity_ah));
    m.rated_energy_kwh := @extschema@._json_num(pg_catalog.to_jsonb(m.rated_energy_kwh));
    IF (th.deep_v, th.over_v, th.t_hi, th.t_lo) IS DISTINCT FROM (s.deep_v, s.over_v, s.t_hi, s.t_lo) THEN
        RETURN QUERY SELECT * FROM @extschema@._usage_derived(battery, made, m);
        RETURN;
    END IF;
    -- the reports the row names (each a report with per-cycle data, disclosed
    -- at this tier, its commitment named by it alone: the triggers below
    -- keep a contested one out of the row, the check compares)
    SELECT e.occurred_at, e.ledger_seq AS seq, e.ledger_hash AS hash INTO l
      FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
       AND e.ledger_at = s.last_at AND e.ledger_origin = s.last_origin AND e.ledger_seq = s.last_seq;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT e.occurred_at, e.ledger_seq AS seq, e.ledger_hash AS hash,
           @extschema@._json_num(x.value->'cycle'->'capacity_ah') AS cap INTO d
      FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
       AND e.ledger_at = s.dis_at AND e.ledger_origin = s.dis_origin AND e.ledger_seq = s.dis_seq;
    IF FOUND THEN
        cap := round(d.cap, 5);
        soh := round(100 * d.cap / m.rated_capacity_ah, 2);
        fade := round(100 * (m.rated_capacity_ah - d.cap) / m.rated_capacity_ah, 2);
    END IF;
    SELECT e.occurred_at, e.ledger_seq AS seq, e.ledger_hash AS hash,
           @extschema@._json_num(x.value->'cycle'->'wh') AS wh INTO en
      FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
       AND e.ledger_at = s.en_at AND e.ledger_origin = s.en_origin AND e.ledger_seq = s.en_seq;
    IF FOUND THEN
        kwh := round(en.wh / 1000, 6);
        IF m.rated_energy_kwh > 0 THEN
            soce := round(100 * en.wh / 1000 / m.rated_energy_kwh, 2);
        END IF;
    END IF;
    IF s.ah_out IS NOT NULL THEN
        fc := round(s.ah_out / m.rated_capacity_ah, 2);
    END IF;
    SELECT e.occurred_at, e.ledger_seq AS seq, e.ledger_hash AS hash,
           @extschema@._json_num(x.value->'cycle'->'re_ohm') AS re INTO re
      FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
       AND e.ledger_at = s.re_at AND e.ledger_origin = s.re_origin AND e.ledger_seq = s.re_seq;
    IF FOUND THEN
        SELECT @extschema@._json_num(x.value->'cycle'->'re_ohm') INTO re0
          FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
           AND e.ledger_at = s.re_first_at AND e.ledger_origin = s.re_first_origin AND e.ledger_seq = s.re_first_seq;
        re_inc := round(100 * (re.re / re0 - 1), 2);
        pfade := round(100 * (1 - re0 / re.re), 2);
    END IF;
    -- the latest round trip: a discharge whose charge or discharge before
    -- it is a charge (_usage_derived()'s pairs), walking back over the
    -- battery's reports from the latest, and the first walking forward; each
    -- walk stops at its pair.  Pages of 8 reports by position, each report's
    -- disclosure read by its key: as one query the planner sorted all the
    -- battery's reports, or scanned every disclosure of the registry (it
    -- cannot estimate the JSON filters), a plan growing with the history
    b_at := 'infinity'; b_origin := ''; b_seq := 0;
    <<back>>
    LOOP
        k := 0;
        FOR r IN SELECT e.ledger_at, e.ledger_origin, e.ledger_seq AS seq, e.occurred_at, e.ledger_hash AS hash, x.cy
                   FROM @extschema@.battery_event e
                   LEFT JOIN LATERAL (SELECT d0.value->'cycle' AS cy FROM @extschema@.disclosure d0
                                       WHERE d0.commitment OPERATOR(@extschema@.=) e.restricted
                                         AND d0.tier = 'legitimate_interest'
                                         -- (named by this report alone, the header: tested where the
                                         -- battery has a contested report, a probe per report walked)
                                         AND (NOT s.contested OR @extschema@._commitment_rows(e.restricted, 2, false) < 2)) x ON true
                  WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
                    AND (e.ledger_at, e.ledger_origin, e.ledger_seq) < (b_at, b_origin, b_seq)
                  ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 8 LOOP
            k := k + 1;
            b_at := r.ledger_at; b_origin := r.ledger_origin; b_seq := r.seq;
            CONTINUE WHEN jsonb_typeof(r.cy) IS DISTINCT FROM 'object' OR NOT coalesce(r.cy->>'type' IN ('charge', 'discharge'), false);
            wh := @extschema@._json_num(r.cy->'wh');
            IF nxt_type = 'discharge' AND nxt_wh IS NOT NULL AND r.cy->>'type' = 'charge' AND wh > 0 THEN
                p_at := nxt_at; p_seq := nxt_seq; p_hash := nxt_hash; p_rte := nxt_wh / wh;
                EXIT back;
            END IF;
            nxt_type := r.cy->>'type'; nxt_wh := wh; nxt_at := r.occurred_at; nxt_seq := r.seq; nxt_hash := r.hash;
        END LOOP;
        EXIT WHEN k < 8;
    END LOOP;
    IF p_seq IS NOT NULL THEN
        rte := round(100 * p_rte, 2);
        b_at := '-infinity'; b_origin := ''; b_seq := 0;
        <<forward>>
        LOOP
            k := 0;
            FOR r IN SELECT e.ledger_at, e.ledger_origin, e.ledger_seq AS seq, x.cy
                       FROM @extschema@.battery_event e
                       LEFT JOIN LATERAL (SELECT d0.value->'cycle' AS cy FROM @extschema@.disclosure d0
                                           WHERE d0.commitment OPERATOR(@extschema@.=) e.restricted
                                             AND d0.tier = 'legitimate_interest'
                                             AND (NOT s.contested OR @extschema@._commitment_rows(e.restricted, 2, false) < 2)) x ON true
                      WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
                        AND (e.ledger_at, e.ledger_origin, e.ledger_seq) > (b_at, b_origin, b_seq)
                      ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 8 LOOP
                k := k + 1;
                b_at := r.ledger_at; b_origin := r.ledger_origin; b_seq := r.seq;
                CONTINUE WHEN jsonb_typeof(r.cy) IS DISTINCT FROM 'object' OR NOT coalesce(r.cy->>'type' IN ('charge', 'discharge'), false);
                wh := @extschema@._json_num(r.cy->'wh');
                IF r.cy->>'type' = 'discharge' AND wh IS NOT NULL AND prv_type = 'charge' AND prv_wh > 0 THEN
                    f_rte := wh / prv_wh;
                    EXIT forward;
                END IF;
                prv_type := r.cy->>'type'; prv_wh := wh;
            END LOOP;
            EXIT WHEN k < 8;
        END LOOP;
        rte_fade := round(100 * (f_rte - p_rte) / nullif(f_rte, 0), 2);
    END IF;
    -- the rows, names and methods of _usage_derived(), in its order
    RETURN QUERY
    SELECT v.key, v.value, v.at, s.n, v.method, v.seq, v.hash
      FROM (SELECT 'capacity_ah'::text, cap, d.occurred_at, 'latest measured discharge capacity'::text, d.seq, d.hash
             WHERE d.seq IS NOT NULL
            UNION ALL SELECT 'soh_pct', soh, d.occurred_at, 'latest discharge capacity / rated capacity', d.seq, d.hash
             WHERE d.seq IS NOT NULL
            UNION ALL SELECT 'capacity_fade_pct', fade, d.occurred_at,
                             '(rated capacity - latest discharge capacity) / rated capacity', d.seq, d.hash
             WHERE d.seq IS NOT NULL
            UNION ALL SELECT 'remaining_energy_kwh', kwh, en.occurred_at, 'energy of the latest measured discharge', en.seq, en.hash
             WHERE en.seq IS NOT NULL
            UNION ALL SELECT 'soce_pct', soce, en.occurred_at,
                             'energy of the latest discharge / rated (certified) energy', en.seq, en.hash
             WHERE en.seq IS NOT NULL
            UNION ALL SELECT 'capacity_throughput_ah', round(s.ah, 4), l.occurred_at, 'sum of charged and discharged Ah', l.seq, l.hash
            UNION ALL SELECT 'energy_throughput_kwh', round(s.wh / 1000, 6), l.occurred_at, 'sum of charged and discharged energy', l.seq, l.hash
            UNION ALL SELECT 'full_cycles', fc, l.occurred_at,
                             'discharged Ah / rated capacity (full equivalent cycles)', l.seq, l.hash
            UNION ALL SELECT 're_ohm', re.re, re.occurred_at, 'latest measured internal (ohmic) resistance', re.seq, re.hash
             WHERE re.seq IS NOT NULL
            UNION ALL SELECT 'resistance_increase_pct', re_inc, re.occurred_at,
                             'latest / first measured internal resistance - 1', re.seq, re.hash
             WHERE re.seq IS NOT NULL
            UNION ALL SELECT 'power_fade_pct', pfade, re.occurred_at,
                             'estimated from resistance: power capability at a given voltage is inversely proportional to it', re.seq, re.hash
             WHERE re.seq IS NOT NULL
            UNION ALL SELECT 'rte_remaining_pct', rte, p_at,
                             'latest discharge energy / energy of the charge before it', p_seq, p_hash
             WHERE p_seq IS NOT NULL
            UNION ALL SELECT 'rte_fade_pct', rte_fade, p_at,
                             'decrease of the round-trip efficiency since the first measured cycle', p_seq, p_hash
             WHERE p_seq IS NOT NULL
            UNION ALL SELECT 't_cell_max_c', s.t_max, l.occurred_at, 'highest measured cell temperature', l.seq, l.hash
            UNION ALL SELECT 'deep_discharge_events', s.deep_n, l.occurred_at,
                             format('discharges below %s V', th.deep_v), l.seq, l.hash WHERE th.deep_v IS NOT NULL
            UNION ALL SELECT 'overcharge_events', s.over_n, l.occurred_at,
                             format('charges above %s V', th.over_v), l.seq, l.hash WHERE th.over_v IS NOT NULL
            UNION ALL SELECT 't_extreme_high_min', round(coalesce(s.hi_s / 60, 0), 2), l.occurred_at,
                             format('at most: duration of charges and discharges whose peak cell temperature exceeded %s degC', th.t_hi), l.seq, l.hash
             WHERE th.t_hi IS NOT NULL
            UNION ALL SELECT 't_extreme_high_charging_min', round(coalesce(s.hi_chg_s / 60, 0), 2), l.occurred_at,
                             format('at most: duration of charges whose peak cell temperature exceeded %s degC', th.t_hi), l.seq, l.hash
             WHERE th.t_hi IS NOT NULL
            UNION ALL SELECT 't_extreme_low_min', round(coalesce(s.lo_s / 60, 0), 2), l.occurred_at,
                             format('at most: duration of charges and discharges at an ambient temperature below %s degC', th.t_lo), l.seq, l.hash
             WHERE th.t_lo IS NOT NULL
            UNION ALL SELECT 't_extreme_low_charging_min', round(coalesce(s.lo_chg_s / 60, 0), 2), l.occurred_at,
                             format('at most: duration of charges at an ambient temperature below %s degC', th.t_lo), l.seq, l.hash
             WHERE th.t_lo IS NOT NULL
      ) v(key, value, at, method, seq, hash)
     WHERE v.value IS NOT NULL;
END $$;

-- _usage_lock(commitment hash256) RETURNS void: this transaction's turn on
-- a commitment, for the two triggers below (src/pg/usage_lock.c).  A lock
-- whose fourth field no SQL-level advisory lock uses: with
-- pg_advisory_xact_lock() (0.23.0) a role that may read battery_event held
-- a report's lock in its session and the report's disclosure waited as long
-- (red team r31 L1).
CREATE FUNCTION @extschema@._usage_lock(commitment @extschema@.hash256) RETURNS void
    AS 'MODULE_PATHNAME', 'battledger_usage_lock' LANGUAGE C VOLATILE STRICT;

-- _usage_state_reported(), trigger: a usage report arriving, folded when
-- its disclosure is here (written first, as applications do, or in the
-- same transaction).  The disclosure trigger below folds the other order.
-- Both take a lock on the commitment (_usage_lock()), so that a report and its disclosure
-- written concurrently by two READ COMMITTED transactions are folded by
-- the second (a report is written at READ COMMITTED only, BL039; a
-- disclosure at REPEATABLE READ may not see a report committed after its
-- snapshot: its trigger below fails then, 0.24.0).  ENABLE ALWAYS: the
-- apply worker folds the reports it applies (a member without the
-- disclosures finds none).
--
-- A commitment counts once (0.25.0; the header): the report is folded if
-- it alone names its commitment.  The second row naming one (a replay
-- past BL045, written here or arriving, before or after the genuine one)
-- takes the first out: the batteries the commitment's reports are of are
-- recomputed (sums cannot forget a report), and a third changes nothing.
-- That second row may be of any event kind (rt25 Q2, Q3): the trigger
-- fires on every row with a commitment, and a quality check or status
-- change naming a report's commitment takes the report out as a second
-- report does; a report naming theirs is never folded.
-- So the row is the same whatever order the rows and the disclosure
-- arrive in.  Counted under the commitment's lock: a row committing
-- meanwhile is seen (READ COMMITTED), or, at REPEATABLE READ (a member's
-- superuser's session past BL039), counted with the latest snapshot and
-- the transaction failed as the disclosure's trigger fails it.
-- The apply worker runs at the level default_transaction_isolation gives
-- it, and the rules that refuse a report at REPEATABLE READ do not run
-- there: a disclosure committed after its snapshot, whose own trigger found
-- no report yet, was not seen.  At any level but READ COMMITTED the
-- disclosure is read with the latest snapshot, after the lock (0.25.0,
-- test/shell/usage_state_rr.sh).
CREATE FUNCTION @extschema@._usage_state_reported() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- counts stop at 3: the first, the second (which takes the first out)
    -- and a third or later (which changes nothing) are told apart
    lim CONSTANT integer := 3;
    v jsonb;
    late boolean := false;
    named integer;
    latest integer;
    b @extschema@.battery_id;
BEGIN
    PERFORM @extschema@._usage_lock(NEW.restricted);
    SELECT d.value INTO v FROM @extschema@.disclosure d
     WHERE d.commitment OPERATOR(@extschema@.=) NEW.restricted AND d.tier = 'legitimate_interest';
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        -- what is committed now decides (the header above): a disclosure
        -- committed after this transaction's snapshot is folded, one erased
        -- after it is not (the erasure's trigger ran before this row
        -- existed: red team rt25c R1)
        late := NOT FOUND;
        v := @extschema@._usage_disclosure_latest(NEW.restricted);
        late := late AND v IS NOT NULL;
    END IF;
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    -- the rows of any kind naming the commitment, this one among them, up
    -- to lim (a member writing thousands of replays of one commitment made
    -- each count them all: quadratic)
    named := @extschema@._commitment_rows(NEW.restricted, lim, false);
    latest := @extschema@._commitment_rows(NEW.restricted, lim, true);   -- NULL at READ COMMITTED
    IF latest > named THEN
        RAISE EXCEPTION 'a row naming this row''s commitment was committed after this transaction''s snapshot'
            USING ERRCODE = 'serialization_failure',
                  DETAIL = format('This transaction runs at %s and sees fewer of the rows naming commitment %s than are committed (%s of at most %s counted); a commitment two rows name counts for none, which it cannot fold.',
                                  current_setting('transaction_isolation'), NEW.restricted, named, lim),
                  HINT = 'Retry the transaction (its new snapshot sees them), or write events at READ COMMITTED.';
    END IF;
    IF late AND named >= 2 THEN
        -- taking the first row out recomputes its battery from this
        -- transaction's snapshot, which lacks the disclosure's fold
        -- (committed after it) and cannot undo it: a state that counts a
        -- contested report (red team rt25b X2).  A first row folds here,
        -- and a state row committed after the snapshot fails it anyway.
        RAISE EXCEPTION 'the disclosure of this row''s commitment was committed after this transaction''s snapshot'
            USING ERRCODE = 'serialization_failure',
                  DETAIL = format('This transaction runs at %s; commitment %s is named by another row, and the usage state its disclosure folded is not visible here to take it out.',
                                  current_setting('transaction_isolation'), NEW.restricted),
                  HINT = 'Retry the transaction (its new snapshot sees it), or apply and write events at READ COMMITTED.';
    END IF;
    IF named = 1 THEN
        IF NEW.event = 'soh_reported' THEN
            PERFORM @extschema@._usage_state_add(NEW.battery_id, NEW.ledger_at, NEW.ledger_origin, NEW.ledger_seq, v);
        END IF;
    ELSIF named = 2 THEN
        -- the first row counted until now, if a report: out (this one never
        -- counts); a report's battery has a contested report now
        FOR b IN SELECT DISTINCT r.battery_id FROM @extschema@.battery_event r
                  WHERE r.restricted OPERATOR(@extschema@.=) NEW.restricted AND r.event = 'soh_reported' LOOP
            PERFORM @extschema@.usage_state_rebuild(b);
        END LOOP;
    ELSIF NEW.event = 'soh_reported' THEN
        -- a third or later: counted for none already; its battery has a contested report now
        UPDATE @extschema@._usage_state u SET contested = true
         WHERE u.battery_id OPERATOR(@extschema@.=) NEW.battery_id AND NOT u.contested;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER zz_battledger_usage_state AFTER INSERT ON @extschema@.battery_event
    FOR EACH ROW WHEN (NEW.restricted IS NOT NULL)
    EXECUTE FUNCTION @extschema@._usage_state_reported();
ALTER TABLE @extschema@.battery_event ENABLE ALWAYS TRIGGER zz_battledger_usage_state;

-- _usage_disclosure_latest(commitment): the commitment's legitimate-interest
-- disclosure read with the latest snapshot (src/pg/usage_latest.c); NULL at
-- READ COMMITTED, where every query's snapshot is the latest, or if none.
CREATE FUNCTION @extschema@._usage_disclosure_latest(commitment @extschema@.hash256) RETURNS jsonb
    LANGUAGE C STRICT AS 'MODULE_PATHNAME', 'bl_usage_disclosure_latest';

-- _usage_state_disclosed(), trigger: a disclosure arriving after its report(s)
-- folds them.  Reports are written at READ COMMITTED (BL039), a disclosure
-- may be written at REPEATABLE READ or SERIALIZABLE: a report committed
-- after its transaction's snapshot is not seen here, and the report's own
-- trigger, earlier, found no disclosure, so the report was never folded
-- (0.24.0, test/shell/usage_state_rr.sh).  Counted again with the latest
-- snapshot after the lock (a report committing meanwhile holds the lock
-- until it commits), fewer folded than committed is a serialization
-- failure: the application's retry, with a new snapshot, folds them.
-- A commitment two or more rows name counts for none (0.25.0; the
-- header): folded only where one row, a usage report, names it.  Rows of
-- any event kind count (rt25 Q2, Q3), in both counts (_commitment_rows()).
CREATE FUNCTION @extschema@._usage_state_disclosed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- counts stop at 2: one row, or more (a third changes nothing)
    lim CONSTANT integer := 2;
    one record;
    seen integer;
    latest integer;
BEGIN
    PERFORM @extschema@._usage_lock(NEW.commitment);
    seen := @extschema@._commitment_rows(NEW.commitment, lim, false);
    IF seen = 1 THEN
        -- the one row (an index or bitmap scan reads its one entry; a
        -- planner told to take neither reads the table, once per disclosure)
        SELECT r.battery_id, r.ledger_at, r.ledger_origin, r.ledger_seq, r.event INTO one
          FROM @extschema@.battery_event r WHERE r.restricted OPERATOR(@extschema@.=) NEW.commitment;
        IF one.event = 'soh_reported' THEN
            PERFORM @extschema@._usage_state_add(one.battery_id, one.ledger_at, one.ledger_origin, one.ledger_seq, NEW.value);
        END IF;
    ELSIF seen = 2 THEN
        -- counted for none: the batteries its reports are of have a contested report
        UPDATE @extschema@._usage_state u SET contested = true
         WHERE NOT u.contested
           AND EXISTS (SELECT FROM @extschema@.battery_event r
                        WHERE r.battery_id OPERATOR(@extschema@.=) u.battery_id
                          AND r.restricted OPERATOR(@extschema@.=) NEW.commitment AND r.event = 'soh_reported');
    END IF;
    latest := @extschema@._commitment_rows(NEW.commitment, lim, true);   -- NULL at READ COMMITTED
    IF latest > seen THEN
        RAISE EXCEPTION 'a row this disclosure discloses was committed after this transaction''s snapshot'
            USING ERRCODE = 'serialization_failure',
                  DETAIL = format('This transaction runs at %s and sees fewer of the rows naming commitment %s than are committed (%s of at most %s counted); it cannot fold them into the usage state.',
                                  current_setting('transaction_isolation'), NEW.commitment, seen, lim),
                  HINT = 'Retry the transaction (its new snapshot sees them), or write disclosures at READ COMMITTED.';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER battledger_usage_state AFTER INSERT ON @extschema@.disclosure
    FOR EACH ROW WHEN (NEW.tier = 'legitimate_interest')
    EXECUTE FUNCTION @extschema@._usage_state_disclosed();
ALTER TABLE @extschema@.disclosure ENABLE ALWAYS TRIGGER battledger_usage_state;

-- _usage_state_erased(), trigger: a disclosure erased (erase_disclosure())
-- or changed; sums cannot forget a maximum or a latest report, so the
-- batteries it counted for are recomputed.  Emptied (TRUNCATE): no report is disclosed any more.
-- In the commitment's turn, as the other two triggers (0.25.0): a report
-- written while the disclosure was being erased read it (not yet erased)
-- and folded it, and this trigger, not yet seeing that report, left its
-- battery counting the erased values (usage_state_check() named it).  At
-- REPEATABLE READ or SERIALIZABLE a report committed after this
-- transaction's snapshot is not seen: fewer seen than committed is a
-- serialization failure, as for a disclosure (test/shell/usage_state_rr.sh).
CREATE FUNCTION @extschema@._usage_state_erased() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- counts stop at 3, as the report trigger's: fewer seen than committed
    -- is all this asks
    lim CONSTANT integer := 3;
    b @extschema@.battery_id;
    c @extschema@.hash256;
    cs @extschema@.hash256[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM @extschema@._usage_state;
        RETURN NULL;
    END IF;
    -- the commitments erased or changed: the old one, and a new one an UPDATE gave
    cs := CASE WHEN TG_OP = 'UPDATE' AND NEW.commitment OPERATOR(@extschema@.<>) OLD.commitment
               THEN ARRAY[OLD.commitment, NEW.commitment] ELSE ARRAY[OLD.commitment] END;
    FOREACH c IN ARRAY cs LOOP
        PERFORM @extschema@._usage_lock(c);
        IF @extschema@._commitment_rows(c, lim, true) > @extschema@._commitment_rows(c, lim, false) THEN
            RAISE EXCEPTION 'a row naming this disclosure was committed after this transaction''s snapshot'
                USING ERRCODE = 'serialization_failure',
                      DETAIL = format('This transaction runs at %s and does not see every row naming commitment %s; it cannot recompute their batteries'' usage state.',
                                      current_setting('transaction_isolation'), c),
                      HINT = 'Retry the transaction (its new snapshot sees them), or erase disclosures at READ COMMITTED.';
        END IF;
    END LOOP;
    -- (one array probe of the index, once per erasure: every report of the
    -- commitments is rebuilt, however many)
    FOR b IN SELECT DISTINCT r.battery_id FROM @extschema@.battery_event r
              WHERE r.event = 'soh_reported' AND r.restricted OPERATOR(@extschema@.=) ANY (cs) LOOP
        PERFORM @extschema@.usage_state_rebuild(b);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER battledger_usage_state_erased AFTER UPDATE OR DELETE ON @extschema@.disclosure
    FOR EACH ROW EXECUTE FUNCTION @extschema@._usage_state_erased();
ALTER TABLE @extschema@.disclosure ENABLE ALWAYS TRIGGER battledger_usage_state_erased;
CREATE TRIGGER battledger_usage_state_emptied AFTER TRUNCATE ON @extschema@.disclosure
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._usage_state_erased();

REVOKE ALL ON FUNCTION @extschema@._usage_thresholds(@extschema@.battery_event, @extschema@.battery_model),
    @extschema@._usage_contested(@extschema@.battery_id),
    @extschema@._usage_state_add(@extschema@.battery_id, timestamptz, text, bigint, jsonb),
    @extschema@._usage_state_compute(@extschema@.battery_id, numeric, numeric, numeric, numeric),
    @extschema@._usage_derived_state(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model),
    @extschema@.usage_state_rebuild(@extschema@.battery_id), @extschema@.usage_state_check(),
    @extschema@._usage_state_reported(), @extschema@._usage_state_disclosed(), @extschema@._usage_state_erased(),
    @extschema@._usage_lock(@extschema@.hash256),
    @extschema@._commitment_rows(@extschema@.hash256, integer, boolean),
    @extschema@._usage_disclosure_latest(@extschema@.hash256)
    FROM PUBLIC;
