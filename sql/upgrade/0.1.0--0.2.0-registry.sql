-- A battery's events are ordered by (ledger_at, ledger_origin, ledger_seq) once
-- several members write them (the functions above, replaced from the install parts).
DROP INDEX @extschema@.battery_event_state;
CREATE INDEX battery_event_state ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event IN ('manufactured', 'placed_on_market', 'status_changed', 'recycled');
CREATE INDEX battery_event_usage ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event = 'soh_reported';

