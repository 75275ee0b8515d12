#!/usr/bin/env bash
# Monitoring (issue 12, item 8): battledger.health() gives one line of
# counts, and Debian's prometheus-postgres-exporter, given
# monitoring/postgres_exporter.yml, serves them as Prometheus metrics:
# the test starts the exporter against a throwaway cluster on the loopback
# interface and reads the metrics from its HTTP endpoint.
# consortium_status() too (0.19.0, ops21): a role with pg_monitor alone, and
# one granted only the two functions, read what the superuser reads; a plain
# role is refused both.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
P=${MONITORING_PORT:-55491}
bl_start_cluster mon "$P" "$(bl_test_log_conf mon.example/log)
wal_level = logical"
createdb mon
psql -X -q -v ON_ERROR_STOP=1 -d mon >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, soh numeric);
SELECT battledger.enable_ledger('reading', 'battery');
INSERT INTO reading SELECT 'B' || i % 3, 100 - i FROM generate_series(1, 5) i;
SELECT battledger.seal();
INSERT INTO reading VALUES ('B9', 90), ('B9', 89);
CREATE ROLE monitor LOGIN IN ROLE pg_monitor;
CREATE ROLE watch LOGIN;
GRANT EXECUTE ON FUNCTION battledger.health(), battledger.consortium_status() TO watch;
CREATE ROLE plain LOGIN;
-- a member joined whose subscription never ran ("no subscription"), so that
-- the status has a line and health() a member not ok: its log key is a
-- well-formed key named for it (C2SP key id = SHA-256(name || LF || alg || key)[0:4])
CREATE FUNCTION pg_temp.vkey(name text) RETURNS text LANGUAGE sql AS $$
    SELECT name || '+' || encode(substr(sha256(convert_to(name, 'UTF8') || '\x0a'::bytea || '\x01'::bytea || k), 1, 4), 'hex')
                || '+' || encode('\x01'::bytea || k, 'base64')
      FROM (SELECT substr(decode(regexp_replace(battledger.log_vkey(), '^[^+]*[+][^+]*[+]', ''), 'base64'), 2) AS k) x
$$;
SELECT battledger.join('b.example/log', 'host=b.example dbname=registry', pg_temp.vkey('b.example/log'));
SQL
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
check "health(): 2 rows pending, a log of 5 leaves, none cosigned" \
  test "$(psql -X -At -U monitor -d mon -c "SELECT pending_rows || ':' || log_size || ':' || uncosigned_leaves FROM battledger.health()")" = "2:5:5"
check "PUBLIC may not call it" \
  test "$(psql -X -At -d mon -c "SELECT has_function_privilege('public', 'battledger.health()', 'EXECUTE')")" = f
# what each role reads: the status's lines, and health() but its age, which moves
status_q="SELECT string_agg(s::text, ' | ' ORDER BY s.member) FROM battledger.consortium_status() s"
health_q="SELECT (h.origin, h.pending_rows, h.log_size, h.last_checkpoint_at, h.cosigned_size, h.uncosigned_leaves, h.members, h.members_not_ok, h.rejections, h.held_rows)::text FROM battledger.health() h"
status_su=$(psql -X -At -d mon -c "$status_q")
health_su=$(psql -X -At -d mon -c "$health_q")
check "the superuser sees b.example/log with no subscription, one member not ok" \
  test "$(psql -X -At -d mon -c "SELECT member || ':' || state FROM battledger.consortium_status()"):$(psql -X -At -d mon -c "SELECT members_not_ok FROM battledger.health()")" = "b.example/log:no subscription:1"
for r in monitor watch; do
  check "$r reads the status the superuser reads" test "$(psql -X -At -U $r -d mon -c "$status_q" 2>&1)" = "$status_su"
  check "$r reads the health the superuser reads" test "$(psql -X -At -U $r -d mon -c "$health_q" 2>&1)" = "$health_su"
done
# unpublished (0.24.0): the tables this member publishes that its
# publication lacks; NULL before there is one
unpub() { psql -X -At -U monitor -d mon -c "SELECT coalesce(unpublished::text, 'null') FROM battledger.health()"; }
createdb mon2; psql -X -q -d mon2 -c "CREATE EXTENSION battledger" >/dev/null
check "unpublished is null with no publication, no member joined (not a member yet)" \
  test "$(psql -X -At -d mon2 -c "SELECT coalesce(unpublished::text, 'null') FROM battledger.health()")" = null
check "every table before publish_member() where a member is joined" \
  test "$(unpub)" = "$(psql -X -At -d mon -c "SELECT count(*) + 3 FROM battledger.ledger_tables")"
psql -X -q -d mon -c "SELECT battledger.publish_member()" >/dev/null
check "0 once published" test "$(unpub)" = 0
psql -X -q -d mon -c "CREATE TABLE later (battery text, v int)" -c "SELECT battledger.enable_ledger('later', 'battery')" >/dev/null
check "1 after a ledger table is enabled, until publish_member() runs again" test "$(unpub)" = 1
psql -X -q -d mon -c "SELECT battledger.publish_member()" >/dev/null
psql -X -q -d mon -c "ALTER PUBLICATION battledger_member DROP TABLE battledger.checkpoint" >/dev/null
check "1 when the log's checkpoints were dropped from it" test "$(unpub)" = 1
psql -X -q -d mon -c "SELECT battledger.publish_member()" >/dev/null
# (red team r32, F4: a publication that publishes nothing, or not whole)
all_tables=$(psql -X -At -d mon -c "SELECT count(*) + 3 FROM battledger.ledger_tables")
psql -X -q -d mon -c "ALTER PUBLICATION battledger_member SET (publish = 'delete')" >/dev/null
check "every table when it publishes no inserts" test "$(unpub)" = "$all_tables"
psql -X -q -d mon -c "ALTER PUBLICATION battledger_member SET (publish = 'insert')" \
                  -c "ALTER PUBLICATION battledger_member SET TABLE battledger.log_leaf WHERE (false)" >/dev/null
check "every table when only the leaves are published, under a filter that lets none through" test "$(unpub)" = "$all_tables"
psql -X -q -d mon -c "SELECT battledger.publish_member()" -c "ALTER PUBLICATION battledger_member RENAME TO elsewhere" >/dev/null
check "every table when it was renamed, this database a member" test "$(unpub)" = "$all_tables"
psql -X -q -d mon -c "DROP PUBLICATION elsewhere" -c "SELECT battledger.publish_member()" >/dev/null
for f in consortium_status health; do
  check "a plain role is refused $f()" \
    grep -q "permission denied for function $f" <<<"$(psql -X -At -U plain -d mon -c "SELECT * FROM battledger.$f()" 2>&1)"
done

# a free TCP port, not a fixed one: another scenario or a second run of the
# suite on the machine may hold any port we would pick by hand
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
exporter_log=$BL_WORK/exporter.log
DATA_SOURCE_NAME="host=$BL_WORK port=$P user=monitor dbname=mon sslmode=disable" \
  prometheus-postgres-exporter --web.listen-address=127.0.0.1:$port \
    --extend.query-path="$BL_ROOT/monitoring/postgres_exporter.yml" --disable-default-metrics \
    --disable-settings-metrics > "$exporter_log" 2>&1 &
exporter=$!
trap 'kill $exporter 2>/dev/null || true; bl_cleanup' EXIT
metrics=""
for i in $(seq 1 50); do
  metrics=$(curl -s "http://127.0.0.1:$port/metrics" || true)
  grep -q '^battledger_pending_rows' <<<"$metrics" && break
  sleep 0.2
done
check "the exporter serves battledger_pending_rows 2" \
  grep -q '^battledger_pending_rows{.*origin="mon.example/log".*} 2$' <<<"$metrics"
check "and battledger_log_size 5" grep -q '^battledger_log_size{.*} 5$' <<<"$metrics"
check "and battledger_members_not_ok 1" grep -q '^battledger_members_not_ok{.*} 1$' <<<"$metrics"
check "and battledger_unpublished 0" grep -q '^battledger_unpublished{.*} 0$' <<<"$metrics"
check "and battledger_member_ok 0 for b.example/log, labelled with its state" \
  grep -q '^battledger_member_ok{.*member="b.example/log".*state="no subscription".*} 0$' <<<"$metrics"
if [ $fail != 0 ]; then grep '^battledger' <<<"$metrics" || true; tail -5 "$exporter_log"; fi
[ $fail = 0 ] && echo "monitoring: PASS" || { echo "monitoring: FAIL"; exit 1; }
