#!/usr/bin/env bash
# Faults under load (issue 11, "Proof"): three members a, b, c of a battery
# registry write signed events concurrently (pgbench, several clients per
# member, each transaction one signed soh_reported event: a chain per
# battery and member, so several clients extend the same chains and the heap
# holds them out of chain order), and a fourth member d joins while they
# write.  Then, with the load still running:
#   1. d joins a, b and c (and they join d) under concurrent writes;
#   2. d joins b again (drop the subscription, join) under concurrent writes;
#   3. b's superuser forges a row behind the triggers on one chain, and b's
#      clients keep writing legitimate rows on that chain: a, c and d refuse
#      it (subscription stopped), quarantine that chain, re-enable, keep
#      receiving everything else from b, and release_chain() keeps the forged
#      row and the rows linking to it held, as evidence;
#   4. d is away while a writes past max_slot_wal_keep_size: d's slot at a is
#      invalidated, d's status says so, and the documented recovery (a re-join)
#      brings d back while everyone writes;
#   5. c is killed with kill -9 mid-stream, and restarted.
# After each, once the load stopped and every member sealed: every member
# holds the same rows (a digest per ledger table and origin), computes the
# same passport() and battery_history() for every battery, and verify(),
# verify_log() and verify_member() are clean — or the disagreement is the
# one the fault left and is reported as evidence (the forged chain: held at
# a, c, d; named by b's own verify()/verify_log()).
# Item 3's two conflicting-write races are in test/shell/registry_races.sh.
#
# Bounded for CI: the load windows are short (3 s per LOAD_S), and every
# step waits on the fact it needs (rows written, out of heap order, copies
# ready, slots lost) rather than sleeping; the launcher retries workers every
# second, not 5 s; each member runs its after-fault checks in parallel with
# the others.  Measured on the shared 2-vCPU machine, one after the other at
# load average 0.1-5: this script 95 s, 0.4.0's 152 s (85 checks each); side
# by side at load average 14-19: 573 s and 768 s.  FAULTS_LONG=1 runs each load window longer, at a higher
# rate, with more batteries.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"

if [ "${FAULTS_LONG:-0}" = 1 ]; then
  LOAD_S=20; RATE=120; CLIENTS=4; NBAT=12; TIMEOUT=600
else
  LOAD_S=3; RATE=40; CLIENTS=3; NBAT=6; TIMEOUT=120
fi
# FAULTS_PORT_BASE=P runs a, b, c, d on ports P..P+3 (default 55481..55484:
# other scripts use these ports too, so two runs side by side need another base)
PORT_BASE=${FAULTS_PORT_BASE:-55481}
# FAULTS_SKIP_QUARANTINE=1 leaves out the quarantine step of fault 3 (to see
# the test fail: b's rows stop reaching the others)
SKIP_QUARANTINE=${FAULTS_SKIP_QUARANTINE:-0}

bl_scratch
W=$BL_WORK/faults; mkdir -p "$W"; chmod 777 "$W"
fail=0
T0=$(date +%s)
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
elapsed() { echo "$(( $(date +%s) - T0 )) s"; }

MEMBERS="a b c d"
declare -A PORT=([a]=$PORT_BASE [b]=$((PORT_BASE + 1)) [c]=$((PORT_BASE + 2)) [d]=$((PORT_BASE + 3)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [c]=c.example/log [d]=d.example/log)
# the organisation each member hosts, its roles, and the batteries it reports on
declare -A ORG=([a]=oem-a.example [b]=oem-b.example [c]=fleet-c.example [d]=fleet-d.example)
declare -A ROLES=([a]="pack_maker,oem,fleet_operator" [b]="pack_maker,oem,fleet_operator"
                  [c]=fleet_operator [d]=fleet_operator)
declare -A LOGV WITV
UP="a b c"                               # members in the consortium so far
q() { bl_mq "$@"; }
dump_state() {
  for l in "$BL_WORK"/[abcd].log; do [ -f "$l" ] && { echo "-- errors in $l"; grep -A2 -E "ERROR|WARNING|FATAL" "$l" | tail -n 16; }; done
  for o in $UP; do
    echo "-- at $o: subscriptions, unfinished table syncs, status"
    q "$o" -c "SELECT subname, subenabled FROM pg_subscription" \
           -c "SELECT srrelid::regclass, srsubstate FROM pg_subscription_rel WHERE srsubstate <> 'r'" \
           -c "SELECT member, state, reason FROM battledger.consortium_status()" 2>&1 || true
  done
}
# bl_wait_for: TIMEOUT seconds, and the state of every member on a timeout
BL_WAIT_TRIES=$((TIMEOUT * 5))
bl_on_timeout() { dump_state; }

# --- the members -------------------------------------------------------------
start_member() {
  local m=$1
  bl_member_start "$m" "$W" witness "max_connections = 40
wal_receiver_timeout = 10s
# the launcher (re)starts an apply worker at most once per this interval
# (default 5 s): joins, re-joins and restarts would wait it out
wal_retrieve_retry_interval = 1s"
  q "$m" -v org="${ORG[$m]}" -v roles="{${ROLES[$m]}}" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY: signs with seeds given in SQL
CREATE SCHEMA fault;
CREATE TABLE fault.me (org text NOT NULL);
INSERT INTO fault.me VALUES (:'org');
-- the batteries this member reports usage for (local, not replicated)
CREATE TABLE fault.writable (n int PRIMARY KEY, serial text NOT NULL);
CREATE FUNCTION fault.bid(serial text) RETURNS battledger.battery_id LANGUAGE sql IMMUTABLE AS $$
    SELECT ('https://id.gs1.org/01/09521234567899/21/' || serial)::battledger.battery_id $$;
-- a member's application: sign with its (TEST-ONLY) key, insert
CREATE FUNCTION fault.ev(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event,
        j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r));
      INSERT INTO battledger.battery_event SELECT r.*; END $$;
CREATE FUNCTION fault.model(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_model := jsonb_populate_record(NULL::battledger.battery_model,
        j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r));
      INSERT INTO battledger.battery_model SELECT r.*; END $$;
-- what one pgbench transaction does: a signed usage report for one of this
-- member's batteries.  It names the pgbench client that wrote it: two
-- clients reporting the same value on the same battery in the same
-- microsecond (seen once at c in the reproduction runs for 0.27.0) signed
-- the same bytes, and the second was refused, rightly, as a signature
-- written twice (the ledger_sig unique index: 23505, its client aborted)
CREATE FUNCTION fault.report(i int, client int DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $$
DECLARE s text; org text;
BEGIN
    SELECT w.serial INTO s FROM fault.writable w WHERE w.n = i % (SELECT count(*) FROM fault.writable);
    SELECT me.org INTO org FROM fault.me me;
    PERFORM fault.ev(org, jsonb_build_object('battery_id', fault.bid(s)::text, 'event', 'soh_reported',
        'occurred_at', clock_timestamp(), 'data', jsonb_strip_nulls(jsonb_build_object('soh_pct', 70 + i % 30, 'by', org,
                                                                                     'client', client))));
END $$;

-- What every member must agree on, as "kind|name|count|md5" lines: each
-- ledger table's rows per origin (the whole row as text), and per battery
-- the public passport and the history (battery_history() without leaf_index
-- and sealed, which name the member's own log: see below).  Rows of the
-- chain (x_origin, battery x_battery) from position x_from on are left out:
-- a fault may leave them held at some members and stored at others.
CREATE FUNCTION fault.digest(x_origin text DEFAULT NULL, x_battery text DEFAULT NULL, x_from bigint DEFAULT NULL)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE t record; r record;
BEGIN
    FOR t IN SELECT l.tbl FROM battledger.ledger_tables l ORDER BY l.tbl::text LOOP
        FOR r IN EXECUTE format(
            'SELECT x.ledger_origin AS o, count(*) AS n, md5(string_agg(x::text, E''\n'' ORDER BY x::text)) AS h
               FROM %s x %s GROUP BY x.ledger_origin ORDER BY 1', t.tbl,
            CASE WHEN t.tbl = 'battledger.battery_event'::regclass AND x_origin IS NOT NULL THEN
                format('WHERE NOT (x.ledger_origin = %L AND x.battery_id::text = %L AND x.ledger_seq >= %s)',
                       x_origin, x_battery, x_from) ELSE '' END) LOOP
            RETURN NEXT format('rows|%s %s|%s|%s', t.tbl, r.o, r.n, r.h);
        END LOOP;
    END LOOP;
    FOR r IN SELECT e.battery_id, e.battery_id::text AS b FROM battledger.battery_event e
              WHERE e.event = 'manufactured' ORDER BY 2 LOOP
        RETURN NEXT format('passport|%s|1|%s', r.b, md5(battledger.passport(r.battery_id)::text));
        RETURN NEXT (SELECT format('history|%s|%s|%s', r.b, count(*),
                            md5(string_agg(concat_ws(' ', h.seq, h.event, h.occurred_at, h.signer, h.new_status,
                                                     h.passport_id, h.ledger_hash), E'\n' ORDER BY h.ord)))
                       FROM battledger.battery_history(r.battery_id) WITH ORDINALITY h(seq, event, occurred_at, signer,
                                new_status, passport_id, ledger_hash, leaf_index, sealed, ord)
                      WHERE h.ledger_hash::text NOT IN (SELECT e.ledger_hash::text FROM battledger.battery_event e
                                                   WHERE e.ledger_origin = x_origin AND e.battery_id::text = x_battery
                                                     AND e.ledger_seq >= x_from));
    END LOOP;
END $$;
SELECT battledger.publish_member();
SQL
  q "$m" -c "SELECT battledger.add_member('${ORG[$m]}', '{${ROLES[$m]}}'),
                    battledger.add_key('${ORG[$m]}', battledger_test.public_key(battledger_test.seed('${ORG[$m]}')))" >/dev/null
  bl_member_keys "$m" witness
}
# join SUBSCRIBER MEMBER: the subscriber pins the member's keys and subscribes
join() { bl_join "$1" "$2"; }
sub_of() { q "$1" -c "SELECT subscription FROM battledger.consortium_member WHERE origin = '${ORIGIN[$2]}'"; }
# rejoin SUBSCRIBER MEMBER: the documented recovery (docs/consortium.md,
# "A member's slot was lost"): drop the subscription (and its slot at the
# member, if still there), forget the member, join again
rejoin() {
  local s=$1 m=$2 sub
  sub=$(sub_of "$s" "$m")
  q "$s" -c "ALTER SUBSCRIPTION $sub DISABLE" -c "ALTER SUBSCRIPTION $sub SET (slot_name = NONE)" \
         -c "DROP SUBSCRIPTION $sub" -c "DELETE FROM battledger.consortium_member WHERE origin = '${ORIGIN[$m]}'" >/dev/null
  bl_wait_for "$m" "SELECT NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '$sub' AND active)"
  q "$m" -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$sub'" >/dev/null
  join "$s" "$m"
}

# --- the load ----------------------------------------------------------------
cat > "$W/report.pgbench" <<'PGB'
\set i random(0, 1000000)
SELECT fault.report(:i, :client_id);
PGB
chmod 644 "$W/report.pgbench"
declare -A LOADPID LOADBASE
own_rows() { q "$1" -c "SELECT count(*) FROM battledger.battery_event WHERE ledger_origin = '${ORIGIN[$1]}'"; }
# load_start SECONDS MEMBER...: pgbench at each member, in the background
load_start() {
  local secs=$1 m; shift
  for m in "$@"; do
    LOADBASE[$m]=$(own_rows "$m")
    # --verbose-errors: pgbench (15+) counts a transaction that failed with a
    # serialization or deadlock error as failed, says nothing and exits 0
    # (load_wait reads the count); with it, each such error is printed
    pgbench -n -h "$BL_WORK" -p "${PORT[$m]}" -c "$CLIENTS" -j 1 -T "$secs" -R "$RATE" --verbose-errors \
      -f "$W/report.pgbench" bl >"$W/pgbench-$m.out" 2>&1 &
    LOADPID[$m]=$!
  done
}
# load_running MEMBER...: until each member's clients have committed rows
load_running() {
  local m
  for m in "$@"; do
    bl_wait_for "$m" "SELECT count(*) >= ${LOADBASE[$m]} + $CLIENTS FROM battledger.battery_event WHERE ledger_origin = '${ORIGIN[$m]}'"
  done
}
# load_wait MEMBER...: each pgbench must have finished without a failed
# transaction: exit status 0 (an error other than a serialization failure or
# a deadlock aborts its client: status 2), no error printed, and none counted
# failed (those two pgbench retries with --max-tries, counts and goes on)
load_wait() {
  local m rc
  for m in "$@"; do
    rc=0; wait "${LOADPID[$m]}" || rc=$?
    local n nf got
    n=$(awk '/number of transactions actually processed/ { print $NF }' "$W/pgbench-$m.out" | cut -d/ -f1)
    nf=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$W/pgbench-$m.out")
    got="$rc:$(grep -c 'ERROR' "$W/pgbench-$m.out" || true):${nf:-none}"
    check "$m: pgbench wrote ${n:-0} signed events, no failed transaction" test "$got" = "0:0:0"
    # (a failed client's error, and the member's, for the log: the scratch
    # directory is gone once the scenario ends)
    if [ "$got" != "0:0:0" ]; then
      echo "# pgbench at $m exited $rc, ${nf:-no count of} failed transactions; its errors:"
      grep -B1 -A3 'ERROR\|error' "$W/pgbench-$m.out" | head -n 20 | sed 's/^/#   /' || true
      echo "# $m's server log, its last errors:"; grep -A3 -E 'ERROR|FATAL' "$BL_WORK/$m.log" | tail -n 20 | sed 's/^/#   /' || true
    fi
  done
}

# --- the checks after each fault ---------------------------------------------
X_ORIGIN=""; X_BATTERY=""; X_FROM=""     # the chain fault 3 leaves held (none before)
digest_of() {
  q "$1" -v xo="$X_ORIGIN" -v xb="$X_BATTERY" -v xf="${X_FROM:-0}" \
    <<<"SELECT fault.digest(NULLIF(:'xo', ''), NULLIF(:'xb', ''), NULLIF(:'xf', '0')::bigint)"
}
# every member holds what the first one holds (rows, passports, histories);
# the members compute their digests at the same time.  2: the first one's
# digest failed; 1: another's did (in the middle of a copy), or they differ.
# Both are waited out (a real failure still ends at TIMEOUT): the first
# member's digest also fails for a while, "no battery ... in the registry"
# for a battery whose manufactured row it holds while the other members'
# rows are still arriving (a clean-clone CI on a loaded machine failed at
# the setup's first check when this gave up at once)
converged() {
  local first m rc=0
  first=${UP%% *}
  declare -A pid
  for m in $UP; do digest_of "$m" > "$W/digest-now-$m" & pid[$m]=$!; done
  for m in $UP; do
    if ! wait "${pid[$m]}"; then [ "$m" = "$first" ] && rc=2 || rc=${rc/0/1}; fi
  done
  [ $rc = 0 ] || return $rc
  for m in $UP; do cmp -s "$W/digest-now-$first" "$W/digest-now-$m" || return 1; done
}
wait_converged() {
  local i rc
  for i in $(seq 1 $((TIMEOUT * 2))); do
    rc=0; converged || rc=$?
    [ $rc = 0 ] && return 0
    sleep 0.5
  done
  echo "timed out waiting for the members to converge"
  for m in $UP; do digest_of "$m" > "$W/digest-$m"; done
  for m in $UP; do diff "$W/digest-${UP%% *}" "$W/digest-$m" | head -n 20 | sed "s/^/  [$m] /"; done
  dump_state
  return 1
}
# member_checks MEMBER NAME: what after_fault checks at one member
member_checks() {
  local m=$1 name=$2 o prob expect
  # verify() of every ledger table, verify_log(), verify_member() of every other member
  prob=$(q "$m" -c "SELECT string_agg(format('verify(%s) %s %s %s: %s', l.tbl, v.origin, v.chain_key, v.seq, v.problem), E'\n' ORDER BY 1)
                      FROM battledger.ledger_tables l, battledger.verify(l.tbl) v" \
                -c "SELECT string_agg(format('verify_log %s %s', problem, ref), E'\n') FROM battledger.verify_log()")
  for o in $UP; do
    [ "$m" = "$o" ] && continue
    prob+=$(q "$m" -c "SELECT string_agg(format('verify_member(%s) %s', '$o', problem), E'\n' ORDER BY problem)
                        FROM (SELECT DISTINCT problem FROM battledger.verify_member('${ORIGIN[$o]}')) v")
  done
  expect=""
  if [ -n "$X_ORIGIN" ]; then       # fault 3's evidence, and only it
    if [ "$m" = b ]; then
      expect="verify(battledger.battery_event) b.example/log $X_BATTERY $X_FROM: bad_signature
verify_log row_not_in_log $X_FROM"
    else
      # held_back: the rows held.  b sealed the legitimate rows after the
      # forged one; its log's leaves name rows held here, which were
      # received (held_back names them; before ops20 F2 they were also
      # named leaf_without_row, "not received")
      expect="verify_member(b) held_back"
    fi
  fi
  prob=$(sed '/^$/d' <<<"$prob")
  check "$name: $m: verify(), verify_log(), verify_member() clean$([ -n "$expect" ] && echo ", but for the forged chain's evidence")" \
    test "$prob" = "$expect"
  [ "$prob" = "$expect" ] || { echo "  found:"; sed 's/^/    /' <<<"$prob"; echo "  expected:"; sed 's/^/    /' <<<"$expect"; }
  # since 0.12.0 a member whose worker restarted after apply errors (a
  # member killed in the fault) is "failing" until that worker has run
  # three wal_retrieve_retry_intervals, at least 30 s: wait that long
  local st="SELECT string_agg(CASE WHEN member = 'b.example/log' AND state = 'quarantined' THEN 'ok' ELSE state END, ',') FROM battledger.consortium_status()"
  for i in $(seq 1 225); do
    [ "$(q "$m" -c "$st" | tr ',' '\n' | sort -u)" = ok ] && break
    sleep 0.2
  done
  check "$name: $m: consortium_status() ok for every member$([ -n "$X_ORIGIN" ] && [ $m != b ] && echo " (b: quarantined)")" \
    test "$(q "$m" -c "SELECT string_agg(CASE WHEN member = 'b.example/log' AND state = 'quarantined' THEN 'ok' ELSE state END, ',') FROM battledger.consortium_status()" | tr ',' '\n' | sort -u)" = ok
}
# after_fault NAME: every member seals; the logs are witnessed; then the checks
after_fault() {
  local name=$1 m o ref prob expect
  echo "# checks after: $name ($(elapsed))"
  wait_converged || { fail=1; return 0; }
  declare -A pid
  for m in $UP; do q "$m" -c "SELECT battledger.seal()" >/dev/null & pid[$m]=$!; done
  for m in $UP; do wait "${pid[$m]}" || fail=1; done
  for m in $UP; do for o in $UP; do
    [ "$m" = "$o" ] && continue
    bl_wait_for "$m" "SELECT coalesce(max(tree_size), 0) = $(q "$o" -c "SELECT coalesce(max(tree_size), 0) FROM battledger.checkpoint")
                     FROM battledger.peer_checkpoint WHERE origin = '${ORIGIN[$o]}'" || { fail=1; return 0; }
  done; done
  ref=$(digest_of "${UP%% *}")
  check "$name: every member holds the same rows, passports and histories ($(grep -c '^rows' <<<"$ref") table/origin digests, $(grep -c '^passport' <<<"$ref") batteries, $(awk -F'|' '/^rows\|battledger.battery_event/ { n += $3 } END { print n }' <<<"$ref") events)" converged
  # each member's checks (verify(), verify_log(), verify_member() of each
  # other member, the status) run at the same time as the others'; their
  # output is printed in member order
  for m in $UP; do
    ( fail=0; member_checks "$m" "$name"; exit $fail ) > "$W/checks-$m" 2>&1 & pid[$m]=$!
  done
  for m in $UP; do
    wait "${pid[$m]}" || fail=1
    cat "$W/checks-$m"
  done
  if [ -n "$X_ORIGIN" ]; then
    # the disagreement, as evidence: each other member holds back exactly
    # b's rows of the chain from the forged one on, never stored them
    local want
    want=$(q b -c "SELECT string_agg(ledger_seq::text, ',' ORDER BY ledger_seq) FROM battledger.battery_event
                    WHERE ledger_origin = 'b.example/log' AND battery_id::text = '$X_BATTERY' AND ledger_seq >= $X_FROM")
    for m in $UP; do
      [ "$m" = b ] && continue
      check "$name: $m holds back b's forged row and the $(( $(tr -cd , <<<"$want" | wc -c) )) rows after it (seq $X_FROM..), stores none of them" \
        test "$(q "$m" -c "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM battledger.held_row WHERE origin = 'b.example/log' AND chain_key = '$X_BATTERY'"):$(q "$m" -c "SELECT count(*) FROM battledger.battery_event WHERE ledger_origin = 'b.example/log' AND battery_id::text = '$X_BATTERY' AND ledger_seq >= $X_FROM")" = "$want:0"
    done
  fi
}

# ============================================================================
# Setup: a, b, c; a and b make and place their batteries; everyone joins
# everyone; the setup converges before any load.
# ============================================================================
for m in a b c; do start_member "$m"; done
for m in a b; do
  S=${m^^}
  q "$m" -v org="${ORG[$m]}" -v S="$S" -v nbat="$NBAT" >/dev/null <<'SQL'
SELECT fault.model(:'org', jsonb_build_object('model_id', 'M-' || :'S', 'manufacturer', :'org', 'category', 'ev',
       'chemistry', 'NMC / graphite', 'rated_capacity_ah', 60, 'nominal_voltage_v', 3.7, 'mass_kg', 0.9));
SELECT count(*) FROM (
  SELECT fault.ev(:'org', jsonb_build_object('battery_id', fault.bid(:'S' || i)::text, 'event', 'manufactured',
                  'model_id', 'M-' || :'S', 'occurred_at', '2026-01-01T00:00:00Z')),
         fault.ev(:'org', jsonb_build_object('battery_id', fault.bid(:'S' || i)::text, 'event', 'placed_on_market',
                  'passport_id', 'urn:bp:' || :'S' || i || ':1', 'occurred_at', '2026-01-02T00:00:00Z')),
         fault.ev(:'org', jsonb_build_object('battery_id', fault.bid(:'S' || i)::text, 'event', 'installed',
                  'occurred_at', '2026-01-03T00:00:00Z'))
    FROM generate_series(1, :nbat) i) x;
SQL
done
# who reports on which batteries: a on its own, b on its own and half of a's,
# c and d on all of them (usage reports of different members commute)
q a -c "INSERT INTO fault.writable SELECT i - 1, 'A' || i FROM generate_series(1, $NBAT) i"
q b -c "INSERT INTO fault.writable SELECT row_number() OVER () - 1, s FROM (SELECT 'B' || i s FROM generate_series(1, $NBAT) i UNION ALL SELECT 'A' || i FROM generate_series(1, $NBAT / 2) i) x"
q c -c "INSERT INTO fault.writable SELECT row_number() OVER () - 1, s FROM (SELECT 'A' || i s FROM generate_series(1, $NBAT) i UNION ALL SELECT 'B' || i FROM generate_series(1, $NBAT) i) x"
for m in a b c; do for o in a b c; do [ "$m" != "$o" ] && join "$m" "$o"; done; done
wait_converged
echo "# setup done ($(elapsed))"

# ============================================================================
# 1. d joins while a, b, c write
# ============================================================================
OUT_OF_ORDER="SELECT count(*) FROM (SELECT ledger_seq < lag(ledger_seq) OVER (PARTITION BY battery_id, ledger_origin ORDER BY ctid) AS back FROM battledger.battery_event) x WHERE back"
load_start $((LOAD_S * 2)) a b c
# d joins once the chains are out of heap order at a (what its copy must accept)
bl_wait_for a "SELECT ($OUT_OF_ORDER) > 0"
start_member d
q d -c "INSERT INTO fault.writable SELECT row_number() OVER () - 1, s FROM (SELECT 'A' || i s FROM generate_series(1, $NBAT) i UNION ALL SELECT 'B' || i FROM generate_series(1, $NBAT) i) x"
for o in a b c; do join d "$o"; join "$o" d; done
UP="a b c d"
load_wait a b c
# d's table copies finished, the out-of-order heaps were taken whole
for o in a b c; do
  bl_wait_for d "SELECT bool_and(r.srsubstate = 'r') FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
               WHERE s.subname = '$(sub_of d "$o")'"
done
check "1: the members' chains are out of heap order (what the copy must accept): $(q a -c "$OUT_OF_ORDER") rows at a" \
  test "$(q a -c "SELECT ($OUT_OF_ORDER) > 0")" = t
check "1: d refused nothing while copying" test "$(q d -c "SELECT count(*) FROM battledger.rejections")" = 0
after_fault "1 (d joined under load)"

# ============================================================================
# 2. d joins b again, while everyone writes (d too, from now on)
# ============================================================================
load_start $((LOAD_S * 2)) a b c d
load_running a b c d
rejoin d b
load_wait a b c d
bl_wait_for d "SELECT bool_and(r.srsubstate = 'r') FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
             WHERE s.subname = '$(sub_of d b)'"
check "2: d re-joined b: nothing refused, cosignatures not duplicated, subscription enabled" \
  test "$(q d -c "SELECT count(*) FROM battledger.rejections"):$(q d -c "SELECT count(*) = count(DISTINCT (log_origin, tree_size, witness)) FROM battledger.cosignature"):$(q d -c "SELECT subenabled FROM pg_subscription WHERE subname = '$(sub_of d b)'")" = "0:t:t"
after_fault "2 (d re-joined b under load)"

# ============================================================================
# 3. a forged row on one of b's chains, then b's legitimate rows on it
# ============================================================================
X_SERIAL=B1
X_BATTERY=$(q b -c "SELECT fault.bid('$X_SERIAL')::text")
load_start $((LOAD_S * 3)) a b c d
load_running a b c d
# b's superuser, behind the triggers, in one transaction (its clients wait on
# the table lock): a row with a valid hash and link, and a signature that is not
X_FROM=$(q b -v xb="$X_BATTERY" <<'SQL'
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.battery_event DISABLE TRIGGER USER;
CREATE TEMP TABLE forged ON COMMIT DROP AS
  SELECT * FROM battledger.battery_event
   WHERE ledger_origin = 'b.example/log' AND battery_id::text = :'xb' ORDER BY ledger_seq DESC LIMIT 1;
UPDATE forged SET ledger_prev = ledger_hash, ledger_seq = ledger_seq + 1, ledger_at = clock_timestamp(),
                  occurred_at = clock_timestamp(), data = '{"soh_pct": 99, "by": "forged"}',
                  ledger_sig = decode(repeat('ab', 64), 'hex'), ledger_batch = NULL;
UPDATE forged f SET ledger_hash = battledger.chain_hash(f.ledger_prev, f.ledger_seq, battledger.row_bytes(f::text::battledger.battery_event));
INSERT INTO battledger.battery_event SELECT * FROM forged;
SELECT ledger_seq FROM forged;
ALTER TABLE battledger.battery_event ENABLE TRIGGER USER;
ALTER TABLE battledger.battery_event ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER TABLE battledger.battery_event ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
COMMIT;
SQL
)
X_ORIGIN=b.example/log
echo "# forged $X_SERIAL at b, position $X_FROM ($(elapsed))"
# b's application writes on the forged chain (its pgbench clients may, on a
# busy machine, not reach that battery before their window ends)
q b -v xs="$X_SERIAL" >/dev/null <<'SQL'
SELECT fault.ev(me.org, jsonb_build_object('battery_id', fault.bid(:'xs')::text, 'event', 'soh_reported',
       'occurred_at', clock_timestamp(), 'data', jsonb_build_object('soh_pct', 80 - g, 'by', me.org)))
  FROM fault.me me, generate_series(1, 3) g;
SQL
for m in a c d; do
  bl_wait_for "$m" "SELECT count(*) > 0 FROM battledger.rejections WHERE origin = 'b.example/log' AND problem = 'bad_signature'"
  bl_wait_for "$m" "SELECT state = 'stopped' FROM battledger.consortium_status() WHERE member = 'b.example/log'"
done
check "3: a, c, d refused the forged row (bad_signature) and stopped b's subscription" true
if [ "$SKIP_QUARANTINE" != 1 ]; then
  for m in a c d; do
    q "$m" -c "SELECT battledger.quarantine_chain('b.example/log', 'battledger.battery_event', '$X_BATTERY', 'forged row at position $X_FROM')" \
           -c "ALTER SUBSCRIPTION $(sub_of "$m" b) ENABLE" >/dev/null
  done
fi
load_wait a b c d
check "3: b went on writing legitimate rows on the forged chain" \
  test "$(q b -c "SELECT count(*) > 0 FROM battledger.battery_event WHERE ledger_origin = 'b.example/log' AND battery_id::text = '$X_BATTERY' AND ledger_seq > $X_FROM")" = t
for m in a c d; do
  bl_wait_for "$m" "SELECT state = 'quarantined' FROM battledger.consortium_status() WHERE member = 'b.example/log'" || fail=1
done
# release: the held rows are re-checked; none extends the chain, all stay held
rel=$(q a -c "SELECT string_agg(DISTINCT split_part(split_part(outcome, '(', 2), ')', 1), ',') FROM battledger.release_chain('b.example/log', 'battledger.battery_event', '$X_BATTERY')")
check "3: release_chain() at a re-checked the held rows and kept them (bad_signature, missing_rows)" \
  test "$rel:$(q a -c "SELECT count(*) FROM battledger.quarantine")" = "bad_signature,missing_rows:1"
after_fault "3 (forged row, quarantine, release)"

# ============================================================================
# 4. d's slot at a is invalidated (max_slot_wal_keep_size) while d is away
# ============================================================================
SUB_DA=$(sub_of d a)
load_start "$LOAD_S" a b c d
load_running a b c d
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/d" -m fast stop >/dev/null
load_wait a b c
wait "${LOADPID[d]}" || true           # d's own clients lost their server: expected
q a -c "ALTER SYSTEM SET max_slot_wal_keep_size = '32MB'" -c "SELECT pg_reload_conf()" >/dev/null
# a writes on in segments; between them b and c confirm (their slots move on), d cannot
for i in $(seq 1 12); do
  q a -c "SELECT fault.report(g) FROM generate_series(1, 20) g" >/dev/null
  lsn=$(q a -c "SELECT pg_switch_wal()")
  q a -c "CHECKPOINT"
  [ "$(q a -c "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '$SUB_DA'")" = lost ] && break
  for m in b c; do      # the checkpoint's running-xacts record, past the switch, confirmed
    bl_wait_for a "SELECT restart_lsn > '$lsn' OR wal_status = 'lost' FROM pg_replication_slots WHERE slot_name = '$(sub_of "$m" a)'" || true
  done
done
check "4: d's slot at a was invalidated" test "$(q a -c "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '$SUB_DA'")" = lost
lost_others=$(q a -c "SELECT string_agg(slot_name, ' ') FROM pg_replication_slots WHERE wal_status = 'lost' AND slot_name <> '$SUB_DA'")
if [ -n "$lost_others" ]; then echo "# note: online members' slots lost at a too: $lost_others (recovered below the same way)"; fi
q a -c "ALTER SYSTEM RESET max_slot_wal_keep_size" -c "SELECT pg_reload_conf()" >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/d" -l "$BL_WORK/d.log" -w start >/dev/null
bl_wait_for d "SELECT state IN ('failing', 'not connected', 'silent') FROM battledger.consortium_status() WHERE member = 'a.example/log'"
check "4: d's consortium_status() names a's lost slot as a fault, with a reason" \
  test "$(q d -c "SELECT state <> 'ok' AND reason IS NOT NULL FROM battledger.consortium_status() WHERE member = 'a.example/log'")" = t
# the recovery, while everyone writes
load_start $((LOAD_S * 2)) a b c d
load_running a b c d
rejoin d a
for m in b c; do
  if [[ " $lost_others " == *" $(sub_of "$m" a) "* ]]; then rejoin "$m" a; fi
done
load_wait a b c d
bl_wait_for d "SELECT bool_and(r.srsubstate = 'r') FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
             WHERE s.subname = '$(sub_of d a)'"
after_fault "4 (slot lost, re-joined)"

# ============================================================================
# 5. c is killed with kill -9 mid-stream (a power cut), then restarted
# ============================================================================
load_start $((LOAD_S * 2)) a b c d
load_running a b c d
pm=$(head -n 1 "$BL_WORK/c/postmaster.pid")
children=$(pgrep -P "$pm" || true)
kill -9 "$pm"; [ -n "$children" ] && kill -9 $children 2>/dev/null || true
wait "${LOADPID[c]}" || true           # c's own clients lost their server: expected
# SIGKILL is not instant: wait until no process of c is left (shared memory
# still attached refuses a restart), then start it, retrying on a busy machine
for _ in $(seq 100); do
  kill -0 "$pm" 2>/dev/null || { [ -n "$children" ] && kill -0 $children 2>/dev/null; } || break
  sleep 0.1
done
rm -f "$BL_WORK/c/postmaster.pid"
started=0
for _ in 1 2 3; do
  if as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/c" -l "$BL_WORK/c.log" -w start >/dev/null; then started=1; break; fi
  echo "# c did not start yet:"; tail -n 5 "$BL_WORK/c.log"; sleep 2
done
check "5: c restarted after the kill" test $started = 1
load_wait a b d
check "5: c recovered from the crash" grep -q "database system was interrupted\|database system was not properly shut down" "$BL_WORK/c.log"
after_fault "5 (c killed with kill -9, restarted)"

# Item 3 of issue 11 (two members moving one battery, one passport id issued
# twice) runs in test/shell/registry_races.sh, with replication paused between
# the racers so the race is certain rather than likely under load.

echo "# faults: $(elapsed) in all"
[ $fail = 0 ] && echo "faults: PASS" || { echo "faults: FAIL"; exit 1; }
