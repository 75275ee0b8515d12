-- battledger 0.4.0 -> 0.5.0 (parts in sql/upgrade/0.4.0--0.5.0/)
-- Identifier namespaces (docs/registry.md, "Who may make a battery"): a new
-- ledger table, published by a member that already publishes (its
-- subscribers then run ALTER SUBSCRIPTION ... REFRESH PUBLICATION).
CREATE TABLE @extschema@.id_namespace (
    namespace text NOT NULL CHECK (namespace ~ '^(gs1:[0-9]{4,12}|iso15459:[A-Z0-9]{1,3}/[A-Z0-9]{1,35})$'),
    member    text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
SELECT @extschema@.enable_ledger('@extschema@.id_namespace', 'namespace');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.id_namespace', '');
GRANT SELECT ON @extschema@.id_namespace TO PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = 'battledger_member') THEN
        PERFORM @extschema@.publish_member();
    END IF;
END $$;
CREATE OR REPLACE FUNCTION @extschema@._id_key(id @extschema@.battery_id) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN @extschema@.battery_id_scheme(id) = 'gs1' THEN 'gs1:' || substr(@extschema@.battery_gtin(id), 2, 12)
                ELSE regexp_replace(@extschema@.text(id), '[^/]*$', '') END
$$;

CREATE OR REPLACE FUNCTION @extschema@._ns_covers(namespace text, key text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN namespace LIKE 'gs1:%' THEN starts_with(key, namespace)
                ELSE starts_with(key || '/', namespace || '/') END
$$;

CREATE OR REPLACE FUNCTION @extschema@._ns_hosted(member text, origin text) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    -- (every row adding the member: a second origin claiming to add it, however
    -- dated, makes its hosting contested, not moved: the red team's finding D)
    SELECT coalesce((SELECT bool_and(e.ledger_origin = origin) FROM @extschema@.member_event e
                      WHERE e.member = _ns_hosted.member AND e.event = 'added'), false)
$$;

CREATE OR REPLACE FUNCTION @extschema@._id_owners(id @extschema@.battery_id, at timestamptz,
                                       OUT members text[], OUT namespaces text[], OUT since timestamptz)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    key text := @extschema@._id_key(id);
BEGIN
    SELECT array_agg(DISTINCT n.member ORDER BY n.member), array_agg(DISTINCT n.namespace ORDER BY n.namespace), min(n.at)
      INTO members, namespaces, since
      FROM @extschema@.id_namespace n
     WHERE @extschema@._ns_covers(n.namespace, key) AND n.at <= _id_owners.at
       AND @extschema@._ns_hosted(n.member, n.ledger_origin);
END $$;

CREATE OR REPLACE FUNCTION @extschema@.add_id_namespace(member text, namespace text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    other record;
BEGIN
    IF member IS NULL OR NOT EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = add_id_namespace.member) THEN
        RAISE EXCEPTION 'member "%" does not exist', member USING ERRCODE = 'undefined_object',
            HINT = 'Register it first with battledger.add_member().';
    END IF;
    IF NOT @extschema@._ns_hosted(member, coalesce(current_setting('battledger.origin', true), '')) THEN
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
    INSERT INTO @extschema@.id_namespace (namespace, member) VALUES (namespace, member);
    RETURN namespace;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._battery_verdict(e @extschema@.battery_event, member text, roles text[],
                                             st @extschema@.battery_fold_state, custody boolean, writer boolean,
                                             OUT problem text, OUT code text, OUT message text, OUT detail text, OUT hint text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k @extschema@.event_kind;
    needed text[];
    offered timestamptz;
    offered_by text;
    ns record;
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
    -- repurposing, remanufacturing; an id belongs to the first event naming it
    IF e.event = 'placed_on_market' OR (e.event = 'status_changed' AND e.new_status IN ('re-used', 'repurposed', 'remanufactured')) THEN
        IF e.passport_id IS NULL THEN
            problem := 'passport_missing'; code := 'BL038';
            message := format('"%s" must issue a new passport', e.event);
            hint := 'Set passport_id to the new passport''s identifier.';
        ELSIF EXISTS (SELECT 1 FROM @extschema@.battery_event o
                       WHERE o.passport_id = e.passport_id
                         -- only an event that issues a passport holds its id
                         AND (o.event = 'placed_on_market'
                              OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
                         AND (writer       -- the writer's row is not stored yet: any holder is earlier
                              OR (o.ledger_at, o.ledger_origin, o.ledger_seq) < (e.ledger_at, e.ledger_origin, e.ledger_seq))) THEN
            problem := 'passport_taken'; code := 'BL038';
            message := format('passport "%s" already exists', e.passport_id);
        END IF;
    ELSIF e.passport_id IS NOT NULL THEN
        problem := 'passport_not_issued'; code := 'BL038';
        message := format('"%s" does not issue a passport', e.event);
    END IF;
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
    -- excludes the other until the consortium settles it (both are named)
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member, 'namespace_contested', 'conflict',
           format('namespace "%s" of "%s" overlaps "%s" of "%s"', n.namespace, n.member, f.namespace, f.member)
      FROM @extschema@.id_namespace n
      JOIN @extschema@.id_namespace f ON f.member <> n.member
       AND (@extschema@._ns_covers(f.namespace, n.namespace) OR @extschema@._ns_covers(n.namespace, f.namespace))
     WHERE @extschema@._ns_hosted(n.member, n.ledger_origin) AND @extschema@._ns_hosted(f.member, f.ledger_origin)
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
    -- a registration written where its member is not hosted counts for nothing
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member, 'namespace_not_hosted', 'equivocation',
           format('namespace "%s" registered for "%s" by origin "%s", where that member is not hosted', n.namespace, n.member, n.ledger_origin)
      FROM @extschema@.id_namespace n
     WHERE NOT @extschema@._ns_hosted(n.member, n.ledger_origin)
    UNION ALL
    -- second life and composition: claims of a manufacture the predecessors' and
    -- components' own histories do not confirm
    SELECT c.battery_id, c.ledger_origin, c.ledger_seq, c.event, c.signer, c.problem, c.kind, c.message
      FROM @extschema@._second_life_conflicts() c
$$;

-- Writers of a lot, battery or passport id take turns by a row lock in
-- subject_lock, which only the (now SECURITY DEFINER) rule triggers can
-- take, instead of an advisory lock any role could hold (red team F9).
CREATE UNLOGGED TABLE @extschema@.subject_lock (
    kind text NOT NULL,
    id   text NOT NULL,
    PRIMARY KEY (kind, id)
);
REVOKE ALL ON @extschema@.subject_lock FROM PUBLIC;
CREATE OR REPLACE FUNCTION @extschema@._lock_subject(kind text, id text) RETURNS void
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
        PERFORM @extschema@._refuse('BL030', format('unknown battery event "%s"', NEW.event),
            hint => 'See battledger.event_kind.');
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
        PERFORM @extschema@._refuse(v.code, v.message, v.detail, v.hint);
    END IF;

    IF NEW.event = 'manufactured' THEN
        IF NOT EXISTS (SELECT 1 FROM @extschema@.battery_model m WHERE m.model_id = NEW.model_id) THEN
            PERFORM @extschema@._refuse('BL031', format('unknown battery model "%s"', NEW.model_id),
                hint => 'Declare it in battledger.battery_model first.');
        END IF;
        IF NEW.lots IS NOT NULL THEN
            PERFORM @extschema@._check_inputs(NEW.lots, s.member, format('battery %s', NEW.battery_id));
        END IF;
        -- second life and composition: predecessors consumed by the signer, components it holds
        PERFORM @extschema@._check_second_life(NEW, s.member);
    ELSIF NEW.event = 'correction' THEN
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
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.verify_member(member text)
    RETURNS TABLE (tbl text, problem text, detail text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sql text;
    t record;
    n bigint;
    cp record;
    -- progress: one step per table and check (verify() reports its own rows)
    what text := pg_catalog.format('verify_member(%s)', member);
    steps bigint := (SELECT count(*) + 2 * count(*) FILTER (WHERE l.signer_roles IS NOT NULL) FROM @extschema@.ledger_tables l)
                    + (SELECT count(DISTINCT p.tbl) FROM @extschema@.peer_leaf p WHERE p.origin = member);
    done bigint := 0;
    started timestamptz := pg_catalog.clock_timestamp();
    last timestamptz := started;
BEGIN
    FOR t IN SELECT l.tbl FROM @extschema@.ledger_tables l ORDER BY l.tbl::text LOOP
        RETURN QUERY SELECT t.tbl::text, v.problem, coalesce(v.chain_key || ': ', '') || v.detail
                       FROM @extschema@.verify(t.tbl, member) v;
        done := done + 1;
        last := @extschema@._progress(what, 'checks', done, steps, started, last);
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
            done := done + 1;
            CONTINUE;
        END IF;
        -- Leaves and rows are matched by grouping both on (seq, hash), not by
        -- a join: neither side has an index on (origin, seq), and right after
        -- a join's copy the tables have no statistics yet, so the planner
        -- takes the leaves for one row and plans an anti join as a nested
        -- loop scanning the whole table per leaf (quadratic: 52 s for 20,000
        -- rows).  A grouping is hashed or sorted whatever the statistics say.
        EXECUTE format('SELECT coalesce(sum(g.leaves), 0) FROM ('
                       '  SELECT count(*) FILTER (WHERE u.leaf) AS leaves, bool_or(NOT u.leaf) AS received'
                       '    FROM (SELECT true AS leaf, p.seq, p.row_hash AS h FROM @extschema@.peer_leaf p'
                       '           WHERE p.origin = $1 AND p.tbl = $2'
                       '          UNION ALL'
                       '          SELECT false, r.ledger_seq, r.ledger_hash FROM %s r WHERE r.ledger_origin = $1) u'
                       '   GROUP BY u.seq, u.h) g WHERE NOT g.received', t.rel)
            INTO n USING member, t.tbl;
        IF n > 0 THEN
            RETURN QUERY SELECT t.tbl, 'leaf_without_row'::text, format('%s leaves name rows not received.', n);
        END IF;
        done := done + 1;
        last := @extschema@._progress(what, 'checks', done, steps, started, last);
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
        done := done + 1;
        last := @extschema@._progress(what, 'checks', done, steps, started, last);
    END LOOP;
    -- a row dated well before a row the member sealed earlier: within a
    -- member, log order is commit order, so only a transaction open that long
    -- (battledger.max_backdate) dates a row so far back honestly; a new
    -- chain has no predecessor to bound its date otherwise, and registry order
    -- follows the date (docs/security.md, "backdated rows")
    -- (each leaf gets its row's ledger_at by a window over leaves and rows
    -- partitioned by (seq, hash), not by a join, for the reason given above)
    SELECT string_agg(format('SELECT v.leaf_index, v.ledger_at, %L::text AS tbl FROM ('
                             '  SELECT w.leaf_index, max(w.ledger_at) OVER (PARTITION BY w.seq, w.h) AS ledger_at'
                             '    FROM (SELECT p.leaf_index, p.seq, p.row_hash AS h, NULL::timestamptz AS ledger_at'
                             '            FROM @extschema@.peer_leaf p WHERE p.origin = $1 AND p.tbl = %L'
                             '          UNION ALL'
                             '          SELECT NULL, r.ledger_seq, r.ledger_hash, r.ledger_at FROM ONLY %s r'
                             '           WHERE r.ledger_origin = $1) w) v'
                             ' WHERE v.leaf_index IS NOT NULL AND v.ledger_at IS NOT NULL',
                             l.tbl::text, n.nspname || '.' || c.relname, l.tbl), ' UNION ALL ')
      INTO sql FROM @extschema@.ledger_tables l JOIN pg_class c ON c.oid = l.tbl JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE l.signer_roles IS NOT NULL;   -- only signed tables carry ledger_at
    -- and namespace registrations their own date, which decides what they govern
    sql := concat_ws(' UNION ALL ', sql,
        'SELECT p.leaf_index, r.at, ''@extschema@.id_namespace''::text FROM @extschema@.peer_leaf p '
        'JOIN ONLY @extschema@.id_namespace r ON r.ledger_origin = p.origin AND r.ledger_seq = p.seq '
        'AND r.ledger_hash OPERATOR(@extschema@.=) p.row_hash WHERE p.origin = $1 AND p.tbl = ''@extschema@.id_namespace''');
    IF sql IS NOT NULL THEN
        RETURN QUERY EXECUTE format(
            'SELECT x.tbl, ''backdated_row''::text, pg_catalog.format(''%%s rows are dated more than %%s before a row the member sealed earlier (the first at leaf %%s).'', '
            '       count(*), $2, min(x.leaf_index)) '
            'FROM (SELECT u.*, max(u.ledger_at) OVER (ORDER BY u.leaf_index ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before '
            '        FROM (%s) u) x WHERE x.ledger_at < x.before - $2 GROUP BY x.tbl ORDER BY x.tbl', sql)
            USING member, coalesce(pg_catalog.current_setting('battledger.max_backdate', true), '600')::interval;
    END IF;
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
        done := done + 1;
        last := @extschema@._progress(what, 'checks', done, steps, started, last);
    END LOOP;
    -- registry events its rules should have refused: judged ineffective on
    -- every member (battery_lifecycle()), and named here as the member's doing
    RETURN QUERY SELECT 'battledger.battery_event'::text, 'registry_equivocation'::text,
                        pg_catalog.format('%s of battery %s (seq %s): %s', c.event, c.battery_id, c.ledger_seq, c.message)
                   FROM @extschema@.registry_conflicts() c
                  WHERE c.ledger_origin = member AND c.kind = 'equivocation' ORDER BY c.battery_id::text, c.ledger_seq;
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

-- The C names of the trigger functions follow one pattern,
-- battledger_<name>_trigger (issue 13); the library keeps the old symbols
-- for the older install scripts.
CREATE OR REPLACE FUNCTION @extschema@._chain_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_chain_trigger' LANGUAGE C;
CREATE OR REPLACE FUNCTION @extschema@._refuse_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_refuse_trigger' LANGUAGE C;
CREATE OR REPLACE FUNCTION @extschema@._arrive_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_arrive_trigger' LANGUAGE C;
-----------------------------------------------------------------------------
-- Economic operators and facilities as registered identifiers (issue 14,
-- deliverable 6; docs/registry.md "Economic operators and facilities").
-- A member registers the identifiers it holds -- GLN, LEI, EORI, Catena-X
-- BPNL for itself as an operator; GLN, BPNS, BPNA for its facilities -- with
-- name, address and contact, in a signed ledger table like its models.  The
-- identifier's check digits and format are verified; a member registers for
-- itself only; the first registration of an identifier in registry order
-- owns it, and passports render the operator block from the registry.
-----------------------------------------------------------------------------

-- The canonical form "scheme:value" of an operator or facility identifier,
-- or an error saying exactly what is wrong with it.
CREATE FUNCTION @extschema@.operator_id(id text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    scheme text := lower(btrim(split_part(id, ':', 1)));
    v text := upper(regexp_replace(substr(btrim(id), strpos(btrim(id), ':') + 1), '[\s-]', '', 'g'));
    digits text := '';
    sum int := 0;
    r numeric;
    i int;
    c text;
    want int;
BEGIN
    IF strpos(id, ':') = 0 OR scheme NOT IN ('gln', 'lei', 'eori', 'bpnl', 'bpns', 'bpna') THEN
        RAISE EXCEPTION 'invalid operator or facility identifier: "%"', left(id, 100)
            USING ERRCODE = 'invalid_text_representation',
                  DETAIL = 'An identifier is "scheme:value", with scheme gln, lei, eori, bpnl (operators) or gln, bpns, bpna (facilities).',
                  HINT = 'For example gln:4000001000005, lei:5493001KJTIIGC8Y1R12, eori:DE123456789012345 or bpnl:BPNL00000003AYRE.';
    END IF;
    IF scheme = 'gln' THEN
        -- GS1 Global Location Number: 13 digits, the last a mod-10 check digit (as a GTIN's)
        IF v !~ '^[0-9]{13}$' THEN
            RAISE EXCEPTION 'invalid GLN: "%"', left(v, 100) USING ERRCODE = 'invalid_text_representation',
                DETAIL = 'A GLN has exactly 13 digits.', HINT = 'Give it as gln:<13 digits>, e.g. gln:4000001000005.';
        END IF;
        FOR i IN 1..12 LOOP
            sum := sum + substr(v, i, 1)::int * CASE WHEN i % 2 = 0 THEN 3 ELSE 1 END;
        END LOOP;
        want := (10 - sum % 10) % 10;
        IF substr(v, 13, 1)::int <> want THEN
            RAISE EXCEPTION 'invalid GLN: "%"', v USING ERRCODE = 'invalid_text_representation',
                DETAIL = format('The check digit of GLN %s is %s, but %s was expected.', v, substr(v, 13, 1), want),
                HINT = 'Check the number against the GS1 company prefix it was issued from.';
        END IF;
    ELSIF scheme = 'lei' THEN
        -- ISO 17442: 18 alphanumerics and two check digits, ISO 7064 MOD 97-10 (letters A=10 .. Z=35)
        IF v !~ '^[0-9A-Z]{18}[0-9]{2}$' THEN
            RAISE EXCEPTION 'invalid LEI: "%"', left(v, 100) USING ERRCODE = 'invalid_text_representation',
                DETAIL = 'An LEI (ISO 17442) has 20 characters: 18 letters or digits, then two check digits.',
                HINT = 'Copy it from the GLEIF record of the legal entity.';
        END IF;
        FOR i IN 1..20 LOOP
            c := substr(v, i, 1);
            digits := digits || CASE WHEN c ~ '[0-9]' THEN c ELSE (ascii(c) - 55)::text END;
        END LOOP;
        r := digits::numeric % 97;
        IF r <> 1 THEN
            RAISE EXCEPTION 'invalid LEI: "%"', v USING ERRCODE = 'invalid_text_representation',
                DETAIL = format('The check digits of LEI %s do not hold: the number is %s modulo 97, not 1 (ISO 7064 MOD 97-10).', v, r),
                HINT = 'Copy it from the GLEIF record of the legal entity.';
        END IF;
    ELSIF scheme = 'eori' THEN
        -- EU customs: an ISO 3166 country code and up to 15 letters or digits
        IF v !~ '^[A-Z]{2}[0-9A-Z]{1,15}$' THEN
            RAISE EXCEPTION 'invalid EORI number: "%"', left(v, 100) USING ERRCODE = 'invalid_text_representation',
                DETAIL = 'An EORI number is a two-letter country code followed by 1 to 15 letters or digits.',
                HINT = 'For example eori:DE123456789012345.';
        END IF;
    ELSE
        -- Catena-X business partner numbers: BPNL (legal entity), BPNS (site), BPNA (address), then 12 letters or digits
        IF v !~ ('^' || upper(scheme) || '[0-9A-Z]{12}$') THEN
            RAISE EXCEPTION 'invalid Catena-X business partner number: "%"', left(v, 100) USING ERRCODE = 'invalid_text_representation',
                DETAIL = format('A %s is "%s" followed by 12 letters or digits (16 characters).', upper(scheme), upper(scheme)),
                HINT = 'Copy it from the Catena-X business partner data management service.';
        END IF;
    END IF;
    RETURN scheme || ':' || v;
END $$;
COMMENT ON FUNCTION @extschema@.operator_id(text) IS
    'the canonical "scheme:value" of a GLN, LEI (ISO 17442), EORI or Catena-X BPNL/BPNS/BPNA, check digits verified';

CREATE TABLE @extschema@.operator_registration (
    identifier  text NOT NULL CHECK (length(identifier) BETWEEN 5 AND 40),
    kind        text NOT NULL CHECK (kind IN ('operator', 'facility')),
    member      text NOT NULL,     -- who holds the identifier: the signer's member
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    address     jsonb CHECK (address IS NULL OR jsonb_typeof(address) = 'object'),  -- {country, postalCode, city, street}
    contact     jsonb CHECK (contact IS NULL OR jsonb_typeof(contact) = 'object'),  -- {email, web, phone}
    operator    text,              -- a facility: the operator identifier (of the same member) running it
    occurred_at timestamptz NOT NULL
);
SELECT @extschema@.enable_ledger('@extschema@.operator_registration', 'identifier', signed => true,
    signer_roles => ARRAY['miner', 'refiner', 'cell_maker', 'pack_maker', 'oem', 'fleet_operator', 'repairer',
                          'second_life_operator', 'collector', 'recycler']);
COMMENT ON TABLE @extschema@.operator_registration IS
    'economic operators and facilities by identifier (GLN, LEI, EORI, BPNL; GLN, BPNS, BPNA), signed by the member holding them';
CREATE INDEX operator_registration_member ON @extschema@.operator_registration (member);
-- operators'' names, addresses and contacts are Annex XIII point 1 (public)
GRANT SELECT ON @extschema@.operator_registration TO PUBLIC;
GRANT INSERT ON @extschema@.operator_registration TO PUBLIC;   -- as the other signed tables: the signature decides

-- The member holding an identifier: the signer of its first registration in
-- registry order whose signer names itself.  Judged from the signatures, not
-- the member column, so a row replicated from a member whose rules were
-- bypassed cannot take another member's identifier.
CREATE FUNCTION @extschema@.operator_holder(identifier text) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.member FROM @extschema@.operator_registration o, @extschema@._signer(o.ledger_key_id) s
     WHERE o.identifier = operator_holder.identifier AND s.member = o.member
     ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq LIMIT 1
$$;
COMMENT ON FUNCTION @extschema@.operator_holder(text) IS
    'the member holding an operator or facility identifier: the first to register it in registry order';

-- The registered operator or facility, as the passport shows it: the holder's
-- latest registration.  NULL when the identifier is not registered.
CREATE FUNCTION @extschema@.operator_info(identifier text) RETURNS jsonb
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
               'id', o.identifier, 'kind', o.kind, 'name', o.name, 'address', o.address,
               'email', o.contact->'email', 'web', o.contact->'web', 'phone', o.contact->'phone',
               'operator', o.operator, 'member', o.member,
               'registration', jsonb_build_object('at', o.occurred_at, 'ledgerHash', o.ledger_hash::text)))
      FROM @extschema@.operator_registration o, @extschema@._signer(o.ledger_key_id) s
     WHERE o.identifier = operator_info.identifier AND s.member = o.member
       AND o.member = @extschema@.operator_holder(operator_info.identifier)
     ORDER BY o.ledger_at DESC, o.ledger_origin DESC, o.ledger_seq DESC LIMIT 1
$$;
COMMENT ON FUNCTION @extschema@.operator_info(text) IS
    'a registered operator or facility (name, address, contact, holder) as its holder last registered it; NULL if unregistered';

-- Registrations that count for nobody: signed by another member than the one
-- they name (the writer's rules were bypassed), or of an identifier another
-- member registered first in registry order (a claim that lost a race between
-- two members' databases, or was written behind the rules).  For auditors.
CREATE FUNCTION @extschema@.operator_conflicts()
    RETURNS TABLE (identifier text, ledger_origin text, ledger_seq bigint, signer text, named_member text,
                   holder text, problem text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT o.identifier, o.ledger_origin, o.ledger_seq, s.member, o.member, h.holder,
           CASE WHEN s.member IS DISTINCT FROM o.member THEN 'signer_not_member' ELSE 'held_by_other' END
      FROM @extschema@.operator_registration o
      CROSS JOIN LATERAL @extschema@._signer(o.ledger_key_id) s
      CROSS JOIN LATERAL (SELECT @extschema@.operator_holder(o.identifier) AS holder) h
     WHERE s.member IS DISTINCT FROM o.member OR h.holder IS DISTINCT FROM s.member
     ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq
$$;
COMMENT ON FUNCTION @extschema@.operator_conflicts() IS
    'operator and facility registrations that count for nobody: signed for another member, or of an identifier another member holds';

-- The rules of a registration, before the chain trigger (a refused row leaves no trace).
CREATE FUNCTION @extschema@._operator_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    canonical text;
    holder text;
    scheme text;
    runs jsonb;
BEGIN
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;                 -- unknown key: the chain trigger refuses it (BL011)
    END IF;
    canonical := @extschema@.operator_id(NEW.identifier);
    IF canonical <> NEW.identifier THEN
        PERFORM @extschema@._refuse('22P02', format('identifier "%s" is not in canonical form', NEW.identifier),
            format('Its canonical form is "%s"; the signature covers the identifier as written.', canonical),
            'Sign the row with battledger.operator_id(identifier).');
    END IF;
    IF NEW.member IS DISTINCT FROM s.member THEN
        PERFORM @extschema@._refuse('BL060', format('member "%s" cannot register an identifier for member "%s"', s.member, NEW.member),
            'A member registers the identifiers it holds, signed with its own key.',
            format('Set member to "%s".', s.member));
    END IF;
    scheme := split_part(canonical, ':', 1);
    IF NEW.kind = 'operator' AND scheme NOT IN ('gln', 'lei', 'eori', 'bpnl') THEN
        PERFORM @extschema@._refuse('BL062', format('a %s identifies a facility, not an operator', upper(scheme)),
            hint => 'Register an operator by GLN, LEI, EORI or BPNL.');
    ELSIF NEW.kind = 'facility' AND scheme NOT IN ('gln', 'bpns', 'bpna') THEN
        PERFORM @extschema@._refuse('BL062', format('a %s identifies an operator, not a facility', upper(scheme)),
            hint => 'Register a facility by GLN, BPNS or BPNA.');
    END IF;
    IF NEW.address IS NOT NULL AND coalesce(NEW.address->>'country', '') !~ '^[A-Z]{2}$' THEN
        PERFORM @extschema@._refuse('BL031', 'an operator''s or facility''s address needs its country',
            'address.country is an ISO 3166-1 alpha-2 code such as "DE".');
    END IF;
    PERFORM @extschema@._lock_subject('operator', canonical);
    holder := @extschema@.operator_holder(canonical);
    IF holder IS NOT NULL AND holder <> s.member THEN
        PERFORM @extschema@._refuse('BL061', format('identifier "%s" is registered by member "%s"', canonical, holder),
            'An identifier belongs to the first member that registered it; only that member may update it.',
            'If the identifier is yours, ask the consortium to resolve the claim out of band (GLEIF, GS1, Catena-X records).');
    END IF;
    IF NEW.kind = 'facility' THEN
        IF NEW.operator IS NULL OR @extschema@.operator_holder(NEW.operator) IS DISTINCT FROM s.member
           OR NOT EXISTS (SELECT 1 FROM @extschema@.operator_registration o
                           WHERE o.identifier = NEW.operator AND o.kind = 'operator' AND o.member = s.member) THEN
            PERFORM @extschema@._refuse('BL062', format('facility "%s" needs the operator running it', canonical),
                format('operator must be an operator identifier registered by member "%s".', s.member),
                'Register the operator first, then the facility with operator set to its identifier.');
        END IF;
    ELSIF NEW.operator IS NOT NULL THEN
        PERFORM @extschema@._refuse('BL031', 'only a facility names an operator');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.operator_registration
    FOR EACH ROW EXECUTE FUNCTION @extschema@._operator_rules();

-- A battery event naming an operator, manufacturer or facility (data.operator.id,
-- data.manufacturer.id, data.facility) must name a well-formed identifier, and
-- one registered by another member is not the signer's to claim.  A separate
-- trigger from battledger_rules; it fires after it and before the chain trigger.
CREATE FUNCTION @extschema@._operator_refs() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    ref record;
    canonical text;
    holder text;
BEGIN
    IF NEW.data IS NULL OR jsonb_typeof(NEW.data) <> 'object' THEN
        RETURN NEW;
    END IF;
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;
    END IF;
    FOR ref IN SELECT * FROM (VALUES ('data.operator.id', NEW.data->'operator'->>'id'),
                                     ('data.manufacturer.id', NEW.data->'manufacturer'->>'id'),
                                     ('data.facility', NEW.data->>'facility')) r(field, id)
                WHERE r.id IS NOT NULL LOOP
        canonical := @extschema@.operator_id(ref.id);
        holder := @extschema@.operator_holder(canonical);
        IF holder IS NOT NULL AND holder <> s.member THEN
            PERFORM @extschema@._refuse('BL063', format('%s "%s" is registered by member "%s"', ref.field, canonical, holder),
                format('Member "%s" may name only identifiers it holds, or that nobody has registered.', s.member),
                'Register your own identifier (battledger.operator_registration) and name it.');
        END IF;
    END LOOP;
    RETURN NEW;
END $$;
CREATE TRIGGER battledger_rules_operators BEFORE INSERT ON @extschema@.battery_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._operator_refs();
REVOKE ALL ON FUNCTION @extschema@._operator_rules(), @extschema@._operator_refs() FROM PUBLIC;

-- The resolver this registry's GS1 Digital Links point to: battledger.resolver
-- (set by a superuser: ALTER SYSTEM or ALTER DATABASE), GS1's by default.
CREATE FUNCTION @extschema@.registry_resolver() RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(nullif(current_setting('battledger.resolver', true), ''), 'https://id.gs1.org')
$$;
COMMENT ON FUNCTION @extschema@.registry_resolver() IS
    'the resolver of this registry''s GS1 Digital Links (battledger.resolver; https://id.gs1.org when unset)';
-----------------------------------------------------------------------------
-- Passport values computed from the ledger, not declared (issue 14,
-- deliverable 4; docs/registry.md "Values derived from the ledger"):
--   * recycled content: the shares of cobalt, lithium, nickel and lead that
--     come from secondary (recycled) lots, through the lots the battery
--     consumed and the processing behind them (mass balance);
--   * usage values: from the per-cycle measurements ("cycle") the usage
--     reports carry.
-- The passport shows a derived value where the ledger supports one and the
-- declared or reported value otherwise, and says which.
-----------------------------------------------------------------------------

-- The recycled shares of the battery's cobalt, lithium, nickel and lead.
-- Each lot the battery consumed is traced back through processing: a
-- processed lot is its inputs in proportion to their masses, a secondary lot
-- is recycled (post-consumer when recovered from a battery, pre-consumer when
-- its inputs say {"source": "pre_consumer"}: manufacturing waste), an
-- extracted lot is primary.  A consumed lot counts for the element its
-- material names (e.g. "cobalt sulfate" for cobalt), by the mass consumed.
CREATE FUNCTION @extschema@.recycled_content(battery @extschema@.battery_id)
    RETURNS TABLE (material text, pre_consumer_pct numeric, post_consumer_pct numeric, consumed_kg numeric, lots bigint)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
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
      FROM el WHERE element IS NOT NULL GROUP BY element ORDER BY element
$$;
COMMENT ON FUNCTION @extschema@.recycled_content(@extschema@.battery_id) IS
    'pre- and post-consumer recycled shares (%) of the cobalt, lithium, nickel and lead a battery consumed, traced through its lots';

-- Usage values computed from the per-cycle measurements of a battery's usage
-- reports (soh_reported, disclosed value key "cycle": {type charge|discharge|
-- impedance, duration_s, v_min, v_max, t_cell_max_c, ambient_c, ah, wh,
-- capacity_ah, re_ohm}), each with the report it is current as of.  Reads
-- only what the caller's tier may (the disclosure table's row security).
-- Thresholds: rated capacity and energy from the model; deep-discharge and
-- overcharge voltages and the idle temperature range from the manufacturer's
-- declaration (manufactured data.rated), the model's minimum and maximum
-- voltage when it declares none.
CREATE FUNCTION @extschema@.usage_derived(battery @extschema@.battery_id)
    RETURNS TABLE (key text, value numeric, at timestamptz, reports bigint, method text,
                   ledger_seq bigint, ledger_hash @extschema@.hash256)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    made @extschema@.battery_event;
    m @extschema@.battery_model;
    r jsonb;
    deep_v numeric;
    over_v numeric;
    t_hi numeric;
    t_lo numeric;
BEGIN
    -- nothing to derive: no disclosure carries per-cycle data (a key index lookup)
    IF NOT EXISTS (SELECT 1 FROM @extschema@.disclosure d WHERE d.value ? 'cycle') THEN
        RETURN;
    END IF;
    SELECT * INTO made FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1;
    SELECT * INTO m FROM @extschema@.battery_model x WHERE x.model_id = made.model_id
     ORDER BY x.ledger_at DESC, x.ledger_origin DESC, x.ledger_seq DESC LIMIT 1;
    r := coalesce(made.data->'rated', '{}');
    deep_v := coalesce((r->>'deepDischargeVoltageV')::numeric, m.min_voltage_v);
    over_v := coalesce((r->>'overchargeVoltageV')::numeric, m.max_voltage_v);
    t_hi := (r->>'idleTemperatureUpperC')::numeric;
    t_lo := (r->>'idleTemperatureLowerC')::numeric;
    RETURN QUERY
    WITH c AS (
        SELECT e.ledger_at, e.ledger_origin, e.ledger_seq AS seq, e.ledger_hash AS hash, e.occurred_at,
               d.value->'cycle'->>'type' AS type,
               -- a failed measurement ("NaN") is not measured
               nullif((d.value->'cycle'->>'duration_s')::numeric, 'NaN') AS duration_s,
               nullif((d.value->'cycle'->>'v_min')::numeric, 'NaN') AS v_min,
               nullif((d.value->'cycle'->>'v_max')::numeric, 'NaN') AS v_max,
               nullif((d.value->'cycle'->>'t_cell_max_c')::numeric, 'NaN') AS t_max,
               nullif((d.value->'cycle'->>'ambient_c')::numeric, 'NaN') AS ambient,
               nullif((d.value->'cycle'->>'ah')::numeric, 'NaN') AS ah,
               nullif((d.value->'cycle'->>'wh')::numeric, 'NaN') AS wh,
               nullif((d.value->'cycle'->>'capacity_ah')::numeric, 'NaN') AS cap,
               nullif((d.value->'cycle'->>'re_ohm')::numeric, 'NaN') AS re,
               row_number() OVER (ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq) AS n
          FROM @extschema@.battery_event e
          JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
           AND d.tier = 'legitimate_interest' AND jsonb_typeof(d.value->'cycle') = 'object'
    ), pairs AS (
        -- round trip: a discharge's energy over the energy of the charge just before it
        SELECT x.n, x.occurred_at, x.seq, x.hash, x.wh / p.wh AS rte
          FROM c x
          CROSS JOIN LATERAL (SELECT y.type, y.wh FROM c y WHERE y.n < x.n AND y.type IN ('charge', 'discharge')
                               ORDER BY y.n DESC LIMIT 1) p
         WHERE x.type = 'discharge' AND x.wh IS NOT NULL AND p.type = 'charge' AND p.wh > 0
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
        UNION ALL SELECT 'rte_fade_pct', round(100 * (f.rte - p.rte) / f.rte, 2), p.occurred_at,
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
COMMENT ON FUNCTION @extschema@.usage_derived(@extschema@.battery_id) IS
    'usage values (capacity, energy, SOCE, fade, resistance, round trip, event counts, temperature time) computed from the per-cycle data of a battery''s usage reports';

-- The passport's source with the derived values (called by _passport_source,
-- as the owner): recycled content from the lots, usage values from the
-- reports' cycles (tier legitimate interest), operators, manufacturers and
-- facilities from the registry of identifiers.  Each says where it comes from.
CREATE FUNCTION @extschema@._passport_derived(v jsonb, battery @extschema@.battery_id, usage_ok boolean)
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
      INTO rc FROM @extschema@.recycled_content(battery) r;
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
          FROM @extschema@.usage_derived(battery) u JOIN @extschema@._dynamic_attribute a ON a.key = u.key;
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

-- One operator block (manufactured.data.manufacturer, issued.data.operator)
-- rendered from the registry when the event's signer holds its identifier;
-- bpnl: the holder's Catena-X BPNL, which Catena-X shows whatever scheme the
-- event names.
CREATE FUNCTION @extschema@._passport_operator(v jsonb, event_path text[], field text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ev jsonb := v #> event_path;
    id text := ev->'data'->field->>'id';
    info jsonb;
    bpnl text;
BEGIN
    IF id IS NULL OR ev IS NULL THEN
        RETURN v;
    END IF;
    info := @extschema@.operator_info(id);
    IF info IS NULL OR info->>'member' IS DISTINCT FROM ev->>'by' THEN
        RETURN jsonb_set(v, event_path || ARRAY['data', field, 'basis'], '"declared"');
    END IF;
    SELECT o.identifier INTO bpnl FROM @extschema@.operator_registration o
     WHERE o.member = info->>'member' AND o.kind = 'operator' AND o.identifier LIKE 'bpnl:%'
       AND @extschema@.operator_holder(o.identifier) = o.member
     ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq LIMIT 1;
    RETURN jsonb_set(v, event_path || ARRAY['data', field],
                     info - 'kind' - 'operator' || jsonb_strip_nulls(jsonb_build_object('bpnl', bpnl, 'basis', 'registered')));
END $$;

REVOKE ALL ON FUNCTION @extschema@._passport_derived(jsonb, @extschema@.battery_id, boolean),
    @extschema@._passport_operator(jsonb, text[], text) FROM PUBLIC;
-- recycled shares and derived usage read the lots and usage reports: like material_provenance()
-- (point 2) the recycled shares run as the owner for members and tiers; usage_derived() runs as
-- the caller, so the disclosure table's row security decides which reports it sees
ALTER FUNCTION @extschema@.recycled_content(@extschema@.battery_id) SECURITY DEFINER;
REVOKE ALL ON FUNCTION @extschema@.recycled_content(@extschema@.battery_id) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.recycled_content(@extschema@.battery_id)
    TO battledger_member, battledger_legitimate_interest, battledger_authority;
REVOKE ALL ON FUNCTION @extschema@.usage_derived(@extschema@.battery_id) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.usage_derived(@extschema@.battery_id) TO battledger_legitimate_interest;
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
        v := v || jsonb_build_object(
            'status', st.status,
            'inService', (SELECT min(e.occurred_at) FROM @extschema@.battery_event e
                           WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'installed'),
            -- each dynamic attribute from the latest usage report that set it
            'dynamic', (SELECT jsonb_object_agg(a.key, jsonb_build_object('value', x.value, 'at', x.occurred_at,
                                   'event', (x.e).event, 'sequence', (x.e).ledger_seq, 'ledgerHash', (x.e).ledger_hash::text,
                                   'leafIndex', @extschema@.leaf_index('@extschema@.battery_event', (x.e).ledger_hash)))
                          FROM @extschema@._dynamic_attribute a
                          CROSS JOIN LATERAL (
                                SELECT (d.value->>a.key)::numeric AS value, e.occurred_at, e
                                  FROM @extschema@.battery_event e
                                  JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                                 WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
                                   AND d.tier = 'legitimate_interest' AND d.value ? a.key
                                 ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1) x
                         -- a key no report carries would walk every report of the battery: ask the
                         -- disclosures' key index first (the NASA data has 9 of the 25 keys)
                         WHERE EXISTS (SELECT 1 FROM @extschema@.disclosure d0 WHERE d0.value ? a.key)),
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

CREATE OR REPLACE FUNCTION @extschema@._passport_battledger(src jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'passportId', src->'passportId',
        'batteryIdentifier', src->'battery',
        'digitalLink', src->'digitalLink',
        'batteryStatus', src->'status',
        'passportHistory', src->'history',
        'generalProductInformation', jsonb_build_object(
            'batteryCategory', src->'model'->'category',
            'manufacturerIdentification', src->'model'->'manufacturer',
            -- as registered (battledger.operator_registration) or as the event declared: see basis
            'manufacturerInformation', src->'manufactured'->'data'->'manufacturer',
            'operatorInformation', src->'issued'->'data'->'operator',
            'batteryModel', src->'model'->'model_id',
            'manufacturingDate', src->'manufactured'->'at',
            'manufacturingPlace', src->'manufactured'->'data'->'facility',
            'manufacturingFacility', src->'manufactured'->'facility',
            'puttingIntoService', src->'inService',
            'batteryMass', @extschema@._rated((src->'model'->>'mass_kg')::numeric, 'kg')),
        'batteryChemistry', src->'model'->'chemistry',
        'performance', jsonb_build_object(
            'rated', jsonb_build_object(
                'ratedCapacity', @extschema@._rated((src->'model'->>'rated_capacity_ah')::numeric, 'Ah'),
                'ratedEnergy', @extschema@._rated((src->'model'->>'rated_energy_kwh')::numeric, 'kWh'),
                'nominalVoltage', @extschema@._rated((src->'model'->>'nominal_voltage_v')::numeric, 'V'),
                'minimumVoltage', @extschema@._rated((src->'model'->>'min_voltage_v')::numeric, 'V'),
                'maximumVoltage', @extschema@._rated((src->'model'->>'max_voltage_v')::numeric, 'V'),
                'originalPowerCapability', @extschema@._rated((src->'model'->>'original_power_w')::numeric, 'W'),
                'expectedLifetimeNumberOfChargeDischargeCycles', src->'model'->'expected_lifetime_cycles',
                'capacityThresholdForExhaustion', @extschema@._rated((src->'model'->>'capacity_threshold_pct')::numeric, '%')),
            'dynamic', (SELECT jsonb_object_agg(a.name, jsonb_build_object('value', d.value->'value', 'unit', a.unit,
                                    'timestamp', d.value->'at',
                                    -- derived from the reports' cycles, or as reported (and how derived)
                                    'basis', d.value->'basis', 'derivation', d.value->'method',
                                    'setBy', jsonb_build_object('event', d.value->'event', 'sequence', d.value->'sequence',
                                                                'ledgerHash', d.value->'ledgerHash', 'leafIndex', d.value->'leafIndex')))
                          FROM jsonb_each(CASE WHEN jsonb_typeof(src->'dynamic') = 'object' THEN src->'dynamic' END) d JOIN @extschema@._dynamic_attribute a ON a.key = d.key)),
        'materialComposition', src->'materials',
        'recycledContent', src->'model'->'recycled_content',
        'carbonFootprint', jsonb_build_object('batteryCarbonFootprint',
            @extschema@._rated((src->'model'->>'carbon_footprint_kg_co2e_per_kwh')::numeric, 'kg CO2e/kWh')),
        'negativeEvents', CASE WHEN jsonb_typeof(src->'negativeEvents') = 'array' THEN jsonb_array_length(src->'negativeEvents') END,
        'testReports', src->'testReports',
        'passportCeased', CASE WHEN (src->>'ceased')::boolean THEN true END,
        'accessTier', src->'tier'))
$$;

CREATE OR REPLACE FUNCTION @extschema@._passport_catenax(src jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'identification', jsonb_build_object(
            -- Catena-X has no stationary category: stationary storage batteries are industrial batteries (Art. 3(14))
            'category', CASE m->>'category' WHEN 'ev' THEN 'EV' WHEN 'lmt' THEN 'LMT' WHEN 'sli' THEN 'SLI'
                                            WHEN 'portable' THEN 'portable' WHEN 'industrial' THEN 'industrial'
                                            WHEN 'stationary' THEN 'industrial' END,
            -- the data matrix / QR code carries the battery identifier
            'idDmc', src->'battery',
            'chemistry', m->'chemistry',
            'identification', jsonb_build_object(
                'type', jsonb_build_object('manufacturerPartId', m->'model_id', 'nameAtManufacturer', coalesce(made->'productName', m->'model_id')),
                'codes', made->'codes',
                'dataCarrier', CASE WHEN made ? 'dataCarrierLayout' THEN
                    jsonb_build_object('carrierType', 'QR', 'carrierLayout', made->'dataCarrierLayout') END,
                'classification', made->'classification')),
        'operation', jsonb_build_object('manufacturer', jsonb_build_object(
            'manufacturer', @extschema@._cx_id(coalesce(made->'manufacturer'->>'bpnl', made->'manufacturer'->>'id'), 'bpnl'),
            'facility', CASE WHEN @extschema@._cx_id(made->>'facility', 'bpna') IS NOT NULL THEN
                jsonb_build_array(jsonb_build_object('facility', @extschema@._cx_id(made->>'facility', 'bpna'))) END)),
        'characteristics', jsonb_build_object(
            'warranty', CASE WHEN issued->'warranty'->>'unit' IN ('day', 'month', 'year', 'cycle') THEN jsonb_build_object(
                'lifeValue', issued->'warranty'->'value', 'lifeUnit', 'unit:' || (issued->'warranty'->>'unit')) END,
            'physicalDimension', CASE WHEN m ? 'mass_kg' AND m->'mass_kg' <> 'null' THEN jsonb_build_object(
                'weight', jsonb_build_object('value', m->'mass_kg', 'unit', 'unit:kilogram')) END),
        'sustainability', jsonb_build_object(
            'documents', jsonb_build_object(
                'separateCollection', @extschema@._cx_doc(docs->'separateCollection', 'separate collection'),
                'wastePrevention', @extschema@._cx_doc(docs->'wastePrevention', 'waste prevention')),
            'carbonFootprint', CASE WHEN m->'carbon_footprint_kg_co2e_per_kwh' <> 'null' THEN (
                SELECT jsonb_agg(jsonb_build_object('value', c.value, 'unit', 'kg CO2e / kWh', 'type', 'Climate Change Total',
                                                    'lifecycle', c.stage,
                                                    'performanceClass', made->'carbonFootprint'->'performanceClass',
                                                    'rulebook', @extschema@._cx_doc(docs->'carbonFootprintRulebook', 'carbon footprint rules'),
                                                    'declaration', @extschema@._cx_doc(docs->'carbonFootprintStudy', 'carbon footprint study'),
                                                    'manufacturingPlant', CASE WHEN @extschema@._cx_id(made->>'facility', 'bpna') IS NOT NULL THEN
                                                        jsonb_build_array(jsonb_build_object('facility', @extschema@._cx_id(made->>'facility', 'bpna'))) END)
                                 ORDER BY c.n)
                  FROM (SELECT 0 AS n, 'total' AS stage, m->'carbon_footprint_kg_co2e_per_kwh' AS value
                        UNION ALL
                        SELECT 1, k.key, k.value FROM jsonb_each(CASE WHEN jsonb_typeof(made->'carbonFootprint'->'perStage') = 'object'
                                                                      THEN made->'carbonFootprint'->'perStage' END) k) c) END,
            'status', src->'status'),
        'materials', jsonb_build_object(
            'active', (SELECT jsonb_object_agg(k.key, k.value || jsonb_build_object(
                                  'recycled', coalesce((m->'recycled_content'->k.key->>'preConsumerShare')::numeric, 0)
                                            + coalesce((m->'recycled_content'->k.key->>'postConsumerShare')::numeric, 0)))
                         FROM jsonb_each(CASE WHEN jsonb_typeof(mat->'activeMaterials') = 'object' THEN mat->'activeMaterials' END) k),
            'hazardous', CASE WHEN jsonb_typeof(mat->'hazardousElements') = 'object' THEN mat->'hazardousElements' END,
            'composition', (SELECT jsonb_agg(jsonb_build_object(
                                    'id', jsonb_build_array(jsonb_build_object('id', x->'cas', 'type', 'CAS', 'name', x->'name')),
                                    'concentration', x->'concentrationPct', 'unit', 'unit:percent', 'critical', x->'critical',
                                    'documentation', coalesce(@extschema@._cx_doc(x->'documentation', 'composition'), '[]'),
                                    'recycled', coalesce(x->'recycledPct', '0'), 'location', x->'component',
                                    'renewable', coalesce(x->'renewablePct', '0')))
                              FROM jsonb_array_elements(@extschema@._bp_array(mat->'batteryMaterials')) x)),
        'performance', jsonb_build_object(
            'rated', jsonb_build_object(
                'voltage', jsonb_build_object('min', m->'min_voltage_v', 'max', m->'max_voltage_v', 'nominal', m->'nominal_voltage_v'),
                'roundTripEfficiency', jsonb_build_object('depthOfDischarge', r->'roundTripEfficiencyDoDPct',
                                                          'initial', r->'roundTripEfficiencyPct',
                                                          '50PercentLife', r->'roundTripEfficiencyAt50PctLifePct'),
                'resistance', jsonb_build_object('cell', r->'internalResistanceCellOhm', 'pack', r->'internalResistancePackOhm'),
                'power', jsonb_build_object('value', coalesce(r->'maximumPowerW', m->'original_power_w'),
                                            'at20SoC', r->'powerAt20SocW', 'at80SoC', r->'powerAt80SocW'),
                'capacity', jsonb_build_object('value', m->'rated_capacity_ah', 'thresholdExhaustion', m->'capacity_threshold_pct'),
                'temperature', jsonb_build_object('lower', r->'idleTemperatureLowerC', 'upper', r->'idleTemperatureUpperC'),
                'selfDischargingRate', r->'selfDischargePct',
                'lifetime', jsonb_build_object(
                    'expectedYears', r->'expectedLifetimeYears',
                    'report', @extschema@._cx_doc(docs->'lifetimeReferenceTest', 'lifetime reference test'),
                    'cycleLifeTesting', CASE WHEN jsonb_typeof(r->'cycleLifeTest') = 'object' THEN jsonb_build_object(
                        'temperature', r->'cycleLifeTest'->'temperatureC', 'cycles', coalesce(r->'cycleLifeTest'->'cycles', m->'expected_lifetime_cycles'),
                        'depthOfDischarge', r->'cycleLifeTest'->'depthOfDischargePct',
                        'appliedChargeRate', r->'cycleLifeTest'->'chargeRate',
                        'appliedDischargeRate', r->'cycleLifeTest'->'dischargeRate') END)),
            'dynamic', CASE WHEN jsonb_typeof(src->'dynamic') = 'object' THEN jsonb_build_object(
                'stateOfCharge', @extschema@._cx_dynamic(d->'soc_pct'),
                'fullCycles', @extschema@._cx_dynamic(d->'full_cycles'),
                'selfDischargingRate', d->'self_discharge_pct'->'value',
                'power', jsonb_build_object('fade', @extschema@._cx_dynamic(d->'power_fade_pct'),
                                            'remaining', @extschema@._cx_dynamic(d->'remaining_power_w')),
                'capacity', jsonb_build_object('fade', @extschema@._cx_dynamic(d->'capacity_fade_pct'),
                                               'throughput', @extschema@._cx_dynamic(d->'capacity_throughput_ah'),
                                               'capacity', @extschema@._cx_dynamic(d->'capacity_ah')),
                'roundTripEfficiency', jsonb_build_object('fade', @extschema@._cx_dynamic(d->'rte_fade_pct'),
                                                          'remaining', @extschema@._cx_dynamic(d->'rte_remaining_pct')),
                -- the battery's own level (its granularity) and, for a pack or module, its cells
                'resistance', jsonb_build_object(
                    'increase', jsonb_build_object('cell', @extschema@._cx_dynamic(d->'resistance_increase_cell_pct'))
                                || jsonb_build_object(coalesce(made->>'granularity', 'pack'), @extschema@._cx_dynamic(d->'resistance_increase_pct')),
                    'remaining', jsonb_build_object('cell', @extschema@._cx_dynamic(d->'re_cell_ohm'))
                                 || jsonb_build_object(coalesce(made->>'granularity', 'pack'), @extschema@._cx_dynamic(d->'re_ohm'))),
                'energy', jsonb_build_object('soce', @extschema@._cx_dynamic(d->'soce_pct'),
                                             'remaining', @extschema@._cx_dynamic(d->'remaining_energy_kwh'))) END),
        'conformity', jsonb_build_object(
            'declarationOfConformity', @extschema@._cx_doc(docs->'declarationOfConformity', 'EU declaration of conformity'),
            'resultOfTestReport', (SELECT jsonb_agg(t->0) FROM jsonb_array_elements(@extschema@._bp_array(src->'testReports')) x,
                                          LATERAL (SELECT @extschema@._cx_doc(x, 'test report') AS t) y WHERE t IS NOT NULL),
            'thirdPartyAssurance', @extschema@._cx_doc(docs->'thirdPartyAssurances', 'third-party assurance'),
            'dueDiligencePolicy', @extschema@._cx_doc(docs->'dueDiligenceReport', 'supply chain due diligence report')),
        'safety', jsonb_build_object(
            'usableExtinguishAgent', (SELECT jsonb_agg(jsonb_build_object('media', x->'media', 'fireClass', x->'fireClass'))
                                        FROM jsonb_array_elements(@extschema@._bp_array(made->'extinguishingAgents')) x),
            'safetyMeasures', @extschema@._cx_doc(docs->'safetyInstructions', 'safety instructions'),
            'meaningOfLabels', @extschema@._cx_doc(docs->'meaningOfLabels', 'meaning of labels'),
            'dismantling', (SELECT jsonb_agg(jsonb_build_object('contentType', 'URL', 'header', left(x->>'documentType', 100), 'content', x->'url'))
                              FROM jsonb_array_elements(@extschema@._bp_array(mat->'dismantling')) x)),
        'metadata', jsonb_build_object(
            'version', (jsonb_array_length(@extschema@._bp_array(src->'history')))::text,
            'issueDate', to_char((src->'issued'->>'at')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
            'expirationDate', issued->'passportExpiry',
            -- the operator's Catena-X BPNL, as registered when it is named by another scheme
            'economicOperatorId', @extschema@._cx_id(coalesce(issued->'operator'->>'bpnl', issued->'operator'->>'id'), 'bpnl'),
            'passportIdentifier', 'urn:uuid:' || @extschema@.passport_uuid(src->>'passportId')::text,
            -- the previous passport of this battery; the nil UUID for the first
            -- (for a successor's first passport: its first predecessor's, Art. 77(7); the others are in the native format)
            'predecessor', 'urn:uuid:' || coalesce(@extschema@.passport_uuid(src->'history'->-2->>'passportId'),
                                                   @extschema@.passport_uuid(src->'secondLife'->'predecessors'->0->>'passportId'),
                                                   '00000000-0000-0000-0000-000000000000'::uuid)::text,
            'registrationIdentifier', src->'passportId',
            'backupReference', src->'digitalLink'),
        'commercial', jsonb_build_object(
            'purpose', made->'purpose',
            'placedOnMarket', (SELECT to_char((h->>'issuedAt')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM jsonb_array_elements(@extschema@._bp_array(src->'history')) h LIMIT 1)),
        'handling', CASE WHEN mat ? 'sparePartSources' THEN jsonb_build_object(
            'applicable', true,
            'content', jsonb_build_object(
                'producer', (SELECT jsonb_agg(jsonb_build_object('id', @extschema@._cx_id(x->>'id', 'bpnl')))
                               FROM jsonb_array_elements(@extschema@._bp_array(mat->'sparePartSources')) x
                              WHERE @extschema@._cx_id(x->>'id', 'bpnl') IS NOT NULL),
                'sparePart', (SELECT jsonb_agg(jsonb_build_object('manufacturerPartId', c->'partNumber', 'nameAtManufacturer', c->'partName'))
                                FROM jsonb_array_elements(@extschema@._bp_array(mat->'sparePartSources')) x,
                                     jsonb_array_elements(@extschema@._bp_array(x->'components')) c))) END))
      FROM (SELECT src->'model' AS m, coalesce(src->'manufactured'->'data', '{}') AS made,
                   coalesce(src->'manufactured'->'data'->'documents', '{}') AS docs,
                   coalesce(src->'materials', '{}') AS mat,
                   coalesce(src->'issued'->'data', '{}') AS issued, coalesce(src->'manufactured'->'data'->'rated', '{}') AS r,
                   CASE WHEN jsonb_typeof(src->'dynamic') = 'object' THEN src->'dynamic' ELSE '{}' END AS d) x
$$;

-- Second life and composition (issue 14, deliverable 5; docs/registry.md).
-- The fold's state learns the successor a battery was consumed into; a
-- second-life operator may place the battery it made on the market; the
-- claims are found through an index.  The functions: 46_second_life.replace.
ALTER TYPE @extschema@.battery_fold_state ADD ATTRIBUTE successor text;
UPDATE @extschema@.event_kind SET roles = '{pack_maker,oem,second_life_operator}' WHERE event = 'placed_on_market';
CREATE INDEX battery_event_second_life ON @extschema@.battery_event USING gin (data jsonb_path_ops)
    WHERE event IN ('manufactured', 'status_changed') AND data IS NOT NULL;
CREATE OR REPLACE FUNCTION @extschema@._battery_verdict(e @extschema@.battery_event, member text, roles text[],
                                             st @extschema@.battery_fold_state, custody boolean, writer boolean,
                                             OUT problem text, OUT code text, OUT message text, OUT detail text, OUT hint text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k @extschema@.event_kind;
    needed text[];
    offered timestamptz;
    offered_by text;
    ns record;
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
    -- repurposing, remanufacturing; an id belongs to the first event naming it
    IF e.event = 'placed_on_market' OR (e.event = 'status_changed' AND e.new_status IN ('re-used', 'repurposed', 'remanufactured')) THEN
        IF e.passport_id IS NULL THEN
            problem := 'passport_missing'; code := 'BL038';
            message := format('"%s" must issue a new passport', e.event);
            hint := 'Set passport_id to the new passport''s identifier.';
        ELSIF EXISTS (SELECT 1 FROM @extschema@.battery_event o
                       WHERE o.passport_id = e.passport_id
                         -- only an event that issues a passport holds its id
                         AND (o.event = 'placed_on_market'
                              OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
                         AND (writer       -- the writer's row is not stored yet: any holder is earlier
                              OR (o.ledger_at, o.ledger_origin, o.ledger_seq) < (e.ledger_at, e.ledger_origin, e.ledger_seq))) THEN
            problem := 'passport_taken'; code := 'BL038';
            message := format('passport "%s" already exists', e.passport_id);
        END IF;
    ELSIF e.passport_id IS NOT NULL THEN
        problem := 'passport_not_issued'; code := 'BL038';
        message := format('"%s" does not issue a passport', e.event);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._battery_id_or_null(id text) RETURNS @extschema@.battery_id
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN id::@extschema@.battery_id;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._consume_verdict(e @extschema@.battery_event, writer boolean,
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

CREATE OR REPLACE FUNCTION @extschema@._battery_consumption(battery @extschema@.battery_id,
                                                 OUT successor text, OUT signer text, OUT new_status text,
                                                 OUT ledger_at timestamptz, OUT ledger_origin text, OUT ledger_seq bigint,
                                                 OUT occurred_at timestamptz, OUT restricted @extschema@.hash256)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.battery_event e
                    WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'status_changed' AND e.data ? 'successor') THEN
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

CREATE OR REPLACE FUNCTION @extschema@._battery_successor(battery @extschema@.battery_id) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (@extschema@._battery_consumption(battery)).successor;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._held_before(c @extschema@.battery_id, maker text, at timestamptz, origin text)
    RETURNS boolean LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    l record;
BEGIN
    SELECT x.manufactured, x.custodian INTO l FROM @extschema@.battery_lifecycle(c) x
     WHERE (x.ledger_at, x.ledger_origin) < (at, origin)
     ORDER BY x.ledger_at DESC, x.ledger_origin DESC, x.ledger_seq DESC LIMIT 1;
    RETURN coalesce(l.manufactured AND l.custodian = maker, false);
END $$;

CREATE OR REPLACE FUNCTION @extschema@._effective_manufacture(battery @extschema@.battery_id)
    RETURNS @extschema@.battery_event LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r @extschema@.battery_event;
BEGIN
    SELECT e.* INTO r FROM @extschema@.battery_lifecycle(battery) l
      JOIN @extschema@.battery_event e ON e.battery_id OPERATOR(@extschema@.=) battery
                                      AND e.ledger_origin = l.ledger_origin AND e.ledger_seq = l.ledger_seq
     WHERE l.effective AND l.event = 'manufactured' LIMIT 1;
    RETURN r;
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
    -- most batteries claim nothing: no fold for them (passports call this)
    IF NOT EXISTS (SELECT 1 FROM @extschema@.battery_event e
                    WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
                      AND (e.data ? 'predecessors' OR e.data ? 'components')) THEN
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

CREATE OR REPLACE FUNCTION @extschema@._check_second_life(n @extschema@.battery_event, member text) RETURNS void
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
            PERFORM @extschema@._refuse('BL031', format('malformed %s of battery %s', what, n.battery_id),
                format('"%s" must be a non-empty array of distinct battery identifiers in canonical form.', what),
                'e.g. ["gs1:01/09521234567899/21/B0025"]');
        END IF;
        IF list ? n.battery_id::text THEN
            PERFORM @extschema@._refuse('BL031', format('battery %s cannot be one of its own %s', n.battery_id, what));
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements_text(n.data->'components') p WHERE n.data->'predecessors' ? p) THEN
        PERFORM @extschema@._refuse('BL031', 'a battery cannot be both a predecessor and a component',
            hint => 'A predecessor is consumed whole (repurposing); a component is built in by its holder.');
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
            PERFORM @extschema@._refuse('BL036', format('the consumption of battery %s does not precede this manufacture', b),
                format('It is dated %s; registry order must put it before the successor''s manufacture on every member.', c.ledger_at),
                'Write the consumption and the manufacture in separate statements; check the server''s clock (NTP).');
        END IF;
        IF c.successor IS DISTINCT FROM n.battery_id::text OR c.signer IS DISTINCT FROM member THEN
            SELECT * INTO st FROM @extschema@.battery_state(b);
            PERFORM @extschema@._refuse('BL043', format('battery %s was not consumed into battery %s by member "%s"', b, n.battery_id, member),
                CASE WHEN NOT st.manufactured THEN 'It is not in the registry.'
                     WHEN c.successor IS NOT NULL THEN format('It was %s into battery %s by "%s".', c.new_status, c.successor, c.signer)
                     ELSE format('Its status is %s; its custodian is %s.', coalesce(st.status, 'none (not on the market)'),
                                 coalesce('"' || st.custodian || '"', 'nobody (a handover is pending)')) END,
                format('Its holder records "status_changed" into repurposed or remanufactured with data {"successor": "%s"} first.', n.battery_id));
        END IF;
    END LOOP;
    FOR x IN SELECT jsonb_array_elements_text(n.data->'components') LOOP
        b := x::@extschema@.battery_id;
        SELECT * INTO st FROM @extschema@.battery_state(b);
        IF NOT st.manufactured THEN
            PERFORM @extschema@._refuse('BL036', format('component %s is not in the registry', b),
                hint => 'Its maker records its "manufactured" event first.');
        ELSIF st.custodian IS DISTINCT FROM member THEN
            PERFORM @extschema@._refuse('BL043', format('member "%s" does not hold component %s', member, b),
                format('Its custodian is %s.', coalesce('"' || st.custodian || '"', 'nobody (a handover is pending)')),
                'Its holder hands it over ("handover") and the pack''s maker accepts it first.');
        ELSIF EXISTS (SELECT 1 FROM @extschema@.battery_lifecycle(b) l
                       WHERE NOT (l.ledger_at, l.ledger_origin) < (statement_timestamp(), here)) THEN
            PERFORM @extschema@._refuse('BL036', format('the history of component %s does not precede this manufacture', b),
                'Registry order must put the component''s manufacture and custody before the pack''s on every member.',
                'Write them in separate statements; check the server''s clock (NTP).');
        END IF;
        SELECT e.battery_id INTO k FROM @extschema@.battery_event e
         WHERE e.event = 'manufactured' AND e.data @> jsonb_build_object('components', jsonb_build_array(x))
           AND EXISTS (SELECT 1 FROM @extschema@._second_life_claims(e.battery_id) cl WHERE cl.claim = 'component' AND cl.id = x AND cl.confirmed)
         LIMIT 1;
        IF k IS NOT NULL THEN
            PERFORM @extschema@._refuse('BL036', format('component %s is already part of battery %s', b, k));
        END IF;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._second_life_conflicts()
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

CREATE OR REPLACE FUNCTION @extschema@.battery_lifecycle(battery @extschema@.battery_id)
    RETURNS TABLE (ledger_at timestamptz, ledger_origin text, ledger_seq bigint, event text, signer text,
                   effective boolean, problem text, message text, custody boolean,
                   status text, passport_id text, custodian text, handover_to text, manufactured boolean)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT f.ledger_at, f.ledger_origin, f.ledger_seq, f.event, f.signer, f.effective, f.problem, f.message,
                        f.custody, f.status, f.passport_id, f.custodian, f.handover_to, f.manufactured
                   FROM @extschema@._battery_fold(battery, ROW(false, NULL, NULL, NULL, NULL, NULL), NULL, NULL, NULL) f;
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
    -- excludes the other until the consortium settles it (both are named)
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member, 'namespace_contested', 'conflict',
           format('namespace "%s" of "%s" overlaps "%s" of "%s"', n.namespace, n.member, f.namespace, f.member)
      FROM @extschema@.id_namespace n
      JOIN @extschema@.id_namespace f ON f.member <> n.member
       AND (@extschema@._ns_covers(f.namespace, n.namespace) OR @extschema@._ns_covers(n.namespace, f.namespace))
     WHERE @extschema@._ns_hosted(n.member, n.ledger_origin) AND @extschema@._ns_hosted(f.member, f.ledger_origin)
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
    -- a registration written where its member is not hosted counts for nothing
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member, 'namespace_not_hosted', 'equivocation',
           format('namespace "%s" registered for "%s" by origin "%s", where that member is not hosted', n.namespace, n.member, n.ledger_origin)
      FROM @extschema@.id_namespace n
     WHERE NOT @extschema@._ns_hosted(n.member, n.ledger_origin)
    UNION ALL
    -- second life and composition: claims of a manufacture the predecessors' and
    -- components' own histories do not confirm
    SELECT c.battery_id, c.ledger_origin, c.ledger_seq, c.event, c.signer, c.problem, c.kind, c.message
      FROM @extschema@._second_life_conflicts() c
$$;

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
        PERFORM @extschema@._refuse('BL030', format('unknown battery event "%s"', NEW.event),
            hint => 'See battledger.event_kind.');
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
        PERFORM @extschema@._refuse(v.code, v.message, v.detail, v.hint);
    END IF;

    IF NEW.event = 'manufactured' THEN
        IF NOT EXISTS (SELECT 1 FROM @extschema@.battery_model m WHERE m.model_id = NEW.model_id) THEN
            PERFORM @extschema@._refuse('BL031', format('unknown battery model "%s"', NEW.model_id),
                hint => 'Declare it in battledger.battery_model first.');
        END IF;
        IF NEW.lots IS NOT NULL THEN
            PERFORM @extschema@._check_inputs(NEW.lots, s.member, format('battery %s', NEW.battery_id));
        END IF;
        -- second life and composition: predecessors consumed by the signer, components it holds
        PERFORM @extschema@._check_second_life(NEW, s.member);
    ELSIF NEW.event = 'correction' THEN
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
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._passport_catenax(src jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'identification', jsonb_build_object(
            -- Catena-X has no stationary category: stationary storage batteries are industrial batteries (Art. 3(14))
            'category', CASE m->>'category' WHEN 'ev' THEN 'EV' WHEN 'lmt' THEN 'LMT' WHEN 'sli' THEN 'SLI'
                                            WHEN 'portable' THEN 'portable' WHEN 'industrial' THEN 'industrial'
                                            WHEN 'stationary' THEN 'industrial' END,
            -- the data matrix / QR code carries the battery identifier
            'idDmc', src->'battery',
            'chemistry', m->'chemistry',
            'identification', jsonb_build_object(
                'type', jsonb_build_object('manufacturerPartId', m->'model_id', 'nameAtManufacturer', coalesce(made->'productName', m->'model_id')),
                'codes', made->'codes',
                'dataCarrier', CASE WHEN made ? 'dataCarrierLayout' THEN
                    jsonb_build_object('carrierType', 'QR', 'carrierLayout', made->'dataCarrierLayout') END,
                'classification', made->'classification')),
        'operation', jsonb_build_object('manufacturer', jsonb_build_object(
            'manufacturer', @extschema@._cx_id(coalesce(made->'manufacturer'->>'bpnl', made->'manufacturer'->>'id'), 'bpnl'),
            'facility', CASE WHEN @extschema@._cx_id(made->>'facility', 'bpna') IS NOT NULL THEN
                jsonb_build_array(jsonb_build_object('facility', @extschema@._cx_id(made->>'facility', 'bpna'))) END)),
        'characteristics', jsonb_build_object(
            'warranty', CASE WHEN issued->'warranty'->>'unit' IN ('day', 'month', 'year', 'cycle') THEN jsonb_build_object(
                'lifeValue', issued->'warranty'->'value', 'lifeUnit', 'unit:' || (issued->'warranty'->>'unit')) END,
            'physicalDimension', CASE WHEN m ? 'mass_kg' AND m->'mass_kg' <> 'null' THEN jsonb_build_object(
                'weight', jsonb_build_object('value', m->'mass_kg', 'unit', 'unit:kilogram')) END),
        'sustainability', jsonb_build_object(
            'documents', jsonb_build_object(
                'separateCollection', @extschema@._cx_doc(docs->'separateCollection', 'separate collection'),
                'wastePrevention', @extschema@._cx_doc(docs->'wastePrevention', 'waste prevention')),
            'carbonFootprint', CASE WHEN m->'carbon_footprint_kg_co2e_per_kwh' <> 'null' THEN (
                SELECT jsonb_agg(jsonb_build_object('value', c.value, 'unit', 'kg CO2e / kWh', 'type', 'Climate Change Total',
                                                    'lifecycle', c.stage,
                                                    'performanceClass', made->'carbonFootprint'->'performanceClass',
                                                    'rulebook', @extschema@._cx_doc(docs->'carbonFootprintRulebook', 'carbon footprint rules'),
                                                    'declaration', @extschema@._cx_doc(docs->'carbonFootprintStudy', 'carbon footprint study'),
                                                    'manufacturingPlant', CASE WHEN @extschema@._cx_id(made->>'facility', 'bpna') IS NOT NULL THEN
                                                        jsonb_build_array(jsonb_build_object('facility', @extschema@._cx_id(made->>'facility', 'bpna'))) END)
                                 ORDER BY c.n)
                  FROM (SELECT 0 AS n, 'total' AS stage, m->'carbon_footprint_kg_co2e_per_kwh' AS value
                        UNION ALL
                        SELECT 1, k.key, k.value FROM jsonb_each(CASE WHEN jsonb_typeof(made->'carbonFootprint'->'perStage') = 'object'
                                                                      THEN made->'carbonFootprint'->'perStage' END) k) c) END,
            'status', src->'status'),
        'materials', jsonb_build_object(
            'active', (SELECT jsonb_object_agg(k.key, k.value || jsonb_build_object(
                                  'recycled', coalesce((m->'recycled_content'->k.key->>'preConsumerShare')::numeric, 0)
                                            + coalesce((m->'recycled_content'->k.key->>'postConsumerShare')::numeric, 0)))
                         FROM jsonb_each(CASE WHEN jsonb_typeof(mat->'activeMaterials') = 'object' THEN mat->'activeMaterials' END) k),
            'hazardous', CASE WHEN jsonb_typeof(mat->'hazardousElements') = 'object' THEN mat->'hazardousElements' END,
            'composition', (SELECT jsonb_agg(jsonb_build_object(
                                    'id', jsonb_build_array(jsonb_build_object('id', x->'cas', 'type', 'CAS', 'name', x->'name')),
                                    'concentration', x->'concentrationPct', 'unit', 'unit:percent', 'critical', x->'critical',
                                    'documentation', coalesce(@extschema@._cx_doc(x->'documentation', 'composition'), '[]'),
                                    'recycled', coalesce(x->'recycledPct', '0'), 'location', x->'component',
                                    'renewable', coalesce(x->'renewablePct', '0')))
                              FROM jsonb_array_elements(@extschema@._bp_array(mat->'batteryMaterials')) x)),
        'performance', jsonb_build_object(
            'rated', jsonb_build_object(
                'voltage', jsonb_build_object('min', m->'min_voltage_v', 'max', m->'max_voltage_v', 'nominal', m->'nominal_voltage_v'),
                'roundTripEfficiency', jsonb_build_object('depthOfDischarge', r->'roundTripEfficiencyDoDPct',
                                                          'initial', r->'roundTripEfficiencyPct',
                                                          '50PercentLife', r->'roundTripEfficiencyAt50PctLifePct'),
                'resistance', jsonb_build_object('cell', r->'internalResistanceCellOhm', 'pack', r->'internalResistancePackOhm'),
                'power', jsonb_build_object('value', coalesce(r->'maximumPowerW', m->'original_power_w'),
                                            'at20SoC', r->'powerAt20SocW', 'at80SoC', r->'powerAt80SocW'),
                'capacity', jsonb_build_object('value', m->'rated_capacity_ah', 'thresholdExhaustion', m->'capacity_threshold_pct'),
                'temperature', jsonb_build_object('lower', r->'idleTemperatureLowerC', 'upper', r->'idleTemperatureUpperC'),
                'selfDischargingRate', r->'selfDischargePct',
                'lifetime', jsonb_build_object(
                    'expectedYears', r->'expectedLifetimeYears',
                    'report', @extschema@._cx_doc(docs->'lifetimeReferenceTest', 'lifetime reference test'),
                    'cycleLifeTesting', CASE WHEN jsonb_typeof(r->'cycleLifeTest') = 'object' THEN jsonb_build_object(
                        'temperature', r->'cycleLifeTest'->'temperatureC', 'cycles', coalesce(r->'cycleLifeTest'->'cycles', m->'expected_lifetime_cycles'),
                        'depthOfDischarge', r->'cycleLifeTest'->'depthOfDischargePct',
                        'appliedChargeRate', r->'cycleLifeTest'->'chargeRate',
                        'appliedDischargeRate', r->'cycleLifeTest'->'dischargeRate') END)),
            'dynamic', CASE WHEN jsonb_typeof(src->'dynamic') = 'object' THEN jsonb_build_object(
                'stateOfCharge', @extschema@._cx_dynamic(d->'soc_pct'),
                'fullCycles', @extschema@._cx_dynamic(d->'full_cycles'),
                'selfDischargingRate', d->'self_discharge_pct'->'value',
                'power', jsonb_build_object('fade', @extschema@._cx_dynamic(d->'power_fade_pct'),
                                            'remaining', @extschema@._cx_dynamic(d->'remaining_power_w')),
                'capacity', jsonb_build_object('fade', @extschema@._cx_dynamic(d->'capacity_fade_pct'),
                                               'throughput', @extschema@._cx_dynamic(d->'capacity_throughput_ah'),
                                               'capacity', @extschema@._cx_dynamic(d->'capacity_ah')),
                'roundTripEfficiency', jsonb_build_object('fade', @extschema@._cx_dynamic(d->'rte_fade_pct'),
                                                          'remaining', @extschema@._cx_dynamic(d->'rte_remaining_pct')),
                -- the battery's own level (its granularity) and, for a pack or module, its cells
                'resistance', jsonb_build_object(
                    'increase', jsonb_build_object('cell', @extschema@._cx_dynamic(d->'resistance_increase_cell_pct'))
                                || jsonb_build_object(coalesce(made->>'granularity', 'pack'), @extschema@._cx_dynamic(d->'resistance_increase_pct')),
                    'remaining', jsonb_build_object('cell', @extschema@._cx_dynamic(d->'re_cell_ohm'))
                                 || jsonb_build_object(coalesce(made->>'granularity', 'pack'), @extschema@._cx_dynamic(d->'re_ohm'))),
                'energy', jsonb_build_object('soce', @extschema@._cx_dynamic(d->'soce_pct'),
                                             'remaining', @extschema@._cx_dynamic(d->'remaining_energy_kwh'))) END),
        'conformity', jsonb_build_object(
            'declarationOfConformity', @extschema@._cx_doc(docs->'declarationOfConformity', 'EU declaration of conformity'),
            'resultOfTestReport', (SELECT jsonb_agg(t->0) FROM jsonb_array_elements(@extschema@._bp_array(src->'testReports')) x,
                                          LATERAL (SELECT @extschema@._cx_doc(x, 'test report') AS t) y WHERE t IS NOT NULL),
            'thirdPartyAssurance', @extschema@._cx_doc(docs->'thirdPartyAssurances', 'third-party assurance'),
            'dueDiligencePolicy', @extschema@._cx_doc(docs->'dueDiligenceReport', 'supply chain due diligence report')),
        'safety', jsonb_build_object(
            'usableExtinguishAgent', (SELECT jsonb_agg(jsonb_build_object('media', x->'media', 'fireClass', x->'fireClass'))
                                        FROM jsonb_array_elements(@extschema@._bp_array(made->'extinguishingAgents')) x),
            'safetyMeasures', @extschema@._cx_doc(docs->'safetyInstructions', 'safety instructions'),
            'meaningOfLabels', @extschema@._cx_doc(docs->'meaningOfLabels', 'meaning of labels'),
            'dismantling', (SELECT jsonb_agg(jsonb_build_object('contentType', 'URL', 'header', left(x->>'documentType', 100), 'content', x->'url'))
                              FROM jsonb_array_elements(@extschema@._bp_array(mat->'dismantling')) x)),
        'metadata', jsonb_build_object(
            'version', (jsonb_array_length(@extschema@._bp_array(src->'history')))::text,
            'issueDate', to_char((src->'issued'->>'at')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
            'expirationDate', issued->'passportExpiry',
            -- the operator's Catena-X BPNL, as registered when it is named by another scheme
            'economicOperatorId', @extschema@._cx_id(coalesce(issued->'operator'->>'bpnl', issued->'operator'->>'id'), 'bpnl'),
            'passportIdentifier', 'urn:uuid:' || @extschema@.passport_uuid(src->>'passportId')::text,
            -- the previous passport of this battery; the nil UUID for the first
            -- (for a successor's first passport: its first predecessor's, Art. 77(7); the others are in the native format)
            'predecessor', 'urn:uuid:' || coalesce(@extschema@.passport_uuid(src->'history'->-2->>'passportId'),
                                                   @extschema@.passport_uuid(src->'secondLife'->'predecessors'->0->>'passportId'),
                                                   '00000000-0000-0000-0000-000000000000'::uuid)::text,
            'registrationIdentifier', src->'passportId',
            'backupReference', src->'digitalLink'),
        'commercial', jsonb_build_object(
            'purpose', made->'purpose',
            'placedOnMarket', (SELECT to_char((h->>'issuedAt')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM jsonb_array_elements(@extschema@._bp_array(src->'history')) h LIMIT 1)),
        'handling', CASE WHEN mat ? 'sparePartSources' THEN jsonb_build_object(
            'applicable', true,
            'content', jsonb_build_object(
                'producer', (SELECT jsonb_agg(jsonb_build_object('id', @extschema@._cx_id(x->>'id', 'bpnl')))
                               FROM jsonb_array_elements(@extschema@._bp_array(mat->'sparePartSources')) x
                              WHERE @extschema@._cx_id(x->>'id', 'bpnl') IS NOT NULL),
                'sparePart', (SELECT jsonb_agg(jsonb_build_object('manufacturerPartId', c->'partNumber', 'nameAtManufacturer', c->'partName'))
                                FROM jsonb_array_elements(@extschema@._bp_array(mat->'sparePartSources')) x,
                                     jsonb_array_elements(@extschema@._bp_array(x->'components')) c))) END))
      FROM (SELECT src->'model' AS m, coalesce(src->'manufactured'->'data', '{}') AS made,
                   coalesce(src->'manufactured'->'data'->'documents', '{}') AS docs,
                   coalesce(src->'materials', '{}') AS mat,
                   coalesce(src->'issued'->'data', '{}') AS issued, coalesce(src->'manufactured'->'data'->'rated', '{}') AS r,
                   CASE WHEN jsonb_typeof(src->'dynamic') = 'object' THEN src->'dynamic' ELSE '{}' END AS d) x
$$;

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
    SELECT l.signer, e.occurred_at, l.status INTO resp FROM @extschema@.battery_lifecycle(battery) l
      JOIN @extschema@.battery_event e ON e.battery_id OPERATOR(@extschema@.=) battery
                                      AND e.ledger_origin = l.ledger_origin AND e.ledger_seq = l.ledger_seq
     WHERE l.effective AND l.event IN ('placed_on_market', 'status_changed')
     ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC LIMIT 1;
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

CREATE OR REPLACE FUNCTION @extschema@._performance_at(battery @extschema@.battery_id, co record) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v jsonb;
    src text := 'statusChange';
    at timestamptz := co.occurred_at;
BEGIN
    SELECT d.value INTO v FROM @extschema@.disclosure d
     WHERE d.commitment OPERATOR(@extschema@.=) co.restricted AND d.tier = 'legitimate_interest';
    IF v IS NULL THEN
        src := 'lastUsageReport';
        SELECT d.value, e.occurred_at INTO v, at FROM @extschema@.battery_event e
          JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND d.tier = 'legitimate_interest'
           AND (e.ledger_at, e.ledger_origin, e.ledger_seq) < (co.ledger_at, co.ledger_origin, co.ledger_seq)
         ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1;
    END IF;
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object('source', src, 'timestamp', at)
        || coalesce((SELECT jsonb_object_agg(a.name, jsonb_build_object('value', v->a.key, 'unit', a.unit))
                       FROM @extschema@._dynamic_attribute a WHERE v ? a.key), '{}');
END $$;

CREATE OR REPLACE FUNCTION @extschema@._passport(battery @extschema@.battery_id, tier text, format text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
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

-- The writer's cache of battery states (red team F8): a new UNLOGGED table,
-- empty after the update (the first write of each battery folds it whole).
CREATE UNLOGGED TABLE @extschema@.battery_fold_cache (
    battery_id    @extschema@.battery_id PRIMARY KEY,
    n             bigint NOT NULL,             -- lifecycle events folded
    last_at       timestamptz NOT NULL,        -- the last one's registry-order key
    last_origin   text NOT NULL,
    last_seq      bigint NOT NULL,
    generation    text NOT NULL,               -- _fold_generation() when folded
    passports     text[] NOT NULL,             -- passport ids the events named
    passport_rows bigint NOT NULL,             -- rows naming them, when folded
    st            @extschema@.battery_fold_state NOT NULL,
    handover_at     timestamptz,               -- the last effective handover's key
    handover_origin text
);
REVOKE ALL ON @extschema@.battery_fold_cache FROM PUBLIC;
CREATE OR REPLACE FUNCTION @extschema@._battery_verdict(e @extschema@.battery_event, member text, roles text[],
                                             st @extschema@.battery_fold_state, custody boolean, writer boolean,
                                             OUT problem text, OUT code text, OUT message text, OUT detail text, OUT hint text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k @extschema@.event_kind;
    needed text[];
    offered timestamptz;
    offered_by text;
    ns record;
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
    -- repurposing, remanufacturing; an id belongs to the first event naming it
    IF e.event = 'placed_on_market' OR (e.event = 'status_changed' AND e.new_status IN ('re-used', 'repurposed', 'remanufactured')) THEN
        IF e.passport_id IS NULL THEN
            problem := 'passport_missing'; code := 'BL038';
            message := format('"%s" must issue a new passport', e.event);
            hint := 'Set passport_id to the new passport''s identifier.';
        ELSIF EXISTS (SELECT 1 FROM @extschema@.battery_event o
                       WHERE o.passport_id = e.passport_id
                         -- only an event that issues a passport holds its id
                         AND (o.event = 'placed_on_market'
                              OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
                         AND (writer       -- the writer's row is not stored yet: any holder is earlier
                              OR (o.ledger_at, o.ledger_origin, o.ledger_seq) < (e.ledger_at, e.ledger_origin, e.ledger_seq))) THEN
            problem := 'passport_taken'; code := 'BL038';
            message := format('passport "%s" already exists', e.passport_id);
        END IF;
    ELSIF e.passport_id IS NOT NULL THEN
        problem := 'passport_not_issued'; code := 'BL038';
        message := format('"%s" does not issue a passport', e.event);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._battery_fold(battery @extschema@.battery_id, st @extschema@.battery_fold_state,
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

CREATE OR REPLACE FUNCTION @extschema@.battery_lifecycle(battery @extschema@.battery_id)
    RETURNS TABLE (ledger_at timestamptz, ledger_origin text, ledger_seq bigint, event text, signer text,
                   effective boolean, problem text, message text, custody boolean,
                   status text, passport_id text, custodian text, handover_to text, manufactured boolean)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY SELECT f.ledger_at, f.ledger_origin, f.ledger_seq, f.event, f.signer, f.effective, f.problem, f.message,
                        f.custody, f.status, f.passport_id, f.custodian, f.handover_to, f.manufactured
                   FROM @extschema@._battery_fold(battery, ROW(false, NULL, NULL, NULL, NULL, NULL), NULL, NULL, NULL) f;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._fold_generation() RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT concat_ws('/', (SELECT r.since FROM @extschema@.registry_rule r WHERE r.rule = 'custody'),
                     (SELECT count(*) FROM @extschema@.member_event), (SELECT count(*) FROM @extschema@.key_event),
                     (SELECT count(*) FROM @extschema@.id_namespace), (SELECT count(*) FROM @extschema@.event_kind),
                     (SELECT count(*) FROM @extschema@.status_role))
$$;

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
    END IF;
    FOR l IN SELECT * FROM @extschema@._battery_fold(battery, st, la, lo, ls) LOOP
        st := ROW(l.manufactured, l.status, l.passport_id, l.custodian, l.handover_to, l.fold_successor);
        n := n + 1; la := l.ledger_at; lo := l.ledger_origin; ls := l.ledger_seq;
        IF l.event = 'handover' AND l.effective THEN
            ha := l.ledger_at; ho := l.ledger_origin;
        END IF;
        IF l.named_passport IS NOT NULL AND NOT l.named_passport = ANY (ids) THEN
            ids := ids || l.named_passport;
        END IF;
    END LOOP;
    RETURN ROW(battery, n, la, lo, ls, gen, ids,
               (SELECT count(*) FROM @extschema@.battery_event o WHERE o.passport_id = ANY (ids)), st, ha, ho);
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
               handover_at = EXCLUDED.handover_at, handover_origin = EXCLUDED.handover_origin;
    END IF;
    RETURN r.st;
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
        PERFORM @extschema@._refuse('BL030', format('unknown battery event "%s"', NEW.event),
            hint => 'See battledger.event_kind.');
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
        PERFORM @extschema@._refuse(v.code, v.message, v.detail, v.hint);
    END IF;

    IF NEW.event = 'manufactured' THEN
        IF NOT EXISTS (SELECT 1 FROM @extschema@.battery_model m WHERE m.model_id = NEW.model_id) THEN
            PERFORM @extschema@._refuse('BL031', format('unknown battery model "%s"', NEW.model_id),
                hint => 'Declare it in battledger.battery_model first.');
        END IF;
        IF NEW.lots IS NOT NULL THEN
            PERFORM @extschema@._check_inputs(NEW.lots, s.member, format('battery %s', NEW.battery_id));
        END IF;
        -- second life and composition: predecessors consumed by the signer, components it holds
        PERFORM @extschema@._check_second_life(NEW, s.member);
    ELSIF NEW.event = 'correction' THEN
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
    END IF;
    RETURN NEW;
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
           -- no apply worker: nothing moves, a copy included (the apply
           -- worker starts the table copies and marks them done), so these
           -- come before "copying", which a member stopped or cut off in the
           -- middle of its join's copy would otherwise show for ever
           (4, st.pid IS NULL AND coalesce(ss.apply_error_count, 0) > 0, 'failing',
               pg_catalog.format('No apply worker runs; %s apply errors (the member down, its slot lost, or a row refused: server log).%s',
                                 ss.apply_error_count,
                                 CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s tables not copied yet.', sr.copying) ELSE '' END)),
           (5, st.pid IS NULL, 'not connected',
               'No apply worker runs for the subscription (the member down or unreachable, or its slot there lost: server log).'
               || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s tables not copied yet.', sr.copying) ELSE '' END),
           (6, sr.copying > 0 AND coalesce(ss.sync_error_count, 0) > 0, 'copy failing',
               pg_catalog.format('%s tables not copied yet; %s copy errors (server log).', sr.copying, ss.sync_error_count)),
           (7, sr.copying > 0, 'copying', pg_catalog.format('%s tables not copied yet.', sr.copying)),
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

CREATE OR REPLACE FUNCTION @extschema@.verify_member(member text)
    RETURNS TABLE (tbl text, problem text, detail text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sql text;
    t record;
    n bigint;
    cp record;
    -- progress: one step per table and check (verify() reports its own rows)
    what text := pg_catalog.format('verify_member(%s)', member);
    steps bigint := (SELECT count(*) + 2 * count(*) FILTER (WHERE l.signer_roles IS NOT NULL) FROM @extschema@.ledger_tables l)
                    + (SELECT count(DISTINCT p.tbl) FROM @extschema@.peer_leaf p WHERE p.origin = member);
    done bigint := 0;
    started timestamptz := pg_catalog.clock_timestamp();
    last timestamptz := started;
BEGIN
    FOR t IN SELECT l.tbl FROM @extschema@.ledger_tables l ORDER BY l.tbl::text LOOP
        RETURN QUERY SELECT t.tbl::text, v.problem, coalesce(v.chain_key || ': ', '') || v.detail
                       FROM @extschema@.verify(t.tbl, member) v;
        done := done + 1;
        last := @extschema@._progress(what, 'checks', done, steps, started, last);
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
            done := done + 1;
            CONTINUE;
        END IF;
        -- Leaves and rows are matched by grouping both on (seq, hash), not by
        -- a join: neither side has an index on (origin, seq), and right after
        -- a join's copy the tables have no statistics yet, so the planner
        -- takes the leaves for one row and plans an anti join as a nested
        -- loop scanning the whole table per leaf (quadratic: 52 s for 20,000
        -- rows).  A grouping is hashed or sorted whatever the statistics say.
        EXECUTE format('SELECT coalesce(sum(g.leaves), 0) FROM ('
                       '  SELECT count(*) FILTER (WHERE u.leaf) AS leaves, bool_or(NOT u.leaf) AS received'
                       '    FROM (SELECT true AS leaf, p.seq, p.row_hash AS h FROM @extschema@.peer_leaf p'
                       '           WHERE p.origin = $1 AND p.tbl = $2'
                       '          UNION ALL'
                       '          SELECT false, r.ledger_seq, r.ledger_hash FROM %s r WHERE r.ledger_origin = $1) u'
                       '   GROUP BY u.seq, u.h) g WHERE NOT g.received', t.rel)
            INTO n USING member, t.tbl;
        IF n > 0 THEN
            RETURN QUERY SELECT t.tbl, 'leaf_without_row'::text, format('%s leaves name rows not received.', n);
        END IF;
        done := done + 1;
        last := @extschema@._progress(what, 'checks', done, steps, started, last);
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
        done := done + 1;
        last := @extschema@._progress(what, 'checks', done, steps, started, last);
    END LOOP;
    -- a row dated well before a row the member sealed earlier: within a
    -- member, log order is commit order, so only a transaction open that long
    -- (battledger.max_backdate) dates a row so far back honestly; a new
    -- chain has no predecessor to bound its date otherwise, and registry order
    -- follows the date (docs/security.md, "backdated rows")
    -- (each leaf gets its row's ledger_at by a window over leaves and rows
    -- partitioned by (seq, hash), not by a join, for the reason given above)
    SELECT string_agg(format('SELECT v.leaf_index, v.ledger_at, %L::text AS tbl FROM ('
                             '  SELECT w.leaf_index, max(w.ledger_at) OVER (PARTITION BY w.seq, w.h) AS ledger_at'
                             '    FROM (SELECT p.leaf_index, p.seq, p.row_hash AS h, NULL::timestamptz AS ledger_at'
                             '            FROM @extschema@.peer_leaf p WHERE p.origin = $1 AND p.tbl = %L'
                             '          UNION ALL'
                             '          SELECT NULL, r.ledger_seq, r.ledger_hash, r.ledger_at FROM ONLY %s r'
                             '           WHERE r.ledger_origin = $1) w) v'
                             ' WHERE v.leaf_index IS NOT NULL AND v.ledger_at IS NOT NULL',
                             l.tbl::text, n.nspname || '.' || c.relname, l.tbl), ' UNION ALL ')
      INTO sql FROM @extschema@.ledger_tables l JOIN pg_class c ON c.oid = l.tbl JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE l.signer_roles IS NOT NULL;   -- only signed tables carry ledger_at
    -- and namespace registrations their own date, which decides what they govern
    sql := concat_ws(' UNION ALL ', sql,
        'SELECT p.leaf_index, r.at, ''@extschema@.id_namespace''::text FROM @extschema@.peer_leaf p '
        'JOIN ONLY @extschema@.id_namespace r ON r.ledger_origin = p.origin AND r.ledger_seq = p.seq '
        'AND r.ledger_hash OPERATOR(@extschema@.=) p.row_hash WHERE p.origin = $1 AND p.tbl = ''@extschema@.id_namespace''');
    IF sql IS NOT NULL THEN
        RETURN QUERY EXECUTE format(
            'SELECT x.tbl, ''backdated_row''::text, pg_catalog.format(''%%s rows are dated more than %%s before a row the member sealed earlier (the first at leaf %%s).'', '
            '       count(*), $2, min(x.leaf_index)) '
            'FROM (SELECT u.*, max(u.ledger_at) OVER (ORDER BY u.leaf_index ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before '
            '        FROM (%s) u) x WHERE x.ledger_at < x.before - $2 GROUP BY x.tbl ORDER BY x.tbl', sql)
            USING member, coalesce(pg_catalog.current_setting('battledger.max_backdate', true), '600')::interval;
    END IF;
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
        done := done + 1;
        last := @extschema@._progress(what, 'checks', done, steps, started, last);
    END LOOP;
    -- registry events its rules should have refused: judged ineffective on
    -- every member (battery_lifecycle()), and named here as the member's doing
    RETURN QUERY SELECT 'battledger.battery_event'::text, 'registry_equivocation'::text,
                        pg_catalog.format('%s of battery %s (seq %s): %s', c.event, c.battery_id, c.ledger_seq, c.message)
                   FROM @extschema@.registry_conflicts() c
                  WHERE c.ledger_origin = member AND c.kind = 'equivocation' ORDER BY c.battery_id::text, c.ledger_seq;
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
COMMENT ON TABLE @extschema@.log_node IS 'this log''s stored perfect subtrees (levels >= 1), for O(log n) proofs';
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
-- as members and keys: which organisation owns which identifiers is the DBA's to register
REVOKE ALL ON FUNCTION @extschema@.add_id_namespace(text, text) FROM PUBLIC;
-- second life (85_passport.sql): the passport's second-life section reads
-- restricted values as the owner; only the tier functions call it
REVOKE ALL ON FUNCTION @extschema@._passport_second_life(@extschema@.battery_id, text),
    @extschema@._performance_at(@extschema@.battery_id, record) FROM PUBLIC;
