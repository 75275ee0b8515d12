-- seal() (issue 15): log_leaf's row_hash index becomes a hash index.  Its
-- keys are SHA-256 hashes, inserted in random order: a btree insert descended
-- the whole tree and compared 32-byte keys at every level, about half of
-- seal()'s CPU time (docs/benchmarks.md, "0.7.0: seal").  Every query of it
-- is an equality (leaf_index(), seal()'s re-queue, passports), which a hash
-- index answers.  Rebuilding it reads log_leaf once, under the update's lock.
DROP INDEX @extschema@.log_leaf_row;
CREATE INDEX log_leaf_row ON @extschema@.log_leaf USING hash (row_hash);
