#!/usr/bin/env bash
# A bulk load's memory (0.17.0): the chain trigger keeps the heads of the
# chains a plain INSERT or COPY FROM has written so far, to skip their index
# lookups; unbounded, a plain role's single INSERT ... SELECT of a new chain
# per row held 150-300 bytes a row in its backend until the statement ended
# (3M rows: 777 MB at its peak where an indexed table's load took 155 MB),
# enough, at a large enough load, to bring the OOM killer onto the server.
# Now at most STMT_HEADS_MAX (100,000) chains are kept (src/pg/chain.c).
# Checks, as a plain role with INSERT on the table:
#   - the backend's peak resident size for 600,000 rows of new chains stays
#     within 100 MB of an indexed plain table's load of the same rows (the
#     unbounded cache: about 200 MB over);
#   - rows of chains cached, dropped when the cache starts afresh, then
#     written again in the same statement chain on (verify() clean, each
#     chain's seq 1..3);
#   - the chains are byte-identical to the same rows loaded by ON CONFLICT
#     statements, which never cache heads.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
# small shared buffers: both loads touch all of them, so that the peak
# resident sizes differ by the backends' own memory
bl_start_cluster mem "${BULK_MEMORY_PORT:-55497}" "battledger.origin = 'mem.test/log'
shared_buffers = 16MB"
createdb bm
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d bm "$@"; }
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }

q <<'SQL'
CREATE EXTENSION battledger;
CREATE ROLE loader LOGIN;
CREATE TABLE plain_t (k text, v int);
CREATE INDEX ON plain_t (k, v);
CREATE TABLE led (k text, v int);
SELECT battledger.enable_ledger('led', 'k');
CREATE TABLE again (k text, v int);
SELECT battledger.enable_ledger('again', 'k');
CREATE TABLE again_nc (k text, v int);
SELECT battledger.enable_ledger('again_nc', 'k');
CREATE UNIQUE INDEX ON again_nc (v);
GRANT INSERT ON plain_t, led, again, again_nc TO loader;
-- to read its own backend's peak memory (PostgreSQL 15: SET on a parameter)
GRANT SET ON PARAMETER log_statement_stats TO loader;
SQL
# the backend's peak resident size (kB) after one statement, as loader
peak() {
  psql -X -q -At -d bm -U loader -c "SET client_min_messages = log" -c "SET log_statement_stats = on" -c "$1" 2>&1 |
    sed -n 's/^!\t*\([0-9]*\) kB max resident size.*/\1/p'
}
P=$(peak "INSERT INTO plain_t SELECT 'chain-' || i, i FROM generate_series(1, 600000) i")
L=$(peak "INSERT INTO led SELECT 'chain-' || i, i FROM generate_series(1, 600000) i")
echo "# peak resident size: indexed plain table ${P} kB, ledger ${L} kB (600,000 rows, a chain each)"
within() { [ -n "$P" ] && [ -n "$L" ] && [ $((L - P)) -lt 102400 ]; }
check "a ledger load of 600,000 new chains peaks within 100 MB of the indexed table's" within

# 150,000 chains written three times in one statement: the cache starts
# afresh past 100,000 chains, so later rows find their chains' heads in
# the index; and once more by statements that never cache (ON CONFLICT)
q -U loader -c "INSERT INTO again SELECT 'c' || (i % 150000), i FROM generate_series(0, 449999) i"
q -U loader -c "INSERT INTO again_nc SELECT 'c' || (i % 150000), i FROM generate_series(0, 449999) i ON CONFLICT DO NOTHING"
check "150,000 chains written three times in one statement: verify() clean, seq 1..3" \
  [ "$(q -c "SELECT count(*) FROM battledger.verify('again')"):$(q -c "SELECT count(*) || ':' || max(ledger_seq) || ':' || count(DISTINCT k) FROM again")" = "0:450000:3:150000" ]
check "  and the same chains as statements that never cache heads, hash for hash" \
  [ "$(q -c "SELECT count(*) FROM again a FULL JOIN again_nc b USING (k, ledger_seq) WHERE a.ledger_hash::text IS DISTINCT FROM b.ledger_hash::text")" = 0 ]
exit $fail
