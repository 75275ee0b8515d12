GRANT SELECT ON @extschema@._member_hosts, @extschema@._member_rows_counted TO PUBLIC;
