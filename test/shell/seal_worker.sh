#!/usr/bin/env bash
# The optional sealing worker: with battledger preloaded and seal_interval set,
# rows are sealed without anyone calling seal(), and the log verifies; and
# still, at READ COMMITTED, with the cluster's default isolation SERIALIZABLE,
# with cluster-wide statement and lock timeouts shorter than a seal, and with the
# database's owner setting the role its connections run as.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster worker 55455 "$(bl_test_log_conf worker.test/log)
shared_preload_libraries = 'battledger'
battledger.seal_database = 'ledger'
battledger.seal_interval = 1
log_line_prefix = '%m [%p] %b '"
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

# The cluster's default isolation set to SERIALIZABLE (and reloaded): the
# worker's transactions took it and every seal() failed ("must run at READ
# COMMITTED") while the queue grew, until 0.25.0; the worker now runs its
# seals at READ COMMITTED whatever the setting.
psql -X -q -v ON_ERROR_STOP=1 -d ledger -c "ALTER SYSTEM SET default_transaction_isolation = 'serializable'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1.5   # the worker reloads at its next wake-up
psql -X -q -v ON_ERROR_STOP=1 -d ledger -c "INSERT INTO reading SELECT 'S' || (i % 5), i FROM generate_series(1, 200) i" >/dev/null
for _ in $(seq 20); do    # up to 10 s, seal_interval 1 s
  left=$(psql -X -At -d ledger -c "SELECT count(*) FROM battledger.log_pending")
  [ "$left" = 0 ] && break; sleep 0.5
done
result=$(psql -X -At -d ledger <<'SQL'
SELECT 'isolation=' || current_setting('transaction_isolation');
SELECT 'pending=' || count(*) FROM battledger.log_pending;
SELECT 'sealed=' || ((SELECT count(*) FROM battledger.log_leaf) >= 700);
SQL
)
echo "$result"
for want in 'isolation=serializable' 'pending=0' 'sealed=true'; do
  grep -qx "$want" <<<"$result" || { echo "expected $want (default_transaction_isolation = serializable)"; fail=1; }
done
if grep -q 'seal() must run at READ COMMITTED' "$BL_WORK/worker.log"; then
  echo "the worker's seal() failed at the cluster's default isolation"; fail=1
fi

# A cluster-wide statement_timeout and lock_timeout shorter than a seal
# (here 1 ms; a bulk load's backlog takes seconds to minutes, and a seal
# waits behind whoever holds the log's tables): a seal cancelled each time
# finds the same backlog and more at its retry, and the log stops for good.
# The worker overrides both.  lock_timeout is the one that bites a
# background worker's SPI (checked where any process waits for a lock); the
# statement_timeout override is kept for the day one does (PostgreSQL arms
# that one only for client statements).  The proof: a session holds the
# log's leaf table for 3 s while rows wait, and the worker must wait for it
# rather than give up; fails without the override ("canceling statement due
# to lock timeout" from the sealer).  This scenario's own sessions keep no
# timeouts (PGOPTIONS), except the one that shows ordinary sessions get them.
psql -X -q -v ON_ERROR_STOP=1 -d ledger -c "ALTER SYSTEM SET statement_timeout = '1ms'" \
  -c "ALTER SYSTEM SET lock_timeout = '1ms'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1.5
export PGOPTIONS="-c statement_timeout=0 -c lock_timeout=0"
# a statement of 0.2 s in an ordinary session is cancelled: the settings are in force
cancel=$(PGOPTIONS= psql -X -At -d ledger -c "SELECT pg_sleep(0.2)" 2>&1 || true)
grep -q 'canceling statement due to statement timeout' <<<"$cancel" \
  || { echo "expected an ordinary session's statement cancelled (statement_timeout = 1ms): $cancel"; fail=1; }
psql -X -q -v ON_ERROR_STOP=1 -d ledger -c "BEGIN" -c "LOCK TABLE battledger.log_leaf IN ACCESS EXCLUSIVE MODE" \
  -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null &
holder=$!
sleep 0.3
psql -X -q -v ON_ERROR_STOP=1 -d ledger -c "INSERT INTO reading SELECT 'T' || (i % 5), i FROM generate_series(1, 3000) i" >/dev/null
wait $holder
for _ in $(seq 20); do
  left=$(psql -X -At -d ledger -c "SELECT count(*) FROM battledger.log_pending")
  [ "$left" = 0 ] && break; sleep 0.5
done
result=$(psql -X -At -d ledger -c "SELECT 'pending=' || count(*) FROM battledger.log_pending")
echo "$result"
grep -qx 'pending=0' <<<"$result" || { echo "expected pending=0 (statement_timeout, lock_timeout = 1ms)"; fail=1; }
# (log_line_prefix names the backend type: only the sealer's own lines count)
if grep -E 'battledger sealer (ERROR|FATAL): +canceling statement due to (statement|lock) timeout' "$BL_WORK/worker.log"; then
  echo "the worker's seal() was cancelled by the cluster's timeouts"; fail=1
fi
# The database's owner, no superuser, sets whom every connection to it runs
# as: ALTER DATABASE SET role and session_authorization.  The worker took
# them at its connection and every seal() ran as the owner ("permission
# denied for function seal"), retried every interval while the log
# stopped, until 0.26.0 (red team rt26 W1, W2); it now puts back the
# bootstrap superuser it connected as.  Both set at once: either override
# missing fails the part.
psql -X -q -v ON_ERROR_STOP=1 -d ledger -c "CREATE ROLE dbo LOGIN" -c "ALTER DATABASE ledger OWNER TO dbo" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -U dbo -d ledger -c "ALTER DATABASE ledger SET role = dbo" \
  -c "ALTER DATABASE ledger SET session_authorization = dbo" >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/worker" -l "$BL_WORK/worker.log" -w restart >/dev/null
# (this session as postgres: SET SESSION AUTHORIZATION DEFAULT and SET ROLE NONE undo the two)
asdba() { psql -X -q -At -v ON_ERROR_STOP=1 -d ledger -c "SET SESSION AUTHORIZATION DEFAULT" -c "SET ROLE NONE" "$@"; }
asdba -c "INSERT INTO reading SELECT 'R' || (i % 5), i FROM generate_series(1, 300) i" >/dev/null
for _ in $(seq 20); do
  left=$(asdba -c "SELECT count(*) FROM battledger.log_pending")
  [ "$left" = 0 ] && break; sleep 0.5
done
result=$(psql -X -q -At -d ledger -c "SELECT 'connected as ' || current_user" -c "SET SESSION AUTHORIZATION DEFAULT" -c "SET ROLE NONE" \
           -c "SELECT 'pending=' || count(*) FROM battledger.log_pending")
echo "$result"
for want in 'connected as dbo' 'pending=0'; do
  grep -qx "$want" <<<"$result" || { echo "expected $want (ALTER DATABASE SET role, session_authorization)"; fail=1; }
done
if grep -q 'permission denied for function seal' "$BL_WORK/worker.log"; then
  echo "the worker's seal() ran as the database owner's role"; fail=1
fi
[ $fail = 0 ] && echo "seal_worker: PASS" || { echo "seal_worker: FAIL"; exit 1; }
