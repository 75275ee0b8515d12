COMMENT ON FUNCTION @extschema@.consortium_status() IS
    'for each member: subscription state and its reason (read from pg_stat_subscription, pg_subscription_rel, apply errors, lock waits, conflicts, leaves and rows received), how far it is behind this member''s WAL, last checkpoint verified, rejections, cosignatures both ways';
COMMENT ON FUNCTION @extschema@.recount_arrivals() IS
    'count again, from the stored rows, held rows and leaves, what arrived from each member (battledger.peer_arrival); returns the counts';
REVOKE ALL ON FUNCTION @extschema@.recount_arrivals() FROM PUBLIC;
-- the counts so far (rows that arrive while this runs: docs/consortium.md)
SELECT count(*) FROM @extschema@.recount_arrivals();
