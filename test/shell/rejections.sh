#!/usr/bin/env bash
# battledger.rejections is read per database (issue 12, item 9): a row
# refused in a database that is then dropped does not show in a new database
# of the same name.  The refusal is made locally, the way the arrival check
# sees a row written as a replicated one (session_replication_role = replica).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster rejections 55464 "$(bl_test_log_conf rejections.test/log)"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; else echo "FAIL - $what"; fail=1; fi; }
q() { psql -X -q -At -d "$@"; }
setup() {
  createdb "$1"
  q "$1" -v ON_ERROR_STOP=1 -c "CREATE EXTENSION battledger" \
    -c "CREATE TABLE soh (battery text, soh_pct numeric)" -c "SELECT battledger.enable_ledger('soh', 'battery')" >/dev/null
}
refuse_one() {
  # a row that claims another member's origin but whose hash is wrong: refused and recorded
  local out
  out=$(q "$1" -c "SET session_replication_role = replica" \
    -c "INSERT INTO soh (battery, soh_pct, ledger_origin, ledger_seq, ledger_prev, ledger_hash)
        VALUES ('B1', 90, 'other.example/log', 1, repeat('0', 64)::battledger.hash256, repeat('1', 64)::battledger.hash256)" \
    2>&1) || true
  grep -q 'battledger refused a row' <<<"$out"
}
setup reg
check "a row written as another member's is refused" refuse_one reg
check "and recorded in this database's rejections" test "$(q reg -c "SELECT count(*) FROM battledger.rejections")" = 1
setup other
check "another database does not see it" test "$(q other -c "SELECT count(*) FROM battledger.rejections")" = 0
dropdb reg
setup reg
check "a new database of the same name starts without rejections" \
  test "$(q reg -c "SELECT count(*) FROM battledger.rejections")" = 0
check "its own refusals show" refuse_one reg
check "one, its own" test "$(q reg -c "SELECT count(*) FROM battledger.rejections")" = 1
[ $fail = 0 ] && echo "rejections: PASS" || { echo "rejections: FAIL"; exit 1; }
