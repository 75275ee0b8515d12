#!/usr/bin/env bash
# The battery-state cache on the apply path (zz_battledger_fold_arrived,
# docs/security.md "A member's rows dated back and forth"): lifecycle rows of
# other members arrive as the apply worker stores them (replica mode, their
# own chain fields; the arrival check, which needs each member's real
# signatures, switched off behind the guards) and the cache must
#   1. fold a battery whole on arrival only once it has grown by a quarter
#      since its last whole fold: 600 rows dated alternately before and after
#      the cache's horizon (red team r9, F1) fold whole at most 40 times, and
#      cost at most 3x the CPU per row of 600 rows in date order (0.9.0: a
#      whole fold every second row, 8.2 against 0.70 ms a row);
#   2. still give, wherever it is read, the state the whole fold gives;
#   3. be folded whole at once when an honest row arrives dated a little
#      before another member's last one, on a battery whose rows were
#      folded on since its last whole fold (a reader then needs no whole fold).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; else echo "FAIL - $what"; fail=1; fi; }

bl_scratch
bl_start_cluster fold 56141 "$(bl_test_log_conf fold.test/log)"
createdb fold
q() { timeout 300 psql -X -q -At -v ON_ERROR_STOP=1 -d fold "$@"; }
q -c "CREATE EXTENSION battledger" -c "ALTER DATABASE fold SET search_path = public, battledger, battledger_test" >/dev/null
# the members, the model and the signed writers of sql/registry.sql (TEST ONLY)
sed -n '1,52p' "$BL_ROOT/sql/registry.sql" | q >/dev/null

q <<'SQL' >/dev/null
SET search_path = public, battledger, battledger_test;
SELECT count(*) FROM (SELECT ev('cells.test', jsonb_build_object('battery_id', bid(b)::text, 'event', 'manufactured',
                                'model_id', 'NMC-18650-2Ah', 'occurred_at', '2024-03-01T00:00:00Z'))
                        FROM unnest(ARRAY['M', 'A', 'H']) b) x;
-- arrive(b, n, mode): n status rows of another member on battery b, stored as
-- the apply worker stores them; mode 'alternate' dates every second one in
-- 2020 (before the cache's horizon), 'back' dates the last one a second
-- before the one it follows.  Returns the wall time per row (ms) and how
-- many times the cache was folded whole (whole_n moved).
CREATE FUNCTION public.arrive(b text, n int, mode text, OUT ms numeric, OUT whole int)
    LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp(); r battledger.battery_event; w bigint; w0 bigint;
        s0 bigint := coalesce((SELECT max(ledger_seq) FROM battledger.battery_event WHERE ledger_origin = 'other.test/log'), 0);
BEGIN
  whole := 0;
  SELECT f.whole_n INTO w0 FROM battledger.battery_fold_cache f WHERE f.battery_id = public.bid(b);
  SELECT * INTO r FROM battledger.battery_event WHERE battery_id = public.bid(b) AND event = 'manufactured';
  FOR k IN 1..n LOOP
    r.event := 'status_changed'; r.new_status := 'in_use'; r.model_id := NULL; r.ledger_sig := NULL;
    r.ledger_origin := 'other.test/log'; r.ledger_seq := s0 + k;
    r.ledger_at := CASE WHEN mode = 'alternate' AND k % 2 = 0 THEN timestamptz '2020-01-01' + k * interval '1 s'
                        WHEN mode = 'back' AND k = n THEN r.ledger_at - interval '1 s'
                        ELSE now() + (s0 + k) * interval '1 min' END;
    INSERT INTO battledger.battery_event SELECT r.*;
    SELECT f.whole_n INTO w FROM battledger.battery_fold_cache f WHERE f.battery_id = public.bid(b);
    IF w IS DISTINCT FROM w0 THEN whole := whole + 1; w0 := w; END IF;
  END LOOP;
  ms := extract(epoch FROM clock_timestamp() - t0) * 1000 / n;
END $$;
SQL

# as the apply worker stores them: replica mode, the arrival check off
arrive() {
  q <<SQL
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.battery_event DISABLE TRIGGER zz_battledger_arrive;
SET LOCAL session_replication_role = replica;
SELECT round(ms, 3) || ' ' || whole FROM public.arrive('$1', $2, '$3');
ALTER TABLE battledger.battery_event ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
}
# the state as the cache holds it, and as the whole fold gives it (the
# cache row emptied in a transaction rolled back)
state_cached() { q -c "SELECT (battledger._battery_fold_cached(public.bid('$1'))).st::text"; }
state_whole() {
  q -c "BEGIN" -c "DELETE FROM battledger.battery_fold_cache WHERE battery_id = public.bid('$1')" \
    -c "SELECT (battledger._battery_fold_cached(public.bid('$1'))).st::text" -c "ROLLBACK"
}

# --- 1. rows dated back and forth
read -r mono_ms mono_whole <<<"$(arrive M 600 monotone)"
read -r alt_ms alt_whole <<<"$(arrive A 600 alternate)"
echo "# 600 arriving rows: in date order $mono_ms ms a row, $mono_whole whole folds; alternating $alt_ms ms a row, $alt_whole whole folds"
check "rows in date order fold on from the cache (at most 1 whole fold)" test "$mono_whole" -le 1
check "rows dated back and forth fold the battery whole at most 40 times in 600 ($alt_whole)" test "$alt_whole" -le 40
check "... and cost at most 3x the rows in date order ($alt_ms vs $mono_ms ms a row)" \
  awk -v m="$mono_ms" -v a="$alt_ms" 'BEGIN { exit !(a <= 3 * m) }'

# --- 2. the same state as the whole fold, read from the cache or folded
for b in M A; do
  check "battery $b: the cache's state is the whole fold's ($(state_whole $b))" test "$(state_cached $b)" = "$(state_whole $b)"
  check "battery $b: battery_state() is the whole fold's" \
    test "$(q -c "SELECT battledger.battery_state(public.bid('$b'))::text")" = \
         "$(q -c "BEGIN" -c "DELETE FROM battledger.battery_fold_cache WHERE battery_id = public.bid('$b')" \
              -c "SELECT battledger.battery_state(public.bid('$b'))::text" -c "ROLLBACK")"
done

# --- 3. an honest row dated a second before the one it follows
read -r _ h_whole <<<"$(arrive H 40 monotone)"
check "40 rows in date order: no whole fold after the first ($h_whole)" test "$h_whole" -le 1
read -r _ h_whole <<<"$(arrive H 1 back)"
check "a row dated before the cache's horizon: the battery is folded whole at once" test "$h_whole" = 1
check "... and the cache holds every lifecycle row (a reader folds nothing whole)" \
  test "$(q -c "SELECT c.n = (SELECT count(*) FROM battledger.battery_event e WHERE e.battery_id = public.bid('H') AND e.event IN ('manufactured', 'status_changed')) AND c.whole_n = c.n FROM battledger.battery_fold_cache c WHERE c.battery_id = public.bid('H')")" = t
check "... with the whole fold's state" test "$(state_cached H)" = "$(state_whole H)"
check "the arrival check is as installed again (ENABLE REPLICA)" \
  test "$(q -c "SELECT tgenabled FROM pg_trigger WHERE tgrelid = 'battledger.battery_event'::regclass AND tgname = 'zz_battledger_arrive'")" = R

exit $fail
