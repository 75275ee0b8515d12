#!/usr/bin/env bash
# test/bench/rules_oracle_ab.sh — A/B of the 0.15.0 "rules' verdict only for
# signed rows" change (red team r16b P2) on the accepted path, and its cost
# on the refusal path.
#
# Two throwaway clusters, A (PG_BIN_A, e.g. main's build) and B (PG_BIN_B,
# this branch's), run in turn in the same run.  Each round pre-signs, untimed,
# BENCH_N "manufactured" battery events (each an accepted insert through
# _battery_rules(), _battery_verdict() and _check_second_life()) and
# BENCH_N refused ones (a signed "waste" move of a battery already in waste:
# BL035), then inserts them as one statement each (the refused ones one by
# one, each in its own subtransaction) and reads the backend's own CPU time
# (utime + stime of /proc/self/stat, read by the backend) before and after.
# Prints per-row µs per round and the medians.
#
#   PG_BIN_A, PG_BIN_B   server bin directories (both with battledger and
#                        battledger_test_signer installed)
#   BENCH_PORT           first of two ports (default 56530)
#   BENCH_N              rows per round (default 2000)
#   BENCH_REPS           rounds (default 5)
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/lib.sh"
PORT=${BENCH_PORT:-56530}
N=${BENCH_N:-2000}
REPS=${BENCH_REPS:-5}
bl_scratch
PG_BIN=$PG_BIN_A bl_start_cluster a "$PORT" "$(bl_test_log_conf a.test/log)"
PG_BIN=$PG_BIN_B bl_start_cluster b "$((PORT + 1))" "$(bl_test_log_conf b.test/log)"
declare -A P=([a]=$PORT [b]=$((PORT + 1)))
q() { local c=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${P[$c]}" -U postgres -d postgres "$@"; }
for c in a b; do
  q $c >/dev/null <<'SQL'
CREATE EXTENSION battledger; CREATE EXTENSION battledger_test_signer;
SET search_path = public, battledger, battledger_test;
SELECT add_member('cells.test', ARRAY['cell_maker', 'pack_maker']), add_key('cells.test', public_key(seed('cells.test')));
CREATE FUNCTION signed(m text, j jsonb) RETURNS battledger.battery_event LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event,
            j || jsonb_build_object('ledger_key_id', key_id(public_key(seed(m)))::text));
BEGIN r.ledger_sig := sign(seed(m), signing_bytes(r)); RETURN r; END $$;
DO $$ DECLARE r battledger.battery_model := jsonb_populate_record(NULL::battledger.battery_model,
    '{"model_id": "M1", "manufacturer": "cells.test", "category": "ev", "chemistry": "NMC", "rated_capacity_ah": 2.0,
      "nominal_voltage_v": 3.7, "mass_kg": 0.045}'::jsonb
    || jsonb_build_object('ledger_key_id', key_id(public_key(seed('cells.test')))::text));
BEGIN r.ledger_sig := sign(seed('cells.test'), signing_bytes(r)); INSERT INTO battledger.battery_model SELECT r.*; END $$;
CREATE FUNCTION cpu() RETURNS float8 LANGUAGE sql AS $$
    SELECT (split_part(s, ' ', 12)::float8 + split_part(s, ' ', 13)::float8) / 100   -- utime, stime: fields 14, 15
      FROM (SELECT split_part(pg_read_file('/proc/self/stat'), ') ', 2) AS s) x $$;
SQL
done
declare -A ACC REF
for c in a b; do ACC[$c]=""; REF[$c]=""; done
for r in $(seq 1 "$REPS"); do
  for c in a b; do
    out=$(q $c <<SQL
SET search_path = public, battledger, battledger_test;
CREATE TEMP TABLE acc AS SELECT s.* FROM generate_series(1, $N) i,
    LATERAL signed('cells.test', jsonb_build_object('battery_id', 'gs1:01/09521234567899/21/R$r-' || i,
       'event', 'manufactured', 'model_id', 'M1', 'occurred_at', '2026-01-01T00:00:00Z')) s;
CREATE TEMP TABLE ref AS SELECT s.* FROM generate_series(1, $N) i,
    LATERAL signed('cells.test', jsonb_build_object('battery_id', 'gs1:01/09521234567899/21/R$r-' || i,
       'event', 'no_such_event', 'occurred_at', '2026-01-01T00:00:00Z')) s;
CREATE TEMP TABLE t (what text, cpu float8);
INSERT INTO t SELECT 'before', cpu();
INSERT INTO battledger.battery_event SELECT * FROM acc;
INSERT INTO t SELECT 'acc', cpu();
DO \$\$ DECLARE e battledger.battery_event; BEGIN
  FOR e IN SELECT * FROM ref LOOP
    BEGIN INSERT INTO battledger.battery_event SELECT e.*; EXCEPTION WHEN sqlstate 'BL030' THEN NULL; END;
  END LOOP; END \$\$;
INSERT INTO t SELECT 'ref', cpu();
SELECT round((((SELECT cpu FROM t WHERE what = 'acc') - (SELECT cpu FROM t WHERE what = 'before')) * 1e6 / $N)::numeric, 1)
       || ' ' || round((((SELECT cpu FROM t WHERE what = 'ref') - (SELECT cpu FROM t WHERE what = 'acc')) * 1e6 / $N)::numeric, 1);
SQL
)
    read -r a f <<<"$out"
    ACC[$c]+=" $a"; REF[$c]+=" $f"
    echo "round $r $c: accepted $a µs/row, refused (signed, BL030) $f µs/row  (load $(cut -d' ' -f1-3 /proc/loadavg))"
  done
done
for c in a b; do
  echo "median $c: accepted $(median ${ACC[$c]}) µs/row, refused $(median ${REF[$c]}) µs/row"
done
