/*
 * log_tree.c — the log's tree store: the nodes a computation needs, read
 * from the blocks of 16 nodes (0.9.0) or recomputed from the tiles and
 * leaves that hold them, the right-edge tiles and blocks seal() extends,
 * the sealed size, the root at a size and the latest checkpoint.  Part of
 * the transparency log (log.c); log_internal.h joins its files.
 *
 * Why one file: where a node lives (the widest block row of its level 4k
 * for proofs; the leaf ranges below level 8 and the widest row of a tile
 * above for seal() and as the fallback) is one rule, read by
 * nodeset_fetch() and written by the right edges seal() extends; kept
 * together so that a change of the layout changes both at once.
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
 * Fetch the listed nodes: since 0.9.0 from the blocks of 16 nodes first
 * (docs/design.md, "Blocks of 16 nodes"; block_place()), and what they do
 * not hold from the tiles (docs/design.md, "The tiled layout").
 * Node (h, j) with 8L <= h < 8L+8 is the root of the 2^(h-8L) hashes at level
 * 8L from index j * 2^(h-8L): for L = 0 leaf hashes, read from log_leaf by
 * leaf_index range; else hashes of tile (L, that index / 256), its widest
 * row (the hashes of a narrower row of the same tile are a prefix of it).
 * At most 127 hashes recompute a node.  The tiles and the leaves by index
 * scan (fetch_rows_direct, fetch_leaves_direct) or, where row security, a
 * missing privilege or another key says a query must read them, one query
 * each, planned once per backend; their operators are pg_catalog's whatever the caller's
 * search_path (PUBLIC calls the proof functions).  Not read-only: seal() reads the tiles and leaves it just wrote.
 */
static SPIPlanPtr tile_plan = NULL;
static SPIPlanPtr leaf_plan = NULL;

/* the widest row of a tile (log_tile) or, 0.9.0, of a block (log_block) */
typedef struct FetchRow
{
	int			level;
	int64		idx;
	int			len;			/* hashes held; -1 if no row */
	uint8	   *hashes;
} FetchRow;

typedef struct FetchLeaves
{
	int64		lo,
				hi;				/* leaf indexes [lo, hi) */
	uint8		(*h)[HASH256_LEN];
	bool	   *have;
} FetchLeaves;

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
 * A log table read through its primary key directly (fetch_rows_direct,
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
	/* not through a key flagged invalid or unmaintained (behind the guards) */
	ok = kr->irel->rd_index->indnatts == nkey && kr->irel->rd_rel->relam == BTREE_AM_OID &&
		kr->irel->rd_index->indisvalid && kr->irel->rd_index->indisready && kr->irel->rd_index->indislive;
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
 * A tile or block row's hashes into the fetch; a row of another length than
 * whole hashes, or more than the table's width, is not read (verify_log()
 * names it), and the row counts as missing.
 */
static void
row_take(FetchRow *row, bytea *b, int maxwidth)
{
	size_t		len = VARSIZE_ANY_EXHDR(b);

	if (len % HASH256_LEN != 0 || len > (size_t) maxwidth * HASH256_LEN)
		return;
	row->len = (int) (len / HASH256_LEN);
	row->hashes = palloc(Max(len, 1));
	memcpy(row->hashes, VARDATA_ANY(b), len);
}

/*
 * The tiles (log_tile) or blocks (log_block, the same columns) through the
 * table's primary key directly, for the reason the leaves are
 * (fetch_leaves_direct): through SPI, the query's subplan was planned again
 * on every proof (a custom plan for its array parameters) and its executor
 * set up, a sixth of a proof at 1M leaves (perf).  A backward scan of
 * (level, idx) meets the widest visible row first, the row the query's
 * ORDER BY width DESC LIMIT 1 takes.  Taken under the same conditions
 * (log_key_read_open(): the primary key is (level, idx, width)).
 */
static bool
fetch_rows_direct(const char *table, int maxwidth, FetchRow *rows, int n)
{
	LogKeyRead kr;
	Oid			types[4];

	tile_col_types(types);
	if (!log_key_read_open(&kr, table, tile_cols, types, 4, 3))
		return false;
	for (int i = 0; i < n; i++)
	{
		ScanKeyData key[2];
		IndexScanDesc scan;

		rows[i].len = -1;
		ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(rows[i].level));
		ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(rows[i].idx));
		scan = bl_index_beginscan(kr.rel, kr.irel, kr.snap, 2, 0);
		index_rescan(scan, key, 2, NULL, 0);
		/* the first visible row only: the widest, as the query's LIMIT 1 */
		if (index_getnext_slot(scan, BackwardScanDirection, kr.slot))
		{
			bool		n1,
						n2,
						n3;
			int			level = DatumGetInt32(slot_getattr(kr.slot, kr.ai[0] + 1, &n1));
			int64		idx = DatumGetInt64(slot_getattr(kr.slot, kr.ai[1] + 1, &n2));
			Datum		h = slot_getattr(kr.slot, kr.ai[3] + 1, &n3);

			if (!n1 && !n2 && !n3 && level == rows[i].level && idx == rows[i].idx)
				row_take(&rows[i], DatumGetByteaPP(h), maxwidth);
		}
		index_endscan(scan);
	}
	log_key_read_close(&kr);
	return true;
}

/* The same through a query, planned once per backend and table (*plan). */
static void
fetch_rows(const char *table, int maxwidth, SPIPlanPtr *plan, FetchRow *rows, int n)
{
	Oid			types[2] = {INT4ARRAYOID, INT8ARRAYOID};
	Datum		args[2];
	Datum	   *lv = palloc(sizeof(Datum) * n);
	Datum	   *ix = palloc(sizeof(Datum) * n);

	if (*plan == NULL)
		keep_plan(plan, psprintf("SELECT q.l, q.i, (SELECT t.hashes FROM battledger.%s t "
								 "  WHERE t.level OPERATOR(pg_catalog.=) q.l AND t.idx OPERATOR(pg_catalog.=) q.i "
								 "  ORDER BY t.width DESC LIMIT 1) "
								 "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) q(l, i)", table),
				  2, types);
	for (int i = 0; i < n; i++)
	{
		lv[i] = Int32GetDatum(rows[i].level);
		ix[i] = Int64GetDatum(rows[i].idx);
		rows[i].len = -1;
	}
	args[0] = PointerGetDatum(construct_array(lv, n, INT4OID, 4, true, TYPALIGN_INT));
	args[1] = PointerGetDatum(construct_array(ix, n, INT8OID, 8, true, TYPALIGN_DOUBLE));
	if (SPI_execute_plan(*plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.%s", table);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	t = SPI_tuptable->vals[r];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		int			level = DatumGetInt32(SPI_getbinval(t, d, 1, &isnull));
		int64		idx = DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
		Datum		h = SPI_getbinval(t, d, 3, &isnull);

		if (isnull)
			continue;
		for (int i = 0; i < n; i++)
			if (rows[i].level == level && rows[i].idx == idx && rows[i].len < 0)
				row_take(&rows[i], DatumGetByteaPP(h), maxwidth);
	}
}

static void
fetch_tiles(FetchRow *tiles, int nt)
{
	if (!fetch_rows_direct("log_tile", TILE_WIDTH, tiles, nt))
		fetch_rows("log_tile", TILE_WIDTH, &tile_plan, tiles, nt);
}

static void
fetch_blocks(FetchRow *blocks, int nb)
{
	static SPIPlanPtr block_plan = NULL;

	if (!fetch_rows_direct("log_block", BLOCK_WIDTH, blocks, nb))
		fetch_rows("log_block", BLOCK_WIDTH, &block_plan, blocks, nb);
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
 * The block row holding node (h, j) of tree level h >= 4: the 2^(h - 4k)
 * nodes of level 4k from index j 2^(h - 4k), all in row (4k, that / 16).
 */
static void
block_place(int h, uint64 j, int *level, int64 *idx, int *from, int *span)
{
	int			s = h % BLOCK_HEIGHT;
	int64		first = (int64) (j << s);

	*level = h - s;
	*span = 1 << s;
	*idx = first / BLOCK_WIDTH;
	*from = (int) (first % BLOCK_WIDTH);
}

/* The fetched block holding node i whole, or NULL (its row is missing or narrower). */
static FetchRow *
block_of(NodeSet *ns, int i, FetchRow *blocks, int nb)
{
	int			level,
				from,
				span;
	int64		idx;

	if (ns->levels[i] < BLOCK_HEIGHT || ns->levels[i] >= BLOCK_HEIGHT * (BLOCK_LEVELS + 1) ||
		ns->idx[i] > ((uint64) PG_INT64_MAX >> (ns->levels[i] % BLOCK_HEIGHT)))
		return NULL;
	block_place(ns->levels[i], ns->idx[i], &level, &idx, &from, &span);
	for (int k = 0; k < nb; k++)
		if (blocks[k].level == level && blocks[k].idx == idx)
			return from + span <= blocks[k].len ? &blocks[k] : NULL;
	return NULL;
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

/* Whether the blocks are stored (log_block, 0.9.0). */
bool
log_blocked(void)
{
	return OidIsValid(get_relname_relid("log_block", get_namespace_oid("battledger", false)));
}

void
nodeset_fetch(NodeSet *ns)
{
	FetchRow   *tiles = palloc(sizeof(FetchRow) * Max(ns->n, 1));
	FetchLeaves *ranges = palloc(sizeof(FetchLeaves) * Max(ns->n, 1));
	FetchRow   *blocks = palloc(sizeof(FetchRow) * Max(ns->n, 1));
	int			nt = 0,
				nr = 0,
				nb = 0;
	uint8		(*buf)[HASH256_LEN] = palloc(HASH256_LEN * (TILE_WIDTH / 2));

	if (!log_tiled())
	{
		nodeset_fetch_nodes(ns);
		return;
	}

	/*
	 * First the blocks (0.9.0), one row per node of level 4 or more; seal()
	 * reads none (from_hashes).  What they do not hold whole (a row missing,
	 * or narrower than the node: not written by seal()) comes from the tiles
	 * and leaves below.
	 */
	for (int i = 0; i < ns->n; i++)
		ns->have[i] = false;
	if (!ns->from_hashes && log_blocked())
	{
		for (int i = 0; i < ns->n; i++)
		{
			int			level,
						from,
						span,
						k;
			int64		idx;

			if (ns->levels[i] < BLOCK_HEIGHT || ns->levels[i] >= BLOCK_HEIGHT * (BLOCK_LEVELS + 1) ||
				ns->idx[i] > ((uint64) PG_INT64_MAX >> (ns->levels[i] % BLOCK_HEIGHT)))
				continue;
			block_place(ns->levels[i], ns->idx[i], &level, &idx, &from, &span);
			for (k = 0; k < nb; k++)
				if (blocks[k].level == level && blocks[k].idx == idx)
					break;
			if (k == nb)
			{
				blocks[nb].level = level;
				blocks[nb].idx = idx;
				nb++;
			}
		}
		if (nb > 0)
			fetch_blocks(blocks, nb);
		for (int i = 0; i < ns->n; i++)
		{
			FetchRow   *b = block_of(ns, i, blocks, nb);
			int			level,
						from,
						span;
			int64		idx;

			if (b == NULL)
				continue;
			block_place(ns->levels[i], ns->idx[i], &level, &idx, &from, &span);
			memcpy(buf, b->hashes + (size_t) from * HASH256_LEN, (size_t) span * HASH256_LEN);
			subtree_root(buf, span, ns->hash[i]);
			ns->have[i] = true;
		}
	}

	/* the tiles and leaf ranges the other nodes need: one range per 256 leaves */
	for (int i = 0; i < ns->n; i++)
	{
		int			L = ns->levels[i] / TILE_HEIGHT;
		int			sh = ns->levels[i] - L * TILE_HEIGHT;
		int64		first = (int64) (ns->idx[i] << sh);
		int64		block = first / TILE_WIDTH;
		int			k;

		if (ns->have[i] || ns->levels[i] < 0 || L >= TILE_LEVELS || ns->idx[i] > ((uint64) PG_INT64_MAX >> sh))
			continue;
		if (L == 0)
		{
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
	if (nt > 0)
		fetch_tiles(tiles, nt);
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

		if (ns->have[i] || ns->levels[i] < 0 || L >= TILE_LEVELS || ns->idx[i] > ((uint64) PG_INT64_MAX >> sh))
			continue;
		if (L == 0)
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
					if (ok)
						memcpy(buf, tiles[k].hashes + (size_t) off * HASH256_LEN, (size_t) span * HASH256_LEN);
					break;
				}
		}
		if (!ok)
			continue;
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

/*
 * The right-edge block of each block level at tree size `size` (0.9.0): its
 * nodes so far, recomputed from the tiles and leaves (which the root just
 * checked covers: from_hashes), and the width of its widest stored row;
 * seal() writes a full block at its 16th node and, at the end, the edges
 * that grew, as for the tiles.  A row ahead of the tree (a later block, or
 * the edge's wider than the tree) was not written by seal(): refused, naming
 * it, rather than failing later on the primary key (as tiles, red team hx2).
 */
static void
block_edge_load(TileEdge *te, int64 size)
{
	/* each level's last row, through the primary key */
	if (SPI_execute("SELECT l.lv, w.idx, w.width FROM pg_catalog.generate_series(4, 60, 4) l(lv) "
					"  JOIN LATERAL (SELECT b.idx, b.width FROM battledger.log_block b "
					"    WHERE b.level OPERATOR(pg_catalog.=) l.lv "
					"    ORDER BY b.idx DESC, b.width DESC LIMIT 1) w ON true", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the log's blocks");
	for (int k = 0; k < BLOCK_LEVELS; k++)
	{
		int64		n = size >> (BLOCK_HEIGHT * (k + 1));

		te->bidx[k] = n / BLOCK_WIDTH;
		te->bwidth[k] = (int) (n % BLOCK_WIDTH);
		te->bstored[k] = 0;
	}
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		n1,
					n2,
					n3;
		int			level = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &n1));
		int64		idx = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &n2));
		int			width = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 3, &n3));
		int			k = level / BLOCK_HEIGHT - 1;

		if (n1 || n2 || n3)
			continue;
		if (idx > te->bidx[k] || (idx == te->bidx[k] && width > te->bwidth[k]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the log's block (level %d, index %lld) has a row ahead of the tree",
							level, (long long) idx),
					 errdetail("Its widest row holds %d nodes; the tree of %lld leaves has %d there.",
							   width, (long long) size, idx == te->bidx[k] ? te->bwidth[k] : 0),
					 errhint("Run battledger.verify_log(): it reports the row as extra_block.  It was not written by seal(): restore the log's tables from a backup.")));
		if (idx == te->bidx[k])
			te->bstored[k] = width;
	}
	for (int k = 0; k < BLOCK_LEVELS; k++)
	{
		NodeSet    *ns;

		if (te->bwidth[k] == 0)
			continue;
		ns = palloc0(sizeof(NodeSet));
		ns->n = te->bwidth[k];
		ns->from_hashes = true;
		for (int j = 0; j < te->bwidth[k]; j++)
		{
			ns->levels[j] = BLOCK_HEIGHT * (k + 1);
			ns->idx[j] = (uint64) (te->bidx[k] * BLOCK_WIDTH + j);
		}
		nodeset_fetch(ns);
		for (int j = 0; j < te->bwidth[k]; j++)
		{
			if (!ns->have[j])
				tree_error(psprintf("node (%d, %llu) of the right edge is missing",
									ns->levels[j], (unsigned long long) ns->idx[j]));
			memcpy(te->bhashes[k][j], ns->hash[j], HASH256_LEN);
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
tile_edge_load(TileEdge *te, int64 size, tile_write_fn write, block_write_fn bwrite, void *ctx)
{
	FetchRow	tiles[TILE_LEVELS];
	int			nt = 0;

	te->write = write;
	te->bwrite = bwrite;
	te->ctx = ctx;
	te->blocks = log_blocked();
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
 * bl_compact_append's emit: keep the nodes of tree levels 8L, L >= 1, in
 * tiles, and (0.9.0) those of levels 4k, k >= 1, in blocks.
 */
void
tile_edge_emit(TileEdge *te, int level, uint64 index, const uint8 *hash)
{
	int			L = level / TILE_HEIGHT;
	int			k = level / BLOCK_HEIGHT - 1;

	if (te->blocks && level > 0 && level % BLOCK_HEIGHT == 0 && k < BLOCK_LEVELS)
	{
		if ((int64) (index / BLOCK_WIDTH) != te->bidx[k] || (int) (index % BLOCK_WIDTH) != te->bwidth[k])
			elog(ERROR, "node (%d, %llu) out of order for its block", level, (unsigned long long) index);
		memcpy(te->bhashes[k][te->bwidth[k]], hash, HASH256_LEN);
		if (++te->bwidth[k] == BLOCK_WIDTH)
		{
			te->bwrite(te->ctx, level, te->bidx[k], BLOCK_WIDTH, &te->bhashes[k][0][0]);
			te->bidx[k]++;
			te->bwidth[k] = te->bstored[k] = 0;
		}
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

/* Store the partial right-edge tiles and blocks that grew (each a row wider than the last). */
void
tile_edge_finish(TileEdge *te)
{
	for (int k = 0; te->blocks && k < BLOCK_LEVELS; k++)
		if (te->bwidth[k] > te->bstored[k])
		{
			te->bwrite(te->ctx, BLOCK_HEIGHT * (k + 1), te->bidx[k], te->bwidth[k], &te->bhashes[k][0][0]);
			te->bstored[k] = te->bwidth[k];
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
	LogKeyRead	kr;
	Oid			types[6];

	/*
	 * The last leaf through log_leaf's primary key directly, where the query
	 * would read the same rows (log_key_read_open()): planning and running
	 * the max() through SPI was a tenth of a proof's time (perf, 0.9.0).
	 */
	leaf_col_types(types);
	if (log_key_read_open(&kr, "log_leaf", leaf_cols, types, 6, 1))
	{
		IndexScanDesc scan = bl_index_beginscan(kr.rel, kr.irel, kr.snap, 0, 0);
		int64		size = 0;

		index_rescan(scan, NULL, 0, NULL, 0);
		if (index_getnext_slot(scan, BackwardScanDirection, kr.slot))
		{
			d = slot_getattr(kr.slot, kr.ai[0] + 1, &isnull);
			if (!isnull)
				size = DatumGetInt64(d) + 1;
		}
		index_endscan(scan);
		log_key_read_close(&kr);
		return size;
	}
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

