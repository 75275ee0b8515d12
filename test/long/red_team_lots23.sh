#!/usr/bin/env bash
# Lots read from rows other members write (0.20.0): a mass that is not a
# number naming another member's lot, a holder overdrawing its own lot, a
# squatter's creation of a maker's lot read by recycled_content() and
# material_provenance(), as a long scenario: every case of
# test/redteam/lots23_0200_findings.sh must hold.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=$(bash test/redteam/lots23_0200_findings.sh 2>&1); x=$?
grep -E '^(ok|FAIL) ' <<<"$out"
if [ $x != 0 ] || grep -q '^FAIL ' <<<"$out"; then
  echo "FAIL - lots23_0200: $x cases failed"; exit 1
fi
echo "ok   - lots23_0200: $(grep -c '^ok ' <<<"$out") cases hold"
