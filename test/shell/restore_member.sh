#!/usr/bin/env bash
# A consortium member moved to a new server by pg_dump / pg_restore carries
# on (docs/dba-guide.md, "A member moved by dump and restore"): members a
# (a.example/log) and b (b.example/log), joined both ways, write and seal
# signed rows; a stops writing, is dumped and stopped for good while b
# writes on; the dump is restored as the guide prints it into a fresh
# cluster a2 under a's origin and keys.  Then: verify() and verify_log()
# clean, the custody date as a had it, b's rows in a2 in no log of a2; a2
# joins b again with the guide's block (its restored subscription dropped
# with the old server's slot at b) and b joins a2 again with the guide's
# template: b's rows written after the dump reach a2, a2 seals new rows
# continuing a's log (the tree grows, a consistency proof from a's last
# checkpoint verifies with the CLI), b accepts a2's new rows and its next
# checkpoint, and a2 receives b's later rows.  RESTORE_MEMBER_PORT (default
# 55860; uses 3 ports).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
P=${RESTORE_MEMBER_PORT:-55860}
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([a]=$P [b]=$((P + 1)) [a2]=$((P + 2)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [a2]=a.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
fail=0
check() { if [ "$2" = "$3" ]; then echo "ok   - $1"; else echo "FAIL - $1: got '$2', want '$3'"; fail=1; fi; }
bl_on_timeout() {
  local o
  for o in a b a2; do
    [ -f "$BL_WORK/$o.log" ] || continue
    echo "-- subscriptions at $o"
    q "$o" -c "SELECT subname, subenabled FROM pg_subscription" -c "SELECT srrelid::regclass, srsubstate FROM pg_subscription_rel WHERE srsubstate <> 'r'" \
      -c "SELECT member, state, reason FROM battledger.consortium_status()" 2>&1 || true
  done
  [ -n "${BL_PAUSE_ON_FAIL:-}" ] && { echo "paused: BL_WORK=$BL_WORK"; sleep 900; }
}
# a block of docs/dba-guide.md, as printed: the fenced block holding the line
# matching PATTERN (the guide and this test cannot drift apart)
doc_block() {
  awk -v pat="$1" '/^```/ { if (inb) { inb = 0; if (hit) { printf "%s", buf; exit } buf = ""; next } inb = 1; next }
                   inb { buf = buf $0 "\n"; if (index($0, pat)) hit = 1 }' "$BL_ROOT/docs/dba-guide.md"
}

for x in a b; do
  bl_member_start "$x" "$W" witness "$BL_QUICK_RETRY"
  q "$x" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY: signs with seeds given in SQL
CREATE TABLE soh (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('soh', 'battery', signed => true, signer_roles => ARRAY['oem', 'fleet_operator']);
CREATE FUNCTION signed_soh(seedname text, battery text, soh_pct numeric) RETURNS soh LANGUAGE plpgsql AS $$
DECLARE r soh := jsonb_populate_record(NULL::soh, jsonb_build_object('battery', battery, 'soh_pct', soh_pct));
BEGIN
    r.ledger_key_id := battledger.key_id(battledger_test.public_key(battledger_test.seed(seedname)));
    r.ledger_sig := battledger_test.sign(battledger_test.seed(seedname), battledger.signing_bytes(r));
    RETURN r;
END $$;
SELECT battledger.publish_member();
-- the consortium's custody date: set alike at every member
SELECT battledger.set_custody_from('2024-01-01T00:00:00Z');
SQL
done
q a -c "SELECT battledger.add_member('oem.example', ARRAY['oem']), battledger.add_key('oem.example', battledger_test.public_key(battledger_test.seed('oem-1')))" >/dev/null
q b -c "SELECT battledger.add_member('fleet.example', ARRAY['fleet_operator']), battledger.add_key('fleet.example', battledger_test.public_key(battledger_test.seed('fleet-1')))" >/dev/null
for x in a b; do bl_member_keys "$x" witness; done
bl_join a b; bl_join b a
ins() { q "$1" -c "INSERT INTO soh SELECT (signed_soh('$2', '$3', $4)).*"; }
ins a oem-1 A1 100; ins a oem-1 A2 100; ins b fleet-1 A1 97; ins b fleet-1 A2 96
for x in a b; do q "$x" -c "SELECT battledger.seal()" >/dev/null; done
for x in a b; do
  bl_wait_for "$x" "SELECT count(*) = 4 FROM soh" || fail=1
  bl_wait_for "$x" "SELECT count(*) > 0 FROM battledger.peer_checkpoint" || fail=1
done

# a stops writing: its last checkpoint, held by b, is where a2 goes on from
q a -c "SELECT battledger.seal()" >/dev/null
printf '%s\n' "$(q a -c "SELECT battledger.checkpoint()")" >"$W/old.txt"
size1=$(sed -n 2p "$W/old.txt")
bl_wait_for b "SELECT max(tree_size) = $size1 FROM battledger.peer_checkpoint WHERE origin = 'a.example/log'" || fail=1
pg_dump -h "$BL_WORK" -p "${PORT[a]}" -Fc -d bl -f "$W/a.dump"
# b writes on: a receives it (its slot at b moves past it), the dump does not hold it
ins b fleet-1 A1 95
bl_wait_for a "SELECT count(*) = 5 FROM soh" || fail=1
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/a" -m fast -w stop >/dev/null

# a2: a new server under a's origin, log key and witness key
bl_start_cluster a2 "${PORT[a2]}" "wal_level = logical
max_replication_slots = 16
max_wal_senders = 16
max_logical_replication_workers = 10
max_worker_processes = 20
battledger.origin = 'a.example/log'
battledger.log_key_file = '$W/a-log.key'
battledger.witness_key_file = '$W/a-witness.key'
$BL_QUICK_RETRY"
createdb -h "$BL_WORK" -p "${PORT[a2]}" bl
# the guide's restore, its origin and log key in postgresql.conf (as here)
# rather than per database
PGOPTIONS='-c battledger.restore=on' pg_restore -h "$BL_WORK" -p "${PORT[a2]}" --exit-on-error -d bl "$W/a.dump" >"$W/restore.out" 2>&1
check "pg_restore succeeds" "$?" 0; head -5 "$W/restore.out"
check "verify() of soh and the registry tables is clean at a2" \
  "$(q a2 -c "SELECT (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify('battledger.battery_event'))
                   + (SELECT count(*) FROM battledger.verify('battledger.member_event')) + (SELECT count(*) FROM battledger.verify('battledger.key_event'))" 2>&1)" 0
check "verify_log() is clean at a2" "$(q a2 -c "SELECT count(*) FROM battledger.verify_log()" 2>&1)" 0
check "the custody date is a's" "$(q a2 -c "SELECT battledger._custody_from() = '2024-01-01T00:00:00Z'" 2>&1)" t
check "the publication is restored with soh alone (pg_dump leaves out the extension's tables)" \
  "$(q a2 -c "SELECT string_agg(schemaname || '.' || tablename, ' ') FROM pg_publication_tables WHERE pubname = 'battledger_member'")" public.soh
check "health() counts the tables missing from the publication (0.24.0)" \
  "$(q a2 -c "SELECT unpublished > 0 FROM battledger.health()")" t
check "the subscription to b is restored disabled, no table in it" \
  "$(q a2 -c "SELECT count(*) FILTER (WHERE NOT s.subenabled), (SELECT count(*) FROM pg_subscription_rel) FROM pg_subscription s" 2>&1)" "1|0"
inlog="EXISTS (SELECT 1 FROM battledger.log_leaf l WHERE l.row_hash::bytea = s.ledger_hash::bytea)
    OR EXISTS (SELECT 1 FROM battledger.log_pending p WHERE p.row_hash::bytea = s.ledger_hash::bytea)"
check "b's rows at a2 are in no log of a2 (a's rows are)" \
  "$(q a2 -c "SELECT count(*) FILTER (WHERE ledger_origin = 'b.example/log' AND ($inlog)), count(*) FILTER (WHERE ledger_origin = 'a.example/log' AND NOT ($inlog)) FROM soh s")" "0|0"

# a2 joins b again: the guide's block, as printed
doc_block "CREATE TEMP TABLE rejoin" >"$W/rejoin_restored.sql"
check "the guide has the restored member's block" "$(grep -c 'battledger.join' "$W/rejoin_restored.sql")" 1
# b's WAL moved on to a new segment: a slot made from now on starts at or
# past $lsn, the old server's slot before it
lsn=$(q b -c "SELECT pg_switch_wal()" -c "SELECT pg_current_wal_lsn()" | tail -1)
q a2 -f "$W/rejoin_restored.sql" >"$W/rejoin_restored.out" 2>&1
check "  it runs at a2" "$?" 0; grep -i error "$W/rejoin_restored.out" | head -3
check "  puts the log, members, keys and cosignatures back into the publication" \
  "$(q a2 -c "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'battledger_member'")" \
  "$(q b -c "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'battledger_member'")"
check "  and health() counts none missing" "$(q a2 -c "SELECT unpublished FROM battledger.health()")" 0
check "  and drops the old server's slot at b: its slot there is a new one" \
  "$(q b -c "SELECT count(*), bool_and(restart_lsn >= '$lsn') FROM pg_replication_slots WHERE slot_name LIKE 'bl_a_example_log%'" 2>&1)" "1|t"
# b joins a2 again: the guide's template, its two placeholders given here
doc_block "SET (slot_name = NONE)" | grep -v '^\\set ' >"$W/rejoin_peer.sql"
check "the guide has the peer's block" "$(grep -c 'battledger.join' "$W/rejoin_peer.sql")" 1
q b -v origin=a.example/log -v conn="host=$BL_WORK port=${PORT[a2]} dbname=bl user=postgres" -f "$W/rejoin_peer.sql" >"$W/rejoin_peer.out" 2>&1
check "  it runs at b" "$?" 0; grep -i error "$W/rejoin_peer.out" | head -3

bl_wait_for a2 "SELECT count(*) = 5 FROM soh" || fail=1
check "b's row written after the dump reached a2 (the join's copy)" \
  "$(q a2 -c "SELECT count(*) FROM soh WHERE ledger_origin = 'b.example/log' AND soh_pct = 95")" 1
for x in a2 b; do
  bl_wait_for "$x" "SELECT bool_and(state = 'ok') FROM battledger.consortium_status()" || fail=1
done
check "verify_member('b.example/log') at a2 is clean" "$(q a2 -c "SELECT count(*) FROM battledger.verify_member('b.example/log')" 2>&1)" 0
check "verify_member('a.example/log') at b is clean" "$(q b -c "SELECT count(*) FROM battledger.verify_member('a.example/log')" 2>&1)" 0

# a2 writes and seals: a's log goes on
ins a2 oem-1 A3 100
q a2 -c "SELECT battledger.seal()" >/dev/null
printf '%s\n' "$(q a2 -c "SELECT battledger.checkpoint()")" >"$W/new.txt"
size2=$(sed -n 2p "$W/new.txt")
check "a2's log grew from a's ($size1 -> $size2)" "$([ "${size2:-0}" -gt "$size1" ] && echo grew)" grew
q a2 -c "SELECT string_agg(encode(h::bytea, 'base64'), E'\n') FROM unnest(battledger.consistency_proof($size1, $size2)) h" >"$W/cons.txt"
check "a consistency proof from a's last checkpoint to a2's verifies (CLI)" \
  "$("$BL_CLI" verify-consistency --vkey "${LOGV[a]}" --old "$W/old.txt" --new "$W/new.txt" --proof "$W/cons.txt" >/dev/null 2>&1; echo $?)" 0
check "a2 queued and sealed only its own row" \
  "$(q a2 -c "SELECT count(*) FROM soh s WHERE ledger_origin = 'b.example/log' AND ($inlog)")" 0
bl_wait_for b "SELECT count(*) = 6 FROM soh" || fail=1
bl_wait_for b "SELECT max(tree_size) = $size2 FROM battledger.peer_checkpoint WHERE origin = 'a.example/log'" || fail=1
check "b accepted a2's row and checkpoint: nothing refused, no log conflict" \
  "$(q b -c "SELECT (SELECT count(*) FROM battledger.rejections), (SELECT count(*) FROM battledger.log_conflict)")" "0|0"
# b writes on: a2 receives it by the stream
ins b fleet-1 A3 94
bl_wait_for a2 "SELECT count(*) = 7 FROM soh" || fail=1
check "verify() of soh at a2 and at b is clean" \
  "$(q a2 -c "SELECT count(*) FROM battledger.verify('soh')")$(q b -c "SELECT count(*) FROM battledger.verify('soh')")" 00
check "verify_log() at a2 is clean" "$(q a2 -c "SELECT count(*) FROM battledger.verify_log()" 2>&1)" 0
[ $fail = 0 ] && echo "restore_member: PASS" || { echo "restore_member: FAIL"; exit 1; }
