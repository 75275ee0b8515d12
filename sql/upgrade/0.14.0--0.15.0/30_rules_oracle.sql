-- The rules' verdict only for signed rows (red team r16b P2): the rule
-- triggers check a row's signature before raising a verdict.  The two
-- checks that raise on the triggers' behalf now take the row being judged
-- (_check_inputs) or report a refusal of an unsigned row (_check_second_life):
-- their old forms go; 31_rules_oracle.replace creates the new ones.
DROP FUNCTION @extschema@._check_inputs(jsonb, text, text);
DROP FUNCTION @extschema@._check_second_life(@extschema@.battery_event, text);
CREATE FUNCTION @extschema@._batch_open_here(batch_id text, tbl regclass, key_id @extschema@.hash256)
    RETURNS boolean AS 'MODULE_PATHNAME', 'battledger_batch_open_here' LANGUAGE C STABLE;
