#!/usr/bin/env bash
# Red team r15 (0.14.0), as a long scenario: every case must hold.
#   G  a table owner's BEFORE INSERT row triggers on ledger tables refused
#      (14 ways), a superuser's warned, pg_dump/pg_restore keeping them;
#   B  batch-signed inserts: complete batches commit, every short, altered,
#      duplicated, extra, split or forged batch refused before commit;
#   V  verify_log(true) naming every tamper case, and not reporting an
#      honest log as tampered when it starts while another scan of log_leaf
#      runs or was just cancelled (V15, V17: synchronized scans, fixed in
#      0.14.0);
#   C  two members: a two_phase subscription, a superuser's arrival
#      triggers named by the status.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=$(bash test/redteam/r15_0140_findings.sh 2>&1); x=$?
grep -E '^(ok|FAIL) ' <<<"$out"
rc=0
for c in V15-cancelled-mid-call V17-two-concurrent-verify-log; do
  grep -q "^ok $c" <<<"$out" || { echo "FAIL - r15: case $c did not hold"; rc=1; }
done
n=$(grep -c '^ok ' <<<"$out")
[ "$n" -ge 60 ] || { echo "FAIL - r15: only $n cases reported ok"; rc=1; }
[ $x = 0 ] || { echo "FAIL - r15: $x cases failed"; rc=1; }
[ $rc = 0 ] && echo "ok   - red team r15: $n cases hold"
exit $rc
