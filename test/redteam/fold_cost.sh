#!/usr/bin/env bash
# RED-TEAM (h7, issue 11 item 3): what the lifecycle fold costs each insert.
# The rules trigger runs battery_state() -- the whole fold of the battery's
# lifecycle events -- on every battery_event insert, usage reports included.
# One scratch cluster; a battery is handed back and forth 200 times (400
# lifecycle events); per-insert time of handovers and of usage reports is
# printed every 100 lifecycle events, against usage reports on a battery with
# 4 lifecycle events in the same run.  Prints figures; asserts nothing.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
bl_scratch
bl_start_cluster fold 55705 "$(bl_test_log_conf fold.example/log)"
createdb bl
psql -X -q -d bl -c "CREATE EXTENSION battledger" >/dev/null
sed -n '1,60p' "$BL_ROOT/sql/registry.sql" | psql -X -q -d bl >/dev/null
psql -X -q -d bl <<'SQL'
SET search_path = public, battledger, battledger_test;
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('Q')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah', 'occurred_at', '2024-03-01T00:00:00Z'));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('Q0')::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah', 'occurred_at', '2024-03-01T00:00:00Z'));
SELECT give(b, 'cells.test', 'oem.test'), ev('oem.test', jsonb_build_object('battery_id', b::text, 'event', 'placed_on_market', 'passport_id', 'urn:' || b::text, 'occurred_at', '2024-03-01T00:00:00Z')) FROM (VALUES (bid('Q')), (bid('Q0'))) v(b);
CREATE TABLE t(n int, what text, ms numeric);
-- baseline: 50 usage reports on a battery with 4 lifecycle events
DO $$ DECLARE t0 timestamptz; BEGIN
  t0 := clock_timestamp();
  FOR i IN 1..50 LOOP PERFORM ev('fleet.test', jsonb_build_object('battery_id', bid('Q0')::text, 'event', 'soh_reported', 'occurred_at', '2024-03-01T00:00:00Z', 'data', jsonb_build_object('i', i))); END LOOP;
  INSERT INTO t VALUES (4, 'soh_reported', extract(epoch from clock_timestamp() - t0) * 1000 / 50);
END $$;
-- ping-pong handovers cells.test <-> oem.test; measure per step
DO $$ DECLARE t0 timestamptz; h text := 'oem.test'; r text := 'cells.test'; x text; n int := 4; BEGIN
  FOR round IN 1..4 LOOP
    t0 := clock_timestamp();
    FOR i IN 1..50 LOOP
      PERFORM ev(h, jsonb_build_object('battery_id', bid('Q')::text, 'event', 'handover', 'data', jsonb_build_object('to', r, 'i', i, 'r', round), 'occurred_at', '2024-03-01T00:00:00Z'));
      PERFORM ev(r, jsonb_build_object('battery_id', bid('Q')::text, 'event', 'handover_accepted', 'data', jsonb_build_object('i', i, 'r', round), 'occurred_at', '2024-03-01T00:00:00Z'));
      x := h; h := r; r := x;
    END LOOP;
    n := n + 100;
    INSERT INTO t VALUES (n, 'handover+accept (per row, avg over last 100)', extract(epoch from clock_timestamp() - t0) * 1000 / 100);
    t0 := clock_timestamp();
    FOR i IN 1..20 LOOP PERFORM ev('fleet.test', jsonb_build_object('battery_id', bid('Q')::text, 'event', 'soh_reported', 'occurred_at', '2024-03-01T00:00:00Z', 'data', jsonb_build_object('i', i, 'r', round))); END LOOP;
    INSERT INTO t VALUES (n, 'soh_reported', extract(epoch from clock_timestamp() - t0) * 1000 / 20);
  END LOOP;
END $$;
SELECT n AS lifecycle_events, what, round(ms, 2) AS ms_per_insert FROM t ORDER BY n, what;
SQL
