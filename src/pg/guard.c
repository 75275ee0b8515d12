/*
 * guard.c — the DDL guard: an event trigger (ddl_command_start) that refuses
 * schema changes that would break a ledger table's chains.
 *
 * Refused on a ledger table: DROP COLUMN, ALTER COLUMN TYPE, RENAME COLUMN
 * (column names are part of the hashed bytes), DROP NOT NULL on the ledger
 * columns or the chain column, ADD COLUMN with a default or generated value
 * (existing rows would acquire a value they were not hashed with), and any
 * change to the firing of the ledger's triggers (DISABLE/ENABLE ... TRIGGER
 * naming them, ALL or USER), as well as renaming or dropping them.  Dropping
 * the table is refused by the sql_drop guard written in SQL.  Renaming the
 * table or moving it to another schema is refused too: log leaves name it.
 * ALTER TYPE ... RENAME VALUE is refused on an enum a ledger table's column
 * uses: rows hash an enum value by its label.
 *
 * A table owner's own BEFORE INSERT row triggers (0.14.0, red team r14): one
 * enabled ALWAYS or REPLICA fires in the apply worker on other members' rows,
 * before or after the arrival check, and could drop or change them unseen;
 * one that fires after the chain trigger (triggers fire in name order) could
 * change or drop a row already hashed and chained.  Both are refused to every
 * role but a superuser, who can go around any guard anyway: a superuser's
 * such trigger gets a warning, and consortium_status() names it.
 */
#include "postgres.h"
#include "pg_compat.h"

#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_trigger.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "encode.h"
#include "ledger_table.h"
#include "pgutil.h"
#include "sqlstate.h"

/* The chain column of a ledger table ("" for single-chain), or NULL if relid is not one. */
static char *
ledger_chain_column(Oid relid)
{
	int			nest;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	char	   *result = NULL;
	MemoryContext caller = CurrentMemoryContext;

	nest = bl_spi_connect();
	if (SPI_execute_with_args("SELECT coalesce(chain_by::text, '') FROM battledger.ledger_tables WHERE tbl = $1::pg_catalog.regclass",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.ledger_tables");
	if (SPI_processed == 1)
		result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (result)
		result = MemoryContextStrdup(caller, result);	/* SPI's memory goes at SPI_finish */
	bl_spi_finish(nest);
	return result;
}

static Oid
ledger_relid(RangeVar *rv, char **chain_col)
{
	Oid			relid;

	if (rv == NULL)
		return InvalidOid;
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (!OidIsValid(relid))
		return InvalidOid;
	*chain_col = ledger_chain_column(relid);
	return *chain_col ? relid : InvalidOid;
}

/* Does the query, given one oid as $1, return a row?  (The guard's catalog questions.) */
static bool
spi_finds(const char *query, Oid arg)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(arg)};
	bool		found;
	int			nest;

	nest = bl_spi_connect();
	if (SPI_execute_with_args(query, 1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.ledger_tables");
	found = SPI_processed > 0;
	bl_spi_finish(nest);
	return found;
}

static bool
schema_has_ledger(Oid nsp)
{
	return spi_finds("SELECT 1 FROM battledger.ledger_tables l JOIN pg_catalog.pg_class c ON c.oid = l.tbl "
					 "WHERE c.relnamespace = $1", nsp);
}

/*
 * Whether relid is an index a ledger table depends on (found by its table,
 * not its name): the chain index, or the unique index on ledger_sig that
 * refuses a signed row inserted twice.
 */
static bool
is_chain_index(Oid relid)
{
	return spi_finds("SELECT 1 FROM battledger.ledger_tables l "
					 "JOIN pg_catalog.pg_index i ON i.indrelid = l.tbl "
					 "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
					 "WHERE i.indexrelid = $1 AND (c.relname = l.chain_index "
					 "  OR (i.indisunique AND i.indnkeyatts = 1 AND i.indkey[0] = "
					 "      (SELECT a.attnum FROM pg_catalog.pg_attribute a WHERE a.attrelid = l.tbl "
					 "        AND a.attname = 'ledger_sig' AND NOT a.attisdropped)))", relid);
}

/* Whether anything would be lost with the extension: users' ledger tables, or a log. */
static bool
extension_holds_history(void)
{
	return spi_finds("SELECT 1 WHERE EXISTS (SELECT 1 FROM battledger.ledger_tables WHERE NOT builtin) "
					 "OR EXISTS (SELECT 1 FROM battledger.log_leaf) OR EXISTS (SELECT 1 FROM battledger.log_pending) "
					 "OR EXISTS (SELECT 1 FROM battledger.checkpoint) OR EXISTS (SELECT 1 FROM battledger.member_event)",
					 InvalidOid);	/* no $1: an unused parameter of a known type is allowed */
}

/*
 * The first ledger table (as "schema.table") with a column holding labels of
 * enum type enumid — directly, through a domain, or as array elements — or
 * NULL if none does.
 */
static char *
ledger_using_enum(Oid enumid)
{
	int			nest;
	char	   *result = NULL;
	MemoryContext caller = CurrentMemoryContext;

	nest = bl_spi_connect();
	if (SPI_execute("SELECT l.tbl::pg_catalog.oid, a.atttypid FROM battledger.ledger_tables l "
					"JOIN pg_catalog.pg_attribute a ON a.attrelid = l.tbl "
					"WHERE a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, a.attnum", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.ledger_tables");
	for (uint64 i = 0; i < SPI_processed && result == NULL; i++)
	{
		bool		isnull;
		Oid			rel = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		Oid			typ = getBaseType(DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull)));
		Oid			elem = get_element_type(typ);

		if (OidIsValid(elem))
			typ = getBaseType(elem);
		if (typ == enumid)
			result = MemoryContextStrdup(caller, ledger_table_name(rel));
	}
	bl_spi_finish(nest);
	return result;
}

static bool
names_list_has(List *objects, const char *name)
{
	ListCell   *lc;

	foreach(lc, objects)
	{
		Node	   *o = lfirst(lc);

		if (IsA(o, String) && strcmp(strVal(o), name) == 0)
			return true;
	}
	return false;
}

static void
refuse(Oid relid, const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_LEDGER_DDL_REFUSED),
			 errmsg("cannot %s on ledger table \"%s\"", what, get_rel_name(relid)),
			 errdetail("%s", detail),
			 errhint("Create a new ledger table with the new definition and copy the rows into it with INSERT ... SELECT.")));
}

static bool
is_ledger_trigger_name(const char *name)
{
	return name != NULL && (strcmp(name, LEDGER_CHAIN_TRIGGER) == 0 ||
							strcmp(name, LEDGER_GUARD_TRIGGER) == 0 ||
							strcmp(name, LEDGER_LOG_TRIGGER) == 0 ||
							strcmp(name, LEDGER_ARRIVE_TRIGGER) == 0);
}

/*
 * The type bits and firing mode of trigger name on relid; false if it has
 * none of that name.  (pg_trigger has no syscache: read by SPI.)
 */
static bool
trigger_firing(Oid relid, const char *name, int16 *tgtype, char *tgenabled)
{
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Datum		args[2] = {ObjectIdGetDatum(relid), CStringGetTextDatum(name)};
	bool		found,
				isnull;
	int			nest;

	nest = bl_spi_connect();
	if (SPI_execute_with_args("SELECT tgtype, tgenabled FROM pg_catalog.pg_trigger "
							  "WHERE tgrelid = $1 AND tgname = $2::pg_catalog.name AND NOT tgisinternal",
							  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_trigger");
	found = SPI_processed == 1;
	if (found)
	{
		*tgtype = DatumGetInt16(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		*tgenabled = DatumGetChar(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	bl_spi_finish(nest);
	return found;
}

/*
 * A user's trigger of type tgtype named name, firing as fires ('O', 'A', 'R';
 * 'D' disabled), on ledger table relid: refused when user_trigger_hazard()
 * (ledger_table.h) names a hazard.  what names the command for the message.
 * A superuser is warned, not refused (see the file comment).
 */
static void
check_user_trigger(Oid relid, const char *what, const char *name, int16 tgtype, char fires)
{
	const char *msg = NULL,
			   *detail = NULL,
			   *hint = NULL,
			   *su_hint = NULL;
	UserTriggerHazard hazard = user_trigger_hazard(tgtype, fires, name);

	if (hazard == USER_TRIGGER_ON_ARRIVALS)
	{
		msg = "it would fire on rows arriving from other members";
		detail = "A BEFORE INSERT row trigger enabled ALWAYS or REPLICA fires in the apply worker, before or after "
			"the arrival check (" LEDGER_ARRIVE_TRIGGER "): it could drop or change another member's rows unseen, "
			"and consortium_status() would blame that member.";
		hint = "Enable it with ENABLE TRIGGER (it then fires on this member's own writes only), or make it an "
			"AFTER trigger to record arriving rows elsewhere.";
		su_hint = "Allowed to a superuser; battledger.consortium_status() names such a trigger on a table other members' rows arrive in.";
	}
	else if (hazard == USER_TRIGGER_AFTER_CHAIN)
	{
		msg = "it would fire after the row is hashed";
		detail = "Triggers fire in name order: a BEFORE INSERT row trigger named after \"" LEDGER_CHAIN_TRIGGER
			"\" runs after the chain trigger hashed and chained the row, and a row it changed or dropped "
			"would break its chain.";
		hint = "Give it a name that sorts before \"" LEDGER_CHAIN_TRIGGER "\", or make it an AFTER trigger.";
		su_hint = "Allowed to a superuser; the chain trigger refuses every insert while it is enabled.";
	}
	if (msg == NULL)
		return;
	if (superuser())
	{
		ereport(WARNING,
				(errcode(ERRCODE_LEDGER_DDL_REFUSED),
				 errmsg("%s on ledger table \"%s\": %s", what, get_rel_name(relid), msg),
				 errdetail("%s", detail),
				 errhint("%s", su_hint)));
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_LEDGER_DDL_REFUSED),
			 errmsg("cannot %s on ledger table \"%s\": %s", what, get_rel_name(relid), msg),
			 errdetail("%s", detail),
			 errhint("%s", hint)));
}

/* ALTER TABLE ... ENABLE [ALWAYS | REPLICA] TRIGGER name of a user's trigger */
static void
check_enable_user_trigger(Oid relid, const char *name, char fires)
{
	int16		tgtype;
	char		tgenabled;

	if (name == NULL || is_ledger_trigger_name(name) ||
		!trigger_firing(relid, name, &tgtype, &tgenabled))
		return;
	check_user_trigger(relid, psprintf("enable trigger \"%s\"", name), name, tgtype, fires);
}

static bool
column_default_given(ColumnDef *def)
{
	ListCell   *lc;

	if (def->raw_default || def->cooked_default || def->identity || def->generated)
		return true;
	foreach(lc, def->constraints)
	{
		Constraint *c = lfirst_node(Constraint, lc);

		if (c->contype == CONSTR_DEFAULT || c->contype == CONSTR_GENERATED ||
			c->contype == CONSTR_IDENTITY)
			return true;
	}
	return false;
}

static void
check_alter_cmd(Oid relid, const char *chain_col, AlterTableCmd *cmd)
{
	const char *detail_hash = "Every row's hash covers its column names, types and values.";

	switch (cmd->subtype)
	{
		case AT_DropColumn:
			refuse(relid, psprintf("drop column \"%s\"", cmd->name), detail_hash);
			break;
		case AT_AlterColumnType:
			refuse(relid, psprintf("change the type of column \"%s\"", cmd->name), detail_hash);
			break;
		case AT_DropNotNull:
			/* ledger_origin too: a row without one crashed verify() (red team r16b) */
			if (is_ledger_column_name(cmd->name) || strcmp(cmd->name, chain_col) == 0 ||
				strcmp(cmd->name, LEDGER_COL_ORIGIN) == 0)
				refuse(relid, psprintf("drop NOT NULL on column \"%s\"", cmd->name),
					   "The ledger columns and the chain column must always have a value.");
			break;
		case AT_AddColumn:
			{
				ColumnDef  *def = castNode(ColumnDef, cmd->def);
				const char *why;
				Oid			typid;

				if (column_default_given(def))
					refuse(relid, psprintf("add column \"%s\" with a default or generated value", def->colname),
						   "Existing rows would acquire a value that their hashes do not cover.");
				typid = typenameTypeId(NULL, def->typeName);
				if (get_typdefault(typid) != NULL)
					refuse(relid, psprintf("add column \"%s\" of a domain with a default", def->colname),
						   "Existing rows would acquire a value that their hashes do not cover.");
				if (!encodable_type(typid, &why))
					refuse(relid, psprintf("add column \"%s\" of type %s", def->colname, format_type_be(typid)),
						   why);
				break;
			}
		case AT_AddInherit:
		case AT_DropInherit:
		case AT_AttachPartition:
		case AT_DetachPartition:
			refuse(relid, "change the inheritance of the table",
				   "Rows reached through a parent or a child table would escape the ledger's guards.");
			break;
		case AT_SetUnLogged:
			refuse(relid, "make the table unlogged",
				   "An unlogged table is emptied by a crash, and its history with it.");
			break;
		case AT_AddConstraint:
			{
				/*
				 * ADD CONSTRAINT ... USING INDEX renames the index after the
				 * constraint: the chain index, registered by its name, would
				 * no longer be known, and DROP CONSTRAINT would then drop it
				 * (red team r16b D1).
				 */
				Constraint *c = (cmd->def && IsA(cmd->def, Constraint)) ? (Constraint *) cmd->def : NULL;
				Oid			idx;

				if (c && c->indexname &&
					OidIsValid(idx = get_relname_relid(c->indexname, get_rel_namespace(relid))) &&
					is_chain_index(idx))
					refuse(relid, psprintf("make index \"%s\" a constraint", c->indexname),
						   "The chain index and the signature's unique index are the ledger's own: a constraint would rename the index and let DROP CONSTRAINT drop it.");
				break;
			}
		case AT_DropConstraint:
			{
				/* by the constraint's index, whatever it is called now */
				Oid			con = cmd->name ? get_relation_constraint_oid(relid, cmd->name, true) : InvalidOid;
				Oid			conindex = OidIsValid(con) ? get_constraint_index(con) : InvalidOid;

				if (OidIsValid(conindex) && is_chain_index(conindex))
					refuse(relid, psprintf("drop constraint \"%s\"", cmd->name),
						   "The unique signature is what refuses a replayed signed row.");
				break;
			}
		case AT_AddIdentity:
		case AT_SetIdentity:
		case AT_ColumnDefault:
			if (cmd->name && is_ledger_column_name(cmd->name))
				refuse(relid, psprintf("give ledger column \"%s\" a default or an identity", cmd->name),
					   "The ledger's own columns are filled by its triggers alone.");
			break;
		case AT_EnableAlwaysTrig:
			check_enable_user_trigger(relid, cmd->name, TRIGGER_FIRES_ALWAYS);
			/* what enable_ledger() and pg_restore do for the guard trigger */
			if (strcmp(cmd->name, LEDGER_GUARD_TRIGGER) == 0)
				break;
			/* FALLTHROUGH */
		case AT_EnableReplicaTrig:
			if (cmd->subtype == AT_EnableReplicaTrig)
				check_enable_user_trigger(relid, cmd->name, TRIGGER_FIRES_ON_REPLICA);
			/* and for the trigger that checks rows arriving from other members */
			if (cmd->subtype == AT_EnableReplicaTrig && strcmp(cmd->name, LEDGER_ARRIVE_TRIGGER) == 0)
				break;
			/* FALLTHROUGH */
		case AT_EnableTrig:
			if (cmd->subtype == AT_EnableTrig)
				check_enable_user_trigger(relid, cmd->name, TRIGGER_FIRES_ON_ORIGIN);
			/* FALLTHROUGH */
		case AT_DisableTrig:
			if (is_ledger_trigger_name(cmd->name))
				refuse(relid, psprintf("change the firing of trigger \"%s\"", cmd->name),
					   "The ledger's triggers keep the table append-only and hash-chained.");
			break;
		case AT_EnableTrigAll:
		case AT_EnableTrigUser:
		case AT_DisableTrigAll:
		case AT_DisableTrigUser:
			refuse(relid, "enable or disable all triggers",
				   "The ledger's triggers keep the table append-only and hash-chained.");
			break;
		default:
			break;
	}
}

/* battledger._ddl_guard() RETURNS event_trigger */
PG_FUNCTION_INFO_V1(ledger_ddl_guard);
Datum
ledger_ddl_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	Node	   *parsetree;
	char	   *chain_col = NULL;
	Oid			relid;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ledger_ddl_guard() must be called as an event trigger")));
	trigdata = (EventTriggerData *) fcinfo->context;
	parsetree = trigdata->parsetree;

	if (IsA(parsetree, AlterTableStmt))
	{
		AlterTableStmt *stmt = (AlterTableStmt *) parsetree;
		ListCell   *lc;

		/*
		 * Whatever the command calls it (ALTER INDEX, ALTER VIEW, ALTER
		 * SEQUENCE ... on a ledger table reach the same code): the object
		 * decides, not the command tag.
		 */
		/* ALTER TABLE parent ATTACH PARTITION ledger: the ledger is the partition named */
		foreach(lc, stmt->cmds)
		{
			AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
			Oid			part;

			if ((cmd->subtype == AT_AttachPartition || cmd->subtype == AT_DetachPartition) &&
				cmd->def && IsA(cmd->def, PartitionCmd) &&
				OidIsValid(part = ledger_relid(((PartitionCmd *) cmd->def)->name, &chain_col)))
				refuse(part, "attach or detach it as a partition",
					   "Rows reached through a partitioned table would escape the ledger's guards.");
			/* ALTER TABLE child INHERIT ledger: the ledger is the parent named */
			if ((cmd->subtype == AT_AddInherit || cmd->subtype == AT_DropInherit) &&
				cmd->def && IsA(cmd->def, RangeVar) &&
				OidIsValid(part = ledger_relid((RangeVar *) cmd->def, &chain_col)))
				refuse(part, "make another table inherit from it",
					   "Rows of a child table would be read as the ledger's without being chained.");
		}
		relid = ledger_relid(stmt->relation, &chain_col);
		if (!OidIsValid(relid))
			PG_RETURN_NULL();
		foreach(lc, stmt->cmds)
			check_alter_cmd(relid, chain_col, lfirst_node(AlterTableCmd, lc));
	}
	else if (IsA(parsetree, RenameStmt))
	{
		RenameStmt *stmt = (RenameStmt *) parsetree;

		if (stmt->renameType == OBJECT_COLUMN || stmt->renameType == OBJECT_TABCONSTRAINT)
		{
			relid = ledger_relid(stmt->relation, &chain_col);
			if (OidIsValid(relid))
				refuse(relid, psprintf("rename %s \"%s\"",
									   stmt->renameType == OBJECT_COLUMN ? "column" : "constraint", stmt->subname),
					   "Every row's hash covers its column names, types and values.");
		}
		else if (stmt->renameType == OBJECT_TABLE || stmt->renameType == OBJECT_INDEX ||
				 stmt->renameType == OBJECT_VIEW || stmt->renameType == OBJECT_SEQUENCE ||
				 stmt->renameType == OBJECT_MATVIEW || stmt->renameType == OBJECT_FOREIGN_TABLE)
		{
			Oid			target;

			relid = ledger_relid(stmt->relation, &chain_col);
			if (OidIsValid(relid))
				refuse(relid, "rename the table",
					   "The transparency log's leaves name the table its rows belong to.");
			target = stmt->relation ? RangeVarGetRelid(stmt->relation, NoLock, true) : InvalidOid;
			if (OidIsValid(target) && is_chain_index(target))
				ereport(ERROR,
						(errcode(ERRCODE_LEDGER_DDL_REFUSED),
						 errmsg("cannot rename index \"%s\": a ledger table depends on it", get_rel_name(target)),
						 errdetail("The chain index orders every chain of its ledger table; the signature's unique index refuses a replayed row.")));
		}
		else if (stmt->renameType == OBJECT_SCHEMA)
		{
			Oid			nsp = get_namespace_oid(stmt->subname, true);

			if (OidIsValid(nsp) && schema_has_ledger(nsp))
				ereport(ERROR,
						(errcode(ERRCODE_LEDGER_DDL_REFUSED),
						 errmsg("cannot rename schema \"%s\": it holds ledger tables", stmt->subname),
						 errdetail("The transparency log's leaves name each table with its schema.")));
		}
		else if (stmt->renameType == OBJECT_TRIGGER && is_ledger_trigger_name(stmt->subname))
		{
			relid = ledger_relid(stmt->relation, &chain_col);
			if (OidIsValid(relid))
				refuse(relid, psprintf("rename trigger \"%s\"", stmt->subname),
					   "The ledger's triggers keep the table append-only and hash-chained.");
		}
		else if (stmt->renameType == OBJECT_TRIGGER && stmt->newname != NULL)
		{
			int16		tgtype;
			char		tgenabled;

			/* a user's BEFORE INSERT row trigger renamed to fire after the chain trigger */
			relid = ledger_relid(stmt->relation, &chain_col);
			if (OidIsValid(relid) && trigger_firing(relid, stmt->subname, &tgtype, &tgenabled))
				check_user_trigger(relid, psprintf("rename trigger \"%s\" to \"%s\"", stmt->subname, stmt->newname),
								   stmt->newname, tgtype, tgenabled);
		}
	}
	else if (IsA(parsetree, CreateStmt))
	{
		CreateStmt *stmt = (CreateStmt *) parsetree;
		ListCell   *lc;

		foreach(lc, stmt->inhRelations)
		{
			relid = ledger_relid(lfirst_node(RangeVar, lc), &chain_col);
			if (OidIsValid(relid))
				refuse(relid, "create a table that inherits from it or is its partition",
					   "Rows of a child table would be read as the ledger's without being chained.");
		}
	}
	else if (IsA(parsetree, RuleStmt))
	{
		RuleStmt   *stmt = (RuleStmt *) parsetree;

		relid = ledger_relid(stmt->relation, &chain_col);
		if (OidIsValid(relid))
			refuse(relid, psprintf("create rule \"%s\"", stmt->rulename),
				   "A rule could send the ledger's rows elsewhere, past its triggers.");
	}
	else if (IsA(parsetree, CreateTrigStmt))
	{
		CreateTrigStmt *stmt = (CreateTrigStmt *) parsetree;

		/* CREATE OR REPLACE TRIGGER would swap a ledger trigger's function for another */
		relid = ledger_relid(stmt->relation, &chain_col);
		if (OidIsValid(relid) && stmt->replace && is_ledger_trigger_name(stmt->trigname))
			refuse(relid, psprintf("replace trigger \"%s\"", stmt->trigname),
				   "The ledger's triggers keep the table append-only and hash-chained.");
		/*
		 * A user's BEFORE INSERT row trigger: CREATE [OR REPLACE] TRIGGER
		 * makes it fire ORIGIN (a replaced trigger's ALWAYS or REPLICA is
		 * reset too; sql/security.sql checks that), so only its name can make
		 * it fire too late.
		 */
		if (OidIsValid(relid) && !is_ledger_trigger_name(stmt->trigname))
			check_user_trigger(relid, psprintf("create trigger \"%s\"", stmt->trigname), stmt->trigname,
							   (stmt->row ? TRIGGER_TYPE_ROW : 0) | stmt->timing | stmt->events,
							   TRIGGER_FIRES_ON_ORIGIN);
	}
	else if (IsA(parsetree, DropStmt))
	{
		DropStmt   *stmt = (DropStmt *) parsetree;
		ListCell   *lc;

		if (stmt->removeType == OBJECT_INDEX)
			foreach(lc, stmt->objects)
			{
				RangeVar   *rv = makeRangeVarFromNameList(lfirst_node(List, lc));
				Oid			idx = RangeVarGetRelid(rv, NoLock, true);

				if (OidIsValid(idx) && is_chain_index(idx))
					ereport(ERROR,
							(errcode(ERRCODE_LEDGER_DDL_REFUSED),
							 errmsg("cannot drop index \"%s\": a ledger table depends on it", get_rel_name(idx)),
							 errdetail("Ledger tables, their chain indexes and their ledger triggers are permanent.")));
			}
		else if ((stmt->removeType == OBJECT_EXTENSION || stmt->removeType == OBJECT_SCHEMA) &&
				 names_list_has(stmt->objects, "battledger") && extension_holds_history())
			ereport(ERROR,
					(errcode(ERRCODE_LEDGER_DDL_REFUSED),
					 errmsg("cannot drop %s battledger: it holds ledger history",
							stmt->removeType == OBJECT_EXTENSION ? "extension" : "schema"),
					 errdetail("Dropping it would strip the chain columns and triggers from every ledger table and drop the transparency log with its checkpoints."),
					 errhint("To retire a ledger, see \"Retiring a ledger\" in docs/dba-guide.md: archive it and its log first.")));
	}
	else if (IsA(parsetree, AlterEnumStmt))
	{
		AlterEnumStmt *stmt = (AlterEnumStmt *) parsetree;
		Type		typ;
		char	   *tbl;

		/* ADD VALUE keeps every label, and so every stored row's bytes */
		if (stmt->oldVal == NULL)
			PG_RETURN_NULL();
		typ = LookupTypeName(NULL, makeTypeNameFromNameList(stmt->typeName), NULL, true);
		if (typ == NULL)
			PG_RETURN_NULL();
		tbl = ledger_using_enum(typeTypeId(typ));
		ReleaseSysCache(typ);
		if (tbl != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_LEDGER_DDL_REFUSED),
					 errmsg("cannot rename value \"%s\" of enum type %s: ledger table \"%s\" stores its labels",
							stmt->oldVal, NameListToString(stmt->typeName), tbl),
					 errdetail("A row's hash covers an enum value by its label: renaming it would change the bytes of every row that holds it."),
					 errhint("Add the new label with ALTER TYPE ... ADD VALUE and write it in new rows; rows already written keep the old one.")));
	}
	else if (IsA(parsetree, AlterObjectSchemaStmt))
	{
		AlterObjectSchemaStmt *stmt = (AlterObjectSchemaStmt *) parsetree;

		if (stmt->relation != NULL)
		{
			relid = ledger_relid(stmt->relation, &chain_col);
			if (OidIsValid(relid))
				refuse(relid, "move the table to another schema",
					   "The transparency log's leaves name the table its rows belong to.");
		}
	}
	PG_RETURN_NULL();
}
