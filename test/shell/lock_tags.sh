#!/usr/bin/env bash
# battledger's own advisory locks keep their tags (0.25.0: one helper,
# bl_advisory_xact_lock() in src/pg/pgutil.c, builds them for the chain,
# the seal, the stopper, the held checkpoint and the usage state's turn).
# pg_locks shows them as docs/dba-guide.md says (locktype advisory, the
# fourth field in objsubid, a smallint: -19987 = 0xB1ED for a chain,
# -19983 = 0xB1F1 for a commitment), in ExclusiveLock mode, for the
# transaction only; and no
# SQL-level advisory lock (fields 1 and 2) takes one of them: a plain
# role holding pg_advisory_xact_lock(<table oid>, n) for every stripe n
# stalls no writer of the table.  LOCK_TAGS_PORT (default 56055).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster tags "${LOCK_TAGS_PORT:-56055}" "$(bl_test_log_conf tags.test/log)"
createdb reg
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d reg "$@"; }
fail=0
check() { local what=$1 got=$2 want=$3; if [ "$got" = "$want" ]; then echo "ok   - $what"; else echo "FAIL - $what: got '$got', want '$want'"; fail=1; fi; }

q >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE soh (battery text, soh_pct numeric);
SELECT battledger.enable_ledger('soh', 'battery');
CREATE ROLE mallory LOGIN;
GRANT INSERT, SELECT ON soh TO mallory;
SQL
mine="SELECT string_agg(concat_ws('|', classid = 'soh'::regclass::oid, objid < 1024, objsubid, mode, granted,
                                  database = (SELECT oid FROM pg_database WHERE datname = current_database())), ',')
        FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"

# 1. a chain's turn: (database, table, stripe < 1024, 0xB1ED)
check "an insert holds the chain's lock: the table's oid, a stripe, 0xB1ED, ExclusiveLock" \
  "$(q -c "BEGIN" -c "INSERT INTO soh VALUES ('B1', 90)" -c "$mine" -c "COMMIT")" "t|t|$(( 0xB1ED - 65536 ))|ExclusiveLock|t|t"
check "and only for its transaction" \
  "$(q -c "BEGIN" -c "INSERT INTO soh VALUES ('B1', 89)" -c "COMMIT" -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" 0

# 2. a commitment's turn: its first 8 bytes as two 32-bit keys (this
# machine's byte order: little-endian here), 0xB1F1
c="0102030405060708$(printf '00%.0s' $(seq 24))"
check "_usage_lock(): keys from the commitment's bytes, 0xB1F1, ExclusiveLock" \
  "$(q -c "BEGIN" -c "SELECT battledger._usage_lock('$c')" \
       -c "SELECT classid || '|' || objid || '|' || objsubid || '|' || mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()" -c "COMMIT" | tail -1)" \
  "$(( 0x04030201 ))|$(( 0x08070605 ))|$(( 0xB1F1 - 65536 ))|ExclusiveLock"
check "_usage_lock() is not PUBLIC's" \
  "$(q -U mallory -c "SELECT battledger._usage_lock('$c')" 2>&1 | grep -c 'permission denied')" 1

# 3. mallory holds every (table oid, stripe) SQL-level advisory lock, in
# both of their classes: a writer of the table is not stalled
q -U mallory -c "BEGIN" \
  -c "SELECT count(pg_advisory_xact_lock('soh'::regclass::oid::int, n)) FROM generate_series(0, 1023) n" \
  -c "SELECT count(pg_advisory_xact_lock(('soh'::regclass::oid::bigint << 32) + n)) FROM generate_series(0, 1023) n" \
  -c "SELECT pg_sleep(15)" -c "COMMIT" >/dev/null 2>&1 &
holder=$!
for i in $(seq 1 50); do
  [ "$(q -c "SELECT count(*) FROM pg_locks l JOIN pg_roles r ON r.rolname = 'mallory' JOIN pg_stat_activity a ON a.pid = l.pid AND a.usename = 'mallory' WHERE l.locktype = 'advisory'")" -ge 2048 ] && break
  sleep 0.2
done
check "mallory holds 2,048 SQL-level advisory locks on the table's keys" \
  "$(q -c "SELECT count(*) >= 2048 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid AND a.usename = 'mallory' WHERE l.locktype = 'advisory'")" t
check "a writer of the table is not stalled by them" \
  "$(q -c "SET statement_timeout = '3s'" -c "INSERT INTO soh SELECT 'C' || i, 80 FROM generate_series(1, 50) i" -c "SELECT count(*) FROM soh WHERE battery LIKE 'C%'" 2>&1)" 50
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
check "the chains verify" "$(q -c "SELECT count(*) FROM battledger.verify('soh')")" 0
exit $fail
