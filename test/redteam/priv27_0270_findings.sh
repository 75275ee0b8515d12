#!/usr/bin/env bash
# priv27 (0.27.0, main 6c7c6e9): the standard "internal functions are not
# executable by PUBLIC" against the 52 functions named _* that PUBLIC could
# still EXECUTE.  FAIL = an open hole, ok = holds.  One cluster:
# PRIV27_PORT (default 58410).  Roles: plain (no grant), app (a member's
# application: battledger_member, its rules on), li
# (battledger_legitimate_interest), auth (battledger_authority).
#  R1 a plain role calling each of the 31 functions 99_privileges.sql now
#     revokes is refused "permission denied for function NAME" (42501).
#     Before, each ran as the caller: the pure ones answered (_custody_from
#     the custody date, _is_lifecycle, _counted, _slot_name, _vkey_name,
#     _key_proof_valid, _key_possession_valid a CPU-bound Ed25519 check,
#     _peer_root a Merkle root over PUBLIC's peer leaves, _signer_at,
#     _fold_generation PUBLIC's tables), the walks over the raw events
#     (_lot_*, _battery_*, _held_before, _second_life_*, _passport_holder*,
#     _check_second_life) stopped at battery_event's or lot_event's SELECT
#     (42501): no information, no lock beyond the caller's own.
#  R2 of the 52, PUBLIC keeps exactly the 21 a plain role's own statement
#     reaches (99_privileges.sql names the path of each).
#  G  the legitimate paths still work, each giving the owner's answer:
#     G1 plain: a signed model, lot and battery event through PUBLIC's
#        INSERT (the rules triggers: battery_model's runs as the writer),
#        the public passport, the keys, members and key proofs,
#        enable_ledger() and verify() of its own table;
#     G5 plain: an operator registration through PUBLIC's INSERT (its
#        rules trigger ran as the writer and called _lock_subject(), not
#        PUBLIC's since red team F9: every registration by a role other
#        than the owner failed with 42501 until _operator_rules() became
#        SECURITY DEFINER, as the lot and battery rules are);
#     G2 app: registry_conflicts(), battery_lifecycle(), battery_state(),
#        lot_available_kg(), lot_custodian(), a handover with its rules on
#        (verify_member() reads held_row, the owner's: 42501 before too);
#     G3 li: the same reads, usage_derived(), its passport tier;
#     G4 auth: its passport tier, material_provenance(), recycled_content();
#        the raw-event readers still 42501 for it, as for plain.
# Results, PostgreSQL 15, 2026-12-07: main 6c7c6e9 FAIL R1, R2, G5 (G1-G4
# ok); after priv27 and _operator_rules() SECURITY DEFINER: all ok.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/redteam.sh"

bl_scratch
bl_start_cluster priv27 "${PRIV27_PORT:-58410}" "$(bl_test_log_conf priv27.test/redteam)"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d bl "$@"; }
# as ROLE: the answer, or "SQLSTATE message" of the first error
as() {
  local role=$1; shift
  if PGUSER=$role psql -X -q -At -d bl -v ON_ERROR_STOP=1 -c "\\set VERBOSITY verbose" -c "$1" >"$BL_WORK/out" 2>"$BL_WORK/err"; then
    tr '\n' ' ' <"$BL_WORK/out" | sed 's/ $//'; return; fi
  sed -n 's/^ERROR: *\([A-Z0-9]*\): \(.*\)/\1 \2/p' "$BL_WORK/err" | head -1
}

createdb bl
q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
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
CREATE ROLE plain LOGIN;
CREATE ROLE app LOGIN IN ROLE battledger_member;
CREATE ROLE li LOGIN IN ROLE battledger_legitimate_interest;
CREATE ROLE auth LOGIN IN ROLE battledger_authority;
CREATE SCHEMA own AUTHORIZATION plain;
GRANT USAGE ON SCHEMA battledger_test TO PUBLIC;   -- TEST ONLY: anyone signs as anyone
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA battledger_test TO PUBLIC;
SQL

# the 31 and a call of each with arguments of the right types
REVOKED=$(cat <<'EOF'
_attr|SELECT battledger._attr(1, 'kg', now(), NULL::battledger.battery_event)
_rated|SELECT battledger._rated(1, 'Ah')
_battery_successor|SELECT battledger._battery_successor(bid('A1'))
_check_second_life|SELECT battledger._check_second_life(NULL::battledger.battery_event, 'x')
_lot_consumers|SELECT count(*) FROM battledger._lot_consumers('L1')
_passport_holder|SELECT battledger._passport_holder(bid('A1')::text)
_slot_name|SELECT battledger._slot_name('a', 'b')
_vkey_name|SELECT battledger._vkey_name('x', 1)
_battery_consumption|SELECT count(*) FROM battledger._battery_consumption(bid('A1'))
_battery_fold|SELECT battledger._battery_fold(bid('A1'), NULL, now(), NULL, 0)
_battery_id_or_null|SELECT battledger._battery_id_or_null('x')
_battery_verdict|SELECT battledger._battery_verdict(NULL::battledger.battery_event, 'x', NULL, NULL, false, false)
_consume_verdict|SELECT battledger._consume_verdict(NULL::battledger.battery_event, false)
_counted|SELECT battledger._counted(1, 'a', 'b')
_custody_from|SELECT battledger._custody_from()
_effective_manufacture|SELECT count(*) FROM battledger._effective_manufacture(bid('A1'))
_fold_generation|SELECT battledger._fold_generation()
_held_before|SELECT battledger._held_before(bid('A1'), 'maker.test', now(), NULL)
_is_lifecycle|SELECT battledger._is_lifecycle('x')
_key_possession_valid|SELECT battledger._key_possession_valid('m', '\x00', '\x00')
_key_proof_valid|SELECT battledger._key_proof_valid(NULL::battledger.hash256, 'm', '\x00', '\x00')
_key_proven_member_verify|SELECT battledger._key_proven_member_verify(NULL::battledger.hash256)
_lot_balance|SELECT battledger._lot_balance('L1')
_lot_custody|SELECT battledger._lot_custody('L1')
_lot_custody_steps|SELECT count(*) FROM battledger._lot_custody_steps('L1')
_lot_ledger|SELECT count(*) FROM battledger._lot_ledger('L1')
_passport_holder_by|SELECT battledger._passport_holder_by('x', NULL, NULL, NULL::battledger.battery_event)
_peer_root|SELECT battledger._peer_root('x', 1)
_second_life_claims|SELECT count(*) FROM battledger._second_life_claims(bid('A1'))
_second_life_conflicts|SELECT count(*) FROM battledger._second_life_conflicts()
_signer_at|SELECT battledger._signer_at(NULL::battledger.hash256, now())
EOF
)
KEPT="_check_encodable _id_key _id_owners _json_num _key_claim_allows _key_claims _key_member_validity _key_owners
  _key_proven_member _model_holder _ns_candidates _ns_covers _ns_hosted _origin _passport_public _progress _refuse
  _register _restoring _signer _text_id_key _time_ok _time_out"   # (0.28.0: _time_*, operator_info()'s, battery_history()'s)

# --- R1: each revoked function, called by a plain role
bad=""; n=0
while IFS='|' read -r f sql; do
  n=$((n + 1))
  r=$(as plain "$sql")
  [ "$r" = "42501 permission denied for function $f" ] || bad="$bad [$f => ${r:0:70}]"
done <<<"$REVOKED"
check "R1 a plain role calling each of the $n revoked internal functions: 42501 on the function" "${bad:-none}" none

# --- R2: what PUBLIC keeps of the 52
got=$(q -c "SELECT string_agg(p.proname, ' ' ORDER BY p.proname COLLATE \"C\") FROM pg_proc p
  WHERE p.pronamespace = 'battledger'::regnamespace AND p.proname LIKE '\\_%'
    AND has_function_privilege('public', p.oid, 'EXECUTE')")
check "R2 the internal functions PUBLIC may execute are the $(echo $KEPT | wc -w) a plain role's own statement reaches" \
  "$got" "$(echo $KEPT)"

# --- the registry's rows, written by the roles themselves
GRANT_SIGN="GRANT EXECUTE ON FUNCTION public.ev(text, jsonb), public.model(text, jsonb), public.lot(text, jsonb) TO PUBLIC"
q -c "$GRANT_SIGN" >/dev/null
g1=$(as plain "SELECT model('maker.test', jsonb_build_object('model_id', 'M1', 'manufacturer', 'maker.test', 'category', 'ev', 'chemistry', 'LFP', 'rated_capacity_ah', 50)) IS NOT NULL;
  SELECT lot('maker.test', jsonb_build_object('lot_id', 'L1', 'event', 'extracted', 'material', 'cobalt ore', 'country', 'CL',
                                              'occurred_at', '2026-01-01T00:00:00Z', 'mass_kg', 100)) IS NOT NULL;
  SELECT ev('maker.test', jsonb_build_object('battery_id', bid('A1')::text, 'event', 'manufactured', 'model_id', 'M1',
                                             'occurred_at', '2026-01-02T00:00:00Z', 'lots', '[{\"lot\": \"L1\", \"mass_kg\": 10}]'::jsonb)) IS NOT NULL;
  SELECT ev('maker.test', jsonb_build_object('battery_id', bid('A1')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:A1',
                                             'occurred_at', '2026-01-03T00:00:00Z')) IS NOT NULL")
g1p=$(as plain "SELECT battledger.passport(bid('A1'))::jsonb ? 'batteryPassport' OR battledger.passport(bid('A1')) IS NOT NULL;
  SELECT count(*) FROM battledger.keys; SELECT count(*) FROM battledger.members; SELECT count(*) FROM battledger.key_proof;
  SELECT count(*) > 0 FROM battledger._member_hosts;
  CREATE TABLE own.t (battery text, v int); SELECT battledger.enable_ledger('own.t', chain_by => 'battery') IS NOT NULL;
  INSERT INTO own.t VALUES ('x', 1), ('x', 2); SELECT count(*) FROM battledger.verify('own.t')")
want_p=$(q -c "SELECT battledger.passport(bid('A1'))::jsonb ? 'batteryPassport' OR battledger.passport(bid('A1')) IS NOT NULL;
  SELECT count(*) FROM battledger.keys; SELECT count(*) FROM battledger.members; SELECT count(*) FROM battledger.key_proof;
  SELECT count(*) > 0 FROM battledger._member_hosts" | tr '\n' ' ')
check "G1 a plain role writes a model, lot and battery events; reads the passport, keys, members, proofs; ledgers its own table" \
  "$g1 | $g1p" "t t t t | ${want_p}t 0"

# the member's application: a transfer with its rules on, then every reader
g2w=$(as app "SELECT ev('maker.test', jsonb_build_object('battery_id', bid('A1')::text, 'event', 'handover', 'data', '{\"to\": \"fleet.test\"}'::jsonb,
                                                         'occurred_at', '2026-01-04T00:00:00Z')) IS NOT NULL;
  SELECT ev('fleet.test', jsonb_build_object('battery_id', bid('A1')::text, 'event', 'handover_accepted', 'occurred_at', '2026-01-05T00:00:00Z')) IS NOT NULL")
READS="SELECT count(*) FROM battledger.registry_conflicts();
  SELECT count(*) FROM battledger.battery_lifecycle(bid('A1'));
  SELECT (battledger.battery_state(bid('A1'))).status;
  SELECT battledger.lot_available_kg('L1'); SELECT battledger.lot_custodian('L1')"
owner=$(q -c "$READS" | tr '\n' ' ' | sed 's/ $//')
echo "# the owner's answers (conflicts, lifecycle rows, status, lot kg, custodian): $owner"
check "G2 a member's application: its transfer, then the registry's readers give the owner's answers" \
  "$g2w|$(as app "$READS")" "t t|$owner"
check "G3 legitimate interest: the same readers, usage_derived() and its passport tier" \
  "$(as li "$READS; SELECT count(*) >= 0 FROM battledger.usage_derived(bid('A1')); SELECT battledger.passport(bid('A1'), 'legitimate_interest') IS NOT NULL")" \
  "$owner t t"
check "G4 authority: its passport tier, material_provenance(), recycled_content(); the raw-event readers refused" \
  "$(as auth "SELECT battledger.passport(bid('A1'), 'authority') IS NOT NULL;
              SELECT count(*) >= 0 FROM battledger.material_provenance(bid('A1'));
              SELECT count(*) >= 0 FROM battledger.recycled_content(bid('A1'))") $(as auth "SELECT battledger.lot_available_kg('L1')" | cut -c1-5)" \
  "t t t 42501"

# --- G5: an operator registration written by a plain role (rules on), and
# the rules still judging it: the same identifier for another member, BL061
q >/dev/null <<'SQL'
CREATE FUNCTION public.reg(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.operator_registration := jsonb_populate_record(NULL::battledger.operator_registration,
            jsonb_build_object('member', m, 'occurred_at', '2025-01-01T00:00:00Z') || j
            || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r));
      INSERT INTO battledger.operator_registration SELECT r.*; END $$;
GRANT EXECUTE ON FUNCTION public.reg(text, jsonb) TO PUBLIC;
SQL
g5=$(as plain "SELECT reg('maker.test', '{\"identifier\": \"lei:5493001KJTIIGC8Y1R12\", \"kind\": \"operator\", \"name\": \"Maker GmbH\",
                                      \"address\": {\"country\": \"DE\"}}') IS NOT NULL;
               SELECT battledger.operator_holder('lei:5493001KJTIIGC8Y1R12')")
g5b=$(as plain "SELECT reg('fleet.test', '{\"identifier\": \"lei:5493001KJTIIGC8Y1R12\", \"kind\": \"operator\", \"name\": \"Fleet\",
                                       \"address\": {\"country\": \"DE\"}}')" | cut -c1-5)
check "G5 a plain role registers its member's operator through the rules (and another's claim on it is refused)" \
  "$g5 $g5b" "t maker.test BL061"
exit $FAILS
