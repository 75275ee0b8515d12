#!/usr/bin/env bash
# Concurrency stress: 8 pgbench clients append to 5 hot chains (single rows and
# 10-row multi-row inserts) under each isolation level; afterwards every chain
# must be dense, linked and verify clean, with no failed transaction.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
SECONDS_PER_LEVEL=${STRESS_SECONDS:-4}

bl_start_cluster stress 55451
createdb stress
psql -X -q -v ON_ERROR_STOP=1 -d stress <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE usage_event (battery text, client int, kind text, wh numeric);
SELECT battledger.enable_ledger('usage_event', 'battery');
SQL
cat > "$BL_WORK/one.sql" <<'SQL'
\set b random(1, 5)
INSERT INTO usage_event VALUES ('B' || :b, :client_id, 'single', random() * 10);
SQL
cat > "$BL_WORK/multi.sql" <<'SQL'
\set b random(1, 5)
INSERT INTO usage_event SELECT 'B' || :b, :client_id, 'multi', i FROM generate_series(1, 10) i;
SQL
cat > "$BL_WORK/savepoint.sql" <<'SQL'
\set b random(1, 5)
BEGIN;
INSERT INTO usage_event VALUES ('B' || :b, :client_id, 'kept', 1);
SAVEPOINT s;
INSERT INTO usage_event VALUES ('B' || :b, :client_id, 'undone', 2);
ROLLBACK TO s;
INSERT INTO usage_event VALUES ('B' || :b, :client_id, 'kept', 3);
COMMIT;
SQL

fail=0
for iso in "read committed" "repeatable read" "serializable"; do
  out=$(PGOPTIONS="-c default_transaction_isolation=${iso// /\\ }" pgbench -n -c 8 -j 2 -T "$SECONDS_PER_LEVEL" \
        -f "$BL_WORK/one.sql@5" -f "$BL_WORK/multi.sql@2" -f "$BL_WORK/savepoint.sql@1" stress 2>&1) || { echo "$out"; fail=1; }
  tx=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
  failed=$(echo "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')
  echo "$iso: $tx transactions, ${failed:-0} failed"
  [ "${failed:-0}" = 0 ] && [ "${tx:-0}" -gt 0 ] || fail=1
done

result=$(psql -X -At -d stress <<'SQL'
SELECT 'rows=' || count(*) FROM usage_event;
SELECT 'undone_rows=' || count(*) FROM usage_event WHERE kind = 'undone';
SELECT 'non_dense_chains=' || count(*) FROM (SELECT battery FROM usage_event GROUP BY battery
        HAVING max(ledger_seq) <> count(*) OR min(ledger_seq) <> 1) g;
SELECT 'verify_problems=' || count(*) FROM battledger.verify('usage_event');
SQL
)
echo "$result"
grep -q '^undone_rows=0$' <<<"$result" || fail=1
grep -q '^non_dense_chains=0$' <<<"$result" || fail=1
grep -q '^verify_problems=0$' <<<"$result" || fail=1
[ $fail = 0 ] && echo "stress: PASS" || { echo "stress: FAIL"; exit 1; }
