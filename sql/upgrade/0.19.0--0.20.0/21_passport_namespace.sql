-- pp23: passport ids in a registered namespace are held by the first
-- issuing row the namespace allows (_passport_holder(), replaced above with
-- _battery_verdict() and _passport_holder_arrived()).  Its probe per key of
-- each claiming member needs this index (the same as sql/install/80_registry.sql).
CREATE INDEX battery_event_passport_signer ON @extschema@.battery_event (passport_id, ledger_key_id, ledger_at, ledger_origin, ledger_seq, battery_id)
    WHERE passport_id IS NOT NULL
      AND (event = 'placed_on_market'
           OR (event = 'status_changed' AND new_status IN ('re-used', 'repurposed', 'remanufactured')));
-- a squatter's issuing row stored before the update may now hold nothing,
-- and the id's rightful row hold it: the cached states were folded by the
-- old rule (the cache is unlogged and rebuilt on the next read or write)
TRUNCATE @extschema@.battery_fold_cache;
