-- test/bench/signed_insert.sql — pgbench: one pre-signed row per transaction.
-- Each client takes the staged rows of its own slice, in order, never one twice
-- (a row's signature is UNIQUE in the table): client c's k-th transaction
-- inserts bench_signed.stage_rows row :base + c * :stride + k, staged rows
-- signed for table :tbl (the signing bytes name the table).  :n counts the
-- client's transactions (pgbench keeps a client's variables between
-- transactions; it starts from -D n=0).  :tbl, :base and :stride are set with -D.
\set n :n + 1
\set id :base + :client_id * :stride + :n
INSERT INTO :tbl (battery, kind, at, soh, note, ledger_key_id, ledger_sig)
SELECT battery, kind, at, soh, note, ledger_key_id, ledger_sig
  FROM bench_signed.stage_rows WHERE id = :id;
