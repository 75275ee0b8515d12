#!/usr/bin/env bash
# test/bench/proof_ab.sh — proof CPU time of two installed builds on the same
# leaves: backend user+sys CPU time (from /proc/self/stat, read by the
# backend; needs Linux and a superuser) of 2000 inclusion and 2000
# consistency proofs with random arguments, alternating builds, 3 rounds, at
# 10k / 100k / 1M leaves.  Prints "size round build function µs-per-call".
#   BENCH_A_PREFIX, BENCH_B_PREFIX: relocated PostgreSQL copies each holding
#   one build (e.g. /opt/main and /opt/branch, see docs/benchmarks.md);
#   BENCH_PORT (56790; A on it, B on the next);
#   BENCH_SIZES (the log sizes, "10000 100000 1000000"; rows are added and
#   sealed 1M at a time); BENCH_SINGLE=1 measures build A alone (for sizes
#   such as 10M, where one log is what the disk and the time allow);
#   BENCH_PREWARM=1 gives each cluster BENCH_SHARED_BUFFERS (4GB) and loads
#   the log's tables and indexes into it (pg_prewarm) before measuring a
#   size: the proofs' CPU without reads from the OS cache, which otherwise
#   dominate once the log outgrows shared_buffers (512MB by default).
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/lib/cluster.sh
bl_scratch
A=${BENCH_A_PREFIX:?}; PA=${BENCH_PORT:-56790}; PB=$((PA + 1))
SB=512MB; [ "${BENCH_PREWARM:-0}" = 1 ] && SB=${BENCH_SHARED_BUFFERS:-4GB}
if [ "${BENCH_SINGLE:-0}" = 1 ]; then B=$A; else B=${BENCH_B_PREFIX:?}; fi
export PG_BIN=$A/usr/lib/postgresql/15/bin PG_CONFIG=$A/usr/lib/postgresql/15/bin/pg_config
bl_start_cluster a $PA "$(bl_test_log_conf bench.example/ab)
shared_buffers = $SB"
ports="$PA $PB"
if [ "${BENCH_SINGLE:-0}" = 1 ]; then ports=$PA; else
export PG_BIN=$B/usr/lib/postgresql/15/bin PG_CONFIG=$B/usr/lib/postgresql/15/bin/pg_config
bl_start_cluster b $PB "$(bl_test_log_conf bench.example/ab)
shared_buffers = $SB"
fi
q() { PGPORT=$1 psql -X -q -At -v ON_ERROR_STOP=1 -d postgres -c "$2"; }
for p in $ports; do
  q $p "CREATE EXTENSION battledger" >/dev/null
  q $p "CREATE TABLE t (battery text, v int)" >/dev/null
  q $p "SELECT battledger.enable_ledger('t', 'battery')" >/dev/null
  q $p "CREATE FUNCTION cpu_ms() RETURNS float8 LANGUAGE sql AS \$\$
    SELECT ((string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' '))[12]::float8
          + (string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' '))[13]::float8) * 10 \$\$" >/dev/null
  q $p "CREATE FUNCTION cpu_us(what text, n bigint, calls int) RETURNS numeric LANGUAGE plpgsql AS \$\$
DECLARE c0 float8; r record; x battledger.hash256[];
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS a (i bigint, s1 bigint); TRUNCATE a;
  INSERT INTO a SELECT (random() * (n - 1))::bigint, 1 + (random() * (n - 2))::bigint FROM generate_series(1, calls);
  c0 := cpu_ms();
  FOR r IN SELECT * FROM a LOOP
    IF what = 'inclusion' THEN x := battledger.inclusion_proof(r.i, n);
    ELSE x := battledger.consistency_proof(r.s1, n); END IF;
  END LOOP;
  RETURN round(((cpu_ms() - c0) * 1000 / calls)::numeric, 1);
END \$\$" >/dev/null
done
grow() { local left c; for p in $ports; do
  left=$1
  while [ "$left" -gt 0 ]; do
    c=$(( left > 1000000 ? 1000000 : left )); left=$((left - c))
    q $p "INSERT INTO t SELECT 'B' || (i % 1000), i FROM generate_series(1, $c) i" >/dev/null
    q $p "SELECT battledger.seal()" >/dev/null
  done
  q $p "VACUUM ANALYZE battledger.log_leaf" >/dev/null; done; }
prev=0
for n in ${BENCH_SIZES:-10000 100000 1000000}; do
  grow $((n - prev)); prev=$n
  if [ "${BENCH_PREWARM:-0}" = 1 ]; then for p in $ports; do
    q $p "CREATE EXTENSION IF NOT EXISTS pg_prewarm" >/dev/null
    q $p "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c WHERE c.relnamespace = 'battledger'::regnamespace
            AND c.relname ~ '^log_(leaf|tile|block)' AND c.relkind IN ('r', 'i')
          UNION ALL SELECT sum(pg_prewarm(c.reltoastrelid)) FROM pg_class c WHERE c.oid = 'battledger.log_tile'::regclass" >/dev/null
  done; fi
  for rep in 1 2 3; do
    for p in $ports; do
      for w in inclusion consistency; do
        echo "$n $rep $([ $p = $PA ] && echo A || echo B) $w $(q $p "SELECT cpu_us('$w', $n, 2000)")"
      done
    done
  done
done
