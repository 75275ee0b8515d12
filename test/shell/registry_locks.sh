#!/usr/bin/env bash
# Writers of one battery take turns, and only they can take the turn (red
# team F9).  The registry's rules decide on the latest committed state of a
# battery, so its writers are serialised; up to 0.4.0 by an advisory lock,
# which any role may take: a plain role holding it in an open transaction
# stalled every writer of that battery.  Now the turn is a row lock in a
# table only the rule triggers can lock.
#   1. a plain role holding the old advisory lock, or trying the new one,
#      does not stall a member's writer;
#   2. two writers of one battery still take turns: the second waits for the
#      first to commit and is judged on what it committed.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster locks 55465 "$(bl_test_log_conf locks.test/log)"
createdb reg
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d reg "$@"; }
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }

q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
SELECT battledger.add_member(m, r), battledger.add_key(m, battledger_test.public_key(battledger_test.seed(m)))
  FROM (VALUES ('cells.test', ARRAY['cell_maker', 'pack_maker', 'oem', 'recycler', 'collector'])) v(m, r);
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT public.model('cells.test', '{"model_id": "NMC-1", "manufacturer": "cells.test", "category": "ev", "chemistry": "NMC", "rated_capacity_ah": 2.0}');
SELECT public.ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/L1", "event": "manufactured", "model_id": "NMC-1", "occurred_at": "2026-01-01T00:00:00Z"}');
CREATE ROLE mallory LOGIN;
GRANT EXECUTE ON FUNCTION battledger_test.seed(text), battledger_test.sign(bytea, bytea) TO mallory;
SQL
B=gs1:01/09521234567899/21/L1

# --- 1. mallory (a plain role) holds the advisory lock 0.4.0 used, for 20 s
q -U mallory -c "BEGIN" -c "SELECT pg_advisory_xact_lock(-1108, hashtext('battery:$B'))" -c "SELECT pg_sleep(20)" -c "COMMIT" >/dev/null 2>&1 &
holder=$!
sleep 1
out=$(q -U mallory -c "SELECT battledger._lock_subject('battery', '$B')" 2>&1 || true)
check "1: a plain role may not take a battery's turn" grep -q 'permission denied for function _lock_subject' <<<"$out"
out=$(q -U mallory -c "SELECT * FROM battledger.subject_lock FOR UPDATE" 2>&1 || true)
check "1: nor lock the turns' table" grep -q 'permission denied for table subject_lock' <<<"$out"
out=$(q -c "SET statement_timeout = '5s'" \
       -c "SELECT public.ev('cells.test', '{\"battery_id\": \"$B\", \"event\": \"placed_on_market\", \"passport_id\": \"urn:bp:L1:1\", \"occurred_at\": \"2026-01-02T00:00:00Z\"}')" 2>&1 && echo written || true)
check "1: the member's writer is not stalled by the plain role's lock (5 s timeout)" grep -q written <<<"$out"
kill "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true

# --- 2. two writers of one battery: the second waits for the first's commit
#        and sees it: the first declares the battery waste; the second, which
#        would re-use it from "original", is judged on "waste" (allowed too)
q -c "BEGIN" \
  -c "SELECT public.ev('cells.test', '{\"battery_id\": \"$B\", \"event\": \"status_changed\", \"new_status\": \"waste\", \"occurred_at\": \"2026-01-03T00:00:00Z\"}')" \
  -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null &
first=$!
sleep 1
t0=$(date +%s.%N)
out=$(q -c "SELECT public.ev('cells.test', '{\"battery_id\": \"$B\", \"event\": \"recycled\", \"occurred_at\": \"2026-01-04T00:00:00Z\"}')" 2>&1 && echo written || true)
t1=$(date +%s.%N)
wait "$first"
check "2: the second writer waited for the first (≥ 1.5 s)" awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 1.5) }'
check "2: and was judged on the first's commit: a waste battery may be recycled" grep -q written <<<"$out"
check "2: the battery is recycled, with no conflict" \
  test "$(q -c "SELECT status FROM battledger.battery_state('$B')"):$(q -c "SELECT count(*) FROM battledger.registry_conflicts()")" = recycled:0
exit $fail
