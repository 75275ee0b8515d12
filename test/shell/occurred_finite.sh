#!/usr/bin/env bash
# Event times no reader can print: 'infinity', '-infinity' and years of
# other than four digits in the registry's member-written timestamps
# (lot_event, battery_event and operator_registration's occurred_at).  A
# timestamptz column takes them, and until 0.28.0 the writer's rules did
# too: the passports then printed "infinity" where BatteryPass 1.2 and
# Catena-X 6.1.0 want an RFC 3339 date-time (and the registry's own
# document, battery_history() and the operator blocks likewise).
# Two members: c (c.example/log, member cell.example, honest) and m
# (m.example/log, member mal.example), m subscribed by c.
#   A  the writer's rules at c, an application role writing (rules on):
#      each such time refused with BL031, a DETAIL and a HINT, in each of
#      the three tables; times from 1000-01-01 up to 9999-01-01 UTC pass
#      (1900, 9998); a row of such a time that is not validly signed gets
#      the chain trigger's error, not the rules' verdict.
#   B  m's superuser writes past its rules (battledger_rules disabled): a
#      lot, a battery's manufacture, market placement, installation,
#      usage report (disclosed at c), negative event, repair and an
#      operator registration, each at an infinite time.  At c, where they
#      arrive by replication (the rules do not run on arrival), and at m:
#      registry_conflicts() names each (time_out_of_range,
#      operator_time_out_of_range), verify_member() files them under their
#      tables, no passport (3 tiers x battledger, batterypass, catenax)
#      and no battery_history() row holds "infinity", and every BatteryPass
#      and Catena-X document validates against the standards' schemas
#      (test/lib/validate_passport.py: RFC 3339 date-times); a plain
#      role's operator_info() leaves the registration's time out.
# OCCURRED_FINITE_PORT (default 58650; uses 2).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"

P=${OCCURRED_FINITE_PORT:-58650}
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([c]=$P [m]=$((P + 1)))
declare -A ORIGIN=([c]=c.example/log [m]=m.example/log)
declare -A LOGV WITV
fail=0
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then echo "ok   - $what"; else echo "FAIL - $what: got '$got', want '$want'"; fail=1; fi; }
q() { bl_mq "$@"; }
# the error a statement fails with at c, as the application role: SQLSTATE, message, detail, hint on one line (or "ok")
err() {
  if psql -X -q -At -h "$BL_WORK" -p "${PORT[c]}" -d bl -v ON_ERROR_STOP=1 -c "\\set VERBOSITY verbose" \
       -c "SET ROLE app" -c "$1" >/dev/null 2>"$BL_WORK/err"; then echo ok; return; fi
  sed -n 's/^ERROR: *\([A-Z0-9]*\): /\1 /p; s/^DETAIL: *//p; s/^HINT: *//p' "$BL_WORK/err" | paste -sd '|'
}
for x in c m; do
  bl_member_start "$x" "$W" "" "$BL_QUICK_RETRY"
  q "$x" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
CREATE FUNCTION public.lot(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.lot_event := jsonb_populate_record(NULL::battledger.lot_event,
    j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.lot_event SELECT r.*; END $$;
CREATE FUNCTION public.reg(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.operator_registration := jsonb_populate_record(NULL::battledger.operator_registration,
    j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.operator_registration SELECT r.*; END $$;
-- an application's role: no superuser, no owner; it may run the signer (TEST ONLY)
CREATE ROLE app LOGIN;
GRANT USAGE ON SCHEMA battledger_test TO app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA battledger_test TO app;
SELECT battledger.publish_member();
SQL
done
roles="ARRAY['miner', 'cell_maker', 'pack_maker', 'oem', 'fleet_operator', 'repairer']"
q c -c "SELECT battledger.add_member('cell.example', $roles),
               battledger.add_key('cell.example', battledger_test.public_key(battledger_test.seed('cell-1')), now() - interval '1 hour')" >/dev/null
q m -c "SELECT battledger.add_member('mal.example', $roles),
               battledger.add_key('mal.example', battledger_test.public_key(battledger_test.seed('mal-1')), now() - interval '1 hour')" >/dev/null
for x in c m; do bl_member_keys "$x"; done
bl_join c m
bl_wait_for c "SELECT count(*) = 2 FROM battledger.members" >/dev/null

B=gs1:01/09521230000017/21
mdl() { echo "SELECT model('$1', '{\"model_id\": \"$2\", \"manufacturer\": \"$1\", \"category\": \"ev\", \"chemistry\": \"LFP\", \"rated_capacity_ah\": 280}')"; }
lotq() { echo "SELECT lot('$1', '{\"lot_id\": \"$2\", \"event\": \"extracted\", \"material\": \"lithium\", \"country\": \"CL\", \"occurred_at\": \"$3\", \"mass_kg\": 10}')"; }
evq() { echo "SELECT ev('$1', jsonb_build_object('battery_id', '$2', 'event', '$3', 'occurred_at', '$4'::timestamptz${5:-}))"; }
regq() { echo "SELECT reg('$1', '{\"identifier\": \"$2\", \"kind\": \"operator\", \"member\": \"$3\", \"name\": \"Test\", \"occurred_at\": \"$4\"}')"; }

# --- A: the writer's rules at c, as an application role
q c -c "$(mdl cell-1 M-C)" >/dev/null
hint="An event's time is a time from 1000-01-01 up to 9999-01-01 UTC: the passports show it as an RFC 3339 date-time, which has no infinity and no year of other than four digits."
check "A1 a lot extracted at infinity: BL031" "$(err "$(lotq cell-1 L-INF infinity)")" \
  "BL031 lot \"L-INF\": \"extracted\" occurred at infinity|$hint|Write the time the event occurred."
check "A2 a lot extracted at -infinity: BL031" "$(err "$(lotq cell-1 L-NINF -infinity)" | cut -d'|' -f1)" \
  "BL031 lot \"L-NINF\": \"extracted\" occurred at -infinity"
check "A3 a battery manufactured at infinity: BL031" "$(err "$(evq cell-1 "$B/A3" manufactured infinity ", 'model_id', 'M-C'")")" \
  "BL031 battery $B/A3: \"manufactured\" occurred at infinity|$hint|Write the time the event occurred."
check "A4 a battery manufactured in year 10000, and in year 999: BL031" \
  "$(err "$(evq cell-1 "$B/A4" manufactured 10000-01-01T00:00:00Z ", 'model_id', 'M-C'")" | cut -d' ' -f1) $(err "$(evq cell-1 "$B/A4" manufactured 0999-12-31T00:00:00Z ", 'model_id', 'M-C'")" | cut -d' ' -f1)" \
  "BL031 BL031"
check "A5 a battery's usage report at -infinity, once on the market: BL031" \
  "$(err "$(evq cell-1 "$B/A5" manufactured 2026-01-01T00:00:00Z ", 'model_id', 'M-C'")") $(err "$(evq cell-1 "$B/A5" placed_on_market 2026-01-02T00:00:00Z ", 'passport_id', 'urn:bp:A5'")") $(err "$(evq cell-1 "$B/A5" soh_reported -infinity)" | cut -d'|' -f1)" \
  "ok ok BL031 battery $B/A5: \"soh_reported\" occurred at -infinity"
check "A6 an operator registration at infinity: BL031" "$(err "$(regq cell-1 bpnl:BPNL00000000CEL1 cell.example infinity)")" \
  "BL031 registration of operator \"bpnl:BPNL00000000CEL1\" occurred at infinity|$hint|Write the time of the registration."
check "A7 times from 1000 to 9998 pass: a lot of 1900, a battery of 1000-01-01 UTC and 9998-12-31, a registration of 2026" \
  "$(err "$(lotq cell-1 L-1900 1900-01-01T00:00:00Z)") $(err "$(evq cell-1 "$B/A7" manufactured 1000-01-01T00:00:00Z ", 'model_id', 'M-C'")") $(err "$(evq cell-1 "$B/A7" quality_checked 9998-12-31T23:59:59Z)") $(err "$(regq cell-1 bpnl:BPNL00000000CEL1 cell.example 2026-01-01T00:00:00Z)")" \
  "ok ok ok ok"
# a row at infinity whose signature is not its own: no verdict of the rules, the chain trigger's error
badsig="DO \$\$ DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, jsonb_build_object('battery_id', '$B/A8', 'event', 'manufactured', 'occurred_at', 'infinity', 'model_id', 'M-C', 'ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed('cell-1')))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed('cell-1'), '\\x00'::bytea); INSERT INTO battledger.battery_event SELECT r.*; END \$\$"
got=$(err "$badsig" | cut -d' ' -f1)
check "A8 a row at infinity not signed by its key: refused, not by the rules' BL031 ($got)" "$([ "$got" != BL031 ] && [ "$got" != ok ] && echo refused)" refused
check "A9 nothing at c is named" "$(q c -c "SELECT count(*) FROM battledger.registry_conflicts()")" 0

# --- B: m's superuser past its rules; the rows arrive at c
D='{"soh_pct": 91, "capacity_ah": 255}'
SALT="sha256('occurred_finite')"
q m >/dev/null <<SQL
ALTER TABLE battledger.lot_event DISABLE TRIGGER battledger_rules;
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
ALTER TABLE battledger.operator_registration DISABLE TRIGGER battledger_rules;
$(mdl mal-1 M-M);
$(regq mal-1 bpnl:BPNL00000000MAL1 mal.example infinity);
$(lotq mal-1 L-M -infinity);
$(evq mal-1 "$B/M1" manufactured infinity ", 'model_id', 'M-M', 'data', '{\"manufacturer\": {\"id\": \"bpnl:BPNL00000000MAL1\"}}'::jsonb, 'lots', '[{\"lot\": \"L-M\", \"mass_kg\": 1}]'::jsonb");
$(evq mal-1 "$B/M1" placed_on_market -infinity ", 'passport_id', 'urn:bp:M1', 'data', '{\"operator\": {\"id\": \"bpnl:BPNL00000000MAL1\"}}'::jsonb");
$(evq mal-1 "$B/M1" installed infinity);
$(evq mal-1 "$B/M1" soh_reported infinity ", 'restricted', battledger.commitment($SALT, '$D'::jsonb)::text");
$(evq mal-1 "$B/M1" negative_event -infinity ", 'data', '{\"kind\": \"accident\"}'::jsonb");
$(evq mal-1 "$B/M1" repaired infinity ", 'data', '{\"kind\": \"module swap\"}'::jsonb");
ALTER TABLE battledger.lot_event ENABLE TRIGGER battledger_rules;
ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
ALTER TABLE battledger.operator_registration ENABLE TRIGGER battledger_rules;
SQL
for x in c m; do
  q "$x" -c "INSERT INTO battledger.disclosure VALUES (battledger.commitment($SALT, '$D'::jsonb), 'legitimate_interest', $SALT, '$D'::jsonb)" >/dev/null
done
bl_wait_for c "SELECT count(*) = 6 FROM battledger.battery_event WHERE battery_id::text LIKE '%/M1'" >/dev/null
bl_wait_for c "SELECT count(*) = 1 FROM battledger.operator_registration WHERE member = 'mal.example'" >/dev/null

want_conf="battery_event installed mal.example time_out_of_range battery $B/M1: \"installed\" occurred at infinity
battery_event manufactured mal.example time_out_of_range battery $B/M1: \"manufactured\" occurred at infinity
battery_event negative_event mal.example time_out_of_range battery $B/M1: \"negative_event\" occurred at -infinity
battery_event placed_on_market mal.example time_out_of_range battery $B/M1: \"placed_on_market\" occurred at -infinity
battery_event repaired mal.example time_out_of_range battery $B/M1: \"repaired\" occurred at infinity
battery_event soh_reported mal.example time_out_of_range battery $B/M1: \"soh_reported\" occurred at infinity
lot_event extracted mal.example time_out_of_range lot \"L-M\": \"extracted\" occurred at -infinity
operator_registration operator_registration mal.example operator_time_out_of_range registration of operator \"bpnl:BPNL00000000MAL1\" occurred at infinity"
conf_sql="SELECT CASE WHEN battery_id IS NOT NULL THEN 'battery_event' WHEN event = 'operator_registration' THEN 'operator_registration' ELSE 'lot_event' END
                 || ' ' || event || ' ' || signer || ' ' || problem || ' ' || message
            FROM battledger.registry_conflicts() WHERE kind = 'equivocation' AND problem LIKE '%time_out_of_range'
           ORDER BY battery_id IS NULL, event = 'operator_registration', event"
for x in m c; do
  check "B1 at $x: registry_conflicts() names each row of m's at a time out of range" "$(q "$x" -c "$conf_sql")" "$want_conf"
done
check "B2 at c: verify_member() files them under their tables" \
  "$(q c -c "SELECT string_agg(tbl || ' ' || n, ', ' ORDER BY tbl) FROM (SELECT tbl, count(*) n FROM battledger.verify_member('m.example/log')
                WHERE problem = 'registry_equivocation' AND detail LIKE '%occurred at%infinity' GROUP BY tbl) x")" \
  "battledger.battery_event 6, battledger.lot_event 1, battledger.operator_registration 1"
OUT=$BL_WORK/passports; mkdir -p "$OUT"
for x in m c; do
  for tier in public legitimate_interest authority; do
    for fmt in battledger batterypass catenax; do
      q "$x" -c "SELECT battledger.passport('$B/M1', '$tier', '$fmt')" > "$OUT/M1-$x.$tier.$fmt.json"
      [ "$fmt" = battledger ] || echo '*' > "$OUT/M1-$x.$tier.$fmt.json.absent"   # the battery declares nothing
    done
  done
done
check "B3 no passport at m or at c (3 tiers x 3 formats) holds \"infinity\"" "$(grep -il infinity "$OUT"/*.json | xargs -r -n1 basename | paste -sd ' ')" ""
check "B4 the legitimate-interest passport at c still shows the usage report's value, with no time" \
  "$(jq -c '.performance.dynamic.stateOfHealth | [.value, has("timestamp")]' "$OUT/M1-c.legitimate_interest.battledger.json")" "[91,false]"
V="/usr/bin/python3 $BL_ROOT/test/lib/validate_passport.py $BL_ROOT/test/standards $BL_ROOT/test/standards/withheld.json"
if $V "$OUT"/*.batterypass.json "$OUT"/*.catenax.json > "$BL_WORK/validation.txt"; then vrc=0; else vrc=$?; fi
grep -v '^ok' "$BL_WORK/validation.txt" || true
check "B5 every BatteryPass and Catena-X document of it validates (RFC 3339 date-times), at m and at c" \
  "$vrc $(grep -c '^ok' "$BL_WORK/validation.txt")" "0 $(( 2 * 3 * 8 ))"
check "B6 battery_history() at c: its 6 events, no time out of range shown" \
  "$(q c -c "SELECT count(*) || ' ' || count(occurred_at) FROM battledger.battery_history('$B/M1')")" "6 0"
check "B7 at c, as the application's plain role: operator_info() of m's registration, its time left out" \
  "$(q c -c "SET ROLE app" -c "SELECT (battledger.operator_info('bpnl:BPNL00000000MAL1')->'registration') ? 'at', battledger.operator_info('bpnl:BPNL00000000MAL1')->>'member'")" "f|mal.example"
exit $fail
