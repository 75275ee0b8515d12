REVOKE ALL ON FUNCTION @extschema@._host_witness_votes(text), @extschema@.settle_member_host(text) FROM PUBLIC;
