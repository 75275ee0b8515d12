#!/usr/bin/env bash
# A log key rotation, as an auditor and the member check it (red team r16a
# K02): the member seals with key 1, replaces its key file with key 2 and
# seals again.  An auditor who kept a checkpoint signed by key 1 verifies
# that the log signed by key 2 extends it (`verify-consistency --old-vkey`);
# `verify_log()` takes the log's keys oldest first and accepts each
# checkpoint signed by the key of its era or a later one.  What must fail:
# the old checkpoint under the new key alone, the keys in the wrong order, a
# checkpoint signed by the retired key after the rotation (a leaked key
# cannot add checkpoints), two notes of different origins, a forged proof.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
CLI=${CLI:-$BL_ROOT/bin/battledger}
K=$BL_WORK/keys; mkdir -p "$K"
"$CLI" keygen --out "$K/one" >/dev/null
"$CLI" keygen --out "$K/two" >/dev/null
"$CLI" keygen --out "$K/other" >/dev/null
cp "$K/one.key" "$K/log.key"
[ "$(id -u)" = 0 ] && chown -R postgres: "$K"
ORIGIN=rot.example/batteries
bl_start_cluster rot "${KEY_ROTATION_PORT:-55497}" "battledger.origin = '$ORIGIN'
battledger.log_key_file = '$K/log.key'"
export PGDATABASE=rot
createdb rot
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
refused() { ! "$@" >/dev/null 2>&1; }
cli_ok() { "$CLI" "$@" >/dev/null; }
cli_rejects() { local rc=0; "$CLI" "$@" >/dev/null || rc=$?; [ "$rc" = 1 ]; }
save_checkpoint() { printf '%s\n' "$(q -c "SELECT battledger.checkpoint()")" > "$1"; }
consistency() { q -c "SELECT encode(h::bytea, 'base64') FROM unnest(battledger.consistency_proof($1, $2)) h" > "$3"; }

q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE soh (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('soh', 'battery');
INSERT INTO soh SELECT 'B' || i % 3, 100 - i FROM generate_series(1, 5) i;
SELECT battledger.seal();
SQL
V1=$(q -c "SELECT battledger.log_vkey()")
save_checkpoint "$BL_WORK/c1.txt"
S1=$(sed -n 2p "$BL_WORK/c1.txt")

# the rotation: the key file replaced in place, read at the next use (0.15.0)
cp "$K/two.key" "$K/log.key"
q -c "INSERT INTO soh SELECT 'B' || i % 3, 90 - i FROM generate_series(1, 4) i" -c "SELECT battledger.seal()" >/dev/null
V2=$(q -c "SELECT battledger.log_vkey()")
save_checkpoint "$BL_WORK/c2.txt"
S2=$(sed -n 2p "$BL_WORK/c2.txt")
check "the key changed, the origin did not" [ "$V1" != "$V2" -a "${V1%%+*}" = "${V2%%+*}" -a "${V1%%+*}" = "$ORIGIN" ]
consistency "$S1" "$S2" "$BL_WORK/p12.txt"

# the auditor, offline
check "the old checkpoint does not verify under the new key alone" \
  cli_rejects verify-consistency --vkey "$V2" --old "$BL_WORK/c1.txt" --new "$BL_WORK/c2.txt" --proof "$BL_WORK/p12.txt"
check "verify-consistency --old-vkey: the log under key 2 extends key 1's checkpoint" \
  cli_ok verify-consistency --vkey "$V2" --old-vkey "$V1" --old "$BL_WORK/c1.txt" --new "$BL_WORK/c2.txt" --proof "$BL_WORK/p12.txt"
check "  the keys swapped: rejected" \
  cli_rejects verify-consistency --vkey "$V1" --old-vkey "$V2" --old "$BL_WORK/c1.txt" --new "$BL_WORK/c2.txt" --proof "$BL_WORK/p12.txt"
awk 'NR == 1 { c = substr($0, 1, 1); $0 = (c == "A" ? "B" : "A") substr($0, 2) } { print }' "$BL_WORK/p12.txt" > "$BL_WORK/p12bad.txt"
check "  a proof changed in one character: rejected" \
  cli_rejects verify-consistency --vkey "$V2" --old-vkey "$V1" --old "$BL_WORK/c1.txt" --new "$BL_WORK/c2.txt" --proof "$BL_WORK/p12bad.txt"
# a note of another log (another origin) for the same tree, signed by its own key
ROOT=$(sed -n 3p "$BL_WORK/c2.txt")
"$CLI" sign-checkpoint --key "$K/other.key" --origin other.example/log --size "$S2" --root "$ROOT" > "$BL_WORK/other.txt"
VO=$("$CLI" vkey --key "$K/other.key" --name other.example/log)
check "  a checkpoint of another origin as the new one: rejected" \
  cli_rejects verify-consistency --vkey "$VO" --old-vkey "$V1" --old "$BL_WORK/c1.txt" --new "$BL_WORK/other.txt" --proof "$BL_WORK/p12.txt"
check "  the same without --old-vkey, as before: rejected" \
  cli_rejects verify-consistency --vkey "$V2" --old "$BL_WORK/c1.txt" --new "$BL_WORK/c2.txt" --proof "$BL_WORK/p12.txt"

# the member, or an auditor with database access
problems() { q -c "SELECT coalesce(string_agg(problem || ' ' || ref, ', ' ORDER BY ref), 'none') FROM battledger.verify_log(false, \$k\$$1\$k\$)"; }
check "verify_log with the new key alone: the old checkpoint's signature is bad" \
  [ "$(problems "$V2")" = "checkpoint_bad_signature $S1" ]
check "verify_log with both keys, oldest first: clean" [ "$(problems "$V1"$'\n'"$V2")" = none ]
check "verify_log with both keys, newest first: the later checkpoint is bad" \
  [ "$(problems "$V2"$'\n'"$V1")" = "checkpoint_bad_signature $S2" ]
check "verify_log(true) with both keys: clean" \
  [ "$(q -c "SELECT count(*) FROM battledger.verify_log(true, \$k\$$V1"$'\n'"$V2\$k\$)")" = 0 ]

# the retired key signs again (leaked, or the old file put back): caught
cp "$K/one.key" "$K/log.key"
q -c "INSERT INTO soh VALUES ('B9', 50)" -c "SELECT battledger.seal()" >/dev/null
S3=$(q -c "SELECT max(tree_size) FROM battledger.checkpoint")
check "a checkpoint by the retired key after the rotation: bad signature" \
  [ "$(problems "$V1"$'\n'"$V2")" = "checkpoint_bad_signature $S3" ]
exit $fail
