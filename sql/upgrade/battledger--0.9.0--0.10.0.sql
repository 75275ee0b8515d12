-- battledger 0.9.0 -> 0.10.0 (parts in sql/upgrade/0.9.0--0.10.0/)
-- Red team r9 F1: the apply worker folds a battery whole again only once it
-- has a quarter more lifecycle events than at its last whole fold, which the
-- cache now records (whole_n).  The cache is UNLOGGED and rebuilt on use:
-- emptied here, so that the column needs no value for rows folded by 0.9.0.
TRUNCATE @extschema@.battery_fold_cache;
ALTER TABLE @extschema@.battery_fold_cache ADD COLUMN whole_n bigint NOT NULL;
-- both gain a second argument (with a default: their callers are unchanged)
DROP FUNCTION @extschema@._battery_state_cached(@extschema@.battery_id);
DROP FUNCTION @extschema@._battery_fold_cached(@extschema@.battery_id);
CREATE OR REPLACE FUNCTION @extschema@._battery_fold_cached(battery @extschema@.battery_id, whole_from bigint DEFAULT 0)
    RETURNS @extschema@.battery_fold_cache
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    c @extschema@.battery_fold_cache;
    gen text := @extschema@._fold_generation();
    st @extschema@.battery_fold_state := ROW(false, NULL, NULL, NULL, NULL, NULL);
    n bigint := 0;
    la timestamptz;
    lo text;
    ls bigint;
    ids text[] := '{}';
    l record;
    ha timestamptz;
    ho text;
    ro text;
    rs bigint;
    rsig text;
    rst text;
    wn bigint;
BEGIN
    SELECT * INTO c FROM @extschema@.battery_fold_cache f WHERE f.battery_id OPERATOR(@extschema@.=) battery;
    IF FOUND AND c.generation = gen
       AND c.passport_rows = (SELECT count(*) FROM @extschema@.battery_event o WHERE o.passport_id = ANY (c.passports))
       AND c.n = (SELECT count(*) FROM @extschema@.battery_event x
                   WHERE x.battery_id OPERATOR(@extschema@.=) battery
                     AND x.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                                     'handover', 'handover_accepted')
                     AND (x.ledger_at, x.ledger_origin, x.ledger_seq) <= (c.last_at, c.last_origin, c.last_seq)) THEN
        st := c.st; n := c.n; la := c.last_at; lo := c.last_origin; ls := c.last_seq; ids := c.passports;
        ha := c.handover_at; ho := c.handover_origin;
        ro := c.resp_origin; rs := c.resp_seq; rsig := c.resp_signer; rst := c.resp_status;
        wn := c.whole_n;
    ELSIF whole_from > 0
          AND (SELECT count(*) FROM @extschema@.battery_event x
                WHERE x.battery_id OPERATOR(@extschema@.=) battery
                  AND x.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                                  'handover', 'handover_accepted')) < whole_from THEN
        RETURN NULL;
    END IF;
    FOR l IN SELECT * FROM @extschema@._battery_fold(battery, st, la, lo, ls) LOOP
        st := ROW(l.manufactured, l.status, l.passport_id, l.custodian, l.handover_to, l.fold_successor);
        n := n + 1; la := l.ledger_at; lo := l.ledger_origin; ls := l.ledger_seq;
        IF l.event = 'handover' AND l.effective THEN
            ha := l.ledger_at; ho := l.ledger_origin;
        END IF;
        IF l.event IN ('placed_on_market', 'status_changed') AND l.effective THEN
            ro := l.ledger_origin; rs := l.ledger_seq; rsig := l.signer; rst := l.status;
        END IF;
        IF l.named_passport IS NOT NULL AND NOT l.named_passport = ANY (ids) THEN
            ids := ids || l.named_passport;
        END IF;
    END LOOP;
    RETURN ROW(battery, n, la, lo, ls, gen, ids,
               (SELECT count(*) FROM @extschema@.battery_event o WHERE o.passport_id = ANY (ids)), st, ha, ho,
               ro, rs, rsig, rst, coalesce(wn, n));
END $$;

CREATE OR REPLACE FUNCTION @extschema@._battery_state_cached(battery @extschema@.battery_id, whole_from bigint DEFAULT 0)
    RETURNS @extschema@.battery_fold_state
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    c @extschema@.battery_fold_cache;
    r @extschema@.battery_fold_cache := @extschema@._battery_fold_cached(battery, whole_from);
BEGIN
    SELECT * INTO c FROM @extschema@.battery_fold_cache f WHERE f.battery_id OPERATOR(@extschema@.=) battery;
    IF r.n > 0 AND r IS DISTINCT FROM c THEN
        INSERT INTO @extschema@.battery_fold_cache AS f SELECT r.*
        ON CONFLICT (battery_id) DO UPDATE
           SET n = EXCLUDED.n, last_at = EXCLUDED.last_at, last_origin = EXCLUDED.last_origin,
               last_seq = EXCLUDED.last_seq, generation = EXCLUDED.generation, passports = EXCLUDED.passports,
               passport_rows = EXCLUDED.passport_rows, st = EXCLUDED.st,
               handover_at = EXCLUDED.handover_at, handover_origin = EXCLUDED.handover_origin,
               resp_origin = EXCLUDED.resp_origin, resp_seq = EXCLUDED.resp_seq,
               resp_signer = EXCLUDED.resp_signer, resp_status = EXCLUDED.resp_status,
               whole_n = EXCLUDED.whole_n;
    END IF;
    RETURN r.st;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._battery_fold_arrived() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w bigint;
BEGIN
    -- Rows after the cache's horizon are folded on from it.  A row before
    -- it, a new key or member, or another battery's row naming one of this
    -- battery's passports voids the cache, and the battery is folded whole
    -- again, but here only once it has a quarter more lifecycle events than
    -- at its last whole fold.  A member sending rows dated alternately
    -- before and after the horizon (it chooses ledger_at) made every second
    -- row a whole fold, the apply worker's work growing with the square of
    -- the rows (red team r9, F1); now the whole folds cost at most four
    -- events' folds per arriving row.  An honest row dated a little before
    -- another member's last one most often finds a battery that has grown
    -- by a quarter since its last whole fold (rows folded on meanwhile), and
    -- is folded whole at once; until a battery is, readers fold it whole,
    -- and a local write (the rules trigger) folds it and stores the result.
    SELECT f.whole_n INTO w
      FROM @extschema@.battery_fold_cache f WHERE f.battery_id OPERATOR(@extschema@.=) NEW.battery_id;
    PERFORM @extschema@._battery_state_cached(NEW.battery_id, coalesce(w + greatest(1, w / 4), 0));
    RETURN NULL;
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
BEGIN
    SELECT * INTO made FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured';
    IF NOT FOUND THEN
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
    ELSE
        fc := @extschema@._battery_fold_cached(battery);
        SELECT (fc.st).* INTO st;
        SELECT fc.resp_signer AS signer, e.occurred_at, fc.resp_status AS status INTO resp
          FROM @extschema@.battery_event e
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.ledger_origin = fc.resp_origin AND e.ledger_seq = fc.resp_seq;
    END IF;
    SELECT * INTO model FROM @extschema@.battery_model m WHERE m.model_id = made.model_id
     ORDER BY m.ledger_at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1;
    -- the event that issued the current passport: its signer is the operator responsible now
    SELECT * INTO placed FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id IS NOT NULL
     ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1;

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
        'history', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                               'passportId', e.passport_id, 'issuedAt', e.occurred_at,
                               'issuedBy', (@extschema@._signer(e.ledger_key_id)).member,
                               'status', CASE WHEN usage_ok THEN
                                   CASE WHEN e.event = 'placed_on_market' THEN 'original' ELSE e.new_status END END))
                           ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
                      FROM @extschema@.battery_event e
                     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id IS NOT NULL));

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
        -- 4, which leave keys to the walk: docs/benchmarks.md)
        SELECT jsonb_object_agg(k.key, jsonb_build_object('value', k.raw::numeric, 'at', k.occurred_at,
                   'event', k.event, 'sequence', k.ledger_seq, 'ledgerHash', k.ledger_hash::text,
                   'leafIndex', @extschema@.leaf_index('@extschema@.battery_event', k.ledger_hash))),
               array_agg(k.key)
          INTO recent, recent_keys
          FROM (SELECT DISTINCT ON (a.key) a.key, r.value->>a.key AS raw, r.occurred_at, r.event,
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
                           WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'installed'),
            'dynamic', (SELECT CASE WHEN recent IS NULL AND older IS NULL THEN NULL
                                    ELSE coalesce(recent, '{}') || coalesce(older, '{}') END
                          FROM (SELECT jsonb_object_agg(a.key, jsonb_build_object('value', x.value, 'at', x.occurred_at,
                                   'event', (x.e).event, 'sequence', (x.e).ledger_seq, 'ledgerHash', (x.e).ledger_hash::text,
                                   'leafIndex', @extschema@.leaf_index('@extschema@.battery_event', (x.e).ledger_hash))) AS older
                                  FROM @extschema@._dynamic_attribute a
                                 CROSS JOIN LATERAL (
                                       SELECT (d.value->>a.key)::numeric AS value, e.occurred_at, e
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
                                         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'negative_event'),
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
    RETURN @extschema@._passport_derived(v, battery, usage_ok);
END $$;

CREATE OR REPLACE FUNCTION @extschema@._passport_second_life(battery @extschema@.battery_id, tier text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    restricted_ok boolean := tier IN ('legitimate_interest', 'authority');   -- point 2
    usage_ok boolean := tier = 'legitimate_interest';                        -- point 4
    preds jsonb;
    comps jsonb;
    succ jsonb;
    c record;
    part @extschema@.battery_id;
BEGIN
    -- the predecessors the rows confirm, each with its passport and, for
    -- legitimate interest, its status and performance at the status change:
    -- the values disclosed with the consuming move, else its last usage report
    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'batteryIdentifier', cl.id,
               'passportId', (@extschema@.battery_state(cl.id::@extschema@.battery_id)).passport_id,
               'digitalLink', @extschema@.battery_digital_link(cl.id::@extschema@.battery_id),
               'consumedAt', co.occurred_at, 'consumedBy', co.signer,
               'status', CASE WHEN usage_ok THEN co.new_status END,
               'performanceAtStatusChange', CASE WHEN usage_ok THEN @extschema@._performance_at(cl.id::@extschema@.battery_id, co) END))
               ORDER BY co.ledger_at, co.ledger_origin, co.ledger_seq)
      INTO preds
      FROM @extschema@._second_life_claims(battery) cl
      CROSS JOIN LATERAL @extschema@._battery_consumption(cl.id::@extschema@.battery_id) co
     WHERE cl.claim = 'predecessor' AND cl.confirmed;
    IF restricted_ok THEN
        SELECT jsonb_agg(jsonb_build_object('batteryIdentifier', cl.id,
                                            'passportId', (@extschema@.battery_state(cl.id::@extschema@.battery_id)).passport_id)
                         ORDER BY cl.id)
          INTO comps FROM @extschema@._second_life_claims(battery) cl WHERE cl.claim = 'component' AND cl.confirmed;
        -- the pack this battery was built into (the first confirmed claim)
        SELECT e.battery_id INTO part FROM @extschema@.battery_event e
         WHERE e.event = 'manufactured' AND e.data @> jsonb_build_object('components', jsonb_build_array(battery::text))
           AND EXISTS (SELECT 1 FROM @extschema@._second_life_claims(e.battery_id) cl
                        WHERE cl.claim = 'component' AND cl.id = battery::text AND cl.confirmed)
         LIMIT 1;
    END IF;
    SELECT * INTO c FROM @extschema@._battery_consumption(battery);
    IF c.successor IS NOT NULL THEN
        succ := jsonb_strip_nulls(jsonb_build_object(
            'batteryIdentifier', c.successor,
            'passportId', (@extschema@.battery_state(c.successor::@extschema@.battery_id)).passport_id,
            'at', c.occurred_at, 'by', c.signer,
            'status', CASE WHEN usage_ok THEN c.new_status END,
            -- does the successor's manufacture name this battery?
            'confirmed', EXISTS (SELECT 1 FROM @extschema@._second_life_claims(c.successor::@extschema@.battery_id) cl
                                  WHERE cl.claim = 'predecessor' AND cl.id = battery::text AND cl.confirmed)));
    END IF;
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'predecessors', preds,
        'successor', succ,
        'composition', comps,
        'partOf', part::text,
        -- (responsibleOperator: _passport_source(), with the state)
        -- DIN DKE SPEC 99100 6.1.3.7 f: repairs, for legitimate interest
        'repairs', CASE WHEN usage_ok THEN (
            SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('at', e.occurred_at, 'by', (@extschema@._signer(e.ledger_key_id)).member,
                                                                  'kind', e.data->'kind', 'parts', e.data->'parts',
                                                                  'ledgerHash', e.ledger_hash::text))
                             ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
              FROM @extschema@.battery_event e
             WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'repaired') END));
END $$;

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
        RETURN @extschema@._passport_battledger(src) || jsonb_build_object('secondLife', second_life);
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

CREATE OR REPLACE FUNCTION @extschema@._battery_consumption(battery @extschema@.battery_id,
                                                 OUT successor text, OUT signer text, OUT new_status text,
                                                 OUT ledger_at timestamptz, OUT ledger_origin text, OUT ledger_seq bigint,
                                                 OUT occurred_at timestamptz, OUT restricted @extschema@.hash256)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- the battery's status changes by its own index, then their data (OFFSET
    -- 0: see _second_life_claims())
    IF NOT EXISTS (SELECT 1 FROM (SELECT e.data FROM @extschema@.battery_event e
                                   WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'status_changed'
                                  OFFSET 0) moved
                    WHERE moved.data ? 'successor') THEN
        RETURN;     -- the common case: no fold needed
    END IF;
    SELECT e.data->>'successor', l.signer, e.new_status, e.ledger_at, e.ledger_origin, e.ledger_seq, e.occurred_at, e.restricted
      INTO successor, signer, new_status, ledger_at, ledger_origin, ledger_seq, occurred_at, restricted
      FROM @extschema@.battery_lifecycle(battery) l
      JOIN @extschema@.battery_event e ON e.battery_id OPERATOR(@extschema@.=) battery
                                      AND e.ledger_origin = l.ledger_origin AND e.ledger_seq = l.ledger_seq
     WHERE l.effective AND l.event = 'status_changed' AND e.data ? 'successor'
     ORDER BY l.ledger_at, l.ledger_origin, l.ledger_seq LIMIT 1;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._second_life_claims(battery @extschema@.battery_id)
    RETURNS TABLE (claim text, id text, confirmed boolean, race boolean, maker text,
                   ledger_at timestamptz, ledger_origin text, ledger_seq bigint)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
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
                            -- the first claim wins; ties (one statement) broken by battery id
                            AND (e.ledger_at, e.ledger_origin, e.battery_id::text) < (m.ledger_at, m.ledger_origin, battery::text)
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
COMMENT ON FUNCTION @extschema@._is_lifecycle(text) IS 'internal: does this event kind decide a battery''s state?';
COMMENT ON TABLE @extschema@.id_namespace IS 'identifier namespaces (GS1 company prefixes, ISO/IEC 15459 issuers) and the member that makes batteries under each';
COMMENT ON FUNCTION @extschema@.add_id_namespace(text, text) IS
    'register a GS1 company prefix (gs1:NNNN…) or ISO/IEC 15459 issuer and company (iso15459:IAC/CIN) as a member''s: only it may then write "manufactured" under it';
COMMENT ON FUNCTION @extschema@._id_key(@extschema@.battery_id) IS 'internal: the part of a battery id that namespaces are prefixes of';
COMMENT ON FUNCTION @extschema@._ns_covers(text, text) IS 'internal: does a namespace cover an id key or another namespace?';
COMMENT ON FUNCTION @extschema@._id_owners(@extschema@.battery_id, timestamptz) IS 'internal: the members whose namespaces, registered by a time, cover a battery id';
COMMENT ON FUNCTION @extschema@._ns_hosted(text, text) IS 'internal: was a namespace registration written at the origin that hosts its member?';
COMMENT ON TABLE @extschema@.subject_lock IS 'internal: one row per lot, battery and passport id whose writers take turns (row locks only the rule triggers can take)';
COMMENT ON TABLE @extschema@.battery_fold_cache IS 'internal: the rules'' cache of each battery''s state, with what it was computed from (used only while that holds)';
COMMENT ON FUNCTION @extschema@._battery_fold(@extschema@.battery_id, @extschema@.battery_fold_state, timestamptz, text, bigint) IS
    'internal: battery_lifecycle()''s fold from a state, over the lifecycle events after a registry-order key';
COMMENT ON FUNCTION @extschema@._fold_generation() IS 'internal: what every battery''s fold reads besides its own events, as one value';
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
COMMENT ON VIEW @extschema@.keys IS 'each key: member, public key, validity and revocation';
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
    @extschema@._keys_changed(), @extschema@._batch_check(),
    @extschema@._lot_rules(), @extschema@._battery_rules(), @extschema@._battery_fold_arrived(),
    @extschema@._peer_leaf_trigger(), @extschema@._peer_checkpoint_trigger(),
    @extschema@._cosignature_trigger() FROM PUBLIC;
-- the consortium's agreed custody date is the DBA's to set
REVOKE ALL ON FUNCTION @extschema@.set_custody_from(timestamptz) FROM PUBLIC;
-- a subject's turn is the rule triggers' to take (subject_lock: red team F9)
REVOKE ALL ON FUNCTION @extschema@._lock_subject(text, text) FROM PUBLIC;
-- and the writer's cache of battery states is theirs to write (F8)
REVOKE ALL ON FUNCTION @extschema@._battery_state_cached(@extschema@.battery_id, bigint),
    @extschema@._battery_fold_cached(@extschema@.battery_id, bigint) FROM PUBLIC;
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
