
-- r24 D1: registry_conflicts() (replaced above) names each contested
-- registration once; the registrations a GS1 prefix covers are found by
-- this index (the same as sql/install/80_registry.sql)
CREATE INDEX id_namespace_prefix ON @extschema@.id_namespace ((namespace COLLATE "C"));
