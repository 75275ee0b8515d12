-----------------------------------------------------------------------------
-- Internal functions that no role needs to call: trigger and event-trigger
-- functions fire without an EXECUTE check, and without EXECUTE nobody but a
-- superuser can attach them to a table of their own making.
-- (test/shell/privileges.sh compares every object's privileges with
-- test/privileges.expected, so a new object cannot slip in with PUBLIC's.)
-----------------------------------------------------------------------------
REVOKE ALL ON FUNCTION @extschema@._ddl_guard(), @extschema@._drop_guard(),
    @extschema@._keys_changed(), @extschema@._fold_inputs_changed(), @extschema@._batch_check(),
    @extschema@._lot_rules(), @extschema@._battery_rules(), @extschema@._model_rules(), @extschema@._battery_fold_arrived(),
    @extschema@._governance_rules(),
    @extschema@._passport_holder_arrived(),
    @extschema@._peer_leaf_trigger(), @extschema@._peer_checkpoint_trigger(),
    @extschema@._cosignature_trigger() FROM PUBLIC;
-- the consortium's agreed custody date is the DBA's to set
REVOKE ALL ON FUNCTION @extschema@.set_custody_from(timestamptz) FROM PUBLIC;
-- a subject's turn is the rule triggers' to take (subject_lock: red team F9)
REVOKE ALL ON FUNCTION @extschema@._lock_subject(text, text) FROM PUBLIC;
-- and the writer's cache of battery states is theirs to write (F8)
REVOKE ALL ON FUNCTION @extschema@._battery_state_cached(@extschema@.battery_id, bigint),
    @extschema@._battery_fold_cached(@extschema@.battery_id, bigint),
    @extschema@._holders_moved(@extschema@.battery_id),
    @extschema@._fold_deps(@extschema@.battery_id, text[], timestamptz, text, bigint),
    @extschema@._fold_dep_sum(text[]), @extschema@._fold_ns_subject(text) FROM PUBLIC;
-- battery_state()'s read of that cache (runs as the owner): for the roles that
-- read the raw battery events and so could fold them themselves
REVOKE ALL ON FUNCTION @extschema@._battery_state_read(@extschema@.battery_id) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._battery_state_read(@extschema@.battery_id)
    TO battledger_member, battledger_legitimate_interest;
-- as members and keys: which organisation owns which identifiers is the DBA's to register
REVOKE ALL ON FUNCTION @extschema@.add_id_namespace(text, text) FROM PUBLIC;
-- second life (85_passport.sql): the passport's second-life section reads
-- restricted values as the owner; only the tier functions call it
REVOKE ALL ON FUNCTION @extschema@._passport_second_life(@extschema@.battery_id, text),
    @extschema@._performance_at(@extschema@.battery_id, record) FROM PUBLIC;
-- the rule triggers' signature check before a verdict (red team r16b P2):
-- theirs to call, as the owner; the batch check reads this transaction's batches
REVOKE ALL ON FUNCTION @extschema@._batch_open_here(text, regclass, @extschema@.hash256),
    @extschema@._row_signed(anyelement, regclass),
    @extschema@._refuse_row(anyelement, regclass, text, text, text, text) FROM PUBLIC;
-- the mass balance of a row's input lots: the rule triggers' (SECURITY
-- DEFINER) to call; run by another role it took lot locks in its name
-- and judged nothing (red team rt27b)
REVOKE ALL ON FUNCTION @extschema@._check_inputs(anyelement, regclass, jsonb, text, text) FROM PUBLIC;
