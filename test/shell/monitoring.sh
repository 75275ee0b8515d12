#!/usr/bin/env bash
# Monitoring (issue 12, item 8): battledger.health() gives one line of
# counts, and Debian's prometheus-postgres-exporter, given
# monitoring/postgres_exporter.yml, serves them as Prometheus metrics:
# the test starts the exporter against a throwaway cluster on the loopback
# interface and reads the metrics from its HTTP endpoint.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster mon 55491 "$(bl_test_log_conf mon.example/log)"
createdb mon
psql -X -q -v ON_ERROR_STOP=1 -d mon >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, soh numeric);
SELECT battledger.enable_ledger('reading', 'battery');
INSERT INTO reading SELECT 'B' || i % 3, 100 - i FROM generate_series(1, 5) i;
SELECT battledger.seal();
INSERT INTO reading VALUES ('B9', 90), ('B9', 89);
CREATE ROLE monitor LOGIN IN ROLE pg_monitor;
SQL
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
check "health(): 2 rows pending, a log of 5 leaves, none cosigned" \
  test "$(psql -X -At -U monitor -d mon -c "SELECT pending_rows || ':' || log_size || ':' || uncosigned_leaves FROM battledger.health()")" = "2:5:5"
check "PUBLIC may not call it" \
  test "$(psql -X -At -d mon -c "SELECT has_function_privilege('public', 'battledger.health()', 'EXECUTE')")" = f

# a free TCP port, not a fixed one: another scenario or a second run of the
# suite on the machine may hold any port we would pick by hand
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
exporter_log=$BL_WORK/exporter.log
DATA_SOURCE_NAME="host=$BL_WORK port=55491 user=monitor dbname=mon sslmode=disable" \
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
check "and battledger_members_not_ok 0" grep -q '^battledger_members_not_ok{.*} 0$' <<<"$metrics"
if [ $fail != 0 ]; then grep '^battledger' <<<"$metrics" || true; tail -5 "$exporter_log"; fi
[ $fail = 0 ] && echo "monitoring: PASS" || { echo "monitoring: FAIL"; exit 1; }
