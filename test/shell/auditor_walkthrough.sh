#!/usr/bin/env bash
# The auditor's walk-through in docs/transparency-log.md ("Offline
# verification"), run as printed: its shell blocks are extracted from the doc
# and run in order against a member's log, with only the CLI and psql.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
CLI_DIR=$(dirname "${CLI:-$BL_ROOT/bin/battledger}")
"$CLI_DIR/battledger" keygen --out "$BL_WORK/log" >/dev/null
[ "$(id -u)" = 0 ] && chown postgres: "$BL_WORK/log.key"
bl_start_cluster audit 55481 "battledger.origin = 'oem.example/batteries'
battledger.log_key_file = '$BL_WORK/log.key'"
export PGDATABASE=registry
createdb registry
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }

# the member's log: rows sealed, an earlier checkpoint the auditor kept, more rows sealed
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE soh (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('soh', 'battery');
INSERT INTO soh SELECT 'B' || i % 3, 100 - i FROM generate_series(1, 5) i;
SELECT battledger.seal();
SQL
mkdir -p "$BL_WORK/auditor"
cd "$BL_WORK/auditor"
printf '%s\n' "$(psql -X -At -c "SELECT battledger.checkpoint()")" > old.txt
psql -X -q -c "INSERT INTO soh SELECT 'B' || i % 3, 90 - i FROM generate_series(1, 4) i" -c "SELECT battledger.seal()" >/dev/null

# the doc's shell blocks of that section, in order
awk '/^## Offline verification/ {on = 1; next} /^## / {on = 0}
     on && /^```sh$/ {inb = 1; next} inb && /^```$/ {inb = 0; print "#--- end of block"; next} inb' \
  "$BL_ROOT/docs/transparency-log.md" > walkthrough.sh
check "the walk-through has its two shell blocks" test "$(grep -c '^#--- end of block' walkthrough.sh)" = 2
out=$(PATH="$CLI_DIR:$PATH" bash -euo pipefail walkthrough.sh 2>&1) || { echo "$out"; check "the walk-through runs as printed" false; }
echo "$out"
check "the checkpoint verifies" grep -q '^OK: checkpoint of oem.example/batteries at size 9 ' <<<"$out"
check "leaf 2 is proven included" grep -q '^OK: leaf 2 is included in oem.example/batteries at size 9' <<<"$out"
check "the log grew append-only from the kept checkpoint" grep -q '^OK: oem.example/batteries grew from size 5 to 9 append-only' <<<"$out"
# and it can fail: the same proof against another leaf is refused
LEAF3=$(PATH="$CLI_DIR:$PATH" bash -c 'read -r T S P H <<<"$(psql -X -At -F " " -c "SELECT tbl, seq, prev, row_hash FROM battledger.log_leaf WHERE leaf_index = 3")"; battledger leaf --table "$T" --seq "$S" --prev "$P" --hash "$H"')
check "the proof of leaf 2 does not prove leaf 3" \
  bash -c "! '$CLI_DIR/battledger' verify-proof --vkey '$(psql -X -At -c "SELECT battledger.log_vkey()")' --proof proof.txt --leaf-hex '$LEAF3' >/dev/null 2>&1"
exit $fail
