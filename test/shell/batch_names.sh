#!/usr/bin/env bash
# A batch is named by its id and its signer's key (0.28.0, red team rt27
# H6).  Each member picks its own batch ids; until 0.28.0 an id alone named
# a batch across the consortium (battledger.batch UNIQUE (batch_id)), so two
# members that filed one id before either had the other's each stopped
# their subscription to the other (duplicate_batch), and a third member
# stopped whichever arrived second.  Members c, m, f (test/lib/redteam.sh's
# rt_three_members) on BATCH_NAMES_PORT (default 58760) and the next two.
#   N1  c and m, not receiving from each other, each file batch "shared-1"
#       of their own rows; f receives both: f holds both batches, nothing
#       refused, its status of c and of m ok.
#   N2  c and m receive from each other again: each holds both batches,
#       every status ok, no rejection anywhere; verify() and verify_member()
#       clean at f.
#   N3  a rogue member's superuser (c) drops its own unique constraint and
#       writes (shared-1, c's key) a second time past its triggers, a new
#       row on it: f refuses it on arrival as duplicate_batch (the name is
#       taken), its status of c names the stop, and f keeps the two batches
#       of that id it had; verify() at c names the name filed twice
#       (duplicate_batch, since rt28: before, the first manifest's count).
# On 0.27.0 N1 fails (f: duplicate_batch, the second arrival's subscription
# stopped) and N2 with it.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/redteam.sh"

rt_three_members "${BATCH_NAMES_PORT:-58760}"
C=gs1:01/09521230000017/21
q c -c "SELECT model('cell-1', '{\"model_id\": \"CELL-M\", \"manufacturer\": \"cell.example\", \"category\": \"ev\", \"chemistry\": \"LFP\", \"rated_capacity_ah\": 280}'::jsonb)" >/dev/null
for x in m f; do bl_wait_for "$x" "SELECT count(*) = 1 FROM battledger.battery_model" >/dev/null; done
for x in c m f; do q "$x" >/dev/null <<'SQL'
-- bev(seed, id, batteries): a signed batch of battery_event rows, one
-- "manufactured" row a battery, filed with its rows in one transaction
CREATE FUNCTION public.bev(s text, id text, batteries text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    kid battledger.hash256 := battledger.key_id(battledger_test.public_key(battledger_test.seed(s)));
    rows battledger.battery_event[] := ARRAY(
        SELECT jsonb_populate_record(NULL::battledger.battery_event, jsonb_build_object(
                   'battery_id', b, 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z',
                   'model_id', 'CELL-M', 'ledger_key_id', kid::text, 'ledger_batch', id))
          FROM unnest(batteries) b);
    root battledger.hash256 := battledger.batch_root(ARRAY(
        SELECT sha256(battledger.signing_bytes(r))::battledger.hash256 FROM unnest(rows) r));
BEGIN
    INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
    VALUES (id, 'battledger.battery_event', kid, cardinality(rows), root,
            battledger_test.sign(battledger_test.seed(s),
                                 battledger.batch_manifest('battledger.battery_event', id, cardinality(rows), root)));
    INSERT INTO battledger.battery_event SELECT (r).* FROM unnest(rows) r;
END $$;
SQL
done
sub() { q "$1" -c "SELECT subscription FROM battledger.consortium_member WHERE origin = '${ORIGIN[$2]}'"; }
st() { q "$1" -c "SELECT state FROM battledger.consortium_status() WHERE member = '${ORIGIN[$2]}'"; }
n_batches() { q "$1" -c "SELECT count(*) FROM battledger.batch WHERE batch_id = '$2'"; }
n_rows() { q "$1" -c "SELECT count(*) FROM battledger.battery_event WHERE ledger_batch = '$2'"; }
rejections() { q "$1" -c "SELECT coalesce(string_agg(DISTINCT problem, ','), '') FROM battledger.rejections"; }
sub_cm=$(sub c m); sub_mc=$(sub m c)

# ------------------------------------------------------------------ N1
q c -c "ALTER SUBSCRIPTION $sub_cm DISABLE" >/dev/null
q m -c "ALTER SUBSCRIPTION $sub_mc DISABLE" >/dev/null
q c -c "SELECT bev('cell-1', 'shared-1', ARRAY['$C/B1', '$C/B2'])" >/dev/null
q m -c "SELECT bev('mal-1', 'shared-1', ARRAY['$C/M1'])" >/dev/null
bl_wait_for f "SELECT count(*) = 3 FROM battledger.battery_event WHERE ledger_batch = 'shared-1'
               OR EXISTS (SELECT 1 FROM battledger.rejections)" 150 >/dev/null
check "N1 f holds c's and m's batch \"shared-1\" and their 3 rows; nothing refused" \
  "$(n_batches f shared-1)|$(n_rows f shared-1)|$(rejections f)" "2|3|"
check "N1 f's status of c and of m: ok" "$(st f c)|$(st f m)" "ok|ok"

# ------------------------------------------------------------------ N2
q c -c "ALTER SUBSCRIPTION $sub_cm ENABLE" >/dev/null
q m -c "ALTER SUBSCRIPTION $sub_mc ENABLE" >/dev/null
for x in c m; do
  bl_wait_for "$x" "SELECT count(*) = 3 FROM battledger.battery_event WHERE ledger_batch = 'shared-1'
                    OR EXISTS (SELECT 1 FROM battledger.rejections)" 150 >/dev/null
done
check "N2 c and m each hold both batches and all 3 rows" \
  "$(n_batches c shared-1)|$(n_rows c shared-1)|$(n_batches m shared-1)|$(n_rows m shared-1)" "2|3|2|3"
check "N2 no rejection at c, m or f" "$(rejections c)|$(rejections m)|$(rejections f)" "||"
check "N2 every member's status of the two others: ok" \
  "$(st c m)|$(st c f)|$(st m c)|$(st m f)|$(st f c)|$(st f m)" "ok|ok|ok|ok|ok|ok"
check "N2 verify() at f: no problem" \
  "$(q f -c "SELECT count(*) FROM battledger.verify('battledger.battery_event')")|$(q f -c "SELECT count(*) FROM battledger.verify('battledger.batch')")" "0|0"
check "N2 verify_member() at f of c and of m: no problem" \
  "$(q f -c "SELECT count(*) FROM battledger.verify_member('${ORIGIN[c]}')")|$(q f -c "SELECT count(*) FROM battledger.verify_member('${ORIGIN[m]}')")" "0|0"

# ------------------------------------------------------------------ N3
# c's superuser, behind its own guards (the unique constraint dropped, the
# rows written in restore mode with their chain fields computed), files its
# batch's name again, with one new row on it
q c >/dev/null <<SQL
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.batch DROP CONSTRAINT batch_batch_id_key_id_key;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
SET battledger.restore = on;
DO \$\$
DECLARE
    kid battledger.hash256 := battledger.key_id(battledger_test.public_key(battledger_test.seed('cell-1')));
    e battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, jsonb_build_object(
        'battery_id', '$C/B3', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z',
        'model_id', 'CELL-M', 'ledger_key_id', kid::text, 'ledger_batch', 'shared-1'));
    root battledger.hash256 := battledger.batch_root(ARRAY[sha256(battledger.signing_bytes(e))::battledger.hash256]);
    b battledger.batch;
BEGIN
    b := jsonb_populate_record(NULL::battledger.batch, jsonb_build_object(
        'batch_id', 'shared-1', 'tbl', 'battledger.battery_event', 'key_id', kid::text, 'row_count', 1,
        'root', root::text, 'at', now(), 'ledger_origin', '${ORIGIN[c]}'));
    b.sig := battledger_test.sign(battledger_test.seed('cell-1'),
                                  battledger.batch_manifest('battledger.battery_event', 'shared-1', 1, root));
    SELECT x.ledger_seq + 1, x.ledger_hash INTO b.ledger_seq, b.ledger_prev
      FROM battledger.batch x WHERE x.key_id OPERATOR(battledger.=) kid AND x.ledger_origin = '${ORIGIN[c]}'
     ORDER BY x.ledger_seq DESC LIMIT 1;
    b.ledger_hash := battledger.chain_hash(b.ledger_prev, b.ledger_seq, battledger.row_bytes(b));
    INSERT INTO battledger.batch SELECT b.*;
    e.ledger_origin := '${ORIGIN[c]}';
    e.ledger_seq := 1;
    e.ledger_at := now();
    e.ledger_prev := repeat('0', 64);
    e.ledger_hash := battledger.chain_hash(e.ledger_prev, 1, battledger.row_bytes(e));
    INSERT INTO battledger.battery_event SELECT e.*;
END \$\$;
SQL
check "N3 (setup) c stored a second (shared-1, c's key) batch" "$(n_batches c shared-1)" 3
bl_wait_for f "SELECT EXISTS (SELECT 1 FROM battledger.rejections WHERE origin = '${ORIGIN[c]}')" 150 >/dev/null
check "N3 f refuses c's second batch of that name: duplicate_batch" \
  "$(q f -c "SELECT string_agg(DISTINCT problem, ',') FROM battledger.rejections WHERE origin = '${ORIGIN[c]}'")" duplicate_batch
check "N3 f's status of c names the stop; of m still ok" "$(st f c)|$(st f m)" "stopped|ok"
check "N3 f keeps the two first batches of that name and their rows, not the third's row" \
  "$(n_batches f shared-1)|$(n_rows f shared-1)" "2|3"
check "N3 verify() at c names the name filed twice: duplicate_batch (rt28 D3)" \
  "$(q c -c "SELECT count(*) > 0 FROM battledger.verify('battledger.battery_event') WHERE problem = 'duplicate_batch'")" t
exit "$FAILS"
