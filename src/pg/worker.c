/*
 * worker.c — the optional sealing background worker.
 *
 * When battledger is in shared_preload_libraries and battledger.seal_interval
 * is above zero, one worker connects to battledger.seal_database and calls
 * battledger.seal() every seal_interval seconds.  Without it, any scheduler
 * (cron, pg_cron) calling seal() does the same job.
 */
#include "postgres.h"

#include "worker.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

int			bl_seal_interval = 0;
char	   *bl_seal_database = NULL;

PGDLLEXPORT void battledger_seal_worker_main(Datum arg);

void
seal_worker_register(void)
{
	BackgroundWorker worker;

	if (bl_seal_interval <= 0 || bl_seal_database == NULL || bl_seal_database[0] == '\0')
		return;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;	/* after an error (say, no key file yet), try again */
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "battledger");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "battledger_seal_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "battledger sealer");
	snprintf(worker.bgw_type, BGW_MAXLEN, "battledger sealer");
	RegisterBackgroundWorker(&worker);
}

static void
seal_once(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "SELECT battledger.seal()");
	if (SPI_execute("SELECT battledger.seal()", false, 1) != SPI_OK_SELECT)
		elog(ERROR, "battledger.seal() failed");
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

void
battledger_seal_worker_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(bl_seal_database, NULL, 0);

	/*
	 * seal() runs at READ COMMITTED only (it takes every committed queued
	 * row); a worker's transactions take default_transaction_isolation, and
	 * a cluster set to SERIALIZABLE made every seal fail while the queue
	 * grew.  Overridden as autovacuum overrides it, for this process, over
	 * any later reload of the configuration.
	 */
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);

	/*
	 * A seal takes the whole queue in one transaction: after a bulk load or
	 * a pause, longer than a cluster-wide statement_timeout, and each retry
	 * finds the same backlog and more, so a timeout set for applications
	 * stopped the log for good.  The worker's seals run without timeouts,
	 * as autovacuum's work does.
	 */
	SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("idle_in_transaction_session_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	/* nor read-only: a database owner (no superuser) may ALTER DATABASE SET it (red team rt25c W1) */
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
#if PG_VERSION_NUM >= 170000
	SetConfigOption("transaction_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
#endif

	/*
	 * Nor whom it runs as: it connected as the bootstrap superuser, but the
	 * connection took the database's stored settings, and a database owner
	 * (no superuser) may ALTER DATABASE SET role or session_authorization:
	 * every seal then ran as the owner and failed with "permission denied",
	 * retried every interval while the log stopped (red team rt26 W1, W2).
	 * Both put back, session user first (role none means "the session
	 * user"); their checks look the role up, hence the transaction.
	 */
	StartTransactionCommand();
	SetConfigOption("session_authorization", GetUserNameFromId(BOOTSTRAP_SUPERUSERID, false),
					PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("role", "none", PGC_SUSET, PGC_S_OVERRIDE);
	CommitTransactionCommand();
	elog(LOG, "battledger sealer started: sealing database \"%s\" every %d s",
		 bl_seal_database, bl_seal_interval);

	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) Max(bl_seal_interval, 1) * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (bl_seal_interval > 0)
			seal_once();
	}
}
