
-- 0.16.0: _row_signed() in C, the chain trigger's own judgement of a new
-- row's signature (sign.c, judge_new_row()), where 0.15.0 had a PL/pgSQL twin
-- of it that judged the signature alone (a row signed by a revoked key was
-- "signed" to the rules, refused by the chain trigger).  _batch_open_here()
-- reads this transaction's batches, which change within a statement:
-- VOLATILE, not STABLE.
ALTER FUNCTION @extschema@._batch_open_here(text, regclass, @extschema@.hash256) VOLATILE;
CREATE OR REPLACE FUNCTION @extschema@._row_signed(r anyelement, tbl regclass) RETURNS boolean
    AS 'MODULE_PATHNAME', 'battledger_row_signed' LANGUAGE C VOLATILE;
