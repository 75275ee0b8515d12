-----------------------------------------------------------------------------
-- The battery registry (docs/registry.md): battery passports in the vocabulary
-- of Regulation (EU) 2023/1542, on signed ledger tables.  Every event is
-- signed by a member holding the role allowed for it; the rules below (role
-- per event, custody and mass balance of material lots, the battery status
-- state machine, passports) are checked by a BEFORE INSERT trigger, which
-- fires before the chain trigger, so a refused event leaves no trace.
-----------------------------------------------------------------------------

-- Which member roles may sign which event (docs/registry.md).
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
    ('placed_on_market',  'battery', '{pack_maker,oem,second_life_operator}', 'placed on the market: status original, first passport issued'),
    ('installed',         'battery', '{oem,fleet_operator}', 'installed in a vehicle, put into service'),
    ('ownership_transferred', 'battery', '{oem,fleet_operator,second_life_operator}', 'ownership transferred'),
    ('soh_reported',      'battery', '{oem,fleet_operator,second_life_operator}', 'state of health and usage reported'),
    ('repaired',          'battery', '{repairer,fleet_operator}', 'maintenance or repair'),
    ('negative_event',    'battery', '{repairer,fleet_operator,oem}', 'accident or other negative event'),
    ('removed',           'battery', '{oem,repairer,second_life_operator}', 'removed from the vehicle or application'),
    ('status_changed',    'battery', '{repairer,second_life_operator,collector,recycler,oem,fleet_operator}', 'status change (Art. 77); re-use, repurposing and remanufacturing issue a new passport'),
    ('dismantled',        'battery', '{recycler}', 'dismantled (waste batteries only)'),
    ('recycled',          'battery', '{recycler}', 'recycled, with the recovered material masses: the passport ceases to exist'),
    ('handover',          'battery', '{cell_maker,pack_maker,oem,fleet_operator,repairer,second_life_operator,collector,recycler}',
                          'the custodian hands write authority over the battery''s lifecycle to another member (data {"to": member})'),
    ('handover_accepted', 'battery', '{cell_maker,pack_maker,oem,fleet_operator,repairer,second_life_operator,collector,recycler}',
                          'the member a handover names accepts it and becomes the battery''s custodian'),
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
-- its rows are the registry's history: pg_dump keeps them (until 0.23.0 it did not)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.battery_model', '');

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
-- its rows are the registry's history: pg_dump keeps them (until 0.23.0 it did not)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lot_event', '');

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
-- its rows are the registry's history: pg_dump keeps them (until 0.23.0 it did not)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.battery_event', '');
-- the few events that decide a battery's state, found without walking its usage reports;
-- events are ordered by (ledger_at, ledger_origin, ledger_seq): a chain's rows never
-- predate their predecessors, and rows of different members meet by time
CREATE INDEX battery_event_state ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                    'handover', 'handover_accepted');
-- the latest usage report, per dynamic passport attribute (the chain index, led by
-- ledger_origin, no longer serves "latest of this battery" as it did in 0.1.0)
CREATE INDEX battery_event_usage ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event = 'soh_reported';
-- a battery's other events (installed, negative_event, repaired, quality_checked,
-- ...): the passport reads them without walking its usage reports (issue 15)
CREATE INDEX battery_event_other ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event <> 'soh_reported';
-- a passport id belongs to the first event naming it, in registry order: not a
-- unique index, which would stop replication when two members race for one id
CREATE INDEX battery_event_passport ON @extschema@.battery_event (passport_id) WHERE passport_id IS NOT NULL;
-- the first event issuing a passport id, in registry order (_battery_verdict():
-- does an earlier event hold the id?); by passport_id alone the fold walked
-- every row naming the id dated after the event judged (red team r10, F2).
-- battery_id last: registry order ties across batteries (each chain has its
-- own ledger_seq), and the holder's tie-break stays within one index probe
CREATE INDEX battery_event_passport_holder ON @extschema@.battery_event (passport_id, ledger_at, ledger_origin, ledger_seq, battery_id)
    WHERE passport_id IS NOT NULL
      AND (event = 'placed_on_market'
           OR (event = 'status_changed' AND new_status IN ('re-used', 'repurposed', 'remanufactured')));
-- the first issuing event of a namespaced passport id signed by one key
-- (_passport_holder_by(): one probe per key of each member whose namespace
-- covers the id): by battery_event_passport_holder alone, the probe for the
-- first row the namespace allows walked every squatter's row dated before
-- it, as many as a member bypassing its rules writes (red team r10, F2)
CREATE INDEX battery_event_passport_signer ON @extschema@.battery_event (passport_id, ledger_key_id, ledger_at, ledger_origin, ledger_seq, battery_id)
    WHERE passport_id IS NOT NULL
      AND (event = 'placed_on_market'
           OR (event = 'status_changed' AND new_status IN ('re-used', 'repurposed', 'remanufactured')));
-- a battery's passports in registry order (the current one, the passport's
-- history): without it both read every passport of the registry (issue 15)
CREATE INDEX battery_event_issued ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE passport_id IS NOT NULL;
CREATE INDEX lot_event_inputs ON @extschema@.lot_event USING gin (inputs jsonb_path_ops);
-- a lot's creations in registry order (_lot_counted_creation, read by the
-- walk, _lot_creation() and recycled_content(), takes the first counting one): the
-- walk stops at the first creation the registry counts.  Without it every
-- creation row of the lot was judged (its signer, roles and namespace) and
-- sorted on every passport's path: 2,000 rows another member wrote after
-- the maker's creation cost each passport of a battery made from the lot
-- about 35 ms (0.19.0's first-row sort about 5; red team r23, C1)
CREATE INDEX lot_event_creation ON @extschema@.lot_event (lot_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event IN ('extracted', 'processed', 'secondary_created');
CREATE INDEX battery_event_lots ON @extschema@.battery_event USING gin (lots jsonb_path_ops)
    WHERE lots IS NOT NULL;
GRANT SELECT ON @extschema@.battery_model, @extschema@.lot_event, @extschema@.battery_event TO PUBLIC;
GRANT INSERT ON @extschema@.battery_model, @extschema@.lot_event, @extschema@.battery_event TO PUBLIC;

-- The member behind a signed row, and its roles; NULL if the key is unknown
-- (the chain trigger then refuses the row with BL011).  The helpers
-- below pin their search_path; those called for every row are PL/pgSQL, whose
-- plans are kept for the session.
CREATE FUNCTION @extschema@._signer(key_id @extschema@.hash256, OUT member text, OUT roles text[])
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    -- PL/pgSQL, not SQL: with its pinned search_path an SQL function is not
    -- inlined and would be planned again on every call (every rule, every row)
    -- (the roles: the members view probed for the key's member, a subquery
    -- kept apart, OFFSET 0, so that the member reaches the view's DISTINCT
    -- ON as a condition; joined to the view, every member's row was worked
    -- out at each call, 1.6 ms at 1,600 member rows; 0.24.0, issue 15)
    SELECT k.member, m.roles INTO member, roles
      FROM @extschema@.keys k
     CROSS JOIN LATERAL (SELECT m.roles FROM @extschema@.members m
                          WHERE m.member = k.member OFFSET 0) m
     WHERE k.key_id OPERATOR(@extschema@.=) _signer.key_id;
END $$;

-- The member behind a signed row and its roles at a time (the row's
-- ledger_at): the rules judge an event by the roles its signer held when it
-- was written, not by roles changed since (the arrival check does the same).
CREATE FUNCTION @extschema@._signer_at(key_id @extschema@.hash256, at timestamptz, OUT member text, OUT roles text[])
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    -- (the key's counted member, as the key cache reads it: a key row
    -- written where its member is not hosted signs for nobody, and a key
    -- two members' rows count for is nobody's; 0.22.0)
    SELECT k.member INTO member FROM @extschema@.keys k
     WHERE k.key_id OPERATOR(@extschema@.=) _signer_at.key_id;
    IF member IS NOT NULL THEN
        -- (roles changed where the member is not hosted change nothing; 0.23.0)
        SELECT m.roles INTO roles FROM @extschema@._member_rows_counted m
         WHERE m.member = _signer_at.member AND m.at <= _signer_at.at
         ORDER BY m.at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1;
    END IF;
END $$;

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

-- _batch_open_here(batch_id text, tbl regclass, key_id hash256): whether a
-- row of tbl naming that batch and key would pass the chain trigger's batch
-- check (the batch inserted, its signature verified, in this transaction).
-- VOLATILE: this transaction's batches change within a statement.
CREATE FUNCTION @extschema@._batch_open_here(batch_id text, tbl regclass, key_id @extschema@.hash256)
    RETURNS boolean AS 'MODULE_PATHNAME', 'battledger_batch_open_here' LANGUAGE C VOLATILE;

-- _row_signed(r anyelement, tbl regclass): whether the chain trigger of tbl
-- (a battery_event or lot_event the rule triggers judge, before the chain
-- trigger) would accept the signature of the new row r: its ledger_sig
-- verifies over its signing bytes with the key it names, that key valid now
-- for a member holding one of the table's signer roles, or it joins a batch
-- that key signed in this transaction.  Asked only before a verdict is
-- raised (red team r16b P2): a verdict names a battery's status, a lot's
-- custodian or its kilograms left, and must reach only a writer that can
-- sign as the key it names.  In C, the chain trigger's own judgement
-- (sign.c, judge_new_row()), so that the two cannot drift: it never says
-- "not signed" of a row the chain trigger accepts, or the rules would let
-- that row through.  VOLATILE: it reads this transaction's batches.
CREATE FUNCTION @extschema@._row_signed(r anyelement, tbl regclass) RETURNS boolean
    AS 'MODULE_PATHNAME', 'battledger_row_signed' LANGUAGE C VOLATILE;

-- _refuse_row(r anyelement, tbl regclass, code, msg, detail, hint): the rule
-- triggers' verdict on the row r of tbl, raised only if r is signed by the
-- key it names (_row_signed); otherwise it returns, and the caller returns
-- the row unjudged for the chain trigger to refuse with its own error.  On
-- the refusal path only: an accepted row costs no second verification.
CREATE FUNCTION @extschema@._refuse_row(r anyelement, tbl regclass, code text, msg text,
                                        detail text DEFAULT NULL, hint text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF @extschema@._row_signed(r, tbl) THEN
        PERFORM @extschema@._refuse(code, msg, detail, hint);
    END IF;
END $$;

-- _json_num(v): a number in a registry row's JSON (a lot's mass in a
-- processing's inputs or a manufacture's lots, a measurement) as a finite
-- numeric, NULL for anything else, and never an error (src/pg/json_num.c):
-- a member bypassing its rules writes what it likes, and a cast of "abc"
-- made every reader of the lot it named fail, on every member.  Pure.
CREATE FUNCTION @extschema@._json_num(v jsonb) RETURNS numeric
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'bl_json_num';

-- _time_ok(t timestamptz): is t a time a member may say an event occurred
-- at (0.28.0)?  From 1000-01-01 up to 9999-01-01 UTC: not 'infinity' or
-- '-infinity', which a timestamptz column takes and the passports printed
-- as such where the standards' schemas want an RFC 3339 date-time, and
-- with a four-digit year in every time zone (RFC 3339 has no other; a
-- passport prints times in the session's zone).  No plausibility window
-- (docs/registry.md, "Event times"): the registry decides by ledger_at,
-- and a battery's records may be old or its clock wrong; only what no
-- reader can print is refused.  NULL for NULL.
CREATE FUNCTION @extschema@._time_ok(t timestamptz) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN t >= '1000-01-01 00:00:00+00'::timestamptz AND t < '9999-01-01 00:00:00+00'::timestamptz;
END $$;

-- _time_out(t timestamptz): t where _time_ok(t), NULL otherwise: what the
-- passports and histories show of a stored event time.  A row written
-- before 0.28.0, past a member's rules or arriving from one (arrival does
-- not run the rules) may hold 'infinity'; its field is left out (null)
-- rather than printed, and registry_conflicts() names the row
-- (time_out_of_range).
CREATE FUNCTION @extschema@._time_out(t timestamptz) RETURNS timestamptz
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN CASE WHEN @extschema@._time_ok(t) THEN t END;
END $$;

-- Mass of a lot not yet consumed by processing or manufacturing: its
-- effective creation's mass, less the inputs of the consumers the registry
-- judges effective (_lot_consumers(): signed by the lot's holder at their
-- place in registry order).  Counting every row naming the lot let a member
-- bypassing its rules use up a lot it did not hold, on every member, the
-- holder's own uses refused (BL033; red team r20, L2).  From _lot_balance():
-- one walk of the lot's rows.
CREATE FUNCTION @extschema@.lot_available_kg(lot text) RETURNS numeric
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    left_kg numeric;
BEGIN
    SELECT b.available_kg INTO left_kg FROM @extschema@._lot_balance(lot) b;
    RETURN left_kg;
END $$;

-- A lot's custody, judged in registry order (red team r20, L1): its first
-- creation (extracted, processed, secondary_created) gives it to its signer;
-- a shipment by the holder offers it to the addressee (a later one replaces
-- the offer), whose receipt makes it the holder.  Rows by a key unknown at
-- their time, outside the event's roles, or out of turn (a receipt nobody
-- offered, a shipment by another member) change nothing, so a member that
-- bypassed its rules takes no lot: "the last creator or receiver" let one
-- unshipped "received" take any lot on every member, its holder refused
-- (BL032).  The same on every member holding the same rows.
-- A lot id in a registered namespace (_text_id_key(): 'gs1:01/<GTIN>/10/
-- <batch>', 'iso15459:<IAC>/<CIN>/...') is created only by a member that
-- registered it, for rows dated after the registration (as battery ids,
-- _id_owners()): else a member bypassing its rules could wait for the
-- maker's creation to arrive and write its own dated at its statement's
-- start, before it, and hold the lot everywhere (ns21; red team r21 F3's
-- trick on lots).  An id in no registered namespace stays its first
-- creator's in registry order.
-- _lot_custody_steps(lot): every row of the lot by a known key, in registry
-- order, its verdict (NULL problem when effective) and the custody after it.
CREATE FUNCTION @extschema@._lot_custody_steps(lot text)
    RETURNS TABLE (ledger_at timestamptz, ledger_origin text, ledger_seq bigint, event text, signer text,
                   mass_kg numeric, effective boolean, problem text, holder text, offered text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    e record;
    made boolean := false;
    c_origin text;
    c_seq bigint;
BEGIN
    -- the creation that counts, as _lot_counted_creation judges it (the
    -- one judge of a lot's creation): a creation row in role before it is
    -- outside the lot id's namespace, one after it a second creation
    SELECT v.ledger_origin, v.ledger_seq INTO c_origin, c_seq FROM @extschema@._lot_counted_creation v
     WHERE v.lot_id = lot;
    FOR e IN SELECT x.ledger_at, x.ledger_origin, x.ledger_seq, x.event, x.counterparty, x.mass_kg, s.member,
                    s.roles && k.roles AS in_role
               FROM @extschema@.lot_event x
               CROSS JOIN LATERAL @extschema@._signer_at(x.ledger_key_id, x.ledger_at) s
               LEFT JOIN @extschema@.event_kind k ON k.event = x.event AND k.subject = 'lot'
              WHERE x.lot_id = lot AND s.member IS NOT NULL
              ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LOOP
        problem := NULL;
        IF NOT coalesce(e.in_role, false) THEN
            problem := 'wrong_role';
        ELSIF e.event IN ('extracted', 'processed', 'secondary_created') THEN
            IF made THEN
                problem := 'lot_created_twice';
            ELSIF e.ledger_origin IS DISTINCT FROM c_origin OR e.ledger_seq IS DISTINCT FROM c_seq THEN
                problem := 'foreign_namespace';
            ELSE
                holder := e.member; made := true;
            END IF;
        ELSIF e.event = 'shipped' THEN
            IF e.member IS DISTINCT FROM holder OR e.counterparty IS NULL THEN
                problem := 'lot_not_held';
            ELSE
                offered := e.counterparty;
            END IF;
        ELSIF e.event = 'received' THEN
            IF e.member IS DISTINCT FROM offered THEN
                problem := 'lot_not_offered';
            ELSE
                holder := e.member; offered := NULL;
            END IF;
        END IF;
        ledger_at := e.ledger_at; ledger_origin := e.ledger_origin; ledger_seq := e.ledger_seq;
        event := e.event; signer := e.member; mass_kg := e.mass_kg; effective := problem IS NULL;
        RETURN NEXT;
    END LOOP;
END $$;

-- _lot_creation(lot): the lot's creation the registry counts, as
-- _lot_counted_creation judges it (the first effective one of
-- _lot_custody_steps()) -- the first creation in registry order by a known
-- key, in the event's roles, that the lot id's namespace allows -- found
-- without walking the lot's other rows, as a whole row.
-- material_provenance() reads a lot's material and inputs from it (and
-- recycled_content() from the view, planned in); they read the first
-- creation in registry order, whoever wrote it, until 0.20.0, so that
-- another member's creation of a maker's namespaced lot id dated before
-- the maker's (ineffective, foreign_namespace) set the recycled content and
-- provenance of every battery made from the lot, on every member.  NULL:
-- the lot was never created.  The owner's functions call it.
CREATE FUNCTION @extschema@._lot_creation(lot text) RETURNS @extschema@.lot_event
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r @extschema@.lot_event;
BEGIN
    SELECT x.* INTO r FROM @extschema@.lot_event x
     WHERE (x.lot_id, x.ledger_origin, x.ledger_seq) =
           (SELECT v.lot_id, v.ledger_origin, v.ledger_seq FROM @extschema@._lot_counted_creation v
             WHERE v.lot_id = lot);
    RETURN r;
END $$;
REVOKE ALL ON FUNCTION @extschema@._lot_creation(text) FROM PUBLIC;

CREATE FUNCTION @extschema@._lot_custody(lot text, OUT holder text, OUT offered text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT st.holder, st.offered INTO holder, offered FROM @extschema@._lot_custody_steps(lot) st
     ORDER BY st.ledger_at DESC, st.ledger_origin DESC, st.ledger_seq DESC LIMIT 1;
END $$;

-- _lot_ledger(lot): the lot's own rows (step 0: _lot_custody_steps(), each
-- with its verdict and the custody after it) and every row consuming the lot
-- (step 1: a "processed" lot's inputs, a "manufactured" battery's lots
-- naming it, with its kilograms of the lot), in one registry order, the
-- lot's rows first on a tie.  A consumer counts (effective) only if its
-- signer wrote it while holding the lot: the custody after the last lot row
-- before it, and not while the lot was shipped to another member and not
-- yet received (red team r22, L2).  A consumer is judged by the lot's
-- custody alone: the holder's own row that its output lot's or battery's
-- rules judge otherwise still uses the mass it names.  A consumer's signer
-- by key, as _lot_custody() (a key names one member); per row one probe of
-- keys (the counted key rows), no function call.  (OFFSET 0 on each
-- probe of keys, here and below: a key probed by its id, as LIMIT 1 kept
-- it until 0.21.0, not the grouped view joined whole.)
-- The custody before each consumer is carried forward over the lot's rows
-- and its consumers in one registry order (a window), not looked up by a
-- scan of the lot's rows per consumer: a member writing a thousand rows of
-- a lot it does not hold and a thousand consumers of it made every
-- lot_available_kg() of it cost their product (r22, L3).  Both kinds of
-- rows come out of one walk of the lot's rows: _lot_balance() reads the
-- custody, the creation's mass and the consumers' sum from them (0.20.0:
-- a lot write walked them three times).
-- Its uses are found through GIN (jsonb_path_ops): gin_fuzzy_search_limit,
-- which any session may set, makes a GIN scan return a random subset, and
-- an application got a use past the lot's balance accepted (BL033; red
-- team rt26 G1); pinned to 0 (exact) here and wherever a decision reads GIN.
CREATE FUNCTION @extschema@._lot_ledger(lot text)
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

-- _lot_consumers(lot): every row consuming the lot, in registry order, with
-- its kilograms of the lot, its signer and whether it counts (_lot_ledger()).
CREATE FUNCTION @extschema@._lot_consumers(lot text)
    RETURNS TABLE (battery_id @extschema@.battery_id, lot_id text, ledger_at timestamptz, ledger_origin text,
                   ledger_seq bigint, event text, signer text, mass_kg numeric, effective boolean)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    SELECT l.battery_id, l.lot_id, l.ledger_at, l.ledger_origin, l.ledger_seq, l.event, l.signer, l.mass_kg, l.effective
      FROM @extschema@._lot_ledger(lot) l
     WHERE l.step = 1
     ORDER BY l.ledger_at, l.ledger_origin, l.ledger_seq;
END $$;

-- _lot_balance(lot): the lot's custody after its last row (holder, and the
-- member it is shipped to if not yet received), as _lot_custody(), and the
-- mass left, as lot_available_kg(): its effective creation's mass less the
-- effective consumers' kilograms.  One walk of the lot's rows
-- (_lot_ledger()) for the three: _check_inputs() read the custody and then
-- the mass, which walked them twice more (0.20.0).
CREATE FUNCTION @extschema@._lot_balance(lot text, OUT holder text, OUT offered text, OUT available_kg numeric)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- (the rows come in registry order: the last lot row's custody is the
    -- lot's; one creation at most is effective)
    SELECT (array_agg(l.holder ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC)
              FILTER (WHERE l.step = 0))[1],
           (array_agg(l.offered ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC)
              FILTER (WHERE l.step = 0))[1],
           coalesce(sum(l.mass_kg) FILTER (WHERE l.step = 0 AND l.effective
                                             AND l.event IN ('extracted', 'processed', 'secondary_created')), 0)
         - coalesce(sum(l.mass_kg) FILTER (WHERE l.step = 1 AND l.effective), 0)
      INTO holder, offered, available_kg
      FROM @extschema@._lot_ledger(lot) l;
END $$;

-- The member holding a lot: its creator or the last member that received
-- it from its holder (_lot_custody()).
CREATE FUNCTION @extschema@.lot_custodian(lot text) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (@extschema@._lot_custody(lot)).holder;
END $$;

-- The rules decide on the latest committed state of a lot or battery: writers
-- of the same lot, battery or passport id take turns, and read at READ
-- COMMITTED, where each query after the lock sees what the previous writer
-- committed.  The turn is a row lock in subject_lock, a table no role but
-- the extension's owner may read or lock (the rule triggers run as that
-- owner): an advisory lock, which any role may take, let a plain role hold a
-- battery's turn in an open transaction and stall its writers (red team F9).
-- UNLOGGED: a lock needs no WAL and nothing of it must survive a crash.
CREATE UNLOGGED TABLE @extschema@.subject_lock (
    kind text NOT NULL,
    id   text NOT NULL,
    PRIMARY KEY (kind, id)
);
REVOKE ALL ON @extschema@.subject_lock FROM PUBLIC;

CREATE FUNCTION @extschema@._lock_subject(kind text, id text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'registry events must be written at READ COMMITTED'
            USING ERRCODE = 'BL039',
                  DETAIL = format('This transaction runs at %s; the registry''s rules must see the latest committed state of a %s.',
                                  current_setting('transaction_isolation'), kind);
    END IF;
    PERFORM FROM @extschema@.subject_lock l WHERE l.kind = _lock_subject.kind AND l.id = _lock_subject.id FOR UPDATE;
    IF NOT FOUND THEN
        -- the first writer of a subject: a concurrent first writer's insert
        -- waits for this one's transaction, which is the same turn
        INSERT INTO @extschema@.subject_lock VALUES (kind, id) ON CONFLICT DO NOTHING;
        PERFORM FROM @extschema@.subject_lock l WHERE l.kind = _lock_subject.kind AND l.id = _lock_subject.id FOR UPDATE;
    END IF;
END $$;

-- _lot_after_now(lot): the time of the lot's latest row the registry
-- counts (an effective custody step or consumer) if registry order puts it
-- after a row this server writes now, else NULL.  A lot row is dated at its
-- statement's start, but judged once the statement has the lot's turn,
-- which a concurrent writer may have taken first: a shipment whose
-- statement started before a use of the lot it then did not see made that
-- use, accepted by the same member's rules, one of a lot in transit
-- (lot_not_held, its kilograms counted nowhere); a receipt dated before the
-- shipment it accepted (a slow statement, or a clock behind the shipper's)
-- was lot_not_offered, on every member (red team r23, R).  Such a row is
-- refused (BL032, "clock is behind"), as batteries refuse an acceptance
-- dated before its handover (BL043): retried, it comes after.
CREATE FUNCTION @extschema@._lot_after_now(lot text) RETURNS timestamptz
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    here text := coalesce(current_setting('battledger.origin', true), '');
BEGIN
    RETURN (SELECT max(x.ledger_at) FROM (
                SELECT s.ledger_at, s.ledger_origin FROM @extschema@._lot_custody_steps(lot) s WHERE s.effective
                UNION ALL
                SELECT c.ledger_at, c.ledger_origin FROM @extschema@._lot_consumers(lot) c WHERE c.effective) x
             WHERE (x.ledger_at, x.ledger_origin) > (statement_timestamp(), here));
END $$;
REVOKE ALL ON FUNCTION @extschema@._lot_after_now(text) FROM PUBLIC;

-- Inputs [{"lot": ..., "mass_kg": ...}] must be lots the signer holds, with that much mass left.
-- A lot named more than once is checked for the sum of its entries: each
-- checked alone against the lot's mass let 100 kg give 120 (red team r22,
-- L1).  A lot the holder has shipped and the addressee not yet received is
-- not the holder's to consume (_lot_consumers() judges it so): consumed
-- meanwhile, the addressee received a lot with nothing left (r22, L2).
-- r is the row of tbl being judged: a refusal is raised only if it is signed
-- (_refuse_row); otherwise NULL, and the caller lets the chain trigger refuse it.
CREATE FUNCTION @extschema@._check_inputs(r anyelement, tbl regclass, inputs jsonb, signer text, what text)
    RETURNS numeric
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    later timestamptz;
    i jsonb;
    inp record;
    cust record;
    total numeric := 0;
    want numeric;
BEGIN
    IF inputs IS NULL OR jsonb_typeof(inputs) <> 'array' OR jsonb_array_length(inputs) = 0 THEN
        PERFORM @extschema@._refuse_row(r, tbl, 'BL031', format('%s needs its input lots', what),
            'Give them as a JSON array: [{"lot": "...", "mass_kg": 12.5}, ...].');
        RETURN NULL;
    END IF;
    -- lock every input first, in one order, so two writers cannot deadlock
    PERFORM @extschema@._lock_subject('lot', l) FROM (
        SELECT DISTINCT e->>'lot' AS l FROM jsonb_array_elements(inputs) e WHERE e->>'lot' IS NOT NULL ORDER BY 1) x;
    FOR i IN SELECT * FROM jsonb_array_elements(inputs) LOOP
        -- (what every member's readers will count: a number, or nothing)
        want := @extschema@._json_num(i->'mass_kg');
        IF i->>'lot' IS NULL OR want IS NULL OR want <= 0 THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL031', format('malformed input lot %s in %s', i, what));
            RETURN NULL;
        END IF;
    END LOOP;
    FOR inp IN SELECT e.v->>'lot' AS lot, sum(@extschema@._json_num(e.v->'mass_kg')) AS kg
               FROM jsonb_array_elements(inputs) WITH ORDINALITY e(v, ord) GROUP BY 1 ORDER BY min(e.ord) LOOP
        SELECT * INTO cust FROM @extschema@._lot_balance(inp.lot);
        IF cust.holder IS DISTINCT FROM signer THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL032', format('lot "%s" is not held by member "%s"', inp.lot, signer),
                format('Its custodian is %s.', coalesce('"' || cust.holder || '"', 'nobody (no such lot)')));
            RETURN NULL;
        END IF;
        IF cust.offered IS NOT NULL THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL032', format('lot "%s" is shipped to member "%s"', inp.lot, cust.offered),
                'A lot shipped and not yet received is not its shipper''s to consume.');
            RETURN NULL;
        END IF;
        later := @extschema@._lot_after_now(inp.lot);
        IF later IS NOT NULL THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL032', format('this server''s clock is behind lot "%s"', inp.lot),
                format('Its latest row is dated %s; a use dated before it would come first in registry order.', later),
                'Check the server''s clock (NTP) and retry.');
            RETURN NULL;
        END IF;
        -- a lot made with a mass that is no finite number (written before
        -- 0.27.0, whose rules let it through, or past the rules): NaN sorts
        -- above every number, so the comparison below let every use pass.
        -- Nor one of more than 1,000 digits either side of the point, as
        -- _json_num() reads the uses' masses (red team rt27b F3)
        IF @extschema@._json_num(pg_catalog.to_jsonb(cust.available_kg)) IS NULL THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL033', format('mass balance: lot "%s" has %s kg left', inp.lot, cust.available_kg),
                'Its creation''s mass is no finite number of at most 1,000 digits either side of the point; registry_conflicts() names it (value_not_finite).',
                'Create the material as a lot with its real mass.');
            RETURN NULL;
        END IF;
        IF cust.available_kg < inp.kg THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL033', format('mass balance: lot "%s" has %s kg left, not %s kg',
                inp.lot, cust.available_kg, inp.kg));
            RETURN NULL;
        END IF;
        total := total + inp.kg;
    END LOOP;
    RETURN total;
END $$;

-- A superuser's pg_restore (battledger.restore on, src/pg/restore.h): the
-- rules triggers let the dumped rows pass, as the chain trigger keeps them;
-- they were judged when written, and are restored in table order, not in
-- the order they were written.
CREATE FUNCTION @extschema@._restoring() RETURNS boolean
    AS 'MODULE_PATHNAME', 'battledger_restoring' LANGUAGE C STABLE PARALLEL SAFE;

-- The rule triggers run as the extension's owner (SECURITY DEFINER): they
-- take the subjects' turns in subject_lock, which no other role may lock, and
-- read every row they decide on whatever row security a table gains.
CREATE FUNCTION @extschema@._lot_rules() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    k @extschema@.event_kind;
    cust record;
    ns record;
    input_kg numeric;
    later timestamptz;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;                 -- unknown key: the chain trigger refuses it (BL011)
    END IF;
    SELECT * INTO k FROM @extschema@.event_kind WHERE event = NEW.event AND subject = 'lot';
    IF NOT FOUND THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL030', format('unknown lot event "%s"', NEW.event),
            hint => 'See battledger.event_kind.');
        RETURN NEW;
    END IF;
    IF NOT s.roles && k.roles THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL015', format('member "%s" may not sign a "%s" lot event', s.member, NEW.event),
            format('Its roles are %s; the event needs one of %s.', s.roles, k.roles));
        RETURN NEW;
    END IF;
    -- an event time no reader can print ('infinity', a five-digit year):
    -- the passports showed it where the standards want an RFC 3339
    -- date-time (0.28.0; _time_ok())
    IF NOT @extschema@._time_ok(NEW.occurred_at) THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL031', format('lot "%s": "%s" occurred at %s', NEW.lot_id, NEW.event, NEW.occurred_at),
            'An event''s time is a time from 1000-01-01 up to 9999-01-01 UTC: the passports show it as an RFC 3339 date-time, which has no infinity and no year of other than four digits.', 'Write the time the event occurred.');
        RETURN NEW;
    END IF;
    -- a mass that is no number (NaN) or an infinity: the CHECK (> 0) lets
    -- both through (NaN sorts above every number), and a lot of NaN kg had
    -- every use of it pass the mass balance (0.27.0).  Nor a number of more
    -- than 1,000 digits either side of the point (numeric holds 131,072
    -- before it and 16,383 after), the bound _json_num() reads the uses'
    -- masses with (red team rt27b F3)
    IF @extschema@._json_num(pg_catalog.to_jsonb(NEW.mass_kg)) IS NULL THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL031', format('lot "%s" has a mass of %s kg', NEW.lot_id, NEW.mass_kg),
            'A lot''s mass is a finite number of kilograms, of at most 1,000 digits either side of the point.', 'Write the mass the lot has.');
        RETURN NEW;
    END IF;
    PERFORM @extschema@._lock_subject('lot', NEW.lot_id);
    -- a lot exists once a creation counts (_lot_custody()): an ineffective
    -- one (another member's, in the maker's namespace) must not block the maker
    SELECT * INTO cust FROM @extschema@._lot_custody(NEW.lot_id);
    IF NEW.event IN ('extracted', 'processed', 'secondary_created') AND cust.holder IS NOT NULL THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL034', format('lot "%s" already exists', NEW.lot_id));
        RETURN NEW;
    ELSIF NEW.event IN ('shipped', 'received') AND cust.holder IS NULL THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL034', format('lot "%s" does not exist', NEW.lot_id));
        RETURN NEW;
    END IF;
    -- a lot id in another member's namespace is its to create (ns21)
    IF NEW.event IN ('extracted', 'processed', 'secondary_created') THEN
        SELECT * INTO ns FROM @extschema@._key_owners(@extschema@._text_id_key(NEW.lot_id), statement_timestamp());
        IF ns.members IS NOT NULL AND NOT s.member = ANY (ns.members) THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL044', format('lot id %s is in the namespace of member "%s"',
                                                                      NEW.lot_id, array_to_string(ns.members, '", "')),
                format('Namespace %s is registered to "%s"; a lot id of the form gs1:01/<GTIN>/10/<batch> or iso15459:<IAC>/<CIN>/... is its members'' to create.',
                       array_to_string(ns.namespaces, ', '), array_to_string(ns.members, '", "')),
                'Use a lot id of a namespace registered to you (battledger.id_namespace).');
            RETURN NEW;
        END IF;
    END IF;
    IF NEW.event = 'processed' THEN
        input_kg := @extschema@._check_inputs(NEW, TG_RELID, NEW.inputs, s.member, format('lot "%s"', NEW.lot_id));
        IF input_kg IS NULL THEN
            RETURN NEW;             -- refused, but not signed: the chain trigger refuses it
        END IF;
        IF NEW.mass_kg > input_kg THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL033', format('mass balance: output lot "%s" (%s kg) exceeds its inputs (%s kg)',
                NEW.lot_id, NEW.mass_kg, input_kg));
            RETURN NEW;
        END IF;
    ELSIF NEW.event = 'shipped' THEN
        IF @extschema@.lot_custodian(NEW.lot_id) IS DISTINCT FROM s.member THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL032', format('member "%s" cannot ship lot "%s": it does not hold it', s.member, NEW.lot_id));
            RETURN NEW;
        END IF;
        IF NEW.counterparty IS NULL OR NOT EXISTS (SELECT 1 FROM @extschema@.members m WHERE m.member = NEW.counterparty) THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL031', 'a shipment needs the receiving member as counterparty');
            RETURN NEW;
        END IF;
    ELSIF NEW.event = 'received' THEN
        -- the holder's pending shipment (_lot_custody()), not the last row:
        -- another member's row must not stand in for it (red team r20, L1)
        IF cust.offered IS DISTINCT FROM s.member THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL032', format('lot "%s" was not shipped to member "%s"', NEW.lot_id, s.member));
            RETURN NEW;
        END IF;
    END IF;
    -- registry order must put a shipment or receipt after every row of the
    -- lot that counts (_lot_after_now(): red team r23, R)
    IF NEW.event IN ('shipped', 'received') THEN
        later := @extschema@._lot_after_now(NEW.lot_id);
        IF later IS NOT NULL THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL032', format('this server''s clock is behind lot "%s"', NEW.lot_id),
                format('Its latest row is dated %s; a %s row dated before it would come first in registry order.', later, NEW.event),
                'Check the server''s clock (NTP) and retry.');
            RETURN NEW;
        END IF;
    END IF;
    RETURN NEW;
END $$;

-----------------------------------------------------------------------------
-- A battery's lifecycle, the same on every member (docs/consortium.md, "One
-- history per battery").  The events that decide a battery's state (its
-- lifecycle events) are judged in registry order, (ledger_at, ledger_origin,
-- ledger_seq), each against the state the events before it reached: an event
-- the rules refuse there is kept (it is signed evidence) but changes nothing.
-- Every member holding the same rows therefore computes the same state,
-- whatever order the rows arrived in.  The writer's trigger refuses the same
-- events with the same verdict, so a member whose rules run never writes one.
--
-- Custody: one member at a time holds write authority over a battery's
-- lifecycle (placing it on the market, moving its status, dismantling,
-- recycling, handing it over): first its manufacturer, then whoever accepts
-- a handover.  A handover names the receiver; from then on nobody holds the
-- authority until the receiver accepts, and a handover cannot be withdrawn
-- (a withdrawal could race the acceptance).  So two honest members never
-- both move a battery, and a move by anyone else is judged ineffective
-- everywhere and reported as equivocation (registry_conflicts()).  Usage
-- reports, repairs and the other events commute: they stay open to their
-- roles.
-----------------------------------------------------------------------------

-- Custody is enforced for lifecycle events dated from 'since' on: -infinity
-- for a registry created with 0.4.0; the moment of the update for one updated
-- from 0.3.0, whose earlier moves were written without custody.  Members of a
-- consortium must agree on it (set_custody_from(), docs/consortium.md).
-- No row means -infinity (_custody_from()): CREATE EXTENSION writes none, so
-- that pg_restore can COPY a dumped date into the table without colliding
-- with a row of its own (until 0.24.0 the date was not dumped, and a
-- restored member enforced custody from -infinity unlike its peers).
CREATE TABLE @extschema@.registry_rule (
    rule  text PRIMARY KEY CHECK (rule IN ('custody')),
    since timestamptz NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.registry_rule', '');
GRANT SELECT ON @extschema@.registry_rule TO PUBLIC;

-- set_custody_from(since timestamptz): the consortium's agreed custody date (owner or superuser)
CREATE FUNCTION @extschema@.set_custody_from(since timestamptz) RETURNS timestamptz
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF since IS NULL THEN
        RAISE EXCEPTION 'the custody date cannot be NULL' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Give -infinity to enforce custody for every event.';
    END IF;
    INSERT INTO @extschema@.registry_rule AS r (rule, since) VALUES ('custody', set_custody_from.since)
        ON CONFLICT (rule) DO UPDATE SET since = excluded.since;
    RETURN since;
END $$;

CREATE FUNCTION @extschema@._custody_from() RETURNS timestamptz
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN coalesce((SELECT r.since FROM @extschema@.registry_rule r WHERE r.rule = 'custody'), '-infinity');
END $$;

-----------------------------------------------------------------------------
-- Identifier namespaces: who may make which batteries.  A battery id is its
-- maker's: a GS1 GTIN carries the maker's GS1 company prefix, an ISO/IEC
-- 15459 id its issuing agency and company number.  Registered here, a
-- namespace makes "manufactured" under it its member's alone, so nobody can
-- take a battery by writing its first row before the real maker (squatting
-- its serials, or dating a row of its own earlier: registry order follows
-- the writer's clock).  Registrations replicate like members and keys; one
-- counts only if written where its member is hosted (the origin that added
-- the member).  Two members registering overlapping namespaces are both
-- reported by registry_conflicts(), and where they overlap neither excludes
-- the other: a claim cannot take another member's namespace, only fail to
-- protect it until the consortium settles it.  A registration governs the
-- rows dated after it, so a new one never changes how a stored row is
-- judged (one dated back to do so is reported by verify_member()).
CREATE TABLE @extschema@.id_namespace (
    namespace text NOT NULL CHECK (namespace ~ '^(gs1:[0-9]{4,12}|iso15459:[A-Z0-9]{1,3}/[A-Z0-9]{1,35})$'),
    member    text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
SELECT @extschema@.enable_ledger('@extschema@.id_namespace', 'namespace');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.id_namespace', '');
-- the registrations a GS1 prefix covers, by a range of prefixes in byte
-- order whatever the database's collation (registry_conflicts():
-- namespace_contested, once per registration; red team r24, D1)
CREATE INDEX id_namespace_prefix ON @extschema@.id_namespace ((namespace COLLATE "C"));
GRANT SELECT ON @extschema@.id_namespace TO PUBLIC;

-- The key of a battery id that namespaces are prefixes of: 'gs1:' and the
-- GTIN's company prefix and item reference (the indicator digit and check
-- digit left out), or 'iso15459:IAC/CIN/'.
CREATE FUNCTION @extschema@._id_key(id @extschema@.battery_id) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN @extschema@.battery_id_scheme(id) = 'gs1' THEN 'gs1:' || substr(@extschema@.battery_gtin(id), 2, 12)
                ELSE regexp_replace(@extschema@.text(id), '[^/]*$', '') END
$$;

-- Does a namespace (as registered) cover a key (_id_key()) or another namespace?
CREATE FUNCTION @extschema@._ns_covers(namespace text, key text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN namespace LIKE 'gs1:%' THEN starts_with(key, namespace)
                ELSE starts_with(key || '/', namespace || '/') END
$$;

-- _ns_candidates(key text): the namespaces that could cover a key
-- (_ns_covers()), which are all prefixes of it: for a gs1 key every prefix
-- from 'gs1:' on, for another the key itself and each prefix that the key
-- follows with a '/'.  A loop of simple expressions: the same set as
-- ARRAY(SELECT left(key, n) FROM generate_series(...) WHERE ...), which was
-- a query of its own, 21 against 6 µs a call; every namespace check (a
-- battery's manufacture, a model's holder on a passport's path, a lot's
-- creation) computes it (0.19.0).  A gs1 key as _id_key() and
-- _text_id_key() make it ('gs1:' and 12 characters) takes one expression
-- of the same set, in the loop's order, instead of the loop's sixteen
-- turns (0.20.0, the namespaced passport's goal).  The loop stops at 48
-- characters, the longest namespace id_namespace's CHECK admits
-- ('iso15459:', 3 and '/', 35): no longer prefix can be one.  Unbounded,
-- it was quadratic in the key's length (substr() of a multibyte text walks
-- from its start, and a gs1 key appended every prefix): any role could
-- spend 22 s of CPU on one call with a 100,000-character key (0.22.0).
CREATE FUNCTION @extschema@._ns_candidates(key text) RETURNS text[]
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

-- Is a registration written where its member is hosted (the origin of the
-- row that added the member)?  Another origin's DBA cannot speak for it.
-- Hosting is _member_hosts', as for keys and roles: a member added under the
-- empty origin is hosted here too (r25 E1; until 0.23.0 such a member's
-- registrations were refused, BL044, once battledger.origin was set: red
-- team r28, N1).
CREATE FUNCTION @extschema@._ns_hosted(member text, origin text) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    -- (every row adding the member: a second origin claiming to add it, however
    -- dated, makes its hosting contested, not moved: the red team's finding D)
    SELECT coalesce((SELECT bool_and(origin = ANY (h.origins)) FROM @extschema@._member_hosts h
                      WHERE h.member = _ns_hosted.member), false)
$$;

-- The writer's rules for the consortium's own registrations (red team r24):
-- a member's keys and roles are registered where the member was added, as
-- its namespaces are.  add_key(), revoke_key() and set_member_roles()
-- checked no hosting, so a member's DBA, with no bypass, could add a key of
-- its own for a competitor and sign as it, revoke the competitor's key, or
-- strip its roles, on every member; adding a member again at a second
-- origin (a direct INSERT: add_member() refuses it) made its hosting
-- contested and its namespaces void.  A row trigger on both tables, so that
-- a direct INSERT is judged like the functions' (the apply worker does not
-- fire it: rows from other members are judged by registry_conflicts(),
-- key_not_hosted and roles_not_hosted).
CREATE FUNCTION @extschema@._governance_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- (not current_setting(): before the library loads, which the chain
    -- trigger does after this one, any role may SET a placeholder for it
    -- and pass for another origin; red team r28, P1)
    here text := @extschema@._origin();
    host text;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
    IF TG_TABLE_NAME = 'member_event' AND NEW.event = 'added' THEN
        SELECT e.ledger_origin INTO host FROM @extschema@.member_event e
         WHERE e.member = NEW.member AND e.event = 'added' LIMIT 1;
        IF FOUND THEN
            PERFORM @extschema@._refuse('BL044', format('member "%s" was added by origin "%s"', NEW.member, host),
                'A member is added once, by the origin that hosts it; adding it again elsewhere would contest its hosting.',
                'Change its roles with battledger.set_member_roles() at its own origin.');
        END IF;
        RETURN NEW;
    END IF;
    -- a key row names its key by key_id, and the readers (keys, the key
    -- cache, _signer_at()) read a revocation by key_id alone and take one
    -- of a key's 'added' rows: a row naming a member hosted here but
    -- another member's key revoked or re-registered that member's key
    -- (red team r25, V1, V2)
    IF TG_TABLE_NAME = 'key_event' AND NEW.event = 'added' THEN
        SELECT k.member INTO host FROM @extschema@.key_event k
         WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id AND k.event = 'added' LIMIT 1;
        IF FOUND THEN
            PERFORM @extschema@._refuse('BL044', format('key %s is already registered, for member "%s"', NEW.key_id, host),
                'A key is registered once, for one member: a second row would make its signer ambiguous.',
                'Register a key pair of the member''s own.');
        END IF;
    ELSIF TG_TABLE_NAME = 'key_event' THEN
        IF NOT EXISTS (SELECT FROM @extschema@.key_event k WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id
                          AND k.event = 'added' AND k.member = NEW.member) THEN
            PERFORM @extschema@._refuse('BL044', format('key %s is not a key of member "%s"', NEW.key_id, NEW.member),
                'A revocation names the member the key was added for.',
                'Revoke keys with battledger.revoke_key().');
        END IF;
        -- the origin that added a key may always withdraw it, also where a
        -- second origin adding the member has contested its hosting since
        -- (a compromised key must stay revocable; red team r25, X1)
        IF EXISTS (SELECT FROM @extschema@.key_event k WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id
                      AND k.event = 'added' AND k.member = NEW.member AND k.ledger_origin IN (here, '')) THEN
            RETURN NEW;
        END IF;
    END IF;
    -- (a row of the empty origin was written here, before battledger.origin
    -- was set or by 0.1.0: the arrival check refuses one from elsewhere;
    -- red team r25, E1.)  A member added nowhere yet passes: pg_restore
    -- brings key_event's rows before member_event's (pg_dump orders table
    -- data by name), and a key row for a member no origin has added signs
    -- for no roles; if another origin adds that member later, the row is
    -- named key_not_hosted (registry_conflicts(); red team r25, D1)
    IF EXISTS (SELECT FROM @extschema@._member_hosts h WHERE h.member = NEW.member AND NOT h.origins && ARRAY[here, '']) THEN
        SELECT string_agg(DISTINCT '"' || e.ledger_origin || '"', ', ') INTO host FROM @extschema@.member_event e
         WHERE e.member = NEW.member AND e.event = 'added';
        PERFORM @extschema@._refuse('BL044', format('member "%s" is not hosted here', NEW.member),
            format('A member''s keys and roles are registered by the origin that added it (%s); this database is "%s".',
                   coalesce(host, 'none'), here),
            'Ask the DBA of the member''s own database to register it.');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.key_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._governance_rules();
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.member_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._governance_rules();

-- _id_owners(id battery_id, at timestamptz): the members whose (hosted)
-- registrations, made by time at, cover a battery id, the namespaces, and
-- when the first was registered; NULLs if none.  A registration governs the
-- rows dated after it: it never changes how an earlier row is judged.
-- _key_owners() of the id's key (_id_key()): until 0.20.0 the same query
-- was written out twice.
CREATE FUNCTION @extschema@._id_owners(id @extschema@.battery_id, at timestamptz,
                                       OUT members text[], OUT namespaces text[], OUT since timestamptz)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT o.members, o.namespaces, o.since INTO members, namespaces, since
      FROM @extschema@._key_owners(@extschema@._id_key(id), at) o;
END $$;

-- Model and lot ids in namespaces (ns21; red team r21 F3).  A model id or a
-- lot id written in a namespace's form is that namespace's member's, as a
-- battery id is: a GS1 GTIN identifies a trade item (a model) and with a
-- batch number (AI 10) a lot; an ISO/IEC 15459 id carries its issuing agency
-- and company.  _text_id_key(id text): the key of such an id that
-- namespaces are prefixes of (as _id_key()): 'gs1:' and the GTIN's company
-- prefix and item reference for 'gs1:01/<GTIN-14>' alone or followed by
-- '/...'; 'iso15459:<IAC>/<CIN>/' for 'iso15459:<IAC>/<CIN>/<anything>'.
-- NULL for any other id: it is in no namespace, and stays its first
-- declarer's (or creator's) in registry order.  Another spelling is another
-- id, which a passport does not name; but the spellings battery ids accept
-- for the same company (battery_id.c: a GS1 element string '(01)<GTIN-14>',
-- a Digital Link 'https://<host>/.../01/<GTIN>', a GTIN-8/12/13, any case;
-- an ISO/IEC 15459 id in lower case) are in its namespace too, so that a
-- maker writing its model or lot ids so is not left unprotected, another
-- member free to take them (red team r22, N3).  Likewise what the
-- battery_id parser (type_text.c) reads besides: surrounding white space
-- (a scanner's), an element string with a GTIN-8/12/13 ('(01)<13
-- digits>(21)...', padded to 14) and a Digital Link whose GTIN digits are
-- percent-encoded ('/01/%30%39...'): until 0.21.0 they were in no
-- namespace, so another member's application issued, for its own battery,
-- a passport id that battery_id reads as the namespace member's battery's
-- (red team r24, S1).
-- (PL/pgSQL, as _signer(): with its pinned search_path an SQL function is
-- planned again on every call, and passport() calls it through _model_holder())
CREATE FUNCTION @extschema@._text_id_key(id text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gtin text;
    lead text;
BEGIN
    -- the white space battery_id trims (type_text.c, is_space()), tested
    -- without an expression: the canonical form's path below needs none
    IF ascii(id) IN (9, 10, 11, 12, 13, 32) OR ascii(right(id, 1)) IN (9, 10, 11, 12, 13, 32) THEN
        id := btrim(id, E' \t\n\r\f' || chr(11));
    END IF;
    -- the canonical form first ('^gs1:01/[0-9]{14}(/|$)'), and each other
    -- spelling's regular expression only for an id with its prefix: a
    -- backend keeps its 32 last compiled expressions, and the path of a
    -- passport, which calls this through _model_holder(), has others; the
    -- canonical form needs none, an id of no spelling none either (0.20.0)
    IF starts_with(id, 'gs1:01/') AND length(id) >= 21 AND translate(substr(id, 8, 14), '0123456789', '') = ''
       AND (length(id) = 21 OR substr(id, 22, 1) = '/') THEN
        RETURN 'gs1:' || substr(id, 9, 12);
    END IF;
    -- (the prefixes in lower case: each expression below matches only ids
    -- whose first characters are these in either case)
    lead := lower(left(id, 9));
    IF starts_with(lead, 'gs1:01/') THEN
        gtin := substring(id from '(?i)^gs1:01/([0-9]{8}|[0-9]{12,14})(?:/|$)');
    ELSIF starts_with(id, '(01)') THEN
        -- (a GTIN-8/12/13 ends at the next element's '(' or the end:
        -- battery_id pads it; fourteen digits as before, whatever follows)
        gtin := coalesce(substring(id from '^\(01\)([0-9]{14})'),
                         substring(id from '^\(01\)([0-9]{13}|[0-9]{12}|[0-9]{8})(?:\(|$)'));
    ELSIF starts_with(lead, 'http') THEN
        -- (a digit percent-encoded is that digit, as battery_id decodes
        -- the GTIN's segment; '%3' and a digit encode nothing else)
        IF strpos(id, '%3') > 0 THEN
            FOR d IN 0 .. 9 LOOP
                id := replace(id, '%3' || d, d::text);
            END LOOP;
        END IF;
        gtin := substring(id from '(?i)^https?://[^/?#]+(?:/[^?#]*)?/01/([0-9]{8}|[0-9]{12,14})(?:[/?#]|$)');
    END IF;
    IF gtin IS NOT NULL THEN
        RETURN 'gs1:' || substr(lpad(gtin, 14, '0'), 2, 12);
    END IF;
    IF starts_with(lead, 'iso15459:') THEN
        RETURN 'iso15459:' || upper(substring(id from '(?i)^iso15459:([A-Z0-9]{1,3}/[A-Z0-9]{1,35}/).'));
    END IF;
    RETURN NULL;
END $$;

-- _key_owners(key text, at timestamptz): the members whose (hosted)
-- registrations, made by time at, cover a key (_id_key() of a battery id,
-- _text_id_key() of a model or lot id), their namespaces and the first
-- registration's time; NULLs if none (and for a NULL key).  Every namespace
-- _ns_covers() lets cover key is a prefix of it (_ns_candidates()): a gs1
-- one any prefix (starts_with), another one a prefix that key || '/'
-- follows with a '/'.  Those few are looked up in the chain index
-- (namespace first); testing every registration made each "manufactured"
-- verdict cost their number, and a member registering namespaces by the
-- ten thousand slowed every member (red team G2).  _key_claims() is the same
-- registrations read for every time at once, without their namespaces,
-- which its callers do not need: it does not serve this one (a second query
-- for the namespaces would cost more than it saves).
CREATE FUNCTION @extschema@._key_owners(key text, at timestamptz,
                                        OUT members text[], OUT namespaces text[], OUT since timestamptz)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    candidates text[] := @extschema@._ns_candidates(key);
BEGIN
    IF key IS NULL THEN
        RETURN;
    END IF;
    -- _ns_covers() and _ns_hosted() written out, as in _key_claims(): SQL
    -- functions with a pinned search_path are planned on every call, and
    -- each battery's manufacture reads this (_id_owners())
    SELECT array_agg(DISTINCT n.member ORDER BY n.member), array_agg(DISTINCT n.namespace ORDER BY n.namespace), min(n.at)
      INTO members, namespaces, since
      FROM @extschema@.id_namespace n
     WHERE n.namespace = ANY (candidates)
       AND CASE WHEN n.namespace LIKE 'gs1:%' THEN starts_with(key, n.namespace)
                ELSE starts_with(key || '/', n.namespace || '/') END
       AND n.at <= _key_owners.at
       AND coalesce((SELECT bool_and(n.ledger_origin = ANY (h.origins)) FROM @extschema@._member_hosts h
                      WHERE h.member = n.member), false);
END $$;

-- _key_claims(key text): every member whose hosted registration covers the
-- key and when it first registered one, as two arrays (NULL if none): what
-- _key_claim_allows() judges each row of an id by, read once per id, not
-- once per row.
CREATE FUNCTION @extschema@._key_claims(key text, OUT members text[], OUT since timestamptz[])
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    candidates text[] := @extschema@._ns_candidates(key);
BEGIN
    IF key IS NULL THEN
        RETURN;
    END IF;
    -- _ns_covers() and _ns_hosted() written out: SQL functions with a
    -- pinned search_path are planned on every call, and this is on the
    -- passport's path (_model_holder())
    SELECT array_agg(x.member ORDER BY x.member), array_agg(x.at ORDER BY x.member) INTO members, since
      FROM (SELECT n.member, min(n.at) AS at FROM @extschema@.id_namespace n
             WHERE n.namespace = ANY (candidates)
               AND CASE WHEN n.namespace LIKE 'gs1:%' THEN starts_with(key, n.namespace)
                        ELSE starts_with(key || '/', n.namespace || '/') END
               AND coalesce((SELECT bool_and(n.ledger_origin = ANY (h.origins)) FROM @extschema@._member_hosts h
                              WHERE h.member = n.member), false)
             GROUP BY n.member) x;
END $$;

-- _key_claim_allows(members, since, member, at): may member write the first
-- row of an id whose claims (_key_claims()) are these, at time at?  Yes if
-- no claim was registered by then (a registration governs the rows dated
-- after it), or if one of those is member's: where two members' claims
-- overlap neither excludes the other (namespace_contested).
-- (PL/pgSQL: called for every row of an id; a loop over the few claims)
CREATE FUNCTION @extschema@._key_claim_allows(members text[], since timestamptz[], member text, at timestamptz)
    RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    claimed boolean := false;
BEGIN
    FOR i IN 1 .. coalesce(array_length(members, 1), 0) LOOP
        IF since[i] <= at THEN
            IF members[i] = member THEN
                RETURN true;
            END IF;
            claimed := true;
        END IF;
    END LOOP;
    RETURN NOT claimed;
END $$;

-- _lot_counted_creation: each lot's creation the registry counts, one row
-- per lot that has a creation row (extracted, processed, secondary_created)
-- with a NULL creation where none counts: the first creation row in
-- registry order by a known key (its signer as _signer_at() reads it) whose
-- signer's roles at its time allow the event and, for a lot id in a
-- registered namespace (_text_id_key()), that the namespace allows
-- (_key_claims(), read once per lot; _key_claim_allows() per row).  The one
-- judge of a lot's creation (0.21.0): the walk (_lot_custody_steps()),
-- _lot_creation() and recycled_content() read it with "WHERE lot_id = ...";
-- until 0.20.0 each judged it itself, the walk in its loop and
-- recycled_content() written out twice.  A view, so that the queries
-- reading it plan it in, the lot id pushed into its list of lots and the
-- creation read by index lot_event_creation, stopping at the first row that
-- counts: a function call per lot cost recycled_content(), on every
-- passport's path, about 0.1 ms a lot, and an SQL function the planner
-- could inline would have to leave its search_path unpinned.  The claims
-- read per row instead of per lot cost 75 µs a row: 2,000 rows of another
-- member dated before the maker's creation made each read 155 ms.
-- A reader joining it to other lots reads it in a LATERAL subquery with
-- LIMIT 1 (recycled_content()): a plain join may be planned as a hash join
-- over every lot's creation.
-- security_invoker: it reads the raw lot events with its reader's rights
-- (the walk runs as its caller, a role reading lot_event; 42501 for the
-- others), so PUBLIC may select from it and learns nothing it could not
-- read in the tables themselves.
CREATE VIEW @extschema@._lot_counted_creation WITH (security_invoker = true) AS
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
         AND coalesce((SELECT m.roles FROM @extschema@._member_rows_counted m
                        WHERE m.member = s.member AND m.at <= x.ledger_at
                        ORDER BY m.at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1)
                      && (SELECT k.roles FROM @extschema@.event_kind k WHERE k.event = x.event AND k.subject = 'lot'),
                      false)
         AND (cl.members IS NULL OR @extschema@._key_claim_allows(cl.members, cl.since, s.member, x.ledger_at))
       ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LIMIT 1) f ON true;
GRANT SELECT ON @extschema@._lot_counted_creation TO PUBLIC;

-- add_id_namespace(member text, namespace text): register a GS1 company prefix
-- ('gs1:4012345') or an ISO/IEC 15459 issuer and company ('iso15459:UN/123456')
-- as the member's; from then on only it may manufacture batteries under it.
CREATE FUNCTION @extschema@.add_id_namespace(member text, namespace text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    other record;
BEGIN
    IF member IS NULL OR NOT EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = add_id_namespace.member AND e.event = 'added') THEN
        RAISE EXCEPTION 'member "%" does not exist', member USING ERRCODE = 'undefined_object',
            HINT = 'Register it first with battledger.add_member().';
    END IF;
    -- (_origin(), not current_setting(): a placeholder SET before the
    -- library loads is not this database's origin; red team r28, P2)
    IF NOT @extschema@._ns_hosted(member, @extschema@._origin()) THEN
        RAISE EXCEPTION 'member "%" is not hosted here', member USING ERRCODE = 'BL044',
            DETAIL = 'A namespace is registered where its member was added; a registration made elsewhere does not count.',
            HINT = 'Ask the DBA of the member''s own database to register it.';
    END IF;
    IF namespace IS NULL OR namespace !~ '^(gs1:[0-9]{4,12}|iso15459:[A-Z0-9]{1,3}/[A-Z0-9]{1,35})$' THEN
        RAISE EXCEPTION 'invalid identifier namespace "%"', namespace USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'A namespace is a GS1 company prefix (4 to 12 digits) or an ISO/IEC 15459 issuing agency code and company number.',
            HINT = 'For example ''gs1:4012345'' or ''iso15459:UN/123456''.';
    END IF;
    SELECT n.namespace, n.member INTO other FROM @extschema@.id_namespace n
     WHERE n.member = add_id_namespace.member
       AND (@extschema@._ns_covers(n.namespace, add_id_namespace.namespace)
            OR @extschema@._ns_covers(add_id_namespace.namespace, n.namespace)) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'namespace "%" overlaps "%", already registered to "%"', namespace, other.namespace, other.member
            USING ERRCODE = 'duplicate_object';
    END IF;
    -- another member's overlapping claim is not a reason to refuse this one:
    -- refusing would let whoever registers first (a short prefix, say) keep
    -- the real owner out.  Both are recorded; where they overlap neither
    -- excludes the other, and both are named until the consortium settles it
    SELECT n.namespace, n.member INTO other FROM @extschema@.id_namespace n
     WHERE n.member <> add_id_namespace.member
       AND (@extschema@._ns_covers(n.namespace, add_id_namespace.namespace)
            OR @extschema@._ns_covers(add_id_namespace.namespace, n.namespace)) LIMIT 1;
    IF FOUND THEN
        RAISE WARNING 'namespace "%" overlaps "%", registered to "%": contested', namespace, other.namespace, other.member
            USING DETAIL = 'Where the two overlap, neither member''s claim excludes the other''s batteries until the consortium settles it.',
                  HINT = 'See battledger.registry_conflicts() (namespace_contested).';
    END IF;
    -- registering a namespace must not take batteries another member has made under it
    SELECT s.member, e.battery_id INTO other FROM @extschema@.battery_event e, @extschema@._signer(e.ledger_key_id) s
     WHERE e.event = 'manufactured' AND s.member IS DISTINCT FROM add_id_namespace.member
       AND @extschema@._ns_covers(add_id_namespace.namespace, @extschema@._id_key(e.battery_id))
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'member "%" has made batteries in namespace "%"', other.member, namespace
            USING ERRCODE = 'BL044', DETAIL = format('For example %s.', other.battery_id),
                  HINT = 'Agree in the consortium whose namespace it is; the registration would make those batteries ineffective.';
    END IF;
    -- nor models another member declared, nor lots it created, under it
    -- (ns21 put them in namespaces): their rows dated before it keep
    -- counting, but the holder's own application was refused its model's
    -- next declaration (BL044; red team r22, N1).  Every spelling
    -- _text_id_key() reads: one pass over them, at registration only
    SELECT s.member, x.id INTO other
      FROM (SELECT m.model_id AS id, m.ledger_key_id, m.ledger_at, m.ledger_origin, m.ledger_seq FROM @extschema@.battery_model m
            UNION ALL
            SELECT l.lot_id, l.ledger_key_id, l.ledger_at, l.ledger_origin, l.ledger_seq FROM @extschema@.lot_event l
             WHERE l.event IN ('extracted', 'processed', 'secondary_created')) x,
           @extschema@._signer(x.ledger_key_id) s
     WHERE s.member IS DISTINCT FROM add_id_namespace.member
       AND @extschema@._ns_covers(add_id_namespace.namespace, @extschema@._text_id_key(x.id))
     ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'member "%" has declared models or created lots in namespace "%"', other.member, namespace
            USING ERRCODE = 'BL044', DETAIL = format('For example %s.', other.id),
                  HINT = 'Agree in the consortium whose namespace it is; the registration would refuse that member''s next rows of them.';
    END IF;
    -- nor passport ids another member issued under it (pp23 put them in
    -- namespaces): a claim overlapping the issuer's excludes neither, so
    -- the registering member's application could then issue the issuer's
    -- next passport ids before it, and hold them (BL038 for the issuer;
    -- red team r24, N1).  One pass over the issuing rows, at registration
    SELECT s.member, e.passport_id AS id INTO other
      FROM @extschema@.battery_event e, @extschema@._signer(e.ledger_key_id) s
     WHERE e.passport_id IS NOT NULL
       AND (e.event = 'placed_on_market' OR (e.event = 'status_changed' AND e.new_status IN ('re-used', 'repurposed', 'remanufactured')))
       AND s.member IS DISTINCT FROM add_id_namespace.member
       AND @extschema@._ns_covers(add_id_namespace.namespace, @extschema@._text_id_key(e.passport_id))
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'member "%" has issued passport ids in namespace "%"', other.member, namespace
            USING ERRCODE = 'BL044', DETAIL = format('For example %s.', other.id),
                  HINT = 'Agree in the consortium whose namespace it is; the registration would let you issue that member''s next passport ids.';
    END IF;
    INSERT INTO @extschema@.id_namespace (namespace, member) VALUES (namespace, member);
    RETURN namespace;
END $$;

-- Passport ids in namespaces (pp23).  A passport id is held by the first
-- event issuing it in registry order (placed_on_market, or a move into
-- re-use, repurposing or remanufacturing), even an ineffective one, so a
-- member bypassing its rules took a competitor's id on every member by an
-- issuing row dated first: a statement that waits for the competitor's row
-- to arrive and writes its own dated at its start (red team r21 F3's trick).
-- An id written in a registered namespace's form (_text_id_key(): every
-- spelling battery ids accept, e.g. 'gs1:01/<GTIN>/21/<serial>') is held as
-- a namespaced model id is (_model_holder()): only rows the namespace
-- allows (_key_claim_allows(): dated before every claim on it, or signed by
-- a member whose claim was registered by then) hold it; a row of another
-- member dated after the registration holds nothing, wherever it falls in
-- registry order.  Ids in no registered namespace keep the first issuing
-- row (a residual, docs/security.md).
-- _passport_holder_by(passport, members, since, after_row): that holder's
-- key (registry order, then battery_id, as _battery_verdict() and
-- _passport_holder_arrived() order them), or the first such row after
-- after_row (the row a new holder displaces); NULLs if none.  members and
-- since are the id's claims (_key_claims(), NULL for an id in no
-- namespace), which its callers read once for several uses: _key_claims()
-- is most of the cost.  One probe of battery_event_passport_holder for an
-- id in no namespace (red team r10, F2; _battery_verdict() and the trigger
-- write that one out), and for a namespaced one that probe below the first
-- claim plus one of battery_event_passport_signer per key of each claiming
-- member: never a walk over the rows the namespace refuses, however many a
-- member writes.
CREATE FUNCTION @extschema@._passport_holder_by(passport text, members text[], since timestamptz[],
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

-- _passport_holder(passport): an id's holder, its claims read here
CREATE FUNCTION @extschema@._passport_holder(passport text,
                                             OUT ledger_at timestamptz, OUT ledger_origin text, OUT ledger_seq bigint,
                                             OUT battery_id @extschema@.battery_id)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    key text := @extschema@._text_id_key(passport);
    members text[];
    since timestamptz[];
BEGIN
    IF key IS NOT NULL THEN
        SELECT c.members, c.since INTO members, since FROM @extschema@._key_claims(key) c;
    END IF;
    SELECT * INTO ledger_at, ledger_origin, ledger_seq, battery_id
      FROM @extschema@._passport_holder_by(passport, members, since);
END $$;

-- The state a battery's lifecycle events reached.
CREATE TYPE @extschema@.battery_fold_state AS (
    manufactured boolean,
    status       text,       -- original, re-used, repurposed, remanufactured, waste, recycled; NULL before the market
    passport_id  text,       -- the current passport
    custodian    text,       -- the member holding write authority (NULL while a handover is pending)
    handover_to  text,       -- the member a pending handover names
    successor    text        -- second life: the battery it was repurposed or remanufactured into
);

-- The rules' verdict on one event e, signed by member (with roles), given
-- the state st the events before it reached: NULL problem if allowed, else
-- the problem and the error the writer raises.  'writer' adds the checks only
-- the writing member can make at that moment (models, lots, corrections,
-- its clock), whose facts may reach another member later or in another order.
CREATE FUNCTION @extschema@._battery_verdict(e @extschema@.battery_event, member text, roles text[],
                                             st @extschema@.battery_fold_state, custody boolean, writer boolean,
                                             OUT problem text, OUT code text, OUT message text, OUT detail text, OUT hint text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k @extschema@.event_kind;
    needed text[];
    offered timestamptz;
    offered_by text;
    ns record;
    held record;
    pkey text;
    cm text[];
    cs timestamptz[];
BEGIN
    SELECT * INTO k FROM @extschema@.event_kind ek WHERE ek.event = e.event AND ek.subject = 'battery';
    IF NOT FOUND THEN
        problem := 'unknown_event'; code := 'BL030';
        message := format('unknown battery event "%s"', e.event); hint := 'See battledger.event_kind.';
        RETURN;
    END IF;
    needed := k.roles;
    IF e.event = 'status_changed' THEN
        SELECT sr.roles INTO needed FROM @extschema@.status_role sr WHERE sr.status = e.new_status;
        IF needed IS NULL THEN
            problem := 'unknown_status'; code := 'BL035';
            message := format('"%s" is not a status a battery can be moved into', e.new_status);
            detail := 'The statuses are re-used, repurposed, remanufactured and waste; recycled is recorded by a "recycled" event.';
            RETURN;
        END IF;
    END IF;
    -- second life (Art. 77(7)): a second-life operator makes the new battery it repurposes into
    IF e.event = 'manufactured' AND jsonb_typeof(e.data->'predecessors') = 'array' AND jsonb_array_length(e.data->'predecessors') > 0 THEN
        needed := needed || '{second_life_operator}'::text[];
    END IF;
    IF NOT roles && needed THEN
        problem := 'wrong_role'; code := 'BL015';
        message := format('member "%s" may not sign "%s"%s', member, e.event,
                          CASE WHEN e.event = 'status_changed' THEN format(' into "%s"', e.new_status) ELSE '' END);
        detail := format('Its roles are %s; this needs one of %s.', roles, needed);
        RETURN;
    END IF;
    -- only the events that issue a passport may name one: an id named by any
    -- other event would be held against its issuer.  The writer refuses it
    -- here (manufactured, quality checks, corrections and handovers return
    -- before the passport rules below); rows stored before 0.4.0 may carry
    -- one, so the fold lets them stand and registry_conflicts() names them
    IF writer AND e.passport_id IS NOT NULL
       AND NOT (e.event = 'placed_on_market' OR (e.event = 'status_changed' AND e.new_status IN ('re-used', 'repurposed', 'remanufactured'))) THEN
        problem := 'passport_not_issued'; code := 'BL038';
        message := format('"%s" does not issue a passport', e.event);
        RETURN;
    END IF;
    IF st.status = 'recycled' THEN
        problem := 'after_recycled'; code := 'BL036';
        message := format('battery %s has been recycled', e.battery_id);
        detail := 'Nothing is recorded after "recycled": its passport has ceased to exist (Art. 77(8)).';
        RETURN;
    END IF;
    -- second life: a battery consumed into its successor moves no more
    IF st.successor IS NOT NULL AND e.event <> 'manufactured' AND @extschema@._is_lifecycle(e.event) THEN
        problem := 'consumed'; code := 'BL036';
        message := format('battery %s has been %s into battery %s', e.battery_id, st.status, st.successor);
        detail := 'A repurposed or remanufactured battery lives on as its successor, with the successor''s passport (Art. 77(7)).';
        RETURN;
    END IF;
    IF e.event = 'manufactured' THEN
        IF st.manufactured THEN
            problem := 'manufactured_twice'; code := 'BL036';
            message := format('battery %s is already manufactured', e.battery_id);
            RETURN;
        END IF;
        -- a battery id is its namespace's member's to make (custody starts here)
        IF custody THEN
            SELECT * INTO ns FROM @extschema@._id_owners(e.battery_id, coalesce(e.ledger_at, statement_timestamp()));
            IF ns.members IS NOT NULL AND NOT member = ANY (ns.members) THEN
                problem := 'foreign_namespace'; code := 'BL044';
                message := format('battery id %s is in the namespace of member "%s"', e.battery_id, array_to_string(ns.members, '", "'));
                detail := format('Namespace %s is registered to "%s": only it may write "manufactured" under it.',
                                 array_to_string(ns.namespaces, ', '), array_to_string(ns.members, '", "'));
                hint := 'Use an identifier of a namespace registered to you (battledger.id_namespace).';
            END IF;
        END IF;
        RETURN;
    END IF;
    IF NOT coalesce(st.manufactured, false) THEN
        problem := 'not_manufactured'; code := 'BL036';
        message := format('battery %s has not been manufactured', e.battery_id);
        detail := 'Its first event must be "manufactured".';
        RETURN;
    END IF;
    IF e.event IN ('correction', 'quality_checked') THEN
        RETURN;
    END IF;

    -- custody: the lifecycle moves are the custodian's alone
    IF e.event IN ('placed_on_market', 'status_changed', 'dismantled', 'recycled', 'handover') AND custody THEN
        IF st.handover_to IS NOT NULL THEN
            problem := 'handover_pending'; code := 'BL043';
            message := format('battery %s is being handed over to "%s"', e.battery_id, st.handover_to);
            detail := format('Until "%s" accepts the handover, nobody may write "%s" for it.', st.handover_to, e.event);
            hint := 'The receiver records a "handover_accepted" event; a handover cannot be withdrawn.';
            RETURN;
        ELSIF st.custodian IS DISTINCT FROM member THEN
            problem := 'not_custodian'; code := 'BL043';
            message := format('member "%s" does not hold battery %s', member, e.battery_id);
            detail := format('"%s" needs write authority over the battery; its custodian is "%s".', e.event, st.custodian);
            hint := 'The custodian hands the battery over ("handover", data {"to": member}) and the member accepts it ("handover_accepted").';
            RETURN;
        END IF;
    END IF;
    IF e.event = 'handover' THEN
        IF e.data->>'to' IS NULL OR e.data->>'to' = member
           OR NOT EXISTS (SELECT 1 FROM @extschema@.members m WHERE m.member = e.data->>'to') THEN
            problem := 'bad_handover'; code := 'BL043';
            message := 'a handover must name another member as receiver';
            hint := 'Set data to {"to": "<member>"}.';
        ELSIF writer AND NOT EXISTS (SELECT 1 FROM @extschema@.members m, @extschema@.event_kind ek
                                      WHERE m.member = e.data->>'to' AND ek.event = 'handover_accepted'
                                        AND ek.subject = 'battery' AND m.roles && ek.roles) THEN
            -- a handover cannot be withdrawn: one to a member that may not accept
            -- it would leave the battery without a custodian for good (the
            -- writer's check only: the fold does not re-judge it if roles change)
            problem := 'bad_handover'; code := 'BL043';
            message := format('member "%s" may not accept a handover', e.data->>'to');
            detail := format('Its roles are %s; "handover_accepted" needs one of %s.',
                             (SELECT m.roles FROM @extschema@.members m WHERE m.member = e.data->>'to'),
                             (SELECT ek.roles FROM @extschema@.event_kind ek WHERE ek.event = 'handover_accepted' AND ek.subject = 'battery'));
            hint := 'A handover cannot be withdrawn: name a member that holds a battery role.';
        END IF;
        RETURN;
    ELSIF e.event = 'handover_accepted' THEN
        IF st.handover_to IS DISTINCT FROM member THEN
            problem := 'no_handover'; code := 'BL043';
            message := format('battery %s is not being handed over to "%s"', e.battery_id, member);
            detail := CASE WHEN st.handover_to IS NULL THEN 'No handover of it is pending.'
                           ELSE format('The pending handover names "%s".', st.handover_to) END;
        ELSIF writer THEN
            -- registry order must put the acceptance after the handover on every member:
            -- (ledger_at, ledger_origin) after it, or the same chain (the same origin)
            -- the pending handover is the last effective one: a later, ineffective
            -- handover (a rogue member's, dated far ahead) must not hold it up
            -- (the rules trigger has just brought its cache up to date: read it there)
            SELECT c.handover_at, c.handover_origin INTO offered, offered_by
              FROM @extschema@.battery_fold_cache c WHERE c.battery_id OPERATOR(@extschema@.=) e.battery_id;
            IF offered IS NULL THEN
                SELECT h.ledger_at, h.ledger_origin INTO offered, offered_by FROM @extschema@.battery_lifecycle(e.battery_id) h
                 WHERE h.event = 'handover' AND h.effective
                 ORDER BY h.ledger_at DESC, h.ledger_origin DESC, h.ledger_seq DESC LIMIT 1;
            END IF;
            IF offered > statement_timestamp()
               OR (offered = statement_timestamp() AND offered_by > coalesce(current_setting('battledger.origin', true), '')) THEN
                problem := 'clock_behind'; code := 'BL043';
                message := format('this server''s clock is behind the handover of battery %s', e.battery_id);
                detail := format('The handover is dated %s; an acceptance dated before it would come first in registry order.', offered);
                hint := 'Check the server''s clock (NTP) and retry.';
            END IF;
        END IF;
        RETURN;
    END IF;

    IF e.event = 'placed_on_market' THEN
        IF st.status IS NOT NULL THEN
            problem := 'already_on_market'; code := 'BL035';
            message := format('battery %s is already on the market (status %s)', e.battery_id, st.status);
            RETURN;
        END IF;
    ELSIF st.status IS NULL THEN
        problem := 'not_on_market'; code := 'BL036';
        message := format('battery %s has not been placed on the market', e.battery_id);
        detail := format('"%s" needs a battery with a status.', e.event);
        RETURN;
    END IF;
    IF e.event = 'status_changed' THEN
        IF NOT @extschema@.status_move_allowed(st.status, e.new_status) THEN
            problem := 'move_not_allowed'; code := 'BL035';
            message := format('status cannot move from "%s" to "%s"', st.status, e.new_status);
            detail := 'Allowed: original -> re-used|repurposed|remanufactured|waste; re-used|repurposed|remanufactured -> the same or waste; waste -> re-used|repurposed|recycled.';
            RETURN;
        END IF;
    ELSIF e.event IN ('dismantled', 'recycled') AND st.status IS DISTINCT FROM 'waste' THEN
        problem := 'not_waste'; code := 'BL035';
        message := format('only a waste battery can be %s; battery %s is "%s"', e.event, e.battery_id, st.status);
        RETURN;
    END IF;

    -- second life (Art. 77(7)): a move into repurposed or remanufactured that
    -- names a successor consumes the battery; the new passport is the successor's
    IF e.event = 'status_changed' AND e.data ? 'successor' THEN
        SELECT * INTO problem, code, message, detail, hint FROM @extschema@._consume_verdict(e, writer);
        RETURN;
    END IF;
    -- passports: issued when placed on the market and on each move into re-use,
    -- repurposing, remanufacturing; an id belongs to its holder, the first
    -- event issuing it that its namespace allows (pp23)
    IF e.event = 'placed_on_market' OR (e.event = 'status_changed' AND e.new_status IN ('re-used', 'repurposed', 'remanufactured')) THEN
        IF e.passport_id IS NULL THEN
            problem := 'passport_missing'; code := 'BL038';
            message := format('"%s" must issue a new passport', e.event);
            hint := 'Set passport_id to the new passport''s identifier.';
            RETURN;
        END IF;
        -- an id in another member's namespace, issued after its
        -- registration: the writer refuses it (BL044, as a model id), and a
        -- row written past the rules holds nothing, however dated (an
        -- equivocation).  The writer's row is dated at its statement's start.
        -- (An id in no namespace, most, skips the lookups; the claims are
        -- read once, for this and the holder, _key_owners() only to say whose)
        pkey := @extschema@._text_id_key(e.passport_id);
        IF pkey IS NOT NULL THEN
            SELECT c.members, c.since INTO cm, cs FROM @extschema@._key_claims(pkey) c;
        END IF;
        IF cm IS NOT NULL
           AND NOT @extschema@._key_claim_allows(cm, cs, member, CASE WHEN writer THEN statement_timestamp() ELSE e.ledger_at END) THEN
            SELECT * INTO ns FROM @extschema@._key_owners(pkey, CASE WHEN writer THEN statement_timestamp() ELSE e.ledger_at END);
            problem := 'passport_foreign_namespace'; code := 'BL044';
            message := format('passport id "%s" is in the namespace of member "%s"', e.passport_id, array_to_string(ns.members, '", "'));
            detail := format('Namespace %s is registered to "%s": a passport id of the form gs1:01/<GTIN>/21/<serial> or iso15459:<IAC>/<CIN>/... is its members'' to issue.',
                             array_to_string(ns.namespaces, ', '), array_to_string(ns.members, '", "'));
            hint := 'Use a passport id of a namespace registered to you (battledger.id_namespace).';
            RETURN;
        END IF;
        -- the id's holder (_passport_holder_by()): one probe of
        -- battery_event_passport_holder for an id in no namespace (a few for
        -- a namespaced one).  An EXISTS of any earlier one walked every row
        -- naming the id that is not earlier, so rows naming it dated ahead
        -- made each fold cost their number (red team r10, F2).  Registry
        -- order numbers rows per chain, so two batteries' rows of one member
        -- can share (ledger_at, ledger_origin, ledger_seq): battery_id breaks
        -- the tie, by its own btree order (bytes, no collation), so every
        -- member finds the same single holder (red team r11, T1: both held
        -- the id)
        IF cm IS NULL THEN
            -- (_passport_holder_by() for an id in no namespace, most of
            -- them, written out: a call costs more than the probe)
            SELECT o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id INTO held
              FROM @extschema@.battery_event o
             WHERE o.passport_id = e.passport_id
               AND (o.event = 'placed_on_market'
                    OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
             ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id LIMIT 1;
        ELSE
            SELECT * INTO held FROM @extschema@._passport_holder_by(e.passport_id, cm, cs);
        END IF;
        IF (writer AND held.ledger_at IS NOT NULL)   -- the writer's row is not stored yet: any holder is earlier
           -- e is stored and allowed: the holder is e, or an earlier row
           OR (NOT writer AND NOT coalesce((held.ledger_at, held.ledger_origin, held.ledger_seq) = (e.ledger_at, e.ledger_origin, e.ledger_seq)
                                           AND held.battery_id OPERATOR(@extschema@.=) e.battery_id, false)) THEN
            problem := 'passport_taken'; code := 'BL038';
            message := format('passport "%s" already exists', e.passport_id);
        END IF;
    ELSIF e.passport_id IS NOT NULL THEN
        problem := 'passport_not_issued'; code := 'BL038';
        message := format('"%s" does not issue a passport', e.event);
    END IF;
END $$;

-- The events that decide a battery's state.
CREATE FUNCTION @extschema@._is_lifecycle(event text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                     'handover', 'handover_accepted')
$$;

-----------------------------------------------------------------------------
-- Second life and composition (Art. 77(7); docs/registry.md, "Second life
-- and composition").  Repurposing or remanufacturing makes a new battery with
-- its own identifier and passport:
--   * the holder of each original battery (its custodian) moves it into
--     repurposed or remanufactured with data {"successor": id}: the battery is
--     consumed, moves no more, and keeps its passport, which now links to the
--     successor.  It is a lifecycle event of the original battery, judged by
--     its fold like any move: custody, the state machine, consumed once;
--   * the same member then manufactures the successor with data
--     {"predecessors": [id, ...]} (its own model: category, rated values,
--     carbon footprint).  A claim counts only if the predecessor's own history
--     has its consumption into this successor, by this member, before the
--     manufacture in registry order: so nobody claims a battery it did not
--     consume, and no cycle can form (each consumption follows its battery's
--     manufacture, each confirmed manufacture follows its consumptions).
-- Composition: a pack (or module) lists its modules or cells in its
-- "manufactured" event, data {"components": [id, ...]}; each must be a battery
-- of the registry, manufactured before the pack, held by the pack's maker when
-- the pack is made, and in no earlier pack.
-- The writer refuses what it can see; every member judges the claims from the
-- rows alone (_second_life_claims()), so members holding the same rows agree,
-- and registry_conflicts() names every claim that is not confirmed.
-----------------------------------------------------------------------------

-- claims are found by value: which manufacture names a battery, which move a successor
CREATE INDEX battery_event_second_life ON @extschema@.battery_event USING gin (data jsonb_path_ops)
    WHERE event IN ('manufactured', 'status_changed') AND data IS NOT NULL;

-- A battery identifier given as text, or NULL if it is none: rows of a member
-- that bypassed its rules may hold anything, and no reader may fail on them.
CREATE FUNCTION @extschema@._battery_id_or_null(id text) RETURNS @extschema@.battery_id
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN id::@extschema@.battery_id;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END $$;

-- The verdict on a consuming move (status_changed naming a successor), from
-- the event alone; the fold has already checked custody and the state machine.
CREATE FUNCTION @extschema@._consume_verdict(e @extschema@.battery_event, writer boolean,
                                             OUT problem text, OUT code text, OUT message text, OUT detail text, OUT hint text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s @extschema@.battery_id := @extschema@._battery_id_or_null(e.data->>'successor');
BEGIN
    IF e.new_status NOT IN ('repurposed', 'remanufactured') THEN
        problem := 'bad_successor'; code := 'BL035';
        message := format('a move into "%s" names no successor', e.new_status);
        detail := 'Only repurposing and remanufacturing make a new battery (Art. 77(7)); re-use keeps the battery.';
    ELSIF jsonb_typeof(e.data->'successor') IS DISTINCT FROM 'string' OR s IS NULL OR s::text <> e.data->>'successor' THEN
        problem := 'bad_successor'; code := 'BL031';
        message := format('the successor %s is not a battery identifier in canonical form', e.data->'successor');
        hint := 'Give the new battery''s identifier as battledger prints it, e.g. "gs1:01/09521234567899/21/S1".';
    ELSIF s OPERATOR(@extschema@.=) e.battery_id THEN
        problem := 'bad_successor'; code := 'BL031';
        message := format('battery %s cannot be its own successor', e.battery_id);
    ELSIF e.passport_id IS NOT NULL THEN
        problem := 'passport_not_issued'; code := 'BL038';
        message := 'a move that consumes a battery issues no passport';
        detail := format('The new passport is the successor''s: battery %s issues it when placed on the market.', s);
    ELSIF writer AND EXISTS (SELECT 1 FROM @extschema@.battery_event x
                              WHERE x.battery_id OPERATOR(@extschema@.=) s AND x.event = 'manufactured') THEN
        -- its manufacture would precede the consumption in registry order: it could never name this battery
        problem := 'successor_exists'; code := 'BL036';
        message := format('battery %s already exists', s);
        detail := 'A successor is a new battery: consume the originals first, then manufacture it naming them as predecessors.';
    END IF;
END $$;

-- The move that consumed a battery into its successor (the effective one, in registry order), if any.
CREATE FUNCTION @extschema@._battery_consumption(battery @extschema@.battery_id,
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

CREATE FUNCTION @extschema@._battery_successor(battery @extschema@.battery_id) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (@extschema@._battery_consumption(battery)).successor;
END $$;

-- Did 'maker' hold battery c (manufactured, its custodian) before the
-- registry position (at, origin)?  Rows of two chains are compared by
-- (ledger_at, ledger_origin) alone: ledger_seq counts within one chain, so
-- two rows of one statement have no order, and neither comes first.
CREATE FUNCTION @extschema@._held_before(c @extschema@.battery_id, maker text, at timestamptz, origin text)
    RETURNS boolean LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    l record;
BEGIN
    SELECT x.manufactured, x.custodian INTO l FROM @extschema@.battery_lifecycle(c) x
     WHERE (x.ledger_at, x.ledger_origin) < (at, origin)
     ORDER BY x.ledger_at DESC, x.ledger_origin DESC, x.ledger_seq DESC LIMIT 1;
    RETURN coalesce(l.manufactured AND l.custodian = maker, false);
END $$;

-- The effective manufacture of a battery (the first in registry order that the fold accepts).
-- Before a battery's first effective manufacture every lifecycle event is
-- ineffective (not_manufactured, or refused before it: unknown event, role)
-- and leaves the fold's state as it starts, so the fold's verdict on each
-- manufactured row up to it is _battery_verdict()'s on the initial state:
-- the first row it accepts is the fold's, found without folding the life.
-- passport(), recycled_content() and material_provenance() read it (red team
-- r20, F1: they read the first manufactured row, an ineffective one when a
-- member squatted the battery under another maker's namespace)
CREATE FUNCTION @extschema@._effective_manufacture(battery @extschema@.battery_id)
    RETURNS @extschema@.battery_event LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r @extschema@.battery_event;
    s record;
    v record;
    since timestamptz := @extschema@._custody_from();
    c @extschema@.battery_fold_cache;
BEGIN
    -- the owner's callers (passport(), recycled_content(),
    -- material_provenance()) read its key from the battery-state cache where
    -- it holds: a member appending thousands of ineffective manufactures
    -- dated before it made each passport judge them all (500 ms at 2,000)
    IF NOT pg_is_in_recovery()
       AND has_function_privilege('@extschema@._battery_fold_cached(@extschema@.battery_id, bigint)', 'EXECUTE') THEN
        c := @extschema@._battery_fold_cached(battery);
        SELECT e.* INTO r FROM @extschema@.battery_event e
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.ledger_origin = c.made_origin AND e.ledger_seq = c.made_seq;
        RETURN CASE WHEN r.battery_id IS NULL THEN NULL ELSE r END;
    END IF;
    FOR r IN SELECT e.* FROM @extschema@.battery_event e
              WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
              ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LOOP
        SELECT * INTO s FROM @extschema@._signer_at(r.ledger_key_id, r.ledger_at);
        CONTINUE WHEN s.member IS NULL;         -- unknown_key: ineffective
        SELECT * INTO v FROM @extschema@._battery_verdict(r, s.member, s.roles,
                                                          ROW(false, NULL, NULL, NULL, NULL, NULL)::@extschema@.battery_fold_state,
                                                          r.ledger_at >= since, false);
        IF v.problem IS NULL THEN
            RETURN r;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

-- Each predecessor and component a battery's (effective) manufacture names,
-- and whether the rows confirm it; the same on every member holding the same rows.
-- (gin_fuzzy_search_limit pinned to 0: claims found through GIN, _lot_ledger()'s header)
CREATE FUNCTION @extschema@._second_life_claims(battery @extschema@.battery_id)
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

-- The writer's checks on a manufacture naming predecessors or components
-- (called by _battery_rules): what the claims must be when written.  True if
-- they hold; false if they do not and n is not signed (_refuse_row), for the
-- chain trigger to refuse; a signed n that breaks them gets the verdict.
-- (gin_fuzzy_search_limit pinned to 0: components found through GIN, _lot_ledger()'s header)
CREATE FUNCTION @extschema@._check_second_life(n @extschema@.battery_event, member text) RETURNS boolean
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

-- Every manufacture's claim the rows do not confirm (for registry_conflicts()).
CREATE FUNCTION @extschema@._second_life_conflicts()
    RETURNS TABLE (battery_id @extschema@.battery_id, ledger_origin text, ledger_seq bigint, event text, signer text,
                   problem text, kind text, message text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    SELECT b.battery_id, c.ledger_origin, c.ledger_seq, 'manufactured'::text, c.maker, c.claim || '_unconfirmed',
           CASE WHEN c.race THEN 'conflict' ELSE 'equivocation' END,
           format('battery %s names %s as %s, which its history does not confirm', b.battery_id, c.id, c.claim)
      FROM (SELECT DISTINCT e.battery_id FROM @extschema@.battery_event e
             WHERE e.event = 'manufactured' AND (e.data ? 'predecessors' OR e.data ? 'components')) b,
           @extschema@._second_life_claims(b.battery_id) c
     WHERE NOT c.confirmed
    UNION ALL
    -- a battery consumed into one that already existed: no manufacture can confirm it
    SELECT b.battery_id, c.ledger_origin, c.ledger_seq, 'status_changed'::text, c.signer, 'successor_exists', 'equivocation',
           format('battery %s was consumed into battery %s, which already existed', b.battery_id, c.successor)
      FROM (SELECT DISTINCT e.battery_id FROM @extschema@.battery_event e
             WHERE e.event = 'status_changed' AND e.data ? 'successor') b,
           @extschema@._battery_consumption(b.battery_id) c,
           @extschema@._effective_manufacture(@extschema@._battery_id_or_null(c.successor)) m
     WHERE NOT (m.ledger_at, m.ledger_origin) > (c.ledger_at, c.ledger_origin)
     ORDER BY 1, 2, 3;
END $$;

-- _battery_fold(battery, st, after_at, after_origin, after_seq): the fold of
-- battery_lifecycle(), from state st, over the lifecycle events after the
-- given registry-order key (all of them when after_at is NULL); also the
-- passport id each event names (the writer's cache kept them until 0.11.0:
-- passport_holder_moved) and the successor reached (second life), for the
-- writer's cache of the state.
CREATE FUNCTION @extschema@._battery_fold(battery @extschema@.battery_id, st @extschema@.battery_fold_state,
                                          after_at timestamptz, after_origin text, after_seq bigint)
    RETURNS TABLE (ledger_at timestamptz, ledger_origin text, ledger_seq bigint, event text, signer text,
                   effective boolean, problem text, message text, custody boolean,
                   status text, passport_id text, custodian text, handover_to text, manufactured boolean,
                   named_passport text, fold_successor text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    e @extschema@.battery_event;
    s record;
    v record;
    since timestamptz := @extschema@._custody_from();
BEGIN
    FOR e IN SELECT * FROM @extschema@.battery_event x
              WHERE x.battery_id OPERATOR(@extschema@.=) battery
                AND x.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                                'handover', 'handover_accepted')
                AND (after_at IS NULL OR (x.ledger_at, x.ledger_origin, x.ledger_seq) > (after_at, after_origin, after_seq))
              ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LOOP
        SELECT * INTO s FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at);
        custody := e.ledger_at >= since;
        IF s.member IS NULL THEN
            -- (a record from SELECT ... INTO keeps the field names; a ROW() would not)
            SELECT 'unknown_key'::text AS problem, 'BL011'::text AS code, 'the event''s key is unknown here'::text AS message,
                   NULL::text AS detail, NULL::text AS hint INTO v;
        ELSE
            SELECT * INTO v FROM @extschema@._battery_verdict(e, s.member, s.roles, st, custody, false);
        END IF;
        effective := v.problem IS NULL;
        problem := v.problem;
        message := v.message;
        IF effective THEN
            CASE e.event
                WHEN 'manufactured' THEN st.manufactured := true; st.custodian := s.member;
                WHEN 'placed_on_market' THEN st.status := 'original'; st.passport_id := e.passport_id;
                WHEN 'status_changed' THEN st.status := e.new_status; st.passport_id := coalesce(e.passport_id, st.passport_id);
                                           st.successor := e.data->>'successor';   -- second life
                WHEN 'recycled' THEN st.status := 'recycled';
                WHEN 'handover' THEN st.handover_to := e.data->>'to'; st.custodian := NULL;
                WHEN 'handover_accepted' THEN st.custodian := s.member; st.handover_to := NULL;
                ELSE NULL;
            END CASE;
            -- before custody, whoever last moved the battery holds it
            IF NOT custody AND e.event IN ('placed_on_market', 'status_changed', 'dismantled', 'recycled') THEN
                st.custodian := s.member; st.handover_to := NULL;
            END IF;
        END IF;
        ledger_at := e.ledger_at; ledger_origin := e.ledger_origin; ledger_seq := e.ledger_seq;
        event := e.event; signer := s.member;
        status := st.status; passport_id := st.passport_id; custodian := st.custodian; handover_to := st.handover_to;
        manufactured := st.manufactured; named_passport := e.passport_id; fold_successor := st.successor;
        RETURN NEXT;
    END LOOP;
END $$;

-- battery_lifecycle(battery battery_id): each lifecycle event of the battery in
-- registry order, with the rules' verdict and the state reached after it.
CREATE FUNCTION @extschema@.battery_lifecycle(battery @extschema@.battery_id)
    RETURNS TABLE (ledger_at timestamptz, ledger_origin text, ledger_seq bigint, event text, signer text,
                   effective boolean, problem text, message text, custody boolean,
                   status text, passport_id text, custodian text, handover_to text, manufactured boolean)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT f.ledger_at, f.ledger_origin, f.ledger_seq, f.event, f.signer, f.effective, f.problem, f.message,
                        f.custody, f.status, f.passport_id, f.custodian, f.handover_to, f.manufactured
                   FROM @extschema@._battery_fold(battery, ROW(false, NULL, NULL, NULL, NULL, NULL), NULL, NULL, NULL) f;
END $$;

-- The state a battery's lifecycle events reached: status, current passport,
-- whether manufactured, who holds it.  From the rules' cache of the state
-- where it still holds (_battery_state_read(), below: the same state as the
-- whole fold, read-only), for the callers that may read every row the fold
-- reads; otherwise, and on a standby (which cannot read an unlogged table),
-- the whole fold as the caller.
CREATE FUNCTION @extschema@.battery_state(battery @extschema@.battery_id,
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

-- The writer's cache of each battery's state (red team F8).  The rules
-- judge every insert on the state the battery's lifecycle events reached;
-- folding them all each time let a member that appends thousands of
-- ineffective lifecycle rows to a battery slow its honest writers.  The
-- cache keeps the state with what it was computed from, and is used only
-- while that still holds: the same lifecycle rows up to its last key (new
-- rows after it are folded on from the cached state), the same members,
-- keys, roles, namespaces and custody date, and the same first issuing
-- event of each passport id its events named (another battery's earlier
-- row naming one changes a verdict: passport_holder_moved, below).
-- Otherwise the battery is folded whole, as
-- battery_state() always does.  UNLOGGED: it can be rebuilt at any time.
CREATE UNLOGGED TABLE @extschema@.battery_fold_cache (
    battery_id    @extschema@.battery_id PRIMARY KEY,
    n             bigint NOT NULL,             -- lifecycle events folded
    last_at       timestamptz NOT NULL,        -- the last one's registry-order key
    last_origin   text NOT NULL,
    last_seq      bigint NOT NULL,
    generation    text NOT NULL,               -- _fold_generation() when folded
    st            @extschema@.battery_fold_state NOT NULL,
    handover_at     timestamptz,               -- the last effective handover's key
    handover_origin text,
    -- the last effective placed_on_market or status_changed (the operator
    -- responsible now, passport()): its key, signer and the status it left
    resp_origin   text,
    resp_seq      bigint,
    resp_signer   text,
    resp_status   text,
    -- lifecycle events when it was last folded whole: the apply worker folds
    -- a battery whole again only once it has grown by a quarter since
    -- (_battery_fold_arrived(), red team r9 F1)
    whole_n       bigint NOT NULL,
    -- passport_holder_moved rows of this battery (and of every battery),
    -- when folded: a new one voids it (red team r10, F5; until then the ids
    -- its events named and a SHA-256 of their first issuing events, one
    -- index probe per id at every check)
    holders_moved bigint NOT NULL,
    -- the effective moves that named a passport id, [[origin, seq], ...] in
    -- registry order: the passport's history (0.18.0; it listed every row
    -- naming an id, so a member moving a battery it did not hold wrote
    -- passports into its history on every member: red team r20, F2)
    issued        jsonb NOT NULL,
    -- the effective manufacture's key, for the passport (red team r20, F1:
    -- found by _effective_manufacture(), whose verdicts on rows before it
    -- a member could multiply)
    made_origin   text,
    made_seq      bigint,
    -- the members, keys and namespaces the fold read (fold_subject_changes,
    -- below: 'm:' member, 'k:' key id, 'n:' namespace; '*' every one of
    -- them) and the sum of their counts when folded: a change to any other
    -- leaves the cache standing (0.25.0; until then any member, key or
    -- namespace row voided every battery's cache, issue 15)
    deps          text[] NOT NULL,
    dep_sum       bigint NOT NULL
);
REVOKE ALL ON @extschema@.battery_fold_cache FROM PUBLIC;

-- How many rows the ledgers every battery's fold reads besides its own
-- events (members, keys, proofs, namespaces, host pins) have received: one
-- row, bumped by a row trigger on each in the inserting transaction (so that
-- it is read under the same snapshot as they are, and by the apply worker
-- too: ENABLE ALWAYS, and a row trigger, as the apply worker fires no
-- statement triggers).  Until 0.11.0 _fold_generation() counted their rows,
-- which made every check of a battery's cache (every arriving lifecycle row,
-- every battery_state() and passport()) scan them: a member adding keys by
-- the hundred thousand slowed every member's apply worker and readers by
-- milliseconds a row (G1 in docs/security.md).  Logged, unlike the cache: it
-- must not go back.  Since 0.25.0 changes is read only by the folds that
-- depend on every member and key ('*' in battery_fold_cache.deps: a passport
-- id in a namespace); the others read the counts of what they depend on
-- (fold_subject_changes).  resets voids every cache (_fold_generation()):
-- key_proof_rebuild(), and a TRUNCATE of host_pin, whose rows are gone
-- unnamed.
CREATE TABLE @extschema@.fold_inputs (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    changes bigint NOT NULL,
    resets  bigint NOT NULL DEFAULT 0
);
INSERT INTO @extschema@.fold_inputs VALUES (true, 0);
-- _fold_generation() runs as its caller, any role
GRANT SELECT ON @extschema@.fold_inputs TO PUBLIC;

-- How many rows naming each member, key and namespace those ledgers have
-- received (0.25.0, issue 15): 'm:' || member for member_event and host_pin
-- (its hosting, so which of its key and role rows count), 'k:' || key_id
-- for key_event and key_proof (which member the key signs for, when, and
-- whether a contest of it is settled), 'n:' || namespace for id_namespace.
-- A battery's fold reads, besides its own rows, only: its rows' keys and
-- the members every row of those keys names (the keys view), the roles of
-- the key's member (_signer_at()), the member a handover names, the
-- namespaces that could cover its id (_ns_candidates()) and their
-- registrants' hosting, and for a passport id in a namespace every key of
-- the namespace's members ('*').  The cache keeps those subjects and the sum
-- of their counts (they only grow, so an equal sum is unchanged counts): a
-- member joining, a key added or revoked, a namespace registered voids only
-- the folds that read them; until 0.25.0 each voided every battery's, so
-- that the first passport of most batteries after any of them refolded
-- the battery's whole life (0.5-0.8 ms at 2,358 reports).  Logged, as
-- fold_inputs; the owner's alone (the cache's readers run as the owner).
CREATE TABLE @extschema@.fold_subject_changes (
    subject text PRIMARY KEY,
    changes bigint NOT NULL
);
REVOKE ALL ON @extschema@.fold_subject_changes FROM PUBLIC;

-- _fold_ns_subject(namespace text): the fold_subject_changes subject a
-- registration of the namespace counts for, and that a battery whose id
-- it could cover reads: a gs1 namespace's first eight characters ('gs1:'
-- and four digits, the shortest the table's CHECK admits: every gs1
-- namespace covering an id shares them with the id's key), so that a
-- battery reads one subject, not one per prefix of its key; another its
-- own.  NULL for a gs1 namespace shorter than that, which only a
-- superuser writing past the CHECK stores: it voids every cache.
-- (PL/pgSQL: with its pinned search_path an SQL function is planned again
-- at every call, and _fold_deps() calls it for each prefix of a key)
CREATE FUNCTION @extschema@._fold_ns_subject(namespace text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN CASE WHEN NOT starts_with(namespace, 'gs1:') THEN 'n:' || namespace
                WHEN length(namespace) >= 8 THEN 'n:' || left(namespace, 8) END;
END $$;

-- _fold_inputs_changed(): trigger on member_event, key_event, key_proof,
-- id_namespace and host_pin.  As the owner: the writers (add_key(), the apply
-- worker's role) may not update fold_inputs themselves.  fold_inputs first,
-- then the subject's row: every transaction takes the locks in that order,
-- so two writers of members and keys wait for each other, never deadlock.
CREATE FUNCTION @extschema@._fold_inputs_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s text[];
BEGIN
    UPDATE @extschema@.fold_inputs SET changes = changes + 1;
    IF TG_LEVEL = 'STATEMENT' THEN
        -- (host_pin TRUNCATE: which members' pins went is not known)
        UPDATE @extschema@.fold_inputs SET resets = resets + 1;
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'member_event' THEN
        s := ARRAY['m:' || NEW.member];
    ELSIF TG_TABLE_NAME IN ('key_event', 'key_proof') THEN
        s := ARRAY['k:' || NEW.key_id::text];
    ELSIF TG_TABLE_NAME = 'id_namespace' THEN
        s := ARRAY[@extschema@._fold_ns_subject(NEW.namespace)];
        IF s[1] IS NULL THEN
            -- (a namespace the table's CHECK refuses, written past it)
            UPDATE @extschema@.fold_inputs SET resets = resets + 1;
            RETURN NULL;
        END IF;
    ELSIF TG_TABLE_NAME = 'host_pin' THEN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            s := ARRAY['m:' || OLD.member];
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            s := s || ('m:' || NEW.member);
        END IF;
    ELSE
        UPDATE @extschema@.fold_inputs SET resets = resets + 1;
        RETURN NULL;
    END IF;
    INSERT INTO @extschema@.fold_subject_changes AS f (subject, changes)
    SELECT DISTINCT x, 1 FROM unnest(s) x WHERE x IS NOT NULL ORDER BY 1
        ON CONFLICT (subject) DO UPDATE SET changes = f.changes + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.member_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.key_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.id_namespace
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
-- (a proof of possession can settle a contested key's member, 0.23.0)
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.key_proof
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
ALTER TABLE @extschema@.member_event ENABLE ALWAYS TRIGGER battledger_fold_inputs;
ALTER TABLE @extschema@.key_event ENABLE ALWAYS TRIGGER battledger_fold_inputs;
ALTER TABLE @extschema@.id_namespace ENABLE ALWAYS TRIGGER battledger_fold_inputs;
ALTER TABLE @extschema@.key_proof ENABLE ALWAYS TRIGGER battledger_fold_inputs;
-- (a member's pinned host decides which of its keys and roles count; a row
-- trigger since 0.25.0, so that a pin names its member)
CREATE TRIGGER battledger_fold_inputs AFTER INSERT OR UPDATE OR DELETE ON @extschema@.host_pin
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
CREATE TRIGGER battledger_fold_inputs_truncate AFTER TRUNCATE ON @extschema@.host_pin
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._fold_inputs_changed();
ALTER TABLE @extschema@.host_pin ENABLE ALWAYS TRIGGER battledger_fold_inputs;
ALTER TABLE @extschema@.host_pin ENABLE ALWAYS TRIGGER battledger_fold_inputs_truncate;

-- The batteries whose passport ids changed holder.  A battery's fold reads
-- one thing of other batteries' rows: the first issuing event of each
-- passport id its events named (_battery_verdict(): passport_taken).  Until
-- 0.11.0 each cache check probed the first issuing event of every id the
-- battery ever named: a member remanufacturing its own battery thousands of
-- times (a new id each) made each check cost their number, and the apply
-- worker's work grow with the square of its rows (red team r10, F5).  Now
-- the row that moves an id's holder says so: an issuing row before the id's
-- holder (its first issuing event that its namespace allows, pp23;
-- registry order, then battery_id, as in _battery_verdict()) leaves here
-- one row with the holder's battery, and
-- the cache holds while their number is the same (one index probe).  Only
-- the holder's verdict changes: an issuing event after the holder was
-- already taken, and one after the new row but before the holder cannot
-- exist (the holder was the first).  A row after the holder changes nothing
-- and leaves nothing (F2c).
-- Every writer of an issuing row takes the id's turn (_lock_subject(), at
-- READ COMMITTED) before reading its holder, and keeps it until commit: so
-- each sees the issuing rows of every earlier turn, the rows leave their
-- battery_id in the order the holders moved, and a cache folded under any
-- snapshot either saw a move or finds its row here.  A writer that cannot
-- take turns (not READ COMMITTED: an apply worker, should a database's
-- default_transaction_isolation say otherwise) leaves a row with no
-- battery_id, which voids every cache.  UNLOGGED, as the cache: a crash
-- empties both.
CREATE UNLOGGED TABLE @extschema@.passport_holder_moved (
    battery_id  @extschema@.battery_id,    -- NULL: every battery
    passport_id text NOT NULL
);
CREATE INDEX passport_holder_moved_battery ON @extschema@.passport_holder_moved (battery_id);
REVOKE ALL ON @extschema@.passport_holder_moved FROM PUBLIC;

-- _holders_moved(battery battery_id): the passport_holder_moved rows that
-- void its cache, counted under the caller's snapshot.
CREATE FUNCTION @extschema@._holders_moved(battery @extschema@.battery_id) RETURNS bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT count(*) FROM @extschema@.passport_holder_moved m WHERE m.battery_id OPERATOR(@extschema@.=) battery)
         + (SELECT count(*) FROM @extschema@.passport_holder_moved m WHERE m.battery_id IS NULL);
END $$;

-- What every battery's fold reads besides its own events and the members,
-- keys and namespaces it names (battery_fold_cache.deps: since 0.25.0 their
-- counts are checked per battery; fold_inputs.resets here voids every
-- cache); event_kind and status_role are
-- plain tables the owner may UPDATE (who may sign what), so a SHA-256 of
-- their contents goes in, not their row counts (red team hx2: an UPDATE left
-- the cache standing and the writer judged new rows on a state the whole
-- fold no longer reaches; not MD5, which a FIPS-mode OpenSSL refuses).  The custody date as epoch
-- seconds (no row: -infinity, as _custody_from() reads it): its text would
-- depend on the session's TimeZone and DateStyle.
-- PL/pgSQL, not SQL: a SQL function with SET options is planned again at
-- each call, and planning cost more than running it.
CREATE FUNCTION @extschema@._fold_generation() RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN concat_ws('/', extract(epoch FROM coalesce((SELECT r.since FROM @extschema@.registry_rule r WHERE r.rule = 'custody'), '-infinity')),
                     (SELECT f.resets FROM @extschema@.fold_inputs f),
                     (SELECT encode(sha256(convert_to(string_agg(concat_ws(':', ek.event, ek.subject, ek.roles), ',' ORDER BY ek.event), 'UTF8')), 'hex')
                        FROM @extschema@.event_kind ek),
                     (SELECT encode(sha256(convert_to(string_agg(concat_ws(':', sr.status, sr.roles), ',' ORDER BY sr.status), 'UTF8')), 'hex')
                        FROM @extschema@.status_role sr));
END $$;

-- _fold_deps(battery battery_id, deps text[], after_at timestamptz,
-- after_origin text, after_seq bigint): deps and what the battery's
-- lifecycle rows after the given registry-order key (all of them when
-- after_at is NULL) read besides the battery's rows, as subjects of
-- fold_subject_changes, sorted: each row's key and every member a row of
-- that key names (the keys view counts a key's rows by their members'
-- hosting, and a second member contests it), and so its signer, whose roles
-- _signer_at() reads; the member a handover names (it must exist); for a
-- manufacture, the namespaces that could cover the battery id
-- (_fold_ns_subject(): one subject for a gs1 id) and their
-- registrants, hosted or not yet (_id_owners(); a registration is hosted
-- once its member's adding row is in); '*' for a row naming a passport id
-- in a namespace, whose holder is the first issuing row signed by any key
-- of the namespace's members (_passport_holder_by()).  A row that would
-- add to these (a new key row of one of those keys, a new registration of
-- one of those namespaces) moves one of their counts itself.  More than 64
-- subjects are '*' alone (every member, key and namespace row moves its
-- count, fold_inputs.changes): a member writing past its rules could make a
-- key's rows name thousands of members, or a battery's handovers name
-- thousands, and each check of the cache sum their counts; '*' is one
-- probe, and voids the cache as every change did until 0.25.0.
CREATE FUNCTION @extschema@._fold_deps(battery @extschema@.battery_id, deps text[],
                                       after_at timestamptz, after_origin text, after_seq bigint)
    RETURNS text[] LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    res text[];
BEGIN
    IF deps = '{*}' THEN
        RETURN deps;
    END IF;
    res := (WITH r AS MATERIALIZED (
        SELECT x.ledger_key_id, x.event, x.passport_id, x.data->>'to' AS handed_to
          FROM @extschema@.battery_event x
         WHERE x.battery_id OPERATOR(@extschema@.=) battery
           AND x.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                           'handover', 'handover_accepted')
           AND (after_at IS NULL OR (x.ledger_at, x.ledger_origin, x.ledger_seq) > (after_at, after_origin, after_seq))),
    k AS (SELECT DISTINCT r.ledger_key_id FROM r),
    ns AS (SELECT unnest(@extschema@._ns_candidates(@extschema@._id_key(battery))) AS namespace
            WHERE EXISTS (SELECT FROM r WHERE r.event = 'manufactured'))
    SELECT coalesce(array_agg(DISTINCT d ORDER BY d) FILTER (WHERE d IS NOT NULL), '{}') FROM (
        SELECT unnest(deps) AS d
        UNION ALL SELECT 'k:' || k.ledger_key_id::text FROM k
        UNION ALL SELECT 'm:' || ke.member FROM k JOIN @extschema@.key_event ke ON ke.key_id OPERATOR(@extschema@.=) k.ledger_key_id
        UNION ALL SELECT 'm:' || r.handed_to FROM r WHERE r.event = 'handover' AND r.handed_to IS NOT NULL
        UNION ALL SELECT @extschema@._fold_ns_subject(ns.namespace) FROM ns
        UNION ALL SELECT 'm:' || n.member FROM ns JOIN @extschema@.id_namespace n ON n.namespace = ns.namespace
        UNION ALL SELECT '*' FROM r WHERE r.passport_id IS NOT NULL AND @extschema@._text_id_key(r.passport_id) IS NOT NULL) x);
    RETURN CASE WHEN cardinality(res) > 64 THEN '{*}' ELSE res END;
END $$;

-- _fold_dep_sum(deps text[]): the sum of the counts of those subjects now
-- (fold_subject_changes; fold_inputs.changes for '*').  The counts only
-- grow, so the sum is the same only if none of them moved.  PL/pgSQL: an
-- SQL function with SET options is planned again at every call.
CREATE FUNCTION @extschema@._fold_dep_sum(deps text[]) RETURNS bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN coalesce((SELECT sum(f.changes) FROM unnest(deps) d(subject)
                       JOIN @extschema@.fold_subject_changes f ON f.subject = d.subject), 0)::bigint
         + CASE WHEN '*' = ANY (deps) THEN (SELECT f.changes FROM @extschema@.fold_inputs f) ELSE 0 END;
END $$;

-- _battery_fold_cached(battery battery_id, whole_from bigint DEFAULT 0): the
-- cache row a battery's state comes to, from the stored one where it still
-- holds (see above): the same generation, the same counts of the members,
-- keys and namespaces it read (deps), the same passport holders, the same
-- rows up to its horizon.  The rows folded on add what they read to deps
-- (_fold_deps()).  STABLE, so that the check, the fold and the counts
-- stored with it all read one snapshot: a row committed in between must not
-- be folded in yet counted as seen, or seen yet not folded (the red team's
-- finding C).  Where the stored row does not hold and the battery has fewer
-- than whole_from lifecycle events, NULL: not folded (the apply worker's
-- bound on whole folds, _battery_fold_arrived()).
-- (generic plans: the check's sum over the subjects of c.deps was planned
-- again at every call, 155 against 6 us for the rest of the condition, as
-- its custom plan looked cheaper than the generic one; every statement here
-- probes by key, which a generic plan does as well)
CREATE FUNCTION @extschema@._battery_fold_cached(battery @extschema@.battery_id, whole_from bigint DEFAULT 0)
    RETURNS @extschema@.battery_fold_cache
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    c @extschema@.battery_fold_cache;
    gen text := @extschema@._fold_generation();
    st @extschema@.battery_fold_state := ROW(false, NULL, NULL, NULL, NULL, NULL);
    n bigint := 0;
    la timestamptz;
    lo text;
    ls bigint;
    l record;
    ha timestamptz;
    ho text;
    ro text;
    rs bigint;
    rsig text;
    rst text;
    wn bigint;
    moved bigint := @extschema@._holders_moved(battery);
    iss jsonb := '[]';
    mo text;
    ms bigint;
    deps text[];
    dsum bigint;
    grow boolean := false;
    la0 timestamptz;
    lo0 text;
    ls0 bigint;
BEGIN
    SELECT * INTO c FROM @extschema@.battery_fold_cache f WHERE f.battery_id OPERATOR(@extschema@.=) battery;
    IF c.battery_id IS NOT NULL AND c.generation = gen
       AND c.holders_moved = moved
       -- (_fold_dep_sum() written out: a call with its SET option costs
       -- more than the probes; a join to the array's elements, as
       -- "subject = ANY (deps)" was planned again at every call: 41
       -- against 12 us for 9 subjects)
       AND c.dep_sum = (coalesce((SELECT sum(f.changes) FROM unnest(c.deps) d(subject)
                                   JOIN @extschema@.fold_subject_changes f ON f.subject = d.subject), 0)
                        + CASE WHEN '*' = ANY (c.deps) THEN (SELECT f.changes FROM @extschema@.fold_inputs f) ELSE 0 END)
       AND c.n = (SELECT count(*) FROM @extschema@.battery_event x
                   WHERE x.battery_id OPERATOR(@extschema@.=) battery
                     AND x.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                                     'handover', 'handover_accepted')
                     AND (x.ledger_at, x.ledger_origin, x.ledger_seq) <= (c.last_at, c.last_origin, c.last_seq)) THEN
        st := c.st; n := c.n; la := c.last_at; lo := c.last_origin; ls := c.last_seq;
        ha := c.handover_at; ho := c.handover_origin;
        ro := c.resp_origin; rs := c.resp_seq; rsig := c.resp_signer; rst := c.resp_status;
        wn := c.whole_n; iss := c.issued; mo := c.made_origin; ms := c.made_seq;
        deps := c.deps; dsum := c.dep_sum;
    ELSIF whole_from > 0
          AND (SELECT count(*) FROM @extschema@.battery_event x
                WHERE x.battery_id OPERATOR(@extschema@.=) battery
                  AND x.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                                  'handover', 'handover_accepted')) < whole_from THEN
        RETURN NULL;
    END IF;
    la0 := la; lo0 := lo; ls0 := ls;
    FOR l IN SELECT * FROM @extschema@._battery_fold(battery, st, la, lo, ls) LOOP
        st := ROW(l.manufactured, l.status, l.passport_id, l.custodian, l.handover_to, l.fold_successor);
        n := n + 1; la := l.ledger_at; lo := l.ledger_origin; ls := l.ledger_seq;
        IF l.event = 'handover' AND l.effective THEN
            ha := l.ledger_at; ho := l.ledger_origin;
        END IF;
        IF l.event = 'manufactured' AND l.effective THEN
            mo := l.ledger_origin; ms := l.ledger_seq;
        END IF;
        IF l.event IN ('placed_on_market', 'status_changed') AND l.effective THEN
            ro := l.ledger_origin; rs := l.ledger_seq; rsig := l.signer; rst := l.status;
            IF l.named_passport IS NOT NULL THEN
                iss := iss || jsonb_build_array(jsonb_build_array(l.ledger_origin, l.ledger_seq));
            END IF;
        END IF;
        -- a row folded on from the cache: does it read anything deps does
        -- not name yet (a key not in it, a handover's member, a
        -- manufacture's namespaces, a passport id)?  One probe of the row
        -- here; _fold_deps() only then (136 us a row; most rows are signed
        -- by a key the battery's rows already used)
        IF deps IS NOT NULL AND NOT grow AND deps <> '{*}' THEN
            grow := coalesce((SELECT bool_or(NOT ('k:' || x.ledger_key_id::text) = ANY (deps)
                                             OR x.event = 'manufactured' OR x.passport_id IS NOT NULL
                                             OR (x.event = 'handover' AND NOT ('m:' || (x.data->>'to')) = ANY (deps)))
                                FROM @extschema@.battery_event x
                               WHERE x.battery_id OPERATOR(@extschema@.=) battery
                                 AND (x.ledger_at, x.ledger_origin, x.ledger_seq) = (l.ledger_at, l.ledger_origin, l.ledger_seq)), true);
        END IF;
    END LOOP;
    -- what the rows folded here read (all of them when nothing was cached)
    IF deps IS NULL OR grow THEN
        deps := @extschema@._fold_deps(battery, deps, la0, lo0, ls0);
        dsum := @extschema@._fold_dep_sum(deps);
    END IF;
    RETURN ROW(battery, n, la, lo, ls, gen, st, ha, ho,
               ro, rs, rsig, rst, coalesce(wn, n), moved, iss, mo, ms, deps, dsum);
END $$;

-- _battery_state_cached(battery battery_id, whole_from bigint DEFAULT 0):
-- battery_state() for the rules trigger, from the cache where it still
-- holds; stores what it came to (only the rule triggers, which run as the
-- extension's owner, call it).  NULL, nothing stored, where
-- _battery_fold_cached() did not fold (whole_from).
CREATE FUNCTION @extschema@._battery_state_cached(battery @extschema@.battery_id, whole_from bigint DEFAULT 0)
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
               last_seq = EXCLUDED.last_seq, generation = EXCLUDED.generation, st = EXCLUDED.st,
               handover_at = EXCLUDED.handover_at, handover_origin = EXCLUDED.handover_origin,
               resp_origin = EXCLUDED.resp_origin, resp_seq = EXCLUDED.resp_seq,
               resp_signer = EXCLUDED.resp_signer, resp_status = EXCLUDED.resp_status,
               whole_n = EXCLUDED.whole_n, holders_moved = EXCLUDED.holders_moved,
               issued = EXCLUDED.issued, made_origin = EXCLUDED.made_origin, made_seq = EXCLUDED.made_seq,
               deps = EXCLUDED.deps, dep_sum = EXCLUDED.dep_sum;
    END IF;
    RETURN r.st;
END $$;

-- _battery_state_read(battery battery_id): the state battery_state() reads,
-- from the rules' cache where it still holds (the rows after its horizon
-- folded on), the whole fold otherwise: the same state either way, and
-- nothing written (a STABLE reader, any role).  It runs as the owner, as the
-- cache is readable by no role; only the roles that may SELECT every row the
-- fold reads may execute it (99_privileges.sql), so it tells nobody anything
-- they could not fold themselves, and a caller chooses only which battery.
CREATE FUNCTION @extschema@._battery_state_read(battery @extschema@.battery_id)
    RETURNS @extschema@.battery_fold_state
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT (@extschema@._battery_fold_cached(battery)).st
$$;

-- A battery model belongs to the member that declared it first: the signer
-- (a known key) of the first row of its model_id in registry order.  Only
-- that member's rows are the model: any cell maker, pack maker or OEM may
-- sign a battery_model row, and one naming a competitor's model_id changed
-- the rated values, chemistry, carbon footprint and declared recycled
-- content in the passports of all the competitor's batteries of that model,
-- on every member, its rules followed (red team r20, F4).  As for operator
-- identifiers (operator_holder()): first in registry order, on every member.
-- A model id in a registered namespace (_text_id_key(): 'gs1:01/<GTIN-14>',
-- 'iso15459:<IAC>/<CIN>/<model>') is declared only by a member that
-- registered it: a row by anyone else dated after the registration is
-- never the first declaration (_key_claim_allows()).  Registry order
-- follows the writer's clock, so a member bypassing its rules could wait
-- for the maker's first row to arrive and write its own dated at its
-- statement's start, before it, and hold the id everywhere (red team r21,
-- F3; ns21).  Ids in no registered namespace, and rows dated before the
-- registration (models declared before it, 0.18.0's among them), keep the
-- first declarer.  Every row of the model is read and sorted as before;
-- the claims are read once per call, not per row (passport() calls it).
-- A row's signer is the member its key counts for (keys: a member that
-- exists, whose origin added the key): what _signer() reads, probed in the
-- query, not called per row (0.20.0: 12 of a namespaced model's 56 µs,
-- issue 15).
CREATE FUNCTION @extschema@._model_holder(model text) RETURNS text
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

-- _model_row(model): the model as its holder (_model_holder()) declared it
-- last: its latest row in registry order by a key added for the holder.
-- Another member's row of the model id, the latest, was read until 0.18.0
-- (red team r20, F4).  The one reader of it (0.21.0): passport() and
-- usage_derived() each wrote it out, the second with a _signer() call per
-- row; this is the cheaper form, one probe of keys per row, the
-- signer as _model_holder() reads it.  NULL: no row of the model by its
-- holder.  Runs as its caller; not PUBLIC's (it reads every column of
-- battery_model): the owner's functions and usage_derived() call it.
CREATE FUNCTION @extschema@._model_row(model text) RETURNS @extschema@.battery_model
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
REVOKE ALL ON FUNCTION @extschema@._model_row(text) FROM PUBLIC;

-- _operator_time_conflicts(): the operator registrations whose time no
-- reader can print (registry_conflicts(), operator_time_out_of_range;
-- 0.28.0).  PL/pgSQL: operator_registration is created after this part
-- (82_operators.sql), and an SQL function's body is checked when created.
CREATE FUNCTION @extschema@._operator_time_conflicts()
    RETURNS TABLE (ledger_origin text, ledger_seq bigint, signer text, message text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    SELECT x.ledger_origin, x.ledger_seq, s.member,
           format('registration of %s "%s" occurred at %s', x.kind, x.identifier, x.occurred_at)
      FROM @extschema@.operator_registration x
      CROSS JOIN LATERAL @extschema@._signer(x.ledger_key_id) s
     WHERE NOT (x.occurred_at >= '1000-01-01 00:00:00+00'::timestamptz AND x.occurred_at < '9999-01-01 00:00:00+00'::timestamptz);
END $$;

-- registry_conflicts(): every event the rules judge ineffective, on every battery.
-- An 'equivocation' is an event the writer's own rules would have refused
-- (its member bypassed them); a 'conflict' is a race the rules could not see
-- from one member (two members issuing one passport id, moves before custody).
CREATE FUNCTION @extschema@.registry_conflicts()
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
      -- (hosting as every reader judges it, _member_hosts: a member added
      -- under the empty origin was added here too; red team r25, E1)
      FROM (SELECT h.*, EXISTS (SELECT FROM @extschema@._member_hosts e
                                 WHERE e.member = h.member AND h.ledger_origin = ANY (e.origins)) AS hosted
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
    -- each of its rows, a conflict.  Since 0.23.0 such a key signs for the
    -- one member whose holder proved possession of it (key_proof): still
    -- named, the detail saying who proved it; a row adding it for another
    -- member is then its origin's equivocation (it registered a key whose
    -- holder is another member: verify_member() files it under key_event),
    -- the prover's own rows stay conflicts
    SELECT NULL, a.ledger_origin, a.ledger_seq, 'key_event', a.member, 'key_registered_twice',
           CASE WHEN pr.signs AND a.member <> pr.member THEN 'equivocation' ELSE 'conflict' END,
           format('key %s added for "%s" by origin "%s", and %s times more', a.key_id, a.member, a.ledger_origin,
                  (SELECT count(*) - 1 FROM @extschema@.key_event o
                    WHERE o.key_id OPERATOR(@extschema@.=) a.key_id AND o.event = 'added'))
           || CASE WHEN pr.member IS NULL THEN ''
                   ELSE format('; "%s" proved possession of it (key_proof)%s', pr.member,
                               CASE WHEN pr.signs THEN ', so it signs for that member' ELSE '' END) END
      FROM @extschema@.key_event a
      -- (who proved it, once per key, not per row: the proofs verified
      -- one per contesting member, so a superuser who added a competitor's
      -- key for K members of its own, each with a garbage proof, made this
      -- K^2 verifications, over 10 minutes at K = 2,000; red team r29, C1.
      -- From the proofs themselves, _key_proven_member_verify(), not from
      -- this database's record of them, _key_proof_checked, which the keys
      -- view reads and this database's superuser can write (0.24.0): the
      -- member it names signs for the key, as the keys view says where
      -- that record is the proofs', key_proof_check())
      JOIN (WITH t AS MATERIALIZED (
                SELECT t.key_id, x.member, x.member IS NOT NULL AS signs
                  FROM (SELECT o.key_id FROM @extschema@.key_event o WHERE o.event = 'added'
                         GROUP BY o.key_id HAVING count(*) > 1) t
                 CROSS JOIN LATERAL (SELECT @extschema@._key_proven_member_verify(t.key_id) AS member) x)
            SELECT * FROM t) pr ON pr.key_id OPERATOR(@extschema@.=) a.key_id
     WHERE a.event = 'added'
       -- (another row: chains are per member, so one origin's rows for two
       -- members can share a ledger_seq; until 0.23.0 such a pair went unnamed)
       AND EXISTS (SELECT FROM @extschema@.key_event o
                    WHERE o.key_id OPERATOR(@extschema@.=) a.key_id AND o.event = 'added'
                      AND (o.member, o.ledger_origin, o.ledger_seq) IS DISTINCT FROM (a.member, a.ledger_origin, a.ledger_seq))
    UNION ALL
    -- a row naming a commitment an earlier row (registry order) names
    -- (0.24.0 for usage reports, 0.25.0 for every event kind, red team
    -- rt25 Q1-Q3): its writer refuses it (BL045); one written past that,
    -- or in a race, counts for neither, nor does the earlier one (0.25.0:
    -- 87_usage_state.sql, the passport's test reports, _performance_at();
    -- until then the disclosed values counted again where they are held,
    -- red team r31, U1/U2).  Which of the two copied the other cannot be
    -- told from the rows (a member's superuser backdates its copy, and the
    -- genuine row is then the later): a conflict, the later listed, its
    -- message naming both rows, their kinds and both signers as parties,
    -- neither as the culprit
    SELECT e.battery_id, e.ledger_origin, e.ledger_seq, e.event,
           (@extschema@._signer_at(e.ledger_key_id, e.ledger_at)).member, 'commitment_replayed', 'conflict',
           format('commitment %s named by more than one event: this %s, by "%s" (battery %s, origin "%s", seq %s), '
                  'and a %s by "%s" earlier in registry order (battery %s, origin "%s", seq %s); either may be the copy '
                  '(a backdated copy comes first), and the disclosed values count for neither',
                  e.restricted, e.event, (@extschema@._signer_at(e.ledger_key_id, e.ledger_at)).member, e.battery_id, e.ledger_origin,
                  e.ledger_seq, o.event, o.member, o.battery_id, o.ledger_origin, o.ledger_seq)
      -- (the commitments named twice, by one pass over the rows naming
      -- one; the first row of each found once, in registry order, and every
      -- later row of it joined to that one: a probe per row for the first
      -- before it read every row of a commitment a thousand replays name,
      -- once per replay, red team rt25b X3)
      FROM (SELECT f.restricted, f.battery_id, f.ledger_at, f.ledger_origin, f.ledger_seq, f.event,
                   (@extschema@._signer_at(f.ledger_key_id, f.ledger_at)).member
              FROM (SELECT DISTINCT ON (r.restricted) r.restricted, r.battery_id, r.ledger_at, r.ledger_origin,
                           r.ledger_seq, r.event, r.ledger_key_id
                      FROM (SELECT t.restricted FROM @extschema@.battery_event t
                             WHERE t.restricted IS NOT NULL
                             GROUP BY t.restricted HAVING count(*) > 1) twice
                      JOIN @extschema@.battery_event r ON r.restricted OPERATOR(@extschema@.=) twice.restricted
                     ORDER BY r.restricted, r.ledger_at, r.ledger_origin, r.ledger_seq, r.battery_id::text COLLATE "C") f) o
      -- (the battery last: one origin's n-th rows of two batteries written
      -- in one transaction tie in the registry's order, and neither was
      -- listed; red team rt25c T1)
      JOIN @extschema@.battery_event e
        ON e.restricted OPERATOR(@extschema@.=) o.restricted
       AND (o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id::text COLLATE "C")
         < (e.ledger_at, e.ledger_origin, e.ledger_seq, e.battery_id::text COLLATE "C")
    UNION ALL
    -- a member added by more than one origin (two origins adding it before
    -- either saw the other's row, or one written past the rules): its
    -- hosting is contested; each database counts the keys and roles of the
    -- origin it pinned (the first it saw adding it, or pin_member_host()),
    -- so members may disagree until the consortium settles it; named once
    -- per row adding it, whether or not it has a namespace (red team r25,
    -- X1; 0.23.0)
    SELECT NULL, a.ledger_origin, a.ledger_seq, 'member_event', a.member, 'member_hosting_contested', 'conflict',
           format('member "%s" added by origin "%s", and also by %s; %s', a.member, a.ledger_origin,
                  (SELECT string_agg(DISTINCT '"' || o.ledger_origin || '"', ', ') FROM @extschema@.member_event o
                    WHERE o.member = a.member AND o.event = 'added' AND o.ledger_origin <> a.ledger_origin),
                  -- (which of them this database counts: its pin, host_pin)
                  coalesce((SELECT CASE WHEN p.how = 'unsettled'
                                        THEN 'hosted here by no origin (unsettled: a join''s copy brought the adding row of '
                                             || 'another origin than the one this database had, copied or streamed in, in no order it can tell; '
                                             || 'settle with pin_member_host())'
                                        ELSE format('hosted here by "%s" (%s)', p.origin, replace(p.how, '_', ' ')) END
                              FROM @extschema@.host_pin p WHERE p.member = a.member AND p.how <> 'contested'),
                           'no origin pinned here (contested before 0.23.0): the rows of each count'))
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
    -- values that are no number (NaN) or infinite (0.27.0): a lot's mass, a
    -- model's rated values.  CHECK (> 0) let them through and 0.26.0's rules
    -- did too; the writer refuses them since (BL031), and numbers of more
    -- than 1,000 digits either side of the point (_json_num()'s bound),
    -- which overflowed the readers' arithmetic (red team rt27b F1-F3).  Rows written before,
    -- or past the rules, are named; a lot of no finite mass has no use
    -- accepted by the writer's mass balance (BL033)
    SELECT NULL, x.ledger_origin, x.ledger_seq, x.event, s.member, 'value_not_finite', 'equivocation',
           format('lot "%s" has a mass of %s kg', x.lot_id, x.mass_kg)
      FROM @extschema@.lot_event x
      CROSS JOIN LATERAL @extschema@._signer(x.ledger_key_id) s
     WHERE @extschema@._json_num(pg_catalog.to_jsonb(x.mass_kg)) IS NULL
    UNION ALL
    -- event times no reader can print (0.28.0, _time_ok()): 'infinity',
    -- '-infinity' or a year of other than four digits, in a lot's or a
    -- battery's event or an operator's registration.  The rules refuse
    -- them since (BL031); rows written before, past the rules or arriving
    -- from a member that bypassed its own are named.  The passports leave
    -- such a time out.  (_time_ok()'s bounds written out: a seq scan's
    -- comparison, not a call per row; an operator's problem operator_*,
    -- so that verify_member() files it under operator_registration)
    SELECT NULL, x.ledger_origin, x.ledger_seq, x.event, s.member, 'time_out_of_range', 'equivocation',
           format('lot "%s": "%s" occurred at %s', x.lot_id, x.event, x.occurred_at)
      FROM @extschema@.lot_event x
      CROSS JOIN LATERAL @extschema@._signer(x.ledger_key_id) s
     WHERE NOT (x.occurred_at >= '1000-01-01 00:00:00+00'::timestamptz AND x.occurred_at < '9999-01-01 00:00:00+00'::timestamptz)
    UNION ALL
    SELECT x.battery_id, x.ledger_origin, x.ledger_seq, x.event, s.member, 'time_out_of_range', 'equivocation',
           format('battery %s: "%s" occurred at %s', x.battery_id, x.event, x.occurred_at)
      FROM @extschema@.battery_event x
      CROSS JOIN LATERAL @extschema@._signer(x.ledger_key_id) s
     WHERE NOT (x.occurred_at >= '1000-01-01 00:00:00+00'::timestamptz AND x.occurred_at < '9999-01-01 00:00:00+00'::timestamptz)
    UNION ALL
    SELECT NULL, o.ledger_origin, o.ledger_seq, 'operator_registration', o.signer, 'operator_time_out_of_range', 'equivocation', o.message
      FROM @extschema@._operator_time_conflicts() o
    UNION ALL
    -- (a model's: model_value_not_finite, so that verify_member() files it
    -- under battery_model, as the other model_* problems; red team rt27b V1)
    SELECT NULL, m.ledger_origin, m.ledger_seq, 'battery_model', s.member, 'model_value_not_finite', 'equivocation',
           format('battery model "%s": %s', m.model_id, v.bad)
      FROM @extschema@.battery_model m
      CROSS JOIN LATERAL (SELECT string_agg(format('%s = %s', c.col, c.x), ', ') AS bad
                            FROM (VALUES ('rated_capacity_ah', m.rated_capacity_ah), ('rated_energy_kwh', m.rated_energy_kwh),
                                         ('nominal_voltage_v', m.nominal_voltage_v), ('min_voltage_v', m.min_voltage_v),
                                         ('max_voltage_v', m.max_voltage_v), ('original_power_w', m.original_power_w),
                                         ('capacity_threshold_pct', m.capacity_threshold_pct), ('mass_kg', m.mass_kg),
                                         ('carbon_footprint_kg_co2e_per_kwh', m.carbon_footprint_kg_co2e_per_kwh)) c(col, x)
                           WHERE c.x IS NOT NULL AND @extschema@._json_num(pg_catalog.to_jsonb(c.x)) IS NULL) v
      CROSS JOIN LATERAL @extschema@._signer(m.ledger_key_id) s
     WHERE v.bad IS NOT NULL
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

CREATE FUNCTION @extschema@._battery_rules() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    st @extschema@.battery_fold_state;
    v record;
    corrected record;
    earlier record;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;                 -- unknown key: the chain trigger refuses it (BL011)
    END IF;
    -- the checks that need no state first, then the battery's turn
    IF NOT EXISTS (SELECT 1 FROM @extschema@.event_kind k WHERE k.event = NEW.event AND k.subject = 'battery') THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL030', format('unknown battery event "%s"', NEW.event),
            hint => 'See battledger.event_kind.');
        RETURN NEW;
    END IF;
    -- an event time no reader can print ('infinity', a five-digit year):
    -- the passports showed it where the standards want an RFC 3339
    -- date-time (0.28.0; _time_ok())
    IF NOT @extschema@._time_ok(NEW.occurred_at) THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL031', format('battery %s: "%s" occurred at %s', NEW.battery_id, NEW.event, NEW.occurred_at),
            'An event''s time is a time from 1000-01-01 up to 9999-01-01 UTC: the passports show it as an RFC 3339 date-time, which has no infinity and no year of other than four digits.', 'Write the time the event occurred.');
        RETURN NEW;
    END IF;
    PERFORM @extschema@._lock_subject('battery', NEW.battery_id::text);
    IF NEW.passport_id IS NOT NULL THEN
        PERFORM @extschema@._lock_subject('passport', NEW.passport_id);
    END IF;
    -- (the cached state carries the successor a battery was consumed into: second life)
    st := @extschema@._battery_state_cached(NEW.battery_id);
    -- NEW has no ledger fields yet: it comes after every event here in registry order
    SELECT * INTO v FROM @extschema@._battery_verdict(NEW, s.member, s.roles, st,
                                                      statement_timestamp() >= @extschema@._custody_from(), true);
    IF v.problem IS NOT NULL THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, v.code, v.message, v.detail, v.hint);
        RETURN NEW;
    END IF;
    -- a commitment names one row (0.24.0 for usage reports, 0.25.0 for
    -- every event kind): the rows are public, their disclosures are not,
    -- and a member's application that copied another member's commitment
    -- into a row of its own made the disclosed values count twice where
    -- the disclosure is held (a second report of the battery, or a report
    -- of another battery: red team r31, U1/U2; a quality check's test
    -- report, a consuming move's performance, a usage report naming either,
    -- or a consuming move naming a report: rt25 Q1-Q3).  Honest rows each
    -- take a fresh salt.  In the commitment's turn, the lock the usage
    -- state's triggers take.
    IF NEW.restricted IS NOT NULL THEN
        PERFORM @extschema@._usage_lock(NEW.restricted);
        SELECT e.battery_id, e.ledger_origin, e.ledger_seq, e.event INTO earlier FROM @extschema@.battery_event e
         WHERE e.restricted OPERATOR(@extschema@.=) NEW.restricted LIMIT 1;
        IF FOUND THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL045',
                format('commitment %s is named by an event already (%s of battery %s, origin "%s", seq %s)',
                       NEW.restricted, earlier.event, earlier.battery_id, earlier.ledger_origin, earlier.ledger_seq),
                'A commitment names one event, whatever its kind: a second would show the values it discloses again, as another event''s or another battery''s, wherever they are disclosed.',
                'Commit each event''s values with a fresh random salt: battledger.commitment(salt, value).');
            RETURN NEW;
        END IF;
    END IF;

    IF NEW.event = 'manufactured' THEN
        IF NOT EXISTS (SELECT 1 FROM @extschema@.battery_model m WHERE m.model_id = NEW.model_id) THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL031', format('unknown battery model "%s"', NEW.model_id),
                hint => 'Declare it in battledger.battery_model first.');
            RETURN NEW;
        END IF;
        IF NEW.lots IS NOT NULL THEN
            IF @extschema@._check_inputs(NEW, TG_RELID, NEW.lots, s.member, format('battery %s', NEW.battery_id)) IS NULL THEN
                RETURN NEW;         -- refused, but not signed: the chain trigger refuses it
            END IF;
        END IF;
        -- second life and composition: predecessors consumed by the signer, components it holds
        IF NOT @extschema@._check_second_life(NEW, s.member) THEN
            RETURN NEW;
        END IF;
    ELSIF NEW.event = 'correction' THEN
        SELECT e.event, sg.member INTO corrected
          FROM @extschema@.battery_event e, @extschema@._signer(e.ledger_key_id) sg
         WHERE e.battery_id OPERATOR(@extschema@.=) NEW.battery_id
           AND e.ledger_hash OPERATOR(@extschema@.=) NEW.corrects;
        IF corrected.event IS NULL THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL037', 'a correction must reference an event of the same battery',
                'Set "corrects" to the ledger_hash of the corrected event.');
            RETURN NEW;
        ELSIF corrected.member IS DISTINCT FROM s.member THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL037', format('only "%s", who signed the corrected event, may correct it', corrected.member));
            RETURN NEW;
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.lot_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._lot_rules();
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.battery_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._battery_rules();

-- The writer's rules: a model id in another member's namespace is refused
-- (BL044, as a battery id); only the model's holder declares it again (BL061).
CREATE FUNCTION @extschema@._model_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    ns record;
    holder text;
    bad text;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;                 -- unknown key: the chain trigger refuses it (BL011)
    END IF;
    -- rated values that are no number (NaN) or infinite: the columns are
    -- plain numeric and CHECK (> 0) lets NaN through; the passport shows
    -- them as text and the derived values (state of health, cycles) divide
    -- by them (0.27.0).  Nor of more than 1,000 digits either side of the
    -- point (_json_num()'s bound): a rated capacity of 1e131071 Ah made
    -- 100 * (rated - measured) overflow numeric, and every legitimate-
    -- interest passport of the model's batteries fail (red team rt27b F1)
    SELECT string_agg(format('%s = %s', v.col, v.x), ', ') INTO bad
      FROM (VALUES ('rated_capacity_ah', NEW.rated_capacity_ah), ('rated_energy_kwh', NEW.rated_energy_kwh),
                   ('nominal_voltage_v', NEW.nominal_voltage_v), ('min_voltage_v', NEW.min_voltage_v),
                   ('max_voltage_v', NEW.max_voltage_v), ('original_power_w', NEW.original_power_w),
                   ('capacity_threshold_pct', NEW.capacity_threshold_pct), ('mass_kg', NEW.mass_kg),
                   ('carbon_footprint_kg_co2e_per_kwh', NEW.carbon_footprint_kg_co2e_per_kwh)) v(col, x)
     WHERE v.x IS NOT NULL AND @extschema@._json_num(pg_catalog.to_jsonb(v.x)) IS NULL;
    IF bad IS NOT NULL THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL031', format('battery model "%s": %s', NEW.model_id, bad),
            'A model''s rated values are finite numbers, of at most 1,000 digits either side of the point.', 'Leave a value you do not know NULL.');
        RETURN NEW;
    END IF;
    -- the holder's own model is its to declare again, whatever namespace
    -- was registered after its first declaration (_model_holder() keeps it;
    -- red team r22, N1)
    holder := @extschema@._model_holder(NEW.model_id);
    SELECT * INTO ns FROM @extschema@._key_owners(@extschema@._text_id_key(NEW.model_id), statement_timestamp());
    IF holder IS DISTINCT FROM s.member AND ns.members IS NOT NULL AND NOT s.member = ANY (ns.members) THEN
        PERFORM @extschema@._refuse('BL044', format('battery model id "%s" is in the namespace of member "%s"',
                                                    NEW.model_id, array_to_string(ns.members, '", "')),
            format('Namespace %s is registered to "%s"; a model id of the form gs1:01/<GTIN> or iso15459:<IAC>/<CIN>/... is its members'' to declare.',
                   array_to_string(ns.namespaces, ', '), array_to_string(ns.members, '", "')),
            'Use a model id of a namespace registered to you (battledger.id_namespace).');
    END IF;
    IF holder IS NOT NULL AND holder <> s.member THEN
        PERFORM @extschema@._refuse('BL061', format('battery model "%s" is declared by member "%s"', NEW.model_id, holder),
            'A model belongs to the member that declared it first; only that member may declare it again.',
            'Declare your model under a model id of your own.');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.battery_model
    FOR EACH ROW EXECUTE FUNCTION @extschema@._model_rules();

-- The writer's cache of battery states, kept on arrival too.  Other
-- members' rows reach battery_event through the apply worker, where the
-- rules trigger does not fire: a battery only other members write had no
-- cache row here, and battery_state() and passport() folded its whole life
-- on every call (issue 15: passport() within 2 ms at any history length, on
-- every member).  ENABLE REPLICA: only the apply worker fires it.  Only the
-- lifecycle events (the fold's list, as in _battery_fold_cached()) move a
-- state, so other rows cost the apply worker nothing; the cache is checked
-- before every use, so a cache the apply worker left standing only makes
-- the next read fold whole.
CREATE FUNCTION @extschema@._battery_fold_arrived() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w bigint;
BEGIN
    -- Rows after the cache's horizon are folded on from it.  A row before
    -- it, a new key or member, or another battery's row taking one of this
    -- battery's passport ids (passport_holder_moved) voids the cache, and
    -- the battery is folded whole again, but here only once it has a
    -- quarter more lifecycle events than at its last whole fold.  A member
    -- sending rows dated alternately before and after the horizon (it
    -- chooses ledger_at) made every second row a whole fold, the apply
    -- worker's work growing with the square of the rows (red team r9, F1);
    -- now the whole folds cost at most four events' folds per arriving row.
    -- An honest row dated a little before another member's last one most
    -- often finds a battery that has grown by a quarter since its last whole
    -- fold (rows folded on meanwhile), and is folded whole at once; until a
    -- battery is, readers fold it whole, and a local write (the rules
    -- trigger) folds it and stores the result.
    SELECT f.whole_n INTO w
      FROM @extschema@.battery_fold_cache f WHERE f.battery_id OPERATOR(@extschema@.=) NEW.battery_id;
    PERFORM @extschema@._battery_state_cached(NEW.battery_id, coalesce(w + greatest(1, w / 4), 0));
    RETURN NULL;
END $$;
CREATE TRIGGER zz_battledger_fold_arrived AFTER INSERT ON @extschema@.battery_event
    FOR EACH ROW
    WHEN (NEW.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                        'handover', 'handover_accepted'))
    EXECUTE FUNCTION @extschema@._battery_fold_arrived();
ALTER TABLE @extschema@.battery_event ENABLE REPLICA TRIGGER zz_battledger_fold_arrived;

-- An issuing row that moves its passport id's holder (passport_holder_moved,
-- above): the id's turn first, then the id's holder (_passport_holder(), as
-- in _battery_verdict(): the first issuing row its namespace allows); only
-- if that is the new row, the first such row after it (the holder it
-- displaces), whose battery's cache it voids.  The order is _battery_verdict()'s, total: registry order, then
-- battery_id (rows of two batteries can share a registry key, red team r11,
-- T1), so the row displaced is the one holder there was, and a tied row that
-- comes after the holder moves nothing.  A member's rows naming an id after
-- its issue cost one probe and leave nothing (F2); each moves the holder at
-- most once, so the rows left here are at most the issuing rows.  ENABLE
-- ALWAYS: local writers, the apply worker and the initial table copy alike.
CREATE FUNCTION @extschema@._passport_holder_arrived() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    h record;
    pkey text;
    cm text[];
    cs timestamptz[];
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        -- no turn: a concurrent holder may stay unseen; void every cache
        INSERT INTO @extschema@.passport_holder_moved VALUES (NULL, NEW.passport_id);
        RETURN NULL;
    END IF;
    PERFORM @extschema@._lock_subject('passport', NEW.passport_id);
    -- (each query below takes its snapshot after the turn: READ COMMITTED)
    -- the holder (_passport_holder(): the first issuing row its namespace
    -- allows), NEW itself at least if the namespace allows it.  (A probe for
    -- "any row before NEW" must skip tied rows of higher battery ids, as
    -- many as the batteries a member dates alike.)  A row its namespace
    -- refuses holds nothing and displaces nobody, wherever it is dated: a
    -- squatter's row dated before the holder's leaves every cache standing
    -- (pp23)
    pkey := @extschema@._text_id_key(NEW.passport_id);
    IF pkey IS NOT NULL THEN
        SELECT c.members, c.since INTO cm, cs FROM @extschema@._key_claims(pkey) c;
    END IF;
    IF cm IS NULL THEN
        -- (_passport_holder_by() for an id in no namespace written out, as
        -- in _battery_verdict(); the first issuing row)
        SELECT o.ledger_origin, o.ledger_seq, o.battery_id INTO h
          FROM @extschema@.battery_event o
         WHERE o.passport_id = NEW.passport_id
           AND (o.event = 'placed_on_market'
                OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
         ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id LIMIT 1;
    ELSE
        SELECT * INTO h FROM @extschema@._passport_holder_by(NEW.passport_id, cm, cs);
    END IF;
    IF NOT coalesce(h.battery_id OPERATOR(@extschema@.=) NEW.battery_id
                    AND h.ledger_origin = NEW.ledger_origin AND h.ledger_seq = NEW.ledger_seq, false) THEN
        RETURN NULL;    -- an earlier row holds the id, and keeps it (NEW: the chain's unique key)
    END IF;
    -- the row it displaces: the next one the namespace allows (a row at
    -- NEW's registry key with a lower battery_id would have been the
    -- holder; a refused row between them held nothing, and voiding its
    -- battery's cache would leave the displaced holder's standing)
    IF cm IS NULL THEN
        SELECT o.battery_id INTO h
          FROM @extschema@.battery_event o
         WHERE o.passport_id = NEW.passport_id
           AND (o.event = 'placed_on_market'
                OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
           AND (o.ledger_at, o.ledger_origin, o.ledger_seq) >= (NEW.ledger_at, NEW.ledger_origin, NEW.ledger_seq)
           AND ((o.ledger_at, o.ledger_origin, o.ledger_seq) > (NEW.ledger_at, NEW.ledger_origin, NEW.ledger_seq)
                OR o.battery_id OPERATOR(@extschema@.>) NEW.battery_id)
         ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq, o.battery_id LIMIT 1;
    ELSE
        SELECT * INTO h FROM @extschema@._passport_holder_by(NEW.passport_id, cm, cs, NEW);
    END IF;
    IF h.battery_id IS NOT NULL THEN
        INSERT INTO @extschema@.passport_holder_moved VALUES (h.battery_id, NEW.passport_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER battledger_passport_holder AFTER INSERT ON @extschema@.battery_event
    FOR EACH ROW
    WHEN (NEW.passport_id IS NOT NULL
          AND (NEW.event = 'placed_on_market'
               OR (NEW.event = 'status_changed' AND NEW.new_status IN ('re-used', 'repurposed', 'remanufactured'))))
    EXECUTE FUNCTION @extschema@._passport_holder_arrived();
ALTER TABLE @extschema@.battery_event ENABLE ALWAYS TRIGGER battledger_passport_holder;

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
