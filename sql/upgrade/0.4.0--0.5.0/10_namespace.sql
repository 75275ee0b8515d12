-- Identifier namespaces (docs/registry.md, "Who may make a battery"): a new
-- ledger table, published by a member that already publishes (its
-- subscribers then run ALTER SUBSCRIPTION ... REFRESH PUBLICATION).
CREATE TABLE @extschema@.id_namespace (
    namespace text NOT NULL CHECK (namespace ~ '^(gs1:[0-9]{4,12}|iso15459:[A-Z0-9]{1,3}/[A-Z0-9]{1,35})$'),
    member    text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
SELECT @extschema@.enable_ledger('@extschema@.id_namespace', 'namespace');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.id_namespace', '');
GRANT SELECT ON @extschema@.id_namespace TO PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = 'battledger_member') THEN
        PERFORM @extschema@.publish_member();
    END IF;
END $$;
