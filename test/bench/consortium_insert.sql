-- test/bench/consortium_insert.sql — pgbench at the publisher: one pre-signed
-- row per transaction into soh.  The client takes staged rows in order, never
-- one twice (a row's signature is UNIQUE in the table): its k-th transaction
-- inserts bench_cons.stage row :base + client_id * :stride + k.  :n counts the
-- client's transactions (pgbench keeps a client's variables between
-- transactions; it starts from -D n=0).  :base and :stride are set with -D.
\set n :n + 1
\set id :base + :client_id * :stride + :n
INSERT INTO soh (battery, soh_pct, note, ledger_key_id, ledger_sig)
SELECT battery, soh_pct, note, ledger_key_id, ledger_sig
  FROM bench_cons.stage WHERE id = :id;
