#!/usr/bin/env bash
# pg_dump / pg_restore of a member database keeps the registry: battery
# events (with their disclosures), lots, models and operator registrations,
# its own and those that arrived from another member, every row's hash and
# signature unchanged, verify() and verify_log() clean, passports and
# registry_conflicts() identical.  Two members: a (a.example, the maker,
# signs models, lots, manufactured/placed_on_market) and b (b.example, a
# fleet operator: usage with restricted values, an operator registration),
# b subscribed to a.  b's database is dumped (-Fc) and restored as
# superuser into a fresh database of b's cluster.  REGISTRY_DUMP_PORT
# (default 55700; uses 2 ports).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
P=${REGISTRY_DUMP_PORT:-55700}
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([a]=$P [b]=$((P + 1)))
declare -A ORIGIN=([a]=a.example/log [b]=b.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
fail=0
check() { if [ "$2" = "$3" ]; then echo "ok   - $1"; else echo "FAIL - $1: got '$2', want '$3'"; fail=1; fi; }

for x in a b; do
  bl_member_start "$x" "$W" "" "$BL_QUICK_RETRY"
  q "$x" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
CREATE FUNCTION public.lot(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.lot_event := jsonb_populate_record(NULL::battledger.lot_event,
    j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r));
      INSERT INTO battledger.lot_event SELECT r.*; END $$;
CREATE FUNCTION public.reg(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.operator_registration := jsonb_populate_record(NULL::battledger.operator_registration,
    jsonb_build_object('member', m, 'occurred_at', '2025-01-01T00:00:00Z') || j
    || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r));
      INSERT INTO battledger.operator_registration SELECT r.*; END $$;
SELECT battledger.publish_member();
SQL
done
q a -c "SELECT battledger.add_member('a.example', ARRAY['miner', 'refiner', 'cell_maker', 'pack_maker', 'oem']),
              battledger.add_key('a.example', battledger_test.public_key(battledger_test.seed('a.example')), now() - interval '1 hour')" >/dev/null
q b -c "SELECT battledger.add_member('b.example', ARRAY['fleet_operator']),
              battledger.add_key('b.example', battledger_test.public_key(battledger_test.seed('b.example')), now() - interval '1 hour')" >/dev/null
for x in a b; do bl_member_keys "$x"; done
bl_join b a
bl_wait_for b "SELECT count(*) = 2 FROM battledger.members" >/dev/null || fail=1

B=https://id.gs1.org/01/09521234567899/21
q a >/dev/null <<SQL
SELECT model('a.example', '{"model_id": "M-1", "manufacturer": "a.example", "category": "ev", "chemistry": "NMC", "rated_capacity_ah": 2}');
SELECT lot('a.example', '{"lot_id": "L-1", "event": "extracted", "material": "lithium carbonate", "mass_kg": 100, "country": "CL", "occurred_at": "2024-01-05T00:00:00Z"}');
SELECT lot('a.example', '{"lot_id": "CAM-1", "event": "processed", "material": "NMC cathode active material", "mass_kg": 50, "inputs": [{"lot": "L-1", "mass_kg": 60}], "occurred_at": "2024-02-01T00:00:00Z"}');
SELECT ev('a.example', jsonb_build_object('battery_id', '$B/B1', 'event', 'manufactured', 'model_id', 'M-1',
          'lots', '[{"lot": "CAM-1", "mass_kg": 0.5}]'::jsonb, 'occurred_at', '2024-03-01T00:00:00Z'));
SELECT ev('a.example', jsonb_build_object('battery_id', '$B/B1', 'event', 'placed_on_market', 'passport_id', 'urn:bp:B1:1', 'occurred_at', '2024-03-02T00:00:00Z'));
SELECT ev('a.example', jsonb_build_object('battery_id', '$B/B2', 'event', 'manufactured', 'model_id', 'M-1', 'occurred_at', '2024-03-01T00:00:00Z'));
SELECT reg('a.example', '{"identifier": "gln:0614141000012", "kind": "operator", "name": "A Cells"}');
SQL
bl_wait_for b "SELECT count(*) = 3 FROM battledger.battery_event" >/dev/null || fail=1
# b's own rows: usage with a restricted value and its disclosure, an operator registration
q b >/dev/null <<SQL
INSERT INTO battledger.disclosure
SELECT battledger.commitment('\x000102030405060708090a0b0c0d0e0f'::bytea, '{"capacity_ah": 1.9}'), 'legitimate_interest', '\x000102030405060708090a0b0c0d0e0f'::bytea, '{"capacity_ah": 1.9}';
SELECT ev('b.example', jsonb_build_object('battery_id', '$B/B1', 'event', 'soh_reported', 'occurred_at', '2024-04-01T00:00:00Z',
          'restricted', battledger.commitment('\x000102030405060708090a0b0c0d0e0f'::bytea, '{"capacity_ah": 1.9}')::text));
SELECT reg('b.example', '{"identifier": "gln:4000001000005", "kind": "operator", "name": "B Fleet"}');
-- two usage reports under one signed batch (the batch check judges the key at the batch's time)
DO \$\$
DECLARE
    kid battledger.hash256 := battledger.key_id(battledger_test.public_key(battledger_test.seed('b.example')));
    rows battledger.battery_event[];
    root battledger.hash256;
BEGIN
    SELECT array_agg(r), battledger.batch_root(array_agg(sha256(battledger.signing_bytes(r))::battledger.hash256))
      INTO rows, root
      FROM (SELECT jsonb_populate_record(NULL::battledger.battery_event, jsonb_build_object(
                'battery_id', '$B/B1', 'event', 'soh_reported', 'occurred_at', '2024-04-0' || i || 'T00:00:00Z',
                'ledger_key_id', kid::text, 'ledger_batch', 'b-batch-1')) r
              FROM generate_series(2, 3) i) x;
    INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
    VALUES ('b-batch-1', 'battledger.battery_event', kid, 2, root,
            battledger_test.sign(battledger_test.seed('b.example'), battledger.batch_manifest('battledger.battery_event', 'b-batch-1', 2, root)));
    INSERT INTO battledger.battery_event SELECT (unnest(rows)).*;
END \$\$;
SELECT battledger.seal() IS NOT NULL;
SELECT ev('b.example', jsonb_build_object('battery_id', '$B/B1', 'event', 'soh_reported', 'occurred_at', '2024-05-01T00:00:00Z',
          'data', '{"note": "queued, not yet sealed"}'::jsonb));
SQL
bl_wait_for b "SELECT count(*) = 2 FROM battledger.operator_registration" >/dev/null || fail=1

# what must survive, as text, per database of b's cluster
snapshot() {
  psql -X -At -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[b]}" -d "$1" 2>&1 <<SQL
SELECT 'battery_event', ledger_origin, battery_id::text, ledger_seq, ledger_at, ledger_hash::text, ledger_sig::text FROM battledger.battery_event
UNION ALL SELECT 'lot_event', ledger_origin, lot_id, ledger_seq, ledger_at, ledger_hash::text, ledger_sig::text FROM battledger.lot_event
UNION ALL SELECT 'battery_model', ledger_origin, model_id, ledger_seq, ledger_at, ledger_hash::text, ledger_sig::text FROM battledger.battery_model
UNION ALL SELECT 'operator_registration', ledger_origin, identifier, ledger_seq, ledger_at, ledger_hash::text, ledger_sig::text FROM battledger.operator_registration
UNION ALL SELECT 'member_event', ledger_origin, member, ledger_seq, at, ledger_hash::text, NULL FROM battledger.member_event
UNION ALL SELECT 'key_event', ledger_origin, member, ledger_seq, at, ledger_hash::text, NULL FROM battledger.key_event
ORDER BY 1, 2, 3, 4;
SELECT 'disclosure', commitment, value FROM battledger.disclosure ORDER BY 2;
SELECT 'batch', batch_id, tbl, at, root::text, ledger_seq, ledger_hash::text FROM battledger.batch ORDER BY 2;
SELECT 'log_leaf', count(*) FROM battledger.log_leaf;
SELECT 'log_pending', tbl, seq, row_hash::text FROM battledger.log_pending ORDER BY 2, 3, 4;
SELECT 'passport', battledger.passport('$B/B1', 'legitimate_interest');
SELECT 'conflicts', problem, ledger_origin FROM battledger.registry_conflicts() ORDER BY 2, 3;
SQL
}
snapshot bl >"$BL_WORK/before"
check "b holds the registry rows (a's 3 events, 2 lots, 1 model, 2 registrations; b's 4 events)" \
  "$(grep -c '^battery_event\|^lot_event\|^battery_model\|^operator_registration' "$BL_WORK/before")" 12

pg_dump -h "$BL_WORK" -p "${PORT[b]}" -Fc -d bl -f "$BL_WORK/bl.dump"
createdb -h "$BL_WORK" -p "${PORT[b]}" rst
# as docs/dba-guide.md "Backup and restore" prints it: the extension's own
# tables are COPYed with their triggers in place; battledger.restore makes
# them keep the rows as dumped
PGOPTIONS='-c battledger.restore=on' pg_restore -h "$BL_WORK" -p "${PORT[b]}" -d rst "$BL_WORK/bl.dump" >"$BL_WORK/restore.out" 2>&1
check "pg_restore reports no error" "$(grep -c 'error' "$BL_WORK/restore.out")" 0
grep -m5 'error' "$BL_WORK/restore.out"
snapshot rst >"$BL_WORK/after"
for what in battery_event lot_event battery_model operator_registration member_event key_event disclosure batch log_leaf log_pending passport conflicts; do
  check "$what rows identical after restore ($(grep -c "^$what|" "$BL_WORK/before") before)" \
    "$(diff <(grep "^$what|" "$BL_WORK/before") <(grep "^$what|" "$BL_WORK/after") >/dev/null && echo same || echo "differ: $(grep -c "^$what|" "$BL_WORK/after") after")" same
done
r=$(psql -X -At -h "$BL_WORK" -p "${PORT[b]}" -d rst -c "
  SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('battledger.lot_event'))
       + (SELECT count(*) FROM battledger.verify('battledger.battery_model')) + (SELECT count(*) FROM battledger.verify('battledger.operator_registration'))" 2>&1)
check "verify() of the restored registry tables is clean" "$r" 0
check "verify_log() of the restored log is clean" "$(psql -X -At -h "$BL_WORK" -p "${PORT[b]}" -d rst -c "SELECT count(*) FROM battledger.verify_log()" 2>&1)" 0
rq() { psql -X -At -h "$BL_WORK" -p "${PORT[b]}" -d rst "$@" 2>&1; }
# the setting changes nothing else: new rows are written anew and chain onto the restored heads
check "a new row at the restored b chains onto its restored head" \
  "$(rq -c "SELECT ev('b.example', jsonb_build_object('battery_id', '$B/B1', 'event', 'soh_reported', 'occurred_at', '2024-06-01T00:00:00Z'))" \
        -c "SELECT ledger_seq FROM battledger.battery_event WHERE ledger_origin = 'b.example/log' ORDER BY ledger_seq DESC LIMIT 1" | tail -1)" 5
check "  and is queued for the log" "$(rq -c "SELECT count(*) FROM battledger.log_pending WHERE tbl = 'battledger.battery_event' AND seq = 5")" 1
check "  verify() still clean" "$(rq -c "SELECT count(*) FROM battledger.verify('battledger.battery_event')")" 0
# what the setting lets through: a row whose hash covers its content, nothing changed
row="FROM battledger.battery_event e WHERE ledger_origin = 'a.example/log' AND ledger_seq = 1 AND battery_id::text LIKE '%/B2'"
check "with battledger.restore on, a dumped row with its content changed is refused (BL041)" \
  "$(rq -v VERBOSITY=sqlstate -c "SET battledger.restore = on" \
        -c "INSERT INTO battledger.battery_event SELECT (jsonb_populate_record(e, '{\"occurred_at\": \"2020-01-01T00:00:00Z\"}')).* $row" 2>&1 | grep -o BL041 | head -1)" BL041
rq -c "CREATE ROLE restore_user LOGIN" -c "GRANT USAGE ON SCHEMA battledger TO restore_user" >/dev/null
# (the library loaded by a call, not LOAD, which a non-superuser may not
# run: its 42501 made this check pass without trying the SET; red team r30)
check "a role that is not superuser cannot turn battledger.restore on" \
  "$(psql -X -At -h "$BL_WORK" -p "${PORT[b]}" -U restore_user -d rst -v VERBOSITY=sqlstate -c "SELECT battledger._origin() IS NOT NULL" -c "SET battledger.restore = on" 2>&1 | head -2 | paste -sd' ')" "t ERROR:  42501"
check "a superuser cannot leave it on for a database or a role (r30 S7)" \
  "$(rq -v VERBOSITY=sqlstate -c "SELECT battledger._origin() IS NOT NULL" -c "ALTER DATABASE rst SET battledger.restore = on" -c "ALTER ROLE restore_user SET battledger.restore = on" 2>&1 | grep -c '^ERROR:  22023')" 2
check "  nor by a placeholder set before the library is loaded" \
  "$(psql -X -At -h "$BL_WORK" -p "${PORT[b]}" -U restore_user -d rst -c "SET battledger.restore = on" -c "SELECT battledger._restoring()" 2>/dev/null | tail -1)" f
# without the setting (0.22.0's procedure) the registry does not come back
createdb -h "$BL_WORK" -p "${PORT[b]}" rst2
pg_restore -h "$BL_WORK" -p "${PORT[b]}" -d rst2 "$BL_WORK/bl.dump" >"$BL_WORK/restore2.out" 2>&1
check "a restore without battledger.restore refuses the other origin's rows" \
  "$(grep -c "COPY failed for table .*names origin \"a.example/log\"" "$BL_WORK/restore2.out")" 6
[ $fail = 0 ] && echo "registry_dump: PASS" || { echo "registry_dump: FAIL"; diff "$BL_WORK/before" "$BL_WORK/after" | cut -c1-240 | head -60; exit 1; }
