#!/usr/bin/env bash
# r25 (0.21.0, on main 2e392b8): red team on the lead's key-hosting rule
# (_governance_rules(), e540e5c: a key added or revoked, or roles changed,
# only where the member was added; a member added once), in a consortium of
# two members as r24_0210_findings.sh sets it up: c (cell.example, honest)
# and m (mal.example, malicious: its DBA writes direct INSERTs but leaves
# the triggers on — disabling them is the documented residual).  Each case
# prints "ok   - ..." when the property holds, "FAIL - ..." for a finding;
# exit status: the number of FAILs.  PG_BIN: the build under test.
# R25_PORT (default 56600; uses 3 ports).
# Results, PostgreSQL 15, 2026-12-06 ~20:50 UTC: main 2e392b8 16 FAILs (V1's
# five, V2's three, X1's revoke, naming and revocation, E1's four, D1);
# branch r25 1 FAIL (D1, not fixed: see the report).
#   V1  revoking another member's key under one's own member: a key_event
#       'revoked' row names its key by key_id, and the keys view, the C key
#       cache and _signer_at() read its revocation by key_id alone, not by
#       the member the row names.  m's DBA inserts ('revoked', c's key id,
#       member 'mal.example'): the trigger judges mal.example's hosting
#       (m's), so it passes, and c's key is revoked on every member, named
#       nowhere.  Must be BL044 (and, past the rules, named).
#   V2  adding another member's key under one's own member: an 'added' row
#       for c's public key naming mal.example (add_key() refuses a key
#       registered twice; the trigger does not): _signer_at() and the key
#       cache take whichever row an index scan meets first.  Must be BL044;
#       one written past the rules (or by two origins racing) must be named
#       (key_registered_twice, at each of its rows, a conflict).
#   C1  controls: COPY, INSERT ... ON CONFLICT, a CTE adding c again and
#       keying it, a multi-row INSERT adding a member twice: each refused.
#   O1  (printed, a residual) m's superuser sets battledger.origin to c's in
#       its session (PGC_SUSET: a bypass like DISABLE TRIGGER) and adds a key
#       for c: it passes, stored at m under c's origin only (never published),
#       and m's own replication of c stops on the fork.
#   X1  two origins adding one member before either sees the other's row
#       (shared.example, at c and at m, each with a key): its hosting is
#       contested on both.  The origin that added a key must still be able
#       to revoke it (withdrawing its own key only takes power away; a
#       compromised key must be revocable), and the contest must be named
#       by registry_conflicts() on both members (it names a namespace's
#       contest, but a member with no namespace: nothing, while both
#       origins' keys sign as it).  Since 0.23.0 (host_pin) each member
#       counts the rows of the origin it first saw adding the member, names
#       that host in the contest's detail, and pin_member_host() settles it.
#   E1  a database that added its member before battledger.origin was set
#       (or under 0.1.0, whose rows keep the empty origin) could not add,
#       revoke or re-role its keys afterwards (BL044, the hint sending its DBA
#       to "the member's own database"), and registry_conflicts() named its
#       later key rows key_not_hosted: a row of the empty origin was written
#       here (the arrival check refuses one from elsewhere).
#   D1  pg_dump / pg_restore of one member (origin set from the start):
#       key_event's data is restored before member_event's (pg_dump orders
#       table data by name), so each key row is refused BL044 and the
#       restore fails; printed: the workaround (pg_restore -L, member_event
#       first).  Fixed by the lead: a key or roles row for a member added
#       nowhere yet passes (named key_not_hosted if another origin adds
#       that member later: D1b).
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
P=${R25_PORT:-56600}
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([c]=$P [m]=$((P + 1)))
declare -A ORIGIN=([c]=c.example/log [m]=m.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
state() { local x=$1; shift; psql -X -q -At -h "$BL_WORK" -p "${PORT[$x]}" -d bl -v VERBOSITY=sqlstate "$@" 2>&1 >/dev/null | sed -n 's/^ERROR: *//p' | head -1; }
both() { local x; for x in c m; do q "$x" -c "$1"; done | paste -sd/; }
pub() { echo "battledger_test.public_key(battledger_test.seed('$1'))"; }
kid() { echo "battledger.key_id($(pub "$1"))"; }

for x in c m; do
  bl_member_start "$x" "$W" witness "$BL_QUICK_RETRY"
  q "$x" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
SELECT battledger.publish_member();
SQL
done
q c -c "SELECT battledger.add_member('cell.example', ARRAY['cell_maker', 'pack_maker']),
              battledger.add_key('cell.example', $(pub cell-1)),
              battledger.add_key('cell.example', $(pub cell-2)),
              battledger.add_key('cell.example', $(pub cell-3))" >/dev/null
q m -c "SELECT battledger.add_member('mal.example', ARRAY['pack_maker', 'oem']),
              battledger.add_key('mal.example', $(pub mal-1))" >/dev/null
# X1's race: both add shared.example (and a key for it) before they join
q c -c "SELECT battledger.add_member('shared.example', ARRAY['oem']), battledger.add_key('shared.example', $(pub sh-c))" >/dev/null
q m -c "SELECT battledger.add_member('shared.example', ARRAY['oem']), battledger.add_key('shared.example', $(pub sh-m))" >/dev/null
for x in c m; do bl_member_keys "$x" witness; done
bl_join c m; bl_join m c
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 4 FROM battledger.member_event" >/dev/null; done
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 6 FROM battledger.key_event" >/dev/null; done

# ---------------------------------------------------------------- V1. revoke by key id
check "V1 m's DBA cannot revoke c's key with a row naming its own member (BL044)" \
  "$(state m -c "INSERT INTO battledger.key_event (key_id, member, event, revoked_at)
                 VALUES ($(kid cell-2), 'mal.example', 'revoked', now())")" BL044
bl_wait_for c "SELECT true" >/dev/null
sleep 2
check "  c's key cell-2 is not revoked, on both" \
  "$(both "SELECT coalesce(revoked_at::text, 'not revoked') FROM battledger.keys WHERE key_id OPERATOR(battledger.=) $(kid cell-2)")" \
  "not revoked/not revoked"
check "  registry_conflicts() names every revocation of c's key not written by c, on both" \
  "$(both "SELECT count(*) FROM battledger.key_event k WHERE k.key_id OPERATOR(battledger.=) $(kid cell-2) AND k.ledger_origin <> 'c.example/log'
            AND NOT EXISTS (SELECT FROM battledger.registry_conflicts() r WHERE r.ledger_origin = k.ledger_origin AND r.ledger_seq = k.ledger_seq AND r.problem LIKE 'key%')")" "0/0"

# past the rules (m's superuser disables the trigger: the documented
# residual): the row must not revoke c's key for the readers either
q m -c "ALTER TABLE battledger.key_event DISABLE TRIGGER battledger_rules" >/dev/null
q m -c "INSERT INTO battledger.key_event (key_id, member, event, revoked_at)
        VALUES ($(kid cell-1), 'mal.example', 'revoked', now())" >/dev/null
q m -c "ALTER TABLE battledger.key_event ENABLE TRIGGER battledger_rules" >/dev/null
bl_wait_for c "SELECT count(*) = 1 FROM battledger.key_event WHERE event = 'revoked' AND key_id OPERATOR(battledger.=) $(kid cell-1)" >/dev/null
check "  past m's rules, such a row does not revoke c's key cell-1 (keys, the key cache), on both" \
  "$(both "SELECT coalesce(revoked_at::text, 'not revoked') FROM battledger.keys WHERE key_id OPERATOR(battledger.=) $(kid cell-1)")" \
  "not revoked/not revoked"
check "  and is named key_not_hosted, m's equivocation, on both" \
  "$(both "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'key_not_hosted' AND kind = 'equivocation' AND ledger_origin = 'm.example/log' AND signer = 'mal.example'")" "1/1"

# ---------------------------------------------------------------- V2. added by key id
check "V2 m's DBA cannot add c's public key under its own member (BL044)" \
  "$(state m -c "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
                 VALUES ($(kid cell-3), 'mal.example', 'added', $(pub cell-3), now() - interval '1 day')")" BL044
sleep 2
check "  cell-3's signer is c on both" \
  "$(both "SELECT member FROM battledger._signer_at($(kid cell-3), now())")" "cell.example/cell.example"
check "  no key row registers c's key for another member, unnamed, on both" \
  "$(both "SELECT count(*) FROM battledger.key_event k WHERE k.key_id OPERATOR(battledger.=) $(kid cell-3) AND k.member <> 'cell.example'
            AND NOT EXISTS (SELECT FROM battledger.registry_conflicts() r WHERE r.ledger_origin = k.ledger_origin AND r.ledger_seq = k.ledger_seq)")" "0/0"

# past the rules (or two origins adding one key before either sees the
# other's row): named, on both, at each of its rows
q m -c "ALTER TABLE battledger.key_event DISABLE TRIGGER battledger_rules" >/dev/null
q m -c "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
        VALUES ($(kid cell-3), 'mal.example', 'added', $(pub cell-3), now() - interval '1 day')" >/dev/null
q m -c "ALTER TABLE battledger.key_event ENABLE TRIGGER battledger_rules" >/dev/null
bl_wait_for c "SELECT count(*) = 2 FROM battledger.key_event WHERE event = 'added' AND key_id OPERATOR(battledger.=) $(kid cell-3)" >/dev/null
check "  past m's rules, c's key added again for m is named key_registered_twice at both rows, on both" \
  "$(both "SELECT string_agg(signer, ',' ORDER BY signer) FROM battledger.registry_conflicts() WHERE problem = 'key_registered_twice'")" \
  "cell.example,mal.example/cell.example,mal.example"

# ---------------------------------------------------------------- C1. controls
MALC=$(pub mal-as-cell)
check "C1 COPY of a key for c at m is refused (BL044)" \
  "$(printf '%s\tcell.example\tadded\t\\\\x%s\t2026-01-01 00:00:00+00\n' \
       "$(q m -c "SELECT $(kid mal-as-cell)::text")" "$(q m -c "SELECT encode($MALC, 'hex')")" |
     state m -c "COPY battledger.key_event (key_id, member, event, public_key, valid_from) FROM STDIN")" BL044
check "  INSERT ... ON CONFLICT DO NOTHING too" \
  "$(state m -c "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
                 VALUES ($(kid mal-as-cell), 'cell.example', 'added', $MALC, now()) ON CONFLICT DO NOTHING")" BL044
check "  a CTE adding c again and keying it in one statement too" \
  "$(state m -c "WITH a AS (INSERT INTO battledger.member_event (member, event, roles) VALUES ('cell.example', 'added', ARRAY['oem']) RETURNING member)
                 INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
                 SELECT $(kid mal-as-cell), member, 'added', $MALC, now() FROM a")" BL044
check "  a multi-row INSERT adding a new member twice is refused" \
  "$(state m -c "INSERT INTO battledger.member_event (member, event, roles) VALUES ('twice.example', 'added', ARRAY['oem']), ('twice.example', 'added', ARRAY['oem'])")" BL044
# ---------------------------------------------------------------- X1. a member added at two origins
check "X1 c can revoke the key it added for shared.example (contested by m's add in flight)" \
  "$(state c -c "SELECT battledger.revoke_key($(kid sh-c))")" ""
# (since 0.23.0 each database counts the keys and roles of the origin it
# pinned, the first it saw adding the member: for c its own add, for m
# its own; members disagree until the consortium settles it)
check "  m, which pinned shared.example to its own add, may revoke there c's key (it counts for nothing at m)" \
  "$(state m -c "SELECT battledger.revoke_key($(kid sh-c))")" ""
check "  and add a key for it" \
  "$(state m -c "SELECT battledger.add_key('shared.example', $(pub sh-m2))")" ""
check "  registry_conflicts() names shared.example's contested hosting, on both" \
  "$(both "SELECT count(*) > 0 FROM battledger.registry_conflicts() WHERE signer = 'shared.example'")" "t/t"
for x in c m; do bl_wait_for "$x" "SELECT count(*) = 2 FROM battledger.key_event WHERE event = 'revoked' AND member = 'shared.example'" >/dev/null; done
check "  each counts the keys of the origin it pinned: c none (its own revoked), m its two" \
  "$(both "SELECT count(*) FROM battledger.keys WHERE member = 'shared.example' AND revoked_at IS NULL")" "0/2"
check "  the contest names the host each counts" \
  "$(both "SELECT string_agg(DISTINCT substring(message from 'hosted here by \"([^\"]*)\"'), ',') FROM battledger.registry_conflicts() WHERE problem = 'member_hosting_contested'")" "c.example/log/m.example/log"
q m -c "SELECT battledger.pin_member_host('shared.example', 'c.example/log')" >/dev/null
check "  settled (m pins c's add): both count c's keys alone" \
  "$(both "SELECT count(*) FROM battledger.keys WHERE member = 'shared.example' AND revoked_at IS NULL")" "0/0"
check "  and m adds no key for it any more (BL044)" \
  "$(state m -c "SELECT battledger.add_key('shared.example', $(pub sh-m3))")" BL044
check "  the contest is a conflict: verify_member() of c at m files no member_event row" \
  "$(q m -c "SELECT count(*) FROM battledger.verify_member('c.example/log') WHERE tbl = 'battledger.member_event'")" 0

# ---------------------------------------------------------------- O1. session origin (residual)
# (a superuser's SET of battledger.origin, PGC_SUSET, is a bypass like
# DISABLE TRIGGER: the row is written under c's origin, at m only)
st=$(state m -c "SET battledger.origin = 'c.example/log'; SELECT battledger.add_key('cell.example', $MALC)")
q c -c "SELECT battledger.add_key('cell.example', $(pub cell-4))" >/dev/null
sleep 3
echo "#   residual: m's superuser, SET battledger.origin = c's, add_key() for c: '${st:-passed}'; the key at c/m: $(both "SELECT count(*) FROM battledger.keys WHERE key_id OPERATOR(battledger.=) $(kid mal-as-cell)"); c's next key at c/m: $(both "SELECT count(*) FROM battledger.keys WHERE key_id OPERATOR(battledger.=) $(kid cell-4)"); m's status of c: $(q m -c "SELECT state || ': ' || left(reason, 90) FROM battledger.consortium_status() WHERE member = 'c.example/log'" 2>&1 | head -1) (m's own replication of c is what breaks)"


# ---------------------------------------------------------------- E1. origin set late
P3=$((P + 2))
bl_start_cluster solo "$P3" "" >/dev/null
sq() { local d=$1; shift; psql -X -q -At -h "$BL_WORK" -p "$P3" -d "$d" "$@"; }
sq postgres -c "CREATE EXTENSION battledger" -c "CREATE EXTENSION battledger_test_signer" \
  -c "SELECT battledger.add_member('solo.example', ARRAY['oem']), battledger.add_key('solo.example', $(pub s1))" >/dev/null
sq postgres -c "LOAD 'battledger'" -c "ALTER SYSTEM SET battledger.origin = 'solo.example/log'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
e1=$(sq postgres -v VERBOSITY=verbose -c "SELECT battledger.revoke_key($(kid s1))" 2>&1 | grep -E '^(ERROR|HINT)' | tr '\n' ' ')
echo "#   (its error: ${e1:-none})"
check "E1 a database that added its member before setting battledger.origin revokes its key" "${e1:-passed}" passed
check "  adds one" "$(sq postgres -v VERBOSITY=sqlstate -c "SELECT battledger.add_key('solo.example', $(pub s3))" 2>&1 | sed -n 's/^ERROR: *//p')" ""
check "  changes its roles" "$(sq postgres -v VERBOSITY=sqlstate -c "SELECT battledger.set_member_roles('solo.example', ARRAY['oem', 'recycler'])" 2>&1 | sed -n 's/^ERROR: *//p')" ""
# (a key row written here under the new origin before 0.21.0 had the
# trigger: stood in for by one written with it disabled)
sq postgres -c "ALTER TABLE battledger.key_event DISABLE TRIGGER battledger_rules" \
  -c "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from) VALUES ($(kid s5), 'solo.example', 'added', $(pub s5), now())" \
  -c "ALTER TABLE battledger.key_event ENABLE TRIGGER battledger_rules" >/dev/null
check "  and registry_conflicts() names none of its key or roles rows" \
  "$(sq postgres -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem IN ('key_not_hosted', 'roles_not_hosted')")" 0
check "  nor adds a key for a member another origin added (control)" \
  "$(sq postgres -c "SET battledger.origin = 'other.example/log'" -c "SELECT battledger.add_member('far.example', ARRAY['oem'])" -c "RESET battledger.origin" -v VERBOSITY=sqlstate -c "SELECT battledger.add_key('far.example', $(pub s4))" 2>&1 | sed -n 's/^ERROR: *//p')" BL044

# ---------------------------------------------------------------- D1. dump / restore
# one member alone, its origin set from the start: pg_dump / pg_restore
# (docs/dba-guide.md: ledger databases round-trip)
createdb -h "$BL_WORK" -p "$P3" one
sq one -c "CREATE EXTENSION battledger" -c "CREATE EXTENSION battledger_test_signer" \
  -c "SELECT battledger.add_member('solo.example', ARRAY['oem']), battledger.add_key('solo.example', $(pub s2))" >/dev/null
pg_dump -Fc -h "$BL_WORK" -p "$P3" -d one -f "$BL_WORK/one.dump"
createdb -h "$BL_WORK" -p "$P3" two
out=$(pg_restore -h "$BL_WORK" -p "$P3" -d two "$BL_WORK/one.dump" 2>&1 | grep -E 'ERROR' | head -2 | tr '\n' ' ')
echo "#   restore errors: ${out:-none}"
check "D1 pg_restore of a member restores its key_event rows" "$(sq two -c "SELECT count(*) FROM battledger.key_event" 2>&1)" 1
# the workaround: member_event's data restored before key_event's
createdb -h "$BL_WORK" -p "$P3" three
pg_restore -l "$BL_WORK/one.dump" | awk '/TABLE DATA battledger key_event/ { k = $0; next } { print } /TABLE DATA battledger member_event/ { print k }' >"$BL_WORK/one.list"
out=$(pg_restore -h "$BL_WORK" -p "$P3" -d three -L "$BL_WORK/one.list" "$BL_WORK/one.dump" 2>&1 | grep -E 'ERROR' | head -2 | tr '\n' ' ')
echo "#   workaround (pg_restore -L, member_event's data first): errors ${out:-none}, key_event rows $(sq three -c "SELECT count(*) FROM battledger.key_event" 2>&1)"
check "  the restored database names nothing (registry_conflicts())" "$(sq two -c "SELECT count(*) FROM battledger.registry_conflicts()" 2>&1)" 0
# the window D1's fix leaves: a key for a member added nowhere yet passes,
# and is named once another origin adds that member
sq one -c "SELECT battledger.add_key('later.example', $(pub s3))" >/dev/null 2>&1 ||
  sq one -c "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
             VALUES (battledger.key_id($(pub s3)), 'later.example', 'added', $(pub s3), now())" >/dev/null
sq one -c "SET battledger.origin = 'later.example/log'" -c "SELECT battledger.add_member('later.example', ARRAY['oem'])" >/dev/null
check "D1b a key written for a member before another origin added it is named key_not_hosted" \
  "$(sq one -c "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'key_not_hosted' AND signer = 'later.example'" 2>&1)" 1

echo "# $FAILS FAIL(s)"
exit "$FAILS"
