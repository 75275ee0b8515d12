#!/usr/bin/env bash
# rt26b (0.26.0, main 185e6dc): red team of this release's own changes
# since 93d77e3.  FAIL = an open hole, ok = holds.  Clusters: RT26B_PORT
# (default 57540: one server with the sealing worker, database ledger owned
# by dbo, no superuser) and RT26B_PORT+3..+5 (members c, m, f of
# test/lib/redteam.sh's rt_three_members).
#  W   the sealing worker's identity override (src/pg/worker.c): the
#      database owner sets, with ALTER DATABASE, role and
#      session_authorization and every other setting it may that a seal
#      or a writer could read (search_path, DateStyle, TimeZone,
#      IntervalStyle, extra_float_digits, bytea_output, array_nulls,
#      standard_conforming_strings, transform_null_equals,
#      gin_fuzzy_search_limit, force_parallel_mode, plpgsql.extra_errors,
#      enable_indexscan, default_transaction_isolation/read_only,
#      lock_timeout): the worker seals, the log verifies, usage reports
#      written under the same settings leave a state equal to its
#      recomputation.  W2: a dbo table under FORCE ROW LEVEL SECURITY
#      hiding every row from dbo is sealed whole.
#  C   _commitment_rows() (src/pg/commitment_rows.c) against 0.25.0's SQL
#      probe (count over LIMIT, as 93d77e3's 87_usage_state.sql) on the
#      same rows: replays by a superuser past the rules, a quality check
#      naming a report's commitment (another kind), rolled-back replays
#      and an aborted savepoint (dead entries, then killed by a scan and
#      VACUUM), rows NULL in restricted; compared at limits 1..3 with the
#      planner's defaults and with index scans off (the old probe's seq
#      scan), inside a transaction holding its own uncommitted replay (own
#      rows, a later command), and at REPEATABLE READ after another session
#      commits one (the snapshot path sees what the old probe saw, the
#      latest path what is committed).  A report and its disclosure in one
#      REPEATABLE READ transaction fold without a serialization failure;
#      1,000 calls failing on an invalid index in savepoints: no leak
#      warning, no crash.
#  S   consortium_status()'s "runs as another role" (90_consortium.sql,
#      lateral ra), on member f for its subscription to c (owner postgres):
#      S1 a quoted mixed-case role and S2 session_authorization for the
#      owner IN DATABASE are named, and the printed RESET, run as printed,
#      clears them; S3 ALTER ROLE ALL SET role (pg_db_role_setting row
#      (0, 0), a member's superuser's) prints "ALTER DATABASE bl RESET
#      role", which removes nothing; S4 a database-wide role=dbo that the
#      owner's own IN DATABASE role=none overrides (PostgreSQL applies the
#      most specific) is named though the rows arrive; S5 role = another
#      superuser is named (rows refused, it says) though the rows arrive;
#      S6 no state for role = the owner, nor for another role's setting.
# Tried and held, not scripted: plpgsql.extra_errors = 'all' (the
# pg_regress suite passes with it in PGOPTIONS: no runtime
# too_many_rows/strict_multi_assignment; its compile-time
# shadowed_variables, which _arrival_triggers()'s variable "found" trips
# in plpgsql_validator(), is checked only at CREATE FUNCTION and extension
# scripts run with check_function_bodies off); the GIN readers left
# unpinned (_passport_source(), _passport_second_life(), usage_derived())
# decide nothing stored; _commitment_rows()'s privilege (EXECUTE its
# owner's; passport tiers reach it as definer); the index checks need a
# superuser to defeat (operator classes are superuser's; the table is the
# extension's, superuser = true).
# Results, PostgreSQL 15, 2026-12-07, main 185e6dc: 3 FAILs (S3, S4, S5),
# 18 cases ok; about 40 s.  On 93d77e3 (0.25.0's code) W1, W2, C1-C4, C7
# and S1-S3 FAIL (no override, no _commitment_rows(), no state).
# Fixed (0.26.0, after 185e6dc): the state takes the setting PostgreSQL
# applies, leaves out superusers, prints ALTER ROLE ALL RESET: 0 FAILs,
# on 15 (and rt26's R1/R2 on a 16.2 server: the setting breaks apply there
# too, one apply error counted, rows arrive after the RESET).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/redteam.sh"
P=${RT26B_PORT:-57540}

# ------------------------------------------------------------------ W, C
bl_scratch
bl_start_cluster w "$P" "$(bl_test_log_conf rt26b.test/log)
shared_preload_libraries = 'battledger'
battledger.seal_database = 'ledger'
battledger.seal_interval = 1"
# every session of ours undoes what dbo stores for the database
PRE="SET SESSION AUTHORIZATION postgres; SET ROLE NONE; SET default_transaction_read_only = off; SET default_transaction_isolation = 'read committed'; SET search_path = public, battledger, battledger_test"
wq() { psql -X -q -At -h "$BL_WORK" -p "$P" -d ledger -c "$PRE" "$@"; }
psql -X -q -h "$BL_WORK" -p "$P" -d postgres -v ON_ERROR_STOP=1 -c "CREATE ROLE dbo LOGIN" -c "CREATE DATABASE ledger OWNER dbo"
wq -v ON_ERROR_STOP=1 -f - >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
CREATE EXTENSION dblink;
SELECT add_member(m, r), add_key(m, public_key(seed(m)), now() - interval '1 hour')
  FROM (VALUES ('cells.test', ARRAY['cell_maker']), ('oem.test', ARRAY['oem']), ('fleet.test', ARRAY['fleet_operator'])) v(m, r);
CREATE FUNCTION ev(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.battery_event SELECT r.*; END $$;
CREATE FUNCTION model(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_model := jsonb_populate_record(NULL::battledger.battery_model, j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.battery_model SELECT r.*; END $$;
CREATE FUNCTION bid(serial text) RETURNS battledger.battery_id LANGUAGE sql AS $$
    SELECT ('https://id.gs1.org/01/09521234567899/21/' || serial)::battledger.battery_id $$;
CREATE FUNCTION val(n int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('soh_pct', 100 - n % 50, 'cycle', jsonb_build_object('type', 'discharge', 'wh', 3, 'ah', 1, 'capacity_ah', 2)) $$;
CREATE FUNCTION salt(n int) RETURNS bytea LANGUAGE sql AS $$ SELECT sha256(convert_to('RT26B:' || n, 'UTF8')) $$;  -- TEST ONLY
CREATE FUNCTION cm(n int) RETURNS battledger.hash256 LANGUAGE sql AS $$ SELECT battledger.commitment(salt(n), val(n)) $$;
CREATE FUNCTION report(s text, n int, h int) RETURNS void LANGUAGE sql AS $$
    SELECT ev('fleet.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'soh_reported',
              'occurred_at', '2024-03-01T00:00:00Z'::timestamptz + h * interval '1 minute', 'restricted', cm(n)::text)) $$;
CREATE FUNCTION disclose(n int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO battledger.disclosure VALUES (cm(n), 'legitimate_interest', salt(n), val(n)) $$;
SELECT model('cells.test', jsonb_build_object('model_id', 'RT-CELL', 'manufacturer', 'cells.test', 'category', 'ev', 'chemistry', 'NMC', 'rated_capacity_ah', 2,
             'rated_energy_kwh', 0.0074, 'nominal_voltage_v', 3.7, 'min_voltage_v', 2.5, 'max_voltage_v', 4.2));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'manufactured', 'model_id', 'RT-CELL', 'occurred_at', '2024-01-15T00:00:00Z')),
       ev('cells.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb, 'occurred_at', '2024-01-20T00:00:00Z')),
       ev('oem.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'handover_accepted', 'occurred_at', '2024-01-20T00:00:00Z')),
       ev('oem.test', jsonb_build_object('battery_id', bid(s)::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:' || s, 'occurred_at', '2024-02-01T00:00:00Z'))
  FROM (VALUES ('B1'), ('B2')) b(s);
CREATE TABLE public.reading (battery text, v int);
ALTER TABLE public.reading OWNER TO dbo;
SELECT battledger.enable_ledger('public.reading', 'battery');
-- 0.25.0's probe (93d77e3, 87_usage_state.sql): the rows naming c, up to l
CREATE FUNCTION old_rows(c battledger.hash256, l int) RETURNS int LANGUAGE sql STABLE AS $$
    SELECT count(*)::int FROM (SELECT FROM battledger.battery_event o WHERE o.restricted OPERATOR(battledger.=) c LIMIT l) x $$;
-- commitments (every one named, and none) where the two differ, at limits 1..3
CREATE FUNCTION diffs() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(format('%s..@%s: %s vs %s', left(c::text, 8), l, battledger._commitment_rows(c, l, false), old_rows(c, l)), ', '), 'none')
      FROM (SELECT DISTINCT restricted AS c FROM battledger.battery_event WHERE restricted IS NOT NULL UNION ALL SELECT cm(999999)) x,
           generate_series(1, 3) l
     WHERE battledger._commitment_rows(c, l, false) IS DISTINCT FROM old_rows(c, l) $$;
SQL
H=0
drained() {  # $1: report number; a usage report (disclosed) and 30 rows of dbo's table, then waits up to 8 s for the queue to empty
  wq -c "SELECT disclose($1)" -c "SELECT report('B1', $1, $1)" -c "INSERT INTO public.reading SELECT 'r' || (i % 3), i FROM generate_series(1, 30) i" >/dev/null 2>"$BL_WORK/w.err" \
    || { echo "write failed: $(head -1 "$BL_WORK/w.err")"; return; }
  for _ in $(seq 16); do
    [ "$(wq -c "SELECT count(*) FROM battledger.log_pending")" = 0 ] && { echo yes; return; }
    sleep 0.5
  done
  echo no
}
wrestart() { as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/w" -l "$BL_WORK/w.log" -w restart >/dev/null; sleep 1; }
clean() { wq -c "SELECT coalesce(string_agg(c::text, ' '), 'clean') FROM battledger.usage_state_check() c"; }
sleep 3
check "W0 the worker seals" "$(drained 1)" yes
psql -X -q -h "$BL_WORK" -p "$P" -d ledger -U dbo -v ON_ERROR_STOP=1 -c "DO \$\$BEGIN END\$\$" \
  -c "ALTER DATABASE ledger SET role = dbo" -c "ALTER DATABASE ledger SET session_authorization = dbo" \
  -c "ALTER DATABASE ledger SET search_path = '\"\$user\"'" -c "ALTER DATABASE ledger SET DateStyle = 'SQL, DMY'" \
  -c "ALTER DATABASE ledger SET TimeZone = 'Pacific/Chatham'" -c "ALTER DATABASE ledger SET IntervalStyle = 'sql_standard'" \
  -c "ALTER DATABASE ledger SET extra_float_digits = -15" -c "ALTER DATABASE ledger SET bytea_output = 'escape'" \
  -c "ALTER DATABASE ledger SET array_nulls = off" -c "ALTER DATABASE ledger SET standard_conforming_strings = off" \
  -c "ALTER DATABASE ledger SET transform_null_equals = on" -c "ALTER DATABASE ledger SET gin_fuzzy_search_limit = 1" \
  -c "ALTER DATABASE ledger SET force_parallel_mode = on" -c "ALTER DATABASE ledger SET plpgsql.extra_errors = 'all'" \
  -c "ALTER DATABASE ledger SET enable_indexscan = off" -c "ALTER DATABASE ledger SET default_transaction_isolation = 'serializable'" \
  -c "ALTER DATABASE ledger SET default_transaction_read_only = on" -c "ALTER DATABASE ledger SET lock_timeout = 1" \
  || fail "W1 setup" "dbo could not store a setting"
wrestart
check "W1 dbo's ALTER DATABASE SET of role, session_authorization and 16 other settings: the worker still seals" "$(drained 2)" yes
wq -c "ALTER DATABASE ledger RESET ALL" >/dev/null
check "W1b ... the log verifies, the usage state equals its recomputation" \
  "$(wq -c "SELECT count(*) FROM battledger.verify_log()")|$(clean)" "0|clean"
psql -X -q -h "$BL_WORK" -p "$P" -d ledger -U dbo -v ON_ERROR_STOP=1 -c "ALTER TABLE public.reading ENABLE ROW LEVEL SECURITY" \
  -c "ALTER TABLE public.reading FORCE ROW LEVEL SECURITY" -c "CREATE POLICY ins ON public.reading FOR INSERT WITH CHECK (true)" \
  -c "CREATE POLICY sel ON public.reading FOR SELECT USING (false)" -c "ALTER DATABASE ledger SET role = dbo" >/dev/null
wrestart
check "W2 dbo's table under FORCE ROW LEVEL SECURITY hiding every row from dbo: sealed, verify() finds nothing" \
  "$(drained 3)|$(wq -c "SELECT count(*) FROM battledger.verify('public.reading')")" "yes|0"
wq -c "ALTER DATABASE ledger RESET ALL" >/dev/null

# C: rows naming commitments 10 (a report and its replays), 11 (a report
# and a quality check of B2 naming it), 12 (a report, a replay rolled back,
# one in an aborted savepoint), 13 (one report); rows NULL in restricted
wq -v ON_ERROR_STOP=1 -f - >/dev/null <<'SQL'
SELECT disclose(n) FROM generate_series(10, 13) n;
SELECT report('B1', 10, 10), report('B1', 11, 11), report('B1', 12, 12), report('B1', 13, 13);
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SELECT report('B1', 10, 20), report('B1', 10, 21), report('B2', 10, 22);
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('B2')::text, 'event', 'quality_checked', 'occurred_at', '2024-03-02T00:00:00Z', 'restricted', cm(11)::text));
BEGIN; SELECT report('B2', 12, 30); ROLLBACK;
BEGIN; SAVEPOINT s; SELECT report('B2', 12, 31); ROLLBACK TO s; COMMIT;
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SQL
check "C0 the rows as made: commitment 10 named by 4 rows, 11 by 2 (a report, a quality check), 12 and 13 by 1" \
  "$(wq -c "SELECT string_agg(old_rows(cm(n), 16)::text, ' ' ORDER BY n) FROM generate_series(10, 13) n")" "4 2 1 1"
check "C1 _commitment_rows() = 0.25.0's probe, planner defaults" "$(wq -c "SELECT diffs()")" none
wq -c "VACUUM battledger.battery_event" >/dev/null
check "C2 ... with index scans off (the old probe's seq scan), after VACUUM" "$(wq -c "SET enable_indexscan = off" -c "SET enable_bitmapscan = off" -c "SELECT diffs()")" none
check "C3 ... in a transaction holding its own uncommitted replay of 13 (a later command)" \
  "$(wq -c "BEGIN" -c "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules" -c "SELECT report('B2', 13, 40)" -c "SELECT diffs() || ' ' || battledger._commitment_rows(cm(13), 3, false)" -c "ROLLBACK" | tail -1)" "none 2"
check "C3b ... in the same statement as the insert (a data-modifying CTE: neither sees it)" \
  "$(wq -c "BEGIN" -c "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules" -c "WITH i AS (SELECT report('B2', 13, 41)) SELECT (SELECT count(*) FROM i) || ' ' || battledger._commitment_rows(cm(13), 3, false) || ' ' || old_rows(cm(13), 3)" -c "ROLLBACK" | tail -1)" "1 1 1"
out=$(wq -f - <<SQL
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT battledger._commitment_rows(cm(13), 3, false) || ' ' || old_rows(cm(13), 3);
SELECT FROM dblink_exec('dbname=ledger host=$BL_WORK port=$P user=postgres',
                     'SET ROLE NONE; ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules; SET search_path = public, battledger, battledger_test; SELECT report(''B2'', 13, 42); ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules');
SELECT diffs() || ' ' || battledger._commitment_rows(cm(13), 3, false) || ' ' || battledger._commitment_rows(cm(13), 3, true);
COMMIT;
SQL
)
check "C4 at REPEATABLE READ after another session commits a replay of 13: snapshot path = old probe, latest path sees it" "$(echo $out)" "1 1 none 1 2"
check "C5 the usage state after C1-C4 equals its recomputation" "$(clean)" clean
# (reports are written at READ COMMITTED, BL039; a disclosure may be
# written at REPEATABLE READ: erased and disclosed again in one such
# transaction, both triggers count with the transaction's own rows)
wq -c "SELECT report('B2', 14, 50)" >/dev/null
check "C6 report 14 disclosed, erased, disclosed again in one REPEATABLE READ transaction: no 40001, counted once" \
  "$(wq -c "BEGIN ISOLATION LEVEL REPEATABLE READ" -c "SELECT disclose(14)" -c "DELETE FROM battledger.disclosure WHERE commitment OPERATOR(battledger.=) cm(14)" \
        -c "SELECT disclose(14)" -c "COMMIT" 2>&1 | grep -c ERROR)|$(clean)|$(wq -c "SELECT reports FROM battledger.usage_derived(bid('B2')) WHERE key = 'soh_pct'")" "0|clean|1"
cp0=$(wq -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
leak=$(wq -f - 2>&1 <<'SQL'
BEGIN;
UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'battledger.battery_event_restricted'::regclass;
DO $$ BEGIN FOR i IN 1..1000 LOOP
  BEGIN PERFORM battledger._commitment_rows(cm(10), 3, false); EXCEPTION WHEN object_not_in_prerequisite_state THEN NULL; END;
END LOOP; END $$;
ROLLBACK;
SQL
)
check "C7 1,000 calls failing on an invalid index, each in a savepoint: no warning, no crash" \
  "$(grep -c 'WARNING\|ERROR' <<<"$leak")|$(wq -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")" "0|$cp0"
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/w" -m fast stop >/dev/null

# ------------------------------------------------------------------ S
rt_three_members $((P + 3))
FPRE="SET SESSION AUTHORIZATION postgres; SET ROLE NONE"
fq() { psql -X -q -At -h "$BL_WORK" -p "${PORT[f]}" -d bl -c "$FPRE" "$@"; }
SUB=$(fq -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'c.example/log'")
st() { fq -c "SELECT state || ': ' || coalesce(reason, '') FROM battledger.consortium_status() WHERE member = 'c.example/log'"; }
ra() { st | grep -c '^runs as another role'; }
printed() { st | grep -o '(ALTER [^)]* RESET [a-z_]*)' | tr -d '()'; }
reset_all() { fq -c "ALTER ROLE ALL RESET ALL" -c "ALTER DATABASE bl RESET ALL" -c "ALTER ROLE postgres RESET ALL" \
                 -c "ALTER ROLE postgres IN DATABASE bl RESET ALL" -c "ALTER ROLE dbo IN DATABASE bl RESET ALL" -c "ALTER ROLE dbo RESET ALL" >/dev/null; }
fq -v ON_ERROR_STOP=1 -c 'CREATE ROLE dbo LOGIN' -c 'CREATE ROLE "Mixed Case" LOGIN' -c 'CREATE ROLE su2 SUPERUSER' -c 'GRANT dbo, "Mixed Case" TO postgres' >/dev/null
arrives() {  # $1: a key name; after a restart of f's apply worker for c: does c's key $1 reach f?
  fq -c "ALTER SUBSCRIPTION $SUB DISABLE" -c "ALTER SUBSCRIPTION $SUB ENABLE" >/dev/null; sleep 1
  q c -v ON_ERROR_STOP=1 -c "SELECT battledger.add_key('cell.example', $(pub "$1"), now())" >/dev/null || { echo "add_key failed"; return; }
  local n; n=$(q c -c "SELECT count(*) FROM battledger.key_event")
  bl_wait_for f "SET ROLE NONE; SELECT count(*) >= $n FROM battledger.key_event" 20 >/dev/null 2>&1 && echo yes || echo no
}
runs_printed() {  # $1: settings; named? the printed RESET run as printed clears it?
  local s p; fq -v ON_ERROR_STOP=1 -c "$1" >/dev/null
  s=$(ra); p=$(printed)
  [ -n "$p" ] && fq -c "$p" >/dev/null 2>&1
  echo "$s|$(ra)"
  reset_all
}
check "S1 ALTER DATABASE bl SET role = \"Mixed Case\": named; its RESET as printed clears it" \
  "$(runs_printed 'ALTER DATABASE bl SET role = "Mixed Case"')" "1|0"
check "S2 ALTER ROLE postgres IN DATABASE bl SET session_authorization = dbo: named; its RESET as printed clears it" \
  "$(runs_printed 'ALTER ROLE postgres IN DATABASE bl SET session_authorization = dbo')" "1|0"
fq -c "ALTER ROLE ALL SET role = dbo" >/dev/null; echo "     (printed: $(printed))"; reset_all
check "S3 ALTER ROLE ALL SET role = dbo (a member's superuser): named; its RESET as printed clears it" \
  "$(runs_printed 'ALTER ROLE ALL SET role = dbo')" "1|0"
fq -c "ALTER DATABASE bl SET role = dbo" -c "ALTER ROLE postgres IN DATABASE bl SET role = none" >/dev/null
check "S4 role=dbo for the database, role=none for the owner in it (overrides): rows arrive, no 'runs as another role'" "$(arrives s4)|$(ra)" "yes|0"
reset_all
fq -c "ALTER DATABASE bl SET role = su2" >/dev/null
check "S5 role = another superuser: rows arrive, no 'runs as another role' (which says they are refused)" "$(arrives s5)|$(ra)" "yes|0"
reset_all
fq -c "ALTER DATABASE bl SET role = postgres" -c "ALTER ROLE dbo IN DATABASE bl SET role = dbo" -c "ALTER ROLE dbo SET session_authorization = dbo" >/dev/null
check "S6 role = the subscription's owner, and settings of another role: not named" "$(ra)" 0
reset_all
check "S7 after all: c's rows reach f, state not 'runs as another role'" "$(arrives s7)|$(ra)" "yes|0"

exit $FAILS
