#!/usr/bin/env bash
# No data lost: kill -9 the postmaster (and then its children, as a power cut
# would) while one client commits single-row inserts and another runs a large
# uncommitted bulk load.  After restart, every acknowledged row is present,
# none of the bulk load is, the chains verify, and appending continues.
# The log's queue is unlogged, so the crash empties it: verify_log() says the
# unsealed rows were not checked, and the next seal() re-queues them from the
# table, so that every row is sealed exactly once (rows sealed before the
# crash, rows committed before it but not sealed, rows added after it).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster crash 55452 "fsync = on
synchronous_commit = on
$(bl_test_log_conf crash.test/log)"
createdb crash
psql -X -q -v ON_ERROR_STOP=1 -d crash <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE telemetry (battery text, n int, v numeric);
SELECT battledger.enable_ledger('telemetry', 'battery');
SQL

# Client 1: autocommit inserts; "\echo n" runs only after n's commit returned.
ack="$BL_WORK/acked"
seq 1 1000000 | awk '{ printf "INSERT INTO telemetry VALUES (%c%s%c, %d, %d.5);\n\\echo %d\n", 39, "B" ($1 % 20), 39, $1, $1, $1 }' \
  | psql -X -q -d crash >"$ack" 2>/dev/null &
# Client 2: a bulk load that is still running (uncommitted) at the crash.
psql -X -q -d crash -c "INSERT INTO telemetry SELECT 'B' || (i % 20), -i, i FROM generate_series(1, 50000000) i" \
  >/dev/null 2>&1 &
sleep 2
# a seal while both run: some rows are sealed before the crash, later ones are not
psql -X -q -At -d crash -c "SELECT battledger.seal()" >/dev/null
sealed_before=$(psql -X -At -d crash -c "SELECT count(*) FROM battledger.log_leaf")
sleep 2

pm=$(head -1 "$BL_WORK/crash/postmaster.pid")
children=$(pgrep -P "$pm" || true)
kill -9 "$pm"
[ -n "$children" ] && kill -9 $children 2>/dev/null || true
wait || true
# wait until every process of the old server is gone (shared memory detached)
for _ in $(seq 50); do
  alive=0; for p in $pm $children; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break; sleep 0.1
done
last=$(grep -E '^[0-9]+$' "$ack" | tail -1)
echo "acknowledged commits before the crash: $last"

as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/crash" -l "$BL_WORK/crash.log" -w start >/dev/null
result=$(psql -X -At -d crash <<SQL
SELECT 'acked_present=' || count(*) FROM telemetry WHERE n BETWEEN 1 AND $last;
SELECT 'bulk_rows=' || count(*) FROM telemetry WHERE n < 0;
SELECT 'verify_problems=' || count(*) FROM battledger.verify('telemetry');
INSERT INTO telemetry SELECT 'B' || i, 0, 0 FROM generate_series(0, 19) i;
SELECT 'verify_after_append=' || count(*) FROM battledger.verify('telemetry');
SELECT 'queue_intact_before_seal=' || count(*) FROM battledger.log_pending_intact;
SELECT 'log_before_seal=' || string_agg(problem, ',' ORDER BY problem) FROM battledger.verify_log();
SELECT 'sealed_before_crash_kept=' || (count(*) = $sealed_before) FROM battledger.log_leaf;
SELECT battledger.seal() IS NOT NULL AS sealed \gset
SELECT 'queue_intact=' || count(*) FROM battledger.log_pending_intact;
SELECT 'pending=' || count(*) FROM battledger.log_pending;
SELECT 'unsealed=' || count(*) FROM telemetry t
 WHERE NOT EXISTS (SELECT 1 FROM battledger.log_leaf l WHERE l.row_hash OPERATOR(battledger.=) t.ledger_hash AND l.tbl = 'public.telemetry');
SELECT 'leaves_per_row=' || (SELECT count(*) FROM battledger.log_leaf WHERE tbl = 'public.telemetry')
                         || '/' || (SELECT count(*) FROM telemetry);
SELECT 'log_problems=' || count(*) FROM battledger.verify_log();
SQL
)
echo "$result"
fail=0
[ "$last" -gt 0 ] || fail=1
grep -q "^acked_present=$last\$" <<<"$result" || fail=1
grep -q '^bulk_rows=0$' <<<"$result" || fail=1
grep -q '^verify_problems=0$' <<<"$result" || fail=1
grep -q '^verify_after_append=0$' <<<"$result" || fail=1
rows=$(psql -X -At -d crash -c "SELECT count(*) FROM telemetry")
echo "rows sealed before the crash: $sealed_before of $rows now"
[ "$sealed_before" -gt 0 ] && [ "$sealed_before" -lt "$rows" ] || { echo "expected some rows sealed before the crash, not all"; fail=1; }
for want in queue_intact_before_seal=0 log_before_seal=queue_not_checked sealed_before_crash_kept=true \
            queue_intact=1 pending=0 unsealed=0 "leaves_per_row=$rows/$rows" log_problems=0; do
  grep -qx "$want" <<<"$result" || { echo "expected $want"; fail=1; }
done
grep -q 're-queued' "$BL_WORK/crash.log" || { echo "no re-queue message in the server log"; fail=1; }
[ $fail = 0 ] && echo "crash: PASS" || { echo "crash: FAIL"; exit 1; }
