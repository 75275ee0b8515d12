/*
 * verify.c — battledger.verify(tbl): walk every chain of a ledger table in
 * (chain, ledger_seq) order and report each row that breaks it.
 *
 * Reads through the chain index with the statement's MVCC snapshot (no
 * planner, no sort), recomputing each row's hash from its stored values,
 * then counts the table's rows with a sequential scan under the same
 * snapshot, so that a row the index does not hold is named too
 * (check_unindexed()).  Returns nothing when the table is intact.
 *
 * Why one file: the batch fetched in heap order, the walk in index order,
 * the copies of origins and keys it keeps and the count of the rows it did
 * not meet all share the walk's state (its snapshot, chain index, batch
 * arrays and row count); split, that state would be passed between files
 * that must agree on when it is valid.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/stratnum.h"
#include "catalog/pg_collation.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "common/hashfn.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"
#include "utils/timestamp.h"

#include "chain.h"
#include "encode.h"
#include "hash256.h"
#include "keys.h"
#include "ledger_rel.h"
#include "pgutil.h"
#include "progress.h"
#include "sign.h"

static const uint8 zero_hash[BL_HASH_LEN];

typedef struct VerifyOut
{
	Tuplestorestate *store;
	TupleDesc	desc;
	FmgrInfo	key_out;			/* the chain column's output function */
} VerifyOut;

/*
 * One problem.  origin names the chain's member (NULL for a batch); key is
 * the chain's key, or NULL where none applies (single chain, a batch).
 */
static void
report(VerifyOut *vo, const Datum *origin, const Datum *key, int64 seq, const char *problem,
	   const char *detail)
{
	Datum		vals[5];
	bool		nulls[5] = {origin == NULL, key == NULL, false, false, detail == NULL};

	vals[0] = origin ? *origin : (Datum) 0;
	vals[1] = key ? CStringGetTextDatum(OutputFunctionCall(&vo->key_out, *key)) : (Datum) 0;
	vals[2] = Int64GetDatum(seq);
	vals[3] = CStringGetTextDatum(problem);
	vals[4] = detail ? CStringGetTextDatum(detail) : (Datum) 0;
	tuplestore_putvalues(vo->store, vo->desc, vals, nulls);
}

/*
 * Batches seen during the walk (name -> first row), each checked once at the
 * end.  A batch's name is its signer's key and its id (0.28.0, red team rt27
 * H6): two members may file the same id.  The key holds the id by pointer,
 * copied into the set's context when first seen: a NUL-padded id of the
 * longest possible length (200 characters of 4 bytes) made every entry ~900
 * bytes and every row's lookup hash 833 bytes (red team rt28 M1).
 */
typedef struct SeenBatchName
{
	Hash256		key_id;
	const char *id;
} SeenBatchName;

typedef struct SeenBatch
{
	SeenBatchName name;
	int64		seq;			/* the first row of the batch met */
} SeenBatch;

static uint32
seen_batch_hash(const void *key, Size keysize)
{
	const SeenBatchName *k = key;

	return hash_combine(hash_bytes(k->key_id.bytes, BL_HASH_LEN),
						hash_bytes((const unsigned char *) k->id, strlen(k->id)));
}

static int
seen_batch_match(const void *key1, const void *key2, Size keysize)
{
	const SeenBatchName *a = key1;
	const SeenBatchName *b = key2;

	if (memcmp(a->key_id.bytes, b->key_id.bytes, BL_HASH_LEN) != 0)
		return 1;
	return strcmp(a->id, b->id);
}

static HTAB *
new_batch_set(void)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(SeenBatchName);
	ctl.entrysize = sizeof(SeenBatch);
	ctl.hash = seen_batch_hash;
	ctl.match = seen_batch_match;
	ctl.hcxt = CurrentMemoryContext;
	return hash_create("battledger verify batches", 64, &ctl,
					   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

/* cxt: where the set was created (the ids are kept there) */
static void
note_batch(HTAB *batches, MemoryContext cxt, const char *id, const Hash256 *key_id, int64 seq)
{
	SeenBatchName k;
	bool		found;
	SeenBatch  *b;

	k.key_id = *key_id;
	k.id = id;
	b = hash_search(batches, &k, HASH_ENTER, &found);
	if (!found)
	{
		/* the row's id lives in a context reset row by row */
		b->name.id = MemoryContextStrdup(cxt, id);
		b->seq = seq;
	}
}

/*
 * Each batch's check in a context of its own, emptied after it: what a check
 * leaves behind (its signature's copy, its query's text, its detail: ~2.7 kB
 * a batch) piled up for every batch of the table (red team rt28 M1).
 */
static void
check_batches(HTAB *batches, Oid relid, VerifyOut *vo)
{
	HASH_SEQ_STATUS status;
	SeenBatch  *b;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "battledger verify batch",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);

	hash_seq_init(&status, batches);
	while ((b = hash_seq_search(&status)) != NULL)
	{
		char	   *detail;
		const char *problem = batch_check(b->name.id, &b->name.key_id, relid, &detail);

		if (problem)
			report(vo, NULL, NULL, b->seq, problem, detail);
		MemoryContextReset(cxt);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

static void
check_access(Relation rel)
{
	AclResult	acl = pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT);

	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, RelationGetRelationName(rel));
	if (check_enable_rls(RelationGetRelid(rel), InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot verify ledger table \"%s\": row-level security hides rows from you",
						RelationGetRelationName(rel)),
				 errhint("Run battledger.verify() as a role that bypasses row-level security on the table.")));
}

/*
 * What the walk needs of one row read through the chain index: the row's own
 * checks are done when the row is fetched (in heap order), the checks that
 * link it to its predecessor when the batch is walked in index order.
 */
typedef struct RowExtra
{
	const char *kproblem;		/* weak key (key_event only) */
	char	   *kdetail;
	const char *sproblem;		/* signature */
	char	   *sdetail;
	char	   *batch_id;		/* signed, in a batch, signature good */
	Hash256		batch_key;		/* with batch_id, the batch's name */
	bool		at_null;
	TimestampTz at;
} RowExtra;

/*
 * 104 bytes, not 144: the batch's array is 262,144 of these, and a fresh
 * backend first touches every page of it (v10: 11% of verify()'s CPU time
 * was that first touch).  What only key_event and signed tables need is in
 * RowExtra, allocated in the batch's context for those rows alone.
 */
typedef struct RowResult
{
	uint8		prev[BL_HASH_LEN];
	uint8		stored[BL_HASH_LEN];
	int64		seq;
	Datum		key;			/* by value, or into the batch's key arena */
	Datum		origin;			/* one of the batch's origins (VerifyCopies) */
	RowExtra   *extra;			/* NULL unless a key problem or a signed table */
	bool		visible;		/* the index entry led to a row this snapshot sees */
	bool		fields_null;	/* ledger_seq, ledger_prev or ledger_hash is NULL */
	bool		ident_null;		/* ledger_origin or the chain key is NULL: no chain */
	bool		hash_ok;		/* ledger_hash is the hash of the row */
	bool		key_arena;		/* key is an offset into the arena until the batch is fetched */
} RowResult;

typedef struct TidPos
{
	uint64		tid;			/* block and offset, in heap order */
	uint32		pos;			/* place in index order */
} TidPos;

#define ST_SORT sort_tidpos
#define ST_ELEMENT_TYPE TidPos
#define ST_COMPARE(a, b) ((a)->tid < (b)->tid ? -1 : (a)->tid > (b)->tid ? 1 : 0)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * The positions (in index order) of a batch's n TIDs (block << 16 | offset),
 * in heap order, as sort_tidpos() ordered them: a batch of a large table
 * spans about as many blocks as it has rows or fewer, so the positions are
 * counted out by block, in time linear in both, then put in offset order
 * within each block by insertion (a block holds a dozen of a batch's rows
 * on average, at most MaxHeapTuplesPerPage); sort_tidpos() took 7% of
 * verify()'s time (v10).  A batch spread over far more blocks than it has
 * rows (one origin's rows in a big table), or with more entries for one
 * block than a block holds tuples, is sorted instead.  The rows are
 * fetched in the same order as before, so a row that makes the encoder
 * raise an error is the same row.
 */
static void
heap_order(const uint64 *tidv, uint32 n, BlockNumber minblk, BlockNumber maxblk, uint32 *order)
{
	uint64		span = (uint64) maxblk - minblk + 1;
	bool		done = false;

	if (span <= (uint64) n * 2 + 65536)
	{
		uint32	   *next = palloc0(sizeof(uint32) * (span + 1));
		uint32		most = 0;	/* entries on one block */

		for (uint32 i = 0; i < n; i++)
			next[(tidv[i] >> 16) - minblk + 1]++;
		for (uint64 b = 1; b <= span; b++)
		{
			most = Max(most, next[b]);
			next[b] += next[b - 1];
		}

		/*
		 * A block holds at most MaxHeapTuplesPerPage tuples, which bounds the
		 * insertion below; an index with more entries for one block in one
		 * batch (stale or forged entries) is sorted instead.
		 */
		if (most <= MaxHeapTuplesPerPage)
		{
			for (uint32 i = 0; i < n; i++)
				order[next[(tidv[i] >> 16) - minblk]++] = i;
			/* by offset within each block: no entry moves past its block */
			for (uint32 i = 1; i < n; i++)
			{
				uint32		p = order[i];
				uint64		t = tidv[p];
				uint32		j = i;

				while (j > 0 && tidv[order[j - 1]] > t)
				{
					order[j] = order[j - 1];
					j--;
				}
				order[j] = p;
			}
			done = true;
		}
		pfree(next);
	}
	if (!done)
	{
		TidPos	   *t = palloc(sizeof(TidPos) * n);

		for (uint32 i = 0; i < n; i++)
		{
			t[i].tid = tidv[i];
			t[i].pos = i;
		}
		sort_tidpos(t, n);
		for (uint32 i = 0; i < n; i++)
			order[i] = t[i].pos;
		pfree(t);
	}
}

/*
 * Index entries read per batch.  Fetching each row as its index entry comes
 * up jumps from page to page (a chain's rows are spread over the whole heap):
 * in 0.5.0 half of verify()'s time went to finding, pinning and pruning a
 * buffer and searching a cold page per row (docs/benchmarks.md, 0.6.0).  A
 * batch's rows are fetched in heap order instead, then walked in index order.
 */
#define VERIFY_BATCH 262144

/*
 * What the walk in index order needs of each row's chain key and origin,
 * kept without an allocation per row: copying both into the batch's context
 * (a detoasting copy of the origin, a datumCopy of the key) was a sixth of
 * verify()'s time, much of it first touching the pages of a context that
 * grew to 262,144 copies and was freed again every batch (perf, 1M rows).
 * A table's rows name few origins: each distinct one is copied once, for
 * the whole call (past ORIGINS_KEPT, or longer than ORIGIN_KEPT_LEN, a row's
 * own copy as before, so that rows written behind the guards with many long
 * origins cost each row at most ORIGINS_KEPT short comparisons).  Keys go
 * into one arena reused by every batch; a row keeps its key's offset, made
 * a pointer once the batch's rows are all fetched (the arena may move while
 * it grows).
 */
#define ORIGINS_KEPT 64
#define ORIGIN_KEPT_LEN 256

/*
 * The keys' arena: grown by doubling, in 2 MB pages once it is that large
 * (bl_alloc_huge_pages()), and sized from the column's average width where
 * ANALYZE has measured it.  As a StringInfo it grew from 1 kB by repalloc,
 * first touching about 2 MB more than it kept, in 4 kB pages: some 490 of a
 * fresh backend's page faults in verify() of 1M rows (issue 15, 0.13.0).
 */
typedef struct KeyArena
{
	char	   *data;
	Size		len;
	Size		maxlen;
	void	   *block;			/* what to pfree, NULL before the first key */
	MemoryContext cxt;			/* the call's: keys are kept from the row context */
} KeyArena;

typedef struct VerifyCopies
{
	MemoryContext cxt;			/* the origins kept, for the whole call */
	int			norigins;
	int			last;			/* the origin the previous row named */
	text	   *origins[ORIGINS_KEPT];
	KeyArena	keys;			/* the batch's by-reference keys */
} VerifyCopies;

static Datum
kept_origin(VerifyCopies *vc, Datum d, MemoryContext batchcxt)
{
	text	   *t = DatumGetTextPP(d);	/* a compressed origin is expanded in the row's context */
	size_t		len = VARSIZE_ANY_EXHDR(t);
	MemoryContext old;
	text	   *copy;
	bool		keep = len <= ORIGIN_KEPT_LEN && vc->norigins < ORIGINS_KEPT;

	for (int k = 0; k < vc->norigins && len <= ORIGIN_KEPT_LEN; k++)
	{
		int			j = (vc->last + k) % vc->norigins;
		text	   *o = vc->origins[j];

		if (VARSIZE_ANY_EXHDR(o) == len && memcmp(VARDATA_ANY(o), VARDATA_ANY(t), len) == 0)
		{
			vc->last = j;
			return PointerGetDatum(o);
		}
	}
	old = MemoryContextSwitchTo(keep ? vc->cxt : batchcxt);
	copy = cstring_to_text_with_len(VARDATA_ANY(t), len);
	MemoryContextSwitchTo(old);
	if (keep)
	{
		vc->last = vc->norigins;
		vc->origins[vc->norigins++] = copy;
	}
	return PointerGetDatum(copy);
}

/*
 * A by-reference key's bytes into the arena: its offset, as a Datum, until
 * the batch is fetched.  Keys stored inline can be up to a page each (a
 * column the owner set to STORAGE PLAIN): past KEY_ARENA_MAX bytes a key is
 * copied into the batch's context, as before, rather than the arena
 * outgrowing what one allocation may hold.
 */
#define KEY_ARENA_MAX (256 * 1024 * 1024)

/* Room for at least need bytes (need <= KEY_ARENA_MAX), the kept bytes kept. */
static void
key_arena_grow(KeyArena *a, Size need)
{
	Size		newmax = Max(Max(a->maxlen * 2, need), (Size) 65536);
	void	   *block;
	char	   *data;
	MemoryContext old = MemoryContextSwitchTo(a->cxt);

	newmax = Min(newmax, (Size) KEY_ARENA_MAX);
	data = bl_alloc_huge_pages(newmax, &block);
	MemoryContextSwitchTo(old);
	if (a->len > 0)
		memcpy(data, a->data, a->len);
	if (a->block)
		pfree(a->block);
	a->data = data;
	a->block = block;
	a->maxlen = newmax;
}

static Datum
kept_key(VerifyCopies *vc, Form_pg_attribute att, Datum d, MemoryContext batchcxt, bool *in_arena)
{
	Size		len;
	Size		off;
	MemoryContext old;
	Datum		copy;

	*in_arena = false;
	if (att->attbyval)
		return d;
	len = datumGetSize(d, false, att->attlen);
	if (vc->keys.len + len + MAXIMUM_ALIGNOF <= KEY_ARENA_MAX)
	{
		/* whole MAXALIGNed slots: a 4-byte varlena header is read as an int */
		off = MAXALIGN(vc->keys.len);
		if (off + len > vc->keys.maxlen)
			key_arena_grow(&vc->keys, off + len);
		memset(vc->keys.data + vc->keys.len, 0, off - vc->keys.len);
		memcpy(vc->keys.data + off, DatumGetPointer(d), len);
		vc->keys.len = off + len;
		*in_arena = true;
		return (Datum) off;
	}
	old = MemoryContextSwitchTo(batchcxt);
	copy = datumCopy(d, false, att->attlen);
	MemoryContextSwitchTo(old);
	return copy;
}

/* The row's own checks, done as it is fetched; batchcxt holds what is kept. */
static void
check_row_alone(LedgerRel *lr, TupleDesc desc, TupleTableSlot *slot, RowResult *r,
				StringInfo buf, MemoryContext batchcxt, VerifyCopies *vc)
{
	Form_pg_attribute keyatt = lr->chain_attno ? TupleDescAttr(desc, lr->chain_attno - 1) : NULL;
	Datum	   *v = slot->tts_values;
	bool	   *n = slot->tts_isnull;
	MemoryContext old;

	slot_getallattrs(slot);
	r->visible = true;
	r->key_arena = false;
	r->hash_ok = false;
	r->extra = NULL;
	/*
	 * Only a superuser behind the guards stores a row without an origin or
	 * a chain key (both NOT NULL): such a row belongs to no chain, and its
	 * NULL was read as a pointer (a crash; red team r16b N1).
	 */
	r->ident_null = n[lr->origin_attno - 1] || (lr->chain_attno && n[lr->chain_attno - 1]);
	if (r->ident_null)
		return;
	r->origin = kept_origin(vc, v[lr->origin_attno - 1], batchcxt);
	if (lr->chain_attno)
		r->key = kept_key(vc, keyatt, v[lr->chain_attno - 1], batchcxt, &r->key_arena);
	r->fields_null = n[lr->seq_attno - 1] || n[lr->prev_attno - 1] || n[lr->hash_attno - 1];
	if (r->fields_null)
		return;
	r->seq = DatumGetInt64(v[lr->seq_attno - 1]);
	memcpy(r->prev, DatumGetHash256P(v[lr->prev_attno - 1])->bytes, BL_HASH_LEN);
	memcpy(r->stored, DatumGetHash256P(v[lr->hash_attno - 1])->bytes, BL_HASH_LEN);
	{
		uint8		computed[BL_HASH_LEN];

		resetStringInfo(buf);
		row_encode(lr->encoder, v, n, buf);
		chain_hash(r->prev, r->seq, buf->data, buf->len, computed);
		r->hash_ok = memcmp(computed, r->stored, BL_HASH_LEN) == 0;
	}
	old = MemoryContextSwitchTo(batchcxt);
	{
		/* a weak key registered before they were refused (key_event only) */
		char	   *kdetail = NULL;
		const char *kproblem = key_row_problem(lr, desc, v, n, &kdetail);

		if (kproblem || lr->signer_roles)
		{
			RowExtra   *x = palloc0(sizeof(RowExtra));

			x->kproblem = kproblem;
			x->kdetail = kdetail;
			x->at_null = true;
			r->extra = x;
		}
	}
	if (lr->signer_roles)
	{
		RowExtra   *x = r->extra;

		x->sproblem = sign_check_stored_row(lr, v, n, &x->sdetail);
		if (!x->sproblem && !n[lr->batch_attno - 1])
		{
			/* check_stored_row() found the key id there */
			x->batch_id = TextDatumGetCString(v[lr->batch_attno - 1]);
			x->batch_key = *DatumGetHash256P(v[lr->key_attno - 1]);
		}
		x->at_null = n[lr->at_attno - 1];
		if (!x->at_null)
			x->at = DatumGetTimestampTz(v[lr->at_attno - 1]);
	}
	MemoryContextSwitchTo(old);
}

static inline bool
same_text(Datum a, Datum b)
{
	text	   *x;
	text	   *y;

	if (a == b)
		return true;			/* one kept origin */
	x = DatumGetTextPP(a);
	y = DatumGetTextPP(b);

	/* texteq under "C": the same bytes */
	return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
		memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
}

/*
 * datum_image_eq() of two chain keys, its common case inline: varlenas
 * stored plain (a 1- or 4-byte header, neither compressed nor external)
 * have equal images when their lengths and bytes are equal, which is what
 * datum_image_eq() compares for them.  It was called for every row (v10).
 */
static inline bool
key_image_eq(Datum a, Datum b, Form_pg_attribute att)
{
	if (att->attlen == -1)
	{
		const struct varlena *x = (const struct varlena *) DatumGetPointer(a);
		const struct varlena *y = (const struct varlena *) DatumGetPointer(b);

		if ((VARATT_IS_SHORT(x) || VARATT_IS_4B_U(x)) &&
			(VARATT_IS_SHORT(y) || VARATT_IS_4B_U(y)))
			return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
				memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
	}
	return datum_image_eq(a, b, att->attbyval, att->attlen);
}

/* An equality key on one index column, or IS NULL where the row has a NULL. */
static void
eq_key(ScanKey sk, AttrNumber col, Datum d, bool isnull, RegProcedure proc, Oid collation)
{
	if (isnull)
		ScanKeyEntryInitialize(sk, SK_ISNULL | SK_SEARCHNULL, col, InvalidStrategy,
							   InvalidOid, InvalidOid, InvalidOid, (Datum) 0);
	else
	{
		ScanKeyInit(sk, col, BTEqualStrategyNumber, proc, d);
		sk->sk_collation = collation;
	}
}

/*
 * Whether the chain index has an entry, under the row's own key, origin and
 * seq, that leads to this heap tuple: points at it (the entries' TIDs,
 * whatever their visibility), or, for a heap-only tuple (an UPDATE that
 * changed no indexed column), points at the root of a HOT chain whose member
 * visible under snapshot is this tuple.  A heap-only tuple is not reached
 * just because it is heap-only: a row added while the index was not
 * maintained and then updated in place is heap-only too, and no entry leads
 * to it (red team r8, V1).
 */
static bool
row_indexed(Relation rel, Relation irel, LedgerRel *lr, TupleTableSlot *slot, bool heap_only,
			Snapshot snapshot, IndexFetchTableData *fetch, TupleTableSlot *other)
{
	ScanKeyData skey[3];
	int			nkeys = 0;
	bool		isnull;
	Datum		d;
	IndexScanDesc scan;
	ItemPointer tid;
	bool		found = false;

	if (lr->chain_attno)
	{
		d = slot_getattr(slot, lr->chain_attno, &isnull);
		eq_key(&skey[nkeys], nkeys + 1, d, isnull, lr->chain_eq_proc, lr->chain_collation);
		nkeys++;
	}
	d = slot_getattr(slot, lr->origin_attno, &isnull);
	eq_key(&skey[nkeys], nkeys + 1, d, isnull, F_TEXTEQ, C_COLLATION_OID);
	nkeys++;
	d = slot_getattr(slot, lr->seq_attno, &isnull);
	eq_key(&skey[nkeys], nkeys + 1, d, isnull, F_INT8EQ, InvalidOid);
	nkeys++;
	scan = bl_index_beginscan(rel, irel, SnapshotAny, nkeys, 0);
	index_rescan(scan, skey, nkeys, NULL, 0);
	while (!found && (tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
	{
		found = ItemPointerEquals(tid, &slot->tts_tid);
		/* a HOT chain stays on its root's page; follow it to its visible member */
		if (!found && heap_only &&
			ItemPointerGetBlockNumber(tid) == ItemPointerGetBlockNumber(&slot->tts_tid))
		{
			ItemPointerData root = *tid;
			bool		call_again = false;
			bool		all_dead = false;

			found = table_index_fetch_tuple(fetch, &root, snapshot, other, &call_again, &all_dead) &&
				ItemPointerEquals(&other->tts_tid, &slot->tts_tid);
			ExecClearTuple(other);
		}
	}
	index_endscan(scan);
	return found;
}

/*
 * The walk sees only the rows the chain index holds.  A superuser can make
 * PostgreSQL stop maintaining an index (pg_index.indisready) and insert rows
 * the walk never meets, which readers still see through the table's other
 * indexes and sequential scans.  So count the table's rows (of only_origin)
 * under the same snapshot; if there are more than the walk met, name each row
 * the index does not hold.  A heap-only tuple (an UPDATE behind the guards)
 * counts as held only if an entry under its key leads to it through its HOT
 * chain, as the walk's fetch does.
 */
static void
check_unindexed(Relation rel, Relation irel, LedgerRel *lr, VerifyOut *vo, text *only_origin,
				Snapshot snapshot, int64 walked)
{
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TupleTableSlot *other = table_slot_create(rel, NULL);
	IndexFetchTableData *fetch = table_index_fetch_begin(rel);
	TableScanDesc hscan;
	int64		rows = 0;
	int			first_pass = 0;	/* 1 or 2: the count was taken below */

	/*
	 * Counting every row needs no column nor slot: heap_getnext() hands out
	 * each tuple of the pinned page without the pin and release a slot
	 * takes per row (a million of each on a 1M-row table).
	 */
	if (only_origin == NULL && rel->rd_tableam == GetHeapamTableAmRoutine())
	{
		hscan = bl_table_beginscan(rel, snapshot);
		while (heap_getnext(hscan, ForwardScanDirection) != NULL)
		{
			if ((++rows & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		table_endscan(hscan);
		if (rows <= walked)
			first_pass = 2;		/* nothing unindexed: no second pass */
		else
			first_pass = 1;
	}
	for (int pass = first_pass; pass < 2; pass++)
	{
		hscan = bl_table_beginscan(rel, snapshot);
		while (table_scan_getnextslot(hscan, ForwardScanDirection, slot))
		{
			bool		origin_null,
						key_null = true,
						seq_null;
			Datum		origin,
						key = (Datum) 0,
						seq;
			bool		should_free;
			HeapTuple	ht;

			CHECK_FOR_INTERRUPTS();
			if (pass == 0 && only_origin == NULL)
			{
				rows++;			/* counting needs no column */
				continue;
			}
			origin = slot_getattr(slot, lr->origin_attno, &origin_null);
			if (only_origin && (origin_null || !same_text(origin, PointerGetDatum(only_origin))))
				continue;
			if (pass == 0)
			{
				rows++;
				continue;
			}
			ht = ExecFetchSlotHeapTuple(slot, false, &should_free);
			if (row_indexed(rel, irel, lr, slot, HeapTupleHeaderIsHeapOnly(ht->t_data),
							snapshot, fetch, other))
				continue;
			seq = slot_getattr(slot, lr->seq_attno, &seq_null);
			if (lr->chain_attno)
				key = slot_getattr(slot, lr->chain_attno, &key_null);
			report(vo, origin_null ? NULL : &origin, key_null ? NULL : &key,
				   seq_null ? 0 : DatumGetInt64(seq), "not_in_chain_index",
				   psprintf("The chain index has no entry for the row at (%u,%u): it was written behind the guards "
							"(the index's maintenance switched off), and the chain walk never met it.",
							ItemPointerGetBlockNumber(&slot->tts_tid),
							ItemPointerGetOffsetNumber(&slot->tts_tid)));
		}
		table_endscan(hscan);
		if (pass == 0 && rows <= walked)
			break;
	}
	table_index_fetch_end(fetch);
	ExecDropSingleTupleTableSlot(other);
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * What fetching a batch's rows needs besides the TIDs: the row's own checks'
 * arguments and where the results go.
 */
typedef struct BatchFetch
{
	LedgerRel  *lr;
	TupleDesc	desc;
	TupleTableSlot *slot;		/* the fetched row */
	Snapshot	snapshot;
	StringInfo	buf;			/* the encoder's, reused */
	MemoryContext rowcxt;		/* reset after each row */
	MemoryContext batchcxt;		/* what a row keeps until its batch is walked */
	VerifyCopies *vc;
	RowResult  *res;			/* in index order */
} BatchFetch;

/*
 * The row in bf->slot through its own checks, into res[pos]: what it
 * allocates only for the call goes into the row context, emptied after.
 */
static inline void
check_fetched_row(BatchFetch *bf, uint32 pos)
{
	MemoryContext old = MemoryContextSwitchTo(bf->rowcxt);

	check_row_alone(bf->lr, bf->desc, bf->slot, &bf->res[pos], bf->buf, bf->batchcxt, bf->vc);
	MemoryContextSwitchTo(old);
	MemoryContextReset(bf->rowcxt);
}

/*
 * A batch's rows of a heap table, in heap order (order[]), through each row's
 * own checks: what table_index_fetch_tuple() does for one TID, done once per
 * block for all the batch's TIDs in it.  The block is pinned and pruned as
 * that call does when it moves to a new block, share-locked once while
 * heap_hot_search_buffer() finds each TID's visible tuple under the snapshot
 * (the same function, the same HOT-chain walk, predicate locks and
 * serialization checks), then unlocked before the rows are encoded and
 * hashed, as a sequential scan's page-at-a-time mode does: the pin keeps the
 * tuples in place.  Per row that saves a lock and unlock of the buffer and
 * the buffer's pin bookkeeping: 2-4% of a warm verify() of 1M rows (the
 * fastest of 12 calls in one session, 480 ms against 490-500; issue 15,
 * 0.12.0).
 * *hbuf carries the pinned buffer across batches (InvalidBuffer at first).
 */
static void
fetch_batch_heap(Relation rel, BatchFetch *bf, const uint64 *tidv, const uint32 *order,
				 uint32 n, BlockNumber nblocks, Buffer *hbuf)
{
	HeapTupleData tups[MaxHeapTuplesPerPage];
	bool		found[MaxHeapTuplesPerPage];
	Oid			relid = RelationGetRelid(rel);
	uint32		i = 0;

	while (i < n)
	{
		BlockNumber blk = (BlockNumber) (tidv[order[i]] >> 16);
		uint32		j = i;
		Buffer		prev = *hbuf;

		/*
		 * The batch's TIDs in this block, at most a page's worth at a time (an
		 * index edited behind the guards may repeat one TID any number of
		 * times).
		 */
		while (j < n && j - i < MaxHeapTuplesPerPage &&
			   (BlockNumber) (tidv[order[j]] >> 16) == blk)
			j++;
		CHECK_FOR_INTERRUPTS();
		if (blk >= nblocks)
		{
			i = j;
			continue;
		}
		*hbuf = ReleaseAndReadBuffer(*hbuf, rel, blk);
		if (*hbuf != prev)
			heap_page_prune_opt(rel, *hbuf);
		LockBuffer(*hbuf, BUFFER_LOCK_SHARE);
		for (uint32 k = i; k < j; k++)
		{
			ItemPointerData tid;
			bool		all_dead = false;

			ItemPointerSet(&tid, blk, (OffsetNumber) (tidv[order[k]] & 0xFFFF));
			found[k - i] = heap_hot_search_buffer(&tid, rel, *hbuf, bf->snapshot, &tups[k - i],
												  &all_dead, true);
			tups[k - i].t_self = tid;
		}
		LockBuffer(*hbuf, BUFFER_LOCK_UNLOCK);
		for (uint32 k = i; k < j; k++)
		{
			if (!found[k - i])
				continue;
			ExecStoreBufferHeapTuple(&tups[k - i], bf->slot, *hbuf);
			bf->slot->tts_tableOid = relid;
			check_fetched_row(bf, order[k]);
		}
		/* the slot lets go of tups[] before the next block reuses it */
		ExecClearTuple(bf->slot);
		i = j;
	}
}

/*
 * A batch's rows of a table of another access method, in heap order
 * (order[]), through each row's own checks: one table_index_fetch_tuple()
 * per TID.
 */
static void
fetch_batch_other(IndexFetchTableData *fetch, BatchFetch *bf, const uint64 *tidv,
				  const uint32 *order, uint32 n, BlockNumber nblocks)
{
	for (uint32 i = 0; i < n; i++)
	{
		bool		call_again = false;
		bool		all_dead = false;
		ItemPointerData tid;

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		ItemPointerSet(&tid, (BlockNumber) (tidv[order[i]] >> 16), (OffsetNumber) (tidv[order[i]] & 0xFFFF));
		if (ItemPointerGetBlockNumber(&tid) >= nblocks)
			continue;
		if (!table_index_fetch_tuple(fetch, &tid, bf->snapshot, bf->slot, &call_again, &all_dead))
			continue;
		check_fetched_row(bf, order[i]);
	}
}

/*
 * A batch's arrays in one allocation, in 2 MB pages where it is large (see
 * bl_alloc_huge_pages()): tidv, order and res are first touched by every
 * call, and a new backend pays for each 4 kB page it touches first.
 */
typedef struct BatchArrays
{
	void	   *block;			/* what to pfree */
	uint32		cap;
	uint64	   *tidv;			/* the batch's TIDs, in index order */
	uint32	   *order;			/* their positions, in heap order */
	RowResult  *res;			/* in index order */
} BatchArrays;

static void
batch_arrays_alloc(BatchArrays *ba, uint32 cap)
{
	Size		tsz = MAXALIGN(sizeof(uint64) * (Size) cap);
	Size		osz = MAXALIGN(sizeof(uint32) * (Size) cap);
	char	   *p = bl_alloc_huge_pages(tsz + osz + sizeof(RowResult) * (Size) cap, &ba->block);

	ba->cap = cap;
	ba->tidv = (uint64 *) p;
	ba->order = (uint32 *) (p + tsz);
	ba->res = (RowResult *) (p + tsz + osz);
}

/*
 * Walk the chain index (chain key, origin, seq) — of one origin, if
 * only_origin is not NULL — and check every chain.
 */
static void
verify_table(Relation rel, LedgerRel *lr, VerifyOut *vo, text *only_origin)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Relation	irel = index_open(lr->index_oid, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	Snapshot	snapshot = GetActiveSnapshot();
	IndexScanDesc scan = bl_index_beginscan(rel, irel, snapshot, only_origin ? 1 : 0, 0);
	IndexFetchTableData *fetch = table_index_fetch_begin(rel);
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												 "battledger verify row",
												 ALLOCSET_DEFAULT_SIZES);
	MemoryContext batchcxt = AllocSetContextCreate(CurrentMemoryContext,
												   "battledger verify batch",
												   ALLOCSET_DEFAULT_SIZES);
	MemoryContext keycxt = AllocSetContextCreate(CurrentMemoryContext,
												 "battledger verify key",
												 ALLOCSET_SMALL_SIZES);
	Form_pg_attribute keyatt = lr->chain_attno ? TupleDescAttr(desc, lr->chain_attno - 1) : NULL;
	Datum		cur_key = (Datum) 0;
	Datum		cur_origin = (Datum) 0;
	ScanKeyData okey;
	bool		in_chain = false;
	int64		expected = 1;
	uint8		last_hash[BL_HASH_LEN];
	TimestampTz last_at = DT_NOBEGIN;
	StringInfoData buf;
	HTAB	   *batches = lr->signer_roles ? new_batch_set() : NULL;
	MemoryContext batches_cxt = CurrentMemoryContext;	/* new_batch_set()'s */
	BlProgress	progress;
	int64		nrows = 0;
	const Datum *keyp = lr->chain_attno ? &cur_key : NULL;	/* what report() names the chain by */
	uint32		cap = 1024;		/* grows to VERIFY_BATCH: a small table gets small arrays */
	BatchArrays ba;
	BatchFetch	bf;
	bool		more = true;
	VerifyCopies vc = {0};
	bool		heap = rel->rd_tableam == GetHeapamTableAmRoutine();
	Buffer		hbuf = InvalidBuffer;	/* fetch_batch_heap()'s pinned block */

	/*
	 * Start at the planner's row estimate (at most a batch): growing by
	 * doubling copied the arrays some eight times on a large table (v8).
	 */
	if (rel->rd_rel->reltuples > cap)
		cap = rel->rd_rel->reltuples >= VERIFY_BATCH ? VERIFY_BATCH : (uint32) rel->rd_rel->reltuples;
	batch_arrays_alloc(&ba, cap);

	initStringInfo(&buf);
	vc.cxt = AllocSetContextCreate(CurrentMemoryContext, "battledger verify origins",
								   ALLOCSET_SMALL_SIZES);
	vc.keys.cxt = CurrentMemoryContext;
	if (keyatt && !keyatt->attbyval)
	{
		/* a batch's keys at their average width, MAXALIGNed, plus 8 bytes each for the spread */
		int32		width = get_attavgwidth(RelationGetRelid(rel), lr->chain_attno);

		if (width > 0)
			key_arena_grow(&vc.keys, Min((Size) cap * (MAXALIGN(width) + MAXIMUM_ALIGNOF),
										 (Size) 64 * 1024 * 1024));
	}
	bf.lr = lr;
	bf.desc = desc;
	bf.slot = slot;
	bf.snapshot = snapshot;
	bf.buf = &buf;
	bf.rowcxt = rowcxt;
	bf.batchcxt = batchcxt;
	bf.vc = &vc;
	if (only_origin)
	{
		ScanKeyInit(&okey, lr->chain_attno ? 2 : 1, BTEqualStrategyNumber, F_TEXTEQ,
					PointerGetDatum(only_origin));
		okey.sk_collation = C_COLLATION_OID;
	}
	index_rescan(scan, only_origin ? &okey : NULL, only_origin ? 1 : 0, NULL, 0);
	bl_progress_start(&progress, psprintf("verify(%s)", lr->qualname), "rows");
	while (more)
	{
		uint32		n = 0;
		BlockNumber nblocks;
		BlockNumber minblk = MaxBlockNumber;
		BlockNumber maxblk = 0;

		/* the next batch of index entries, in index order */
		while (n < VERIFY_BATCH)
		{
			ItemPointer tid = index_getnext_tid(scan, ForwardScanDirection);

			if (tid == NULL)
			{
				more = false;
				break;
			}
			if (n == ba.cap)
			{
				/* only tidv holds anything yet: order and res are the batch's */
				BatchArrays grown;

				batch_arrays_alloc(&grown, Min(ba.cap * 2, VERIFY_BATCH));
				memcpy(grown.tidv, ba.tidv, sizeof(uint64) * n);
				pfree(ba.block);
				ba = grown;
			}
			ba.tidv[n] = ((uint64) ItemPointerGetBlockNumber(tid) << 16) |
				ItemPointerGetOffsetNumber(tid);
			minblk = Min(minblk, ItemPointerGetBlockNumber(tid));
			maxblk = Max(maxblk, ItemPointerGetBlockNumber(tid));
			n++;
		}
		if (n == 0)
			break;

		/* their rows, in heap order: each row's own checks */
		{
			MemoryContext old = MemoryContextSwitchTo(batchcxt);

			heap_order(ba.tidv, n, minblk, maxblk, ba.order);
			MemoryContextSwitchTo(old);
		}

		/*
		 * The heap's length now, after the snapshot: every row it shows is
		 * in a block below it.  An entry past it (an index edited behind
		 * the guards) is no row, as an entry to a dead one: reading it
		 * raised XX000 "could not open file" (red team r11, V1).
		 */
		nblocks = RelationGetNumberOfBlocks(rel);
		for (uint32 i = 0; i < n; i++)
			ba.res[i].visible = false;
		vc.keys.len = 0;
		bf.res = ba.res;
		if (heap)
			fetch_batch_heap(rel, &bf, ba.tidv, ba.order, n, nblocks, &hbuf);
		else
			fetch_batch_other(fetch, &bf, ba.tidv, ba.order, n, nblocks);
		/* the keys' offsets into pointers, now that the arena holds them all */
		for (uint32 i = 0; i < n; i++)
			if (ba.res[i].visible && ba.res[i].key_arena)
				ba.res[i].key = PointerGetDatum(vc.keys.data + (Size) ba.res[i].key);

		/* in index order: the chains */
		for (uint32 i = 0; i < n; i++)
		{
			RowResult  *r = &ba.res[i];
			int64		seq;

			if (!r->visible)
				continue;
			CHECK_FOR_INTERRUPTS();
			if (++nrows % 10000 == 0)
				bl_progress_step(&progress, nrows, 0);
			if (r->ident_null)
			{
				report(vo, NULL, NULL, 0, "missing_chain_fields",
					   "A row has no ledger_origin or no chain key: it did not pass through the chain trigger.");
				continue;
			}

			/*
			 * Equal images are equal keys (a B-tree equality is reflexive):
			 * the type's equality is called only where the bytes differ,
			 * once per chain, not once per row (v8).
			 */
			if (!in_chain || !same_text(cur_origin, r->origin) ||
				(lr->chain_attno &&
				 !key_image_eq(cur_key, r->key, keyatt) &&
				 !DatumGetBool(FunctionCall2Coll(&lr->chain_eq_fn,
												 lr->chain_collation,
												 cur_key, r->key))))
			{
				/* a new chain starts */
				MemoryContext old;

				MemoryContextReset(keycxt);
				old = MemoryContextSwitchTo(keycxt);
				cur_origin = PointerGetDatum(DatumGetTextPCopy(r->origin));
				if (lr->chain_attno)
					cur_key = datumCopy(r->key, keyatt->attbyval, keyatt->attlen);
				MemoryContextSwitchTo(old);
				in_chain = true;
				expected = 1;
				memcpy(last_hash, zero_hash, BL_HASH_LEN);
				last_at = DT_NOBEGIN;
			}

			if (r->fields_null)
			{
				report(vo, &cur_origin, keyp, 0, "missing_chain_fields",
					   "A row has no ledger_seq, ledger_prev or ledger_hash: it did not pass through the chain trigger.");
				continue;
			}
			seq = r->seq;

			if (seq > expected)
				report(vo, &cur_origin, keyp, seq, "missing_rows",
					   expected == seq - 1 ?
					   psprintf("Position %lld is absent.", (long long) expected) :
					   psprintf("Positions %lld to %lld are absent.", (long long) expected,
								(long long) (seq - 1)));
			else if (seq < expected)
				report(vo, &cur_origin, keyp, seq, "duplicate_position",
					   psprintf("Position %lld appears more than once.", (long long) seq));
			else if (memcmp(r->prev, last_hash, BL_HASH_LEN) != 0)
				report(vo, &cur_origin, keyp, seq, "broken_link",
					   "ledger_prev does not equal the previous row's ledger_hash.");

			if (!r->hash_ok)
				report(vo, &cur_origin, keyp, seq, "hash_mismatch",
					   "ledger_hash does not match the row's content and chain fields.");

			if (r->extra && r->extra->kproblem)
				report(vo, &cur_origin, keyp, seq, r->extra->kproblem, r->extra->kdetail);

			if (lr->signer_roles)
			{
				RowExtra   *x = r->extra;

				if (x->sproblem)
					report(vo, &cur_origin, keyp, seq, x->sproblem, x->sdetail);
				else if (x->batch_id)
					note_batch(batches, batches_cxt, x->batch_id, &x->batch_key, seq);

				/*
				 * The chain trigger never dates a row before its predecessor;
				 * a row that is dated earlier was written behind it, perhaps
				 * to be judged by a key's validity at a time it did not
				 * exist.
				 */
				if (!x->at_null)
				{
					if (x->at < last_at)
						report(vo, &cur_origin, keyp, seq, "time_reversed",
							   "ledger_at is earlier than the previous row's: the chain trigger never dates a row before its predecessor.");
					last_at = x->at;
				}
			}

			expected = seq + 1;
			memcpy(last_hash, r->stored, BL_HASH_LEN);
		}
		MemoryContextReset(batchcxt);
	}
	ExecClearTuple(slot);
	if (BufferIsValid(hbuf))
		ReleaseBuffer(hbuf);
	table_index_fetch_end(fetch);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	check_unindexed(rel, irel, lr, vo, only_origin, snapshot, nrows);
	index_close(irel, AccessShareLock);
	MemoryContextDelete(rowcxt);
	MemoryContextDelete(batchcxt);
	MemoryContextDelete(keycxt);
	MemoryContextDelete(vc.cxt);
	if (vc.keys.block)
		pfree(vc.keys.block);
	pfree(ba.block);
	if (batches)
		check_batches(batches, RelationGetRelid(rel), vo);
}

/*
 * battledger.verify(tbl regclass, origin text DEFAULT NULL) RETURNS TABLE (origin text, chain_key text, seq bigint, problem text, detail text)
 */
PG_FUNCTION_INFO_V1(battledger_verify);
Datum
battledger_verify(PG_FUNCTION_ARGS)
{
	Oid			relid;
	text	   *only_origin = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel;
	LedgerRel  *lr;
	VerifyOut	vo;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be null")));
	relid = PG_GETARG_OID(0);
	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	lr = ledger_rel_get(rel);
	check_access(rel);
	InitMaterializedSRF(fcinfo, 0);
	vo.store = rsinfo->setResult;
	vo.desc = rsinfo->setDesc;
	if (lr->chain_attno)
	{
		Oid			outfn;
		bool		varlena;

		getTypeOutputInfo(TupleDescAttr(RelationGetDescr(rel), lr->chain_attno - 1)->atttypid,
						  &outfn, &varlena);
		fmgr_info(outfn, &vo.key_out);
	}
	verify_table(rel, lr, &vo, only_origin);
	relation_close(rel, AccessShareLock);
	return (Datum) 0;
}
