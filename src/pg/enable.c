/*
 * enable.c — the last step of enable_ledger(): checking the prepared table
 * and making it a ledger (its triggers and its registration).
 *
 * enable_ledger() runs as its caller, so that only the owner of a table can
 * add its ledger columns and chain index.  The triggers and the registration
 * are what make those columns mean something, so they are not left to the
 * caller: the trigger functions are not executable by PUBLIC (nobody but a
 * superuser can attach them to a table), and the registry is writable only by
 * the extension's owner.  _register() checks everything a ledger table must
 * be — owned by the caller, an ordinary permanent table with no inheritance,
 * the ledger columns with their types, the chain index, every column
 * encodable, no rows, no ledger triggers yet, no BEFORE INSERT row trigger
 * that would fire on arriving rows or after the chain trigger (the DDL guard
 * refuses those on a ledger table) — and only then creates the
 * triggers and the registry row as the extension's owner.  Calling it
 * directly can therefore make nothing but a genuine, empty ledger table.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_index.h"
#include "catalog/dependency.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "nodes/primnodes.h"
#include "nodes/readfuncs.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/snapmgr.h"

#include "encode.h"
#include "ledger_rel.h"
#include "ledger_table.h"
#include "pgutil.h"

static void
refuse(Relation rel, const char *msg, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("table \"%s\" cannot become a ledger table: %s",
					RelationGetRelationName(rel), msg),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("Use battledger.enable_ledger() on a new, empty table.")));
}

/*
 * Whether comparing values of type typid under collation collid (a column's)
 * uses a nondeterministic collation anywhere: the column's own, or one of a
 * composite's attributes, an array's elements, a range's bounds (through
 * domains).  Under such a collation two different strings are equal: they
 * are one chain key to the chain head cache, the chain index and verify(),
 * though the rows' bytes spell two (red team r8, K1).
 */
static bool
nondeterministic_within(Oid typid, Oid collid)
{
	char		typtype;

	check_stack_depth();
	if (OidIsValid(collid) && !get_collation_isdeterministic(collid))
		return true;
	typid = getBaseType(typid);
	typtype = get_typtype(typid);
	if (OidIsValid(get_element_type(typid)))
		return nondeterministic_within(get_element_type(typid), collid);
	if (typtype == TYPTYPE_RANGE)
		return nondeterministic_within(get_range_subtype(typid), get_range_collation(typid));
	if (typtype == TYPTYPE_MULTIRANGE)
		return nondeterministic_within(get_multirange_range(typid), InvalidOid);
	if (typtype == TYPTYPE_COMPOSITE)
	{
		TupleDesc	desc = lookup_rowtype_tupdesc(typid, -1);
		bool		found = false;

		for (int i = 0; i < desc->natts && !found; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (!att->attisdropped)
				found = nondeterministic_within(att->atttypid, att->attcollation);
		}
		ReleaseTupleDesc(desc);
		return found;
	}
	return false;
}

/* Every row, whoever can see it: a scan in C knows no row-level security. */
static bool
has_rows(Relation rel)
{
	TableScanDesc scan = bl_table_beginscan(rel, SnapshotSelf);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bool		found = table_scan_getnextslot(scan, ForwardScanDirection, slot);

	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	return found;
}

/*
 * Whether a stored index predicate is exactly "ledger_sig IS NOT NULL".  Read
 * from the catalog tuple and compared as a node tree, not through
 * RelationGetIndexPredicate(): that constant-folds the owner's expressions,
 * running the owner's functions (see find_chain_index() in ledger_rel.c).
 */
static bool
predicate_is_sig_not_null(Relation irel, AttrNumber sig_attno)
{
	bool		isnull;
	Datum		d = SysCacheGetAttr(INDEXRELID, irel->rd_indextuple, Anum_pg_index_indpred, &isnull);
	Node	   *pred;
	NullTest   *nt;

	if (isnull)
		return false;
	pred = (Node *) stringToNode(TextDatumGetCString(d));
	if (pred == NULL || !IsA(pred, NullTest))
		return false;
	nt = (NullTest *) pred;
	return nt->nulltesttype == IS_NOT_NULL && !nt->argisrow &&
		nt->arg != NULL && IsA(nt->arg, Var) &&
		((Var *) nt->arg)->varattno == sig_attno &&
		((Var *) nt->arg)->varlevelsup == 0;
}

/*
 * A valid unique index on exactly (ledger_sig) that refuses every repeated
 * signature: the partial one enable_ledger() creates since 0.13.0 (WHERE
 * ledger_sig IS NOT NULL: a NULL, a batch-signed row's, never conflicts, so
 * leaving NULLs out weakens nothing), or the UNIQUE constraint it created
 * before.  No expression key, no other predicate (one could exempt rows).
 */
static bool
has_unique_signature(Relation rel, AttrNumber sig_attno)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		Relation	irel = index_open(indexoid, AccessShareLock);
		Form_pg_index ind = irel->rd_index;

		/* the catalog tuple, not RelationGetIndex*(): see find_chain_index() */
		if (ind->indisunique && ind->indisvalid && ind->indnkeyatts == 1 &&
			ind->indkey.values[0] == sig_attno &&
			heap_attisnull(irel->rd_indextuple, Anum_pg_index_indexprs, NULL) &&
			(heap_attisnull(irel->rd_indextuple, Anum_pg_index_indpred, NULL) ?
			 OidIsValid(get_index_constraint(indexoid)) :
			 predicate_is_sig_not_null(irel, sig_attno)))
			found = true;
		index_close(irel, AccessShareLock);
		if (found)
			break;
	}
	return found;
}

static bool
is_ledger_function(Oid fn)
{
	static const char *const names[] = {"_chain_trigger", "_refuse_trigger", "_arrive_trigger", "_log_trigger"};
	char	   *nsp = get_namespace_name(get_func_namespace(fn));

	if (nsp == NULL || strcmp(nsp, "battledger") != 0)
		return false;
	for (size_t i = 0; i < lengthof(names); i++)
		if (strcmp(get_func_name(fn), names[i]) == 0)
			return true;
	return false;
}

static Oid
extension_owner(void)
{
	int			nest = bl_spi_connect();
	bool		isnull;
	Oid			owner;

	if (SPI_execute("SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'battledger'",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "extension battledger is not installed");
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	bl_spi_finish(nest);
	return owner;
}

static void
run(const char *sql)
{
	if (SPI_execute(sql, false, 0) < 0)
		elog(ERROR, "could not run: %s", sql);
}

/*
 * battledger._register(tbl regclass, chain_by name, chain_index name,
 *                      signer_roles text[]) RETURNS void
 *
 * The last step of enable_ledger(); see the file comment.
 */
PG_FUNCTION_INFO_V1(battledger_register);
Datum
battledger_register(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *chain_by = PG_ARGISNULL(1) ? NULL : pstrdup(NameStr(*PG_GETARG_NAME(1)));
	char	   *chain_index;
	char	   *signer_roles = NULL;
	Relation	rel;
	LedgerRel	lr;
	char	   *old_chain,
			   *old_roles;
	char	   *qualname;
	const char *args;
	Oid			save_userid;
	int			save_sec;
	int			nest;
	Oid			argtypes[4] = {OIDOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table and chain index must not be null")));
	relid = PG_GETARG_OID(0);
	chain_index = NameStr(*PG_GETARG_NAME(2));
	if (!PG_ARGISNULL(3))
	{
		ArrayType  *a = PG_GETARG_ARRAYTYPE_P(3);

		if (ARR_NDIM(a) != 1 || array_contains_nulls(a))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("signer_roles must be a one-dimensional array without nulls")));
		signer_roles = OidOutputFunctionCall(F_ARRAY_OUT, PointerGetDatum(a));
	}

	/*
	 * Ownership first, without a lock: an exclusive lock requested on a table
	 * one does not own (a catalog!) would queue behind its readers and block
	 * everyone after them.
	 */
	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!bl_rel_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(relid));
	if (IsCatalogRelationOid(relid) || relid < FirstNormalObjectId)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("a system table cannot become a ledger table")));
	/* the table may not change under the checks, nor get rows */
	LockRelationOid(relid, AccessExclusiveLock);
	rel = try_table_open(relid, NoLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!bl_rel_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, RelationGetRelationName(rel));
	/* leaves and signing bytes name a table "schema.table": a dot in either part would make that ambiguous */
	if (strchr(RelationGetRelationName(rel), '.') != NULL ||
		strchr(get_namespace_name(RelationGetNamespace(rel)), '.') != NULL)
		refuse(rel, "its name or its schema's contains a dot",
			   "The transparency log names a table \"schema.table\"; a dot inside either part would be ambiguous.");
	if (chain_by != NULL && is_ledger_column_name(chain_by))
		refuse(rel, psprintf("its chain column \"%s\" is one of the ledger's own", chain_by), NULL);
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		refuse(rel, "it is not an ordinary table", NULL);
	if (rel->rd_rel->relpersistence != RELPERSISTENCE_PERMANENT)
		refuse(rel, "it is temporary or unlogged", "A crash empties an unlogged table, and its history with it.");
	if (rel->rd_rel->relispartition || has_superclass(relid) || has_subclass(relid))
		refuse(rel, "it has a parent or child table",
			   "Rows reached through a parent or a child table would escape the ledger's guards.");
	if (ledger_registration(relid, &old_chain, &old_roles, NULL, CurrentMemoryContext))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is already a ledger table", RelationGetRelationName(rel))));
	if (rel->trigdesc)
		for (int i = 0; i < rel->trigdesc->numtriggers; i++)
		{
			Trigger    *t = &rel->trigdesc->triggers[i];

			if (is_ledger_function(t->tgfoid) || strncmp(t->tgname, "battledger", 10) == 0 ||
				strncmp(t->tgname, "zz_battledger", 13) == 0)
				refuse(rel, psprintf("it already has trigger \"%s\"", t->tgname),
					   "The ledger's triggers are created by enable_ledger() alone.");
			/* what the DDL guard refuses on a ledger table (guard.c), refused before it becomes one */
			switch (user_trigger_hazard(t->tgtype, t->tgenabled, t->tgname))
			{
				case USER_TRIGGER_SAFE:
					break;
				case USER_TRIGGER_ON_ARRIVALS:
					ereport(ERROR,
							(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
							 errmsg("table \"%s\" cannot become a ledger table: its BEFORE INSERT row trigger \"%s\" is enabled %s",
									RelationGetRelationName(rel), t->tgname,
									t->tgenabled == TRIGGER_FIRES_ALWAYS ? "ALWAYS" : "REPLICA"),
							 errdetail("It would fire in the apply worker on rows arriving from other members, before or after the arrival check, and could drop or change them unseen."),
							 errhint("ALTER TABLE ... ENABLE TRIGGER \"%s\" (it then fires on this member's own writes only), or make it an AFTER trigger.",
									 t->tgname)));
					break;
				case USER_TRIGGER_AFTER_CHAIN:
					ereport(ERROR,
							(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
							 errmsg("table \"%s\" cannot become a ledger table: its BEFORE INSERT row trigger \"%s\" would fire after the row is hashed",
									RelationGetRelationName(rel), t->tgname),
							 errdetail("Triggers fire in name order: \"%s\" sorts after the chain trigger \"" LEDGER_CHAIN_TRIGGER "\", and a row it changed or dropped would break its chain.",
									   t->tgname),
							 errhint("Rename it (ALTER TRIGGER ... RENAME TO) to a name that sorts before \"" LEDGER_CHAIN_TRIGGER "\", or make it an AFTER trigger.")));
					break;
			}
		}
	for (int i = 0; i < RelationGetDescr(rel)->natts; i++)
		if (TupleDescAttr(RelationGetDescr(rel), i)->attgenerated)
			refuse(rel, "it has a generated column",
				   "Generated columns are computed after the chain trigger hashes the row.");

	memset(&lr, 0, sizeof(lr));
	ledger_rel_columns(rel, &lr, chain_by, signer_roles != NULL);
	if (lr.chain_attno)
	{
		Form_pg_attribute catt = TupleDescAttr(RelationGetDescr(rel), lr.chain_attno - 1);

		if (nondeterministic_within(catt->atttypid, catt->attcollation))
			refuse(rel, psprintf("its chain column \"%s\" compares under a nondeterministic collation", chain_by),
				   "Two different values would be one chain key to the chain, though the rows' bytes name two.");
	}
	if (strcmp(get_rel_name(lr.index_oid), chain_index) != 0)
		refuse(rel, psprintf("its chain index is \"%s\", not \"%s\"", get_rel_name(lr.index_oid), chain_index), NULL);
	(void) row_encoder_build(RelationGetDescr(rel), CurrentMemoryContext, ENCODE_ROW);
	if (signer_roles != NULL && !has_unique_signature(rel, lr.sig_attno))
		refuse(rel, "its ledger_sig is not unique",
			   "A unique signature is what refuses a signed row inserted twice.");
	if (has_rows(rel))
		refuse(rel, "it already has rows", "Existing rows have no agreed order to chain them in.");

	qualname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										  RelationGetRelationName(rel));
	args = psprintf("%s, %s", quote_literal_cstr(chain_by ? chain_by : ""),
					quote_literal_cstr(signer_roles ? signer_roles : ""));
	/* ALTER TABLE below refuses a table this backend holds open; the lock stays */
	table_close(rel, NoLock);

	/* as the extension's owner: the trigger functions and the registry are not the caller's */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(extension_owner(), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	nest = bl_spi_connect();
	if (signer_roles)
	{
		Oid			t[1] = {TEXTOID};
		Datum		v[1] = {CStringGetTextDatum(signer_roles)};
		bool		isnull;

		if (SPI_execute_with_args("SELECT $1::text[] <@ battledger.member_roles()", 1, t, v, NULL, true, 1) != SPI_OK_SELECT ||
			SPI_processed != 1 ||
			!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown member role in %s", signer_roles)));
	}
	run(psprintf("CREATE TRIGGER " LEDGER_CHAIN_TRIGGER " BEFORE INSERT ON %s FOR EACH ROW "
				 "EXECUTE FUNCTION battledger._chain_trigger(%s)", qualname, args));
	run(psprintf("CREATE TRIGGER " LEDGER_GUARD_TRIGGER " BEFORE UPDATE OR DELETE OR TRUNCATE ON %s "
				 "FOR EACH STATEMENT EXECUTE FUNCTION battledger._refuse_trigger()", qualname));
	run(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER " LEDGER_GUARD_TRIGGER, qualname));
	/*
	 * rows actually inserted (not those ON CONFLICT skipped) are queued for
	 * the log: the chain trigger records them, this writes them at the
	 * statement's end (log_entries.c); no transition table
	 */
	run(psprintf("CREATE TRIGGER " LEDGER_LOG_TRIGGER " AFTER INSERT ON %s "
				 "FOR EACH STATEMENT EXECUTE FUNCTION battledger._log_trigger()", qualname));
	/* rows from other members (logical replication): checked, not chained */
	run(psprintf("CREATE TRIGGER " LEDGER_ARRIVE_TRIGGER " BEFORE INSERT ON %s FOR EACH ROW "
				 "EXECUTE FUNCTION battledger._arrive_trigger(%s)", qualname, args));
	run(psprintf("ALTER TABLE %s ENABLE REPLICA TRIGGER " LEDGER_ARRIVE_TRIGGER, qualname));

	values[0] = ObjectIdGetDatum(relid);
	values[1] = chain_by ? CStringGetTextDatum(chain_by) : (Datum) 0;
	nulls[1] = chain_by ? ' ' : 'n';
	values[2] = CStringGetTextDatum(chain_index);
	values[3] = signer_roles ? CStringGetTextDatum(signer_roles) : (Datum) 0;
	nulls[3] = signer_roles ? ' ' : 'n';
	if (SPI_execute_with_args("INSERT INTO battledger.ledger_tables (tbl, chain_by, signer_roles, builtin, chain_index) "
							  "VALUES ($1::pg_catalog.regclass, $2::pg_catalog.name, $4::pg_catalog.text[], "
							  "(SELECT relnamespace = 'battledger'::pg_catalog.regnamespace FROM pg_catalog.pg_class WHERE oid = $1), "
							  "$3::pg_catalog.name)",
							  4, argtypes, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not register the ledger table");
	bl_spi_finish(nest);
	SetUserIdAndSecContext(save_userid, save_sec);

	/* every backend's cache learns that the table is now a ledger */
	CacheInvalidateRelcacheByRelid(relid);
	PG_RETURN_VOID();
}
