-- Issue 14 (passports in the standards' formats, tiers everywhere), part 1 of 3:
-- passport() gains a format argument, so the old signature goes first; the
-- passport reads more usage values.
DROP FUNCTION @extschema@.passport(@extschema@.battery_id, text);
-- which disclosures carry a key: lets the passport skip usage values nobody reports
CREATE INDEX disclosure_keys ON @extschema@.disclosure USING gin (value);
INSERT INTO @extschema@._dynamic_attribute VALUES
    ('soce_pct', 'stateOfCertifiedEnergy', '%'),
    ('soc_pct', 'stateOfCharge', '%'),
    ('remaining_energy_kwh', 'remainingEnergy', 'kWh'),
    ('remaining_power_w', 'remainingPowerCapability', 'W'),
    ('remaining_power_soc_pct', 'remainingPowerCapabilityAtStateOfCharge', '%'),
    ('power_fade_pct', 'powerFade', '%'),
    ('rte_remaining_pct', 'remainingRoundTripEnergyEfficiency', '%'),
    ('rte_fade_pct', 'roundTripEfficiencyFade', '%'),
    ('self_discharge_pct', 'currentSelfDischargingRate', '%'),
    ('self_discharge_evolution_pct', 'evolutionOfSelfDischarge', '%'),
    ('t_extreme_high_min', 'timeExtremeHighTemperature', 'min'),
    ('t_extreme_low_min', 'timeExtremeLowTemperature', 'min'),
    ('t_extreme_high_charging_min', 'timeExtremeHighTemperatureCharging', 'min'),
    ('t_extreme_low_charging_min', 'timeExtremeLowTemperatureCharging', 'min'),
    ('deep_discharge_events', 'numberOfDeepDischargeEvents', 'events'),
    ('overcharge_events', 'numberOfOverchargeEvents', 'events'),
    ('re_cell_ohm', 'cellInternalResistance', 'ohm'),
    ('resistance_increase_cell_pct', 'cellInternalResistanceIncrease', '%');
ANALYZE @extschema@._dynamic_attribute;
