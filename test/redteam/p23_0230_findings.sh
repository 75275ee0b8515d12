#!/usr/bin/env bash
# p23 (0.23.0, pop23): proof of possession settles a key registered twice.
# Two members as k26_0220_findings.sh sets them up: c (cell.example, the
# honest one) and m (mal.example, whose superuser writes past its rules).
# Since 0.22.0 a key whose counted rows name two members signs for neither,
# so m's superuser who registers c's *public* key for its own member (a
# row m's origin may write: it added mal.example) voids c's key on every
# member, retroactively: c's stored rows stop verifying (docs/security.md,
# the residual near key_registered_twice).  Each case prints "ok   - ..."
# when the property holds, "FAIL - ..." for a finding; exit status: the
# number of FAILs.  PG_BIN: the build under test.  P23_PORT (default 55602;
# uses 2 ports).
#   Q1  the theft: with no proof the key signs for nobody on both (fail
#       closed, as 0.22.0), and c's row signed with it stops verifying.
#   Q2  forged proofs resolve nothing, on both: prove_key() at m with m's
#       key's signature (BL016), and rows m's superuser writes straight
#       into key_proof (signed by m's key, garbage, the holder's message
#       for c replayed under m's name); they replicate without stopping
#       c's subscription.
#   Q3  c proves possession (prove_key() with the key's signature over
#       key_possession_message('cell.example', public key)): the key
#       signs for c again on both, c's stored row verifies on both, c's
#       next row signed with it is accepted at c and arrives at m, and the
#       key never signs for m's member; c's proof replayed at m under m's
#       name changes nothing.
#   Q4  registry_conflicts() still names both rows key_registered_twice,
#       the detail saying c proved it, on both; m's row is then m's
#       equivocation, which verify_member() at c files under key_event.
#   Q5  without any proof a second stolen key still fails closed, on both;
#       and a key proved for both members signs for neither.
# Results, PostgreSQL 15, 2026-12-07 ~02:20 UTC: main 5516ce4 12 FAILs
# (Q2: no prove_key(), no key_proof; Q3: c cannot prove its key, which
# stays void: its row unknown_key on both, its next row BL011; Q4: nothing
# names a proof, m's row stays a conflict); branch pop23 0 FAILs (19 ok).
# (0.24.0, kproof24: two checks that each member recorded the other's
# proofs as they arrived through its apply worker, _key_proof_checked.)
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok   - $1"; }
fail() { echo "FAIL - $1: $2"; FAILS=$((FAILS + 1)); }
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then ok "$what"; else fail "$what" "got '$got', want '$want'"; fi; }
P=${P23_PORT:-55602}
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"
declare -A PORT=([c]=$P [m]=$((P + 1)))
declare -A ORIGIN=([c]=c.example/log [m]=m.example/log)
declare -A LOGV WITV
q() { bl_mq "$@"; }
# the SQLSTATE of a statement, or "" if it passed
state() { local x=$1; shift; psql -X -q -At -h "$BL_WORK" -p "${PORT[$x]}" -d bl -v VERBOSITY=sqlstate "$@" 2>&1 >/dev/null | sed -n 's/^ERROR: *//p' | head -1; }
both() { local x; for x in c m; do q "$x" -c "$1" 2>/dev/null || echo error; done | paste -sd/; }
pub() { echo "battledger_test.public_key(battledger_test.seed('$1'))"; }
kid() { echo "battledger.key_id($(pub "$1"))"; }
# the signature by seed $1 of the possession message for member $2 and public key of seed $3
proof() { echo "battledger_test.sign(battledger_test.seed('$1'), battledger.key_possession_message('$2', $(pub "$3")))"; }
signer() { echo "SELECT coalesce((SELECT k.member FROM battledger.keys k WHERE k.key_id OPERATOR(battledger.=) $(kid "$1")), 'nobody')"; }
# as m's superuser, past the governance rules trigger
bypass() { q m -c "ALTER TABLE battledger.key_event DISABLE TRIGGER battledger_rules" >/dev/null
           q m -c "$1" >/dev/null
           q m -c "ALTER TABLE battledger.key_event ENABLE TRIGGER battledger_rules" >/dev/null; }
steal() { bypass "INSERT INTO battledger.key_event (key_id, member, event, public_key, valid_from)
                  VALUES ($(kid "$1"), 'mal.example', 'added', $(pub "$1"), now() - interval '2 hours')"
          bl_wait_for c "SELECT count(*) = 2 FROM battledger.key_event WHERE key_id OPERATOR(battledger.=) $(kid "$1")" 100 >/dev/null; }
proofs_at() { q "$1" -c "SELECT count(*) FROM battledger.key_proof" 2>/dev/null || echo none; }
synced() { local n; n=$(proofs_at m); [ "$n" = none ] && return 0
           bl_wait_for c "SELECT count(*) = $n FROM battledger.key_proof" 100 >/dev/null; }
verified() { echo "SELECT coalesce(string_agg(DISTINCT problem, ','), 'clean') FROM battledger.verify('battledger.battery_event') WHERE origin = 'c.example/log'"; }

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
              battledger.add_key('cell.example', $(pub cell-1), now() - interval '1 hour'),
              battledger.add_key('cell.example', $(pub cell-2), now() - interval '1 hour')" >/dev/null
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
check "setup: c's row signed with its key verifies on both" "$(both "$(verified)")" "clean/clean"

# ---------------------------------------------------------------- Q1
steal cell-1
check "Q1 no proof: c's key, also registered for m's member, signs for nobody, on both" \
  "$(both "$(signer cell-1)")" "nobody/nobody"
check "  and c's stored row stops verifying, on both" "$(both "$(verified)")" "unknown_key/unknown_key"

# ---------------------------------------------------------------- Q2
check "Q2 prove_key() at m with m's own key's signature is refused (BL016)" \
  "$(state m -c "SELECT battledger.prove_key($(kid cell-1), $(proof mal-1 mal.example cell-1), 'mal.example')")" BL016
q m -c "INSERT INTO battledger.key_proof (key_id, member, public_key, signature) VALUES
          ($(kid cell-1), 'mal.example', $(pub cell-1), $(proof mal-1 mal.example cell-1)),
          ($(kid cell-1), 'mal.example', $(pub cell-1), decode(repeat('5a', 64), 'hex')),
          ($(kid cell-1), 'mal.example', $(pub cell-1), $(proof cell-1 cell.example cell-1))" >/dev/null 2>&1
synced
check "  forged rows m's superuser wrote into key_proof arrive at c" "$(proofs_at c)/$(proofs_at m)" "3/3"
check "  and resolve nothing: the key still signs for nobody, on both" "$(both "$(signer cell-1)")" "nobody/nobody"
check "  c's subscription to m still runs" \
  "$(q c -c "SELECT bool_and(subenabled) FROM pg_subscription")" t

# ---------------------------------------------------------------- Q3
check "Q3 c proves possession of its key with prove_key()" \
  "$(q c -c "SELECT battledger.prove_key($(kid cell-1), $(proof cell-1 cell.example cell-1))" 2>&1)" cell.example
bl_wait_for m "SELECT count(*) > 0 FROM battledger.key_proof WHERE ledger_origin = 'c.example/log'" 100 >/dev/null
check "  the key signs for c again, on both" "$(both "$(signer cell-1)")" "cell.example/cell.example"
check "  (0.24.0) m checked c's proof as it arrived (the apply worker): valid in m's _key_proof_checked" \
  "$(q m -c "SELECT string_agg(member || ' ' || valid, ',') FROM battledger._key_proof_checked WHERE origin = 'c.example/log'" 2>&1)" "cell.example true"
check "  (0.24.0) and c checked m's forged proofs as they arrived: none valid" \
  "$(q c -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE valid) FROM battledger._key_proof_checked WHERE origin = 'm.example/log'" 2>&1)" "1 0"
check "  c's stored row verifies again, on both" "$(both "$(verified)")" "clean/clean"
check "  c's next row signed with it is accepted at c" "$(state c -c "$(made cell-1 "$C/B2")")" ""
bl_wait_for m "SELECT count(*) = 2 FROM battledger.battery_event" 100 >/dev/null
check "  and arrives at m, where it verifies" \
  "$(q m -c "SELECT count(*) FROM battledger.battery_event WHERE battery_id::text = '$C/B2'") $(q m -c "$(verified)")" "1 clean"
check "  the key never signs for m's member (_signer_at(), on both)" \
  "$(both "SELECT coalesce((battledger._signer_at($(kid cell-1), now())).member, 'nobody')")" "cell.example/cell.example"
q m -c "INSERT INTO battledger.key_proof (key_id, member, public_key, signature)
        SELECT key_id, 'mal.example', public_key, signature FROM battledger.key_proof
         WHERE ledger_origin = 'c.example/log'" >/dev/null 2>&1
synced
check "  c's proof replayed at m under m's name changes nothing, on both" "$(both "$(signer cell-1)")" "cell.example/cell.example"

# ---------------------------------------------------------------- Q4
check "Q4 registry_conflicts() still names both rows key_registered_twice, on both" \
  "$(both "SELECT count(*) FROM battledger.registry_conflicts() WHERE problem = 'key_registered_twice' AND message LIKE '%\"cell.example\" proved possession of it (key_proof), so it signs for that member'")" "2/2"
check "  m's row an equivocation of m's origin, c's a conflict, on both" \
  "$(both "SELECT string_agg(signer || ' ' || kind, ',' ORDER BY signer) FROM battledger.registry_conflicts() WHERE problem = 'key_registered_twice'")" \
  "cell.example conflict,mal.example equivocation/cell.example conflict,mal.example equivocation"
check "  verify_member() at c files m's row under battledger.key_event" \
  "$(q c -c "SELECT string_agg(tbl || ' ' || problem, ',') FROM battledger.verify_member('m.example/log') WHERE detail LIKE '%key_registered_twice%' OR detail LIKE '%proved possession%'")" \
  "battledger.key_event registry_equivocation"

# ---------------------------------------------------------------- Q5
steal cell-2
check "Q5 a second stolen key, no proof: signs for nobody, on both (fail closed)" \
  "$(both "$(signer cell-2)")" "nobody/nobody"
q c -c "SELECT battledger.prove_key($(kid cell-2), $(proof cell-2 cell.example cell-2))" >/dev/null 2>&1
# the holder also signs the message for m's member (as a holder of both could)
q m -c "INSERT INTO battledger.key_proof (key_id, member, public_key, signature)
        VALUES ($(kid cell-2), 'mal.example', $(pub cell-2), $(proof cell-2 mal.example cell-2))" >/dev/null 2>&1
synced
bl_wait_for m "SELECT count(*) = 1 FROM battledger.key_proof WHERE ledger_origin = 'c.example/log' AND key_id OPERATOR(battledger.=) $(kid cell-2)" 100 >/dev/null
check "  a key proved for both members signs for neither, on both" "$(both "$(signer cell-2)")" "nobody/nobody"

echo "# $FAILS FAIL(s)"
exit "$FAILS"
