/*
 * merkle.h — RFC 6962 / RFC 9162 (section 2.1) Merkle tree math.
 *
 * Pure code (no PostgreSQL headers, no I/O): hashing, proof verification,
 * proof generation from stored subtree hashes, and the "compact range" used
 * to append leaves when a batch is sealed.
 *
 * Storage model.  The database keeps, for every level L >= 0 and index i,
 * the hash of the perfect subtree covering leaves [i*2^L, (i+1)*2^L) once
 * that subtree is complete (level 0 = leaf hashes).  Every RFC 6962 subtree
 * used by a proof or a root is a left-aligned range that splits into at most
 * one perfect subtree per level, so any root or proof needs O(log n) stored
 * nodes.  The *_nodes functions list those nodes so that the caller can fetch
 * them in one query, then run the generator with a lookup callback.
 *
 * Return conventions: verifiers return 1 (proof holds) or 0 (reject);
 * everything else returns 0 on success and -1 on bad arguments or when
 * hashing / the node callback fails.
 */
#ifndef BATTLEDGER_MERKLE_H
#define BATTLEDGER_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

/* BL_HASH_LEN (sha256.h); the old name is kept for src/pg/log.c */
#define BL_MERKLE_HASH_LEN BL_HASH_LEN

/*
 * Longest proof produced or accepted by the generators.  Tree sizes below
 * 2^63 never need more (a consistency proof can be one longer than the tree
 * depth); larger trees are refused by the generators.
 */
#define BL_MERKLE_MAX_PROOF 64

/* Upper bound of the nodes a *_nodes function lists (arrays' capacity). */
#define BL_MERKLE_MAX_NODES 130

/* Hashes (RFC 6962 2.1): leaf = H(0x00 || data), node = H(0x01 || l || r). */
int			bl_merkle_leaf_hash(const void *data, size_t len,
								uint8_t out[BL_HASH_LEN]);
int			bl_merkle_node_hash(const uint8_t left[BL_HASH_LEN],
								const uint8_t right[BL_HASH_LEN],
								uint8_t out[BL_HASH_LEN]);

/* The empty tree's root, SHA-256 of the empty string. */
int			bl_merkle_empty_root(uint8_t out[BL_HASH_LEN]);

/* RFC 9162 2.1.3.2: 1 if leaf_hash is leaf `index` of the tree `root`. */
int			bl_merkle_verify_inclusion(uint64_t index, uint64_t size,
									   const uint8_t leaf_hash[BL_HASH_LEN],
									   const uint8_t (*proof)[BL_HASH_LEN],
									   size_t n,
									   const uint8_t root[BL_HASH_LEN]);

/*
 * RFC 9162 2.1.4.2: 1 if the tree (size2, root2) extends (size1, root1).
 * As in the transparency-dev vectors: size1 == 0 is refused (there is
 * nothing to prove), size1 == size2 needs an empty proof and equal roots.
 */
int			bl_merkle_verify_consistency(uint64_t size1, uint64_t size2,
										 const uint8_t root1[BL_HASH_LEN],
										 const uint8_t root2[BL_HASH_LEN],
										 const uint8_t (*proof)[BL_HASH_LEN],
										 size_t n);

/*
 * Stored perfect-subtree lookup: write the hash of node (level, index) to
 * out and return 0, or return non-zero if it is not available.
 */
typedef int (*bl_node_fn) (void *ctx, int level, uint64_t index,
						   uint8_t out[BL_HASH_LEN]);

/*
 * Nodes needed by the generators below, in no particular order and possibly
 * repeated; levels/indexes must hold BL_MERKLE_MAX_NODES entries.
 */
int			bl_merkle_root_nodes(uint64_t size, int *levels,
								 uint64_t *indexes, size_t *n);
int			bl_merkle_inclusion_nodes(uint64_t index, uint64_t size,
									  int *levels, uint64_t *indexes,
									  size_t *n);
int			bl_merkle_consistency_nodes(uint64_t size1, uint64_t size2,
										int *levels, uint64_t *indexes,
										size_t *n);

/* Root of the first `size` leaves (size 0: the empty root). */
int			bl_merkle_root(uint64_t size, bl_node_fn get, void *ctx,
						   uint8_t out[BL_HASH_LEN]);

/*
 * RFC 9162 PATH(index, D[size]) and PROOF(size1, D[size2]); out must hold
 * BL_MERKLE_MAX_PROOF hashes, *n receives the count.  Consistency needs
 * 0 < size1 <= size2 (size1 == size2 gives an empty proof).
 */
int			bl_merkle_inclusion_proof(uint64_t index, uint64_t size,
									  bl_node_fn get, void *ctx,
									  uint8_t (*out)[BL_HASH_LEN],
									  size_t *n);
int			bl_merkle_consistency_proof(uint64_t size1, uint64_t size2,
										bl_node_fn get, void *ctx,
										uint8_t (*out)[BL_HASH_LEN],
										size_t *n);

/*
 * Compact range: the perfect subtrees covering [0, size), stack[L] valid
 * when bit L of size is set.  Appending a leaf completes the leaf itself
 * (level 0) and possibly a chain of parents; emit is called for each, so the
 * caller can store every perfect-subtree node exactly once.
 */
typedef struct bl_compact
{
	uint64_t	size;
	uint8_t		stack[64][BL_HASH_LEN];
} bl_compact;

typedef void (*bl_emit_fn) (void *ctx, int level, uint64_t index,
							const uint8_t hash[BL_HASH_LEN]);

void		bl_compact_init(bl_compact *c);
int			bl_compact_append(bl_compact *c,
							  const uint8_t leaf_hash[BL_HASH_LEN],
							  bl_emit_fn emit, void *ctx);
int			bl_compact_root(const bl_compact *c,
							uint8_t out[BL_HASH_LEN]);

/* Rebuild the compact range at `size` from stored perfect subtrees. */
int			bl_compact_from_nodes(bl_compact *c, uint64_t size,
								  bl_node_fn get, void *ctx);

/*
 * A battledger log leaf: the bytes whose RFC 6962 leaf hash the log holds
 * for one ledger row.  "BLL" 0x01, u16be(length of table), table
 * ("schema.table", UTF-8, unquoted), i64be(ledger_seq), ledger_prev (32),
 * ledger_hash (32).  Built by the extension when it seals and by the CLI
 * (`battledger leaf`) from a row's published values.
 */
#define BL_LOG_LEAF_MAGIC "BLL\001"
size_t		bl_log_leaf_len(size_t table_len);
void		bl_log_leaf(const char *table, size_t table_len, int64_t seq,
						const uint8_t prev[BL_HASH_LEN], const uint8_t row_hash[BL_HASH_LEN], uint8_t *out);

#endif
