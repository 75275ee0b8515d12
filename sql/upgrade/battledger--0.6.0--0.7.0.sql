-- battledger 0.6.0 -> 0.7.0 (parts in sql/upgrade/0.6.0--0.7.0/)
-- seal() (issue 15): log_leaf's row_hash index becomes a hash index.  Its
-- keys are SHA-256 hashes, inserted in random order: a btree insert descended
-- the whole tree and compared 32-byte keys at every level, about half of
-- seal()'s CPU time (docs/benchmarks.md, "0.7.0: seal").  Every query of it
-- is an equality (leaf_index(), seal()'s re-queue, passports), which a hash
-- index answers.  Rebuilding it reads log_leaf once, under the update's lock.
DROP INDEX @extschema@.log_leaf_row;
CREATE INDEX log_leaf_row ON @extschema@.log_leaf USING hash (row_hash);
-- a battery's passports in registry order, for passport() (issue 15): reads
-- battery_event once; its rows with a passport_id are few
CREATE INDEX battery_event_issued ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE passport_id IS NOT NULL;
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

CREATE OR REPLACE FUNCTION @extschema@._passport(battery @extschema@.battery_id, tier text, format text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off
    SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    src jsonb := @extschema@._passport_source(battery, tier);
    second_life jsonb := @extschema@._passport_second_life(battery, tier);
BEGIN
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

CREATE OR REPLACE FUNCTION @extschema@._fold_generation() RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN concat_ws('/', (SELECT extract(epoch FROM r.since) FROM @extschema@.registry_rule r WHERE r.rule = 'custody'),
                     (SELECT count(*) FROM @extschema@.member_event), (SELECT count(*) FROM @extschema@.key_event),
                     (SELECT count(*) FROM @extschema@.id_namespace),
                     (SELECT encode(sha256(convert_to(string_agg(concat_ws(':', ek.event, ek.subject, ek.roles), ',' ORDER BY ek.event), 'UTF8')), 'hex')
                        FROM @extschema@.event_kind ek),
                     (SELECT encode(sha256(convert_to(string_agg(concat_ws(':', sr.status, sr.roles), ',' ORDER BY sr.status), 'UTF8')), 'hex')
                        FROM @extschema@.status_role sr));
END $$;

-- Tiles past the tree (red team hx2, finding 3): the update to 0.6.0 built
-- log_tile from log_node and checked every checkpoint's root, but a level-8
-- node written behind the guards past the tree (no checkpoint reads it) came
-- through as a tile row wider than the tree, on which seal() now stops.  Refuse
-- to update such a log, naming the row (the update is one transaction:
-- nothing of it stays).
DO $tile_check$
DECLARE
    n bigint := (SELECT count(*) FROM @extschema@.log_leaf);
    bad record;
BEGIN
    SELECT t.level, t.idx, t.width INTO bad FROM @extschema@.log_tile t
     WHERE t.level < 1 OR t.width < 1 OR t.idx < 0
        OR t.idx * 256 + t.width > n >> (8 * least(t.level, 7))
     ORDER BY t.level, t.idx, t.width LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'the log has a tile row past its tree of % leaves: level %, index %, width %', n, bad.level, bad.idx, bad.width
            USING ERRCODE = 'data_corrupted',
                  DETAIL = 'A tile row may hold only nodes the tree has; this one was written behind the guards.',
                  HINT = 'Run SELECT * FROM battledger.verify_log(false) under 0.6.0; nothing has been changed.';
    END IF;
END
$tile_check$;
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
