#!/usr/bin/env bash
# Red team r21 (0.18.0, on main 6407b38): the witness keys and the clock
# (keys2), the registry and passports (r20) and the log queue's slots made
# on demand, as a plain role, a table owner, a member's own superuser and a
# malicious member.  Each case prints "ok   - ..." when the property holds,
# "FAIL - ..." for a finding; exit status: the number of FAILs.
# PG_BIN: the build under test.  R21_PORT (default 55720; uses 3 ports).
# Results, PostgreSQL 15, 2026-12-06 ~11:20 UTC: main 6407b38 6 FAIL lines
# (F1, F1b, F1 control, F2, F3 twice), branch r21 2 (F3, not fixed).
#   F1  a witness's superuser cosigns (its own key, a valid signature) a
#       made-up tree of member b's log at size 1,000,000: the cosignature
#       trigger checks the signature and the keys, not that b ever signed
#       that tree, so b stores it, and b's health() said cosigned_size
#       1000000, uncosigned_leaves -999990 (consortium_status()'s
#       my_latest_cosigned_by_them 1000000) though no witness had cosigned a
#       checkpoint b signed.  FIXED: both count only cosignatures whose
#       (size, root) is a row of b's checkpoint table, as tlog_proof()
#       already did (it held).  Not refused at arrival: a member restored
#       from an older backup holds fewer checkpoints than its witnesses
#       cosigned, and a join's copy cannot skip a refusal on PostgreSQL 15.
#   F2  a witness holding a cosignature dated ten years ahead (a clock that
#       once ran ahead, or its superuser): peers already joined refuse it
#       and SKIP; a member joining later meets it in the table copy, which
#       stopped ('stopped', cosignature_ahead) and cannot be SKIPped on
#       PostgreSQL 15: the witness could not be joined for ten years.
#       FIXED: in a table sync such a row is dropped with a warning, not
#       stored (it sets no era); the apply worker still refuses new ones.
#   F3  a malicious member (rules off) runs one statement that waits for a
#       competitor's first battery_model row of a model id to arrive, then
#       declares the same id: ledger_at is the statement's start, so its row
#       comes first in registry order and it holds the id on every member
#       (the competitor's passports show its values; the competitor's own
#       redeclaration gets BL061).  verify_member() does not name it (within
#       battledger.max_backdate of the member's other rows).  NOT FIXED.
#       0.19.0 (ns21): closed for model ids in a registered namespace
#       (test/redteam/ns21_0190_findings.sh M2); CELL-X here is in none, the
#       residual docs/security.md keeps, so F3 still fails here by design.
#   held: tlog_proof() pastes only cosignatures of real checkpoints;
#       battledger.max_clock_ahead is superuser-only (a plain role's SET of
#       the placeholder is discarded when the library loads); a member
#       publishes only its own cosignatures (witness = its origin, checked on
#       arrival), so cosignatures of other members' logs or dated ahead stop
#       only the subscription to that member; the log queue's slots (Q1-Q3:
#       growing flushes in one transaction, subtransactions failing after
#       mid-statement batches, PREPARE / COMMIT / ROLLBACK PREPARED, the
#       next transaction).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
P=${R21_PORT:-55720}
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([a]=$P [b]=$((P + 1)) [q]=$((P + 2)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [q]=q.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }

# ---------------------------------------------------------------- 1. cosignatures
# a is a witness; b joins a (b receives a's cosignatures, checked against a's
# pinned witness key).  a does not witness b: b's log is cosigned by nobody.
for m in a b; do
  w=""; [ "$m" = a ] && w=witness
  bl_member_start "$m" "$W" "$w" "$BL_QUICK_RETRY"
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('reading', 'battery');
SELECT battledger.publish_member();
SQL
done
"$BL_CLI" keygen --out "$W/fake-log" >/dev/null
[ "$(id -u)" = 0 ] && chown postgres: "$W"/*.key
bl_member_keys a witness
bl_member_keys b
bl_join b a
bl_wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = 'a.example/log'" >/dev/null
q b -c "INSERT INTO reading SELECT 'B' || i % 10, 1 FROM generate_series(1, 10) i" -c "SELECT battledger.seal()" >/dev/null
SIZE=$(q b -c "SELECT max(tree_size) FROM battledger.checkpoint")
# forge SIZE TIME TAG: a's superuser publishes a cosignature by a's real
# witness key of a tree of b's log that b never signed (root made up)
forge() {
  local root line
  root=$(q a -c "SELECT encode(sha256('forged $3'), 'base64')")
  line=$("$BL_CLI" sign-checkpoint --key "$W/fake-log.key" --origin b.example/log --size "$1" --root "$root" \
         | "$BL_CLI" cosign --key "$W/a-witness.key" --name a.example/log --time "$2" | tail -n 1)
  q a -v line="$line" >/dev/null \
    <<<"INSERT INTO battledger.cosignature VALUES ('b.example/log', $1, battledger.hash256(sha256('forged $3')), 'a.example/log', $2, :'line')"
}
now=$(date +%s)
forge "$SIZE" "$now" samesize          # b's own size, another root
forge 1000000 "$now" huge              # a size b's log never reached
bl_wait_for b "SELECT count(*) >= 2 OR (SELECT count(*) FROM battledger.rejections) > 0
               FROM battledger.cosignature WHERE log_origin = 'b.example/log'" 100 >/dev/null || true
H=$(q b -c "SELECT log_size || ' ' || cosigned_size || ' ' || uncosigned_leaves FROM battledger.health()")
# F1: health() of b says its whole log (and more) is cosigned, while no
# witness ever cosigned a checkpoint b signed
check "F1 b's health(): cosignatures of trees b never signed do not count as cosigned" "$H" "$SIZE 0 $SIZE"
S=$(q b -c "SELECT coalesce(my_latest_cosigned_by_them, 0) FROM battledger.consortium_status() WHERE member = 'a.example/log'")
check "F1b b's consortium_status().my_latest_cosigned_by_them ignores them too" "$S" 0
# what did hold: proofs pasted only cosignatures of b's real checkpoints
PR=$(q b -c "SELECT count(*) FROM battledger.log_leaf" )
E=$(q b -v VERBOSITY=terse -c "SELECT battledger.tlog_proof(0, 1)" 2>&1 | grep -c 'no checkpoint covering' || true)
check "tlog_proof(0, 1) of b: no checkpoint counts as cosigned by the forged lines ($PR leaves)" "$E" 1
# the control: a's cosignature of b's real checkpoint counts
# (the forged row holds b's SIZE at a: b seals once more and a cosigns that)
q b -c "INSERT INTO reading VALUES ('B1', 2)" -c "SELECT battledger.seal()" >/dev/null
SIZE2=$(q b -c "SELECT max(tree_size) FROM battledger.checkpoint")
root=$(q b -c "SELECT encode(decode(root::text, 'hex'), 'base64') FROM battledger.checkpoint WHERE tree_size = $SIZE2")
line=$("$BL_CLI" sign-checkpoint --key "$W/fake-log.key" --origin b.example/log --size "$SIZE2" --root "$root" \
       | "$BL_CLI" cosign --key "$W/a-witness.key" --name a.example/log --time "$now" | tail -n 1)
q a -v line="$line" -v r="$(q b -c "SELECT root::text FROM battledger.checkpoint WHERE tree_size = $SIZE2")" >/dev/null \
  <<<"INSERT INTO battledger.cosignature VALUES ('b.example/log', $SIZE2, :'r'::battledger.hash256, 'a.example/log', $now, :'line')"
bl_wait_for b "SELECT count(*) >= 3 FROM battledger.cosignature WHERE log_origin = 'b.example/log'" 100 >/dev/null || true
H=$(q b -c "SELECT log_size || ' ' || cosigned_size || ' ' || uncosigned_leaves FROM battledger.health()")
check "  control: a cosignature of b's real checkpoint counts in health()" "$H" "$SIZE2 $SIZE2 0"
# F2: a witness whose clock once ran far ahead (or a malicious one) keeps
# a cosignature dated ten years ahead in its append-only table.  Its peers
# already joined refuse it (cosignature_ahead) and SKIP that transaction.
# A member joining later gets it in the join's table copy: refused there
# too, and a table sync's transaction cannot be SKIPped on PostgreSQL 15,
# so the new member can never receive anything from it until its clock
# reaches that date (keys2's note).  Only the witness's own subscription
# is stopped: a member publishes only its own cosignatures.
forge 1000001 $((now + 315360000)) ahead
bl_wait_for b "SELECT count(*) > 0 FROM battledger.rejections WHERE problem = 'cosignature_ahead'" 100 >/dev/null || true
check "  a cosignature dated ten years ahead is refused at b (cosignature_ahead)" \
  "$(q b -c "SELECT count(*) > 0 FROM battledger.rejections WHERE problem = 'cosignature_ahead'")" t
bl_member_start q "$W" "" "$BL_QUICK_RETRY"
q q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('reading', 'battery');
SQL
bl_join q a
bl_wait_for q "SELECT count(*) > 0 FROM battledger.rejections WHERE problem = 'cosignature_ahead'
               OR (SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = 'a.example/log')" 150 >/dev/null || true
ST=$(q q -c "SELECT state FROM battledger.consortium_status() WHERE member = 'a.example/log'")
NR=$(q q -c "SELECT count(*) FROM battledger.rejections WHERE problem = 'cosignature_ahead'")
if [ "$NR" -gt 0 ] && [ "$ST" != ok ]; then
  fail "F2 a member joining a witness that holds a cosignature dated ahead completes its join" \
       "the join's copy is refused ($NR cosignature_ahead), state '$ST', and SKIP does not apply to a table sync on PostgreSQL 15"
else
  ok "F2 a member joining a witness that holds a cosignature dated ahead completes its join (state $ST)"
fi
RS=$(q q -c "SELECT left(reason, 300) FROM battledger.consortium_status() WHERE member = 'a.example/log'")
echo "#   q's status of a: $ST | $RS"
check "  and the row dated ahead is not stored at q" "$(q q -c "SELECT count(*) FROM battledger.cosignature WHERE tree_size = 1000001")" 0
check "  while a's other cosignatures are" "$(q q -c "SELECT count(*) FROM battledger.cosignature WHERE log_origin = 'b.example/log'")" 3
# the GUC: superuser only.  A plain role's SET before the library is loaded
# makes a placeholder; the library, loaded by its next battledger call,
# must not take the value (PostgreSQL discards a SUSET placeholder's value
# set by a role without the right)
q b -c "CREATE ROLE r21plain LOGIN" >/dev/null
G=$(psql -X -q -At -h "$BL_WORK" -p "${PORT[b]}" -d bl -U r21plain \
    -c "SET battledger.max_clock_ahead = 100000000" -c "SELECT battledger.hash256(sha256('x')) IS NOT NULL" \
    -c "SHOW battledger.max_clock_ahead" 2>/dev/null | tail -1)
check "a plain role cannot set battledger.max_clock_ahead (placeholder before the library loads)" "$G" "10min"
G=$(psql -X -q -At -h "$BL_WORK" -p "${PORT[b]}" -d bl -U r21plain -c "SELECT battledger.hash256(sha256('x')) IS NOT NULL" \
    -c "SET battledger.max_clock_ahead = 100000000" 2>&1 | grep -c 'permission denied')
check "  nor once it is loaded" "$G" 1


# ---------------------------------------------------------------- 2. model ids
# F3: a model id is its first declarer's in registry order, and registry
# order follows ledger_at, the writer's statement start.  A malicious
# member (its superuser, rules off) starts one statement that waits for a
# competitor's first declaration of a model id to arrive, then declares the
# same id: its row is dated at its statement's start, before the
# competitor's.  Nothing bounds the date of a new chain's first row but the
# member's later rows (verify_member()'s backdated_row, 10 min by default),
# so on every member it becomes the model's holder: the competitor's
# passports show its values, and the competitor may no longer declare its
# own model (BL061).  No clock is touched.
PORT[c]=$((P + 4)); PORT[m]=$((P + 5))
ORIGIN[c]=c.example/log; ORIGIN[m]=m.example/log
for x in c m; do
  bl_member_start "$x" "$W" witness "$BL_QUICK_RETRY"
  q "$x" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT battledger.publish_member();
SQL
done
q c -c "SELECT battledger.add_member('cell.example', ARRAY['cell_maker']), battledger.add_key('cell.example', battledger_test.public_key(battledger_test.seed('cell-1')))" >/dev/null
q m -c "SELECT battledger.add_member('mal.example', ARRAY['pack_maker']), battledger.add_key('mal.example', battledger_test.public_key(battledger_test.seed('mal-1')))" >/dev/null
for x in c m; do bl_member_keys "$x" witness; done
bl_join c m; bl_join m c
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.members" >/dev/null; done
MJ='{"model_id": "CELL-X", "manufacturer": "%s", "category": "ev", "chemistry": "%s", "rated_capacity_ah": %s}'
q m >/dev/null <<SQL
ALTER TABLE battledger.battery_model DISABLE TRIGGER battledger_rules;
CREATE FUNCTION squat() RETURNS text LANGUAGE plpgsql AS \$\$
BEGIN
    FOR i IN 1..300 LOOP
        EXIT WHEN EXISTS (SELECT 1 FROM battledger.battery_model WHERE model_id = 'CELL-X');
        PERFORM pg_sleep(0.1);
    END LOOP;
    PERFORM model('mal-1', '$(printf "$MJ" mal.example NMC-fake 1)'::jsonb);
    RETURN 'done';
END \$\$;
SQL
q m -c "SELECT squat()" >/dev/null 2>&1 &
squat=$!
sleep 2
q c -c "SELECT model('cell-1', '$(printf "$MJ" cell.example LFP 280)'::jsonb)" >/dev/null
wait $squat
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.battery_model WHERE model_id = 'CELL-X'" >/dev/null; done
HC=$(q c -c "SELECT battledger._model_holder('CELL-X')"); HM=$(q m -c "SELECT battledger._model_holder('CELL-X')")
echo "#   model CELL-X: holder at c '$HC', at m '$HM'; rows (signer, ledger_at) at c: $(q c -c "SELECT string_agg(manufacturer || ' ' || ledger_at::text, ', ' ORDER BY ledger_at) FROM battledger.battery_model")"
check "F3 a competitor declaring a model id after it, dating its row at its statement's start, does not take it" "$HC/$HM" "cell.example/cell.example"
R=$(q c -v VERBOSITY=sqlstate -c "SELECT model('cell-1', '$(printf "$MJ" cell.example LFP 281)'::jsonb)" 2>&1 | head -1)
check "  the first declarer may declare its model again" "$R" ""
q m -c "SELECT battledger.seal()" >/dev/null
n=$(q m -c "SELECT max(tree_size) FROM battledger.checkpoint")
bl_wait_for c "SELECT count(*) = $n FROM battledger.peer_leaf WHERE origin = 'm.example/log'" >/dev/null || true
V=$(q c -c "SELECT count(*) FROM battledger.verify_member('m.example/log') WHERE problem = 'backdated_row'")
echo "#   c's verify_member(m) backdated_row lines: $V (the row is dated a few seconds back)"

# ---------------------------------------------------------------- 3. the log queue's slots
# slots made on demand (6b0c702): made in one flush, reused and grown by
# later flushes of the same transaction, across subtransactions that
# errored half way through a bulk statement (batches written between its
# rows, then rolled back), a tuple context sized by a 1-row first flush
# then a bulk load, PREPARE TRANSACTION; after each, every row is queued
# once with its seq and hash, and nothing else (test/shell/log_queue.sh's
# measure)
PORT[z]=$((P + 3))
bl_start_cluster z "${PORT[z]}" "$(bl_test_log_conf queue.r21/log)
max_prepared_transactions = 4"
createdb -h "$BL_WORK" -p "${PORT[z]}" bl
q z >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE t (battery text NOT NULL, n int CHECK (n IS DISTINCT FROM -1));
SELECT battledger.enable_ledger('t', 'battery');
CREATE TABLE u (battery text NOT NULL, n int);
SELECT battledger.enable_ledger('u', 'battery');
CREATE FUNCTION queue_state(t regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    name text := (SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = t);
    r text;
BEGIN
    EXECUTE format($q$
        WITH q AS (SELECT seq, row_hash FROM battledger.log_pending WHERE tbl = %L
                   UNION ALL SELECT seq, row_hash FROM battledger.log_leaf WHERE tbl = %L)
        SELECT (SELECT count(*) FROM q) || ' ' || (SELECT count(DISTINCT row_hash::text) FROM q) || ' ' ||
               (SELECT count(*) FROM %s) || ' ' ||
               (SELECT count(*) FROM %s x WHERE EXISTS (SELECT 1 FROM q WHERE q.seq = x.ledger_seq
                                                         AND q.row_hash::text = x.ledger_hash::text))$q$,
        name, name, t, t) INTO r;
    RETURN r;
END $$;
CREATE FUNCTION bulk_then_fail(k int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO t SELECT 'E' || i % 5, CASE WHEN i = k THEN -1 ELSE i END FROM generate_series(1, k + 10) i;
EXCEPTION WHEN check_violation THEN
    INSERT INTO t VALUES ('caught', k);
END $$;
SQL
# one transaction: 1 row, 3 rows, a savepoint's 2,500-row statement failing
# at row 2,400 (two batches written), 5,000 rows, an exception block's
# statement failing at row 1,500, a second ledger table in between
# (psql goes on past the expected errors)
qe() { psql -X -q -At -h "$BL_WORK" -p "${PORT[z]}" -d bl "$@"; }
qe >/dev/null 2>&1 <<'SQL'
BEGIN;
INSERT INTO t VALUES ('A', 1);
INSERT INTO t VALUES ('A', 2), ('A', 3), ('A', 4);
SAVEPOINT s;
INSERT INTO t SELECT 'S' || i % 3, CASE WHEN i = 2400 THEN -1 ELSE i END FROM generate_series(1, 2500) i;
ROLLBACK TO SAVEPOINT s;
INSERT INTO u VALUES ('U', 1);
INSERT INTO t SELECT 'B' || i % 7, i FROM generate_series(1, 5000) i;
SELECT bulk_then_fail(1500);
SAVEPOINT s2;
INSERT INTO u SELECT 'V' || i % 2, i FROM generate_series(1, 1200) i;
RELEASE SAVEPOINT s2;
COMMIT;
SQL
check "Q1 one transaction of growing flushes, failed subtransactions: queue of t exact" "$(q z -c "SELECT queue_state('t')")" "5005 5005 5005 5005"
check "  and of u" "$(q z -c "SELECT queue_state('u')")" "1201 1201 1201 1201"
# the same under PREPARE TRANSACTION, then a rolled back one
qe >/dev/null 2>&1 <<'SQL'
BEGIN;
INSERT INTO t VALUES ('P', 1);
SAVEPOINT s;
INSERT INTO t SELECT 'P' || i % 3, CASE WHEN i = 1999 THEN -1 ELSE i END FROM generate_series(1, 2100) i;
ROLLBACK TO SAVEPOINT s;
INSERT INTO t SELECT 'P' || i % 3, i FROM generate_series(1, 3000) i;
PREPARE TRANSACTION 'r21a';
BEGIN;
INSERT INTO t SELECT 'R' || i % 3, i FROM generate_series(1, 1500) i;
PREPARE TRANSACTION 'r21b';
COMMIT PREPARED 'r21a';
ROLLBACK PREPARED 'r21b';
SQL
check "Q2 PREPARE TRANSACTION after grown slots and a failed subtransaction: queue exact" "$(q z -c "SELECT queue_state('t')")" "8006 8006 8006 8006"
# the session goes on: the next transaction makes its slots anew
q z -c "INSERT INTO t SELECT 'N', i FROM generate_series(1, 1001) i" >/dev/null 2>&1
q z -c "SELECT battledger.seal()" >/dev/null 2>&1
check "Q3 a later transaction's 1,001 rows, then seal(): queue exact, nothing pending" \
  "$(q z -c "SELECT queue_state('t') || ' ' || (SELECT count(*) FROM battledger.log_pending)")" "9007 9007 9007 9007 0"

echo "# $FAILS FAIL(s)"
exit "$FAILS"
