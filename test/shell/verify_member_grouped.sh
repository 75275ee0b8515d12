#!/usr/bin/env bash
# verify_member() matches each table's leaves and rows in one grouping since
# 0.25.0 (0.24.0 grouped them twice: once for leaf_without_row, once for
# row_not_in_log / row_leaf_mismatch).  Differential: at member b, which
# holds member a's rows of two ledger tables (public.t1, 6 chains by k;
# public.t2, one chain), with rows a's log never sealed and rows in flight,
# 0.24.0's verify_member() (vm_0240.verify_member, from the frozen upgrade
# script: test/lib/verify_member_0240.sh) and this one return the same rows
# in the same order, untouched and after each tampering of what b holds
# (superuser, triggers off, rolled back), each named in the case:
#   leaf_fake     a leaf naming a row hash no row has (leaf_without_row)
#   leaf_hash     a leaf at a row's place (seq 3) naming another row hash
#                 (row_leaf_mismatch and leaf_without_row)
#   leaf_prev     a leaf naming a row's hash under another prev (the row
#                 is not in the log: row_not_in_log; the leaf names a row
#                 received: no leaf_without_row)
#   leaf_gone     a row's leaf deleted (row_not_in_log, root_mismatch)
#   leaf_dup      a row's leaf stored twice under another leaf index
#   leaf_table    a leaf naming a table that is not a ledger table here
#   leaf_signed   leaves naming two registry tables that hold no row of a
#                 (signed: the backdating check reads a table's leaves only
#                 when a leaf names it): leaf_without_row for each
#   held          leaf_hash, its row held back by a quarantine (received)
#   held_prev     the same, the held row giving another prev
#   t2_unsealed   every leaf of t2 deleted (row_not_in_log for each row)
#   child         leaf_fake, its row in a table inheriting from t1 (the
#                 guard refuses one; a superuser with event triggers off
#                 can make it; as in 0.24.0, the row counts as received)
#   all           leaf_fake, leaf_table, leaf_prev, leaf_dup, t2_unsealed and
#                 held_prev at once, with a leaf's hash changed (t1 seq 5)
#                 and another deleted (t1 seq 7)
# Each case also checks that 0.24.0's function names what the case is
# about (so the comparison is not between two empty sets), and, once, that
# this verify_member() reads t1, t2 and peer_leaf fewer times than 0.24.0's
# (the check that fails where both are the same function).
# VERIFY_MEMBER_GROUPED_PORT (default 56024; uses 2 ports).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/verify_member_0240.sh"
P=${VERIFY_MEMBER_GROUPED_PORT:-56024}
fail=0
ok()   { echo "ok - $1"; }
bad()  { echo "FAIL - $1"; fail=$((fail + 1)); }
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([a]=$P [b]=$((P + 1)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log)
declare -A LOGV WITV
schema="CREATE EXTENSION battledger;
CREATE TABLE public.t1 (k int, v text);
SELECT battledger.enable_ledger('public.t1', 'k');
CREATE TABLE public.t2 (v text);
SELECT battledger.enable_ledger('public.t2');
SELECT battledger.publish_member();"
for m in a b; do
  bl_member_start $m "$W" "" "$BL_QUICK_RETRY"
  bl_mq $m >/dev/null <<<"$schema"
  bl_member_keys $m
done
part() {  # rows $1 .. $2 of t1 (and every third of t2) at a
  bl_mq a -c "INSERT INTO public.t1 SELECT i % 6, md5(i::text) FROM generate_series($1, $2) i" \
          -c "INSERT INTO public.t2 SELECT md5(i::text) FROM generate_series($1, $2) i WHERE i % 3 = 0" >/dev/null
}
seal() { bl_mq a -c "SELECT battledger.seal()" >/dev/null; }
part 1 60; seal
bl_join b a
bl_wait_for b "SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate <> 'r'" 300 || exit 1
part 61 120; seal
# rows a's log never seals (their queue entries deleted), two per table
bl_mq a -c "BEGIN" -c "INSERT INTO public.t1 VALUES (1, 'lost1'), (4, 'lost2')" -c "INSERT INTO public.t2 VALUES ('lost3'), ('lost4')" \
        -c "DELETE FROM battledger.log_pending" -c "COMMIT" >/dev/null
part 121 180; seal
part 181 240; seal
part 241 250   # in flight
# at b: every row (252 of t1, 85 of t2), a's latest checkpoint witnessed
bl_wait_for b "SELECT (SELECT count(*) FROM public.t1) = 252 AND (SELECT count(*) FROM public.t2) = 85" 300 || exit 1
size=$(bl_mq a -c "SELECT max(tree_size) FROM battledger.checkpoint")
bl_wait_for b "SELECT coalesce(max(tree_size), 0) = $size FROM battledger.peer_checkpoint WHERE origin = 'a.example/log' AND frontier IS NOT NULL" 300 || exit 1
vm_0240_sql | bl_mq b >/dev/null || { bad "0.24.0's verify_member() installed at b"; exit 1; }

L="battledger.peer_leaf"
A="origin = 'a.example/log'"
NEXT="(SELECT max(x.leaf_index) + 1 FROM $L x WHERE x.$A)"
FAKE="repeat('ab', 32)::battledger.hash256"
# a leaf of t1 at (chain 2, seq 3): its row's hash
AT3="tbl = 'public.t1' AND seq = 3 AND row_hash::text = (SELECT ledger_hash::text FROM public.t1 WHERE $A AND k = 2 AND ledger_seq = 3)"
declare -A T
T[leaf_fake]="INSERT INTO $L SELECT origin, $NEXT, tbl, seq, prev, $FAKE, leaf_hash FROM $L WHERE $A AND $AT3;"
T[leaf_hash]="UPDATE $L SET row_hash = $FAKE WHERE $A AND $AT3;"
T[leaf_prev]="UPDATE $L SET prev = repeat('cd', 32)::battledger.hash256 WHERE $A AND $AT3;"
T[leaf_gone]="DELETE FROM $L WHERE $A AND $AT3;"
T[leaf_dup]="INSERT INTO $L SELECT origin, $NEXT, tbl, seq, prev, row_hash, leaf_hash FROM $L WHERE $A AND $AT3;"
T[leaf_table]="INSERT INTO $L SELECT origin, $NEXT, 'public.nope', seq, prev, row_hash, leaf_hash FROM $L WHERE $A AND $AT3;"
T[leaf_signed]="INSERT INTO $L SELECT origin, $NEXT, 'battledger.battery_event', seq, prev, row_hash, leaf_hash FROM $L WHERE $A AND $AT3;
INSERT INTO $L SELECT origin, $NEXT, 'battledger.id_namespace', seq, prev, row_hash, leaf_hash FROM $L WHERE $A AND $AT3;"
HELD="INSERT INTO battledger.held_row (origin, tbl, chain_key, seq, row_data)
        SELECT 'a.example/log', 'public.t1', '2', 3, to_jsonb(r) || jsonb_build_object('ledger_hash', repeat('ab', 32)%s)
          FROM public.t1 r WHERE r.ledger_$A AND r.k = 2 AND r.ledger_seq = 3;"
T[held]="${T[leaf_hash]} $(printf "$HELD" "")"
T[held_prev]="${T[leaf_hash]} $(printf "$HELD" ", 'ledger_prev', repeat('ef', 32)")"
T[t2_unsealed]="DELETE FROM $L WHERE $A AND tbl = 'public.t2';"
T[child]="${T[leaf_fake]}
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
CREATE TABLE public.t1_child () INHERITS (public.t1);
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
INSERT INTO public.t1_child SELECT r.* FROM ONLY public.t1 r WHERE r.ledger_$A AND r.k = 2 AND r.ledger_seq = 3;
UPDATE public.t1_child SET ledger_hash = $FAKE;"
T[all]="${T[leaf_fake]} ${T[leaf_table]} ${T[leaf_prev]} ${T[leaf_dup]} ${T[t2_unsealed]}
UPDATE $L SET row_hash = $FAKE WHERE $A AND tbl = 'public.t1' AND seq = 5 AND leaf_index = (SELECT min(leaf_index) FROM $L WHERE $A AND tbl = 'public.t1' AND seq = 5);
DELETE FROM $L WHERE $A AND tbl = 'public.t1' AND seq = 7 AND leaf_index = (SELECT min(leaf_index) FROM $L WHERE $A AND tbl = 'public.t1' AND seq = 7);
$(printf "$HELD" ", 'ledger_prev', repeat('ef', 32)")"
# what 0.24.0's function must name in each case (a regular expression
# over its "problem:count" list), beside the untouched database's
declare -A WANT=(
  [none]='row_not_in_log:4' [leaf_fake]='leaf_without_row:1' [leaf_hash]='row_leaf_mismatch:1.*leaf_without_row:1|leaf_without_row:1.*row_leaf_mismatch:1'
  [leaf_prev]='row_not_in_log:5' [leaf_gone]='row_not_in_log:5' [leaf_dup]='^row_not_in_log:4$' [leaf_table]='unknown_table:1' [leaf_signed]='^leaf_without_row:2,row_not_in_log:4$'
  [held]='held_back:1' [held_prev]='held_back:1' [t2_unsealed]='row_not_in_log:[0-9][0-9]' [child]='^row_not_in_log:4$'
  [all]='^held_back:1,leaf_without_row:1,root_mismatch:1,row_leaf_mismatch:2,row_not_in_log:65,unknown_table:1$')
declare -A NOTW=([held]='leaf_without_row' [held_prev]='leaf_without_row' [leaf_prev]='leaf_without_row|row_leaf_mismatch' [child]='leaf_without_row')
compare() {  # case name, tampering SQL
  local out
  out=$(bl_mq b 2>&1 <<SQL
BEGIN;
ALTER TABLE battledger.peer_leaf DISABLE TRIGGER ALL;
$2
SELECT coalesce(string_agg(problem || ':' || n, ',' ORDER BY problem), 'none')
  FROM (SELECT problem, count(*) AS n FROM vm_0240.verify_member('a.example/log') GROUP BY 1) p;
SELECT (SELECT coalesce(array_agg(ROW(x.tbl, x.problem, x.detail)::text ORDER BY x.i), '{}') FROM vm_0240.verify_member('a.example/log') WITH ORDINALITY x(tbl, problem, detail, i))
     = (SELECT coalesce(array_agg(ROW(x.tbl, x.problem, x.detail)::text ORDER BY x.i), '{}') FROM battledger.verify_member('a.example/log') WITH ORDINALITY x(tbl, problem, detail, i));
ROLLBACK;
SQL
)
  local old=${out%$'\n'*} same=${out##*$'\n'}
  echo "#   $1: 0.24.0 names $old"
  if [[ "$old" =~ ${WANT[$1]} ]] && { [ -z "${NOTW[$1]:-}" ] || ! [[ "$old" =~ ${NOTW[$1]} ]]; }; then
    ok "$1: the case is what it says (0.24.0's problems)"
  else bad "$1: the case is what it says (0.24.0's problems: $old)"; fi
  if [ "$same" = t ]; then ok "$1: same rows in the same order as 0.24.0's"
  else bad "$1: same rows in the same order as 0.24.0's"
       bl_mq b -c "BEGIN" -c "ALTER TABLE battledger.peer_leaf DISABLE TRIGGER ALL" -c "$2" \
         -c "SELECT 'old', * FROM vm_0240.verify_member('a.example/log')" -c "SELECT 'new', * FROM battledger.verify_member('a.example/log')" -c "ROLLBACK" 2>&1 | sed 's/^/#     /'
  fi
}
compare none ""
for c in leaf_fake leaf_hash leaf_prev leaf_gone leaf_dup leaf_table leaf_signed held held_prev t2_unsealed child all; do
  compare "$c" "${T[$c]}"
done
# reads: one grouping per table, so each table and peer_leaf is read fewer
# times by this verify_member() than by 0.24.0's, in one transaction each
reads() {  # function; prints t1 t2 peer_leaf scans (sequential + index)
  bl_mq b <<SQL | tail -1
BEGIN;
CREATE TEMP TABLE s0 AS SELECT relid, seq_scan + coalesce(idx_scan, 0) AS n FROM pg_stat_xact_user_tables;
SELECT count(*) FROM $1('a.example/log');
SELECT string_agg((x.seq_scan + coalesce(x.idx_scan, 0) - s0.n)::text, ' ' ORDER BY x.relid::regclass::text)
  FROM pg_stat_xact_user_tables x JOIN s0 USING (relid)
 WHERE x.relid IN ('public.t1'::regclass, 'public.t2'::regclass, 'battledger.peer_leaf'::regclass);
ROLLBACK;
SQL
}
r_old=$(reads vm_0240.verify_member); r_new=$(reads battledger.verify_member)
echo "#   reads of peer_leaf, t1, t2: 0.24.0 $r_old, this $r_new"
read -r o_l o_1 o_2 <<<"$r_old"; read -r n_l n_1 n_2 <<<"$r_new"
if [ -n "$n_2" ] && [ "$n_1" -lt "$o_1" ] && [ "$n_2" -lt "$o_2" ] && [ "$n_l" -lt "$o_l" ]; then
  ok "each table and the leaves read fewer times than by 0.24.0's verify_member()"
else bad "each table and the leaves read fewer times than by 0.24.0's verify_member() ($r_new against $r_old)"; fi
echo "# $fail FAILs"
exit "$fail"
