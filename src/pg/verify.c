/*
 * verify.c — battledger.verify(tbl): walk every chain of a ledger table in
 * (chain, ledger_seq) order and report each row that breaks it.
 *
 * Reads through the chain index with the statement's MVCC snapshot (no
 * planner, no sort), recomputing each row's hash from its stored values.
 * Returns nothing when the table is intact.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/genam.h"
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
 * Walk the chain index (chain key, origin, seq) — of one origin, if
 * only_origin is not NULL — and check every chain.
 */
static void
verify_table(Relation rel, LedgerRel *lr, VerifyOut *vo, text *only_origin)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Relation	irel = index_open(lr->index_oid, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan = bl_index_beginscan(rel, irel, GetActiveSnapshot(), only_origin ? 1 : 0, 0);
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												 "battledger verify row",
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

	initStringInfo(&buf);
	if (only_origin)
	{
		ScanKeyInit(&okey, lr->chain_attno ? 2 : 1, BTEqualStrategyNumber, F_TEXTEQ,
					PointerGetDatum(only_origin));
		okey.sk_collation = C_COLLATION_OID;
	}
	index_rescan(scan, only_origin ? &okey : NULL, only_origin ? 1 : 0, NULL, 0);
	bl_progress_start(&progress, psprintf("verify(%s)", lr->qualname), "rows");
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		MemoryContext old;
		Datum		key = (Datum) 0;
		int64		seq;
		Hash256    *prev,
				   *stored;
		uint8		computed[BL_HASH_LEN];

		CHECK_FOR_INTERRUPTS();
		if (++nrows % 10000 == 0)
			bl_progress_step(&progress, nrows, 0);
		old = MemoryContextSwitchTo(rowcxt);
		slot_getallattrs(slot);
		if (lr->chain_attno)
			key = slot->tts_values[lr->chain_attno - 1];

		if (!in_chain ||
			!DatumGetBool(DirectFunctionCall2Coll(texteq, C_COLLATION_OID, cur_origin,
												  slot->tts_values[lr->origin_attno - 1])) ||
			(lr->chain_attno &&
			 !DatumGetBool(FunctionCall2Coll(&lr->chain_eq_fn,
											 lr->chain_collation,
											 cur_key, key))))
		{
			/* a new chain starts */
			MemoryContextReset(keycxt);
			MemoryContextSwitchTo(keycxt);
			cur_origin = PointerGetDatum(DatumGetTextPCopy(slot->tts_values[lr->origin_attno - 1]));
			if (lr->chain_attno)
				cur_key = datumCopy(key, keyatt->attbyval, keyatt->attlen);
			MemoryContextSwitchTo(rowcxt);
			in_chain = true;
			expected = 1;
			memcpy(last_hash, zero_hash, BL_HASH_LEN);
			last_at = DT_NOBEGIN;
		}

		if (slot->tts_isnull[lr->seq_attno - 1] || slot->tts_isnull[lr->prev_attno - 1] ||
			slot->tts_isnull[lr->hash_attno - 1])
		{
			report(vo, &cur_origin, keyp, 0, "missing_chain_fields",
				   "A row has no ledger_seq, ledger_prev or ledger_hash: it did not pass through the chain trigger.");
			MemoryContextSwitchTo(old);
			MemoryContextReset(rowcxt);
			continue;
		}
		seq = DatumGetInt64(slot->tts_values[lr->seq_attno - 1]);
		prev = DatumGetHash256P(slot->tts_values[lr->prev_attno - 1]);
		stored = DatumGetHash256P(slot->tts_values[lr->hash_attno - 1]);

		if (seq > expected)
			report(vo, &cur_origin, keyp, seq, "missing_rows",
				   expected == seq - 1 ?
				   psprintf("Position %lld is absent.", (long long) expected) :
				   psprintf("Positions %lld to %lld are absent.", (long long) expected,
							(long long) (seq - 1)));
		else if (seq < expected)
			report(vo, &cur_origin, keyp, seq, "duplicate_position",
				   psprintf("Position %lld appears more than once.", (long long) seq));
		else if (memcmp(prev->bytes, last_hash, BL_HASH_LEN) != 0)
			report(vo, &cur_origin, keyp, seq, "broken_link",
				   "ledger_prev does not equal the previous row's ledger_hash.");

		resetStringInfo(&buf);
		row_encode(lr->encoder, slot->tts_values, slot->tts_isnull, &buf);
		chain_hash(prev->bytes, seq, buf.data, buf.len, computed);
		if (memcmp(computed, stored->bytes, BL_HASH_LEN) != 0)
			report(vo, &cur_origin, keyp, seq, "hash_mismatch",
				   "ledger_hash does not match the row's content and chain fields.");

		/* a weak key registered before they were refused (key_event only) */
		{
			char	   *kdetail;
			const char *kproblem = key_row_problem(lr, desc, slot->tts_values, slot->tts_isnull, &kdetail);

			if (kproblem)
				report(vo, &cur_origin, keyp, seq, kproblem, kdetail);
		}

		if (lr->signer_roles)
		{
			char	   *sdetail;
			const char *sproblem = sign_check_stored_row(lr, slot->tts_values, slot->tts_isnull, &sdetail);

			if (sproblem)
				report(vo, &cur_origin, keyp, seq, sproblem, sdetail);
			else if (!slot->tts_isnull[lr->batch_attno - 1])
				note_batch(batches, TextDatumGetCString(slot->tts_values[lr->batch_attno - 1]), seq);
			/*
			 * The chain trigger never dates a row before its predecessor; a
			 * row that is dated earlier was written behind it, perhaps to be
			 * judged by a key's validity at a time it did not exist.
			 */
			if (!slot->tts_isnull[lr->at_attno - 1])
			{
				TimestampTz at = DatumGetTimestampTz(slot->tts_values[lr->at_attno - 1]);

				if (at < last_at)
					report(vo, &cur_origin, keyp, seq, "time_reversed",
						   "ledger_at is earlier than the previous row's: the chain trigger never dates a row before its predecessor.");
				last_at = at;
			}
		}

		expected = seq + 1;
		memcpy(last_hash, stored->bytes, BL_HASH_LEN);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(irel, AccessShareLock);
	MemoryContextDelete(rowcxt);
	MemoryContextDelete(keycxt);
	if (batches)
		check_batches(batches, RelationGetRelid(rel), vo);
	(void) desc;
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
