-- Ledger tables: enable_ledger(), chaining, append-only refusals, bad calls.
\set SHOW_CONTEXT never
SET search_path = public, battledger;

CREATE TABLE battery_event (
    battery  text,
    kind     text NOT NULL,
    at       timestamptz NOT NULL,
    soh_pct  numeric(5,2),
    note     text
);
SELECT enable_ledger('battery_event', chain_by => 'battery');
SELECT tbl, chain_by, chain_index FROM ledger_tables WHERE tbl = 'battery_event'::regclass;

-- multi-row insert: each battery gets its own chain starting at 1
INSERT INTO battery_event (battery, kind, at, soh_pct) VALUES
    ('B0025', 'manufactured', '2024-01-10 08:00+00', 100),
    ('B0026', 'manufactured', '2024-01-10 09:00+00', 100),
    ('B0025', 'placed_on_market', '2024-02-01 00:00+00', 100),
    ('B0025', 'soh_reported', '2024-06-01 00:00+00', 93.10);
SELECT battery, ledger_seq, kind, ledger_prev, ledger_hash
  FROM battery_event ORDER BY battery, ledger_seq;

-- each link and hash recomputes from the documented formula
SELECT e.battery, e.ledger_seq,
       e.ledger_prev = coalesce(p.ledger_hash, repeat('0', 64)::hash256) AS link_ok,
       e.ledger_hash = chain_hash(e.ledger_prev, e.ledger_seq, row_bytes(e)) AS hash_ok
  FROM battery_event e
  LEFT JOIN battery_event p ON p.battery = e.battery AND p.ledger_seq = e.ledger_seq - 1
 ORDER BY 1, 2;

-- ledger values supplied by the client are replaced
INSERT INTO battery_event (battery, kind, at, ledger_seq, ledger_prev, ledger_hash)
VALUES ('B0026', 'placed_on_market', '2024-03-01 00:00+00', 99, repeat('f', 64)::hash256, repeat('f', 64)::hash256)
RETURNING battery, ledger_seq, ledger_prev = (SELECT ledger_hash FROM battery_event WHERE battery = 'B0026' AND ledger_seq = 1) AS linked;

-- INSERT ... SELECT and COPY chain too
INSERT INTO battery_event (battery, kind, at)
SELECT 'B0027', 'cycle', '2024-01-01 00:00+00'::timestamptz + i * interval '1 hour'
  FROM generate_series(1, 500) i;
COPY battery_event (battery, kind, at, soh_pct) FROM stdin;
B0027	soh_reported	2024-03-01 00:00:00+00	91.5
B0028	manufactured	2024-01-11 00:00:00+00	\N
\.
COPY battery_event (battery, kind, at) FROM stdin;
B0031	cycle	2024-03-01 00:00:00+00
B0032	cycle	2024-03-01 00:00:00+00
B0031	cycle	2024-03-02 00:00:00+00
B0031	cycle	2024-03-03 00:00:00+00
B0032	cycle	2024-03-02 00:00:00+00
\.
SELECT battery, count(*), min(ledger_seq), max(ledger_seq) FROM battery_event GROUP BY 1 ORDER BY 1;

-- savepoints and rollbacks leave no gap
BEGIN;
INSERT INTO battery_event (battery, kind, at) VALUES ('B0028', 'a', '2024-07-01 00:00+00');
SAVEPOINT s1;
INSERT INTO battery_event (battery, kind, at) VALUES ('B0028', 'rolled back', '2024-07-01 00:00+00');
INSERT INTO battery_event (battery, kind, at) VALUES ('B0028', 'rolled back too', '2024-07-01 00:00+00');
ROLLBACK TO s1;
INSERT INTO battery_event (battery, kind, at) VALUES ('B0028', 'b', '2024-07-01 00:00+00');
COMMIT;
BEGIN;
INSERT INTO battery_event (battery, kind, at) VALUES ('B0028', 'whole transaction rolled back', '2024-07-01 00:00+00');
ROLLBACK;
INSERT INTO battery_event (battery, kind, at) VALUES ('B0028', 'c', '2024-07-01 00:00+00');
SELECT ledger_seq, kind FROM battery_event WHERE battery = 'B0028' ORDER BY ledger_seq;

-- a row that fails a constraint leaves no trace in the chain
INSERT INTO battery_event (battery, kind, at) VALUES ('B0028', NULL, '2024-07-01 00:00+00');
INSERT INTO battery_event (battery, kind, at) VALUES ('B0028', 'd', '2024-07-01 00:00+00') RETURNING ledger_seq;

-- a row skipped by ON CONFLICT DO NOTHING leaves no gap
CREATE UNIQUE INDEX battery_event_kind_once ON battery_event (battery, kind) WHERE kind = 'manufactured';
INSERT INTO battery_event (battery, kind, at) VALUES ('B0028', 'manufactured', '2024-07-01 00:00+00')
    ON CONFLICT DO NOTHING RETURNING ledger_seq;
INSERT INTO battery_event (battery, kind, at) VALUES ('B0028', 'e', '2024-07-01 00:00+00') RETURNING ledger_seq;

-- ... nor in a multi-row statement where later rows of the same chain follow the skipped one
INSERT INTO battery_event (battery, kind, at) VALUES
    ('B0029', 'manufactured', '2024-07-01 00:00+00'), ('B0029', 'e1', '2024-07-01 00:00+00'),
    ('B0029', 'manufactured', '2024-07-01 00:00+00'), ('B0029', 'e2', '2024-07-01 00:00+00')
    ON CONFLICT DO NOTHING RETURNING ledger_seq, kind;

-- a nested statement appending to the same chain between two rows of the outer one
CREATE FUNCTION side_entry(i int) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO battery_event (battery, kind, at) VALUES ('B0030', 'nested ' || i, '2024-07-01 00:00+00');
    RETURN 'outer ' || i;
END $$;
INSERT INTO battery_event (battery, kind, at)
SELECT 'B0030', side_entry(i), '2024-07-01 00:00+00' FROM generate_series(1, 3) i;
SELECT ledger_seq, kind FROM battery_event WHERE battery = 'B0030' ORDER BY ledger_seq;

-- the chain column cannot be NULL
INSERT INTO battery_event (battery, kind, at) VALUES (NULL, 'x', '2024-07-01 00:00+00');

-- UPDATE, DELETE and TRUNCATE are refused, even when no row matches, even for the owner
UPDATE battery_event SET note = 'edited' WHERE battery = 'B0025';
UPDATE battery_event SET note = 'edited' WHERE false;
DELETE FROM battery_event WHERE battery = 'B0025';
TRUNCATE battery_event;
INSERT INTO battery_event (battery, kind, at) VALUES ('B0025', 'manufactured', '2024-07-01 00:00+00')
    ON CONFLICT (battery, kind) WHERE kind = 'manufactured' DO UPDATE SET note = 'x';
-- and stay refused with session_replication_role = replica (the triggers fire ALWAYS)
SET session_replication_role = replica;
DELETE FROM battery_event;
RESET session_replication_role;

SELECT count(*) AS problems FROM verify('battery_event');

-- a single-chain table
CREATE TABLE audit_note (body text);
SELECT enable_ledger('audit_note');
INSERT INTO audit_note VALUES ('one'), ('two'), ('three');
SELECT ledger_seq, body FROM audit_note ORDER BY ledger_seq;
SELECT count(*) AS problems FROM verify('audit_note');

-- another BEFORE INSERT trigger that would fire after the chain trigger is refused
CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.body := upper(NEW.body); RETURN NEW; END $$;
CREATE TRIGGER zzz_shout BEFORE INSERT ON audit_note FOR EACH ROW EXECUTE FUNCTION shout();
INSERT INTO audit_note VALUES ('four');
DROP TRIGGER zzz_shout ON audit_note;
CREATE TRIGGER shout BEFORE INSERT ON audit_note FOR EACH ROW EXECUTE FUNCTION shout();
INSERT INTO audit_note VALUES ('four') RETURNING ledger_seq, body;
SELECT count(*) AS problems FROM verify('audit_note');

-- enable_ledger refusals
SELECT enable_ledger('battery_event');
CREATE TABLE has_rows (x int);
INSERT INTO has_rows VALUES (1);
SELECT enable_ledger('has_rows');
CREATE TABLE bad_type (x int, p point);
SELECT enable_ledger('bad_type');
CREATE TABLE has_generated (x int, y int GENERATED ALWAYS AS (x * 2) STORED);
SELECT enable_ledger('has_generated');
CREATE TABLE reserved (x int, ledger_hash text);
SELECT enable_ledger('reserved');
CREATE TABLE no_col (x int);
SELECT enable_ledger('no_col', 'y');
CREATE VIEW v AS SELECT 1 AS x;
SELECT enable_ledger('v');
SELECT enable_ledger('does_not_exist');
SELECT enable_ledger(NULL);
-- nothing was changed by the refused calls
SELECT count(*) AS columns_added FROM pg_attribute WHERE attrelid IN ('has_rows'::regclass, 'bad_type'::regclass, 'no_col'::regclass) AND attname LIKE 'ledger%';

-- verify() on a table that is not a ledger
SELECT * FROM verify('has_rows');

-- only the owner may enable a ledger; only readers may verify
CREATE ROLE ledger_stranger;
CREATE TABLE owned (x int);
SET ROLE ledger_stranger;
SELECT enable_ledger('owned');
SELECT * FROM verify('battery_event');
RESET ROLE;
DROP TABLE owned;
DROP ROLE ledger_stranger;
-- a table's owner, not a superuser, makes it a ledger and uses it
CREATE ROLE ledger_owner;
GRANT CREATE ON SCHEMA public TO ledger_owner;
SET ROLE ledger_owner;
CREATE TABLE owner_events (battery text, note text);
SELECT enable_ledger('owner_events', 'battery');
INSERT INTO owner_events VALUES ('B1', 'by the owner'), ('B1', 'again');
SELECT battery, ledger_seq, note FROM owner_events ORDER BY ledger_seq;
SELECT count(*) AS problems FROM verify('owner_events');
-- and cannot register a table with settings its triggers do not enforce
SELECT battledger._register('owner_events', 'note', 'owner_events_ledger_chain', NULL);
RESET ROLE;

-- two chains whose keys hash alike share a slot in a statement's cached
-- heads: rows alternating between them, in one statement and then another,
-- keep each chain's own positions and links (rolled back: the log test
-- counts every ledger row of the database)
BEGIN;
CREATE TABLE collide (k text, n int);
SELECT enable_ledger('collide', 'k');
SELECT min(k) AS k1, max(k) AS k2
  FROM (SELECT 'k' || g AS k FROM generate_series(1, 300000) g) s
 GROUP BY hashtext(k) HAVING count(*) > 1 ORDER BY hashtext(k) LIMIT 1 \gset
SELECT hashtext(:'k1') = hashtext(:'k2') AS same_hash, :'k1' <> :'k2' AS different_keys;
INSERT INTO collide SELECT CASE WHEN i % 2 = 1 THEN :'k1' ELSE :'k2' END, i FROM generate_series(1, 6) i;
INSERT INTO collide SELECT CASE WHEN i % 3 = 0 THEN :'k1' ELSE :'k2' END, i FROM generate_series(7, 12) i;
SELECT k = :'k1' AS is_k1, array_agg(ledger_seq ORDER BY n) AS seqs, array_agg(n ORDER BY n) AS ns
  FROM collide GROUP BY k ORDER BY 1;
SELECT count(*) AS problems FROM verify('collide');
ROLLBACK;

-- battledger.origin is checked and made into text once per assignment of
-- the setting, not per row (log.c, chain.c): every assignment, rolled back
-- or not, reaches the next row, and a statement's cached heads are voided
-- by a change between two of its rows (rolled back, as above)
BEGIN;
CREATE TABLE origin_rows (k text, n int, note text);
SELECT enable_ledger('origin_rows', 'k');
INSERT INTO origin_rows VALUES ('k', 1);
SET LOCAL battledger.origin = 'battledger.test/other';
INSERT INTO origin_rows VALUES ('k', 2);
SAVEPOINT s1;
SET LOCAL battledger.origin = 'not a name';
INSERT INTO origin_rows VALUES ('k', 3);
ROLLBACK TO s1;
INSERT INTO origin_rows VALUES ('k', 4);
SAVEPOINT s2;
SET LOCAL battledger.origin = 'battledger.test/third';
INSERT INTO origin_rows VALUES ('k', 5);
ROLLBACK TO s2;
INSERT INTO origin_rows VALUES ('k', 6);
RESET battledger.origin;
INSERT INTO origin_rows VALUES ('k', 7);
CREATE FUNCTION origin_rows_insert(i int) RETURNS void LANGUAGE sql
  SET battledger.origin = 'battledger.test/fn' AS $$ INSERT INTO origin_rows VALUES ('k', i) $$;
SELECT origin_rows_insert(8);
INSERT INTO origin_rows VALUES ('k', 9);
-- one statement, the origin switched between its rows
INSERT INTO origin_rows
  SELECT 'k', g, set_config('battledger.origin', 'battledger.test/o' || (g % 2), true)
    FROM generate_series(10, 13) g;
SELECT n, ledger_origin, ledger_seq FROM origin_rows ORDER BY n;
SELECT count(*) AS problems FROM verify('origin_rows');
ROLLBACK;
