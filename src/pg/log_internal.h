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
extern void log_enqueue(Relation pending, text *qualname, int64 seq, const Hash256 *prev, const Hash256 *row_hash);
extern Oid log_relid(const char *name);

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
} NodeSet;

extern void check_range(int64 v, int64 lo, int64 hi, const char *what);
extern bool latest_checkpoint(int64 *size, uint8 *root, char **note);
extern int64 log_size(void);
extern void nodeset_fetch(NodeSet *ns);
extern int nodeset_get(void *ctx, int level, uint64_t index, uint8_t out[BL_MERKLE_HASH_LEN]);
extern void root_at(int64 size, uint8 *out);
extern void tree_error(const char *what);

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
} BulkRel;

typedef struct SealFast
{
	BulkRel		leaf;
	BulkRel		node;
	Relation	pending;
	Snapshot	snap;
	TableScanDesc scan;
	bool		done;			/* the scan is exhausted */
} SealFast;

extern const char *const leaf_cols[6];
extern const char *const node_cols[3];
extern void leaf_col_types(Oid *t);
extern bool log_columns(Relation rel, const char *const *names, const Oid *types, int n, int *attidx);
extern void node_col_types(Oid *t);
extern bool seal_fast_allowed(void);
extern void seal_fast_begin(SealFast *sf);
extern int64 seal_fast_chunk(SealFast *sf, bl_compact *c, MemoryContext chunkcxt, int64 limit);
extern void seal_fast_end(SealFast *sf);
extern void seal_fast_flush(SealFast *sf);

#endif
