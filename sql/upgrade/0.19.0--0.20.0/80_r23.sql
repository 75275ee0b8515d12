-- r23: a lot's creations in registry order, so that _lot_creation_rows'
-- readers stop at the first one the registry counts (80_registry.sql,
-- lot_event_creation; red team r23, C1)
CREATE INDEX lot_event_creation ON @extschema@.lot_event (lot_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event IN ('extracted', 'processed', 'secondary_created');
