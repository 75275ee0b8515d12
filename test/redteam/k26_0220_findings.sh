#!/usr/bin/env bash
# k26 (0.22.0, keyorigin): keys written past the hosting rule must not sign.
# Two members as r24_0210_findings.sh sets them up: c (cell.example, the
# honest one) and m (mal.example, whose superuser turns its rules off).
# Since 0.21.0 _governance_rules() refuses (BL044) a key row for a member
# another origin added, but only on the writer: a key m's superuser wrote
# for c past that trigger replicated and signed as c on every member, named
# key_not_hosted only (docs/security.md's residual).  Each case prints
# "ok   - ..." when the property holds, "FAIL - ..." for a finding; exit
# status: the number of FAILs.  PG_BIN: the build under test.  K26_PORT
# (default 56710; uses 2 ports).
#   P1  m's superuser adds a key for c past its rules: the key is in no
#       member's keys view and _signer_at() names nobody for it;
#       registry_conflicts() still names the row key_not_hosted, on both.
#   P2  m's application signing as c with it is refused at m (BL011, the
#       detail naming the row that does not count).
#   P3  a key registered twice resolves the same way on both members: m's
#       superuser adds m's own key again for c (not counted: its signer
#       stays m) and c's public key for m's own member (two hosted rows
#       naming two members: the key signs for neither, on both).
#   P4  a key row for a member added nowhere yet (the trigger lets it pass:
#       pg_restore brings key_event before member_event, r25 D1): once
#       another origin adds that member, the row does not count.
#   P5  a revocation m's superuser writes past its rules for c's key (naming
#       c) revokes nothing, on both.
#   P6  m running readers that still count the key (its superuser puts
#       0.21.0's keys view back; or a member not yet updated): since 0.27.0
#       m's writer still refuses its row signed as c (BL019, rt27), so m's
#       superuser stores it past the writer; c's arrival check refuses it (unknown_key,
#       in c's rejections); verify() at m, with the view restored, reports
#       the stored row.  Last: it stalls c's subscription to m.
# Results, PostgreSQL 15, 2026-12-06 ~22:40 UTC: main 5c5da96 12 FAILs (P1's
# key in keys and signing as c on both; P2 passes at m; P3's key c
# registered signing as c although m's row also counts for m, so c's next
# row passes, c's new key then BL036 for the battery m's row made; P4's key
# signing as the new member; P5's revocation counting, c then BL014; P6's
# row stored at c, verify() at m clean); branch keyorigin 0 FAILs.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
P=${K26_PORT:-56710}
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
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
bypass() { q m -c "ALTER TABLE battledger.key_event DISABLE TRIGGER battledger_rules" >/dev/null
           q m -c "$1" >/dev/null
           q m -c "ALTER TABLE battledger.key_event ENABLE TRIGGER battledger_rules" >/dev/null; }
arrived() { bl_wait_for c "SELECT count(*) = $2 FROM battledger.key_event WHERE key_id OPERATOR(battledger.=) $(kid "$1")" 100 >/dev/null; }

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

# ---------------------------------------------------------------- P1, P2
bypass "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
        VALUES ($(kid mal-as-cell), 'cell.example', 'added', $(pub mal-as-cell), now() - interval '1 hour')"
arrived mal-as-cell 1
check "P1 a key m's superuser added for c past its rules is in no keys view" \
  "$(both "SELECT count(*) FROM battledger.keys WHERE key_id OPERATOR(battledger.=) $(kid mal-as-cell)")" "0/0"
check "  and _signer_at() names nobody for it, on both" \
  "$(both "SELECT coalesce((battledger._signer_at($(kid mal-as-cell), now())).member, 'nobody')")" "nobody/nobody"
check "  registry_conflicts() still names the row key_not_hosted, m's equivocation, on both" \
  "$(both "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'key_not_hosted' AND ledger_origin = 'm.example/log' AND kind = 'equivocation' AND signer = 'cell.example'")" "1/1"
check "P2 m's application signing as c with it is refused at m (BL011)" \
  "$(state m -c "$(made mal-as-cell "$C/M1")")" BL011
check "  the error's detail names the row that does not count" \
  "$(psql -X -q -At -h "$BL_WORK" -p "${PORT[m]}" -d bl -c "$(made mal-as-cell "$C/M1")" 2>&1 | grep -c 'is added for member "cell.example", by origin "m.example/log"')" 1
check "  c's own key still signs as c" "$(state c -c "$(made cell-1 "$C/B2")")" ""

# ---------------------------------------------------------------- P3
bypass "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
        VALUES ($(kid mal-1), 'cell.example', 'added', $(pub mal-1), now() - interval '2 hours')"
arrived mal-1 2
check "P3 m's key added again for c (not hosted): its signer stays m, on both" \
  "$(both "SELECT coalesce((battledger._signer_at($(kid mal-1), now())).member, 'nobody')")" "mal.example/mal.example"
bypass "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
        VALUES ($(kid cell-1), 'mal.example', 'added', $(pub cell-1), now() - interval '2 hours')"
arrived cell-1 2
check "  c's key added for m's member at m (both rows hosted): signs for neither, on both" \
  "$(both "SELECT coalesce((battledger._signer_at($(kid cell-1), now())).member, 'nobody') || ' ' || (SELECT count(*) FROM battledger.keys WHERE key_id OPERATOR(battledger.=) $(kid cell-1))")" "nobody 0/nobody 0"
check "  each row named key_registered_twice, on both" \
  "$(both "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'key_registered_twice'")" "4/4"
check "  c's row signed with that key is refused at c (BL011), not taken as m's" \
  "$(state c -c "$(made cell-1 "$C/B3")")" BL011
q c -c "SELECT battledger.add_key('cell.example', $(pub cell-2), now() - interval '1 hour')" >/dev/null
check "  c registers a new key and signs again" "$(state c -c "$(made cell-2 "$C/B3")")" ""

# ---------------------------------------------------------------- P4
# (the trigger lets a key row for a member added nowhere pass: r25 D1)
q m -c "SELECT battledger.add_key('new.example', $(pub mal-as-new), now() - interval '1 hour')" >/dev/null 2>&1 ||
  q m -c "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
          VALUES ($(kid mal-as-new), 'new.example', 'added', $(pub mal-as-new), now() - interval '1 hour')" >/dev/null
arrived mal-as-new 1
q c -c "SELECT battledger.add_member('new.example', ARRAY['cell_maker'])" >/dev/null
bl_wait_for m "SELECT count(*) = 1 FROM battledger.member_event WHERE member = 'new.example'" 100 >/dev/null
check "P4 a key m added for a member before c added it signs for nobody, on both" \
  "$(both "SELECT coalesce((battledger._signer_at($(kid mal-as-new), now())).member, 'nobody')")" "nobody/nobody"
check "  named key_not_hosted, on both" \
  "$(both "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'key_not_hosted' AND signer = 'new.example'")" "1/1"

# ---------------------------------------------------------------- P5
bypass "INSERT INTO battledger.key_event (key_id, member, event, revoked_at)
        VALUES ($(kid cell-2), 'cell.example', 'revoked', now() - interval '30 minutes')"
bl_wait_for c "SELECT count(*) = 1 FROM battledger.key_event WHERE event = 'revoked'" 100 >/dev/null
check "P5 a revocation of c's key m wrote past its rules revokes nothing, on both" \
  "$(both "SELECT coalesce(revoked_at::text, 'not revoked') FROM battledger.keys WHERE key_id OPERATOR(battledger.=) $(kid cell-2)")" "not revoked/not revoked"
check "  c still signs with it" "$(state c -c "$(made cell-2 "$C/B4")")" ""
bl_wait_for m "SELECT count(*) = 4 FROM battledger.battery_event" 100 >/dev/null

# ---------------------------------------------------------------- P6 (last: stalls c's subscription to m)
VIEWDEF=$(q m -c "SELECT pg_get_viewdef('battledger.keys'::regclass)")
q m >/dev/null <<'SQL'
CREATE OR REPLACE VIEW battledger.keys AS
    SELECT a.key_id, a.member, a.public_key, a.valid_from, a.valid_until,
           (SELECT min(r.revoked_at) FROM battledger.key_event r
             WHERE r.key_id OPERATOR(battledger.=) a.key_id AND r.event = 'revoked' AND r.member = a.member) AS revoked_at
      FROM battledger.key_event a WHERE a.event = 'added' AND a.member = 'cell.example'
       AND a.key_id OPERATOR(battledger.=) battledger.key_id(battledger_test.public_key(battledger_test.seed('mal-as-cell')));
SQL
# since 0.27.0 m's chain trigger refuses the row whatever its readers say
# (BL019: c's member is not hosted at m, red team rt27): m's superuser then
# writes it past the writer (battledger.restore keeps the chain fields it
# computes), as rt27 H3 does
check "P6 with 0.21.0's reading m's writer still refuses its row signed as c (BL019)" "$(state m -c "$(made mal-as-cell "$C/M6")")" BL019
q m -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET battledger.restore = on;
DO \$\$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event, jsonb_build_object(
            'battery_id', '$C/M6', 'event', 'manufactured', 'occurred_at', '2026-01-02T00:00:00Z', 'model_id', 'CELL-M',
            'ledger_key_id', $(kid mal-as-cell)::text));
BEGIN
    r.ledger_sig := battledger_test.sign(battledger_test.seed('mal-as-cell'), battledger.signing_bytes(r));
    r.ledger_origin := 'm.example/log'; r.ledger_seq := 1; r.ledger_at := now(); r.ledger_prev := repeat('0', 64);
    r.ledger_hash := battledger.chain_hash(r.ledger_prev, 1, battledger.row_bytes(r));
    INSERT INTO battledger.battery_event SELECT r.*;
END \$\$;
SQL
check "  m's superuser stores it past the writer" "$(q m -c "SELECT count(*) FROM battledger.battery_event WHERE battery_id::text = '$C/M6'")" 1
bl_wait_for c "SELECT count(*) > 0 FROM battledger.rejections WHERE origin = 'm.example/log' AND problem = 'unknown_key'" 100 >/dev/null
check "  c's arrival check refuses it (unknown_key), and c does not store it" \
  "$(q c -c "SELECT (SELECT string_agg(DISTINCT problem, ',') FROM battledger.rejections WHERE origin = 'm.example/log') || ' ' || (SELECT count(*) FROM battledger.battery_event WHERE battery_id::text = '$C/M6')")" "unknown_key 0"
q m -c "CREATE OR REPLACE VIEW battledger.keys AS $VIEWDEF" >/dev/null
check "  verify() at m, its keys view restored, reports the stored row" \
  "$(q m -c "SELECT string_agg(problem, ',') FROM battledger.verify('battledger.battery_event') WHERE origin = 'm.example/log'")" unknown_key

echo "# $FAILS FAIL(s)"
exit "$FAILS"
