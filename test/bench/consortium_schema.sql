-- test/bench/consortium_schema.sql — run on BOTH members by test/bench/consortium.sh
-- (publisher P and subscriber S), so their tables match:
--
--   soh         the signed ledger table: enable_ledger('soh', 'battery', signed => true,
--               signer_roles => ARRAY['fleet_operator']); at S its rows arrive from P
--               and are checked on arrival (src/pg/arrive.c: chain link, hash, signature);
--   plain_soh   the baseline: the same columns as soh, the ledger columns as ordinary
--               columns, and the same indexes (CREATE TABLE ... LIKE soh INCLUDING
--               INDEXES), but no triggers: not a ledger table, nothing checked.
--
-- Plus, in schema "bench_cons", helpers both sides use.

CREATE EXTENSION IF NOT EXISTS battledger;
CREATE EXTENSION IF NOT EXISTS battledger_test_signer;   -- TEST ONLY: private keys in SQL
CREATE SCHEMA IF NOT EXISTS bench_cons;

CREATE TABLE public.soh (battery text, soh_pct numeric, note text);
SELECT battledger.enable_ledger('public.soh', 'battery', signed => true,
                                signer_roles => ARRAY['fleet_operator']);
CREATE TABLE public.plain_soh (LIKE public.soh INCLUDING INDEXES);

-- CPU time (user + system, in clock ticks) this backend has used so far.
CREATE FUNCTION bench_cons.cpu_ticks() RETURNS bigint
LANGUAGE sql AS $fn$
    SELECT split_part(s, ' ', 12)::bigint + split_part(s, ' ', 13)::bigint
      FROM regexp_replace(pg_read_file('/proc/self/stat'), '^.*\) ', '') AS s
$fn$;

-- Subscriber side: poll count(*) of tbl every 0.1 s until it reaches target.
-- Returns 'ok <rows>', or 'stopped <rows>' if the subscription sub was
-- disabled (a refused row stops it), or 'timeout <rows>'.  Each statement of
-- this (volatile) function takes a new snapshot, so it sees every commit of
-- the apply worker.
CREATE FUNCTION bench_cons.wait_rows(tbl regclass, target bigint, timeout_s numeric, sub name DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
    n bigint;
    t0 timestamptz := clock_timestamp();
BEGIN
    LOOP
        EXECUTE format('SELECT count(*) FROM %s', tbl) INTO n;
        IF n >= target THEN
            RETURN 'ok ' || n;
        END IF;
        IF sub IS NOT NULL AND NOT coalesce((SELECT subenabled FROM pg_subscription WHERE subname = sub), false) THEN
            RETURN 'stopped ' || n;
        END IF;
        IF clock_timestamp() - t0 > timeout_s * interval '1 second' THEN
            RETURN 'timeout ' || n;
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
END $fn$;
