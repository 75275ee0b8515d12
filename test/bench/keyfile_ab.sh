#!/usr/bin/env bash
# The log key file read at every use (red team r16a K01) against main's
# per-backend cache: backend CPU time (utime + stime from /proc, 10 ms
# ticks) of 20,000 log_vkey() calls (each loads the key: the worst case)
# and of 300 x (insert one row; seal()) (the real use: two loads a seal),
# BENCH_REPS rounds each, first on MAIN_PG_BIN's build, then on PG_BIN's.
# Each build needs its CLI in <prefix>/bin (the helpers' /opt copies).
# Run as root: PG_BIN=... MAIN_PG_BIN=... [BENCH_PORT=56221] test/bench/keyfile_ab.sh
set -uo pipefail
PG_BIN=${PG_BIN:?PG_BIN: the build under test}
NEW_BIN=$PG_BIN
MAIN_BIN=${MAIN_PG_BIN:?MAIN_PG_BIN: the build of main}
PORT=${BENCH_PORT:-56221}
REPS=${BENCH_REPS:-5}
source "$(dirname "$0")/../lib/cluster.sh"
run() {  # NAME PG_BIN PORT
  local name=$1 port=$3 cli out
  PG_BIN=$2
  cli=$(cd "$PG_BIN/../../../../.." && pwd)/bin/battledger
  BL_WORK=""; bl_scratch
  "$cli" keygen --out "$BL_WORK/log" >/dev/null || exit 1
  [ "$(id -u)" = 0 ] && chown postgres: "$BL_WORK/log.key"
  bl_start_cluster "$name" "$port" "battledger.origin = 'b.example/log'
battledger.log_key_file = '$BL_WORK/log.key'"
  createdb bl
  psql -X -q -d bl -c "CREATE EXTENSION battledger" -c "CREATE TABLE t (k text, v int)" \
       -c "SELECT battledger.enable_ledger('t', 'k')" >/dev/null
  for rep in $(seq 1 "$REPS"); do
    out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d bl <<'SQL'
CREATE TEMP TABLE g AS SELECT i FROM generate_series(1, 20000) i;
CREATE FUNCTION pg_temp.cpu() RETURNS int LANGUAGE sql AS $f$
  SELECT split_part(s, ' ', 14)::int + split_part(s, ' ', 15)::int
  FROM pg_read_file('/proc/' || pg_backend_pid() || '/stat') s $f$;
SELECT pg_temp.cpu() AS cpu0 \gset
SELECT count(battledger.log_vkey() || i) FROM g \g /dev/null
SELECT pg_temp.cpu() AS cpu1 \gset
DO $$ BEGIN FOR i IN 1..300 LOOP INSERT INTO t VALUES ('k' || i, i); PERFORM battledger.seal(); END LOOP; END $$;
SELECT pg_temp.cpu() AS cpu2 \gset
SELECT (:cpu1 - :cpu0) * 10 || ' ' || (:cpu2 - :cpu1) * 10;
SQL
)
    echo "$name round $rep: log_vkey x20000 ${out% *} ms, seal x300 ${out#* } ms"
  done
  as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/$name" -m fast stop >/dev/null
  rm -rf "$BL_WORK"; BL_WORK=""
}
echo "# $(date -u) load: $(cut -d' ' -f1-3 /proc/loadavg)"
run main "$MAIN_BIN" "$PORT"
run new "$NEW_BIN" "$((PORT + 1))"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
