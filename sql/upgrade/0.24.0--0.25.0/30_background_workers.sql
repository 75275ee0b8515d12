-- mend25: _copy_wait_reason() counts background workers by what
-- max_worker_processes limits (src/pg/bgworkers.c), not by a list of
-- PostgreSQL's own process kinds; the C function it calls is new.
CREATE FUNCTION @extschema@._background_workers() RETURNS integer
    AS 'MODULE_PATHNAME', 'battledger_background_workers' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION @extschema@._background_workers() FROM PUBLIC;
