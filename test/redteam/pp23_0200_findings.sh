#!/usr/bin/env bash
# pp23 (0.20.0, on main 89eddba): passport ids a bypass cannot squat, in a
# consortium of two members: c (a cell and pack maker, the honest one, which
# registered the GS1 company prefix 952123 and the ISO/IEC 15459 issuer
# UN/123456) and m (a malicious pack maker and OEM: its superuser turns its
# rules off).  Until 0.20.0 the first issuing row naming a passport id held
# it, even an ineffective one (docs/security.md, "A passport id can be
# squatted by a bypass"): m's row dated first took c's passport id on every
# member, and c's battery lost its passport.  Each case prints "ok   - ..."
# when the property holds, "FAIL - ..." for a finding; exit status: the
# number of FAILs.  PG_BIN: the build under test.  PP23_PORT (default
# 56120; uses 2 ports).
# Results, PostgreSQL 15, 2026-12-06 ~17:15 UTC: main 89eddba 16 FAILs
# (P1's four spellings, P2 and its six lines, P3 and its state line, P4's
# line before R and its conflict line, P5's state line); branch pp23 0
# FAILs.  The controls hold on both (the squatter's rows are dated first,
# m's own id passes, m's 3,000 rows arrive).
# P4's cache line holds on main (its squatter held the id for a while and
# voided H's cache itself); with pp23's rule but the holder-moved trigger
# voiding "the next issuing row" after R (0.19.0's), it FAILs: m's cache of
# H's battery stays "original" while the fold says passport_taken.
#   P1  m's application (its rules on) places its battery on the market
#       with a passport id in c's namespace, in each spelling battery ids
#       accept ('gs1:01/<GTIN>/21/<serial>', '(01)...(21)...', a GS1
#       Digital Link, 'iso15459:UN/123456/...'): refused, BL044.
#   P2  r21 F3's trick on a passport id: m runs one statement that waits
#       for c's placed_on_market naming c's passport id to arrive, then
#       writes its own for its battery, dated at the statement's start,
#       before c's.  On both members: c's battery is on the market with
#       that passport (battery_state(), the cached state equal to the
#       whole fold, passport() and its issuer), m's battery is not, and
#       registry_conflicts() names m's row (passport_foreign_namespace, an
#       equivocation), as does verify_member().
#   P3  m's row comes first the other way: m issues c's next passport id
#       before c does (arriving first).  c's own issue of it passes and
#       holds on both members.
#   P4  the holder-moved machinery (red team r10 F5, r11 T1) under the new
#       rule: rows R (c, rightful) < S (m, squatter) < H (c, another
#       battery) in registry order arrive on m as H, S, R.  R must displace
#       H, not S (which held nothing): B4's cached state (H's battery) must
#       not stay "on the market" when the whole fold says passport_taken.
#   P5  m writes 3,000 issuing rows naming c's id, dated before c's issue:
#       whole folds of c's battery cost no more than of one no row names
#       (at most 3x + 200 ms; the holder is a few index probes, never a walk
#       over refused rows: red team r10 F2).  The cost line holds on main
#       (its holder is the squatter's first row, one probe); it guards
#       against a holder found by walking the rows a namespace refuses.
#   residual (printed, not counted): a passport id in no registered
#       namespace is still its first issuing row's: the same statement takes
#       it (docs/security.md, "Residual risks").
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
P=${PP23_PORT:-56120}
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([c]=$P [m]=$((P + 1)))
declare -A ORIGIN=([c]=c.example/log [m]=m.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
# the SQLSTATE of a statement, or "" if it passed
state() { local x=$1; shift; psql -X -q -At -h "$BL_WORK" -p "${PORT[$x]}" -d bl -v VERBOSITY=sqlstate "$@" 2>&1 >/dev/null | sed -n 's/^ERROR: *//p' | head -1; }
both() { local x; for x in c m; do q "$x" -c "$1"; done | paste -sd/; }

for x in c m; do
  bl_member_start "$x" "$W" witness "$BL_QUICK_RETRY"
  q "$x" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
-- wait_then(cond, stmt): one statement that waits until cond holds, then
-- runs stmt, its rows dated at this statement's start
CREATE FUNCTION public.wait_then(cond text, stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    there boolean;
BEGIN
    FOR i IN 1..600 LOOP
        EXECUTE cond INTO there;
        EXIT WHEN there;
        PERFORM pg_sleep(0.1);
    END LOOP;
    EXECUTE stmt;
    RETURN 'done';
END $$;
CREATE TABLE public.go (x int);     -- not replicated: a local signal
-- the wall time of n whole folds of a battery, in ms
CREATE FUNCTION public.fold_ms(b text, n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    FOR i IN 1..n LOOP
        PERFORM count(*) FROM battledger.battery_lifecycle(b::battledger.battery_id);
    END LOOP;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
-- the state battery_state() gives (the cache) against the whole fold's last row
CREATE FUNCTION public.agree(b text) RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws(' ', coalesce(s.status, '-'), coalesce(s.passport_id, '-'),
                     CASE WHEN (s.status, s.passport_id) IS NOT DISTINCT FROM (l.status, l.passport_id) THEN 'agrees' ELSE
                          format('(fold: %s %s)', l.status, l.passport_id) END)
      FROM battledger.battery_state(b::battledger.battery_id) s
      LEFT JOIN LATERAL (SELECT * FROM battledger.battery_lifecycle(b::battledger.battery_id) x
                          ORDER BY x.ledger_at DESC, x.ledger_origin DESC, x.ledger_seq DESC LIMIT 1) l ON true
$$;
SELECT battledger.publish_member();
SQL
done
q c -c "SELECT battledger.add_member('cell.example', ARRAY['cell_maker', 'pack_maker']),
              battledger.add_key('cell.example', battledger_test.public_key(battledger_test.seed('cell-1'))),
              battledger.add_id_namespace('cell.example', 'gs1:952123'),
              battledger.add_id_namespace('cell.example', 'iso15459:UN/123456')" >/dev/null
q m -c "SELECT battledger.add_member('mal.example', ARRAY['pack_maker', 'oem']),
              battledger.add_key('mal.example', battledger_test.public_key(battledger_test.seed('mal-1')))" >/dev/null
for x in c m; do bl_member_keys "$x" witness; done
bl_join c m; bl_join m c
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.members" >/dev/null; done
bl_wait_for m "SELECT count(*) = 2 FROM battledger.id_namespace" >/dev/null

GTIN=09521230000017                 # c's (GS1 company prefix 952123)
C=gs1:01/$GTIN/21                   # c's batteries and passport ids: $C/B1 ...
MB=iso15459:UN/MALX                 # m's batteries: $MB/M1 ...
made() { q "$1" -c "SELECT ev('$2', jsonb_build_object('battery_id', '$3', 'event', 'manufactured',
                                                     'occurred_at', '2026-01-02T00:00:00Z', 'model_id', '$4'))" >/dev/null; }
pom() { echo "SELECT ev('$1', jsonb_build_object('battery_id', '$2', 'event', 'placed_on_market', 'passport_id', '$3', 'occurred_at', '2026-02-01T00:00:00Z'))"; }
q c -c "SELECT model('cell-1', '{\"model_id\": \"gs1:01/$GTIN\", \"manufacturer\": \"cell.example\", \"category\": \"ev\", \"chemistry\": \"LFP\", \"rated_capacity_ah\": 280}'::jsonb)" >/dev/null
q m -c "SELECT model('mal-1', '{\"model_id\": \"MAL-M\", \"manufacturer\": \"mal.example\", \"category\": \"ev\", \"chemistry\": \"NMC\", \"rated_capacity_ah\": 1}'::jsonb)" >/dev/null
for b in B1 B2 B3 B4 B5 B6 B7; do made c cell-1 "$C/$b" "gs1:01/$GTIN"; done
for b in M0 M01 M02 M03 M04 M1 M2 M3 M5 M6; do made m mal-1 "$MB/$b" MAL-M; done
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 17 FROM battledger.battery_event WHERE event = 'manufactured'" >/dev/null; done

# ---------------------------------------------------------------- P1. the writer
# (one battery each: on main the first is placed on the market)
n=0
for pid in "$C/PX" "(01)$GTIN(21)PX" "https://id.gs1.org/01/$GTIN/21/PX" "iso15459:UN/123456/PX"; do
  n=$((n + 1))
  check "P1 m's application issuing passport id $pid (c's namespace) is refused" "$(state m -c "$(pom mal-1 "$MB/M0$n" "$pid")")" BL044
done
check "  m's application issuing a passport id of its own passes" "$(state m -c "$(pom mal-1 "$MB/M0" MAL-P0)")" ""

# ---------------------------------------------------------------- P2. the trick
q m -c "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules" >/dev/null
q m -c "SELECT wait_then(\$w\$SELECT EXISTS (SELECT 1 FROM battledger.battery_event WHERE passport_id = '$C/B1')\$w\$,
                         \$s\$$(pom mal-1 "$MB/M1" "$C/B1")\$s\$)" >/dev/null 2>&1 &
squat=$!
sleep 2
q c -c "$(pom cell-1 "$C/B1" "$C/B1")" >/dev/null
wait $squat
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.battery_event WHERE passport_id = '$C/B1'" >/dev/null; done
check "  the squatter's row is dated before the maker's (the trick worked)" \
  "$(q c -c "SELECT string_agg(battery_id::text, ' ' ORDER BY ledger_at) FROM battledger.battery_event WHERE passport_id = '$C/B1'")" \
  "$MB/M1 $C/B1"
check "P2 c's battery is on the market with its passport on both members (cache = fold)" \
  "$(both "SELECT agree('$C/B1')")" "original $C/B1 agrees/original $C/B1 agrees"
check "  m's battery is not on the market on either" "$(both "SELECT agree('$MB/M1')")" "- - agrees/- - agrees"
check "  passport() shows c's passport id on both" \
  "$(both "SELECT p->>'passportId' FROM battledger.passport('$C/B1') p")" "$C/B1/$C/B1"
check "  its history: the one passport c issued, on both" \
  "$(both "SELECT string_agg((h->>'issuedBy') || ' ' || (h->>'passportId'), ', ') FROM battledger.passport('$C/B1') p, jsonb_array_elements(p->'passportHistory') h")" \
  "cell.example $C/B1/cell.example $C/B1"
check "  registry_conflicts() names m's row on both" \
  "$(both "SELECT string_agg(signer || ' ' || problem || ' ' || kind, ', ') FROM battledger.registry_conflicts() WHERE battery_id::text = '$MB/M1'")" \
  "mal.example passport_foreign_namespace equivocation/mal.example passport_foreign_namespace equivocation"
check "  and names no row of c" \
  "$(q c -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE signer = 'cell.example'")" 0
check "  verify_member() on c names m's row" \
  "$(q c -c "SELECT count(*) FROM battledger.verify_member('m.example/log') WHERE problem = 'registry_equivocation' AND detail LIKE '%$MB/M1%'")" 1

# ---------------------------------------------------------------- P3. first to arrive
q m -c "$(pom mal-1 "$MB/M2" "$C/B2")" >/dev/null
bl_wait_for c "SELECT count(*) = 1 FROM battledger.battery_event WHERE passport_id = '$C/B2'" >/dev/null
check "P3 c's issue of its passport id passes after m's row naming it arrived" "$(state c -c "$(pom cell-1 "$C/B2" "$C/B2")")" ""
bl_wait_for m "SELECT count(*) = 2 FROM battledger.battery_event WHERE passport_id = '$C/B2'" >/dev/null
check "  and c's battery holds it on both members" "$(both "SELECT agree('$C/B2')")" "original $C/B2 agrees/original $C/B2 agrees"

# ---------------------------------------------------------------- P4. holder moves
# R: c's B3, dated first (c's statement waits, its rules off: H would refuse
# it); S: m's M3, dated second; H: c's B4, dated last, written first
P4=$C/P4
q c -c "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules" >/dev/null
q c -c "SELECT wait_then('SELECT EXISTS (SELECT 1 FROM public.go)', \$s\$$(pom cell-1 "$C/B3" "$P4")\$s\$)" >/dev/null 2>&1 &
r=$!
sleep 1
q m -c "SELECT wait_then(\$w\$SELECT EXISTS (SELECT 1 FROM battledger.battery_event WHERE passport_id = '$P4')\$w\$,
                         \$s\$$(pom mal-1 "$MB/M3" "$P4")\$s\$)" >/dev/null 2>&1 &
s=$!
sleep 1
q c -c "$(pom cell-1 "$C/B4" "$P4")" >/dev/null
wait $s
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.battery_event WHERE passport_id = '$P4'" >/dev/null; done
check "  before R: H's battery holds the id on both (caches built)" "$(both "SELECT agree('$C/B4')")" "original $P4 agrees/original $P4 agrees"
q c -c "INSERT INTO public.go VALUES (1)" >/dev/null
wait $r
q c -c "ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules" >/dev/null
bl_wait_for m "SELECT count(*) = 3 FROM battledger.battery_event WHERE passport_id = '$P4'" >/dev/null
check "  R, S, H in registry order" \
  "$(q c -c "SELECT string_agg(battery_id::text, ' ' ORDER BY ledger_at) FROM battledger.battery_event WHERE passport_id = '$P4'")" \
  "$C/B3 $MB/M3 $C/B4"
check "P4 R's battery holds the id on both members (cache = fold)" "$(both "SELECT agree('$C/B3')")" "original $P4 agrees/original $P4 agrees"
check "  H's battery no longer does, its cache voided on both" "$(both "SELECT agree('$C/B4')")" "- - agrees/- - agrees"
check "  S's battery never did" "$(both "SELECT agree('$MB/M3')")" "- - agrees/- - agrees"
check "  registry_conflicts() names S as foreign, H as taken" \
  "$(both "SELECT string_agg(signer || ' ' || problem || ' ' || kind, ', ' ORDER BY problem) FROM battledger.registry_conflicts() WHERE battery_id::text IN ('$MB/M3', '$C/B4')")" \
  "mal.example passport_foreign_namespace equivocation, cell.example passport_taken conflict/mal.example passport_foreign_namespace equivocation, cell.example passport_taken conflict"

# ---------------------------------------------------------------- P5. cost
# m's 3,000 issuing rows naming c's id, dated before c's issue: the holder
# is still a few index probes (battery_event_passport_signer), not a walk
# over the rows the namespace refuses (red team r10 F2's property)
# (each row its own occurred_at: identical rows would have one signature)
q m -c "SELECT count(ev('mal-1', jsonb_build_object('battery_id', '$MB/M6', 'event', 'placed_on_market', 'passport_id', '$C/B6',
                                                   'occurred_at', timestamptz '2026-02-01' + i * interval '1 s'))) FROM generate_series(1, 3000) i" >/dev/null
bl_wait_for c "SELECT count(*) = 3000 FROM battledger.battery_event WHERE passport_id = '$C/B6'" >/dev/null
check "  m's 3,000 rows naming c's id arrived at c" \
  "$(q c -c "SELECT count(*) FROM battledger.battery_event WHERE passport_id = '$C/B6'")" 3000
q c -c "$(pom cell-1 "$C/B6" "$C/B6")" -c "$(pom cell-1 "$C/B7" "$C/B7")" >/dev/null
base=$(q c -c "SELECT fold_ms('$C/B7', 200)"); att=$(q c -c "SELECT fold_ms('$C/B6', 200)")
echo "# 200 whole folds of c's battery: ${base} ms; of one whose id 3,000 refused rows name, dated first: ${att} ms"
if [ "$att" -le $((3 * base + 200)) ]; then ok "P5 rows a namespace refuses cost its holder's folds nothing per row"
else fail "P5 rows a namespace refuses cost its holder's folds nothing per row" "$att ms against $base ms"; fi
check "  and c's battery holds its id" "$(q c -c "SELECT agree('$C/B6')")" "original $C/B6 agrees"

# ---------------------------------------------------------------- residual
q m -c "SELECT wait_then(\$w\$SELECT EXISTS (SELECT 1 FROM battledger.battery_event WHERE passport_id = 'FREE-P')\$w\$,
                         \$s\$$(pom mal-1 "$MB/M5" FREE-P)\$s\$)" >/dev/null 2>&1 &
squat=$!
sleep 2
q c -c "$(pom cell-1 "$C/B5" FREE-P)" >/dev/null
wait $squat
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.battery_event WHERE passport_id = 'FREE-P'" >/dev/null; done
echo "#   residual: passport id FREE-P (no namespace): c's battery at c '$(q c -c "SELECT agree('$C/B5')")', at m '$(q m -c "SELECT agree('$C/B5')")' (documented)"
q m -c "ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules" >/dev/null

echo "# $FAILS FAIL(s)"
exit "$FAILS"
