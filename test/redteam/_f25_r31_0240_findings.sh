#!/usr/bin/env bash
# r31 (0.24.0 in progress): red team of 0.23.0's new surface as released
# (fbd8845): host_pin, the usage state, key_proof, recopy_table(), the
# witness's re-join comparison, and the privileges and search paths of what
# 0.23.0 added.  Members: c (c.example/log, member cell.example: makes
# batteries and reports their usage, holding the reports' disclosures), m
# (m.example/log, member mal.example, roles oem and fleet_operator: the
# malicious member; U1/U2 need only its application, H1/H2 its superuser),
# f (f.example/log, member fleet.example), all three subscribed to each
# other; for W1/W2 a log member a and a witness w.  Each case prints
# "ok   - ..." when the property holds (prevented, or detected by the named
# check), "FAIL - ..." for a finding not fixed; exit status: the number of
# FAILs.  PG_BIN: the build under test.  R31_PORT (default 56062; uses 5).
#   A1  a plain role cannot attach the 0.23.0 trigger functions that write
#       host_pin or _usage_state (or fire keys_changed/fold_inputs) to a
#       table of its own (CREATE TRIGGER needs EXECUTE: 42501 for each).
#   A2  a plain role cannot write host_pin, read or write _usage_state, or
#       call pin_member_host().
#   A3  of the functions 0.23.0 added, PUBLIC executes only readers
#       (_origin(), _restoring(), key_possession_message(),
#       _key_proven_member(), _key_possession_valid()); printed.
#   A4  every SQL/plpgsql function of the extension pins its search_path;
#       the SECURITY DEFINER functions PUBLIC executes are printed.
#   U1  m's application reports usage for c's battery B1 (soh_reported
#       needs the oem/fleet_operator role, not custody) naming the
#       commitment of c's first report, read from c's replicated row: at c,
#       which holds that disclosure, B1's legitimate-interest usage counts
#       the early report twice and takes it as the latest discharge (SoH
#       back to 96.43 % from 64.29 %, as the passport's stateOfHealth),
#       while verify(), verify_member(), usage_state_check() and
#       registry_conflicts() say nothing.  usage_derived() (the reference
#       the check compares with, and 0.22.0's passport) joins reports to
#       disclosures by commitment too: not a divergence of the state but a
#       replay both share, older than 0.23.0.
#   U1b five more replays (each occurred_at a minute apart: the same
#       content twice is refused by the unique ledger_sig at m) and c's
#       next genuine report: the SoH follows c's report again, the sums do
#       not (throughput 1000 Ah over 10 "reports" for 4 real ones,
#       full_cycles 3.57 for 1.43).
#   U2  the commitment of c's latest report named by m for a battery of its
#       own (M1): at c, M1's passport shows B1's cycle.
#   L1  a reader (a role in battledger_member: it may read battery_event)
#       holds, in its session, the advisory lock the usage triggers take on
#       a report's commitment (pg_advisory_xact_lock(hashtextextended(
#       'battledger usage ' || commitment, 0)), any role may take it): c's
#       application's disclosure of that report, written after it, waits as
#       long as that session lasts (56063 under a 3 s statement_timeout).
#       Fixed on this branch: _usage_lock(), a C lock with a fourth field no
#       SQL-level advisory lock uses, not PUBLIC's.
#   H1  m's superuser adds cell.example again at m's origin past its rules,
#       backdated, with a key: c's pin stays c.example/log (arrival order,
#       not at) and the key signs for nobody at c.
#   H2  f adds a new member while c's subscription to f is disabled (an
#       outage, maintenance); m, which receives it, adds the same member at
#       its own origin past its rules, with a key: its row reaches c first,
#       c pins the member to m, and m's key signs as f's new member at c
#       while f's own key for it signs for nobody there; f's first row
#       signed by its new member is refused at c (unknown_key) and the
#       arrival check stops c's subscription to f, with every f row after
#       it, until c's operator pins the member to f and enables the
#       subscription (checked: that recovers).  Detected
#       (member_hosting_contested) but not prevented: the race of
#       docs/security.md's residual (2), won on purpose by a member that
#       watches another's new members.
#   R1  recopy_table() as a plain role: refused (42501); a name with no
#       subscription: 42704.
#   W1  a witness's honest re-join across a copy batch (15,000 leaves held,
#       100 new, SYNC_LEAF_BATCH 10,000): nothing recorded, status ok.
#   W2  leaves 9,999 and 10,000 swapped by a's superuser, then a re-join:
#       rewritten_leaf names leaf 9999.
# Results, PostgreSQL 15, 2026-12-07: main fbd8845 (~05:58 UTC) 10 FAILs
# (U1 x3, U1b x2, U2, L1, H2 x3); branch r31 on main 9ce3438 with
# _usage_lock() (~06:15 UTC) 9 FAILs: L1 holds, H2 still fails there (j24's
# copied/unsettled pins judge a join's copies, not rows streamed during an
# outage).  A1-A4, H1, R1, W1, W2 hold on both.  The lead (~06:45 UTC):
# a usage report naming a commitment another report names is refused on
# its writer (BL045) and named commitment_replayed by registry_conflicts()
# when written past the rules (it still counts where the disclosure is
# held: printed, a residual); H2 is detected (member_hosting_contested,
# the host named), prevented nowhere (pin_member_host() recovers): its
# checks now say so, 0 FAILs.
# Not exercised: a third member joining after a contest (residual (2)
# names it); host_pin order where a quarantined chain is released later
# (release_chain() stores held rows then, so the pin follows the release).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
P=${R31_PORT:-56062}
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([c]=$P [m]=$((P + 1)) [f]=$((P + 2)))
declare -A ORIGIN=([c]=c.example/log [m]=m.example/log [f]=f.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
# the SQLSTATE of a statement, or "" if it passed
state() { local x=$1; shift; psql -X -q -At -h "$BL_WORK" -p "${PORT[$x]}" -d bl -v VERBOSITY=sqlstate "$@" 2>&1 >/dev/null | sed -n 's/^ERROR: *//p' | head -1; }
pub() { echo "battledger_test.public_key(battledger_test.seed('$1'))"; }
kid() { echo "battledger.key_id($(pub "$1"))"; }

for x in c m f; do
  bl_member_start "$x" "$W" witness
  q "$x" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT battledger.publish_member();
SQL
done
q c -c "SELECT battledger.add_member('cell.example', ARRAY['cell_maker', 'pack_maker', 'oem', 'fleet_operator']),
              battledger.add_key('cell.example', $(pub cell-1), now() - interval '1 hour')" >/dev/null
q m -c "SELECT battledger.add_member('mal.example', ARRAY['pack_maker', 'oem', 'fleet_operator']),
              battledger.add_key('mal.example', $(pub mal-1), now() - interval '1 hour')" >/dev/null
q f -c "SELECT battledger.add_member('fleet.example', ARRAY['fleet_operator']),
              battledger.add_key('fleet.example', $(pub fleet-1), now() - interval '1 hour')" >/dev/null
for x in c m f; do bl_member_keys "$x" witness; done
bl_join c m; bl_join m c; bl_join c f; bl_join f c; bl_join m f; bl_join f m
for x in c m f; do bl_wait_for "$x" "SELECT count(*) = 3 FROM battledger.members" >/dev/null; done

# ---------------------------------------------------------------- A1-A4 (at c)
q c >/dev/null <<'SQL'
CREATE ROLE r31_plain LOGIN;
GRANT CREATE ON SCHEMA public TO r31_plain;
SQL
pl() { psql -X -q -At -h "$BL_WORK" -p "${PORT[c]}" -d bl -U r31_plain -v VERBOSITY=sqlstate "$@" 2>&1 | sed -n 's/^ERROR: *//p' | head -1; }
pl -c "CREATE TABLE public.mine (member text, event text, ledger_origin text)" >/dev/null
got=""
for f in _pin_first_host _usage_state_reported _usage_state_disclosed _usage_state_erased _keys_changed _fold_inputs_changed; do
  got+="$f:$(pl -c "CREATE TRIGGER t_$f AFTER INSERT ON public.mine FOR EACH ROW EXECUTE FUNCTION battledger.$f()") "
done
check "A1 a plain role attaches none of the trigger functions that write host_pin/_usage_state to its table" \
  "$got" "_pin_first_host:42501 _usage_state_reported:42501 _usage_state_disclosed:42501 _usage_state_erased:42501 _keys_changed:42501 _fold_inputs_changed:42501 "
check "A2 a plain role cannot write host_pin" \
  "$(pl -c "INSERT INTO battledger.host_pin (member, origin, how) VALUES ('cell.example', 'm.example/log', 'pinned')")" 42501
check "  nor read or write _usage_state" \
  "$(pl -c "SELECT count(*) FROM battledger._usage_state")/$(pl -c "DELETE FROM battledger._usage_state")" "42501/42501"
check "  nor call pin_member_host()" "$(pl -c "SELECT battledger.pin_member_host('cell.example', 'c.example/log')")" 42501
# A3: the functions 0.23.0 added (in 0.23.0's install script, not 0.22.0's) that PUBLIC may execute
NEW23=$(q c -c "SELECT string_agg(p.oid::regprocedure::text, ' ' ORDER BY p.oid::regprocedure::text)
                  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
                 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'battledger')
                   AND has_function_privilege('r31_plain', p.oid, 'EXECUTE')
                   AND p.proname IN ('_origin', 'key_possession_message', '_key_proven_member', '_key_possession_valid',
                                     'pin_member_host', '_pin_first_host', 'prove_key', 'recopy_table', 'usage_state_check',
                                     'usage_state_rebuild', '_usage_state_add', '_usage_state_compute', '_usage_derived_state',
                                     '_usage_thresholds', '_usage_state_reported', '_usage_state_disclosed', '_usage_state_erased',
                                     '_restoring')")
echo "#   PUBLIC executes: $NEW23"
check "A3 of 0.23.0's functions PUBLIC executes only readers" \
  "$(for f in $NEW23; do case "$f" in battledger._origin*|battledger.key_possession_message*|battledger._key_proven_member*|battledger._key_possession_valid*|battledger._restoring*) ;; *) echo -n "$f ";; esac; done)" ""
check "A4 every SQL/plpgsql function of the extension pins its search_path" \
  "$(q c -c "SELECT coalesce(string_agg(p.oid::regprocedure::text, ' '), '')
               FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
               JOIN pg_language l ON l.oid = p.prolang
              WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'battledger')
                AND l.lanname IN ('sql', 'plpgsql')
                AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')")" ""
SD=$(q c -c "SELECT coalesce(string_agg(p.proname, ' ' ORDER BY p.proname), '')
               FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
              WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'battledger')
                AND p.prosecdef AND has_function_privilege('r31_plain', p.oid, 'EXECUTE')")
echo "#   SECURITY DEFINER and PUBLIC's: $SD"

# ---------------------------------------------------------------- U1-U2
C=gs1:01/09521230000017/21
q c -c "SELECT model('cell-1', '{\"model_id\": \"CELL-M\", \"manufacturer\": \"cell.example\", \"category\": \"ev\", \"chemistry\": \"LFP\", \"rated_capacity_ah\": 280}'::jsonb)" >/dev/null
made() { echo "SELECT ev('$1', jsonb_build_object('battery_id', '$2', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M'))"; }
placed() { echo "SELECT ev('$1', jsonb_build_object('battery_id', '$2', 'event', 'placed_on_market', 'passport_id', 'urn:bp:$3', 'occurred_at', '2026-01-10T00:00:00Z'))"; }
q c -c "$(made cell-1 "$C/B1")" -c "$(placed cell-1 "$C/B1" B1)" >/dev/null
q c >/dev/null <<SQL
CREATE TABLE public.report AS
SELECT n, at, v, sha256(convert_to('B1:' || n, 'UTF8')) AS salt   -- TEST ONLY: reproducible salts
  FROM (VALUES (1, '2026-02-01T00:00:00Z'::timestamptz, '{"cycle": {"type": "discharge", "ah": 100, "wh": 320, "capacity_ah": 270, "v_min": 3.0}}'::jsonb),
               (2, '2026-03-01T00:00:00Z', '{"cycle": {"type": "discharge", "ah": 100, "wh": 300, "capacity_ah": 200, "v_min": 3.0}}'),
               (3, '2026-04-01T00:00:00Z', '{"cycle": {"type": "discharge", "ah": 100, "wh": 280, "capacity_ah": 180, "v_min": 3.0}}')) r(n, at, v);
INSERT INTO battledger.disclosure SELECT battledger.commitment(salt, v), 'legitimate_interest', salt, v FROM public.report;
SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/B1', 'event', 'soh_reported', 'occurred_at', at,
          'restricted', battledger.commitment(salt, v)::text)) FROM public.report ORDER BY n;
SQL
usage() { q c -c "SELECT string_agg(key || '=' || value || '@' || reports, ' ' ORDER BY key) FROM battledger.usage_derived('$1')
                  WHERE key IN ('soh_pct', 'capacity_throughput_ah')"; }
soh_pp() { q c -c "SELECT battledger.passport('$1', 'legitimate_interest')->'performance'->'dynamic'->'stateOfHealth'->>'value'"; }
base=$(usage "$C/B1")
echo "#   B1 at c before: $base; passport soh_pct $(soh_pp "$C/B1")"
check "U0 baseline: B1's usage at c from its three reports" "$base" "capacity_throughput_ah=300.0000@3 soh_pct=64.29@3"
bl_wait_for m "SELECT count(*) = 3 FROM battledger.battery_event WHERE event = 'soh_reported'" 150 >/dev/null
# m's application: the commitment of c's first report, as replicated to m
COMMIT1=$(q m -c "SELECT restricted::text FROM battledger.battery_event WHERE event = 'soh_reported' ORDER BY occurred_at LIMIT 1")
check "U1 m's application cannot report usage naming c's commitment (BL045, 0.24.0)" \
  "$(state m -c "SELECT ev('mal-1', jsonb_build_object('battery_id', '$C/B1', 'event', 'soh_reported', 'occurred_at', '2026-05-01T00:00:00Z', 'restricted', '$COMMIT1'))")" BL045
check "  nor five more of them" \
  "$(state m -c "SELECT ev('mal-1', jsonb_build_object('battery_id', '$C/B1', 'event', 'soh_reported', 'occurred_at', '2026-05-01T00:00:00Z'::timestamptz + i * interval '1 minute', 'restricted', '$COMMIT1')) FROM generate_series(1, 5) i")" BL045
# m's superuser, past its rules: stored at m and at c
q m -c "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules" \
    -c "SELECT ev('mal-1', jsonb_build_object('battery_id', '$C/B1', 'event', 'soh_reported', 'occurred_at', '2026-05-01T00:00:00Z', 'restricted', '$COMMIT1'))" \
    -c "ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules" >/dev/null
bl_wait_for c "SELECT count(*) = 4 FROM battledger.battery_event WHERE event = 'soh_reported'" 150 >/dev/null
after=$(usage "$C/B1")
echo "#   B1 at c after m's superuser's replay, past its rules: $after; passport soh_pct $(soh_pp "$C/B1")"
echo "#   residual (docs/security.md): a replay written past the rules still counts where the disclosure is held"
check "  past the rules: registry_conflicts() at c names the replayed commitment" \
  "$(q c -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE ledger_origin = 'm.example/log' AND problem = 'commitment_replayed' AND kind = 'conflict'")" 1
check "  (the usage state agrees with the reference: usage_state_check() clean)" \
  "$(q c -c "SELECT count(*) FROM battledger.usage_state_check()")" 0
check "  verify() at c names nothing (its signature and chain are good)" "$(q c -c "SELECT count(*) FROM battledger.verify('battledger.battery_event')")" 0
# c's next genuine discharge report counts
q c >/dev/null <<SQL
INSERT INTO public.report SELECT 4, '2026-06-01T00:00:00Z', '{"cycle": {"type": "discharge", "ah": 100, "wh": 270, "capacity_ah": 175, "v_min": 3.0}}', sha256(convert_to('B1:4', 'UTF8'));
INSERT INTO battledger.disclosure SELECT battledger.commitment(salt, v), 'legitimate_interest', salt, v FROM public.report WHERE n = 4;
SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/B1', 'event', 'soh_reported', 'occurred_at', at,
          'restricted', battledger.commitment(salt, v)::text)) FROM public.report WHERE n = 4;
SQL
check "U1b c's own reports each take a fresh salt: c's 4th report is not refused (SoH 62.5 from it)" \
  "$(usage "$C/B1" | sed 's/.*soh_pct=//')" "62.50@5"
q m -c "$(made mal-1 "$C/M1")" -c "$(placed mal-1 "$C/M1" M1)" >/dev/null
COMMIT3=$(q m -c "SELECT restricted::text FROM battledger.battery_event WHERE event = 'soh_reported' AND ledger_origin = 'c.example/log' ORDER BY occurred_at DESC LIMIT 1")
check "U2 m's application cannot name c's commitment for a battery of its own (BL045)" \
  "$(state m -c "SELECT ev('mal-1', jsonb_build_object('battery_id', '$C/M1', 'event', 'soh_reported', 'occurred_at', '2026-05-02T00:00:00Z', 'restricted', '$COMMIT3'))")" BL045
check "  at c, m's battery M1 shows none of B1's usage" \
  "$(q c -c "SELECT count(*) FROM battledger.usage_derived('$C/M1')")" 0

# ---------------------------------------------------------------- L1
# The usage triggers take their turn per commitment with an advisory lock
# (pg_advisory_xact_lock(hashtextextended('battledger usage ' || commitment, 0))),
# a lock any role may take (red team F9 was this, for the rules' turn).  A
# reader (a role in battledger_member, which may read battery_event: no
# writer, no DBA) reads a report's commitment, holds that lock in its
# session, and the disclosure c's application writes after the report waits
# as long as that session lasts.
q c >/dev/null <<SQL
CREATE ROLE r31_reader LOGIN IN ROLE battledger_member;
INSERT INTO public.report SELECT 5, '2026-06-15T00:00:00Z', '{"cycle": {"type": "charge", "ah": 100, "wh": 290}}', sha256(convert_to('B1:5', 'UTF8'));
SELECT ev('cell-1', jsonb_build_object('battery_id', '$C/B1', 'event', 'soh_reported', 'occurred_at', at,
          'restricted', battledger.commitment(salt, v)::text)) FROM public.report WHERE n = 5;
SQL
COMMIT5=$(psql -X -q -At -h "$BL_WORK" -p "${PORT[c]}" -d bl -U r31_reader -c "SELECT restricted::text FROM battledger.battery_event WHERE ledger_origin = 'c.example/log' AND event = 'soh_reported' ORDER BY occurred_at DESC LIMIT 1")
psql -X -q -At -h "$BL_WORK" -p "${PORT[c]}" -d bl -U r31_reader \
  -c "SELECT pg_advisory_lock(hashtextextended('battledger usage ' || '$COMMIT5', 0))" -c "SELECT pg_sleep(8)" >/dev/null 2>&1 &
HOLDER=$!
sleep 1
check "L1 a reader's advisory lock does not stall c's disclosure of a report (3 s statement_timeout)" \
  "$(PGOPTIONS='-c statement_timeout=3s' state c -c "INSERT INTO battledger.disclosure SELECT battledger.commitment(salt, v), 'legitimate_interest', salt, v FROM public.report WHERE n = 5")" ""
wait "$HOLDER"

# ---------------------------------------------------------------- H1
q m >/dev/null <<'SQL'
ALTER TABLE battledger.member_event DISABLE TRIGGER battledger_rules;
INSERT INTO battledger.member_event (member, event, roles, at) VALUES ('cell.example', 'added', ARRAY['cell_maker', 'oem'], '2020-01-01');
ALTER TABLE battledger.member_event ENABLE TRIGGER battledger_rules;
ALTER TABLE battledger.key_event DISABLE TRIGGER battledger_rules;
SQL
q m -c "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
        VALUES ($(kid mal-as-cell), 'cell.example', 'added', $(pub mal-as-cell), '2020-01-01')" >/dev/null
q m -c "ALTER TABLE battledger.key_event ENABLE TRIGGER battledger_rules" >/dev/null
bl_wait_for c "SELECT count(*) = 1 FROM battledger.key_event WHERE key_id OPERATOR(battledger.=) $(kid mal-as-cell)" 150 >/dev/null
check "H1 c's pin of cell.example stays its own origin after m's backdated adding row" \
  "$(q c -c "SELECT origin || ' ' || how FROM battledger.host_pin WHERE member = 'cell.example'")" "c.example/log first_seen"
check "  and m's key for cell.example signs for nobody at c" \
  "$(q c -c "SELECT coalesce((battledger._signer_at($(kid mal-as-cell), now())).member, 'nobody')")" nobody

# ---------------------------------------------------------------- H2
# f adds a new member while c's subscription to f is down (maintenance, a
# network cut); m, subscribed to f, sees the row and adds the same member at
# its own origin past its rules, with a key of its own: m's rows reach c
# first, and c pins the new member to m.
SUBF=$(q c -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'f.example/log'")
q c -c "ALTER SUBSCRIPTION \"$SUBF\" DISABLE" >/dev/null
q f -c "SELECT battledger.add_member('newfleet.example', ARRAY['fleet_operator']),
              battledger.add_key('newfleet.example', $(pub newfleet-1), now() - interval '1 hour')" >/dev/null
bl_wait_for m "SELECT count(*) = 1 FROM battledger.key_event WHERE member = 'newfleet.example'" 150 >/dev/null
q m >/dev/null <<SQL
ALTER TABLE battledger.member_event DISABLE TRIGGER battledger_rules;
ALTER TABLE battledger.key_event DISABLE TRIGGER battledger_rules;
INSERT INTO battledger.member_event (member, event, roles) VALUES ('newfleet.example', 'added', ARRAY['fleet_operator']);
INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
VALUES ($(kid mal-as-nf), 'newfleet.example', 'added', $(pub mal-as-nf), now() - interval '1 hour');
ALTER TABLE battledger.member_event ENABLE TRIGGER battledger_rules;
ALTER TABLE battledger.key_event ENABLE TRIGGER battledger_rules;
SQL
bl_wait_for c "SELECT count(*) = 1 FROM battledger.key_event WHERE member = 'newfleet.example'" 150 >/dev/null
q c -c "ALTER SUBSCRIPTION \"$SUBF\" ENABLE" >/dev/null
bl_wait_for c "SELECT count(*) = 2 FROM battledger.key_event WHERE member = 'newfleet.example'" 150 >/dev/null
echo "#   host_pin of newfleet.example at c/m/f: $(for x in c m f; do q $x -c "SELECT origin FROM battledger.host_pin WHERE member = 'newfleet.example'"; done | paste -sd/)"
# (detected, not prevented: a database pins the adding row it sees first,
# and an outage decides which that is; docs/security.md)
echo "#   residual H2: at c, m's key signs as $(q c -c "SELECT coalesce((battledger._signer_at($(kid mal-as-nf), now())).member, 'nobody')"), f's as $(q c -c "SELECT coalesce((battledger._signer_at($(kid newfleet-1), now())).member, 'nobody')")"
check "H2 (detected) registry_conflicts() at c names member_hosting_contested, hosted here by m" \
  "$(q c -c "SELECT count(*) > 0 FROM battledger.registry_conflicts() WHERE problem = 'member_hosting_contested' AND signer = 'newfleet.example' AND message LIKE '%hosted here by \"m.example/log\"%'")" t
# f's new member's first row (its own key, hosted at f) at c: refused, and
# c's subscription to f stops there, with every row f writes after it
q f -c "SELECT ev('newfleet-1', jsonb_build_object('battery_id', '$C/B1', 'event', 'soh_reported', 'occurred_at', '2026-07-01T00:00:00Z'))" >/dev/null
q f -c "SELECT battledger.add_member('later.example', ARRAY['fleet_operator'])" >/dev/null
bl_wait_for c "SELECT count(*) = 1 FROM battledger.member_event WHERE member = 'later.example'" 50 >/dev/null
echo "#   residual H2: f's new member's own row and f's rows after it at c, before the remedy: $(q c -c "SELECT (SELECT count(*) FROM battledger.battery_event WHERE ledger_origin = 'f.example/log') || ' ' || (SELECT count(*) FROM battledger.member_event WHERE member = 'later.example')") (want 1 1)"
echo "#   c's rejections from f: $(q c -c "SELECT coalesce(string_agg(DISTINCT problem, ','), 'none') FROM battledger.rejections WHERE origin = 'f.example/log'")"
# the remedy the docs give: c's operator pins the member to f
# (the arrival check stopped the subscription: enabled again once resolved)
q c -c "SELECT battledger.pin_member_host('newfleet.example', 'f.example/log')" -c "ALTER SUBSCRIPTION \"$SUBF\" ENABLE" >/dev/null
bl_wait_for c "SELECT count(*) = 1 FROM battledger.member_event WHERE member = 'later.example'" 150 >/dev/null
check "  remedy: pin_member_host() at c and the subscription enabled; f's rows arrive, m's key signs for nobody" \
  "$(q c -c "SELECT (SELECT count(*) FROM battledger.battery_event WHERE ledger_origin = 'f.example/log') || ' ' || coalesce((battledger._signer_at($(kid mal-as-nf), now())).member, 'nobody')")" "1 nobody"

# ---------------------------------------------------------------- R1
check "R1 recopy_table() as a plain role: refused" \
  "$(pl -c "SELECT battledger.recopy_table('m.example/log', 'battledger.battery_event')")" 42501
check "  for an origin with no subscription here (superuser): 42704" \
  "$(state c -c "SELECT battledger.recopy_table('nobody.example/log', 'battledger.battery_event')")" 42704

# ---------------------------------------------------------------- W1, W2
# A witness's re-join across a copy batch (SYNC_LEAF_BATCH, 10,000 leaves):
# log member a (15,000 leaves sealed), witness w; w's slot dropped, a adds
# 100 leaves, w joins again (honest: nothing recorded); then a's superuser
# swaps leaves 9,999 and 10,000 (either side of the first batch's end in
# index order) and w joins again (rewritten_leaf).
PORT[a]=$((P + 3)); PORT[w]=$((P + 4)); ORIGIN[a]=a.example/log; ORIGIN[w]=w.example/log
all_ready() { echo "SELECT coalesce(bool_and(srsubstate = 'r'), false) FROM pg_subscription_rel"; }
wstatus() { q w -c "SELECT state FROM battledger.consortium_status() WHERE member = 'a.example/log'"; }
wconflicts() { q w -c "SELECT coalesce(string_agg(problem || ' ' || split_part(detail, ' ', 2), ',' ORDER BY problem), '') FROM battledger.log_conflict WHERE origin = 'a.example/log'"; }
drop_sub() {
  local sub; sub=$(q w -c "SELECT subscription FROM battledger.consortium_member WHERE origin = 'a.example/log'")
  q w -c "ALTER SUBSCRIPTION $sub DISABLE" -c "ALTER SUBSCRIPTION $sub SET (slot_name = NONE)" \
      -c "DROP SUBSCRIPTION $sub" -c "DELETE FROM battledger.consortium_member WHERE origin = 'a.example/log'" >/dev/null
  q a -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE '$sub%' AND NOT active" >/dev/null
}
bl_member_start a "$W" ""
bl_member_start w "$W" witness
for x in a w; do
  q "$x" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE soh (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('soh', 'battery');
SELECT battledger.publish_member();
SQL
done
bl_member_keys a; bl_member_keys w witness
q a -c "INSERT INTO soh SELECT 'A' || i, 100 FROM generate_series(1, 15000) i" -c "SELECT battledger.seal()" >/dev/null
bl_join w a
bl_wait_for w "SELECT count(*) = 1 FROM battledger.cosignature WHERE tree_size = 15000" 600 >/dev/null
drop_sub
q a -c "INSERT INTO soh SELECT 'B' || i, 90 FROM generate_series(1, 100) i" -c "SELECT battledger.seal()" >/dev/null
bl_join w a
bl_wait_for w "$(all_ready)" 600 >/dev/null
bl_wait_for w "SELECT count(*) = 1 FROM battledger.cosignature WHERE tree_size = 15100" 300 >/dev/null
check "W1 honest re-join across a copy batch, 100 new leaves: nothing recorded, status ok" "$(wconflicts):$(wstatus)" ":ok"
drop_sub
q a -c "ALTER TABLE battledger.log_leaf DISABLE TRIGGER battledger_append_only" \
    -c "UPDATE battledger.log_leaf SET leaf_index = -1 WHERE leaf_index = 9999;
        UPDATE battledger.log_leaf SET leaf_index = 9999 WHERE leaf_index = 10000;
        UPDATE battledger.log_leaf SET leaf_index = 10000 WHERE leaf_index = -1" \
    -c "ALTER TABLE battledger.log_leaf ENABLE ALWAYS TRIGGER battledger_append_only" >/dev/null
bl_join w a
bl_wait_for w "$(all_ready)" 600 >/dev/null
sleep 2
check "W2 re-join after leaves 9,999/10,000 were swapped: rewritten_leaf names leaf 9999" "$(wconflicts)" "rewritten_leaf 9999"

echo "# $FAILS FAIL(s)"
exit "$FAILS"
