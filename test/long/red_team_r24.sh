#!/usr/bin/env bash
# Red team r24 on 0.20.0's passport ids in a namespace (0.21.0), as a long
# scenario: every case of test/redteam/r24_0210_findings.sh must hold
# (S1: the spellings battery_id reads are in the namespace; D1:
# registry_conflicts() names each contested registration once; N1: no
# registration over another member's passport ids; K1: a key added twice
# counts for the member its verdict reads; H1: a contested hosting is not
# the host's equivocation; G1: keys and roles are registered where their
# member is hosted), and red team r25's on that rule
# (test/redteam/r25_0210_findings.sh: V1 revocations, V2 a key registered
# twice, X1 a member added by two origins, E1 an origin set late, D1
# pg_restore).  Their residuals (the holder's cost per contesting member,
# a key written for a member hosted elsewhere past the rules, an origin
# set in a session) are printed, not counted: docs/security.md, "Residual
# risks".
set -uo pipefail
cd "$(dirname "$0")/../.."
rc=0
for s in r24_0210 r25_0210; do
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
