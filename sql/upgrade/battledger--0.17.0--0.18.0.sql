-- battledger 0.17.0 -> 0.18.0 (parts in sql/upgrade/0.17.0--0.18.0/)
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
               pg_catalog.format('No apply worker runs; %s apply errors (the member down, its slot lost, or a row refused: server log).%s',
                                 ss.apply_error_count,
                                 CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s tables not copied yet.', sr.copying) ELSE '' END)),
           (7, st.pid IS NULL, 'not connected',
               'No apply worker runs for the subscription (the member down or unreachable, or its slot there lost: server log).'
               || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s tables not copied yet.', sr.copying) ELSE '' END),
           (8, lw.reason IS NOT NULL, 'blocked',
               lw.reason || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s tables not copied yet.', sr.copying) ELSE '' END),
           (9, sr.copying > 0 AND coalesce(ss.sync_error_count, 0) > 0, 'copy failing',
               pg_catalog.format('%s tables not copied yet; %s copy errors (server log).', sr.copying, ss.sync_error_count)),
           (10, sr.copying > 0, 'copying', pg_catalog.format('%s tables not copied yet.', sr.copying)),
           (11, st.received_lsn IS NULL OR st.last_msg_receipt_time
                   < pg_catalog.now() - 2 * NULLIF(pg_catalog.current_setting('wal_receiver_timeout'), '0')::interval, 'silent',
               'The apply worker has heard nothing from the member for twice wal_receiver_timeout.'),
           (12, EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin), 'quarantined',
               pg_catalog.format('%s chains held back, %s rows held: see battledger.quarantine and battledger.held_row.',
                                 (SELECT count(*) FROM @extschema@.quarantine q WHERE q.origin = m.origin),
                                 (SELECT count(*) FROM @extschema@.held_row h WHERE h.origin = m.origin))),
           -- a worker that errors in a loop (a replicated column missing
           -- here, its slot there gone after START_REPLICATION, any error
           -- the arrival checks do not see) is relaunched every
           -- wal_retrieve_retry_interval and lives for a moment each time:
           -- while it lives it looks like a working one.  The errors have no
           -- time, but the worker's start has (pg_stat_activity): errors
           -- counted and a worker younger than the window is "failing" until
           -- it has run that long without dying.  The window (three retry
           -- intervals, at least 30 s) outlives the loop's period; a member
           -- that merely restarted shows "failing" for that long after.  A
           -- caller who may not see the worker's start (no pg_read_all_stats)
           -- cannot tell: "failing" too, rather than an "ok" not read.  Last
           -- before "ok": a subscription resumed after a refusal counted one
           -- error, and its quarantine, when it has one, says more.
           (13, st.pid IS NOT NULL AND coalesce(ss.apply_error_count, 0) > 0
               AND coalesce(wk.started > pg_catalog.now() - wk.win, true), 'failing',
               CASE WHEN wk.started IS NULL
                    THEN pg_catalog.format('%s apply errors, and the apply worker''s start is not visible to this role (pg_read_all_stats): it may be restarting in a loop (server log).',
                                           ss.apply_error_count)
                    ELSE pg_catalog.format('The apply worker started %s s ago, after %s apply errors: if it errors again it is restarting in a loop (server log); this clears once it has run %s s.',
                                           pg_catalog.round(extract(epoch FROM pg_catalog.now() - wk.started)), ss.apply_error_count,
                                           pg_catalog.round(extract(epoch FROM wk.win))) END),
           -- last, so that none of the states above is hidden: the member's
           -- log names rows of a table that never arrived (the table left its
           -- publication, or a row filter leaves rows out); leaves arrive
           -- after their rows (commit order), so this is no transient
           (14, ar.missing_tables > 0, 'rows missing',
               CASE WHEN ar.missing_tables > 0 THEN pg_catalog.format(
                   '%s rows the member''s log names never arrived here: %s%s. Is the table still in the member''s publication battledger_member (pg_publication_tables there)? battledger.verify_member(%L) lists them.',
                   ar.missing_rows,
                   (SELECT pg_catalog.string_agg(pg_catalog.format('%s: %s leaves, %s rows received (last row %s, last leaf %s)',
                                                                   a.tbl, a.leaves_received, a.rows_received,
                                                                   coalesce(a.last_row_at::text, 'not counted'),
                                                                   coalesce(a.last_leaf_at::text, 'not counted')), '; ' ORDER BY a.tbl)
                      FROM (SELECT * FROM @extschema@.peer_arrival a WHERE a.origin = m.origin AND a.leaves_received > a.rows_received
                             ORDER BY a.tbl LIMIT 3) a),
                   CASE WHEN ar.missing_tables > 3 THEN pg_catalog.format(' and %s more tables', ar.missing_tables - 3) ELSE '' END,
                   m.origin) END),
           -- rows arrive before the checkpoint that seals them: only rows
           -- waiting longer than battledger.unsealed_after say the member
           -- stopped sealing
           (15, ar.unsealed_tables > 0, 'unsealed',
               CASE WHEN ar.unsealed_tables > 0 THEN pg_catalog.format(
                   '%s rows received from the member (%s%s) are in no checkpoint since %s, longer than battledger.unsealed_after (%s): the member does not seal (its seal() or seal worker, battledger.seal_interval).',
                   ar.unsealed_rows,
                   (SELECT pg_catalog.string_agg(a.tbl, ', ' ORDER BY a.tbl)
                      FROM (SELECT a.tbl FROM @extschema@.peer_arrival a
                             WHERE a.origin = m.origin AND a.rows_received > a.leaves_received
                               AND a.unsealed_since < pg_catalog.now() - ar.after ORDER BY a.tbl LIMIT 3) a),
                   CASE WHEN ar.unsealed_tables > 3 THEN pg_catalog.format(' and %s more tables', ar.unsealed_tables - 3) ELSE '' END,
                   ar.unsealed_since, ar.after) END),
           (16, uv.first IS NOT NULL AND coalesce(pc.verified_at, '-infinity')
                   < pg_catalog.now() - coalesce(pg_catalog.current_setting('battledger.unsealed_after', true), '600')::interval,
               'unverified',
               pg_catalog.format(
                   'leaves %s to %s of the member''s log arrived without a checkpoint that signs them; the last checkpoint verified here (size %s, at %s) is older than battledger.unsealed_after. Is battledger.checkpoint still in the member''s publication battledger_member (pg_publication_tables there)?',
                   uv.first, uv.last, coalesce(pc.tree_size, 0), coalesce(pc.verified_at::text, 'none'))),
           (17, true, 'ok', NULL)) v(rank, holds, state, reason)
         WHERE v.holds ORDER BY v.rank LIMIT 1) f
     ORDER BY m.origin
$$;

CREATE OR REPLACE FUNCTION @extschema@._repin_key(origin text, vkey text, kind text)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    witness boolean := kind = 'witness';
    col text := kind || '_vkey';
    m record;
    keys text;
    problem text;
BEGIN
    IF kind NOT IN ('log', 'witness') THEN
        RAISE EXCEPTION 'no key kind "%"', kind USING ERRCODE = '22023';
    END IF;
    IF origin IS NULL OR vkey IS NULL THEN
        RAISE EXCEPTION 'origin and % are required', col USING ERRCODE = '22004';
    END IF;
    SELECT c.subscription, CASE WHEN witness THEN c.witness_vkey ELSE c.log_vkey END AS pinned
      INTO m FROM @extschema@.consortium_member c WHERE c.origin = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'member "%" has not joined', origin
            USING ERRCODE = '42704', HINT = 'battledger.join() pins a member''s first keys.';
    END IF;
    PERFORM @extschema@._vkey_name(vkey, CASE WHEN witness THEN 4 ELSE 1 END);   -- a weak key: its own error
    -- one key, on one line (a CR or LF would split it into keys when read)
    problem := CASE WHEN vkey ~ '[\r\n]' THEN 'it is more than one line'
                    WHEN witness THEN @extschema@._witness_keys_problem(vkey, origin)
                    ELSE @extschema@._log_keys_problem(vkey, origin) END;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION '% is not % named "%"', col,
                        CASE WHEN witness THEN 'a cosignature/v1 verifier key' ELSE 'an Ed25519 verifier key' END, origin
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('In %s, %s. %s', col, problem,
                                             CASE WHEN witness THEN 'Pin one new key at a time.'
                                                  ELSE 'A log key is named by its origin: <origin>+<key id>+<key>; pin one new key at a time.' END),
                  HINT = pg_catalog.format('Ask the member for SELECT battledger.%s() after its rotation.', col);
    END IF;
    -- the pinned lines as the list is read (join() pins it as given: CRLF
    -- and blank lines too): keys, not lines, count (red team r18 F2, F4)
    IF vkey = ANY (pg_catalog.regexp_split_to_array(coalesce(m.pinned, ''), E'\r?\n')) THEN
        RAISE EXCEPTION 'this % key of member "%" is pinned already', kind, origin USING ERRCODE = '42710';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.regexp_split_to_table(coalesce(m.pinned, ''), E'\r?\n') k WHERE k <> '') >= 16 THEN
        RAISE EXCEPTION 'member "%" has 16 % keys pinned', origin, kind
            USING ERRCODE = '54000',
                  HINT = pg_catalog.format('Join the member again to start over from its current %s.', CASE WHEN witness THEN 'keys' ELSE 'key' END);
    END IF;
    -- the whole list as the peer's trigger will read it: the same key
    -- written another way (a trailing blank), or a list damaged by hand;
    -- a member joined without a witness key gets this one as its first
    keys := coalesce(m.pinned || E'\n', '') || vkey;
    problem := CASE WHEN witness THEN @extschema@._witness_keys_problem(keys, origin)
                    ELSE @extschema@._log_keys_problem(keys, origin) END;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'the % keys of member "%" would not be usable with this one', kind, origin
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('In the pinned keys followed by the new one, %s.', problem),
                  HINT = pg_catalog.format('battledger.consortium_member.%s must hold the keys join() and repin_%s_key() pinned, oldest first.', col, kind);
    END IF;
    IF witness THEN
        UPDATE @extschema@.consortium_member c SET witness_vkey = keys WHERE c.origin = $1;
    ELSE
        UPDATE @extschema@.consortium_member c SET log_vkey = keys WHERE c.origin = $1;
    END IF;
    RETURN pg_catalog.format('ALTER SUBSCRIPTION %I ENABLE', m.subscription);
END $$;

CREATE OR REPLACE FUNCTION @extschema@.repin_log_key(origin text, log_vkey text)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN @extschema@._repin_key(origin, log_vkey, 'log');
END $$;

CREATE OR REPLACE FUNCTION @extschema@.repin_witness_key(origin text, witness_vkey text)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN @extschema@._repin_key(origin, witness_vkey, 'witness');
END $$;

-- _repin_key() (created above from 90_consortium.sql): superuser only, like
-- the two functions that call it.
REVOKE ALL ON FUNCTION @extschema@._repin_key(text, text, text) FROM PUBLIC;
-- The passport's history lists the passports the fold's effective moves
-- issued, and its manufacture is the fold's, both kept with the battery's
-- cached state (red team r20, F1, F2).  The cache is unlogged and rebuilt
-- at will: empty it, then add the columns.
TRUNCATE @extschema@.battery_fold_cache;
ALTER TABLE @extschema@.battery_fold_cache ADD COLUMN issued jsonb NOT NULL,
    ADD COLUMN made_origin text, ADD COLUMN made_seq bigint;
CREATE OR REPLACE FUNCTION @extschema@._effective_manufacture(battery @extschema@.battery_id)
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

CREATE OR REPLACE FUNCTION @extschema@._passport_second_life(battery @extschema@.battery_id, tier text)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    restricted_ok boolean := tier IN ('legitimate_interest', 'authority');   -- point 2
    usage_ok boolean := tier = 'legitimate_interest';                        -- point 4
    preds jsonb;
    comps jsonb;
    succ jsonb;
    c record;
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
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'predecessors', preds,
        'successor', succ,
        'composition', comps,
        'partOf', part::text,
        -- (responsibleOperator: _passport_source(), with the state)
        -- DIN DKE SPEC 99100 6.1.3.7 f: repairs, for legitimate interest
        'repairs', CASE WHEN usage_ok THEN (
            SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('at', e.occurred_at, 'by', (@extschema@._signer(e.ledger_key_id)).member,
                                                                  'kind', e.data->'kind', 'parts', e.data->'parts',
                                                                  'ledgerHash', e.ledger_hash::text))
                             ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq)
              FROM @extschema@.battery_event e
             WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'repaired'
               -- signed in a role the event allows (red team r20, F3)
               AND EXISTS (SELECT 1 FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at) sg
                             JOIN @extschema@.event_kind ek ON ek.event = e.event AND ek.subject = 'battery'
                            WHERE sg.roles && ek.roles)) END));
END $$;

CREATE OR REPLACE FUNCTION @extschema@.material_provenance(battery @extschema@.battery_id)
    RETURNS TABLE (depth int, lot_id text, event text, material text, lot_mass_kg numeric, used_kg numeric,
                   country text, facility text, member text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE used(depth, lot, kg) AS (
        SELECT 1, i->>'lot', (i->>'mass_kg')::numeric
          FROM @extschema@.battery_event e, jsonb_array_elements(e.lots) i
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
           -- the manufacture the fold accepts: not a squatter's lots (red team r20, F1)
           AND e.ledger_hash OPERATOR(@extschema@.=) (@extschema@._effective_manufacture(battery)).ledger_hash
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

CREATE OR REPLACE FUNCTION @extschema@.recycled_content(battery @extschema@.battery_id)
    RETURNS TABLE (material text, pre_consumer_pct numeric, post_consumer_pct numeric, consumed_kg numeric, lots bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
BEGIN
    RETURN QUERY
    WITH RECURSIVE consumed AS (
        SELECT i->>'lot' AS lot, sum((i->>'mass_kg')::numeric) AS kg
          FROM @extschema@.battery_event e, jsonb_array_elements(e.lots) i
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'manufactured'
           AND jsonb_typeof(e.lots) = 'array'
           -- the manufacture the fold accepts: not a squatter's lots (red team r20, F1)
           AND e.ledger_hash OPERATOR(@extschema@.=) (@extschema@._effective_manufacture(battery)).ledger_hash
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
      FROM el WHERE element IS NOT NULL GROUP BY element ORDER BY element;
END $$;

-- material_provenance() is created as the caller's and made SECURITY DEFINER
-- by 85_passport.sql afterwards; CREATE OR REPLACE (60_effective_passport)
-- resets that, so set it again (red team r20, F1)
ALTER FUNCTION @extschema@.material_provenance(@extschema@.battery_id) SECURITY DEFINER;
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
    iss jsonb := '[]';
    mo text;
    ms bigint;
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
        wn := c.whole_n; iss := c.issued; mo := c.made_origin; ms := c.made_seq;
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
        IF l.event = 'manufactured' AND l.effective THEN
            mo := l.ledger_origin; ms := l.ledger_seq;
        END IF;
        IF l.event IN ('placed_on_market', 'status_changed') AND l.effective THEN
            ro := l.ledger_origin; rs := l.ledger_seq; rsig := l.signer; rst := l.status;
            IF l.named_passport IS NOT NULL THEN
                iss := iss || jsonb_build_array(jsonb_build_array(l.ledger_origin, l.ledger_seq));
            END IF;
        END IF;
    END LOOP;
    RETURN ROW(battery, n, la, lo, ls, gen, st, ha, ho,
               ro, rs, rsig, rst, coalesce(wn, n), moved, iss, mo, ms);
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
               whole_n = EXCLUDED.whole_n, holders_moved = EXCLUDED.holders_moved,
               issued = EXCLUDED.issued, made_origin = EXCLUDED.made_origin, made_seq = EXCLUDED.made_seq;
    END IF;
    RETURN r.st;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._battery_state_read(battery @extschema@.battery_id)
    RETURNS @extschema@.battery_fold_state
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
    SELECT (@extschema@._battery_fold_cached(battery)).st
$$;

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
    model_holder := @extschema@._model_holder(made.model_id);
    SELECT * INTO model FROM @extschema@.battery_model m WHERE m.model_id = made.model_id
       AND (@extschema@._signer(m.ledger_key_id)).member = model_holder
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

CREATE OR REPLACE FUNCTION @extschema@._model_holder(model text) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    holder text;
BEGIN
    SELECT s.member INTO holder
      FROM @extschema@.battery_model m CROSS JOIN LATERAL @extschema@._signer(m.ledger_key_id) s
     WHERE m.model_id = model AND s.member IS NOT NULL
     ORDER BY m.ledger_at, m.ledger_origin, m.ledger_seq LIMIT 1;
    RETURN holder;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._model_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    holder text;
BEGIN
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;                 -- unknown key: the chain trigger refuses it (BL011)
    END IF;
    holder := @extschema@._model_holder(NEW.model_id);
    IF holder IS NOT NULL AND holder <> s.member THEN
        PERFORM @extschema@._refuse('BL061', format('battery model "%s" is declared by member "%s"', NEW.model_id, holder),
            'A model belongs to the member that declared it first; only that member may declare it again.',
            'Declare your model under a model id of your own.');
    END IF;
    RETURN NEW;
END $$;

-- battery_model's rules trigger (red team r20, F4), after its function
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.battery_model
    FOR EACH ROW EXECUTE FUNCTION @extschema@._model_rules();
CREATE OR REPLACE FUNCTION @extschema@._lot_custody(lot text, OUT holder text, OUT offered text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    e record;
    made boolean := false;
BEGIN
    FOR e IN SELECT x.event, x.counterparty, s.member
               FROM @extschema@.lot_event x
               CROSS JOIN LATERAL @extschema@._signer_at(x.ledger_key_id, x.ledger_at) s
               JOIN @extschema@.event_kind k ON k.event = x.event AND k.subject = 'lot'
              WHERE x.lot_id = lot AND s.member IS NOT NULL AND s.roles && k.roles
              ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LOOP
        IF e.event IN ('extracted', 'processed', 'secondary_created') THEN
            IF NOT made THEN
                holder := e.member; made := true;
            END IF;
        ELSIF e.event = 'shipped' THEN
            IF e.member = holder AND e.counterparty IS NOT NULL THEN
                offered := e.counterparty;
            END IF;
        ELSIF e.event = 'received' THEN
            IF e.member = offered THEN
                holder := e.member; offered := NULL;
            END IF;
        END IF;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.lot_custodian(lot text) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (@extschema@._lot_custody(lot)).holder;
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
        -- the holder's pending shipment (_lot_custody()), not the last row:
        -- another member's row must not stand in for it (red team r20, L1)
        IF (@extschema@._lot_custody(NEW.lot_id)).offered IS DISTINCT FROM s.member THEN
            PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL032', format('lot "%s" was not shipped to member "%s"', NEW.lot_id, s.member));
            RETURN NEW;
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
               pg_catalog.format('No apply worker runs; %s apply errors (the member down, its slot lost, or a row refused: server log).%s',
                                 ss.apply_error_count,
                                 CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s tables not copied yet.', sr.copying) ELSE '' END)),
           (7, st.pid IS NULL, 'not connected',
               'No apply worker runs for the subscription (the member down or unreachable, or its slot there lost: server log).'
               || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s tables not copied yet.', sr.copying) ELSE '' END),
           (8, lw.reason IS NOT NULL, 'blocked',
               lw.reason || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s tables not copied yet.', sr.copying) ELSE '' END),
           (9, sr.copying > 0 AND coalesce(ss.sync_error_count, 0) > 0, 'copy failing',
               pg_catalog.format('%s tables not copied yet; %s copy errors (server log).', sr.copying, ss.sync_error_count)),
           (10, sr.copying > 0, 'copying', pg_catalog.format('%s tables not copied yet.', sr.copying)),
           (11, st.received_lsn IS NULL OR st.last_msg_receipt_time
                   < pg_catalog.now() - 2 * NULLIF(pg_catalog.current_setting('wal_receiver_timeout'), '0')::interval, 'silent',
               'The apply worker has heard nothing from the member for twice wal_receiver_timeout.'),
           (12, EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin), 'quarantined',
               pg_catalog.format('%s chains held back, %s rows held: see battledger.quarantine and battledger.held_row.',
                                 (SELECT count(*) FROM @extschema@.quarantine q WHERE q.origin = m.origin),
                                 (SELECT count(*) FROM @extschema@.held_row h WHERE h.origin = m.origin))),
           -- a worker that errors in a loop (a replicated column missing
           -- here, its slot there gone after START_REPLICATION, any error
           -- the arrival checks do not see) is relaunched every
           -- wal_retrieve_retry_interval and lives for a moment each time:
           -- while it lives it looks like a working one.  The errors have no
           -- time, but the worker's start has (pg_stat_activity): errors
           -- counted and a worker younger than the window is "failing" until
           -- it has run that long without dying.  The window (three retry
           -- intervals, at least 30 s) outlives the loop's period; a member
           -- that merely restarted shows "failing" for that long after.  A
           -- caller who may not see the worker's start (no pg_read_all_stats)
           -- cannot tell: "failing" too, rather than an "ok" not read.  Last
           -- before "ok": a subscription resumed after a refusal counted one
           -- error, and its quarantine, when it has one, says more.
           (13, st.pid IS NOT NULL AND coalesce(ss.apply_error_count, 0) > 0
               AND coalesce(wk.started > pg_catalog.now() - wk.win, true), 'failing',
               CASE WHEN wk.started IS NULL
                    THEN pg_catalog.format('%s apply errors, and the apply worker''s start is not visible to this role (pg_read_all_stats): it may be restarting in a loop (server log).',
                                           ss.apply_error_count)
                    ELSE pg_catalog.format('The apply worker started %s s ago, after %s apply errors: if it errors again it is restarting in a loop (server log); this clears once it has run %s s.',
                                           pg_catalog.round(extract(epoch FROM pg_catalog.now() - wk.started)), ss.apply_error_count,
                                           pg_catalog.round(extract(epoch FROM wk.win))) END),
           -- last, so that none of the states above is hidden: the member's
           -- log names rows of a table that never arrived (the table left its
           -- publication, or a row filter leaves rows out); leaves arrive
           -- after their rows (commit order), so this is no transient
           (14, ar.missing_tables > 0, 'rows missing',
               CASE WHEN ar.missing_tables > 0 THEN pg_catalog.format(
                   '%s rows the member''s log names never arrived here: %s%s. Is the table still in the member''s publication battledger_member (pg_publication_tables there)? battledger.verify_member(%L) lists them.',
                   ar.missing_rows,
                   (SELECT pg_catalog.string_agg(pg_catalog.format('%s: %s leaves, %s rows received (last row %s, last leaf %s)',
                                                                   a.tbl, a.leaves_received, a.rows_received,
                                                                   coalesce(a.last_row_at::text, 'not counted'),
                                                                   coalesce(a.last_leaf_at::text, 'not counted')), '; ' ORDER BY a.tbl)
                      FROM (SELECT * FROM @extschema@.peer_arrival a WHERE a.origin = m.origin AND a.leaves_received > a.rows_received
                             ORDER BY a.tbl LIMIT 3) a),
                   CASE WHEN ar.missing_tables > 3 THEN pg_catalog.format(' and %s more tables', ar.missing_tables - 3) ELSE '' END,
                   m.origin) END),
           -- rows arrive before the checkpoint that seals them: only rows
           -- waiting longer than battledger.unsealed_after say the member
           -- stopped sealing
           (15, ar.unsealed_tables > 0, 'unsealed',
               CASE WHEN ar.unsealed_tables > 0 THEN pg_catalog.format(
                   '%s rows received from the member (%s%s) are in no checkpoint since %s, longer than battledger.unsealed_after (%s): the member does not seal (its seal() or seal worker, battledger.seal_interval).',
                   ar.unsealed_rows,
                   (SELECT pg_catalog.string_agg(a.tbl, ', ' ORDER BY a.tbl)
                      FROM (SELECT a.tbl FROM @extschema@.peer_arrival a
                             WHERE a.origin = m.origin AND a.rows_received > a.leaves_received
                               AND a.unsealed_since < pg_catalog.now() - ar.after ORDER BY a.tbl LIMIT 3) a),
                   CASE WHEN ar.unsealed_tables > 3 THEN pg_catalog.format(' and %s more tables', ar.unsealed_tables - 3) ELSE '' END,
                   ar.unsealed_since, ar.after) END),
           (16, uv.first IS NOT NULL AND coalesce(pc.verified_at, '-infinity')
                   < pg_catalog.now() - coalesce(pg_catalog.current_setting('battledger.unsealed_after', true), '600')::interval,
               'unverified',
               pg_catalog.format(
                   'leaves %s to %s of the member''s log arrived without a checkpoint that signs them; the last checkpoint verified here (size %s, at %s) is older than battledger.unsealed_after. Is battledger.checkpoint still in the member''s publication battledger_member (pg_publication_tables there)?',
                   uv.first, uv.last, coalesce(pc.tree_size, 0), coalesce(pc.verified_at::text, 'none'))),
           (17, true, 'ok', NULL)) v(rank, holds, state, reason)
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
        -- A row held back by a quarantine was received: it is named as
        -- held_back below, not as a leaf without its row (its hash is the
        -- one it arrived with, in row_data).
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
                       '          SELECT false, r.ledger_seq, r.ledger_hash FROM %s r WHERE r.ledger_origin = $1'
                       '          UNION ALL'
                       '          SELECT false, h.seq, (h.row_data->>''ledger_hash'')::@extschema@.hash256 FROM @extschema@.held_row h'
                       '           WHERE h.origin = $1 AND h.tbl = $2) u'
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

CREATE OR REPLACE FUNCTION @extschema@.health(
        OUT origin text, OUT pending_rows bigint, OUT log_size bigint,
        OUT last_checkpoint_at timestamptz, OUT seconds_since_checkpoint double precision,
        OUT cosigned_size bigint, OUT uncosigned_leaves bigint,
        OUT members bigint, OUT members_not_ok bigint, OUT rejections bigint, OUT held_rows bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.current_setting('battledger.origin', true),
           @extschema@._pending_rows(),
           coalesce(c.tree_size, 0), c.at,
           extract(epoch FROM pg_catalog.now() - c.at)::double precision,
           coalesce(w.size, 0), coalesce(c.tree_size, 0) - coalesce(w.size, 0),
           (SELECT count(*) FROM @extschema@.consortium_member),
           (SELECT count(*) FROM @extschema@.consortium_status() s WHERE s.state <> 'ok'),
           (SELECT count(*) FROM @extschema@.rejections),
           (SELECT count(*) FROM @extschema@.held_row)
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (SELECT k.tree_size, k.at FROM @extschema@.checkpoint k ORDER BY k.tree_size DESC LIMIT 1) c ON true
      -- only cosignatures of a checkpoint this log signed (its size and
      -- root): the cosignature trigger checks the witness's signature, not
      -- that the tree was ever this member's, and a witness cosigning a
      -- made-up tree of this log must not make it look cosigned (red team
      -- r21 F1); tlog_proof() reads them the same way
      LEFT JOIN LATERAL (SELECT max(s.tree_size) AS size FROM @extschema@.cosignature s
                           JOIN @extschema@.checkpoint k
                             ON k.tree_size = s.tree_size AND k.root OPERATOR(@extschema@.=) s.root
                          WHERE s.log_origin = pg_catalog.current_setting('battledger.origin', true)
                            AND s.witness <> s.log_origin) w ON true
$$;

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
               pg_catalog.format('No apply worker runs; %s apply errors (the member down, its slot lost, or a row refused: server log).%s',
                                 ss.apply_error_count,
                                 CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s tables not copied yet.', sr.copying) ELSE '' END)),
           (7, st.pid IS NULL, 'not connected',
               'No apply worker runs for the subscription (the member down or unreachable, or its slot there lost: server log).'
               || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s tables not copied yet.', sr.copying) ELSE '' END),
           (8, lw.reason IS NOT NULL, 'blocked',
               lw.reason || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s tables not copied yet.', sr.copying) ELSE '' END),
           (9, sr.copying > 0 AND coalesce(ss.sync_error_count, 0) > 0, 'copy failing',
               pg_catalog.format('%s tables not copied yet; %s copy errors (server log).', sr.copying, ss.sync_error_count)),
           (10, sr.copying > 0, 'copying', pg_catalog.format('%s tables not copied yet.', sr.copying)),
           (11, st.received_lsn IS NULL OR st.last_msg_receipt_time
                   < pg_catalog.now() - 2 * NULLIF(pg_catalog.current_setting('wal_receiver_timeout'), '0')::interval, 'silent',
               'The apply worker has heard nothing from the member for twice wal_receiver_timeout.'),
           (12, EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin), 'quarantined',
               pg_catalog.format('%s chains held back, %s rows held: see battledger.quarantine and battledger.held_row.',
                                 (SELECT count(*) FROM @extschema@.quarantine q WHERE q.origin = m.origin),
                                 (SELECT count(*) FROM @extschema@.held_row h WHERE h.origin = m.origin))),
           -- a worker that errors in a loop (a replicated column missing
           -- here, its slot there gone after START_REPLICATION, any error
           -- the arrival checks do not see) is relaunched every
           -- wal_retrieve_retry_interval and lives for a moment each time:
           -- while it lives it looks like a working one.  The errors have no
           -- time, but the worker's start has (pg_stat_activity): errors
           -- counted and a worker younger than the window is "failing" until
           -- it has run that long without dying.  The window (three retry
           -- intervals, at least 30 s) outlives the loop's period; a member
           -- that merely restarted shows "failing" for that long after.  A
           -- caller who may not see the worker's start (no pg_read_all_stats)
           -- cannot tell: "failing" too, rather than an "ok" not read.  Last
           -- before "ok": a subscription resumed after a refusal counted one
           -- error, and its quarantine, when it has one, says more.
           (13, st.pid IS NOT NULL AND coalesce(ss.apply_error_count, 0) > 0
               AND coalesce(wk.started > pg_catalog.now() - wk.win, true), 'failing',
               CASE WHEN wk.started IS NULL
                    THEN pg_catalog.format('%s apply errors, and the apply worker''s start is not visible to this role (pg_read_all_stats): it may be restarting in a loop (server log).',
                                           ss.apply_error_count)
                    ELSE pg_catalog.format('The apply worker started %s s ago, after %s apply errors: if it errors again it is restarting in a loop (server log); this clears once it has run %s s.',
                                           pg_catalog.round(extract(epoch FROM pg_catalog.now() - wk.started)), ss.apply_error_count,
                                           pg_catalog.round(extract(epoch FROM wk.win))) END),
           -- last, so that none of the states above is hidden: the member's
           -- log names rows of a table that never arrived (the table left its
           -- publication, or a row filter leaves rows out); leaves arrive
           -- after their rows (commit order), so this is no transient
           (14, ar.missing_tables > 0, 'rows missing',
               CASE WHEN ar.missing_tables > 0 THEN pg_catalog.format(
                   '%s rows the member''s log names never arrived here: %s%s. Is the table still in the member''s publication battledger_member (pg_publication_tables there)? battledger.verify_member(%L) lists them.',
                   ar.missing_rows,
                   (SELECT pg_catalog.string_agg(pg_catalog.format('%s: %s leaves, %s rows received (last row %s, last leaf %s)',
                                                                   a.tbl, a.leaves_received, a.rows_received,
                                                                   coalesce(a.last_row_at::text, 'not counted'),
                                                                   coalesce(a.last_leaf_at::text, 'not counted')), '; ' ORDER BY a.tbl)
                      FROM (SELECT * FROM @extschema@.peer_arrival a WHERE a.origin = m.origin AND a.leaves_received > a.rows_received
                             ORDER BY a.tbl LIMIT 3) a),
                   CASE WHEN ar.missing_tables > 3 THEN pg_catalog.format(' and %s more tables', ar.missing_tables - 3) ELSE '' END,
                   m.origin) END),
           -- rows arrive before the checkpoint that seals them: only rows
           -- waiting longer than battledger.unsealed_after say the member
           -- stopped sealing
           (15, ar.unsealed_tables > 0, 'unsealed',
               CASE WHEN ar.unsealed_tables > 0 THEN pg_catalog.format(
                   '%s rows received from the member (%s%s) are in no checkpoint since %s, longer than battledger.unsealed_after (%s): the member does not seal (its seal() or seal worker, battledger.seal_interval).',
                   ar.unsealed_rows,
                   (SELECT pg_catalog.string_agg(a.tbl, ', ' ORDER BY a.tbl)
                      FROM (SELECT a.tbl FROM @extschema@.peer_arrival a
                             WHERE a.origin = m.origin AND a.rows_received > a.leaves_received
                               AND a.unsealed_since < pg_catalog.now() - ar.after ORDER BY a.tbl LIMIT 3) a),
                   CASE WHEN ar.unsealed_tables > 3 THEN pg_catalog.format(' and %s more tables', ar.unsealed_tables - 3) ELSE '' END,
                   ar.unsealed_since, ar.after) END),
           (16, uv.first IS NOT NULL AND coalesce(pc.verified_at, '-infinity')
                   < pg_catalog.now() - coalesce(pg_catalog.current_setting('battledger.unsealed_after', true), '600')::interval,
               'unverified',
               pg_catalog.format(
                   'leaves %s to %s of the member''s log arrived without a checkpoint that signs them; the last checkpoint verified here (size %s, at %s) is older than battledger.unsealed_after. Is battledger.checkpoint still in the member''s publication battledger_member (pg_publication_tables there)?',
                   uv.first, uv.last, coalesce(pc.tree_size, 0), coalesce(pc.verified_at::text, 'none'))),
           (17, true, 'ok', NULL)) v(rank, holds, state, reason)
         WHERE v.holds ORDER BY v.rank LIMIT 1) f
     ORDER BY m.origin
$$;

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
