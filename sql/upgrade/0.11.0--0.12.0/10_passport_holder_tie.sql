-- Red team r11 T1: registry order (ledger_at, ledger_origin, ledger_seq)
-- numbers rows per chain, so two batteries' issuing rows of one member could
-- share a key, neither came first and both held one passport id.  The holder
-- is now the first in registry order, then battery_id (its bytes): the
-- index ends with battery_id so the probe stays one index probe
-- (_battery_verdict(), _passport_holder_arrived(): 11_passport_holder_tie.replace).
DROP INDEX @extschema@.battery_event_passport_holder;
CREATE INDEX battery_event_passport_holder ON @extschema@.battery_event (passport_id, ledger_at, ledger_origin, ledger_seq, battery_id)
    WHERE passport_id IS NOT NULL
      AND (event = 'placed_on_market'
           OR (event = 'status_changed' AND new_status IN ('re-used', 'repurposed', 'remanufactured')));
-- A cached state may hold the tie's old answer (both batteries holding the
-- id): the cache is unlogged and rebuilt on use, so it is emptied.
TRUNCATE @extschema@.battery_fold_cache;
