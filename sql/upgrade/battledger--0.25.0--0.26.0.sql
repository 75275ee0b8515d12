-- battledger 0.25.0 -> 0.26.0 (parts in sql/upgrade/0.25.0--0.26.0/)
-- mend26 (0.26.0): the commitment probes of the usage triggers and of the
-- passport's readers as one C index scan that stops at the limit its
-- caller passes (src/pg/commitment_rows.c), whatever the planner settings;
-- the triggers lose 0.25.0's SET enable_bitmapscan = off (red team rt25b X1).
-- _usage_reports_latest() (the count up to a literal 3 its callers compared
-- with least(..., 3) or least(..., 2)) is _commitment_rows(c, lim, true) now.
-- Before 20_usage_probes.replace: _usage_contested(), LANGUAGE sql, names
-- the new function, which must exist when its body is checked.
DROP FUNCTION @extschema@._usage_reports_latest(@extschema@.hash256);
CREATE FUNCTION @extschema@._commitment_rows(commitment @extschema@.hash256, lim integer, latest boolean) RETURNS integer
    AS 'MODULE_PATHNAME', 'bl_commitment_rows' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION @extschema@._commitment_rows(@extschema@.hash256, integer, boolean) FROM PUBLIC;
CREATE OR REPLACE FUNCTION @extschema@._passport_source(battery @extschema@.battery_id, tier text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    st record;
    made @extschema@.battery_event;
    placed @extschema@.battery_event;
    model @extschema@.battery_model;
    restricted_ok boolean := tier IN ('legitimate_interest', 'authority');   -- Annex XIII point 2
    usage_ok boolean := tier = 'legitimate_interest';                        -- point 4
    tests_ok boolean := tier = 'authority';                                  -- point 3
    v jsonb;
    fc @extschema@.battery_fold_cache;
    resp record;
    issued jsonb;
BEGIN
    -- the manufacture the fold accepts: another row (a member squatting the
    -- battery under another maker's namespace, a second "manufactured") must
    -- not give the passport its model, maker or date (red team r20, F1)
    -- (from the fold cache where it holds, read once here for the state as
    -- well: each read checks the cache against the registry)
    IF pg_is_in_recovery() THEN
        made := @extschema@._effective_manufacture(battery);
    ELSE
        fc := @extschema@._battery_fold_cached(battery);
        SELECT e.* INTO made FROM @extschema@.battery_event e
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.ledger_origin = fc.made_origin AND e.ledger_seq = fc.made_seq;
    END IF;
    IF made.battery_id IS NULL THEN
        RAISE EXCEPTION 'no battery % in the registry', battery USING ERRCODE = 'no_data_found';
    END IF;
    -- The state, and the operator responsible now (Art. 77(7), Art. 62):
    -- whoever last placed the battery on the market or moved its status; on
    -- "waste" the collector, recycler or operator that declared it waste.
    -- From the rules' fold cache where it still holds (the same as the whole
    -- fold, read-only), read once for both (issue 15: each read checks the
    -- cache against the registry); a standby cannot read the unlogged cache.
    -- _passport() moves responsibleOperator into the second-life section.
    IF pg_is_in_recovery() THEN
        SELECT * INTO st FROM @extschema@.battery_state(battery);
        SELECT l.signer, e.occurred_at, l.status INTO resp FROM @extschema@.battery_lifecycle(battery) l
          JOIN @extschema@.battery_event e ON e.battery_id OPERATOR(@extschema@.=) battery
                                          AND e.ledger_origin = l.ledger_origin AND e.ledger_seq = l.ledger_seq
         WHERE l.effective AND l.event IN ('placed_on_market', 'status_changed')
         ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC LIMIT 1;
        SELECT coalesce(jsonb_agg(jsonb_build_array(f.ledger_origin, f.ledger_seq)), '[]') INTO issued
          FROM @extschema@._battery_fold(battery, ROW(false, NULL, NULL, NULL, NULL, NULL), NULL, NULL, NULL) f
         WHERE f.effective AND f.named_passport IS NOT NULL AND f.event IN ('placed_on_market', 'status_changed');
    ELSE
        SELECT (fc.st).* INTO st;
        issued := fc.issued;
        SELECT fc.resp_signer AS signer, e.occurred_at, fc.resp_status AS status INTO resp
          FROM @extschema@.battery_event e
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.ledger_origin = fc.resp_origin AND e.ledger_seq = fc.resp_seq;
    END IF;
    -- the model as its holder declared it last (red team r20, F4: another
    -- member's row of the model id, the latest, was read)
    model := @extschema@._model_row(made.model_id);
    -- the event that issued the current passport (the fold's): the first of
    -- the battery's moves naming it.  The last row naming any passport id
    -- was read until 0.18.0, so a member moving a battery it did not hold
    -- (ineffective, an equivocation) set the passport's operator, issue date
    -- and warranty on every member (red team r20, F2).  An earlier issuing
    -- row naming the id would hold it, and the fold's would not be effective
    SELECT * INTO placed FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id = st.passport_id
       AND e.event IN ('placed_on_market', 'status_changed')
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1;

    v := jsonb_build_object(
        'tier', tier,
        'battery', battery::text,
        -- its status stays point 4
        'responsibleOperator', CASE WHEN resp.signer IS NOT NULL THEN jsonb_strip_nulls(jsonb_build_object(
            'member', resp.signer,
            'since', CASE WHEN usage_ok THEN resp.occurred_at END,
            'becauseOfStatus', CASE WHEN usage_ok THEN resp.status END)) END,
        -- the QR code's link resolves at this registry's resolver (battledger.resolver)
        'digitalLink', @extschema@.battery_digital_link(battery, @extschema@.registry_resolver()),
        'passportId', st.passport_id,
        'ceased', st.status = 'recycled',
        -- (the columns left out in one pass: each "-" copied the model again; 0.26.0)
        'model', to_jsonb(model) - ARRAY['materials', 'ledger_sig', 'ledger_key_id', 'ledger_prev', 'ledger_hash',
                                         'ledger_seq', 'ledger_batch', 'ledger_origin', 'ledger_at'],
        -- point 1: chemistry, critical raw materials, hazardous substances; point 2: the rest of the composition
        'materials', CASE WHEN restricted_ok THEN model.materials
                          ELSE (SELECT jsonb_object_agg(key, value) FROM jsonb_each(model.materials)
                                 WHERE key IN ('chemistry', 'criticalRawMaterials', 'hazardousSubstances', 'hazardousElements')) END,
        -- (a row's signer: the keys view's member, probed in the statement;
        -- _signer() adds a call and the member's roles, which are not shown,
        -- and a counted key's member always has them; 0.24.0, issue 15)
        'manufactured', jsonb_build_object('at', made.occurred_at, 'by', (SELECT k.member FROM @extschema@.keys k WHERE k.key_id OPERATOR(@extschema@.=) made.ledger_key_id),
                                           'data', made.data),
        'issued', jsonb_build_object('at', placed.occurred_at, 'by', (SELECT k.member FROM @extschema@.keys k WHERE k.key_id OPERATOR(@extschema@.=) placed.ledger_key_id),
                                     'event', placed.event, 'data', placed.data),
        -- the passports the fold's effective moves issued (red team r20, F2:
        -- every row naming an id was listed, a member's moves of a battery it
        -- did not hold included): from the cache, or the whole fold on a standby
        'history', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                               'passportId', e.passport_id, 'issuedAt', e.occurred_at,
                               'issuedBy', (SELECT k.member FROM @extschema@.keys k WHERE k.key_id OPERATOR(@extschema@.=) e.ledger_key_id),
                               'status', CASE WHEN usage_ok THEN
                                   CASE WHEN e.event = 'placed_on_market' THEN 'original' ELSE e.new_status END END))
                           ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
                      FROM @extschema@.battery_event e
                     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id IS NOT NULL
                       AND (e.ledger_origin, e.ledger_seq) IN (SELECT i->>0, (i->>1)::bigint FROM jsonb_array_elements(issued) i)));

    -- the manufacturer's declarations not for everyone (the v1.2 attribute list's access rights):
    -- safety measures are point 2; expected lifetime in years and initial self-discharge point 4
    IF NOT restricted_ok THEN
        v := v #- '{manufactured,data,documents,safetyInstructions}';
    END IF;
    IF NOT usage_ok THEN
        v := v #- '{manufactured,data,rated,expectedLifetimeYears}' #- '{manufactured,data,rated,selfDischargePct}';
    END IF;
    IF usage_ok THEN
        v := v || jsonb_build_object(
            'status', st.status,
            'inService', (SELECT min(e.occurred_at) FROM @extschema@.battery_event e
                           WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'installed'
                             -- signed in a role the event allows (red team r20, F3: a
                             -- member without one, bypassing its rules, wrote them)
                             AND EXISTS (SELECT 1 FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at) sg
                                           JOIN @extschema@.event_kind ek ON ek.event = e.event AND ek.subject = 'battery'
                                          WHERE sg.roles && ek.roles)),
            -- each dynamic attribute from the latest usage report that set it,
            -- the report named by the battery's usage state (87_usage_state.sql:
            -- until 0.22.0 the 8 latest reports were read, then each key none of
            -- them carried walked back through the battery's reports, and a GIN
            -- precheck for it matched every battery's nested cycle fields; issue
            -- 15); its value, time and hash read from the report; a value that is
            -- no number is none (_json_num(): a cast made the passport fail)
            -- (the reports the keys name, each read once with its leaf: a
            -- battery's keys often share one report; by position with LIMIT 1,
            -- which keeps the planner from joining every report of the battery,
            -- 9.5 ms at 18,864 reports)
            'dynamic', (WITH r AS MATERIALIZED (
                            SELECT p.pos, e.occurred_at, e.event, e.ledger_seq, e.ledger_hash, d.value,
                                   -- (leaf_index() written out: its call, with its pinned
                                   -- search_path, cost 6 times the probe; 0.26.0)
                                   (SELECT l.leaf_index FROM @extschema@.log_leaf l
                                     WHERE l.row_hash OPERATOR(@extschema@.=) e.ledger_hash
                                       AND l.tbl = '@extschema@.battery_event') AS leaf_index
                              FROM (SELECT DISTINCT p.value AS pos FROM @extschema@._usage_state u
                                     CROSS JOIN LATERAL jsonb_each(u.latest) p
                                     WHERE u.battery_id OPERATOR(@extschema@.=) battery) p
                             CROSS JOIN LATERAL (
                                   SELECT x.occurred_at, x.event, x.ledger_seq, x.ledger_hash, x.restricted
                                     FROM @extschema@.battery_event x
                                    WHERE x.battery_id OPERATOR(@extschema@.=) battery AND x.event = 'soh_reported'
                                      AND x.ledger_at = (p.pos->>0)::timestamptz AND x.ledger_origin = p.pos->>1
                                      AND x.ledger_seq = (p.pos->>2)::bigint
                                    LIMIT 1) e
                              JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                                                           AND d.tier = 'legitimate_interest'
                        )
                        -- (basis: the values as reported, which _passport_derived() adds
                        -- the derived ones to; it shaped them again until 0.26.0)
                        -- (_usage_value(): jsonb_build_object() of these fields, in C; 0.26.0)
                        SELECT jsonb_object_agg(a.key, @extschema@._usage_value(@extschema@._json_num(r.value->a.key),
                                   r.occurred_at, r.event, r.ledger_seq, r.ledger_hash::text, r.leaf_index, 'reported'))
                          FROM @extschema@._usage_state u
                         CROSS JOIN LATERAL jsonb_each(u.latest) p
                          JOIN @extschema@._dynamic_attribute a ON a.key = p.key
                          JOIN r ON r.pos = p.value
                         WHERE u.battery_id OPERATOR(@extschema@.=) battery AND r.value ? a.key),
            'negativeEvents', coalesce((SELECT jsonb_agg(jsonb_build_object('at', e.occurred_at, 'kind', e.data->>'kind')
                                                 ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
                                          FROM @extschema@.battery_event e
                                         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'negative_event'
                                           -- signed in a role the event allows (red team r20, F3: a
                                           -- member without one, bypassing its rules, wrote them)
                                           AND EXISTS (SELECT 1 FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at) sg
                                                         JOIN @extschema@.event_kind ek ON ek.event = e.event AND ek.subject = 'battery'
                                                        WHERE sg.roles && ek.roles)),
                                       '[]'::jsonb));
    END IF;
    IF tests_ok THEN
        -- test reports: restricted values of quality checks disclosed to
        -- authorities, each commitment named by its check alone (0.25.0,
        -- 87_usage_state.sql's header: a check naming another battery's
        -- commitment showed that battery's report as this one's, red team
        -- rt25 Q1; a probe per disclosed check)
        v := v || jsonb_build_object('testReports', (
            SELECT jsonb_agg(d.value->'testReport' ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
              FROM @extschema@.battery_event e
              JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
             WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'quality_checked'
               AND d.tier = 'authority' AND d.value ? 'testReport'
               AND @extschema@._commitment_rows(e.restricted, 2, false) < 2));
    END IF;
    -- values computed from the ledger (recycled content, usage) and registered operators
    RETURN @extschema@._passport_derived(v, battery, usage_ok, made, model);
END $$;

CREATE OR REPLACE FUNCTION @extschema@._performance_at(battery @extschema@.battery_id, co record) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v jsonb;
    src text := 'statusChange';
    at timestamptz := co.occurred_at;
BEGIN
    SELECT d.value INTO v FROM @extschema@.disclosure d
     WHERE d.commitment OPERATOR(@extschema@.=) co.restricted AND d.tier = 'legitimate_interest'
       AND @extschema@._commitment_rows(co.restricted, 2, false) < 2;
    IF v IS NULL THEN
        src := 'lastUsageReport';
        SELECT d.value, e.occurred_at INTO v, at FROM @extschema@.battery_event e
          JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND d.tier = 'legitimate_interest'
           AND (e.ledger_at, e.ledger_origin, e.ledger_seq) < (co.ledger_at, co.ledger_origin, co.ledger_seq)
           -- a commitment another row names too counts for none (0.25.0, 87_usage_state.sql)
           AND @extschema@._commitment_rows(e.restricted, 2, false) < 2
         ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1;
    END IF;
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object('source', src, 'timestamp', at)
        || coalesce((SELECT jsonb_object_agg(a.name, jsonb_build_object('value', v->a.key, 'unit', a.unit))
                       FROM @extschema@._dynamic_attribute a WHERE v ? a.key), '{}');
END $$;

CREATE OR REPLACE FUNCTION @extschema@._usage_contested(battery @extschema@.battery_id) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT FROM @extschema@.battery_event e
                     JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                    WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
                      AND d.tier = 'legitimate_interest'
                      AND @extschema@._commitment_rows(e.restricted, 2, false) = 2)
$$;

CREATE OR REPLACE FUNCTION @extschema@._usage_state_compute(battery @extschema@.battery_id, deep_v numeric, over_v numeric,
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

CREATE OR REPLACE FUNCTION @extschema@._usage_derived_state(battery @extschema@.battery_id, made @extschema@.battery_event,
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

CREATE OR REPLACE FUNCTION @extschema@._usage_state_reported() RETURNS trigger
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

CREATE OR REPLACE FUNCTION @extschema@._usage_state_disclosed() RETURNS trigger
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

CREATE OR REPLACE FUNCTION @extschema@._usage_state_erased() RETURNS trigger
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

CREATE OR REPLACE FUNCTION @extschema@._lot_ledger(lot text)
    RETURNS TABLE (step integer, battery_id @extschema@.battery_id, lot_id text, ledger_at timestamptz,
                   ledger_origin text, ledger_seq bigint, event text, signer text, mass_kg numeric,
                   effective boolean, holder text, offered text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET gin_fuzzy_search_limit = 0 AS $$
BEGIN
    -- (PL/pgSQL: its query planned once per session, not on every call as
    -- an SQL function with a pinned search_path is; writers call it)
    RETURN QUERY
    WITH c AS (SELECT NULL::@extschema@.battery_id AS battery_id, e.lot_id, e.ledger_at, e.ledger_origin, e.ledger_seq,
                 e.event, e.ledger_key_id,
                 (SELECT sum(@extschema@._json_num(i->'mass_kg')) FROM jsonb_array_elements(e.inputs) i WHERE i->>'lot' = lot) AS kg
            FROM @extschema@.lot_event e
           WHERE e.inputs @> jsonb_build_array(jsonb_build_object('lot', lot)) AND jsonb_typeof(e.inputs) = 'array'
          UNION ALL
          SELECT b.battery_id, NULL, b.ledger_at, b.ledger_origin, b.ledger_seq, b.event, b.ledger_key_id,
                 (SELECT sum(@extschema@._json_num(i->'mass_kg')) FROM jsonb_array_elements(b.lots) i WHERE i->>'lot' = lot)
            FROM @extschema@.battery_event b
           WHERE b.lots @> jsonb_build_array(jsonb_build_object('lot', lot)) AND jsonb_typeof(b.lots) = 'array'),
    -- the lot's rows (step 0) and its consumers (1) in registry order, the
    -- lot's rows first on a tie; g: how many lot rows come up to each
    o AS (SELECT 0 AS step, s.ledger_at, s.ledger_origin, s.ledger_seq, s.holder, s.offered,
                 NULL::@extschema@.battery_id AS battery_id, lot AS lot_id, s.event,
                 NULL::@extschema@.hash256 AS ledger_key_id, s.mass_kg AS kg, s.signer, s.effective
            FROM @extschema@._lot_custody_steps(lot) s
          UNION ALL
          SELECT 1, c.ledger_at, c.ledger_origin, c.ledger_seq, NULL, NULL,
                 c.battery_id, c.lot_id, c.event, c.ledger_key_id, c.kg, NULL, NULL
            FROM c),
    g AS (SELECT o.*, count(*) FILTER (WHERE o.step = 0)
                          OVER (ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.step ROWS UNBOUNDED PRECEDING) AS n
            FROM o),
    -- each consumer gets the custody after the last lot row before it
    h AS (SELECT g.*, first_value(g.holder) OVER w AS h_holder, first_value(g.offered) OVER w AS h_offered
            FROM g WINDOW w AS (PARTITION BY g.n ORDER BY g.step, g.ledger_at, g.ledger_origin, g.ledger_seq))
    SELECT h.step, h.battery_id, h.lot_id, h.ledger_at, h.ledger_origin, h.ledger_seq, h.event,
           CASE WHEN h.step = 0 THEN h.signer ELSE k.member END, h.kg,
           CASE WHEN h.step = 0 THEN h.effective
                ELSE k.member IS NOT NULL AND k.member = h.h_holder AND h.h_offered IS NULL END,
           h.holder, h.offered
      FROM h
      LEFT JOIN LATERAL (SELECT x.member FROM @extschema@.keys x
                          WHERE h.step = 1 AND x.key_id OPERATOR(@extschema@.=) h.ledger_key_id OFFSET 0) k ON true
     ORDER BY h.ledger_at, h.ledger_origin, h.ledger_seq, h.step;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._second_life_claims(battery @extschema@.battery_id)
    RETURNS TABLE (claim text, id text, confirmed boolean, race boolean, maker text,
                   ledger_at timestamptz, ledger_origin text, ledger_seq bigint)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET gin_fuzzy_search_limit = 0 AS $$
DECLARE
    m @extschema@.battery_event;
    x text;
    b @extschema@.battery_id;
    c record;
    k @extschema@.battery_event;
BEGIN
    -- most batteries claim nothing: no fold for them (passports call this).
    -- The battery's manufactured rows by its own index, then their data
    -- (OFFSET 0 keeps the test out of the scan): offered the data test, the
    -- planner could AND in the second-life GIN index, whose "data IS NOT
    -- NULL" part reads an entry for every battery of the registry (it did at
    -- 2,000 batteries: 0.4 ms a call, twice a passport; at 20,000 it chose
    -- otherwise; issue 15)
    IF NOT EXISTS (SELECT 1 FROM (SELECT e.data FROM @extschema@.battery_event e
                                   WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
                                  OFFSET 0) made
                    WHERE made.data ? 'predecessors' OR made.data ? 'components') THEN
        RETURN;
    END IF;
    m := @extschema@._effective_manufacture(battery);
    IF m.battery_id IS NULL OR m.data IS NULL THEN
        RETURN;
    END IF;
    maker := (@extschema@._signer(m.ledger_key_id)).member;
    ledger_at := m.ledger_at; ledger_origin := m.ledger_origin; ledger_seq := m.ledger_seq;
    IF jsonb_typeof(m.data->'predecessors') = 'array' THEN
        FOR x IN SELECT DISTINCT p #>> '{}' FROM jsonb_array_elements(m.data->'predecessors') p LOOP
            claim := 'predecessor'; id := x; race := false;
            b := @extschema@._battery_id_or_null(x);
            SELECT * INTO c FROM @extschema@._battery_consumption(b);
            -- (two chains: compared by (ledger_at, ledger_origin) alone, see _held_before)
            confirmed := coalesce(b IS NOT NULL AND c.successor = battery::text AND c.signer = maker
                                  AND (c.ledger_at, c.ledger_origin) < (m.ledger_at, m.ledger_origin), false);
            IF NOT confirmed THEN
                -- lost a race no single member could see: the maker's own consumption
                -- into this battery, written before custody, judged ineffective
                race := EXISTS (SELECT 1 FROM @extschema@.battery_lifecycle(b) l
                                  JOIN @extschema@.battery_event e ON e.battery_id OPERATOR(@extschema@.=) b
                                   AND e.ledger_origin = l.ledger_origin AND e.ledger_seq = l.ledger_seq
                                 WHERE NOT l.effective AND NOT l.custody AND l.signer = maker
                                   AND e.data->>'successor' = battery::text);
            END IF;
            RETURN NEXT;
        END LOOP;
    END IF;
    IF jsonb_typeof(m.data->'components') = 'array' THEN
        FOR x IN SELECT DISTINCT p #>> '{}' FROM jsonb_array_elements(m.data->'components') p LOOP
            claim := 'component'; id := x; race := m.ledger_at < @extschema@._custody_from();
            b := @extschema@._battery_id_or_null(x);
            confirmed := coalesce(b IS NOT NULL AND NOT b OPERATOR(@extschema@.=) battery
                                  AND @extschema@._held_before(b, maker, m.ledger_at, m.ledger_origin), false);
            IF confirmed THEN
                -- in no earlier pack whose maker held it then
                FOR k IN SELECT e.* FROM @extschema@.battery_event e
                          WHERE e.event = 'manufactured' AND e.data @> jsonb_build_object('components', jsonb_build_array(x))
                            AND NOT e.battery_id OPERATOR(@extschema@.=) battery
                            -- the first claim wins; ties (one statement) broken by battery id,
                            -- in battery_id's own order (bytes): as text it took the
                            -- database's collation, and members with other locales
                            -- confirmed another pack
                            AND ((e.ledger_at, e.ledger_origin) < (m.ledger_at, m.ledger_origin)
                                 OR ((e.ledger_at, e.ledger_origin) = (m.ledger_at, m.ledger_origin)
                                     AND e.battery_id OPERATOR(@extschema@.<) battery))
                          ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LOOP
                    IF (@extschema@._effective_manufacture(k.battery_id)).ledger_hash OPERATOR(@extschema@.=) k.ledger_hash
                       AND @extschema@._held_before(b, (@extschema@._signer(k.ledger_key_id)).member, k.ledger_at, k.ledger_origin) THEN
                        confirmed := false;
                        EXIT;
                    END IF;
                END LOOP;
            END IF;
            RETURN NEXT;
        END LOOP;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._check_second_life(n @extschema@.battery_event, member text) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET gin_fuzzy_search_limit = 0 AS $$
DECLARE
    what text;
    list jsonb;
    x text;
    b @extschema@.battery_id;
    c record;
    st record;
    k @extschema@.battery_id;
    here text := coalesce(current_setting('battledger.origin', true), '');   -- this member's ledger_origin
BEGIN
    FOREACH what IN ARRAY ARRAY['predecessors', 'components'] LOOP
        list := n.data->what;
        CONTINUE WHEN list IS NULL;
        IF jsonb_typeof(list) <> 'array' OR jsonb_array_length(list) = 0
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(list) p
                       WHERE jsonb_typeof(p) <> 'string'
                          OR @extschema@._battery_id_or_null(p #>> '{}') IS NULL
                          OR @extschema@._battery_id_or_null(p #>> '{}')::text <> p #>> '{}')
           OR (SELECT count(DISTINCT p) <> count(*) FROM jsonb_array_elements(list) p) THEN
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL031', format('malformed %s of battery %s', what, n.battery_id),
                format('"%s" must be a non-empty array of distinct battery identifiers in canonical form.', what),
                'e.g. ["gs1:01/09521234567899/21/B0025"]');
            RETURN false;
        END IF;
        IF list ? n.battery_id::text THEN
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL031', format('battery %s cannot be one of its own %s', n.battery_id, what));
            RETURN false;
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements_text(n.data->'components') p WHERE n.data->'predecessors' ? p) THEN
        PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL031', 'a battery cannot be both a predecessor and a component',
            hint => 'A predecessor is consumed whole (repurposing); a component is built in by its holder.');
        RETURN false;
    END IF;
    -- lock every named battery, in one order, so two writers cannot deadlock
    PERFORM @extschema@._lock_subject('battery', p) FROM (
        SELECT DISTINCT p FROM (SELECT jsonb_array_elements_text(n.data->'predecessors') p
                                UNION ALL SELECT jsonb_array_elements_text(n.data->'components')) y ORDER BY 1) z;
    FOR x IN SELECT jsonb_array_elements_text(n.data->'predecessors') LOOP
        b := x::@extschema@.battery_id;
        SELECT * INTO c FROM @extschema@._battery_consumption(b);
        IF c.successor IS NOT DISTINCT FROM n.battery_id::text AND c.signer IS NOT DISTINCT FROM member
           AND NOT (c.ledger_at, c.ledger_origin) < (statement_timestamp(), here) THEN
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL036', format('the consumption of battery %s does not precede this manufacture', b),
                format('It is dated %s; registry order must put it before the successor''s manufacture on every member.', c.ledger_at),
                'Write the consumption and the manufacture in separate statements; check the server''s clock (NTP).');
            RETURN false;
        END IF;
        IF c.successor IS DISTINCT FROM n.battery_id::text OR c.signer IS DISTINCT FROM member THEN
            SELECT * INTO st FROM @extschema@.battery_state(b);
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL043', format('battery %s was not consumed into battery %s by member "%s"', b, n.battery_id, member),
                CASE WHEN NOT st.manufactured THEN 'It is not in the registry.'
                     WHEN c.successor IS NOT NULL THEN format('It was %s into battery %s by "%s".', c.new_status, c.successor, c.signer)
                     ELSE format('Its status is %s; its custodian is %s.', coalesce(st.status, 'none (not on the market)'),
                                 coalesce('"' || st.custodian || '"', 'nobody (a handover is pending)')) END,
                format('Its holder records "status_changed" into repurposed or remanufactured with data {"successor": "%s"} first.', n.battery_id));
            RETURN false;
        END IF;
    END LOOP;
    FOR x IN SELECT jsonb_array_elements_text(n.data->'components') LOOP
        b := x::@extschema@.battery_id;
        SELECT * INTO st FROM @extschema@.battery_state(b);
        IF NOT st.manufactured THEN
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL036', format('component %s is not in the registry', b),
                hint => 'Its maker records its "manufactured" event first.');
            RETURN false;
        ELSIF st.custodian IS DISTINCT FROM member THEN
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL043', format('member "%s" does not hold component %s', member, b),
                format('Its custodian is %s.', coalesce('"' || st.custodian || '"', 'nobody (a handover is pending)')),
                'Its holder hands it over ("handover") and the pack''s maker accepts it first.');
            RETURN false;
        ELSIF EXISTS (SELECT 1 FROM @extschema@.battery_lifecycle(b) l
                       WHERE NOT (l.ledger_at, l.ledger_origin) < (statement_timestamp(), here)) THEN
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL036', format('the history of component %s does not precede this manufacture', b),
                'Registry order must put the component''s manufacture and custody before the pack''s on every member.',
                'Write them in separate statements; check the server''s clock (NTP).');
            RETURN false;
        END IF;
        SELECT e.battery_id INTO k FROM @extschema@.battery_event e
         WHERE e.event = 'manufactured' AND e.data @> jsonb_build_object('components', jsonb_build_array(x))
           AND EXISTS (SELECT 1 FROM @extschema@._second_life_claims(e.battery_id) cl WHERE cl.claim = 'component' AND cl.id = x AND cl.confirmed)
         LIMIT 1;
        IF k IS NOT NULL THEN
            PERFORM @extschema@._refuse_row(n, '@extschema@.battery_event'::regclass, 'BL036', format('component %s is already part of battery %s', b, k));
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.consortium_status()
    RETURNS TABLE (member text, subscription name, enabled boolean, received_lsn pg_lsn,
                   last_message timestamptz, apply_errors bigint, their_lag_bytes numeric,
                   checkpoint_size bigint,
                   checkpoint_verified_at timestamptz, state text, reason text, rejected bigint,
                   cosigned_by_me bigint, my_latest_cosigned_by_them bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT m.origin, m.subscription, s.subenabled, st.received_lsn, st.last_msg_receipt_time,
           coalesce(ss.apply_error_count, 0) + coalesce(ss.sync_error_count, 0),
           -- how far the member is behind this member's WAL, from its slot here
           (SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.confirmed_flush_lsn)
              FROM pg_catalog.pg_replication_slots r
             WHERE r.slot_name = @extschema@._slot_name(m.origin, pg_catalog.current_setting('battledger.origin', true))),
           pc.tree_size, pc.verified_at,
           f.state,
           -- this database's own triggers that fire on the member's rows
           -- before they are stored, named whatever the state: an initplan
           -- (once per call, not per member), in the target list, not one
           -- more lateral join (each join the planner orders costs every
           -- call its time: the status is planned on every call)
           pg_catalog.concat_ws(' ',
           CASE WHEN (SELECT @extschema@._arrival_triggers()) ->> s.oid::text IS NULL THEN f.reason
                ELSE pg_catalog.concat_ws(' ', f.reason, pg_catalog.format(
               'This database''s own triggers fire on the member''s rows before they are stored (BEFORE INSERT row triggers enabled ALWAYS or REPLICA, pg_trigger): %s. They can drop rows here (the member then looks "rows missing") or change them (refused as the member''s): check them before suspecting the member.',
               (SELECT @extschema@._arrival_triggers()) ->> s.oid::text)) END,
           -- streaming = parallel (PostgreSQL 16+; 18's default, so a
           -- subscription join() of 0.24.0 made there has it): a large
           -- transaction's rows are applied before the member's earlier
           -- commits are, and the seal rule of verify_member() and the
           -- order-dependent folds can see them out of order (0.25.0).
           -- substream is boolean on 15, "char" (f, t, p) on 16+: as text,
           -- 'p' only there
           CASE WHEN s.substream::text = 'p' THEN pg_catalog.format(
               'The subscription applies large transactions in parallel (streaming = parallel, PostgreSQL 18''s default): their rows can be applied before transactions the member committed earlier, and verify_member() can then report rows of them "in no leaf" falsely. Run ALTER SUBSCRIPTION %I SET (streaming = on).',
               m.subscription) END),
           (SELECT count(*) FROM @extschema@.rejections r WHERE r.origin = m.origin),
           (SELECT max(c.tree_size) FROM @extschema@.cosignature c
             WHERE c.log_origin = m.origin AND c.witness = pg_catalog.current_setting('battledger.origin', true)),
           -- of a checkpoint this log signed only (red team r21 F1, health())
           (SELECT max(c.tree_size) FROM @extschema@.cosignature c
              JOIN @extschema@.checkpoint k ON k.tree_size = c.tree_size AND k.root OPERATOR(@extschema@.=) c.root
             WHERE c.log_origin = pg_catalog.current_setting('battledger.origin', true) AND c.witness = m.origin)
      FROM @extschema@.consortium_member m
      LEFT JOIN pg_subscription s ON s.subname = m.subscription AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      -- the apply worker: no table (a table-sync worker names one) and, on
      -- PostgreSQL 16+, no leader (a parallel apply worker names its
      -- leader's pid in leader_pid, a column 15 lacks: read from the row as
      -- json, NULL there), so that a parallel one adds no second line
      LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL
                                        AND (pg_catalog.to_jsonb(st) ->> 'leader_pid') IS NULL
      LEFT JOIN pg_stat_subscription_stats ss ON ss.subid = s.oid
      -- tables not copied yet; of them, those copied (state f, the copy
      -- committed, the catch-up due) whose table-sync worker has not run
      -- for 10 s: PostgreSQL's sync worker drops its slot at the member
      -- before it commits the table's next state here, and a stop in
      -- between leaves the table in state f with no slot to catch up from;
      -- each relaunch of its worker then fails at once ("replication slot
      -- "pg_..._sync_..." does not exist"), outside the code that counts
      -- errors in pg_stat_subscription_stats, and lives a moment (red team
      -- r26 C1).  A worker copying or catching up runs on, and state f
      -- lasts no longer than the catch-up does; a worker that has run 10 s
      -- is not one failing at its start.
      LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE r.srsubstate <> 'r') AS copying,
                                count(*) FILTER (WHERE r.srsubstate = 'f' AND NOT EXISTS (
                                    SELECT 1 FROM pg_catalog.pg_stat_subscription w, pg_catalog.pg_stat_get_activity(w.pid) a
                                     WHERE w.subid = s.oid AND w.relid = r.srrelid AND a.pid = w.pid
                                       AND a.backend_start < pg_catalog.now() - interval '10 s')) AS stuck,
                                pg_catalog.string_agg(r.srrelid::pg_catalog.regclass::text, ', ' ORDER BY r.srrelid::pg_catalog.regclass::text)
                                    FILTER (WHERE r.srsubstate = 'f' AND NOT EXISTS (
                                    SELECT 1 FROM pg_catalog.pg_stat_subscription w, pg_catalog.pg_stat_get_activity(w.pid) a
                                     WHERE w.subid = s.oid AND w.relid = r.srrelid AND a.pid = w.pid
                                       AND a.backend_start < pg_catalog.now() - interval '10 s')) AS stuck_tables
                           FROM pg_subscription_rel r WHERE r.srsubid = s.oid) sr ON true
      LEFT JOIN LATERAL (SELECT a.backend_start AS started,
                                GREATEST(3 * pg_catalog.current_setting('wal_retrieve_retry_interval')::interval,
                                         interval '30 s') AS win
                           -- one backend's line, not the pg_stat_activity view's every
                           -- line per member; a NULL pid would ask for all of them
                           FROM (SELECT st.pid WHERE st.pid IS NOT NULL) w,
                                LATERAL pg_catalog.pg_stat_get_activity(w.pid) a WHERE a.pid = w.pid) wk ON true
      LEFT JOIN LATERAL (SELECT p.tree_size, p.verified_at FROM @extschema@.peer_checkpoint p
                          WHERE p.origin = m.origin ORDER BY p.tree_size DESC LIMIT 1) pc ON true
      -- the member's slot here: what it confirmed having received from this
      -- server.  Past this server's WAL, this server went back in time (a
      -- file-system backup or snapshot restored, slots included): the
      -- member holds rows of this log this server lost, and its walsender
      -- skips every transaction written here until the WAL passes that
      -- point, while the member's own status says "ok" (f23)
      LEFT JOIN LATERAL (SELECT r.confirmed_flush_lsn AS confirmed, pg_catalog.pg_current_wal_lsn() AS wal
                           FROM pg_catalog.pg_replication_slots r
                          WHERE r.slot_name = @extschema@._slot_name(m.origin, pg_catalog.current_setting('battledger.origin', true))
                            -- (a standby has no WAL position of its own)
                            AND r.confirmed_flush_lsn > CASE WHEN NOT pg_catalog.pg_is_in_recovery()
                                                             THEN pg_catalog.pg_current_wal_lsn() END) rw ON true
      -- (each evaluated once per member: a lateral on the nullable side of
      -- an outer join, so its values are placeholders, not expressions
      -- copied into each use; the key lists are read as the peer's triggers
      -- read them)
      LEFT JOIN LATERAL (SELECT @extschema@._lock_wait_reason(s.oid) AS reason,
                                @extschema@._copy_wait_reason(s.oid) AS copy_wait,
                                @extschema@._log_keys_problem(m.log_vkey, m.origin) AS log_keys,
                                @extschema@._witness_keys_problem(m.witness_vkey, m.origin) AS witness_keys) lw ON true
      -- (0.26.0) whom the apply workers run as: a stored setting of role or
      -- session_authorization for this database (its owner may ALTER
      -- DATABASE SET either without being a superuser), for the
      -- subscription's owner, or for both; PostgreSQL's apply worker takes
      -- it at its start and, on 15, applies every row as that role, which
      -- may not write battledger's tables: every row refused, only the
      -- server log saying why (red team rt26 R1).  Per setting the one
      -- that wins, as PostgreSQL applies them (role in database, role,
      -- database, all: rt26b S4); a superuser or the owner itself harms
      -- nothing (S5); each with the statement that removes it (S3)
      LEFT JOIN LATERAL (SELECT pg_catalog.string_agg(pg_catalog.format('%s=%s (%s)', e.name, e.value, e.reset), '; ' ORDER BY e.name) AS settings
                           FROM (SELECT DISTINCT ON (c.name) c.name, c.value,
                                        CASE WHEN d.setrole = 0 AND d.setdatabase = 0 THEN pg_catalog.format('ALTER ROLE ALL RESET %s', c.name)
                                             WHEN d.setrole = 0 THEN pg_catalog.format('ALTER DATABASE %I RESET %s', pg_catalog.current_database(), c.name)
                                             WHEN d.setdatabase = 0 THEN pg_catalog.format('ALTER ROLE %I RESET %s', pg_catalog.pg_get_userbyid(d.setrole), c.name)
                                             ELSE pg_catalog.format('ALTER ROLE %I IN DATABASE %I RESET %s', pg_catalog.pg_get_userbyid(d.setrole),
                                                                    pg_catalog.current_database(), c.name) END AS reset
                                   FROM pg_catalog.pg_db_role_setting d,
                                        LATERAL (SELECT pg_catalog.lower(pg_catalog.split_part(x.cfg, '=', 1)) AS name,
                                                        pg_catalog.substr(x.cfg, pg_catalog.strpos(x.cfg, '=') + 1) AS value
                                                   FROM pg_catalog.unnest(d.setconfig) x(cfg)) c
                                  WHERE s.oid IS NOT NULL
                                    AND d.setdatabase IN (0, s.subdbid) AND d.setrole IN (0, s.subowner)
                                    AND c.name IN ('role', 'session_authorization')
                                  ORDER BY c.name, d.setrole <> 0 DESC, d.setdatabase <> 0 DESC) e
                          WHERE e.value NOT IN ('none', pg_catalog.pg_get_userbyid(s.subowner))
                            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = e.value AND r.rolsuper)) ra ON true
      -- leaves stored past the last checkpoint verified here (peer_leaf's
      -- primary key, an empty range while the member seals): a member's
      -- leaves and the checkpoint that signs them come in one transaction,
      -- so leaves alone, for longer than battledger.unsealed_after, are a
      -- log that nothing here verifies (its checkpoint table left its
      -- publication, or its superuser wrote leaves without one)
      -- (the first and last by two probes of that key, not a count: a
      -- member flooding leaves it never seals must not make each call
      -- walk them)
      LEFT JOIN LATERAL (SELECT min(p.leaf_index) AS first, max(p.leaf_index) AS last
                           FROM @extschema@.peer_leaf p
                          WHERE p.origin = m.origin AND p.leaf_index >= coalesce(pc.tree_size, 0)) uv ON true
      -- what arrived, table by table (peer_arrival: a row per table per
      -- member, read by its primary key): leaves naming rows that never
      -- came, and rows no leaf has named for longer than
      -- battledger.unsealed_after; the tables are named in the reasons
      -- below, three at most, read only when the state holds
      LEFT JOIN LATERAL (SELECT
               count(*) FILTER (WHERE a.leaves_received > a.rows_received) AS missing_tables,
               sum(a.leaves_received - a.rows_received) FILTER (WHERE a.leaves_received > a.rows_received) AS missing_rows,
               count(*) FILTER (WHERE a.rows_received > a.leaves_received AND a.unsealed_since < pg_catalog.now() - u.after) AS unsealed_tables,
               sum(a.rows_received - a.leaves_received)
                   FILTER (WHERE a.rows_received > a.leaves_received AND a.unsealed_since < pg_catalog.now() - u.after) AS unsealed_rows,
               min(a.unsealed_since)
                   FILTER (WHERE a.rows_received > a.leaves_received AND a.unsealed_since < pg_catalog.now() - u.after) AS unsealed_since,
               min(u.after) AS after
          FROM (SELECT coalesce(pg_catalog.current_setting('battledger.unsealed_after', true), '600')::interval AS after) u,
               @extschema@.peer_arrival a
         WHERE a.origin = m.origin) ar ON true
      CROSS JOIN LATERAL (SELECT * FROM (VALUES
           -- first: a fault of this server, whatever its subscription to
           -- the member says (f23)
           (0, rw.confirmed IS NOT NULL, 'rewound',
               pg_catalog.format('The member confirmed receiving this server''s WAL up to %s (its slot %s here), past this server''s WAL (%s): this server was restored from a backup or snapshot taken before. '
                                 'The member holds rows and checkpoints of this log that this server lost, and skips whatever is written here until the WAL passes %s: stop writing and sealing, and see docs/consortium.md, "A member restored from a backup".',
                                 rw.confirmed, @extschema@._slot_name(m.origin, pg_catalog.current_setting('battledger.origin', true)), rw.wal, rw.confirmed)),
           (1, s.oid IS NULL, 'no subscription', 'Run the CREATE SUBSCRIPTION that battledger.join() returned.'),
           (2, EXISTS (SELECT 1 FROM @extschema@.log_conflict c WHERE c.origin = m.origin), 'log conflict',
               'The member published a checkpoint (or, with new_note NULL, a leaf) that contradicts one verified before: see battledger.log_conflict.'),
           -- keys the peer's checkpoint trigger cannot read (written by
           -- hand): every checkpoint of the member is refused, and the
           -- apply errors alone would not say why (red team r17k F5)
           (3, lw.log_keys IS NOT NULL, 'bad log keys',
               pg_catalog.format('The log keys pinned for the member (battledger.consortium_member.log_vkey) are not usable: %s. '
                                 'While the list breaks a rule every checkpoint from the member is refused (a weak key: those it signed): put back the keys join() and repin_log_key() pinned, oldest first.',
                                 lw.log_keys)),
           -- the same for its witness keys (0.18.0): each cosignature from
           -- the member is refused, and its subscription stopped, which
           -- alone said only "stopped"
           (4, lw.witness_keys IS NOT NULL, 'bad witness keys',
               pg_catalog.format('The witness keys pinned for the member (battledger.consortium_member.witness_vkey) are not usable: %s. '
                                 'While the list breaks a rule every cosignature from the member is refused (a weak key: those it signed) and its subscription stopped: put back the keys join() and repin_witness_key() pinned, oldest first, then ALTER SUBSCRIPTION %I ENABLE.',
                                 lw.witness_keys, m.subscription)),
           -- (0.26.0) before "stopped" and "failing", which it causes (on 16
           -- and later too: the apply worker, running as that role, cannot
           -- switch to a table's owner it may not SET ROLE to)
           (4.5, ra.settings IS NOT NULL, 'runs as another role',
               pg_catalog.format('This database''s stored settings make the apply workers of subscription %I start as another role: %s; %s counted. '
                                 'Rows applied as that role are refused ("permission denied" in the server log), whoever owns the subscription. '
                                 'Reset the setting as a superuser with the statement in brackets; the apply worker takes it at its next start (ALTER SUBSCRIPTION %I DISABLE, then ENABLE, restarts it at once).',
                                 m.subscription, ra.settings, @extschema@._counted(ss.apply_error_count, 'apply error', 'apply errors'), m.subscription)),
           -- the member's last refusal, read only when stopped; a
           -- cosignature dated ahead (0.18.0) is named with its recovery
           (5, NOT s.subenabled, 'stopped',
               CASE WHEN NOT s.subenabled THEN coalesce(
                   (SELECT CASE r.problem
                             WHEN 'cosignature_ahead' THEN pg_catalog.format(
                                 'A cosignature from the member was refused: it is dated ahead of this member''s clock by more than battledger.max_clock_ahead (%s; battledger.rejections). '
                                 'If the member''s clock runs ahead, have it corrected: ALTER SUBSCRIPTION %I ENABLE retries the cosignature, accepted once this clock is within the bound of its date. '
                                 'One dated far ahead on purpose never will be: drop its remote transaction with ALTER SUBSCRIPTION %I SKIP (lsn = the "finished at" LSN of the error in the server log), then ENABLE.',
                                 coalesce(pg_catalog.current_setting('battledger.max_clock_ahead', true), '600'), m.subscription, m.subscription)
                             -- the table and problem: a checkpoint or a cosignature
                             -- refused was "a row" too (ops20)
                             ELSE pg_catalog.format('A row of %s from the member was refused (%s): see battledger.rejections.',
                                                    r.tbl, r.problem) END
                      FROM @extschema@.rejections r WHERE r.origin = m.origin ORDER BY r.at DESC LIMIT 1),
                   'The subscription is disabled.') END),
           -- no apply worker: nothing moves, a copy included (the apply
           -- worker starts the table copies and marks them done), so these
           -- come before "copying", which a member stopped or cut off in the
           -- middle of its join's copy would otherwise show for ever
           (6, st.pid IS NULL AND coalesce(ss.apply_error_count, 0) > 0, 'failing',
               pg_catalog.format('No apply worker runs; %s (the member down, its slot lost, or a row refused: server log).%s',
                                 @extschema@._counted(ss.apply_error_count, 'apply error', 'apply errors'),
                                 CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s not copied yet.', @extschema@._counted(sr.copying, 'table', 'tables')) ELSE '' END)),
           (7, st.pid IS NULL, 'not connected',
               'No apply worker runs for the subscription (the member down or unreachable, or its slot there lost: server log).'
               || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s not copied yet.', @extschema@._counted(sr.copying, 'table', 'tables')) ELSE '' END),
           (8, lw.reason IS NOT NULL, 'blocked',
               lw.reason || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s not copied yet.', @extschema@._counted(sr.copying, 'table', 'tables')) ELSE '' END),
           -- (0.24.0) no table-sync worker can start (above): before
           -- "copy failing", whose errors counted may be old ones, and whose
           -- table in state f cannot catch up either without a worker
           (9, st.pid IS NOT NULL AND lw.copy_wait IS NOT NULL, 'copy waiting', lw.copy_wait),
           -- copy errors counted, or (0.23.0) a table copied whose
           -- catch-up cannot start (above), once the apply worker has run
           -- longer than the window of rank 14 (a restart relaunches the
           -- sync workers within wal_retrieve_retry_interval): before,
           -- "copying" for ever (red team r26 C1)
           (10, sr.copying > 0 AND (coalesce(ss.sync_error_count, 0) > 0
                                   OR (sr.stuck > 0 AND wk.started < pg_catalog.now() - wk.win)), 'copy failing',
               CASE WHEN sr.stuck > 0 AND wk.started < pg_catalog.now() - wk.win THEN pg_catalog.format(
                   '%s not copied yet. The copy of %s is done but its catch-up never starts: no table-sync worker has run 10 s for it while the apply worker has run %s s '
                   '(its worker fails at each start, likely on its slot at the member: "replication slot "pg_%s_sync_..." does not exist" in the server log, '
                   'a slot PostgreSQL drops before it commits the table''s state here, so a stop in between leaves the copy unable to finish). '
                   'It does not end by itself: ALTER SUBSCRIPTION %I DISABLE, then SELECT battledger.recopy_table(%L, %L) copies it again (one call per table named), '
                   'or join again (docs/consortium.md, "A join''s copy that stopped").',
                   @extschema@._counted(sr.copying, 'table', 'tables'), sr.stuck_tables,
                   pg_catalog.round(extract(epoch FROM pg_catalog.now() - wk.started)), s.oid,
                   m.subscription, m.origin, pg_catalog.split_part(sr.stuck_tables, ', ', 1))
               -- (0.24.0) the limits that fail a sync worker at its start
               -- named: at the member each needs a WAL sender and a slot,
               -- here a replication origin; PostgreSQL counts the error
               -- and relaunches the worker, so raising one is the way out
               ELSE pg_catalog.format('%s not copied yet; %s (server log). One cause: a limit reached as a table-sync worker starts, at the member its max_wal_senders or max_replication_slots '
                                      '("number of requested standby connections exceeds max_wal_senders", "all replication slots are in use"), here max_replication_slots, which bounds the replication origins '
                                      '("could not find free replication state slot"): raise it (a restart) and the copy starts again by itself.',
                                      @extschema@._counted(sr.copying, 'table', 'tables'),
                                      @extschema@._counted(ss.sync_error_count, 'copy error', 'copy errors')) END),
           (11, sr.copying > 0, 'copying', pg_catalog.format('%s not copied yet.', @extschema@._counted(sr.copying, 'table', 'tables'))),
           (12, st.received_lsn IS NULL OR st.last_msg_receipt_time
                   < pg_catalog.now() - 2 * NULLIF(pg_catalog.current_setting('wal_receiver_timeout'), '0')::interval, 'silent',
               'The apply worker has heard nothing from the member for twice wal_receiver_timeout.'),
           -- a quarantine the DBA closed (close_quarantine(): rows that can
           -- never be stored, kept as evidence) is not counted, so that the
           -- member is not "quarantined" for good (ops21); a release that
           -- left rows held names the first and the way out
           (13, EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin AND q.closed_at IS NULL), 'quarantined',
               CASE WHEN EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin AND q.closed_at IS NULL) THEN
               (SELECT pg_catalog.concat_ws(' ',
                       pg_catalog.format('%s held back, %s held: see battledger.quarantine and battledger.held_row; battledger.release_chain() stores what extends the chain once the member has repaired it.',
                                         @extschema@._counted(count(*), 'chain', 'chains'), @extschema@._counted(sum(x.held), 'row', 'rows')),
                       -- the held row's chain key and problem (release_chain()'s
                       -- SQLERRM, which can quote a value) are its data: said
                       -- only to a caller who may read held_row; a pg_monitor
                       -- role gets the table and position (red team r22, S4)
                       (SELECT pg_catalog.format('Its last release could not store %s (the first: %s, %sposition %s%s). '
                                                 'Rows the member cannot repair (a forged row: its later rows link to it) never will be: '
                                                 'SELECT battledger.close_quarantine(%L, %L, %L) keeps them held for good, as evidence, and stops counting the member not ok (docs/consortium.md, "A quarantine that cannot be released").',
                                                 @extschema@._counted(f.n, 'row', 'rows'), f.tbl,
                                                 CASE WHEN f.readable THEN pg_catalog.format('chain %s, ', coalesce(f.chain_key, '(none)'))
                                                      WHEN f.quarantined_key IS NOT NULL THEN pg_catalog.format('chain %s, ', f.quarantined_key)
                                                      ELSE '' END,
                                                 f.seq,
                                                 CASE WHEN f.readable THEN ': ' || f.problem ELSE ': battledger.held_row says why' END,
                                                 m.origin, f.tbl, f.quarantined_key)
                          FROM (SELECT h.tbl, h.chain_key, h.seq, h.problem, q.chain_key AS quarantined_key, count(*) OVER () AS n,
                                       pg_catalog.has_table_privilege(session_user, '@extschema@.held_row', 'SELECT') AS readable
                                  FROM @extschema@.quarantine q
                                  JOIN @extschema@.held_row h
                                    ON h.origin = q.origin AND h.tbl = q.tbl AND (q.chain_key IS NULL OR h.chain_key = q.chain_key)
                                 WHERE q.origin = m.origin AND q.closed_at IS NULL AND h.problem IS NOT NULL
                                 ORDER BY h.tbl, h.chain_key, h.seq, h.held_at LIMIT 1) f))
                  FROM @extschema@.quarantine q
                  LEFT JOIN LATERAL (SELECT count(*) AS held FROM @extschema@.held_row h
                                      WHERE h.origin = q.origin AND h.tbl = q.tbl
                                        AND (q.chain_key IS NULL OR h.chain_key = q.chain_key)) x ON true
                 WHERE q.origin = m.origin AND q.closed_at IS NULL) END),
           -- a worker that errors in a loop (a replicated column missing
           -- here, its slot there gone after START_REPLICATION, any error
           -- the arrival checks do not see) is relaunched every
           -- wal_retrieve_retry_interval and lives for a moment each time:
           -- while it lives it looks like a working one.  The errors have no
           -- time, but the worker's start has (pg_stat_activity): errors
           -- counted and a worker younger than the window is "failing" until
           -- it has run that long without dying.  The window (three retry
           -- intervals, at least 30 s) outlives the loop's period; a member
           -- that merely restarted shows "failing" for that long after.  An
           -- owner who may not see the worker's start (no pg_read_all_stats;
           -- since 0.19.0 the function runs as the owner, not the caller)
           -- cannot tell: "failing" too, rather than an "ok" not read.  Last
           -- before "ok": a subscription resumed after a refusal counted one
           -- error, and its quarantine, when it has one, says more.
           (14, st.pid IS NOT NULL AND coalesce(ss.apply_error_count, 0) > 0
               AND coalesce(wk.started > pg_catalog.now() - wk.win, true), 'failing',
               CASE WHEN wk.started IS NULL
                    THEN pg_catalog.format('%s, and the apply worker''s start is not visible to this role (pg_read_all_stats): it may be restarting in a loop (server log).',
                                           @extschema@._counted(ss.apply_error_count, 'apply error', 'apply errors'))
                    ELSE pg_catalog.format('The apply worker started %s s ago, after %s: if it errors again it is restarting in a loop (server log); this clears once it has run %s s.',
                                           pg_catalog.round(extract(epoch FROM pg_catalog.now() - wk.started)),
                                           @extschema@._counted(ss.apply_error_count, 'apply error', 'apply errors'),
                                           pg_catalog.round(extract(epoch FROM wk.win))) END),
           -- last, so that none of the states above is hidden: the member's
           -- log names rows of a table that never arrived (the table left its
           -- publication, or a row filter leaves rows out); leaves arrive
           -- after their rows (commit order), so this is no transient
           (15, ar.missing_tables > 0, 'rows missing',
               CASE WHEN ar.missing_tables > 0 THEN pg_catalog.format(
                   '%s the member''s log names never arrived here: %s%s. Is the table still in the member''s publication battledger_member (pg_publication_tables there)? battledger.verify_member(%L) lists them.',
                   @extschema@._counted(ar.missing_rows, 'row', 'rows'),
                   (SELECT pg_catalog.string_agg(pg_catalog.format('%s: %s, %s received (last row %s, last leaf %s)',
                                                                   a.tbl, @extschema@._counted(a.leaves_received, 'leaf', 'leaves'),
                                                                   @extschema@._counted(a.rows_received, 'row', 'rows'),
                                                                   coalesce(a.last_row_at::text, 'not counted'),
                                                                   coalesce(a.last_leaf_at::text, 'not counted')), '; ' ORDER BY a.tbl)
                      FROM (SELECT * FROM @extschema@.peer_arrival a WHERE a.origin = m.origin AND a.leaves_received > a.rows_received
                             ORDER BY a.tbl LIMIT 3) a),
                   CASE WHEN ar.missing_tables > 3 THEN pg_catalog.format(' and %s more', @extschema@._counted(ar.missing_tables - 3, 'table', 'tables')) ELSE '' END,
                   m.origin) END),
           -- rows arrive before the checkpoint that seals them: only rows
           -- waiting longer than battledger.unsealed_after say the member
           -- stopped sealing
           (16, ar.unsealed_tables > 0, 'unsealed',
               CASE WHEN ar.unsealed_tables > 0 THEN pg_catalog.format(
                   '%s received from the member (%s%s) %s in no checkpoint since %s, longer than battledger.unsealed_after (%s): the member does not seal (its seal() or seal worker, battledger.seal_interval).',
                   @extschema@._counted(ar.unsealed_rows, 'row', 'rows'),
                   (SELECT pg_catalog.string_agg(a.tbl, ', ' ORDER BY a.tbl)
                      FROM (SELECT a.tbl FROM @extschema@.peer_arrival a
                             WHERE a.origin = m.origin AND a.rows_received > a.leaves_received
                               AND a.unsealed_since < pg_catalog.now() - ar.after ORDER BY a.tbl LIMIT 3) a),
                   CASE WHEN ar.unsealed_tables > 3 THEN pg_catalog.format(' and %s more', @extschema@._counted(ar.unsealed_tables - 3, 'table', 'tables')) ELSE '' END,
                   CASE WHEN ar.unsealed_rows = 1 THEN 'is' ELSE 'are' END,
                   ar.unsealed_since, ar.after) END),
           (17, uv.first IS NOT NULL AND coalesce(pc.verified_at, '-infinity')
                   < pg_catalog.now() - coalesce(pg_catalog.current_setting('battledger.unsealed_after', true), '600')::interval,
               'unverified',
               pg_catalog.format(
                   'leaves %s to %s of the member''s log arrived without a checkpoint that signs them; the last checkpoint verified here (size %s, at %s) is older than battledger.unsealed_after. Is battledger.checkpoint still in the member''s publication battledger_member (pg_publication_tables there)?',
                   uv.first, uv.last, coalesce(pc.tree_size, 0), coalesce(pc.verified_at::text, 'none'))),
           -- "ok", and the quarantines closed for good said (ops21)
           (18, true, 'ok',
               CASE WHEN EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin AND q.closed_at IS NOT NULL) THEN
               (SELECT pg_catalog.format('%s closed by close_quarantine() (the first at %s): %s held back for good, as evidence (battledger.quarantine, battledger.held_row).',
                                         @extschema@._counted(count(*), 'quarantined chain', 'quarantined chains'), min(q.closed_at),
                                         @extschema@._counted(sum(x.held), 'row', 'rows'))
                  FROM @extschema@.quarantine q
                  LEFT JOIN LATERAL (SELECT count(*) AS held FROM @extschema@.held_row h
                                      WHERE h.origin = q.origin AND h.tbl = q.tbl
                                        AND (q.chain_key IS NULL OR h.chain_key = q.chain_key)) x ON true
                 WHERE q.origin = m.origin AND q.closed_at IS NOT NULL) END)) v(rank, holds, state, reason)
         WHERE v.holds ORDER BY v.rank LIMIT 1) f
     ORDER BY m.origin
$$;

CREATE OR REPLACE FUNCTION @extschema@._passport_source(battery @extschema@.battery_id, tier text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    st record;
    made @extschema@.battery_event;
    placed @extschema@.battery_event;
    model @extschema@.battery_model;
    restricted_ok boolean := tier IN ('legitimate_interest', 'authority');   -- Annex XIII point 2
    usage_ok boolean := tier = 'legitimate_interest';                        -- point 4
    tests_ok boolean := tier = 'authority';                                  -- point 3
    v jsonb;
    fc @extschema@.battery_fold_cache;
    resp record;
    issued jsonb;
BEGIN
    -- the manufacture the fold accepts: another row (a member squatting the
    -- battery under another maker's namespace, a second "manufactured") must
    -- not give the passport its model, maker or date (red team r20, F1)
    -- (from the fold cache where it holds, read once here for the state as
    -- well: each read checks the cache against the registry)
    IF pg_is_in_recovery() THEN
        made := @extschema@._effective_manufacture(battery);
    ELSE
        fc := @extschema@._battery_fold_cached(battery);
        SELECT e.* INTO made FROM @extschema@.battery_event e
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.ledger_origin = fc.made_origin AND e.ledger_seq = fc.made_seq;
    END IF;
    IF made.battery_id IS NULL THEN
        RAISE EXCEPTION 'no battery % in the registry', battery USING ERRCODE = 'no_data_found';
    END IF;
    -- The state, and the operator responsible now (Art. 77(7), Art. 62):
    -- whoever last placed the battery on the market or moved its status; on
    -- "waste" the collector, recycler or operator that declared it waste.
    -- From the rules' fold cache where it still holds (the same as the whole
    -- fold, read-only), read once for both (issue 15: each read checks the
    -- cache against the registry); a standby cannot read the unlogged cache.
    -- _passport() moves responsibleOperator into the second-life section.
    IF pg_is_in_recovery() THEN
        SELECT * INTO st FROM @extschema@.battery_state(battery);
        SELECT l.signer, e.occurred_at, l.status INTO resp FROM @extschema@.battery_lifecycle(battery) l
          JOIN @extschema@.battery_event e ON e.battery_id OPERATOR(@extschema@.=) battery
                                          AND e.ledger_origin = l.ledger_origin AND e.ledger_seq = l.ledger_seq
         WHERE l.effective AND l.event IN ('placed_on_market', 'status_changed')
         ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC LIMIT 1;
        SELECT coalesce(jsonb_agg(jsonb_build_array(f.ledger_origin, f.ledger_seq)), '[]') INTO issued
          FROM @extschema@._battery_fold(battery, ROW(false, NULL, NULL, NULL, NULL, NULL), NULL, NULL, NULL) f
         WHERE f.effective AND f.named_passport IS NOT NULL AND f.event IN ('placed_on_market', 'status_changed');
    ELSE
        SELECT (fc.st).* INTO st;
        issued := fc.issued;
        SELECT fc.resp_signer AS signer, e.occurred_at, fc.resp_status AS status INTO resp
          FROM @extschema@.battery_event e
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.ledger_origin = fc.resp_origin AND e.ledger_seq = fc.resp_seq;
    END IF;
    -- the model as its holder declared it last (red team r20, F4: another
    -- member's row of the model id, the latest, was read)
    model := @extschema@._model_row(made.model_id);
    -- the event that issued the current passport (the fold's): the first of
    -- the battery's moves naming it.  The last row naming any passport id
    -- was read until 0.18.0, so a member moving a battery it did not hold
    -- (ineffective, an equivocation) set the passport's operator, issue date
    -- and warranty on every member (red team r20, F2).  An earlier issuing
    -- row naming the id would hold it, and the fold's would not be effective
    SELECT * INTO placed FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id = st.passport_id
       AND e.event IN ('placed_on_market', 'status_changed')
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1;

    v := jsonb_build_object(
        'tier', tier,
        'battery', battery::text,
        -- its status stays point 4
        'responsibleOperator', CASE WHEN resp.signer IS NOT NULL THEN jsonb_strip_nulls(jsonb_build_object(
            'member', resp.signer,
            'since', CASE WHEN usage_ok THEN resp.occurred_at END,
            'becauseOfStatus', CASE WHEN usage_ok THEN resp.status END)) END,
        -- the QR code's link resolves at this registry's resolver (battledger.resolver)
        'digitalLink', @extschema@.battery_digital_link(battery, @extschema@.registry_resolver()),
        'passportId', st.passport_id,
        'ceased', st.status = 'recycled',
        -- (the columns left out in one pass: each "-" copied the model again; 0.26.0)
        'model', to_jsonb(model) - ARRAY['materials', 'ledger_sig', 'ledger_key_id', 'ledger_prev', 'ledger_hash',
                                         'ledger_seq', 'ledger_batch', 'ledger_origin', 'ledger_at'],
        -- point 1: chemistry, critical raw materials, hazardous substances; point 2: the rest of the composition
        'materials', CASE WHEN restricted_ok THEN model.materials
                          ELSE (SELECT jsonb_object_agg(key, value) FROM jsonb_each(model.materials)
                                 WHERE key IN ('chemistry', 'criticalRawMaterials', 'hazardousSubstances', 'hazardousElements')) END,
        -- (a row's signer: the keys view's member, probed in the statement;
        -- _signer() adds a call and the member's roles, which are not shown,
        -- and a counted key's member always has them; 0.24.0, issue 15)
        'manufactured', jsonb_build_object('at', made.occurred_at, 'by', (SELECT k.member FROM @extschema@.keys k WHERE k.key_id OPERATOR(@extschema@.=) made.ledger_key_id),
                                           'data', made.data),
        'issued', jsonb_build_object('at', placed.occurred_at, 'by', (SELECT k.member FROM @extschema@.keys k WHERE k.key_id OPERATOR(@extschema@.=) placed.ledger_key_id),
                                     'event', placed.event, 'data', placed.data),
        -- the passports the fold's effective moves issued (red team r20, F2:
        -- every row naming an id was listed, a member's moves of a battery it
        -- did not hold included): from the cache, or the whole fold on a standby
        'history', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                               'passportId', e.passport_id, 'issuedAt', e.occurred_at,
                               'issuedBy', (SELECT k.member FROM @extschema@.keys k WHERE k.key_id OPERATOR(@extschema@.=) e.ledger_key_id),
                               'status', CASE WHEN usage_ok THEN
                                   CASE WHEN e.event = 'placed_on_market' THEN 'original' ELSE e.new_status END END))
                           ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
                      FROM @extschema@.battery_event e
                     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id IS NOT NULL
                       AND (e.ledger_origin, e.ledger_seq) IN (SELECT i->>0, (i->>1)::bigint FROM jsonb_array_elements(issued) i)));

    -- the manufacturer's declarations not for everyone (the v1.2 attribute list's access rights):
    -- safety measures are point 2; expected lifetime in years and initial self-discharge point 4
    IF NOT restricted_ok THEN
        v := v #- '{manufactured,data,documents,safetyInstructions}';
    END IF;
    IF NOT usage_ok THEN
        v := v #- '{manufactured,data,rated,expectedLifetimeYears}' #- '{manufactured,data,rated,selfDischargePct}';
    END IF;
    IF usage_ok THEN
        v := v || jsonb_build_object(
            'status', st.status,
            'inService', (SELECT min(e.occurred_at) FROM @extschema@.battery_event e
                           WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'installed'
                             -- signed in a role the event allows (red team r20, F3: a
                             -- member without one, bypassing its rules, wrote them)
                             AND EXISTS (SELECT 1 FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at) sg
                                           JOIN @extschema@.event_kind ek ON ek.event = e.event AND ek.subject = 'battery'
                                          WHERE sg.roles && ek.roles)),
            -- each dynamic attribute from the latest usage report that set it,
            -- the report named by the battery's usage state (87_usage_state.sql:
            -- until 0.22.0 the 8 latest reports were read, then each key none of
            -- them carried walked back through the battery's reports, and a GIN
            -- precheck for it matched every battery's nested cycle fields; issue
            -- 15); its value, time and hash read from the report; a value that is
            -- no number is none (_json_num(): a cast made the passport fail)
            -- (the reports the keys name, each read once with its leaf: a
            -- battery's keys often share one report; by position with LIMIT 1,
            -- which keeps the planner from joining every report of the battery,
            -- 9.5 ms at 18,864 reports)
            'dynamic', (WITH r AS MATERIALIZED (
                            SELECT p.pos, e.occurred_at, e.event, e.ledger_seq, e.ledger_hash, d.value,
                                   -- (leaf_index() written out: its call, with its pinned
                                   -- search_path, cost 6 times the probe; 0.26.0)
                                   (SELECT l.leaf_index FROM @extschema@.log_leaf l
                                     WHERE l.row_hash OPERATOR(@extschema@.=) e.ledger_hash
                                       AND l.tbl = '@extschema@.battery_event') AS leaf_index
                              FROM (SELECT DISTINCT p.value AS pos FROM @extschema@._usage_state u
                                     CROSS JOIN LATERAL jsonb_each(u.latest) p
                                     WHERE u.battery_id OPERATOR(@extschema@.=) battery) p
                             CROSS JOIN LATERAL (
                                   SELECT x.occurred_at, x.event, x.ledger_seq, x.ledger_hash, x.restricted
                                     FROM @extschema@.battery_event x
                                    WHERE x.battery_id OPERATOR(@extschema@.=) battery AND x.event = 'soh_reported'
                                      AND x.ledger_at = (p.pos->>0)::timestamptz AND x.ledger_origin = p.pos->>1
                                      AND x.ledger_seq = (p.pos->>2)::bigint
                                    LIMIT 1) e
                              JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                                                           AND d.tier = 'legitimate_interest'
                        )
                        -- (basis: the values as reported, which _passport_derived() adds
                        -- the derived ones to; it shaped them again until 0.26.0)
                        -- (_usage_value(): jsonb_build_object() of these fields, in C; 0.26.0)
                        SELECT jsonb_object_agg(a.key, @extschema@._usage_value(@extschema@._json_num(r.value->a.key),
                                   r.occurred_at, r.event, r.ledger_seq, r.ledger_hash::text, r.leaf_index, 'reported'))
                          FROM @extschema@._usage_state u
                         CROSS JOIN LATERAL jsonb_each(u.latest) p
                          JOIN @extschema@._dynamic_attribute a ON a.key = p.key
                          JOIN r ON r.pos = p.value
                         WHERE u.battery_id OPERATOR(@extschema@.=) battery AND r.value ? a.key),
            'negativeEvents', coalesce((SELECT jsonb_agg(jsonb_build_object('at', e.occurred_at, 'kind', e.data->>'kind')
                                                 ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
                                          FROM @extschema@.battery_event e
                                         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'negative_event'
                                           -- signed in a role the event allows (red team r20, F3: a
                                           -- member without one, bypassing its rules, wrote them)
                                           AND EXISTS (SELECT 1 FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at) sg
                                                         JOIN @extschema@.event_kind ek ON ek.event = e.event AND ek.subject = 'battery'
                                                        WHERE sg.roles && ek.roles)),
                                       '[]'::jsonb));
    END IF;
    IF tests_ok THEN
        -- test reports: restricted values of quality checks disclosed to
        -- authorities, each commitment named by its check alone (0.25.0,
        -- 87_usage_state.sql's header: a check naming another battery's
        -- commitment showed that battery's report as this one's, red team
        -- rt25 Q1; a probe per disclosed check)
        v := v || jsonb_build_object('testReports', (
            SELECT jsonb_agg(d.value->'testReport' ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
              FROM @extschema@.battery_event e
              JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
             WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'quality_checked'
               AND d.tier = 'authority' AND d.value ? 'testReport'
               AND @extschema@._commitment_rows(e.restricted, 2, false) < 2));
    END IF;
    -- values computed from the ledger (recycled content, usage) and registered operators
    RETURN @extschema@._passport_derived(v, battery, usage_ok, made, model);
END $$;

CREATE OR REPLACE FUNCTION @extschema@._passport_battledger(src jsonb) RETURNS jsonb
    LANGUAGE C IMMUTABLE AS 'MODULE_PATHNAME', 'bl_passport_battledger';

CREATE OR REPLACE FUNCTION @extschema@._passport(battery @extschema@.battery_id, tier text, format text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off
    SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    src jsonb := @extschema@._passport_source(battery, tier);
    second_life jsonb := @extschema@._passport_second_life(battery, tier);
BEGIN
    -- the operator responsible now is read with the state (_passport_source())
    -- and shown among the links between passports
    IF jsonb_typeof(src->'responsibleOperator') = 'object' THEN
        second_life := second_life || jsonb_build_object('responsibleOperator', src->'responsibleOperator');
    END IF;
    src := src - 'responsibleOperator';
    src := src || jsonb_build_object('secondLife', second_life);
    IF format = 'battledger' THEN
        -- (the second-life section from src: _passport_battledger() copies it)
        RETURN @extschema@._passport_battledger(src);
    END IF;
    IF (src->>'ceased')::boolean THEN
        RAISE EXCEPTION 'the passport of battery % has ceased to exist', battery USING ERRCODE = 'no_data_found',
            DETAIL = 'The battery has been recycled (Art. 77(8)); neither BatteryPass nor Catena-X has a status for it.',
            HINT = 'The registry''s own format (battledger) still shows its history.';
    END IF;
    IF format = 'batterypass' THEN
        IF src->'model'->>'category' NOT IN ('lmt', 'ev', 'industrial', 'stationary') THEN
            RAISE EXCEPTION 'BatteryPass 1.2 has no passport for a % battery', src->'model'->>'category'
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = 'Its categories are lmt, ev, industrial and stationary: the batteries that need a passport (Art. 77(1)).',
                      HINT = 'Use the formats battledger or catenax.';
        END IF;
        RETURN @extschema@._passport_batterypass(src);
    END IF;
    RETURN @extschema@._passport_catenax(src);
END $$;

CREATE OR REPLACE FUNCTION @extschema@._passport_derived(v jsonb, battery @extschema@.battery_id, usage_ok boolean,
                                              made @extschema@.battery_event, model @extschema@.battery_model)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    rc jsonb;
    declared jsonb := CASE WHEN jsonb_typeof(v->'model'->'recycled_content') = 'object' THEN v->'model'->'recycled_content' ELSE '{}' END;
    k text;
    info jsonb;
    ud jsonb;
    rep jsonb;
BEGIN
    -- recycled content: derived from the lots where the battery consumed any of the element, declared otherwise;
    -- only the shares: the masses behind them are the detailed composition (Annex XIII point 2)
    -- (only where the manufacture names lots: _recycled_content() starts
    -- from the lots of this very row, a manufacture of this battery, and
    -- finds none otherwise; its plan cost 0.13 ms a passport to start
    -- for nothing; 0.24.0, issue 15)
    IF made.battery_id OPERATOR(@extschema@.=) battery AND made.event = 'manufactured'
       AND jsonb_typeof(made.lots) = 'array' THEN
        SELECT jsonb_object_agg(r.material, jsonb_build_object('preConsumerShare', r.pre_consumer_pct,
                                                               'postConsumerShare', r.post_consumer_pct,
                                                               'basis', 'derived'))
          INTO rc FROM @extschema@._recycled_content(battery, made.ledger_hash) r;
    END IF;
    rc := coalesce(rc, '{}');
    -- (the loop's query started only when the model declares shares: most
    -- declare none; 0.26.0, issue 15)
    IF declared <> '{}' THEN
        FOR k IN SELECT jsonb_object_keys(declared) LOOP
            IF NOT rc ? k AND jsonb_typeof(declared->k) = 'object' THEN
                rc := rc || jsonb_build_object(k, (declared->k) || '{"basis": "declared"}');
            END IF;
        END LOOP;
    END IF;
    IF rc <> '{}' THEN
        v := jsonb_set(v, '{model,recycled_content}', rc);
    END IF;

    -- usage values: derived from the reports' cycles, the reported value where none can be;
    -- from the battery's usage state (87_usage_state.sql: summing every report
    -- on every call grew with the battery's history; issue 15)
    IF usage_ok THEN
        -- (each report's leaf looked up once: about 20 values name 4 or 5 reports)
        WITH u AS MATERIALIZED (
            SELECT u.* FROM @extschema@._usage_derived_state(battery, made, model) u
              JOIN @extschema@._dynamic_attribute a ON a.key = u.key
        ), h AS MATERIALIZED (
            -- (leaf_index() written out, as in _passport_source(): its call cost 6
            -- times the probe; 0.26.0)
            SELECT x.ledger_hash, (SELECT l.leaf_index FROM @extschema@.log_leaf l
                                    WHERE l.row_hash OPERATOR(@extschema@.=) x.ledger_hash
                                      AND l.tbl = '@extschema@.battery_event') AS leaf_index
              FROM (SELECT DISTINCT u.ledger_hash FROM u) x
        )
        -- (_usage_value(): jsonb_build_object() of these fields, in C; 0.26.0)
        SELECT jsonb_object_agg(u.key, @extschema@._usage_value(u.value, u.at, 'soh_reported', u.ledger_seq,
                   u.ledger_hash::text, h.leaf_index, 'derived', u.method, u.reports))
          INTO ud
          FROM u LEFT JOIN h ON h.ledger_hash OPERATOR(@extschema@.=) u.ledger_hash;
        -- (the reported values: _passport_source() gives them their basis)
        rep := CASE WHEN jsonb_typeof(v->'dynamic') = 'object' AND v->'dynamic' <> '{}' THEN v->'dynamic' END;
        IF ud IS NOT NULL OR rep IS NOT NULL THEN
            v := jsonb_set(v, '{dynamic}', coalesce(rep, '{}') || coalesce(ud, '{}'));
        END IF;
    END IF;

    -- operators, manufacturers and facilities: the registry's block when the
    -- event's signer holds the identifier it names
    v := @extschema@._passport_operator(v, '{manufactured}', 'manufacturer');
    v := @extschema@._passport_operator(v, '{issued}', 'operator');
    -- the facility: its registered address is the manufacturing place when the event gives none
    -- (none named: operator_info(NULL) finds none, and its call cost 0.04 ms; 0.26.0)
    info := CASE WHEN v->'manufactured'->'data'->>'facility' IS NOT NULL
                 THEN @extschema@.operator_info(v->'manufactured'->'data'->>'facility') END;
    IF info IS NOT NULL AND info->>'member' = v->'manufactured'->>'by' THEN
        v := jsonb_set(v, '{manufactured,facility}', info || '{"basis": "registered"}');
        IF NOT v->'manufactured'->'data' ? 'manufacturingPlace' AND info ? 'address' THEN
            v := jsonb_set(v, '{manufactured,data,manufacturingPlace}', info->'address');
        END IF;
    END IF;
    RETURN v;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._usage_value(value numeric, at timestamptz, event text, sequence bigint,
                                         ledger_hash text, leaf_index bigint, basis text) RETURNS jsonb
    LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'bl_usage_value';

CREATE OR REPLACE FUNCTION @extschema@._usage_value(value numeric, at timestamptz, event text, sequence bigint,
                                         ledger_hash text, leaf_index bigint, basis text,
                                         method text, reports bigint) RETURNS jsonb
    LANGUAGE C IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'bl_usage_value';

CREATE OR REPLACE FUNCTION @extschema@._passport_source(battery @extschema@.battery_id, tier text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    st record;
    made @extschema@.battery_event;
    placed @extschema@.battery_event;
    model @extschema@.battery_model;
    restricted_ok boolean := tier IN ('legitimate_interest', 'authority');   -- Annex XIII point 2
    usage_ok boolean := tier = 'legitimate_interest';                        -- point 4
    tests_ok boolean := tier = 'authority';                                  -- point 3
    v jsonb;
    fc @extschema@.battery_fold_cache;
    resp record;
    issued jsonb;
BEGIN
    -- the manufacture the fold accepts: another row (a member squatting the
    -- battery under another maker's namespace, a second "manufactured") must
    -- not give the passport its model, maker or date (red team r20, F1)
    -- (from the fold cache where it holds, read once here for the state as
    -- well: each read checks the cache against the registry)
    IF pg_is_in_recovery() THEN
        made := @extschema@._effective_manufacture(battery);
    ELSE
        fc := @extschema@._battery_fold_cached(battery);
        SELECT e.* INTO made FROM @extschema@.battery_event e
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.ledger_origin = fc.made_origin AND e.ledger_seq = fc.made_seq;
    END IF;
    IF made.battery_id IS NULL THEN
        RAISE EXCEPTION 'no battery % in the registry', battery USING ERRCODE = 'no_data_found';
    END IF;
    -- The state, and the operator responsible now (Art. 77(7), Art. 62):
    -- whoever last placed the battery on the market or moved its status; on
    -- "waste" the collector, recycler or operator that declared it waste.
    -- From the rules' fold cache where it still holds (the same as the whole
    -- fold, read-only), read once for both (issue 15: each read checks the
    -- cache against the registry); a standby cannot read the unlogged cache.
    -- _passport() moves responsibleOperator into the second-life section.
    IF pg_is_in_recovery() THEN
        SELECT * INTO st FROM @extschema@.battery_state(battery);
        SELECT l.signer, e.occurred_at, l.status INTO resp FROM @extschema@.battery_lifecycle(battery) l
          JOIN @extschema@.battery_event e ON e.battery_id OPERATOR(@extschema@.=) battery
                                          AND e.ledger_origin = l.ledger_origin AND e.ledger_seq = l.ledger_seq
         WHERE l.effective AND l.event IN ('placed_on_market', 'status_changed')
         ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC LIMIT 1;
        SELECT coalesce(jsonb_agg(jsonb_build_array(f.ledger_origin, f.ledger_seq)), '[]') INTO issued
          FROM @extschema@._battery_fold(battery, ROW(false, NULL, NULL, NULL, NULL, NULL), NULL, NULL, NULL) f
         WHERE f.effective AND f.named_passport IS NOT NULL AND f.event IN ('placed_on_market', 'status_changed');
    ELSE
        SELECT (fc.st).* INTO st;
        issued := fc.issued;
        SELECT fc.resp_signer AS signer, e.occurred_at, fc.resp_status AS status INTO resp
          FROM @extschema@.battery_event e
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.ledger_origin = fc.resp_origin AND e.ledger_seq = fc.resp_seq;
    END IF;
    -- the model as its holder declared it last (red team r20, F4: another
    -- member's row of the model id, the latest, was read)
    model := @extschema@._model_row(made.model_id);
    -- the event that issued the current passport (the fold's): the first of
    -- the battery's moves naming it.  The last row naming any passport id
    -- was read until 0.18.0, so a member moving a battery it did not hold
    -- (ineffective, an equivocation) set the passport's operator, issue date
    -- and warranty on every member (red team r20, F2).  An earlier issuing
    -- row naming the id would hold it, and the fold's would not be effective
    SELECT * INTO placed FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id = st.passport_id
       AND e.event IN ('placed_on_market', 'status_changed')
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1;

    v := jsonb_build_object(
        'tier', tier,
        'battery', battery::text,
        -- its status stays point 4
        'responsibleOperator', CASE WHEN resp.signer IS NOT NULL THEN jsonb_strip_nulls(jsonb_build_object(
            'member', resp.signer,
            'since', CASE WHEN usage_ok THEN resp.occurred_at END,
            'becauseOfStatus', CASE WHEN usage_ok THEN resp.status END)) END,
        -- the QR code's link resolves at this registry's resolver (battledger.resolver)
        'digitalLink', @extschema@.battery_digital_link(battery, @extschema@.registry_resolver()),
        'passportId', st.passport_id,
        'ceased', st.status = 'recycled',
        -- (the columns left out in one pass: each "-" copied the model again; 0.26.0)
        'model', to_jsonb(model) - ARRAY['materials', 'ledger_sig', 'ledger_key_id', 'ledger_prev', 'ledger_hash',
                                         'ledger_seq', 'ledger_batch', 'ledger_origin', 'ledger_at'],
        -- point 1: chemistry, critical raw materials, hazardous substances; point 2: the rest of the composition
        'materials', CASE WHEN restricted_ok THEN model.materials
                          ELSE (SELECT jsonb_object_agg(key, value) FROM jsonb_each(model.materials)
                                 WHERE key IN ('chemistry', 'criticalRawMaterials', 'hazardousSubstances', 'hazardousElements')) END,
        -- (a row's signer: the keys view's member, probed in the statement;
        -- _signer() adds a call and the member's roles, which are not shown,
        -- and a counted key's member always has them; 0.24.0, issue 15)
        'manufactured', jsonb_build_object('at', made.occurred_at, 'by', (SELECT k.member FROM @extschema@.keys k WHERE k.key_id OPERATOR(@extschema@.=) made.ledger_key_id),
                                           'data', made.data),
        'issued', jsonb_build_object('at', placed.occurred_at, 'by', (SELECT k.member FROM @extschema@.keys k WHERE k.key_id OPERATOR(@extschema@.=) placed.ledger_key_id),
                                     'event', placed.event, 'data', placed.data),
        -- the passports the fold's effective moves issued (red team r20, F2:
        -- every row naming an id was listed, a member's moves of a battery it
        -- did not hold included): from the cache, or the whole fold on a standby
        'history', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                               'passportId', e.passport_id, 'issuedAt', e.occurred_at,
                               'issuedBy', (SELECT k.member FROM @extschema@.keys k WHERE k.key_id OPERATOR(@extschema@.=) e.ledger_key_id),
                               'status', CASE WHEN usage_ok THEN
                                   CASE WHEN e.event = 'placed_on_market' THEN 'original' ELSE e.new_status END END))
                           ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
                      FROM @extschema@.battery_event e
                     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id IS NOT NULL
                       AND (e.ledger_origin, e.ledger_seq) IN (SELECT i->>0, (i->>1)::bigint FROM jsonb_array_elements(issued) i)));

    -- the manufacturer's declarations not for everyone (the v1.2 attribute list's access rights):
    -- safety measures are point 2; expected lifetime in years and initial self-discharge point 4
    IF NOT restricted_ok THEN
        v := v #- '{manufactured,data,documents,safetyInstructions}';
    END IF;
    IF NOT usage_ok THEN
        v := v #- '{manufactured,data,rated,expectedLifetimeYears}' #- '{manufactured,data,rated,selfDischargePct}';
    END IF;
    IF usage_ok THEN
        v := v || jsonb_build_object(
            'status', st.status,
            'inService', (SELECT min(e.occurred_at) FROM @extschema@.battery_event e
                           WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'installed'
                             -- signed in a role the event allows (red team r20, F3: a
                             -- member without one, bypassing its rules, wrote them)
                             AND EXISTS (SELECT 1 FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at) sg
                                           JOIN @extschema@.event_kind ek ON ek.event = e.event AND ek.subject = 'battery'
                                          WHERE sg.roles && ek.roles)),
            -- each dynamic attribute from the latest usage report that set it,
            -- the report named by the battery's usage state (87_usage_state.sql:
            -- until 0.22.0 the 8 latest reports were read, then each key none of
            -- them carried walked back through the battery's reports, and a GIN
            -- precheck for it matched every battery's nested cycle fields; issue
            -- 15); its value, time and hash read from the report; a value that is
            -- no number is none (_json_num(): a cast made the passport fail)
            -- (the reports the keys name, each read once with its leaf: a
            -- battery's keys often share one report; by position with LIMIT 1,
            -- which keeps the planner from joining every report of the battery,
            -- 9.5 ms at 18,864 reports)
            'dynamic', (WITH r AS MATERIALIZED (
                            SELECT p.pos, e.occurred_at, e.event, e.ledger_seq, e.ledger_hash, d.value,
                                   -- (leaf_index() written out: its call, with its pinned
                                   -- search_path, cost 6 times the probe; 0.26.0)
                                   (SELECT l.leaf_index FROM @extschema@.log_leaf l
                                     WHERE l.row_hash OPERATOR(@extschema@.=) e.ledger_hash
                                       AND l.tbl = '@extschema@.battery_event') AS leaf_index
                              FROM (SELECT DISTINCT p.value AS pos FROM @extschema@._usage_state u
                                     CROSS JOIN LATERAL jsonb_each(u.latest) p
                                     WHERE u.battery_id OPERATOR(@extschema@.=) battery) p
                             CROSS JOIN LATERAL (
                                   SELECT x.occurred_at, x.event, x.ledger_seq, x.ledger_hash, x.restricted
                                     FROM @extschema@.battery_event x
                                    WHERE x.battery_id OPERATOR(@extschema@.=) battery AND x.event = 'soh_reported'
                                      AND x.ledger_at = (p.pos->>0)::timestamptz AND x.ledger_origin = p.pos->>1
                                      AND x.ledger_seq = (p.pos->>2)::bigint
                                    LIMIT 1) e
                              JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                                                           AND d.tier = 'legitimate_interest'
                        )
                        -- (basis: the values as reported, which _passport_derived() adds
                        -- the derived ones to; it shaped them again until 0.26.0)
                        -- (_usage_value(): jsonb_build_object() of these fields, in C; 0.26.0)
                        SELECT jsonb_object_agg(a.key, @extschema@._usage_value(@extschema@._json_num(r.value->a.key),
                                   r.occurred_at, r.event, r.ledger_seq, r.ledger_hash::text, r.leaf_index, 'reported'))
                          FROM @extschema@._usage_state u
                         CROSS JOIN LATERAL jsonb_each(u.latest) p
                          JOIN @extschema@._dynamic_attribute a ON a.key = p.key
                          JOIN r ON r.pos = p.value
                         WHERE u.battery_id OPERATOR(@extschema@.=) battery AND r.value ? a.key),
            'negativeEvents', coalesce((SELECT jsonb_agg(jsonb_build_object('at', e.occurred_at, 'kind', e.data->>'kind')
                                                 ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
                                          FROM @extschema@.battery_event e
                                         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'negative_event'
                                           -- signed in a role the event allows (red team r20, F3: a
                                           -- member without one, bypassing its rules, wrote them)
                                           AND EXISTS (SELECT 1 FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at) sg
                                                         JOIN @extschema@.event_kind ek ON ek.event = e.event AND ek.subject = 'battery'
                                                        WHERE sg.roles && ek.roles)),
                                       '[]'::jsonb));
    END IF;
    IF tests_ok THEN
        -- test reports: restricted values of quality checks disclosed to
        -- authorities, each commitment named by its check alone (0.25.0,
        -- 87_usage_state.sql's header: a check naming another battery's
        -- commitment showed that battery's report as this one's, red team
        -- rt25 Q1; a probe per disclosed check)
        v := v || jsonb_build_object('testReports', (
            SELECT jsonb_agg(d.value->'testReport' ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
              FROM @extschema@.battery_event e
              JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
             WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'quality_checked'
               AND d.tier = 'authority' AND d.value ? 'testReport'
               AND @extschema@._commitment_rows(e.restricted, 2, false) < 2));
    END IF;
    -- values computed from the ledger (recycled content, usage) and registered operators
    RETURN @extschema@._passport_derived(v, battery, usage_ok, made, model);
END $$;

CREATE OR REPLACE FUNCTION @extschema@._passport_derived(v jsonb, battery @extschema@.battery_id, usage_ok boolean,
                                              made @extschema@.battery_event, model @extschema@.battery_model)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    rc jsonb;
    declared jsonb := CASE WHEN jsonb_typeof(v->'model'->'recycled_content') = 'object' THEN v->'model'->'recycled_content' ELSE '{}' END;
    k text;
    info jsonb;
    ud jsonb;
    rep jsonb;
BEGIN
    -- recycled content: derived from the lots where the battery consumed any of the element, declared otherwise;
    -- only the shares: the masses behind them are the detailed composition (Annex XIII point 2)
    -- (only where the manufacture names lots: _recycled_content() starts
    -- from the lots of this very row, a manufacture of this battery, and
    -- finds none otherwise; its plan cost 0.13 ms a passport to start
    -- for nothing; 0.24.0, issue 15)
    IF made.battery_id OPERATOR(@extschema@.=) battery AND made.event = 'manufactured'
       AND jsonb_typeof(made.lots) = 'array' THEN
        SELECT jsonb_object_agg(r.material, jsonb_build_object('preConsumerShare', r.pre_consumer_pct,
                                                               'postConsumerShare', r.post_consumer_pct,
                                                               'basis', 'derived'))
          INTO rc FROM @extschema@._recycled_content(battery, made.ledger_hash) r;
    END IF;
    rc := coalesce(rc, '{}');
    -- (the loop's query started only when the model declares shares: most
    -- declare none; 0.26.0, issue 15)
    IF declared <> '{}' THEN
        FOR k IN SELECT jsonb_object_keys(declared) LOOP
            IF NOT rc ? k AND jsonb_typeof(declared->k) = 'object' THEN
                rc := rc || jsonb_build_object(k, (declared->k) || '{"basis": "declared"}');
            END IF;
        END LOOP;
    END IF;
    IF rc <> '{}' THEN
        v := jsonb_set(v, '{model,recycled_content}', rc);
    END IF;

    -- usage values: derived from the reports' cycles, the reported value where none can be;
    -- from the battery's usage state (87_usage_state.sql: summing every report
    -- on every call grew with the battery's history; issue 15)
    IF usage_ok THEN
        -- (each report's leaf looked up once: about 20 values name 4 or 5 reports)
        WITH u AS MATERIALIZED (
            SELECT u.* FROM @extschema@._usage_derived_state(battery, made, model) u
              JOIN @extschema@._dynamic_attribute a ON a.key = u.key
        ), h AS MATERIALIZED (
            -- (leaf_index() written out, as in _passport_source(): its call cost 6
            -- times the probe; 0.26.0)
            SELECT x.ledger_hash, (SELECT l.leaf_index FROM @extschema@.log_leaf l
                                    WHERE l.row_hash OPERATOR(@extschema@.=) x.ledger_hash
                                      AND l.tbl = '@extschema@.battery_event') AS leaf_index
              FROM (SELECT DISTINCT u.ledger_hash FROM u) x
        )
        -- (_usage_value(): jsonb_build_object() of these fields, in C; 0.26.0)
        SELECT jsonb_object_agg(u.key, @extschema@._usage_value(u.value, u.at, 'soh_reported', u.ledger_seq,
                   u.ledger_hash::text, h.leaf_index, 'derived', u.method, u.reports))
          INTO ud
          FROM u LEFT JOIN h ON h.ledger_hash OPERATOR(@extschema@.=) u.ledger_hash;
        -- (the reported values: _passport_source() gives them their basis)
        rep := CASE WHEN jsonb_typeof(v->'dynamic') = 'object' AND v->'dynamic' <> '{}' THEN v->'dynamic' END;
        IF ud IS NOT NULL OR rep IS NOT NULL THEN
            v := jsonb_set(v, '{dynamic}', coalesce(rep, '{}') || coalesce(ud, '{}'));
        END IF;
    END IF;

    -- operators, manufacturers and facilities: the registry's block when the
    -- event's signer holds the identifier it names
    v := @extschema@._passport_operator(v, '{manufactured}', 'manufacturer');
    v := @extschema@._passport_operator(v, '{issued}', 'operator');
    -- the facility: its registered address is the manufacturing place when the event gives none
    -- (none named: operator_info(NULL) finds none, and its call cost 0.04 ms; 0.26.0)
    info := CASE WHEN v->'manufactured'->'data'->>'facility' IS NOT NULL
                 THEN @extschema@.operator_info(v->'manufactured'->'data'->>'facility') END;
    IF info IS NOT NULL AND info->>'member' = v->'manufactured'->>'by' THEN
        v := jsonb_set(v, '{manufactured,facility}', info || '{"basis": "registered"}');
        IF NOT v->'manufactured'->'data' ? 'manufacturingPlace' AND info ? 'address' THEN
            v := jsonb_set(v, '{manufactured,data,manufacturingPlace}', info->'address');
        END IF;
    END IF;
    RETURN v;
END $$;

-- pass26b: _usage_value() (55_usage_value.replace) is an internal of the
-- passport functions, which run as the owner: not PUBLIC's (85_passport.sql)
REVOKE ALL ON FUNCTION @extschema@._usage_value(numeric, timestamptz, text, bigint, text, bigint, text),
    @extschema@._usage_value(numeric, timestamptz, text, bigint, text, bigint, text, text, bigint) FROM PUBLIC;
-----------------------------------------------------------------------------
-- What each user-facing object is, for \df+, \dt+ and \dv+ (sql/privileges.sql
-- lists any function, table, view or type of the extension left without one).
-----------------------------------------------------------------------------
COMMENT ON FUNCTION @extschema@.battery_history(@extschema@.battery_id) IS
    'a battery''s lifecycle events across members, in registry order, with signer, status moves and log leaf';
COMMENT ON FUNCTION @extschema@.battery_state(@extschema@.battery_id) IS
    'the state a battery''s lifecycle events have reached: manufactured, status, current passport id, custodian, pending handover';
COMMENT ON FUNCTION @extschema@.battery_lifecycle(@extschema@.battery_id) IS
    'a battery''s lifecycle events in registry order, each with the rules'' verdict and the state reached: the same on every member';
COMMENT ON FUNCTION @extschema@.registry_conflicts() IS
    'every registry event the rules judge ineffective (equivocation: its writer bypassed the rules; conflict: a race between members)';
COMMENT ON FUNCTION @extschema@.set_custody_from(timestamptz) IS
    'the consortium''s agreed date from which lifecycle events need the battery''s custody';
COMMENT ON FUNCTION @extschema@._battery_verdict(@extschema@.battery_event, text, text[], @extschema@.battery_fold_state, boolean, boolean) IS
    'internal: the registry rules'' verdict on one battery event given the state before it';
COMMENT ON FUNCTION @extschema@._custody_from() IS 'internal: the date custody is enforced from';
COMMENT ON FUNCTION @extschema@._signer_at(@extschema@.hash256, timestamptz) IS 'internal: the member behind a key and its roles at a time';
COMMENT ON FUNCTION @extschema@._row_signed(anyelement, regclass) IS
    'internal: would the chain trigger accept the signature of this new row (by the key it names, valid now, or a batch that key signed in this transaction)?';
COMMENT ON FUNCTION @extschema@._refuse_row(anyelement, regclass, text, text, text, text) IS
    'internal: the rules'' verdict on a row, raised only if the row is signed; otherwise the chain trigger refuses it';
COMMENT ON FUNCTION @extschema@._batch_open_here(text, regclass, @extschema@.hash256) IS
    'internal: was this batch inserted by this transaction, for this table, with this key?';
COMMENT ON FUNCTION @extschema@._is_lifecycle(text) IS 'internal: does this event kind decide a battery''s state?';
COMMENT ON TABLE @extschema@.id_namespace IS 'identifier namespaces (GS1 company prefixes, ISO/IEC 15459 issuers) and the member that makes batteries under each';
COMMENT ON FUNCTION @extschema@.add_id_namespace(text, text) IS
    'register a GS1 company prefix (gs1:NNNN…) or ISO/IEC 15459 issuer and company (iso15459:IAC/CIN) as a member''s: only it may then write "manufactured" under it';
COMMENT ON FUNCTION @extschema@._id_key(@extschema@.battery_id) IS 'internal: the part of a battery id that namespaces are prefixes of';
COMMENT ON FUNCTION @extschema@._ns_covers(text, text) IS 'internal: does a namespace cover an id key or another namespace?';
COMMENT ON FUNCTION @extschema@._json_num(jsonb) IS 'internal: a number in a registry row''s JSON as a finite numeric, else NULL, never an error';
COMMENT ON VIEW @extschema@._lot_counted_creation IS 'internal: each lot''s creation the registry counts (in role, in its namespace, first in registry order), NULL where none counts';
COMMENT ON FUNCTION @extschema@._lot_creation(text) IS 'internal: the creation of a lot the registry counts (in role, in its namespace, first in registry order)';
COMMENT ON FUNCTION @extschema@._model_row(text) IS 'internal: the model as its holder declared it last (its latest row by a key added for the holder)';
COMMENT ON FUNCTION @extschema@._usage_derived(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model) IS 'internal: usage_derived() given the battery''s effective manufacture and its model as its holder declared it';
COMMENT ON FUNCTION @extschema@._recycled_content(@extschema@.battery_id, @extschema@.hash256) IS 'internal: recycled_content() given the ledger_hash of the battery''s effective manufacture';
COMMENT ON TABLE @extschema@._usage_state IS
    'internal: per battery, its legitimate-interest usage reports folded as they arrive (derived, checked by usage_state_check())';
COMMENT ON FUNCTION @extschema@.usage_state_rebuild(@extschema@.battery_id) IS
    'recompute the per-battery usage state the legitimate-interest passport reads, from the reports (NULL: every battery)';
COMMENT ON FUNCTION @extschema@.usage_state_check() IS
    'batteries whose per-battery usage state (what the legitimate-interest passport reads) differs from a recompute from their reports';
COMMENT ON FUNCTION @extschema@._usage_thresholds(@extschema@.battery_event, @extschema@.battery_model) IS
    'internal: the thresholds usage values are judged by, from the effective manufacture and the model';
COMMENT ON FUNCTION @extschema@._usage_state_add(@extschema@.battery_id, timestamptz, text, bigint, jsonb) IS
    'internal: fold one legitimate-interest usage report into its battery''s usage state';
COMMENT ON FUNCTION @extschema@._usage_state_compute(@extschema@.battery_id, numeric, numeric, numeric, numeric) IS
    'internal: a battery''s usage state recomputed from its reports, with given thresholds';
COMMENT ON FUNCTION @extschema@._usage_derived_state(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model) IS
    'internal: _usage_derived()''s rows from the battery''s usage state (the passport''s)';
COMMENT ON FUNCTION @extschema@._usage_state_reported() IS 'internal: trigger folding an arriving usage report into its battery''s usage state';
COMMENT ON FUNCTION @extschema@._usage_state_disclosed() IS 'internal: trigger folding the reports of an arriving disclosure into their batteries'' usage state';
COMMENT ON FUNCTION @extschema@._usage_lock(@extschema@.hash256) IS 'internal: the usage triggers'' turn on a commitment, a lock no SQL-level advisory lock can hold up';
COMMENT ON FUNCTION @extschema@._commitment_rows(@extschema@.hash256, integer, boolean) IS
    'internal: the battery_event rows naming a commitment, up to a limit, by an index scan that stops there (the transaction''s snapshot, or the latest)';
COMMENT ON FUNCTION @extschema@._usage_state_erased() IS 'internal: trigger recomputing the usage state of batteries whose disclosure was erased or changed';
COMMENT ON FUNCTION @extschema@._lot_after_now(text) IS 'internal: when the latest row of a lot that counts is dated, if after a row written now';
COMMENT ON FUNCTION @extschema@._ns_candidates(text) IS 'internal: the prefixes of an id key that a namespace covering it could be';
COMMENT ON FUNCTION @extschema@._id_owners(@extschema@.battery_id, timestamptz) IS 'internal: the members whose namespaces, registered by a time, cover a battery id';
COMMENT ON FUNCTION @extschema@._text_id_key(text) IS 'internal: the namespace key of a model, lot or passport id written as gs1:01/<GTIN>... or iso15459:<IAC>/<CIN>/... (or another spelling battery ids accept), else NULL';
COMMENT ON FUNCTION @extschema@._key_owners(text, timestamptz) IS 'internal: the members whose namespaces, registered by a time, cover a namespace key';
COMMENT ON FUNCTION @extschema@._key_claims(text) IS 'internal: every member whose namespace covers a key, and when it first registered one';
COMMENT ON FUNCTION @extschema@._passport_holder_by(text, text[], timestamptz[], @extschema@.battery_event) IS 'internal: _passport_holder() given the id''s namespace claims (_key_claims(), NULL for none), or the first such row after a row';
COMMENT ON FUNCTION @extschema@._passport_holder(text) IS 'internal: the key of a passport id''s holder (its first issuing row that its namespace allows)';
COMMENT ON FUNCTION @extschema@._key_claim_allows(text[], timestamptz[], text, timestamptz) IS 'internal: may a member write the first row of an id with these claims at a time';
COMMENT ON FUNCTION @extschema@._lot_custody_steps(text) IS 'internal: a lot''s rows in registry order, each one''s verdict and the custody after it';
COMMENT ON FUNCTION @extschema@._lot_consumers(text) IS 'internal: the rows consuming a lot, and whether each counts (signed by the lot''s holder then)';
COMMENT ON FUNCTION @extschema@._lot_ledger(text) IS 'internal: a lot''s rows and the rows consuming it in one registry order, from one walk of the lot''s rows';
COMMENT ON FUNCTION @extschema@._lot_balance(text) IS 'internal: a lot''s custody and the mass it has left, from one walk of its rows';
COMMENT ON FUNCTION @extschema@._ns_hosted(text, text) IS 'internal: was a namespace registration written at the origin that hosts its member?';
COMMENT ON TABLE @extschema@.subject_lock IS 'internal: one row per lot, battery and passport id whose writers take turns (row locks only the rule triggers can take)';
COMMENT ON TABLE @extschema@.battery_fold_cache IS 'internal: the rules'' cache of each battery''s state, with what it was computed from (used only while that holds)';
COMMENT ON FUNCTION @extschema@._battery_fold(@extschema@.battery_id, @extschema@.battery_fold_state, timestamptz, text, bigint) IS
    'internal: battery_lifecycle()''s fold from a state, over the lifecycle events after a registry-order key';
COMMENT ON FUNCTION @extschema@._fold_generation() IS 'internal: what every battery''s fold reads besides its own events, as one value';
COMMENT ON TABLE @extschema@.fold_inputs IS 'internal: how many rows the members'', keys'' and namespaces'' ledgers have received, and the resets that void every battery''s fold cache (part of _fold_generation())';
COMMENT ON TABLE @extschema@.fold_subject_changes IS 'internal: how many rows naming each member, key and namespace their ledgers have received (battery_fold_cache.deps)';
COMMENT ON FUNCTION @extschema@._fold_deps(@extschema@.battery_id, text[], timestamptz, text, bigint) IS 'internal: the members, keys and namespaces a battery''s fold reads';
COMMENT ON FUNCTION @extschema@._fold_ns_subject(text) IS 'internal: the subject of the fold cache''s dependencies a namespace registration counts for';
COMMENT ON FUNCTION @extschema@._fold_dep_sum(text[]) IS 'internal: the sum of the counts of the members, keys and namespaces a fold read';
COMMENT ON FUNCTION @extschema@._fold_inputs_changed() IS 'internal: trigger counting the rows the members'', keys'' and namespaces'' ledgers receive';
COMMENT ON TABLE @extschema@.passport_holder_moved IS 'internal: the batteries whose passport id an earlier issuing row took since (voids their cache rows)';
COMMENT ON FUNCTION @extschema@._holders_moved(@extschema@.battery_id) IS 'internal: the passport_holder_moved rows that void a battery''s cache row';
COMMENT ON FUNCTION @extschema@._passport_holder_arrived() IS 'internal: an issuing row that takes its passport id from its holder says so (passport_holder_moved)';
COMMENT ON FUNCTION @extschema@._battery_fold_cached(@extschema@.battery_id, bigint) IS 'internal: the cache row a battery''s state comes to, read under one snapshot';
COMMENT ON FUNCTION @extschema@._battery_state_cached(@extschema@.battery_id, bigint) IS 'internal: battery_state() for the rules trigger, from its cache where that still holds';
COMMENT ON FUNCTION @extschema@._battery_state_read(@extschema@.battery_id) IS 'internal: battery_state() from the rules'' cache where it still holds, read-only, as the owner';
COMMENT ON TABLE @extschema@.registry_rule IS 'registry rules enforced from a date: custody (set_custody_from(); no row: from -infinity)';
COMMENT ON TYPE @extschema@.battery_fold_state IS 'the state a battery''s lifecycle events reached (battery_lifecycle())';
COMMENT ON FUNCTION @extschema@.bytea(@extschema@.hash256) IS 'the 32 bytes of a hash256';
COMMENT ON FUNCTION @extschema@.hash256(bytea) IS 'a hash256 from 32 bytes';
COMMENT ON FUNCTION @extschema@.text(@extschema@.battery_id) IS 'a battery id as text (its canonical form; the cast to text)';
COMMENT ON FUNCTION @extschema@.checkpoint() IS 'this log''s latest signed checkpoint (C2SP signed note)';
COMMENT ON FUNCTION @extschema@.consistency_proof(bigint, bigint) IS
    'RFC 9162 consistency proof between two tree sizes of this log';
COMMENT ON FUNCTION @extschema@.inclusion_proof(bigint, bigint) IS
    'RFC 9162 inclusion proof of a leaf in the tree of a size (default: the latest checkpoint)';
COMMENT ON FUNCTION @extschema@.leaf(bigint) IS 'the bytes of a log leaf (its hash is SHA-256(0x00 || bytes))';
COMMENT ON FUNCTION @extschema@.leaf_index(regclass, @extschema@.hash256) IS
    'the log leaf of a ledger row, by its table and ledger_hash (NULL until sealed)';
COMMENT ON FUNCTION @extschema@.tree_root(bigint) IS 'the Merkle root of this log at a tree size';
COMMENT ON FUNCTION @extschema@.verify_consistency(bigint, bigint, @extschema@.hash256, @extschema@.hash256, @extschema@.hash256[]) IS
    'check an RFC 9162 consistency proof between two roots';
COMMENT ON FUNCTION @extschema@.verify_inclusion(bytea, bigint, bigint, @extschema@.hash256[], @extschema@.hash256) IS
    'check an RFC 9162 inclusion proof of leaf bytes under a root';
COMMENT ON FUNCTION @extschema@.ed25519_verify(bytea, bytea, bytea) IS
    'verify an Ed25519 signature (public key, message, signature); weak keys are refused';
COMMENT ON FUNCTION @extschema@.lot_available_kg(text) IS 'mass of a material lot not yet consumed by later lots';
COMMENT ON FUNCTION @extschema@.lot_custodian(text) IS 'the member holding a material lot now (its custody events)';
COMMENT ON FUNCTION @extschema@.member_keys_at(text, timestamptz) IS 'a member''s keys valid at a time';
COMMENT ON FUNCTION @extschema@.member_roles() IS 'the consortium roles (Regulation (EU) 2023/1542 vocabulary)';
COMMENT ON FUNCTION @extschema@.set_member_roles(text, text[]) IS 'record a member''s new roles (from now on)';

COMMENT ON TABLE @extschema@._dynamic_attribute IS 'the passport''s dynamic attributes: key, BatteryPass name, unit';
COMMENT ON TABLE @extschema@.batch IS 'signed batch manifests: one signature over the Merkle root of many rows';
COMMENT ON TABLE @extschema@.battery_event IS 'the registry''s battery lifecycle events, each signed by a role allowed to sign it';
COMMENT ON TABLE @extschema@.battery_model IS 'battery models: rated values of the passport''s static attributes';
COMMENT ON TABLE @extschema@.lot_event IS 'material lots: extraction, refining, custody, consumption, with mass balance';
COMMENT ON TABLE @extschema@.event_kind IS 'the registry''s event kinds and the member roles that may sign each';
COMMENT ON TABLE @extschema@.status_role IS 'Art. 77 statuses a battery can be moved into, and the roles that may move it';
COMMENT ON TABLE @extschema@.member_event IS 'consortium members and their roles, as append-only history';
COMMENT ON TABLE @extschema@.key_event IS 'members'' Ed25519 public keys: added and revoked, as append-only history';
COMMENT ON VIEW @extschema@.members IS 'each member''s current roles, from the counted member rows';
COMMENT ON TABLE @extschema@.host_pin IS
    'each member''s host as this database counts it: the origin of the first row adding it seen here (none if a join copied two), or pin_member_host()''s';
COMMENT ON FUNCTION @extschema@.pin_member_host(text, text) IS
    'settle a contested hosting here: count the keys and roles of the given origin''s rows for the member';
COMMENT ON VIEW @extschema@._member_hosts IS
    'the origins hosting each member, per row adding it (a row of the empty origin: this database''s origin too)';
COMMENT ON VIEW @extschema@._member_rows_counted IS
    'the member_event rows that count: a member''s adding rows, and role changes whose origin hosts the member';
COMMENT ON TABLE @extschema@.key_proof IS
    'proofs of possession: a key''s Ed25519 signature over key_possession_message(member, public key); a key registered for two members signs for the one that proved it';
COMMENT ON TABLE @extschema@._key_proof_checked IS
    'internal: each proof of possession as this database checked it when it arrived (the first of each origin for each member); local, derived, checked by key_proof_check()';
COMMENT ON FUNCTION @extschema@._key_proof_arrived() IS 'internal: trigger checking an inserted or arriving proof of possession once into _key_proof_checked';
COMMENT ON FUNCTION @extschema@.key_proof_check() IS
    'every row of _key_proof_checked that differs from a check of the proofs in key_proof (or is missing, or names no proof); no rows when intact';
COMMENT ON FUNCTION @extschema@.key_proof_rebuild() IS
    'check every proof of possession again into _key_proof_checked; returns its number of rows';
COMMENT ON VIEW @extschema@.keys IS 'each key that signs: member, public key, validity and revocation, from the counted key rows (a key counted for two members: the one that proved possession of it, if exactly one did)';
COMMENT ON FUNCTION @extschema@.key_possession_message(text, bytea) IS
    'what a key''s holder signs to prove possession of it for a member: "battledger key-possession v1\n" || member || "\n" || public key';
COMMENT ON FUNCTION @extschema@.prove_key(@extschema@.hash256, bytea, text) IS
    'store a proof of possession of a registered key (its signature over key_possession_message()); returns the member it proves the key for';
COMMENT ON VIEW @extschema@._key_rows_counted IS
    'the key_event rows that count: those whose origin added the member they name (the hosting rule)';
COMMENT ON TABLE @extschema@.checkpoint IS 'this log''s signed checkpoints (C2SP), one per seal() piece';
COMMENT ON TABLE @extschema@.log_leaf IS 'this log''s leaves: one per sealed ledger row';
COMMENT ON TABLE @extschema@.log_block IS 'this log''s blocks: the tree''s nodes of levels 4, 8, 12, ..., 16 a row (width fewer at each level''s right edge), which proofs read instead of tiles and leaves';
COMMENT ON TABLE @extschema@.log_tile IS 'this log''s tiles: the hashes of tree level 8 * level, 256 a row (width fewer at the right edge); the nodes between are recomputed, level 0 is log_leaf';
COMMENT ON TABLE @extschema@.log_pending IS 'ledger rows queued for the next seal()';
COMMENT ON TABLE @extschema@.log_pending_intact IS 'one row while log_pending is whole; empty after a crash or failover reset the unlogged queue, until seal() re-queues the unsealed rows from their tables';
COMMENT ON TABLE @extschema@.cosignature IS 'tlog-cosignature/v1 lines: by this member''s witness and received from others';
COMMENT ON TABLE @extschema@.log_conflict IS 'evidence of a member''s rewritten or forked log: both conflicting checkpoints (new_note NULL: a leaf it published again differently, signed by no checkpoint yet)';
COMMENT ON TABLE @extschema@.peer_checkpoint IS 'other members'' checkpoints, verified and witnessed here';
COMMENT ON TABLE @extschema@.peer_leaf IS 'other members'' log leaves, as verified against their checkpoints';
COMMENT ON TABLE @extschema@.peer_arrival IS 'rows and log leaves received from each member, per table, counted by the arrival triggers: consortium_status() compares them ("rows missing", "unsealed")';
COMMENT ON FUNCTION @extschema@.migrate_to_ledger(regclass, name, name[], name, integer) IS
    'bring an existing table with rows into the ledger: the rows copied in order into a new ledger table of the same name, the old table kept aside (docs/dba-guide.md)';
-- (0.24.0: here, so that the update, which recreates health() with a new
-- column, comments it too)
COMMENT ON FUNCTION @extschema@.health() IS
    'one line for monitoring: rows waiting to be sealed, log size and age, leaves not yet cosigned by another member, members not ok, refusals, held rows, tables missing from this member''s publication';
-----------------------------------------------------------------------------
-- Internal functions that no role needs to call: trigger and event-trigger
-- functions fire without an EXECUTE check, and without EXECUTE nobody but a
-- superuser can attach them to a table of their own making.
-- (test/shell/privileges.sh compares every object's privileges with
-- test/privileges.expected, so a new object cannot slip in with PUBLIC's.)
-----------------------------------------------------------------------------
REVOKE ALL ON FUNCTION @extschema@._ddl_guard(), @extschema@._drop_guard(),
    @extschema@._keys_changed(), @extschema@._fold_inputs_changed(), @extschema@._batch_check(),
    @extschema@._lot_rules(), @extschema@._battery_rules(), @extschema@._model_rules(), @extschema@._battery_fold_arrived(),
    @extschema@._governance_rules(),
    @extschema@._passport_holder_arrived(),
    @extschema@._peer_leaf_trigger(), @extschema@._peer_checkpoint_trigger(),
    @extschema@._cosignature_trigger() FROM PUBLIC;
-- the consortium's agreed custody date is the DBA's to set
REVOKE ALL ON FUNCTION @extschema@.set_custody_from(timestamptz) FROM PUBLIC;
-- a subject's turn is the rule triggers' to take (subject_lock: red team F9)
REVOKE ALL ON FUNCTION @extschema@._lock_subject(text, text) FROM PUBLIC;
-- and the writer's cache of battery states is theirs to write (F8)
REVOKE ALL ON FUNCTION @extschema@._battery_state_cached(@extschema@.battery_id, bigint),
    @extschema@._battery_fold_cached(@extschema@.battery_id, bigint),
    @extschema@._holders_moved(@extschema@.battery_id),
    @extschema@._fold_deps(@extschema@.battery_id, text[], timestamptz, text, bigint),
    @extschema@._fold_dep_sum(text[]), @extschema@._fold_ns_subject(text) FROM PUBLIC;
-- battery_state()'s read of that cache (runs as the owner): for the roles that
-- read the raw battery events and so could fold them themselves
REVOKE ALL ON FUNCTION @extschema@._battery_state_read(@extschema@.battery_id) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._battery_state_read(@extschema@.battery_id)
    TO battledger_member, battledger_legitimate_interest;
-- as members and keys: which organisation owns which identifiers is the DBA's to register
REVOKE ALL ON FUNCTION @extschema@.add_id_namespace(text, text) FROM PUBLIC;
-- second life (85_passport.sql): the passport's second-life section reads
-- restricted values as the owner; only the tier functions call it
REVOKE ALL ON FUNCTION @extschema@._passport_second_life(@extschema@.battery_id, text),
    @extschema@._performance_at(@extschema@.battery_id, record) FROM PUBLIC;
-- the rule triggers' signature check before a verdict (red team r16b P2):
-- theirs to call, as the owner; the batch check reads this transaction's batches
REVOKE ALL ON FUNCTION @extschema@._batch_open_here(text, regclass, @extschema@.hash256),
    @extschema@._row_signed(anyelement, regclass),
    @extschema@._refuse_row(anyelement, regclass, text, text, text, text) FROM PUBLIC;
