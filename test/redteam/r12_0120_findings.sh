#!/usr/bin/env bash
# Red team r12 (0.12.0): the consortium under faults -- does every status
# tell the truth?  Member a publishes, member b subscribes to a; each fault
# is made, battledger.consortium_status() and battledger.health() are read
# at ~5 Hz for a while, and the answers that say "ok" are counted.
# Each case prints "ok <case>" when the property holds and "FAIL <case>: ..."
# when it does not; exit status: the number of FAILs (0 = all hold).
#   E0  b's DBA adds a CHECK constraint a's next row fails: the arrival
#       check refuses the row and stops the subscription: "stopped" in
#       every sample (held)
#   E1  schema drift: a's DBA adds a column to a ledger table behind the
#       guard; b's apply worker fails before any trigger ("missing
#       replicated column"), is relaunched every wal_retrieve_retry_interval
#       (1 s at b), errors again; not one sample in 30 s may say "ok" nor
#       health() members_not_ok = 0 (0.11.0's build, 2026-12-05: 46 and 56
#       of 148 status samples "ok" in two runs, health 46 and 59 times; with
#       a one-row transaction 1 of 148 and 4; fixed: "failing" while the
#       worker is younger than three retry intervals, at least 30 s)
#   E2  a's DBA drops b's slot: no sample says "ok"
#   E3  a is stopped: within 2 s no sample says "ok", and none after
#   E4  b's subscription disabled by hand: "stopped"
#   E5  a member c whose max_logical_replication_workers are all in use:
#       never "ok" ("not connected")
#   E6  the recovery of E1 (the same column added at b): the row applies,
#       "ok" again once the window has passed, members_not_ok = 0
#   E7  a's DBA drops a ledger table from the publication: a's later rows
#       of that table never reach b while its leaves and checkpoints do;
#       verify_member() at b reports the missing rows, and the status says
#       "rows missing", naming the table and its counts of leaves and rows
#       received (0.12.0: "ok"; 0.13.0 counts both as they arrive,
#       battledger.peer_arrival); E7-recovery: the table published again
#       and copied anew at b, "ok"
#   E8  a stops sealing (its log does not advance) while its rows still
#       arrive at b: "ok" within battledger.unsealed_after (set to 5 s at
#       b), "unsealed" naming the 200 rows and the table past it (0.12.0:
#       "ok"); E8-recovery: a seals, "ok"
# Exit status: the number of FAILs (0: every case holds).
# Ports 57551-57553 (R12_PORT_BASE + 1..3).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }

bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
# R12_PORT_BASE: another base (within 57550-57597) to run two copies at once
P0=${R12_PORT_BASE:-57550}
declare -A PORT=([a]=$((P0 + 1)) [b]=$((P0 + 2)) [c]=$((P0 + 3)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [c]=c.example/log)
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
# sample MEMBER SECONDS: read status and health at ~5 Hz (psql's \watch: one
# transaction per reading); prints "<samples> <status ok> <health said 0
# members not ok> <states seen>"
sample() {
  local m=$1 out
  out=$(printf '%s\n' "SELECT (SELECT s.state FROM battledger.consortium_status() s WHERE s.member = '$A') || ' ' ||
                              (SELECT h.members_not_ok FROM battledger.health() h)" '\watch 0.2' |
        timeout "$2" psql -X -q -At -h "$BL_WORK" -p "${PORT[$m]}" -d bl 2>/dev/null | grep -v '^$')
  awk '{ n++; if ($1 == "ok") k++; if ($2 == "0") z++; if (!($1 in seen)) { seen[$1] = 1; st = st $1 "," } }
       END { printf "%d %d %d %s\n", n, k + 0, z + 0, (st == "" ? "none" : st) }' <<<"$out"
}

for m in a b c; do
  extra=""
  # b relaunches a failed apply worker after 1 s (default 5 s): a worker
  # erroring in a loop lives a larger share of the time
  [ $m = b ] && extra="wal_retrieve_retry_interval = 1s"
  [ $m = c ] && extra="max_logical_replication_workers = 1
max_sync_workers_per_subscription = 0"
  bl_member_start "$m" "$W" "" "$extra"
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('reading', 'battery');
CREATE TABLE note (battery text, body text);
SELECT battledger.enable_ledger('note', 'battery');
SELECT battledger.publish_member();
SQL
done
bl_member_keys a
bl_join b a
q a -c "INSERT INTO reading SELECT 'B' || i % 10, 90 FROM generate_series(1, 50) i" \
    -c "INSERT INTO note SELECT 'B' || i % 10, 'n' FROM generate_series(1, 5) i" -c "SELECT battledger.seal()" >/dev/null
wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" \
  || fail setup "b never ok: $(q b -c "SELECT state, reason FROM battledger.consortium_status()")"
wait_for b "SELECT count(*) = 50 FROM reading" || fail setup "b did not receive a's rows"

# E0: a CHECK constraint at b that a's next row fails: the arrival check
# refuses the row and stops the subscription ("stopped", never "ok")
q b >/dev/null <<'SQL'
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE reading ADD CONSTRAINT soh_positive CHECK (soh_pct >= 0) NOT VALID;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
SQL
q a -c "INSERT INTO reading VALUES ('B1', -1)" >/dev/null
wait_for b "SELECT NOT subenabled FROM pg_subscription" || true
read -r n okc hz states <<<"$(sample b 3)"
if [ "$n" -ge 5 ] && [ "$okc" = 0 ] && [ "$hz" = 0 ] && [ "$states" = "stopped," ]; then ok E0
else fail E0 "$okc of $n ok, health 0 not ok $hz times, states $states"; fi
sub=$(q b -c "SELECT subscription FROM battledger.consortium_member WHERE origin = '$A'")
q b >/dev/null <<SQL
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE reading DROP CONSTRAINT soh_positive;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
ALTER SUBSCRIPTION $sub ENABLE;
SQL
wait_for b "SELECT count(*) = 51 FROM reading" || fail E0 "b did not apply the row once the constraint went"

# E1: schema drift: a's DBA adds a column to "note" (behind the guard);
# b's apply worker fails on a's next note row ("missing replicated column"),
# an error the arrival check never sees (it comes before the triggers)
q a >/dev/null <<'SQL'
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE note ADD COLUMN extra text;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
SQL
# one transaction of 30,000 rows: a decodes all of it before sending, so
# each relaunched worker lives (pid, fresh keepalives) for a while first
q a -c "INSERT INTO note (battery, body, extra) SELECT 'B' || i % 10, 'drift', 'x' FROM generate_series(1, 30000) i" >/dev/null
wait_for b "SELECT apply_error_count > 0 FROM pg_stat_subscription_stats" || true
read -r n okc hz states <<<"$(sample b 30)"
errs=$(q b -c "SELECT apply_error_count FROM pg_stat_subscription_stats")
if [ "$n" -ge 5 ] && [ "$okc" = 0 ] && [ "$hz" = 0 ] && [ "$errs" -gt 2 ]; then ok E1
else fail E1 "$okc of $n samples said ok, health said 0 members not ok $hz times, apply errors $errs, states seen: $states"; fi

# E6: the recovery (docs/consortium.md): the same column at b; the row applies, ok again
q b >/dev/null <<'SQL'
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE note ADD COLUMN extra text;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
SQL
if wait_for b "SELECT count(*) = 30005 FROM note" \
   && wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" \
   && [ "$(q b -c "SELECT members_not_ok FROM battledger.health()")" = 0 ]; then ok E6
else fail E6 "$(q b -c "SELECT state, reason FROM battledger.consortium_status()") rejections: $(q b -c "SELECT problem FROM battledger.rejections")"; fi

# E4: disabled by hand
sub=$(q b -c "SELECT subscription FROM battledger.consortium_member WHERE origin = '$A'")
q b -c "ALTER SUBSCRIPTION $sub DISABLE" >/dev/null
sleep 1
read -r n okc hz states <<<"$(sample b 3)"
if [ "$n" -ge 5 ] && [ "$okc" = 0 ] && [ "$states" = "stopped," ]; then ok E4; else fail E4 "$okc of $n ok, states $states"; fi
q b -c "ALTER SUBSCRIPTION $sub ENABLE" >/dev/null
wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" || true

# E3: a stopped
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/a" -m fast stop >/dev/null
sleep 2
read -r n okc hz states <<<"$(sample b 20)"
if [ "$n" -ge 5 ] && [ "$okc" = 0 ] && [ "$hz" = 0 ]; then ok E3
else fail E3 "$okc of $n samples said ok (from 2 s after the stop), health 0 not ok $hz times; states $states"; fi
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/a" -l "$BL_WORK/a.log" -w start >/dev/null
wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" || true

# E2: a's DBA drops b's slot (the walsender is ended first, as it holds the slot)
# (pg_terminate_backend waits for the walsender's end; b relaunches its
# worker 1 s later at the earliest: the drop comes first)
for i in $(seq 1 20); do
  q a -c "SELECT pg_terminate_backend(active_pid, 2000) FROM pg_replication_slots WHERE slot_name = '$sub' AND active_pid IS NOT NULL" \
      -c "SELECT pg_drop_replication_slot('$sub')" >/dev/null 2>&1 && break
  sleep 0.3
done
dropped=$(q a -c "SELECT count(*) = 0 FROM pg_replication_slots WHERE slot_name = '$sub'")
q a -c "INSERT INTO reading VALUES ('B2', 80)" >/dev/null
read -r n okc hz states <<<"$(sample b 20)"
if [ "$dropped" != t ]; then fail E2 "could not drop b's slot at a (always active)"
elif [ "$n" -ge 5 ] && [ "$okc" = 0 ] && [ "$hz" = 0 ]; then ok E2
else fail E2 "$okc of $n samples said ok, health 0 not ok $hz times; states $states"; fi
# recovery as docs/consortium.md: drop the subscription, join again
q b -c "ALTER SUBSCRIPTION $sub DISABLE" -c "ALTER SUBSCRIPTION $sub SET (slot_name = NONE)" \
    -c "DROP SUBSCRIPTION $sub" -c "DELETE FROM battledger.consortium_member WHERE origin = '$A'" >/dev/null
bl_join b a
wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" || echo "# E2: b did not come back"

# E5: c's only worker slot taken (a second subscription of c, to b, runs first)
bl_member_keys b
bl_join c b
wait_for c "SELECT count(*) > 0 FROM pg_stat_subscription WHERE pid IS NOT NULL" || true
bl_member_keys a
bl_join c a
sleep 2
read -r n okc hz states <<<"$(sample c 10)"
if [ "$n" -ge 5 ] && [ "$okc" = 0 ] && [ "$hz" = 0 ]; then ok E5; else fail E5 "$okc of $n ok, states $states"; fi

# E7: a drops "note" from its publication
q a -c "ALTER PUBLICATION battledger_member DROP TABLE note" >/dev/null
q a -c "INSERT INTO note VALUES ('B3', 'after')" -c "INSERT INTO reading VALUES ('B3', 70)" \
    -c "SELECT battledger.seal()" >/dev/null
total=$(q a -c "SELECT max(tree_size) FROM battledger.checkpoint")
wait_for b "SELECT coalesce(max(tree_size), 0) >= $total FROM battledger.peer_checkpoint WHERE origin = '$A'" || true
vm=$(q b -c "SELECT count(*) FROM battledger.verify_member('$A')")
st=$(q b -c "SELECT state || ': ' || coalesce(reason, '') FROM battledger.consortium_status() WHERE member = '$A'")
hz=$(q b -c "SELECT members_not_ok FROM battledger.health()")
notes=$(q b -c "SELECT count(*) FROM note")
if [ "$notes" != 30005 ]; then fail E7 "b holds $notes notes (expected 30005: the table left the publication)"
elif [ "$vm" -gt 0 ] && [[ "$st" == "rows missing: "*"public.note: 30006 leaves, 30005 rows received"* ]] && [ "$hz" != 0 ]; then ok E7
else fail E7 "verify_member reports $vm problems; status '$st'; health members_not_ok $hz"; fi
# the recovery (docs/consortium.md): b's subscription forgets the table, a
# publishes it again, b copies it anew (the rows b holds are skipped, the
# missing one arrives)
q b -c "ALTER SUBSCRIPTION $sub REFRESH PUBLICATION" >/dev/null
q a -c "SELECT battledger.publish_member()" >/dev/null
q b -c "ALTER SUBSCRIPTION $sub REFRESH PUBLICATION" >/dev/null
if wait_for b "SELECT count(*) = 30006 FROM note" \
   && wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'"; then ok E7-recovery
else fail E7-recovery "$(q b -c "SELECT count(*) FROM note") notes; $(q b -c "SELECT state, reason FROM battledger.consortium_status()")"; fi

# E8: a writes on without sealing; b's bound for rows waiting on a
# checkpoint set low (battledger.unsealed_after, 5 s): within it the rows
# are a normal transient ("ok"), past it "unsealed"; a's next seal clears it
q b -c "LOAD 'battledger'" -c "ALTER SYSTEM SET battledger.unsealed_after = 5" -c "SELECT pg_reload_conf()" >/dev/null
q a -c "INSERT INTO reading SELECT 'B' || i % 10, 60 FROM generate_series(1, 200) i" >/dev/null
wait_for b "SELECT count(*) > 250 FROM reading" || true
early=$(q b -c "SELECT state FROM battledger.consortium_status() WHERE member = '$A'")
sleep 6
st=$(q b -c "SELECT state || ': ' || coalesce(reason, '') FROM battledger.consortium_status() WHERE member = '$A'")
hz=$(q b -c "SELECT members_not_ok FROM battledger.health()")
if [ "$early" = ok ] && [[ "$st" == "unsealed: 200 rows received from the member (public.reading)"* ]] && [ "$hz" != 0 ]; then ok E8
else fail E8 "within the bound: '$early' (expected ok); past it: '$st'; health members_not_ok $hz"; fi
q a -c "SELECT battledger.seal()" >/dev/null
if wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'"; then ok E8-recovery
else fail E8-recovery "$(q b -c "SELECT state, reason FROM battledger.consortium_status()")"; fi

exit $FAILS
