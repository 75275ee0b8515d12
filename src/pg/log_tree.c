/*
 * log_tree.c — the log's node store: the stored nodes a computation needs,
 * fetched in one query, the sealed size, the root at a size and the latest
 * checkpoint.  Part of the transparency log (log.c); log_internal.h joins
 * its files.
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

/* Fetch the listed nodes (level 0 from log_leaf, others from log_node) in one query. */
void
nodeset_fetch(NodeSet *ns)
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
	bool		isnull;
	Datum		d;

	if (SPI_execute("SELECT coalesce(max(leaf_index) + 1, 0) FROM battledger.log_leaf", false, 1) != SPI_OK_SELECT)
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
	bool		isnull;

	if (SPI_execute("SELECT tree_size, root, note FROM battledger.checkpoint ORDER BY tree_size DESC LIMIT 1",
					false, 1) != SPI_OK_SELECT)
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

