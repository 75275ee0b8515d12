#!/usr/bin/env bash
# Passport ids against a member bypassing its rules (0.20.0, pp23: the r21
# F3 trick on passport ids in a registered namespace, and the holder-moved
# cache machinery under the namespace's holder rule), as a long scenario:
# every case of test/redteam/pp23_0200_findings.sh must hold.  (A passport
# id in no namespace stays its first issuing row's: the residual
# docs/security.md keeps, printed by the script, not counted.)
set -uo pipefail
cd "$(dirname "$0")/../.."
rc=0
for s in pp23_0200; do
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
