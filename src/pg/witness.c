/*
 * witness.c — watching the other members' logs.  Each member publishes its
 * log_leaf and checkpoint rows with its ledger rows; on a subscriber, ENABLE
 * REPLICA triggers divert them (the local tables hold only the local log):
 *
 *   - leaves are held in memory until the checkpoint sealed with them (the
 *     same remote transaction) arrives;
 *   - the checkpoint must be signed by the member's log key (pinned by
 *     battledger.join()), and its tree must extend the last checkpoint this
 *     member verified: the new leaves, appended to the stored compact range,
 *     must give the signed root.  Then leaves and checkpoint are stored in
 *     peer_leaf and peer_checkpoint, and the checkpoint is cosigned
 *     (tlog-cosignature/v1) with this member's witness key;
 *   - a checkpoint that contradicts what was verified before (a second root
 *     for a size, leaves re-sealed differently, a root that is not the tree
 *     of the published leaves) is evidence of a split view or a rewritten
 *     history: it is kept with the last good checkpoint in log_conflict,
 *     never cosigned, and the transaction goes on (the rows are not at fault);
 *   - cosignatures arriving from a witness are checked against its pinned
 *     witness key before they are stored.
 *
 * Why one file: the leaf, checkpoint and cosignature triggers share the
 * leaves held in memory until their checkpoint arrives and each member's
 * verified state; split, they would have to export both.
 */
#include "postgres.h"

#include "witness.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "replication/worker_internal.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "catalog/namespace.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "ed25519.h"
#include "merkle.h"
#include "note.h"

#include "chain.h"
#include "consortium.h"
#include "hash256.h"
#include "log.h"
#include "log_keys.h"
#include "pgutil.h"
#include "sqlstate.h"

char	   *bl_witness_key_file = NULL;
int			bl_max_clock_ahead = 600;
static KeyFile witness_key = {NULL, NULL};

/* Set while this backend stores its own cosignature: the replica trigger lets that one in. */
static bool cosigning = false;

/* Leaves of the remote transaction being applied, waiting for their checkpoint. */
typedef struct HeldLeaf
{
	int64		index;
	char	   *tbl;
	int64		seq;
	Hash256		prev;
	Hash256		row_hash;
	Hash256		leaf_hash;
} HeldLeaf;

static List *held = NIL;
static MemoryContext held_cxt = NULL;	/* in TopTransactionContext; emptied at each checkpoint */
static LocalTransactionId held_lxid = InvalidLocalTransactionId;
static char *held_origin = NULL;	/* whose leaves, in TopMemoryContext */
static bool held_callback = false;

/*
 * A member whose held checkpoint (one stored unverified around a join, see
 * witness_held_checkpoint()) this transaction may have completed: its
 * leaves or the checkpoint itself were stored.  In TopMemoryContext.
 */
static LocalTransactionId recheck_lxid = InvalidLocalTransactionId;
static char *recheck_origin = NULL;

static void store_leaves(const char *origin, List *leaves, bool if_absent);
static void witness_held_checkpoint(const char *origin);

/* leaves a join's copy stores in one statement */
#define SYNC_LEAF_BATCH 10000

/* Have this transaction's commit look at origin's held checkpoint (witness_held_checkpoint()). */
static void
recheck_at_commit(const char *origin)
{
	recheck_lxid = BL_MY_LXID();
	if (recheck_origin == NULL || strcmp(recheck_origin, origin) != 0)
	{
		if (recheck_origin != NULL)
			pfree(recheck_origin);
		recheck_origin = MemoryContextStrdup(TopMemoryContext, origin);
	}
}

/*
 * Leaves whose checkpoint did not come in the same transaction (around a
 * join, the checkpoint table may be applied by a table-sync worker) are
 * stored at commit, to be checked with the next checkpoint.  Before a
 * PREPARE too, as the arrival counts and batch checks are: leaves come from
 * seal(), which refuses a transaction block, so no member prepares them
 * today; a subscription created with two_phase would otherwise lose them
 * if one ever did.  Then, if this transaction stored leaves or held a
 * checkpoint, the member's held checkpoint is looked at again.
 */
static void
held_xact_callback(XactEvent event, void *arg)
{
	int			nest;

	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
		return;
	if (held != NIL && held_lxid == BL_MY_LXID() && held_origin != NULL)
	{
		nest = bl_spi_connect_at_commit();
		store_leaves(held_origin, held, true);
		bl_spi_finish_at_commit(nest);
		held = NIL;
		recheck_at_commit(held_origin);
	}
	if (recheck_lxid == BL_MY_LXID() && recheck_origin != NULL)
	{
		recheck_lxid = InvalidLocalTransactionId;
		witness_held_checkpoint(recheck_origin);
	}
}

static void
register_held_callback(void)
{
	if (!held_callback)
	{
		RegisterXactCallback(held_xact_callback, NULL);
		held_callback = true;
	}
}

static const ConsortiumMember *
member_or_error(Relation rel, const char *table)
{
	const ConsortiumMember *m;

	/* attached to anything else, the attribute numbers below would read foreign Datums */
	if (get_namespace_oid("battledger", true) != RelationGetNamespace(rel) ||
		strncmp(table, "battledger.", 11) != 0 ||
		strcmp(RelationGetRelationName(rel), table + 11) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("this trigger belongs on %s, not on \"%s\"", table, RelationGetRelationName(rel))));
	m = consortium_worker_member();

	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("rows of %s written with session_replication_role = replica must come from a subscription", table),
				 errdetail("Other members' logs arrive only through the subscriptions battledger.join() creates.")));
	return m;
}

static Datum
getattr(HeapTuple tup, TupleDesc desc, int attno)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, attno, desc, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("column \"%s\" of an arriving row is null",
						NameStr(TupleDescAttr(desc, attno - 1)->attname))));
	return d;
}

/*
 * This server's clock in whole seconds since the Unix epoch: the time this
 * member's witness signs, and the one an arriving cosignature's is weighed
 * against.
 */
static int64
unix_now(void)
{
	return GetCurrentTimestamp() / USECS_PER_SEC +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/* ---------------------------------------------------------------- leaves */

/* battledger._peer_leaf_trigger() RETURNS trigger */
PG_FUNCTION_INFO_V1(battledger_peer_leaf_trigger);
Datum
battledger_peer_leaf_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tup;
	const ConsortiumMember *m;
	HeldLeaf   *l;
	text	   *tbl;
	StringInfoData buf;
	uint8		computed[BL_HASH_LEN];
	MemoryContext old;

	check_trigger_context(fcinfo, "battledger_peer_leaf_trigger");
	m = member_or_error(td->tg_relation, "battledger.log_leaf");
	desc = RelationGetDescr(td->tg_relation);
	tup = td->tg_trigtuple;
	if (held_lxid != BL_MY_LXID())
	{
		held = NIL;				/* its memory went with the transaction that held it */
		held_cxt = AllocSetContextCreate(TopTransactionContext, "battledger held leaves",
										 ALLOCSET_DEFAULT_SIZES);
		held_lxid = BL_MY_LXID();
	}

	old = MemoryContextSwitchTo(held_cxt);
	l = palloc(sizeof(HeldLeaf));
	l->index = DatumGetInt64(getattr(tup, desc, 1));
	tbl = DatumGetTextPP(getattr(tup, desc, 2));
	l->tbl = text_to_cstring(tbl);
	l->seq = DatumGetInt64(getattr(tup, desc, 3));
	memcpy(l->prev.bytes, DatumGetHash256P(getattr(tup, desc, 4))->bytes, BL_HASH_LEN);
	memcpy(l->row_hash.bytes, DatumGetHash256P(getattr(tup, desc, 5))->bytes, BL_HASH_LEN);
	memcpy(l->leaf_hash.bytes, DatumGetHash256P(getattr(tup, desc, 6))->bytes, BL_HASH_LEN);
	MemoryContextSwitchTo(old);

	/* the leaf hash must be the hash of the leaf's fields: a leaf is what it names */
	initStringInfo(&buf);
	log_leaf_bytes(&buf, l->tbl, strlen(l->tbl), l->seq, l->prev.bytes, l->row_hash.bytes);
	if (bl_merkle_leaf_hash(buf.data, buf.len, computed) != 0)
		elog(ERROR, "could not hash a leaf");
	if (memcmp(computed, l->leaf_hash.bytes, BL_HASH_LEN) != 0)
		consortium_reject(m->origin, "battledger.log_leaf", l->index, "bad_leaf_hash",
						  "The leaf's hash is not the RFC 9162 leaf hash of its fields.", NULL);

	register_held_callback();
	if (held_origin == NULL || strcmp(held_origin, m->origin) != 0)
		held_origin = MemoryContextStrdup(TopMemoryContext, m->origin);
	old = MemoryContextSwitchTo(held_cxt);
	held = lappend(held, l);
	MemoryContextSwitchTo(old);

	/*
	 * Copied at join, table by table: no checkpoint comes in this
	 * transaction, so the leaves are stored (to be checked with the next
	 * checkpoint) SYNC_LEAF_BATCH at a time, the rest at commit.  One
	 * statement per leaf updated the member's peer_arrival row once per
	 * leaf in the copy's single transaction, each update walking every
	 * earlier version of the row: quadratic (80,000 leaves in 93 s), and
	 * the copy of the member's rows, which counts into the same row, waited
	 * for it meanwhile, "blocked" (f23).
	 */
	if (consortium_table_sync() && list_length(held) >= SYNC_LEAF_BATCH)
	{
		int			nest = bl_spi_connect();

		store_leaves(m->origin, held, true);
		bl_spi_finish(nest);
		held = NIL;
		MemoryContextReset(held_cxt);
		recheck_at_commit(m->origin);
	}
	return PointerGetDatum(NULL);	/* the local log_leaf holds only this member's log */
}

/* ---------------------------------------------------------------- checkpoints */

typedef struct PeerState
{
	bool		have;
	int64		size;
	uint8		root[BL_HASH_LEN];
	char	   *note;
	bool		have_frontier;
	bl_compact	range;
} PeerState;

static bytea *
frontier_bytes(const bl_compact *c)
{
	int			n = 0;
	bytea	   *b;

	for (int lvl = 63; lvl >= 0; lvl--)
		if (c->size & ((uint64) 1 << lvl))
			n++;
	b = palloc(VARHDRSZ + n * BL_HASH_LEN);
	SET_VARSIZE(b, VARHDRSZ + n * BL_HASH_LEN);
	n = 0;
	for (int lvl = 63; lvl >= 0; lvl--)
		if (c->size & ((uint64) 1 << lvl))
			memcpy(VARDATA(b) + BL_HASH_LEN * n++, c->stack[lvl], BL_HASH_LEN);
	return b;
}

static bool
frontier_load(bl_compact *c, uint64 size, bytea *b)
{
	int			n = 0;

	bl_compact_init(c);
	for (int lvl = 63; lvl >= 0; lvl--)
		if (size & ((uint64) 1 << lvl))
		{
			if (VARSIZE_ANY_EXHDR(b) < (Size) (n + 1) * BL_HASH_LEN)
				return false;
			memcpy(c->stack[lvl], VARDATA_ANY(b) + BL_HASH_LEN * n++, BL_HASH_LEN);
		}
	c->size = size;
	return VARSIZE_ANY_EXHDR(b) == (Size) n * BL_HASH_LEN;
}

/* Append stored leaves [from, to) of origin to the compact range; false if some are missing. */
static bool
append_stored_leaves(bl_compact *c, const char *origin, int64 from, int64 to)
{
	Oid			types[3] = {TEXTOID, INT8OID, INT8OID};
	Datum		args[3] = {CStringGetTextDatum(origin), Int64GetDatum(from), Int64GetDatum(to)};
	Portal		cur;
	int64		next = from;

	/*
	 * An empty range is the common case: a checkpoint's fresh leaves arrive
	 * in order, and each asks for the stored ones between it and the last.
	 * Opening the cursor would parse and plan the query once per leaf.
	 */
	if (from >= to)
		return from == to;
	cur = SPI_cursor_open_with_args(NULL,
									"SELECT leaf_index, leaf_hash FROM battledger.peer_leaf "
									"WHERE origin = $1 AND leaf_index >= $2 AND leaf_index < $3 ORDER BY leaf_index",
									3, types, args, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(cur, true, 10000);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			int64		idx = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

			if (idx != next++)
			{
				SPI_cursor_close(cur);
				return false;
			}
			bl_compact_append(c, DatumGetHash256P(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull))->bytes,
							  NULL, NULL);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(cur);
	return next == to;
}

/* The last checkpoint verified for origin, with the compact range at its size. */
static void
peer_state(const char *origin, PeerState *st)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(origin)};

	memset(st, 0, sizeof(*st));
	bl_compact_init(&st->range);
	if (SPI_execute_with_args("SELECT tree_size, root, note, frontier FROM battledger.peer_checkpoint "
							  "WHERE origin = $1 ORDER BY tree_size DESC LIMIT 1",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.peer_checkpoint");
	if (SPI_processed == 1)
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		f;

		st->have = true;
		st->size = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		memcpy(st->root, DatumGetHash256P(SPI_getbinval(t, d, 2, &isnull))->bytes, BL_HASH_LEN);
		st->note = SPI_getvalue(t, d, 3);
		f = SPI_getbinval(t, d, 4, &isnull);
		st->have_frontier = !isnull && frontier_load(&st->range, (uint64) st->size, DatumGetByteaPP(f));
	}
	if (st->have && !st->have_frontier)
	{
		/* copied when the member joined: rebuild the range from the leaves */
		bl_compact_init(&st->range);
		st->have_frontier = append_stored_leaves(&st->range, origin, 0, st->size);
	}
}

static void
record_conflict(const char *origin, const char *problem, const char *detail,
				const char *held_note, const char *new_note)
{
	Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		args[5] = {CStringGetTextDatum(origin), CStringGetTextDatum(problem),
	CStringGetTextDatum(detail), held_note ? CStringGetTextDatum(held_note) : (Datum) 0,
	new_note ? CStringGetTextDatum(new_note) : (Datum) 0};
	char		nulls[5] = {' ', ' ', ' ', held_note ? ' ' : 'n', new_note ? ' ' : 'n'};

	if (SPI_execute_with_args("INSERT INTO battledger.log_conflict (origin, problem, detail, held_note, new_note) "
							  "VALUES ($1, $2, $3, $4, $5)", 5, types, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record a log conflict");
	if (new_note == NULL)
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("member \"%s\" published a leaf inconsistent with its log as stored here (%s)", origin, problem),
				 errdetail("%s", detail),
				 errhint("The checkpoint it contradicts is kept as evidence in battledger.log_conflict; the leaf stored here is kept.")));
	else
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("member \"%s\" signed a checkpoint inconsistent with one verified before (%s)", origin, problem),
				 errdetail("%s", detail),
				 errhint("Both checkpoints are kept as evidence in battledger.log_conflict; the new one is not cosigned.")));
}

/*
 * Leaves stored "if absent" (a join's copy, or leaves whose checkpoint did
 * not come in their transaction) that find a leaf stored here at their
 * index: they must be that leaf.  Until 0.23.0 the copy skipped them
 * unread, so a member that rewrote its log while a witness's slot was gone
 * showed the re-joining witness another leaf below the size it had
 * verified, and nothing said so until a later checkpoint over it came (red
 * team r26, B1 to B4 notes).  The first differing leaf is named as a
 * conflict (rewritten_leaf), once: the held checkpoint is the one verified
 * or cosigned here that covers it, and there is no new one (new_note NULL:
 * no checkpoint of the member came with the leaf; one that covers it, copied
 * or streamed, is weighed on its own and recorded too when it contradicts).
 * The leaf stored here is kept.  args are store_leaves()'s.
 */
static void
compare_stored_leaves(const char *origin, Oid *types, Datum *args)
{
	int64		index;
	int64		seq;
	int64		n;
	char	   *tbl;
	char	   *hash;
	char	   *detail;
	char	   *held_note = NULL;
	bool		isnull;

	if (SPI_execute_with_args("SELECT u.i, u.t, u.s, u.h::text, count(*) OVER () "
							  "FROM unnest($2, $3, $4, $7) u(i, t, s, h) "
							  "JOIN battledger.peer_leaf p ON p.origin = $1 AND p.leaf_index = u.i "
							  "WHERE NOT (p.leaf_hash OPERATOR(battledger.=) u.h) ORDER BY u.i LIMIT 1",
							  7, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.peer_leaf");
	if (SPI_processed == 0)
		return;
	index = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	tbl = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	hash = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull));
	detail = psprintf("Leaf " INT64_FORMAT " was published again with a different row (%s position " INT64_FORMAT
					  ", leaf hash %s) than the leaf stored here",
					  index, tbl, seq, hash);
	{
		Oid			ctypes[4] = {TEXTOID, INT8OID, TEXTOID, TEXTOID};
		Datum		cargs[4] = {args[0], Int64GetDatum(index), CStringGetTextDatum(local_origin()),
		CStringGetTextDatum(detail)};

		/* named once: a join again copies the same leaf again */
		if (SPI_execute_with_args("SELECT 1 FROM battledger.log_conflict WHERE origin = $1 AND problem = 'rewritten_leaf' "
								  "AND pg_catalog.starts_with(detail, $4)",
								  4, ctypes, cargs, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read battledger.log_conflict");
		if (SPI_processed > 0)
			return;
		/* the checkpoint verified (extended) or cosigned here that covers it */
		if (SPI_execute_with_args("SELECT p.note FROM battledger.peer_checkpoint p WHERE p.origin = $1 AND p.tree_size > $2 "
								  "AND (p.frontier IS NOT NULL OR EXISTS (SELECT 1 FROM battledger.cosignature s "
								  "WHERE s.log_origin = $1 AND s.tree_size = p.tree_size AND s.witness = $3 "
								  "AND s.root OPERATOR(battledger.=) p.root)) ORDER BY p.tree_size LIMIT 1",
								  3, ctypes, cargs, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read battledger.peer_checkpoint");
		if (SPI_processed == 1)
			held_note = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}
	record_conflict(origin, "rewritten_leaf",
					psprintf("%s%s, which is kept; " INT64_FORMAT " of the leaves received with it differ%s. No checkpoint of the member came with it (one that covers it is weighed on its own).",
							 detail, held_note ? ", under a checkpoint verified here" : "", n,
							 n == 1 ? "s" : ""),
					held_note, NULL);
}

static void
store_leaves(const char *origin, List *leaves, bool if_absent)
{
	int			n = list_length(leaves);
	Datum	   *idx = palloc(sizeof(Datum) * n),
			   *tbl = palloc(sizeof(Datum) * n),
			   *seq = palloc(sizeof(Datum) * n),
			   *prev = palloc(sizeof(Datum) * n),
			   *row = palloc(sizeof(Datum) * n),
			   *leaf = palloc(sizeof(Datum) * n);
	Oid			h = hash256_type_oid();
	Oid			types[7] = {TEXTOID, INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID,
	get_array_type(h), get_array_type(h), get_array_type(h)};
	Datum		args[7];
	ListCell   *lc;
	int			i = 0;
	bool		counted = consortium_arrivals_counted();
	bool		some_stored = false;
	int64		lo = PG_INT64_MAX,
				hi = PG_INT64_MIN;

	if (n == 0)
		return;
	foreach(lc, leaves)
	{
		HeldLeaf   *l = lfirst(lc);

		idx[i] = Int64GetDatum(l->index);
		tbl[i] = CStringGetTextDatum(l->tbl);
		seq[i] = Int64GetDatum(l->seq);
		prev[i] = PointerGetDatum(&l->prev);
		row[i] = PointerGetDatum(&l->row_hash);
		leaf[i] = PointerGetDatum(&l->leaf_hash);
		lo = Min(lo, l->index);
		hi = Max(hi, l->index);
		i++;
	}
	args[0] = CStringGetTextDatum(origin);
	/*
	 * Were any of these leaves stored here before?  Only those are compared
	 * (compare_stored_leaves()): a first join's copy, batch after batch in
	 * one transaction, has none, and comparing each batch with the leaves
	 * it had just stored cost the copy's worker minutes of CPU at 100,000
	 * leaves while the copy of the member's rows waited for its transaction
	 * ("blocked", faults23 case 3).  One probe of the primary key's range.
	 * (Kept apart from the comparison, which probes each leaf's index: 0.05
	 * to 0.1 ms a batch against 3.5 ms for a batch of 1,000 compared, at
	 * 100,000 stored leaves.  Comparing every batch instead would cost a
	 * first join that; learning from the insert's RETURNING which leaves
	 * were already here would return every leaf of every batch, and compare
	 * a batch that repeats an index within itself, which is not compared
	 * now: not worth the one probe.)
	 */
	if (if_absent)
	{
		Oid			rtypes[3] = {TEXTOID, INT8OID, INT8OID};
		Datum		rargs[3] = {args[0], Int64GetDatum(lo), Int64GetDatum(hi)};

		if (SPI_execute_with_args("SELECT 1 FROM battledger.peer_leaf WHERE origin = $1 AND leaf_index BETWEEN $2 AND $3 LIMIT 1",
								  3, rtypes, rargs, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read battledger.peer_leaf");
		some_stored = SPI_processed > 0;
	}
	args[1] = PointerGetDatum(construct_array(idx, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[2] = PointerGetDatum(construct_array(tbl, n, TEXTOID, -1, false, TYPALIGN_INT));
	args[3] = PointerGetDatum(construct_array(seq, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[4] = PointerGetDatum(construct_array(prev, n, h, BL_HASH_LEN, false, TYPALIGN_CHAR));
	args[5] = PointerGetDatum(construct_array(row, n, h, BL_HASH_LEN, false, TYPALIGN_CHAR));
	args[6] = PointerGetDatum(construct_array(leaf, n, h, BL_HASH_LEN, false, TYPALIGN_CHAR));
	/*
	 * and count the leaves stored (not those a second join's copy finds
	 * here) per table in peer_arrival: rows waiting beyond them wait since
	 * this checkpoint (unsealed_since), none once the leaves catch up
	 */
	if (SPI_execute_with_args(psprintf("%sINSERT INTO battledger.peer_leaf (origin, leaf_index, tbl, seq, prev, row_hash, leaf_hash) "
									   "SELECT $1, * FROM unnest($2, $3, $4, $5, $6, $7)%s%s",
									   counted ? "WITH l AS (" : "",
									   if_absent ? " ON CONFLICT DO NOTHING" : "",
									   counted ? " RETURNING tbl) "
									   "INSERT INTO battledger.peer_arrival AS p (origin, tbl, leaves_received, last_leaf_at) "
									   "SELECT $1, l.tbl, count(*), pg_catalog.now() FROM l GROUP BY l.tbl ORDER BY l.tbl "
									   "ON CONFLICT (origin, tbl) DO UPDATE SET "
									   "leaves_received = p.leaves_received + excluded.leaves_received, "
									   "last_leaf_at = excluded.last_leaf_at, "
									   "unsealed_since = CASE WHEN p.rows_received > p.leaves_received + excluded.leaves_received "
									   "THEN pg_catalog.now() END" : ""),
							  7, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store peer leaves");
	if (some_stored)
		compare_stored_leaves(origin, types, args);
}

/* Cosign the checkpoint note with this member's witness key, if it has one. */
static void
cosign(const char *origin, int64 size, const uint8 *root, const char *note)
{
	void	   *key = key_file_load(&witness_key, bl_witness_key_file, "battledger.witness_key_file", true);
	const char *me = local_origin();
	uint64		now;
	char	   *cosigned;
	const char *line;
	Oid			types[6] = {TEXTOID, INT8OID, hash256_type_oid(), TEXTOID, INT8OID, TEXTOID};
	Datum		args[6];
	Hash256    *r = palloc(sizeof(Hash256));

	if (key == NULL || me[0] == '\0')
		return;
	now = (uint64) unix_now();
	cosigned = bl_note_cosign(note, strlen(note), me, key, now);
	if (cosigned == NULL)
	{
		/* e.g. a note already carrying the most signatures a note may have */
		ereport(WARNING,
				(errmsg("could not cosign checkpoint %lld of member \"%s\"", (long long) size, origin)));
		return;
	}
	/* the cosignature is the note's last line */
	line = cosigned + strlen(cosigned) - 1;
	while (line > cosigned && line[-1] != '\n')
		line--;
	memcpy(r->bytes, root, BL_HASH_LEN);
	args[0] = CStringGetTextDatum(origin);
	args[1] = Int64GetDatum(size);
	args[2] = PointerGetDatum(r);
	args[3] = CStringGetTextDatum(me);
	args[4] = Int64GetDatum((int64) now);
	args[5] = PointerGetDatum(cstring_to_text_with_len(line, strlen(line) - 1));
	free(cosigned);
	/* the apply worker runs as replica: the cosignature trigger fires for our own row */
	cosigning = true;
	PG_TRY();
	{
		if (SPI_execute_with_args("INSERT INTO battledger.cosignature (log_origin, tree_size, root, witness, cosigned_at, line) "
								  "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
								  6, types, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not store a cosignature");
	}
	PG_FINALLY();
	{
		cosigning = false;
	}
	PG_END_TRY();
}

/*
 * Check a new checkpoint (size, root, note) of the member against what was
 * verified before and the leaves held for it; store and cosign it, or record
 * the conflict.
 */
static void
witness_checkpoint(const ConsortiumMember *m, int64 size, const uint8 *root, const char *note)
{
	PeerState	st;
	List	   *fresh = NIL;
	ListCell   *lc;
	int64		next;
	uint8		computed[BL_HASH_LEN];
	char	   *problem = NULL;
	char	   *detail = NULL;
	List	   *leaves = held_lxid == BL_MY_LXID() ? held : NIL;

	peer_state(m->origin, &st);
	held = NIL;

	/* leaves sealed again must be the leaves sealed before */
	foreach(lc, leaves)
	{
		HeldLeaf   *l = lfirst(lc);

		if (st.have && l->index < st.size)
		{
			Oid			types[2] = {TEXTOID, INT8OID};
			Datum		args[2] = {CStringGetTextDatum(m->origin), Int64GetDatum(l->index)};
			bool		isnull;

			if (SPI_execute_with_args("SELECT leaf_hash FROM battledger.peer_leaf WHERE origin = $1 AND leaf_index = $2",
									  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
				elog(ERROR, "could not read battledger.peer_leaf");
			if (SPI_processed == 1 &&
				memcmp(DatumGetHash256P(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))->bytes,
					   l->leaf_hash.bytes, BL_HASH_LEN) != 0)
			{
				problem = "rewritten_leaf";
				detail = psprintf("Leaf " INT64_FORMAT " was sealed again with a different row (%s position " INT64_FORMAT ").",
								  l->index, l->tbl, l->seq);
				break;
			}
		}
		else
			fresh = lappend(fresh, l);
	}

	if (problem == NULL && st.have && size <= st.size)
	{
		bl_compact	c;

		bl_compact_init(&c);
		if (size == st.size ? memcmp(root, st.root, BL_HASH_LEN) != 0
			: (!append_stored_leaves(&c, m->origin, 0, size) || bl_compact_root(&c, computed) != 0 ||
			   memcmp(computed, root, BL_HASH_LEN) != 0))
		{
			problem = size == st.size ? "split_view" : "rollback";
			detail = psprintf("The member signed tree size " INT64_FORMAT " with a root that is not the tree verified before (size " INT64_FORMAT ").",
							  size, st.size);
		}
		else
			return;				/* a checkpoint already verified: nothing new */
	}
	if (problem == NULL && st.have && !st.have_frontier)
	{
		problem = "missing_leaves";
		detail = "The leaves under the last verified checkpoint are not all here.";
	}
	if (problem == NULL)
	{
		/*
		 * The new leaves are those held for this checkpoint; around a join,
		 * some may have been stored by a table-sync worker instead.
		 */
		next = st.have ? st.size : 0;
		foreach(lc, fresh)
		{
			HeldLeaf   *l = lfirst(lc);

			if (l->index < next || l->index >= size ||
				!append_stored_leaves(&st.range, m->origin, next, l->index))
			{
				problem = "missing_leaves";
				detail = psprintf("Leaf " INT64_FORMAT " arrived where leaf " INT64_FORMAT " was due.", l->index, next);
				break;
			}
			bl_compact_append(&st.range, l->leaf_hash.bytes, NULL, NULL);
			next = l->index + 1;
		}
		if (problem == NULL && !append_stored_leaves(&st.range, m->origin, next, size))
		{
			problem = "missing_leaves";
			detail = psprintf("The checkpoint covers " INT64_FORMAT " leaves; not all were published.", size);
		}
		if (problem == NULL && (bl_compact_root(&st.range, computed) != 0 ||
								memcmp(computed, root, BL_HASH_LEN) != 0))
		{
			problem = st.have ? "inconsistent_tree" : "root_mismatch";
			detail = "The signed root is not the Merkle tree of the published leaves extending the last verified checkpoint.";
		}
	}
	if (problem)
	{
		record_conflict(m->origin, problem, detail, st.have ? st.note : NULL, note);
		return;
	}

	store_leaves(m->origin, fresh, false);
	{
		Oid			types[5] = {TEXTOID, INT8OID, hash256_type_oid(), TEXTOID, BYTEAOID};
		Datum		args[5];
		Hash256    *r = palloc(sizeof(Hash256));

		memcpy(r->bytes, root, BL_HASH_LEN);
		args[0] = CStringGetTextDatum(m->origin);
		args[1] = Int64GetDatum(size);
		args[2] = PointerGetDatum(r);
		args[3] = CStringGetTextDatum(note);
		args[4] = PointerGetDatum(frontier_bytes(&st.range));
		if (SPI_execute_with_args("INSERT INTO battledger.peer_checkpoint (origin, tree_size, root, note, frontier) "
								  "VALUES ($1, $2, $3, $4, $5)", 5, types, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not store a peer checkpoint");
	}
	cosign(m->origin, size, root, note);
}

/* Leave SPI and the snapshot witness_held_checkpoint() read with. */
static void
held_spi_finish(int nest)
{
	bl_spi_finish(nest);
	PopActiveSnapshot();
}

/* held_pass(): checkpoints and leaves read this many at a time */
#define HELD_PASS_BATCH 1000

/*
 * Append origin's stored leaves [0, size) to c, and on the way compare the
 * root at each checkpoint held unverified below size (a join's copy brings
 * every checkpoint of the member; until 0.22.0 only the latest was checked,
 * and one in the member's table that is not a prefix of its tree, a split
 * view it showed elsewhere, was stored as if witnessed: red team r26 B4).
 * Those whose root differs are appended to *bad (their sizes).  One pass:
 * two cursors, each read a batch at a time.  False if a leaf is missing.
 */
static bool
held_pass(const char *origin, int64 size, const char *me, bl_compact *c, List **bad)
{
	Oid			types[3] = {TEXTOID, INT8OID, TEXTOID};
	Datum		args[3] = {CStringGetTextDatum(origin), Int64GetDatum(size), CStringGetTextDatum(me)};
	Portal		cps,
				lvs;
	int64		next = 0;
	int64	   *cp_size = palloc(sizeof(int64) * HELD_PASS_BATCH);
	uint8	   *cp_root = palloc(BL_HASH_LEN * HELD_PASS_BATCH);
	uint8	   *leaf = palloc(BL_HASH_LEN * HELD_PASS_BATCH);
	int64		leaf_first = 0;
	int			nleaf = 0,
				ileaf = 0;
	bool		ok = true;
	bool		isnull;

	cps = SPI_cursor_open_with_args(NULL,
									"SELECT p.tree_size, p.root FROM battledger.peer_checkpoint p "
									"WHERE p.origin = $1 AND p.tree_size > 0 AND p.tree_size < $2 AND p.frontier IS NULL "
									"AND NOT EXISTS (SELECT 1 FROM battledger.cosignature s WHERE s.log_origin = $1 "
									"AND s.tree_size = p.tree_size AND s.witness = $3) "
									"AND NOT EXISTS (SELECT 1 FROM battledger.log_conflict f WHERE f.origin = $1 AND f.new_note = p.note) "
									"ORDER BY p.tree_size", 3, types, args, NULL, true, 0);
	lvs = SPI_cursor_open_with_args(NULL,
									"SELECT leaf_index, leaf_hash FROM battledger.peer_leaf "
									"WHERE origin = $1 AND leaf_index >= 0 AND leaf_index < $2 ORDER BY leaf_index",
									2, types, args, NULL, true, 0);
	for (;;)
	{
		int			ncp;
		bool		last;

		SPI_cursor_fetch(cps, true, HELD_PASS_BATCH);
		ncp = (int) SPI_processed;
		for (int i = 0; i < ncp; i++)
		{
			cp_size[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			memcpy(cp_root + BL_HASH_LEN * i,
				   DatumGetHash256P(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull))->bytes,
				   BL_HASH_LEN);
		}
		SPI_freetuptable(SPI_tuptable);
		last = ncp == 0;
		/* the checkpoints of this batch, then (after the last) size itself */
		for (int i = 0; i < (last ? 1 : ncp) && ok; i++)
		{
			int64		upto = last ? size : cp_size[i];
			uint8		computed[BL_HASH_LEN];

			while (next < upto)
			{
				if (ileaf == nleaf)
				{
					SPI_cursor_fetch(lvs, true, HELD_PASS_BATCH);
					nleaf = (int) SPI_processed;
					ileaf = 0;
					if (nleaf == 0)
						break;
					leaf_first = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
					for (int k = 0; k < nleaf; k++)
					{
						/* the leaves come in index order: a gap is a missing leaf */
						if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 1, &isnull)) !=
							leaf_first + k)
						{
							nleaf = k;
							break;
						}
						memcpy(leaf + BL_HASH_LEN * k,
							   DatumGetHash256P(SPI_getbinval(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 2, &isnull))->bytes,
							   BL_HASH_LEN);
					}
					SPI_freetuptable(SPI_tuptable);
					if (nleaf == 0 || leaf_first + ileaf != next)
						break;
				}
				if (leaf_first + ileaf != next)
					break;
				bl_compact_append(c, leaf + BL_HASH_LEN * ileaf++, NULL, NULL);
				next++;
			}
			if (next < upto)
				ok = false;		/* a leaf is missing */
			else if (!last && (bl_compact_root(c, computed) != 0 ||
							   memcmp(computed, cp_root + BL_HASH_LEN * i, BL_HASH_LEN) != 0))
			{
				int64	   *b = palloc(sizeof(int64));

				*b = cp_size[i];
				*bad = lappend(*bad, b);
			}
		}
		if (last || !ok)
			break;
	}
	SPI_cursor_close(lvs);
	SPI_cursor_close(cps);
	return ok;
}

/*
 * Witness the checkpoint of origin held unverified since a join, once the
 * leaves it covers are all here: run at the commit of each transaction that
 * stored some of the member's leaves or held one of its checkpoints.
 *
 * While a join copies tables, an arriving checkpoint is kept without being
 * verified (its leaves may come later, by another table's sync worker in a
 * transaction of its own).  Until 0.21.0 it was verified only by the
 * member's next checkpoint, and never cosigned: a witness held the member's
 * latest checkpoint without cosigning it for as long as the member did not
 * seal again (consortium.sh on PostgreSQL 17 waited three minutes for a
 * cosignature, cos17).  Now the last checkpoint held, if unverified and not
 * cosigned here, is checked against the leaves once they are all stored
 * (the root of leaves 0..size, which extend every checkpoint verified
 * before, since those were verified on the same stored leaves) and
 * cosigned; a root that is not the leaves' tree is recorded as a conflict,
 * once.  The other checkpoints held unverified below it are compared on
 * the way (held_pass(), 0.22.0).  Bounded: one pass, the leaves and those
 * checkpoints read once each.
 *
 * Two transactions may each bring half (the checkpoint by the apply
 * worker, the leaves by a table-sync worker) and commit at the same time,
 * neither seeing the other's rows: a per-member lock, taken before the
 * snapshot the check reads with and held until commit, makes the second
 * one see the first's.
 */
static void
witness_held_checkpoint(const char *origin)
{
	int			nest;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	int64		size;
	uint8		root[BL_HASH_LEN];
	uint8		computed[BL_HASH_LEN];
	char	   *note;
	char	   *held_note = NULL;
	bool		isnull;
	bl_compact	c;
	const char *me = local_origin();
	List	   *bad = NIL;
	ListCell   *lc;
	bool		verified;

	/* no witness here: nothing to cosign (the next checkpoint still verifies it) */
	if (bl_witness_key_file == NULL || bl_witness_key_file[0] == '\0' || me[0] == '\0')
		return;
	bl_advisory_xact_lock(MyDatabaseId,
						  DatumGetUInt32(hash_any((const unsigned char *) origin, strlen(origin))),
						  0, BL_LOCK_HELD_CP);

	/*
	 * Read with a snapshot taken after the lock whatever the isolation
	 * level: under REPEATABLE READ or SERIALIZABLE (a subscription owner's
	 * default_transaction_isolation, which its workers take) the
	 * transaction's snapshot is the one its first statement took, before
	 * the other half committed, and the checkpoint was never cosigned (red
	 * team r26 A1).  What is read here was committed by the member's rows'
	 * transactions; only the cosignature or conflict is written.
	 */
	PushActiveSnapshot(GetLatestSnapshot());
	nest = bl_spi_connect();
	args[0] = CStringGetTextDatum(origin);
	args[1] = CStringGetTextDatum(me);
	if (SPI_execute_with_args("SELECT p.tree_size, p.root, p.note FROM battledger.peer_checkpoint p "
							  "WHERE p.origin = $1 AND p.frontier IS NULL "
							  "AND p.tree_size = (SELECT max(l.tree_size) FROM battledger.peer_checkpoint l WHERE l.origin = $1) "
							  "AND NOT EXISTS (SELECT 1 FROM battledger.cosignature s WHERE s.log_origin = $1 "
							  "AND s.tree_size = p.tree_size AND s.witness = $2) "
							  "AND NOT EXISTS (SELECT 1 FROM battledger.log_conflict f WHERE f.origin = $1 AND f.new_note = p.note)",
							  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.peer_checkpoint");
	if (SPI_processed == 0)
	{
		held_spi_finish(nest);
		return;
	}
	size = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	memcpy(root, DatumGetHash256P(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull))->bytes,
		   BL_HASH_LEN);
	note = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);

	bl_compact_init(&c);
	if (!held_pass(origin, size, me, &c, &bad))
	{
		/* not all here yet: the commit that stores the rest comes back */
		held_spi_finish(nest);
		return;
	}
	verified = bl_compact_root(&c, computed) == 0 && memcmp(computed, root, BL_HASH_LEN) == 0;
	if (verified)
		cosign(origin, size, root, note);
	else
	{
		Oid			vtypes[3] = {TEXTOID, INT8OID, TEXTOID};
		Datum		vargs[3] = {args[0], Int64GetDatum(size), args[1]};

		/*
		 * The last one verified here: extended by a checkpoint (frontier) or
		 * cosigned once held.  Those of a join were only cosigned, and a
		 * re-join's contradiction of one was named root_mismatch, without
		 * the checkpoint it contradicts (red team r26 B3).
		 */
		if (SPI_execute_with_args("SELECT p.note FROM battledger.peer_checkpoint p WHERE p.origin = $1 AND p.tree_size < $2 "
								  "AND (p.frontier IS NOT NULL OR EXISTS (SELECT 1 FROM battledger.cosignature s "
								  "WHERE s.log_origin = $1 AND s.tree_size = p.tree_size AND s.witness = $3 "
								  "AND s.root OPERATOR(battledger.=) p.root)) ORDER BY p.tree_size DESC LIMIT 1",
								  3, vtypes, vargs, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read battledger.peer_checkpoint");
		if (SPI_processed == 1)
			held_note = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		record_conflict(origin, held_note ? "inconsistent_tree" : "root_mismatch",
						"The signed root of a checkpoint held since a join is not the Merkle tree of the published leaves.",
						held_note, note);
	}

	/*
	 * Held checkpoints below it that are not the tree of those leaves: a
	 * prefix of the checkpoint just verified that is not (rollback, with it
	 * as the one contradicted), or, when that one failed too, more of the
	 * same.
	 */
	foreach(lc, bad)
	{
		int64		s = *(int64 *) lfirst(lc);
		Oid			btypes[2] = {TEXTOID, INT8OID};
		Datum		bargs[2] = {args[0], Int64GetDatum(s)};

		if (SPI_execute_with_args("SELECT note FROM battledger.peer_checkpoint WHERE origin = $1 AND tree_size = $2",
								  2, btypes, bargs, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not read battledger.peer_checkpoint");
		record_conflict(origin, verified ? "rollback" : (held_note ? "inconsistent_tree" : "root_mismatch"),
						psprintf("The signed root of a checkpoint held since a join, at tree size " INT64_FORMAT
								 ", is not the Merkle tree of the published leaves%s.", s,
								 verified ? " under the member's later checkpoint verified here" : ""),
						verified ? note : held_note, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	}
	held_spi_finish(nest);
}

/*
 * The key list pinned for member m in column (log_vkey or witness_vkey) of
 * battledger.consortium_member, in the caller's memory context (SPI's goes
 * with SPI_finish); NULL when the member has none.  Read at each checkpoint
 * or cosignature, not from the apply worker's cache of the member, so that
 * a key pinned while the worker runs counts at once.
 */
static char *
pinned_keys_text(const ConsortiumMember *m, const char *column)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(m->origin)};
	int			nest = bl_spi_connect();
	char	   *text = NULL;

	if (SPI_execute_with_args(psprintf("SELECT %s FROM battledger.consortium_member WHERE origin = $1", column),
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.consortium_member");
	if (SPI_processed == 1)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (v != NULL)
			text = MemoryContextStrdup(caller, v);
	}
	bl_spi_finish(nest);
	return text;
}

/*
 * The log keys pinned for a member, oldest first: join() pins one,
 * repin_log_key() adds each key the member rotated to (pinned_keys_text()
 * reads them at each checkpoint).  The rules are those of
 * verify_log()'s log_vkey (bl_vkey_list_parse): a key pinned twice would let
 * a retired key sign again after a newer one (red team r17k F2, as in
 * verify_log()).  Returns how many.
 */
static int
pinned_log_keys(const ConsortiumMember *m, bl_vkey *keys)
{
	char	   *text = pinned_keys_text(m, "log_vkey");
	bl_vkey_list_error err;
	int			n;

	if (text == NULL)
		elog(ERROR, "no log key is pinned for member \"%s\"", m->origin);
	n = bl_vkey_list_parse(text, strlen(text), keys, LOG_KEYS_MAX, &err);
	switch (n < 0 ? err.rule : BL_VKEY_LIST_OK)
	{
		case BL_VKEY_LIST_OK:
			break;
		case BL_VKEY_LIST_EMPTY:
			elog(ERROR, "no log key is pinned for member \"%s\"", m->origin);
			break;
		case BL_VKEY_LIST_TOO_MANY:
		case BL_VKEY_LIST_BAD_KEY:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the log keys pinned for member \"%s\" do not parse (line %d)", m->origin, err.key),
					 errdetail("battledger.consortium_member.log_vkey holds the member's log verifier keys, "
							   "oldest first, one per line, at most %d.", LOG_KEYS_MAX),
					 errhint("Put back the keys as join() and repin_log_key() wrote them; the subscription "
							 "retries each transaction until then (red team r17k F5).")));
			break;
		case BL_VKEY_LIST_DUPLICATE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the log keys pinned for member \"%s\" list one key twice (lines %d and %d)",
							m->origin, err.first_line, err.line),
					 errdetail("battledger.consortium_member.log_vkey holds the member's log verifier keys, "
							   "oldest first, each once: a key pinned again after a newer one would let the "
							   "retired key sign the member's checkpoints again."),
					 errhint("Put back the keys as join() and repin_log_key() wrote them; the subscription "
							 "retries each transaction until then (red team r17k F5).")));
			break;
		case BL_VKEY_LIST_TWO_NAMES:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the log keys pinned for member \"%s\" name two logs: \"%s\" and \"%s\" (line %d)",
							m->origin, keys[0].name, keys[err.key - 1].name, err.line),
					 errdetail("battledger.consortium_member.log_vkey holds the member's log verifier keys, "
							   "oldest first, one per line; across rotations they keep the member's origin "
							   "as their name."),
					 errhint("Put back the keys as join() and repin_log_key() wrote them; the subscription "
							 "retries each transaction until then (red team r17k F5).")));
			break;
	}
	return n;
}

/*
 * Open text as a checkpoint note of member m signed by the newest of
 * keys[era..n-1] that signed it (bl_note_newest_signer, the era rule) and
 * return that key's index.  Else -1, and when why is wanted, note, cp and
 * *why are those of opening it under keys[era]: the reason given is the
 * same as when each key was tried in turn down to the era's.  Only the
 * signature depends on the key; bl_checkpoint_open checks the rest.
 */
static int
open_under_newest(const ConsortiumMember *m, const char *text, const bl_vkey *keys, int n, int era,
				  bl_note *note, bl_checkpoint *cp, const char **why)
{
	size_t		len = strlen(text);
	int			k = -1;

	if (bl_note_parse(text, len, note) == 0)
		k = bl_note_newest_signer(note, keys, n, era);
	bl_note_free(note);
	memset(note, 0, sizeof(*note));
	if (k >= 0 && bl_checkpoint_open(text, len, &keys[k], m->origin, NULL, 0, note, cp, why) == 1)
		return k;
	if (why != NULL)
	{
		bl_note_free(note);
		memset(note, 0, sizeof(*note));
		(void) bl_checkpoint_open(text, len, &keys[era], m->origin, NULL, 0, note, cp, why);
	}
	return -1;
}

/*
 * Open an arriving checkpoint note of member m: signed by one of its pinned
 * log keys, and after a rotation by the key that signed the last checkpoint
 * witnessed here or a newer one (a retired key, perhaps a leaked one, cannot
 * sign after its successor has).  1 ok, 0 refused (*why set).
 */
static int
open_peer_checkpoint(const ConsortiumMember *m, const char *notetext, bl_note *note,
					 bl_checkpoint *cp, const char **why)
{
	bl_vkey		keys[LOG_KEYS_MAX];
	int			n = pinned_log_keys(m, keys);
	int			era = 0;
	int			ok;

	if (n > 1)
	{
		Oid			argtypes[1] = {TEXTOID};
		Datum		args[1] = {CStringGetTextDatum(m->origin)};
		int			nest = bl_spi_connect();

		/* the era of the last checkpoint witnessed: the newest key it verifies under */
		if (SPI_execute_with_args("SELECT note FROM battledger.peer_checkpoint WHERE origin = $1 "
								  "ORDER BY tree_size DESC LIMIT 1", 1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read battledger.peer_checkpoint");
		if (SPI_processed == 1)
		{
			char	   *last = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			bl_note		ln;
			bl_checkpoint lc;

			memset(&ln, 0, sizeof(ln));
			era = Max(open_under_newest(m, last, keys, n, 1, &ln, &lc, NULL), 0);
			bl_note_free(&ln);
		}
		bl_spi_finish(nest);
	}
	ok = open_under_newest(m, notetext, keys, n, era, note, cp, why) >= 0;
	if (!ok && era > 0)
		*why = psprintf("%s (keys pinned: %d; the last checkpoint witnessed was signed by key %d, "
						"so an older key may not sign any more)", *why ? *why : "?", n, era + 1);
	return ok;
}

/*
 * A checkpoint a join's copy brings, weighed against what this member holds
 * already: a join again (after a lost slot or a dropped subscription)
 * copies every checkpoint of the member, and one at a size held here was
 * skipped (ON CONFLICT DO NOTHING) and one below the size verified here
 * stored unverified, never looked at: a member that rewrote its log while
 * its slot was gone showed a second tree at a size witnessed here, or a
 * rollback, and nothing was recorded (red team r26 B1, B2).  The same rules
 * as a streamed checkpoint's (witness_checkpoint()): at a size held, the
 * root held; below a size verified (its leaves all here and checked), the
 * tree of the leaves held.  True if the checkpoint contradicts them: the
 * conflict is recorded and the checkpoint is not stored.  Connected to SPI.
 */
static bool
copied_checkpoint_conflicts(const char *origin, int64 size, const uint8 *root, const char *note)
{
	Oid			types[3] = {TEXTOID, INT8OID, TEXTOID};
	Datum		args[3] = {CStringGetTextDatum(origin), Int64GetDatum(size), CStringGetTextDatum(local_origin())};
	const char *problem;
	char	   *held_note;
	int64		held_size;
	bool		isnull;
	bl_compact	c;
	uint8		computed[BL_HASH_LEN];

	if (SPI_execute_with_args("SELECT root, note FROM battledger.peer_checkpoint WHERE origin = $1 AND tree_size = $2",
							  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.peer_checkpoint");
	if (SPI_processed == 1)
	{
		if (memcmp(DatumGetHash256P(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))->bytes,
				   root, BL_HASH_LEN) == 0)
			return false;		/* held already: the copy skips it */
		problem = "split_view";
		held_size = size;
		held_note = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	}
	else
	{
		/* verified: by a checkpoint that extended it (frontier), or cosigned here once held */
		if (SPI_execute_with_args("SELECT p.tree_size, p.note FROM battledger.peer_checkpoint p "
								  "WHERE p.origin = $1 AND p.tree_size > $2 AND (p.frontier IS NOT NULL "
								  "OR EXISTS (SELECT 1 FROM battledger.cosignature s WHERE s.log_origin = $1 "
								  "AND s.tree_size = p.tree_size AND s.witness = $3 AND s.root OPERATOR(battledger.=) p.root)) "
								  "ORDER BY p.tree_size LIMIT 1", 3, types, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read battledger.peer_checkpoint");
		if (SPI_processed == 0)
			return false;		/* beyond what was verified: witness_held_checkpoint() */
		held_size = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		held_note = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		bl_compact_init(&c);
		if (append_stored_leaves(&c, origin, 0, size) && bl_compact_root(&c, computed) == 0 &&
			memcmp(computed, root, BL_HASH_LEN) == 0)
			return false;
		problem = "rollback";
	}
	record_conflict(origin, problem,
					psprintf("A join's copy brought tree size " INT64_FORMAT " with a root that is not the tree "
							 "verified here before (size " INT64_FORMAT ").", size, held_size),
					held_note, note);
	return true;
}

/* battledger._peer_checkpoint_trigger() RETURNS trigger */
PG_FUNCTION_INFO_V1(battledger_peer_checkpoint_trigger);
Datum
battledger_peer_checkpoint_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tup;
	const ConsortiumMember *m;
	int64		size;
	Hash256    *root;
	char	   *notetext;
	bl_note		note;
	bl_checkpoint cp;
	const char *why = NULL;
	int			ok;
	int			nest;

	check_trigger_context(fcinfo, "battledger_peer_checkpoint_trigger");
	m = member_or_error(td->tg_relation, "battledger.checkpoint");
	desc = RelationGetDescr(td->tg_relation);
	tup = td->tg_trigtuple;
	size = DatumGetInt64(getattr(tup, desc, 1));
	root = DatumGetHash256P(getattr(tup, desc, 2));
	notetext = TextDatumGetCString(getattr(tup, desc, 3));

	memset(&note, 0, sizeof(note));
	ok = open_peer_checkpoint(m, notetext, &note, &cp, &why);
	if (ok == 1 && (cp.size != (uint64) size || memcmp(cp.root, root->bytes, BL_HASH_LEN) != 0))
	{
		ok = 0;
		why = "the note's size and root differ from the row's";
	}
	bl_note_free(&note);
	if (ok != 1)
		consortium_reject(m->origin, "battledger.checkpoint", size, "bad_checkpoint",
						  psprintf("The checkpoint is not a note signed by the member's log key: %s.", why ? why : "?"),
						  NULL);

	/*
	 * Rows copied at join come table by table: keep the checkpoint, verify it
	 * with the next one.  That holds for the apply worker too while the copy
	 * goes on: the leaves this checkpoint covers may then come through
	 * log_leaf's table-sync worker, in a transaction of its own that commits
	 * after this one (seen on PostgreSQL 18).
	 */
	if (consortium_join_copying())
	{
		Oid			types[4] = {TEXTOID, INT8OID, hash256_type_oid(), TEXTOID};
		Datum		args[4] = {CStringGetTextDatum(m->origin), Int64GetDatum(size), PointerGetDatum(root),
		CStringGetTextDatum(notetext)};

		nest = bl_spi_connect();
		if (copied_checkpoint_conflicts(m->origin, size, root->bytes, notetext))
		{
			bl_spi_finish(nest);
			return PointerGetDatum(NULL);
		}
		if (SPI_execute_with_args("INSERT INTO battledger.peer_checkpoint (origin, tree_size, root, note) "
								  "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", 4, types, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not store a peer checkpoint");
		bl_spi_finish(nest);
		/* witnessed at commit if its leaves are all here by then, else at the commit that brings them */
		register_held_callback();
		recheck_at_commit(m->origin);
		return PointerGetDatum(NULL);
	}

	nest = bl_spi_connect();
	witness_checkpoint(m, size, root->bytes, notetext);
	bl_spi_finish(nest);
	/* the leaves are stored or refused: a large backlog is held a checkpoint's worth at a time */
	held = NIL;
	if (held_cxt != NULL && held_lxid == BL_MY_LXID())
		MemoryContextReset(held_cxt);
	return PointerGetDatum(NULL);	/* the local checkpoint table holds only this member's log */
}

/* ---------------------------------------------------------------- cosignatures */

/*
 * Does line cosign (origin, size, root) under the witness key vkey, at the
 * time cosigned_at (seconds since the Unix epoch) stored beside it?  NULL if
 * so, else why not.  The stored time must be the signed one: it is what
 * verify_member() weighs against a key's revocation.
 */
static const char *
cosignature_problem(const bl_vkey *vkey, const char *witness, const char *origin, int64 size,
					const uint8 *root, const char *line, int64 cosigned_at)
{
	char	   *body;
	StringInfoData buf;
	bl_note		note;
	uint64		ts;
	int			ok;

	/* one signature line by the witness, nothing else: it is pasted into proofs */
	if (strchr(line, '\n') != NULL || strncmp(line, "\xE2\x80\x94 ", 4) != 0 ||
		strncmp(line + 4, witness, strlen(witness)) != 0 || line[4 + strlen(witness)] != ' ')
		return "the cosignature is not one signature line by the witness";
	if (strcmp(vkey->name, witness) != 0)
		return "the cosignature is not by the member's witness key name";
	body = bl_checkpoint_body(origin, (uint64) size, root, NULL, 0);
	if (body == NULL)
		return "the cosigned checkpoint cannot be formatted";
	initStringInfo(&buf);
	appendStringInfo(&buf, "%s\n%s\n", body, line);
	free(body);
	memset(&note, 0, sizeof(note));
	ok = bl_note_parse(buf.data, buf.len, &note) == 0 && note.nsigs == 1 &&
		bl_cosig_verify(&note, vkey->name, vkey->pub, &ts) == 1;
	bl_note_free(&note);
	if (!ok)
		return "the cosignature does not verify";
	if ((uint64) cosigned_at != ts)
		return "cosigned_at is not the time the cosignature signs";
	return NULL;
}

/*
 * The witness keys pinned for member m, oldest first: join() pins one,
 * repin_witness_key() adds each key the member rotated to (0.17.0),
 * read at each cosignature (pinned_keys_text()).  Returns how
 * many, 0 when the member joined without one, or -1 with *problem saying
 * why the list cannot be used (by the rules of its log keys: log_keys.c).
 */
static int
pinned_witness_keys(const ConsortiumMember *m, bl_vkey *keys, const char **problem)
{
	char	   *text = pinned_keys_text(m, "witness_vkey");
	int			n;

	if (text == NULL)
		return 0;
	*problem = witness_keys_problem(text, strlen(text), m->origin);
	if (*problem != NULL)
	{
		*problem = psprintf("the witness keys pinned for the member (battledger.consortium_member.witness_vkey) "
							"are not usable: %s", *problem);
		return -1;
	}
	n = bl_vkey_list_parse_alg(text, strlen(text), BL_NOTE_ALG_COSIG_V1, keys, LOG_KEYS_MAX, NULL);
	Assert(n > 0);
	return n;
}

/*
 * The era of member m's witness keys: the newest of keys[1..n-1] under which
 * a cosignature it signed last (by its signed time, whole seconds: every
 * one of that second) verifies, else 0.  Once a newer key has cosigned
 * here, an older one (retired, perhaps leaked) cannot: the same rule as its
 * log keys'.  Read only after a rotation.  The signed time is the member's
 * word: a cosignature by a retired key dated ahead, accepted before any by
 * the newer key arrived, held the era back until the newer key's were dated
 * later (0.17.0, docs/security.md).  Since 0.18.0 none dated more than
 * battledger.max_clock_ahead ahead of this clock is accepted, and none
 * stored so (before 0.18.0) counts until its time comes: a retired key's
 * cosignature holds the era back by the bound at most.
 */
static int
witness_era(const ConsortiumMember *m, const bl_vkey *keys, int n, int64 latest)
{
	Oid			argtypes[2] = {TEXTOID, INT8OID};
	Datum		args[2] = {CStringGetTextDatum(m->origin), Int64GetDatum(latest)};
	int			nest;
	int			era = 0;

	if (n < 2)
		return 0;
	nest = bl_spi_connect();
	if (SPI_execute_with_args("SELECT log_origin, tree_size, root, line, cosigned_at FROM battledger.cosignature "
							  "WHERE witness = $1 AND cosigned_at = "
							  "(SELECT max(c.cosigned_at) FROM battledger.cosignature c "
							  "WHERE c.witness = $1 AND c.cosigned_at <= $2)",
							  2, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.cosignature");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		char	   *origin = SPI_getvalue(t, d, 1);
		int64		size = DatumGetInt64(getattr(t, d, 2));
		const uint8 *root = DatumGetHash256P(getattr(t, d, 3))->bytes;
		char	   *line = SPI_getvalue(t, d, 4);
		int64		at = DatumGetInt64(getattr(t, d, 5));

		for (int k = n - 1; k > era; k--)
			if (cosignature_problem(&keys[k], m->origin, origin, size, root, line, at) == NULL)
			{
				era = k;
				break;
			}
	}
	bl_spi_finish(nest);
	return era;
}

/*
 * Whether this exact cosignature (line, and the root and time stored beside
 * it) is stored already.  All of it: a row whose line is held but whose
 * root or time is not is checked, and refused, as any other.
 */
static bool
cosignature_held(const char *origin, int64 size, const char *witness, const char *line,
				 Datum root, int64 cosigned_at)
{
	Oid			types[6] = {TEXTOID, INT8OID, TEXTOID, TEXTOID, hash256_type_oid(), INT8OID};
	Datum		args[6] = {CStringGetTextDatum(origin), Int64GetDatum(size),
		CStringGetTextDatum(witness), CStringGetTextDatum(line), root, Int64GetDatum(cosigned_at)};
	bool		held;
	int			nest = bl_spi_connect();

	if (SPI_execute_with_args("SELECT 1 FROM battledger.cosignature WHERE log_origin = $1 AND tree_size = $2 "
							  "AND witness = $3 AND line = $4 AND root OPERATOR(battledger.=) $5 "
							  "AND cosigned_at = $6", 6, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.cosignature");
	held = SPI_processed > 0;
	bl_spi_finish(nest);
	return held;
}

/* battledger._cosignature_trigger() RETURNS trigger */
PG_FUNCTION_INFO_V1(battledger_cosignature_trigger);
Datum
battledger_cosignature_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tup;
	const ConsortiumMember *m;
	char	   *origin,
			   *witness,
			   *line;
	int64		size;
	const char *why;
	bl_vkey		keys[LOG_KEYS_MAX];
	int			n;
	int64		cosigned_at;
	int64		now = unix_now();
	int64		latest = now + bl_max_clock_ahead;	/* the latest time accepted */

	check_trigger_context(fcinfo, "battledger_cosignature_trigger");
	if (cosigning)
		return PointerGetDatum(td->tg_trigtuple);	/* this member's own, just made */
	m = member_or_error(td->tg_relation, "battledger.cosignature");
	desc = RelationGetDescr(td->tg_relation);
	tup = td->tg_trigtuple;
	origin = TextDatumGetCString(getattr(tup, desc, 1));
	size = DatumGetInt64(getattr(tup, desc, 2));
	witness = TextDatumGetCString(getattr(tup, desc, 4));
	cosigned_at = DatumGetInt64(getattr(tup, desc, 5));
	line = TextDatumGetCString(getattr(tup, desc, 6));

	/*
	 * Joining again copies every cosignature already received: the same line
	 * is skipped (otherwise its primary key stops the copy, retried forever),
	 * and before any key is tried: it was checked when it first came, and
	 * after a witness key rotation the copy brings the retired key's lines
	 * first, older than the era the newer key's, held here, set (red team r19
	 * F1: joining again stopped on them).  Skipped, a row is not stored.
	 */
	if (consortium_table_sync() &&
		cosignature_held(origin, size, witness, line, getattr(tup, desc, 3), cosigned_at))
		return PointerGetDatum(NULL);
	why = NULL;
	n = pinned_witness_keys(m, keys, &why);
	if (n == 0)
	{
		/* joined as no witness: its cosignatures mean nothing here, but its rows still flow */
		ereport(WARNING,
				(errmsg("ignoring a cosignature by \"%s\": no witness key was recorded for it at join", m->origin)));
		return PointerGetDatum(NULL);
	}
	if (why == NULL && strcmp(witness, m->origin) != 0)
		why = "a member publishes only its own cosignatures";
	if (why == NULL)
	{
		int			era = witness_era(m, keys, n, latest);

		/* the newest pinned key first; none older than the era (witness_era()) */
		for (int k = n - 1; k >= era; k--)
		{
			why = cosignature_problem(&keys[k], witness, origin, size,
									  DatumGetHash256P(getattr(tup, desc, 3))->bytes, line, cosigned_at);
			if (why == NULL)
				break;
		}
		if (why != NULL && era > 0)
			why = psprintf("%s (witness keys pinned: %d; the last cosignature stored was signed by key %d, "
						   "so an older key may not sign any more)", why, n, era + 1);
	}
	if (why)
		consortium_reject(m->origin, "battledger.cosignature", size, "bad_cosignature",
						  psprintf("Cosignature of %s at size " INT64_FORMAT " by %s: %s.", origin, size, witness, why),
						  NULL);

	/*
	 * A verified cosignature dated ahead of this clock by more than the
	 * skew allowed (0.18.0): its time is the member's word, and one dated
	 * far ahead, by a retired witness key, would hold the era back for as
	 * long (docs/security.md).  Refused as any bad row is, under a name of
	 * its own, so that the status can name the clock; the retry by ALTER
	 * SUBSCRIPTION ... ENABLE accepts it once this clock has come within
	 * the bound.  Checked after the signature: the time of a cosignature
	 * that does not verify means nothing.
	 */
	if (cosigned_at > latest)
	{
		char	   *detail = psprintf("Cosignature of %s at size " INT64_FORMAT " by %s: it is dated " INT64_FORMAT
								   " s ahead of this member's clock (cosigned_at " INT64_FORMAT
								   "), more than battledger.max_clock_ahead (%d s) allows: the member's "
								   "clock runs ahead, or the cosignature was dated ahead on purpose.",
								   origin, size, witness, cosigned_at - now, cosigned_at, bl_max_clock_ahead);

		/*
		 * In a join's table copy it is dropped instead, not stored, with a
		 * warning: a table sync's transaction cannot be skipped on
		 * PostgreSQL 15, and a witness whose clock once ran far ahead keeps
		 * such a row in its append-only table for good, so no member could
		 * ever join it (red team r21 F2).  Not stored, it holds no era back;
		 * the apply worker still refuses any new one.
		 */
		if (consortium_table_sync())
		{
			ereport(WARNING,
					(errcode(ERRCODE_ROW_REJECTED),
					 errmsg("dropping a cosignature by \"%s\" from the join's copy: it is dated ahead of this member's clock",
							witness),
					 errdetail_internal("%s", detail),
					 errhint("It is not stored here; the member's clock, or its superuser, dated it ahead.")));
			return PointerGetDatum(NULL);
		}
		consortium_reject(m->origin, "battledger.cosignature", size, "cosignature_ahead", detail, NULL);
	}
	return PointerGetDatum(tup);
}

/* This member's witness verifier key (cosignature/v1), for the others' battledger.join(). */
PG_FUNCTION_INFO_V1(battledger_witness_vkey);
Datum
battledger_witness_vkey(PG_FUNCTION_ARGS)
{
	uint8		pub[BL_ED25519_PUB_LEN];
	char	   *vkey;
	text	   *result;
	const char *me = local_origin();

	if (me[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("battledger.origin is not set"),
				 errhint("A witness is named by its member's origin.")));
	if (bl_ed25519_raw_public(key_file_load(&witness_key, bl_witness_key_file,
											"battledger.witness_key_file", false), pub) != 0)
		elog(ERROR, "could not derive the witness public key");
	vkey = bl_vkey_format(me, BL_NOTE_ALG_COSIG_V1, pub);
	if (vkey == NULL)
		elog(ERROR, "could not format the verifier key");
	result = cstring_to_text(vkey);
	free(vkey);
	PG_RETURN_TEXT_P(result);
}

/*
 * battledger._vkey_name(vkey text, alg int) RETURNS text: the name a verifier
 * key gives (NULL if it does not parse), for battledger.join(), which pins
 * the key.  A weak key is an ERROR: under it anybody could sign the member's
 * checkpoints or cosignatures.
 */
PG_FUNCTION_INFO_V1(battledger_vkey_name);
Datum
battledger_vkey_name(PG_FUNCTION_ARGS)
{
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int32		alg = PG_GETARG_INT32(1);
	bl_vkey		vkey;
	const char *why;

	if (bl_vkey_parse(s, strlen(s), &vkey) != 0 || vkey.alg != alg)
		PG_RETURN_NULL();
	if (!bl_ed25519_pub_is_acceptable(vkey.pub, &why))
		ereport(ERROR,
				(errcode(ERRCODE_KEY_WEAK),
				 errmsg("verifier key \"%s\" holds a weak Ed25519 public key", vkey.name),
				 errdetail("The key is %s.", why),
				 errhint("Ask the member for its own key: SELECT battledger.log_vkey() or battledger.witness_vkey().")));
	PG_RETURN_TEXT_P(cstring_to_text(vkey.name));
}

/* Merkle root of origin's first size peer leaves (NULL if some are missing), for verify_member(). */
PG_FUNCTION_INFO_V1(battledger_peer_root);
Datum
battledger_peer_root(PG_FUNCTION_ARGS)
{
	char	   *origin = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		size = PG_GETARG_INT64(1);
	bl_compact	c;
	bool		ok;
	Hash256    *out = palloc(sizeof(Hash256));
	int			nest;

	bl_compact_init(&c);
	nest = bl_spi_connect();
	ok = size >= 0 && append_stored_leaves(&c, origin, 0, size);
	bl_spi_finish(nest);
	if (!ok || bl_compact_root(&c, out->bytes) != 0)
		PG_RETURN_NULL();
	PG_RETURN_HASH256_P(out);
}
