#!/usr/bin/env bash
# A member seals while a witness's join still copies tables (cos17): the
# checkpoint reaches the witness while its subscription is not ready, and
# is held there unverified (docs/consortium.md, "Rows copied when a member
# joins").  Until 0.21.0 it was verified by the member's next checkpoint
# only, and never cosigned: with no further seal, the witness held the
# member's latest checkpoint without ever cosigning it (consortium.sh on
# PostgreSQL 17 waited three minutes for a cosignature).  Both orders:
#   1. checkpoint and leaves together, applied by the apply worker while
#      another table (soh, locked here) is still being copied;
#   2. the checkpoint before its leaves: the sync of log_leaf held back (its
#      pg_subscription_rel row locked here, which only that table's sync
#      worker updates) while the apply worker applies the checkpoint; the
#      leaves come later, by that sync worker, in a transaction of its own.
# Each time the witness must cosign the held checkpoint once its leaves are
# all there, with no further seal by the member; verify_member() finds
# nothing and no conflict is recorded.  Then the member's next checkpoint is
# witnessed as usual (before the fix, only that one was cosigned).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"

bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }

P=${WITNESS_JOIN_COPY_PORT:-55530}
declare -A PORT=([a]=$P [b]=$((P + 1)) [c]=$((P + 2)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [c]=c.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
bl_on_timeout() {
  local o
  for o in a b c; do
    [ -f "$BL_WORK/$o.log" ] || continue
    echo "-- at $o"; q "$o" -c "SELECT srrelid::regclass, srsubstate FROM pg_subscription_rel" \
      -c "SELECT origin, tree_size, frontier IS NOT NULL FROM battledger.peer_checkpoint" \
      -c "SELECT log_origin, tree_size, witness FROM battledger.cosignature" || true
  done
}
# the state of MEMBER's subscription's relation REL
substate() { q "$1" -c "SELECT srsubstate FROM pg_subscription_rel WHERE srrelid = '$2'::regclass"; }
# how many cosignatures by MEMBER of a's checkpoints MEMBER holds
cosigned_by() { q "$1" -c "SELECT count(*) FROM battledger.cosignature WHERE log_origin = 'a.example/log' AND witness = '${ORIGIN[$1]}'"; }
all_ready() { echo "SELECT coalesce(bool_and(srsubstate = 'r'), false) FROM pg_subscription_rel"; }
# hold LOCKSQL in a session of MEMBER (application_name cos17_hold) until release
hold() {
  psql -X -q -At -h "$BL_WORK" -p "${PORT[$1]}" -d bl -v ON_ERROR_STOP=1 \
    -c "SET application_name = 'cos17_hold'" -c "BEGIN" -c "$2" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
  bl_wait_for "$1" "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'cos17_hold' AND state = 'active' AND query LIKE '%pg_sleep%'"
}
release() { q "$1" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'cos17_hold'" >/dev/null; }

# a: a log, no witness; b and c: witnesses of a
bl_member_start a "$W" "" "$BL_QUICK_RETRY"
bl_member_start b "$W" witness "$BL_QUICK_RETRY"
bl_member_start c "$W" witness "$BL_QUICK_RETRY"
for m in a b c; do
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE soh (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('soh', 'battery');
SELECT battledger.publish_member();
SQL
done
bl_member_keys a
for m in b c; do bl_member_keys "$m" witness; done
q a -c "INSERT INTO soh SELECT 'B' || i, 100 FROM generate_series(1, 20) i"

# --- 1. b joins a while b's copy of soh is held: a seals meanwhile
hold b "LOCK TABLE soh IN SHARE MODE"   # blocks its copy, not CREATE SUBSCRIPTION
bl_join b a
bl_wait_for b "SELECT count(*) = 2 FROM pg_subscription_rel WHERE srsubstate = 'r' AND srrelid IN ('battledger.log_leaf'::regclass, 'battledger.checkpoint'::regclass)"
q a -c "SELECT battledger.seal()" >/dev/null
bl_wait_for b "SELECT count(*) = 1 FROM battledger.peer_checkpoint"
check "1. b held a's checkpoint while its copy of soh was still going on" \
  test "$(substate b soh)" != r
release b
bl_wait_for b "$(all_ready)"
# no further seal by a: b cosigns the checkpoint it holds, or never does
bl_wait_for b "SELECT count(*) = 1 FROM battledger.cosignature WHERE log_origin = 'a.example/log' AND witness = 'b.example/log'" 100 || true
check "1. b cosigned a's checkpoint held during its join's copy" test "$(cosigned_by b)" = 1
check "1. b: verify_member(a) finds nothing, no conflict" \
  test "$(q b -c "SELECT count(*) FROM battledger.verify_member('a.example/log')"):$(q b -c "SELECT count(*) FROM battledger.log_conflict")" = "0:0"

# --- 2. c joins a with its sync of log_leaf held back: a seals meanwhile,
# the checkpoint reaches c before the leaves it covers
q a -c "INSERT INTO soh SELECT 'C' || i, 90 FROM generate_series(1, 5) i"
# join()'s subscription created disabled: its relations' rows exist, no
# sync worker has started; log_leaf's row locked, then the subscription on
q c -v origin="${ORIGIN[a]}" -v conn="host=$BL_WORK port=${PORT[a]} dbname=bl user=postgres" \
  -v lv="${LOGV[a]}" >/dev/null <<'SQL'
SELECT replace(battledger.join(:'origin', :'conn', :'lv', NULL), 'copy_data = true', 'copy_data = true, enabled = false') \gexec
SQL
hold c "SELECT 1 FROM pg_catalog.pg_subscription_rel WHERE srrelid = 'battledger.log_leaf'::regclass FOR UPDATE"
q c >/dev/null <<'SQL'
SELECT format('ALTER SUBSCRIPTION %I ENABLE', subscription) FROM battledger.consortium_member \gexec
SQL
bl_wait_for c "SELECT srsubstate = 'r' FROM pg_subscription_rel WHERE srrelid = 'battledger.checkpoint'::regclass"
q a -c "SELECT battledger.seal()" >/dev/null
bl_wait_for c "SELECT count(*) = 2 FROM battledger.peer_checkpoint"
check "2. c held a's checkpoint before any leaf of it" \
  test "$(substate c battledger.log_leaf):$(q c -c "SELECT count(*) FROM battledger.peer_leaf")" = "i:0"
release c
bl_wait_for c "$(all_ready)"
bl_wait_for c "SELECT count(*) = 1 FROM battledger.cosignature WHERE log_origin = 'a.example/log' AND witness = 'c.example/log'" 100 || true
check "2. c cosigned a's checkpoint once the leaves came, no further seal" \
  test "$(q c -c "SELECT string_agg(tree_size::text, ',') FROM battledger.cosignature WHERE log_origin = 'a.example/log' AND witness = 'c.example/log'")" = 25
check "2. c: verify_member(a) finds nothing, no conflict" \
  test "$(q c -c "SELECT count(*) FROM battledger.verify_member('a.example/log')"):$(q c -c "SELECT count(*) FROM battledger.log_conflict")" = "0:0"

# a seals again: both witnesses go on as usual
q a -c "INSERT INTO soh VALUES ('D1', 80)" -c "SELECT battledger.seal()" >/dev/null
for m in b c; do
  bl_wait_for "$m" "SELECT count(*) = 1 FROM battledger.cosignature WHERE log_origin = 'a.example/log' AND witness = '${ORIGIN[$m]}' AND tree_size = 26"
  check "$m: a's next checkpoint witnessed, state ok" \
    test "$(q "$m" -c "SELECT state FROM battledger.consortium_status()")" = ok
done

exit $fail
