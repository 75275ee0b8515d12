/*
 * usage_latest.c — the usage reports naming a commitment, as the latest
 * committed state has them, for a transaction whose snapshot is older.
 *
 * A legitimate-interest disclosure folds the usage reports it discloses
 * into _usage_state (sql/install/87_usage_state.sql); a report folds its
 * disclosure when it arrives after it.  Both triggers take an advisory lock
 * on the commitment, so that of a report and its disclosure written by two
 * concurrent transactions the second finds the first.  Reports are written
 * at READ COMMITTED (the registry's rules refuse any other level, BL039),
 * where each query after the lock sees what the other committed; a
 * disclosure may be written at REPEATABLE READ, whose snapshot, taken at its
 * transaction's first statement, can predate a report's commit: then
 * neither trigger finds the other and the report is never folded
 * (usage_state_check() names its battery).  No SQL query can see past its
 * transaction's snapshot; this counts the reports with the latest snapshot,
 * as PostgreSQL's own foreign-key checks do under REPEATABLE READ
 * (ri_triggers.c), and the disclosure trigger fails with a serialization
 * failure when it folded fewer: its retry, with a new snapshot, folds them.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(bl_usage_reports_latest);

/*
 * _usage_reports_latest(commitment hash256) RETURNS bigint
 *
 * The number of usage reports (battery_event, event 'soh_reported') whose
 * restricted value is the commitment, read with the latest snapshot; NULL
 * in a transaction at READ COMMITTED, whose queries take a new snapshot
 * each (the caller's own count is then the latest already).  The extension's
 * tables are named by the schema this function lives in.
 */
Datum
bl_usage_reports_latest(PG_FUNCTION_ARGS)
{
	Oid			argtype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	char	   *schema;
	StringInfoData sql;
	SPIPlanPtr	plan;
	Datum		values[1];
	bool		isnull;
	int64		n;
	int			rc;

	if (!IsolationUsesXactSnapshot())
		PG_RETURN_NULL();
	if (!OidIsValid(argtype))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("_usage_reports_latest() cannot tell its argument's type")));
	schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
	if (schema == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("_usage_reports_latest() cannot find its schema")));
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT pg_catalog.count(*) FROM %s.battery_event r"
					 " WHERE r.restricted OPERATOR(%s.=) $1 AND r.event = 'soh_reported'",
					 quote_identifier(schema), quote_identifier(schema));
	values[0] = PG_GETARG_DATUM(0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(sql.data, 1, &argtype);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	/* the latest snapshot, no crosscheck: what is committed now */
	rc = SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(), InvalidSnapshot,
							  false, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "counting the usage reports failed: %s", SPI_result_code_string(rc));
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	PG_RETURN_INT64(n);
}
