-- verify(): tampering done behind the extension's back (as a superuser who
-- switches the guards off) is reported row by row.
\set SHOW_CONTEXT never
SET search_path = public, battledger;

CREATE TABLE soh_report (battery text, cycle int, capacity_ah numeric);
SELECT enable_ledger('soh_report', 'battery');
-- real NASA PCoE capacities of cell B0025 (first discharges) and B0026
INSERT INTO soh_report VALUES
    ('B0025', 1, 1.8302), ('B0025', 2, 1.8223), ('B0025', 3, 1.8215), ('B0025', 4, 1.8198), ('B0025', 5, 1.8192),
    ('B0026', 1, 1.8142), ('B0026', 2, 1.8054), ('B0026', 3, 1.8038);
SELECT count(*) AS problems FROM verify('soh_report');

-- The superuser's way around the guards, visible in the server log.
CREATE FUNCTION tamper(sql text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
    ALTER TABLE soh_report DISABLE TRIGGER USER;
    EXECUTE sql;
    ALTER TABLE soh_report ENABLE TRIGGER zz_battledger_chain;
    ALTER TABLE soh_report ENABLE ALWAYS TRIGGER battledger_append_only;
    ALTER TABLE soh_report ENABLE REPLICA TRIGGER zz_battledger_arrive;
    ALTER EVENT TRIGGER battledger_ddl_guard ENABLE ALWAYS;
END $$;

-- 1. a modified value
BEGIN;
SELECT tamper($$UPDATE soh_report SET capacity_ah = 1.9 WHERE battery = 'B0025' AND cycle = 2$$);
SELECT * FROM verify('soh_report');
ROLLBACK;

-- 2. a deleted row
BEGIN;
SELECT tamper($$DELETE FROM soh_report WHERE battery = 'B0025' AND cycle = 3$$);
SELECT * FROM verify('soh_report');
ROLLBACK;

-- 3. deleted rows at the start of a chain
BEGIN;
SELECT tamper($$DELETE FROM soh_report WHERE battery = 'B0026' AND cycle < 3$$);
SELECT * FROM verify('soh_report');
ROLLBACK;

-- 4. an inserted row, bypassing the chain trigger: session_replication_role =
-- replica fires the trigger that checks other members' rows, which refuses it
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO soh_report VALUES ('B0026', 4, 1.9, 4, repeat('0', 64)::hash256, repeat('0', 64)::hash256, current_setting('battledger.origin'));
ROLLBACK;
-- with every trigger disabled, verify() finds it
BEGIN;
SELECT tamper($$
INSERT INTO soh_report VALUES ('B0026', 4, 1.9, 4, repeat('0', 64)::hash256, repeat('0', 64)::hash256, current_setting('battledger.origin'));
INSERT INTO soh_report VALUES ('B0099', 1, 2.0, 7, repeat('0', 64)::hash256, repeat('0', 64)::hash256, current_setting('battledger.origin'));
$$);
SELECT * FROM verify('soh_report');
ROLLBACK;

-- 5. two rows swapped (their contents exchanged)
BEGIN;
SELECT tamper($$UPDATE soh_report r SET capacity_ah = s.capacity_ah, cycle = s.cycle
                  FROM soh_report s
                 WHERE r.battery = 'B0025' AND s.battery = 'B0025'
                   AND ((r.ledger_seq = 2 AND s.ledger_seq = 4) OR (r.ledger_seq = 4 AND s.ledger_seq = 2))$$);
SELECT * FROM verify('soh_report');
ROLLBACK;

-- 6. two rows swapped (their positions exchanged)
BEGIN;
SELECT tamper($$UPDATE soh_report SET ledger_seq = 100 WHERE battery = 'B0026' AND ledger_seq = 2;
                UPDATE soh_report SET ledger_seq = 2 WHERE battery = 'B0026' AND ledger_seq = 3;
                UPDATE soh_report SET ledger_seq = 3 WHERE battery = 'B0026' AND ledger_seq = 100$$);
SELECT * FROM verify('soh_report');
ROLLBACK;

-- 7. a broken link
BEGIN;
SELECT tamper($$UPDATE soh_report SET ledger_prev = repeat('a', 64)::hash256 WHERE battery = 'B0025' AND ledger_seq = 4$$);
SELECT * FROM verify('soh_report');
ROLLBACK;

-- 8. a modified row whose hash was recomputed: its successor no longer links to it
BEGIN;
SELECT tamper($$UPDATE soh_report SET capacity_ah = 1.95 WHERE battery = 'B0025' AND cycle = 2;
                UPDATE soh_report r SET ledger_hash = battledger.chain_hash(r.ledger_prev, r.ledger_seq, battledger.row_bytes(r))
                 WHERE battery = 'B0025' AND cycle = 2$$);
SELECT * FROM verify('soh_report');
ROLLBACK;

-- after all the rolled-back tampering, the table is intact
SELECT count(*) AS problems FROM verify('soh_report');

-- 9. verify() keeps each distinct origin once and the chain keys of a batch
-- in one arena (0.8.0): chains under 71 origins (past the 64 kept, or longer
-- than 256 bytes, a row's own copy), by-reference keys of a fixed length
-- (uuid) and long text keys (4-byte varlena headers) are walked as before,
-- and a broken link is named with its origin and key (all rolled back: the later tests seal the log)
BEGIN;
CREATE TABLE many_origins (k uuid, note text);
SELECT enable_ledger('many_origins', 'k');
CREATE TABLE long_keys (k text, v int);
SELECT enable_ledger('long_keys', 'k');
DO $$
BEGIN
    FOR i IN 1..70 LOOP
        PERFORM set_config('battledger.origin', 'origin-' || i || '.example/log', true);
        INSERT INTO many_origins SELECT ('00000000-0000-0000-0000-0000000000' || lpad(j::text, 2, '0'))::uuid, 'first'
          FROM generate_series(1, 3) j;
        INSERT INTO many_origins SELECT ('00000000-0000-0000-0000-0000000000' || lpad(j::text, 2, '0'))::uuid, 'second'
          FROM generate_series(1, 3) j;
    END LOOP;
    -- and an origin too long to be kept (each of its rows copied)
    PERFORM set_config('battledger.origin', repeat('o', 300) || '.example/log', true);
    INSERT INTO many_origins SELECT ('00000000-0000-0000-0000-0000000000' || lpad(j::text, 2, '0'))::uuid, 'first'
      FROM generate_series(1, 3) j;
    INSERT INTO many_origins SELECT ('00000000-0000-0000-0000-0000000000' || lpad(j::text, 2, '0'))::uuid, 'second'
      FROM generate_series(1, 3) j;
END $$;
RESET battledger.origin;
INSERT INTO long_keys SELECT repeat(chr(96 + j), 300), i FROM generate_series(1, 3) i, generate_series(1, 4) j;
SELECT count(*) AS rows, count(DISTINCT ledger_origin) AS origins FROM many_origins;
SELECT count(*) AS problems FROM verify('many_origins');
SELECT count(*) AS problems FROM verify('long_keys');
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE many_origins DISABLE TRIGGER USER;
ALTER TABLE long_keys DISABLE TRIGGER USER;
UPDATE many_origins SET ledger_prev = repeat('b', 64)::hash256
 WHERE ledger_origin = 'origin-70.example/log' AND ledger_seq = 2 AND k = '00000000-0000-0000-0000-000000000002';
UPDATE many_origins SET ledger_prev = repeat('b', 64)::hash256
 WHERE ledger_origin = 'origin-1.example/log' AND ledger_seq = 2 AND k = '00000000-0000-0000-0000-000000000003';
UPDATE many_origins SET ledger_prev = repeat('b', 64)::hash256
 WHERE ledger_origin LIKE 'ooo%' AND ledger_seq = 2 AND k = '00000000-0000-0000-0000-000000000001';
UPDATE long_keys SET v = 0 WHERE k = repeat('c', 300) AND ledger_seq = 2;
SELECT left(origin, 22) AS origin, length(origin), chain_key, seq, problem FROM verify('many_origins') ORDER BY origin, seq;
SELECT origin, left(chain_key, 5) AS chain_key, length(chain_key), seq, problem FROM verify('long_keys') ORDER BY seq;
ROLLBACK;
