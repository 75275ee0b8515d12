-- a revocation counts for the member it names (red team r25, V1): a
-- key_event 'revoked' row naming a member hosted at its writer but another
-- member's key id revoked that key for the key cache and every reader.
-- The writer's rule (_governance_rules(), 86_governance_hosted.replace)
-- refuses such a row since; this keeps one written past it, or stored
-- before, from counting.  Same columns: the view is replaced in place.
CREATE OR REPLACE VIEW @extschema@.keys AS
    SELECT a.key_id, a.member, a.public_key, a.valid_from, a.valid_until,
           (SELECT min(r.revoked_at) FROM @extschema@.key_event r
             WHERE r.key_id = a.key_id AND r.event = 'revoked' AND r.member = a.member) AS revoked_at
      FROM @extschema@.key_event a WHERE a.event = 'added';
