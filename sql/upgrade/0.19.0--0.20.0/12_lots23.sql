-- lead: CREATE OR REPLACE resets what the install sets by ALTER after the
-- function: material_provenance() runs as the owner (85_passport.sql)
ALTER FUNCTION @extschema@.material_provenance(@extschema@.battery_id) SECURITY DEFINER;
