-- hash256: text and binary I/O, casts, operators, index support, bad input.
SET search_path = public, battledger;

SELECT 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::hash256;
SELECT 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855'::hash256 AS upper_in_lower_out;
SELECT sha256('')::hash256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::hash256 AS empty_string_digest;
SELECT sha256('abc')::hash256;

-- bytea casts round-trip
SELECT sha256('abc')::hash256::bytea;
SELECT (sha256('abc')::hash256::bytea)::hash256 = sha256('abc')::hash256 AS roundtrip;
SELECT '\x00'::bytea::hash256;
SELECT ''::bytea::hash256;

-- bad text input: wrong length, non-hex, empty; never a crash
SELECT 'abc'::hash256;
SELECT ''::hash256;
SELECT 'g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::hash256;
SELECT 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85 '::hash256;
SELECT 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555'::hash256;
-- NULL stays NULL through the strict functions
SELECT NULL::hash256 IS NULL AS null_in, sha256(NULL)::hash256 IS NULL AS null_cast;

-- binary send/receive (COPY BINARY round-trip)
CREATE TEMP TABLE h (v hash256);
INSERT INTO h VALUES (sha256('a')::hash256), (sha256('b')::hash256);
COPY h TO '/tmp/battledger_hash256.bin' WITH (FORMAT binary);
CREATE TEMP TABLE h2 (v hash256);
COPY h2 FROM '/tmp/battledger_hash256.bin' WITH (FORMAT binary);
SELECT count(*) AS same FROM h JOIN h2 USING (v);
-- a binary value of the wrong length is refused
CREATE TEMP TABLE hb (v bytea);
INSERT INTO hb VALUES ('\x0102');
COPY hb TO '/tmp/battledger_hash256_bad.bin' WITH (FORMAT binary);
COPY h2 FROM '/tmp/battledger_hash256_bad.bin' WITH (FORMAT binary);

-- ordering: bytewise, same as the hex text
SELECT v FROM (VALUES (sha256('a')::hash256), (sha256('b')::hash256), (sha256('c')::hash256)) t(v) ORDER BY v;
SELECT sha256('a')::hash256 < sha256('b')::hash256 AS lt, sha256('a')::hash256 <= sha256('a')::hash256 AS le,
       sha256('a')::hash256 > sha256('b')::hash256 AS gt, sha256('a')::hash256 >= sha256('a')::hash256 AS ge,
       sha256('a')::hash256 = sha256('a')::hash256 AS eq, sha256('a')::hash256 <> sha256('b')::hash256 AS ne,
       hash256_cmp(sha256('a')::hash256, sha256('b')::hash256) AS cmp;

-- btree and hash indexes are used and agree
CREATE TEMP TABLE hi AS SELECT i, sha256(int4send(i))::hash256 AS h FROM generate_series(1, 2000) i;
CREATE INDEX hi_btree ON hi (h);
ANALYZE hi;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT i FROM hi WHERE h = sha256(int4send(1234))::hash256;
SELECT i FROM hi WHERE h = sha256(int4send(1234))::hash256;
DROP INDEX hi_btree;
CREATE INDEX hi_hash ON hi USING hash (h);
EXPLAIN (COSTS OFF) SELECT i FROM hi WHERE h = sha256(int4send(1234))::hash256;
SELECT i FROM hi WHERE h = sha256(int4send(1234))::hash256;
RESET enable_seqscan;
RESET enable_bitmapscan;
-- hash joins and DISTINCT work through the hash opclass
SELECT count(DISTINCT h) FROM hi;
