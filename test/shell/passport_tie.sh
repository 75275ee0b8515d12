#!/usr/bin/env bash
# Ties in registry order between two batteries (red team r11, T1): each
# battery's chain numbers its own rows, so one member's rows on two batteries
# can share (ledger_at, ledger_origin, ledger_seq).  Two members, a (the
# database's collation "C") and b (an ICU collation, en-US, where 'a' sorts
# before 'B' and C sorts 'B' first), must decide such ties alike:
#   1. a's superuser bypasses its rules and, in one statement, places two of
#      its batteries on the market with one passport id (T-B's row first):
#      on both members exactly one battery holds the id, the lower battery
#      id's (T-A), the other is a passport_taken conflict, and each cache
#      (b's folded on arrival, T-B's voided when T-A's row displaced it)
#      agrees with the whole fold;
#   2. a's superuser makes two packs claiming one cell in one statement
#      (PK-a, PK-B: their order as text differs between the two collations;
#      0.11.0 broke the tie by battery_id::text, so a and b confirmed
#      different packs): both confirm the same one, PK-B (byte order).
# Ports: TIE_PORT (default 55476) and the next one.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"

bl_scratch
W=$BL_WORK
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }

P=${TIE_PORT:-55476}
declare -A PORT=([a]=$P [b]=$((P + 1)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }

for m in a b; do
  bl_member_start "$m" "$W" "" "$BL_QUICK_RETRY"
done
# b's database under an ICU collation (the cluster's is C)
dropdb -h "$W" -p "${PORT[b]}" bl
createdb -h "$W" -p "${PORT[b]}" -T template0 --locale-provider=icu --icu-locale=en-US bl
for m in a b; do
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY: signs with seeds given in SQL
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT battledger.publish_member();
SQL
done
check "0: the two databases order these ids differently as text (a: C, b: en-US)" \
  test "$(q a -c "SELECT 'PK-B' < 'PK-a'")$(q b -c "SELECT 'PK-B' < 'PK-a'")" = tf
q a -c "SELECT battledger.add_member('maker.example', ARRAY['cell_maker', 'pack_maker']), battledger.add_key('maker.example', battledger_test.public_key(battledger_test.seed('maker-1')))" >/dev/null
q b -c "SELECT battledger.add_member('oem.example', ARRAY['oem']), battledger.add_key('oem.example', battledger_test.public_key(battledger_test.seed('oem-1')))" >/dev/null
for m in a b; do bl_member_keys "$m"; done
bl_join a b; bl_join b a
for m in a b; do bl_wait_for "$m" "SELECT count(*) = 2 FROM battledger.members"; done

bid_of() { echo "gs1:01/09521234567899/21/$1"; }
converged() { bl_wait_for b "SELECT count(*) = $(q a -c "SELECT count(*) FROM battledger.battery_event") FROM battledger.battery_event"; }
# what a member computes: every lifecycle verdict, every conflict, every claim
view() {
  q "$1" -c "SELECT string_agg(format('%s %s %s:%s %s %s', right(b.battery_id::text, 4), l.event, l.ledger_origin, l.ledger_seq,
                                      l.effective, l.passport_id), E'\n'
                               ORDER BY b.battery_id, l.ledger_at, l.ledger_origin, l.ledger_seq)
               FROM (SELECT DISTINCT battery_id FROM battledger.battery_event) b, battledger.battery_lifecycle(b.battery_id) l" \
         -c "SELECT string_agg(format('%s %s %s', right(battery_id::text, 4), problem, kind), E'\n' ORDER BY right(battery_id::text, 4) COLLATE \"C\", problem)
               FROM battledger.registry_conflicts()"
}

q a -c "SELECT model('maker-1', '{\"model_id\": \"NMC-1\", \"manufacturer\": \"maker.example\", \"category\": \"ev\",
                                  \"chemistry\": \"NMC\", \"rated_capacity_ah\": 2.0}')" >/dev/null
q a -c "SELECT ev('maker-1', jsonb_build_object('battery_id', '$(bid_of '')' || s, 'event', 'manufactured', 'model_id', 'NMC-1',
                                                'occurred_at', '2026-06-01T00:00:00Z')) FROM unnest(ARRAY['T-A', 'T-B', 'C-1']) s" >/dev/null

# --- 1. two of a's batteries issue one passport id at one registry key
q a >/dev/null <<SQL
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT ev('maker-1', jsonb_build_object('battery_id', '$(bid_of '')' || s, 'event', 'placed_on_market', 'passport_id', 'P-TIE',
                                        'occurred_at', '2026-06-02T00:00:00Z')) FROM unnest(ARRAY['T-B', 'T-A']) WITH ORDINALITY u(s, n) ORDER BY n;
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SQL
converged
check "1: the two issuing rows share one registry key" \
  test "$(q a -c "SELECT count(DISTINCT (ledger_at, ledger_origin, ledger_seq)) || '/' || count(*) FROM battledger.battery_event WHERE passport_id = 'P-TIE'")" = 1/2
for m in a b; do
  check "1: $m: T-A (the lower id) holds P-TIE, T-B does not" \
    test "$(q $m -c "SELECT coalesce((battledger.battery_state('$(bid_of T-A)')).passport_id, '-') || ',' || coalesce((battledger.battery_state('$(bid_of T-B)')).passport_id, '-')")" = "P-TIE,-"
  check "1: $m: T-B's row is a passport_taken conflict" \
    test "$(q $m -c "SELECT string_agg(right(battery_id::text, 3) || ':' || problem, ',') FROM battledger.registry_conflicts() WHERE battery_id::text ~ '/T-[AB]$'")" = "T-B:passport_taken"
  check "1: $m: cached states and battery_state() are the whole fold's" \
    test "$(q $m -c "SELECT count(*) FROM unnest(ARRAY['$(bid_of T-A)', '$(bid_of T-B)']::battledger.battery_id[]) b
                      WHERE (battledger._battery_state_cached(b)).passport_id IS DISTINCT FROM
                            (SELECT l.passport_id FROM battledger.battery_lifecycle(b) l ORDER BY l.ledger_at DESC, l.ledger_seq DESC LIMIT 1)
                         OR (battledger.battery_state(b)).passport_id IS DISTINCT FROM (battledger._battery_state_cached(b)).passport_id")" = 0
done
check "1: b recorded the holder's move for T-B alone (its cache voided, T-A's not)" \
  test "$(q b -c "SELECT string_agg(right(battery_id::text, 3), ',') FROM battledger.passport_holder_moved WHERE passport_id = 'P-TIE'")" = T-B

# --- 2. two packs claim one cell at one registry key
q a >/dev/null <<SQL
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT ev('maker-1', jsonb_build_object('battery_id', '$(bid_of '')' || s, 'event', 'manufactured', 'model_id', 'NMC-1',
                                        'data', jsonb_build_object('components', jsonb_build_array('$(bid_of C-1)')),
                                        'occurred_at', '2026-06-03T00:00:00Z')) FROM unnest(ARRAY['PK-a', 'PK-B']) s;
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SQL
converged
for m in a b; do
  check "2: $m: PK-B's claim on C-1 is confirmed, PK-a's is not" \
    test "$(q $m -c "SELECT string_agg(right(p, 4) || ':' || c.confirmed, ',' ORDER BY right(p, 4) COLLATE \"C\")
                     FROM unnest(ARRAY['$(bid_of PK-a)', '$(bid_of PK-B)']) p, battledger._second_life_claims(p::battledger.battery_id) c")" = "PK-B:true,PK-a:false"
done
check "2: a and b judge every row alike" test "$(view a)" = "$(view b)"
for m in a b; do
  check "2: $m: verify() clean, the subscription ok" \
    test "$(q "$m" -c "SELECT count(*) FROM battledger.verify('battledger.battery_event')"):$(q "$m" -c "SELECT string_agg(state, ',') FROM battledger.consortium_status()")" = "0:ok"
done
exit $fail
