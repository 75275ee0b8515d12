#!/usr/bin/env bash
# Model ids, lot ids and lots' mass balance against a member bypassing its
# rules (0.19.0, ns21: red team r21 F3 for ids in a registered namespace,
# red team r20 L2), as a long scenario: every case of
# test/redteam/ns21_0190_findings.sh and of test/redteam/r20_0180_findings.sh
# must hold.  (r21_0180_findings.sh's F3 declares a model id in no
# namespace: the residual docs/security.md keeps, so it is not run here.)
set -uo pipefail
cd "$(dirname "$0")/../.."
rc=0
for s in ns21_0190 r20_0180; do
  out=$(bash "test/redteam/${s}_findings.sh" 2>&1); x=$?
  grep -E '^(ok|FAIL) ' <<<"$out"
  n=$(grep -c '^ok ' <<<"$out")
  if [ $x != 0 ] || grep -q '^FAIL ' <<<"$out"; then
    echo "FAIL - $s: $x cases failed"; rc=1
  else
    echo "ok   - $s: $n cases hold"
  fi
done
exit $rc
