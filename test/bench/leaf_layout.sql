-- test/bench/leaf_layout.sql — prototype leaf stores for test/bench/leaf_layout.sh,
-- in schema "proto", built with SQL from a database whose ledger table has
-- been sealed into the log (battledger.log_leaf).  Nothing here is product
-- code: each prototype is the table a future seal() would write, filled from
-- the same leaves so that bytes and write costs compare like for like.
--
--   a  today's log_leaf: (leaf_index PK, tbl text, seq, prev, row_hash,
--      leaf_hash) with a hash index on row_hash
--   b  log_leaf without the recomputable leaf_hash, the table named by a
--      smallint id (proto.tbl_id), the hash index kept
--   c  one row per 256 leaves: (idx, width, hashes bytea = the leaf hashes,
--      locators bytea = (table id int2, seq int8) per leaf), key (idx, width)
--      as log_tile's (right edges supersede)
--   d  the leaf hashes only, as (c) without locators (a "level-0 tile"),
--      with the ledger row carrying its leaf index (proto.d_rows, measured
--      against proto.d_base, the same rows without the column)
--
-- Each prototype's rows are first staged in an UNLOGGED table (proto.src_x)
-- so that the timed statement is the write itself: INSERT INTO proto.x
-- SELECT * FROM proto.src_x (a sequential scan of the staged rows, the heap
-- and TOAST inserts, the index inserts, their WAL).

CREATE SCHEMA proto;

-- The backend's own CPU time in ms: the first field of /proc/self/schedstat,
-- the time the scheduler ran this process (user + system, in ns, brought up
-- to date at each tick and context switch; Linux, superuser), finer than
-- /proc/self/stat's clock ticks, which are 10 ms (the (c) and (d) writes of
-- 100k leaves take about that).  The figure to trust on a shared machine.
CREATE FUNCTION proto.cpu_ms() RETURNS numeric LANGUAGE sql AS $$
  SELECT split_part(s, ' ', 1)::numeric / 1000000
    FROM pg_read_file('/proc/self/schedstat') AS s $$;

CREATE TABLE proto.tbl_id (id smallint PRIMARY KEY, name text NOT NULL UNIQUE);
INSERT INTO proto.tbl_id
SELECT row_number() OVER (ORDER BY tbl), tbl FROM (SELECT DISTINCT tbl FROM battledger.log_leaf) t;

-- (a)
CREATE TABLE proto.a (LIKE battledger.log_leaf INCLUDING ALL);
CREATE INDEX a_row ON proto.a USING hash (row_hash);
CREATE UNLOGGED TABLE proto.src_a AS SELECT * FROM battledger.log_leaf ORDER BY leaf_index;

-- (b): int8 columns first, then the smallint, then the char-aligned hashes
CREATE TABLE proto.b (
    leaf_index bigint PRIMARY KEY,
    seq        bigint NOT NULL,
    tbl_id     smallint NOT NULL,
    prev       battledger.hash256 NOT NULL,
    row_hash   battledger.hash256 NOT NULL
);
CREATE INDEX b_row ON proto.b USING hash (row_hash);
CREATE UNLOGGED TABLE proto.src_b AS
SELECT l.leaf_index, l.seq, t.id AS tbl_id, l.prev, l.row_hash
  FROM battledger.log_leaf l JOIN proto.tbl_id t ON t.name = l.tbl ORDER BY l.leaf_index;

-- (c) and (d): 8 KiB of hashes do not compress; stored out of line without
-- trying, as log_tile's (STORAGE EXTERNAL also lets a reader fetch a slice)
CREATE TABLE proto.c (
    idx      bigint NOT NULL,
    width    int NOT NULL,
    hashes   bytea NOT NULL,
    locators bytea NOT NULL,
    PRIMARY KEY (idx, width)
);
ALTER TABLE proto.c ALTER COLUMN hashes SET STORAGE EXTERNAL, ALTER COLUMN locators SET STORAGE EXTERNAL;
CREATE UNLOGGED TABLE proto.src_c (LIKE proto.c INCLUDING STORAGE);
INSERT INTO proto.src_c
SELECT l.leaf_index / 256, count(*),
       string_agg(l.leaf_hash::bytea, ''::bytea ORDER BY l.leaf_index),
       string_agg(int2send(t.id) || int8send(l.seq), ''::bytea ORDER BY l.leaf_index)
  FROM battledger.log_leaf l JOIN proto.tbl_id t ON t.name = l.tbl
 GROUP BY 1 ORDER BY 1;

CREATE TABLE proto.d (
    idx    bigint NOT NULL,
    width  int NOT NULL,
    hashes bytea NOT NULL,
    PRIMARY KEY (idx, width)
);
ALTER TABLE proto.d ALTER COLUMN hashes SET STORAGE EXTERNAL;
CREATE UNLOGGED TABLE proto.src_d (LIKE proto.d INCLUDING STORAGE);
INSERT INTO proto.src_d SELECT idx, width, hashes FROM proto.src_c ORDER BY idx;

-- One timed write: the backend CPU (ms) and WAL bytes of INSERT INTO proto.<v>
-- SELECT * FROM proto.src_<v>, into an emptied table (indexes in place, so
-- index entries are inserted one by one, as seal() does).
CREATE FUNCTION proto.time_write(v text, OUT cpu_ms numeric, OUT wal_bytes numeric, OUT n bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    c0 numeric;
    w0 pg_lsn;
BEGIN
    c0 := proto.cpu_ms();
    w0 := pg_current_wal_insert_lsn();
    EXECUTE format('INSERT INTO proto.%I SELECT * FROM proto.%I', v, 'src_' || v);
    GET DIAGNOSTICS n = ROW_COUNT;
    cpu_ms := round(proto.cpu_ms() - c0, 1);
    wal_bytes := pg_current_wal_insert_lsn() - w0;
END $fn$;

-- The same for any statement (the nextval() cost of (d)'s insert-time leaf
-- index, against the same scan without it).
CREATE FUNCTION proto.time_sql(stmt text, OUT cpu_ms numeric, OUT wal_bytes numeric)
LANGUAGE plpgsql AS $fn$
DECLARE
    c0 numeric;
    w0 pg_lsn;
BEGIN
    c0 := proto.cpu_ms();
    w0 := pg_current_wal_insert_lsn();
    EXECUTE stmt;
    cpu_ms := round(proto.cpu_ms() - c0, 1);
    wal_bytes := pg_current_wal_insert_lsn() - w0;
END $fn$;
CREATE SEQUENCE proto.leaf_seq;

-- A proof's 16 leaf hashes, `calls` times for random 16-leaf groups of the
-- first n leaves, from (a) a primary-key range of proto.a or (d) a 512-byte
-- slice of proto.d's row: backend CPU µs a call (the groups come from a
-- table, so nothing is folded at plan time; both loops pay the same SPI
-- overhead and the same random numbers).
-- Index scans forced: PL/pgSQL's generic plan for a range with parameters
-- assumes thousands of rows at 1M leaves and takes a bitmap scan, which the
-- product's proofs (an index scan in C, fetch_leaves_direct()) do not.
CREATE FUNCTION proto.time_groups(v text, n bigint, calls int) RETURNS numeric
LANGUAGE plpgsql SET enable_bitmapscan = off SET enable_seqscan = off AS $fn$
DECLARE
    c0 numeric;
    g bigint;
    x bytea;
    hs bytea[];
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS groups AS
        SELECT i, (floor(random() * (n / 16)) * 16)::bigint AS g FROM generate_series(1, calls) i;
    -- warm: every group once
    FOR g IN SELECT t.g FROM groups t LOOP
        IF v = 'a' THEN
            SELECT array_agg(leaf_hash::bytea ORDER BY leaf_index) INTO hs FROM proto.a
             WHERE leaf_index BETWEEN g AND g + 15;
        ELSE
            SELECT substring(hashes FROM ((g % 256) * 32 + 1)::int FOR 512) INTO x FROM proto.d
             WHERE idx = g / 256 ORDER BY width DESC LIMIT 1;
        END IF;
    END LOOP;
    c0 := proto.cpu_ms();
    FOR g IN SELECT t.g FROM groups t LOOP
        IF v = 'a' THEN
            SELECT array_agg(leaf_hash::bytea ORDER BY leaf_index) INTO hs FROM proto.a
             WHERE leaf_index BETWEEN g AND g + 15;
        ELSE
            SELECT substring(hashes FROM ((g % 256) * 32 + 1)::int FOR 512) INTO x FROM proto.d
             WHERE idx = g / 256 ORDER BY width DESC LIMIT 1;
        END IF;
    END LOOP;
    RETURN round((proto.cpu_ms() - c0) * 1000 / calls, 2);
END $fn$;

-- Pages (shared buffers hit or read) one query touches, from EXPLAIN
-- (ANALYZE, BUFFERS): the plan's top node counts its children's and the
-- TOAST reads of its projection.  The query runs once before, so that the
-- catalog reads of opening a TOAST table for the first time in the session
-- are not counted.
CREATE FUNCTION proto.pages(q text) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    j json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ' || q INTO j;
    EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ' || q INTO j;
    RETURN (j -> 0 -> 'Plan' ->> 'Shared Hit Blocks')::bigint
         + (j -> 0 -> 'Plan' ->> 'Shared Read Blocks')::bigint;
END $fn$;
