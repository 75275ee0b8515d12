-- test/bench/insert.sql — pgbench: one single-row INSERT per transaction.
-- :tbl is set with `pgbench -D tbl=...` (simple protocol substitutes it as text);
-- 1,000 chain keys, so ledger appends rarely contend on the same chain.
\set b random(1, 1000)
\set soh random(6000, 10000)
INSERT INTO :tbl (battery, kind, at, soh, note)
VALUES ('B' || :b, 'charge', now(), :soh / 100.0, 'pgbench row');
