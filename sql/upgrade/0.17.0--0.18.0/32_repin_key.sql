-- _repin_key() (created above from 90_consortium.sql): superuser only, like
-- the two functions that call it.
REVOKE ALL ON FUNCTION @extschema@._repin_key(text, text, text) FROM PUBLIC;
