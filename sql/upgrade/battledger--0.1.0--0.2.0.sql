-- battledger 0.1.0 -> 0.2.0, the consortium release (docs/consortium.md).
-- Built into battledger--0.1.0--0.2.0.sql with sql/install/32_enable_ledger.sql,
-- sql/upgrade/0.1.0--0.2.0-post.sql and sql/install/90_consortium.sql.
\echo Use "ALTER EXTENSION battledger UPDATE TO '0.2.0'" to load this file. \quit

-- rows from other members are checked by this trigger (src/arrive.c)
CREATE FUNCTION @extschema@._arrive_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'ledger_arrive_trigger' LANGUAGE C;

-- verify() reports the origin of each chain, and can check one origin
DROP FUNCTION @extschema@.verify(regclass);
CREATE FUNCTION @extschema@.verify(tbl regclass, origin text DEFAULT NULL)
    RETURNS TABLE (origin text, chain_key text, seq bigint, problem text, detail text)
    AS 'MODULE_PATHNAME', 'battledger_verify' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.verify(regclass, text) IS
    'one row per problem in the ledger table''s chains (of one origin, if given); no rows when intact';

-- proofs can ask for a checkpoint cosigned by witnesses
DROP FUNCTION @extschema@.tlog_proof(regclass, @extschema@.hash256);
DROP FUNCTION @extschema@.tlog_proof(bigint);
CREATE FUNCTION @extschema@.tlog_proof(leaf_index bigint, min_cosignatures int DEFAULT 0) RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_tlog_proof' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.tlog_proof(bigint, int) IS
    'a C2SP tlog-proof@v1 bundle: index, inclusion proof and the latest signed checkpoint (cosigned by at least min_cosignatures witnesses), with its cosignatures';
CREATE FUNCTION @extschema@.tlog_proof(tbl regclass, ledger_hash @extschema@.hash256, min_cosignatures int DEFAULT 0) RETURNS text
    LANGUAGE sql STABLE STRICT SET search_path = pg_catalog AS $$
    SELECT @extschema@.tlog_proof(@extschema@.leaf_index(tbl, ledger_hash), min_cosignatures)
$$;
COMMENT ON FUNCTION @extschema@.tlog_proof(regclass, @extschema@.hash256, int) IS
    'the tlog-proof@v1 bundle for the row of tbl whose ledger_hash is given (NULL if not sealed yet)';
-----------------------------------------------------------------------------
-- enable_ledger() and the registration it ends with (CREATE OR REPLACE: the
-- upgrade scripts load this file too)
-----------------------------------------------------------------------------
-- Records a ledger table; SECURITY DEFINER because the registry is not
-- writable by table owners.  Only the owner of tbl may register it, and only
-- once the triggers enable_ledger() creates are in place.
CREATE OR REPLACE FUNCTION @extschema@._register(tbl regclass, chain_by name, chain_index name, signer_roles text[])
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF NOT pg_catalog.pg_has_role(session_user, (SELECT relowner FROM pg_catalog.pg_class WHERE oid = tbl), 'USAGE')
       AND NOT pg_catalog.pg_has_role(current_user, (SELECT relowner FROM pg_catalog.pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = '42501';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.pg_trigger t
         WHERE t.tgrelid = tbl
           AND t.tgname IN ('zz_battledger_chain', 'battledger_append_only', 'battledger_log',
                            'zz_battledger_arrive')) <> 4 THEN
        RAISE EXCEPTION 'table % does not have the ledger triggers', tbl
            USING ERRCODE = '55000', HINT = 'Use battledger.enable_ledger().';
    END IF;
    -- what is registered must be what the chain trigger enforces
    IF (SELECT count(*) FROM pg_catalog.pg_trigger t
                    WHERE t.tgrelid = tbl AND t.tgname IN ('zz_battledger_chain', 'zz_battledger_arrive')
                      AND t.tgargs = pg_catalog.convert_to(coalesce(chain_by::text, ''), 'UTF8') || '\x00'::bytea
                                     || pg_catalog.convert_to(coalesce(signer_roles::text, ''), 'UTF8') || '\x00'::bytea) <> 2 THEN
        RAISE EXCEPTION 'the chain trigger of % does not match chain_by % and signer_roles %', tbl, chain_by, signer_roles
            USING ERRCODE = '55000', HINT = 'Use battledger.enable_ledger().';
    END IF;
    INSERT INTO @extschema@.ledger_tables (tbl, chain_by, signer_roles, builtin, chain_index)
    VALUES (tbl, chain_by, signer_roles,
            (SELECT relnamespace = '@extschema@'::regnamespace FROM pg_catalog.pg_class WHERE oid = tbl),
            chain_index);
END $$;
-- Callable by every role, so that a table's owner can run enable_ledger(): it
-- checks ownership, and that the registered settings are the triggers' own.
GRANT EXECUTE ON FUNCTION @extschema@._register(regclass, name, name, text[]) TO PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.enable_ledger(tbl regclass, chain_by name DEFAULT NULL,
                                          signed boolean DEFAULT false, signer_roles text[] DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    kind "char";
    has_rows boolean;
    col name;
    idx text;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT relkind INTO kind FROM pg_class WHERE oid = tbl;
    IF kind IS DISTINCT FROM 'r' THEN
        RAISE EXCEPTION '"%" is not an ordinary table', tbl
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'Only ordinary (non-partitioned) tables can be ledger tables.';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.ledger_tables l WHERE l.tbl = enable_ledger.tbl) THEN
        RAISE EXCEPTION 'table "%" is already a ledger table', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    FOR col IN SELECT attname FROM pg_attribute
                WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped
                  AND attname IN ('ledger_origin', 'ledger_seq', 'ledger_prev', 'ledger_hash',
                                  'ledger_key_id', 'ledger_sig', 'ledger_at', 'ledger_batch') LOOP
        RAISE EXCEPTION 'table "%" already has a column named "%"', tbl, col
            USING ERRCODE = 'duplicate_column',
                  DETAIL = 'Names beginning with ledger_ that enable_ledger() adds are reserved for the ledger''s own columns.';
    END LOOP;
    IF signed AND (signer_roles IS NULL OR cardinality(signer_roles) = 0) THEN
        RAISE EXCEPTION 'a signed ledger table needs signer_roles'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Name the member roles allowed to sign its rows, e.g. signer_roles => ARRAY[''oem''].';
    END IF;
    IF signed AND NOT signer_roles <@ @extschema@.member_roles() THEN
        RAISE EXCEPTION 'unknown member role in %', signer_roles
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('The roles are: %s.', array_to_string(@extschema@.member_roles(), ', '));
    END IF;
    IF NOT signed AND signer_roles IS NOT NULL THEN
        RAISE EXCEPTION 'signer_roles given for an unsigned ledger table'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Add signed => true.';
    END IF;
    IF chain_by IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = chain_by
           AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'column "%" of table "%" does not exist', chain_by, tbl
            USING ERRCODE = 'undefined_column';
    END IF;

    FOR col IN SELECT attname FROM pg_attribute
                WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped AND attgenerated <> '' LOOP
        RAISE EXCEPTION 'column "%" of table "%" is generated', col, tbl
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Generated columns are computed after the chain trigger hashes the row.',
                  HINT = 'Compute the value in the application, or in a BEFORE INSERT trigger.';
    END LOOP;
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', tbl);
    PERFORM @extschema@._check_encodable(tbl);
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', tbl) INTO STRICT has_rows;
    IF has_rows THEN
        RAISE EXCEPTION 'table "%" already has rows', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Existing rows have no agreed order to chain them in.',
                  HINT = 'Create the ledger table empty, enable it, then copy the rows in with INSERT ... SELECT ... ORDER BY in the order the chain should record.';
    END IF;

    EXECUTE format('ALTER TABLE %s ADD COLUMN ledger_seq bigint NOT NULL, '
                   'ADD COLUMN ledger_prev @extschema@.hash256 NOT NULL, '
                   'ADD COLUMN ledger_hash @extschema@.hash256 NOT NULL', tbl);
    IF signed THEN
        -- the signature is unique: Ed25519 is deterministic, so a replayed row is refused
        EXECUTE format('ALTER TABLE %s ADD COLUMN ledger_key_id @extschema@.hash256 NOT NULL, '
                       'ADD COLUMN ledger_sig bytea UNIQUE, '
                       'ADD COLUMN ledger_batch text, '
                       'ADD COLUMN ledger_at timestamptz NOT NULL', tbl);
        EXECUTE format('CREATE INDEX %I ON %s (ledger_batch) WHERE ledger_batch IS NOT NULL',
                       left((SELECT relname FROM pg_class WHERE oid = tbl), 48) || '_ledger_batch', tbl);
    END IF;
    -- the chain trigger fills ledger_origin in ('' in a database battledger.origin does not name)
    EXECUTE format('ALTER TABLE %s ADD COLUMN ledger_origin text COLLATE "C" NOT NULL', tbl);
    idx := left((SELECT relname FROM pg_class WHERE oid = tbl), 48) || '_ledger_chain';
    IF chain_by IS NOT NULL THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', tbl, chain_by);
        EXECUTE format('CREATE UNIQUE INDEX %I ON %s (%I, ledger_origin, ledger_seq)', idx, tbl, chain_by);
    ELSE
        EXECUTE format('CREATE UNIQUE INDEX %I ON %s (ledger_origin, ledger_seq)', idx, tbl);
    END IF;
    EXECUTE format('CREATE TRIGGER zz_battledger_chain BEFORE INSERT ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION @extschema@._chain_trigger(%L, %L)', tbl, coalesce(chain_by, ''),
                   coalesce(signer_roles::text, ''));
    EXECUTE format('CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger()', tbl);
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER battledger_append_only', tbl);
    -- rows actually inserted (not those ON CONFLICT skipped) are queued for the log
    EXECUTE format('CREATE TRIGGER battledger_log AFTER INSERT ON %s REFERENCING NEW TABLE AS battledger_new '
                   'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._log_trigger()', tbl);
    -- rows from other members (logical replication): checked, not chained
    EXECUTE format('CREATE TRIGGER zz_battledger_arrive BEFORE INSERT ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION @extschema@._arrive_trigger(%L, %L)', tbl, coalesce(chain_by, ''),
                   coalesce(signer_roles::text, ''));
    EXECUTE format('ALTER TABLE %s ENABLE REPLICA TRIGGER zz_battledger_arrive', tbl);
    PERFORM @extschema@._register(tbl, chain_by, idx, signer_roles);
END $$;
COMMENT ON FUNCTION @extschema@.enable_ledger(regclass, name, boolean, text[]) IS
    'make an empty table an append-only, hash-chained ledger table (one chain per chain_by value), optionally signed';

-- Every ledger table gains ledger_origin.  Rows written by 0.1.0 get the
-- empty origin, which the canonical encoding leaves out, so their hashes,
-- signatures and log leaves stay valid; new rows are written under
-- battledger.origin, in chains of their own (docs/consortium.md).
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER EVENT TRIGGER battledger_drop_guard DISABLE;
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT l.tbl, l.chain_by, l.signer_roles, l.chain_index, c.relnamespace::regnamespace AS nsp
               FROM @extschema@.ledger_tables l JOIN pg_catalog.pg_class c ON c.oid = l.tbl LOOP
        EXECUTE format('ALTER TABLE %s ADD COLUMN ledger_origin text COLLATE "C" NOT NULL DEFAULT ''''', t.tbl);
        EXECUTE format('ALTER TABLE %s ALTER COLUMN ledger_origin DROP DEFAULT', t.tbl);
        EXECUTE format('DROP INDEX %s.%I', t.nsp, t.chain_index);
        IF t.chain_by IS NOT NULL THEN
            EXECUTE format('CREATE UNIQUE INDEX %I ON %s (%I, ledger_origin, ledger_seq)', t.chain_index, t.tbl, t.chain_by);
        ELSE
            EXECUTE format('CREATE UNIQUE INDEX %I ON %s (ledger_origin, ledger_seq)', t.chain_index, t.tbl);
        END IF;
        EXECUTE format('CREATE TRIGGER zz_battledger_arrive BEFORE INSERT ON %s FOR EACH ROW '
                       'EXECUTE FUNCTION @extschema@._arrive_trigger(%L, %L)', t.tbl, coalesce(t.chain_by, ''),
                       coalesce(t.signer_roles::text, ''));
        EXECUTE format('ALTER TABLE %s ENABLE REPLICA TRIGGER zz_battledger_arrive', t.tbl);
    END LOOP;
END $$;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
ALTER EVENT TRIGGER battledger_drop_guard ENABLE ALWAYS;

-- a member's latest roles: by time, since its events may come from several members' chains
CREATE OR REPLACE VIEW @extschema@.members AS
    SELECT DISTINCT ON (member) member, roles, at AS since
      FROM @extschema@.member_event ORDER BY member, at DESC, ledger_origin DESC, ledger_seq DESC;
CREATE OR REPLACE FUNCTION @extschema@.lot_available_kg(lot text) RETURNS numeric
    LANGUAGE sql STABLE AS $$
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

CREATE OR REPLACE FUNCTION @extschema@.lot_custodian(lot text) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT s.member FROM @extschema@.lot_event e, @extschema@._signer(e.ledger_key_id) s
     WHERE e.lot_id = lot AND e.event IN ('extracted', 'processed', 'secondary_created', 'received')
     ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1
$$;

CREATE OR REPLACE FUNCTION @extschema@._lot_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
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

CREATE OR REPLACE FUNCTION @extschema@.battery_state(battery @extschema@.battery_id,
                                          OUT manufactured boolean, OUT status text, OUT passport_id text)
    LANGUAGE sql STABLE AS $$
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

CREATE OR REPLACE FUNCTION @extschema@.passport(battery @extschema@.battery_id, tier text DEFAULT 'public')
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog SET jit = off AS $$
DECLARE
    st record;
    made @extschema@.battery_event;
    model @extschema@.battery_model;
    v jsonb;
    dyn jsonb;
    history jsonb;
    service timestamptz;
BEGIN
    IF tier NOT IN ('public', 'legitimate_interest', 'authority') THEN
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

CREATE OR REPLACE FUNCTION @extschema@.battery_history(battery @extschema@.battery_id)
    RETURNS TABLE (seq bigint, event text, occurred_at timestamptz, signer text, new_status text,
                   passport_id text, ledger_hash @extschema@.hash256, leaf_index bigint, sealed boolean)
    LANGUAGE sql STABLE SET search_path = pg_catalog SET jit = off AS $$
    SELECT e.ledger_seq, e.event, e.occurred_at, k.member,
           e.new_status, e.passport_id, e.ledger_hash, l.leaf_index, l.leaf_index IS NOT NULL
      FROM @extschema@.battery_event e
      LEFT JOIN @extschema@.key_event k ON k.key_id OPERATOR(@extschema@.=) e.ledger_key_id AND k.event = 'added'
      LEFT JOIN @extschema@.log_leaf l ON l.tbl = '@extschema@.battery_event'
                                      AND l.row_hash OPERATOR(@extschema@.=) e.ledger_hash
     WHERE e.battery_id OPERATOR(@extschema@.=) battery
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq
$$;

-- A battery's events are ordered by (ledger_at, ledger_origin, ledger_seq) once
-- several members write them (the functions above, replaced from the install parts).
DROP INDEX @extschema@.battery_event_state;
CREATE INDEX battery_event_state ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event IN ('manufactured', 'placed_on_market', 'status_changed', 'recycled');
CREATE INDEX battery_event_usage ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event = 'soh_reported';

-----------------------------------------------------------------------------
-- Consortium (docs/consortium.md): each member publishes its own rows and log
-- by logical replication and subscribes to every other member; arriving rows
-- are checked (src/arrive.c), arriving checkpoints witnessed (src/witness.c).
-----------------------------------------------------------------------------
CREATE TABLE @extschema@.consortium_member (
    origin       text COLLATE "C" PRIMARY KEY,  -- the member's battledger.origin
    subscription name NOT NULL UNIQUE,
    log_vkey     text NOT NULL,                 -- verifies its checkpoints
    witness_vkey text,                          -- verifies its cosignatures
    joined_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.consortium_member IS 'the members this database subscribes to, with the keys pinned at join';

-- Other members' logs, as verified here; the local log stays in log_leaf/checkpoint.
CREATE TABLE @extschema@.peer_leaf (
    origin     text COLLATE "C" NOT NULL,
    leaf_index bigint NOT NULL,
    tbl        text NOT NULL,
    seq        bigint NOT NULL,
    prev       @extschema@.hash256 NOT NULL,
    row_hash   @extschema@.hash256 NOT NULL,
    leaf_hash  @extschema@.hash256 NOT NULL,
    PRIMARY KEY (origin, leaf_index)
);
CREATE TABLE @extschema@.peer_checkpoint (
    origin      text COLLATE "C" NOT NULL,
    tree_size   bigint NOT NULL,
    root        @extschema@.hash256 NOT NULL,
    note        text NOT NULL,
    frontier    bytea,          -- compact range at tree_size; NULL until verified (copied at join)
    verified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (origin, tree_size)
);
-- Evidence: a member signed a checkpoint that contradicts one verified before.
CREATE TABLE @extschema@.log_conflict (
    origin      text COLLATE "C" NOT NULL,
    problem     text NOT NULL,
    detail      text NOT NULL,
    held_note   text,           -- the last checkpoint verified
    new_note    text NOT NULL,  -- the contradicting one, signed by the same log key
    detected_at timestamptz NOT NULL DEFAULT now()
);
-- tlog-cosignature/v1 lines, by this member's witness (published) and others' (received).
CREATE TABLE @extschema@.cosignature (
    log_origin  text COLLATE "C" NOT NULL,
    tree_size   bigint NOT NULL,
    root        @extschema@.hash256 NOT NULL,
    witness     text COLLATE "C" NOT NULL,
    cosigned_at bigint NOT NULL,     -- seconds since the Unix epoch, as signed
    line        text NOT NULL,       -- the signature line to append to the checkpoint note
    PRIMARY KEY (log_origin, tree_size, witness)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consortium_member', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.peer_leaf', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.peer_checkpoint', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.log_conflict', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.cosignature', '');
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.peer_leaf
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.peer_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.log_conflict
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
CREATE TRIGGER battledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON @extschema@.cosignature
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._refuse_trigger();
ALTER TABLE @extschema@.peer_leaf ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE @extschema@.peer_checkpoint ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE @extschema@.log_conflict ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE @extschema@.cosignature ENABLE ALWAYS TRIGGER battledger_append_only;
REVOKE ALL ON @extschema@.consortium_member, @extschema@.peer_leaf, @extschema@.peer_checkpoint,
              @extschema@.log_conflict, @extschema@.cosignature FROM PUBLIC;
GRANT SELECT ON @extschema@.consortium_member, @extschema@.peer_leaf, @extschema@.peer_checkpoint,
                @extschema@.log_conflict, @extschema@.cosignature TO PUBLIC;

-- Arriving log rows are diverted into the peer tables (ENABLE REPLICA: they
-- fire only in the apply worker, or for a superuser who asks for replica role).
CREATE FUNCTION @extschema@._peer_leaf_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_peer_leaf_trigger' LANGUAGE C;
CREATE FUNCTION @extschema@._peer_checkpoint_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_peer_checkpoint_trigger' LANGUAGE C;
CREATE FUNCTION @extschema@._cosignature_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_cosignature_trigger' LANGUAGE C;
CREATE TRIGGER zz_battledger_arrive BEFORE INSERT ON @extschema@.log_leaf
    FOR EACH ROW EXECUTE FUNCTION @extschema@._peer_leaf_trigger();
CREATE TRIGGER zz_battledger_arrive BEFORE INSERT ON @extschema@.checkpoint
    FOR EACH ROW EXECUTE FUNCTION @extschema@._peer_checkpoint_trigger();
CREATE TRIGGER zz_battledger_arrive BEFORE INSERT ON @extschema@.cosignature
    FOR EACH ROW EXECUTE FUNCTION @extschema@._cosignature_trigger();
ALTER TABLE @extschema@.log_leaf ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER TABLE @extschema@.checkpoint ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER TABLE @extschema@.cosignature ENABLE REPLICA TRIGGER zz_battledger_arrive;

CREATE FUNCTION @extschema@.witness_vkey() RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_witness_vkey' LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@.witness_vkey() IS
    'this member''s witness verifier key (tlog-cosignature/v1), from battledger.witness_key_file';
CREATE FUNCTION @extschema@._vkey_name(vkey text, alg int) RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_vkey_name' LANGUAGE C IMMUTABLE STRICT;
CREATE FUNCTION @extschema@._peer_root(origin text, tree_size bigint) RETURNS @extschema@.hash256
    AS 'MODULE_PATHNAME', 'battledger_peer_root' LANGUAGE C STABLE STRICT;

CREATE FUNCTION @extschema@._rejection_lines() RETURNS SETOF jsonb
    AS 'MODULE_PATHNAME', 'battledger_rejection_lines' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@._rejection_lines() FROM PUBLIC;
CREATE VIEW @extschema@.rejections AS
    SELECT pg_catalog.to_timestamp((j->>'at')::float8) AS at, j->>'subscription' AS subscription, j->>'origin' AS origin,
           j->>'table' AS tbl, (j->>'seq')::bigint AS seq, j->>'problem' AS problem,
           j->>'detail' AS detail, j->'row' AS row_data
      FROM @extschema@._rejection_lines() j
     WHERE j->>'database' = pg_catalog.current_database();
COMMENT ON VIEW @extschema@.rejections IS
    'rows and checkpoints refused on arrival from other members (kept in pg_battledger/rejections: the refusal rolls back the transaction)';
REVOKE ALL ON @extschema@.rejections FROM PUBLIC;

-- The publication: this member's own ledger rows, its log, its cosignatures.
CREATE FUNCTION @extschema@.publish_member() RETURNS text
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    me text := pg_catalog.current_setting('battledger.origin', true);
    tables text;
BEGIN
    IF coalesce(me, '') = '' THEN
        RAISE EXCEPTION 'battledger.origin is not set'
            USING ERRCODE = '55000',
                  HINT = 'Name this member first, e.g. ALTER SYSTEM SET battledger.origin = ''oem.example/batteries''.';
    END IF;
    IF pg_catalog.current_setting('wal_level') <> 'logical' THEN
        RAISE EXCEPTION 'wal_level is %, not logical', pg_catalog.current_setting('wal_level')
            USING ERRCODE = '55000', HINT = 'Set wal_level = logical and restart the server.';
    END IF;
    SELECT string_agg(format('%s WHERE (ledger_origin = %L)', l.tbl, me), ', ' ORDER BY l.tbl::text)
      INTO tables FROM @extschema@.ledger_tables l;
    tables := tables || ', @extschema@.log_leaf, @extschema@.checkpoint, '
              || format('@extschema@.cosignature WHERE (witness = %L)', me);
    IF EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'battledger_member') THEN
        EXECUTE 'ALTER PUBLICATION battledger_member SET TABLE ' || tables;
    ELSE
        EXECUTE 'CREATE PUBLICATION battledger_member FOR TABLE ' || tables || ' WITH (publish = ''insert'')';
    END IF;
    RETURN 'battledger_member';
END $$;
COMMENT ON FUNCTION @extschema@.publish_member() IS
    'create (or bring up to date with the ledger tables) the publication battledger_member: this member''s rows, log and cosignatures, inserts only';
REVOKE ALL ON FUNCTION @extschema@.publish_member() FROM PUBLIC;

-- The subscription (and replication slot) subscriber uses for publisher's rows:
-- readable, and unique on the publisher, whose slots are named by subscriber and publisher.
CREATE FUNCTION @extschema@._slot_name(subscriber text, publisher text) RETURNS name
    LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog AS $$
    SELECT (left('bl_' || regexp_replace(lower(subscriber), '[^a-z0-9]+', '_', 'g'), 24) || '_'
            || left(md5(subscriber || ' ' || publisher), 8) || '_'
            || left(regexp_replace(lower(publisher), '[^a-z0-9]+', '_', 'g'), 24))::name
$$;

-- Pins the member's keys and returns the CREATE SUBSCRIPTION to run (\gexec in
-- psql): it cannot run inside a function, as it creates a replication slot.
CREATE FUNCTION @extschema@.join(origin text, conninfo text, log_vkey text, witness_vkey text DEFAULT NULL)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    me text := pg_catalog.current_setting('battledger.origin', true);
    sub name;
BEGIN
    IF coalesce(me, '') = '' THEN
        RAISE EXCEPTION 'battledger.origin is not set' USING ERRCODE = '55000';
    END IF;
    IF origin IS NULL OR conninfo IS NULL OR log_vkey IS NULL THEN
        RAISE EXCEPTION 'origin, conninfo and log_vkey are required' USING ERRCODE = '22004';
    END IF;
    IF origin = me THEN
        RAISE EXCEPTION 'a member does not join itself' USING ERRCODE = '22023';
    END IF;
    IF @extschema@._vkey_name(log_vkey, 1) IS DISTINCT FROM origin THEN
        RAISE EXCEPTION 'log_vkey is not an Ed25519 verifier key named "%"', origin
            USING ERRCODE = '22023',
                  DETAIL = 'A log key is named by its origin: <origin>+<key id>+<key>.',
                  HINT = 'Ask the member for SELECT battledger.log_vkey().';
    END IF;
    IF witness_vkey IS NOT NULL AND @extschema@._vkey_name(witness_vkey, 4) IS DISTINCT FROM origin THEN
        RAISE EXCEPTION 'witness_vkey is not a cosignature/v1 verifier key named "%"', origin
            USING ERRCODE = '22023', HINT = 'Ask the member for SELECT battledger.witness_vkey().';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.consortium_member m WHERE m.origin = $1) THEN
        RAISE EXCEPTION 'member "%" has joined already', origin
            USING ERRCODE = '42710',
                  DETAIL = 'Its keys are pinned in battledger.consortium_member.',
                  HINT = 'To change them, drop its subscription and delete its row from battledger.consortium_member first.';
    END IF;
    sub := @extschema@._slot_name(me, origin);
    INSERT INTO @extschema@.consortium_member (origin, subscription, log_vkey, witness_vkey)
    VALUES ($1, sub, $3, $4);
    -- not disable_on_error: on PostgreSQL 15 it also stops the subscription
    -- when the member merely restarts; a refused row stops it (src/arrive.c)
    RETURN format('CREATE SUBSCRIPTION %I CONNECTION %L PUBLICATION battledger_member '
                  'WITH (copy_data = true, slot_name = %L)', sub, conninfo, sub);
END $$;
COMMENT ON FUNCTION @extschema@.join(text, text, text, text) IS
    'record a member and its keys; returns the CREATE SUBSCRIPTION to run next (psql: \gexec)';
REVOKE ALL ON FUNCTION @extschema@.join(text, text, text, text) FROM PUBLIC;

-- One line per member: replication, its log as witnessed here, cosignatures.
CREATE FUNCTION @extschema@.consortium_status()
    RETURNS TABLE (member text, subscription name, enabled boolean, received_lsn pg_lsn,
                   last_message timestamptz, apply_errors bigint, their_lag_bytes numeric,
                   checkpoint_size bigint,
                   checkpoint_verified_at timestamptz, state text, rejected bigint,
                   cosigned_by_me bigint, my_latest_cosigned_by_them bigint)
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT m.origin, m.subscription, s.subenabled, st.received_lsn, st.last_msg_receipt_time,
           coalesce(ss.apply_error_count, 0) + coalesce(ss.sync_error_count, 0),
           -- how far the member is behind this member's WAL, from its slot here
           (SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.confirmed_flush_lsn)
              FROM pg_catalog.pg_replication_slots r
             WHERE r.slot_name = @extschema@._slot_name(m.origin, pg_catalog.current_setting('battledger.origin', true))),
           pc.tree_size, pc.verified_at,
           CASE WHEN s.oid IS NULL THEN 'no subscription'
                WHEN EXISTS (SELECT 1 FROM @extschema@.log_conflict c WHERE c.origin = m.origin) THEN 'log conflict'
                WHEN NOT s.subenabled THEN 'stopped'
                ELSE 'ok' END,
           (SELECT count(*) FROM @extschema@.rejections r WHERE r.origin = m.origin),
           (SELECT max(c.tree_size) FROM @extschema@.cosignature c
             WHERE c.log_origin = m.origin AND c.witness = pg_catalog.current_setting('battledger.origin', true)),
           (SELECT max(c.tree_size) FROM @extschema@.cosignature c
             WHERE c.log_origin = pg_catalog.current_setting('battledger.origin', true) AND c.witness = m.origin)
      FROM @extschema@.consortium_member m
      LEFT JOIN pg_subscription s ON s.subname = m.subscription AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL
      LEFT JOIN pg_stat_subscription_stats ss ON ss.subid = s.oid
      LEFT JOIN LATERAL (SELECT p.tree_size, p.verified_at FROM @extschema@.peer_checkpoint p
                          WHERE p.origin = m.origin ORDER BY p.tree_size DESC LIMIT 1) pc ON true
     ORDER BY m.origin
$$;
COMMENT ON FUNCTION @extschema@.consortium_status() IS
    'for each member: subscription state, how far it is behind this member''s WAL, last checkpoint verified, rejections, cosignatures both ways';
REVOKE ALL ON FUNCTION @extschema@.consortium_status() FROM PUBLIC;

-- Everything this member holds of another: chains, leaves against rows, checkpoints.
CREATE FUNCTION @extschema@.verify_member(member text)
    RETURNS TABLE (tbl text, problem text, detail text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
    t record;
    n bigint;
    cp record;
BEGIN
    FOR t IN SELECT l.tbl FROM @extschema@.ledger_tables l ORDER BY l.tbl::text LOOP
        RETURN QUERY SELECT t.tbl::text, v.problem, coalesce(v.chain_key || ': ', '') || v.detail
                       FROM @extschema@.verify(t.tbl, member) v;
    END LOOP;
    -- every leaf names a row received from the member (leaves name tables as text:
    -- only this database's ledger tables are looked into)
    FOR t IN SELECT DISTINCT p.tbl, l.rel FROM @extschema@.peer_leaf p
               LEFT JOIN (SELECT lt.tbl AS rel, n.nspname || '.' || c.relname AS qualname
                            FROM @extschema@.ledger_tables lt
                            JOIN pg_class c ON c.oid = lt.tbl JOIN pg_namespace n ON n.oid = c.relnamespace) l
                 ON l.qualname = p.tbl
              WHERE p.origin = member LOOP
        IF t.rel IS NULL THEN
            RETURN QUERY SELECT t.tbl, 'unknown_table'::text, 'The member''s log names a table that is not a ledger table here.'::text;
            CONTINUE;
        END IF;
        EXECUTE format('SELECT count(*) FROM @extschema@.peer_leaf p WHERE p.origin = $1 AND p.tbl = $2 '
                       'AND NOT EXISTS (SELECT 1 FROM %s r WHERE r.ledger_origin = p.origin '
                       'AND r.ledger_seq = p.seq AND r.ledger_hash OPERATOR(@extschema@.=) p.row_hash)', t.rel)
            INTO n USING member, t.tbl;
        IF n > 0 THEN
            RETURN QUERY SELECT t.tbl, 'leaf_without_row'::text, format('%s leaves name rows not received.', n);
        END IF;
    END LOOP;
    -- the latest checkpoint is the tree of the stored leaves
    SELECT p.tree_size, p.root INTO cp FROM @extschema@.peer_checkpoint p
     WHERE p.origin = member ORDER BY p.tree_size DESC LIMIT 1;
    IF FOUND AND @extschema@._peer_root(member, cp.tree_size)::text IS DISTINCT FROM cp.root::text THEN
        RETURN QUERY SELECT NULL::text, 'root_mismatch'::text,
                            format('The stored leaves do not give the root of checkpoint %s.', cp.tree_size);
    END IF;
END $$;
COMMENT ON FUNCTION @extschema@.verify_member(text) IS
    'check everything received from a member: its chains, that its leaves name rows received, its latest checkpoint''s root';
