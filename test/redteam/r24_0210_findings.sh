#!/usr/bin/env bash
# r24 (0.21.0, on main 2386c63): red team on 0.20.0's passport ids in a
# namespace (pp23), in a consortium of two members as pp23_0200_findings.sh
# sets it up: c (cell and pack maker, the honest one, which registered the
# GS1 company prefix 952123 and the ISO/IEC 15459 issuer UN/123456) and m (a
# malicious pack maker and OEM: its superuser turns its rules off, its DBA
# registers members, keys and namespaces hosted at m).  Each case prints
# "ok   - ..." when the property holds, "FAIL - ..." for a finding; exit
# status: the number of FAILs.  PG_BIN: the build under test.  R24_PORT
# (default 56410; uses 2 ports).
# Results, PostgreSQL 15, 2026-12-06 ~20:17 UTC: main 2386c63 17 FAILs
# (S1's five spellings, its bypass row holding the id and not named; D1:
# 160,400 rows for 401 contested registrations, 0.8-1.6 s, and c's
# registration named 400 times; N1's three; K1's issue and state lines;
# H1's three); branch r24 0 FAILs (D1: 401 rows, 0.2-0.6 s).  The controls
# hold on both (battery_id reads each spelling as c's battery's id; c's
# own padded id passes; m's key's signer stays m).  Residuals printed on
# both: 100 whole folds of a battery whose passport id 400 members contest
# 240-870 ms against 30-220 (a loaded machine); m's application signing as
# c with a key m registered passes, c's battery on the market with m's
# passport id; with c's hosting contested no claim protects c's ids, and
# c's stored rows are judged again without them (B2, B6 foreign, B5 taken).
#   S1  spellings: a passport id is in its namespace "in every spelling
#       battery ids accept" (docs/registry.md; _text_id_key(), red team r22
#       N3), but battery ids also accept surrounding white space (a
#       scanner's), an element string with a GTIN-8/12/13 ('(01)<13
#       digits>(21)...', padded to 14) and a Digital Link whose GTIN is
#       percent-encoded; _text_id_key() read none of them as namespaced, so
#       m's application (its rules on) issued, for its own battery, passport
#       ids that battery_id reads as c's battery's id.  Each must be BL044,
#       and a row written past the rules with one must be named
#       passport_foreign_namespace; c's own such id passes.
#   N1  registering over passport ids: m's DBA registers c's ISO/IEC 15459
#       namespace, where c issued passport ids (and made no battery,
#       model or lot): must be BL044, as over batteries, models and lots
#       (r22 N1), or m's application issues c's next passport id first.
#   K1  a key added twice: m's superuser adds its own key again for c;
#       m's row issuing c's next passport id, judged foreign (its signer
#       is m), must not hold it: c's issue passes and holds on both.
#   G1  (lead) m's DBA adds a key for c, revokes c's key, changes c's
#       roles, adds c again: each BL044 at m (add_key() and the others
#       checked no hosting); past the rules, the key is named key_not_hosted
#       on both members; c's own DBA still manages c's keys.
#   H1  m's superuser adds c's member again at m: c's hosting is
#       contested (its registrations count for nothing, by design), but
#       c's own registrations must not be named c's equivocations.
#   residuals (printed, not counted; docs/security.md "Residual risks"):
#       (until 0.21.0: a key m's superuser writes for c past its rules
#       still signs as c; since 0.22.0 a G1 check: refused, BL011);
#       many members registering c's namespace (contested) make the holder
#       probe of c's ids cost their number.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
P=${R24_PORT:-56410}
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
pom() { echo "SELECT ev('$1', jsonb_build_object('battery_id', '$2', 'event', 'placed_on_market', 'passport_id', \$p\$$3\$p\$, 'occurred_at', '2026-02-01T00:00:00Z'))"; }
q c -c "SELECT model('cell-1', '{\"model_id\": \"gs1:01/$GTIN\", \"manufacturer\": \"cell.example\", \"category\": \"ev\", \"chemistry\": \"LFP\", \"rated_capacity_ah\": 280}'::jsonb)" >/dev/null
q m -c "SELECT model('mal-1', '{\"model_id\": \"MAL-M\", \"manufacturer\": \"mal.example\", \"category\": \"ev\", \"chemistry\": \"NMC\", \"rated_capacity_ah\": 1}'::jsonb)" >/dev/null
for b in B1 B2 B3 B4 B5 B6 B7; do made c cell-1 "$C/$b" "gs1:01/$GTIN"; done
for b in M1 M2 M3 M4 M5 M6 M7; do made m mal-1 "$MB/$b" MAL-M; done
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 14 FROM battledger.battery_event WHERE event = 'manufactured'" >/dev/null; done

# ---------------------------------------------------------------- S1. spellings
# (one of m's batteries each: on main each is placed on the market)
n=0
for pid in " $C/B1" "(01)${GTIN:1}(21)B2" "https://id.gs1.org/01/%30%39%35%32%31%32%33%30%30%30%30%30%31%37/21/B3" \
           "	$C/B4 " " iso15459:UN/123456/B5"; do
  n=$((n + 1))
  case $pid in *iso15459*) ;; *)
    check "  battery_id reads passport id '$pid' as c's battery $C/B$n" \
      "$(q m -c "SELECT \$p\$$pid\$p\$::battledger.battery_id::text")" "$C/B$n" ;;
  esac
  check "S1 m's application issuing passport id '$pid' (c's namespace) is refused" \
    "$(state m -c "$(pom mal-1 "$MB/M$n" "$pid")")" BL044
done
# a row written past the rules with such a spelling: named on both members
q m -c "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules" >/dev/null
q m -c "$(pom mal-1 "$MB/M6" " $C/B6")" >/dev/null
q m -c "ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules" >/dev/null
bl_wait_for c "SELECT count(*) = 1 FROM battledger.battery_event WHERE battery_id::text = '$MB/M6' AND event = 'placed_on_market'" >/dev/null
check "  m's row written past its rules with ' $C/B6' holds nothing on either member" \
  "$(both "SELECT agree('$MB/M6')")" "- - agrees/- - agrees"
check "  registry_conflicts() names it passport_foreign_namespace on both" \
  "$(both "SELECT string_agg(problem || ' ' || kind, ', ') FROM battledger.registry_conflicts() WHERE battery_id::text = '$MB/M6'")" \
  "passport_foreign_namespace equivocation/passport_foreign_namespace equivocation"
check "  c's own application issuing ' $C/B7' (its namespace, padded) passes" \
  "$(state c -c "$(pom cell-1 "$C/B7" " $C/B7")")" ""

# ---------------------------------------------------------------- D1. detection
# m's DBA registers 400 members of its own, each with c's ISO/IEC 15459
# namespace (add_member(), add_id_namespace(): a WARNING each, no bypass).
# registry_conflicts() named every contested pair: 400 x 401 rows, growing
# with the square, and verify_member() read them all (1,000: 1,001,000 rows,
# 6 s here).  Each contested registration must be named, once.
c_iss() { q c -c "$(pom cell-1 "$1" "$2")" >/dev/null; }
# (before c issues a passport id there: N1 below refuses a registration after)
q m -c "SET client_min_messages = error" -c "SELECT count(*) FROM (SELECT battledger.add_member('x' || i || '.example', ARRAY['pack_maker']),
              battledger.add_key('x' || i || '.example', battledger_test.public_key(battledger_test.seed('x' || i))),
              battledger.add_id_namespace('x' || i || '.example', 'iso15459:UN/123456') FROM generate_series(1, 400) i) z" >/dev/null
bl_wait_for c "SELECT count(*) = 402 FROM battledger.id_namespace" >/dev/null
c_iss "$C/B2" "iso15459:UN/123456/P2"     # (B2's only issue: its S1 spelling went to m's battery)
bl_wait_for m "SELECT count(*) = 1 FROM battledger.battery_event WHERE passport_id = 'iso15459:UN/123456/P2'" >/dev/null
t0=$(date +%s%N)
check "D1 registry_conflicts() names each of the 401 contested registrations once" \
  "$(q c -c "SELECT count(*) || ' rows, ' || count(DISTINCT (ledger_origin, ledger_seq)) || ' registrations' FROM battledger.registry_conflicts() WHERE problem = 'namespace_contested'")" \
  "401 rows, 401 registrations"
echo "# registry_conflicts() at c with 400 contesting members: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "  c's registration among them" \
  "$(q c -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'namespace_contested' AND signer = 'cell.example'")" 1
t0=$(date +%s%N); q c -c "SELECT count(*) FROM battledger.verify_member('m.example/log')" >/dev/null
echo "# verify_member('m.example/log') at c (reads registry_conflicts()): $(( ($(date +%s%N) - t0) / 1000000 )) ms"
# residual (printed): the holder of c's ids in the contested namespace is
# read from every claim: each whole fold costs the claimants' number
base=$(q c -c "SELECT fold_ms('$C/B7', 100)"); att=$(q c -c "SELECT fold_ms('$C/B2', 100)")
echo "#   residual: 100 whole folds of c's battery with passport id in a namespace 400 members contest: ${att} ms; of one with a padded gs1 id: ${base} ms (documented)"

# ---------------------------------------------------------------- N1. registering over passport ids
# c issued iso15459:UN/123456/P2 in its ISO/IEC 15459 namespace (it makes
# no battery, model or lot there).  add_id_namespace() refuses a namespace
# under which another member made batteries, declared models or created
# lots (r22 N1), not one it issued passport ids in: m's DBA registered c's
# namespace for m (a WARNING: contested), and m's application, its rules
# on, then issued c's next passport id first and held it: c's issue BL038
made m mal-1 "$MB/M8" MAL-M
check "N1 m's DBA registering c's namespace, where c issued passport ids, is refused" \
  "$(state m -c "SET client_min_messages = error" -c "SELECT battledger.add_id_namespace('mal.example', 'iso15459:UN/123456')")" BL044
stm=$(state m -c "$(pom mal-1 "$MB/M8" "iso15459:UN/123456/P9")")
[ -z "$stm" ] && bl_wait_for c "SELECT EXISTS (SELECT 1 FROM battledger.battery_event WHERE passport_id = 'iso15459:UN/123456/P9')" >/dev/null
check "  m's application issuing c's next passport id there is refused" "$stm" BL044
st=$(state c -c "$(pom cell-1 "$C/B6" "iso15459:UN/123456/P9")")
[ -z "$st" ] && bl_wait_for m "SELECT EXISTS (SELECT 1 FROM battledger.battery_event WHERE passport_id = 'iso15459:UN/123456/P9' AND battery_id::text = '$C/B6')" >/dev/null
check "  c's issue of it passes, and c's battery holds it on both (cache = fold)" \
  "${st:-passed}: $(both "SELECT agree('$C/B6')")" \
  "passed: original iso15459:UN/123456/P9 agrees/original iso15459:UN/123456/P9 agrees"

# ---------------------------------------------------------------- K1. a key twice
# m's superuser adds its own key again, for c (one key_event row); its
# signer stays m (_signer_at(): its first row), so the fold judges m's row
# issuing c's next passport id passport_foreign_namespace, yet the holder
# (_passport_holder_by()) counted every key row naming c: m's row held the
# id, and c's own issue of it was refused (BL038) on every member
# (past the governance rules trigger, which since G1 refuses it: a bypass)
q m -c "ALTER TABLE battledger.key_event DISABLE TRIGGER battledger_rules" 2>/dev/null >/dev/null || true
q m -c "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
        SELECT key_id, 'cell.example', 'added', public_key, valid_from FROM battledger.key_event
         WHERE member = 'mal.example' AND event = 'added'" >/dev/null
q m -c "ALTER TABLE battledger.key_event ENABLE TRIGGER battledger_rules" 2>/dev/null >/dev/null || true
bl_wait_for c "SELECT count(*) = 2 FROM battledger.key_event WHERE key_id OPERATOR(battledger.=) battledger.key_id(battledger_test.public_key(battledger_test.seed('mal-1')))" >/dev/null
q m -c "ALTER TABLE battledger.battery_event DISABLE TRIGGER battledger_rules" >/dev/null
q m -c "$(pom mal-1 "$MB/M7" "$C/K1")" >/dev/null
q m -c "ALTER TABLE battledger.battery_event ENABLE TRIGGER battledger_rules" >/dev/null
bl_wait_for c "SELECT count(*) = 1 FROM battledger.battery_event WHERE passport_id = '$C/K1'" >/dev/null
check "  m's key's signer is still m on both" \
  "$(both "SELECT member FROM battledger._signer_at(battledger.key_id(battledger_test.public_key(battledger_test.seed('mal-1'))), now())")" "mal.example/mal.example"
check "K1 c's issue of its passport id passes after m's row naming it, signed by a key m added twice" \
  "$(state c -c "$(pom cell-1 "$C/B5" "$C/K1")")" ""
bl_wait_for m "SELECT count(*) = 2 FROM battledger.battery_event WHERE passport_id = '$C/K1'" >/dev/null
check "  c's battery holds it on both members (cache = fold)" "$(both "SELECT agree('$C/B5')")" "original $C/K1 agrees/original $C/K1 agrees"
check "  m's battery does not" "$(both "SELECT agree('$MB/M7')")" "- - agrees/- - agrees"
check "  registry_conflicts() names m's row, and no row of c, on both" \
  "$(both "SELECT string_agg(signer || ' ' || problem, ', ' ORDER BY signer) FROM battledger.registry_conflicts() WHERE battery_id::text IN ('$MB/M7', '$C/B5')")" \
  "mal.example passport_foreign_namespace/mal.example passport_foreign_namespace"

# ---------------------------------------------------------------- G1. keys and roles
# (lead, after r24) add_key(), revoke_key() and set_member_roles() checked
# no hosting, unlike add_id_namespace(): m's DBA, no bypass, registered a
# key for c and m's application, its rules on, signed as c (c's battery on
# the market with m's passport id, on every member, named nowhere); it
# could revoke c's key or strip c's roles.  Each must be BL044 at m, a
# direct INSERT too; one written past the rules must be named
# key_not_hosted / roles_not_hosted, m's equivocation, on both members.
MALC="battledger_test.public_key(battledger_test.seed('mal-as-cell'))"
check "G1 m's DBA cannot add a key for c (add_key(), BL044)" \
  "$(state m -c "SELECT battledger.add_key('cell.example', $MALC)")" BL044
check "  nor by a direct INSERT into key_event" \
  "$(state m -c "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
                 VALUES (battledger.key_id($MALC), 'cell.example', 'added', $MALC, now())")" BL044
check "  nor revoke c's key (revoke_key(), BL044)" \
  "$(state m -c "SELECT battledger.revoke_key(battledger.key_id(battledger_test.public_key(battledger_test.seed('cell-1'))))")" BL044
check "  nor change c's roles (set_member_roles(), BL044)" \
  "$(state m -c "SELECT battledger.set_member_roles('cell.example', ARRAY['oem'])")" BL044
check "  nor add c again at m (a direct INSERT into member_event, BL044)" \
  "$(state m -c "INSERT INTO battledger.member_event (member, event, roles) VALUES ('cell.example', 'added', ARRAY['cell_maker'])")" BL044
check "  c's own DBA still adds and revokes c's keys" \
  "$(state c -c "SELECT battledger.revoke_key(battledger.add_key('cell.example', battledger_test.public_key(battledger_test.seed('cell-2')), now() - interval '1 day'))")" ""
# past the rules (its superuser disables the trigger): the key is named on
# both members, and since 0.22.0 signs for nobody (k26_0220_findings.sh)
q m -c "ALTER TABLE battledger.key_event DISABLE TRIGGER battledger_rules" 2>/dev/null >/dev/null || true
q m -c "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
        VALUES (battledger.key_id($MALC), 'cell.example', 'added', $MALC, now() - interval '1 minute')" >/dev/null
q m -c "ALTER TABLE battledger.key_event ENABLE TRIGGER battledger_rules" 2>/dev/null >/dev/null || true
bl_wait_for c "SELECT count(*) = 1 FROM battledger.key_event WHERE key_id OPERATOR(battledger.=) battledger.key_id($MALC)" >/dev/null
check "  a key written for c past m's rules is named key_not_hosted, m's equivocation, on both" \
  "$(both "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'key_not_hosted' AND ledger_origin = 'm.example/log' AND kind = 'equivocation' AND signer = 'cell.example'")" "2/2"
check "  verify_member() of m at c files them under key_event" \
  "$(q c -c "SELECT count(*) FROM battledger.verify_member('m.example/log') WHERE problem = 'registry_equivocation' AND tbl = 'battledger.key_event'")" 2
check "  and names no key or roles row of c's" \
  "$(both "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem IN ('key_not_hosted', 'roles_not_hosted') AND ledger_origin = 'c.example/log'")" "0/0"
# (0.21.0's residual, prevented in 0.22.0: the key row does not count)
check "  m's application signing as c with that key is refused (BL011)" \
  "$(state m -c "$(pom mal-as-cell "$C/B3" "$C/MALP")")" BL011

# ---------------------------------------------------------------- H1. hosting
# m's superuser adds c's member again, at m (one member_event row; its DBA's
# add_member() refuses a name that exists): c's hosting is contested, so
# every registration of c counts for nothing (by design: contested, not
# moved; docs/registry.md).  But registry_conflicts() named each of c's own
# registrations an equivocation of c's origin (namespace_not_hosted), and
# verify_member() of c listed them as c's registry_equivocation: m framed c.
# Since 0.23.0 each database counts the host it saw first (host_pin): c's
# registrations keep counting, and only the hosting contest is named.
q m -c "ALTER TABLE battledger.member_event DISABLE TRIGGER battledger_rules" 2>/dev/null >/dev/null || true
q m -c "INSERT INTO battledger.member_event (member, event, roles) VALUES ('cell.example', 'added', ARRAY['cell_maker'])" >/dev/null
q m -c "ALTER TABLE battledger.member_event ENABLE TRIGGER battledger_rules" 2>/dev/null >/dev/null || true
bl_wait_for c "SELECT count(*) = 2 FROM battledger.member_event WHERE member = 'cell.example' AND event = 'added'" >/dev/null
check "H1 registry_conflicts() names no registration of c's as an equivocation, on both" \
  "$(both "SELECT count(*) FROM battledger.registry_conflicts() WHERE ledger_origin = 'c.example/log' AND event = 'id_namespace' AND kind = 'equivocation'")" "0/0"
check "  verify_member() of c at m lists no registration as registry_equivocation" \
  "$(q m -c "SELECT count(*) FROM battledger.verify_member('c.example/log') WHERE problem = 'registry_equivocation' AND tbl = 'battledger.id_namespace'")" 0
# (since 0.23.0 each database counts the host it saw first, host_pin: c's
# registrations still count, the contest is named once per adding row)
check "  c's registrations still count: no namespace contest named, on both" \
  "$(both "SELECT count(*) FROM battledger.registry_conflicts() WHERE ledger_origin = 'c.example/log' AND event = 'id_namespace' AND problem IN ('namespace_hosting_contested', 'namespace_not_hosted')")" "0/0"
check "  the hosting contest is named, its detail naming c's origin as the host counted, on both" \
  "$(both "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'member_hosting_contested' AND signer = 'cell.example' AND message LIKE '%hosted here by \"c.example/log\"%'")" "2/2"
check "  the claims on c's ids stay c's, on both" \
  "$(both "SELECT coalesce((battledger._key_claims('gs1:952123000001')).members::text, 'none')")" "{cell.example}/{cell.example}"
# (retroactively: c's stored rows are judged again without c's claims)
echo "#   residual: after it, c's rows named: $(q c -c "SELECT string_agg(battery_id::text || ' ' || problem || ' ' || kind, '; ' ORDER BY battery_id::text) FROM battledger.registry_conflicts() WHERE ledger_origin = 'c.example/log' AND battery_id IS NOT NULL"); c's battery $C/B5 (K1's): '$(q c -c "SELECT agree('$C/B5')")' (documented)"

echo "# $FAILS FAIL(s)"
exit "$FAILS"
