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
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
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

/*
 * The queue, opened once per statement by the log trigger.  Its tuples are
 * formed here from four Datums (log_pending_tuple(), log_pending_form()):
 * a queue whose columns are not (text, int8, hash256, hash256) any more, as
 * a superuser's ALTER TABLE can leave it, is refused rather than written.
 * Written anyway, a fifth column was read past the four Datums (an added
 * NOT NULL column came out null) and a seq altered to numeric took the
 * int8 for a pointer: the backend crashed, and the server reset every
 * session (red team r19 F3).
 */
Relation
log_pending_open(void)
{
	static Oid	pending_oid = InvalidOid;
	Relation	rel = OidIsValid(pending_oid) ? try_table_open(pending_oid, RowExclusiveLock) : NULL;
	TupleDesc	desc;
	Oid			h = hash256_type_oid();
	Oid			want[4] = {TEXTOID, INT8OID, h, h};
	bool		ok;

	if (rel == NULL)
	{
		pending_oid = log_relid("log_pending");
		rel = table_open(pending_oid, RowExclusiveLock);
	}
	desc = RelationGetDescr(rel);
	ok = desc->natts == 4;
	for (int i = 0; ok && i < 4; i++)
		ok = !TupleDescAttr(desc, i)->attisdropped && TupleDescAttr(desc, i)->atttypid == want[i];
	if (!ok)
	{
		table_close(rel, RowExclusiveLock);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("battledger.log_pending is not the log queue battledger made"),
				 errdetail("Its columns must be exactly (tbl text, seq bigint, prev battledger.hash256, row_hash battledger.hash256), with none added or dropped; an ALTER TABLE changed them."),
				 errhint("Undo the ALTER TABLE (or, with no queued rows, recreate the table as sql/install/70_log.sql does) before writing to a ledger table again.")));
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

/*
 * The queue's tuples of one table, copied from a template.  A bulk load
 * queues each row it chains, and heap_form_tuple() spent 800 instructions a
 * row working out again the layout of four columns whose sizes only the
 * table name changes: here the template, formed by heap_form_tuple() with
 * the table's name, zero seq and zero hashes, is copied and the three
 * fixed-size fields written over at their offsets, as heap_fill_tuple()
 * writes them (the byval int8 with store_att_byval(), the 32-byte hashes
 * with memcpy()).  The result is heap_form_tuple()'s tuple, byte for byte.
 *
 * The template is for one table name and one descriptor: it is made again
 * when the name changes, and lives only while the caller holds log_pending
 * open (a flush), so an ALTER of log_pending (an extension update) cannot
 * meet an old layout.  A layout other than (text, int8, hash256, hash256)
 * without dropped columns gets heap_form_tuple() for every row.
 */
static bool
pending_offsets(HeapTuple tmpl, TupleDesc desc, PendingForm *pf)
{
	char	   *tp = (char *) tmpl->t_data + tmpl->t_data->t_hoff;
	uint32		off = 0;
	int			offs[4];

	if (desc->natts != 4 || HeapTupleHasNulls(tmpl))
		return false;
	for (int i = 0; i < 4; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			return false;
		if (att->attlen == -1)
			off = att_align_pointer(off, att->attalign, -1, tp + off);
		else
			off = att_align_nominal(off, att->attalign);
		offs[i] = (int) (tp - (char *) tmpl->t_data) + (int) off;
		off = att_addlength_pointer(off, att->attlen, tp + off);
	}
	if (TupleDescAttr(desc, 0)->atttypid != TEXTOID ||
		TupleDescAttr(desc, 1)->attlen != sizeof(int64) || !TupleDescAttr(desc, 1)->attbyval ||
		TupleDescAttr(desc, 2)->attlen != BL_HASH_LEN || TupleDescAttr(desc, 2)->attbyval ||
		TupleDescAttr(desc, 3)->attlen != BL_HASH_LEN || TupleDescAttr(desc, 3)->attbyval)
		return false;
	pf->seq_off = offs[1];
	pf->prev_off = offs[2];
	pf->hash_off = offs[3];
	return true;
}

void
log_pending_form_init(PendingForm *pf)
{
	pf->cxt = CurrentMemoryContext;
	pf->qualname = NULL;
	pf->tmpl = NULL;
	pf->usable = false;
}

HeapTuple
log_pending_form(PendingForm *pf, Relation pending, text *qualname, int64 seq, const Hash256 *prev,
				 const Hash256 *row_hash)
{
	HeapTuple	tup;

	if (pf->tmpl == NULL || pf->qualname != qualname)
	{
		MemoryContext old = MemoryContextSwitchTo(pf->cxt);
		Hash256		zero;
		HeapTuple	tmpl;

		memset(zero.bytes, 0, BL_HASH_LEN);
		tmpl = log_pending_tuple(pending, qualname, 0, &zero, &zero);
		MemoryContextSwitchTo(old);
		log_pending_form_end(pf);
		pf->tmpl = tmpl;
		pf->qualname = qualname;
		pf->usable = pending_offsets(tmpl, RelationGetDescr(pending), pf);
	}
	if (!pf->usable)
		return log_pending_tuple(pending, qualname, seq, prev, row_hash);
	tup = heap_copytuple(pf->tmpl);
	store_att_byval((char *) tup->t_data + pf->seq_off, Int64GetDatum(seq), sizeof(int64));
	memcpy((char *) tup->t_data + pf->prev_off, prev->bytes, BL_HASH_LEN);
	memcpy((char *) tup->t_data + pf->hash_off, row_hash->bytes, BL_HASH_LEN);
#ifdef BL_CHECK_PENDING_FORM
	{
		HeapTuple	ref = log_pending_tuple(pending, qualname, seq, prev, row_hash);

		if (ref->t_len != tup->t_len || memcmp(ref->t_data, tup->t_data, ref->t_len) != 0)
			elog(ERROR, "battledger: log_pending tuple differs from heap_form_tuple()'s");
		heap_freetuple(ref);
	}
#endif
	return tup;
}

void
log_pending_form_end(PendingForm *pf)
{
	if (pf->tmpl)
		heap_freetuple(pf->tmpl);
	pf->tmpl = NULL;
	pf->qualname = NULL;
}

/*
 * One batch of queue tuples written with heap_multi_insert() (one buffer
 * lock and a page-full of tuples at a time), in the slots' order; their
 * tuples, in the context tuples, are freed after.
 */
void
log_pending_write(Relation pending, TupleTableSlot **batch, int n, MemoryContext tuples)
{
	heap_multi_insert(pending, batch, n, GetCurrentCommandId(true), 0, NULL);
	for (int b = 0; b < n; b++)
		ExecClearTuple(batch[b]);
	MemoryContextReset(tuples);
}

/*
 * One queue tuple.  It is heap_multi_insert()'s tuple for the same entry,
 * byte for byte (both form it with heap_form_tuple() and stamp it with
 * heap_prepare_insert(), with the same command id and options), so a flush
 * of a single entry, a single-row transaction's, writes it here: without
 * the slots, their descriptor and context, and the template a batch needs
 * (0.22.0: 2.9k of the flush's 7.8k instructions).
 */
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

