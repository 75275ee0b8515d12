-- test/bench/log_schema.sql — objects test/bench/log.sh needs, in schema "bench_log".
--
-- One ledger table, public.log_events, with the five content columns of
-- test/bench/schema.sql, made a ledger with enable_ledger(t, 'battery')
-- (1,000 chain keys).  Every row inserted into it is queued for the log;
-- battledger.seal() turns the queue into leaves.

CREATE EXTENSION IF NOT EXISTS battledger;
CREATE SCHEMA IF NOT EXISTS bench_log;

CREATE TABLE public.log_events (
    battery text NOT NULL, kind text NOT NULL, at timestamptz NOT NULL,
    soh numeric, note text);
SELECT battledger.enable_ledger('public.log_events', 'battery');

-- Rows first..last in one INSERT ... SELECT, content built from the row
-- number as in test/bench/schema.sql; returns the statement's milliseconds
-- measured inside the server (no COMMIT).
CREATE FUNCTION bench_log.load(first bigint, last bigint) RETURNS numeric
LANGUAGE plpgsql AS $fn$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    INSERT INTO public.log_events (battery, kind, at, soh, note)
    SELECT 'B' || (i % 1000),
           (ARRAY['charge', 'discharge', 'inspect'])[1 + i % 3],
           timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute',
           round(100 - (i % 5000) * 0.01, 2),
           'log bench row ' || i
      FROM generate_series(first, last) AS i;
    RETURN round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
END $fn$;

-- One seal(), timed inside the server with clock_timestamp() (no COMMIT).
-- Called from an autocommit SELECT, so at READ COMMITTED (seal() refuses
-- anything else); the isolation is returned so the script can check it.
CREATE FUNCTION bench_log.time_seal(OUT ms numeric, OUT leaves_before bigint, OUT leaves_after bigint,
                                    OUT isolation text)
LANGUAGE plpgsql AS $fn$
DECLARE
    t0 timestamptz;
BEGIN
    isolation := current_setting('transaction_isolation');
    SELECT coalesce(max(tree_size), 0) INTO leaves_before FROM battledger.checkpoint;
    t0 := clock_timestamp();
    PERFORM battledger.seal();
    ms := round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
    SELECT coalesce(max(tree_size), 0) INTO leaves_after FROM battledger.checkpoint;
END $fn$;

-- verify_log(check_rows), timed inside the server: milliseconds and problems.
CREATE FUNCTION bench_log.time_verify_log(check_rows boolean, OUT ms numeric, OUT problems bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    SELECT count(*) INTO problems FROM battledger.verify_log(check_rows);
    ms := round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
END $fn$;

-- Supplementary to pgbench: `calls` calls of one proof function on a log of n
-- leaves, each timed alone inside the server (no client round trip, no
-- parse); median and p95 in microseconds.  Arguments are drawn as in the
-- pgbench scripts (log_inclusion.sql, log_consistency.sql, log_tlog.sql).
CREATE FUNCTION bench_log.proof_us(what text, n bigint, calls int,
                                   OUT median_us numeric, OUT p95_us numeric)
LANGUAGE plpgsql AS $fn$
DECLARE
    t0 timestamptz;
    us float8[] := '{}';
    i bigint;
BEGIN
    FOR k IN 1 .. calls LOOP
        IF what = 'consistency' THEN
            i := 1 + floor(random() * n)::bigint;           -- random(1, n)
        ELSE
            i := floor(random() * n)::bigint;               -- random(0, n - 1)
        END IF;
        t0 := clock_timestamp();
        CASE what
            WHEN 'inclusion' THEN PERFORM battledger.inclusion_proof(i, n);
            WHEN 'consistency' THEN PERFORM battledger.consistency_proof(i, n);
            WHEN 'tlog' THEN PERFORM battledger.tlog_proof(i);
        END CASE;
        us := us || extract(epoch FROM clock_timestamp() - t0)::float8 * 1e6;
    END LOOP;
    SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric, 1),
           round(percentile_cont(0.95) WITHIN GROUP (ORDER BY x)::numeric, 1)
      INTO median_us, p95_us FROM unnest(us) AS x;
END $fn$;

-- The proofs the benchmark draws must verify (a fast proof of the wrong thing
-- would be worthless): `calls` random inclusion and consistency proofs
-- against tree_root(); returns how many failed.
CREATE FUNCTION bench_log.check_proofs(n bigint, calls int) RETURNS bigint
LANGUAGE sql AS $fn$
    SELECT count(*) FILTER (WHERE NOT battledger.verify_inclusion(battledger.leaf(i), i, n,
                                        battledger.inclusion_proof(i, n), battledger.tree_root(n)))
         + count(*) FILTER (WHERE NOT battledger.verify_consistency(s1, n, battledger.tree_root(s1),
                                        battledger.tree_root(n), battledger.consistency_proof(s1, n)))
      FROM (SELECT floor(random() * n)::bigint AS i, 1 + floor(random() * n)::bigint AS s1
              FROM generate_series(1, calls)) AS r
$fn$;
