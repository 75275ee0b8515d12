-- The transparency log: seal(), checkpoints, proofs, verify_log(), bad input.
-- The regress cluster runs with battledger.origin = 'battledger.test/regress'
-- and the committed TEST-ONLY key (test/data).
\set SHOW_CONTEXT never
SET search_path = public, battledger;

-- everything the earlier tests inserted is queued; sealing integrates it
SELECT count(*) > 0 AS rows_queued FROM log_pending;
CREATE TEMP TABLE cp1 AS SELECT seal() AS note;
SELECT count(*) AS still_queued FROM log_pending;
SELECT (SELECT count(*) FROM log_leaf) = (SELECT max(tree_size) FROM checkpoint) AS all_sealed;

-- the checkpoint is a C2SP signed note: origin, size, base64 root, blank line, signature
SELECT split_part(note, E'\n', 1) AS origin,
       split_part(note, E'\n', 2)::bigint = (SELECT count(*) FROM log_leaf) AS size_ok,
       split_part(note, E'\n', 3) = encode(tree_root((SELECT count(*) FROM log_leaf))::bytea, 'base64') AS root_ok,
       split_part(note, E'\n', 4) = '' AS blank_line,
       split_part(note, E'\n', 5) LIKE '— battledger.test/regress %' AS signature_line
  FROM cp1;
SELECT checkpoint() = (SELECT note FROM cp1) AS latest_is_returned;
SELECT log_vkey() LIKE 'battledger.test/regress+%+%' AS vkey_shape;
-- nothing new: seal() returns the same checkpoint and stores no new one
SELECT seal() = (SELECT note FROM cp1) AS unchanged, count(*) AS checkpoints FROM checkpoint;

-- a new table, more rows, a second checkpoint
CREATE TABLE recycling_output (lot text, material text, mass_kg numeric);
SELECT enable_ledger('recycling_output', 'lot');
INSERT INTO recycling_output VALUES ('R1', 'cobalt', 12.5), ('R1', 'nickel', 40.1), ('R1', 'lithium', 3.2),
                                    ('R2', 'cobalt', 11.0), ('R2', 'copper', 20.4);
CREATE TEMP TABLE sizes AS SELECT (SELECT tree_size FROM checkpoint ORDER BY 1 LIMIT 1) AS s1;
SELECT seal() IS NOT NULL AS sealed_again;
UPDATE sizes SET s1 = s1;  -- (temp table, not a ledger)
SELECT (SELECT max(tree_size) FROM checkpoint) - s1 AS new_leaves FROM sizes;

-- leaves: bytes bind table, position, link and row hash; leaf hash = SHA-256(0x00 || leaf)
SELECT encode(substr(leaf(l.leaf_index), 1, 4), 'escape') AS magic,
       convert_from(substr(leaf(l.leaf_index), 7, get_byte(leaf(l.leaf_index), 5)), 'UTF8') AS tbl,
       sha256('\x00'::bytea || leaf(l.leaf_index))::hash256 = l.leaf_hash AS leaf_hash_ok,
       l.row_hash = r.ledger_hash AS row_bound
  FROM log_leaf l JOIN recycling_output r ON l.tbl = 'public.recycling_output' AND r.ledger_hash = l.row_hash
 ORDER BY l.leaf_index LIMIT 2;
SELECT leaf_index(r.tableoid::regclass, r.ledger_hash) IS NOT NULL AS found_by_row,
       leaf_index('battery_event', r.ledger_hash) IS NULL AS not_in_other_table
  FROM recycling_output r WHERE lot = 'R2' AND ledger_seq = 2;

-- every leaf's inclusion proof verifies against the latest root; a wrong leaf does not
SELECT count(*) FILTER (WHERE NOT verify_inclusion(leaf(i), i, n, inclusion_proof(i), tree_root(n))) AS bad_proofs,
       count(*) FILTER (WHERE verify_inclusion(leaf((i + 1) % n), i, n, inclusion_proof(i), tree_root(n))) AS wrong_leaf_accepted
  FROM (SELECT max(tree_size) AS n FROM checkpoint) c, generate_series(0, n - 1) i;
-- the second checkpoint extends the first
SELECT verify_consistency(s1, n, tree_root(s1), tree_root(n), consistency_proof(s1, n)) AS consistent,
       verify_consistency(s1, n, tree_root(s1), tree_root(n - 1), consistency_proof(s1, n)) AS wrong_root_accepted
  FROM sizes, (SELECT max(tree_size) AS n FROM checkpoint) c;

-- a tlog-proof@v1 bundle: header, index, proof lines, blank line, the checkpoint note
SELECT split_part(p, E'\n', 1) AS header, split_part(p, E'\n', 2) AS index_line,
       right(p, length(checkpoint())) = checkpoint() AS ends_with_checkpoint
  FROM tlog_proof(3) p;
SELECT tlog_proof(r.tableoid::regclass, r.ledger_hash) = tlog_proof(leaf_index(r.tableoid::regclass, r.ledger_hash)) AS by_row
  FROM recycling_output r WHERE lot = 'R1' AND ledger_seq = 1;

-- bad input: clear errors, never a crash (terse: the limits depend on the earlier tests' rows)
\set VERBOSITY terse
SELECT inclusion_proof(-1);
SELECT inclusion_proof(0, 0);
SELECT inclusion_proof(100000);
SELECT inclusion_proof(1, 1000000);
SELECT inclusion_proof(NULL);
SELECT consistency_proof(0, 1);
SELECT consistency_proof(3, 2);
SELECT consistency_proof(1, 1000000);
SELECT leaf(-1);
SELECT tree_root(-1);
SELECT tlog_proof(1000000);
\set VERBOSITY default
SELECT verify_inclusion('\x00', -1, 1, '{}', repeat('0', 64)::hash256) AS negative_index;
SELECT verify_inclusion('\x00', 0, 1, '{}', sha256('\x0000')::hash256) AS one_leaf_tree;
SELECT verify_consistency(0, 1, repeat('0', 64)::hash256, repeat('0', 64)::hash256, '{}') AS from_zero;
SELECT verify_inclusion('\x00', 0, 2, ARRAY[NULL]::hash256[], repeat('0', 64)::hash256);
SELECT verify_inclusion('\x00', 0, 2, array_fill(repeat('0', 64)::hash256, ARRAY[65]), repeat('0', 64)::hash256);
BEGIN;
SELECT seal();
ROLLBACK;
SET default_transaction_isolation = 'repeatable read';
SELECT seal();
RESET default_transaction_isolation;
SET battledger.log_key_file = '';
SELECT seal();
SET battledger.log_key_file = '/nonexistent/log.key';
SELECT seal();
RESET battledger.log_key_file;
SET battledger.origin = 'has space';
SELECT seal();
RESET battledger.origin;

-- the log is intact (including after the earlier ON CONFLICT DO NOTHING skip)
SELECT * FROM verify_log();
SELECT count(*) AS leaves_without_row FROM log_leaf l
 WHERE l.tbl = 'public.battery_event'
   AND NOT EXISTS (SELECT 1 FROM battery_event e WHERE e.ledger_hash OPERATOR(battledger.=) l.row_hash);

-- tampering done by a superuser behind the log's back is reported
-- (nodes below tree level 8 are recomputed from log_leaf's leaf hashes;
-- tiles are tampered with at the end of this file)
BEGIN;
ALTER TABLE log_leaf DISABLE TRIGGER battledger_append_only;
UPDATE log_leaf SET leaf_hash = repeat('0', 64)::hash256 WHERE leaf_index = 0;
SELECT problem, ref FROM verify_log(false) WHERE problem <> 'checkpoint_root_mismatch';
ROLLBACK;
-- seal() re-derives the last root from the stored leaves and tiles it resumes from,
-- and refuses to extend a tree that no longer matches what it signed
-- (tampering committed this time, since seal() runs as its own transaction)
ALTER TABLE log_leaf DISABLE TRIGGER battledger_append_only;
CREATE TEMP TABLE saved_leaf AS SELECT * FROM log_leaf ORDER BY leaf_index DESC LIMIT 1;
UPDATE log_leaf n SET leaf_hash = repeat('0', 64)::hash256 FROM saved_leaf s WHERE n.leaf_index = s.leaf_index;
INSERT INTO recycling_output VALUES ('R3', 'aluminium', 5);
SELECT seal();
UPDATE log_leaf n SET leaf_hash = s.leaf_hash FROM saved_leaf s WHERE n.leaf_index = s.leaf_index;
ALTER TABLE log_leaf ENABLE ALWAYS TRIGGER battledger_append_only;
SELECT seal() IS NOT NULL AS sealed_after_repair;
BEGIN;
ALTER TABLE log_leaf DISABLE TRIGGER battledger_append_only;
UPDATE log_leaf SET seq = seq + 1 WHERE leaf_index = 2;
SELECT problem, count(*), min(ref) FILTER (WHERE problem = 'leaf_hash_mismatch') AS leaf
  FROM verify_log(false) GROUP BY problem ORDER BY problem;
ROLLBACK;
BEGIN;
ALTER TABLE checkpoint DISABLE TRIGGER battledger_append_only;
UPDATE checkpoint SET note = replace(note, E'\n\n— ', E'\n\n— x') WHERE tree_size = (SELECT min(tree_size) FROM checkpoint);
SELECT problem FROM verify_log(false);
ROLLBACK;
BEGIN;
-- a sealed row rewritten with its chain recomputed: verify() is fooled, the log is not
ALTER EVENT TRIGGER battledger_ddl_guard DISABLE;
ALTER TABLE recycling_output DISABLE TRIGGER USER;
UPDATE recycling_output SET mass_kg = 99 WHERE lot = 'R2' AND ledger_seq = 2;
UPDATE recycling_output r SET ledger_hash = chain_hash(ledger_prev, ledger_seq, row_bytes(r)) WHERE lot = 'R2' AND ledger_seq = 2;
SELECT count(*) AS verify_problems FROM verify('recycling_output');
SELECT problem FROM verify_log();
ROLLBACK;
-- the append-only guard also covers the log's own tables
DELETE FROM log_leaf;
UPDATE checkpoint SET note = '';
-- an auditor checks the signatures with the published verifier key alone
-- (no key file): clean, and a tampered note is caught
SELECT log_vkey() AS published_vkey \gset
BEGIN;
SET LOCAL battledger.log_key_file = '';
SELECT problem FROM verify_log(false);
SELECT count(*) AS problems_with_published_key FROM verify_log(false, :'published_vkey');
ALTER TABLE checkpoint DISABLE TRIGGER battledger_append_only;
UPDATE checkpoint SET note = replace(note, E'\n\n— ', E'\n\n— x') WHERE tree_size = (SELECT min(tree_size) FROM checkpoint);
SELECT problem FROM verify_log(false, :'published_vkey');
ROLLBACK;
SELECT * FROM verify_log(false, 'not a vkey');
-- after a rotation, the log's keys oldest first, one per line; they name one log
SELECT count(*) AS problems_with_the_key_and_a_blank_line FROM verify_log(false, :'published_vkey' || E'\n\n');
SELECT * FROM verify_log(false, :'published_vkey' || E'\n' || :'published_vkey' || E'\n');
BEGIN;
SET LOCAL battledger.origin = 'other.example/log';
SELECT log_vkey() AS other_log_vkey \gset
ROLLBACK;
SELECT * FROM verify_log(false, :'published_vkey' || E'\n' || :'other_log_vkey');
SELECT * FROM verify_log(false, E'\n\n');
-- long work reports its progress (battledger.progress_interval; 0: every step)
SET battledger.progress_interval = 0;
\set VERBOSITY terse
INSERT INTO recycling_output (lot, mass_kg) SELECT 'P' || i, i FROM generate_series(1, 3) i;
SELECT battledger.seal() IS NOT NULL AS sealed;
\set VERBOSITY default
RESET battledger.progress_interval;
-- no query of the extension can be captured by a user's column named like
-- one of its aliases (issue 12): a ledger table with such columns seals and
-- verifies
CREATE TABLE aliased (t timestamptz, l text, p int, r text, s text, k text, b text, e text, m text, x text);
SELECT enable_ledger('aliased', 'k');
INSERT INTO aliased VALUES ('2024-01-01 00:00+00', 'l', 1, 'r', 's', 'k1', 'b', 'e', 'm', 'x');
SELECT battledger.seal() IS NOT NULL AS sealed;
SELECT count(*) AS problems FROM verify('aliased');
SELECT count(*) AS log_problems FROM verify_log(true) WHERE detail LIKE '%aliased%';
-- seal() writes in bulk, or through statements when a trigger on the log's
-- tables would fire (or with battledger.seal_bulk_write off): the same tree
CREATE TABLE public.leaf_seen (leaf_index bigint);
CREATE FUNCTION note_leaf() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.leaf_seen VALUES (NEW.leaf_index); RETURN NEW; END $$;
CREATE TRIGGER zz_note_leaf BEFORE INSERT ON log_leaf FOR EACH ROW EXECUTE FUNCTION note_leaf();
INSERT INTO aliased (t, k) SELECT '2024-01-02 00:00+00', 'k' || i FROM generate_series(1, 5) i;
SELECT battledger.seal() IS NOT NULL AS sealed_through_statements;
SELECT count(*) AS leaves_the_trigger_saw FROM leaf_seen;
DROP TRIGGER zz_note_leaf ON log_leaf;
INSERT INTO aliased (t, k) SELECT '2024-01-03 00:00+00', 'k' || i FROM generate_series(1, 5) i;
SELECT battledger.seal() IS NOT NULL AS sealed_in_bulk;
SET battledger.seal_bulk_write = off;
INSERT INTO aliased (t, k) SELECT '2024-01-04 00:00+00', 'k' || i FROM generate_series(1, 5) i;
SELECT battledger.seal() IS NOT NULL AS sealed_with_statements_forced;
RESET battledger.seal_bulk_write;
SELECT count(*) AS leaves_the_trigger_saw_after_drop FROM leaf_seen;
SELECT (SELECT count(*) FROM log_leaf) = (SELECT max(tree_size) FROM checkpoint) AS every_leaf_checkpointed,
       tree_root((SELECT max(tree_size) FROM checkpoint)) OPERATOR(battledger.=)
         (SELECT root FROM checkpoint ORDER BY tree_size DESC LIMIT 1) AS root_matches;
SELECT count(*) AS log_problems FROM verify_log(true);
-- verify_log() reads the log by heap scans: a gap in the leaves is still found
BEGIN;
ALTER TABLE log_leaf DISABLE TRIGGER battledger_append_only;
DELETE FROM log_leaf WHERE leaf_index IN (3, 4);
SELECT problem, ref, detail FROM verify_log(false) WHERE problem IN ('missing_leaves', 'leaf_hash_mismatch');
ROLLBACK;

-- Tiles (docs/design.md, "The tiled layout"): tile (level, idx) holds the
-- hashes of tree level 8 * level; a partial right edge grows by wider rows.
-- Seal 600 more leaves (tile (1, 0) grows by 2 hashes) in two seals, the
-- second through the statements, so that the edge row of the first is
-- superseded and both write paths store tiles.
INSERT INTO aliased (t, k) SELECT '2024-01-05 00:00+00', 'tile' || i FROM generate_series(1, 300) i;
SELECT battledger.seal() IS NOT NULL AS sealed_in_bulk;
SET battledger.seal_bulk_write = off;
INSERT INTO aliased (t, k) SELECT '2024-01-06 00:00+00', 'tile' || i FROM generate_series(1, 300) i;
SELECT battledger.seal() IS NOT NULL AS sealed_with_statements;
RESET battledger.seal_bulk_write;
SELECT level, idx, width = (SELECT count(*) FROM log_leaf) / 256 AS is_right_edge, octet_length(hashes) = 32 * width AS whole_hashes
  FROM log_tile ORDER BY level, idx, width;
SELECT count(*) AS leaves FROM log_leaf;
-- every leaf's proof at every checkpoint verifies against the root signed in the checkpoint
SELECT count(*) AS proofs, count(*) FILTER (WHERE NOT verify_inclusion(leaf(l.leaf_index), l.leaf_index, c.tree_size,
                                                   inclusion_proof(l.leaf_index, c.tree_size), c.root)) AS bad_proofs
  FROM log_leaf l JOIN checkpoint c ON l.leaf_index < c.tree_size;
SELECT count(*) AS consistency, count(*) FILTER (WHERE NOT verify_consistency(a.tree_size, b.tree_size, a.root, b.root,
                                                        consistency_proof(a.tree_size, b.tree_size))) AS bad
  FROM checkpoint a JOIN checkpoint b ON a.tree_size <= b.tree_size;
SELECT count(*) AS log_problems FROM verify_log(false);
-- the proofs read tiles and leaves by index scans in C, through the primary
-- keys; without those keys they read them by query: both give the same proofs
-- and roots
CREATE TEMP TABLE direct_read AS
  SELECT l.leaf_index, c.tree_size, inclusion_proof(l.leaf_index, c.tree_size) AS proof, tree_root(c.tree_size) AS root
    FROM log_leaf l JOIN checkpoint c ON l.leaf_index < c.tree_size;
BEGIN;
SELECT string_agg(format('ALTER EVENT TRIGGER %I DISABLE', evtname), '; ') AS guards FROM pg_event_trigger WHERE evtname LIKE 'battledger%' \gset
:guards;
ALTER TABLE log_tile DROP CONSTRAINT log_tile_pkey;
ALTER TABLE log_leaf DROP CONSTRAINT log_leaf_pkey;
SELECT count(*) AS proofs_by_query,
       count(*) FILTER (WHERE d.proof IS DISTINCT FROM inclusion_proof(d.leaf_index, d.tree_size)
                           OR d.root::text IS DISTINCT FROM tree_root(d.tree_size)::text) AS differ
  FROM direct_read d;
ROLLBACK;
-- the index scans do not pass row security by: a plain role under a policy
-- on the tiles is refused, as the query would be (battledger reads with
-- row_security off: a proof from rows a policy hid would be wrong); the
-- same for the blocks (0.9.0), which proofs read first
CREATE ROLE log_reader;
BEGIN;
ALTER TABLE log_tile ENABLE ROW LEVEL SECURITY;
CREATE POLICY every_tile ON log_tile FOR SELECT USING (true);
ALTER TABLE log_block RENAME TO log_block_off;
SET LOCAL ROLE log_reader;
SELECT battledger.tree_root((SELECT max(tree_size) FROM checkpoint));
ROLLBACK;
BEGIN;
ALTER TABLE log_block ENABLE ROW LEVEL SECURITY;
CREATE POLICY every_block ON log_block FOR SELECT USING (true);
SET LOCAL ROLE log_reader;
SELECT battledger.tree_root((SELECT max(tree_size) FROM checkpoint));
ROLLBACK;
DROP ROLE log_reader;
-- a rewritten, a deleted and an extra tile are named
CREATE TEMP VIEW edge_tile AS SELECT * FROM log_tile WHERE level = 1 ORDER BY width DESC LIMIT 1;
BEGIN;
ALTER TABLE log_tile DISABLE TRIGGER battledger_append_only;
UPDATE log_tile t SET hashes = overlay(t.hashes PLACING '\x00'::bytea FROM 40)
  FROM edge_tile e WHERE (t.level, t.idx, t.width) = (e.level, e.idx, e.width);
SELECT problem, ref, detail ~ '^Tile \(level 1, index 0, width \d+\) holds hashes that are not the tree''s\.$' AS detail_ok
  FROM verify_log(false) WHERE problem NOT LIKE 'checkpoint%';
-- the proofs that need it no longer verify when they read the tiles (the
-- blocks renamed away); since 0.9.0 they read the blocks, and verify
SELECT count(*) FILTER (WHERE NOT verify_inclusion(leaf(l.leaf_index), l.leaf_index, c.tree_size,
                                 inclusion_proof(l.leaf_index, c.tree_size), c.root)) > 0 AS some_proofs_fail
  FROM log_leaf l, (SELECT * FROM checkpoint ORDER BY tree_size DESC LIMIT 1) c;
SELECT string_agg(format('ALTER EVENT TRIGGER %I DISABLE', evtname), '; ') AS guards FROM pg_event_trigger WHERE evtname LIKE 'battledger%' \gset
:guards;
ALTER TABLE log_block RENAME TO log_block_off;
SELECT count(*) FILTER (WHERE NOT verify_inclusion(leaf(l.leaf_index), l.leaf_index, c.tree_size,
                                 inclusion_proof(l.leaf_index, c.tree_size), c.root)) > 0 AS some_proofs_fail_from_tiles
  FROM log_leaf l, (SELECT * FROM checkpoint ORDER BY tree_size DESC LIMIT 1) c;
ROLLBACK;
-- blocks (0.9.0): the tree's nodes of levels 4, 8, ..., 16 a row (fewer at
-- each level's right edge, stored again wider as it grows), which proofs read
-- instead of tiles and leaves.  Every full block and each edge is stored; one
-- rewritten is named (block_mismatch) and the proofs through it fail, and
-- seal() still signs a tree that extends the last (it reads no block); one
-- deleted is named (missing_blocks) and the proofs read tiles and leaves; a
-- row ahead of the tree is named (extra_block) and seal() refuses to write
-- over it
CREATE TEMP VIEW block_shape AS
  SELECT b.level, count(*) FILTER (WHERE b.width = 16) AS full_rows, (SELECT count(*) FROM log_leaf) >> b.level >> 4 AS expected_full,
         max(b.width) FILTER (WHERE b.idx = (SELECT count(*) FROM log_leaf) >> b.level >> 4) AS edge_width,
         ((SELECT count(*) FROM log_leaf) >> b.level) % 16 AS expected_edge,
         count(*) FILTER (WHERE octet_length(b.hashes) <> 32 * b.width) AS not_whole
    FROM log_block b GROUP BY b.level ORDER BY b.level;
SELECT * FROM block_shape;
SELECT count(*) AS log_problems FROM verify_log(false);
BEGIN;
ALTER TABLE log_block DISABLE TRIGGER battledger_append_only;
UPDATE log_block SET hashes = overlay(hashes PLACING '\x00'::bytea FROM 100) WHERE level = 4 AND idx = 1 AND width = 16;
SELECT problem, ref, detail FROM verify_log(false);
SELECT count(*) FILTER (WHERE NOT verify_inclusion(leaf(l.leaf_index), l.leaf_index, c.tree_size,
                                 inclusion_proof(l.leaf_index, c.tree_size), c.root)) AS bad_proofs
  FROM log_leaf l, (SELECT * FROM checkpoint ORDER BY tree_size DESC LIMIT 1) c;
ROLLBACK;
BEGIN;
ALTER TABLE log_block DISABLE TRIGGER battledger_append_only;
DELETE FROM log_block WHERE (level = 4 AND idx IN (0, 2)) OR level = 8;
SELECT problem, ref, detail FROM verify_log(false);
SELECT count(*) AS proofs, count(*) FILTER (WHERE NOT verify_inclusion(leaf(l.leaf_index), l.leaf_index, c.tree_size,
                                                   inclusion_proof(l.leaf_index, c.tree_size), c.root)) AS bad_proofs
  FROM log_leaf l, (SELECT * FROM checkpoint ORDER BY tree_size DESC LIMIT 1) c;
ROLLBACK;
-- a rewritten edge block: named; seal() recomputes the edge from the leaves
ALTER TABLE log_block DISABLE TRIGGER battledger_append_only;
CREATE TEMP TABLE saved_block AS SELECT * FROM log_block WHERE level = 4 ORDER BY idx DESC, width DESC LIMIT 1;
UPDATE log_block b SET hashes = overlay(b.hashes PLACING '\x00'::bytea FROM 2)
  FROM saved_block s WHERE (b.level, b.idx, b.width) = (s.level, s.idx, s.width);
SELECT problem, ref, detail FROM verify_log(false);
INSERT INTO aliased (t, k) SELECT '2024-01-07 00:00+00', 'block' || i FROM generate_series(1, 40) i;
SELECT seal() IS NOT NULL AS sealed_past_bad_block;
SELECT count(*) FILTER (WHERE NOT verify_inclusion(leaf(l.leaf_index), l.leaf_index, c.tree_size,
                                 inclusion_proof(l.leaf_index, c.tree_size), c.root)) AS new_tree_bad_proofs
  FROM log_leaf l, (SELECT * FROM checkpoint ORDER BY tree_size DESC LIMIT 1) c;
SELECT problem, ref, detail FROM verify_log(false);
UPDATE log_block b SET hashes = s.hashes FROM saved_block s WHERE (b.level, b.idx, b.width) = (s.level, s.idx, s.width);
ALTER TABLE log_block ENABLE ALWAYS TRIGGER battledger_append_only;
SELECT count(*) AS log_problems FROM verify_log(false);
-- a row ahead of the tree
INSERT INTO log_block SELECT 4, ((SELECT count(*) FROM log_leaf) >> 8) + 1, 16, hashes FROM log_block WHERE level = 4 AND idx = 0 AND width = 16;
SELECT problem, ref, detail FROM verify_log(false);
INSERT INTO aliased (t, k) SELECT '2024-01-08 00:00+00', 'block' || i FROM generate_series(1, 300) i;
SELECT seal();
ALTER TABLE log_block DISABLE TRIGGER battledger_append_only;
DELETE FROM log_block WHERE level = 4 AND idx = ((SELECT count(*) FROM log_leaf) >> 8) + 1;
ALTER TABLE log_block ENABLE ALWAYS TRIGGER battledger_append_only;
SELECT seal() IS NOT NULL AS sealed_after_repair;
SELECT * FROM block_shape;
SELECT count(*) AS log_problems FROM verify_log(false);
BEGIN;
ALTER TABLE log_tile DISABLE TRIGGER battledger_append_only;
DELETE FROM log_tile t USING edge_tile e WHERE (t.level, t.idx, t.width) = (e.level, e.idx, e.width);
SELECT problem, ref, detail FROM verify_log(false);
-- the root comes from the blocks since 0.9.0; from the tiles, it is missing
SELECT tree_root((SELECT max(tree_size) FROM checkpoint)) IS NOT NULL AS root_from_blocks;
SELECT string_agg(format('ALTER EVENT TRIGGER %I DISABLE', evtname), '; ') AS guards FROM pg_event_trigger WHERE evtname LIKE 'battledger%' \gset
:guards;
ALTER TABLE log_block RENAME TO log_block_off;
SELECT tree_root((SELECT max(tree_size) FROM checkpoint));
ROLLBACK;
BEGIN;
INSERT INTO log_tile VALUES (1, 0, 200, decode(repeat('00', 6400), 'hex')), (2, 0, 1, decode(repeat('00', 32), 'hex')),
                            (1, 0, 1, '\x00'), (0, 0, 1, decode(repeat('00', 32), 'hex'));
SELECT problem, ref, detail FROM verify_log(false);
ROLLBACK;
-- seal() refuses to extend a tree whose stored right edge no longer gives the signed root
ALTER TABLE log_tile DISABLE TRIGGER battledger_append_only;
CREATE TEMP TABLE saved_tile AS SELECT * FROM edge_tile;
UPDATE log_tile t SET hashes = overlay(t.hashes PLACING '\x00'::bytea FROM 40)
  FROM saved_tile e WHERE (t.level, t.idx, t.width) = (e.level, e.idx, e.width);
INSERT INTO aliased (t, k) VALUES ('2024-01-07 00:00+00', 'after');
SELECT seal();
UPDATE log_tile t SET hashes = s.hashes FROM saved_tile s WHERE t.level = s.level AND t.idx = s.idx AND t.width = s.width;
ALTER TABLE log_tile ENABLE ALWAYS TRIGGER battledger_append_only;
SELECT seal() IS NOT NULL AS sealed_after_repair;
SELECT count(*) AS log_problems FROM verify_log(true);
-- the guard: no UPDATE, DELETE or TRUNCATE on the tiles
DELETE FROM log_tile;
TRUNCATE log_tile;
-- verify_log(true) sizes its (seq, row hash) set from the table's row estimate:
-- a table analyzed while empty (estimate 0) whose 5,000 queued rows then grow
-- the set many times over must still find every row queued, and miss exactly
-- the one whose queue entry is gone
BEGIN;
CREATE TABLE grown (n int, note text);
SELECT enable_ledger('grown') IS NOT NULL AS enabled;
ANALYZE grown;
SELECT reltuples, relpages FROM pg_class WHERE oid = 'grown'::regclass;
INSERT INTO grown SELECT i, 'row ' || i FROM generate_series(1, 5000) AS i;
SELECT count(*) AS queued FROM log_pending WHERE tbl = 'public.grown';
SELECT count(*) AS log_problems FROM verify_log(true);
DELETE FROM log_pending WHERE tbl = 'public.grown' AND seq = 4321;
SELECT problem, ref FROM verify_log(true);
ROLLBACK;
