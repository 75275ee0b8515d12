#!/usr/bin/env bash
# Bringing an existing table with rows into the ledger (issue 12, item 6):
# a realistic table (100,000 rows, an identity primary key, an enum, an
# index) migrated with battledger.migrate_to_ledger() while a writer and a
# reader wait on it; the migration's rate is measured against a plain
# INSERT ... SELECT into a ledger table of the same shape, in this script.
#   ROWS=1000000 bash test/shell/migrate.sh    # a larger run
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

ROWS=${ROWS:-100000}
bl_scratch
bl_start_cluster migrate 55463 "$(bl_test_log_conf migrate.test/log)"
createdb ledger
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d ledger "$@"; }
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; else echo "FAIL - $what"; fail=1; fi; }

q -v rows="$ROWS" <<'SQL'
CREATE EXTENSION battledger;
CREATE TYPE event_kind AS ENUM ('manufactured', 'placed_on_market', 'repurposed', 'recycled');
CREATE TABLE cell_event (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    battery text NOT NULL,
    kind    event_kind NOT NULL,
    at      timestamptz NOT NULL,
    soh_pct numeric(5,2),
    note    text
);
CREATE INDEX cell_event_battery_at ON cell_event (battery, at);
-- rows written over years, not in time order in the heap
INSERT INTO cell_event (battery, kind, at, soh_pct, note)
SELECT 'B' || lpad((i % 1000)::text, 4, '0'),
       (enum_range(NULL::event_kind))[1 + i % 4],
       '2022-01-01 00:00+00'::timestamptz + ((i * 7919) % :rows) * interval '1 minute',
       100 - (i % 300) / 10.0, CASE WHEN i % 10 = 0 THEN 'inspected' END
  FROM generate_series(1, :rows) i;
-- the baseline: a ledger table of the same shape, filled by one INSERT ... SELECT
CREATE TABLE baseline (LIKE cell_event INCLUDING ALL);
SELECT battledger.enable_ledger('baseline', 'battery');
CREATE TABLE expected AS SELECT id, battery, kind::text AS kind, at, soh_pct, note FROM cell_event;
SQL

# baseline, timed in the database
base_s=$(q -c "SELECT extract(epoch FROM clock_timestamp())" \
           -c "INSERT INTO baseline OVERRIDING SYSTEM VALUE SELECT * FROM cell_event ORDER BY at, id" \
           -c "SELECT extract(epoch FROM clock_timestamp())" | awk 'NR == 1 { s = $1 } END { printf "%.2f", $1 - s }')

# the migration holds the table from its first read to its commit; a writer
# and a reader arriving meanwhile wait, then find the ledger table
( psql -X -q -At -v ON_ERROR_STOP=1 -d ledger 2> "$BL_WORK/migrate.err" > "$BL_WORK/migrate.out" <<'SQL'
SET application_name = 'migrator';
SET battledger.progress_interval = 0;
BEGIN;
SELECT extract(epoch FROM clock_timestamp());
SELECT battledger.migrate_to_ledger('cell_event', 'battery', ARRAY['at', 'id'], batch_rows => 10000);
SELECT extract(epoch FROM clock_timestamp());
SELECT pg_sleep(1);   -- the waiting writer and reader are seen waiting before the commit
COMMIT;
SQL
) &
mig=$!
for _ in $(seq 100); do
  [ "$(q -c "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
              WHERE a.application_name = 'migrator' AND l.mode = 'AccessExclusiveLock' AND l.granted
                AND l.relation = 'public.cell_event'::regclass")" = 1 ] && break
  sleep 0.1
done
( q -c "SET application_name = 'writer'" \
    -c "INSERT INTO cell_event (battery, kind, at) VALUES ('B0001', 'recycled', '2030-01-01 00:00+00') RETURNING id, ledger_seq" \
    > "$BL_WORK/writer.out" 2>&1 ) &
writer=$!
# (ledger_seq: only the ledger table has it; the name is resolved once the lock is granted)
( q -c "SET application_name = 'reader'" -c "SELECT count(*) FROM cell_event WHERE ledger_seq > 0" > "$BL_WORK/reader.out" 2>&1 ) &
reader=$!
waiting=0
for _ in $(seq 100); do
  waiting=$(q -c "SELECT count(*) FROM pg_stat_activity WHERE application_name IN ('writer', 'reader') AND wait_event_type = 'Lock'")
  [ "$waiting" = 2 ] && break
  sleep 0.1
done
check "the writer and the reader wait on the migration" test "$waiting" = 2
wait $mig || { cat "$BL_WORK/migrate.err"; exit 1; }
wait $writer || true; wait $reader || true
mig_s=$(awk 'NR == 1 { s = $1 } NR == 3 { printf "%.2f", $1 - s }' "$BL_WORK/migrate.out")

check "the migration copied every row" test "$(sed -n 2p "$BL_WORK/migrate.out")" = "$ROWS"
check "a progress line per batch of 10000" \
  test "$(grep -c "NOTICE:  migrate_to_ledger(public.cell_event): [0-9]* of $ROWS rows" "$BL_WORK/migrate.err")" = $((ROWS / 10000))
check "the waiting writer's row went into the ledger table, chained, with the next identity" \
  test "$(cat "$BL_WORK/writer.out")" = "$((ROWS + 1))|$(q -c "SELECT count(*) FROM cell_event_premigration WHERE battery = 'B0001'" | awk '{ print $1 + 1 }')"
check "the waiting reader read the ledger table" test "$(cat "$BL_WORK/reader.out")" -ge "$ROWS"
check "nothing slipped into the old table" test "$(q -c "SELECT count(*) FROM cell_event_premigration")" = "$ROWS"
check "cell_event is a ledger table" \
  test "$(q -c "SELECT count(*) FROM battledger.ledger_tables WHERE tbl = 'public.cell_event'::regclass")" = 1
check "every row as it was" \
  test "$(q -c "SELECT count(*) FROM (SELECT id, battery, kind::text, at, soh_pct, note FROM cell_event WHERE id <= $ROWS
                                      EXCEPT SELECT * FROM expected) d")" = 0
check "each chain in (at, id) order" \
  test "$(q -c "SELECT count(*) FROM (SELECT at, id, lag(at) OVER w AS pat, lag(id) OVER w AS pid FROM cell_event
                                      WINDOW w AS (PARTITION BY battery ORDER BY ledger_seq)) s
                 WHERE (pat, pid) > (at, id)")" = 0
check "the same chains as the baseline's INSERT ... SELECT" \
  test "$(q -c "SELECT count(*) FROM cell_event c JOIN baseline b USING (id)
                 WHERE c.ledger_seq <> b.ledger_seq OR c.ledger_hash::text <> b.ledger_hash::text")" = 0
check "the index and the primary key are back under their names" \
  test "$(q -c "SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indrelid = 'cell_event'::regclass")" \
     = "cell_event_battery_at,cell_event_ledger_chain,cell_event_pkey"
check "verify() finds nothing" test "$(q -c "SELECT count(*) FROM battledger.verify('cell_event')")" = 0
q -c "SELECT battledger.seal()" >/dev/null
log_problems=$(q -c "SELECT problem || ' ' || count(*) FROM battledger.verify_log(true) GROUP BY problem")
[ -z "$log_problems" ] || echo "verify_log: $log_problems"
check "sealed, the log verifies with every row" \
  test "${log_problems:-none}:$(q -c "SELECT count(*) FROM battledger.log_leaf WHERE tbl = 'public.cell_event'")" = "none:$((ROWS + 1))"
check "the enum's labels cannot be renamed any more" \
  bash -c "! psql -X -q -d ledger -c \"ALTER TYPE event_kind RENAME VALUE 'recycled' TO 'recovered'\" 2>/dev/null"

# verify_member() reports its progress the same way
vm=$(q -c "SET battledger.progress_interval = 0" -c "SELECT count(*) FROM battledger.verify_member('nobody.example/log')" 2>&1)
check "verify_member() reports its progress" grep -Eq "NOTICE:  verify_member\(nobody.example/log\): ([0-9]+) of \1 checks \(100%\)" <<<"$vm"

# docs/dba-guide.md's migration example, run as printed in a database of its own
createdb guide
guide_sql=$(awk '/^## Bringing an existing table into the ledger/ {on = 1} on && /^```sql$/ {inblock = 1; next}
                 inblock && /^```$/ {exit} inblock {print}' "$BL_ROOT/docs/dba-guide.md")
guide_out=$(psql -X -At -d guide <<<"$guide_sql" 2>&1 || true)
check "the guide's example has its block" test -n "$guide_sql"
check "the guide's example runs without an error" bash -c "! grep -q 'ERROR:' <<<\"\$1\"" _ "$guide_out"
check "the guide's example prints what the guide shows" \
  test "$(grep -xE '50000|0|50001\|501' <<<"$guide_out" | tr '\n' ' ')" = "50000 0 50001|501 "
[ $fail = 0 ] || echo "$guide_out"

rate() { awk -v r="$ROWS" -v s="$1" 'BEGIN { printf "%.0f", r / s }'; }
echo "rows=$ROWS baseline INSERT...SELECT into a ledger table: ${base_s} s ($(rate "$base_s") rows/s)"
echo "rows=$ROWS migrate_to_ledger (copy, indexes, analyze): ${mig_s} s ($(rate "$mig_s") rows/s)"
echo "ratio migration/baseline time: $(awk -v a="$mig_s" -v b="$base_s" 'BEGIN { printf "%.2f", a / b }')"
echo "machine: $(nproc) cores, $(uname -m), $("$PG_BIN/postgres" --version)"
[ $fail = 0 ] && echo "migrate: PASS" || { echo "migrate: FAIL"; exit 1; }
