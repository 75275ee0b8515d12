#!/usr/bin/env bash
# test/bench/update_blocks.sh — how long ALTER EXTENSION battledger UPDATE
# from 0.8.0 to 0.9.0 takes on a log of BENCH_ROWS leaves (it computes the
# log's blocks of 16 nodes from log_leaf), and that it changes no proof.
#
# One cluster: 0.8.0's build (BENCH_OLD_PREFIX, a relocated PostgreSQL copy
# holding the release's binaries) writes and seals BENCH_ROWS rows; the
# cluster is restarted on this build (BENCH_NEW_PREFIX, same PostgreSQL
# major) and updated.  Prints the update's wall time, log_block's size, and
# checks that 500 inclusion and 500 consistency proofs and every
# checkpoint's root are byte-identical before and after, and that
# verify_log(false) finds nothing.  Exits non-zero otherwise.
#   BENCH_ROWS (1000000), BENCH_PORT (56990)
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/lib/cluster.sh
bl_scratch
OLD=${BENCH_OLD_PREFIX:?}; NEW=${BENCH_NEW_PREFIX:?}; N=${BENCH_ROWS:-1000000}; P=${BENCH_PORT:-56990}
export PG_BIN=$OLD/usr/lib/postgresql/15/bin PG_CONFIG=$OLD/usr/lib/postgresql/15/bin/pg_config
bl_start_cluster u $P "$(bl_test_log_conf bench.example/update)
shared_buffers = 512MB"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d postgres "$@"; }
q -c "CREATE EXTENSION battledger VERSION '0.8.0'" -c "CREATE TABLE t (battery text, v int)" \
  -c "SELECT battledger.enable_ledger('t', 'battery')" >/dev/null
q -c "INSERT INTO t SELECT 'B' || (i % 1000), i FROM generate_series(1, $N) i" -c "SELECT battledger.seal()" >/dev/null
proofs() {
  q -c "SELECT md5(string_agg(battledger.inclusion_proof(i, $N)::text || battledger.consistency_proof(i + 1, $N)::text, ',' ORDER BY i))
          FROM (SELECT (k * 7919) % ($N - 1) AS i FROM generate_series(1, 500) k) x" \
    -c "SELECT md5(string_agg(battledger.tree_root(tree_size)::text || root::text, ',' ORDER BY tree_size)) FROM battledger.checkpoint"
}
before=$(proofs)
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/u" -m fast -w stop >/dev/null
export PG_BIN=$NEW/usr/lib/postgresql/15/bin PG_CONFIG=$NEW/usr/lib/postgresql/15/bin/pg_config
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/u" -l "$BL_WORK/u.log" -w start >/dev/null
t0=$(date +%s.%N)
q -c "ALTER EXTENSION battledger UPDATE TO '0.9.0'"
t1=$(date +%s.%N)
after=$(proofs)
rows=$(q -c "SELECT count(*) || ' rows, ' || pg_total_relation_size('battledger.log_block') || ' bytes' FROM battledger.log_block")
problems=$(q -c "SELECT count(*) FROM battledger.verify_log(false)")
echo "leaves: $N; update 0.8.0 -> 0.9.0: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s wall; log_block: $rows"
echo "proofs and roots unchanged: $([ "$before" = "$after" ] && echo yes || echo NO); verify_log(false) problems: $problems"
[ "$before" = "$after" ] && [ "$problems" = 0 ]
