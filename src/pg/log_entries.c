/*
 * log_entries.c — the log queue's entries in backend memory: what the chain
 * trigger records for each row it chains, which rows landed (ON CONFLICT,
 * nested statements, twins), and the log trigger and transaction callbacks
 * writing inserted rows' entries to log_pending (log_queue.c) in their
 * subtransaction.  Part of the log (log.c); log_internal.h joins its files.
 * Why one file: the entries (queued, inflight, twins) and the slots writing
 * them are made, flushed and reset together by queue_flush() and the
 * transaction callbacks; apart, that state would be shared through a header.
 */
#include "log.h"
#include "log_internal.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "chain.h"
#include "ledger_rel.h"

/* Rows the log trigger queues with one heap_multi_insert() call. */
#define LOG_QUEUE_BATCH 1000
/* Uncertain rows a statement may keep waiting for their chain's next row (queue_flush()) */
#define LOG_QUEUE_HOLD 10000

/*
 * The rows the chain trigger chained and the log has not been given yet.
 *
 * Until 0.16.0 the log trigger read them back from a transition table
 * (REFERENCING NEW TABLE), which copied every inserted row into a tuplestore:
 * a bulk load's second most expensive step after the index.  The chain
 * trigger already holds what a queue entry needs, so it records the entry
 * here instead; the entries reach log_pending in the subtransaction that
 * inserted their rows, so a rollback (to a savepoint, of a PL/pgSQL block)
 * takes both away together.  What a transition table told for free is which
 * chained rows were actually inserted; here:
 *
 * - certain rows, chained by a statement that may cache chain heads
 *   (chain.c: a plain INSERT or COPY FROM, where nothing can skip a row after
 *   the last BEFORE trigger), are inserted or end their statement with an
 *   error, which aborts the subtransaction the entry is written in;
 * - other rows (ON CONFLICT, data-modifying CTEs, statements the hooks did
 *   not see) are checked once their statement is done: inserted if a later
 *   row was chained to them, else if the chain index holds the row at that
 *   position with that hash; dropped otherwise (a row ON CONFLICT skipped
 *   leaves its position to the next row of the chain, with another hash, or
 *   to nobody).
 *
 * Entries are written when the log trigger ends a statement, every
 * LOG_QUEUE_BATCH rows within one (bounding the memory of a large load), and
 * at the latest before the transaction commits or is prepared.  A row chained
 * by a statement nested in another's row (a function its CHECK constraint
 * calls) could be written before that row is inserted: harmless if the row is
 * certain, so an uncertain entry waits until its statement is done, told by
 * the depth of statements running (chain_statement_depth()).
 * Only the entries of the current subtransaction can be written (they must
 * share its fate); an inner one's entries join its parent's when it commits
 * and are dropped when it aborts.
 */
typedef struct QueuedRow
{
	Oid			relid;
	SubTransactionId subid;		/* subtransaction that inserted the row */
	int			depth;			/* chain_statement_depth() when chained */
	bool		certain;
	int64		seq;
	Hash256		prev;
	Hash256		hash;
	text	   *qualname;		/* as leaves name the table, in queue_cxt */
	Datum		key;			/* uncertain rows: chain key and origin, in queue_cxt */
	Datum		origin;
	uint64		serial;			/* which recorded entry this is (twins below) */
} QueuedRow;

static MemoryContext queue_cxt = NULL;
static QueuedRow *queued = NULL;
static int	nqueued = 0;
static int	maxqueued = 0;
static int	next_batch_at = LOG_QUEUE_BATCH;
static Oid	last_relid = InvalidOid;
static text *last_qualname = NULL;

/*
 * The slots heap_multi_insert() takes, made as a transaction needs them (at
 * most LOG_QUEUE_BATCH; a thousand made up front were most of what the
 * queue cost a single-row transaction until 0.18.0) and kept until it ends:
 * over a tuple descriptor copy, which no resource owner tracks (a slot over
 * the relation's own descriptor pins it, and making and dropping a thousand
 * such slots every thousand rows cost more than the copy into a tuplestore
 * this queue replaced).  In TopTransactionContext: gone with it.
 * flush_relid: the log_pending they were made for.  A transaction can
 * replace it (DROP and CREATE EXTENSION, the drop guard disabled, or a
 * savepoint rolled back over that): the slots of the other table's
 * descriptor, whose hash256 is another type, made heap_multi_insert()
 * fail ("datum attribute ... does not match deforming descriptor", red
 * team r27, T1b and T1f).
 */
static TupleTableSlot **flush_slots = NULL;
static int	flush_nslots = 0;
static TupleDesc flush_desc = NULL;
static Oid	flush_relid = InvalidOid;
static MemoryContext flush_cxt = NULL;	/* their tuples, reset after each batch */

/* the first `need` slots (need <= LOG_QUEUE_BATCH), made if missing */
static TupleTableSlot **
queue_slots(Relation pending, int need)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

	/* another log_pending than the slots': new ones (between batches: the slots hold no tuple) */
	if (flush_slots != NULL && flush_relid != RelationGetRelid(pending))
	{
		for (int i = 0; i < flush_nslots; i++)
			ExecDropSingleTupleTableSlot(flush_slots[i]);
		pfree(flush_slots);
		FreeTupleDesc(flush_desc);
		MemoryContextDelete(flush_cxt);
		flush_slots = NULL;
		flush_nslots = 0;
	}
	if (flush_slots == NULL)
	{
		/* a load's batch: one kept block for its tuples (a reset frees none) */
		bool		load = need >= LOG_QUEUE_BATCH / 16;

		flush_desc = CreateTupleDescCopy(RelationGetDescr(pending));
		flush_relid = RelationGetRelid(pending);
		flush_slots = palloc(sizeof(TupleTableSlot *) * LOG_QUEUE_BATCH);
		flush_cxt = AllocSetContextCreate(TopTransactionContext, "battledger log queue tuples",
										  load ? 256 * 1024 : ALLOCSET_DEFAULT_MINSIZE,
										  load ? 256 * 1024 : ALLOCSET_DEFAULT_INITSIZE, 1024 * 1024);
	}
	while (flush_nslots < need)
		flush_slots[flush_nslots++] = MakeSingleTupleTableSlot(flush_desc, &TTSOpsHeapTuple);
	MemoryContextSwitchTo(old);
	return flush_slots;
}

typedef enum QueueFlush
{
	FLUSH_BETWEEN_ROWS,			/* the chain trigger, before it records a row */
	FLUSH_STATEMENT_END,		/* the log trigger: its statement's rows and nested ones */
	FLUSH_FINISHED,				/* verify_log(): rows of statements that returned */
	FLUSH_ALL					/* before commit or prepare: every row */
} QueueFlush;

static void
queue_reset(void)
{
	if (queue_cxt)
		MemoryContextReset(queue_cxt);
	queued = NULL;
	nqueued = maxqueued = 0;
	next_batch_at = LOG_QUEUE_BATCH;
	last_relid = InvalidOid;
	last_qualname = NULL;
}

/* Key of the set that keeps one entry per landed row among uncertain ones. */
typedef struct LandedKey
{
	Oid			relid;
	int64		seq;
	Hash256		hash;
} LandedKey;

/*
 * Twins: two rows chained in one transaction at the same position of a chain
 * with the same hash (same predecessor, same values), so the same leaf.  The
 * chain trigger gives a row the position after the chain's head as this
 * transaction sees it, so a twin is chained only while the first row is not
 * in its table: while it is still being inserted (a statement nested in its
 * processing, from a later BEFORE trigger, a CHECK constraint or an index
 * expression), or after ON CONFLICT skipped it.  At most one of the two can
 * land (the chain index is unique on the position), yet each has an entry;
 * the lookup that tells whether an uncertain row landed finds the other
 * twin's row and would have made it a second leaf (red team r16q, X1).  So
 * one entry stands for each position and hash (log_queue_record()):
 *
 * - the first row may still be in flight (chained at a lesser depth of
 *   statements): it stands.  If it is certain, its twin landing makes its
 *   own insert fail on the chain index, which rolls back both; if it is
 *   uncertain, it is resolved only once the nested statement is done, and
 *   its lookup then finds whichever twin landed;
 * - the first row is done (chained at the same or a greater depth): it did
 *   not land (else the twin would have been chained after it), and the twin
 *   stands for the position instead.
 *
 * The rows that may be in flight: the last certain row chained at each
 * depth (inflight[]), and every uncertain row not yet resolved (twins, by
 * position and hash).  Both are kept only as long as the entries they name
 * can be: a rolled-back subtransaction takes its own.  Bulk loads pay one
 * comparison a row (a plain INSERT at the top level has no lesser depth).
 */
typedef struct InFlight
{
	bool		valid;
	SubTransactionId subid;
	LandedKey	key;
	uint64		last_serial;	/* the last row chained at this depth, certain or not */
} InFlight;

typedef struct TwinEntry
{
	LandedKey	key;
	uint64		serial;			/* the entry that stands for the position */
	int			depth;
	SubTransactionId subid;
} TwinEntry;

static InFlight *inflight = NULL;	/* in TopMemoryContext, by depth */
static int	ninflight = 0;
static HTAB *twins = NULL;		/* in TopTransactionContext */
static uint64 next_serial = 1;

/*
 * Whether a queued row chained at a lesser depth than the statement now
 * running may still be being inserted: only if it is the last row chained at
 * its depth.  The executor processes one row at a time at each depth (chain
 * trigger, constraints, then the insert: COPY FROM inserts one by one into a
 * table with a BEFORE row trigger), so an earlier row of that depth was done
 * before the next was chained.  Without this, a statement nested in every
 * row of an ON CONFLICT statement (a function in its SELECT list) rescanned
 * all the outer rows still queued at each of its ends and could decide none
 * of them until the outer statement ended: CPU as the rows squared, memory
 * as the rows (red team r17q, D1).
 */
static inline bool
row_may_be_in_flight(const QueuedRow *q)
{
	return q->depth >= ninflight || inflight[q->depth].last_serial == q->serial;
}

static inline void
landed_key(LandedKey *k, Oid relid, int64 seq, const Hash256 *hash)
{
	memset(k, 0, sizeof(*k));
	k->relid = relid;
	k->seq = seq;
	memcpy(k->hash.bytes, hash->bytes, BL_HASH_LEN);
}

/* A queued row's predecessor, as the entries recorded after it name it. */
typedef struct PrevKey
{
	Oid			relid;
	Hash256		prev;
} PrevKey;

/*
 * The predecessors named by the entries from first on: a row that a later
 * row of this transaction was chained to was found as its chain's head by
 * the chain trigger (in the chain index, as the transaction sees its own
 * rows), so it was inserted, and no lookup is needed.  Only the last
 * uncertain row of each chain is looked up.
 */
static HTAB *
queued_successors(int first, MemoryContext cxt)
{
	HASHCTL		ctl;
	HTAB	   *h;

	ctl.keysize = sizeof(PrevKey);
	ctl.entrysize = sizeof(PrevKey);
	ctl.hcxt = cxt;
	h = hash_create("battledger queued predecessors", Max(nqueued - first, 16), &ctl,
					HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (int i = first; i < nqueued; i++)
	{
		PrevKey		k;

		memset(&k, 0, sizeof(k));
		k.relid = queued[i].relid;
		memcpy(k.prev.bytes, queued[i].prev.bytes, BL_HASH_LEN);
		(void) hash_search(h, &k, HASH_ENTER, NULL);
	}
	return h;
}

/*
 * Whether the row an uncertain entry describes is in its table: a later
 * entry names it as its predecessor (queued_successors()), or else the chain
 * index's row at its position, seen as this transaction sees its own rows,
 * has its hash.  Two entries for one position can both match only if a
 * skipped row and a later inserted one hashed alike (same predecessor, same
 * values); landed keeps the second from becoming a second leaf.
 */
typedef enum Landed
{
	ROW_INSERTED,
	ROW_SKIPPED,
	ROW_NOT_YET_KNOWN			/* no later row names it, and no lookup was allowed */
} Landed;

/* What the checks of one flush share: the sets, and the table last opened. */
typedef struct LandedCheck
{
	HTAB	   *landed;
	HTAB	   *successors;
	Relation	rel;
} LandedCheck;

static Landed queued_row_landed_at(QueuedRow *q, LandedCheck *lc, bool may_look_up);

static Landed
queued_row_landed(QueuedRow *q, LandedCheck *lc, bool may_look_up)
{
	TwinEntry  *t = NULL;
	LandedKey	k;
	Landed		r;

	if (twins != NULL)
	{
		landed_key(&k, q->relid, q->seq, &q->hash);
		t = hash_search(twins, &k, HASH_FIND, NULL);
		/* a twin chained after it stands for its position (it did not land) */
		if (t != NULL && t->serial != q->serial)
			return ROW_SKIPPED;
	}
	r = queued_row_landed_at(q, lc, may_look_up);
	if (t != NULL && r != ROW_NOT_YET_KNOWN)
		(void) hash_search(twins, &k, HASH_REMOVE, NULL);
	return r;
}

static Landed
queued_row_landed_at(QueuedRow *q, LandedCheck *lc, bool may_look_up)
{
	LedgerRel  *lr;
	Hash256		h;
	bool		ok;
	LandedKey	k;
	bool		found;
	PrevKey		pk;

	memset(&pk, 0, sizeof(pk));
	pk.relid = q->relid;
	memcpy(pk.prev.bytes, q->hash.bytes, BL_HASH_LEN);
	if (hash_search(lc->successors, &pk, HASH_FIND, NULL) != NULL)
		goto inserted;
	if (!may_look_up)
		return ROW_NOT_YET_KNOWN;
	if (lc->rel == NULL || RelationGetRelid(lc->rel) != q->relid)
	{
		if (lc->rel)
			table_close(lc->rel, AccessShareLock);
		lc->rel = try_table_open(q->relid, AccessShareLock);
		if (lc->rel == NULL)
			return ROW_SKIPPED;
	}
	/*
	 * Before commit no statement is running: the table's registration, read
	 * by SPI if its cache entry was reset, needs a snapshot of its own.
	 */
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		lr = ledger_rel_get(lc->rel);
		PopActiveSnapshot();
	}
	else
		lr = ledger_rel_get(lc->rel);
	ok = chain_row_hash(lc->rel, lr, q->origin, q->key, q->seq, &h) &&
		memcmp(h.bytes, q->hash.bytes, BL_HASH_LEN) == 0;
	if (!ok)
		return ROW_SKIPPED;
inserted:
	landed_key(&k, q->relid, q->seq, &q->hash);
	(void) hash_search(lc->landed, &k, HASH_ENTER, &found);
	return found ? ROW_SKIPPED : ROW_INSERTED;
}

/*
 * Write the current subtransaction's entries that mode allows to log_pending
 * in batches (log_pending_write()), or one alone with heap_insert()
 * (log_enqueue()), in the order they were recorded; keep the others.
 */
static void
queue_flush(QueueFlush mode)
{
	SubTransactionId cur = GetCurrentSubTransactionId();
	int			depth = chain_statement_depth();
	int			first = nqueued;
	int			kept;
	Relation	pending = NULL;
	TupleTableSlot **batch = NULL;
	int			nbatch = 0;
	MemoryContext landed_cxt = NULL;
	MemoryContext old;
	LandedCheck lc = {NULL, NULL, NULL};
	PendingForm pf;

	/* the current subtransaction's entries are the last ones recorded */
	while (first > 0 && queued[first - 1].subid == cur)
		first--;
	if (mode == FLUSH_ALL && first > 0)
		elog(ERROR, "battledger: %d log queue entries of a finished subtransaction", first);
	if (first == nqueued)
		return;
	kept = first;
	for (int i = first; i < nqueued; i++)
	{
		QueuedRow  *q = &queued[i];

		if (!q->certain)
		{
			/*
			 * Its statement may still be inserting it unless that statement's
			 * ExecutorRun or ExecutorFinish has returned (a greater depth) or
			 * it is the statement now running (the same depth) and either the
			 * chain trigger is between two of its rows (its earlier rows are
			 * done) or its AFTER statement trigger runs (all are).  A caller
			 * of any other kind (verify_log(), perhaps from a CHECK
			 * constraint) cannot tell whose row is in flight at its depth.
			 */
			if (mode == FLUSH_FINISHED ? q->depth <= depth && row_may_be_in_flight(q) :
				mode != FLUSH_ALL ? q->depth < depth && row_may_be_in_flight(q) : false)
			{
				queued[kept++] = *q;
				continue;
			}
			if (lc.landed == NULL)
			{
				HASHCTL		ctl;

				landed_cxt = AllocSetContextCreate(CurrentMemoryContext, "battledger landed rows",
												  ALLOCSET_DEFAULT_SIZES);
				ctl.keysize = sizeof(LandedKey);
				ctl.entrysize = sizeof(LandedKey);
				ctl.hcxt = landed_cxt;
				lc.landed = hash_create("battledger landed rows", 256, &ctl,
										HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
				lc.successors = queued_successors(i + 1, landed_cxt);
			}
			/*
			 * Between rows, a chain's last row waits for the next row of its
			 * chain to vouch for it rather than be looked up (one lookup a
			 * row made ON CONFLICT 1.2x slower), up to LOG_QUEUE_HOLD rows.
			 */
			switch (queued_row_landed(q, &lc, mode != FLUSH_BETWEEN_ROWS || nqueued - first > LOG_QUEUE_HOLD))
			{
				case ROW_INSERTED:
					break;
				case ROW_SKIPPED:
					continue;	/* skipped (ON CONFLICT): never a leaf */
				case ROW_NOT_YET_KNOWN:
					queued[kept++] = *q;
					continue;
			}
		}
		if (pending == NULL)
		{
			pending = log_pending_open();
			log_pending_form_init(&pf);
			/* the last entry and the first written, a single-row transaction's: no slots */
			if (i == nqueued - 1)
			{
				log_enqueue(pending, q->qualname, q->seq, &q->prev, &q->hash);
				continue;
			}
			/* entries i .. nqueued - 1 are all this call may write */
			batch = queue_slots(pending, Min(nqueued - i, LOG_QUEUE_BATCH));
		}
		/* the tuples live in flush_cxt, reset after each call: the slots do not free them */
		old = MemoryContextSwitchTo(flush_cxt);
		ExecStoreHeapTuple(log_pending_form(&pf, pending, q->qualname, q->seq, &q->prev, &q->hash),
						   batch[nbatch], false);
		MemoryContextSwitchTo(old);
		if (++nbatch == LOG_QUEUE_BATCH)
		{
			log_pending_write(pending, batch, nbatch, flush_cxt);
			nbatch = 0;
		}
	}
	if (nbatch > 0)
		log_pending_write(pending, batch, nbatch, flush_cxt);
	if (lc.rel)
		table_close(lc.rel, AccessShareLock);
	if (landed_cxt)
		MemoryContextDelete(landed_cxt);
	if (pending)
	{
		log_pending_form_end(&pf);
		table_close(pending, NoLock);
	}
	nqueued = kept;
	if (nqueued == 0)
		queue_reset();			/* frees the chain keys copied for uncertain rows */
	else
		next_batch_at = nqueued + LOG_QUEUE_BATCH;
}

/* Called by the chain trigger for each row it chains of a table with a log trigger. */
void
log_queue_record(LedgerRel *lr, Datum origin, Datum key, int64 seq,
				 const Hash256 *prev, const Hash256 *row_hash, bool certain)
{
	QueuedRow  *q;
	MemoryContext old;
	int			depth = chain_statement_depth();
	SubTransactionId subid = GetCurrentSubTransactionId();
	LandedKey	k;
	uint64		serial = next_serial++;

	/* the rows this statement chained before this one are in their table by now */
	if (nqueued >= next_batch_at)
		queue_flush(FLUSH_BETWEEN_ROWS);

	if (depth >= ninflight)
	{
		int			n = Max(8, depth * 2);

		inflight = inflight ? repalloc(inflight, sizeof(InFlight) * n)
			: MemoryContextAlloc(TopMemoryContext, sizeof(InFlight) * n);
		for (int d = ninflight; d < n; d++)
		{
			inflight[d].valid = false;
			inflight[d].last_serial = 0;
		}
		ninflight = n;
	}
	/* the row chained before it at this depth is done: see row_may_be_in_flight() */
	inflight[depth].last_serial = serial;

	/* one entry for twins (see InFlight): a certain row in flight stands */
	landed_key(&k, lr->relid, seq, row_hash);
	for (int d = 0; d < Min(depth, ninflight); d++)
		if (inflight[d].valid && memcmp(&inflight[d].key, &k, sizeof(k)) == 0)
			return;
	if (twins != NULL && hash_get_num_entries(twins) > 0)
	{
		TwinEntry  *t = hash_search(twins, &k, HASH_FIND, NULL);

		if (t != NULL)
		{
			if (t->depth < depth)
				return;			/* an uncertain row that may be in flight stands */
			/* the first did not land: this row stands for the position */
			t->serial = serial;
			t->depth = depth;
			t->subid = subid;
		}
	}
	if (!certain)
	{
		TwinEntry  *t;
		bool		found;

		if (twins == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = sizeof(LandedKey);
			ctl.entrysize = sizeof(TwinEntry);
			ctl.hcxt = TopTransactionContext;
			twins = hash_create("battledger log queue twins", 256, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		t = hash_search(twins, &k, HASH_ENTER, &found);
		t->serial = serial;
		t->depth = depth;
		t->subid = subid;
	}
	inflight[depth].valid = certain;
	inflight[depth].subid = subid;
	inflight[depth].key = k;
	/* a first block to hold the first 64 entries (8 kB) and the name: no malloc a transaction */
	if (queue_cxt == NULL)
		queue_cxt = AllocSetContextCreate(TopMemoryContext, "battledger log queue",
										  ALLOCSET_DEFAULT_MINSIZE, 16 * 1024, ALLOCSET_DEFAULT_MAXSIZE);
	old = MemoryContextSwitchTo(queue_cxt);
	if (nqueued == maxqueued)
	{
		maxqueued = Max(64, maxqueued * 2);
		queued = queued ? repalloc_huge(queued, sizeof(QueuedRow) * maxqueued)
			: palloc(sizeof(QueuedRow) * maxqueued);
	}
	if (lr->relid != last_relid || last_qualname == NULL)
	{
		last_qualname = cstring_to_text(lr->qualname);
		last_relid = lr->relid;
	}
	q = &queued[nqueued];
	q->relid = lr->relid;
	q->subid = subid;
	q->depth = depth;
	q->serial = serial;
	q->certain = certain;
	q->seq = seq;
	memcpy(q->prev.bytes, prev->bytes, BL_HASH_LEN);
	memcpy(q->hash.bytes, row_hash->bytes, BL_HASH_LEN);
	q->qualname = last_qualname;
	q->key = (Datum) 0;
	q->origin = (Datum) 0;
	if (!certain)
	{
		q->key = lr->chain_attno ? datumCopy(key, lr->chain_byval, lr->chain_len) : (Datum) 0;
		q->origin = PointerGetDatum(DatumGetTextPCopy(origin));
	}
	MemoryContextSwitchTo(old);
	nqueued++;
}

/*
 * Write the entries of statements that are done, for a reader of log_pending
 * in the same transaction (seal()): the rows of the statements before it.
 */
void
log_queue_flush_finished(void)
{
	if (nqueued > 0)
		queue_flush(FLUSH_FINISHED);
}

static void
log_queue_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (nqueued > 0)
				queue_flush(FLUSH_ALL);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			/* after a commit nothing is left (PRE_COMMIT wrote it); after an abort, the rows are gone */
			if (nqueued > 0 || queue_cxt != NULL)
				queue_reset();
			flush_slots = NULL;	/* freed with TopTransactionContext */
			flush_nslots = 0;	/* (flush_desc is made anew with them) */
			flush_cxt = NULL;
			twins = NULL;
			for (int d = 0; d < ninflight; d++)
				inflight[d].valid = false;
			break;
		default:
			break;
	}
}

static void
log_queue_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		/* its rows were rolled back: so are their entries */
		while (nqueued > 0 && queued[nqueued - 1].subid == mySubid)
			nqueued--;
		next_batch_at = Min(next_batch_at, nqueued + LOG_QUEUE_BATCH);
		/*
		 * and the rows of it or of its children (later subtransaction ids)
		 * stand for no position any more
		 */
		for (int d = 0; d < ninflight; d++)
			if (inflight[d].valid && inflight[d].subid >= mySubid)
				inflight[d].valid = false;
		if (twins != NULL && hash_get_num_entries(twins) > 0)
		{
			HASH_SEQ_STATUS st;
			TwinEntry  *t;

			hash_seq_init(&st, twins);
			while ((t = hash_seq_search(&st)) != NULL)
				if (t->subid >= mySubid)
					(void) hash_search(twins, &t->key, HASH_REMOVE, NULL);
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		/* its rows now live or die with the parent's */
		for (int i = nqueued - 1; i >= 0 && queued[i].subid == mySubid; i--)
			queued[i].subid = parentSubid;
	}
}

void
log_queue_install(void)
{
	RegisterXactCallback(log_queue_xact_callback, NULL);
	RegisterSubXactCallback(log_queue_subxact_callback, NULL);
}

/*
 * battledger._log_trigger() RETURNS trigger
 *
 * AFTER INSERT statement trigger of a ledger table: writes the queue entries
 * the chain trigger recorded for the statement (and for statements nested in
 * it) to log_pending.  Ledger tables of releases before 0.16.0 still have it
 * with a transition table until ALTER EXTENSION UPDATE; it is not read.
 */
PG_FUNCTION_INFO_V1(battledger_log_trigger);
Datum
battledger_log_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("battledger_log_trigger() must be an AFTER INSERT statement trigger")));
	/* only a registered ledger table's statements write the queue */
	(void) ledger_rel_get(td->tg_relation);
	if (nqueued > 0)
		queue_flush(FLUSH_STATEMENT_END);
	return PointerGetDatum(NULL);
}
