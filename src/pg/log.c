/*
 * log.c — the member's transparency log.
 *
 * Every ledger row becomes one leaf of an RFC 6962 Merkle tree when sealed.
 * The log trigger queues (table, seq, prev, hash) in log_pending, an unlogged
 * table (no WAL per queued row; rebuilt from the tables after a crash); seal()
 * takes every committed queued row, assigns dense leaf indexes, stores the
 * leaf (log_leaf, level 0) and every completed perfect subtree (log_node,
 * levels >= 1), and signs a C2SP checkpoint with the key named by
 * battledger.log_key_file.  seal() writes leaves and nodes in bulk
 * (table_multi_insert and direct index inserts) unless a trigger or row
 * security on the log's tables needs the SQL statements it used before 0.5.0.
 * Proofs need O(log n) stored nodes, fetched in one query.  Before signing, seal() checks that the stored tree still yields the
 * last checkpoint's root and that the new tree is consistent with it, so the
 * log never signs a checkpoint inconsistent with an earlier one.
 */
#include "log.h"

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

#define SEAL_LOCK_CLASS 0xB1EE
#define SEAL_CHUNK 50000

char	   *bl_origin = NULL;
char	   *bl_log_key_file = NULL;

/* ---------------------------------------------------------------- queue */

static Oid
log_relid(const char *name)
{
	Oid			nsp = get_namespace_oid("battledger", false);
	Oid			relid = get_relname_relid(name, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "battledger.%s is missing", name);
	return relid;
}

/* The queue, opened once per statement by the log trigger. */
static Relation
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

static void
log_enqueue(Relation pending, text *qualname, int64 seq, const Hash256 *prev, const Hash256 *row_hash)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	HeapTuple	tup;

	values[0] = PointerGetDatum(qualname);
	values[1] = Int64GetDatum(seq);
	values[2] = PointerGetDatum(prev);
	values[3] = PointerGetDatum(row_hash);
	tup = heap_form_tuple(RelationGetDescr(pending), values, nulls);
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
	while (tuplestore_gettupleslot(td->tg_newtable, true, false, slot))
	{
		bool		n1,
					n2,
					n3;
		Datum		seq = slot_getattr(slot, seq_att, &n1);
		Datum		prev = slot_getattr(slot, prev_att, &n2);
		Datum		hash = slot_getattr(slot, hash_att, &n3);

		if (n1 || n2 || n3)
			continue;			/* not chained (only possible with the chain trigger bypassed) */
		log_enqueue(pending, qualname, DatumGetInt64(seq), DatumGetHash256P(prev), DatumGetHash256P(hash));
	}
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

/* ---------------------------------------------------------------- key */

static KeyFile log_key = {NULL, NULL};

/*
 * The Ed25519 private key in the file a setting names (cached per backend,
 * reread when the setting changes); NULL if unset and missing_ok.
 */
void *
key_file_load(KeyFile *kf, const char *path, const char *setting, bool missing_ok)
{
	FILE	   *f;
	char		buf[8192];
	size_t		n;

	if (path == NULL || path[0] == '\0')
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s is not set", setting),
				 errhint("Point it at an Ed25519 private key (PKCS#8 PEM, e.g. from \"battledger keygen\"), readable by the server.")));
	}
	if (kf->key && kf->path && strcmp(kf->path, path) == 0)
		return kf->key;
	if (kf->key)
		bl_ed25519_priv_free(kf->key);
	kf->key = NULL;
	f = AllocateFile(path, "r");
	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open key file \"%s\" (%s): %m", path, setting)));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	FreeFile(f);
	kf->key = bl_ed25519_priv_load_pem(buf, n);
	explicit_bzero(buf, sizeof(buf));
	if (kf->key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key file \"%s\" (%s) does not hold an Ed25519 private key", path, setting),
				 errhint("Generate one with \"battledger keygen --out FILE\".")));
	if (kf->path)
		pfree(kf->path);
	kf->path = MemoryContextStrdup(TopMemoryContext, path);
	return kf->key;
}

/* The log's signing key, read from battledger.log_key_file. */
static void *
log_signing_key(bool missing_ok)
{
	return key_file_load(&log_key, bl_log_key_file, "battledger.log_key_file", missing_ok);
}

static const char *
log_origin(void)
{
	if (bl_origin == NULL || bl_origin[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("battledger.origin is not set"),
				 errhint("Name this database's log, e.g. ALTER SYSTEM SET battledger.origin = 'oem.example/batteries'.")));
	if (!bl_note_key_name_valid(bl_origin, strlen(bl_origin)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("battledger.origin \"%s\" is not a valid note key name", bl_origin),
				 errdetail("It must be non-empty UTF-8 without spaces, control characters or '+'.")));
	return bl_origin;
}

const char *
local_origin(void)
{
	if (bl_origin == NULL || bl_origin[0] == '\0')
		return "";
	return log_origin();
}

/* ---------------------------------------------------------------- nodes */

/* Nodes fetched for one computation: a small open-addressed table. */
typedef struct NodeSet
{
	int			n;
	int			levels[BL_MERKLE_MAX_NODES];
	uint64		idx[BL_MERKLE_MAX_NODES];
	uint8		hash[BL_MERKLE_MAX_NODES][HASH256_LEN];
	bool		have[BL_MERKLE_MAX_NODES];
} NodeSet;

static int
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
static void
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

static void
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
static int64
log_size(void)
{
	bool		isnull;
	Datum		d;

	if (SPI_execute("SELECT coalesce(max(leaf_index) + 1, 0) FROM battledger.log_leaf", false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.log_leaf");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return DatumGetInt64(d);
}

static void
check_range(int64 v, int64 lo, int64 hi, const char *what)
{
	if (v < lo || v > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %lld is out of range", what, (long long) v),
				 errdetail("It must be between %lld and %lld.", (long long) lo, (long long) hi)));
}

static void
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
static bool
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

/* ---------------------------------------------------------------- seal */

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
	int			nnodes;
	int			cap_nodes;
	Datum	   *node_level,
			   *node_idx,
			   *node_hash;
} SealBuf;

static void
seal_emit(void *ctx, int level, uint64_t index, const uint8_t hash[BL_MERKLE_HASH_LEN])
{
	SealBuf    *sb = ctx;
	Hash256    *h;

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
}

/* Integrate up to min(SEAL_CHUNK, limit) queued rows; returns how many. */
static int64
seal_chunk(bl_compact *c, MemoryContext chunkcxt, int64 limit)
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
	sb.cap_nodes = (int) n + 64;
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

/*
 * The fast path of seal(): the queue is read with one heap scan and its rows
 * deleted in place, and leaves and nodes are written with table_multi_insert
 * (one WAL record per page, as COPY does) and their index entries inserted
 * directly, instead of a DELETE ... RETURNING and two INSERT ... SELECT
 * unnest(...) through SPI per chunk, whose tuplestores, per-row executor
 * work and per-row WAL records were most of seal()'s time (docs/benchmarks.md).
 * It writes exactly the rows the SPI path writes.  It is taken only when the
 * SPI path would do nothing more: no INSERT trigger on log_leaf or log_node
 * and no DELETE trigger on log_pending would fire (a consortium member's
 * ENABLE REPLICA arrival trigger does not fire in a seal), no row-level
 * security applies, and the caller holds the privileges the statements
 * would check.  Otherwise seal() keeps the SPI path, which applies all of it.
 */
#define BULK_SLOTS 1000

typedef struct BulkRel
{
	Relation	rel;
	ResultRelInfo *rri;
	EState	   *estate;
	BulkInsertState bis;
	CommandId	cid;
	int			n;
	TupleTableSlot *slots[BULK_SLOTS];
} BulkRel;

/*
 * Find the named columns of one of the log's tables (as a statement naming
 * them would), checking their types; attidx[i] is the 0-based position of
 * names[i].  Returns whether the table has exactly these columns in this
 * order, nothing more: only then may rows be formed or read by position.
 */
static bool
log_columns(Relation rel, const char *const *names, const Oid *types, int n, int *attidx)
{
	TupleDesc	d = RelationGetDescr(rel);
	bool		exact = d->natts == n;

	for (int i = 0; i < n; i++)
	{
		attidx[i] = -1;
		for (int a = 0; a < d->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(d, a);

			if (!att->attisdropped && strcmp(NameStr(att->attname), names[i]) == 0)
			{
				attidx[i] = a;
				break;
			}
		}
		if (attidx[i] < 0 || TupleDescAttr(d, attidx[i])->atttypid != types[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("column \"%s\" of \"%s\" is missing or has another type",
							names[i], RelationGetRelationName(rel)),
					 errhint("Reinstall the extension's tables from a backup; run battledger.verify_log().")));
		exact = exact && attidx[i] == i;
	}
	return exact;
}

static const char *const leaf_cols[6] = {"leaf_index", "tbl", "seq", "prev", "row_hash", "leaf_hash"};
static const char *const node_cols[3] = {"level", "idx", "hash"};
static const char *const pending_cols[4] = {"tbl", "seq", "prev", "row_hash"};

static void
leaf_col_types(Oid *t)
{
	t[0] = INT8OID;
	t[1] = TEXTOID;
	t[2] = INT8OID;
	t[3] = t[4] = t[5] = hash256_type_oid();
}

static void
node_col_types(Oid *t)
{
	t[0] = INT4OID;
	t[1] = INT8OID;
	t[2] = hash256_type_oid();
}

/* Whether a trigger of this event (TRIGGER_TYPE_INSERT, ...) on rel would fire now. */
static bool
triggers_would_fire(Relation rel, int16 event)
{
	TriggerDesc *td = rel->trigdesc;

	if (td == NULL)
		return false;
	for (int i = 0; i < td->numtriggers; i++)
	{
		Trigger    *t = &td->triggers[i];

		if ((t->tgtype & event) == 0 || t->tgenabled == TRIGGER_DISABLED)
			continue;
		if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA
			? t->tgenabled == TRIGGER_FIRES_ON_ORIGIN
			: t->tgenabled == TRIGGER_FIRES_ON_REPLICA)
			continue;
		return true;
	}
	return false;
}

/* Whether the fast path writes what the SPI statements would (see above). */
static bool
seal_fast_allowed(void)
{
	const char *names[3] = {"log_pending", "log_leaf", "log_node"};
	AclMode		modes[3] = {ACL_SELECT | ACL_DELETE, ACL_INSERT, ACL_INSERT};
	int16		events[3] = {TRIGGER_TYPE_DELETE, TRIGGER_TYPE_INSERT, TRIGGER_TYPE_INSERT};
	bool		ok = true;

	for (int i = 0; i < 3 && ok; i++)
	{
		Oid			relid = log_relid(names[i]);
		Relation	rel;

		if (pg_class_aclcheck(relid, GetUserId(), modes[i]) != ACLCHECK_OK ||
			check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
			return false;
		rel = table_open(relid, RowExclusiveLock);
		ok = !triggers_would_fire(rel, events[i]);
		/* rows are formed and read by position: only on the shape installed */
		if (ok)
		{
			Oid			types[6];
			int			attidx[6];

			if (i == 0)
			{
				leaf_col_types(types);	/* the queue's four are the leaf's 2..5 */
				ok = log_columns(rel, pending_cols, types + 1, 4, attidx);
			}
			else if (i == 1)
			{
				leaf_col_types(types);
				ok = log_columns(rel, leaf_cols, types, 6, attidx);
			}
			else
			{
				node_col_types(types);
				ok = log_columns(rel, node_cols, types, 3, attidx);
			}
		}
		table_close(rel, NoLock);
	}
	return ok;
}

static void
bulk_open(BulkRel *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->rel = table_open(log_relid(name), RowExclusiveLock);
	b->estate = CreateExecutorState();
	b->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(b->rri, b->rel, 1, NULL, 0);
	ExecOpenIndices(b->rri, false);
	b->bis = GetBulkInsertState();
	b->cid = GetCurrentCommandId(true);
	for (int i = 0; i < BULK_SLOTS; i++)
		b->slots[i] = table_slot_create(b->rel, NULL);
}

/* Insert the buffered rows and their index entries. */
static void
bulk_flush(BulkRel *b)
{
	if (b->n == 0)
		return;
	table_multi_insert(b->rel, b->slots, b->n, b->cid, 0, b->bis);
	for (int i = 0; i < b->n; i++)
	{
		List	   *r = ExecInsertIndexTuples(b->rri, b->slots[i], b->estate, false, false, NULL, NIL);

		list_free(r);
		ResetPerTupleExprContext(b->estate);
		ExecClearTuple(b->slots[i]);
	}
	b->n = 0;
}

/* The next slot to fill (cleared, values/isnull to set, then bulk_add). */
static TupleTableSlot *
bulk_next(BulkRel *b)
{
	if (b->n == BULK_SLOTS)
		bulk_flush(b);
	ExecClearTuple(b->slots[b->n]);
	return b->slots[b->n];
}

static void
bulk_add(BulkRel *b)
{
	ExecStoreVirtualTuple(b->slots[b->n]);
	/* materialize now: the Datums it points to are reused by the caller */
	ExecMaterializeSlot(b->slots[b->n]);
	b->n++;
}

static void
bulk_close(BulkRel *b)
{
	bulk_flush(b);
	for (int i = 0; i < BULK_SLOTS; i++)
		ExecDropSingleTupleTableSlot(b->slots[i]);
	FreeBulkInsertState(b->bis);
	table_finish_bulk_insert(b->rel, 0);
	ExecCloseIndices(b->rri);
	FreeExecutorState(b->estate);
	table_close(b->rel, NoLock);
}

typedef struct SealFast
{
	BulkRel		leaf;
	BulkRel		node;
	Relation	pending;
	Snapshot	snap;
	TableScanDesc scan;
	bool		done;			/* the scan is exhausted */
} SealFast;

static void
seal_fast_emit(void *ctx, int level, uint64_t index, const uint8_t hash[BL_MERKLE_HASH_LEN])
{
	SealFast   *sf = ctx;
	TupleTableSlot *s;

	if (level == 0)
		return;					/* leaves are stored in log_leaf */
	s = bulk_next(&sf->node);
	s->tts_values[0] = Int32GetDatum(level);
	s->tts_values[1] = Int64GetDatum((int64) index);
	s->tts_values[2] = PointerGetDatum(hash);
	memset(s->tts_isnull, 0, sizeof(bool) * 3);
	bulk_add(&sf->node);
}

static void
seal_fast_begin(SealFast *sf)
{
	bulk_open(&sf->leaf, "log_leaf");
	bulk_open(&sf->node, "log_node");
	sf->pending = table_open(log_relid("log_pending"), RowExclusiveLock);
	/* every queued row committed by now, and those requeue_if_lost() just added */
	CommandCounterIncrement();
	sf->snap = RegisterSnapshot(GetLatestSnapshot());
	sf->scan = table_beginscan(sf->pending, sf->snap, 0, NULL);
	sf->done = false;
}

/* Write what is buffered, in order, before a checkpoint row follows it. */
static void
seal_fast_flush(SealFast *sf)
{
	bulk_flush(&sf->leaf);
	bulk_flush(&sf->node);
	CommandCounterIncrement();
}

static void
seal_fast_end(SealFast *sf)
{
	table_endscan(sf->scan);
	UnregisterSnapshot(sf->snap);
	table_close(sf->pending, NoLock);
	bulk_close(&sf->leaf);
	bulk_close(&sf->node);
	CommandCounterIncrement();	/* the checks and the checkpoint that follow see them */
}

/* Integrate up to limit queued rows from the scan; returns how many. */
static int64
seal_fast_chunk(SealFast *sf, bl_compact *c, MemoryContext chunkcxt, int64 limit)
{
	MemoryContext old = MemoryContextSwitchTo(chunkcxt);
	TupleDesc	pd = RelationGetDescr(sf->pending);
	StringInfoData leaf;
	int64		n = 0;
	HeapTuple	t;

	initStringInfo(&leaf);
	while (n < limit && (t = heap_getnext(sf->scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull[4];
		Datum		v[4];
		Hash256		lh;
		text	   *tbl;
		TupleTableSlot *s;

		heap_deform_tuple(t, pd, v, isnull);
		if (isnull[0] || isnull[1] || isnull[2] || isnull[3])
			elog(ERROR, "a row of battledger.log_pending has a NULL");
		tbl = DatumGetTextPP(v[0]);
		resetStringInfo(&leaf);
		log_leaf_bytes(&leaf, VARDATA_ANY(tbl), VARSIZE_ANY_EXHDR(tbl), DatumGetInt64(v[1]),
					   DatumGetHash256P(v[2])->bytes, DatumGetHash256P(v[3])->bytes);
		if (bl_merkle_leaf_hash(leaf.data, leaf.len, lh.bytes) != 0)
			elog(ERROR, "could not hash a log leaf");
		s = bulk_next(&sf->leaf);
		s->tts_values[0] = Int64GetDatum((int64) c->size);
		s->tts_values[1] = v[0];
		s->tts_values[2] = v[1];
		s->tts_values[3] = v[2];
		s->tts_values[4] = v[3];
		s->tts_values[5] = PointerGetDatum(&lh);
		memset(s->tts_isnull, 0, sizeof(bool) * 6);
		bulk_add(&sf->leaf);	/* copies the values out of the queue's buffer */
		simple_heap_delete(sf->pending, &t->t_self);
		if (bl_compact_append(c, lh.bytes, seal_fast_emit, sf) != 0)
			elog(ERROR, "could not extend the log's tree");
		n++;
		if ((n & 4095) == 0)
		{
			MemoryContextReset(chunkcxt);	/* detoasted names, leaf bytes */
			initStringInfo(&leaf);
		}
	}
	if (n < limit)
		sf->done = true;
	MemoryContextSwitchTo(old);
	MemoryContextReset(chunkcxt);
	return n;
}

/*
 * Whether the log queue is whole: log_pending_intact holds its row.  Before
 * 0.4.0 (this library under an extension not yet updated) there is no such
 * table and the queue is logged, so always whole.
 */
static bool
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
	LOCKTAG		tag;
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
				 errdetail("It takes every committed queued row, which a transaction snapshot would hide.")));
	origin_claim(log_origin());
	(void) log_signing_key(false);

	/* one sealer at a time; inserts never wait for it */
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0, 0, SEAL_LOCK_CLASS);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);

	nest = bl_spi_connect();
	size = log_size();
	last_signed = size;
	have_cp = latest_checkpoint(&cp_size, cp_root, NULL);
	if ((have_cp && cp_size != size) || (!have_cp && size != 0))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the log holds %lld leaves but its last checkpoint covers %lld",
						(long long) size, (long long) cp_size),
				 errhint("Run battledger.verify_log().")));

	/* resume the compact range from the stored tree, and check it against the last checkpoint */
	if (bl_merkle_root_nodes((uint64) size, ns->levels, ns->idx, &nn) != 0)
		elog(ERROR, "bad tree size");
	ns->n = (int) nn;
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

		bl_progress_start(&progress, "seal", "leaves");
		chunkcxt = AllocSetContextCreate(CurrentMemoryContext, "battledger seal", ALLOCSET_DEFAULT_SIZES);
		if (fast)
			seal_fast_begin(&sf);	/* its snapshot bounds what this call takes */
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
				n = seal_chunk(&c, chunkcxt, Min(queued - done, room));
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

/* ---------------------------------------------------------------- proofs */

static ArrayType *
hashes_to_array(uint8 (*h)[HASH256_LEN], size_t n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (size_t i = 0; i < n; i++)
	{
		Hash256    *x = palloc(sizeof(Hash256));

		memcpy(x->bytes, h[i], HASH256_LEN);
		d[i] = PointerGetDatum(x);
	}
	return construct_array(d, (int) n, hash256_type_oid(), HASH256_LEN, false, TYPALIGN_CHAR);
}

/* hash256[] argument into a proof buffer; ERROR if malformed. */
static size_t
array_to_hashes(ArrayType *arr, uint8 (*out)[HASH256_LEN])
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("a proof is a one-dimensional array of hashes")));
	deconstruct_array(arr, hash256_type_oid(), HASH256_LEN, false, TYPALIGN_CHAR, &elems, &nulls, &n);
	if (n > BL_MERKLE_MAX_PROOF)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("a proof has at most %d hashes, not %d", BL_MERKLE_MAX_PROOF, n)));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							errmsg("a proof must not contain NULL hashes")));
		memcpy(out[i], DatumGetHash256P(elems[i])->bytes, HASH256_LEN);
	}
	return (size_t) n;
}

/* tree_size argument: NULL means the latest checkpoint's size. Caller is in SPI. */
static int64
resolve_tree_size(FunctionCallInfo fcinfo, int argno)
{
	int64		cp_size;
	uint8		cp_root[HASH256_LEN];

	if (!PG_ARGISNULL(argno))
		return PG_GETARG_INT64(argno);
	if (!latest_checkpoint(&cp_size, cp_root, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the log has no checkpoint yet"),
				 errhint("Call battledger.seal().")));
	return cp_size;
}

static size_t
inclusion_proof(int64 index, int64 size, uint8 (*proof)[HASH256_LEN])
{
	NodeSet    *ns = palloc0(sizeof(NodeSet));
	size_t		nn,
				np;

	if (bl_merkle_inclusion_nodes((uint64) index, (uint64) size, ns->levels, ns->idx, &nn) != 0)
		elog(ERROR, "bad proof arguments");
	ns->n = (int) nn;
	nodeset_fetch(ns);
	if (bl_merkle_inclusion_proof((uint64) index, (uint64) size, nodeset_get, ns, proof, &np) != 0)
		tree_error("a node of the inclusion proof is missing");
	return np;
}

PG_FUNCTION_INFO_V1(battledger_inclusion_proof);
Datum
battledger_inclusion_proof(PG_FUNCTION_ARGS)
{
	int			nest;
	int64		index,
				size,
				n;
	uint8		proof[BL_MERKLE_MAX_PROOF][HASH256_LEN];
	size_t		np;
	ArrayType  *result;
	MemoryContext caller = CurrentMemoryContext;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("leaf index must not be null")));
	index = PG_GETARG_INT64(0);
	nest = bl_spi_connect();
	n = log_size();
	size = resolve_tree_size(fcinfo, 1);
	check_range(size, 1, n, "tree size");
	check_range(index, 0, size - 1, "leaf index");
	np = inclusion_proof(index, size, proof);
	bl_spi_finish(nest);
	MemoryContextSwitchTo(caller);
	result = hashes_to_array(proof, np);
	PG_RETURN_ARRAYTYPE_P(result);
}

PG_FUNCTION_INFO_V1(battledger_consistency_proof);
Datum
battledger_consistency_proof(PG_FUNCTION_ARGS)
{
	int			nest;
	int64		size1 = PG_GETARG_INT64(0);
	int64		size2 = PG_GETARG_INT64(1);
	int64		n;
	NodeSet    *ns = palloc0(sizeof(NodeSet));
	uint8		proof[BL_MERKLE_MAX_PROOF][HASH256_LEN];
	size_t		nn,
				np;

	nest = bl_spi_connect();
	n = log_size();
	check_range(size2, 1, n, "tree size");
	if (size1 < 1 || size1 > size2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("size1 %lld is out of range", (long long) size1),
				 errdetail("A consistency proof needs 1 <= size1 <= size2 (%lld).", (long long) size2)));
	if (bl_merkle_consistency_nodes((uint64) size1, (uint64) size2, ns->levels, ns->idx, &nn) != 0)
		elog(ERROR, "bad proof arguments");
	ns->n = (int) nn;
	nodeset_fetch(ns);
	if (bl_merkle_consistency_proof((uint64) size1, (uint64) size2, nodeset_get, ns, proof, &np) != 0)
		tree_error("a node of the consistency proof is missing");
	bl_spi_finish(nest);
	PG_RETURN_ARRAYTYPE_P(hashes_to_array(proof, np));
}

PG_FUNCTION_INFO_V1(battledger_root);
Datum
battledger_root(PG_FUNCTION_ARGS)
{
	int			nest;
	int64		size = PG_GETARG_INT64(0);
	Hash256    *out = palloc(sizeof(Hash256));

	nest = bl_spi_connect();
	check_range(size, 0, log_size(), "tree size");
	root_at(size, out->bytes);
	bl_spi_finish(nest);
	PG_RETURN_HASH256_P(out);
}

PG_FUNCTION_INFO_V1(battledger_leaf);
Datum
battledger_leaf(PG_FUNCTION_ARGS)
{
	int			nest;
	int64		index = PG_GETARG_INT64(0);
	Oid			types[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(index)};
	StringInfoData buf;
	bytea	   *out;
	MemoryContext caller = CurrentMemoryContext;

	nest = bl_spi_connect();
	if (SPI_execute_with_args("SELECT tbl, seq, prev, row_hash FROM battledger.log_leaf WHERE leaf_index = $1",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.log_leaf");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("leaf index %lld is out of range", (long long) index),
				 errdetail("The log has %lld sealed leaves.", (long long) log_size())));
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		text	   *tbl = DatumGetTextPP(SPI_getbinval(t, d, 1, &isnull));

		MemoryContext spi = MemoryContextSwitchTo(caller);

		initStringInfo(&buf);
		MemoryContextSwitchTo(spi);
		log_leaf_bytes(&buf, VARDATA_ANY(tbl), VARSIZE_ANY_EXHDR(tbl),
					   DatumGetInt64(SPI_getbinval(t, d, 2, &isnull)),
					   DatumGetHash256P(SPI_getbinval(t, d, 3, &isnull))->bytes,
					   DatumGetHash256P(SPI_getbinval(t, d, 4, &isnull))->bytes);
	}
	bl_spi_finish(nest);
	out = palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(out, VARHDRSZ + buf.len);
	memcpy(VARDATA(out), buf.data, buf.len);
	PG_RETURN_BYTEA_P(out);
}

/*
 * The checkpoint a proof is given against: the latest, or with min_cosigs > 0
 * the latest that at least that many witnesses cosigned, with their
 * cosignature lines appended to the note.  Caller is in SPI.
 */
static SPIPlanPtr cosigned_plan = NULL;

static bool
cosigned_checkpoint(int64 index, int min_cosigs, int64 *size, char **note)
{
	Oid			types[3] = {TEXTOID, INT8OID, INT4OID};
	Datum		args[3] = {CStringGetTextDatum(local_origin()), Int64GetDatum(index), Int32GetDatum(min_cosigs)};
	StringInfoData buf;
	bool		isnull;

	/* planned once per backend: proofs are a hot path */
	if (cosigned_plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare("SELECT c.tree_size, c.note, array(SELECT s.line FROM battledger.cosignature s "
									   "  WHERE s.log_origin = $1 AND s.tree_size = c.tree_size AND s.root OPERATOR(battledger.=) c.root "
									   "  ORDER BY s.witness) AS lines "
									   "FROM battledger.checkpoint c WHERE c.tree_size > $2 AND "
									   "  (SELECT count(*) FROM battledger.cosignature s WHERE s.log_origin = $1 "
									   "    AND s.tree_size = c.tree_size AND s.root OPERATOR(battledger.=) c.root) >= $3 "
									   "ORDER BY c.tree_size DESC LIMIT 1", 3, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not plan the checkpoint query");
		cosigned_plan = plan;
	}
	if (SPI_execute_plan(cosigned_plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.checkpoint");
	if (SPI_processed != 1)
		return false;
	*size = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	initStringInfo(&buf);
	appendStringInfoString(&buf, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	{
		ArrayType  *lines = DatumGetArrayTypeP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
		Datum	   *elems;
		int			n;

		deconstruct_array(lines, TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &n);
		for (int i = 0; i < n; i++)
			appendStringInfo(&buf, "%s\n", TextDatumGetCString(elems[i]));
	}
	*note = buf.data;
	return true;
}

PG_FUNCTION_INFO_V1(battledger_tlog_proof);
Datum
battledger_tlog_proof(PG_FUNCTION_ARGS)
{
	int			nest;
	int64		index = PG_GETARG_INT64(0);
	int			min_cosigs = PG_GETARG_INT32(1);
	int64		size;
	char	   *note;
	uint8		proof[BL_MERKLE_MAX_PROOF][HASH256_LEN];
	size_t		np;
	char	   *bundle;
	text	   *result;
	MemoryContext caller = CurrentMemoryContext;

	nest = bl_spi_connect();
	check_range(index, 0, PG_INT64_MAX - 1, "leaf index");
	if (!cosigned_checkpoint(index, Max(min_cosigs, 0), &size, &note))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg(min_cosigs > 0 ? "no checkpoint covering leaf %lld has %d cosignatures yet"
						: "no checkpoint covers leaf %lld yet", (long long) index, min_cosigs),
				 errhint(min_cosigs > 0 ? "Wait for the witnesses to cosign, or ask for fewer."
						 : "Call battledger.seal().")));
	np = inclusion_proof(index, size, proof);
	bundle = bl_tlog_proof_format((uint64) index, (const uint8_t (*)[32]) proof, np, NULL, 0,
								  note, strlen(note));
	if (bundle == NULL)
		elog(ERROR, "could not format the proof");
	MemoryContextSwitchTo(caller);
	result = cstring_to_text(bundle);
	free(bundle);
	bl_spi_finish(nest);
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(battledger_checkpoint);
Datum
battledger_checkpoint(PG_FUNCTION_ARGS)
{
	int			nest;
	int64		size;
	uint8		root[HASH256_LEN];
	char	   *note;
	text	   *result = NULL;
	MemoryContext caller = CurrentMemoryContext;

	nest = bl_spi_connect();
	if (latest_checkpoint(&size, root, &note))
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		result = cstring_to_text(note);
		MemoryContextSwitchTo(spi);
	}
	bl_spi_finish(nest);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(result);
}

/* The log's verifier key (C2SP vkey), derived from the signing key file. */
PG_FUNCTION_INFO_V1(battledger_log_vkey);
Datum
battledger_log_vkey(PG_FUNCTION_ARGS)
{
	uint8		pub[32];
	char	   *vkey;
	text	   *result;

	if (bl_ed25519_raw_public(log_signing_key(false), pub) != 0)
		elog(ERROR, "could not derive the log's public key");
	vkey = bl_vkey_format(log_origin(), BL_NOTE_ALG_ED25519, pub);
	if (vkey == NULL)
		elog(ERROR, "could not format the verifier key");
	result = cstring_to_text(vkey);
	free(vkey);
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(battledger_verify_inclusion);
Datum
battledger_verify_inclusion(PG_FUNCTION_ARGS)
{
	bytea	   *leaf = PG_GETARG_BYTEA_PP(0);
	int64		index = PG_GETARG_INT64(1);
	int64		size = PG_GETARG_INT64(2);
	uint8		proof[BL_MERKLE_MAX_PROOF][HASH256_LEN];
	size_t		np = array_to_hashes(PG_GETARG_ARRAYTYPE_P(3), proof);
	Hash256    *root = PG_GETARG_HASH256_P(4);
	uint8		lh[HASH256_LEN];

	if (index < 0 || size < 1 || index >= size)
		PG_RETURN_BOOL(false);
	if (bl_merkle_leaf_hash(VARDATA_ANY(leaf), VARSIZE_ANY_EXHDR(leaf), lh) != 0)
		elog(ERROR, "could not hash the leaf");
	PG_RETURN_BOOL(bl_merkle_verify_inclusion((uint64) index, (uint64) size, lh,
											  (const uint8_t (*)[32]) proof, np, root->bytes) == 1);
}

PG_FUNCTION_INFO_V1(battledger_verify_consistency);
Datum
battledger_verify_consistency(PG_FUNCTION_ARGS)
{
	int64		size1 = PG_GETARG_INT64(0);
	int64		size2 = PG_GETARG_INT64(1);
	Hash256    *root1 = PG_GETARG_HASH256_P(2);
	Hash256    *root2 = PG_GETARG_HASH256_P(3);
	uint8		proof[BL_MERKLE_MAX_PROOF][HASH256_LEN];
	size_t		np = array_to_hashes(PG_GETARG_ARRAYTYPE_P(4), proof);

	if (size1 < 1 || size2 < size1)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(bl_merkle_verify_consistency((uint64) size1, (uint64) size2, root1->bytes,
												root2->bytes, (const uint8_t (*)[32]) proof, np) == 1);
}

/* ---------------------------------------------------------------- verify_log */

typedef struct Levels
{
	int			nlevels;
	int64		count[64];
	uint8		(*h[64])[HASH256_LEN];
} Levels;

static int
levels_get(void *ctx, int level, uint64_t index, uint8_t out[BL_MERKLE_HASH_LEN])
{
	Levels	   *lv = ctx;

	/* stored rows may have been written behind the guards: any level or index */
	if (level < 0 || level >= lv->nlevels || (int64) index < 0 || (int64) index >= lv->count[level])
		return -1;
	memcpy(out, lv->h[level][index], HASH256_LEN);
	return 0;
}

static void
put_problem(Tuplestorestate *ts, TupleDesc desc, const char *problem, int64 pos, const char *detail)
{
	Datum		v[3];
	bool		n[3] = {false, false, detail == NULL};

	v[0] = CStringGetTextDatum(problem);
	v[1] = Int64GetDatum(pos);
	v[2] = detail ? CStringGetTextDatum(detail) : (Datum) 0;
	tuplestore_putvalues(ts, desc, v, n);
}

/*
 * verify_log() reads log_leaf and log_node with one heap scan each (under the
 * statement's snapshot) rather than through an ordered SPI cursor: copying
 * every row into SPI tuple tables and walking the primary key in order was
 * most of its time (docs/benchmarks.md).  Rows are placed by their index, so
 * what is reported, and in which order, is what the ordered reading reported.
 */
static Relation
verify_open(const char *name)
{
	Oid			relid = log_relid(name);

	/* the SPI cursor checked this privilege; keep that */
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(relid));
	return table_open(relid, AccessShareLock);
}

/* a leaf whose index lies outside the array being filled (rows written behind the guards) */
typedef struct StrayLeaf
{
	int64		idx;
	bool		mismatch;
	uint8		hash[HASH256_LEN];
} StrayLeaf;

/* Leaves: recompute each leaf hash from its stored fields; returns the level-0 array. */
static int64
verify_leaves(Levels *lv, Tuplestorestate *ts, TupleDesc desc)
{
	Relation	rel = verify_open("log_leaf");
	TupleDesc	d = RelationGetDescr(rel);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	HeapTuple	t;
	int64		cap = 1024;
	int64		rows = 0;
	int64		expect;
	int64		next = PG_INT64_MAX;	/* smallest index above the first gap */
	int64		dup = PG_INT64_MAX; /* smallest index held twice */
	uint8	   *present;
	uint8	   *mismatch;
	StrayLeaf  *stray = NULL;
	int			nstray = 0,
				capstray = 0;
	StringInfoData buf;
	BlProgress	progress;
	Oid			types[6];
	int			ai[6];
	Datum	   *v;
	bool	   *isnull;

	bl_progress_start(&progress, "verify_log", "leaves");
	lv->h[0] = palloc_extended(cap * HASH256_LEN, MCXT_ALLOC_HUGE);
	present = palloc0(cap);
	mismatch = palloc0(cap);
	initStringInfo(&buf);
	leaf_col_types(types);
	(void) log_columns(rel, leaf_cols, types, 6, ai);
	v = palloc(sizeof(Datum) * d->natts);
	isnull = palloc(sizeof(bool) * d->natts);
	while ((t = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		int64		idx;
		uint8		h[HASH256_LEN];
		bool		bad;
		text	   *tbl;

		heap_deform_tuple(t, d, v, isnull);
		for (int k = 0; k < 6; k++)
			if (isnull[ai[k]])
				elog(ERROR, "a row of battledger.log_leaf has a NULL");
		idx = DatumGetInt64(v[ai[0]]);
		tbl = DatumGetTextPP(v[ai[1]]);
		resetStringInfo(&buf);
		log_leaf_bytes(&buf, VARDATA_ANY(tbl), VARSIZE_ANY_EXHDR(tbl), DatumGetInt64(v[ai[2]]),
					   DatumGetHash256P(v[ai[3]])->bytes, DatumGetHash256P(v[ai[4]])->bytes);
		if ((Pointer) tbl != DatumGetPointer(v[ai[1]]))
			pfree(tbl);
		bl_merkle_leaf_hash(buf.data, buf.len, h);
		bad = memcmp(h, DatumGetHash256P(v[ai[5]])->bytes, HASH256_LEN) != 0;
		rows++;
		/* the array grows to cover indexes up to twice the rows seen so far */
		while (idx >= cap && idx < 2 * rows + 1024)
		{
			int64		ncap = cap * 2;

			lv->h[0] = repalloc_huge(lv->h[0], ncap * HASH256_LEN);
			present = repalloc_huge(present, ncap);
			mismatch = repalloc_huge(mismatch, ncap);
			memset(present + cap, 0, ncap - cap);
			memset(mismatch + cap, 0, ncap - cap);
			cap = ncap;
		}
		if (idx >= 0 && idx < cap)
		{
			if (present[idx])
				dup = Min(dup, idx);
			present[idx] = 1;
			mismatch[idx] = bad;
			memcpy(lv->h[0][idx], h, HASH256_LEN);
		}
		else
		{
			if (nstray == capstray)
			{
				capstray = Max(16, capstray * 2);
				stray = stray ? repalloc_huge(stray, sizeof(StrayLeaf) * capstray)
					: palloc_extended(sizeof(StrayLeaf) * capstray, MCXT_ALLOC_HUGE);
			}
			stray[nstray].idx = idx;
			stray[nstray].mismatch = bad;
			memcpy(stray[nstray].hash, h, HASH256_LEN);
			nstray++;
		}
		if ((rows % 20000) == 0)
		{
			bl_progress_step(&progress, rows, 0);
			CHECK_FOR_INTERRUPTS();
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);

	/* strays that fall inside the array after all (it grew past them) */
	for (int i = 0; i < nstray; i++)
		if (stray[i].idx >= 0 && stray[i].idx < cap)
		{
			int64		idx = stray[i].idx;

			if (present[idx])
				dup = Min(dup, idx);
			present[idx] = 1;
			mismatch[idx] = stray[i].mismatch;
			memcpy(lv->h[0][idx], stray[i].hash, HASH256_LEN);
		}

	/*
	 * In index order, the leaves are whole up to the first index not held
	 * (or, with an index held twice, up to just after it); a negative index
	 * comes first of all.
	 */
	expect = 0;
	while (expect < cap && present[expect])
		expect++;
	for (int i = 0; i < nstray; i++)
		if (stray[i].idx < 0)
			expect = 0;
	if (dup != PG_INT64_MAX && dup + 1 < expect)
		expect = dup + 1;
	for (int64 i = 0; i < expect; i++)
		if (mismatch[i])
			put_problem(ts, desc, "leaf_hash_mismatch", i,
						"The stored leaf hash is not the hash of the leaf's fields.");
	if (expect < rows)
	{
		/* the index the ordered reading found at position expect */
		if (dup != PG_INT64_MAX && dup + 1 == expect)
			next = dup;
		else
		{
			for (int i = 0; i < nstray; i++)
				if (stray[i].idx < 0 || stray[i].idx > expect)
					next = Min(next, stray[i].idx);
			if (next >= 0)
				for (int64 i = expect + 1; i < Min(cap, next); i++)
					if (present[i])
					{
						next = i;
						break;
					}
		}
		put_problem(ts, desc, "missing_leaves", expect,
					psprintf("Leaf indexes %lld to %lld are absent.", (long long) expect,
							 (long long) (next - 1)));
	}
	pfree(present);
	pfree(mismatch);
	if (stray)
		pfree(stray);
	return expect;
}

/* a problem found in log_node, reported in (level, idx) order as the ordered reading did */
typedef struct NodeProblem
{
	int			level;
	int64		idx;
	bool		extra;
} NodeProblem;

static int
node_problem_cmp(const void *a, const void *b)
{
	const NodeProblem *x = a;
	const NodeProblem *y = b;

	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return 0;
}

/* Interior nodes: recompute every perfect subtree and compare with log_node. */
static void
verify_nodes(Levels *lv, int64 nleaves, Tuplestorestate *ts, TupleDesc desc)
{
	Relation	rel;
	TupleDesc	d;
	TableScanDesc scan;
	HeapTuple	t;
	int64		stored = 0;
	int64		expected = 0;
	NodeProblem *probs = NULL;
	int64		nprobs = 0,
				capprobs = 0;
	Oid			types[3];
	int			ai[3];
	Datum	   *v;
	bool	   *isnull;

	lv->count[0] = nleaves;
	lv->nlevels = 1;
	while (lv->count[lv->nlevels - 1] >= 2)
	{
		int			L = lv->nlevels;
		int64		n = lv->count[L - 1] / 2;

		lv->h[L] = palloc_extended(Max(n, 1) * HASH256_LEN, MCXT_ALLOC_HUGE);
		for (int64 i = 0; i < n; i++)
			bl_merkle_node_hash(lv->h[L - 1][2 * i], lv->h[L - 1][2 * i + 1], lv->h[L][i]);
		lv->count[L] = n;
		lv->nlevels++;
		expected += n;
	}
	rel = verify_open("log_node");
	d = RelationGetDescr(rel);
	node_col_types(types);
	(void) log_columns(rel, node_cols, types, 3, ai);
	v = palloc(sizeof(Datum) * d->natts);
	isnull = palloc(sizeof(bool) * d->natts);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while ((t = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		int			level;
		int64		idx;
		uint8		h[HASH256_LEN];
		bool		extra;

		heap_deform_tuple(t, d, v, isnull);
		if (isnull[ai[0]] || isnull[ai[1]] || isnull[ai[2]])
			elog(ERROR, "a row of battledger.log_node has a NULL");
		level = DatumGetInt32(v[ai[0]]);
		idx = DatumGetInt64(v[ai[1]]);
		stored++;
		extra = levels_get(lv, level, (uint64) idx, h) != 0;
		if (extra || memcmp(h, DatumGetHash256P(v[ai[2]])->bytes, HASH256_LEN) != 0)
		{
			if (nprobs == capprobs)
			{
				capprobs = Max(16, capprobs * 2);
				probs = probs ? repalloc_huge(probs, sizeof(NodeProblem) * capprobs)
					: palloc_extended(sizeof(NodeProblem) * capprobs, MCXT_ALLOC_HUGE);
			}
			probs[nprobs].level = level;
			probs[nprobs].idx = idx;
			probs[nprobs].extra = extra;
			nprobs++;
		}
		if ((stored % 20000) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	if (nprobs > 1)
		qsort(probs, nprobs, sizeof(NodeProblem), node_problem_cmp);
	for (int64 i = 0; i < nprobs; i++)
	{
		if (probs[i].extra)
			put_problem(ts, desc, "extra_node", probs[i].idx,
						psprintf("Node (level %d, index %lld) is not part of the tree.", probs[i].level, (long long) probs[i].idx));
		else
			put_problem(ts, desc, "node_mismatch", probs[i].idx,
						psprintf("Node (level %d, index %lld) does not hash its children.", probs[i].level, (long long) probs[i].idx));
	}
	if (stored < expected)
		put_problem(ts, desc, "missing_nodes", expected - stored,
					psprintf("%lld stored tree nodes are missing.", (long long) (expected - stored)));
}

/*
 * Checkpoint signatures are checked against the published verifier key when
 * one is given (an auditor needs no private key), else against the public
 * half of battledger.log_key_file.
 */
static void
verify_checkpoints(Levels *lv, int64 nleaves, Tuplestorestate *ts, TupleDesc desc, const bl_vkey *vkey)
{
	uint8		pub[32];
	bool		have_key = false;
	const char *origin = (bl_origin && bl_origin[0]) ? bl_origin : NULL;
	void	   *key = vkey ? NULL : log_signing_key(true);

	if (vkey)
	{
		memcpy(pub, vkey->pub, 32);
		origin = vkey->name;
		have_key = true;
	}
	else if (key && bl_ed25519_raw_public(key, pub) == 0)
		have_key = true;
	if (SPI_execute("SELECT tree_size, root, note FROM battledger.checkpoint ORDER BY tree_size", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.checkpoint");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		size = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		const uint8 *stored = DatumGetHash256P(SPI_getbinval(t, d, 2, &isnull))->bytes;
		char	   *text = SPI_getvalue(t, d, 3);
		uint8		root[HASH256_LEN];
		bl_note		note;
		bl_checkpoint cp;

		if (size > nleaves || bl_merkle_root((uint64) size, levels_get, lv, root) != 0)
		{
			put_problem(ts, desc, "checkpoint_beyond_log", size, "The checkpoint covers leaves the log does not hold.");
			continue;
		}
		if (memcmp(root, stored, HASH256_LEN) != 0)
			put_problem(ts, desc, "checkpoint_root_mismatch", size,
						"The leaves do not hash to the checkpoint's root: history was rewritten.");
		memset(&note, 0, sizeof(note));
		if (bl_note_parse(text, strlen(text), &note) != 0 ||
			bl_checkpoint_parse(note.text, note.text_len, &cp) != 0)
			put_problem(ts, desc, "checkpoint_malformed", size, "The stored note is not a checkpoint.");
		else
		{
			if (cp.size != (uint64) size || memcmp(cp.root, stored, HASH256_LEN) != 0)
				put_problem(ts, desc, "checkpoint_text_mismatch", size,
							"The signed note's size or root differs from the stored ones.");
			if (have_key && origin &&
				(cp.origin_len != strlen(origin) || memcmp(cp.origin, origin, cp.origin_len) != 0 ||
				 bl_note_verify(&note, origin, pub) != 1))
				put_problem(ts, desc, "checkpoint_bad_signature", size,
							"The note is not signed by this log's key for its origin.");
		}
		bl_note_free(&note);
	}
	if (!have_key)
		put_problem(ts, desc, "signatures_not_checked", 0,
					"No log key: pass the log's published verifier key, verify_log(true, battledger.log_vkey() as published), or set battledger.log_key_file.");
}

/*
 * Sealed rows: each leaf's row must still be in its table with the hash it was
 * sealed with.  Leaves name tables as "schema.table" without quoting; they are
 * matched to the registered ledger tables by that exact text.
 */
/*
 * Every sealed row is still there and still hashes to its leaf; every row
 * this log must hold (this member's rows, and those written before it had an
 * origin) is sealed or queued; every table a leaf names is still a ledger.
 * A table the caller cannot read whole is reported, not skipped silently.
 */
static void
verify_rows(Tuplestorestate *ts, TupleDesc desc)
{
	uint64		ntables;
	char	  **names;
	Oid		   *relids;
	bool		queue_whole;

	/*
	 * Queued rows can be told from rows added behind the guards only while the
	 * (unlogged) queue is whole: not on a standby, which cannot read it, nor
	 * after a crash emptied it and before seal() re-queued.  Then this
	 * member's unsealed rows are not checked, and that is said.
	 */
	queue_whole = !RecoveryInProgress();
	if (queue_whole)
		queue_whole = queue_intact(true);
	if (!queue_whole)
		put_problem(ts, desc, "queue_not_checked", 0,
					RecoveryInProgress()
					? "This is a standby, which cannot read the unlogged queue: this member's rows that are not sealed yet were not checked."
					: "The unlogged queue was reset by a crash or a failover: this member's rows that are not sealed yet were not checked; the next seal() re-queues them.");

	if (SPI_execute("SELECT coalesce(l.tbl, n.nspname || '.' || c.relname), c.oid "
					"FROM (SELECT DISTINCT tbl FROM battledger.log_leaf) l "
					"FULL JOIN (pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
					"           JOIN battledger.ledger_tables r ON r.tbl = c.oid) "
					"       ON n.nspname || '.' || c.relname = l.tbl ORDER BY 1",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.log_leaf");
	ntables = SPI_processed;
	names = palloc(sizeof(char *) * Max(ntables, 1));
	relids = palloc(sizeof(Oid) * Max(ntables, 1));
	for (uint64 i = 0; i < ntables; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);

		names[i] = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		relids[i] = isnull ? InvalidOid : DatumGetObjectId(d);
	}
	for (uint64 i = 0; i < ntables; i++)
	{
		char	   *q;
		char	   *qual;
		Oid			types[2] = {TEXTOID, TEXTOID};
		Datum		args[2] = {CStringGetTextDatum(names[i]), CStringGetTextDatum(local_origin())};
		Oid			owner;
		Oid			save_userid;
		int			save_sec;
		uint64		nchanged;
		SPITupleTable *changed;
		int			rc;

		if (!OidIsValid(relids[i]))
		{
			put_problem(ts, desc, "table_missing", 0,
						psprintf("Sealed rows belong to \"%s\", which is no longer a ledger table under that name.", names[i]));
			continue;
		}
		/* one table withheld from the caller must not hide the others' answers */
		owner = bl_rel_owner(relids[i]);
		if (pg_class_aclcheck(relids[i], GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
			check_enable_rls(relids[i], InvalidOid, true) == RLS_ENABLED ||
			check_enable_rls(relids[i], owner, true) == RLS_ENABLED)
		{
			put_problem(ts, desc, "table_not_checked", 0,
						psprintf("\"%s\" was not checked: this role cannot read every row of it (no SELECT privilege, or row-level security).",
								 names[i]));
			continue;
		}
		qual = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relids[i])),
										  get_rel_name(relids[i]));
		/*
		 * The table is read as its owner, in a restricted operation (as VACUUM
		 * and ANALYZE do): planning a query over it evaluates its owner's
		 * index expressions, which must not run as the caller.  "ONLY": rows
		 * of a child table are not the ledger's.  "t.*", not "t": a column
		 * named t must not stand in for the row.
		 */
		GetUserIdAndSecContext(&save_userid, &save_sec);
		SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
		q = psprintf("SELECT l.leaf_index FROM battledger.log_leaf l "
					 "LEFT JOIN ONLY %s t ON t.ledger_hash OPERATOR(battledger.=) l.row_hash "
					 " AND t.ledger_seq = l.seq "
					 " AND t.ledger_hash OPERATOR(battledger.=) battledger.chain_hash(t.ledger_prev, t.ledger_seq, battledger.row_bytes(t.*)) "
					 "WHERE l.tbl = $1 AND t.ledger_seq IS NULL ORDER BY 1", qual);
		if (SPI_execute_with_args(q, 1, types, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not check the sealed rows of \"%s\"", names[i]);
		nchanged = SPI_processed;
		changed = SPI_tuptable;
		/*
		 * Rows added behind the guards: this member's (or the empty origin's)
		 * in no leaf and in no queue, and rows under an origin that is neither
		 * this member's nor a joined member's.
		 */
		q = psprintf("SELECT t.ledger_seq, t.ledger_origin FROM ONLY %s t "
					 "WHERE %s"
					 "   (t.ledger_origin NOT IN ($2, '') "
					 "       AND NOT EXISTS (SELECT 1 FROM battledger.consortium_member m WHERE m.origin = t.ledger_origin)) "
					 "ORDER BY t.ledger_origin, t.ledger_seq", qual,
					 /* not even named on a standby: the planner refuses an unlogged table there */
					 !queue_whole ? "" :
					 "(t.ledger_origin IN ($2, '') "
					 "       AND NOT EXISTS (SELECT 1 FROM battledger.log_leaf l WHERE l.row_hash OPERATOR(battledger.=) t.ledger_hash "
					 "                       AND l.tbl = $1 AND l.seq = t.ledger_seq) "
					 "       AND NOT EXISTS (SELECT 1 FROM battledger.log_pending p WHERE p.row_hash OPERATOR(battledger.=) t.ledger_hash "
					 "                       AND p.tbl = $1 AND p.seq = t.ledger_seq)) OR ");
		rc = SPI_execute_with_args(q, 2, types, args, NULL, true, 0);
		SetUserIdAndSecContext(save_userid, save_sec);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "could not check the unsealed rows of \"%s\"", names[i]);
		for (uint64 r = 0; r < nchanged; r++)
		{
			bool		isnull;

			put_problem(ts, desc, "sealed_row_changed",
						DatumGetInt64(SPI_getbinval(changed->vals[r], changed->tupdesc, 1, &isnull)),
						psprintf("The row of \"%s\" sealed in this leaf is missing or no longer hashes to its sealed hash.",
								 names[i]));
		}
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		isnull;

			put_problem(ts, desc, "row_not_in_log",
						DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull)),
						psprintf("A row of \"%s\" (origin \"%s\", position given as ref) is in no log: not sealed nor queued here, nor of a joined member; it was not written through the chain trigger or the arrival check.",
								 names[i], SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2)));
		}
	}
}

PG_FUNCTION_INFO_V1(battledger_verify_log);
Datum
battledger_verify_log(PG_FUNCTION_ARGS)
{
	int			nest;
	bool		check_rows;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Levels	   *lv;
	bl_vkey		vkey;
	bool		have_vkey = false;
	int64		nleaves;
	MemoryContext work;
	MemoryContext old;

	/* no rows would read as "no problems": a NULL is a mistake, not a question */
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("check_rows must not be null"),
				 errhint("Pass true to check the sealed rows too, false to check the tree alone.")));
	check_rows = PG_GETARG_BOOL(0);
	if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
	{
		text	   *t = PG_GETARG_TEXT_PP(1);

		if (bl_vkey_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &vkey) != 0 || vkey.alg != BL_NOTE_ALG_ED25519)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("log_vkey is not an Ed25519 note verifier key"),
					 errdetail("A log's verifier key reads <origin>+<key id>+<base64 key>."),
					 errhint("Use the key the member publishes: SELECT battledger.log_vkey() on its database.")));
		have_vkey = true;
	}
	InitMaterializedSRF(fcinfo, 0);
	work = AllocSetContextCreate(CurrentMemoryContext, "battledger verify_log", ALLOCSET_DEFAULT_SIZES);
	nest = bl_spi_connect();
	old = MemoryContextSwitchTo(work);
	lv = palloc0(sizeof(Levels));
	nleaves = verify_leaves(lv, rsinfo->setResult, rsinfo->setDesc);
	verify_nodes(lv, nleaves, rsinfo->setResult, rsinfo->setDesc);
	verify_checkpoints(lv, nleaves, rsinfo->setResult, rsinfo->setDesc, have_vkey ? &vkey : NULL);
	if (check_rows)
		verify_rows(rsinfo->setResult, rsinfo->setDesc);
	MemoryContextSwitchTo(old);
	bl_spi_finish(nest);
	MemoryContextDelete(work);
	return (Datum) 0;
}
