#!/usr/bin/env bash
# once25 (0.25.0): readers count a usage report's commitment once (the
# residual r31 U1/U2 left: 0.24.0's writer refuses a second report naming a
# commitment, BL045, and registry_conflicts() names one written past that,
# commitment_replayed, but where the disclosure is held such a replay still
# counted the disclosed values again).  Members: c (c.example/log, member
# cell.example: makes battery B1 and reports its usage, holding the
# disclosures), m (m.example/log, member mal.example: the malicious member,
# its superuser writing past its rules), f (f.example/log, member
# fleet.example: a replica that holds B1's disclosures too, as a fleet with
# legitimate interest may), all subscribed to each other.  Each of B1's
# reports is a discharge of 100 Ah with a capacity that falls 10 Ah a
# report (rated 280 Ah): the throughput counts the reports that count, the
# SoH names the latest of them.  The rule (docs/security.md, "Usage
# reports"): a commitment two reports name counts for neither of them.
#   W   c's own superuser replays the commitment of c's report 1 past c's
#       rules: at c, the writer, report 1 counts for neither row
#   R1  f receives that replay after the genuine report (its disclosure
#       written at f after both): the same there
#   R2  f receives m's replay of report 4 before c's genuine report 4 (f's
#       subscription to c disabled meanwhile; the disclosure at f before
#       both, so the replay alone was folded first): neither counts at f,
#       nor at c, which received the rows in the other order
#   B   m's superuser backdates its replay of report 5 (a statement started
#       before c wrote report 5, which waits for it to arrive and replays
#       it: ledger_at is the statement's start), so that the replay comes
#       first in registry order: report 5 counts for neither, and
#       registry_conflicts() names both rows as parties (the row it lists is
#       c's genuine one, the "later")
#   U2  m's superuser names the commitment of c's report 6 for a battery of
#       its own (M1): M1 shows none of B1's usage, at c and at f
#   T   a third report naming report 1's commitment (m's superuser, B1):
#       nothing counts again
#   S   at c and at f the usage state equals a recomputation
#       (usage_state_check() clean; the state rows of B1 and M1 identical
#       at c and f, and unchanged by usage_state_rebuild())
# Each case prints "ok   - ..." when the property holds, "FAIL - ..." when
# it does not; exit status: the number of FAILs.  PG_BIN: the build under
# test.  ONCE25_PORT (default 56000; uses 3).
# Results, PostgreSQL 15, 2026-12-07: main e64ccf3: 12 FAILs (every count
# and SoH case, M1's usage and the parties of the message); branch once25:
# 0 FAILs.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/redteam.sh"
P=${ONCE25_PORT:-56000}
rt_three_members "$P"

C=gs1:01/09521230000017/21
q c -c "SELECT model('cell-1', '{\"model_id\": \"CELL-M\", \"manufacturer\": \"cell.example\", \"category\": \"ev\", \"chemistry\": \"LFP\", \"rated_capacity_ah\": 280}'::jsonb)" >/dev/null
made() { echo "SELECT ev('$1', jsonb_build_object('battery_id', '$2', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M'))"; }
placed() { echo "SELECT ev('$1', jsonb_build_object('battery_id', '$2', 'event', 'placed_on_market', 'passport_id', 'urn:bp:$3', 'occurred_at', '2026-01-10T00:00:00Z'))"; }
q c -c "$(made cell-1 "$C/B1")" -c "$(placed cell-1 "$C/B1" B1)" >/dev/null
# report n: its value and salt (TEST ONLY: reproducible salts), the same at every member
rep_sql="SELECT n, '2026-01-01T00:00:00Z'::timestamptz + n * interval '1 month' AS at,
                jsonb_build_object('cycle', jsonb_build_object('type', 'discharge', 'ah', 100, 'wh', 300, 'capacity_ah', 280 - 10 * n, 'v_min', 3.0)) AS v,
                sha256(convert_to('B1:' || n, 'UTF8')) AS salt FROM generate_series(1, 9) n"
for x in c m f; do q "$x" -c "CREATE TABLE public.report AS $rep_sql" >/dev/null; done
disclose() { q "$1" -c "INSERT INTO battledger.disclosure SELECT battledger.commitment(salt, v), 'legitimate_interest', salt, v FROM public.report WHERE n = $2" >/dev/null; }
report() {   # c's genuine report n (its disclosure first, as applications write them)
  disclose c "$1"
  q c -c "SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/B1', 'event', 'soh_reported', 'occurred_at', at,
                    'restricted', battledger.commitment(salt, v)::text)) FROM public.report WHERE n = $1" >/dev/null
}
commit_of() { q "$1" -c "SELECT battledger.commitment(salt, v)::text FROM public.report WHERE n = $2"; }
reports_at() { echo "SELECT count(*) = $2 FROM battledger.battery_event WHERE event = 'soh_reported' AND restricted OPERATOR(battledger.=) '$(commit_of c "$1")'::battledger.hash256"; }
# member x's superuser writes a report of battery b naming report n's commitment, past its rules
replay() {
  q "$1" -c "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules" \
         -c "SELECT ev('$2', jsonb_build_object('battery_id', '$3', 'event', 'soh_reported', 'occurred_at', '2026-12-01T00:00:00Z'::timestamptz + $4 * interval '1 minute',
                       'restricted', battledger.commitment(salt, v)::text)) FROM public.report WHERE n = $4" \
         -c "ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules" >/dev/null
}
usage() { q "$1" -c "SELECT coalesce(string_agg(key || '=' || value || '@' || reports, ' ' ORDER BY key), 'none') FROM battledger.usage_derived('$2')
                     WHERE key IN ('soh_pct', 'capacity_throughput_ah')"; }
soh_pp() { q "$1" -c "SELECT battledger.passport('$2', 'legitimate_interest')->'performance'->'dynamic'->'stateOfHealth'->>'value'"; }

# ---------------------------------------------------------------- baseline
for n in 1 2 3; do report $n; done
bl_wait_for f "$(reports_at 3 1)" >/dev/null
for n in 1 2 3; do disclose f $n; done          # at f after the reports
check "0 baseline: B1's usage at c and at f from its three reports" \
  "$(usage c "$C/B1") | $(usage f "$C/B1")" "capacity_throughput_ah=300.0000@3 soh_pct=89.29@3 | capacity_throughput_ah=300.0000@3 soh_pct=89.29@3"

# ---------------------------------------------------------------- W, R1
replay c cell-1 "$C/B1" 1
check "W  at c, the writer: report 1's commitment named twice counts for neither row (SoH still report 3's)" \
  "$(usage c "$C/B1")" "capacity_throughput_ah=200.0000@2 soh_pct=89.29@2"
check "   and the passport's SoH is the same" "$(soh_pp c "$C/B1")" "89.29"
bl_wait_for f "$(reports_at 1 2)" >/dev/null
check "R1 at f (the genuine report first, then the replay): the same" \
  "$(usage f "$C/B1")" "capacity_throughput_ah=200.0000@2 soh_pct=89.29@2"

# ---------------------------------------------------------------- R2
SUB_FC=$(q f -c "SELECT subname FROM pg_subscription WHERE subconninfo LIKE '%port=${PORT[c]} %'")
disclose f 4                                      # at f before both reports
q f -c "ALTER SUBSCRIPTION \"$SUB_FC\" DISABLE" >/dev/null
report 4
bl_wait_for m "$(reports_at 4 1)" >/dev/null
replay m mal-1 "$C/B1" 4
bl_wait_for f "$(reports_at 4 1)" >/dev/null       # m's replay alone at f
check "R2 at f, m's replay alone (c's report not yet received): it counts, as a single report does" \
  "$(usage f "$C/B1")" "capacity_throughput_ah=300.0000@3 soh_pct=85.71@3"
q f -c "ALTER SUBSCRIPTION \"$SUB_FC\" ENABLE" >/dev/null
bl_wait_for f "$(reports_at 4 2)" >/dev/null
bl_wait_for c "$(reports_at 4 2)" >/dev/null
check "   then c's genuine report 4 arrives: report 4 counts for neither, at f" \
  "$(usage f "$C/B1")" "capacity_throughput_ah=200.0000@2 soh_pct=89.29@2"
check "   and at c, which received them in the other order" \
  "$(usage c "$C/B1")" "capacity_throughput_ah=200.0000@2 soh_pct=89.29@2"

# ---------------------------------------------------------------- B
# m's superuser: one statement, started before c writes report 5, waits
# for it to arrive and replays it; ledger_at is the statement's start
q m >/dev/null <<SQL
CREATE FUNCTION public.backdate(commit5 text) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
  FOR i IN 1..300 LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM battledger.battery_event WHERE event = 'soh_reported'
                       AND restricted OPERATOR(battledger.=) commit5::battledger.hash256);
    PERFORM pg_sleep(0.2);
  END LOOP;
  PERFORM public.ev('mal-1', jsonb_build_object('battery_id', '$C/B1', 'event', 'soh_reported', 'occurred_at', '2026-12-02T00:00:00Z',
                                                'restricted', commit5));
END \$\$;
ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules;
SQL
COMMIT5=$(commit_of c 5)
q m -c "SELECT public.backdate('$COMMIT5')" >/dev/null 2>"$BL_WORK/backdate.err" &
BD=$!
sleep 1
report 5
wait "$BD"
q m -c "ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules" >/dev/null
cat "$BL_WORK/backdate.err"
bl_wait_for c "$(reports_at 5 2)" >/dev/null
bl_wait_for f "$(reports_at 5 2)" >/dev/null
disclose f 5
check "B  (m's replay of report 5 comes first in registry order: backdated)" \
  "$(q c -c "SELECT string_agg(ledger_origin, ' ' ORDER BY ledger_at, ledger_origin, ledger_seq) FROM battledger.battery_event
             WHERE event = 'soh_reported' AND restricted OPERATOR(battledger.=) '$COMMIT5'::battledger.hash256")" "m.example/log c.example/log"
check "   report 5 counts for neither row, at c and at f" \
  "$(usage c "$C/B1") | $(usage f "$C/B1")" "capacity_throughput_ah=200.0000@2 soh_pct=89.29@2 | capacity_throughput_ah=200.0000@2 soh_pct=89.29@2"
# the row registry_conflicts() lists is c's genuine one (the later): its
# message must name m's row too, with its member, as the other party
parties=$(q c -c "SELECT count(*) FROM battledger.registry_conflicts() k
                   JOIN battledger.battery_event e ON e.ledger_origin = k.ledger_origin AND e.ledger_seq = k.ledger_seq
                                                 AND e.battery_id OPERATOR(battledger.=) k.battery_id
                   JOIN battledger.battery_event o ON o.restricted OPERATOR(battledger.=) e.restricted AND o.event = 'soh_reported'
                                                 AND o.ledger_origin <> e.ledger_origin
                  WHERE k.problem = 'commitment_replayed' AND e.restricted OPERATOR(battledger.=) '$COMMIT5'::battledger.hash256
                    AND k.ledger_origin = 'c.example/log'
                    AND k.message LIKE format('%%origin \"%s\", seq %s%%', e.ledger_origin, e.ledger_seq)
                    AND k.message LIKE format('%%origin \"%s\", seq %s%%', o.ledger_origin, o.ledger_seq)
                    AND k.message LIKE '%cell.example%' AND k.message LIKE '%mal.example%'")
check "   registry_conflicts() at c lists c's row, its message naming both rows and both members as parties" "$parties" 1

# ---------------------------------------------------------------- U2
q m -c "$(made mal-1 "$C/M1")" -c "$(placed mal-1 "$C/M1" M1)" >/dev/null
report 6
bl_wait_for m "$(reports_at 6 1)" >/dev/null
bl_wait_for f "$(reports_at 6 1)" >/dev/null
disclose f 6
replay m mal-1 "$C/M1" 6
bl_wait_for c "$(reports_at 6 2)" >/dev/null
bl_wait_for f "$(reports_at 6 2)" >/dev/null
check "U2 m's battery M1 shows none of B1's report 6, at c and at f" \
  "$(usage c "$C/M1") | $(usage f "$C/M1")" "none | none"
check "   nor does B1 count it (contested: for neither)" \
  "$(usage c "$C/B1") | $(usage f "$C/B1")" "capacity_throughput_ah=200.0000@2 soh_pct=89.29@2 | capacity_throughput_ah=200.0000@2 soh_pct=89.29@2"
report 7
bl_wait_for f "$(reports_at 7 1)" >/dev/null
disclose f 7
check "   c's next genuine report counts (SoH 75.0 from it)" \
  "$(usage c "$C/B1") | $(usage f "$C/B1")" "capacity_throughput_ah=300.0000@3 soh_pct=75.00@3 | capacity_throughput_ah=300.0000@3 soh_pct=75.00@3"

# ---------------------------------------------------------------- T
replay m mal-1 "$C/B1" 1                          # a third row naming report 1's commitment
bl_wait_for c "$(reports_at 1 3)" >/dev/null
bl_wait_for f "$(reports_at 1 3)" >/dev/null
check "T  a third report naming report 1's commitment counts nothing again, at c and at f" \
  "$(usage c "$C/B1") | $(usage f "$C/B1")" "capacity_throughput_ah=300.0000@3 soh_pct=75.00@3 | capacity_throughput_ah=300.0000@3 soh_pct=75.00@3"

# ---------------------------------------------------------------- S
state() { q "$1" -c "SELECT string_agg(u::text, E'\n' ORDER BY u.battery_id::text) FROM battledger._usage_state u
                     WHERE u.battery_id::text IN ('$C/B1', '$C/M1')"; }
check "S  usage_state_check() clean at c and at f" \
  "$(q c -c "SELECT count(*) FROM battledger.usage_state_check()")/$(q f -c "SELECT count(*) FROM battledger.usage_state_check()")" "0/0"
SC=$(state c); SF=$(state f)
check "   the folded state of B1 and M1 is the same at c and at f (rows received in different orders)" "$SC" "$SF"
q c -c "SELECT battledger.usage_state_rebuild()" >/dev/null
q f -c "SELECT battledger.usage_state_rebuild()" >/dev/null
check "   and what usage_state_rebuild() computes from scratch" "$(state c) | $(state f)" "$SC | $SF"
check "   the replayed commitments are named commitment_replayed at c (W, R2, B, U2, T: one row each but the earliest)" \
  "$(q c -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'commitment_replayed'")" 5

exit $FAILS
