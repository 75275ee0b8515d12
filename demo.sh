#!/usr/bin/env bash
# battledger demo: installs what it needs (Debian 12, as root or with sudo),
# builds and installs the extension, starts a throwaway PostgreSQL 15 cluster
# on a private socket, and walks through a battery ledger built from real
# NASA PCoE cell-ageing measurements.  Set KEEP=1 to leave the cluster running.
set -euo pipefail
cd "$(dirname "$0")"
source test/lib/cluster.sh

bl_install_packages
bl_build_install
bl_start_cluster demo 55430
[ "${KEEP:-0}" = 1 ] && trap - EXIT
createdb demo
cp data/nasa/nasa_pcoe_cycle_summary.csv "$BL_WORK/nasa.csv"
[ "$(id -u)" = 0 ] && chown postgres: "$BL_WORK/nasa.csv"

run() { psql -X -q -d demo -v ON_ERROR_STOP=0 -v nasa="$BL_WORK/nasa.csv" "$@"; }

say "1. A ledger table: one hash chain per battery"
run -e <<'SQL'
CREATE EXTENSION battledger;
CREATE TABLE soh_report (
    battery      text NOT NULL,     -- NASA PCoE cell id
    cycle        int  NOT NULL,     -- discharge number
    measured_at  timestamp NOT NULL,
    capacity_ah  numeric NOT NULL,  -- measured discharge capacity
    soh_pct      numeric NOT NULL   -- capacity / rated 2.0 Ah
);
SELECT battledger.enable_ledger('soh_report', chain_by => 'battery');
SQL

say "2. Real measurements: every discharge of cells B0025..B0028 (NASA PCoE, public domain)"
run <<'SQL'
CREATE TEMP TABLE nasa (battery_id text, seq int, type text, start_time timestamp,
  ambient_temperature_c numeric, duration_s numeric, samples int, v_min numeric, v_max numeric,
  t_cell_max_c numeric, ah_throughput numeric, wh_throughput numeric, capacity_ah numeric,
  re_ohm numeric, rct_ohm numeric);
\set copy_cmd '\\copy nasa FROM ' :'nasa' ' WITH (FORMAT csv, HEADER true)'
:copy_cmd
\timing on
INSERT INTO soh_report
SELECT battery_id, row_number() OVER (PARTITION BY battery_id ORDER BY seq), start_time,
       round(capacity_ah, 4), round(capacity_ah / 2.0 * 100, 2)
  FROM nasa
 WHERE type = 'discharge' AND battery_id IN ('B0025', 'B0026', 'B0027', 'B0028')
 ORDER BY battery_id, seq;
\timing off
SELECT battery, count(*) AS reports, max(ledger_seq) AS chain_length,
       min(soh_pct) AS lowest_soh_pct, left(max(ledger_hash::text) FILTER (WHERE ledger_seq = 1), 16) || '…' AS first_hash
  FROM soh_report GROUP BY battery ORDER BY battery;
\echo 'Each row carries its position, the previous row''s hash and its own hash:'
SELECT battery, ledger_seq, cycle, capacity_ah, left(ledger_prev::text, 16) || '…' AS prev,
       left(ledger_hash::text, 16) || '…' AS hash
  FROM soh_report WHERE battery = 'B0025' AND ledger_seq <= 3 ORDER BY ledger_seq;
SQL

say "3. History cannot be rewritten, not even by the table owner"
run <<'SQL'
\echo '> UPDATE soh_report SET capacity_ah = 1.85 WHERE battery = ''B0025'' AND cycle = 28;'
UPDATE soh_report SET capacity_ah = 1.85 WHERE battery = 'B0025' AND cycle = 28;
\echo '> DELETE FROM soh_report WHERE soh_pct < 80;'
DELETE FROM soh_report WHERE soh_pct < 80;
\echo '> ALTER TABLE soh_report DISABLE TRIGGER ALL;'
ALTER TABLE soh_report DISABLE TRIGGER ALL;
SQL

say "4. verify(): the ledger is intact"
run -c "SELECT count(*) AS problems FROM battledger.verify('soh_report');"

say "5. A superuser switches the guards off and makes cell B0025 look healthier"
run <<'SQL'
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE soh_report DISABLE TRIGGER USER;
UPDATE soh_report SET capacity_ah = 1.85, soh_pct = 92.5 WHERE battery = 'B0025' AND cycle = 28;
ALTER TABLE soh_report ENABLE TRIGGER zz_battledger_chain;
ALTER TABLE soh_report ENABLE ALWAYS TRIGGER battledger_append_only;
ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
\echo 'tampered: B0025 cycle 28 now reads 1.85 Ah'
SQL

say "6. verify() catches it"
run -c "SELECT * FROM battledger.verify('soh_report');"

say "done"
if [ "${KEEP:-0}" = 1 ]; then
  echo "The cluster is still running: psql -h $BL_WORK -p 55430 -U postgres demo"
else
  echo "The throwaway cluster is stopped and removed.  Run with KEEP=1 to explore it."
fi
