#!/usr/bin/env bash
# Red team hr (0.5.0 review): reproducers, not a regression test.  Prints what
# it sees; see the report in the commit message for the expected lines.
#   A. namespace squatting through add_id_namespace(): a 4-digit prefix blocks
#      the real maker (its writer refuses, its own registration is refused)
#   B. a registration dated back (DBA where the rogue is hosted) takes a
#      battery another member already made; registry_conflicts() blames the victim
#   C. the writer's fold cache diverges from battery_state() when a row naming
#      a cached passport id commits while the cache is being filled
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
bl_scratch
bl_start_cluster hr 55492
createdb reg
q() { psql -X -q -At -d reg "$@"; }
q <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
SET search_path = public, battledger, battledger_test;
SELECT count(*) FROM (SELECT add_member(m, r), add_key(m, public_key(seed(m)))
  FROM (VALUES ('cells.test', ARRAY['cell_maker', 'pack_maker', 'oem']), ('rogue.test', ARRAY['cell_maker','pack_maker'])) v(m, r)) x;
CREATE FUNCTION public.ev(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.battery_event SELECT r.*; END $$;
CREATE FUNCTION public.model(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_model := jsonb_populate_record(NULL::battledger.battery_model, j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r)); INSERT INTO battledger.battery_model SELECT r.*; END $$;
CREATE FUNCTION public.try_ev(m text, j jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM public.ev(m, j); RAISE EXCEPTION USING ERRCODE = 'XX999';
EXCEPTION WHEN OTHERS THEN RETURN CASE WHEN SQLSTATE = 'XX999' THEN 'ok' ELSE SQLSTATE END; END $$;
SELECT model('cells.test', '{"model_id": "M1", "manufacturer": "cells.test", "category": "ev", "chemistry": "NMC", "rated_capacity_ah": 2.0}');
SELECT model('rogue.test', '{"model_id": "R1", "manufacturer": "rogue.test", "category": "ev", "chemistry": "NMC", "rated_capacity_ah": 2.0}');
SQL
echo "== A: squatting a 4-digit GS1 prefix"
q <<'SQL'
SET search_path = public, battledger, battledger_test;
SELECT 'rogue registers', add_id_namespace('rogue.test', 'gs1:9521');
DO $$ BEGIN PERFORM battledger.add_id_namespace('cells.test', 'gs1:952123');
EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'cells registers its own prefix: % %', SQLSTATE, SQLERRM; END $$;
SELECT 'cells makes its own battery', try_ev('cells.test', '{"battery_id": "gs1:01/09521234567899/21/A1", "event": "manufactured", "model_id": "M1", "occurred_at": "2026-01-01T00:00:00Z"}');
SELECT 'rogue makes it', try_ev('rogue.test', '{"battery_id": "gs1:01/09521234567899/21/A1", "event": "manufactured", "model_id": "R1", "occurred_at": "2026-01-01T00:00:00Z"}');
SELECT 'registry_conflicts rows', count(*) FROM registry_conflicts();
SQL
echo "== B: a registration dated back takes a stored battery"
q <<'SQL'
SET search_path = public, battledger, battledger_test;
SELECT ev('cells.test', '{"battery_id": "gs1:01/04012345000016/21/V1", "event": "manufactured", "model_id": "M1", "occurred_at": "2026-01-01T00:00:00Z"}');
SELECT 'before', * FROM battery_state('gs1:01/04012345000016/21/V1');
INSERT INTO battledger.id_namespace (namespace, member, at) VALUES ('gs1:4012345', 'rogue.test', '2000-01-01');
SELECT 'after registration', * FROM battery_state('gs1:01/04012345000016/21/V1');
SELECT ev('rogue.test', '{"battery_id": "gs1:01/04012345000016/21/V1", "event": "manufactured", "model_id": "R1", "occurred_at": "2026-01-01T00:00:00Z"}');
SELECT 'after rogue', * FROM battery_state('gs1:01/04012345000016/21/V1');
SELECT 'conflict', problem, kind, signer FROM registry_conflicts();
SQL
echo "== C: cache filled while a row naming its passport id commits"
B=gs1:01/09999999999994/21/R1
q <<SQL
SET search_path = public, battledger, battledger_test;
SELECT ev('cells.test', '{"battery_id": "$B", "event": "manufactured", "model_id": "M1", "occurred_at": "2026-01-01T00:00:00Z"}');
SELECT ev('cells.test', '{"battery_id": "$B", "event": "placed_on_market", "passport_id": "PP-R", "occurred_at": "2026-01-01T00:00:00Z"}');
-- stand-in for replication: rows of other origins, stored without the local triggers
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.battery_event DISABLE TRIGGER ALL;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
-- a rogue's ineffective moves (F8 padding) make the fill take seconds
INSERT INTO battledger.battery_event (battery_id, event, new_status, occurred_at, ledger_key_id, ledger_sig, ledger_at, ledger_origin, ledger_seq, ledger_hash, ledger_prev)
SELECT e.battery_id, 'status_changed', 'remanufactured', now(), e.ledger_key_id, sha512(int8send(i)), now() + interval '1 hour' + i * interval '1 ms', 'zz', i, e.ledger_hash, e.ledger_prev
  FROM battledger.battery_event e, generate_series(1, 80000) i WHERE e.battery_id::text = '$B' AND e.event = 'placed_on_market';
DELETE FROM battledger.battery_fold_cache;
SQL
( q -c "SELECT 'fill', battledger._battery_state_cached('$B')" > "$BL_WORK/fill.out" ) &
sleep 1.5
# another battery's placed_on_market naming PP-R, dated before R1's, arrives
q <<SQL
INSERT INTO battledger.battery_event (battery_id, event, passport_id, occurred_at, ledger_key_id, ledger_sig, ledger_at, ledger_origin, ledger_seq, ledger_hash, ledger_prev)
SELECT 'gs1:01/09999999999994/21/Y1', 'placed_on_market', 'PP-R', now(), e.ledger_key_id, sha512('y'::bytea), '2020-01-01', 'yy', 1, e.ledger_hash, e.ledger_prev
  FROM battledger.battery_event e WHERE e.battery_id::text = '$B' AND e.event = 'placed_on_market' AND e.ledger_origin = '';
SQL
wait
q <<'SQL'
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.battery_event ENABLE TRIGGER ALL;
ALTER TABLE battledger.battery_event ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER TABLE battledger.battery_event ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
SQL
cat "$BL_WORK/fill.out"
q -c "SELECT 'cached', battledger._battery_state_cached('$B')" \
  -c "SELECT 'fold', manufactured, status, passport_id, custodian, handover_to FROM battledger.battery_lifecycle('$B')
       ORDER BY ledger_at DESC, ledger_origin DESC, ledger_seq DESC LIMIT 1"
# what the writer decides on the stale state: it refuses a fresh placing on
# the market (the fold has the battery off the market) and accepts a move
# the fold judges ineffective
q -c "SET search_path = public, battledger, battledger_test" \
  -c "SELECT 'writer: placed_on_market', try_ev('cells.test', '{\"battery_id\": \"$B\", \"event\": \"placed_on_market\", \"passport_id\": \"PP-R2\", \"occurred_at\": \"2026-01-03T00:00:00Z\"}')" \
  -c "SELECT ev('cells.test', '{\"battery_id\": \"$B\", \"event\": \"status_changed\", \"new_status\": \"waste\", \"occurred_at\": \"2026-01-03T00:00:00Z\"}')" \
  -c "SELECT 'fold of the accepted move', effective, problem FROM battery_lifecycle('$B') WHERE event = 'status_changed' AND ledger_origin = ''"
