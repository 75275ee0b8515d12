#!/usr/bin/env bash
# Red team r16q (0.15.0 review): helper logq's log queue (the chain trigger
# records queue entries in backend memory, the AFTER INSERT statement trigger
# or the commit writes them to log_pending; uncertain rows are looked up in
# the chain index once their statement is done).  The property: after any
# sequence of statements, once seal() has run, log_leaf holds exactly one
# leaf for every local row of every ledger table and none for a row that
# does not exist (verify_log(true) clean, and log_leaf compared with the
# tables directly), and every statement has the same outcome (committed, or
# the same error) as on main's build.
# Each case prints "ok <case>" / "FAIL <case>: ..."; exit status: FAILs.
# PG_BIN: the build under test (logq); MAIN_PG_BIN: main's build (required:
# every case runs on both and compares).  R16Q_PORT_BASE (default 56600).
# R16Q_ONLY=A|T|S|P|X|R runs one group.
# "main" is main e7749c9; "logq" is branch logq at 95a9b96 (first runs) and
# 10ed803 (c7f544d: ON CONFLICT rows vouched for by their chain's next row),
# merged into r16q; PostgreSQL 15, 2026-12-06 02:40-03:15 UTC.  Roles: plain
# (INSERT, SELECT), owner (the tables' owner, no superuser), postgres.
#   A1-A10d  statements, same outcome on both and the log exact on logq
#       (holds on 95a9b96 and 10ed803): ON CONFLICT DO NOTHING as each role;
#       DO UPDATE (refused on both: UPDATE privilege / "UPDATE is not
#       allowed"); data-modifying CTEs (into another table, ON CONFLICT in
#       the CTE, one table three times, CHECK error at row 1,500 of the
#       outer INSERT after 2,000 CTE rows); INSERT in SQL and PL/pgSQL
#       functions called from SELECT, from INSERT ... SELECT (also under ON
#       CONFLICT), from a CHECK constraint of a plain table and of the
#       ledger table itself (also failing late), from a DEFAULT expression;
#       EXPLAIN ANALYZE INSERT (also ON CONFLICT, also rolled back); DECLARE
#       CURSOR FOR INSERT (a syntax error on both); a cursor over a function
#       that inserts, FETCHed in parts with an INSERT between, and WITH HOLD
#       across COMMIT; MERGE ... WHEN NOT MATCHED THEN INSERT; 3,000 rows
#       with a CHECK error at row 1,500 (plain and ON CONFLICT), 3,000 ON
#       CONFLICT rows, a unique violation at row 1,507
#   T1-T6  triggers (holds): the owner's early BEFORE trigger returning NULL
#       for half the rows (plain and ON CONFLICT, 2,500 rows as plain); a
#       BEFORE trigger inserting into the same ledger table (nested, ON
#       CONFLICT; T2/T2b hit "stack depth limit exceeded" on both in the
#       95a9b96 run, before the depth guard: same error, log exact); AFTER
#       ROW triggers inserting into two ledger tables; an AFTER ROW trigger
#       catching an error in an EXCEPTION block after chaining a row; a
#       deferred constraint trigger inserting at COMMIT; an INSTEAD OF view
#       trigger; a DO ALSO rule (refused on both)
#   S1-S7b  subtransactions (holds): PL/pgSQL EXCEPTION blocks after 1,600
#       and 1,500 chained rows; SAVEPOINT / RELEASE / ROLLBACK TO in many
#       orders, nested; a savepoint released then the transaction rolled
#       back; ON CONFLICT then ROLLBACK TO reusing the position; a CTE in a
#       rolled-back savepoint; statement_timeout cancelling a 5,000-row
#       INSERT (plain, ON CONFLICT then ROLLBACK TO and more rows, a CTE);
#       COPY failing mid-way, COPY in a savepoint rolled back
#   P0-P5  (holds on 10ed803, all 14; on 95a9b96 P0-P5-5, its run timed out):
#       \copy of 3,000 rows with an error at row 1,500; PREPARE TRANSACTION
#       with 1,200 plain + ON CONFLICT rows, COMMIT PREPARED / ROLLBACK
#       PREPARED from another session (one with a CTE ON CONFLICT); a
#       savepoint released before PREPARE; three sessions of three kinds
#       writing one chain at once (plain, ON CONFLICT, CTE); a backend
#       terminated mid-transaction after 1,530 chained rows; a backend
#       killed with SIGKILL after commit, before seal() (crash restart: the
#       unlogged queue is rebuilt, log exact); the first statement of a
#       fresh session (the library loaded by it): ON CONFLICT of 1,500 rows,
#       a CTE of 1,500, 3,000 rows failing at 1,500, a function nesting ON
#       CONFLICT, EXPLAIN ANALYZE ON CONFLICT, a plain 2,500-row INSERT
#   X1  FAILED on logq 95a9b96 and 10ed803; holds on main and on logq
#       3bd4564 (the twin rule, now in log_entries.c).  The table owner:
#       a unique partial index whose predicate calls a PL/pgSQL function
#       declared IMMUTABLE that reads a table (PostgreSQL accepts the
#       declaration), and an early BEFORE trigger that, on a later row of an
#       INSERT ... ON CONFLICT DO NOTHING, flips that table and inserts a
#       twin of a row the statement skipped: same chain, same position,
#       same content, so the same row hash.  The twin's entry is written at
#       the nested statement's end; the skipped row's entry waits for its
#       statement and is then found in the chain index (the twin's row) and
#       written too (the "landed" set that keeps one entry per position
#       lives for one flush, and certain entries never enter it).  After
#       seal(): 3 rows, 4 leaves, one row with two leaves;
#       verify_log(true) reports nothing (it checks each row against a
#       leaf, not that a row has one leaf: a gap of its own, main's too,
#       left alone).  Main: 3 rows, 3 leaves.  Needs the owner's false
#       IMMUTABLE: without it a skipped row's conflict persists (the table
#       only grows, and a subtransaction that removes the conflicting row
#       takes the skipped row's entry with it), so no twin can land
#   X2  the superuser with session_replication_role = replica: refused on
#       both alike (wrong_origin from the arrival trigger) (holds)
#   X3, X3b  25,000 ON CONFLICT rows, each the last of its own chain (more
#       than the 10,000 c7f544d keeps waiting), every other one skipped;
#       also in savepoints, one rolled back (holds on 10ed803)
#   X4  a table with one chain (no chain column): 3,000 ON CONFLICT rows
#       half skipped, a CTE with ON CONFLICT, savepoints (holds on 10ed803)
#   R1  arrivals by logical replication (holds on 10ed803): member L2
#       (logq) subscribes to L, M2 (main) to M (publication narrowed to
#       reading, log_leaf, checkpoint); 1,500 rows + a transaction with a
#       rolled-back savepoint (20 of 40 rows) arrive: 1,520 on both, no
#       apply error, the subscriber's log holds its 10 local rows only and
#       log_pending is empty after seal() on both
#   Z   no backend crashed (signal 11 / 6) in either server log (holds)
# Whole script on logq 10ed803 against main e7749c9 (03:05-03:14 UTC, load
# ~6-8 on 2 vCPUs shared with other helpers): 67 ok, 1 FAIL (X1), exit 1.
# On logq 3bd4564 (0.16.0 with the twin rule) against main e7749c9
# (2026-12-06 04:31-04:36 UTC, load ~6): 68 ok, 0 FAIL.
set -uo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
source "$(dirname "$0")/../lib/consortium.sh"
FAILS=0
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }
note() { echo "# $*"; }
bl_scratch
W=$BL_WORK/keys; mkdir -p "$W"; chmod 755 "$W"; [ "$(id -u)" = 0 ] && chown postgres: "$W"
P0=${R16Q_PORT_BASE:-56600}
declare -A PORT=([L]=$((P0 + 1)) [M]=$((P0 + 2)) [L2]=$((P0 + 3)) [M2]=$((P0 + 4)))
declare -A ORIGIN=([L]=l.example/log [M]=m.example/log [L2]=l2.example/log [M2]=m2.example/log)
declare -A BIN
declare -A LOGV WITV
LOGQ_PG_BIN=$PG_BIN
MAIN_PG_BIN=${MAIN_PG_BIN:?MAIN_PG_BIN: set it to the main build}
ONLY=${R16Q_ONLY:-}
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
-- the property, as the superuser: one problem per line, nothing when it holds
CREATE FUNCTION r16q_check() RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog AS $$
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

# run ROLE SIDE: the SQL on stdin as ROLE; prints "committed" or the first error (terse)
run() {
  local role=$1 s=$2 out
  out=$(psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=terse -h "$BL_WORK" -p "${PORT[$s]}" -U "$role" -d bl 2>&1)
  if [ $? = 0 ]; then echo committed; else echo "$out" | grep -m1 -E 'ERROR|FATAL|terminat|server closed' | sed 's/^psql:[^E]*//'; fi
}
# seal_check SIDE: seal, then the property; prints the problems, or nothing
seal_check() {
  local s=$1
  q "$s" -c "SELECT battledger.seal()" >/dev/null 2>"$BL_WORK/seal.err" || { echo "seal failed: $(head -1 "$BL_WORK/seal.err")"; return; }
  q "$s" -c "SELECT * FROM r16q_check()" 2>&1 | tr '\n' ';'
}
# kase NAME ROLE: the SQL on stdin on both builds; ok if logq's outcome is main's and the log holds on logq
declare -A RES
kase() {
  local c=$1 role=$2 sql rl rm pl pm
  sql=$(cat)
  rl=$(printf '%s\n' "$sql" | run "$role" L)
  rm=$(printf '%s\n' "$sql" | run "$role" M)
  pl=$(seal_check L); pm=$(seal_check M)
  RES[$c]="main: $rm${pm:+ [log: $pm]} | logq: $rl${pl:+ [log: $pl]}"
  # a problem an earlier case left (the same text) is not this case's
  local newpl=$pl; [ -n "$pl" ] && [ "$pl" = "$PREV_PL" ] && newpl=""
  PREV_PL=$pl
  if [ "$rl" != "$rm" ]; then fail "$c" "outcome differs ($role): main: $rm; logq: $rl${pl:+; logq log: $pl}"
  elif [ -n "$newpl" ]; then fail "$c" "($role, $rl) after seal(): $pl${pm:+ (main: $pm)}"
  else ok "$c"; note "$c: $rl${pm:+ (main log: $pm)}${pl:+ (left by an earlier case: $pl)}"; fi
}
PREV_PL=""
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
SELECT mk(t) FROM unnest(ARRAY['a', 'b', 'c', 'd', 'e', 'cp', 'tr', 'nest', 'px', 'cc']) t;
CREATE TABLE plainlog (i int);
GRANT INSERT, SELECT ON plainlog TO plain;
-- SECURITY INVOKER helpers a plain role may call
CREATE FUNCTION ins_a(i int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO a (battery, kind, n) VALUES ('F', 'once', i), ('F', 'e', i) ON CONFLICT DO NOTHING;
    RETURN i;
END $$;
CREATE FUNCTION ins_sql(i int) RETURNS int LANGUAGE sql AS $$
    INSERT INTO b (battery, kind, n) VALUES ('S', 'e', i), ('S', 'once', i) ON CONFLICT DO NOTHING RETURNING n
$$;
CREATE FUNCTION ins_c(i int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO c (battery, kind, n) VALUES ('K' || (i % 3), 'e', i);
    INSERT INTO c (battery, kind, n) VALUES ('K' || (i % 3), 'once', i) ON CONFLICT DO NOTHING;
    RETURN true;
END $$;
CREATE FUNCTION ins_c_default() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO c (battery, kind, n) VALUES ('D', 'e', 0), ('D', 'once', 0) ON CONFLICT DO NOTHING;
    RETURN 7;
END $$;
CREATE FUNCTION slow(i int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    IF i % 100 = 0 THEN PERFORM pg_sleep(0.05); END IF;
    RETURN i;
END $$;
GRANT EXECUTE ON FUNCTION ins_a(int), ins_sql(int), ins_c(int), ins_c_default(), slow(int) TO plain;
SQL

if [ -z "$ONLY" ] || [ "$ONLY" = A ]; then
# ------------------------------------------------------------------ A: statements
for role in plain owner postgres; do
kase "A1-on-conflict-do-nothing-$role" $role <<'SQL'
INSERT INTO a (battery, kind, n) SELECT 'B' || (i % 3), CASE WHEN i % 2 = 0 THEN 'once' ELSE 'e' END, i
  FROM generate_series(1, 60) i ON CONFLICT DO NOTHING;
SQL
done
kase A2-on-conflict-do-update-conflict plain <<'SQL'
INSERT INTO a (battery, kind, n) VALUES ('B0', 'once', 1) ON CONFLICT (battery, kind) WHERE kind = 'once' DO UPDATE SET n = 5;
SQL
kase A2b-on-conflict-do-update-no-conflict plain <<'SQL'
INSERT INTO a (battery, kind, n) VALUES ('U1', 'once', 1), ('U2', 'e', 2) ON CONFLICT (battery, kind) WHERE kind = 'once' DO UPDATE SET n = 5;
SQL
kase A2c-on-conflict-do-update-where-false owner <<'SQL'
INSERT INTO a (battery, kind, n) VALUES ('B0', 'once', 1), ('U3', 'once', 1) ON CONFLICT (battery, kind) WHERE kind = 'once' DO UPDATE SET n = 5 WHERE false;
SQL
kase A3-cte-insert-into-insert plain <<'SQL'
WITH x AS (INSERT INTO a (battery, kind, n) SELECT 'W', 'e', i FROM generate_series(1, 30) i RETURNING n)
INSERT INTO b (battery, kind, n) SELECT 'W', 'e', n FROM x;
SQL
kase A3b-cte-on-conflict-select plain <<'SQL'
WITH x AS (INSERT INTO a (battery, kind, n) SELECT 'W' || (i % 4), 'once', i FROM generate_series(1, 30) i ON CONFLICT DO NOTHING RETURNING n)
SELECT count(*) FROM x;
SQL
kase A3c-cte-same-table-twice plain <<'SQL'
WITH x AS (INSERT INTO a (battery, kind, n) SELECT 'Z', 'e', i FROM generate_series(1, 20) i RETURNING n),
     y AS (INSERT INTO a (battery, kind, n) SELECT 'Z', 'once', n FROM x ON CONFLICT DO NOTHING RETURNING n)
INSERT INTO a (battery, kind, n) SELECT 'Z', 'e', n FROM y;
SQL
kase A3d-cte-error-late plain <<'SQL'
WITH x AS (INSERT INTO a (battery, kind, n) SELECT 'Y', 'e', i FROM generate_series(1, 2000) i RETURNING n)
INSERT INTO b (battery, kind, n) SELECT 'Y', 'e', CASE WHEN n = 1500 THEN -1 ELSE n END FROM x;
SQL
kase A4-sql-function-from-select plain <<'SQL'
SELECT sum(ins_sql(i)) FROM generate_series(1, 20) i;
SQL
kase A4b-plpgsql-from-select plain <<'SQL'
SELECT count(*) FROM (SELECT ins_a(i) FROM generate_series(1, 20) i) s;
SQL
kase A4c-function-in-insert-select plain <<'SQL'
INSERT INTO a (battery, kind, n) SELECT 'F', 'e', ins_a(i) FROM generate_series(100, 140) i;
SQL
kase A4d-function-in-on-conflict-select plain <<'SQL'
INSERT INTO a (battery, kind, n) SELECT 'F', 'once', ins_a(i) FROM generate_series(200, 240) i ON CONFLICT DO NOTHING;
SQL
kase A5-check-constraint-inserts owner <<'SQL'
CREATE TABLE chk_host (i int CHECK (ins_c(i)));
INSERT INTO chk_host SELECT generate_series(1, 30);
SQL
kase A5b-check-on-ledger-table owner <<'SQL'
ALTER TABLE cc ADD CONSTRAINT cc_ins CHECK (ins_c(n));
INSERT INTO cc (battery, kind, n) SELECT 'Q' || (i % 2), 'e', i FROM generate_series(1, 30) i;
INSERT INTO cc (battery, kind, n) SELECT 'Q' || (i % 2), 'once', i FROM generate_series(1, 30) i ON CONFLICT DO NOTHING;
SQL
kase A5c-check-on-ledger-fails-late owner <<'SQL'
INSERT INTO cc (battery, kind, n) SELECT 'Q' || (i % 2), 'e', CASE WHEN i = 25 THEN -1 ELSE i END FROM generate_series(1, 30) i;
SQL
kase A6-default-inserts owner <<'SQL'
ALTER TABLE d ALTER COLUMN n SET DEFAULT ins_c_default();
INSERT INTO d (battery, kind) SELECT 'D' || (i % 3), 'e' FROM generate_series(1, 30) i;
INSERT INTO d (battery, kind) SELECT 'D' || (i % 3), 'once' FROM generate_series(1, 30) i ON CONFLICT DO NOTHING;
SQL
kase A7-explain-analyze plain <<'SQL'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) INSERT INTO a (battery, kind, n) SELECT 'X', 'e', i FROM generate_series(1, 40) i;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) INSERT INTO a (battery, kind, n) SELECT 'X' || (i % 5), 'once', i FROM generate_series(1, 40) i ON CONFLICT DO NOTHING;
SQL
kase A7b-explain-analyze-in-rolled-back-xact plain <<'SQL'
BEGIN;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) INSERT INTO a (battery, kind, n) SELECT 'X', 'e', i FROM generate_series(1, 40) i;
ROLLBACK;
SQL
kase A8-cursor-for-insert plain <<'SQL'
BEGIN;
DECLARE cur CURSOR FOR INSERT INTO a (battery, kind, n) VALUES ('C', 'e', 1) RETURNING n;
COMMIT;
SQL
kase A8b-cursor-over-function plain <<'SQL'
BEGIN;
DECLARE cur CURSOR FOR SELECT ins_a(i) FROM generate_series(300, 320) i;
FETCH 5 FROM cur;
FETCH 3 FROM cur;
INSERT INTO a (battery, kind, n) VALUES ('F', 'e', 1);
FETCH 2 FROM cur;
CLOSE cur;
COMMIT;
SQL
kase A8c-cursor-over-function-held owner <<'SQL'
BEGIN;
DECLARE cur CURSOR WITH HOLD FOR SELECT ins_a(i) FROM generate_series(400, 420) i;
FETCH 5 FROM cur;
COMMIT;
FETCH 3 FROM cur;
CLOSE cur;
SQL
kase A9-merge owner <<'SQL'
CREATE TABLE msrc (battery text, kind text, n int);
INSERT INTO msrc SELECT 'M' || i, CASE WHEN i % 2 = 0 THEN 'once' ELSE 'e' END, i FROM generate_series(1, 40) i;
INSERT INTO e (battery, kind, n) VALUES ('M2', 'once', 0), ('M4', 'once', 0);
MERGE INTO e USING msrc s ON e.battery = s.battery AND e.kind = s.kind AND e.kind = 'once'
  WHEN NOT MATCHED THEN INSERT (battery, kind, n) VALUES (s.battery, s.kind, s.n);
SQL
kase A10-1500-of-3000-plain plain <<'SQL'
INSERT INTO b (battery, kind, n) SELECT 'E' || (i % 7), 'e', CASE WHEN i = 1500 THEN -1 ELSE i END FROM generate_series(1, 3000) i;
SQL
kase A10b-1500-of-3000-on-conflict plain <<'SQL'
INSERT INTO b (battery, kind, n) SELECT 'E' || (i % 7), CASE WHEN i % 3 = 0 THEN 'once' ELSE 'e' END, CASE WHEN i = 1500 THEN -1 ELSE i END
  FROM generate_series(1, 3000) i ON CONFLICT DO NOTHING;
SQL
kase A10c-3000-on-conflict-ok plain <<'SQL'
INSERT INTO b (battery, kind, n) SELECT 'E' || (i % 7), CASE WHEN i % 3 = 0 THEN 'once' ELSE 'e' END, i
  FROM generate_series(1, 3000) i ON CONFLICT DO NOTHING;
SQL
kase A10d-unique-violation-at-1500 plain <<'SQL'
INSERT INTO b (battery, kind, n) SELECT 'V' || (i % 7), CASE WHEN i = 1500 THEN 'once' ELSE 'e' END, i FROM generate_series(1, 3000) i;
INSERT INTO b (battery, kind, n) SELECT 'V' || (i % 7), CASE WHEN i IN (1500, 1507) THEN 'once' ELSE 'e' END, i FROM generate_series(1, 3000) i;
SQL
fi

if [ -z "$ONLY" ] || [ "$ONLY" = T ]; then
# ------------------------------------------------------------------ T: triggers
kase T1-before-trigger-skips owner <<'SQL'
CREATE FUNCTION skip_odd() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN IF NEW.n % 2 = 1 THEN RETURN NULL; END IF; RETURN NEW; END$$;
CREATE TRIGGER a_skip BEFORE INSERT ON tr FOR EACH ROW EXECUTE FUNCTION skip_odd();
INSERT INTO tr (battery, kind, n) SELECT 'T' || (i % 3), 'e', i FROM generate_series(1, 50) i;
INSERT INTO tr (battery, kind, n) SELECT 'T' || (i % 3), 'once', i FROM generate_series(1, 50) i ON CONFLICT DO NOTHING;
SQL
kase T1b-before-skip-plain-role plain <<'SQL'
INSERT INTO tr (battery, kind, n) SELECT 'P', 'e', i FROM generate_series(1, 2500) i;
SQL
kase T2-before-trigger-nested-same-table owner <<'SQL'
CREATE FUNCTION into_self() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        INSERT INTO nest (battery, kind, n) VALUES (NEW.battery, 'nested', NEW.n), (NEW.battery, 'once', NEW.n) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER a_self BEFORE INSERT ON nest FOR EACH ROW EXECUTE FUNCTION into_self();
INSERT INTO nest (battery, kind, n) SELECT 'N' || (i % 2), 'e', i FROM generate_series(1, 40) i;
INSERT INTO nest (battery, kind, n) SELECT 'N' || (i % 2), 'once', i FROM generate_series(1, 40) i ON CONFLICT DO NOTHING;
SQL
kase T2b-nested-same-table-plain plain <<'SQL'
INSERT INTO nest (battery, kind, n) SELECT 'N' || (i % 3), 'e', i FROM generate_series(1, 1200) i;
SQL
kase T3-after-row-trigger-inserts owner <<'SQL'
CREATE FUNCTION after_into() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO px (battery, kind, n) VALUES (NEW.battery, 'after', NEW.n), (NEW.battery, 'once', NEW.n) ON CONFLICT DO NOTHING;
    IF NEW.kind = 'self' THEN
        INSERT INTO e (battery, kind, n) VALUES (NEW.battery, 'selfchild', NEW.n);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER later AFTER INSERT ON e FOR EACH ROW EXECUTE FUNCTION after_into();
INSERT INTO e (battery, kind, n) SELECT 'R' || (i % 4), CASE WHEN i % 2 = 0 THEN 'self' ELSE 'e' END, i FROM generate_series(1, 40) i;
INSERT INTO e (battery, kind, n) SELECT 'R' || (i % 4), 'once', i FROM generate_series(1, 40) i ON CONFLICT DO NOTHING;
SQL
kase T3b-after-row-trigger-error-caught owner <<'SQL'
CREATE FUNCTION after_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        INSERT INTO px (battery, kind, n) VALUES (NEW.battery, 'caught', NEW.n), (NEW.battery, 'caught', -1);
    EXCEPTION WHEN check_violation THEN NULL;
    END;
    INSERT INTO px (battery, kind, n) VALUES (NEW.battery, 'kept', NEW.n);
    RETURN NULL;
END $$;
CREATE TRIGGER later2 AFTER INSERT ON c FOR EACH ROW EXECUTE FUNCTION after_fail();
INSERT INTO c (battery, kind, n) SELECT 'G' || (i % 3), 'e', i FROM generate_series(1, 30) i;
DROP TRIGGER later2 ON c;
SQL
kase T4-deferred-constraint-trigger-inserts owner <<'SQL'
CREATE FUNCTION deferred_into() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO px (battery, kind, n) VALUES (NEW.battery, 'deferred', NEW.n), (NEW.battery, 'once', NEW.n) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER at_commit AFTER INSERT ON plainlog DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION deferred_into();
ALTER TABLE plainlog ADD COLUMN battery text DEFAULT 'DF', ADD COLUMN n int;
BEGIN;
INSERT INTO plainlog (i, battery, n) SELECT i, 'DF' || (i % 3), i FROM generate_series(1, 30) i;
COMMIT;
SQL
kase T5-instead-of-view owner <<'SQL'
CREATE VIEW av AS SELECT battery, kind, n FROM a;
CREATE FUNCTION av_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO a (battery, kind, n) VALUES (NEW.battery, NEW.kind, NEW.n) ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER av_i INSTEAD OF INSERT ON av FOR EACH ROW EXECUTE FUNCTION av_ins();
INSERT INTO av SELECT 'IV' || (i % 3), 'once', i FROM generate_series(1, 30) i;
SQL
kase T6-rule-do-also owner <<'SQL'
CREATE RULE also_b AS ON INSERT TO px WHERE NEW.kind = 'rule' DO ALSO INSERT INTO b (battery, kind, n) VALUES (NEW.battery, 'fromrule', NEW.n);
INSERT INTO px (battery, kind, n) SELECT 'RU', 'rule', i FROM generate_series(1, 20) i;
SQL
fi

if [ -z "$ONLY" ] || [ "$ONLY" = S ]; then
# ------------------------------------------------------------------ S: subtransactions
kase S1-plpgsql-exception-after-rows plain <<'SQL'
DO $$
BEGIN
    INSERT INTO c (battery, kind, n) VALUES ('X', 'e', 1);
    BEGIN
        INSERT INTO c (battery, kind, n) SELECT 'X', 'e', i FROM generate_series(2, 1600) i;
        INSERT INTO c (battery, kind, n) VALUES ('X', 'e', -1);
    EXCEPTION WHEN check_violation THEN NULL;
    END;
    BEGIN
        INSERT INTO c (battery, kind, n) SELECT 'X' || (i % 5), 'once', i FROM generate_series(1, 1500) i ON CONFLICT DO NOTHING;
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
    BEGIN
        INSERT INTO c (battery, kind, n) SELECT 'X' || (i % 5), 'once', i FROM generate_series(1, 1500) i ON CONFLICT DO NOTHING;
    END;
    INSERT INTO c (battery, kind, n) VALUES ('X', 'e', 2);
END $$;
SQL
kase S2-savepoints-many-orders plain <<'SQL'
BEGIN;
INSERT INTO c (battery, kind, n) VALUES ('SP', 'e', 1);
SAVEPOINT s1;
INSERT INTO c (battery, kind, n) SELECT 'SP', 'e', i FROM generate_series(2, 1500) i;
SAVEPOINT s2;
INSERT INTO c (battery, kind, n) SELECT 'SP' || (i % 3), 'once', i FROM generate_series(1, 30) i ON CONFLICT DO NOTHING;
SAVEPOINT s3;
INSERT INTO c (battery, kind, n) VALUES ('SP', 'e', 3);
RELEASE SAVEPOINT s2;
INSERT INTO c (battery, kind, n) VALUES ('SP', 'e', 4);
ROLLBACK TO SAVEPOINT s1;
INSERT INTO c (battery, kind, n) VALUES ('SP', 'e', 5);
SAVEPOINT s4;
INSERT INTO c (battery, kind, n) SELECT 'SP' || (i % 3), 'once', i FROM generate_series(1, 30) i ON CONFLICT DO NOTHING;
SAVEPOINT s5;
INSERT INTO c (battery, kind, n) VALUES ('SP', 'e', 6);
ROLLBACK TO SAVEPOINT s5;
INSERT INTO c (battery, kind, n) VALUES ('SP', 'e', 7);
RELEASE SAVEPOINT s4;
SAVEPOINT s6;
INSERT INTO c (battery, kind, n) VALUES ('SP', 'e', -1);
ROLLBACK TO SAVEPOINT s6;
INSERT INTO c (battery, kind, n) VALUES ('SP', 'e', 8);
COMMIT;
SQL
kase S3-savepoint-rollback-whole plain <<'SQL'
BEGIN;
SAVEPOINT s1;
INSERT INTO c (battery, kind, n) SELECT 'SR' || (i % 3), 'once', i FROM generate_series(1, 30) i ON CONFLICT DO NOTHING;
RELEASE SAVEPOINT s1;
INSERT INTO c (battery, kind, n) VALUES ('SR', 'e', 1);
ROLLBACK;
SQL
kase S4-on-conflict-then-savepoint-rollback-reuses-position plain <<'SQL'
BEGIN;
INSERT INTO c (battery, kind, n) VALUES ('DUP', 'once', 1) ON CONFLICT DO NOTHING;
SAVEPOINT s1;
INSERT INTO c (battery, kind, n) VALUES ('DUP', 'e', 9);
ROLLBACK TO SAVEPOINT s1;
INSERT INTO c (battery, kind, n) VALUES ('DUP', 'e', 9);
INSERT INTO c (battery, kind, n) VALUES ('DUP', 'once', 1) ON CONFLICT DO NOTHING;
COMMIT;
SQL
kase S5-cte-in-savepoint-then-rollback plain <<'SQL'
BEGIN;
SAVEPOINT s1;
WITH x AS (INSERT INTO c (battery, kind, n) SELECT 'CT', 'e', i FROM generate_series(1, 1200) i RETURNING n) SELECT count(*) FROM x;
ROLLBACK TO s1;
WITH x AS (INSERT INTO c (battery, kind, n) SELECT 'CT', 'e', i FROM generate_series(1, 1200) i RETURNING n) SELECT count(*) FROM x;
COMMIT;
SQL
kase S6-cancel-mid-statement plain <<'SQL'
BEGIN;
INSERT INTO c (battery, kind, n) VALUES ('TO', 'e', 0);
SAVEPOINT s1;
SET LOCAL statement_timeout = '300ms';
INSERT INTO c (battery, kind, n) SELECT 'TO' || (i % 3), 'e', slow(i) FROM generate_series(1, 5000) i;
SQL
kase S6b-cancel-mid-statement-then-rollback-to plain <<'SQL'
\set ON_ERROR_STOP 0
BEGIN;
INSERT INTO c (battery, kind, n) VALUES ('TO', 'e', 0);
SAVEPOINT s1;
SET LOCAL statement_timeout = '300ms';
INSERT INTO c (battery, kind, n) SELECT 'TO' || (i % 3), 'once', slow(i) FROM generate_series(1, 5000) i ON CONFLICT DO NOTHING;
ROLLBACK TO SAVEPOINT s1;
SET LOCAL statement_timeout = 0;
INSERT INTO c (battery, kind, n) SELECT 'TO' || (i % 3), 'once', i FROM generate_series(1, 30) i ON CONFLICT DO NOTHING;
COMMIT;
SQL
kase S6c-cancel-mid-cte plain <<'SQL'
SET statement_timeout = '300ms';
WITH x AS (INSERT INTO c (battery, kind, n) SELECT 'TC', 'e', slow(i) FROM generate_series(1, 5000) i RETURNING n) SELECT count(*) FROM x;
SQL
kase S7-copy-error-midway plain <<'SQL'
COPY cp (battery, kind, n) FROM STDIN;
C1	e	1
C2	e	2
C1	e	-1
C2	e	4
\.
SQL
kase S7b-copy-ok-then-error-in-savepoint owner <<'SQL'
\set ON_ERROR_STOP 0
BEGIN;
COPY cp (battery, kind, n) FROM STDIN;
C1	e	1
C2	e	2
\.
SAVEPOINT s;
COPY cp (battery, kind, n) FROM STDIN;
C1	e	3
C1	once	-1
\.
ROLLBACK TO s;
COPY cp (battery, kind, n) FROM STDIN;
C1	once	5
\.
COMMIT;
SQL
fi

if [ -z "$ONLY" ] || [ "$ONLY" = P ]; then
# ------------------------------------------------------------------ P: prepared transactions, sessions, crashes
# large COPY with an error at row 1,500 (file from a shell pipe)
for s in L M; do
  seq 1 3000 | awk '{ printf "K%d\te\t%d\n", $1 % 9, ($1 == 1500 ? -1 : $1) }' > "$BL_WORK/cp.tsv"
done
chmod 644 "$BL_WORK/cp.tsv"
kase P0-copy-3000-error-at-1500 plain <<SQL
\\copy cp (battery, kind, n) FROM '$BL_WORK/cp.tsv'
SQL
kase P1-prepare-commit-rollback postgres <<'SQL'
BEGIN;
INSERT INTO px (battery, kind, n) SELECT 'P', 'e', i FROM generate_series(1, 1200) i;
INSERT INTO px (battery, kind, n) SELECT 'P' || (i % 3), 'once', i FROM generate_series(1, 30) i ON CONFLICT DO NOTHING;
PREPARE TRANSACTION 'keep';
BEGIN;
INSERT INTO px (battery, kind, n) SELECT 'Q', 'e', i FROM generate_series(1, 1200) i;
WITH x AS (INSERT INTO px (battery, kind, n) SELECT 'Q' || (i % 3), 'once', i FROM generate_series(1, 30) i ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM x;
PREPARE TRANSACTION 'drop';
SQL
for s in L M; do q $s -c "COMMIT PREPARED 'keep'" -c "ROLLBACK PREPARED 'drop'" >/dev/null 2>&1 || note "$s: COMMIT/ROLLBACK PREPARED from another session failed"; done
kase P1b-after-prepared-other-session postgres <<'SQL'
SELECT 1;
SQL
kase P1c-prepare-with-savepoint-and-cursor postgres <<'SQL'
BEGIN;
SAVEPOINT s;
INSERT INTO px (battery, kind, n) SELECT 'PS' || (i % 3), 'once', i FROM generate_series(1, 30) i ON CONFLICT DO NOTHING;
RELEASE s;
PREPARE TRANSACTION 'p3';
COMMIT PREPARED 'p3';
SQL
# two sessions writing one chain concurrently (plain INSERT and ON CONFLICT)
for s in L M; do
  for k in 1 2 3; do
    ( psql -X -q -At -h "$BL_WORK" -p "${PORT[$s]}" -U plain -d bl -c "INSERT INTO b (battery, kind, n) SELECT 'CONC', 'e', i FROM generate_series(1, 1500) i" >/dev/null 2>&1 ) &
    ( psql -X -q -At -h "$BL_WORK" -p "${PORT[$s]}" -U plain -d bl -c "INSERT INTO b (battery, kind, n) SELECT 'CONC', CASE WHEN i % 50 = 0 THEN 'once' ELSE 'e' END, i FROM generate_series(1, 1500) i ON CONFLICT DO NOTHING" >/dev/null 2>&1 ) &
    ( psql -X -q -At -h "$BL_WORK" -p "${PORT[$s]}" -U plain -d bl -c "WITH x AS (INSERT INTO b (battery, kind, n) SELECT 'CONC', 'e', i FROM generate_series(1, 700) i RETURNING 1) SELECT count(*) FROM x" >/dev/null 2>&1 ) &
  done
done
wait
kase P2-concurrent-one-chain postgres <<'SQL'
SELECT 1;
SQL
# a backend terminated mid-transaction (rows chained and queued, not committed)
for s in L M; do
  ( psql -X -q -At -h "$BL_WORK" -p "${PORT[$s]}" -U plain -d bl >/dev/null 2>&1 <<'SQL'
BEGIN;
INSERT INTO b (battery, kind, n) SELECT 'KILL', 'e', i FROM generate_series(1, 1500) i;
INSERT INTO b (battery, kind, n) SELECT 'KILL' || (i % 3), 'once', i FROM generate_series(1, 30) i ON CONFLICT DO NOTHING;
SELECT pg_sleep(30);
COMMIT;
SQL
  ) &
done
sleep 2
for s in L M; do q $s -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'plain' AND query LIKE '%pg_sleep%'" >/dev/null; done
wait
kase P3-terminated-mid-transaction postgres <<'SQL'
SELECT 1;
SQL
# the server crashed after commit, before seal(): log_pending is unlogged
for s in L M; do
  q $s -c "INSERT INTO b (battery, kind, n) SELECT 'CRASH', 'e', i FROM generate_series(1, 1200) i" \
       -c "INSERT INTO b (battery, kind, n) SELECT 'CRASH' || (i % 3), 'once', i FROM generate_series(1, 30) i ON CONFLICT DO NOTHING" >/dev/null
  ( psql -X -q -At -h "$BL_WORK" -p "${PORT[$s]}" -U plain -d bl -c "SELECT pg_sleep(30)" >/dev/null 2>&1 ) &
  sleep 1
  pid=$(q $s -c "SELECT pid FROM pg_stat_activity WHERE usename = 'plain' AND query LIKE '%pg_sleep%' LIMIT 1")
  [ -n "$pid" ] && kill -9 "$pid"
  wait
  for i in $(seq 1 60); do q $s -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.5; done
done
kase P4-crash-after-commit-before-seal postgres <<'SQL'
SELECT 1;
SQL
# the first statement of a fresh session loads the library (no preload): each kind
for st in \
  "INSERT INTO d (battery, kind, n) SELECT 'FS' || (i % 3), 'once', i FROM generate_series(1, 1500) i ON CONFLICT DO NOTHING" \
  "WITH x AS (INSERT INTO d (battery, kind, n) SELECT 'FC', 'e', i FROM generate_series(1, 1500) i RETURNING 1) SELECT count(*) FROM x" \
  "INSERT INTO d (battery, kind, n) SELECT 'FE', 'e', CASE WHEN i = 1500 THEN -1 ELSE i END FROM generate_series(1, 3000) i" \
  "SELECT count(ins_a(i)) FROM generate_series(500, 530) i" \
  "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) INSERT INTO d (battery, kind, n) SELECT 'FX' || (i % 3), 'once', i FROM generate_series(1, 1500) i ON CONFLICT DO NOTHING" \
  "INSERT INTO d (battery, kind, n) SELECT 'FP', 'e', i FROM generate_series(1, 2500) i" ; do
  n=$((${n:-0} + 1))
  kase "P5-first-statement-$n" plain <<SQL
$st;
SQL
done
fi

if [ -z "$ONLY" ] || [ "$ONLY" = X ]; then
# ------------------------------------------------------------------ X: a skipped row's twin
# X1: ON CONFLICT DO NOTHING skips row X; a BEFORE trigger on a later row of
# the same statement makes an identical row Z (same chain, same position,
# same content: same hash) insertable and inserts it.  The owner's unique
# index predicate calls a function declared IMMUTABLE that reads a table (a
# false declaration PostgreSQL accepts).  One row, Z: it needs one leaf.
kase X1-skipped-row-twin-inserted-later owner <<'SQL'
CREATE TABLE gate (b text PRIMARY KEY, open boolean);
INSERT INTO gate VALUES ('G', true);
CREATE FUNCTION gate_shut(b text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RETURN (SELECT open FROM public.gate g WHERE g.b = gate_shut.b); END $$;
CREATE TABLE gx (battery text NOT NULL, kind text NOT NULL, n int);
SELECT battledger.enable_ledger('gx', 'battery');
CREATE UNIQUE INDEX gx_gate ON gx (battery, kind) WHERE kind = 'g' AND gate_shut(battery);
CREATE FUNCTION flip() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'trig' THEN
        UPDATE public.gate SET open = false WHERE b = 'G';
        INSERT INTO public.gx (battery, kind, n) VALUES ('G', 'g', 1);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER a_flip BEFORE INSERT ON gx FOR EACH ROW EXECUTE FUNCTION flip();
INSERT INTO gx (battery, kind, n) VALUES ('G', 'g', 1);
INSERT INTO gx (battery, kind, n) VALUES ('G', 'g', 1), ('H', 'trig', 0) ON CONFLICT DO NOTHING;
SQL
# X2: the superuser writes with session_replication_role = replica (the
# chain trigger does not fire, the arrival trigger does)
kase X2-superuser-replica-role postgres <<'SQL'
SET session_replication_role = replica;
INSERT INTO px (battery, kind, n) VALUES ('RR', 'e', 1);
SQL
# X3: more uncertain rows than the queue holds waiting (10,000), each the
# last of its chain (no later row vouches for it), every other one skipped
kase X3-25000-chains-on-conflict plain <<'SQL'
INSERT INTO a (battery, kind, n) SELECT 'H' || i, 'once', i FROM generate_series(1, 25000, 2) i;
INSERT INTO a (battery, kind, n) SELECT 'H' || i, 'once', i FROM generate_series(1, 25000) i ON CONFLICT DO NOTHING;
SQL
# X4: one chain for the whole table (no chain column): ON CONFLICT skips,
# a CTE, a nested ON CONFLICT, rows vouched for by the next row or looked up
kase X4-single-chain-table owner <<'SQL'
CREATE TABLE single (k text, kind text, n int);
SELECT battledger.enable_ledger('single');
CREATE UNIQUE INDEX single_once ON single (k) WHERE kind = 'once';
INSERT INTO single SELECT 'S' || (i % 50), CASE WHEN i % 2 = 0 THEN 'once' ELSE 'e' END, i FROM generate_series(1, 3000) i ON CONFLICT DO NOTHING;
WITH x AS (INSERT INTO single SELECT 'S' || (i % 70), 'once', i FROM generate_series(1, 1500) i ON CONFLICT DO NOTHING RETURNING 1)
INSERT INTO single SELECT 'T', 'e', count(*) FROM x;
BEGIN;
INSERT INTO single SELECT 'U' || (i % 30), 'once', i FROM generate_series(1, 100) i ON CONFLICT DO NOTHING;
SAVEPOINT s;
INSERT INTO single SELECT 'V' || (i % 30), 'once', i FROM generate_series(1, 100) i ON CONFLICT DO NOTHING;
ROLLBACK TO s;
INSERT INTO single SELECT 'U' || (i % 40), 'once', i FROM generate_series(1, 100) i ON CONFLICT DO NOTHING;
COMMIT;
SQL
kase X3b-25000-chains-on-conflict-in-savepoint plain <<'SQL'
BEGIN;
SAVEPOINT s;
INSERT INTO a (battery, kind, n) SELECT 'J' || i, 'once', i FROM generate_series(1, 25000, 3) i ON CONFLICT DO NOTHING;
RELEASE s;
SAVEPOINT t;
INSERT INTO a (battery, kind, n) SELECT 'J' || i, 'once', i FROM generate_series(1, 25000) i ON CONFLICT DO NOTHING;
ROLLBACK TO t;
INSERT INTO a (battery, kind, n) SELECT 'J' || i, 'once', i FROM generate_series(1, 25000, 2) i ON CONFLICT DO NOTHING;
COMMIT;
SQL
fi

if [ -z "$ONLY" ] || [ "$ONLY" = R ]; then
# ------------------------------------------------------------------ R: logical replication arrivals
# L2 (logq) subscribes to L; M2 (main) to M: arrivals must reach each side's log as on main
start_member L2 "$LOGQ_PG_BIN"
start_member M2 "$MAIN_PG_BIN"
for pair in "L L2" "M M2"; do
  set -- $pair
  for m in $1 $2; do
    q $m >/dev/null <<'SQL'
CREATE TABLE reading (battery text NOT NULL, kind text NOT NULL, n int);
SELECT battledger.enable_ledger('reading', 'battery');
SQL
  done
  # the member's publication, narrowed to reading (the subscriber has none of the A-X tables)
  q $1 -c "SELECT battledger.publish_member()" \
       -c "ALTER PUBLICATION battledger_member SET TABLE public.reading WHERE (ledger_origin = '${ORIGIN[$1]}'), battledger.log_leaf, battledger.checkpoint" >/dev/null
  bl_member_keys $1; bl_member_keys $2
  bl_join $2 $1 2>"$BL_WORK/join.err" || note "join $2 <- $1 failed: $(head -2 "$BL_WORK/join.err")"
  q $1 -c "INSERT INTO reading SELECT 'RP' || (i % 5), 'e', i FROM generate_series(1, 1500) i" >/dev/null
  q $1 -c "BEGIN" -c "INSERT INTO reading SELECT 'RQ', 'e', i FROM generate_series(1, 20) i" -c "SAVEPOINT s" \
       -c "INSERT INTO reading SELECT 'RQ', 'e', i FROM generate_series(21, 40) i" -c "ROLLBACK TO s" -c "COMMIT" >/dev/null
  q $2 -c "INSERT INTO reading SELECT 'LOCAL', 'e', i FROM generate_series(1, 10) i" >/dev/null
done
for i in $(seq 1 60); do
  a=$(q L2 -c "SELECT count(*) FROM reading WHERE ledger_origin = 'l.example/log'"); b=$(q M2 -c "SELECT count(*) FROM reading WHERE ledger_origin = 'm.example/log'")
  [ "$a" = 1520 ] && [ "$b" = 1520 ] && break; sleep 1
done
note "arrivals: logq $a, main $b of 1520"
for m in L2 M2; do q $m -c "SELECT battledger.seal()" >/dev/null 2>&1 || note "$m seal failed"; done
sl=$(q L2 -c "SELECT * FROM r16q_check()" | tr '\n' ';'); sm=$(q M2 -c "SELECT * FROM r16q_check()" | tr '\n' ';')
pl=$(q L2 -c "SELECT count(*) || ' pending ' || (SELECT count(*) FROM battledger.log_pending) FROM battledger.log_leaf"); pm=$(q M2 -c "SELECT count(*) || ' pending ' || (SELECT count(*) FROM battledger.log_pending) FROM battledger.log_leaf")
if [ -z "$a" ] || [ "$a" != "$b" ] || [ -n "$sl" ] || [ "$pl" != "$pm" ]; then
  fail R1-arrivals "logq: arrived $a, leaves $pl, problems: $sl; main: arrived $b, leaves $pm, problems: $sm"
else ok R1-arrivals; note "R1: arrived $a; leaves $pl (main $pm)"; fi
fi

# no backend crashed (other than P4's deliberate kill)
for s in L M; do
  n=$(grep -c 'terminated by signal 11\|TRAP\|was terminated by signal 6' "$BL_WORK/$s.log" 2>/dev/null)
  [ "${n:-0}" = 0 ] && ok "Z-no-crash-$s" || fail "Z-no-crash-$s" "$(grep -m2 'terminated by signal' "$BL_WORK/$s.log")"
done
echo "# ---- outcomes (main | logq)"
for c in $(printf '%s\n' "${!RES[@]}" | sort); do echo "# $c: ${RES[$c]}"; done
exit $FAILS
