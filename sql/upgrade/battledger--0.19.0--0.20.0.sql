-- battledger 0.19.0 -> 0.20.0 (parts in sql/upgrade/0.19.0--0.20.0/)
-- lead: a number in a registry row's JSON read without an error, and the
-- rows creating lots with their signers' roles (before the functions that
-- use them; material_provenance() is an SQL function, checked when it is
-- created)
CREATE FUNCTION @extschema@._json_num(v jsonb) RETURNS numeric
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'bl_json_num';
CREATE VIEW @extschema@._lot_creation_rows AS
SELECT x.*, s.member AS signer,
       coalesce((SELECT m.roles FROM @extschema@.member_event m
                  WHERE m.member = s.member AND m.at <= x.ledger_at
                  ORDER BY m.at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1)
                && (SELECT k.roles FROM @extschema@.event_kind k WHERE k.event = x.event AND k.subject = 'lot'),
                false) AS in_role
  FROM @extschema@.lot_event x
  CROSS JOIN LATERAL (SELECT ke.member FROM @extschema@.key_event ke
                       WHERE ke.key_id OPERATOR(@extschema@.=) x.ledger_key_id AND ke.event = 'added' LIMIT 1) s
 WHERE x.event IN ('extracted', 'processed', 'secondary_created');
REVOKE ALL ON @extschema@._lot_creation_rows FROM PUBLIC;
CREATE OR REPLACE FUNCTION @extschema@._passport_holder_by(passport text, members text[], since timestamptz[],
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
            -- member) dated from its registration
            SELECT f.* FROM unnest(members, since) c(member, at)
              JOIN @extschema@.key_event k ON k.member = c.member AND k.event = 'added'
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

CREATE OR REPLACE FUNCTION @extschema@._passport_holder(passport text,
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

CREATE OR REPLACE FUNCTION @extschema@._passport_holder_arrived() RETURNS trigger
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

-- pp23: passport ids in a registered namespace are held by the first
-- issuing row the namespace allows (_passport_holder(), replaced above with
-- _battery_verdict() and _passport_holder_arrived()).  Its probe per key of
-- each claiming member needs this index (the same as sql/install/80_registry.sql).
CREATE INDEX battery_event_passport_signer ON @extschema@.battery_event (passport_id, ledger_key_id, ledger_at, ledger_origin, ledger_seq, battery_id)
    WHERE passport_id IS NOT NULL
      AND (event = 'placed_on_market'
           OR (event = 'status_changed' AND new_status IN ('re-used', 'repurposed', 'remanufactured')));
-- a squatter's issuing row stored before the update may now hold nothing,
-- and the id's rightful row hold it: the cached states were folded by the
-- old rule (the cache is unlogged and rebuilt on the next read or write)
TRUNCATE @extschema@.battery_fold_cache;
CREATE OR REPLACE FUNCTION @extschema@.lot_available_kg(lot text) RETURNS numeric
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    left_kg numeric;
BEGIN
    SELECT b.available_kg INTO left_kg FROM @extschema@._lot_balance(lot) b;
    RETURN left_kg;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._lot_ledger(lot text)
    RETURNS TABLE (step integer, battery_id @extschema@.battery_id, lot_id text, ledger_at timestamptz,
                   ledger_origin text, ledger_seq bigint, event text, signer text, mass_kg numeric,
                   effective boolean, holder text, offered text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
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
      LEFT JOIN LATERAL (SELECT x.member FROM @extschema@.key_event x
                          WHERE h.step = 1 AND x.key_id OPERATOR(@extschema@.=) h.ledger_key_id
                            AND x.event = 'added' LIMIT 1) k ON true
     ORDER BY h.ledger_at, h.ledger_origin, h.ledger_seq, h.step;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._lot_consumers(lot text)
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

CREATE OR REPLACE FUNCTION @extschema@._lot_balance(lot text, OUT holder text, OUT offered text, OUT available_kg numeric)
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

CREATE OR REPLACE FUNCTION @extschema@._check_inputs(r anyelement, tbl regclass, inputs jsonb, signer text, what text)
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
        IF cust.available_kg < inp.kg THEN
            PERFORM @extschema@._refuse_row(r, tbl, 'BL033', format('mass balance: lot "%s" has %s kg left, not %s kg',
                inp.lot, cust.available_kg, inp.kg));
            RETURN NULL;
        END IF;
        total := total + inp.kg;
    END LOOP;
    RETURN total;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._ns_candidates(key text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    candidates text[] := ARRAY[key];
    gs1 boolean := starts_with(key, 'gs1:');
BEGIN
    IF gs1 AND length(key) = 16 THEN
        RETURN ARRAY[key, left(key, 4), left(key, 5), left(key, 6), left(key, 7), left(key, 8), left(key, 9),
                     left(key, 10), left(key, 11), left(key, 12), left(key, 13), left(key, 14), left(key, 15)];
    END IF;
    FOR n IN 0 .. length(key) - 1 LOOP
        IF (gs1 AND n >= 4) OR substr(key, n + 1, 1) = '/' THEN
            candidates := candidates || left(key, n);
        END IF;
    END LOOP;
    RETURN candidates;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._id_owners(id @extschema@.battery_id, at timestamptz,
                                       OUT members text[], OUT namespaces text[], OUT since timestamptz)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT o.members, o.namespaces, o.since INTO members, namespaces, since
      FROM @extschema@._key_owners(@extschema@._id_key(id), at) o;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._text_id_key(id text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    gtin text;
    lead text;
BEGIN
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
        gtin := substring(id from '^\(01\)([0-9]{14})');
    ELSIF starts_with(lead, 'http') THEN
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

CREATE OR REPLACE FUNCTION @extschema@._key_owners(key text, at timestamptz,
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
       AND coalesce((SELECT bool_and(e.ledger_origin = n.ledger_origin) FROM @extschema@.member_event e
                      WHERE e.member = n.member AND e.event = 'added'), false);
END $$;

CREATE OR REPLACE FUNCTION @extschema@._model_holder(model text) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    holder text;
BEGIN
    -- (the claims read in the same statement as the model's rows: one query
    -- less on every passport's path, 0.20.0; _key_claims(NULL) is NULLs)
    SELECT s.member INTO holder
      FROM @extschema@._key_claims(@extschema@._text_id_key(model)) c
     CROSS JOIN @extschema@.battery_model m
     CROSS JOIN LATERAL (SELECT k.member FROM @extschema@.key_event k
                          WHERE k.key_id OPERATOR(@extschema@.=) m.ledger_key_id AND k.event = 'added'
                            AND EXISTS (SELECT FROM @extschema@.member_event e WHERE e.member = k.member)
                          LIMIT 1) s
     WHERE m.model_id = model
       AND (c.members IS NULL OR @extschema@._key_claim_allows(c.members, c.since, s.member, m.ledger_at))
     ORDER BY m.ledger_at, m.ledger_origin, m.ledger_seq LIMIT 1;
    RETURN holder;
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
    issued jsonb;
    model_holder text;
BEGIN
    -- the manufacture the fold accepts: another row (a member squatting the
    -- battery under another maker's namespace, a second "manufactured") must
    -- not give the passport its model, maker or date (red team r20, F1)
    -- (from the fold cache where it holds, read once here for the state as
    -- well: each read checks the cache against the registry)
    IF pg_is_in_recovery() THEN
        made := @extschema@._effective_manufacture(battery);
    ELSE
        fc := @extschema@._battery_fold_cached(battery);
        SELECT e.* INTO made FROM @extschema@.battery_event e
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.ledger_origin = fc.made_origin AND e.ledger_seq = fc.made_seq;
    END IF;
    IF made.battery_id IS NULL THEN
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
        SELECT coalesce(jsonb_agg(jsonb_build_array(f.ledger_origin, f.ledger_seq)), '[]') INTO issued
          FROM @extschema@._battery_fold(battery, ROW(false, NULL, NULL, NULL, NULL, NULL), NULL, NULL, NULL) f
         WHERE f.effective AND f.named_passport IS NOT NULL AND f.event IN ('placed_on_market', 'status_changed');
    ELSE
        SELECT (fc.st).* INTO st;
        issued := fc.issued;
        SELECT fc.resp_signer AS signer, e.occurred_at, fc.resp_status AS status INTO resp
          FROM @extschema@.battery_event e
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.ledger_origin = fc.resp_origin AND e.ledger_seq = fc.resp_seq;
    END IF;
    -- the model as its holder declared it last (red team r20, F4: another
    -- member's row of the model id, the latest, was read)
    -- (its rows by a key added for the holder: one probe of key_event per
    -- row, as _model_holder(), not a call of _signer(); 0.20.0)
    model_holder := @extschema@._model_holder(made.model_id);
    SELECT * INTO model FROM @extschema@.battery_model m WHERE m.model_id = made.model_id
       AND EXISTS (SELECT FROM @extschema@.key_event k
                    WHERE k.key_id OPERATOR(@extschema@.=) m.ledger_key_id AND k.event = 'added' AND k.member = model_holder)
     ORDER BY m.ledger_at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1;
    -- the event that issued the current passport (the fold's): the first of
    -- the battery's moves naming it.  The last row naming any passport id
    -- was read until 0.18.0, so a member moving a battery it did not hold
    -- (ineffective, an equivocation) set the passport's operator, issue date
    -- and warranty on every member (red team r20, F2).  An earlier issuing
    -- row naming the id would hold it, and the fold's would not be effective
    SELECT * INTO placed FROM @extschema@.battery_event e
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id = st.passport_id
       AND e.event IN ('placed_on_market', 'status_changed')
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1;

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
        -- the passports the fold's effective moves issued (red team r20, F2:
        -- every row naming an id was listed, a member's moves of a battery it
        -- did not hold included): from the cache, or the whole fold on a standby
        'history', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                               'passportId', e.passport_id, 'issuedAt', e.occurred_at,
                               'issuedBy', (@extschema@._signer(e.ledger_key_id)).member,
                               'status', CASE WHEN usage_ok THEN
                                   CASE WHEN e.event = 'placed_on_market' THEN 'original' ELSE e.new_status END END))
                           ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
                      FROM @extschema@.battery_event e
                     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.passport_id IS NOT NULL
                       AND (e.ledger_origin, e.ledger_seq) IN (SELECT i->>0, (i->>1)::bigint FROM jsonb_array_elements(issued) i)));

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
        -- 4, which leave keys to the walk: docs/benchmarks.md); a value that
        -- is no number is none (_json_num(): a cast made the passport fail)
        SELECT jsonb_object_agg(k.key, jsonb_build_object('value', @extschema@._json_num(k.raw), 'at', k.occurred_at,
                   'event', k.event, 'sequence', k.ledger_seq, 'ledgerHash', k.ledger_hash::text,
                   'leafIndex', @extschema@.leaf_index('@extschema@.battery_event', k.ledger_hash))),
               array_agg(k.key)
          INTO recent, recent_keys
          FROM (SELECT DISTINCT ON (a.key) a.key, r.value->a.key AS raw, r.occurred_at, r.event,
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
                           WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'installed'
                             -- signed in a role the event allows (red team r20, F3: a
                             -- member without one, bypassing its rules, wrote them)
                             AND EXISTS (SELECT 1 FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at) sg
                                           JOIN @extschema@.event_kind ek ON ek.event = e.event AND ek.subject = 'battery'
                                          WHERE sg.roles && ek.roles)),
            'dynamic', (SELECT CASE WHEN recent IS NULL AND older IS NULL THEN NULL
                                    ELSE coalesce(recent, '{}') || coalesce(older, '{}') END
                          FROM (SELECT jsonb_object_agg(a.key, jsonb_build_object('value', x.value, 'at', x.occurred_at,
                                   'event', (x.e).event, 'sequence', (x.e).ledger_seq, 'ledgerHash', (x.e).ledger_hash::text,
                                   'leafIndex', @extschema@.leaf_index('@extschema@.battery_event', (x.e).ledger_hash))) AS older
                                  FROM @extschema@._dynamic_attribute a
                                 CROSS JOIN LATERAL (
                                       -- (a value that is no number: none, not an error; _json_num())
                                       SELECT @extschema@._json_num(d.value->a.key) AS value, e.occurred_at, e
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
                                         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'negative_event'
                                           -- signed in a role the event allows (red team r20, F3: a
                                           -- member without one, bypassing its rules, wrote them)
                                           AND EXISTS (SELECT 1 FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at) sg
                                                         JOIN @extschema@.event_kind ek ON ek.event = e.event AND ek.subject = 'battery'
                                                        WHERE sg.roles && ek.roles)),
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

CREATE OR REPLACE FUNCTION @extschema@._lot_creation(lot text) RETURNS @extschema@.lot_event
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    key text := @extschema@._text_id_key(lot);
    c_members text[];
    c_since timestamptz[];
    r @extschema@.lot_event;
BEGIN
    IF key IS NOT NULL THEN
        SELECT c.members, c.since INTO c_members, c_since FROM @extschema@._key_claims(key) c;
    END IF;
    SELECT x.* INTO r FROM @extschema@.lot_event x
     WHERE (x.lot_id, x.ledger_origin, x.ledger_seq) =
           (SELECT v.lot_id, v.ledger_origin, v.ledger_seq FROM @extschema@._lot_creation_rows v
             WHERE v.lot_id = lot AND v.in_role
               AND (c_members IS NULL OR @extschema@._key_claim_allows(c_members, c_since, v.signer, v.ledger_at))
             ORDER BY v.ledger_at, v.ledger_origin, v.ledger_seq LIMIT 1);
    RETURN r;
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
              CROSS JOIN LATERAL (SELECT k.member FROM @extschema@.key_event k
                                   WHERE k.key_id OPERATOR(@extschema@.=) x.ledger_key_id AND k.event = 'added' LIMIT 1) s
             WHERE x.key IS NOT NULL AND s.member IS NOT NULL AND s.member IS DISTINCT FROM n.member
             ORDER BY n.namespace, n.member, n.ledger_origin, n.ledger_seq, x.ledger_at, x.ledger_origin, x.ledger_seq
            OFFSET 0) o
     -- (after the DISTINCT: once per registration named)
     WHERE @extschema@._ns_hosted(o.member, o.ledger_origin)
    UNION ALL
    -- a registration written where its member is not hosted counts for nothing
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member, 'namespace_not_hosted', 'equivocation',
           format('namespace "%s" registered for "%s" by origin "%s", where that member is not hosted', n.namespace, n.member, n.ledger_origin)
      FROM @extschema@.id_namespace n
     WHERE NOT @extschema@._ns_hosted(n.member, n.ledger_origin)
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

CREATE OR REPLACE FUNCTION @extschema@._passport_batterypass(src jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT jsonb_build_object(
        'urn:samm:io.BatteryPass.GeneralProductInformation:1.2.0#GeneralProductInformation', jsonb_strip_nulls(jsonb_build_object(
            'productIdentifier', m->'model_id',
            'batteryPassportIdentifier', 'urn:battledger:' || replace(@extschema@.passport_uuid(src->>'passportId')::text, '-', ''),
            'batteryCategory', CASE WHEN m->>'category' IN ('lmt', 'ev', 'industrial', 'stationary') THEN m->'category' END,
            'manufacturerInformation', @extschema@._bp_contact(made->'manufacturer'),
            'manufacturingDate', src->'manufactured'->'at',
            'batteryStatus', CASE src->>'status' WHEN 'original' THEN 'Original' WHEN 're-used' THEN 'Reused'
                                 WHEN 'repurposed' THEN 'Repurposed' WHEN 'remanufactured' THEN 'Remanufactured'
                                 WHEN 'waste' THEN 'Waste' END,
            'batteryMass', m->'mass_kg',
            'manufacturingPlace', @extschema@._bp_address(made->'manufacturingPlace'),
            'operatorInformation', @extschema@._bp_contact(issued->'operator'),
            'puttingIntoService', src->'inService',
            -- the schema's type is a month of the year (xsd:gMonth): only 1 to 12 months fit
            -- (a value that is not a number is none: _json_num(); a cast
            -- made the whole passport fail on an application's typo)
            'warrentyPeriod', CASE WHEN issued->'warranty'->>'unit' = 'month'
                                    AND @extschema@._json_num(issued->'warranty'->'value') BETWEEN 1 AND 12
                                   THEN '--' || lpad((@extschema@._json_num(issued->'warranty'->'value')::int)::text, 2, '0') END)),
        'urn:samm:io.BatteryPass.Performance:1.2.0#PerformanceAndDurability', jsonb_strip_nulls(jsonb_build_object(
            'batteryTechicalProperties', jsonb_build_object(
                'originalPowerCapability', (SELECT jsonb_agg(jsonb_build_object('atSoC', p.soc, 'powerCapabilityAt', p.w))
                                              FROM (VALUES (20, r->'powerAt20SocW'), (80, r->'powerAt80SocW')) p(soc, w)
                                             WHERE p.w IS NOT NULL),
                'ratedMaximumPower', r->'maximumPowerW',
                'powerCapabilityRatio', r->'powerCapabilityRatio',
                'ratedEnergy', m->'rated_energy_kwh',
                'expectedNumberOfCycles', m->'expected_lifetime_cycles',
                'initialSelfDischarge', r->'selfDischargePct',
                'roundtripEfficiency', r->'roundTripEfficiencyPct',
                'ratedCapacity', m->'rated_capacity_ah',
                'initialInternalResistance', (SELECT jsonb_agg(jsonb_build_object('ohmicResistance', x.ohm, 'batteryComponent', x.c))
                                                FROM (VALUES ('cell', r->'internalResistanceCellOhm'), ('module', r->'internalResistanceModuleOhm'),
                                                             ('pack', r->'internalResistancePackOhm')) x(c, ohm)
                                               WHERE x.ohm IS NOT NULL),
                'expectedLifetime', r->'expectedLifetimeYears',
                'cRate', r->'cRate',
                'nominalVoltage', m->'nominal_voltage_v',
                'minimumVoltage', m->'min_voltage_v',
                'maximumVoltage', m->'max_voltage_v',
                'capacityThresholdForExhaustion', m->'capacity_threshold_pct',
                'lifetimeReferenceTest', made->'documents'->'lifetimeReferenceTest'->'url',
                'cRateLifeCycleTest', r->'cycleLifeTest'->'chargeRate',
                -- one number in the schema for a range: the upper limit
                'temperatureRangeIdleState', r->'idleTemperatureUpperC'),
            'batteryCondition', CASE WHEN jsonb_typeof(src->'dynamic') = 'object' THEN jsonb_build_object(
                'energyThroughput', d->'energy_throughput_kwh'->'value',
                'capacityThroughput', @extschema@._bp_dynamic(d->'capacity_throughput_ah', 'capacityThroughputValue'),
                'numberOfFullCycles', @extschema@._bp_dynamic(d->'full_cycles', 'numberOfFullCyclesValue'),
                'stateOfCertifiedEnergy', @extschema@._bp_dynamic(d->'soce_pct', 'stateOfCertifiedEnergyValue'),
                'capacityFade', @extschema@._bp_dynamic(d->'capacity_fade_pct', 'capacityFadeValue'),
                'remainingEnergy', @extschema@._bp_dynamic(d->'remaining_energy_kwh', 'remainingEnergyalue'),
                'remainingCapacity', @extschema@._bp_dynamic(d->'capacity_ah', 'remainingCapacityValue'),
                'negativeEvents', (SELECT jsonb_agg(jsonb_build_object('negativeEvent', coalesce(n->>'kind', 'unspecified'), 'lastUpdate', n->'at'))
                                     FROM jsonb_array_elements(@extschema@._bp_array(src->'negativeEvents')) n),
                'temperatureInformation', CASE WHEN d ?& ARRAY['t_extreme_high_min', 't_extreme_low_min',
                                                               't_extreme_high_charging_min', 't_extreme_low_charging_min'] THEN
                    jsonb_build_object('timeExtremeHighTemp', d->'t_extreme_high_min'->'value',
                                       'timeExtremeLowTemp', d->'t_extreme_low_min'->'value',
                                       'timeExtremeHighTempCharging', d->'t_extreme_high_charging_min'->'value',
                                       'timeExtremeLowTempCharging', d->'t_extreme_low_charging_min'->'value',
                                       'lastUpdate', d->'t_extreme_high_min'->'at') END,
                'remainingPowerCapability', CASE WHEN d ? 'remaining_power_w' AND d ? 'remaining_power_soc_pct' THEN
                    jsonb_build_array(jsonb_build_object('remainingPowerCapabilityValue', jsonb_build_object(
                        'rPCLastUpdated', d->'remaining_power_w'->'at', 'atSoC', d->'remaining_power_soc_pct'->'value',
                        'powerCapabilityAt', d->'remaining_power_w'->'value'), 'lastUpdate', d->'remaining_power_w'->'at')) END,
                'powerFade', d->'power_fade_pct'->'value',
                'roundTripEfficiencyFade', d->'rte_fade_pct'->'value',
                'evolutionOfSelfDischarge', CASE WHEN d ? 'self_discharge_evolution_pct' THEN
                    jsonb_build_object('evolutionOfSelfDischargeEntityValue', d->'self_discharge_evolution_pct'->'value') END,
                'currentSelfDischargingRate', @extschema@._bp_dynamic(d->'self_discharge_pct', 'currentSelfDischargingRateEntity'),
                'internalResistanceIncrease', CASE WHEN d ? 'resistance_increase_pct' THEN
                    jsonb_build_array(@extschema@._bp_dynamic(d->'resistance_increase_pct', 'internalResistanceIncreaseValue')
                                      || jsonb_build_object('batteryComponent', coalesce(made->>'granularity', 'pack'))) END,
                'roundTripEfficiencyat50PerCentCycleLife', r->'roundTripEfficiencyAt50PctLifePct',
                'remainingRoundTripEnergyEfficiency', @extschema@._bp_dynamic(d->'rte_remaining_pct', 'remainingRoundTripEnergyEfficiencyValue'),
                'stateOfCharge', @extschema@._bp_dynamic(d->'soc_pct', 'stateOfChargeValue')) END)),
        'urn:samm:io.BatteryPass.MaterialComposition:1.2.0#MaterialComposition', jsonb_strip_nulls(jsonb_build_object(
            'batteryChemistry', coalesce(src->'materials'->'chemistry',
                                         jsonb_build_object('shortName', split_part(m->>'chemistry', ' ', 1), 'clearName', m->'chemistry')),
            'batteryMaterials', (SELECT jsonb_agg(jsonb_build_object(
                                        'batteryMaterialLocation', jsonb_build_object('componentName', x->'component'),
                                        'batteryMaterialIdentifier', x->'cas', 'batteryMaterialName', x->'name',
                                        'batteryMaterialMass', x->'massKg', 'isCriticalRawMaterial', x->'critical'))
                                   FROM jsonb_array_elements(@extschema@._bp_array(src->'materials'->'batteryMaterials')) x),
            'hazardousSubstances', (SELECT jsonb_agg(jsonb_build_object(
                                        'hazardousSubstanceClass', x->'class', 'hazardousSubstanceName', x->'name',
                                        'hazardousSubstanceConcentration', x->'concentrationPct',
                                        'hazardousSubstanceImpact', x->'impact',
                                        'hazardousSubstanceLocation', jsonb_build_object('componentName', x->'component'),
                                        'hazardousSubstanceIdentifier', x->'cas'))
                                      FROM jsonb_array_elements(@extschema@._bp_array(src->'materials'->'hazardousSubstances')) x))),
        'urn:samm:io.BatteryPass.Circularity:1.2.0#Circularity', jsonb_strip_nulls(jsonb_build_object(
            'dismantlingAndRemovalInformation', (SELECT jsonb_agg(jsonb_build_object('documentType', x->'documentType',
                                                        'mimeType', x->'mimeType', 'documentURL', x->'url'))
                                                   FROM jsonb_array_elements(@extschema@._bp_array(src->'materials'->'dismantling')) x),
            'sparePartSources', (SELECT jsonb_agg(jsonb_build_object('nameOfSupplier', x->'name',
                                        'addressOfSupplier', @extschema@._bp_address(x->'address'),
                                        'emailAddressOfSupplier', x->'email', 'supplierWebAddress', x->'web',
                                        'components', x->'components'))
                                   FROM jsonb_array_elements(@extschema@._bp_array(src->'materials'->'sparePartSources')) x),
            'recycledContent', (SELECT jsonb_agg(jsonb_build_object('recycledMaterial', initcap(k.key),
                                        'preConsumerShare', k.value->'preConsumerShare', 'postConsumerShare', k.value->'postConsumerShare')
                                        ORDER BY k.key)
                                  FROM jsonb_each(CASE WHEN jsonb_typeof(m->'recycled_content') = 'object' THEN m->'recycled_content' END) k
                                 WHERE k.key IN ('cobalt', 'nickel', 'lithium', 'lead')),
            'safetyMeasures', CASE WHEN made->'documents' ? 'safetyInstructions' OR made ? 'extinguishingAgent' THEN jsonb_build_object(
                'safetyInstructions', made->'documents'->'safetyInstructions'->'url',
                'extinguishingAgent', made->'extinguishingAgent') END,
            'endOfLifeInformation', CASE WHEN made->'documents' ?| ARRAY['wastePrevention', 'separateCollection', 'informationOnCollection'] THEN jsonb_build_object(
                'wastePrevention', made->'documents'->'wastePrevention'->'url',
                'separateCollection', made->'documents'->'separateCollection'->'url',
                'informationOnCollection', made->'documents'->'informationOnCollection'->'url') END,
            'renewableContent', made->'renewableContentPct')),
        'urn:samm:io.BatteryPass.CarbonFootprint:1.2.0#CarbonFootprintForBatteries', jsonb_strip_nulls(jsonb_build_object(
            'batteryCarbonFootprint', m->'carbon_footprint_kg_co2e_per_kwh',
            'carbonFootprintPerLifecycleStage', (SELECT jsonb_agg(jsonb_build_object('lifecycleStage', k.key, 'carbonFootprint', k.value)
                                                        ORDER BY k.key)
                                                   FROM jsonb_each(CASE WHEN jsonb_typeof(made->'carbonFootprint'->'perStage') = 'object'
                                                                        THEN made->'carbonFootprint'->'perStage' END) k),
            'carbonFootprintPerformanceClass', made->'carbonFootprint'->'performanceClass',
            'carbonFootprintStudy', made->'documents'->'carbonFootprintStudy'->'url',
            'absoluteCarbonFootprint', made->'carbonFootprint'->'absoluteKgCo2e')),
        'urn:samm:io.BatteryPass.SupplyChainDueDiligence:1.2.0#SupplyChainDueDiligence', jsonb_strip_nulls(jsonb_build_object(
            'supplyChainDueDiligenceReport', made->'documents'->'dueDiligenceReport'->'url',
            'thirdPartyAussurances', made->'documents'->'thirdPartyAssurances'->'url',
            'supplyChainIndicies', made->'supplyChainIndex')),
        'urn:samm:io.BatteryPass.Labels:1.2.0#Labeling', jsonb_strip_nulls(jsonb_build_object(
            'declarationOfConformity', made->'documents'->'declarationOfConformity'->'url',
            'resultOfTestReport', src->'testReports'->-1->'url',
            'labels', (SELECT jsonb_agg(jsonb_build_object('labelingSubject', x->'subject', 'labelingSymbol', x->'symbol',
                                                           'labelingMeaning', jsonb_build_object('en', x->'meaning')))
                         FROM jsonb_array_elements(@extschema@._bp_array(made->'labels')) x))))
      FROM (SELECT src->'model' AS m, coalesce(src->'manufactured'->'data', '{}') AS made,
                   coalesce(src->'issued'->'data', '{}') AS issued, coalesce(src->'manufactured'->'data'->'rated', '{}') AS r,
                   CASE WHEN jsonb_typeof(src->'dynamic') = 'object' THEN src->'dynamic' ELSE '{}' END AS d) x
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
                                  'recycled', coalesce(@extschema@._json_num(m->'recycled_content'->k.key->'preConsumerShare'), 0)
                                            + coalesce(@extschema@._json_num(m->'recycled_content'->k.key->'postConsumerShare'), 0)))
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

CREATE OR REPLACE FUNCTION @extschema@.material_provenance(battery @extschema@.battery_id)
    RETURNS TABLE (depth int, lot_id text, event text, material text, lot_mass_kg numeric, used_kg numeric,
                   country text, facility text, member text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE used(depth, lot, kg) AS (
        SELECT 1, i->>'lot', @extschema@._json_num(i->'mass_kg')
          FROM @extschema@.battery_event e, jsonb_array_elements(e.lots) i
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
           -- the manufacture the fold accepts: not a squatter's lots (red team r20, F1)
           AND e.ledger_hash OPERATOR(@extschema@.=) (@extschema@._effective_manufacture(battery)).ledger_hash
           AND jsonb_typeof(e.lots) = 'array'
        -- UNION, not UNION ALL: a lot named at the same depth with the same
        -- mass by several paths is listed once.  One row per path let a lot
        -- whose inputs name the same lots many times (itself, written past
        -- the rules; or ten lots a level each naming the ten below) make
        -- 3^19 rows or more (red team r23, F2)
        UNION
        -- a lot's inputs, and below its material, from the creation the
        -- registry counts (_lot_creation()): not every row creating the
        -- id, another member's among them
        SELECT u.depth + 1, i->>'lot', @extschema@._json_num(i->'mass_kg')
          FROM used u
          CROSS JOIN LATERAL @extschema@._lot_creation(u.lot) le
          CROSS JOIN LATERAL jsonb_array_elements(le.inputs) i
         WHERE u.depth < 20 AND le.event = 'processed' AND jsonb_typeof(le.inputs) = 'array'
    )
    SELECT u.depth, u.lot, c.event, c.material, c.mass_kg, u.kg, c.country, c.facility,
           (@extschema@._signer(c.ledger_key_id)).member
      FROM used u
      CROSS JOIN LATERAL @extschema@._lot_creation(u.lot) c
     WHERE c.lot_id IS NOT NULL
     ORDER BY u.depth, u.lot
$$;

CREATE OR REPLACE FUNCTION @extschema@.recycled_content(battery @extschema@.battery_id)
    RETURNS TABLE (material text, pre_consumer_pct numeric, post_consumer_pct numeric, consumed_kg numeric, lots bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY
    WITH RECURSIVE consumed AS (
        SELECT i->>'lot' AS lot, sum(@extschema@._json_num(i->'mass_kg')) AS kg
          FROM @extschema@.battery_event e, jsonb_array_elements(e.lots) i
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
           AND jsonb_typeof(e.lots) = 'array'
           -- the manufacture the fold accepts: not a squatter's lots (red team r20, F1)
           AND e.ledger_hash OPERATOR(@extschema@.=) (@extschema@._effective_manufacture(battery)).ledger_hash
         GROUP BY 1
    ), trace(root, depth, front, pre, post, material) AS (
        -- level by level: one row per consumed lot (root) and depth, its
        -- frontier the lots at that depth with their summed weights, each
        -- with the event that created it (the one the registry counts, as
        -- _lot_creation() finds it, written out twice here so that it is
        -- planned in, not called per lot: not another member's creation of
        -- the id dated before it), and the recycled weights among them.
        -- One path per row, as until 0.20.0, let a lot whose inputs name
        -- the same lots many times (itself, three times, written past the
        -- rules; or ten lots a level each naming the ten below, which the
        -- rules allow) make 3^19 rows or more: every passport of a battery
        -- made from it ran until cancelled (red team r23, F1).  A weight is
        -- a lot's share of its root: a processed lot is its inputs in
        -- proportion to their masses.
        SELECT c.lot, 1, jsonb_build_object(c.lot, jsonb_build_object('w', 1.0, 'e', o.event, 'i', o.inputs)),
               CASE WHEN o.event = 'secondary_created' AND o.inputs->>'source' = 'pre_consumer' THEN 1.0 ELSE 0 END,
               CASE WHEN o.event = 'secondary_created' AND o.inputs->>'source' IS DISTINCT FROM 'pre_consumer' THEN 1.0 ELSE 0 END,
               o.material
          FROM consumed c
          LEFT JOIN LATERAL (SELECT v.event, v.inputs, v.material
                               FROM (SELECT @extschema@._text_id_key(c.lot) AS key) tk
                               LEFT JOIN LATERAL (SELECT x.members, x.since FROM @extschema@._key_claims(tk.key) x
                                                   WHERE tk.key IS NOT NULL) cl ON true
                               JOIN @extschema@._lot_creation_rows v ON v.lot_id = c.lot
                              WHERE v.in_role
                                AND (cl.members IS NULL OR @extschema@._key_claim_allows(cl.members, cl.since, v.signer, v.ledger_at))
                              ORDER BY v.ledger_at, v.ledger_origin, v.ledger_seq LIMIT 1) o ON true
        UNION ALL
        SELECT t.root, t.depth + 1, n.front, n.pre, n.post, NULL
          FROM trace t
          CROSS JOIN LATERAL (
              SELECT coalesce(jsonb_object_agg(k.lot, jsonb_build_object('w', k.w, 'e', o.event, 'i', o.inputs)), '{}') AS front,
                     coalesce(sum(k.w) FILTER (WHERE o.event = 'secondary_created' AND o.inputs->>'source' = 'pre_consumer'), 0) AS pre,
                     coalesce(sum(k.w) FILTER (WHERE o.event = 'secondary_created' AND o.inputs->>'source' IS DISTINCT FROM 'pre_consumer'), 0) AS post
                FROM (SELECT i->>'lot' AS lot,
                             sum((f.value->>'w')::numeric * @extschema@._json_num(i->'mass_kg') / nullif(s.total, 0)) AS w
                        FROM jsonb_each(t.front) f
                        CROSS JOIN LATERAL (SELECT sum(@extschema@._json_num(j->'mass_kg')) AS total
                                              FROM jsonb_array_elements(f.value->'i') j) s
                        CROSS JOIN LATERAL jsonb_array_elements(f.value->'i') i
                       WHERE f.value->>'e' = 'processed' AND jsonb_typeof(f.value->'i') = 'array'
                         AND f.value->>'w' IS NOT NULL
                       GROUP BY 1) k
                LEFT JOIN LATERAL (SELECT v.event, v.inputs
                                     FROM (SELECT @extschema@._text_id_key(k.lot) AS key) tk
                                     LEFT JOIN LATERAL (SELECT x.members, x.since FROM @extschema@._key_claims(tk.key) x
                                                         WHERE tk.key IS NOT NULL) cl ON true
                                     JOIN @extschema@._lot_creation_rows v ON v.lot_id = k.lot
                                    WHERE v.in_role
                                      AND (cl.members IS NULL OR @extschema@._key_claim_allows(cl.members, cl.since, v.signer, v.ledger_at))
                                    ORDER BY v.ledger_at, v.ledger_origin, v.ledger_seq LIMIT 1) o ON true
               WHERE k.lot IS NOT NULL AND k.w IS NOT NULL) n
         WHERE t.depth < 20 AND t.front <> '{}'
    ), per_root AS (
        SELECT t.root, sum(t.pre) AS pre, sum(t.post) AS post
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

CREATE OR REPLACE FUNCTION @extschema@.usage_derived(battery @extschema@.battery_id)
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
    -- the manufacture the fold accepts and the model as its holder declared
    -- it last, as passport() reads them: the first manufactured row in
    -- registry order and the latest row of the model id, whoever wrote
    -- them, were read until 0.20.0, so a squatter's row (red team r20, F1,
    -- F4) set the thresholds the usage values are judged by
    made := @extschema@._effective_manufacture(battery);
    SELECT * INTO m FROM @extschema@.battery_model x WHERE x.model_id = made.model_id
       AND (@extschema@._signer(x.ledger_key_id)).member = @extschema@._model_holder(made.model_id)
     ORDER BY x.ledger_at DESC, x.ledger_origin DESC, x.ledger_seq DESC LIMIT 1;
    -- numbers as _json_num() reads them: a value that is not one is not
    -- declared (a cast raised an error, and the passport with it)
    r := coalesce(made.data->'rated', '{}');
    deep_v := coalesce(@extschema@._json_num(r->'deepDischargeVoltageV'), m.min_voltage_v);
    over_v := coalesce(@extschema@._json_num(r->'overchargeVoltageV'), m.max_voltage_v);
    t_hi := @extschema@._json_num(r->'idleTemperatureUpperC');
    t_lo := @extschema@._json_num(r->'idleTemperatureLowerC');
    RETURN QUERY
    WITH c AS (
        SELECT e.ledger_at, e.ledger_origin, e.ledger_seq AS seq, e.ledger_hash AS hash, e.occurred_at,
               d.value->'cycle'->>'type' AS type,
               -- a failed measurement ("NaN"), or anything that is not a
               -- number, is not measured (_json_num(); a cast of a value
               -- that was not one raised an error)
               @extschema@._json_num(d.value->'cycle'->'duration_s') AS duration_s,
               @extschema@._json_num(d.value->'cycle'->'v_min') AS v_min,
               @extschema@._json_num(d.value->'cycle'->'v_max') AS v_max,
               @extschema@._json_num(d.value->'cycle'->'t_cell_max_c') AS t_max,
               @extschema@._json_num(d.value->'cycle'->'ambient_c') AS ambient,
               @extschema@._json_num(d.value->'cycle'->'ah') AS ah,
               @extschema@._json_num(d.value->'cycle'->'wh') AS wh,
               @extschema@._json_num(d.value->'cycle'->'capacity_ah') AS cap,
               @extschema@._json_num(d.value->'cycle'->'re_ohm') AS re,
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
        -- (none when the first round trip gave nothing back: a discharge of
        -- 0 Wh, an application's reading, made the division fail, and with
        -- it every legitimate-interest passport of the battery; red team r23, U)
        UNION ALL SELECT 'rte_fade_pct', round(100 * (f.rte - p.rte) / nullif(f.rte, 0), 2), p.occurred_at,
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

-- lead: CREATE OR REPLACE resets what the install sets by ALTER after the
-- function: material_provenance() runs as the owner (85_passport.sql);
-- _lot_creation() is the owner's functions'
ALTER FUNCTION @extschema@.material_provenance(@extschema@.battery_id) SECURITY DEFINER;
REVOKE ALL ON FUNCTION @extschema@._lot_creation(text) FROM PUBLIC;
CREATE OR REPLACE FUNCTION @extschema@.consortium_status()
    RETURNS TABLE (member text, subscription name, enabled boolean, received_lsn pg_lsn,
                   last_message timestamptz, apply_errors bigint, their_lag_bytes numeric,
                   checkpoint_size bigint,
                   checkpoint_verified_at timestamptz, state text, reason text, rejected bigint,
                   cosigned_by_me bigint, my_latest_cosigned_by_them bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT m.origin, m.subscription, s.subenabled, st.received_lsn, st.last_msg_receipt_time,
           coalesce(ss.apply_error_count, 0) + coalesce(ss.sync_error_count, 0),
           -- how far the member is behind this member's WAL, from its slot here
           (SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.confirmed_flush_lsn)
              FROM pg_catalog.pg_replication_slots r
             WHERE r.slot_name = @extschema@._slot_name(m.origin, pg_catalog.current_setting('battledger.origin', true))),
           pc.tree_size, pc.verified_at,
           f.state,
           -- this database's own triggers that fire on the member's rows
           -- before they are stored, named whatever the state: an initplan
           -- (once per call, not per member), in the target list, not one
           -- more lateral join (each join the planner orders costs every
           -- call its time: the status is planned on every call)
           CASE WHEN (SELECT @extschema@._arrival_triggers()) ->> s.oid::text IS NULL THEN f.reason
                ELSE pg_catalog.concat_ws(' ', f.reason, pg_catalog.format(
               'This database''s own triggers fire on the member''s rows before they are stored (BEFORE INSERT row triggers enabled ALWAYS or REPLICA, pg_trigger): %s. They can drop rows here (the member then looks "rows missing") or change them (refused as the member''s): check them before suspecting the member.',
               (SELECT @extschema@._arrival_triggers()) ->> s.oid::text)) END,
           (SELECT count(*) FROM @extschema@.rejections r WHERE r.origin = m.origin),
           (SELECT max(c.tree_size) FROM @extschema@.cosignature c
             WHERE c.log_origin = m.origin AND c.witness = pg_catalog.current_setting('battledger.origin', true)),
           -- of a checkpoint this log signed only (red team r21 F1, health())
           (SELECT max(c.tree_size) FROM @extschema@.cosignature c
              JOIN @extschema@.checkpoint k ON k.tree_size = c.tree_size AND k.root OPERATOR(@extschema@.=) c.root
             WHERE c.log_origin = pg_catalog.current_setting('battledger.origin', true) AND c.witness = m.origin)
      FROM @extschema@.consortium_member m
      LEFT JOIN pg_subscription s ON s.subname = m.subscription AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      LEFT JOIN pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL
      LEFT JOIN pg_stat_subscription_stats ss ON ss.subid = s.oid
      LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE r.srsubstate <> 'r') AS copying
                           FROM pg_subscription_rel r WHERE r.srsubid = s.oid) sr ON true
      LEFT JOIN LATERAL (SELECT a.backend_start AS started,
                                GREATEST(3 * pg_catalog.current_setting('wal_retrieve_retry_interval')::interval,
                                         interval '30 s') AS win
                           -- one backend's line, not the pg_stat_activity view's every
                           -- line per member; a NULL pid would ask for all of them
                           FROM (SELECT st.pid WHERE st.pid IS NOT NULL) w,
                                LATERAL pg_catalog.pg_stat_get_activity(w.pid) a WHERE a.pid = w.pid) wk ON true
      LEFT JOIN LATERAL (SELECT p.tree_size, p.verified_at FROM @extschema@.peer_checkpoint p
                          WHERE p.origin = m.origin ORDER BY p.tree_size DESC LIMIT 1) pc ON true
      -- the member's slot here: what it confirmed having received from this
      -- server.  Past this server's WAL, this server went back in time (a
      -- file-system backup or snapshot restored, slots included): the
      -- member holds rows of this log this server lost, and its walsender
      -- skips every transaction written here until the WAL passes that
      -- point, while the member's own status says "ok" (f23)
      LEFT JOIN LATERAL (SELECT r.confirmed_flush_lsn AS confirmed, pg_catalog.pg_current_wal_lsn() AS wal
                           FROM pg_catalog.pg_replication_slots r
                          WHERE r.slot_name = @extschema@._slot_name(m.origin, pg_catalog.current_setting('battledger.origin', true))
                            -- (a standby has no WAL position of its own)
                            AND r.confirmed_flush_lsn > CASE WHEN NOT pg_catalog.pg_is_in_recovery()
                                                             THEN pg_catalog.pg_current_wal_lsn() END) rw ON true
      -- (each evaluated once per member: a lateral on the nullable side of
      -- an outer join, so its values are placeholders, not expressions
      -- copied into each use; the key lists are read as the peer's triggers
      -- read them)
      LEFT JOIN LATERAL (SELECT @extschema@._lock_wait_reason(s.oid) AS reason,
                                @extschema@._log_keys_problem(m.log_vkey, m.origin) AS log_keys,
                                @extschema@._witness_keys_problem(m.witness_vkey, m.origin) AS witness_keys) lw ON true
      -- leaves stored past the last checkpoint verified here (peer_leaf's
      -- primary key, an empty range while the member seals): a member's
      -- leaves and the checkpoint that signs them come in one transaction,
      -- so leaves alone, for longer than battledger.unsealed_after, are a
      -- log that nothing here verifies (its checkpoint table left its
      -- publication, or its superuser wrote leaves without one)
      -- (the first and last by two probes of that key, not a count: a
      -- member flooding leaves it never seals must not make each call
      -- walk them)
      LEFT JOIN LATERAL (SELECT min(p.leaf_index) AS first, max(p.leaf_index) AS last
                           FROM @extschema@.peer_leaf p
                          WHERE p.origin = m.origin AND p.leaf_index >= coalesce(pc.tree_size, 0)) uv ON true
      -- what arrived, table by table (peer_arrival: a row per table per
      -- member, read by its primary key): leaves naming rows that never
      -- came, and rows no leaf has named for longer than
      -- battledger.unsealed_after; the tables are named in the reasons
      -- below, three at most, read only when the state holds
      LEFT JOIN LATERAL (SELECT
               count(*) FILTER (WHERE a.leaves_received > a.rows_received) AS missing_tables,
               sum(a.leaves_received - a.rows_received) FILTER (WHERE a.leaves_received > a.rows_received) AS missing_rows,
               count(*) FILTER (WHERE a.rows_received > a.leaves_received AND a.unsealed_since < pg_catalog.now() - u.after) AS unsealed_tables,
               sum(a.rows_received - a.leaves_received)
                   FILTER (WHERE a.rows_received > a.leaves_received AND a.unsealed_since < pg_catalog.now() - u.after) AS unsealed_rows,
               min(a.unsealed_since)
                   FILTER (WHERE a.rows_received > a.leaves_received AND a.unsealed_since < pg_catalog.now() - u.after) AS unsealed_since,
               min(u.after) AS after
          FROM (SELECT coalesce(pg_catalog.current_setting('battledger.unsealed_after', true), '600')::interval AS after) u,
               @extschema@.peer_arrival a
         WHERE a.origin = m.origin) ar ON true
      CROSS JOIN LATERAL (SELECT * FROM (VALUES
           -- first: a fault of this server, whatever its subscription to
           -- the member says (f23)
           (0, rw.confirmed IS NOT NULL, 'rewound',
               pg_catalog.format('The member confirmed receiving this server''s WAL up to %s (its slot %s here), past this server''s WAL (%s): this server was restored from a backup or snapshot taken before. '
                                 'The member holds rows and checkpoints of this log that this server lost, and skips whatever is written here until the WAL passes %s: stop writing and sealing, and see docs/consortium.md, "A member restored from a backup".',
                                 rw.confirmed, @extschema@._slot_name(m.origin, pg_catalog.current_setting('battledger.origin', true)), rw.wal, rw.confirmed)),
           (1, s.oid IS NULL, 'no subscription', 'Run the CREATE SUBSCRIPTION that battledger.join() returned.'),
           (2, EXISTS (SELECT 1 FROM @extschema@.log_conflict c WHERE c.origin = m.origin), 'log conflict',
               'The member published a checkpoint that contradicts one verified before: see battledger.log_conflict.'),
           -- keys the peer's checkpoint trigger cannot read (written by
           -- hand): every checkpoint of the member is refused, and the
           -- apply errors alone would not say why (red team r17k F5)
           (3, lw.log_keys IS NOT NULL, 'bad log keys',
               pg_catalog.format('The log keys pinned for the member (battledger.consortium_member.log_vkey) are not usable: %s. '
                                 'While the list breaks a rule every checkpoint from the member is refused (a weak key: those it signed): put back the keys join() and repin_log_key() pinned, oldest first.',
                                 lw.log_keys)),
           -- the same for its witness keys (0.18.0): each cosignature from
           -- the member is refused, and its subscription stopped, which
           -- alone said only "stopped"
           (4, lw.witness_keys IS NOT NULL, 'bad witness keys',
               pg_catalog.format('The witness keys pinned for the member (battledger.consortium_member.witness_vkey) are not usable: %s. '
                                 'While the list breaks a rule every cosignature from the member is refused (a weak key: those it signed) and its subscription stopped: put back the keys join() and repin_witness_key() pinned, oldest first, then ALTER SUBSCRIPTION %I ENABLE.',
                                 lw.witness_keys, m.subscription)),
           -- the member's last refusal, read only when stopped; a
           -- cosignature dated ahead (0.18.0) is named with its recovery
           (5, NOT s.subenabled, 'stopped',
               CASE WHEN NOT s.subenabled THEN coalesce(
                   (SELECT CASE r.problem
                             WHEN 'cosignature_ahead' THEN pg_catalog.format(
                                 'A cosignature from the member was refused: it is dated ahead of this member''s clock by more than battledger.max_clock_ahead (%s; battledger.rejections). '
                                 'If the member''s clock runs ahead, have it corrected: ALTER SUBSCRIPTION %I ENABLE retries the cosignature, accepted once this clock is within the bound of its date. '
                                 'One dated far ahead on purpose never will be: drop its remote transaction with ALTER SUBSCRIPTION %I SKIP (lsn = the "finished at" LSN of the error in the server log), then ENABLE.',
                                 coalesce(pg_catalog.current_setting('battledger.max_clock_ahead', true), '600'), m.subscription, m.subscription)
                             -- the table and problem: a checkpoint or a cosignature
                             -- refused was "a row" too (ops20)
                             ELSE pg_catalog.format('A row of %s from the member was refused (%s): see battledger.rejections.',
                                                    r.tbl, r.problem) END
                      FROM @extschema@.rejections r WHERE r.origin = m.origin ORDER BY r.at DESC LIMIT 1),
                   'The subscription is disabled.') END),
           -- no apply worker: nothing moves, a copy included (the apply
           -- worker starts the table copies and marks them done), so these
           -- come before "copying", which a member stopped or cut off in the
           -- middle of its join's copy would otherwise show for ever
           (6, st.pid IS NULL AND coalesce(ss.apply_error_count, 0) > 0, 'failing',
               pg_catalog.format('No apply worker runs; %s (the member down, its slot lost, or a row refused: server log).%s',
                                 @extschema@._counted(ss.apply_error_count, 'apply error', 'apply errors'),
                                 CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s not copied yet.', @extschema@._counted(sr.copying, 'table', 'tables')) ELSE '' END)),
           (7, st.pid IS NULL, 'not connected',
               'No apply worker runs for the subscription (the member down or unreachable, or its slot there lost: server log).'
               || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s not copied yet.', @extschema@._counted(sr.copying, 'table', 'tables')) ELSE '' END),
           (8, lw.reason IS NOT NULL, 'blocked',
               lw.reason || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s not copied yet.', @extschema@._counted(sr.copying, 'table', 'tables')) ELSE '' END),
           (9, sr.copying > 0 AND coalesce(ss.sync_error_count, 0) > 0, 'copy failing',
               pg_catalog.format('%s not copied yet; %s (server log).', @extschema@._counted(sr.copying, 'table', 'tables'),
                                 @extschema@._counted(ss.sync_error_count, 'copy error', 'copy errors'))),
           (10, sr.copying > 0, 'copying', pg_catalog.format('%s not copied yet.', @extschema@._counted(sr.copying, 'table', 'tables'))),
           (11, st.received_lsn IS NULL OR st.last_msg_receipt_time
                   < pg_catalog.now() - 2 * NULLIF(pg_catalog.current_setting('wal_receiver_timeout'), '0')::interval, 'silent',
               'The apply worker has heard nothing from the member for twice wal_receiver_timeout.'),
           -- a quarantine the DBA closed (close_quarantine(): rows that can
           -- never be stored, kept as evidence) is not counted, so that the
           -- member is not "quarantined" for good (ops21); a release that
           -- left rows held names the first and the way out
           (12, EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin AND q.closed_at IS NULL), 'quarantined',
               CASE WHEN EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin AND q.closed_at IS NULL) THEN
               (SELECT pg_catalog.concat_ws(' ',
                       pg_catalog.format('%s held back, %s held: see battledger.quarantine and battledger.held_row; battledger.release_chain() stores what extends the chain once the member has repaired it.',
                                         @extschema@._counted(count(*), 'chain', 'chains'), @extschema@._counted(sum(x.held), 'row', 'rows')),
                       -- the held row's chain key and problem (release_chain()'s
                       -- SQLERRM, which can quote a value) are its data: said
                       -- only to a caller who may read held_row; a pg_monitor
                       -- role gets the table and position (red team r22, S4)
                       (SELECT pg_catalog.format('Its last release could not store %s (the first: %s, %sposition %s%s). '
                                                 'Rows the member cannot repair (a forged row: its later rows link to it) never will be: '
                                                 'SELECT battledger.close_quarantine(%L, %L, %L) keeps them held for good, as evidence, and stops counting the member not ok (docs/consortium.md, "A quarantine that cannot be released").',
                                                 @extschema@._counted(f.n, 'row', 'rows'), f.tbl,
                                                 CASE WHEN f.readable THEN pg_catalog.format('chain %s, ', coalesce(f.chain_key, '(none)'))
                                                      WHEN f.quarantined_key IS NOT NULL THEN pg_catalog.format('chain %s, ', f.quarantined_key)
                                                      ELSE '' END,
                                                 f.seq,
                                                 CASE WHEN f.readable THEN ': ' || f.problem ELSE ': battledger.held_row says why' END,
                                                 m.origin, f.tbl, f.quarantined_key)
                          FROM (SELECT h.tbl, h.chain_key, h.seq, h.problem, q.chain_key AS quarantined_key, count(*) OVER () AS n,
                                       pg_catalog.has_table_privilege(session_user, '@extschema@.held_row', 'SELECT') AS readable
                                  FROM @extschema@.quarantine q
                                  JOIN @extschema@.held_row h
                                    ON h.origin = q.origin AND h.tbl = q.tbl AND (q.chain_key IS NULL OR h.chain_key = q.chain_key)
                                 WHERE q.origin = m.origin AND q.closed_at IS NULL AND h.problem IS NOT NULL
                                 ORDER BY h.tbl, h.chain_key, h.seq, h.held_at LIMIT 1) f))
                  FROM @extschema@.quarantine q
                  LEFT JOIN LATERAL (SELECT count(*) AS held FROM @extschema@.held_row h
                                      WHERE h.origin = q.origin AND h.tbl = q.tbl
                                        AND (q.chain_key IS NULL OR h.chain_key = q.chain_key)) x ON true
                 WHERE q.origin = m.origin AND q.closed_at IS NULL) END),
           -- a worker that errors in a loop (a replicated column missing
           -- here, its slot there gone after START_REPLICATION, any error
           -- the arrival checks do not see) is relaunched every
           -- wal_retrieve_retry_interval and lives for a moment each time:
           -- while it lives it looks like a working one.  The errors have no
           -- time, but the worker's start has (pg_stat_activity): errors
           -- counted and a worker younger than the window is "failing" until
           -- it has run that long without dying.  The window (three retry
           -- intervals, at least 30 s) outlives the loop's period; a member
           -- that merely restarted shows "failing" for that long after.  An
           -- owner who may not see the worker's start (no pg_read_all_stats;
           -- since 0.19.0 the function runs as the owner, not the caller)
           -- cannot tell: "failing" too, rather than an "ok" not read.  Last
           -- before "ok": a subscription resumed after a refusal counted one
           -- error, and its quarantine, when it has one, says more.
           (13, st.pid IS NOT NULL AND coalesce(ss.apply_error_count, 0) > 0
               AND coalesce(wk.started > pg_catalog.now() - wk.win, true), 'failing',
               CASE WHEN wk.started IS NULL
                    THEN pg_catalog.format('%s, and the apply worker''s start is not visible to this role (pg_read_all_stats): it may be restarting in a loop (server log).',
                                           @extschema@._counted(ss.apply_error_count, 'apply error', 'apply errors'))
                    ELSE pg_catalog.format('The apply worker started %s s ago, after %s: if it errors again it is restarting in a loop (server log); this clears once it has run %s s.',
                                           pg_catalog.round(extract(epoch FROM pg_catalog.now() - wk.started)),
                                           @extschema@._counted(ss.apply_error_count, 'apply error', 'apply errors'),
                                           pg_catalog.round(extract(epoch FROM wk.win))) END),
           -- last, so that none of the states above is hidden: the member's
           -- log names rows of a table that never arrived (the table left its
           -- publication, or a row filter leaves rows out); leaves arrive
           -- after their rows (commit order), so this is no transient
           (14, ar.missing_tables > 0, 'rows missing',
               CASE WHEN ar.missing_tables > 0 THEN pg_catalog.format(
                   '%s the member''s log names never arrived here: %s%s. Is the table still in the member''s publication battledger_member (pg_publication_tables there)? battledger.verify_member(%L) lists them.',
                   @extschema@._counted(ar.missing_rows, 'row', 'rows'),
                   (SELECT pg_catalog.string_agg(pg_catalog.format('%s: %s, %s received (last row %s, last leaf %s)',
                                                                   a.tbl, @extschema@._counted(a.leaves_received, 'leaf', 'leaves'),
                                                                   @extschema@._counted(a.rows_received, 'row', 'rows'),
                                                                   coalesce(a.last_row_at::text, 'not counted'),
                                                                   coalesce(a.last_leaf_at::text, 'not counted')), '; ' ORDER BY a.tbl)
                      FROM (SELECT * FROM @extschema@.peer_arrival a WHERE a.origin = m.origin AND a.leaves_received > a.rows_received
                             ORDER BY a.tbl LIMIT 3) a),
                   CASE WHEN ar.missing_tables > 3 THEN pg_catalog.format(' and %s more', @extschema@._counted(ar.missing_tables - 3, 'table', 'tables')) ELSE '' END,
                   m.origin) END),
           -- rows arrive before the checkpoint that seals them: only rows
           -- waiting longer than battledger.unsealed_after say the member
           -- stopped sealing
           (15, ar.unsealed_tables > 0, 'unsealed',
               CASE WHEN ar.unsealed_tables > 0 THEN pg_catalog.format(
                   '%s received from the member (%s%s) %s in no checkpoint since %s, longer than battledger.unsealed_after (%s): the member does not seal (its seal() or seal worker, battledger.seal_interval).',
                   @extschema@._counted(ar.unsealed_rows, 'row', 'rows'),
                   (SELECT pg_catalog.string_agg(a.tbl, ', ' ORDER BY a.tbl)
                      FROM (SELECT a.tbl FROM @extschema@.peer_arrival a
                             WHERE a.origin = m.origin AND a.rows_received > a.leaves_received
                               AND a.unsealed_since < pg_catalog.now() - ar.after ORDER BY a.tbl LIMIT 3) a),
                   CASE WHEN ar.unsealed_tables > 3 THEN pg_catalog.format(' and %s more', @extschema@._counted(ar.unsealed_tables - 3, 'table', 'tables')) ELSE '' END,
                   CASE WHEN ar.unsealed_rows = 1 THEN 'is' ELSE 'are' END,
                   ar.unsealed_since, ar.after) END),
           (16, uv.first IS NOT NULL AND coalesce(pc.verified_at, '-infinity')
                   < pg_catalog.now() - coalesce(pg_catalog.current_setting('battledger.unsealed_after', true), '600')::interval,
               'unverified',
               pg_catalog.format(
                   'leaves %s to %s of the member''s log arrived without a checkpoint that signs them; the last checkpoint verified here (size %s, at %s) is older than battledger.unsealed_after. Is battledger.checkpoint still in the member''s publication battledger_member (pg_publication_tables there)?',
                   uv.first, uv.last, coalesce(pc.tree_size, 0), coalesce(pc.verified_at::text, 'none'))),
           -- "ok", and the quarantines closed for good said (ops21)
           (17, true, 'ok',
               CASE WHEN EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin AND q.closed_at IS NOT NULL) THEN
               (SELECT pg_catalog.format('%s closed by close_quarantine() (the first at %s): %s held back for good, as evidence (battledger.quarantine, battledger.held_row).',
                                         @extschema@._counted(count(*), 'quarantined chain', 'quarantined chains'), min(q.closed_at),
                                         @extschema@._counted(sum(x.held), 'row', 'rows'))
                  FROM @extschema@.quarantine q
                  LEFT JOIN LATERAL (SELECT count(*) AS held FROM @extschema@.held_row h
                                      WHERE h.origin = q.origin AND h.tbl = q.tbl
                                        AND (q.chain_key IS NULL OR h.chain_key = q.chain_key)) x ON true
                 WHERE q.origin = m.origin AND q.closed_at IS NOT NULL) END)) v(rank, holds, state, reason)
         WHERE v.holds ORDER BY v.rank LIMIT 1) f
     ORDER BY m.origin
$$;

-- r23: a lot's creations in registry order, so that _lot_creation_rows'
-- readers stop at the first one the registry counts (80_registry.sql,
-- lot_event_creation; red team r23, C1)
CREATE INDEX lot_event_creation ON @extschema@.lot_event (lot_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event IN ('extracted', 'processed', 'secondary_created');
CREATE OR REPLACE FUNCTION @extschema@._lot_after_now(lot text) RETURNS timestamptz
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

CREATE OR REPLACE FUNCTION @extschema@._lot_rules() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    k @extschema@.event_kind;
    cust record;
    ns record;
    input_kg numeric;
    later timestamptz;
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

-- r23: _lot_after_now() is the rules' (81_r23.replace)
REVOKE ALL ON FUNCTION @extschema@._lot_after_now(text) FROM PUBLIC;
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
    'internal: would the chain trigger accept the signature of this new row (by the key it names, valid now, or a batch that key signed in this transaction)?';
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
COMMENT ON FUNCTION @extschema@._json_num(jsonb) IS 'internal: a number in a registry row''s JSON as a finite numeric, else NULL, never an error';
COMMENT ON VIEW @extschema@._lot_creation_rows IS 'internal: every row creating a lot by a known key, its signer and whether its roles then allow it';
COMMENT ON FUNCTION @extschema@._lot_creation(text) IS 'internal: the creation of a lot the registry counts (in role, in its namespace, first in registry order)';
COMMENT ON FUNCTION @extschema@._lot_after_now(text) IS 'internal: when the latest row of a lot that counts is dated, if after a row written now';
COMMENT ON FUNCTION @extschema@._ns_candidates(text) IS 'internal: the prefixes of an id key that a namespace covering it could be';
COMMENT ON FUNCTION @extschema@._id_owners(@extschema@.battery_id, timestamptz) IS 'internal: the members whose namespaces, registered by a time, cover a battery id';
COMMENT ON FUNCTION @extschema@._text_id_key(text) IS 'internal: the namespace key of a model, lot or passport id written as gs1:01/<GTIN>... or iso15459:<IAC>/<CIN>/... (or another spelling battery ids accept), else NULL';
COMMENT ON FUNCTION @extschema@._key_owners(text, timestamptz) IS 'internal: the members whose namespaces, registered by a time, cover a namespace key';
COMMENT ON FUNCTION @extschema@._key_claims(text) IS 'internal: every member whose namespace covers a key, and when it first registered one';
COMMENT ON FUNCTION @extschema@._passport_holder_by(text, text[], timestamptz[], @extschema@.battery_event) IS 'internal: _passport_holder() given the id''s namespace claims (_key_claims(), NULL for none), or the first such row after a row';
COMMENT ON FUNCTION @extschema@._passport_holder(text) IS 'internal: the key of a passport id''s holder (its first issuing row that its namespace allows)';
COMMENT ON FUNCTION @extschema@._key_claim_allows(text[], timestamptz[], text, timestamptz) IS 'internal: may a member write the first row of an id with these claims at a time';
COMMENT ON FUNCTION @extschema@._lot_custody_steps(text) IS 'internal: a lot''s rows in registry order, each one''s verdict and the custody after it';
COMMENT ON FUNCTION @extschema@._lot_consumers(text) IS 'internal: the rows consuming a lot, and whether each counts (signed by the lot''s holder then)';
COMMENT ON FUNCTION @extschema@._lot_ledger(text) IS 'internal: a lot''s rows and the rows consuming it in one registry order, from one walk of the lot''s rows';
COMMENT ON FUNCTION @extschema@._lot_balance(text) IS 'internal: a lot''s custody and the mass it has left, from one walk of its rows';
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
    @extschema@._lot_rules(), @extschema@._battery_rules(), @extschema@._model_rules(), @extschema@._battery_fold_arrived(),
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
