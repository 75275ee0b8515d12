#!/usr/bin/env bash
# The log queue without a transition table (issue 15, 0.15.0): the chain
# trigger records each row it chains and the log trigger (or, at the latest,
# the transaction's commit or PREPARE) writes the entries to log_pending.
# After every case each ledger table's queue (log_pending plus log_leaf) must
# hold exactly its rows: every row once, with its seq and hash, and nothing
# else.  The cases are those where a chained row never lands: ON CONFLICT DO
# NOTHING skipping it (hooked, in the session's first statement, nested in a
# function, in the statement that loads the library), an error later in the
# statement (after the queue wrote a batch mid-statement), ROLLBACK TO
# SAVEPOINT, an exception caught in PL/pgSQL, ROLLBACK PREPARED; and COPY, a
# statement inserting into a second ledger table from a trigger, a prepared
# transaction; rows a data-modifying CTE chains in its statement's
# ExecutorFinish.  A queue that took every chained row, or lost rows of a
# subtransaction, fails here; so does one that gave twins (two rows chained
# at one position with the same hash, one of which landed) two entries.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

PORT=${LOG_QUEUE_PORT:-55495}
bl_scratch
bl_start_cluster lq "$PORT" "battledger.origin = 'queue.test/log'
max_prepared_transactions = 4"
createdb lq
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d lq "$@"; }
fail=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; else echo "FAIL - $what"; fail=1; fi; }

q <<'SQL'
CREATE EXTENSION battledger;
CREATE FUNCTION mk(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (battery text NOT NULL, kind text NOT NULL, n int CHECK (n IS DISTINCT FROM -1))', t);
    PERFORM battledger.enable_ledger(t::regclass, 'battery');
    -- a second unique index, so that ON CONFLICT DO NOTHING can skip a chained row
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I (battery, kind) WHERE kind = ''once''', t || '_once', t);
END $$;
SELECT mk(t) FROM unnest(ARRAY['a', 'b', 'first', 'loadfn', 'cp']) t;
-- the queue of table t: (entries, distinct hashes, rows, rows queued with their seq and hash)
CREATE FUNCTION queue_state(t regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    name text := (SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = t);
    r text;
BEGIN
    EXECUTE format($q$
        WITH q AS (SELECT seq, row_hash FROM battledger.log_pending WHERE tbl = %L
                   UNION ALL SELECT seq, row_hash FROM battledger.log_leaf WHERE tbl = %L)
        SELECT (SELECT count(*) FROM q) || ' ' || (SELECT count(DISTINCT row_hash::text) FROM q) || ' ' ||
               (SELECT count(*) FROM %s) || ' ' ||
               (SELECT count(*) FROM %s x WHERE EXISTS (SELECT 1 FROM q WHERE q.seq = x.ledger_seq
                                                         AND q.row_hash::text = x.ledger_hash::text))$q$,
        name, name, t, t) INTO r;
    RETURN r;
END $$;
CREATE FUNCTION ins_a(i int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO a (battery, kind, n) VALUES ('F', 'once', i), ('F', 'e', i) ON CONFLICT DO NOTHING;
    RETURN i;
END $$;
SQL
# exact TABLE N: queue entries = distinct hashes = rows = rows found in the
# queue with their seq and hash = N (the rows the case inserted, counted by hand)
exact() { local s; s=$(q -c "SELECT queue_state('$1')"); [ "$s" = "$2 $2 $2 $2" ] || { echo "  $1: entries distinct rows matched = $s, want $2 each"; return 1; }; }

# a fresh session whose first statement skips rows (the library is loaded by it)
q -c "INSERT INTO first (battery, kind, n) SELECT 'B' || (i % 3), CASE WHEN i % 2 = 0 THEN 'once' ELSE 'e' END, i
      FROM generate_series(1, 60) i ON CONFLICT DO NOTHING"
check "first statement ON CONFLICT DO NOTHING: queue exact" exact first 33
# the library loaded by a statement nested in a function: its rows wait for the commit
q -c "SELECT count(*) FROM (SELECT ins_a(i) FROM generate_series(1, 5) i) s" >/dev/null
check "library loaded by a nested ON CONFLICT statement: queue exact" exact a 6

q -c "LOAD 'battledger'" -c "INSERT INTO a (battery, kind, n) SELECT 'B' || (i % 3), CASE WHEN i % 2 = 0 THEN 'once' ELSE 'e' END, i
      FROM generate_series(1, 60) i ON CONFLICT DO NOTHING"
check "hooked ON CONFLICT DO NOTHING: queue exact" exact a 39
# 3,000 rows under ON CONFLICT: entries written between rows, skipped ones dropped
q -c "LOAD 'battledger'" -c "INSERT INTO loadfn (battery, kind, n) SELECT 'L' || (i % 11), CASE WHEN i % 3 = 0 THEN 'once' ELSE 'e' END, i
      FROM generate_series(1, 3000) i ON CONFLICT DO NOTHING"
check "3,000 rows under ON CONFLICT DO NOTHING: queue exact" exact loadfn 2011

# an error at row 2,500 of 3,000, after the queue wrote batches mid-statement
if q -c "INSERT INTO b (battery, kind, n) SELECT 'B' || (i % 7), 'e', CASE WHEN i = 2500 THEN -1 ELSE i END
      FROM generate_series(1, 3000) i" 2>/dev/null; then echo "FAIL - the CHECK violation was not raised"; fail=1; fi
check "constraint error after mid-statement batches: nothing queued" exact b 0
q -c "INSERT INTO b (battery, kind, n) SELECT 'B' || (i % 7), 'e', i FROM generate_series(1, 3000) i"
check "3,000 rows in one statement: queue exact" exact b 3000

q <<'SQL'
BEGIN;
INSERT INTO b (battery, kind, n) VALUES ('S', 'e', 1);
SAVEPOINT s1;
INSERT INTO b (battery, kind, n) SELECT 'S', 'e', i FROM generate_series(2, 2002) i;
ROLLBACK TO SAVEPOINT s1;
INSERT INTO b (battery, kind, n) VALUES ('S', 'e', 3);
SAVEPOINT s2;
INSERT INTO b (battery, kind, n) VALUES ('S', 'e', 4);
RELEASE SAVEPOINT s2;
COMMIT;
SQL
check "ROLLBACK TO SAVEPOINT, RELEASE: queue exact" exact b 3003

q <<'SQL'
DO $$
BEGIN
    INSERT INTO b (battery, kind, n) VALUES ('X', 'e', 1);
    BEGIN
        INSERT INTO b (battery, kind, n) VALUES ('X', 'e', 2), ('Y', 'e', 2);
        INSERT INTO b (battery, kind, n) VALUES ('X', 'e', -1);
    EXCEPTION WHEN check_violation THEN NULL;
    END;
    BEGIN
        INSERT INTO b (battery, kind, n) VALUES ('X', 'once', 3), ('X', 'once', 4) ON CONFLICT DO NOTHING;
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
    BEGIN
        INSERT INTO b (battery, kind, n) VALUES ('X', 'once', 5), ('X', 'once', 6) ON CONFLICT DO NOTHING;
    END;
END $$;
SQL
check "exceptions caught in PL/pgSQL: queue exact" exact b 3005

# a trigger on b inserting into a (two ledger tables in one statement), before and after the row
q <<'SQL'
CREATE FUNCTION into_a() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO a (battery, kind, n) VALUES (NEW.battery, 'from_b', NEW.n), (NEW.battery, 'once', NEW.n) ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
CREATE TRIGGER a_first BEFORE INSERT ON b FOR EACH ROW EXECUTE FUNCTION into_a();
CREATE TRIGGER later AFTER INSERT ON b FOR EACH ROW EXECUTE FUNCTION into_a();
SQL
q -c "INSERT INTO b (battery, kind, n) SELECT 'T' || (i % 5), 'e', i FROM generate_series(1, 50) i"
check "a trigger writing a second ledger table: b exact" exact b 3055
check "  and a exact" exact a 144
q -c "INSERT INTO b (battery, kind, n) SELECT 'T' || (i % 5), 'once', i FROM generate_series(1, 50) i ON CONFLICT DO NOTHING"
# 5 batteries: one 'once' row each lands in b; in a, the BEFORE trigger adds a
# 'from_b' row for each of the 50 (landed or not), the AFTER trigger for the 5
check "the same under ON CONFLICT: b exact" exact b 3060
check "  and a exact" exact a 199
q -c "DROP TRIGGER a_first ON b" -c "DROP TRIGGER later ON b"

# COPY, crossing the queue's batch size
seq 1 2500 | awk '{ printf "C%d\te\t%d\n", $1 % 9, $1 }' | q -c "COPY cp (battery, kind, n) FROM STDIN"
check "COPY FROM 2,500 rows: queue exact" exact cp 2500
if seq 1 2500 | awk '{ printf "C%d\te\t%d\n", $1 % 9, ($1 == 2400 ? -1 : $1) }' | q -c "COPY cp (battery, kind, n) FROM STDIN" 2>/dev/null; then
    echo "FAIL - COPY's CHECK violation was not raised"; fail=1; fi
check "COPY failing at row 2,400: nothing more queued" exact cp 2500

# prepared transactions: the queue is written by PREPARE and goes with the rows
q <<'SQL'
BEGIN;
INSERT INTO cp (battery, kind, n) SELECT 'P', 'e', i FROM generate_series(1, 10) i;
INSERT INTO cp (battery, kind, n) VALUES ('P', 'once', 1), ('P', 'once', 2) ON CONFLICT DO NOTHING;
PREPARE TRANSACTION 'keep';
BEGIN;
INSERT INTO cp (battery, kind, n) SELECT 'Q', 'e', i FROM generate_series(1, 10) i;
PREPARE TRANSACTION 'drop';
COMMIT PREPARED 'keep';
ROLLBACK PREPARED 'drop';
SQL
check "COMMIT PREPARED / ROLLBACK PREPARED: queue exact" exact cp 2511

# a function called from another statement, in the session that loads the library
q -c "SELECT sum(ins_a(i)) FROM generate_series(100, 104) i" >/dev/null
check "nested ON CONFLICT in a fresh session: queue exact" exact a 204

# a transaction whose ON CONFLICT rows are queued only at commit, with plain rows between
q >/dev/null <<'SQL'
BEGIN;
SELECT ins_a(200);
INSERT INTO a (battery, kind, n) VALUES ('F', 'e', 201);
SELECT ins_a(202);
COMMIT;
SQL
check "ON CONFLICT rows held until commit among plain ones: queue exact" exact a 207


# Twins (red team r16q X1): two rows chained in one transaction at the same
# position with the same values, so the same hash and leaf.  A twin can be
# chained only while the first row is not in its table: skipped by ON
# CONFLICT, or still being inserted (a statement nested in its CHECK
# constraint).  At most one lands; it must have one entry, never two, and a
# twin that lands alone must keep its entry.  The owner's partial unique
# index calls a function declared IMMUTABLE that reads a table (PostgreSQL
# takes the declaration), so a row can conflict and its twin not.
q <<'SQL'
CREATE TABLE gate (b text PRIMARY KEY, open boolean);
INSERT INTO gate VALUES ('G', true), ('H', true), ('K', true), ('R', true);
CREATE FUNCTION gate_open(b text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RETURN (SELECT open FROM public.gate g WHERE g.b = gate_open.b); END $$;
CREATE TABLE tw (battery text NOT NULL, kind text NOT NULL, n int);
SELECT battledger.enable_ledger('tw', 'battery');
CREATE UNIQUE INDEX tw_gate ON tw (battery, kind) WHERE kind = 'g' AND gate_open(battery);
-- X1: a later row of the statement opens the gate and inserts the twin of a row it skipped
CREATE FUNCTION twin_later() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'trig' THEN
        UPDATE public.gate SET open = false WHERE b = NEW.battery;
        INSERT INTO public.tw (battery, kind, n) VALUES (NEW.battery, 'g', 2);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER a_twin BEFORE INSERT ON tw FOR EACH ROW EXECUTE FUNCTION twin_later();
SQL
q -c "INSERT INTO tw VALUES ('G', 'g', 1)"
q -c "INSERT INTO tw (battery, kind, n) VALUES ('G', 'g', 2), ('G', 'trig', 3) ON CONFLICT DO NOTHING"
# G: g1, the twin g2 landed in the skipped row's place, trig3 after it
check "a skipped row's twin inserted later in the statement: one entry" exact tw 3
q -c "DROP TRIGGER a_twin ON tw"
# a twin inserted by a row's own CHECK constraint, while the row is not yet
# in its table (tw.mode says how; the twin's own CHECK does nothing)
q <<'SQL'
CREATE FUNCTION twin_now(b text, k text, n int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    mode text := current_setting('tw.mode', true);
    v int;
BEGIN
    IF coalesce(mode, '') = '' THEN RETURN true; END IF;
    PERFORM set_config('tw.mode', '', true);
    IF mode = 'land' THEN
        INSERT INTO public.tw (battery, kind, n) VALUES (b, k, n);
    ELSIF mode = 'skip' THEN
        -- skipped: the gate opens and an earlier 'g' row holds (b, 'g'); the
        -- row itself is checked under its statement's snapshot, gate shut
        UPDATE public.gate SET open = true WHERE gate.b = twin_now.b;
        INSERT INTO public.tw (battery, kind, n) VALUES (b, k, n) ON CONFLICT DO NOTHING;
    ELSIF mode = 'cte' THEN
        -- as 'skip', from a data-modifying CTE nobody reads: its INSERT runs
        -- in the statement's ExecutorFinish, after ExecutorRun returned
        UPDATE public.gate SET open = true WHERE gate.b = twin_now.b;
        WITH x AS (INSERT INTO public.tw (battery, kind, n) VALUES (b, k, n) ON CONFLICT DO NOTHING RETURNING 1)
        SELECT 1 INTO v;
    ELSIF mode = 'undo' THEN
        BEGIN
            INSERT INTO public.tw (battery, kind, n) VALUES (b, k, n);
            RAISE EXCEPTION 'undo the twin';
        EXCEPTION WHEN raise_exception THEN NULL;
        END;
    END IF;
    RETURN true;
END $$;
ALTER TABLE tw ADD CONSTRAINT tw_twin CHECK (twin_now(battery, kind, n));
SQL
tw() { q -c "SELECT set_config('tw.mode', '$1', false)" -c "$2" >/dev/null; }
# ON CONFLICT row: the twin lands first, the row is skipped (its position is taken)
tw land "INSERT INTO tw (battery, kind, n) VALUES ('K', 'e', 7) ON CONFLICT DO NOTHING"
check "twin landed in the row's CHECK, the row skipped: one entry" exact tw 4
check "  and the twin is the row there" [ "$(q -c "SELECT count(*) FROM tw WHERE battery = 'K'")" = 1 ]
# a plain row: the twin lands first, the row fails on the chain index
if tw land "INSERT INTO tw (battery, kind, n) VALUES ('L', 'e', 8)" 2>/dev/null; then
    echo "FAIL - a plain row whose twin landed first was inserted"; fail=1; fi
check "twin landed in a plain row's CHECK: the statement fails, nothing queued" exact tw 4
# the twin skipped, the row lands: the row keeps its entry
q -c "INSERT INTO tw VALUES ('H', 'g', 0)" -c "UPDATE gate SET open = false WHERE b = 'H'"
tw skip "INSERT INTO tw (battery, kind, n) VALUES ('H', 'g', 5) ON CONFLICT DO NOTHING"
check "twin skipped in the row's CHECK, the row landed: its entry kept" exact tw 6
# the twin rolled back (an exception caught), the row lands: ON CONFLICT and plain
tw undo "INSERT INTO tw (battery, kind, n) VALUES ('M', 'e', 9) ON CONFLICT DO NOTHING"
tw undo "INSERT INTO tw (battery, kind, n) VALUES ('N', 'e', 9)"
check "twin rolled back in the row's CHECK, the row landed: its entry kept" exact tw 8
# a row rolled back to a savepoint, then its twin from a nested statement: a new row, queued
q >/dev/null <<'SQL'
CREATE FUNCTION tw_ins(b text, k text, n int) RETURNS int LANGUAGE sql AS
$$ INSERT INTO public.tw (battery, kind, n) VALUES (b, k, n) RETURNING n $$;
BEGIN;
SAVEPOINT s;
INSERT INTO tw (battery, kind, n) VALUES ('P', 'e', 1);
ROLLBACK TO SAVEPOINT s;
SELECT tw_ins('P', 'e', 1);
INSERT INTO tw (battery, kind, n) VALUES ('P', 'e', 2) ON CONFLICT DO NOTHING;
SAVEPOINT t;
INSERT INTO tw (battery, kind, n) VALUES ('P', 'e', 3) ON CONFLICT DO NOTHING;
ROLLBACK TO SAVEPOINT t;
SELECT tw_ins('P', 'e', 3);
COMMIT;
SQL
check "rows rolled back, then their twins nested: all queued" exact tw 11

# Rows chained by a statement's ExecutorFinish (red team r17q): the rest of a
# data-modifying CTE its query did not read runs there, after ExecutorRun has
# returned.  F1: nested in a plain INSERT's row (here its SELECT list), the
# CTE's rows took that INSERT's cached heads: a row ON CONFLICT skipped
# became its chain's head (the next row followed a row that is not there)
# and had an entry.
q >/dev/null <<'SQL'
SELECT mk('fin');
CREATE TABLE plainlog (i int);
CREATE FUNCTION cte_ins(i int) RETURNS int LANGUAGE sql AS $$
    WITH x AS (INSERT INTO public.fin (battery, kind, n) VALUES ('Q', 'once', i), ('Q', 'e', i)
               ON CONFLICT DO NOTHING RETURNING 1)
    SELECT i $$;
INSERT INTO fin VALUES ('Q', 'once', 0);
INSERT INTO plainlog SELECT cte_ins(i) FROM generate_series(1, 3) i;
SQL
check "a CTE's rows in ExecutorFinish, nested in a plain INSERT: queue exact" exact fin 4
check "  and its chain intact" [ "$(q -c "SELECT count(*) FROM battledger.verify('fin')")" = 0 ]
# F3: a row's CHECK constraint inserts its twin from such a CTE, skipped
# there; the row lands (a plain one, certain, then under ON CONFLICT).  The
# twin was chained at the depth of the row in flight, as if after it, and
# looked up later found the row: two entries.
q -c "INSERT INTO tw VALUES ('R', 'g', 0)" -c "UPDATE gate SET open = false WHERE b = 'R'"
tw cte "INSERT INTO tw (battery, kind, n) VALUES ('R', 'g', 5)"
check "twin skipped in a CTE in a plain row's CHECK, the row landed: one entry" exact tw 13
q -c "UPDATE gate SET open = false WHERE b = 'R'"
tw cte "INSERT INTO tw (battery, kind, n) VALUES ('R', 'g', 6) ON CONFLICT DO NOTHING"
check "  the same for an ON CONFLICT row" exact tw 14
# F4: while an ON CONFLICT row is in flight, its CHECK constraint's CTE
# chains more rows than the queue keeps waiting for a later row (10,000):
# the row in flight was looked up before it landed, and lost its entry.
q >/dev/null <<'SQL'
CREATE FUNCTION many(k text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE v int;
BEGIN
    IF k = 'many' THEN
        WITH x AS (INSERT INTO public.fin (battery, kind, n) SELECT 'M' || i, 'e', i FROM generate_series(1, 12000) i RETURNING 1)
        SELECT 1 INTO v;
    END IF;
    RETURN true;
END $$;
SELECT mk('wait');
ALTER TABLE wait ADD CONSTRAINT wait_many CHECK (many(kind));
INSERT INTO wait (battery, kind, n) VALUES ('W', 'many', 1) ON CONFLICT DO NOTHING;
SQL
check "12,000 rows chained while an ON CONFLICT row waits: its entry kept" exact wait 1
check "  and theirs" exact fin 12004
# D1 (red team r17q): a statement nested in every row of an ON CONFLICT
# statement (a function in its SELECT list).  The outer rows chained before
# the row being processed are done; they must be decided as the nested
# statements end, not held (and rescanned at each of those ends) until the
# outer statement's: that cost CPU as the rows squared.  The function notes
# how many outer rows log_pending holds each time.
q >/dev/null <<'SQL'
SELECT mk('outer_t'), mk('nest');
CREATE TABLE seen (n bigint);
CREATE FUNCTION nest_one(i int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.nest (battery, kind, n) VALUES ('NEST', 'e', i);
    INSERT INTO public.seen SELECT count(*) FROM battledger.log_pending WHERE tbl = 'public.outer_t';
    RETURN i;
END $$;
INSERT INTO outer_t (battery, kind, n) VALUES ('D7', 'once', 0);
INSERT INTO outer_t (battery, kind, n) SELECT 'D' || i, 'once', nest_one(i) FROM generate_series(1, 3000) i ON CONFLICT DO NOTHING;
SQL
check "an ON CONFLICT row nesting a statement each: outer queue exact" exact outer_t 3000
check "  nested queue exact" exact nest 3000
check "  outer rows queued while the statement ran" \
    [ "$(q -c "SELECT max(n) >= 2990 FROM seen")" = t ]
for t in a b first cp tw fin wait outer_t nest; do
    check "verify($t) clean" [ "$(q -c "SELECT count(*) FROM battledger.verify('$t')")" = 0 ]
done
check "no queue entry for a table that is not a ledger" \
    [ "$(q -c "SELECT count(*) FROM battledger.log_pending WHERE tbl NOT IN ('public.a', 'public.b', 'public.first', 'public.cp', 'public.loadfn', 'public.tw', 'public.fin', 'public.wait', 'public.outer_t', 'public.nest')")" = 0 ]
exit $fail
