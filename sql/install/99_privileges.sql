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
-- Internal functions PUBLIC no longer needs (0.27.0, priv27), judged caller
-- by caller (docs/security.md, 0.27.0).  Nobody's own statement reaches
-- these: the rules triggers (SECURITY DEFINER), join(), consortium_status(),
-- close_quarantine() and verify_member() (which reads held_row: the owner's)
-- call them as the owner, and _attr, _rated are 0.25.0's passport internals
-- that passport_doc.c replaced.
REVOKE ALL ON FUNCTION @extschema@._attr(anyelement, text, timestamptz, @extschema@.battery_event),
    @extschema@._rated(numeric, text),
    @extschema@._battery_successor(@extschema@.battery_id),
    @extschema@._check_second_life(@extschema@.battery_event, text),
    @extschema@._lot_consumers(text),
    @extschema@._passport_holder(text),
    @extschema@._slot_name(text, text),
    @extschema@._vkey_name(text, integer),
    @extschema@._peer_root(text, bigint),
    @extschema@._counted(numeric, text, text) FROM PUBLIC;
-- The SECURITY INVOKER helpers of registry_conflicts(), battery_lifecycle(),
-- battery_state(), lot_available_kg(), lot_custodian() and usage_derived():
-- every path to them reads the raw battery or lot events as the caller, which
-- only battledger_member and battledger_legitimate_interest may (a plain role
-- or the authority got 42501 there anyway).  Called directly they took the
-- caller's CPU and, for the lot and battery walks, its SELECT on the raw
-- events: theirs, as battery_state()'s cache read is.
REVOKE ALL ON FUNCTION @extschema@._battery_consumption(@extschema@.battery_id),
    @extschema@._battery_fold(@extschema@.battery_id, @extschema@.battery_fold_state, timestamptz, text, bigint),
    @extschema@._battery_id_or_null(text),
    @extschema@._battery_verdict(@extschema@.battery_event, text, text[], @extschema@.battery_fold_state, boolean, boolean),
    @extschema@._consume_verdict(@extschema@.battery_event, boolean),
    @extschema@._custody_from(),
    @extschema@._effective_manufacture(@extschema@.battery_id),
    @extschema@._fold_generation(),
    @extschema@._held_before(@extschema@.battery_id, text, timestamptz, text),
    @extschema@._is_lifecycle(text),
    @extschema@._key_possession_valid(text, bytea, bytea),
    @extschema@._key_proof_valid(@extschema@.hash256, text, bytea, bytea),
    @extschema@._key_proven_member_verify(@extschema@.hash256),
    @extschema@._lot_balance(text),
    @extschema@._lot_custody(text),
    @extschema@._lot_custody_steps(text),
    @extschema@._lot_ledger(text),
    @extschema@._passport_holder_by(text, text[], timestamptz[], @extschema@.battery_event),
    @extschema@._second_life_claims(@extschema@.battery_id),
    @extschema@._second_life_conflicts(),
    @extschema@._signer_at(@extschema@.hash256, timestamptz),
    @extschema@._operator_time_conflicts() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._battery_consumption(@extschema@.battery_id),
    @extschema@._battery_fold(@extschema@.battery_id, @extschema@.battery_fold_state, timestamptz, text, bigint),
    @extschema@._battery_id_or_null(text),
    @extschema@._battery_verdict(@extschema@.battery_event, text, text[], @extschema@.battery_fold_state, boolean, boolean),
    @extschema@._consume_verdict(@extschema@.battery_event, boolean),
    @extschema@._custody_from(),
    @extschema@._effective_manufacture(@extschema@.battery_id),
    @extschema@._fold_generation(),
    @extschema@._held_before(@extschema@.battery_id, text, timestamptz, text),
    @extschema@._is_lifecycle(text),
    @extschema@._key_possession_valid(text, bytea, bytea),
    @extschema@._key_proof_valid(@extschema@.hash256, text, bytea, bytea),
    @extschema@._key_proven_member_verify(@extschema@.hash256),
    @extschema@._lot_balance(text),
    @extschema@._lot_custody(text),
    @extschema@._lot_custody_steps(text),
    @extschema@._lot_ledger(text),
    @extschema@._passport_holder_by(text, text[], timestamptz[], @extschema@.battery_event),
    @extschema@._second_life_claims(@extschema@.battery_id),
    @extschema@._second_life_conflicts(),
    @extschema@._signer_at(@extschema@.hash256, timestamptz),
    @extschema@._operator_time_conflicts()
    TO battledger_member, battledger_legitimate_interest;
-- Still PUBLIC's, each because a plain role's own statement calls it:
--  _register, _check_encodable: enable_ledger() on the caller's own table;
--  _progress: migrate_to_ledger() reports progress with it;
--  _refuse, _restoring, _signer, _model_holder, _key_owners, _key_claims,
--    _key_claim_allows, _id_owners, _id_key, _ns_candidates, _ns_covers,
--    _ns_hosted, _text_id_key, _json_num: battery_model's rules trigger
--    (SECURITY INVOKER) as the writer, and operator_registration's and
--    battery_event's operator rules (_refuse, _restoring, _signer);
--  _key_proven_member, _key_member_validity: the keys view; _origin: the
--    _member_hosts view (both PUBLIC's; a view calls as its reader);
--  _passport_public: passport()'s public tier (SECURITY DEFINER);
--  _time_out, _time_ok (0.28.0; pure, as _json_num): operator_info(),
--    battery_history() (PUBLIC's, as their caller) show an event time
--    through _time_out().
