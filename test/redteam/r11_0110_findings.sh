#!/usr/bin/env bash
# Red team r11 (0.11.0 review): r10's F2 fix (the passport holder index and the
# fold cache keyed by holders), verify()'s numeric encoder without
# numeric_out(), verify_log()'s NULL hash rows.
# Each case prints "ok <case>" when the property holds and "FAIL <case>: ..."
# when it does not; exit status: the number of FAILs (0 = all hold).
#   H1  member's superuser: a row on another battery issuing battery A's
#       passport id dated before A's issue, written behind the guards with
#       the ledger_hash of A's issuing row: battery_state(A) is the whole
#       fold's (r10's F2 fix as first merged keyed the cache by the holder's
#       ledger_hash, which has no unique index: the cache held; r11 keyed it
#       by registry key (b3b5ce0 on branch r11); main since took r10 F5's
#       design, where the row that moves a holder records the move in
#       passport_holder_moved, so b3b5ce0 was not merged and H1 checks that)
#   H2  origins with ',' and '-' and a second id named later: cached state is
#       the whole fold's, the move is recorded for the battery it concerns;
#       the update's functions are the install's
#   H3  a plain role may not execute the cache's holder functions nor read
#       passport_holder_moved
#   H4  two local writers race for one passport id: one wins, one BL038
#   T1  a malicious member's two rows on two of its batteries issuing one id
#       with the same (ledger_at, ledger_origin, ledger_seq) (each battery's
#       chain starts at seq 1): registry order had no tie-break across
#       batteries, so neither was "earlier" and both held the id (open since
#       before 0.11.0; fixed in 0.12.0: battery_id breaks the tie, in its
#       own byte order, so exactly one holds it, the lower id's); a 0.11.0
#       database whose cache holds the tie's old answer, updated: one holder,
#       the update's index and functions are the install's
#   N1  numerics corrupted on disk (digits 12345, -1234, 32767, -32768;
#       dscale 63; long format weight 32767, -32768 with dscale 16383): the
#       encoder's text equals numeric_out()'s byte for byte (so 0.10.0's
#       hash), verify() reports hash_mismatch, no crash
#   V1  member's superuser edits the chain index's leaf tuples: 3000 entries
#       to one heap TID (more than a block holds: heap_order() sorts) are
#       reported (duplicate_position, missing_rows); one entry to block
#       0x7ff0ffff: no row, its displaced row reported (0.11.0 as merged:
#       XX000 "could not open file ... previous segment is only N blocks";
#       fixed); no crash, no allocation by span (heap_order() sorts past
#       2n+65536 blocks)
#   L4  log_tile/log_block key columns NULL (primary key dropped behind the
#       guards): verify_log() raises XX001 data_corrupted, no crash
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
FAILS=0
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }
check() {
  local got; got=$(q -c "$2" 2>&1)
  if [ "$got" = t ]; then ok "$1"; else fail "$1" "$got${3:+ | $(q -c "$3" 2>&1 | tr '\n' ' ')}"; fi
}
bl_scratch
bl_start_cluster r11 57310 "$(bl_test_log_conf r11.test/redteam)"
DB=reg
q() { timeout 600 psql -X -q -At -v ON_ERROR_STOP=1 -d $DB "$@"; }
createdb reg
q -c "CREATE EXTENSION battledger" -c "ALTER DATABASE reg SET search_path = public, battledger, battledger_test" >/dev/null
sed -n '1,52p' "$BL_ROOT/sql/registry.sql" | q >/dev/null
q <<'SQL' >/dev/null
SELECT ev('cells.test', jsonb_build_object('battery_id', bid(b)::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah', 'occurred_at', '2024-03-01T00:00:00Z')) FROM unnest(ARRAY['A','B','C','T1','T2','T3','R1','R2']) b;
SELECT ev('cells.test', jsonb_build_object('battery_id', bid(b)::text, 'event', 'placed_on_market', 'passport_id', 'P-' || b, 'occurred_at', '2024-03-01T00:00:00Z')) FROM unnest(ARRAY['A','B','C']) b;
CREATE FUNCTION public.arr(b text, ev text, st text, pp text, at timestamptz, origin text, seq bigint, h battledger.hash256 DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event;
BEGIN
  SELECT * INTO r FROM battledger.battery_event WHERE battery_id = public.bid(b) AND event = 'manufactured';
  r.event := ev; r.new_status := st; r.passport_id := pp; r.model_id := NULL; r.ledger_sig := NULL;
  r.ledger_origin := origin; r.ledger_seq := seq; r.ledger_at := at;
  IF h IS NOT NULL THEN r.ledger_hash := h; END IF;
  INSERT INTO battledger.battery_event SELECT r.*;
END $$;
CREATE FUNCTION public.state_whole(b text) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce((SELECT ROW(l.manufactured, l.status, l.passport_id, l.custodian, l.handover_to)::text
                     FROM battledger.battery_lifecycle(public.bid(b)) l
                    ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC LIMIT 1), '') $$;
SQL
rep() {
  q <<SQL
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.battery_event DISABLE TRIGGER zz_battledger_arrive;
SET LOCAL session_replication_role = replica;
$1
ALTER TABLE battledger.battery_event ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
}

# --- H1: a holder with another row's ledger_hash
rep "SELECT public.arr('A', 'status_changed', 'remanufactured', 'P2-A', now() + interval '1 min', 'evil.test/log', 1);" >/dev/null
check H1-cache-row-stored "SELECT count(*) = 1 FROM battledger.battery_fold_cache WHERE battery_id = bid('A')"
rep "SELECT public.arr('T1', 'placed_on_market', NULL, 'P-A', timestamptz '2020-01-01', 'evil.test/log', 1, (SELECT ledger_hash FROM battledger.battery_event WHERE passport_id = 'P-A'));" >/dev/null
check H1-same-ledger-hash-holder-state-is-whole-fold \
  "SELECT battery_state(bid('A'))::text = state_whole('A')" "SELECT battery_state(bid('A'))::text, state_whole('A')"

# --- H2: origins with ',' and '-'; a later id
rep "SELECT public.arr('B', 'status_changed', 'remanufactured', 'P2-B', now() + interval '1 min', 'a,-b.test/log', 1);
     SELECT public.arr('B', 'status_changed', 'remanufactured', 'P3-B', now() + interval '2 min', 'a,-b.test/log', 2);" >/dev/null
check H2-cache-row-stored "SELECT count(*) = 1 FROM battledger.battery_fold_cache WHERE battery_id = bid('B')"
rep "SELECT public.arr('C', 'placed_on_market', NULL, 'P2-B', now(), '-,-.test/log', 1);" >/dev/null
check H2-earlier-holder-of-second-id-state-is-whole-fold \
  "SELECT battery_state(bid('B'))::text = state_whole('B')" "SELECT battery_state(bid('B'))::text, state_whole('B')"
check H2-move-recorded-for-B "SELECT count(*) = 1 FROM battledger.passport_holder_moved WHERE battery_id = bid('B') AND passport_id = 'P2-B'"

# --- H3: privileges
q -c "CREATE ROLE r11_plain LOGIN" >/dev/null
check H3-plain-role-no-execute-holder-functions "SELECT NOT has_function_privilege('r11_plain', 'battledger._holders_moved(battledger.battery_id)', 'EXECUTE')
   AND NOT has_function_privilege('r11_plain', 'battledger._passport_holder_arrived()', 'EXECUTE')
   AND NOT has_table_privilege('r11_plain', 'battledger.passport_holder_moved', 'SELECT')"

createdb upd
shape="SELECT string_agg(x, ';' ORDER BY x) FROM (SELECT p.proname || '/' || p.pronargs || md5(p.prosrc) || coalesce(array_to_string(p.proacl, ','), '') AS x
         FROM pg_proc p WHERE p.pronamespace = 'battledger'::regnamespace AND p.proname ~ 'holders_moved|holder_arrived|fold_cached|verdict|fold_generation|id_owners') s"
u=$(DB=upd q -c "CREATE EXTENSION battledger VERSION '0.10.0'" -c "ALTER EXTENSION battledger UPDATE" -c "$shape" 2>&1 | tail -1)
if [ "$u" = "$(q -c "$shape")" ]; then ok H2-update-from-0.10.0-same-as-install; else fail H2-update-from-0.10.0-same-as-install "$(diff <(echo "$u" | tr ";" "\n") <(q -c "$shape" | tr ";" "\n") | tr "\n" " ")"; fi

# --- H4: two writers race for one passport id
( q -c "BEGIN" -c "SELECT ev('cells.test', jsonb_build_object('battery_id', bid('R1')::text, 'event', 'placed_on_market', 'passport_id', 'P-RACE', 'occurred_at', '2024-03-01T00:00:00Z'))" -c "SELECT pg_sleep(2)" -c "COMMIT" >/dev/null 2>&1 ) &
sleep 0.7
r2=$(q -c "SELECT try_ev('cells.test', jsonb_build_object('battery_id', bid('R2')::text, 'event', 'placed_on_market', 'passport_id', 'P-RACE', 'occurred_at', '2024-03-01T00:00:00Z'))" 2>&1)
wait
if [ "$r2" = BL038 ]; then ok H4-race-second-writer-refused; else fail H4-race-second-writer-refused "$r2"; fi
check H4-race-one-holder "SELECT (battery_state(bid('R1'))).passport_id = 'P-RACE' AND (battery_state(bid('R2'))).passport_id IS NULL"

# --- T1: two issuing rows with one registry-order key
rep "SELECT public.arr('T2', 'placed_on_market', NULL, 'P-TIE', timestamptz '2030-01-01', 'evil.test/log', 1);
     SELECT public.arr('T3', 'placed_on_market', NULL, 'P-TIE', timestamptz '2030-01-01', 'evil.test/log', 1);" >/dev/null
check T1-tied-issuers-one-holder \
  "SELECT ((battery_state(bid('T2'))).passport_id IS NOT DISTINCT FROM 'P-TIE')::int + ((battery_state(bid('T3'))).passport_id IS NOT DISTINCT FROM 'P-TIE')::int = 1" \
  "SELECT state_whole('T2'), state_whole('T3')"
check T1-tied-lower-id-holds "SELECT (battery_state(bid('T2'))).passport_id IS NOT DISTINCT FROM 'P-TIE' AND bid('T2') < bid('T3')"
check T1-tied-state-is-whole-fold "SELECT battery_state(bid('T2'))::text = state_whole('T2') AND battery_state(bid('T3'))::text = state_whole('T3')"
check T1-tied-other-is-conflict "SELECT count(*) = 1 FROM registry_conflicts() WHERE battery_id = bid('T3') AND problem = 'passport_taken'"
# a 0.11.0 database with the tie and both states cached (both hold the id),
# updated: the cache was emptied, one holder
createdb t1upd
DB=t1upd q -c "CREATE EXTENSION battledger VERSION '0.11.0'" -c "ALTER DATABASE t1upd SET search_path = public, battledger, battledger_test" >/dev/null
sed -n '1,52p' "$BL_ROOT/sql/registry.sql" | DB=t1upd q >/dev/null
DB=t1upd q <<'SQL' >/dev/null
SELECT ev('cells.test', jsonb_build_object('battery_id', bid(b)::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah',
          'occurred_at', '2026-06-01T00:00:00Z')) FROM unnest(ARRAY['T-A', 'T-B']) b;
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
-- one statement: both rows at (its time, this origin, seq 2)
DO $$ BEGIN
  PERFORM ev('cells.test', jsonb_build_object('battery_id', bid(b)::text, 'event', 'placed_on_market', 'passport_id', 'P-TIE',
             'occurred_at', '2026-06-02T00:00:00Z')) FROM unnest(ARRAY['T-B', 'T-A']) b;
  PERFORM battledger._battery_state_cached(bid(b)) FROM unnest(ARRAY['T-A', 'T-B']) b;
END $$;
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
SQL
DB=t1upd check T1-update-0.11.0-cache-held-tie "SELECT count(*) = 2 FROM battledger.battery_fold_cache WHERE (st).passport_id = 'P-TIE'"
DB=t1upd q -c "ALTER EXTENSION battledger UPDATE" >/dev/null
DB=t1upd check T1-update-one-holder \
  "SELECT (battery_state(bid('T-A'))).passport_id = 'P-TIE' AND (battery_state(bid('T-B'))).passport_id IS NULL
      AND (battledger._battery_state_cached(bid('T-A'))).passport_id = 'P-TIE'
      AND (battledger._battery_state_cached(bid('T-B'))).passport_id IS NULL"
shape="SELECT string_agg(x, ';' ORDER BY x) FROM (SELECT p.proname || '/' || p.pronargs || md5(p.prosrc) AS x
         FROM pg_proc p WHERE p.pronamespace = 'battledger'::regnamespace AND p.proname ~ 'verdict|holder_arrived|second_life_claims'
       UNION ALL SELECT pg_get_indexdef('battledger.battery_event_passport_holder'::regclass)) s"
if [ "$(DB=t1upd q -c "$shape")" = "$(q -c "$shape")" ]; then ok T1-update-same-as-install; else fail T1-update-same-as-install "$(diff <(DB=t1upd q -c "$shape" | tr ";" "\n") <(q -c "$shape" | tr ";" "\n") | tr "\n" " ")"; fi

# --- N1: numerics corrupted on disk
q <<'SQL' >/dev/null
CREATE TABLE public.nm (k text, v numeric);
SELECT battledger.enable_ledger('public.nm', 'k');
INSERT INTO public.nm VALUES ('a', 1234.5678), ('b', 8765.4321), ('c', 1111.2222), ('d', 3333.4444), ('e', 1e300), ('f', 2e300), ('g', 3e300);
CHECKPOINT;
SQL
f=$BL_WORK/r11/$(q -c "SELECT pg_relation_filepath('public.nm')")
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/r11" -m fast -w stop >/dev/null
python3 - "$f" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
def pat(old, new):
    o = bytes.fromhex(old); i = b.find(o); assert i >= 0 and b.find(o, i + 1) < 0, old
    b[i:i + len(o)] = bytes.fromhex(new)
pat('d2042e16', 'd2043930')          # 1234.5678 -> digit 12345
pat('3d22e110', '2efbe110')          # 8765 -> -1234
pat('5704ae08', 'ff7f0080')          # 1111.2222 -> 32767, -32768
pat('0082050d5c11', '809f050d5c11')  # short dscale 4 -> 63
pat('00004b000100', '0000ff7f0100')  # long weight 75 -> 32767
pat('00004b000200', 'ff3f00800200')  # dscale 16383, weight -32768
pat('00004b000300', '0040ff7f0300')  # negative, weight 32767
open(p, 'wb').write(b)
PY
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/r11" -l "$BL_WORK/r11.log" -w start >/dev/null
check N1-encoder-text-is-numeric-out \
  "SELECT bool_and(substring(battledger.row_bytes(n.*) from octet_length(battledger.row_bytes(n.*)) - octet_length(convert_to(v::text, 'UTF8')) - 3)
                   = int4send(octet_length(convert_to(v::text, 'UTF8'))) || convert_to(v::text, 'UTF8')) AND count(*) = 7 FROM public.nm n"
check N1-verify-reports-each "SELECT count(*) = 7 AND bool_and(problem = 'hash_mismatch') FROM battledger.verify('public.nm')"
check N1-server-alive "SELECT true"
if grep -q "terminated by signal" "$BL_WORK/r11.log"; then fail N1-no-crash "$(grep 'terminated by signal' "$BL_WORK/r11.log" | head -2)"; else ok N1-no-crash; fi

# --- L4: NULL key columns in the log's tables
createdb lg
DB=lg
q -c "CREATE EXTENSION battledger" -c "CREATE TABLE public.r (k text, v int)" -c "SELECT battledger.enable_ledger('public.r', 'k')" \
  -c "INSERT INTO public.r SELECT 'k' || (i % 7), i FROM generate_series(1, 5000) i" -c "SELECT battledger.seal() IS NOT NULL" >/dev/null
q <<'SQL' >/dev/null
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.log_block DROP CONSTRAINT log_block_pkey;
ALTER TABLE battledger.log_block ALTER COLUMN width DROP NOT NULL, ALTER COLUMN level DROP NOT NULL, ALTER COLUMN idx DROP NOT NULL;
ALTER TABLE battledger.log_tile DROP CONSTRAINT log_tile_pkey;
ALTER TABLE battledger.log_tile ALTER COLUMN width DROP NOT NULL, ALTER COLUMN level DROP NOT NULL, ALTER COLUMN idx DROP NOT NULL;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
check L4-no-pkey-still-clean "SELECT count(*) = 0 FROM battledger.verify_log()"
for row in "log_block VALUES (4, 0, NULL, '\\x00')" "log_tile VALUES (NULL, 0, 16, '\\x00')"; do
  q -c "INSERT INTO battledger.$row" >/dev/null
  got=$(q -c "\\set VERBOSITY verbose" -c "SELECT count(*) FROM battledger.verify_log()" 2>&1 | grep -o 'XX001' | head -1)
  if [ "$got" = XX001 ]; then ok "L4-null-key-data-corrupted (${row%% *})"; else fail "L4-null-key-data-corrupted (${row%% *})" "$got"; fi
  q -c "BEGIN" -c "ALTER TABLE battledger.${row%% *} DISABLE TRIGGER battledger_append_only" -c "DELETE FROM battledger.${row%% *} WHERE level IS NULL OR idx IS NULL OR width IS NULL" \
    -c "ALTER TABLE battledger.${row%% *} ENABLE ALWAYS TRIGGER battledger_append_only" -c "COMMIT" >/dev/null 2>&1
done
check L4-server-alive "SELECT true"

# --- V1: forged index entries (the chain index of public.r, 5000 rows)
q -c "CHECKPOINT" >/dev/null
fi_=$BL_WORK/r11/$(q -c "SELECT pg_relation_filepath('public.r_ledger_chain')")
cp "$fi_" "$BL_WORK/idx.orig"
forge() {  # $1: entries sent to block 0 offset 1; $2: 1 = one entry to block 0x7ff0ffff
  as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/r11" -m fast -w stop >/dev/null
  cp "$BL_WORK/idx.orig" "$fi_"
  python3 - "$fi_" "$1" "$2" <<'PY'
import sys, re
p, many, huge = sys.argv[1], int(sys.argv[2]), sys.argv[3] == '1'
b = bytearray(open(p, 'rb').read())
hits = [m.start() - 8 for m in re.finditer(rb'\x07k[0-6]', bytes(b)) if m.start() >= 8 and (m.start() - 8) % 8192 >= 24]
for i, h in enumerate(hits):
    if i < many:
        b[h:h + 6] = bytes([0, 0, 0, 0, 1, 0])
    elif huge and i == many:
        b[h:h + 6] = bytes([0xf0, 0x7f, 0xff, 0xff, 1, 0])
open(p, 'wb').write(b)
PY
  as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/r11" -l "$BL_WORK/r11.log" -w start >/dev/null
}
forge 3000 0
check V1-many-entries-one-block-reported "SELECT count(*) > 0 AND bool_and(problem IN ('duplicate_position', 'missing_rows')) FROM battledger.verify('public.r')" \
  "SELECT problem, count(*) FROM battledger.verify('public.r') GROUP BY 1"
forge 0 1
check V1-huge-block-entry-is-no-row "SELECT count(*) > 0 AND bool_and(problem NOT IN ('data_corrupted')) FROM battledger.verify('public.r')" "SELECT problem, count(*) FROM battledger.verify('public.r') GROUP BY 1"
check V1-server-alive "SELECT true"
if grep -q "terminated by signal" "$BL_WORK/r11.log"; then fail V1-no-crash "$(grep 'terminated by signal' "$BL_WORK/r11.log" | head -2)"; else ok V1-no-crash; fi

echo "FAILS=$FAILS"
exit $FAILS
