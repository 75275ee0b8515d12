#!/usr/bin/env bash
# A signed row whose predecessor is dated after the row's statement began
# (docs/security.md, threat 4): the chain trigger dates the row
# max(statement time, predecessor's ledger_at) and judges its key again at
# that time.  Since 0.19.0 that second judgement is the key's alone (the
# signature was verified a moment before over the same bytes; issue 15:
# every row of a chain another writer's later statement reached first paid
# a second Ed25519 verification), so what must still hold is tested here:
#   1. statement S1 (key 1) starts, then waits inside itself (an InitPlan's
#      pg_sleep) before its rows reach the trigger; statement S2, begun
#      after S1, writes rows with key 2 on the same chains and commits;
#      S1's rows then follow S2's: accepted, each dated S2's ledger_at, and
#      verify() finds nothing;
#   2. the same with key 1 revoked in between (after S1's start, before
#      S2's): key 1 is valid at S1's statement time but not at its rows'
#      ledger_at, so S1 is refused with the revoked-key error (BL014) and
#      leaves no row;
#   3. the same with key 3 valid throughout but its member's role taken
#      away in between: refused ("may not sign"), nothing stored (a
#      member's roles are judged as they are when the row is checked, so
#      here the first judgement already refuses; kept so that a change to
#      either judgement that lets such a row through is caught).
# Without the second judgement (chain.c, `if (head_at > now)`), case 2's
# three checks fail: S1 is stored under a key revoked at its ledger_at.
# SIG_LATE_HEAD_PORT sets the cluster's port (default 56183).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; else echo "FAIL - $what"; fail=1; fi; }

bl_scratch
bl_start_cluster latehead "${SIG_LATE_HEAD_PORT:-56183}"
createdb latehead
q() { timeout 120 psql -X -q -At -v ON_ERROR_STOP=1 -d latehead "$@"; }
q <<'SQL' >/dev/null
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
ALTER DATABASE latehead SET search_path = public, battledger, battledger_test;
SET search_path = public, battledger, battledger_test;
SELECT add_member('m1.example', ARRAY['oem']), add_member('m2.example', ARRAY['oem']);
SELECT add_key('m1.example', public_key(seed('m-1'))), add_key('m2.example', public_key(seed('m-2')));
CREATE TABLE stage (tbl text, who text, i int, battery text, soh numeric,
                    kid hash256, sig bytea, PRIMARY KEY (tbl, who, i));
-- rows of tbl signed by who's key: 30 for S1 on chains B1..B3, one per chain for S2
CREATE FUNCTION stage_rows(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r record;
    sb bytea;
BEGIN
    FOR r IN SELECT w.who, w.s, g.i, 'B' || (1 + g.i % 3) AS battery
               FROM (VALUES ('s1', 'm-1', 30), ('s2', 'm-2', 3)) w(who, s, n), generate_series(1, w.n) g(i)
    LOOP
        EXECUTE format('SELECT signing_bytes(x) FROM jsonb_populate_record(NULL::%s, $1) x', tbl) INTO sb
          USING jsonb_build_object('battery', r.battery, 'soh', r.i,
                                   'ledger_key_id', key_id(public_key(seed(r.s)))::text);
        INSERT INTO stage VALUES (tbl::text, r.who, r.i, r.battery, r.i, key_id(public_key(seed(r.s))),
                                  sign(seed(r.s), sb));
    END LOOP;
END $$;
SQL
mk() {  # mk TABLE: a signed table and its staged rows
  q -c "CREATE TABLE $1 (battery text, soh numeric)" \
    -c "SELECT battledger.enable_ledger('$1', 'battery', signed => true, signer_roles => ARRAY['oem'])" \
    -c "SELECT stage_rows('$1')" >/dev/null
}
ins() { # ins TABLE WHO [SLEEP]: the staged rows, after SLEEP seconds inside the statement
  echo "INSERT INTO $1 (battery, soh, ledger_key_id, ledger_sig)
          SELECT battery, soh, kid, sig FROM stage
           WHERE tbl = '$1' AND who = '$2' AND (SELECT pg_sleep(${3:-0})::text) IS NOT NULL ORDER BY i"
}
# late TABLE [SQL]: S1 starts and waits 5 s; after 1 s SQL (if any) runs, then S2 writes and
# commits; S1's output (its error, if refused) lands in $BL_WORK/s1.out, its status in S1RC
late() {
  S1RC=0
  q -c "$(ins "$1" s1 5)" > "$BL_WORK/s1.out" 2>&1 &
  local pid=$!
  sleep 1
  [ -z "${2:-}" ] || q -c "$2" >/dev/null
  q -c "$(ins "$1" s2)" >/dev/null
  wait "$pid" || S1RC=$?
}
rows() { q -c "SELECT count(*) FROM $1 WHERE ledger_key_id = key_id(public_key(seed('$2')))"; }

# 1. accepted: S1's rows follow S2's, dated S2's ledger_at
mk ok
late ok
check "1. S1 (begun first, written last) accepted" [ "$S1RC" = 0 ]
check "1. all 33 rows stored" [ "$(q -c "SELECT count(*) FROM ok")" = 33 ]
check "1. every S1 row follows S2's row on its chain" \
  [ "$(q -c "SELECT count(*) FROM ok a JOIN ok b ON b.battery = a.battery AND b.ledger_seq = 1
              WHERE a.ledger_key_id = key_id(public_key(seed('m-1')))
                AND b.ledger_key_id = key_id(public_key(seed('m-2'))) AND a.ledger_seq > 1")" = 30 ]
check "1. S1's rows dated S2's ledger_at, after S1's statement began" \
  [ "$(q -c "SELECT count(DISTINCT ledger_at) FROM ok")" = 1 ]
check "1. verify(): no problem" [ "$(q -c "SELECT count(*) FROM battledger.verify('ok')")" = 0 ]

# 2. key 1 revoked after S1 began, before S2: valid at S1's time, revoked at its rows' ledger_at
mk rv
late rv "SELECT revoke_key(key_id(public_key(seed('m-1'))), now())"
check "2. S1 refused" [ "$S1RC" != 0 ]
check "2. with the revoked-key error" grep -q "is signed with a revoked key" "$BL_WORK/s1.out"
check "2. S2's rows stored, none of S1's" [ "$(rows rv m-2):$(rows rv m-1)" = 3:0 ]

# 3. key 1 valid throughout, its member's role taken away in between
mk rl
q -c "SELECT add_member('m3.example', ARRAY['oem'])" -c "SELECT add_key('m3.example', public_key(seed('m-3')))" >/dev/null
q <<'SQL' >/dev/null
-- S1's rows of rl re-signed by member m3's key, whose role is taken away below
DO $$
DECLARE
    r record;
    sb bytea;
BEGIN
    FOR r IN SELECT * FROM stage WHERE tbl = 'rl' AND who = 's1' LOOP
        SELECT signing_bytes(x) INTO sb FROM jsonb_populate_record(NULL::rl,
            jsonb_build_object('battery', r.battery, 'soh', r.soh,
                               'ledger_key_id', key_id(public_key(seed('m-3')))::text)) x;
        UPDATE stage SET kid = key_id(public_key(seed('m-3'))), sig = sign(seed('m-3'), sb)
         WHERE tbl = r.tbl AND who = r.who AND i = r.i;
    END LOOP;
END $$;
SQL
late rl "SELECT set_member_roles('m3.example', ARRAY['recycler'])"
check "3. S1 refused" [ "$S1RC" != 0 ]
check "3. for the signer's role" grep -q 'may not sign' "$BL_WORK/s1.out"
check "3. S2's rows stored, none of S1's" [ "$(rows rl m-2):$(rows rl m-3)" = 3:0 ]
exit $fail
