#!/usr/bin/env bash
# Registry order vs. members' clocks (the 0.4.0 red team's findings, each
# fixed since; in the long suite, test/long.sh).  Needs libfaketime (Debian
# package libfaketime, in BL_PACKAGES).
# Member b's server runs under libfaketime, its clock read from a file.
#   1. b's superuser bypasses its rules and writes a "manufactured" for a's
#      battery, with its clock 10 s behind:
#      b became the custodian everywhere, a's honest events were named
#      equivocation, verify_member(b) was clean (fixed in 0.5.0: a's DBA
#      registers its GS1 prefix, b's row is judged foreign_namespace).
#   2. the same, honestly: a and b cannot see each other, b's clock 10 s behind
#      (0.5.0: b's own writer refuses a battery under a's prefix).
#   3. b (clock a year ahead, rules bypassed) writes a handover of a battery
#      it does not hold while a's handover to c is pending: c could not
#      accept (clock_behind) for a year, although b's row changes nothing
#      (fixed on this branch: the check reads the effective handover).
#   4. (holds) b, clock an hour behind, cannot accept a handover to it.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -e "$FT" ] || { echo "FAIL - libfaketime not installed (apt-get install libfaketime)"; exit 1; }

bl_scratch
CLI=${CLI:-$BL_ROOT/bin/battledger}
W=$BL_WORK
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }

declare -A PORT=([a]=55481 [b]=55482 [c]=55483)
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log [c]=c.example/log)
declare -A SEED=([a]=maker-1 [b]=second-1 [c]=recycler-1)
declare -A MEMBER=([a]=maker.example [b]=second.example [c]=recycler.example)
declare -A ROLES=([a]="pack_maker,oem" [b]="cell_maker,second_life_operator" [c]="recycler,collector")
declare -A LOGV WITV
q() { bl_mq "$@"; }
echo "+0" > "$W/b.clock"; chmod 644 "$W/b.clock"
# clock_b OFFSET SECONDS: set b's clock (libfaketime's offset syntax) and wait
# until b's server reads it (its cache of the file can lag under load)
clock_b() {
  local i d off=
  echo "$1" > "$W/b.clock"
  for i in $(seq 1 40); do
    sleep 0.5
    off=$(q b -c "SELECT round(extract(epoch FROM statement_timestamp()))::bigint - $(date +%s)")
    d=$(( off - $2 )); [ "${d#-}" -le 3 ] && break
  done
  echo "   (b's clock: $(q b -c "SELECT to_char(statement_timestamp(), 'YYYY-MM-DD HH24:MI:SS')"), real: $(date -u '+%F %T'), offset ${off}s, wanted $2 s)"
}

for m in a b c; do
  "$CLI" keygen --out "$W/$m-log" >/dev/null
  "$CLI" keygen --out "$W/$m-witness" >/dev/null
  [ "$(id -u)" = 0 ] && chown postgres: "$W/$m-log.key" "$W/$m-witness.key"
  conf="wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
max_logical_replication_workers = 8
max_worker_processes = 16
battledger.origin = '${ORIGIN[$m]}'
battledger.log_key_file = '$W/$m-log.key'
battledger.witness_key_file = '$W/$m-witness.key'"
  if [ "$m" = b ]; then
    # its replication timeouts off: they read the jumping clock
    ( export LD_PRELOAD=$FT FAKETIME_TIMESTAMP_FILE=$W/b.clock FAKETIME_CACHE_DURATION=1 FAKETIME_DONT_FAKE_MONOTONIC=1
      bl_start_cluster "$m" "${PORT[$m]}" "$conf
wal_sender_timeout = 0
wal_receiver_timeout = 0" )
  else
    bl_start_cluster "$m" "${PORT[$m]}" "$conf"
  fi
  createdb -h "$BL_WORK" -p "${PORT[$m]}" bl
  q "$m" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT battledger.publish_member();
SQL
  q "$m" -c "SELECT battledger.add_member('${MEMBER[$m]}', string_to_array('${ROLES[$m]}', ',')),
                    battledger.add_key('${MEMBER[$m]}', battledger_test.public_key(battledger_test.seed('${SEED[$m]}')), '2020-01-01')" >/dev/null
  LOGV[$m]=$(q "$m" -c "SELECT battledger.log_vkey()")
  WITV[$m]=$(q "$m" -c "SELECT battledger.witness_vkey()")
done
for m in a b c; do
  for o in a b c; do
    [ "$m" = "$o" ] && continue
    q "$m" -v origin="${ORIGIN[$o]}" -v conn="host=$BL_WORK port=${PORT[$o]} dbname=bl user=postgres" \
      -v lv="${LOGV[$o]}" -v wv="${WITV[$o]}" >/dev/null <<'SQL'
SELECT battledger.join(:'origin', :'conn', :'lv', :'wv') \gexec
SQL
  done
done
for m in a b c; do bl_wait_for "$m" "SELECT count(*) = 3 FROM battledger.members"; done

bid() { echo "gs1:01/09521234567899/21/$1"; }
ev() {
  local m=$1 b=$2 e=$3 extra=${4:-"{}"}
  q "$m" -c "SELECT ev('${SEED[$m]}', jsonb_build_object('battery_id', '$(bid "$b")', 'event', '$e',
                                                          'occurred_at', '2026-06-01T00:00:00Z') || '$extra'::jsonb)" >/dev/null
}
try_ev() { local out; out=$(ev "$@" 2>&1) && echo ok || echo "$out"; }
converged() {
  local n; n=$(q a -c "SELECT count(*) FROM battledger.battery_event")
  for m in b c; do bl_wait_for "$m" "SELECT count(*) = $n FROM battledger.battery_event" || return 1; done
}
sub_of() { q "$1" -c "SELECT subscription FROM battledger.consortium_member WHERE origin = '${ORIGIN[$2]}'"; }
pause() {
  local s; s=$(sub_of "$1" "$2")
  q "$1" -c "ALTER SUBSCRIPTION $s DISABLE" >/dev/null
  bl_wait_for "$1" "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_subscription WHERE subname = '$s' AND pid IS NOT NULL)"
}
resume() { q "$1" -c "ALTER SUBSCRIPTION $(sub_of "$1" "$2") ENABLE" >/dev/null; }
custodian() { q "$1" -c "SELECT coalesce(custodian, '-') || ':' || coalesce(status, '-') FROM battledger.battery_state('$(bid "$2")')"; }
conflicts() { q "$1" -c "SELECT coalesce(string_agg(signer || ':' || event || ':' || problem || ':' || kind, ',' ORDER BY ledger_origin, ledger_seq), '-')
                          FROM battledger.registry_conflicts() WHERE right(battery_id::text, 2) = '$2'"; }
bypass() { q b -c "ALTER TABLE battledger.battery_event $1 TRIGGER battledger_rules" >/dev/null; }

q a -c "SELECT model('maker-1', '{\"model_id\": \"NMC-1\", \"manufacturer\": \"maker.example\", \"category\": \"ev\",
                                  \"chemistry\": \"NMC\", \"rated_capacity_ah\": 2.0}')" >/dev/null
# (0.5.0) a's DBA registers its maker's GS1 company prefix, as a member should
q a -c "SELECT battledger.add_id_namespace('maker.example', 'gs1:952123')" >/dev/null
for m in b c; do bl_wait_for $m "SELECT count(*) = 1 FROM battledger.id_namespace"; done

# --- 1. backdated "manufactured" by a member that bypasses its rules;
#        b was registered well before the date it gives its row (as any
#        member of a running consortium was), so no role check catches it
sleep 15
ev a X1 manufactured '{"model_id": "NMC-1"}'
ev a X1 placed_on_market '{"passport_id": "urn:bp:maker.example:X1"}'
converged
clock_b "-10s" -10
bypass DISABLE
ev b X1 manufactured '{"model_id": "NMC-1"}'
bypass ENABLE
clock_b "+0" 0
converged
for m in a b c; do
  echo "   1: $m: X1 custodian:status = $(custodian $m X1); conflicts: $(conflicts $m X1)"
  check "1: $m: X1 stays a's (a manufactured it first in real time)" test "$(custodian $m X1)" = "maker.example:original"
done
echo "   1: c: verify_member(a) = $(q c -c "SELECT coalesce(string_agg(problem, ','), '-') FROM battledger.verify_member('a.example/log')")"
echo "   1: c: verify_member(b) = $(q c -c "SELECT coalesce(string_agg(problem, ','), '-') FROM battledger.verify_member('b.example/log')")"
check "1: c: verify_member(a), the honest maker, names nothing" \
  test "$(q c -c "SELECT count(*) FROM battledger.verify_member('a.example/log')")" = 0
check "1: c: verify_member(b), which bypassed its rules, names something" \
  test "$(q c -c "SELECT count(*) FROM battledger.verify_member('b.example/log')")" != 0

# --- 2. the same race between honest members: b's clock is a day behind
pause a b; pause b a
ev a X2 manufactured '{"model_id": "NMC-1"}'
ev a X2 placed_on_market '{"passport_id": "urn:bp:maker.example:X2"}'
clock_b "-10s" -10
# (0.5.0) b's own rules refuse a battery under a's registered prefix
out=$(try_ev b X2 manufactured '{"model_id": "NMC-1"}')
clock_b "+0" 0
check "2: b's writer refuses to make a battery under a's prefix (BL044)" grep -q 'is in the namespace of member "maker.example"' <<<"$out"
resume a b; resume b a
converged
echo "   2: a: X2 custodian:status = $(custodian a X2); conflicts: $(conflicts a X2)"
check "2: an honest race is not named equivocation of either member" \
  test "$(q a -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE right(battery_id::text, 2) = 'X2' AND kind = 'equivocation'")" = 0

# --- 4. (holds) a receiver whose clock is behind cannot accept before the handover
ev a Y2 manufactured '{"model_id": "NMC-1"}'
ev a Y2 handover "{\"data\": {\"to\": \"${MEMBER[b]}\"}}"
converged
clock_b "-1h" -3600
out=$(try_ev b Y2 handover_accepted)
clock_b "+0" 0
check "4: b, its clock an hour behind, is refused (clock_behind)" grep -q "clock is behind" <<<"$out"
# --- 3. a future-dated handover b was not entitled to blocks c's acceptance
ev a Y1 manufactured '{"model_id": "NMC-1"}'
ev a Y1 handover "{\"data\": {\"to\": \"${MEMBER[c]}\"}}"
converged
clock_b "+365d" 31536000
bypass DISABLE
ev b Y1 handover "{\"data\": {\"to\": \"${MEMBER[a]}\"}}"
bypass ENABLE
clock_b "+0" 0
converged
echo "   3: c: Y1 = $(q c -c "SELECT coalesce(custodian, '-') || ' pending:' || coalesce(handover_to, '-') FROM battledger.battery_state('$(bid Y1)')"); conflicts: $(conflicts c Y1)"
check "3: b's ineffective handover is dated a year ahead" \
  test "$(q c -c "SELECT bool_and(ledger_at > now() + interval '300 days') FROM battledger.battery_event
                   WHERE ledger_origin = '${ORIGIN[b]}' AND event = 'handover' AND right(battery_id::text, 2) = 'Y1'")" = t
out=$(try_ev c Y1 handover_accepted)
echo "   3: c accepts: $(head -1 <<<"$out")"
check "3: c, named by the pending handover, can accept it" test "$out" = ok

exit $fail
