#!/usr/bin/env bash
# Red team r10 (0.10.0 review): the bound on the apply worker's whole folds of
# the battery-state cache (b4df115) and the log's blocks of 16 nodes (0.9.0).
# Each case prints "ok <case>" when the property holds and "FAIL <case>: ..."
# when it does not; exit status: the number of FAILs (0 = all hold).
#   F2a a malicious member's rows naming a passport id, dated ahead, then its
#       rows on another battery naming the same id: per-row apply cost within
#       3x of the same rows without them (0.10.0 as committed: each fold
#       walked every row naming the id, and each cache check counted them:
#       O(rows naming it) per row, quadratic in the member's rows)
#   F2b ... the cached state of that battery is the whole fold's
#   F2c a row naming an honest battery's passport id dated after its issue
#       leaves the battery's cache standing (it changes no verdict)
#   F2d one dated before the issue takes the id: battery_state() is the whole
#       fold's (no status), and the local rules trigger judges on it (BL036)
#   F5  rows of one battery each issuing a new passport id (an effective
#       remanufacture each): the second 600 cost at most 2x the first 600
#       (0.10.0 and r10's fixes: the cache's check probed every id the
#       battery ever named, O(ids) a row, quadratic: 1.1 s vs 3.3 s; 0.11.0
#       counts the rows that moved an id's holder, passport_holder_moved:
#       0.39 s vs 0.49 s; F6 in the same run 0.34 s vs 0.42 s)
#   F5b a row at exactly the key of a battery's issue of an id (another
#       battery, same ledger_at, origin, seq, a higher battery id) does not
#       take the id (since 0.12.0 battery_id breaks the tie, red team r11
#       T1: that row is passport_taken; a lower id's would move the holder,
#       sql/registry.sql section 14): no move
#   F5c one a microsecond before it, from a lower origin: the cache is void
#   F5d an arriving row taking an id while a local writer issuing it has its
#       transaction open, then a local write folding the issue into the
#       cache: the arriving row waits for the id's turn and records the
#       move (without the turn the cache holds on the issue: checked by
#       hand, removing the _lock_subject() call)
#   F5e the other order: a local write folds the cache while the arriving
#       row's transaction is open; once it commits the cache is void
#   F6  rows of one battery naming no id: the same (the cache's check counts
#       the battery's lifecycle events up to its horizon: O(events) a row;
#       open, small constant)
#   F3  new members and keys (each voids every cache) interleaved with
#       arriving rows of one battery: at most 30 whole folds in 100 rows, and
#       the cached state is the whole fold's
#   F7  honest: a battery folded whole at 40 lifecycle events (after a key
#       change), then another member's new key, then one more arriving row:
#       the cache holds again, so readers fold nothing whole (0.9.0 refolded
#       on that row; 0.10.0 waits for 10 more rows: open, by design)
#   F4  a plain role may not execute the cache's writers and readers (new
#       signatures); the update from 0.9.0 leaves no one-argument version and
#       gives the same functions, index and cache columns as an install
#   L1  tree_root, inclusion and consistency proofs at sizes 15..17, 255..257,
#       4095..4097, 65535..65537 equal an independent RFC 9162 computation
#       (test/redteam/rfc9162.py), before and after L2's odd rows
#   L2  block rows a superuser writes: width 0, width 17 (17 hashes), width
#       100 of 16 hashes, negative index, level 5, level 2^31-1, 31 bytes:
#       proofs read none of them wrongly, verify_log() names each extra_block,
#       seal() goes on or refuses with a SQLSTATE (not XX000), no crash
#   L3  a tile row and block rows with NULL hashes (NOT NULL dropped behind the
#       guards): verify_log() names them (0.10.0 as committed: XX000 "has a
#       NULL", no problem named, while seal()'s hint points to verify_log());
#       proofs still equal RFC 9162's
# On b4df115 (0.10.0 as committed) F2a, F2c, F5, F7 and L3 FAIL; with r10's
# fixes F2 and L3 hold; F5 holds from 0.11.0 (branch f5); F7 is open
# (docs/security.md, residual).
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
bl_start_cluster r10 56062 "$(bl_test_log_conf r10.test/redteam)"
DB=reg
q() { timeout 600 psql -X -q -At -v ON_ERROR_STOP=1 -d $DB "$@"; }
createdb reg
q -c "CREATE EXTENSION battledger" -c "ALTER DATABASE reg SET search_path = public, battledger, battledger_test" >/dev/null
sed -n '1,52p' "$BL_ROOT/sql/registry.sql" | q >/dev/null
q <<'SQL' >/dev/null
SELECT ev('cells.test', jsonb_build_object('battery_id', bid(b)::text, 'event', 'manufactured', 'model_id', 'NMC-18650-2Ah', 'occurred_at', '2024-03-01T00:00:00Z')) FROM unnest(ARRAY['Y','Y0','Z','V','K','W','W0','G','T','T0','C','C2']) b;
SELECT ev('cells.test', jsonb_build_object('battery_id', bid(b)::text, 'event', 'placed_on_market', 'passport_id', 'P-' || b, 'occurred_at', '2024-03-01T00:00:00Z')) FROM unnest(ARRAY['Y','Y0','Z','V','K','W','W0','G','T','C']) b;
SELECT ev('cells.test', jsonb_build_object('battery_id', bid(b)::text, 'event', 'status_changed', 'new_status', 'remanufactured', 'passport_id', 'P2-' || b, 'occurred_at', '2024-03-01T00:00:00Z')) FROM unnest(ARRAY['Y','Y0','W','W0']) b;
-- one row of another member as the apply worker stores it (its own chain fields)
CREATE FUNCTION public.arr(b text, ev text, st text, pp text, at timestamptz, origin text, seq bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event;
BEGIN
  SELECT * INTO r FROM battledger.battery_event WHERE battery_id = public.bid(b) AND event = 'manufactured';
  r.event := ev; r.new_status := st; r.passport_id := pp; r.model_id := NULL; r.ledger_sig := NULL;
  r.ledger_origin := origin; r.ledger_seq := seq; r.ledger_at := at;
  INSERT INTO battledger.battery_event SELECT r.*;
END $$;
CREATE FUNCTION public.whole(b text) RETURNS bigint LANGUAGE sql AS $$
  SELECT whole_n FROM battledger.battery_fold_cache WHERE battery_id = public.bid(b) $$;
-- the state after the whole fold (battery_lifecycle), as battery_state() gives it
CREATE FUNCTION public.state_whole(b text) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce((SELECT ROW(l.manufactured, l.status, l.passport_id, l.custodian, l.handover_to)::text
                     FROM battledger.battery_lifecycle(public.bid(b)) l
                    ORDER BY l.ledger_at DESC, l.ledger_origin DESC, l.ledger_seq DESC LIMIT 1), '') $$;
SQL
# as the apply worker stores rows: replica mode, the arrival check off behind the guards
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
# the arrival check off (or back on) in its own transaction, so that rows can
# arrive in an open transaction without a table lock (concurrency cases)
arrive_check() {
  q -c "ALTER EVENT TRIGGER battledger_ddl_guard DISABLE" \
    -c "ALTER TABLE battledger.battery_event $1 zz_battledger_arrive" \
    -c "ALTER EVENT TRIGGER battledger_ddl_guard ENABLE" >/dev/null
}
# one statement of rows arriving as the apply worker stores them, in its own
# transaction kept open $2 seconds after them (the arrival check must be off)
rep_open() {
  q -c "BEGIN" -c "SET LOCAL session_replication_role = replica" -c "$1" -c "SELECT pg_sleep($2)" -c "COMMIT" >/dev/null
}
ms() { local t0 t1; t0=$(date +%s%N); rep "$1" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }

# --- F2: rows naming a passport id
base=$(ms "SELECT count(public.arr('Y0', 'status_changed', 'remanufactured', 'P2-Y0', now() + i * interval '1 min', 'evil.test/log', i)) FROM generate_series(1, 400) i;")
rep "SELECT count(public.arr('Z', 'placed_on_market', NULL, 'P2-Y', timestamptz '2099-01-01' + i * interval '1 s', 'evil2.test/log', i)) FROM generate_series(1, 10000) i;" >/dev/null
att=$(ms "SELECT count(public.arr('Y', 'status_changed', 'remanufactured', 'P2-Y', now() + i * interval '1 min', 'evil.test/log', 400 + i)) FROM generate_series(1, 400) i;")
echo "# 400 arriving rows naming their battery's passport id: $base ms; after 10,000 rows naming it dated ahead: $att ms"
if [ "$att" -le $((3 * base + 300)) ]; then ok F2a-rows-naming-a-passport-ahead-cost-linear
else fail F2a-rows-naming-a-passport-ahead-cost-linear "$att ms against $base ms"; fi
check F2b-cached-state-is-whole-fold "SELECT battery_state(bid('Y'))::text = state_whole('Y')"
q -c "SELECT battery_state(bid('V'))" >/dev/null
rep "SELECT count(public.arr('Z', 'placed_on_market', NULL, 'P-V', timestamptz '2098-01-01' + i * interval '1 s', 'evil3.test/log', i)) FROM generate_series(1, 50) i;" >/dev/null
check F2c-rows-naming-an-id-after-its-issue-leave-the-cache \
  "SELECT count(*) = 1 FROM battledger.battery_fold_cache c WHERE c.battery_id = bid('V') AND c.holders_moved = battledger._holders_moved(c.battery_id)
      AND NOT EXISTS (SELECT 1 FROM battledger.passport_holder_moved m WHERE m.battery_id = bid('V'))"
rep "SELECT public.arr('Z', 'placed_on_market', NULL, 'P-V', timestamptz '2020-01-01', 'evil4.test/log', 1);" >/dev/null
check F2d-id-taken-before-issue-state-is-whole-fold \
  "SELECT battery_state(bid('V'))::text = state_whole('V') AND (battery_state(bid('V'))).status IS NULL" \
  "SELECT battery_state(bid('V'))::text, state_whole('V')"
check F2d-rules-trigger-judges-on-whole-fold \
  "SELECT try_ev('cells.test', jsonb_build_object('battery_id', bid('V')::text, 'event', 'status_changed', 'new_status', 'remanufactured', 'passport_id', 'P3-V', 'occurred_at', '2024-03-01T00:00:00Z')) = 'BL036'"

# --- F5b-F5d: the holder moves that void a cache (0.11.0: passport_holder_moved)
# a row at exactly the key of battery T's issue of P-T (another battery, same
# ledger_at, origin and seq; T0 sorts after T) leaves T the holder: no move
q -c "SELECT battery_state(bid('T'))" >/dev/null
rep "SELECT public.arr('T0', 'placed_on_market', NULL, 'P-T', e.ledger_at, e.ledger_origin, e.ledger_seq)
       FROM battledger.battery_event e WHERE e.battery_id = public.bid('T') AND e.event = 'placed_on_market';" >/dev/null
check F5b-tie-with-the-holder-leaves-the-cache \
  "SELECT battery_state(bid('T'))::text = state_whole('T') AND (battery_state(bid('T'))).status = 'original'
      AND NOT EXISTS (SELECT 1 FROM battledger.passport_holder_moved m WHERE m.battery_id = bid('T'))" \
  "SELECT battery_state(bid('T'))::text, state_whole('T')"
# one a microsecond before it, from a lower origin, takes the id: T's cache is void
rep "SELECT public.arr('T0', 'placed_on_market', NULL, 'P-T', e.ledger_at - interval '1 microsecond', 'a.test/log', 1)
       FROM battledger.battery_event e WHERE e.battery_id = public.bid('T') AND e.event = 'placed_on_market';" >/dev/null
check F5c-row-just-before-the-holder-voids-the-cache \
  "SELECT battery_state(bid('T'))::text = state_whole('T') AND (battery_state(bid('T'))).status IS NULL
      AND EXISTS (SELECT 1 FROM battledger.passport_holder_moved m WHERE m.battery_id = bid('T'))" \
  "SELECT battery_state(bid('T'))::text, state_whole('T')"
# concurrent writers: a local writer issues P-C2 (C2 placed on the market)
# and keeps its transaction open; meanwhile another member's row dated 2020
# naming P-C2 arrives, in a transaction that stays open 3 s.  Once the local
# writer has committed, a local write to C2 folds its issue into C2's cache
# (the arriving row not visible yet).  The arriving row must have waited for
# the id's turn and seen C2's issue, so that it records the move: else C2's
# cache holds, with the issue effective, where the whole fold has it taken.
arrive_check "DISABLE TRIGGER"
( q -c "SELECT ev('cells.test', jsonb_build_object('battery_id', bid('C2')::text, 'event', 'placed_on_market', 'passport_id', 'P-C2', 'occurred_at', '2024-03-01T00:00:00Z')), pg_sleep(2)" >/dev/null ) &
sleep 0.7
( rep_open "SELECT public.arr('Z', 'placed_on_market', NULL, 'P-C2', timestamptz '2020-01-01', 'evil6.test/log', 1)" 3 ) &
sleep 2
q -c "SELECT ev('cells.test', jsonb_build_object('battery_id', bid('C2')::text, 'event', 'status_changed', 'new_status', 'remanufactured', 'passport_id', 'P2-C2', 'occurred_at', '2024-03-01T00:00:00Z'))" >/dev/null
check F5d-local-write-meanwhile-stored-its-cache \
  "SELECT count(*) = 1 FROM battledger.battery_fold_cache c WHERE c.battery_id = bid('C2') AND (c.st).status = 'original'"
wait
check F5d-arriving-row-waits-for-the-turn-and-voids-the-cache \
  "SELECT battery_state(bid('C2'))::text = state_whole('C2') AND (battery_state(bid('C2'))).status IS NULL" \
  "SELECT battery_state(bid('C2'))::text, state_whole('C2')"
# the other order: the arriving row first (its transaction open), a local
# write to C folds and stores C's cache meanwhile (the move not visible yet)
( rep_open "SELECT public.arr('Z', 'placed_on_market', NULL, 'P-C', timestamptz '2020-01-01', 'evil7.test/log', 1)" 2 ) &
sleep 0.7
q -c "SELECT ev('cells.test', jsonb_build_object('battery_id', bid('C')::text, 'event', 'status_changed', 'new_status', 'remanufactured', 'passport_id', 'P2-C', 'occurred_at', '2024-03-01T00:00:00Z'))" >/dev/null
check F5e-local-write-meanwhile-stored-its-cache \
  "SELECT count(*) = 1 FROM battledger.battery_fold_cache c WHERE c.battery_id = bid('C') AND (c.st).status = 'original'"
wait
check F5e-cache-folded-before-a-concurrent-move-is-void \
  "SELECT battery_state(bid('C'))::text = state_whole('C') AND (battery_state(bid('C'))).status IS NULL" \
  "SELECT battery_state(bid('C'))::text, state_whole('C')"
arrive_check "ENABLE REPLICA TRIGGER"

# --- F5/F6: the cost of a cache check as a battery grows (two batches of 600)
for b in W W0; do
  pp=$([ $b = W ] && echo "'FRESH-' || i" || echo NULL)
  t1=$(ms "SELECT count(public.arr('$b', 'status_changed', 'remanufactured', $pp, now() + i * interval '1 min', 'grow$b.test/log', i)) FROM generate_series(1, 600) i;")
  t2=$(ms "SELECT count(public.arr('$b', 'status_changed', 'remanufactured', $pp, now() + i * interval '1 min', 'grow$b.test/log', i)) FROM generate_series(601, 1200) i;")
  case=$([ $b = W ] && echo F5-rows-issuing-new-passports-cost-linear || echo F6-rows-of-a-growing-battery-cost-linear)
  echo "# battery $b: rows 1-600 $t1 ms, rows 601-1200 $t2 ms"
  if [ "$t2" -le $((2 * t1 + 200)) ]; then ok $case; else fail $case "rows 601-1200 $t2 ms against rows 1-600 $t1 ms"; fi
  check ${case%%-*}-state-is-whole-fold "SELECT battery_state(bid('$b'))::text = state_whole('$b')"
done

# --- F3: new members and keys interleaved with arriving rows
q -c "SELECT battery_state(bid('K'))" >/dev/null
w0=$(q -c "SELECT whole('K')")
n=0
for i in $(seq 1 100); do
  q -c "SELECT add_member('kx$i.test', ARRAY['oem']), add_key('kx$i.test', public_key(seed('kx$i.test')))" >/dev/null
  rep "SELECT public.arr('K', 'status_changed', 'in_use', NULL, now() + $i * interval '1 min', 'evil5.test/log', $i);" >/dev/null
  w=$(q -c "SELECT whole('K')"); [ "$w" != "$w0" ] && { n=$((n + 1)); w0=$w; }
done
echo "# 100 rows each after a new member and key: $n whole folds"
if [ "$n" -le 30 ]; then ok F3-key-changes-bounded-whole-folds; else fail F3-key-changes-bounded-whole-folds "$n whole folds"; fi
check F3-state-is-whole-fold "SELECT battery_state(bid('K'))::text = state_whole('K')"

# --- F7: an honest key change, then one arriving row
rep "SELECT count(public.arr('G', 'status_changed', 'in_use', NULL, now() + i * interval '1 min', 'growG.test/log', i)) FROM generate_series(1, 38) i;" >/dev/null
q -c "SELECT add_member('g1.test', ARRAY['oem']), add_key('g1.test', public_key(seed('g1.test')))" >/dev/null
rep "SELECT public.arr('G', 'status_changed', 'in_use', NULL, now() + interval '1 hour', 'growG.test/log', 39);" >/dev/null
q -c "SELECT add_member('g2.test', ARRAY['oem']), add_key('g2.test', public_key(seed('g2.test')))" >/dev/null
rep "SELECT public.arr('G', 'status_changed', 'in_use', NULL, now() + interval '2 hour', 'growG.test/log', 40);" >/dev/null
check F7-honest-key-change-then-a-row-cache-holds \
  "SELECT c.n = (SELECT count(*) FROM battledger.battery_event e WHERE e.battery_id = bid('G') AND battledger._is_lifecycle(e.event))
          AND c.generation = battledger._fold_generation() FROM battledger.battery_fold_cache c WHERE c.battery_id = bid('G')" \
  "SELECT n, whole_n FROM battledger.battery_fold_cache WHERE battery_id = bid('G')"

# --- F4: privileges, and the update from 0.9.0
q -c "CREATE ROLE r10_plain LOGIN" >/dev/null
check F4-plain-role-no-execute \
  "SELECT bool_and(NOT has_function_privilege('r10_plain', p.oid, 'EXECUTE')) AND count(*) = 4 FROM pg_proc p
    WHERE p.pronamespace = 'battledger'::regnamespace
      AND p.proname IN ('_battery_fold_cached', '_battery_state_cached', '_battery_fold_arrived', '_battery_rules')"
createdb upd
DB=upd q -c "CREATE EXTENSION battledger VERSION '0.9.0'" -c "ALTER EXTENSION battledger UPDATE" >/dev/null
shape="SELECT x FROM (
  SELECT p.oid::regprocedure::text || md5(p.prosrc) || coalesce(array_to_string(p.proconfig, ','), '') || p.prosecdef::text
         || coalesce(array_to_string(p.proacl, ','), '') AS x
    FROM pg_proc p WHERE p.pronamespace = 'battledger'::regnamespace AND p.proname ~ 'fold|battery_state|holder|verdict'
  UNION ALL SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
   WHERE i.indrelid IN ('battledger.battery_event'::regclass, 'battledger.passport_holder_moved'::regclass)
  UNION ALL SELECT t.tgname || ':' || t.tgenabled::text || ':' || pg_get_triggerdef(t.oid) FROM pg_trigger t
   WHERE t.tgrelid = 'battledger.battery_event'::regclass AND NOT t.tgisinternal
  UNION ALL SELECT c.relname || ':' || c.relpersistence::text FROM pg_class c
   WHERE c.relname IN ('battery_fold_cache', 'passport_holder_moved') AND c.relnamespace = 'battledger'::regnamespace
  UNION ALL SELECT a.attname || ':' || format_type(a.atttypid, a.atttypmod) || a.attnotnull::text FROM pg_attribute a
   WHERE a.attrelid IN ('battledger.battery_fold_cache'::regclass, 'battledger.passport_holder_moved'::regclass)
     AND a.attnum > 0 AND NOT a.attisdropped) s ORDER BY 1"
createdb ins
DB=ins q -c "CREATE EXTENSION battledger" >/dev/null
a=$(DB=ins q -c "$shape"); b=$(DB=upd q -c "$shape" 2>&1)
if [ "$a" = "$b" ]; then ok F4-update-from-0.9.0-same-as-install; else fail F4-update-from-0.9.0-same-as-install "$(diff <(echo "$a") <(echo "$b") | head -6 | cut -c1-200)"; fi
DB=upd check F4-update-no-one-argument-versions "SELECT NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname IN ('_battery_fold_cached', '_battery_state_cached') AND pronargs = 1)"

# --- L: the log's blocks
createdb lg
DB=lg
q -c "CREATE EXTENSION battledger" -c "CREATE TABLE public.r (k text, v int)" -c "SELECT battledger.enable_ledger('public.r', 'k')" >/dev/null
SIZES="15 16 17 255 256 257 4095 4096 4097 65535 65536 65537"
have=0
for s in $SIZES; do
  q -c "INSERT INTO public.r SELECT 'k' || (i % 7), i FROM generate_series($have + 1, $s) i" -c "SELECT battledger.seal() IS NOT NULL" >/dev/null
  have=$s
done
check L0-checkpoints-at-every-size "SELECT count(*) = 12 FROM battledger.checkpoint WHERE tree_size IN (${SIZES// /,})"
reqs=(); prev=
for s in $SIZES; do
  reqs+=("root:$s")
  for i in 0 1 14 15 16 17 254 255 256 4095 4096 $((s / 2)) $((s - 2)) $((s - 1)); do
    [ "$i" -ge 0 ] && [ "$i" -lt "$s" ] && reqs+=("incl:$i:$s")
  done
  [ -n "$prev" ] && reqs+=("cons:$prev:$s") && reqs+=("cons:15:$s") && reqs+=("cons:4096:$s")
  prev=$s
done
reqs=($(printf '%s\n' "${reqs[@]}" | awk -F: '!($1 == "cons" && $2 >= $3) && !seen[$0]++'))
q -c "SELECT encode(leaf_hash::bytea, 'hex') FROM battledger.log_leaf ORDER BY leaf_index" 2>/dev/null > "$BL_WORK/leaves" \
  || q -c "SELECT leaf_hash::text FROM battledger.log_leaf ORDER BY leaf_index" > "$BL_WORK/leaves"
python3 "$BL_ROOT/test/redteam/rfc9162.py" "${reqs[@]}" < "$BL_WORK/leaves" | sort > "$BL_WORK/expect"
ours() {
  for r in "${reqs[@]}"; do
    IFS=: read -r k a b <<<"$r"
    case $k in
      root) echo "SELECT '$r ' || battledger.tree_root($a)::text;" ;;
      incl) echo "SELECT '$r ' || coalesce(array_to_string(battledger.inclusion_proof($a, $b)::text[], ','), '');" ;;
      cons) echo "SELECT '$r ' || coalesce(array_to_string(battledger.consistency_proof($a, $b)::text[], ','), '');" ;;
    esac
  done | q 2>&1 | sed 's/ $//' | sort
}
ours > "$BL_WORK/got1"
sed -i 's/ $//' "$BL_WORK/expect"
nd=$(diff "$BL_WORK/expect" "$BL_WORK/got1" | grep -c '^>')
if [ "$nd" = 0 ] && [ -s "$BL_WORK/got1" ]; then ok "L1-proofs-equal-rfc9162 (${#reqs[@]} roots and proofs)"
else fail L1-proofs-equal-rfc9162 "$nd of ${#reqs[@]} differ: $(diff "$BL_WORK/expect" "$BL_WORK/got1" | head -3 | cut -c1-200)"; fi
check L1-verify-log-clean "SELECT count(*) = 0 FROM battledger.verify_log()" "SELECT * FROM battledger.verify_log()"

# L2: odd rows written by a superuser (log_block only refuses UPDATE/DELETE)
h16="decode(repeat(repeat('ab', 32), 16), 'hex')"
q <<SQL >/dev/null
INSERT INTO battledger.log_block VALUES
  (4, 0, 0, ''::bytea),
  (4, 1, 17, decode(repeat(repeat('cd', 32), 17), 'hex')),
  (4, 2, 100, $h16),
  (4, -1, 16, $h16),
  (5, 0, 16, $h16),
  (2147483647, 0, 16, $h16),
  (8, 0, 20, decode(repeat('ef', 31), 'hex'));
SQL
ours > "$BL_WORK/got2"
bad=$(diff "$BL_WORK/expect" "$BL_WORK/got2" | grep '^>' | cut -d' ' -f2 | cut -d: -f1-3 | tr '\n' ' ')
# block (4, 2) width 100 holds 16 forged hashes (level-4 nodes 32..47, leaves 512..767):
# proofs of those leaves read them and must fail to verify against the signed root
forged_ok=$(q -c "SELECT count(*) FILTER (WHERE battledger.verify_inclusion(battledger.leaf(i), i, 65537, battledger.inclusion_proof(i, 65537),
                                           (SELECT root FROM battledger.checkpoint WHERE tree_size = 65537)))
                  FROM generate_series(512, 767, 5) i" 2>&1)
other=$(diff "$BL_WORK/expect" "$BL_WORK/got2" | grep '^>' | grep -v -E '^> incl:(5[1-9][0-9]|6[0-9][0-9]|7[0-6][0-9]):' | grep -c .)
if [ "$other" = 0 ] && [ "$forged_ok" = 0 ]; then ok "L2-odd-block-rows-no-proof-wrong-and-verified (proofs through the forged block (4, 2): none verifies)"
else fail L2-odd-block-rows-no-proof-wrong-and-verified "other differences $other; forged proofs verified: $forged_ok; $(diff "$BL_WORK/expect" "$BL_WORK/got2" | grep '^>' | head -3 | cut -c1-160)"; fi
check L2-verify-log-names-each-extra-or-mismatch \
  "SELECT count(*) FILTER (WHERE problem = 'extra_block') >= 6 AND count(*) FILTER (WHERE problem IN ('extra_block', 'block_mismatch')) >= 7 FROM battledger.verify_log()" \
  "SELECT problem, detail FROM battledger.verify_log()"
got=$(q -c "INSERT INTO public.r SELECT 'k' || (i % 7), i FROM generate_series(65538, 65600) i" \
        -c "SET client_min_messages = error" -c "\\set VERBOSITY verbose" -c "SELECT battledger.seal() IS NOT NULL" 2>&1)
if [ "$got" = t ] || grep -Eq 'ERROR:  (XX001|22|23|42)' <<<"$got"; then ok "L2-seal-after-odd-rows-goes-on-or-refuses-with-sqlstate ($(head -c 120 <<<"$got"))"
else fail L2-seal-after-odd-rows-goes-on-or-refuses-with-sqlstate "$got"; fi
check L2-server-alive "SELECT true"
# every proof of the new tree still verifies (where not read through the forged rows)
check L2-proofs-of-the-new-size-verify \
  "SELECT bool_and(battledger.verify_inclusion(battledger.leaf(i), i, s, battledger.inclusion_proof(i, s), (SELECT root FROM battledger.checkpoint WHERE tree_size = s)))
     FROM (SELECT max(tree_size) s FROM battledger.checkpoint) m, generate_series(0, 65599, 997) i WHERE NOT i BETWEEN 512 AND 767"

# --- L3: NULL hashes behind the guards
q <<'SQL' >/dev/null
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.log_block ALTER COLUMN hashes DROP NOT NULL;
ALTER TABLE battledger.log_tile ALTER COLUMN hashes DROP NOT NULL;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
INSERT INTO battledger.log_block VALUES (4, 3, 17, NULL), (12, 0, 3, NULL);
INSERT INTO battledger.log_tile VALUES (1, 0, 200, NULL);
SQL
got=$(q -c "\\set VERBOSITY verbose" -c "SELECT count(*) FILTER (WHERE detail ~ '(Tile \\(level 1, index 0, width 200|Block \\(level 4, index 3, width 17|Block \\(level 12, index 0, width 3)\\)') FROM battledger.verify_log()" 2>&1)
if [ "$got" = 3 ]; then ok L3-verify-log-names-null-hash-rows; else fail L3-verify-log-names-null-hash-rows "$got"; fi
ours > "$BL_WORK/got3"
other=$(diff "$BL_WORK/expect" "$BL_WORK/got3" | grep '^>' | grep -v -E '^> incl:(5[1-9][0-9]|6[0-9][0-9]|7[0-6][0-9]):' | grep -c .)
if [ "$other" = 0 ]; then ok L3-proofs-equal-rfc9162-past-null-rows; else fail L3-proofs-equal-rfc9162-past-null-rows "$other differ"; fi
check L3-server-alive "SELECT true"

echo "FAILS=$FAILS"
exit $FAILS
