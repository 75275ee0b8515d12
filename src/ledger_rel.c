/*
 * ledger_rel.c — per-backend cache of ledger table metadata.
 *
 * Entries are dropped by relcache invalidation, so ALTER TABLE or a new
 * trigger is seen by the next insert.  Each entry owns a memory context
 * under CacheMemoryContext holding its encoder.
 */
#include "ledger_rel.h"
#include "keys.h"

#include "access/genam.h"
#include "access/nbtree.h"
#include "access/stratnum.h"
#include "catalog/index.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/typcache.h"

static HTAB *ledger_rels = NULL;

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

static AttrNumber
attno_or_error(Relation rel, const char *colname)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), colname) == 0)
			return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("ledger table \"%s\" has no column \"%s\"",
					RelationGetRelationName(rel), colname),
			 errhint("Make the table a ledger table with battledger.enable_ledger().")));
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/*
 * The unique btree index whose key columns are exactly (chain column,
 * ledger_origin, ledger_seq), or (ledger_origin, ledger_seq) for a single
 * chain.  The chain column leads so that the index also serves "the rows of
 * this battery" across members, as it did before origins.
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
		bool		match = ind->indisunique && ind->indisvalid &&
			irel->rd_rel->relam == BTREE_AM_OID &&
			ind->indnkeyatts == nkeys && RelationGetIndexPredicate(irel) == NIL &&
			RelationGetIndexExpressions(irel) == NIL &&
			ind->indkey.values[nkeys - 2] == lr->origin_attno &&
			irel->rd_indcollation[nkeys - 2] == C_COLLATION_OID &&
			ind->indkey.values[nkeys - 1] == lr->seq_attno;

		if (match && lr->chain_attno)
			match = ind->indkey.values[0] == lr->chain_attno;
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
			 errhint("Recreate the unique index on (chain column, ledger_origin, ledger_seq) that enable_ledger() created.")));
	return InvalidOid;
}

/* Name of an enabled BEFORE INSERT row trigger that would fire after the chain trigger. */
static char *
find_late_trigger(Relation rel, MemoryContext mcxt)
{
	TriggerDesc *td = rel->trigdesc;
	bool		seen_chain = false;

	if (td == NULL)
		return NULL;
	for (int i = 0; i < td->numtriggers; i++)
	{
		Trigger    *t = &td->triggers[i];

		if (strcmp(t->tgname, LEDGER_CHAIN_TRIGGER) == 0)
		{
			seen_chain = true;
			continue;
		}
		if (seen_chain && t->tgenabled != TRIGGER_DISABLED &&
			TRIGGER_FOR_ROW(t->tgtype) && TRIGGER_FOR_BEFORE(t->tgtype) &&
			TRIGGER_FOR_INSERT(t->tgtype))
			return MemoryContextStrdup(mcxt, t->tgname);
	}
	return NULL;
}

static void
ledger_rel_build(Relation rel, LedgerRel *lr, const char *chain_by, const char *signer_roles)
{
	if (lr->mcxt)
		MemoryContextDelete(lr->mcxt);
	lr->mcxt = AllocSetContextCreate(CacheMemoryContext, "battledger ledger table",
									 ALLOCSET_SMALL_SIZES);
	lr->qualname = MemoryContextStrdup(lr->mcxt,
									   psprintf("%s.%s", get_namespace_name(RelationGetNamespace(rel)),
												RelationGetRelationName(rel)));
	lr->origin_attno = attno_or_error(rel, LEDGER_COL_ORIGIN);
	lr->seq_attno = attno_or_error(rel, LEDGER_COL_SEQ);
	lr->prev_attno = attno_or_error(rel, LEDGER_COL_PREV);
	lr->hash_attno = attno_or_error(rel, LEDGER_COL_HASH);
	lr->chain_attno = 0;
	lr->chain_eq_proc = InvalidOid;
	if (chain_by != NULL && chain_by[0] != '\0')
	{
		Form_pg_attribute att;
		TypeCacheEntry *tce;

		lr->chain_attno = attno_or_error(rel, chain_by);
		att = TupleDescAttr(RelationGetDescr(rel), lr->chain_attno - 1);
		lr->chain_collation = att->attcollation;
		lr->chain_byval = att->attbyval;
		lr->chain_len = att->attlen;
		tce = lookup_type_cache(att->atttypid, TYPECACHE_HASH_PROC);
		if (!OidIsValid(tce->hash_proc))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("chain column \"%s\" has no hash function", chain_by)));
		fmgr_info_cxt(tce->hash_proc, &lr->chain_hash_fn, lr->mcxt);
	}
	lr->index_oid = find_chain_index(rel, lr);
	if (lr->chain_attno)
		fmgr_info_cxt(lr->chain_eq_proc, &lr->chain_eq_fn, lr->mcxt);
	lr->late_trigger = find_late_trigger(rel, lr->mcxt);
	lr->encoder = row_encoder_build(RelationGetDescr(rel), lr->mcxt, ENCODE_ROW);
	lr->signer_roles = NULL;
	lr->nsigner_roles = 0;
	if (signer_roles != NULL && signer_roles[0] != '\0')
	{
		lr->signer_roles = parse_role_list(signer_roles, &lr->nsigner_roles, lr->mcxt);
		lr->key_attno = attno_or_error(rel, LEDGER_COL_KEY_ID);
		lr->sig_attno = attno_or_error(rel, LEDGER_COL_SIG);
		lr->at_attno = attno_or_error(rel, LEDGER_COL_AT);
		lr->batch_attno = attno_or_error(rel, LEDGER_COL_BATCH);
		lr->sign_encoder = row_encoder_build(RelationGetDescr(rel), lr->mcxt, ENCODE_SIGNING);
	}
	lr->valid = true;
}

LedgerRel *
ledger_rel_get(Relation rel, const char *chain_by, const char *signer_roles)
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
	}
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
			ledger_rel_build(rel, lr, chain_by, signer_roles);
		}
		PG_CATCH();
		{
			lr->valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	return lr;
}
