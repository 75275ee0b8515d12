/*
 * usage_lock.c — the usage state's turn per commitment (87_usage_state.sql).
 *
 * A usage report and its disclosure meet by commitment, and the trigger
 * that comes second folds the report into the battery's usage state; both
 * take a lock on the commitment first, so that two READ COMMITTED
 * transactions writing them concurrently do not both miss the other.
 * 0.23.0 took it with pg_advisory_xact_lock(hashtextextended(...)), a lock
 * any role may take in its own session: a role that may read battery_event
 * (battledger_member, a reader) read a report's commitment, held that lock,
 * and the disclosure the application wrote after the report waited as long
 * as that session lasted (red team r31 L1; F9 was the same for the rules'
 * turn).  Here the lock's fourth field is one no SQL-level advisory lock
 * uses (they use 1 and 2), as chain.c's, log_seal.c's and consortium.c's
 * (all taken by bl_advisory_xact_lock(), pgutil.h).
 */
#include "postgres.h"

#include "hash256.h"
#include "pgutil.h"

#include "fmgr.h"
#include "miscadmin.h"

PG_FUNCTION_INFO_V1(battledger_usage_lock);

/*
 * _usage_lock(commitment hash256) RETURNS void: this transaction's turn on
 * the commitment (its first 8 bytes: two commitments sharing them merely
 * wait for each other).  Not PUBLIC's: held in an open transaction it
 * would stall the folds as the SQL-level lock did.
 */
Datum
battledger_usage_lock(PG_FUNCTION_ARGS)
{
	Hash256    *c = PG_GETARG_HASH256_P(0);
	uint32		k1;
	uint32		k2;

	memcpy(&k1, c->bytes, sizeof(k1));
	memcpy(&k2, c->bytes + sizeof(k1), sizeof(k2));
	bl_advisory_xact_lock(MyDatabaseId, k1, k2, BL_LOCK_USAGE);
	PG_RETURN_VOID();
}
