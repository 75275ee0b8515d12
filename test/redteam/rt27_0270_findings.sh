#!/usr/bin/env bash
# rt27 (0.27.0 cycle, main 10c9a3f = 0.26.0 as released): a member's
# signed rows and batches written again where the member is not hosted.
# FAIL = an open hole, ok = holds.  Members c, m, f of
# test/lib/redteam.sh's rt_three_members on RT27_PORT (default 58120) and
# the next two ports.
#
# A signature covers a row's content and the table (docs/encoding.md,
# "Signing bytes"), not where the row is written: ledger_origin and
# ledger_at are left out.  Until 0.27.0 neither the chain trigger nor the
# batch check asked whether the signer's member is one this database's
# origin added, and the arrival check did not ask whether it is one the
# row's origin added.  So a member's signed row, or signed batch, written
# into another member's database before the member's own copy arrived there
# was stored there under that database's origin; when the member's own row
# arrived, the signature's unique index made it a unique_conflict, and the
# subscription to the honest member stopped, blaming it ("two members wrote
# conflicting rows").
#  H1  a plain role (LOGIN, no grants: PUBLIC may INSERT into battery_event
#      and batch, every row being checked) at f, while f has not yet
#      received c's new row (its subscription to c lagging, here disabled),
#      inserts a copy of it (the bytes from anywhere the row is, here m):
#      H1a the copy must be refused, H1b c's own row must then reach f and
#      f's status of c stay ok, H1c c's status of f stay ok (f's copy, under
#      f's origin, conflicted at c with c's own row).
#  H2  the same with a signed batch of c and its row: the batch copy must be
#      refused.
#  H4  an honest flow still works: c's next signed rows reach f and m (run
#      before H3, which leaves m's own subscription to c on its conflict).
#  H3  the malicious member m's superuser writes c's row again under m's
#      own origin (battledger.restore, chain fields computed) before f has
#      c's: H3a f must refuse m's copy as m's (signer_not_hosted), H3b f
#      must store c's own row and its status of c stay ok.
#  H5  a join's copy lets a row through before the member rows it needs
#      (as keys): such a copy, stored at f as a join's copy would store it,
#      must be named by verify_member(m) at f (signer_not_hosted).
# Results, PostgreSQL 15, 2026-12-07, main 10c9a3f: 9 FAILs (H1a, H1b,
# H1c, H2, H2b, H4, H3a, H3b, H5; the setups ok), about 50 s.  H1's
# refusal stops f's subscription to c for good there (nothing later from c
# is applied until the DBA skips that transaction), so H2b, H4 and H3b fail
# from it as well.
# Fixed (0.27.0, src/pg/sign.c, keys.c, arrive.c; verify_member()): the
# chain trigger and the batch check refuse a good signature of a member
# this origin did not add (BL019); the arrival check refuses one of a
# member the row's origin did not add (signer_not_hosted; skipped during a
# join's copy, as unknown_key is), and verify_member() names such rows
# copied at a join: 0 FAILs, about 15-65 s (load).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/redteam.sh"
BL_CLI=${BL_CLI:-$BL_ROOT/bin/battledger}

rt_three_members "${RT27_PORT:-58120}"
C=gs1:01/09521230000017/21
q c -c "SELECT model('cell-1', '{\"model_id\": \"CELL-M\", \"manufacturer\": \"cell.example\", \"category\": \"ev\", \"chemistry\": \"LFP\", \"rated_capacity_ah\": 280}'::jsonb)" >/dev/null
for x in m f; do bl_wait_for "$x" "SELECT count(*) = 1 FROM battledger.battery_model" >/dev/null; done
sub_fc=$(q f -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'c.example/log'")
sub_cf=$(q c -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'f.example/log'")
q f -c "CREATE ROLE plain LOGIN" >/dev/null
qp() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[f]}" -U plain -d bl "$@"; }
st() { q "$1" -c "SELECT state FROM battledger.consortium_status() WHERE member = '$2'"; }
# the row of battery $1 at m (c's copy there), as a jsonb without the chain fields
copied() { q m -c "SELECT to_jsonb(e) - 'ledger_at' - 'ledger_origin' - 'ledger_seq' - 'ledger_prev' - 'ledger_hash'
                     FROM battledger.battery_event e WHERE e.battery_id::text = '$C/$1' AND e.ledger_origin = 'c.example/log'"; }
n_at() { q "$1" -c "SELECT count(*) FROM battledger.battery_event WHERE battery_id::text = '$C/$2' AND ledger_origin = '$3'"; }
# c writes, f does not receive it yet
lag() { q f -c "ALTER SUBSCRIPTION $sub_fc DISABLE" >/dev/null; }
catch_up() {  # f receives from c again; waits for c's row of battery $1, or c stopped
  q f -c "ALTER SUBSCRIPTION $sub_fc ENABLE" >/dev/null
  bl_wait_for f "SELECT (SELECT count(*) FROM battledger.battery_event WHERE battery_id::text = '$C/$1' AND ledger_origin = 'c.example/log') = 1
                        OR (SELECT state = 'stopped' FROM battledger.consortium_status() WHERE member = 'c.example/log')" 150 >/dev/null
}

# ------------------------------------------------------------------ H1
lag
q c -c "SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/B1', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M'))" >/dev/null
bl_wait_for m "SELECT count(*) = 1 FROM battledger.battery_event WHERE battery_id::text = '$C/B1'" >/dev/null
row=$(copied B1)
e=$(qp -c "INSERT INTO battledger.battery_event SELECT * FROM jsonb_populate_record(NULL::battledger.battery_event, '$row'::jsonb)" 2>&1)
echo "     (plain role's copy at f: ${e:-accepted})"
check "H1a a plain role's copy of c's signed row at f is refused" "$(n_at f B1 f.example/log)" 0
catch_up B1
check "H1b c's own row reaches f; f's status of c is ok" "$(n_at f B1 c.example/log)|$(st f c.example/log)" "1|ok"
sleep 2
check "H1c c's status of f is ok (no copy of c's row under f's origin conflicting there)" "$(st c f.example/log)" ok

# ------------------------------------------------------------------ H2
lag
q c >/dev/null <<SQL
DO \$\$
DECLARE
    kid battledger.hash256 := battledger.key_id(battledger_test.public_key(battledger_test.seed('cell-1')));
    r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, jsonb_build_object(
        'battery_id', '$C/B2', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M',
        'ledger_key_id', kid::text, 'ledger_batch', 'c-batch-1'));
    root battledger.hash256 := battledger.batch_root(ARRAY[sha256(battledger.signing_bytes(r))::battledger.hash256]);
BEGIN
    INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
    VALUES ('c-batch-1', 'battledger.battery_event', kid, 1, root,
            battledger_test.sign(battledger_test.seed('cell-1'), battledger.batch_manifest('battledger.battery_event', 'c-batch-1', 1, root)));
    INSERT INTO battledger.battery_event SELECT r.*;
END \$\$;
SQL
bl_wait_for m "SELECT count(*) = 1 FROM battledger.battery_event WHERE battery_id::text = '$C/B2'" >/dev/null
b=$(q m -c "SELECT format('INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig) VALUES (%L, %L, %L, %s, %L, %L)',
                          batch_id, tbl, key_id, row_count, root, sig) FROM battledger.batch WHERE batch_id = 'c-batch-1'")
row=$(copied B2)
e=$(qp -c "BEGIN" -c "$b" -c "INSERT INTO battledger.battery_event SELECT * FROM jsonb_populate_record(NULL::battledger.battery_event, '$row'::jsonb)" -c "COMMIT" 2>&1)
echo "     (plain role's copy of c's batch at f: ${e:-accepted})"
check "H2 a plain role's copy of c's signed batch (and its row) at f is refused" \
  "$(q f -c "SELECT count(*) FROM battledger.batch WHERE batch_id = 'c-batch-1' AND ledger_origin = 'f.example/log'")" 0
catch_up B2
check "H2b c's own batch reaches f; f's status of c is ok" "$(n_at f B2 c.example/log)|$(st f c.example/log)" "1|ok"

# ------------------------------------------------------------------ H4
q c -c "SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/B4', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M'))" \
    -c "SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/B4', 'event', 'placed_on_market', 'passport_id', 'urn:bp:B4', 'occurred_at', '2026-01-10T00:00:00Z'))" >/dev/null
for x in f m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.battery_event WHERE battery_id::text = '$C/B4'" 150 >/dev/null; done
check "H4 c's own signed rows still reach f and m" "$(n_at f B4 c.example/log)|$(n_at m B4 c.example/log)" "2|2"

# ------------------------------------------------------------------ H3
# m's superuser reads c's new row from its replication stream (here: from
# c) before applying it, and writes it under m's origin, its chain fields
# its own (battledger.restore keeps them), while f has not received c's
lag
sub_mc=$(q m -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'c.example/log'")
q m -c "ALTER SUBSCRIPTION $sub_mc DISABLE" >/dev/null
q c -c "SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/B3', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M'))" >/dev/null
row=$(q c -c "SELECT to_jsonb(e) - 'ledger_at' - 'ledger_origin' - 'ledger_seq' - 'ledger_prev' - 'ledger_hash'
                FROM battledger.battery_event e WHERE e.battery_id::text = '$C/B3'")
q m -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<SQL
SET battledger.restore = on;
DO \$\$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, '$row'::jsonb
            || jsonb_build_object('ledger_origin', 'm.example/log', 'ledger_seq', 1, 'ledger_at', now(),
                                  'ledger_prev', repeat('0', 64)));
BEGIN
    r.ledger_hash := battledger.chain_hash(r.ledger_prev, 1, battledger.row_bytes(r));
    INSERT INTO battledger.battery_event SELECT r.*;
END \$\$;
SQL
check "H3 setup: m's superuser stored its copy of c's row under m's origin" "$(n_at m B3 m.example/log)" 1
bl_wait_for f "SELECT (SELECT count(*) FROM battledger.battery_event WHERE battery_id::text = '$C/B3') = 1
                      OR (SELECT state = 'stopped' FROM battledger.consortium_status() WHERE member = 'm.example/log')" 150 >/dev/null
check "H3a f refuses m's copy as m's (signer_not_hosted), m stopped" \
  "$(q f -c "SELECT count(*) > 0 FROM battledger.rejections WHERE origin = 'm.example/log' AND problem = 'signer_not_hosted'")|$(st f m.example/log)" "t|stopped"
catch_up B3
check "H3b f stores c's own row; f's status of c is ok" "$(n_at f B3 c.example/log)|$(st f c.example/log)" "1|ok"

# ------------------------------------------------------------------ H5
# a join's copy lets such a row through (the member rows may come after
# it, as keys may): f stores m's copy of c's new row B5 as the copy would
# (arrival check off; f's subscription to m is stopped since H3), then
# verify_member(m) at f must name it
lag
q c -c "SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/B5', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M'))" >/dev/null
row=$(q c -c "SELECT to_jsonb(e) - 'ledger_at' - 'ledger_origin' - 'ledger_seq' - 'ledger_prev' - 'ledger_hash'
                FROM battledger.battery_event e WHERE e.battery_id::text = '$C/B5'")
q f -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<SQL
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.battery_event DISABLE TRIGGER zz_battledger_arrive;
SET LOCAL session_replication_role = replica;
DO \$\$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, '$row'::jsonb
            || jsonb_build_object('ledger_origin', 'm.example/log', 'ledger_seq', 1, 'ledger_at', now(),
                                  'ledger_prev', repeat('0', 64)));
BEGIN
    r.ledger_hash := battledger.chain_hash(r.ledger_prev, 1, battledger.row_bytes(r));
    INSERT INTO battledger.battery_event SELECT r.*;
END \$\$;
ALTER TABLE battledger.battery_event ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
check "H5 setup: f holds m's copy of c's row B5 as a join's copy would store it" "$(n_at f B5 m.example/log)" 1
check "H5 verify_member(m) at f names the row signed for c's member under m's origin (signer_not_hosted)" \
  "$(q f -c "SELECT count(*) FROM battledger.verify_member('m.example/log') WHERE problem = 'signer_not_hosted'")" 1

exit $FAILS
