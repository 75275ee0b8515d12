-- battledger 0.5.0 -> 0.6.0 (parts in sql/upgrade/0.5.0--0.6.0/)
-- The transparency log's tiled layout (issue 15; docs/design.md, "The tiled
-- layout"): log_node (one row and one index entry per perfect subtree) gives
-- way to log_tile, whose rows hold the hashes of tree levels 8, 16, ... 256 at
-- a time.  The tiles are built from log_node's nodes of those levels, the
-- root of every stored checkpoint is recomputed from them (through the new
-- library's tree_root(), which reads tiles and leaves only) before log_node
-- is dropped; any difference fails the update.  log_leaf, every checkpoint and
-- every cosignature are kept as they are.
CREATE TABLE @extschema@.log_tile (
    level  int NOT NULL,
    idx    bigint NOT NULL,
    width  int NOT NULL,
    hashes bytea NOT NULL,
    PRIMARY KEY (level, idx, width)
);
ALTER TABLE @extschema@.log_tile ALTER COLUMN hashes SET STORAGE EXTERNAL;

-- each tile's nodes must be there, from its first, without a gap: log_node
-- was append-only, so a gap is a node deleted behind the guard
DO $$
DECLARE
    g record;
BEGIN
    SELECT level, idx / 256 AS tile, count(*) AS n, min(idx) AS lo, max(idx) AS hi INTO g
      FROM @extschema@.log_node WHERE level > 0 AND level % 8 = 0
     GROUP BY level, idx / 256
    HAVING min(idx) <> (idx / 256) * 256 OR max(idx) - min(idx) + 1 <> count(*)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'battledger: cannot build the log''s tiles: the stored nodes of level % from index % to % have gaps',
                        g.level, g.lo, g.hi
            USING ERRCODE = 'data_corrupted',
                  HINT = 'Run battledger.verify_log() under 0.5.0 and restore the log''s tables from a backup.';
    END IF;
END
$$;

INSERT INTO @extschema@.log_tile (level, idx, width, hashes)
SELECT level / 8, idx / 256, count(*)::int,
       pg_catalog.string_agg(@extschema@.bytea(hash), ''::bytea ORDER BY idx)
  FROM @extschema@.log_node
 WHERE level > 0 AND level % 8 = 0
 GROUP BY level / 8, idx / 256;

-- every checkpoint's root, recomputed from the tiles and leaves, before the
-- nodes go
DO $$
DECLARE
    c record;
    r @extschema@.hash256;
BEGIN
    FOR c IN SELECT tree_size, root FROM @extschema@.checkpoint ORDER BY tree_size LOOP
        r := @extschema@.tree_root(c.tree_size);
        IF @extschema@.bytea(r) <> @extschema@.bytea(c.root) THEN
            RAISE EXCEPTION 'battledger: the log''s tiles do not give the root of the checkpoint of size %', c.tree_size
                USING ERRCODE = 'data_corrupted',
                      DETAIL = pg_catalog.format('The tiles give %s, the checkpoint holds %s.', r, c.root),
                      HINT = 'Run battledger.verify_log() under 0.5.0 and restore the log''s tables from a backup.';
        END IF;
    END LOOP;
END
$$;

-- leave the extension first: that also takes it out of pg_extension.extconfig
-- (a dropped member table would leave its OID there for pg_dump)
ALTER EXTENSION battledger DROP TABLE @extschema@.log_node;
DROP TABLE @extschema@.log_node;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.log_tile', '');
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.log_tile
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
ALTER TABLE @extschema@.log_tile ENABLE ALWAYS TRIGGER battledger_append_only;
REVOKE ALL ON @extschema@.log_tile FROM PUBLIC;
GRANT SELECT ON @extschema@.log_tile TO PUBLIC;
COMMENT ON FUNCTION @extschema@.verify_log(boolean, text) IS
    'recompute the tree from the leaves, check every stored tile and checkpoint (signatures against log_vkey, the published verifier key, else the log key file), and (check_rows) every ledger row against its leaf';
-- issue 15: a battery's events other than usage reports, found without walking them
CREATE INDEX battery_event_other ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event <> 'soh_reported';
-- issue 15: the fold cache keeps the operator responsible now (passport());
-- rows folded by 0.5.0 lack it: drop them, the next write folds whole
ALTER TABLE @extschema@.battery_fold_cache ADD COLUMN resp_origin text, ADD COLUMN resp_seq bigint,
    ADD COLUMN resp_signer text, ADD COLUMN resp_status text;
TRUNCATE @extschema@.battery_fold_cache;
CREATE OR REPLACE FUNCTION @extschema@.battery_state(battery @extschema@.battery_id,
                                          OUT manufactured boolean, OUT status text, OUT passport_id text,
                                          OUT custodian text, OUT handover_to text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    l record;
    s @extschema@.battery_fold_state;
BEGIN
    IF NOT pg_is_in_recovery()
       AND has_function_privilege('@extschema@._battery_state_read(@extschema@.battery_id)', 'EXECUTE') THEN
        s := @extschema@._battery_state_read(battery);
        manufactured := s.manufactured; status := s.status; passport_id := s.passport_id;
        custodian := s.custodian; handover_to := s.handover_to;
        RETURN;
    END IF;
    manufactured := false;
    -- the state after the last lifecycle event
    FOR l IN SELECT * FROM @extschema@.battery_lifecycle(battery) LOOP
        manufactured := l.manufactured; status := l.status; passport_id := l.passport_id;
        custodian := l.custodian; handover_to := l.handover_to;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._battery_fold_cached(battery @extschema@.battery_id)
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
               ro, rs, rsig, rst);
END $$;

CREATE OR REPLACE FUNCTION @extschema@._battery_state_cached(battery @extschema@.battery_id)
    RETURNS @extschema@.battery_fold_state
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    c @extschema@.battery_fold_cache;
    r @extschema@.battery_fold_cache := @extschema@._battery_fold_cached(battery);
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
               resp_signer = EXCLUDED.resp_signer, resp_status = EXCLUDED.resp_status;
    END IF;
    RETURN r.st;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._battery_state_read(battery @extschema@.battery_id)
    RETURNS @extschema@.battery_fold_state
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT (@extschema@._battery_fold_cached(battery)).st
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
    recent jsonb;
    recent_keys text[];
BEGIN
    SELECT * INTO made FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no battery % in the registry', battery USING ERRCODE = 'no_data_found';
    END IF;
    SELECT * INTO st FROM @extschema@.battery_state(battery);
    SELECT * INTO model FROM @extschema@.battery_model m WHERE m.model_id = made.model_id
     ORDER BY m.ledger_at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1;
    -- the event that issued the current passport: its signer is the operator responsible now
    SELECT * INTO placed FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id IS NOT NULL
     ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1;

    v := jsonb_build_object(
        'tier', tier,
        'battery', battery::text,
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
        -- among the battery's 32 latest reports (one index range), so that only
        -- the keys none of them carries walk back further (issue 15)
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
                                 ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 32) e
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
    resp record;
    fc @extschema@.battery_fold_cache;
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
    -- responsible now (Art. 77(7), Art. 62): whoever last placed the battery on
    -- the market or moved its status; on "waste" the collector, recycler or
    -- operator that declared it waste.  Its status stays point 4.
    -- From the rules' fold cache where it still holds (issue 15: the same as
    -- the whole fold, read-only); a standby cannot read the unlogged cache.
    IF pg_is_in_recovery() THEN
        SELECT l.signer, e.occurred_at, l.status INTO resp FROM @extschema@.battery_lifecycle(battery) l
          JOIN @extschema@.battery_event e ON e.battery_id OPERATOR(@extschema@.=) battery
                                          AND e.ledger_origin = l.ledger_origin AND e.ledger_seq = l.ledger_seq
         WHERE l.effective AND l.event IN ('placed_on_market', 'status_changed')
         ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC LIMIT 1;
    ELSE
        fc := @extschema@._battery_fold_cached(battery);
        SELECT fc.resp_signer AS signer, e.occurred_at, fc.resp_status AS status INTO resp
          FROM @extschema@.battery_event e
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.ledger_origin = fc.resp_origin AND e.ledger_seq = fc.resp_seq;
    END IF;
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'predecessors', preds,
        'successor', succ,
        'composition', comps,
        'partOf', part::text,
        'responsibleOperator', CASE WHEN resp.signer IS NOT NULL THEN jsonb_strip_nulls(jsonb_build_object(
            'member', resp.signer,
            'since', CASE WHEN usage_ok THEN resp.occurred_at END,
            'becauseOfStatus', CASE WHEN usage_ok THEN resp.status END)) END,
        -- DIN DKE SPEC 99100 6.1.3.7 f: repairs, for legitimate interest
        'repairs', CASE WHEN usage_ok THEN (
            SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('at', e.occurred_at, 'by', (@extschema@._signer(e.ledger_key_id)).member,
                                                                  'kind', e.data->'kind', 'parts', e.data->'parts',
                                                                  'ledgerHash', e.ledger_hash::text))
                             ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
              FROM @extschema@.battery_event e
             WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'repaired') END));
END $$;

CREATE OR REPLACE FUNCTION @extschema@.recycled_content(battery @extschema@.battery_id)
    RETURNS TABLE (material text, pre_consumer_pct numeric, post_consumer_pct numeric, consumed_kg numeric, lots bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY
    WITH RECURSIVE consumed AS (
        SELECT i->>'lot' AS lot, sum((i->>'mass_kg')::numeric) AS kg
          FROM @extschema@.battery_event e, jsonb_array_elements(e.lots) i
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
           AND jsonb_typeof(e.lots) = 'array'
         GROUP BY 1
    ), trace(root, lot, weight, depth, event, inputs, material) AS (
        -- each lot with the event that created it (the first in registry order),
        -- looked up lot by lot: only the lots behind this battery are read
        SELECT c.lot, c.lot, 1.0::numeric, 1, o.event, o.inputs, o.material
          FROM consumed c
          LEFT JOIN LATERAL (SELECT l.event, l.inputs, l.material FROM @extschema@.lot_event l
                              WHERE l.lot_id = c.lot AND l.event IN ('extracted', 'processed', 'secondary_created')
                              ORDER BY l.ledger_at, l.ledger_origin, l.ledger_seq LIMIT 1) o ON true
        UNION ALL
        SELECT t.root, i->>'lot',
               t.weight * (i->>'mass_kg')::numeric
                 / nullif((SELECT sum((j->>'mass_kg')::numeric) FROM jsonb_array_elements(t.inputs) j), 0),
               t.depth + 1, o.event, o.inputs, o.material
          FROM trace t
          CROSS JOIN LATERAL jsonb_array_elements(t.inputs) i
          LEFT JOIN LATERAL (SELECT l.event, l.inputs, l.material FROM @extschema@.lot_event l
                              WHERE l.lot_id = i->>'lot' AND l.event IN ('extracted', 'processed', 'secondary_created')
                              ORDER BY l.ledger_at, l.ledger_origin, l.ledger_seq LIMIT 1) o ON true
         WHERE t.event = 'processed' AND jsonb_typeof(t.inputs) = 'array' AND t.depth < 20
    ), per_root AS (
        SELECT t.root,
               coalesce(sum(t.weight) FILTER (WHERE t.event = 'secondary_created' AND t.inputs->>'source' = 'pre_consumer'), 0) AS pre,
               coalesce(sum(t.weight) FILTER (WHERE t.event = 'secondary_created' AND t.inputs->>'source' IS DISTINCT FROM 'pre_consumer'), 0) AS post
          FROM trace t
         GROUP BY t.root
    ), el AS (
        SELECT c.lot, c.kg, r.pre, r.post,
               (regexp_match(lower(t.material), '\m(cobalt|lithium|nickel|lead)'))[1] AS element
          FROM consumed c
          JOIN trace t ON t.root = c.lot AND t.depth = 1
          JOIN per_root r ON r.root = c.lot
    )
    SELECT element, round(100 * sum(kg * pre) / sum(kg), 2), round(100 * sum(kg * post) / sum(kg), 2), sum(kg), count(*)
      FROM el WHERE element IS NOT NULL GROUP BY element ORDER BY element;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.leaf_index(tbl regclass, ledger_hash @extschema@.hash256) RETURNS bigint
    LANGUAGE plpgsql STABLE STRICT SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    RETURN (SELECT l.leaf_index FROM @extschema@.log_leaf l
             WHERE l.row_hash OPERATOR(@extschema@.=) $2
               AND l.tbl = (SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c
                              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1));
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
COMMENT ON FUNCTION @extschema@._battery_fold_cached(@extschema@.battery_id) IS 'internal: the cache row a battery''s state comes to, read under one snapshot';
COMMENT ON FUNCTION @extschema@._battery_state_cached(@extschema@.battery_id) IS 'internal: battery_state() for the rules trigger, from its cache where that still holds';
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
    @extschema@._lot_rules(), @extschema@._battery_rules(),
    @extschema@._peer_leaf_trigger(), @extschema@._peer_checkpoint_trigger(),
    @extschema@._cosignature_trigger() FROM PUBLIC;
-- the consortium's agreed custody date is the DBA's to set
REVOKE ALL ON FUNCTION @extschema@.set_custody_from(timestamptz) FROM PUBLIC;
-- a subject's turn is the rule triggers' to take (subject_lock: red team F9)
REVOKE ALL ON FUNCTION @extschema@._lock_subject(text, text) FROM PUBLIC;
-- and the writer's cache of battery states is theirs to write (F8)
REVOKE ALL ON FUNCTION @extschema@._battery_state_cached(@extschema@.battery_id),
    @extschema@._battery_fold_cached(@extschema@.battery_id) FROM PUBLIC;
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
