#!/usr/bin/env bash
# test/bench/signed_ab.sh — the signature path of two installed builds, interleaved.
#
# signed.sh measures one build; on a shared machine two runs minutes apart
# see different loads.  This script starts one cluster per build (A and B,
# each a relocated PostgreSQL with battledger and the TEST-ONLY signer
# installed), signs every row and batch before anything is timed, then runs
# the same measurements on A and on B in turn, BENCH_ROUNDS times, with
# `openssl speed ed25519` between them, and reports per-run backend CPU time
# per row (signed and unsigned ledger) and the signed-minus-unsigned
# difference in verifications:
#   bulk     INSERT ... SELECT of BENCH_BULK pre-signed rows, one statement;
#   single   pgbench, 1 client, one pre-signed row per transaction,
#            BENCH_SECONDS s, synchronous_commit=off (the WAL flush is not
#            the signature path's);
#   batch    BENCH_NBATCH batches of 1,000 rows, one transaction per batch,
#            against the same rows into an unsigned ledger the same way.
# Usage: A_PG=/opt/a B_PG=/opt/b [BENCH_PORT=55491] test/bench/signed_ab.sh  (relocated roots,
# as docs/benchmarks.md describes; PG_BIN is A_PG/usr/lib/postgresql/15/bin).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_=${BENCH_SECONDS:-4}
BULK=${BENCH_BULK:-5000}
NBATCH=${BENCH_NBATCH:-10}
# staged rows per client: on a quiet machine the unsigned client used up
# 15,000 within BENCH_SECONDS (perf21)
STAGE=${BENCH_STAGE:-60000}
: "${A_PG:?relocated root of build A}" "${B_PG:?relocated root of build B}"
WORK=$(mktemp -d /tmp/bl_ab.XXXXXX); chmod 755 "$WORK"
[ "$(id -u)" = 0 ] && chown postgres: "$WORK"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# BENCH_PORT: A's port, B's the next one (helpers sharing a machine use their own ranges)
BASE_PORT=${BENCH_PORT:-55491}
declare -A PORT=([A]=$BASE_PORT [B]=$((BASE_PORT + 1))) ROOT=([A]=$A_PG [B]=$B_PG)
cleanup() { for x in A B; do as_pg "${ROOT[$x]}/usr/lib/postgresql/15/bin/pg_ctl" -D "$WORK/$x" -m immediate stop >/dev/null 2>&1 || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
q() { local x=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -h "$WORK" -p "${PORT[$x]}" -U postgres -d postgres -c "$1"; }
ticks() { awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$(head -n 1 "$WORK/$1/postmaster.pid")/stat"; }
HZ=$(getconf CLK_TCK)
for x in A B; do
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
  # signing, before anything is timed: per round a bulk table, a pgbench table, a batch set
  for r in $(seq "$ROUNDS"); do
    q "$x" "SELECT bench_signed.make_table('signed', 'bk$r'), bench_signed.make_table('signed', 'pb$r'),
                 bench_signed.make_table('signed', 'bt$r'), bench_signed.make_table('ledger', 'bk$r'),
                 bench_signed.make_table('ledger', 'pb$r'), bench_signed.make_table('ledger', 'bt$r')" >/dev/null
    q "$x" "SELECT bench_signed.stage_signed('public.signed_bk$r', ${r}000000000, 1, $BULK)" >/dev/null &
    q "$x" "SELECT bench_signed.stage_signed('public.signed_pb$r', ${r}500000000, 1, $STAGE)" >/dev/null &
    wait
    q "$x" "SELECT bench_signed.stage_batch_set('public.signed_bt$r', $r, $NBATCH, 1000)" >/dev/null
  done
  q "$x" "VACUUM ANALYZE bench_signed.stage_rows" ; q "$x" "VACUUM ANALYZE bench_signed.stage_batch_rows"; q "$x" "CHECKPOINT"
done
echo "| round | build | openssl verify/s | µs/verification | bulk signed µs/row | bulk ledger | bulk diff (verifications) | single signed µs/row | single ledger | single diff (verifications) | batch signed µs/row | batch ledger (100 tx) | batch ledger/signed CPU |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
pgb() { # pgb X TABLE BASE SCRIPT -> ticks per row *1e6/HZ
  local x=$1 t0 n rows
  t0=$(ticks "$x")
  PGOPTIONS="-c synchronous_commit=off" pgbench -h "$WORK" -p "${PORT[$x]}" -U postgres -n -f "$HERE/$4" -D tbl="$2" -D base="$3" \
    -D stride=$STAGE -D n=0 -c 1 -j 1 -T "$SECONDS_" postgres >/dev/null 2>&1
  sleep 0.5
  rows=$(q "$x" "SELECT count(*) FROM $2")
  [ "$rows" -lt "$STAGE" ] || { echo "raise BENCH_STAGE" >&2; exit 1; }
  awk -v a="$t0" -v b="$(ticks "$x")" -v n="$rows" -v hz="$HZ" 'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / n }'
}
for r in $(seq "$ROUNDS"); do
  for x in A B; do
    ossl=$(openssl speed -seconds 2 ed25519 2>/dev/null | awk '/EdDSA \(Ed25519\)/ { print $NF; exit }')
    us=$(awk -v o="$ossl" 'BEGIN { printf "%.1f", 1e6 / o }')
    bs=$(q "$x" "CALL bench_signed.timed('INSERT INTO public.signed_bk$r (battery, kind, at, soh, note, ledger_key_id, ledger_sig) SELECT battery, kind, at, soh, note, ledger_key_id, ledger_sig FROM bench_signed.stage_rows WHERE id BETWEEN ${r}000000001 AND ${r}000000000 + $BULK ORDER BY id')")
    bl=$(q "$x" "CALL bench_signed.timed('INSERT INTO public.ledger_bk$r (battery, kind, at, soh, note) SELECT battery, kind, at, soh, note FROM bench_signed.stage_rows WHERE id BETWEEN ${r}000000001 AND ${r}000000000 + $BULK ORDER BY id')")
    bsu=$(awk -v t="${bs#*|}" -v n="$BULK" -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    blu=$(awk -v t="${bl#*|}" -v n="$BULK" -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    ss=$(pgb "$x" signed_pb$r ${r}500000000 signed_insert.sql)
    sl=$(pgb "$x" ledger_pb$r ${r}500000000 signed_insert_unsigned.sql)
    ts=$(q "$x" "CALL bench_signed.load_batches('signed_bt$r', $r, true)")
    tl=$(q "$x" "CALL bench_signed.load_batches('ledger_bt$r', $r, false)")
    n=$((NBATCH * 1000))
    [ "$(q "$x" "SELECT count(*) FROM signed_bt$r")" = "$n" ] || { echo "batch load $x $r incomplete" >&2; exit 1; }
    tsu=$(awk -v t="${ts#*|}" -v n="$n" -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    tlu=$(awk -v t="${tl#*|}" -v n="$n" -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    awk -v r=$r -v x=$x -v o="$ossl" -v us="$us" -v bs="$bsu" -v bl="$blu" -v ss="$ss" -v sl="$sl" -v ts="$tsu" -v tl="$tlu" 'BEGIN {
      printf "| %s | %s | %.0f | %s | %s | %s | %.2f | %s | %s | %.2f | %s | %s | %.2fx |\n", r, x, o, us, bs, bl, (bs - bl) / us, ss, sl, (ss - sl) / us, ts, tl, tl / ts }'
  done
done
for x in A B; do q "$x" "SELECT count(*) FROM battledger.verify('signed_bt1')" | sed "s/^/verify(signed_bt1) problems on $x: /"; done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
