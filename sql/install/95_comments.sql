-----------------------------------------------------------------------------
-- What each user-facing object is, for \df+, \dt+ and \dv+ (sql/privileges.sql
-- lists any function, table, view or type of the extension left without one).
-----------------------------------------------------------------------------
COMMENT ON FUNCTION @extschema@.battery_history(@extschema@.battery_id) IS
    'a battery''s lifecycle events across members, in registry order, with signer, status moves and log leaf';
COMMENT ON FUNCTION @extschema@.battery_state(@extschema@.battery_id) IS
    'the state a battery''s lifecycle events have reached: manufactured, status, current passport id, custodian, pending handover';
COMMENT ON FUNCTION @extschema@.battery_lifecycle(@extschema@.battery_id) IS
    'a battery''s lifecycle events in registry order, each with the rules'' verdict and the state reached: the same on every member';
COMMENT ON FUNCTION @extschema@.registry_conflicts() IS
    'every registry event the rules judge ineffective (equivocation: its writer bypassed the rules; conflict: a race between members)';
COMMENT ON FUNCTION @extschema@.set_custody_from(timestamptz) IS
    'the consortium''s agreed date from which lifecycle events need the battery''s custody';
COMMENT ON FUNCTION @extschema@._battery_verdict(@extschema@.battery_event, text, text[], @extschema@.battery_fold_state, boolean, boolean) IS
    'internal: the registry rules'' verdict on one battery event given the state before it';
COMMENT ON FUNCTION @extschema@._custody_from() IS 'internal: the date custody is enforced from';
COMMENT ON FUNCTION @extschema@._signer_at(@extschema@.hash256, timestamptz) IS 'internal: the member behind a key and its roles at a time';
COMMENT ON FUNCTION @extschema@._row_signed(anyelement, regclass) IS
    'internal: would the chain trigger accept the signature of this new row (by the key it names, valid now, or a batch that key signed in this transaction)?';
COMMENT ON FUNCTION @extschema@._refuse_row(anyelement, regclass, text, text, text, text) IS
    'internal: the rules'' verdict on a row, raised only if the row is signed; otherwise the chain trigger refuses it';
COMMENT ON FUNCTION @extschema@._batch_open_here(text, regclass, @extschema@.hash256) IS
    'internal: was this batch inserted by this transaction, for this table, with this key?';
COMMENT ON FUNCTION @extschema@._is_lifecycle(text) IS 'internal: does this event kind decide a battery''s state?';
COMMENT ON TABLE @extschema@.id_namespace IS 'identifier namespaces (GS1 company prefixes, ISO/IEC 15459 issuers) and the member that makes batteries under each';
COMMENT ON FUNCTION @extschema@.add_id_namespace(text, text) IS
    'register a GS1 company prefix (gs1:NNNN…) or ISO/IEC 15459 issuer and company (iso15459:IAC/CIN) as a member''s: only it may then write "manufactured" under it';
COMMENT ON FUNCTION @extschema@._id_key(@extschema@.battery_id) IS 'internal: the part of a battery id that namespaces are prefixes of';
COMMENT ON FUNCTION @extschema@._ns_covers(text, text) IS 'internal: does a namespace cover an id key or another namespace?';
COMMENT ON FUNCTION @extschema@._json_num(jsonb) IS 'internal: a number in a registry row''s JSON as a finite numeric, else NULL, never an error';
COMMENT ON VIEW @extschema@._lot_counted_creation IS 'internal: each lot''s creation the registry counts (in role, in its namespace, first in registry order), NULL where none counts';
COMMENT ON FUNCTION @extschema@._lot_creation(text) IS 'internal: the creation of a lot the registry counts (in role, in its namespace, first in registry order)';
COMMENT ON FUNCTION @extschema@._model_row(text) IS 'internal: the model as its holder declared it last (its latest row by a key added for the holder)';
COMMENT ON FUNCTION @extschema@._usage_derived(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model) IS 'internal: usage_derived() given the battery''s effective manufacture and its model as its holder declared it';
COMMENT ON FUNCTION @extschema@._recycled_content(@extschema@.battery_id, @extschema@.hash256) IS 'internal: recycled_content() given the ledger_hash of the battery''s effective manufacture';
COMMENT ON TABLE @extschema@._usage_state IS
    'internal: per battery, its legitimate-interest usage reports folded as they arrive (derived, checked by usage_state_check())';
COMMENT ON FUNCTION @extschema@.usage_state_rebuild(@extschema@.battery_id) IS
    'recompute the per-battery usage state the legitimate-interest passport reads, from the reports (NULL: every battery)';
COMMENT ON FUNCTION @extschema@.usage_state_check() IS
    'batteries whose per-battery usage state (what the legitimate-interest passport reads) differs from a recompute from their reports';
COMMENT ON FUNCTION @extschema@._usage_thresholds(@extschema@.battery_event, @extschema@.battery_model) IS
    'internal: the thresholds usage values are judged by, from the effective manufacture and the model';
COMMENT ON FUNCTION @extschema@._usage_state_add(@extschema@.battery_id, timestamptz, text, bigint, jsonb) IS
    'internal: fold one legitimate-interest usage report into its battery''s usage state';
COMMENT ON FUNCTION @extschema@._usage_state_compute(@extschema@.battery_id, numeric, numeric, numeric, numeric) IS
    'internal: a battery''s usage state recomputed from its reports, with given thresholds';
COMMENT ON FUNCTION @extschema@._usage_derived_state(@extschema@.battery_id, @extschema@.battery_event, @extschema@.battery_model) IS
    'internal: _usage_derived()''s rows from the battery''s usage state (the passport''s)';
COMMENT ON FUNCTION @extschema@._usage_state_reported() IS 'internal: trigger folding an arriving usage report into its battery''s usage state';
COMMENT ON FUNCTION @extschema@._usage_state_disclosed() IS 'internal: trigger folding the reports of an arriving disclosure into their batteries'' usage state';
COMMENT ON FUNCTION @extschema@._usage_lock(@extschema@.hash256) IS 'internal: the usage triggers'' turn on a commitment, a lock no SQL-level advisory lock can hold up';
COMMENT ON FUNCTION @extschema@._commitment_rows(@extschema@.hash256, integer, boolean) IS
    'internal: the battery_event rows naming a commitment, up to a limit, by an index scan that stops there (the transaction''s snapshot, or the latest)';
COMMENT ON FUNCTION @extschema@._usage_state_erased() IS 'internal: trigger recomputing the usage state of batteries whose disclosure was erased or changed';
COMMENT ON FUNCTION @extschema@._lot_after_now(text) IS 'internal: when the latest row of a lot that counts is dated, if after a row written now';
COMMENT ON FUNCTION @extschema@._ns_candidates(text) IS 'internal: the prefixes of an id key that a namespace covering it could be';
COMMENT ON FUNCTION @extschema@._id_owners(@extschema@.battery_id, timestamptz) IS 'internal: the members whose namespaces, registered by a time, cover a battery id';
COMMENT ON FUNCTION @extschema@._text_id_key(text) IS 'internal: the namespace key of a model, lot or passport id written as gs1:01/<GTIN>... or iso15459:<IAC>/<CIN>/... (or another spelling battery ids accept), else NULL';
COMMENT ON FUNCTION @extschema@._key_owners(text, timestamptz) IS 'internal: the members whose namespaces, registered by a time, cover a namespace key';
COMMENT ON FUNCTION @extschema@._key_claims(text) IS 'internal: every member whose namespace covers a key, and when it first registered one';
COMMENT ON FUNCTION @extschema@._passport_holder_by(text, text[], timestamptz[], @extschema@.battery_event) IS 'internal: _passport_holder() given the id''s namespace claims (_key_claims(), NULL for none), or the first such row after a row';
COMMENT ON FUNCTION @extschema@._passport_holder(text) IS 'internal: the key of a passport id''s holder (its first issuing row that its namespace allows)';
COMMENT ON FUNCTION @extschema@._key_claim_allows(text[], timestamptz[], text, timestamptz) IS 'internal: may a member write the first row of an id with these claims at a time';
COMMENT ON FUNCTION @extschema@._lot_custody_steps(text) IS 'internal: a lot''s rows in registry order, each one''s verdict and the custody after it';
COMMENT ON FUNCTION @extschema@._lot_consumers(text) IS 'internal: the rows consuming a lot, and whether each counts (signed by the lot''s holder then)';
COMMENT ON FUNCTION @extschema@._lot_ledger(text) IS 'internal: a lot''s rows and the rows consuming it in one registry order, from one walk of the lot''s rows';
COMMENT ON FUNCTION @extschema@._lot_balance(text) IS 'internal: a lot''s custody and the mass it has left, from one walk of its rows';
COMMENT ON FUNCTION @extschema@._ns_hosted(text, text) IS 'internal: was a namespace registration written at the origin that hosts its member?';
COMMENT ON TABLE @extschema@.subject_lock IS 'internal: one row per lot, battery and passport id whose writers take turns (row locks only the rule triggers can take)';
COMMENT ON TABLE @extschema@.battery_fold_cache IS 'internal: the rules'' cache of each battery''s state, with what it was computed from (used only while that holds)';
COMMENT ON FUNCTION @extschema@._battery_fold(@extschema@.battery_id, @extschema@.battery_fold_state, timestamptz, text, bigint) IS
    'internal: battery_lifecycle()''s fold from a state, over the lifecycle events after a registry-order key';
COMMENT ON FUNCTION @extschema@._fold_generation() IS 'internal: what every battery''s fold reads besides its own events, as one value';
COMMENT ON TABLE @extschema@.fold_inputs IS 'internal: how many rows the members'', keys'' and namespaces'' ledgers have received, and the resets that void every battery''s fold cache (part of _fold_generation())';
COMMENT ON TABLE @extschema@.fold_subject_changes IS 'internal: how many rows naming each member, key and namespace their ledgers have received (battery_fold_cache.deps)';
COMMENT ON FUNCTION @extschema@._fold_deps(@extschema@.battery_id, text[], timestamptz, text, bigint) IS 'internal: the members, keys and namespaces a battery''s fold reads';
COMMENT ON FUNCTION @extschema@._fold_ns_subject(text) IS 'internal: the subject of the fold cache''s dependencies a namespace registration counts for';
COMMENT ON FUNCTION @extschema@._fold_dep_sum(text[]) IS 'internal: the sum of the counts of the members, keys and namespaces a fold read';
COMMENT ON FUNCTION @extschema@._fold_inputs_changed() IS 'internal: trigger counting the rows the members'', keys'' and namespaces'' ledgers receive';
COMMENT ON TABLE @extschema@.passport_holder_moved IS 'internal: the batteries whose passport id an earlier issuing row took since (voids their cache rows)';
COMMENT ON FUNCTION @extschema@._holders_moved(@extschema@.battery_id) IS 'internal: the passport_holder_moved rows that void a battery''s cache row';
COMMENT ON FUNCTION @extschema@._passport_holder_arrived() IS 'internal: an issuing row that takes its passport id from its holder says so (passport_holder_moved)';
COMMENT ON FUNCTION @extschema@._battery_fold_cached(@extschema@.battery_id, bigint) IS 'internal: the cache row a battery''s state comes to, read under one snapshot';
COMMENT ON FUNCTION @extschema@._battery_state_cached(@extschema@.battery_id, bigint) IS 'internal: battery_state() for the rules trigger, from its cache where that still holds';
COMMENT ON FUNCTION @extschema@._battery_state_read(@extschema@.battery_id) IS 'internal: battery_state() from the rules'' cache where it still holds, read-only, as the owner';
COMMENT ON TABLE @extschema@.registry_rule IS 'registry rules enforced from a date: custody (set_custody_from(); no row: from -infinity)';
COMMENT ON TYPE @extschema@.battery_fold_state IS 'the state a battery''s lifecycle events reached (battery_lifecycle())';
COMMENT ON FUNCTION @extschema@.bytea(@extschema@.hash256) IS 'the 32 bytes of a hash256';
COMMENT ON FUNCTION @extschema@.hash256(bytea) IS 'a hash256 from 32 bytes';
COMMENT ON FUNCTION @extschema@.text(@extschema@.battery_id) IS 'a battery id as text (its canonical form; the cast to text)';
COMMENT ON FUNCTION @extschema@.checkpoint() IS 'this log''s latest signed checkpoint (C2SP signed note)';
COMMENT ON FUNCTION @extschema@.consistency_proof(bigint, bigint) IS
    'RFC 9162 consistency proof between two tree sizes of this log';
COMMENT ON FUNCTION @extschema@.inclusion_proof(bigint, bigint) IS
    'RFC 9162 inclusion proof of a leaf in the tree of a size (default: the latest checkpoint)';
COMMENT ON FUNCTION @extschema@.leaf(bigint) IS 'the bytes of a log leaf (its hash is SHA-256(0x00 || bytes))';
COMMENT ON FUNCTION @extschema@.leaf_index(regclass, @extschema@.hash256) IS
    'the log leaf of a ledger row, by its table and ledger_hash (NULL until sealed)';
COMMENT ON FUNCTION @extschema@.tree_root(bigint) IS 'the Merkle root of this log at a tree size';
COMMENT ON FUNCTION @extschema@.verify_consistency(bigint, bigint, @extschema@.hash256, @extschema@.hash256, @extschema@.hash256[]) IS
    'check an RFC 9162 consistency proof between two roots';
COMMENT ON FUNCTION @extschema@.verify_inclusion(bytea, bigint, bigint, @extschema@.hash256[], @extschema@.hash256) IS
    'check an RFC 9162 inclusion proof of leaf bytes under a root';
COMMENT ON FUNCTION @extschema@.ed25519_verify(bytea, bytea, bytea) IS
    'verify an Ed25519 signature (public key, message, signature); weak keys are refused';
COMMENT ON FUNCTION @extschema@.lot_available_kg(text) IS 'mass of a material lot not yet consumed by later lots';
COMMENT ON FUNCTION @extschema@.lot_custodian(text) IS 'the member holding a material lot now (its custody events)';
COMMENT ON FUNCTION @extschema@.member_keys_at(text, timestamptz) IS 'a member''s keys valid at a time';
COMMENT ON FUNCTION @extschema@.member_roles() IS 'the consortium roles (Regulation (EU) 2023/1542 vocabulary)';
COMMENT ON FUNCTION @extschema@.set_member_roles(text, text[]) IS 'record a member''s new roles (from now on)';

COMMENT ON TABLE @extschema@._dynamic_attribute IS 'the passport''s dynamic attributes: key, BatteryPass name, unit';
COMMENT ON TABLE @extschema@.batch IS 'signed batch manifests: one signature over the Merkle root of many rows';
COMMENT ON TABLE @extschema@.battery_event IS 'the registry''s battery lifecycle events, each signed by a role allowed to sign it';
COMMENT ON TABLE @extschema@.battery_model IS 'battery models: rated values of the passport''s static attributes';
COMMENT ON TABLE @extschema@.lot_event IS 'material lots: extraction, refining, custody, consumption, with mass balance';
COMMENT ON TABLE @extschema@.event_kind IS 'the registry''s event kinds and the member roles that may sign each';
COMMENT ON TABLE @extschema@.status_role IS 'Art. 77 statuses a battery can be moved into, and the roles that may move it';
COMMENT ON TABLE @extschema@.member_event IS 'consortium members and their roles, as append-only history';
COMMENT ON TABLE @extschema@.key_event IS 'members'' Ed25519 public keys: added and revoked, as append-only history';
COMMENT ON VIEW @extschema@.members IS 'each member''s current roles, from the counted member rows';
COMMENT ON TABLE @extschema@.host_pin IS
    'each member''s host as this database counts it: the origin of the first row adding it seen here (none if a join copied two), or pin_member_host()''s';
COMMENT ON FUNCTION @extschema@.pin_member_host(text, text) IS
    'settle a contested hosting here: count the keys and roles of the given origin''s rows for the member';
COMMENT ON VIEW @extschema@._member_hosts IS
    'the origins hosting each member, per row adding it (a row of the empty origin: this database''s origin too)';
COMMENT ON VIEW @extschema@._member_rows_counted IS
    'the member_event rows that count: a member''s adding rows, and role changes whose origin hosts the member';
COMMENT ON TABLE @extschema@.key_proof IS
    'proofs of possession: a key''s Ed25519 signature over key_possession_message(member, public key); a key registered for two members signs for the one that proved it';
COMMENT ON TABLE @extschema@._key_proof_checked IS
    'internal: each proof of possession as this database checked it when it arrived (the first of each origin for each member); local, derived, checked by key_proof_check()';
COMMENT ON FUNCTION @extschema@._key_proof_arrived() IS 'internal: trigger checking an inserted or arriving proof of possession once into _key_proof_checked';
COMMENT ON FUNCTION @extschema@.key_proof_check() IS
    'every row of _key_proof_checked that differs from a check of the proofs in key_proof (or is missing, or names no proof); no rows when intact';
COMMENT ON FUNCTION @extschema@.key_proof_rebuild() IS
    'check every proof of possession again into _key_proof_checked; returns its number of rows';
COMMENT ON VIEW @extschema@.keys IS 'each key that signs: member, public key, validity and revocation, from the counted key rows (a key counted for two members: the one that proved possession of it, if exactly one did)';
COMMENT ON FUNCTION @extschema@.key_possession_message(text, bytea) IS
    'what a key''s holder signs to prove possession of it for a member: "battledger key-possession v1\n" || member || "\n" || public key';
COMMENT ON FUNCTION @extschema@.prove_key(@extschema@.hash256, bytea, text) IS
    'store a proof of possession of a registered key (its signature over key_possession_message()); returns the member it proves the key for';
COMMENT ON VIEW @extschema@._key_rows_counted IS
    'the key_event rows that count: those whose origin added the member they name (the hosting rule)';
COMMENT ON TABLE @extschema@.checkpoint IS 'this log''s signed checkpoints (C2SP), one per seal() piece';
COMMENT ON TABLE @extschema@.log_leaf IS 'this log''s leaves: one per sealed ledger row';
COMMENT ON TABLE @extschema@.log_block IS 'this log''s blocks: the tree''s nodes of levels 4, 8, 12, ..., 16 a row (width fewer at each level''s right edge), which proofs read instead of tiles and leaves';
COMMENT ON TABLE @extschema@.log_tile IS 'this log''s tiles: the hashes of tree level 8 * level, 256 a row (width fewer at the right edge); the nodes between are recomputed, level 0 is log_leaf';
COMMENT ON TABLE @extschema@.log_pending IS 'ledger rows queued for the next seal()';
COMMENT ON TABLE @extschema@.log_pending_intact IS 'one row while log_pending is whole; empty after a crash or failover reset the unlogged queue, until seal() re-queues the unsealed rows from their tables';
COMMENT ON TABLE @extschema@.cosignature IS 'tlog-cosignature/v1 lines: by this member''s witness and received from others';
COMMENT ON TABLE @extschema@.log_conflict IS 'evidence of a member''s rewritten or forked log: both conflicting checkpoints (new_note NULL: a leaf it published again differently, signed by no checkpoint yet)';
COMMENT ON TABLE @extschema@.peer_checkpoint IS 'other members'' checkpoints, verified and witnessed here';
COMMENT ON TABLE @extschema@.peer_leaf IS 'other members'' log leaves, as verified against their checkpoints';
COMMENT ON TABLE @extschema@.peer_arrival IS 'rows and log leaves received from each member, per table, counted by the arrival triggers: consortium_status() compares them ("rows missing", "unsealed")';
COMMENT ON FUNCTION @extschema@.migrate_to_ledger(regclass, name, name[], name, integer) IS
    'bring an existing table with rows into the ledger: the rows copied in order into a new ledger table of the same name, the old table kept aside (docs/dba-guide.md)';
-- (0.24.0: here, so that the update, which recreates health() with a new
-- column, comments it too)
COMMENT ON FUNCTION @extschema@.health() IS
    'one line for monitoring: rows waiting to be sealed, log size and age, leaves not yet cosigned by another member, members not ok, refusals, held rows, tables missing from this member''s publication';
