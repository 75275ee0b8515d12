-- battledger 0.22.0 -> 0.23.0 (parts in sql/upgrade/0.22.0--0.23.0/)
-- _origin(): battledger.origin as the loaded library reads it, for the
-- rules that decide by "here" (red team r28, P1, P2: a placeholder SET
-- before the library loads passed for another origin), and for
-- _member_hosts (10_member_hosts.replace; red team r29, E1): before the
-- view, which is bound to it (was 60_origin_loaded.sql)
CREATE FUNCTION @extschema@._origin() RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_origin' LANGUAGE C STABLE PARALLEL SAFE;
-- host_pin (0.23.0): each member's host as this database counts it; before
-- _member_hosts (10_member_hosts.replace), which reads it
CREATE TABLE @extschema@.host_pin (
    member    text PRIMARY KEY,
    origin    text,
    how       text NOT NULL CHECK (how IN ('first_seen', 'pinned', 'contested')),
    pinned_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((origin IS NULL) = (how = 'contested'))
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.host_pin', '');
GRANT SELECT ON @extschema@.host_pin TO PUBLIC;
-- The members already here: the order their adding rows arrived in is not
-- kept, so a member one origin added is pinned to it, and a member two
-- origins added is pinned "contested" (every origin that added it hosts
-- it, as before), named member_hosting_contested, until pin_member_host()
-- settles it.
INSERT INTO @extschema@.host_pin (member, origin, how)
SELECT e.member, CASE WHEN count(DISTINCT e.ledger_origin) = 1 THEN min(e.ledger_origin) END,
       CASE WHEN count(DISTINCT e.ledger_origin) = 1 THEN 'first_seen' ELSE 'contested' END
  FROM @extschema@.member_event e WHERE e.event = 'added' GROUP BY e.member;
CREATE OR REPLACE VIEW @extschema@._member_hosts AS
    SELECT e.member,
           CASE WHEN e.ledger_origin = ''
                THEN ARRAY['', @extschema@._origin()]
                ELSE ARRAY[e.ledger_origin] END AS origins
      FROM @extschema@.member_event e
     WHERE e.event = 'added'
       AND NOT EXISTS (SELECT FROM @extschema@.host_pin p
                        WHERE p.member = e.member AND p.origin <> e.ledger_origin);

CREATE OR REPLACE VIEW @extschema@._member_rows_counted AS
    SELECT m.* FROM @extschema@.member_event m
     WHERE EXISTS (SELECT FROM @extschema@._member_hosts h
                    WHERE h.member = m.member AND m.ledger_origin = ANY (h.origins));

CREATE OR REPLACE VIEW @extschema@.members AS
    SELECT DISTINCT ON (member) member, roles, at AS since
      FROM @extschema@._member_rows_counted ORDER BY member, at DESC, ledger_origin DESC, ledger_seq DESC;

CREATE OR REPLACE VIEW @extschema@._key_rows_counted AS
    SELECT k.* FROM @extschema@.key_event k
     WHERE EXISTS (SELECT FROM @extschema@._member_hosts h
                    WHERE h.member = k.member AND k.ledger_origin = ANY (h.origins));

CREATE OR REPLACE FUNCTION @extschema@._pin_first_host() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO @extschema@.host_pin (member, origin, how) VALUES (NEW.member, NEW.ledger_origin, 'first_seen')
        ON CONFLICT (member) DO NOTHING;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.pin_member_host(member text, origin text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.member_event e
                    WHERE e.member = pin_member_host.member AND e.event = 'added'
                      AND e.ledger_origin = pin_member_host.origin) THEN
        RAISE EXCEPTION 'no row of origin "%" adds member "%"', origin, member USING ERRCODE = 'undefined_object',
            DETAIL = format('The origins that added it: %s.',
                            coalesce((SELECT string_agg(DISTINCT '"' || e.ledger_origin || '"', ', ')
                                        FROM @extschema@.member_event e
                                       WHERE e.member = pin_member_host.member AND e.event = 'added'), 'none')),
            HINT = 'Pin a member to an origin whose row adding it is here.';
    END IF;
    INSERT INTO @extschema@.host_pin (member, origin, how) VALUES (member, origin, 'pinned')
        ON CONFLICT ON CONSTRAINT host_pin_pkey
        DO UPDATE SET origin = EXCLUDED.origin, how = 'pinned', pinned_at = now();
END $$;

CREATE OR REPLACE FUNCTION @extschema@.add_member(name text, roles text[]) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- (a row adding it: a roles row another origin wrote for a name nobody
    -- had added, which counts for nothing, must not keep its host from
    -- adding it; red team m23, R4)
    IF EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = name AND e.event = 'added') THEN
        RAISE EXCEPTION 'member "%" already exists', name USING ERRCODE = 'duplicate_object',
            HINT = 'Change its roles with battledger.set_member_roles().';
    END IF;
    IF NOT roles <@ @extschema@.member_roles() THEN
        RAISE EXCEPTION 'unknown member role in %', roles USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('The roles are: %s.', array_to_string(@extschema@.member_roles(), ', '));
    END IF;
    INSERT INTO @extschema@.member_event (member, event, roles) VALUES (name, 'added', roles);
    RETURN name;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.set_member_roles(name text, roles text[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = name AND e.event = 'added') THEN
        RAISE EXCEPTION 'member "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    INSERT INTO @extschema@.member_event (member, event, roles) VALUES (name, 'roles_changed', roles);
END $$;

CREATE OR REPLACE FUNCTION @extschema@.add_key(member text, public_key bytea,
                                    valid_from timestamptz DEFAULT now(),
                                    valid_until timestamptz DEFAULT NULL)
    RETURNS @extschema@.hash256
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    id @extschema@.hash256 := @extschema@.key_id(public_key);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = add_key.member AND e.event = 'added') THEN
        RAISE EXCEPTION 'member "%" does not exist', member USING ERRCODE = 'undefined_object',
            HINT = 'Register it first with battledger.add_member().';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.key_event k WHERE k.key_id OPERATOR(@extschema@.=) id) THEN
        RAISE EXCEPTION 'key % is already registered', id USING ERRCODE = 'duplicate_object';
    END IF;
    IF valid_from IS NULL OR (valid_until IS NOT NULL AND valid_until <= valid_from) THEN
        RAISE EXCEPTION 'invalid validity period [%, %)', valid_from, valid_until
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO @extschema@.key_event (key_id, member, event, public_key, valid_from, valid_until)
    VALUES (id, member, 'added', public_key, valid_from, valid_until);
    RETURN id;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.add_key(member text, public_key_pem text,
                                    valid_from timestamptz DEFAULT now(),
                                    valid_until timestamptz DEFAULT NULL)
    RETURNS @extschema@.hash256
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.add_key(member, @extschema@.public_key_from_pem(public_key_pem), valid_from, valid_until)
$$;

CREATE OR REPLACE FUNCTION @extschema@._signer_at(key_id @extschema@.hash256, at timestamptz, OUT member text, OUT roles text[])
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    -- (the key's counted member, as the key cache reads it: a key row
    -- written where its member is not hosted signs for nobody, and a key
    -- two members' rows count for is nobody's; 0.22.0)
    SELECT k.member INTO member FROM @extschema@.keys k
     WHERE k.key_id OPERATOR(@extschema@.=) _signer_at.key_id;
    IF member IS NOT NULL THEN
        -- (roles changed where the member is not hosted change nothing; 0.23.0)
        SELECT m.roles INTO roles FROM @extschema@._member_rows_counted m
         WHERE m.member = _signer_at.member AND m.at <= _signer_at.at
         ORDER BY m.at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._governance_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- (not current_setting(): before the library loads, which the chain
    -- trigger does after this one, any role may SET a placeholder for it
    -- and pass for another origin; red team r28, P1)
    here text := @extschema@._origin();
    host text;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
    IF TG_TABLE_NAME = 'member_event' AND NEW.event = 'added' THEN
        SELECT e.ledger_origin INTO host FROM @extschema@.member_event e
         WHERE e.member = NEW.member AND e.event = 'added' LIMIT 1;
        IF FOUND THEN
            PERFORM @extschema@._refuse('BL044', format('member "%s" was added by origin "%s"', NEW.member, host),
                'A member is added once, by the origin that hosts it; adding it again elsewhere would contest its hosting.',
                'Change its roles with battledger.set_member_roles() at its own origin.');
        END IF;
        RETURN NEW;
    END IF;
    -- a key row names its key by key_id, and the readers (keys, the key
    -- cache, _signer_at()) read a revocation by key_id alone and take one
    -- of a key's 'added' rows: a row naming a member hosted here but
    -- another member's key revoked or re-registered that member's key
    -- (red team r25, V1, V2)
    IF TG_TABLE_NAME = 'key_event' AND NEW.event = 'added' THEN
        SELECT k.member INTO host FROM @extschema@.key_event k
         WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id AND k.event = 'added' LIMIT 1;
        IF FOUND THEN
            PERFORM @extschema@._refuse('BL044', format('key %s is already registered, for member "%s"', NEW.key_id, host),
                'A key is registered once, for one member: a second row would make its signer ambiguous.',
                'Register a key pair of the member''s own.');
        END IF;
    ELSIF TG_TABLE_NAME = 'key_event' THEN
        IF NOT EXISTS (SELECT FROM @extschema@.key_event k WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id
                          AND k.event = 'added' AND k.member = NEW.member) THEN
            PERFORM @extschema@._refuse('BL044', format('key %s is not a key of member "%s"', NEW.key_id, NEW.member),
                'A revocation names the member the key was added for.',
                'Revoke keys with battledger.revoke_key().');
        END IF;
        -- the origin that added a key may always withdraw it, also where a
        -- second origin adding the member has contested its hosting since
        -- (a compromised key must stay revocable; red team r25, X1)
        IF EXISTS (SELECT FROM @extschema@.key_event k WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id
                      AND k.event = 'added' AND k.member = NEW.member AND k.ledger_origin IN (here, '')) THEN
            RETURN NEW;
        END IF;
    END IF;
    -- (a row of the empty origin was written here, before battledger.origin
    -- was set or by 0.1.0: the arrival check refuses one from elsewhere;
    -- red team r25, E1.)  A member added nowhere yet passes: pg_restore
    -- brings key_event's rows before member_event's (pg_dump orders table
    -- data by name), and a key row for a member no origin has added signs
    -- for no roles; if another origin adds that member later, the row is
    -- named key_not_hosted (registry_conflicts(); red team r25, D1)
    IF EXISTS (SELECT FROM @extschema@._member_hosts h WHERE h.member = NEW.member AND NOT h.origins && ARRAY[here, '']) THEN
        SELECT string_agg(DISTINCT '"' || e.ledger_origin || '"', ', ') INTO host FROM @extschema@.member_event e
         WHERE e.member = NEW.member AND e.event = 'added';
        PERFORM @extschema@._refuse('BL044', format('member "%s" is not hosted here', NEW.member),
            format('A member''s keys and roles are registered by the origin that added it (%s); this database is "%s".',
                   coalesce(host, 'none'), here),
            'Ask the DBA of the member''s own database to register it.');
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE VIEW @extschema@._lot_counted_creation WITH (security_invoker = true) AS
SELECT l.lot_id, f.event, f.material, f.mass_kg, f.inputs, f.signer, f.ledger_at, f.ledger_origin, f.ledger_seq
  FROM (SELECT x.lot_id FROM @extschema@.lot_event x
         WHERE x.event IN ('extracted', 'processed', 'secondary_created') GROUP BY x.lot_id) l
  -- (OFFSET 0: not pulled up, so that the key's test gates the claims'
  -- query, which a lot id in no namespace does not run)
  LEFT JOIN LATERAL (SELECT c.members, c.since FROM @extschema@._key_claims(@extschema@._text_id_key(l.lot_id)) c
                      WHERE @extschema@._text_id_key(l.lot_id) IS NOT NULL OFFSET 0) cl ON true
  LEFT JOIN LATERAL (
      SELECT x.event, x.material, x.mass_kg, x.inputs, s.member AS signer, x.ledger_at, x.ledger_origin, x.ledger_seq
        FROM @extschema@.lot_event x
        CROSS JOIN LATERAL (SELECT ke.member FROM @extschema@.keys ke
                             WHERE ke.key_id OPERATOR(@extschema@.=) x.ledger_key_id OFFSET 0) s
       WHERE x.lot_id = l.lot_id AND x.event IN ('extracted', 'processed', 'secondary_created')
         AND coalesce((SELECT m.roles FROM @extschema@._member_rows_counted m
                        WHERE m.member = s.member AND m.at <= x.ledger_at
                        ORDER BY m.at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1)
                      && (SELECT k.roles FROM @extschema@.event_kind k WHERE k.event = x.event AND k.subject = 'lot'),
                      false)
         AND (cl.members IS NULL OR @extschema@._key_claim_allows(cl.members, cl.since, s.member, x.ledger_at))
       ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LIMIT 1) f ON true;

CREATE OR REPLACE FUNCTION @extschema@.add_id_namespace(member text, namespace text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    other record;
BEGIN
    IF member IS NULL OR NOT EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = add_id_namespace.member AND e.event = 'added') THEN
        RAISE EXCEPTION 'member "%" does not exist', member USING ERRCODE = 'undefined_object',
            HINT = 'Register it first with battledger.add_member().';
    END IF;
    -- (_origin(), not current_setting(): a placeholder SET before the
    -- library loads is not this database's origin; red team r28, P2)
    IF NOT @extschema@._ns_hosted(member, @extschema@._origin()) THEN
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
    -- nor models another member declared, nor lots it created, under it
    -- (ns21 put them in namespaces): their rows dated before it keep
    -- counting, but the holder's own application was refused its model's
    -- next declaration (BL044; red team r22, N1).  Every spelling
    -- _text_id_key() reads: one pass over them, at registration only
    SELECT s.member, x.id INTO other
      FROM (SELECT m.model_id AS id, m.ledger_key_id, m.ledger_at, m.ledger_origin, m.ledger_seq FROM @extschema@.battery_model m
            UNION ALL
            SELECT l.lot_id, l.ledger_key_id, l.ledger_at, l.ledger_origin, l.ledger_seq FROM @extschema@.lot_event l
             WHERE l.event IN ('extracted', 'processed', 'secondary_created')) x,
           @extschema@._signer(x.ledger_key_id) s
     WHERE s.member IS DISTINCT FROM add_id_namespace.member
       AND @extschema@._ns_covers(add_id_namespace.namespace, @extschema@._text_id_key(x.id))
     ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'member "%" has declared models or created lots in namespace "%"', other.member, namespace
            USING ERRCODE = 'BL044', DETAIL = format('For example %s.', other.id),
                  HINT = 'Agree in the consortium whose namespace it is; the registration would refuse that member''s next rows of them.';
    END IF;
    -- nor passport ids another member issued under it (pp23 put them in
    -- namespaces): a claim overlapping the issuer's excludes neither, so
    -- the registering member's application could then issue the issuer's
    -- next passport ids before it, and hold them (BL038 for the issuer;
    -- red team r24, N1).  One pass over the issuing rows, at registration
    SELECT s.member, e.passport_id AS id INTO other
      FROM @extschema@.battery_event e, @extschema@._signer(e.ledger_key_id) s
     WHERE e.passport_id IS NOT NULL
       AND (e.event = 'placed_on_market' OR (e.event = 'status_changed' AND e.new_status IN ('re-used', 'repurposed', 'remanufactured')))
       AND s.member IS DISTINCT FROM add_id_namespace.member
       AND @extschema@._ns_covers(add_id_namespace.namespace, @extschema@._text_id_key(e.passport_id))
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'member "%" has issued passport ids in namespace "%"', other.member, namespace
            USING ERRCODE = 'BL044', DETAIL = format('For example %s.', other.id),
                  HINT = 'Agree in the consortium whose namespace it is; the registration would let you issue that member''s next passport ids.';
    END IF;
    INSERT INTO @extschema@.id_namespace (namespace, member) VALUES (namespace, member);
    RETURN namespace;
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
            RETURN QUERY SELECT t.tbl, 'leaf_without_row'::text, format('%s not received.', @extschema@._counted(n, 'leaf names a row', 'leaves name rows'));
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
                format('%s signed with a key since revoked, dated before the revocation, %s not covered by a checkpoint another witness cosigned before it.',
                       @extschema@._counted(n, 'row', 'rows'), CASE WHEN n = 1 THEN 'is' ELSE 'are' END);
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
            'SELECT x.tbl, ''backdated_row''::text, pg_catalog.format(''%%s dated more than %%s before a row the member sealed earlier (the first at leaf %%s).'', '
            '       @extschema@._counted(count(*), ''row is'', ''rows are''), $2, min(x.leaf_index)) '
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
                       'LEFT JOIN LATERAL (SELECT e.roles FROM @extschema@._member_rows_counted e '
                       '                    WHERE e.member = k.member AND e.at <= r.ledger_at '
                       '                    ORDER BY e.at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 1) ra ON true '
                       'WHERE r.ledger_origin = $1', t.tbl)
            INTO cp USING member, t.signer_roles, t.tbl;
        IF cp.n_role > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'wrong_role'::text,
                format('%s signed by a key whose member held none of the table''s roles at the row''s time.',
                       @extschema@._counted(cp.n_role, 'row is', 'rows are'));
        END IF;
        IF cp.n_key > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'batch_key_invalid'::text,
                format('%s signed by a key unknown, not valid or revoked at the row''s time.',
                       @extschema@._counted(cp.n_key, 'row of a batch is', 'rows of batches are'));
        END IF;
        IF cp.n_batch > 0 THEN
            RETURN QUERY SELECT t.tbl::text, 'batch_mismatch'::text,
                format('%s a batch that is missing, for another table, or signed by another key.',
                       @extschema@._counted(cp.n_batch, 'row names', 'rows name'));
        END IF;
        done := done + 1;
        last := @extschema@._progress(what, 'checks', done, steps, started, last);
    END LOOP;
    -- registry rows its rules should have refused: judged ineffective on
    -- every member (battery_lifecycle(), _model_holder(), _lot_custody_steps()),
    -- and named here as the member's doing, with the table each is in (a
    -- namespace, model or lot row names no battery)
    -- (by the problem, which each branch of registry_conflicts() sets, not
    -- by the event, a lot row's free text: one written past the rules as
    -- 'battery_model' was filed there; red team r22, V1)
    RETURN QUERY SELECT CASE WHEN c.battery_id IS NULL AND c.problem LIKE 'namespace\_%' THEN 'battledger.id_namespace'
                             WHEN c.battery_id IS NULL AND c.problem IN ('key_not_hosted', 'key_registered_twice') THEN 'battledger.key_event'
                             WHEN c.battery_id IS NULL AND c.problem IN ('roles_not_hosted', 'member_hosting_contested') THEN 'battledger.member_event'
                             WHEN c.battery_id IS NULL AND c.problem LIKE 'model\_%' THEN 'battledger.battery_model'
                             WHEN c.battery_id IS NULL THEN 'battledger.lot_event'
                             ELSE 'battledger.battery_event' END,
                        'registry_equivocation'::text,
                        CASE WHEN c.battery_id IS NULL
                             THEN pg_catalog.format('%s (seq %s): %s', c.event, c.ledger_seq, c.message)
                             ELSE pg_catalog.format('%s of battery %s (seq %s): %s', c.event, c.battery_id, c.ledger_seq, c.message) END
                   FROM @extschema@.registry_conflicts() c
                  WHERE c.ledger_origin = member AND c.kind = 'equivocation'
                  ORDER BY c.battery_id::text NULLS LAST, c.event, c.ledger_seq;
    -- rows held back from a quarantined chain are not here yet
    RETURN QUERY SELECT h.tbl, 'held_back'::text,
                        pg_catalog.format('%s of chain %s held back by a quarantine.', @extschema@._counted(count(*), 'row', 'rows'), coalesce(h.chain_key, '(every chain)'))
                   FROM @extschema@.held_row h WHERE h.origin = member GROUP BY h.tbl, h.chain_key ORDER BY 1, 3;
    -- the latest checkpoint is the tree of the stored leaves
    SELECT p.tree_size, p.root INTO cp FROM @extschema@.peer_checkpoint p
     WHERE p.origin = member ORDER BY p.tree_size DESC LIMIT 1;
    IF FOUND AND @extschema@._peer_root(member, cp.tree_size)::text IS DISTINCT FROM cp.root::text THEN
        RETURN QUERY SELECT NULL::text, 'root_mismatch'::text,
                            format('The stored leaves do not give the root of checkpoint %s.', cp.tree_size);
    END IF;
END $$;

GRANT SELECT ON @extschema@._member_hosts, @extschema@._member_rows_counted TO PUBLIC;
CREATE TRIGGER battledger_host_pin AFTER INSERT ON @extschema@.member_event
    FOR EACH ROW WHEN (NEW.event = 'added') EXECUTE FUNCTION @extschema@._pin_first_host();
ALTER TABLE @extschema@.member_event ENABLE ALWAYS TRIGGER battledger_host_pin;
CREATE TRIGGER battledger_keys_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.host_pin
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@.host_pin ENABLE ALWAYS TRIGGER battledger_keys_changed;
CREATE TRIGGER battledger_fold_inputs AFTER INSERT OR UPDATE OR DELETE ON @extschema@.host_pin
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._fold_inputs_changed();
ALTER TABLE @extschema@.host_pin ENABLE ALWAYS TRIGGER battledger_fold_inputs;
REVOKE ALL ON FUNCTION @extschema@.pin_member_host(text, text), @extschema@._pin_first_host() FROM PUBLIC;
-- pop23: proofs of possession (docs/security.md, 0.23.0).  A key whose
-- counted rows name two members signs for the one member that proved it
-- holds the key (a new ledger table, key_proof, and the C check the readers
-- run on its rows); the functions: 31_key_proof.replace; the keys view, the
-- triggers and privileges: 32_key_proof.sql.
CREATE TABLE @extschema@.key_proof (
    key_id      @extschema@.hash256 NOT NULL,
    member      text NOT NULL,
    public_key  bytea NOT NULL CHECK (length(public_key) = 32),
    signature   bytea NOT NULL CHECK (length(signature) = 64),
    at          timestamptz NOT NULL DEFAULT now(),
    CHECK (key_id = @extschema@.key_id(public_key))
);
SELECT @extschema@.enable_ledger('@extschema@.key_proof', 'member');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.key_proof', '');
CREATE INDEX key_proof_key_id ON @extschema@.key_proof (key_id);

-- key_possession_message(member text, public_key bytea) RETURNS bytea
CREATE FUNCTION @extschema@.key_possession_message(member text, public_key bytea) RETURNS bytea
    AS 'MODULE_PATHNAME', 'battledger_key_possession_message' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- _key_possession_valid(member text, public_key bytea, signature bytea) RETURNS boolean:
-- false, never an error, for malformed or weak keys (a reader must not fail
-- on a row a superuser wrote past the table's checks)
CREATE FUNCTION @extschema@._key_possession_valid(member text, public_key bytea, signature bytea) RETURNS boolean
    AS 'MODULE_PATHNAME', 'battledger_key_possession_valid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION @extschema@._key_proven_member(key_id @extschema@.hash256) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT min(f.member) FROM (
        SELECT DISTINCT f.member
          FROM (SELECT DISTINCT ON (p.member, p.ledger_origin) p.*
                  FROM @extschema@.key_proof p
                 WHERE p.key_id OPERATOR(@extschema@.=) _key_proven_member.key_id
                 ORDER BY p.member, p.ledger_origin, p.ledger_seq) f
         WHERE @extschema@.key_id(f.public_key) OPERATOR(@extschema@.=) f.key_id
           AND EXISTS (SELECT FROM @extschema@._key_rows_counted a
                        WHERE a.key_id OPERATOR(@extschema@.=) f.key_id AND a.event = 'added'
                          AND a.member = f.member)
           AND @extschema@._key_possession_valid(f.member, f.public_key, f.signature)) f
    HAVING count(*) = 1
$$;

CREATE OR REPLACE FUNCTION @extschema@._key_member_validity(key_id @extschema@.hash256, member text,
                                                 OUT valid_from timestamptz, OUT valid_until timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT max(c.valid_from), min(c.valid_until) FROM @extschema@._key_rows_counted c
     WHERE c.key_id OPERATOR(@extschema@.=) _key_member_validity.key_id AND c.event = 'added'
       AND c.member = _key_member_validity.member
$$;

CREATE OR REPLACE VIEW @extschema@.keys AS
    SELECT g.key_id, g.member, g.public_key,
           CASE WHEN g.contested THEN (@extschema@._key_member_validity(g.key_id, g.member)).valid_from
                ELSE g.valid_from END AS valid_from,
           CASE WHEN g.contested THEN (@extschema@._key_member_validity(g.key_id, g.member)).valid_until
                ELSE g.valid_until END AS valid_until,
           (SELECT min(r.revoked_at) FROM @extschema@._key_rows_counted r
             WHERE r.key_id OPERATOR(@extschema@.=) g.key_id AND r.event = 'revoked' AND r.member = g.member) AS revoked_at
      FROM (SELECT a.key_id, a.public_key, min(a.member) <> max(a.member) AS contested,
                   CASE WHEN min(a.member) = max(a.member) THEN min(a.member)
                        ELSE @extschema@._key_proven_member(a.key_id) END AS member,
                   max(a.valid_from) AS valid_from, min(a.valid_until) AS valid_until
              FROM @extschema@._key_rows_counted a
             WHERE a.event = 'added'
             GROUP BY a.key_id, a.public_key) g
     WHERE g.member IS NOT NULL;

CREATE OR REPLACE FUNCTION @extschema@.prove_key(key_id @extschema@.hash256, signature bytea, member text DEFAULT NULL)
    RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    pub bytea;
    who text;
BEGIN
    SELECT k.public_key INTO pub FROM @extschema@.key_event k
     WHERE k.key_id OPERATOR(@extschema@.=) prove_key.key_id AND k.event = 'added' LIMIT 1;
    IF pub IS NULL THEN
        RAISE EXCEPTION 'key % is not registered', key_id USING ERRCODE = 'undefined_object',
            HINT = 'Register it first with battledger.add_key().';
    END IF;
    IF member IS NOT NULL AND NOT EXISTS (SELECT FROM @extschema@.key_event k
                                           WHERE k.key_id OPERATOR(@extschema@.=) prove_key.key_id
                                             AND k.event = 'added' AND k.member = prove_key.member) THEN
        RAISE EXCEPTION 'key % is not registered for member "%"', key_id, member USING ERRCODE = 'undefined_object',
            DETAIL = 'A proof of possession counts only for a member the key is added for.';
    END IF;
    IF signature IS NULL OR length(signature) <> 64 THEN
        RAISE EXCEPTION 'an Ed25519 signature is 64 bytes, not %', coalesce(length(signature), 0)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT min(k.member) INTO who
      FROM (SELECT DISTINCT k.member FROM @extschema@.key_event k
             WHERE k.key_id OPERATOR(@extschema@.=) prove_key.key_id AND k.event = 'added'
               AND (prove_key.member IS NULL OR k.member = prove_key.member)) k
     WHERE @extschema@._key_possession_valid(k.member, pub, signature);
    IF who IS NULL THEN
        RAISE EXCEPTION 'the signature does not prove possession of key %', key_id USING ERRCODE = 'BL016',
            DETAIL = CASE WHEN member IS NULL THEN 'It verifies over key_possession_message() of no member the key is added for.'
                          ELSE format('It does not verify over key_possession_message(''%s'', public key).', member) END,
            HINT = 'Sign battledger.key_possession_message(member, public_key) with the key (battledger sign --key FILE --hex ...).';
    END IF;
    -- only the first proof of an origin for a member counts (_key_proven_member())
    IF EXISTS (SELECT FROM @extschema@.key_proof p
                WHERE p.key_id OPERATOR(@extschema@.=) prove_key.key_id AND p.member = who
                  AND p.ledger_origin = coalesce(pg_catalog.current_setting('battledger.origin', true), '')) THEN
        RAISE EXCEPTION 'key % already has a proof of possession for member "%" written here', key_id, who
            USING ERRCODE = 'duplicate_object',
                  DETAIL = 'Only the first proof of each origin for a member counts; '
                           || CASE WHEN EXISTS (SELECT FROM @extschema@.key_proof p
                                                 WHERE p.key_id OPERATOR(@extschema@.=) prove_key.key_id AND p.member = who
                                                   AND @extschema@._key_possession_valid(p.member, p.public_key, p.signature))
                                   THEN 'a valid one is stored.'
                                   ELSE 'the one stored here does not verify (written past prove_key()): prove the key at another member.' END;
    END IF;
    INSERT INTO @extschema@.key_proof (key_id, member, public_key, signature)
    VALUES (key_id, who, pub, signature);
    RETURN who;
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
    -- excludes the other until the consortium settles it (both are named).
    -- Each registration once, with the first other member's registration
    -- it overlaps (one covering it, else one it covers): a row per pair
    -- made a member registering one namespace under a thousand members of
    -- its own (add_member(), add_id_namespace(): a WARNING each) cost every
    -- reader a million rows, 6 s here, and verify_member() as much, growing
    -- with the square (red team r24, D1).  Those covering it are among its
    -- prefixes (_ns_candidates(): the chain index, namespace first); those
    -- it covers are the longer GS1 prefixes it starts (an ISO/IEC 15459
    -- one overlaps only its equal), found in id_namespace_prefix ('0'-'9'
    -- sort before ';' in "C")
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member, 'namespace_contested', 'conflict',
           format('namespace "%s" of "%s" overlaps "%s" of "%s"', n.namespace, n.member, f.namespace, f.member)
      FROM @extschema@.id_namespace n
     CROSS JOIN LATERAL (
           (SELECT o.namespace, o.member FROM @extschema@.id_namespace o
             WHERE o.namespace = ANY (@extschema@._ns_candidates(n.namespace)) AND o.member <> n.member
               AND @extschema@._ns_covers(o.namespace, n.namespace) AND @extschema@._ns_hosted(o.member, o.ledger_origin)
             ORDER BY o.namespace, o.ledger_origin, o.ledger_seq LIMIT 1)
           UNION ALL
           (SELECT o.namespace, o.member FROM @extschema@.id_namespace o
             WHERE n.namespace LIKE 'gs1:%'
               AND (o.namespace COLLATE "C") > (n.namespace COLLATE "C") AND (o.namespace COLLATE "C") < ((n.namespace || ';') COLLATE "C")
               AND o.member <> n.member AND @extschema@._ns_hosted(o.member, o.ledger_origin)
             ORDER BY (o.namespace COLLATE "C") LIMIT 1)
           LIMIT 1) f
     WHERE @extschema@._ns_hosted(n.member, n.ledger_origin)
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
              CROSS JOIN LATERAL (SELECT k.member FROM @extschema@.keys k
                                   WHERE k.key_id OPERATOR(@extschema@.=) x.ledger_key_id OFFSET 0) s
             WHERE x.key IS NOT NULL AND s.member IS NOT NULL AND s.member IS DISTINCT FROM n.member
             ORDER BY n.namespace, n.member, n.ledger_origin, n.ledger_seq, x.ledger_at, x.ledger_origin, x.ledger_seq
            OFFSET 0) o
     -- (after the DISTINCT: once per registration named)
     WHERE @extschema@._ns_hosted(o.member, o.ledger_origin)
    UNION ALL
    -- a registration written where its member is not hosted counts for
    -- nothing: an equivocation of its origin, which never added the member.
    -- One written where the member was added, whose hosting another origin
    -- contests by adding it too, is a conflict naming those origins: the
    -- registering member's rules could not see it coming, and another
    -- member's superuser adding the member at its own origin made every
    -- registration of it its host's equivocation (red team r24, H1)
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member,
           CASE WHEN h.others IS NULL THEN 'namespace_not_hosted' ELSE 'namespace_hosting_contested' END,
           CASE WHEN h.others IS NULL THEN 'equivocation' ELSE 'conflict' END,
           CASE WHEN h.others IS NULL
                THEN format('namespace "%s" registered for "%s" by origin "%s", where that member is not hosted', n.namespace, n.member, n.ledger_origin)
                ELSE format('namespace "%s" registered for "%s" by origin "%s", which added that member, as did %s: its hosting is contested',
                            n.namespace, n.member, n.ledger_origin, h.others) END
      FROM @extschema@.id_namespace n
     CROSS JOIN LATERAL (
           SELECT CASE WHEN bool_or(e.ledger_origin = n.ledger_origin)
                       THEN string_agg(DISTINCT '"' || e.ledger_origin || '"', ', ') FILTER (WHERE e.ledger_origin <> n.ledger_origin) END AS others
             FROM @extschema@.member_event e WHERE e.member = n.member AND e.event = 'added') h
     WHERE NOT @extschema@._ns_hosted(n.member, n.ledger_origin)
    UNION ALL
    -- a key added or revoked, or roles changed, by an origin that never
    -- added the member (_governance_rules() refuses it on the writer; red
    -- team r24): an equivocation of that origin.  Such a row counts for
    -- nothing since 0.22.0 (the keys view: its key signs for nobody, its
    -- revocation revokes nothing); this names it.
    -- Where the origin did add the member and another origin contests its
    -- hosting, the namespace branch above names the contest
    -- A revocation naming a member the key was not added for revokes the
    -- key anyway (readers judge it by key_id): that too (red team r25, V1)
    SELECT NULL, g.ledger_origin, g.ledger_seq, g.tbl, g.member,
           CASE g.tbl WHEN 'key_event' THEN 'key_not_hosted' ELSE 'roles_not_hosted' END, 'equivocation',
           CASE WHEN g.hosted THEN format('%s for "%s" by origin "%s", which was not added for that member', g.what, g.member, g.ledger_origin)
                ELSE format('%s for "%s" by origin "%s", which did not add that member', g.what, g.member, g.ledger_origin) END
      -- (hosting as every reader judges it, _member_hosts: a member added
      -- under the empty origin was added here too; red team r25, E1)
      FROM (SELECT h.*, EXISTS (SELECT FROM @extschema@._member_hosts e
                                 WHERE e.member = h.member AND h.ledger_origin = ANY (e.origins)) AS hosted
              FROM (SELECT 'key_event' AS tbl, k.member, k.ledger_origin, k.ledger_seq, k.key_id, k.event,
                           format('key %s %s', k.key_id, k.event) AS what
                      FROM @extschema@.key_event k
                    UNION ALL
                    SELECT 'member_event', m.member, m.ledger_origin, m.ledger_seq, NULL, m.event, format('roles %s', m.roles)
                      FROM @extschema@.member_event m WHERE m.event <> 'added') h) g
     WHERE NOT g.hosted
        OR (g.event = 'revoked' AND NOT EXISTS (SELECT FROM @extschema@.key_event a
                                                 WHERE a.key_id OPERATOR(@extschema@.=) g.key_id AND a.event = 'added'
                                                   AND a.member = g.member))
    UNION ALL
    -- a key added more than once (for two members, or by two origins: the
    -- writer refuses a second on one database, red team r25 V2, but two
    -- origins can each add it before seeing the other's row, or one writes
    -- past its rules).  Since 0.22.0 every reader (the keys view) counts
    -- only its rows whose origin added their member, and a key those name
    -- two members for signs for neither; the rest are named too.  Named at
    -- each of its rows, a conflict.  Since 0.23.0 such a key signs for the
    -- one member whose holder proved possession of it (key_proof): still
    -- named, the detail saying who proved it; a row adding it for another
    -- member is then its origin's equivocation (it registered a key whose
    -- holder is another member: verify_member() files it under key_event),
    -- the prover's own rows stay conflicts
    SELECT NULL, a.ledger_origin, a.ledger_seq, 'key_event', a.member, 'key_registered_twice',
           CASE WHEN pr.signs AND a.member <> pr.member THEN 'equivocation' ELSE 'conflict' END,
           format('key %s added for "%s" by origin "%s", and %s times more', a.key_id, a.member, a.ledger_origin,
                  (SELECT count(*) - 1 FROM @extschema@.key_event o
                    WHERE o.key_id OPERATOR(@extschema@.=) a.key_id AND o.event = 'added'))
           || CASE WHEN pr.member IS NULL THEN ''
                   ELSE format('; "%s" proved possession of it (key_proof)%s', pr.member,
                               CASE WHEN pr.signs THEN ', so it signs for that member' ELSE '' END) END
      FROM @extschema@.key_event a
      -- (who proved it, once per key, not per row: _key_proven_member()
      -- verifies a proof per contesting member, so a superuser who added a
      -- competitor's key for K members of its own, each with a garbage
      -- proof, made this K^2 verifications, over 10 minutes at K = 2,000;
      -- red team r29, C1)
      JOIN (WITH t AS MATERIALIZED (
                SELECT t.key_id, x.member,
                       EXISTS (SELECT FROM @extschema@.keys k
                                WHERE k.key_id OPERATOR(@extschema@.=) t.key_id AND k.member = x.member) AS signs
                  FROM (SELECT o.key_id FROM @extschema@.key_event o WHERE o.event = 'added'
                         GROUP BY o.key_id HAVING count(*) > 1) t
                 CROSS JOIN LATERAL (SELECT @extschema@._key_proven_member(t.key_id) AS member) x)
            SELECT * FROM t) pr ON pr.key_id OPERATOR(@extschema@.=) a.key_id
     WHERE a.event = 'added'
       -- (another row: chains are per member, so one origin's rows for two
       -- members can share a ledger_seq; until 0.23.0 such a pair went unnamed)
       AND EXISTS (SELECT FROM @extschema@.key_event o
                    WHERE o.key_id OPERATOR(@extschema@.=) a.key_id AND o.event = 'added'
                      AND (o.member, o.ledger_origin, o.ledger_seq) IS DISTINCT FROM (a.member, a.ledger_origin, a.ledger_seq))
    UNION ALL
    -- a member added by more than one origin (two origins adding it before
    -- either saw the other's row, or one written past the rules): its
    -- hosting is contested; each database counts the keys and roles of the
    -- origin it pinned (the first it saw adding it, or pin_member_host()),
    -- so members may disagree until the consortium settles it; named once
    -- per row adding it, whether or not it has a namespace (red team r25,
    -- X1; 0.23.0)
    SELECT NULL, a.ledger_origin, a.ledger_seq, 'member_event', a.member, 'member_hosting_contested', 'conflict',
           format('member "%s" added by origin "%s", and also by %s; %s', a.member, a.ledger_origin,
                  (SELECT string_agg(DISTINCT '"' || o.ledger_origin || '"', ', ') FROM @extschema@.member_event o
                    WHERE o.member = a.member AND o.event = 'added' AND o.ledger_origin <> a.ledger_origin),
                  -- (which of them this database counts: its pin, host_pin)
                  coalesce((SELECT format('hosted here by "%s" (%s)', p.origin, replace(p.how, '_', ' '))
                              FROM @extschema@.host_pin p WHERE p.member = a.member AND p.origin IS NOT NULL),
                           'no origin pinned here (contested before 0.23.0): the rows of each count'))
      FROM @extschema@.member_event a
     WHERE a.event = 'added'
       AND EXISTS (SELECT FROM @extschema@.member_event o
                    WHERE o.member = a.member AND o.event = 'added' AND o.ledger_origin <> a.ledger_origin)
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

-- pop23: key_proof's triggers and privileges (the keys view, which reads
-- proofs of possession for a contested key: 31_key_proof.replace).
GRANT SELECT ON @extschema@.key_proof TO PUBLIC;
CREATE TRIGGER battledger_keys_changed AFTER INSERT ON @extschema@.key_proof
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@.key_proof ENABLE ALWAYS TRIGGER battledger_keys_changed;
CREATE TRIGGER battledger_fold_inputs AFTER INSERT ON @extschema@.key_proof
    FOR EACH ROW EXECUTE FUNCTION @extschema@._fold_inputs_changed();
ALTER TABLE @extschema@.key_proof ENABLE ALWAYS TRIGGER battledger_fold_inputs;
REVOKE ALL ON FUNCTION @extschema@.prove_key(@extschema@.hash256, bytea, text) FROM PUBLIC;
-- a member that publishes: key_proof joins its publication (its
-- subscribers: ALTER SUBSCRIPTION ... REFRESH PUBLICATION once they run
-- 0.23.0 too; docs/consortium.md, "Adding a ledger table later")
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = 'battledger_member') THEN
        PERFORM @extschema@.publish_member();
    END IF;
END $$;
CREATE OR REPLACE FUNCTION @extschema@.recopy_table(member text, tbl regclass)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sub oid;
    sub_name name;
    enabled boolean;
    state "char";
BEGIN
    SELECT s.oid, s.subname, s.subenabled INTO sub, sub_name, enabled
      FROM @extschema@.consortium_member m
      JOIN pg_catalog.pg_subscription s
        ON s.subname = m.subscription AND s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
     WHERE m.origin = member;
    IF sub IS NULL THEN
        RAISE EXCEPTION 'member "%" has no subscription here', member
            USING ERRCODE = '42704', HINT = 'See battledger.consortium_member and battledger.consortium_status().';
    END IF;
    SELECT r.srsubstate INTO state FROM pg_catalog.pg_subscription_rel r WHERE r.srsubid = sub AND r.srrelid = tbl;
    IF state IS NULL THEN
        RAISE EXCEPTION 'table % is not in the subscription % to member "%"', tbl, sub_name, member
            USING ERRCODE = '42P01', HINT = 'pg_subscription_rel lists its tables.';
    END IF;
    IF state <> 'f' THEN
        RAISE EXCEPTION 'the copy of table % from member "%" is in state %, not f', tbl, member, state
            USING ERRCODE = '55000',
                  DETAIL = 'Only a table copied whose catch-up cannot start (state f: consortium_status() says "copy failing" and names it) is copied again: in states i and d its sync worker starts over by itself; past f it needs nothing.';
    END IF;
    IF enabled THEN
        RAISE EXCEPTION 'subscription % is enabled', sub_name
            USING ERRCODE = '55000',
                  DETAIL = 'Its workers must be gone before the table''s copy is reset.',
                  HINT = pg_catalog.format('ALTER SUBSCRIPTION %I DISABLE, then call this again (it enables the subscription).', sub_name);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_stat_subscription w WHERE w.subid = sub AND w.pid IS NOT NULL) THEN
        RAISE EXCEPTION 'a worker of subscription % still runs', sub_name
            USING ERRCODE = '55006', HINT = 'It exits within moments of the DISABLE: call this again.';
    END IF;
    -- the table-sync origin, named as PostgreSQL names it (pg_<subscription>_<table>)
    PERFORM pg_catalog.pg_replication_origin_drop(o.roname)
       FROM pg_catalog.pg_replication_origin o
      WHERE o.roname = pg_catalog.format('pg_%s_%s', sub, tbl::oid);
    UPDATE pg_catalog.pg_subscription_rel SET srsubstate = 'i', srsublsn = NULL
     WHERE srsubid = sub AND srrelid = tbl;
    EXECUTE pg_catalog.format('ALTER SUBSCRIPTION %I ENABLE', sub_name);
    RETURN pg_catalog.format('%s is copied again from member "%s" once the subscription %s starts (consortium_status(): "copying", then "ok"); '
                             'if the member still has a slot pg_%s_sync_%s_..., its sync worker cannot make a new one: drop that slot there.',
                             tbl, member, sub_name, sub, tbl::oid);
END $$;

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
      -- tables not copied yet; of them, those copied (state f, the copy
      -- committed, the catch-up due) whose table-sync worker has not run
      -- for 10 s: PostgreSQL's sync worker drops its slot at the member
      -- before it commits the table's next state here, and a stop in
      -- between leaves the table in state f with no slot to catch up from;
      -- each relaunch of its worker then fails at once ("replication slot
      -- "pg_..._sync_..." does not exist"), outside the code that counts
      -- errors in pg_stat_subscription_stats, and lives a moment (red team
      -- r26 C1).  A worker copying or catching up runs on, and state f
      -- lasts no longer than the catch-up does; a worker that has run 10 s
      -- is not one failing at its start.
      LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE r.srsubstate <> 'r') AS copying,
                                count(*) FILTER (WHERE r.srsubstate = 'f' AND NOT EXISTS (
                                    SELECT 1 FROM pg_catalog.pg_stat_subscription w, pg_catalog.pg_stat_get_activity(w.pid) a
                                     WHERE w.subid = s.oid AND w.relid = r.srrelid AND a.pid = w.pid
                                       AND a.backend_start < pg_catalog.now() - interval '10 s')) AS stuck,
                                pg_catalog.string_agg(r.srrelid::pg_catalog.regclass::text, ', ' ORDER BY r.srrelid::pg_catalog.regclass::text)
                                    FILTER (WHERE r.srsubstate = 'f' AND NOT EXISTS (
                                    SELECT 1 FROM pg_catalog.pg_stat_subscription w, pg_catalog.pg_stat_get_activity(w.pid) a
                                     WHERE w.subid = s.oid AND w.relid = r.srrelid AND a.pid = w.pid
                                       AND a.backend_start < pg_catalog.now() - interval '10 s')) AS stuck_tables
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
               'The member published a checkpoint (or, with new_note NULL, a leaf) that contradicts one verified before: see battledger.log_conflict.'),
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
           -- copy errors counted, or (0.23.0) a table copied whose
           -- catch-up cannot start (above), once the apply worker has run
           -- longer than the window of rank 13 (a restart relaunches the
           -- sync workers within wal_retrieve_retry_interval): before,
           -- "copying" for ever (red team r26 C1)
           (9, sr.copying > 0 AND (coalesce(ss.sync_error_count, 0) > 0
                                   OR (sr.stuck > 0 AND wk.started < pg_catalog.now() - wk.win)), 'copy failing',
               CASE WHEN sr.stuck > 0 AND wk.started < pg_catalog.now() - wk.win THEN pg_catalog.format(
                   '%s not copied yet. The copy of %s is done but its catch-up never starts: no table-sync worker has run 10 s for it while the apply worker has run %s s '
                   '(its worker fails at each start, likely on its slot at the member: "replication slot "pg_%s_sync_..." does not exist" in the server log, '
                   'a slot PostgreSQL drops before it commits the table''s state here, so a stop in between leaves the copy unable to finish). '
                   'It does not end by itself: ALTER SUBSCRIPTION %I DISABLE, then SELECT battledger.recopy_table(%L, %L) copies it again (one call per table named), '
                   'or join again (docs/consortium.md, "A join''s copy that stopped").',
                   @extschema@._counted(sr.copying, 'table', 'tables'), sr.stuck_tables,
                   pg_catalog.round(extract(epoch FROM pg_catalog.now() - wk.started)), s.oid,
                   m.subscription, m.origin, pg_catalog.split_part(sr.stuck_tables, ', ', 1))
               ELSE pg_catalog.format('%s not copied yet; %s (server log).', @extschema@._counted(sr.copying, 'table', 'tables'),
                                      @extschema@._counted(ss.sync_error_count, 'copy error', 'copy errors')) END),
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

-- A re-join's copy compares the leaves it finds stored (src/pg/witness.c,
-- compare_stored_leaves()): a leaf published again differently, which no
-- checkpoint signs yet, is recorded with no new checkpoint (red team r26
-- notes; stuck23).
ALTER TABLE @extschema@.log_conflict ALTER COLUMN new_note DROP NOT NULL;
-- recopy_table() (40_copy_stuck.replace): its comment and privileges, as
-- sql/install/90_consortium.sql gives them
COMMENT ON FUNCTION @extschema@.recopy_table(text, regclass) IS
    'copy again a table of a member''s subscription whose join''s copy stopped (state f, "copy failing"): the subscription disabled first; enables it';
REVOKE ALL ON FUNCTION @extschema@.recopy_table(text, regclass) FROM PUBLIC;
-- The legitimate-interest passport reads a per-battery usage state folded as
-- reports arrive (87_usage_state.sql; issue 15): its table and the index
-- by which a disclosure arriving after its report finds it, before the
-- functions (51_usage_state.replace) that name the table's row type.
CREATE TABLE @extschema@._usage_state (
    battery_id      @extschema@.battery_id PRIMARY KEY,
    latest          jsonb NOT NULL,
    deep_v          numeric,
    over_v          numeric,
    t_hi            numeric,
    t_lo            numeric,
    n               bigint NOT NULL,
    ah              numeric,
    wh              numeric,
    ah_out          numeric,
    t_max           numeric,
    deep_n          bigint NOT NULL,
    over_n          bigint NOT NULL,
    hi_s            numeric,
    hi_chg_s        numeric,
    lo_s            numeric,
    lo_chg_s        numeric,
    last_at         timestamptz,
    last_origin     text COLLATE "C",
    last_seq        bigint,
    dis_at          timestamptz,
    dis_origin      text COLLATE "C",
    dis_seq         bigint,
    en_at           timestamptz,
    en_origin       text COLLATE "C",
    en_seq          bigint,
    re_first_at     timestamptz,
    re_first_origin text COLLATE "C",
    re_first_seq    bigint,
    re_at           timestamptz,
    re_origin       text COLLATE "C",
    re_seq          bigint
);
REVOKE ALL ON @extschema@._usage_state FROM PUBLIC;
CREATE INDEX battery_event_restricted ON @extschema@.battery_event (restricted)
    WHERE event = 'soh_reported' AND restricted IS NOT NULL;
CREATE OR REPLACE FUNCTION @extschema@._usage_thresholds(made @extschema@.battery_event, m @extschema@.battery_model,
                                              OUT deep_v numeric, OUT over_v numeric, OUT t_hi numeric, OUT t_lo numeric)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r jsonb := coalesce(made.data->'rated', '{}');
BEGIN
    deep_v := coalesce(@extschema@._json_num(r->'deepDischargeVoltageV'), m.min_voltage_v);
    over_v := coalesce(@extschema@._json_num(r->'overchargeVoltageV'), m.max_voltage_v);
    t_hi := @extschema@._json_num(r->'idleTemperatureUpperC');
    t_lo := @extschema@._json_num(r->'idleTemperatureLowerC');
END $$;

CREATE OR REPLACE FUNCTION @extschema@._usage_state_add(battery @extschema@.battery_id, at timestamptz, origin text,
                                             seq bigint, v jsonb) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    s @extschema@._usage_state;
    made @extschema@.battery_event;
    th record;
    cy jsonb := CASE WHEN jsonb_typeof(v->'cycle') = 'object' THEN v->'cycle' END;
    typ text;
    dur numeric;
    vmin numeric;
    vmax numeric;
    tmax numeric;
    amb numeric;
    ah numeric;
    wh numeric;
    cap numeric;
    re numeric;
    k text;
    p jsonb;
BEGIN
    SELECT * INTO s FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) battery FOR UPDATE;
    IF NOT FOUND THEN
        made := @extschema@._effective_manufacture(battery);
        th := @extschema@._usage_thresholds(made, @extschema@._model_row(made.model_id));
        INSERT INTO @extschema@._usage_state (battery_id, latest, deep_v, over_v, t_hi, t_lo, n, deep_n, over_n)
        VALUES (battery, '{}', th.deep_v, th.over_v, th.t_hi, th.t_lo, 0, 0, 0)
        ON CONFLICT (battery_id) DO NOTHING;
        SELECT * INTO s FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) battery FOR UPDATE;
    END IF;
    -- the dynamic values the report sets
    FOR k IN SELECT a.key FROM @extschema@._dynamic_attribute a WHERE v ? a.key LOOP
        p := s.latest->k;
        IF p IS NULL OR (at, origin COLLATE "C", seq)
                        > ((p->>0)::timestamptz, (p->>1) COLLATE "C", (p->>2)::bigint) THEN
            s.latest := s.latest || jsonb_build_object(k, jsonb_build_array(at, origin, seq));
        END IF;
    END LOOP;
    IF cy IS NOT NULL THEN
        -- as _usage_derived() reads them (_json_num(): what is no number is not measured)
        typ := cy->>'type';
        dur := @extschema@._json_num(cy->'duration_s');
        vmin := @extschema@._json_num(cy->'v_min');
        vmax := @extschema@._json_num(cy->'v_max');
        tmax := @extschema@._json_num(cy->'t_cell_max_c');
        amb := @extschema@._json_num(cy->'ambient_c');
        ah := @extschema@._json_num(cy->'ah');
        wh := @extschema@._json_num(cy->'wh');
        cap := @extschema@._json_num(cy->'capacity_ah');
        re := @extschema@._json_num(cy->'re_ohm');
        s.n := s.n + 1;
        -- sum() skips NULLs and is NULL over none
        s.ah := coalesce(s.ah + ah, s.ah, ah);
        s.wh := coalesce(s.wh + wh, s.wh, wh);
        IF typ = 'discharge' THEN
            s.ah_out := coalesce(s.ah_out + ah, s.ah_out, ah);
        END IF;
        s.t_max := greatest(s.t_max, tmax);
        IF typ = 'discharge' AND vmin < s.deep_v THEN
            s.deep_n := s.deep_n + 1;
        END IF;
        IF typ = 'charge' AND vmax > s.over_v THEN
            s.over_n := s.over_n + 1;
        END IF;
        IF typ IN ('charge', 'discharge') AND tmax > s.t_hi THEN
            s.hi_s := coalesce(s.hi_s + dur, s.hi_s, dur);
        END IF;
        IF typ = 'charge' AND tmax > s.t_hi THEN
            s.hi_chg_s := coalesce(s.hi_chg_s + dur, s.hi_chg_s, dur);
        END IF;
        IF typ IN ('charge', 'discharge') AND amb < s.t_lo THEN
            s.lo_s := coalesce(s.lo_s + dur, s.lo_s, dur);
        END IF;
        IF typ = 'charge' AND amb < s.t_lo THEN
            s.lo_chg_s := coalesce(s.lo_chg_s + dur, s.lo_chg_s, dur);
        END IF;
        IF s.last_at IS NULL OR (at, origin COLLATE "C", seq) > (s.last_at, s.last_origin, s.last_seq) THEN
            s.last_at := at; s.last_origin := origin; s.last_seq := seq;
        END IF;
        IF typ = 'discharge' AND cap IS NOT NULL
           AND (s.dis_at IS NULL OR (at, origin COLLATE "C", seq) > (s.dis_at, s.dis_origin, s.dis_seq)) THEN
            s.dis_at := at; s.dis_origin := origin; s.dis_seq := seq;
        END IF;
        IF typ = 'discharge' AND wh IS NOT NULL
           AND (s.en_at IS NULL OR (at, origin COLLATE "C", seq) > (s.en_at, s.en_origin, s.en_seq)) THEN
            s.en_at := at; s.en_origin := origin; s.en_seq := seq;
        END IF;
        IF re > 0 THEN
            IF s.re_at IS NULL OR (at, origin COLLATE "C", seq) > (s.re_at, s.re_origin, s.re_seq) THEN
                s.re_at := at; s.re_origin := origin; s.re_seq := seq;
            END IF;
            IF s.re_first_at IS NULL OR (at, origin COLLATE "C", seq) < (s.re_first_at, s.re_first_origin, s.re_first_seq) THEN
                s.re_first_at := at; s.re_first_origin := origin; s.re_first_seq := seq;
            END IF;
        END IF;
    END IF;
    UPDATE @extschema@._usage_state u
       SET latest = s.latest, n = s.n, ah = s.ah, wh = s.wh, ah_out = s.ah_out, t_max = s.t_max,
           deep_n = s.deep_n, over_n = s.over_n, hi_s = s.hi_s, hi_chg_s = s.hi_chg_s, lo_s = s.lo_s, lo_chg_s = s.lo_chg_s,
           last_at = s.last_at, last_origin = s.last_origin, last_seq = s.last_seq,
           dis_at = s.dis_at, dis_origin = s.dis_origin, dis_seq = s.dis_seq,
           en_at = s.en_at, en_origin = s.en_origin, en_seq = s.en_seq,
           re_first_at = s.re_first_at, re_first_origin = s.re_first_origin, re_first_seq = s.re_first_seq,
           re_at = s.re_at, re_origin = s.re_origin, re_seq = s.re_seq
     WHERE u.battery_id OPERATOR(@extschema@.=) battery;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._usage_state_compute(battery @extschema@.battery_id, deep_v numeric, over_v numeric,
                                                 t_hi numeric, t_lo numeric)
    RETURNS @extschema@._usage_state
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET timezone = 'UTC' SET jit = off AS $$
DECLARE
    s @extschema@._usage_state;
BEGIN
    WITH r AS MATERIALIZED (
        SELECT e.ledger_at AS at, e.ledger_origin AS origin, e.ledger_seq AS seq, d.value
          FROM @extschema@.battery_event e
          JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND d.tier = 'legitimate_interest'
    ), c AS MATERIALIZED (
        SELECT r.at, r.origin, r.seq, r.value->'cycle'->>'type' AS type,
               @extschema@._json_num(r.value->'cycle'->'duration_s') AS dur, @extschema@._json_num(r.value->'cycle'->'v_min') AS vmin,
               @extschema@._json_num(r.value->'cycle'->'v_max') AS vmax, @extschema@._json_num(r.value->'cycle'->'t_cell_max_c') AS tmax,
               @extschema@._json_num(r.value->'cycle'->'ambient_c') AS amb, @extschema@._json_num(r.value->'cycle'->'ah') AS ah,
               @extschema@._json_num(r.value->'cycle'->'wh') AS wh, @extschema@._json_num(r.value->'cycle'->'capacity_ah') AS cap,
               @extschema@._json_num(r.value->'cycle'->'re_ohm') AS re
          FROM r WHERE jsonb_typeof(r.value->'cycle') = 'object'
    )
    SELECT battery,
           (SELECT coalesce(jsonb_object_agg(x.key, jsonb_build_array(x.at, x.origin, x.seq)), '{}')
              FROM (SELECT DISTINCT ON (a.key) a.key, r.at, r.origin, r.seq
                      FROM @extschema@._dynamic_attribute a JOIN r ON r.value ? a.key
                     ORDER BY a.key, r.at DESC, r.origin DESC, r.seq DESC) x),
           deep_v, over_v, t_hi, t_lo,
           a.n, a.ah, a.wh, a.ah_out, a.t_max, a.deep_n, a.over_n, a.hi_s, a.hi_chg_s, a.lo_s, a.lo_chg_s,
           l.at, l.origin, l.seq, ds.at, ds.origin, ds.seq, en.at, en.origin, en.seq,
           rf.at, rf.origin, rf.seq, rl.at, rl.origin, rl.seq
      INTO s
      FROM (SELECT count(*) AS n, sum(c.ah) AS ah, sum(c.wh) AS wh, sum(c.ah) FILTER (WHERE c.type = 'discharge') AS ah_out,
                   max(c.tmax) AS t_max,
                   count(*) FILTER (WHERE c.type = 'discharge' AND c.vmin < deep_v) AS deep_n,
                   count(*) FILTER (WHERE c.type = 'charge' AND c.vmax > over_v) AS over_n,
                   sum(c.dur) FILTER (WHERE c.type IN ('charge', 'discharge') AND c.tmax > t_hi) AS hi_s,
                   sum(c.dur) FILTER (WHERE c.type = 'charge' AND c.tmax > t_hi) AS hi_chg_s,
                   sum(c.dur) FILTER (WHERE c.type IN ('charge', 'discharge') AND c.amb < t_lo) AS lo_s,
                   sum(c.dur) FILTER (WHERE c.type = 'charge' AND c.amb < t_lo) AS lo_chg_s
              FROM c) a
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c ORDER BY c.at DESC, c.origin DESC, c.seq DESC LIMIT 1) l ON true
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c WHERE c.type = 'discharge' AND c.cap IS NOT NULL
                          ORDER BY c.at DESC, c.origin DESC, c.seq DESC LIMIT 1) ds ON true
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c WHERE c.type = 'discharge' AND c.wh IS NOT NULL
                          ORDER BY c.at DESC, c.origin DESC, c.seq DESC LIMIT 1) en ON true
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c WHERE c.re > 0 ORDER BY c.at, c.origin, c.seq LIMIT 1) rf ON true
      LEFT JOIN LATERAL (SELECT c.at, c.origin, c.seq FROM c WHERE c.re > 0
                          ORDER BY c.at DESC, c.origin DESC, c.seq DESC LIMIT 1) rl ON true
     WHERE EXISTS (SELECT 1 FROM r);
    RETURN s;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.usage_state_rebuild(battery @extschema@.battery_id DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    b @extschema@.battery_id;
    made @extschema@.battery_event;
    th record;
    s @extschema@._usage_state;
    n bigint := 0;
BEGIN
    -- the reports' disclosures must all be seen (row security would hide some)
    IF row_security_active('@extschema@.disclosure') THEN
        RAISE EXCEPTION 'usage_state_rebuild() must see every disclosure' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Run it as the extension''s owner.';
    END IF;
    FOR b IN SELECT DISTINCT x.battery_id FROM (
                 SELECT u.battery_id FROM @extschema@._usage_state u WHERE battery IS NULL
                 UNION ALL
                 SELECT e.battery_id FROM @extschema@.battery_event e
                   JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                  WHERE battery IS NULL AND e.event = 'soh_reported' AND d.tier = 'legitimate_interest'
                 UNION ALL
                 SELECT battery WHERE battery IS NOT NULL) x LOOP
        made := @extschema@._effective_manufacture(b);
        th := @extschema@._usage_thresholds(made, @extschema@._model_row(made.model_id));
        s := @extschema@._usage_state_compute(b, th.deep_v, th.over_v, th.t_hi, th.t_lo);
        DELETE FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) b;
        IF s.battery_id IS NOT NULL THEN
            INSERT INTO @extschema@._usage_state SELECT s.*;
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.usage_state_check()
    RETURNS TABLE (battery_id @extschema@.battery_id, problem text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    b @extschema@.battery_id;
    s @extschema@._usage_state;
    c @extschema@._usage_state;
BEGIN
    IF row_security_active('@extschema@.disclosure') THEN
        RAISE EXCEPTION 'usage_state_check() must see every disclosure' USING ERRCODE = 'insufficient_privilege',
            HINT = 'Run it as the extension''s owner.';
    END IF;
    FOR b IN SELECT DISTINCT x.battery_id FROM (
                 SELECT u.battery_id FROM @extschema@._usage_state u
                 UNION ALL
                 SELECT e.battery_id FROM @extschema@.battery_event e
                   JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                  WHERE e.event = 'soh_reported' AND d.tier = 'legitimate_interest') x LOOP
        SELECT * INTO s FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) b;
        IF NOT FOUND THEN
            battery_id := b; problem := 'reports and no usage state';
            RETURN NEXT;
            CONTINUE;
        END IF;
        c := @extschema@._usage_state_compute(b, s.deep_v, s.over_v, s.t_hi, s.t_lo);
        IF c.battery_id IS NULL THEN
            battery_id := b; problem := 'usage state and no report';
            RETURN NEXT;
        ELSIF s::text IS DISTINCT FROM c::text THEN
            battery_id := b; problem := 'usage state differs from the reports';
            RETURN NEXT;
        END IF;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._usage_derived_state(battery @extschema@.battery_id, made @extschema@.battery_event,
                                                 m @extschema@.battery_model)
    RETURNS TABLE (key text, value numeric, at timestamptz, reports bigint, method text,
                   ledger_seq bigint, ledger_hash @extschema@.hash256)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    s @extschema@._usage_state;
    th record;
    l record;
    d record;
    en record;
    re record;
    re0 numeric;
    r record;
    nxt_type text;
    nxt_wh numeric;
    nxt_at timestamptz;
    nxt_seq bigint;
    nxt_hash @extschema@.hash256;
    prv_type text;
    prv_wh numeric;
    b_at timestamptz;
    b_origin text;
    b_seq bigint;
    k int;
    wh numeric;
    p_at timestamptz;
    p_seq bigint;
    p_hash @extschema@.hash256;
    p_rte numeric;
    f_rte numeric;
    cap numeric;
    soh numeric;
    fade numeric;
    kwh numeric;
    soce numeric;
    fc numeric;
    re_inc numeric;
    pfade numeric;
    rte numeric;
    rte_fade numeric;
BEGIN
    SELECT * INTO s FROM @extschema@._usage_state u WHERE u.battery_id OPERATOR(@extschema@.=) battery;
    IF NOT FOUND OR s.n = 0 THEN
        RETURN;
    END IF;
    th := @extschema@._usage_thresholds(made, m);
    IF (th.deep_v, th.over_v, th.t_hi, th.t_lo) IS DISTINCT FROM (s.deep_v, s.over_v, s.t_hi, s.t_lo) THEN
        RETURN QUERY SELECT * FROM @extschema@._usage_derived(battery, made, m);
        RETURN;
    END IF;
    -- the reports the row names (each a report with per-cycle data, disclosed at this tier)
    SELECT e.occurred_at, e.ledger_seq AS seq, e.ledger_hash AS hash INTO l
      FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
       AND e.ledger_at = s.last_at AND e.ledger_origin = s.last_origin AND e.ledger_seq = s.last_seq;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT e.occurred_at, e.ledger_seq AS seq, e.ledger_hash AS hash,
           @extschema@._json_num(x.value->'cycle'->'capacity_ah') AS cap INTO d
      FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
       AND e.ledger_at = s.dis_at AND e.ledger_origin = s.dis_origin AND e.ledger_seq = s.dis_seq;
    IF FOUND THEN
        cap := round(d.cap, 5);
        soh := round(100 * d.cap / m.rated_capacity_ah, 2);
        fade := round(100 * (m.rated_capacity_ah - d.cap) / m.rated_capacity_ah, 2);
    END IF;
    SELECT e.occurred_at, e.ledger_seq AS seq, e.ledger_hash AS hash,
           @extschema@._json_num(x.value->'cycle'->'wh') AS wh INTO en
      FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
       AND e.ledger_at = s.en_at AND e.ledger_origin = s.en_origin AND e.ledger_seq = s.en_seq;
    IF FOUND THEN
        kwh := round(en.wh / 1000, 6);
        IF m.rated_energy_kwh > 0 THEN
            soce := round(100 * en.wh / 1000 / m.rated_energy_kwh, 2);
        END IF;
    END IF;
    IF s.ah_out IS NOT NULL THEN
        fc := round(s.ah_out / m.rated_capacity_ah, 2);
    END IF;
    SELECT e.occurred_at, e.ledger_seq AS seq, e.ledger_hash AS hash,
           @extschema@._json_num(x.value->'cycle'->'re_ohm') AS re INTO re
      FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
     WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
       AND e.ledger_at = s.re_at AND e.ledger_origin = s.re_origin AND e.ledger_seq = s.re_seq;
    IF FOUND THEN
        SELECT @extschema@._json_num(x.value->'cycle'->'re_ohm') INTO re0
          FROM @extschema@.battery_event e JOIN @extschema@.disclosure x ON x.commitment OPERATOR(@extschema@.=) e.restricted
         WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported' AND x.tier = 'legitimate_interest'
           AND e.ledger_at = s.re_first_at AND e.ledger_origin = s.re_first_origin AND e.ledger_seq = s.re_first_seq;
        re_inc := round(100 * (re.re / re0 - 1), 2);
        pfade := round(100 * (1 - re0 / re.re), 2);
    END IF;
    -- the latest round trip: a discharge whose charge or discharge before
    -- it is a charge (_usage_derived()'s pairs), walking back over the
    -- battery's reports from the latest, and the first walking forward; each
    -- walk stops at its pair.  Pages of 8 reports by position, each report's
    -- disclosure read by its key: as one query the planner sorted all the
    -- battery's reports, or scanned every disclosure of the registry (it
    -- cannot estimate the JSON filters), a plan growing with the history
    b_at := 'infinity'; b_origin := ''; b_seq := 0;
    <<back>>
    LOOP
        k := 0;
        FOR r IN SELECT e.ledger_at, e.ledger_origin, e.ledger_seq AS seq, e.occurred_at, e.ledger_hash AS hash, x.cy
                   FROM @extschema@.battery_event e
                   LEFT JOIN LATERAL (SELECT d0.value->'cycle' AS cy FROM @extschema@.disclosure d0
                                       WHERE d0.commitment OPERATOR(@extschema@.=) e.restricted
                                         AND d0.tier = 'legitimate_interest') x ON true
                  WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
                    AND (e.ledger_at, e.ledger_origin, e.ledger_seq) < (b_at, b_origin, b_seq)
                  ORDER BY e.ledger_at DESC, e.ledger_origin DESC, e.ledger_seq DESC LIMIT 8 LOOP
            k := k + 1;
            b_at := r.ledger_at; b_origin := r.ledger_origin; b_seq := r.seq;
            CONTINUE WHEN jsonb_typeof(r.cy) IS DISTINCT FROM 'object' OR NOT coalesce(r.cy->>'type' IN ('charge', 'discharge'), false);
            wh := @extschema@._json_num(r.cy->'wh');
            IF nxt_type = 'discharge' AND nxt_wh IS NOT NULL AND r.cy->>'type' = 'charge' AND wh > 0 THEN
                p_at := nxt_at; p_seq := nxt_seq; p_hash := nxt_hash; p_rte := nxt_wh / wh;
                EXIT back;
            END IF;
            nxt_type := r.cy->>'type'; nxt_wh := wh; nxt_at := r.occurred_at; nxt_seq := r.seq; nxt_hash := r.hash;
        END LOOP;
        EXIT WHEN k < 8;
    END LOOP;
    IF p_seq IS NOT NULL THEN
        rte := round(100 * p_rte, 2);
        b_at := '-infinity'; b_origin := ''; b_seq := 0;
        <<forward>>
        LOOP
            k := 0;
            FOR r IN SELECT e.ledger_at, e.ledger_origin, e.ledger_seq AS seq, x.cy
                       FROM @extschema@.battery_event e
                       LEFT JOIN LATERAL (SELECT d0.value->'cycle' AS cy FROM @extschema@.disclosure d0
                                           WHERE d0.commitment OPERATOR(@extschema@.=) e.restricted
                                             AND d0.tier = 'legitimate_interest') x ON true
                      WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'soh_reported'
                        AND (e.ledger_at, e.ledger_origin, e.ledger_seq) > (b_at, b_origin, b_seq)
                      ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 8 LOOP
                k := k + 1;
                b_at := r.ledger_at; b_origin := r.ledger_origin; b_seq := r.seq;
                CONTINUE WHEN jsonb_typeof(r.cy) IS DISTINCT FROM 'object' OR NOT coalesce(r.cy->>'type' IN ('charge', 'discharge'), false);
                wh := @extschema@._json_num(r.cy->'wh');
                IF r.cy->>'type' = 'discharge' AND wh IS NOT NULL AND prv_type = 'charge' AND prv_wh > 0 THEN
                    f_rte := wh / prv_wh;
                    EXIT forward;
                END IF;
                prv_type := r.cy->>'type'; prv_wh := wh;
            END LOOP;
            EXIT WHEN k < 8;
        END LOOP;
        rte_fade := round(100 * (f_rte - p_rte) / nullif(f_rte, 0), 2);
    END IF;
    -- the rows, names and methods of _usage_derived(), in its order
    RETURN QUERY
    SELECT v.key, v.value, v.at, s.n, v.method, v.seq, v.hash
      FROM (SELECT 'capacity_ah'::text, cap, d.occurred_at, 'latest measured discharge capacity'::text, d.seq, d.hash
             WHERE d.seq IS NOT NULL
            UNION ALL SELECT 'soh_pct', soh, d.occurred_at, 'latest discharge capacity / rated capacity', d.seq, d.hash
             WHERE d.seq IS NOT NULL
            UNION ALL SELECT 'capacity_fade_pct', fade, d.occurred_at,
                             '(rated capacity - latest discharge capacity) / rated capacity', d.seq, d.hash
             WHERE d.seq IS NOT NULL
            UNION ALL SELECT 'remaining_energy_kwh', kwh, en.occurred_at, 'energy of the latest measured discharge', en.seq, en.hash
             WHERE en.seq IS NOT NULL
            UNION ALL SELECT 'soce_pct', soce, en.occurred_at,
                             'energy of the latest discharge / rated (certified) energy', en.seq, en.hash
             WHERE en.seq IS NOT NULL
            UNION ALL SELECT 'capacity_throughput_ah', round(s.ah, 4), l.occurred_at, 'sum of charged and discharged Ah', l.seq, l.hash
            UNION ALL SELECT 'energy_throughput_kwh', round(s.wh / 1000, 6), l.occurred_at, 'sum of charged and discharged energy', l.seq, l.hash
            UNION ALL SELECT 'full_cycles', fc, l.occurred_at,
                             'discharged Ah / rated capacity (full equivalent cycles)', l.seq, l.hash
            UNION ALL SELECT 're_ohm', re.re, re.occurred_at, 'latest measured internal (ohmic) resistance', re.seq, re.hash
             WHERE re.seq IS NOT NULL
            UNION ALL SELECT 'resistance_increase_pct', re_inc, re.occurred_at,
                             'latest / first measured internal resistance - 1', re.seq, re.hash
             WHERE re.seq IS NOT NULL
            UNION ALL SELECT 'power_fade_pct', pfade, re.occurred_at,
                             'estimated from resistance: power capability at a given voltage is inversely proportional to it', re.seq, re.hash
             WHERE re.seq IS NOT NULL
            UNION ALL SELECT 'rte_remaining_pct', rte, p_at,
                             'latest discharge energy / energy of the charge before it', p_seq, p_hash
             WHERE p_seq IS NOT NULL
            UNION ALL SELECT 'rte_fade_pct', rte_fade, p_at,
                             'decrease of the round-trip efficiency since the first measured cycle', p_seq, p_hash
             WHERE p_seq IS NOT NULL
            UNION ALL SELECT 't_cell_max_c', s.t_max, l.occurred_at, 'highest measured cell temperature', l.seq, l.hash
            UNION ALL SELECT 'deep_discharge_events', s.deep_n, l.occurred_at,
                             format('discharges below %s V', th.deep_v), l.seq, l.hash WHERE th.deep_v IS NOT NULL
            UNION ALL SELECT 'overcharge_events', s.over_n, l.occurred_at,
                             format('charges above %s V', th.over_v), l.seq, l.hash WHERE th.over_v IS NOT NULL
            UNION ALL SELECT 't_extreme_high_min', round(coalesce(s.hi_s / 60, 0), 2), l.occurred_at,
                             format('at most: duration of charges and discharges whose peak cell temperature exceeded %s degC', th.t_hi), l.seq, l.hash
             WHERE th.t_hi IS NOT NULL
            UNION ALL SELECT 't_extreme_high_charging_min', round(coalesce(s.hi_chg_s / 60, 0), 2), l.occurred_at,
                             format('at most: duration of charges whose peak cell temperature exceeded %s degC', th.t_hi), l.seq, l.hash
             WHERE th.t_hi IS NOT NULL
            UNION ALL SELECT 't_extreme_low_min', round(coalesce(s.lo_s / 60, 0), 2), l.occurred_at,
                             format('at most: duration of charges and discharges at an ambient temperature below %s degC', th.t_lo), l.seq, l.hash
             WHERE th.t_lo IS NOT NULL
            UNION ALL SELECT 't_extreme_low_charging_min', round(coalesce(s.lo_chg_s / 60, 0), 2), l.occurred_at,
                             format('at most: duration of charges at an ambient temperature below %s degC', th.t_lo), l.seq, l.hash
             WHERE th.t_lo IS NOT NULL
      ) v(key, value, at, method, seq, hash)
     WHERE v.value IS NOT NULL;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._usage_state_reported() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v jsonb;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('battledger usage ' || NEW.restricted::text, 0));
    SELECT d.value INTO v FROM @extschema@.disclosure d
     WHERE d.commitment OPERATOR(@extschema@.=) NEW.restricted AND d.tier = 'legitimate_interest';
    IF FOUND THEN
        PERFORM @extschema@._usage_state_add(NEW.battery_id, NEW.ledger_at, NEW.ledger_origin, NEW.ledger_seq, v);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._usage_state_disclosed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    e record;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('battledger usage ' || NEW.commitment::text, 0));
    FOR e IN SELECT r.battery_id, r.ledger_at, r.ledger_origin, r.ledger_seq FROM @extschema@.battery_event r
              WHERE r.restricted OPERATOR(@extschema@.=) NEW.commitment AND r.event = 'soh_reported' LOOP
        PERFORM @extschema@._usage_state_add(e.battery_id, e.ledger_at, e.ledger_origin, e.ledger_seq, NEW.value);
    END LOOP;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._usage_state_erased() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    b @extschema@.battery_id;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM @extschema@._usage_state;
        RETURN NULL;
    END IF;
    FOR b IN SELECT DISTINCT r.battery_id FROM @extschema@.battery_event r
              WHERE r.event = 'soh_reported'
                AND (r.restricted OPERATOR(@extschema@.=) OLD.commitment
                     OR (TG_OP = 'UPDATE' AND r.restricted OPERATOR(@extschema@.=) NEW.commitment)) LOOP
        PERFORM @extschema@.usage_state_rebuild(b);
    END LOOP;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._passport_derived(v jsonb, battery @extschema@.battery_id, usage_ok boolean,
                                              made @extschema@.battery_event, model @extschema@.battery_model)
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
      INTO rc FROM @extschema@._recycled_content(battery, made.ledger_hash) r;
    rc := coalesce(rc, '{}');
    FOR k IN SELECT jsonb_object_keys(declared) LOOP
        IF NOT rc ? k AND jsonb_typeof(declared->k) = 'object' THEN
            rc := rc || jsonb_build_object(k, (declared->k) || '{"basis": "declared"}');
        END IF;
    END LOOP;
    IF rc <> '{}' THEN
        v := jsonb_set(v, '{model,recycled_content}', rc);
    END IF;

    -- usage values: derived from the reports' cycles, the reported value where none can be;
    -- from the battery's usage state (87_usage_state.sql: summing every report
    -- on every call grew with the battery's history; issue 15)
    IF usage_ok THEN
        -- (each report's leaf looked up once: about 20 values name 4 or 5 reports)
        WITH u AS MATERIALIZED (
            SELECT u.* FROM @extschema@._usage_derived_state(battery, made, model) u
              JOIN @extschema@._dynamic_attribute a ON a.key = u.key
        ), h AS MATERIALIZED (
            SELECT x.ledger_hash, @extschema@.leaf_index('@extschema@.battery_event', x.ledger_hash) AS leaf_index
              FROM (SELECT DISTINCT u.ledger_hash FROM u) x
        )
        SELECT jsonb_object_agg(u.key, jsonb_build_object('value', u.value, 'at', u.at, 'event', 'soh_reported',
                   'sequence', u.ledger_seq, 'ledgerHash', u.ledger_hash::text, 'leafIndex', h.leaf_index,
                   'basis', 'derived', 'method', u.method, 'reports', u.reports))
          INTO ud
          FROM u LEFT JOIN h ON h.ledger_hash OPERATOR(@extschema@.=) u.ledger_hash;
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
    fc @extschema@.battery_fold_cache;
    resp record;
    issued jsonb;
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
    model := @extschema@._model_row(made.model_id);
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
        v := v || jsonb_build_object(
            'status', st.status,
            'inService', (SELECT min(e.occurred_at) FROM @extschema@.battery_event e
                           WHERE e.battery_id OPERATOR(@extschema@.=) battery AND e.event = 'installed'
                             -- signed in a role the event allows (red team r20, F3: a
                             -- member without one, bypassing its rules, wrote them)
                             AND EXISTS (SELECT 1 FROM @extschema@._signer_at(e.ledger_key_id, e.ledger_at) sg
                                           JOIN @extschema@.event_kind ek ON ek.event = e.event AND ek.subject = 'battery'
                                          WHERE sg.roles && ek.roles)),
            -- each dynamic attribute from the latest usage report that set it,
            -- the report named by the battery's usage state (87_usage_state.sql:
            -- until 0.22.0 the 8 latest reports were read, then each key none of
            -- them carried walked back through the battery's reports, and a GIN
            -- precheck for it matched every battery's nested cycle fields; issue
            -- 15); its value, time and hash read from the report; a value that is
            -- no number is none (_json_num(): a cast made the passport fail)
            -- (the reports the keys name, each read once with its leaf: a
            -- battery's keys often share one report; by position with LIMIT 1,
            -- which keeps the planner from joining every report of the battery,
            -- 9.5 ms at 18,864 reports)
            'dynamic', (WITH r AS MATERIALIZED (
                            SELECT p.pos, e.occurred_at, e.event, e.ledger_seq, e.ledger_hash, d.value,
                                   @extschema@.leaf_index('@extschema@.battery_event', e.ledger_hash) AS leaf_index
                              FROM (SELECT DISTINCT p.value AS pos FROM @extschema@._usage_state u
                                     CROSS JOIN LATERAL jsonb_each(u.latest) p
                                     WHERE u.battery_id OPERATOR(@extschema@.=) battery) p
                             CROSS JOIN LATERAL (
                                   SELECT x.occurred_at, x.event, x.ledger_seq, x.ledger_hash, x.restricted
                                     FROM @extschema@.battery_event x
                                    WHERE x.battery_id OPERATOR(@extschema@.=) battery AND x.event = 'soh_reported'
                                      AND x.ledger_at = (p.pos->>0)::timestamptz AND x.ledger_origin = p.pos->>1
                                      AND x.ledger_seq = (p.pos->>2)::bigint
                                    LIMIT 1) e
                              JOIN @extschema@.disclosure d ON d.commitment OPERATOR(@extschema@.=) e.restricted
                                                           AND d.tier = 'legitimate_interest'
                        )
                        SELECT jsonb_object_agg(a.key, jsonb_build_object('value', @extschema@._json_num(r.value->a.key),
                                   'at', r.occurred_at, 'event', r.event, 'sequence', r.ledger_seq,
                                   'ledgerHash', r.ledger_hash::text, 'leafIndex', r.leaf_index))
                          FROM @extschema@._usage_state u
                         CROSS JOIN LATERAL jsonb_each(u.latest) p
                          JOIN @extschema@._dynamic_attribute a ON a.key = p.key
                          JOIN r ON r.pos = p.value
                         WHERE u.battery_id OPERATOR(@extschema@.=) battery AND r.value ? a.key),
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
    RETURN @extschema@._passport_derived(v, battery, usage_ok, made, model);
END $$;

-- The usage state's triggers and privileges (87_usage_state.sql), then the
-- state built from the reports already here, with each battery's
-- thresholds as of now.
CREATE TRIGGER zz_battledger_usage_state AFTER INSERT ON @extschema@.battery_event
    FOR EACH ROW WHEN (NEW.event = 'soh_reported' AND NEW.restricted IS NOT NULL)
    EXECUTE FUNCTION @extschema@._usage_state_reported();
ALTER TABLE @extschema@.battery_event ENABLE ALWAYS TRIGGER zz_battledger_usage_state;
CREATE TRIGGER battledger_usage_state AFTER INSERT ON @extschema@.disclosure
    FOR EACH ROW WHEN (NEW.tier = 'legitimate_interest')
    EXECUTE FUNCTION @extschema@._usage_state_disclosed();
ALTER TABLE @extschema@.disclosure ENABLE ALWAYS TRIGGER battledger_usage_state;
CREATE TRIGGER battledger_usage_state_erased AFTER UPDATE OR DELETE ON @extschema@.disclosure
    FOR EACH ROW EXECUTE FUNCTION @extschema@._usage_state_erased();
ALTER TABLE @extschema@.disclosure ENABLE ALWAYS TRIGGER battledger_usage_state_erased;
CREATE TRIGGER battledger_usage_state_emptied AFTER TRUNCATE ON @extschema@.disclosure
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._usage_state_erased();
REVOKE ALL ON FUNCTION @extschema@._usage_thresholds(@extschema@.battery_event, @extschema@.battery_model),
    @extschema@._usage_state_add(@extschema@.battery_id, timestamptz, text, bigint, jsonb),
    @extschema@._usage_state_compute(@extschema@.battery_id, numeric, numeric, numeric, numeric),
    @extschema@._usage_derived_state(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model),
    @extschema@.usage_state_rebuild(@extschema@.battery_id), @extschema@.usage_state_check(),
    @extschema@._usage_state_reported(), @extschema@._usage_state_disclosed(), @extschema@._usage_state_erased()
    FROM PUBLIC;
SELECT @extschema@.usage_state_rebuild();
CREATE OR REPLACE FUNCTION @extschema@._ns_hosted(member text, origin text) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    -- (every row adding the member: a second origin claiming to add it, however
    -- dated, makes its hosting contested, not moved: the red team's finding D)
    SELECT coalesce((SELECT bool_and(origin = ANY (h.origins)) FROM @extschema@._member_hosts h
                      WHERE h.member = _ns_hosted.member), false)
$$;

CREATE OR REPLACE FUNCTION @extschema@._governance_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- (not current_setting(): before the library loads, which the chain
    -- trigger does after this one, any role may SET a placeholder for it
    -- and pass for another origin; red team r28, P1)
    here text := @extschema@._origin();
    host text;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
    IF TG_TABLE_NAME = 'member_event' AND NEW.event = 'added' THEN
        SELECT e.ledger_origin INTO host FROM @extschema@.member_event e
         WHERE e.member = NEW.member AND e.event = 'added' LIMIT 1;
        IF FOUND THEN
            PERFORM @extschema@._refuse('BL044', format('member "%s" was added by origin "%s"', NEW.member, host),
                'A member is added once, by the origin that hosts it; adding it again elsewhere would contest its hosting.',
                'Change its roles with battledger.set_member_roles() at its own origin.');
        END IF;
        RETURN NEW;
    END IF;
    -- a key row names its key by key_id, and the readers (keys, the key
    -- cache, _signer_at()) read a revocation by key_id alone and take one
    -- of a key's 'added' rows: a row naming a member hosted here but
    -- another member's key revoked or re-registered that member's key
    -- (red team r25, V1, V2)
    IF TG_TABLE_NAME = 'key_event' AND NEW.event = 'added' THEN
        SELECT k.member INTO host FROM @extschema@.key_event k
         WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id AND k.event = 'added' LIMIT 1;
        IF FOUND THEN
            PERFORM @extschema@._refuse('BL044', format('key %s is already registered, for member "%s"', NEW.key_id, host),
                'A key is registered once, for one member: a second row would make its signer ambiguous.',
                'Register a key pair of the member''s own.');
        END IF;
    ELSIF TG_TABLE_NAME = 'key_event' THEN
        IF NOT EXISTS (SELECT FROM @extschema@.key_event k WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id
                          AND k.event = 'added' AND k.member = NEW.member) THEN
            PERFORM @extschema@._refuse('BL044', format('key %s is not a key of member "%s"', NEW.key_id, NEW.member),
                'A revocation names the member the key was added for.',
                'Revoke keys with battledger.revoke_key().');
        END IF;
        -- the origin that added a key may always withdraw it, also where a
        -- second origin adding the member has contested its hosting since
        -- (a compromised key must stay revocable; red team r25, X1)
        IF EXISTS (SELECT FROM @extschema@.key_event k WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id
                      AND k.event = 'added' AND k.member = NEW.member AND k.ledger_origin IN (here, '')) THEN
            RETURN NEW;
        END IF;
    END IF;
    -- (a row of the empty origin was written here, before battledger.origin
    -- was set or by 0.1.0: the arrival check refuses one from elsewhere;
    -- red team r25, E1.)  A member added nowhere yet passes: pg_restore
    -- brings key_event's rows before member_event's (pg_dump orders table
    -- data by name), and a key row for a member no origin has added signs
    -- for no roles; if another origin adds that member later, the row is
    -- named key_not_hosted (registry_conflicts(); red team r25, D1)
    IF EXISTS (SELECT FROM @extschema@._member_hosts h WHERE h.member = NEW.member AND NOT h.origins && ARRAY[here, '']) THEN
        SELECT string_agg(DISTINCT '"' || e.ledger_origin || '"', ', ') INTO host FROM @extschema@.member_event e
         WHERE e.member = NEW.member AND e.event = 'added';
        PERFORM @extschema@._refuse('BL044', format('member "%s" is not hosted here', NEW.member),
            format('A member''s keys and roles are registered by the origin that added it (%s); this database is "%s".',
                   coalesce(host, 'none'), here),
            'Ask the DBA of the member''s own database to register it.');
    END IF;
    RETURN NEW;
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
       AND coalesce((SELECT bool_and(n.ledger_origin = ANY (h.origins)) FROM @extschema@._member_hosts h
                      WHERE h.member = n.member), false);
END $$;

CREATE OR REPLACE FUNCTION @extschema@._key_claims(key text, OUT members text[], OUT since timestamptz[])
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    candidates text[] := @extschema@._ns_candidates(key);
BEGIN
    IF key IS NULL THEN
        RETURN;
    END IF;
    -- _ns_covers() and _ns_hosted() written out: SQL functions with a
    -- pinned search_path are planned on every call, and this is on the
    -- passport's path (_model_holder())
    SELECT array_agg(x.member ORDER BY x.member), array_agg(x.at ORDER BY x.member) INTO members, since
      FROM (SELECT n.member, min(n.at) AS at FROM @extschema@.id_namespace n
             WHERE n.namespace = ANY (candidates)
               AND CASE WHEN n.namespace LIKE 'gs1:%' THEN starts_with(key, n.namespace)
                        ELSE starts_with(key || '/', n.namespace || '/') END
               AND coalesce((SELECT bool_and(n.ledger_origin = ANY (h.origins)) FROM @extschema@._member_hosts h
                              WHERE h.member = n.member), false)
             GROUP BY n.member) x;
END $$;

CREATE OR REPLACE FUNCTION @extschema@.add_id_namespace(member text, namespace text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    other record;
BEGIN
    IF member IS NULL OR NOT EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = add_id_namespace.member AND e.event = 'added') THEN
        RAISE EXCEPTION 'member "%" does not exist', member USING ERRCODE = 'undefined_object',
            HINT = 'Register it first with battledger.add_member().';
    END IF;
    -- (_origin(), not current_setting(): a placeholder SET before the
    -- library loads is not this database's origin; red team r28, P2)
    IF NOT @extschema@._ns_hosted(member, @extschema@._origin()) THEN
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
    -- nor models another member declared, nor lots it created, under it
    -- (ns21 put them in namespaces): their rows dated before it keep
    -- counting, but the holder's own application was refused its model's
    -- next declaration (BL044; red team r22, N1).  Every spelling
    -- _text_id_key() reads: one pass over them, at registration only
    SELECT s.member, x.id INTO other
      FROM (SELECT m.model_id AS id, m.ledger_key_id, m.ledger_at, m.ledger_origin, m.ledger_seq FROM @extschema@.battery_model m
            UNION ALL
            SELECT l.lot_id, l.ledger_key_id, l.ledger_at, l.ledger_origin, l.ledger_seq FROM @extschema@.lot_event l
             WHERE l.event IN ('extracted', 'processed', 'secondary_created')) x,
           @extschema@._signer(x.ledger_key_id) s
     WHERE s.member IS DISTINCT FROM add_id_namespace.member
       AND @extschema@._ns_covers(add_id_namespace.namespace, @extschema@._text_id_key(x.id))
     ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'member "%" has declared models or created lots in namespace "%"', other.member, namespace
            USING ERRCODE = 'BL044', DETAIL = format('For example %s.', other.id),
                  HINT = 'Agree in the consortium whose namespace it is; the registration would refuse that member''s next rows of them.';
    END IF;
    -- nor passport ids another member issued under it (pp23 put them in
    -- namespaces): a claim overlapping the issuer's excludes neither, so
    -- the registering member's application could then issue the issuer's
    -- next passport ids before it, and hold them (BL038 for the issuer;
    -- red team r24, N1).  One pass over the issuing rows, at registration
    SELECT s.member, e.passport_id AS id INTO other
      FROM @extschema@.battery_event e, @extschema@._signer(e.ledger_key_id) s
     WHERE e.passport_id IS NOT NULL
       AND (e.event = 'placed_on_market' OR (e.event = 'status_changed' AND e.new_status IN ('re-used', 'repurposed', 'remanufactured')))
       AND s.member IS DISTINCT FROM add_id_namespace.member
       AND @extschema@._ns_covers(add_id_namespace.namespace, @extschema@._text_id_key(e.passport_id))
     ORDER BY e.ledger_at, e.ledger_origin, e.ledger_seq LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'member "%" has issued passport ids in namespace "%"', other.member, namespace
            USING ERRCODE = 'BL044', DETAIL = format('For example %s.', other.id),
                  HINT = 'Agree in the consortium whose namespace it is; the registration would let you issue that member''s next passport ids.';
    END IF;
    INSERT INTO @extschema@.id_namespace (namespace, member) VALUES (namespace, member);
    RETURN namespace;
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
    -- excludes the other until the consortium settles it (both are named).
    -- Each registration once, with the first other member's registration
    -- it overlaps (one covering it, else one it covers): a row per pair
    -- made a member registering one namespace under a thousand members of
    -- its own (add_member(), add_id_namespace(): a WARNING each) cost every
    -- reader a million rows, 6 s here, and verify_member() as much, growing
    -- with the square (red team r24, D1).  Those covering it are among its
    -- prefixes (_ns_candidates(): the chain index, namespace first); those
    -- it covers are the longer GS1 prefixes it starts (an ISO/IEC 15459
    -- one overlaps only its equal), found in id_namespace_prefix ('0'-'9'
    -- sort before ';' in "C")
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member, 'namespace_contested', 'conflict',
           format('namespace "%s" of "%s" overlaps "%s" of "%s"', n.namespace, n.member, f.namespace, f.member)
      FROM @extschema@.id_namespace n
     CROSS JOIN LATERAL (
           (SELECT o.namespace, o.member FROM @extschema@.id_namespace o
             WHERE o.namespace = ANY (@extschema@._ns_candidates(n.namespace)) AND o.member <> n.member
               AND @extschema@._ns_covers(o.namespace, n.namespace) AND @extschema@._ns_hosted(o.member, o.ledger_origin)
             ORDER BY o.namespace, o.ledger_origin, o.ledger_seq LIMIT 1)
           UNION ALL
           (SELECT o.namespace, o.member FROM @extschema@.id_namespace o
             WHERE n.namespace LIKE 'gs1:%'
               AND (o.namespace COLLATE "C") > (n.namespace COLLATE "C") AND (o.namespace COLLATE "C") < ((n.namespace || ';') COLLATE "C")
               AND o.member <> n.member AND @extschema@._ns_hosted(o.member, o.ledger_origin)
             ORDER BY (o.namespace COLLATE "C") LIMIT 1)
           LIMIT 1) f
     WHERE @extschema@._ns_hosted(n.member, n.ledger_origin)
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
              CROSS JOIN LATERAL (SELECT k.member FROM @extschema@.keys k
                                   WHERE k.key_id OPERATOR(@extschema@.=) x.ledger_key_id OFFSET 0) s
             WHERE x.key IS NOT NULL AND s.member IS NOT NULL AND s.member IS DISTINCT FROM n.member
             ORDER BY n.namespace, n.member, n.ledger_origin, n.ledger_seq, x.ledger_at, x.ledger_origin, x.ledger_seq
            OFFSET 0) o
     -- (after the DISTINCT: once per registration named)
     WHERE @extschema@._ns_hosted(o.member, o.ledger_origin)
    UNION ALL
    -- a registration written where its member is not hosted counts for
    -- nothing: an equivocation of its origin, which never added the member.
    -- One written where the member was added, whose hosting another origin
    -- contests by adding it too, is a conflict naming those origins: the
    -- registering member's rules could not see it coming, and another
    -- member's superuser adding the member at its own origin made every
    -- registration of it its host's equivocation (red team r24, H1)
    SELECT NULL, n.ledger_origin, n.ledger_seq, 'id_namespace', n.member,
           CASE WHEN h.others IS NULL THEN 'namespace_not_hosted' ELSE 'namespace_hosting_contested' END,
           CASE WHEN h.others IS NULL THEN 'equivocation' ELSE 'conflict' END,
           CASE WHEN h.others IS NULL
                THEN format('namespace "%s" registered for "%s" by origin "%s", where that member is not hosted', n.namespace, n.member, n.ledger_origin)
                ELSE format('namespace "%s" registered for "%s" by origin "%s", which added that member, as did %s: its hosting is contested',
                            n.namespace, n.member, n.ledger_origin, h.others) END
      FROM @extschema@.id_namespace n
     CROSS JOIN LATERAL (
           SELECT CASE WHEN bool_or(e.ledger_origin = n.ledger_origin)
                       THEN string_agg(DISTINCT '"' || e.ledger_origin || '"', ', ') FILTER (WHERE e.ledger_origin <> n.ledger_origin) END AS others
             FROM @extschema@.member_event e WHERE e.member = n.member AND e.event = 'added') h
     WHERE NOT @extschema@._ns_hosted(n.member, n.ledger_origin)
    UNION ALL
    -- a key added or revoked, or roles changed, by an origin that never
    -- added the member (_governance_rules() refuses it on the writer; red
    -- team r24): an equivocation of that origin.  Such a row counts for
    -- nothing since 0.22.0 (the keys view: its key signs for nobody, its
    -- revocation revokes nothing); this names it.
    -- Where the origin did add the member and another origin contests its
    -- hosting, the namespace branch above names the contest
    -- A revocation naming a member the key was not added for revokes the
    -- key anyway (readers judge it by key_id): that too (red team r25, V1)
    SELECT NULL, g.ledger_origin, g.ledger_seq, g.tbl, g.member,
           CASE g.tbl WHEN 'key_event' THEN 'key_not_hosted' ELSE 'roles_not_hosted' END, 'equivocation',
           CASE WHEN g.hosted THEN format('%s for "%s" by origin "%s", which was not added for that member', g.what, g.member, g.ledger_origin)
                ELSE format('%s for "%s" by origin "%s", which did not add that member', g.what, g.member, g.ledger_origin) END
      -- (hosting as every reader judges it, _member_hosts: a member added
      -- under the empty origin was added here too; red team r25, E1)
      FROM (SELECT h.*, EXISTS (SELECT FROM @extschema@._member_hosts e
                                 WHERE e.member = h.member AND h.ledger_origin = ANY (e.origins)) AS hosted
              FROM (SELECT 'key_event' AS tbl, k.member, k.ledger_origin, k.ledger_seq, k.key_id, k.event,
                           format('key %s %s', k.key_id, k.event) AS what
                      FROM @extschema@.key_event k
                    UNION ALL
                    SELECT 'member_event', m.member, m.ledger_origin, m.ledger_seq, NULL, m.event, format('roles %s', m.roles)
                      FROM @extschema@.member_event m WHERE m.event <> 'added') h) g
     WHERE NOT g.hosted
        OR (g.event = 'revoked' AND NOT EXISTS (SELECT FROM @extschema@.key_event a
                                                 WHERE a.key_id OPERATOR(@extschema@.=) g.key_id AND a.event = 'added'
                                                   AND a.member = g.member))
    UNION ALL
    -- a key added more than once (for two members, or by two origins: the
    -- writer refuses a second on one database, red team r25 V2, but two
    -- origins can each add it before seeing the other's row, or one writes
    -- past its rules).  Since 0.22.0 every reader (the keys view) counts
    -- only its rows whose origin added their member, and a key those name
    -- two members for signs for neither; the rest are named too.  Named at
    -- each of its rows, a conflict.  Since 0.23.0 such a key signs for the
    -- one member whose holder proved possession of it (key_proof): still
    -- named, the detail saying who proved it; a row adding it for another
    -- member is then its origin's equivocation (it registered a key whose
    -- holder is another member: verify_member() files it under key_event),
    -- the prover's own rows stay conflicts
    SELECT NULL, a.ledger_origin, a.ledger_seq, 'key_event', a.member, 'key_registered_twice',
           CASE WHEN pr.signs AND a.member <> pr.member THEN 'equivocation' ELSE 'conflict' END,
           format('key %s added for "%s" by origin "%s", and %s times more', a.key_id, a.member, a.ledger_origin,
                  (SELECT count(*) - 1 FROM @extschema@.key_event o
                    WHERE o.key_id OPERATOR(@extschema@.=) a.key_id AND o.event = 'added'))
           || CASE WHEN pr.member IS NULL THEN ''
                   ELSE format('; "%s" proved possession of it (key_proof)%s', pr.member,
                               CASE WHEN pr.signs THEN ', so it signs for that member' ELSE '' END) END
      FROM @extschema@.key_event a
      -- (who proved it, once per key, not per row: _key_proven_member()
      -- verifies a proof per contesting member, so a superuser who added a
      -- competitor's key for K members of its own, each with a garbage
      -- proof, made this K^2 verifications, over 10 minutes at K = 2,000;
      -- red team r29, C1)
      JOIN (WITH t AS MATERIALIZED (
                SELECT t.key_id, x.member,
                       EXISTS (SELECT FROM @extschema@.keys k
                                WHERE k.key_id OPERATOR(@extschema@.=) t.key_id AND k.member = x.member) AS signs
                  FROM (SELECT o.key_id FROM @extschema@.key_event o WHERE o.event = 'added'
                         GROUP BY o.key_id HAVING count(*) > 1) t
                 CROSS JOIN LATERAL (SELECT @extschema@._key_proven_member(t.key_id) AS member) x)
            SELECT * FROM t) pr ON pr.key_id OPERATOR(@extschema@.=) a.key_id
     WHERE a.event = 'added'
       -- (another row: chains are per member, so one origin's rows for two
       -- members can share a ledger_seq; until 0.23.0 such a pair went unnamed)
       AND EXISTS (SELECT FROM @extschema@.key_event o
                    WHERE o.key_id OPERATOR(@extschema@.=) a.key_id AND o.event = 'added'
                      AND (o.member, o.ledger_origin, o.ledger_seq) IS DISTINCT FROM (a.member, a.ledger_origin, a.ledger_seq))
    UNION ALL
    -- a member added by more than one origin (two origins adding it before
    -- either saw the other's row, or one written past the rules): its
    -- hosting is contested; each database counts the keys and roles of the
    -- origin it pinned (the first it saw adding it, or pin_member_host()),
    -- so members may disagree until the consortium settles it; named once
    -- per row adding it, whether or not it has a namespace (red team r25,
    -- X1; 0.23.0)
    SELECT NULL, a.ledger_origin, a.ledger_seq, 'member_event', a.member, 'member_hosting_contested', 'conflict',
           format('member "%s" added by origin "%s", and also by %s; %s', a.member, a.ledger_origin,
                  (SELECT string_agg(DISTINCT '"' || o.ledger_origin || '"', ', ') FROM @extschema@.member_event o
                    WHERE o.member = a.member AND o.event = 'added' AND o.ledger_origin <> a.ledger_origin),
                  -- (which of them this database counts: its pin, host_pin)
                  coalesce((SELECT format('hosted here by "%s" (%s)', p.origin, replace(p.how, '_', ' '))
                              FROM @extschema@.host_pin p WHERE p.member = a.member AND p.origin IS NOT NULL),
                           'no origin pinned here (contested before 0.23.0): the rows of each count'))
      FROM @extschema@.member_event a
     WHERE a.event = 'added'
       AND EXISTS (SELECT FROM @extschema@.member_event o
                    WHERE o.member = a.member AND o.event = 'added' AND o.ledger_origin <> a.ledger_origin)
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

-- dump23: pg_dump keeps the registry's own rows, and pg_restore takes them
-- back as dumped.  battery_event, lot_event, battery_model and
-- operator_registration were not marked as extension configuration tables:
-- a dump of a member database had none of their rows.  _restoring() lets the
-- rules triggers pass rows restored with battledger.restore on.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.battery_model', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lot_event', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.battery_event', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.operator_registration', '');
CREATE FUNCTION @extschema@._restoring() RETURNS boolean
    AS 'MODULE_PATHNAME', 'battledger_restoring' LANGUAGE C STABLE PARALLEL SAFE;
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
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
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

CREATE OR REPLACE FUNCTION @extschema@._governance_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- (not current_setting(): before the library loads, which the chain
    -- trigger does after this one, any role may SET a placeholder for it
    -- and pass for another origin; red team r28, P1)
    here text := @extschema@._origin();
    host text;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
    IF TG_TABLE_NAME = 'member_event' AND NEW.event = 'added' THEN
        SELECT e.ledger_origin INTO host FROM @extschema@.member_event e
         WHERE e.member = NEW.member AND e.event = 'added' LIMIT 1;
        IF FOUND THEN
            PERFORM @extschema@._refuse('BL044', format('member "%s" was added by origin "%s"', NEW.member, host),
                'A member is added once, by the origin that hosts it; adding it again elsewhere would contest its hosting.',
                'Change its roles with battledger.set_member_roles() at its own origin.');
        END IF;
        RETURN NEW;
    END IF;
    -- a key row names its key by key_id, and the readers (keys, the key
    -- cache, _signer_at()) read a revocation by key_id alone and take one
    -- of a key's 'added' rows: a row naming a member hosted here but
    -- another member's key revoked or re-registered that member's key
    -- (red team r25, V1, V2)
    IF TG_TABLE_NAME = 'key_event' AND NEW.event = 'added' THEN
        SELECT k.member INTO host FROM @extschema@.key_event k
         WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id AND k.event = 'added' LIMIT 1;
        IF FOUND THEN
            PERFORM @extschema@._refuse('BL044', format('key %s is already registered, for member "%s"', NEW.key_id, host),
                'A key is registered once, for one member: a second row would make its signer ambiguous.',
                'Register a key pair of the member''s own.');
        END IF;
    ELSIF TG_TABLE_NAME = 'key_event' THEN
        IF NOT EXISTS (SELECT FROM @extschema@.key_event k WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id
                          AND k.event = 'added' AND k.member = NEW.member) THEN
            PERFORM @extschema@._refuse('BL044', format('key %s is not a key of member "%s"', NEW.key_id, NEW.member),
                'A revocation names the member the key was added for.',
                'Revoke keys with battledger.revoke_key().');
        END IF;
        -- the origin that added a key may always withdraw it, also where a
        -- second origin adding the member has contested its hosting since
        -- (a compromised key must stay revocable; red team r25, X1)
        IF EXISTS (SELECT FROM @extschema@.key_event k WHERE k.key_id OPERATOR(@extschema@.=) NEW.key_id
                      AND k.event = 'added' AND k.member = NEW.member AND k.ledger_origin IN (here, '')) THEN
            RETURN NEW;
        END IF;
    END IF;
    -- (a row of the empty origin was written here, before battledger.origin
    -- was set or by 0.1.0: the arrival check refuses one from elsewhere;
    -- red team r25, E1.)  A member added nowhere yet passes: pg_restore
    -- brings key_event's rows before member_event's (pg_dump orders table
    -- data by name), and a key row for a member no origin has added signs
    -- for no roles; if another origin adds that member later, the row is
    -- named key_not_hosted (registry_conflicts(); red team r25, D1)
    IF EXISTS (SELECT FROM @extschema@._member_hosts h WHERE h.member = NEW.member AND NOT h.origins && ARRAY[here, '']) THEN
        SELECT string_agg(DISTINCT '"' || e.ledger_origin || '"', ', ') INTO host FROM @extschema@.member_event e
         WHERE e.member = NEW.member AND e.event = 'added';
        PERFORM @extschema@._refuse('BL044', format('member "%s" is not hosted here', NEW.member),
            format('A member''s keys and roles are registered by the origin that added it (%s); this database is "%s".',
                   coalesce(host, 'none'), here),
            'Ask the DBA of the member''s own database to register it.');
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
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
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

CREATE OR REPLACE FUNCTION @extschema@._model_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    ns record;
    holder text;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
    SELECT * INTO s FROM @extschema@._signer(NEW.ledger_key_id);
    IF s.member IS NULL THEN
        RETURN NEW;                 -- unknown key: the chain trigger refuses it (BL011)
    END IF;
    -- the holder's own model is its to declare again, whatever namespace
    -- was registered after its first declaration (_model_holder() keeps it;
    -- red team r22, N1)
    holder := @extschema@._model_holder(NEW.model_id);
    SELECT * INTO ns FROM @extschema@._key_owners(@extschema@._text_id_key(NEW.model_id), statement_timestamp());
    IF holder IS DISTINCT FROM s.member AND ns.members IS NOT NULL AND NOT s.member = ANY (ns.members) THEN
        PERFORM @extschema@._refuse('BL044', format('battery model id "%s" is in the namespace of member "%s"',
                                                    NEW.model_id, array_to_string(ns.members, '", "')),
            format('Namespace %s is registered to "%s"; a model id of the form gs1:01/<GTIN> or iso15459:<IAC>/<CIN>/... is its members'' to declare.',
                   array_to_string(ns.namespaces, ', '), array_to_string(ns.members, '", "')),
            'Use a model id of a namespace registered to you (battledger.id_namespace).');
    END IF;
    IF holder IS NOT NULL AND holder <> s.member THEN
        PERFORM @extschema@._refuse('BL061', format('battery model "%s" is declared by member "%s"', NEW.model_id, holder),
            'A model belongs to the member that declared it first; only that member may declare it again.',
            'Declare your model under a model id of your own.');
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION @extschema@._operator_rules() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    canonical text;
    holder text;
    scheme text;
    runs jsonb;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
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

CREATE OR REPLACE FUNCTION @extschema@._operator_refs() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    ref record;
    canonical text;
    holder text;
BEGIN
    IF @extschema@._restoring() THEN RETURN NEW; END IF;   -- pg_restore: history kept as dumped
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
COMMENT ON VIEW @extschema@._lot_counted_creation IS 'internal: each lot''s creation the registry counts (in role, in its namespace, first in registry order), NULL where none counts';
COMMENT ON FUNCTION @extschema@._lot_creation(text) IS 'internal: the creation of a lot the registry counts (in role, in its namespace, first in registry order)';
COMMENT ON FUNCTION @extschema@._model_row(text) IS 'internal: the model as its holder declared it last (its latest row by a key added for the holder)';
COMMENT ON FUNCTION @extschema@._usage_derived(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model) IS 'internal: usage_derived() given the battery''s effective manufacture and its model as its holder declared it';
COMMENT ON FUNCTION @extschema@._recycled_content(@extschema@.battery_id, @extschema@.hash256) IS 'internal: recycled_content() given the ledger_hash of the battery''s effective manufacture';
COMMENT ON TABLE @extschema@._usage_state IS
    'internal: per battery, its legitimate-interest usage reports folded as they arrive (derived, checked by usage_state_check())';
COMMENT ON FUNCTION @extschema@.usage_state_rebuild(@extschema@.battery_id) IS
    'recompute the per-battery usage state the legitimate-interest passport reads, from the reports (NULL: every battery)';
COMMENT ON FUNCTION @extschema@.usage_state_check() IS
    'batteries whose per-battery usage state (what the legitimate-interest passport reads) differs from a recompute from their reports';
COMMENT ON FUNCTION @extschema@._usage_thresholds(@extschema@.battery_event, @extschema@.battery_model) IS
    'internal: the thresholds usage values are judged by, from the effective manufacture and the model';
COMMENT ON FUNCTION @extschema@._usage_state_add(@extschema@.battery_id, timestamptz, text, bigint, jsonb) IS
    'internal: fold one legitimate-interest usage report into its battery''s usage state';
COMMENT ON FUNCTION @extschema@._usage_state_compute(@extschema@.battery_id, numeric, numeric, numeric, numeric) IS
    'internal: a battery''s usage state recomputed from its reports, with given thresholds';
COMMENT ON FUNCTION @extschema@._usage_derived_state(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model) IS
    'internal: _usage_derived()''s rows from the battery''s usage state (the passport''s)';
COMMENT ON FUNCTION @extschema@._usage_state_reported() IS 'internal: trigger folding an arriving usage report into its battery''s usage state';
COMMENT ON FUNCTION @extschema@._usage_state_disclosed() IS 'internal: trigger folding the reports of an arriving disclosure into their batteries'' usage state';
COMMENT ON FUNCTION @extschema@._usage_state_erased() IS 'internal: trigger recomputing the usage state of batteries whose disclosure was erased or changed';
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
COMMENT ON VIEW @extschema@.members IS 'each member''s current roles, from the counted member rows';
COMMENT ON TABLE @extschema@.host_pin IS
    'each member''s host as this database counts it: the origin of the first row adding it seen here, or pin_member_host()''s';
COMMENT ON FUNCTION @extschema@.pin_member_host(text, text) IS
    'settle a contested hosting here: count the keys and roles of the given origin''s rows for the member';
COMMENT ON VIEW @extschema@._member_hosts IS
    'the origins hosting each member, per row adding it (a row of the empty origin: this database''s origin too)';
COMMENT ON VIEW @extschema@._member_rows_counted IS
    'the member_event rows that count: a member''s adding rows, and role changes whose origin hosts the member';
COMMENT ON TABLE @extschema@.key_proof IS
    'proofs of possession: a key''s Ed25519 signature over key_possession_message(member, public key); a key registered for two members signs for the one that proved it';
COMMENT ON VIEW @extschema@.keys IS 'each key that signs: member, public key, validity and revocation, from the counted key rows (a key counted for two members: the one that proved possession of it, if exactly one did)';
COMMENT ON FUNCTION @extschema@.key_possession_message(text, bytea) IS
    'what a key''s holder signs to prove possession of it for a member: "battledger key-possession v1\n" || member || "\n" || public key';
COMMENT ON FUNCTION @extschema@.prove_key(@extschema@.hash256, bytea, text) IS
    'store a proof of possession of a registered key (its signature over key_possession_message()); returns the member it proves the key for';
COMMENT ON VIEW @extschema@._key_rows_counted IS
    'the key_event rows that count: those whose origin added the member they name (the hosting rule)';
COMMENT ON TABLE @extschema@.checkpoint IS 'this log''s signed checkpoints (C2SP), one per seal() piece';
COMMENT ON TABLE @extschema@.log_leaf IS 'this log''s leaves: one per sealed ledger row';
COMMENT ON TABLE @extschema@.log_block IS 'this log''s blocks: the tree''s nodes of levels 4, 8, 12, ..., 16 a row (width fewer at each level''s right edge), which proofs read instead of tiles and leaves';
COMMENT ON TABLE @extschema@.log_tile IS 'this log''s tiles: the hashes of tree level 8 * level, 256 a row (width fewer at the right edge); the nodes between are recomputed, level 0 is log_leaf';
COMMENT ON TABLE @extschema@.log_pending IS 'ledger rows queued for the next seal()';
COMMENT ON TABLE @extschema@.log_pending_intact IS 'one row while log_pending is whole; empty after a crash or failover reset the unlogged queue, until seal() re-queues the unsealed rows from their tables';
COMMENT ON TABLE @extschema@.cosignature IS 'tlog-cosignature/v1 lines: by this member''s witness and received from others';
COMMENT ON TABLE @extschema@.log_conflict IS 'evidence of a member''s rewritten or forked log: both conflicting checkpoints (new_note NULL: a leaf it published again differently, signed by no checkpoint yet)';
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
    @extschema@._governance_rules(),
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
