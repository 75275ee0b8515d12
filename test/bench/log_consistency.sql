-- test/bench/log_consistency.sql — pgbench: one consistency proof per transaction.
-- :n (the log's size) is set with `pgbench -D n=...`; from a random older size to :n.
\set s1 random(1, :n)
SELECT battledger.consistency_proof(:s1, :n);
