#!/usr/bin/env bash
# m23 (0.23.0): roles changed past the hosting rule must change nothing.
# Two members as k26_0220_findings.sh sets them up: c (cell.example, the
# honest one) and m (mal.example, whose superuser turns its rules off).
# _governance_rules() refuses (BL044), on the writer only, a roles_changed
# row for a member another origin added; 0.22.0 made key rows written past
# it count for nothing, but a roles row m's superuser wrote past it still
# counted on every member (named roles_not_hosted only: docs/security.md's
# residual).  Each case prints "ok   - ..." when the property holds,
# "FAIL - ..." for a finding; exit status: the number of FAILs.  PG_BIN:
# the build under test.  M23_PORT (default 56720; uses 2 ports).
#   R1  m's superuser strips c's roles past its rules (roles_changed for
#       cell.example, dated now): c's roles stay, on both members; c still
#       writes (its chain trigger reads the members view); the row is still
#       named roles_not_hosted, on both.
#   R2  the same, backdated to just before c's first row: the roles c's
#       rows are judged by (_signer_at() at their time) stay.
#   R3  m's superuser gives its own member a role (legitimate: it hosts it):
#       counts, on both (the view does not count too little).
#   R4  a roles row for a member added nowhere yet (the trigger lets it
#       pass: r25 D1): once c adds that member, the row does not count.
#   H1  m's superuser adds c's member again at m past its rules (backdated a
#       year), then a key for it: until 0.22.0 a member two origins added
#       counted the key rows of either (r25 X1), so the key signed as c on
#       every member; now each database counts the origin it first saw
#       adding the member (host_pin): the key signs for nobody, the
#       contest is named with c as the host.
#   H2  pin_member_host(): not a plain role's; refuses an origin that did
#       not add the member; a superuser's pin changes only its database.
# Results, PostgreSQL 15, 2026-12-07 ~02:40 UTC: 0.22.0 (36112d8) 4 FAILs
# (R1: c's roles 'recycler' on both, c's next row BL015; R2: its rows
# judged by 'recycler'; R4: the squatted name's roles 'recycler', and c's
# add_member() refused it, "already exists"); with _member_rows_counted and
# add_member() looking for a row adding the member, 0 FAILs.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
P=${M23_PORT:-56720}
bl_scratch
W=$BL_WORK/roles; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([c]=$P [m]=$((P + 1)))
declare -A ORIGIN=([c]=c.example/log [m]=m.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
# the SQLSTATE of a statement, or "" if it passed
state() { local x=$1; shift; psql -X -q -At -h "$BL_WORK" -p "${PORT[$x]}" -d bl -v VERBOSITY=sqlstate "$@" 2>&1 >/dev/null | sed -n 's/^ERROR: *//p' | head -1; }
both() { local x; for x in c m; do q "$x" -c "$1"; done | paste -sd/; }
pub() { echo "battledger_test.public_key(battledger_test.seed('$1'))"; }
kid() { echo "battledger.key_id($(pub "$1"))"; }
# as m's superuser, past the governance rules trigger
bypass() { q m -c "ALTER TABLE battledger.member_event DISABLE TRIGGER battledger_rules" >/dev/null
           q m -c "$1" >/dev/null
           q m -c "ALTER TABLE battledger.member_event ENABLE TRIGGER battledger_rules" >/dev/null; }
rows() { bl_wait_for c "SELECT count(*) = $1 FROM battledger.member_event" 100 >/dev/null; }

for x in c m; do
  bl_member_start "$x" "$W" witness "$BL_QUICK_RETRY"
  q "$x" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
\getenv signed_writers BL_SIGNED_WRITERS
\i :signed_writers
SELECT battledger.publish_member();
SQL
done
q c -c "SELECT battledger.add_member('cell.example', ARRAY['cell_maker', 'pack_maker']),
              battledger.add_key('cell.example', $(pub cell-1), now() - interval '1 hour')" >/dev/null
q m -c "SELECT battledger.add_member('mal.example', ARRAY['pack_maker', 'oem']),
              battledger.add_key('mal.example', $(pub mal-1), now() - interval '1 hour')" >/dev/null
for x in c m; do bl_member_keys "$x" witness; done
bl_join c m; bl_join m c
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.members" >/dev/null; done
C=gs1:01/09521230000017/21
q c -c "SELECT model('cell-1', '{\"model_id\": \"CELL-M\", \"manufacturer\": \"cell.example\", \"category\": \"ev\", \"chemistry\": \"LFP\", \"rated_capacity_ah\": 280}'::jsonb)" >/dev/null
made() { echo "SELECT ev('$1', jsonb_build_object('battery_id', '$2', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M'))"; }
q c -c "$(made cell-1 "$C/B1")" >/dev/null
bl_wait_for m "SELECT count(*) = 1 FROM battledger.battery_event" 100 >/dev/null

# ---------------------------------------------------------------- R1
check "R1 m's DBA, with its rules on, cannot change c's roles (BL044)" \
  "$(state m -c "SELECT battledger.set_member_roles('cell.example', ARRAY['recycler'])")" BL044
bypass "INSERT INTO battledger.member_event (member, event, roles) VALUES ('cell.example', 'roles_changed', ARRAY['recycler'])"
rows 3
check "  past them, c's roles stay, on both" \
  "$(both "SELECT array_to_string(roles, ',') FROM battledger.members WHERE member = 'cell.example'")" "cell_maker,pack_maker/cell_maker,pack_maker"
check "  c still writes (its key's roles unchanged)" "$(state c -c "$(made cell-1 "$C/B2")")" ""
check "  the row is named roles_not_hosted, m's equivocation, on both" \
  "$(both "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'roles_not_hosted' AND ledger_origin = 'm.example/log' AND kind = 'equivocation'")" "1/1"

# ---------------------------------------------------------------- R2
# (dated just before c's first row, after the row adding c)
bypass "INSERT INTO battledger.member_event (member, event, roles, at)
        SELECT 'cell.example', 'roles_changed', ARRAY['recycler'], min(ledger_at) - interval '1 millisecond' FROM battledger.battery_event"
rows 4
bl_wait_for m "SELECT count(*) = 2 FROM battledger.battery_event" 100 >/dev/null
check "R2 backdated past the rules: the roles c's rows were judged by stay, on both" \
  "$(both "SELECT string_agg(array_to_string((battledger._signer_at(e.ledger_key_id, e.ledger_at)).roles, ','), ';' ORDER BY e.ledger_seq) FROM battledger.battery_event e")" \
  "cell_maker,pack_maker;cell_maker,pack_maker/cell_maker,pack_maker;cell_maker,pack_maker"

# ---------------------------------------------------------------- R3
q m -c "SELECT battledger.set_member_roles('mal.example', ARRAY['pack_maker', 'oem', 'recycler'])" >/dev/null
rows 5
check "R3 m changes its own member's roles: they count, on both" \
  "$(both "SELECT array_to_string(roles, ',') FROM battledger.members WHERE member = 'mal.example'")" "pack_maker,oem,recycler/pack_maker,oem,recycler"

# ---------------------------------------------------------------- R4
# (the trigger lets a roles row for a member added nowhere pass: r25 D1)
q m -c "INSERT INTO battledger.member_event (member, event, roles) VALUES ('new.example', 'roles_changed', ARRAY['recycler'])" >/dev/null
rows 6
q c -c "SELECT battledger.add_member('new.example', ARRAY['cell_maker'])" >/dev/null
bl_wait_for m "SELECT count(*) = 7 FROM battledger.member_event" 100 >/dev/null
check "R4 roles m wrote for a member before c added it do not count, on both" \
  "$(both "SELECT array_to_string(roles, ',') FROM battledger.members WHERE member = 'new.example'")" "cell_maker/cell_maker"

# ---------------------------------------------------------------- H1, H2
# (r25 X1's rule until 0.22.0: a member two origins added counted the key
# rows of either)
q m -c "ALTER TABLE battledger.member_event DISABLE TRIGGER battledger_rules" >/dev/null
q m -c "INSERT INTO battledger.member_event (member, event, roles, at) VALUES ('cell.example', 'added', ARRAY['cell_maker'], now() - interval '1 year')" >/dev/null
q m -c "ALTER TABLE battledger.member_event ENABLE TRIGGER battledger_rules" >/dev/null
check "H1 m's DBA cannot add a key for c after its superuser added c again at m (BL044)" \
  "$(state m -c "SELECT battledger.add_key('cell.example', $(pub mal-as-cell), now() - interval '1 hour')")" BL044
q m -c "ALTER TABLE battledger.key_event DISABLE TRIGGER battledger_rules" >/dev/null
q m -c "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
        VALUES ($(kid mal-as-cell), 'cell.example', 'added', $(pub mal-as-cell), now() - interval '1 hour')" >/dev/null
q m -c "ALTER TABLE battledger.key_event ENABLE TRIGGER battledger_rules" >/dev/null
bl_wait_for c "SELECT count(*) = 1 FROM battledger.key_event WHERE key_id OPERATOR(battledger.=) $(kid mal-as-cell)" 100 >/dev/null
check "  past its rules, a key m adds for c (re-added at m, backdated) signs for nobody, on both" \
  "$(both "SELECT coalesce((battledger._signer_at($(kid mal-as-cell), now())).member, 'nobody')")" "nobody/nobody"
check "  m's application signing as c with it is refused at m (BL011)" \
  "$(state m -c "$(made mal-as-cell "$C/M1")")" BL011
check "  c's own key still signs as c" "$(state c -c "$(made cell-1 "$C/B3")")" ""
check "  the contest is named, with the host each counts (c's first add), on both" \
  "$(both "SELECT count(*) FILTER (WHERE message LIKE '%hosted here by \"c.example/log\" (first seen)' OR message LIKE '%hosted here by \"c.example/log\" (copied)') || '/' || count(*) FROM battledger.registry_conflicts() WHERE problem = 'member_hosting_contested' AND signer = 'cell.example'")" "2/2/2/2"
check "H2 a plain role cannot pin a host (42501)" \
  "$(state m -c "CREATE ROLE plain_m; SET ROLE plain_m; SELECT battledger.pin_member_host('cell.example', 'm.example/log')")" 42501
check "  nor read past its rules: pinning to an origin that did not add the member is refused (42704)" \
  "$(state c -c "SELECT battledger.pin_member_host('cell.example', 'nowhere.example/log')")" 42704
q m -c "SELECT battledger.pin_member_host('cell.example', 'm.example/log')" >/dev/null
check "  m's superuser pinning c to its own add fools m alone: the key signs as c at m, for nobody at c" \
  "$(both "SELECT coalesce((battledger._signer_at($(kid mal-as-cell), now())).member, 'nobody')")" "nobody/cell.example"

echo "# $FAILS FAIL(s)"
exit "$FAILS"
