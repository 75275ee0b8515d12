#!/usr/bin/env bash
# Runs every battledger test from a clean clone on Debian 12, as root or with sudo:
# installs the Debian packages, builds with -Werror, installs, starts throwaway
# PostgreSQL 15 clusters on private sockets, then runs pg_regress
# (make installcheck), pgTAP (pg_prove) and the shell-driven scenarios
# (concurrency stress, kill -9 crash recovery, dump/restore).
set -euo pipefail
cd "$(dirname "$0")/.."
source test/lib/cluster.sh

bl_install_packages
bl_build_install
say "installing the TEST-ONLY signing extension (test/signer)"
make -s -C test/signer PG_CONFIG="$PG_CONFIG" with_llvm=no && as_root make -s -C test/signer PG_CONFIG="$PG_CONFIG" with_llvm=no install
bl_scratch
# the settings `make check-temp` gives its temporary instance (test/regress.conf)
bl_start_cluster regress 55431 "$(bl_test_log_conf battledger.test/regress)
$(grep -v '^battledger.origin' test/regress.conf)"
failed=()

say "source layout (test/layout_check.sh)"
bash test/layout_check.sh || failed+=(layout)

say "unit tests: Merkle proofs, RFC 9162 vectors, notes, CLI (no database)"
bash test/unit/run.sh || failed+=(unit)

say "pg_regress (make installcheck)"
if ! make -s installcheck PG_CONFIG="$PG_CONFIG" with_llvm=no; then
  failed+=(pg_regress)
  [ -f regression.diffs ] && cat regression.diffs
fi

say "pgTAP (pg_prove)"
createdb tap
# one log per origin in a cluster: this database seals under its own
psql -X -q -v ON_ERROR_STOP=1 -d tap -c "LOAD 'battledger'" -c "ALTER DATABASE tap SET battledger.origin = 'battledger.test/tap'"
psql -X -q -v ON_ERROR_STOP=1 -d tap \
  -c "CREATE EXTENSION battledger; CREATE EXTENSION pgtap; CREATE EXTENSION pgcrypto; CREATE EXTENSION dblink;"
pg_prove -d tap test/pgtap/*.sql || failed+=(pgtap)

for t in test/shell/*.sh; do
  say "scenario: $t"
  bash "$t" || failed+=("$t")
done

if [ ${#failed[@]} -gt 0 ]; then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "all tests passed"
