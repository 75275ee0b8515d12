-- dump23: pg_dump keeps the registry's own rows, and pg_restore takes them
-- back as dumped.  battery_event, lot_event, battery_model and
-- operator_registration were not marked as extension configuration tables:
-- a dump of a member database had none of their rows.  _restoring() lets the
-- rules triggers pass rows restored with battledger.restore on.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.battery_model', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lot_event', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.battery_event', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.operator_registration', '');
CREATE FUNCTION @extschema@._restoring() RETURNS boolean
    AS 'MODULE_PATHNAME', 'battledger_restoring' LANGUAGE C STABLE PARALLEL SAFE;
