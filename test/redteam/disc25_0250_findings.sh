#!/usr/bin/env bash
# disc25 (0.25.0): a disclosed commitment counts once, whatever event kind
# names it (red team rt25 Q1-Q3: once25 made a commitment two usage reports
# name count for neither, but BL045, the readers and commitment_replayed
# looked at usage reports alone, and a quality check, a consuming move or a
# usage report naming another kind's commitment showed one battery's
# disclosed values as another's where the disclosure is held).  Members: c
# (c.example/log, member cell.example: makes B1 and B3, reports B1's usage,
# checks B1's quality, remanufactures B3, holding the disclosures), m
# (m.example/log, member mal.example: the malicious member, its application
# and its superuser), f (f.example/log, member fleet.example: a replica
# holding the same disclosures, as a fleet or authority may).  The rule
# (docs/security.md, "Usage reports"): a commitment two or more rows of any
# kind name counts for none of them.
#   W1-W3 (m's application, at its writer) a quality check of m's battery
#       M1 naming c's quality check's commitment (Q1), a consuming move of
#       M1 naming c's usage report's (Q2), a usage report of M3 naming c's
#       consuming move's (Q3): each refused, BL045
#   X2  (m's superuser, past its rules) the consuming move of M1 into M2
#       naming c's usage report 3 of B1: report 3 counts for neither B1's
#       usage nor M2's performanceAtStatusChange, at c (c's report first,
#       the move arriving after: a non-usage row takes the report out) and
#       at f (the move first, f's subscription to c disabled meanwhile)
#   X3  (past its rules) a usage report of M3 naming the commitment of c's
#       remanufacturing of B3 (its disclosed performance): M3 shows none of
#       it, at c (genuine first) and at f (the replay first)
#   X1  (past its rules) a quality check of M1 naming c's quality check's
#       commitment: neither M1's nor B1's authority passport shows c's test
#       report, at c (genuine first) and at f (the replay first)
#   N   registry_conflicts() at c names each cross-kind replay
#       commitment_replayed, its message naming both rows' kinds and both
#       members
#   S   the usage state equals a recomputation at c and at f, the same at
#       both, and what usage_state_rebuild() computes
# Each case prints "ok   - ..." when the property holds, "FAIL - ..." when
# it does not; exit status: the number of FAILs.  PG_BIN: the build under
# test.  DISC25_PORT (default 56116; uses 3).
# Results, PostgreSQL 15, 2026-12-07: main 0576f12 (+ rt25): 12 FAILs (W1-W3
# and "none written", X2 x3, X3, X1, N x3); branch disc25: 0 FAILs.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
source "$(dirname "$0")/../lib/redteam.sh"
P=${DISC25_PORT:-56116}
state() { local x=$1; shift; psql -X -q -At -h "$BL_WORK" -p "${PORT[$x]}" -d bl -v VERBOSITY=sqlstate "$@" 2>&1 >/dev/null | sed -n 's/^ERROR: *//p' | head -1; }
rt_three_members "$P"

C=gs1:01/09521230000017/21
q c -c "SELECT model('cell-1', '{\"model_id\": \"CELL-M\", \"manufacturer\": \"cell.example\", \"category\": \"ev\", \"chemistry\": \"LFP\", \"rated_capacity_ah\": 280}'::jsonb)" >/dev/null
made() { echo "SELECT ev('$1', jsonb_build_object('battery_id', '$2', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M'))"; }
placed() { echo "SELECT ev('$1', jsonb_build_object('battery_id', '$2', 'event', 'placed_on_market', 'passport_id', 'urn:bp:$3', 'occurred_at', '2026-01-10T00:00:00Z'))"; }
q c -c "$(made cell-1 "$C/B1")" -c "$(placed cell-1 "$C/B1" B1)" -c "$(made cell-1 "$C/B3")" -c "$(placed cell-1 "$C/B3" B3)" >/dev/null
bl_wait_for m "SELECT count(*) = 1 FROM battledger.battery_model" >/dev/null
q m -c "$(made mal-1 "$C/M1")" -c "$(placed mal-1 "$C/M1" M1)" -c "$(made mal-1 "$C/M3")" -c "$(placed mal-1 "$C/M3" M3)" >/dev/null
for x in c f; do bl_wait_for "$x" "SELECT count(*) = 8 FROM battledger.battery_event" >/dev/null; done
# the disclosed values (TEST ONLY: reproducible salts), the same at every
# member: usage report n of B1 (a discharge of 100 Ah, capacity 280 - 10 n),
# c's quality check of B1 (authority), B3's performance at its
# remanufacturing (legitimate interest)
for x in c m f; do q "$x" >/dev/null <<'SQL'
CREATE TABLE public.val AS
SELECT 'r' || n AS k, 'legitimate_interest' AS tier, sha256(convert_to('B1:' || n, 'UTF8')) AS salt,
       jsonb_build_object('cycle', jsonb_build_object('type', 'discharge', 'ah', 100, 'wh', 300, 'capacity_ah', 280 - 10 * n, 'v_min', 3.0)) AS v
  FROM generate_series(1, 3) n
UNION ALL SELECT 'qc', 'authority', sha256(convert_to('QC-B1', 'UTF8')),
       '{"testReport": {"lab": "c-lab", "id": "TR-B1-0001", "result": "pass"}}'
UNION ALL SELECT 'perf', 'legitimate_interest', sha256(convert_to('B3:perf', 'UTF8')), '{"soh_pct": 88.25, "capacity_ah": 247}';
SQL
done
co() { q c -c "SELECT battledger.commitment(salt, v)::text FROM public.val WHERE k = '$1'"; }
disclose() { q "$1" -c "INSERT INTO battledger.disclosure SELECT battledger.commitment(salt, v), tier, salt, v FROM public.val WHERE k = '$2'" >/dev/null; }
named() { echo "SELECT count(*) >= $2 FROM battledger.battery_event WHERE restricted OPERATOR(battledger.=) '$(co "$1")'::battledger.hash256"; }
usage() { q "$1" -c "SELECT coalesce(string_agg(key || '=' || value || '@' || reports, ' ' ORDER BY key), 'none') FROM battledger.usage_derived('$2')
                     WHERE key IN ('soh_pct', 'capacity_throughput_ah')"; }
soh_pp() { q "$1" -c "SELECT coalesce(battledger.passport('$2', 'legitimate_interest')->'performance'->'dynamic'->'stateOfHealth'->>'value', 'none')"; }
tests_pp() { q "$1" -c "SELECT coalesce(battledger.passport('$2', 'authority')->>'testReports', 'none')"; }
perf_pp() { q "$1" -c "SELECT coalesce(jsonb_path_query_first(battledger.passport('$2', 'legitimate_interest'), 'strict \$.**.performanceAtStatusChange')::text, 'none')"; }
# an event of battery b by member x's key k naming value n's commitment, with extra fields
ev_named() { local extra=${6:-}; [ -n "$extra" ] || extra='{}'
             echo "SELECT ev('$1', jsonb_build_object('battery_id', '$2', 'event', '$3', 'occurred_at', '$4', 'restricted', '$(co "$5")') || '$extra'::jsonb)"; }
past_rules() { q m -c "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules" -c "$1" \
                   -c "ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules" >/dev/null; }
SUB_FC=$(q f -c "SELECT subname FROM pg_subscription WHERE subconninfo LIKE '%port=${PORT[c]} %'")

# ---------------------------------------------------------------- c's genuine rows
for n in 1 2 3; do disclose c "r$n"; disclose f "r$n"; done
disclose c qc; disclose f qc; disclose c perf; disclose f perf     # at f before the rows
for n in 1 2; do q c -c "$(ev_named cell-1 "$C/B1" soh_reported "2026-02-0${n}T00:00:00Z" "r$n")" >/dev/null; done
bl_wait_for f "$(named r2 1)" >/dev/null
check "0  baseline: B1's usage at c and at f from its two reports" \
  "$(usage c "$C/B1") | $(usage f "$C/B1")" "capacity_throughput_ah=200.0000@2 soh_pct=92.86@2 | capacity_throughput_ah=200.0000@2 soh_pct=92.86@2"
# the next three reach m, not f (f's subscription to c disabled until each case's replay reached f)
q f -c "ALTER SUBSCRIPTION \"$SUB_FC\" DISABLE" >/dev/null
q c -c "$(ev_named cell-1 "$C/B1" soh_reported 2026-02-03T00:00:00Z r3)" \
    -c "$(ev_named cell-1 "$C/B1" quality_checked 2026-01-05T00:00:00Z qc)" \
    -c "$(ev_named cell-1 "$C/B3" status_changed 2026-04-01T00:00:00Z perf '{"new_status": "remanufactured", "passport_id": "urn:bp:B3r"}')" >/dev/null
for k in r3 qc perf; do bl_wait_for m "$(named $k 1)" >/dev/null; done

# ---------------------------------------------------------------- W1-W3
check "W1 m's application: a quality check of M1 naming c's quality check's commitment is refused (BL045)" \
  "$(state m -c "$(ev_named mal-1 "$C/M1" quality_checked 2026-01-06T00:00:00Z qc)")" BL045
check "W2 m's application: a consuming move of M1 naming c's usage report's commitment is refused (BL045)" \
  "$(state m -c "$(ev_named mal-1 "$C/M1" status_changed 2026-03-01T00:00:00Z r3 "{\"new_status\": \"remanufactured\", \"data\": {\"successor\": \"$C/M2\"}}")")" BL045
check "W3 m's application: a usage report of M3 naming c's consuming move's commitment is refused (BL045)" \
  "$(state m -c "$(ev_named mal-1 "$C/M3" soh_reported 2026-04-02T00:00:00Z perf)")" BL045
check "   (none of them written)" "$(q m -c "SELECT count(*) FROM battledger.battery_event WHERE ledger_origin = 'm.example/log' AND restricted IS NOT NULL")" 0

# ---------------------------------------------------------------- the same past m's rules
past_rules "$(ev_named mal-1 "$C/M1" status_changed 2026-03-01T00:00:00Z r3 "{\"new_status\": \"remanufactured\", \"data\": {\"successor\": \"$C/M2\"}}")"
q m -c "SELECT ev('mal-1', jsonb_build_object('battery_id', '$C/M2', 'event', 'manufactured', 'occurred_at', '2026-03-02T00:00:00Z',
                  'model_id', 'CELL-M', 'data', jsonb_build_object('predecessors', jsonb_build_array('$C/M1'))))" >/dev/null
past_rules "$(ev_named mal-1 "$C/M3" soh_reported 2026-04-02T00:00:00Z perf)"
past_rules "$(ev_named mal-1 "$C/M1" quality_checked 2026-01-06T00:00:00Z qc)"
for k in r3 qc perf; do bl_wait_for c "$(named $k 2)" >/dev/null; bl_wait_for f "$(named $k 1)" >/dev/null; done
bl_wait_for f "SELECT count(*) = 1 FROM battledger.battery_event WHERE battery_id OPERATOR(battledger.=) '$C/M2'" >/dev/null
echo "#   at f, m's rows alone (c's not yet received): M2's performance $(perf_pp f "$C/M2"), M3's SoH $(soh_pp f "$C/M3"), M1's test reports $(tests_pp f "$C/M1")"

# ---------------------------------------------------------------- X2
check "X2 at c (c's report first, m's consuming move after): report 3 counts for neither, B1's usage from reports 1-2" \
  "$(usage c "$C/B1")" "capacity_throughput_ah=200.0000@2 soh_pct=92.86@2"
check "   nor as M1's performance at its status change in M2's passport, at c" "$(perf_pp c "$C/M2")" none
q f -c "ALTER SUBSCRIPTION \"$SUB_FC\" ENABLE" >/dev/null
for k in r3 qc perf; do bl_wait_for f "$(named $k 2)" >/dev/null; done
check "   at f (m's move first, then c's report): the same, B1's usage | M2's performance" \
  "$(usage f "$C/B1") | $(perf_pp f "$C/M2")" "capacity_throughput_ah=200.0000@2 soh_pct=92.86@2 | none"

# ---------------------------------------------------------------- X3
check "X3 M3 shows none of B3's disclosed performance (m's usage report naming c's consuming move's commitment), at c and at f" \
  "$(soh_pp c "$C/M3") | $(soh_pp f "$C/M3") | $(usage c "$C/M3") | $(usage f "$C/M3")" "none | none | none | none"

# ---------------------------------------------------------------- X1
check "X1 neither M1's nor B1's authority passport shows c's test report (a quality check naming its commitment), at c and at f" \
  "$(tests_pp c "$C/M1") | $(tests_pp c "$C/B1") | $(tests_pp f "$C/M1") | $(tests_pp f "$C/B1")" "none | none | none | none"

# ---------------------------------------------------------------- N
for k in r3:status_changed:soh_reported perf:soh_reported:status_changed qc:quality_checked:quality_checked; do
  IFS=: read -r key mine theirs <<<"$k"
  check "N  registry_conflicts() at c names the replay of $key's commitment: both kinds, both members" \
    "$(q c -c "SELECT count(*) FROM battledger.registry_conflicts() k
                WHERE k.problem = 'commitment_replayed' AND k.message LIKE '%$(co "$key")%'
                  AND k.message LIKE '%this $mine, by \"mal.example\"%' AND k.message LIKE '%a $theirs by \"cell.example\"%'")" 1
done

# ---------------------------------------------------------------- S
ustate() { q "$1" -c "SELECT coalesce(string_agg(u::text, E'\n' ORDER BY u.battery_id::text), 'none') FROM battledger._usage_state u"; }
check "S  usage_state_check() clean at c and at f" \
  "$(q c -c "SELECT count(*) FROM battledger.usage_state_check()")/$(q f -c "SELECT count(*) FROM battledger.usage_state_check()")" "0/0"
SC=$(ustate c); SF=$(ustate f)
check "   the folded state is the same at c and at f (rows received in different orders)" "$SC" "$SF"
q c -c "SELECT battledger.usage_state_rebuild()" >/dev/null
q f -c "SELECT battledger.usage_state_rebuild()" >/dev/null
check "   and what usage_state_rebuild() computes from scratch" "$(ustate c) | $(ustate f)" "$SC | $SF"

echo "# $FAILS FAIL(s)"
exit $FAILS
