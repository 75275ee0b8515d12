#!/usr/bin/env bash
# Three members on one machine, each its own cluster, replicating to each
# other by logical replication (docs/consortium.md):
#   1. they converge: same rows, every chain verifies, every log witnessed
#      and cosigned; a cosigned proof verifies with the CLI under a
#      "log key + 2 of these witnesses" policy;
#   2. a member stopped misses nothing: it catches up when restarted;
#   3. a row forged at one member by a superuser bypassing the triggers is
#      refused by the others (subscription stopped, rejection recorded),
#      while the other members' rows keep flowing;
#   4. a member that rewrites its history and re-seals is caught by the
#      witnesses, who keep both signed checkpoints as evidence.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
CLI=${BATTLEDGER_CLI:-$BL_ROOT/bin/battledger}

bl_scratch
W=$BL_WORK/consortium; mkdir -p "$W"; chmod 755 "$W"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
# like WHAT GOT PATTERN: as check, GOT matching the glob PATTERN; says what it got when not
like() { if [[ "$2" == $3 ]]; then echo "ok   - $1"; else echo "FAIL - $1 (got: $2)"; fail=1; fi; }

P=${CONSORTIUM_PORT:-55461}
declare -A PORT=([a]=$P [b]=$((P + 1)) [c]=$((P + 2)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [c]=c.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
# more to show when bl_wait_for times out: subscriptions, unfinished syncs
bl_on_timeout() {
  local o
  for o in a b c; do echo "-- subscriptions at $o"; q "$o" -c "SELECT subname, subenabled FROM pg_subscription" -c "SELECT srrelid::regclass, srsubstate FROM pg_subscription_rel WHERE srsubstate <> 'r'" || true; done
  [ -n "${BL_PAUSE_ON_FAIL:-}" ] && { echo "paused: BL_WORK=$BL_WORK"; sleep 900; }
}

for m in a b c; do
  bl_member_start "$m" "$W" witness "$BL_QUICK_RETRY"
  # the level the members' workers run at (test/long/isolation.sh sets it)
  [ "$m" = a ] && echo "# server default_transaction_isolation: $(PGOPTIONS= q a -c "SHOW default_transaction_isolation")"
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY: signs with seeds given in SQL
CREATE TABLE soh (battery text, soh_pct numeric, note text);
SELECT battledger.enable_ledger('soh', 'battery', signed => true,
                                signer_roles => ARRAY['oem', 'fleet_operator', 'recycler']);
CREATE FUNCTION signed_soh(seedname text, battery text, soh_pct numeric, note text) RETURNS soh
LANGUAGE plpgsql AS $$
DECLARE r soh := jsonb_populate_record(NULL::soh, jsonb_build_object('battery', battery, 'soh_pct', soh_pct, 'note', note));
BEGIN
    r.ledger_key_id := battledger.key_id(battledger_test.public_key(battledger_test.seed(seedname)));
    r.ledger_sig := battledger_test.sign(battledger_test.seed(seedname), battledger.signing_bytes(r));
    RETURN r;
END $$;
SELECT battledger.publish_member();
SQL
done

# each member registers the organisation it hosts and its signing key
q a -c "SELECT battledger.add_member('oem.example', ARRAY['oem']), battledger.add_key('oem.example', battledger_test.public_key(battledger_test.seed('oem-1')))" >/dev/null
q b -c "SELECT battledger.add_member('fleet.example', ARRAY['fleet_operator']), battledger.add_key('fleet.example', battledger_test.public_key(battledger_test.seed('fleet-1')))" >/dev/null
q c -c "SELECT battledger.add_member('recycler.example', ARRAY['recycler']), battledger.add_key('recycler.example', battledger_test.public_key(battledger_test.seed('recycler-1')))" >/dev/null

# everyone joins everyone: keys exchanged out of band, subscriptions via \gexec
for m in a b c; do bl_member_keys "$m" witness; done
for m in a b c; do
  for o in a b c; do [ "$m" = "$o" ] || bl_join "$m" "$o"; done
done

# --- 1. every member writes the same battery's history under its own origin
q a -c "INSERT INTO soh SELECT (signed_soh('oem-1', 'B1', 100, 'placed on market')).*" \
    -c "INSERT INTO soh SELECT (signed_soh('oem-1', 'B2', 100, 'placed on market')).*"
bl_wait_for b "SELECT count(*) = 2 FROM soh"
q b -c "INSERT INTO soh SELECT (signed_soh('fleet-1', 'B1', 97.5, 'soh reported')).*"
bl_wait_for c "SELECT count(*) = 3 FROM soh"
q c -c "INSERT INTO soh SELECT (signed_soh('recycler-1', 'B1', 71.0, 'received for recycling')).*"
# sealed right after the joins, while a subscription may still copy its
# tables: a checkpoint that reaches a peer during its copy, apart from its
# leaves or not, is held there and cosigned once its leaves are all in
# (0.21.0; until then only the member's next checkpoint was, and
# PostgreSQL 17 waited here minutes for a cosignature: 9de6b2f waited for
# the copies instead; test/shell/witness_join_copy.sh forces both orders)
for m in a b c; do q "$m" -c "SELECT battledger.seal()" >/dev/null; done

for m in a b c; do
  bl_wait_for "$m" "SELECT count(*) = 4 FROM soh"
  bl_wait_for "$m" "SELECT count(*) = 2 FROM battledger.peer_checkpoint"
  # (three minutes, not one: a cosignature takes two hops, each member's
  # apply worker then its publication, and with PostgreSQL 17 and 18 run
  # side by side by test/matrix.sh one minute ran out once, no error logged)
  bl_wait_for "$m" "SELECT count(*) = 4 FROM battledger.cosignature WHERE log_origin <> current_setting('battledger.origin')" 900
  check "$m: battery B1 has one chain per member" \
    test "$(q "$m" -c "SELECT string_agg(ledger_origin || ':' || ledger_seq, ' ' ORDER BY ledger_origin) FROM soh WHERE battery = 'B1'")" \
         = "a.example/log:1 b.example/log:1 c.example/log:1"
  check "$m: verify() finds nothing" test "$(q "$m" -c "SELECT count(*) FROM battledger.verify('soh')")" = 0
  for o in a b c; do
    [ "$m" = "$o" ] && continue
    check "$m: verify_member($o) finds nothing" \
      test "$(q "$m" -c "SELECT count(*) FROM battledger.verify_member('${ORIGIN[$o]}')")" = 0
  done
  check "$m: consortium_status ok for both members" \
    test "$(q "$m" -c "SELECT string_agg(state, ',') FROM battledger.consortium_status()")" = "ok,ok"
  check "$m: consortium_status knows how far each member is behind its WAL (their slots here)" \
    test "$(q "$m" -c "SELECT count(their_lag_bytes) FILTER (WHERE their_lag_bytes >= 0) FROM battledger.consortium_status()")" = 2
done
check "a: the same rows everywhere" test "$(q a -c "SELECT md5(string_agg(ledger_hash::text, ',' ORDER BY ledger_hash::text)) FROM soh")" \
  = "$(q c -c "SELECT md5(string_agg(ledger_hash::text, ',' ORDER BY ledger_hash::text)) FROM soh")"

# a's checkpoint comes back cosigned by b and c; the CLI checks the policy
bl_wait_for a "SELECT count(*) = 2 FROM battledger.cosignature WHERE log_origin = 'a.example/log'"
printf '%s\n' "$(q a -c "SELECT battledger.tlog_proof(0, 2)")" > "$W/proof"
printf '%s\n' "$(q a -c "SELECT encode(battledger.leaf(0), 'hex')")" | xxd -r -p > "$W/leaf0"
check "CLI: proof verifies with log key + both witnesses" \
  "$CLI" verify-proof --vkey "${LOGV[a]}" --proof "$W/proof" --leaf-file "$W/leaf0" \
    --witness "${WITV[b]}" --witness "${WITV[c]}"
check "CLI: proof verifies with log key + 2 of 3 witnesses (quorum)" \
  "$CLI" verify-proof --vkey "${LOGV[a]}" --proof "$W/proof" --leaf-file "$W/leaf0" \
    --witness "${WITV[b]}" --witness "${WITV[c]}" --witness "${WITV[a]}" --min-witnesses 2
check "CLI: refused when 3 of those 3 are required" \
  bash -c "! '$CLI' verify-proof --vkey '${LOGV[a]}' --proof '$W/proof' --leaf-file '$W/leaf0' \
    --witness '${WITV[b]}' --witness '${WITV[c]}' --witness '${WITV[a]}' --min-witnesses 3 >/dev/null 2>&1"
check "tlog_proof(0, 3): no checkpoint has 3 cosignatures, a clear error" \
  bash -c "psql -X -q -At -h '$BL_WORK' -p ${PORT[a]} -d bl -c 'SELECT battledger.tlog_proof(0, 3)' 2>&1 | grep -q 'has 3 cosignatures'"

# a seal of a backlog is checkpointed in pieces (here every 2 leaves), each witnessed
q a -c "INSERT INTO soh SELECT (signed_soh('oem-1', 'B9', 100 - i, 'usage')).* FROM generate_series(1, 5) i"
q a -c "SET battledger.seal_checkpoint_every = 2" -c "SELECT battledger.seal()" >/dev/null
check "a: a backlog of 5 rows sealed under 3 checkpoints" \
  test "$(q a -c "SELECT string_agg(tree_size::text, ',' ORDER BY tree_size) FROM battledger.checkpoint WHERE tree_size > 4")" = "6,8,9"
bl_wait_for b "SELECT count(*) = 3 FROM battledger.peer_checkpoint WHERE origin = 'a.example/log' AND tree_size > 4"
check "b: witnessed each piece" \
  test "$(q b -c "SELECT count(*) FROM battledger.verify_member('a.example/log')"):$(q b -c "SELECT count(*) FROM battledger.log_conflict")" = "0:0"

# --- 2. c stops; a and b go on; c catches up when restarted
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/c" -m fast stop >/dev/null
# the status reads the facts: with c down, a and b never call it "ok"
for m in a b; do
  bl_wait_for "$m" "SELECT state IN ('failing', 'not connected', 'silent') FROM battledger.consortium_status() WHERE member = 'c.example/log'"
  check "$m: consortium_status names c down, with a reason" \
    test "$(q "$m" -c "SELECT state <> 'ok' AND reason IS NOT NULL FROM battledger.consortium_status() WHERE member = 'c.example/log'")" = t
done
q a -c "INSERT INTO soh SELECT (signed_soh('oem-1', 'B3', 100, 'placed on market')).*"
q b -c "INSERT INTO soh SELECT (signed_soh('fleet-1', 'B2', 99.1, 'soh reported')).*"
q a -c "SELECT battledger.seal()" >/dev/null; q b -c "SELECT battledger.seal()" >/dev/null
bl_wait_for b "SELECT count(*) = 11 FROM soh"
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/c" -l "$BL_WORK/c.log" -w start >/dev/null
bl_wait_for c "SELECT count(*) = 11 FROM soh"
bl_wait_for c "SELECT count(*) = 7 FROM battledger.peer_checkpoint"
check "c: caught up, and everything it received verifies" \
  test "$(q c -c "SELECT count(*) FROM battledger.verify('soh')") $(q c -c "SELECT count(*) FROM battledger.verify_member('a.example/log')")" = "0 0"

# --- 2b. a revokes oem-1; a's superuser then signs a new chain with it,
#     dated before the revocation, behind the triggers.  The arrival check
#     judges the key at ledger_at and a new chain has no predecessor to bound
#     it, so the row is stored; verify_member() names it, because no other
#     witness cosigned a checkpoint covering it before the revocation, while
#     the oem-1 rows sealed and cosigned earlier stay proven.
for m in b c; do
  bl_wait_for "$m" "SELECT EXISTS (SELECT 1 FROM battledger.cosignature s WHERE s.log_origin = 'a.example/log'
                   AND s.tree_size = (SELECT max(tree_size) FROM battledger.peer_checkpoint WHERE origin = 'a.example/log'))"
done
sleep 1.1   # cosignatures carry whole seconds
kid_oem=$(q a -c "SELECT battledger.key_id(battledger_test.public_key(battledger_test.seed('oem-1')))")
q a -c "SELECT battledger.add_key('oem.example', battledger_test.public_key(battledger_test.seed('oem-2')))" \
    -c "SELECT battledger.revoke_key('$kid_oem')" >/dev/null
q a >/dev/null <<'SQL'
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE soh DISABLE TRIGGER USER;
WITH k AS (SELECT revoked_at FROM battledger.keys WHERE key_id OPERATOR(battledger.=) battledger.key_id(battledger_test.public_key(battledger_test.seed('oem-1')))),
     r AS (SELECT (signed_soh('oem-1', 'B-revoked', 100, 'backdated with a revoked key')).*)
INSERT INTO soh (battery, soh_pct, note, ledger_key_id, ledger_sig, ledger_at, ledger_origin, ledger_seq, ledger_prev, ledger_hash)
SELECT r.battery, r.soh_pct, r.note, r.ledger_key_id, r.ledger_sig, k.revoked_at - interval '500 milliseconds', 'a.example/log', 1,
       repeat('00', 32)::battledger.hash256,
       battledger.chain_hash(repeat('00', 32)::battledger.hash256, 1, battledger.row_bytes(ROW(r.battery, r.soh_pct, r.note,
           1, repeat('00', 32)::battledger.hash256, NULL, r.ledger_key_id, r.ledger_sig, NULL,
           k.revoked_at - interval '500 milliseconds', 'a.example/log')::soh))
  FROM r, k;
ALTER TABLE soh ENABLE TRIGGER USER;
ALTER TABLE soh ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER TABLE soh ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
SQL
for m in b c; do
  bl_wait_for "$m" "SELECT count(*) = 1 FROM soh WHERE battery = 'B-revoked'"
  check "$m: the backdated row with a revoked key is named (revoked_key_unproven), the earlier ones are not" \
    test "$(q "$m" -c "SELECT string_agg(problem || ':' || detail, ' ') FROM battledger.verify_member('a.example/log')")" \
         = "revoked_key_unproven:1 row signed with a key since revoked, dated before the revocation, is not covered by a checkpoint another witness cosigned before it."
done

# --- 3. b's superuser forges a row behind the triggers
q b >/dev/null <<'SQL'
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE soh DISABLE TRIGGER USER;
INSERT INTO soh (battery, soh_pct, note, ledger_key_id, ledger_sig, ledger_at, ledger_origin, ledger_seq, ledger_prev, ledger_hash)
SELECT 'B1', 99.9, 'forged: better than it was', ledger_key_id, decode(repeat('ab', 64), 'hex'), ledger_at, ledger_origin, 2, ledger_hash, ledger_hash
  FROM soh WHERE ledger_origin = 'b.example/log' AND battery = 'B1' AND ledger_seq = 1;
ALTER TABLE soh ENABLE TRIGGER USER;
ALTER TABLE soh ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER TABLE soh ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
SQL
for m in a c; do
  bl_wait_for "$m" "SELECT count(*) > 0 FROM battledger.rejections WHERE origin = 'b.example/log'"
  bl_wait_for "$m" "SELECT NOT subenabled FROM pg_subscription s JOIN battledger.consortium_member c ON c.subscription = s.subname WHERE c.origin = 'b.example/log'"
  check "$m: the forged row was refused (hash_mismatch) and is not here" \
    test "$(q "$m" -c "SELECT problem FROM battledger.rejections WHERE origin = 'b.example/log' LIMIT 1"),$(q "$m" -c "SELECT count(*) FROM soh WHERE note LIKE 'forged%'")" = "hash_mismatch,0"
  check "$m: consortium_status shows b stopped" \
    test "$(q "$m" -c "SELECT state FROM battledger.consortium_status() WHERE member = 'b.example/log'")" = stopped
done
check "server log names the refusal" grep -q 'battledger refused a row of "public.soh" from member "b.example/log" (hash_mismatch)' "$BL_WORK/a.log"
q a -c "INSERT INTO soh SELECT (signed_soh('oem-2', 'B4', 100, 'placed on market')).*"
bl_wait_for c "SELECT count(*) = 1 FROM soh WHERE battery = 'B4'"
check "c: a's rows keep flowing while b is stopped" true

# --- 3b. quarantine: a holds back b's broken chain B1 and takes everything
#     else from b again; releasing re-checks what was held and keeps refused
#     what does not extend the chain
q b -c "INSERT INTO soh SELECT (signed_soh('fleet-1', 'B1', 95.5, 'soh reported after the forgery')).*" \
    -c "INSERT INTO soh SELECT (signed_soh('fleet-1', 'B5', 100, 'placed on market')).*"
sub_b=$(q a -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'b.example/log'")
rej_a=$(q a -c "SELECT count(*) FROM battledger.rejections")
q a -c "SELECT battledger.quarantine_chain('b.example/log', 'soh', 'B1', 'forged row at position 2')" \
    -c "ALTER SUBSCRIPTION $sub_b ENABLE" >/dev/null
bl_wait_for a "SELECT count(*) = 1 FROM soh WHERE battery = 'B5' AND ledger_origin = 'b.example/log'"
check "a: b's other chains flow again while B1 is quarantined, nothing more refused" \
  test "$(q a -c "SELECT count(*) FROM battledger.rejections"):$(q a -c "SELECT count(*) FROM battledger.held_row")" = "$rej_a:2"
check "a: consortium_status says b is quarantined, with a reason" \
  test "$(q a -c "SELECT state || ':' || (reason IS NOT NULL) FROM battledger.consortium_status() WHERE member = 'b.example/log'")" = "quarantined:true"
check "a: verify_member(b) names the held rows" \
  test "$(q a -c "SELECT string_agg(problem, ' ') FROM battledger.verify_member('b.example/log')")" = held_back
check "a: release re-checks the held rows; neither extends the chain, both stay held" \
  test "$(q a -c "SELECT string_agg(r.seq || ':' || (r.outcome LIKE '%refused%'), ' ' ORDER BY r.seq) FROM battledger.release_chain('b.example/log', 'soh', 'B1') r"),$(q a -c "SELECT count(*) FROM battledger.quarantine")" = "2:true 3:true,1"

# --- 3c. a quarantine that can never be released (0.19.0, ops21): B1's
#     forged row stays in b's append-only table and its later rows link to
#     it.  The status names what the release could not store and the way
#     out; close_quarantine() keeps the chain held back and its rows as
#     evidence, and stops counting b not ok (before, "quarantined" for good)
like "a: the status names the rows the release could not store and close_quarantine()" \
  "$(q a -c "SELECT state || ':' || reason FROM battledger.consortium_status() WHERE member = 'b.example/log'")" \
  "quarantined:1 chain held back, 2 rows held:*Its last release could not store 2 rows (the first: public.soh, chain B1, position 2: *hash_mismatch*close_quarantine('b.example/log', 'public.soh', 'B1')*"
q b -c "INSERT INTO soh SELECT (signed_soh('fleet-1', 'B1', 95.0, 'soh reported after the release')).*" >/dev/null
bl_wait_for a "SELECT count(*) = 3 FROM battledger.held_row WHERE origin = 'b.example/log'"
check "a: close_quarantine() refuses while a held row was not re-checked (it arrived after the release)" \
  grep -q "holds 1 row that release_chain() has not re-checked" <<<"$(q a -c "SELECT battledger.close_quarantine('b.example/log', 'soh', 'B1')" 2>&1)"
check "a: released again, the three rows stay held; closed, they are kept" \
  test "$(q a -c "SELECT count(*) FILTER (WHERE r.outcome LIKE '%refused%') FROM battledger.release_chain('b.example/log', 'soh', 'B1') r"):$(q a -c "SELECT battledger.close_quarantine('b.example/log', 'soh', 'B1', 'forged row at position 2')")" = "3:3"
check "a: b is no longer quarantined" \
  test "$(q a -c "SELECT state <> 'quarantined' FROM battledger.consortium_status() WHERE member = 'b.example/log'")" = t
bl_wait_for a "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = 'b.example/log'"
check "a: b is ok, the reason naming the closed chain; health() counts no member not ok" \
  test "$(q a -c "SELECT reason LIKE '1 quarantined chain closed by close_quarantine() (the first at %): 3 rows held back for good, as evidence%' FROM battledger.consortium_status() WHERE member = 'b.example/log'"):$(q a -c "SELECT members_not_ok || ':' || held_rows FROM battledger.health()")" = "t:0:3"
# (each release recorded its refusals too: counted from here)
rej_a=$(q a -c "SELECT count(*) FROM battledger.rejections")
q b -c "INSERT INTO soh SELECT (signed_soh('fleet-1', 'B1', 94.5, 'b keeps writing on its chain')).*" \
    -c "INSERT INTO soh SELECT (signed_soh('fleet-1', 'B6', 100, 'placed on market')).*" >/dev/null
bl_wait_for a "SELECT count(*) = 1 FROM soh WHERE battery = 'B6' AND ledger_origin = 'b.example/log'"
like "a: b's later B1 row is held too, nothing refused, b still ok" \
  "$(q a -c "SELECT count(*) FROM battledger.held_row WHERE origin = 'b.example/log'"):$(q a -c "SELECT count(*) FROM battledger.rejections"):$(q a -c "SELECT state || ': ' || coalesce(reason, '') FROM battledger.consortium_status() WHERE member = 'b.example/log'")" \
  "4:$rej_a:ok: 1 quarantined chain closed*4 rows held back for good*"
check "a: verify_member(b) still names the held rows" \
  test "$(q a -c "SELECT string_agg(problem || ': ' || detail, ' ') FROM battledger.verify_member('b.example/log')")" = "held_back: 4 rows of chain B1 held back by a quarantine."
q a -c "UPDATE battledger.quarantine SET closed_at = NULL, closed_reason = NULL WHERE origin = 'b.example/log' AND tbl = 'public.soh' AND chain_key = 'B1'" >/dev/null
check "a: reopened (the doc's UPDATE), it counts again" \
  test "$(q a -c "SELECT state FROM battledger.consortium_status() WHERE member = 'b.example/log'"):$(q a -c "SELECT members_not_ok FROM battledger.health()")" = "quarantined:1"
q a -c "SELECT battledger.release_chain('b.example/log', 'soh', 'B1')" -c "SELECT battledger.close_quarantine('b.example/log', 'soh', 'B1')" >/dev/null

# --- 4. c's superuser rewrites its history and re-seals
q c >/dev/null <<'SQL'
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE soh DISABLE TRIGGER USER;
ALTER TABLE battledger.log_leaf DISABLE TRIGGER USER;
ALTER TABLE battledger.log_tile DISABLE TRIGGER USER;
ALTER TABLE battledger.log_block DISABLE TRIGGER USER;
ALTER TABLE battledger.checkpoint DISABLE TRIGGER USER;
UPDATE soh SET soh_pct = 88.0 WHERE ledger_origin = 'c.example/log' AND battery = 'B1';
UPDATE soh SET ledger_hash = battledger.chain_hash(ledger_prev, ledger_seq, battledger.row_bytes(soh))
 WHERE ledger_origin = 'c.example/log' AND battery = 'B1';
DELETE FROM battledger.log_leaf; DELETE FROM battledger.log_tile; DELETE FROM battledger.log_block; DELETE FROM battledger.checkpoint;
INSERT INTO battledger.log_pending (tbl, seq, prev, row_hash)
SELECT 'public.soh', ledger_seq, ledger_prev, ledger_hash FROM soh WHERE ledger_origin = 'c.example/log'
UNION ALL
SELECT 'battledger.' || t, ledger_seq, ledger_prev, ledger_hash FROM (
  SELECT 'member_event' t, ledger_seq, ledger_prev, ledger_hash, ledger_origin FROM battledger.member_event
  UNION ALL SELECT 'key_event', ledger_seq, ledger_prev, ledger_hash, ledger_origin FROM battledger.key_event) x
 WHERE ledger_origin = 'c.example/log';
ALTER TABLE soh ENABLE TRIGGER USER;
ALTER TABLE soh ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER TABLE soh ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE battledger.log_leaf ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE battledger.log_tile ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE battledger.log_block ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE battledger.checkpoint ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER TABLE battledger.log_leaf ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER TABLE battledger.checkpoint ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
SELECT battledger.seal();
SQL
bl_wait_for a "SELECT count(*) > 0 FROM battledger.log_conflict WHERE origin = 'c.example/log'"
check "a: caught c's rewritten history" \
  test "$(q a -c "SELECT problem FROM battledger.log_conflict WHERE origin = 'c.example/log' LIMIT 1")" = rewritten_leaf
check "a: consortium_status shows the conflict" \
  test "$(q a -c "SELECT state FROM battledger.consortium_status() WHERE member = 'c.example/log'")" = "log conflict"
printf '%s\n' "$(q a -c "SELECT held_note FROM battledger.log_conflict WHERE origin = 'c.example/log' LIMIT 1")" > "$W/held"
printf '%s\n' "$(q a -c "SELECT new_note FROM battledger.log_conflict WHERE origin = 'c.example/log' LIMIT 1")" > "$W/new"
check "evidence: both conflicting checkpoints verify under c's log key" \
  bash -c "'$CLI' verify-checkpoint --vkey '${LOGV[c]}' --file '$W/held' >/dev/null && '$CLI' verify-checkpoint --vkey '${LOGV[c]}' --file '$W/new' >/dev/null"
check "evidence: and they differ" bash -c "! cmp -s '$W/held' '$W/new'"
check "a: the rewritten checkpoint was neither accepted nor cosigned" \
  test "$(q a -c "SELECT count(*) FROM battledger.peer_checkpoint p JOIN battledger.log_conflict l ON l.origin = p.origin AND l.new_note = p.note")" = 0

# --- 5. c joins a again after a's table was written out of chain order
#     (CLUSTER on a descending index puts every chain's later positions on
#     earlier heap pages, as concurrent writers do): the copy arrives in heap
#     order, and a's own cosignatures, already held, arrive a second time
q a >/dev/null <<'SQL'
CREATE INDEX soh_backwards ON soh (battery, ledger_origin, ledger_seq DESC);
CLUSTER soh USING soh_backwards;
SQL
# and a's superuser forges, behind the triggers, a row signed by a member
# whose role the table does not accept: streamed, c refuses it; copied at a
# join (keys and roles may arrive after the rows), it is stored, and
# verify_member() must name it
q a -c "SELECT battledger.add_member('repair.example', ARRAY['repairer'])" \
    -c "SELECT battledger.add_key('repair.example', battledger_test.public_key(battledger_test.seed('repair-1')))" >/dev/null
sleep 1
q a >/dev/null <<'SQL'
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE soh DISABLE TRIGGER USER;
WITH r AS (SELECT (signed_soh('repair-1', 'B-role', 99, 'signed by a role soh does not accept')).*)
INSERT INTO soh (battery, soh_pct, note, ledger_key_id, ledger_sig, ledger_at, ledger_origin, ledger_seq, ledger_prev, ledger_hash)
SELECT r.battery, r.soh_pct, r.note, r.ledger_key_id, r.ledger_sig, now(), 'a.example/log', 1, repeat('00', 32)::battledger.hash256,
       battledger.chain_hash(repeat('00', 32)::battledger.hash256, 1, battledger.row_bytes(ROW(r.battery, r.soh_pct, r.note,
           1, repeat('00', 32)::battledger.hash256, NULL, r.ledger_key_id, r.ledger_sig, NULL, now(), 'a.example/log')::soh))
  FROM r;
ALTER TABLE soh ENABLE TRIGGER USER;
ALTER TABLE soh ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER TABLE soh ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
SQL
bl_wait_for c "SELECT count(*) > 0 FROM battledger.rejections WHERE origin = 'a.example/log' AND problem = 'wrong_role'"
sub_a=$(q c -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'a.example/log'")
rej_before=$(q c -c "SELECT count(*) FROM battledger.rejections WHERE origin = 'a.example/log'")
q c -c "DROP SUBSCRIPTION $sub_a" -c "DELETE FROM battledger.consortium_member WHERE origin = 'a.example/log'" >/dev/null
bl_join c a
bl_wait_for c "SELECT bool_and(r.srsubstate = 'r') FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
             WHERE s.subname = '$sub_a'"
check "c: joined a again: every table copied, nothing refused, subscription running" \
  test "$(q c -c "SELECT count(*) FROM battledger.rejections WHERE origin = 'a.example/log'"):$(q c -c "SELECT subenabled FROM pg_subscription WHERE subname = '$sub_a'")" = "$rej_before:t"
check "c: a's chains, out of heap order, verify; the two forged rows copied are named" \
  test "$(q c -c "SELECT string_agg(problem, ' ' ORDER BY problem) FROM battledger.verify_member('a.example/log')")" = "revoked_key_unproven wrong_role"
check "c: holds every row a published" \
  test "$(q c -c "SELECT count(*) FROM soh WHERE ledger_origin = 'a.example/log'")" = "$(q a -c "SELECT count(*) FROM soh WHERE ledger_origin = 'a.example/log'")"

# --- 6. two members write the same signed row (same signature) before
#     either has the other's: on arrival it breaks the unique signature;
#     refused and named (unique_conflict), not retried forever in silence.
#     Since 0.27.0 (red team rt27 H1) c's chain trigger refuses a row signed
#     for a's member (BL019): only c's superuser, past it (battledger.restore,
#     chain fields its own), can still write the copy
sub_a=$(q c -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'a.example/log'")
q c -c "ALTER SUBSCRIPTION $sub_a DISABLE" >/dev/null
bl_wait_for c "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_subscription WHERE subname = '$sub_a' AND pid IS NOT NULL)"
q a -c "INSERT INTO soh SELECT (signed_soh('oem-2', 'B8', 77, 'written at a and at c')).*"
check "c: a row signed for a's member, written at c, is refused there (BL019)" \
  test "$(q c -c "INSERT INTO soh SELECT (signed_soh('oem-2', 'B8', 77, 'written at a and at c')).*" 2>&1 | grep -c 'which this database does not host')" = 1
q c >/dev/null <<'SQL'
SET battledger.restore = on;
DO $$
DECLARE r soh := signed_soh('oem-2', 'B8', 77, 'written at a and at c');
BEGIN
    r.ledger_origin := 'c.example/log'; r.ledger_seq := 1; r.ledger_prev := repeat('0', 64)::battledger.hash256; r.ledger_at := now();
    r.ledger_hash := battledger.chain_hash(r.ledger_prev, 1, battledger.row_bytes(r));
    INSERT INTO soh SELECT r.*;
END $$;
SQL
q c -c "ALTER SUBSCRIPTION $sub_a ENABLE" >/dev/null
bl_wait_for c "SELECT count(*) > 0 FROM battledger.rejections WHERE origin = 'a.example/log' AND problem = 'unique_conflict'"
bl_wait_for c "SELECT state = 'stopped' FROM battledger.consortium_status() WHERE member = 'a.example/log'"
check "c: a's copy of the row is refused as unique_conflict; the subscription stopped, with the reason" \
  test "$(q c -c "SELECT state || ':' || (reason LIKE '%refused%') FROM battledger.consortium_status() WHERE member = 'a.example/log'")" = "stopped:true"

exit $fail
