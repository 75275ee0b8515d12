-- Two sessions (this one and a dblink connection) appending to chains under
-- each isolation level: the same chain never forks, different chains do not
-- wait for each other.  Not wrapped in one transaction: the sessions must
-- see each other's commits.
SELECT plan(14);
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s user=%s',
    split_part(current_setting('unix_socket_directories'), ',', 1),
    current_setting('port'), current_database(), current_user));

CREATE TABLE conc (battery text, iso text, note text);
SELECT battledger.enable_ledger('conc', 'battery');

CREATE FUNCTION pg_temp.other_busy() RETURNS bool LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_sleep(0.3);   -- give the other session time to block, or finish
    RETURN dblink_is_busy('other') = 1;
END $$;

-- Collect the other session's pending result (plus the empty one that frees the connection).
CREATE FUNCTION pg_temp.other_done() RETURNS int LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
    SELECT count(*) INTO n FROM dblink_get_result('other') AS t(r text);
    PERFORM * FROM dblink_get_result('other') AS t(r text);
    RETURN n;
END $$;

-- For each isolation level: this session opens a transaction and takes its
-- snapshot; the other session appends to chain X and commits; this session
-- appends to X and must link to the row its snapshot cannot see.
DO $$
DECLARE iso text;
BEGIN
    FOREACH iso IN ARRAY ARRAY['read committed', 'repeatable read', 'serializable'] LOOP
        PERFORM dblink_exec('other', format(
            $q$INSERT INTO conc VALUES ('X-%s', %L, 'first, other session')$q$, iso, iso));
    END LOOP;
END $$;

-- read committed
BEGIN ISOLATION LEVEL READ COMMITTED;
SELECT count(*) FROM conc;                         -- snapshot taken
SELECT dblink_exec('other', $q$INSERT INTO conc VALUES ('X-read committed', 'rc', 'second, other session')$q$);
INSERT INTO conc VALUES ('X-read committed', 'rc', 'third, this session');
COMMIT;
-- repeatable read
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM conc;
SELECT dblink_exec('other', $q$INSERT INTO conc VALUES ('X-repeatable read', 'rr', 'second, other session')$q$);
INSERT INTO conc VALUES ('X-repeatable read', 'rr', 'third, this session');
COMMIT;
-- serializable
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT count(*) FROM conc;
SELECT dblink_exec('other', $q$INSERT INTO conc VALUES ('X-serializable', 'sr', 'second, other session')$q$);
INSERT INTO conc VALUES ('X-serializable', 'sr', 'third, this session');
COMMIT;

SELECT results_eq(
    $$SELECT battery, ledger_seq, note FROM conc ORDER BY battery, ledger_seq$$,
    $$VALUES ('X-read committed', 1::bigint, 'first, other session'),
             ('X-read committed', 2::bigint, 'second, other session'),
             ('X-read committed', 3::bigint, 'third, this session'),
             ('X-repeatable read', 1::bigint, 'first, other session'),
             ('X-repeatable read', 2::bigint, 'second, other session'),
             ('X-repeatable read', 3::bigint, 'third, this session'),
             ('X-serializable', 1::bigint, 'first, other session'),
             ('X-serializable', 2::bigint, 'second, other session'),
             ('X-serializable', 3::bigint, 'third, this session')$$,
    'a transaction whose snapshot predates a concurrent commit still appends after it, at every isolation level');
SELECT is_empty($$SELECT * FROM battledger.verify('conc')$$, 'no fork: the chains verify');

-- Blocking: an open transaction holding chain Y makes the other session wait
-- for chain Y, but not for chain Z.
BEGIN;
INSERT INTO conc VALUES ('Y', 'rc', 'held by this session');
SELECT dblink_send_query('other', $q$INSERT INTO conc VALUES ('Z', 'rc', 'other chain')$q$);
SELECT is(pg_temp.other_busy(), false, 'an append to another chain does not wait');
SELECT is(pg_temp.other_done(), 1, 'other chain insert done');
SELECT dblink_send_query('other', $q$INSERT INTO conc VALUES ('Y', 'rc', 'waited for this session')$q$);
SELECT is(pg_temp.other_busy(), true, 'an append to the same chain waits for the open transaction');
INSERT INTO conc VALUES ('Y', 'rc', 'second row of this session');
COMMIT;
SELECT is(pg_temp.other_done(), 1, 'waiting insert completed after commit');
SELECT results_eq(
    $$SELECT ledger_seq, note FROM conc WHERE battery = 'Y' ORDER BY ledger_seq$$,
    $$VALUES (1::bigint, 'held by this session'), (2::bigint, 'second row of this session'),
             (3::bigint, 'waited for this session')$$,
    'the waiting session appended after the committed rows');

-- A rolled-back holder leaves no gap for the waiter.
BEGIN;
INSERT INTO conc VALUES ('W', 'rc', 'rolled back');
SELECT dblink_send_query('other', $q$INSERT INTO conc VALUES ('W', 'rc', 'after a rollback')$q$);
SELECT is(pg_temp.other_busy(), true, 'waits for the open transaction');
ROLLBACK;
SELECT is(pg_temp.other_done(), 1, 'completed after rollback');
SELECT results_eq($$SELECT ledger_seq, note FROM conc WHERE battery = 'W'$$,
                  $$VALUES (1::bigint, 'after a rollback')$$, 'no gap after a rolled-back holder');

-- Savepoint rollback inside a long transaction, with the other session waiting.
BEGIN;
INSERT INTO conc VALUES ('V', 'rc', 'v1');
SAVEPOINT a;
INSERT INTO conc VALUES ('V', 'rc', 'undone');
ROLLBACK TO a;
SELECT dblink_send_query('other', $q$INSERT INTO conc VALUES ('V', 'rc', 'v3 from other')$q$);
INSERT INTO conc VALUES ('V', 'rc', 'v2');
SELECT is(pg_temp.other_busy(), true, 'still held after the savepoint rollback');
COMMIT;
SELECT is(pg_temp.other_done(), 1, 'completed');
SELECT results_eq($$SELECT ledger_seq, note FROM conc WHERE battery = 'V' ORDER BY 1$$,
                  $$VALUES (1::bigint, 'v1'), (2::bigint, 'v2'), (3::bigint, 'v3 from other')$$,
                  'savepoint rollback leaves no gap');
SELECT is_empty($$SELECT * FROM battledger.verify('conc')$$, 'all chains verify');
SELECT dblink_disconnect('other');
SELECT * FROM finish();
