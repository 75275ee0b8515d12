#!/usr/bin/env bash
# s23 (0.23.0): a re-join's copy compares the leaves it finds stored.
# Until 0.23.0 the copy of a member's log_leaf skipped every leaf whose
# index the witness held already (ON CONFLICT DO NOTHING), unread: a member
# that rewrote its log while the witness's slot was gone showed the
# re-joining witness another leaf below the size it had cosigned, and
# nothing said so until a later checkpoint over it came (red team r26, B1
# to B4 notes; docs/consortium.md, "A checkpoint a join again copies").
# Members: a (a.example, the log; its superuser swaps two leaves of its
# log_leaf past the append-only trigger, signing nothing), witnesses b and
# c.  Each case prints "ok   - ..." when the property holds, "FAIL - ..."
# for a finding; exit status: the number of FAILs.
#
#   L1  b re-joins a after a's leaves 10 and 11 were swapped, a's
#       checkpoints left as they were: the copy must name the rewritten
#       leaf (log_conflict rewritten_leaf, the checkpoint b cosigned that
#       covers it as held_note), the status "log conflict"; the leaf b
#       stored is kept.  On main 5516ce4: nothing recorded, status ok.
#   L2  (control) c re-joins a before the swap: the same leaves copied
#       again, nothing recorded, status ok.
# PG_BIN: the build under test.  S23_PORT (default 55645; uses 3 ports).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
P=${S23_PORT:-55645}
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([a]=$P [b]=$((P + 1)) [c]=$((P + 2)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [c]=c.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
all_ready() { echo "SELECT coalesce(bool_and(srsubstate = 'r'), false) FROM pg_subscription_rel"; }
cosigned() { q "$1" -c "SELECT coalesce(string_agg(tree_size::text, ',' ORDER BY tree_size), '') FROM battledger.cosignature WHERE log_origin = 'a.example/log' AND witness = '${ORIGIN[$1]}'"; }
status() { q "$1" -c "SELECT state FROM battledger.consortium_status() WHERE member = 'a.example/log'"; }
conflicts() { q "$1" -c "SELECT coalesce(string_agg(problem, ',' ORDER BY problem), '') FROM battledger.log_conflict WHERE origin = 'a.example/log'"; }
# the operator's recovery after a lost slot (docs/consortium.md, "A member's slot was lost"): drop, then join again
drop_sub() {
  local sub; sub=$(q "$1" -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'a.example/log'")
  q "$1" -c "ALTER SUBSCRIPTION $sub DISABLE" -c "ALTER SUBSCRIPTION $sub SET (slot_name = NONE)" \
      -c "DROP SUBSCRIPTION $sub" -c "DELETE FROM battledger.consortium_member WHERE origin = 'a.example/log'" >/dev/null
  q a -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE '$sub%' AND NOT active" >/dev/null
}
rogue() { q a -c "ALTER TABLE battledger.log_leaf DISABLE TRIGGER battledger_append_only" -c "$1" \
               -c "ALTER TABLE battledger.log_leaf ENABLE ALWAYS TRIGGER battledger_append_only" >/dev/null; }

bl_member_start a "$W" ""
for m in b c; do bl_member_start "$m" "$W" witness; done
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
q a -c "INSERT INTO soh SELECT 'A' || i, 100 FROM generate_series(1, 20) i" -c "SELECT battledger.seal()" >/dev/null
q a -c "INSERT INTO soh SELECT 'B' || i, 90 FROM generate_series(1, 5) i" -c "SELECT battledger.seal()" >/dev/null
for m in b c; do bl_join "$m" a; done
for m in b c; do bl_wait_for "$m" "SELECT count(*) = 1 FROM battledger.cosignature WHERE tree_size = 25"; done
for m in b c; do drop_sub "$m"; done

# L2 (control): c joins again, a unchanged
bl_join c a
bl_wait_for c "$(all_ready)"
sleep 2
check "L2 re-join, a's log unchanged: nothing recorded, status ok" "$(conflicts c):$(status c)" ":ok"

# a's rogue DBA swaps leaves 10 and 11 of its log (its checkpoints left as they are)
rogue "UPDATE battledger.log_leaf SET leaf_index = -1 WHERE leaf_index = 10;
       UPDATE battledger.log_leaf SET leaf_index = 10 WHERE leaf_index = 11;
       UPDATE battledger.log_leaf SET leaf_index = 11 WHERE leaf_index = -1"
before=$(q b -c "SELECT leaf_hash::text FROM battledger.peer_leaf WHERE origin = 'a.example/log' AND leaf_index = 10")
bl_join b a
bl_wait_for b "$(all_ready)"
sleep 2
check "L1 re-join, two of a's leaves below the size b cosigned swapped: conflict recorded" "$(conflicts b)" "rewritten_leaf"
check "L1 it names leaf 10 and, as held, the checkpoint b cosigned over it (25)" \
  "$(q b -c "SELECT detail LIKE 'Leaf 10 %' AND held_note LIKE '%' || E'\n' || '25' || E'\n' || '%' AND new_note IS NULL FROM battledger.log_conflict WHERE origin = 'a.example/log'")" t
echo "# detail: $(q b -c "SELECT detail FROM battledger.log_conflict WHERE origin = 'a.example/log'")"
check "L1 b's status is not ok" "$(status b)" "log conflict"
check "L1 b kept the leaf it had" \
  "$(q b -c "SELECT leaf_hash::text FROM battledger.peer_leaf WHERE origin = 'a.example/log' AND leaf_index = 10")" "$before"
# joined once more: recorded once
drop_sub b; bl_join b a; bl_wait_for b "$(all_ready)"; sleep 2
check "L1 a second re-join records it no second time" "$(conflicts b)" "rewritten_leaf"
echo "# $FAILS FAILs"
exit $FAILS
