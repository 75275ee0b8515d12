-- lead: CREATE OR REPLACE resets what the install sets by ALTER after the
-- function: material_provenance() runs as the owner (85_passport.sql);
-- _lot_creation() is the owner's functions'
ALTER FUNCTION @extschema@.material_provenance(@extschema@.battery_id) SECURITY DEFINER;
REVOKE ALL ON FUNCTION @extschema@._lot_creation(text) FROM PUBLIC;
