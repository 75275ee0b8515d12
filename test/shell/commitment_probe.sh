#!/usr/bin/env bash
# The usage triggers' probes of a commitment's rows (87_usage_state.sql)
# read a bounded number of index entries per row whatever the planner
# settings of the session or role writing the rows, and the statistics.
# 0.25.0 steered them with SET enable_bitmapscan = off on the trigger
# functions (red team rt25b X1: a bitmap scan read every entry of a
# commitment, 1,000 replays of one read its index 500,000 times); a DBA's
# enable_indexscan = off or random_page_cost = 1e6 then turned each probe
# into a sequential scan of battery_event, a table read per row.  Since
# 0.26.0 they call _commitment_rows() (src/pg/commitment_rows.c), an index
# scan stopping at the limit its caller passes.
#   A  R replays of one disclosed report's commitment (a member's superuser
#      past its rules, as the apply worker applies them), written with
#      statistics taken before them (stale: one row per commitment) and each
#      of: defaults; enable_indexscan = off (bitmap scans on); random_page_cost
#      = 1e6; ALTER ROLE ... SET enable_indexscan = off for the writing role;
#      at REPEATABLE READ with enable_indexscan = off (the latest-snapshot
#      count too).  Per replay: battery_event_restricted entries read
#      (pg_stat_user_indexes.idx_tup_read) <= 8, battery_event rows read by
#      sequential scans (pg_stat_user_tables.seq_tup_read) < 1 per replay
#      (a table scan per replay reads thousands).  The usage state stays
#      what a recomputation gives (usage_state_check()).
#   B  _commitment_rows(): counts up to its limit, the calling query's
#      snapshot or the latest (NULL at READ COMMITTED), its limit checked
#      (1..16, 22023), STRICT, not executable by PUBLIC (42501), the index
#      checked to be the extension's (invalid, other predicate: 55000;
#      missing: 42704).
# COMMITMENT_PROBE_PORT (default 57251); COMMITMENT_PROBE_REPLAYS (R, 150).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster cp "${COMMITMENT_PROBE_PORT:-57251}" "$(bl_test_log_conf battledger.test/cp)"
R=${COMMITMENT_PROBE_REPLAYS:-150}
fail=0
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then echo "ok   - $what"; else echo "FAIL - $what: got '$got', want '$want'"; fail=1; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d cp "$@"; }
# the SQLSTATE a statement fails with (or its result)
st() { psql -X -q -At -d cp -U "${2:-postgres}" -c "\\set VERBOSITY sqlstate" -c "$1" 2>&1 | tail -1 | sed 's/^ERROR: *//'; }
createdb cp
q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
CREATE EXTENSION dblink;
ALTER DATABASE cp SET search_path = public, battledger, battledger_test;
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
-- report n: its value, salt and commitment
CREATE FUNCTION val(n int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('soh_pct', 100 - n % 50, 'cycle', jsonb_build_object('type', 'discharge', 'wh', 3, 'ah', 1, 'capacity_ah', 2)) $$;
CREATE FUNCTION salt(n int) RETURNS bytea LANGUAGE sql AS $$ SELECT sha256(convert_to('CP:' || n, 'UTF8')) $$;  -- TEST ONLY
CREATE FUNCTION cm(n int) RETURNS hash256 LANGUAGE sql AS $$ SELECT commitment(salt(n), val(n)) $$;
-- report n of battery s, at hour h
CREATE FUNCTION report(s text, n int, h int) RETURNS void LANGUAGE sql AS $$
    SELECT ev('fleet.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'soh_reported',
              'occurred_at', '2024-03-01T00:00:00Z'::timestamptz + h * interval '1 minute', 'restricted', cm(n)::text)) $$;
CREATE FUNCTION disclose(n int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO battledger.disclosure VALUES (cm(n), 'legitimate_interest', salt(n), val(n)) $$;
SELECT model('cells.test', jsonb_build_object('model_id', 'CP-CELL', 'manufacturer', 'cells.test', 'category', 'ev', 'chemistry', 'NMC', 'rated_capacity_ah', 2,
             'rated_energy_kwh', 0.0074, 'nominal_voltage_v', 3.7, 'min_voltage_v', 2.5, 'max_voltage_v', 4.2));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'manufactured', 'model_id', 'CP-CELL',
          'occurred_at', '2024-01-15T00:00:00Z')),
       ev('cells.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb,
          'occurred_at', '2024-01-20T00:00:00Z')),
       ev('oem.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'handover_accepted', 'occurred_at', '2024-01-20T00:00:00Z')),
       ev('oem.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:' || s,
          'occurred_at', '2024-02-01T00:00:00Z'))
  FROM (VALUES ('CP-1'), ('CP-2')) b(s);
-- a history: 2,000 reports of CP-2, each its own commitment (the table a
-- sequential scan reads)
SELECT report('CP-2', n, n) FROM generate_series(1000, 2999) n;
-- the members' superuser (a malicious member's, or the apply worker's
-- role), whose settings a DBA sets with ALTER ROLE
CREATE ROLE mal LOGIN SUPERUSER;
CREATE ROLE plain LOGIN;
SQL

idx_read() { q -c "SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelid = 'battledger.battery_event_restricted'::regclass"; }
seq_read() { q -c "SELECT seq_tup_read FROM pg_stat_user_tables WHERE relid = 'battledger.battery_event'::regclass"; }
H=100
# replays N SETTINGS [ROLE] [ISOLATION]: report N of CP-1 and its disclosure
# (by the application, at READ COMMITTED) and a first replay, statistics
# taken (a commitment two rows name, of thousands), then R more replays
# of it written past the rules by ROLE (a superuser) in a session with
# SETTINGS, at ISOLATION, one transaction each (as applied); prints
# "<index entries per replay> <seq-scanned rows per replay>"
replays() {
  local n=$1 settings=$2 role=${3:-postgres} iso=${4:-read committed} i0 s0 i1 s1
  # (the first replay, the commitment's second row, recomputes CP-1's
  # state from all its reports, once: rt25b Y1's cost, not the probes')
  q -c "SELECT disclose($n)" -c "SELECT report('CP-1', $n, $H)" \
    -c "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules" \
    -c "SELECT report('CP-1', $n, $((H + 1)))" -c "ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules" >/dev/null
  H=$((H + 2))
  q -c "ANALYZE battledger.battery_event" >/dev/null
  sleep 0.6; i0=$(idx_read); s0=$(seq_read)
  {
    echo "$settings"
    echo "SET default_transaction_isolation = '$iso';"
    echo "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;"
    for k in $(seq 1 "$R"); do echo "SELECT report('CP-1', $n, $((H + k)));"; done
    echo "ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;"
  } | psql -X -q -At -v ON_ERROR_STOP=1 -d cp -U "$role" >/dev/null
  H=$((H + R + 1))
  sleep 0.6; i1=$(idx_read); s1=$(seq_read)
  echo "$(( (i1 - i0) / R )) $(( (s1 - s0) / R ))"
}
bounded() { local e=${1% *} s=${1#* }; [ "$e" -le 8 ] && [ "$s" -lt 1 ] && echo bounded || echo "unbounded: $e index entries, $s seq-scanned rows a replay"; }

# ---------------------------------------------------------------- A
n=1
for c in "defaults||" \
         "enable_indexscan = off|SET enable_indexscan = off; SET enable_bitmapscan = on;|" \
         "random_page_cost = 1e6|SET random_page_cost = 1e6;|" \
         "ALTER ROLE mal SET enable_indexscan = off|SET enable_bitmapscan = on;|mal" \
         "enable_indexscan = off at REPEATABLE READ|SET enable_indexscan = off;|mal|repeatable read"; do
  IFS='|' read -r name settings role iso <<<"$c"
  [ "$role" = mal ] && q -c "ALTER ROLE mal SET enable_indexscan = off" >/dev/null
  got=$(replays "$n" "$settings" "${role:-postgres}" "${iso:-read committed}")
  echo "#   $name: $R replays, per replay: $got (index entries, seq-scanned rows)"
  check "A $name: the triggers' probes read a bounded count per replay" "$(bounded "$got")" bounded
  n=$((n + 1))
done
q -c "ALTER ROLE mal RESET ALL" >/dev/null
check "A the usage state equals a recomputation (usage_state_check())" \
  "$(q -c "SELECT coalesce(string_agg(c::text, ' '), 'clean') FROM battledger.usage_state_check() c")" clean
check "A CP-1's reports all contested: no state counts them" \
  "$(q -c "SELECT coalesce((SELECT (n = 0 AND contested)::text FROM battledger._usage_state WHERE battery_id OPERATOR(battledger.=) bid('CP-1')), 'no row')")" \
  "$(q -c "BEGIN" -c "SELECT battledger.usage_state_rebuild(bid('CP-1'))" -c "SELECT coalesce((SELECT (n = 0 AND contested)::text FROM battledger._usage_state WHERE battery_id OPERATOR(battledger.=) bid('CP-1')), 'no row')" -c "ROLLBACK" | tail -1)"

# ---------------------------------------------------------------- B
if [ -z "$(q -c "SELECT 1 FROM pg_proc WHERE proname = '_commitment_rows'")" ]; then
  echo "FAIL - B _commitment_rows() does not exist"; fail=1
else
  fn() { echo "battledger._commitment_rows($1)"; }
  cr() { echo "SELECT $(fn "$1")"; }
  check "B counts stop at the limit (report 1: $((R + 2)) rows)" \
    "$(q -c "SELECT string_agg(battledger._commitment_rows(cm(1), l, false)::text, ' ' ORDER BY l) FROM generate_series(1, 3) l") $(q -c "$(cr "cm(1), 16, false")")" "1 2 3 16"
  check "B one row; none" "$(q -c "$(cr "cm(1000), 3, false")") $(q -c "$(cr "cm(999999), 3, false")")" "1 0"
  check "B limit 0, 17, -1: 22023" "$(st "$(cr "cm(1), 0, false")") $(st "$(cr "cm(1), 17, false")") $(st "$(cr "cm(1), -1, true")")" "22023 22023 22023"
  check "B STRICT: NULL in, NULL out" "$(q -c "SELECT coalesce($(fn "NULL, 3, false")::text, 'null'), coalesce($(fn "cm(1), NULL, false")::text, 'null'), coalesce($(fn "cm(1), 3, NULL")::text, 'null')")" "null|null|null"
  check "B latest at READ COMMITTED: NULL" "$(q -c "SELECT coalesce($(fn "cm(1), 3, true")::text, 'null')")" null
  # the latest snapshot sees a row committed after the transaction's: a
  # report of a fresh commitment written by another session (dblink)
  out=$(q <<SQL
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT battledger._commitment_rows(cm(5000), 3, false), battledger._commitment_rows(cm(5000), 3, true);
SELECT x FROM dblink('dbname=cp host=$BL_WORK port=$PGPORT user=postgres', 'SELECT report(''CP-2'', 5000, 9000)::text') t(x text);
SELECT battledger._commitment_rows(cm(5000), 3, false), battledger._commitment_rows(cm(5000), 3, true);
COMMIT;
SQL
)
  check "B at REPEATABLE READ: the transaction's snapshot vs the latest, before and after another's commit" "$(echo $out)" "0|0 0|1"
  check "B a plain role cannot execute it (42501)" "$(st "$(cr "repeat('00', 32)::battledger.hash256, 3, false")" plain)" 42501
  check "B nobody but its owner has EXECUTE" \
    "$(q -c "SELECT coalesce(string_agg(r.rolname, ' '), 'none') FROM pg_roles r WHERE r.rolname NOT LIKE 'pg\_%' AND NOT r.rolsuper
                AND has_function_privilege(r.oid, 'battledger._commitment_rows(battledger.hash256, integer, boolean)', 'EXECUTE')")" none
  check "B an invalid index (a failed REINDEX CONCURRENTLY): 55000" \
    "$(st "BEGIN; UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'battledger.battery_event_restricted'::regclass; $(cr "cm(1), 3, false"); ROLLBACK")" 55000
  check "B an index with another predicate: 55000" \
    "$(st "BEGIN; DROP INDEX battledger.battery_event_restricted; CREATE INDEX battery_event_restricted ON battledger.battery_event (restricted) WHERE event = 'soh_reported'; $(cr "cm(1), 3, false"); ROLLBACK")" 55000
  check "B an index of another column: 55000" \
    "$(st "BEGIN; DROP INDEX battledger.battery_event_restricted; CREATE INDEX battery_event_restricted ON battledger.battery_event (ledger_hash); $(cr "cm(1), 3, false"); ROLLBACK")" 55000
  check "B no index: 42704" \
    "$(st "BEGIN; DROP INDEX battledger.battery_event_restricted; $(cr "cm(1), 3, false"); ROLLBACK")" 42704
  check "B the index as installed counts again" "$(q -c "$(cr "cm(1), 3, false")")" 3
fi
exit $fail
