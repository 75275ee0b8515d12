#!/usr/bin/env bash
# SQL fuzzing of every function of the extension, on its own throwaway
# cluster: whatever arguments a caller passes, the server must answer with
# an error or a result, never crash.
#
# The functions are enumerated from the catalog (pg_depend on the
# extension), not listed here, so functions added later are fuzzed too.
# For each function, with every other argument at a plausible value, each
# argument position in turn gets NULL and the bad values of its type: empty,
# huge (1 MB) and random strings and bytea, malformed hex, base64, notes,
# vkeys and tlog-proofs (real ones from this cluster's log, mutated),
# extreme and negative integers, NaN and infinities, 0::regclass and the
# OIDs of views, sequences, indexes, system catalogs, the extension's own
# tables and a table with ledger column names of the wrong types, empty,
# multi-dimensional, non-1-based and 100,000-element arrays; then all NULLs.
# Then the extension's tables get rows with each column in turn bad, as a
# normal insert and as a replicated one (session_replication_role = replica,
# where the checks on rows from other members run): what a superuser can do
# behind the guards.  Functions returning trigger or event_trigger are called
# directly too, then attached (with and without trigger arguments) to a
# plain table, that mistyped table, a ledger table and a view, at every
# timing, level and event, and fired.  Last, every function once more with
# plausible arguments, over the state all that left.
#
# Every call runs as the superuser and again as a plain role, each as its
# own statement (statement_timeout 2 s), so errors are expected and
# counted, not fatal.  The generated values are deterministic (setseed).
#
# Fails if the server crashed: the checkpointer's pid changed (a crash makes
# the postmaster reinitialise without changing pg_postmaster_start_time) or
# the server log says "terminated by signal".  Each crashing statement is
# printed (with the role) as a reproducer, and the run goes on after the
# server has recovered.  Bounded by SQL_FUZZ_SECONDS (default 45) of calls.
# SQL_FUZZ_SAVE=DIR keeps the statements (calls.sql) and the errors there.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

PORT=${SQL_FUZZ_PORT:-55458}
BUDGET=${SQL_FUZZ_SECONDS:-45}
SEED=${SQL_FUZZ_SEED:-0.4242}
CHUNK=250	# statements per psql run; the budget is checked between runs

bl_scratch
bl_start_cluster sqlfuzz "$PORT" "$(bl_test_log_conf sqlfuzz.test/log)
wal_level = logical
log_min_messages = log          # the crash lines, not every ERROR
log_min_error_statement = panic
track_activity_query_size = 8192"
W=$BL_WORK/sqlfuzz-files
mkdir -p "$W"
LOG=$BL_WORK/sqlfuzz.log
createdb fuzz
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d fuzz "$@"; }

# Fixtures: tables of every kind the regclass arguments can name, a ledger
# table with sealed rows (so log functions have a tree to work on), and a
# plain role that may attach triggers to the tables.
q > /dev/null <<'SQL'
CREATE EXTENSION battledger;
CREATE ROLE fuzzer LOGIN;
CREATE TABLE fz_plain (a int, b text);
INSERT INTO fz_plain VALUES (1, 'one');
-- The ledger columns' names with the wrong types: what a careless C function
-- trusts.  The first passes the structural checks (origin text, the chain
-- index) and the second does not even have a text origin.
CREATE TABLE fz_mistyped (battery text, ledger_seq text, ledger_prev int, ledger_hash text,
    ledger_origin text COLLATE "C", ledger_key_id text, ledger_sig int, ledger_at text, ledger_batch int);
CREATE UNIQUE INDEX ON fz_mistyped (battery, ledger_origin, ledger_seq);
INSERT INTO fz_mistyped VALUES ('B1', 'x', 1, 'y', '', 'k', 3, 'now', 4);
CREATE TABLE fz_mistyped2 (battery text, ledger_seq text, ledger_prev int, ledger_hash text,
    ledger_origin int, ledger_key_id text, ledger_sig int, ledger_at text, ledger_batch int);
INSERT INTO fz_mistyped2 VALUES ('B1', 'x', 1, 'y', 2, 'k', 3, 'now', 4);
CREATE TABLE fz_ledger (battery text, v numeric);
SELECT battledger.enable_ledger('fz_ledger', 'battery');
INSERT INTO fz_ledger VALUES ('B1', 1), ('B1', 2), ('B2', 3);
SELECT battledger.seal();
INSERT INTO fz_ledger VALUES ('B1', 4);
CREATE VIEW fz_view AS SELECT * FROM fz_plain;
CREATE SEQUENCE fz_seq;
CREATE INDEX fz_index ON fz_plain (a);
CREATE TABLE fz_parted (a int) PARTITION BY RANGE (a);
GRANT ALL ON fz_plain, fz_mistyped, fz_mistyped2, fz_ledger, fz_view, fz_parted TO fuzzer;
SQL

# Generate the statements, one per line.
q -v seed="$SEED" > "$W/calls.sql" <<'SQL'
SET client_min_messages = warning;
SELECT setseed(:seed) \g /dev/null
CREATE TEMP TABLE pool (kind text, ord int, expr text);
-- A literal on one line (statements are located by line).
CREATE FUNCTION pg_temp.lit(s text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT 'E''' || replace(replace(replace(replace(s, E'\\', E'\\\\'), '''', E'\\'''),
                 E'\n', E'\\n'), E'\r', E'\\r') || ''''
$$;
CREATE FUNCTION pg_temp.rnd_hex(n int) RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT coalesce(string_agg(lpad(to_hex((random() * 255)::int), 2, '0'), ''), '')
    FROM generate_series(1, n)
$$;
CREATE FUNCTION pg_temp.rnd_text(n int) RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT string_agg(chr(32 + (random() * 700)::int), '') FROM generate_series(1, n)
$$;
-- n bytes of s changed at random places
CREATE FUNCTION pg_temp.mutate(s text, n int) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  FOR i IN 1 .. n LOOP
    s := overlay(s PLACING chr(32 + (random() * 94)::int) FROM 1 + (random() * (length(s) - 1))::int FOR 1);
  END LOOP;
  RETURN s;
END $$;

-- Values by kind; ord 0 is the plausible value the other arguments get.
-- {T}: the argument's type, {E}: an array's element type, {G}: its plausible element.
CREATE TEMP TABLE fz_real (name text, v text);
INSERT INTO fz_real VALUES ('note', battledger.checkpoint()), ('vkey', battledger.log_vkey()),
  ('proof', battledger.tlog_proof(1, 0));
INSERT INTO pool SELECT 'text', ord, e || '::{T}' FROM (VALUES
  (0, '''x'''), (1, ''''''), (2, 'repeat(''A'', 1000000)'), (3, 'repeat(''é'', 300000)'),
  (4, '''zz not hex'''), (5, '''0f'''), (6, 'repeat(''ab'', 32)'), (7, '''===='''),
  (8, '''AAAA'''), (9, '''%s%s%n%x%999999999d'''), (10, 'E''x\n\n— x AAAA\n'''),
  (11, ''''');DROP TABLE fz_plain;--'''), (12, '''pg_catalog.pg_class'''), (13, '''fz_ledger'''),
  (14, '''battledger.checkpoint'''), (15, '''gs1:01/09506000134352/21/ABC123'''),
  (16, '''https://[::1/01/1/21/x'''), (17, '''{"a":'''), (18, '''-1'''),
  (19, '''18446744073709551616'''), (20, '''a+00000000+AAAA'''), (21, '''sqlfuzz.test/log''')) v(ord, e);
INSERT INTO pool SELECT 'text', 30 + i, pg_temp.lit(v) || '::{T}' FROM (
  SELECT 1, (SELECT v FROM fz_real WHERE name = 'note') UNION ALL
  SELECT 2, (SELECT substr(v, 1, length(v) / 2) FROM fz_real WHERE name = 'note') UNION ALL
  SELECT 3, (SELECT pg_temp.mutate(v, 1) FROM fz_real WHERE name = 'note') UNION ALL
  SELECT 4, (SELECT pg_temp.mutate(v, 8) FROM fz_real WHERE name = 'note') UNION ALL
  SELECT 5, (SELECT split_part(v, E'\n\n', 1) || E'\n\n' FROM fz_real WHERE name = 'note') UNION ALL
  SELECT 6, (SELECT v || v FROM fz_real WHERE name = 'note') UNION ALL
  SELECT 7, (SELECT v FROM fz_real WHERE name = 'vkey') UNION ALL
  SELECT 8, (SELECT pg_temp.mutate(v, 1) FROM fz_real WHERE name = 'vkey') UNION ALL
  SELECT 9, (SELECT v FROM fz_real WHERE name = 'proof') UNION ALL
  SELECT 10, (SELECT pg_temp.mutate(v, 3) FROM fz_real WHERE name = 'proof') UNION ALL
  SELECT 11, pg_temp.rnd_text(10) UNION ALL
  SELECT 12, pg_temp.rnd_text(200) UNION ALL
  SELECT 13, pg_temp.rnd_text(3000)) m(i, v);
INSERT INTO pool SELECT 'bytea', ord, e FROM (VALUES
  (0, '''\x00''::bytea'), (1, '''''::bytea'), (2, 'decode(repeat(''ff'', 32), ''hex'')'),
  (3, 'decode(repeat(''00'', 64), ''hex'')'), (4, 'decode(repeat(''00'', 1000000), ''hex'')'),
  (5, 'convert_to(battledger.checkpoint(), ''UTF8'')')) v(ord, e);
INSERT INTO pool SELECT 'bytea', 10 + n, '''\x' || pg_temp.rnd_hex(n) || '''::bytea'
  FROM unnest(ARRAY[1, 31, 33, 65, 300]) n;
INSERT INTO pool SELECT 'int', ord, e || '::{T}' FROM (VALUES
  (0, '1'), (1, '0'), (2, '-1'), (3, '2'), (4, '32767'), (5, '2147483647'), (6, '(-2147483648)'),
  (7, '9223372036854775807'), (8, '(-9223372036854775808)'), (9, '4294967296'),
  (10, '4611686018427387904')) v(ord, e);
INSERT INTO pool SELECT 'numeric', ord, e || '::{T}' FROM (VALUES
  (0, '1'), (1, '0'), (2, '-1'), (3, '''NaN'''), (4, '''Infinity'''), (5, '''-Infinity'''),
  (6, '1e1000'), (7, '1e-1000'), (8, '123456789012345678901234567890.123456789')) v(ord, e);
INSERT INTO pool SELECT 'float', ord, e || '::{T}' FROM (VALUES
  (0, '1'), (1, '0'), (2, '''NaN'''), (3, '''Infinity'''), (4, '''-Infinity'''), (5, '1e308'),
  (6, '-1e-308')) v(ord, e);
INSERT INTO pool VALUES ('bool', 0, 'true'), ('bool', 1, 'false');
INSERT INTO pool SELECT 'regclass', ord, e || '::regclass' FROM (VALUES
  (0, '''fz_ledger'''), (1, '0'), (2, '''fz_plain'''), (3, '''fz_mistyped'''), (4, '''fz_view'''),
  (5, '''fz_seq'''), (6, '''fz_index'''), (7, '''fz_parted'''), (8, '''pg_class'''),
  (9, '''pg_proc'''), (10, '''pg_statistic'''), (11, '''battledger.checkpoint'''),
  (12, '''battledger.member_event'''), (13, '''battledger.ledger_tables'''),
  (14, '''battledger.members'''), (15, '4294967295::oid'),
  (16, '(SELECT reltoastrelid FROM pg_class WHERE relname = ''fz_plain'')'),
  (17, '(SELECT min(oid) FROM pg_class WHERE relkind = ''c'')'), (18, '''fz_mistyped2''')) v(ord, e);
INSERT INTO pool SELECT 'oid', ord, e || '::{T}' FROM (VALUES
  (0, '''fz_ledger''::regclass::oid'), (1, '0'), (2, '1'), (3, '4294967295'),
  (4, '''pg_class''::regclass::oid')) v(ord, e);
INSERT INTO pool SELECT 'time', ord, e || '::{T}' FROM (VALUES
  (0, '''2024-01-01 00:00+00'''), (1, '''infinity'''), (2, '''-infinity'''),
  (3, '''4713-01-01 00:00+00 BC'''), (4, '''294276-12-31 00:00+00'''), (5, '''epoch''')) v(ord, e);
INSERT INTO pool SELECT 'json', ord, e || '::{T}' FROM (VALUES
  (0, '''{}'''), (1, '''[]'''), (2, '''null'''), (3, '''1'''), (4, '''"x"'''),
  (5, '''{"a": {"b": [1, 2, {"c": null}]}, "mass_kg": -1, "lot_id": "L1"}'''),
  (6, 'repeat(''['', 2000) || repeat('']'', 2000)'),
  (7, '(SELECT jsonb_object_agg(g::text, g) FROM generate_series(1, 10000) g)::text'),
  (8, '''[{"lot_id": "L1", "mass_kg": 1e300}, {"lot_id": null}]''')) v(ord, e);
INSERT INTO pool SELECT 'hash256', ord, e FROM (VALUES
  (0, 'repeat(''00'', 32)::battledger.hash256'), (1, 'repeat(''ff'', 32)::battledger.hash256'),
  (2, '(SELECT ledger_hash FROM fz_ledger LIMIT 1)'),
  (3, '(SELECT root FROM battledger.checkpoint ORDER BY tree_size DESC LIMIT 1)')) v(ord, e);
INSERT INTO pool SELECT 'battery_id', ord, e || '::battledger.battery_id' FROM (VALUES
  (0, '''gs1:01/09506000134352/21/ABC123'''), (1, '''iso15459:UN/043325711/BAT-0001'''),
  (2, '''iso15459:ABC/ABCDEFGHIJKL/'' || repeat(''A'', 35)'),
  (3, '''gs1:01/09506000134352/21/'' || repeat(''%'', 20)')) v(ord, e);
INSERT INTO pool VALUES ('record', 0, 'ROW(1, ''x'')'), ('record', 1, '(SELECT t FROM fz_plain t LIMIT 1)'),
  ('record', 2, '(SELECT t FROM fz_ledger t LIMIT 1)'), ('record', 3, '(SELECT t FROM fz_mistyped t LIMIT 1)'),
  ('record', 4, 'ROW()'), ('record', 5, 'ROW(NULL)'), ('record', 6, 'ROW(repeat(''A'', 1000000))'),
  ('record', 7, '(SELECT c FROM pg_class c LIMIT 1)'), ('record', 8, 'ROW(ROW(1, 2), ARRAY[1])'),
  ('record', 9, '(SELECT t FROM battledger.checkpoint t LIMIT 1)'),
  ('record', 10, '(SELECT t FROM fz_mistyped2 t LIMIT 1)');
INSERT INTO pool VALUES ('any', 0, '1'), ('any', 1, '''x''::text'), ('any', 2, 'ROW(1)'),
  ('any', 3, 'ARRAY[1, 2]'), ('any', 4, '''{}''::jsonb'), ('any', 5, 'NULL::int');
INSERT INTO pool VALUES ('composite', 0, 'NULL::{T}'), ('composite', 1, 'ROW(NULL)::{T}'),
  ('composite', 2, '(SELECT t FROM {T} t LIMIT 1)');
INSERT INTO pool VALUES ('array', 0, 'ARRAY[{G}]::{T}'), ('array', 1, '''{}''::{T}'),
  ('array', 2, 'ARRAY[NULL]::{T}'), ('array', 3, 'array_fill(NULL::{E}, ARRAY[2, 2])'),
  ('array', 4, 'array_fill({G}, ARRAY[2, 3])'), ('array', 5, 'array_fill({G}, ARRAY[2], ARRAY[-7])'),
  ('array', 6, 'array_fill({G}, ARRAY[1, 1, 1, 1, 1, 1])'), ('array', 7, 'array_fill({G}, ARRAY[100000])'),
  ('array', 8, 'ARRAY[{G}, NULL]::{T}');
INSERT INTO pool VALUES ('other', 0, 'NULL::{T}');

CREATE FUNCTION pg_temp.kind(t oid) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN ty.typtype = 'd' THEN pg_temp.kind(ty.typbasetype)
    WHEN t = 'internal'::regtype THEN 'internal'
    WHEN t = 'regclass'::regtype THEN 'regclass'
    WHEN t IN ('oid'::regtype, 'regproc'::regtype, 'regprocedure'::regtype, 'regtype'::regtype,
               'regrole'::regtype, 'regnamespace'::regtype) THEN 'oid'
    WHEN t IN ('text'::regtype, 'varchar'::regtype, 'name'::regtype, 'cstring'::regtype,
               'bpchar'::regtype, '"char"'::regtype) THEN 'text'
    WHEN t IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) THEN 'int'
    WHEN t = 'numeric'::regtype THEN 'numeric'
    WHEN t IN ('float4'::regtype, 'float8'::regtype) THEN 'float'
    WHEN t = 'bytea'::regtype THEN 'bytea'
    WHEN t = 'bool'::regtype THEN 'bool'
    WHEN t IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN 'time'
    WHEN t IN ('json'::regtype, 'jsonb'::regtype) THEN 'json'
    WHEN t = 'battledger.hash256'::regtype THEN 'hash256'
    WHEN t = 'battledger.battery_id'::regtype THEN 'battery_id'
    WHEN t = 'record'::regtype THEN 'record'
    WHEN ty.typtype = 'p' AND ty.typname LIKE 'any%' AND ty.typname NOT LIKE '%array' THEN 'any'
    WHEN ty.typcategory = 'A' AND ty.typelem <> 0 THEN 'array'
    WHEN ty.typtype = 'c' THEN 'composite'
    ELSE 'other' END
  FROM pg_type ty WHERE ty.oid = t
$$;
-- The values for an argument of type t (ord 0 first), and its NULL.
CREATE FUNCTION pg_temp.vals(t oid) RETURNS TABLE (ord int, expr text) LANGUAGE plpgsql STABLE AS $$
DECLARE
  k text := pg_temp.kind(t);
  tn text := format_type(t, NULL);
  el oid := (SELECT typelem FROM pg_type WHERE oid = t);
  good text;
BEGIN
  IF k = 'array' THEN
    good := (SELECT v.expr FROM pg_temp.vals(el) v WHERE v.ord = 0);
  END IF;
  RETURN QUERY
    SELECT p.ord, replace(replace(replace(p.expr, '{T}', tn), '{E}', format_type(el, NULL)),
                          '{G}', coalesce(good, 'NULL::' || format_type(el, NULL)))
      FROM pool p WHERE p.kind = k
    UNION ALL
    SELECT -1, CASE k WHEN 'internal' THEN 'NULL' WHEN 'any' THEN 'NULL::int' ELSE 'NULL::' || tn END
    ORDER BY 1;
END $$;
CREATE FUNCTION pg_temp.good(t oid) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT v.expr FROM pg_temp.vals(t) v WHERE v.ord >= 0 ORDER BY v.ord LIMIT 1),
                  (SELECT v.expr FROM pg_temp.vals(t) v WHERE v.ord = -1))
$$;

CREATE TEMP TABLE fn AS
  SELECT p.oid, quote_ident(n.nspname) || '.' || quote_ident(p.proname) AS name, p.prokind,
         p.prorettype, p.proargtypes::oid[] AS args, p.provariadic <> 0 AS variadic
    FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
    JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND e.oid = d.refobjid
   WHERE e.extname = 'battledger';

-- A call with the given argument expressions.
CREATE FUNCTION pg_temp.call(f fn, a text[]) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN f.prokind = 'p' THEN 'CALL ' ELSE 'SELECT ' END || f.name || '(' ||
         coalesce((SELECT string_agg(CASE WHEN f.variadic AND i = cardinality(a) THEN 'VARIADIC ' ELSE '' END
                                     || a[i], ', ' ORDER BY i)
                     FROM generate_subscripts(a, 1) i), '') || ');'
$$;

-- 1. every function: each position through its values, then all NULLs
CREATE TEMP TABLE out (step int, n bigserial, line text);
INSERT INTO out (step, line)
SELECT 1, pg_temp.call(f, g.good) FROM fn f,
  LATERAL (SELECT coalesce(array_agg(pg_temp.good(t) ORDER BY i), '{}') AS good
             FROM unnest(f.args) WITH ORDINALITY a(t, i)) g
 ORDER BY f.oid;
INSERT INTO out (step, line)
SELECT 1, pg_temp.call(f, g.good[:a.i::int - 1] || v.expr || g.good[a.i::int + 1:])
  FROM fn f,
  LATERAL (SELECT array_agg(pg_temp.good(t) ORDER BY i) AS good FROM unnest(f.args) WITH ORDINALITY a(t, i)) g,
  LATERAL unnest(f.args) WITH ORDINALITY a(t, i),
  LATERAL pg_temp.vals(a.t) v
 WHERE v.ord <> 0
 ORDER BY f.oid, a.i, v.ord;
INSERT INTO out (step, line)
SELECT 1, pg_temp.call(f, (SELECT array_agg(v.expr ORDER BY a.i)
                             FROM unnest(f.args) WITH ORDINALITY a(t, i), pg_temp.vals(a.t) v
                            WHERE v.ord = -1))
  FROM fn f WHERE cardinality(f.args) > 1 ORDER BY f.oid;

-- 2. rows in the extension's tables, each column in turn bad, normal and replicated
-- (before the triggers: a row in ledger_tables registers a table of any shape)
CREATE TEMP TABLE col AS
  SELECT c.oid AS rel, c.oid::regclass::text AS tbl, a.attnum, quote_ident(a.attname) AS name, a.atttypid
    FROM pg_class c
    JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
    JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND e.oid = d.refobjid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
   WHERE e.extname = 'battledger' AND c.relkind IN ('r', 'p');
CREATE TEMP TABLE rowins AS
  SELECT c.rel, c.attnum AS bad, v.ord, 'INSERT INTO ' || c.tbl || ' (' ||
         (SELECT string_agg(o.name, ', ' ORDER BY o.attnum) FROM col o WHERE o.rel = c.rel) ||
         ') VALUES (' ||
         (SELECT string_agg(CASE WHEN o.attnum = c.attnum THEN v.expr ELSE pg_temp.good(o.atttypid) END,
                            ', ' ORDER BY o.attnum) FROM col o WHERE o.rel = c.rel) || ')' AS ins
    FROM col c, pg_temp.vals(c.atttypid) v
   WHERE v.ord < 12 OR (pg_temp.kind(c.atttypid) = 'text' AND v.ord BETWEEN 30 AND 40);
INSERT INTO out (step, line)
SELECT 2, CASE WHEN m THEN 'SET session_replication_role = replica; ' || ins || '; RESET session_replication_role;'
               ELSE ins || ';' END
  FROM rowins, (VALUES (false), (true)) mode(m)
 ORDER BY m, rel, bad, ord;

-- 3. trigger functions attached to tables of every shape, then fired
CREATE TEMP TABLE trg (timing text, level text, event text, targs text);
INSERT INTO trg VALUES
  ('BEFORE', 'ROW', 'INSERT', ''), ('AFTER', 'ROW', 'INSERT', ''),
  ('BEFORE', 'ROW', 'UPDATE', ''), ('AFTER', 'ROW', 'UPDATE', ''),
  ('BEFORE', 'ROW', 'DELETE', ''), ('AFTER', 'ROW', 'DELETE', ''),
  ('BEFORE', 'STATEMENT', 'INSERT', ''), ('AFTER', 'STATEMENT', 'UPDATE', ''),
  ('BEFORE', 'STATEMENT', 'DELETE', ''), ('BEFORE', 'STATEMENT', 'TRUNCATE', ''),
  ('AFTER', 'STATEMENT', 'TRUNCATE', ''),
  ('AFTER', 'STATEMENT', 'INSERT REFERENCING NEW TABLE AS fz_new', ''),
  ('AFTER', 'STATEMENT', 'INSERT REFERENCING NEW TABLE AS fz_new', '''battery'''),
  ('BEFORE', 'ROW', 'INSERT', '''battery'''), ('AFTER', 'ROW', 'INSERT', '''battery'''),
  ('BEFORE', 'ROW', 'INSERT', '''battery'', ''oem'''),
  ('BEFORE', 'ROW', 'INSERT', '''ledger_seq'', ''nope'''),
  ('BEFORE', 'ROW', 'INSERT', ''''', '''', '''''),
  ('AFTER', 'ROW', 'INSERT', '''a'', ''b'', ''c''');
-- what fires them: inserts of an empty row, of a copy of the chain column
-- (the chain trigger fills in the rest) and of a whole copied row
CREATE TEMP TABLE trg_op (event text, op text);
INSERT INTO trg_op VALUES ('INSERT', 'INSERT INTO {t} DEFAULT VALUES'),
  ('INSERT', 'INSERT INTO {t} ({c}) SELECT {c} FROM {t} LIMIT 1'),
  ('INSERT', 'INSERT INTO {t} SELECT * FROM {t} LIMIT 1'),
  ('UPDATE', 'UPDATE {t} SET {c} = {c}'), ('DELETE', 'DELETE FROM {t}'), ('TRUNCATE', 'TRUNCATE {t}');
INSERT INTO out (step, line)
SELECT 3, 'BEGIN; CREATE TRIGGER fz_trg ' || r.timing || ' ' || r.event || ' ON ' || t.tbl ||
          ' FOR EACH ' || r.level || ' EXECUTE FUNCTION ' || f.name || '(' || r.targs || '); ' ||
          replace(replace(o.op, '{t}', t.tbl), '{c}', t.col) || '; ROLLBACK;'
  FROM fn f, trg r JOIN trg_op o ON o.event = split_part(r.event, ' ', 1),
       (VALUES ('fz_plain', 'a'), ('fz_mistyped', 'battery'), ('fz_mistyped2', 'battery'),
               ('fz_ledger', 'battery')) t(tbl, col)
 WHERE f.prorettype = 'trigger'::regtype
 ORDER BY f.oid, t.tbl, r, o;
INSERT INTO out (step, line)
SELECT 3, 'BEGIN; CREATE TRIGGER fz_trg INSTEAD OF INSERT ON fz_view FOR EACH ROW EXECUTE FUNCTION ' ||
          f.name || '(); INSERT INTO fz_view DEFAULT VALUES; ROLLBACK;'
  FROM fn f WHERE f.prorettype = 'trigger'::regtype ORDER BY f.oid;
INSERT INTO out (step, line)
SELECT 3, 'BEGIN; CREATE EVENT TRIGGER fz_evt ON ' || ev || ' EXECUTE FUNCTION ' || f.name ||
          '(); CREATE TABLE fz_evt_t (a int); ALTER TABLE fz_evt_t ALTER a TYPE bigint; ' ||
          'DROP TABLE fz_evt_t; ROLLBACK;'
  FROM fn f, unnest(ARRAY['ddl_command_start', 'ddl_command_end', 'sql_drop', 'table_rewrite']) ev
 WHERE f.prorettype = 'event_trigger'::regtype ORDER BY f.oid, ev;

-- 4. every function once more with plausible arguments, over what is left
INSERT INTO out (step, line) SELECT 4, line FROM out WHERE step = 1 AND n <= (SELECT count(*) FROM fn);

SELECT line FROM out ORDER BY step, n;
SQL
total=$(wc -l < "$W/calls.sql")
nfn=$(q -c "SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
             WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass
               AND d.deptype = 'e' AND e.extname = 'battledger'")
checkpointer() { q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"; }
before=$(checkpointer)
echo "sql_fuzz: $nfn functions, $total statements per role, budget ${BUDGET} s"

# run_calls ROLE DEADLINE: every statement of calls.sql as ROLE, CHUNK at a
# time; after a crash (psql exits 2, the connection lost), note the
# statement, wait for the server to recover and go on with the next one.
# Errors are kept in errors.ROLE with their line in calls.sql.
calls=0
crashes=()
signals_seen=$(grep -c 'terminated by signal' "$LOG" || true)
started=$SECONDS
budget_hit=0
run_calls() {
  local role=$1 deadline=$2 from=1 rc n refused=0
  : > "$W/errors.$role"
  while [ "$from" -le "$total" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then budget_hit=1; return; fi
    sed -n "${from},$((from + CHUNK - 1))p" "$W/calls.sql" > "$W/chunk.sql"
    rc=0
    PGOPTIONS="-c statement_timeout=2s -c lock_timeout=1s -c client_min_messages=error" \
      psql -X -q -a -o /dev/null -U "$role" -d fuzz -f "$W/chunk.sql" \
      > "$W/echo" 2> "$W/chunk.err" || rc=$?
    awk -v off=$((from - 1)) '
      match($0, /^psql:[^ ]*chunk\.sql:[0-9]+:/) {
        head = substr($0, 1, RLENGTH - 1); sub(/.*:/, "", head)
        print "calls.sql:" head + off ":" substr($0, RLENGTH + 1); next }
      { print }' "$W/chunk.err" >> "$W/errors.$role"
    n=$(wc -l < "$W/echo")       # -a echoes each line before running it
    calls=$((calls + n))
    if [ $rc -eq 2 ] && [ "$n" -eq 0 ]; then
      # not connected at all (still recovering?): retry a few times
      refused=$((refused + 1))
      [ $refused -lt 20 ] || { echo "sql_fuzz: cannot connect as $role"; crashes+=("$role|?|(no connection)"); return; }
      sleep 0.5
    elif [ $rc -eq 2 ]; then
      # the session ended: a crash if the postmaster logged a killed backend
      # (the postmaster may log it a moment after the client saw the socket close)
      refused=0
      for _ in $(seq 30); do
        [ "$(grep -c 'terminated by signal' "$LOG" || true)" -gt "$signals_seen" ] && break
        sleep 0.1
      done
      if [ "$(grep -c 'terminated by signal' "$LOG" || true)" -gt "$signals_seen" ]; then
        signals_seen=$(grep -c 'terminated by signal' "$LOG" || true)
        crashes+=("$role|$((from + n - 1))|$(tail -n 1 "$W/echo")")
        echo "CRASH as $role at calls.sql:$((from + n - 1)): $(tail -n 1 "$W/echo" | cut -c 1-200)"
      else
        echo "sql_fuzz: session of $role ended without a crash at calls.sql:$((from + n - 1))"
      fi
      from=$((from + n))
      for _ in $(seq 60); do q -c 'SELECT 1' > /dev/null 2>&1 && break; sleep 0.5; done
    else
      refused=0
      from=$((from + CHUNK))
    fi
  done
}
# half the budget each: the plain role's run is as important as the superuser's
run_calls postgres $((started + BUDGET / 2))
run_calls fuzzer $((started + BUDGET))
after=$(checkpointer 2>/dev/null || echo gone)

errors=$(cat "$W"/errors.* | grep -c 'ERROR:' || true)
signals=$(grep -c 'terminated by signal' "$LOG" || true)
echo "sql_fuzz: $calls statements run in $((SECONDS - started)) s ($errors errors)"
if [ $budget_hit = 1 ]; then
  echo "sql_fuzz: time budget of ${BUDGET} s reached before the end (SQL_FUZZ_SECONDS)"
fi
# Statements that ran into the timeout: not a failure, but worth a look.
{ grep -h 'statement timeout' "$W"/errors.* || true; } | sed -n 's/^calls\.sql:\([0-9]*\):.*/\1/p' | sort -un |
  while read -r l; do echo "sql_fuzz: timed out (2 s): calls.sql:$l: $(sed -n "${l}p" "$W/calls.sql" | cut -c 1-200)"; done
if [ -n "${SQL_FUZZ_SAVE:-}" ]; then mkdir -p "$SQL_FUZZ_SAVE" && cp "$W"/calls.sql "$W"/errors.* "$SQL_FUZZ_SAVE"/; fi
if [ "$before" != "$after" ] || [ "$signals" -gt 0 ] || [ ${#crashes[@]} -gt 0 ]; then
  echo "sql_fuzz: FAIL: the server crashed (checkpointer $before -> $after," \
       "$signals 'terminated by signal' in the log); crashing statements, run in a" \
       "database with the fixtures at the top of test/shell/sql_fuzz.sh:"
  printf '%s\n' "${crashes[@]}" | awk -F'|' '{ stmt = substr($0, length($1 $2) + 3)
      if (!(stmt in roles)) order[++n] = stmt; roles[stmt] = roles[stmt] (roles[stmt] ? ", " : "") $1 }
    END { for (i = 1; i <= n; i++) printf "  [%s] %s\n", roles[order[i]], substr(order[i], 1, 1000) }'
  exit 1
fi
echo "sql_fuzz: PASS (no crash, checkpointer pid $before unchanged)"
