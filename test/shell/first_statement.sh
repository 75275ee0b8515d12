#!/usr/bin/env bash
# The statement that loads battledger (issue 15): without
# session_preload_libraries the library is loaded by the first row the chain
# trigger sees, after the executor hooks would have run, and the trigger then
# decides by itself whether the statement may keep its chains' heads in
# memory (only the session's top-level plain INSERT or COPY FROM may).  Each
# case runs in a fresh session whose first statement is the one tested; a
# wrong decision chains a row to one ON CONFLICT skipped, which verify()
# reports.  Also: the heads computed in a fresh session, after LOAD, and with
# the cache off (ON CONFLICT) are byte-identical; a parallel index build that
# loads battledger in its workers warns of nothing.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

bl_scratch
# a battledger setting in postgresql.conf: a parallel worker that loads the
# library must take it without a warning
bl_start_cluster first "${FIRST_STATEMENT_PORT:-55493}" "battledger.origin = 'first.test/log'"
trap 'as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/first" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$BL_WORK"' EXIT
createdb fs
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d fs "$@"; }
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; else echo "FAIL - $what"; fail=1; fi; }
loaded() { [ "$(q -c "SELECT count(*) FROM pg_settings WHERE name = 'battledger.origin'")" = 0 ]; }

q <<'SQL'
CREATE EXTENSION battledger;
CREATE FUNCTION mk(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (battery text NOT NULL, kind text NOT NULL, n int)', t);
    PERFORM battledger.enable_ledger(t::regclass, 'battery');
    -- a second unique index, so that ON CONFLICT DO NOTHING can skip a chained row
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I (battery, kind) WHERE kind = ''once''', t || '_once', t);
END $$;
SELECT mk(t) FROM unnest(ARRAY['oc', 'nested', 'cte', 'dob', 'cp', 'fresh', 'loaded', 'nocache', 'cpbig']) t;
-- a nested statement that skips rows, called from a plain outer INSERT
CREATE FUNCTION skipper(i int) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO nested (battery, kind, n) VALUES ('B1', 'once', i), ('B1', 'inner', i)
        ON CONFLICT DO NOTHING;
    RETURN 'outer';
END $$;
SQL
check "a fresh session has not loaded battledger" loaded

problems() { q -c "SELECT count(*) FROM battledger.verify('$1')"; }
gapless() { q -c "SELECT bool_and(c = m) FROM (SELECT count(*) c, max(ledger_seq) m FROM $1 GROUP BY battery) s"; }

q -c "INSERT INTO oc (battery, kind, n) SELECT 'B' || (i % 3), CASE WHEN i % 2 = 0 THEN 'once' ELSE 'e' END, i
      FROM generate_series(1, 60) i ON CONFLICT DO NOTHING"
check "first statement ON CONFLICT skipping rows: verify() clean" [ "$(problems oc)" = 0 ]
check "  and gapless" [ "$(gapless oc)" = t ]

q -c "INSERT INTO nested (battery, kind, n) SELECT 'B1', skipper(i), i FROM generate_series(1, 20) i"
check "first statement plain, nested ON CONFLICT skipping rows: verify() clean" [ "$(problems nested)" = 0 ]
check "  and gapless" [ "$(gapless nested)" = t ]
check "  rows: 1 once + 20 inner + 20 outer" [ "$(q -c "SELECT count(*) FROM nested")" = 41 ]

q -c "WITH x AS (INSERT INTO cte (battery, kind, n) VALUES ('B1', 'once', 0), ('B1', 'once', 1), ('B1', 'c', 2)
        ON CONFLICT DO NOTHING RETURNING n)
      INSERT INTO cte (battery, kind, n) SELECT 'B1', 'd', n FROM x"
q -c "INSERT INTO cte (battery, kind, n) VALUES ('B1', 'z', 9)"
check "first statement with an ON CONFLICT CTE: verify() clean" [ "$(problems cte)" = 0 ]
check "  and gapless" [ "$(gapless cte)" = t ]

q -c "DO \$\$ BEGIN INSERT INTO dob (battery, kind, n) SELECT 'B1', CASE WHEN i % 2 = 0 THEN 'once' ELSE 'e' END, i
        FROM generate_series(1, 10) i ON CONFLICT DO NOTHING; END \$\$"
check "first statement a DO block with ON CONFLICT: verify() clean" [ "$(problems dob)" = 0 ]
check "  and gapless" [ "$(gapless dob)" = t ]

printf 'B1\te\t1\nB2\te\t2\nB1\tf\t3\nB1\tg\t4\n' | q -c "COPY cp (battery, kind, n) FROM STDIN"
check "first statement COPY FROM: verify() clean" [ "$(problems cp)" = 0 ]
check "  and gapless" [ "$(gapless cp)" = t ]

# the same rows three ways: fresh session (cached), after LOAD (hooked), ON CONFLICT (index lookups)
load="SELECT 'B' || (i % 50), 'k' || (i % 7), i FROM generate_series(1, 5000) i"
q -c "INSERT INTO fresh (battery, kind, n) $load"
q -c "LOAD 'battledger'" -c "INSERT INTO loaded (battery, kind, n) $load"
q -c "INSERT INTO nocache (battery, kind, n) $load ON CONFLICT DO NOTHING"
for t in fresh loaded nocache; do
  check "$t: verify() clean" [ "$(problems $t)" = 0 ]
  check "$t: every row queued for the log once" \
    [ "$(q -c "SELECT count(DISTINCT row_hash::text) || '/' || count(*) FROM battledger.log_pending WHERE tbl = 'public.$t'")" = 5000/5000 ]
done
same() {
  q -c "SELECT count(*) FROM $1 a FULL JOIN $2 b USING (battery, ledger_seq)
        WHERE a.ledger_hash::text IS DISTINCT FROM b.ledger_hash::text
           OR a.ledger_prev::text IS DISTINCT FROM b.ledger_prev::text OR a.n IS DISTINCT FROM b.n"
}
q -c "COPY (SELECT 'B' || (i % 50), 'k' || (i % 7), i FROM generate_series(1, 5000) i) TO STDOUT" |
  q -c "COPY cpbig (battery, kind, n) FROM STDIN"
check "cpbig (fresh-session COPY): verify() clean" [ "$(problems cpbig)" = 0 ]
# Whether the heads were cached: chain-index scans (the sessions have ended, so
# their statistics are in).  Cached: one or two per chain (50); uncached: one
# or two per row (5,000).
sleep 1
scans() { q -c "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = '${1}_ledger_chain'"; }
check "fresh-session INSERT looked up each chain's head once, not each row's ($(scans fresh) scans)" [ "$(scans fresh)" -le 100 ]
check "fresh-session COPY looked up each chain's head once, not each row's ($(scans cpbig) scans)" [ "$(scans cpbig)" -le 100 ]
check "ON CONFLICT looked up every row's head ($(scans nocache) scans)" [ "$(scans nocache)" -ge 5000 ]
check "fresh-session chains equal the hooked ones, byte for byte" [ "$(same fresh loaded)" = 0 ]
check "fresh-session chains equal the uncached ones, byte for byte" [ "$(same fresh nocache)" = 0 ]
check "fresh-session COPY chains equal them too" [ "$(same fresh cpbig)" = 0 ]
# A parallel index build on a battledger type as a session's first statement:
# each worker loads battledger when it first compares two hashes, in parallel
# mode, and must take the settings it was handed (battledger.origin, above)
# without "cannot be set during a parallel operation" (one warning per
# setting and worker before 0.7.0).
out=$(PGOPTIONS="-c max_parallel_maintenance_workers=2 -c min_parallel_table_scan_size=0 -c maintenance_work_mem=256MB" \
      q -c "CREATE INDEX cpbig_hash ON cpbig (ledger_hash)" 2>&1)
if grep -q GUC_ALLOW_IN_PARALLEL "$("$PG_CONFIG" --includedir-server)/utils/guc.h"; then
  check "a parallel index build that loads battledger warns of nothing${out:+ ($out)}" [ -z "$out" ]
else
  echo "ok - # SKIP this PostgreSQL has no GUC_ALLOW_IN_PARALLEL: its parallel workers warn (${out:-nothing})"
fi
exit $fail
