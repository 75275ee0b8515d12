-- battledger 0.16.0 -> 0.17.0 (parts in sql/upgrade/0.16.0--0.17.0/)
-- _log_keys_problem(): join() takes a member's log keys oldest first,
-- repin_log_key() checks the whole pinned list, consortium_status() says
-- "bad log keys" (replaced below from 90_consortium.sql); internal.
CREATE FUNCTION @extschema@._log_keys_problem(log_vkey text, origin text) RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_log_keys_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION @extschema@._log_keys_problem(text, text) FROM PUBLIC;
-- _witness_keys_problem(): join() takes a member's witness keys oldest
-- first, repin_witness_key() (below) pins a rotated one; internal.
CREATE FUNCTION @extschema@._witness_keys_problem(witness_vkey text, origin text) RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_witness_keys_problem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION @extschema@._witness_keys_problem(text, text) FROM PUBLIC;
-- The cosignature trigger reads a witness's last signed second at each
-- cosignature of a member with two witness keys pinned or more (its era,
-- witness_era() in src/pg/witness.c): served by an index, not by reading
-- the whole of battledger.cosignature (red team r19 F2).
CREATE INDEX cosignature_witness_at ON @extschema@.cosignature (witness, cosigned_at);
CREATE OR REPLACE FUNCTION @extschema@.join(origin text, conninfo text, log_vkey text, witness_vkey text DEFAULT NULL)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me text := pg_catalog.current_setting('battledger.origin', true);
    sub name;
    problem text;
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
    -- a weak key is refused with its own error (anybody could sign under
    -- it), before _log_keys_problem() names it as a clause; split as the list
    -- is read, a CR before the LF stripped (red team r18 F1: "<weak key>\r"
    -- did not parse here, and was pinned unchecked)
    PERFORM @extschema@._vkey_name(k, 1) FROM pg_catalog.regexp_split_to_table(log_vkey, E'\r?\n') k;
    problem := @extschema@._log_keys_problem(log_vkey, origin);
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'log_vkey is not %named "%"',
                        CASE WHEN log_vkey ~ '\S\s*\n\s*\S' THEN 'a list of Ed25519 verifier keys ' ELSE 'an Ed25519 verifier key ' END, origin
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('In log_vkey, %s. A log key is named by its origin: <origin>+<key id>+<key>; '
                                             'after key rotations, give its keys oldest first, one per line.', problem),
                  HINT = 'Ask the member for SELECT battledger.log_vkey() (and, if it rotated its key, the keys it used before).';
    END IF;
    -- the witness keys likewise: one, or after rotations all, oldest first (0.17.0)
    IF witness_vkey IS NOT NULL THEN
        PERFORM @extschema@._vkey_name(k, 4) FROM pg_catalog.regexp_split_to_table(witness_vkey, E'\r?\n') k;
        problem := @extschema@._witness_keys_problem(witness_vkey, origin);
        IF problem IS NOT NULL THEN
            RAISE EXCEPTION 'witness_vkey is not %named "%"',
                            CASE WHEN witness_vkey ~ '\S\s*\n\s*\S' THEN 'a list of cosignature/v1 verifier keys ' ELSE 'a cosignature/v1 verifier key ' END, origin
                USING ERRCODE = '22023',
                      DETAIL = pg_catalog.format('In witness_vkey, %s. After witness key rotations, give its keys oldest first, one per line.', problem),
                      HINT = 'Ask the member for SELECT battledger.witness_vkey() (and, if it rotated its witness key, the keys it used before).';
        END IF;
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
    -- when the member merely restarts; a refused row stops it (src/pg/arrive.c)
    RETURN format('CREATE SUBSCRIPTION %I CONNECTION %L PUBLICATION battledger_member '
                  'WITH (copy_data = true, slot_name = %L)', sub, conninfo, sub);
END $$;

CREATE OR REPLACE FUNCTION @extschema@.repin_log_key(origin text, log_vkey text)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m record;
    problem text;
BEGIN
    IF origin IS NULL OR log_vkey IS NULL THEN
        RAISE EXCEPTION 'origin and log_vkey are required' USING ERRCODE = '22004';
    END IF;
    SELECT c.subscription, c.log_vkey INTO m FROM @extschema@.consortium_member c WHERE c.origin = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'member "%" has not joined', origin
            USING ERRCODE = '42704', HINT = 'battledger.join() pins a member''s first keys.';
    END IF;
    PERFORM @extschema@._vkey_name(log_vkey, 1);   -- a weak key: its own error
    -- one key, on one line (a CR or LF would split it into keys when read)
    problem := CASE WHEN log_vkey ~ '[\r\n]' THEN 'it is more than one line'
                    ELSE @extschema@._log_keys_problem(log_vkey, origin) END;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'log_vkey is not an Ed25519 verifier key named "%"', origin
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('In log_vkey, %s. A log key is named by its origin: <origin>+<key id>+<key>; '
                                             'pin one new key at a time.', problem),
                  HINT = 'Ask the member for SELECT battledger.log_vkey() after its rotation.';
    END IF;
    -- the pinned lines as the list is read (join() pins it as given: CRLF
    -- and blank lines too): keys, not lines, count (red team r18 F2, F4)
    IF log_vkey = ANY (pg_catalog.regexp_split_to_array(m.log_vkey, E'\r?\n')) THEN
        RAISE EXCEPTION 'this log key of member "%" is pinned already', origin USING ERRCODE = '42710';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.regexp_split_to_table(m.log_vkey, E'\r?\n') k WHERE k <> '') >= 16 THEN
        RAISE EXCEPTION 'member "%" has 16 log keys pinned', origin
            USING ERRCODE = '54000', HINT = 'Join the member again to start over from its current key.';
    END IF;
    -- the whole list as the peer's checkpoint trigger will read it: the same
    -- key written another way (a trailing blank), or a list damaged by hand
    problem := @extschema@._log_keys_problem(m.log_vkey || E'\n' || log_vkey, origin);
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'the log keys of member "%" would not be usable with this one', origin
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('In the pinned keys followed by the new one, %s.', problem),
                  HINT = 'battledger.consortium_member.log_vkey must hold the keys join() and repin_log_key() pinned, oldest first.';
    END IF;
    UPDATE @extschema@.consortium_member c SET log_vkey = c.log_vkey || E'\n' || $2 WHERE c.origin = $1;
    RETURN format('ALTER SUBSCRIPTION %I ENABLE', m.subscription);
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
           (SELECT max(c.tree_size) FROM @extschema@.cosignature c
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
      LEFT JOIN LATERAL (SELECT @extschema@._lock_wait_reason(s.oid) AS reason) lw ON true
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
           (3, @extschema@._log_keys_problem(m.log_vkey, m.origin) IS NOT NULL, 'bad log keys',
               pg_catalog.format('The log keys pinned for the member (battledger.consortium_member.log_vkey) are not usable: %s. '
                                 'While the list breaks a rule every checkpoint from the member is refused (a weak key: those it signed): put back the keys join() and repin_log_key() pinned, oldest first.',
                                 @extschema@._log_keys_problem(m.log_vkey, m.origin))),
           (4, NOT s.subenabled, 'stopped',
               CASE WHEN EXISTS (SELECT 1 FROM @extschema@.rejections r WHERE r.origin = m.origin)
                    THEN 'A row from the member was refused: see battledger.rejections.'
                    ELSE 'The subscription is disabled.' END),
           -- no apply worker: nothing moves, a copy included (the apply
           -- worker starts the table copies and marks them done), so these
           -- come before "copying", which a member stopped or cut off in the
           -- middle of its join's copy would otherwise show for ever
           (5, st.pid IS NULL AND coalesce(ss.apply_error_count, 0) > 0, 'failing',
               pg_catalog.format('No apply worker runs; %s apply errors (the member down, its slot lost, or a row refused: server log).%s',
                                 ss.apply_error_count,
                                 CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s tables not copied yet.', sr.copying) ELSE '' END)),
           (6, st.pid IS NULL, 'not connected',
               'No apply worker runs for the subscription (the member down or unreachable, or its slot there lost: server log).'
               || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s tables not copied yet.', sr.copying) ELSE '' END),
           (7, lw.reason IS NOT NULL, 'blocked',
               lw.reason || CASE WHEN sr.copying > 0 THEN pg_catalog.format(' %s tables not copied yet.', sr.copying) ELSE '' END),
           (8, sr.copying > 0 AND coalesce(ss.sync_error_count, 0) > 0, 'copy failing',
               pg_catalog.format('%s tables not copied yet; %s copy errors (server log).', sr.copying, ss.sync_error_count)),
           (9, sr.copying > 0, 'copying', pg_catalog.format('%s tables not copied yet.', sr.copying)),
           (10, st.received_lsn IS NULL OR st.last_msg_receipt_time
                   < pg_catalog.now() - 2 * NULLIF(pg_catalog.current_setting('wal_receiver_timeout'), '0')::interval, 'silent',
               'The apply worker has heard nothing from the member for twice wal_receiver_timeout.'),
           (11, EXISTS (SELECT 1 FROM @extschema@.quarantine q WHERE q.origin = m.origin), 'quarantined',
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
           (12, st.pid IS NOT NULL AND coalesce(ss.apply_error_count, 0) > 0
               AND coalesce(wk.started > pg_catalog.now() - wk.win, true), 'failing',
               CASE WHEN wk.started IS NULL
                    THEN pg_catalog.format('%s apply errors, and the apply worker''s start is not visible to this role (pg_read_all_stats): it may be restarting in a loop (server log).',
                                           ss.apply_error_count)
                    ELSE pg_catalog.format('The apply worker started %s s ago, after %s apply errors: if it errors again it is restarting in a loop (server log); this clears once it has run %s s.',
                                           pg_catalog.round(extract(epoch FROM pg_catalog.now() - wk.started)), ss.apply_error_count,
                                           extract(epoch FROM wk.win)) END),
           -- last, so that none of the states above is hidden: the member's
           -- log names rows of a table that never arrived (the table left its
           -- publication, or a row filter leaves rows out); leaves arrive
           -- after their rows (commit order), so this is no transient
           (13, ar.missing_tables > 0, 'rows missing',
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
           (14, ar.unsealed_tables > 0, 'unsealed',
               CASE WHEN ar.unsealed_tables > 0 THEN pg_catalog.format(
                   '%s rows received from the member (%s%s) are in no checkpoint since %s, longer than battledger.unsealed_after (%s): the member does not seal (its seal() or seal worker, battledger.seal_interval).',
                   ar.unsealed_rows,
                   (SELECT pg_catalog.string_agg(a.tbl, ', ' ORDER BY a.tbl)
                      FROM (SELECT a.tbl FROM @extschema@.peer_arrival a
                             WHERE a.origin = m.origin AND a.rows_received > a.leaves_received
                               AND a.unsealed_since < pg_catalog.now() - ar.after ORDER BY a.tbl LIMIT 3) a),
                   CASE WHEN ar.unsealed_tables > 3 THEN pg_catalog.format(' and %s more tables', ar.unsealed_tables - 3) ELSE '' END,
                   ar.unsealed_since, ar.after) END),
           (15, uv.first IS NOT NULL AND coalesce(pc.verified_at, '-infinity')
                   < pg_catalog.now() - coalesce(pg_catalog.current_setting('battledger.unsealed_after', true), '600')::interval,
               'unverified',
               pg_catalog.format(
                   'leaves %s to %s of the member''s log arrived without a checkpoint that signs them; the last checkpoint verified here (size %s, at %s) is older than battledger.unsealed_after. Is battledger.checkpoint still in the member''s publication battledger_member (pg_publication_tables there)?',
                   uv.first, uv.last, coalesce(pc.tree_size, 0), coalesce(pc.verified_at::text, 'none'))),
           (16, true, 'ok', NULL)) v(rank, holds, state, reason)
         WHERE v.holds ORDER BY v.rank LIMIT 1) f
     ORDER BY m.origin
$$;

CREATE OR REPLACE FUNCTION @extschema@.repin_witness_key(origin text, witness_vkey text)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m record;
    problem text;
BEGIN
    IF origin IS NULL OR witness_vkey IS NULL THEN
        RAISE EXCEPTION 'origin and witness_vkey are required' USING ERRCODE = '22004';
    END IF;
    SELECT c.subscription, c.witness_vkey INTO m FROM @extschema@.consortium_member c WHERE c.origin = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'member "%" has not joined', origin
            USING ERRCODE = '42704', HINT = 'battledger.join() pins a member''s first keys.';
    END IF;
    PERFORM @extschema@._vkey_name(witness_vkey, 4);   -- a weak key: its own error
    problem := CASE WHEN witness_vkey ~ '[\r\n]' THEN 'it is more than one line'
                    ELSE @extschema@._witness_keys_problem(witness_vkey, origin) END;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'witness_vkey is not a cosignature/v1 verifier key named "%"', origin
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('In witness_vkey, %s. Pin one new key at a time.', problem),
                  HINT = 'Ask the member for SELECT battledger.witness_vkey() after its rotation.';
    END IF;
    IF witness_vkey = ANY (pg_catalog.regexp_split_to_array(coalesce(m.witness_vkey, ''), E'\r?\n')) THEN
        RAISE EXCEPTION 'this witness key of member "%" is pinned already', origin USING ERRCODE = '42710';
    END IF;
    IF (SELECT count(*) FROM pg_catalog.regexp_split_to_table(coalesce(m.witness_vkey, ''), E'\r?\n') k WHERE k <> '') >= 16 THEN
        RAISE EXCEPTION 'member "%" has 16 witness keys pinned', origin
            USING ERRCODE = '54000', HINT = 'Join the member again to start over from its current keys.';
    END IF;
    problem := @extschema@._witness_keys_problem(coalesce(m.witness_vkey || E'\n', '') || witness_vkey, origin);
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'the witness keys of member "%" would not be usable with this one', origin
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('In the pinned keys followed by the new one, %s.', problem),
                  HINT = 'battledger.consortium_member.witness_vkey must hold the keys join() and repin_witness_key() pinned, oldest first.';
    END IF;
    UPDATE @extschema@.consortium_member c SET witness_vkey = coalesce(c.witness_vkey || E'\n', '') || $2 WHERE c.origin = $1;
    RETURN format('ALTER SUBSCRIPTION %I ENABLE', m.subscription);
END $$;

-- repin_witness_key() (created above from 90_consortium.sql): a member's
-- witness key rotation reaches its peers without a new join; superuser
-- only, like join() and repin_log_key().
COMMENT ON FUNCTION @extschema@.repin_witness_key(text, text) IS
    'pin the new witness key of a member that rotated it (kept oldest first); returns the ALTER SUBSCRIPTION that restarts its subscription (psql: \gexec)';
REVOKE ALL ON FUNCTION @extschema@.repin_witness_key(text, text) FROM PUBLIC;
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
