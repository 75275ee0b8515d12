-----------------------------------------------------------------------------
-- hash256: a 32-byte SHA-256 digest
-----------------------------------------------------------------------------
CREATE TYPE @extschema@.hash256;

CREATE FUNCTION @extschema@.hash256_in(cstring) RETURNS @extschema@.hash256
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.hash256_out(@extschema@.hash256) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.hash256_recv(internal) RETURNS @extschema@.hash256
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.hash256_send(@extschema@.hash256) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.hash256 (
    INPUT = @extschema@.hash256_in,
    OUTPUT = @extschema@.hash256_out,
    RECEIVE = @extschema@.hash256_recv,
    SEND = @extschema@.hash256_send,
    INTERNALLENGTH = 32,
    ALIGNMENT = char,
    STORAGE = plain
);
COMMENT ON TYPE @extschema@.hash256 IS 'SHA-256 digest (32 bytes, 64 hex digits)';

CREATE FUNCTION @extschema@.hash256(bytea) RETURNS @extschema@.hash256
    AS 'MODULE_PATHNAME', 'hash256_from_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.bytea(@extschema@.hash256) RETURNS bytea
    AS 'MODULE_PATHNAME', 'hash256_to_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (bytea AS @extschema@.hash256) WITH FUNCTION @extschema@.hash256(bytea);
CREATE CAST (@extschema@.hash256 AS bytea) WITH FUNCTION @extschema@.bytea(@extschema@.hash256);

CREATE FUNCTION @extschema@.hash256_eq(@extschema@.hash256, @extschema@.hash256) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_ne(@extschema@.hash256, @extschema@.hash256) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_lt(@extschema@.hash256, @extschema@.hash256) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_le(@extschema@.hash256, @extschema@.hash256) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_gt(@extschema@.hash256, @extschema@.hash256) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_ge(@extschema@.hash256, @extschema@.hash256) RETURNS bool
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_cmp(@extschema@.hash256, @extschema@.hash256) RETURNS int4
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_hash(@extschema@.hash256) RETURNS int4
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.hash256_hash_extended(@extschema@.hash256, int8) RETURNS int8
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.hash256, RIGHTARG = @extschema@.hash256,
    PROCEDURE = @extschema@.hash256_eq, COMMUTATOR = OPERATOR(@extschema@.=),
    NEGATOR = OPERATOR(@extschema@.<>), RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES);
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.hash256, RIGHTARG = @extschema@.hash256,
    PROCEDURE = @extschema@.hash256_ne, COMMUTATOR = OPERATOR(@extschema@.<>),
    NEGATOR = OPERATOR(@extschema@.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR @extschema@.< (
    LEFTARG = @extschema@.hash256, RIGHTARG = @extschema@.hash256,
    PROCEDURE = @extschema@.hash256_lt, COMMUTATOR = OPERATOR(@extschema@.>),
    NEGATOR = OPERATOR(@extschema@.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR @extschema@.<= (
    LEFTARG = @extschema@.hash256, RIGHTARG = @extschema@.hash256,
    PROCEDURE = @extschema@.hash256_le, COMMUTATOR = OPERATOR(@extschema@.>=),
    NEGATOR = OPERATOR(@extschema@.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR @extschema@.> (
    LEFTARG = @extschema@.hash256, RIGHTARG = @extschema@.hash256,
    PROCEDURE = @extschema@.hash256_gt, COMMUTATOR = OPERATOR(@extschema@.<),
    NEGATOR = OPERATOR(@extschema@.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR @extschema@.>= (
    LEFTARG = @extschema@.hash256, RIGHTARG = @extschema@.hash256,
    PROCEDURE = @extschema@.hash256_ge, COMMUTATOR = OPERATOR(@extschema@.<=),
    NEGATOR = OPERATOR(@extschema@.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR CLASS @extschema@.hash256_ops DEFAULT FOR TYPE @extschema@.hash256 USING btree AS
    OPERATOR 1 @extschema@.<,
    OPERATOR 2 @extschema@.<=,
    OPERATOR 3 @extschema@.=,
    OPERATOR 4 @extschema@.>=,
    OPERATOR 5 @extschema@.>,
    FUNCTION 1 @extschema@.hash256_cmp(@extschema@.hash256, @extschema@.hash256);
CREATE OPERATOR CLASS @extschema@.hash256_hash_ops DEFAULT FOR TYPE @extschema@.hash256 USING hash AS
    OPERATOR 1 @extschema@.=,
    FUNCTION 1 @extschema@.hash256_hash(@extschema@.hash256),
    FUNCTION 2 @extschema@.hash256_hash_extended(@extschema@.hash256, int8);

