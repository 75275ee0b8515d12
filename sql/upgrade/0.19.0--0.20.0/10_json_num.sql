-- lead: a number in a registry row's JSON read without an error (before
-- the functions that call it; material_provenance() is an SQL function,
-- checked when it is created)
CREATE FUNCTION @extschema@._json_num(v jsonb) RETURNS numeric
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'bl_json_num';
