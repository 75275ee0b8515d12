#!/usr/bin/env bash
# Passports in the industry's formats, checked by the standards' own schemas:
# passport(id, tier, 'batterypass') (seven BatteryPass 1.2 aspects) and
# passport(id, tier, 'catenax') (Catena-X battery pass 6.1.0), for batteries of
# every category built from signed registry events (TEST-ONLY signer), fully
# declared and declaring nothing, at every tier, validated by Debian's
# python3-jsonschema (draft 4, format checking; test/lib/validate_passport.py).
# Then the tiers outside passport(): what a plain role, each tier's role, a
# member's role and the owner may read.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster pp 55471 "$(bl_test_log_conf battledger.test/pp)"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d pp "$@"; }
createdb pp
OUT=$BL_WORK/passports; mkdir -p "$OUT"

q -c "CREATE EXTENSION battledger" -f "$BL_ROOT/test/data/passport_batteries.sql" >/dev/null

# every battery x tier x format, as its own file
for b in FULL-ev FULL-lmt FULL-industrial FULL-stationary FULL-portable BARE-ev BARE-lmt BARE-industrial BARE-stationary BARE-portable; do
  for tier in public legitimate_interest authority; do
    for fmt in batterypass catenax; do
      [ "$fmt" = batterypass ] && [ "${b#*-}" = portable ] && continue
      q -c "SELECT battledger.passport(('https://id.gs1.org/01/09521234567899/21/' || '$b')::battledger.battery_id, '$tier', '$fmt')" \
        > "$OUT/$b.$tier.$fmt.json"
      # what these batteries do not have: BARE-* declare nothing; an 8-year warranty is no xsd:gMonth
      case $b in
        BARE-*) echo '*' > "$OUT/$b.$tier.$fmt.json.absent" ;;
        FULL-lmt) ;;
        FULL-*) echo 'GeneralProductInformation warrentyPeriod' > "$OUT/$b.$tier.$fmt.json.absent" ;;
      esac
    done
  done
done
# second life and composition (test/data/second_life_batteries.sql): the
# stationary successor of two EV packs, the packs it consumed, a pack of modules
q -f "$BL_ROOT/test/data/second_life_batteries.sql" >/dev/null
for b in SL-STAT SL-EV-A SL-EV-B SL-PACK; do
  for tier in public legitimate_interest authority; do
    for fmt in batterypass catenax; do
      q -c "SELECT battledger.passport(('https://id.gs1.org/01/09521234567899/21/' || '$b')::battledger.battery_id, '$tier', '$fmt')" \
        > "$OUT/$b.$tier.$fmt.json"
      # fully declared; a 5- or 8-year warranty is no xsd:gMonth
      echo 'GeneralProductInformation warrentyPeriod' > "$OUT/$b.$tier.$fmt.json.absent"
    done
  done
done
echo "passports written: $(ls "$OUT"/*.json | wc -l)"

V="/usr/bin/python3 $BL_ROOT/test/lib/validate_passport.py $BL_ROOT/test/standards $BL_ROOT/test/standards/withheld.json"
echo "== validation (BatteryPass 1.2: 7 aspects; Catena-X 6.1.0: 1 document; per battery and tier)"
if $V "$OUT"/*.json > "$BL_WORK/validation.txt"; then vrc=0; else vrc=$?; fi
cat "$BL_WORK/validation.txt"
check "every passport validates (BatteryPass 1.2 and Catena-X 6.1.0, every tier, every category)" test "$vrc" = 0
check "8 documents per fully declared battery per tier (4 categories x 7 aspects + Catena-X, + portable Catena-X)" \
  test "$(grep -c '^ok   FULL-' "$BL_WORK/validation.txt")" = $(( (4 * 8 + 1) * 3 ))
check "second life: the successor, its predecessors and a pack of modules validate (4 batteries x 8 documents x 3 tiers)" \
  test "$(grep -c '^ok   SL-' "$BL_WORK/validation.txt")" = $(( 4 * 8 * 3 ))
check "Catena-X: the successor's passport names its first predecessor's" \
  test "$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["predecessor"])' "$OUT/SL-STAT.public.catenax.json")" = \
       "urn:uuid:$(q -c "SELECT battledger.passport_uuid('urn:bp:SL-EV-A:1')")"

# it must be able to fail: a required value removed (the manufacturer's postal address) ...
q -c "SELECT battledger.passport(('https://id.gs1.org/01/09521234567899/21/NOADDR-ev')::battledger.battery_id, 'legitimate_interest', 'batterypass')" \
  > "$BL_WORK/NOADDR-ev.legitimate_interest.batterypass.json"
echo 'GeneralProductInformation warrentyPeriod' > "$BL_WORK/NOADDR-ev.legitimate_interest.batterypass.json.absent"
if r=$($V "$BL_WORK/NOADDR-ev.legitimate_interest.batterypass.json"); then nrc=0; else nrc=$?; fi
echo "$r" | grep FAIL || true
check "a passport missing a required value fails validation" test "$nrc" = 1
check "... and the failure names it, and only it" test "$(grep FAIL <<<"$r")" = \
  "FAIL NOADDR-ev legitimate_interest GeneralProductInformation: manufacturerInformation.postalAddress (missing)"
# ... and a value of the wrong type (a mass as text)
/usr/bin/python3 -c "
import json,sys; d=json.load(open(sys.argv[1])); k=[k for k in d if 'GeneralProductInformation' in k][0]
d[k]['batteryMass']='430 kg'; json.dump(d, open(sys.argv[2],'w'))" "$OUT/FULL-ev.public.batterypass.json" "$BL_WORK/BROKEN-ev.public.batterypass.json"
if r=$($V "$BL_WORK/BROKEN-ev.public.batterypass.json"); then brc=0; else brc=$?; fi
check "a value of the wrong type fails validation" test "$brc" = 1
# a tier withholding a value cannot excuse it at another tier: the public GPI checked as legitimate interest
cp "$OUT/FULL-ev.public.batterypass.json" "$BL_WORK/FULLPUB-ev.legitimate_interest.batterypass.json"
if r=$($V "$BL_WORK/FULLPUB-ev.legitimate_interest.batterypass.json"); then wrc=0; else wrc=$?; fi
check "values withheld from the public are missing at the legitimate-interest tier" grep -q 'batteryStatus (missing)' <<<"$r"

echo "== what each tier sees"
pp() { q -c "SELECT battledger.passport(('https://id.gs1.org/01/09521234567899/21/FULL-ev')::battledger.battery_id, '$1', '$2') $3"; }
check "public: no status, no putting into service, no cathode"     test "$(pp public battledger "?| ARRAY['batteryStatus']")" = f
check "public: no cathode material"                                test "$(pp public battledger "->'materialComposition' ? 'cathode'")" = f
check "public: critical raw materials"                             test "$(pp public battledger "->'materialComposition' ? 'criticalRawMaterials'")" = t
check "legitimate interest: status, service date, cathode, usage"  test "$(pp legitimate_interest battledger "?& ARRAY['batteryStatus', 'negativeEvents']")" = t
check "legitimate interest: no test report"                        test "$(pp legitimate_interest battledger "? 'testReports'")" = f
check "authority: cathode and test report"                         test "$(pp authority battledger "->'materialComposition' ? 'cathode'")$(pp authority battledger "? 'testReports'")" = tt
check "authority: no status, no usage (Annex XIII point 4)"        test "$(pp authority battledger "?| ARRAY['batteryStatus', 'negativeEvents']")$(pp authority battledger "->'performance' ? 'dynamic'")" = ff
check "history: status moves for legitimate interest only"         test "$(pp public battledger "->'passportHistory'->0 ? 'status'")$(pp legitimate_interest battledger "->'passportHistory'->0 ? 'status'")" = ft

echo "== every readable object, as a plain role, each tier's role, a member and the owner"
q >/dev/null <<'SQL'
CREATE ROLE plain LOGIN;
CREATE ROLE li LOGIN IN ROLE battledger_legitimate_interest;
CREATE ROLE auth LOGIN IN ROLE battledger_authority;
CREATE ROLE member LOGIN IN ROLE battledger_member;
CREATE ROLE owner_role LOGIN;
SQL
# may ROLE run SQL?  prints t or the SQLSTATE
try() { psql -X -q -At -d pp -U "$1" -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -c "\\set VERBOSITY sqlstate" -c "$2" >/dev/null 2>"$BL_WORK/err" && echo ok || sed -n 's/^ERROR:  //p' "$BL_WORK/err" | head -1; }
B="('https://id.gs1.org/01/09521234567899/21/FULL-ev')::battledger.battery_id"
printf '%-58s %-8s %-8s %-8s %-8s %-8s\n' object plain li auth member postgres
declare -A want
while IFS='|' read -r what sql w; do
  row=""
  for r in plain li auth member postgres; do row="$row $(printf '%-8s' "$(try $r "$sql")")"; done
  printf '%-58s%s\n' "$what" "$row"
  check "$what: $w" test "$(echo $row)" = "$w"
done <<EOF
SELECT * FROM battery_event|SELECT * FROM battledger.battery_event|42501 ok 42501 ok ok
SELECT * FROM lot_event|SELECT * FROM battledger.lot_event|42501 ok 42501 ok ok
SELECT materials FROM battery_model|SELECT materials FROM battledger.battery_model|42501 ok ok ok ok
SELECT model_id, chemistry FROM battery_model|SELECT model_id, chemistry FROM battledger.battery_model|ok ok ok ok ok
SELECT * FROM disclosure|SELECT * FROM battledger.disclosure|42501 ok ok 42501 ok
battery_history()|SELECT * FROM battledger.battery_history($B)|42501 ok 42501 ok ok
battery_proofs()|SELECT * FROM battledger.battery_proofs($B)|42501 ok 42501 ok ok
material_provenance()|SELECT * FROM battledger.material_provenance($B)|42501 ok ok ok ok
battery_state()|SELECT * FROM battledger.battery_state($B)|42501 ok 42501 ok ok
passport(public)|SELECT battledger.passport($B)|ok ok ok ok ok
passport(legitimate_interest)|SELECT battledger.passport($B, 'legitimate_interest')|42501 ok 42501 42501 ok
passport(authority)|SELECT battledger.passport($B, 'authority')|42501 42501 ok 42501 ok
_passport_legitimate_interest()|SELECT battledger._passport_legitimate_interest($B, 'catenax')|42501 ok 42501 42501 ok
_passport_authority()|SELECT battledger._passport_authority($B, 'catenax')|42501 42501 ok 42501 ok
_passport()|SELECT battledger._passport($B, 'legitimate_interest', 'catenax')|42501 42501 42501 42501 ok
verify(battery_event)|SELECT count(*) FROM battledger.verify('battledger.battery_event')|42501 ok 42501 ok ok
recycled_content()|SELECT * FROM battledger.recycled_content($B)|42501 ok ok ok ok
usage_derived()|SELECT * FROM battledger.usage_derived($B)|42501 ok 42501 42501 ok
SELECT * FROM operator_registration|SELECT * FROM battledger.operator_registration|ok ok ok ok ok
EOF
check "the authority reads test reports only, the legitimate-interest role usage values only" \
  test "$(psql -X -q -At -d pp -U auth -c "SELECT string_agg(DISTINCT tier, ',') FROM battledger.disclosure")|$(psql -X -q -At -d pp -U li -c "SELECT string_agg(DISTINCT tier, ',') FROM battledger.disclosure")" = "authority|legitimate_interest"
check "verify() and verify_log() as the owner: no problems" \
  test "$(q -c "SELECT (SELECT count(*) FROM battledger.verify('battledger.battery_event')) + (SELECT count(*) FROM battledger.verify('battledger.battery_model')) + (SELECT count(*) FROM battledger.verify_log())")" = 0

exit $fail
