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
