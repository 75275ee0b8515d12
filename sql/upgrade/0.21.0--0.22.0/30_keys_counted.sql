-- keyorigin: key rows count only where their origin added the member they
-- name (docs/security.md, 0.22.0).  The keys view reads the counted rows
-- (_key_rows_counted, new); the one view that probed key_event for a row's
-- signer reads keys instead (the functions: 31_keys_counted.replace).
CREATE VIEW @extschema@._key_rows_counted AS
    SELECT k.* FROM @extschema@.key_event k
     WHERE EXISTS (SELECT FROM @extschema@.member_event e
                    WHERE e.member = k.member AND e.event = 'added'
                      AND (e.ledger_origin = k.ledger_origin
                           OR (e.ledger_origin = ''
                               AND k.ledger_origin = coalesce(pg_catalog.current_setting('battledger.origin', true), ''))));
-- The keys that sign, one row per key: the counted rows adding it.  A key
-- whose counted rows name two members signs for neither (which one is
-- meant cannot be told; registry_conflicts() names key_registered_twice);
-- rows adding it twice for one member give the validity both allow, so
-- that no reader depends on which row an index scan meets first (until
-- 0.21.0 the key cache and _signer_at() took one with LIMIT 1).  A
-- revocation counts for the member it names, if it counts (red team r25,
-- V1): one written past the rules revokes nothing.  The C key cache (the
-- chain trigger, the arrival check, verify()) reads this view, and so do
-- _signer(), _signer_at() and every probe of a row's signer.  Grouped by
-- key alone, so that a reader's key_id is pushed down to the index on
-- key_event (member is an aggregate: probe by key, then compare it).
CREATE OR REPLACE VIEW @extschema@.keys AS
    SELECT a.key_id, min(a.member) AS member, a.public_key, max(a.valid_from) AS valid_from, min(a.valid_until) AS valid_until,
           (SELECT min(r.revoked_at) FROM @extschema@._key_rows_counted r
             WHERE r.key_id OPERATOR(@extschema@.=) a.key_id AND r.event = 'revoked' AND r.member = min(a.member)) AS revoked_at
      FROM @extschema@._key_rows_counted a
     WHERE a.event = 'added'
     GROUP BY a.key_id, a.public_key
    HAVING min(a.member) = max(a.member);
GRANT SELECT ON @extschema@._key_rows_counted TO PUBLIC;
-- (as in sql/install/80_registry.sql)
CREATE OR REPLACE VIEW @extschema@._lot_counted_creation WITH (security_invoker = true) AS
SELECT l.lot_id, f.event, f.material, f.mass_kg, f.inputs, f.signer, f.ledger_at, f.ledger_origin, f.ledger_seq
  FROM (SELECT x.lot_id FROM @extschema@.lot_event x
         WHERE x.event IN ('extracted', 'processed', 'secondary_created') GROUP BY x.lot_id) l
  -- (OFFSET 0: not pulled up, so that the key's test gates the claims'
  -- query, which a lot id in no namespace does not run)
  LEFT JOIN LATERAL (SELECT c.members, c.since FROM @extschema@._key_claims(@extschema@._text_id_key(l.lot_id)) c
                      WHERE @extschema@._text_id_key(l.lot_id) IS NOT NULL OFFSET 0) cl ON true
  LEFT JOIN LATERAL (
      SELECT x.event, x.material, x.mass_kg, x.inputs, s.member AS signer, x.ledger_at, x.ledger_origin, x.ledger_seq
        FROM @extschema@.lot_event x
        CROSS JOIN LATERAL (SELECT ke.member FROM @extschema@.keys ke
                             WHERE ke.key_id OPERATOR(@extschema@.=) x.ledger_key_id OFFSET 0) s
       WHERE x.lot_id = l.lot_id AND x.event IN ('extracted', 'processed', 'secondary_created')
         AND coalesce((SELECT m.roles FROM @extschema@.member_event m
                        WHERE m.member = s.member AND m.at <= x.ledger_at
                        ORDER BY m.at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1)
                      && (SELECT k.roles FROM @extschema@.event_kind k WHERE k.event = x.event AND k.subject = 'lot'),
                      false)
         AND (cl.members IS NULL OR @extschema@._key_claim_allows(cl.members, cl.since, s.member, x.ledger_at))
       ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LIMIT 1) f ON true;
