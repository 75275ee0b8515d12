#!/usr/bin/env bash
# rt27c (0.27.0 cycle, main 3fcd2ea): red team of rt27's hosting check
# (key_member_added_by(): a member's signed rows only where it is hosted).
# FAIL = an open hole, ok = holds.  Members c, m, f of test/lib/redteam.sh's
# rt_three_members on RT27C_PORT (default 58300) and the next two ports.
#
# rt27 asked whether the row's origin has a member_event "added" row for
# the signer's member: any such row, whatever the registry's hosting says.
# Hosting is _member_hosts' (host_pin: the first origin seen adding a
# member; a row of another origin adding it again counts for nothing, its
# keys sign for nobody there: red team m23 H1).  So:
#  I1  m's superuser adds c's member again at m past its rules (as m23 H1);
#      the row reaches f, whose pin stays c's.  Then, f lagging behind c,
#      m's superuser writes c's new signed row under m's own origin (as
#      rt27 H3): I1a f must refuse it as m's (signer_not_hosted, m stopped),
#      I1b c's own row must reach f and f's status of c stay ok.  Until
#      fixed m's "added" row made f's arrival check take m for a host of
#      c's member: f stored m's copy, and c's own row was refused as a
#      unique_conflict, stopping f's subscription to c and blaming c.
#  I2  verify_member(m) at f names such a row (signer_not_hosted): it read
#      the same "any added row" rule.
# Results, PostgreSQL 15, 2026-12-07, main 3fcd2ea: 3 FAILs (I1a: f
# stored m's copy, I1b: c stopped at f, unique_conflict; I2), about 10 s.  Fixed: key_member_added_by()
# and verify_member() read _member_hosts: 0 FAILs, about 8 s.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/redteam.sh"

rt_three_members "${RT27C_PORT:-58300}"
C=gs1:01/09521230000017/21
q c -c "SELECT model('cell-1', '{\"model_id\": \"CELL-M\", \"manufacturer\": \"cell.example\", \"category\": \"ev\", \"chemistry\": \"LFP\", \"rated_capacity_ah\": 280}'::jsonb)" >/dev/null
for x in m f; do bl_wait_for "$x" "SELECT count(*) = 1 FROM battledger.battery_model" >/dev/null; done
sub_fc=$(q f -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'c.example/log'")
sub_mc=$(q m -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'c.example/log'")
st() { q "$1" -c "SELECT state FROM battledger.consortium_status() WHERE member = '$2'"; }
n_at() { q "$1" -c "SELECT count(*) FROM battledger.battery_event WHERE battery_id::text = '$C/$2' AND ledger_origin = '$3'"; }

# ------------------------------------------------------------------ I1
q m -c "ALTER TABLE battledger.member_event DISABLE TRIGGER battledger_rules" >/dev/null
q m -c "INSERT INTO battledger.member_event (member, event, roles, at) VALUES ('cell.example', 'added', ARRAY['cell_maker'], now() - interval '1 year')" >/dev/null
q m -c "ALTER TABLE battledger.member_event ENABLE TRIGGER battledger_rules" >/dev/null
bl_wait_for f "SELECT count(*) = 1 FROM battledger.member_event WHERE member = 'cell.example' AND ledger_origin = 'm.example/log'" 100 >/dev/null
check "I1 setup: m's row adding c's member again reached f; f's pin stays c's" \
  "$(q f -c "SELECT origin FROM battledger.host_pin WHERE member = 'cell.example'")" "c.example/log"
q f -c "ALTER SUBSCRIPTION $sub_fc DISABLE" >/dev/null
q m -c "ALTER SUBSCRIPTION $sub_mc DISABLE" >/dev/null
q c -c "SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/I1', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M'))" >/dev/null
row=$(q c -c "SELECT to_jsonb(e) - 'ledger_at' - 'ledger_origin' - 'ledger_seq' - 'ledger_prev' - 'ledger_hash'
                FROM battledger.battery_event e WHERE e.battery_id::text = '$C/I1'")
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
check "I1 setup: m's superuser stored its copy of c's row under m's origin" "$(n_at m I1 m.example/log)" 1
bl_wait_for f "SELECT (SELECT count(*) FROM battledger.battery_event WHERE battery_id::text = '$C/I1') = 1
                      OR (SELECT state = 'stopped' FROM battledger.consortium_status() WHERE member = 'm.example/log')" 150 >/dev/null
check "I1a f refuses m's copy as m's (signer_not_hosted), m stopped, though m added c's member again" \
  "$(n_at f I1 m.example/log)|$(q f -c "SELECT count(*) > 0 FROM battledger.rejections WHERE origin = 'm.example/log' AND problem = 'signer_not_hosted'")|$(st f m.example/log)" "0|t|stopped"
q f -c "ALTER SUBSCRIPTION $sub_fc ENABLE" >/dev/null
bl_wait_for f "SELECT (SELECT count(*) FROM battledger.battery_event WHERE battery_id::text = '$C/I1' AND ledger_origin = 'c.example/log') = 1
                      OR (SELECT state = 'stopped' FROM battledger.consortium_status() WHERE member = 'c.example/log')" 150 >/dev/null
check "I1b c's own row reaches f; f's status of c is ok" "$(n_at f I1 c.example/log)|$(st f c.example/log)" "1|ok"

# ------------------------------------------------------------------ I2
# the same copy stored at f as a join's copy would store it (arrival check
# off, as rt27 H5), of c's next row I2
q f -c "ALTER SUBSCRIPTION $sub_fc DISABLE" >/dev/null
q c -c "SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/I2', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M'))" >/dev/null
row=$(q c -c "SELECT to_jsonb(e) - 'ledger_at' - 'ledger_origin' - 'ledger_seq' - 'ledger_prev' - 'ledger_hash'
                FROM battledger.battery_event e WHERE e.battery_id::text = '$C/I2'")
q f -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<SQL
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE battledger.battery_event DISABLE TRIGGER zz_battledger_arrive;
SET LOCAL session_replication_role = replica;
DO \$\$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, '$row'::jsonb
            || jsonb_build_object('ledger_origin', 'm.example/log', 'ledger_seq', 2, 'ledger_at', now(),
                                  'ledger_prev', repeat('0', 64)));
BEGIN
    r.ledger_hash := battledger.chain_hash(r.ledger_prev, 2, battledger.row_bytes(r));
    INSERT INTO battledger.battery_event SELECT r.*;
END \$\$;
ALTER TABLE battledger.battery_event ENABLE REPLICA TRIGGER zz_battledger_arrive;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE;
COMMIT;
SQL
check "I2 setup: f holds m's copy of c's row I2 as a join's copy would store it" "$(n_at f I2 m.example/log)" 1
check "I2 verify_member(m) at f names it (signer_not_hosted) though m added c's member again" \
  "$(q f -c "SELECT count(*) > 0 FROM battledger.verify_member('m.example/log') WHERE problem = 'signer_not_hosted'")" t

echo "# $FAILS FAIL(s)"
exit $FAILS
