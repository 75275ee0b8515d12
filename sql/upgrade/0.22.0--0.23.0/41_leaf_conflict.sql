-- A re-join's copy compares the leaves it finds stored (src/pg/witness.c,
-- compare_stored_leaves()): a leaf published again differently, which no
-- checkpoint signs yet, is recorded with no new checkpoint (red team r26
-- notes; stuck23).
ALTER TABLE @extschema@.log_conflict ALTER COLUMN new_note DROP NOT NULL;
