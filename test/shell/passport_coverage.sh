#!/usr/bin/env bash
# How many of the 93 BatteryPass v1.2 attributes the passports carry, measured
# on the fully declared EV battery of test/data/passport_batteries.sql, every
# tier together: 0.3.0's passport(id, tier) (the extension created at VERSION
# '0.3.0', same events) against this version's three formats
# (test/standards/attribute-map.tsv says where each attribute lives).
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
bl_start_cluster cov 55473 "$(bl_test_log_conf battledger.test/cov)"
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
OUT=$BL_WORK/cov; mkdir -p "$OUT"
B="('https://id.gs1.org/01/09521234567899/21/FULL-ev')::battledger.battery_id"
createdb old; createdb new
# one log per origin in a cluster: the second database seals under its own
psql -X -q -v ON_ERROR_STOP=1 -d new -c "LOAD 'battledger'" -c "ALTER DATABASE new SET battledger.origin = 'battledger.test/cov-new'"
psql -X -q -At -v ON_ERROR_STOP=1 -d old -c "CREATE EXTENSION battledger VERSION '0.3.0'" -f "$BL_ROOT/test/data/passport_batteries.sql" >/dev/null
psql -X -q -At -v ON_ERROR_STOP=1 -d new -c "CREATE EXTENSION battledger" -f "$BL_ROOT/test/data/passport_batteries.sql" >/dev/null
args=()
files=""
for tier in public legitimate_interest authority; do
  psql -X -q -At -v ON_ERROR_STOP=1 -d old -c "SELECT battledger.passport($B, '$tier')" > "$OUT/old.$tier.json"
  files="$files,$OUT/old.$tier.json"
done
args+=("battledger@0.3.0=${files#,}")
for fmt in battledger batterypass catenax; do
  files=""
  for tier in public legitimate_interest authority; do
    psql -X -q -At -v ON_ERROR_STOP=1 -d new -c "SELECT battledger.passport($B, '$tier', '$fmt')" > "$OUT/$fmt.$tier.json"
    files="$files,$OUT/$fmt.$tier.json"
  done
  args+=("$fmt=${files#,}")
done
echo "attribute (no, EV-mandatory): present in ${args[*]%%=*}"
/usr/bin/python3 "$BL_ROOT/test/lib/passport_coverage.py" "$BL_ROOT/test/standards/attribute-map.tsv" "${args[@]}" | tee "$BL_WORK/coverage.txt"
before=$(awk '$1 == "battledger@0.3.0" {print $2}' "$BL_WORK/coverage.txt")
after=$(awk '$1 == "any-format" {print $2}' "$BL_WORK/coverage.txt")
check "this version's formats carry more attributes than 0.3.0's passport ($after > $before)" test "$after" -gt "$before"
exit $fail
