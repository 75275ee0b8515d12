/*
 * verify.c — battledger.verify(tbl): walk every chain of a ledger table in
 * (chain, ledger_seq) order and report each row that breaks it.
 *
 * Reads through the chain index with the statement's MVCC snapshot (no
 * planner, no sort), recomputing each row's hash from its stored values,
 * then counts the table's rows with a sequential scan under the same
 * snapshot, so that a row the index does not hold is named too
 * (check_unindexed()).  Returns nothing when the table is intact.
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
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
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

/* Batches seen during the walk (id -> first row), each checked once at the end. */
typedef struct SeenBatch
{
	char		id[201];
	int64		seq;			/* the first row of the batch met */
} SeenBatch;

static HTAB *
new_batch_set(void)
{
	HASHCTL		ctl;

	ctl.keysize = 201;
	ctl.entrysize = sizeof(SeenBatch);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create("battledger verify batches", 64, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

static void
note_batch(HTAB *batches, const char *id, int64 seq)
{
	char		k[201] = {0};
	bool		found;
	SeenBatch  *b;

	strlcpy(k, id, sizeof(k));
	b = hash_search(batches, k, HASH_ENTER, &found);
	if (!found)
		b->seq = seq;
}

static void
check_batches(HTAB *batches, Oid relid, VerifyOut *vo)
{
	HASH_SEQ_STATUS status;
	SeenBatch  *b;

	hash_seq_init(&status, batches);
	while ((b = hash_seq_search(&status)) != NULL)
	{
		char	   *detail;
		const char *problem = batch_check(b->id, relid, &detail);

		if (problem)
			report(vo, NULL, NULL, b->seq, problem, detail);
	}
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
typedef struct RowResult
{
	bool		visible;		/* the index entry led to a row this snapshot sees */
	bool		fields_null;	/* ledger_seq, ledger_prev or ledger_hash is NULL */
	bool		hash_ok;		/* ledger_hash is the hash of the row */
	bool		at_null;
	int64		seq;
	TimestampTz at;
	Datum		key;			/* copies, in the batch's arena (VerifyArena) */
	Datum		origin;
	const char *kproblem;		/* weak key (key_event only) */
	char	   *kdetail;
	const char *sproblem;		/* signature */
	char	   *sdetail;
	char	   *batch_id;		/* signed, in a batch, signature good */
	uint8		prev[BL_HASH_LEN];
	uint8		stored[BL_HASH_LEN];
} RowResult;

/*
 * Where a batch's origin and chain-key copies live: one buffer, kept for the
 * whole walk and refilled by each batch.  Copying them with palloc, into a
 * context reset after each batch, returned its blocks to malloc and had the
 * kernel fault fresh pages in for every batch (a tenth of verify()'s time,
 * docs/benchmarks.md 0.8.0).  While a batch is fetched the buffer may move,
 * so rows hold offsets (in origin and key) until the whole batch is fetched;
 * verify_table() then turns them into pointers.  Bounded by the batch: each
 * of VERIFY_BATCH rows' origin and key.
 */
typedef struct VerifyArena
{
	char	   *data;
	Size		len;
	Size		cap;
} VerifyArena;

/* room for n bytes, MAXALIGNed; returns its offset */
static Size
arena_reserve(VerifyArena *a, Size n)
{
	Size		off = MAXALIGN(a->len);

	if (off + n > a->cap)
	{
		Size		cap = a->cap;

		while (off + n > cap)
			cap *= 2;
		a->data = repalloc_huge(a->data, cap);
		a->cap = cap;
	}
	a->len = off + n;
	return off;
}

static Size
arena_put(VerifyArena *a, const void *src, Size n)
{
	Size		off = arena_reserve(a, n);

	memcpy(a->data + off, src, n);
	return off;
}

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
 * Index entries read per batch.  Fetching each row as its index entry comes
 * up jumps from page to page (a chain's rows are spread over the whole heap):
 * in 0.5.0 half of verify()'s time went to finding, pinning and pruning a
 * buffer and searching a cold page per row (docs/benchmarks.md, 0.6.0).  A
 * batch's rows are fetched in heap order instead, then walked in index order.
 */
#define VERIFY_BATCH 65536

/* The row's own checks, done as it is fetched; batchcxt holds what is kept. */
static void
check_row_alone(LedgerRel *lr, TupleDesc desc, TupleTableSlot *slot, RowResult *r,
				StringInfo buf, MemoryContext batchcxt, VerifyArena *arena)
{
	Form_pg_attribute keyatt = lr->chain_attno ? TupleDescAttr(desc, lr->chain_attno - 1) : NULL;
	Datum	   *v = slot->tts_values;
	bool	   *n = slot->tts_isnull;
	MemoryContext old;

	slot_getallattrs(slot);
	r->visible = true;
	r->hash_ok = false;
	r->kproblem = r->sproblem = NULL;
	r->batch_id = NULL;
	r->at_null = true;
	{
		/* the origin, detoasted (in the row's context), with a 4-byte header */
		text	   *o = DatumGetTextPP(v[lr->origin_attno - 1]);
		Size		olen = VARSIZE_ANY_EXHDR(o);
		Size		off = arena_reserve(arena, olen + VARHDRSZ);

		SET_VARSIZE(arena->data + off, olen + VARHDRSZ);
		memcpy(arena->data + off + VARHDRSZ, VARDATA_ANY(o), olen);
		r->origin = (Datum) off;
	}
	if (lr->chain_attno)
	{
		/* what datumCopy() would copy, kept by offset */
		Datum		k = v[lr->chain_attno - 1];

		if (keyatt->attbyval)
			r->key = k;
		else
			r->key = (Datum) arena_put(arena, DatumGetPointer(k),
									   datumGetSize(k, false, keyatt->attlen));
	}
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
	/* a weak key registered before they were refused (key_event only) */
	r->kproblem = key_row_problem(lr, desc, v, n, &r->kdetail);
	if (lr->signer_roles)
	{
		r->sproblem = sign_check_stored_row(lr, v, n, &r->sdetail);
		if (!r->sproblem && !n[lr->batch_attno - 1])
			r->batch_id = TextDatumGetCString(v[lr->batch_attno - 1]);
		r->at_null = n[lr->at_attno - 1];
		if (!r->at_null)
			r->at = DatumGetTimestampTz(v[lr->at_attno - 1]);
	}
	MemoryContextSwitchTo(old);
}

static inline bool
same_text(Datum a, Datum b)
{
	text	   *x = DatumGetTextPP(a);
	text	   *y = DatumGetTextPP(b);

	/* texteq under "C": the same bytes */
	return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
		memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
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
 * seq, that points at this heap tuple (the entries' TIDs, whatever their
 * visibility).
 */
static bool
row_indexed(Relation rel, Relation irel, LedgerRel *lr, TupleTableSlot *slot)
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
		found = ItemPointerEquals(tid, &slot->tts_tid);
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
 * is reached through its chain's root entry: the walk met it.
 */
static void
check_unindexed(Relation rel, Relation irel, LedgerRel *lr, VerifyOut *vo, text *only_origin,
				Snapshot snapshot, int64 walked)
{
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TableScanDesc hscan;
	int64		rows = 0;

	for (int pass = 0; pass < 2; pass++)
	{
		hscan = table_beginscan(rel, snapshot, 0, NULL);
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
			if (HeapTupleHeaderIsHeapOnly(ht->t_data) || row_indexed(rel, irel, lr, slot))
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
	ExecDropSingleTupleTableSlot(slot);
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
	BlProgress	progress;
	int64		nrows = 0;
	const Datum *keyp = lr->chain_attno ? &cur_key : NULL;	/* what report() names the chain by */
	uint32		cap = 1024;		/* grows to VERIFY_BATCH: a small table gets small arrays */
	TidPos	   *tids;
	RowResult  *res;
	bool		more = true;
	VerifyArena arena;

	/*
	 * Start at the planner's row estimate (at most a batch): growing by
	 * doubling copied the arrays some eight times on a large table.
	 */
	if (rel->rd_rel->reltuples > cap)
		cap = rel->rd_rel->reltuples >= VERIFY_BATCH ? VERIFY_BATCH : (uint32) rel->rd_rel->reltuples;
	tids = palloc(sizeof(TidPos) * cap);
	res = palloc(sizeof(RowResult) * cap);
	arena.cap = 8192;
	arena.len = 0;
	arena.data = palloc(arena.cap);

	initStringInfo(&buf);
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

		/* the next batch of index entries, in index order */
		while (n < VERIFY_BATCH)
		{
			ItemPointer tid = index_getnext_tid(scan, ForwardScanDirection);

			if (tid == NULL)
			{
				more = false;
				break;
			}
			if (n == cap)
			{
				cap *= 2;
				tids = repalloc_huge(tids, sizeof(TidPos) * cap);
				res = repalloc_huge(res, sizeof(RowResult) * cap);
			}
			tids[n].tid = ((uint64) ItemPointerGetBlockNumber(tid) << 16) |
				ItemPointerGetOffsetNumber(tid);
			tids[n].pos = n;
			n++;
		}
		if (n == 0)
			break;

		/* their rows, in heap order: each row's own checks */
		arena.len = 0;
		sort_tidpos(tids, n);
		for (uint32 i = 0; i < n; i++)
			res[i].visible = false;
		for (uint32 i = 0; i < n; i++)
		{
			bool		call_again = false;
			bool		all_dead = false;
			ItemPointerData tid;
			MemoryContext old;

			if ((i & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			ItemPointerSet(&tid, (BlockNumber) (tids[i].tid >> 16), (OffsetNumber) (tids[i].tid & 0xFFFF));
			if (!table_index_fetch_tuple(fetch, &tid, snapshot, slot, &call_again, &all_dead))
				continue;
			old = MemoryContextSwitchTo(rowcxt);
			check_row_alone(lr, desc, slot, &res[tids[i].pos], &buf, batchcxt, &arena);
			MemoryContextSwitchTo(old);
			MemoryContextReset(rowcxt);
		}
		/* the arena no longer moves: offsets become pointers */
		for (uint32 i = 0; i < n; i++)
		{
			if (!res[i].visible)
				continue;
			res[i].origin = PointerGetDatum(arena.data + (Size) res[i].origin);
			if (lr->chain_attno && !keyatt->attbyval)
				res[i].key = PointerGetDatum(arena.data + (Size) res[i].key);
		}

		/* in index order: the chains */
		for (uint32 i = 0; i < n; i++)
		{
			RowResult  *r = &res[i];
			int64		seq;

			if (!r->visible)
				continue;
			CHECK_FOR_INTERRUPTS();
			if (++nrows % 10000 == 0)
				bl_progress_step(&progress, nrows, 0);

			/*
			 * Equal images are equal keys (a B-tree equality is reflexive):
			 * the call to the type's equality is only needed where the bytes
			 * differ, that is once per chain, not once per row.
			 */
			if (!in_chain || !same_text(cur_origin, r->origin) ||
				(lr->chain_attno &&
				 !datum_image_eq(cur_key, r->key, keyatt->attbyval, keyatt->attlen) &&
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

			if (r->kproblem)
				report(vo, &cur_origin, keyp, seq, r->kproblem, r->kdetail);

			if (lr->signer_roles)
			{
				if (r->sproblem)
					report(vo, &cur_origin, keyp, seq, r->sproblem, r->sdetail);
				else if (r->batch_id)
					note_batch(batches, r->batch_id, seq);

				/*
				 * The chain trigger never dates a row before its predecessor;
				 * a row that is dated earlier was written behind it, perhaps
				 * to be judged by a key's validity at a time it did not
				 * exist.
				 */
				if (!r->at_null)
				{
					if (r->at < last_at)
						report(vo, &cur_origin, keyp, seq, "time_reversed",
							   "ledger_at is earlier than the previous row's: the chain trigger never dates a row before its predecessor.");
					last_at = r->at;
				}
			}

			expected = seq + 1;
			memcpy(last_hash, r->stored, BL_HASH_LEN);
		}
		MemoryContextReset(batchcxt);
	}
	table_index_fetch_end(fetch);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	check_unindexed(rel, irel, lr, vo, only_origin, snapshot, nrows);
	index_close(irel, AccessShareLock);
	MemoryContextDelete(rowcxt);
	MemoryContextDelete(batchcxt);
	MemoryContextDelete(keycxt);
	pfree(tids);
	pfree(res);
	pfree(arena.data);
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
