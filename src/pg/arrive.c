/*
 * arrive.c — rows from other members.  The logical replication apply worker
 * runs with session_replication_role = replica, so the chain trigger does not
 * fire there; this ENABLE REPLICA trigger does, and checks every arriving row
 * against what its origin must have done: the row is the origin's (the one
 * its subscription was joined for), its hash covers its content, it extends
 * the origin's chain exactly, and (signed tables) its key was valid for a
 * permitted role at ledger_at and its signature verifies.  A row that fails
 * is refused: the whole remote transaction stays unapplied, and the
 * subscription is stopped (ALTER SUBSCRIPTION ... DISABLE, by a short-lived
 * background worker, since the failing transaction can change nothing), to
 * be resumed once the cause is dealt with.  PostgreSQL 15's own
 * disable_on_error is not used: it also stops a subscription whose
 * publisher merely restarted.
 *
 * Because the refusal rolls back everything the transaction wrote, the
 * record of it goes to a file beside the data (pg_battledger/rejections),
 * one JSON object per line, read back by battledger.rejections; the server
 * log carries the same message.
 */
#include "battledger.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "commands/dbcommands.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "access/xact.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "utils/snapmgr.h"
#include "replication/logicalworker.h"
#include "replication/worker_internal.h"
#include "storage/fd.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/inval.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "consortium.h"
#include "keys.h"
#include "ledger_rel.h"
#include "sign.h"

/* Fourth advisory-lock field of the stoppers' lock (user advisory locks use 1 and 2). */
#define STOPPER_LOCK_CLASS 0xB1EF

#define REJECTIONS_DIR	"pg_battledger"
#define REJECTIONS_FILE REJECTIONS_DIR "/rejections"

static const uint8 zero_hash[HASH256_LEN];

/* ---------------------------------------------------------------- member */

static Oid	member_subid = InvalidOid;
static ConsortiumMember member;

/*
 * The member whose rows this apply worker brings, from the subscription
 * battledger.join() recorded; NULL outside an apply worker.
 */
const ConsortiumMember *
consortium_worker_member(void)
{
	int			nest;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];

	if (!IsLogicalWorker() || MySubscription == NULL)
		return NULL;
	if (member_subid == MySubscription->oid)
		return &member;
	args[0] = CStringGetTextDatum(MySubscription->name);
	nest = bl_spi_connect();
	if (SPI_execute_with_args("SELECT origin, log_vkey, witness_vkey FROM battledger.consortium_member WHERE subscription = $1::pg_catalog.name",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.consortium_member");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("subscription \"%s\" was not created by battledger.join()", MySubscription->name),
				 errdetail("Rows from other members are accepted only from the member a subscription was joined for."),
				 errhint("Drop the subscription and use battledger.join(origin, conninfo, log_vkey, witness_vkey).")));
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		char	   *w = SPI_getvalue(t, d, 3);

		member.origin = MemoryContextStrdup(TopMemoryContext, SPI_getvalue(t, d, 1));
		member.log_vkey = MemoryContextStrdup(TopMemoryContext, SPI_getvalue(t, d, 2));
		member.witness_vkey = w ? MemoryContextStrdup(TopMemoryContext, w) : NULL;
	}
	bl_spi_finish(nest);
	member_subid = MySubscription->oid;
	return &member;
}

/*
 * Is this a table-sync worker copying a table when a member joins?  (The
 * server's consortium_table_sync() may only be called in a logical worker.)
 */
bool
consortium_table_sync(void)
{
	return IsLogicalWorker() && MyLogicalRepWorker != NULL && am_tablesync_worker();
}

/*
 * The apply worker applies rows of the tables already copied while other
 * tables are still being copied (or caught up) by their table-sync workers,
 * which commit on their own: a row can arrive before the key row it is
 * signed with, in another table.  Until every table of the subscription is
 * ready, the join's copy is still going on.
 */
bool
consortium_join_copying(void)
{
	Oid			types[1] = {OIDOID};
	Datum		args[1];
	bool		copying;
	int			nest;

	if (consortium_table_sync())
		return true;
	if (!IsLogicalWorker() || MySubscription == NULL)
		return false;
	args[0] = ObjectIdGetDatum(MySubscription->oid);
	nest = bl_spi_connect();
	if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_subscription_rel "
							  "WHERE srsubid = $1 AND srsubstate <> 'r'",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_subscription_rel");
	copying = SPI_processed > 0;
	bl_spi_finish(nest);
	return copying;
}

/* ---------------------------------------------------------------- stopping */

PGDLLEXPORT void battledger_stop_subscription_main(Datum arg);

/* Have a background worker disable this apply worker's subscription (best effort). */
static void
stop_subscription_later(void)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	if (MySubscription == NULL)
		return;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "battledger");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "battledger_stop_subscription_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "battledger stopping subscription %u", MySubscription->oid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "battledger subscription stopper");
	worker.bgw_main_arg = ObjectIdGetDatum(MySubscription->oid);
	memcpy(worker.bgw_extra, &MyDatabaseId, sizeof(Oid));
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(WARNING,
				(errmsg("could not start a worker to stop subscription \"%s\"", MySubscription->name),
				 errhint("Stop it with ALTER SUBSCRIPTION ... DISABLE; raise max_worker_processes.")));
}

void
battledger_stop_subscription_main(Datum arg)
{
	Oid			subid = DatumGetObjectId(arg);
	Oid			dbid;
	int			nest;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(subid)};
	LOCKTAG		tag;

	memcpy(&dbid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	/*
	 * several refusals may each start a worker: one at a time, by a lock
	 * whose fourth field no SQL-level advisory lock uses, so that no role
	 * can hold the stopper up (pg_advisory_xact_lock() could)
	 */
	SET_LOCKTAG_ADVISORY(tag, dbid, subid, 0, STOPPER_LOCK_CLASS);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	nest = bl_spi_connect();
	if (SPI_execute_with_args("SELECT pg_catalog.format('ALTER SUBSCRIPTION %I DISABLE', subname) "
							  "FROM pg_catalog.pg_subscription WHERE oid = $1 AND subenabled",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_subscription");
	if (SPI_processed == 1)
	{
		char	   *cmd = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (SPI_execute(cmd, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not stop the subscription");
		ereport(LOG,
				(errmsg("battledger stopped subscription %u after refusing a row from its member", subid),
				 errhint("See battledger.rejections; resume with ALTER SUBSCRIPTION ... ENABLE once resolved.")));
	}
	bl_spi_finish(nest);
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* ---------------------------------------------------------------- record */

static void
json_field(StringInfo buf, const char *name, const char *value, bool first)
{
	if (!first)
		appendStringInfoChar(buf, ',');
	escape_json(buf, name);
	appendStringInfoChar(buf, ':');
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

/*
 * Append one rejection to the file, then raise the ERROR.  The line is
 * written with one write() to an O_APPEND file, so concurrent workers do
 * not interleave; it survives the rollback the ERROR causes.
 */
void
consortium_reject(const char *origin, const char *table, int64 seq, const char *problem,
				  const char *detail, const char *row_json)
{
	StringInfoData buf;
	int			fd;
	const char *sub = MySubscription ? MySubscription->name : NULL;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	/* seconds since the Unix epoch: no DateStyle to parse it back with */
	appendStringInfo(&buf, "\"at\":%.6f",
					 (double) GetCurrentTimestamp() / USECS_PER_SEC +
					 (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY);
	json_field(&buf, "database", get_database_name(MyDatabaseId), false);
	/* the view reads a database's lines by OID: a new database of the same name has another */
	appendStringInfo(&buf, ",\"database_oid\":%u", MyDatabaseId);
	json_field(&buf, "subscription", sub, false);
	json_field(&buf, "origin", origin, false);
	json_field(&buf, "table", table, false);
	appendStringInfo(&buf, ",\"seq\":" INT64_FORMAT, seq);
	json_field(&buf, "problem", problem, false);
	json_field(&buf, "detail", detail, false);
	appendStringInfoString(&buf, ",\"row\":");
	appendStringInfoString(&buf, row_json ? row_json : "null");
	appendStringInfoString(&buf, "}\n");

	if (MakePGDirectory(REJECTIONS_DIR) < 0 && errno != EEXIST)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", REJECTIONS_DIR)));
	fd = OpenTransientFile(REJECTIONS_FILE, O_WRONLY | O_CREAT | O_APPEND | PG_BINARY);
	if (fd < 0 || write(fd, buf.data, buf.len) != buf.len)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not record the rejection in \"%s\": %m", REJECTIONS_FILE)));
	if (fd >= 0)
	{
		(void) pg_fsync(fd);
		CloseTransientFile(fd);
	}
	stop_subscription_later();

	ereport(ERROR,
			(errcode(ERRCODE_ROW_REJECTED),
			 errmsg("battledger refused a row of \"%s\" from member \"%s\" (%s)",
					table, origin ? origin : "?", problem),
			 errdetail("%s", detail),
			 sub ? errhint("The remote transaction is not applied and subscription \"%s\" is being stopped. See battledger.rejections.", sub)
			 : errhint("Only rows of other members, complete and verifiable, are accepted this way. See battledger.rejections.")));
}

pg_noreturn static void reject_row(Relation rel, LedgerRel *lr, HeapTuple tup, const char *origin,
								   int64 seq, const char *problem, const char *detail);

static void
reject_row(Relation rel, LedgerRel *lr, HeapTuple tup, const char *origin, int64 seq,
		   const char *problem, const char *detail)
{
	Datum		rec = heap_copy_tuple_as_datum(tup, RelationGetDescr(rel));
	char	   *row = TextDatumGetCString(DirectFunctionCall1(row_to_json, rec));

	consortium_reject(origin, lr->qualname, seq, problem, detail, row);
}

/* ---------------------------------------------------------------- checks */

/* Does the arriving row extend its origin's chain exactly?  NULL if so, else the problem. */
static const char *
check_link(Relation rel, LedgerRel *lr, Datum origin, Datum key, int64 seq, const Hash256 *prev,
		   TimestampTz at, char **detail)
{
	int64		head_seq;
	Hash256		head_hash;
	TimestampTz head_at = DT_NOBEGIN;
	bool		found;

	/*
	 * Rows copied when a member joins come in heap order, not chain order:
	 * with concurrent writers a later position can arrive before an earlier
	 * one.  Only a row already at this very position is a fork (the same row
	 * was skipped before); links are checked later, by verify_member().
	 */
	if (consortium_table_sync())
	{
		Hash256		here;

		if (chain_row_hash(rel, lr, origin, key, seq, &here))
		{
			*detail = psprintf("The origin's chain already holds position " INT64_FORMAT ": a second row there is a fork.", seq);
			return "fork";
		}
		return NULL;
	}
	found = chain_head(rel, lr, origin, key, seq > 1 ? seq - 1 : 1, &head_seq, &head_hash, &head_at);
	if (found && head_seq >= seq)
	{
		*detail = psprintf("The origin's chain already holds position " INT64_FORMAT ": a second row there is a fork.", seq);
		return "fork";
	}
	if (seq == 1)
	{
		if (memcmp(prev->bytes, zero_hash, HASH256_LEN) != 0)
		{
			*detail = "The first row of a chain must have a zero ledger_prev.";
			return "broken_link";
		}
		return NULL;
	}
	if (!found)
	{
		*detail = psprintf("Position " INT64_FORMAT " of the origin's chain has not arrived.", seq - 1);
		return "missing_rows";
	}
	if (memcmp(head_hash.bytes, prev->bytes, HASH256_LEN) != 0)
	{
		*detail = "ledger_prev does not equal the previous row's ledger_hash.";
		return "broken_link";
	}
	/* the key is judged at ledger_at: a row dated before its predecessor could dodge a revocation */
	if (lr->signer_roles && at < head_at)
	{
		*detail = "ledger_at is earlier than the previous row's: a member never dates a row before its predecessor.";
		return "time_reversed";
	}
	return NULL;
}

/*
 * What the chain trigger's neighbours would have done for a local row: keys
 * and roles that changed reach this backend's key cache (the statement
 * trigger that tells other backends does not fire here), and a batch is
 * checked against its signed manifest at commit.
 */
static void
row_arrived(Relation rel, LedgerRel *lr, Datum *values, bool *nulls)
{
	if (strcmp(lr->qualname, "battledger.key_event") == 0 ||
		strcmp(lr->qualname, "battledger.member_event") == 0)
		CacheInvalidateRelcache(rel);
	else if (strcmp(lr->qualname, "battledger.batch") == 0 && !consortium_table_sync())
		sign_defer_batch_check(TextDatumGetCString(values[0]));	/* once per batch */
}

/*
 * Would the row break one of the table's unique indexes other than the chain
 * index (a passport id, a signature)?  Two members can write such rows at the
 * same moment.  Left to the insert, the violation fails the apply worker,
 * which retries the same transaction forever and holds back every table of
 * the subscription, with nothing recorded; refused here, it is named, the
 * subscription stops, and the chain can be quarantined.
 */
static const char *
check_unique(Relation rel, LedgerRel *lr, HeapTuple tup, char **detail)
{
	EState	   *estate = CreateExecutorState();
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	List	   *arbiters = NIL;
	ItemPointerData conflict;
	bool		ok = true;

	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, true);
	for (int i = 0; i < rri->ri_NumIndices; i++)
	{
		Relation	irel = rri->ri_IndexRelationDescs[i];

		if (irel->rd_index->indisunique && irel->rd_index->indimmediate &&
			RelationGetRelid(irel) != lr->index_oid)
			arbiters = lappend_oid(arbiters, RelationGetRelid(irel));
	}
	if (arbiters != NIL)
	{
		TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);

		ExecStoreHeapTuple(tup, slot, false);
		ok = bl_ExecCheckIndexConstraints(rri, slot, estate, &conflict, arbiters);
		ExecDropSingleTupleTableSlot(slot);
	}
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	if (ok)
		return NULL;
	*detail = "A row here already holds one of this row's unique values (a passport id, a signature): two members wrote conflicting rows.";
	return "unique_conflict";
}

/* A batch arriving: its id is free (ids are unique across the consortium)? */
static const char *
check_arriving_batch(Datum *values, bool *nulls, char **detail)
{
	int			nest;
	Oid			argtypes[1] = {TEXTOID};
	bool		taken;

	if (nulls[0])
	{
		*detail = "The batch has no batch_id.";
		return "missing_chain_fields";
	}
	nest = bl_spi_connect();
	if (SPI_execute_with_args("SELECT 1 FROM battledger.batch WHERE batch_id = $1", 1, argtypes,
							  &values[0], NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.batch");
	taken = SPI_processed > 0;
	bl_spi_finish(nest);
	if (taken)
	{
		*detail = psprintf("Batch id \"%s\" is already taken here.", TextDatumGetCString(values[0]));
		return "duplicate_batch";
	}
	return NULL;
}

PG_FUNCTION_INFO_V1(ledger_arrive_trigger);
Datum
ledger_arrive_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	LedgerRel  *lr;
	HeapTuple	tup;
	Datum	   *values;
	bool	   *nulls;
	const ConsortiumMember *from;
	const char *mine = local_origin();
	char	   *origin;
	int64		seq;
	const char *problem;
	char	   *detail = NULL;
	StringInfoData buf;
	uint8		computed[HASH256_LEN];

	check_trigger_context(fcinfo, "ledger_arrive_trigger");
	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	lr = ledger_rel_get(rel);
	if (lr->late_arrive_trigger)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("trigger \"%s\" on ledger table \"%s\" fires after the arrival check",
						lr->late_arrive_trigger, RelationGetRelationName(rel)),
				 errdetail("BEFORE INSERT triggers fire in name order; a replicated row changed after it was checked would be stored unchecked."),
				 errhint("Rename the trigger so that its name sorts before \"%s\", or disable it for replication.",
						 LEDGER_ARRIVE_TRIGGER)));
	tup = td->tg_trigtuple;
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	heap_deform_tuple(tup, desc, values, nulls);

	origin = nulls[lr->origin_attno - 1] ? NULL : TextDatumGetCString(values[lr->origin_attno - 1]);
	from = consortium_worker_member();

	if (origin == NULL || origin[0] == '\0' || strcmp(origin, mine) == 0)
		reject_row(rel, lr, tup, origin, 0, "wrong_origin",
				   "A row arriving by replication must belong to another member; this database's own rows are written through the chain trigger.");
	if (from && strcmp(origin, from->origin) != 0)
		reject_row(rel, lr, tup, origin, 0, "wrong_origin",
				   psprintf("The subscription was joined for member \"%s\", which may not publish rows of \"%s\".",
							from->origin, origin));
	/* a quarantined chain: held back whole, unchecked, for release_chain() */
	if (quarantine_holds(rel, lr, origin, tup, values, nulls))
		return PointerGetDatum(NULL);
	if (nulls[lr->seq_attno - 1] || nulls[lr->prev_attno - 1] || nulls[lr->hash_attno - 1] ||
		(lr->chain_attno && nulls[lr->chain_attno - 1]))
		reject_row(rel, lr, tup, origin, 0, "missing_chain_fields",
				   "The row has no ledger_seq, ledger_prev, ledger_hash or chain key.");
	seq = DatumGetInt64(values[lr->seq_attno - 1]);
	if (seq < 1)
		reject_row(rel, lr, tup, origin, seq, "bad_position", "ledger_seq must be at least 1.");

	/* joining again copies rows already here: the same row at the same place is skipped */
	if (consortium_table_sync())
	{
		Hash256		here;

		if (chain_row_hash(rel, lr, values[lr->origin_attno - 1],
						   lr->chain_attno ? values[lr->chain_attno - 1] : (Datum) 0, seq, &here) &&
			memcmp(here.bytes, DatumGetHash256P(values[lr->hash_attno - 1])->bytes, HASH256_LEN) == 0)
			return PointerGetDatum(NULL);
	}

	initStringInfo(&buf);
	row_encode(lr->encoder, values, nulls, &buf);
	chain_hash(DatumGetHash256P(values[lr->prev_attno - 1])->bytes, seq, buf.data, buf.len, computed);
	if (memcmp(computed, DatumGetHash256P(values[lr->hash_attno - 1])->bytes, HASH256_LEN) != 0)
		reject_row(rel, lr, tup, origin, seq, "hash_mismatch",
				   "ledger_hash does not match the row's content and chain fields.");

	problem = check_link(rel, lr, values[lr->origin_attno - 1],
						 lr->chain_attno ? values[lr->chain_attno - 1] : (Datum) 0, seq,
						 DatumGetHash256P(values[lr->prev_attno - 1]),
						 lr->signer_roles && !nulls[lr->at_attno - 1] ?
						 DatumGetTimestampTz(values[lr->at_attno - 1]) : DT_NOEND, &detail);
	if (problem)
		reject_row(rel, lr, tup, origin, seq, problem, detail);

	if (strcmp(lr->qualname, "battledger.batch") == 0 &&
		(problem = check_arriving_batch(values, nulls, &detail)) != NULL)
		reject_row(rel, lr, tup, origin, seq, problem, detail);

	/* a weak key registered at another member: the same check as for one registered here */
	if ((problem = key_row_problem(lr, desc, values, nulls, &detail)) != NULL)
		reject_row(rel, lr, tup, origin, seq, problem, detail);

	if (lr->signer_roles)
	{
		problem = sign_check_arriving_row(rel, lr, values, nulls, &detail);
		/*
		 * copied at join: keys, roles and batches come in other tables'
		 * copies, which may commit after this row (verify_member() checks)
		 */
		if (problem && consortium_join_copying() &&
			(strcmp(problem, "unknown_key") == 0 || strcmp(problem, "wrong_role") == 0 ||
			 strcmp(problem, "unknown_batch") == 0))
			problem = NULL;
		if (problem)
			reject_row(rel, lr, tup, origin, seq, problem, detail);
	}
	if ((problem = check_unique(rel, lr, tup, &detail)) != NULL)
		reject_row(rel, lr, tup, origin, seq, problem, detail);
	row_arrived(rel, lr, values, nulls);
	return PointerGetDatum(tup);
}

/* ---------------------------------------------------------------- reading */

/* The rejections file, one jsonb per line (a missing file is no rejections). */
PG_FUNCTION_INFO_V1(battledger_rejection_lines);
Datum
battledger_rejection_lines(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	FILE	   *f;
	char	   *line = NULL;
	StringInfoData buf;
	int			c;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	f = AllocateFile(REJECTIONS_FILE, "r");
	if (f == NULL)
	{
		if (errno == ENOENT)
			return (Datum) 0;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read \"%s\": %m", REJECTIONS_FILE)));
	}
	initStringInfo(&buf);
	while ((c = fgetc(f)) != EOF)
	{
		if (c != '\n')
		{
			appendStringInfoChar(&buf, (char) c);
			continue;
		}
		line = buf.data;
		/* a line torn by a crash or a full disk is skipped, not fatal to the view */
		if (buf.len > 0 &&
			pg_parse_json(bl_makeJsonLexContextCstringLen(line, buf.len, PG_UTF8, true),
						  &nullSemAction) == JSON_SUCCESS)
		{
			Datum		v = DirectFunctionCall1(jsonb_in, CStringGetDatum(line));
			bool		isnull = false;

			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &v, &isnull);
		}
		else if (buf.len > 0)
			ereport(WARNING,
					(errmsg("skipping a malformed line of \"%s\"", REJECTIONS_FILE)));
		resetStringInfo(&buf);
	}
	FreeFile(f);
	return (Datum) 0;
}
