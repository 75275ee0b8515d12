-- Usage and state-of-health values for the 21 NASA PCoE cells, computed from
-- the measurements in data/nasa/ (public domain; see data/nasa/README.md).
-- No number here is invented: each report carries what one charge, discharge
-- or impedance measurement says, plus running totals over the cell's history.
--
-- psql -v nasa_csv=/path/to/nasa_pcoe_cycle_summary.csv -f demo/nasa_usage.sql
-- leaves a temporary table nasa_usage(cell, seq, measured_at, value jsonb).
--
-- Conventions (data/nasa/README.md): rated capacity 2.0 Ah; state of health =
-- measured capacity / 2.0; full equivalent cycles = cumulative Ah throughput /
-- 2.0; resistance increase = growth of Re over the cell's first measurement.
-- start_time is lab-local time without a zone; it is recorded as UTC.  Eight
-- charge records carry "nan" throughputs (failed measurements): they count as
-- not measured, not as zero and not as NaN.
CREATE TEMP TABLE nasa_raw (
    cell text, seq int, type text, start_time timestamp, ambient_temperature_c numeric,
    duration_s numeric, samples int, v_min numeric, v_max numeric, t_cell_max_c numeric,
    ah_throughput numeric, wh_throughput numeric, capacity_ah numeric, re_ohm numeric, rct_ohm numeric);
\set copy_cmd '\\copy nasa_raw FROM ' :'nasa_csv' ' WITH (FORMAT csv, HEADER true)'
:copy_cmd

CREATE TEMP TABLE nasa_usage AS
WITH r AS (
    SELECT n.*,
           sum(coalesce(nullif(ah_throughput, 'NaN'), 0)) OVER w AS cum_ah,
           sum(coalesce(nullif(wh_throughput, 'NaN'), 0)) OVER w AS cum_wh,
           (array_remove(array_agg(re_ohm) OVER w, NULL))[1] AS re_first
      FROM nasa_raw n
    WINDOW w AS (PARTITION BY cell ORDER BY seq)
)
SELECT cell, seq, start_time AT TIME ZONE 'UTC' AS measured_at,
       jsonb_strip_nulls(jsonb_build_object(
           'measurement', type,
           'ambient_temperature_c', ambient_temperature_c,
           'capacity_ah', capacity_ah,
           'soh_pct', round(capacity_ah / 2.0 * 100, 2),
           'capacity_fade_pct', round((2.0 - capacity_ah) / 2.0 * 100, 2),
           'full_cycles', round(cum_ah / 2.0, 2),
           'capacity_throughput_ah', round(cum_ah, 4),
           'energy_throughput_kwh', round(cum_wh / 1000, 5),
           're_ohm', re_ohm,
           'resistance_increase_pct', round((re_ohm / re_first - 1) * 100, 2),
           't_cell_max_c', t_cell_max_c)) AS value
  FROM r;
