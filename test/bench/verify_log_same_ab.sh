#!/usr/bin/env bash
# test/bench/verify_log_same_ab.sh — verify_log(false) and verify_log(true)
# of two builds must report the same problems, byte for byte, on the same
# log tampered step by step (0.13.0: the leaf arrays' memory is sized from
# log_leaf's row estimate, while which leaves count as strays must not
# change).  A ledger table of BENCH_ROWS rows (default 30,000: past the
# arrays' first 1,024 entries and several doublings) in 3 chains is sealed
# and ANALYZEd, with a second ledger table public.u (10 rows written after
# each 1,000 of t, so that the two tables' leaves interleave in log_leaf:
# 0.14.0 gathers each table's leaves in one reading of log_leaf), then
# two small ledger tables ab.c and a.bc sealed last, then fourteen
# cumulative cases, each checked with both builds (the cluster restarted
# with each):
#   clean; ten rows queued, not sealed; two rows' content changed; a leaf
#   duplicated at a far index (a stray); a leaf deleted in the middle
#   (missing leaves); a leaf at a negative index; a leaf's leaf_hash
#   changed; a row deleted; a row copied under another chain key; log_leaf
#   rewritten in reverse order; the queue emptied; a row of u changed; u
#   renamed (its leaves name a table that is gone, the new name has none);
#   ab.c and a.bc renamed to "a.b".c and a."b.c", their leaves to "a.b.c"
#   (two tables spelling one leaf name, each checked against all its leaves).
#
#   OLD_PG_BIN   bin directory of a PostgreSQL copy with the old battledger installed
#   PG_BIN, PG_CONFIG   the new build's (installed)
#   BENCH_PORT (55450), BENCH_ROWS (30000)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"

: "${OLD_PG_BIN:?set OLD_PG_BIN to the bin directory of the old build}"
PORT=${BENCH_PORT:-55450}
ROWS=${BENCH_ROWS:-30000}
NEW_PG_BIN=$PG_BIN

bl_scratch
bl_start_cluster vlsame "$PORT" "$(bl_test_log_conf vlsame.example/log)"
DATA=$BL_WORK/vlsame
export PGHOST=$BL_WORK PGPORT=$PORT
p() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
restart_with() {            # restart_with BINDIR
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  PG_BIN=$1
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$DATA.log" -w start >/dev/null
}
# tamper SQL: run as a superuser with the guards off
tamper() {
  p <<SQL
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.log_leaf DISABLE TRIGGER battledger_append_only;
ALTER TABLE public.t DISABLE TRIGGER ALL;
$1
ALTER TABLE public.t ENABLE TRIGGER ALL;
ALTER TABLE battledger.log_leaf ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
}

say "a ledger table of $ROWS rows in 3 chains, sealed"
p -v rows="$ROWS" <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE public.t (battery text, v int, note text);
SELECT battledger.enable_ledger('public.t', 'battery');
CREATE TABLE public.u (battery text, w int);
SELECT battledger.enable_ledger('public.u', 'battery');
SELECT set_config('bench.rows', :'rows', false) IS NOT NULL;
DO $$
BEGIN
  FOR c IN 0 .. (current_setting('bench.rows')::int - 1) / 1000 LOOP
    INSERT INTO public.t SELECT 'B' || (i % 3), i, repeat('x', i % 40)
      FROM generate_series(c * 1000 + 1, least((c + 1) * 1000, current_setting('bench.rows')::int)) i;
    INSERT INTO public.u SELECT 'U' || (i % 2), i FROM generate_series(c * 10 + 1, c * 10 + 10) i;
  END LOOP;
END $$;
CREATE SCHEMA ab;
CREATE SCHEMA a;
CREATE TABLE ab.c (k text, v int);
CREATE TABLE a.bc (k text, v int);
SELECT battledger.enable_ledger('ab.c', 'k');
SELECT battledger.enable_ledger('a.bc', 'k');
INSERT INTO ab.c SELECT 'K' || (i % 2), i FROM generate_series(1, 50) i;
INSERT INTO a.bc SELECT 'K' || (i % 2), i FROM generate_series(1001, 1030) i;
INSERT INTO ab.c SELECT 'K' || (i % 2), i FROM generate_series(51, 60) i;
SELECT battledger.seal() IS NOT NULL;
ANALYZE public.t;
ANALYZE public.u;
ANALYZE battledger.log_leaf;
SQL

FAILS=0
CASES=0
compare() {                 # compare NAME
  local name=$1 f
  CASES=$((CASES + 1))
  for f in old new; do
    [ $f = old ] && restart_with "$OLD_PG_BIN" || restart_with "$NEW_PG_BIN"
    p -At -c "SELECT 'false', * FROM battledger.verify_log(false)" \
          -c "SELECT 'true', * FROM battledger.verify_log(true)" > "$BL_WORK/$CASES.$f" 2>&1 || true
  done
  if diff -u "$BL_WORK/$CASES.old" "$BL_WORK/$CASES.new"; then
    echo "ok $CASES $name: $(wc -l < "$BL_WORK/$CASES.new") lines, the same"
  else
    echo "FAIL $CASES $name: the two builds differ"
    FAILS=$((FAILS + 1))
  fi
}

compare clean
p -c "INSERT INTO public.t SELECT 'B' || (i % 3), i, 'queued' FROM generate_series(1, 10) i" >/dev/null
compare ten-queued
tamper "UPDATE public.t SET v = -v WHERE battery = 'B1' AND ledger_seq IN (5, 7000);"
compare two-rows-changed
tamper "INSERT INTO battledger.log_leaf SELECT 10000000 + leaf_index, tbl, seq, prev, row_hash, leaf_hash
          FROM battledger.log_leaf WHERE leaf_index = 100;"
compare far-duplicate-leaf
tamper "DELETE FROM battledger.log_leaf WHERE leaf_index = 15000;"
compare leaf-deleted
tamper "UPDATE battledger.log_leaf SET leaf_index = -3 WHERE leaf_index = 20000;"
compare negative-leaf-index
tamper "UPDATE battledger.log_leaf SET leaf_hash = repeat('0', 64)::battledger.hash256 WHERE leaf_index = 2500;"
compare leaf-hash-changed
tamper "DELETE FROM public.t WHERE battery = 'B2' AND ledger_seq = 9000;"
compare row-deleted
tamper "INSERT INTO public.t SELECT 'B9', v, note, ledger_seq, ledger_prev, ledger_hash, ledger_origin
          FROM public.t WHERE battery = 'B0' AND ledger_seq = 123;"
compare row-copied-other-key
tamper "CREATE TEMP TABLE l AS SELECT * FROM battledger.log_leaf;
        DELETE FROM battledger.log_leaf;
        INSERT INTO battledger.log_leaf SELECT * FROM l ORDER BY leaf_index DESC;"
compare leaves-reversed
tamper "DELETE FROM battledger.log_pending;"
compare queue-emptied
tamper "ALTER TABLE public.u DISABLE TRIGGER ALL;
        UPDATE public.u SET w = -w WHERE battery = 'U1' AND ledger_seq = 40;
        ALTER TABLE public.u ENABLE TRIGGER ALL;"
compare other-table-row-changed
tamper "ALTER TABLE public.u RENAME TO u2;"
compare other-table-renamed
tamper "UPDATE battledger.log_leaf SET tbl = 'a.b.c' WHERE tbl IN ('ab.c', 'a.bc');
        ALTER SCHEMA ab RENAME TO \"a.b\";
        ALTER TABLE a.bc RENAME TO \"b.c\";"
compare one-leaf-name-two-tables

say "$CASES cases, $FAILS differing"
exit "$FAILS"
