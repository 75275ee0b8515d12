-- Custody and one history per battery (issue 11, item 3): new event kinds,
-- the lifecycle fold, and passport ids judged in registry order instead of by
-- a unique index (which stopped replication when two members raced for one).
INSERT INTO @extschema@.event_kind VALUES
    ('handover',          'battery', '{cell_maker,pack_maker,oem,fleet_operator,repairer,second_life_operator,collector,recycler}',
                          'the custodian hands write authority over the battery''s lifecycle to another member (data {"to": member})'),
    ('handover_accepted', 'battery', '{cell_maker,pack_maker,oem,fleet_operator,repairer,second_life_operator,collector,recycler}',
                          'the member a handover names accepts it and becomes the battery''s custodian');

-- moves written under 0.3.0 were not under custody: enforce it from now on
-- (members agree on one date afterwards: set_custody_from(), docs/consortium.md)
CREATE TABLE @extschema@.registry_rule (
    rule  text PRIMARY KEY CHECK (rule IN ('custody')),
    since timestamptz NOT NULL
);
INSERT INTO @extschema@.registry_rule VALUES ('custody', now());
GRANT SELECT ON @extschema@.registry_rule TO PUBLIC;

CREATE TYPE @extschema@.battery_fold_state AS (
    manufactured boolean,
    status       text,       -- original, re-used, repurposed, remanufactured, waste, recycled; NULL before the market
    passport_id  text,       -- the current passport
    custodian    text,       -- the member holding write authority (NULL while a handover is pending)
    handover_to  text        -- the member a pending handover names
);

DROP INDEX @extschema@.battery_event_state;
CREATE INDEX battery_event_state ON @extschema@.battery_event (battery_id, ledger_at, ledger_origin, ledger_seq)
    WHERE event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled', 'recycled',
                    'handover', 'handover_accepted');
DROP INDEX @extschema@.battery_event_passport;
CREATE INDEX battery_event_passport ON @extschema@.battery_event (passport_id) WHERE passport_id IS NOT NULL;

-- battery_state gains OUT columns: a new function, not a replacement
DROP FUNCTION @extschema@.battery_state(@extschema@.battery_id);
