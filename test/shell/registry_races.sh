#!/usr/bin/env bash
# Three members move batteries through the registry (battledger.battery_event)
# while their replication is paused, the way concurrent writers race
# (docs/consortium.md, "One history per battery"):
#   1. custody: only the battery's holder may move it; a member that is not
#      is refused where it writes;
#   2. a member's superuser bypasses its rules and moves a battery it does
#      not hold (from waste to re-used) while the holder recycles it: every
#      member stores both rows, computes the same state (recycled), and names
#      the bypass as equivocation (registry_conflicts(), verify_member());
#   3. the same race in a registry updated from 0.3.0, before custody:
#      both members may move it; every member keeps the move first in
#      registry order and judges the other a conflict, so no member ever
#      shows waste -> re-used -> recycled;
#   4. two holders of two batteries issue one passport id at the same moment:
#      replication does not stop (0.3.0 retried a unique violation forever),
#      the first in registry order keeps the id, every member agrees;
#   5. a row dated well before rows its member sealed earlier is named;
#   6. a member's superuser bypasses its rules and writes the first row of a
#      battery in another maker's registered GS1 prefix before that maker
#      does (red team F1/F7): every member judges it ineffective, the maker
#      makes and holds the battery, and the bypass is named equivocation;
#   4b. second life: two members consume one battery into two successors
#      (before custody): the first in registry order stands, the other
#      consumption and the loser's claim on the battery are conflicts.
# After each: every member holds the same rows, the same lifecycle verdicts
# and passports, verify() is clean and every subscription is "ok".
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"

bl_scratch
W=$BL_WORK
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }

declare -A PORT=([a]=55471 [b]=55472 [c]=55473)
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [c]=c.example/log)
declare -A SEED=([a]=maker-1 [b]=second-1 [c]=recycler-1)
declare -A MEMBER=([a]=maker.example [b]=second.example [c]=recycler.example)
declare -A LOGV WITV SUB
q() { bl_mq "$@"; }

for m in a b c; do
  bl_member_start "$m" "$W" witness "$BL_QUICK_RETRY"
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY: signs with seeds given in SQL
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT battledger.publish_member();
SQL
done
q a -c "SELECT battledger.add_member('maker.example', ARRAY['pack_maker', 'oem']), battledger.add_key('maker.example', battledger_test.public_key(battledger_test.seed('maker-1')))" >/dev/null
q b -c "SELECT battledger.add_member('second.example', ARRAY['second_life_operator']), battledger.add_key('second.example', battledger_test.public_key(battledger_test.seed('second-1')))" >/dev/null
q c -c "SELECT battledger.add_member('recycler.example', ARRAY['recycler', 'collector']), battledger.add_key('recycler.example', battledger_test.public_key(battledger_test.seed('recycler-1')))" >/dev/null
for m in a b c; do bl_member_keys "$m" witness; done
for m in a b c; do
  for o in a b c; do [ "$m" = "$o" ] || bl_join "$m" "$o"; done
done
for m in a b c; do bl_wait_for "$m" "SELECT count(*) = 3 FROM battledger.members"; done

# ev MEMBER BATTERY EVENT [extra JSON fields]: MEMBER writes a signed event
ev() {
  local m=$1 b=$2 e=$3 extra=${4:-"{}"}
  q "$m" -c "SELECT ev('${SEED[$m]}', jsonb_build_object('battery_id', 'gs1:01/09521234567899/21/$b', 'event', '$e',
                                                          'occurred_at', '2026-06-01T00:00:00Z') || '$extra'::jsonb)" >/dev/null
}
# give BATTERY FROM TO: a handover and its acceptance, each written where its member is
give() {
  local b=$1 from=$2 to=$3
  ev "$from" "$b" handover "{\"data\": {\"to\": \"${MEMBER[$to]}\"}}"
  bl_wait_for "$to" "SELECT handover_to = '${MEMBER[$to]}' FROM battledger.battery_state('gs1:01/09521234567899/21/$b')"
  ev "$to" "$b" handover_accepted
}
# converged: every member holds every row.  Each member's own rows are
# counted where they are written (only there are they all, at once); a
# count read at a right after a resume missed the rows b and c wrote while
# paused, and b and c then waited for fewer rows than they held (a flake)
own_rows() { q "$1" -c "SELECT count(*) FROM battledger.battery_event WHERE ledger_origin = '${ORIGIN[$1]}'"; }
converged() {
  local n=0 m
  for m in a b c; do n=$((n + $(own_rows "$m"))); done
  for m in a b c; do bl_wait_for "$m" "SELECT count(*) = $n FROM battledger.battery_event" || return 1; done
}
# what a member computes of the registry: every lifecycle verdict and state, every conflict
registry_view() {
  q "$1" -c "SELECT string_agg(format('%s %s %s:%s %s %s %s %s', right(b.battery_id::text, 3), l.event, l.ledger_origin, l.ledger_seq,
                                      l.effective, l.status, l.passport_id, l.custodian), E'\n'
                               ORDER BY b.battery_id::text, l.ledger_at, l.ledger_origin, l.ledger_seq)
               FROM (SELECT DISTINCT battery_id FROM battledger.battery_event) b, battledger.battery_lifecycle(b.battery_id) l" \
         -c "SELECT string_agg(format('%s %s %s %s', right(battery_id::text, 3), event, problem, kind), E'\n' ORDER BY battery_id::text, ledger_origin, ledger_seq)
               FROM battledger.registry_conflicts()" \
         -c "SELECT md5(string_agg(ledger_hash::text, ',' ORDER BY ledger_hash::text)) FROM battledger.battery_event"
}
same_everywhere() {
  local what=$1
  check "$what: a, b and c hold the same rows and judge them alike" \
    test "$(registry_view a)" = "$(registry_view b)" -a "$(registry_view a)" = "$(registry_view c)"
  for m in a b c; do
    # every battery a lifecycle event of another member arrived for has a
    # cache row here (folded on arrival since 0.8.0; read before the check
    # below, whose _battery_state_cached() writes the cache itself)
    check "$what: $m: the cache holds every battery lifecycle events arrived for" \
      test "$(q "$m" -c "SELECT count(*) FROM (SELECT DISTINCT battery_id FROM battledger.battery_event
                                              WHERE event IN ('manufactured', 'placed_on_market', 'status_changed', 'dismantled',
                                                              'recycled', 'handover', 'handover_accepted')
                                                AND ledger_origin <> current_setting('battledger.origin')) b
                          WHERE NOT EXISTS (SELECT 1 FROM battledger.battery_fold_cache c WHERE c.battery_id OPERATOR(battledger.=) b.battery_id)")" = 0
    # the rules trigger's cache of battery states (F8), after rows arrived in
    # this member's own order, agrees with the whole fold
    # (the whole fold: battery_lifecycle()'s last state; battery_state() reads the cache since 0.6.0)
    check "$what: $m: the writer's cached state of every battery, and battery_state(), are the whole fold's" \
      test "$(q "$m" -c "SELECT count(*) FROM (SELECT DISTINCT battery_id FROM battledger.battery_event) b,
                          LATERAL (SELECT coalesce((SELECT ROW(l.manufactured, l.status, l.passport_id, l.custodian, l.handover_to,
                                                               battledger._battery_successor(b.battery_id))::battledger.battery_fold_state
                                                      FROM battledger.battery_lifecycle(b.battery_id) l
                                                     ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC LIMIT 1),
                                                   ROW(false, NULL, NULL, NULL, NULL, NULL)::battledger.battery_fold_state) AS w) w
                          WHERE battledger._battery_state_cached(b.battery_id) IS DISTINCT FROM w.w
                             OR (SELECT ROW(s.manufactured, s.status, s.passport_id, s.custodian, s.handover_to)
                                   FROM battledger.battery_state(b.battery_id) s)
                                IS DISTINCT FROM ROW((w.w).manufactured, (w.w).status, (w.w).passport_id, (w.w).custodian, (w.w).handover_to)")" = 0
    check "$what: $m: verify() clean, every member ok" \
      test "$(q "$m" -c "SELECT count(*) FROM battledger.verify('battledger.battery_event')"):$(q "$m" -c "SELECT string_agg(state, ',') FROM battledger.consortium_status()")" = "0:ok,ok"
  done
}
# pause MEMBER OTHER / resume: stop MEMBER receiving from OTHER (and back)
sub_of() { q "$1" -c "SELECT subscription FROM battledger.consortium_member WHERE origin = '${ORIGIN[$2]}'"; }
pause() {
  local s; s=$(sub_of "$1" "$2")
  q "$1" -c "ALTER SUBSCRIPTION $s DISABLE" >/dev/null
  bl_wait_for "$1" "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_subscription WHERE subname = '$s' AND pid IS NOT NULL)"
}
resume() { q "$1" -c "ALTER SUBSCRIPTION $(sub_of "$1" "$2") ENABLE" >/dev/null; }
state_of() { q "$1" -c "SELECT status || ':' || coalesce(custodian, '-') FROM battledger.battery_state('gs1:01/09521234567899/21/$2')"; }

# --- 1. a makes the battery, places it on the market, hands it to c, which declares it waste
q a -c "SELECT model('maker-1', '{\"model_id\": \"NMC-1\", \"manufacturer\": \"maker.example\", \"category\": \"ev\",
                                  \"chemistry\": \"NMC\", \"rated_capacity_ah\": 2.0}')" >/dev/null
ev a X1 manufactured '{"model_id": "NMC-1"}'
ev a X1 placed_on_market '{"passport_id": "urn:bp:X1:1"}'
give X1 a c
bl_wait_for c "SELECT custodian = 'recycler.example' FROM battledger.battery_state('gs1:01/09521234567899/21/X1')"
ev c X1 status_changed '{"new_status": "waste"}'
converged
out=$(q b -c "SELECT ev('second-1', jsonb_build_object('battery_id', 'gs1:01/09521234567899/21/X1', 'event', 'status_changed', 'new_status', 're-used', 'passport_id', 'urn:bp:X1:2', 'occurred_at', '2026-06-02T00:00:00Z'))" 2>&1 || true)
check "1: b, which does not hold X1, is refused where it writes" grep -q 'member "second.example" does not hold battery' <<<"$out"
same_everywhere 1

# --- 2. b and c cannot see each other; b's superuser bypasses the rules and
#        moves X1 to re-used while c recycles it
pause b c; pause c b
q b -c "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules" >/dev/null
ev b X1 status_changed '{"new_status": "re-used", "passport_id": "urn:bp:X1:2"}'
q b -c "ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules" >/dev/null
ev c X1 recycled
check "2: before they meet, b believes its own move" test "$(state_of b X1)" = "waste:recycler.example"
resume b c; resume c b
converged
same_everywhere 2
for m in a b c; do
  check "2: $m: X1 is recycled, by its holder" test "$(state_of $m X1)" = "recycled:recycler.example"
  check "2: $m: b's move is named equivocation" \
    test "$(q $m -c "SELECT string_agg(event || ':' || problem || ':' || kind, ',') FROM battledger.registry_conflicts()")" = "status_changed:not_custodian:equivocation"
  check "2: $m: the passport shows recycled and the passport b issued is not X1's" \
    test "$(q $m -c "SELECT (battledger.passport('gs1:01/09521234567899/21/X1', 'legitimate_interest')->>'batteryStatus') || ':' || coalesce(battledger.passport('gs1:01/09521234567899/21/X1', 'legitimate_interest')->>'passportId', '-')")" = "recycled:urn:bp:X1:1"
done
check "2: a's verify_member(b) names the bypass" \
  test "$(q a -c "SELECT string_agg(problem, ',') FROM battledger.verify_member('b.example/log')")" = "registry_equivocation"
check "2: verify_member(c) is clean" test "$(q a -c "SELECT count(*) FROM battledger.verify_member('c.example/log')")" = 0

# --- 3. before custody (a registry updated from 0.3.0): both may move it, the first wins everywhere
for m in a b c; do q $m -c "SELECT battledger.set_custody_from('infinity')" >/dev/null; done
ev a X2 manufactured '{"model_id": "NMC-1"}'
ev a X2 placed_on_market '{"passport_id": "urn:bp:X2:1"}'
converged
pause c a
ev c X2 status_changed '{"new_status": "waste"}'   # by role, not custody
resume c a
converged
pause b c; pause c b
ev b X2 status_changed '{"new_status": "re-used", "passport_id": "urn:bp:X2:2"}'
ev c X2 recycled
resume b c; resume c b
converged
same_everywhere 3
for m in a b c; do
  check "3: $m: b's re-use came first in registry order and stands; c's recycling is a conflict" \
    test "$(state_of $m X2):$(q $m -c "SELECT string_agg(right(battery_id::text, 2) || ':' || event || ':' || problem || ':' || kind, ',' ORDER BY battery_id::text, ledger_seq) FROM battledger.registry_conflicts() WHERE right(battery_id::text, 2) = 'X2'")" \
         = "re-used:second.example:X2:recycled:not_waste:conflict"
done
for m in a b c; do q $m -c "SELECT battledger.set_custody_from('-infinity')" >/dev/null; done

# --- 4. two holders of two batteries issue one passport id at the same moment
ev a Y1 manufactured '{"model_id": "NMC-1"}'
ev a Y2 manufactured '{"model_id": "NMC-1"}'
ev a Y2 placed_on_market '{"passport_id": "urn:bp:Y2:1"}'
give Y2 a b
converged
pause a b; pause b a
ev a Y1 placed_on_market '{"passport_id": "urn:bp:Y"}'
ev b Y2 status_changed '{"new_status": "re-used", "passport_id": "urn:bp:Y"}'
resume a b; resume b a
converged
same_everywhere 4
for m in a b c; do
  check "4: $m: one battery holds urn:bp:Y, the other event is a passport_taken conflict" \
    test "$(q $m -c "SELECT count(*) FILTER (WHERE (battledger.battery_state(b)).passport_id = 'urn:bp:Y')
                     FROM unnest(ARRAY['gs1:01/09521234567899/21/Y1', 'gs1:01/09521234567899/21/Y2']::battledger.battery_id[]) b"):$(q $m -c "SELECT string_agg(problem || ':' || kind, ',') FROM battledger.registry_conflicts() WHERE problem = 'passport_taken'")" \
         = "1:passport_taken:conflict"
done

# --- 4b. second life (docs/registry.md, "Second life and composition"):
#         before custody, a and b both consume X3 into a successor of their
#         own and manufacture it naming X3 while they cannot see each other.
#         Every member keeps the consumption first in registry order, judges
#         the other and the loser's claim on X3 conflicts, and shows X3 as the
#         winner's predecessor only: the registry does not split.
for m in a b c; do q $m -c "SELECT battledger.set_custody_from('infinity')" >/dev/null; done
ev a X3 manufactured '{"model_id": "NMC-1"}'
ev a X3 placed_on_market '{"passport_id": "urn:bp:X3:1"}'
converged
pause a b; pause b a
ev a X3 status_changed '{"new_status": "remanufactured", "data": {"successor": "gs1:01/09521234567899/21/SA"}}'
ev a SA manufactured '{"model_id": "NMC-1", "data": {"predecessors": ["gs1:01/09521234567899/21/X3"]}}'
ev b X3 status_changed '{"new_status": "repurposed", "data": {"successor": "gs1:01/09521234567899/21/SB"}}'
ev b SB manufactured '{"model_id": "NMC-1", "data": {"predecessors": ["gs1:01/09521234567899/21/X3"]}}'
check "4b: before they meet, each believes X3 is its own successor's" \
  test "$(q a -c "SELECT battledger._battery_successor('gs1:01/09521234567899/21/X3')"):$(q b -c "SELECT battledger._battery_successor('gs1:01/09521234567899/21/X3')")" \
       = "gs1:01/09521234567899/21/SA:gs1:01/09521234567899/21/SB"
resume a b; resume b a
converged
same_everywhere 4b
for m in a b c; do
  check "4b: $m: a's consumption came first and stands; b's and b's claim on X3 are conflicts" \
    test "$(q $m -c "SELECT string_agg(right(battery_id::text, 2) || ':' || event || ':' || problem || ':' || kind, ',' ORDER BY battery_id::text, ledger_seq)
                     FROM battledger.registry_conflicts() WHERE right(battery_id::text, 2) IN ('X3', 'SA', 'SB')")" \
         = "SB:manufactured:predecessor_unconfirmed:conflict,X3:status_changed:consumed:conflict"
  check "4b: $m: X3 is SA's predecessor, and SB has none" \
    test "$(q $m -c "SELECT coalesce(battledger.passport('gs1:01/09521234567899/21/SA')->'secondLife'->'predecessors'->0->>'batteryIdentifier', '-')
                            || ':' || coalesce(battledger.passport('gs1:01/09521234567899/21/SB')->'secondLife'->>'predecessors', '-')
                            || ':' || (battledger.passport('gs1:01/09521234567899/21/X3')->'secondLife'->'successor'->>'batteryIdentifier')")" \
         = "gs1:01/09521234567899/21/X3:-:gs1:01/09521234567899/21/SA"
done
for m in a b c; do q $m -c "SELECT battledger.set_custody_from('-infinity')" >/dev/null; done

# --- 5. a row dated well before rows its member sealed earlier is named
#        (verify_member(): backdated_row).  Within a member, log order is
#        commit order; here an honest transaction stays open 6 s, so with
#        battledger.max_backdate = 1 s its row is reported, as a backdated
#        first row of a new chain (which nothing else bounds) would be.
q b -c "BEGIN" -c "SELECT ev('second-1', jsonb_build_object('battery_id', 'gs1:01/09521234567899/21/Y2', 'event', 'soh_reported', 'data', '{\"n\": 1}'::jsonb, 'occurred_at', '2026-07-01T00:00:00Z'))" \
    -c "SELECT pg_sleep(6)" -c "COMMIT" >/dev/null &
slow=$!
# its row is written once it sleeps (a loaded machine may take a while to get there)
bl_wait_for b "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(6)')"
sleep 1.5
q b -c "SELECT ev('second-1', jsonb_build_object('battery_id', 'gs1:01/09521234567899/21/Y1', 'event', 'soh_reported', 'data', '{\"n\": 2}'::jsonb, 'occurred_at', '2026-07-01T00:00:00Z'))" >/dev/null
q b -c "SELECT battledger.seal()" >/dev/null
wait $slow
q b -c "SELECT battledger.seal()" >/dev/null
n=$(q b -c "SELECT max(tree_size) FROM battledger.checkpoint")
bl_wait_for a "SELECT count(*) = $n FROM battledger.peer_leaf WHERE origin = 'b.example/log'"
check "5: with the default max_backdate (10 min) the open transaction is not reported" \
  test "$(q a -c "SELECT count(*) FROM battledger.verify_member('b.example/log') WHERE problem = 'backdated_row'")" = 0
check "5: dated 1.5 s before a row sealed earlier, with max_backdate = 1 s, it is" \
  test "$(q a -c "LOAD 'battledger'" -c "SET battledger.max_backdate = 1" -c "SELECT string_agg(tbl || ':' || problem, ',') FROM battledger.verify_member('b.example/log') WHERE problem = 'backdated_row'")" = "battledger.battery_event:backdated_row"

# --- 6. a's DBA registered maker.example's GS1 prefix (a day ago); b becomes a
#        pack maker too, and its superuser, out of sight of a, writes the first
#        row of a battery under a's prefix before a makes it
q a -c "INSERT INTO battledger.id_namespace (namespace, member, at) VALUES ('gs1:952123', 'maker.example', now() - interval '1 day')" >/dev/null
q b -c "SELECT battledger.set_member_roles('second.example', ARRAY['second_life_operator', 'pack_maker'])" >/dev/null
for m in a c; do bl_wait_for $m "SELECT 'pack_maker' = ANY (roles) FROM battledger.members WHERE member = 'second.example'"; done
bl_wait_for b "SELECT count(*) = 1 FROM battledger.id_namespace"
out=$(q b -c "SELECT battledger.add_id_namespace('maker.example', 'gs1:4012345')" 2>&1 || true)
check "6: b's DBA may not register a namespace for a member a hosts" grep -q 'member "maker.example" is not hosted here' <<<"$out"
q b -c "INSERT INTO battledger.id_namespace (namespace, member) VALUES ('gs1:4012345', 'second.example'),
                                                                    ('gs1:4099999', 'maker.example')" >/dev/null
out=$(q b -c "SELECT ev('second-1', jsonb_build_object('battery_id', 'gs1:01/09521234567899/21/Z0', 'event', 'manufactured', 'model_id', 'NMC-1', 'occurred_at', '2026-08-01T00:00:00Z'))" 2>&1 || true)
check "6: b's own server refuses a battery under a's prefix (BL044)" grep -q 'is in the namespace of member "maker.example"' <<<"$out"
pause a b; pause b a
q b -c "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules" >/dev/null
ev b Z1 manufactured '{"model_id": "NMC-1"}'
q b -c "ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules" >/dev/null
ev a Z1 manufactured '{"model_id": "NMC-1"}'
resume a b; resume b a
converged
same_everywhere 6
for m in a b c; do
  check "6: $m: b's row came first in registry order, yet a made and holds Z1" \
    test "$(q $m -c "SELECT custodian FROM battledger.battery_state('gs1:01/09521234567899/21/Z1')")" = maker.example
  check "6: $m: b's row is named equivocation (foreign_namespace)" \
    test "$(q $m -c "SELECT string_agg(l.signer || ':' || l.effective || ':' || coalesce(c.problem || ':' || c.kind, '-'), ',' ORDER BY l.ledger_at)
                     FROM battledger.battery_lifecycle('gs1:01/09521234567899/21/Z1') l
                     LEFT JOIN battledger.registry_conflicts() c ON c.ledger_origin = l.ledger_origin AND c.ledger_seq = l.ledger_seq AND c.event = 'manufactured'
                                                              AND c.battery_id::text = 'gs1:01/09521234567899/21/Z1'")" \
         = "second.example:false:foreign_namespace:equivocation,maker.example:true:-"
done
check "6: b's registration for a's member counts for nothing and is named everywhere; its own is fine" \
  test "$(q c -c "SELECT string_agg(signer || ':' || problem || ':' || kind, ',' ORDER BY signer, problem) FROM battledger.registry_conflicts()
                   WHERE event = 'id_namespace' AND problem IN ('namespace_not_hosted', 'namespace_contested')")" \
       = "maker.example:namespace_not_hosted:equivocation"
exit $fail
