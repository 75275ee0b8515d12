-----------------------------------------------------------------------------
-- Which origin added a contested member first, by the witnesses (0.24.0).
-- host_pin records the adding row each database saw first; at a member
-- that joined after the contest its copies brought both rows in no order
-- ("unsettled"), and honest members racing disagree.  The rows' own "at" is
-- their writers' word.  What no origin can write alone is a witness's
-- cosignature: a witness that cosigned an origin's log before a row was in
-- it, and again after, saw the row appear between the two (in its clock,
-- signed).  settle_member_host() asks every witness that is neither
-- contestant which adding row it saw in a log first, and pins the member
-- to the origin a majority names; the database's own witness counts, with
-- the same rule (at a joiner it cosigned both logs only after both rows
-- were there: it saw no row appear, and has no say).
-----------------------------------------------------------------------------
-- the leaves of member_event rows in the other members' logs, found by
-- position: a few rows among every leaf of every member
CREATE INDEX peer_leaf_member_event ON @extschema@.peer_leaf (origin, seq)
    WHERE tbl = 'battledger.member_event';

-- _host_witness_votes(member text): one row per adding origin, with the
-- leaf of its first row adding the member (NULL: not in a log here yet) and
-- the witnesses that saw it in its log before every other adding row
-- appeared in theirs.  A witness w votes for origin O when, for every
-- other adding origin O', w's first cosignature of O's log covering O's
-- row is older than w's last cosignature of O''s log not covering O''s
-- row: O's row was in a log while O''s was not yet.  Strictly older (the
-- cosignatures carry whole seconds): a tie says nothing.  A witness's
-- first and last by tree size (each witness cosigns a log's growing
-- trees in its time order; one that does not confuses its own vote only).
CREATE FUNCTION @extschema@._host_witness_votes(member text,
        OUT origin text, OUT leaf_index bigint, OUT witnesses text[])
    RETURNS SETOF record
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH adds AS (
        SELECT DISTINCT ON (e.ledger_origin) e.ledger_origin AS origin, e.ledger_seq, e.ledger_hash
          FROM @extschema@.member_event e
         WHERE e.member = _host_witness_votes.member AND e.event = 'added'
         ORDER BY e.ledger_origin, e.ledger_seq),
    leaves AS (
        SELECT a.origin,
               CASE WHEN a.origin = @extschema@._origin()
                    THEN (SELECT l.leaf_index FROM @extschema@.log_leaf l
                           WHERE l.row_hash OPERATOR(@extschema@.=) a.ledger_hash ORDER BY l.leaf_index LIMIT 1)
                    ELSE (SELECT p.leaf_index FROM @extschema@.peer_leaf p
                           WHERE p.origin = a.origin AND p.tbl = 'battledger.member_event' AND p.seq = a.ledger_seq
                             AND p.row_hash OPERATOR(@extschema@.=) a.ledger_hash ORDER BY p.leaf_index LIMIT 1) END AS leaf
          FROM adds a),
    wits AS (
        SELECT DISTINCT c.witness FROM @extschema@.cosignature c
         WHERE c.log_origin IN (SELECT a.origin FROM adds a)
           AND c.witness NOT IN (SELECT a.origin FROM adds a)),
    seen AS (
        SELECT w.witness, l.origin,
               (SELECT c.cosigned_at FROM @extschema@.cosignature c
                 WHERE c.log_origin = l.origin AND c.witness = w.witness AND c.tree_size > l.leaf
                 ORDER BY c.tree_size LIMIT 1) AS first_covering,
               (SELECT c.cosigned_at FROM @extschema@.cosignature c
                 WHERE c.log_origin = l.origin AND c.witness = w.witness AND c.tree_size <= l.leaf
                 ORDER BY c.tree_size DESC LIMIT 1) AS last_before
          FROM wits w CROSS JOIN leaves l)
    SELECT l.origin, l.leaf,
           coalesce((SELECT array_agg(s.witness ORDER BY s.witness) FROM seen s
                      WHERE s.origin = l.origin AND s.first_covering IS NOT NULL
                        AND NOT EXISTS (SELECT FROM seen x
                                         WHERE x.witness = s.witness AND x.origin <> s.origin
                                           AND (x.last_before IS NULL OR s.first_covering >= x.last_before))),
                    '{}')
      FROM leaves l
     ORDER BY l.origin
$$;

-- settle_member_host(member text) RETURNS text: pin a member two origins
-- added to the origin the witnesses saw add it first (host_pin "witnessed"),
-- and return that origin; refused, with each origin's witnesses, where no
-- majority of the witnesses that have a say names one.  Run it on every
-- member: each reads the same cosignatures (they are replicated) and comes
-- to the same origin once they have arrived.
CREATE FUNCTION @extschema@.settle_member_host(member text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n_origins int;
    voters int;
    best record;
    said text;
BEGIN
    SELECT count(*), sum(cardinality(v.witnesses)) INTO n_origins, voters
      FROM @extschema@._host_witness_votes(member) v;
    IF n_origins < 2 THEN
        RAISE EXCEPTION 'member "%" is not contested here', member USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('%s origin(s) added it.', n_origins),
            HINT = 'settle_member_host() settles a member that two origins added (registry_conflicts(): member_hosting_contested).';
    END IF;
    SELECT v.origin, cardinality(v.witnesses) AS votes INTO best
      FROM @extschema@._host_witness_votes(member) v ORDER BY cardinality(v.witnesses) DESC, v.origin LIMIT 1;
    IF best.votes = 0 OR 2 * best.votes <= voters THEN
        SELECT string_agg(format('"%s" (leaf %s): %s', v.origin, coalesce(v.leaf_index::text, 'not in a log here'),
                                 CASE WHEN cardinality(v.witnesses) = 0 THEN 'no witness'
                                      ELSE array_to_string(v.witnesses, ', ') END), '; ')
          INTO said FROM @extschema@._host_witness_votes(member) v;
        RAISE EXCEPTION 'the witnesses do not say which origin added member "%" first', member
            USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = format('Witnesses that saw each adding row in a log before the others: %s.', said),
            HINT = 'A witness has a say once it cosigned both logs before and after the rows appeared; wait for the cosignatures to arrive, or pin the member as the consortium agrees: battledger.pin_member_host(member, origin).';
    END IF;
    INSERT INTO @extschema@.host_pin (member, origin, how) VALUES (member, best.origin, 'witnessed')
        ON CONFLICT ON CONSTRAINT host_pin_pkey
        DO UPDATE SET origin = EXCLUDED.origin, how = 'witnessed', pinned_at = now();
    RETURN best.origin;
END $$;
REVOKE ALL ON FUNCTION @extschema@._host_witness_votes(text), @extschema@.settle_member_host(text) FROM PUBLIC;
