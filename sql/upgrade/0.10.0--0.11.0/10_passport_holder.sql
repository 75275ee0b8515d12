-- Red team r10 F2: the fold's "does an earlier event hold this passport id"
-- walked every row naming the id (index on passport_id alone); rows naming
-- it dated ahead, sent by a malicious member, made each fold cost their
-- number.  The id's first issuing event is now one probe of this index.
CREATE INDEX battery_event_passport_holder ON @extschema@.battery_event (passport_id, ledger_at, ledger_origin, ledger_seq)
    WHERE passport_id IS NOT NULL
      AND (event = 'placed_on_market'
           OR (event = 'status_changed' AND new_status IN ('re-used', 'repurposed', 'remanufactured')));
-- (the cache's columns change in 20_passport_holder_moved.sql)
