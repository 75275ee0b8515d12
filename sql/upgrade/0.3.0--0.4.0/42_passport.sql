-- Issue 14, part 3 of 3: comments, and the access tiers outside passport()
-- (as sql/install/85_passport.sql ends).
COMMENT ON FUNCTION @extschema@.passport_uuid(text) IS
    'a passport identifier as the UUID the BatteryPass and Catena-X formats show (version 8, from SHA-256)';
COMMENT ON FUNCTION @extschema@.passport(@extschema@.battery_id, text, text) IS
    'the battery passport as of now, at an access tier (Art. 77(2)), as battledger, batterypass (BatteryPass 1.2) or catenax (Catena-X 6.1.0)';
-----------------------------------------------------------------------------
-- Access tiers outside passport() (Art. 77(2), Annex XIII).  A role holding no
-- tier reads the public passport and nothing else of a battery: the raw
-- battery and lot events carry point-4 data (status moves, putting into
-- service, usage reports, negative events; a secondary lot names the battery
-- it was recovered from) and the model's materials carry point-2 data.
--   battledger_member: a consortium member's application, which writes events
--     (the registry's rules read the tables as the writer) and verifies them;
--   battledger_legitimate_interest: points 1, 2 and 4 — the raw events too;
--   battledger_authority: points 1, 2 and 3 — through passport() and
--     material_provenance(), not the raw events (they hold point 4).
-- verify(), verify_log() and replication run as the owner and read all rows.
-----------------------------------------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'battledger_member') THEN
        CREATE ROLE battledger_member NOLOGIN;
    END IF;
END $$;
REVOKE SELECT ON @extschema@.battery_event, @extschema@.lot_event, @extschema@.battery_model FROM PUBLIC;
GRANT SELECT (model_id, manufacturer, category, chemistry, rated_capacity_ah, rated_energy_kwh, nominal_voltage_v,
              min_voltage_v, max_voltage_v, original_power_w, expected_lifetime_cycles, capacity_threshold_pct,
              mass_kg, carbon_footprint_kg_co2e_per_kwh, recycled_content,
              ledger_seq, ledger_prev, ledger_hash, ledger_key_id, ledger_sig, ledger_batch, ledger_origin, ledger_at)
    ON @extschema@.battery_model TO PUBLIC;
GRANT SELECT ON @extschema@.battery_model TO battledger_member, battledger_legitimate_interest, battledger_authority;
GRANT SELECT ON @extschema@.battery_event, @extschema@.lot_event TO battledger_member, battledger_legitimate_interest;
-- an authority reads test reports (tier authority), no longer the legitimate-interest values
ALTER POLICY authority ON @extschema@.disclosure USING (tier = 'authority');

-- the formats' internals: only the owner's passport functions call them
REVOKE ALL ON FUNCTION @extschema@._passport_battledger(jsonb), @extschema@._passport_batterypass(jsonb),
    @extschema@._passport_catenax(jsonb), @extschema@._bp_address(jsonb), @extschema@._bp_contact(jsonb),
    @extschema@._bp_dynamic(jsonb, text), @extschema@._bp_array(jsonb), @extschema@._cx_doc(jsonb, text),
    @extschema@._cx_id(text, text), @extschema@._cx_dynamic(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._passport_source(@extschema@.battery_id, text),
    @extschema@._passport(@extschema@.battery_id, text, text),
    @extschema@._passport_legitimate_interest(@extschema@.battery_id, text),
    @extschema@._passport_authority(@extschema@.battery_id, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._passport_legitimate_interest(@extschema@.battery_id, text) TO battledger_legitimate_interest;
GRANT EXECUTE ON FUNCTION @extschema@._passport_authority(@extschema@.battery_id, text) TO battledger_authority;
-- the lots in a battery, back to the mine: its detailed composition (point 2)
ALTER FUNCTION @extschema@.material_provenance(@extschema@.battery_id) SECURITY DEFINER;
REVOKE ALL ON FUNCTION @extschema@.material_provenance(@extschema@.battery_id) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.material_provenance(@extschema@.battery_id)
    TO battledger_member, battledger_legitimate_interest, battledger_authority;
