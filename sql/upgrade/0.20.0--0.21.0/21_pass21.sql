-- pass21 (20_pass21.replace): _passport_derived() takes the manufacture's
-- ledger_hash; the three-argument one is gone
DROP FUNCTION @extschema@._passport_derived(jsonb, @extschema@.battery_id, boolean);
REVOKE ALL ON FUNCTION @extschema@._passport_derived(jsonb, @extschema@.battery_id, boolean, @extschema@.hash256),
    @extschema@._recycled_content(@extschema@.battery_id, @extschema@.hash256),
    @extschema@._model_row(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._model_row(text) TO battledger_legitimate_interest;
-- the one judge of a lot's creation (80_registry.sql): one row per lot, read
-- with its reader's rights, in place of the rows creating lots that each
-- reader judged (the functions reading it come from 20_pass21.replace)
DROP VIEW @extschema@._lot_creation_rows;
CREATE VIEW @extschema@._lot_counted_creation WITH (security_invoker = true) AS
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
        CROSS JOIN LATERAL (SELECT ke.member FROM @extschema@.key_event ke
                             WHERE ke.key_id OPERATOR(@extschema@.=) x.ledger_key_id AND ke.event = 'added' LIMIT 1) s
       WHERE x.lot_id = l.lot_id AND x.event IN ('extracted', 'processed', 'secondary_created')
         AND coalesce((SELECT m.roles FROM @extschema@.member_event m
                        WHERE m.member = s.member AND m.at <= x.ledger_at
                        ORDER BY m.at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1)
                      && (SELECT k.roles FROM @extschema@.event_kind k WHERE k.event = x.event AND k.subject = 'lot'),
                      false)
         AND (cl.members IS NULL OR @extschema@._key_claim_allows(cl.members, cl.since, s.member, x.ledger_at))
       ORDER BY x.ledger_at, x.ledger_origin, x.ledger_seq LIMIT 1) f ON true;
GRANT SELECT ON @extschema@._lot_counted_creation TO PUBLIC;
