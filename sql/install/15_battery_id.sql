-----------------------------------------------------------------------------
-- battery_id: a validated, normalised battery identifier (src/pg/battery_id.c).
-- GS1 GTIN (AI 01) + serial (AI 21), read from a Digital Link URI, an element
-- string or gs1:01/<gtin14>/21/<serial>; or another ISO/IEC 15459 identifier,
-- iso15459:<IAC>/<CIN>/<serial>.  Stored as its canonical text.
-----------------------------------------------------------------------------
CREATE TYPE @extschema@.battery_id;

CREATE FUNCTION @extschema@.battery_id_in(cstring) RETURNS @extschema@.battery_id
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.battery_id_out(@extschema@.battery_id) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.battery_id_recv(internal) RETURNS @extschema@.battery_id
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.battery_id_send(@extschema@.battery_id) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.battery_id (
    INPUT = @extschema@.battery_id_in,
    OUTPUT = @extschema@.battery_id_out,
    RECEIVE = @extschema@.battery_id_recv,
    SEND = @extschema@.battery_id_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = int4,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.battery_id IS
    'battery identifier: gs1:01/<GTIN-14>/21/<serial> (from a GS1 Digital Link URI, element string or this text) or iso15459:<IAC>/<CIN>/<serial>';

CREATE FUNCTION @extschema@.text(@extschema@.battery_id) RETURNS text
    AS 'MODULE_PATHNAME', 'battery_id_to_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE CAST (@extschema@.battery_id AS text) WITH FUNCTION @extschema@.text(@extschema@.battery_id)
    AS ASSIGNMENT;

CREATE FUNCTION @extschema@.battery_id_scheme(@extschema@.battery_id) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.battery_id_scheme(@extschema@.battery_id) IS
    'the identifier''s scheme: gs1 or iso15459';
CREATE FUNCTION @extschema@.battery_gtin(@extschema@.battery_id) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.battery_gtin(@extschema@.battery_id) IS
    'the GTIN-14 (AI 01) of a GS1 identifier; NULL for other schemes';
CREATE FUNCTION @extschema@.battery_serial(@extschema@.battery_id) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.battery_serial(@extschema@.battery_id) IS
    'the serial number (AI 21 for GS1)';
CREATE FUNCTION @extschema@.battery_digital_link(id @extschema@.battery_id,
                                                 resolver text DEFAULT 'https://id.gs1.org')
    RETURNS text AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.battery_digital_link(@extschema@.battery_id, text) IS
    'the GS1 Digital Link URI <resolver>/01/<GTIN-14>/21/<percent-encoded serial>; NULL for non-GS1 identifiers';

CREATE FUNCTION @extschema@.battery_id_eq(@extschema@.battery_id, @extschema@.battery_id) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_ne(@extschema@.battery_id, @extschema@.battery_id) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_lt(@extschema@.battery_id, @extschema@.battery_id) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_le(@extschema@.battery_id, @extschema@.battery_id) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_gt(@extschema@.battery_id, @extschema@.battery_id) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_ge(@extschema@.battery_id, @extschema@.battery_id) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_cmp(@extschema@.battery_id, @extschema@.battery_id) RETURNS int4
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_hash(@extschema@.battery_id) RETURNS int4
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.battery_id_hash_extended(@extschema@.battery_id, int8) RETURNS int8
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.battery_id, RIGHTARG = @extschema@.battery_id,
    PROCEDURE = @extschema@.battery_id_eq, COMMUTATOR = OPERATOR(@extschema@.=),
    NEGATOR = OPERATOR(@extschema@.<>), RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES);
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.battery_id, RIGHTARG = @extschema@.battery_id,
    PROCEDURE = @extschema@.battery_id_ne, COMMUTATOR = OPERATOR(@extschema@.<>),
    NEGATOR = OPERATOR(@extschema@.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR @extschema@.< (
    LEFTARG = @extschema@.battery_id, RIGHTARG = @extschema@.battery_id,
    PROCEDURE = @extschema@.battery_id_lt, COMMUTATOR = OPERATOR(@extschema@.>),
    NEGATOR = OPERATOR(@extschema@.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR @extschema@.<= (
    LEFTARG = @extschema@.battery_id, RIGHTARG = @extschema@.battery_id,
    PROCEDURE = @extschema@.battery_id_le, COMMUTATOR = OPERATOR(@extschema@.>=),
    NEGATOR = OPERATOR(@extschema@.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR @extschema@.> (
    LEFTARG = @extschema@.battery_id, RIGHTARG = @extschema@.battery_id,
    PROCEDURE = @extschema@.battery_id_gt, COMMUTATOR = OPERATOR(@extschema@.<),
    NEGATOR = OPERATOR(@extschema@.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR @extschema@.>= (
    LEFTARG = @extschema@.battery_id, RIGHTARG = @extschema@.battery_id,
    PROCEDURE = @extschema@.battery_id_ge, COMMUTATOR = OPERATOR(@extschema@.<=),
    NEGATOR = OPERATOR(@extschema@.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR CLASS @extschema@.battery_id_ops DEFAULT FOR TYPE @extschema@.battery_id USING btree AS
    OPERATOR 1 @extschema@.<,
    OPERATOR 2 @extschema@.<=,
    OPERATOR 3 @extschema@.=,
    OPERATOR 4 @extschema@.>=,
    OPERATOR 5 @extschema@.>,
    FUNCTION 1 @extschema@.battery_id_cmp(@extschema@.battery_id, @extschema@.battery_id);
CREATE OPERATOR CLASS @extschema@.battery_id_hash_ops DEFAULT FOR TYPE @extschema@.battery_id USING hash AS
    OPERATOR 1 @extschema@.=,
    FUNCTION 1 @extschema@.battery_id_hash(@extschema@.battery_id),
    FUNCTION 2 @extschema@.battery_id_hash_extended(@extschema@.battery_id, int8);
