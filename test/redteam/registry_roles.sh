#!/usr/bin/env bash
# RED-TEAM (h7, issue 11 item 3): the lifecycle fold judges every past event
# with its signer's CURRENT roles (_signer() reads the members view), so a
# later roles change rewrites a battery's history on every member that has
# received it (and members disagree while it travels), and names the honest
# signer of a past, valid event as an equivocator.  Not part of test/all.sh:
# it exits 1 while the finding holds.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
bl_start_cluster roles 55703 "$(bl_test_log_conf roles.example/log)"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
createdb bl
psql -X -q -d bl -c "CREATE EXTENSION battledger" >/dev/null
# the regression test's members, signing functions and give()
sed -n '1,52p' "$BL_ROOT/sql/registry.sql" | psql -X -q -d bl >/dev/null
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d bl -c "SET search_path = public, battledger, battledger_test" -c "$1"; }
q "SELECT ev('cells.test', jsonb_build_object('battery_id', bid('R')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah', 'occurred_at', '2024-03-01T00:00:00Z'));
   SELECT give(bid('R'), 'cells.test', 'oem.test');
   SELECT ev('oem.test', jsonb_build_object('battery_id', bid('R')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:R', 'occurred_at', '2024-03-01T00:00:00Z'));
   SELECT give(bid('R'), 'oem.test', 'recycler.test');
   SELECT ev('recycler.test', jsonb_build_object('battery_id', bid('R')::text, 'event', 'status_changed', 'new_status', 'waste', 'occurred_at', '2024-03-01T00:00:00Z'));
   SELECT ev('recycler.test', jsonb_build_object('battery_id', bid('R')::text, 'event', 'recycled', 'occurred_at', '2024-03-01T00:00:00Z'))" >/dev/null
state() { q "SELECT status || ':' || passport_id FROM battery_state(bid('R'))"; }
check "R is recycled" test "$(state)" = "recycled:urn:bp:R"
# years later the recycler stops recycling (it keeps collecting), the OEM becomes a fleet operator
q "SELECT set_member_roles('recycler.test', ARRAY['collector']), set_member_roles('oem.test', ARRAY['fleet_operator'])" >/dev/null
echo "   after the roles change: R = $(state); conflicts: $(q "SELECT string_agg(signer || ':' || event || ':' || problem || ':' || kind, ', ' ORDER BY ledger_seq) FROM registry_conflicts()")"
check "a later roles change leaves R's history as it was" test "$(state)" = "recycled:urn:bp:R"
check "and names no past event an equivocation" test "$(q "SELECT count(*) FROM registry_conflicts()")" = 0
exit $fail
