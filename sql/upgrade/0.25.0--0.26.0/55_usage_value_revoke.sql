-- pass26b: _usage_value() (55_usage_value.replace) is an internal of the
-- passport functions, which run as the owner: not PUBLIC's (85_passport.sql)
REVOKE ALL ON FUNCTION @extschema@._usage_value(numeric, timestamptz, text, bigint, text, bigint, text),
    @extschema@._usage_value(numeric, timestamptz, text, bigint, text, bigint, text, text, bigint) FROM PUBLIC;
