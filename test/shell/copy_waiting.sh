#!/usr/bin/env bash
# A join's copy that cannot start for want of a worker is named (0.24.0):
# a table in state 'i' whose table-sync worker is never launched (this
# server's max_sync_workers_per_subscription = 0, every logical
# replication worker slot taken, or every background worker slot taken:
# PostgreSQL says so only in a WARNING of the server log, "out of logical
# replication worker slots" / "out of background worker slots") showed
# "copying" for ever.  The status must say "copy waiting" and name the
# setting to raise; once it is raised, the copy runs and the member is ok.
# At the member, its max_wal_senders all in use makes each sync worker fail
# to connect: "copy failing", whose reason names that setting there.
# COPY_WAIT_PORT (default 55880; uses 2 ports).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"

bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
fail=0
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then echo "ok   - $what"; else echo "FAIL - $what: got '$got', want '$want'"; fail=1; fi; }
P=${COPY_WAIT_PORT:-55880}
declare -A PORT=([a]=$P [g]=$((P + 1)))
declare -A ORIGIN=([a]=a.example/log [g]=g.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
status() { q g -c "SELECT state FROM battledger.consortium_status() WHERE member = 'a.example/log'"; }
reason() { q g -c "SELECT reason FROM battledger.consortium_status() WHERE member = 'a.example/log'"; }
restart() {  # restart MEMBER: settings of ALTER SYSTEM that need a restart
  as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/$1" -m fast stop >/dev/null
  as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/$1" -l "$BL_WORK/$1.log" -w start >/dev/null
}
apply_worker() { bl_wait_for g "SELECT count(*) > 0 FROM pg_stat_subscription WHERE relid IS NULL AND pid IS NOT NULL"; }
# none of a's tables copied, none being copied: every table in state i, no sync worker
nothing_copied() {
  q g -c "SELECT count(*) FILTER (WHERE srsubstate <> 'i') || ':' || (SELECT count(*) FROM pg_stat_subscription WHERE relid IS NOT NULL) FROM pg_subscription_rel"
}

bl_member_start a "$W" ""
bl_member_start g "$W" "" "$BL_QUICK_RETRY"
for m in a g; do
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE soh (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('soh', 'battery');
SELECT battledger.publish_member();
SQL
done
bl_member_keys a
q a -c "INSERT INTO soh SELECT 'A' || i, 100 FROM generate_series(1, 20) i" -c "SELECT battledger.seal()" >/dev/null

# 1. no table-sync worker per subscription allowed: nothing is ever copied
q g -c "ALTER SYSTEM SET max_sync_workers_per_subscription = 0" -c "SELECT pg_reload_conf()" >/dev/null
bl_join g a
apply_worker
bl_wait_for g "SELECT state = 'copy waiting' FROM battledger.consortium_status() WHERE member = 'a.example/log'" 25 >/dev/null || true
sleep 2
check "g, max_sync_workers_per_subscription = 0: nothing copied, no sync worker" "$(nothing_copied)" "0:0"
check "g, max_sync_workers_per_subscription = 0: status 'copy waiting' (was 'copying' for ever)" "$(status)" "copy waiting"
check "g: the reason names max_sync_workers_per_subscription = 0" \
  "$(reason | grep -c 'max_sync_workers_per_subscription = 0')" 1
echo "# reason: $(reason)"

# 2. the only logical replication worker slot taken by the apply worker
q g -c "ALTER SYSTEM RESET max_sync_workers_per_subscription" -c "ALTER SYSTEM SET max_logical_replication_workers = 1" >/dev/null
restart g
apply_worker
bl_wait_for g "SELECT state = 'copy waiting' FROM battledger.consortium_status() WHERE member = 'a.example/log'" 25 >/dev/null || true
check "g, max_logical_replication_workers = 1: nothing copied, no sync worker" "$(nothing_copied)" "0:0"
grep -q 'out of logical replication worker slots' "$BL_WORK/g.log" && saw=yes || saw=no
check "g's server log: out of logical replication worker slots" "$saw" yes
check "g, max_logical_replication_workers = 1: status 'copy waiting'" "$(status)" "copy waiting"
check "g: the reason names max_logical_replication_workers (1 in use of 1)" \
  "$(reason | grep -c 'max_logical_replication_workers.*1 of 1')" 1
echo "# reason: $(reason)"

# 3. every background worker slot taken (the launcher and the apply worker)
q g -c "ALTER SYSTEM RESET max_logical_replication_workers" -c "ALTER SYSTEM SET max_worker_processes = 2" >/dev/null
restart g
apply_worker
bl_wait_for g "SELECT state = 'copy waiting' FROM battledger.consortium_status() WHERE member = 'a.example/log'" 25 >/dev/null || true
check "g, max_worker_processes = 2: nothing copied, no sync worker" "$(nothing_copied)" "0:0"
grep -q 'out of background worker slots' "$BL_WORK/g.log" && saw=yes || saw=no
check "g's server log: out of background worker slots" "$saw" yes
check "g, max_worker_processes = 2: status 'copy waiting'" "$(status)" "copy waiting"
check "g: the reason names max_worker_processes (2 of 2)" \
  "$(reason | grep -c 'max_worker_processes.*2 of 2')" 1
# the count is of background workers (0.25.0: of what max_worker_processes
# limits, not of pg_stat_activity's rows that are none of PostgreSQL's own
# kinds): here the launcher and the apply worker, whose kinds every major
# names "logical replication ..."
check "g: _background_workers() counts the launcher and the apply worker" \
  "$(q g -c "SELECT battledger._background_workers() || ':' || count(*) FROM pg_stat_activity WHERE backend_type LIKE 'logical replication %'")" "2:2"
echo "# reason: $(reason)"

# 4. at the member, its only WAL sender taken by g's apply worker: each
# sync worker fails to connect (a copy error counted)
# (g stopped meanwhile, so that its apply worker connects first)
q g -c "ALTER SYSTEM RESET max_worker_processes" >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/g" -m fast stop >/dev/null
q a -c "ALTER SYSTEM SET max_wal_senders = 1" >/dev/null
restart a
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/g" -l "$BL_WORK/g.log" -w start >/dev/null
apply_worker
bl_wait_for g "SELECT state = 'copy failing' FROM battledger.consortium_status() WHERE member = 'a.example/log'" 100 >/dev/null || true
grep -q 'number of requested standby connections exceeds max_wal_senders' "$BL_WORK/g.log" && saw=yes || saw=no
check "g's server log: a's max_wal_senders exceeded" "$saw" yes
check "g, a's WAL senders all in use: status 'copy failing'" "$(status)" "copy failing"
check "g: the reason names max_wal_senders at the member" \
  "$(reason | grep -c 'max_wal_senders')" 1
echo "# reason: $(reason)"

# the recovery: the settings raised, the copy runs by itself
q a -c "ALTER SYSTEM RESET max_wal_senders" >/dev/null
restart a
bl_wait_for g "SELECT bool_and(srsubstate = 'r') FROM pg_subscription_rel" 300 >/dev/null || true
bl_wait_for g "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = 'a.example/log'" 250 >/dev/null || true
check "g, the settings raised: every table copied, status ok" \
  "$(q g -c "SELECT bool_and(srsubstate = 'r') FROM pg_subscription_rel"):$(status)" "t:ok"
# the workers counted are those running, none other: a client backend,
# the walsender a's subscription... none is one
# (a worker starting or exiting is a moment in one and not yet in the other)
bgw="SELECT battledger._background_workers() || ' of ' || count(*) FROM pg_stat_activity WHERE backend_type LIKE 'logical replication %' OR backend_type = 'parallel worker'"
bl_wait_for g "SELECT battledger._background_workers() = count(*) FROM pg_stat_activity WHERE backend_type LIKE 'logical replication %' OR backend_type = 'parallel worker'" 25 >/dev/null || true
check "g, settings raised: _background_workers() = the logical replication workers running" \
  "$(q g -c "$bgw")" "2 of 2"
check "g: a's 20 rows arrived" "$(q g -c "SELECT count(*) FROM soh WHERE ledger_origin = 'a.example/log'")" 20
exit $fail
