-- issue 15: a battery's events other than usage reports, found without walking them
CREATE INDEX battery_event_other ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event <> 'soh_reported';
