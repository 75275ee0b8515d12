#!/usr/bin/env bash
# The consortium scenario (test/shell/consortium.sh: three members joining,
# replicating, witnessing, a forgery refused, a re-join) with every
# member's cluster at default_transaction_isolation = 'serializable': the
# apply workers, the witness's cosigning and the stopper run at that level,
# as they do where a DBA sets it for the whole cluster.  The scenario's own
# sessions stay at READ COMMITTED (PGOPTIONS), as the registry's writers
# and seal() require (BL039; "seal() must run at READ COMMITTED").  The
# sealing worker at that level: test/shell/seal_worker.sh.  Until 0.25.0 an
# apply worker at REPEATABLE READ could leave a usage report unfolded
# (test/shell/usage_state_rr.sh, case 7).
set -euo pipefail
cd "$(dirname "$0")/../.."
export BL_MEMBER_CONF="default_transaction_isolation = 'serializable'"
export PGOPTIONS="-c default_transaction_isolation=read\\ committed"
out=$(bash test/shell/consortium.sh 2>&1) && rc=0 || rc=$?
printf '%s\n' "$out"
grep -qx '# server default_transaction_isolation: serializable' <<<"$out" || {
  echo "FAIL - the members' clusters did not run at SERIALIZABLE"; rc=1; }
exit $rc
