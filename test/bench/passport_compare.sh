#!/usr/bin/env bash
# test/bench/passport_compare.sh — passport() now against 0.3.0's, same data,
# same session: 0.3.0's body (bench_old.passport, from commit 5a7a32e's
# sql/install/85_passport.sql, reading 0.3.0's nine usage keys) and this
# version's (all usage keys), 60 alternating calls each, in-server medians, on
# the NASA-ALL-X1 / X2 batteries of test/bench/registry_schema.sql, with and
# without the disclosures' key index.  Uses battledger as installed for
# PG_CONFIG / PG_BIN; needs the git history (commit 5a7a32e).
#   PG_BIN=... PG_CONFIG=... bash test/bench/passport_compare.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/lib/cluster.sh
OLD_FN=$(mktemp)
git show 5a7a32e:sql/install/85_passport.sql | awk '/^-- JIT off/{p=1} /^CREATE FUNCTION @extschema@.battery_history/{p=0} p' \
  | sed -e 's/@extschema@\.passport(/bench_old.passport(/' -e 's/@extschema@/battledger/g' > "$OLD_FN"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); commit $(git rev-parse --short HEAD)"
bl_scratch
bl_start_cluster cmp 55497 "$(bl_test_log_conf bench.example/cmp)
shared_buffers = 1GB"
DB=registry; createdb $DB
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d $DB -c "$1"; }
q "CREATE EXTENSION battledger"; q "CREATE EXTENSION battledger_test_signer"
q 'ALTER DATABASE registry SET search_path = "$user", public, battledger, battledger_test'
psql -X -q -v ON_ERROR_STOP=1 -d $DB -v nasa_csv=data/nasa/nasa_pcoe_cycle_summary.csv -f test/bench/registry_schema.sql >/dev/null
q "SELECT bench_reg.place('NASA-ALL-X1', with_lots => true), bench_reg.place('NASA-ALL-X2', with_lots => true)" >/dev/null
q "SELECT bench_reg.stage('x1', 'NASA-ALL-X1', 1)" >/dev/null; q "SELECT bench_reg.stage('x2', 'NASA-ALL-X2', 2)" >/dev/null
q "CALL bench_reg.load('x1', 'battledger.battery_event', 'battledger.disclosure', true)" >/dev/null
q "CALL bench_reg.load('x2', 'battledger.battery_event', 'battledger.disclosure', true)" >/dev/null
q "SELECT battledger.seal()" >/dev/null; q "VACUUM ANALYZE"
q "CREATE SCHEMA bench_old"
psql -X -q -v ON_ERROR_STOP=1 -d $DB -f "$OLD_FN" >/dev/null
for b in X1 X2; do
  for tier in public legitimate_interest; do
    for idx in with without; do
    psql -X -q -At -d $DB <<SQL
BEGIN;
$( [ $idx = without ] && echo "DROP INDEX battledger.disclosure_keys;" )
CREATE TEMP TABLE old_attrs AS SELECT * FROM battledger._dynamic_attribute
 WHERE key IN ('soh_pct', 'capacity_ah', 'capacity_fade_pct', 'full_cycles', 'energy_throughput_kwh',
               'capacity_throughput_ah', 're_ohm', 'resistance_increase_pct', 't_cell_max_c');
CREATE TEMP TABLE new_attrs AS SELECT * FROM battledger._dynamic_attribute;
DO \$\$
DECLARE b battledger.battery_id := (SELECT battery_id FROM battledger.battery_event e WHERE battery_id::text LIKE '%NASA-ALL-$b' LIMIT 1);
  t0 timestamptz; old_ms numeric[] := '{}'; new_ms numeric[] := '{}'; i int;
BEGIN

  FOR i IN 1..60 LOOP
    -- 0.3.0's nine usage keys for 0.3.0's body, all of them for this one
    DELETE FROM battledger._dynamic_attribute; INSERT INTO battledger._dynamic_attribute SELECT * FROM old_attrs;
    t0 := clock_timestamp(); PERFORM bench_old.passport(b, '$tier'); old_ms := old_ms || extract(epoch FROM clock_timestamp() - t0) * 1000;
    DELETE FROM battledger._dynamic_attribute; INSERT INTO battledger._dynamic_attribute SELECT * FROM new_attrs;
    t0 := clock_timestamp(); PERFORM battledger.passport(b, '$tier'); new_ms := new_ms || extract(epoch FROM clock_timestamp() - t0) * 1000;
  END LOOP;
  RAISE NOTICE 'NASA-ALL-$b $tier, $idx disclosure_keys: 0.3.0 median % ms, now median % ms (ratio %)',
    round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(old_ms) x)::numeric, 2),
    round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(new_ms) x)::numeric, 2),
    round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(new_ms) x)::numeric
        / (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(old_ms) x)::numeric, 2);
END \$\$;
ROLLBACK;
SQL
    done
  done
done
rm -f "$OLD_FN"
