-- A usage report's commitment counts once (once25; 87_usage_state.sql's
-- header).  The usage state's flag for a battery with a contested report
-- (the passport's walks test each report only then); no battery has one
-- until the rebuild below.
ALTER TABLE @extschema@._usage_state ADD COLUMN contested boolean NOT NULL DEFAULT false;
REVOKE ALL ON FUNCTION @extschema@._usage_contested(@extschema@.battery_id) FROM PUBLIC;
-- The rows of batteries a replay written past BL045 made count twice in
-- 0.24.0 are recomputed, those batteries alone (none where no report's
-- commitment is named by another; after the .replace part, which sorts
-- first, so with the new computation).
SELECT @extschema@.usage_state_rebuild(b.battery_id)
  FROM (SELECT DISTINCT e.battery_id FROM @extschema@.battery_event e
         WHERE e.event = 'soh_reported' AND e.restricted IS NOT NULL
           AND EXISTS (SELECT FROM @extschema@.battery_event o
                        WHERE o.restricted OPERATOR(@extschema@.=) e.restricted AND o.event = 'soh_reported' OFFSET 1)) b;
