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
 *
 * And a number within bounds (red team r23, N): at most 1000 digits
 * either side of the point.  A JSON number of 131072 digits is valid JSON
 * text and replicates as it is; two of them in one row naming another
 * member's lot made every sum of the lot's consumers overflow (22003), on
 * every member, as "abc" did.  Within these bounds no reader's arithmetic
 * overflows: sums of masses stay far below numeric's 10^131072, and so do
 * recycled_content()'s products of 20 levels of mass ratios (each at most
 * 10^1000 over the smallest non-zero sum of masses with 1000 decimals,
 * 10^-1000).  No honest mass or measurement comes near them.
 */
#include "postgres.h"

#include "number_text.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

PG_FUNCTION_INFO_V1(bl_json_num);

/* digits either side of the point a number read here may have */
#define BL_NUM_MAX_DIGITS	1000

/* 10^BL_NUM_MAX_DIGITS and its negation, made once per backend */
static Datum bound_hi;
static Datum bound_lo;
static bool bounds_made = false;

static void
make_bounds(void)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	char		digits[BL_NUM_MAX_DIGITS + 3];

	digits[0] = '-';
	digits[1] = '1';
	memset(digits + 2, '0', BL_NUM_MAX_DIGITS);
	digits[BL_NUM_MAX_DIGITS + 2] = '\0';
	bound_lo = DirectFunctionCall3(numeric_in, CStringGetDatum(digits),
								   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	bound_hi = DirectFunctionCall3(numeric_in, CStringGetDatum(digits + 1),
								   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	MemoryContextSwitchTo(old);
	bounds_made = true;
}

/* a finite number of at most BL_NUM_MAX_DIGITS digits either side of the point? */
static bool
in_bounds(Datum d)
{
	Numeric		n = DatumGetNumeric(d);

	/* JSON has no NaN or infinity, but a jsonb made in SQL may */
	if (numeric_is_nan(n) || numeric_is_inf(n))
		return false;
	if (!bounds_made)
		make_bounds();
	if (DatumGetInt32(DirectFunctionCall1(numeric_scale, d)) > BL_NUM_MAX_DIGITS)
		return false;
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, d, bound_hi)) < 0
		&& DatumGetInt32(DirectFunctionCall2(numeric_cmp, d, bound_lo)) > 0;
}

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

		if (!in_bounds(NumericGetDatum(n)))
			PG_RETURN_NULL();
		/* a copy: n points into the argument, which the caller owns */
		PG_RETURN_NUMERIC((Numeric) pg_detoast_datum_copy((struct varlena *) n));
	}
	if (v.type == jbvString && bl_number_text_ok(v.val.string.val, (size_t) v.val.string.len))
	{
		char		buf[BL_NUMBER_TEXT_MAX + 1];
		Datum		d;

		memcpy(buf, v.val.string.val, v.val.string.len);
		buf[v.val.string.len] = '\0';
		/* cannot fail: the text is a bounded finite number */
		d = DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
								ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
		if (!in_bounds(d))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(d);
	}
	PG_RETURN_NULL();
}
