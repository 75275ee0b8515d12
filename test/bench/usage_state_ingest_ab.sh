#!/usr/bin/env bash
# test/bench/usage_state_ingest_ab.sh — what the usage state (87_usage_state.sql)
# costs a writer: legitimate-interest usage reports with per-cycle data written
# with its triggers on (this version) and off, interleaved, on
# test/shell/derived_values.sh's database (its checks run first).
#
# Each run makes a new battery (manufactured, handed over, placed on the
# market) and writes the NASA cells B0045-B0048 as its reports (736, each a
# disclosure and a signed soh_reported row: test/data/nasa_cycles.sql), once
# one transaction per cell (184 reports) and once all in one transaction (one
# state row updated 736 times in it). The figure is the backend's CPU time
# (user + system, /proc/PID/stat) for the writes; the median of BENCH_REPS.
# The triggers are disabled with ALTER TABLE for the "off" runs, which leaves
# those batteries without state: the script ends with usage_state_rebuild()
# and usage_state_check(), which must find nothing.
#
#   bash test/bench/usage_state_ingest_ab.sh     # battledger as installed, port DV_PORT (55475)
# Environment: BENCH_REPS (5), DV_PORT.
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/lib/cluster.sh
BENCH_REPS=${BENCH_REPS:-5}
bl_scratch
W=$BL_WORK
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BL_WORK=$W bash test/shell/derived_values.sh > "$W/derived_values.out" 2>&1 ||
  { tail -20 "$W/derived_values.out"; echo "derived_values.sh failed" >&2; exit 1; }
P() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$W" -p "${DV_PORT:-55475}" -U postgres -d dv "$@"; }
battery() {
  P >/dev/null <<SQL
SET search_path = public, battledger, battledger_test;
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('$1')::text, 'event', 'manufactured', 'model_id', 'NASA-18650',
          'data', '{"rated": {"overchargeVoltageV": 4.21, "idleTemperatureLowerC": 5, "idleTemperatureUpperC": 40}}'::jsonb,
          'occurred_at', '2009-01-15T00:00:00Z'));
SELECT ev('cells.test', jsonb_build_object('battery_id', bid('$1')::text, 'event', 'handover', 'data', '{"to": "oem.test"}'::jsonb,
          'occurred_at', '2009-01-20T00:00:00Z'));
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('$1')::text, 'event', 'handover_accepted', 'occurred_at', '2009-01-20T00:00:00Z'));
SELECT ev('oem.test', jsonb_build_object('battery_id', bid('$1')::text, 'event', 'placed_on_market', 'passport_id', 'urn:bp:$1:1',
          'occurred_at', '2009-02-01T00:00:00Z'));
SQL
}
triggers() {
  P -c "ALTER TABLE battledger.battery_event $1 TRIGGER zz_battledger_usage_state" \
    -c "ALTER TABLE battledger.disclosure $1 TRIGGER battledger_usage_state" 2>/dev/null
}
TICKS="split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ' ', 14)::bigint
       + split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ' ', 15)::bigint"
# backend CPU ms to write the four cells' reports for battery $1, per cell ($2 = cell) or in one transaction
write() {
  local calls
  if [ "$2" = cell ]; then
    calls=$(for c in B0045 B0046 B0047 B0048; do printf -- "-c\nSELECT nasa_cycles('fleet.test', '%s', '%s')\n" "$c" "$1"; done)
  else
    calls=$(printf -- "-c\nSELECT sum(nasa_cycles('fleet.test', c, '%s')) FROM unnest(ARRAY['B0045', 'B0046', 'B0047', 'B0048']) c\n" "$1")
  fi
  local IFS=$'\n'
  # shellcheck disable=SC2086
  P -c "SET search_path = public, battledger, battledger_test" -c "CREATE TEMP TABLE t0 AS SELECT $TICKS AS ticks" \
    $calls -c "SELECT (($TICKS) - ticks) * 1000 / $(getconf CLK_TCK) FROM t0" | tail -1
}
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
declare -A R
for r in $(seq 1 "$BENCH_REPS"); do
  for v in on off; do
    for mode in cell one; do
      s="INGEST-$v-$mode-$r"
      battery "$s"
      [ $v = on ] || triggers DISABLE
      R[$v-$mode]+="$(write "$s" $mode) "
      [ $v = on ] || triggers ENABLE
    done
  done
done
echo "usage reports with per-cycle data, 736 a run (NASA B0045-B0048): backend CPU ms, median of $BENCH_REPS (runs in brackets)"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1), load $LOAD_BEFORE before; commit $(git rev-parse --short HEAD)"
echo
echo "| transactions | state triggers off | on (this) | on / off | per report, on - off |"
echo "|---|---:|---:|---:|---:|"
for mode in cell one; do
  # shellcheck disable=SC2086
  off=$(median ${R[off-$mode]}); on=$(median ${R[on-$mode]})
  echo "| $([ $mode = cell ] && echo 'one per cell (184 reports)' || echo 'one (736 reports)') | $off [${R[off-$mode]% }] | $on [${R[on-$mode]% }] | $(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.2f", a / b }') | $(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f ms", (a - b) / 736 }') |"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
P -c "SELECT battledger.usage_state_rebuild()" >/dev/null
left=$(P -c "SELECT count(*) FROM battledger.usage_state_check()")
echo "usage_state_check() after usage_state_rebuild(): $left batteries"
[ "$left" = 0 ]
