-- battledger 0.10.0 -> 0.11.0 (parts in sql/upgrade/0.10.0--0.11.0/)
-- Red team r10 F2: the fold's "does an earlier event hold this passport id"
-- walked every row naming the id (index on passport_id alone); rows naming
-- it dated ahead, sent by a malicious member, made each fold cost their
-- number.  The id's first issuing event is now one probe of this index.
CREATE INDEX battery_event_passport_holder ON @extschema@.battery_event (passport_id, ledger_at, ledger_origin, ledger_seq)
    WHERE passport_id IS NOT NULL
      AND (event = 'placed_on_market'
           OR (event = 'status_changed' AND new_status IN ('re-used', 'repurposed', 'remanufactured')));
-- (the cache's columns change in 20_passport_holder_moved.sql)
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
        ELSE
            -- the id's first issuing event in registry order, one probe of
            -- battery_event_passport_holder: an EXISTS of any earlier one
            -- walked every row naming the id that is not earlier, so rows
            -- naming it dated ahead made each fold cost their number (red
            -- team r10, F2)
            SELECT o.ledger_at, o.ledger_origin, o.ledger_seq INTO held
              FROM @extschema@.battery_event o
             WHERE o.passport_id = e.passport_id
               -- only an event that issues a passport holds its id
               AND (o.event = 'placed_on_market'
                    OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
             ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq LIMIT 1;
            IF FOUND AND (writer       -- the writer's row is not stored yet: any holder is earlier
                          OR (held.ledger_at, held.ledger_origin, held.ledger_seq) < (e.ledger_at, e.ledger_origin, e.ledger_seq)) THEN
                problem := 'passport_taken'; code := 'BL038';
                message := format('passport "%s" already exists', e.passport_id);
            END IF;
        END IF;
    ELSIF e.passport_id IS NOT NULL THEN
        problem := 'passport_not_issued'; code := 'BL038';
        message := format('"%s" does not issue a passport', e.event);
    END IF;
END $$;

-- Red team r10 F5: each check of a battery's cache probed the first issuing
-- event of every passport id the battery ever named, so a battery
-- remanufactured thousands of times (a new id each) made the apply worker's
-- work grow with the square of its rows.  The row that moves an id's holder
-- now says so in passport_holder_moved, and the cache counts those rows
-- instead of keeping the ids and their holders (80_registry.sql).  The cache
-- is unlogged and rebuilt on use: emptied, as its rows were checked the old way.
TRUNCATE @extschema@.battery_fold_cache;
ALTER TABLE @extschema@.battery_fold_cache DROP COLUMN passports, DROP COLUMN passport_rows,
    ADD COLUMN holders_moved bigint NOT NULL;
CREATE UNLOGGED TABLE @extschema@.passport_holder_moved (
    battery_id  @extschema@.battery_id,    -- NULL: every battery
    passport_id text NOT NULL
);
CREATE INDEX passport_holder_moved_battery ON @extschema@.passport_holder_moved (battery_id);
REVOKE ALL ON @extschema@.passport_holder_moved FROM PUBLIC;
CREATE OR REPLACE FUNCTION @extschema@._holders_moved(battery @extschema@.battery_id) RETURNS bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT count(*) FROM @extschema@.passport_holder_moved m WHERE m.battery_id OPERATOR(@extschema@.=) battery)
         + (SELECT count(*) FROM @extschema@.passport_holder_moved m WHERE m.battery_id IS NULL);
END $$;

CREATE OR REPLACE FUNCTION @extschema@._battery_fold_cached(battery @extschema@.battery_id, whole_from bigint DEFAULT 0)
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
    l record;
    ha timestamptz;
    ho text;
    ro text;
    rs bigint;
    rsig text;
    rst text;
    wn bigint;
    moved bigint := @extschema@._holders_moved(battery);
BEGIN
    SELECT * INTO c FROM @extschema@.battery_fold_cache f WHERE f.battery_id OPERATOR(@extschema@.=) battery;
    IF c.battery_id IS NOT NULL AND c.generation = gen
       AND c.holders_moved = moved
       AND c.n = (SELECT count(*) FROM @extschema@.battery_event x
                   WHERE x.battery_id OPERATOR(@extschema@.=) battery
                     AND x.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                                     'handover', 'handover_accepted')
                     AND (x.ledger_at, x.ledger_origin, x.ledger_seq) <= (c.last_at, c.last_origin, c.last_seq)) THEN
        st := c.st; n := c.n; la := c.last_at; lo := c.last_origin; ls := c.last_seq;
        ha := c.handover_at; ho := c.handover_origin;
        ro := c.resp_origin; rs := c.resp_seq; rsig := c.resp_signer; rst := c.resp_status;
        wn := c.whole_n;
    ELSIF whole_from > 0
          AND (SELECT count(*) FROM @extschema@.battery_event x
                WHERE x.battery_id OPERATOR(@extschema@.=) battery
                  AND x.event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                                  'handover', 'handover_accepted')) < whole_from THEN
        RETURN NULL;
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
    END LOOP;
    RETURN ROW(battery, n, la, lo, ls, gen, st, ha, ho,
               ro, rs, rsig, rst, coalesce(wn, n), moved);
END $$;

CREATE OR REPLACE FUNCTION @extschema@._battery_state_cached(battery @extschema@.battery_id, whole_from bigint DEFAULT 0)
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
               whole_n = EXCLUDED.whole_n, holders_moved = EXCLUDED.holders_moved;
    END IF;
    RETURN r.st;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._battery_fold_arrived() RETURNS trigger
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

CREATE OR REPLACE FUNCTION @extschema@._passport_holder_arrived() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    h record;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        -- no turn: a concurrent holder may stay unseen; void every cache
        INSERT INTO @extschema@.passport_holder_moved VALUES (NULL, NEW.passport_id);
        RETURN NULL;
    END IF;
    PERFORM @extschema@._lock_subject('passport', NEW.passport_id);
    -- (each query below takes its snapshot after the turn: READ COMMITTED)
    IF EXISTS (SELECT 1 FROM @extschema@.battery_event o
                WHERE o.passport_id = NEW.passport_id
                  AND (o.event = 'placed_on_market'
                       OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
                  AND (o.ledger_at, o.ledger_origin, o.ledger_seq) <= (NEW.ledger_at, NEW.ledger_origin, NEW.ledger_seq)
                  AND NOT (o.battery_id OPERATOR(@extschema@.=) NEW.battery_id
                           AND o.ledger_origin = NEW.ledger_origin AND o.ledger_seq = NEW.ledger_seq)) THEN
        RETURN NULL;    -- the holder stays (a tie changes no verdict: held < e is strict)
    END IF;
    SELECT o.ledger_at, o.ledger_origin, o.ledger_seq INTO h
      FROM @extschema@.battery_event o
     WHERE o.passport_id = NEW.passport_id
       AND (o.event = 'placed_on_market'
            OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
       AND (o.ledger_at, o.ledger_origin, o.ledger_seq) > (NEW.ledger_at, NEW.ledger_origin, NEW.ledger_seq)
     ORDER BY o.ledger_at, o.ledger_origin, o.ledger_seq LIMIT 1;
    IF FOUND THEN
        INSERT INTO @extschema@.passport_holder_moved
        SELECT DISTINCT o.battery_id, NEW.passport_id FROM @extschema@.battery_event o
         WHERE o.passport_id = NEW.passport_id
           AND (o.event = 'placed_on_market'
                OR (o.event = 'status_changed' AND o.new_status IN ('re-used', 'repurposed', 'remanufactured')))
           AND (o.ledger_at, o.ledger_origin, o.ledger_seq) = (h.ledger_at, h.ledger_origin, h.ledger_seq);
    END IF;
    RETURN NULL;
END $$;

-- every issuing row, local or arriving, records the holder it displaces
-- (_passport_holder_arrived(), replaced above)
CREATE TRIGGER battledger_passport_holder AFTER INSERT ON @extschema@.battery_event
    FOR EACH ROW
    WHEN (NEW.passport_id IS NOT NULL
          AND (NEW.event = 'placed_on_market'
               OR (NEW.event = 'status_changed' AND NEW.new_status IN ('re-used', 'repurposed', 'remanufactured'))))
    EXECUTE FUNCTION @extschema@._passport_holder_arrived();
ALTER TABLE @extschema@.battery_event ENABLE ALWAYS TRIGGER battledger_passport_holder;
CREATE OR REPLACE FUNCTION @extschema@._fold_inputs_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE @extschema@.fold_inputs SET changes = changes + 1;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._fold_generation() RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN concat_ws('/', (SELECT extract(epoch FROM r.since) FROM @extschema@.registry_rule r WHERE r.rule = 'custody'),
                     (SELECT f.changes FROM @extschema@.fold_inputs f),
                     (SELECT encode(sha256(convert_to(string_agg(concat_ws(':', ek.event, ek.subject, ek.roles), ',' ORDER BY ek.event), 'UTF8')), 'hex')
                        FROM @extschema@.event_kind ek),
                     (SELECT encode(sha256(convert_to(string_agg(concat_ws(':', sr.status, sr.roles), ',' ORDER BY sr.status), 'UTF8')), 'hex')
                        FROM @extschema@.status_role sr));
END $$;

-- G1: _fold_generation() counted the rows of member_event, key_event and
-- id_namespace at every check of a battery's cache; a member adding keys by
-- the hundred thousand slowed every member's apply worker and readers.  One
-- row counts what they receive (its trigger, _fold_inputs_changed(), comes
-- from 30_fold_inputs.replace).  Its start value does not matter: the
-- generation's form changes, so every cache row is void once (and the cache
-- was emptied by 20_passport_holder_moved.sql).
CREATE TABLE @extschema@.fold_inputs (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    changes bigint NOT NULL
);
INSERT INTO @extschema@.fold_inputs VALUES (true, 0);
GRANT SELECT ON @extschema@.fold_inputs TO PUBLIC;
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.member_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.key_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.id_namespace
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
ALTER TABLE @extschema@.member_event ENABLE ALWAYS TRIGGER battledger_fold_inputs;
ALTER TABLE @extschema@.key_event ENABLE ALWAYS TRIGGER battledger_fold_inputs;
ALTER TABLE @extschema@.id_namespace ENABLE ALWAYS TRIGGER battledger_fold_inputs;
CREATE OR REPLACE FUNCTION @extschema@._id_owners(id @extschema@.battery_id, at timestamptz,
                                       OUT members text[], OUT namespaces text[], OUT since timestamptz)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    key text := @extschema@._id_key(id);
    -- every namespace _ns_covers() lets cover key is a prefix of it: a gs1
    -- one any prefix (starts_with), another one a prefix that key || '/'
    -- follows with a '/'.  Those few are looked up in the chain index
    -- (namespace first); testing every registration made each
    -- "manufactured" verdict cost their number, and a member registering
    -- namespaces by the ten thousand slowed every member (G2)
    candidates text[] := ARRAY(SELECT left(key, n) FROM generate_series(0, length(key)) n
                                WHERE (n >= 4 AND starts_with(key, 'gs1:')) OR n = length(key)
                                   OR substr(key, n + 1, 1) = '/');
BEGIN
    SELECT array_agg(DISTINCT n.member ORDER BY n.member), array_agg(DISTINCT n.namespace ORDER BY n.namespace), min(n.at)
      INTO members, namespaces, since
      FROM @extschema@.id_namespace n
     WHERE n.namespace = ANY (candidates)
       AND @extschema@._ns_covers(n.namespace, key) AND n.at <= _id_owners.at
       AND @extschema@._ns_hosted(n.member, n.ledger_origin);
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
