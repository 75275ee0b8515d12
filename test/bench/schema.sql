-- test/bench/schema.sql — objects the benchmark needs, in schema "bench".
--
-- Three kinds of table with the same five content columns:
--   plain_<sfx>        an ordinary table with no index (the baseline);
--   indexed_<sfx>      the same with an index on (battery, at), as a real events table has;
--   handwritten_<sfx>  the global hash chain a DBA writes today with PL/pgSQL
--                      and pgcrypto: advisory lock, read the last row, hash;
--   ledger_<sfx>       battledger.enable_ledger(..., 'battery').
-- Each measurement gets fresh, empty tables (a ledger table cannot be truncated).

CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS battledger;
CREATE SCHEMA IF NOT EXISTS bench;

-- bench.make_table('plain' | 'handwritten' | 'ledger', sfx) creates public.<kind>_<sfx>.
CREATE FUNCTION bench.make_table(kind text, sfx text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
    tbl text := kind || '_' || sfx;
BEGIN
    IF kind NOT IN ('plain', 'indexed', 'handwritten', 'ledger') THEN
        RAISE EXCEPTION 'unknown table kind %', kind;
    END IF;
    EXECUTE format($$CREATE TABLE public.%I (
        battery text NOT NULL, kind text NOT NULL, at timestamptz NOT NULL,
        soh numeric, note text)$$, tbl);
    IF kind = 'indexed' THEN
        EXECUTE format('CREATE INDEX %I ON public.%I (battery, at)', tbl || '_battery_at', tbl);
    END IF;

    IF kind = 'handwritten' THEN
        -- The hand-written chain: one global chain, serialised by an advisory
        -- transaction lock, head read through a unique index on seq, SHA-256
        -- from pgcrypto.  Each table gets its own trigger function with the
        -- table name written in, as a DBA would write it (no dynamic SQL in
        -- the hot path).
        EXECUTE format('ALTER TABLE public.%I ADD COLUMN seq bigint NOT NULL, '
                       'ADD COLUMN prev bytea NOT NULL, ADD COLUMN hash bytea NOT NULL', tbl);
        EXECUTE format('CREATE UNIQUE INDEX %I ON public.%I (seq)', tbl || '_seq', tbl);
        EXECUTE format($f$CREATE FUNCTION bench.%I() RETURNS trigger
            LANGUAGE plpgsql AS $body$
            DECLARE
                last_seq  bigint;
                last_hash bytea;
            BEGIN
                PERFORM pg_advisory_xact_lock(4242);
                SELECT seq, hash INTO last_seq, last_hash
                  FROM public.%I ORDER BY seq DESC LIMIT 1;
                NEW.seq  := coalesce(last_seq, 0) + 1;
                NEW.prev := coalesce(last_hash, '\x'::bytea);
                NEW.hash := public.digest(NEW.prev || convert_to(
                                (NEW.seq, NEW.battery, NEW.kind, NEW.at, NEW.soh, NEW.note)::text,
                                'UTF8'), 'sha256');
                RETURN NEW;
            END $body$$f$, 'chain_' || tbl, tbl);
        EXECUTE format('CREATE TRIGGER chain BEFORE INSERT ON public.%I FOR EACH ROW '
                       'EXECUTE FUNCTION bench.%I()', tbl, 'chain_' || tbl);
    ELSIF kind = 'ledger' THEN
        PERFORM battledger.enable_ledger(format('public.%I', tbl)::regclass, 'battery');
    END IF;
END $fn$;

-- Wall-clock milliseconds of one statement, measured in the server so that
-- connection start-up is not counted (the commit's WAL flush is not either).
CREATE FUNCTION bench.time_ms(stmt text) RETURNS numeric
LANGUAGE plpgsql AS $fn$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE stmt;
    RETURN round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
END $fn$;

-- The bulk load: N rows over 1,000 chain keys, content built from the row
-- number so nothing is constant-folded.
CREATE FUNCTION bench.bulk_sql(tbl text, n int) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT format($$INSERT INTO public.%I (battery, kind, at, soh, note)
        SELECT 'B' || (i %% 1000),
               (ARRAY['charge', 'discharge', 'inspect'])[1 + i %% 3],
               timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute',
               round(100 - (i %% 5000) * 0.01, 2),
               'bulk row ' || i
          FROM generate_series(1, %s) AS i$$, tbl, n)
$fn$;

-- verify() timing: milliseconds and the number of problems it reported.
CREATE FUNCTION bench.time_verify(tbl regclass, OUT ms numeric, OUT problems bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    SELECT count(*) INTO problems FROM battledger.verify(tbl);
    ms := round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
END $fn$;
