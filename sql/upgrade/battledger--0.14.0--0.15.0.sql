-- battledger 0.14.0 -> 0.15.0 (parts in sql/upgrade/0.14.0--0.15.0/)
-- The rules' verdict only for signed rows (red team r16b P2): the rule
-- triggers check a row's signature before raising a verdict.  The two
-- checks that raise on the triggers' behalf now take the row being judged
-- (_check_inputs) or report a refusal of an unsigned row (_check_second_life):
-- their old forms go; 31_rules_oracle.replace creates the new ones.
DROP FUNCTION @extschema@._check_inputs(jsonb, text, text);
DROP FUNCTION @extschema@._check_second_life(@extschema@.battery_event, text);
CREATE FUNCTION @extschema@._batch_open_here(batch_id text, tbl regclass, key_id @extschema@.hash256)
    RETURNS boolean AS 'MODULE_PATHNAME', 'battledger_batch_open_here' LANGUAGE C STABLE;
CREATE OR REPLACE FUNCTION @extschema@._row_signed(r anyelement, tbl regclass) RETURNS boolean
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF r.ledger_key_id IS NULL THEN
        RETURN false;
    ELSIF r.ledger_sig IS NOT NULL AND r.ledger_batch IS NULL THEN
        -- ed25519_verify() raises on a signature that is not 64 bytes: the
        -- chain trigger refuses that row with its own error
        RETURN length(r.ledger_sig) = 64
           AND EXISTS (SELECT 1 FROM @extschema@.key_event k
                        WHERE k.key_id OPERATOR(@extschema@.=) r.ledger_key_id AND k.event = 'added'
                          AND @extschema@.ed25519_verify(k.public_key, @extschema@.signing_bytes(r, tbl), r.ledger_sig));
    ELSIF r.ledger_batch IS NOT NULL AND r.ledger_sig IS NULL THEN
        RETURN @extschema@._batch_open_here(r.ledger_batch, tbl, r.ledger_key_id);
    END IF;
    RETURN false;                   -- neither or both: the chain trigger refuses it
END $$;

CREATE OR REPLACE FUNCTION @extschema@._refuse_row(r anyelement, tbl regclass, code text, msg text,
                                        detail text DEFAULT NULL, hint text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF @extschema@._row_signed(r, tbl) THEN
        PERFORM @extschema@._refuse(code, msg, detail, hint);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._check_inputs(r anyelement, tbl regclass, inputs jsonb, signer text, what text)
    RETURNS numeric
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    i jsonb;
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
        want := (i->>'mass_kg')::numeric;
        IF i->>'lot' IS NULL OR want IS NULL OR want <= 0 THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL031', format('malformed input lot %s in %s', i, what));
            RETURN NULL;
        END IF;
        IF @extschema@.lot_custodian(i->>'lot') IS DISTINCT FROM signer THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL032', format('lot "%s" is not held by member "%s"', i->>'lot', signer),
                format('Its custodian is %s.', coalesce('"' || @extschema@.lot_custodian(i->>'lot') || '"', 'nobody (no such lot)')));
            RETURN NULL;
        END IF;
        IF @extschema@.lot_available_kg(i->>'lot') < want THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL033', format('mass balance: lot "%s" has %s kg left, not %s kg',
                i->>'lot', @extschema@.lot_available_kg(i->>'lot'), want));
            RETURN NULL;
        END IF;
        total := total + want;
    END LOOP;
    RETURN total;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._lot_rules() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL030', format('unknown lot event "%s"', NEW.event),
            hint => 'See battledger.event_kind.');
        RETURN NEW;
    END IF;
    IF NOT s.roles && k.roles THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL015', format('member "%s" may not sign a "%s" lot event', s.member, NEW.event),
            format('Its roles are %s; the event needs one of %s.', s.roles, k.roles));
        RETURN NEW;
    END IF;
    PERFORM @extschema@._lock_subject('lot', NEW.lot_id);
    SELECT * INTO last FROM @extschema@.lot_event e WHERE e.lot_id = NEW.lot_id ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1;
    IF NEW.event IN ('extracted', 'processed', 'secondary_created') AND last.lot_id IS NOT NULL THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL034', format('lot "%s" already exists', NEW.lot_id));
        RETURN NEW;
    ELSIF NEW.event IN ('shipped', 'received') AND last.lot_id IS NULL THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL034', format('lot "%s" does not exist', NEW.lot_id));
        RETURN NEW;
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
        IF last.event IS DISTINCT FROM 'shipped' OR last.counterparty IS DISTINCT FROM s.member THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL032', format('lot "%s" was not shipped to member "%s"', NEW.lot_id, s.member));
            RETURN NEW;
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._check_second_life(n @extschema@.battery_event, member text) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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

CREATE OR REPLACE FUNCTION @extschema@._battery_rules() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    st @extschema@.battery_fold_state;
    v record;
    corrected record;
BEGIN
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
    'internal: is a row the rule triggers judge signed by the key it names (signature, or a batch that key signed in this transaction)?';
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
COMMENT ON FUNCTION @extschema@._id_owners(@extschema@.battery_id, timestamptz) IS 'internal: the members whose namespaces, registered by a time, cover a battery id';
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
    @extschema@._lot_rules(), @extschema@._battery_rules(), @extschema@._battery_fold_arrived(),
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
