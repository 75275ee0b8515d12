/*
 * log_queue.c — the log's queue: the log trigger that puts each new ledger
 * row in log_pending, and the leaf bytes a row becomes when sealed.
 * Part of the transparency log (log.c); log_internal.h joins its files.
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

Oid
log_relid(const char *name)
{
	Oid			nsp = get_namespace_oid("battledger", false);
	Oid			relid = get_relname_relid(name, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "battledger.%s is missing", name);
	return relid;
}

/* The queue, opened once per statement by the log trigger. */
Relation
log_pending_open(void)
{
	static Oid	pending_oid = InvalidOid;
	Relation	rel = OidIsValid(pending_oid) ? try_table_open(pending_oid, RowExclusiveLock) : NULL;

	if (rel == NULL)
	{
		pending_oid = log_relid("log_pending");
		rel = table_open(pending_oid, RowExclusiveLock);
	}
	return rel;
}

/* Rows the log trigger queues with one heap_multi_insert() call. */
#define LOG_QUEUE_BATCH 1000

static HeapTuple
log_pending_tuple(Relation pending, text *qualname, int64 seq, const Hash256 *prev, const Hash256 *row_hash)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	values[0] = PointerGetDatum(qualname);
	values[1] = Int64GetDatum(seq);
	values[2] = PointerGetDatum(prev);
	values[3] = PointerGetDatum(row_hash);
	return heap_form_tuple(RelationGetDescr(pending), values, nulls);
}

void
log_enqueue(Relation pending, text *qualname, int64 seq, const Hash256 *prev, const Hash256 *row_hash)
{
	HeapTuple	tup = log_pending_tuple(pending, qualname, seq, prev, row_hash);

	simple_heap_insert(pending, tup);	/* no indexes, no triggers: a plain queue */
	heap_freetuple(tup);
}

/*
 * AFTER INSERT statement trigger with a transition table: queue exactly the
 * rows that were inserted (a row skipped by ON CONFLICT DO NOTHING after the
 * chain trigger ran is not in the transition table, so it never becomes a leaf).
 */
PG_FUNCTION_INFO_V1(battledger_log_trigger);
Datum
battledger_log_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleTableSlot *slot;
	text	   *qualname;
	Relation	pending;
	AttrNumber	seq_att,
				prev_att,
				hash_att;
	TupleDesc	desc;
	LedgerRel  *lr;
	TupleTableSlot *batch[LOG_QUEUE_BATCH];
	int			nbatch = 0;
	MemoryContext batch_cxt;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event) ||
		td->tg_newtable == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("battledger_log_trigger() must be an AFTER INSERT statement trigger with a NEW TABLE")));
	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	/* only a registered ledger table's rows, chained by its trigger, reach the log */
	lr = ledger_rel_get(rel);
	seq_att = lr->seq_attno;
	prev_att = lr->prev_attno;
	hash_att = lr->hash_attno;
	qualname = cstring_to_text(psprintf("%s.%s", get_namespace_name(RelationGetNamespace(rel)),
										RelationGetRelationName(rel)));
	pending = log_pending_open();
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(td->tg_newtable);
	/*
	 * Queued in batches with heap_multi_insert(): one buffer lock and one
	 * page-full of tuples at a time instead of one search for free space per
	 * row, which made the queue a tenth of a bulk load's time.  The rows
	 * land in the same order as one by one.
	 */
	batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "battledger log queue batch",
									  ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < LOG_QUEUE_BATCH; i++)
		batch[i] = NULL;
	while (tuplestore_gettupleslot(td->tg_newtable, true, false, slot))
	{
		bool		n1,
					n2,
					n3;
		Datum		seq = slot_getattr(slot, seq_att, &n1);
		Datum		prev = slot_getattr(slot, prev_att, &n2);
		Datum		hash = slot_getattr(slot, hash_att, &n3);
		MemoryContext old;

		if (n1 || n2 || n3)
			continue;			/* not chained (only possible with the chain trigger bypassed) */
		if (batch[nbatch] == NULL)
			batch[nbatch] = MakeSingleTupleTableSlot(RelationGetDescr(pending), &TTSOpsHeapTuple);
		old = MemoryContextSwitchTo(batch_cxt);
		ExecStoreHeapTuple(log_pending_tuple(pending, qualname, DatumGetInt64(seq),
											 DatumGetHash256P(prev), DatumGetHash256P(hash)),
						   batch[nbatch], true);
		MemoryContextSwitchTo(old);
		if (++nbatch == LOG_QUEUE_BATCH)
		{
			heap_multi_insert(pending, batch, nbatch, GetCurrentCommandId(true), 0, NULL);
			for (int i = 0; i < nbatch; i++)
				ExecClearTuple(batch[i]);
			MemoryContextReset(batch_cxt);
			nbatch = 0;
		}
	}
	if (nbatch > 0)
		heap_multi_insert(pending, batch, nbatch, GetCurrentCommandId(true), 0, NULL);
	for (int i = 0; i < LOG_QUEUE_BATCH && batch[i] != NULL; i++)
		ExecDropSingleTupleTableSlot(batch[i]);
	MemoryContextDelete(batch_cxt);
	ExecDropSingleTupleTableSlot(slot);
	table_close(pending, NoLock);
	return PointerGetDatum(NULL);
}

void
log_leaf_bytes(StringInfo out, const char *qualname, size_t namelen, int64 seq,
			   const uint8 *prev, const uint8 *row_hash)
{
	size_t		len = bl_log_leaf_len(namelen);

	/* one layout for the extension and the CLI: merkle.c */
	enlargeStringInfo(out, (int) len);
	bl_log_leaf(qualname, namelen, seq, prev, row_hash, (uint8_t *) out->data + out->len);
	out->len += (int) len;
	out->data[out->len] = '\0';
}

