-- A batch is named by its id and its signer's key (red team rt27 H6): each
-- member picks its own ids, and with UNIQUE (batch_id) two members filing
-- one id before seeing each other's stopped each other's subscriptions
-- (duplicate_batch).  Every stored batch keeps its id, key, signature and
-- rows: a unique id is unique under its key too.  The C code finds a batch
-- by (batch_id, key_id) from this version on (src/pg/sign.c).
ALTER TABLE @extschema@.batch DROP CONSTRAINT batch_batch_id_key;
ALTER TABLE @extschema@.batch ADD CONSTRAINT batch_batch_id_key_id_key UNIQUE (batch_id, key_id);
