#!/usr/bin/env bash
# Red team r17q (0.16.0 review): the log queue's twin rule (branch logq at
# 3bd4564: one queue entry per (table, seq, hash) among rows possibly in
# flight, told apart by chain_statement_depth()).  The property, as r16q's:
# after any sequence of statements, once seal() has run, log_leaf holds
# exactly one leaf for every local row of every ledger table and none for a
# row that does not exist (verify_log(true) clean, and log_leaf compared with
# the tables directly), every statement has the same outcome as on main's
# build, and (new here) every ledger table's chain verifies (verify()) on
# both builds: a chain broken on main too is reported as "main too".
# Each case prints "ok <case>" / "FAIL <case>: ..."; exit status: FAILs.
# PG_BIN: the build under test (logq); MAIN_PG_BIN: main's build (required:
# every case runs on both and compares).  R17Q_PORT_BASE (default 56750:
# ports +1, +2).  R17Q_ONLY=F|C|D runs one group.
#
# What the cases have in common: a statement's ExecutorFinish, which no hook
# saw, runs the rest of its data-modifying CTEs (ExecPostprocessPlan: a CTE
# its query does not read runs there whole) after ExecutorRun has returned
# and restored the enclosing statement's state.  From a function called
# while another statement's row is being processed (a plain INSERT's SELECT
# list, a CHECK constraint), those rows were chained (1) with the enclosing
# plain INSERT's cache_ok: certain, with cached chain heads, though ON
# CONFLICT can skip them; (2) at the enclosing statement's depth, so a row
# still in flight there looked finished.
#
# Builds: "main" main 38d7254; "logq" logq 3bd4564; "r17q" this branch
# (81278cf: no cached heads in ExecutorFinish; 3b62574: ExecutorFinish counts
# in the depth; 3fc6e35: only the last row of a depth may be in flight).
# PostgreSQL 15, 2026-12-06 04:58-05:35 UTC, load 5-12 on 2 vCPUs shared
# with other helpers.
# logq 3bd4564 (whole script before D existed, then R17Q_ONLY=F after F3b
# got a table of its own, then R17Q_ONLY=D): 12 ok, 7 FAIL (F1 F2 F3 F4 C4
# C8 D1).  r17q 3fc6e35, whole script: 17 ok, 2 FAIL (F1 and C4, "main
# too": main's chains broken, r17q's intact), exit 2.  Roles: plain (INSERT, SELECT, TEMP),
# owner (the tables' owner, no superuser), postgres.
#   F1  FAILS on main and logq, holds on r17q.  plain: a pg_temp SQL
#       function whose unread CTE inserts ('K','once',i), ('K','e',i) ON
#       CONFLICT DO NOTHING, called from INSERT INTO plainlog SELECT g(i):
#       the skipped 'once' row's head is cached and the 'e' row follows it.
#       main: verify() reports missing_rows at seq 3, 5, 7 (the chain links
#       rows that do not exist); logq: the same and a leaf for each skipped
#       row (4 rows, 7 leaves, verify_log sealed_row_changed).  A chain
#       break by a plain role on main's build: the head cache of 0.15.0.
#   F2  FAILS on logq, holds on main and r17q.  plain: the same with one
#       skipped row per chain: main's chain holds; logq gave each skipped
#       row a leaf (1 row, 4 leaves).
#   F3  FAILS on logq (after 81278cf too), holds on main and r17q.  owner
#       (the gate of r16q X1: a partial unique index whose predicate calls
#       a function declared IMMUTABLE that reads a table): a plain row's
#       CHECK constraint inserts its twin from an unread CTE, skipped there;
#       the row lands.  The twin was chained at the depth of the row in
#       flight, so the twin rule took the row for a finished one: both
#       entries kept, the twin's lookup found the row.  2 rows, 3 leaves
#       (verify_log duplicate_leaf).
#   F3b the same for an ON CONFLICT row: holds on all (the lookup of the
#       twin that stands finds the row).
#   F4  FAILS on logq (after 81278cf too), holds on main and r17q.  owner,
#       no false declaration: an ON CONFLICT row's CHECK constraint calls a
#       function whose unread CTE inserts 12,000 rows into another ledger
#       table; past 10,000 queued rows the flush between them looked the
#       row in flight up (same depth: "finished") before it landed and
#       dropped its entry.  1 row, 0 leaves (verify_log row_not_in_log).
#   C1-C11  hold on r17q; on logq C4 (F1 with savepoints: main too) and C8
#       (F3 with a third twin rolled back) FAIL.  Top-level unread CTEs, one
#       read for one row (LIMIT 1); a fresh session's first statement an
#       unread CTE (the library loaded in ExecutorFinish); COPY (INSERT ...
#       ON CONFLICT RETURNING) TO STDOUT; unread CTEs nested in savepoints
#       rolled back and released; an AFTER ROW trigger and a deferred
#       constraint trigger inserting from unread CTEs; verify_log() from an
#       ON CONFLICT row's CHECK constraint; PREPARE TRANSACTION, COMMIT and
#       ROLLBACK PREPARED; three twins (CTE-skipped, rolled back, landed);
#       MERGE nested in a plain INSERT; EXPLAIN ANALYZE of an unread CTE; a
#       WITH HOLD cursor over such a function, fetched in parts, persisted
#       at COMMIT
#   D1  FAILS on logq (and on r17q before 3fc6e35), holds on r17q.  plain:
#       INSERT ... ON CONFLICT DO NOTHING of N rows whose SELECT list
#       inserts one ledger row per row.  Each nested statement's log trigger
#       rescanned every outer row still queued (a lesser depth: it could not
#       decide them) and moved the next between-rows flush 1,000 rows on, so
#       the outer rows waited for the statement's end: CPU grew as N^2, and
#       the queue's memory (each uncertain row keeps its chain key) as N,
#       past LOG_QUEUE_HOLD.  3fc6e35: only the last row chained at a depth
#       can be in flight; the others are decided.  Backend CPU ticks (10
#       ms), build/main, load 5-12: logq (3b62574, same code there) N=5,000
#       36/25, 20,000 196/63, 40,000 630/150, 80,000 2,549/385; 3bd4564 in
#       this script (N=40,000) 682/133; r17q 3fc6e35 40,000 124/118
#       (medians of 3), 80,000 245/269, in this script 150/157.
#   Z   no backend crashed (holds)
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }
note() { echo "# $*"; }
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"; [ "$(id -u)" = 0 ] && chown postgres: "$W"
P0=${R17Q_PORT_BASE:-56750}
declare -A PORT=([L]=$((P0 + 1)) [M]=$((P0 + 2)))
declare -A ORIGIN=([L]=l.example/log [M]=m.example/log)
declare -A BIN
declare -A LOGV WITV
LOGQ_PG_BIN=$PG_BIN
MAIN_PG_BIN=${MAIN_PG_BIN:?MAIN_PG_BIN: set it to the main build}
ONLY=${R17Q_ONLY:-}
q() { bl_mq "$@"; }
EXTRA="max_prepared_transactions = 10"
start_member() {   # start_member NAME BIN
  local save=$PG_BIN; PG_BIN=$2; BIN[$1]=$2
  bl_member_start "$1" "$W" "" "$EXTRA"
  PG_BIN=$save
  q "$1" >/dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE ROLE owner LOGIN;
CREATE ROLE plain LOGIN;
GRANT CREATE, USAGE ON SCHEMA public TO owner;
-- the property, as the superuser: one problem per line, nothing when it
-- holds; r16q's check, and each ledger table's chain (verify())
CREATE FUNCTION r17q_check() RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    t record;
    r text;
BEGIN
    FOR t IN SELECT c.oid::regclass AS rel, n.nspname || '.' || c.relname AS name
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('battledger', 'pg_catalog', 'information_schema')
               AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'ledger_hash')
             ORDER BY 2
    LOOP
        EXECUTE format($q$
            WITH l AS (SELECT seq, row_hash::text h FROM battledger.log_leaf WHERE tbl = %L),
                 r AS (SELECT ledger_seq seq, ledger_hash::text h FROM %s
                       WHERE coalesce(ledger_origin, '') IN ('', current_setting('battledger.origin')))
            , lc AS (SELECT seq, h, count(*) c FROM l GROUP BY seq, h)
            , bad AS (SELECT count(*) n FROM r LEFT JOIN lc USING (seq, h) WHERE coalesce(lc.c, 0) <> 1)
            , stray AS (SELECT count(*) n FROM l LEFT JOIN r USING (seq, h) WHERE r.seq IS NULL)
            SELECT CASE WHEN (SELECT count(*) FROM r) = (SELECT count(*) FROM l)
                         AND (SELECT n FROM bad) = 0 AND (SELECT n FROM stray) = 0
                   THEN NULL
                   ELSE %L || ': rows ' || (SELECT count(*) FROM r) || ' leaves ' || (SELECT count(*) FROM l)
                        || ' rows without exactly one leaf ' || (SELECT n FROM bad)
                        || ' leaves without a row ' || (SELECT n FROM stray)
                   END$q$, t.name, t.rel, t.name) INTO r;
        IF r IS NOT NULL THEN RETURN NEXT r; END IF;
        FOR r IN SELECT 'chain ' || t.name || ': seq ' || v.seq || ' ' || v.problem FROM battledger.verify(t.rel) v LOOP
            RETURN NEXT r;
        END LOOP;
    END LOOP;
    FOR r IN SELECT 'verify_log: ' || problem || ' ' || coalesce(ref::text, '') FROM battledger.verify_log(true) LOOP
        RETURN NEXT r;
    END LOOP;
END $$;
SQL
  q "$1" -c "ALTER ROLE owner SET search_path = public" >/dev/null
}
start_member L "$LOGQ_PG_BIN"
start_member M "$MAIN_PG_BIN"

# run ROLE SIDE: the SQL on stdin as ROLE in a fresh session; prints
# "committed" or the first error (terse)
run() {
  local role=$1 s=$2 out
  out=$(psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=terse -h "$BL_WORK" -p "${PORT[$s]}" -U "$role" -d bl 2>&1)
  if [ $? = 0 ]; then echo committed; else echo "$out" | grep -m1 -E 'ERROR|FATAL|terminat|server closed' | sed 's/^psql:[^E]*//'; fi
}
# seal_check SIDE: seal, then the property; prints the problems, or nothing
seal_check() {
  local s=$1
  q "$s" -c "SELECT battledger.seal()" >/dev/null 2>"$BL_WORK/seal.err" || { echo "seal failed: $(head -1 "$BL_WORK/seal.err")"; return; }
  q "$s" -c "SELECT * FROM r17q_check()" 2>&1 | tr '\n' ';'
}
# kase NAME ROLE: the SQL on stdin on both builds.  ok if logq's outcome is
# main's, logq's log and chains hold, and main's chains hold (a chain broken
# on main too is a finding: "main too")
declare -A RES
PREV_PL=""; PREV_PM=""
# newer NOW BEFORE: the ';'-separated problems of NOW that BEFORE did not list
newer() { [ -z "$1" ] && return; printf '%s\n' "$1" | tr ';' '\n' | grep -v '^$' | grep -Fxv -f <(printf '%s\n' "$2" | tr ';' '\n' | grep -v '^$'; echo '#none#') | tr '\n' ';'; }
kase() {
  local c=$1 role=$2 sql rl rm pl pm newpl newpm
  sql=$(cat)
  rl=$(printf '%s\n' "$sql" | run "$role" L)
  rm=$(printf '%s\n' "$sql" | run "$role" M)
  pl=$(seal_check L); pm=$(seal_check M)
  RES[$c]="main: $rm${pm:+ [log: $pm]} | logq: $rl${pl:+ [log: $pl]}"
  # a problem an earlier case left (the same line) is not this case's
  newpl=$(newer "$pl" "$PREV_PL"); newpm=$(newer "$pm" "$PREV_PM")
  PREV_PL=$pl; PREV_PM=$pm
  if [ "$rl" != "$rm" ]; then fail "$c" "outcome differs ($role): main: $rm; logq: $rl${pl:+; logq log: $pl}"
  elif [ -n "$newpl" ]; then fail "$c" "($role, $rl) after seal(): $newpl${newpm:+ (main: $newpm)}"
  elif [ -n "$newpm" ]; then fail "$c" "main too ($role, $rm): $newpm"
  else ok "$c"; note "$c: $rl${pl:+ (left by an earlier case: $pl)}"; fi
}
both() { local s in; in=$(cat); for s in L M; do printf '%s\n' "$in" | q "$s" "$@"; done; }

# ------------------------------------------------------------------ set-up
both >/dev/null <<'SQL'
SET ROLE owner;
CREATE FUNCTION mk(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (battery text NOT NULL, kind text NOT NULL, n int CHECK (n IS DISTINCT FROM -1))', t);
    PERFORM battledger.enable_ledger(t::regclass, 'battery');
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I (battery, kind) WHERE kind = ''once''', t || '_once', t);
    EXECUTE format('GRANT INSERT, SELECT ON %I TO plain', t);
END $$;
SELECT mk(t) FROM unnest(ARRAY['f1', 'f2', 'c', 'd', 'e', 'p', 's', 'h']) t;
CREATE TABLE plainlog (i int);
GRANT INSERT, SELECT ON plainlog TO plain;
-- the owner's gate (as r16q X1): a partial unique index whose predicate
-- calls a function declared IMMUTABLE that reads a table
CREATE TABLE gate (b text PRIMARY KEY, open boolean);
GRANT SELECT, UPDATE ON gate TO plain;
CREATE FUNCTION gate_open(b text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RETURN (SELECT open FROM public.gate g WHERE g.b = gate_open.b); END $$;
SQL

if [ -z "$ONLY" ] || [ "$ONLY" = F ]; then
# ------------------------------------------------------------------ F: findings
# F1: a plain role's pg_temp SQL function, called from a plain INSERT's
# SELECT list, whose unread CTE inserts with ON CONFLICT DO NOTHING: the
# CTE runs in the function statement's ExecutorFinish, with the outer plain
# INSERT's cache_ok.  ('K','once',1) is skipped and cached as the chain's
# head; ('K','e',1) follows it.  On main and logq 3bd4564: a chain with a
# missing row (verify(): missing_rows), and on logq a leaf for the skipped row.
kase F1-cte-in-finish-nested-in-plain-insert plain <<'SQL'
INSERT INTO f1 (battery, kind, n) VALUES ('K', 'once', 0);
CREATE FUNCTION pg_temp.g(i int) RETURNS int LANGUAGE sql AS $$
    WITH x AS (INSERT INTO public.f1 (battery, kind, n) VALUES ('K', 'once', i), ('K', 'e', i) ON CONFLICT DO NOTHING RETURNING 1)
    SELECT i $$;
INSERT INTO plainlog SELECT pg_temp.g(i) FROM generate_series(1, 3) i;
SQL
# F2: the same with one skipped row and nothing after it in its chain: the
# chain holds (main is right), logq 3bd4564 gave the skipped row a leaf
kase F2-skipped-row-in-finish-recorded-certain plain <<'SQL'
INSERT INTO f2 (battery, kind, n) VALUES ('J', 'once', 0);
CREATE FUNCTION pg_temp.g2(i int) RETURNS int LANGUAGE sql AS $$
    WITH x AS (INSERT INTO public.f2 (battery, kind, n) VALUES ('J', 'once', i) ON CONFLICT DO NOTHING RETURNING 1)
    SELECT i $$;
INSERT INTO plainlog SELECT pg_temp.g2(i) FROM generate_series(1, 3) i;
SQL
# F3: the owner's CHECK constraint inserts the row's twin from an unread
# CTE (ExecutorFinish, at the depth of the row in flight), skipped there by
# the gate; the row (plain, certain) lands.  The twin rule saw a twin chained
# at the same depth as a finished row: both kept, the twin found the row
# when looked up.  One row, two leaves.
kase F3-twin-from-cte-in-check-plain-row owner <<'SQL'
INSERT INTO gate VALUES ('G', true);
CREATE FUNCTION twin_cte(b text, k text, i int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE v int;
BEGIN
    IF k <> 'g' OR current_setting('r17q.busy', true) = '1' THEN RETURN true; END IF;
    PERFORM set_config('r17q.busy', '1', true);
    -- the row itself is checked under its statement's snapshot (gate shut)
    UPDATE public.gate SET open = true WHERE gate.b = twin_cte.b;
    WITH x AS (INSERT INTO public.gy (battery, kind, n) VALUES (b, k, i) ON CONFLICT DO NOTHING RETURNING 1)
    SELECT 1 INTO v;
    PERFORM set_config('r17q.busy', '0', true);
    RETURN true;
END $$;
CREATE TABLE gy (battery text NOT NULL, kind text NOT NULL, n int CHECK (twin_cte(battery, kind, n)));
SELECT battledger.enable_ledger('gy', 'battery');
CREATE UNIQUE INDEX gy_gate ON gy (battery, kind) WHERE kind = 'g' AND gate_open(battery);
SET r17q.busy = '1';
INSERT INTO gy (battery, kind, n) VALUES ('G', 'g', 0);
SET r17q.busy = '0';
UPDATE gate SET open = false WHERE b = 'G';
INSERT INTO gy (battery, kind, n) VALUES ('G', 'g', 1);
SQL
# F3b: the same for an ON CONFLICT row (uncertain: the twin rule keeps one),
# in a table of its own (gy2: a problem F3 left in gy is not this case's)
kase F3b-twin-from-cte-in-check-on-conflict-row owner <<'SQL'
INSERT INTO gate VALUES ('G2', true);
CREATE TABLE gy2 (battery text NOT NULL, kind text NOT NULL, n int);
SELECT battledger.enable_ledger('gy2', 'battery');
CREATE UNIQUE INDEX gy2_gate ON gy2 (battery, kind) WHERE kind = 'g' AND gate_open(battery);
CREATE FUNCTION twin_cte2(b text, k text, i int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE v int;
BEGIN
    IF k <> 'g' OR current_setting('r17q.busy', true) = '1' THEN RETURN true; END IF;
    PERFORM set_config('r17q.busy', '1', true);
    UPDATE public.gate SET open = true WHERE gate.b = twin_cte2.b;
    WITH x AS (INSERT INTO public.gy2 (battery, kind, n) VALUES (b, k, i) ON CONFLICT DO NOTHING RETURNING 1)
    SELECT 1 INTO v;
    PERFORM set_config('r17q.busy', '0', true);
    RETURN true;
END $$;
ALTER TABLE gy2 ADD CONSTRAINT gy2_twin CHECK (twin_cte2(battery, kind, n));
SET r17q.busy = '1';
INSERT INTO gy2 (battery, kind, n) VALUES ('G2', 'g', 0);
SET r17q.busy = '0';
UPDATE gate SET open = false WHERE b = 'G2';
INSERT INTO gy2 (battery, kind, n) VALUES ('G2', 'g', 1) ON CONFLICT DO NOTHING;
SQL
# F4: while an ON CONFLICT row waits in its CHECK constraint, an unread CTE
# there chains 12,000 rows (more than the 10,000 the queue keeps waiting):
# the flush between those rows took the row in flight for a finished one
# (same depth), looked it up before it landed and dropped its entry.  No
# false declaration needed: a CHECK constraint calling a function.
kase F4-row-in-flight-looked-up-too-early owner <<'SQL'
CREATE TABLE lb (battery text NOT NULL, n int);
SELECT battledger.enable_ledger('lb', 'battery');
CREATE FUNCTION big(k text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE v int;
BEGIN
    IF k = 'big' THEN
        WITH x AS (INSERT INTO public.lb (battery, n) SELECT 'B' || i, i FROM generate_series(1, 12000) i RETURNING 1)
        SELECT 1 INTO v;
    END IF;
    RETURN true;
END $$;
CREATE TABLE la (battery text NOT NULL, kind text NOT NULL, n int CHECK (big(kind)));
SELECT battledger.enable_ledger('la', 'battery');
CREATE UNIQUE INDEX la_once ON la (battery, kind) WHERE kind = 'once';
INSERT INTO la (battery, kind, n) VALUES ('U', 'big', 1) ON CONFLICT DO NOTHING;
SQL
fi

if [ -z "$ONLY" ] || [ "$ONLY" = C ]; then
# ------------------------------------------------------------------ C: other paths through ExecutorFinish
# C1: top-level unread CTEs (rows chained in the top-level ExecutorFinish),
# one read for one row (LIMIT 1: the rest in ExecutorFinish), with a plain
# row between, in one transaction
kase C1-top-level-cte-in-finish plain <<'SQL'
INSERT INTO c VALUES ('T', 'once', 0);
BEGIN;
WITH x AS (INSERT INTO c (battery, kind, n) VALUES ('T', 'once', 1), ('T', 'e', 1), ('T2', 'e', 1) ON CONFLICT DO NOTHING RETURNING 1) SELECT 1;
INSERT INTO c (battery, kind, n) VALUES ('T', 'e', 2);
WITH x AS (INSERT INTO c (battery, kind, n) SELECT 'T' || (i % 3), CASE WHEN i % 2 = 0 THEN 'once' ELSE 'e' END, i
           FROM generate_series(1, 1500) i ON CONFLICT DO NOTHING RETURNING 1) SELECT 1 FROM x LIMIT 1;
COMMIT;
SQL
# C2: a fresh session's first statement is an unread CTE: the library is
# loaded by a row chained in ExecutorFinish (no hook saw the statement)
kase C2-first-statement-cte-in-finish plain <<'SQL'
BEGIN;
WITH x AS (INSERT INTO d (battery, kind, n) SELECT 'FD' || (i % 3), CASE WHEN i % 2 = 0 THEN 'once' ELSE 'e' END, i
           FROM generate_series(1, 1500) i ON CONFLICT DO NOTHING RETURNING 1) SELECT 1;
INSERT INTO d (battery, kind, n) SELECT 'FD' || (i % 3), 'once', i FROM generate_series(1, 10) i ON CONFLICT DO NOTHING;
INSERT INTO d (battery, kind, n) VALUES ('FD0', 'e', 0);
COMMIT;
SQL
# C3: COPY (INSERT ... ON CONFLICT ... RETURNING) TO STDOUT
kase C3-copy-insert-returning-to-stdout plain <<'SQL'
COPY (INSERT INTO e (battery, kind, n) SELECT 'CP' || (i % 4), CASE WHEN i % 2 = 0 THEN 'once' ELSE 'e' END, i
      FROM generate_series(1, 200) i ON CONFLICT DO NOTHING RETURNING n) TO STDOUT;
SQL
# C4: a PL/pgSQL function's unread CTE in a plain INSERT's SELECT list, in
# savepoints rolled back and released
kase C4-cte-in-finish-savepoints plain <<'SQL'
BEGIN;
CREATE FUNCTION pg_temp.h(i int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE v int;
BEGIN
    WITH x AS (INSERT INTO public.h (battery, kind, n) VALUES ('H' || (i % 2), 'once', i), ('H' || (i % 2), 'e', i)
               ON CONFLICT DO NOTHING RETURNING 1) SELECT 1 INTO v;
    RETURN i;
END $$;
SAVEPOINT s;
INSERT INTO plainlog SELECT pg_temp.h(i) FROM generate_series(1, 10) i;
ROLLBACK TO s;
INSERT INTO plainlog SELECT pg_temp.h(i) FROM generate_series(1, 10) i;
SAVEPOINT t;
INSERT INTO plainlog SELECT pg_temp.h(i) FROM generate_series(11, 20) i;
RELEASE t;
SAVEPOINT u;
INSERT INTO plainlog SELECT pg_temp.h(i) FROM generate_series(21, 30) i;
RELEASE u;
COMMIT;
SQL
# C5: an AFTER ROW trigger (fires in ExecutorFinish) and a deferred
# constraint trigger (at COMMIT) inserting from an unread CTE
kase C5-after-and-deferred-triggers-cte owner <<'SQL'
CREATE TABLE trg (i int);
CREATE FUNCTION trg_ins() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v int;
BEGIN
    WITH x AS (INSERT INTO public.s (battery, kind, n) VALUES ('S' || (NEW.i % 3), 'once', NEW.i), ('S' || (NEW.i % 3), 'e', NEW.i)
               ON CONFLICT DO NOTHING RETURNING 1) SELECT 1 INTO v;
    RETURN NULL;
END $$;
CREATE TRIGGER trg_after AFTER INSERT ON trg FOR EACH ROW EXECUTE FUNCTION trg_ins();
CREATE TABLE trg2 (i int);
CREATE CONSTRAINT TRIGGER trg_def AFTER INSERT ON trg2 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION trg_ins();
INSERT INTO trg SELECT generate_series(1, 20);
BEGIN;
INSERT INTO trg2 SELECT generate_series(21, 40);
INSERT INTO s (battery, kind, n) VALUES ('S1', 'e', 0);
COMMIT;
SQL
# C6: verify_log() (which writes the queue of finished statements) from an
# ON CONFLICT row's CHECK constraint, after an unread CTE there
kase C6-verify-log-from-check owner <<'SQL'
CREATE FUNCTION vl(k text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE v int;
BEGIN
    IF k = 'vl' THEN
        WITH x AS (INSERT INTO public.p (battery, kind, n) SELECT 'VL' || i, 'e', i FROM generate_series(1, 50) i RETURNING 1)
        SELECT 1 INTO v;
        PERFORM count(*) FROM battledger.verify_log(false);
    END IF;
    RETURN true;
END $$;
ALTER TABLE p ADD CONSTRAINT p_vl CHECK (vl(kind));
INSERT INTO p (battery, kind, n) VALUES ('VLX', 'vl', 1) ON CONFLICT DO NOTHING;
BEGIN;
INSERT INTO p (battery, kind, n) VALUES ('VLY', 'vl', 2);
SAVEPOINT s;
INSERT INTO p (battery, kind, n) VALUES ('VLZ', 'vl', 3) ON CONFLICT DO NOTHING;
ROLLBACK TO s;
INSERT INTO p (battery, kind, n) VALUES ('VLZ', 'vl', 4) ON CONFLICT DO NOTHING;
COMMIT;
SQL
# C7: PREPARE TRANSACTION with rows an unread CTE chained (outer SELECT)
kase C7-prepare-with-cte-in-finish owner <<'SQL'
CREATE FUNCTION cte_fn(t text, i int) RETURNS int LANGUAGE sql AS $$
    WITH x AS (INSERT INTO public.e (battery, kind, n) VALUES (t, 'once', i), (t, 'e', i) ON CONFLICT DO NOTHING RETURNING 1)
    SELECT i $$;
BEGIN;
SELECT count(cte_fn('PP' || (i % 2), i)) FROM generate_series(1, 6) i;
PREPARE TRANSACTION 'r17q_c7';
COMMIT PREPARED 'r17q_c7';
BEGIN;
SELECT count(cte_fn('PQ' || (i % 2), i)) FROM generate_series(1, 6) i;
PREPARE TRANSACTION 'r17q_c7b';
ROLLBACK PREPARED 'r17q_c7b';
SQL
# C8: three twins of a plain row from its CHECK: one from an unread CTE
# (skipped by the gate), one inserted and rolled back (exception block); the
# row lands
kase C8-three-twins-cte-and-rolled-back owner <<'SQL'
INSERT INTO gate VALUES ('Z', true);
CREATE FUNCTION twin3(b text, k text, i int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE v int;
BEGIN
    IF k <> 'g' OR current_setting('r17q.busy', true) = '1' THEN RETURN true; END IF;
    PERFORM set_config('r17q.busy', '1', true);
    UPDATE public.gate SET open = true WHERE gate.b = twin3.b;
    WITH x AS (INSERT INTO public.gz (battery, kind, n) VALUES (b, k, i) ON CONFLICT DO NOTHING RETURNING 1)
    SELECT 1 INTO v;
    UPDATE public.gate SET open = false WHERE gate.b = twin3.b;
    BEGIN
        INSERT INTO public.gz (battery, kind, n) VALUES (b, k, i);
        RAISE EXCEPTION 'undo the twin';
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
    PERFORM set_config('r17q.busy', '0', true);
    RETURN true;
END $$;
CREATE TABLE gz (battery text NOT NULL, kind text NOT NULL, n int CHECK (twin3(battery, kind, n)));
SELECT battledger.enable_ledger('gz', 'battery');
CREATE UNIQUE INDEX gz_gate ON gz (battery, kind) WHERE kind = 'g' AND gate_open(battery);
SET r17q.busy = '1';
INSERT INTO gz (battery, kind, n) VALUES ('Z', 'g', 0);
SET r17q.busy = '0';
UPDATE gate SET open = false WHERE b = 'Z';
INSERT INTO gz (battery, kind, n) VALUES ('Z', 'g', 1);
UPDATE gate SET open = false WHERE b = 'Z';
INSERT INTO gz (battery, kind, n) VALUES ('Z', 'g', 2) ON CONFLICT DO NOTHING;
SQL
# C9: MERGE ... WHEN NOT MATCHED THEN INSERT from a function in a plain
# INSERT's SELECT list
kase C9-merge-nested-in-plain-insert owner <<'SQL'
CREATE FUNCTION mrg(i int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    MERGE INTO public.c t USING (SELECT 'MG' || (i % 2) AS b) s ON false
        WHEN NOT MATCHED THEN INSERT (battery, kind, n) VALUES (s.b, 'e', i);
    RETURN i;
END $$;
INSERT INTO plainlog SELECT mrg(i) FROM generate_series(1, 20) i;
SQL
# C10: EXPLAIN ANALYZE of an unread CTE, then the same rows ON CONFLICT
kase C10-explain-analyze-cte-in-finish plain <<'SQL'
BEGIN;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
WITH x AS (INSERT INTO e (battery, kind, n) SELECT 'EX' || (i % 3), 'once', i FROM generate_series(1, 30) i ON CONFLICT DO NOTHING RETURNING 1) SELECT 1;
INSERT INTO e (battery, kind, n) SELECT 'EX' || (i % 3), 'once', i FROM generate_series(1, 30) i ON CONFLICT DO NOTHING;
COMMIT;
SQL
# C11: a WITH HOLD cursor over a function with an unread CTE, fetched in
# parts, with a row between and the rest persisted at COMMIT
kase C11-hold-cursor-cte-in-finish plain <<'SQL'
CREATE FUNCTION pg_temp.k(i int) RETURNS int LANGUAGE sql AS $$
    WITH x AS (INSERT INTO public.d (battery, kind, n) VALUES ('CU' || (i % 2), 'once', i), ('CU' || (i % 2), 'e', i)
               ON CONFLICT DO NOTHING RETURNING 1)
    SELECT i $$;
BEGIN;
DECLARE cur CURSOR WITH HOLD FOR SELECT pg_temp.k(i) FROM generate_series(1, 20) i;
FETCH 5 FROM cur;
INSERT INTO d (battery, kind, n) VALUES ('CU0', 'e', 100);
COMMIT;
FETCH ALL FROM cur;
CLOSE cur;
SQL
fi

if [ -z "$ONLY" ] || [ "$ONLY" = D ]; then
# ------------------------------------------------------------------ D: cost
# D1: a plain role's INSERT ... ON CONFLICT whose SELECT list calls a
# function that inserts one row into a ledger table, for each of N rows.
# Each nested statement's log trigger rescans (and copies) every outer row
# still queued (of a lesser depth: undecidable there), and moves the next
# between-rows flush 1,000 rows on, so the outer rows are never looked up
# before the statement ends: CPU grows as N squared.  Backend CPU (utime +
# stime from /proc, in ticks) on both builds; FAIL if logq takes more than
# twice main's.  R17Q_D1_ROWS (default 40,000).
both >/dev/null <<'SQL'
SET ROLE owner;
SELECT mk('dc');
CREATE FUNCTION d_one(i int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.dc (battery, kind, n) VALUES ('N', 'e', i);
    RETURN i;
END $$;
GRANT EXECUTE ON FUNCTION d_one(int) TO plain;
SQL
# cpu SIDE SQL: the backend CPU ticks SQL took, run as plain
cpu() {
  q "$1" <<SQL | tail -1
CREATE TEMP TABLE t0 AS SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint v
  FROM pg_read_file('/proc/' || pg_backend_pid() || '/stat') s;
SET ROLE plain;
$2;
RESET ROLE;
SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint - (SELECT v FROM t0)
  FROM pg_read_file('/proc/' || pg_backend_pid() || '/stat') s;
SQL
}
D1N=${R17Q_D1_ROWS:-40000}
tl=$(cpu L "INSERT INTO dc (battery, kind, n) SELECT 'X' || i, 'once', d_one(i) FROM generate_series(1, $D1N) i ON CONFLICT DO NOTHING")
tm=$(cpu M "INSERT INTO dc (battery, kind, n) SELECT 'X' || i, 'once', d_one(i) FROM generate_series(1, $D1N) i ON CONFLICT DO NOTHING")
pl=$(seal_check L); pm=$(seal_check M)
RES[D1-nested-row-per-on-conflict-row-cost]="main: $tm ticks${pm:+ [log: $pm]} | logq: $tl ticks${pl:+ [log: $pl]}"
if [ -z "$tl" ] || [ -z "$tm" ]; then fail D1-nested-row-per-on-conflict-row-cost "no figure: logq '$tl', main '$tm'"
elif [ $((tl)) -gt $((2 * tm + 20)) ]; then fail D1-nested-row-per-on-conflict-row-cost "$D1N rows: logq $tl ticks of CPU, main $tm"
else ok D1-nested-row-per-on-conflict-row-cost; note "D1: $D1N rows: logq $tl ticks, main $tm"; fi
fi

# no backend crashed
for s in L M; do
  n=$(grep -c 'terminated by signal 11\|TRAP\|was terminated by signal 6' "$BL_WORK/$s.log" 2>/dev/null)
  [ "${n:-0}" = 0 ] && ok "Z-no-crash-$s" || fail "Z-no-crash-$s" "$(grep -m2 'terminated by signal' "$BL_WORK/$s.log")"
done
echo "# ---- outcomes (main | logq)"
for c in $(printf '%s\n' "${!RES[@]}" | sort); do echo "# $c: ${RES[$c]}"; done
exit $FAILS
