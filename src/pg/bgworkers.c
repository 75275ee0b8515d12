/*
 * bgworkers.c — how many background workers run now, counted by what
 * max_worker_processes limits (consortium_status()'s "copy waiting").
 *
 * _copy_wait_reason() (90_consortium.sql) names max_worker_processes when
 * every background worker slot is taken.  0.24.0 counted pg_stat_activity's
 * rows whose backend_type was none of PostgreSQL 15 to 18's own process
 * kinds: a kind a later major adds (18 added io workers) counted as a
 * background worker, and the status said "copy waiting" with a slot still
 * free.  Here a worker is counted because it is one: the server sets aside
 * max_worker_processes PGPROCs for background workers (ProcGlobal's
 * bgworkerFreeProcs, in PostgreSQL 15 to 18), and a worker started with
 * shared memory access takes one of them for its life; the PGPROC names
 * the pool it came from (procgloballist).  Counted while it is in the
 * proc array, where BackgroundWorkerInitializeConnection() puts it (every
 * logical replication worker, their launcher, which names no database,
 * and every parallel query worker call it): PostgreSQL 15 leaves an
 * exited worker's pid in its PGPROC, and a test of pid alone counted
 * workers gone (test/shell/copy_waiting.sh saw 4 of 2).  A worker that
 * never initialises a connection, or has no shared memory access, or
 * waits for its restart, holds a slot uncounted (nor did pg_stat_activity
 * show it): the count can fall short (the status then says "copying"),
 * never over.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"

PG_FUNCTION_INFO_V1(battledger_background_workers);

/*
 * _background_workers() RETURNS integer: background workers running on
 * this server (all databases), each counted once.  Reads pids only; not
 * PUBLIC's, as the rest of the status's internals.
 */
Datum
battledger_background_workers(PG_FUNCTION_ARGS)
{
	int32		n = 0;
	uint32		i;

	LWLockAcquire(ProcArrayLock, LW_SHARED);
	for (i = 0; i < ProcGlobal->allProcCount; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];

		if (proc->pid != 0 && proc->procgloballist == &ProcGlobal->bgworkerFreeProcs &&
			BackendPidGetProcWithLock(proc->pid) == proc)
			n++;
	}
	LWLockRelease(ProcArrayLock);
	PG_RETURN_INT32(n);
}
