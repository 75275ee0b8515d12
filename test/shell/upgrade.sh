#!/usr/bin/env bash
# ALTER EXTENSION battledger UPDATE from the released 0.1.0 to 0.2.0, then from
# 0.2.0 (both lineages) to this version:
#   - rows written as 0.1.0 wrote them keep their hashes (checked against the
#     hashes 0.1.0's own regression output recorded) and verify after the update;
#   - the updated extension has exactly the objects, and the same function
#     definitions, as a fresh CREATE EXTENSION of 0.2.0;
#   - new rows are written under the member's origin and seal into the log;
#   - 0.2.0 rows, signatures, checkpoints and a proof made before the update
#     to 0.3.0 are unchanged and still verify after it (SQL and the CLI);
#   - both lineages go on to 0.4.0 and equal a fresh 0.4.0;
#   - a registry written by 0.3.0's own binaries (moves by role, before
#     custody) updates to 0.4.0 with its rows, states, passports, leaves,
#     checkpoints and a proof unchanged, and custody runs from the update;
#   - the three databases go on to 0.5.0 and equal a fresh 0.5.0, and a
#     registry written by 0.4.0's own binaries (custody, handovers) updates to
#     0.5.0 with its rows, states, passports, leaves, checkpoints and a proof
#     unchanged;
#   - the four databases go on to 0.6.0 and equal a fresh 0.6.0, and a
#     registry written by 0.5.0's own binaries (namespaces, second life, a
#     log over 600 leaves: more than two 256-leaf tiles) updates to 0.6.0 with
#     its rows, states, passports, leaves and checkpoints unchanged; every
#     inclusion and consistency proof 0.5.0 made verifies offline after the
#     update, and the updated extension makes the same proofs byte for byte;
#   - the five databases go on to 0.7.0 and equal a fresh 0.7.0, and the same
#     registry and log written by 0.6.0's own binaries (a tiled log) updates
#     to 0.7.0 under the same checks;
#   - the six databases go on to 0.8.0 and equal a fresh 0.8.0, and the log
#     written by 0.7.0's own binaries updates to 0.8.0 under the same checks;
#   - the seven databases go on to 0.9.0 and equal a fresh 0.9.0, and the log
#     written by 0.8.0's own binaries updates to 0.9.0 under the same checks;
#   - the eight databases go on to 0.10.0 and equal a fresh 0.10.0, and the
#     log written by 0.9.0's own binaries updates to 0.10.0 under the same checks;
#   - the nine databases go on to 0.11.0 and equal a fresh 0.11.0, and the
#     log written by 0.10.0's own binaries updates to 0.11.0 under the same checks;
#   - the ten databases go on to 0.12.0 and equal a fresh 0.12.0, and the
#     log written by 0.11.0's own binaries updates to 0.12.0 under the same checks;
#   - the eleven databases go on to 0.13.0 and equal a fresh 0.13.0, and the
#     log written by 0.12.0's own binaries updates to 0.13.0 under the same checks;
#   - the twelve databases go on to 0.14.0 and equal a fresh 0.14.0, and the
#     log written by 0.13.0's own binaries updates to 0.14.0 under the same checks;
#   - the thirteen databases go on to 0.15.0 and equal a fresh 0.15.0, and the
#     log written by 0.14.0's own binaries updates to 0.15.0 under the same checks;
#   - the fourteen databases go on to 0.16.0 and equal a fresh 0.16.0, and the
#     log written by 0.15.0's own binaries updates to 0.16.0 under the same checks;
#   - the fifteen databases go on to 0.17.0 and equal a fresh 0.17.0, and the
#     log written by 0.16.0's own binaries updates to 0.17.0 under the same checks;
#   - the sixteen databases go on to 0.18.0 and equal a fresh 0.18.0, and the
#     log written by 0.17.0's own binaries updates to 0.18.0 under the same checks;
#   - the seventeen databases go on to 0.19.0 and equal a fresh 0.19.0, and the
#     log written by 0.18.0's own binaries updates to 0.19.0 under the same checks;
#   - the eighteen databases go on to 0.20.0 and equal a fresh 0.20.0, and the
#     log written by 0.19.0's own binaries updates to 0.20.0 under the same checks;
#   - the nineteen databases go on to 0.21.0 and equal a fresh 0.21.0, and the
#     log written by 0.20.0's own binaries updates to 0.21.0 under the same checks;
#   - the twenty databases go on to 0.22.0 and equal a fresh 0.22.0, and the
#     log written by 0.21.0's own binaries updates to 0.22.0 under the same checks;
#   - the twenty-one databases go on to 0.23.0 and equal a fresh 0.23.0, and the
#     log written by 0.22.0's own binaries updates to 0.23.0 under the same checks;
#   - the twenty-two databases go on to 0.24.0 and equal a fresh 0.24.0, and the
#     log written by 0.23.0's own binaries updates to 0.24.0 under the same checks;
#   - the twenty-three databases go on to 0.25.0 and equal a fresh 0.25.0, and the
#     log written by 0.24.0's own binaries updates to 0.25.0 under the same checks;
#   - the twenty-four databases go on to 0.26.0 and equal a fresh 0.26.0, and the
#     log written by 0.25.0's own binaries updates to 0.26.0 under the same checks;
#   - the twenty-five databases go on to 0.27.0 and equal a fresh 0.27.0, and the
#     log written by 0.26.0's own binaries updates to 0.27.0 under the same checks;
#   - the twenty-six databases go on to 0.28.0 and equal a fresh 0.28.0, and the
#     log written by 0.27.0's own binaries updates to 0.28.0 under the same checks.
# Every database is compared with a fresh install at the newest version; at
# the versions between only with BL_UPGRADE_EVERY_STEP=1 (see update_all).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/release.sh"

bl_scratch
install -m 600 "$BL_ROOT/test/data/TEST-ONLY-log.key" "$BL_WORK/up-log.key"
[ "$(id -u)" = 0 ] && chown postgres: "$BL_WORK/up-log.key"
bl_start_cluster up 55457 "battledger.log_key_file = '$BL_WORK/up-log.key'"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
q() { local db=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
CLI=${CLI:-$BL_ROOT/bin/battledger}
# The releases below are built in the background from here on, one after the
# other in the order the script needs them: the compiler then runs while the
# parts before each need runs psql against the servers, instead of after it
# (about a minute of this scenario was compiling).  Each build writes DIR.ok
# when it is complete; its output goes to DIR.build.log.
RELEASES=()
for r in "${BL_RELEASES[@]}"; do
  read -r r_version r_commit r_dir <<<"$r"
  RELEASES+=("$r_version $r_commit $BL_WORK/$r_dir")
done
# (set -e, inherited, ends the loop at the first failing command; not in an
# "|| ..." list, which would switch it off inside bl_build_release)
(
  for r in "${RELEASES[@]}"; do
    read -r v c d <<<"$r"
    bl_build_release "$v" "$c" "$d" > "$d.build.log" 2>&1
    echo "$v $c" > "$d.ok"
  done
) &
prebuild=$!
# build_release VERSION COMMIT DIR: wait for the background build of DIR; a
# release not in RELEASES, or whose background build failed (its log is
# printed), is built here, from scratch, as before
build_release() {
  local version=$1 commit=$2 dir=$3
  while [ ! -f "$dir.ok" ] && kill -0 "$prebuild" 2>/dev/null; do sleep 0.2; done
  [ -f "$dir.ok" ] && [ "$(cat "$dir.ok")" = "$version $commit" ] && return 0
  if [ -f "$dir.build.log" ]; then
    echo "# the background build of $version failed; building it again here:"
    cat "$dir.build.log"
  fi
  rm -rf "$dir" "$dir.ok"
  bl_build_release "$@"
}

createdb old; createdb fresh
q old -c "CREATE EXTENSION battledger VERSION '0.1.0'"
q fresh -c "CREATE EXTENSION battledger VERSION '0.2.0'"

# rows as 0.1.0 wrote them: same table and values as its regression test
q old >/dev/null <<'SQL'
CREATE TABLE battery_event (battery text, kind text NOT NULL, at timestamptz NOT NULL,
                            soh_pct numeric(5,2), note text);
SELECT battledger.enable_ledger('battery_event', chain_by => 'battery');
-- 0.1.0's chain trigger, by hand: these binaries expect 0.2.0's columns
SET session_replication_role = replica;
DO $$
DECLARE
    r record;
    s bigint;
    p battledger.hash256;
BEGIN
    FOR r IN SELECT * FROM (VALUES
        (1, 'B0025', 'manufactured', '2024-01-10 08:00+00'::timestamptz, 100::numeric),
        (2, 'B0026', 'manufactured', '2024-01-10 09:00+00', 100),
        (3, 'B0025', 'placed_on_market', '2024-02-01 00:00+00', 100),
        (4, 'B0025', 'soh_reported', '2024-06-01 00:00+00', 93.10)) v(n, battery, kind, at, soh) ORDER BY n LOOP
        SELECT count(*) + 1, coalesce((SELECT e.ledger_hash FROM battery_event e WHERE e.battery = r.battery
                                        ORDER BY e.ledger_seq DESC LIMIT 1), repeat('0', 64)::battledger.hash256)
          INTO s, p FROM battery_event e WHERE e.battery = r.battery;
        INSERT INTO battery_event (battery, kind, at, soh_pct, ledger_seq, ledger_prev, ledger_hash)
        VALUES (r.battery, r.kind, r.at, r.soh, s, p,
                battledger.chain_hash(p, s, battledger.row_bytes(ROW(r.battery, r.kind, r.at, r.soh, NULL, s, p, NULL)::battery_event)));
        -- and 0.1.0's log trigger, which queued each row for the log
        INSERT INTO battledger.log_pending (tbl, seq, prev, row_hash)
        SELECT 'public.battery_event', e.ledger_seq, e.ledger_prev, e.ledger_hash
          FROM battery_event e WHERE e.battery = r.battery AND e.ledger_seq = s;
    END LOOP;
END $$;
SQL
# the hashes 0.1.0's expected/ledger.out records for these rows
want="B0025:1:643eda77c03cb6b70a998963ffc243a951aa193b10fcbe08d4236e1e1f65768c
B0025:2:ccb64ea6dd73df530936a0359e18cf3f7079729fc87ba9d19ebaf509a3d28253
B0025:3:4ef38c5f860c9f5998a4651232885dc7ad560a331813a4bc4c849e6a7ff26ddf
B0026:1:01e3c1b42ce9e70c8d9a2e46a8fe63186e2e53f1608742b2454cc15d23acecad"
rows() { q old -c "SELECT battery || ':' || ledger_seq || ':' || ledger_hash FROM battery_event ORDER BY battery, ledger_seq"; }
check "0.1.0 rows carry the hashes 0.1.0 recorded" test "$(rows)" = "$want"

q old -c "ALTER EXTENSION battledger UPDATE TO '0.2.0'"
check "updated to 0.2.0" test "$(q old -c "SELECT extversion FROM pg_extension WHERE extname = 'battledger'")" = 0.2.0
check "old rows keep their hashes" test "$(rows)" = "$want"
check "old rows have the empty origin" test "$(q old -c "SELECT string_agg(DISTINCT ledger_origin, ',') FROM battery_event")" = ""
check "verify() finds nothing after the update" test "$(q old -c "SELECT count(*) FROM battledger.verify('battery_event')")" = 0

objects() {
  q "$1" -c "SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
              WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
                AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'battledger') ORDER BY 1"
}
functions() {
  q "$1" -c "SELECT p.oid::regprocedure::text || md5(pg_get_functiondef(p.oid)) FROM pg_proc p
              JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
              WHERE p.prokind IN ('f', 'p') ORDER BY 1"
}
columns() {
  # relpersistence: the log queue is UNLOGGED from 0.4.0 on (p = logged, u = unlogged)
  # attnotnull, attstorage: a column added by an update is as NOT NULL and stored as a fresh install's
  q "$1" -c "SELECT c.relname || ' ' || c.relpersistence::text || '.' || string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                                                                                || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || ' ' || a.attstorage::text, ', ' ORDER BY a.attnum)
               FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              WHERE c.relnamespace = 'battledger'::regnamespace AND c.relkind IN ('r', 'v') GROUP BY c.relname, c.relpersistence ORDER BY 1"
}
triggers() {
  q "$1" -c "SELECT tgrelid::regclass || ' ' || tgname || ' ' || tgenabled::text || ' ' || encode(tgargs, 'hex') FROM pg_trigger
              WHERE NOT tgisinternal AND tgrelid::regclass::text LIKE 'battledger.%' ORDER BY 1"
}
indexes() { q "$1" -c "SELECT indexdef FROM pg_indexes WHERE schemaname = 'battledger' ORDER BY 1"; }
# same LISTING DB FRESH: the listing runs on both, lists something, and agrees
# (a listing whose query fails must not compare two empty outputs as equal)
same() {
  local a b
  a=$("$1" "$2") && b=$("$1" "$3") && [ -n "$a" ] && [ "$a" = "$b" ]
}
check "same indexes as a fresh install" same indexes old fresh
check "same objects as a fresh install" same objects old fresh
check "same function definitions as a fresh install" same functions old fresh
check "same columns in the extension's tables and views" same columns old fresh
check "same triggers on the extension's tables" same triggers old fresh
if [ $fail -ne 0 ]; then
  diff <(indexes old; objects old; functions old; columns old; triggers old) \
       <(indexes fresh; objects fresh; functions fresh; columns fresh; triggers fresh) || true
fi

# the member is named: new rows go to new chains under its origin, and seal
q old -c "LOAD 'battledger'" -c "ALTER SYSTEM SET battledger.origin = 'up.example/log'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
q old -c "INSERT INTO battery_event (battery, kind, at) VALUES ('B0025', 'repurposed', '2025-01-01 00:00+00')"
check "a new row starts B0025's chain under the origin" \
  test "$(q old -c "SELECT ledger_origin || ':' || ledger_seq FROM battery_event WHERE kind = 'repurposed'")" = "up.example/log:1"
check "verify() still finds nothing" test "$(q old -c "SELECT count(*) FROM battledger.verify('battery_event')")" = 0
q old -c "SELECT battledger.seal()" >/dev/null
check "the log seals the 0.1.0 rows and the new one, and verifies" \
  test "$(q old -c "SELECT tree_size FROM battledger.checkpoint ORDER BY 1 DESC LIMIT 1"):$(q old -c "SELECT count(*) FROM battledger.verify_log(true)")" = "5:0"

# --- 0.2.0 -> 0.3.0, the way a member updates: 0.2.0's own binaries (built
# from its release commit into a relocated copy of this PostgreSQL) write the
# rows, signatures, batch and log; the cluster then restarts on this build's
# binaries and ALTER EXTENSION UPDATE runs.
P020=$BL_WORK/pg020
build_release 0.2.0 b06c259 "$P020"
cluster1_port=$PGPORT
PG_BIN=$P020/usr/lib/postgresql/15/bin bl_start_cluster v02 55458 "battledger.log_key_file = '$BL_WORK/up-log.key'"
createdb v02
q v02 >/dev/null <<'SQL'
CREATE EXTENSION battledger VERSION '0.2.0';
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY: signs with seeds given in SQL
ALTER DATABASE v02 SET battledger.origin = 'up2.example/log';   -- per database (docs/dba-guide.md)
SET battledger.origin = 'up2.example/log';
SELECT battledger.add_member('oem.example', ARRAY['oem']),
       battledger.add_key('oem.example', battledger_test.public_key(battledger_test.seed('oem-1')));
CREATE TABLE soh (battery text, soh_pct numeric, note text);
SELECT battledger.enable_ledger('soh', 'battery', signed => true, signer_roles => ARRAY['oem']);
CREATE FUNCTION signed_soh(battery text, soh_pct numeric, note text) RETURNS soh LANGUAGE plpgsql AS $$
DECLARE r soh := jsonb_populate_record(NULL::soh, jsonb_build_object('battery', battery, 'soh_pct', soh_pct, 'note', note));
BEGIN
    r.ledger_key_id := battledger.key_id(battledger_test.public_key(battledger_test.seed('oem-1')));
    r.ledger_sig := battledger_test.sign(battledger_test.seed('oem-1'), battledger.signing_bytes(r));
    RETURN r;
END $$;
CREATE TABLE note (battery text, txt text);
SELECT battledger.enable_ledger('note', 'battery');
INSERT INTO soh SELECT (signed_soh('B' || i % 3, 100 - i, 'report ' || i)).* FROM generate_series(1, 6) i;
INSERT INTO note SELECT 'B' || i % 2, 'note ' || i FROM generate_series(1, 4) i;
-- a batch as 0.2.0 signs it: manifest v1, rows' signing bytes v1
CREATE TABLE up_rows AS SELECT jsonb_populate_record(NULL::soh, jsonb_build_object('battery', 'B9', 'soh_pct', 80 + i,
    'ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed('oem-1')))::text,
    'ledger_batch', 'up-batch')) r FROM generate_series(1, 2) i;
BEGIN;
INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
SELECT 'up-batch', 'public.soh', battledger.key_id(battledger_test.public_key(battledger_test.seed('oem-1'))), 2, root,
       battledger_test.sign(battledger_test.seed('oem-1'), battledger.batch_manifest('up-batch', 2, root))
  FROM (SELECT battledger.batch_root(array_agg(sha256(battledger.signing_bytes(r))::battledger.hash256)) AS root FROM up_rows) s;
INSERT INTO soh SELECT (r).* FROM up_rows;
COMMIT;
DROP TABLE up_rows;
SELECT battledger.seal();
SQL
state02() {
  q v02 -c "SELECT string_agg(battery || ledger_seq || ledger_hash::text || coalesce(encode(ledger_sig, 'hex'), ''), ',' ORDER BY battery, ledger_seq) FROM soh" \
        -c "SELECT string_agg(battery || ledger_seq || ledger_hash::text, ',' ORDER BY battery, ledger_seq) FROM note" \
        -c "SELECT string_agg(leaf_index || leaf_hash::text, ',' ORDER BY leaf_index) FROM battledger.log_leaf" \
        -c "SELECT string_agg(note, '' ORDER BY tree_size) FROM battledger.checkpoint"
}
before=$(state02)
vkey=$(q v02 -c "SELECT battledger.log_vkey()")
printf '%s\n' "$(q v02 -c "SELECT battledger.tlog_proof(2)")" > "$BL_WORK/up-proof.txt"
leaf=$(q v02 -c "SELECT encode(battledger.leaf(2), 'hex')")
cp1=$(q v02 -c "SELECT tree_size || ':' || root FROM battledger.checkpoint ORDER BY tree_size DESC LIMIT 1")

# the member restarts on the new binaries, then updates
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/v02" -w stop >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/v02" -l "$BL_WORK/v02.log" -w start >/dev/null
q v02 -c "ALTER EXTENSION battledger UPDATE TO '0.3.0'"
createdb fresh3; q fresh3 -c "CREATE EXTENSION battledger VERSION '0.3.0'" -c "CREATE EXTENSION battledger_test_signer"
PGPORT=$cluster1_port q old -c "ALTER EXTENSION battledger UPDATE TO '0.3.0'" -c "CREATE EXTENSION battledger_test_signer"
PGPORT=$cluster1_port createdb fresh3
PGPORT=$cluster1_port q fresh3 -c "CREATE EXTENSION battledger VERSION '0.3.0'" -c "CREATE EXTENSION battledger_test_signer"
privs() { q "$1" -c "SELECT p.oid::regprocedure::text || coalesce(p.proacl::text, '') FROM pg_proc p WHERE p.pronamespace = 'battledger'::regnamespace ORDER BY 1"; }
# same_as_fresh VERSION FRESH_DB DB PORT: the updated DB equals a fresh install
same_as_fresh() {
  local v=$1 fresh=$2 db=$3; export PGPORT=$4
  check "$db: updated to $v" test "$(q $db -c "SELECT extversion FROM pg_extension WHERE extname = 'battledger'")" = "$v"
  check "$db: same indexes as a fresh $v" same indexes $db $fresh
  check "$db: same objects as a fresh $v" same objects $db $fresh
  check "$db: same function definitions as a fresh $v" same functions $db $fresh
  check "$db: same columns as a fresh $v" same columns $db $fresh
  check "$db: same triggers as a fresh $v" same triggers $db $fresh
  check "$db: same function privileges as a fresh $v" same privs $db $fresh
  if [ $fail -ne 0 ]; then diff <(functions $db; privs $db; objects $db; columns $db; triggers $db; indexes $db) \
                                <(functions $fresh; privs $fresh; objects $fresh; columns $fresh; triggers $fresh; indexes $fresh) | head -40; fi
}
same_as_fresh 0.3.0 fresh3 old $cluster1_port
same_as_fresh 0.3.0 fresh3 v02 55458
export PGPORT=55458
check "0.2.0 rows, signatures, leaves and checkpoints unchanged by the update" test "$(state02)" = "$before"
check "verify() clean after the update" \
  test "$(q v02 -c "SELECT (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify('note'))")" = 0
check "verify_log(true) clean after the update" test "$(q v02 -c "SELECT count(*) FROM battledger.verify_log(true)")" = 0
check "the proof made by 0.2.0 still verifies offline" \
  "$CLI" verify-proof --vkey "$vkey" --proof "$BL_WORK/up-proof.txt" --leaf-hex "$leaf"
q v02 -c "INSERT INTO soh SELECT (signed_soh('B1', 50, 'after the update')).*" \
      -c "SELECT battledger.seal()" >/dev/null
check "0.2.0's rows and batch verify under signing bytes v1, the new row under v2" \
  test "$(q v02 -c "SELECT count(*) FILTER (WHERE ledger_at < l.signed_v1_before) || ':' || count(*) FILTER (WHERE ledger_at >= l.signed_v1_before)
                    FROM soh, battledger.ledger_tables l WHERE l.tbl = 'soh'::regclass")" = "8:1"
check "a new signed row after the update chains, seals and verifies" \
  test "$(q v02 -c "SELECT (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0
check "the new log is consistent with 0.2.0's last checkpoint" test "$(q v02 -c "
  SELECT battledger.verify_consistency(${cp1%%:*}, c.tree_size, '${cp1#*:}', c.root, battledger.consistency_proof(${cp1%%:*}, c.tree_size))
    FROM battledger.checkpoint c ORDER BY tree_size DESC LIMIT 1")" = t

# --- 0.3.0 -> 0.4.0: both lineages above go on to this version
q v02 -c "SELECT battledger.seal()" >/dev/null
before4=$(state02)
PGPORT=$cluster1_port q old -c "ALTER EXTENSION battledger UPDATE TO '0.4.0'"
PGPORT=$cluster1_port createdb fresh4
PGPORT=$cluster1_port q fresh4 -c "CREATE EXTENSION battledger VERSION '0.4.0'" -c "CREATE EXTENSION battledger_test_signer"
q v02 -c "ALTER EXTENSION battledger UPDATE TO '0.4.0'"
createdb fresh4; q fresh4 -c "CREATE EXTENSION battledger VERSION '0.4.0'" -c "CREATE EXTENSION battledger_test_signer"
same_as_fresh 0.4.0 fresh4 old $cluster1_port
same_as_fresh 0.4.0 fresh4 v02 55458
check "0.2.0 and 0.3.0 rows, signatures, leaves and checkpoints unchanged by the update to 0.4.0" \
  test "$(state02)" = "$before4"
check "verify() and verify_log(true) clean after the update to 0.4.0" \
  test "$(q v02 -c "SELECT (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify('note')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.3.0 -> 0.4.0, from 0.3.0's own binaries (its release commit), with a
# registry written under 0.3.0's rules: moves by role, without custody
P030=$BL_WORK/pg030
build_release 0.3.0 f08a441 "$P030"
PG_BIN=$P030/usr/lib/postgresql/15/bin bl_start_cluster v03 55459 "battledger.log_key_file = '$BL_WORK/up-log.key'
battledger.origin = 'up3.example/log'"
createdb v03
q v03 >/dev/null <<'SQL'
CREATE EXTENSION battledger VERSION '0.3.0';
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
SELECT battledger.add_member(m, r), battledger.add_key(m, battledger_test.public_key(battledger_test.seed(m)))
  FROM (VALUES ('cells.test', ARRAY['cell_maker', 'pack_maker']), ('oem.test', ARRAY['oem']),
               ('second.test', ARRAY['second_life_operator']), ('recycler.test', ARRAY['recycler', 'collector'])) v(m, r);
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT model('cells.test', '{"model_id": "NMC-1", "manufacturer": "cells.test", "category": "ev", "chemistry": "NMC", "rated_capacity_ah": 2.0}');
-- 0.3.0's rules: each move by whoever has the role
SELECT ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/U1", "event": "manufactured", "model_id": "NMC-1", "occurred_at": "2024-01-01T00:00:00Z"}'),
       ev('oem.test', '{"battery_id": "gs1:01/09521234567899/21/U1", "event": "placed_on_market", "passport_id": "urn:bp:U1:1", "occurred_at": "2024-02-01T00:00:00Z"}'),
       ev('second.test', '{"battery_id": "gs1:01/09521234567899/21/U1", "event": "status_changed", "new_status": "repurposed", "passport_id": "urn:bp:U1:2", "occurred_at": "2025-01-01T00:00:00Z"}'),
       ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/U2", "event": "manufactured", "model_id": "NMC-1", "occurred_at": "2024-01-01T00:00:00Z"}'),
       ev('oem.test', '{"battery_id": "gs1:01/09521234567899/21/U2", "event": "placed_on_market", "passport_id": "urn:bp:U2:1", "occurred_at": "2024-02-01T00:00:00Z"}'),
       ev('recycler.test', '{"battery_id": "gs1:01/09521234567899/21/U2", "event": "status_changed", "new_status": "waste", "occurred_at": "2025-01-01T00:00:00Z"}'),
       ev('recycler.test', '{"battery_id": "gs1:01/09521234567899/21/U2", "event": "recycled", "occurred_at": "2025-02-01T00:00:00Z"}');
SELECT battledger.seal();
SQL
reg03() {
  q v03 -c "SELECT string_agg(b || ':' || s.status || ':' || s.passport_id || ':' || (battledger.passport(b::battledger.battery_id, 'legitimate_interest')->>'batteryStatus'), ',' ORDER BY b)
              FROM unnest(ARRAY['gs1:01/09521234567899/21/U1', 'gs1:01/09521234567899/21/U2']) b,
                   battledger.battery_state(b::battledger.battery_id) s" \
        -c "SELECT string_agg(ledger_origin || ledger_seq || ledger_hash::text || encode(ledger_sig, 'hex'), ',' ORDER BY ledger_hash::text) FROM battledger.battery_event" \
        -c "SELECT string_agg(leaf_index || leaf_hash::text, ',' ORDER BY leaf_index) FROM battledger.log_leaf" \
        -c "SELECT string_agg(note, '' ORDER BY tree_size) FROM battledger.checkpoint"
}
before3=$(reg03)
vkey3=$(q v03 -c "SELECT battledger.log_vkey()")
printf '%s\n' "$(q v03 -c "SELECT battledger.tlog_proof(3)")" > "$BL_WORK/up3-proof.txt"
leaf3=$(q v03 -c "SELECT encode(battledger.leaf(3), 'hex')")
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/v03" -w stop >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/v03" -l "$BL_WORK/v03.log" -w start >/dev/null
q v03 -c "ALTER EXTENSION battledger UPDATE TO '0.4.0'"
createdb fresh4; q fresh4 -c "CREATE EXTENSION battledger VERSION '0.4.0'" -c "CREATE EXTENSION battledger_test_signer"
same_as_fresh 0.4.0 fresh4 v03 55459
check "v03: 0.3.0's registry rows, leaves and checkpoints unchanged; its batteries keep their states and passports" \
  test "$(reg03)" = "$before3"
check "v03: moves written under 0.3.0 are judged by role (no conflicts), verify() and verify_log(true) clean" \
  test "$(q v03 -c "SELECT (SELECT count(*) FROM battledger.registry_conflicts()) + (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0
check "v03: the proof 0.3.0 made still verifies offline" \
  "$CLI" verify-proof --vkey "$vkey3" --proof "$BL_WORK/up3-proof.txt" --leaf-hex "$leaf3"
check "v03: custody runs from the update: the member that last moved U1 holds it" \
  test "$(q v03 -c "SELECT custodian FROM battledger.battery_state('gs1:01/09521234567899/21/U1')")" = second.test
out=$(q v03 -c "SELECT ev('recycler.test', '{\"battery_id\": \"gs1:01/09521234567899/21/U1\", \"event\": \"status_changed\", \"new_status\": \"waste\", \"occurred_at\": \"2026-01-01T00:00:00Z\"}')" 2>&1 || true)
check "v03: a member that does not hold U1 may no longer move it" grep -q 'does not hold battery' <<<"$out"
q v03 -c "SELECT ev('second.test', '{\"battery_id\": \"gs1:01/09521234567899/21/U1\", \"event\": \"status_changed\", \"new_status\": \"waste\", \"occurred_at\": \"2026-01-01T00:00:00Z\"}')" >/dev/null
check "v03: its holder may, and the registry stays clean" \
  test "$(q v03 -c "SELECT status FROM battledger.battery_state('gs1:01/09521234567899/21/U1')"):$(q v03 -c "SELECT count(*) FROM battledger.registry_conflicts()")" = waste:0

# --- 0.4.0 -> 0.5.0: the three databases above go on to this version
q v03 -c "SELECT battledger.seal()" >/dev/null
before3=$(reg03)
# update_all VERSION FRESH_DB DB:PORT ...: update each database to VERSION
# and compare it with a fresh install of VERSION made in FRESH_DB beside it
# (this version by the plain commands a DBA types, without a version).
# The comparison is made at this version, where every path ends, and at the
# versions between only with BL_UPGRADE_EVERY_STEP=1 (the long stage runs
# it: test/long/upgrade_every_step.sh).  Between, the databases are updated
# by frozen scripts and compared with installs by frozen scripts, catalog
# against catalog: what those comparisons see cannot change from one commit
# to the next, and they were a third of this scenario's CPU (120 of them).
update_all() {
  local v=$1 fresh=$2 db to=" TO '$1'" as=" VERSION '$1'" compare=${BL_UPGRADE_EVERY_STEP:-0}; shift 2
  if [ "$v" = "$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$BL_ROOT/battledger.control")" ]; then to=; as=; compare=1; fi
  for db in "$@"; do
    PGPORT=${db#*:} q "${db%:*}" -c "ALTER EXTENSION battledger UPDATE$to"
    # (the update itself stops the script if it fails: ON_ERROR_STOP)
    [ "$compare" = 1 ] || continue
    PGPORT=${db#*:} createdb "$fresh"
    PGPORT=${db#*:} q "$fresh" -c "CREATE EXTENSION battledger$as" -c "CREATE EXTENSION battledger_test_signer"
    same_as_fresh "$v" "$fresh" "${db%:*}" "${db#*:}"
  done
}
update_all 0.5.0 fresh5 old:$cluster1_port v02:55458 v03:55459
export PGPORT=55459
check "v03: rows, leaves, checkpoints, states and passports unchanged by the update to 0.5.0" test "$(reg03)" = "$before3"
check "v03: verify() and verify_log(true) clean after the update to 0.5.0" \
  test "$(q v03 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.4.0 -> 0.5.0, from 0.4.0's own binaries (its release commit), with a
# registry written under custody: made, handed over, accepted, placed, moved
P040=$BL_WORK/pg040
build_release 0.4.0 f2f6205 "$P040"
PG_BIN=$P040/usr/lib/postgresql/15/bin bl_start_cluster v04 55460 "battledger.log_key_file = '$BL_WORK/up-log.key'
battledger.origin = 'up4.example/log'"
createdb v04
q v04 >/dev/null <<'SQL'
CREATE EXTENSION battledger VERSION '0.4.0';
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
SELECT battledger.add_member(m, r), battledger.add_key(m, battledger_test.public_key(battledger_test.seed(m)))
  FROM (VALUES ('cells.test', ARRAY['cell_maker', 'pack_maker']), ('oem.test', ARRAY['oem']),
               ('recycler.test', ARRAY['recycler', 'collector'])) v(m, r);
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT model('cells.test', '{"model_id": "NMC-1", "manufacturer": "cells.test", "category": "ev", "chemistry": "NMC", "rated_capacity_ah": 2.0}');
SELECT ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/V1", "event": "manufactured", "model_id": "NMC-1", "occurred_at": "2025-01-01T00:00:00Z"}'),
       ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/V1", "event": "handover", "data": {"to": "oem.test"}, "occurred_at": "2025-01-02T00:00:00Z"}'),
       ev('oem.test', '{"battery_id": "gs1:01/09521234567899/21/V1", "event": "handover_accepted", "occurred_at": "2025-01-03T00:00:00Z"}'),
       ev('oem.test', '{"battery_id": "gs1:01/09521234567899/21/V1", "event": "placed_on_market", "passport_id": "urn:bp:V1:1", "occurred_at": "2025-02-01T00:00:00Z"}'),
       ev('oem.test', '{"battery_id": "gs1:01/09521234567899/21/V1", "event": "handover", "data": {"to": "recycler.test"}, "occurred_at": "2025-06-01T00:00:00Z"}');
SELECT battledger.seal();
SQL
reg04() {
  q v04 -c "SELECT s.status || ':' || s.passport_id || ':' || s.custodian || ':' || s.handover_to || ':' || (battledger.passport('gs1:01/09521234567899/21/V1', 'legitimate_interest')->>'batteryStatus')
              FROM battledger.battery_state('gs1:01/09521234567899/21/V1') s" \
        -c "SELECT string_agg(ledger_origin || ledger_seq || ledger_hash::text || encode(ledger_sig, 'hex'), ',' ORDER BY ledger_hash::text) FROM battledger.battery_event" \
        -c "SELECT string_agg(leaf_index || leaf_hash::text, ',' ORDER BY leaf_index) FROM battledger.log_leaf" \
        -c "SELECT string_agg(note, '' ORDER BY tree_size) FROM battledger.checkpoint"
}
before04=$(reg04)
vkey4=$(q v04 -c "SELECT battledger.log_vkey()")
printf '%s\n' "$(q v04 -c "SELECT battledger.tlog_proof(4)")" > "$BL_WORK/up4-proof.txt"
leaf4=$(q v04 -c "SELECT encode(battledger.leaf(4), 'hex')")
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/v04" -w stop >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/v04" -l "$BL_WORK/v04.log" -w start >/dev/null
q v04 -c "ALTER EXTENSION battledger UPDATE TO '0.5.0'"
createdb fresh5; q fresh5 -c "CREATE EXTENSION battledger VERSION '0.5.0'" -c "CREATE EXTENSION battledger_test_signer"
same_as_fresh 0.5.0 fresh5 v04 55460
check "v04: 0.4.0's registry rows, leaves and checkpoints unchanged; custody, states and passports kept" \
  test "$(reg04)" = "$before04"
check "v04: no conflicts, verify() and verify_log(true) clean after the update" \
  test "$(q v04 -c "SELECT (SELECT count(*) FROM battledger.registry_conflicts()) + (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0
check "v04: the proof 0.4.0 made still verifies offline" \
  "$CLI" verify-proof --vkey "$vkey4" --proof "$BL_WORK/up4-proof.txt" --leaf-hex "$leaf4"
q v04 -c "SELECT ev('recycler.test', '{\"battery_id\": \"gs1:01/09521234567899/21/V1\", \"event\": \"handover_accepted\", \"occurred_at\": \"2026-01-01T00:00:00Z\"}')" >/dev/null
check "v04: the handover 0.4.0 recorded is accepted after the update" \
  test "$(q v04 -c "SELECT custodian FROM battledger.battery_state('gs1:01/09521234567899/21/V1')")" = recycler.test
# --- 0.5.0 -> 0.6.0: the four databases above go on to 0.6.0
update_all 0.6.0 fresh6 old:$cluster1_port v02:55458 v03:55459 v04:55460
export PGPORT=55460
check "v04: verify() and verify_log(true) clean after the update to 0.6.0" \
  test "$(q v04 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- a release's own log: a registry with a namespace, a second life, and a
# log of more than 600 leaves sealed in three checkpoints (sizes not multiples
# of 256), written by a release's own binaries (built from its commit), so
# that a change of the log's storage has full and partial tiles to carry over.
# release_log VERSION COMMIT DB PORT: build, start and write it; keeps what
# must survive the update in before_<DB>, proofs_before_<DB> and the proof
# files $BL_WORK/<DB>-proof-<leaf>.txt
release_log() {
  local v=$1 commit=$2 db=$3 port=$4 dir=$BL_WORK/pg-$3
  build_release "$v" "$commit" "$dir"
  PG_BIN=$dir/usr/lib/postgresql/15/bin bl_start_cluster "$db" "$port" "battledger.log_key_file = '$BL_WORK/up-log.key'
battledger.origin = 'up-$db.example/log'"
  export PGPORT=$port
  createdb "$db"
  q "$db" -v version="$v" >/dev/null <<'SQL'
CREATE EXTENSION battledger VERSION :'version';
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
SELECT battledger.add_member(m, r), battledger.add_key(m, battledger_test.public_key(battledger_test.seed(m)))
  FROM (VALUES ('cells.test', ARRAY['cell_maker', 'pack_maker']), ('oem.test', ARRAY['oem'])) v(m, r);
SELECT battledger.add_id_namespace('cells.test', 'gs1:0952123');
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT model('cells.test', '{"model_id": "NMC-1", "manufacturer": "cells.test", "category": "ev", "chemistry": "NMC", "rated_capacity_ah": 2.0}');
SELECT ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/W1", "event": "manufactured", "model_id": "NMC-1", "occurred_at": "2025-01-01T00:00:00Z"}'),
       ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/W1", "event": "placed_on_market", "passport_id": "urn:bp:W1:1", "occurred_at": "2025-02-01T00:00:00Z"}');
SELECT battledger.seal();
CREATE TABLE soh (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('soh', 'battery');
INSERT INTO soh SELECT 'B' || i % 7, 100 - i / 10.0 FROM generate_series(1, 300) i;
SELECT battledger.seal();
INSERT INTO soh SELECT 'B' || i % 5, 70 - i / 100.0 FROM generate_series(1, 333) i;
SELECT battledger.seal();
SQL
  printf -v "before_$db" '%s' "$(reg_log "$db")"
  printf -v "proofs_before_$db" '%s' "$(proofs_log "$db")"
  check "$db: $v wrote a log of more than 600 leaves in three checkpoints" \
    test "$(q "$db" -c "SELECT count(*) || ':' || (max(tree_size) > 600) FROM battledger.checkpoint")" = 3:true
  q "$db" -c "SELECT battledger.log_vkey()" > "$BL_WORK/$db-vkey.txt"
  local i
  for i in 0 255 256 600; do
    printf '%s\n' "$(q "$db" -c "SELECT battledger.tlog_proof($i)")" > "$BL_WORK/$db-proof-$i.txt"
    q "$db" -c "SELECT encode(battledger.leaf($i), 'hex')" > "$BL_WORK/$db-leaf-$i.hex"
  done
  # the member restarts on this build's binaries
  as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/$db" -w stop >/dev/null
  as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/$db" -l "$BL_WORK/$db.log" -w start >/dev/null
}
reg_log() {
  q "$1" -c "SELECT s.status || ':' || s.passport_id || ':' || s.custodian || ':' || (battledger.passport('gs1:01/09521234567899/21/W1', 'legitimate_interest')->>'batteryStatus')
              FROM battledger.battery_state('gs1:01/09521234567899/21/W1') s" \
         -c "SELECT string_agg(ledger_origin || ledger_seq || ledger_hash::text || coalesce(encode(ledger_sig, 'hex'), ''), ',' ORDER BY ledger_hash::text) FROM battledger.battery_event" \
         -c "SELECT string_agg(ledger_seq || ledger_hash::text, ',' ORDER BY ledger_hash::text) FROM soh" \
         -c "SELECT string_agg(i || ':' || encode(battledger.leaf(i), 'hex'), ',' ORDER BY i) FROM generate_series(0, (SELECT max(tree_size) - 1 FROM battledger.checkpoint)) i" \
         -c "SELECT string_agg(note, '' ORDER BY tree_size) FROM battledger.checkpoint"
}
# proofs as the release makes them: inclusion at the edges of tiles and of
# the tree, consistency between every pair of checkpoint sizes
proofs_log() {
  q "$1" -c "SELECT string_agg(i || '@' || n || ':' || array_to_string(battledger.inclusion_proof(i, n), ' '), ',' ORDER BY n, i)
              FROM (SELECT tree_size n FROM battledger.checkpoint) c,
                   unnest(ARRAY[0, 1, 254, 255, 256, 257, 300, 511, 512, 513, 600, n - 1]) i WHERE i < n" \
         -c "SELECT string_agg(a.tree_size || '-' || b.tree_size || ':' || array_to_string(battledger.consistency_proof(a.tree_size, b.tree_size), ' '), ',' ORDER BY a.tree_size, b.tree_size)
              FROM battledger.checkpoint a JOIN battledger.checkpoint b ON a.tree_size < b.tree_size" \
         -c "SELECT string_agg(tree_size || ':' || battledger.tree_root(tree_size)::text, ',' ORDER BY tree_size) FROM battledger.checkpoint"
}
# updated_log VERSION_FROM VERSION_TO DB PORT: update the release's log to
# VERSION_TO and check it against what the release wrote and proved
updated_log() {
  local from=$1 to=$2 db=$3; export PGPORT=$4
  local before=before_$db proofs_before=proofs_before_$db fresh=fresh_$db i
  q "$db" -c "ALTER EXTENSION battledger UPDATE TO '$to'"
  createdb "$fresh"; q "$fresh" -c "CREATE EXTENSION battledger VERSION '$to'" -c "CREATE EXTENSION battledger_test_signer"
  same_as_fresh "$to" "$fresh" "$db" "$PGPORT"
  check "$db: $from's rows, leaves, checkpoints, states and passports unchanged by the update to $to" \
    test "$(reg_log "$db")" = "${!before}"
  check "$db: $to makes the same inclusion and consistency proofs and roots as $from" \
    test "$(proofs_log "$db")" = "${!proofs_before}"
  check "$db: no conflicts, verify() and verify_log(true) clean after the update to $to" \
    test "$(q "$db" -c "SELECT (SELECT count(*) FROM battledger.registry_conflicts()) + (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0
  for i in 0 255 256 600; do
    check "$db: $from's proof of leaf $i still verifies offline under $to" \
      "$CLI" verify-proof --vkey "$(cat "$BL_WORK/$db-vkey.txt")" --proof "$BL_WORK/$db-proof-$i.txt" --leaf-hex "$(cat "$BL_WORK/$db-leaf-$i.hex")"
  done
  local n0 n1
  n0=$(q "$db" -c "SELECT max(tree_size) FROM battledger.checkpoint")
  q "$db" -c "INSERT INTO soh SELECT 'B' || i % 3, 50 FROM generate_series(1, 300) i" -c "SELECT battledger.seal()" >/dev/null
  n1=$(q "$db" -c "SELECT max(tree_size) FROM battledger.checkpoint")
  printf '%s\n' "$(q "$db" -c "SELECT battledger.tlog_proof($((n1 - 1)))")" > "$BL_WORK/$db-proof-new.txt"
  check "$db: rows written after the update to $to seal, and their proofs verify offline" \
    "$CLI" verify-proof --vkey "$(cat "$BL_WORK/$db-vkey.txt")" --proof "$BL_WORK/$db-proof-new.txt" --leaf-hex "$(q "$db" -c "SELECT encode(battledger.leaf($((n1 - 1))), 'hex')")"
  check "$db: the log after the update to $to is consistent with $from's last checkpoint" \
    test "$(q "$db" -c "SELECT battledger.verify_consistency($n0, $n1, battledger.tree_root($n0), battledger.tree_root($n1), battledger.consistency_proof($n0, $n1))")" = t
  check "$db: verify_log(true) clean after sealing on the log updated to $to" \
    test "$(q "$db" -c "SELECT count(*) FROM battledger.verify_log(true)")" = 0
}

# --- 0.5.0 -> 0.6.0, from 0.5.0's own binaries (release commit 166d21d)
release_log 0.5.0 166d21d v05 55461
updated_log 0.5.0 0.6.0 v05 55461

# --- 0.6.0 -> 0.7.0: the five databases above go on to 0.7.0
update_all 0.7.0 fresh7 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461
export PGPORT=55461
check "v05: verify() and verify_log(true) clean after the update to 0.7.0" \
  test "$(q v05 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.6.0 -> 0.7.0, from 0.6.0's own binaries (release commit 8a7f2d1):
# its log is already tiled, so this checks the tiles carry over
release_log 0.6.0 8a7f2d1 v06 55462
# a tile row past the tree, written behind the guards (red team hx2): the
# update refuses the log and leaves it as it was (rolled back here)
out=$(q v06 2>&1 <<'SQL' || true
BEGIN;
SELECT string_agg(format('ALTER EVENT TRIGGER %I DISABLE', evtname), '; ') FROM pg_event_trigger WHERE evtname LIKE 'battledger%' \gset
:string_agg;
ALTER TABLE battledger.log_tile DISABLE TRIGGER ALL;
INSERT INTO battledger.log_tile SELECT 1, 0, 3, hashes || sha256('forged') FROM battledger.log_tile WHERE level = 1 AND idx = 0 AND width = 2;
ALTER TABLE battledger.log_tile ENABLE TRIGGER ALL;
ALTER EXTENSION battledger UPDATE TO '0.7.0';
ROLLBACK;
SQL
)
check "v06: the update to 0.7.0 refuses a tile row past the tree (XX001)" grep -q "tile row past its tree of 641 leaves: level 1, index 0, width 3" <<<"$out"
check "v06: ... and leaves the log at 0.6.0" test "$(q v06 -c "SELECT extversion FROM pg_extension WHERE extname = 'battledger'")" = 0.6.0
updated_log 0.6.0 0.7.0 v06 55462

# --- 0.7.0 -> 0.8.0: the six databases above go on to this version
update_all 0.8.0 fresh8 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462
export PGPORT=55462
check "v06: verify() and verify_log(true) clean after the update to 0.8.0" \
  test "$(q v06 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.7.0 -> 0.8.0, from 0.7.0's own binaries (release commit f190580)
release_log 0.7.0 f190580 v07 55463
updated_log 0.7.0 0.8.0 v07 55463

# --- 0.8.0 -> 0.9.0: the seven databases above go on to this version
update_all 0.9.0 fresh9 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463
export PGPORT=55463
check "v07: verify() and verify_log(true) clean after the update to 0.9.0" \
  test "$(q v07 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.8.0 -> 0.9.0, from 0.8.0's own binaries (release commit b61276b)
release_log 0.8.0 b61276b v08 55464
# a leaf deleted behind the guards: the update, which computes the log's
# blocks from the leaves, refuses the log and leaves it as it was
out=$(PGPORT=55464 q v08 2>&1 <<'SQL' || true
BEGIN;
SELECT string_agg(format('ALTER EVENT TRIGGER %I DISABLE', evtname), '; ') FROM pg_event_trigger WHERE evtname LIKE 'battledger%' \gset
:string_agg;
ALTER TABLE battledger.log_leaf DISABLE TRIGGER ALL;
DELETE FROM battledger.log_leaf WHERE leaf_index = 7;
ALTER TABLE battledger.log_leaf ENABLE TRIGGER ALL;
ALTER EXTENSION battledger UPDATE TO '0.9.0';
ROLLBACK;
SQL
)
check "v08: the update to 0.9.0 refuses a log whose leaves have a gap (XX001)" grep -q "the log's leaves are not dense" <<<"$out"
check "v08: ... and leaves the log at 0.8.0" test "$(PGPORT=55464 q v08 -c "SELECT extversion FROM pg_extension WHERE extname = 'battledger'")" = 0.8.0
updated_log 0.8.0 0.9.0 v08 55464

# --- 0.9.0 -> 0.10.0: the eight databases above go on to this version
update_all 0.10.0 fresh10 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464
export PGPORT=55464
check "v08: verify() and verify_log(true) clean after the update to 0.10.0" \
  test "$(q v08 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.9.0 -> 0.10.0, from 0.9.0's own binaries (release commit 84e14de)
release_log 0.9.0 84e14de v09 55465
updated_log 0.9.0 0.10.0 v09 55465

# --- 0.10.0 -> 0.11.0: the nine databases above go on to this version
update_all 0.11.0 fresh11 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465
export PGPORT=55465
check "v09: verify() and verify_log(true) clean after the update to 0.11.0" \
  test "$(q v09 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.10.0 -> 0.11.0, from 0.10.0's own binaries (release commit 546a5c3)
release_log 0.10.0 546a5c3 v10 55466
updated_log 0.10.0 0.11.0 v10 55466

# --- 0.11.0 -> 0.12.0: the ten databases above go on to this version
update_all 0.12.0 fresh12 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466
export PGPORT=55466
check "v10: verify() and verify_log(true) clean after the update to 0.12.0" \
  test "$(q v10 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.11.0 -> 0.12.0, from 0.11.0's own binaries (release commit 18c7a9c)
release_log 0.11.0 18c7a9c v11 55467
updated_log 0.11.0 0.12.0 v11 55467

# --- 0.12.0 -> 0.13.0: the eleven databases above go on to this version
update_all 0.13.0 fresh13 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467
export PGPORT=55467
check "v11: verify() and verify_log(true) clean after the update to 0.13.0" \
  test "$(q v11 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.12.0 -> 0.13.0, from 0.12.0's own binaries (release commit 5017310)
release_log 0.12.0 5017310 v12 55468
updated_log 0.12.0 0.13.0 v12 55468
check "v12: no unique constraint on ledger_sig left by the update to 0.13.0, its indexes partial" \
  test "$(q v12 -c "SELECT (SELECT count(*) FROM pg_constraint con JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey)
                          WHERE a.attname = 'ledger_sig' AND con.contype = 'u')
                        || ':' || (SELECT count(*) FILTER (WHERE i.indpred IS NULL) || ':' || (count(*) > 0) FROM pg_index i
                          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                          WHERE a.attname = 'ledger_sig' AND i.indisunique)")" = 0:0:true

# --- 0.13.0 -> 0.14.0: the twelve databases above go on to this version
update_all 0.14.0 fresh14 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468
export PGPORT=55468
check "v12: verify() and verify_log(true) clean after the update to 0.14.0" \
  test "$(q v12 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.13.0 -> 0.14.0, from 0.13.0's own binaries (release commit b035bd3)
release_log 0.13.0 b035bd3 v13 55469
updated_log 0.13.0 0.14.0 v13 55469

# --- 0.14.0 -> 0.15.0: the thirteen databases above go on to this version
update_all 0.15.0 fresh15 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468 v13:55469
export PGPORT=55469
check "v13: verify() and verify_log(true) clean after the update to 0.15.0" \
  test "$(q v13 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.14.0 -> 0.15.0, from 0.14.0's own binaries (release commit fae939a)
release_log 0.14.0 fae939a v14 55470
updated_log 0.14.0 0.15.0 v14 55470

# --- 0.15.0 -> 0.16.0: the fourteen databases above go on to this version
update_all 0.16.0 fresh16 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468 v13:55469 v14:55470
export PGPORT=55470
check "v14: verify() and verify_log(true) clean after the update to 0.16.0" \
  test "$(q v14 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.15.0 -> 0.16.0, from 0.15.0's own binaries (release commit c45f14b)
release_log 0.15.0 c45f14b v15 55471
updated_log 0.15.0 0.16.0 v15 55471

# --- 0.16.0 -> 0.17.0: the fifteen databases above go on to this version
update_all 0.17.0 fresh17 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468 v13:55469 v14:55470 v15:55471
export PGPORT=55471
check "v15: verify() and verify_log(true) clean after the update to 0.17.0" \
  test "$(q v15 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.16.0 -> 0.17.0, from 0.16.0's own binaries (release commit f83d032)
release_log 0.16.0 f83d032 v16 55472
updated_log 0.16.0 0.17.0 v16 55472

# --- 0.17.0 -> 0.18.0: the sixteen databases above go on to this version
update_all 0.18.0 fresh18 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468 v13:55469 v14:55470 v15:55471 v16:55472
export PGPORT=55472
check "v16: verify() and verify_log(true) clean after the update to 0.18.0" \
  test "$(q v16 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.17.0 -> 0.18.0, from 0.17.0's own binaries (release commit 5dee606)
release_log 0.17.0 5dee606 v17 55473
updated_log 0.17.0 0.18.0 v17 55473

# --- 0.18.0 -> 0.19.0: the seventeen databases above go on to this version
update_all 0.19.0 fresh19 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468 v13:55469 v14:55470 v15:55471 v16:55472 v17:55473
export PGPORT=55473
check "v17: verify() and verify_log(true) clean after the update to 0.19.0" \
  test "$(q v17 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.18.0 -> 0.19.0, from 0.18.0's own binaries (release commit 3eab271)
release_log 0.18.0 3eab271 v18 55474
updated_log 0.18.0 0.19.0 v18 55474

# --- 0.19.0 -> 0.20.0: the eighteen databases above go on to this version
update_all 0.20.0 fresh20 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468 v13:55469 v14:55470 v15:55471 v16:55472 v17:55473 v18:55474
export PGPORT=55474
check "v18: verify() and verify_log(true) clean after the update to 0.20.0" \
  test "$(q v18 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.19.0 -> 0.20.0, from 0.19.0's own binaries (release commit 282483d)
# (port 55478: 55475 to 55477 belong to scenarios all.sh may run beside this one)
release_log 0.19.0 282483d v19 55478
updated_log 0.19.0 0.20.0 v19 55478

# --- 0.20.0 -> 0.21.0: the nineteen databases above go on to this version
update_all 0.21.0 fresh21 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468 v13:55469 v14:55470 v15:55471 v16:55472 v17:55473 v18:55474 v19:55478
export PGPORT=55478
check "v19: verify() and verify_log(true) clean after the update to 0.21.0" \
  test "$(q v19 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.20.0 -> 0.21.0, from 0.20.0's own binaries (release commit 9de6b2f)
release_log 0.20.0 9de6b2f v20 55479
updated_log 0.20.0 0.21.0 v20 55479

# --- 0.21.0 -> 0.22.0: the twenty databases above go on to this version
update_all 0.22.0 fresh22 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468 v13:55469 v14:55470 v15:55471 v16:55472 v17:55473 v18:55474 v19:55478 v20:55479
export PGPORT=55479
check "v20: verify() and verify_log(true) clean after the update to 0.22.0" \
  test "$(q v20 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.21.0 -> 0.22.0, from 0.21.0's own binaries (release commit fd285c4)
release_log 0.21.0 fd285c4 v21 55480
updated_log 0.21.0 0.22.0 v21 55480

# --- 0.22.0 -> 0.23.0: the twenty-one databases above go on to this version
update_all 0.23.0 fresh23 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468 v13:55469 v14:55470 v15:55471 v16:55472 v17:55473 v18:55474 v19:55478 v20:55479 v21:55480
export PGPORT=55480
check "v21: verify() and verify_log(true) clean after the update to 0.23.0" \
  test "$(q v21 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.22.0 -> 0.23.0, from 0.22.0's own binaries (release commit 36112d8)
release_log 0.22.0 36112d8 v22 55485
updated_log 0.22.0 0.23.0 v22 55485

# --- 0.23.0 -> 0.24.0: the twenty-two databases above go on to this version
update_all 0.24.0 fresh24 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468 v13:55469 v14:55470 v15:55471 v16:55472 v17:55473 v18:55474 v19:55478 v20:55479 v21:55480 v22:55485
export PGPORT=55485
check "v22: verify() and verify_log(true) clean after the update to 0.24.0" \
  test "$(q v22 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.23.0 -> 0.24.0, from 0.23.0's own binaries (release commit 11aab24)
release_log 0.23.0 11aab24 v23 55486
updated_log 0.23.0 0.24.0 v23 55486

# --- 0.24.0 -> 0.25.0: the twenty-three databases above go on to this version
update_all 0.25.0 fresh25 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468 v13:55469 v14:55470 v15:55471 v16:55472 v17:55473 v18:55474 v19:55478 v20:55479 v21:55480 v22:55485 v23:55486
export PGPORT=55486
check "v23: verify() and verify_log(true) clean after the update to 0.25.0" \
  test "$(q v23 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.24.0 -> 0.25.0, from 0.24.0's own binaries (release commit 3410aca)
release_log 0.24.0 3410aca v24 55487
updated_log 0.24.0 0.25.0 v24 55487

# --- 0.25.0 -> 0.26.0: the twenty-four databases above go on to this version
update_all 0.26.0 fresh26 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468 v13:55469 v14:55470 v15:55471 v16:55472 v17:55473 v18:55474 v19:55478 v20:55479 v21:55480 v22:55485 v23:55486 v24:55487
export PGPORT=55487
check "v24: verify() and verify_log(true) clean after the update to 0.26.0" \
  test "$(q v24 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.25.0 -> 0.26.0, from 0.25.0's own binaries (release commit fc1067e)
release_log 0.25.0 fc1067e v25 55489
updated_log 0.25.0 0.26.0 v25 55489

# --- 0.26.0 -> 0.27.0: the twenty-five databases above go on to this version
update_all 0.27.0 fresh27 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468 v13:55469 v14:55470 v15:55471 v16:55472 v17:55473 v18:55474 v19:55478 v20:55479 v21:55480 v22:55485 v23:55486 v24:55487 v25:55489
export PGPORT=55489
check "v25: verify() and verify_log(true) clean after the update to 0.27.0" \
  test "$(q v25 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.26.0 -> 0.27.0, from 0.26.0's own binaries (release commit 77a384a)
release_log 0.26.0 77a384a v26 55490
updated_log 0.26.0 0.27.0 v26 55490

# --- 0.27.0 -> 0.28.0: the twenty-six databases above go on to this version
update_all 0.28.0 fresh28 old:$cluster1_port v02:55458 v03:55459 v04:55460 v05:55461 v06:55462 v07:55463 v08:55464 v09:55465 v10:55466 v11:55467 v12:55468 v13:55469 v14:55470 v15:55471 v16:55472 v17:55473 v18:55474 v19:55478 v20:55479 v21:55480 v22:55485 v23:55486 v24:55487 v25:55489 v26:55490
export PGPORT=55490
check "v26: verify() and verify_log(true) clean after the update to 0.28.0" \
  test "$(q v26 -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('soh')) + (SELECT count(*) FROM battledger.verify_log(true))")" = 0

# --- 0.27.0 -> 0.28.0, from 0.27.0's own binaries (release commit 82d4890)
release_log 0.27.0 82d4890 v27 55456
updated_log 0.27.0 0.28.0 v27 55456
exit $fail
