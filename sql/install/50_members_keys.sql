-----------------------------------------------------------------------------
-- Members and their keys (docs/signatures.md).  Both are ledger tables: a
-- change is a new row, so "which keys did this member hold at time T" can
-- always be answered and proven.
-----------------------------------------------------------------------------
CREATE FUNCTION @extschema@.public_key_from_pem(pem text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'battledger_public_key_from_pem' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.public_key_from_pem(text) IS
    'the raw 32-byte Ed25519 public key in a SubjectPublicKeyInfo PEM (as openssl pkey -pubout writes)';
CREATE FUNCTION @extschema@.key_id(public_key bytea) RETURNS @extschema@.hash256
    AS 'MODULE_PATHNAME', 'battledger_key_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.key_id(bytea) IS
    'SHA-256("battledger key v1" || 0x0A || public key): the id a signed row names its key by';
CREATE FUNCTION @extschema@.ed25519_verify(public_key bytea, message bytea, signature bytea) RETURNS boolean
    AS 'MODULE_PATHNAME', 'battledger_ed25519_verify' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TABLE @extschema@.member_event (
    member  text NOT NULL CHECK (member ~ '^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$'),
    event   text NOT NULL CHECK (event IN ('added', 'roles_changed')),
    roles   text[] NOT NULL CHECK (cardinality(roles) > 0 AND roles <@ @extschema@.member_roles()),
    at      timestamptz NOT NULL DEFAULT now()
);
SELECT @extschema@.enable_ledger('@extschema@.member_event', 'member');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.member_event', '');

CREATE TABLE @extschema@.key_event (
    key_id      @extschema@.hash256 NOT NULL,
    member      text NOT NULL,
    event       text NOT NULL CHECK (event IN ('added', 'revoked')),
    public_key  bytea CHECK (length(public_key) = 32),
    valid_from  timestamptz,
    valid_until timestamptz,
    revoked_at  timestamptz,
    at          timestamptz NOT NULL DEFAULT now(),
    CHECK (event <> 'added' OR (public_key IS NOT NULL AND valid_from IS NOT NULL
                                AND key_id = @extschema@.key_id(public_key))),
    CHECK (event <> 'revoked' OR revoked_at IS NOT NULL),
    CHECK (valid_until IS NULL OR valid_until > valid_from)
);
SELECT @extschema@.enable_ledger('@extschema@.key_event', 'member');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.key_event', '');
CREATE INDEX key_event_key_id ON @extschema@.key_event (key_id);

-- Which origin hosts a member, as this database first saw it (0.23.0).  A
-- member two origins added used to count the key rows of both (so that two
-- origins racing to add one kept their keys, red team r25 X1), so a
-- member's superuser who added a competitor again at its own origin, past
-- its rules, then added a key for it, signed as the competitor on every
-- member.  Which adding row came first cannot be told from the rows (their
-- at is their writer's), but each database saw one before the other: the
-- first adding row inserted or arrived here pins the member to its origin
-- (a trigger on member_event, below), and an adding row of another origin
-- hosts nothing here.  A race two origins run before either sees the
-- other's row leaves members disagreeing, named member_hosting_contested;
-- the consortium settles it with pin_member_host() on every member.  A
-- member already contested when 0.23.0 came (the order its rows arrived in
-- was not kept) has a pin with no origin, "contested": every origin that
-- added it hosts it, as before.  A join's copies carry no order (0.24.0):
-- the adding rows a joining member copies from two origins come in the
-- order its table copies happen to run, so a malicious member's row
-- adding a competitor again, copied first, hosted the competitor there.
-- A pin made by a copy is "copied"; an adding row of another origin that
-- a copy brings too makes it "unsettled" (no origin): nobody hosts the
-- member here, its keys sign for nobody, until pin_member_host().  So does
-- a copied adding row of another origin where the pin came from a row
-- streamed in from a third origin (0.25.0): a joiner that joined m, then c,
-- saw m's row adding c's member again stream in between its two copies
-- (red team rt25 J5).  A pin of this database's own origin is never moved
-- by a copy, and a row that arrives as it is written never moves a pin.
-- Local configuration,
-- like consortium_member: kept by pg_dump, whose data comes before
-- member_event's (it orders table data by name).
CREATE TABLE @extschema@.host_pin (
    member    text PRIMARY KEY,
    origin    text,
    how       text NOT NULL CHECK (how IN ('first_seen', 'copied', 'pinned', 'contested', 'unsettled')),
    pinned_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((origin IS NULL) = (how IN ('contested', 'unsettled')))
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.host_pin', '');
GRANT SELECT ON @extschema@.host_pin TO PUBLIC;
-- _origin() RETURNS text: battledger.origin as the loaded library reads it
-- ('' unset), for the rules and the readers that decide by "here"
-- (_member_hosts, below): current_setting() reads a placeholder any role
-- may SET while the library is not loaded yet (red team r28, P1; r29 E1);
-- calling this loads it, and the placeholder reverts.
CREATE FUNCTION @extschema@._origin() RETURNS text
    AS 'MODULE_PATHNAME', 'battledger_origin' LANGUAGE C STABLE PARALLEL SAFE;
-- Who hosts a member (0.23.0), one row per row adding it that this
-- database's pin allows: the pinned origin's (a member pinned "contested":
-- every origin's, so its namespaces, which need every adding row's origin,
-- count for nothing, as before 0.23.0; "unsettled": none).  A member added under the empty
-- origin was added here (before battledger.origin was set, or by 0.1.0;
-- the arrival check refuses empty-origin rows from elsewhere), so such a
-- row hosts it at this database's origin as well (red team r25, E1), as
-- _origin() reads it: read with current_setting(), a placeholder any role
-- SET before the library loaded made the rows of the origin it named count
-- for such a member in that session's reads (red team r29, E1).  A member
-- no row has added yet has no host (r25 D1).  The one definition
-- that the counted rows below, the writer's rules (_governance_rules()),
-- the namespaces' hosting (_ns_hosted()) and registry_conflicts() share, as
-- "row origin = ANY (origins)": a view, not a function, so that it is
-- inlined and probed by member where a row is judged (an SQL function with
-- a pinned search_path is not inlined).  Over member_event, with the pin
-- as a second probe: read from host_pin alone (one row per member) the
-- planner hashed the whole table for each key probe (3x the time at 200
-- members), and a UNION ALL of pinned and unpinned members scanned
-- member_event.
CREATE VIEW @extschema@._member_hosts AS
    SELECT e.member,
           CASE WHEN e.ledger_origin = ''
                THEN ARRAY['', @extschema@._origin()]
                ELSE ARRAY[e.ledger_origin] END AS origins
      FROM @extschema@.member_event e
     WHERE e.event = 'added'
       AND NOT EXISTS (SELECT FROM @extschema@.host_pin p
                        WHERE p.member = e.member
                          AND (p.origin <> e.ledger_origin OR p.how = 'unsettled'));
-- The member rows that count (0.23.0): a row adding a member counts (its
-- origin hosts it by definition); a change of roles counts only where its
-- origin hosts the member, the rule _governance_rules() applies on the
-- writer.  Until 0.22.0 a member's superuser who disabled that trigger (or
-- wrote in session_replication_role = replica) stripped a competitor's
-- roles, or gave its own member a role it was not granted, on every member
-- (named roles_not_hosted only); judged here, such a row changes nothing.
CREATE VIEW @extschema@._member_rows_counted AS
    SELECT m.* FROM @extschema@.member_event m
     WHERE EXISTS (SELECT FROM @extschema@._member_hosts h
                    WHERE h.member = m.member AND m.ledger_origin = ANY (h.origins));
-- Proofs of possession (0.23.0): a key's holder signs
-- key_possession_message(member, public key) with the key, so that a key a
-- member's superuser registered for its own member as well (a competitor's
-- public key, to void it: key_registered_twice) signs for the member that
-- proves it holds it.  A table of its own, not a column of key_event: the
-- existing rows' encoding, hashes and signatures stay as they are, and a
-- holder can prove a key registered before 0.23.0.  A ledger table chained
-- per member like key_event, replicated like it; a proof counts wherever
-- it was written (it is cryptographic, not a matter of hosting), so the
-- readers check its signature, not the writer: each database once, as the
-- row arrives (_key_proof_checked, below; 0.24.0).
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

-- Proofs of possession as this database checked them (0.24.0): one row
-- per key, member and origin, for the first proof of that origin for that
-- member (the least ledger_seq; of two at one position, valid if either
-- verifies), and whether it verifies.  Until 0.23.0 every reader of a
-- contested key verified one proof per contesting member, so a member's
-- superuser who registered a competitor's key for K members of its own,
-- each with a garbage proof, made every probe of that key's signer (the
-- key cache, _signer_at(), each fold) cost K signature checks: ~100 ms at
-- K = 2,000 (red team r29, C1).  Here each proof is checked once, as it
-- is inserted or arrives (_key_proof_arrived(), below), and a reader's
-- probe is an index read of the valid rows.  Local derived state, like
-- _usage_state: not a ledger table, not replicated, not dumped (the
-- trigger fills it again as pg_restore copies key_proof in), so no peer
-- can write it; what a peer sends is key_proof, checked here.  This
-- database's superuser can write it, which fools this database alone
-- (another member checks the proofs itself): key_proof_check() names
-- every row that differs from a check of the proofs, key_proof_rebuild()
-- checks them all again, and registry_conflicts() verifies the proofs
-- (_key_proven_member_verify()), not this table.
CREATE TABLE @extschema@._key_proof_checked (
    key_id    @extschema@.hash256 NOT NULL,
    member    text NOT NULL,
    origin    text NOT NULL,
    first_seq bigint NOT NULL,
    valid     boolean NOT NULL,
    PRIMARY KEY (key_id, member, origin)
);
-- (the readers look for the valid rows of a key alone: a key with
-- thousands of garbage proofs is one or two index entries here)
CREATE INDEX _key_proof_checked_valid ON @extschema@._key_proof_checked (key_id) WHERE valid;
-- (readable as key_proof is: the keys view reads it as its caller)
GRANT SELECT ON @extschema@._key_proof_checked TO PUBLIC;
-- Does a key_proof row prove possession of its key for its member?  Its
-- key_id must be its public key's (the table's CHECK, which a superuser
-- can drop) and its signature verify.
-- _key_proof_valid(key_id hash256, member text, public_key bytea, signature bytea) RETURNS boolean
CREATE FUNCTION @extschema@._key_proof_valid(key_id @extschema@.hash256, member text, public_key bytea, signature bytea)
    RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(@extschema@.key_id(public_key) OPERATOR(@extschema@.=) key_id
                    AND @extschema@._key_possession_valid(member, public_key, signature), false)
$$;
-- _key_proof_arrived(), trigger: a proof inserted here or arriving (the
-- apply worker, the initial copy, pg_restore) is checked once into
-- _key_proof_checked if it is the first of its origin for its member
-- known here (rows may arrive out of chain order during a table copy: an
-- earlier one replaces a later one's row).  ENABLE ALWAYS, as the other
-- arrival triggers.  As the owner: the writers (prove_key()'s callers, the
-- apply worker's role) may not write the table.
CREATE FUNCTION @extschema@._key_proof_arrived() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- (a later proof of an origin already checked costs no verification:
    -- a superuser writing garbage proofs by the thousand for one member)
    IF EXISTS (SELECT FROM @extschema@._key_proof_checked c
                WHERE c.key_id OPERATOR(@extschema@.=) NEW.key_id AND c.member = NEW.member
                  AND c.origin = NEW.ledger_origin AND c.first_seq < NEW.ledger_seq) THEN
        RETURN NULL;
    END IF;
    INSERT INTO @extschema@._key_proof_checked AS c (key_id, member, origin, first_seq, valid)
    VALUES (NEW.key_id, NEW.member, NEW.ledger_origin, NEW.ledger_seq,
            @extschema@._key_proof_valid(NEW.key_id, NEW.member, NEW.public_key, NEW.signature))
        ON CONFLICT (key_id, member, origin) DO UPDATE
        SET valid = CASE WHEN EXCLUDED.first_seq = c.first_seq THEN c.valid OR EXCLUDED.valid ELSE EXCLUDED.valid END,
            first_seq = EXCLUDED.first_seq
        WHERE EXCLUDED.first_seq <= c.first_seq;
    RETURN NULL;
END $$;
CREATE TRIGGER battledger_key_proof_checked AFTER INSERT ON @extschema@.key_proof
    FOR EACH ROW EXECUTE FUNCTION @extschema@._key_proof_arrived();
ALTER TABLE @extschema@.key_proof ENABLE ALWAYS TRIGGER battledger_key_proof_checked;
-- _key_proof_computed(): _key_proof_checked's rows as a check of every
-- proof in key_proof gives them (one verification per key, member and
-- origin, of its first proofs).
CREATE FUNCTION @extschema@._key_proof_computed() RETURNS SETOF @extschema@._key_proof_checked
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT f.key_id, f.member, f.ledger_origin, f.ledger_seq,
           bool_or(@extschema@._key_proof_valid(f.key_id, f.member, f.public_key, f.signature))
      FROM (SELECT p.key_id, p.member, p.ledger_origin, p.ledger_seq, p.public_key, p.signature,
                   min(p.ledger_seq) OVER (PARTITION BY p.key_id, p.member, p.ledger_origin) AS first_seq
              FROM @extschema@.key_proof p) f
     WHERE f.ledger_seq = f.first_seq
     GROUP BY f.key_id, f.member, f.ledger_origin, f.ledger_seq
$$;
-- key_proof_check() RETURNS TABLE (key_id hash256, member text, origin text, problem text):
-- every row of _key_proof_checked that differs from a check of the proofs
-- in key_proof, or is missing ("not here"), or has no proof; no rows when
-- the readers judge contested keys as the proofs say.
CREATE FUNCTION @extschema@.key_proof_check()
    RETURNS TABLE (key_id @extschema@.hash256, member text, origin text, problem text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(c.key_id, h.key_id), coalesce(c.member, h.member), coalesce(c.origin, h.origin),
           CASE WHEN h.key_id IS NULL THEN 'not here'
                WHEN c.key_id IS NULL THEN 'here, and no such proof'
                WHEN h.valid AND NOT c.valid THEN 'valid here, the proof does not verify'
                WHEN c.valid AND NOT h.valid THEN 'not valid here, the proof verifies'
                ELSE format('first proof at seq %s here, at %s in key_proof', h.first_seq, c.first_seq) END
      FROM @extschema@._key_proof_computed() c
      FULL JOIN @extschema@._key_proof_checked h
        ON h.key_id OPERATOR(@extschema@.=) c.key_id AND h.member = c.member AND h.origin = c.origin
     WHERE h.key_id IS NULL OR c.key_id IS NULL OR h.valid <> c.valid OR h.first_seq <> c.first_seq
     ORDER BY 1, 2, 3
$$;
-- key_proof_rebuild() RETURNS bigint: check every proof again into
-- _key_proof_checked (after a load with the triggers disabled, or what
-- key_proof_check() found); returns its number of rows.
CREATE FUNCTION @extschema@.key_proof_rebuild() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    LOCK TABLE @extschema@._key_proof_checked IN EXCLUSIVE MODE;
    DELETE FROM @extschema@._key_proof_checked;
    INSERT INTO @extschema@._key_proof_checked SELECT * FROM @extschema@._key_proof_computed();
    GET DIAGNOSTICS n = ROW_COUNT;
    -- (the folds cached before judged signers by the old rows: every
    -- battery's, as which keys' rows changed is not known here)
    UPDATE @extschema@.fold_inputs SET changes = changes + 1, resets = resets + 1;
    RETURN n;
END $$;

CREATE VIEW @extschema@.members AS
    SELECT DISTINCT ON (member) member, roles, at AS since
      FROM @extschema@._member_rows_counted ORDER BY member, at DESC, ledger_origin DESC, ledger_seq DESC;
-- The key rows that count (0.22.0): a key_event row, adding or revoking a
-- key, counts only if its origin added the member it names, the hosting
-- rule _governance_rules() applies on the writer.  The trigger does not
-- fire for a member's superuser who disables it, nor in the apply worker,
-- so until 0.21.0 a key written past it for a competitor signed as the
-- competitor on every member (named key_not_hosted only); judged here, it
-- signs for nobody.  Hosting is _member_hosts': a member added under the
-- empty origin is hosted here too (r25 E1); a member added nowhere yet has
-- no counted key: pg_restore brings key_event's rows before member_event's,
-- and they count once their member's row is in, if its origin wrote them
-- (r25 D1); a member two origins added (a race, r25 X1) counts the rows of
-- either: its adding origins may still revoke the keys they added.
CREATE VIEW @extschema@._key_rows_counted AS
    SELECT k.* FROM @extschema@.key_event k
     WHERE EXISTS (SELECT FROM @extschema@._member_hosts h
                    WHERE h.member = k.member AND k.ledger_origin = ANY (h.origins));
-- The member a contested key signs for (0.23.0): of the members its counted
-- rows add it for, the one with a valid proof of possession in key_proof,
-- if exactly one has; NULL otherwise (none proved it, or the holder proved
-- it for two).  Proofs count wherever they were written, so a superuser
-- can insert any bytes into key_proof past its checks, and a forged,
-- replayed (another member's) or garbage proof verifies for nobody.  Only
-- the first proof of each origin for each member counts (its chain order,
-- the writer's, ledger_seq): prove_key() never writes a second.  Since
-- 0.24.0 read from this database's check of each proof as it arrived
-- (_key_proof_checked: an index read of the key's valid rows, whatever
-- number of garbage proofs a superuser wrote; red team r29, C1), where
-- 0.23.0 verified them on every probe.  Only contested keys come here (the
-- keys view), so the common path reads neither table.
-- _key_proven_member(key_id hash256) RETURNS text
CREATE FUNCTION @extschema@._key_proven_member(key_id @extschema@.hash256) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT min(f.member) FROM (
        SELECT DISTINCT c.member
          FROM @extschema@._key_proof_checked c
         WHERE c.key_id OPERATOR(@extschema@.=) _key_proven_member.key_id AND c.valid
           AND EXISTS (SELECT FROM @extschema@._key_rows_counted a
                        WHERE a.key_id OPERATOR(@extschema@.=) c.key_id AND a.event = 'added'
                          AND a.member = c.member)) f
    HAVING count(*) = 1
$$;
-- The same member from the proofs themselves (0.23.0's reader): for the
-- checks that judge (registry_conflicts()), which must not take this
-- database's table on trust; one verification per contesting member and
-- origin.
-- _key_proven_member_verify(key_id hash256) RETURNS text
CREATE FUNCTION @extschema@._key_proven_member_verify(key_id @extschema@.hash256) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT min(f.member) FROM (
        SELECT DISTINCT f.member
          FROM (SELECT p.*, min(p.ledger_seq) OVER (PARTITION BY p.member, p.ledger_origin) AS first_seq
                  FROM @extschema@.key_proof p
                 WHERE p.key_id OPERATOR(@extschema@.=) _key_proven_member_verify.key_id) f
         WHERE f.ledger_seq = f.first_seq
           AND EXISTS (SELECT FROM @extschema@._key_rows_counted a
                        WHERE a.key_id OPERATOR(@extschema@.=) f.key_id AND a.event = 'added'
                          AND a.member = f.member)
           AND @extschema@._key_proof_valid(f.key_id, f.member, f.public_key, f.signature)) f
    HAVING count(*) = 1
$$;
-- The validity a key's counted rows adding it for one member allow (the
-- winner's rows of a contested key: the loser's row cannot cut it short).
-- _key_member_validity(key_id hash256, member text, OUT valid_from timestamptz, OUT valid_until timestamptz)
CREATE FUNCTION @extschema@._key_member_validity(key_id @extschema@.hash256, member text,
                                                 OUT valid_from timestamptz, OUT valid_until timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT max(c.valid_from), min(c.valid_until) FROM @extschema@._key_rows_counted c
     WHERE c.key_id OPERATOR(@extschema@.=) _key_member_validity.key_id AND c.event = 'added'
       AND c.member = _key_member_validity.member
$$;
-- The keys that sign, one row per key: the counted rows adding it.  A key
-- whose counted rows name two members signs for the one that proved
-- possession of it (_key_proven_member(), 0.23.0), else for neither
-- (which one is meant cannot be told; registry_conflicts() names
-- key_registered_twice); rows adding it twice for one member give the
-- validity both allow (for a contested key, the winner's rows only), so
-- that no reader depends on which row an index scan meets first (until
-- 0.21.0 the key cache and _signer_at() took one with LIMIT 1).  A
-- revocation counts for the member it names, if it counts (red team r25,
-- V1): one written past the rules revokes nothing.  The C key cache (the
-- chain trigger, the arrival check, verify()) reads this view, and so do
-- _signer(), _signer_at() and every probe of a row's signer.  Grouped by
-- key alone, so that a reader's key_id is pushed down to the index on
-- key_event (member is an aggregate: probe by key, then compare it).  The
-- contested path is in functions called only from the CASE branches an
-- uncontested key never takes: the common path pays no signature check
-- and no plan nodes for them (a LATERAL branch gated on the members
-- differing cost each probe about a third more, measured with 2,000 keys).
CREATE VIEW @extschema@.keys AS
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
GRANT SELECT ON @extschema@.member_event, @extschema@.key_event, @extschema@.key_proof,
                @extschema@.members, @extschema@.keys, @extschema@._key_rows_counted,
                @extschema@._member_hosts, @extschema@._member_rows_counted TO PUBLIC;

-- Parsed keys are cached in each backend; a statement trigger tells every
-- backend to drop its cache when keys or roles change.
CREATE FUNCTION @extschema@._keys_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_keys_changed' LANGUAGE C;
CREATE TRIGGER battledger_keys_changed AFTER INSERT ON @extschema@.member_event
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
CREATE TRIGGER battledger_keys_changed AFTER INSERT ON @extschema@.key_event
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@.member_event ENABLE ALWAYS TRIGGER battledger_keys_changed;
CREATE TRIGGER battledger_keys_changed AFTER INSERT ON @extschema@.key_proof
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@.key_event ENABLE ALWAYS TRIGGER battledger_keys_changed;
ALTER TABLE @extschema@.key_proof ENABLE ALWAYS TRIGGER battledger_keys_changed;

-- _pin_first_host(): the first row adding a member that this database
-- inserts or receives pins the member to its origin (host_pin, above).
-- ENABLE ALWAYS: rows from other members arrive through the apply worker.
-- As the owner: add_member()'s callers and the apply worker's role may not
-- write host_pin themselves.  A row a table copy brings (a tablesync
-- worker: pg_stat_subscription names the table it copies) pins "copied",
-- and a copied row of another origin unsettles a copied pin, whichever of
-- the two copies ran first (0.24.0).  It unsettles as well a pin
-- "first_seen" of another origin than this database's own (0.25.0, red
-- team rt25 J5): such a pin was made by a row streamed in from that
-- origin, and a joiner's streams and copies carry no order between them
-- either (j joined m, m's superuser added c's member again once j's copy
-- of m was done, the row streamed to j and pinned it to m, then j's copy
-- of c could not move it: m's key signed as c's member at j).  Never a pin
-- of this database's own origin (or of the empty origin: rows added here
-- before battledger.origin was set): a member this database hosts stays
-- its own whatever a copy brings (red team m23/r31 H1).  Rows a join
-- again copies that are already here are skipped before this trigger
-- (the arrival check), so only a row new here unsettles.  INSERT ... ON
-- CONFLICT: two copies racing take the row lock in turn, and the second
-- sees the first's pin.
-- A parallel apply worker (PostgreSQL 16+, a subscription with streaming =
-- parallel, which join() no longer makes: 0.25.0) names no table there:
-- its rows pin as arrivals, which they are.
CREATE FUNCTION @extschema@._pin_first_host() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    copied boolean := EXISTS (SELECT FROM pg_catalog.pg_stat_subscription s
                               WHERE s.pid = pg_catalog.pg_backend_pid() AND s.relid IS NOT NULL);
BEGIN
    INSERT INTO @extschema@.host_pin AS p (member, origin, how)
        VALUES (NEW.member, NEW.ledger_origin, CASE WHEN copied THEN 'copied' ELSE 'first_seen' END)
        ON CONFLICT (member) DO UPDATE SET origin = NULL, how = 'unsettled', pinned_at = now()
        WHERE copied AND p.origin <> EXCLUDED.origin
          AND (p.how = 'copied'
               OR (p.how = 'first_seen' AND p.origin <> '' AND p.origin <> @extschema@._origin()));
    RETURN NULL;
END $$;
CREATE TRIGGER battledger_host_pin AFTER INSERT ON @extschema@.member_event
    FOR EACH ROW WHEN (NEW.event = 'added') EXECUTE FUNCTION @extschema@._pin_first_host();
ALTER TABLE @extschema@.member_event ENABLE ALWAYS TRIGGER battledger_host_pin;
-- a pin changed by pin_member_host() changes which keys sign
CREATE TRIGGER battledger_keys_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.host_pin
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@.host_pin ENABLE ALWAYS TRIGGER battledger_keys_changed;
-- (a row of _key_proof_checked changed changes which member a contested
-- key signs for here: the key caches are dropped, as for host_pin)
CREATE TRIGGER battledger_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@._key_proof_checked
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@._key_proof_checked ENABLE ALWAYS TRIGGER battledger_keys_changed;

-- pin_member_host(member text, origin text): settle a contested hosting
-- here: the member's keys and roles are those of the rows the given
-- origin wrote (after the consortium agreed which origin hosts it; run it
-- on every member).  Needs a row of that origin adding the member.
CREATE FUNCTION @extschema@.pin_member_host(member text, origin text) RETURNS void
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

CREATE FUNCTION @extschema@.add_member(name text, roles text[]) RETURNS text
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
COMMENT ON FUNCTION @extschema@.add_member(text, text[]) IS 'register a consortium member; returns its id (the name)';

CREATE FUNCTION @extschema@.set_member_roles(name text, roles text[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.member_event e WHERE e.member = name AND e.event = 'added') THEN
        RAISE EXCEPTION 'member "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    INSERT INTO @extschema@.member_event (member, event, roles) VALUES (name, 'roles_changed', roles);
END $$;

CREATE FUNCTION @extschema@.add_key(member text, public_key bytea,
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
COMMENT ON FUNCTION @extschema@.add_key(text, bytea, timestamptz, timestamptz) IS
    'register a member''s raw 32-byte Ed25519 public key; returns its key id';

CREATE FUNCTION @extschema@.add_key(member text, public_key_pem text,
                                    valid_from timestamptz DEFAULT now(),
                                    valid_until timestamptz DEFAULT NULL)
    RETURNS @extschema@.hash256
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT @extschema@.add_key(member, @extschema@.public_key_from_pem(public_key_pem), valid_from, valid_until)
$$;
COMMENT ON FUNCTION @extschema@.add_key(text, text, timestamptz, timestamptz) IS
    'register a member''s Ed25519 public key given as SubjectPublicKeyInfo PEM';

-- revoke_key(key_id hash256, at timestamptz DEFAULT now()) RETURNS void:
-- the revocation names the member the key signs for here (the keys view:
-- the one member its counted rows add it for, or the one that proved
-- possession of it), or the one member every row adding it names.  Until
-- 0.23.0 it took the member of whichever adding row a scan met first, so
-- for a key added for two members (a competitor's public key registered
-- past the rules) it could revoke it for the wrong one: the holder's key
-- went on signing.  A key added for two members that signs for neither
-- here is refused, naming them: which one is meant cannot be told.
CREATE FUNCTION @extschema@.revoke_key(key_id @extschema@.hash256, at timestamptz DEFAULT now())
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    owner text;
    named text[];
BEGIN
    SELECT array_agg(DISTINCT k.member ORDER BY k.member) INTO named FROM @extschema@.key_event k
     WHERE k.key_id OPERATOR(@extschema@.=) revoke_key.key_id AND k.event = 'added';
    IF named IS NULL THEN
        RAISE EXCEPTION 'key % is not registered', key_id USING ERRCODE = 'undefined_object';
    END IF;
    IF at IS NULL THEN
        RAISE EXCEPTION 'revocation time must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT k.member INTO owner FROM @extschema@.keys k WHERE k.key_id OPERATOR(@extschema@.=) revoke_key.key_id;
    IF owner IS NULL AND cardinality(named) = 1 THEN
        owner := named[1];
    END IF;
    IF owner IS NULL THEN
        RAISE EXCEPTION 'key % is added for % members and signs for none of them here', key_id, cardinality(named)
            USING ERRCODE = 'too_many_rows',
                  DETAIL = format('It is added for %s; none of them proved possession of it (key_proof), or more than one did, so which one a revocation is for cannot be told.',
                                  (SELECT string_agg(format('"%s"', m), ', ') FROM unnest(named) m)),
                  HINT = 'The holder proves possession for its member with battledger.prove_key(); then revoke the key.';
    END IF;
    INSERT INTO @extschema@.key_event (key_id, member, event, revoked_at)
    VALUES (key_id, owner, 'revoked', at);
END $$;
COMMENT ON FUNCTION @extschema@.revoke_key(@extschema@.hash256, timestamptz) IS
    'revoke a key from the given time on (rows it signed from then on no longer verify)';

-- prove_key(key_id hash256, signature bytea, member text DEFAULT NULL) RETURNS text:
-- store a proof of possession (0.23.0) of a registered key, signature =
-- the key's Ed25519 signature over key_possession_message(member, public
-- key); returns the member it proves the key for (member NULL: the member
-- the key is added for whose message the signature verifies).  Checked
-- here for the caller's sake only: every database checks each proof again
-- as it arrives (_key_proof_arrived()), since a superuser can write
-- key_proof directly.
CREATE FUNCTION @extschema@.prove_key(key_id @extschema@.hash256, signature bytea, member text DEFAULT NULL)
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

CREATE FUNCTION @extschema@.member_keys_at(member text, at timestamptz)
    RETURNS SETOF @extschema@.keys LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT * FROM @extschema@.keys k
     WHERE k.member = member_keys_at.member AND k.valid_from <= at
       AND (k.valid_until IS NULL OR at < k.valid_until)
       AND (k.revoked_at IS NULL OR at < k.revoked_at)
$$;

REVOKE ALL ON FUNCTION @extschema@.add_member(text, text[]), @extschema@.set_member_roles(text, text[]),
    @extschema@.pin_member_host(text, text), @extschema@._pin_first_host(),
    @extschema@.add_key(text, bytea, timestamptz, timestamptz),
    @extschema@.add_key(text, text, timestamptz, timestamptz),
    @extschema@.revoke_key(@extschema@.hash256, timestamptz),
    @extschema@.prove_key(@extschema@.hash256, bytea, text),
    @extschema@._key_proof_arrived(), @extschema@.key_proof_rebuild(),
    -- (the owner's audit, as usage_state_check(): a verification per proof)
    @extschema@.key_proof_check(), @extschema@._key_proof_computed() FROM PUBLIC;

