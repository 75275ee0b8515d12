-- A commitment counts once whatever event kind names it (disc25; red team
-- rt25 Q1-Q3; 87_usage_state.sql's header).
-- The readers' "another row names it" probe and BL045 look for rows of
-- every kind: the index on commitments, until now of usage reports alone,
-- holds every row naming one.  Built anew: one scan of battery_event and a
-- sort of the rows with a commitment, under a SHARE lock (writes to
-- battery_event wait; reads do not) for the length of the build; the
-- extension's update holds its locks to the end of its transaction.
DROP INDEX @extschema@.battery_event_restricted;
CREATE INDEX battery_event_restricted ON @extschema@.battery_event (restricted)
    WHERE restricted IS NOT NULL;
-- the usage state's report trigger fires on every row with a commitment:
-- a quality check or status change naming a report's commitment takes the
-- report out, in either arrival order
DROP TRIGGER zz_battledger_usage_state ON @extschema@.battery_event;
CREATE TRIGGER zz_battledger_usage_state AFTER INSERT ON @extschema@.battery_event
    FOR EACH ROW WHEN (NEW.restricted IS NOT NULL)
    EXECUTE FUNCTION @extschema@._usage_state_reported();
ALTER TABLE @extschema@.battery_event ENABLE ALWAYS TRIGGER zz_battledger_usage_state;
-- The rows of batteries whose usage report names a commitment a row of
-- another kind names too (counted in 0.24.0) are recomputed, those
-- batteries alone (after the .replace part, which sorts first, so with
-- the new computation).
SELECT @extschema@.usage_state_rebuild(b.battery_id)
  FROM (SELECT DISTINCT e.battery_id FROM @extschema@.battery_event e
         WHERE e.event = 'soh_reported' AND e.restricted IS NOT NULL
           AND EXISTS (SELECT FROM @extschema@.battery_event o
                        WHERE o.restricted OPERATOR(@extschema@.=) e.restricted AND o.event <> 'soh_reported')) b;
