#!/usr/bin/env bash
# Arrival check's CHECK / NOT NULL evaluation (red team r8, C1): 100,000
# replicated rows (session_replication_role = replica, rows precomputed in a
# staging table) into a ledger table with two CHECK constraints and a NOT
# NULL, and into one without, three runs each; backend CPU (user+sys, in
# ticks of 10 ms, from /proc/<backend pid>/stat).  Run it once per build, each
# installed into its own PostgreSQL copy, and compare the two outputs:
#   test/bench/arrive_checks_ab.sh PG_BIN PORT LABEL
set -uo pipefail
export PG_BIN=$1
cd "$(dirname "$0")/../.." && source test/lib/cluster.sh
bl_scratch
bl_start_cluster b$2 $2 "battledger.origin = 'a.example/log'" >/dev/null
createdb reg
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d reg "$@"; }
q <<'SQL' >/dev/null
CREATE EXTENSION battledger;
SET search_path = public, battledger;
CREATE TABLE withc (battery text, soh int CHECK (soh BETWEEN 0 AND 100), note text NOT NULL CHECK (length(note) < 50));
CREATE TABLE noc (battery text, soh int, note text);
SELECT enable_ledger('withc', 'battery'); SELECT enable_ledger('noc', 'battery');
CREATE FUNCTION mk_withc(i int) RETURNS withc LANGUAGE plpgsql AS $$
DECLARE r withc := jsonb_populate_record(NULL::withc, jsonb_build_object('battery', 'B' || i, 'soh', i % 100, 'note', 'n' || i));
BEGIN r.ledger_origin := 'b.example/log'; r.ledger_seq := 1; r.ledger_prev := repeat('0', 64)::hash256;
  r.ledger_hash := chain_hash(r.ledger_prev, 1, row_bytes(r)); RETURN r; END $$;
CREATE FUNCTION mk_noc(i int) RETURNS noc LANGUAGE plpgsql AS $$
DECLARE r noc := jsonb_populate_record(NULL::noc, jsonb_build_object('battery', 'B' || i, 'soh', i % 100, 'note', 'n' || i));
BEGIN r.ledger_origin := 'b.example/log'; r.ledger_seq := 1; r.ledger_prev := repeat('0', 64)::hash256;
  r.ledger_hash := chain_hash(r.ledger_prev, 1, row_bytes(r)); RETURN r; END $$;
CREATE TABLE stage_withc (LIKE withc); INSERT INTO stage_withc SELECT (mk_withc(i)).* FROM generate_series(1, 100000) i;
CREATE TABLE stage_noc (LIKE noc); INSERT INTO stage_noc SELECT (mk_noc(i)).* FROM generate_series(1, 100000) i;
SQL
for run in 1 2 3; do
  for t in withc noc; do
    out=$(q <<SQL
SELECT pg_backend_pid() AS pid \gset
\setenv P :pid
\! awk '{print \$14+\$15}' /proc/\$P/stat
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO $t SELECT * FROM stage_$t;
\! awk '{print \$14+\$15}' /proc/\$P/stat
ROLLBACK;
SQL
)
    a=$(sed -n 1p <<<"$out"); b=$(sed -n 2p <<<"$out")
    echo "$3 $t run$run cpu_ticks=$((b - a))"
  done
done
