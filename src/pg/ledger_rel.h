/*
 * ledger_rel.h — what the chain trigger and verify() need to know about a
 * ledger table, derived once from its catalog entries and cached per backend.
 */
#ifndef BATTLEDGER_LEDGER_REL_H
#define BATTLEDGER_LEDGER_REL_H

#include "postgres.h"
#include "pg_compat.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/relcache.h"

#include "encode.h"
#include "hash256.h"
#include "ledger_table.h"

/*
 * A unique index of a ledger table other than its chain index (a signature,
 * a passport id): the arrival check probes it before a replicated row is
 * stored (arrive.c).
 */
typedef struct LedgerUnique
{
	Oid			indexoid;
	/*
	 * Every key is a plain column and NULLs are distinct: a row with a NULL
	 * in any key cannot conflict (PostgreSQL's own check passes it too), so
	 * the index need not be opened for it.
	 */
	bool		null_skips;
	int			nkeys;
	AttrNumber	keys[INDEX_MAX_KEYS];
} LedgerUnique;

typedef struct LedgerRel
{
	Oid			relid;
	bool		valid;
	char	   *qualname;		/* schema.table, as leaves name the table */
	bool		is_key_event;	/* qualname is battledger.key_event (keys.c checks its rows' keys) */
	MemoryContext mcxt;
	AttrNumber	chain_attno;	/* 0 when the table has a single chain */
	Oid			chain_collation;
	AttrNumber	origin_attno;
	AttrNumber	seq_attno;
	AttrNumber	prev_attno;
	AttrNumber	hash_attno;
	Oid			index_oid;		/* unique (chain column?, ledger_origin, ledger_seq) */
	RegProcedure chain_eq_proc; /* equality for the index's first column */
	FmgrInfo	chain_eq_fn;	/* the same, ready to call */
	bool		chain_byval;
	int16		chain_len;
	FmgrInfo	chain_hash_fn;	/* the chain key type's hash, for lock striping */
	char	   *late_trigger;	/* a BEFORE INSERT trigger that fires after the chain trigger */
	char	   *late_arrive_trigger;	/* ... after the arrival check, on replicated rows */
	bool		log_queued;		/* its log trigger fires as origin: chained rows go to log_pending */
	RowEncoder *encoder;		/* row bytes: what the chain hash covers */

	/* signed tables only (signer_roles != NULL) */
	char	  **signer_roles;
	int			nsigner_roles;
	AttrNumber	key_attno;
	AttrNumber	sig_attno;
	AttrNumber	at_attno;
	AttrNumber	batch_attno;
	RowEncoder *sign_encoder;	/* signing bytes: what the member signs */
	/*
	 * Rows dated before this were signed under signing encoding v1 (no table
	 * name): those written before the table's update to 0.3.0.  DT_NOBEGIN:
	 * every row is v2.
	 */
	TimestampTz v1_before;

	/* unique and exclusion indexes other than index_oid (never changed in place; a new or dropped index invalidates) */
	int			nunique;
	LedgerUnique *unique;

	/*
	 * The table's CHECK constraints, planned, for the arrival check (arrive.c):
	 * built on the first arriving row, never by a reader such as verify()
	 * (planning folds the owner's functions, which must not run as whoever
	 * reads).  checks_built is reset with the entry, and by any change to a
	 * function (pg_proc): planning inlines the owner's SQL functions, whose
	 * body CREATE OR REPLACE changes without touching the table, and the
	 * insert's own check uses the new body (red team r9, N3).
	 */
	bool		checks_built;
	List	   *checks;			/* of Expr */
	List	   *check_names;	/* of char * */
} LedgerRel;

/*
 * Look up (building if needed) the cache entry; ERROR if rel is not a ledger
 * table registered by enable_ledger(), or if its ledger columns do not have
 * their types.  Every C entry point that reads a ledger table goes through it.
 */
extern LedgerRel *ledger_rel_get(Relation rel);

/* The registration of relid (chain_by and signer roles, NULL when none), false if none. */
extern bool ledger_registration(Oid relid, char **chain_by, char **signer_roles,
								TimestampTz *v1_before, MemoryContext mcxt);
/*
 * Fill lr's column numbers and chain index, ERROR unless each ledger column
 * has its type and the chain index exists (lr->mcxt NULL: no function cache).
 */
extern void ledger_rel_columns(Relation rel, LedgerRel *lr, const char *chain_by, bool is_signed);
pg_noreturn extern void ledger_not_registered_error(Relation rel);

/* The owner of a relation (ERROR if it does not exist). */
extern Oid	bl_rel_owner(Oid relid);

#endif
