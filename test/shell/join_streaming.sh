#!/usr/bin/env bash
# join()'s subscription streams large transactions and applies them in
# commit order (0.25.0): PostgreSQL 18 makes a subscription's default
# streaming = parallel, where a large transaction's rows are applied by a
# parallel worker before the member's earlier commits are, and
# verify_member()'s seal rule (a row older than two seals that arrived
# after it, yet in no leaf) could report it falsely.  join() now says
# streaming = on on every version: the transaction is sent as it is
# decoded and applied here from a file at its commit.  On PostgreSQL 15
# this checks that the option is in join()'s CREATE SUBSCRIPTION and
# taken, that a transaction larger than the member's
# logical_decoding_work_mem is streamed (pg_stat_replication_slots), and
# that one written across two seals of other rows arrives whole and
# verifies, the status "ok".  JOIN_STREAM_PORT (default 56040; 2 ports).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"

bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
fail=0
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then echo "ok   - $what"; else echo "FAIL - $what: got '$got', want '$want'"; fail=1; fi; }
P=${JOIN_STREAM_PORT:-56040}
declare -A PORT=([a]=$P [g]=$((P + 1)))
declare -A ORIGIN=([a]=a.example/log [g]=g.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
N=4000

# a streams any transaction past 64 kB (the least logical_decoding_work_mem)
bl_member_start a "$W" "" "$BL_QUICK_RETRY
logical_decoding_work_mem = 64kB"
bl_member_start g "$W" "" "$BL_QUICK_RETRY"
for m in a g; do
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE soh (battery text, soh_pct numeric, note text);
SELECT battledger.enable_ledger('soh', 'battery');
SELECT battledger.publish_member();
SQL
done
bl_member_keys a
q a -c "INSERT INTO soh SELECT 'A' || i, 100 FROM generate_series(1, 10) i" -c "SELECT battledger.seal()" >/dev/null

# join()'s command, as printed, and as taken
cmd=$(q g -v origin="${ORIGIN[a]}" -v conn="host=$BL_WORK port=${PORT[a]} dbname=bl user=postgres" -v lv="${LOGV[a]}" <<'SQL'
BEGIN;
SELECT battledger.join(:'origin', :'conn', :'lv');
ROLLBACK;
SQL
)
check "join()'s CREATE SUBSCRIPTION says streaming = on" "$(grep -c 'streaming = on' <<<"$cmd")" 1
bl_join g a
check "g: the subscription to a streams (pg_subscription.substream)" \
  "$(q g -c "SELECT CASE substream::text WHEN 'true' THEN 't' ELSE substream::text END FROM pg_subscription")" t
# (boolean on 15, "char" f/t/p on 16 and later: 't' is "on" in both spellings)
bl_wait_for g "SELECT bool_and(srsubstate = 'r') FROM pg_subscription_rel" >/dev/null || true

# a transaction of N rows on chains of their own, open while a writes
# other rows and seals them twice, then committed and sealed
q a -c "BEGIN" -c "INSERT INTO soh SELECT 'L' || (i % 40), 90, repeat('x', 100) FROM generate_series(1, $N) i" \
    -c "SELECT pg_sleep(4)" -c "COMMIT" >/dev/null &
big=$!
sleep 1.5
for k in 1 2; do
  q a -c "INSERT INTO soh VALUES ('S$k', 80)" -c "SELECT battledger.seal()" >/dev/null
done
wait $big
q a -c "SELECT battledger.seal()" >/dev/null
total=$(q a -c "SELECT count(*) FROM soh")
bl_wait_for g "SELECT count(*) = $total FROM soh WHERE ledger_origin = 'a.example/log'" >/dev/null || true
check "g: every row of a arrived" "$(q g -c "SELECT count(*) FROM soh WHERE ledger_origin = 'a.example/log'")" "$total"
# the statistics of a's slot are flushed a moment after its walsender sends
bl_wait_for a "SELECT coalesce(sum(stream_txns), 0) > 0 FROM pg_stat_replication_slots" 50 >/dev/null || true
check "a: the large transaction was streamed to g (pg_stat_replication_slots.stream_txns)" \
  "$(q a -c "SELECT coalesce(sum(stream_txns), 0) > 0 FROM pg_stat_replication_slots")" t
bl_wait_for g "SELECT state = 'ok' FROM battledger.consortium_status()" 100 >/dev/null || true
check "g: verify_member(a) finds nothing" "$(q g -c "SELECT count(*) FROM battledger.verify_member('a.example/log')")" 0
check "g: a's chains verify" "$(q g -c "SELECT count(*) FROM battledger.verify('soh')")" 0
check "g: status of a ok, no reason" "$(q g -c "SELECT state || ':' || coalesce(reason, '') FROM battledger.consortium_status()")" "ok:"
exit $fail
