#!/usr/bin/env bash
# A usage report and its disclosure written by two concurrent transactions
# (87_usage_state.sql): the triggers fold the report into _usage_state when
# the second of them finds the first's row.  Under REPEATABLE READ the
# second's snapshot can predate the first's commit; then neither finds the
# other and the report stays unfolded (usage_state_check() names it).
# Ordered here, not raced: session A takes its snapshot, session B (dblink)
# writes and commits the other row, then A writes its row.  Both orders
# (report first, disclosure first) at REPEATABLE READ, READ COMMITTED and
# SERIALIZABLE (a report is refused at any level but READ COMMITTED,
# BL039, so only a disclosure's snapshot can be older than its report):
# since 0.24.0 such a disclosure fails with a serialization failure, and
# its retry folds the report.  (Not covered: B's transaction still open
# while A writes; A then waits on the advisory lock, and B's commit comes
# after A's snapshot just the same.)
# USAGE_RR_PORT (default 55892).  Case 7: a report applied at REPEATABLE READ;
# 8 and 9: a disclosure erased while its report is written.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster ur "${USAGE_RR_PORT:-55892}" "$(bl_test_log_conf battledger.test/ur)"
fail=0
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then echo "ok   - $what"; else echo "FAIL - $what: got '$got', want '$want'"; fail=1; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d ur "$@"; }
createdb ur
q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
CREATE EXTENSION dblink;
ALTER DATABASE ur SET search_path = public, battledger, battledger_test;
SET search_path = public, battledger, battledger_test;
SELECT add_member(m, r), add_key(m, public_key(seed(m)))
  FROM (VALUES ('cells.test', ARRAY['cell_maker']), ('oem.test', ARRAY['oem']), ('fleet.test', ARRAY['fleet_operator'])) v(m, r);
CREATE FUNCTION ev(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, j || jsonb_build_object('ledger_key_id', key_id(public_key(seed(m)))::text));
BEGIN r.ledger_sig := sign(seed(m), signing_bytes(r)); INSERT INTO battledger.battery_event SELECT r.*; END $$;
CREATE FUNCTION model(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_model := jsonb_populate_record(NULL::battledger.battery_model, j || jsonb_build_object('ledger_key_id', key_id(public_key(seed(m)))::text));
BEGIN r.ledger_sig := sign(seed(m), signing_bytes(r)); INSERT INTO battledger.battery_model SELECT r.*; END $$;
CREATE FUNCTION bid(serial text) RETURNS battery_id LANGUAGE sql AS $$
    SELECT ('https://id.gs1.org/01/09521234567899/21/' || serial)::battery_id $$;
-- report n of battery RR-1: its value, salt and commitment
CREATE FUNCTION val(n int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('soh_pct', 100 - n, 'cycle', jsonb_build_object('type', 'discharge', 'wh', 3, 'ah', 1, 'capacity_ah', 2)) $$;
CREATE FUNCTION salt(n int) RETURNS bytea LANGUAGE sql AS $$ SELECT sha256(convert_to('RR-1:' || n, 'UTF8')) $$;  -- TEST ONLY
CREATE FUNCTION report(n int) RETURNS void LANGUAGE sql AS $$
    SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('RR-1')::text, 'event', 'soh_reported',
              'occurred_at', '2024-03-01T00:00:00Z'::timestamptz + n * interval '1 hour', 'restricted', commitment(salt(n), val(n))::text)) $$;
CREATE FUNCTION nothing(n int) RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE FUNCTION disclose(n int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO battledger.disclosure VALUES (commitment(salt(n), val(n)), 'legitimate_interest', salt(n), val(n)) $$;
CREATE FUNCTION erase(n int) RETURNS void LANGUAGE sql AS $$
    SELECT battledger.erase_disclosure(commitment(salt(n), val(n))) $$;
SELECT model('cells.test', jsonb_build_object('model_id', 'RR-CELL', 'manufacturer', 'cells.test', 'category', 'ev', 'chemistry', 'NMC', 'rated_capacity_ah', 2,
             'rated_energy_kwh', 0.0074, 'nominal_voltage_v', 3.7, 'min_voltage_v', 2.5, 'max_voltage_v', 4.2));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('RR-1')::text, 'event', 'manufactured', 'model_id', 'RR-CELL',
          'occurred_at', '2024-01-15T00:00:00Z'));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('RR-1')::text, 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb,
          'occurred_at', '2024-01-20T00:00:00Z')),
       ev('oem.test', jsonb_build_object('battery_id', bid('RR-1')::text, 'event', 'handover_accepted', 'occurred_at', '2024-01-20T00:00:00Z')),
       ev('oem.test', jsonb_build_object('battery_id', bid('RR-1')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:RR-1:1',
          'occurred_at', '2024-02-01T00:00:00Z'));
SQL
B="dbname=ur host=$BL_WORK port=$PGPORT user=postgres"
# unfolded: the reports usage_state_check() names
unfolded() { q -c "SELECT count(*) FROM battledger.usage_state_check()"; }
# run N ISO FIRST SECOND: A (isolation ISO) takes its snapshot; B writes
# FIRST(N) and commits; A writes SECOND(N) and commits.  Prints A's outcome
# (ok, or the SQLSTATE it failed with); a failed A is retried once, as an
# application retries a serialization failure.
run() {
  local n=$1 iso=$2 first=$3 second=$4 out
  out=$(psql -X -q -At -d ur -v ON_ERROR_STOP=1 -c "\\set VERBOSITY sqlstate" -f - 2>&1 <<SQL
BEGIN ISOLATION LEVEL $iso;
SELECT count(*) FROM battledger.battery_event;
SELECT x FROM dblink('$B', 'SELECT $first($n)::text') AS t(x text);
SELECT $second($n);
COMMIT;
SQL
  ) && echo ok || { echo "$out" | sed -n 's/.*ERROR:  //p' | head -1; }
}
retry() { q -c "SELECT $1($2)" >/dev/null; }

check "RR-1 made, nothing unfolded" "$(unfolded)" 0
# 1. report first (B, READ COMMITTED), disclosure (A, REPEATABLE READ):
# before 0.24.0 A committed and the report stayed unfolded
check "REPEATABLE READ disclosure, its report committed after A's snapshot: A fails, a serialization failure" \
  "$(run 1 'REPEATABLE READ' report disclose)" 40001
check "nothing half-folded meanwhile" "$(unfolded)" 0
got=$(run 1 'REPEATABLE READ' nothing disclose)
check "A retried (a new snapshot): commits" "$got" ok
check "REPEATABLE READ: folded (usage_state_check() clean)" "$(unfolded)" 0
# 2. disclosure first (B), report (A, REPEATABLE READ): reports are
# written at READ COMMITTED only (BL039), so this order cannot race
check "REPEATABLE READ report refused (BL039)" "$(run 2 'REPEATABLE READ' disclose report)" BL039
retry report 2
check "the report at READ COMMITTED: folded" "$(unfolded)" 0
# 3. and 4. READ COMMITTED: folded without a retry
check "READ COMMITTED, report first: A commits" "$(run 3 'READ COMMITTED' report disclose)" ok
check "READ COMMITTED, disclosure first: A commits" "$(run 4 'READ COMMITTED' disclose report)" ok
check "READ COMMITTED: folded" "$(unfolded)" 0
# 5. SERIALIZABLE disclosure: a serialization failure too; retried, folded
check "SERIALIZABLE disclosure, its report committed after A's snapshot: a serialization failure" \
  "$(run 5 'SERIALIZABLE' report disclose)" 40001
check "A retried: commits" "$(run 5 'SERIALIZABLE' nothing disclose)" ok
check "SERIALIZABLE: folded" "$(unfolded)" 0
# 6. a disclosure with no report at REPEATABLE READ is no race: it commits
check "REPEATABLE READ disclosure with no report yet: commits" "$(run 6 'REPEATABLE READ' nothing disclose)" ok
retry report 6
check "its report later: folded" "$(unfolded)" 0
# 7. a report applied at REPEATABLE READ: the apply worker runs at the
# level default_transaction_isolation gives it (postgresql.conf or ALTER
# DATABASE), and the rules that refuse a report at that level (BL039) do not
# run there.  A (REPEATABLE READ) stores report 7 as the apply worker
# stores another member's row (replica mode; the arrival check, which needs
# the row to come from another origin, off behind the guards) after B
# disclosed it: B's trigger found no report to fold, A's snapshot finds no
# disclosure.  Until 0.25.0 the report stayed unfolded; now A reads the
# disclosure with the latest snapshot.  The row is report(7) as its writer
# made it, in a transaction rolled back.
row=$(q -c "BEGIN" -c "SELECT report(7)" -c "SELECT to_jsonb(e) FROM battledger.battery_event e WHERE e.restricted = commitment(salt(7), val(7))" -c "ROLLBACK" | grep '^{')
apply_rr() {
  psql -X -q -At -d ur -v ON_ERROR_STOP=1 -v row="$row" -c "\\set VERBOSITY sqlstate" -f - 2>&1 <<SQL && echo ok
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM battledger.battery_event;
SELECT x FROM dblink('$B', 'SELECT disclose(7)::text') AS t(x text);
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.battery_event DISABLE TRIGGER zz_battledger_arrive;
SET LOCAL session_replication_role = replica;
INSERT INTO battledger.battery_event SELECT * FROM jsonb_populate_record(NULL::battledger.battery_event, :'row');
ALTER TABLE battledger.battery_event ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
}
check "report 7 captured as its writer made it" "$(q -v row="$row" <<<"SELECT :'row'::jsonb ->> 'event'")" soh_reported
check "a report applied at REPEATABLE READ after its disclosure committed past the snapshot: stored" "$(apply_rr | tail -1)" ok
check "... and folded (usage_state_check() clean)" "$(unfolded)" 0
check "the arrival check is as installed again (ENABLE REPLICA)" \
  "$(q -c "SELECT tgenabled FROM pg_trigger WHERE tgrelid = 'battledger.battery_event'::regclass AND tgname = 'zz_battledger_arrive'")" R
check "every report folded: 7 reports counted in RR-1's state" \
  "$(q -c "SELECT n FROM battledger._usage_state WHERE battery_id = bid('RR-1')")" 7
# 8. a disclosure erased (erase_disclosure()) at REPEATABLE READ, its
# report committed after A's snapshot (B): the erasure's trigger recomputes
# the batteries of the reports it sees, not that one, which keeps counting
# the erased values.  Since 0.25.0 a serialization failure; the retry
# recomputes it.
retry disclose 8
check "REPEATABLE READ erasure, its report committed after A's snapshot: a serialization failure" \
  "$(run 8 'REPEATABLE READ' report erase)" 40001
check "A retried: commits" "$(run 8 'REPEATABLE READ' nothing erase)" ok
check "the erased values count nowhere (usage_state_check() clean)" "$(unfolded)" 0
# 9. a disclosure being erased (A, READ COMMITTED, not committed yet) while
# its report is written (B): until 0.25.0 the report read the disclosure,
# still there for it, and folded it, and the erasure's trigger had run
# before the report existed: the erased values counted.  The erasure now
# holds the commitment's turn: the report waits for it (here until B's
# statement_timeout, 2 s), then finds nothing to fold.
retry disclose 9
b9=$(psql -X -q -At -d ur -v ON_ERROR_STOP=1 -f - 2>&1 <<SQL
BEGIN;
SELECT erase(9);
SELECT 'report written: ' || count(*) FROM dblink('$B options=-cstatement_timeout=2000', 'SELECT report(9)::text', false) AS t(x text);
COMMIT;
SQL
)
check "a report written while its disclosure is being erased waits for the erasure's turn" \
  "$(grep -o 'report written: [0-9]*' <<<"$b9")" "report written: 0"
retry report 9
check "... and, written after it, counts no erased values (usage_state_check() clean)" "$(unfolded)" 0
[ "${USAGE_RR_DEBUG:-}" ] && q -c "SELECT event, count(*) FROM battledger.battery_event GROUP BY 1" -c "SELECT tier, count(*) FROM battledger.disclosure GROUP BY 1" -c "SELECT * FROM battledger.usage_state_check()"
exit $fail
