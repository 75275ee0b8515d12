-----------------------------------------------------------------------------
-- One line of health for monitoring: the log's backlog and age, how much of
-- it the other members have cosigned, the members not "ok", refusals, held
-- rows.  monitoring/postgres_exporter.yml exports it to Prometheus.
-----------------------------------------------------------------------------
-- The queue is unlogged, and a standby cannot read an unlogged table (the
-- planner refuses it): PL/pgSQL plans the count only when it is reached.
CREATE FUNCTION @extschema@._pending_rows() RETURNS bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_catalog.pg_is_in_recovery() THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT count(*) FROM @extschema@.log_pending);
END $$;
REVOKE ALL ON FUNCTION @extschema@._pending_rows() FROM PUBLIC;
CREATE FUNCTION @extschema@.health(
        OUT origin text, OUT pending_rows bigint, OUT log_size bigint,
        OUT last_checkpoint_at timestamptz, OUT seconds_since_checkpoint double precision,
        OUT cosigned_size bigint, OUT uncosigned_leaves bigint,
        OUT members bigint, OUT members_not_ok bigint, OUT rejections bigint, OUT held_rows bigint,
        OUT unpublished bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.current_setting('battledger.origin', true),
           @extschema@._pending_rows(),
           coalesce(c.tree_size, 0), c.at,
           extract(epoch FROM pg_catalog.now() - c.at)::double precision,
           coalesce(w.size, 0), coalesce(c.tree_size, 0) - coalesce(w.size, 0),
           (SELECT count(*) FROM @extschema@.consortium_member),
           (SELECT count(*) FROM @extschema@.consortium_status() s WHERE s.state <> 'ok'),
           (SELECT count(*) FROM @extschema@.rejections),
           (SELECT count(*) FROM @extschema@.held_row),
           -- the tables this member publishes (publish_member()) that its
           -- publication lacks (0.24.0): a ledger table enabled after the
           -- publication was made, or a database restored from pg_dump,
           -- which leaves the extension's own tables out of it; the other
           -- members see only rows missing, or no checkpoint, much later.
           -- NULL where there is no publication and no member is joined
           -- (not a member yet); every table where the publication is gone
           -- (renamed, dropped) or publishes no inserts.  A table counts as
           -- published in it whole: no column list, and no row filter on
           -- the log's leaves and checkpoints (publish_member() sets none;
           -- the ledger tables' and cosignatures' filters by origin are
           -- not compared: red team r32, F4).
           CASE WHEN pub.oid IS NULL AND NOT EXISTS (SELECT FROM @extschema@.consortium_member) THEN NULL
                WHEN pub.puballtables AND pub.pubinsert THEN 0 ELSE
           (SELECT count(*) FROM (SELECT l.tbl FROM @extschema@.ledger_tables l
                                  UNION ALL
                                  VALUES ('@extschema@.log_leaf'::pg_catalog.regclass),
                                         ('@extschema@.checkpoint'::pg_catalog.regclass),
                                         ('@extschema@.cosignature'::pg_catalog.regclass)) want (rel)
             WHERE NOT coalesce(pub.pubinsert, false)
                OR (NOT EXISTS (SELECT FROM pg_catalog.pg_publication_rel r
                                 WHERE r.prpubid = pub.oid AND r.prrelid = want.rel AND r.prattrs IS NULL
                                   AND (r.prqual IS NULL
                                        OR want.rel NOT IN ('@extschema@.log_leaf'::pg_catalog.regclass,
                                                            '@extschema@.checkpoint'::pg_catalog.regclass)))
                    AND NOT EXISTS (SELECT FROM pg_catalog.pg_publication_namespace n
                                      JOIN pg_catalog.pg_class c ON c.relnamespace = n.pnnspid
                                     WHERE n.pnpubid = pub.oid AND c.oid = want.rel))) END
      FROM (SELECT 1) one
      LEFT JOIN pg_catalog.pg_publication pub ON pub.pubname = 'battledger_member'
      LEFT JOIN LATERAL (SELECT k.tree_size, k.at FROM @extschema@.checkpoint k ORDER BY k.tree_size DESC LIMIT 1) c ON true
      -- only cosignatures of a checkpoint this log signed (its size and
      -- root): the cosignature trigger checks the witness's signature, not
      -- that the tree was ever this member's, and a witness cosigning a
      -- made-up tree of this log must not make it look cosigned (red team
      -- r21 F1); tlog_proof() reads them the same way
      LEFT JOIN LATERAL (SELECT max(s.tree_size) AS size FROM @extschema@.cosignature s
                           JOIN @extschema@.checkpoint k
                             ON k.tree_size = s.tree_size AND k.root OPERATOR(@extschema@.=) s.root
                          WHERE s.log_origin = pg_catalog.current_setting('battledger.origin', true)
                            AND s.witness <> s.log_origin) w ON true
$$;
-- counts only, for monitoring roles; SECURITY DEFINER because it reads the
-- consortium's status and refusals, which PUBLIC cannot
REVOKE ALL ON FUNCTION @extschema@.health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.health() TO pg_monitor;
