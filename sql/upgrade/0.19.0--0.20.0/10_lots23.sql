-- lead: a number in a registry row's JSON read without an error, and the
-- rows creating lots with their signers' roles (before the functions that
-- use them; material_provenance() is an SQL function, checked when it is
-- created)
CREATE FUNCTION @extschema@._json_num(v jsonb) RETURNS numeric
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'bl_json_num';
CREATE VIEW @extschema@._lot_creation_rows AS
SELECT x.*, s.member AS signer,
       coalesce((SELECT m.roles FROM @extschema@.member_event m
                  WHERE m.member = s.member AND m.at <= x.ledger_at
                  ORDER BY m.at DESC, m.ledger_origin DESC, m.ledger_seq DESC LIMIT 1)
                && (SELECT k.roles FROM @extschema@.event_kind k WHERE k.event = x.event AND k.subject = 'lot'),
                false) AS in_role
  FROM @extschema@.lot_event x
  CROSS JOIN LATERAL (SELECT ke.member FROM @extschema@.key_event ke
                       WHERE ke.key_id OPERATOR(@extschema@.=) x.ledger_key_id AND ke.event = 'added' LIMIT 1) s
 WHERE x.event IN ('extracted', 'processed', 'secondary_created');
REVOKE ALL ON @extschema@._lot_creation_rows FROM PUBLIC;
