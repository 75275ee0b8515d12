#!/usr/bin/env bash
# The optional sealing worker: with battledger preloaded and seal_interval set,
# rows are sealed without anyone calling seal(), and the log verifies.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster worker 55455 "$(bl_test_log_conf worker.test/log)
shared_preload_libraries = 'battledger'
battledger.seal_database = 'ledger'
battledger.seal_interval = 1"
createdb ledger
psql -X -q -v ON_ERROR_STOP=1 -d ledger <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, v int);
SELECT battledger.enable_ledger('reading', 'battery');
INSERT INTO reading SELECT 'B' || (i % 7), i FROM generate_series(1, 500) i;
SQL
fail=0
for _ in $(seq 60); do    # up to 30 s (the worker retries every 10 s until the database exists)
  left=$(psql -X -At -d ledger -c "SELECT count(*) FROM battledger.log_pending")
  [ "$left" = 0 ] && break; sleep 0.5
done
result=$(psql -X -At -d ledger <<'SQL'
SELECT 'worker=' || count(*) FROM pg_stat_activity WHERE backend_type = 'battledger sealer';
SELECT 'pending=' || count(*) FROM battledger.log_pending;
SELECT 'sealed=' || ((SELECT count(*) FROM battledger.log_leaf) >= 500);
SELECT 'checkpoint=' || (battledger.checkpoint() LIKE E'worker.test/log\n%');
SELECT 'log_problems=' || count(*) FROM battledger.verify_log();
SQL
)
echo "$result"
for want in 'worker=1' 'pending=0' 'sealed=true' 'checkpoint=true' 'log_problems=0'; do
  grep -qx "$want" <<<"$result" || { echo "expected $want"; fail=1; }
done
grep -q 'battledger sealer started' "$BL_WORK/worker.log" || { echo "no start message in the server log"; fail=1; }
[ $fail = 0 ] && echo "seal_worker: PASS" || { echo "seal_worker: FAIL"; exit 1; }
