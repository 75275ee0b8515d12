/*
 * battery_id.c — the battledger.battery_id type: a validated, normalised
 * battery identifier (item level, serialised; DOMAIN.md "Identifiers").
 *
 * Two schemes:
 *   gs1       GTIN (AI 01) + serial (AI 21).  Read from a GS1 Digital Link
 *             URI http(s)://<host>[/<prefix>]/01/<gtin>/21/<serial>, an
 *             element string (01)<gtin>(21)<serial> or the canonical text
 *             gs1:01/<gtin14>/21/<serial>.  GTIN-8/12/13 are padded to 14.
 *   iso15459  any other ISO/IEC 15459 identifier: iso15459:<IAC>/<CIN>/<serial>,
 *             upper-cased.
 *
 * A value is stored as its canonical text (printable ASCII in a varlena), so
 * equality is byte equality and the btree order is the bytewise order of the
 * canonical text.  The binary form is the canonical text as well.
 */
#include "postgres.h"
#include "pg_compat.h"
#include "type_text.h"
#include "battery_id.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"

/*
 * The parsing itself is pure code in type_text.c (so that it can be fuzzed);
 * this file turns its verdicts into errors and stores the canonical text.
 */
#define GTIN_LEN		BL_BID_GTIN_LEN
#define BID_INPUT_MAX	BL_BID_INPUT_MAX
#define BID_SHOWN_MAX	100		/* bytes of a bad input quoted in an error */

#define GS1_PREFIX		BL_BID_GS1_PREFIX
#define GS1_PREFIX_LEN	BL_BID_GS1_PREFIX_LEN
#define GS1_SERIAL_OFF	BL_BID_GS1_SERIAL_OFF
#define ISO_PREFIX_LEN	BL_BID_ISO_PREFIX_LEN

#define HINT_ANY		BL_BID_HINT_ANY
#define HINT_RESOLVER "Give the resolver as https://<host>[/<path prefix>], e.g. https://id.gs1.org."

/* A piece of a stored value. */
typedef struct Span
{
	const char *p;
	int			len;
} Span;

/* The input as quoted in an error: clipped (on a character boundary) if long. */
static char *
shown(const char *s, int len)
{
	int			clip;

	if (len <= BID_SHOWN_MAX)
		return pnstrdup(s, len);
	clip = pg_mbcliplen(s, len, BID_SHOWN_MAX);
	return psprintf("%.*s...", clip, s);
}

static void
check_input_length(const char *input, size_t len, int sqlstate)
{
	if (len > BID_INPUT_MAX)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid battery identifier: \"%s\"",
						shown(input, (int) Min(len, (size_t) BID_INPUT_MAX + 1))),
				 errdetail("The identifier is %zu bytes long; no accepted form is longer than %d bytes.",
						   len, BID_INPUT_MAX),
				 errhint(HINT_ANY)));
}

/* Parse input[0..len) (at most BID_INPUT_MAX bytes) into canonical text, or raise the error. */
static text *
battery_id_parse(const char *input, int len, int sqlstate)
{
	bl_bid_result *r = palloc(sizeof(bl_bid_result));

	if (bl_battery_id_parse(input, len, r) != 0)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid battery identifier: \"%s\"", shown(input, len)),
				 errdetail("%s", r->detail),
				 errhint("%s", r->hint)));
	return cstring_to_text_with_len(r->canon, r->canon_len);
}

/* battledger.battery_id_in(cstring) RETURNS battery_id */
PG_FUNCTION_INFO_V1(battery_id_in);
Datum
battery_id_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);
	size_t		len = strlen(s);

	check_input_length(s, len, ERRCODE_INVALID_TEXT_REPRESENTATION);
	/* surrounding white space is trimmed by the parser */
	PG_RETURN_TEXT_P(battery_id_parse(s, (int) len, ERRCODE_INVALID_TEXT_REPRESENTATION));
}

/* battledger.battery_id_out(battery_id) RETURNS cstring */
PG_FUNCTION_INFO_V1(battery_id_out);
Datum
battery_id_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(text_to_cstring(PG_GETARG_TEXT_PP(0)));
}

/* Binary input: the canonical text, exactly. */
PG_FUNCTION_INFO_V1(battery_id_recv);
Datum
battery_id_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	const char *data = pq_getmsgbytes(buf, len);
	text	   *t;

	/* checked first: the value may be quoted in later errors */
	for (int i = 0; i < len; i++)
		if ((unsigned char) data[i] <= 0x20 || (unsigned char) data[i] >= 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid battery identifier in binary input"),
					 errdetail("Byte %d is 0x%02X; the binary form is the canonical text, "
							   "which is printable ASCII.", i + 1, (unsigned char) data[i])));
	check_input_length(data, len, ERRCODE_INVALID_BINARY_REPRESENTATION);
	t = battery_id_parse(data, len, ERRCODE_INVALID_BINARY_REPRESENTATION);
	if ((int) VARSIZE_ANY_EXHDR(t) != len || memcmp(VARDATA_ANY(t), data, len) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid battery identifier: \"%s\"", shown(data, len)),
				 errdetail("The binary form must be the canonical text \"%s\".",
						   text_to_cstring(t)),
				 errhint("Send the text battery_id_out writes.")));
	PG_RETURN_TEXT_P(t);
}

/* battledger.battery_id_send(battery_id) RETURNS bytea */
PG_FUNCTION_INFO_V1(battery_id_send);
Datum
battery_id_send(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* battledger.text(battery_id) RETURNS text */
PG_FUNCTION_INFO_V1(battery_id_to_text);
Datum
battery_id_to_text(PG_FUNCTION_ARGS)
{
	/* the stored value is its canonical text */
	PG_RETURN_TEXT_P(PG_GETARG_TEXT_P_COPY(0));
}

/*
 * Parts of a stored (canonical, hence valid) value
 */

static bool
bid_is_gs1(const text *t)
{
	return VARSIZE_ANY_EXHDR(t) > GS1_PREFIX_LEN &&
		memcmp(VARDATA_ANY(t), GS1_PREFIX, GS1_PREFIX_LEN) == 0;
}

static Span
bid_serial(const text *t)
{
	const char *d = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	const char *p;

	if (bid_is_gs1(t))
		return (Span) {d + GS1_SERIAL_OFF, len - GS1_SERIAL_OFF};
	p = memchr(d + ISO_PREFIX_LEN, '/', len - ISO_PREFIX_LEN);	/* after IAC */
	p = memchr(p + 1, '/', d + len - p - 1);	/* after CIN */
	return (Span) {p + 1, d + len - p - 1};
}

/* battledger.battery_id_scheme(battery_id) RETURNS text */
PG_FUNCTION_INFO_V1(battery_id_scheme);
Datum
battery_id_scheme(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(bid_is_gs1(PG_GETARG_TEXT_PP(0)) ? "gs1" : "iso15459"));
}

/* battledger.battery_gtin(battery_id) RETURNS text */
PG_FUNCTION_INFO_V1(battery_gtin);
Datum
battery_gtin(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	if (!bid_is_gs1(t))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(VARDATA_ANY(t) + GS1_PREFIX_LEN, GTIN_LEN));
}

/* battledger.battery_serial(battery_id) RETURNS text */
PG_FUNCTION_INFO_V1(battery_serial);
Datum
battery_serial(PG_FUNCTION_ARGS)
{
	Span		s = bid_serial(PG_GETARG_TEXT_PP(0));

	PG_RETURN_TEXT_P(cstring_to_text_with_len(s.p, s.len));
}

/*
 * What is wrong with a resolver URI, or NULL: shared by resolver_base() and
 * the check hook of battledger.resolver, so the setting cannot hold a
 * resolver that battery_digital_link() would refuse.
 */
static char *
resolver_problem(const char *r, char *problem, size_t cap)
{
	int			len = strlen(r);
	const char *host = strstr(r, "://");
	const char *path;

	if (len > BID_INPUT_MAX)
		return psprintf("The resolver URI is longer than %d bytes.", BID_INPUT_MAX);
	if (!(bl_has_prefix_ci(r, len, "https://") || bl_has_prefix_ci(r, len, "http://")))
		return pstrdup("The resolver URI must start with https:// or http://.");
	if (strpbrk(r, "?#") != NULL)
		return pstrdup("The resolver URI must not have a query string or fragment.");
	host += 3;
	path = host + strcspn(host, "/");
	if (bl_uri_host_problem(host, path - host, problem, cap) ||
		bl_uri_path_problem(path, strlen(path), (int) (path - r) + 1, problem, cap))
		return problem;
	return NULL;
}

/* The resolver URI without trailing slashes, or an error saying what is wrong with it. */
static char *
resolver_base(text *resolver)
{
	char	   *r = text_to_cstring(resolver);
	int			len = strlen(r);
	char		problem[BL_BID_DETAIL_MAX];
	char	   *why = resolver_problem(r, problem, sizeof(problem));

	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid resolver URI: \"%s\"", shown(r, len)),
				 errdetail("%s", why),
				 errhint(HINT_RESOLVER)));
	while (len > 0 && r[len - 1] == '/')
		r[--len] = '\0';
	return r;
}

/*
 * Check hook of battledger.resolver (the resolver this registry's passports
 * and QR codes point to): the empty string means GS1's default resolver.
 */
bool
bl_check_resolver(char **newval, void **extra, GucSource source)
{
	char		problem[BL_BID_DETAIL_MAX];
	char	   *why;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	why = resolver_problem(*newval, problem, sizeof(problem));
	if (why == NULL)
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errdetail("%s", why);
	GUC_check_errhint(HINT_RESOLVER);
	return false;
}

/* The GS1 Digital Link URI of a gs1 identifier (NULL for other schemes). */
PG_FUNCTION_INFO_V1(battery_digital_link);
Datum
battery_digital_link(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	char	   *base = resolver_base(PG_GETARG_TEXT_PP(1));
	Span		serial;
	StringInfoData buf;

	if (!bid_is_gs1(t))
		PG_RETURN_NULL();
	serial = bid_serial(t);
	initStringInfo(&buf);
	appendStringInfo(&buf, "%s/01/%.*s/21/", base, GTIN_LEN, VARDATA_ANY(t) + GS1_PREFIX_LEN);
	for (int i = 0; i < serial.len; i++)
	{
		if (bl_uri_unreserved(serial.p[i]))
			appendStringInfoChar(&buf, serial.p[i]);
		else
			appendStringInfo(&buf, "%%%02X", (unsigned char) serial.p[i]);
	}
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

/*
 * Comparison and hashing: the canonical bytes
 */

static int
battery_id_cmp_internal(const text *a, const text *b)
{
	int			la = VARSIZE_ANY_EXHDR(a);
	int			lb = VARSIZE_ANY_EXHDR(b);
	int			c = memcmp(VARDATA_ANY(a), VARDATA_ANY(b), Min(la, lb));

	if (c != 0)
		return c < 0 ? -1 : 1;
	return la < lb ? -1 : (la > lb ? 1 : 0);
}

/* battledger.battery_id_eq(battery_id, battery_id) RETURNS bool, and _ne, _lt, _le, _gt, _ge */
#define BATTERY_ID_CMP_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	int c = battery_id_cmp_internal(PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1)); \
	PG_RETURN_BOOL(expr); \
}

BATTERY_ID_CMP_FN(battery_id_eq, c == 0)
BATTERY_ID_CMP_FN(battery_id_ne, c != 0)
BATTERY_ID_CMP_FN(battery_id_lt, c < 0)
BATTERY_ID_CMP_FN(battery_id_le, c <= 0)
BATTERY_ID_CMP_FN(battery_id_gt, c > 0)
BATTERY_ID_CMP_FN(battery_id_ge, c >= 0)

/* battledger.battery_id_cmp(battery_id, battery_id) RETURNS int4 */
PG_FUNCTION_INFO_V1(battery_id_cmp);
Datum
battery_id_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(battery_id_cmp_internal(PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1)));
}

/* battledger.battery_id_hash(battery_id) RETURNS int4 */
PG_FUNCTION_INFO_V1(battery_id_hash);
Datum
battery_id_hash(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	return hash_any((unsigned char *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

/* battledger.battery_id_hash_extended(battery_id, int8) RETURNS int8 */
PG_FUNCTION_INFO_V1(battery_id_hash_extended);
Datum
battery_id_hash_extended(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	return hash_any_extended((unsigned char *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t),
							 PG_GETARG_INT64(1));
}
