-- Usage reports with per-cycle data from the NASA PCoE cells (data/nasa/:
-- B. Saha and K. Goebel (2007), "Battery Data Set", NASA Ames Prognostics
-- Center of Excellence; a work of the US Government; see data/nasa/README.md).
-- Each charge, discharge or impedance measurement of a cell becomes one usage
-- report (soh_reported) of a test battery, signed by its fleet operator with
-- the TEST-ONLY signer, its measurements as a salted commitment whose
-- cleartext {"cycle": {...}} is disclosed to the legitimate-interest tier.
-- Nothing is computed here: battledger.usage_derived() derives the passport's
-- usage values from these reports (test/shell/derived_values.sh checks them
-- against the CSV).
--
-- psql -v nasa_csv=data/nasa/nasa_pcoe_cycle_summary.csv -f test/data/nasa_cycles.sql
-- defines nasa_cycles(member, cell, serial) -> number of reports; the caller
-- has created the members, the model and the battery (see the test).
-- start_time is lab-local time without a zone; it is recorded as UTC.
CREATE TABLE nasa_raw (   -- a plain table: the test reads it from several sessions
    cell text, seq int, type text, start_time timestamp, ambient_temperature_c numeric,
    duration_s numeric, samples int, v_min numeric, v_max numeric, t_cell_max_c numeric,
    ah_throughput numeric, wh_throughput numeric, capacity_ah numeric, re_ohm numeric, rct_ohm numeric);
\set copy_cmd '\\copy nasa_raw FROM ' :'nasa_csv' ' WITH (FORMAT csv, HEADER true)'
:copy_cmd

CREATE FUNCTION nasa_cycles(m text, cell text, serial text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    x record;
    v jsonb;
    n bigint := 0;
    salt bytea;
BEGIN
    FOR x IN SELECT * FROM nasa_raw r WHERE r.cell = nasa_cycles.cell ORDER BY r.seq LOOP
        -- the measurement as NASA recorded it; a failed one ("nan") stays NaN: the derivation skips it
        v := jsonb_build_object('cycle', jsonb_strip_nulls(jsonb_build_object(
                 'type', x.type, 'duration_s', x.duration_s, 'v_min', x.v_min, 'v_max', x.v_max,
                 't_cell_max_c', x.t_cell_max_c, 'ambient_c', x.ambient_temperature_c,
                 'ah', CASE WHEN x.ah_throughput = 'NaN' THEN '"NaN"'::jsonb ELSE to_jsonb(x.ah_throughput) END,
                 'wh', CASE WHEN x.wh_throughput = 'NaN' THEN '"NaN"'::jsonb ELSE to_jsonb(x.wh_throughput) END,
                 'capacity_ah', x.capacity_ah, 're_ohm', x.re_ohm)));
        salt := sha256(convert_to(serial || ':' || x.seq, 'UTF8'));   -- TEST ONLY: reproducible salts
        INSERT INTO battledger.disclosure VALUES (commitment(salt, v), 'legitimate_interest', salt, v);
        PERFORM ev(m, jsonb_build_object('battery_id', bid(serial)::text, 'event', 'soh_reported',
                   'occurred_at', x.start_time AT TIME ZONE 'UTC', 'restricted', commitment(salt, v)::text));
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;
