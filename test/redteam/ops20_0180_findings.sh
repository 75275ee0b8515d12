#!/usr/bin/env bash
# ops20 (0.18.0 in progress): an operator new to battledger follows
# README.md, docs/dba-guide.md and docs/consortium.md by hand on two
# members, through the recoveries the docs promise.  What the docs got
# wrong is fixed in the docs (commit "docs: consortium setup and
# recoveries ..."); this script checks the product defects found on the
# way, and the recipes the docs now give, each printing "ok   - ..." (the
# property holds) or "FAIL - ..." (a finding); exit status 1 if any FAIL.
# PG_BIN: the build under test; BATTLEDGER_CLI: its CLI.  OPS20_PORT
# (default 55710: ports +0 .. +1).
#
#   F1 consortium_status()'s reason for a worker restarted after errors
#      said "this clears once it has run 30.000000 s" (the window printed
#      as a raw epoch).  Fixed: rounded, "30 s".
#   F2 verify_member() named a row held back by a quarantine, once the
#      member had sealed it, also as "leaf_without_row: 1 leaves name rows
#      not received" — the row was received, it is held (held_back names
#      it; consortium_status() and peer_arrival count held rows as
#      received).  Fixed: held rows are matched against the leaves too.
#   F3 seal() with a key file the server cannot open said "could not open
#      key file ... Permission denied" with no hint (keygen run as root
#      writes the key root-owned, 0600).  Fixed: a hint naming the user
#      and the chown/chmod.
#   F4 after a log key rotation, verify_log() with no key (as the docs run
#      it) reports every earlier checkpoint as checkpoint_bad_signature,
#      "The note is not signed by this log's key for its origin": true of
#      the new key, and no word of the rotation.  Fixed: the detail names
#      the key file and says to pass the keys oldest first.
#   D1-D3 (docs, held here): join() as the role consortium.md now creates
#      (REPLICATION + SELECT on the publication): without the grant the
#      copy fails and the status says so; with it, ok.  A slot dropped at
#      the member: status not ok, reason names the slot; the recovery as
#      printed (drop only if still there) brings it back to ok with every
#      row.
#
# Results (PostgreSQL 15, 2026-12-06, 2 vCPUs shared; ~100 s):
# At 15a0be7 (6ca89fc + docs): FAIL F1, F2, F3; D1-D3 ok.  At 0f8ceda (F1-F3
# fixed): FAIL F4 only.
# With the fixes: every case ok.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"

bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }

P=${OPS20_PORT:-55710}
declare -A PORT=([a]=$P [b]=$((P + 1)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
wait_for() { # wait_for MEMBER SQL [TRIES]: quietly, returns 1 on timeout
  local m=$1 sql=$2 n=${3:-300} i
  for i in $(seq 1 "$n"); do [ "$(q "$m" -c "$sql" 2>/dev/null)" = t ] && return 0; sleep 0.2; done
  return 1
}
st() { q a -c "SELECT state || ' | ' || coalesce(reason, '') FROM battledger.consortium_status() WHERE member = 'b.example/log'"; }

# a keeps PostgreSQL's default wal_retrieve_retry_interval (5 s): the
# window F1 prints is then 30 s
bl_member_start a "$W" witness
bl_member_start b "$W" witness "$BL_QUICK_RETRY"
for m in a b; do
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE ev (battery text, kind text NOT NULL);
SELECT battledger.enable_ledger('ev', 'battery');
SELECT battledger.publish_member();
SQL
  bl_member_keys "$m" witness
done

# --- D1: a joins b as the replication role consortium.md step 2 creates
q b -c "CREATE ROLE replicator LOGIN REPLICATION"
q a -v conn="host=$BL_WORK port=${PORT[b]} dbname=bl user=replicator" -v lv="${LOGV[b]}" -v wv="${WITV[b]}" >/dev/null <<'SQL'
SELECT battledger.join('b.example/log', :'conn', :'lv', :'wv') \gexec
SQL
bl_join b a
q b -c "INSERT INTO ev VALUES ('B1', 'made')"
check "D1: without SELECT on the publication the join's copy fails, and the status says so" \
  wait_for a "SELECT state = 'copy failing' FROM battledger.consortium_status()"
q b >/dev/null <<'SQL'
SELECT format('GRANT SELECT ON %I.%I TO replicator', schemaname, tablename)
  FROM pg_publication_tables WHERE pubname = 'battledger_member' \gexec
SQL
check "D1: with the grant of consortium.md step 2, ok and b's row here" \
  wait_for a "SELECT state = 'ok' AND (SELECT count(*) FROM ev WHERE ledger_origin = 'b.example/log') = 1 FROM battledger.consortium_status()"

# --- F1: b stops and comes back; a's worker restarted after an error
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/b" -m fast -w stop >/dev/null
wait_for a "SELECT state IN ('failing', 'not connected') FROM battledger.consortium_status()" || true
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/b" -l "$BL_WORK/b.log" -w start >/dev/null
wait_for a "SELECT reason LIKE 'The apply worker started%' FROM battledger.consortium_status()" 150 || true
r=$(st); echo "     a: $r"
check "F1: the reason gives the window in whole seconds ('30 s', not '30.000000 s')" \
  bash -c '[[ "$1" == *"once it has run 30 s."* ]]' _ "$r"
check "F1: and ok once the window has passed" wait_for a "SELECT state = 'ok' FROM battledger.consortium_status()" 250

# --- F2: a row forged at b behind the guard; a quarantines its chain; b
# writes the chain's next row and seals it
q b >/dev/null <<'SQL'
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE ev DISABLE TRIGGER zz_battledger_chain;
INSERT INTO ev (battery, kind, ledger_seq, ledger_prev, ledger_hash, ledger_origin)
VALUES ('X', 'forged', 1, repeat('0', 64)::battledger.hash256, repeat('ab', 32)::battledger.hash256, 'b.example/log');
ALTER TABLE ev ENABLE TRIGGER zz_battledger_chain;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
check "F2: the forged row is refused, the subscription stopped" \
  wait_for a "SELECT state = 'stopped' FROM battledger.consortium_status()"
sub=$(q a -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'b.example/log'")
q a -c "SELECT battledger.quarantine_chain('b.example/log', 'ev', 'X', 'forged row at position 1')" -c "ALTER SUBSCRIPTION $sub ENABLE" >/dev/null
q b -c "INSERT INTO ev VALUES ('X', 'next'), ('B2', 'made')" -c "SELECT battledger.seal()" >/dev/null
check "F2: quarantined, the next row of X held, B2 stored, b's checkpoint witnessed" \
  wait_for a "SELECT (SELECT state FROM battledger.consortium_status()) = 'quarantined'
                 AND (SELECT count(*) FROM battledger.held_row) = 2
                 AND (SELECT count(*) FROM ev WHERE battery = 'B2') = 1
                 AND (SELECT max(tree_size) FROM battledger.peer_checkpoint WHERE origin = 'b.example/log') = 3"
vm=$(q a -c "SELECT string_agg(problem || ': ' || detail, '; ' ORDER BY problem) FROM battledger.verify_member('b.example/log')")
echo "     verify_member: $vm"
check "F2: verify_member names the held rows (held_back)" bash -c '[[ "$1" == *"held_back: 2 rows of chain X"* ]]' _ "$vm"
check "F2: and not the sealed held row as a leaf whose row never arrived" bash -c '[[ "$1" != *leaf_without_row* ]]' _ "$vm"

# --- F3: a key file the server cannot open
h=$(q b -v ON_ERROR_STOP=0 -c "\\set VERBOSITY verbose" -c "SET battledger.log_key_file = '$W/no-such.key'" \
      -c "INSERT INTO ev VALUES ('B3', 'made')" -c "SELECT battledger.seal()" 2>&1 || true)
echo "     $(grep -m1 'could not open' <<<"$h")"
check "F3: 'could not open key file' comes with a hint" grep -q '^HINT:.*chown postgres' <<<"$h"

# --- D2-D3: a's slot at b dropped by hand; the recovery as printed
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/a" -m fast -w stop >/dev/null
q b -c "SELECT pg_drop_replication_slot('$sub')" >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/a" -l "$BL_WORK/a.log" -w start >/dev/null
q b -c "INSERT INTO ev VALUES ('B4', 'made')" -c "SELECT battledger.seal()" >/dev/null
sleep 12
r=$(st); echo "     a: $r"
check "D2: a slot dropped at the member: a's status is not ok and names the slot" \
  bash -c '[[ "$1" != ok* && "$1" == *slot*lost* ]]' _ "$r"
q a >/dev/null <<SQL
ALTER SUBSCRIPTION $sub DISABLE;
ALTER SUBSCRIPTION $sub SET (slot_name = NONE);
DROP SUBSCRIPTION $sub;
DELETE FROM battledger.consortium_member WHERE origin = 'b.example/log';
SQL
check "D3: the slot drop as printed runs when the slot is gone already" \
  q b -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$sub'"
q a -v conn="host=$BL_WORK port=${PORT[b]} dbname=bl user=replicator" -v lv="${LOGV[b]}" -v wv="${WITV[b]}" >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT battledger.join('b.example/log', :'conn', :'lv', :'wv') \gexec
SQL
check "D3: joined again: every row of b here (B4 included), the quarantine kept" \
  wait_for a "SELECT (SELECT state FROM battledger.consortium_status()) = 'quarantined'
                 AND (SELECT count(*) FROM ev WHERE battery = 'B4') = 1"

# --- F4: b rotates its log key (transparency-log.md); verify_log() as the
# DBA runs it, with no key given, reads the new key file alone
old_vkey=$(q b -c "SELECT battledger.log_vkey()")
"$BL_CLI" keygen --out "$W/b-log-2" >/dev/null
[ "$(id -u)" = 0 ] && chown postgres: "$W/b-log-2.key"
mv "$W/b-log-2.key" "$W/b-log.key"
new_vkey=$(q b -c "SELECT battledger.log_vkey()")
q b -c "INSERT INTO ev VALUES ('B5', 'made')" -c "SELECT battledger.seal()" >/dev/null
d=$(q b -c "SELECT string_agg(DISTINCT problem || ': ' || detail, '; ') FROM battledger.verify_log(true)")
echo "     verify_log(true): $d"
check "F4: after a rotation, verify_log() without keys says why the old checkpoints fail" \
  bash -c '[[ "$1" == *rotation*"oldest first"* ]]' _ "$d"
check "F4: and with the keys oldest first, nothing (row_not_in_log aside: the forged row)" \
  test "$(q b -v k="$old_vkey"$'\n'"$new_vkey" <<'SQL'
SELECT coalesce(string_agg(problem, ','), 'none') FROM battledger.verify_log(true, :'k') WHERE problem <> 'row_not_in_log';
SQL
)" = none

exit $fail
