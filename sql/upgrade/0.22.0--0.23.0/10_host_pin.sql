-- host_pin (0.23.0): each member's host as this database counts it; before
-- _member_hosts (10_member_hosts.replace), which reads it
CREATE TABLE @extschema@.host_pin (
    member    text PRIMARY KEY,
    origin    text,
    how       text NOT NULL CHECK (how IN ('first_seen', 'pinned', 'contested')),
    pinned_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((origin IS NULL) = (how = 'contested'))
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.host_pin', '');
GRANT SELECT ON @extschema@.host_pin TO PUBLIC;
-- The members already here: the order their adding rows arrived in is not
-- kept, so a member one origin added is pinned to it, and a member two
-- origins added is pinned "contested" (every origin that added it hosts
-- it, as before), named member_hosting_contested, until pin_member_host()
-- settles it.
INSERT INTO @extschema@.host_pin (member, origin, how)
SELECT e.member, CASE WHEN count(DISTINCT e.ledger_origin) = 1 THEN min(e.ledger_origin) END,
       CASE WHEN count(DISTINCT e.ledger_origin) = 1 THEN 'first_seen' ELSE 'contested' END
  FROM @extschema@.member_event e WHERE e.event = 'added' GROUP BY e.member;
