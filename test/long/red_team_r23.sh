#!/usr/bin/env bash
# Red team r23's cases on 0.20.0's lots changes (numbers too large to sum,
# 0.19.0's stored strings, a 0 Wh reading, self-referencing lots, junk
# creation rows, honest rows dated before a row they relied on), as a long
# scenario: every case of test/redteam/r23_0200_findings.sh must hold.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=$(bash test/redteam/r23_0200_findings.sh 2>&1); x=$?
grep -E '^(ok|FAIL) ' <<<"$out"
if [ $x != 0 ] || grep -q '^FAIL ' <<<"$out"; then
  echo "FAIL - r23_0200: $x cases failed"; exit 1
fi
echo "ok   - r23_0200: $(grep -c '^ok ' <<<"$out") cases hold"
