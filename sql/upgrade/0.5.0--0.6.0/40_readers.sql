-- issue 15: a battery's events other than usage reports, found without walking them
CREATE INDEX battery_event_other ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event <> 'soh_reported';
-- issue 15: the fold cache keeps the operator responsible now (passport());
-- rows folded by 0.5.0 lack it: drop them, the next write folds whole
ALTER TABLE @extschema@.battery_fold_cache ADD COLUMN resp_origin text, ADD COLUMN resp_seq bigint,
    ADD COLUMN resp_signer text, ADD COLUMN resp_status text;
TRUNCATE @extschema@.battery_fold_cache;
