#!/usr/bin/env bash
# j24 (0.24.0): a member that joins after a hosting contest must not host
# the contested member by the order its table copies ran in.
# Members as m23_0230_findings.sh sets them up: c (c.example, honest, adds
# cell.example) and m (m.example, whose superuser adds cell.example again
# past its rules, backdated, with a key of its own for it, and pins it at
# m); then j and k join both.  0.23.0 pinned a member to the origin of the
# first row adding it that a database saw (host_pin), which at a joiner is
# the first table copy to run: join m first and m's key signed as
# cell.example there.  Each case prints "ok   - ..." when the property
# holds, "FAIL - ..." for a finding; exit status: the number of FAILs.
# PG_BIN: the build under test.  J24_PORT (default 56740; uses 5 ports).
#   J1  j joins m, then (m's rows copied) c: cell.example is hosted by
#       nobody at j ("unsettled"), so neither origin's key signs for it
#       there, and registry_conflicts() says why and how to settle it.
#   J2  k joins c, then m: the same (the order of the copies does not
#       matter).
#   J3  j's superuser pins c: c's key signs for cell.example at j, m's
#       for nobody, and c's rows, refused while unsettled, arrive.
#   J4  a row adding a member that arrives as it is written never moves a
#       pin: c's new member, then m adding it again past its rules (both
#       streamed to j): hosted by c at j; the members c and m pinned
#       before stay as they were.
#   J5  (0.25.0, red team rt25 J5) a copied adding row of another origin
#       unsettles a pin streamed in from a third origin too: n, a newcomer
#       whose superuser added late.example and cell.example again before
#       anyone joined it; j joins n: late.example (c's, streamed to j) is
#       unsettled at j, named, and pin_member_host() settles it; the host
#       j pinned by hand (cell.example, J3) stays.
#   J6  c joins n too: a pin of the database's own origin never moves
#       (late.example, cell.example stay c's at c).
# Results, PostgreSQL 15, 2026-12-07 ~06:30 UTC: 0.23.0 (fbd8845) FAILs in
# J1 (j: "first_seen" m, m's key signs as cell.example) and J2 (k:
# "first_seen" c); with copied pins, 0 FAILs.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
P=${J24_PORT:-56740}
bl_scratch
W=$BL_WORK/join; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([c]=$P [m]=$((P + 1)) [j]=$((P + 2)) [k]=$((P + 3)))
declare -A ORIGIN=([c]=c.example/log [m]=m.example/log [j]=j.example/log [k]=k.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
pub() { echo "battledger_test.public_key(battledger_test.seed('$1'))"; }
kid() { echo "battledger.key_id($(pub "$1"))"; }
# as m's superuser, past the governance rules trigger of TABLE
bypass() { q m -c "ALTER TABLE battledger.$1 DISABLE TRIGGER battledger_rules" >/dev/null
           q m -c "$2" >/dev/null
           q m -c "ALTER TABLE battledger.$1 ENABLE TRIGGER battledger_rules" >/dev/null; }
signer() { q "$1" -c "SELECT coalesce((battledger._signer_at($(kid "$2"), now())).member, 'nobody')"; }
pin() { q "$1" -c "SELECT coalesce(origin, '-') || ' ' || how FROM battledger.host_pin WHERE member = '$2'"; }

for x in c m j k; do
  bl_member_start "$x" "$W" witness "$BL_QUICK_RETRY"
  q "$x" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT battledger.publish_member();
SQL
  bl_member_keys "$x" witness
done
q c -c "SELECT battledger.add_member('cell.example', ARRAY['cell_maker', 'pack_maker']),
              battledger.add_key('cell.example', $(pub cell-1), now() - interval '1 hour')" >/dev/null
q m -c "SELECT battledger.add_member('mal.example', ARRAY['pack_maker', 'oem']),
              battledger.add_key('mal.example', $(pub mal-1), now() - interval '1 hour')" >/dev/null
bl_join c m; bl_join m c
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.members" >/dev/null; done
C=gs1:01/09521230000017/21
q c -c "SELECT model('cell-1', '{\"model_id\": \"CELL-M\", \"manufacturer\": \"cell.example\", \"category\": \"ev\", \"chemistry\": \"LFP\", \"rated_capacity_ah\": 280}'::jsonb)" >/dev/null
made() { echo "SELECT ev('$1', jsonb_build_object('battery_id', '$2', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M'))"; }
q c -c "$(made cell-1 "$C/B1")" >/dev/null
bl_wait_for m "SELECT count(*) = 1 FROM battledger.battery_event" 100 >/dev/null
# the contest: cell.example added again at m (backdated a year), a key of
# m's for it, and m's pin on its own add
bypass member_event "INSERT INTO battledger.member_event (member, event, roles, at) VALUES ('cell.example', 'added', ARRAY['cell_maker'], now() - interval '1 year')"
bypass key_event "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
                  VALUES ($(kid mal-as-cell), 'cell.example', 'added', $(pub mal-as-cell), now() - interval '1 hour')"
q m -c "SELECT battledger.pin_member_host('cell.example', 'm.example/log')" >/dev/null
bl_wait_for c "SELECT count(*) = 2 FROM battledger.key_event WHERE member = 'cell.example'" 100 >/dev/null
check "setup: m's key signs as cell.example at m (its superuser's pin), for nobody at c" \
  "$(signer m mal-as-cell)/$(signer c mal-as-cell)" "cell.example/nobody"

# ---------------------------------------------------------------- J1, J2
joined() { bl_wait_for "$1" "SELECT count(*) = $2 FROM battledger.member_event WHERE member = 'cell.example' AND event = 'added'" 150 >/dev/null; }
bl_join j m; joined j 1
bl_join j c; joined j 2
bl_join k c; joined k 1
bl_join k m; joined k 2
for x in j k; do
  first=$([ $x = j ] && echo m || echo c)
  check "J$([ $x = j ] && echo 1 || echo 2) $x joins $first first: cell.example is hosted by nobody at $x" "$(pin $x cell.example)" "- unsettled"
  check "  m's key signs for nobody at $x" "$(signer $x mal-as-cell)" nobody
  check "  nor c's, until settled" "$(signer $x cell-1)" nobody
  check "  registry_conflicts() at $x says it is unsettled, and how to settle it" \
    "$(q $x -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'member_hosting_contested' AND signer = 'cell.example' AND message LIKE '%hosted here by no origin (unsettled%pin_member_host()%'")" 2
done
check "  a member only one origin added is pinned where its copy came from" "$(pin j mal.example)" "m.example/log copied"

# ---------------------------------------------------------------- J3
q j -c "SELECT battledger.pin_member_host('cell.example', 'c.example/log')" >/dev/null
check "J3 j's superuser pins c: c's key signs as cell.example at j, m's for nobody" \
  "$(signer j cell-1)/$(signer j mal-as-cell)" "cell.example/nobody"
check "  c's rows arrive at j" \
  "$(bl_wait_for j "SELECT count(*) = 1 FROM battledger.battery_event" 150 >/dev/null && echo yes)" yes
check "  j's verify() of the battery events is clean" \
  "$(q j -c "SELECT count(*) FROM battledger.verify('battledger.battery_event')")" 0

# ---------------------------------------------------------------- J4
q c -c "SELECT battledger.add_member('late.example', ARRAY['recycler'])" >/dev/null
bl_wait_for j "SELECT count(*) = 1 FROM battledger.member_event WHERE member = 'late.example'" 150 >/dev/null
bypass member_event "INSERT INTO battledger.member_event (member, event, roles, at) VALUES ('late.example', 'added', ARRAY['recycler'], now() - interval '1 year')"
bl_wait_for j "SELECT count(*) = 2 FROM battledger.member_event WHERE member = 'late.example'" 150 >/dev/null
check "J4 streamed adds: late.example stays hosted by c at j" "$(pin j late.example)" "c.example/log first_seen"
check "  the members' own pins stay as they were" \
  "$(pin c cell.example)/$(pin m cell.example)/$(pin c late.example)" \
  "c.example/log first_seen/m.example/log pinned/c.example/log first_seen"

# ---------------------------------------------------------------- J5, J6
# (0.25.0, red team rt25 J5: a pin streamed in from another origin is as
# much a contest seen in no trustworthy order as two copies.)  A newcomer n
# whose superuser added late.example (c's, streamed to j long ago) and
# cell.example again at n past its rules, before anyone joined it.
PORT[n]=$((P + 4)); ORIGIN[n]=n.example/log
bl_member_start n "$W" witness "$BL_QUICK_RETRY"
q n >/dev/null <<'SQL'
CREATE EXTENSION battledger;
SELECT battledger.publish_member();
ALTER TABLE battledger.member_event DISABLE TRIGGER battledger_rules;
INSERT INTO battledger.member_event (member, event, roles, at) VALUES ('late.example', 'added', ARRAY['recycler'], now() - interval '2 years'),
                                                                     ('cell.example', 'added', ARRAY['cell_maker'], now() - interval '2 years');
ALTER TABLE battledger.member_event ENABLE TRIGGER battledger_rules;
SQL
bl_member_keys n witness
bl_join j n; bl_join c n
for x in j c; do bl_wait_for $x "SELECT count(*) = 3 FROM battledger.member_event WHERE member = 'late.example'" 150 >/dev/null; done
check "J5 (the rule whichever origin is honest) n's copied adding row unsettles late.example at j, streamed in from c" \
  "$(pin j late.example)" "- unsettled"
check "  named at j, with the way out" \
  "$(q j -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'member_hosting_contested' AND signer = 'late.example' AND message LIKE '%hosted here by no origin (unsettled%pin_member_host()%'")" 3
check "  a host pinned by hand is not moved by a copy: cell.example at j" "$(pin j cell.example)" "c.example/log pinned"
q j -c "SELECT battledger.pin_member_host('late.example', 'c.example/log')" >/dev/null
check "  pin_member_host() at j settles it" "$(pin j late.example)/$(q j -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE signer = 'late.example' AND message LIKE '%unsettled%'")" \
  "c.example/log pinned/0"
check "J6 a copy never moves a pin of the database's own origin: at c, late.example and cell.example stay c's" \
  "$(pin c late.example)/$(pin c cell.example)" "c.example/log first_seen/c.example/log first_seen"
check "  and c's key signs as cell.example at c" "$(signer c cell-1)" cell.example

echo "# $FAILS FAIL(s)"
exit "$FAILS"
