/*
 * consortium.c — what the checks of rows and checkpoints from other members
 * share: the member this apply worker's subscription brings rows from
 * (recorded by battledger.join()), whether a join's copy is still going on,
 * and the refusal of a row: recorded, the subscription stopped, the ERROR
 * raised (arrive.c checks rows, witness.c checkpoints, sign.c signatures).
 *
 * Because the refusal rolls back everything the transaction wrote, the
 * record of it goes to a file beside the data (pg_battledger/rejections),
 * one JSON object per line, read back by battledger.rejections; the server
 * log carries the same message.  The subscription is stopped (ALTER
 * SUBSCRIPTION ... DISABLE) by a short-lived background worker, since the
 * failing transaction can change nothing.
 */
#include "postgres.h"

#include "consortium.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "common/jsonapi.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "replication/logicalworker.h"
#include "replication/worker_internal.h"
#include "storage/fd.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "pgutil.h"
#include "sqlstate.h"

#define REJECTIONS_DIR	"pg_battledger"
#define REJECTIONS_FILE REJECTIONS_DIR "/rejections"

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
	if (SPI_execute_with_args("SELECT origin FROM battledger.consortium_member WHERE subscription = $1::pg_catalog.name",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.consortium_member");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("subscription \"%s\" was not created by battledger.join()", MySubscription->name),
				 errdetail("Rows from other members are accepted only from the member a subscription was joined for."),
				 errhint("Drop the subscription and use battledger.join(origin, conninfo, log_vkey, witness_vkey).")));
	member.origin = MemoryContextStrdup(TopMemoryContext,
										SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	bl_spi_finish(nest);
	member_subid = MySubscription->oid;
	return &member;
}

/* ---------------------------------------------------------------- arrivals */

/*
 * Rows received from a member, per table, for battledger.peer_arrival
 * (consortium_status() compares them with the leaves received).  Counted in
 * backend memory and written once per table at commit: one UPDATE of a
 * counter row per arriving row would walk that row's dead versions in a
 * large remote transaction (quadratic), and write as much again as the rows.
 * A count belongs to the subtransaction that made it, so that a rolled back
 * savepoint takes its rows' count with it.
 */
typedef struct ArrivalCount
{
	char	   *origin;
	char	   *tbl;
	int			level;			/* transaction nesting level that counted */
	int64		rows;
} ArrivalCount;

static List *arrivals = NIL;
static MemoryContext arrivals_cxt = NULL;	/* in TopTransactionContext */
static LocalTransactionId arrivals_lxid = InvalidLocalTransactionId;
static bool arrivals_callbacks = false;
static SPIPlanPtr arrivals_plan = NULL;

static int
arrival_cmp(const ListCell *a, const ListCell *b)
{
	const ArrivalCount *x = lfirst(a),
			   *y = lfirst(b);
	int			c = strcmp(x->origin, y->origin);

	return c != 0 ? c : strcmp(x->tbl, y->tbl);
}

/*
 * Is there a battledger.peer_arrival to count into?  Not while this library
 * runs under a 0.12.0 schema, between its install and ALTER EXTENSION UPDATE:
 * replication must go on meanwhile (the update counts what arrived).
 */
bool
consortium_arrivals_counted(void)
{
	return OidIsValid(get_relname_relid("peer_arrival", get_namespace_oid("battledger", true)));
}

/* Write the transaction's counts (sorted: two workers lock counter rows in one order). */
static void
arrivals_flush(void)
{
	Oid			types[3] = {TEXTOID, TEXTOID, INT8OID};
	int			nest;
	ListCell   *lc;

	if (arrivals == NIL || arrivals_lxid != BL_MY_LXID() || !consortium_arrivals_counted())
		return;
	list_sort(arrivals, arrival_cmp);
	nest = bl_spi_connect_at_commit();
	if (arrivals_plan == NULL)
	{
		/*
		 * unsealed_since: set by the first rows beyond the leaves, kept while
		 * rows wait (the leaves' store resets it at each checkpoint), cleared
		 * once none do
		 */
		SPIPlanPtr	p = SPI_prepare("INSERT INTO battledger.peer_arrival AS p "
									"(origin, tbl, rows_received, last_row_at, unsealed_since) "
									"VALUES ($1, $2, $3, pg_catalog.now(), pg_catalog.now()) "
									"ON CONFLICT (origin, tbl) DO UPDATE SET "
									"rows_received = p.rows_received + excluded.rows_received, "
									"last_row_at = excluded.last_row_at, "
									"unsealed_since = CASE WHEN p.rows_received + excluded.rows_received > p.leaves_received "
									"THEN coalesce(p.unsealed_since, excluded.unsealed_since) END",
									3, types);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not prepare the count of arriving rows");
		arrivals_plan = p;
	}
	foreach(lc, arrivals)
	{
		ArrivalCount *a = lfirst(lc);
		Datum		args[3] = {CStringGetTextDatum(a->origin), CStringGetTextDatum(a->tbl), Int64GetDatum(a->rows)};

		if (a->rows == 0)
			continue;
		if (SPI_execute_plan(arrivals_plan, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not count the arriving rows");
	}
	bl_spi_finish_at_commit(nest);
	arrivals = NIL;
}

static void
arrivals_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE)
		arrivals_flush();
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT ||
			 event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_ABORT)
		arrivals = NIL;			/* the memory goes with the transaction */
}

static void
arrivals_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;

	if (arrivals == NIL || arrivals_lxid != BL_MY_LXID())
		return;
	foreach(lc, arrivals)
	{
		ArrivalCount *a = lfirst(lc);

		if (a->level < level)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
			a->rows = 0;
		else if (event == SUBXACT_EVENT_COMMIT_SUB)
			a->level = level - 1;
	}
}

void
consortium_count_row(const char *origin, const char *tbl)
{
	int			level = GetCurrentTransactionNestLevel();
	ArrivalCount *a;
	ListCell   *lc;
	MemoryContext old;

	if (!arrivals_callbacks)
	{
		RegisterXactCallback(arrivals_xact_callback, NULL);
		RegisterSubXactCallback(arrivals_subxact_callback, NULL);
		arrivals_callbacks = true;
	}
	if (arrivals_lxid != BL_MY_LXID())
	{
		arrivals = NIL;
		arrivals_cxt = AllocSetContextCreate(TopTransactionContext, "battledger arrivals",
											 ALLOCSET_SMALL_SIZES);
		arrivals_lxid = BL_MY_LXID();
	}
	/* a transaction brings rows of a few tables: a short list, the last one first */
	foreach(lc, arrivals)
	{
		a = lfirst(lc);
		if (a->level == level && strcmp(a->tbl, tbl) == 0 && strcmp(a->origin, origin) == 0)
		{
			a->rows++;
			return;
		}
	}
	old = MemoryContextSwitchTo(arrivals_cxt);
	a = palloc(sizeof(ArrivalCount));
	a->origin = pstrdup(origin);
	a->tbl = pstrdup(tbl);
	a->level = level;
	a->rows = 1;
	arrivals = lcons(a, arrivals);
	MemoryContextSwitchTo(old);
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
	bl_advisory_xact_lock(dbid, subid, 0, BL_LOCK_STOPPER);
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
