#!/usr/bin/env bash
# Red team r13 (0.12.0 review): verify()'s fetch_batch_heap() (a batch's rows
# a heap block at a time under one share lock) against chain-index entries
# and heap line pointers a member's superuser shaped behind the guards.
# Each case prints "ok <case>" / "FAIL <case>: ..."; exit status: FAILs.
#   F1  rows deleted behind the guards, then VACUUM (INDEX_CLEANUP OFF): the
#       chain index keeps entries to LP_DEAD line pointers; verify() reports
#       missing_rows, never clean
#   F2  rows updated behind the guards (HOT: no indexed column changes) and
#       the page pruned so the root is an LP_REDIRECT: verify() follows the
#       HOT chain and reports hash_mismatch
#   F3  chain-index entries edited on disk (server stopped) to offset 0,
#       0xFFFF, 300 (past MaxHeapTuplesPerPage), past the last block's max
#       offset, and to the block just past the heap's end: reported
#       (missing_rows / duplicate_position ...), no crash, not clean
#   F4  600 entries to one HOT root (LP_REDIRECT), 300 to an LP_DEAD item:
#       duplicate_position and missing_rows, no crash
#   S1  seal()'s bulk log_leaf_row entries: every leaf found through the
#       hash index after seals of 1/257/30000 rows with a concurrent writer,
#       after an immediate stop during a 30000-row seal, after REINDEX
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
bl_start_cluster r13 57610 "$(bl_test_log_conf r13.test/redteam)"
DB=lg
q() { timeout 600 psql -X -q -At -v ON_ERROR_STOP=1 -d $DB "$@"; }
createdb lg
probs="SELECT problem, count(*) FROM battledger.verify('public.r') GROUP BY 1"
q -c "CREATE EXTENSION battledger" -c "CREATE TABLE public.r (k text, v int)" -c "SELECT battledger.enable_ledger('public.r', 'k')" \
  -c "INSERT INTO public.r SELECT 'k' || (i % 7), i FROM generate_series(1, 5000) i" >/dev/null
check F0-clean "SELECT count(*) = 0 FROM battledger.verify('public.r')" "$probs"
# --- P1: consortium_status()'s helpers: a plain role executes neither
# consortium_status() nor _lock_wait_reason(); pg_monitor gets health() only
q -c "CREATE ROLE r13_plain LOGIN" -c "CREATE ROLE r13_mon LOGIN IN ROLE pg_monitor" >/dev/null
check P1-plain-no-status "SELECT NOT has_function_privilege('r13_plain', 'battledger.consortium_status()', 'EXECUTE')
   AND NOT has_function_privilege('r13_plain', 'battledger._lock_wait_reason(oid)', 'EXECUTE')
   AND NOT has_function_privilege('r13_mon', 'battledger._lock_wait_reason(oid)', 'EXECUTE')"
got=$(psql -X -At -U r13_mon -d lg -c "SELECT count(*) FROM battledger.health()" 2>&1)
if [ "$got" = 1 ]; then ok P1-monitor-health; else fail P1-monitor-health "$got"; fi
guard() {
  q <<SQL
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE public.r DISABLE TRIGGER battledger_append_only;
SET LOCAL session_replication_role = replica;
$1
ALTER TABLE public.r ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
}
# --- F1: LP_DEAD items with index entries kept
guard "DELETE FROM public.r WHERE v IN (5, 6, 7, 2500);" >/dev/null || fail F1-setup "delete failed"
q -c "VACUUM (INDEX_CLEANUP OFF) public.r" >/dev/null
check F1-lp-dead-missing-rows "SELECT count(*) > 0 AND bool_or(problem = 'missing_rows') FROM battledger.verify('public.r')" "$probs"
# --- F2: HOT update, pruned to a redirect
guard "UPDATE public.r SET v = -v WHERE v IN (4998, 4999);" >/dev/null || fail F2-setup "update failed"
q -c "SELECT count(*) FROM public.r WHERE v < 0" >/dev/null
check F2-hot-update-hash-mismatch "SELECT count(*) FILTER (WHERE problem = 'hash_mismatch') >= 1 FROM battledger.verify('public.r')" "$probs"
q -c "CREATE EXTENSION IF NOT EXISTS pageinspect" >/dev/null 2>&1 && \
  echo "# line pointers of the last block: $(q -c "SELECT string_agg(lp_flags::text, '') FROM heap_page_items(get_raw_page('public.r', (pg_relation_size('public.r') / 8192 - 1)::int))" 2>&1 | tr -d '\n' | head -c 300)"
# --- F3: forged offsets / blocks
q -c "CHECKPOINT" >/dev/null
nblk=$(q -c "SELECT pg_relation_size('public.r') / 8192")
fi_=$BL_WORK/r13/$(q -c "SELECT pg_relation_filepath('public.r_ledger_chain')")
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/r13" -m fast -w stop >/dev/null
forge() {  # $1: "blk:off:count ..." entries, spread over the leaf items
python3 - "$fi_" "$1" <<'PY'
import sys, re, struct
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
def leaf_item(h):
    pg = h - h % 8192
    if pg == 0 or struct.unpack_from('<I', b, pg + 8192 - 8)[0] != 0:
        return False            # metapage or not a leaf (btpo_level)
    hikey = struct.unpack_from('<I', b, pg + 24)[0] & 0x7fff
    nxt = struct.unpack_from('<I', b, pg + 8192 - 12)[0]
    return not (nxt != 0 and h % 8192 == hikey)   # not the high key
hits = [m.start() - 8 for m in re.finditer(rb'\x07k[0-6]', bytes(b)) if m.start() >= 8 and (m.start() - 8) % 8192 >= 24 and leaf_item(m.start() - 8)]
def put(h, blk, off):
    b[h:h + 6] = struct.pack('<HHH', blk >> 16, blk & 0xffff, off)
k = 100
for spec in sys.argv[2].split():
    blk, off, cnt = map(int, spec.split(':'))
    for _ in range(cnt):
        put(hits[k], blk, off)
        k += 3
open(p, 'wb').write(b)
PY
}
forge "0:0:1 0:65535:1 0:300:1 $((nblk - 1)):290:1 $nblk:1:1 $((nblk + 1)):5:1 1:32768:1"
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/r13" -l "$BL_WORK/r13.log" -w start >/dev/null
q -c "\\set VERBOSITY verbose" -c "SELECT count(*) FROM battledger.verify('public.r')" 2>&1 | grep -i location | sed "s/^/# /"; echo "# nblk=$nblk rel of 16973: $(q -c "SELECT relname, relkind FROM pg_class WHERE pg_relation_filepath(oid) ~ '/16973$'")"
check F3-forged-offsets-reported "SELECT count(*) FILTER (WHERE problem = 'missing_rows') >= 1 FROM battledger.verify('public.r')" "$probs"
check F3-server-alive "SELECT true"
if grep -q "terminated by signal\|TRAP" "$BL_WORK/r13.log"; then fail F3-no-crash "$(grep 'terminated by signal\|TRAP' "$BL_WORK/r13.log" | head -2)"; else ok F3-no-crash; fi
echo "# problems after F3: $(q -c "$probs" 2>&1 | tr '\n' ' ')"
# --- F4: 600 entries (more than a page's line pointers) to one HOT root (an
# LP_REDIRECT of the last block), 300 to an LP_DEAD item
redir=$(q -c "SELECT min(lp) FROM heap_page_items(get_raw_page('public.r', $((nblk - 1)))) WHERE lp_flags = 2")
dead=$(q -c "SELECT min(lp) FROM heap_page_items(get_raw_page('public.r', 0)) WHERE lp_flags = 3")
echo "# redirect at ($((nblk - 1)),$redir), dead at (0,$dead)"
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/r13" -m fast -w stop >/dev/null
forge "$((nblk - 1)):${redir:-1}:600 0:${dead:-1}:300"
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/r13" -l "$BL_WORK/r13.log" -w start >/dev/null
check F4-repeated-hot-root-reported "SELECT count(*) FILTER (WHERE problem = 'duplicate_position') >= 1 AND count(*) FILTER (WHERE problem = 'missing_rows') >= 1 FROM battledger.verify('public.r')" "$probs"
check F4-server-alive "SELECT true"
if grep -q "terminated by signal\|TRAP" "$BL_WORK/r13.log"; then fail F4-no-crash "$(grep 'terminated by signal\|TRAP' "$BL_WORK/r13.log" | head -2)"; else ok F4-no-crash; fi
echo "# problems after F4: $(q -c "$probs" 2>&1 | tr '\n' ' ')"

# --- S1: seal()'s bulk hash entries: every leaf found through log_leaf_row
# after seals of 1, 257 and 30000 rows (a writer inserting during the last),
# after an immediate stop mid-seal, and after REINDEX
DB=sl
createdb sl
q -c "CREATE EXTENSION battledger" -c "CREATE TABLE public.s (k text, v int)" -c "SELECT battledger.enable_ledger('public.s', 'k')" >/dev/null
idxcheck="SET enable_seqscan = off; SET enable_bitmapscan = off;
  SELECT count(*) > 0 AND count(*) FILTER (WHERE battledger.leaf_index('public.s', row_hash) IS DISTINCT FROM leaf_index) = 0
    FROM battledger.log_leaf WHERE tbl = 'public.s'"
n=0
for sz in 1 257 30000; do
  q -c "INSERT INTO public.s SELECT 'k' || (i % 13), i FROM generate_series($n + 1, $n + $sz) i" >/dev/null; n=$((n + sz))
done
( for i in $(seq 1 40); do q -c "INSERT INTO public.s SELECT 'w' || (i % 3), i FROM generate_series(1, 50) i" >/dev/null 2>&1; done ) &
wpid=$!
q -c "SELECT battledger.seal() IS NOT NULL" >/dev/null
wait $wpid
q -c "SELECT battledger.seal() IS NOT NULL" >/dev/null
check S1-every-leaf-through-index "$idxcheck" "SELECT count(*) FROM battledger.log_leaf"
q -c "INSERT INTO public.s SELECT 'c' || (i % 5), i FROM generate_series(1, 30000) i" >/dev/null
( q -c "SELECT battledger.seal() IS NOT NULL" >/dev/null 2>&1 ) &
spid=$!
sleep 1.5
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/r13" -m immediate -w stop >/dev/null
wait $spid
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/r13" -l "$BL_WORK/r13.log" -w start >/dev/null
check S1-after-crash-every-leaf-through-index "$idxcheck"
q -c "SELECT battledger.seal() IS NOT NULL" >/dev/null
check S1-after-crash-and-seal "$idxcheck"
check S1-leaves-cover-rows "SELECT (SELECT count(*) FROM battledger.log_leaf WHERE tbl = 'public.s') = (SELECT count(*) FROM public.s)"
check S1-verify-log-clean "SELECT count(*) = 0 FROM battledger.verify_log()" "SELECT problem, count(*) FROM battledger.verify_log() GROUP BY 1"
q -c "REINDEX INDEX battledger.log_leaf_row" >/dev/null 2>&1
check S1-after-reindex "$idxcheck"
echo "FAILS=$FAILS"
exit $FAILS
