/*
 * battledger.c — module entry point: the settings.
 *
 * Nothing else is set up at load time (OpenSSL contexts and caches are
 * created lazily in each backend on first use), except the optional sealing
 * worker when the library is preloaded, and the ExecutorRun hook that tells
 * the chain trigger which statements may cache chain heads (src/pg/chain.c).
 */
#include "postgres.h"
#include "pg_compat.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "miscadmin.h"

#include "battery_id.h"
#include "chain.h"
#include "log.h"
#include "progress.h"
#include "restore.h"
#include "witness.h"
#include "worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* battledger.max_backdate, in seconds: verify_member() reads it by name */
static int	bl_max_backdate = 600;

/* battledger.unsealed_after, in seconds: consortium_status() reads it by name */
static int	bl_unsealed_after = 600;

/* battledger.resolver: read by the passport functions (SQL) by name */
static char *bl_resolver = NULL;

/* battledger.restore: read by the triggers (restore.h) and _restoring() */
bool		bl_restore = false;

/*
 * Every battledger setting may be given to a parallel worker: a worker that
 * loads the library in parallel mode (a parallel index build on a hash256 or
 * battery_id column, when it first compares two keys) applies the values it
 * was handed (postgresql.conf's, the leader's SET) when the settings are
 * defined.  Without the flag PostgreSQL refuses
 * that in parallel mode, warns once per setting and worker, and the worker
 * keeps the defaults.  Where the server's headers have no
 * GUC_ALLOW_IN_PARALLEL (Debian 12's 15.20 has it, a 16 source tree here does
 * not), workers warn and keep the defaults as before.
 */
#ifdef GUC_ALLOW_IN_PARALLEL
#define BL_GUC_PARALLEL GUC_ALLOW_IN_PARALLEL
#else
#define BL_GUC_PARALLEL 0
#endif

/*
 * battledger.restore is for one restoring session: given on the client's
 * connection (PGOPTIONS) or SET in it, never for every session.  Left on for
 * a database, a role or the cluster (ALTER DATABASE/ROLE ... SET, the
 * configuration file), every later session, a plain role's with INSERT on
 * a ledger table included, would write ledger columns of its choosing,
 * named by verify_log() only (red team r30, S7).  The value is checked where
 * it is stored (PGC_S_TEST for ALTER ... SET) and where it is applied.
 */
static bool
bl_check_restore(bool *newval, void **extra, GucSource source)
{
	if (!*newval)
		return true;
	switch (source)
	{
		case PGC_S_CLIENT:
		case PGC_S_OVERRIDE:
		case PGC_S_INTERACTIVE:
		case PGC_S_SESSION:
			return true;
		default:
			GUC_check_errdetail("battledger.restore is set for one restoring session only: on its connection (PGOPTIONS='-c battledger.restore=on') or by SET in it.");
			GUC_check_errhint("Do not set it for a database, a role or the cluster.");
			return false;
	}
}

void
_PG_init(void)
{
	DefineCustomStringVariable("battledger.origin",
							   "Name of this database's transparency log (the checkpoint origin).",
							   "For example \"oem.example/batteries\"; also the name of the log's signing key.",
							   &bl_origin, NULL, PGC_SUSET, BL_GUC_PARALLEL, NULL, bl_origin_assign, NULL);
	DefineCustomStringVariable("battledger.log_key_file",
							   "Ed25519 private key (PKCS#8 PEM) that signs the log's checkpoints.",
							   "Read by the server process; never stored in a table.",
							   &bl_log_key_file, NULL, PGC_SUSET, GUC_SUPERUSER_ONLY | BL_GUC_PARALLEL, NULL, NULL, NULL);
	DefineCustomIntVariable("battledger.seal_checkpoint_every",
							"Most leaves one checkpoint of seal() covers; a larger backlog gets several.",
							"Witnesses hold a seal's leaves until their checkpoint arrives.",
							&bl_seal_checkpoint_every, 100000, 1, INT_MAX, PGC_SUSET, BL_GUC_PARALLEL, NULL, NULL, NULL);
	DefineCustomBoolVariable("battledger.seal_bulk_write",
							 "Whether seal() writes leaves and nodes in bulk (on) or through SQL statements (off).",
							 "Both write the same rows; off is for comparison (test/bench/log.sh). seal() uses statements anyway when a trigger or row security applies.",
							 &bl_seal_bulk_write, true, PGC_SUSET, GUC_NOT_IN_SAMPLE | BL_GUC_PARALLEL, NULL, NULL, NULL);
	DefineCustomStringVariable("battledger.witness_key_file",
							   "Ed25519 private key (PKCS#8 PEM) that cosigns other members' checkpoints.",
							   "Read by the server process; never stored in a table. Unset: verify but do not cosign.",
							   &bl_witness_key_file, NULL, PGC_SUSET, GUC_SUPERUSER_ONLY | BL_GUC_PARALLEL, NULL, NULL, NULL);
	DefineCustomIntVariable("battledger.seal_interval",
							"Seconds between seals by the background worker (0: no worker).",
							"Needs battledger in shared_preload_libraries and battledger.seal_database.",
							&bl_seal_interval, 0, 0, 86400, PGC_SIGHUP, GUC_UNIT_S | BL_GUC_PARALLEL, NULL, NULL, NULL);
	/* a PGC_POSTMASTER setting can only be defined while preloading */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomStringVariable("battledger.seal_database",
								   "Database whose log the background worker seals.",
								   NULL, &bl_seal_database, NULL, PGC_POSTMASTER, BL_GUC_PARALLEL, NULL, NULL, NULL);
	DefineCustomIntVariable("battledger.progress_interval",
							"How often seal(), verify(), verify_log(), verify_member() and migrate_to_ledger() report their progress (NOTICE; LOG in the worker).",
							"0: at every step; -1: never.",
							&bl_progress_interval, 10000, -1, INT_MAX, PGC_USERSET, GUC_UNIT_MS | BL_GUC_PARALLEL, NULL, NULL, NULL);
	/* read by verify_member() (SQL): only the setting lives here */
	DefineCustomIntVariable("battledger.max_backdate",
							"How far a member's row may be dated before a row that member sealed earlier, for verify_member().",
							"Longer than the member's longest writing transaction; rows dated further back are reported as backdated.",
							&bl_max_backdate, 600, 0, INT_MAX, PGC_SUSET, GUC_UNIT_S | BL_GUC_PARALLEL, NULL, NULL, NULL);
	/* read by the cosignature trigger (witness.c) and consortium_status() */
	DefineCustomIntVariable("battledger.max_clock_ahead",
							"How far ahead of this server's clock a cosignature arriving from another member may be dated.",
							"Larger than the members' clock skew; a cosignature dated further ahead is refused and stops the member's subscription.",
							&bl_max_clock_ahead, 600, 0, INT_MAX, PGC_SUSET, GUC_UNIT_S | BL_GUC_PARALLEL, NULL, NULL, NULL);
	/* read by consortium_status() (SQL): only the setting lives here */
	DefineCustomIntVariable("battledger.unsealed_after",
							"How long rows received from a member may wait for its checkpoint before consortium_status() says \"unsealed\".",
							"Longer than the members' seal interval plus the time a large transaction of theirs takes to apply here.",
							&bl_unsealed_after, 600, 1, INT_MAX, PGC_SUSET, GUC_UNIT_S | BL_GUC_PARALLEL, NULL, NULL, NULL);
	DefineCustomStringVariable("battledger.resolver",
							   "Resolver of this registry's GS1 Digital Links: the passports' digitalLink and the QR code point to it.",
							   "https://<host>[/<path prefix>]; empty: GS1's default, https://id.gs1.org.",
							   &bl_resolver, "", PGC_SUSET, BL_GUC_PARALLEL, bl_check_resolver, NULL, NULL);
	/*
	 * pg_restore COPYs the extension's own tables with their triggers in
	 * place (CREATE EXTENSION made them before the data): a superuser's
	 * restore takes the dumped rows as they are instead of writing them anew.
	 */
	DefineCustomBoolVariable("battledger.restore",
							 "Restoring a dump: rows inserted into ledger tables keep their dumped ledger columns.",
							 "For pg_restore only (PGOPTIONS='-c battledger.restore=on'); each row's hash is checked against its content, nothing else.",
							 &bl_restore, false, PGC_SUSET, BL_GUC_PARALLEL, bl_check_restore, NULL, NULL);
	MarkGUCPrefixReserved("battledger");
	chain_install_hooks();
	log_queue_install();
	if (process_shared_preload_libraries_in_progress)
		seal_worker_register();
}

/*
 * battledger._restoring() RETURNS boolean: battledger.restore, for the
 * registry's rules triggers (PL/pgSQL).  Read through the library, not with
 * current_setting(): before the library is loaded any role may SET a
 * placeholder of that name.
 */
PG_FUNCTION_INFO_V1(battledger_restoring);
Datum
battledger_restoring(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(bl_restore);
}
