#!/usr/bin/env bash
# test/bench/signed_batch_ab.sh — batch-signed loads of two installed builds,
# interleaved, against the unsigned ledger in the same cluster.
#
# signed_ab.sh's batch column loads 10 × 1,000 rows, a few hundred 10 ms CPU
# ticks: too coarse for the signed/unsigned ratio issue 15 sets (≥ 0.8×).
# This script loads BENCH_NBATCH batches of 1,000 rows per measurement
# (bench_signed.load_batches: one transaction per batch, the manifest filed
# first, the commit-time batch check included), into a signed table and the
# same rows' content into an unsigned ledger table, BENCH_ROUNDS rounds, A
# and B in turn (the order alternating by round), and reports backend CPU
# per row and the ratio unsigned/signed CPU per round and the medians.
# Usage: A_PG=/opt/a B_PG=/opt/b [C_PG=/opt/c] [BENCH_PORT=55493] test/bench/signed_batch_ab.sh
# (relocated roots, as docs/benchmarks.md describes; each needs the TEST-ONLY
# signer installed: make -C test/signer install).  With C_PG a third build
# joins the rotation (ports BENCH_PORT, +1, +2).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${BENCH_ROUNDS:-6}
NBATCH=${BENCH_NBATCH:-100}
: "${A_PG:?relocated root of build A}" "${B_PG:?relocated root of build B}"
WORK=$(mktemp -d /tmp/bl_bab.XXXXXX); chmod 755 "$WORK"
[ "$(id -u)" = 0 ] && chown postgres: "$WORK"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
BASE_PORT=${BENCH_PORT:-55493}
declare -A PORT=([A]=$BASE_PORT [B]=$((BASE_PORT + 1)) [C]=$((BASE_PORT + 2))) ROOT=([A]=$A_PG [B]=$B_PG [C]=${C_PG:-})
BUILDS="A B"; [ -n "${C_PG:-}" ] && BUILDS="A B C"
cleanup() { for x in $BUILDS; do as_pg "${ROOT[$x]}/usr/lib/postgresql/15/bin/pg_ctl" -D "$WORK/$x" -m immediate stop >/dev/null 2>&1 || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
q() { local x=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -h "$WORK" -p "${PORT[$x]}" -U postgres -d postgres -c "$1"; }
HZ=$(getconf CLK_TCK)
for x in $BUILDS; do
  bin=${ROOT[$x]}/usr/lib/postgresql/15/bin
  as_pg "$bin/initdb" -D "$WORK/$x" -A trust -U postgres --no-sync -E UTF8 --locale=C >/dev/null
  cat >> "$WORK/$x/postgresql.conf" <<CONF
port = ${PORT[$x]}
listen_addresses = ''
unix_socket_directories = '$WORK'
shared_buffers = 256MB
session_preload_libraries = 'battledger'
max_wal_size = 4GB
max_locks_per_transaction = 256
CONF
  as_pg "$bin/pg_ctl" -D "$WORK/$x" -l "$WORK/$x.log" -w start >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "${PORT[$x]}" -U postgres -d postgres -f "$HERE/signed_schema.sql" >/dev/null
  q "$x" "SELECT count(*) FROM (SELECT bench_signed.make_table('signed', 'bt' || r), bench_signed.make_table('ledger', 'bt' || r)
            FROM generate_series(1, $ROUNDS) r) s" >/dev/null
  q "$x" "SELECT sum(bench_signed.stage_batch_set(('public.signed_bt' || r)::regclass, r, $NBATCH, 1000)) FROM generate_series(1, $ROUNDS) r" >/dev/null
  q "$x" "VACUUM ANALYZE bench_signed.stage_batch_rows"; q "$x" "CHECKPOINT"
done
echo "| round | build | batch signed µs/row | unsigned ledger µs/row | unsigned/signed CPU |"
echo "|---|---|---:|---:|---:|"
n=$((NBATCH * 1000))
declare -A RATIOS=([A]="" [B]="" [C]="")
for r in $(seq "$ROUNDS"); do
  # each build first in turn (no build always runs on the warmest machine)
  order=$(tr ' ' '\n' <<<"$BUILDS$(printf ' %s' $BUILDS)" | tail -n +$(( (r - 1) % $(wc -w <<<"$BUILDS") + 1 )) | head -n "$(wc -w <<<"$BUILDS")" | tr '\n' ' ')
  for x in $order; do
    ts=$(q "$x" "CALL bench_signed.load_batches('signed_bt$r', $r, true)")
    tl=$(q "$x" "CALL bench_signed.load_batches('ledger_bt$r', $r, false)")
    [ "$(q "$x" "SELECT count(*) FROM signed_bt$r")" = "$n" ] || { echo "batch load $x $r incomplete" >&2; exit 1; }
    line=$(awk -v t="${ts#*|}" -v u="${tl#*|}" -v n="$n" -v hz="$HZ" -v r="$r" -v x="$x" 'BEGIN {
      s = t / hz * 1e6 / n; l = u / hz * 1e6 / n; printf "%s %.2f %.2f %.3f", r " " x, s, l, l / s }')
    set -- $line
    echo "| $1 | $2 | $3 | $4 | $5x |"
    RATIOS[$x]="${RATIOS[$x]} $5"
  done
done
for x in $BUILDS; do
  echo "median unsigned/signed, $x: $(tr ' ' '\n' <<<"${RATIOS[$x]}" | grep . | sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')x"
done
for x in $BUILDS; do q "$x" "SELECT count(*) FROM battledger.verify('signed_bt1')" | sed "s/^/verify(signed_bt1) problems on $x: /"; done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
