#!/usr/bin/env bash
# README.md's SQL tour, run as printed (issue 12, item 2): the block is taken
# from README.md itself, so the two cannot drift apart.  In a cluster where
# battledger.origin is unset (as the tour says), every statement but the
# UPDATE it shows being refused must succeed, the hashes must be the ones the
# tour prints, verify() must find nothing and the rebuilt hashes must match.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster tour 55481 ""
createdb tour
sql=$(awk '/^## A short SQL tour/ {on = 1} on && /^```sql$/ {inblock = 1; next} inblock && /^```$/ {exit} inblock {print}' \
      "$BL_ROOT/README.md")
out=$(psql -X -At -d tour <<<"$sql" 2>&1 || true)
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
check "the tour has its block" test -n "$sql"
check "the only error is the refused UPDATE" \
  test "$(grep -c '^ERROR' <<<"$out"):$(grep '^ERROR' <<<"$out")" = '1:ERROR:  UPDATE is not allowed on ledger table "battery_event"'
check "the hashes are the ones the tour prints" \
  test "$(psql -X -At -d tour -c "SELECT string_agg(left(ledger_hash::text, 4) || '…' || right(ledger_hash::text, 4), ' ' ORDER BY ledger_seq) FROM battery_event")" = "643e…768c ccb6…8253"
check "the rebuilt hashes match" test "$(grep -c '^t$' <<<"$out")" = 2
[ $fail = 0 ] && echo "readme_tour: PASS" || { echo "$out"; echo "readme_tour: FAIL"; exit 1; }
