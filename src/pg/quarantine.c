/*
 * quarantine.c — holding back rows of a quarantined chain.
 *
 * When a member sends a row that is refused, its subscription stops, and
 * every later row of that member waits behind it — including its other
 * chains.  An operator can quarantine the chain (or every chain of a table)
 * from that member: battledger.quarantine_chain().  Arriving rows of a
 * quarantined chain are then not checked and not stored but held, whole, in
 * battledger.held_row, so the subscription goes on with everything else.
 * battledger.release_chain() later re-checks the held rows in position order
 * through the arrival checks: those that extend the chain are stored, the
 * rest stay held with the reason (docs/consortium.md, "A refused row").
 *
 * The quarantine list is read once per transaction (a remote transaction, in
 * an apply worker), not per row.
 */
#include "postgres.h"

#include "quarantine.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ledger_rel.h"
#include "pgutil.h"

typedef struct Quarantined
{
	char	   *origin;
	char	   *tbl;
	char	   *chain_key;		/* NULL: every chain of tbl */
} Quarantined;

static List *entries = NIL;
static LocalTransactionId loaded_lxid = InvalidLocalTransactionId;

static void
load_entries(void)
{
	int			nest;
	MemoryContext cxt = TopTransactionContext;

	entries = NIL;
	nest = bl_spi_connect();
	if (SPI_execute("SELECT origin, tbl, chain_key FROM battledger.quarantine", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.quarantine");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		Quarantined *q = palloc(sizeof(Quarantined));
		char	   *k = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);

		q->origin = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		q->tbl = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
		q->chain_key = k ? pstrdup(k) : NULL;
		entries = lappend(entries, q);
		MemoryContextSwitchTo(old);
	}
	bl_spi_finish(nest);
	loaded_lxid = BL_MY_LXID();
}

bool
quarantine_holds(Relation rel, LedgerRel *lr, const char *origin, HeapTuple tup,
				 Datum *values, bool *nulls)
{
	ListCell   *lc;
	char	   *key = NULL;
	bool		held = false;

	if (loaded_lxid != BL_MY_LXID())
		load_entries();
	if (entries == NIL || origin == NULL)
		return false;
	if (lr->chain_attno && !nulls[lr->chain_attno - 1])
	{
		Oid			outfn;
		bool		varlena;

		getTypeOutputInfo(TupleDescAttr(RelationGetDescr(rel), lr->chain_attno - 1)->atttypid,
						  &outfn, &varlena);
		key = OidOutputFunctionCall(outfn, values[lr->chain_attno - 1]);
	}
	foreach(lc, entries)
	{
		Quarantined *q = lfirst(lc);

		if (strcmp(q->origin, origin) == 0 && strcmp(q->tbl, lr->qualname) == 0 &&
			(q->chain_key == NULL || (key != NULL && strcmp(q->chain_key, key) == 0)))
		{
			held = true;
			break;
		}
	}
	if (held)
	{
		Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, INT8OID, TEXTOID};
		Datum		args[5];
		char		argnulls[5] = {' ', ' ', ' ', ' ', ' '};
		Datum		rec = heap_copy_tuple_as_datum(tup, RelationGetDescr(rel));
		int			nest;

		args[0] = CStringGetTextDatum(origin);
		args[1] = CStringGetTextDatum(lr->qualname);
		args[2] = key ? CStringGetTextDatum(key) : (Datum) 0;
		argnulls[2] = key ? ' ' : 'n';
		args[3] = nulls[lr->seq_attno - 1] ? (Datum) 0 : values[lr->seq_attno - 1];
		argnulls[3] = nulls[lr->seq_attno - 1] ? 'n' : ' ';
		args[4] = DirectFunctionCall1(row_to_json, rec);
		nest = bl_spi_connect();
		if (SPI_execute_with_args("INSERT INTO battledger.held_row (origin, tbl, chain_key, seq, row_data) "
								  "VALUES ($1, $2, $3, $4, $5::pg_catalog.jsonb)",
								  5, types, args, argnulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not hold a row in battledger.held_row");
		bl_spi_finish(nest);
	}
	return held;
}
