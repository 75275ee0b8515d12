-- 0.2.0 -> 0.3.0: the trust boundary (docs/security.md).  No row, hash,
-- signature or log leaf changes; functions, privileges and guards do.

-- Every function pins its search_path, with pg_temp last (unlisted, pg_temp
-- is searched first for relation names, ahead of pg_catalog).
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_catalog.pg_proc p
               JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                                           AND d.objid = p.oid AND d.deptype = 'e'
              WHERE d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'battledger')
                AND 'search_path=pg_catalog' = ANY (p.proconfig) LOOP
        EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', f);
    END LOOP;
END $$;
ALTER FUNCTION @extschema@.member_roles() SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.leaf_index(regclass, @extschema@.hash256) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.status_move_allowed(text, text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@._signer(@extschema@.hash256) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@._refuse(text, text, text, text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.lot_available_kg(text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.lot_custodian(text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.battery_state(@extschema@.battery_id) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@._attr(anyelement, text, timestamptz, @extschema@.battery_event) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@._rated(numeric, text) SET search_path = pg_catalog, @extschema@, pg_temp;

-- Only _register() attaches the ledger triggers, as the extension's owner.
REVOKE ALL ON FUNCTION @extschema@._chain_trigger(), @extschema@._refuse_trigger(),
    @extschema@._arrive_trigger(), @extschema@._log_trigger() FROM PUBLIC;

-- _register() becomes C (src/enable.c): it creates the triggers itself.

-- consortium_status() gains a reason column (a new result type)
DROP FUNCTION @extschema@.consortium_status();
-- verify_log() gains log_vkey (check signatures with the published key)
DROP FUNCTION @extschema@.verify_log(boolean);
-----------------------------------------------------------------------------
-- enable_ledger() and the registration it ends with (CREATE OR REPLACE: the
-- upgrade scripts load this file too)
-----------------------------------------------------------------------------
-- The last step of enable_ledger() (src/enable.c): checks the prepared table
-- and, as the extension's owner, creates the ledger triggers and registers it.
-- Executable by every role, so that a table's owner can run enable_ledger():
-- it checks everything itself, so that calling it directly can make nothing
-- but a genuine, empty ledger table of the caller's own.
CREATE OR REPLACE FUNCTION @extschema@._register(tbl regclass, chain_by name, chain_index name, signer_roles text[])
    RETURNS void AS 'MODULE_PATHNAME', 'battledger_register' LANGUAGE C;
GRANT EXECUTE ON FUNCTION @extschema@._register(regclass, name, name, text[]) TO PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.enable_ledger(tbl regclass, chain_by name DEFAULT NULL,
                                          signed boolean DEFAULT false, signer_roles text[] DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
    -- the triggers, and the registration that makes them mean something
    PERFORM @extschema@._register(tbl, chain_by, idx, signer_roles);
END $$;
COMMENT ON FUNCTION @extschema@.enable_ledger(regclass, name, boolean, text[]) IS
    'make an empty table an append-only, hash-chained ledger table (one chain per chain_by value), optionally signed';

CREATE OR REPLACE FUNCTION @extschema@._drop_guard() RETURNS event_trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
BEGIN
    IF to_regclass('@extschema@.ledger_tables') IS NULL THEN
        RETURN;   -- the extension itself is being dropped
    END IF;
    FOR r IN
        SELECT d.object_type, d.object_identity
          FROM pg_event_trigger_dropped_objects() d
         -- the table, or one of its columns (dropped through a type, domain or collation's CASCADE)
         WHERE (d.classid = 'pg_class'::regclass
                AND d.objid IN (SELECT l.tbl::oid FROM @extschema@.ledger_tables l))
            OR (d.object_type = 'index'
                AND (d.schema_name, d.object_name) IN
                    (SELECT n.nspname, l.chain_index
                       FROM @extschema@.ledger_tables l
                       JOIN pg_class c ON c.oid = l.tbl
                       JOIN pg_namespace n ON n.oid = c.relnamespace))
            OR (d.object_type = 'trigger'
                AND split_part(d.object_identity, ' on ', 1) IN ('zz_battledger_chain', 'battledger_append_only', 'battledger_log',
                                                                 'zz_battledger_arrive')
                AND to_regclass(substr(d.object_identity, strpos(d.object_identity, ' on ') + 4))::oid
                    IN (SELECT l.tbl::oid FROM @extschema@.ledger_tables l))
    LOOP
        RAISE EXCEPTION 'cannot drop % %', r.object_type, r.object_identity
            USING ERRCODE = 'BL002',
                  DETAIL = 'Ledger tables, their chain indexes and their ledger triggers are permanent.',
                  HINT = 'Ledger history is never deleted; stop writing to the table instead.';
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.verify_log(check_rows boolean DEFAULT true, log_vkey text DEFAULT NULL)
    RETURNS TABLE (problem text, ref bigint, detail text)
    AS 'MODULE_PATHNAME', 'battledger_verify_log' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.verify_log(boolean, text) IS
    'recompute the tree from the leaves, check every stored node and checkpoint (signatures against log_vkey, the published verifier key, else the log key file), and (check_rows) every ledger row against its leaf';
CREATE OR REPLACE FUNCTION @extschema@.passport(battery @extschema@.battery_id, tier text DEFAULT 'public')
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

CREATE OR REPLACE FUNCTION @extschema@.verify_member(member text)
    RETURNS TABLE (tbl text, problem text, detail text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
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
    -- a row signed with a key since revoked, dated before the revocation, is
    -- proven only by another witness's cosignature, made before the revocation,
    -- of a checkpoint covering its leaf: the signer alone can date a row as it
    -- likes (a new chain has no predecessor to bound it), not a witness's
    -- signed timestamp (docs/signatures.md, "Time and revocation")
    FOR t IN SELECT l.tbl, n.nspname || '.' || c.relname AS qualname FROM @extschema@.ledger_tables l
               JOIN pg_class c ON c.oid = l.tbl JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE l.signer_roles IS NOT NULL ORDER BY l.tbl::text LOOP
        EXECUTE format('SELECT count(*) FROM ONLY %s r JOIN @extschema@.keys k ON k.key_id OPERATOR(@extschema@.=) r.ledger_key_id '
                       'WHERE r.ledger_origin = $1 AND k.revoked_at IS NOT NULL AND r.ledger_at < k.revoked_at '
                       'AND NOT EXISTS (SELECT 1 FROM @extschema@.peer_leaf p JOIN @extschema@.cosignature s '
                       '                  ON s.log_origin = p.origin AND s.tree_size > p.leaf_index '
                       '                WHERE p.origin = $1 AND p.tbl = $2 AND p.seq = r.ledger_seq '
                       '                  AND p.row_hash OPERATOR(@extschema@.=) r.ledger_hash '
                       '                  AND s.witness <> $1 AND s.cosigned_at < extract(epoch FROM k.revoked_at) '
                       -- a cosignature of the tree this member verified, not of another tree of that size
                       '                  AND s.root OPERATOR(@extschema@.=) (SELECT pc.root FROM @extschema@.peer_checkpoint pc '
                       '                                                     WHERE pc.origin = $1 AND pc.tree_size = s.tree_size))', t.tbl)
            INTO n USING member, t.qualname;
        IF n > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'revoked_key_unproven'::text,
                format('%s rows signed with a key since revoked, dated before the revocation, are not covered by a checkpoint another witness cosigned before it.', n);
        END IF;
    END LOOP;
    -- what the arrival check leaves to this function for rows copied at a join
    -- (keys, roles and batches may arrive after the rows that need them), and
    -- what verify() does not check for rows of a batch: the signer's role at
    -- ledger_at, the key's validity at ledger_at, the batch naming this table
    -- and this key
    FOR t IN SELECT l.tbl, l.signer_roles FROM @extschema@.ledger_tables l
              WHERE l.signer_roles IS NOT NULL ORDER BY l.tbl::text LOOP
        EXECUTE format('SELECT count(*) FILTER (WHERE NOT coalesce(ra.roles && $2, false)) AS n_role, '
                       '       count(*) FILTER (WHERE r.ledger_batch IS NOT NULL AND (k.key_id IS NULL '
                       '           OR r.ledger_at < k.valid_from OR r.ledger_at >= coalesce(k.valid_until, ''infinity'') '
                       '           OR r.ledger_at >= coalesce(k.revoked_at, ''infinity''))) AS n_key, '
                       '       count(*) FILTER (WHERE r.ledger_batch IS NOT NULL AND NOT EXISTS (SELECT 1 FROM @extschema@.batch b '
                       '           WHERE b.batch_id = r.ledger_batch AND pg_catalog.to_regclass(b.tbl) = $3 '
                       '             AND b.key_id OPERATOR(@extschema@.=) r.ledger_key_id)) AS n_batch '
                       'FROM ONLY %s r LEFT JOIN @extschema@.keys k ON k.key_id OPERATOR(@extschema@.=) r.ledger_key_id '
                       'LEFT JOIN LATERAL (SELECT e.roles FROM @extschema@.member_event e '
                       '                    WHERE e.member = k.member AND e.at <= r.ledger_at '
                       '                    ORDER BY e.at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1) ra ON true '
                       'WHERE r.ledger_origin = $1', t.tbl)
            INTO cp USING member, t.signer_roles, t.tbl;
        IF cp.n_role > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'wrong_role'::text,
                format('%s rows are signed by a key whose member held none of the table''s roles at the row''s time.', cp.n_role);
        END IF;
        IF cp.n_key > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'batch_key_invalid'::text,
                format('%s rows of batches are signed by a key unknown, not valid or revoked at the row''s time.', cp.n_key);
        END IF;
        IF cp.n_batch > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'batch_mismatch'::text,
                format('%s rows name a batch that is missing, for another table, or signed by another key.', cp.n_batch);
        END IF;
    END LOOP;
    -- rows held back from a quarantined chain are not here yet
    RETURN QUERY SELECT h.tbl, 'held_back'::text,
                        pg_catalog.format('%s rows of chain %s held back by a quarantine.', count(*), coalesce(h.chain_key, '(every chain)'))
                   FROM @extschema@.held_row h WHERE h.origin = member GROUP BY h.tbl, h.chain_key ORDER BY 1, 3;
    -- the latest checkpoint is the tree of the stored leaves
    SELECT p.tree_size, p.root INTO cp FROM @extschema@.peer_checkpoint p
     WHERE p.origin = member ORDER BY p.tree_size DESC LIMIT 1;
    IF FOUND AND @extschema@._peer_root(member, cp.tree_size)::text IS DISTINCT FROM cp.root::text THEN
        RETURN QUERY SELECT NULL::text, 'root_mismatch'::text,
                            format('The stored leaves do not give the root of checkpoint %s.', cp.tree_size);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.consortium_status()
    RETURNS TABLE (member text, subscription name, enabled boolean, received_lsn pg_lsn,
                   last_message timestamptz, apply_errors bigint, their_lag_bytes numeric,
                   checkpoint_size bigint,
                   checkpoint_verified_at timestamptz, state text, reason text, rejected bigint,
                   cosigned_by_me bigint, my_latest_cosigned_by_them bigint)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT m.origin, m.subscription, s.subenabled, st.received_lsn, st.last_msg_receipt_time,
           coalesce(ss.apply_error_count, 0) + coalesce(ss.sync_error_count, 0),
           -- how far the member is behind this member's WAL, from its slot here
           (SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.confirmed_flush_lsn)
              FROM pg_catalog.pg_replication_slots r
             WHERE r.slot_name = @extschema@._slot_name(m.origin, pg_catalog.current_setting('battledger.origin', true))),
           pc.tree_size, pc.verified_at,
           f.state, f.reason,
           (SELECT count(*) FROM @extschema@.rejections r WHERE r.origin = m.origin),
           (SELECT max(c.tree_size) FROM @extschema@.cosignature c
             WHERE c.log_origin = m.origin AND c.witness = pg_catalog.current_setting('battledger.origin', true)),
           (SELECT max(c.tree_size) FROM @extschema@.cosignature c
             WHERE c.log_origin = pg_catalog.current_setting('battledger.origin', true) AND c.witness = m.origin)
      FROM @extschema@.consortium_member m
      LEFT JOIN pg_subscription s ON s.subname = m.subscription AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL
      LEFT JOIN pg_stat_subscription_stats ss ON ss.subid = s.oid
      LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE r.srsubstate <> 'r') AS copying
                           FROM pg_subscription_rel r WHERE r.srsubid = s.oid) sr ON true
      LEFT JOIN LATERAL (SELECT p.tree_size, p.verified_at FROM @extschema@.peer_checkpoint p
                          WHERE p.origin = m.origin ORDER BY p.tree_size DESC LIMIT 1) pc ON true
      CROSS JOIN LATERAL (SELECT * FROM (VALUES
           (1, s.oid IS NULL, 'no subscription', 'Run the CREATE SUBSCRIPTION that battledger.join() returned.'),
           (2, EXISTS (SELECT 1 FROM @extschema@.log_conflict c WHERE c.origin = m.origin), 'log conflict',
               'The member published a checkpoint that contradicts one verified before: see battledger.log_conflict.'),
           (3, NOT s.subenabled, 'stopped',
               CASE WHEN EXISTS (SELECT 1 FROM @extschema@.rejections r WHERE r.origin = m.origin)
                    THEN 'A row from the member was refused: see battledger.rejections.'
                    ELSE 'The subscription is disabled.' END),
           (4, sr.copying > 0 AND coalesce(ss.sync_error_count, 0) > 0, 'copy failing',
               pg_catalog.format('%s tables not copied yet; %s copy errors (server log).', sr.copying, ss.sync_error_count)),
           (5, sr.copying > 0, 'copying', pg_catalog.format('%s tables not copied yet.', sr.copying)),
           (6, st.pid IS NULL AND coalesce(ss.apply_error_count, 0) > 0, 'failing',
               pg_catalog.format('No apply worker runs; %s apply errors (the member down, its slot lost, or a row refused: server log).',
                                 ss.apply_error_count)),
           (7, st.pid IS NULL, 'not connected', 'No apply worker runs for the subscription.'),
           (8, st.received_lsn IS NULL OR st.last_msg_receipt_time
                   < pg_catalog.now() - 2 * NULLIF(pg_catalog.current_setting('wal_receiver_timeout'), '0')::interval, 'silent',
               'The apply worker has heard nothing from the member for twice wal_receiver_timeout.'),
           (9, EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin), 'quarantined',
               pg_catalog.format('%s chains held back, %s rows held: see battledger.quarantine and battledger.held_row.',
                                 (SELECT count(*) FROM @extschema@.quarantine q WHERE q.origin = m.origin),
                                 (SELECT count(*) FROM @extschema@.held_row h WHERE h.origin = m.origin))),
           (10, true, 'ok', NULL)) v(rank, holds, state, reason)
         WHERE v.holds ORDER BY v.rank LIMIT 1) f
     ORDER BY m.origin
$$;


-- The DDL guard watches objects, not command tags: more tags reach it.
DROP EVENT TRIGGER battledger_ddl_guard;
CREATE EVENT TRIGGER battledger_ddl_guard ON ddl_command_start
    -- by object, not by command: ALTER INDEX/VIEW/SEQUENCE ... can name a table too
    WHEN TAG IN ('ALTER TABLE', 'ALTER TRIGGER', 'CREATE TABLE', 'ALTER SCHEMA', 'ALTER INDEX', 'ALTER VIEW',
                 'ALTER SEQUENCE', 'ALTER MATERIALIZED VIEW', 'ALTER FOREIGN TABLE', 'CREATE TRIGGER',
                 'DROP INDEX', 'DROP EXTENSION', 'DROP SCHEMA', 'CREATE RULE')
    EXECUTE FUNCTION @extschema@._ddl_guard();
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;

-- verify_log() reads the queue to tell queued rows from rows added behind the guards
GRANT SELECT ON @extschema@.log_pending TO PUBLIC;

-- Signing bytes and batch manifests v2 name the table (docs/encoding.md):
-- rows and batches of existing signed tables dated before now keep verifying
-- under v1; everything written from now on is v2.
ALTER TABLE @extschema@.ledger_tables ADD COLUMN signed_v1_before timestamptz;
UPDATE @extschema@.ledger_tables SET signed_v1_before = pg_catalog.now() WHERE signer_roles IS NOT NULL;
COMMENT ON FUNCTION @extschema@.signing_bytes(record) IS
    'the bytes a member signs (v2): the table''s name, then row content with ledger_key_id and ledger_batch, without chain fields, ledger_sig and ledger_at';
CREATE FUNCTION @extschema@.signing_bytes(record, regclass) RETURNS bytea
    AS 'MODULE_PATHNAME', 'battledger_signing_bytes_for' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.signing_bytes(record, regclass) IS
    'signing bytes (v2) of a row built in another shape, for the ledger table given';
CREATE FUNCTION @extschema@.signing_bytes_v1(record) RETURNS bytea
    AS 'MODULE_PATHNAME', 'battledger_signing_bytes_v1' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.signing_bytes_v1(record) IS
    'signing bytes v1 (no table name): what rows signed before 0.3.0 were signed over';
COMMENT ON FUNCTION @extschema@.batch_manifest(text, bigint, @extschema@.hash256) IS
    'manifest v1 (no table), what batches filed before 0.3.0 were signed over: "battledger batch v1\n" || batch_id || "\n" || u64 count || root';
CREATE FUNCTION @extschema@.batch_manifest(tbl regclass, batch_id text, row_count bigint, root @extschema@.hash256)
    RETURNS bytea AS 'MODULE_PATHNAME', 'battledger_batch_manifest_v2' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.batch_manifest(regclass, text, bigint, @extschema@.hash256) IS
    'the bytes a member signs for a batch (v2): "battledger batch v2\n" || u16 length || table || batch_id || "\n" || u64 count || root';

COMMENT ON FUNCTION @extschema@.consortium_status() IS
    'for each member: subscription state and its reason (read from pg_stat_subscription, pg_subscription_rel, apply errors, conflicts), how far it is behind this member''s WAL, last checkpoint verified, rejections, cosignatures both ways';
REVOKE ALL ON FUNCTION @extschema@.consortium_status() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.verify_log(boolean, text) IS
    'recompute the tree from the leaves, check every stored node and checkpoint (signatures against log_vkey, the published verifier key, else the log key file), and (check_rows) every ledger row against its leaf';
COMMENT ON FUNCTION @extschema@.row_bytes(record) IS
    'canonical, settings-independent bytes of a row''s content: NULLs and the chain columns (ledger_seq, ledger_prev, ledger_hash) left out; ledger_origin in, unless empty';
COMMENT ON VIEW @extschema@.rejections IS
    'rows and checkpoints refused by the arrival checks: from other members, re-checked by release_chain(), or written locally as replicated rows (kept in pg_battledger/rejections, cluster-wide: the refusal rolls back the transaction)';
-----------------------------------------------------------------------------
-- Quarantine (src/quarantine.c): hold back one chain, or every chain of a
-- table, from a member, and keep receiving everything else from it;
-- release later re-checks what was held (docs/consortium.md, "A refused row").
-- Local operational state of this member: not ledger tables, not published.
-----------------------------------------------------------------------------
CREATE TABLE @extschema@.quarantine (
    origin    text COLLATE "C" NOT NULL,
    tbl       text NOT NULL,            -- "schema.table", as log leaves name it
    chain_key text,                     -- the chain column's text; NULL: every chain of tbl
    since     timestamptz NOT NULL DEFAULT now(),
    reason    text,
    UNIQUE NULLS NOT DISTINCT (origin, tbl, chain_key)
);
COMMENT ON TABLE @extschema@.quarantine IS
    'chains of other members whose arriving rows are held back (held_row) instead of checked and stored';
CREATE TABLE @extschema@.held_row (
    origin    text COLLATE "C" NOT NULL,
    tbl       text NOT NULL,
    chain_key text,
    seq       bigint,
    held_at   timestamptz NOT NULL DEFAULT now(),
    row_data  jsonb NOT NULL,           -- the row as it arrived
    problem   text                      -- why release_chain() left it held; NULL: not re-checked yet
);
COMMENT ON TABLE @extschema@.held_row IS
    'rows of quarantined chains, as they arrived, until release_chain() stores them or names why not';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.quarantine', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.held_row', '');
REVOKE ALL ON @extschema@.quarantine, @extschema@.held_row FROM PUBLIC;
-- which chains are held back is public; what they hold is not (a held row is a
-- row of a table PUBLIC may not read, like the rows in battledger.rejections)
GRANT SELECT ON @extschema@.quarantine TO PUBLIC;

-- Hold back a member's chain (chain_key NULL: every chain of tbl) from now on.
CREATE FUNCTION @extschema@.quarantine_chain(origin text, tbl regclass, chain_key text DEFAULT NULL,
                                             reason text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF origin IS NULL OR tbl IS NULL THEN
        RAISE EXCEPTION 'origin and tbl are required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.consortium_member m WHERE m.origin = quarantine_chain.origin) THEN
        RAISE EXCEPTION 'no member "%" has joined', origin USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM @extschema@.ledger_tables l WHERE l.tbl = quarantine_chain.tbl) THEN
        RAISE EXCEPTION '"%" is not a ledger table', tbl USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    INSERT INTO @extschema@.quarantine (origin, tbl, chain_key, reason)
    SELECT quarantine_chain.origin, n.nspname || '.' || c.relname, quarantine_chain.chain_key, quarantine_chain.reason
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = quarantine_chain.tbl;
END $$;
COMMENT ON FUNCTION @extschema@.quarantine_chain(text, regclass, text, text) IS
    'hold back a member''s chain (chain_key NULL: every chain of the table) so that its other rows keep flowing';
REVOKE ALL ON FUNCTION @extschema@.quarantine_chain(text, regclass, text, text) FROM PUBLIC;

-- Re-check the held rows of a quarantined chain in position order, as if they
-- arrived now: those that extend the chain are stored; the others stay held,
-- with the reason.  The quarantine ends only when nothing is left held.
CREATE FUNCTION @extschema@.release_chain(origin text, tbl regclass, chain_key text DEFAULT NULL)
    RETURNS TABLE (seq bigint, outcome text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    q record;
    h record;
    qual text;
    owner name;
    left_held bigint;
BEGIN
    SELECT n.nspname || '.' || c.relname, c.relowner::regrole::name INTO qual, owner
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = release_chain.tbl;
    DELETE FROM @extschema@.quarantine x
     WHERE x.origin = release_chain.origin AND x.tbl = qual AND x.chain_key IS NOT DISTINCT FROM release_chain.chain_key
    RETURNING * INTO q;
    IF q IS NULL THEN
        RAISE EXCEPTION 'no quarantine of % % %', origin, tbl, coalesce(chain_key, '(every chain)')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the rows go through the arrival checks, as rows from another member do
    PERFORM set_config('session_replication_role', 'replica', true);
    FOR h IN SELECT x.ctid AS id, x.seq, x.row_data FROM @extschema@.held_row x
              WHERE x.origin = release_chain.origin AND x.tbl = qual
                AND (release_chain.chain_key IS NULL OR x.chain_key = release_chain.chain_key)
              ORDER BY x.seq, x.held_at LOOP
        BEGIN
            -- as the table's owner, as a row from another member would be
            -- applied by its subscription: its triggers and index expressions
            -- are the owner's code, and must not run as the superuser releasing
            EXECUTE format('SET LOCAL ROLE %I', owner);
            EXECUTE format('INSERT INTO %s SELECT * FROM pg_catalog.jsonb_populate_record(NULL::%s, $1)', tbl, tbl)
                USING h.row_data;
            RESET ROLE;
            DELETE FROM @extschema@.held_row x WHERE x.ctid = h.id;
            seq := h.seq; outcome := 'stored';
        EXCEPTION WHEN OTHERS THEN
            UPDATE @extschema@.held_row x SET problem = SQLERRM WHERE x.ctid = h.id;
            seq := h.seq; outcome := SQLERRM;
        END;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('session_replication_role', 'origin', true);
    SELECT count(*) INTO left_held FROM @extschema@.held_row x
     WHERE x.origin = release_chain.origin AND x.tbl = qual
       AND (release_chain.chain_key IS NULL OR x.chain_key = release_chain.chain_key);
    IF left_held > 0 THEN
        -- still broken: the chain stays held back
        INSERT INTO @extschema@.quarantine (origin, tbl, chain_key, since, reason)
        VALUES (q.origin, q.tbl, q.chain_key, q.since, q.reason);
    END IF;
END $$;
COMMENT ON FUNCTION @extschema@.release_chain(text, regclass, text) IS
    're-check a quarantined chain''s held rows: store those that extend it, keep the rest held with the reason';
REVOKE ALL ON FUNCTION @extschema@.release_chain(text, regclass, text) FROM PUBLIC;
-----------------------------------------------------------------------------
-- One line of health for monitoring: the log's backlog and age, how much of
-- it the other members have cosigned, the members not "ok", refusals, held
-- rows.  monitoring/postgres_exporter.yml exports it to Prometheus.
-----------------------------------------------------------------------------
CREATE FUNCTION @extschema@.health(
        OUT origin text, OUT pending_rows bigint, OUT log_size bigint,
        OUT last_checkpoint_at timestamptz, OUT seconds_since_checkpoint double precision,
        OUT cosigned_size bigint, OUT uncosigned_leaves bigint,
        OUT members bigint, OUT members_not_ok bigint, OUT rejections bigint, OUT held_rows bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.current_setting('battledger.origin', true),
           (SELECT count(*) FROM @extschema@.log_pending),
           coalesce(c.tree_size, 0), c.at,
           extract(epoch FROM pg_catalog.now() - c.at)::double precision,
           coalesce(w.size, 0), coalesce(c.tree_size, 0) - coalesce(w.size, 0),
           (SELECT count(*) FROM @extschema@.consortium_member),
           (SELECT count(*) FROM @extschema@.consortium_status() s WHERE s.state <> 'ok'),
           (SELECT count(*) FROM @extschema@.rejections),
           (SELECT count(*) FROM @extschema@.held_row)
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (SELECT k.tree_size, k.at FROM @extschema@.checkpoint k ORDER BY k.tree_size DESC LIMIT 1) c ON true
      LEFT JOIN LATERAL (SELECT max(s.tree_size) AS size FROM @extschema@.cosignature s
                          WHERE s.log_origin = pg_catalog.current_setting('battledger.origin', true)
                            AND s.witness <> s.log_origin) w ON true
$$;
COMMENT ON FUNCTION @extschema@.health() IS
    'one line for monitoring: rows waiting to be sealed, log size and age, leaves not yet cosigned by another member, members not ok, refusals, held rows';
-- counts only, for monitoring roles; SECURITY DEFINER because it reads the
-- consortium's status and refusals, which PUBLIC cannot
REVOKE ALL ON FUNCTION @extschema@.health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.health() TO pg_monitor;
-----------------------------------------------------------------------------
-- What each user-facing object is, for \df+, \dt+ and \dv+ (sql/privileges.sql
-- lists any function, table, view or type of the extension left without one).
-----------------------------------------------------------------------------
COMMENT ON FUNCTION @extschema@.battery_history(@extschema@.battery_id) IS
    'a battery''s lifecycle events across members, in registry order, with signer, status moves and log leaf';
COMMENT ON FUNCTION @extschema@.battery_state(@extschema@.battery_id) IS
    'the state a battery''s events have reached: manufactured, status, current passport id';
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
COMMENT ON TABLE @extschema@.log_node IS 'this log''s stored perfect subtrees (levels >= 1), for O(log n) proofs';
COMMENT ON TABLE @extschema@.log_pending IS 'ledger rows queued for the next seal()';
COMMENT ON TABLE @extschema@.cosignature IS 'tlog-cosignature/v1 lines: by this member''s witness and received from others';
COMMENT ON TABLE @extschema@.log_conflict IS 'evidence of a member''s rewritten or forked log: both conflicting checkpoints';
COMMENT ON TABLE @extschema@.peer_checkpoint IS 'other members'' checkpoints, verified and witnessed here';
COMMENT ON TABLE @extschema@.peer_leaf IS 'other members'' log leaves, as verified against their checkpoints';
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
