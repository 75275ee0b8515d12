#!/usr/bin/env bash
# Red team r15 (0.14.0 review): galw (DDL guard on an owner's BEFORE INSERT
# row triggers, consortium_status() naming a local arrival trigger), bsig2
# (batch checks: kept plans, no second manifest verification), vlog
# (verify_log(true) from verify_leaves()'s scan) and main's cd04257 (one
# pre-commit SPI snapshot helper), attacked as a plain role, a
# non-superuser table owner, a member's superuser and a malicious member.
# Each case prints "ok <case>" / "FAIL <case>: ..."; exit status: FAILs.
# PG_BIN: the build under test (the merged branches); MAIN_PG_BIN (optional):
# a copy with main's build, for the A/B cases (B*, V*), which then compare
# the two outcome by outcome.  Results: see the header list below (filled in
# from the runs on PostgreSQL 15, 2026-12-05).
# R15_ONLY=G|B|V|C runs one group.
# "main" below is main 5a2283e (before galw/bsig2/vlog, with cd04257),
# "merged" is branch r15 at e33fbe9: galw f8bb764 + bsig2 3ea3859 + vlog
# 3449e4b + main 0541872, PostgreSQL 15, 2026-12-05 23:00-23:35 UTC.
#   G0-G1z (galw) the table owner (no superuser) and a plain role holding
#       the TRIGGER privilege try every way to a BEFORE INSERT row trigger
#       that fires on arriving rows (ENABLE ALWAYS/REPLICA) or after
#       zz_battledger_chain (by name): CREATE late-named, ENABLE ALWAYS,
#       ENABLE REPLICA, ALTER TRIGGER RENAME late, CREATE OR REPLACE of an
#       AFTER trigger as BEFORE (late, or early then ALWAYS), a multibyte
#       name sorting after "z", BEFORE UPDATE OR INSERT, a disabled trigger
#       renamed late then ENABLEd / ENABLE ALWAYS / replaced, ENABLE TRIGGER
#       USER, triggers made before enable_ledger() (late, ALWAYS, disabled
#       then enabled).  Merged: all 14 refused, and no such trigger left on
#       any ledger table (G1z reads pg_trigger).  Main: all 14 accepted (10
#       such triggers left).  Allowed on both, by design: an early-named
#       ORIGIN trigger, a disabled trigger renamed late, enable_ledger() over
#       a disabled late trigger (none of them fires on arrivals)
#   G2  the superuser's late trigger: warned, not refused (holds)
#   G3  pg_dump -Fc / pg_restore --exit-on-error of that member into a new
#       database as the superuser: no error, every trigger restored with
#       its firing mode (the owner's disabled late ones, the superuser's
#       late one), verify() clean (holds)
#   Bc1-Bc5, B1-B17 (bsig2) batch-signed inserts as the table owner, same
#       SQL on both builds: complete batches commit (one statement, two
#       statements reordered, refiled after ROLLBACK TO, PREPARE TRANSACTION
#       + COMMIT PREPARED, eleven tables in turn in one session, past the 8
#       kept rows plans); refused before commit with the same error as main:
#       rows missing across two statements, altered in the second, one
#       duplicated for a missing one, an extra row, ON CONFLICT DO NOTHING
#       short, from a temp table short, PREPARE TRANSACTION short (refused at
#       PREPARE), the batch refiled smaller after ROLLBACK TO with the first
#       filing's rows, rows lost to ROLLBACK TO, a forged manifest
#       signature, rows into another signed table, a batch split across two
#       tables, a short batch after eleven tables (plan slots recycled), a
#       short batch among eleven in one transaction, COPY FROM STDIN short;
#       a second session adding a row to an open batch: refused ("unknown
#       batch"), the batch keeps its 2 rows; verify() clean on both; a plain
#       role holding INSERT alone: a complete batch commits, a short one is
#       refused (Bc6, B18) (holds)
#   V0-V14 (vlog) verify_log(true) as a member's superuser tampering behind
#       the guards, (problem, ref) compared with main: empty log, one leaf,
#       two tables interleaved (clean); a row changed, deleted (also in a
#       table with a 63-byte name), a leaf's row hash swapped, a leaf naming
#       the other table, a duplicate seq, a duplicate leaf, a row added
#       behind the guards, the table dropped, renamed, moved to another
#       schema, a leaf naming a 200,000-byte table name, a name with a
#       trailing space, in another case, naming a non-ledger table, all
#       leaves deleted, all rows deleted, the registry row deleted: the same
#       answers as main, each named (holds)
#   V15 verify_log(true) after a call cancelled by statement_timeout on a
#       log of 300,046 leaves (log_leaf past shared_buffers / 4): a later,
#       complete call in a new session reports checkpoint_beyond_log x1,
#       extra_block x160, extra_tile x1, missing_leaves x1 on a clean log;
#       clean again with SET synchronize_seqscans = off.  FAILS on main
#       5a2283e and on merged alike (not a 0.14.0 regression): the log's
#       heap scans (table_beginscan) are synchronized scans, which start
#       where the last scan of the table stopped; verify_leaves() assumes
#       leaf indexes arrive from 0 (its arrays grow only "up to twice the
#       rows seen so far"; a leaf index past that when the scan wraps is
#       left a stray and counted missing).  FIXED on main 0bfb2e5: every
#       heap scan of battledger's starts at block 0 (bl_table_beginscan(),
#       no synchronized scan): V15 and V17 hold (6 of 10 calls cancelled,
#       later calls clean).  verify_log(false) gave the same
#       four problems after such a cancel (it shares verify_leaves(); checked
#       by hand on the merged build); seal() and verify() of a 400,000-row
#       ledger table are not affected.  No crash; every cancel returns
#   V16 two ledger tables spelling one leaf name ("s.x".t / s."x.t"):
#       enable_ledger() refuses a dot in either name (holds; not testable)
#   V17 two auditors at once: a second verify_log(true) started 0.2-0.6 s
#       into another, on the same clean 300,046-leaf log: the second call
#       reports V15's checkpoint_beyond_log / extra_block x160 / extra_tile /
#       missing_leaves.  FAILS on both, timing-dependent: merged 0/3, 3/3,
#       2/3, 3/3 second calls in four runs; main 0/3, 0/3, 0/3, 2/3 in the
#       same runs; with the second call under synchronize_seqscans = off,
#       0 of 6 on either.  An honest log reported as tampered to an
#       auditor who merely overlaps another (V15's cause); holds on main 0bfb2e5
#   C1  (cd04257) b subscribes to a with two_phase (enabled, 'e'); a runs
#       PREPARE TRANSACTION / COMMIT PREPARED with 5 rows: b applies them, no
#       apply error, peer_arrival counts 15 of 15, status ok (holds)
#   C2  (galw) b's superuser adds a REPLICA trigger zzz_bump changing a's
#       rows (after the arrival check): b's apply worker refuses them
#       ("trigger zzz_bump ... fires after the arrival check"), none stored
#       changed; the status names zzz_bump (holds)
#   C3  b's superuser adds ALWAYS trigger a_drop returning NULL: a's 4 rows
#       dropped at b; status "rows missing" naming a_drop (holds)
#   C4  no backend crash in either member's log (holds)
# Ports R15_PORT_BASE + 1..4 (default 57850).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }
note() { echo "# $*"; }
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
P0=${R15_PORT_BASE:-57850}
declare -A PORT=([m]=$((P0 + 1)) [o]=$((P0 + 2)) [a]=$((P0 + 3)) [b]=$((P0 + 4)))
declare -A ORIGIN=([m]=m.example/log [o]=o.example/log [a]=a.example/log [b]=b.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
# qr MEMBER ROLE SQL: run SQL as ROLE; prints "committed" or the error (terse)
qr() {
  local m=$1 role=$2 sql=$3 out
  out=$(psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=terse -h "$BL_WORK" -p "${PORT[$m]}" -U "$role" -d bl \
          -c '\set VERBOSITY terse' -c "$sql" 2>&1)
  if [ $? = 0 ]; then echo "committed${out:+ ($(echo "$out" | grep -m1 -i warning))}"; else echo "$out" | grep -m1 'ERROR' | sed 's/^psql:[^E]*//'; fi
}
ONLY=${R15_ONLY:-}
MERGED_PG_BIN=$PG_BIN
MAIN_PG_BIN=${MAIN_PG_BIN:-}
EXTRA="max_prepared_transactions = 10"
start_member() {   # start_member NAME BIN
  local save=$PG_BIN; PG_BIN=$2
  bl_member_start "$1" "$W" "" "$EXTRA"
  PG_BIN=$save
  q "$1" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
CREATE ROLE owner LOGIN;
CREATE ROLE plain LOGIN;
GRANT CREATE, USAGE ON SCHEMA public TO owner;
SQL
}
SIDES=m
start_member m "$MERGED_PG_BIN"
if [ -n "$MAIN_PG_BIN" ]; then start_member o "$MAIN_PG_BIN"; SIDES="m o"; fi

# ------------------------------------------------------------------ G (galw)
# expect_refused CASE SIDE ROLE SQL: the guard must refuse it on the merged build
declare -A GACC
expect_refused() {
  local c=$1 s=$2 role=$3 sql=$4 r
  r=$(qr "$s" "$role" "$sql")
  if [ "$s" = m ]; then
    case "$r" in committed*) fail "$c" "accepted for $role: $sql";; *) ok "$c";; esac
  else
    case "$r" in committed*) GACC[$s]=$(( ${GACC[$s]:-0} + 1 )); note "main: $c accepted";; esac
  fi
}
if [ -z "$ONLY" ] || [ "$ONLY" = G ]; then
for s in $SIDES; do
  qr "$s" owner "CREATE TABLE gt (k text, v int);
    SELECT battledger.enable_ledger('gt', 'k');
    CREATE FUNCTION drop_row() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RETURN NULL; END\$\$;
    CREATE FUNCTION keep_row() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN RETURN NEW; END\$\$;
    GRANT TRIGGER, INSERT, SELECT ON gt TO plain;" >/dev/null
  r=$(qr "$s" owner "CREATE TRIGGER a_drop BEFORE INSERT ON gt FOR EACH ROW EXECUTE FUNCTION drop_row()")
  case "$r" in committed*) ;; *) fail G0-setup "$s: an early-named ORIGIN trigger refused: $r";; esac
  qr "$s" owner "CREATE TRIGGER a_after AFTER INSERT ON gt FOR EACH ROW EXECUTE FUNCTION keep_row()" >/dev/null
  # the owner, each way to a BEFORE INSERT row trigger firing on arrivals or after the chain trigger
  expect_refused G1a-create-late "$s" owner "CREATE TRIGGER zzz_drop BEFORE INSERT ON gt FOR EACH ROW EXECUTE FUNCTION drop_row()"
  expect_refused G1b-enable-always "$s" owner "ALTER TABLE gt ENABLE ALWAYS TRIGGER a_drop"
  expect_refused G1c-enable-replica "$s" owner "ALTER TABLE gt ENABLE REPLICA TRIGGER a_drop"
  expect_refused G1d-rename-late "$s" owner "ALTER TRIGGER a_drop ON gt RENAME TO zzz_drop"
  expect_refused G1e-replace-after-as-before-late "$s" owner "CREATE OR REPLACE TRIGGER zz_late AFTER INSERT ON gt FOR EACH ROW EXECUTE FUNCTION keep_row();
      CREATE OR REPLACE TRIGGER zz_late BEFORE INSERT ON gt FOR EACH ROW EXECUTE FUNCTION drop_row()"
  expect_refused G1e2-replace-early-then-always "$s" owner "CREATE OR REPLACE TRIGGER a_after BEFORE INSERT ON gt FOR EACH ROW EXECUTE FUNCTION drop_row();
      ALTER TABLE gt ENABLE ALWAYS TRIGGER a_after"
  expect_refused G1e3-multibyte-name "$s" owner "CREATE TRIGGER \"é_drop\" BEFORE INSERT ON gt FOR EACH ROW EXECUTE FUNCTION drop_row()"
  expect_refused G1e4-insert-or-update "$s" owner "CREATE TRIGGER zzz_iu BEFORE UPDATE OR INSERT ON gt FOR EACH ROW EXECUTE FUNCTION drop_row()"
  # disabled, renamed late (allowed: it fires nowhere), then enabled
  qr "$s" owner "ALTER TABLE gt DISABLE TRIGGER a_drop" >/dev/null
  r=$(qr "$s" owner "ALTER TRIGGER a_drop ON gt RENAME TO zzz_sleeper")
  note "$s: a disabled trigger renamed after the chain trigger: $r"
  expect_refused G1f-enable-disabled-late "$s" owner "ALTER TABLE gt ENABLE TRIGGER zzz_sleeper"
  expect_refused G1f2-enable-always-disabled-late "$s" owner "ALTER TABLE gt ENABLE ALWAYS TRIGGER zzz_sleeper"
  expect_refused G1f3-replace-disabled-late "$s" owner "CREATE OR REPLACE TRIGGER zzz_sleeper BEFORE INSERT ON gt FOR EACH ROW EXECUTE FUNCTION drop_row()"
  expect_refused G1f4-enable-all "$s" owner "ALTER TABLE gt ENABLE TRIGGER USER"
  # a plain role with the TRIGGER privilege
  expect_refused G1g-plain-create-late "$s" plain "CREATE TRIGGER zzz_plain BEFORE INSERT ON gt FOR EACH ROW EXECUTE FUNCTION drop_row()"
  # before enable_ledger()
  expect_refused G1h-pre-enable-late "$s" owner "CREATE TABLE gp1 (k text);
      CREATE TRIGGER zzz_pre BEFORE INSERT ON gp1 FOR EACH ROW EXECUTE FUNCTION drop_row();
      SELECT battledger.enable_ledger('gp1', 'k')"
  expect_refused G1h2-pre-enable-always "$s" owner "CREATE TABLE gp2 (k text);
      CREATE TRIGGER a_pre BEFORE INSERT ON gp2 FOR EACH ROW EXECUTE FUNCTION drop_row();
      ALTER TABLE gp2 ENABLE ALWAYS TRIGGER a_pre;
      SELECT battledger.enable_ledger('gp2', 'k')"
  r=$(qr "$s" owner "CREATE TABLE gp3 (k text);
      CREATE TRIGGER zzz_pre BEFORE INSERT ON gp3 FOR EACH ROW EXECUTE FUNCTION drop_row();
      ALTER TABLE gp3 DISABLE TRIGGER zzz_pre;
      SELECT battledger.enable_ledger('gp3', 'k')")
  note "$s: enable_ledger() with a disabled late trigger: $r"
  expect_refused G1h3-pre-enable-disabled-then-enabled "$s" owner "ALTER TABLE gp3 ENABLE TRIGGER zzz_pre"
  # whatever was accepted: no user BEFORE INSERT row trigger on a ledger table fires on arrivals or after the chain
  bad=$(q "$s" -c "SELECT string_agg(t.tgrelid::regclass || '.' || t.tgname || ':' || t.tgenabled::text, ' ')
                    FROM pg_trigger t JOIN battledger.ledger_tables l ON l.tbl = t.tgrelid
                   WHERE NOT t.tgisinternal AND t.tgtype::int & 7 = 7 AND t.tgname NOT LIKE 'zz\_battledger%'
                     AND (t.tgenabled IN ('A', 'R') OR (t.tgenabled = 'O' AND t.tgname::text COLLATE \"C\" > 'zz_battledger_chain'))" 2>&1) || bad="query failed: $bad"
  if [ "$s" = m ]; then
    [ -z "$bad" ] && ok G1z-no-late-or-arrival-trigger || fail G1z-no-late-or-arrival-trigger "owner-made triggers: $bad"
  else note "main: owner-made arrival/late triggers: ${bad:-none}; attempts accepted: ${GACC[$s]:-0}"; fi
  # the superuser: warned, not refused
  r=$(qr "$s" postgres "CREATE TRIGGER zzz_su BEFORE INSERT ON gt FOR EACH ROW EXECUTE FUNCTION keep_row()")
  if [ "$s" = m ]; then
    case "$r" in committed*WARNING*) ok G2-superuser-warned;; *) fail G2-superuser-warned "$r";; esac
  fi
done
# pg_dump -Fc / pg_restore of the member as the superuser, with the owner's
# early trigger, its disabled late one and the superuser's late one
if [ -z "$ONLY" ] || [ "$ONLY" = G ]; then
  before=$(q m -c "SELECT string_agg(c.relname || '.' || t.tgname || ':' || t.tgenabled::text, ' ' ORDER BY c.relname, t.tgname) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace")
  qr m owner "INSERT INTO gt VALUES ('k1', 1)" >/dev/null
  out=$( { pg_dump -Fc -h "$BL_WORK" -p "${PORT[m]}" -U postgres -d bl -f "$BL_WORK/bl.dump" &&
           createdb -h "$BL_WORK" -p "${PORT[m]}" -U postgres bl2 &&
           pg_restore -h "$BL_WORK" -p "${PORT[m]}" -U postgres -d bl2 --exit-on-error "$BL_WORK/bl.dump"; } 2>&1)
  rc=$?
  after=$(psql -X -At -h "$BL_WORK" -p "${PORT[m]}" -U postgres -d bl2 -c "SELECT string_agg(c.relname || '.' || t.tgname || ':' || t.tgenabled::text, ' ' ORDER BY c.relname, t.tgname) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace" 2>&1)
  vp=$(psql -X -At -h "$BL_WORK" -p "${PORT[m]}" -U postgres -d bl2 -c "SELECT count(*) FROM battledger.ledger_tables l, battledger.verify(l.tbl) v" 2>&1)
  if [ $rc = 0 ] && [ "$before" = "$after" ] && [ "$vp" = 0 ]; then ok G3-dump-restore; note "  G3: restored with warnings: $(echo "$out" | grep -c WARNING)"
  else fail G3-dump-restore "rc $rc: $(echo "$out" | grep -m2 ERROR | tr '\n' ' '); triggers before '$before' after '$after'; verify: $vp"; fi
fi
fi

# ------------------------------------------------------------------ B (bsig2)
# Every case as the signed tables' owner (no superuser), the same SQL on
# both builds; the outcome (committed, or the error) must be the one main
# gives, and every attack refused before commit.
bsetup() {
  q "$1" >/dev/null <<'SQL'
SET search_path = public, battledger, battledger_test;
SELECT add_member('fleetco.example', ARRAY['fleet_operator']);
SELECT add_member('minerco.example', ARRAY['miner']);
SELECT add_key('fleetco.example', public_key(seed('fleetco-1'))) IS NOT NULL;
SELECT add_key('minerco.example', public_key(seed('minerco-1'))) IS NOT NULL;
GRANT USAGE ON SCHEMA battledger_test TO owner, plain;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA battledger_test TO owner, plain;
SQL
  qr "$1" owner "SET search_path = public, battledger, battledger_test;
DO \$\$ BEGIN FOR i IN 0..10 LOOP EXECUTE pg_catalog.format(\$f\$
  CREATE TABLE tel%1\$s (battery text, cycle int, capacity_ah numeric);
  SELECT battledger.enable_ledger('tel%1\$s', 'battery', signed => true, signer_roles => ARRAY['fleet_operator']);
  CREATE FUNCTION rows%1\$s(seedname text, id text, n int) RETURNS SETOF tel%1\$s LANGUAGE sql
    SET search_path = public, battledger, battledger_test AS \$b\$
    SELECT jsonb_populate_record(NULL::tel%1\$s, jsonb_build_object(
               'battery', 'B0025', 'cycle', i, 'capacity_ah', 1.8 + i / 1000.0,
               'ledger_key_id', key_id(public_key(seed(seedname)))::text, 'ledger_batch', id))
      FROM generate_series(1, n) i \$b\$;
  CREATE FUNCTION sign%1\$s(seedname text, id text, rows tel%1\$s[], forge text DEFAULT NULL) RETURNS void LANGUAGE plpgsql
    SET search_path = public, battledger, battledger_test AS \$b\$
  DECLARE root hash256 := batch_root(ARRAY(SELECT sha256(signing_bytes(r))::hash256 FROM unnest(rows) r));
  BEGIN
    INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
    VALUES (id, 'public.tel%1\$s', key_id(public_key(seed(seedname))), cardinality(rows), root,
            sign(seed(coalesce(forge, seedname)), batch_manifest('public.tel%1\$s', id, cardinality(rows), root)));
  END \$b\$;\$f\$, i); END LOOP; END \$\$;"
}
declare -A BOUT
bcase() {   # bcase CASE expect(commit|refuse) SQL
  local c=$1 want=$2 sql="SET search_path = public, battledger, battledger_test;
$3" s r
  for s in $SIDES; do
    r=$(qr "$s" owner "$sql")
    BOUT[$s]=$r
  done
  r=${BOUT[m]}
  case "$want:$r" in
    refuse:*"permission denied"*|refuse:*"does not exist"*|refuse:*"syntax error"*|refuse:*"must be superuser"*) fail "$c" "refused for a set-up reason: $r"; return;;
    commit:committed*|refuse:ERROR*) ;;
    *) fail "$c" "merged build: $r (wanted $want)"; return;;
  esac
  if [ -n "$MAIN_PG_BIN" ] && [ "${BOUT[o]}" != "$r" ]; then
    fail "$c" "merged build: $r; main: ${BOUT[o]}"; return
  fi
  ok "$c"; note "  $c: $r"
}
if [ -z "$ONLY" ] || [ "$ONLY" = B ]; then
for s in $SIDES; do x=$(bsetup "$s"); case "$x" in committed*) ;; *) fail B-setup "$s: $x";; esac; done
bcase Bc1-control-one-statement commit "BEGIN; SELECT sign0('fleetco-1', 'c1', ARRAY(SELECT rows0('fleetco-1', 'c1', 3)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'c1', 3); COMMIT;"
bcase Bc2-control-two-statements-reordered commit "BEGIN; SELECT sign0('fleetco-1', 'c2', ARRAY(SELECT rows0('fleetco-1', 'c2', 4)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'c2', 4) r ORDER BY cycle DESC LIMIT 2;
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'c2', 2); COMMIT;"
bcase Bc3-control-refiled-after-rollback-to commit "BEGIN; SAVEPOINT s;
  SELECT sign0('fleetco-1', 'c3', ARRAY(SELECT rows0('fleetco-1', 'c3', 3)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'c3', 3);
  ROLLBACK TO s;
  SELECT sign0('fleetco-1', 'c3', ARRAY(SELECT rows0('fleetco-1', 'c3', 2)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'c3', 2); COMMIT;"
bcase B1-missing-two-statements refuse "BEGIN; SELECT sign0('fleetco-1', 'x1', ARRAY(SELECT rows0('fleetco-1', 'x1', 4)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x1', 2);
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x1', 3) OFFSET 2; COMMIT;"
bcase B2-altered-second-statement refuse "BEGIN; SELECT sign0('fleetco-1', 'x2', ARRAY(SELECT rows0('fleetco-1', 'x2', 4)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x2', 2);
  INSERT INTO tel0 SELECT battery, cycle, capacity_ah + 1, ledger_seq, ledger_prev, ledger_hash, ledger_key_id, ledger_sig, ledger_batch, ledger_at
    FROM rows0('fleetco-1', 'x2', 4) OFFSET 2; COMMIT;"
bcase B3-duplicated-for-missing refuse "BEGIN; SELECT sign0('fleetco-1', 'x3', ARRAY(SELECT rows0('fleetco-1', 'x3', 3)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x3', 2);
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x3', 2) OFFSET 1; COMMIT;"
bcase B4-extra-row refuse "BEGIN; SELECT sign0('fleetco-1', 'x4', ARRAY(SELECT rows0('fleetco-1', 'x4', 2)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x4', 3); COMMIT;"
bcase B5-on-conflict-missing refuse "BEGIN; SELECT sign0('fleetco-1', 'x5', ARRAY(SELECT rows0('fleetco-1', 'x5', 3)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x5', 2) ON CONFLICT DO NOTHING; COMMIT;"
bcase B6-staged-temp-table-missing refuse "BEGIN; SELECT sign0('fleetco-1', 'x6', ARRAY(SELECT rows0('fleetco-1', 'x6', 3)));
  CREATE TEMP TABLE stage AS SELECT * FROM rows0('fleetco-1', 'x6', 2);
  INSERT INTO tel0 TABLE stage; COMMIT;"
bcase B7-prepared-incomplete refuse "BEGIN; SELECT sign0('fleetco-1', 'x7', ARRAY(SELECT rows0('fleetco-1', 'x7', 3)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x7', 2); PREPARE TRANSACTION 'x7';"
for s in $SIDES; do q "$s" -c "ROLLBACK PREPARED 'x7'" >/dev/null 2>&1; done
bcase Bc4-control-prepared commit "BEGIN; SELECT sign0('fleetco-1', 'c4', ARRAY(SELECT rows0('fleetco-1', 'c4', 3)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'c4', 3); PREPARE TRANSACTION 'c4';"
for s in $SIDES; do
  r=$(q "$s" -c "COMMIT PREPARED 'c4'" 2>&1) || fail Bc4-control-prepared "$s: COMMIT PREPARED: $r"
done
bcase B8-refiled-smaller-rows-of-first refuse "BEGIN; SAVEPOINT s;
  SELECT sign0('fleetco-1', 'x8', ARRAY(SELECT rows0('fleetco-1', 'x8', 3)));
  ROLLBACK TO s;
  SELECT sign0('fleetco-1', 'x8', ARRAY(SELECT rows0('fleetco-1', 'x8', 2)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x8', 3); COMMIT;"
bcase B9-rows-lost-to-rollback-to refuse "BEGIN; SELECT sign0('fleetco-1', 'x9', ARRAY(SELECT rows0('fleetco-1', 'x9', 3)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x9', 1); SAVEPOINT s;
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x9', 3) OFFSET 1; ROLLBACK TO s; RELEASE s; COMMIT;"
bcase B10-forged-signature refuse "BEGIN; SELECT sign0('fleetco-1', 'x10', ARRAY(SELECT rows0('fleetco-1', 'x10', 3)), 'minerco-1');
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x10', 3); COMMIT;"
bcase B11-rows-into-another-table refuse "BEGIN; SELECT sign0('fleetco-1', 'x11', ARRAY(SELECT rows0('fleetco-1', 'x11', 3)));
  INSERT INTO tel1 SELECT * FROM rows0('fleetco-1', 'x11', 3); COMMIT;"
bcase B12-split-across-tables refuse "BEGIN; SELECT sign0('fleetco-1', 'x12', ARRAY(SELECT rows0('fleetco-1', 'x12', 3)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x12', 2);
  INSERT INTO tel1 SELECT * FROM rows0('fleetco-1', 'x12', 3) OFFSET 2; COMMIT;"
# the kept rows plans: 8 per session, round robin; eleven tables in turn, then a bad batch into the first again
eleven() {  # eleven PREFIX SEP: a complete 2-row batch into each of tel0..tel10, SEP between
  local i
  for i in 0 1 2 3 4 5 6 7 8 9 10; do
    echo "SELECT sign$i('fleetco-1', '$1$i', ARRAY(SELECT rows$i('fleetco-1', '$1$i', 2))); INSERT INTO tel$i SELECT * FROM rows$i('fleetco-1', '$1$i', 2); $2"
  done
}
bcase Bc5-control-eleven-tables-one-session commit "BEGIN; $(eleven e 'COMMIT; BEGIN;') COMMIT;"
bcase B13-eleven-tables-then-missing refuse "BEGIN; $(eleven f 'COMMIT; BEGIN;')
  SELECT sign0('fleetco-1', 'x13', ARRAY(SELECT rows0('fleetco-1', 'x13', 3)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x13', 2); COMMIT;"
bcase B14-eleven-in-one-xact-one-missing refuse "BEGIN; $(eleven g '')
  SELECT sign3('fleetco-1', 'x14', ARRAY(SELECT rows3('fleetco-1', 'x14', 3)));
  INSERT INTO tel3 SELECT * FROM rows3('fleetco-1', 'x14', 2); COMMIT;"
# COPY FROM STDIN, one row short
copydata=$(q m -c "SET search_path = public, battledger, battledger_test" -c "COPY (SELECT * FROM rows0('fleetco-1', 'x15', 2)) TO STDOUT")
for s in $SIDES; do
  BOUT[$s]=$(printf '%s\n' "SET search_path = public, battledger, battledger_test;" "BEGIN;" \
      "SELECT sign0('fleetco-1', 'x15', ARRAY(SELECT rows0('fleetco-1', 'x15', 3)));" "COPY tel0 FROM STDIN;" "$copydata" '\.' "COMMIT;" |
    psql -X -q -At -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[$s]}" -U owner -d bl -c '\set VERBOSITY terse' -f - 2>&1 | grep -m1 ERROR | sed 's/^psql:[^E]*//')
done
if [ -z "${BOUT[m]}" ]; then fail B15-copy-missing "merged build: committed"
elif [ -n "$MAIN_PG_BIN" ] && [ "${BOUT[o]}" != "${BOUT[m]}" ]; then fail B15-copy-missing "merged: ${BOUT[m]}; main: ${BOUT[o]}"
else ok B15-copy-missing; note "  B15: ${BOUT[m]}"; fi
# two sessions naming the same batch: the second adds a row to the first's batch while it is open
for s in $SIDES; do
  psql -X -q -At -h "$BL_WORK" -p "${PORT[$s]}" -U owner -d bl -c "SET search_path = public, battledger, battledger_test" -c "BEGIN; SELECT sign0('fleetco-1', 'x16', ARRAY(SELECT rows0('fleetco-1', 'x16', 2)));
    INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'x16', 2); SELECT pg_sleep(2); COMMIT;" >/dev/null 2>&1 &
  p1=$!
  sleep 0.7
  r2=$(qr "$s" owner "SET search_path = public, battledger, battledger_test; BEGIN; INSERT INTO tel0 SELECT battery, cycle + 10, capacity_ah, ledger_seq, ledger_prev, ledger_hash, ledger_key_id, ledger_sig, ledger_batch, ledger_at FROM rows0('fleetco-1', 'x16', 1); COMMIT;")
  wait $p1
  n=$(q "$s" -c "SELECT count(*) FROM tel0 WHERE ledger_batch = 'x16'")
  BOUT[$s]="second session: $r2; rows of x16 stored: $n"
done
case "${BOUT[m]}" in *"committed"*|*"stored: "[013-9]*) fail B16-concurrent-same-batch "merged build: ${BOUT[m]}";;
  *) if [ -n "$MAIN_PG_BIN" ] && [ "${BOUT[o]}" != "${BOUT[m]}" ]; then fail B16-concurrent-same-batch "merged: ${BOUT[m]}; main: ${BOUT[o]}";
     else ok B16-concurrent-same-batch; note "  B16: ${BOUT[m]}"; fi;; esac
# a plain role holding INSERT on the table alone (the check reads the rows as the owner)
for s in $SIDES; do qr "$s" owner "GRANT INSERT ON tel0 TO plain" >/dev/null; done
bcasep() { local c=$1 want=$2 sql="SET search_path = public, battledger, battledger_test;
$3" s r
  for s in $SIDES; do BOUT[$s]=$(qr "$s" plain "$sql"); done
  r=${BOUT[m]}
  case "$want:$r" in commit:committed*|refuse:ERROR*) ;; *) fail "$c" "merged build: $r (wanted $want)"; return;; esac
  if [ -n "$MAIN_PG_BIN" ] && [ "${BOUT[o]}" != "$r" ]; then fail "$c" "merged build: $r; main: ${BOUT[o]}"; return; fi
  ok "$c"; note "  $c: $r"
}
bcasep Bc6-plain-role-complete commit "BEGIN; SELECT sign0('fleetco-1', 'p1', ARRAY(SELECT rows0('fleetco-1', 'p1', 3)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'p1', 3); COMMIT;"
bcasep B18-plain-role-short refuse "BEGIN; SELECT sign0('fleetco-1', 'p2', ARRAY(SELECT rows0('fleetco-1', 'p2', 3)));
  INSERT INTO tel0 SELECT * FROM rows0('fleetco-1', 'p2', 2); COMMIT;"
for s in $SIDES; do
  v=$(q "$s" -c "SELECT count(*) FROM battledger.ledger_tables l, battledger.verify(l.tbl) v" 2>&1 || true)
  [ "$v" = 0 ] && ok "B17-verify-clean-$s" || fail "B17-verify-clean-$s" "verify() problems: $v"
done
fi

# ------------------------------------------------------------------ V (vlog)
# verify_log(true) after tampering by a member's superuser behind the guards:
# the same (problem, ref) on both builds, and something named on the merged one.
LONG=$(printf 't%.0s' $(seq 1 62))x
vq() {  # vq SIDE TAMPER-SQL: verify_log(true)'s (problem, ref) after TAMPER, rolled back
  q "$1" 2>&1 <<SQL | grep -v '^$' | sort
\set VERBOSITY terse
BEGIN;
SET LOCAL search_path = public, battledger;
DO \$\$ DECLARE e text; BEGIN FOR e IN SELECT evtname FROM pg_event_trigger LOOP EXECUTE pg_catalog.format('ALTER EVENT TRIGGER %I DISABLE', e); END LOOP; END \$\$;
ALTER TABLE ev DISABLE TRIGGER USER;
ALTER TABLE "$LONG" DISABLE TRIGGER USER;
ALTER TABLE battledger.log_leaf DISABLE TRIGGER battledger_append_only;
$2;
SELECT problem || ' ' || coalesce(ref::text, '-') FROM battledger.verify_log(true);
ROLLBACK;
SQL
}
vcase() {  # vcase CASE expect(clean|named) TAMPER-SQL
  local c=$1 want=$2 r
  declare -A VOUT
  for s in $SIDES; do VOUT[$s]=$(vq "$s" "$3"); done
  r=${VOUT[m]}
  if [[ "$r" == *ERROR* && "$r" != *"ERROR:  canceling"* ]]; then fail "$c" "merged build: $(echo "$r" | grep -m1 ERROR)"; return; fi
  if [ "$want" = named ] && [ -z "$r" ]; then fail "$c" "merged build: nothing named"; return; fi
  if [ "$want" = clean ] && [ -n "$r" ]; then fail "$c" "merged build: $(echo "$r" | tr '\n' ';')"; return; fi
  if [ -n "$MAIN_PG_BIN" ] && [ "${VOUT[o]}" != "$r" ]; then
    fail "$c" "merged: $(echo "$r" | tr '\n' ';' | cut -c1-300) | main: $(echo "${VOUT[o]}" | tr '\n' ';' | cut -c1-300)"; return
  fi
  ok "$c"; note "  $c: $(echo "$r" | tr '\n' ';' | cut -c1-200)"
}
if [ -z "$ONLY" ] || [ "$ONLY" = V ]; then
for s in $SIDES; do
  q "$s" >/dev/null <<SQL
CREATE TABLE ev (k text, v int);
SELECT battledger.enable_ledger('ev', 'k');
CREATE TABLE "$LONG" (k text, v int);
SELECT battledger.enable_ledger('"$LONG"', 'k');
CREATE TABLE plainrows (k text);
SQL
done
vcase V0a-empty-log clean "SET LOCAL work_mem = '4MB'"
for s in $SIDES; do q "$s" -c "INSERT INTO ev VALUES ('k0', 0)" -c "SELECT battledger.seal()" >/dev/null; done
vcase V0b-one-leaf clean "SET LOCAL work_mem = '4MB'"
for s in $SIDES; do
  q "$s" -c "INSERT INTO ev SELECT 'k' || i % 3, i FROM generate_series(1, 20) i" \
         -c "INSERT INTO \"$LONG\" SELECT 'k' || i % 3, i FROM generate_series(1, 20) i" \
         -c "INSERT INTO ev SELECT 'k' || i % 3, i FROM generate_series(21, 25) i" -c "SELECT battledger.seal()" \
         -c "INSERT INTO \"$LONG\" SELECT 'k' || i % 3, i FROM generate_series(21, 30) i" \
         -c "INSERT INTO ev SELECT 'k' || i % 3, i FROM generate_series(26, 35) i" -c "SELECT battledger.seal()" >/dev/null
done
vcase V0c-two-tables-interleaved clean "SET LOCAL work_mem = '4MB'"
vcase V1-row-changed named "UPDATE ev SET v = v + 1000 WHERE ledger_seq = 3"
vcase V2-row-deleted named "DELETE FROM ev WHERE ledger_seq = 5"
vcase V2b-long-name-row-deleted named "DELETE FROM \"$LONG\" WHERE ledger_seq = 7"
vcase V3-leaf-row-hash-swapped named "UPDATE battledger.log_leaf SET row_hash = (SELECT row_hash FROM battledger.log_leaf WHERE leaf_index = 9) WHERE leaf_index = 2"
vcase V4-leaf-names-other-table named "UPDATE battledger.log_leaf SET tbl = 'public.$LONG' WHERE leaf_index = 4"
vcase V5-duplicate-seq named "UPDATE battledger.log_leaf SET seq = seq + 1 WHERE leaf_index = 4"
vcase V5b-duplicate-leaf-content named "UPDATE battledger.log_leaf SET (seq, row_hash) = (SELECT seq, row_hash FROM battledger.log_leaf WHERE leaf_index = 3) WHERE leaf_index = 6"
vcase V6-row-added-behind-guards named "INSERT INTO ev SELECT (jsonb_populate_record(e, '{\"ledger_seq\": 9999}')).* FROM ev e WHERE ledger_seq = 1"
vcase V7-table-dropped named "DROP TABLE ev"
vcase V8-table-renamed named "ALTER TABLE ev RENAME TO ev_renamed"
vcase V8b-schema-moved named "CREATE SCHEMA s2; ALTER TABLE ev SET SCHEMA s2"
vcase V9-huge-leaf-table-name named "UPDATE battledger.log_leaf SET tbl = repeat('x', 200000) WHERE leaf_index = 1"
vcase V10-leaf-name-trailing-space named "UPDATE battledger.log_leaf SET tbl = tbl || ' ' WHERE leaf_index = 2"
vcase V10b-leaf-name-case named "UPDATE battledger.log_leaf SET tbl = 'public.EV' WHERE leaf_index = 2"
vcase V11-leaf-names-non-ledger-table named "UPDATE battledger.log_leaf SET tbl = 'public.plainrows' WHERE leaf_index = 2"
vcase V12-all-leaves-deleted named "DELETE FROM battledger.log_leaf"
vcase V13-all-rows-deleted named "DELETE FROM ev; DELETE FROM \"$LONG\""
vcase V14-ledger-registry-row-deleted named "ALTER TABLE battledger.ledger_tables DISABLE TRIGGER USER; DELETE FROM battledger.ledger_tables WHERE tbl = 'ev'::regclass"
# two ledger tables whose schema and table names spell one leaf name ("s.x"."t" and "s"."x.t")
v16=""
for s in $SIDES; do
  v16+=$(q "$s" 2>&1 >/dev/null <<'SQL'
CREATE SCHEMA "s.x"; CREATE TABLE "s.x".t (k text, v int); SELECT battledger.enable_ledger('"s.x".t', 'k');
CREATE SCHEMA s; CREATE TABLE s."x.t" (k text, v int); SELECT battledger.enable_ledger('s."x.t"', 'k');
INSERT INTO "s.x".t SELECT 'a' || i % 2, i FROM generate_series(1, 4) i;
INSERT INTO s."x.t" SELECT 'b' || i % 2, i FROM generate_series(1, 3) i;
SELECT battledger.seal();
INSERT INTO "s.x".t VALUES ('a9', 9);
SELECT battledger.seal();
SQL
)
done
if [ -n "$v16" ]; then note "V16: set-up refused: $(echo "$v16" | head -2 | tr '\n' ' ')"
else
  note "V16: leaves: $(q m -c "SELECT tbl || ' x' || count(*) FROM battledger.log_leaf WHERE tbl LIKE 's.%' GROUP BY tbl")"
  vcase V16-two-tables-one-leaf-name clean "SET LOCAL work_mem = '4MB'"
  vcase V16b-one-leaf-name-row-changed named "ALTER TABLE s.\"x.t\" DISABLE TRIGGER USER; UPDATE s.\"x.t\" SET v = 99 WHERE ledger_seq = 2"
  vcase V16c-one-leaf-name-row-deleted named "ALTER TABLE \"s.x\".t DISABLE TRIGGER USER; DELETE FROM \"s.x\".t WHERE ledger_seq = 3"
fi
# cancelled mid-call: a larger log (log_leaf past shared_buffers / 4: heap
# scans of it are synchronized, and a cancelled scan leaves where it stopped
# as the next scan's start), statement_timeout, then a call run to its end
declare -A V15
for s in $SIDES; do
  q "$s" -c "INSERT INTO ev SELECT 'k' || i % 50, i FROM generate_series(1, 300000) i" -c "SELECT battledger.seal()" >/dev/null
  base=$(q "$s" -c "SELECT string_agg(problem || ' x' || n, ', ') FROM (SELECT problem, count(*) n FROM battledger.verify_log(true) GROUP BY 1 ORDER BY 1) p" 2>&1)
  canc=0; other=""; after=""
  for t in 5 20 50 100 200 400 800 1500 3000 6000; do
    r=$(q "$s" -c "SET statement_timeout = '${t}ms'" -c "SELECT count(*) FROM battledger.verify_log(true)" 2>&1)
    case "$r" in *"canceling statement"*) canc=$((canc + 1));; [0-9]*) ;; *) other+="$r; ";; esac
    r=$(q "$s" -c "SELECT string_agg(problem || ' x' || n, ', ') FROM (SELECT problem, count(*) n FROM battledger.verify_log(true) GROUP BY 1 ORDER BY 1) p" 2>&1)
    if [ "$r" != "$base" ]; then
      # the same call with synchronized heap scans off
      r2=$(q "$s" -c "SET synchronize_seqscans = off" -c "SELECT string_agg(problem || ' x' || n, ', ') FROM (SELECT problem, count(*) n FROM battledger.verify_log(true) GROUP BY 1 ORDER BY 1) p" 2>&1)
      after+="[after a ${t}ms timeout: $r; then with synchronize_seqscans off: '${r2:-clean}'] "
    fi
  done
  crash=$(grep -c "terminated by signal" "$BL_WORK/$s.log")
  V15[$s]="before: '${base:-clean}'; $canc of 10 cancelled; calls after that differed: ${after:-none}; other: ${other:-none}; crashes: $crash"
done
note "  V15 merged: ${V15[m]}"
[ -n "$MAIN_PG_BIN" ] && note "  V15 main:   ${V15[o]}"
case "${V15[m]}" in *"differed: none; other: none; crashes: 0") ok V15-cancelled-mid-call;; *) fail V15-cancelled-mid-call "${V15[m]}";; esac
# two auditors at once: a second verify_log(true) starting while the first scans log_leaf
declare -A V17
for s in $SIDES; do
  bad=""
  for i in 1 2 3; do
    q "$s" -c "SELECT count(*) FROM battledger.verify_log(true)" >/dev/null 2>&1 &
    bg=$!
    sleep 0.$((2 * i))
    r=$(q "$s" -c "SELECT string_agg(problem || ' x' || n, ', ') FROM (SELECT problem, count(*) n FROM battledger.verify_log(true) GROUP BY 1 ORDER BY 1) p" 2>&1)
    wait $bg
    [ -n "$r" ] && bad+="[second call $i: $r] "
  done
  # the same, the second call with synchronized heap scans off
  for i in 1 2 3; do
    q "$s" -c "SELECT count(*) FROM battledger.verify_log(true)" >/dev/null 2>&1 &
    bg=$!
    sleep 0.$((2 * i))
    r=$(q "$s" -c "SET synchronize_seqscans = off" -c "SELECT string_agg(problem || ' x' || n, ', ') FROM (SELECT problem, count(*) n FROM battledger.verify_log(true) GROUP BY 1 ORDER BY 1) p" 2>&1)
    wait $bg
    [ -n "$r" ] && bad+="[synchronize_seqscans off, second call $i: $r] "
  done
  V17[$s]=${bad:-clean}
done
[ -n "$MAIN_PG_BIN" ] && note "  V17 main: ${V17[o]}"
[ "${V17[m]}" = clean ] && ok V17-two-concurrent-verify-log || fail V17-two-concurrent-verify-log "merged build, a clean log: ${V17[m]}"
fi

# ------------------------------------------------------------------ C (consortium: cd04257, galw's status)
if [ -z "$ONLY" ] || [ "$ONLY" = C ]; then
A=a.example/log
wait_for() {
  local m=$1 sql=$2 n=${3:-300} i
  for i in $(seq 1 "$n"); do
    [ "$(q "$m" -c "$sql" 2>/dev/null)" = t ] && return 0
    sleep 0.2
  done
  echo "# timed out at $m waiting for: $sql"; return 1
}
status_a() { q b -c "SELECT state || ': ' || coalesce(reason, '') FROM battledger.consortium_status() WHERE member = '$A'" 2>&1; }
errs_b() { q b -c "SELECT coalesce(sum(apply_error_count), 0) FROM pg_stat_subscription_stats"; }
for m in a b; do
  bl_member_start "$m" "$W" "" "$EXTRA
wal_retrieve_retry_interval = 1s"
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('reading', 'battery');
SELECT battledger.publish_member();
SQL
done
bl_member_keys a
# b subscribes to a with two_phase: a's prepared transactions are prepared at b too
q b -v origin="${ORIGIN[a]}" -v conn="host=$BL_WORK port=${PORT[a]} dbname=bl user=postgres" -v lv="${LOGV[a]}" >/dev/null <<'SQL'
SELECT replace(battledger.join(:'origin', :'conn', :'lv', NULL), 'copy_data = true', 'copy_data = true, two_phase = true') \gexec
SQL
q a -c "INSERT INTO reading SELECT 'B' || i % 10, 90 FROM generate_series(1, 10) i" -c "SELECT battledger.seal()" >/dev/null
wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" || fail C-setup "b never ok: $(status_a)"
note "C: b's subscription two_phase state: $(q b -c "SELECT subtwophasestate FROM pg_subscription")"
# two_phase is pending until the tables are copied and the worker restarts
wait_for b "SELECT subtwophasestate = 'e' FROM pg_subscription" 150 || note "C: two_phase never enabled at b: $(q b -c "SELECT subtwophasestate FROM pg_subscription")"
e0=$(errs_b)
q a -c "BEGIN"  -c "INSERT INTO reading SELECT 'P' || i % 10, 80 FROM generate_series(1, 5) i" -c "PREPARE TRANSACTION 'p1'" >/dev/null
sleep 1
q a -c "COMMIT PREPARED 'p1'" -c "SELECT battledger.seal()" >/dev/null
if wait_for b "SELECT count(*) = 15 FROM reading" 100 && wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" 100; then
  arr=$(q b -c "SELECT rows_received FROM battledger.peer_arrival WHERE origin = '$A'")
  [ "$(errs_b)" = "$e0" ] && [ "$arr" = 15 ] && ok C1-two-phase-prepared-rows-counted \
    || fail C1-two-phase-prepared-rows-counted "apply errors $e0 -> $(errs_b), rows counted $arr of 15"
else
  fail C1-two-phase-prepared-rows-counted "b: $(q b -c "SELECT count(*) FROM reading") rows; $(status_a); apply errors $e0 -> $(errs_b); $(grep -m1 -o 'ERROR: .*' "$BL_WORK/b.log")"
fi
# b's superuser adds a REPLICA trigger that changes a's rows after the arrival check (sorts after it)
q b >/dev/null 2>&1 <<'SQL'
CREATE FUNCTION public.bump() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.soh_pct := 1; RETURN NEW; END $$;
CREATE TRIGGER zzz_bump BEFORE INSERT ON reading FOR EACH ROW EXECUTE FUNCTION public.bump();
ALTER TABLE reading ENABLE REPLICA TRIGGER zzz_bump;
SQL
q a -c "INSERT INTO reading SELECT 'M' || i, 70 FROM generate_series(1, 3) i" -c "SELECT battledger.seal()" >/dev/null
wait_for b "SELECT count(*) >= 18 OR (SELECT sum(apply_error_count) FROM pg_stat_subscription_stats) > 0 FROM reading" 100
sleep 2
st=$(status_a)
changed=$(q b -c "SELECT count(*) FROM reading WHERE battery LIKE 'M%' AND soh_pct = 1")
case "$st" in ok:*) ok_state=1;; *) ok_state=0;; esac
if [[ "$st" == *zzz_bump* ]]; then ok C2-status-names-replica-trigger-changing-rows; note "  C2: $changed of a's 3 rows stored changed; b's log: $(grep -m1 -o 'ERROR: .*' "$BL_WORK/b.log"); $st" | cut -c1-400
else fail C2-status-names-replica-trigger-changing-rows "$changed of a's rows stored changed at b; status: $st"; fi
# an ALWAYS trigger dropping a's rows, named before the arrival check
q b -c "DROP TRIGGER zzz_bump ON reading" >/dev/null 2>&1
wait_for b "SELECT count(*) = 18 FROM reading" 150 && wait_for b "SELECT state = 'ok' FROM battledger.consortium_status() WHERE member = '$A'" 250 \
  || note "C: b did not recover after the trigger was dropped: $(status_a)"
q b >/dev/null 2>&1 <<'SQL'
CREATE FUNCTION public.drop_it() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END $$;
CREATE TRIGGER a_drop BEFORE INSERT ON reading FOR EACH ROW EXECUTE FUNCTION public.drop_it();
ALTER TABLE reading ENABLE ALWAYS TRIGGER a_drop;
SQL
n0=$(q b -c "SELECT count(*) FROM reading")
q a -c "INSERT INTO reading SELECT 'D' || i, 60 FROM generate_series(1, 4) i" -c "SELECT battledger.seal()" >/dev/null
wait_for b "SELECT state <> 'ok' FROM battledger.consortium_status() WHERE member = '$A'" 100
st=$(status_a); n1=$(q b -c "SELECT count(*) FROM reading")
if [[ "$st" != ok:* && "$st" == *a_drop* ]]; then ok C3-status-names-always-trigger-dropping-rows; note "  C3: rows at b $n0 -> $n1; $st" | cut -c1-300
else fail C3-status-names-always-trigger-dropping-rows "rows at b $n0 -> $n1; status: $st"; fi
crash=$(grep -c "terminated by signal" "$BL_WORK/a.log" "$BL_WORK/b.log" | awk -F: '{s+=$2} END {print s}')
[ "$crash" = 0 ] && ok C4-no-crash || fail C4-no-crash "$crash backend crashes in the members' logs"
fi
echo "# FAILS: $FAILS"
exit $FAILS
