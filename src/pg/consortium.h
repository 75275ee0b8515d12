/*
 * consortium.h — the member an apply worker brings rows from, and the
 * record of refused rows (consortium.c); used by the checks of arriving
 * rows (arrive.c), checkpoints (witness.c) and signatures (sign.c).
 */
#ifndef BATTLEDGER_CONSORTIUM_H
#define BATTLEDGER_CONSORTIUM_H

#include "postgres.h"
#include "pg_compat.h"

/*
 * A member as battledger.join() recorded it.  Only what cannot change while
 * the subscription lives: its keys are re-pinned in place
 * (repin_log_key(), repin_witness_key()), so the checks read them from
 * battledger.consortium_member each time (witness.c), never from here.
 */
typedef struct ConsortiumMember
{
	char	   *origin;			/* its log's origin, the ledger_origin of its rows */
} ConsortiumMember;

/* The member this apply worker's subscription brings rows from; NULL outside one. */
extern const ConsortiumMember *consortium_worker_member(void);

/* Is this worker copying a table for a member that just joined (rows in no order)? */
extern bool consortium_table_sync(void);

/*
 * Is the copy of a join still going on: a table-sync worker, or an apply
 * worker whose subscription has a table not ready yet?  Rows in other
 * tables (keys, roles, batches, log leaves) may then still be on the way.
 */
extern bool consortium_join_copying(void);

/*
 * Count a row received from origin into table tbl ("schema.table"), for
 * battledger.peer_arrival; written at commit.
 */
extern void consortium_count_row(const char *origin, const char *tbl);

/* Does battledger.peer_arrival exist (not under a 0.12.0 schema)? */
extern bool consortium_arrivals_counted(void);

/* Record a refused row or checkpoint (file and server log) and raise the ERROR. */
pg_noreturn extern void consortium_reject(const char *origin, const char *table, int64 seq,
										  const char *problem, const char *detail,
										  const char *row_json);

#endif
