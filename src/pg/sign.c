/*
 * sign.c — signed ledger rows and signed batches (docs/signatures.md).
 *
 * A row of a signed table names its key (ledger_key_id) and carries either an
 * Ed25519 signature over signing_bytes(row) (ledger_sig) or the id of a
 * batch (ledger_batch).  A batch is a row of battledger.batch: one signature
 * over a manifest that commits, through an RFC 6962 Merkle root, to the
 * content hashes of all its rows.  The manifest's signature is checked when
 * the batch row is inserted; its rows are checked against the root at
 * PRE_COMMIT (after every deferred trigger, so no row can follow the check),
 * by reading them back, so rows lost to a savepoint, altered, or added from
 * elsewhere are caught.
 *
 * Why one file: a row signed alone and a row signed through a batch go
 * through the same three entry points (new, arriving and stored rows),
 * which share the key checks and the per-transaction batch bookkeeping;
 * the batch SQL functions at the end are the SQL face of the same manifest
 * code.  They are the part to move out if the file grows.
 */
#include "postgres.h"

#include "sign.h"
#include "replication/logicalworker.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "storage/proc.h"
#include "utils/snapmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/regproc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "miscadmin.h"
#include "utils/timestamp.h"
#include "nodes/params.h"
#include "tcop/dest.h"

#include "batch.h"

#include "consortium.h"
#include "encode.h"
#include "hash256.h"
#include "keys.h"
#include "ledger_rel.h"
#include "log.h"
#include "pgutil.h"
#include "restore.h"
#include "sqlstate.h"

static void
manifest_bytes(StringInfo out, const char *batch_id, size_t idlen, int64 count,
			   const uint8 *root)
{
	size_t		len = bl_batch_manifest_len(idlen);

	enlargeStringInfo(out, (int) len);
	bl_batch_manifest(batch_id, idlen, (uint64) count, root, (uint8_t *) out->data + out->len);
	out->len += (int) len;
	out->data[out->len] = '\0';
}

/* Manifest version 2, bound to the table (relid) the batch is for. */
static void
manifest_v2_bytes(StringInfo out, Oid relid, const char *batch_id, size_t idlen, int64 count,
				  const uint8 *root)
{
	char	   *tbl = ledger_table_name(relid);
	size_t		tlen = strlen(tbl);
	size_t		len = bl_batch_manifest_v2_len(tlen, idlen);

	enlargeStringInfo(out, (int) len);
	bl_batch_manifest_v2(tbl, tlen, batch_id, idlen, (uint64) count, root,
						 (uint8_t *) out->data + out->len);
	out->len += (int) len;
	out->data[out->len] = '\0';
}

static void
batch_root(uint8 (*hashes)[BL_HASH_LEN], int64 n, uint8 *root)
{
	if (bl_batch_root((const uint8_t (*)[BL_HASH_LEN]) hashes, (uint64) n, root) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not compute a batch root over %lld hashes", (long long) n)));
}

static const uint8 *
sig_bytes_or_error(Datum sig)
{
	bytea	   *b = DatumGetByteaPP(sig);

	if (VARSIZE_ANY_EXHDR(b) != 64)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed signature: an Ed25519 signature is 64 bytes, not %zu",
						(size_t) VARSIZE_ANY_EXHDR(b))));
	return (const uint8 *) VARDATA_ANY(b);
}

/* ---- rows ---- */

/*
 * The batch table's CHECK allows 200 characters; a character takes at most
 * MAX_MULTIBYTE_CHAR_LEN bytes in any server encoding, so every id that can
 * be filed fits (before 0.17.0 the list was keyed by 200 bytes: a multibyte
 * id could be filed and no row could ever join its batch).
 */
#define BATCH_ID_MAX_BYTES (200 * MAX_MULTIBYTE_CHAR_LEN)

/*
 * A batch is named by its signer's key and its id (0.28.0, red team rt27
 * H6): each member picks its own ids, and until 0.28.0 an id was one name
 * for the whole consortium, so two members filing "batch-1" before seeing
 * each other's stopped each other's subscriptions (duplicate_batch).  Rows
 * carry both (ledger_key_id, ledger_batch).
 */
typedef struct BatchName
{
	Hash256		key_id;
	char		id[BATCH_ID_MAX_BYTES + 1];	/* NUL-padded: the whole struct is the hash key */
} BatchName;

typedef struct XactBatch
{
	BatchName	name;			/* hash key */
	Oid			tbl;
	bool		created_here;
} XactBatch;

static HTAB *xact_batches = NULL;
static XactBatch *xact_batch_last = NULL;	/* xact_batch()'s last answer, an entry of it */
static LocalTransactionId xact_batches_lxid = InvalidLocalTransactionId;

/*
 * Batches inserted by this transaction, checked against their rows at
 * PRE_COMMIT (after every deferred trigger, so nothing can add a row after
 * the check).  A subtransaction's batches are forgotten when it aborts.
 */
typedef struct NewBatch
{
	char	   *id;
	Hash256		key_id;			/* with id, the batch's name */
	SubTransactionId subid;
	/*
	 * What the insert trigger verified: the manifest bytes, the signature
	 * over them and the key that signed them (all NULL for a batch that
	 * arrived from another member: the apply worker fires no insert trigger,
	 * so its commit check verifies the signature itself).  The commit check
	 * skips a second Ed25519 verification only when the batch row it re-reads
	 * gives exactly these bytes: a verification is a pure function of them.
	 */
	StringInfo	verified_manifest;
	uint8		verified_sig[64];
	Hash256		verified_key_id;
} NewBatch;

/* What battledger_batch_check() verified, for remember_new_batch(). */
typedef struct VerifiedManifest
{
	StringInfo	manifest;
	const uint8 *sig;
	const Hash256 *key_id;
} VerifiedManifest;

static const char *batch_check_known(const char *batch_id, const Hash256 *key_id, Oid expect_tbl,
									 const NewBatch *known, char **detail);

static List *new_batches = NIL;
static bool batch_callbacks_registered = false;

static void
batch_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE)
	{
		List	   *todo = new_batches;
		MemoryContext cxt,
					old;

		new_batches = NIL;
		if (todo == NIL)
			return;

		/*
		 * The check reads the batch and its rows back through SPI, which
		 * needs an active snapshot, and at PRE_COMMIT there is none (the
		 * statement's was popped; AfterTriggerFireDeferred pops its own).
		 * It must see every row this transaction wrote: a row it cannot see
		 * would be committed riding on the batch without having been
		 * counted or hashed.  A transaction that ends in an implicit commit
		 * (a single statement, outside BEGIN) reaches here without a
		 * CommandCounterIncrement after its last command, whose rows a
		 * snapshot taken now would not see (their cmin is the current
		 * command id).  In every case tried (0.16.0: a SQL function whose
		 * last statement adds a row, an INSERT whose SELECT files the batch)
		 * some SPI query had advanced the counter first, but nothing
		 * promises that, so advance it here.  Then take the snapshot:
		 * GetTransactionSnapshot() is a new one under READ COMMITTED and
		 * the transaction's under REPEATABLE READ / SERIALIZABLE, in both
		 * cases with the advanced command id (SnapshotSetCommandId), which
		 * is all the check needs: a batch is joined only by the transaction
		 * that filed it, so only this transaction's rows can name it.
		 */
		CommandCounterIncrement();
		PushActiveSnapshot(GetTransactionSnapshot());
		/*
		 * each batch's check in a context emptied after it: what a check
		 * leaves behind (~2.7 kB) piled up for every batch of the
		 * transaction (red team rt28 M2)
		 */
		cxt = AllocSetContextCreate(CurrentMemoryContext, "battledger batch check", ALLOCSET_DEFAULT_SIZES);
		old = MemoryContextSwitchTo(cxt);
		foreach(lc, todo)
		{
			NewBatch   *nb = lfirst(lc);
			char	   *detail;
			const char *problem = batch_check_known(nb->id, &nb->key_id, InvalidOid, nb, &detail);

			if (problem && IsLogicalWorker())
				consortium_reject(consortium_worker_member() ? consortium_worker_member()->origin : NULL,
								  "battledger.batch", 0, problem,
								  psprintf("Batch \"%s\": %s", nb->id, detail), NULL);
			if (problem)
				ereport(ERROR,
						(errcode(ERRCODE_BATCH_MISMATCH),
						 errmsg("batch \"%s\" does not match its signed manifest (%s)", nb->id, problem),
						 errdetail("%s", detail),
						 errhint("Insert exactly the rows the manifest was signed for, in the transaction that inserts the batch.")));
			MemoryContextReset(cxt);
		}
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		PopActiveSnapshot();
	}
	else if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
			 event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_ABORT ||
			 event == XACT_EVENT_PARALLEL_COMMIT)
	{
		new_batches = NIL;		/* its memory went with TopTransactionContext */
		xact_batches = NULL;
	}
}

static void
batch_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	/* rows and batches of the aborted subtransaction are gone: forget them */
	xact_batches = NULL;
	if (new_batches != NIL)
	{
		List	   *keep = NIL;
		ListCell   *lc;
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		foreach(lc, new_batches)
		{
			NewBatch   *nb = lfirst(lc);

			if (nb->subid < mySubid)
				keep = lappend(keep, nb);
		}
		new_batches = keep;
		MemoryContextSwitchTo(old);
	}
}

static void
remember_new_batch(const char *id, const Hash256 *key_id, const VerifiedManifest *v)
{
	MemoryContext old;
	NewBatch   *nb;

	if (!batch_callbacks_registered)
	{
		RegisterXactCallback(batch_xact_callback, NULL);
		RegisterSubXactCallback(batch_subxact_callback, NULL);
		batch_callbacks_registered = true;
	}
	old = MemoryContextSwitchTo(TopTransactionContext);
	nb = palloc(sizeof(NewBatch));
	nb->id = pstrdup(id);
	memcpy(nb->key_id.bytes, key_id->bytes, BL_HASH_LEN);
	nb->subid = GetCurrentSubTransactionId();
	nb->verified_manifest = NULL;
	if (v != NULL)
	{
		nb->verified_manifest = makeStringInfo();
		appendBinaryStringInfo(nb->verified_manifest, v->manifest->data, v->manifest->len);
		memcpy(nb->verified_sig, v->sig, sizeof(nb->verified_sig));
		memcpy(nb->verified_key_id.bytes, v->key_id->bytes, BL_HASH_LEN);
	}
	new_batches = lappend(new_batches, nb);
	MemoryContextSwitchTo(old);
}

static SPIPlanPtr keep_plan(const char *query, int nargs, Oid *argtypes);
static SPIPlanPtr xact_batch_plan = NULL;	/* xact_batch()'s query, kept */
static SPIPlanPtr batch_roles_plan = NULL;	/* battledger_batch_check()'s, kept */

static void
batch_name(BatchName *name, const char *batch_id, const Hash256 *key_id)
{
	if (strlen(batch_id) > BATCH_ID_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_BATCH_INVALID),
				 errmsg("batch id is longer than 200 characters")));
	memset(name, 0, sizeof(*name));
	memcpy(name->key_id.bytes, key_id->bytes, BL_HASH_LEN);
	strlcpy(name->id, batch_id, sizeof(name->id));
}

/* The batch as seen by this transaction, read once per transaction. */
static XactBatch *
xact_batch(const char *batch_id, const Hash256 *key_id)
{
	int			nest;
	XactBatch  *b;
	bool		found;
	BatchName	name;

	batch_name(&name, batch_id, key_id);
	if (xact_batches == NULL || xact_batches_lxid != BL_MY_LXID())
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(BatchName);
		ctl.entrysize = sizeof(XactBatch);
		ctl.hcxt = TopTransactionContext;
		xact_batches = hash_create("battledger batches", 16, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		xact_batches_lxid = BL_MY_LXID();
		xact_batch_last = NULL;
	}
	/*
	 * The rows of a batch come one after the other: the entry found last is
	 * compared first, which spares hashing an 833-byte key for each row.  It
	 * lives in xact_batches, whose every reset (a new transaction, a
	 * subtransaction's abort) passes through the branch above, and entries
	 * found are never changed or removed.
	 */
	if (xact_batch_last != NULL &&
		memcmp(xact_batch_last->name.key_id.bytes, key_id->bytes, BL_HASH_LEN) == 0 &&
		strcmp(xact_batch_last->name.id, batch_id) == 0)
		return xact_batch_last;
	b = hash_search(xact_batches, &name, HASH_ENTER, &found);
	if (!found)
	{
		Oid			argtypes[2] = {TEXTOID, hash256_type_oid()};
		Datum		args[2] = {CStringGetTextDatum(batch_id), PointerGetDatum(&name.key_id)};

		b->tbl = InvalidOid;
		nest = bl_spi_connect();
		/* once per batch: kept, as parsing and planning it cost more than running it */
		if (xact_batch_plan == NULL)
			xact_batch_plan = keep_plan("SELECT pg_catalog.to_regclass(tbl)::oid, xmin::text FROM battledger.batch "
										"WHERE batch_id = $1 AND key_id OPERATOR(battledger.=) $2",
										2, argtypes);
		if (SPI_execute_plan(xact_batch_plan, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read battledger.batch");
		if (SPI_processed == 1)
		{
			HeapTuple	t = SPI_tuptable->vals[0];
			TupleDesc	d = SPI_tuptable->tupdesc;
			bool		isnull;
			TransactionId xmin = (TransactionId) strtoul(SPI_getvalue(t, d, 2), NULL, 10);

			b->tbl = DatumGetObjectId(SPI_getbinval(t, d, 1, &isnull));
			if (isnull)
				b->tbl = InvalidOid;
			b->created_here = TransactionIdIsCurrentTransactionId(xmin);
		}
		bl_spi_finish(nest);
		if (!OidIsValid(b->tbl))
		{
			/* not cached: it may yet be inserted in this transaction */
			hash_search(xact_batches, &name, HASH_REMOVE, NULL);
			return NULL;
		}
	}
	xact_batch_last = b;
	return b;
}

/*
 * May a row of table relid, naming batch_id and key_id, join that batch?
 * The one judgement behind the writer's chain trigger (sign_check_new_row),
 * the arrival check (check_arriving_batch_row) and _batch_open_here() /
 * _row_signed() (the registry rules' question "would the chain trigger
 * accept this row as signed?"), so that the three cannot judge a row
 * differently (0.16.0: they had drifted in the order of the rules and in
 * what a batch id over 200 bytes meant).  Returns the first rule that
 * fails, in this order, each caller saying it in its own words:
 *
 *   BATCH_JOIN_ID_TOO_LONG  the id is longer than any batch id that can be
 *                           filed (BATCH_ID_MAX_BYTES): no row can join
 *                           such a batch;
 *   BATCH_JOIN_UNKNOWN      this transaction sees no batch of that id;
 *   BATCH_JOIN_CLOSED       the batch (of that id and key, else any batch
 *                           of that id) was not inserted by this
 *                           transaction (a batch is open only to the
 *                           transaction that filed it, so its table does
 *                           not matter);
 *   BATCH_JOIN_OTHER_TABLE  it was signed for another table;
 *   BATCH_JOIN_OTHER_KEY    no batch of that id under the row's key, one
 *                           filed by this transaction under another key;
 *   BATCH_JOIN_KEY          (arrival only) the key is not valid at `at` for
 *                           a member holding one of roles: *check says why
 *                           and *key is the key.
 *
 * A batch is found by its id and its signer's key (the row's
 * ledger_key_id): the key is part of its name since 0.28.0, so
 * BATCH_JOIN_OTHER_TABLE and BATCH_JOIN_OTHER_KEY for a row whose key filed
 * no batch of that id come from batch_join_other_key().
 *
 * The one deliberate difference is `arrival`.  A local batch's key was
 * checked (validity, signer role, at the statement's time) by the insert
 * trigger on battledger.batch before any row could join it; the apply worker
 * fires no insert trigger, and its commit check verifies the manifest's
 * signature and the key's validity at the batch's time but not the role, so
 * an arriving row's key is judged here, at the row's ledger_at, for the
 * table's roles, as check_stored_row() judges a row signed alone.
 */
typedef enum BatchJoin
{
	BATCH_JOIN_OK,
	BATCH_JOIN_ID_TOO_LONG,
	BATCH_JOIN_UNKNOWN,
	BATCH_JOIN_CLOSED,
	BATCH_JOIN_OTHER_TABLE,
	BATCH_JOIN_OTHER_KEY,
	BATCH_JOIN_KEY
} BatchJoin;

typedef struct BatchArrival
{
	TimestampTz at;				/* the row's ledger_at */
	char	  **roles;			/* the table's signer roles */
	int			nroles;
} BatchArrival;

/*
 * No batch of that id under the row's key: is there one of that id under
 * another key, to say why the row cannot join?  On the refusal path only.
 * One this transaction filed counts first (the row names the wrong key, or
 * its batch is for another table), then any (the id is another
 * transaction's).  The answer is not cached: a batch may yet be filed.
 */
static BatchJoin
batch_join_other_key(const char *batch_id, Oid relid, XactBatch **batch)
{
	static XactBatch other;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(batch_id)};
	int			nest;
	BatchJoin	verdict = BATCH_JOIN_UNKNOWN;

	nest = bl_spi_connect();
	if (SPI_execute_with_args("SELECT pg_catalog.to_regclass(tbl)::oid, xmin::text, key_id FROM battledger.batch "
							  "WHERE batch_id = $1", 1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.batch");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		Oid			tbl = DatumGetObjectId(SPI_getbinval(t, d, 1, &isnull));
		TransactionId xmin = (TransactionId) strtoul(SPI_getvalue(t, d, 2), NULL, 10);

		if (isnull)
			continue;
		if (TransactionIdIsCurrentTransactionId(xmin))
		{
			memset(&other, 0, sizeof(other));
			strlcpy(other.name.id, batch_id, sizeof(other.name.id));
			memcpy(other.name.key_id.bytes, DatumGetHash256P(SPI_getbinval(t, d, 3, &isnull))->bytes,
				   BL_HASH_LEN);
			other.tbl = tbl;
			other.created_here = true;
			*batch = &other;
			verdict = tbl != relid ? BATCH_JOIN_OTHER_TABLE : BATCH_JOIN_OTHER_KEY;
			break;
		}
		verdict = BATCH_JOIN_CLOSED;
	}
	bl_spi_finish(nest);
	return verdict;
}

static BatchJoin
batch_join(const char *batch_id, Oid relid, const Hash256 *key_id,
		   const BatchArrival *arrival, XactBatch **batch, KeyInfo **key, KeyCheck *check)
{
	XactBatch  *b;

	*batch = NULL;
	if (strlen(batch_id) > BATCH_ID_MAX_BYTES)
		return BATCH_JOIN_ID_TOO_LONG;
	b = xact_batch(batch_id, key_id);
	*batch = b;
	if (b == NULL)
		return batch_join_other_key(batch_id, relid, batch);
	if (!b->created_here)
		return BATCH_JOIN_CLOSED;
	if (b->tbl != relid)
		return BATCH_JOIN_OTHER_TABLE;
	if (arrival != NULL)
	{
		*key = key_lookup(key_id);
		*check = key_check(*key, arrival->at, arrival->roles, arrival->nroles);
		if (*check != KEY_OK)
			return BATCH_JOIN_KEY;
	}
	return BATCH_JOIN_OK;
}

/*
 * battledger._batch_open_here(batch_id text, tbl regclass, key_id hash256)
 * RETURNS boolean
 *
 * Whether a row of tbl naming batch_id and key_id may join that batch
 * (batch_join(), as the writer's chain trigger asks it): the batch was
 * inserted, its manifest's signature verified, by this transaction, for
 * tbl, with that key.  _row_signed() asks the same in C; this SQL face is
 * kept for callers of 0.15.0's.  Never raises for a well-typed call: an id
 * longer than any batch id that can be filed is simply not open.
 * VOLATILE: the answer changes within a statement as batches are filed.
 */
PG_FUNCTION_INFO_V1(battledger_batch_open_here);
Datum
battledger_batch_open_here(PG_FUNCTION_ARGS)
{
	XactBatch  *b;
	KeyInfo    *key;
	KeyCheck	check;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(batch_join(text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_GETARG_OID(1),
							  PG_GETARG_HASH256_P(2), NULL, &b, &key, &check) == BATCH_JOIN_OK);
}

/*
 * Why the chain trigger would refuse a new row's signature (or its batch),
 * at time now: the one judgement behind sign_check_new_row(), which turns
 * it into the refusal, and _row_signed(), which only needs to know whether
 * there is one.  Never raises for a row of lr's table.
 */
typedef enum RowSig
{
	ROW_SIG_OK,
	ROW_SIG_MISSING,			/* no key id, or not exactly one of sig and batch */
	ROW_SIG_BATCH,				/* verdict->join says why */
	ROW_SIG_KEY,				/* verdict->check says why */
	ROW_SIG_MALFORMED,			/* not 64 bytes */
	ROW_SIG_BAD,				/* does not verify */
	ROW_SIG_NOT_HOSTED			/* verifies, for a member another origin added */
} RowSig;

typedef struct RowSigVerdict
{
	const char *batch_id;
	BatchJoin	join;
	XactBatch  *batch;
	KeyInfo    *key;
	KeyCheck	check;
	size_t		siglen;
} RowSigVerdict;

static RowSig
judge_new_row(LedgerRel *lr, Datum *values, bool *nulls, TimestampTz now, RowSigVerdict *v)
{
	const Hash256 *key_id;
	StringInfoData buf;
	bytea	   *sig;
	bool		has_sig = !nulls[lr->sig_attno - 1];
	bool		has_batch = !nulls[lr->batch_attno - 1];
	bool		ok;

	memset(v, 0, sizeof(*v));
	if (nulls[lr->key_attno - 1] || has_sig == has_batch)
		return ROW_SIG_MISSING;
	key_id = DatumGetHash256P(values[lr->key_attno - 1]);

	if (has_batch)
	{
		v->batch_id = TextDatumGetCString(values[lr->batch_attno - 1]);
		/* the batch's key was checked when the batch was filed (battledger_batch_check) */
		v->join = batch_join(v->batch_id, lr->relid, key_id, NULL, &v->batch, &v->key, &v->check);
		return v->join == BATCH_JOIN_OK ? ROW_SIG_OK : ROW_SIG_BATCH;
	}

	v->key = key_lookup(key_id);
	v->check = key_check(v->key, now, lr->signer_roles, lr->nsigner_roles);
	if (v->check != KEY_OK)
		return ROW_SIG_KEY;
	sig = DatumGetByteaPP(values[lr->sig_attno - 1]);
	v->siglen = VARSIZE_ANY_EXHDR(sig);
	if (v->siglen != 64)
		return ROW_SIG_MALFORMED;
	initStringInfo(&buf);
	signing_encode(lr->sign_encoder, lr->qualname, values, nulls, &buf);
	ok = key_verify(v->key, buf.data, buf.len, (const uint8 *) VARDATA_ANY(sig));
	pfree(buf.data);
	if (!ok)
		return ROW_SIG_BAD;
	/*
	 * a good signature of another origin's member: a copy of that member's
	 * row, whose own copy would then be refused here (rt27 H1; checked last,
	 * so that every other refusal keeps its code)
	 */
	if (!key_member_added_by(v->key, local_origin(), true))
		return ROW_SIG_NOT_HOSTED;
	return ROW_SIG_OK;
}

void
sign_check_new_row(Relation rel, LedgerRel *lr, Datum *values, bool *nulls, TimestampTz now)
{
	RowSigVerdict v;

	switch (judge_new_row(lr, values, nulls, now, &v))
	{
		case ROW_SIG_OK:
			return;
		case ROW_SIG_MISSING:
			ereport(ERROR,
					(errcode(ERRCODE_SIG_MISSING),
					 errmsg("row of signed ledger table \"%s\" needs ledger_key_id and either ledger_sig or ledger_batch",
							RelationGetRelationName(rel)),
					 errhint("Sign battledger.signing_bytes(row) with the member's key, or insert the row as part of a signed batch.")));
			break;
		case ROW_SIG_BATCH:
			switch (v.join)
			{
				case BATCH_JOIN_ID_TOO_LONG:
					ereport(ERROR,
							(errcode(ERRCODE_BATCH_INVALID),
							 errmsg("batch id is longer than 200 characters")));
					break;
				case BATCH_JOIN_UNKNOWN:
					ereport(ERROR,
							(errcode(ERRCODE_BATCH_INVALID),
							 errmsg("row refers to unknown batch \"%s\"", v.batch_id),
							 errhint("Insert the signed batch into battledger.batch first, in the same transaction.")));
					break;
				case BATCH_JOIN_CLOSED:
					ereport(ERROR,
							(errcode(ERRCODE_BATCH_INVALID),
							 errmsg("batch \"%s\" is closed", v.batch_id),
							 errdetail("Rows join a batch only in the transaction that inserted the batch.")));
					break;
				case BATCH_JOIN_OTHER_TABLE:
					ereport(ERROR,
							(errcode(ERRCODE_BATCH_INVALID),
							 errmsg("batch \"%s\" was signed for table \"%s\", not \"%s\"", v.batch_id,
									get_rel_name(v.batch->tbl), RelationGetRelationName(rel))));
					break;
				case BATCH_JOIN_OTHER_KEY:
					ereport(ERROR,
							(errcode(ERRCODE_BATCH_INVALID),
							 errmsg("row's key differs from the key that signed batch \"%s\"", v.batch_id)));
					break;
				case BATCH_JOIN_OK:
				case BATCH_JOIN_KEY:	/* arrival only */
					break;
			}
			elog(ERROR, "unexpected batch verdict %d", (int) v.join);
			break;
		case ROW_SIG_KEY:		/* the message is formatted for a refusal only */
			key_check_report(v.check, v.key, now,
							 psprintf("row of ledger table \"%s\"", RelationGetRelationName(rel)));
			break;
		case ROW_SIG_MALFORMED:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("malformed signature: an Ed25519 signature is 64 bytes, not %zu", v.siglen)));
			break;
		case ROW_SIG_NOT_HOSTED:
			ereport(ERROR,
					(errcode(ERRCODE_SIG_NOT_HOSTED),
					 errmsg("row of ledger table \"%s\" is signed for member \"%s\", which this database does not host",
							RelationGetRelationName(rel), v.key->member),
					 errdetail("Origin \"%s\" did not add member \"%s\": its rows are written where it was added, and reach this database by replication.",
							   local_origin(), v.key->member),
					 errhint("Write the member's rows in its own database; a row copied here first would have its member's own row refused here when it arrives.")));
			break;
		case ROW_SIG_BAD:
			ereport(ERROR,
					(errcode(ERRCODE_SIG_INVALID),
					 errmsg("signature of row of ledger table \"%s\" does not verify",
							RelationGetRelationName(rel)),
					 errdetail("The signature is not member \"%s\"'s signature of this row's signing bytes.",
							   v.key->member),
					 errhint("Sign exactly battledger.signing_bytes(row), which names the table and includes ledger_key_id.")));
			break;
	}
}

/*
 * The key of a row sign_check_new_row() accepted, judged again at a later
 * time: the chain trigger dates a row max(statement time, predecessor's
 * ledger_at), and a key is judged at the row's ledger_at on every member.
 * Only the key: the signature verified a moment ago over the same signing
 * bytes (they leave out ledger_at and ledger_origin, the only columns set
 * since), with the same key (a key id is the hash of its public key), and
 * a verification is a pure function of those.  Until 0.19.0 the whole
 * judgement ran again, a second Ed25519 verification for every row whose
 * predecessor is dated after the row's statement began: every row of a
 * chain another writer's later statement had reached first (issue 15).
 * The key is looked up afresh, as the first judgement did: a revocation
 * that arrived while the trigger waited for the chain's lock counts.
 * A row joining a batch has nothing to judge again: its batch's key was
 * judged when the batch was filed, and judge_new_row() does not judge it
 * per row either.
 */
void
sign_check_new_row_key(Relation rel, LedgerRel *lr, Datum *values, bool *nulls, TimestampTz at)
{
	KeyInfo    *key;
	KeyCheck	check;

	if (!nulls[lr->batch_attno - 1])
		return;
	/* sign_check_new_row() accepted the row: it names a key */
	Assert(!nulls[lr->key_attno - 1]);
	key = key_lookup(DatumGetHash256P(values[lr->key_attno - 1]));
	check = key_check(key, at, lr->signer_roles, lr->nsigner_roles);
	if (check != KEY_OK)		/* the message is formatted for a refusal only */
		key_check_report(check, key, at,
						 psprintf("row of ledger table \"%s\"", RelationGetRelationName(rel)));
}

/*
 * battledger._row_signed(r anyelement, tbl regclass) RETURNS boolean
 *
 * Whether the chain trigger of tbl would accept the signature of its new row
 * r: judge_new_row(), the chain trigger's own judgement (key lookup, key
 * validity and signer role at the statement's time, signing encoder,
 * Ed25519 verification; or batch_join() for a batch row), so that the two
 * cannot drift.  The registry's rule triggers ask it before raising a
 * verdict (red team r16b P2): a verdict tells the writer something about a
 * battery or lot, and a writer that cannot sign as the key the row names
 * must hear only the chain trigger's refusal.  False, never an error, for
 * any row the chain trigger would refuse as unsigned, badly signed, signed
 * by a key not valid now, signed for a member this origin did not add
 * (0.27.0), or joining a batch it may not join.
 *
 * Whenever the chain trigger accepts the row this says true (or the rules
 * would let through a row they should judge): it accepts only rows that
 * pass this same judgement at the same time (GetCurrentStatementStartTimestamp,
 * one statement).  The converse has one gap: the chain trigger judges the
 * key a second time at its predecessor's ledger_at when that is later, which
 * this cannot know without the chain's lock; such a row is still signed by
 * the key it names, so the verdict reaches a writer who holds that key.
 *
 * r must be a row of tbl, and tbl a signed ledger table: anything else is
 * a caller's mistake, not a row to judge, and raises.
 */
PG_FUNCTION_INFO_V1(battledger_row_signed);
Datum
battledger_row_signed(PG_FUNCTION_ARGS)
{
	Oid			argtype;
	HeapTupleHeader th;
	HeapTupleData tuple;
	Oid			tbl;
	Relation	rel;
	TupleDesc	desc;
	LedgerRel  *lr;
	Datum	   *values;
	bool	   *nulls;
	RowSigVerdict v;
	bool		ok;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	argtype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	if (!OidIsValid(argtype) || !type_is_rowtype(argtype))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("_row_signed() takes a row of a signed ledger table")));
	tbl = PG_GETARG_OID(1);
	th = PG_GETARG_HEAPTUPLEHEADER(0);
	rel = try_relation_open(tbl, AccessShareLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", tbl)));
	if (HeapTupleHeaderGetTypeId(th) != rel->rd_rel->reltype)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("row of type %s is not a row of table \"%s\"",
						format_type_be(HeapTupleHeaderGetTypeId(th)), RelationGetRelationName(rel))));
	lr = ledger_rel_get(rel);	/* ERROR if not a ledger table */
	if (lr->signer_roles == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a signed ledger table", RelationGetRelationName(rel))));
	desc = RelationGetDescr(rel);
	tuple.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = tbl;
	tuple.t_data = th;
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	heap_deform_tuple(&tuple, desc, values, nulls);
	ok = judge_new_row(lr, values, nulls, GetCurrentStatementStartTimestamp(), &v) == ROW_SIG_OK;
	/* the lock is kept to the end of the transaction, as a query's would be */
	relation_close(rel, NoLock);
	PG_RETURN_BOOL(ok);
}

static const char *
key_problem(KeyCheck c)
{
	switch (c)
	{
		case KEY_OK:
			return NULL;
		case KEY_UNKNOWN:
			return "unknown_key";
		case KEY_WEAK:
			return "weak_key";
		case KEY_NOT_YET_VALID:
			return "key_not_yet_valid";
		case KEY_EXPIRED:
			return "key_expired";
		case KEY_REVOKED:
			return "key_revoked";
		case KEY_WRONG_ROLE:
			return "wrong_role";
	}
	return "unknown_key";
}

/* The detail of a weak_key problem. */
static char *
weak_key_detail(const KeyInfo *key)
{
	return psprintf("Key %s of member \"%s\" is %s.", hash256_to_hex(&key->key_id), key->member, key->weak);
}

static const char *check_stored_row(LedgerRel *lr, Datum *values, bool *nulls, char **roles,
									int nroles, char **detail);

const char *
sign_check_stored_row(LedgerRel *lr, Datum *values, bool *nulls, char **detail)
{
	return check_stored_row(lr, values, nulls, NULL, 0, detail);
}

/*
 * A row of a signed batch arriving from another member: what the chain
 * trigger checks for a local one (batch_join(): the batch came first, in
 * this transaction, for this table, under the row's key), and the key's role
 * at ledger_at.  The batch's manifest and signature are checked once, at
 * commit.
 */
static const char *
check_arriving_batch_row(Relation rel, LedgerRel *lr, Datum *values, bool *nulls, char **detail)
{
	char	   *id = TextDatumGetCString(values[lr->batch_attno - 1]);
	BatchArrival arrival;
	XactBatch  *b;
	KeyInfo    *key = NULL;
	KeyCheck	check = KEY_OK;

	arrival.at = DatumGetTimestampTz(values[lr->at_attno - 1]);
	arrival.roles = lr->signer_roles;
	arrival.nroles = lr->nsigner_roles;
	switch (batch_join(id, RelationGetRelid(rel), DatumGetHash256P(values[lr->key_attno - 1]),
					   &arrival, &b, &key, &check))
	{
		case BATCH_JOIN_OK:
			return NULL;
		case BATCH_JOIN_ID_TOO_LONG:
		case BATCH_JOIN_UNKNOWN:
		case BATCH_JOIN_CLOSED:
			*detail = psprintf("Batch \"%s\" did not arrive in the same transaction, before its rows.", id);
			return "unknown_batch";
		case BATCH_JOIN_OTHER_TABLE:
			*detail = psprintf("Batch \"%s\" was signed for another table.", id);
			return "foreign_batch";
		case BATCH_JOIN_OTHER_KEY:
			*detail = psprintf("The row's key is not the key that signed batch \"%s\".", id);
			return "batch_key_mismatch";
		case BATCH_JOIN_KEY:
			*detail = key->weak ? weak_key_detail(key)
				: "The batch's key was not valid, for a member holding a role the table permits, at the row's ledger_at.";
			return key_problem(check);
	}
	elog(ERROR, "unexpected batch verdict");
	return NULL;
}

const char *
sign_check_arriving_row(Relation rel, LedgerRel *lr, Datum *values, bool *nulls, char **detail)
{
	const char *problem;

	if (!nulls[lr->batch_attno - 1] && !nulls[lr->key_attno - 1] && !nulls[lr->at_attno - 1] &&
		nulls[lr->sig_attno - 1])
		return check_arriving_batch_row(rel, lr, values, nulls, detail);
	problem = check_stored_row(lr, values, nulls, lr->signer_roles, lr->nsigner_roles, detail);
	if (problem == NULL && nulls[lr->batch_attno - 1] && !nulls[lr->origin_attno - 1])
		problem = sign_origin_problem(DatumGetHash256P(values[lr->key_attno - 1]),
									  TextDatumGetCString(values[lr->origin_attno - 1]), detail);
	return problem;
}

/*
 * An arriving row or batch whose good signature is a member's that the
 * row's origin did not add (red team rt27 H2): a member that copied another
 * member's signed row under its own origin got it stored here first, and
 * the member's own row, arriving after it, was refused as a unique_conflict
 * (the signature's index): the honest member's subscription stopped and
 * was blamed.  Refused as the copier's, signer_not_hosted.  (A batch's rows
 * carry its key, judged with the batch.)
 */
const char *
sign_origin_problem(const Hash256 *key_id, const char *origin, char **detail)
{
	KeyInfo    *key = key_lookup(key_id);

	if (!key->known || key_member_added_by(key, origin, false))
		return NULL;
	*detail = psprintf("The row is signed for member \"%s\", which its origin \"%s\" did not add: a copy of that member's row, written where the member is not hosted.",
					   key->member, origin);
	return "signer_not_hosted";
}

void
sign_defer_batch_check(const char *batch_id, const Hash256 *key_id)
{
	remember_new_batch(batch_id, key_id, NULL);
}

/* Signature, and key validity at ledger_at (for one of roles, if given). */
static const char *
check_stored_row(LedgerRel *lr, Datum *values, bool *nulls, char **roles, int nroles,
				 char **detail)
{
	KeyInfo    *key;
	const char *problem;
	StringInfoData buf;
	bytea	   *sig;

	*detail = NULL;
	if (nulls[lr->key_attno - 1] || nulls[lr->at_attno - 1] ||
		nulls[lr->sig_attno - 1] == nulls[lr->batch_attno - 1])
	{
		*detail = "The row lacks its key id, its time, or exactly one of signature and batch.";
		return "unsigned_row";
	}
	if (!nulls[lr->batch_attno - 1])
		return NULL;			/* checked per batch */
	key = key_lookup(DatumGetHash256P(values[lr->key_attno - 1]));
	problem = key_problem(key_check(key, DatumGetTimestampTz(values[lr->at_attno - 1]), roles, nroles));
	if (problem)
	{
		*detail = key->weak ? weak_key_detail(key)
			: key->uncounted ? psprintf("Key %s is added for member %s, but no row adding it counts (its origin did not add that member, or it is counted for two members).",
										hash256_to_hex(&key->key_id), key->uncounted)
			: roles ? "The signing key was not valid, for a member holding a role the table permits, at the row's ledger_at."
			: "The signing key was not valid at the row's ledger_at.";
		return problem;
	}
	sig = DatumGetByteaPP(values[lr->sig_attno - 1]);
	initStringInfo(&buf);
	/* rows dated before the table's update to 0.3.0 were signed without its name */
	signing_encode(lr->sign_encoder,
				   DatumGetTimestampTz(values[lr->at_attno - 1]) < lr->v1_before ? NULL : lr->qualname,
				   values, nulls, &buf);
	if (VARSIZE_ANY_EXHDR(sig) != 64 ||
		!key_verify(key, buf.data, buf.len, (const uint8 *) VARDATA_ANY(sig)))
	{
		*detail = psprintf("The signature is not member \"%s\"'s signature of the row.", key->member);
		return "bad_signature";
	}
	return NULL;
}

/* ---- batches ---- */

/*
 * The two queries of batch_check(), planned once per backend (the rows'
 * query once per table, below) and kept: parsing and planning them anew
 * was about 40% of the commit-time check of a 1,000-row batch (perf, 0.13.0,
 * issue 15).  The plan cache replans a kept plan when what it depends on
 * changes; permissions are checked at each execution, as the user running it.
 * Generic plans: the batch id is the only parameter, and the partial index on
 * ledger_batch serves any non-NULL id.
 */
static SPIPlanPtr batch_manifest_plan = NULL;

/*
 * The rows' plans, one per table, kept by query text (which names the
 * table): a session that loads batches into two signed tables in turn would
 * otherwise replan at each switch.  A few tables at most are in use at once;
 * past BATCH_ROWS_PLANS the oldest plan is freed (round robin).
 */
#define BATCH_ROWS_PLANS 8
typedef struct RowsPlan
{
	char	   *query;			/* TopMemoryContext */
	SPIPlanPtr	plan;
} RowsPlan;
static RowsPlan batch_rows_plans[BATCH_ROWS_PLANS];
static int	batch_rows_plans_next = 0;

static SPIPlanPtr
keep_plan(const char *query, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(query, nargs, argtypes, CURSOR_OPT_NO_SCROLL | CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL || SPI_keepplan(plan) != 0)
		elog(ERROR, "could not prepare: %s", query);
	return plan;
}

/* The kept plan of rows_query (planned as the current user), planned if new. */
static SPIPlanPtr
rows_plan(const char *rows_query, Oid *argtypes)
{
	RowsPlan   *slot;

	for (int i = 0; i < BATCH_ROWS_PLANS; i++)
		if (batch_rows_plans[i].query != NULL && strcmp(batch_rows_plans[i].query, rows_query) == 0)
			return batch_rows_plans[i].plan;
	slot = &batch_rows_plans[batch_rows_plans_next];
	batch_rows_plans_next = (batch_rows_plans_next + 1) % BATCH_ROWS_PLANS;
	if (slot->plan != NULL)
		SPI_freeplan(slot->plan);
	slot->plan = NULL;
	if (slot->query != NULL)
		pfree(slot->query);
	slot->query = NULL;
	/* planned before the slot is filled: an ERROR here leaves it empty, not stale */
	slot->plan = keep_plan(rows_query, 2, argtypes);
	slot->query = MemoryContextStrdup(TopMemoryContext, rows_query);
	return slot->plan;
}

/*
 * The commit check's reader of a batch's rows: each row the executor
 * returns is encoded and hashed as it comes (its content hash, SHA-256 of
 * its signing bytes), straight from the executor's slot.  Until 0.27.0 the
 * rows came through an SPI cursor, 1,000 at a time, each copied into SPI's
 * tuple table (fresh memory for every fetch) and deformed again from the
 * copy: the largest part of the re-read that was not the check itself
 * (issue 15, docs/benchmarks.md "0.27.0").  The query, its plan, the user it
 * runs as and its row security are unchanged: only the rows' way out of the
 * executor is.  Only the hashes are kept.
 */
typedef struct BatchRowsReceiver
{
	DestReceiver pub;
	const char *batch_id;
	const char *signing_tbl;	/* NULL: signing bytes v1 */
	MemoryContext cxt;			/* this batch's check: the encoder, the row buffer */
	MemoryContext rows_cxt;		/* what encoding a row leaves behind */
	RowEncoder *enc;
	StringInfoData row;
	uint8		(*hashes)[BL_HASH_LEN];
	int64		n;
	int64		cap;
} BatchRowsReceiver;

static void
batch_rows_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	BatchRowsReceiver *rr = (BatchRowsReceiver *) self;
	MemoryContext old = MemoryContextSwitchTo(rr->cxt);

	/* by the columns' names and types, which t.* gives as the table's row type does */
	rr->enc = row_encoder_build(typeinfo, rr->cxt, ENCODE_SIGNING);
	if (rr->row.data == NULL)
		initStringInfo(&rr->row);
	MemoryContextSwitchTo(old);
}

static bool
batch_rows_receive(TupleTableSlot *slot, DestReceiver *self)
{
	BatchRowsReceiver *rr = (BatchRowsReceiver *) self;
	MemoryContext old;

	if (rr->n == rr->cap)
	{
		rr->cap *= 2;
		rr->hashes = repalloc_huge(rr->hashes, rr->cap * BL_HASH_LEN);
	}
	slot_getallattrs(slot);
	resetStringInfo(&rr->row);
	old = MemoryContextSwitchTo(rr->rows_cxt);
	signing_encode(rr->enc, rr->signing_tbl, slot->tts_values, slot->tts_isnull, &rr->row);
	MemoryContextSwitchTo(old);
	if (bl_sha256(rr->row.data, rr->row.len, rr->hashes[rr->n]) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not hash the rows of batch \"%s\"", rr->batch_id)));
	rr->n++;
	/* a numeric's text form, a detoasted value: a few rows' worth at a time */
	if ((rr->n & 255) == 0)
		MemoryContextReset(rr->rows_cxt);
	return true;
}

static void
batch_rows_shutdown(DestReceiver *self)
{
}

/*
 * Re-read a batch's rows and compare them with its manifest; also re-check
 * the manifest's signature.  Used by verify().
 */
const char *
batch_check(const char *batch_id, const Hash256 *key_id, Oid expect_tbl, char **detail)
{
	return batch_check_known(batch_id, key_id, expect_tbl, NULL, detail);
}

/*
 * The same, at commit: known is what the batch's insert trigger verified in
 * this transaction (or NULL), which spares verifying the same signature over
 * the same manifest again.  Everything else is checked as verify() does.
 */
static const char *
batch_check_known(const char *batch_id, const Hash256 *batch_key, Oid expect_tbl,
				  const NewBatch *known, char **detail)
{
	int			nest;
	Oid			argtypes[2] = {TEXTOID, hash256_type_oid()};
	Datum		args[2] = {CStringGetTextDatum(batch_id), PointerGetDatum(batch_key)};
	Oid			tbl;
	int64		count;
	Hash256		root,
				key_id;
	bytea	   *sig;
	TimestampTz at;
	uint8		(*hashes)[BL_HASH_LEN];
	uint8		computed[BL_HASH_LEN];
	int64		n;
	KeyInfo    *key;
	StringInfoData m;
	const char *problem = NULL;
	MemoryContext caller = CurrentMemoryContext;
	Oid			save_userid;
	int			save_sec;
	bool		v1 = false;
	char	   *signing_tbl;
	int64		cap;
	BatchRowsReceiver rr;
	ParamListInfo params;
	SPIExecuteOptions opts;
	char	   *rows_query;
	char	   *bname;

	*detail = NULL;
	/*
	 * the batch's name in details: two members may file one id, and a
	 * detail naming the id alone does not say whose batch it is (red team
	 * rt28 E1, E2)
	 */
	bname = psprintf("\"%s\" of key %s", batch_id, hash256_to_hex(batch_key));
	nest = bl_spi_connect();
	if (batch_manifest_plan == NULL)
		batch_manifest_plan =
			keep_plan("SELECT pg_catalog.to_regclass(b.tbl)::oid, b.row_count, b.root, b.key_id, b.sig, b.at, "
					  "       b.at < (SELECT (pg_catalog.to_jsonb(l) OPERATOR(pg_catalog.->>) 'signed_v1_before')::pg_catalog.timestamptz "
					  "                 FROM battledger.ledger_tables l "
					  "                WHERE l.tbl = pg_catalog.to_regclass(b.tbl)) "
					  "FROM battledger.batch b WHERE b.batch_id = $1 AND b.key_id OPERATOR(battledger.=) $2", 2, argtypes);
	/*
	 * Two rows: a name filed twice (a superuser past the unique constraint)
	 * has two manifests, and reading one of them, whichever the scan met
	 * first, let the writer commit and verify() pass either (red team rt28
	 * D1, D3).
	 */
	if (SPI_execute_plan(batch_manifest_plan, args, NULL, true, 2) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.batch");
	if (SPI_processed > 1)
	{
		bl_spi_finish(nest);
		*detail = psprintf("Batch %s is filed more than once: its rows cannot be matched to one signed manifest.",
						   bname);
		return "duplicate_batch";
	}
	if (SPI_processed != 1)
	{
		bl_spi_finish(nest);
		*detail = psprintf("Rows refer to batch %s, which does not exist.", bname);
		return "unknown_batch";
	}
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;

		tbl = DatumGetObjectId(SPI_getbinval(t, d, 1, &isnull));
		if (isnull)
		{
			bl_spi_finish(nest);
			*detail = psprintf("Batch %s names a table that does not exist.", bname);
			return "unknown_batch_table";
		}
		count = DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
		memcpy(root.bytes, DatumGetHash256P(SPI_getbinval(t, d, 3, &isnull))->bytes, BL_HASH_LEN);
		memcpy(key_id.bytes, DatumGetHash256P(SPI_getbinval(t, d, 4, &isnull))->bytes, BL_HASH_LEN);
		{
			bytea	   *b = DatumGetByteaPP(SPI_getbinval(t, d, 5, &isnull));

			sig = MemoryContextAlloc(caller, VARSIZE_ANY(b));
			memcpy(sig, b, VARSIZE_ANY(b));
		}
		at = DatumGetTimestampTz(SPI_getbinval(t, d, 6, &isnull));
		v1 = DatumGetBool(SPI_getbinval(t, d, 7, &isnull)) && !isnull;
	}
	if (OidIsValid(expect_tbl) && tbl != expect_tbl)
	{
		bl_spi_finish(nest);
		*detail = psprintf("Batch %s was signed for another table.", bname);
		return "foreign_batch";
	}

	/*
	 * Every row of the batch, whoever asks: read as the table's owner (an
	 * application role may hold INSERT only), in a restricted operation, with
	 * row security off (bl_spi_connect), so that no policy can hide a row that
	 * rides on the batch; a policy the owner is forced under makes this fail.
	 * "t.*", not "t": a column named t must not stand in for the row.
	 */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(bl_rel_owner(tbl),
						   save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	/*
	 * Each row's content hash is SHA-256 of its signing bytes (v1 for a batch
	 * filed before the table's update to 0.3.0), computed here, in C, from
	 * the columns the scan returns: what battledger.signing_bytes(t.*) would
	 * give, without forming a composite, looking up its type and table and
	 * copying the bytes three times for every row.  The encoder goes by
	 * column name and type, which t.* gives as the table's row type does.
	 * Each row is hashed as the executor returns it (BatchRowsReceiver), so
	 * a large batch is never all in memory; only the hashes are.
	 */
	/*
	 * Kept per table name, not OID: the plan's text names the table, and a
	 * name is what the plan cache resolves again when it replans.  Planned
	 * as the owner, as it runs.
	 */
	rows_query = psprintf("SELECT t.* FROM ONLY %s t WHERE t.ledger_batch = $1 "
						  "AND t.ledger_key_id OPERATOR(battledger.=) $2",
						  quote_qualified_identifier(get_namespace_name(get_rel_namespace(tbl)),
													 get_rel_name(tbl)));
	signing_tbl = v1 ? NULL : MemoryContextStrdup(caller, ledger_table_name(tbl));
	cap = Max(count, 1) <= 1000000 ? Max(count, 1) : 1000000;	/* a hint, not trusted: grown below */
	memset(&rr, 0, sizeof(rr));
	rr.pub.receiveSlot = batch_rows_receive;
	rr.pub.rStartup = batch_rows_startup;
	rr.pub.rShutdown = batch_rows_shutdown;
	rr.pub.rDestroy = batch_rows_shutdown;
	rr.pub.mydest = DestNone;
	rr.batch_id = batch_id;
	rr.signing_tbl = signing_tbl;
	/*
	 * The encoder and the row buffer live as long as this batch's check:
	 * verify() checks a table's batches one after another in one memory
	 * context, where they would pile up (about 1 kB a batch; red team
	 * rt27c).  Only the hashes go back to the caller.
	 */
	rr.cxt = AllocSetContextCreate(caller, "battledger batch check", ALLOCSET_SMALL_SIZES);
	rr.cap = cap;
	rr.hashes = MemoryContextAlloc(caller, cap * BL_HASH_LEN);
	rr.row.data = NULL;
	/* what encoding a row leaves behind (detoasted values, text forms), freed as it goes */
	rr.rows_cxt = AllocSetContextCreate(rr.cxt, "battledger batch rows", ALLOCSET_DEFAULT_SIZES);
	params = makeParamList(2);
	for (int i = 0; i < 2; i++)
	{
		params->params[i].value = args[i];
		params->params[i].isnull = false;
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = argtypes[i];
	}
	memset(&opts, 0, sizeof(opts));
	opts.params = params;
	opts.read_only = true;
	opts.dest = &rr.pub;
	if (SPI_execute_plan_extended(rows_plan(rows_query, argtypes), &opts) < 0)
		elog(ERROR, "could not read the rows of batch %s", bname);
	MemoryContextDelete(rr.cxt);	/* and rows_cxt with it */
	hashes = rr.hashes;
	n = rr.n;
	SetUserIdAndSecContext(save_userid, save_sec);
	bl_spi_finish(nest);

	batch_root(hashes, n, computed);
	/*
	 * 32 bytes a row, in the caller's context: verify() checks a table's
	 * batches one after another in one context and the commit check every
	 * batch of the transaction, where they piled up (red team rt27d M1).
	 */
	pfree(hashes);
	if (n != count)
	{
		*detail = psprintf("Batch %s was signed for %lld rows; the table holds %lld.",
						   bname, (long long) count, (long long) n);
		problem = n < count ? "batch_incomplete" : "batch_extra_rows";
	}
	else if (memcmp(computed, root.bytes, BL_HASH_LEN) != 0)
	{
		*detail = psprintf("The rows of batch %s do not hash to its signed Merkle root.", bname);
		problem = "batch_root_mismatch";
	}
	if (problem)
		return problem;

	key = key_lookup(&key_id);
	if (key->weak)
	{
		*detail = weak_key_detail(key);
		return "weak_key";
	}
	if (key_check(key, at, NULL, 0) != KEY_OK)
	{
		*detail = psprintf("The key that signed batch %s was not valid at its time.", bname);
		return "batch_key_invalid";
	}
	initStringInfo(&m);
	if (v1)
		manifest_bytes(&m, batch_id, strlen(batch_id), count, root.bytes);
	else
		manifest_v2_bytes(&m, tbl, batch_id, strlen(batch_id), count, root.bytes);
	if (VARSIZE_ANY_EXHDR(sig) != 64)
	{
		*detail = psprintf("The signature of batch %s does not verify.", bname);
		return "batch_bad_signature";
	}
	/* verified at insert, in this transaction, over these very bytes: the same answer */
	if (known != NULL && known->verified_manifest != NULL &&
		known->verified_manifest->len == m.len &&
		memcmp(known->verified_manifest->data, m.data, m.len) == 0 &&
		memcmp(known->verified_sig, VARDATA_ANY(sig), 64) == 0 &&
		memcmp(known->verified_key_id.bytes, key_id.bytes, BL_HASH_LEN) == 0)
		return NULL;
	if (!key_verify(key, m.data, m.len, (const uint8 *) VARDATA_ANY(sig)))
	{
		*detail = psprintf("The signature of batch %s does not verify.", bname);
		return "batch_bad_signature";
	}
	return NULL;
}

/* BEFORE INSERT on battledger.batch: the manifest's signature, key and role. */
PG_FUNCTION_INFO_V1(battledger_batch_check);
Datum
battledger_batch_check(PG_FUNCTION_ARGS)
{
	int			nest;
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tup;
	bool		isnull;
	char	   *batch_id;
	Oid			tbl;
	int64		count;
	Hash256    *root,
			   *key_id;
	TimestampTz now = GetCurrentStatementStartTimestamp();
	KeyInfo    *key;
	StringInfoData m;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	char	   *roles_text = NULL;
	char	  **roles;
	int			nroles;
	Datum		newval[2];
	bool		newnull[2] = {false, false};
	int			atcol[2];
	const char *tblname;
	MemoryContext caller = CurrentMemoryContext;
	const uint8 *sig;
	VerifiedManifest verified;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_INSERT(td->tg_event) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("battledger_batch_check() must be a BEFORE INSERT FOR EACH ROW trigger")));
	/* the column numbers below are battledger.batch's */
	if (RelationGetNamespace(td->tg_relation) != get_namespace_oid("battledger", true) ||
		strcmp(RelationGetRelationName(td->tg_relation), "batch") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("this trigger belongs on battledger.batch, not on \"%s\"",
						RelationGetRelationName(td->tg_relation))));
	desc = RelationGetDescr(td->tg_relation);
	tup = td->tg_trigtuple;
	/* a restored batch is the one its rows were checked against: kept as dumped (restore.h) */
	if (bl_restore)
		return PointerGetDatum(tup);
	/* NOT NULL is enforced only after BEFORE triggers: check here */
	{
		static const char *const cols[] = {"batch_id", "tbl", "key_id", "row_count", "root", "sig"};

		for (int i = 0; i < (int) lengthof(cols); i++)
		{
			(void) heap_getattr(tup, SPI_fnumber(desc, cols[i]), desc, &isnull);
			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NOT_NULL_VIOLATION),
						 errmsg("column \"%s\" of a batch cannot be null", cols[i])));
		}
	}
	batch_id = TextDatumGetCString(heap_getattr(tup, SPI_fnumber(desc, "batch_id"), desc, &isnull));
	tbl = RangeVarGetRelid(makeRangeVarFromNameList(bl_stringToQualifiedNameList(
		TextDatumGetCString(heap_getattr(tup, SPI_fnumber(desc, "tbl"), desc, &isnull)))),
						   NoLock, false);
	/* resolved once, here: the row stores the table's canonical qualified name */
	tblname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(tbl)), get_rel_name(tbl));
	count = DatumGetInt64(heap_getattr(tup, SPI_fnumber(desc, "row_count"), desc, &isnull));
	root = DatumGetHash256P(heap_getattr(tup, SPI_fnumber(desc, "root"), desc, &isnull));
	key_id = DatumGetHash256P(heap_getattr(tup, SPI_fnumber(desc, "key_id"), desc, &isnull));

	/* the target must be a signed ledger table; its signer roles apply */
	args[0] = ObjectIdGetDatum(tbl);
	nest = bl_spi_connect();
	/* once per batch: kept, as parsing and planning it cost more than running it */
	if (batch_roles_plan == NULL)
		batch_roles_plan = keep_plan("SELECT signer_roles::text FROM battledger.ledger_tables WHERE tbl = $1::pg_catalog.regclass AND signer_roles IS NOT NULL", 1,
									 argtypes);
	if (SPI_execute_plan(batch_roles_plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.ledger_tables");
	if (SPI_processed == 1)
		roles_text = MemoryContextStrdup(caller, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	bl_spi_finish(nest);
	if (roles_text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_BATCH_INVALID),
				 errmsg("batch \"%s\" targets \"%s\", which is not a signed ledger table",
						batch_id, get_rel_name(tbl))));
	roles = parse_role_list(roles_text, &nroles, CurrentMemoryContext);

	key = key_lookup(key_id);
	key_check_report(key_check(key, now, roles, nroles), key, now,
					 psprintf("batch \"%s\"", batch_id));
	initStringInfo(&m);
	manifest_v2_bytes(&m, tbl, batch_id, strlen(batch_id), count, root->bytes);
	sig = sig_bytes_or_error(heap_getattr(tup, SPI_fnumber(desc, "sig"), desc, &isnull));
	if (!key_verify(key, m.data, m.len, sig))
		ereport(ERROR,
				(errcode(ERRCODE_SIG_INVALID),
				 errmsg("signature of batch \"%s\" does not verify", batch_id),
				 errhint("Sign exactly battledger.batch_manifest(tbl, batch_id, row_count, root), which names the table.")));
	/* another origin's member's batch, copied here first (rt27 H1, as for a row) */
	if (!key_member_added_by(key, local_origin(), true))
		ereport(ERROR,
				(errcode(ERRCODE_SIG_NOT_HOSTED),
				 errmsg("batch \"%s\" is signed for member \"%s\", which this database does not host",
						batch_id, key->member),
				 errdetail("Origin \"%s\" did not add member \"%s\": its batches are filed where it was added, and reach this database by replication.",
						   local_origin(), key->member),
				 errhint("File the member's batches in its own database; a batch copied here first would have its member's own batch refused here when it arrives.")));

	verified.manifest = &m;
	verified.sig = sig;
	verified.key_id = key_id;
	remember_new_batch(batch_id, key_id, &verified);

	/* the batch's time is the server's, like ledger_at; its table, canonical */
	atcol[0] = SPI_fnumber(desc, "at");
	newval[0] = TimestampTzGetDatum(now);
	atcol[1] = SPI_fnumber(desc, "tbl");
	newval[1] = CStringGetTextDatum(tblname);
	return PointerGetDatum(heap_modify_tuple_by_cols(tup, desc, 2, atcol, newval, newnull));
}

static void
check_batch_count(int64 count)
{
	if (count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a batch has at least one row, not %lld", (long long) count)));
}

static bytea *
stringinfo_bytea(StringInfo m)
{
	bytea	   *out = palloc(VARHDRSZ + m->len);

	SET_VARSIZE(out, VARHDRSZ + m->len);
	memcpy(VARDATA(out), m->data, m->len);
	return out;
}

/*
 * battledger.batch_manifest(batch_id text, row_count bigint, root hash256) RETURNS bytea
 *
 * Version 1 (no table): what batches filed before 0.3.0 were signed over.
 */
PG_FUNCTION_INFO_V1(battledger_batch_manifest);
Datum
battledger_batch_manifest(PG_FUNCTION_ARGS)
{
	text	   *id = PG_GETARG_TEXT_PP(0);
	StringInfoData m;

	check_batch_count(PG_GETARG_INT64(1));
	initStringInfo(&m);
	manifest_bytes(&m, VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id), PG_GETARG_INT64(1),
				   PG_GETARG_HASH256_P(2)->bytes);
	PG_RETURN_BYTEA_P(stringinfo_bytea(&m));
}

/*
 * battledger.batch_manifest(tbl regclass, batch_id text, row_count bigint,
 *                           root hash256) RETURNS bytea
 *
 * Version 2: what a member signs for a batch of tbl's rows.
 */
PG_FUNCTION_INFO_V1(battledger_batch_manifest_v2);
Datum
battledger_batch_manifest_v2(PG_FUNCTION_ARGS)
{
	Oid			tbl = PG_GETARG_OID(0);
	text	   *id = PG_GETARG_TEXT_PP(1);
	StringInfoData m;

	if (get_rel_name(tbl) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", tbl)));
	check_batch_count(PG_GETARG_INT64(2));
	initStringInfo(&m);
	manifest_v2_bytes(&m, tbl, VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id), PG_GETARG_INT64(2),
					  PG_GETARG_HASH256_P(3)->bytes);
	PG_RETURN_BYTEA_P(stringinfo_bytea(&m));
}

/* battledger.batch_root(content_hashes hash256[]) RETURNS hash256 */
PG_FUNCTION_INFO_V1(battledger_batch_root);
Datum
battledger_batch_root(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	uint8		(*hashes)[BL_HASH_LEN];
	Hash256    *root = palloc(sizeof(Hash256));

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("content hashes must be a one-dimensional array")));
	deconstruct_array(arr, hash256_type_oid(), BL_HASH_LEN, false, TYPALIGN_CHAR,
					  &elems, &enulls, &n);
	hashes = palloc(Max(n, 1) * BL_HASH_LEN);
	for (int i = 0; i < n; i++)
	{
		if (enulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("content hashes must not be null")));
		memcpy(hashes[i], DatumGetHash256P(elems[i])->bytes, BL_HASH_LEN);
	}
	batch_root(hashes, n, root->bytes);
	PG_RETURN_HASH256_P(root);
}
