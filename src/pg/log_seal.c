/*
 * log_seal.c — seal(): integrating queued rows into the tree, re-queueing
 * rows lost from the unlogged queue, and signing checkpoints.  The bulk write
 * path it takes when allowed is in log_bulk.c.  Part of the transparency log
 * (log.c); log_internal.h joins its files.
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
#include "utils/guc.h"
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
#include "pgutil.h"

#define SEAL_CHUNK 50000

typedef struct SealBuf
{
	MemoryContext cxt;			/* the chunk's: SPI calls return in their own */
	int			nleaves;
	Datum	   *leaf_index,
			   *tbl,
			   *seq,
			   *prev,
			   *row_hash,
			   *leaf_hash;
	TileEdge   *te;				/* the tiles; NULL before 0.6.0: nodes below */
	int			nnodes;
	int			cap_nodes;
	Datum	   *node_level,
			   *node_idx,
			   *node_hash;
} SealBuf;

/*
 * The SPI path's tile and block writers: one INSERT per row (a tile per
 * 65536 leaves, a block per 16 nodes of a block level, and the grown right
 * edges at the end of a seal), through the statement so that triggers and
 * row security on log_tile and log_block apply.
 */
static void
seal_row_write(const char *query, int level, int64 idx, int width, const uint8 *hashes)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			types[4] = {INT4OID, INT8OID, INT4OID, BYTEAOID};
	Datum		args[4];

	args[0] = Int32GetDatum(level);
	args[1] = Int64GetDatum(idx);
	args[2] = Int32GetDatum(width);
	args[3] = PointerGetDatum(tile_bytea(hashes, width));
	if (SPI_execute_with_args(query, 4, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store a row of the log's tree");
	MemoryContextSwitchTo(cxt);	/* SPI returns in its own context */
}

static void
seal_tile_write(void *ctx, int level, int64 idx, int width, const uint8 *hashes)
{
	seal_row_write("INSERT INTO battledger.log_tile (level, idx, width, hashes) VALUES ($1, $2, $3, $4)",
				   level, idx, width, hashes);
}

static void
seal_block_write(void *ctx, int level, int64 idx, int width, const uint8 *hashes)
{
	seal_row_write("INSERT INTO battledger.log_block (level, idx, width, hashes) VALUES ($1, $2, $3, $4)",
				   level, idx, width, hashes);
}

static void
seal_emit(void *ctx, int level, uint64_t index, const uint8_t hash[BL_MERKLE_HASH_LEN])
{
	SealBuf    *sb = ctx;
	Hash256    *h;

	if (sb->te)
	{
		tile_edge_emit(sb->te, level, index, hash);
		return;
	}
	/* before 0.6.0: every node above the leaves is a row of log_node */
	if (level == 0)
		return;					/* leaves are stored in log_leaf */
	if (sb->nnodes == sb->cap_nodes)
	{
		sb->cap_nodes *= 2;
		sb->node_level = repalloc(sb->node_level, sizeof(Datum) * sb->cap_nodes);
		sb->node_idx = repalloc(sb->node_idx, sizeof(Datum) * sb->cap_nodes);
		sb->node_hash = repalloc(sb->node_hash, sizeof(Datum) * sb->cap_nodes);
	}
	h = palloc(sizeof(Hash256));
	memcpy(h->bytes, hash, HASH256_LEN);
	sb->node_level[sb->nnodes] = Int32GetDatum(level);
	sb->node_idx[sb->nnodes] = Int64GetDatum((int64) index);
	sb->node_hash[sb->nnodes] = PointerGetDatum(h);
	sb->nnodes++;
}

static Datum
hash256_array(Datum *d, int n)
{
	return PointerGetDatum(construct_array(d, n, hash256_type_oid(), HASH256_LEN, false, TYPALIGN_CHAR));
}

static void
seal_store(SealBuf *sb)
{
	Oid			leaf_types[6];
	Datum		leaf_args[6];
	Oid			node_types[3];
	Datum		node_args[3];
	Oid			hash_array_type = get_array_type(hash256_type_oid());

	leaf_types[0] = INT8ARRAYOID;
	leaf_types[1] = TEXTARRAYOID;
	leaf_types[2] = INT8ARRAYOID;
	leaf_types[3] = leaf_types[4] = leaf_types[5] = hash_array_type;
	leaf_args[0] = PointerGetDatum(construct_array(sb->leaf_index, sb->nleaves, INT8OID, 8, true, TYPALIGN_DOUBLE));
	leaf_args[1] = PointerGetDatum(construct_array(sb->tbl, sb->nleaves, TEXTOID, -1, false, TYPALIGN_INT));
	leaf_args[2] = PointerGetDatum(construct_array(sb->seq, sb->nleaves, INT8OID, 8, true, TYPALIGN_DOUBLE));
	leaf_args[3] = hash256_array(sb->prev, sb->nleaves);
	leaf_args[4] = hash256_array(sb->row_hash, sb->nleaves);
	leaf_args[5] = hash256_array(sb->leaf_hash, sb->nleaves);
	if (SPI_execute_with_args("INSERT INTO battledger.log_leaf (leaf_index, tbl, seq, prev, row_hash, leaf_hash) "
							  "SELECT * FROM unnest($1, $2, $3, $4, $5, $6)",
							  6, leaf_types, leaf_args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store log leaves");
	MemoryContextSwitchTo(sb->cxt);
	if (sb->nnodes == 0)
		return;
	node_types[0] = INT4ARRAYOID;
	node_types[1] = INT8ARRAYOID;
	node_types[2] = hash_array_type;
	node_args[0] = PointerGetDatum(construct_array(sb->node_level, sb->nnodes, INT4OID, 4, true, TYPALIGN_INT));
	node_args[1] = PointerGetDatum(construct_array(sb->node_idx, sb->nnodes, INT8OID, 8, true, TYPALIGN_DOUBLE));
	node_args[2] = hash256_array(sb->node_hash, sb->nnodes);
	if (SPI_execute_with_args("INSERT INTO battledger.log_node (level, idx, hash) SELECT * FROM unnest($1, $2, $3)",
							  3, node_types, node_args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store log nodes");
	MemoryContextSwitchTo(sb->cxt);
}

/* Integrate up to min(SEAL_CHUNK, limit) queued rows; returns how many. */
static int64
seal_chunk(bl_compact *c, TileEdge *te, MemoryContext chunkcxt, int64 limit)
{
	MemoryContext old = MemoryContextSwitchTo(chunkcxt);
	SealBuf		sb;
	uint64		n;
	StringInfoData leaf;
	SPITupleTable *pending;

	if (SPI_execute(psprintf("DELETE FROM battledger.log_pending WHERE ctid = ANY (ARRAY("
							 "SELECT ctid FROM battledger.log_pending LIMIT %lld)) "
							 "RETURNING tbl, seq, prev, row_hash", (long long) Min(limit, SEAL_CHUNK)),
					false, 0) != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "could not read battledger.log_pending");
	MemoryContextSwitchTo(chunkcxt);	/* SPI returns in its own context */
	n = SPI_processed;
	if (n == 0)
	{
		SPI_freetuptable(SPI_tuptable);
		MemoryContextSwitchTo(old);
		return 0;
	}
	pending = SPI_tuptable;
	memset(&sb, 0, sizeof(sb));
	sb.cxt = chunkcxt;
	sb.nleaves = (int) n;
	sb.leaf_index = palloc(sizeof(Datum) * n);
	sb.tbl = palloc(sizeof(Datum) * n);
	sb.seq = palloc(sizeof(Datum) * n);
	sb.prev = palloc(sizeof(Datum) * n);
	sb.row_hash = palloc(sizeof(Datum) * n);
	sb.leaf_hash = palloc(sizeof(Datum) * n);
	sb.te = te;
	sb.cap_nodes = te ? 1 : (int) n + 64;
	sb.node_level = palloc(sizeof(Datum) * sb.cap_nodes);
	sb.node_idx = palloc(sizeof(Datum) * sb.cap_nodes);
	sb.node_hash = palloc(sizeof(Datum) * sb.cap_nodes);
	initStringInfo(&leaf);

	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	t = pending->vals[i];
		TupleDesc	d = pending->tupdesc;
		bool		isnull;
		text	   *tbl = DatumGetTextPP(SPI_getbinval(t, d, 1, &isnull));
		int64		seq = DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
		Hash256    *prev = DatumGetHash256P(SPI_getbinval(t, d, 3, &isnull));
		Hash256    *row = DatumGetHash256P(SPI_getbinval(t, d, 4, &isnull));
		Hash256    *lh = palloc(sizeof(Hash256));

		resetStringInfo(&leaf);
		log_leaf_bytes(&leaf, VARDATA_ANY(tbl), VARSIZE_ANY_EXHDR(tbl), seq, prev->bytes, row->bytes);
		if (bl_merkle_leaf_hash(leaf.data, leaf.len, lh->bytes) != 0)
			elog(ERROR, "could not hash a log leaf");
		sb.leaf_index[i] = Int64GetDatum((int64) c->size);
		sb.tbl[i] = PointerGetDatum(tbl);
		sb.seq[i] = Int64GetDatum(seq);
		sb.prev[i] = PointerGetDatum(prev);
		sb.row_hash[i] = PointerGetDatum(row);
		sb.leaf_hash[i] = PointerGetDatum(lh);
		if (bl_compact_append(c, lh->bytes, seal_emit, &sb) != 0)
			elog(ERROR, "could not extend the log's tree");
	}
	seal_store(&sb);
	/* the chunk's queued rows, its arrays and its inserts' results all go now */
	SPI_freetuptable(pending);
	MemoryContextSwitchTo(old);
	MemoryContextReset(chunkcxt);
	return (int64) n;
}


bool
queue_intact(bool read_only)
{
	Oid			nsp = get_namespace_oid("battledger", false);

	if (!OidIsValid(get_relname_relid("log_pending_intact", nsp)))
		return true;
	if (SPI_execute("SELECT 1 FROM battledger.log_pending_intact", read_only, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.log_pending_intact");
	return SPI_processed > 0;
}

/*
 * The queue is an unlogged table (no WAL per queued row): a crash, a promoted
 * standby or a restored base backup leaves it empty, and log_pending_intact
 * with it.  Then every row of this member (or of the empty origin) that is in
 * no leaf and not queued again since is queued from its table: the tables,
 * which are in WAL, are the record; the queue only says where to look.  Rows
 * are read as the table's owner in a restricted operation (as verify_log()
 * reads them); a row whose stored hash does not recompute from its values is
 * not queued, so verify() and verify_log() keep reporting it.  Caller holds
 * the seal lock and is connected to SPI.  Returns the number of rows queued,
 * or -1 if the queue was intact.
 */
static int64
requeue_if_lost(void)
{
	uint64		ntables;
	Oid		   *relids;
	char	  **names;
	Relation	pending;
	int64		queued = 0;
	int			nestlevel;

	if (queue_intact(false))
		return -1;
	ereport(LOG,
			(errmsg("battledger: the log queue was reset (crash, promotion or restored base backup); re-queuing unsealed rows from the ledger tables")));
	if (SPI_execute("SELECT r.tbl::pg_catalog.oid, n.nspname || '.' || c.relname "
					"FROM battledger.ledger_tables r JOIN pg_catalog.pg_class c ON c.oid = r.tbl "
					"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ORDER BY 1",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.ledger_tables");
	ntables = SPI_processed;
	relids = palloc(sizeof(Oid) * Max(ntables, 1));
	names = palloc(sizeof(char *) * Max(ntables, 1));
	for (uint64 i = 0; i < ntables; i++)
	{
		bool		isnull;

		relids[i] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		names[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
	}
	pending = log_pending_open();

	/*
	 * No nested loop for the queries below (f23).  The planner takes the
	 * hash check in their WHERE clause for a selective one (a function's
	 * equality: 0.5%), and right after a crash the table's statistics may
	 * predate its newest rows: it then expected a few rows of the table and
	 * put a materialised scan of log_leaf inside a nested loop, rescanned
	 * for every row: quadratic, hours for 150,000 rows, while the member
	 * could not seal.  Hash anti joins are linear whatever the estimates.
	 */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("enable_nestloop", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	for (uint64 i = 0; i < ntables; i++)
	{
		Oid			owner = bl_rel_owner(relids[i]);
		Oid			types[2] = {TEXTOID, TEXTOID};
		Datum		args[2] = {CStringGetTextDatum(names[i]), CStringGetTextDatum(local_origin())};
		text	   *qualname = cstring_to_text(names[i]);
		char	   *q;
		Portal		portal;
		Oid			save_userid;
		int			save_sec;

		/* silently filtered rows would be rows silently left out of the log */
		if (check_enable_rls(relids[i], owner, true) == RLS_ENABLED)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("cannot re-queue the rows of \"%s\": row-level security applies to its owner", names[i]),
					 errdetail("The log queue was reset and must be rebuilt from every row of every ledger table."),
					 errhint("ALTER TABLE %s NO FORCE ROW LEVEL SECURITY, then run seal() again.", names[i])));
		q = psprintf("SELECT t.ledger_seq, t.ledger_prev, t.ledger_hash FROM ONLY %s t "
					 "WHERE t.ledger_origin IN ($2, '') "
					 "  AND t.ledger_hash OPERATOR(battledger.=) battledger.chain_hash(t.ledger_prev, t.ledger_seq, battledger.row_bytes(t.*)) "
					 "  AND NOT EXISTS (SELECT 1 FROM battledger.log_leaf l WHERE l.row_hash OPERATOR(battledger.=) t.ledger_hash "
					 "                  AND l.tbl = $1 AND l.seq = t.ledger_seq) "
					 "  AND NOT EXISTS (SELECT 1 FROM battledger.log_pending p WHERE p.row_hash OPERATOR(battledger.=) t.ledger_hash "
					 "                  AND p.tbl = $1 AND p.seq = t.ledger_seq)",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relids[i])),
												get_rel_name(relids[i])));
		GetUserIdAndSecContext(&save_userid, &save_sec);
		SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
		portal = SPI_cursor_open_with_args(NULL, q, 2, types, args, NULL, false, 0);
		for (;;)
		{
			SPI_cursor_fetch(portal, true, 10000);
			if (SPI_processed == 0)
				break;
			for (uint64 r = 0; r < SPI_processed; r++)
			{
				HeapTuple	t = SPI_tuptable->vals[r];
				TupleDesc	d = SPI_tuptable->tupdesc;
				bool		n1,
							n2,
							n3;
				Datum		seq = SPI_getbinval(t, d, 1, &n1);
				Datum		prev = SPI_getbinval(t, d, 2, &n2);
				Datum		hash = SPI_getbinval(t, d, 3, &n3);

				if (n1 || n2 || n3)
					continue;
				log_enqueue(pending, qualname, DatumGetInt64(seq), DatumGetHash256P(prev), DatumGetHash256P(hash));
				queued++;
			}
			SPI_freetuptable(SPI_tuptable);
			CHECK_FOR_INTERRUPTS();
		}
		SPI_cursor_close(portal);
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	AtEOXact_GUC(true, nestlevel);
	table_close(pending, NoLock);
	CommandCounterIncrement();	/* the count that follows sees the rows queued here */
	if (SPI_execute("INSERT INTO battledger.log_pending_intact DEFAULT VALUES", false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not mark the log queue intact");
	ereport(LOG,
			(errmsg("battledger: re-queued %lld unsealed rows for the log", (long long) queued)));
	return queued;
}

/* Sign and store a checkpoint for (size, root); returns the note. */
static char *
sign_checkpoint(int64 size, const uint8 *root)
{
	const char *origin = log_origin();
	void	   *key = log_signing_key(false);
	char	   *body = bl_checkpoint_body(origin, (uint64) size, root, NULL, 0);
	char	   *note;
	char	   *result;
	Oid			types[3] = {INT8OID, hash256_type_oid(), TEXTOID};
	Datum		args[3];
	Hash256    *r = palloc(sizeof(Hash256));

	if (body == NULL)
		elog(ERROR, "could not format a checkpoint");
	note = bl_note_sign(body, strlen(body), origin, key);
	free(body);
	if (note == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not sign the checkpoint")));
	result = pstrdup(note);
	free(note);
	memcpy(r->bytes, root, HASH256_LEN);
	args[0] = Int64GetDatum(size);
	args[1] = PointerGetDatum(r);
	args[2] = CStringGetTextDatum(result);
	if (SPI_execute_with_args("INSERT INTO battledger.checkpoint (tree_size, root, note) VALUES ($1, $2, $3)",
							  3, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store the checkpoint");
	return result;
}

/* leaves a seal covers with one checkpoint, at most (battledger.seal_checkpoint_every) */
int			bl_seal_checkpoint_every = 100000;

/* battledger.seal_bulk_write: the fast path below, or the SPI statements (for comparison) */
bool		bl_seal_bulk_write = true;

PG_FUNCTION_INFO_V1(battledger_seal);
Datum
battledger_seal(PG_FUNCTION_ARGS)
{
	int			nest;
	int64		size;
	int64		cp_size = 0;
	uint8		cp_root[HASH256_LEN];
	uint8		root[HASH256_LEN];
	bool		have_cp;
	bl_compact	c;
	NodeSet    *ns = palloc0(sizeof(NodeSet));
	size_t		nn;
	MemoryContext chunkcxt;
	char	   *result;
	char	   *last_note = NULL;
	int64		last_signed;
	MemoryContext caller = CurrentMemoryContext;

	/*
	 * A checkpoint handed out by a transaction that then rolls back would be
	 * a signed note for leaves that do not exist; a later seal could sign a
	 * different tree of the same size.  Sealing is its own transaction.
	 */
	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("seal() cannot run inside a transaction block"),
				 errhint("Call it on its own: SELECT battledger.seal();")));
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("seal() must run at READ COMMITTED isolation"),
				 errdetail("It takes every committed queued row, which a transaction snapshot would hide."),
				 errhint("Run it in a session at READ COMMITTED: SET default_transaction_isolation = 'read committed'; SELECT battledger.seal();")));
	origin_claim(log_origin());
	(void) log_signing_key(false);

	/* one sealer at a time; inserts never wait for it */
	bl_advisory_xact_lock(MyDatabaseId, 0, 0, BL_LOCK_SEAL);

	nest = bl_spi_connect();
	size = log_size();
	last_signed = size;
	have_cp = latest_checkpoint(&cp_size, cp_root, NULL);
	if ((have_cp && cp_size != size) || (!have_cp && size != 0))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the log holds %lld leaves but its last checkpoint covers %lld",
						(long long) size, (long long) cp_size),
				 errhint("Run battledger.verify_log().  If a superuser switched the maintenance of the log's indexes off and on again (pg_index), REINDEX TABLE battledger.log_leaf first.")));

	/* resume the compact range from the stored tree, and check it against the last checkpoint */
	if (bl_merkle_root_nodes((uint64) size, ns->levels, ns->idx, &nn) != 0)
		elog(ERROR, "bad tree size");
	ns->n = (int) nn;
	ns->from_hashes = true;		/* the leaves and hashes tile_edge_load() extends */
	nodeset_fetch(ns);
	if (bl_compact_from_nodes(&c, (uint64) size, nodeset_get, ns) != 0)
		tree_error("a subtree of the last checkpoint is missing");
	bl_compact_root(&c, root);
	if (have_cp && memcmp(root, cp_root, HASH256_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the stored tree does not match the last signed checkpoint"),
				 errdetail("Refusing to sign a checkpoint inconsistent with one signed before."),
				 errhint("Run battledger.verify_log().")));

	(void) requeue_if_lost();

	/*
	 * Take what was queued when the call began, and no more: under inserts
	 * faster than sealing, each chunk would otherwise find new rows and the
	 * call would never return.  Rows queued meanwhile wait for the next seal.
	 */
	if (SPI_execute("SELECT count(*) FROM battledger.log_pending", false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.log_pending");
	{
		bool		isnull;
		int64		queued = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		int64		done = 0;
		int64		n;
		BlProgress	progress;
		bool		fast = bl_seal_bulk_write && seal_fast_allowed();
		SealFast	sf;
		TileEdge   *te = NULL;

		bl_progress_start(&progress, "seal", "leaves");
		chunkcxt = AllocSetContextCreate(CurrentMemoryContext, "battledger seal", ALLOCSET_DEFAULT_SIZES);
		if (fast)
			seal_fast_begin(&sf, (int64) c.size);	/* its snapshot bounds what this call takes */
		else if (log_tiled())
		{
			te = palloc(sizeof(TileEdge));
			tile_edge_load(te, (int64) c.size, seal_tile_write, seal_block_write, NULL);
		}
		for (;;)
		{
			int64		room = bl_seal_checkpoint_every - ((int64) c.size - last_signed);

			if (fast)
			{
				if (sf.done)
					break;
				n = seal_fast_chunk(&sf, &c, chunkcxt, Min(room, SEAL_CHUNK));
			}
			else if (done < queued)
				n = seal_chunk(&c, te, chunkcxt, Min(queued - done, room));
			else
				break;
			if (n <= 0)
				break;
			done += n;
			bl_progress_step(&progress, done, Max(queued, done));
			CHECK_FOR_INTERRUPTS();
			/*
			 * A checkpoint at least every seal_checkpoint_every leaves: a witness
			 * holds a seal's leaves until their checkpoint arrives (in this same
			 * transaction), so a large backlog is witnessed in bounded pieces.
			 */
			if ((int64) c.size - last_signed >= bl_seal_checkpoint_every &&
				(fast ? !sf.done : done < queued))
			{
				if (fast)
					seal_fast_flush(&sf);	/* the leaves precede their checkpoint */
				bl_compact_root(&c, root);
				last_note = sign_checkpoint((int64) c.size, root);
				last_signed = (int64) c.size;
			}
		}
		if (fast)
			seal_fast_end(&sf);
		else if (te)
		{
			tile_edge_finish(te);
			CommandCounterIncrement();
		}
	}

	if ((int64) c.size == last_signed && last_note != NULL)
		result = MemoryContextStrdup(caller, last_note);	/* the backlog ended on a piece's checkpoint */
	else if ((int64) c.size == size && have_cp)
	{
		/* nothing new: the latest checkpoint stands */
		char	   *note;

		latest_checkpoint(&cp_size, cp_root, &note);
		result = MemoryContextStrdup(caller, note);
	}
	else
	{
		bl_compact_root(&c, root);
		if (have_cp && cp_size > 0)
		{
			/*
			 * Belt and braces: prove the new tree extends the old one from the
			 * stored nodes.  (From size 0 there is nothing to prove: the empty
			 * root was compared above.)
			 */
			NodeSet    *cs = palloc0(sizeof(NodeSet));
			uint8		proof[BL_MERKLE_MAX_PROOF][HASH256_LEN];
			size_t		np;

			if (bl_merkle_consistency_nodes((uint64) cp_size, c.size, cs->levels, cs->idx, &nn) != 0)
				elog(ERROR, "bad tree sizes");
			cs->n = (int) nn;
			cs->from_hashes = true;
			nodeset_fetch(cs);
			if (bl_merkle_consistency_proof((uint64) cp_size, c.size, nodeset_get, cs, proof, &np) != 0 ||
				bl_merkle_verify_consistency((uint64) cp_size, c.size, cp_root, root,
											 (const uint8_t (*)[32]) proof, np) != 1)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("the new tree is not consistent with the last signed checkpoint"),
						 errhint("Run battledger.verify_log().")));
		}
		result = MemoryContextStrdup(caller, sign_checkpoint((int64) c.size, root));
	}
	bl_spi_finish(nest);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

