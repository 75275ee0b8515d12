#!/usr/bin/env bash
# Red team r22's cases on 0.19.0's merges (lots' mass balance, namespaces
# over models and lots, a held row's data in consortium_status(),
# verify_member()'s table naming), as a long scenario: every case of
# test/redteam/r22_0190_findings.sh must hold.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=$(bash test/redteam/r22_0190_findings.sh 2>&1); x=$?
grep -E '^(ok|FAIL) ' <<<"$out"
if [ $x != 0 ] || grep -q '^FAIL ' <<<"$out"; then
  echo "FAIL - r22_0190: $x cases failed"; exit 1
fi
echo "ok   - r22_0190: $(grep -c '^ok ' <<<"$out") cases hold"
