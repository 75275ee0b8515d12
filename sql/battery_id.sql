-- battery_id: GS1 (Digital Link URI, element string, canonical) and ISO/IEC 15459
-- identifiers, normalisation, bad input, accessors, operators, indexes, binary I/O.
SET search_path = public, battledger;

-- canonical GS1 text in, same text out
SELECT 'gs1:01/09506000134352/21/ABC123'::battery_id;
-- the three GS1 forms normalise to the same value
SELECT 'https://id.gs1.org/01/09506000134352/21/ABC123'::battery_id AS digital_link,
       '(01)09506000134352(21)ABC123'::battery_id AS element_string,
       'gs1:01/09506000134352/21/ABC123'::battery_id AS canonical;
SELECT 'https://id.gs1.org/01/09506000134352/21/ABC123'::battery_id = '(01)09506000134352(21)ABC123'::battery_id AS dl_eq_es,
       '(01)09506000134352(21)ABC123'::battery_id = 'gs1:01/09506000134352/21/ABC123'::battery_id AS es_eq_canon,
       'https://id.gs1.org/01/09506000134352/21/ABC123'::battery_id = 'gs1:01/09506000134352/21/ABC123'::battery_id AS dl_eq_canon;
-- GTIN-8, -12 and -13 are padded to GTIN-14 in every form
SELECT v, v::battery_id FROM (VALUES
    ('https://id.gs1.org/01/9506000134352/21/X1'),       -- GTIN-13
    ('(01)9506000134352(21)X1'),
    ('gs1:01/9506000134352/21/X1'),
    ('gs1:01/036000291452/21/X1'),                        -- GTIN-12 (UPC-A)
    ('(01)95050003(21)X1'),                               -- GTIN-8
    ('https://example.com/01/12345670/21/X1'),            -- GTIN-8
    ('(01)4006381333931(21)X1'),                          -- GTIN-13
    ('gs1:01/19506000134359/21/X1')                       -- GTIN-14, indicator digit 1
) t(v);
SELECT count(DISTINCT v::battery_id) AS one_value FROM (VALUES
    ('https://id.gs1.org/01/9506000134352/21/X1'), ('(01)9506000134352(21)X1'),
    ('gs1:01/9506000134352/21/X1'), ('gs1:01/09506000134352/21/X1'),
    ('HTTP://RESOLVER.EXAMPLE.COM/01/09506000134352/21/X1'), ('  (01)09506000134352(21)X1' || E'\n')) t(v);

-- Digital Link variants: http, scheme/host case, path prefix, port, query, fragment, percent-encoding
SELECT v, v::battery_id FROM (VALUES
    ('http://id.gs1.org/01/09506000134352/21/ABC123'),
    ('HTTPS://ID.GS1.ORG/01/09506000134352/21/ABC123'),
    ('https://brand.example.com/products/batteries/01/09506000134352/21/ABC123'),
    ('https://example.com/01/00000000000000/21/prefix/01/09506000134352/21/ABC123'),
    ('https://example.com:8443/01/09506000134352/21/ABC123'),
    ('https://[2001:db8::1]/01/09506000134352/21/ABC123'),
    ('https://id.gs1.org/01/09506000134352/21/ABC123?linkType=gs1:pip&17=251231'),
    ('https://id.gs1.org/01/09506000134352/21/ABC123#top'),
    ('https://id.gs1.org/01/09506000134352/21/A%2FB%3FC%25E%26'),
    ('https://id.gs1.org/01/09506000134352/21/a%2fb%3fc'),
    ('https://id.gs1.org/01/09506000134352/21/%22Q%22%3C%3E'),
    ('https://id.gs1.org/01/09506000134352/21/!''()*+,;=:-._'),
    ('https://id.gs1.org/01/%30%39506000134352/21/X'),
    ('https://id.gs1.org/01/09506000134352/21/12345678901234567890')
) t(v);
-- serials with the whole GS1 character set 82, as element string and canonical text
SELECT '(01)09506000134352(21)!"%&''()*+,-./:;<'::battery_id;
SELECT '(01)09506000134352(21)=>?_azAZ09(21)'::battery_id;
SELECT 'gs1:01/09506000134352/21/a/b/21/c'::battery_id;
SELECT 'GS1:01/09506000134352/21/x'::battery_id AS scheme_case;

-- other ISO/IEC 15459 identifiers: upper-cased, scheme prefix lower case
SELECT v, v::battery_id FROM (VALUES
    ('iso15459:UN/043325711/BAT-0001'),
    ('ISO15459:un/043325711/bat-0001'),
    ('iso15459:J/ACME/SN.2024/0001'),
    ('iso15459:LA5/ABCDEFGHIJ12/' || repeat('Z', 35))
) t(v);
SELECT 'iso15459:UN/043325711/BAT-0001'::battery_id = 'iso15459:un/043325711/bat-0001'::battery_id AS case_folded;

-- accessors
SELECT v, battery_id_scheme(v), battery_gtin(v), battery_serial(v), battery_digital_link(v)
  FROM (VALUES ('gs1:01/09506000134352/21/ABC123'::battery_id),
               ('(01)9506000134352(21)A/B?C%E&F'::battery_id),
               ('(01)95050003(21)!"%&''()*+,-./:;<=>?_'::battery_id),
               ('iso15459:UN/043325711/BAT/0001'::battery_id)) t(v);
SELECT battery_digital_link('gs1:01/09506000134352/21/A"B<C>'::battery_id);
SELECT battery_digital_link('gs1:01/09506000134352/21/A.1_-'::battery_id, 'https://resolver.example.com/dl/');
SELECT battery_digital_link('gs1:01/09506000134352/21/A%1'::battery_id, 'HTTP://r.example:8080');
-- every Digital Link the function writes reads back as the same identifier
SELECT count(*) AS round_trips
  FROM (VALUES ('(01)09506000134352(21)!"%&''()*+,-./:;<'), ('(01)09506000134352(21)=>?_azAZ09'),
               ('(01)12345670(21)%25%2F'), ('gs1:01/036000291452/21/A/B/21/C')) t(v),
       LATERAL (SELECT v::battery_id AS id) i,
       (VALUES ('https://id.gs1.org'), ('https://example.com/01/x/21/y/'), ('http://[::1]:80/p')) r(resolver)
 WHERE battery_digital_link(id, resolver)::battery_id = id;
-- bad resolvers
SELECT battery_digital_link('gs1:01/09506000134352/21/X'::battery_id, 'ftp://id.gs1.org');
SELECT battery_digital_link('gs1:01/09506000134352/21/X'::battery_id, 'https://');
SELECT battery_digital_link('gs1:01/09506000134352/21/X'::battery_id, 'https://id.gs1.org/?a=b');
SELECT battery_digital_link('gs1:01/09506000134352/21/X'::battery_id, 'https://user@id.gs1.org');
SELECT battery_digital_link('gs1:01/09506000134352/21/X'::battery_id, 'https://id.gs1.org/a b');
SELECT battery_digital_link('gs1:01/09506000134352/21/X'::battery_id, 'https://id.gs1.org/%zz');

-- casts to text
SELECT '(01)09506000134352(21)X'::battery_id::text AS cast_text, text('(01)09506000134352(21)X'::battery_id) AS text_fn;
CREATE TEMP TABLE t_text (t text);
INSERT INTO t_text SELECT '(01)09506000134352(21)X'::battery_id;   -- assignment cast
SELECT t FROM t_text;
-- text to battery_id goes through the input function
SELECT 'https://id.gs1.org/01/09506000134352/21/X'::text::battery_id AS from_text;
SELECT NULL::battery_id IS NULL AS null_in, battery_gtin(NULL) IS NULL AS null_gtin;

-- bad GTINs: check digit (the expected digit is named), length, non-digits
SELECT 'gs1:01/09506000134353/21/X'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134350/21/X'::battery_id;
SELECT '(01)9506000134353(21)X'::battery_id;
SELECT '(01)036000291453(21)X'::battery_id;
SELECT '(01)95050004(21)X'::battery_id;
SELECT '(01)0950600013435(21)X'::battery_id;
SELECT '(01)095060001343521(21)X'::battery_id;
SELECT '(01)1234567890(21)X'::battery_id;
SELECT '(01)0950600013435X(21)X'::battery_id;
SELECT 'gs1:01/0950 6000134352/21/X'::battery_id;
SELECT 'gs1:01/-9506000134352/21/X'::battery_id;
SELECT '(01)(21)X'::battery_id;
SELECT 'https://id.gs1.org/01//21/X'::battery_id;
-- bad serials: empty, too long, characters outside set 82
SELECT '(01)09506000134352(21)'::battery_id;
SELECT 'gs1:01/09506000134352/21/'::battery_id;
SELECT 'gs1:01/09506000134352/21'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21/'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21'::battery_id;
SELECT '(01)09506000134352(21)123456789012345678901'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21/%41%42%43%44%45%46%47%48%49%4A%4B%4C%4D%4E%4F%50%51%52%53%54%55'::battery_id;
SELECT '(01)09506000134352(21)AB CD'::battery_id;
SELECT '(01)09506000134352(21)AB#CD'::battery_id;
SELECT '(01)09506000134352(21)ABé'::battery_id;
SELECT '(01)09506000134352(21)A$'::battery_id;
SELECT 'gs1:01/09506000134352/21/A~B'::battery_id;
SELECT E'(01)09506000134352(21)A\tB'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21/A%00B'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21/A%C3%A9'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21/A%20B'::battery_id;
-- malformed URIs
SELECT 'https://id.gs1.org/09506000134352/21/X'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/10/LOT1'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/10/LOT1/21/X'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21/X/extra'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21/X/'::battery_id;
SELECT 'https://id.gs1.org/21/X/01/09506000134352'::battery_id;
SELECT 'https://id.gs1.org'::battery_id;
SELECT 'https://id.gs1.org/'::battery_id;
SELECT 'https:///01/09506000134352/21/X'::battery_id;
SELECT 'https://user@id.gs1.org/01/09506000134352/21/X'::battery_id;
SELECT 'https:id.gs1.org/01/09506000134352/21/X'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21/A%2'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21/A%'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21/A%G1'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21/A B'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21/A"B'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21/A<B>'::battery_id;
SELECT 'https://id.gs1.org/01/09506000134352/21/A@B'::battery_id;
-- malformed element strings and canonical text
SELECT '(21)X(01)09506000134352'::battery_id;
SELECT '(01)09506000134352'::battery_id;
SELECT '(01)09506000134352(10)LOT'::battery_id;
SELECT '(01)09506000134352 (21)X'::battery_id;
SELECT '01095060001343522112345'::battery_id;
SELECT 'gs1:09506000134352/21/X'::battery_id;
SELECT 'gs1:01/09506000134352'::battery_id;
SELECT 'gs1:01/09506000134352/10/X'::battery_id;
-- bad ISO/IEC 15459 identifiers
SELECT 'iso15459:UN/043325711'::battery_id;
SELECT 'iso15459:'::battery_id;
SELECT 'iso15459://X'::battery_id;
SELECT 'iso15459:ABCD/043325711/X'::battery_id;
SELECT 'iso15459:U-N/043325711/X'::battery_id;
SELECT 'iso15459:UN//X'::battery_id;
SELECT 'iso15459:UN/ABCDEFGHIJKLM/X'::battery_id;
SELECT 'iso15459:UN/ACME.CO/X'::battery_id;
SELECT 'iso15459:UN/043325711/'::battery_id;
SELECT ('iso15459:UN/043325711/' || repeat('9', 36))::battery_id;
SELECT 'iso15459:UN/043325711/BAT_0001'::battery_id;
SELECT 'iso15459:UN/043325711/BAT 0001'::battery_id;
-- unknown schemes and odd input: never a crash
SELECT ''::battery_id;
SELECT '   '::battery_id;
SELECT 'urn:epc:id:sgtin:9506000.013435.ABC123'::battery_id;
SELECT 'ftp://id.gs1.org/01/09506000134352/21/X'::battery_id;
SELECT 'httpx://id.gs1.org/01/09506000134352/21/X'::battery_id;
SELECT '09506000134352'::battery_id;
SELECT 'ABC123'::battery_id;
SELECT ':'::battery_id;
SELECT '('::battery_id;
SELECT '(01'::battery_id;
SELECT 'gs1:'::battery_id;
SELECT 'https:'::battery_id;
SELECT 'ünïcødé:x'::battery_id;
SELECT E'\x01\x02\x7f'::battery_id;
SELECT repeat('9', 100000)::battery_id;
SELECT ('https://id.gs1.org/' || repeat('01/', 5000) || '09506000134352/21/X')::battery_id;
SELECT ('(01)09506000134352(21)' || repeat('é', 3000))::battery_id;
-- the SQLSTATE: 22P02 (invalid_text_representation)
\set VERBOSITY sqlstate
SELECT 'gs1:01/09506000134353/21/X'::battery_id;
SELECT 'nonsense'::battery_id;
\set VERBOSITY default
-- a prefix of a valid URI, and the URI with each character replaced, never crash
DO $$
DECLARE
    uri text := 'https://id.gs1.org/01/09506000134352/21/A%2FB?x=1';
    subst text[] := ARRAY['', '/', '%', '(', ')', '0', '9', 'a', 'Z', ' ', '?', '#', ':', '@', '.', '%0', 'é'];
    v text;
    ok int := 0;
    bad int := 0;
BEGIN
    FOR i IN 0 .. length(uri) LOOP
        FOREACH v IN ARRAY subst || ARRAY[NULL::text] LOOP
            BEGIN
                IF v IS NULL THEN
                    PERFORM left(uri, i)::battery_id;          -- every prefix
                ELSE
                    PERFORM (left(uri, i) || v || substr(uri, i + 2))::battery_id;
                END IF;
                ok := ok + 1;
            EXCEPTION WHEN invalid_text_representation THEN
                bad := bad + 1;
            END;
        END LOOP;
    END LOOP;
    RAISE NOTICE 'mutations: % accepted, % rejected', ok, bad;
END
$$;

-- comparison: bytewise on the canonical text (gs1 before iso15459; by GTIN, then serial)
SELECT v FROM (VALUES ('iso15459:UN/043325711/B'::battery_id), ('gs1:01/09506000134352/21/B'),
                      ('(01)95050003(21)Z'), ('gs1:01/09506000134352/21/AB'), ('gs1:01/09506000134352/21/A'),
                      ('iso15459:J/ACME/1'), ('gs1:01/09506000134352/21/a')) t(v)
 ORDER BY v;
SELECT a < b AS lt, a <= b AS le, a > b AS gt, a >= b AS ge, a = b AS eq, a <> b AS ne,
       battery_id_cmp(a, b) AS cmp, battery_id_cmp(b, a) AS cmp_rev, battery_id_cmp(a, a) AS cmp_self
  FROM (SELECT 'gs1:01/09506000134352/21/A'::battery_id AS a, 'gs1:01/09506000134352/21/AB'::battery_id AS b) t;
SELECT battery_id_hash('(01)09506000134352(21)X') = battery_id_hash('https://id.gs1.org/01/09506000134352/21/X') AS same_hash,
       battery_id_hash_extended('(01)09506000134352(21)X', 7) = battery_id_hash_extended('gs1:01/09506000134352/21/X', 7) AS same_hash_ext;

-- btree and hash indexes are used and agree
CREATE TEMP TABLE bi AS
    SELECT i, ('gs1:01/09506000134352/21/SN' || i)::battery_id AS id FROM generate_series(1, 2000) i
    UNION ALL
    SELECT 10000 + i, ('iso15459:UN/043325711/SN' || i)::battery_id FROM generate_series(1, 1000) i;
CREATE UNIQUE INDEX bi_btree ON bi (id);
ANALYZE bi;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT i FROM bi WHERE id = 'https://id.gs1.org/01/09506000134352/21/SN1234'::battery_id;
SELECT i FROM bi WHERE id = 'https://id.gs1.org/01/09506000134352/21/SN1234'::battery_id;
SELECT i FROM bi WHERE id = '(01)09506000134352(21)SN1234';
SELECT i FROM bi WHERE id = 'iso15459:un/043325711/sn77';
EXPLAIN (COSTS OFF) SELECT count(*) FROM bi WHERE id >= 'gs1:01/09506000134352/21/SN1999' AND id < 'gs1:01/09506000134352/21/SN2';
SELECT count(*) FROM bi WHERE id >= 'gs1:01/09506000134352/21/SN1999' AND id < 'gs1:01/09506000134352/21/SN2';
-- the unique index sees the three forms as one value
INSERT INTO bi VALUES (0, '(01)9506000134352(21)SN5');
DROP INDEX bi_btree;
CREATE INDEX bi_hash ON bi USING hash (id);
EXPLAIN (COSTS OFF) SELECT i FROM bi WHERE id = 'https://id.gs1.org/01/09506000134352/21/SN1234'::battery_id;
SELECT i FROM bi WHERE id = 'https://id.gs1.org/01/09506000134352/21/SN1234'::battery_id;
RESET enable_seqscan;
RESET enable_bitmapscan;
-- hash joins, hash aggregation and merge joins
SET enable_mergejoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM bi a JOIN bi b USING (id);
SELECT count(*) FROM bi a JOIN bi b USING (id);
SET enable_hashjoin = off;
SET enable_mergejoin = on;
SELECT count(*) FROM bi a JOIN bi b USING (id);
RESET enable_hashjoin;
RESET enable_mergejoin;
SELECT count(DISTINCT id), count(*) FROM bi;
SELECT battery_id_scheme(id), count(*) FROM bi GROUP BY 1 ORDER BY 1;

-- binary send/receive: COPY BINARY round trip
CREATE TEMP TABLE b1 (id battery_id);
INSERT INTO b1 VALUES ('https://id.gs1.org/01/09506000134352/21/A%2FB'), ('(01)95050003(21)!"%&''()*+,-./:;<=>?_'),
                      ('iso15459:un/043325711/bat-0001'), ('gs1:01/19506000134359/21/12345678901234567890');
COPY b1 TO '/tmp/battledger_battery_id.bin' WITH (FORMAT binary);
CREATE TEMP TABLE b2 (id battery_id);
COPY b2 FROM '/tmp/battledger_battery_id.bin' WITH (FORMAT binary);
SELECT id FROM b2 ORDER BY id;
SELECT count(*) AS same FROM b1 JOIN b2 USING (id);
SELECT battery_id_send(id) FROM b2 ORDER BY id LIMIT 1;
-- binary input must be the canonical text: other forms, invalid values and odd bytes are refused
CREATE TEMP TABLE braw (v bytea);
INSERT INTO braw VALUES (convert_to('(01)09506000134352(21)X', 'UTF8'));
COPY braw TO '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);
COPY b2 FROM '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);
TRUNCATE braw;
INSERT INTO braw VALUES (convert_to('gs1:01/09506000134353/21/X', 'UTF8'));
COPY braw TO '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);
COPY b2 FROM '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);
TRUNCATE braw;
INSERT INTO braw VALUES (convert_to('iso15459:un/043325711/bat-0001', 'UTF8'));
COPY braw TO '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);
COPY b2 FROM '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);
TRUNCATE braw;
INSERT INTO braw VALUES ('\x67733a30312fc3283039');   -- invalid UTF-8
COPY braw TO '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);
COPY b2 FROM '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);
TRUNCATE braw;
INSERT INTO braw VALUES ('\x67733a3031002f');         -- a NUL byte
COPY braw TO '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);
COPY b2 FROM '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);
\set VERBOSITY sqlstate
COPY b2 FROM '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);   -- 22P03 (invalid_binary_representation)
\set VERBOSITY default
TRUNCATE braw;
INSERT INTO braw VALUES ('');
COPY braw TO '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);
COPY b2 FROM '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);
TRUNCATE braw;
INSERT INTO braw VALUES (convert_to(repeat('A', 5000), 'UTF8'));
COPY braw TO '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);
COPY b2 FROM '/tmp/battledger_battery_id_bad.bin' WITH (FORMAT binary);
SELECT count(*) AS unchanged FROM b2;
