/*
 * chain.c — appending to a hash chain: the BEFORE INSERT row trigger of a
 * ledger table, and the statement trigger that refuses UPDATE, DELETE and
 * TRUNCATE.
 *
 * Each row is linked to the last row of its chain:
 *   ledger_seq  = previous seq + 1 (first row: 1)
 *   ledger_prev = previous row's ledger_hash (first row: 32 zero bytes)
 *   ledger_hash = SHA-256(ledger_prev || seq as 8-byte big-endian || row bytes)
 *
 * Appends to one chain are serialised by a transaction-scoped lock on the
 * chain (striped: at most CHAIN_LOCK_STRIPES locks per table), then the head
 * is read from the unique (chain, ledger_seq) index with SnapshotSelf: it
 * sees every committed row and this transaction's own rows, including those
 * of the current statement, whatever the isolation level.  No head table is
 * updated, so a transaction appending n rows does O(n log n) work, and a row
 * that another trigger or ON CONFLICT skipped leaves no gap.
 *
 * On PostgreSQL 15 a backward btree scan keyed on the chain column alone
 * examines every entry of that chain on the leaf page before returning the
 * last one, so bulk loads slowed as chains grew.  Each backend therefore
 * remembers the last position it assigned per chain and adds
 * "ledger_seq >= hint" to the scan, which then stops after an entry or two.
 * The hint only narrows the search: if it finds nothing (the row was rolled
 * back or skipped) the lookup is repeated without it, so it never decides
 * which row is the head.
 *
 * Within one plain INSERT statement (no ON CONFLICT, no data-modifying CTE),
 * the row this trigger chained last is certain to be inserted — nothing can
 * skip a row after the last BEFORE trigger except ON CONFLICT, and an error
 * ends the statement — so the head it produced is remembered for the rest of
 * that statement and no index lookup is needed.  An ExecutorRun hook tells
 * which statements qualify (and a ProcessUtility hook, COPY FROM); ON CONFLICT
 * keeps the index lookup, any nested statement voids the cache, and nothing
 * run by an ExecutorFinish (a CTE's rest, AFTER triggers) caches.  The one
 * statement the hooks cannot see, the one during which the library is loaded
 * (no session_preload_libraries), qualifies when it is the session's top-level
 * plain INSERT or COPY FROM (unhooked_top_level_ok()); others keep the lookup.
 *
 * Why one file: the trigger, the head cache and the hooks and transaction
 * callbacks that decide when a cached head is still certain share that
 * cache's state (its epoch, the statement's heads); split, the state would be
 * exported and could be reset by code that does not know what it voids.
 */
#include "postgres.h"

#include "chain.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/plannodes.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/portal.h"
#include "utils/datum.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "catalog/pg_collation.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "common/hashfn.h"

#include "encode.h"
#include "hash256.h"
#include "keys.h"
#include "ledger_rel.h"
#include "ledger_table.h"
#include "log.h"
#include "pgutil.h"
#include "restore.h"
#include "sign.h"
#include "sqlstate.h"

/*
 * Lock striping: a chain's lock is (database, table, hash(chain key) mod
 * stripes).  Bounding the stripes bounds the lock-table slots one bulk load
 * can take; two chains sharing a stripe merely wait for each other.  Every
 * backend must use the same value, so it is a constant, not a setting.
 */
#define CHAIN_LOCK_STRIPES 1024

static const uint8 zero_hash[BL_HASH_LEN];

/* Head hints: (table, chain key hash) -> last position this backend assigned. */
typedef struct HeadHintKey
{
	Oid			relid;
	uint32		keyhash;
} HeadHintKey;

typedef struct HeadHint
{
	HeadHintKey key;
	int64		seq;
} HeadHint;

static HTAB *head_hints = NULL;
/* bumped whenever head_hints is destroyed: a HeadHint pointer kept elsewhere is then void */
static uint64 head_hints_gen = 0;

static HeadHint *
head_hint(Oid relid, uint32 keyhash)
{
	HeadHintKey k;
	bool		found;
	HeadHint   *h;

	if (head_hints == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(HeadHintKey);
		ctl.entrysize = sizeof(HeadHint);
		ctl.hcxt = TopMemoryContext;
		head_hints = hash_create("battledger head hints", 1024, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	/* bounded: it is only a hint, so start afresh rather than grow forever */
	if (hash_get_num_entries(head_hints) > 100000)
	{
		hash_destroy(head_hints);
		head_hints = NULL;
		head_hints_gen++;
		return head_hint(relid, keyhash);
	}
	memset(&k, 0, sizeof(k));
	k.relid = relid;
	k.keyhash = keyhash;
	h = hash_search(head_hints, &k, HASH_ENTER, &found);
	if (!found)
		h->seq = 0;
	return h;
}

void
chain_hash(const uint8 *prev, int64 seq, const char *content,
		   size_t content_len, uint8 *out)
{
	uint8		seqbe[8];
	const void *parts[3];
	size_t		lens[3];

	for (int i = 0; i < 8; i++)
		seqbe[i] = (uint8) ((uint64) seq >> (8 * (7 - i)));
	parts[0] = prev;
	lens[0] = BL_HASH_LEN;
	parts[1] = seqbe;
	lens[1] = 8;
	parts[2] = content;
	lens[2] = content_len;
	bl_hash_parts_or_error(parts, lens, 3, out);
}

static uint32
chain_key_hash(LedgerRel *lr, Datum key)
{
	if (!lr->chain_attno)
		return 0;
	return DatumGetUInt32(FunctionCall1Coll(&lr->chain_hash_fn, lr->chain_collation, key));
}

/*
 * Whether the statement now running may cache heads, and an epoch bumped each
 * time any ExecutorRun starts or ends: heads cached under one epoch are valid
 * only while it lasts, so a nested statement (a function or another trigger
 * running SQL between two rows) that might append to the same chain makes
 * every cached head stale.
 */
static bool cache_ok = false;
static int	hook_depth = 0;		/* statements the hooks saw that are running now */
static uint64 run_epoch = 0;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * A chain's head as this statement left it.  The heads live in a simplehash
 * table (open addressing, entries stored in the bucket array): a bulk load
 * looks one up per row, and in a dynahash table that lookup missed the CPU
 * cache twice (the bucket, then the entry it points to), which perf put at
 * 2% of a bulk INSERT.  Entries move when others are inserted: a pointer to
 * one is good only until the next insert into the table, which is the next
 * row's lookup (or a nested statement's, which resets the table first).
 */
typedef struct StmtHead
{
	uint64		hkey;			/* relid << 32 | chain key hash */
	char		status;			/* simplehash's */
	bool		valid;			/* seq, hash and at hold a row of this statement */
	int64		seq;
	Hash256		hash;
	Datum		chain_key;		/* copy, in stmt_cxt */
	TimestampTz at;				/* its ledger_at (signed tables) */
	HeadHint   *hint;			/* the chain's head_hints entry, while hint_gen is current */
	uint64		hint_gen;
} StmtHead;

#define SH_PREFIX stmtheads
#define SH_ELEMENT_TYPE StmtHead
#define SH_KEY_TYPE uint64
#define SH_KEY hkey
#define SH_HASH_KEY(tb, key) murmurhash32((uint32) ((key) >> 32) ^ (uint32) (key))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static stmtheads_hash *stmt_heads = NULL;
static MemoryContext stmt_cxt = NULL;
static uint64 stmt_heads_epoch = 0;
/*
 * battledger.origin's generation when the heads were cached: a chain is
 * (origin, key), but the heads are found by key.  set_config() in an
 * INSERT's SELECT list changes the origin between two rows without a nested
 * statement, and the next row was chained to the other origin's head (its
 * chain then missed a position; main 439984b).  Any assignment voids them.
 */
static uint64 stmt_heads_origin_gen = 0;

/*
 * At most this many chains' heads are kept for one statement (about 20 MB
 * with the hash table's slack and short keys); past it the table starts
 * afresh.  Unbounded, a plain role's single INSERT … SELECT of a new chain
 * per row held 150-300 bytes a row in this backend until the statement
 * ended (3M rows: 620 MB more than an indexed table's load; the transition
 * table it replaced spilled to disk), so a large enough one could bring the
 * OOM killer onto the server.  Starting afresh loses nothing but time: a
 * chain not cached is looked up in its index, as every row of a statement
 * that may not cache heads is, and the chain's lock is still held.
 */
#define STMT_HEADS_MAX 100000

static bool
plain_insert(PlannedStmt *stmt)
{
	return stmt->commandType == CMD_INSERT && !stmt->hasModifyingCTE &&
		stmt->planTree != NULL && IsA(stmt->planTree, ModifyTable) &&
		((ModifyTable *) stmt->planTree)->onConflictAction == ONCONFLICT_NONE;
}

static void
bl_ExecutorRun(BL_EXECUTORRUN_PARAMS)
{
	bool		saved = cache_ok;

	run_epoch++;
	cache_ok = plain_insert(queryDesc->plannedstmt);
	hook_depth++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(BL_EXECUTORRUN_ARGS);
		else
			standard_ExecutorRun(BL_EXECUTORRUN_ARGS);
	}
	PG_FINALLY();
	{
		cache_ok = saved;
		hook_depth--;
		run_epoch++;
	}
	PG_END_TRY();
}

/*
 * A statement's ExecutorFinish runs the rest of its data-modifying CTEs
 * (ExecPostprocessPlan: those its query did not read to the end) and its
 * AFTER triggers, after ExecutorRun has returned and restored the enclosing
 * statement's cache_ok.  A statement nested in a plain INSERT's row (a
 * function its SELECT list or CHECK constraint calls) would otherwise chain
 * its CTE's rows as if they were that INSERT's: cached heads, though ON
 * CONFLICT may skip a row, so the chain's next row followed a row that is
 * not there (red team r17q, F1).  Nothing run here may cache heads.
 *
 * It counts as a statement running, as ExecutorRun does: rows its CTE
 * chains may be chained while a row of the enclosing statement is still
 * being inserted (a function its CHECK constraint calls), and the log queue
 * tells such rows apart by depth (red team r17q, F3 and F4).
 */
static void
bl_ExecutorFinish(QueryDesc *queryDesc)
{
	bool		saved = cache_ok;

	run_epoch++;
	cache_ok = false;
	hook_depth++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		cache_ok = saved;
		hook_depth--;
		run_epoch++;
	}
	PG_END_TRY();
}

/* COPY FROM cannot skip a row either (it has no ON CONFLICT): it may cache heads too. */
static void
bl_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				  ProcessUtilityContext context, ParamListInfo params,
				  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	bool		saved = cache_ok;

	run_epoch++;
	cache_ok = IsA(pstmt->utilityStmt, CopyStmt) && ((CopyStmt *) pstmt->utilityStmt)->is_from;
	hook_depth++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		cache_ok = saved;
		hook_depth--;
		run_epoch++;
	}
	PG_END_TRY();
}

/*
 * A transaction's or subtransaction's end voids every cached head too.  Every
 * statement that chains a row already bumps the epoch through the hooks; the
 * statement that loaded battledger does not, so this keeps its heads from
 * outliving it even if some later path reached the chain trigger without
 * passing through ExecutorRun or ProcessUtility (red team hx1).
 */
static void
chain_xact_callback(XactEvent event, void *arg)
{
	run_epoch++;
}

static void
chain_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB || event == SUBXACT_EVENT_COMMIT_SUB)
		run_epoch++;
}

/*
 * How many statements the hooks saw are running now (in ExecutorRun,
 * ExecutorFinish or ProcessUtility).  The log queue (log_entries.c) tags each
 * row with it: a row chained at a depth greater than the current one belongs
 * to a statement whose ExecutorRun or ExecutorFinish has returned, so it was
 * inserted or skipped by now.  A statement's ExecutorFinish has the depth its
 * ExecutorRun had, so its AFTER statement triggers see its rows at their own
 * depth.
 */
int
chain_statement_depth(void)
{
	return hook_depth;
}

void
chain_install_hooks(void)
{
	RegisterXactCallback(chain_xact_callback, NULL);
	RegisterSubXactCallback(chain_subxact_callback, NULL);
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = bl_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = bl_ExecutorFinish;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = bl_ProcessUtility;
}

/*
 * Whether the row being chained comes from a statement the hooks did not see
 * that is a plain INSERT or a COPY FROM run as the session's top-level
 * statement.  Without session_preload_libraries, battledger is loaded by the
 * first row the chain trigger sees, after ExecutorRun (or ProcessUtility)
 * began: the hooks miss that statement, and an ETL tool that opens a session
 * per load would chain every row through an index lookup.
 *
 * The statement firing the trigger is the active portal's own, not one
 * nested in it (SQL or PL/pgSQL functions run theirs from SPI or function
 * contexts), when its executor state was created straight in the portal's
 * memory context: the trigger runs in the executor's per-tuple context, a
 * child of that state's context.  COPY FROM builds its executor state the same
 * way.  A portal's statement is known exactly (ActivePortal->stmts), so the
 * same test as the hooks' decides; a portal of several statements (rules)
 * never qualifies.  Nested statements started after the load go through the
 * hooks and bump run_epoch, voiding the heads as they do for hooked
 * statements.  Anything else (no portal, the apply worker) is not cached.
 */
static bool
unhooked_top_level_ok(void)
{
	PlannedStmt *stmt;
	MemoryContext estate_cxt;

	if (hook_depth != 0 || ActivePortal == NULL || list_length(ActivePortal->stmts) != 1)
		return false;
	estate_cxt = CurrentMemoryContext ? CurrentMemoryContext->parent : NULL;
	if (estate_cxt == NULL || estate_cxt->parent == NULL ||
		estate_cxt->parent != ActivePortal->portalContext)
		return false;
	stmt = linitial_node(PlannedStmt, ActivePortal->stmts);
	if (stmt->commandType == CMD_UTILITY)
		return IsA(stmt->utilityStmt, CopyStmt) && ((CopyStmt *) stmt->utilityStmt)->is_from;
	return plain_insert(stmt);
}

/*
 * The chain's slot in this statement's heads, created if new (valid false
 * until a row fills it); NULL when the statement may not cache heads.  One
 * hash lookup per row: the slot is filled through the returned pointer once
 * the row is computed, provided no nested statement ran meanwhile (run_epoch
 * unchanged), since a nested statement's own rows reset the table and free
 * the slot.
 */
static StmtHead *
stmt_head(LedgerRel *lr, uint32 keyhash, Datum key, bool may_cache)
{
	StmtHead   *h;
	bool		found;

	if (!may_cache)
		return NULL;
	if (stmt_heads == NULL || stmt_heads_epoch != run_epoch ||
		stmt_heads_origin_gen != bl_origin_generation() || stmt_heads->members >= STMT_HEADS_MAX)
	{
		if (stmt_cxt == NULL)
			stmt_cxt = AllocSetContextCreate(TopMemoryContext, "battledger statement heads",
											 ALLOCSET_DEFAULT_SIZES);
		MemoryContextReset(stmt_cxt);
		/*
		 * small: most statements append to a chain or two, and it grows with
		 * a bulk load.  Sized for 64, its zeroed buckets (12 kB) were a block
		 * of their own, malloc'd and freed by every single-row INSERT.
		 */
		stmt_heads = stmtheads_create(stmt_cxt, 8, NULL);
		stmt_heads_epoch = run_epoch;
		stmt_heads_origin_gen = bl_origin_generation();
	}
	h = stmtheads_insert(stmt_heads, ((uint64) lr->relid << 32) | keyhash, &found);
	/*
	 * Two chains whose keys hash alike share a slot: the slot is the other
	 * chain's, so it now becomes this one's, empty.  The key is compared
	 * byte for byte, not with the chain type's equality: a key that is equal
	 * but spelled differently (a nondeterministic collation) only misses the
	 * cache and reads its head from the index, which decides by the type's
	 * equality.
	 */
	if (found && lr->chain_attno && !datumIsEqual(h->chain_key, key, lr->chain_byval, lr->chain_len))
		found = false;
	if (!found)
	{
		MemoryContext old = MemoryContextSwitchTo(stmt_cxt);

		h->chain_key = lr->chain_attno ? datumCopy(key, lr->chain_byval, lr->chain_len) : (Datum) 0;
		MemoryContextSwitchTo(old);
		h->valid = false;
		h->hint = NULL;
	}
	return h;
}

static void
lock_chain(LedgerRel *lr, uint32 keyhash)
{
	bl_advisory_xact_lock(MyDatabaseId, lr->relid, keyhash % CHAIN_LOCK_STRIPES, BL_LOCK_CHAIN);
}

/*
 * The last row of the chain (origin, key) at positions compared to seq by
 * strategy, read under lockmode on the chain index.  RowExclusiveLock is
 * kept to the end of the transaction (see chain_head()).
 */
static bool
chain_scan(Relation rel, LedgerRel *lr, Datum origin, Datum key, int64 seq, StrategyNumber strategy,
		   LOCKMODE lockmode, int64 *found_seq, Hash256 *hash, TimestampTz *at)
{
	Relation	irel = index_open(lr->index_oid, lockmode);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan;
	ScanKeyData skey[3];
	int			nkeys = 0;
	bool		found;

	/* index columns: (chain key, ledger_origin, ledger_seq), or (ledger_origin, ledger_seq) */
	if (lr->chain_attno)
	{
		ScanKeyInit(&skey[nkeys], 1, BTEqualStrategyNumber, lr->chain_eq_proc, key);
		skey[nkeys++].sk_collation = lr->chain_collation;
	}
	ScanKeyInit(&skey[nkeys], lr->chain_attno ? 2 : 1, BTEqualStrategyNumber, F_TEXTEQ, origin);
	skey[nkeys++].sk_collation = C_COLLATION_OID;
	if (seq > 0)
		ScanKeyInit(&skey[nkeys++], lr->chain_attno ? 3 : 2, strategy,
					strategy == BTEqualStrategyNumber ? F_INT8EQ : F_INT8GE, Int64GetDatum(seq));
	scan = bl_index_beginscan(rel, irel, SnapshotSelf, nkeys, 0);
	index_rescan(scan, skey, nkeys, NULL, 0);
	found = index_getnext_slot(scan, BackwardScanDirection, slot);
	if (found)
	{
		bool		isnull1,
					isnull2;
		Datum		s = slot_getattr(slot, lr->seq_attno, &isnull1);
		Datum		h = slot_getattr(slot, lr->hash_attno, &isnull2);

		if (isnull1 || isnull2)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("last row of a chain in ledger table \"%s\" has no chain fields",
							RelationGetRelationName(rel)),
					 errhint("Run battledger.verify() on the table.")));
		*found_seq = DatumGetInt64(s);
		memcpy(hash->bytes, DatumGetHash256P(h)->bytes, BL_HASH_LEN);
		if (at && lr->signer_roles)
		{
			Datum		t = slot_getattr(slot, lr->at_attno, &isnull1);

			*at = isnull1 ? DT_NOBEGIN : DatumGetTimestampTz(t);
		}
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(irel, lockmode == RowExclusiveLock ? NoLock : lockmode);
	return found;
}

/*
 * Called by BEFORE INSERT row triggers of rel alone (the chain trigger, the
 * arrival check), whose insert holds RowExclusiveLock on rel's indexes from
 * ExecOpenIndices() to the end of the transaction: that lock, asked for
 * again, is found held without a trip to the lock manager, and the index is
 * left locked as the insert leaves it.  AccessShareLock, taken and released
 * for each lookup, was 2.2k instructions of a single-row INSERT (0.22.0).
 */
bool
chain_head(Relation rel, LedgerRel *lr, Datum origin, Datum key, int64 min_seq,
		   int64 *seq, Hash256 *hash, TimestampTz *at)
{
	return chain_scan(rel, lr, origin, key, min_seq, BTGreaterEqualStrategyNumber, RowExclusiveLock,
					  seq, hash, at);
}

bool
chain_row_hash(Relation rel, LedgerRel *lr, Datum origin, Datum key, int64 seq, Hash256 *hash)
{
	int64		found_seq;

	return chain_scan(rel, lr, origin, key, seq, BTEqualStrategyNumber, AccessShareLock,
					  &found_seq, hash, NULL);
}

/*
 * battledger.origin as text, as local_row_origin() last made it, and the
 * setting's generation then (bl_origin_generation(): any assignment of the
 * setting, a rollback's included, bumps it, so a stale text is never used).
 */
static uint64 origin_text_gen = 0;
static Datum origin_text;

/*
 * The origin a local row is written under: battledger.origin.  A row may
 * name it (a dump being restored does), but not another member's.
 */
static Datum
local_row_origin(Relation rel, LedgerRel *lr, Datum *values, bool *nulls)
{
	const char *mine = local_origin();
	Datum		d = values[lr->origin_attno - 1];

	if (!nulls[lr->origin_attno - 1])
	{
		text	   *given = DatumGetTextPP(d);

		if (VARSIZE_ANY_EXHDR(given) == strlen(mine) &&
			memcmp(VARDATA_ANY(given), mine, strlen(mine)) == 0)
			return d;
		ereport(ERROR,
				(errcode(ERRCODE_ORIGIN_MISMATCH),
				 errmsg("row for ledger table \"%s\" names origin \"%s\", but this database is \"%s\"",
						RelationGetRelationName(rel), text_to_cstring(given), mine),
				 errdetail("A member writes only under its own origin; other members' rows arrive by replication."),
				 errhint("Leave ledger_origin out of the INSERT.")));
	}
	/* the same text for every row while battledger.origin is not assigned again */
	if (origin_text_gen != bl_origin_generation())
	{
		/* made before the old one is freed: an allocation failure leaves it intact */
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		Datum		t = CStringGetTextDatum(mine);

		MemoryContextSwitchTo(old);
		if (origin_text_gen != 0)
			pfree(DatumGetPointer(origin_text));
		origin_text = t;
		origin_text_gen = bl_origin_generation();
	}
	return origin_text;
}

/*
 * The buffer a row is encoded into, kept from row to row: a bulk load paid
 * initStringInfo()'s 1 kB palloc for every row.  Nothing runs between a
 * row's encoding and its hash that could chain another row (the encoder
 * calls only type output functions and the syscache), so one buffer serves
 * every call; a row's error leaves it to be reset by the next.  A buffer
 * grown past 64 kB by a wide row is given back rather than kept.
 */
static StringInfoData row_buf = {NULL, 0, 0, 0};

static void
row_buf_reset(void)
{
	if (row_buf.data == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		initStringInfo(&row_buf);
		MemoryContextSwitchTo(old);
	}
	else
		resetStringInfo(&row_buf);
}

static void
row_buf_trim(void)
{
	if (row_buf.maxlen > 65536)
	{
		pfree(row_buf.data);
		row_buf.data = NULL;
	}
}

void
check_trigger_context(FunctionCallInfo fcinfo, const char *fname)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() must be called as a trigger", fname)));
	if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() must be a BEFORE INSERT FOR EACH ROW trigger", fname)));
}

/*
 * A row pg_restore COPYs into a ledger table under battledger.restore: the
 * history as dumped, its origin's (another member's too), position, link,
 * time and signature kept.  Judging it anew would refuse what was valid
 * when written (a key revoked since, the registry's rules on rows restored
 * out of their order) and write a new hash, time and log entry for a row
 * the restored log already holds.  Only its hash is checked against its
 * content here: a dump edited by hand is refused row by row; the links,
 * keys and signatures are verify()'s, once every table is back.
 */
static Datum
restore_row(Relation rel, LedgerRel *lr, HeapTuple tup)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Datum	   *values = palloc(desc->natts * (sizeof(Datum) + sizeof(bool)));
	bool	   *nulls = (bool *) (values + desc->natts);
	const int	cols[] = {lr->origin_attno, lr->seq_attno, lr->prev_attno, lr->hash_attno};
	Hash256		hash;

	heap_deform_tuple(tup, desc, values, nulls);
	for (int i = 0; i < (int) lengthof(cols); i++)
		if (nulls[cols[i] - 1])
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("restored row of ledger table \"%s\" has no \"%s\"", RelationGetRelationName(rel),
							NameStr(TupleDescAttr(desc, cols[i] - 1)->attname)),
					 errdetail("With battledger.restore on, rows keep the ledger columns they were dumped with."),
					 errhint("Restore a dump of the whole database; write new rows with battledger.restore off.")));
	row_buf_reset();
	row_encode(lr->encoder, values, nulls, &row_buf);
	chain_hash(DatumGetHash256P(values[lr->prev_attno - 1])->bytes, DatumGetInt64(values[lr->seq_attno - 1]),
			   row_buf.data, row_buf.len, hash.bytes);
	row_buf_trim();
	if (memcmp(hash.bytes, DatumGetHash256P(values[lr->hash_attno - 1])->bytes, BL_HASH_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_ROW_REJECTED),
				 errmsg("restored row %s/%lld of ledger table \"%s\" does not match its hash",
						TextDatumGetCString(values[lr->origin_attno - 1]),
						(long long) DatumGetInt64(values[lr->seq_attno - 1]), RelationGetRelationName(rel)),
				 errdetail("Its content was changed after it was chained: the dump is not the ledger's."),
				 errhint("Restore an unaltered dump.")));
	pfree(values);
	return PointerGetDatum(tup);
}

/* battledger._chain_trigger() RETURNS trigger */
PG_FUNCTION_INFO_V1(battledger_chain_trigger);
Datum
battledger_chain_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	LedgerRel  *lr;
	HeapTuple	tup;
	Datum	   *values;
	bool	   *nulls;
	Datum		key = (Datum) 0;
	int64		seq = 0;
	Hash256		prev;
	Hash256		hash;
	HeapTuple	newtup;
	Datum		origin;
	TimestampTz now = 0;
	TimestampTz head_at = DT_NOBEGIN;
	uint32		keyhash;
	HeadHint   *hint;
	uint64		hint_gen;
	StmtHead   *slot;
	uint64		slot_epoch;
	bool		may_cache;

	check_trigger_context(fcinfo, "battledger_chain_trigger");
	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	lr = ledger_rel_get(rel);
	if (lr->late_trigger)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("trigger \"%s\" on ledger table \"%s\" fires after the chain trigger",
						lr->late_trigger, RelationGetRelationName(rel)),
				 errdetail("BEFORE INSERT triggers fire in name order; a row changed after it was hashed would no longer verify."),
				 errhint("Rename the trigger so that its name sorts before \"%s\".",
						 LEDGER_CHAIN_TRIGGER)));

	tup = td->tg_trigtuple;
	if (bl_restore)
		return restore_row(rel, lr, tup);
	/* one allocation for both (bulk loads paid one palloc a row for each) */
	values = palloc(desc->natts * (sizeof(Datum) + sizeof(bool)));
	nulls = (bool *) (values + desc->natts);
	heap_deform_tuple(tup, desc, values, nulls);

	if (lr->chain_attno)
	{
		if (nulls[lr->chain_attno - 1])
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("chain column \"%s\" of ledger table \"%s\" cannot be null",
							NameStr(TupleDescAttr(desc, lr->chain_attno - 1)->attname),
							RelationGetRelationName(rel))));
		key = values[lr->chain_attno - 1];
	}

	origin = local_row_origin(rel, lr, values, nulls);
	values[lr->origin_attno - 1] = origin;
	nulls[lr->origin_attno - 1] = false;

	/* a key registered here is never one anybody could sign under (key_event only) */
	key_row_check_new(lr, desc, values, nulls);

	/* Signature first: a refused row takes no lock and leaves no trace. */
	if (lr->signer_roles)
	{
		/* the statement's time: a transaction opened before a revocation gains nothing */
		now = GetCurrentStatementStartTimestamp();
		sign_check_new_row(rel, lr, values, nulls, now);
	}

	keyhash = chain_key_hash(lr, key);
	may_cache = cache_ok || unhooked_top_level_ok();
	slot_epoch = run_epoch;
	slot = stmt_head(lr, keyhash, key, may_cache);
	/*
	 * A head this statement cached was made under the chain's lock, which is
	 * held to the end of the transaction: only a subtransaction abort could
	 * have released it, and none can abort the statement's own level between
	 * two of its rows (a nested statement voids the cache first).
	 */
	if (slot && slot->valid)
	{
		seq = slot->seq + 1;
		memcpy(prev.bytes, slot->hash.bytes, BL_HASH_LEN);
		head_at = slot->at;
		hint = slot->hint_gen == head_hints_gen ? slot->hint : NULL;
		if (hint == NULL)
			hint = head_hint(lr->relid, keyhash);
	}
	else
	{
		lock_chain(lr, keyhash);
		hint = head_hint(lr->relid, keyhash);
		if ((hint->seq > 0 && chain_head(rel, lr, origin, key, hint->seq, &seq, &prev, &head_at)) ||
			chain_head(rel, lr, origin, key, 0, &seq, &prev, &head_at))
			seq++;
		else
		{
			seq = 1;
			memcpy(prev.bytes, zero_hash, BL_HASH_LEN);
		}
	}
	hint->seq = seq;
	hint_gen = head_hints_gen;

	if (lr->signer_roles)
	{
		/*
		 * ledger_at is the server's time, not signed, but covered by the chain
		 * hash.  A statement that waited for the chain lock may have started
		 * before its predecessor's: a row never predates its predecessor, so
		 * that (ledger_at, ledger_seq) orders a chain as its positions do.
		 */
		values[lr->at_attno - 1] = TimestampTzGetDatum(Max(now, head_at));
		nulls[lr->at_attno - 1] = false;
		/*
		 * The key is judged at ledger_at: on every member, so here too.  The
		 * signature was verified above, over bytes that leave ledger_at out.
		 */
		if (head_at > now)
			sign_check_new_row_key(rel, lr, values, nulls, head_at);
	}

	/* The hashed buffer is prev || seq || row bytes; encode straight after the prefix. */
	row_buf_reset();
	row_encode(lr->encoder, values, nulls, &row_buf);
	chain_hash(prev.bytes, seq, row_buf.data, row_buf.len, hash.bytes);
	row_buf_trim();

	/*
	 * The stored row: the values deformed above with the ledger columns set
	 * (origin, and ledger_at when signed, already are), formed once.  This is
	 * what heap_modify_tuple_by_cols() would return, without deforming the
	 * row a second time.  heap_form_tuple() copies prev and hash.
	 */
	values[lr->seq_attno - 1] = Int64GetDatum(seq);
	nulls[lr->seq_attno - 1] = false;
	values[lr->prev_attno - 1] = PointerGetDatum(&prev);
	nulls[lr->prev_attno - 1] = false;
	values[lr->hash_attno - 1] = PointerGetDatum(&hash);
	nulls[lr->hash_attno - 1] = false;
	newtup = heap_form_tuple(desc, values, nulls);
	newtup->t_data->t_ctid = tup->t_data->t_ctid;
	newtup->t_self = tup->t_self;
	newtup->t_tableOid = tup->t_tableOid;

	/*
	 * Remembered only now that the row will be written as computed, and only
	 * if no nested statement ran since the slot was found (it would have
	 * voided the statement's heads, this slot with them).
	 */
	if (slot && run_epoch == slot_epoch && stmt_heads_epoch == slot_epoch)
	{
		slot->seq = seq;
		slot->at = lr->signer_roles ? DatumGetTimestampTz(values[lr->at_attno - 1]) : 0;
		memcpy(slot->hash.bytes, hash.bytes, BL_HASH_LEN);
		slot->hint = hint_gen == head_hints_gen ? hint : NULL;
		slot->hint_gen = hint_gen;
		slot->valid = true;
	}
	/*
	 * Queued for the log from here rather than read back from a transition
	 * table at the statement's end.  A row of a statement that may cache
	 * heads is certain to be inserted or to end the statement with an error
	 * (which also takes its queue entry); any other row is checked against
	 * the table once its statement is done (log_entries.c).
	 */
	if (lr->log_queued)
		log_queue_record(lr, origin, key, seq, &prev, &hash, may_cache);

	return PointerGetDatum(newtup);
}

/*
 * Statement-level BEFORE UPDATE OR DELETE OR TRUNCATE trigger, enabled
 * ALWAYS so that session_replication_role = replica does not switch it off.
 */
/* battledger._refuse_trigger() RETURNS trigger */
PG_FUNCTION_INFO_V1(battledger_refuse_trigger);
Datum
battledger_refuse_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const char *op;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("battledger_refuse_trigger() must be called as a trigger")));
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		op = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		op = "DELETE";
	else if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		op = "TRUNCATE";
	else
		op = "this operation";

	ereport(ERROR,
			(errcode(ERRCODE_LEDGER_APPEND_ONLY),
			 errmsg("%s is not allowed on ledger table \"%s\"", op,
					RelationGetRelationName(td->tg_relation)),
			 errdetail("Ledger tables are append-only: history is never rewritten."),
			 errhint("Record a correction as a new row that references the row it corrects.")));
	PG_RETURN_NULL();
}

/*
 * battledger.chain_hash(prev hash256, seq bigint, content bytea) RETURNS hash256
 */
PG_FUNCTION_INFO_V1(battledger_chain_hash);
Datum
battledger_chain_hash(PG_FUNCTION_ARGS)
{
	Hash256    *prev = PG_GETARG_HASH256_P(0);
	int64		seq = PG_GETARG_INT64(1);
	bytea	   *content = PG_GETARG_BYTEA_PP(2);
	Hash256    *out = palloc(sizeof(Hash256));

	chain_hash(prev->bytes, seq, VARDATA_ANY(content), VARSIZE_ANY_EXHDR(content),
			   out->bytes);
	PG_RETURN_HASH256_P(out);
}

/*
 * The C names of the SQL trigger functions follow one pattern,
 * battledger_<name>_trigger for battledger._<name>_trigger().  The install
 * scripts of 0.1.0 to 0.4.0 (which upgrade.sh installs with this library)
 * name the older symbol: it is the same function.
 */
PG_FUNCTION_INFO_V1(ledger_chain_trigger);
Datum
ledger_chain_trigger(PG_FUNCTION_ARGS)
{
	return battledger_chain_trigger(fcinfo);
}

PG_FUNCTION_INFO_V1(ledger_refuse_trigger);
Datum
ledger_refuse_trigger(PG_FUNCTION_ARGS)
{
	return battledger_refuse_trigger(fcinfo);
}
