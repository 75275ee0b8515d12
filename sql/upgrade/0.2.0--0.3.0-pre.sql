-- 0.2.0 -> 0.3.0: the trust boundary (docs/security.md).  No row, hash,
-- signature or log leaf changes; functions, privileges and guards do.

-- Every function pins its search_path, with pg_temp last (unlisted, pg_temp
-- is searched first for relation names, ahead of pg_catalog).
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_catalog.pg_proc p
               JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                                           AND d.objid = p.oid AND d.deptype = 'e'
              WHERE d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'battledger')
                AND 'search_path=pg_catalog' = ANY (p.proconfig) LOOP
        EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', f);
    END LOOP;
END $$;
ALTER FUNCTION @extschema@.member_roles() SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.leaf_index(regclass, @extschema@.hash256) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.status_move_allowed(text, text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@._signer(@extschema@.hash256) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@._refuse(text, text, text, text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.lot_available_kg(text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.lot_custodian(text) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@.battery_state(@extschema@.battery_id) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@._attr(anyelement, text, timestamptz, @extschema@.battery_event) SET search_path = pg_catalog, @extschema@, pg_temp;
ALTER FUNCTION @extschema@._rated(numeric, text) SET search_path = pg_catalog, @extschema@, pg_temp;

-- Only _register() attaches the ledger triggers, as the extension's owner.
REVOKE ALL ON FUNCTION @extschema@._chain_trigger(), @extschema@._refuse_trigger(),
    @extschema@._arrive_trigger(), @extschema@._log_trigger() FROM PUBLIC;

-- _register() becomes C (src/enable.c): it creates the triggers itself.

-- consortium_status() gains a reason column (a new result type)
DROP FUNCTION @extschema@.consortium_status();
-- verify_log() gains log_vkey (check signatures with the published key)
DROP FUNCTION @extschema@.verify_log(boolean);
