#!/usr/bin/env bash
# test/lib/matrix_root.sh VERSION — run by test/matrix.sh INSIDE a throwaway
# Debian root (chroot) that has postgresql-VERSION and its server-dev
# package: builds battledger and the test signer against that version with
# -Werror, installs them into the root, starts a cluster of that version on
# a private socket (as test/all.sh does for 15) and runs the pg_regress
# suite (make installcheck, REGRESS in the Makefile) and pgTAP (pg_prove
# test/pgtap), then the shell scenarios named in BL_MATRIX_SCENARIOS (each
# on its own clusters).  Left out by default: upgrade.sh (it installs the
# released versions into a copy of the PostgreSQL 15 layout), fuzz.sh
# (libFuzzer from clang's runtime packages) and monitoring.sh
# (prometheus-postgres-exporter); they run on 15 in test/all.sh.
# Not meant to be run on a development machine directly, except with
# BL_MATRIX_PG_BIN (it cleans and rebuilds the tree it runs in: use a clone).
set -euo pipefail
v=${1:?usage: matrix_root.sh VERSION}
cd "$(dirname "$0")/../.."
# (BL_MATRIX_PG_BIN: a server installed elsewhere, e.g. PostgreSQL 16 built
# from source, which Debian does not package: README, "PostgreSQL versions")
export PG_BIN=${BL_MATRIX_PG_BIN:-/usr/lib/postgresql/$v/bin}
export PG_CONFIG=$PG_BIN/pg_config PATH=$PG_BIN:$PATH
source test/lib/cluster.sh
CFLAGS_STRICT="-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror"

say "PostgreSQL $v: $("$PG_CONFIG" --version)"
make -s clean PG_CONFIG="$PG_CONFIG" with_llvm=no >/dev/null
make -s -C test/signer clean PG_CONFIG="$PG_CONFIG" with_llvm=no >/dev/null
make -s PG_CONFIG="$PG_CONFIG" with_llvm=no PG_CFLAGS="$CFLAGS_STRICT"
make -s PG_CONFIG="$PG_CONFIG" with_llvm=no install
make -s -C test/signer PG_CONFIG="$PG_CONFIG" with_llvm=no PG_CFLAGS="$CFLAGS_STRICT"
make -s -C test/signer PG_CONFIG="$PG_CONFIG" with_llvm=no install

bl_scratch
# the same cluster settings as test/all.sh: the consortium test publishes
bl_start_cluster regress 55431 "$(bl_test_log_conf battledger.test/regress)
wal_level = logical"
failed=()

say "PostgreSQL $v: pg_regress (make installcheck)"
if ! make -s installcheck PG_CONFIG="$PG_CONFIG" with_llvm=no; then
  failed+=(pg_regress)
  [ -f regression.diffs ] && cat regression.diffs
fi

say "PostgreSQL $v: pgTAP (pg_prove)"
createdb tap
psql -X -q -v ON_ERROR_STOP=1 -d tap -c "LOAD 'battledger'" -c "ALTER DATABASE tap SET battledger.origin = 'battledger.test/tap'"
psql -X -q -v ON_ERROR_STOP=1 -d tap \
  -c "CREATE EXTENSION battledger; CREATE EXTENSION pgtap; CREATE EXTENSION pgcrypto; CREATE EXTENSION dblink;"
pg_prove -d tap test/pgtap/*.sql || failed+=(pgtap)

scenarios=${BL_MATRIX_SCENARIOS-consortium witness_join_copy slot_loss seal_worker crash stress dump_restore cli_roundtrip readme_tour sql_fuzz join_streaming}
for t in $scenarios; do
  say "PostgreSQL $v: scenario test/shell/$t.sh"
  bash "test/shell/$t.sh" || failed+=("$t")
done

if [ ${#failed[@]} -gt 0 ]; then
  say "PostgreSQL $v FAILED: ${failed[*]}"
  exit 1
fi
say "PostgreSQL $v: pg_regress, pgTAP and the scenarios (${scenarios:-none}) passed"
