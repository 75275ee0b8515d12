-- The canonical row encoding: exact bytes, independence from session settings,
-- refusal of unsupported types.
SET search_path = public, battledger;

-- The format, byte by byte, for a small row (see docs/encoding.md):
-- magic 'BLR\x01', field count 2, then fields sorted by name:
--   len 2 "f1" tag 0x03 (int4) len 4 value 1; len 2 "f2" tag 0x08 (text) len 1 "a"
SELECT row_bytes(ROW(1, 'a'::text))
     = decode(replace('424c5201 0002  02 6631 03 00000004 00000001  02 6632 08 00000001 61', ' ', ''), 'hex')
       AS exact_bytes;
-- NULL fields are left out
SELECT row_bytes(ROW(1, NULL::text))
     = decode(replace('424c5201 0001  02 6631 03 00000004 00000001', ' ', ''), 'hex') AS null_left_out;
SELECT row_hash(ROW(1, 'a'::text)) = sha256(row_bytes(ROW(1, 'a'::text)))::hash256 AS hash_is_sha256_of_bytes;

-- Every supported type, in one row, with fixed values
CREATE TYPE mood AS ENUM ('ok');
CREATE DOMAIN pct AS numeric CHECK (VALUE BETWEEN 0 AND 100);
CREATE TABLE all_types (
    b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric, p pct,
    t text, vc varchar(10), c char(4), by bytea, d date, ts timestamp, tz timestamptz,
    tm time, iv interval, u uuid, jb jsonb, js json, h hash256, ta text[], ia int4[]);
INSERT INTO all_types VALUES (
    true, -2, 70000, 5000000000, 1.5, -0.1, 12.50, 99.9,
    'Grüße', 'abc', 'ab', '\x00ff', '2024-02-29', '2024-02-29 12:34:56.789',
    '2024-02-29 12:34:56.789+01', '23:59:59.5', '1 year 2 mons 3 days 04:05:06',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": [1, 2.50], "a": null}', '{"b":1,  "a":2}',
    sha256('x')::hash256, ARRAY['x', NULL, 'yz'], ARRAY[1, 2]);

-- one line per field: name, tag, value bytes (decoded from row_bytes in SQL)
CREATE FUNCTION fields(r bytea) RETURNS TABLE (name text, tag text, value text)
LANGUAGE plpgsql AS $$
DECLARE pos int := 7; n int; vlen int;
BEGIN
    FOR k IN 1 .. (get_byte(r, 4) << 8 | get_byte(r, 5)) LOOP
        n := get_byte(r, pos - 1);
        name := convert_from(substr(r, pos + 1, n), 'UTF8');
        tag := to_hex(get_byte(r, pos + n));
        vlen := (get_byte(r, pos + n + 1) << 24) | (get_byte(r, pos + n + 2) << 16)
              | (get_byte(r, pos + n + 3) << 8) | get_byte(r, pos + n + 4);
        value := encode(substr(r, pos + n + 6, vlen), 'hex');
        RETURN NEXT;
        pos := pos + n + 6 + vlen;
    END LOOP;
END $$;
SELECT f.* FROM all_types a, fields(row_bytes(a)) f;

-- Session settings do not change the bytes
CREATE TEMP TABLE snap AS SELECT row_bytes(a) AS b FROM all_types a;
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'sql_standard';
SET TimeZone = 'Pacific/Chatham';
SET extra_float_digits = -10;
SET bytea_output = 'escape';
SET lc_monetary = 'C';
SET search_path = public, battledger;
SELECT (SELECT b FROM snap) = row_bytes(a) AS same_bytes_under_other_settings FROM all_types a;
RESET ALL;
SET search_path = public, battledger;

-- Equal values, different session input forms: same bytes
SELECT row_bytes(ROW('2024-01-01 01:00:00+01'::timestamptz)) = row_bytes(ROW('2024-01-01 00:00:00+00'::timestamptz)) AS same_instant;
SELECT row_bytes(ROW('NaN'::float8)) = row_bytes(ROW('-NaN'::float8)) AS one_nan;
-- Different types are told apart by their tag
SELECT row_bytes(ROW(1::int4)) <> row_bytes(ROW(1::int8)) AS int4_vs_int8,
       row_bytes(ROW('1'::text)) <> row_bytes(ROW(1::int4)) AS text_vs_int;
-- numeric keeps its scale: 1.5 and 1.50 are different content
SELECT row_bytes(ROW(1.5)) <> row_bytes(ROW(1.50)) AS scale_kept;

-- An enum is encoded by its label (tag 14; more in sql/migrate.sql)
SELECT row_bytes(ROW('ok'::mood));

-- Unsupported types are refused with a clear error
SELECT row_bytes(ROW(point(1, 2)));
SELECT row_bytes(ROW(ROW(1, 2)));
SELECT row_bytes(ROW(ARRAY[[1, 2], [3, 4]]));
SELECT row_bytes(ROW('[5:6]={1,2}'::int[]));
SELECT row_bytes(ROW('pg_class'::regclass));
SELECT row_bytes(NULL::all_types) IS NULL AS strict;

-- Any record may have a column named ledger_origin: only a text one is left
-- out when empty, an int one is encoded like any other column (it used to
-- be read as text, crashing the server)
CREATE TEMP TABLE text_origin (ledger_origin text, v text);
CREATE TEMP TABLE only_v (v text);
INSERT INTO text_origin VALUES ('', 'a');
INSERT INTO only_v VALUES ('a');
SELECT (SELECT row_bytes(t) FROM text_origin t) = (SELECT row_bytes(o) FROM only_v o) AS empty_origin_left_out;
CREATE TEMP TABLE int_origin (ledger_origin int, v text);
INSERT INTO int_origin VALUES (0, 'a');
SELECT encode(row_bytes(t), 'hex') AS int_origin, row_hash(t) IS NOT NULL AS hashed FROM int_origin t;
