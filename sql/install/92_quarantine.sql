-----------------------------------------------------------------------------
-- Quarantine (src/pg/quarantine.c): hold back one chain, or every chain of a
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
    -- close_quarantine(): its rows can never be stored; still held back,
    -- no longer counted by consortium_status() (0.19.0)
    closed_at timestamptz,
    closed_reason text,
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
        INSERT INTO @extschema@.quarantine (origin, tbl, chain_key, since, reason, closed_at, closed_reason)
        VALUES (q.origin, q.tbl, q.chain_key, q.since, q.reason, q.closed_at, q.closed_reason);
    END IF;
END $$;
COMMENT ON FUNCTION @extschema@.release_chain(text, regclass, text) IS
    're-check a quarantined chain''s held rows: store those that extend it, keep the rest held with the reason';
REVOKE ALL ON FUNCTION @extschema@.release_chain(text, regclass, text) FROM PUBLIC;

-- A quarantine that can never be released: the member cannot repair the
-- chain (a forged row stays in its append-only table, and its later rows
-- link to it), so release_chain() leaves its rows held for good, and
-- consortium_status() said "quarantined", health() counted the member not ok,
-- for good (0.18.0's closing note; ops21).  Closing it keeps everything as it
-- is -- the chain held back, its rows kept as evidence, later rows of it held
-- too -- and only stops counting it: the member can be "ok" again, the reason
-- then naming the closed chains.  Only after release_chain() has re-checked
-- every held row (each has its problem): closing must not hide a chain that
-- a release would store.  Reopened by setting closed_at back to NULL
-- (docs/consortium.md).  Returns the rows kept held.
CREATE FUNCTION @extschema@.close_quarantine(origin text, tbl regclass, chain_key text DEFAULT NULL,
                                             reason text DEFAULT NULL)
    RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    qual text;
    q record;
    unchecked bigint;
    held bigint;
BEGIN
    SELECT n.nspname || '.' || c.relname INTO qual
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = close_quarantine.tbl;
    SELECT * INTO q FROM @extschema@.quarantine x
     WHERE x.origin = close_quarantine.origin AND x.tbl = qual
       AND x.chain_key IS NOT DISTINCT FROM close_quarantine.chain_key
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no quarantine of % % %', origin, tbl, coalesce(chain_key, '(every chain)')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'battledger.quarantine lists them.';
    END IF;
    IF q.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'the quarantine of % % % is closed already', origin, tbl, coalesce(chain_key, '(every chain)')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('It was closed at %s%s.', q.closed_at, ': ' || q.closed_reason);
    END IF;
    SELECT count(*), count(*) FILTER (WHERE h.problem IS NULL) INTO held, unchecked
      FROM @extschema@.held_row h
     WHERE h.origin = close_quarantine.origin AND h.tbl = qual
       AND (close_quarantine.chain_key IS NULL OR h.chain_key = close_quarantine.chain_key);
    IF held = 0 THEN
        RAISE EXCEPTION 'the quarantine of % % % holds no rows', origin, tbl, coalesce(chain_key, '(every chain)')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('SELECT * FROM battledger.release_chain(%L, %L, %L) ends it.', origin, qual, chain_key);
    END IF;
    IF unchecked > 0 THEN
        RAISE EXCEPTION 'the quarantine of % % % holds % that release_chain() has not re-checked',
                        origin, tbl, coalesce(chain_key, '(every chain)'), @extschema@._counted(unchecked, 'row', 'rows')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A quarantine is closed only when a release has shown that its rows cannot be stored.',
                  HINT = format('SELECT * FROM battledger.release_chain(%L, %L, %L) first: it stores what it can.',
                                origin, qual, chain_key);
    END IF;
    UPDATE @extschema@.quarantine x SET closed_at = pg_catalog.now(), closed_reason = close_quarantine.reason
     WHERE x.origin = q.origin AND x.tbl = q.tbl AND x.chain_key IS NOT DISTINCT FROM q.chain_key;
    RETURN held;
END $$;
COMMENT ON FUNCTION @extschema@.close_quarantine(text, regclass, text, text) IS
    'close a quarantine that release_chain() cannot end: its rows stay held for good, as evidence, and consortium_status() no longer counts it';
REVOKE ALL ON FUNCTION @extschema@.close_quarantine(text, regclass, text, text) FROM PUBLIC;
