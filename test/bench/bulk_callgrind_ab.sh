#!/usr/bin/env bash
# test/bench/bulk_callgrind_ab.sh — bulk_ab.sh's INSERT ... SELECT and COPY
# loads counted in instructions instead of CPU time, two builds.
#
# On a machine shared with other work, a backend's CPU time varies by a
# third between identical runs (bulk_ab.sh at load 8-10 put unchanged code
# at 0.88-1.43x), which hides a change of a few percent.  Instructions do
# not vary: each build's postmaster runs under valgrind's callgrind
# (--trace-children=yes: every backend is profiled, forked from it),
# counting only inside PortalRun, and each load is the first statement of a
# fresh session with no session_preload_libraries, as in bulk_ab.sh (so the
# library's loading is counted once per load).  Instructions are not time:
# valgrind hides the CPU's SHA extensions, so SHA-256 counts several times
# what it costs natively, and cache misses are not counted (CG_CACHE=1 adds
# callgrind's cache simulation: D1 misses, and its cycle estimate).
#
# Prints, per load and build, instructions per row and the chain trigger's
# share with its SHA-256 apart; every ledger table must verify clean.
# Needs valgrind (not in BL_PACKAGES).  Environment: PG_BIN_A, PG_BIN_B
# (required), BENCH_ROWS (default 20000), BENCH_PORT (default 57330),
# CG_CACHE (default 0), BENCH_ORIGIN (default unset: battledger.origin for
# both clusters, as a member has it; unset, the trigger takes the empty
# origin and skips the name's checks).  About a minute per build at 20,000
# rows.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/cluster.sh"
. "$HERE/lib.sh"
export PG_BIN=${PG_BIN:-$PG_BIN_B}
N=${BENCH_ROWS:-20000}
PORT=${BENCH_PORT:-57330}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
CACHE=(); [ "${CG_CACHE:-0}" = 1 ] && CACHE=(--cache-sim=yes)
bl_scratch

q() { psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "$PORT" -U postgres -d postgres -At -c "$1"; }
# the total of the event columns of FILE's "totals:" line, and a function's inclusive Ir
totals() { awk '/^totals:/ { $1 = ""; print substr($0, 2) }' "$1"; }
# (awk reads to the end: leaving early would end callgrind_annotate with SIGPIPE, failing the pipe)
incl() { callgrind_annotate --inclusive=yes "$1" 2>/dev/null | awk -v f="$2" '!done && index($0, f) { gsub(",", "", $1); print $1; done = 1 }'; }

run_build() {   # run_build NAME BIN
  local name=$1 bin=$2 d=$BL_WORK/$1 pid f what tbl sql
  as_pg "$bin/initdb" -D "$d" -A trust -U postgres --no-sync -E UTF8 --locale=C >/dev/null
  cat >> "$d/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$BL_WORK'
shared_buffers = 256MB
max_wal_size = 8GB
autovacuum = off
CONF
  [ -z "${BENCH_ORIGIN:-}" ] || echo "battledger.origin = '$BENCH_ORIGIN'" >> "$d/postgresql.conf"
  mkdir -p "$BL_WORK/cg_$name"; chown postgres: "$BL_WORK/cg_$name" 2>/dev/null || true
  as_pg bash -c "valgrind --tool=callgrind ${CACHE[*]} --trace-children=yes --log-file=$BL_WORK/cg_$name/vg.%p \
    --callgrind-out-file=$BL_WORK/cg_$name/cg.%p --collect-atstart=no --toggle-collect=PortalRun \
    '$bin/postgres' -D '$d' > '$BL_WORK/$name.log' 2>&1 &"
  for _ in $(seq 120); do pg_isready -q -h "$BL_WORK" -p "$PORT" -U postgres && break; sleep 1; done
  psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "$PORT" -U postgres -d postgres -f "$HERE/schema.sql"
  q "CREATE TABLE bench.src (battery text, kind text, at timestamptz, soh numeric, note text)"
  q "$(q "SELECT bench.bulk_sql('x', $N)" | sed 's/INSERT INTO public.x/INSERT INTO bench.src/')"
  q "COPY bench.src TO '$BL_WORK/src_$name.copy'"
  for what in ins copy; do
    for kind in indexed ledger; do
      tbl=${kind}_$what
      q "SELECT bench.make_table('$kind', '$what')" >/dev/null
      if [ "$what" = copy ]; then sql="COPY public.$tbl (battery, kind, at, soh, note) FROM '$BL_WORK/src_$name.copy'"
      else sql=$(q "SELECT bench.bulk_sql('$tbl', $N)"); fi
      pid=$(psql -X -q -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "$PORT" -U postgres -d postgres -At \
              -c "SELECT pg_backend_pid()" -c "$sql" | head -n 1)
      f=$BL_WORK/cg_$name/cg.$pid
      for _ in $(seq 60); do [ -s "$f" ] && grep -q '^totals:' "$f" && break; sleep 1; done
      RES[$name,$kind,$what]=$f
    done
  done
  PROB[$name]=$(q "SELECT sum((SELECT count(*) FROM battledger.verify(l.tbl))) FROM battledger.ledger_tables l WHERE NOT builtin")
  as_pg "$bin/pg_ctl" -D "$d" -m fast -w stop >/dev/null
}

declare -A RES PROB
run_build A "$PG_BIN_A"
run_build B "$PG_BIN_B"

say "instructions per row (callgrind, inside PortalRun), $N rows, 1,000 chains, fresh sessions"
echo "| load | build | indexed | ledger | ledger/indexed | chain trigger | of it SHA-256 | ledger B/A |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for what in ins copy; do
  for b in A B; do
    fi=${RES[$b,indexed,$what]}; fl=${RES[$b,ledger,$what]}
    ii=$(totals "$fi" | awk '{ print $1 }'); il=$(totals "$fl" | awk '{ print $1 }')
    ct=$(incl "$fl" 'battledger_chain_trigger'); sh=$(incl "$fl" 'chain.c:chain_hash')
    ba=""; [ "$b" = B ] && ba=$(fmt '%.3f' "$(awk -v x="$il" -v y="$(totals "${RES[A,ledger,$what]}" | awk '{ print $1 }')" 'BEGIN { print x / y }')")
    echo "| $what | $b | $((ii / N)) | $((il / N)) | $(fmt '%.2f' "$(awk -v a="$ii" -v b="$il" 'BEGIN { print a / b }')")x | $((${ct:-0} / N)) | $((${sh:-0} / N)) | $ba |"
  done
done
if [ "${CG_CACHE:-0}" = 1 ]; then
  echo
  echo "cache simulation, ledger loads (events: $(awk '/^events:/ { $1 = ""; print substr($0, 2) }' "${RES[A,ledger,ins]}")):"
  for what in ins copy; do for b in A B; do echo "  $what $b: $(totals "${RES[$b,ledger,$what]}")"; done; done
fi
echo "verify() problems over every ledger table: A ${PROB[A]}, B ${PROB[B]}"
[ "${PROB[A]}" = 0 ] && [ "${PROB[B]}" = 0 ]
