-- mend25: a subscription join() of 0.24.0 made on PostgreSQL 18 (or one
-- altered by hand on 16+) applies large transactions in parallel
-- (streaming = parallel, substream 'p'): verify_member()'s seal rule can
-- then report rows falsely.  0.25.0's join() says streaming = on; the
-- update does not alter a subscription (its owner's, and ALTER
-- SUBSCRIPTION is the DBA's act): it names each one to change.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT s.subname FROM pg_catalog.pg_subscription s
               JOIN @extschema@.consortium_member m ON m.subscription = s.subname
              WHERE s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
                AND s.substream::text = 'p'
              ORDER BY s.subname LOOP
        RAISE WARNING 'subscription % applies large transactions in parallel (streaming = parallel)', r.subname
            USING DETAIL = 'Their rows can be applied before transactions the member committed earlier, and verify_member() can then report them "in no leaf" falsely.',
                  HINT = pg_catalog.format('ALTER SUBSCRIPTION %I SET (streaming = on);', r.subname);
    END LOOP;
END $$;
