/*
 * log_bulk.c — seal()'s bulk write path: the queue read with one heap scan,
 * leaves and tiles written with table_multi_insert and direct index inserts,
 * and the checks of when it may be taken.  Part of the transparency log
 * (log.c); log_internal.h joins its files.
 */
#include "log.h"
#include "log_internal.h"

#include "access/genam.h"
#include "access/hash.h"
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
#include "utils/datum.h"
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
#include "pgutil.h"
#include "merkle.h"
#include "note.h"

/*
 * The fast path of seal(): the queue is read with one heap scan and its rows
 * deleted in place, and leaves and tiles are written with table_multi_insert
 * (one WAL record per page, as COPY does) and their index entries inserted
 * directly, instead of a DELETE ... RETURNING and two INSERT ... SELECT
 * unnest(...) through SPI per chunk, whose tuplestores, per-row executor
 * work and per-row WAL records were most of seal()'s time (docs/benchmarks.md).
 * It writes exactly the rows the SPI path writes.  It is taken only when the
 * SPI path would do nothing more: no INSERT trigger on log_leaf or log_tile
 * and no DELETE trigger on log_pending would fire (a consortium member's
 * ENABLE REPLICA arrival trigger does not fire in a seal), no row-level
 * security applies, and the caller holds the privileges the statements
 * would check.  Otherwise seal() keeps the SPI path, which applies all of it.
 */

/*
 * Find the named columns of one of the log's tables (as a statement naming
 * them would), checking their types; attidx[i] is the 0-based position of
 * names[i].  Returns whether the table has exactly these columns in this
 * order, nothing more: only then may rows be formed or read by position.
 */
bool
log_columns(Relation rel, const char *const *names, const Oid *types, int n, int *attidx)
{
	TupleDesc	d = RelationGetDescr(rel);
	bool		exact = d->natts == n;

	for (int i = 0; i < n; i++)
	{
		attidx[i] = -1;
		for (int a = 0; a < d->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(d, a);

			if (!att->attisdropped && strcmp(NameStr(att->attname), names[i]) == 0)
			{
				attidx[i] = a;
				break;
			}
		}
		if (attidx[i] < 0 || TupleDescAttr(d, attidx[i])->atttypid != types[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("column \"%s\" of \"%s\" is missing or has another type",
							names[i], RelationGetRelationName(rel)),
					 errhint("Reinstall the extension's tables from a backup; run battledger.verify_log().")));
		exact = exact && attidx[i] == i;
	}
	return exact;
}

const char *const leaf_cols[6] = {"leaf_index", "tbl", "seq", "prev", "row_hash", "leaf_hash"};
const char *const tile_cols[4] = {"level", "idx", "width", "hashes"};
const char *const node_cols[3] = {"level", "idx", "hash"};
const char *const block_cols[4] = {"level", "idx", "width", "hashes"};
static const char *const pending_cols[4] = {"tbl", "seq", "prev", "row_hash"};

void
leaf_col_types(Oid *t)
{
	t[0] = INT8OID;
	t[1] = TEXTOID;
	t[2] = INT8OID;
	t[3] = t[4] = t[5] = hash256_type_oid();
}

void
node_col_types(Oid *t)
{
	t[0] = INT4OID;
	t[1] = INT8OID;
	t[2] = hash256_type_oid();
}

void
block_col_types(Oid *t)
{
	tile_col_types(t);			/* the same shape as a tile row */
}

void
tile_col_types(Oid *t)
{
	t[0] = INT4OID;
	t[1] = INT8OID;
	t[2] = INT4OID;
	t[3] = BYTEAOID;
}

/* Whether a trigger of this event (TRIGGER_TYPE_INSERT, ...) on rel would fire now. */
static bool
triggers_would_fire(Relation rel, int16 event)
{
	TriggerDesc *td = rel->trigdesc;

	if (td == NULL)
		return false;
	for (int i = 0; i < td->numtriggers; i++)
	{
		Trigger    *t = &td->triggers[i];

		if ((t->tgtype & event) == 0 || t->tgenabled == TRIGGER_DISABLED)
			continue;
		if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA
			? t->tgenabled == TRIGGER_FIRES_ON_ORIGIN
			: t->tgenabled == TRIGGER_FIRES_ON_REPLICA)
			continue;
		return true;
	}
	return false;
}

/* Whether the fast path writes what the SPI statements would (see above). */
bool
seal_fast_allowed(void)
{
	bool		tiled = log_tiled();
	const char *names[4] = {"log_pending", "log_leaf", tiled ? "log_tile" : "log_node", "log_block"};
	AclMode		modes[4] = {ACL_SELECT | ACL_DELETE, ACL_INSERT, ACL_INSERT, ACL_INSERT};
	int16		events[4] = {TRIGGER_TYPE_DELETE, TRIGGER_TYPE_INSERT, TRIGGER_TYPE_INSERT, TRIGGER_TYPE_INSERT};
	int			ntables = tiled && log_blocked() ? 4 : 3;	/* log_block since 0.9.0 */
	bool		ok = true;

	for (int i = 0; i < ntables && ok; i++)
	{
		Oid			relid = log_relid(names[i]);
		Relation	rel;

		if (pg_class_aclcheck(relid, GetUserId(), modes[i]) != ACLCHECK_OK ||
			check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
			return false;
		rel = table_open(relid, RowExclusiveLock);
		ok = !triggers_would_fire(rel, events[i]);
		/* rows are formed and read by position: only on the shape installed */
		if (ok)
		{
			Oid			types[6];
			int			attidx[6];

			if (i == 0)
			{
				leaf_col_types(types);	/* the queue's four are the leaf's 2..5 */
				ok = log_columns(rel, pending_cols, types + 1, 4, attidx);
			}
			else if (i == 1)
			{
				leaf_col_types(types);
				ok = log_columns(rel, leaf_cols, types, 6, attidx);
			}
			else if (i == 3)
			{
				block_col_types(types);
				ok = log_columns(rel, block_cols, types, 4, attidx);
			}
			else if (tiled)
			{
				tile_col_types(types);
				ok = log_columns(rel, tile_cols, types, 4, attidx);
			}
			else
			{
				node_col_types(types);
				ok = log_columns(rel, node_cols, types, 3, attidx);
			}
		}
		table_close(rel, NoLock);
	}
	return ok;
}

/*
 * Hash index entries, deferred.  A hash index entry of a random key (a row
 * hash, a SHA-256) goes to a random bucket page: inserted row by row, every
 * insert touched a cold page.  Inserted in bucket order instead -- the low
 * bits of the hash code select the bucket at any index size, so the order is
 * that of the bit-reversed code -- consecutive inserts share their page.
 * The entries are the same; only the order of their insertion changes.  They
 * are inserted before anything in seal() can read the index (bulk_flush_hash
 * from seal_fast_flush and bulk_close, each followed by a
 * CommandCounterIncrement), so no statement sees a leaf without its entry.
 */
typedef struct HashDeferred
{
	uint32		order;			/* the hash code, bit-reversed */
	ItemPointerData tid;
} HashDeferred;

#define HASH_DEFERRED_MAX (1 << 18)

static uint32
bit_reverse32(uint32 v)
{
	v = ((v >> 1) & 0x55555555) | ((v & 0x55555555) << 1);
	v = ((v >> 2) & 0x33333333) | ((v & 0x33333333) << 2);
	v = ((v >> 4) & 0x0F0F0F0F) | ((v & 0x0F0F0F0F) << 4);
	v = ((v >> 8) & 0x00FF00FF) | ((v & 0x00FF00FF) << 8);
	return (v >> 16) | (v << 16);
}

/*
 * Sort the entries by (order, tid).  A radix sort of the 32-bit order, four
 * stable passes of 8 bits through a second array, then the rare runs of
 * equal order put in tid order: qsort() with a comparison call per step was
 * 5% of seal()'s time (docs/benchmarks.md, 0.12.0).  The order is the same.
 */
static void
hash_deferred_sort(HashDeferred *hd, HashDeferred *tmp, int64 n)
{
	HashDeferred *from = hd;
	HashDeferred *to = tmp;

	for (int shift = 0; shift < 32; shift += 8)
	{
		int64		count[256] = {0};
		int64		pos = 0;

		for (int64 i = 0; i < n; i++)
			count[(from[i].order >> shift) & 0xFF]++;
		for (int d = 0; d < 256; d++)
		{
			int64		c = count[d];

			count[d] = pos;
			pos += c;
		}
		for (int64 i = 0; i < n; i++)
			to[count[(from[i].order >> shift) & 0xFF]++] = from[i];
		from = to;
		to = (from == hd) ? tmp : hd;
	}
	/* four passes: the sorted entries are back in hd */
	Assert(from == hd);
	for (int64 i = 1; i < n; i++)
	{
		HashDeferred x = hd[i];
		int64		j = i;

		while (j > 0 && hd[j - 1].order == x.order &&
			   ItemPointerCompare(&hd[j - 1].tid, &x.tid) > 0)
		{
			hd[j] = hd[j - 1];
			j--;
		}
		hd[j] = x;
	}
}

/*
 * Insert the deferred hash index entries, in bucket order.  A hash index
 * entry holds only the hash code and the heap tid, and the code was taken
 * when the row was written: the entry is formed from it and given to the
 * hash access method's insertion routine, as hashinsert() would after
 * computing the code again from the key (and it takes the predicate locks
 * and splits buckets as there).  One index tuple is formed and reused.
 */
static void
bulk_flush_hash(BulkRel *b)
{
	Datum		code = UInt32GetDatum(0);
	bool		isnull = false;
	IndexTuple	itup;
	Size		off;

	if (b->nhd == 0)
		return;
	hash_deferred_sort(b->hd, b->hdtmp, b->nhd);
	itup = index_form_tuple(RelationGetDescr(b->hidx), &code, &isnull);
	off = IndexInfoFindDataOffset(itup->t_info);
	for (int64 i = 0; i < b->nhd; i++)
	{
		uint32		hashkey = bit_reverse32(b->hd[i].order);

		memcpy((char *) itup + off, &hashkey, sizeof(uint32));
		itup->t_tid = b->hd[i].tid;
		bl_hash_doinsert(b->hidx, itup, b->rel);
	}
	pfree(itup);
	b->nhd = 0;
}

/*
 * Take a plain hash index on one column out of the ResultRelInfo's list, to
 * insert its entries ourselves (above).  Only an index whose entry is the
 * column's value as is: no expression, no predicate, not unique (a hash
 * index cannot be), not deferred, and ready for inserts (one still being
 * built concurrently gets no entries, as ExecInsertIndexTuples would give it
 * none: its build adds them).  Others stay with ExecInsertIndexTuples.
 */
static void
bulk_defer_hash(BulkRel *b)
{
	ResultRelInfo *rri = b->rri;

	b->hidx = NULL;
	for (int i = 0; i < rri->ri_NumIndices; i++)
	{
		Relation	ir = rri->ri_IndexRelationDescs[i];
		IndexInfo  *ii = rri->ri_IndexRelationInfo[i];

		if (ir->rd_rel->relam != HASH_AM_OID || ii->ii_NumIndexAttrs != 1 ||
			ii->ii_IndexAttrNumbers[0] <= 0 || ii->ii_Expressions != NIL ||
			ii->ii_Predicate != NIL || ii->ii_Unique || ii->ii_ExclusionOps != NULL ||
			!ii->ii_ReadyForInserts)
			continue;
		b->hidx = ir;
		b->hinfo = ii;
		/* the last one takes its place; ExecCloseIndices closes the rest */
		rri->ri_IndexRelationDescs[i] = rri->ri_IndexRelationDescs[rri->ri_NumIndices - 1];
		rri->ri_IndexRelationInfo[i] = rri->ri_IndexRelationInfo[rri->ri_NumIndices - 1];
		rri->ri_NumIndices--;
		b->maxhd = HASH_DEFERRED_MAX;
		b->hd = palloc(sizeof(HashDeferred) * b->maxhd);
		b->hdtmp = palloc(sizeof(HashDeferred) * b->maxhd);
		b->nhd = 0;
		return;
	}
}

static void
bulk_open(BulkRel *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->rel = table_open(log_relid(name), RowExclusiveLock);
	b->estate = CreateExecutorState();
	b->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(b->rri, b->rel, 1, NULL, 0);
	ExecOpenIndices(b->rri, false);
	b->bis = GetBulkInsertState();
	b->cid = GetCurrentCommandId(true);
	for (int i = 0; i < BULK_SLOTS; i++)
		b->slots[i] = table_slot_create(b->rel, NULL);
	bulk_defer_hash(b);
}

/* Insert the buffered rows and their index entries. */
static void
bulk_flush(BulkRel *b)
{
	if (b->n == 0)
		return;
	table_multi_insert(b->rel, b->slots, b->n, b->cid, 0, b->bis);
	for (int i = 0; i < b->n; i++)
	{
		List	   *r = bl_exec_insert_index_tuples(b->rri, b->slots[i], b->estate, false, false, NULL, NIL);

		list_free(r);
		ResetPerTupleExprContext(b->estate);
		if (b->hidx)
		{
			HashDeferred *h = &b->hd[b->nhd++];
			AttrNumber	att = b->hinfo->ii_IndexAttrNumbers[0];
			bool		isnull;
			Datum		v = slot_getattr(b->slots[i], att, &isnull);

			if (isnull)			/* log_leaf's columns are NOT NULL; hash skips NULLs */
			{
				b->nhd--;
				ExecClearTuple(b->slots[i]);
				continue;
			}
			h->tid = b->slots[i]->tts_tid;
			/* the entry is the code: hashinsert() computes it the same way */
			h->order = bit_reverse32(_hash_datum2hashkey(b->hidx, v));
			if (b->nhd == b->maxhd)
				bulk_flush_hash(b);
		}
		ExecClearTuple(b->slots[i]);
	}
	b->n = 0;
}

/* The next slot to fill (cleared, values/isnull to set, then bulk_add). */
static TupleTableSlot *
bulk_next(BulkRel *b)
{
	if (b->n == BULK_SLOTS)
		bulk_flush(b);
	ExecClearTuple(b->slots[b->n]);
	return b->slots[b->n];
}

static void
bulk_add(BulkRel *b)
{
	ExecStoreVirtualTuple(b->slots[b->n]);
	/* materialize now: the Datums it points to are reused by the caller */
	ExecMaterializeSlot(b->slots[b->n]);
	b->n++;
}

static void
bulk_close(BulkRel *b)
{
	bulk_flush(b);
	bulk_flush_hash(b);
	if (b->hidx)
	{
		index_close(b->hidx, RowExclusiveLock);	/* as ExecCloseIndices does */
		pfree(b->hd);
		pfree(b->hdtmp);
	}
	for (int i = 0; i < BULK_SLOTS; i++)
		ExecDropSingleTupleTableSlot(b->slots[i]);
	FreeBulkInsertState(b->bis);
	table_finish_bulk_insert(b->rel, 0);
	ExecCloseIndices(b->rri);
	FreeExecutorState(b->estate);
	table_close(b->rel, NoLock);
}

static void
seal_fast_emit(void *ctx, int level, uint64_t index, const uint8_t hash[BL_MERKLE_HASH_LEN])
{
	SealFast   *sf = ctx;
	TupleTableSlot *s;

	if (sf->edge)
	{
		tile_edge_emit(sf->edge, level, index, hash);
		return;
	}
	/* before 0.6.0: every node above the leaves is a row of log_node */
	if (level == 0)
		return;					/* leaves are stored in log_leaf */
	s = bulk_next(&sf->tile);
	s->tts_values[0] = Int32GetDatum(level);
	s->tts_values[1] = Int64GetDatum((int64) index);
	s->tts_values[2] = PointerGetDatum(hash);
	memset(s->tts_isnull, 0, sizeof(bool) * 3);
	bulk_add(&sf->tile);
}

/* tile_edge's writers: one log_tile or log_block row into its bulk buffer */
static void
seal_fast_row(BulkRel *r, int level, int64 idx, int width, const uint8 *hashes)
{
	TupleTableSlot *s = bulk_next(r);
	bytea	   *b = tile_bytea(hashes, width);

	s->tts_values[0] = Int32GetDatum(level);
	s->tts_values[1] = Int64GetDatum(idx);
	s->tts_values[2] = Int32GetDatum(width);
	s->tts_values[3] = PointerGetDatum(b);
	memset(s->tts_isnull, 0, sizeof(bool) * 4);
	bulk_add(r);
	pfree(b);
}

static void
seal_fast_tile(void *ctx, int level, int64 idx, int width, const uint8 *hashes)
{
	seal_fast_row(&((SealFast *) ctx)->tile, level, idx, width, hashes);
}

static void
seal_fast_block(void *ctx, int level, int64 idx, int width, const uint8 *hashes)
{
	seal_fast_row(&((SealFast *) ctx)->block, level, idx, width, hashes);
}

void
seal_fast_begin(SealFast *sf, int64 size)
{
	bulk_open(&sf->leaf, "log_leaf");
	sf->edge = NULL;
	sf->block.rel = NULL;
	if (log_tiled())
	{
		bulk_open(&sf->tile, "log_tile");
		if (log_blocked())
			bulk_open(&sf->block, "log_block");
		sf->edge = palloc(sizeof(TileEdge));
		tile_edge_load(sf->edge, size, seal_fast_tile, seal_fast_block, sf);
	}
	else
		bulk_open(&sf->tile, "log_node");
	sf->pending = table_open(log_relid("log_pending"), RowExclusiveLock);
	/* every queued row committed by now, and those requeue_if_lost() just added */
	CommandCounterIncrement();
	sf->snap = RegisterSnapshot(GetLatestSnapshot());
	sf->scan = bl_table_beginscan(sf->pending, sf->snap);
	sf->done = false;
}

/* Write what is buffered, in order, before a checkpoint row follows it. */
void
seal_fast_flush(SealFast *sf)
{
	bulk_flush(&sf->leaf);
	bulk_flush(&sf->tile);
	if (sf->block.rel)
		bulk_flush(&sf->block);
	bulk_flush_hash(&sf->leaf);
	bulk_flush_hash(&sf->tile);
	CommandCounterIncrement();
}

void
seal_fast_end(SealFast *sf)
{
	table_endscan(sf->scan);
	UnregisterSnapshot(sf->snap);
	table_close(sf->pending, NoLock);
	if (sf->edge)
		tile_edge_finish(sf->edge);
	bulk_close(&sf->leaf);
	bulk_close(&sf->tile);
	if (sf->block.rel)
		bulk_close(&sf->block);
	CommandCounterIncrement();	/* the checks and the checkpoint that follow see them */
}

/* Integrate up to limit queued rows from the scan; returns how many. */
int64
seal_fast_chunk(SealFast *sf, bl_compact *c, MemoryContext chunkcxt, int64 limit)
{
	MemoryContext old = MemoryContextSwitchTo(chunkcxt);
	TupleDesc	pd = RelationGetDescr(sf->pending);
	StringInfoData leaf;
	int64		n = 0;
	HeapTuple	t;

	initStringInfo(&leaf);
	while (n < limit && (t = heap_getnext(sf->scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull[4];
		Datum		v[4];
		Hash256		lh;
		text	   *tbl;
		TupleTableSlot *s;

		heap_deform_tuple(t, pd, v, isnull);
		if (isnull[0] || isnull[1] || isnull[2] || isnull[3])
			elog(ERROR, "a row of battledger.log_pending has a NULL");
		tbl = DatumGetTextPP(v[0]);
		resetStringInfo(&leaf);
		log_leaf_bytes(&leaf, VARDATA_ANY(tbl), VARSIZE_ANY_EXHDR(tbl), DatumGetInt64(v[1]),
					   DatumGetHash256P(v[2])->bytes, DatumGetHash256P(v[3])->bytes);
		if (bl_merkle_leaf_hash(leaf.data, leaf.len, lh.bytes) != 0)
			elog(ERROR, "could not hash a log leaf");
		s = bulk_next(&sf->leaf);
		s->tts_values[0] = Int64GetDatum((int64) c->size);
		s->tts_values[1] = v[0];
		s->tts_values[2] = v[1];
		s->tts_values[3] = v[2];
		s->tts_values[4] = v[3];
		s->tts_values[5] = PointerGetDatum(&lh);
		memset(s->tts_isnull, 0, sizeof(bool) * 6);
		bulk_add(&sf->leaf);	/* copies the values out of the queue's buffer */
		simple_heap_delete(sf->pending, &t->t_self);
		if (bl_compact_append(c, lh.bytes, seal_fast_emit, sf) != 0)
			elog(ERROR, "could not extend the log's tree");
		n++;
		if ((n & 4095) == 0)
		{
			MemoryContextReset(chunkcxt);	/* detoasted names, leaf bytes */
			initStringInfo(&leaf);
		}
	}
	if (n < limit)
		sf->done = true;
	MemoryContextSwitchTo(old);
	MemoryContextReset(chunkcxt);
	return n;
}

/*
 * Whether the log queue is whole: log_pending_intact holds its row.  Before
 * 0.4.0 (this library under an extension not yet updated) there is no such
 * table and the queue is logged, so always whole.
 */
