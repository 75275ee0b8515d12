-- host_pin (0.24.0): a pin made by a join's table copy is "copied", and two
-- origins' adding rows that copies bring leave it "unsettled" (no origin)
ALTER TABLE @extschema@.host_pin
    DROP CONSTRAINT host_pin_how_check,
    DROP CONSTRAINT host_pin_check,
    ADD CONSTRAINT host_pin_how_check CHECK (how IN ('first_seen', 'copied', 'pinned', 'contested', 'unsettled')),
    ADD CONSTRAINT host_pin_check CHECK ((origin IS NULL) = (how IN ('contested', 'unsettled')));
