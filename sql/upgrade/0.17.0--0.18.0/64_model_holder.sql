-- A battery model's holder: only its rows are the model (red team r20, F4;
-- as in sql/install/80_registry.sql)

-- A battery model belongs to the member that declared it first: the signer
-- (a known key) of the first row of its model_id in registry order.  Only
-- that member's rows are the model: any cell maker, pack maker or OEM may
-- sign a battery_model row, and one naming a competitor's model_id changed
-- the rated values, chemistry, carbon footprint and declared recycled
-- content in the passports of all the competitor's batteries of that model,
-- on every member, its rules followed (red team r20, F4).  As for operator
-- identifiers (operator_holder()): first in registry order, on every member.
CREATE FUNCTION @extschema@._model_holder(model text) RETURNS text
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

-- The writer's rule: only the model's holder declares it again (BL061).
CREATE FUNCTION @extschema@._model_rules() RETURNS trigger
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
CREATE TRIGGER battledger_rules BEFORE INSERT ON @extschema@.battery_model
    FOR EACH ROW EXECUTE FUNCTION @extschema@._model_rules();
