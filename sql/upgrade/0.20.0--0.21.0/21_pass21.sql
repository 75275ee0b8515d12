-- pass21 (20_pass21.replace): _passport_derived() takes the manufacture's
-- ledger_hash; the three-argument one is gone
DROP FUNCTION @extschema@._passport_derived(jsonb, @extschema@.battery_id, boolean);
REVOKE ALL ON FUNCTION @extschema@._passport_derived(jsonb, @extschema@.battery_id, boolean, @extschema@.hash256),
    @extschema@._recycled_content(@extschema@.battery_id, @extschema@.hash256),
    @extschema@._model_row(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._model_row(text) TO battledger_legitimate_interest;
-- the one judge of a lot's creation (80_registry.sql): a column more, read
-- with its reader's rights
CREATE OR REPLACE VIEW @extschema@._lot_creation_rows WITH (security_invoker = true) AS
SELECT c.*,
       c.in_role AND (@extschema@._text_id_key(c.lot_id) IS NULL
                      OR (SELECT @extschema@._key_claim_allows(cl.members, cl.since, c.signer, c.ledger_at)
                            FROM @extschema@._key_claims(@extschema@._text_id_key(c.lot_id)) cl)) AS counts
  FROM (SELECT x.*, s.member AS signer,
               coalesce((SELECT m.roles FROM @extschema@.member_event m
                          WHERE m.member = s.member AND m.at <= x.ledger_at
                          ORDER BY m.at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1)
                        && (SELECT k.roles FROM @extschema@.event_kind k WHERE k.event = x.event AND k.subject = 'lot'),
                        false) AS in_role
          FROM @extschema@.lot_event x
          CROSS JOIN LATERAL (SELECT ke.member FROM @extschema@.key_event ke
                               WHERE ke.key_id OPERATOR(@extschema@.=) x.ledger_key_id AND ke.event = 'added' LIMIT 1) s
         WHERE x.event IN ('extracted', 'processed', 'secondary_created')) c;
GRANT SELECT ON @extschema@._lot_creation_rows TO PUBLIC;
