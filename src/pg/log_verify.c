/*
 * log_verify.c — verify_log(): rechecks leaves, tiles, checkpoints and rows
 * against the stored log, reporting each problem as a row.  Part of the
 * transparency log (log.c); log_internal.h joins its files.
 *
 * Why one file: every check reads the tree recomputed from the leaves
 * (Levels) and reports into the one result set; the reading of 0.5.0's
 * log_node is kept beside the tiles' only until the update drops it.
 */
#include "log.h"
#include "log_internal.h"

#include "access/heapam.h"
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
#include "log_keys.h"
#include "log_verify_rows.h"
#include "pgutil.h"

typedef struct Levels
{
	int			nlevels;
	int64		count[64];
	uint8		(*h[64])[HASH256_LEN];
} Levels;

static int
levels_get(void *ctx, int level, uint64_t index, uint8_t out[BL_MERKLE_HASH_LEN])
{
	Levels	   *lv = ctx;

	/* stored rows may have been written behind the guards: any level or index */
	if (level < 0 || level >= lv->nlevels || (int64) index < 0 || (int64) index >= lv->count[level])
		return -1;
	memcpy(out, lv->h[level][index], HASH256_LEN);
	return 0;
}

static void
put_problem(Tuplestorestate *ts, TupleDesc desc, const char *problem, int64 pos, const char *detail)
{
	Datum		v[3];
	bool		n[3] = {false, false, detail == NULL};

	v[0] = CStringGetTextDatum(problem);
	v[1] = Int64GetDatum(pos);
	v[2] = detail ? CStringGetTextDatum(detail) : (Datum) 0;
	tuplestore_putvalues(ts, desc, v, n);
}

/*
 * verify_log() reads log_leaf and log_tile with one heap scan each (under the
 * statement's snapshot) rather than through an ordered SPI cursor: copying
 * every row into SPI tuple tables and walking the primary key in order was
 * most of its time (docs/benchmarks.md).  Rows are placed by their index, so
 * what is reported, and in which order, is what the ordered reading reported.
 */
static Relation
verify_open(const char *name)
{
	Oid			relid = log_relid(name);

	/* the SPI cursor checked this privilege; keep that */
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(relid));
	return table_open(relid, AccessShareLock);
}

/* a leaf whose index lies outside the array being filled (rows written behind the guards) */
typedef struct StrayLeaf
{
	int64		idx;
	bool		mismatch;
	uint8		hash[HASH256_LEN];
} StrayLeaf;

/*
 * The leaf arrays' room (pcap >= cap): cap, the indexes the reading covers,
 * doubles as before (it decides which leaves are strays); the memory behind
 * it is sized once from log_leaf's row estimate, in 2 MB pages, and only
 * reallocated if the estimate was short.  Grown from 1,024 by repalloc, the
 * 1M leaves' 34 MB were first touched afresh at every doubling, in 4 kB pages
 * (issue 15, 0.13.0).
 */
typedef struct LeafArrays
{
	int64		pcap;
	void	   *hblock;			/* what to pfree for each */
	void	   *pblock;
	void	   *mblock;
} LeafArrays;

static void
leaf_arrays_alloc(LeafArrays *la, int64 pcap, Levels *lv, uint8 **present, uint8 **mismatch, int64 keep)
{
	LeafArrays	old = *la;
	uint8		(*h)[HASH256_LEN] = bl_alloc_huge_pages(pcap * HASH256_LEN, &la->hblock);
	uint8	   *p = bl_alloc_huge_pages(pcap, &la->pblock);
	uint8	   *m = bl_alloc_huge_pages(pcap, &la->mblock);

	if (keep > 0)
	{
		memcpy(h, lv->h[0], keep * HASH256_LEN);
		memcpy(p, *present, keep);
		memcpy(m, *mismatch, keep);
		pfree(old.hblock);
		pfree(old.pblock);
		pfree(old.mblock);
	}
	la->pcap = pcap;
	lv->h[0] = h;
	*present = p;
	*mismatch = m;
}

/*
 * Leaves: recompute each leaf hash from its stored fields; returns the
 * level-0 array.  With ltp (verify_log(true)), also hand each leaf's
 * (leaf_index, tbl, seq, row_hash) to a LeafTables returned in *ltp, for the
 * check of the rows, which then reads log_leaf no more (0.14.0).
 */
static int64
verify_leaves(Levels *lv, Tuplestorestate *ts, TupleDesc desc, LeafTables **ltp)
{
	Relation	rel = verify_open("log_leaf");
	TupleDesc	d = RelationGetDescr(rel);
	TableScanDesc scan = bl_table_beginscan(rel, GetActiveSnapshot());
	HeapTuple	t;
	int64		cap = 1024;
	int64		rows = 0;
	int64		expect;
	int64		next = PG_INT64_MAX;	/* smallest index above the first gap */
	int64		dup = PG_INT64_MAX; /* smallest index held twice */
	uint8	   *present;
	uint8	   *mismatch;
	LeafArrays	la;
	StrayLeaf  *stray = NULL;
	int			nstray = 0,
				capstray = 0;
	StringInfoData buf;
	BlProgress	progress;
	Oid			types[6];
	int			ai[6];
	Datum	   *v;
	bool	   *isnull;
	LeafTables *lt = ltp ? (*ltp = leaf_tables_create(rel->rd_rel->reltuples)) : NULL;

	bl_progress_start(&progress, "verify_log", "leaves");
	{
		int64		pcap = cap;

		while (pcap < rel->rd_rel->reltuples && pcap < ((int64) 1 << 34))
			pcap *= 2;
		leaf_arrays_alloc(&la, pcap, lv, &present, &mismatch, 0);
	}
	memset(present, 0, cap);
	memset(mismatch, 0, cap);
	initStringInfo(&buf);
	leaf_col_types(types);
	(void) log_columns(rel, leaf_cols, types, 6, ai);
	v = palloc(sizeof(Datum) * d->natts);
	isnull = palloc(sizeof(bool) * d->natts);
	while ((t = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		int64		idx;
		uint8		h[HASH256_LEN];
		bool		bad;
		text	   *tbl;

		heap_deform_tuple(t, d, v, isnull);
		for (int k = 0; k < 6; k++)
			if (isnull[ai[k]])
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("a row of battledger.log_leaf has a NULL"),
						 errdetail("Its NOT NULL constraints were dropped behind the extension's guards."),
						 errhint("Restore the log's tables from a backup.")));
		idx = DatumGetInt64(v[ai[0]]);
		tbl = DatumGetTextPP(v[ai[1]]);
		resetStringInfo(&buf);
		log_leaf_bytes(&buf, VARDATA_ANY(tbl), VARSIZE_ANY_EXHDR(tbl), DatumGetInt64(v[ai[2]]),
					   DatumGetHash256P(v[ai[3]])->bytes, DatumGetHash256P(v[ai[4]])->bytes);
		if (lt)
			leaf_tables_add(lt, VARDATA_ANY(tbl), VARSIZE_ANY_EXHDR(tbl), idx, DatumGetInt64(v[ai[2]]),
							DatumGetHash256P(v[ai[4]])->bytes);
		if ((Pointer) tbl != DatumGetPointer(v[ai[1]]))
			pfree(tbl);
		bl_merkle_leaf_hash(buf.data, buf.len, h);
		bad = memcmp(h, DatumGetHash256P(v[ai[5]])->bytes, HASH256_LEN) != 0;
		rows++;
		/* the array grows to cover indexes up to twice the rows seen so far */
		while (idx >= cap && idx < 2 * rows + 1024)
		{
			int64		ncap = cap * 2;

			if (ncap > la.pcap)
				leaf_arrays_alloc(&la, ncap, lv, &present, &mismatch, cap);
			memset(present + cap, 0, ncap - cap);
			memset(mismatch + cap, 0, ncap - cap);
			cap = ncap;
		}
		if (idx >= 0 && idx < cap)
		{
			if (present[idx])
				dup = Min(dup, idx);
			present[idx] = 1;
			mismatch[idx] = bad;
			memcpy(lv->h[0][idx], h, HASH256_LEN);
		}
		else
		{
			if (nstray == capstray)
			{
				capstray = Max(16, capstray * 2);
				stray = stray ? repalloc_huge(stray, sizeof(StrayLeaf) * capstray)
					: palloc_extended(sizeof(StrayLeaf) * capstray, MCXT_ALLOC_HUGE);
			}
			stray[nstray].idx = idx;
			stray[nstray].mismatch = bad;
			memcpy(stray[nstray].hash, h, HASH256_LEN);
			nstray++;
		}
		if ((rows % 20000) == 0)
		{
			bl_progress_step(&progress, rows, 0);
			CHECK_FOR_INTERRUPTS();
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);

	/* strays that fall inside the array after all (it grew past them) */
	for (int i = 0; i < nstray; i++)
		if (stray[i].idx >= 0 && stray[i].idx < cap)
		{
			int64		idx = stray[i].idx;

			if (present[idx])
				dup = Min(dup, idx);
			present[idx] = 1;
			mismatch[idx] = stray[i].mismatch;
			memcpy(lv->h[0][idx], stray[i].hash, HASH256_LEN);
		}

	/*
	 * In index order, the leaves are whole up to the first index not held
	 * (or, with an index held twice, up to just after it); a negative index
	 * comes first of all.
	 */
	expect = 0;
	while (expect < cap && present[expect])
		expect++;
	for (int i = 0; i < nstray; i++)
		if (stray[i].idx < 0)
			expect = 0;
	if (dup != PG_INT64_MAX && dup + 1 < expect)
		expect = dup + 1;
	for (int64 i = 0; i < expect; i++)
		if (mismatch[i])
			put_problem(ts, desc, "leaf_hash_mismatch", i,
						"The stored leaf hash is not the hash of the leaf's fields.");
	if (expect < rows)
	{
		/* the index the ordered reading found at position expect */
		if (dup != PG_INT64_MAX && dup + 1 == expect)
			next = dup;
		else
		{
			for (int i = 0; i < nstray; i++)
				if (stray[i].idx < 0 || stray[i].idx > expect)
					next = Min(next, stray[i].idx);
			if (next >= 0)
				for (int64 i = expect + 1; i < Min(cap, next); i++)
					if (present[i])
					{
						next = i;
						break;
					}
		}
		put_problem(ts, desc, "missing_leaves", expect,
					psprintf("Leaf indexes %lld to %lld are absent.", (long long) expect,
							 (long long) (next - 1)));
	}
	pfree(la.pblock);
	pfree(la.mblock);
	if (stray)
		pfree(stray);
	return expect;
}

/* a problem found in log_node, reported in (level, idx) order as the ordered reading did */
typedef struct NodeProblem
{
	int			level;
	int64		idx;
	bool		extra;
} NodeProblem;

static int
node_problem_cmp(const void *a, const void *b)
{
	const NodeProblem *x = a;
	const NodeProblem *y = b;

	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return 0;
}

/*
 * Before 0.6.0 (this library under an extension not yet updated): recompute
 * every perfect subtree and compare with the rows of log_node.
 */
static void
verify_nodes(Levels *lv, int64 nleaves, Tuplestorestate *ts, TupleDesc desc)
{
	Relation	rel;
	TupleDesc	d;
	TableScanDesc scan;
	HeapTuple	t;
	int64		stored = 0;
	int64		expected = 0;
	NodeProblem *probs = NULL;
	int64		nprobs = 0,
				capprobs = 0;
	Oid			types[3];
	int			ai[3];
	Datum	   *v;
	bool	   *isnull;

	lv->count[0] = nleaves;
	lv->nlevels = 1;
	while (lv->count[lv->nlevels - 1] >= 2)
	{
		int			L = lv->nlevels;
		int64		n = lv->count[L - 1] / 2;

		void	   *block;	/* kept with the call's memory, as lv->h[0] */

		lv->h[L] = bl_alloc_huge_pages(Max(n, 1) * HASH256_LEN, &block);
		for (int64 i = 0; i < n; i++)
			bl_merkle_node_hash(lv->h[L - 1][2 * i], lv->h[L - 1][2 * i + 1], lv->h[L][i]);
		lv->count[L] = n;
		lv->nlevels++;
		expected += n;
	}
	rel = verify_open("log_node");
	d = RelationGetDescr(rel);
	node_col_types(types);
	(void) log_columns(rel, node_cols, types, 3, ai);
	v = palloc(sizeof(Datum) * d->natts);
	isnull = palloc(sizeof(bool) * d->natts);
	scan = bl_table_beginscan(rel, GetActiveSnapshot());
	while ((t = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		int			level;
		int64		idx;
		uint8		h[HASH256_LEN];
		bool		extra;

		heap_deform_tuple(t, d, v, isnull);
		if (isnull[ai[0]] || isnull[ai[1]] || isnull[ai[2]])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("a row of battledger.log_node has a NULL"),
					 errhint("Restore the log's tables from a backup.")));
		level = DatumGetInt32(v[ai[0]]);
		idx = DatumGetInt64(v[ai[1]]);
		stored++;
		extra = levels_get(lv, level, (uint64) idx, h) != 0;
		if (extra || memcmp(h, DatumGetHash256P(v[ai[2]])->bytes, HASH256_LEN) != 0)
		{
			if (nprobs == capprobs)
			{
				capprobs = Max(16, capprobs * 2);
				probs = probs ? repalloc_huge(probs, sizeof(NodeProblem) * capprobs)
					: palloc_extended(sizeof(NodeProblem) * capprobs, MCXT_ALLOC_HUGE);
			}
			probs[nprobs].level = level;
			probs[nprobs].idx = idx;
			probs[nprobs].extra = extra;
			nprobs++;
		}
		if ((stored % 20000) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	if (nprobs > 1)
		qsort(probs, nprobs, sizeof(NodeProblem), node_problem_cmp);
	for (int64 i = 0; i < nprobs; i++)
	{
		if (probs[i].extra)
			put_problem(ts, desc, "extra_node", probs[i].idx,
						psprintf("Node (level %d, index %lld) is not part of the tree.", probs[i].level, (long long) probs[i].idx));
		else
			put_problem(ts, desc, "node_mismatch", probs[i].idx,
						psprintf("Node (level %d, index %lld) does not hash its children.", probs[i].level, (long long) probs[i].idx));
	}
	if (stored < expected)
		put_problem(ts, desc, "missing_nodes", expected - stored,
					psprintf("%lld stored tree nodes are missing.", (long long) (expected - stored)));
}

/* a problem found in log_tile, reported in (level, idx, width) order */
typedef struct TileProblem
{
	int			level;
	int64		idx;
	int			width;
	bool		extra;
} TileProblem;

static int
tile_problem_cmp(const void *a, const void *b)
{
	const TileProblem *x = a;
	const TileProblem *y = b;

	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	if (x->width != y->width)
		return x->width < y->width ? -1 : 1;
	return 0;
}

/*
 * A tile or block row without level, index or width (its primary key
 * dropped behind the guards): no problem row can name it.
 */
static void
null_key_error(const char *table)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("a row of battledger.%s has a NULL level, index or width", table),
			 errdetail("Its primary key was dropped behind the extension's guards."),
			 errhint("Restore the log's tables from a backup.")));
}

/* one more problem row of log_tile or log_block */
static void
tile_problem_add(TileProblem **probs, int64 *n, int64 *cap, int level, int64 idx, int width, bool extra)
{
	if (*n == *cap)
	{
		*cap = Max(16, *cap * 2);
		*probs = *probs ? repalloc_huge(*probs, sizeof(TileProblem) * *cap)
			: palloc_extended(sizeof(TileProblem) * *cap, MCXT_ALLOC_HUGE);
	}
	(*probs)[*n].level = level;
	(*probs)[*n].idx = idx;
	(*probs)[*n].width = width;
	(*probs)[*n].extra = extra;
	(*n)++;
}

/*
 * Recompute every perfect subtree from the leaves, then check every row of
 * log_tile against it: a row that is not a tile of this tree (a level, index
 * or width it does not have, or hashes not 32 bytes each) is extra_tile; a
 * row holding a hash the tree does not have is tile_mismatch (a superseded
 * narrower row of the right edge is checked like the others); each full
 * tile and each tile level's current right edge must be stored.
 */
static void
verify_tiles(Levels *lv, int64 nleaves, Tuplestorestate *ts, TupleDesc desc)
{
	Relation	rel;
	TupleDesc	d;
	TableScanDesc scan;
	HeapTuple	t;
	int64		stored = 0;
	TileProblem *probs = NULL;
	int64		nprobs = 0,
				capprobs = 0;
	Oid			types[4];
	int			ai[4];
	Datum	   *v;
	bool	   *isnull;
	bool	   *full[TILE_LEVELS] = {0};
	int64		nfull[TILE_LEVELS] = {0};
	bool		edge[TILE_LEVELS] = {0};
	int64		missing = 0;
	int			first_level = 0;
	int64		first_idx = 0;

	lv->count[0] = nleaves;
	lv->nlevels = 1;
	while (lv->count[lv->nlevels - 1] >= 2)
	{
		int			L = lv->nlevels;
		int64		n = lv->count[L - 1] / 2;

		void	   *block;	/* kept with the call's memory, as lv->h[0] */

		lv->h[L] = bl_alloc_huge_pages(Max(n, 1) * HASH256_LEN, &block);
		for (int64 i = 0; i < n; i++)
			bl_merkle_node_hash(lv->h[L - 1][2 * i], lv->h[L - 1][2 * i + 1], lv->h[L][i]);
		lv->count[L] = n;
		lv->nlevels++;
	}
	for (int L = 1; L < TILE_LEVELS && L * TILE_HEIGHT < lv->nlevels; L++)
	{
		nfull[L] = lv->count[L * TILE_HEIGHT] / TILE_WIDTH;
		full[L] = palloc_extended(Max(nfull[L], 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	}
	rel = verify_open("log_tile");
	d = RelationGetDescr(rel);
	tile_col_types(types);
	(void) log_columns(rel, tile_cols, types, 4, ai);
	v = palloc(sizeof(Datum) * d->natts);
	isnull = palloc(sizeof(bool) * d->natts);
	scan = bl_table_beginscan(rel, GetActiveSnapshot());
	while ((t = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		int			level;
		int64		idx;
		int			width;
		bytea	   *b;
		bool		extra;
		bool		bad = false;

		heap_deform_tuple(t, d, v, isnull);
		if (isnull[ai[0]] || isnull[ai[1]] || isnull[ai[2]])
			null_key_error("log_tile");
		level = DatumGetInt32(v[ai[0]]);
		idx = DatumGetInt64(v[ai[1]]);
		width = DatumGetInt32(v[ai[2]]);
		/* NULL hashes (NOT NULL dropped behind the guards): named, as proofs skip it */
		b = isnull[ai[3]] ? NULL : DatumGetByteaPP(v[ai[3]]);
		stored++;
		extra = b == NULL || level < 1 || level >= TILE_LEVELS || level * TILE_HEIGHT >= lv->nlevels ||
			width < 1 || width > TILE_WIDTH || idx < 0 ||
			idx > (lv->count[level * TILE_HEIGHT] - width) / TILE_WIDTH ||
			idx * TILE_WIDTH + width > lv->count[level * TILE_HEIGHT] ||
			VARSIZE_ANY_EXHDR(b) != (Size) width * HASH256_LEN;
		if (!extra)
		{
			const uint8 *h = (const uint8 *) VARDATA_ANY(b);
			int64		last = lv->count[level * TILE_HEIGHT] - idx * TILE_WIDTH;

			for (int k = 0; k < width && !bad; k++)
				bad = memcmp(h + (size_t) k * HASH256_LEN,
							 lv->h[level * TILE_HEIGHT][idx * TILE_WIDTH + k], HASH256_LEN) != 0;
			/* stored, if wrong (tile_mismatch says so, not missing_tiles too) */
			if (width == TILE_WIDTH)
				full[level][idx] = true;
			else if (last < TILE_WIDTH && width == last)
				edge[level] = true;
		}
		if (extra || bad)
			tile_problem_add(&probs, &nprobs, &capprobs, level, idx, width, extra);
		if ((stored % 1000) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	if (nprobs > 1)
		qsort(probs, nprobs, sizeof(TileProblem), tile_problem_cmp);
	for (int64 i = 0; i < nprobs; i++)
	{
		if (probs[i].extra)
			put_problem(ts, desc, "extra_tile", probs[i].idx,
						psprintf("Tile (level %d, index %lld, width %d) is not part of the tree.",
								 probs[i].level, (long long) probs[i].idx, probs[i].width));
		else
			put_problem(ts, desc, "tile_mismatch", probs[i].idx,
						psprintf("Tile (level %d, index %lld, width %d) holds hashes that are not the tree's.",
								 probs[i].level, (long long) probs[i].idx, probs[i].width));
	}
	/* each full tile, and each level's partial right edge, once at least */
	for (int L = TILE_LEVELS - 1; L >= 1; L--)
	{
		if (L * TILE_HEIGHT >= lv->nlevels)
			continue;
		if (lv->count[L * TILE_HEIGHT] % TILE_WIDTH != 0 && !edge[L])
		{
			missing++;
			first_level = L;
			first_idx = nfull[L];
		}
		for (int64 i = nfull[L] - 1; i >= 0; i--)
			if (!full[L][i])
			{
				missing++;
				first_level = L;
				first_idx = i;
			}
	}
	if (missing > 0)
		put_problem(ts, desc, "missing_tiles", missing,
					psprintf("%lld stored tiles are missing (the first: level %d, index %lld).",
							 (long long) missing, first_level, (long long) first_idx));
}

static int
block_problem_cmp(const void *a, const void *b)
{
	const TileProblem *x = a;
	const TileProblem *y = b;

	if (x->extra != y->extra)
		return x->extra ? 1 : -1;	/* mismatches first */
	return tile_problem_cmp(a, b);
}

/*
 * Check every row of log_block (0.9.0) against the recomputed tree: a row
 * of a level that is not 4k (k >= 1), or whose nodes the tree does not have
 * (an index or width past it), or not width whole hashes, is extra_block;
 * one holding other nodes than the tree's is block_mismatch (proofs read
 * them; a superseded narrower row of a right edge is checked like the
 * others); every full block and each level's current right edge must be
 * stored, else missing_blocks (ref: how many; detail: the first).  A missing
 * block only slows proofs: they read its nodes from the tiles and leaves.
 */
static void
verify_blocks(Levels *lv, Tuplestorestate *ts, TupleDesc desc)
{
	bool	   *full[BLOCK_LEVELS] = {0};
	int64		nfull[BLOCK_LEVELS] = {0};
	bool		edge[BLOCK_LEVELS] = {0};
	TileProblem *probs = NULL;
	int64		nprobs = 0,
				capprobs = 0,
				missing = 0,
				rows = 0,
				first_idx = 0;
	int			first_level = 0;
	Relation	rel = verify_open("log_block");
	TupleDesc	d = RelationGetDescr(rel);
	Oid			types[4];
	int			ai[4];
	Datum	   *v = palloc(sizeof(Datum) * d->natts);
	bool	   *isnull = palloc(sizeof(bool) * d->natts);
	TableScanDesc scan;
	HeapTuple	t;

	for (int k = 0; k < BLOCK_LEVELS && BLOCK_HEIGHT * (k + 1) < lv->nlevels; k++)
	{
		nfull[k] = lv->count[BLOCK_HEIGHT * (k + 1)] / BLOCK_WIDTH;
		full[k] = palloc_extended(Max(nfull[k], 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	}
	block_col_types(types);
	(void) log_columns(rel, block_cols, types, 4, ai);
	scan = bl_table_beginscan(rel, GetActiveSnapshot());
	while ((t = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		int			level;
		int64		idx;
		int			width;
		int			k;
		bytea	   *b;
		bool		extra;
		bool		bad = false;

		heap_deform_tuple(t, d, v, isnull);
		if (isnull[ai[0]] || isnull[ai[1]] || isnull[ai[2]])
			null_key_error("log_block");
		level = DatumGetInt32(v[ai[0]]);
		idx = DatumGetInt64(v[ai[1]]);
		width = DatumGetInt32(v[ai[2]]);
		/* NULL hashes (NOT NULL dropped behind the guards): named, as proofs skip it */
		b = isnull[ai[3]] ? NULL : DatumGetByteaPP(v[ai[3]]);
		k = level / BLOCK_HEIGHT - 1;
		extra = b == NULL || level < BLOCK_HEIGHT || level % BLOCK_HEIGHT != 0 || k >= BLOCK_LEVELS ||
			level >= lv->nlevels || width < 1 || width > BLOCK_WIDTH || idx < 0 ||
			idx > (lv->count[level] - width) / BLOCK_WIDTH ||
			idx * BLOCK_WIDTH + width > lv->count[level] ||
			VARSIZE_ANY_EXHDR(b) != (Size) width * HASH256_LEN;
		if (!extra)
		{
			bad = memcmp(VARDATA_ANY(b), lv->h[level][idx * BLOCK_WIDTH], (size_t) width * HASH256_LEN) != 0;
			/* stored, if wrong (block_mismatch says so, not missing_blocks too) */
			if (width == BLOCK_WIDTH)
				full[k][idx] = true;
			else if (idx == nfull[k] && width == lv->count[level] % BLOCK_WIDTH)
				edge[k] = true;
		}
		if (extra || bad)
			tile_problem_add(&probs, &nprobs, &capprobs, level, idx, width, extra);
		if ((++rows % 1000) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	if (nprobs > 1)
		qsort(probs, nprobs, sizeof(TileProblem), block_problem_cmp);
	for (int64 i = 0; i < nprobs; i++)
		put_problem(ts, desc, probs[i].extra ? "extra_block" : "block_mismatch", probs[i].idx,
					psprintf(probs[i].extra
							 ? "Block (level %d, index %lld, width %d) is not part of the tree."
							 : "Block (level %d, index %lld, width %d) holds nodes that are not the tree's.",
							 probs[i].level, (long long) probs[i].idx, probs[i].width));
	/* each full block, and each level's partial right edge */
	for (int k = BLOCK_LEVELS - 1; k >= 0; k--)
	{
		int			level = BLOCK_HEIGHT * (k + 1);

		if (level >= lv->nlevels)
			continue;
		if (lv->count[level] % BLOCK_WIDTH != 0 && !edge[k])
		{
			missing++;
			first_level = level;
			first_idx = nfull[k];
		}
		for (int64 i = nfull[k] - 1; i >= 0; i--)
			if (!full[k][i])
			{
				missing++;
				first_level = level;
				first_idx = i;
			}
	}
	if (missing > 0)
		put_problem(ts, desc, "missing_blocks", missing,
					psprintf("%lld stored blocks are missing (the first: level %d, index %lld).",
							 (long long) missing, first_level, (long long) first_idx));
}

/*
 * Checkpoint signatures are checked against the published verifier keys when
 * given (an auditor needs no private key), else against the public half of
 * battledger.log_key_file.  Several keys are the log's keys in the order it
 * used them, oldest first, across rotations: each checkpoint must be signed
 * by the key of its era or a later one, never by a key retired before an
 * earlier checkpoint (a retired key, perhaps a leaked one, cannot add
 * checkpoints after its successor took over).
 */
static void
verify_checkpoints(Levels *lv, int64 nleaves, Tuplestorestate *ts, TupleDesc desc,
				   const bl_vkey *vkeys, int nvkeys)
{
	uint8		own_pub[32];
	bl_vkey		own;
	const bl_vkey *keys = vkeys;
	int			nkeys = nvkeys;
	int			era = 0;		/* the first key a later checkpoint may use */
	const char *origin = (bl_origin && bl_origin[0]) ? bl_origin : NULL;

	bool		key_without_origin = false;

	if (nkeys == 0)
	{
		void	   *key = log_signing_key(true);

		if (key && bl_ed25519_raw_public(key, own_pub) == 0)
		{
			/* without an origin there is no name to check notes under (as before 0.16.0) */
			key_without_origin = origin == NULL || strlen(origin) >= sizeof(own.name);
			if (!key_without_origin)
			{
				memset(&own, 0, sizeof(own));
				strcpy(own.name, origin);
				memcpy(own.pub, own_pub, 32);
				keys = &own;
				nkeys = 1;
			}
		}
	}
	if (SPI_execute("SELECT tree_size, root, note FROM battledger.checkpoint ORDER BY tree_size", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.checkpoint");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		size = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		const uint8 *stored = DatumGetHash256P(SPI_getbinval(t, d, 2, &isnull))->bytes;
		char	   *text = SPI_getvalue(t, d, 3);
		uint8		root[HASH256_LEN];
		bl_note		note;
		bl_checkpoint cp;

		if (size > nleaves || bl_merkle_root((uint64) size, levels_get, lv, root) != 0)
		{
			put_problem(ts, desc, "checkpoint_beyond_log", size, "The checkpoint covers leaves the log does not hold.");
			continue;
		}
		if (memcmp(root, stored, HASH256_LEN) != 0)
			put_problem(ts, desc, "checkpoint_root_mismatch", size,
						"The leaves do not hash to the checkpoint's root: history was rewritten.");
		memset(&note, 0, sizeof(note));
		if (bl_note_parse(text, strlen(text), &note) != 0 ||
			bl_checkpoint_parse(note.text, note.text_len, &cp) != 0)
			put_problem(ts, desc, "checkpoint_malformed", size, "The stored note is not a checkpoint.");
		else
		{
			int			k;

			if (cp.size != (uint64) size || memcmp(cp.root, stored, HASH256_LEN) != 0)
				put_problem(ts, desc, "checkpoint_text_mismatch", size,
							"The signed note's size or root differs from the stored ones.");
			/* the keys share one name, the log's origin (checked when parsed) */
			if (nkeys > 0)
			{
				/*
				 * The newest key that signed it sets the era, as a peer's
				 * witness does (witness.c): a note signed by the old and the
				 * new key during a handover retires the old one (red team
				 * r17k F1).
				 */
				if (cp.origin_len == strlen(keys[0].name) && memcmp(cp.origin, keys[0].name, cp.origin_len) == 0)
					k = bl_note_newest_signer(&note, keys, nkeys, era);
				else
					k = -1;
				if (k >= era)
					era = k;
				else
					put_problem(ts, desc, "checkpoint_bad_signature", size,
								nvkeys == 0 ? "The note is not signed for its origin by the key of battledger.log_key_file "
								"(signed before a key rotation? Pass the log's keys, oldest first, as log_vkey)." :
								nkeys == 1 ? "The note is not signed by this log's key for its origin." :
								psprintf("The note is not signed for its origin by key %d of the %d given or a later one "
										 "(keys oldest first: a checkpoint after one signed by a newer key must not be "
										 "signed by an older one).", era + 1, nkeys));
			}
		}
		bl_note_free(&note);
	}
	if (nkeys == 0 && !key_without_origin)
		put_problem(ts, desc, "signatures_not_checked", 0,
					"No log key: pass the log's published verifier key, verify_log(true, battledger.log_vkey() as published), or set battledger.log_key_file.");
}

/*
 * Sealed rows: each leaf's row must still be in its table with the hash it was
 * sealed with.  Leaves name tables as "schema.table" without quoting; they are
 * matched to the registered ledger tables by that exact text.
 */
/*
 * Every sealed row is still there and still hashes to its leaf; every row
 * this log must hold (this member's rows, and those written before it had an
 * origin) is sealed or queued; every table a leaf names is still a ledger.
 * A table the caller cannot read whole is reported, not skipped silently.
 */
static void
verify_rows(LeafTables *lt, Tuplestorestate *ts, TupleDesc desc)
{
	uint64		ntables;
	char	  **names;
	Oid		   *relids;
	bool		queue_whole;
	int			nleaftables = leaf_tables_count(lt);
	Datum	   *leafnames = palloc(sizeof(Datum) * Max(nleaftables, 1));
	Datum		arg;
	Oid			argtype = TEXTARRAYOID;

	/*
	 * Queued rows can be told from rows added behind the guards only while the
	 * (unlogged) queue is whole: not on a standby, which cannot read it, nor
	 * after a crash emptied it and before seal() re-queued.  Then this
	 * member's unsealed rows are not checked, and that is said.
	 */
	queue_whole = !RecoveryInProgress();
	if (queue_whole)
		queue_whole = queue_intact(true);
	if (!queue_whole)
		put_problem(ts, desc, "queue_not_checked", 0,
					RecoveryInProgress()
					? "This is a standby, which cannot read the unlogged queue: this member's rows that are not sealed yet were not checked."
					: "The unlogged queue was reset by a crash or a failover: this member's rows that are not sealed yet were not checked; the next seal() re-queues them.");

	/*
	 * The tables the leaves name are the distinct tbl of log_leaf, read by
	 * verify_leaves() under this snapshot (as exact bytes, as text's
	 * equality compares them): asking the executor for SELECT DISTINCT tbl
	 * read log_leaf once more and hashed its 1M names (0.14.0).
	 */
	for (int i = 0; i < nleaftables; i++)
		leafnames[i] = CStringGetTextDatum(leaf_tables_name(lt, i));
	arg = PointerGetDatum(construct_array(leafnames, nleaftables, TEXTOID, -1, false, TYPALIGN_INT));
	if (SPI_execute_with_args("SELECT coalesce(l.tbl, n.nspname || '.' || c.relname), c.oid "
							  "FROM pg_catalog.unnest($1) l(tbl) "
							  "FULL JOIN (pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
							  "           JOIN battledger.ledger_tables r ON r.tbl = c.oid) "
							  "       ON n.nspname || '.' || c.relname = l.tbl ORDER BY 1",
							  1, &argtype, &arg, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.ledger_tables");
	ntables = SPI_processed;
	names = palloc(sizeof(char *) * Max(ntables, 1));
	relids = palloc(sizeof(Oid) * Max(ntables, 1));
	for (uint64 i = 0; i < ntables; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);

		names[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		relids[i] = isnull ? InvalidOid : DatumGetObjectId(d);
	}
	for (uint64 i = 0; i < ntables; i++)
	{
		Oid			owner;

		if (!OidIsValid(relids[i]))
		{
			put_problem(ts, desc, "table_missing", 0,
						psprintf("Sealed rows belong to \"%s\", which is no longer a ledger table under that name.", names[i]));
			continue;
		}
		/* one table withheld from the caller must not hide the others' answers */
		owner = bl_rel_owner(relids[i]);
		if (pg_class_aclcheck(relids[i], GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
			check_enable_rls(relids[i], InvalidOid, true) == RLS_ENABLED ||
			check_enable_rls(relids[i], owner, true) == RLS_ENABLED)
		{
			put_problem(ts, desc, "table_not_checked", 0,
						psprintf("\"%s\" was not checked: this role cannot read every row of it (no SELECT privilege, or row-level security).",
								 names[i]));
			continue;
		}
		/* read in C, without the executor (log_verify_rows.c) */
		verify_table_rows(lt, relids[i], names[i], queue_whole, local_origin(), ts, desc, put_problem);
	}
}

/*
 * log_vkey: one verifier key, or the log's keys oldest first, one per line
 * (after a rotation).  They must be Ed25519 note keys of one name: one log
 * (the rules are bl_vkey_list_parse's; the errors say them for log_vkey).
 */
static int
parse_log_vkeys(const char *p, size_t len, bl_vkey *out)
{
	bl_vkey_list_error err;
	int			n = bl_vkey_list_parse(p, len, out, LOG_KEYS_MAX, &err);

	switch (n < 0 ? err.rule : BL_VKEY_LIST_OK)
	{
		case BL_VKEY_LIST_OK:
			break;
		case BL_VKEY_LIST_TOO_MANY:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("log_vkey names more than %d keys", LOG_KEYS_MAX)));
			break;
		case BL_VKEY_LIST_BAD_KEY:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("log_vkey is not an Ed25519 note verifier key"),
					 errdetail("A log's verifier key reads <origin>+<key id>+<base64 key>; after a key "
							   "rotation, give its keys oldest first, one per line (line %d is not one).", err.key),
					 errhint("Use the key the member publishes: SELECT battledger.log_vkey() on its database.")));
			break;
		case BL_VKEY_LIST_DUPLICATE:
			/* a key listed twice would bring a retired key back after a newer one (red team r17k F2) */
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("log_vkey lists key %d twice (lines %d and %d)", err.first_key, err.first_key, err.key),
					 errhint("List each of the log's keys once, oldest first.")));
			break;
		case BL_VKEY_LIST_TWO_NAMES:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("log_vkey names keys of two logs: \"%s\" and \"%s\"", out[0].name, out[err.key - 1].name),
					 errhint("The keys of one log across rotations share its origin as their name.")));
			break;
		case BL_VKEY_LIST_EMPTY:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("log_vkey is empty"),
					 errhint("Pass NULL to check with the log key file, or the member's published verifier key.")));
			break;
	}
	return n;
}

PG_FUNCTION_INFO_V1(battledger_verify_log);
Datum
battledger_verify_log(PG_FUNCTION_ARGS)
{
	int			nest;
	bool		check_rows;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Levels	   *lv;
	bl_vkey		vkeys[LOG_KEYS_MAX];
	int			nvkeys = 0;
	int64		nleaves;
	LeafTables *lt = NULL;
	MemoryContext work;
	MemoryContext old;

	/* no rows would read as "no problems": a NULL is a mistake, not a question */
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("check_rows must not be null"),
				 errhint("Pass true to check the sealed rows too, false to check the tree alone.")));
	check_rows = PG_GETARG_BOOL(0);
	/* this transaction's rows of finished statements are queued, as they were before 0.15.0 */
	log_queue_flush_finished();
	if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
	{
		text	   *t = PG_GETARG_TEXT_PP(1);

		nvkeys = parse_log_vkeys(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), vkeys);
	}
	InitMaterializedSRF(fcinfo, 0);
	work = AllocSetContextCreate(CurrentMemoryContext, "battledger verify_log", ALLOCSET_DEFAULT_SIZES);
	nest = bl_spi_connect();
	old = MemoryContextSwitchTo(work);
	lv = palloc0(sizeof(Levels));
	nleaves = verify_leaves(lv, rsinfo->setResult, rsinfo->setDesc, check_rows ? &lt : NULL);
	if (log_tiled())
	{
		verify_tiles(lv, nleaves, rsinfo->setResult, rsinfo->setDesc);
		if (log_blocked())
			verify_blocks(lv, rsinfo->setResult, rsinfo->setDesc);
	}
	else
		verify_nodes(lv, nleaves, rsinfo->setResult, rsinfo->setDesc);
	verify_checkpoints(lv, nleaves, rsinfo->setResult, rsinfo->setDesc, vkeys, nvkeys);
	if (check_rows)
		verify_rows(lt, rsinfo->setResult, rsinfo->setDesc);
	MemoryContextSwitchTo(old);
	bl_spi_finish(nest);
	MemoryContextDelete(work);
	return (Datum) 0;
}
