-- test/bench/signed_schema.sql — objects test/bench/signed.sh needs, in schema "bench_signed".
--
-- Tables have the five content columns of test/bench/schema.sql:
--   signed_<sfx>   enable_ledger(tbl, 'battery', signed => true, signer_roles => ARRAY['fleet_operator'])
--   ledger_<sfx>   enable_ledger(tbl, 'battery')   (the unsigned ledger, for comparison)
--
-- Signatures are made BEFORE anything is timed, with the TEST-ONLY signer
-- extension (test/signer), into unlogged staging tables:
--   stage_rows         per-row signed rows (ledger_key_id, ledger_sig), one id each;
--   stage_batch_rows   rows of signed batches (ledger_key_id, ledger_batch);
--   stage_batches      the batches' manifests: root and signature, ready for battledger.batch.
-- Since 0.3.0 the signing bytes and the batch manifest name the table
-- (docs/encoding.md, "Signing bytes"): a row or batch signed for one table is
-- refused in any other.  So every signed target table is created first and
-- gets its own staged rows (stage_rows: a range of ids per table, with the
-- same content in each range) or batches (one repetition per table); the
-- unsigned ledger tables take the content columns of the same staged rows.

CREATE EXTENSION IF NOT EXISTS battledger;
CREATE EXTENSION IF NOT EXISTS battledger_test_signer;   -- TEST ONLY: private keys in SQL
CREATE SCHEMA IF NOT EXISTS bench_signed;

-- The signing member: a fleet operator with one key (seed = SHA-256('fleet-bench-1')).
SELECT battledger.add_member('fleet.bench', ARRAY['fleet_operator']);
SELECT battledger.add_key('fleet.bench', battledger_test.public_key(battledger_test.seed('fleet-bench-1')));

-- What the member signs: the content columns plus ledger_key_id and ledger_batch
-- (fields are sorted by name and NULLs left out, so signing_bytes(this
-- composite, tbl) are those of tbl's row; sql/signatures.sql checks the rule),
-- after the target table's name (signing bytes v2: 'BLS' 0x02, u16 length,
-- "schema.table").
CREATE TYPE bench_signed.signed_row AS (
    battery text, kind text, at timestamptz, soh numeric, note text,
    ledger_key_id battledger.hash256, ledger_batch text);

-- bench_signed.make_table('signed' | 'ledger', sfx) creates public.<kind>_<sfx>.
CREATE FUNCTION bench_signed.make_table(kind text, sfx text) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    tbl text := kind || '_' || sfx;
BEGIN
    EXECUTE format($$CREATE TABLE public.%I (
        battery text NOT NULL, kind text NOT NULL, at timestamptz NOT NULL,
        soh numeric, note text)$$, tbl);
    IF kind = 'signed' THEN
        PERFORM battledger.enable_ledger(format('public.%I', tbl)::regclass, 'battery',
                                         signed => true, signer_roles => ARRAY['fleet_operator']);
    ELSIF kind = 'ledger' THEN
        PERFORM battledger.enable_ledger(format('public.%I', tbl)::regclass, 'battery');
    ELSE
        RAISE EXCEPTION 'unknown table kind %', kind;
    END IF;
    RETURN tbl;
END $fn$;

-- Row i's content, as in test/bench/schema.sql's bulk load: 1,000 chain keys.
CREATE FUNCTION bench_signed.content(i bigint, OUT battery text, OUT kind text, OUT at timestamptz,
                                     OUT soh numeric, OUT note text)
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT 'B' || (i % 1000),
           (ARRAY['charge', 'discharge', 'inspect'])[1 + i % 3],
           timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute',
           round(100 - (i % 5000) * 0.01, 2),
           'signed row ' || i
$fn$;

-- ---------------------------------------------------------------------------
-- Per-row signatures
-- ---------------------------------------------------------------------------
CREATE UNLOGGED TABLE bench_signed.stage_rows (
    id bigint PRIMARY KEY,              -- base + i, row i's content signed for one table
    battery text NOT NULL, kind text NOT NULL, at timestamptz NOT NULL, soh numeric, note text,
    ledger_key_id battledger.hash256 NOT NULL,
    ledger_sig bytea NOT NULL);

-- Sign rows lo..hi for table tbl, staged as ids base + lo .. base + hi (the
-- member's side: Ed25519 over signing_bytes(row, tbl)).  Each target table
-- gets its own base.  Run in several sessions at once to use every core.
CREATE FUNCTION bench_signed.stage_signed(tbl regclass, base bigint, lo bigint, hi bigint) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    seed bytea := battledger_test.seed('fleet-bench-1');
    kid battledger.hash256 := battledger.key_id(battledger_test.public_key(seed));
    n bigint;
BEGIN
    INSERT INTO bench_signed.stage_rows
    SELECT base + i, c.battery, c.kind, c.at, c.soh, c.note, kid,
           battledger_test.sign(seed, battledger.signing_bytes(
               ROW(c.battery, c.kind, c.at, c.soh, c.note, kid, NULL)::bench_signed.signed_row, tbl))
      FROM generate_series(lo, hi) AS i, bench_signed.content(i) AS c;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $fn$;

-- ---------------------------------------------------------------------------
-- Batch signatures
-- ---------------------------------------------------------------------------
CREATE UNLOGGED TABLE bench_signed.stage_batch_rows (
    rep int, batch_no int, i int,
    battery text NOT NULL, kind text NOT NULL, at timestamptz NOT NULL, soh numeric, note text,
    ledger_key_id battledger.hash256 NOT NULL,
    ledger_batch text NOT NULL,
    content_hash battledger.hash256 NOT NULL,
    PRIMARY KEY (rep, batch_no, i));
CREATE UNLOGGED TABLE bench_signed.stage_batches (
    rep int, batch_no int,
    batch_id text NOT NULL, key_id battledger.hash256 NOT NULL, row_count bigint NOT NULL,
    root battledger.hash256 NOT NULL, sig bytea NOT NULL,
    PRIMARY KEY (rep, batch_no));

-- Stage nbatches batches of size rows for repetition p_rep, to be loaded into
-- table tbl (batch ids are global, so each repetition has its own), the
-- member's side per docs/signatures.md: content hash = sha256(signing_bytes(row, tbl)),
-- root = batch_root(hashes), signature over batch_manifest(tbl, batch_id, row_count, root).
CREATE FUNCTION bench_signed.stage_batch_set(tbl regclass, p_rep int, nbatches int, size int) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    seed bytea := battledger_test.seed('fleet-bench-1');
    kid battledger.hash256 := battledger.key_id(battledger_test.public_key(seed));
    n bigint;
BEGIN
    INSERT INTO bench_signed.stage_batch_rows
    SELECT p_rep, b, j, c.battery, c.kind, c.at, c.soh, c.note, kid, bid,
           sha256(battledger.signing_bytes(
               ROW(c.battery, c.kind, c.at, c.soh, c.note, kid, bid)::bench_signed.signed_row, tbl))::battledger.hash256
      FROM generate_series(1, nbatches) AS b,
           LATERAL (SELECT format('bench-r%s-b%s', p_rep, lpad(b::text, 5, '0')) AS bid) AS id,
           generate_series(1, size) AS j,
           LATERAL bench_signed.content((b - 1)::bigint * size + j) AS c;
    INSERT INTO bench_signed.stage_batches
    SELECT p_rep, batch_no, batch_id, kid, row_count, root,
           battledger_test.sign(seed, battledger.batch_manifest(tbl, batch_id, row_count, root))
      FROM (SELECT r.batch_no, min(r.ledger_batch) AS batch_id, count(*) AS row_count,
                   battledger.batch_root(array_agg(r.content_hash)) AS root
              FROM bench_signed.stage_batch_rows r
             WHERE r.rep = p_rep
             GROUP BY r.batch_no) AS m;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $fn$;

-- CPU time (user + system, in clock ticks) this backend has used so far, from
-- /proc/self/stat: lets signed.sh report CPU per row, which other work on a
-- shared machine disturbs far less than wall-clock time.
CREATE FUNCTION bench_signed.cpu_ticks() RETURNS bigint
LANGUAGE sql AS $fn$
    SELECT split_part(s, ' ', 12)::bigint + split_part(s, ' ', 13)::bigint
      FROM regexp_replace(pg_read_file('/proc/self/stat'), '^.*\) ', '') AS s
$fn$;

-- Load repetition rep's batches into tbl, ONE TRANSACTION PER BATCH:
--   signed: INSERT INTO battledger.batch (manifest, checked at once); INSERT the
--           batch's rows; COMMIT (the deferred trigger re-reads and re-hashes the rows);
--   not signed: the same rows' content columns into an unsigned ledger table.
-- Must be CALLed outside a transaction block.  ms covers every transaction,
-- commits (WAL flush and the commit-time batch check) included; cpu is the
-- backend's CPU ticks over the same span.
CREATE PROCEDURE bench_signed.load_batches(tbl text, rep int, signed boolean, INOUT ms numeric DEFAULT NULL,
                                           INOUT cpu bigint DEFAULT NULL)
LANGUAGE plpgsql AS $fn$
DECLARE
    nbatches int := (SELECT count(*) FROM bench_signed.stage_batches s WHERE s.rep = load_batches.rep);
    ins text;
    t0 timestamptz;
BEGIN
    IF signed THEN
        ins := format('INSERT INTO public.%I (battery, kind, at, soh, note, ledger_key_id, ledger_batch)
                       SELECT battery, kind, at, soh, note, ledger_key_id, ledger_batch
                         FROM bench_signed.stage_batch_rows WHERE rep = $1 AND batch_no = $2', tbl);
    ELSE
        ins := format('INSERT INTO public.%I (battery, kind, at, soh, note)
                       SELECT battery, kind, at, soh, note
                         FROM bench_signed.stage_batch_rows WHERE rep = $1 AND batch_no = $2', tbl);
    END IF;
    COMMIT;
    cpu := bench_signed.cpu_ticks();
    t0 := clock_timestamp();
    FOR b IN 1 .. nbatches LOOP
        IF signed THEN
            INSERT INTO battledger.batch (batch_id, tbl, key_id, row_count, root, sig)
            SELECT s.batch_id, 'public.' || tbl, s.key_id, s.row_count, s.root, s.sig
              FROM bench_signed.stage_batches s WHERE s.rep = load_batches.rep AND s.batch_no = b;
        END IF;
        EXECUTE ins USING rep, b;
        COMMIT;
    END LOOP;
    ms := round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
    cpu := bench_signed.cpu_ticks() - cpu;
END $fn$;

-- One statement, then COMMIT, timed together (commit included); cpu as above.
CREATE PROCEDURE bench_signed.timed(stmt text, INOUT ms numeric DEFAULT NULL, INOUT cpu bigint DEFAULT NULL)
LANGUAGE plpgsql AS $fn$
DECLARE
    t0 timestamptz;
BEGIN
    COMMIT;
    cpu := bench_signed.cpu_ticks();
    t0 := clock_timestamp();
    EXECUTE stmt;
    COMMIT;
    ms := round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
    cpu := bench_signed.cpu_ticks() - cpu;
END $fn$;

-- verify() timing: milliseconds and the number of problems it reported; the
-- problems themselves are kept in verify_log (call_no tells the calls apart).
CREATE UNLOGGED TABLE bench_signed.verify_log (
    tbl text, call_no int, chain_key text, seq bigint, problem text, detail text);
CREATE FUNCTION bench_signed.time_verify(tbl regclass, call_no int, OUT ms numeric, OUT problems bigint,
                                         OUT cpu bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    cpu := bench_signed.cpu_ticks();
    INSERT INTO bench_signed.verify_log
    SELECT tbl::text, call_no, v.chain_key, v.seq, v.problem, v.detail FROM battledger.verify(tbl) v;
    GET DIAGNOSTICS problems = ROW_COUNT;
    ms := round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
    cpu := bench_signed.cpu_ticks() - cpu;
END $fn$;
