-- consortium_status(): "rows missing" and "unsealed" (red team r12, E7 and E8),
-- from the rows and leaves received per member and table, counted by the
-- arrival triggers into peer_arrival; counted once here from what is stored.
CREATE TABLE @extschema@.peer_arrival (
    origin          text COLLATE "C" NOT NULL,
    tbl             text NOT NULL,
    rows_received   bigint NOT NULL DEFAULT 0,
    leaves_received bigint NOT NULL DEFAULT 0,
    last_row_at     timestamptz,
    last_leaf_at    timestamptz,
    unsealed_since  timestamptz,
    PRIMARY KEY (origin, tbl)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.peer_arrival', '');
REVOKE ALL ON @extschema@.peer_arrival FROM PUBLIC;
GRANT SELECT ON @extschema@.peer_arrival TO PUBLIC;
