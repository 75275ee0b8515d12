/*
 * jsonb_push.c — pushing C values into a jsonb under construction, each
 * converted as PostgreSQL's own SQL functions convert it (jsonb_push.h).
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "jsonb_push.h"

void
bl_jsonb_set_cstring(JsonbValue *v, const char *s, int len)
{
	v->type = jbvString;
	v->val.string.val = (char *) s;
	v->val.string.len = len;
}

void
bl_jsonb_push_cstring(JsonbParseState **ps, JsonbIteratorToken tok, const char *s, int len)
{
	JsonbValue	v;

	bl_jsonb_set_cstring(&v, s, len);
	(void) pushJsonbValue(ps, tok, &v);
}

void
bl_jsonb_push_key(JsonbParseState **ps, const char *key)
{
	bl_jsonb_push_cstring(ps, WJB_KEY, key, strlen(key));
}

void
bl_jsonb_push_numeric(JsonbParseState **ps, JsonbIteratorToken tok, Numeric n)
{
	JsonbValue	v;

	/*
	 * NaN and the infinities have no JSON number; as jsonb numbers they would
	 * print bare (NaN), a document no JSON parser reads (red team rt26c N1,
	 * N2).  to_jsonb() gives numeric's text, a string: so do we.
	 */
	if (numeric_is_nan(n) || numeric_is_inf(n))
	{
		char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));

		bl_jsonb_set_cstring(&v, s, strlen(s));
	}
	else
	{
		v.type = jbvNumeric;
		v.val.numeric = n;
	}
	(void) pushJsonbValue(ps, tok, &v);
}
