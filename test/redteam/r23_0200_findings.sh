#!/usr/bin/env bash
# Red team r23 on the lead's 0.20.0 lots changes (main 7d4fd4a): numbers
# read from other members' JSON by _json_num(), and what readers compute
# from them.  A member bypassing its rules (its superuser with DISABLE
# TRIGGER battledger_rules: what it writes is what its peers receive), or
# an honest row stored under 0.19.0, in one database holding several
# members' rows.  "ok   - ..." when the property holds, "FAIL - ..." for a
# finding; exit status: the number of FAILs.  PG_BIN: the build under
# test.  R23_PORT (default 56320).
# Results, PostgreSQL 15, 2026-12-06: main 7d4fd4a 15 FAILs (S1, S2, the
# edge values, N0-N3, U1, U2, C1, R1, R2, F1-F3; O1's note empty there, as the N
# rows make registry_conflicts() fail); branch r23 0 FAILs, O1 noted.
#   N   _json_num() passed any finite JSON number through.  A JSON number
#       of 131072 digits is valid JSON text (it replicates as it is); two
#       of them in one row naming another member's lot overflow every sum
#       of the lot's consumers: lot_available_kg() of the lot, its
#       holder's own writes consuming it and registry_conflicts() failed
#       with 22003 "value overflows numeric format" on every member --
#       lots23's J findings again, by size instead of type (N1-N3).
#   S   _json_num() refused strings the cast (and the 0.19.0 writer)
#       accepted: longer than 64 bytes (" 10.000...0" with many zeros) or
#       an exponent written with leading zeros ("1e0001").  A use of a
#       lot stored under 0.19.0 with such a mass counted no kg after the
#       update (S1) and was named lot_bad_mass (S2): a stored row's
#       meaning changed.
#   C   recycled_content() judged and sorted every creation row of a lot
#       on each passport (C1).  (0.21.0, pass21) C2: 2,000 creation rows
#       of a namespaced lot by another member, dated before the maker's:
#       the namespace's claims are read once per lot, not once per row
#       (pass21's first one judge of a lot's creation read them per row,
#       155 ms a read against 0.20.0's 9-16; 2,000 reads of _key_claims()
#       there, FAIL).
#   R   a shipment or receipt dated before a row of the lot it relied on
#       (R1, R2), see there.
#   O   (not fixed, a note) a holder past its rules steers lot_overdrawn
#       onto the next holder's honest use.
#   F   recycled_content() and material_provenance() followed one row per
#       path: a lot whose inputs name itself three times made 3^19 rows,
#       every passport of a battery made from it ran until cancelled
#       (F1-F3).
#   U   usage_derived() divided by the first round trip's efficiency: a
#       discharge of 0 Wh after a charge (an application's reading, never
#       refused) made it fail with 22012 "division by zero", and with it
#       every legitimate-interest passport of the battery (U1, U2).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
PORT=${R23_PORT:-56320}
bl_scratch
bl_start_cluster r23 "$PORT"
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
  FROM (VALUES ('cells.test', ARRAY['cell_maker', 'pack_maker']), ('oem.test', ARRAY['oem']),
               ('fleet.test', ARRAY['fleet_operator']),
               ('rogue.test', ARRAY['cell_maker', 'pack_maker', 'refiner', 'miner', 'recycler']),
               ('refiner.test', ARRAY['refiner', 'miner'])) v(m, r);
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
CREATE FUNCTION public.lot(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.lot_event := jsonb_populate_record(NULL::battledger.lot_event,
    j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.lot_event SELECT r.*; END $$;
-- rogue(sql): run as a member's superuser, its rules off
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

# ---------------------------------------------------------------- S. strings the 0.19.0 writer accepted
# (written past today's rules, as the 0.19.0 writer's cast admitted them)
q -c "SELECT lot('refiner.test', '$(printf "$LJ" S 100)')" >/dev/null
Z=$(printf '0%.0s' $(seq 70))
q -c "SELECT rogue(\$r\$SELECT lot('refiner.test', '$(printf "$PJ" S-A 10 "[{\"lot\": \"S\", \"mass_kg\": \" 10.$Z \"}]")')\$r\$)" >/dev/null
q -c "SELECT rogue(\$r\$SELECT lot('refiner.test', '$(printf "$PJ" S-B 10 '[{"lot": "S", "mass_kg": "1e0001"}]')')\$r\$)" >/dev/null
check "  (the cast read them as 10 kg each)" \
  "$(q -c "SELECT string_agg((i->>'mass_kg')::numeric::float8::text, ' ' ORDER BY lot_id) FROM battledger.lot_event, jsonb_array_elements(inputs) i WHERE lot_id IN ('S-A', 'S-B')")" "10 10"
check "S1 lot_available_kg() counts uses stored with \" 10.000...0 \" (> 64 bytes) and \"1e0001\" as the cast did" \
  "$(q -c "SELECT battledger.lot_available_kg('S')::float8")" 80
check "S2 registry_conflicts() does not name them lot_bad_mass" \
  "$(q -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE message LIKE '%\"S\"%'")" 0
check "  (strings at numeric's edges within bounds still read: \"1e999\", \"-1e0999\", 1000 nines, 0.(998 zeros)1)" \
  "$(q -c "SELECT count(battledger._json_num(v)) FROM (VALUES ('\"1e999\"'::jsonb), ('\"-1e0999\"'), (('\"' || repeat('9', 1000) || '\"')::jsonb),
         (('0.' || repeat('0', 998) || '1')::jsonb)) t(v)")" 4

# ---------------------------------------------------------------- N. numbers too large to sum
q -c "SELECT lot('refiner.test', '$(printf "$LJ" N 100)')" >/dev/null
q -c "SELECT rogue(\$r\$SELECT lot('rogue.test', jsonb_build_object('lot_id', 'N-R', 'event', 'processed', 'material', 'cobalt sulfate',
      'mass_kg', 1, 'occurred_at', '2026-01-02T00:00:00Z', 'inputs', jsonb_build_array(
        jsonb_build_object('lot', 'N', 'mass_kg', 9.99 * 10::numeric ^ 131071),
        jsonb_build_object('lot', 'N', 'mass_kg', 9.99 * 10::numeric ^ 131071))))\$r\$)" >/dev/null
check "  (the row's JSON survives a text round trip, as replication sends it)" \
  "$(q -c "SELECT (inputs::text)::jsonb = inputs FROM battledger.lot_event WHERE lot_id = 'N-R'")" t
check "N0 a JSON number or string beyond any mass is none: 10^1200, 0.(1000 zeros)1, \"1e1001\", \"1.234e-999\", 1001 nines" \
  "$(q -c "SELECT count(battledger._json_num(v)) FROM (VALUES (to_jsonb(10::numeric ^ 1200)), (('0.' || repeat('0', 1000) || '1')::jsonb),
         ('\"1e1001\"'), ('\"1.234e-999\"'), (('\"' || repeat('9', 1001) || '\"')::jsonb), ('\"1e99999\"'), ('\"NaN\"'), ('\"0x1A\"'),
         ('\"1_000\"'), ('\"\"'), ('\" \"'), ('\"1e\"'), ('\".\"'), (('\"' || repeat('1', 1025) || '\"')::jsonb)) t(v)")" 0
check "N1 lot_available_kg() of a lot another member named twice with a 131072-digit mass" \
  "$(q -c "SELECT battledger.lot_available_kg('N')" 2>&1 | head -1)" 100
check "N2 its holder still processes it" \
  "$(qs "SELECT lot('refiner.test', '$(printf "$PJ" N-2 10 '[{"lot": "N", "mass_kg": 10}]')')")" ok
check "N3 registry_conflicts() runs and names the row (lot_not_held)" \
  "$(q -c "SELECT string_agg(signer || ' ' || problem, ', ') FROM battledger.registry_conflicts() WHERE message LIKE '%\"N\"%'" 2>&1 | head -1)" \
  "rogue.test lot_not_held"

# ---------------------------------------------------------------- U. a round trip of 0 Wh
q >/dev/null <<'SQL'
SELECT model('cells.test', '{"model_id": "U-M", "manufacturer": "cells.test", "category": "ev", "chemistry": "NMC", "rated_capacity_ah": 2, "rated_energy_kwh": 0.007}');
SELECT ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/U1", "event": "manufactured", "model_id": "U-M", "occurred_at": "2026-01-01T00:00:00Z"}'),
       ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/U1", "event": "handover", "data": {"to": "oem.test"}, "occurred_at": "2026-01-02T00:00:00Z"}'),
       ev('oem.test', '{"battery_id": "gs1:01/09521234567899/21/U1", "event": "handover_accepted", "occurred_at": "2026-01-02T00:00:00Z"}'),
       ev('oem.test', '{"battery_id": "gs1:01/09521234567899/21/U1", "event": "placed_on_market", "passport_id": "urn:bp:U1:1", "occurred_at": "2026-01-03T00:00:00Z"}'),
       ev('fleet.test', '{"battery_id": "gs1:01/09521234567899/21/U1", "event": "installed", "occurred_at": "2026-01-04T00:00:00Z"}');
CREATE TABLE u_report AS
SELECT at, v, sha256(convert_to('U1:' || at, 'UTF8')) AS salt   -- TEST ONLY: reproducible salts
  FROM (VALUES ('2026-02-01T00:00:00Z', '{"cycle": {"type": "charge", "wh": 7.0, "ah": 2.0}}'::jsonb),
               ('2026-02-02T00:00:00Z', '{"cycle": {"type": "discharge", "wh": 0, "ah": 0, "capacity_ah": 1.9}}'::jsonb),
               ('2026-02-03T00:00:00Z', '{"cycle": {"type": "charge", "wh": 7.0, "ah": 2.0}}'::jsonb),
               ('2026-02-04T00:00:00Z', '{"cycle": {"type": "discharge", "wh": 6.3, "ah": 1.9, "capacity_ah": 1.9}}'::jsonb)) c(at, v);
INSERT INTO battledger.disclosure SELECT battledger.commitment(salt, v), 'legitimate_interest', salt, v FROM u_report;
SELECT ev('fleet.test', jsonb_build_object('battery_id', 'gs1:01/09521234567899/21/U1', 'event', 'soh_reported', 'occurred_at', at,
          'restricted', battledger.commitment(salt, v)::text))
  FROM u_report ORDER BY at;
SQL
check "U1 usage_derived() of a battery whose first round trip gave 0 Wh back" \
  "$(q -c "SELECT string_agg(key || ' ' || coalesce(value::text, '-'), ', ' ORDER BY key) FROM battledger.usage_derived('gs1:01/09521234567899/21/U1')
             WHERE key LIKE 'rte%' OR key = 'capacity_ah'" 2>&1 | head -1)" \
  "capacity_ah 1.90000, rte_remaining_pct 90.00"
check "U2 ... and its legitimate-interest passport is made" \
  "$(qs "SELECT battledger.passport('gs1:01/09521234567899/21/U1', 'legitimate_interest')")" ok

# ---------------------------------------------------------------- C. creations after the maker's
# 2,000 creation rows of a lot by another member past its rules, after the
# maker's (lot_created_twice): recycled_content() of a battery made from
# the lot judged and sorted all of them on every passport.  Counted in rows
# of lot_event read (deterministic; measured: about 35 ms a lot against
# 0.19.0's 5 on a loaded machine).
q >/dev/null <<'SQL'
SELECT lot('refiner.test', '{"lot_id": "C", "event": "extracted", "material": "cobalt ore", "mass_kg": 100, "country": "CD", "occurred_at": "2026-01-01T00:00:00Z"}');
SELECT lot('refiner.test', '{"lot_id": "C", "event": "shipped", "material": "cobalt ore", "mass_kg": 100, "counterparty": "cells.test", "occurred_at": "2026-01-02T00:00:00Z"}');
SELECT lot('cells.test', '{"lot_id": "C", "event": "received", "material": "cobalt ore", "mass_kg": 100, "counterparty": "refiner.test", "occurred_at": "2026-01-03T00:00:00Z"}');
SELECT ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/C1", "event": "manufactured", "model_id": "U-M",
      "lots": [{"lot": "C", "mass_kg": 10}], "occurred_at": "2026-01-04T00:00:00Z"}');
SELECT rogue($r$SELECT lot('rogue.test', jsonb_build_object('lot_id', 'C', 'event', 'extracted', 'material', 'cobalt ore', 'mass_kg', 100 + g,
       'country', 'CD', 'occurred_at', '2026-01-01T00:00:00Z')) FROM generate_series(1, 2000) g$r$);
ANALYZE battledger.lot_event;
SQL
check "C1 recycled_content() of a battery made from the lot reads a few of its 2,003 rows, not all" \
  "$(q -c "BEGIN" -c "SELECT count(*) FROM battledger.recycled_content('gs1:01/09521234567899/21/C1')" \
       -c "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) < 100 FROM pg_stat_xact_user_tables WHERE relid = 'battledger.lot_event'::regclass" -c "COMMIT" | sed -n 2p)" t
check "  (... and the maker's creation is the one it reads)" \
  "$(q -c "SELECT material || ' ' || pre_consumer_pct || ' ' || post_consumer_pct FROM battledger.recycled_content('gs1:01/09521234567899/21/C1')")" \
  "cobalt 0.00 0.00"

# 2,000 creation rows of a lot in refiner.test's namespace by another
# member past its rules, dated after the registration and before the
# maker's creation (foreign_namespace): each reader of the lot's creation
# judges them all (they come first), and reads the namespace's claims
# once, not per row (C2; 75 us a read of _key_claims()).
q >/dev/null <<'SQL'
SELECT battledger.add_id_namespace('refiner.test', 'gs1:9506000');
SELECT rogue($r$SELECT lot('rogue.test', jsonb_build_object('lot_id', 'gs1:01/09506000134352/10/C2', 'event', 'extracted', 'material', 'cobalt ore',
       'mass_kg', 100 + g, 'country', 'CD', 'occurred_at', '2026-01-01T00:00:00Z')) FROM generate_series(1, 2000) g$r$);
SELECT lot('refiner.test', '{"lot_id": "gs1:01/09506000134352/10/C2", "event": "extracted", "material": "cobalt ore", "mass_kg": 100, "country": "CD", "occurred_at": "2026-01-01T00:00:00Z"}');
ANALYZE battledger.lot_event;
SQL
check "C2 _lot_creation() of a lot with 2,000 foreign creations before the maker's reads its namespace's claims once" \
  "$(q -c "BEGIN" -c "SET LOCAL track_functions = 'all'" -c "SELECT (battledger._lot_creation('gs1:01/09506000134352/10/C2')).mass_kg" \
       -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions WHERE funcname = '_key_claims'" -c "COMMIT" | sed -n 1,2p | tr '\n' ' ')" "100 1 "
check "  (... and the walk names them foreign_namespace, the maker's the lot's)" \
  "$(q -c "SELECT string_agg(coalesce(problem, signer) || ':' || n, ' ' ORDER BY n) FROM (SELECT problem, signer, count(*) n
             FROM battledger._lot_custody_steps('gs1:01/09506000134352/10/C2') GROUP BY 1, 2) x")" "refiner.test:1 foreign_namespace:2000"

# ---------------------------------------------------------------- R. a row dated before what it relied on
# A lot row's ledger_at is its statement's start; the rules judge it after
# taking the lot's turn, which a concurrent writer may take first.  A
# receipt whose statement started before the shipment it accepts (a slow
# statement, or a server's clock behind the shipper's) comes first in
# registry order: lot_not_offered, the lot stays the shipper's, on every
# member, though the receiver's rules accepted it (R1).  A shipment whose
# statement started before a use of the lot it did not see makes that
# use, accepted by the same member's rules, a use of a lot in transit:
# lot_not_held, its kilograms counted nowhere (R2).  Batteries refuse the
# like (BL043, "clock is behind the handover"); lots did not.  (R1 here:
# main accepts the receipt, and in this one database the lot's chain then
# dates it after the shipment, its head; on the receiver's own server,
# another origin, it stays dated before: lot_not_offered.)
# (a_slow: a statement that takes its time before the rules run)
q >/dev/null <<'SQL'
CREATE FUNCTION public.slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('r23.slow', true) = NEW.event THEN PERFORM pg_sleep(2); END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER a_slow BEFORE INSERT ON battledger.lot_event FOR EACH ROW EXECUTE FUNCTION public.slow();
SQL
RJ='{"lot_id": "%s", "event": "%s", "material": "cobalt ore", "mass_kg": 100, "counterparty": "%s", "occurred_at": "2026-01-05T00:00:00Z"}'
q -c "SELECT lot('refiner.test', '$(printf "$LJ" R 100)'), lot('refiner.test', '$(printf "$LJ" R2 100)')" >/dev/null
# R1: cells' receipt starts, refiner's shipment commits meanwhile
psql -X -q -At -d bl -v VERBOSITY=sqlstate -c "SET r23.slow = received" \
  -c "SELECT lot('cells.test', '$(printf "$RJ" R received refiner.test)')" >"$BL_WORK/r1.out" 2>&1 &
sleep 0.7
q -c "SELECT lot('refiner.test', '$(printf "$RJ" R shipped cells.test)')" >/dev/null
wait
r1=$(sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p' "$BL_WORK/r1.out" | head -1)
check "R1 a receipt dated before the shipment it accepted is refused (the receiver retries), not stored ineffective" \
  "${r1:-ok} $(q -c "SELECT count(*) FROM battledger._lot_custody_steps('R') WHERE NOT effective")" "BL032 0"
q -c "SELECT lot('cells.test', '$(printf "$RJ" R received refiner.test)')" >/dev/null 2>&1
check "  (... and its retry makes cells.test the holder)" "$(q -c "SELECT battledger.lot_custodian('R')")" cells.test
q -c "SELECT string_agg(event || ' ' || signer || ' ' || coalesce(problem, '-'), ', ' ORDER BY ledger_at, ledger_origin, ledger_seq) FROM battledger._lot_custody_steps('R')" | sed 's/^/    R: /' 
# R2: refiner's shipment starts, its own use of the lot commits meanwhile
psql -X -q -At -d bl -v VERBOSITY=sqlstate -c "SET r23.slow = shipped" \
  -c "SELECT lot('refiner.test', '$(printf "$RJ" R2 shipped cells.test)')" >"$BL_WORK/r2.out" 2>&1 &
sleep 0.7
q -c "SELECT lot('refiner.test', '$(printf "$PJ" R2-A 60 '[{"lot": "R2", "mass_kg": 60}]')')" >/dev/null
wait
r2=$(sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p' "$BL_WORK/r2.out" | head -1)
check "R2 a shipment dated before a use of the lot it did not see is refused, the use counts" \
  "${r2:-ok} $(q -c "SELECT count(*) FROM battledger._lot_consumers('R2') WHERE NOT effective") $(q -c "SELECT battledger.lot_available_kg('R2')")" "BL032 0 40"
# O: a holder past its rules steering lot_overdrawn onto the next holder.
# refiner (the holder) ships lot O to cells; cells receives it and uses
# 80 kg of its 100 in a battery; refiner's own use of 50 kg, written past its rules in a
# statement that started before its shipment (as a row dated back within
# the arrival check's bound would be), counts (refiner held the lot then),
# so cells' honest use is the one over the lot's mass: named
# lot_overdrawn, refiner nowhere.  Not fixed (docs/security.md, "The mass
# balance itself is the writer's rule"): a note, not counted.
q -c "SELECT lot('refiner.test', '$(printf "$LJ" O 100)')" >/dev/null
psql -X -q -At -d bl \
  -c "SELECT pg_sleep(2), rogue(\$r\$SELECT lot('refiner.test', '$(printf "$PJ" O-R 50 '[{"lot": "O", "mass_kg": 50}]')')\$r\$)" >/dev/null 2>&1 &
sleep 0.5
q -c "SELECT lot('refiner.test', '$(printf "$RJ" O shipped cells.test)')" >/dev/null
q -c "SELECT lot('cells.test', '$(printf "$RJ" O received refiner.test)')" >/dev/null
q -c "SELECT ev('cells.test', '{\"battery_id\": \"gs1:01/09521234567899/21/O1\", \"event\": \"manufactured\", \"model_id\": \"U-M\",
      \"lots\": [{\"lot\": \"O\", \"mass_kg\": 80}], \"occurred_at\": \"2026-01-06T00:00:00Z\"}')" >/dev/null
wait
o=$(q -c "SELECT coalesce(string_agg(signer || ' ' || problem, ', '), 'none') FROM battledger.registry_conflicts() WHERE message LIKE '%\"O\"%'")
echo "note - O1 (residual, docs/security.md) the overdraw of lot O is named on: $o"
q -c "DROP TRIGGER a_slow ON battledger.lot_event"

# ---------------------------------------------------------------- F. a lot naming itself
# The rogue's own lot X, its inputs naming X three times (written past its
# rules), shipped to cells, which makes a battery from it: recycled_content()
# and material_provenance() followed one row per path, 3^19 of them, so the
# battery's passport ran until cancelled, on every member.
q >/dev/null <<'SQL'
SELECT rogue($r$SELECT lot('rogue.test', '{"lot_id": "X", "event": "processed", "material": "cobalt sulfate", "mass_kg": 100,
       "inputs": [{"lot": "X", "mass_kg": 1}, {"lot": "X", "mass_kg": 1}, {"lot": "X", "mass_kg": 1}], "occurred_at": "2026-01-02T00:00:00Z"}')$r$);
SELECT lot('rogue.test', '{"lot_id": "X", "event": "shipped", "material": "cobalt sulfate", "mass_kg": 100, "counterparty": "cells.test", "occurred_at": "2026-01-03T00:00:00Z"}');
SELECT lot('cells.test', '{"lot_id": "X", "event": "received", "material": "cobalt sulfate", "mass_kg": 100, "counterparty": "rogue.test", "occurred_at": "2026-01-03T00:00:00Z"}');
SELECT ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/X1", "event": "manufactured", "model_id": "U-M",
       "lots": [{"lot": "X", "mass_kg": 10}], "occurred_at": "2026-01-04T00:00:00Z"}');
SQL
qt() { psql -X -q -At -d bl -v VERBOSITY=sqlstate -c "SET statement_timeout = '5s'" -c "$1" 2>&1 | sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p;t;p' | head -1; }
check "F1 recycled_content() of a battery made from it ends (within 5 s)" \
  "$(qt "SELECT material || ' ' || pre_consumer_pct || ' ' || post_consumer_pct FROM battledger.recycled_content('gs1:01/09521234567899/21/X1')")" "cobalt 0.00 0.00"
check "F2 material_provenance() ends, X listed once a depth" \
  "$(qt "SELECT count(*) || ' ' || count(DISTINCT depth) FROM battledger.material_provenance('gs1:01/09521234567899/21/X1')")" "20 20"
check "F3 the battery's passport is made (within 5 s)" \
  "$(qt "SELECT battledger.passport('gs1:01/09521234567899/21/X1') IS NOT NULL")" t

echo "r23: $FAILS FAIL(s)"
exit $FAILS
