#!/usr/bin/env bash
# A consortium updated one member at a time (docs/consortium.md, "Updating
# the members one at a time").  Three members a, b, c start on the previous
# release's own binaries (the last of test/lib/release.sh's BL_RELEASES, built
# from its commit), join each other, write registry rows under custody
# handovers and seal; then a, b and c in turn stop, restart on this tree's
# binaries and run ALTER EXTENSION battledger UPDATE, while the others keep
# writing.  After each step, on every member:
#   - the rows written since, by updated and not-yet-updated members alike,
#     arrive and are verified (no apply error, nothing refused);
#   - each log's latest checkpoint is cosigned by both other witnesses, the
#     updated member's by the old ones and the old members' by the updated;
#   - consortium_status() says ok for both peers, verify_member() finds
#     nothing, registry_conflicts() is empty;
#   - the batteries' states and passports are the same on every member,
#     whatever version it runs.
# At the end every member runs this version, holds the same rows, and
# verify() and verify_log(true) are clean.  A release whose arrival check,
# cosignature or replicated tables changed in a way an older member cannot
# follow fails here (a wait times out, naming it), before it reaches
# operators.  Ports ROLLING_PORT (55521) and the next two.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/release.sh"

bl_scratch
W=$BL_WORK/rolling; mkdir -p "$W"; chmod 755 "$W"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }

read -r OLD_VERSION OLD_COMMIT OLD_DIR <<<"${BL_RELEASES[${#BL_RELEASES[@]} - 1]}"
NEW_VERSION=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$BL_ROOT/battledger.control")
# ROLLING_OLD_BUILD: a directory where bl_build_release built that release
# already (to run this again without building it again)
OLD=${ROLLING_OLD_BUILD:-$BL_WORK/$OLD_DIR}
NEW_BIN=$PG_BIN
OLD_BIN=$OLD/usr/lib/postgresql/15/bin
if [ -z "${ROLLING_OLD_BUILD:-}" ]; then
  say "building $OLD_VERSION from its release commit $OLD_COMMIT"
  bl_build_release "$OLD_VERSION" "$OLD_COMMIT" "$OLD"
fi

P=${ROLLING_PORT:-55521}
declare -A PORT=([a]=$P [b]=$((P + 1)) [c]=$((P + 2)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [c]=c.example/log)
declare -A HOSTS=([a]=cells.test [b]=oem.test [c]=fleet.test)
declare -A ROLES=([a]='{cell_maker,pack_maker}' [b]='{oem}' [c]='{fleet_operator}')
declare -A LOGV WITV
declare -A VERSION=([a]=$OLD_VERSION [b]=$OLD_VERSION [c]=$OLD_VERSION)
q() { bl_mq "$@"; }
bl_on_timeout() {
  local o
  for o in a b c; do
    echo "-- $o (${VERSION[$o]}): status, subscriptions"
    q "$o" -c "SELECT member, state, detail FROM battledger.consortium_status()" \
           -c "SELECT subname, subenabled FROM pg_subscription" || true
  done
}

say "three members on $OLD_VERSION's binaries"
for m in a b c; do
  PG_BIN=$OLD_BIN bl_member_start "$m" "$W" witness "$BL_QUICK_RETRY"
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY: signs with seeds given in SQL
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT battledger.publish_member();
SQL
  q "$m" -v h="${HOSTS[$m]}" -v r="${ROLES[$m]}" >/dev/null <<'SQL'
SELECT battledger.add_member(:'h', :'r'), battledger.add_key(:'h', battledger_test.public_key(battledger_test.seed(:'h')));
SQL
done
check "the members start on $OLD_VERSION" \
  test "$(for m in a b c; do q "$m" -c "SELECT extversion FROM pg_extension WHERE extname = 'battledger'"; done | sort -u)" = "$OLD_VERSION"
q a -c "SELECT battledger.add_id_namespace('cells.test', 'gs1:0952123')" >/dev/null
for m in a b c; do bl_member_keys "$m" witness; done
for m in a b c; do
  for o in a b c; do [ "$m" = "$o" ] || bl_join "$m" "$o"; done
done
for m in a b c; do
  bl_wait_for "$m" "SELECT coalesce(bool_and(r.srsubstate = 'r'), true) FROM pg_subscription_rel r
                      JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
done

bid() { echo "gs1:01/09521234567899/21/$1"; }
# made W: cells.test makes battery W, places it on the market and hands it to oem.test
made() {
  q a -v b="$(bid "$1")" -v p="urn:bp:$1:1" >/dev/null <<'SQL'
SELECT ev('cells.test', jsonb_build_object('battery_id', :'b', 'event', 'manufactured', 'model_id', 'NMC-1', 'occurred_at', '2025-01-01T00:00:00Z')),
       ev('cells.test', jsonb_build_object('battery_id', :'b', 'event', 'placed_on_market', 'passport_id', :'p', 'occurred_at', '2025-02-01T00:00:00Z')),
       ev('cells.test', jsonb_build_object('battery_id', :'b', 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb, 'occurred_at', '2025-02-02T00:00:00Z'));
SQL
}
# accepted M HOST W DAY: HOST at member M accepts battery W, handed to it, on 2025-DAY
accepted() {
  local m=$1 host=$2 b day=$4; b=$(bid "$3")
  bl_wait_for "$m" "SELECT EXISTS (SELECT FROM battledger.battery_event WHERE battery_id OPERATOR(battledger.=) '$b'::battledger.battery_id
                                     AND event = 'handover' AND data->>'to' = '$host')"
  q "$m" -v h="$host" -v b="$b" -v at="2025-${day}T00:00:00Z" >/dev/null <<'SQL'
SELECT ev(:'h', jsonb_build_object('battery_id', :'b', 'event', 'handover_accepted', 'occurred_at', :'at'));
SQL
}
# handed M HOST W TO: HOST at member M hands battery W on to TO
handed() {
  q "$1" -v h="$2" -v b="$(bid "$3")" -v t="$4" >/dev/null <<'SQL'
SELECT ev(:'h', jsonb_build_object('battery_id', :'b', 'event', 'handover', 'data', jsonb_build_object('to', :'t'), 'occurred_at', '2025-03-02T00:00:00Z'));
SQL
}
installed() {
  q c -v b="$(bid "$1")" >/dev/null <<'SQL'
SELECT ev('fleet.test', jsonb_build_object('battery_id', :'b', 'event', 'installed', 'occurred_at', '2025-04-01T00:00:00Z'));
SQL
}

rows() { q "$1" -c "SELECT count(*) FROM battledger.battery_event"; }
# what every member must agree on: the rows, each battery's state and its passport
agreed() {
  q "$1" -c "SELECT md5(string_agg(ledger_hash::text, ',' ORDER BY ledger_hash::text)) FROM battledger.battery_event" \
         -c "SELECT string_agg(e.battery_id::text || ':' || s.status || ':' || coalesce(s.passport_id, '-') || ':' || coalesce(s.custodian, '-')
                               || ':' || md5(battledger.passport(e.battery_id, 'legitimate_interest')::text), ',' ORDER BY e.battery_id::text)
               FROM (SELECT DISTINCT battery_id FROM battledger.battery_event) e, battledger.battery_state(e.battery_id) s"
}
# step NAME EXPECTED_ROWS: every member sealed; the rows, the latest
# checkpoints and their cosignatures everywhere; the statuses, verdicts and
# states checked and compared
step() {
  local name=$1 n=$2 m o ref
  for m in a b c; do q "$m" -c "SELECT battledger.seal()" >/dev/null; done
  for m in a b c; do
    check "$name: $m (${VERSION[$m]}) holds every member's rows" bl_wait_for "$m" "SELECT count(*) = $n FROM battledger.battery_event" 900
    for o in a b c; do
      [ "$m" = "$o" ] && continue
      check "$name: $m (${VERSION[$m]}) verified $o's (${VERSION[$o]}) latest checkpoint" \
        bl_wait_for "$m" "SELECT EXISTS (SELECT FROM battledger.peer_checkpoint WHERE origin = '${ORIGIN[$o]}'
                                          AND tree_size = $(q "$o" -c "SELECT max(tree_size) FROM battledger.checkpoint"))" 900
    done
  done
  for m in a b c; do
    check "$name: $m's (${VERSION[$m]}) latest checkpoint is cosigned by both other members" \
      bl_wait_for "$m" "SELECT count(*) = 2 FROM battledger.cosignature
                         WHERE log_origin = current_setting('battledger.origin')
                           AND tree_size = (SELECT max(tree_size) FROM battledger.checkpoint)" 900
  done
  for m in a b c; do
    check "$name: $m (${VERSION[$m]}) says ok for both peers" \
      bl_wait_for "$m" "SELECT count(*) = 2 AND bool_and(state = 'ok') FROM battledger.consortium_status()" 900
    check "$name: $m (${VERSION[$m]}): verify_member() of both peers, registry_conflicts(), verify() clean" \
      test "$(q "$m" -c "SELECT (SELECT count(*) FROM battledger.consortium_member c, battledger.verify_member(c.origin))
                             + (SELECT count(*) FROM battledger.registry_conflicts())
                             + (SELECT count(*) FROM battledger.verify('battledger.battery_event'))
                             + (SELECT count(*) FROM battledger.rejections)")" = 0
  done
  ref=$(agreed a)
  for m in b c; do
    check "$name: $m (${VERSION[$m]}) agrees with a (${VERSION[a]}): rows, states, passports" test "$(agreed "$m")" = "$ref"
  done
}
# update M: M stops, restarts on this tree's binaries and updates the extension
update() {
  local m=$1
  as_pg "$OLD_BIN/pg_ctl" -D "$BL_WORK/$m" -m fast -w stop >/dev/null
  as_pg "$NEW_BIN/pg_ctl" -D "$BL_WORK/$m" -l "$BL_WORK/$m.log" -w start >/dev/null
  q "$m" -c "ALTER EXTENSION battledger UPDATE" >/dev/null
  VERSION[$m]=$(q "$m" -c "SELECT extversion FROM pg_extension WHERE extname = 'battledger'")
  check "$m runs $NEW_VERSION after its update" test "${VERSION[$m]}" = "$NEW_VERSION"
}

say "0. every member on $OLD_VERSION"
q a -c "SELECT model('cells.test', '{\"model_id\": \"NMC-1\", \"manufacturer\": \"cells.test\", \"category\": \"ev\", \"chemistry\": \"NMC\", \"rated_capacity_ah\": 2.0}')" >/dev/null
made W1
accepted b oem.test W1 02-03
step "0 (all on $OLD_VERSION)" 4

say "1. a updated; b and c still on $OLD_VERSION"
update a
made W2                       # the updated member writes
accepted b oem.test W2 02-03  # an old member accepts what it wrote
handed b oem.test W1 fleet.test
accepted c fleet.test W1 03-03  # old to old, while a watches
installed W1
step "1 (a on $NEW_VERSION)" 11

say "2. b updated; c still on $OLD_VERSION"
update b
made W3
accepted b oem.test W3 02-03
handed b oem.test W2 fleet.test
accepted c fleet.test W2 03-03  # the old member accepts from an updated one
installed W2
step "2 (a, b on $NEW_VERSION)" 18

say "3. c updated: every member on $NEW_VERSION"
update c
handed b oem.test W3 fleet.test
accepted c fleet.test W3 03-03
installed W3
step "3 (all on $NEW_VERSION)" 21
for m in a b c; do
  check "$m: verify_log(true) clean" test "$(q "$m" -c "SELECT count(*) FROM battledger.verify_log(true)")" = 0
done
exit $fail
