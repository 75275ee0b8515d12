#!/usr/bin/env bash
# Red team r22 (0.19.0, on main f55fb17): what 0.19.0 merged (ops21's
# consortium_status() for pg_monitor and close_quarantine(); ns21's model and
# lot ids in namespaces and lots' mass balance), as a rule-following member's
# application, a malicious member (its superuser turning its rules off,
# DISABLE TRIGGER battledger_rules: what it writes is what its peers
# receive), a member's DBA, a table owner and a pg_monitor role.  One
# database holding several members' rows (the registry judges the same rows
# the same way wherever they are).  Each case prints "ok   - ..." when the
# property holds, "FAIL - ..." for a finding; exit status: the number of
# FAILs.  PG_BIN: the build under test.  R22_PORT (default 56250).
# Results, PostgreSQL 15, 2026-12-06 ~14:40 UTC: main f55fb17 9 FAILs (L1,
# L2, L3 1372 ms, N1, N1b, N3, N2, S4, V1); branch r22 0 FAILs (L3 75 ms).
#   L1  a rule-following member processes its own 100 kg lot into a 120 kg
#       lot, naming the lot twice in the inputs, 60 kg each: each entry was
#       checked against the lot's whole mass (_check_inputs()), so 120 kg
#       came out of 100 and the lot had -20 kg left (mass balance, BL033).
#   L2  a rule-following member ships its lot to another member, then
#       processes all of it before the addressee receives it: the holder
#       is still the shipper while the shipment is pending, so the
#       consumption passed and counted, and the addressee received a lot
#       with 0 kg left (a double spend of the lot).
#   L3  cost: a malicious member writes 1,000 ineffective rows of a lot it
#       does not hold (shipments) and 1,000 ineffective consumers of it
#       (processed rows naming it): _lot_consumers() judged each consumer
#       by a lateral scan of every step of the lot, steps x consumers, so
#       every member's lot_available_kg() of the holder's lot (every
#       processing of it calls it twice) took seconds.
#   N1  a member's DBA registers (add_id_namespace()) a namespace covering a
#       model id another member declared before: accepted, and the model's
#       holder (still the declarer: its row is dated before) was refused
#       its own model's next declaration (BL044), as for batteries the
#       registration is refused (add_id_namespace() checked batteries only).
#   N1b ... and with such a registration made all the same (a DBA's INSERT,
#       or one arriving from elsewhere), the holder is refused (BL044) its
#       model's next declaration that the registry counts as the model's.
#   N3  the spellings a battery id accepts for a company's GTIN or ISO/IEC
#       15459 id (element string "(01)...", a Digital Link URI, a GTIN-13,
#       upper-case "GS1:", a lower-case ISO 15459 id) were in no namespace
#       as model or lot ids: another member's application took a maker's
#       model or lot written so (_text_id_key() read the canonical form only).
#   N2  a registration dated back (id_namespace.at, a column the writer
#       fills in) over another member's model takes the model on every
#       member; registry_conflicts() named the victim's row as the
#       equivocation (model_foreign_namespace) and not the registration
#       (namespace_over_others looked at batteries only).
#   V1  verify_member() (6585687) named an equivocation's table by its
#       event text: a lot row a member wrote past its rules with the event
#       'battery_model' (or 'id_namespace') was filed under battery_model.
#   S*  consortium_status() (SECURITY DEFINER, pg_monitor) and
#       close_quarantine(): a pg_monitor role with its own search_path,
#       temp objects and settings; a plain role; a table owner (holds).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
PORT=${R22_PORT:-56250}
bl_scratch
bl_start_cluster r22 "$PORT" "$(bl_test_log_conf r22.test/log; echo "wal_level = logical")"
createdb bl
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d bl "$@"; }
# qs ROLE SQL: the SQLSTATE of the first error, or "ok"
qs() {
  local s
  s=$(psql -X -q -At -d bl -U "$1" -v VERBOSITY=sqlstate -c "$2" 2>&1 >/dev/null | sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p' | head -1)
  echo "${s:-ok}"
}

q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
SELECT battledger.add_member(m, r), battledger.add_key(m, battledger_test.public_key(battledger_test.seed(m)))
  FROM (VALUES ('cells.test', ARRAY['cell_maker', 'pack_maker', 'refiner', 'miner']), ('oem.test', ARRAY['oem']),
               ('rogue.test', ARRAY['cell_maker', 'pack_maker', 'oem', 'refiner', 'miner']),
               ('refiner.test', ARRAY['refiner', 'miner'])) v(m, r);
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
CREATE FUNCTION public.lot(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.lot_event := jsonb_populate_record(NULL::battledger.lot_event,
    j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.lot_event SELECT r.*; END $$;
SQL
LJ='{"lot_id": "%s", "event": "extracted", "material": "cobalt ore", "mass_kg": %s, "country": "CD", "occurred_at": "2026-01-01T00:00:00Z"}'
PJ='{"lot_id": "%s", "event": "processed", "material": "cobalt sulfate", "mass_kg": %s, "inputs": %s, "occurred_at": "2026-01-02T00:00:00Z"}'
SJ='{"lot_id": "%s", "event": "%s", "material": "cobalt ore", "mass_kg": 100, "counterparty": "%s", "occurred_at": "2026-01-03T00:00:00Z"}'
MJ='{"model_id": "%s", "manufacturer": "%s", "category": "ev", "chemistry": "%s", "rated_capacity_ah": %s}'

# ---------------------------------------------------------------- L. lots
q -c "SELECT lot('refiner.test', '$(printf "$LJ" L-DUP 100)')" >/dev/null
R=$(qs postgres "SELECT lot('refiner.test', '$(printf "$PJ" L-DUP-OUT 120 '[{"lot": "L-DUP", "mass_kg": 60}, {"lot": "L-DUP", "mass_kg": 60}]')')")
check "L1 one lot named twice in a processing's inputs cannot take more than its mass (BL033)" \
  "$R $(q -c "SELECT battledger.lot_available_kg('L-DUP')")" "BL033 100"

q -c "SELECT lot('refiner.test', '$(printf "$LJ" L-SHIP 100)')" >/dev/null
q -c "SELECT lot('refiner.test', '$(printf "$SJ" L-SHIP shipped cells.test)')" >/dev/null
R=$(qs postgres "SELECT lot('refiner.test', '$(printf "$PJ" L-SHIP-OUT 100 '[{"lot": "L-SHIP", "mass_kg": 100}]')')")
R2=$(qs postgres "SELECT lot('cells.test', '$(printf "$SJ" L-SHIP received refiner.test)')")
check "L2 a lot shipped and not yet received is not consumed by its shipper; the addressee gets its mass" \
  "$R $R2 $(q -c "SELECT battledger.lot_custodian('L-SHIP') || ' ' || battledger.lot_available_kg('L-SHIP')")" \
  "BL032 ok cells.test 100"

# L3: steps x consumers
q -c "SELECT lot('cells.test', '$(printf "$LJ" L-BIG 1000)')" >/dev/null
q >/dev/null <<SQL
ALTER TABLE battledger.lot_event DISABLE TRIGGER battledger_rules;
SELECT count(*) FROM (SELECT public.lot('rogue.test', jsonb_build_object('lot_id', 'L-BIG', 'event', 'shipped', 'material', 'cobalt ore',
    'mass_kg', i, 'counterparty', 'rogue.test', 'occurred_at', '2026-01-03T00:00:00Z')) FROM generate_series(1, 2000) i) x;
SELECT count(*) FROM (SELECT public.lot('rogue.test', jsonb_build_object('lot_id', 'R-OUT-' || i, 'event', 'processed',
    'material', 'cobalt sulfate', 'mass_kg', 1, 'inputs', jsonb_build_array(jsonb_build_object('lot', 'L-BIG', 'mass_kg', 1)),
    'occurred_at', '2026-01-03T00:00:00Z')) FROM generate_series(1, 2000) i) x;
ALTER TABLE battledger.lot_event ENABLE TRIGGER battledger_rules;
SQL
MS=$(q <<'SQL' | tail -1
SELECT battledger.lot_available_kg('L-BIG');   -- plans kept
SELECT clock_timestamp() AS t0 \gset
SELECT battledger.lot_available_kg('L-BIG');
SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1000);
SQL
)
AV=$(q -c "SELECT battledger.lot_available_kg('L-BIG')")
if [ "$AV" = 1000 ] && [ "$MS" -lt 300 ]; then ok "L3 2,000 junk steps and 2,000 junk consumers of a lot: lot_available_kg() $MS ms, $AV kg"
else fail "L3 2,000 junk steps and 2,000 junk consumers of a lot" "lot_available_kg() $MS ms (want < 300), $AV kg (want 1000)"; fi

# ---------------------------------------------------------------- N. namespaces
# N1: oem.test declared gs1:01/04012345000017 (a free id then); cells.test's
# DBA then registers gs1:4012345
q -c "SELECT model('oem.test', '$(printf "$MJ" gs1:01/04012345000017 oem.test NMC 50)')" >/dev/null
R=$(qs postgres "SELECT battledger.add_id_namespace('cells.test', 'gs1:4012345')")
R2=$(qs postgres "SELECT model('oem.test', '$(printf "$MJ" gs1:01/04012345000017 oem.test NMC 51)')")
check "N1 a registration over another member's declared model is refused (BL044), its holder keeps declaring it" \
  "$R $R2 $(q -c "SELECT battledger._model_holder('gs1:01/04012345000017')")" "BL044 ok oem.test"
# N1b: the registration there all the same (a DBA's INSERT, or one arriving
# from the member's own database): the holder still declares its model
q -c "INSERT INTO battledger.id_namespace (namespace, member) VALUES ('gs1:4012345', 'cells.test')" >/dev/null
R2=$(qs postgres "SELECT model('oem.test', '$(printf "$MJ" gs1:01/04012345000017 oem.test NMC 52)')")
check "N1b with the registration made, the model's holder still declares it (its rows dated before count)" \
  "$R2 $(q -c "SELECT battledger._model_holder('gs1:01/04012345000017')")" "ok oem.test"
# N3: the spellings battery ids accept, in cells.test's namespace
# gs1:4012345 (registered above) and iso15459:UN/123456: another member's
# application declaring a model or creating a lot so spelled
q -c "INSERT INTO battledger.id_namespace (namespace, member) VALUES ('iso15459:UN/123456', 'cells.test')" >/dev/null
G=""
for id in '(01)04012345000024' 'https://id.gs1.org/01/04012345000024' 'gs1:01/4012345000031' 'GS1:01/04012345000048' 'iso15459:un/123456/m1'; do
  G="$G $(qs postgres "SELECT model('rogue.test', '$(printf "$MJ" "$id" rogue.test NMC 1)')")"
done
G="$G $(qs postgres "SELECT lot('rogue.test', '$(printf "$LJ" 'iso15459:un/123456/lot-7' 5)')")"
check "N3 a model or lot id in another spelling of c's namespace (element string, Digital Link, GTIN-13, case) is refused (BL044)" \
  "$G" " BL044 BL044 BL044 BL044 BL044 BL044"
# N2: a registration dated back over another member's model (a DBA's INSERT)
q -c "SELECT model('oem.test', '$(printf "$MJ" gs1:01/05012345000014 oem.test NMC 50)')" >/dev/null
q -c "INSERT INTO battledger.id_namespace (namespace, member, at) VALUES ('gs1:5012345', 'rogue.test', '2000-01-01')" >/dev/null
C=$(q -c "SELECT string_agg(signer || ' ' || problem, ', ' ORDER BY problem) FROM battledger.registry_conflicts()
           WHERE message LIKE '%5012345%'")
case "$C" in
  *"rogue.test namespace_over_others"*) ok "N2 a registration dated back over another member's model is named (namespace_over_others): $C" ;;
  *) fail "N2 a registration dated back over another member's model" "registry_conflicts() names '$C', not the registration (namespace_over_others)" ;;
esac

# ---------------------------------------------------------------- S. status
# a live subscription (to another database of this cluster), so that
# consortium_status() has a member whose state reaches the quarantine
createdb pub
psql -X -q -At -v ON_ERROR_STOP=1 -d pub >/dev/null <<'SQL'
CREATE TABLE public.t (i int PRIMARY KEY);
CREATE PUBLICATION p FOR TABLE public.t;
SELECT pg_create_logical_replication_slot('r22sub', 'pgoutput');
SQL
q >/dev/null <<SQL
CREATE TABLE public.t (i int PRIMARY KEY);
CREATE SUBSCRIPTION r22sub CONNECTION 'host=$BL_WORK port=$PORT dbname=pub user=postgres' PUBLICATION p
  WITH (create_slot = false, slot_name = 'r22sub', copy_data = false);
INSERT INTO battledger.consortium_member (origin, subscription, log_vkey) VALUES ('r22.test/log', 'r22sub', battledger.log_vkey());
CREATE ROLE mon LOGIN IN ROLE pg_monitor;
CREATE ROLE plain LOGIN;
CREATE ROLE app LOGIN;
GRANT CREATE ON SCHEMA public TO mon, app;
SQL
for i in $(seq 1 100); do
  [ "$(q -c "SELECT state FROM battledger.consortium_status()")" = ok ] && break; sleep 0.2
done
check "  (the member's state is ok before the quarantine)" "$(q -c "SELECT state FROM battledger.consortium_status()")" ok
# S4: a private ledger table of an application role (pg_monitor may not read
# it); a quarantine of every chain of it from the member, and a row held
# there that release_chain() could not store (problem: its SQLERRM)
q >/dev/null <<'SQL'
CREATE TABLE public.private (email text NOT NULL, note text NOT NULL);
ALTER TABLE public.private OWNER TO app;
SELECT battledger.enable_ledger('public.private', 'email');
INSERT INTO battledger.quarantine (origin, tbl, chain_key, reason) VALUES ('r22.test/log', 'public.private', NULL, 'test');
INSERT INTO battledger.held_row (origin, tbl, chain_key, seq, row_data, problem)
VALUES ('r22.test/log', 'public.private', 'alice@example.org', 7, '{"email": "alice@example.org", "note": "diagnosis: X"}',
        'invalid input syntax for type integer: "diagnosis: X"');
SQL
R=$(psql -X -q -At -d bl -U mon -c "SELECT state || ': ' || reason FROM battledger.consortium_status()" 2>&1)
check "S4 (a pg_monitor role may not read the private table)" "$(qs mon "SELECT * FROM public.private")" 42501
case "$R" in
  quarantined*alice@example.org*|quarantined*diagnosis*) fail "S4 consortium_status() shows a pg_monitor role no row data of a held row" "$R" ;;
  quarantined*) ok "S4 consortium_status() shows a pg_monitor role no row data of a held row: $R" ;;
  *) fail "S4 consortium_status() for a quarantine" "$R" ;;
esac
check "S1 a plain role cannot run consortium_status() or close_quarantine()" \
  "$(qs plain "SELECT * FROM battledger.consortium_status()") $(qs plain "SELECT battledger.close_quarantine('x', 'battledger.lot_event')")" \
  "42501 42501"
check "S2 a pg_monitor role cannot run close_quarantine()" \
  "$(qs mon "SELECT battledger.close_quarantine('x', 'battledger.lot_event')")" 42501
# S3: pg_monitor with its own objects first in search_path: format(),
# concat_ws(), text = text and count() of its own in public, a temp table
# named as the extension's, settings it may set
R=$(psql -X -q -At -d bl -U mon 2>&1 <<'SQL'
CREATE FUNCTION public.format(text, VARIADIC text[]) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'pwned as %', current_user; RETURN 'x'; END $$;
CREATE FUNCTION public.concat_ws(text, VARIADIC text[]) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'pwned as %', current_user; RETURN 'x'; END $$;
CREATE FUNCTION public.textpwn(text, text) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'pwned as %', current_user; RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.textpwn);
CREATE TEMP TABLE quarantine (origin text);
SET search_path = public, pg_temp, battledger, pg_catalog;
SET DateStyle = 'SQL, DMY'; SET IntervalStyle = 'iso_8601'; SET TimeZone = 'Pacific/Kiritimati';
SELECT state FROM battledger.consortium_status();
SQL
)
case "$R" in *pwned*|*ERROR*) fail "S3 a pg_monitor role's objects and settings in consortium_status()" "$R" ;;
  *) ok "S3 a pg_monitor role's own search_path, functions, operators, temp tables and settings do not reach consortium_status() ($R)" ;; esac

# ---------------------------------------------------------------- V. verify_member()
# V1: a lot row whose event text is 'battery_model' (a member past its
# rules: any text; wrong_role, an equivocation): verify_member() names the
# table the row is in
q >/dev/null <<SQL
ALTER TABLE battledger.lot_event DISABLE TRIGGER battledger_rules;
SELECT public.lot('rogue.test', '{"lot_id": "L-EV", "event": "battery_model", "material": "x", "mass_kg": 1, "occurred_at": "2026-01-01T00:00:00Z"}');
ALTER TABLE battledger.lot_event ENABLE TRIGGER battledger_rules;
SQL
check "V1 verify_member() names a lot row's table, whatever its event text" \
  "$(q -c "SELECT string_agg(tbl, ',') FROM battledger.verify_member('r22.test/log') WHERE problem = 'registry_equivocation' AND detail LIKE '%L-EV%'")" \
  battledger.lot_event
q -c "DROP SUBSCRIPTION r22sub" >/dev/null

echo "# $FAILS FAIL(s)"
exit "$FAILS"
