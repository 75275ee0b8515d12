#!/usr/bin/env bash
# The fold cache's dependencies (0.25.0, issue 15; docs/security.md, the
# 0.25.0 row "a battery's fold cache kept standing"): a battery's cache row keeps the members,
# keys and namespaces its fold read (battery_fold_cache.deps) and holds
# while their counts (fold_subject_changes) are the same.  Here:
#   1. changes that cannot alter a battery's fold leave its cache standing:
#      a member joining with a key and a namespace that does not cover it, a
#      new key of the member that moved it (until 0.24.0 each voided every
#      battery's cache, and the next passport refolded its whole life);
#   2. each change that does alter a fold voids it, and the cache, a reader's
#      fold and a writer's stored fold all equal a fold from scratch:
#      a. the roles of the member that placed the battery on the market
#         revoked, dated before that row (wrong_role);
#      b. the key that signed its acceptance registered for a second member
#         past the rules (contested, proved by neither: the key signs for
#         nobody, unknown_key);
#      c. the custodian's hosting pinned to another origin (its keys count
#         for nobody here);
#      d. a handover naming a member that did not exist, written past the
#         writer's check, made effective by that member joining;
#      e. a namespace covering the battery id registered, dated before its
#         manufacture, past the rules (foreign_namespace);
#      f. host_pin emptied (TRUNCATE: every cache voided);
#      h. the key of a row folded on from the cache (a key its rows had not
#         used before: the fold on adds it) contested past the rules;
#   3. a battery whose fold read more than 64 subjects keeps '*' (any
#      change voids it, as before 0.25.0), not a sum to take of each.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; else echo "FAIL - $what"; fail=1; fi; }

bl_scratch
bl_start_cluster fdeps "${FOLD_DEPS_PORT:-56060}" "$(bl_test_log_conf fdeps.test/log)"
createdb fdeps
q() { timeout 300 psql -X -q -At -v ON_ERROR_STOP=1 -d fdeps "$@"; }
q -c "CREATE EXTENSION battledger" -c "ALTER DATABASE fdeps SET search_path = public, battledger, battledger_test" >/dev/null
# the members, the model and the signed writers of sql/registry.sql (TEST ONLY)
sed -n '1,52p' "$BL_ROOT/sql/registry.sql" | q >/dev/null

# one OEM member per case, each its own key; battery <case> made by
# cells.test, handed over to oem<case>.test, accepted, placed on the market
q <<'SQL' >/dev/null
SET search_path = public, battledger, battledger_test;
SELECT add_member('oem' || c || '.test', ARRAY['oem']), add_key('oem' || c || '.test', public_key(seed('oem' || c || '.test')))
  FROM unnest(ARRAY['0', 'A', 'B', 'C', 'D', 'E', 'F']) c;
CREATE FUNCTION public.life(c text, upto int DEFAULT 4) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM ev('cells.test', jsonb_build_object('battery_id', bid(c)::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
                                             'occurred_at', '2024-03-01T00:00:00Z'));
  IF upto < 2 THEN RETURN; END IF;
  PERFORM ev('cells.test', jsonb_build_object('battery_id', bid(c)::text, 'event', 'handover', 'data', jsonb_build_object('to', 'oem' || c || '.test'),
                                             'occurred_at', '2024-03-02T00:00:00Z'));
  PERFORM ev('oem' || c || '.test', jsonb_build_object('battery_id', bid(c)::text, 'event', 'handover_accepted', 'occurred_at', '2024-03-03T00:00:00Z'));
  PERFORM ev('oem' || c || '.test', jsonb_build_object('battery_id', bid(c)::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:' || c || ':1',
                                                      'occurred_at', '2024-03-04T00:00:00Z'));
END $$;
SELECT public.life(c) FROM unnest(ARRAY['0', 'A', 'B', 'C', 'E', 'F']) c;
-- ev() signing with the key of another seed (a member's second key)
CREATE FUNCTION public.ev_seed(sd text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, j || jsonb_build_object('ledger_key_id', key_id(public_key(seed(sd)))::text));
BEGIN r.ledger_sig := sign(seed(sd), signing_bytes(r)); INSERT INTO battledger.battery_event SELECT r.*; END $$;
SELECT public.life('D', 1);
SQL

# what the passport reads of a cache row (state, responsible operator, maker, history)
cols="(r.st, r.resp_origin, r.resp_seq, r.resp_signer, r.resp_status, r.made_origin, r.made_seq, r.issued, r.handover_at, r.handover_origin)::text"
# as a reader reads it (the stored row where it holds)
read_now() { q -c "SELECT $cols FROM battledger._battery_fold_cached(public.bid('$1')) r"; }
# folded from scratch (the cache row emptied in a transaction rolled back)
whole() {
  q -c "BEGIN" -c "DELETE FROM battledger.battery_fold_cache WHERE battery_id = public.bid('$1')" \
    -c "SELECT $cols FROM battledger._battery_fold_cached(public.bid('$1')) r" -c "ROLLBACK"
}
# the writer's path: the rules' cached fold, stored, then read back
stored() {
  q -c "SELECT battledger._battery_state_cached(public.bid('$1'))" >/dev/null
  q -c "SELECT $cols FROM battledger.battery_fold_cache r WHERE r.battery_id = public.bid('$1')"
}
# does the stored row still hold (its generation and its subjects' counts)?
standing() {
  q -c "SELECT coalesce((SELECT c.generation = battledger._fold_generation() AND c.dep_sum = battledger._fold_dep_sum(c.deps)
                          FROM battledger.battery_fold_cache c WHERE c.battery_id = public.bid('$1')), false)"
}
# SQL run past the rules, as a member's superuser can (the table's rules
# trigger off; the chain trigger still fills the row's ledger columns)
past_rules() {
  printf '%s\n' "BEGIN;" "ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;" \
    "ALTER TABLE battledger.$1 DISABLE TRIGGER battledger_rules;" "$2;" \
    "ALTER TABLE battledger.$1 ENABLE TRIGGER battledger_rules;" "ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;" "COMMIT;"
}
# each case: store the cache, make the change ($2, SQL), then compare
changed() {
  local b=$1 sql=$2 what=$3 before after
  stored "$b" >/dev/null
  before=$(whole "$b")
  q <<<"$sql" >/dev/null
  after=$(whole "$b")
  check "$what: the change alters the fold (the test can tell)" test "$before" != "$after"
  check "$what: the stored cache no longer holds" test "$(standing "$b")" = f
  check "$what: a reader's fold is the fold from scratch" test "$(read_now "$b")" = "$after"
  check "$what: battery_state() is the fold from scratch" \
    test "$(q -c "SELECT battledger.battery_state(public.bid('$b'))::text")" = \
         "$(q -c "BEGIN" -c "DELETE FROM battledger.battery_fold_cache WHERE battery_id = public.bid('$b')" \
              -c "SELECT battledger.battery_state(public.bid('$b'))::text" -c "ROLLBACK")"
  check "$what: the writer's stored fold is the fold from scratch" test "$(stored "$b")" = "$after"
}

# --- 1. changes that cannot alter battery 0's fold
stored 0 >/dev/null
before=$(whole 0)
q <<'SQL' >/dev/null
SET search_path = public, battledger, battledger_test;
SELECT add_member('joiner.test', ARRAY['oem']), add_key('joiner.test', public_key(seed('joiner.test')));
SELECT add_id_namespace('joiner.test', 'gs1:4012345');
SELECT add_key('oem0.test', public_key(seed('oem0.test/2')));
SELECT set_member_roles('fleet.test', ARRAY['fleet_operator', 'collector']);
SQL
check "a member joining (key, namespace elsewhere), a new key of its OEM, another member's roles: battery 0's cache stands" \
  test "$(standing 0)" = t
check "... and a reader's fold is the fold from scratch" test "$(read_now 0)" = "$(whole 0)"
check "... which those changes did not alter" test "$(whole 0)" = "$before"
# a row of battery 0 signed by the OEM's new key, folded on from the cache
# (by the writer's path): its key is read from now on
check "the new key is not among battery 0's subjects yet" \
  test "$(q -c "SELECT 'k:' || battledger.key_id(battledger_test.public_key(battledger_test.seed('oem0.test/2')))::text = ANY (c.deps)
                   FROM battledger.battery_fold_cache c WHERE c.battery_id = public.bid('0')")" = f
q -c "SELECT ev_seed('oem0.test/2', jsonb_build_object('battery_id', bid('0')::text, 'event', 'status_changed', 'new_status', 'waste', 'occurred_at', '2024-04-01T00:00:00Z'))" >/dev/null
# (the rules trigger judged it on the state before it: the next write folds it on)
stored 0 >/dev/null
check "a row folded on adds its key to deps, and the key's members" \
  test "$(q -c "SELECT 'k:' || battledger.key_id(battledger_test.public_key(battledger_test.seed('oem0.test/2')))::text = ANY (c.deps)
                        AND 'm:oem0.test' = ANY (c.deps) AND 'm:cells.test' = ANY (c.deps) AND NOT 'm:joiner.test' = ANY (c.deps)
                        AND c.n = 5
                   FROM battledger.battery_fold_cache c WHERE c.battery_id = public.bid('0')")" = t
check "... and the cache is the fold from scratch" test "$(read_now 0)" = "$(whole 0)"
# h. that new key contested past the rules: the row it signed no longer counts
changed 0 "$(past_rules key_event "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
           SELECT battledger.key_id(p), 'fleet.test', 'added', p, '2000-01-01'
             FROM battledger_test.public_key(battledger_test.seed('oem0.test/2')) p")" \
  "h. the key of a row folded on from the cache contested"

# --- 2. changes that alter a fold
# a. the OEM's roles revoked, dated at its acceptance (before it placed the battery on the market)
changed A "$(past_rules member_event "INSERT INTO battledger.member_event (member, event, roles, at)
           SELECT 'oemA.test', 'roles_changed', ARRAY['fleet_operator'], e.ledger_at
             FROM battledger.battery_event e WHERE e.battery_id = public.bid('A') AND e.event = 'handover_accepted'")" \
  "a. roles revoked, backdated"
# b. the OEM's key registered for fleet.test too, past the rules (key_registered_twice)
changed B "$(past_rules key_event "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
           SELECT battledger.key_id(p), 'fleet.test', 'added', p, '2000-01-01'
             FROM battledger_test.public_key(battledger_test.seed('oemB.test')) p")" \
  "b. its key contested"
# c. the OEM's hosting pinned to an origin whose adding row is not here
changed C "UPDATE battledger.host_pin SET origin = 'elsewhere.test/log', how = 'pinned' WHERE member = 'oemC.test'" \
  "c. hosting pinned elsewhere"
# d. a handover to a member nobody had added, written past the writer's check
q <<'SQL' >/dev/null
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('D')::text, 'event', 'handover', 'data', '{"to": "late.test"}'::jsonb,
                                           'occurred_at', '2024-03-02T00:00:00Z'));
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
changed D "SELECT battledger.add_member('late.test', ARRAY['oem'])" "d. the member a handover names joins"
# e. a namespace covering battery E's id, dated before its manufacture, past the rules
# (add_id_namespace() dates it now; the table has no rules trigger of its own)
changed E "INSERT INTO battledger.id_namespace (namespace, member, at) VALUES ('gs1:9521234', 'recycler.test', '2000-01-01')" \
  "e. a namespace covering it registered, backdated"
# f. every pin gone
q -c "SELECT battledger.pin_member_host('oemF.test', (SELECT e.ledger_origin FROM battledger.member_event e WHERE e.member = 'oemF.test'))" >/dev/null
stored F >/dev/null
q -c "TRUNCATE battledger.host_pin" >/dev/null
check "f. host_pin emptied: battery F's cache no longer holds" test "$(standing F)" = f
check "f. ... and a reader's fold is the fold from scratch" test "$(read_now F)" = "$(whole F)"

# g. a key whose rows name 70 members (written past the rules, for
# members nobody added: the key still signs for its OEM): the cache keeps
# '*' alone, not 70 subjects to sum at every check, and any change voids it
q <<<"$(past_rules key_event "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
        SELECT battledger.key_id(p), 'x' || i || '.test', 'added', p, '2000-01-01'
          FROM battledger_test.public_key(battledger_test.seed('oem0.test')) p, generate_series(1, 70) i")" >/dev/null
stored 0 >/dev/null
check "g. 70 members named by a key's rows: deps is '*' alone" \
  test "$(q -c "SELECT c.deps::text FROM battledger.battery_fold_cache c WHERE c.battery_id = public.bid('0')")" = "{*}"
check "g. ... standing until any member, key or namespace row" test "$(standing 0)" = t
q -c "SELECT battledger.add_member('unrelated.test', ARRAY['oem'])" >/dev/null
check "g. ... which voids it" test "$(standing 0)" = f
check "g. ... and a reader's fold is the fold from scratch" test "$(read_now 0)" = "$(whole 0)"

[ $fail = 0 ] && echo "fold_deps: all ok"
exit $fail
