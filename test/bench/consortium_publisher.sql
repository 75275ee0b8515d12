-- test/bench/consortium_publisher.sql — run on the publisher P only, after
-- consortium_schema.sql, by test/bench/consortium.sh.
--
-- The signing member fleet.example (role fleet_operator) and its key (seed =
-- SHA-256('fleet-1')), registered at P: the registration is itself ledger rows
-- that reach S with the initial copy of the subscription, so S knows the key.
--
-- Rows are signed BEFORE anything is timed, with the TEST-ONLY signer, into an
-- UNLOGGED staging table (never published: unlogged tables cannot be).

SELECT battledger.add_member('fleet.example', ARRAY['fleet_operator']);
SELECT battledger.add_key('fleet.example', battledger_test.public_key(battledger_test.seed('fleet-1')));

-- What the member signs: the content columns plus ledger_key_id and ledger_batch
-- (fields sorted by name, NULLs left out: signing_bytes(this composite,
-- 'public.soh') are those of soh's row, which name the table; see
-- test/bench/signed_schema.sql).  The subscriber S checks them against its
-- own public.soh, the same name.
CREATE TYPE bench_cons.signed_row AS (
    battery text, soh_pct numeric, note text, ledger_key_id battledger.hash256, ledger_batch text);

CREATE UNLOGGED TABLE bench_cons.stage (
    id bigint PRIMARY KEY,
    battery text NOT NULL, soh_pct numeric, note text,
    ledger_key_id battledger.hash256 NOT NULL,
    ledger_sig bytea NOT NULL);

-- Sign rows lo..hi for public.soh: 1,000 chain keys (batteries), one Ed25519 signature each.
-- Run in several sessions at once to use every core.
CREATE FUNCTION bench_cons.stage_signed(lo bigint, hi bigint) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    seed bytea := battledger_test.seed('fleet-1');
    kid battledger.hash256 := battledger.key_id(battledger_test.public_key(seed));
    n bigint;
BEGIN
    INSERT INTO bench_cons.stage
    SELECT i, c.battery, c.soh_pct, c.note, kid,
           battledger_test.sign(seed, battledger.signing_bytes(
               ROW(c.battery, c.soh_pct, c.note, kid, NULL)::bench_cons.signed_row, 'public.soh'))
      FROM generate_series(lo, hi) AS i,
           LATERAL (SELECT 'B' || (i % 1000) AS battery, round(100 - (i % 5000) * 0.01, 2) AS soh_pct,
                           'soh report ' || i AS note) AS c;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $fn$;

-- Load rows lo..hi in transactions of batch rows (INSERT ... SELECT, COMMIT):
--   'soh'    staged signed rows into the ledger table (content, key id, signature;
--            the chain trigger adds the rest and checks the signature);
--   'plain'  the same rows, every column as soh holds them, from plain_stage
--            (filled from soh beforehand) into plain_soh.
-- CALL outside a transaction block; ms covers every transaction and COMMIT,
-- cpu is this backend's CPU ticks over the same span.
CREATE PROCEDURE bench_cons.load(kind text, lo bigint, hi bigint, batch int,
                                 INOUT ms numeric DEFAULT NULL, INOUT cpu bigint DEFAULT NULL)
LANGUAGE plpgsql AS $fn$
DECLARE
    cols text;
    ins text;
    t0 timestamptz;
    a bigint := lo;
BEGIN
    IF kind = 'soh' THEN
        ins := 'INSERT INTO public.soh (battery, soh_pct, note, ledger_key_id, ledger_sig)
                SELECT battery, soh_pct, note, ledger_key_id, ledger_sig
                  FROM bench_cons.stage WHERE id BETWEEN $1 AND $2 ORDER BY id';
    ELSIF kind = 'plain' THEN
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
          FROM pg_attribute WHERE attrelid = 'public.soh'::regclass AND attnum > 0 AND NOT attisdropped;
        ins := format('INSERT INTO public.plain_soh (%s) SELECT %s FROM bench_cons.plain_stage
                        WHERE id BETWEEN $1 AND $2 ORDER BY id', cols, cols);
    ELSE
        RAISE EXCEPTION 'unknown kind %', kind;
    END IF;
    COMMIT;
    cpu := bench_cons.cpu_ticks();
    t0 := clock_timestamp();
    WHILE a <= hi LOOP
        EXECUTE ins USING a, least(a + batch - 1, hi);
        COMMIT;
        a := a + batch;
    END LOOP;
    ms := round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
    cpu := bench_cons.cpu_ticks() - cpu;
END $fn$;
