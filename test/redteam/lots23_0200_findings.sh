#!/usr/bin/env bash
# Lots read from rows other members write (lead, 0.20.0, on main 686b454):
# what a member bypassing its rules (its superuser with DISABLE TRIGGER
# battledger_rules: what it writes is what its peers receive) could do to
# every member's readers of a lot.  One database holding several members'
# rows (the registry judges the same rows the same way wherever they are).
# "ok   - ..." when the property holds, "FAIL - ..." for a finding; exit
# status: the number of FAILs.  PG_BIN: the build under test.  LOTS23_PORT
# (default 56290).
# Results, PostgreSQL 15, 2026-12-06 ~17:05 UTC: main 686b454 8 FAILs
# (J1a-J1d, J2, J3, K1, K2, P1, P2 -- see each); this change 0 FAILs.
#   J   one row naming another member's lot with a mass that is not a
#       number ("abc"): every reader cast it, so lot_available_kg() of the
#       lot, every write consuming it (its holder's), registry_conflicts()
#       and verify_member() failed with "invalid input syntax for type
#       numeric", on every member, whoever wrote the row (J1a-d; J2 the
#       same through a manufacture's lots); the writer answered junk with
#       that error, not BL031 (J3).
#   K   the holder's own rows past its rules: a use of more than the lot
#       had left, or of a negative mass, counted and named nowhere (K1, K2;
#       security.md had it as a residual).
#   P   recycled_content() and material_provenance() read a lot's first
#       creation in registry order, whoever wrote it: another member's
#       creation of a maker's namespaced lot id, written before the
#       maker's (ineffective: foreign_namespace), made the battery's
#       recycled content 100% post-consumer and its provenance list the
#       squatter (P1, P2).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
PORT=${LOTS23_PORT:-56290}
bl_scratch
bl_start_cluster lots23 "$PORT" "$(bl_test_log_conf lots23.test/log)"
createdb bl
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d bl "$@"; }
# the SQLSTATE of the first error, or "ok"
qs() {
  local s
  s=$(psql -X -q -At -d bl -v VERBOSITY=sqlstate -c "$1" 2>&1 >/dev/null | sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p' | head -1)
  echo "${s:-ok}"
}

q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
SELECT battledger.add_member(m, r), battledger.add_key(m, battledger_test.public_key(battledger_test.seed(m)))
  FROM (VALUES ('cells.test', ARRAY['cell_maker', 'pack_maker', 'refiner', 'miner']),
               ('rogue.test', ARRAY['cell_maker', 'pack_maker', 'refiner', 'miner', 'recycler']),
               ('refiner.test', ARRAY['refiner', 'miner'])) v(m, r);
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
CREATE FUNCTION public.lot(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.lot_event := jsonb_populate_record(NULL::battledger.lot_event,
    j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.lot_event SELECT r.*; END $$;
-- rogue(sql): run as the rogue member's superuser, its rules off
CREATE FUNCTION public.rogue(s text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    ALTER TABLE battledger.lot_event DISABLE TRIGGER battledger_rules;
    ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
    EXECUTE s;
    ALTER TABLE battledger.lot_event ENABLE TRIGGER battledger_rules;
    ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules;
END $$;
SQL
LJ='{"lot_id": "%s", "event": "extracted", "material": "cobalt ore", "mass_kg": %s, "country": "CD", "occurred_at": "2026-01-01T00:00:00Z"}'
PJ='{"lot_id": "%s", "event": "processed", "material": "cobalt sulfate", "mass_kg": %s, "inputs": %s, "occurred_at": "2026-01-02T00:00:00Z"}'
MJ='{"model_id": "%s", "manufacturer": "%s", "category": "ev", "chemistry": "NMC", "rated_capacity_ah": 50}'

# (the junk of J last: on a build without the fix it makes every later
# registry_conflicts() fail, which would hide what K and P show)
q -c "SELECT model('cells.test', '$(printf "$MJ" M1 cells.test)')" >/dev/null
# ---------------------------------------------------------------- K. the holder's own lot
q -c "SELECT lot('refiner.test', '$(printf "$LJ" H 100)')" >/dev/null
q -c "SELECT lot('refiner.test', '$(printf "$PJ" H-A 60 '[{"lot": "H", "mass_kg": 60}]')')" >/dev/null
check "  (an honest use names nothing)" \
  "$(q -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE message LIKE '%\"H\"%'")" 0
q -c "SELECT rogue(\$r\$SELECT lot('refiner.test', '$(printf "$PJ" H-B 70 '[{"lot": "H", "mass_kg": 70}]')')\$r\$)" >/dev/null
q -c "SELECT rogue(\$r\$SELECT lot('refiner.test', '$(printf "$PJ" H-C 1 '[{"lot": "H", "mass_kg": -30}]')')\$r\$)" >/dev/null
check "K1 the holder past its rules using 70 kg of the 40 left is named (lot_overdrawn)" \
  "$(q -c "SELECT string_agg(signer || ' ' || problem || ' ' || kind, ', ') FROM battledger.registry_conflicts() WHERE message LIKE '%\"H\"%' AND problem = 'lot_overdrawn'")" \
  "refiner.test lot_overdrawn equivocation"
check "K2 ... and using -30 kg (lot_bad_mass)" \
  "$(q -c "SELECT string_agg(signer || ' ' || problem, ', ') FROM battledger.registry_conflicts() WHERE message LIKE '%\"H\"%' AND problem = 'lot_bad_mass'")" \
  "refiner.test lot_bad_mass"
check "  verify_member() names them as the member's, in lot_event" \
  "$(q -c "SELECT count(*) FROM battledger.verify_member('lots23.test/log') WHERE tbl = 'battledger.lot_event' AND detail ~ 'lot_overdrawn|lot_bad_mass|kg were left|mass of'")" 2

# ---------------------------------------------------------------- P. a squatter's creation
LOT=iso15459:UN/777777/LOT-1
q -c "SELECT battledger.add_id_namespace('refiner.test', 'iso15459:UN/777777')" >/dev/null
q -c "SELECT rogue(\$r\$SELECT lot('rogue.test', '{\"lot_id\": \"$LOT\", \"event\": \"secondary_created\", \"material\": \"cobalt sulfate\",
      \"mass_kg\": 100, \"inputs\": {\"battery\": \"gs1:01/09521234567899/21/X\"}, \"occurred_at\": \"2025-01-01T00:00:00Z\"}')\$r\$)" >/dev/null
q -c "SELECT lot('refiner.test', '{\"lot_id\": \"$LOT\", \"event\": \"extracted\", \"material\": \"cobalt ore\", \"mass_kg\": 100, \"country\": \"CD\", \"occurred_at\": \"2026-01-01T00:00:00Z\"}')" >/dev/null
check "  (the maker's creation is the lot's: the squatter's is foreign_namespace)" \
  "$(q -c "SELECT battledger.lot_custodian('$LOT')") $(q -c "SELECT string_agg(problem, ' ') FROM battledger.registry_conflicts() WHERE signer = 'rogue.test' AND message LIKE '%LOT-1%'")" \
  "refiner.test foreign_namespace"
q -c "SELECT lot('refiner.test', '{\"lot_id\": \"$LOT\", \"event\": \"shipped\", \"material\": \"cobalt ore\", \"mass_kg\": 100, \"counterparty\": \"cells.test\", \"occurred_at\": \"2026-01-02T00:00:00Z\"}')" >/dev/null
q -c "SELECT lot('cells.test', '{\"lot_id\": \"$LOT\", \"event\": \"received\", \"material\": \"cobalt ore\", \"mass_kg\": 100, \"counterparty\": \"refiner.test\", \"occurred_at\": \"2026-01-03T00:00:00Z\"}')" >/dev/null
B=gs1:01/09521234567899/21/B1
q -c "SELECT ev('cells.test', '{\"battery_id\": \"$B\", \"event\": \"manufactured\", \"model_id\": \"M1\",
      \"lots\": [{\"lot\": \"$LOT\", \"mass_kg\": 50}], \"occurred_at\": \"2026-01-04T00:00:00Z\"}')" >/dev/null
check "P1 recycled_content() of a battery made from the maker's lot: 0% recycled cobalt, not the squatter's 100%" \
  "$(q -c "SELECT material || ' ' || pre_consumer_pct || ' ' || post_consumer_pct FROM battledger.recycled_content('$B')")" \
  "cobalt 0.00 0.00"
check "P2 material_provenance() lists the maker's creation of the lot only" \
  "$(q -c "SELECT string_agg(event || ' ' || member, ', ') FROM battledger.material_provenance('$B')")" \
  "extracted refiner.test"

# ---------------------------------------------------------------- J. junk masses
q -c "SELECT lot('refiner.test', '$(printf "$LJ" V 100)')" >/dev/null
q -c "SELECT rogue(\$r\$SELECT lot('rogue.test', '$(printf "$PJ" R1 1 '[{"lot": "V", "mass_kg": "abc"}]')')\$r\$)" >/dev/null
check "J1a lot_available_kg() of a lot another member named with a mass \"abc\"" \
  "$(q -c "SELECT battledger.lot_available_kg('V')" 2>&1 | head -1)" 100
check "J1b its holder still processes it" \
  "$(qs "SELECT lot('refiner.test', '$(printf "$PJ" V2 10 '[{"lot": "V", "mass_kg": 10}]')')")" ok
check "J1c registry_conflicts() runs and names the row (lot_not_held)" \
  "$(q -c "SELECT string_agg(signer || ' ' || problem, ', ') FROM battledger.registry_conflicts() WHERE message LIKE '%\"V\"%'" 2>&1 | head -1)" \
  "rogue.test lot_not_held"
check "J1d verify_member() of the member runs" \
  "$(qs "SELECT count(*) FROM battledger.verify_member('lots23.test/log')")" ok
q -c "SELECT rogue(\$r\$SELECT ev('rogue.test', '{\"battery_id\": \"gs1:01/09521234567899/21/R1\", \"event\": \"manufactured\",
      \"model_id\": \"M1\", \"lots\": [{\"lot\": \"V\", \"mass_kg\": {\"x\": 1}}], \"occurred_at\": \"2026-01-03T00:00:00Z\"}')\$r\$)" >/dev/null
check "J2 ... and through a manufacture's lots (a mass that is an object)" \
  "$(q -c "SELECT battledger.lot_available_kg('V')" 2>&1 | head -1) $(qs "SELECT count(*) FROM battledger.registry_conflicts()")" "90 ok"
check "J3 the writer refuses a mass that is not a number with BL031, not a cast error" \
  "$(qs "SELECT lot('refiner.test', '$(printf "$PJ" V3 1 '[{"lot": "V", "mass_kg": "1e1000000"}]')')") $(qs "SELECT lot('refiner.test', '$(printf "$PJ" V3 1 '[{"lot": "V", "mass_kg": "NaN"}]')')")" \
  "BL031 BL031"
check "  (a mass written as a string that is a number still counts, as the cast read it)" \
  "$(qs "SELECT lot('refiner.test', '$(printf "$PJ" V4 5 '[{"lot": "V", "mass_kg": " 5.0 "}]')')") $(q -c "SELECT battledger.lot_available_kg('V')")" \
  "ok 85.0"

echo "lots23: $FAILS FAIL(s)"
exit $FAILS
