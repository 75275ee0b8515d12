-- The DDL guard: schema changes that would break a ledger table are refused.
\set SHOW_CONTEXT never
SET search_path = public, battledger;

CREATE TABLE cell_lot (lot text, material text, mass_kg numeric);
SELECT enable_ledger('cell_lot', 'lot');
INSERT INTO cell_lot VALUES ('L1', 'lithium carbonate', 1200.5), ('L1', 'lithium carbonate', 1100);

ALTER TABLE cell_lot DROP COLUMN material;
ALTER TABLE cell_lot DROP COLUMN ledger_hash;
ALTER TABLE cell_lot ALTER COLUMN mass_kg TYPE float8;
ALTER TABLE cell_lot ALTER COLUMN ledger_seq DROP NOT NULL;
ALTER TABLE cell_lot ALTER COLUMN lot DROP NOT NULL;
ALTER TABLE cell_lot RENAME COLUMN material TO substance;
ALTER TABLE cell_lot RENAME TO material_lot;
CREATE SCHEMA elsewhere;
ALTER TABLE cell_lot SET SCHEMA elsewhere;
ALTER TABLE cell_lot DISABLE TRIGGER battledger_log;
CREATE TABLE lot_parent (lot text, material text, mass_kg numeric);
ALTER TABLE cell_lot INHERIT lot_parent;
CREATE TABLE lot_child () INHERITS (cell_lot);
CREATE TABLE lot_part (lot text, material text, mass_kg numeric) PARTITION BY LIST (lot);
ALTER TABLE lot_part ATTACH PARTITION cell_lot FOR VALUES IN ('L1');
ALTER TABLE cell_lot SET UNLOGGED;
CREATE DOMAIN kg_default AS numeric DEFAULT 0;
ALTER TABLE cell_lot ADD COLUMN tare kg_default;
ALTER SCHEMA public RENAME TO somewhere_else;
DROP TRIGGER battledger_log ON cell_lot;
ALTER TABLE cell_lot ADD COLUMN origin text DEFAULT 'CL';
ALTER TABLE cell_lot ADD COLUMN origin_id int GENERATED ALWAYS AS IDENTITY;
ALTER TABLE cell_lot ADD COLUMN origin_pt point;
ALTER TABLE cell_lot DISABLE TRIGGER zz_battledger_chain;
ALTER TABLE cell_lot DISABLE TRIGGER battledger_append_only;
ALTER TABLE cell_lot DISABLE TRIGGER ALL;
ALTER TABLE cell_lot DISABLE TRIGGER USER;
ALTER TABLE cell_lot ENABLE TRIGGER battledger_append_only;
ALTER TABLE cell_lot ENABLE REPLICA TRIGGER zz_battledger_chain;
ALTER TRIGGER zz_battledger_chain ON cell_lot RENAME TO chain;
DROP TRIGGER battledger_append_only ON cell_lot;
DROP INDEX cell_lot_ledger_chain;
DROP TABLE cell_lot;
CREATE SCHEMA doomed;
CREATE TABLE doomed.t (x int);
SELECT enable_ledger('doomed.t');
DROP SCHEMA doomed CASCADE;

-- allowed: a plain nullable column (old rows keep their bytes), an ordinary index, a comment
ALTER TABLE cell_lot ADD COLUMN country text;
CREATE INDEX ON cell_lot (material);
COMMENT ON TABLE cell_lot IS 'raw-material lots';
INSERT INTO cell_lot (lot, material, mass_kg, country) VALUES ('L1', 'lithium carbonate', 90, 'CL');
SELECT lot, ledger_seq, country FROM cell_lot ORDER BY ledger_seq;
SELECT count(*) AS problems FROM verify('cell_lot');

-- other tables are not affected
CREATE TABLE scratch (x int);
ALTER TABLE scratch DISABLE TRIGGER ALL;
ALTER TABLE scratch DROP COLUMN x;
DROP TABLE scratch;
