-----------------------------------------------------------------------------
-- The battery registry (docs/registry.md): battery passports in the vocabulary
-- of Regulation (EU) 2023/1542, on signed ledger tables.  Every event is
-- signed by a member holding the role allowed for it; the rules below (role
-- per event, custody and mass balance of material lots, the battery status
-- state machine, passports) are checked by a BEFORE INSERT trigger, which
-- fires before the chain trigger, so a refused event leaves no trace.
-----------------------------------------------------------------------------

-- Which member roles may sign which event (../shared/DOMAIN.md).
CREATE TABLE @extschema@.event_kind (
    event       text PRIMARY KEY,
    subject     text NOT NULL CHECK (subject IN ('lot', 'battery')),
    roles       text[] NOT NULL,
    description text NOT NULL
);
INSERT INTO @extschema@.event_kind VALUES
    ('extracted',         'lot', '{miner}', 'raw material extracted at a mine: a new lot (material, mass, mine, country)'),
    ('shipped',           'lot', '{miner,refiner,cell_maker,pack_maker,collector,recycler}', 'custody transfer, sender''s side (signed by the current custodian)'),
    ('received',          'lot', '{miner,refiner,cell_maker,pack_maker,collector,recycler}', 'custody transfer, receiver''s side (signed by the addressee)'),
    ('processed',         'lot', '{refiner}', 'a new lot made from input lots; its mass cannot exceed theirs'),
    ('secondary_created', 'lot', '{recycler}', 'a secondary (recycled) lot recovered from a battery'),
    ('manufactured',      'battery', '{cell_maker,pack_maker}', 'cell manufactured or pack assembled, with the lots it used'),
    ('quality_checked',   'battery', '{cell_maker,pack_maker,auditor}', 'quality check recorded'),
    ('placed_on_market',  'battery', '{pack_maker,oem}', 'placed on the market: status original, first passport issued'),
    ('installed',         'battery', '{oem,fleet_operator}', 'installed in a vehicle, put into service'),
    ('ownership_transferred', 'battery', '{oem,fleet_operator,second_life_operator}', 'ownership transferred'),
    ('soh_reported',      'battery', '{oem,fleet_operator,second_life_operator}', 'state of health and usage reported'),
    ('repaired',          'battery', '{repairer,fleet_operator}', 'maintenance or repair'),
    ('negative_event',    'battery', '{repairer,fleet_operator,oem}', 'accident or other negative event'),
    ('removed',           'battery', '{oem,repairer,second_life_operator}', 'removed from the vehicle or application'),
    ('status_changed',    'battery', '{repairer,second_life_operator,collector,recycler,oem,fleet_operator}', 'status change (Art. 77); re-use, repurposing and remanufacturing issue a new passport'),
    ('dismantled',        'battery', '{recycler}', 'dismantled (waste batteries only)'),
    ('recycled',          'battery', '{recycler}', 'recycled, with the recovered material masses: the passport ceases to exist'),
    ('correction',        'battery', '{miner,refiner,cell_maker,pack_maker,oem,fleet_operator,repairer,second_life_operator,collector,recycler,auditor}',
                          'a new event correcting an earlier one (signed by the same member)');

-- Who may move a battery into which status.
CREATE TABLE @extschema@.status_role (
    status text PRIMARY KEY,
    roles  text[] NOT NULL
);
INSERT INTO @extschema@.status_role VALUES
    ('re-used',        '{repairer,second_life_operator,fleet_operator}'),
    ('repurposed',     '{second_life_operator}'),
    ('remanufactured', '{second_life_operator,pack_maker}'),
    ('waste',          '{collector,recycler,oem,fleet_operator,second_life_operator}');
GRANT SELECT ON @extschema@.event_kind, @extschema@.status_role TO PUBLIC;

-- Art. 77 / Annex XIII: the allowed status moves.
CREATE FUNCTION @extschema@.status_move_allowed(from_status text, to_status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT CASE
        WHEN from_status = 'original' THEN to_status IN ('re-used', 'repurposed', 'remanufactured', 'waste')
        WHEN from_status IN ('re-used', 'repurposed', 'remanufactured')
             THEN to_status IN ('re-used', 'repurposed', 'remanufactured', 'waste')
        WHEN from_status = 'waste' THEN to_status IN ('re-used', 'repurposed', 'recycled')
        ELSE false
    END
$$;
COMMENT ON FUNCTION @extschema@.status_move_allowed(text, text) IS
    'Art. 77 status state machine: never back to original, nothing after recycled';

-- Battery models: rated performance, materials, carbon footprint, recycled content (public).
CREATE TABLE @extschema@.battery_model (
    model_id                 text NOT NULL,
    manufacturer             text NOT NULL,
    category                 text NOT NULL CHECK (category IN ('ev', 'lmt', 'industrial', 'stationary', 'portable', 'sli')),
    chemistry                text NOT NULL,
    rated_capacity_ah        numeric NOT NULL CHECK (rated_capacity_ah > 0),
    rated_energy_kwh         numeric,
    nominal_voltage_v        numeric,
    min_voltage_v            numeric,
    max_voltage_v            numeric,
    original_power_w         numeric,
    expected_lifetime_cycles integer,
    capacity_threshold_pct   numeric,
    mass_kg                  numeric,
    carbon_footprint_kg_co2e_per_kwh numeric,
    materials                jsonb,
    recycled_content         jsonb
);
SELECT @extschema@.enable_ledger('@extschema@.battery_model', 'model_id', signed => true,
                                 signer_roles => ARRAY['cell_maker', 'pack_maker', 'oem']);

-- Material lots and their flows.
CREATE TABLE @extschema@.lot_event (
    lot_id       text NOT NULL CHECK (length(lot_id) BETWEEN 1 AND 200),
    event        text NOT NULL,
    material     text NOT NULL,
    mass_kg      numeric NOT NULL CHECK (mass_kg > 0),
    country      text CHECK (country ~ '^[A-Z]{2}$'),
    facility     text,               -- scheme:value, e.g. gln:0614141000005
    counterparty text,               -- shipped: the addressee; received: the sender
    inputs       jsonb,              -- processed: [{"lot": ..., "mass_kg": ...}]; secondary_created: {"battery": ...}
    occurred_at  timestamptz NOT NULL
);
SELECT @extschema@.enable_ledger('@extschema@.lot_event', 'lot_id', signed => true,
    signer_roles => ARRAY['miner', 'refiner', 'cell_maker', 'pack_maker', 'collector', 'recycler']);

-- Battery lifecycle events, one chain per battery.
CREATE TABLE @extschema@.battery_event (
    battery_id  @extschema@.battery_id NOT NULL,
    event       text NOT NULL,
    occurred_at timestamptz NOT NULL,
    model_id    text,                 -- manufactured
    lots        jsonb,                -- manufactured: [{"lot": ..., "mass_kg": ...}]
    new_status  text,                 -- status_changed
    passport_id text,                 -- placed_on_market, status_changed into re-use/repurposing/remanufacturing
    data        jsonb,                -- public values of the event
    restricted  @extschema@.hash256,  -- salted commitment to restricted values (battledger.disclosure)
    corrects    @extschema@.hash256   -- correction: ledger_hash of the corrected event
);
SELECT @extschema@.enable_ledger('@extschema@.battery_event', 'battery_id', signed => true,
    signer_roles => ARRAY['cell_maker', 'pack_maker', 'oem', 'fleet_operator', 'repairer',
                          'second_life_operator', 'collector', 'recycler', 'auditor',
                          'miner', 'refiner']);
-- the few events that decide a battery's state, found without walking its usage reports;
-- events are ordered by (ledger_at, ledger_origin, ledger_seq): a chain's rows never
-- predate their predecessors, and rows of different members meet by time
CREATE INDEX battery_event_state ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event IN ('manufactured', 'placed_on_market', 'status_changed', 'recycled');
-- the latest usage report, per dynamic passport attribute (the chain index, led by
-- ledger_origin, no longer serves "latest of this battery" as it did in 0.1.0)
CREATE INDEX battery_event_usage ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event = 'soh_reported';
-- a passport is issued once (the rules say so first; the index holds under any race)
CREATE UNIQUE INDEX battery_event_passport ON @extschema@.battery_event (passport_id) WHERE passport_id IS NOT NULL;
CREATE INDEX lot_event_inputs ON @extschema@.lot_event USING gin (inputs jsonb_path_ops);
CREATE INDEX battery_event_lots ON @extschema@.battery_event USING gin (lots jsonb_path_ops)
    WHERE lots IS NOT NULL;
GRANT SELECT ON @extschema@.battery_model, @extschema@.lot_event, @extschema@.battery_event TO PUBLIC;
GRANT INSERT ON @extschema@.battery_model, @extschema@.lot_event, @extschema@.battery_event TO PUBLIC;

-- The member behind a signed row, and its roles; NULL if the key is unknown
-- (the chain trigger then refuses the row with BL011).  The small helpers
-- below have no SET clause so that the planner can inline them; their names
-- are qualified and they only read.
CREATE FUNCTION @extschema@._signer(key_id @extschema@.hash256, OUT member text, OUT roles text[])
    LANGUAGE sql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT k.member, m.roles FROM @extschema@.keys k JOIN @extschema@.members m ON m.member = k.member
     WHERE k.key_id OPERATOR(@extschema@.=) $1
$$;

CREATE FUNCTION @extschema@._refuse(code text, msg text, detail text DEFAULT NULL, hint text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    -- RAISE refuses NULL options, so only the fields given are set
    IF detail IS NULL AND hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg;
    ELSIF hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, DETAIL = detail;
    ELSIF detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, HINT = hint;
    END IF;
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, DETAIL = detail, HINT = hint;
END $$;

-- Mass of a lot not yet consumed by processing or manufacturing.
CREATE FUNCTION @extschema@.lot_available_kg(lot text) RETURNS numeric
    LANGUAGE sql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT coalesce((SELECT e.mass_kg FROM @extschema@.lot_event e
                      WHERE e.lot_id = lot AND e.event IN ('extracted', 'processed', 'secondary_created')
                      ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1), 0)
         - coalesce((SELECT sum((i->>'mass_kg')::numeric) FROM @extschema@.lot_event e,
                            jsonb_array_elements(e.inputs) i
                      WHERE e.inputs @> jsonb_build_array(jsonb_build_object('lot', lot))
                        AND jsonb_typeof(e.inputs) = 'array' AND i->>'lot' = lot), 0)
         - coalesce((SELECT sum((i->>'mass_kg')::numeric) FROM @extschema@.battery_event b,
                            jsonb_array_elements(b.lots) i
                      WHERE b.lots @> jsonb_build_array(jsonb_build_object('lot', lot)) AND i->>'lot' = lot), 0)
$$;

-- The member holding a lot: whoever created or last received it.
CREATE FUNCTION @extschema@.lot_custodian(lot text) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT s.member FROM @extschema@.lot_event e, @extschema@._signer(e.ledger_key_id) s
     WHERE e.lot_id = lot AND e.event IN ('extracted', 'processed', 'secondary_created', 'received')
     ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1
$$;

-- The rules decide on the latest committed state of a lot or battery: writers
-- of the same lot or battery take turns (a transaction-scoped advisory lock in
-- battledger's own key class), and read at READ COMMITTED, where each query
-- after the lock sees what the previous writer committed.
CREATE FUNCTION @extschema@._lock_subject(kind text, id text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'registry events must be written at READ COMMITTED'
            USING ERRCODE = 'BL039',
                  DETAIL = format('This transaction runs at %s; the registry''s rules must see the latest committed state of a %s.',
                                  current_setting('transaction_isolation'), kind);
    END IF;
    PERFORM pg_advisory_xact_lock(-1108, hashtext(kind || ':' || id));
END $$;

-- Inputs [{"lot": ..., "mass_kg": ...}] must be lots the signer holds, with that much mass left.
CREATE FUNCTION @extschema@._check_inputs(inputs jsonb, signer text, what text) RETURNS numeric
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    i jsonb;
    total numeric := 0;
    want numeric;
BEGIN
    IF inputs IS NULL OR jsonb_typeof(inputs) <> 'array' OR jsonb_array_length(inputs) = 0 THEN
        PERFORM @extschema@._refuse('BL031', format('%s needs its input lots', what),
            'Give them as a JSON array: [{"lot": "...", "mass_kg": 12.5}, ...].');
    END IF;
    -- lock every input first, in one order, so two writers cannot deadlock
    PERFORM @extschema@._lock_subject('lot', l) FROM (
        SELECT DISTINCT e->>'lot' AS l FROM jsonb_array_elements(inputs) e WHERE e->>'lot' IS NOT NULL ORDER BY 1) x;
    FOR i IN SELECT * FROM jsonb_array_elements(inputs) LOOP
        want := (i->>'mass_kg')::numeric;
        IF i->>'lot' IS NULL OR want IS NULL OR want <= 0 THEN
            PERFORM @extschema@._refuse('BL031', format('malformed input lot %s in %s', i, what));
        END IF;
        IF @extschema@.lot_custodian(i->>'lot') IS DISTINCT FROM signer THEN
            PERFORM @extschema@._refuse('BL032', format('lot "%s" is not held by member "%s"', i->>'lot', signer),
                format('Its custodian is %s.', coalesce('"' || @extschema@.lot_custodian(i->>'lot') || '"', 'nobody (no such lot)')));
        END IF;
        IF @extschema@.lot_available_kg(i->>'lot') < want THEN
            PERFORM @extschema@._refuse('BL033', format('mass balance: lot "%s" has %s kg left, not %s kg',
                i->>'lot', @extschema@.lot_available_kg(i->>'lot'), want));
        END IF;
        total := total + want;
    END LOOP;
    RETURN total;
END $$;

CREATE FUNCTION @extschema@._lot_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    k @extschema@.event_kind;
    last @extschema@.lot_event;
    input_kg numeric;
BEGIN
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;                 -- unknown key: the chain trigger refuses it (BL011)
    END IF;
    SELECT * INTO k FROM @extschema@.event_kind WHERE event = NEW.event AND subject = 'lot';
    IF NOT FOUND THEN
        PERFORM @extschema@._refuse('BL030', format('unknown lot event "%s"', NEW.event),
            hint => 'See battledger.event_kind.');
    END IF;
    IF NOT s.roles && k.roles THEN
        PERFORM @extschema@._refuse('BL015', format('member "%s" may not sign a "%s" lot event', s.member, NEW.event),
            format('Its roles are %s; the event needs one of %s.', s.roles, k.roles));
    END IF;
    PERFORM @extschema@._lock_subject('lot', NEW.lot_id);
    SELECT * INTO last FROM @extschema@.lot_event e WHERE e.lot_id = NEW.lot_id ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1;
    IF NEW.event IN ('extracted', 'processed', 'secondary_created') AND last.lot_id IS NOT NULL THEN
        PERFORM @extschema@._refuse('BL034', format('lot "%s" already exists', NEW.lot_id));
    ELSIF NEW.event IN ('shipped', 'received') AND last.lot_id IS NULL THEN
        PERFORM @extschema@._refuse('BL034', format('lot "%s" does not exist', NEW.lot_id));
    END IF;
    IF NEW.event = 'processed' THEN
        input_kg := @extschema@._check_inputs(NEW.inputs, s.member, format('lot "%s"', NEW.lot_id));
        IF NEW.mass_kg > input_kg THEN
            PERFORM @extschema@._refuse('BL033', format('mass balance: output lot "%s" (%s kg) exceeds its inputs (%s kg)',
                NEW.lot_id, NEW.mass_kg, input_kg));
        END IF;
    ELSIF NEW.event = 'shipped' THEN
        IF @extschema@.lot_custodian(NEW.lot_id) IS DISTINCT FROM s.member THEN
            PERFORM @extschema@._refuse('BL032', format('member "%s" cannot ship lot "%s": it does not hold it', s.member, NEW.lot_id));
        END IF;
        IF NEW.counterparty IS NULL OR NOT EXISTS (SELECT 1 FROM @extschema@.members m WHERE m.member = NEW.counterparty) THEN
            PERFORM @extschema@._refuse('BL031', 'a shipment needs the receiving member as counterparty');
        END IF;
    ELSIF NEW.event = 'received' THEN
        IF last.event IS DISTINCT FROM 'shipped' OR last.counterparty IS DISTINCT FROM s.member THEN
            PERFORM @extschema@._refuse('BL032', format('lot "%s" was not shipped to member "%s"', NEW.lot_id, s.member));
        END IF;
    END IF;
    RETURN NEW;
END $$;

-- The state a battery's events have reached: status, current passport, whether placed on market.
CREATE FUNCTION @extschema@.battery_state(battery @extschema@.battery_id,
                                          OUT manufactured boolean, OUT status text, OUT passport_id text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT bool_or(e.event = 'manufactured'),
           (array_agg(CASE WHEN e.event = 'placed_on_market' THEN 'original'
                           WHEN e.event = 'status_changed' THEN e.new_status
                           WHEN e.event = 'recycled' THEN 'recycled' END
                      ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC) FILTER (WHERE e.event <> 'manufactured'))[1],
           (array_agg(e.passport_id ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC) FILTER (WHERE e.passport_id IS NOT NULL))[1]
      FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery
       AND e.event IN ('manufactured', 'placed_on_market', 'status_changed', 'recycled')
$$;

CREATE FUNCTION @extschema@._battery_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    k @extschema@.event_kind;
    st record;
    needed text[];
    corrected record;
BEGIN
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;                 -- unknown key: the chain trigger refuses it (BL011)
    END IF;
    SELECT * INTO k FROM @extschema@.event_kind WHERE event = NEW.event AND subject = 'battery';
    IF NOT FOUND THEN
        PERFORM @extschema@._refuse('BL030', format('unknown battery event "%s"', NEW.event),
            hint => 'See battledger.event_kind.');
    END IF;
    needed := k.roles;
    IF NEW.event = 'status_changed' THEN
        SELECT roles INTO needed FROM @extschema@.status_role WHERE status = NEW.new_status;
        IF needed IS NULL THEN
            PERFORM @extschema@._refuse('BL035', format('"%s" is not a status a battery can be moved into', NEW.new_status),
                'The statuses are re-used, repurposed, remanufactured and waste; recycled is recorded by a "recycled" event.');
        END IF;
    END IF;
    IF NOT s.roles && needed THEN
        PERFORM @extschema@._refuse('BL015',
            format('member "%s" may not sign "%s"%s', s.member, NEW.event,
                   CASE WHEN NEW.event = 'status_changed' THEN format(' into "%s"', NEW.new_status) ELSE '' END),
            format('Its roles are %s; this needs one of %s.', s.roles, needed));
    END IF;

    PERFORM @extschema@._lock_subject('battery', NEW.battery_id::text);
    SELECT * INTO st FROM @extschema@.battery_state(NEW.battery_id);
    IF st.status = 'recycled' THEN
        PERFORM @extschema@._refuse('BL036', format('battery %s has been recycled', NEW.battery_id),
            'Nothing is recorded after "recycled": its passport has ceased to exist (Art. 77(8)).');
    END IF;

    IF NEW.event = 'manufactured' THEN
        IF st.manufactured THEN
            PERFORM @extschema@._refuse('BL036', format('battery %s is already manufactured', NEW.battery_id));
        END IF;
        IF NOT EXISTS (SELECT 1 FROM @extschema@.battery_model m WHERE m.model_id = NEW.model_id) THEN
            PERFORM @extschema@._refuse('BL031', format('unknown battery model "%s"', NEW.model_id),
                hint => 'Declare it in battledger.battery_model first.');
        END IF;
        IF NEW.lots IS NOT NULL THEN
            PERFORM @extschema@._check_inputs(NEW.lots, s.member, format('battery %s', NEW.battery_id));
        END IF;
        RETURN NEW;
    END IF;
    IF NOT coalesce(st.manufactured, false) THEN
        PERFORM @extschema@._refuse('BL036', format('battery %s has not been manufactured', NEW.battery_id),
            'Its first event must be "manufactured".');
    END IF;

    IF NEW.event = 'correction' THEN
        SELECT e.event, sg.member INTO corrected
          FROM @extschema@.battery_event e, @extschema@._signer(e.ledger_key_id) sg
         WHERE e.battery_id OPERATOR(@extschema@.=) NEW.battery_id
           AND e.ledger_hash OPERATOR(@extschema@.=) NEW.corrects;
        IF corrected.event IS NULL THEN
            PERFORM @extschema@._refuse('BL037', 'a correction must reference an event of the same battery',
                'Set "corrects" to the ledger_hash of the corrected event.');
        ELSIF corrected.member IS DISTINCT FROM s.member THEN
            PERFORM @extschema@._refuse('BL037', format('only "%s", who signed the corrected event, may correct it', corrected.member));
        END IF;
        RETURN NEW;
    END IF;

    IF NEW.event = 'quality_checked' THEN
        RETURN NEW;
    END IF;
    IF NEW.event = 'placed_on_market' THEN
        IF st.status IS NOT NULL THEN
            PERFORM @extschema@._refuse('BL035', format('battery %s is already on the market (status %s)', NEW.battery_id, st.status));
        END IF;
    ELSIF st.status IS NULL THEN
        PERFORM @extschema@._refuse('BL036', format('battery %s has not been placed on the market', NEW.battery_id),
            format('"%s" needs a battery with a status.', NEW.event));
    END IF;

    IF NEW.event = 'status_changed' THEN
        IF NOT @extschema@.status_move_allowed(st.status, NEW.new_status) THEN
            PERFORM @extschema@._refuse('BL035', format('status cannot move from "%s" to "%s"', st.status, NEW.new_status),
                'Allowed: original -> re-used|repurposed|remanufactured|waste; re-used|repurposed|remanufactured -> the same or waste; waste -> re-used|repurposed|recycled.');
        END IF;
    ELSIF NEW.event IN ('dismantled', 'recycled') AND st.status IS DISTINCT FROM 'waste' THEN
        PERFORM @extschema@._refuse('BL035', format('only a waste battery can be %s; battery %s is "%s"', NEW.event, NEW.battery_id, st.status));
    END IF;

    -- passports: issued when placed on the market and on each move into re-use, repurposing, remanufacturing
    IF NEW.event = 'placed_on_market' OR (NEW.event = 'status_changed' AND NEW.new_status IN ('re-used', 'repurposed', 'remanufactured')) THEN
        IF NEW.passport_id IS NULL THEN
            PERFORM @extschema@._refuse('BL038', format('"%s" must issue a new passport', NEW.event),
                hint => 'Set passport_id to the new passport''s identifier.');
        ELSIF EXISTS (SELECT 1 FROM @extschema@.battery_event e WHERE e.passport_id = NEW.passport_id) THEN
            PERFORM @extschema@._refuse('BL038', format('passport "%s" already exists', NEW.passport_id));
        END IF;
    ELSIF NEW.passport_id IS NOT NULL THEN
        PERFORM @extschema@._refuse('BL038', format('"%s" does not issue a passport', NEW.event));
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.lot_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._lot_rules();
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.battery_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._battery_rules();

-----------------------------------------------------------------------------
-- Restricted data: salted commitments on the ledger, cleartext in a side table
-- that is never replicated, can be erased (GDPR), and is readable per access tier.
-----------------------------------------------------------------------------
CREATE FUNCTION @extschema@.commitment(salt bytea, value jsonb) RETURNS @extschema@.hash256
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.sha256('battledger commit v1' || '\x0a'::bytea || salt || convert_to(value::text, 'UTF8'))::@extschema@.hash256
$$;
COMMENT ON FUNCTION @extschema@.commitment(bytea, jsonb) IS
    'SHA-256("battledger commit v1\n" || salt || UTF-8 of the jsonb text): what the ledger stores for a restricted value';

CREATE TABLE @extschema@.disclosure (
    commitment @extschema@.hash256 PRIMARY KEY,
    tier       text NOT NULL CHECK (tier IN ('legitimate_interest', 'authority')),
    salt       bytea NOT NULL CHECK (length(salt) >= 16),
    value      jsonb NOT NULL,
    CHECK (commitment OPERATOR(@extschema@.=) @extschema@.commitment(salt, value))
);
COMMENT ON TABLE @extschema@.disclosure IS
    'cleartext of restricted passport values; erasable; never published to other members';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.disclosure', '');
ALTER TABLE @extschema@.disclosure ENABLE ROW LEVEL SECURITY;

-- Access tiers as roles (cluster-wide; created once, kept if the extension is dropped).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'battledger_legitimate_interest') THEN
        CREATE ROLE battledger_legitimate_interest NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'battledger_authority') THEN
        CREATE ROLE battledger_authority NOLOGIN;
    END IF;
END $$;
-- plan the small reference tables' queries with real statistics
ANALYZE @extschema@.event_kind, @extschema@.status_role;

CREATE POLICY legitimate_interest ON @extschema@.disclosure FOR SELECT TO battledger_legitimate_interest
    USING (tier = 'legitimate_interest');
CREATE POLICY authority ON @extschema@.disclosure FOR SELECT TO battledger_authority
    USING (true);
REVOKE ALL ON @extschema@.disclosure FROM PUBLIC;
GRANT SELECT ON @extschema@.disclosure TO battledger_legitimate_interest, battledger_authority;

CREATE FUNCTION @extschema@.check_disclosure(commitment @extschema@.hash256, salt bytea, value jsonb)
    RETURNS boolean LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.commitment(salt, value) OPERATOR(@extschema@.=) commitment
$$;
COMMENT ON FUNCTION @extschema@.check_disclosure(@extschema@.hash256, bytea, jsonb) IS
    'does a disclosed (salt, value) match the commitment on the ledger?';

CREATE FUNCTION @extschema@.erase_disclosure(commitment @extschema@.hash256) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM @extschema@.disclosure d WHERE d.commitment OPERATOR(@extschema@.=) erase_disclosure.commitment;
    RETURN FOUND;
END $$;
COMMENT ON FUNCTION @extschema@.erase_disclosure(@extschema@.hash256) IS
    'erase a restricted value (GDPR): the commitment, chains and proofs stay valid';
REVOKE ALL ON FUNCTION @extschema@.erase_disclosure(@extschema@.hash256) FROM PUBLIC;
