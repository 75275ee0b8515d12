#!/usr/bin/env bash
# test/bench/seal_ab.sh — seal() of one backlog, two builds, same run.
#
# Two throwaway clusters on the same machine, A from PG_BIN_A (e.g. main's
# build) and B from PG_BIN_B (this checkout's), each with the ledger table of
# test/bench/log_schema.sql.  Each round loads the same BENCH_AB_SIZE rows
# into both and seals both, alternating which seals first; the figure is the
# sealing backend's CPU time (user + system, /proc/self/stat), since the
# wall time on a shared machine is noise.  After the rounds the two logs
# must be byte-identical -- every leaf, tile and block, every checkpoint's size,
# root and signed note (same origin, same TEST-ONLY key, and Ed25519 is
# deterministic) -- and verify_log(false) must find nothing; the script
# fails otherwise.
#
# Environment: PG_BIN_A, PG_BIN_B (required), BENCH_AB_SIZE (default
# 200000), BENCH_REPS (default 3), BENCH_PORT (default 55800; B uses +1),
# BENCH_PERF=1 records perf (-g) on B's backend during the last round.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
N=${BENCH_AB_SIZE:-200000}
export PG_BIN=${PG_BIN:-$PG_BIN_B}   # bl_cleanup stops leftover clusters with it
REPS=${BENCH_REPS:-3}
PORT=${BENCH_PORT:-55800}
bl_scratch
CONF="$(bl_test_log_conf bench.example/log)
shared_buffers = 512MB
work_mem = 128MB
max_wal_size = 8GB"
start() {   # start NAME BIN PORT
  as_pg "$2/initdb" -D "$BL_WORK/$1" -A trust -U postgres --no-sync -E UTF8 --locale=C >/dev/null
  printf 'port = %s\nlisten_addresses = %s\nunix_socket_directories = %s\nmax_locks_per_transaction = 256\n%s\n' \
    "$3" "''" "'$BL_WORK'" "$CONF" >> "$BL_WORK/$1/postgresql.conf"
  as_pg "$2/pg_ctl" -D "$BL_WORK/$1" -l "$BL_WORK/$1.log" -w start >/dev/null
}
stop_all() { for d in A B; do as_pg "${BINS[$d]}/pg_ctl" -D "$BL_WORK/$d" -m fast stop >/dev/null 2>&1 || true; done; }
declare -A BINS=([A]=$PG_BIN_A [B]=$PG_BIN_B) PORTS=([A]=$PORT [B]=$((PORT + 1)))
start A "$PG_BIN_A" "${PORTS[A]}"
start B "$PG_BIN_B" "${PORTS[B]}"
# stop_all has stopped both clusters, so bl_cleanup's own pg_ctl stop fails:
# under set -e that failure became the script's exit status (1 after a
# passing run).  Keep the status the script had.
trap 'rc=$?; stop_all; set +e; (exit $rc); bl_cleanup' EXIT
p() { local d=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORTS[$d]}" -U postgres -d postgres "$@"; }
for d in A B; do
  p $d -f "$HERE/log_schema.sql" >/dev/null
  sed "s/CLK_TCK_HERE/$(getconf CLK_TCK)/" <<'SQL' | p $d >/dev/null
CREATE FUNCTION bench_log.cpu_ms() RETURNS numeric LANGUAGE sql AS $$
  SELECT (split_part(s, ' ', 14)::numeric + split_part(s, ' ', 15)::numeric) * 1000 / CLK_TCK_HERE
    FROM pg_read_file('/proc/self/stat') AS s $$;
CREATE FUNCTION bench_log.time_seal_cpu() RETURNS numeric LANGUAGE plpgsql AS $fn$
DECLARE c0 numeric := bench_log.cpu_ms();
BEGIN
    PERFORM battledger.seal();
    RETURN round(bench_log.cpu_ms() - c0, 1);
END $fn$;
SQL
done
loaded=0
declare -A CPU
seal_one() {  # seal_one D ROUND
  local d=$1 r=$2 pid perfpid
  if [ "${BENCH_PERF:-0}" = 1 ] && [ "$d" = B ] && [ "$r" = "$REPS" ]; then
    p $d -At -c "SELECT bench_log.time_seal_cpu()" > "$BL_WORK/out" &
    pid=""
    while [ -z "$pid" ]; do pid=$(p $d -At -c "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT bench_log.time_seal_cpu%'"); done
    perf record -q -g -o /tmp/hs2-perf.data -p "$pid" >/dev/null 2>&1 & perfpid=$!
    wait %1; kill -INT $perfpid; wait $perfpid 2>/dev/null || true
    CPU[$d,$r]=$(cat "$BL_WORK/out")
  else
    CPU[$d,$r]=$(p $d -At -c "SELECT bench_log.time_seal_cpu()")
  fi
}
for r in $(seq 1 "$REPS"); do
  for d in A B; do p $d -At -c "SELECT bench_log.load($((loaded + 1)), $((loaded + N)))" >/dev/null; p $d -c CHECKPOINT; done
  loaded=$((loaded + N))
  if [ $((r % 2)) = 1 ]; then seal_one A $r; seal_one B $r; else seal_one B $r; seal_one A $r; fi
  # The leaves are the queue's rows in heap order.  Left to autovacuum, the
  # sealed (dead) queue rows are removed at a different moment in A and B,
  # the next round's rows fill different free space, and the two logs take
  # the same rows in different orders: remove them now, in both.
  for d in A B; do p $d -c "VACUUM battledger.log_pending"; done
  echo "round $r: ${N} leaves: A ${CPU[A,$r]} ms CPU ($(awk -v n=$N -v m=${CPU[A,$r]} 'BEGIN{printf "%.0f", n/(m/1000)}') leaves/CPU s), B ${CPU[B,$r]} ms CPU ($(awk -v n=$N -v m=${CPU[B,$r]} 'BEGIN{printf "%.0f", n/(m/1000)}') leaves/CPU s), A/B $(awk -v a=${CPU[A,$r]} -v b=${CPU[B,$r]} 'BEGIN{printf "%.2f", a/b}')x"
done
# byte-identical logs (the rows' content is the same; their chain hashes
# include nothing machine-specific, so leaves must match)
for q in "SELECT md5(string_agg(leaf_index || tbl || seq || prev::text || row_hash::text || leaf_hash::text, ',' ORDER BY leaf_index)) FROM battledger.log_leaf" \
         "SELECT md5(string_agg(level || '/' || idx || '/' || width || encode(hashes, 'hex'), ',' ORDER BY level, idx, width)) FROM battledger.log_tile" \
         "SELECT md5(string_agg(level || '/' || idx || '/' || width || encode(hashes, 'hex'), ',' ORDER BY level, idx, width)) FROM battledger.log_block" \
         "SELECT md5(string_agg(tree_size || root::text || note, ',' ORDER BY tree_size)) FROM battledger.checkpoint" \
         "SELECT count(*) FROM battledger.verify_log(false)"; do
  a=$(p A -At -c "$q"); b=$(p B -At -c "$q")
  [ "$a" = "$b" ] || { echo "A and B differ: $q: $a vs $b" >&2; exit 1; }
done
[ "$(p B -At -c 'SELECT count(*) FROM battledger.verify_log(false)')" = 0 ] || { echo "verify_log found problems" >&2; exit 1; }
for d in A B; do
  echo "$d: log_leaf_row $(p $d -At -c "SELECT pg_size_pretty(pg_relation_size('battledger.log_leaf_row')) || ' (' || round(pg_relation_size('battledger.log_leaf_row')::numeric / count(*), 1) || ' bytes a leaf), ' || am.amname FROM battledger.log_leaf, pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.oid = 'battledger.log_leaf_row'::regclass GROUP BY am.amname")"
done
echo "A and B: identical leaves, tiles, blocks, checkpoint roots and notes; verify_log(false) clean"
