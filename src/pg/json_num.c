/*
 * json_num.c — a number in a registry row's JSON, read without trusting its
 * writer.
 *
 * Registry rows carry masses and measurements inside jsonb (a processing's
 * "inputs": [{"lot": ..., "mass_kg": 12.5}], a manufacture's "lots", a usage
 * report's cycle values).  The rule triggers refuse a malformed one where the
 * row is written, but a member that bypasses its rules publishes what it
 * likes, and every member's readers meet it: a cast (->>'mass_kg')::numeric
 * raised an error on "abc", so one row naming another member's lot with such
 * a mass made lot_available_kg() of that lot, every write consuming it, and
 * registry_conflicts() and verify_member() fail on every member (lead, 0.20.0).
 * _json_num() gives the value as a finite numeric, or NULL for anything
 * else, and never raises an error: readers count a NULL as no mass, the
 * writer refuses it (BL031).  A JSON number, or a string numeric's input
 * reads as a finite number (bl_number_text_ok()), is a number, so the rows
 * honest writers stored (numbers, and strings such as "12.5", which the
 * cast accepted) keep their values.
 */
#include "postgres.h"

#include "number_text.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

PG_FUNCTION_INFO_V1(bl_json_num);

/* battledger._json_num(v jsonb) RETURNS numeric (STRICT, IMMUTABLE) */
Datum
bl_json_num(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	JsonbValue	v;

	/* a scalar at the root: an object or an array is no number */
	if (!JB_ROOT_IS_SCALAR(jb) || !JsonbExtractScalar(&jb->root, &v))
		PG_RETURN_NULL();
	if (v.type == jbvNumeric)
	{
		Numeric		n = v.val.numeric;

		/* JSON has no NaN or infinity, but a jsonb made in SQL may */
		if (numeric_is_nan(n) || numeric_is_inf(n))
			PG_RETURN_NULL();
		/* a copy: n points into the argument, which the caller owns */
		PG_RETURN_NUMERIC((Numeric) pg_detoast_datum_copy((struct varlena *) n));
	}
	if (v.type == jbvString && bl_number_text_ok(v.val.string.val, (size_t) v.val.string.len))
	{
		char		buf[BL_NUMBER_TEXT_MAX + 1];

		memcpy(buf, v.val.string.val, v.val.string.len);
		buf[v.val.string.len] = '\0';
		/* cannot fail: the text is a bounded finite number */
		PG_RETURN_DATUM(DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
											ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	}
	PG_RETURN_NULL();
}
