#!/usr/bin/env bash
# The log queue is an unlogged table: a physical standby has the ledger rows
# but not the queue.  On the hot standby verify_log() says the unsealed rows
# were not checked (queue_not_checked) instead of failing or calling them
# missing, and health() gives pending_rows as NULL; once promoted, the first
# seal() re-queues the unsealed rows from the table, so every row is sealed
# exactly once and the log verifies.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
P=${STANDBY_PORT:-55458}; P2=$((P + 1))
bl_start_cluster primary "$P" "$(bl_test_log_conf standby.test/log)
wal_level = replica"
createdb ledger
psql -X -q -v ON_ERROR_STOP=1 -d ledger <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, v int);
SELECT battledger.enable_ledger('reading', 'battery');
INSERT INTO reading SELECT 'B' || (i % 7), i FROM generate_series(1, 300) i;
SELECT battledger.seal() IS NOT NULL AS sealed;
INSERT INTO reading SELECT 'B' || (i % 7), i FROM generate_series(301, 500) i;
SQL
fail=0
expect() { grep -qx "$1" <<<"$2" || { echo "expected $1"; fail=1; }; }

# -c fast: the backup starts with an immediate checkpoint, not a spread one,
# which paces its writes over checkpoint_completion_target of 5 minutes and
# kept this scenario waiting a minute or more on a loaded machine
as_pg "$PG_BIN/pg_basebackup" -h "$BL_WORK" -p $P -U postgres -D "$BL_WORK/standby" -R -X stream -c fast >/dev/null
sed -i "s/^port = $P\$/port = $P2/" "$BL_WORK/standby/postgresql.conf"
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/standby" -l "$BL_WORK/standby.log" -w start >/dev/null
sb() { psql -X -At -p $P2 -d ledger "$@"; }
# wait until the standby has replayed the last insert
for _ in $(seq 50); do [ "$(sb -c 'SELECT count(*) FROM reading')" = 500 ] && break; sleep 0.2; done

result=$(sb <<'SQL'
SELECT 'in_recovery=' || pg_is_in_recovery();
SELECT 'rows=' || count(*) FROM reading;
SELECT 'standby_problems=' || string_agg(problem, ',' ORDER BY problem) FROM battledger.verify_log(true);
SELECT 'pending_rows=' || coalesce(pending_rows::text, 'null') FROM battledger.health();
SQL
)
echo "$result"
for want in in_recovery=true rows=500 standby_problems=queue_not_checked pending_rows=null; do expect "$want" "$result"; done

# the primary, whose queue is whole, still checks every row
result=$(psql -X -At -p $P -d ledger -c "SELECT 'primary_problems=' || count(*) FROM battledger.verify_log(true)")
echo "$result"; expect primary_problems=0 "$result"

# (the primary keeps running: bl_cleanup stops both clusters and expects them up)
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/standby" -w promote >/dev/null
result=$(sb <<'SQL'
SELECT 'promoted_intact=' || count(*) FROM battledger.log_pending_intact;
SELECT battledger.seal() IS NOT NULL AS sealed \gset
SELECT 'leaves=' || count(*) FROM battledger.log_leaf;
SELECT 'pending=' || count(*) FROM battledger.log_pending;
SELECT 'promoted_problems=' || count(*) FROM battledger.verify_log(true);
SQL
)
echo "$result"
for want in promoted_intact=0 leaves=500 pending=0 promoted_problems=0; do expect "$want" "$result"; done
grep -q 're-queued 200 unsealed rows' "$BL_WORK/standby.log" || { echo "no re-queue of the 200 unsealed rows in the standby's log"; fail=1; }
[ $fail = 0 ] && echo "standby: PASS" || { echo "standby: FAIL"; exit 1; }
