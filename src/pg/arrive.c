/*
 * arrive.c — rows from other members.  The logical replication apply worker
 * runs with session_replication_role = replica, so the chain trigger does not
 * fire there; this ENABLE REPLICA trigger does, and checks every arriving row
 * against what its origin must have done: the row is the origin's (the one
 * its subscription was joined for), its hash covers its content, it extends
 * the origin's chain exactly, and (signed tables) its key was valid for a
 * permitted role at ledger_at and its signature verifies.  A row that fails
 * is refused: the whole remote transaction stays unapplied, and the
 * subscription is stopped (ALTER SUBSCRIPTION ... DISABLE, by a short-lived
 * background worker, since the failing transaction can change nothing), to
 * be resumed once the cause is dealt with.  PostgreSQL 15's own
 * disable_on_error is not used: it also stops a subscription whose
 * publisher merely restarted.
 *
 * The member a subscription was joined for, the record of a refusal and the
 * stopping of the subscription are consortium.c's.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/htup_details.h"
#include "access/genam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "replication/logicalworker.h"
#include "replication/worker_internal.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "chain.h"
#include "consortium.h"
#include "encode.h"
#include "hash256.h"
#include "keys.h"
#include "ledger_rel.h"
#include "ledger_table.h"
#include "log.h"
#include "pgutil.h"
#include "quarantine.h"
#include "sign.h"

static const uint8 zero_hash[BL_HASH_LEN];

pg_noreturn static void reject_row(Relation rel, LedgerRel *lr, HeapTuple tup, const char *origin,
								   int64 seq, const char *problem, const char *detail);

static void
reject_row(Relation rel, LedgerRel *lr, HeapTuple tup, const char *origin, int64 seq,
		   const char *problem, const char *detail)
{
	Datum		rec = heap_copy_tuple_as_datum(tup, RelationGetDescr(rel));
	char	   *row = TextDatumGetCString(DirectFunctionCall1(row_to_json, rec));

	consortium_reject(origin, lr->qualname, seq, problem, detail, row);
}

/* ---------------------------------------------------------------- checks */

/* Does the arriving row extend its origin's chain exactly?  NULL if so, else the problem. */
static const char *
check_link(Relation rel, LedgerRel *lr, Datum origin, Datum key, int64 seq, const Hash256 *prev,
		   TimestampTz at, char **detail)
{
	int64		head_seq;
	Hash256		head_hash;
	TimestampTz head_at = DT_NOBEGIN;
	bool		found;

	/*
	 * Rows copied when a member joins come in heap order, not chain order:
	 * with concurrent writers a later position can arrive before an earlier
	 * one.  Only a row already at this very position is a fork (the same row
	 * was skipped before); links are checked later, by verify_member().
	 */
	if (consortium_table_sync())
	{
		Hash256		here;

		if (chain_row_hash(rel, lr, origin, key, seq, &here))
		{
			*detail = psprintf("The origin's chain already holds position " INT64_FORMAT ": a second row there is a fork.", seq);
			return "fork";
		}
		return NULL;
	}
	found = chain_head(rel, lr, origin, key, seq > 1 ? seq - 1 : 1, &head_seq, &head_hash, &head_at);
	if (found && head_seq >= seq)
	{
		*detail = psprintf("The origin's chain already holds position " INT64_FORMAT ": a second row there is a fork.", seq);
		return "fork";
	}
	if (seq == 1)
	{
		if (memcmp(prev->bytes, zero_hash, BL_HASH_LEN) != 0)
		{
			*detail = "The first row of a chain must have a zero ledger_prev.";
			return "broken_link";
		}
		return NULL;
	}
	if (!found)
	{
		*detail = psprintf("Position " INT64_FORMAT " of the origin's chain has not arrived.", seq - 1);
		return "missing_rows";
	}
	if (memcmp(head_hash.bytes, prev->bytes, BL_HASH_LEN) != 0)
	{
		*detail = "ledger_prev does not equal the previous row's ledger_hash.";
		return "broken_link";
	}
	/* the key is judged at ledger_at: a row dated before its predecessor could dodge a revocation */
	if (lr->signer_roles && at < head_at)
	{
		*detail = "ledger_at is earlier than the previous row's: a member never dates a row before its predecessor.";
		return "time_reversed";
	}
	return NULL;
}

/*
 * What the chain trigger's neighbours would have done for a local row: keys
 * and roles that changed reach this backend's key cache (the statement
 * trigger that tells other backends does not fire here), and a batch is
 * checked against its signed manifest at commit.
 */
static void
row_arrived(Relation rel, LedgerRel *lr, Datum *values, bool *nulls)
{
	if (strcmp(lr->qualname, "battledger.key_event") == 0 ||
		strcmp(lr->qualname, "battledger.key_proof") == 0 ||
		strcmp(lr->qualname, "battledger.member_event") == 0)
		CacheInvalidateRelcache(rel);
	else if (strcmp(lr->qualname, "battledger.batch") == 0 && !consortium_table_sync())
	{
		/* once per batch, named by its id and key (check_arriving_batch() saw both) */
		TupleDesc	desc = RelationGetDescr(rel);

		sign_defer_batch_check(TextDatumGetCString(values[SPI_fnumber(desc, "batch_id") - 1]),
							   DatumGetHash256P(values[SPI_fnumber(desc, "key_id") - 1]));
	}
}

/*
 * A row with a NULL in a key of this index cannot conflict in it (the
 * index's keys are plain NULLS DISTINCT columns: PostgreSQL's own check
 * passes such a row without a lookup).
 */
static bool
null_key_passes(const LedgerUnique *u, const bool *nulls)
{
	if (!u->null_skips)
		return false;
	for (int k = 0; k < u->nkeys; k++)
		if (nulls[u->keys[k] - 1])
			return true;
	return false;
}

/*
 * Does the row conflict with a row already in a DEFERRABLE unique or
 * exclusion index?  ExecCheckIndexConstraints() refuses such indexes as
 * arbiters, and PostgreSQL's own check of them, at commit, is a constraint
 * trigger that rows applied by replication never fire.  On an append-only
 * table a conflict now is a conflict at commit, so the index is probed as an
 * immediate one would be; the probe reports a conflict by raising
 * ERRCODE_EXCLUSION_VIOLATION, caught in a subtransaction (other errors are
 * raised again).  Only tables with such an index pay for it.
 */
static bool
deferred_index_conflicts(Relation rel, Relation irel, IndexInfo *ii, TupleTableSlot *slot, EState *estate)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ExprContext *econtext = GetPerTupleExprContext(estate);
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	ItemPointerData none;
	bool		conflict = false;

	econtext->ecxt_scantuple = slot;
	if (ii->ii_Predicate != NIL)
	{
		ExprState  *pred = ExecPrepareQual(ii->ii_Predicate, estate);

		if (!ExecQual(pred, econtext))
			return false;		/* outside a partial index */
	}
	FormIndexDatum(ii, slot, estate, values, isnull);
	ItemPointerSetInvalid(&none);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		check_exclusion_constraint(rel, irel, ii, &none, values, isnull, estate, false);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->sqlerrcode != ERRCODE_EXCLUSION_VIOLATION)
			ReThrowError(edata);
		FreeErrorData(edata);
		conflict = true;
	}
	PG_END_TRY();
	return conflict;
}

/*
 * Would the row break one of the table's unique or exclusion indexes other
 * than the chain index (a passport id, a signature)?  Two members can write
 * such rows at the same moment.  Left to the insert, the violation fails the
 * apply worker, which retries the same transaction forever and holds back
 * every table of the subscription, with nothing recorded (a DEFERRABLE
 * constraint is not even checked: its commit-time trigger does not fire in
 * replica mode); refused here, it is named, the subscription stops, and the
 * chain can be quarantined.
 *
 * Per row this is the apply worker's hot path: the indexes to probe come
 * from the table's cache entry (ledger_rel.c), an index whose keys are plain
 * NULLS DISTINCT columns is passed over when the row has a NULL key (a
 * batch-signed row's ledger_sig: PostgreSQL's own check passes such a row
 * without a lookup), and only the indexes left are opened, not every index
 * of the table.
 */
static const char *
check_unique(Relation rel, LedgerRel *lr, HeapTuple tup, bool *nulls, char **detail)
{
	EState	   *estate = NULL;
	ResultRelInfo *rri = NULL;
	List	   *arbiters = NIL;
	List	   *deferred = NIL;
	ItemPointerData conflict;
	bool		ok = true;
	int			n = 0;
	TupleTableSlot *slot;
	ListCell   *lc;

	for (int i = 0; i < lr->nunique; i++)
	{
		LedgerUnique *u = &lr->unique[i];
		Relation	irel;
		IndexInfo  *ii;

		if (null_key_passes(u, nulls))
			continue;
		/* the executor state only once an index is left to probe: most rows have none */
		if (rri == NULL)
		{
			estate = CreateExecutorState();
			rri = makeNode(ResultRelInfo);
			InitResultRelInfo(rri, rel, 1, NULL, 0);
			rri->ri_IndexRelationDescs = palloc0(sizeof(Relation) * lr->nunique);
			rri->ri_IndexRelationInfo = palloc0(sizeof(IndexInfo *) * lr->nunique);
		}
		/* the lock ExecOpenIndices() takes, as the insert itself will */
		irel = index_open(u->indexoid, RowExclusiveLock);
		if (!irel->rd_index->indisready)
		{
			/* still being built concurrently: PostgreSQL checks nothing against it either */
			index_close(irel, RowExclusiveLock);
			continue;
		}
		ii = BuildIndexInfo(irel);
		if (ii->ii_Unique)
			BuildSpeculativeIndexInfo(irel, ii);	/* exclusion indexes carry their operators */
		rri->ri_IndexRelationDescs[n] = irel;
		rri->ri_IndexRelationInfo[n] = ii;
		n++;
		rri->ri_NumIndices = n;
		if (irel->rd_index->indimmediate)
			arbiters = lappend_oid(arbiters, u->indexoid);
		else
			deferred = lappend_int(deferred, n - 1);
	}
	if (rri == NULL)
		return NULL;
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	ExecStoreHeapTuple(tup, slot, false);
	if (arbiters != NIL)
		ok = bl_ExecCheckIndexConstraints(rri, slot, estate, &conflict, arbiters);
	foreach(lc, deferred)
	{
		int			k = lfirst_int(lc);

		if (!ok)
			break;
		ok = !deferred_index_conflicts(rel, rri->ri_IndexRelationDescs[k],
									   rri->ri_IndexRelationInfo[k], slot, estate);
	}
	ExecDropSingleTupleTableSlot(slot);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	if (ok)
		return NULL;
	*detail = "A row here already holds one of this row's unique values (a passport id, a signature): two members wrote conflicting rows.";
	return "unique_conflict";
}

/*
 * Would the row break one of the table's NOT NULL or CHECK constraints?  The
 * insert checks them after every BEFORE trigger, so a replicated row that
 * breaks one (its member dropped the constraint at home) failed the apply
 * worker, which retried it forever, unnamed (red team r8, C1); refused here,
 * it is named like any other refusal.  The constraints are planned once per
 * cache entry, on the first arriving row (as the apply worker, who would
 * evaluate them on insert anyway).
 */
static const char *
check_constraints(Relation rel, LedgerRel *lr, HeapTuple tup, bool *nulls, char **detail)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TupleConstr *constr = desc->constr;
	EState	   *estate;
	ExprContext *econtext;
	TupleTableSlot *slot;
	ListCell   *lc,
			   *ln;
	const char *broken = NULL;

	if (constr == NULL)
		return NULL;
	if (constr->has_not_null)
		for (int i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (att->attnotnull && !att->attisdropped && nulls[i])
			{
				*detail = psprintf("Column \"%s\" is NULL; the table here has it NOT NULL.", NameStr(att->attname));
				return "constraint_violation";
			}
		}
	if (constr->num_check == 0)
		return NULL;
	if (!lr->checks_built)
	{
		List	   *checks = NIL;
		List	   *names = NIL;
		MemoryContext old;

		for (int i = 0; i < constr->num_check; i++)
			checks = lappend(checks, expression_planner((Expr *) stringToNode(constr->check[i].ccbin)));
		old = MemoryContextSwitchTo(lr->mcxt);
		lr->checks = copyObject(checks);
		for (int i = 0; i < constr->num_check; i++)
			names = lappend(names, pstrdup(constr->check[i].ccname));
		lr->check_names = names;
		MemoryContextSwitchTo(old);
		lr->checks_built = true;
	}
	estate = CreateExecutorState();
	econtext = GetPerTupleExprContext(estate);
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsHeapTuple);
	ExecStoreHeapTuple(tup, slot, false);
	econtext->ecxt_scantuple = slot;
	forboth(lc, lr->checks, ln, lr->check_names)
	{
		MemoryContext old = MemoryContextSwitchTo(estate->es_query_cxt);
		ExprState  *st = ExecInitExpr((Expr *) lfirst(lc), NULL);

		MemoryContextSwitchTo(old);
		/* NULL passes, as in PostgreSQL's own check */
		if (!ExecCheck(st, econtext))
		{
			broken = (const char *) lfirst(ln);
			break;
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);
	if (broken == NULL)
		return NULL;
	*detail = psprintf("The row breaks the table's check constraint \"%s\".", broken);
	return "constraint_violation";
}

/*
 * A batch arriving: its name, its id under its signer's key, is free here?
 * Each member picks its own ids; until 0.28.0 an id alone was the name, and
 * two members filing one id (an honest "batch-1", or an application given
 * the id another member's next batch would take) stopped each other's
 * subscriptions and a third member's to whichever came second (red team
 * rt27 H6).
 */
static const char *
check_arriving_batch(TupleDesc desc, Datum *values, bool *nulls, char **detail)
{
	int			nest;
	Oid			argtypes[2] = {TEXTOID, hash256_type_oid()};
	Datum		args[2];
	int			id_att = SPI_fnumber(desc, "batch_id");
	int			key_att = SPI_fnumber(desc, "key_id");
	bool		taken;

	if (id_att <= 0 || key_att <= 0 || nulls[id_att - 1] || nulls[key_att - 1])
	{
		*detail = "The batch has no batch_id or no key_id.";
		return "missing_chain_fields";
	}
	args[0] = values[id_att - 1];
	args[1] = values[key_att - 1];
	nest = bl_spi_connect();
	if (SPI_execute_with_args("SELECT 1 FROM battledger.batch WHERE batch_id = $1 AND key_id OPERATOR(battledger.=) $2",
							  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.batch");
	taken = SPI_processed > 0;
	bl_spi_finish(nest);
	if (taken)
	{
		*detail = psprintf("Batch id \"%s\" of key %s is already taken here.", TextDatumGetCString(args[0]),
						   hash256_to_hex(DatumGetHash256P(args[1])));
		return "duplicate_batch";
	}
	return NULL;
}

/* battledger._arrive_trigger() RETURNS trigger */
PG_FUNCTION_INFO_V1(battledger_arrive_trigger);
Datum
battledger_arrive_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	LedgerRel  *lr;
	HeapTuple	tup;
	Datum	   *values;
	bool	   *nulls;
	const ConsortiumMember *from;
	const char *mine = local_origin();
	char	   *origin;
	int64		seq;
	const char *problem;
	char	   *detail = NULL;
	StringInfoData buf;
	uint8		computed[BL_HASH_LEN];

	check_trigger_context(fcinfo, "battledger_arrive_trigger");
	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	lr = ledger_rel_get(rel);
	if (lr->late_arrive_trigger)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("trigger \"%s\" on ledger table \"%s\" fires after the arrival check",
						lr->late_arrive_trigger, RelationGetRelationName(rel)),
				 errdetail("BEFORE INSERT triggers fire in name order; a replicated row changed after it was checked would be stored unchecked."),
				 errhint("Rename the trigger so that its name sorts before \"%s\", or disable it for replication.",
						 LEDGER_ARRIVE_TRIGGER)));
	tup = td->tg_trigtuple;
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	heap_deform_tuple(tup, desc, values, nulls);

	origin = nulls[lr->origin_attno - 1] ? NULL : TextDatumGetCString(values[lr->origin_attno - 1]);
	from = consortium_worker_member();

	if (origin == NULL || origin[0] == '\0' || strcmp(origin, mine) == 0)
		reject_row(rel, lr, tup, origin, 0, "wrong_origin",
				   "A row arriving by replication must belong to another member; this database's own rows are written through the chain trigger.");
	if (from && strcmp(origin, from->origin) != 0)
		reject_row(rel, lr, tup, origin, 0, "wrong_origin",
				   psprintf("The subscription was joined for member \"%s\", which may not publish rows of \"%s\".",
							from->origin, origin));
	/* a quarantined chain: held back whole, unchecked, for release_chain() */
	if (quarantine_holds(rel, lr, origin, tup, values, nulls))
	{
		/* received all the same: its leaf is no missing row (peer_arrival) */
		if (from)
			consortium_count_row(origin, lr->qualname);
		return PointerGetDatum(NULL);
	}
	if (nulls[lr->seq_attno - 1] || nulls[lr->prev_attno - 1] || nulls[lr->hash_attno - 1] ||
		(lr->chain_attno && nulls[lr->chain_attno - 1]))
		reject_row(rel, lr, tup, origin, 0, "missing_chain_fields",
				   "The row has no ledger_seq, ledger_prev, ledger_hash or chain key.");
	seq = DatumGetInt64(values[lr->seq_attno - 1]);
	if (seq < 1)
		reject_row(rel, lr, tup, origin, seq, "bad_position", "ledger_seq must be at least 1.");

	/* joining again copies rows already here: the same row at the same place is skipped */
	if (consortium_table_sync())
	{
		Hash256		here;

		if (chain_row_hash(rel, lr, values[lr->origin_attno - 1],
						   lr->chain_attno ? values[lr->chain_attno - 1] : (Datum) 0, seq, &here) &&
			memcmp(here.bytes, DatumGetHash256P(values[lr->hash_attno - 1])->bytes, BL_HASH_LEN) == 0)
			return PointerGetDatum(NULL);
	}

	initStringInfo(&buf);
	row_encode(lr->encoder, values, nulls, &buf);
	chain_hash(DatumGetHash256P(values[lr->prev_attno - 1])->bytes, seq, buf.data, buf.len, computed);
	if (memcmp(computed, DatumGetHash256P(values[lr->hash_attno - 1])->bytes, BL_HASH_LEN) != 0)
		reject_row(rel, lr, tup, origin, seq, "hash_mismatch",
				   "ledger_hash does not match the row's content and chain fields.");

	problem = check_link(rel, lr, values[lr->origin_attno - 1],
						 lr->chain_attno ? values[lr->chain_attno - 1] : (Datum) 0, seq,
						 DatumGetHash256P(values[lr->prev_attno - 1]),
						 lr->signer_roles && !nulls[lr->at_attno - 1] ?
						 DatumGetTimestampTz(values[lr->at_attno - 1]) : DT_NOEND, &detail);
	if (problem)
		reject_row(rel, lr, tup, origin, seq, problem, detail);

	if (strcmp(lr->qualname, "battledger.batch") == 0 &&
		(problem = check_arriving_batch(desc, values, nulls, &detail)) != NULL)
		reject_row(rel, lr, tup, origin, seq, problem, detail);
	/*
	 * a batch signed for a member its origin did not add (rt27 H2, as for a
	 * signed row in sign_check_arriving_row()); at a join's copy the member
	 * rows may come after it, as keys do
	 */
	if (strcmp(lr->qualname, "battledger.batch") == 0 && !consortium_join_copying())
	{
		int			keyatt = SPI_fnumber(desc, "key_id");

		if (keyatt > 0 && !nulls[keyatt - 1] &&
			(problem = sign_origin_problem(DatumGetHash256P(values[keyatt - 1]), origin, &detail)) != NULL)
			reject_row(rel, lr, tup, origin, seq, problem, detail);
	}

	/* a weak key registered at another member: the same check as for one registered here */
	if ((problem = key_row_problem(lr, desc, values, nulls, &detail)) != NULL)
		reject_row(rel, lr, tup, origin, seq, problem, detail);

	if (lr->signer_roles)
	{
		problem = sign_check_arriving_row(rel, lr, values, nulls, &detail);
		/*
		 * copied at join: keys, roles and batches come in other tables'
		 * copies, which may commit after this row (verify_member() checks)
		 */
		if (problem && consortium_join_copying() &&
			(strcmp(problem, "unknown_key") == 0 || strcmp(problem, "wrong_role") == 0 ||
			 strcmp(problem, "unknown_batch") == 0 || strcmp(problem, "signer_not_hosted") == 0))
			problem = NULL;
		if (problem)
			reject_row(rel, lr, tup, origin, seq, problem, detail);
	}
	if ((problem = check_constraints(rel, lr, tup, nulls, &detail)) != NULL)
		reject_row(rel, lr, tup, origin, seq, problem, detail);
	if ((problem = check_unique(rel, lr, tup, nulls, &detail)) != NULL)
		reject_row(rel, lr, tup, origin, seq, problem, detail);
	row_arrived(rel, lr, values, nulls);
	/*
	 * by a subscription only: release_chain() stores rows counted when they
	 * were held, and a local session in replica role receives nothing
	 */
	if (from)
		consortium_count_row(origin, lr->qualname);
	return PointerGetDatum(tup);
}

/*
 * The C names of the SQL trigger functions follow one pattern (see also chain.c),
 * battledger_<name>_trigger for battledger._<name>_trigger().  The install
 * scripts of 0.1.0 to 0.4.0 (which upgrade.sh installs with this library)
 * name the older symbol: it is the same function.
 */
PG_FUNCTION_INFO_V1(ledger_arrive_trigger);
Datum
ledger_arrive_trigger(PG_FUNCTION_ARGS)
{
	return battledger_arrive_trigger(fcinfo);
}
