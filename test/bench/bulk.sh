#!/usr/bin/env bash
# test/bench/bulk.sh — bulk loads into a ledger table, as an ETL tool does them:
# each load in a fresh session, with NO session_preload_libraries, so the first
# statement of the session is the one that loads battledger.
#
# Tables (test/bench/schema.sql): plain (no index), indexed (an index on
# (battery, at)) and ledger (enable_ledger(tbl, 'battery'), unsigned).  Loads:
# INSERT ... SELECT of 100k and 200k rows over 1,000 chains, and COPY FROM of
# 100k rows (a file written by COPY TO).  Kinds are interleaved within each
# repetition; medians over BENCH_REPS.  Per load: wall ms (psql \timing), the
# backend's CPU ms (user+sys from /proc/PID/stat) and WAL bytes per row.
#
# Environment: BENCH_REPS (default 3), BENCH_PORT (default 55494),
# BENCH_NO_INSTALL (see lib.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"
BENCH_REPS=${BENCH_REPS:-3}
BENCH_PORT=${BENCH_PORT:-55494}

bench_install
bl_start_cluster bulk "$BENCH_PORT" "shared_buffers = 1GB
max_wal_size = 8GB
checkpoint_timeout = 30min
work_mem = 128MB"
trap 'as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/bulk" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$BL_WORK"' EXIT

psql_() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
q() { psql_ -At -c "$1"; }
psql_ -f "$HERE/schema.sql"
q "CREATE TABLE bench.warmup AS SELECT g, md5(g::text) AS m FROM generate_series(1, 2000000) AS g"
q "DROP TABLE bench.warmup"
# the COPY source: the bulk rows, once
q "CREATE TABLE bench.src (battery text, kind text, at timestamptz, soh numeric, note text)"
q "$(q "SELECT bench.bulk_sql('x', 100000)" | sed 's/INSERT INTO public.x/INSERT INTO bench.src/')"
CSV=$BL_WORK/src.copy
q "COPY bench.src TO '$CSV'"
q "CHECKPOINT"

declare -A WALL CPU WAL
# one_load KIND WHAT(ins100k|ins200k|copy100k) SFX: a fresh session that loads only
one_load() {
  local kind=$1 what=$2 sfx=$3 tbl=${1}_$3 n sql out
  case $what in ins100k) n=100000 ;; ins200k) n=200000 ;; copy100k) n=100000 ;; esac
  q "SELECT bench.make_table('$kind', '$sfx')" >/dev/null
  q "CHECKPOINT"
  if [ "$what" = copy100k ]; then sql="COPY public.$tbl (battery, kind, at, soh, note) FROM '$CSV'"
  else sql=$(q "SELECT bench.bulk_sql('$tbl', $n)"); fi
  out=$(psql_ -At <<SQL
SELECT pg_backend_pid() AS pid, pg_current_wal_lsn() AS l0 \gset
\setenv BENCH_PID :pid
\o /dev/null
\! awk '{ sub(/^.*\) /, ""); print "cpu0", \$12 + \$13 }' /proc/\$BENCH_PID/stat
\timing on
$sql;
\timing off
\! awk '{ sub(/^.*\) /, ""); print "cpu1", \$12 + \$13 }' /proc/\$BENCH_PID/stat
\o
SELECT 'wal ' || pg_wal_lsn_diff(pg_current_wal_lsn(), :'l0') / $n;
SQL
)
  local ms c0 c1 w
  ms=$(awk '/^Time:/ { print $2 }' <<<"$out"); c0=$(awk '$1 == "cpu0" { print $2 }' <<<"$out")
  c1=$(awk '$1 == "cpu1" { print $2 }' <<<"$out"); w=$(awk '$1 == "wal" { print $2 }' <<<"$out")
  WALL[$kind,$what]+="$ms "; CPU[$kind,$what]+="$(( (c1 - c0) * 1000 / CLK_TCK )) "; WAL[$kind,$what]+="$w "
  echo "  $kind $what: ${ms} ms, cpu $(( (c1 - c0) * 1000 / CLK_TCK )) ms, wal $(fmt '%.0f' "$w") B/row"
  case $kind in plain|indexed) q "DROP TABLE $tbl" ;; esac
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$BENCH_REPS"); do
  say "repetition $r"
  for what in ins100k ins200k copy100k; do
    for kind in plain indexed ledger; do one_load "$kind" "$what" "${what}_r$r"; done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
PROBLEMS=$(q "SELECT sum((SELECT count(*) FROM battledger.verify(l.tbl))) FROM battledger.ledger_tables l WHERE NOT builtin")

med() { median $1; }
say "results (medians of $BENCH_REPS; load average before $LOAD_BEFORE, after $LOAD_AFTER)"
echo "| load | plain ms (cpu) | indexed ms (cpu) | ledger ms (cpu) | ledger/indexed rate, wall | ledger/indexed rate, cpu | WAL B/row indexed / ledger |"
echo "|---|---|---|---|---|---|---|"
for what in ins100k ins200k copy100k; do
  pw=$(med "${WALL[plain,$what]}"); pc=$(med "${CPU[plain,$what]}")
  iw=$(med "${WALL[indexed,$what]}"); ic=$(med "${CPU[indexed,$what]}")
  lw=$(med "${WALL[ledger,$what]}"); lc=$(med "${CPU[ledger,$what]}")
  echo "| $what | $pw ($pc) | $iw ($ic) | $lw ($lc) | $(fmt '%.2f' "$(awk -v a="$iw" -v b="$lw" 'BEGIN{print a/b}')")x | $(fmt '%.2f' "$(awk -v a="$ic" -v b="$lc" 'BEGIN{print a/b}')")x | $(fmt '%.0f' "$(med "${WAL[indexed,$what]}")") / $(fmt '%.0f' "$(med "${WAL[ledger,$what]}")") |"
done
for kind in plain indexed ledger; do
  echo "linearity $kind (200k/100k): wall $(fmt '%.2f' "$(awk -v a="$(med "${WALL[$kind,ins200k]}")" -v b="$(med "${WALL[$kind,ins100k]}")" 'BEGIN{print a/b}')"), cpu $(fmt '%.2f' "$(awk -v a="$(med "${CPU[$kind,ins200k]}")" -v b="$(med "${CPU[$kind,ins100k]}")" 'BEGIN{print a/b}')")"
done
echo "verify() problems over every ledger table loaded: $PROBLEMS"
[ "$PROBLEMS" = 0 ]
