-- consortium_status() reads lock waits too (47_status_blocked.replace)
COMMENT ON FUNCTION @extschema@.consortium_status() IS
    'for each member: subscription state and its reason (read from pg_stat_subscription, pg_subscription_rel, apply errors, lock waits, conflicts), how far it is behind this member''s WAL, last checkpoint verified, rejections, cosignatures both ways';
