/*
 * commitment_rows.c — how many battery_event rows name a commitment, up to
 * a limit, read from the battery_event_restricted index by an index scan
 * that stops at the limit.
 *
 * A commitment counts once (0.25.0, 87_usage_state.sql's header): the
 * usage-state triggers and the passport's readers ask "does one row name
 * it, two, three?", never "how many".  As SQL (count(*) over a LIMIT, or
 * NOT EXISTS (... OFFSET 1)) the answer's cost was the planner's to choose:
 * a bitmap index scan, which it picks while the statistics still say one
 * row per commitment, reads every entry of the commitment before the LIMIT
 * applies, so a thousand replays of one commitment read its index half a
 * million times (red team rt25b X1); 0.25.0 turned bitmap scans off for
 * the three triggers (a function-level SET, which a DBA's
 * enable_indexscan = off or random_page_cost still turned into a
 * sequential scan of the table per row).  Here the scan is an index scan
 * whatever the planner settings and statistics say: at most LIMIT visible
 * rows are fetched (and the dead or invisible entries between them).
 *
 * The index is found by name in the function's own schema and checked to
 * be what the extension made: a valid, ready btree on battery_event's one
 * column restricted, with no predicate but "restricted IS NOT NULL".  An
 * index that is not (dropped, rebuilt by hand on another column, left
 * invalid by a failed REINDEX CONCURRENTLY) would give wrong counts, and
 * a wrong count folds a contested report: an error then, not a guess.
 * Rows are read as they are, without row security: the count decides the
 * usage state every member computes alike (checks that decide read all
 * rows).  The caller must be able to read battery_event (SELECT on it).
 */
#include "postgres.h"
#include "pg_compat.h"

#include "hash256.h"

#include "access/genam.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/primnodes.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"

#include "commitment_rows.h"

PG_FUNCTION_INFO_V1(bl_commitment_rows);

/* the most rows a caller may ask for: callers ask whether 1, 2 or 3 do */
#define COMMITMENT_ROWS_MAX 16

pg_noreturn static void
index_unfit(const char *schema, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("index %s.battery_event_restricted cannot count a commitment's rows",
					quote_identifier(schema)),
			 errdetail("%s", why),
			 errhint("Re-create it as the extension made it: CREATE INDEX battery_event_restricted ON battery_event (restricted) WHERE restricted IS NOT NULL.")));
}

/* the index predicate is none, or "restricted IS NOT NULL" alone */
static bool
predicate_fits(Relation index, AttrNumber attno)
{
	List	   *pred = RelationGetIndexPredicate(index);
	NullTest   *nt;

	if (pred == NIL)
		return true;
	if (list_length(pred) != 1 || !IsA(linitial(pred), NullTest))
		return false;
	nt = (NullTest *) linitial(pred);
	return nt->nulltesttype == IS_NOT_NULL && !nt->argisrow && IsA(nt->arg, Var) &&
		((Var *) nt->arg)->varattno == attno && ((Var *) nt->arg)->varlevelsup == 0;
}

int32
bl_commitment_rows_count(Oid nsp, Datum commitment, int32 lim, Snapshot snapshot)
{
	const char *schema = get_namespace_name(nsp);
	Oid			heapoid;
	Oid			indexoid;
	Relation	heap;
	Relation	index;
	AttrNumber	attno;
	Oid			eqop;
	ScanKeyData key;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	AclResult	acl;
	int32		n = 0;

	if (schema == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("counting a commitment's rows cannot find the extension's schema")));
	heapoid = get_relname_relid("battery_event", nsp);
	if (!OidIsValid(heapoid) || get_rel_relkind(heapoid) != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table %s.battery_event does not exist", quote_identifier(schema))));
	acl = pg_class_aclcheck(heapoid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, "battery_event");
	indexoid = get_relname_relid("battery_event_restricted", nsp);
	if (!OidIsValid(indexoid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("index %s.battery_event_restricted does not exist", quote_identifier(schema)),
				 errhint("Re-create it as the extension made it: CREATE INDEX battery_event_restricted ON battery_event (restricted) WHERE restricted IS NOT NULL.")));
	if (get_rel_relkind(indexoid) != RELKIND_INDEX)
		index_unfit(schema, "It is not an index.");

	heap = table_open(heapoid, AccessShareLock);
	index = index_open(indexoid, AccessShareLock);
	attno = get_attnum(heapoid, "restricted");
	if (index->rd_index->indrelid != heapoid)
		index_unfit(schema, "It is not an index on battery_event.");
	if (index->rd_rel->relam != BTREE_AM_OID)
		index_unfit(schema, "It is not a btree index.");
	if (index->rd_index->indnatts != 1 || attno == InvalidAttrNumber ||
		index->rd_index->indkey.values[0] != attno)
		index_unfit(schema, "It is not an index on the column restricted alone.");
	if (!index->rd_index->indisvalid || !index->rd_index->indisready || !index->rd_index->indislive)
		index_unfit(schema, "It is not valid (a failed or unfinished CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY, or pg_index edited).");
	if (!predicate_fits(index, attno))
		index_unfit(schema, "Its predicate leaves out rows naming a commitment.");
	if (index->rd_opcintype[0] != hash256_type_oid())
		index_unfit(schema, "Its operator class is not one of hash256.");
	eqop = get_opfamily_member(index->rd_opfamily[0], index->rd_opcintype[0],
							   index->rd_opcintype[0], BTEqualStrategyNumber);
	if (!OidIsValid(eqop))
		index_unfit(schema, "Its operator family has no equality for hash256.");

	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], get_opcode(eqop), commitment);
	slot = table_slot_create(heap, NULL);
	scan = bl_index_beginscan(heap, index, snapshot, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while (n < lim && index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		CHECK_FOR_INTERRUPTS();
		n++;
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
	return n;
}

/*
 * _commitment_rows(commitment hash256, lim integer, latest boolean) RETURNS integer
 *
 * The number of battery_event rows, of any event kind, whose restricted
 * value is the commitment, counted up to lim (1 to 16): callers compare
 * counts that stop at the same lim they pass.  latest false: as the calling
 * query sees them (its snapshot).  latest true: as committed now (the
 * latest snapshot, as PostgreSQL's foreign-key checks read under
 * REPEATABLE READ), for a trigger at REPEATABLE READ or SERIALIZABLE whose
 * transaction snapshot may miss a row committed after it (usage_latest.c);
 * NULL at READ COMMITTED, where each query's snapshot is the latest
 * already and a difference is no failure.  STRICT.
 */
Datum
bl_commitment_rows(PG_FUNCTION_ARGS)
{
	int32		lim = PG_GETARG_INT32(1);
	bool		latest = PG_GETARG_BOOL(2);
	Oid			nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
	Snapshot	snap;
	int32		n;

	if (get_fn_expr_argtype(fcinfo->flinfo, 0) != hash256_type_oid())
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("_commitment_rows() takes a hash256 commitment")));
	if (lim < 1 || lim > COMMITMENT_ROWS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("_commitment_rows() counts up to a limit from 1 to %d, not %d", COMMITMENT_ROWS_MAX, lim),
				 errdetail("Its callers ask whether one, two or three rows name a commitment."),
				 errhint("Pass a limit from 1 to %d.", COMMITMENT_ROWS_MAX)));
	if (latest)
	{
		if (!IsolationUsesXactSnapshot())
			PG_RETURN_NULL();
		snap = RegisterSnapshot(GetLatestSnapshot());
		n = bl_commitment_rows_count(nsp, PG_GETARG_DATUM(0), lim, snap);
		UnregisterSnapshot(snap);
	}
	else
	{
		if (!ActiveSnapshotSet())
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("_commitment_rows() called without a snapshot")));
		n = bl_commitment_rows_count(nsp, PG_GETARG_DATUM(0), lim, GetActiveSnapshot());
	}
	PG_RETURN_INT32(n);
}
