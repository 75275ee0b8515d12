#!/usr/bin/env bash
# Red team r12x (0.12.0 review, the consortium under faults; the cases the
# r12 script test/redteam/r12_0120_findings.sh leaves out).  Member a
# publishes, member b joins a; b's battledger.consortium_status() and
# battledger.health() are read at about 5 Hz while a fault lasts.
# Each case prints "ok <case>" when the property holds and "FAIL <case>: ..."
# when it does not; exit status: the number of FAILs (0 = all hold).
#   X1  a session at b holds a lock on a ledger table (LOCK TABLE ... IN
#       SHARE MODE, as a long report or a VACUUM FULL / REINDEX would) while
#       a writes: b's apply worker waits on the lock, applies nothing, and
#       is alive with a recent message; from deadlock_timeout + 1 s on, no
#       sample may say "ok" nor health() members_not_ok = 0, and the reason
#       names the blocking pid (main at 0.12.0's opening: "ok" in 28 of 28
#       samples over 25 s, members_not_ok = 0 in all; "silent" would have
#       come after twice wal_receiver_timeout, blaming the network; fixed:
#       "blocked" from pg_locks.waitstart)
#   X2  the lock released: the rows arrive, "ok" again, members_not_ok = 0
#   X3  the update from 0.11.0 gives consortium_status() the install's body
#       and comment, and its helper _lock_wait_reason() the install's body
#       and privileges (sql/upgrade/0.11.0--0.12.0/4[67]_status_blocked.*)
#   X4  a hangs (every process of its cluster stopped with SIGSTOP, as a
#       frozen VM or a network partition without resets would): b's status
#       leaves "ok" within wal_receiver_timeout plus two retry intervals plus
#       10 s (measured, 0.12.0: the worker times out after
#       wal_receiver_timeout, 60 s, and its successor waits on the frozen
#       member with nothing received: "silent") and stays not ok
#   X5  a resumes (SIGCONT): b is "ok" again and receives a's new row
#   X6  writers race on a row: a local writer at b holds an uncommitted row
#       with the key of a unique index an arriving row of a also has (the
#       arrival check's probe waits for that transaction): "blocked", the
#       reason naming a transactionid lock and the writer's pid; once the
#       writer rolls back, the row arrives and the status is "ok" (main
#       at 0.12.0's opening: "ok" in 19 of 19 samples; fixed with X1)
# Ports 57590-57591.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }

bl_scratch
FROZEN=""
# X4 stops a's processes: whatever happens, they are resumed before the
# clusters are stopped (an immediate stop cannot reach a stopped process)
thaw_a() { [ -n "$FROZEN" ] && kill -CONT $FROZEN 2>/dev/null; FROZEN=""; }
trap 'rc=$?; thaw_a; (exit $rc); bl_cleanup' EXIT
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([a]=57590 [b]=57591)
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
A=a.example/log
wait_for() {
  local m=$1 sql=$2 i
  for i in $(seq 1 300); do
    [ "$(q "$m" -c "$sql" 2>/dev/null)" = t ] && return 0
    sleep 0.2
  done
  echo "# timed out at $m waiting for: $sql"; return 1
}
# sample SECONDS: b's state for a and health()'s members_not_ok at ~5 Hz;
# sets N, N_OK (state ok), N_HOK (members_not_ok = 0), STATES, REASON (last)
sample() {
  local end=$((SECONDS + $1)) st hz
  N=0; N_OK=0; N_HOK=0; STATES=""
  while [ $SECONDS -lt $end ]; do
    IFS='|' read -r st hz REASON < <(q b -c "SELECT s.state, h.members_not_ok, s.reason
        FROM battledger.consortium_status() s, battledger.health() h WHERE s.member = '$A'" 2>/dev/null)
    N=$((N + 1))
    [ "$st" = ok ] && N_OK=$((N_OK + 1))
    [ "$hz" = 0 ] && N_HOK=$((N_HOK + 1))
    case " $STATES " in *" $st "*) ;; *) STATES="$STATES $st";; esac
    sleep 0.2
  done
}

for m in a b; do
  bl_member_start "$m" "$W"
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('reading', 'battery');
SELECT battledger.publish_member();
SQL
done
bl_member_keys a
bl_join b a
q a -c "INSERT INTO reading SELECT 'B' || i % 10, 100 - i * 0.01 FROM generate_series(1, 100) i" \
    -c "SELECT battledger.seal()" >/dev/null
wait_for b "SELECT count(*) = 100 FROM reading" || fail setup "b did not receive a's rows"
wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" || fail setup "b is not ok"

# X1: a local session at b holds SHARE on reading for 40 s
psql -X -q -h "$BL_WORK" -p "${PORT[b]}" -d bl -c "BEGIN" -c "LOCK TABLE reading IN SHARE MODE" \
     -c "SELECT pg_sleep(40)" -c "COMMIT" >/dev/null 2>&1 &
LOCKER=$!
sleep 1
q a -c "INSERT INTO reading VALUES ('B1', 42)" >/dev/null
# a also writes on, so that messages keep arriving... they cannot: the
# worker is stuck in the insert; what the status reads is what it last heard
sleep 2     # past deadlock_timeout (1 s)
sample 25
waiting=$(q b -c "SELECT count(*) FROM pg_locks l JOIN pg_stat_subscription s ON s.pid = l.pid WHERE NOT l.granted")
echo "# X1: $N samples, states:$STATES; health 0 not ok $N_HOK times; worker waiting on locks: $waiting; reason: $REASON"
if [ "$waiting" = 0 ]; then fail X1 "the apply worker was not waiting on a lock: the fault was not made"
elif [ $N_OK -gt 0 ] || [ $N_HOK -gt 0 ]; then
  fail X1 "status said ok $N_OK of $N times, health members_not_ok = 0 $N_HOK times, while the apply worker waited on a lock"
elif ! q b -c "SELECT reason FROM battledger.consortium_status() WHERE member = '$A'" | grep -q "pid"; then
  fail X1 "the reason does not name the blocking session: $REASON"
else ok X1; fi
wait "$LOCKER"

# X2: released, the row arrives and the status is ok again
if wait_for b "SELECT count(*) = 101 FROM reading" && \
   wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" && \
   [ "$(q b -c "SELECT members_not_ok FROM battledger.health()")" = 0 ]; then ok X2
else fail X2 "after the lock: $(q b -c "SELECT state, reason FROM battledger.consortium_status()")"; fi

# X3: 0.11.0 updated to this version, against a fresh install
q b >/dev/null <<'SQL'
CREATE DATABASE up;
SQL
fdef() { psql -X -q -At -h "$BL_WORK" -p "${PORT[b]}" -d "$1" -c "SELECT md5(pg_get_functiondef('battledger.consortium_status()'::regprocedure)
  || coalesce(obj_description('battledger.consortium_status()'::regprocedure, 'pg_proc'), '-')
  || pg_get_functiondef('battledger._lock_wait_reason(oid)'::regprocedure)
  || (SELECT proacl::text FROM pg_proc WHERE oid = 'battledger._lock_wait_reason(oid)'::regprocedure))"; }
psql -X -q -At -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[b]}" -d up \
     -c "CREATE EXTENSION battledger VERSION '0.11.0'" -c "ALTER EXTENSION battledger UPDATE" >/dev/null 2>&1
old=$(psql -X -q -At -h "$BL_WORK" -p "${PORT[b]}" -d up -c "SELECT extversion FROM pg_extension WHERE extname = 'battledger'")
if [ "$old" != "$(q b -c "SELECT extversion FROM pg_extension WHERE extname = 'battledger'")" ]; then
  fail X3 "the update from 0.11.0 did not reach the installed version (at $old)"
elif [ "$(fdef up)" != "$(fdef bl)" ]; then fail X3 "consortium_status() after the update differs from the install's"
else ok X3; fi

# X4: a hangs.  Its postmaster first, so that it starts no new process.
wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" >/dev/null
pm=$(head -n 1 "$BL_WORK/a/postmaster.pid")
kill -STOP "$pm"; FROZEN=$pm
for p in $(ps -o pid= --ppid "$pm"); do kill -STOP "$p" && FROZEN="$FROZEN $p"; done
t0=$SECONDS; first=""; okafter=0; n=0
rto=$(q b -c "SELECT extract(epoch FROM current_setting('wal_receiver_timeout')::interval
                     + 2 * current_setting('wal_retrieve_retry_interval')::interval)::int + 10")
while [ $((SECONDS - t0)) -lt $((rto + 20)) ]; do
  st=$(q b -c "SELECT s.state FROM battledger.consortium_status() s WHERE s.member = '$A'" 2>/dev/null)
  n=$((n + 1))
  if [ "$st" != ok ] && [ -z "$first" ]; then first=$((SECONDS - t0)); firststate=$st; fi
  [ -n "$first" ] && [ "$st" = ok ] && okafter=$((okafter + 1))
  sleep 0.2
done
hz=$(q b -c "SELECT members_not_ok FROM battledger.health()")
echo "# X4: first not ok after ${first:-never} s ($firststate; bound $rto s), ok again $okafter times after that of $n samples; members_not_ok at the end $hz"
if [ -z "$first" ] || [ "$first" -gt "$rto" ]; then fail X4 "the status said ok for more than $rto s while a was frozen (first not ok: ${first:-never})"
elif [ "$okafter" -gt 0 ] || [ "$hz" != 1 ]; then fail X4 "ok again $okafter times while a was still frozen; members_not_ok $hz"
else ok X4; fi

# X5: a resumes
thaw_a
q a -c "INSERT INTO reading VALUES ('B2', 41)" >/dev/null
if wait_for b "SELECT count(*) = 102 FROM reading" && \
   wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'"; then ok X5
else fail X5 "after a resumed: $(q b -c "SELECT state, reason FROM battledger.consortium_status()")"; fi

# X6: a local writer's uncommitted row holds the arriving one
q b -c "CREATE UNIQUE INDEX r12x_u ON reading (battery) WHERE battery = 'U'" >/dev/null
psql -X -q -h "$BL_WORK" -p "${PORT[b]}" -d bl -c "BEGIN" -c "INSERT INTO reading VALUES ('U', 1)" \
     -c "SELECT pg_sleep(20)" -c "ROLLBACK" >/dev/null 2>&1 &
WRITER=$!
sleep 1
q a -c "INSERT INTO reading VALUES ('U', 2)" >/dev/null
sleep 4
sample 8
echo "# X6: $N samples, states:$STATES; health 0 not ok $N_HOK times; reason: $REASON"
if [ $N_OK -gt 0 ] || [ $N_HOK -gt 0 ]; then fail X6 "status said ok $N_OK of $N times while the worker waited on a local writer's row"
else case "$REASON" in
  *transactionid*) ok X6 ;;
  *) fail X6 "states:$STATES; the reason does not name the row lock: $REASON" ;;
esac; fi
wait "$WRITER"
if wait_for b "SELECT count(*) = 1 FROM reading WHERE battery = 'U'" && \
   wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'"; then ok X6-recovery
else fail X6-recovery "after the writer rolled back: $(q b -c "SELECT state, reason FROM battledger.consortium_status()")"; fi

exit $FAILS
