-- Bringing existing tables into the ledger (issue 12, item 6): enum columns,
-- migrate_to_ledger(), and what MERGE does on a ledger table (item 9).
\set SHOW_CONTEXT never
\set VERBOSITY terse
SET search_path = public, battledger;

------------------------------------------------------------------ enums
CREATE TYPE mig_kind AS ENUM ('manufactured', 'sold', 'recycled');
CREATE DOMAIN mig_kind_d AS mig_kind;
-- by label: tag 14, the label's UTF-8 bytes (docs/encoding.md)
SELECT battledger.row_bytes(ROW('sold'::mig_kind));
-- the same label as text differs only by its tag (08)
SELECT battledger.row_bytes(ROW('sold'::text));
-- arrays of enums, and domains over enums, are encoded as the enum
SELECT battledger.row_bytes(ROW(ARRAY['sold', NULL, 'recycled']::mig_kind[])),
       battledger.row_bytes(ROW('sold'::mig_kind_d)) = battledger.row_bytes(ROW('sold'::mig_kind));
-- the sort position plays no part: a value added BEFORE keeps every label's bytes
ALTER TYPE mig_kind ADD VALUE 'placed_on_market' BEFORE 'sold';
SELECT battledger.row_bytes(ROW('sold'::mig_kind));

CREATE TABLE mig_ev (battery text, k mig_kind NOT NULL, ks mig_kind[], kd mig_kind_d);
SELECT enable_ledger('mig_ev', 'battery');
INSERT INTO mig_ev VALUES ('B1', 'manufactured', NULL, NULL), ('B1', 'sold', ARRAY['sold']::mig_kind[], 'recycled');
SELECT count(*) FROM verify('mig_ev');
SELECT ledger_hash = chain_hash(ledger_prev, ledger_seq, row_bytes(e.*)) FROM mig_ev e ORDER BY ledger_seq;

-- renaming a label a ledger column holds would change what stored rows' bytes mean
ALTER TYPE mig_kind RENAME VALUE 'sold' TO 'placed';
-- also when the column holds it through a domain or an array only
CREATE TYPE mig_grade AS ENUM ('a', 'b');
CREATE DOMAIN mig_grade_d AS mig_grade;
CREATE TABLE mig_dom (id int, g mig_grade_d);
SELECT enable_ledger('mig_dom');
ALTER TYPE mig_grade RENAME VALUE 'a' TO 'aa';
CREATE TYPE mig_level AS ENUM ('low', 'high');
CREATE TABLE mig_arr (id int, ls mig_level[]);
SELECT enable_ledger('mig_arr');
ALTER TYPE mig_level RENAME VALUE 'low' TO 'lo';
-- adding a label, renaming the type, and renaming labels of an enum no ledger uses are allowed
ALTER TYPE mig_kind ADD VALUE 'repurposed';
ALTER TYPE mig_kind RENAME TO mig_kind2;
ALTER TYPE mig_kind2 RENAME TO mig_kind;
CREATE TYPE mig_free AS ENUM ('x', 'y');
CREATE TABLE mig_plain (f mig_free);
ALTER TYPE mig_free RENAME VALUE 'x' TO 'xx';
-- dropping the enum would drop the ledger column
DROP TYPE mig_kind CASCADE;
SELECT count(*) FROM verify('mig_ev');

------------------------------------------------------------------ migrate_to_ledger()
CREATE TABLE mig_cell (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial_no serial,
    battery text NOT NULL,
    k mig_kind NOT NULL,
    at timestamptz NOT NULL,
    note text CHECK (note <> ''),
    dropped_later int
);
CREATE INDEX mig_cell_battery_at ON mig_cell (battery, at);
CREATE UNIQUE INDEX mig_cell_note ON mig_cell (note) WHERE note IS NOT NULL;
COMMENT ON TABLE mig_cell IS 'cell events';
COMMENT ON COLUMN mig_cell.k IS 'what happened';
ALTER TABLE mig_cell DROP COLUMN dropped_later;
-- rows written in an order that is not the heap's: the chain follows order_by
INSERT INTO mig_cell (battery, k, at, note)
SELECT 'B' || (i % 3), (ARRAY['manufactured', 'sold', 'recycled']::mig_kind[])[1 + i % 3],
       '2024-01-01 00:00+00'::timestamptz + (25 - i) * interval '1 hour', CASE WHEN i % 5 = 0 THEN 'n' || i END
  FROM generate_series(1, 25) i;
CREATE ROLE mig_reader;
CREATE ROLE mig_plain;
GRANT SELECT ON mig_cell TO mig_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON mig_cell TO mig_plain;
-- what the rows were, to compare after
CREATE TABLE mig_before AS SELECT id, serial_no, battery, k::text AS k, at, note FROM mig_cell;

-- only the owner may: a plain role with every DML right is refused before any lock
SET ROLE mig_plain;
SELECT migrate_to_ledger('mig_cell', 'battery', ARRAY['at', 'id']);
RESET ROLE;
-- nor a superuser on a table it does not own: the copy would run the owner's
-- constraints with the superuser's rights
CREATE TABLE mig_theirs (id int PRIMARY KEY, CHECK (id > 0));
ALTER TABLE mig_theirs OWNER TO mig_plain;
INSERT INTO mig_theirs VALUES (1);
SELECT migrate_to_ledger('mig_theirs');
-- as the owner (who may create tables in the schema), it can
GRANT CREATE ON SCHEMA public TO mig_plain;
SET ROLE mig_plain;
SELECT migrate_to_ledger('mig_theirs');
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM mig_plain;
SELECT pg_get_userbyid(c.relowner), l.chain_by IS NULL AS one_chain
  FROM ledger_tables l JOIN pg_class c ON c.oid = l.tbl WHERE l.tbl = 'mig_theirs'::regclass;
-- a generated column would become a plain one: refused
CREATE TABLE mig_gen (id int PRIMARY KEY, twice int GENERATED ALWAYS AS (id * 2) STORED);
INSERT INTO mig_gen (id) VALUES (1);
SELECT migrate_to_ledger('mig_gen');
-- bad arguments
SELECT migrate_to_ledger(NULL);
SELECT migrate_to_ledger('mig_cell', 'battery', batch_rows => 0);
SELECT migrate_to_ledger('mig_cell', 'no_such_column');
SELECT migrate_to_ledger('mig_cell', 'battery', ARRAY['no_such_column']);
SELECT migrate_to_ledger('mig_cell', 'battery', ARRAY[]::name[]);
SELECT migrate_to_ledger('mig_ev', 'battery');
SELECT migrate_to_ledger('mig_cell', 'battery', keep_as => 'mig_before');
-- what the swap could not carry is refused, not lost
CREATE VIEW mig_cell_view AS SELECT id FROM mig_cell;
SELECT migrate_to_ledger('mig_cell', 'battery');
DROP VIEW mig_cell_view;
CREATE FUNCTION mig_cell_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER mig_cell_trg BEFORE INSERT ON mig_cell FOR EACH ROW EXECUTE FUNCTION mig_cell_trg();
SELECT migrate_to_ledger('mig_cell', 'battery');
DROP TRIGGER mig_cell_trg ON mig_cell;
CREATE TABLE mig_ref (cell bigint REFERENCES mig_cell (id));
SELECT migrate_to_ledger('mig_cell', 'battery');
DROP TABLE mig_ref;
-- a failing copy leaves everything as it was (one transaction): a chain
-- column must have a value, and most notes have none
SELECT migrate_to_ledger('mig_cell', 'note', ARRAY['at', 'id']);
SELECT to_regclass('mig_cell_premigration') IS NULL AS nothing_kept, count(*) FROM mig_cell;
CREATE TABLE mig_nochain (id int, t text);
INSERT INTO mig_nochain VALUES (1, 'a');
SELECT migrate_to_ledger('mig_nochain');

-- the migration, in batches of 10, with a progress line after each
SET battledger.progress_interval = 0;
SELECT migrate_to_ledger('mig_cell', 'battery', ARRAY['at', 'id'], batch_rows => 10);
RESET battledger.progress_interval;
-- a ledger table under the old name, every row as it was, the chains intact
SELECT l.tbl::text, l.chain_by FROM ledger_tables l WHERE l.tbl = 'mig_cell'::regclass;
SELECT count(*) FROM verify('mig_cell');
SELECT (SELECT count(*) FROM mig_cell) AS ledger_rows,
       (SELECT count(*) FROM mig_cell_premigration) AS kept_rows,
       (SELECT count(*) FROM (SELECT id, serial_no, battery, k::text, at, note FROM mig_cell
                              EXCEPT SELECT * FROM mig_before) d) AS differing;
-- each chain records its rows in the order asked for (at, id)
SELECT battery, bool_and(ordered AND dense) AS in_order FROM (
    SELECT battery, at > lag(at) OVER w OR lag(at) OVER w IS NULL AS ordered, ledger_seq = row_number() OVER w AS dense
      FROM mig_cell WINDOW w AS (PARTITION BY battery ORDER BY ledger_seq)) s GROUP BY battery ORDER BY 1;
-- the indexes and constraints under their old names, the old table's set aside
SELECT c.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
 WHERE x.indrelid IN ('mig_cell'::regclass, 'mig_cell_premigration'::regclass) ORDER BY 1;
SELECT conname, contype FROM pg_constraint WHERE conrelid = 'mig_cell'::regclass AND contype <> 'n' ORDER BY 1;  -- 18 lists NOT NULL too
-- comments, owner and grants carried over
SELECT obj_description('mig_cell'::regclass, 'pg_class'), col_description('mig_cell'::regclass, 4);
SELECT has_table_privilege('mig_reader', 'mig_cell', 'SELECT') AS reader_select,
       has_table_privilege('mig_reader', 'mig_cell', 'INSERT') AS reader_insert,
       has_table_privilege('mig_plain', 'mig_cell', 'INSERT') AS plain_insert;
-- the identity and the serial continue where the old table left off
INSERT INTO mig_cell (battery, k, at) VALUES ('B1', 'recycled', '2025-01-01 00:00+00') RETURNING id, serial_no, ledger_seq;
SELECT pg_get_serial_sequence('mig_cell', 'serial_no'), pg_get_serial_sequence('mig_cell_premigration', 'serial_no');
-- the ledger table now refuses what a ledger refuses
UPDATE mig_cell SET note = 'x';
-- the old table can go; the serial's sequence stays with the ledger table
DROP TABLE mig_cell_premigration;
INSERT INTO mig_cell (battery, k, at) VALUES ('B2', 'recycled', '2025-01-02 00:00+00') RETURNING id, serial_no;
SELECT count(*) FROM verify('mig_cell');

------------------------------------------------------------------ MERGE (item 9)
CREATE TABLE mig_incoming (battery text, k mig_kind, at timestamptz);
INSERT INTO mig_incoming VALUES ('B1', 'recycled', '2025-01-01 00:00+00'), ('B7', 'manufactured', '2025-02-01 00:00+00');
SELECT count(*) AS pending_before FROM log_pending WHERE tbl = 'public.mig_cell' \gset
-- insert-only MERGE: new rows are chained and queued for the log like any insert
MERGE INTO mig_cell c USING mig_incoming i ON c.battery = i.battery AND c.at = i.at
WHEN NOT MATCHED THEN INSERT (battery, k, at) VALUES (i.battery, i.k, i.at);
SELECT battery, k, ledger_seq FROM mig_cell WHERE battery = 'B7';
SELECT count(*) - :pending_before AS newly_queued FROM log_pending WHERE tbl = 'public.mig_cell';
-- WHEN MATCHED THEN DO NOTHING is an insert-only MERGE too
MERGE INTO mig_cell c USING mig_incoming i ON c.battery = i.battery AND c.at = i.at
WHEN MATCHED THEN DO NOTHING
WHEN NOT MATCHED THEN INSERT (battery, k, at) VALUES (i.battery, i.k, i.at);
-- an UPDATE or DELETE action is refused, even when no row matches
MERGE INTO mig_cell c USING (SELECT 'nobody' AS battery) i ON c.battery = i.battery
WHEN MATCHED THEN UPDATE SET note = 'x';
MERGE INTO mig_cell c USING (SELECT 'nobody' AS battery) i ON c.battery = i.battery
WHEN MATCHED THEN DELETE
WHEN NOT MATCHED THEN INSERT (battery, k, at) VALUES ('B8', 'sold', now());
SELECT count(*) FROM mig_cell WHERE battery = 'B8';
SELECT count(*) FROM verify('mig_cell');
