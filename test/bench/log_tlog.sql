-- test/bench/log_tlog.sql — pgbench: one tlog-proof@v1 bundle per transaction
-- (inclusion proof against the latest checkpoint, plus that signed note).
-- :n (the log's size, = the latest checkpoint's) is set with `pgbench -D n=...`.
\set i random(0, :n - 1)
SELECT battledger.tlog_proof(:i);
