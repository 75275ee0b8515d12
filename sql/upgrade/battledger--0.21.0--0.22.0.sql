-- battledger 0.21.0 -> 0.22.0 (parts in sql/upgrade/0.21.0--0.22.0/)
CREATE OR REPLACE FUNCTION @extschema@._ns_candidates(key text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    candidates text[] := ARRAY[key];
    gs1 boolean := starts_with(key, 'gs1:');
BEGIN
    IF gs1 AND length(key) = 16 THEN
        RETURN ARRAY[key, left(key, 4), left(key, 5), left(key, 6), left(key, 7), left(key, 8), left(key, 9),
                     left(key, 10), left(key, 11), left(key, 12), left(key, 13), left(key, 14), left(key, 15)];
    END IF;
    FOR n IN 0 .. least(length(key) - 1, 48) LOOP
        IF (gs1 AND n >= 4) OR substr(key, n + 1, 1) = '/' THEN
            candidates := candidates || left(key, n);
        END IF;
    END LOOP;
    RETURN candidates;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.usage_derived(battery @extschema@.battery_id)
    RETURNS TABLE (key text, value numeric, at timestamptz, reports bigint, method text,
                   ledger_seq bigint, ledger_hash @extschema@.hash256)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    made @extschema@.battery_event;
BEGIN
    -- nothing to derive: no disclosure carries per-cycle data (a key index lookup)
    IF NOT EXISTS (SELECT 1 FROM @extschema@.disclosure d WHERE d.value ? 'cycle') THEN
        RETURN;
    END IF;
    -- the manufacture the fold accepts and the model as its holder declared
    -- it last, as passport() reads them: the first manufactured row in
    -- registry order and the latest row of the model id, whoever wrote
    -- them, were read until 0.20.0, so a squatter's row (red team r20, F1,
    -- F4) set the thresholds the usage values are judged by
    made := @extschema@._effective_manufacture(battery);
    RETURN QUERY SELECT * FROM @extschema@._usage_derived(battery, made, @extschema@._model_row(made.model_id));
END $$;

CREATE OR REPLACE FUNCTION @extschema@._usage_derived(battery @extschema@.battery_id, made @extschema@.battery_event,
                                           m @extschema@.battery_model)
    RETURNS TABLE (key text, value numeric, at timestamptz, reports bigint, method text,
                   ledger_seq bigint, ledger_hash @extschema@.hash256)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    r jsonb;
    deep_v numeric;
    over_v numeric;
    t_hi numeric;
    t_lo numeric;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.disclosure d WHERE d.value ? 'cycle') THEN
        RETURN;
    END IF;
    -- numbers as _json_num() reads them: a value that is not one is not
    -- declared (a cast raised an error, and the passport with it)
    r := coalesce(made.data->'rated', '{}');
    deep_v := coalesce(@extschema@._json_num(r->'deepDischargeVoltageV'), m.min_voltage_v);
    over_v := coalesce(@extschema@._json_num(r->'overchargeVoltageV'), m.max_voltage_v);
    t_hi := @extschema@._json_num(r->'idleTemperatureUpperC');
    t_lo := @extschema@._json_num(r->'idleTemperatureLowerC');
    RETURN QUERY
    WITH c AS (
        SELECT e.ledger_at, e.ledger_origin, e.ledger_seq AS seq, e.ledger_hash AS hash, e.occurred_at,
               d.value->'cycle'->>'type' AS type,
               -- a failed measurement ("NaN"), or anything that is not a
               -- number, is not measured (_json_num(); a cast of a value
               -- that was not one raised an error)
               @extschema@._json_num(d.value->'cycle'->'duration_s') AS duration_s,
               @extschema@._json_num(d.value->'cycle'->'v_min') AS v_min,
               @extschema@._json_num(d.value->'cycle'->'v_max') AS v_max,
               @extschema@._json_num(d.value->'cycle'->'t_cell_max_c') AS t_max,
               @extschema@._json_num(d.value->'cycle'->'ambient_c') AS ambient,
               @extschema@._json_num(d.value->'cycle'->'ah') AS ah,
               @extschema@._json_num(d.value->'cycle'->'wh') AS wh,
               @extschema@._json_num(d.value->'cycle'->'capacity_ah') AS cap,
               @extschema@._json_num(d.value->'cycle'->'re_ohm') AS re,
               row_number() OVER (ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq) AS n
          FROM @extschema@.battery_event e
          JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
           AND d.tier = 'legitimate_interest' AND jsonb_typeof(d.value->'cycle') = 'object'
    ), pairs AS (
        -- round trip: a discharge's energy over the energy of the charge just
        -- before it (the previous charge or discharge, by lag() over those
        -- alone: a subquery per discharge scanning the reports before it
        -- was quadratic, 0.37 s a call at 2,358 reports; 0.22.0)
        SELECT x.n, x.occurred_at, x.seq, x.hash, x.wh / x.prev_wh AS rte
          FROM (SELECT y.n, y.occurred_at, y.seq, y.hash, y.type, y.wh,
                       lag(y.type) OVER w AS prev_type, lag(y.wh) OVER w AS prev_wh
                  FROM c y WHERE y.type IN ('charge', 'discharge')
                WINDOW w AS (ORDER BY y.n)) x
         WHERE x.type = 'discharge' AND x.wh IS NOT NULL AND x.prev_type = 'charge' AND x.prev_wh > 0
    ), last_dis AS (
        SELECT * FROM c WHERE type = 'discharge' AND cap IS NOT NULL ORDER BY n DESC LIMIT 1
    ), last_en AS (
        SELECT * FROM c WHERE type = 'discharge' AND wh IS NOT NULL ORDER BY n DESC LIMIT 1
    ), re AS (
        SELECT (SELECT x.re FROM c x WHERE x.re > 0 ORDER BY x.n LIMIT 1) AS first,
               l.re AS last, l.occurred_at, l.seq, l.hash
          FROM (SELECT * FROM c WHERE re > 0 ORDER BY n DESC LIMIT 1) l
    ), last AS (
        SELECT * FROM c ORDER BY n DESC LIMIT 1
    ), agg AS (
        SELECT count(*) AS n,
               sum(ah) AS ah, sum(wh) AS wh, sum(ah) FILTER (WHERE type = 'discharge') AS ah_out,
               max(t_max) AS t_max,
               count(*) FILTER (WHERE type = 'discharge' AND v_min < deep_v) AS deep,
               count(*) FILTER (WHERE type = 'charge' AND v_max > over_v) AS over,
               sum(duration_s) FILTER (WHERE type IN ('charge', 'discharge') AND t_max > t_hi) / 60 AS hi,
               sum(duration_s) FILTER (WHERE type = 'charge' AND t_max > t_hi) / 60 AS hi_chg,
               sum(duration_s) FILTER (WHERE type IN ('charge', 'discharge') AND ambient < t_lo) / 60 AS lo,
               sum(duration_s) FILTER (WHERE type = 'charge' AND ambient < t_lo) / 60 AS lo_chg
          FROM c
    )
    SELECT v.key, v.value, v.at, a.n, v.method, v.seq, v.hash
      FROM agg a, last l,
      LATERAL (
        SELECT 'capacity_ah', round(d.cap, 5), d.occurred_at, 'latest measured discharge capacity', d.seq, d.hash FROM last_dis d
        UNION ALL SELECT 'soh_pct', round(100 * d.cap / m.rated_capacity_ah, 2), d.occurred_at,
                         'latest discharge capacity / rated capacity', d.seq, d.hash FROM last_dis d
        UNION ALL SELECT 'capacity_fade_pct', round(100 * (m.rated_capacity_ah - d.cap) / m.rated_capacity_ah, 2), d.occurred_at,
                         '(rated capacity - latest discharge capacity) / rated capacity', d.seq, d.hash FROM last_dis d
        UNION ALL SELECT 'remaining_energy_kwh', round(d.wh / 1000, 6), d.occurred_at,
                         'energy of the latest measured discharge', d.seq, d.hash FROM last_en d
        UNION ALL SELECT 'soce_pct', round(100 * d.wh / 1000 / m.rated_energy_kwh, 2), d.occurred_at,
                         'energy of the latest discharge / rated (certified) energy', d.seq, d.hash
                    FROM last_en d WHERE m.rated_energy_kwh > 0
        UNION ALL SELECT 'capacity_throughput_ah', round(a.ah, 4), l.occurred_at, 'sum of charged and discharged Ah', l.seq, l.hash
                   WHERE a.ah IS NOT NULL
        UNION ALL SELECT 'energy_throughput_kwh', round(a.wh / 1000, 6), l.occurred_at, 'sum of charged and discharged energy', l.seq, l.hash
                   WHERE a.wh IS NOT NULL
        UNION ALL SELECT 'full_cycles', round(a.ah_out / m.rated_capacity_ah, 2), l.occurred_at,
                         'discharged Ah / rated capacity (full equivalent cycles)', l.seq, l.hash WHERE a.ah_out IS NOT NULL
        UNION ALL SELECT 're_ohm', x.last, x.occurred_at, 'latest measured internal (ohmic) resistance', x.seq, x.hash FROM re x
        UNION ALL SELECT 'resistance_increase_pct', round(100 * (x.last / x.first - 1), 2), x.occurred_at,
                         'latest / first measured internal resistance - 1', x.seq, x.hash FROM re x
        UNION ALL SELECT 'power_fade_pct', round(100 * (1 - x.first / x.last), 2), x.occurred_at,
                         'estimated from resistance: power capability at a given voltage is inversely proportional to it', x.seq, x.hash FROM re x
        UNION ALL SELECT 'rte_remaining_pct', round(100 * p.rte, 2), p.occurred_at,
                         'latest discharge energy / energy of the charge before it', p.seq, p.hash
                    FROM (SELECT * FROM pairs ORDER BY n DESC LIMIT 1) p
        -- (none when the first round trip gave nothing back: a discharge of
        -- 0 Wh, an application's reading, made the division fail, and with
        -- it every legitimate-interest passport of the battery; red team r23, U)
        UNION ALL SELECT 'rte_fade_pct', round(100 * (f.rte - p.rte) / nullif(f.rte, 0), 2), p.occurred_at,
                         'decrease of the round-trip efficiency since the first measured cycle', p.seq, p.hash
                    FROM (SELECT * FROM pairs ORDER BY n DESC LIMIT 1) p, (SELECT * FROM pairs ORDER BY n LIMIT 1) f
        UNION ALL SELECT 't_cell_max_c', a.t_max, l.occurred_at, 'highest measured cell temperature', l.seq, l.hash WHERE a.t_max IS NOT NULL
        UNION ALL SELECT 'deep_discharge_events', a.deep, l.occurred_at,
                         format('discharges below %s V', deep_v), l.seq, l.hash WHERE deep_v IS NOT NULL
        UNION ALL SELECT 'overcharge_events', a.over, l.occurred_at,
                         format('charges above %s V', over_v), l.seq, l.hash WHERE over_v IS NOT NULL
        UNION ALL SELECT 't_extreme_high_min', round(coalesce(a.hi, 0), 2), l.occurred_at,
                         format('at most: duration of charges and discharges whose peak cell temperature exceeded %s degC', t_hi), l.seq, l.hash
                   WHERE t_hi IS NOT NULL
        UNION ALL SELECT 't_extreme_high_charging_min', round(coalesce(a.hi_chg, 0), 2), l.occurred_at,
                         format('at most: duration of charges whose peak cell temperature exceeded %s degC', t_hi), l.seq, l.hash
                   WHERE t_hi IS NOT NULL
        UNION ALL SELECT 't_extreme_low_min', round(coalesce(a.lo, 0), 2), l.occurred_at,
                         format('at most: duration of charges and discharges at an ambient temperature below %s degC', t_lo), l.seq, l.hash
                   WHERE t_lo IS NOT NULL
        UNION ALL SELECT 't_extreme_low_charging_min', round(coalesce(a.lo_chg, 0), 2), l.occurred_at,
                         format('at most: duration of charges at an ambient temperature below %s degC', t_lo), l.seq, l.hash
                   WHERE t_lo IS NOT NULL
      ) v(key, value, at, method, seq, hash)
     WHERE v.value IS NOT NULL;
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
    SELECT jsonb_object_agg(r.material, jsonb_build_object('preConsumerShare', r.pre_consumer_pct,
                                                           'postConsumerShare', r.post_consumer_pct,
                                                           'basis', 'derived'))
      INTO rc FROM @extschema@._recycled_content(battery, made.ledger_hash) r;
    rc := coalesce(rc, '{}');
    FOR k IN SELECT jsonb_object_keys(declared) LOOP
        IF NOT rc ? k AND jsonb_typeof(declared->k) = 'object' THEN
            rc := rc || jsonb_build_object(k, (declared->k) || '{"basis": "declared"}');
        END IF;
    END LOOP;
    IF rc <> '{}' THEN
        v := jsonb_set(v, '{model,recycled_content}', rc);
    END IF;

    -- usage values: derived from the reports' cycles, the reported value where none can be
    IF usage_ok THEN
        SELECT jsonb_object_agg(u.key, jsonb_build_object('value', u.value, 'at', u.at, 'event', 'soh_reported',
                   'sequence', u.ledger_seq, 'ledgerHash', u.ledger_hash::text,
                   'leafIndex', @extschema@.leaf_index('@extschema@.battery_event', u.ledger_hash),
                   'basis', 'derived', 'method', u.method, 'reports', u.reports))
          INTO ud
          FROM @extschema@._usage_derived(battery, made, model) u JOIN @extschema@._dynamic_attribute a ON a.key = u.key;
        SELECT jsonb_object_agg(d.key, d.value || '{"basis": "reported"}') INTO rep
          FROM jsonb_each(CASE WHEN jsonb_typeof(v->'dynamic') = 'object' THEN v->'dynamic' ELSE '{}' END) d;
        IF ud IS NOT NULL OR rep IS NOT NULL THEN
            v := jsonb_set(v, '{dynamic}', coalesce(rep, '{}') || coalesce(ud, '{}'));
        END IF;
    END IF;

    -- operators, manufacturers and facilities: the registry's block when the
    -- event's signer holds the identifier it names
    v := @extschema@._passport_operator(v, '{manufactured}', 'manufacturer');
    v := @extschema@._passport_operator(v, '{issued}', 'operator');
    -- the facility: its registered address is the manufacturing place when the event gives none
    info := @extschema@.operator_info(v->'manufactured'->'data'->>'facility');
    IF info IS NOT NULL AND info->>'member' = v->'manufactured'->>'by' THEN
        v := jsonb_set(v, '{manufactured,facility}', info || '{"basis": "registered"}');
        IF NOT v->'manufactured'->'data' ? 'manufacturingPlace' AND info ? 'address' THEN
            v := jsonb_set(v, '{manufactured,data,manufacturingPlace}', info->'address');
        END IF;
    END IF;
    RETURN v;
END $$;

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
    recent jsonb;
    recent_keys text[];
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
        'model', to_jsonb(model) - 'materials' - 'ledger_sig' - 'ledger_key_id' - 'ledger_prev' - 'ledger_hash'
                 - 'ledger_seq' - 'ledger_batch' - 'ledger_origin' - 'ledger_at',
        -- point 1: chemistry, critical raw materials, hazardous substances; point 2: the rest of the composition
        'materials', CASE WHEN restricted_ok THEN model.materials
                          ELSE (SELECT jsonb_object_agg(key, value) FROM jsonb_each(model.materials)
                                 WHERE key IN ('chemistry', 'criticalRawMaterials', 'hazardousSubstances', 'hazardousElements')) END,
        'manufactured', jsonb_build_object('at', made.occurred_at, 'by', (@extschema@._signer(made.ledger_key_id)).member,
                                           'data', made.data),
        'issued', jsonb_build_object('at', placed.occurred_at, 'by', (@extschema@._signer(placed.ledger_key_id)).member,
                                     'event', placed.event, 'data', placed.data),
        -- the passports the fold's effective moves issued (red team r20, F2:
        -- every row naming an id was listed, a member's moves of a battery it
        -- did not hold included): from the cache, or the whole fold on a standby
        'history', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                               'passportId', e.passport_id, 'issuedAt', e.occurred_at,
                               'issuedBy', (@extschema@._signer(e.ledger_key_id)).member,
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
        -- each dynamic attribute from the latest usage report that set it: first
        -- among the battery's 8 latest reports (one index range), so that only
        -- the keys none of them carries walk back further (issue 15; on the NASA
        -- reports, 8 cost less than 32, each a disclosure lookup, and than 2 or
        -- 4, which leave keys to the walk: docs/benchmarks.md); a value that
        -- is no number is none (_json_num(): a cast made the passport fail)
        SELECT jsonb_object_agg(k.key, jsonb_build_object('value', @extschema@._json_num(k.raw), 'at', k.occurred_at,
                   'event', k.event, 'sequence', k.ledger_seq, 'ledgerHash', k.ledger_hash::text,
                   'leafIndex', @extschema@.leaf_index('@extschema@.battery_event', k.ledger_hash))),
               array_agg(k.key)
          INTO recent, recent_keys
          FROM (SELECT DISTINCT ON (a.key) a.key, r.value->a.key AS raw, r.occurred_at, r.event,
                       r.ledger_seq, r.ledger_hash
                  FROM @extschema@._dynamic_attribute a
                  JOIN (SELECT e.event, e.occurred_at, e.ledger_at, e.ledger_origin, e.ledger_seq, e.ledger_hash, d.value
                          FROM (SELECT * FROM @extschema@.battery_event e
                                 WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
                                 ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 8) e
                          JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                         WHERE d.tier = 'legitimate_interest') r ON r.value ? a.key
                 ORDER BY a.key, r.ledger_at DESC, r.ledger_origin DESC, r.ledger_seq DESC) k;
        recent_keys := coalesce(recent_keys, '{}');
        v := v || jsonb_build_object(
            'status', st.status,
            'inService', (SELECT min(e.occurred_at) FROM @extschema@.battery_event e
                           WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'installed'
                             -- signed in a role the event allows (red team r20, F3: a
                             -- member without one, bypassing its rules, wrote them)
                             AND EXISTS (SELECT 1 FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at) sg
                                           JOIN @extschema@.event_kind ek ON ek.event = e.event AND ek.subject = 'battery'
                                          WHERE sg.roles && ek.roles)),
            'dynamic', (SELECT CASE WHEN recent IS NULL AND older IS NULL THEN NULL
                                    ELSE coalesce(recent, '{}') || coalesce(older, '{}') END
                          FROM (SELECT jsonb_object_agg(a.key, jsonb_build_object('value', x.value, 'at', x.occurred_at,
                                   'event', (x.e).event, 'sequence', (x.e).ledger_seq, 'ledgerHash', (x.e).ledger_hash::text,
                                   'leafIndex', @extschema@.leaf_index('@extschema@.battery_event', (x.e).ledger_hash))) AS older
                                  FROM @extschema@._dynamic_attribute a
                                 CROSS JOIN LATERAL (
                                       -- (a value that is no number: none, not an error; _json_num())
                                       SELECT @extschema@._json_num(d.value->a.key) AS value, e.occurred_at, e
                                         FROM @extschema@.battery_event e
                                         JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                                        WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
                                          AND d.tier = 'legitimate_interest' AND d.value ? a.key
                                        ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1) x
                                 WHERE NOT a.key = ANY (recent_keys)
                                   -- a key no report carries would walk every report of the battery: ask the
                                   -- disclosures' key index first (the NASA data has 9 of the 25 keys)
                                   AND EXISTS (SELECT 1 FROM @extschema@.disclosure d0 WHERE d0.value ? a.key)) o),
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
        -- test reports: restricted values of quality checks disclosed to authorities
        v := v || jsonb_build_object('testReports', (
            SELECT jsonb_agg(d.value->'testReport' ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
              FROM @extschema@.battery_event e
              JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
             WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'quality_checked'
               AND d.tier = 'authority' AND d.value ? 'testReport'));
    END IF;
    -- values computed from the ledger (recycled content, usage) and registered operators
    RETURN @extschema@._passport_derived(v, battery, usage_ok, made, model);
END $$;

-- The passport hands usage values the manufacture and model it read
-- (20_usage_derived_once.replace): _passport_derived() takes them as rows.
DROP FUNCTION @extschema@._passport_derived(jsonb, @extschema@.battery_id, boolean, @extschema@.hash256);
REVOKE ALL ON FUNCTION @extschema@._passport_derived(jsonb, @extschema@.battery_id, boolean, @extschema@.battery_event, @extschema@.battery_model) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._usage_derived(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._usage_derived(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model)
    TO battledger_legitimate_interest;
-- keyorigin: key rows count only where their origin added the member they
-- name (docs/security.md, 0.22.0).  The keys view reads the counted rows
-- (_key_rows_counted, new); the one view that probed key_event for a row's
-- signer reads keys instead (the functions: 31_keys_counted.replace).
CREATE VIEW @extschema@._key_rows_counted AS
    SELECT k.* FROM @extschema@.key_event k
     WHERE EXISTS (SELECT FROM @extschema@.member_event e
                    WHERE e.member = k.member AND e.event = 'added'
                      AND (e.ledger_origin = k.ledger_origin
                           OR (e.ledger_origin = ''
                               AND k.ledger_origin = coalesce(pg_catalog.current_setting('battledger.origin', true), ''))));
-- The keys that sign, one row per key: the counted rows adding it.  A key
-- whose counted rows name two members signs for neither (which one is
-- meant cannot be told; registry_conflicts() names key_registered_twice);
-- rows adding it twice for one member give the validity both allow, so
-- that no reader depends on which row an index scan meets first (until
-- 0.21.0 the key cache and _signer_at() took one with LIMIT 1).  A
-- revocation counts for the member it names, if it counts (red team r25,
-- V1): one written past the rules revokes nothing.  The C key cache (the
-- chain trigger, the arrival check, verify()) reads this view, and so do
-- _signer(), _signer_at() and every probe of a row's signer.  Grouped by
-- key alone, so that a reader's key_id is pushed down to the index on
-- key_event (member is an aggregate: probe by key, then compare it).
CREATE OR REPLACE VIEW @extschema@.keys AS
    SELECT a.key_id, min(a.member) AS member, a.public_key, max(a.valid_from) AS valid_from, min(a.valid_until) AS valid_until,
           (SELECT min(r.revoked_at) FROM @extschema@._key_rows_counted r
             WHERE r.key_id OPERATOR(@extschema@.=) a.key_id AND r.event = 'revoked' AND r.member = min(a.member)) AS revoked_at
      FROM @extschema@._key_rows_counted a
     WHERE a.event = 'added'
     GROUP BY a.key_id, a.public_key
    HAVING min(a.member) = max(a.member);
GRANT SELECT ON @extschema@._key_rows_counted TO PUBLIC;
-- (as in sql/install/80_registry.sql)
CREATE OR REPLACE VIEW @extschema@._lot_counted_creation WITH (security_invoker = true) AS
SELECT l.lot_id, f.event, f.material, f.mass_kg, f.inputs, f.signer, f.ledger_at, f.ledger_origin, f.ledger_seq
  FROM (SELECT x.lot_id FROM @extschema@.lot_event x
         WHERE x.event IN ('extracted', 'processed', 'secondary_created') GROUP BY x.lot_id) l
  -- (OFFSET 0: not pulled up, so that the key's test gates the claims'
  -- query, which a lot id in no namespace does not run)
  LEFT JOIN LATERAL (SELECT c.members, c.since FROM @extschema@._key_claims(@extschema@._text_id_key(l.lot_id)) c
                      WHERE @extschema@._text_id_key(l.lot_id) IS NOT NULL OFFSET 0) cl ON true
  LEFT JOIN LATERAL (
      SELECT x.event, x.material, x.mass_kg, x.inputs, s.member AS signer, x.ledger_at, x.ledger_origin, x.ledger_seq
        FROM @extschema@.lot_event x
        CROSS JOIN LATERAL (SELECT ke.member FROM @extschema@.keys ke
                             WHERE ke.key_id OPERATOR(@extschema@.=) x.ledger_key_id OFFSET 0) s
       WHERE x.lot_id = l.lot_id AND x.event IN ('extracted', 'processed', 'secondary_created')
         AND coalesce((SELECT m.roles FROM @extschema@.member_event m
                        WHERE m.member = s.member AND m.at <= x.ledger_at
                        ORDER BY m.at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1)
                      && (SELECT k.roles FROM @extschema@.event_kind k WHERE k.event = x.event AND k.subject = 'lot'),
                      false)
         AND (cl.members IS NULL OR @extschema@._key_claim_allows(cl.members, cl.since, s.member, x.ledger_at))
       ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LIMIT 1) f ON true;
CREATE OR REPLACE FUNCTION @extschema@._signer_at(key_id @extschema@.hash256, at timestamptz, OUT member text, OUT roles text[])
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    -- (the key's counted member, as the key cache reads it: a key row
    -- written where its member is not hosted signs for nobody, and a key
    -- two members' rows count for is nobody's; 0.22.0)
    SELECT k.member INTO member FROM @extschema@.keys k
     WHERE k.key_id OPERATOR(@extschema@.=) _signer_at.key_id;
    IF member IS NOT NULL THEN
        SELECT m.roles INTO roles FROM @extschema@.member_event m
         WHERE m.member = _signer_at.member AND m.at <= _signer_at.at
         ORDER BY m.at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._lot_ledger(lot text)
    RETURNS TABLE (step integer, battery_id @extschema@.battery_id, lot_id text, ledger_at timestamptz,
                   ledger_origin text, ledger_seq bigint, event text, signer text, mass_kg numeric,
                   effective boolean, holder text, offered text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
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

CREATE OR REPLACE FUNCTION @extschema@._passport_holder_by(passport text, members text[], since timestamptz[],
                                                after_row @extschema@.battery_event DEFAULT NULL,
                                                OUT ledger_at timestamptz, OUT ledger_origin text, OUT ledger_seq bigint,
                                                OUT battery_id @extschema@.battery_id)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    first timestamptz;
BEGIN
    IF members IS NULL THEN
        SELECT o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id INTO ledger_at, ledger_origin, ledger_seq, battery_id
          FROM @extschema@.battery_event o
         WHERE o.passport_id = passport
           AND (o.event = 'placed_on_market'
                OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
           AND (after_row.ledger_at IS NULL
                OR ((o.ledger_at, o.ledger_origin, o.ledger_seq) >= (after_row.ledger_at, after_row.ledger_origin, after_row.ledger_seq)
                    AND ((o.ledger_at, o.ledger_origin, o.ledger_seq) > (after_row.ledger_at, after_row.ledger_origin, after_row.ledger_seq)
                         OR o.battery_id OPERATOR(@extschema@.>) after_row.battery_id)))
         ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id LIMIT 1;
        RETURN;
    END IF;
    SELECT min(x) INTO first FROM unnest(since) x;
    SELECT h.ledger_at, h.ledger_origin, h.ledger_seq, h.battery_id INTO ledger_at, ledger_origin, ledger_seq, battery_id
      FROM (-- any member's rows dated before every claim
            (SELECT o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id
               FROM @extschema@.battery_event o
              WHERE o.passport_id = passport AND o.ledger_at < first
                AND (o.event = 'placed_on_market'
                     OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
                AND (after_row.ledger_at IS NULL
                     OR ((o.ledger_at, o.ledger_origin, o.ledger_seq) >= (after_row.ledger_at, after_row.ledger_origin, after_row.ledger_seq)
                         AND ((o.ledger_at, o.ledger_origin, o.ledger_seq) > (after_row.ledger_at, after_row.ledger_origin, after_row.ledger_seq)
                              OR o.battery_id OPERATOR(@extschema@.>) after_row.battery_id)))
              ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id LIMIT 1)
            UNION ALL
            -- a claiming member's rows (its keys: as _signer() finds a row's
            -- member) dated from its registration.  A key added for two
            -- members (a member's superuser adding its own key again for
            -- the namespace's member) is the one member _signer_at()
            -- reads, as the verdict's: every key row naming the member
            -- made the squatter's row, judged passport_foreign_namespace,
            -- hold the id, and the member's own issue of it BL038 (red
            -- team r24, K1)
            SELECT f.* FROM unnest(members, since) c(member, at)
              -- (keys: the counted rows, one member per key, _signer_at()'s
              -- reading, probed by key: 0.22.0)
              JOIN @extschema@.key_event ka ON ka.member = c.member AND ka.event = 'added'
              CROSS JOIN LATERAL (SELECT x.key_id FROM @extschema@.keys x
                                   WHERE x.key_id OPERATOR(@extschema@.=) ka.key_id AND x.member = c.member OFFSET 0) k
              CROSS JOIN LATERAL (
                SELECT o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id
                  FROM @extschema@.battery_event o
                 WHERE o.passport_id = passport AND o.ledger_key_id OPERATOR(@extschema@.=) k.key_id AND o.ledger_at >= c.at
                   AND (o.event = 'placed_on_market'
                        OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
                   AND (after_row.ledger_at IS NULL
                        OR ((o.ledger_at, o.ledger_origin, o.ledger_seq) >= (after_row.ledger_at, after_row.ledger_origin, after_row.ledger_seq)
                            AND ((o.ledger_at, o.ledger_origin, o.ledger_seq) > (after_row.ledger_at, after_row.ledger_origin, after_row.ledger_seq)
                                 OR o.battery_id OPERATOR(@extschema@.>) after_row.battery_id)))
                 ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id LIMIT 1) f) h
     ORDER BY h.ledger_at, h.ledger_origin, h.ledger_seq, h.battery_id LIMIT 1;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._model_holder(model text) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    holder text;
BEGIN
    -- (the claims read in the same statement as the model's rows: one query
    -- less on every passport's path, 0.20.0; _key_claims(NULL) is NULLs)
    SELECT s.member INTO holder
      FROM @extschema@._key_claims(@extschema@._text_id_key(model)) c
     CROSS JOIN @extschema@.battery_model m
     CROSS JOIN LATERAL (SELECT k.member FROM @extschema@.keys k
                          WHERE k.key_id OPERATOR(@extschema@.=) m.ledger_key_id OFFSET 0) s
     WHERE m.model_id = model
       AND (c.members IS NULL OR @extschema@._key_claim_allows(c.members, c.since, s.member, m.ledger_at))
     ORDER BY m.ledger_at, m.ledger_origin, m.ledger_seq LIMIT 1;
    RETURN holder;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._model_row(model text) RETURNS @extschema@.battery_model
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    holder text := @extschema@._model_holder(model);
    r @extschema@.battery_model;
BEGIN
    SELECT * INTO r FROM @extschema@.battery_model m WHERE m.model_id = model
       AND EXISTS (SELECT FROM @extschema@.keys k
                    WHERE k.key_id OPERATOR(@extschema@.=) m.ledger_key_id AND k.member = holder OFFSET 0)
     ORDER BY m.ledger_at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1;
    RETURN r;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.registry_conflicts()
    RETURNS TABLE (battery_id @extschema@.battery_id, ledger_origin text, ledger_seq bigint, event text,
                   signer text, problem text, kind text, message text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    -- a race two honest members can lose (one passport id, one battery made
    -- twice, moves before custody) is a conflict, and so is what the loser
    -- wrote on that battery after it, believing it had won
    SELECT c.battery_id, c.ledger_origin, c.ledger_seq, c.event, c.signer, c.problem,
           CASE WHEN c.race OR c.lost_before THEN 'conflict' ELSE 'equivocation' END, c.message
      FROM (SELECT b.battery_id, l.*, r.race,
                   coalesce(bool_or(NOT l.effective AND r.race) OVER (
                       PARTITION BY b.battery_id, l.signer ORDER BY l.ledger_at, l.ledger_origin, l.ledger_seq
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), false) AS lost_before
              FROM (SELECT DISTINCT e.battery_id FROM @extschema@.battery_event e
                     WHERE e.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                                       'handover', 'handover_accepted')) b,
                   @extschema@.battery_lifecycle(b.battery_id) l,
                   -- (a battery made under another maker's namespace is never an
                   -- honest race, whether or not the registration had arrived:
                   -- no maker uses another company's prefix)
                   LATERAL (SELECT l.problem IN ('passport_taken', 'manufactured_twice') OR NOT l.custody AS race) r) c
     WHERE NOT c.effective
    UNION ALL
    -- the other events commute; their role is all that decides
    SELECT e.battery_id, e.ledger_origin, e.ledger_seq, e.event, s.member,
           CASE WHEN k.event IS NULL THEN 'unknown_event' ELSE 'wrong_role' END, 'equivocation',
           format('member "%s" may not sign "%s"', s.member, e.event)
      FROM @extschema@.battery_event e
      CROSS JOIN LATERAL @extschema@._signer_at(e.ledger_key_id, e.ledger_at) s
      LEFT JOIN @extschema@.event_kind k ON k.event = e.event AND k.subject = 'battery'
     WHERE NOT @extschema@._is_lifecycle(e.event) AND s.member IS NOT NULL
       AND (k.event IS NULL OR NOT s.roles && k.roles)
    UNION ALL
    -- a passport id named by an event that does not issue one (the fold
    -- judges it for the other lifecycle events); since custody, the writer refuses it
    SELECT e.battery_id, e.ledger_origin, e.ledger_seq, e.event, s.member, 'passport_not_issued', 'equivocation',
           format('"%s" does not issue a passport, but names "%s"', e.event, e.passport_id)
      FROM @extschema@.battery_event e
      CROSS JOIN LATERAL @extschema@._signer(e.ledger_key_id) s
     WHERE e.passport_id IS NOT NULL AND s.member IS NOT NULL
       AND e.event NOT IN ('placed_on_market', 'status_changed', 'dismantled', 'recycled')
       AND e.ledger_at >= @extschema@._custody_from()
    UNION ALL
    -- two members claiming overlapping namespaces: where they overlap, neither
    -- excludes the other until the consortium settles it (both are named).
    -- Each registration once, with the first other member's registration
    -- it overlaps (one covering it, else one it covers): a row per pair
    -- made a member registering one namespace under a thousand members of
    -- its own (add_member(), add_id_namespace(): a WARNING each) cost every
    -- reader a million rows, 6 s here, and verify_member() as much, growing
    -- with the square (red team r24, D1).  Those covering it are among its
    -- prefixes (_ns_candidates(): the chain index, namespace first); those
    -- it covers are the longer GS1 prefixes it starts (an ISO/IEC 15459
    -- one overlaps only its equal), found in id_namespace_prefix ('0'-'9'
    -- sort before ';' in "C")
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member, 'namespace_contested', 'conflict',
           format('namespace "%s" of "%s" overlaps "%s" of "%s"', n.namespace, n.member, f.namespace, f.member)
      FROM @extschema@.id_namespace n
     CROSS JOIN LATERAL (
           (SELECT o.namespace, o.member FROM @extschema@.id_namespace o
             WHERE o.namespace = ANY (@extschema@._ns_candidates(n.namespace)) AND o.member <> n.member
               AND @extschema@._ns_covers(o.namespace, n.namespace) AND @extschema@._ns_hosted(o.member, o.ledger_origin)
             ORDER BY o.namespace, o.ledger_origin, o.ledger_seq LIMIT 1)
           UNION ALL
           (SELECT o.namespace, o.member FROM @extschema@.id_namespace o
             WHERE n.namespace LIKE 'gs1:%'
               AND (o.namespace COLLATE "C") > (n.namespace COLLATE "C") AND (o.namespace COLLATE "C") < ((n.namespace || ';') COLLATE "C")
               AND o.member <> n.member AND @extschema@._ns_hosted(o.member, o.ledger_origin)
             ORDER BY (o.namespace COLLATE "C") LIMIT 1)
           LIMIT 1) f
     WHERE @extschema@._ns_hosted(n.member, n.ledger_origin)
    UNION ALL
    -- a registration covering batteries another member made (a claim dated
    -- back over them, or made while their rows were on their way): named
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member, 'namespace_over_others', 'conflict',
           format('namespace "%s" of "%s" covers batteries "%s" made, e.g. %s', n.namespace, n.member, m.member, m.battery_id)
      FROM @extschema@.id_namespace n
      CROSS JOIN LATERAL (SELECT s.member, e.battery_id FROM @extschema@.battery_event e, @extschema@._signer(e.ledger_key_id) s
                           WHERE e.event = 'manufactured' AND s.member IS DISTINCT FROM n.member
                             AND @extschema@._ns_covers(n.namespace, @extschema@._id_key(e.battery_id))
                           ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1) m
     WHERE @extschema@._ns_hosted(n.member, n.ledger_origin)
    UNION ALL
    -- the same over models another member declared or lots it created (ns21
    -- put them in namespaces): a registration dated back over them (its at
    -- is the writer's) makes their rows ineffective on every member, which
    -- then named only the victim's rows, as foreign_namespace (red team
    -- r22, N2)
    -- (each namespaced id's key computed once and the registrations that
    -- can cover it probed by their few candidate prefixes, as _key_owners():
    -- not every model and lot per registration)
    SELECT NULL, o.ledger_origin, o.ledger_seq, 'id_namespace', o.member, 'namespace_over_others', 'conflict',
           format('namespace "%s" of "%s" covers %s "%s" made, e.g. %s', o.namespace, o.member, o.what, o.other, o.id)
      FROM (SELECT DISTINCT ON (n.namespace, n.member, n.ledger_origin, n.ledger_seq) n.namespace, n.member, n.ledger_origin, n.ledger_seq,
                   x.what, s.member AS other, x.id
              FROM (SELECT y.*, @extschema@._text_id_key(y.id) AS key
                      FROM (SELECT m.model_id AS id, 'models' AS what, m.ledger_key_id, m.ledger_at, m.ledger_origin, m.ledger_seq
                              FROM @extschema@.battery_model m
                            UNION ALL
                            SELECT l.lot_id, 'lots', l.ledger_key_id, l.ledger_at, l.ledger_origin, l.ledger_seq
                              FROM @extschema@.lot_event l
                             WHERE l.event IN ('extracted', 'processed', 'secondary_created')) y OFFSET 0) x
              JOIN @extschema@.id_namespace n
                ON n.namespace = ANY (@extschema@._ns_candidates(x.key))
               -- _ns_covers() and _signer() written out, as in _key_claims():
               -- SQL functions with a pinned search_path are planned on
               -- every call, here once per namespaced row
               AND CASE WHEN n.namespace LIKE 'gs1:%' THEN starts_with(x.key, n.namespace)
                        ELSE starts_with(x.key || '/', n.namespace || '/') END
              CROSS JOIN LATERAL (SELECT k.member FROM @extschema@.keys k
                                   WHERE k.key_id OPERATOR(@extschema@.=) x.ledger_key_id OFFSET 0) s
             WHERE x.key IS NOT NULL AND s.member IS NOT NULL AND s.member IS DISTINCT FROM n.member
             ORDER BY n.namespace, n.member, n.ledger_origin, n.ledger_seq, x.ledger_at, x.ledger_origin, x.ledger_seq
            OFFSET 0) o
     -- (after the DISTINCT: once per registration named)
     WHERE @extschema@._ns_hosted(o.member, o.ledger_origin)
    UNION ALL
    -- a registration written where its member is not hosted counts for
    -- nothing: an equivocation of its origin, which never added the member.
    -- One written where the member was added, whose hosting another origin
    -- contests by adding it too, is a conflict naming those origins: the
    -- registering member's rules could not see it coming, and another
    -- member's superuser adding the member at its own origin made every
    -- registration of it its host's equivocation (red team r24, H1)
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member,
           CASE WHEN h.others IS NULL THEN 'namespace_not_hosted' ELSE 'namespace_hosting_contested' END,
           CASE WHEN h.others IS NULL THEN 'equivocation' ELSE 'conflict' END,
           CASE WHEN h.others IS NULL
                THEN format('namespace "%s" registered for "%s" by origin "%s", where that member is not hosted', n.namespace, n.member, n.ledger_origin)
                ELSE format('namespace "%s" registered for "%s" by origin "%s", which added that member, as did %s: its hosting is contested',
                            n.namespace, n.member, n.ledger_origin, h.others) END
      FROM @extschema@.id_namespace n
     CROSS JOIN LATERAL (
           SELECT CASE WHEN bool_or(e.ledger_origin = n.ledger_origin)
                       THEN string_agg(DISTINCT '"' || e.ledger_origin || '"', ', ') FILTER (WHERE e.ledger_origin <> n.ledger_origin) END AS others
             FROM @extschema@.member_event e WHERE e.member = n.member AND e.event = 'added') h
     WHERE NOT @extschema@._ns_hosted(n.member, n.ledger_origin)
    UNION ALL
    -- a key added or revoked, or roles changed, by an origin that never
    -- added the member (_governance_rules() refuses it on the writer; red
    -- team r24): an equivocation of that origin.  Such a row counts for
    -- nothing since 0.22.0 (the keys view: its key signs for nobody, its
    -- revocation revokes nothing); this names it.
    -- Where the origin did add the member and another origin contests its
    -- hosting, the namespace branch above names the contest
    -- A revocation naming a member the key was not added for revokes the
    -- key anyway (readers judge it by key_id): that too (red team r25, V1)
    SELECT NULL, g.ledger_origin, g.ledger_seq, g.tbl, g.member,
           CASE g.tbl WHEN 'key_event' THEN 'key_not_hosted' ELSE 'roles_not_hosted' END, 'equivocation',
           CASE WHEN g.hosted THEN format('%s for "%s" by origin "%s", which was not added for that member', g.what, g.member, g.ledger_origin)
                ELSE format('%s for "%s" by origin "%s", which did not add that member', g.what, g.member, g.ledger_origin) END
      -- (a member added under the empty origin was added here: rows of this
      -- database's origin for it are hosted; red team r25, E1)
      FROM (SELECT h.*, EXISTS (SELECT FROM @extschema@.member_event e
                                 WHERE e.member = h.member AND e.event = 'added'
                                   AND (e.ledger_origin = h.ledger_origin
                                        OR (e.ledger_origin = '' AND h.ledger_origin = coalesce(current_setting('battledger.origin', true), '')))) AS hosted
              FROM (SELECT 'key_event' AS tbl, k.member, k.ledger_origin, k.ledger_seq, k.key_id, k.event,
                           format('key %s %s', k.key_id, k.event) AS what
                      FROM @extschema@.key_event k
                    UNION ALL
                    SELECT 'member_event', m.member, m.ledger_origin, m.ledger_seq, NULL, m.event, format('roles %s', m.roles)
                      FROM @extschema@.member_event m WHERE m.event <> 'added') h) g
     WHERE NOT g.hosted
        OR (g.event = 'revoked' AND NOT EXISTS (SELECT FROM @extschema@.key_event a
                                                 WHERE a.key_id OPERATOR(@extschema@.=) g.key_id AND a.event = 'added'
                                                   AND a.member = g.member))
    UNION ALL
    -- a key added more than once (for two members, or by two origins: the
    -- writer refuses a second on one database, red team r25 V2, but two
    -- origins can each add it before seeing the other's row, or one writes
    -- past its rules).  Since 0.22.0 every reader (the keys view) counts
    -- only its rows whose origin added their member, and a key those name
    -- two members for signs for neither; the rest are named too.  Named at
    -- each of its rows, a conflict
    SELECT NULL, a.ledger_origin, a.ledger_seq, 'key_event', a.member, 'key_registered_twice', 'conflict',
           format('key %s added for "%s" by origin "%s", and %s times more', a.key_id, a.member, a.ledger_origin,
                  (SELECT count(*) - 1 FROM @extschema@.key_event o
                    WHERE o.key_id OPERATOR(@extschema@.=) a.key_id AND o.event = 'added'))
      FROM @extschema@.key_event a
     WHERE a.event = 'added'
       AND EXISTS (SELECT FROM @extschema@.key_event o
                    WHERE o.key_id OPERATOR(@extschema@.=) a.key_id AND o.event = 'added'
                      AND (o.ledger_origin, o.ledger_seq) IS DISTINCT FROM (a.ledger_origin, a.ledger_seq))
    UNION ALL
    -- a member added by more than one origin (two origins adding it before
    -- either saw the other's row, or one written past the rules): its
    -- hosting is contested, so nobody registers its keys or roles any more,
    -- while every key already added for it signs as it; named once per row
    -- adding it, whether or not it has a namespace (red team r25, X1)
    SELECT NULL, a.ledger_origin, a.ledger_seq, 'member_event', a.member, 'member_hosting_contested', 'conflict',
           format('member "%s" added by origin "%s", and also by %s', a.member, a.ledger_origin,
                  (SELECT string_agg(DISTINCT '"' || o.ledger_origin || '"', ', ') FROM @extschema@.member_event o
                    WHERE o.member = a.member AND o.event = 'added' AND o.ledger_origin <> a.ledger_origin))
      FROM @extschema@.member_event a
     WHERE a.event = 'added'
       AND EXISTS (SELECT FROM @extschema@.member_event o
                    WHERE o.member = a.member AND o.event = 'added' AND o.ledger_origin <> a.ledger_origin)
    UNION ALL
    -- a model declared by a member that is not its holder (ns21): in another
    -- member's namespace its rules would have refused it (an equivocation,
    -- however dated); otherwise a race for a free id that the first
    -- declarer in registry order won (BL061 for the writer that saw it)
    SELECT NULL, m.ledger_origin, m.ledger_seq, 'battery_model', s.member,
           CASE WHEN o.members IS NOT NULL AND NOT s.member = ANY (o.members) THEN 'model_foreign_namespace' ELSE 'model_not_holder' END,
           CASE WHEN o.members IS NOT NULL AND NOT s.member = ANY (o.members) THEN 'equivocation' ELSE 'conflict' END,
           CASE WHEN o.members IS NOT NULL AND NOT s.member = ANY (o.members)
                THEN format('model id "%s" is in namespace %s of "%s"', m.model_id, array_to_string(o.namespaces, ', '), array_to_string(o.members, '", "'))
                ELSE format('model "%s" is declared by "%s"', m.model_id, h.holder) END
      FROM (SELECT DISTINCT x.model_id FROM @extschema@.battery_model x) d
      CROSS JOIN LATERAL (SELECT @extschema@._model_holder(d.model_id) AS holder) h
      JOIN @extschema@.battery_model m ON m.model_id = d.model_id
      CROSS JOIN LATERAL @extschema@._signer(m.ledger_key_id) s
      CROSS JOIN LATERAL @extschema@._key_owners(@extschema@._text_id_key(m.model_id), m.ledger_at) o
     WHERE s.member IS NOT NULL AND s.member IS DISTINCT FROM h.holder
    UNION ALL
    -- lot rows that change nothing (ns21): a creation in another member's
    -- namespace or of a lot that exists, a shipment by a member that does
    -- not hold the lot, a receipt nobody offered, a role the event does not
    -- allow.  A second creation of a free id is a race (conflict)
    SELECT NULL, st.ledger_origin, st.ledger_seq, st.event, st.signer, st.problem,
           CASE WHEN st.problem = 'lot_created_twice' THEN 'conflict' ELSE 'equivocation' END,
           format('lot "%s": %s', d.lot_id, st.problem)
      FROM (SELECT DISTINCT x.lot_id FROM @extschema@.lot_event x) d
      CROSS JOIN LATERAL @extschema@._lot_custody_steps(d.lot_id) st
     WHERE NOT st.effective
    UNION ALL
    -- rows consuming a lot their signer did not hold (ns21; red team r20, L2):
    -- they use none of it up.  The lots consumed are the ones named as inputs.
    -- And the holder's own rows that the writer's mass balance refuses
    -- (BL031, BL033), which only a holder bypassing its rules writes: a use
    -- of more than was left at the row's place in registry order, or of no
    -- positive mass.  They still count (lot_available_kg() judges consumers
    -- by custody alone, docs/security.md), and are named here: lot_overdrawn,
    -- lot_bad_mass.  Rows tied in registry order share their running sum,
    -- so every member names the same rows.  Honest uses never are: the
    -- writer admits a use only if all uses so far, it included, fit in the
    -- lot, and a sum of positive masses does not depend on their order.
    SELECT c.battery_id, c.ledger_origin, c.ledger_seq, c.event, c.signer,
           CASE WHEN NOT c.effective THEN 'lot_not_held'
                WHEN c.mass_kg IS NULL OR c.mass_kg <= 0 THEN 'lot_bad_mass'
                ELSE 'lot_overdrawn' END,
           'equivocation',
           CASE WHEN NOT c.effective
                THEN format('%s kg of lot "%s" consumed by "%s", which did not hold it', c.mass_kg, d.lot, coalesce(c.signer, '(unknown key)'))
                WHEN c.mass_kg IS NULL OR c.mass_kg <= 0
                THEN format('lot "%s" consumed by "%s" with a mass of %s kg', d.lot, c.signer, coalesce(c.mass_kg::text, 'no'))
                ELSE format('%s kg of lot "%s" consumed by "%s" when %s kg were left', c.mass_kg, d.lot, c.signer,
                            coalesce(m.made, 0) - (c.used - c.mass_kg)) END
      FROM (SELECT DISTINCT i->>'lot' AS lot FROM @extschema@.lot_event x, jsonb_array_elements(x.inputs) i
             WHERE jsonb_typeof(x.inputs) = 'array' AND i->>'lot' IS NOT NULL
            UNION
            SELECT DISTINCT i->>'lot' FROM @extschema@.battery_event b, jsonb_array_elements(b.lots) i
             WHERE b.lots IS NOT NULL AND jsonb_typeof(b.lots) = 'array' AND i->>'lot' IS NOT NULL) d
      -- (one walk of the lot's rows, _lot_ledger(): its one effective
      -- creation's mass, NULL when nobody holds it, and its consumers)
      CROSS JOIN LATERAL (SELECT k.*,
                                 max(k.mass_kg) FILTER (WHERE k.step = 0 AND k.effective
                                                          AND k.event IN ('extracted', 'processed', 'secondary_created')) OVER () AS made,
                                 coalesce(sum(k.mass_kg) FILTER (WHERE k.step = 1 AND k.effective)
                                              OVER (ORDER BY k.ledger_at, k.ledger_origin, k.ledger_seq), 0) AS used
                            FROM @extschema@._lot_ledger(d.lot) k) c
      CROSS JOIN LATERAL (SELECT c.made) m
     WHERE c.step = 1 AND (NOT c.effective OR c.mass_kg IS NULL OR c.mass_kg <= 0 OR c.used > coalesce(m.made, 0))
    UNION ALL
    -- second life and composition: claims of a manufacture the predecessors' and
    -- components' own histories do not confirm
    SELECT c.battery_id, c.ledger_origin, c.ledger_seq, c.event, c.signer, c.problem, c.kind, c.message
      FROM @extschema@._second_life_conflicts() c
$$;

CREATE OR REPLACE FUNCTION @extschema@.battery_history(battery @extschema@.battery_id)
    RETURNS TABLE (seq bigint, event text, occurred_at timestamptz, signer text, new_status text,
                   passport_id text, ledger_hash @extschema@.hash256, leaf_index bigint, sealed boolean)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT e.ledger_seq, e.event, e.occurred_at, k.member,
           e.new_status, e.passport_id, e.ledger_hash, l.leaf_index, l.leaf_index IS NOT NULL
      FROM @extschema@.battery_event e
      -- (keys: the member the key counts for, one row at most; a key_event
      -- row added twice listed the event twice until 0.22.0)
      LEFT JOIN LATERAL (SELECT x.member FROM @extschema@.keys x
                          WHERE x.key_id OPERATOR(@extschema@.=) e.ledger_key_id OFFSET 0) k ON true
      LEFT JOIN @extschema@.log_leaf l ON l.tbl = '@extschema@.battery_event'
                                      AND l.row_hash OPERATOR(@extschema@.=) e.ledger_hash
     WHERE e.battery_id OPERATOR(@extschema@.=) battery
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq
$$;

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
COMMENT ON TABLE @extschema@.fold_inputs IS 'internal: how many rows the members'', keys'' and namespaces'' ledgers have received (part of _fold_generation())';
COMMENT ON FUNCTION @extschema@._fold_inputs_changed() IS 'internal: trigger counting the rows the members'', keys'' and namespaces'' ledgers receive';
COMMENT ON TABLE @extschema@.passport_holder_moved IS 'internal: the batteries whose passport id an earlier issuing row took since (voids their cache rows)';
COMMENT ON FUNCTION @extschema@._holders_moved(@extschema@.battery_id) IS 'internal: the passport_holder_moved rows that void a battery''s cache row';
COMMENT ON FUNCTION @extschema@._passport_holder_arrived() IS 'internal: an issuing row that takes its passport id from its holder says so (passport_holder_moved)';
COMMENT ON FUNCTION @extschema@._battery_fold_cached(@extschema@.battery_id, bigint) IS 'internal: the cache row a battery''s state comes to, read under one snapshot';
COMMENT ON FUNCTION @extschema@._battery_state_cached(@extschema@.battery_id, bigint) IS 'internal: battery_state() for the rules trigger, from its cache where that still holds';
COMMENT ON FUNCTION @extschema@._battery_state_read(@extschema@.battery_id) IS 'internal: battery_state() from the rules'' cache where it still holds, read-only, as the owner';
COMMENT ON TABLE @extschema@.registry_rule IS 'registry rules enforced from a date: custody (set_custody_from())';
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
COMMENT ON VIEW @extschema@.members IS 'each member''s current roles';
COMMENT ON VIEW @extschema@.keys IS 'each key that signs: member, public key, validity and revocation, from the counted key rows';
COMMENT ON VIEW @extschema@._key_rows_counted IS
    'the key_event rows that count: those whose origin added the member they name (the hosting rule)';
COMMENT ON TABLE @extschema@.checkpoint IS 'this log''s signed checkpoints (C2SP), one per seal() piece';
COMMENT ON TABLE @extschema@.log_leaf IS 'this log''s leaves: one per sealed ledger row';
COMMENT ON TABLE @extschema@.log_block IS 'this log''s blocks: the tree''s nodes of levels 4, 8, 12, ..., 16 a row (width fewer at each level''s right edge), which proofs read instead of tiles and leaves';
COMMENT ON TABLE @extschema@.log_tile IS 'this log''s tiles: the hashes of tree level 8 * level, 256 a row (width fewer at the right edge); the nodes between are recomputed, level 0 is log_leaf';
COMMENT ON TABLE @extschema@.log_pending IS 'ledger rows queued for the next seal()';
COMMENT ON TABLE @extschema@.log_pending_intact IS 'one row while log_pending is whole; empty after a crash or failover reset the unlogged queue, until seal() re-queues the unsealed rows from their tables';
COMMENT ON TABLE @extschema@.cosignature IS 'tlog-cosignature/v1 lines: by this member''s witness and received from others';
COMMENT ON TABLE @extschema@.log_conflict IS 'evidence of a member''s rewritten or forked log: both conflicting checkpoints';
COMMENT ON TABLE @extschema@.peer_checkpoint IS 'other members'' checkpoints, verified and witnessed here';
COMMENT ON TABLE @extschema@.peer_leaf IS 'other members'' log leaves, as verified against their checkpoints';
COMMENT ON TABLE @extschema@.peer_arrival IS 'rows and log leaves received from each member, per table, counted by the arrival triggers: consortium_status() compares them ("rows missing", "unsealed")';
COMMENT ON FUNCTION @extschema@.migrate_to_ledger(regclass, name, name[], name, integer) IS
    'bring an existing table with rows into the ledger: the rows copied in order into a new ledger table of the same name, the old table kept aside (docs/dba-guide.md)';
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
    @extschema@._holders_moved(@extschema@.battery_id) FROM PUBLIC;
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
