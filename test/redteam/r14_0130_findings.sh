#!/usr/bin/env bash
# Red team r14 (0.13.0 review): the four changes merged since 0.12.0.
# HEADER: filled in below with each case's result.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }
note() { echo "# $*"; }
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
# R14_PORT_BASE: another base (within 57800-57840) to run two copies at once
P0=${R14_PORT_BASE:-57800}
declare -A PORT=([a]=$((P0 + 1)) [b]=$((P0 + 2)) [s]=$((P0 + 3)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [s]=s.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
A=a.example/log
ONLY=${R14_ONLY:-}          # "L": only the consortium case (the A/B against b0fb4cc^)
wait_for() {
  local m=$1 sql=$2 n=${3:-300} i
  for i in $(seq 1 "$n"); do
    [ "$(q "$m" -c "$sql" 2>/dev/null)" = t ] && return 0
    sleep 0.2
  done
  echo "# timed out at $m waiting for: $sql"; return 1
}
status_a() { q b -c "SELECT state || ': ' || coalesce(reason, '') FROM battledger.consortium_status() WHERE member = '$A'" 2>&1; }

# ------------------------------------------------------------------ L
# leaves arriving at b in a remote transaction without their checkpoint
for m in a b; do
  extra=""
  [ $m = b ] && extra="wal_retrieve_retry_interval = 1s
battledger.unsealed_after = '5s'"
  bl_member_start "$m" "$W" "" "$extra"
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('reading', 'battery');
SELECT battledger.publish_member();
SQL
done
bl_member_keys a
bl_join b a
q a -c "INSERT INTO reading SELECT 'B' || i % 10, 90 FROM generate_series(1, 50) i" -c "SELECT battledger.seal()" >/dev/null
wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" \
  || fail L-setup "b never ok: $(status_a)"
wait_for b "SELECT count(*) = 50 FROM reading" || fail L-setup "b did not receive a's rows"
size0=$(q b -c "SELECT max(tree_size) FROM battledger.peer_checkpoint WHERE origin = '$A'")
note "L: b verified a's log up to $size0"
# L1: a's checkpoint table leaves its publication: the leaves of the next
# seal reach b without their checkpoint (held, stored at commit)
q a -c "ALTER PUBLICATION battledger_member DROP TABLE battledger.checkpoint" >/dev/null
errs0=$(q b -c "SELECT coalesce(sum(apply_error_count), 0) FROM pg_stat_subscription_stats")
q a -c "INSERT INTO reading SELECT 'C' || i % 10, 80 FROM generate_series(1, 20) i" -c "SELECT battledger.seal()" >/dev/null
if wait_for b "SELECT count(*) = 70 FROM reading" 100; then
  sleep 2
  errs=$(q b -c "SELECT coalesce(sum(apply_error_count), 0) FROM pg_stat_subscription_stats")
  if [ "$errs" = "$errs0" ]; then ok L1-held-leaves-applied
  else fail L1-held-leaves-applied "apply errors $errs0 -> $errs: $(grep -m1 -o 'ERROR: .*' "$BL_WORK/b.log" | tail -1)"; fi
else
  fail L1-held-leaves-applied "a's rows never applied at b; apply errors $(q b -c "SELECT sum(apply_error_count) FROM pg_stat_subscription_stats"); b's log: $(grep -o 'ERROR: .*' "$BL_WORK/b.log" | sort | uniq -c | head -3 | tr '\n' ' ')"
fi
note "L: b's peer_leaf for a: $(q b -c "SELECT count(*) FROM battledger.peer_leaf WHERE origin = '$A'") leaves; peer_arrival: $(q b -c "SELECT tbl || ' rows ' || rows_received || ' leaves ' || leaves_received FROM battledger.peer_arrival WHERE origin = '$A'" | tr '\n' ' ')"
# L2: b cannot verify the new leaves (no checkpoint signs them): for
# 15 s (past unsealed_after) no sample of the status may say "ok"
sleep 6
okc=0; n=0; seen=""
for i in $(seq 1 15); do
  s=$(status_a); n=$((n + 1)); [ "${s%%:*}" = ok ] && okc=$((okc + 1))
  case ",$seen," in *",${s%%:*},"*) ;; *) seen="$seen,${s%%:*}";; esac
  sleep 1
done
note "L: b's status of a now: $(status_a)"
note "L: verify_member at b: $(q b -c "SELECT problem || ' ' || count(*) FROM battledger.verify_member('$A') GROUP BY problem" 2>&1 | tr '\n' ' ')"
if [ "$okc" = 0 ]; then ok "L2-status-not-ok-without-checkpoint ($seen)"
else fail L2-status-not-ok-without-checkpoint "$okc of $n samples said ok (states$seen) while b holds $(q b -c "SELECT count(*) FROM battledger.peer_leaf WHERE origin = '$A' AND leaf_index >= $size0") leaves of a no checkpoint signs"; fi
# L3: the recovery (docs/consortium.md): the checkpoint table published
# again and a seal at a; b verifies the leaves it stored alone, "ok"
q a -c "ALTER PUBLICATION battledger_member ADD TABLE battledger.checkpoint" \
    -c "INSERT INTO reading VALUES ('D1', 70)" -c "SELECT battledger.seal()" >/dev/null
if wait_for b "SELECT max(tree_size) = 71 FROM battledger.peer_checkpoint WHERE origin = '$A'" 100 \
   && wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" 100; then ok L3-recovery
else fail L3-recovery "b's last checkpoint of a: $(q b -c "SELECT max(tree_size) FROM battledger.peer_checkpoint WHERE origin = '$A'"), conflicts $(q b -c "SELECT count(*) FROM battledger.log_conflict"); $(status_a)"; fi
if [ "$ONLY" = L ]; then echo "FAILS=$FAILS"; exit $FAILS; fi
echo "FAILS=$FAILS"
exit $FAILS
