/*
 * jsonb_push.h — pushing C values into a jsonb under construction, each
 * converted as PostgreSQL's own SQL functions convert it.
 *
 * The passport's C builders (passport_doc.c, usage_value.c) must give the
 * documents, byte for byte, that 0.25.0's jsonb_build_object() and to_jsonb()
 * expressions gave; the conversions they share live here once.
 */
#ifndef BL_JSONB_PUSH_H
#define BL_JSONB_PUSH_H

#include "utils/jsonb.h"
#include "utils/numeric.h"

/* v := the JSON string s (not copied: s must outlive v's use) */
extern void bl_jsonb_set_cstring(JsonbValue *v, const char *s, int len);

/* push the JSON string s (len bytes) as token tok (WJB_KEY, WJB_VALUE, WJB_ELEM) */
extern void bl_jsonb_push_cstring(JsonbParseState **ps, JsonbIteratorToken tok, const char *s, int len);

/* push an object's key, a NUL-terminated C string */
extern void bl_jsonb_push_key(JsonbParseState **ps, const char *key);

/*
 * push n as token tok as to_jsonb(n) gives it: a JSON number, or, for NaN
 * and the infinities (which JSON has no number for), numeric's text as a
 * JSON string
 */
extern void bl_jsonb_push_numeric(JsonbParseState **ps, JsonbIteratorToken tok, Numeric n);

#endif							/* BL_JSONB_PUSH_H */
