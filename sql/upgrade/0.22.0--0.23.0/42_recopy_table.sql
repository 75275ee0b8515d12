-- recopy_table() (40_copy_stuck.replace): its comment and privileges, as
-- sql/install/90_consortium.sql gives them
COMMENT ON FUNCTION @extschema@.recopy_table(text, regclass) IS
    'copy again a table of a member''s subscription whose join''s copy stopped (state f, "copy failing"): the subscription disabled first; enables it';
REVOKE ALL ON FUNCTION @extschema@.recopy_table(text, regclass) FROM PUBLIC;
