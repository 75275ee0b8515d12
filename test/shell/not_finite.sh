#!/usr/bin/env bash
# Values that are no number (NaN) or infinite in the registry's numeric
# columns: a lot's mass (lot_event.mass_kg) and a model's nine rated values
# (battery_model).  The columns are plain numeric and CHECK (> 0) lets NaN
# and Infinity through (NaN sorts above every number); until 0.27.0 the
# writer's rules did too: a lot of NaN kg made every use of it pass the mass
# balance (BL033) — two uses of 1,000,000 kg each accepted, and
# registry_conflicts() named nothing — and a model's NaN ran into the
# passport and the derived values.
#   A  the writer's rules (any role writing, rules on) refuse each
#      non-finite value with BL031, its column named, a DETAIL and a HINT;
#      finite values and NULLs still pass.
#   B  rows past the rules (a member's superuser disabling them, or written
#      under 0.26.0): registry_conflicts() names each (value_not_finite,
#      a model's model_value_not_finite),
#      the holder's uses of a lot of no finite mass are refused (BL033),
#      and a finite lot is not named.
# NOT_FINITE_PORT (default 58080).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster nf "${NOT_FINITE_PORT:-58080}" "$(bl_test_log_conf battledger.test/nf)"
fail=0
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then echo "ok   - $what"; else echo "FAIL - $what: got '$got', want '$want'"; fail=1; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d nf "$@"; }
# the error a statement fails with: SQLSTATE, message, detail, hint on one line (or "ok")
err() {
  if psql -X -q -At -d nf -v ON_ERROR_STOP=1 -c "\\set VERBOSITY verbose" -c "$1" >/dev/null 2>"$BL_WORK/err"; then echo ok; return; fi
  sed -n 's/^ERROR: *\([A-Z0-9]*\): /\1 /p; s/^DETAIL: *//p; s/^HINT: *//p' "$BL_WORK/err" | paste -sd '|'
}
createdb nf
q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT battledger.add_member('maker.test', ARRAY['miner', 'cell_maker', 'pack_maker', 'oem']),
       battledger.add_key('maker.test', battledger_test.public_key(battledger_test.seed('maker.test')), now() - interval '1 hour');
CREATE FUNCTION public.lot(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.lot_event := jsonb_populate_record(NULL::battledger.lot_event,
    j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.lot_event SELECT r.*; END $$;
SQL
model() { echo "SELECT model('maker.test', '{\"model_id\": \"$1\", \"manufacturer\": \"maker.test\", \"category\": \"ev\", \"chemistry\": \"LFP\", $2}')"; }
lot() { echo "SELECT lot('maker.test', '{\"lot_id\": \"$1\", \"event\": \"extracted\", \"material\": \"lithium\", \"country\": \"CL\", \"occurred_at\": \"2026-01-01T00:00:00Z\", \"mass_kg\": $2}')"; }
use() { echo "SELECT ev('maker.test', jsonb_build_object('battery_id', 'iso15459:UN/043325711/$1', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'M-OK', 'lots', '[{\"lot\": \"$2\", \"mass_kg\": $3}]'::jsonb))"; }

# --- A: the writer's rules
want_hint="A model's rated values are finite numbers, of at most 1,000 digits either side of the point.|Leave a value you do not know NULL."
check "A1 a model's rated capacity NaN: BL031, named" "$(err "$(model M-1 '"rated_capacity_ah": "NaN"')")" \
  "BL031 battery model \"M-1\": rated_capacity_ah = NaN|$want_hint"
check "A2 a model's rated energy Infinity: BL031" "$(err "$(model M-2 '"rated_capacity_ah": 100, "rated_energy_kwh": "Infinity"')")" \
  "BL031 battery model \"M-2\": rated_energy_kwh = Infinity|$want_hint"
check "A3 a model's mass -Infinity and carbon footprint NaN: BL031, both named" \
  "$(err "$(model M-3 '"rated_capacity_ah": 100, "mass_kg": "-Infinity", "carbon_footprint_kg_co2e_per_kwh": "NaN"')")" \
  "BL031 battery model \"M-3\": mass_kg = -Infinity, carbon_footprint_kg_co2e_per_kwh = NaN|$want_hint"
n=0
for c in nominal_voltage_v min_voltage_v max_voltage_v original_power_w capacity_threshold_pct; do
  case "$(err "$(model "M-$c" "\"rated_capacity_ah\": 100, \"$c\": \"NaN\"")")" in "BL031 battery model \"M-$c\": $c = NaN|"*) n=$((n + 1));; esac
done
check "A4 NaN in each of the other five rated columns: BL031" "$n" 5
check "A5 a model with finite values and NULLs is accepted" \
  "$(err "$(model M-OK '"rated_capacity_ah": 280, "rated_energy_kwh": 0.5, "min_voltage_v": -1, "mass_kg": null')")" ok
check "A6 a lot of NaN kg: BL031" "$(err "$(lot L-NAN '"NaN"')")" \
  "BL031 lot \"L-NAN\" has a mass of NaN kg|A lot's mass is a finite number of kilograms, of at most 1,000 digits either side of the point.|Write the mass the lot has."
check "A7 a lot of Infinity kg: BL031" "$(err "$(lot L-INF '"Infinity"')" | cut -d'|' -f1)" "BL031 lot \"L-INF\" has a mass of Infinity kg"
check "A8 a lot of 10 kg is accepted" "$(err "$(lot L-OK 10)")" ok

# --- B: rows past the rules
q >/dev/null <<SQL
ALTER TABLE battledger.lot_event DISABLE TRIGGER battledger_rules;
ALTER TABLE battledger.battery_model DISABLE TRIGGER battledger_rules;
$(lot L-NANB '"NaN"');
$(lot L-INFB '"Infinity"');
$(model M-NANB '"rated_capacity_ah": "NaN", "mass_kg": "Infinity"');
ALTER TABLE battledger.lot_event ENABLE TRIGGER battledger_rules;
ALTER TABLE battledger.battery_model ENABLE TRIGGER battledger_rules;
SQL
check "B1 registry_conflicts() names the lots and the model of no finite value" \
  "$(q -c "SELECT string_agg(problem || ' ' || kind || ' ' || coalesce(signer, '-') || ' ' || message, '; ' ORDER BY message) FROM battledger.registry_conflicts() WHERE problem LIKE '%value_not_finite'")" \
  "model_value_not_finite equivocation maker.test battery model \"M-NANB\": rated_capacity_ah = NaN, mass_kg = Infinity; value_not_finite equivocation maker.test lot \"L-INFB\" has a mass of Infinity kg; value_not_finite equivocation maker.test lot \"L-NANB\" has a mass of NaN kg"
check "B2 the holder's use of 1,000,000 kg of the NaN lot: BL033" "$(err "$(use P1 L-NANB 1000000)" | cut -d' ' -f1)" BL033
check "B3 the holder's use of 1 kg of the Infinity lot: BL033" "$(err "$(use P2 L-INFB 1)" | cut -d' ' -f1)" BL033
check "B4 a use of 3 kg of the 10 kg lot is accepted, and 8 more refused" "$(err "$(use P3 L-OK 3)") $(err "$(use P4 L-OK 8)" | cut -d' ' -f1)" "ok BL033"
check "B5 nothing else named" "$(q -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem NOT LIKE '%value_not_finite'")" 0
exit $fail
