-----------------------------------------------------------------------------
-- Reading the registry: passports, histories, provenance, proofs.
-----------------------------------------------------------------------------

-- A value with its unit, when and by which event it was set.
CREATE FUNCTION @extschema@._attr(value anyelement, unit text, at timestamptz, e @extschema@.battery_event)
    RETURNS jsonb LANGUAGE sql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT CASE WHEN value IS NULL THEN NULL ELSE
        jsonb_strip_nulls(jsonb_build_object('value', value, 'unit', unit, 'timestamp', at,
            'setBy', jsonb_build_object('event', e.event, 'sequence', e.ledger_seq,
                                        'ledgerHash', e.ledger_hash::text,
                                        'leafIndex', @extschema@.leaf_index('@extschema@.battery_event', e.ledger_hash))))
    END
$$;

-- Usage values (keys of a report's restricted values) and their passport names.
CREATE TABLE @extschema@._dynamic_attribute (key text PRIMARY KEY, name text NOT NULL, unit text NOT NULL);
INSERT INTO @extschema@._dynamic_attribute VALUES
    ('soh_pct', 'stateOfHealth', '%'),
    ('capacity_ah', 'remainingCapacity', 'Ah'),
    ('capacity_fade_pct', 'capacityFade', '%'),
    ('full_cycles', 'numberOfFullCycles', 'cycles'),
    ('energy_throughput_kwh', 'energyThroughput', 'kWh'),
    ('capacity_throughput_ah', 'capacityThroughput', 'Ah'),
    ('re_ohm', 'internalResistance', 'ohm'),
    ('resistance_increase_pct', 'internalResistanceIncrease', '%'),
    ('t_cell_max_c', 'maximumCellTemperature', 'degC');
GRANT SELECT ON @extschema@._dynamic_attribute TO PUBLIC;
ANALYZE @extschema@._dynamic_attribute;

CREATE FUNCTION @extschema@._rated(value numeric, unit text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT CASE WHEN value IS NULL THEN NULL ELSE jsonb_build_object('value', value, 'unit', unit) END
$$;

-- JIT off: compiling costs far more than these small per-battery queries run
CREATE FUNCTION @extschema@.passport(battery @extschema@.battery_id, tier text DEFAULT 'public')
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    st record;
    made @extschema@.battery_event;
    model @extschema@.battery_model;
    v jsonb;
    dyn jsonb;
    history jsonb;
    service timestamptz;
BEGIN
    IF tier IS NULL OR tier NOT IN ('public', 'legitimate_interest', 'authority') THEN
        RAISE EXCEPTION 'unknown access tier "%"', tier USING ERRCODE = 'invalid_parameter_value',
            HINT = 'The tiers are public, legitimate_interest and authority.';
    END IF;
    IF tier <> 'public' AND NOT (
           pg_has_role(current_user, 'battledger_authority', 'MEMBER')
        OR (tier = 'legitimate_interest' AND pg_has_role(current_user, 'battledger_legitimate_interest', 'MEMBER'))) THEN
        RAISE EXCEPTION 'permission denied for passport tier "%"', tier USING ERRCODE = 'insufficient_privilege',
            HINT = format('Grant the role battledger_%s to read it.', tier);
    END IF;

    SELECT * INTO made FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no battery % in the registry', battery USING ERRCODE = 'no_data_found';
    END IF;
    SELECT * INTO st FROM @extschema@.battery_state(battery);
    SELECT * INTO model FROM @extschema@.battery_model m WHERE m.model_id = made.model_id
     ORDER BY m.ledger_at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1;
    SELECT min(e.occurred_at) INTO service FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'installed';

    SELECT jsonb_agg(jsonb_build_object('passportId', e.passport_id, 'issuedAt', e.occurred_at,
                                        'issuedBy', (@extschema@._signer(e.ledger_key_id)).member,
                                        'status', CASE WHEN e.event = 'placed_on_market' THEN 'original' ELSE e.new_status END)
                     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
      INTO history FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id IS NOT NULL;

    v := jsonb_build_object(
        'passportId', st.passport_id,
        'batteryIdentifier', battery::text,
        'digitalLink', @extschema@.battery_digital_link(battery),
        'batteryStatus', st.status,
        'passportHistory', history,
        'generalProductInformation', jsonb_strip_nulls(jsonb_build_object(
            'batteryCategory', model.category,
            'manufacturerIdentification', model.manufacturer,
            'batteryModel', model.model_id,
            'manufacturingDate', made.occurred_at,
            'manufacturingPlace', made.data->>'facility',
            'puttingIntoService', service,
            'batteryMass', @extschema@._rated(model.mass_kg, 'kg'))),
        'batteryChemistry', model.chemistry,
        'performance', jsonb_build_object('rated', jsonb_strip_nulls(jsonb_build_object(
            'ratedCapacity', @extschema@._rated(model.rated_capacity_ah, 'Ah'),
            'ratedEnergy', @extschema@._rated(model.rated_energy_kwh, 'kWh'),
            'nominalVoltage', @extschema@._rated(model.nominal_voltage_v, 'V'),
            'minimumVoltage', @extschema@._rated(model.min_voltage_v, 'V'),
            'maximumVoltage', @extschema@._rated(model.max_voltage_v, 'V'),
            'originalPowerCapability', @extschema@._rated(model.original_power_w, 'W'),
            'expectedLifetimeNumberOfChargeDischargeCycles', model.expected_lifetime_cycles,
            'capacityThresholdForExhaustion', @extschema@._rated(model.capacity_threshold_pct, '%')))),
        'materialComposition', model.materials,
        'recycledContent', model.recycled_content,
        'carbonFootprint', jsonb_build_object('batteryCarbonFootprint',
            @extschema@._rated(model.carbon_footprint_kg_co2e_per_kwh, 'kg CO2e/kWh')),
        'passportCeased', CASE WHEN st.status = 'recycled' THEN true END,
        'accessTier', tier);

    IF tier <> 'public' THEN
        -- each dynamic attribute from the latest usage report that set it and that this caller may read
        SELECT jsonb_object_agg(a.name, @extschema@._attr(x.value, a.unit, x.occurred_at, x.e))
          INTO dyn
          FROM @extschema@._dynamic_attribute a
          CROSS JOIN LATERAL (
                SELECT (d.value->>a.key)::numeric AS value, e.occurred_at, e
                  FROM @extschema@.battery_event e
                  JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                 WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
                   AND d.value ? a.key
                 ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1) x;
        IF dyn IS NOT NULL THEN
            v := jsonb_set(v, '{performance,dynamic}', dyn);
        END IF;
        v := jsonb_set(v, '{negativeEvents}', to_jsonb((SELECT count(*) FROM @extschema@.battery_event e
             WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'negative_event')));
    END IF;
    RETURN jsonb_strip_nulls(v);
END $$;
COMMENT ON FUNCTION @extschema@.passport(@extschema@.battery_id, text) IS
    'the battery passport as of now (BatteryPass / DIN DKE SPEC 99100 attribute names), at an access tier';

CREATE FUNCTION @extschema@.battery_history(battery @extschema@.battery_id)
    RETURNS TABLE (seq bigint, event text, occurred_at timestamptz, signer text, new_status text,
                   passport_id text, ledger_hash @extschema@.hash256, leaf_index bigint, sealed boolean)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT e.ledger_seq, e.event, e.occurred_at, k.member,
           e.new_status, e.passport_id, e.ledger_hash, l.leaf_index, l.leaf_index IS NOT NULL
      FROM @extschema@.battery_event e
      LEFT JOIN @extschema@.key_event k ON k.key_id OPERATOR(@extschema@.=) e.ledger_key_id AND k.event = 'added'
      LEFT JOIN @extschema@.log_leaf l ON l.tbl = '@extschema@.battery_event'
                                      AND l.row_hash OPERATOR(@extschema@.=) e.ledger_hash
     WHERE e.battery_id OPERATOR(@extschema@.=) battery
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq
$$;

CREATE FUNCTION @extschema@.material_provenance(battery @extschema@.battery_id)
    RETURNS TABLE (depth int, lot_id text, event text, material text, lot_mass_kg numeric, used_kg numeric,
                   country text, facility text, member text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE used(depth, lot, kg) AS (
        SELECT 1, i->>'lot', (i->>'mass_kg')::numeric
          FROM @extschema@.battery_event e, jsonb_array_elements(e.lots) i
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
        UNION ALL
        SELECT u.depth + 1, i->>'lot', (i->>'mass_kg')::numeric
          FROM used u
          JOIN @extschema@.lot_event le ON le.lot_id = u.lot AND le.event = 'processed'
          CROSS JOIN LATERAL jsonb_array_elements(le.inputs) i
         WHERE u.depth < 20
    )
    SELECT u.depth, u.lot, c.event, c.material, c.mass_kg, u.kg, c.country, c.facility,
           (@extschema@._signer(c.ledger_key_id)).member
      FROM used u
      JOIN @extschema@.lot_event c ON c.lot_id = u.lot AND c.event IN ('extracted', 'processed', 'secondary_created')
     ORDER BY u.depth, u.lot
$$;
COMMENT ON FUNCTION @extschema@.material_provenance(@extschema@.battery_id) IS
    'the material lots in a battery, back to the mine: masses used, countries, facilities, who recorded them';

CREATE FUNCTION @extschema@.battery_proofs(battery @extschema@.battery_id)
    RETURNS TABLE (seq bigint, event text, leaf_index bigint, leaf bytea, tlog_proof text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT h.seq, h.event, h.leaf_index, @extschema@.leaf(h.leaf_index), @extschema@.tlog_proof(h.leaf_index)
      FROM @extschema@.battery_history(battery) h
     WHERE h.sealed AND h.leaf_index < (SELECT max(tree_size) FROM @extschema@.checkpoint)
$$;
COMMENT ON FUNCTION @extschema@.battery_proofs(@extschema@.battery_id) IS
    'tlog-proof@v1 bundles (and leaf bytes) for every sealed event of a battery, against the latest checkpoint';
