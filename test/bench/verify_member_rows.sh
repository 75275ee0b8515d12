#!/usr/bin/env bash
# test/bench/verify_member_rows.sh — what verify_member() costs at a member b
# that holds BENCH_ROWS rows of a member a, to compare two builds (0.24.0
# added its check of a's rows against a's leaves, row_not_in_log; run the
# same script against each build, as installed, and compare).
#
# Two throwaway clusters (test/lib/consortium.sh): a (port BENCH_PORT) and b
# (BENCH_PORT + 1), both with the unsigned ledger table public.bench_t
# chained by k (BENCH_CHAINS chains).  a writes BENCH_ROWS rows in four
# parts, sealing after each (two seals after most rows: the rule that names
# rows looks at them), plus BENCH_UNSEALED rows left in flight; b joins
# after the first part (its rows are copied) and receives the rest.  Then
# verify_member('a.example/log') at b, BENCH_RUNS times, after ANALYZE;
# prints each time and the median (ms), and the problems it returned (none
# expected; with BENCH_LOST, that many rows a's log never seals, written
# after the second part with their queue entries deleted: as many
# row_not_in_log).
#
# Since 0.25.0 an A/B in the same database by default: 0.24.0's
# verify_member() (two groupings of each table's leaves and rows; from the
# frozen upgrade script, test/lib/verify_member_0240.sh) as
# vm_0240.verify_member, interleaved with the installed one; prints both,
# the ratio of the medians and whether they return the same rows in the
# same order (BENCH_AB=0: the installed one only, as before).
#
# Uses the extension, the CLI and the TEST-ONLY signer as installed (builds
# nothing): PG_BIN names the PostgreSQL they are installed in.
#   BENCH_ROWS (default 10000), BENCH_CHAINS (100), BENCH_UNSEALED (100),
#   BENCH_LOST (0), BENCH_RUNS (5), BENCH_PORT (55836), BENCH_AB (1),
#   BENCH_HOLD (seconds to keep both clusters up at the end, for EXPLAIN)
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/verify_member_0240.sh"
BENCH_ROWS=${BENCH_ROWS:-10000}
BENCH_CHAINS=${BENCH_CHAINS:-100}
BENCH_UNSEALED=${BENCH_UNSEALED:-100}
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_LOST=${BENCH_LOST:-0}
P=${BENCH_PORT:-55836}
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([a]=$P [b]=$((P + 1)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log)
declare -A LOGV WITV
schema="CREATE EXTENSION battledger;
CREATE TABLE public.bench_t (k int, v text);
SELECT battledger.enable_ledger('public.bench_t', 'k');
SELECT battledger.publish_member();"
part() {  # rows $1 .. $2 at a
  bl_mq a -c "INSERT INTO public.bench_t SELECT i % $BENCH_CHAINS, md5(i::text) FROM generate_series($1, $2) i" >/dev/null
}
for m in a b; do
  bl_member_start $m "$W" "" "$BL_QUICK_RETRY"
  bl_mq $m >/dev/null <<<"$schema"
  bl_member_keys $m
done
third=$((BENCH_ROWS / 3))
part 1 "$third"
bl_mq a -c "SELECT battledger.seal()" >/dev/null
bl_join b a
# the copy done before the next seals (seals stored while it runs are kept
# unverified and not counted by the rule)
bl_wait_for b "SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate <> 'r'" 600 >/dev/null || exit 1
part $((third + 1)) $((2 * third))
bl_mq a -c "SELECT battledger.seal()" >/dev/null
if [ "$BENCH_LOST" -gt 0 ]; then  # rows a's log never seals: their queue entries deleted
  bl_mq a -c "BEGIN" -c "INSERT INTO public.bench_t SELECT i % $BENCH_CHAINS, 'lost' || i FROM generate_series(1, $BENCH_LOST) i" \
             -c "DELETE FROM battledger.log_pending" -c "COMMIT" >/dev/null
fi
half=$(( (2 * third + BENCH_ROWS) / 2 ))
part $((2 * third + 1)) "$half"
bl_mq a -c "SELECT battledger.seal()" >/dev/null
part $((half + 1)) "$BENCH_ROWS"
bl_mq a -c "SELECT battledger.seal()" >/dev/null
part $((BENCH_ROWS + 1)) $((BENCH_ROWS + BENCH_UNSEALED))
want=$((BENCH_ROWS + BENCH_UNSEALED + BENCH_LOST))
bl_wait_for b "SELECT count(*) = $want FROM public.bench_t WHERE ledger_origin = 'a.example/log'" 600 >/dev/null || exit 1
bl_wait_for b "SELECT coalesce(max(tree_size), 0) >= $BENCH_ROWS FROM battledger.peer_checkpoint WHERE origin = 'a.example/log' AND frontier IS NOT NULL" 600 >/dev/null || exit 1
bl_mq b -c "ANALYZE" >/dev/null
# A/B in the same database: 0.24.0's verify_member() (vm_0240.verify_member,
# from the frozen upgrade script) against the installed one, runs
# interleaved (old, this, old, this, ...); BENCH_AB=0: the installed one only
BENCH_AB=${BENCH_AB:-1}
fns=(battledger.verify_member)
if [ "$BENCH_AB" = 1 ]; then
  vm_0240_sql | bl_mq b >/dev/null || exit 1
  fns=(vm_0240.verify_member battledger.verify_member)
fi
declare -A times cpu
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$BENCH_RUNS"); do
  for f in "${fns[@]}"; do
    # wall ms, and the backend's CPU ms (utime + stime from its /proc
    # stat, 10 ms ticks): on a shared machine the wall time is mostly the
    # other processes'
    t=$(bl_mq b -v fn="$f" <<'SQL' | tail -1
SELECT pg_catalog.pg_read_file('/proc/' || pg_backend_pid() || '/stat') AS st0, clock_timestamp() AS t0 \gset
SELECT count(*) FROM :fn('a.example/log') \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1000) || ' ' ||
       ((split_part(split_part(s1, ') ', 2), ' ', 12)::int + split_part(split_part(s1, ') ', 2), ' ', 13)::int
         - split_part(split_part(:'st0', ') ', 2), ' ', 12)::int - split_part(split_part(:'st0', ') ', 2), ' ', 13)::int) * 10)
  FROM pg_catalog.pg_read_file('/proc/' || pg_backend_pid() || '/stat') s1;
SQL
)
    times[$f]+="${t% *} "; cpu[$f]+="${t#* } "
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
med() { printf '%s\n' $1 | sort -n | sed -n "$(( (BENCH_RUNS + 1) / 2 ))p"; }
for f in "${fns[@]}"; do
  echo "rows $BENCH_ROWS (+$BENCH_UNSEALED in flight, $BENCH_LOST lost), chains $BENCH_CHAINS: $f() ms: ${times[$f]}"
  echo "  median ms: $(med "${times[$f]}")"
  echo "  backend CPU ms: ${cpu[$f]}(median $(med "${cpu[$f]}"))"
  echo "  problems: $(bl_mq b -v fn="$f" <<'SQL'
SELECT coalesce(string_agg(n || ' ' || tbl || ' ' || problem, '; '), 'none') FROM (SELECT tbl, problem, count(*) AS n FROM :fn('a.example/log') GROUP BY 1, 2) p
SQL
)"
done
if [ "$BENCH_AB" = 1 ]; then
  echo "this / 0.24.0 (medians): wall $(awk -v a="$(med "${times[vm_0240.verify_member]}")" -v b="$(med "${times[battledger.verify_member]}")" 'BEGIN { printf "%.2f", b / a }'), backend CPU $(awk -v a="$(med "${cpu[vm_0240.verify_member]}")" -v b="$(med "${cpu[battledger.verify_member]}")" 'BEGIN { printf "%.2f", b / a }')"
  echo "same rows in the same order: $(bl_mq b <<'SQL'
SELECT (SELECT coalesce(array_agg(ROW(x.tbl, x.problem, x.detail)::text ORDER BY x.i), '{}') FROM vm_0240.verify_member('a.example/log') WITH ORDINALITY x(tbl, problem, detail, i))
     = (SELECT coalesce(array_agg(ROW(x.tbl, x.problem, x.detail)::text ORDER BY x.i), '{}') FROM battledger.verify_member('a.example/log') WITH ORDINALITY x(tbl, problem, detail, i));
SQL
)"
fi
[ -n "${BENCH_HOLD:-}" ] && { echo "holding at $BL_WORK"; sleep "$BENCH_HOLD"; }
