-- An independent implementation of the canonical encoding and chain hash, in
-- PL/pgSQL with pgcrypto, written from docs/encoding.md, must agree with the C
-- code on every row of a randomised table.
BEGIN;
SELECT plan(6);
SET LOCAL search_path = public, battledger;

CREATE FUNCTION pg_temp.be(v numeric, n int) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE r bytea := ''; x numeric := v;
BEGIN
    IF x < 0 THEN x := x + 2::numeric ^ (8 * n); END IF;   -- two's complement
    FOR i IN 1 .. n LOOP
        r := set_byte('\x00'::bytea, 0, (x % 256)::int) || r;
        x := div(x, 256);   -- exact: x / 256 rounds to a scale that differs between versions
    END LOOP;
    RETURN r;
END $$;

CREATE FUNCTION pg_temp.field(name text, tag int, value bytea) RETURNS bytea LANGUAGE sql AS $$
    SELECT pg_temp.be(length(convert_to(name, 'UTF8')), 1) || convert_to(name, 'UTF8')
        || pg_temp.be(tag, 1) || pg_temp.be(length(value), 4) || value
$$;

-- The spec's rules for this table's column types, by hand.
CREATE TABLE reading (battery text, cycle int4, energy_wh int8, capacity_ah numeric,
                      at timestamptz, ok bool, note text);
CREATE FUNCTION pg_temp.my_row_bytes(r reading) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    fields bytea[] := '{}';
    epoch2000 constant timestamptz := '2000-01-01 00:00:00+00';
BEGIN
    -- fields in byte order of their names: at, battery, capacity_ah, cycle, energy_wh,
    -- ledger_origin (left out when empty), note, ok
    IF r.at IS NOT NULL THEN
        fields := fields || pg_temp.field('at', 12,
            pg_temp.be((extract(epoch FROM r.at) - extract(epoch FROM epoch2000)) * 1000000, 8));
    END IF;
    IF r.battery IS NOT NULL THEN fields := fields || pg_temp.field('battery', 8, convert_to(r.battery, 'UTF8')); END IF;
    IF r.capacity_ah IS NOT NULL THEN fields := fields || pg_temp.field('capacity_ah', 7, convert_to(r.capacity_ah::text, 'UTF8')); END IF;
    IF r.cycle IS NOT NULL THEN fields := fields || pg_temp.field('cycle', 3, pg_temp.be(r.cycle, 4)); END IF;
    IF r.energy_wh IS NOT NULL THEN fields := fields || pg_temp.field('energy_wh', 4, pg_temp.be(r.energy_wh, 8)); END IF;
    IF r.ledger_origin <> '' THEN fields := fields || pg_temp.field('ledger_origin', 8, convert_to(r.ledger_origin, 'UTF8')); END IF;
    IF r.note IS NOT NULL THEN fields := fields || pg_temp.field('note', 8, convert_to(r.note, 'UTF8')); END IF;
    IF r.ok IS NOT NULL THEN fields := fields || pg_temp.field('ok', 1, CASE WHEN r.ok THEN '\x01'::bytea ELSE '\x00'::bytea END); END IF;
    RETURN '\x424c5201'::bytea || pg_temp.be(cardinality(fields), 2)
        || coalesce((SELECT string_agg(f, ''::bytea ORDER BY i) FROM unnest(fields) WITH ORDINALITY u(f, i)), '');
END $$;

SELECT battledger.enable_ledger('reading', 'battery');
SELECT setseed(0.25);
INSERT INTO reading (battery, cycle, energy_wh, capacity_ah, at, ok, note)
SELECT 'B00' || (25 + (random() * 7)::int),
       CASE WHEN random() < 0.1 THEN NULL ELSE (random() * 2000000 - 1000000)::int END,
       (random() * 1e12 - 5e11)::int8,
       CASE WHEN random() < 0.1 THEN NULL ELSE round((random() * 2)::numeric, (random() * 6)::int) END,
       '2009-02-13 19:03:52+00'::timestamptz + random() * interval '400 days',
       CASE WHEN random() < 0.2 THEN NULL ELSE random() < 0.5 END,
       CASE WHEN random() < 0.5 THEN NULL ELSE 'Zelle ' || chr(196 + (random() * 20)::int) || ' ✓' END
  FROM generate_series(1, 1000);

SELECT is((SELECT count(*)::int FROM reading r WHERE battledger.row_bytes(r) <> pg_temp.my_row_bytes(r)), 0,
          'row_bytes agrees with an independent implementation of the spec on 1000 random rows');
SELECT is((SELECT count(*)::int FROM reading r
            WHERE r.ledger_hash::bytea <> digest(r.ledger_prev::bytea || int8send(r.ledger_seq) || pg_temp.my_row_bytes(r), 'sha256')), 0,
          'every ledger_hash equals pgcrypto SHA-256(prev || seq || content)');
SELECT is((SELECT count(*)::int FROM reading r JOIN reading p
              ON p.battery = r.battery AND p.ledger_seq = r.ledger_seq - 1
            WHERE r.ledger_prev <> p.ledger_hash), 0, 'every row links to its predecessor');
SELECT is((SELECT count(*)::int FROM reading WHERE ledger_seq = 1 AND ledger_prev <> repeat('0', 64)::battledger.hash256), 0,
          'every chain starts from the zero hash');
SELECT is((SELECT count(*)::int FROM (SELECT battery FROM reading GROUP BY battery HAVING max(ledger_seq) <> count(*)) g), 0,
          'positions are dense in every chain');
SELECT is_empty('SELECT * FROM battledger.verify(''reading'')', 'verify finds nothing wrong');

SELECT * FROM finish();
ROLLBACK;
