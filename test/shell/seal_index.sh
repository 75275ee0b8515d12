#!/usr/bin/env bash
# seal()'s bulk path inserts log_leaf's hash index entries itself, deferred
# and in bucket order (src/pg/log_bulk.c).  Two clusters get the same rows:
# "stmt" is sealed through SQL statements (seal_bulk_write = off: the
# executor maintains the index), "bulk" through the bulk path, in pieces
# (seal_checkpoint_every) and across the deferred buffer's limit (262,144
# entries).  Both logs must be byte-identical (leaves, tiles, roots, signed notes), and in
# each every leaf must be found through the index, once: a deferred entry
# lost, duplicated or pointing at another row fails here.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"

N=${SEAL_INDEX_ROWS:-300000}
bl_scratch
# one cluster each: a row's hash covers its origin, and two databases of a
# cluster may not seal under one origin
declare -A PORT=([stmt]=55810 [bulk]=55811)
for db in stmt bulk; do
  bl_start_cluster $db ${PORT[$db]} "$(bl_test_log_conf sealidx.test/log)
shared_buffers = 256MB
max_wal_size = 4GB"
done
q() { local db=$1; shift; PGPORT=${PORT[$db]} psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }
for db in stmt bulk; do
  q $db <<SQL
CREATE EXTENSION battledger;
CREATE TABLE reading (battery text, v int);
SELECT battledger.enable_ledger('reading', 'battery');
INSERT INTO reading SELECT 'B' || (i % 97), i FROM generate_series(1, 20000) i;
SQL
done
# first seal: 20,000 leaves in pieces of 7,000 (the flush before each checkpoint)
q stmt -c "SET battledger.seal_bulk_write = off" -c "SET battledger.seal_checkpoint_every = 7000" -c "SELECT battledger.seal() IS NOT NULL" >/dev/null
q bulk -c "SET battledger.seal_checkpoint_every = 7000" -c "SELECT battledger.seal() IS NOT NULL" >/dev/null
# second seal: more than the deferred buffer holds, in one piece
for db in stmt bulk; do q $db -c "INSERT INTO reading SELECT 'B' || (i % 97), i FROM generate_series(20001, 20000 + $N) i"; done
q stmt -c "SET battledger.seal_bulk_write = off" -c "SET battledger.seal_checkpoint_every = 1000000" -c "SELECT battledger.seal() IS NOT NULL" >/dev/null
q bulk -c "SET battledger.seal_checkpoint_every = 1000000" -c "SELECT battledger.seal() IS NOT NULL" >/dev/null

fail=0
for s in "SELECT md5(string_agg(leaf_index || tbl || seq || prev::text || row_hash::text || leaf_hash::text, ',' ORDER BY leaf_index)) FROM battledger.log_leaf" \
         "SELECT md5(string_agg(level || '/' || idx || '/' || width || encode(hashes, 'hex'), ',' ORDER BY level, idx, width)) FROM battledger.log_tile" \
         "SELECT md5(string_agg(level || '/' || idx || '/' || width || encode(hashes, 'hex'), ',' ORDER BY level, idx, width)) || count(*) FROM battledger.log_block" \
         "SELECT md5(string_agg(tree_size || root::text || note, ',' ORDER BY tree_size)) FROM battledger.checkpoint"; do
  a=$(q stmt -c "$s"); b=$(q bulk -c "$s")
  [ "$a" = "$b" ] || { echo "stmt and bulk logs differ: $s"; fail=1; }
done
for db in stmt bulk; do
  r=$(q $db <<'SQL'
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT 'leaves=' || count(*) FROM battledger.log_leaf;
SELECT 'found=' || count(*) FROM battledger.log_leaf l
 WHERE (SELECT count(*) FROM battledger.log_leaf x WHERE x.row_hash OPERATOR(battledger.=) l.row_hash) = 1
   AND battledger.leaf_index('reading', l.row_hash) = l.leaf_index;
SELECT 'problems=' || count(*) FROM battledger.verify_log();
SQL
)
  leaves=$(sed -n 's/^leaves=//p' <<<"$r"); found=$(sed -n 's/^found=//p' <<<"$r")
  echo "$db: $leaves leaves, $found found once through the index, $(grep problems= <<<"$r")"
  [ "$leaves" = $((20000 + N)) ] || { echo "$db: expected $((20000 + N)) leaves"; fail=1; }
  [ "$found" = "$leaves" ] || { echo "$db: $((leaves - found)) leaves not found (once) through log_leaf_row"; fail=1; }
  grep -qx 'problems=0' <<<"$r" || { echo "$db: verify_log found problems"; fail=1; }
done
# Proofs read the blocks of 16 nodes of levels 4, 8, 12, ... (log_block,
# 0.9.0); without them they recompute the nodes from the tiles and the
# leaves, as 0.8.0 did.  Both must give the same proofs and roots: 3,000
# inclusion and consistency proofs across full blocks and tiles, the right
# edges of every level, and every checkpoint.  (verify_log() above checked
# that every block is stored and is the tree's.)
r=$(q bulk <<'SQL'
CREATE TABLE probe AS
  SELECT k, i, s, battledger.inclusion_proof(i, s) AS inc, battledger.consistency_proof(i + 1, s) AS con,
         battledger.tree_root(s) AS root
    FROM (SELECT k, (k * 7919) % n AS i, (k * 7919) % n + 1 + (k * 104729) % (n - (k * 7919) % n) AS s
            FROM generate_series(1, 3000) k, (SELECT count(*) AS n FROM battledger.log_leaf) c) x;
SELECT 'stored_bad=' || count(*) FILTER (WHERE NOT battledger.verify_inclusion(battledger.leaf(i), i, s, inc, root)
                                            OR NOT battledger.verify_consistency(i + 1, s, battledger.tree_root(i + 1), root, con))
  FROM probe;
BEGIN;
SELECT string_agg(format('ALTER EVENT TRIGGER %I DISABLE', evtname), '; ') FROM pg_event_trigger WHERE evtname LIKE 'battledger%' \gset
:string_agg;
ALTER TABLE battledger.log_block RENAME TO log_block_off;
SELECT 'recomputed_differ=' || count(*) FILTER (WHERE inc IS DISTINCT FROM battledger.inclusion_proof(i, s)
                                                   OR con IS DISTINCT FROM battledger.consistency_proof(i + 1, s)
                                                   OR root::text IS DISTINCT FROM battledger.tree_root(s)::text)
  FROM probe;
ROLLBACK;
SELECT 'checkpoints_differ=' || count(*) FILTER (WHERE battledger.tree_root(tree_size)::text IS DISTINCT FROM root::text) FROM battledger.checkpoint;
SELECT 'max_size=' || max(s) || ' min_size=' || min(s) FROM probe;
SQL
)
echo "bulk: proofs from the blocks: $(tr '\n' ' ' <<<"$r")"
grep -qx 'stored_bad=0' <<<"$r" || { echo "bulk: proofs from the blocks do not verify"; fail=1; }
grep -qx 'recomputed_differ=0' <<<"$r" || { echo "bulk: proofs from the blocks differ from recomputed ones"; fail=1; }
grep -qx 'checkpoints_differ=0' <<<"$r" || { echo "bulk: tree_root() differs from a signed checkpoint's root"; fail=1; }
# the lookup really reads the index
plan=$(q bulk -c "SET enable_seqscan = off" -c "EXPLAIN SELECT leaf_index FROM battledger.log_leaf WHERE row_hash OPERATOR(battledger.=) (SELECT row_hash FROM battledger.log_leaf WHERE leaf_index = 5)")
grep -q 'log_leaf_row' <<<"$plan" || { echo "the lookup does not use log_leaf_row:"; echo "$plan"; fail=1; }
[ $fail = 0 ] && echo "seal_index: PASS" || { echo "seal_index: FAIL"; exit 1; }
