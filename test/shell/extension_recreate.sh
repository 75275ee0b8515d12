#!/usr/bin/env bash
# The extension dropped and created again in one session (perf22): the
# library keeps its types' OIDs from one call to the next, and since 0.22.0
# forgets them on pg_type's invalidations rather than probing the syscache
# at each call.  A session that used the old extension's hash256 must find
# the new one's: enable_ledger() and the log queue check columns' types by
# OID.  Kept, the old OID failed here with "cache lookup failed for type"
# (the forgetting callback left out).  The guards are lifted as
# docs/dba-guide.md's "Retiring a ledger" says.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster recreate "${EXTENSION_RECREATE_PORT:-55534}" "battledger.origin = 'recreate.test/log'"
createdb rc
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; else echo "FAIL - $what"; fail=1; fi; }

out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d rc 2>&1 <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE t1 (battery text, note text);
SELECT battledger.enable_ledger('t1', 'battery');
INSERT INTO t1 VALUES ('B1', 'one');
SELECT 'first queued ' || count(*) FROM battledger.log_pending;
BEGIN;
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER EVENT TRIGGER battledger_drop_guard DISABLE;
DROP EXTENSION battledger CASCADE;
COMMIT;
CREATE EXTENSION battledger;
CREATE TABLE t2 (battery text, note text);
SELECT battledger.enable_ledger('t2', 'battery');
INSERT INTO t2 VALUES ('B1', 'two'), ('B1', 'three');
SELECT 'second queued ' || count(*) FROM battledger.log_pending;
SELECT 'problems ' || count(*) FROM battledger.verify('t2');
SQL
) || true
check "the first extension's row is queued" grep -qx 'first queued 1' <<<"$out"
check "a ledger table of the second extension, in the same session, takes rows and queues them" \
  grep -qx 'second queued 2' <<<"$out"
check "and verifies clean" grep -qx 'problems 0' <<<"$out"
[ "$fail" = 0 ] || { echo "$out"; exit 1; }
