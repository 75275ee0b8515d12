-- health() gains a column, unpublished (0.24.0): its OUT parameters change
DROP FUNCTION @extschema@.health();
