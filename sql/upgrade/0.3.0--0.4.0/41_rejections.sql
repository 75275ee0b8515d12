-- battledger.rejections reads a database's lines by OID (each new line
-- records it): a dropped database's rejections no longer show in a new
-- database of the same name.  Lines written before 0.4.0 are still read by name.
CREATE OR REPLACE VIEW @extschema@.rejections AS
    SELECT pg_catalog.to_timestamp((j->>'at')::float8) AS at, j->>'subscription' AS subscription, j->>'origin' AS origin,
           j->>'table' AS tbl, (j->>'seq')::bigint AS seq, j->>'problem' AS problem,
           j->>'detail' AS detail, j->'row' AS row_data
      FROM @extschema@._rejection_lines() j
     -- this database's lines, by OID: a dropped database's lines do not show in a new
     -- one of the same name (lines written before 0.4.0 have only the name)
     WHERE CASE WHEN j ? 'database_oid'
                THEN (j->>'database_oid')::oid = (SELECT d.oid FROM pg_catalog.pg_database d
                                                   WHERE d.datname = pg_catalog.current_database())
                ELSE j->>'database' = pg_catalog.current_database() END;
