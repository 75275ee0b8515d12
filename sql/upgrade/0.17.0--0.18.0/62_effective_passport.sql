-- material_provenance() is created as the caller's and made SECURITY DEFINER
-- by 85_passport.sql afterwards; CREATE OR REPLACE (60_effective_passport)
-- resets that, so set it again (red team r20, F1)
ALTER FUNCTION @extschema@.material_provenance(@extschema@.battery_id) SECURITY DEFINER;
