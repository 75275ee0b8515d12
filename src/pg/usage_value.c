/*
 * usage_value.c — one usage value of a passport (its value, time, report,
 * leaf and basis) as a JSON object.
 *
 * A legitimate-interest passport shapes about 30 of them a call: the
 * values as reported (_passport_source()) and as derived
 * (_passport_derived()).  jsonb_build_object() looked up each of its 14
 * to 18 arguments' types in the catalog caches on every call (the key of
 * each pair too), about 30,000 instructions an object, 1.1M of a
 * passport's 8.7M (0.26.0, issue 15).  Here the types are the SQL
 * signature's, and each value is converted as jsonb_build_object()
 * converts one of its type, so the object is the same, byte for byte:
 *
 *  - numeric: a JSON number, the value itself (jsonb_build_object() reads
 *    numeric's output back with numeric's input: the same number, shown
 *    the same); a NaN or infinity as its text (a JSON string), as
 *    to_jsonb() gives them;
 *  - bigint: a JSON number, int64_to_numeric() (the number int8's output
 *    reads as: the same digits, scale 0);
 *  - timestamptz: JsonEncodeDateTime() (ISO 8601, as to_jsonb());
 *  - text: a JSON string;
 *  - SQL NULL: JSON null (jsonb_build_object() keeps nulls; the documents
 *    strip them later where they did).
 *
 * Memory: the object is built in the caller's context, which the executor
 * resets per row.  Not executable by PUBLIC (sql/install/85_passport.sql).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "jsonb_push.h"

PG_FUNCTION_INFO_V1(bl_usage_value);

/* the keys, in argument order, and each argument's type */
static const char *const uv_keys[] = {
	"value", "at", "event", "sequence", "ledgerHash", "leafIndex", "basis", "method", "reports"
};
static const Oid uv_types[] = {
	NUMERICOID, TIMESTAMPTZOID, TEXTOID, INT8OID, TEXTOID, INT8OID, TEXTOID, TEXTOID, INT8OID
};

/*
 * _usage_value(value numeric, at timestamptz, event text, sequence bigint,
 *              ledger_hash text, leaf_index bigint, basis text) RETURNS jsonb
 * _usage_value(value numeric, at timestamptz, event text, sequence bigint,
 *              ledger_hash text, leaf_index bigint, basis text,
 *              method text, reports bigint) RETURNS jsonb
 * The same as jsonb_build_object('value', value, 'at', at, 'event', event,
 * 'sequence', sequence, 'ledgerHash', ledger_hash, 'leafIndex', leaf_index,
 * 'basis', basis[, 'method', method, 'reports', reports]).
 */
Datum
bl_usage_value(PG_FUNCTION_ARGS)
{
	int			nargs = PG_NARGS();
	JsonbParseState *ps = NULL;
	JsonbValue *res;
	int			i;

	if (nargs != 7 && nargs != 9)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("_usage_value() takes 7 or 9 arguments, not %d", nargs),
				 errdetail("Its SQL signatures name a usage value's fields: value, at, event, sequence, ledger_hash, leaf_index, basis[, method, reports]."),
				 errhint("Call it as the extension's passport functions do.")));
	/* the types the SQL signature gives: a declaration with others is refused */
	for (i = 0; i < nargs; i++)
	{
		Oid			t = get_fn_expr_argtype(fcinfo->flinfo, i);

		if (t != uv_types[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("_usage_value(): argument %d is of type %s, not %s",
							i + 1, format_type_be(t), format_type_be(uv_types[i])),
					 errdetail("The function converts each argument as its declared type."),
					 errhint("Call it as the extension's passport functions do.")));
	}

	(void) pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < nargs; i++)
	{
		bl_jsonb_push_key(&ps, uv_keys[i]);
		if (PG_ARGISNULL(i))
		{
			JsonbValue	v;

			v.type = jbvNull;
			(void) pushJsonbValue(&ps, WJB_VALUE, &v);
			continue;
		}
		switch (uv_types[i])
		{
			case NUMERICOID:
				/* to_jsonb(): what is no JSON number is its text */
				bl_jsonb_push_numeric(&ps, WJB_VALUE, PG_GETARG_NUMERIC(i));
				break;
			case INT8OID:
				bl_jsonb_push_numeric(&ps, WJB_VALUE, int64_to_numeric(PG_GETARG_INT64(i)));
				break;
			case TIMESTAMPTZOID:
				{
					char	   *s = JsonEncodeDateTime(NULL, PG_GETARG_DATUM(i), TIMESTAMPTZOID, NULL);

					bl_jsonb_push_cstring(&ps, WJB_VALUE, s, strlen(s));
					break;
				}
			default:			/* TEXTOID */
				{
					text	   *t = PG_GETARG_TEXT_PP(i);

					bl_jsonb_push_cstring(&ps, WJB_VALUE, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
					break;
				}
		}
	}
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}
