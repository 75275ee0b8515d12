#!/usr/bin/env bash
# A member away longer than its publisher keeps WAL for it (issue 11, item 5):
#   - the publisher's slot for it is invalidated (max_slot_wal_keep_size);
#   - the member's consortium_status() names the fault (not "ok"), also for
#     a member c cut off in the middle of its join's copy (its copy can
#     never finish: the status once said "copying" for ever there);
#   - the documented recovery (docs/consortium.md, "A member's slot was
#     lost") brings it back: drop the subscription, join again; the copy
#     skips the rows already held and brings the missed ones, and
#     everything received verifies.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"

bl_scratch
W=$BL_WORK/slots; mkdir -p "$W"; chmod 755 "$W"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }

P=${SLOT_LOSS_PORT:-55471}
declare -A PORT=([a]=$P [b]=$((P + 1)) [c]=$((P + 2)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [c]=c.example/log)
# c copies nothing (no table-sync workers): its join stays in the copy
declare -A EXTRA=([c]="max_sync_workers_per_subscription = 0")
declare -A LOGV WITV
q() { bl_mq "$@"; }

for m in a b c; do
  # a keeps at most 1 MB of WAL beyond what its slots need: a member away
  # while more is written loses its slot
  bl_member_start "$m" "$W" "" "max_slot_wal_keep_size = 1MB
wal_keep_size = 0
min_wal_size = 32MB
max_wal_size = 32MB
${EXTRA[$m]:-}"
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('reading', 'battery');
SELECT battledger.publish_member();
SQL
done
bl_member_keys a
join_a() { bl_join "${1:-b}" a; }      # join_a [MEMBER]: MEMBER (default b) joins a
join_a
join_a c
q a -c "INSERT INTO reading SELECT 'B' || i % 10, 100 - i * 0.01 FROM generate_series(1, 200) i" \
    -c "SELECT battledger.seal()" >/dev/null
bl_wait_for b "SELECT count(*) = 200 FROM reading"
check "b: received a's first rows" true
# b has joined only once every table is copied and marked ready (state r):
# the apply worker marks a copied table ready once it streams past the
# copy's end, and under load that comes well after "reading" holds its rows.
# A member stopped before then comes back with a copy it cannot finish (no
# slot to stream from): that is c's case, checked apart below.
sub=$(q b -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'a.example/log'")
sub_c=$(q c -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'a.example/log'")
bl_wait_for b "SELECT bool_and(r.srsubstate = 'r') FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
             WHERE s.subname = '$sub'"
# (no table-sync worker may start at c: "copy waiting" since 0.24.0, naming
# the setting; "copying" before, test/shell/copy_waiting.sh)
bl_wait_for c "SELECT state = 'copy waiting' FROM battledger.consortium_status() WHERE member = 'a.example/log'"
check "c: in the middle of its join's copy (no table copied)" \
  test "$(q c -c "SELECT count(*) FILTER (WHERE srsubstate <> 'r') > 0 FROM pg_subscription_rel")" = t

# b and c go away; a writes on, and keeps switching WAL segments until both slots are lost
for m in b c; do as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/$m" -m fast stop >/dev/null; done
for i in $(seq 1 40); do
  q a -c "INSERT INTO reading SELECT 'B' || i % 10, 90 - i * 0.01 FROM generate_series(1, 100) i" \
      -c "SELECT pg_switch_wal()" -c "CHECKPOINT" >/dev/null
  [ "$(q a -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name IN ('$sub', '$sub_c') AND wal_status = 'lost'")" = 2 ] && break
done
q a -c "SELECT battledger.seal()" >/dev/null
check "a: b's slot was invalidated" test "$(q a -c "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '$sub'")" = lost
check "a: c's slot was invalidated" test "$(q a -c "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '$sub_c'")" = lost
total=$(q a -c "SELECT count(*) FROM reading")

for m in b c; do
  as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/$m" -l "$BL_WORK/$m.log" -w start >/dev/null
done
# what the status reads: no apply worker (pg_stat_subscription), or one
# that has received nothing (received_lsn NULL) while it tries.  (On
# PostgreSQL 15 the worker fails in START_REPLICATION, before it counts
# apply errors: pg_stat_subscription_stats stays at 0, so "not connected",
# not "failing"; the reason is in the server log.)
for m in b c; do
  bl_wait_for "$m" "SELECT state IN ('failing', 'not connected', 'silent') FROM battledger.consortium_status() WHERE member = 'a.example/log'"
  check "$m: consortium_status does not say ok while its slot at a is lost" \
    test "$(q "$m" -c "SELECT state <> 'ok' AND reason IS NOT NULL FROM battledger.consortium_status() WHERE member = 'a.example/log'")" = t
done
# c's copy can never finish: its reason says so, and "copying" (which once
# hid the fault for ever) is not what it shows
bl_wait_for c "SELECT state IN ('failing', 'not connected') FROM battledger.consortium_status() WHERE member = 'a.example/log'"
check "c: the reason names the unfinished copy" \
  test "$(q c -c "SELECT reason LIKE '%not copied yet.' FROM battledger.consortium_status() WHERE member = 'a.example/log'")" = t
check "b: and it has not received a's later rows" test "$(q b -c "SELECT count(*) < $total FROM reading")" = t

# the recovery, as docs/consortium.md gives it
q b -c "ALTER SUBSCRIPTION $sub DISABLE" -c "ALTER SUBSCRIPTION $sub SET (slot_name = NONE)" \
    -c "DROP SUBSCRIPTION $sub" >/dev/null
q a -c "SELECT pg_drop_replication_slot('$sub')" >/dev/null
q b -c "DELETE FROM battledger.consortium_member WHERE origin = 'a.example/log'" >/dev/null
join_a
bl_wait_for b "SELECT bool_and(r.srsubstate = 'r') FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
             WHERE s.subname = '$sub'"
bl_wait_for b "SELECT count(*) = $total FROM reading"
check "b: joined again, caught up with every row of a" test "$(q b -c "SELECT count(*) FROM reading")" = "$total"
check "b: nothing refused on the way" test "$(q b -c "SELECT count(*) FROM battledger.rejections")" = 0
bl_wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = 'a.example/log'"
check "b: consortium_status ok again" \
  test "$(q b -c "SELECT state FROM battledger.consortium_status() WHERE member = 'a.example/log'")" = ok
check "b: everything received from a verifies" \
  test "$(q b -c "SELECT count(*) FROM battledger.verify_member('a.example/log')")" = 0
[ $fail = 0 ] && echo "slot_loss: PASS" || { echo "slot_loss: FAIL"; exit 1; }
