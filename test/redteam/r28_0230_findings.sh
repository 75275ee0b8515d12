#!/usr/bin/env bash
# r28 (0.23.0): red team of f9922b1, roles judged by origin and one hosting
# view (_member_hosts, _member_rows_counted).  Two members as
# m23_0230_findings.sh sets them up: c (cell.example, the honest one) and m
# (mal.example, hostile), and a third, single cluster s for the cases that
# need no replication (E1, X1, D1, the update from 0.22.0).  Each case
# prints "ok   - ..." when the property holds, "FAIL - ..." for a finding;
# "#   residual: ..." lines are printed, not counted.  Exit status: the
# number of FAILs.  PG_BIN: the build under test.  R28_PORT (default 56730;
# uses 3 ports).
#   P1  m's DBA, a non-superuser with EXECUTE on set_member_roles() and its
#       rules on, in a fresh session: SET battledger.origin =
#       'c.example/log' (the library is not loaded yet, so the setting is a
#       placeholder any role may set; it reverts, with a WARNING, when the
#       library loads), then set_member_roles('cell.example', ...):
#       _governance_rules() reads the placeholder as "here" and lets the row
#       through.  Wanted: BL044.  Then: c's roles stay, on both.
#   P2  the same for add_id_namespace() (_ns_hosted(member, placeholder)):
#       wanted BL044; the registration counts for nothing (namespace_not_hosted).
#   K   the key cache: a session of c that signed a row (its cache filled)
#       is refused its next row (BL015) once c's DBA changes c's roles in
#       another session, and passes again once they are put back.
#   E   m's superuser writes a member_event row of the empty origin adding
#       cell.example (SET battledger.origin = '', rules off) and widens its
#       publication so that the row is published: c refuses it
#       (wrong_origin), stores no empty-origin row, c's roles stay.  Last
#       for the pair: it stops c's subscription to m.
#   E1  (kept) a member added under the empty origin (before
#       battledger.origin was set): its later roles and key rows count.
#   N1  the same member registers a namespace: it is hosted here for
#       namespaces too (until f9922b1 _ns_hosted() and its copies in
#       _key_owners() and _key_claims() did not share _member_hosts' empty
#       origin rule: BL044 "not hosted here" at the writer, and a
#       registration stored so counted for nothing).
#   X1  a member two origins added: until 0.23.0's host_pin the keys each
#       added counted, and the roles of either; now those of the origin
#       this database saw adding it first.
#   D1  (kept) pg_dump / pg_restore of a member's database: members, roles
#       and keys read the same after the restore (key_event's rows come
#       back before member_event's).
#   U   a database updated from 0.22.0 with roles rows written past the
#       rules (another origin's member, a name added nowhere): the query in
#       docs/dba-guide.md ("Upgrading from 0.22.0") run before the update
#       lists exactly the rows that stop counting with it, and the other
#       origin's member then has the roles its origin set.
#   R   m's superuser adds cell.example again at its own origin with
#       other roles (one 'added' row past the trigger, docs/security.md's
#       residual (2), r25 X1): on f9922b1 the roles it gave counted on every
#       member and c's next row was BL015; with host_pin they change nothing.
# P0 is the control: with the library loaded first (any C function), the
# same DBA gets BL044.  K on 0.22.0 follows P1 (c's roles already stripped).
# Results, PostgreSQL 15, 2026-12-07 ~02:35 UTC: f9922b1 3 FAILs (P1, P2:
# the writer's BL044 passed by a non-superuser, the rows counting for
# nothing; N1: BL044 "not hosted here"); 5516ce4 (0.22.0's readers) 8
# FAILs (P1, P2, N1; after P1 c's roles 'recycler' on both and c's next
# row BL015, K BL015 twice; U: the doc's rows still count, far.example
# 'recycler'); branch r28 (_origin() in the rules, _member_hosts in the
# namespaces' hosting) 0 FAILs; R was printed as a residual on all three.
# With host_pin (lead, 054e01e and after): R and X1 checked as above.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
P=${R28_PORT:-56730}
bl_scratch
W=$BL_WORK/roles; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([c]=$P [m]=$((P + 1)) [s]=$((P + 2)))
declare -A ORIGIN=([c]=c.example/log [m]=m.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
# the SQLSTATE of a statement, or "" if it passed
state() { local x=$1; shift; psql -X -q -At -h "$BL_WORK" -p "${PORT[$x]}" -d bl -v VERBOSITY=sqlstate "$@" 2>&1 >/dev/null | sed -n 's/^ERROR: *//p' | head -1; }
both() { local x; for x in c m; do q "$x" -c "$1"; done | paste -sd/; }
pub() { echo "battledger_test.public_key(battledger_test.seed('$1'))"; }
roles_of() { echo "SELECT coalesce((SELECT array_to_string(roles, ',') FROM battledger.members WHERE member = '$1'), 'none')"; }
rows() { bl_wait_for "$1" "SELECT count(*) = $2 FROM battledger.member_event" 100 >/dev/null; }

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
CROLES=cell_maker,pack_maker

# ---------------------------------------------------------------- P1, P2
q m >/dev/null <<'SQL'
CREATE ROLE mdba LOGIN;
GRANT USAGE ON SCHEMA battledger TO mdba;
GRANT EXECUTE ON FUNCTION battledger.set_member_roles(text, text[]), battledger.add_id_namespace(text, text) TO mdba;
SQL
check "P0 m's DBA (no superuser), its library loaded: set_member_roles for c refused (BL044)" \
  "$(state m -U mdba -c "SELECT battledger.key_id('\\x$(printf '%064d' 0)'::bytea) IS NOT NULL" -c "SELECT battledger.set_member_roles('cell.example', ARRAY['recycler'])")" BL044
check "P1 m's DBA, a fresh session, SET battledger.origin = c's first: set_member_roles for c refused (BL044)" \
  "$(state m -U mdba -c "SET battledger.origin = 'c.example/log'" -c "SELECT battledger.set_member_roles('cell.example', ARRAY['recycler'])")" BL044
n=$(q m -c "SELECT count(*) FROM battledger.member_event"); rows c "$n"
check "  c's roles stay, on both" "$(both "$(roles_of cell.example)")" "$CROLES/$CROLES"
check "  c still writes" "$(state c -c "$(made cell-1 "$C/B2")")" ""
check "P2 m's DBA, a fresh session, SET battledger.origin = c's first: add_id_namespace for c refused (BL044)" \
  "$(state m -U mdba -c "SET battledger.origin = 'c.example/log'" -c "SELECT battledger.add_id_namespace('cell.example', 'gs1:0952199')")" BL044
bl_wait_for c "SELECT count(*) = $(q m -c "SELECT count(*) FROM battledger.id_namespace") FROM battledger.id_namespace" 100 >/dev/null
check "  a registration so written counts for nothing (namespace_not_hosted, or none written), on both" \
  "$(both "SELECT count(*) FROM battledger.id_namespace n WHERE n.namespace = 'gs1:0952199'
             AND NOT EXISTS (SELECT FROM battledger.registry_conflicts() r WHERE r.problem = 'namespace_not_hosted' AND r.ledger_origin = n.ledger_origin AND r.ledger_seq = n.ledger_seq)")" "0/0"

# ---------------------------------------------------------------- K
k=$(psql -X -q -At -h "$BL_WORK" -p "${PORT[c]}" -d bl -v VERBOSITY=sqlstate 2>&1 <<SQL | sed -n 's/^ERROR: *//p' | paste -sd, -
$(made cell-1 "$C/K1");
\! psql -X -q -At -h $BL_WORK -p ${PORT[c]} -d bl -c "SELECT battledger.set_member_roles('cell.example', ARRAY['recycler'])"
$(made cell-1 "$C/K2");
\! psql -X -q -At -h $BL_WORK -p ${PORT[c]} -d bl -c "SELECT battledger.set_member_roles('cell.example', ARRAY['cell_maker', 'pack_maker'])"
$(made cell-1 "$C/K3");
SQL
)
check "K  one session of c: its row passes, refused (BL015) once its roles change elsewhere, passes once put back" "$k" "BL015"
n=$(q c -c "SELECT count(*) FROM battledger.member_event"); rows m "$n"

# ---------------------------------------------------------------- residual
q m -c "ALTER TABLE battledger.member_event DISABLE TRIGGER battledger_rules" >/dev/null
q m -c "INSERT INTO battledger.member_event (member, event, roles) VALUES ('cell.example', 'added', ARRAY['recycler'])" >/dev/null
q m -c "ALTER TABLE battledger.member_event ENABLE TRIGGER battledger_rules" >/dev/null
n=$(q m -c "SELECT count(*) FROM battledger.member_event"); rows c "$n"
check "R  m adds cell.example again past its rules with roles 'recycler': c's roles stay, on both (host_pin)" \
  "$(both "$(roles_of cell.example)")" "$CROLES/$CROLES"
check "  c's next row passes" "$(state c -c "$(made cell-1 "$C/B3")")" ""

# ---------------------------------------------------------------- E
q m >/dev/null <<'SQL'
ALTER PUBLICATION battledger_member DROP TABLE battledger.member_event;
ALTER PUBLICATION battledger_member ADD TABLE battledger.member_event;
ALTER TABLE battledger.member_event DISABLE TRIGGER battledger_rules;
SET battledger.origin = '';
INSERT INTO battledger.member_event (member, event, roles) VALUES ('cell.example', 'added', ARRAY['oem']);
RESET battledger.origin;
ALTER TABLE battledger.member_event ENABLE TRIGGER battledger_rules;
SQL
bl_wait_for c "SELECT count(*) > 0 FROM battledger.rejections WHERE problem = 'wrong_origin'" 100 >/dev/null
check "E  an empty-origin row m publishes is refused at c (wrong_origin), none stored there" \
  "$(q c -c "SELECT (SELECT count(*) > 0 FROM battledger.rejections WHERE problem = 'wrong_origin')::text || ',' || (SELECT count(*) FROM battledger.member_event WHERE ledger_origin = '')")" "true,0"

# ---------------------------------------------------------------- s: E1, X1, D1, U
bl_start_cluster s "${PORT[s]}" "wal_level = logical"
s() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[s]}" -d "${DB:-bl}" "$@"; }
sstate() { psql -X -q -At -h "$BL_WORK" -p "${PORT[s]}" -d "${DB:-bl}" -v VERBOSITY=sqlstate "$@" 2>&1 >/dev/null | sed -n 's/^ERROR: *//p' | head -1; }
createdb -h "$BL_WORK" -p "${PORT[s]}" bl
s >/dev/null <<SQL
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
SELECT battledger.add_member('e.example', ARRAY['cell_maker']), battledger.add_key('e.example', $(pub e-1), now() - interval '1 hour');
LOAD 'battledger';
ALTER SYSTEM SET battledger.origin = 's.example/log';
SELECT pg_reload_conf();
SQL
sleep 1
check "E1 a member added under the empty origin: roles changed after the origin is set count" \
  "$(s -c "SELECT battledger.set_member_roles('e.example', ARRAY['cell_maker', 'oem'])" >/dev/null; s -c "$(roles_of e.example)")" "cell_maker,oem"
check "   its key signs, a key added now too, no row named *_not_hosted" \
  "$(s -c "SELECT battledger.add_key('e.example', $(pub e-2), now() - interval '1 hour') IS NOT NULL" >/dev/null;
     s -c "SELECT (SELECT count(*) FROM battledger.keys WHERE member = 'e.example') || ',' || (SELECT count(*) FROM battledger.registry_conflicts() WHERE problem LIKE '%not_hosted')")" "2,0"

check "N1 it registers a namespace (hosted here, as for its keys and roles), counted, named nowhere" \
  "$(sstate -c "SELECT battledger.add_id_namespace('e.example', 'gs1:0952188')")/$(s -c "SELECT array_to_string((battledger._key_claims('gs1:0952188000016')).members, ',') || ',' || (SELECT count(*) FROM battledger.registry_conflicts() WHERE problem LIKE 'namespace%')")" "/e.example,0"

s >/dev/null <<SQL
SELECT battledger.add_member('x.example', ARRAY['cell_maker']), battledger.add_key('x.example', $(pub x-1), now() - interval '1 hour');
ALTER TABLE battledger.member_event DISABLE TRIGGER battledger_rules;
ALTER TABLE battledger.key_event DISABLE TRIGGER battledger_rules;
SET battledger.origin = 'f.example/log';
INSERT INTO battledger.member_event (member, event, roles) VALUES ('x.example', 'added', ARRAY['cell_maker', 'oem']);
SELECT battledger.add_key('x.example', $(pub x-2), now() - interval '1 hour');
RESET battledger.origin;
ALTER TABLE battledger.member_event ENABLE TRIGGER battledger_rules;
ALTER TABLE battledger.key_event ENABLE TRIGGER battledger_rules;
SQL
check "X1 a member two origins added: the first origin this database saw hosts it (host_pin): its key and roles" \
  "$(s -c "SELECT (SELECT count(*) FROM battledger.keys WHERE member = 'x.example') || ';' || ($(roles_of x.example))")" "1;cell_maker"

DB=dr
createdb -h "$BL_WORK" -p "${PORT[s]}" dr
s >/dev/null <<SQL
CREATE EXTENSION battledger;
CREATE EXTENSION battledger_test_signer;
SELECT battledger.add_member('d.example', ARRAY['cell_maker']), battledger.add_key('d.example', $(pub d-1), now() - interval '1 hour');
SELECT battledger.set_member_roles('d.example', ARRAY['cell_maker', 'recycler']);
SELECT battledger.add_member('d2.example', ARRAY['oem']);
SQL
reg="SELECT (SELECT string_agg(member || ':' || array_to_string(roles, ','), ' ' ORDER BY member) FROM battledger.members) || ' / ' ||
            (SELECT string_agg(member || ':' || key_id::text, ' ' ORDER BY member) FROM battledger.keys)"
before=$(s -c "$reg")
pg_dump -h "$BL_WORK" -p "${PORT[s]}" -Fc -d dr -f "$BL_WORK/dr.dump"
createdb -h "$BL_WORK" -p "${PORT[s]}" dr2
pg_restore -h "$BL_WORK" -p "${PORT[s]}" -d dr2 "$BL_WORK/dr.dump" 2>"$BL_WORK/restore.err"
check "D1 pg_restore: members, roles and keys read the same" "$(DB=dr2 s -c "$reg")" "$before"

DB=up
createdb -h "$BL_WORK" -p "${PORT[s]}" up
s >/dev/null <<SQL
CREATE EXTENSION battledger VERSION '0.22.0';
SELECT battledger.add_member('own.example', ARRAY['cell_maker']);
SET battledger.origin = 'f.example/log';
SELECT battledger.add_member('far.example', ARRAY['oem']);
SELECT battledger.set_member_roles('far.example', ARRAY['oem', 'pack_maker']);
RESET battledger.origin;
ALTER TABLE battledger.member_event DISABLE TRIGGER battledger_rules;
SELECT battledger.set_member_roles('far.example', ARRAY['recycler']);
ALTER TABLE battledger.member_event ENABLE TRIGGER battledger_rules;
INSERT INTO battledger.member_event (member, event, roles) VALUES ('nobody.example', 'roles_changed', ARRAY['recycler']);
SELECT battledger.set_member_roles('own.example', ARRAY['cell_maker', 'oem']);
SQL
# the query of docs/dba-guide.md, "Upgrading from 0.22.0"
doc=$(s -c "SELECT m.member, m.roles, m.ledger_origin FROM battledger.member_event m
   WHERE m.event = 'roles_changed'
     AND NOT EXISTS (SELECT FROM battledger.member_event e
                      WHERE e.member = m.member AND e.event = 'added'
                        AND (e.ledger_origin = m.ledger_origin
                             OR (e.ledger_origin = ''
                                 AND m.ledger_origin = coalesce(current_setting('battledger.origin', true), ''))))
   ORDER BY 1, 3")
s -c "ALTER EXTENSION battledger UPDATE" >/dev/null
gone=$(s -c "SELECT member, roles, ledger_origin FROM battledger.member_event WHERE event = 'roles_changed'
              EXCEPT SELECT member, roles, ledger_origin FROM battledger._member_rows_counted ORDER BY 1, 3" 2>&1)
check "U  the doc's query lists exactly the rows that stop counting with the update" "$(echo "$doc" | paste -sd' ')" "$(echo "$gone" | paste -sd' ')"
check "   (and lists two: far.example's by s, nobody.example's)" "$(echo "$doc" | wc -l)" 2
check "   far.example then has the roles its origin set" "$(s -c "$(roles_of far.example)")" "oem,pack_maker"

echo "# $FAILS FAIL(s)"
exit "$FAILS"
