-- a battery's passports in registry order, for passport() (issue 15): reads
-- battery_event once; its rows with a passport_id are few
CREATE INDEX battery_event_issued ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE passport_id IS NOT NULL;
