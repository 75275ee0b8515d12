-- test/bench/signed_insert_unsigned.sql — pgbench: the same staged rows as
-- signed_insert.sql, content columns only, into an UNSIGNED ledger table (the
-- comparison: same rows, same chain keys, same transaction shape, no signature).
\set n :n + 1
\set id :base + :client_id * :stride + :n
INSERT INTO :tbl (battery, kind, at, soh, note)
SELECT battery, kind, at, soh, note
  FROM bench_signed.stage_rows WHERE id = :id;
