/*
 * log_queue.c — the log's queue table: log_pending opened and written
 * (log_entries.c fills it from the entries the chain trigger records), and
 * the leaf bytes a queued row becomes when sealed.
 * Part of the transparency log (log.c); log_internal.h joins its files.
 */
#include "log.h"
#include "log_internal.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "lib/stringinfo.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "merkle.h"

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

HeapTuple
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

