#!/usr/bin/env bash
# Red team r16b (0.15.0), as a long scenario: every case must hold.  The SQL
# surface as a plain role and a table owner: the functions PUBLIC may run and
# why, trigger functions attached where they do not belong, the owner's DDL
# on a ledger table (the chain index made a constraint and dropped, DROP NOT
# NULL on ledger_origin), verify() on rows without origin or chain key (a
# crash before 0.15.0), and the registry rules' verdict read by a writer who
# cannot sign (P2, closed in 0.15.0).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=$(bash test/redteam/r16b_0150_findings.sh 2>&1); x=$?
grep -E '^(ok|FAIL) ' <<<"$out"
rc=0
for c in D1 N1 "P2 plain" "P2 auth"; do
  grep -q "^ok $c" <<<"$out" || { echo "FAIL - r16b: case $c did not hold"; rc=1; }
done
n=$(grep -c '^ok ' <<<"$out")
[ "$n" -ge 20 ] || { echo "FAIL - r16b: only $n cases reported ok"; rc=1; }
[ $x = 0 ] || { echo "FAIL - r16b: $x cases failed"; rc=1; }
[ $rc = 0 ] && echo "ok   - red team r16b: $n cases hold"
exit $rc
