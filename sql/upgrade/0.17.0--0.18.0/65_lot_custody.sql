-- A lot's custody judged in registry order (red team r20, L1; as in
-- sql/install/80_registry.sql)
-- A lot's custody, judged in registry order (red team r20, L1): its first
-- creation (extracted, processed, secondary_created) gives it to its signer;
-- a shipment by the holder offers it to the addressee (a later one replaces
-- the offer), whose receipt makes it the holder.  Rows by a key unknown at
-- their time, outside the event's roles, or out of turn (a receipt nobody
-- offered, a shipment by another member) change nothing, so a member that
-- bypassed its rules takes no lot: "the last creator or receiver" let one
-- unshipped "received" take any lot on every member, its holder refused
-- (BL032).  The same on every member holding the same rows.
CREATE FUNCTION @extschema@._lot_custody(lot text, OUT holder text, OUT offered text)
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

