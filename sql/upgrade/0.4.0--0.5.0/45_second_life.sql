-- Second life and composition (issue 14, deliverable 5; docs/registry.md).
-- The fold's state learns the successor a battery was consumed into; a
-- second-life operator may place the battery it made on the market; the
-- claims are found through an index.  The functions: 46_second_life.replace.
ALTER TYPE @extschema@.battery_fold_state ADD ATTRIBUTE successor text;
UPDATE @extschema@.event_kind SET roles = '{pack_maker,oem,second_life_operator}' WHERE event = 'placed_on_market';
CREATE INDEX battery_event_second_life ON @extschema@.battery_event USING gin (data jsonb_path_ops)
    WHERE event IN ('manufactured', 'status_changed') AND data IS NOT NULL;
