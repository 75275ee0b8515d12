-- test/bench/log_inclusion.sql — pgbench: one inclusion proof per transaction.
-- :n (the log's size) is set with `pgbench -D n=...`; a random leaf of the tree of size :n.
\set i random(0, :n - 1)
SELECT battledger.inclusion_proof(:i, :n);
