/*
 * log_internal.h — what the files of the transparency log (log*.c) share:
 * functions and types that were static in log.c before it was split by phase.
 * Other modules include log.h.  It does not include log.h (which log.c
 * implements), so that the module graph has no circle.
 */
#ifndef BATTLEDGER_LOG_INTERNAL_H
#define BATTLEDGER_LOG_INTERNAL_H

#include "postgres.h"

#include "access/heapam.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

#include "hash256.h"
#include "merkle.h"

/* queue (log_queue.c) */
extern Relation log_pending_open(void);
extern void log_pending_write(Relation pending, TupleTableSlot **batch, int n, MemoryContext tuples);
extern void log_enqueue(Relation pending, text *qualname, int64 seq, const Hash256 *prev, const Hash256 *row_hash);
extern HeapTuple log_pending_tuple(Relation pending, text *qualname, int64 seq, const Hash256 *prev,
								   const Hash256 *row_hash);
extern Oid log_relid(const char *name);
/* log_pending_tuple()'s tuples, copied from a template per table (log_queue.c) */
typedef struct PendingForm
{
	MemoryContext cxt;			/* the template's */
	text	   *qualname;		/* the table name the template is for */
	HeapTuple	tmpl;
	bool		usable;			/* the layout is known: copy the template */
	int			seq_off;		/* offsets from t_data */
	int			prev_off;
	int			hash_off;
} PendingForm;
extern void log_pending_form_init(PendingForm *pf);
extern HeapTuple log_pending_form(PendingForm *pf, Relation pending, text *qualname, int64 seq,
								  const Hash256 *prev, const Hash256 *row_hash);
extern void log_pending_form_end(PendingForm *pf);

/* key file and origin (log.c) */
extern const char *log_origin(void);
extern void *log_signing_key(bool missing_ok);

/* node store (log_tree.c) */
/* Nodes fetched for one computation: a small open-addressed table. */
typedef struct NodeSet
{
	int			n;
	int			levels[BL_MERKLE_MAX_NODES];
	uint64		idx[BL_MERKLE_MAX_NODES];
	uint8		hash[BL_MERKLE_MAX_NODES][HASH256_LEN];
	bool		have[BL_MERKLE_MAX_NODES];
	/*
	 * Recompute every node from the tiles' hashes and the leaves, reading no
	 * block (log_block): seal() extends the tiles' and the blocks' right
	 * edges, so the root it checks against the last checkpoint, and the edges
	 * it extends, must come from the leaves and hashes it checked.
	 */
	bool		from_hashes;
} NodeSet;

extern void check_range(int64 v, int64 lo, int64 hi, const char *what);
extern bool latest_checkpoint(int64 *size, uint8 *root, char **note);
extern int64 log_size(void);
extern bool log_tiled(void);
extern bool log_blocked(void);
extern void nodeset_fetch(NodeSet *ns);
extern int nodeset_get(void *ctx, int level, uint64_t index, uint8_t out[BL_MERKLE_HASH_LEN]);
extern void root_at(int64 size, uint8 *out);
extern void tree_error(const char *what);

/*
 * Tiles (log_tree.c; docs/design.md, "The tiled layout"): log_tile row
 * (level L >= 1, idx N, width W) holds the hashes of the tree's nodes at
 * level 8L, indexes 256N .. 256N+W-1, concatenated; the nodes of levels
 * 8L+1 .. 8L+7 are recomputed from them, and level 0 (8L = 0) is log_leaf.
 */
#define TILE_HEIGHT 8
#define TILE_WIDTH 256
#define TILE_LEVELS 8			/* tile levels 1..7 hold tree levels 8..56 */

/*
 * Blocks (0.9.0; docs/design.md, "Blocks of 16 nodes"): log_block row
 * (level, idx, width) holds the first width of the 16 nodes of tree level
 * `level` = 4k (k >= 1) from index 16 idx, concatenated; a node of tree
 * level h, 4k <= h < 4k + 4, is the root of 2^(h - 4k) of them in one row.
 * A proof reads one row per four tree levels and 16 leaves.  Full blocks
 * have width 16; each level's right edge is stored again, wider, by a seal
 * that grew it, as the tiles are.
 */
#define BLOCK_HEIGHT 4
#define BLOCK_WIDTH 16
#define BLOCK_LEVELS 15			/* tree levels 4, 8, ..., 60 */

/* write one tile row (level, idx, width, width hashes) */
typedef void (*tile_write_fn) (void *ctx, int level, int64 idx, int width, const uint8 *hashes);
/* write one block row (tree level, idx, width, width hashes) */
typedef void (*block_write_fn) (void *ctx, int level, int64 idx, int width, const uint8 *hashes);

/* The right-edge tile of each tile level while seal() extends the tree. */
typedef struct TileEdge
{
	int64		idx[TILE_LEVELS];
	int			width[TILE_LEVELS];		/* hashes held */
	int			stored[TILE_LEVELS];	/* width of the widest stored row of idx */
	uint8		hashes[TILE_LEVELS][TILE_WIDTH][HASH256_LEN];
	tile_write_fn write;
	void	   *ctx;
	/* the right-edge block of each block level k (tree level 4(k + 1)), 0.9.0 */
	bool		blocks;			/* log_block exists */
	int64		bidx[BLOCK_LEVELS];
	int			bwidth[BLOCK_LEVELS];	/* nodes held */
	int			bstored[BLOCK_LEVELS];	/* width of the widest stored row of bidx */
	uint8		bhashes[BLOCK_LEVELS][BLOCK_WIDTH][HASH256_LEN];
	block_write_fn bwrite;
} TileEdge;

extern void tile_edge_load(TileEdge *te, int64 size, tile_write_fn write, block_write_fn bwrite, void *ctx);
extern void tile_edge_emit(TileEdge *te, int level, uint64 index, const uint8 *hash);
extern void tile_edge_finish(TileEdge *te);
extern bytea *tile_bytea(const uint8 *hashes, int width);

/* seal (log_seal.c) */
extern bool queue_intact(bool read_only);

/* bulk write path (log_bulk.c) */
#define BULK_SLOTS 1000

typedef struct BulkRel
{
	Relation	rel;
	ResultRelInfo *rri;
	EState	   *estate;
	BulkInsertState bis;
	CommandId	cid;
	int			n;
	TupleTableSlot *slots[BULK_SLOTS];
	/* a hash index whose entries are inserted later, in bucket order (log_bulk.c) */
	Relation	hidx;
	IndexInfo  *hinfo;
	struct HashDeferred *hd;	/* the entries waiting */
	struct HashDeferred *hdtmp;	/* as many, for sorting them */
	int64		nhd;
	int64		maxhd;
} BulkRel;

typedef struct SealFast
{
	BulkRel		leaf;
	BulkRel		tile;			/* log_tile, or log_node before 0.6.0 (edge NULL) */
	BulkRel		block;			/* log_block (0.9.0; rel NULL before) */
	TileEdge   *edge;
	Relation	pending;
	Snapshot	snap;
	TableScanDesc scan;
	bool		done;			/* the scan is exhausted */
} SealFast;

extern const char *const leaf_cols[6];
extern const char *const tile_cols[4];
extern const char *const node_cols[3];
extern const char *const block_cols[4];
extern void block_col_types(Oid *t);
extern void leaf_col_types(Oid *t);
extern bool log_columns(Relation rel, const char *const *names, const Oid *types, int n, int *attidx);
extern void tile_col_types(Oid *t);
extern void node_col_types(Oid *t);
extern bool seal_fast_allowed(void);
extern void seal_fast_begin(SealFast *sf, int64 size);
extern int64 seal_fast_chunk(SealFast *sf, bl_compact *c, MemoryContext chunkcxt, int64 limit);
extern void seal_fast_end(SealFast *sf);
extern void seal_fast_flush(SealFast *sf);

#endif
