/*
 * ledger_rel.c — per-backend cache of ledger table metadata.
 *
 * Entries are dropped by relcache invalidation, so ALTER TABLE or a new
 * trigger is seen by the next insert.  Each entry owns a memory context
 * under CacheMemoryContext holding its encoder.
 */
#include "postgres.h"

#include "ledger_rel.h"

#include "access/genam.h"
#include "access/nbtree.h"
#include "access/stratnum.h"
#include "catalog/index.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_index.h"
#include "catalog/pg_trigger.h"
#include "commands/defrem.h"
#include "commands/trigger.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/typcache.h"
#include "utils/timestamp.h"
#include "utils/syscache.h"
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"

#include "encode.h"
#include "hash256.h"
#include "ledger_table.h"
#include "pgutil.h"

static HTAB *ledger_rels = NULL;
/*
 * The entry ledger_rel_get() returned last: a bulk load asks for the same
 * table once per row.  Entries are never removed from ledger_rels (only
 * marked invalid), so the pointer stays good; an invalid entry is rebuilt
 * through the table as before.
 */
static LedgerRel *last_lr = NULL;

Oid
bl_rel_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

static void
ledger_rel_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	LedgerRel  *entry;

	if (ledger_rels == NULL)
		return;
	hash_seq_init(&status, ledger_rels);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (!OidIsValid(relid) || entry->relid == relid)
			entry->valid = false;
}

/*
 * A function changed: the planned CHECK constraints may have inlined its old
 * body.  Only the flag is cleared: a check being evaluated may be what
 * invalidated (a function that runs DDL), so the lists stay until the next
 * arriving row plans them again (the old copies stay in the entry's context
 * until the entry is rebuilt; a function change is rare).
 */
static void
ledger_rel_checks_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS status;
	LedgerRel  *entry;

	if (ledger_rels == NULL)
		return;
	hash_seq_init(&status, ledger_rels);
	while ((entry = hash_seq_search(&status)) != NULL)
		entry->checks_built = false;
}

/*
 * The column's number; with typid valid, the column must also be of that type
 * (and, for text, of the "C" collation): the C code reads these columns'
 * Datums as that type, so a same-named column of another type must never
 * reach it.
 */
static AttrNumber
attno_or_error(Relation rel, const char *colname, Oid typid)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), colname) != 0)
			continue;
		if (OidIsValid(typid) && att->atttypid != typid)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of ledger table \"%s\" has type %s, not %s",
							colname, RelationGetRelationName(rel),
							format_type_be(att->atttypid), format_type_be(typid)),
					 errdetail("The ledger's own columns are created by battledger.enable_ledger() with fixed types."),
					 errhint("Make the table a ledger table with battledger.enable_ledger().")));
		return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("ledger table \"%s\" has no column \"%s\"",
					RelationGetRelationName(rel), colname),
			 /* a registered table without ledger_origin is one this library's SQL was not updated for */
			 strcmp(colname, LEDGER_COL_ORIGIN) == 0 ?
			 errhint("The extension's SQL objects are older than its library: run ALTER EXTENSION battledger UPDATE.") :
			 errhint("Make the table a ledger table with battledger.enable_ledger().")));
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/*
 * Whether key column k of index irel orders and compares attno exactly as
 * the index enable_ledger() made: ascending (NULLS LAST), the default btree
 * operator class of the column's type (its family and input type), and the
 * column's own collation.  The chain trigger reads a chain's head as the
 * last entry of a backward scan and verify() walks the index forward, both
 * with the column's equality and collation: an index in another order
 * (ledger_seq DESC) or with another collation or operator class answered
 * with the wrong row (red team idx28).
 */
static bool
key_is_plain(Relation irel, Relation rel, int k, AttrNumber attno)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attno - 1);
	Oid			opc = GetDefaultOpClass(att->atttypid, BTREE_AM_OID);

	return irel->rd_index->indkey.values[k] == attno &&
		irel->rd_indoption[k] == 0 &&
		OidIsValid(opc) &&
		irel->rd_opfamily[k] == get_opclass_family(opc) &&
		irel->rd_opcintype[k] == get_opclass_input_type(opc) &&
		irel->rd_indcollation[k] == att->attcollation;
}

/*
 * The unique btree index whose columns are exactly (chain column,
 * ledger_origin, ledger_seq), or (ledger_origin, ledger_seq) for a single
 * chain, each as key_is_plain() says.  The chain column leads so that the
 * index also serves "the rows of this battery" across members, as it did
 * before origins.
 *
 * The table's owner may create other indexes: the first of the table's
 * indexes (in OID order) that matches is taken, and a REINDEX CONCURRENTLY
 * of the chain index (which no event trigger sees) gives the chain index a
 * new, larger OID.  So every property the scans rely on is checked here,
 * not only the columns: any index that passes is interchangeable with the
 * one enable_ledger() made.
 */
static Oid
find_chain_index(Relation rel, LedgerRel *lr)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	int			nkeys = lr->chain_attno ? 3 : 2;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		Relation	irel = index_open(indexoid, AccessShareLock);
		Form_pg_index ind = irel->rd_index;
		bool		match = ind->indisunique && ind->indisvalid && ind->indisready && ind->indislive &&
			irel->rd_rel->relam == BTREE_AM_OID &&
			ind->indnkeyatts == nkeys && ind->indnatts == nkeys &&
		/*
		 * Read from the catalog tuple, not through RelationGetIndexExpressions():
		 * that constant-folds the owner's expressions, running the owner's
		 * functions as whoever reads the table (a superuser running verify()).
		 */
			heap_attisnull(irel->rd_indextuple, Anum_pg_index_indpred, NULL) &&
			heap_attisnull(irel->rd_indextuple, Anum_pg_index_indexprs, NULL) &&
			key_is_plain(irel, rel, nkeys - 2, lr->origin_attno) &&
			irel->rd_indcollation[nkeys - 2] == C_COLLATION_OID &&
			key_is_plain(irel, rel, nkeys - 1, lr->seq_attno);

		if (match && lr->chain_attno)
			match = key_is_plain(irel, rel, 0, lr->chain_attno);
		if (match && lr->chain_attno)
		{
			Oid			opno = get_opfamily_member(irel->rd_opfamily[0],
												   irel->rd_opcintype[0],
												   irel->rd_opcintype[0],
												   BTEqualStrategyNumber);

			lr->chain_eq_proc = get_opcode(opno);
		}
		index_close(irel, AccessShareLock);
		if (match)
			return indexoid;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("ledger table \"%s\" has lost its chain index",
					RelationGetRelationName(rel)),
			 errdetail("No valid unique btree index is on exactly those columns, ascending, with their default operator classes and collations, without a predicate, expressions or INCLUDE columns."),
			 errhint("Recreate the unique index on (chain column, ledger_origin, ledger_seq) that enable_ledger() created.")));
	return InvalidOid;
}

/*
 * Name of a BEFORE INSERT row trigger that fires after the trigger named
 * "ours" when triggers fire as replica (true: rows applied by logical
 * replication, which fires ENABLE REPLICA and ENABLE ALWAYS triggers) or as
 * origin (false: ENABLE and ENABLE ALWAYS); NULL if none.  Such a trigger
 * could change a row after it was hashed or checked.
 */
static char *
find_late_trigger(Relation rel, const char *ours, bool replica, MemoryContext mcxt)
{
	TriggerDesc *td = rel->trigdesc;
	bool		seen_ours = false;

	if (td == NULL)
		return NULL;
	for (int i = 0; i < td->numtriggers; i++)
	{
		Trigger    *t = &td->triggers[i];
		bool		fires;

		if (strcmp(t->tgname, ours) == 0)
		{
			seen_ours = true;
			continue;
		}
		fires = t->tgenabled == TRIGGER_FIRES_ALWAYS ||
			t->tgenabled == (replica ? TRIGGER_FIRES_ON_REPLICA : TRIGGER_FIRES_ON_ORIGIN);
		if (seen_ours && fires &&
			TRIGGER_FOR_ROW(t->tgtype) && TRIGGER_FOR_BEFORE(t->tgtype) &&
			TRIGGER_FOR_INSERT(t->tgtype))
			return MemoryContextStrdup(mcxt, t->tgname);
	}
	return NULL;
}

/*
 * Whether the table's log trigger is there and fires where the chain trigger
 * does (ENABLE or ENABLE ALWAYS).  The chain trigger queues the rows it
 * chains only then (log_entries.c): a table whose log trigger a superuser
 * disabled, or one of a release without the log, keeps out of log_pending
 * as it did when the trigger itself read the rows.
 */
static bool
has_log_trigger(Relation rel)
{
	TriggerDesc *td = rel->trigdesc;

	if (td == NULL)
		return false;
	for (int i = 0; i < td->numtriggers; i++)
	{
		Trigger    *t = &td->triggers[i];

		if (strcmp(t->tgname, LEDGER_LOG_TRIGGER) == 0)
			return (t->tgenabled == TRIGGER_FIRES_ALWAYS || t->tgenabled == TRIGGER_FIRES_ON_ORIGIN) &&
				TRIGGER_FOR_INSERT(t->tgtype) && !TRIGGER_FOR_ROW(t->tgtype) &&
				!TRIGGER_FOR_BEFORE(t->tgtype) && !TRIGGER_FOR_INSTEAD(t->tgtype);
	}
	return false;
}

/*
 * The registration enable_ledger() recorded for relid in
 * battledger.ledger_tables: chain_by (NULL: one chain) and signer roles
 * (NULL: unsigned), copied into mcxt.  False if relid is not registered.
 * The registry, not the trigger's arguments, says what a ledger table is:
 * only the extension's owner can write it.
 */
bool
ledger_registration(Oid relid, char **chain_by, char **signer_roles, TimestampTz *v1_before,
					MemoryContext mcxt)
{
	int			nest;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	bool		found;

	*chain_by = NULL;
	*signer_roles = NULL;
	nest = bl_spi_connect();
	if (v1_before)
		*v1_before = DT_NOBEGIN;
	/*
	 * signed_v1_before read by name through jsonb: between installing this
	 * library and ALTER EXTENSION UPDATE, the registry has no such column yet.
	 */
	if (SPI_execute_with_args("SELECT chain_by::text, signer_roles::text, "
							  "(pg_catalog.to_jsonb(l) OPERATOR(pg_catalog.->>) 'signed_v1_before')::pg_catalog.timestamptz "
							  "FROM battledger.ledger_tables l WHERE tbl = $1::pg_catalog.regclass",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.ledger_tables");
	found = SPI_processed == 1;
	if (found)
	{
		char	   *c = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *r = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		bool		isnull;
		Datum		t = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);

		if (c != NULL && c[0] != '\0')
			*chain_by = MemoryContextStrdup(mcxt, c);
		if (r != NULL && r[0] != '\0')
			*signer_roles = MemoryContextStrdup(mcxt, r);
		if (v1_before && !isnull)
			*v1_before = DatumGetTimestampTz(t);
	}
	bl_spi_finish(nest);
	return found;
}

void
ledger_not_registered_error(Relation rel)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("\"%s\" is not a ledger table", RelationGetRelationName(rel)),
			 errdetail("It is not registered in battledger.ledger_tables; only battledger.enable_ledger() registers a table."),
			 errhint("A ledger table restored alone (pg_dump -t) lacks its registration: restore the whole database, or the extension's battledger.ledger_tables with it.")));
}

/*
 * Fill the column numbers (checking each type) and find the chain index.
 * Shared by the cache and by _register(), which checks a table before it
 * becomes a ledger.
 */
void
ledger_rel_columns(Relation rel, LedgerRel *lr, const char *chain_by, bool is_signed)
{
	Oid			h256 = hash256_type_oid();
	Form_pg_attribute oatt;

	lr->origin_attno = attno_or_error(rel, LEDGER_COL_ORIGIN, TEXTOID);
	oatt = TupleDescAttr(RelationGetDescr(rel), lr->origin_attno - 1);
	if (oatt->attcollation != C_COLLATION_OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of ledger table \"%s\" must have collation \"C\"",
						LEDGER_COL_ORIGIN, RelationGetRelationName(rel))));
	lr->seq_attno = attno_or_error(rel, LEDGER_COL_SEQ, INT8OID);
	lr->prev_attno = attno_or_error(rel, LEDGER_COL_PREV, h256);
	lr->hash_attno = attno_or_error(rel, LEDGER_COL_HASH, h256);
	lr->chain_attno = 0;
	lr->chain_eq_proc = InvalidOid;
	if (chain_by != NULL && chain_by[0] != '\0')
	{
		Form_pg_attribute att;
		TypeCacheEntry *tce;

		lr->chain_attno = attno_or_error(rel, chain_by, InvalidOid);
		att = TupleDescAttr(RelationGetDescr(rel), lr->chain_attno - 1);
		lr->chain_collation = att->attcollation;
		lr->chain_byval = att->attbyval;
		lr->chain_len = att->attlen;
		tce = lookup_type_cache(att->atttypid, TYPECACHE_HASH_PROC);
		if (!OidIsValid(tce->hash_proc))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("chain column \"%s\" has no hash function", chain_by)));
		if (lr->mcxt)
			fmgr_info_cxt(tce->hash_proc, &lr->chain_hash_fn, lr->mcxt);
	}
	lr->index_oid = find_chain_index(rel, lr);
	if (is_signed)
	{
		lr->key_attno = attno_or_error(rel, LEDGER_COL_KEY_ID, h256);
		lr->sig_attno = attno_or_error(rel, LEDGER_COL_SIG, BYTEAOID);
		lr->at_attno = attno_or_error(rel, LEDGER_COL_AT, TIMESTAMPTZOID);
		lr->batch_attno = attno_or_error(rel, LEDGER_COL_BATCH, TEXTOID);
	}
}

/*
 * The table's unique and exclusion indexes besides the chain index, as the
 * arrival check needs them.  Whether an index is ready for inserts can
 * change without the table's relcache entry (CREATE INDEX CONCURRENTLY):
 * that is read when the index is opened, not here.
 */
static void
find_unique_indexes(Relation rel, LedgerRel *lr)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;

	lr->nunique = 0;
	lr->unique = MemoryContextAllocZero(lr->mcxt, sizeof(LedgerUnique) * Max(list_length(indexes), 1));
	foreach(lc, indexes)
	{
		Oid			ioid = lfirst_oid(lc);
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(ioid));
		Form_pg_index ind;
		LedgerUnique *u;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for index %u", ioid);
		ind = (Form_pg_index) GETSTRUCT(tup);
		/*
		 * Unique and exclusion constraints, deferrable ones too: a replicated
		 * row breaking an exclusion constraint failed the apply worker in a
		 * loop, unnamed, and one breaking a deferrable unique constraint was
		 * stored, since its commit-time recheck does not fire in replica mode
		 * (red team r8, U1/U2).
		 */
		if ((ind->indisunique || ind->indisexclusion) && ioid != lr->index_oid)
		{
			u = &lr->unique[lr->nunique++];
			u->indexoid = ioid;
			u->nkeys = ind->indnkeyatts;
			u->null_skips = !ind->indnullsnotdistinct;
			for (int k = 0; k < ind->indnkeyatts; k++)
			{
				u->keys[k] = ind->indkey.values[k];
				if (u->keys[k] == InvalidAttrNumber)
					u->null_skips = false;	/* an expression: its NULL is not a column's */
			}
		}
		ReleaseSysCache(tup);
	}
	list_free(indexes);
}

static void
ledger_rel_build(Relation rel, LedgerRel *lr)
{
	char	   *chain_by;
	char	   *signer_roles;

	if (lr->mcxt)
		MemoryContextDelete(lr->mcxt);
	lr->mcxt = AllocSetContextCreate(CacheMemoryContext, "battledger ledger table",
									 ALLOCSET_SMALL_SIZES);
	if (!ledger_registration(RelationGetRelid(rel), &chain_by, &signer_roles, &lr->v1_before, lr->mcxt))
		ledger_not_registered_error(rel);
	lr->qualname = MemoryContextStrdup(lr->mcxt, ledger_table_name(RelationGetRelid(rel)));
	/*
	 * Decided once per entry, not by a strcmp per row: it is qualname's, and
	 * lives as long: renaming a ledger table, moving it to another schema
	 * or renaming its schema is refused (guard.c), and any ALTER TABLE
	 * invalidates the table's relcache entry, which rebuilds this one.
	 */
	lr->is_key_event = strcmp(lr->qualname, "battledger.key_event") == 0;
	ledger_rel_columns(rel, lr, chain_by, signer_roles != NULL);
	if (lr->chain_attno)
		fmgr_info_cxt(lr->chain_eq_proc, &lr->chain_eq_fn, lr->mcxt);
	lr->late_trigger = find_late_trigger(rel, LEDGER_CHAIN_TRIGGER, false, lr->mcxt);
	lr->late_arrive_trigger = find_late_trigger(rel, LEDGER_ARRIVE_TRIGGER, true, lr->mcxt);
	lr->log_queued = has_log_trigger(rel);
	lr->encoder = row_encoder_build(RelationGetDescr(rel), lr->mcxt, ENCODE_ROW);
	find_unique_indexes(rel, lr);
	lr->checks_built = false;
	lr->checks = NIL;
	lr->check_names = NIL;
	lr->signer_roles = NULL;
	lr->nsigner_roles = 0;
	if (signer_roles != NULL)
	{
		lr->signer_roles = parse_role_list(signer_roles, &lr->nsigner_roles, lr->mcxt);
		lr->sign_encoder = row_encoder_build(RelationGetDescr(rel), lr->mcxt, ENCODE_SIGNING);
	}
	lr->valid = true;
}

/*
 * The cache entry of a registered ledger table; ERROR if rel is not one, or
 * if its ledger columns are not of the types enable_ledger() gave them.
 */
LedgerRel *
ledger_rel_get(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	LedgerRel  *lr;
	bool		found;

	if (ledger_rels == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(LedgerRel);
		ctl.hcxt = CacheMemoryContext;
		ledger_rels = hash_create("battledger ledger tables", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(ledger_rel_invalidate, (Datum) 0);
		CacheRegisterSyscacheCallback(PROCOID, ledger_rel_checks_invalidate, (Datum) 0);
	}
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		ledger_not_registered_error(rel);
	if (last_lr != NULL && last_lr->relid == relid && last_lr->valid)
		return last_lr;
	lr = hash_search(ledger_rels, &relid, HASH_ENTER, &found);
	if (!found)
	{
		lr->mcxt = NULL;
		lr->valid = false;
	}
	if (!lr->valid)
	{
		PG_TRY();
		{
			ledger_rel_build(rel, lr);
		}
		PG_CATCH();
		{
			lr->valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	last_lr = lr;
	return lr;
}
