/*
 * usage_latest.c — a usage report's commitment, as the latest committed
 * state has it, for a transaction whose snapshot is older.
 *
 * A legitimate-interest disclosure folds the usage reports it discloses
 * into _usage_state (sql/install/87_usage_state.sql); a report folds its
 * disclosure when it arrives after it.  Both triggers take a lock on the
 * commitment (_usage_lock()), so that of a report and its disclosure
 * written by two concurrent transactions the second finds the first.  At
 * READ COMMITTED each query after the lock sees what the other committed.
 * A transaction at REPEATABLE READ or SERIALIZABLE has one snapshot, taken
 * at its first statement, which can predate the other's commit: then
 * neither trigger finds the other and the report is never folded
 * (usage_state_check() names its battery).  A disclosure may be written at
 * any level; a report is written at READ COMMITTED by its writer (the
 * registry's rules refuse any other level, BL039) but applied at whatever
 * level default_transaction_isolation gives the apply worker, a
 * cluster-wide or per-database setting the worker obeys.
 *
 * No SQL query can see past its transaction's snapshot; these read with the
 * latest snapshot, as PostgreSQL's own foreign-key checks do under
 * REPEATABLE READ (ri_triggers.c).  Both return NULL at READ COMMITTED,
 * whose queries take a new snapshot each (the caller's own reading is then
 * the latest already).  The extension's tables are named by the schema the
 * function lives in.
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
PG_FUNCTION_INFO_V1(bl_usage_disclosure_latest);

/*
 * latest_value: the first column of the first row of the query (its %s
 * twice the extension's schema, its $1 the caller's first argument), read
 * with the latest snapshot; *isnull when there is no row or the value is
 * NULL.  The value is copied out of SPI's memory into the caller's.
 */
static Datum
latest_value(FunctionCallInfo fcinfo, const char *query, const char *what, bool *isnull)
{
	Oid			argtype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	char	   *schema;
	StringInfoData sql;
	SPIPlanPtr	plan;
	Datum		values[1];
	Datum		result = (Datum) 0;
	int			rc;

	if (!OidIsValid(argtype))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("%s cannot tell its argument's type", what)));
	schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
	if (schema == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("%s cannot find its schema", what)));
	initStringInfo(&sql);
	appendStringInfo(&sql, query, quote_identifier(schema), quote_identifier(schema));
	values[0] = PG_GETARG_DATUM(0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(sql.data, 1, &argtype);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	/* the latest snapshot, no crosscheck: what is committed now */
	rc = SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(), InvalidSnapshot,
							  false, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "%s failed: %s", what, SPI_result_code_string(rc));
	*isnull = true;
	if (SPI_processed > 0)
	{
		Datum		v = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);

		if (!*isnull)
		{
			Form_pg_attribute att = TupleDescAttr(SPI_tuptable->tupdesc, 0);

			result = SPI_datumTransfer(v, att->attbyval, att->attlen);
		}
	}
	SPI_finish();
	return result;
}

/*
 * _usage_reports_latest(commitment hash256) RETURNS bigint
 *
 * The number of battery_event rows, of any event kind, whose restricted
 * value is the commitment, read with the latest snapshot; NULL at READ
 * COMMITTED.  The disclosure trigger fails with a serialization failure
 * when it folded fewer: its retry, with a new snapshot, folds them.  Any
 * kind (0.25.0, red team rt25 Q2, Q3): a usage report whose commitment a
 * row of another kind names too counts for none, so the triggers count
 * those rows as they count reports.  Up to 3: the triggers compare counts
 * that stop at 2 or 3, and a count of every row made each of a thousand
 * replays of one commitment read all the others (red team rt25b X1).
 * 0.26.0 drops it for _commitment_rows(commitment, lim, true)
 * (commitment_rows.c), an index scan whose callers pass the limit they
 * compare with; kept here as it was for a database not yet updated (the
 * library serves older installed versions, whose install scripts name
 * this symbol; a 0.24.0 database's index holds usage reports only, which
 * _commitment_rows() refuses to count from).
 */
Datum
bl_usage_reports_latest(PG_FUNCTION_ARGS)
{
	Datum		n;
	bool		isnull;

	if (!IsolationUsesXactSnapshot())
		PG_RETURN_NULL();
	n = latest_value(fcinfo,
					 "SELECT pg_catalog.count(*) FROM (SELECT FROM %s.battery_event r"
					 " WHERE r.restricted OPERATOR(%s.=) $1 LIMIT 3) r",
					 "_usage_reports_latest()", &isnull);
	if (isnull)
		elog(ERROR, "counting the usage reports returned no row");
	PG_RETURN_DATUM(n);
}

/*
 * _usage_disclosure_latest(commitment hash256) RETURNS jsonb
 *
 * The legitimate-interest disclosure of the commitment, read with the
 * latest snapshot; NULL at READ COMMITTED or when there is none.  The
 * report trigger folds it when its own snapshot did not find one: an apply
 * worker at REPEATABLE READ applying a report while this member's
 * application disclosed it (the disclosure's trigger, before the report
 * committed, found no report to fold).
 */
Datum
bl_usage_disclosure_latest(PG_FUNCTION_ARGS)
{
	Datum		v;
	bool		isnull;

	if (!IsolationUsesXactSnapshot())
		PG_RETURN_NULL();
	v = latest_value(fcinfo,
					 "SELECT d.value FROM %s.disclosure d"
					 " WHERE d.commitment OPERATOR(%s.=) $1 AND d.tier = 'legitimate_interest'",
					 "_usage_disclosure_latest()", &isnull);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(v);
}
