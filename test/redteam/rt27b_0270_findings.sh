#!/usr/bin/env bash
# rt27b (0.27.0, main 5bd2efe): red team of 0.27.0's finite-number rules
# (7378987: BL031 for a lot's mass or a model's rated value that is NaN or
# infinite, BL033 for a use of such a lot, registry_conflicts()'s
# value_not_finite) and of the passport's shared jsonb_push module
# (c3dd518).  FAIL = an open hole, ok = holds.  One cluster: RT27B_PORT
# (default 58250); a malicious member is its superuser writing past its
# rules (battledger_rules disabled), as its rows then replicate: the
# arrival trigger checks chains and signatures, not the rules.
#  F   a finite number no reader can compute with: numeric holds up to
#      131,072 digits before the point and 16,383 after, and "finite" let
#      them all through.
#      F1 a member's application (rules on) declares a model of rated
#         capacity 1e131071 Ah: the writer must refuse it (BL031), as
#         _json_num() refuses a number of more than 1,000 digits either side;
#      F2 the same model written past the rules (a malicious member), a
#         battery of it and one discharge report: the legitimate-interest
#         passport is made (it failed, "value overflows numeric format",
#         in 100 * (rated - measured) / rated, on every member), and
#         registry_conflicts() names the model;
#      F3 a lot of 1e-16383 kg and one of 10^131071 kg through the
#         application: refused (BL031).
#  R   R1 a manufacture whose lots of one element sum to 0 kg (+5 and -5,
#         past the rules): recycled_content() and the public passport of the
#         battery are made (they failed, "division by zero", on every member).
#  V   V1 verify_member() files a model's value_not_finite under
#         battledger.battery_model (it filed it under battledger.lot_event:
#         the table is chosen by the problem's name, and only model_* went
#         to battery_model).
#  M   M1 a malicious member's model of 1e131071 Ah and NaN kg, past its
#      rules, replicates to the two honest members (their subscriptions
#      keep running: no CHECK constraint, as designed) and each names it
#      and files it under battledger.battery_model (V1 across members;
#      three members on RT27B_PORT+2..+4).
#  H   what held: H1 a 0.26.0 database holding a NaN lot and an Infinity
#      model (written under 0.26.0, rules on) updated to 0.27.0: the rows
#      kept, both named, a use of the lot refused (BL033); H2 a plain role
#      writes no lot, and _check_inputs() (executable by PUBLIC, running as
#      its caller) fails for it at its first lock or refusal (42501); H3 the
#      public passport of a battery of a NaN model is valid JSON, the value
#      the string "NaN" (jsonb_push).
# Results, PostgreSQL 15, 2026-12-07, main 5bd2efe: FAIL F1, F2, F3, R1, V1,
# M1 (the replication held; V1's filing failed); H1-H3 ok.  Fixed on
# branch rt27b: 9 ok.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/redteam.sh"

bl_scratch
bl_start_cluster rt27b "${RT27B_PORT:-58250}" "$(bl_test_log_conf rt27b.test/redteam)"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "${DB:-bl}" "$@"; }
# the SQLSTATE a statement fails with, or "ok"
err() {
  if psql -X -q -At -d "${DB:-bl}" -v ON_ERROR_STOP=1 -c "\\set VERBOSITY verbose" -c "$1" >/dev/null 2>"$BL_WORK/err"; then echo ok; return; fi
  sed -n 's/^ERROR: *\([A-Z0-9]*\): .*/\1/p' "$BL_WORK/err" | head -1
}
setup() {
  q >/dev/null <<'SQL'
CREATE EXTENSION battledger_test_signer;   -- TEST ONLY
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT battledger.add_member(m, r), battledger.add_key(m, battledger_test.public_key(battledger_test.seed(m)), now() - interval '1 hour')
  FROM (VALUES ('maker.test', ARRAY['miner', 'cell_maker', 'pack_maker', 'oem']), ('fleet.test', ARRAY['fleet_operator'])) v(m, r);
CREATE FUNCTION public.lot(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.lot_event := jsonb_populate_record(NULL::battledger.lot_event,
    j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.lot_event SELECT r.*; END $$;
CREATE FUNCTION public.bid(serial text) RETURNS battledger.battery_id LANGUAGE sql AS $$
    SELECT ('https://id.gs1.org/01/09521234567899/21/' || serial)::battledger.battery_id $$;
SQL
}
model() { echo "SELECT model('maker.test', jsonb_build_object('model_id', '$1', 'manufacturer', 'maker.test', 'category', 'ev', 'chemistry', 'LFP') || $2)"; }
lot() { echo "SELECT lot('maker.test', jsonb_build_object('lot_id', '$1', 'event', 'extracted', 'material', '${3:-cobalt ore}', 'country', 'CL', 'occurred_at', '2026-01-01T00:00:00Z', 'mass_kg', $2))"; }
made() { echo "SELECT ev('maker.test', jsonb_build_object('battery_id', bid('$1')::text, 'event', 'manufactured', 'model_id', '$2', 'occurred_at', '2026-01-02T00:00:00Z', 'lots', '$3'::jsonb))"; }
past_rules() { printf 'ALTER TABLE battledger.%s DISABLE TRIGGER battledger_rules;\n%s;\nALTER TABLE battledger.%s ENABLE TRIGGER battledger_rules;\n' "$1" "$2" "$1"; }

# --- H1 first: a 0.26.0 database, rows its rules let through, the update
createdb old
DB=old q -c "CREATE EXTENSION battledger VERSION '0.26.0'" >/dev/null
DB=old setup
DB=old q >/dev/null <<SQL
$(lot L-NAN "'NaN'::numeric");
$(model M-INF "jsonb_build_object('rated_capacity_ah', 'Infinity'::numeric)");
ALTER EXTENSION battledger UPDATE;
SQL
# (updated to this build's version: the control file's default_version)
check "H1 a 0.26.0 database's NaN lot and Infinity model, updated: kept, named, the lot's use refused" \
  "$(DB=old q -c "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'battledger')
                     || ' ' || (SELECT count(*) FROM battledger.lot_event) || ' ' || (SELECT count(*) FROM battledger.battery_model)
                     || ' ' || (SELECT string_agg(event, ',' ORDER BY event) FROM battledger.registry_conflicts() WHERE problem LIKE '%value_not_finite')")
   $(DB=old err "$(made U1 M-INF '[{"lot": "L-NAN", "mass_kg": 1}]')")" \
  "$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$BL_ROOT/battledger.control") 1 1 battery_model,extracted
   BL033"

createdb bl
q -c "CREATE EXTENSION battledger" >/dev/null
setup

# --- F: finite numbers no reader can compute with
check "F1 an application's model of 1e131071 Ah is refused (BL031)" \
  "$(err "$(model M-HUGE "jsonb_build_object('rated_capacity_ah', '1e131071'::numeric)")")" BL031
q >/dev/null <<SQL
$(past_rules battery_model "$(model M-HUGEB "jsonb_build_object('rated_capacity_ah', '1e131071'::numeric)")")
$(lot CO-F 100);
$(made F2 M-HUGEB '[{"lot": "CO-F", "mass_kg": 1}]');
SELECT ev('maker.test', jsonb_build_object('battery_id', bid('F2')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:F2', 'occurred_at', '2026-01-03T00:00:00Z'));
CREATE TEMP TABLE rep AS SELECT '2026-03-01T00:00:00Z'::text AS at, '{"cycle": {"type": "discharge", "duration_s": 600, "capacity_ah": 1.9, "ah": 1.9}}'::jsonb AS v,
       sha256(convert_to('F2', 'UTF8')) AS salt;   -- TEST ONLY: a reproducible salt
INSERT INTO battledger.disclosure SELECT battledger.commitment(salt, v), 'legitimate_interest', salt, v FROM rep;
SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('F2')::text, 'event', 'soh_reported', 'occurred_at', at,
          'restricted', battledger.commitment(salt, v)::text)) FROM rep;
SQL
f2=$(q -c "SELECT battledger.passport(bid('F2'), 'legitimate_interest')::text::jsonb IS NOT NULL" 2>&1 | head -1)
f2n=$(q -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE message LIKE 'battery model \"M-HUGEB\"%'" 2>&1 | head -1)
check "F2 a malicious member's model of 1e131071 Ah: the legitimate-interest passport is made, the model named" "$f2 $f2n" "t 1"
check "F3 an application's lots of 1e-16383 kg and of 10^131071 kg are refused (BL031)" \
  "$(err "$(lot L-TINY "'1e-16383'::numeric")") $(err "$(lot L-HUGE "'1e131071'::numeric")")" "BL031 BL031"

# --- R: a manufacture's lots of one element summing to nothing
q >/dev/null <<SQL
$(model M-OK "jsonb_build_object('rated_capacity_ah', 100)");
$(lot CO-A 100);
$(lot CO-B 100);
$(past_rules battery_event "$(made R1 M-OK '[{"lot": "CO-A", "mass_kg": 5}, {"lot": "CO-B", "mass_kg": -5}]')")
SQL
r1=$(q -c "SELECT (SELECT count(*) FROM battledger.recycled_content(bid('R1'))) || ' ' || (battledger.passport(bid('R1'))::text::jsonb IS NOT NULL)::text" 2>&1 | head -1)
check "R1 a manufacture of +5 and -5 kg of cobalt (past the rules): recycled_content() and the passport are made" "$r1" "1 true"

# --- V: verify_member()'s view of a model of no finite value
q >/dev/null <<SQL
$(past_rules battery_model "$(model M-NANV "jsonb_build_object('rated_capacity_ah', 'NaN'::numeric)")")
SQL
check "V1 verify_member() files a model's non-finite value under battledger.battery_model" \
  "$(q -c "SELECT string_agg(DISTINCT tbl, ',') FROM battledger.verify_member('rt27b.test/redteam')
           WHERE problem = 'registry_equivocation' AND detail LIKE '%M-NANV%'")" battledger.battery_model

# --- H2, H3: what held
q -c "CREATE ROLE plain LOGIN" >/dev/null
h2=$(err "SET ROLE plain; $(lot L-P 10)") 
h2b=$(err "SET ROLE plain; SELECT battledger._check_inputs(NULL::battledger.lot_event, 'battledger.lot_event', '[]', 'x', 'y')")
check "H2 a plain role writes no lot; _check_inputs(), PUBLIC's, runs as it and fails at its first lock or refusal" "$h2 $h2b" "42501 42501"
q >/dev/null <<SQL
$(made H4 M-NANV '[{"lot": "CO-A", "mass_kg": 1}]');
SELECT ev('maker.test', jsonb_build_object('battery_id', bid('H4')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:H4', 'occurred_at', '2026-01-03T00:00:00Z'));
SQL
check "H3 the public passport of a battery of a NaN model is JSON, the value the string \"NaN\"" \
  "$(q -c "SELECT battledger.passport(bid('H4'))::text::jsonb #>> '{performance,rated,ratedCapacity,value}'" 2>&1 | head -1)" NaN

# --- M: the malicious member's rows replicated to honest members
P=$(( ${RT27B_PORT:-58250} + 2 ))
q() { bl_mq "$@"; }   # (rt_three_members' helper, as test/lib/redteam.sh has it)
rt_three_members "$P"
bl_mq m >/dev/null <<'SQL'
ALTER TABLE battledger.battery_model DISABLE TRIGGER battledger_rules;
SELECT model('mal-1', jsonb_build_object('model_id', 'MAL-HUGE', 'manufacturer', 'mal.example', 'category', 'ev', 'chemistry', 'LFP',
                                         'rated_capacity_ah', '1e131071'::numeric, 'mass_kg', 'NaN'::numeric));
ALTER TABLE battledger.battery_model ENABLE TRIGGER battledger_rules;
SQL
for x in c f; do bl_wait_for "$x" "SELECT count(*) = 1 FROM battledger.battery_model" >/dev/null; done
m1=""
for x in c f; do
  m1="$m1 $(bl_mq "$x" -c "SELECT coalesce((SELECT bool_and(subenabled) FROM pg_subscription)::text, '-')
                            || ':' || coalesce((SELECT string_agg(problem || '/' || coalesce(signer, '-'), ',') FROM battledger.registry_conflicts()), '-')
                            || ':' || coalesce((SELECT string_agg(tbl, ',') FROM battledger.verify_member('m.example/log') WHERE problem = 'registry_equivocation'), '-')" 2>&1 | head -3)"
done
check "M1 a malicious member's model of 1e131071 Ah and NaN kg reaches c and f (subscriptions on), named there, filed under battery_model" \
  "$m1" " true:model_value_not_finite/mal.example:battledger.battery_model true:model_value_not_finite/mal.example:battledger.battery_model"
echo "$FAILS FAIL"
exit $FAILS
