/*
 * log_tree.c — the log's tree store: the nodes a computation needs,
 * recomputed from the tiles and leaves that hold them, the right-edge
 * tiles seal() extends, the sealed size, the root at a size and the latest
 * checkpoint.  Part of the transparency log (log.c); log_internal.h joins
 * its files.
 *
 * Why one file: where a node lives (the leaf ranges below level 8, the
 * widest row of a tile above) is one rule, read by nodeset_fetch() and
 * written by the right edge seal() extends; kept together so that a change
 * of the layout changes both at once.
 */
#include "log.h"
#include "log_internal.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "catalog/pg_am_d.h"
#include "utils/fmgroids.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/acl.h"
#include "utils/rls.h"
#include "utils/tuplestore.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "catalog/pg_trigger.h"
#include "utils/snapmgr.h"

#include "ed25519.h"
#include "ledger_rel.h"
#include "progress.h"
#include "merkle.h"
#include "note.h"
#include "pg_compat.h"

int
nodeset_get(void *ctx, int level, uint64_t index, uint8_t out[BL_MERKLE_HASH_LEN])
{
	NodeSet    *ns = ctx;

	for (int i = 0; i < ns->n; i++)
		if (ns->have[i] && ns->levels[i] == level && ns->idx[i] == index)
		{
			memcpy(out, ns->hash[i], HASH256_LEN);
			return 0;
		}
	return -1;
}

/*
 * Fetch the listed nodes from the tiles (docs/design.md, "The tiled layout").
 * Node (h, j) with 8L <= h < 8L+8 is the root of the 2^(h-8L) hashes at level
 * 8L from index j * 2^(h-8L): for L = 0 leaf hashes, read from log_leaf by
 * leaf_index range; else hashes of tile (L, that index / 256), its widest
 * row (the hashes of a narrower row of the same tile are a prefix of it).
 * At most 127 hashes recompute a node.  The tiles and the leaves by index
 * scan (fetch_tiles_direct, fetch_leaves_direct) or, where row security, a
 * missing privilege or another key says a query must read them, one query
 * each, planned once per backend; their operators are pg_catalog's whatever the caller's
 * search_path (PUBLIC calls the proof functions).  Not read-only: seal() reads the tiles and leaves it just wrote.
 */
static SPIPlanPtr tile_plan = NULL;
static SPIPlanPtr leaf_plan = NULL;

typedef struct FetchTile
{
	int			level;
	int64		idx;
	int			len;			/* hashes held; -1 if no row */
	uint8	   *hashes;
	uint8	   *nodes;			/* its inner nodes (0.9.0); NULL: recompute them */
} FetchTile;

typedef struct FetchLeaves
{
	int64		lo,
				hi;				/* leaf indexes [lo, hi) */
	uint8		(*h)[HASH256_LEN];
	bool	   *have;
} FetchLeaves;

/* a leaf block's level-4 nodes (log_block, 0.9.0): 16, or the right edge's so far */
typedef struct FetchBlock
{
	int64		idx;
	int			width;			/* nodes held; 0 if no row */
	uint8		h[BLOCK_NODES][HASH256_LEN];
} FetchBlock;

static SPIPlanPtr
keep_plan(SPIPlanPtr *p, const char *q, int nargs, Oid *types)
{
	if (*p == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(q, nargs, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not plan a query of the log's tiles");
		*p = plan;
	}
	return *p;
}

/*
 * A log table read through its primary key directly (fetch_tiles_direct,
 * fetch_leaves_direct): open only when SPI would read the same rows, i.e.
 * no row security on the table, the caller may SELECT it, and its primary
 * key is a btree on exactly the first nkey of the named columns; then the
 * snapshot SPI's non-read-only execution would take (a fresh one at READ
 * COMMITTED, so that seal() reads the rows it just wrote; the transaction's
 * under REPEATABLE READ, as log_size()).
 */
typedef struct LogKeyRead
{
	Relation	rel;
	Relation	irel;
	Snapshot	snap;
	TupleTableSlot *slot;
	int			ai[6];			/* the named columns' positions */
} LogKeyRead;

static bool
log_key_read_open(LogKeyRead *kr, const char *table, const char *const *cols, const Oid *types,
				  int ncols, int nkey)
{
	Oid			relid = log_relid(table);
	Oid			pk;
	bool		ok;

	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return false;
	kr->rel = table_open(relid, AccessShareLock);
	(void) log_columns(kr->rel, cols, types, ncols, kr->ai);
	pk = bl_RelationGetPrimaryKeyIndex(kr->rel);
	if (!OidIsValid(pk))
	{
		table_close(kr->rel, AccessShareLock);
		return false;
	}
	kr->irel = index_open(pk, AccessShareLock);
	ok = kr->irel->rd_index->indnatts == nkey && kr->irel->rd_rel->relam == BTREE_AM_OID;
	for (int k = 0; k < nkey && ok; k++)
		ok = kr->irel->rd_index->indkey.values[k] == kr->ai[k] + 1;
	if (!ok)
	{
		index_close(kr->irel, AccessShareLock);
		table_close(kr->rel, AccessShareLock);
		return false;
	}
	CommandCounterIncrement();	/* as SPI does before a non-read-only query */
	kr->snap = RegisterSnapshot(GetTransactionSnapshot());
	kr->slot = table_slot_create(kr->rel, NULL);
	return true;
}

static void
log_key_read_close(LogKeyRead *kr)
{
	ExecDropSingleTupleTableSlot(kr->slot);
	UnregisterSnapshot(kr->snap);
	index_close(kr->irel, AccessShareLock);
	table_close(kr->rel, AccessShareLock);
}

/*
 * A tile row's hashes into the fetch; a row of another length than whole
 * hashes is not read (verify_log() names it), and the tile counts as missing.
 * Its inner nodes (nodes, NULL before 0.9.0) are taken if they are as many as
 * its width has; otherwise they are recomputed from the hashes, and
 * verify_log() names the row.
 */
static void
tile_take(FetchTile *tile, bytea *b, bytea *nodes)
{
	size_t		len = VARSIZE_ANY_EXHDR(b);

	if (len % HASH256_LEN != 0 || len > TILE_WIDTH * HASH256_LEN)
		return;
	tile->len = (int) (len / HASH256_LEN);
	tile->hashes = palloc(Max(len, 1));
	memcpy(tile->hashes, VARDATA_ANY(b), len);
	tile->nodes = NULL;
	if (nodes &&
		VARSIZE_ANY_EXHDR(nodes) == bl_merkle_inner_count((size_t) tile->len, TILE_INNER) * HASH256_LEN)
	{
		tile->nodes = palloc(Max(VARSIZE_ANY_EXHDR(nodes), 1));
		memcpy(tile->nodes, VARDATA_ANY(nodes), VARSIZE_ANY_EXHDR(nodes));
	}
}

/*
 * Node (sh, j) of a tile's row of `width` hashes, 1 <= sh <= 7, from its
 * stored inner nodes: level sh's nodes follow the width >> k of each level
 * k below it (bl_merkle_inner_nodes).
 */
static const uint8 *
tile_inner(const FetchTile *tile, int sh, int64 j)
{
	size_t		pos = 0;

	for (int k = 1; k < sh; k++)
		pos += (size_t) tile->len >> k;
	return tile->nodes + (pos + (size_t) j) * HASH256_LEN;
}

/*
 * The tiles through log_tile's primary key directly, for the reason the
 * leaves are (fetch_leaves_direct): through SPI, the query's subplan was
 * planned again on every proof (a custom plan for its array parameters) and
 * its executor set up, a sixth of a proof at 1M leaves (perf).  A backward
 * scan of (level, idx) meets the widest visible row of the tile first, the
 * row the query's ORDER BY width DESC LIMIT 1 takes.  Taken under the same
 * conditions (log_key_read_open(): the primary key is (level, idx, width)).
 */
static bool
fetch_tiles_direct(FetchTile *tiles, int nt)
{
	LogKeyRead kr;
	Oid			types[5];
	int			ncols = tile_ncols();

	tile_col_types(types);
	if (!log_key_read_open(&kr, "log_tile", tile_cols, types, ncols, 3))
		return false;
	for (int i = 0; i < nt; i++)
	{
		ScanKeyData key[2];
		IndexScanDesc scan;

		tiles[i].len = -1;
		tiles[i].nodes = NULL;
		ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(tiles[i].level));
		ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(tiles[i].idx));
		scan = bl_index_beginscan(kr.rel, kr.irel, kr.snap, 2, 0);
		index_rescan(scan, key, 2, NULL, 0);
		/* the first visible row only: the widest, as the query's LIMIT 1 */
		if (index_getnext_slot(scan, BackwardScanDirection, kr.slot))
		{
			bool		n1,
						n2,
						n3,
						n4 = true;
			int			level = DatumGetInt32(slot_getattr(kr.slot, kr.ai[0] + 1, &n1));
			int64		idx = DatumGetInt64(slot_getattr(kr.slot, kr.ai[1] + 1, &n2));
			Datum		h = slot_getattr(kr.slot, kr.ai[3] + 1, &n3);
			Datum		nd = ncols == 5 ? slot_getattr(kr.slot, kr.ai[4] + 1, &n4) : (Datum) 0;

			if (!n1 && !n2 && !n3 && level == tiles[i].level && idx == tiles[i].idx)
				tile_take(&tiles[i], DatumGetByteaPP(h), n4 ? NULL : DatumGetByteaPP(nd));
		}
		index_endscan(scan);
	}
	log_key_read_close(&kr);
	return true;
}

/*
 * The tiles through a query (where row security, a missing privilege or
 * another key says one must read them), the widest row of each; its inner
 * nodes too where log_tile has them (0.9.0; a query of its own, since the
 * library also serves an extension not yet updated).
 */
static void
fetch_tiles(FetchTile *tiles, int nt)
{
	static SPIPlanPtr tile_nodes_plan = NULL;
	Oid			types[2] = {INT4ARRAYOID, INT8ARRAYOID};
	Datum		args[2];
	Datum	   *lv = palloc(sizeof(Datum) * nt);
	Datum	   *ix = palloc(sizeof(Datum) * nt);
	bool		with_nodes = tile_ncols() == 5;
	SPIPlanPtr	plan = with_nodes
		? keep_plan(&tile_nodes_plan,
					"SELECT q.l, q.i, w.hashes, w.nodes "
					"FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) q(l, i) "
					"  LEFT JOIN LATERAL (SELECT t.hashes, t.nodes FROM battledger.log_tile t "
					"    WHERE t.level OPERATOR(pg_catalog.=) q.l AND t.idx OPERATOR(pg_catalog.=) q.i "
					"    ORDER BY t.width DESC LIMIT 1) w ON true", 2, types)
		: keep_plan(&tile_plan,
					"SELECT q.l, q.i, (SELECT t.hashes FROM battledger.log_tile t "
					"  WHERE t.level OPERATOR(pg_catalog.=) q.l AND t.idx OPERATOR(pg_catalog.=) q.i "
					"  ORDER BY t.width DESC LIMIT 1) "
					"FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) q(l, i)", 2, types);

	for (int i = 0; i < nt; i++)
	{
		lv[i] = Int32GetDatum(tiles[i].level);
		ix[i] = Int64GetDatum(tiles[i].idx);
		tiles[i].len = -1;
		tiles[i].nodes = NULL;
	}
	args[0] = PointerGetDatum(construct_array(lv, nt, INT4OID, 4, true, TYPALIGN_INT));
	args[1] = PointerGetDatum(construct_array(ix, nt, INT8OID, 8, true, TYPALIGN_DOUBLE));
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the log's tiles");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	t = SPI_tuptable->vals[r];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		int			level = DatumGetInt32(SPI_getbinval(t, d, 1, &isnull));
		int64		idx = DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
		Datum		h = SPI_getbinval(t, d, 3, &isnull);
		bool		nnull = true;
		Datum		nd;

		if (isnull)
			continue;
		nd = with_nodes ? SPI_getbinval(t, d, 4, &nnull) : (Datum) 0;
		for (int i = 0; i < nt; i++)
			if (tiles[i].level == level && tiles[i].idx == idx && tiles[i].len < 0)
				tile_take(&tiles[i], DatumGetByteaPP(h), nnull ? NULL : DatumGetByteaPP(nd));
	}
}

/*
 * The leaf ranges through log_leaf's primary key directly: through SPI, the
 * up to 512 rows copied into a tuple table per proof made the backend's heap
 * grow and shrink on every call (perf: a third of a proof's time in brk() and
 * its TLB flushes on this VM).  Taken only when SPI would read the same rows
 * (log_key_read_open(): PUBLIC may SELECT log_leaf, and its primary key is
 * (leaf_index)).
 */
static bool
fetch_leaves_direct(FetchLeaves *ranges, int nr)
{
	LogKeyRead kr;
	Oid			types[6];

	leaf_col_types(types);
	if (!log_key_read_open(&kr, "log_leaf", leaf_cols, types, 6, 1))
		return false;
	for (int i = 0; i < nr; i++)
	{
		ScanKeyData key[2];
		IndexScanDesc scan;

		ranges[i].h = palloc(HASH256_LEN * (ranges[i].hi - ranges[i].lo));
		ranges[i].have = palloc0(sizeof(bool) * (ranges[i].hi - ranges[i].lo));
		ScanKeyInit(&key[0], 1, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(ranges[i].lo));
		ScanKeyInit(&key[1], 1, BTLessStrategyNumber, F_INT8LT, Int64GetDatum(ranges[i].hi));
		scan = bl_index_beginscan(kr.rel, kr.irel, kr.snap, 2, 0);
		index_rescan(scan, key, 2, NULL, 0);
		while (index_getnext_slot(scan, ForwardScanDirection, kr.slot))
		{
			bool		n1,
						n2;
			int64		idx = DatumGetInt64(slot_getattr(kr.slot, kr.ai[0] + 1, &n1));
			Datum		h = slot_getattr(kr.slot, kr.ai[5] + 1, &n2);

			if (n1 || n2 || idx < ranges[i].lo || idx >= ranges[i].hi)
				continue;
			memcpy(ranges[i].h[idx - ranges[i].lo], DatumGetHash256P(h)->bytes, HASH256_LEN);
			ranges[i].have[idx - ranges[i].lo] = true;
		}
		index_endscan(scan);
	}
	log_key_read_close(&kr);
	return true;
}

static void
fetch_leaves(FetchLeaves *ranges, int nr)
{
	Oid			types[2] = {INT8ARRAYOID, INT8ARRAYOID};
	Datum		args[2];
	Datum	   *lo = palloc(sizeof(Datum) * nr);
	Datum	   *hi = palloc(sizeof(Datum) * nr);
	SPIPlanPtr	plan = keep_plan(&leaf_plan,
								 "SELECT l.leaf_index, l.leaf_hash FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) r(lo, hi), "
								 "  LATERAL (SELECT x.leaf_index, x.leaf_hash FROM battledger.log_leaf x "
								 "           WHERE x.leaf_index OPERATOR(pg_catalog.>=) r.lo AND x.leaf_index OPERATOR(pg_catalog.<) r.hi) l", 2, types);

	for (int i = 0; i < nr; i++)
	{
		lo[i] = Int64GetDatum(ranges[i].lo);
		hi[i] = Int64GetDatum(ranges[i].hi);
		ranges[i].h = palloc(HASH256_LEN * (ranges[i].hi - ranges[i].lo));
		ranges[i].have = palloc0(sizeof(bool) * (ranges[i].hi - ranges[i].lo));
	}
	args[0] = PointerGetDatum(construct_array(lo, nr, INT8OID, 8, true, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array(hi, nr, INT8OID, 8, true, TYPALIGN_DOUBLE));
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the log's leaves");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	t = SPI_tuptable->vals[r];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		idx = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		Datum		h = SPI_getbinval(t, d, 2, &isnull);

		if (isnull)
			continue;
		for (int i = 0; i < nr; i++)
			if (idx >= ranges[i].lo && idx < ranges[i].hi)
			{
				memcpy(ranges[i].h[idx - ranges[i].lo], DatumGetHash256P(h)->bytes, HASH256_LEN);
				ranges[i].have[idx - ranges[i].lo] = true;
			}
	}
}

/*
 * A block row's hashes into the fetch: as many whole hashes as its width
 * says, at most 16, else it is not read (verify_log() names it) and the
 * block's nodes come from its leaves.
 */
static void
block_take(FetchBlock *b, int width, bytea *h)
{
	if (width < 1 || width > BLOCK_NODES || VARSIZE_ANY_EXHDR(h) != (Size) width * HASH256_LEN)
		return;
	memcpy(b->h, VARDATA_ANY(h), (size_t) width * HASH256_LEN);
	b->width = width;
}

/*
 * The blocks through log_block's primary key, under log_key_read_open()'s
 * conditions: a backward scan of (idx) meets a block's widest visible row
 * first, as for the tiles.
 */
static bool
fetch_blocks_direct(FetchBlock *blocks, int nb)
{
	LogKeyRead kr;
	Oid			types[3];

	block_col_types(types);
	if (!log_key_read_open(&kr, "log_block", block_cols, types, 3, 2))
		return false;
	for (int i = 0; i < nb; i++)
	{
		ScanKeyData key[1];
		IndexScanDesc scan;

		ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(blocks[i].idx));
		scan = bl_index_beginscan(kr.rel, kr.irel, kr.snap, 1, 0);
		index_rescan(scan, key, 1, NULL, 0);
		if (index_getnext_slot(scan, BackwardScanDirection, kr.slot))
		{
			bool		n1,
						n2,
						n3;
			int64		idx = DatumGetInt64(slot_getattr(kr.slot, kr.ai[0] + 1, &n1));
			int			width = DatumGetInt32(slot_getattr(kr.slot, kr.ai[1] + 1, &n2));
			Datum		h = slot_getattr(kr.slot, kr.ai[2] + 1, &n3);

			if (!n1 && !n2 && !n3 && idx == blocks[i].idx)
				block_take(&blocks[i], width, DatumGetByteaPP(h));
		}
		index_endscan(scan);
	}
	log_key_read_close(&kr);
	return true;
}

/* The blocks through a query (the widest row of each), as fetch_tiles(). */
static void
fetch_blocks(FetchBlock *blocks, int nb)
{
	static SPIPlanPtr block_plan = NULL;
	Oid			types[1] = {INT8ARRAYOID};
	Datum		args[1];
	Datum	   *ix = palloc(sizeof(Datum) * nb);
	SPIPlanPtr	plan = keep_plan(&block_plan,
								 "SELECT q.i, w.width, w.hashes "
								 "FROM pg_catalog.unnest($1) q(i) "
								 "  JOIN LATERAL (SELECT b.width, b.hashes FROM battledger.log_block b "
								 "    WHERE b.idx OPERATOR(pg_catalog.=) q.i ORDER BY b.width DESC LIMIT 1) w ON true", 1, types);

	for (int i = 0; i < nb; i++)
		ix[i] = Int64GetDatum(blocks[i].idx);
	args[0] = PointerGetDatum(construct_array(ix, nb, INT8OID, 8, true, TYPALIGN_DOUBLE));
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the log's leaf blocks");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	t = SPI_tuptable->vals[r];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		n1,
					n2,
					n3;
		int64		idx = DatumGetInt64(SPI_getbinval(t, d, 1, &n1));
		int			width = DatumGetInt32(SPI_getbinval(t, d, 2, &n2));
		Datum		h = SPI_getbinval(t, d, 3, &n3);

		if (n1 || n2 || n3)
			continue;
		for (int i = 0; i < nb; i++)
			if (blocks[i].idx == idx && blocks[i].width == 0)
				block_take(&blocks[i], width, DatumGetByteaPP(h));
	}
}

/* Root of n (a power of two, <= 128) consecutive hashes; buf is overwritten. */
static void
subtree_root(uint8 (*buf)[HASH256_LEN], int n, uint8 *out)
{
	for (; n > 1; n /= 2)
		for (int k = 0; k < n / 2; k++)
			bl_merkle_node_hash(buf[2 * k], buf[2 * k + 1], buf[k]);
	memcpy(out, buf[0], HASH256_LEN);
}

/*
 * Before 0.6.0 (this library under an extension not yet updated, as
 * upgrade.sh runs it): the nodes are rows of log_node, fetched in one query.
 */
static void
nodeset_fetch_nodes(NodeSet *ns)
{
	Datum	   *lv = palloc(sizeof(Datum) * Max(ns->n, 1));
	Datum	   *ix = palloc(sizeof(Datum) * Max(ns->n, 1));
	Oid			argtypes[2] = {INT4ARRAYOID, INT8ARRAYOID};
	Datum		args[2];

	for (int i = 0; i < ns->n; i++)
	{
		lv[i] = Int32GetDatum(ns->levels[i]);
		ix[i] = Int64GetDatum((int64) ns->idx[i]);
		ns->have[i] = false;
	}
	args[0] = PointerGetDatum(construct_array(lv, ns->n, INT4OID, 4, true, TYPALIGN_INT));
	args[1] = PointerGetDatum(construct_array(ix, ns->n, INT8OID, 8, true, TYPALIGN_DOUBLE));
	if (SPI_execute_with_args(
		"SELECT q.level, q.idx, coalesce(n.hash, l.leaf_hash) "
		"  FROM unnest($1, $2) q(level, idx) "
		"  LEFT JOIN battledger.log_node n ON q.level > 0 AND n.level = q.level AND n.idx = q.idx "
		"  LEFT JOIN battledger.log_leaf l ON q.level = 0 AND l.leaf_index = q.idx",
		2, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)	/* see this seal's own nodes */
		elog(ERROR, "could not read the log's tree nodes");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	t = SPI_tuptable->vals[r];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		int			level = DatumGetInt32(SPI_getbinval(t, d, 1, &isnull));
		uint64		idx = (uint64) DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
		Datum		h = SPI_getbinval(t, d, 3, &isnull);

		if (isnull)
			continue;
		for (int i = 0; i < ns->n; i++)
			if (!ns->have[i] && ns->levels[i] == level && ns->idx[i] == idx)
			{
				memcpy(ns->hash[i], DatumGetHash256P(h)->bytes, HASH256_LEN);
				ns->have[i] = true;
			}
	}
}

/*
 * Whether the tree is stored in tiles (0.6.0): false while the library runs
 * under an extension not yet updated from an earlier version, which stores
 * every node as a row of log_node.
 */
bool
log_tiled(void)
{
	return OidIsValid(get_relname_relid("log_tile", get_namespace_oid("battledger", false)));
}

/* Whether the leaf blocks are stored (log_block, 0.9.0). */
bool
log_blocked(void)
{
	return OidIsValid(get_relname_relid("log_block", get_namespace_oid("battledger", false)));
}

/*
 * log_tile's columns: 5 since 0.9.0 (nodes, each row's inner nodes), 4
 * before, while the library runs under an extension not yet updated.
 */
int
tile_ncols(void)
{
	Oid			relid = get_relname_relid("log_tile", get_namespace_oid("battledger", false));

	return OidIsValid(relid) && get_attnum(relid, "nodes") != InvalidAttrNumber ? 5 : 4;
}

/*
 * The fetched block that holds level-0 node (sh, first's) level-4 nodes, or
 * NULL: a node of fewer than 16 leaves, a block not fetched or not stored,
 * or a node past the block row's width (then its leaves are read).
 */
static FetchBlock *
block_of(FetchBlock *blocks, int nb, int sh, int64 first)
{
	if (sh < BLOCK_LEVEL)
		return NULL;
	for (int k = 0; k < nb; k++)
		if (blocks[k].idx == first / TILE_WIDTH)
		{
			int			from = (int) ((first % TILE_WIDTH) >> BLOCK_LEVEL);

			return from + (1 << (sh - BLOCK_LEVEL)) <= blocks[k].width ? &blocks[k] : NULL;
		}
	return NULL;
}

void
nodeset_fetch(NodeSet *ns)
{
	FetchTile  *tiles = palloc(sizeof(FetchTile) * Max(ns->n, 1));
	FetchLeaves *ranges = palloc(sizeof(FetchLeaves) * Max(ns->n, 1));
	FetchBlock *blocks = palloc(sizeof(FetchBlock) * Max(ns->n, 1));
	int			nt = 0,
				nr = 0,
				nb = 0;
	uint8		(*buf)[HASH256_LEN] = palloc(HASH256_LEN * (TILE_WIDTH / 2));
	bool		use_blocks;

	if (!log_tiled())
	{
		nodeset_fetch_nodes(ns);
		return;
	}
	/* stored blocks, like stored tile nodes, are read by proofs, not by seal() */
	use_blocks = !ns->from_hashes && log_blocked();

	/* the tiles, and the blocks of level-0 nodes of 16 leaves or more */
	for (int i = 0; i < ns->n; i++)
	{
		int			L = ns->levels[i] / TILE_HEIGHT;
		int			sh = ns->levels[i] - L * TILE_HEIGHT;
		int64		first = (int64) (ns->idx[i] << sh);
		int64		block = first / TILE_WIDTH;
		int			k;

		ns->have[i] = false;
		if (ns->levels[i] < 0 || L >= TILE_LEVELS || ns->idx[i] > ((uint64) PG_INT64_MAX >> sh))
			continue;
		if (L == 0)
		{
			bool		listed = false;

			for (k = 0; k < nb && !listed; k++)
				listed = blocks[k].idx == block;
			if (use_blocks && sh >= BLOCK_LEVEL && !listed)
			{
				blocks[nb].idx = block;
				blocks[nb].width = 0;
				nb++;
			}
		}
		else
		{
			for (k = 0; k < nt; k++)
				if (tiles[k].level == L && tiles[k].idx == block)
					break;
			if (k == nt)
			{
				tiles[nt].level = L;
				tiles[nt].idx = block;
				nt++;
			}
		}
	}
	if (nb > 0 && !fetch_blocks_direct(blocks, nb))
		fetch_blocks(blocks, nb);
	if (nt > 0 && !fetch_tiles_direct(tiles, nt))
		fetch_tiles(tiles, nt);

	/*
	 * The leaf ranges for the other level-0 nodes (fewer than 16 leaves, or
	 * in a block not stored: the right edge's), one range per 256 leaves.
	 */
	for (int i = 0; i < ns->n; i++)
	{
		int			sh = ns->levels[i];
		int64		first;
		int64		block;
		int			k;

		if (sh < 0 || sh >= TILE_HEIGHT || ns->idx[i] > ((uint64) PG_INT64_MAX >> sh))
			continue;
		first = (int64) (ns->idx[i] << sh);
		block = first / TILE_WIDTH;
		if (block_of(blocks, nb, sh, first))
			continue;
		for (k = 0; k < nr; k++)
			if (ranges[k].lo / TILE_WIDTH == block)
				break;
		if (k == nr)
		{
			ranges[nr].lo = first;
			ranges[nr].hi = first + ((int64) 1 << sh);
			nr++;
		}
		ranges[k].lo = Min(ranges[k].lo, first);
		ranges[k].hi = Max(ranges[k].hi, first + ((int64) 1 << sh));
	}
	if (nr > 0 && !fetch_leaves_direct(ranges, nr))
		fetch_leaves(ranges, nr);

	for (int i = 0; i < ns->n; i++)
	{
		int			L = ns->levels[i] / TILE_HEIGHT;
		int			sh = ns->levels[i] - L * TILE_HEIGHT;
		int			span = 1 << sh;
		int64		first = (int64) (ns->idx[i] << sh);
		int64		block = first / TILE_WIDTH;
		bool		ok = false;
		const uint8 *stored = NULL;
		FetchBlock *b;

		if (ns->levels[i] < 0 || L >= TILE_LEVELS || ns->idx[i] > ((uint64) PG_INT64_MAX >> sh))
			continue;
		b = L == 0 ? block_of(blocks, nb, sh, first) : NULL;
		if (b)
		{
			/* the root of 2^(sh - 4) of the block's level-4 nodes (0.9.0) */
			span >>= BLOCK_LEVEL;
			memcpy(buf, b->h[(first % TILE_WIDTH) >> BLOCK_LEVEL], (size_t) span * HASH256_LEN);
			ok = true;
		}
		else if (L == 0)
		{
			for (int k = 0; k < nr; k++)
				if (ranges[k].lo / TILE_WIDTH == block)
				{
					ok = true;
					for (int j = 0; j < span && ok; j++)
					{
						ok = ranges[k].have[first - ranges[k].lo + j];
						if (ok)
							memcpy(buf[j], ranges[k].h[first - ranges[k].lo + j], HASH256_LEN);
					}
					break;
				}
		}
		else
		{
			for (int k = 0; k < nt; k++)
				if (tiles[k].level == L && tiles[k].idx == block)
				{
					int			off = (int) (first - block * TILE_WIDTH);

					ok = tiles[k].len >= off + span;
					if (ok && sh > 0 && tiles[k].nodes && !ns->from_hashes)
						stored = tile_inner(&tiles[k], sh, off >> sh);
					else if (ok)
						memcpy(buf, tiles[k].hashes + (size_t) off * HASH256_LEN, (size_t) span * HASH256_LEN);
					break;
				}
		}
		if (!ok)
			continue;
		/* a stored node is read, not recomputed (0.9.0) */
		if (stored)
			memcpy(ns->hash[i], stored, HASH256_LEN);
		else
			subtree_root(buf, span, ns->hash[i]);
		ns->have[i] = true;
	}
}

/* A tile row's hashes column. */
bytea *
tile_bytea(const uint8 *hashes, int width)
{
	bytea	   *b = palloc(VARHDRSZ + (size_t) width * HASH256_LEN);

	SET_VARSIZE(b, VARHDRSZ + (size_t) width * HASH256_LEN);
	memcpy(VARDATA(b), hashes, (size_t) width * HASH256_LEN);
	return b;
}

/* A tile row's nodes column: the inner nodes above its hashes (0.9.0). */
bytea *
tile_nodes_bytea(const uint8 *hashes, int width)
{
	size_t		len = bl_merkle_inner_count((size_t) width, TILE_INNER) * HASH256_LEN;
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	if (bl_merkle_inner_nodes((const uint8 (*)[HASH256_LEN]) hashes, (size_t) width, TILE_INNER,
							  (uint8 (*)[HASH256_LEN]) VARDATA(b)) != 0)
		elog(ERROR, "could not hash a log tile's nodes");
	return b;
}

/*
 * The right edge's partial block: its level-4 nodes so far, recomputed from
 * its leaves (which the root just checked covers), and the width of its
 * widest stored row; seal() writes a wider row when it grew, as for the
 * tiles.  A block row ahead of the tree (a later block, or this one wider)
 * was not written by seal(): refused, naming it, rather than failing later
 * on the primary key.
 */
static void
block_edge_load(TileEdge *te, int64 size)
{
	Oid			types[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(te->block_idx)};

	te->block_stored = 0;
	if (SPI_execute_with_args("SELECT b.idx, b.width FROM battledger.log_block b WHERE b.idx OPERATOR(pg_catalog.>=) $1 "
							  "ORDER BY b.idx DESC, b.width DESC LIMIT 1",
							  1, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the log's leaf blocks");
	if (SPI_processed == 1)
	{
		bool		n1,
					n2;
		int64		idx = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &n1));
		int			width = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &n2));

		if (idx > te->block_idx || width > te->block_n)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the log's leaf block %lld has a row ahead of the tree", (long long) idx),
					 errdetail("The widest row holds %d nodes of level 4; the tree of %lld leaves has %d there.",
							   width, (long long) size, idx > te->block_idx ? 0 : te->block_n),
					 errhint("Run battledger.verify_log(): it reports the row as extra_block.  It was not written by seal(): restore the log's tables from a backup.")));
		te->block_stored = width;
	}
	if (te->block_n > 0)
	{
		NodeSet    *ns = palloc0(sizeof(NodeSet));

		ns->n = te->block_n;
		ns->from_hashes = true;
		for (int k = 0; k < te->block_n; k++)
		{
			ns->levels[k] = BLOCK_LEVEL;
			ns->idx[k] = (uint64) (te->block_idx * BLOCK_NODES + k);
		}
		nodeset_fetch(ns);
		for (int k = 0; k < te->block_n; k++)
		{
			if (!ns->have[k])
				tree_error(psprintf("leaves of block %lld are missing", (long long) te->block_idx));
			memcpy(te->block[k], ns->hash[k], HASH256_LEN);
		}
		pfree(ns);
	}
}

/*
 * The right-edge tiles at tree size `size`, from their widest stored rows:
 * seal() appends to them.  A full tile is written when its 256th hash
 * arrives, a partial one by tile_edge_finish() when its width grew.  The
 * stored tree was checked against the last checkpoint first: every hash of
 * an edge tile is under one of the root's subtrees.
 */
void
tile_edge_load(TileEdge *te, int64 size, tile_write_fn write, void *ctx)
{
	FetchTile	tiles[TILE_LEVELS];
	int			nt = 0;

	te->write = write;
	te->ctx = ctx;
	te->blocks = log_blocked();
	te->block_idx = size / TILE_WIDTH;
	te->block_n = (int) ((size % TILE_WIDTH) >> BLOCK_LEVEL);
	if (te->blocks)
		block_edge_load(te, size);
	for (int L = 1; L < TILE_LEVELS; L++)
	{
		int64		n = size >> (L * TILE_HEIGHT);

		te->idx[L] = n / TILE_WIDTH;
		te->width[L] = te->stored[L] = (int) (n % TILE_WIDTH);
		if (te->width[L] > 0)
		{
			tiles[nt].level = L;
			tiles[nt].idx = te->idx[L];
			nt++;
		}
	}
	if (nt == 0)
		return;
	fetch_tiles(tiles, nt);
	for (int k = 0; k < nt; k++)
	{
		int			L = tiles[k].level;

		if (tiles[k].len < te->width[L])
			tree_error(psprintf("the right-edge tile (level %d, index %lld) is missing or too narrow",
								L, (long long) te->idx[L]));
		/*
		 * A row wider than the tree was not written by seal(): one inserted
		 * ahead of the tree (behind the append-only guard, or by the 0.5.0 ->
		 * 0.6.0 update from a log_node with nodes past the tree).  Appending
		 * would collide with it on the primary key; once the tree reached it,
		 * readers (which take the widest row) would read its hashes.  Refuse,
		 * naming it (red team hx2, T4/T5).
		 */
		if (tiles[k].len > te->width[L])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the log's right-edge tile (level %d, index %lld) has a row wider than the tree",
							L, (long long) te->idx[L]),
					 errdetail("The widest stored row holds %d hashes; the tree of %lld leaves has %d there.",
							   tiles[k].len, (long long) size, te->width[L]),
					 errhint("Run battledger.verify_log(): it reports the row as extra_tile.  It was not written by seal(): restore the log's tables from a backup.")));
		memcpy(te->hashes[L], tiles[k].hashes, (size_t) te->width[L] * HASH256_LEN);
	}
}

/*
 * bl_compact_append's emit: keep the nodes of tree levels 8L, L >= 1, and
 * (0.9.0) those of level 4, a block's full row written at its 16th.
 */
void
tile_edge_emit(TileEdge *te, int level, uint64 index, const uint8 *hash)
{
	int			L = level / TILE_HEIGHT;

	if (level == BLOCK_LEVEL && te->blocks)
	{
		if ((int64) (index / BLOCK_NODES) != te->block_idx || (int) (index % BLOCK_NODES) != te->block_n)
			elog(ERROR, "node (%d, %llu) out of order for its leaf block", level, (unsigned long long) index);
		memcpy(te->block[te->block_n], hash, HASH256_LEN);
		if (++te->block_n == BLOCK_NODES)
		{
			te->write(te->ctx, 0, te->block_idx, BLOCK_NODES, &te->block[0][0]);
			te->block_idx++;
			te->block_n = te->block_stored = 0;
		}
		return;
	}
	if (level == 0 || level % TILE_HEIGHT != 0 || L >= TILE_LEVELS)
		return;					/* leaves are in log_leaf; other levels are recomputed */
	if ((int64) (index / TILE_WIDTH) != te->idx[L] || (int) (index % TILE_WIDTH) != te->width[L])
		elog(ERROR, "node (%d, %llu) out of order for its tile", level, (unsigned long long) index);
	memcpy(te->hashes[L][te->width[L]], hash, HASH256_LEN);
	if (++te->width[L] == TILE_WIDTH)
	{
		te->write(te->ctx, L, te->idx[L], TILE_WIDTH, &te->hashes[L][0][0]);
		te->idx[L]++;
		te->width[L] = te->stored[L] = 0;
	}
}

/* Store the partial right-edge tiles and block that grew (each a row wider than the last). */
void
tile_edge_finish(TileEdge *te)
{
	if (te->blocks && te->block_n > te->block_stored)
	{
		te->write(te->ctx, 0, te->block_idx, te->block_n, &te->block[0][0]);
		te->block_stored = te->block_n;
	}
	for (int L = 1; L < TILE_LEVELS; L++)
		if (te->width[L] > te->stored[L])
		{
			te->write(te->ctx, L, te->idx[L], te->width[L], &te->hashes[L][0][0]);
			te->stored[L] = te->width[L];
		}
}

void
tree_error(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("the log's stored tree is incomplete: %s", what),
			 errhint("Run battledger.verify_log().")));
}

/*
 * Sealed size of the log (number of leaves). Caller is connected to SPI.
 * Not read-only: a fresh snapshot, so a sealer that waited for another sees
 * what that one committed.
 */
int64
log_size(void)
{
	/*
	 * Planned once per backend (SPI_keepplan: the plan cache replans it if
	 * log_leaf changes): planning the max() was a fifth of a proof's time.
	 */
	static SPIPlanPtr size_plan = NULL;
	bool		isnull;
	Datum		d;

	if (size_plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare("SELECT coalesce(pg_catalog.max(leaf_index) OPERATOR(pg_catalog.+) 1, 0) FROM battledger.log_leaf", 0, NULL);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not plan the log's size: %s", SPI_result_code_string(SPI_result));
		size_plan = p;
	}
	if (SPI_execute_plan(size_plan, NULL, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.log_leaf");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return DatumGetInt64(d);
}

void
check_range(int64 v, int64 lo, int64 hi, const char *what)
{
	if (v < lo || v > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %lld is out of range", what, (long long) v),
				 errdetail("It must be between %lld and %lld.", (long long) lo, (long long) hi)));
}

void
root_at(int64 size, uint8 *out)
{
	NodeSet    *ns = palloc0(sizeof(NodeSet));
	size_t		n;

	if (bl_merkle_root_nodes((uint64) size, ns->levels, ns->idx, &n) != 0)
		elog(ERROR, "bad tree size");
	ns->n = (int) n;
	nodeset_fetch(ns);
	if (bl_merkle_root((uint64) size, nodeset_get, ns, out) != 0)
		tree_error("a subtree of the root is missing");
}

/* Latest checkpoint (size, root, note); false if none. Caller is connected to SPI. */
bool
latest_checkpoint(int64 *size, uint8 *root, char **note)
{
	static SPIPlanPtr latest_plan = NULL;	/* planned once per backend, as log_size() */
	bool		isnull;

	if (latest_plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare("SELECT tree_size, root, note FROM battledger.checkpoint "
									"ORDER BY tree_size DESC LIMIT 1", 0, NULL);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not plan the latest checkpoint: %s", SPI_result_code_string(SPI_result));
		latest_plan = p;
	}
	if (SPI_execute_plan(latest_plan, NULL, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.checkpoint");
	if (SPI_processed == 0)
		return false;
	*size = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	memcpy(root, DatumGetHash256P(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull))->bytes,
		   HASH256_LEN);
	if (note)
		*note = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	return true;
}

