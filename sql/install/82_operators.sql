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
-- its rows are the registry's history: pg_dump keeps them (until 0.23.0 it did not)
SELECT pg_catalog.pg_extension_config_dump('@extschema@.operator_registration', '');
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
-- PL/pgSQL, not SQL (0.24.0): with its pinned search_path an SQL function is
-- not inlined and was planned again at each call, one a passport or more
-- (issue 15); its signer is the keys view's member, probed in the query
-- (_signer() added a call and the member's roles, not used here)
CREATE FUNCTION @extschema@.operator_info(identifier text) RETURNS jsonb
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT jsonb_strip_nulls(jsonb_build_object(
               'id', o.identifier, 'kind', o.kind, 'name', o.name, 'address', o.address,
               'email', o.contact->'email', 'web', o.contact->'web', 'phone', o.contact->'phone',
               'operator', o.operator, 'member', o.member,
               -- (a time no reader can print left out: _time_out(); 0.28.0)
               'registration', jsonb_build_object('at', @extschema@._time_out(o.occurred_at), 'ledgerHash', o.ledger_hash::text)))
      FROM @extschema@.operator_registration o
     WHERE o.identifier = operator_info.identifier
       AND EXISTS (SELECT FROM @extschema@.keys k
                    WHERE k.key_id OPERATOR(@extschema@.=) o.ledger_key_id AND k.member = o.member)
       AND o.member = @extschema@.operator_holder(operator_info.identifier)
     ORDER BY o.ledger_at DESC, o.ledger_origin DESC, o.ledger_seq DESC LIMIT 1);
END $$;
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
-- As the owner, as the lot and battery rules: it takes the identifier's
-- turn (_lock_subject(), not PUBLIC's since red team F9), and as the writer
-- every registration by a role other than the owner failed there with
-- 42501 (found by priv27, 0.27.0).
CREATE FUNCTION @extschema@._operator_rules() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
    -- a registration time no reader can print ('infinity', a five-digit
    -- year): operator_info() shows it in the passports (0.28.0; _time_ok())
    IF NOT @extschema@._time_ok(NEW.occurred_at) THEN
        PERFORM @extschema@._refuse_row(NEW, TG_RELID, 'BL031', format('registration of %s "%s" occurred at %s', NEW.kind, NEW.identifier, NEW.occurred_at),
            'An event''s time is a time from 1000-01-01 up to 9999-01-01 UTC: the passports show it as an RFC 3339 date-time, which has no infinity and no year of other than four digits.',
            'Write the time of the registration.');
        RETURN NEW;
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
CREATE TRIGGER battledger_rules_operators BEFORE INSERT ON @extschema@.battery_event
    FOR EACH ROW EXECUTE FUNCTION @extschema@._operator_refs();
REVOKE ALL ON FUNCTION @extschema@._operator_rules(), @extschema@._operator_refs() FROM PUBLIC;

-- The resolver this registry's GS1 Digital Links point to: battledger.resolver
-- (set by a superuser: ALTER SYSTEM or ALTER DATABASE), GS1's by default.
-- PL/pgSQL, not SQL (0.24.0): planned again at each call as SQL (issue 15)
CREATE FUNCTION @extschema@.registry_resolver() RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN coalesce(nullif(current_setting('battledger.resolver', true), ''), 'https://id.gs1.org');
END $$;
COMMENT ON FUNCTION @extschema@.registry_resolver() IS
    'the resolver of this registry''s GS1 Digital Links (battledger.resolver; https://id.gs1.org when unset)';
