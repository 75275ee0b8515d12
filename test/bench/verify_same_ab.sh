#!/usr/bin/env bash
# test/bench/verify_same_ab.sh — verify() of two builds must report the same
# problems on the same tampered table, one large enough for several of
# verify()'s batches (262,144 index entries each; 600,000 rows by default
# make three), with tampering
# at the start of the table, in the middle and near batch boundaries of its
# chains: edited content, deleted rows, a replaced ledger_prev, rows written
# with the chain index's maintenance off (not_in_chain_index).  The
# pg_regress files use small tables, a single batch; this is the check that
# batching (issue 15's speed-ups) changes nothing.
#
#   OLD_PG_BIN   bin directory of a PostgreSQL copy with the old battledger installed
#   PG_BIN, PG_CONFIG   the new build's (installed)
#   BENCH_PORT (55449), BENCH_ROWS (600000)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"

: "${OLD_PG_BIN:?set OLD_PG_BIN to the bin directory of the old build}"
PORT=${BENCH_PORT:-55449}
ROWS=${BENCH_ROWS:-600000}
NEW_PG_BIN=$PG_BIN

bl_start_cluster same "$PORT" "$(bl_test_log_conf same.example/log)"
DATA=$BL_WORK/same
export PGHOST=$BL_WORK PGPORT=$PORT
p() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }

say "a ledger table of $ROWS rows in 7 chains, tampered as a superuser"
p -v rows="$ROWS" <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE t (battery text, v int, note text);
SELECT battledger.enable_ledger('t', 'battery');
INSERT INTO t SELECT 'B' || (i % 7), i, repeat('x', i % 50) FROM generate_series(1, :rows) i;
ANALYZE t;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE t DISABLE TRIGGER ALL;
UPDATE t SET v = -v WHERE battery = 'B0' AND ledger_seq IN (1, 9362, 9363, 28571);
UPDATE t SET v = -v WHERE battery = 'B2' AND ledger_seq IN (28571);
DELETE FROM t WHERE battery = 'B3' AND ledger_seq IN (100, 101, 28000);
DELETE FROM t WHERE battery = 'B4' AND ledger_seq = 1;
UPDATE t SET ledger_prev = ledger_hash WHERE battery = 'B6' AND ledger_seq = 20000;
UPDATE pg_index SET indisready = false WHERE indexrelid = 't_ledger_chain'::regclass;
INSERT INTO t SELECT battery, 999, note, ledger_seq, ledger_prev, ledger_hash, ledger_origin
  FROM t WHERE battery = 'B1' AND ledger_seq = 3;
INSERT INTO t SELECT battery, 7, 'dup', ledger_seq, ledger_prev, ledger_hash, ledger_origin
  FROM t WHERE battery = 'B5' AND ledger_seq = 9000;
UPDATE pg_index SET indisready = true WHERE indexrelid = 't_ledger_chain'::regclass;
ALTER TABLE t ENABLE TRIGGER ALL;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
SQL

run_with() {                # run_with BINDIR OUTFILE
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  PG_BIN=$1
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$DATA.log" -w start >/dev/null
  p -At -c "SELECT * FROM battledger.verify('t')" > "$2"
}
run_with "$OLD_PG_BIN" "$BL_WORK/old.out"
run_with "$NEW_PG_BIN" "$BL_WORK/new.out"
cat "$BL_WORK/new.out"
n=$(wc -l < "$BL_WORK/new.out")
[ "$n" -ge 12 ] || { echo "FAIL: only $n problems reported (12 tamperings made)" >&2; exit 1; }
if ! diff -u "$BL_WORK/old.out" "$BL_WORK/new.out"; then
  echo "FAIL: the two builds report different problems" >&2; exit 1
fi
say "OK: both builds report the same $n problems"
