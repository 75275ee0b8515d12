-- mend26 (0.26.0): the commitment probes of the usage triggers and of the
-- passport's readers as one C index scan that stops at the limit its
-- caller passes (src/pg/commitment_rows.c), whatever the planner settings;
-- the triggers lose 0.25.0's SET enable_bitmapscan = off (red team rt25b X1).
-- _usage_reports_latest() (the count up to a literal 3 its callers compared
-- with least(..., 3) or least(..., 2)) is _commitment_rows(c, lim, true) now.
-- Before 20_usage_probes.replace: _usage_contested(), LANGUAGE sql, names
-- the new function, which must exist when its body is checked.
DROP FUNCTION @extschema@._usage_reports_latest(@extschema@.hash256);
CREATE FUNCTION @extschema@._commitment_rows(commitment @extschema@.hash256, lim integer, latest boolean) RETURNS integer
    AS 'MODULE_PATHNAME', 'bl_commitment_rows' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION @extschema@._commitment_rows(@extschema@.hash256, integer, boolean) FROM PUBLIC;
