-- r23: _lot_after_now() is the rules' (81_r23.replace)
REVOKE ALL ON FUNCTION @extschema@._lot_after_now(text) FROM PUBLIC;
