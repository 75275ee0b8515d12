
-- r24 S1: _text_id_key() (replaced above) reads the spellings battery_id
-- accepts besides (surrounding white space, '(01)' with a GTIN-8/12/13, a
-- Digital Link with percent-encoded GTIN digits) as namespaced: a row
-- stored before the update naming a passport id so spelled may now hold
-- nothing (passport_foreign_namespace).  The cached states were folded by
-- the old key, and (84, r24 K1) the holders of ids a key added for two
-- members signed by the old _passport_holder_by() (the cache is unlogged
-- and rebuilt on the next read or write)
TRUNCATE @extschema@.battery_fold_cache;
