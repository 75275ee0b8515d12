#!/usr/bin/env bash
# test/bench/bulk_ab.sh — test/bench/bulk.sh's loads, two builds, same run.
#
# Two throwaway clusters with bulk.sh's settings, A from PG_BIN_A (e.g.
# main's build) and B from PG_BIN_B (this checkout's), each with
# test/bench/schema.sql and the same 100k-row COPY file.  Each repetition
# runs every load (INSERT ... SELECT of 100k and 200k rows over 1,000 chains,
# COPY FROM of 100k rows) into a fresh indexed and a fresh ledger table on
# both clusters, each load the first statement of a new session with no
# session_preload_libraries (so it is the statement that loads battledger),
# alternating which build goes first.  The figure is the backend's CPU time
# (user + sys from /proc/PID/stat, 10 ms ticks); wall times on a shared
# machine are noise.  At the end every ledger table must verify clean on
# both clusters and the two clusters' chains must be identical, table by
# table (the same rows, seqs, prevs and hashes), as must their log queues
# (log_pending: the same entries, one per ledger row); the script fails
# otherwise.
#
# Environment: PG_BIN_A, PG_BIN_B (required), BENCH_REPS (default 3),
# BENCH_PORT (default 57320; B uses +1).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"
export PG_BIN=${PG_BIN:-$PG_BIN_B}   # bl_cleanup stops leftover clusters with it
REPS=${BENCH_REPS:-3}
PORT=${BENCH_PORT:-57320}
bl_scratch
start() {   # start NAME BIN PORT
  as_pg "$2/initdb" -D "$BL_WORK/$1" -A trust -U postgres --no-sync -E UTF8 --locale=C >/dev/null
  cat >> "$BL_WORK/$1/postgresql.conf" <<CONF
port = $3
listen_addresses = ''
unix_socket_directories = '$BL_WORK'
shared_buffers = 1GB
max_wal_size = 8GB
checkpoint_timeout = 30min
work_mem = 128MB
CONF
  as_pg "$2/pg_ctl" -D "$BL_WORK/$1" -l "$BL_WORK/$1.log" -w start >/dev/null
}
declare -A BINS=([A]=$PG_BIN_A [B]=$PG_BIN_B) PORTS=([A]=$PORT [B]=$((PORT + 1)))
stop_all() { for d in A B; do as_pg "${BINS[$d]}/pg_ctl" -D "$BL_WORK/$d" -m immediate stop >/dev/null 2>&1 || true; done; }
# set +e: stop_all has stopped them, so bl_cleanup's own pg_ctl stop fails
trap 'set +e; stop_all; bl_cleanup' EXIT
start A "$PG_BIN_A" "${PORTS[A]}"
start B "$PG_BIN_B" "${PORTS[B]}"

psql_() { local b=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORTS[$b]}" -U postgres -d postgres "$@"; }
q() { psql_ "$1" -At -c "$2"; }
CSV=$BL_WORK/src.copy
for b in A B; do
  psql_ $b -f "$HERE/schema.sql"
  q $b "CREATE TABLE bench.warmup AS SELECT g, md5(g::text) AS m FROM generate_series(1, 2000000) AS g"
  q $b "DROP TABLE bench.warmup"
done
q A "CREATE TABLE bench.src (battery text, kind text, at timestamptz, soh numeric, note text)"
q A "$(q A "SELECT bench.bulk_sql('x', 100000)" | sed 's/INSERT INTO public.x/INSERT INTO bench.src/')"
q A "COPY bench.src TO '$CSV'"

declare -A CPU
one_load() {   # one_load BUILD KIND WHAT SFX
  local b=$1 kind=$2 what=$3 tbl=${2}_$4 n sql out c0 c1
  case $what in ins100k|copy100k) n=100000 ;; ins200k) n=200000 ;; esac
  q $b "SELECT bench.make_table('$kind', '$4')" >/dev/null
  q $b "CHECKPOINT"
  if [ "$what" = copy100k ]; then sql="COPY public.$tbl (battery, kind, at, soh, note) FROM '$CSV'"
  else sql=$(q $b "SELECT bench.bulk_sql('$tbl', $n)"); fi
  out=$(psql_ $b -At <<SQL
SELECT pg_backend_pid() AS pid \gset
\setenv BENCH_PID :pid
\o /dev/null
\! awk '{ sub(/^.*\) /, ""); print "cpu0", \$12 + \$13 }' /proc/\$BENCH_PID/stat
$sql;
\! awk '{ sub(/^.*\) /, ""); print "cpu1", \$12 + \$13 }' /proc/\$BENCH_PID/stat
SQL
)
  c0=$(awk '$1 == "cpu0" { print $2 }' <<<"$out"); c1=$(awk '$1 == "cpu1" { print $2 }' <<<"$out")
  CPU[$b,$kind,$what]+="$(( (c1 - c0) * 1000 / CLK_TCK )) "
  echo "  $b $kind $what: cpu $(( (c1 - c0) * 1000 / CLK_TCK )) ms"
  [ "$kind" = indexed ] && q $b "DROP TABLE $tbl"
  return 0
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$REPS"); do
  say "repetition $r"
  if [ $((r % 2)) = 1 ]; then order="A B"; else order="B A"; fi
  for what in ins100k ins200k copy100k; do
    for kind in indexed ledger; do
      for b in $order; do one_load $b $kind $what "${what}_r$r"; done
    done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

PROBLEMS=0
for b in A B; do
  p=$(q $b "SELECT sum((SELECT count(*) FROM battledger.verify(l.tbl))) FROM battledger.ledger_tables l WHERE NOT builtin")
  PROBLEMS=$((PROBLEMS + p))
done
# the chains of each table, A against B: every row's chain fields and content
CHAINS_SQL="SELECT string_agg(format('%s %s', l.tbl, (SELECT md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s', t.battery, t.ledger_seq, t.ledger_prev, t.ledger_hash, t.kind, t.at, t.soh, t.note, t.ledger_origin), ',' ORDER BY t.battery, t.ledger_seq)) FROM bench.ledger_rows(l.tbl) t)), E'\n' ORDER BY l.tbl::text) FROM battledger.ledger_tables l WHERE NOT builtin"
for b in A B; do
  q $b "CREATE FUNCTION bench.ledger_rows(tbl regclass) RETURNS TABLE (battery text, kind text, at timestamptz, soh numeric, note text, ledger_seq bigint, ledger_prev text, ledger_hash text, ledger_origin text)
        LANGUAGE plpgsql AS \$f\$ BEGIN RETURN QUERY EXECUTE format('SELECT battery, kind, at, soh, note, ledger_seq, ledger_prev::text, ledger_hash::text, ledger_origin::text FROM %s', tbl); END \$f\$"
done
CA=$(q A "$CHAINS_SQL"); CB=$(q B "$CHAINS_SQL")
SAME=no; [ -n "$CA" ] && [ "$CA" = "$CB" ] && SAME=yes
# the log queue, A against B (0.15.0 fills it from the chain trigger): the
# same entries, each exactly once, and one per ledger row
QUEUE_SQL="SELECT count(*) || ' ' || md5(string_agg(format('%s|%s|%s|%s', tbl, seq, prev::text, row_hash::text), ',' ORDER BY tbl, row_hash::text, seq))
           || ' ' || (SELECT sum((SELECT count(*) FROM bench.ledger_rows(l.tbl))) FROM battledger.ledger_tables l WHERE NOT builtin)
           FROM battledger.log_pending WHERE tbl NOT LIKE 'battledger.%'"
QA=$(q A "$QUEUE_SQL"); QB=$(q B "$QUEUE_SQL")
QSAME=no; [ -n "$QA" ] && [ "$QA" = "$QB" ] && [ "$(cut -d' ' -f1 <<<"$QA")" = "$(cut -d' ' -f3 <<<"$QA")" ] && QSAME=yes

say "results: backend CPU ms, medians of $REPS (load average before $LOAD_BEFORE, after $LOAD_AFTER)"
echo "| load | A indexed / ledger | B indexed / ledger | A ledger/indexed rate | B ledger/indexed rate | ledger CPU B/A |"
echo "|---|---:|---:|---:|---:|---:|"
for what in ins100k ins200k copy100k; do
  ai=$(median ${CPU[A,indexed,$what]}); al=$(median ${CPU[A,ledger,$what]})
  bi=$(median ${CPU[B,indexed,$what]}); bl=$(median ${CPU[B,ledger,$what]})
  echo "| $what | $ai / $al | $bi / $bl | $(fmt '%.2f' "$(awk -v a="$ai" -v b="$al" 'BEGIN{print a/b}')")x | $(fmt '%.2f' "$(awk -v a="$bi" -v b="$bl" 'BEGIN{print a/b}')")x | $(fmt '%.2f' "$(awk -v a="$bl" -v b="$al" 'BEGIN{print a/b}')") |"
done
for b in A B; do
  echo "linearity $b ledger (200k/100k): cpu $(fmt '%.2f' "$(awk -v a="$(median ${CPU[$b,ledger,ins200k]})" -v c="$(median ${CPU[$b,ledger,ins100k]})" 'BEGIN{print a/c}')"), indexed $(fmt '%.2f' "$(awk -v a="$(median ${CPU[$b,indexed,ins200k]})" -v c="$(median ${CPU[$b,indexed,ins100k]})" 'BEGIN{print a/c}')")"
done
echo "verify() problems over every ledger table loaded, both clusters: $PROBLEMS"
echo "chains identical on A and B, table by table: $SAME"
echo "log queues identical on A and B, one entry per ledger row: $QSAME ($QB)"
[ "$PROBLEMS" = 0 ] && [ "$SAME" = yes ] && [ "$QSAME" = yes ]
