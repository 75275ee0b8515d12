-- registry_rule is dumped (0.24.0): a restored member enforces custody from
-- the date its peers agreed, not from -infinity.  A fresh install holds no
-- row (no row means -infinity), so that pg_restore's COPY of the dumped row
-- does not collide with one CREATE EXTENSION wrote; the same here, where
-- the -infinity row 0.4.0 and later wrote means what no row means.
DELETE FROM @extschema@.registry_rule WHERE rule = 'custody' AND since = '-infinity';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.registry_rule', '');
