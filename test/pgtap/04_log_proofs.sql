-- Every inclusion proof (all indexes of all tree sizes 1..64) and every
-- consistency proof (all pairs of sizes 1..64) from the C code equals an
-- independent recomputation written here from RFC 9162 section 2.1 in
-- PL/pgSQL with pgcrypto, and verifies with verify_inclusion/_consistency.
SET search_path = public, battledger;
SELECT plan(9);

CREATE TABLE proof_rows (k text, v int);
SELECT enable_ledger('proof_rows', 'k');
-- several seals of different sizes, so the tree is built across checkpoints
INSERT INTO proof_rows SELECT 'k' || (i % 5), i FROM generate_series(1, 7) i;
SELECT seal() IS NOT NULL;
INSERT INTO proof_rows SELECT 'k' || (i % 5), i FROM generate_series(8, 40) i;
SELECT seal() IS NOT NULL;
INSERT INTO proof_rows SELECT 'k' || (i % 5), i FROM generate_series(41, 70) i;
SELECT seal() IS NOT NULL;

-- leaf hashes from the leaf bytes, with pgcrypto
CREATE TEMP TABLE lh AS SELECT i, digest('\x00'::bytea || leaf(i), 'sha256') AS h
  FROM generate_series(0, 63) i;
CREATE TEMP TABLE memo (lo bigint, hi bigint, h bytea, PRIMARY KEY (lo, hi));

-- largest power of two smaller than n (n > 1)
CREATE FUNCTION pg_temp.split(n bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT (2 ^ floor(log(2, (n - 1)::numeric)))::bigint
$$;
-- MTH(D[lo:hi])
CREATE FUNCTION pg_temp.mth(lo bigint, hi bigint) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE r bytea; k bigint;
BEGIN
    SELECT h INTO r FROM memo m WHERE m.lo = mth.lo AND m.hi = mth.hi;
    IF r IS NOT NULL THEN RETURN r; END IF;
    IF hi - lo = 1 THEN
        SELECT h INTO r FROM lh WHERE i = lo;
    ELSE
        k := pg_temp.split(hi - lo);
        r := digest('\x01'::bytea || pg_temp.mth(lo, lo + k) || pg_temp.mth(lo + k, hi), 'sha256');
    END IF;
    INSERT INTO memo VALUES (lo, hi, r);
    RETURN r;
END $$;
-- PATH(m, D[lo:hi])
CREATE FUNCTION pg_temp.path(m bigint, lo bigint, hi bigint) RETURNS bytea[] LANGUAGE plpgsql AS $$
DECLARE k bigint;
BEGIN
    IF hi - lo = 1 THEN RETURN '{}'; END IF;
    k := pg_temp.split(hi - lo);
    IF m < k THEN
        RETURN pg_temp.path(m, lo, lo + k) || pg_temp.mth(lo + k, hi);
    END IF;
    RETURN pg_temp.path(m - k, lo + k, hi) || pg_temp.mth(lo, lo + k);
END $$;
-- SUBPROOF(m, D[lo:hi], b)
CREATE FUNCTION pg_temp.subproof(m bigint, lo bigint, hi bigint, b boolean) RETURNS bytea[] LANGUAGE plpgsql AS $$
DECLARE k bigint; n bigint := hi - lo;
BEGIN
    IF m = n THEN
        RETURN CASE WHEN b THEN '{}'::bytea[] ELSE ARRAY[pg_temp.mth(lo, hi)] END;
    END IF;
    k := pg_temp.split(n);
    IF m <= k THEN
        RETURN pg_temp.subproof(m, lo, lo + k, b) || pg_temp.mth(lo + k, hi);
    END IF;
    RETURN pg_temp.subproof(m - k, lo + k, hi, false) || pg_temp.mth(lo, lo + k);
END $$;

SELECT ok((SELECT count(*) FROM log_leaf) >= 64, 'the log holds at least 64 leaves');
SELECT is((SELECT count(*)::int FROM generate_series(1, 64) n WHERE tree_root(n)::bytea <> pg_temp.mth(0, n)), 0,
          'tree_root(n) equals the recomputed MTH for every n in 1..64');
SELECT is(tree_root(0)::bytea, digest('', 'sha256'), 'the empty tree''s root is SHA-256 of nothing');
SELECT is((SELECT count(*)::int FROM generate_series(1, 64) n, generate_series(0, n - 1) i
            WHERE inclusion_proof(i, n)::bytea[] IS DISTINCT FROM pg_temp.path(i, 0, n)), 0,
          'all 2080 inclusion proofs equal RFC 9162 PATH');
SELECT is((SELECT count(*)::int FROM generate_series(1, 64) n, generate_series(0, n - 1) i
            WHERE NOT verify_inclusion(leaf(i), i, n, inclusion_proof(i, n), tree_root(n))), 0,
          'all 2080 inclusion proofs verify');
SELECT is((SELECT count(*)::int FROM generate_series(1, 64) n, generate_series(1, n) m
            WHERE consistency_proof(m, n)::bytea[] IS DISTINCT FROM pg_temp.subproof(m, 0, n, true)), 0,
          'all 2080 consistency proofs equal RFC 9162 PROOF');
SELECT is((SELECT count(*)::int FROM generate_series(1, 64) n, generate_series(1, n) m
            WHERE NOT verify_consistency(m, n, tree_root(m), tree_root(n), consistency_proof(m, n))), 0,
          'all 2080 consistency proofs verify');
SELECT is((SELECT count(*)::int FROM generate_series(2, 64) n, generate_series(1, n - 1) m
            WHERE verify_consistency(m, n, tree_root(n), tree_root(m), consistency_proof(m, n))), 0,
          'no consistency proof verifies with the roots swapped');
SELECT is_empty('SELECT * FROM verify_log()', 'verify_log() finds nothing wrong');
SELECT * FROM finish();
