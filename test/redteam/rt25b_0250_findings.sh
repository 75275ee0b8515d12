#!/usr/bin/env bash
# rt25b (0.25.0): red team of what 0.25.0 changed (e64ccf3..main): the
# contested-commitment rule and the report trigger's reading at REPEATABLE
# READ (once25, usage_latest.c), the new C entry points' privileges.
# Members: c (cell.example, makes B1 and reports its usage, holding the
# disclosures), m (mal.example: the malicious member, its superuser writing
# past its rules), f (fleet.example: holds B1's disclosures too, and runs
# its apply workers at REPEATABLE READ: default_transaction_isolation set
# for its database, which the apply worker obeys, 87_usage_state.sql).
#   P1  a plain role cannot execute the new internal functions
#       (_usage_disclosure_latest, _usage_reports_latest, _background_workers,
#       _usage_contested, _pin_first_host; 0.26.0: _commitment_rows, which
#       replaced _usage_reports_latest)
#   X1  many replays of one commitment applied at REPEATABLE READ: each
#       report's trigger counts every report naming the commitment with the
#       latest snapshot (_usage_reports_latest(), count(*) without a limit):
#       quadratic index reads at f (the LIMIT 3 once25 gave "named" does not
#       bound it)
#   X2  a replay applied at REPEATABLE READ while f's application discloses
#       the genuine report (the race 0.25.0's latest-snapshot read is for):
#       the report trigger reads the disclosure with the latest snapshot but
#       the rebuild it then runs (second report of the commitment) computes
#       with the apply transaction's old snapshot: the battery's state row
#       differs from a recomputation (usage_state_check() names it), and
#       f's passport shows the SoH of the contested report 2, c's none
#   X3  registry_conflicts() over many replays of one commitment: the
#       lateral probing every report of the commitment per row, quadratic
#       (at 300 replays the planner hashed it; at 1000 it did not)
#   Y1  m replays each of the K reports of c's battery B2 once: each replay,
#       the second report of its commitment, rebuilds B2 from all its reports
#       (usage_state_rebuild()): K x K probes at every member holding the
#       disclosures, at READ COMMITTED too
# Results, PostgreSQL 15, 2026-12-07, main 2282528: 5 FAILs.  X1: 495,936
# index entries read for 1000 replays (apply 2.1 s), 8,000,436 for 4000
# (RT25B_REPLAYS=4000; 8.2 s); X2: usage_state_check() names B1, and f's
# passport SoH is 92.86, the contested report 2's, where c's has none; X3:
# 1,004,035 entries for 1000 (0.9 s), 16,016,035 for 4000 (6.5 s); Y1:
# 402,198 entries for 400 replays (c's apply: 4.0 s), 3,606,598 for 1200
# (RT25B_HISTORY=1200; 11.9 s).
# Each case prints "ok   - ..." when the property holds, "FAIL - ..." when
# it does not; exit status: the number of FAILs.  PG_BIN: the build under
# test.  RT25B_PORT (default 56120; uses 3); RT25B_REPLAYS (X1, default
# 1000), RT25B_HISTORY (Y1, default 400).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/redteam.sh"
P=${RT25B_PORT:-56120}
N=${RT25B_REPLAYS:-1000}
rt_three_members "$P" "default_transaction_isolation = 'repeatable read'"
check "f runs at REPEATABLE READ" "$(q f -c "SHOW default_transaction_isolation")" "repeatable read"

# ---------------------------------------------------------------- P1
q f -c "CREATE ROLE plain LOGIN" >/dev/null
plain() { psql -X -q -At -h "$BL_WORK" -p "${PORT[f]}" -d bl -U plain -c "\\set VERBOSITY sqlstate" -c "$1" 2>&1 | tail -1 | sed 's/^ERROR: *//'; }
for call in "battledger._usage_disclosure_latest(repeat('00', 32)::battledger.hash256)" \
            "battledger._commitment_rows(repeat('00', 32)::battledger.hash256, 3, true)" \
            "battledger._background_workers()" \
            "battledger._usage_contested('gs1:01/09521230000017/21/B1')" \
            "battledger._usage_lock(repeat('00', 32)::battledger.hash256)"; do
  check "P1 a plain role calling $call: refused" "$(plain "SELECT $call")" 42501
done
check "P1 none of the functions 0.25.0 added or replaced (internal ones) executable by a plain role" \
  "$(q f -c "SELECT coalesce(string_agg(p.oid::regprocedure::text, ', '), 'none') FROM pg_proc p
              WHERE p.pronamespace = 'battledger'::regnamespace
                AND p.proname IN ('_usage_disclosure_latest', '_usage_reports_latest', '_commitment_rows', '_background_workers', '_usage_contested',
                                  '_pin_first_host', '_usage_state_reported', '_usage_state_disclosed', '_usage_state_erased',
                                  '_usage_state_add', '_usage_state_compute', '_usage_derived_state', '_copy_wait_reason', '_usage_lock')
                AND has_function_privilege('plain', p.oid, 'EXECUTE')")" none

# ---------------------------------------------------------------- B1 and its reports
C=gs1:01/09521230000017/21
q c -c "SELECT model('cell-1', '{\"model_id\": \"CELL-M\", \"manufacturer\": \"cell.example\", \"category\": \"ev\", \"chemistry\": \"LFP\", \"rated_capacity_ah\": 280}'::jsonb)" >/dev/null
made() { echo "SELECT ev('$1', jsonb_build_object('battery_id', '$2', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M'))"; }
placed() { echo "SELECT ev('$1', jsonb_build_object('battery_id', '$2', 'event', 'placed_on_market', 'passport_id', 'urn:bp:$3', 'occurred_at', '2026-01-10T00:00:00Z'))"; }
q c -c "$(made cell-1 "$C/B1")" -c "$(placed cell-1 "$C/B1" B1)" >/dev/null
rep_sql="SELECT n, '2026-01-01T00:00:00Z'::timestamptz + n * interval '1 month' AS at,
                jsonb_build_object('cycle', jsonb_build_object('type', 'discharge', 'ah', 100, 'wh', 300, 'capacity_ah', 280 - 10 * n, 'v_min', 3.0)) AS v,
                sha256(convert_to('B1:' || n, 'UTF8')) AS salt FROM generate_series(1, 9) n"
for x in c m f; do q "$x" -c "CREATE TABLE public.report AS $rep_sql" >/dev/null; done
disclose_sql() { echo "INSERT INTO battledger.disclosure SELECT battledger.commitment(salt, v), 'legitimate_interest', salt, v FROM public.report WHERE n = $1"; }
disclose() { q "$1" -c "$(disclose_sql "$2")" >/dev/null; }
report() {
  disclose c "$1"
  q c -c "SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/B1', 'event', 'soh_reported', 'occurred_at', at,
                    'restricted', battledger.commitment(salt, v)::text)) FROM public.report WHERE n = $1" >/dev/null
}
commit_of() { q c -c "SELECT battledger.commitment(salt, v)::text FROM public.report WHERE n = $1"; }
# (read without the commitment's index, whose reads X1 counts)
reports_at() { echo "SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off; SELECT count(*) >= $2 FROM battledger.battery_event WHERE event = 'soh_reported' AND restricted OPERATOR(battledger.=) '$(commit_of "$1")'::battledger.hash256"; }
# m's superuser writes K reports of B1 naming report n's commitment, past its
# rules (K from FIRST, 1 by default: each its own time, so its own signature)
replay() {
  q m -c "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules" \
      -c "SELECT ev('mal-1', jsonb_build_object('battery_id', '$C/B1', 'event', 'soh_reported', 'occurred_at', '2026-12-01T00:00:00Z'::timestamptz + (k * 10 + $1) * interval '1 minute',
                    'restricted', battledger.commitment(salt, v)::text)) FROM public.report, generate_series(${3:-1}, ${3:-1} + $2 - 1) k WHERE n = $1" \
      -c "ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules" >/dev/null
}
# the apply worker flushes its statistics at a commit at least a second after
# its last flush: two more rows from m, a second apart, make it flush
tick() { local at=${1:-f}; for i in 1 2; do sleep 1.2; TICKS=$((TICKS + 1)); replay 9 1 "$TICKS"; bl_wait_for "$at" "$(reports_at 9 "$TICKS")" >/dev/null; done; sleep 0.5; }
TICKS=0
usage() { q "$1" -c "SELECT coalesce(string_agg(key || '=' || value || '@' || reports, ' ' ORDER BY key), 'none') FROM battledger.usage_derived('$2')
                     WHERE key IN ('soh_pct', 'capacity_throughput_ah')"; }
idx_reads() { q "${1:-f}" -c "SELECT coalesce(idx_tup_read, 0) FROM pg_stat_all_indexes WHERE indexrelid = 'battledger.battery_event_restricted'::regclass"; }

# ---------------------------------------------------------------- X1
report 1
disclose f 1
bl_wait_for m "$(reports_at 1 1)" >/dev/null
bl_wait_for f "$(reports_at 1 1)" >/dev/null
tick; before=$(idx_reads)
t0=$(date +%s.%N)
replay 1 "$N"
bl_wait_for f "$(reports_at 1 $((N + 1)))" 1500 >/dev/null
t1=$(date +%s.%N)
tick; after=$(idx_reads)
reads=$((after - before))
echo "#   X1: $N replays applied at f (REPEATABLE READ) in $(echo "$t1 - $t0" | bc) s, $reads index entries read (battery_event_restricted)"
check "X1 $N replays of one commitment applied at REPEATABLE READ read the commitment's index linearly (<= 20 entries a replay)" \
  "$([ "$reads" -le $((20 * N)) ] && echo linear || echo "quadratic: $reads entries for $N replays")" linear

# ---------------------------------------------------------------- X2
report 2
bl_wait_for m "$(reports_at 2 1)" >/dev/null
bl_wait_for f "$(reports_at 2 1)" >/dev/null      # at f without its disclosure yet
# f's application discloses report 2 in a transaction that, for the test,
# holds the commitment's turn until the replay's apply transaction has taken
# its snapshot and waits for that turn (as a slower disclosure would)
psql -X -q -At -h "$BL_WORK" -p "${PORT[f]}" -d bl -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<SQL &
BEGIN ISOLATION LEVEL READ COMMITTED;
SELECT battledger._usage_lock('$(commit_of 2)');
SELECT pg_sleep(4);
$(disclose_sql 2);
COMMIT;
SQL
holder=$!
sleep 1
replay 2 1
wait $holder
bl_wait_for f "$(reports_at 2 2)" >/dev/null
check "X2 at f the replay's apply transaction waited for the disclosure's turn (the race happened)" \
  "$(q f -c "SELECT count(*) FROM battledger.disclosure WHERE commitment OPERATOR(battledger.=) '$(commit_of 2)'::battledger.hash256")" 1
check "X2 at f B1's usage state equals a recomputation after the race (usage_state_check())" \
  "$(q f -c "SELECT coalesce(string_agg(c::text, ' '), 'clean') FROM battledger.usage_state_check() c")" clean
# (a battery whose every report is contested has no state row: what
# usage_state_rebuild() leaves, which _usage_state_compute() gives)
state_row() { q f -c "SELECT coalesce((SELECT (to_jsonb(u) - 'latest')::text FROM battledger._usage_state u WHERE battery_id OPERATOR(battledger.=) '$C/B1'::battledger.battery_id), 'no row')"; }
rebuilt_row() { q f -c "BEGIN" -c "SELECT battledger.usage_state_rebuild('$C/B1')" \
                    -c "SELECT coalesce((SELECT (to_jsonb(u) - 'latest')::text FROM battledger._usage_state u WHERE battery_id OPERATOR(battledger.=) '$C/B1'::battledger.battery_id), 'no row')" -c "ROLLBACK" | tail -1; }
check "X2 at f B1's state row is the one a rebuild makes (contested: $(q f -c "SELECT battledger._usage_contested('$C/B1')"))" \
  "$(state_row)" "$(rebuilt_row)"

echo "#   X2: f's state row of B1: $(q f -c "SELECT to_jsonb(u) - 'latest' FROM battledger._usage_state u WHERE battery_id OPERATOR(battledger.=) '$C/B1'::battledger.battery_id")"
soh_pp() { q "$1" -c "SELECT coalesce(battledger.passport('$2', 'legitimate_interest')->'performance'->'dynamic'->'stateOfHealth'->>'value', 'none')"; }
check "X2 at f B1's passport SoH as at c: none (report 1 and report 2 each named twice)" "$(soh_pp f "$C/B1") $(soh_pp c "$C/B1")" "none none"
check "X2 at f B1's usage as at c, where both of its reports' commitments are contested (none counts)" \
  "$(usage f "$C/B1")" "$(usage c "$C/B1")"

# ---------------------------------------------------------------- X3
# registry_conflicts() names the replays (commitment_replayed), each row with
# the first one before it: a probe of every report naming the commitment per
# row (the lateral's ORDER BY ... LIMIT 1 over the restricted index)
before=$(idx_reads)
t0=$(date +%s.%N)
named=$(q f -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'commitment_replayed'")
t1=$(date +%s.%N)
after=$(idx_reads)
reads=$((after - before))
echo "#   X3: registry_conflicts() at f named $named commitment_replayed rows in $(echo "$t1 - $t0" | bc) s, $reads index entries read"
check "X3 registry_conflicts() over $N replays of one commitment reads its index linearly (<= 20 entries a replay)" \
  "$([ "$reads" -le $((20 * N)) ] && echo linear || echo "quadratic: $reads entries for $N replays")" linear

# ---------------------------------------------------------------- Y1
# c's battery B2 with K usage reports (disclosed at c); m's superuser
# replays each of them once, in one transaction.  Each replay is the second
# report of its commitment: its trigger rebuilds B2 from all its reports
# (usage_state_rebuild()), K times K probes, at c (READ COMMITTED) as at
# every member holding the disclosures.
K=${RT25B_HISTORY:-400}
q c -c "$(made cell-1 "$C/B2")" -c "$(placed cell-1 "$C/B2" B2)" >/dev/null
q c -c "CREATE TABLE public.report2 AS SELECT n, '2026-02-01T00:00:00Z'::timestamptz + n * interval '1 hour' AS at,
          jsonb_build_object('cycle', jsonb_build_object('type', 'discharge', 'ah', 100, 'wh', 300, 'capacity_ah', 280 - n % 50, 'v_min', 3.0)) AS v,
          sha256(convert_to('B2:' || n, 'UTF8')) AS salt FROM generate_series(1, $K) n" \
     -c "INSERT INTO battledger.disclosure SELECT battledger.commitment(salt, v), 'legitimate_interest', salt, v FROM public.report2" \
     -c "SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/B2', 'event', 'soh_reported', 'occurred_at', at,
                    'restricted', battledger.commitment(salt, v)::text)) FROM public.report2 ORDER BY n" >/dev/null
b2_at() { echo "SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off;
                SELECT count(*) >= $2 FROM battledger.battery_event WHERE event = 'soh_reported' AND battery_id::text = '$C/B2' AND ledger_origin = '$1'"; }
bl_wait_for m "$(b2_at c.example/log "$K")" >/dev/null
tick c; before=$(idx_reads c)
t0=$(date +%s.%N)
q m -c "CREATE TABLE public.seen2 AS SELECT restricted, occurred_at FROM battledger.battery_event WHERE event = 'soh_reported' AND battery_id::text = '$C/B2'" >/dev/null
q m -c "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules" \
    -c "SELECT ev('mal-1', jsonb_build_object('battery_id', '$C/B2', 'event', 'soh_reported', 'occurred_at', occurred_at + interval '1 second',
                  'restricted', restricted::text)) FROM public.seen2" \
    -c "ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules" >/dev/null
bl_wait_for c "$(b2_at m.example/log "$K")" 1500 >/dev/null
t1=$(date +%s.%N)
tick c; after=$(idx_reads c)
reads=$((after - before))
echo "#   Y1: $K replays of B2's $K reports applied at c (READ COMMITTED) in $(echo "$t1 - $t0" | bc) s, $reads index entries read"
# A residual (docs/security.md, "Denying a competitor's usage report"):
# each replay is the second row of its commitment and takes its report out
# by recomputing the battery, O(K) work K times; the state's maxima and
# latest positions cannot forget a report by subtraction.  Bounded by the
# battery's own history, paid once per replayed report, every replay named
# (commitment_replayed).  Printed, with the state checked right after it.
echo "# residual Y1: replaying each of a battery's $K reports once cost c $reads index entries ($([ "$reads" -le $((50 * K)) ] && echo linear || echo "quadratic in the history"))"
check "Y1 after the replays B2's usage state is the one a rebuild makes (every report counted for none)" \
  "$(q c -c "SELECT coalesce(string_agg(x::text, ' '), 'clean') FROM battledger.usage_state_check() x WHERE x.battery_id::text = '$C/B2'")" clean

echo "# $FAILS FAILs"
exit "$FAILS"
