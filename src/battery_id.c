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
#include "battledger.h"
#include "note.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#define GTIN_LEN		14
#define GS1_SERIAL_MAX	20
#define ISO_IAC_MAX		3
#define ISO_CIN_MAX		12
#define ISO_SERIAL_MAX	35
#define BID_INPUT_MAX	2048	/* bytes; longer than any accepted form */
#define BID_SHOWN_MAX	100		/* bytes of a bad input quoted in an error */

#define GS1_PREFIX		"gs1:01/"
#define GS1_PREFIX_LEN	7
#define GS1_SERIAL_OFF	(GS1_PREFIX_LEN + GTIN_LEN + 4)	/* after "/21/" */
#define ISO_PREFIX		"iso15459:"
#define ISO_PREFIX_LEN	9

#define HINT_GS1 "Write a GS1 identifier as https://id.gs1.org/01/09506000134352/21/ABC123, " \
	"(01)09506000134352(21)ABC123 or gs1:01/09506000134352/21/ABC123."
#define HINT_ISO "Write an ISO/IEC 15459 identifier as iso15459:<IAC>/<CIN>/<serial>, " \
	"e.g. iso15459:UN/043325711/BAT-0001."
#define HINT_ANY "Accepted forms: https://id.gs1.org/01/09506000134352/21/ABC123, " \
	"(01)09506000134352(21)ABC123, gs1:01/09506000134352/21/ABC123 and " \
	"iso15459:UN/043325711/BAT-0001."
#define HINT_RESOLVER "Give the resolver as https://<host>[/<path prefix>], e.g. https://id.gs1.org."

/* What a parse reports its errors against. */
typedef struct BidCtx
{
	const char *input;			/* the whole input, quoted in the error */
	int			inlen;
	int			sqlstate;
	const char *hint;
} BidCtx;

/* A piece of the input. */
typedef struct Span
{
	const char *p;
	int			len;
} Span;

static void bid_fail(const BidCtx *ctx, const char *fmt,...)
			pg_attribute_printf(2, 3) pg_attribute_noreturn();

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_alnum(char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* c is one of the characters of set (never true for NUL) */
static inline bool
in_set(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

static inline char
to_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

static bool
span_eq(Span s, const char *lit)
{
	return s.len == (int) strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

static bool
has_prefix_ci(const char *s, int len, const char *prefix)
{
	int			n = strlen(prefix);

	return len >= n && pg_strncasecmp(s, prefix, n) == 0;
}

/* GS1 AI encodable character set 82. */
static bool
gs1_cset82(char c)
{
	return is_alnum(c) || in_set(c, "!\"%&'()*+,-./:;<=>?_");
}

/* RFC 3986 unreserved: never percent-encoded in a Digital Link. */
static bool
uri_unreserved(char c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 pchar, less pct-encoded: what may stand unencoded in a path segment. */
static bool
uri_pchar(char c)
{
	return uri_unreserved(c) || in_set(c, "!$&'()*+,;=:@");
}

/* A character for an error detail: 'x', or its byte value if not printable ASCII. */
static char *
char_desc(char ch)
{
	unsigned char c = (unsigned char) ch;

	if (c == '\'')
		return pstrdup("\"'\"");
	if (c > 0x20 && c < 0x7f)
		return psprintf("'%c'", c);
	if (c == ' ')
		return pstrdup("a space");
	return psprintf("byte 0x%02X", c);
}

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
bid_fail(const BidCtx *ctx, const char *fmt,...)
{
	StringInfoData detail;

	initStringInfo(&detail);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&detail, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&detail, needed);
	}
	ereport(ERROR,
			(errcode(ctx->sqlstate),
			 errmsg("invalid battery identifier: \"%s\"", shown(ctx->input, ctx->inlen)),
			 errdetail("%s", detail.data),
			 errhint("%s", ctx->hint)));
}

/* Position (1-based) of p in the input, for error details. */
static int
pos(const BidCtx *ctx, const char *p)
{
	return (int) (p - ctx->input) + 1;
}

/*
 * GS1 identifiers
 */

/* Check digit of the first 13 digits of a GTIN-14: weights 3,1,3,...,3. */
static int
gs1_check_digit(const char *d)
{
	int			sum = 0;

	for (int i = 0; i < GTIN_LEN - 1; i++)
		sum += (d[i] - '0') * (i % 2 == 0 ? 3 : 1);
	return (10 - sum % 10) % 10;
}

/* Validate a GTIN-8/12/13/14 and write it as GTIN-14 (NUL-terminated) to out. */
static void
gtin_normalise(const BidCtx *ctx, Span g, char *out)
{
	int			expected;

	if (g.len == 0)
		bid_fail(ctx, "The GTIN (AI 01) is empty.");
	for (int i = 0; i < g.len; i++)
		if (!is_digit(g.p[i]))
			bid_fail(ctx, "Character %d of the GTIN (AI 01), %s, is not a digit.",
					 i + 1, char_desc(g.p[i]));
	if (g.len != 8 && g.len != 12 && g.len != 13 && g.len != GTIN_LEN)
		bid_fail(ctx, "A GTIN has 8, 12, 13 or 14 digits, not %d.", g.len);
	memset(out, '0', GTIN_LEN - g.len);
	memcpy(out + GTIN_LEN - g.len, g.p, g.len);
	out[GTIN_LEN] = '\0';
	expected = gs1_check_digit(out);
	if (out[GTIN_LEN - 1] - '0' != expected)
		bid_fail(ctx, "The check digit of GTIN %.*s is %c, but %d was expected.",
				 g.len, g.p, g.p[g.len - 1], expected);
}

static void
gs1_serial_check(const BidCtx *ctx, Span s)
{
	if (s.len == 0)
		bid_fail(ctx, "The serial number (AI 21) is empty.");
	for (int i = 0; i < s.len; i++)
		if (!gs1_cset82(s.p[i]))
			bid_fail(ctx, "Character %d of the serial number (AI 21), %s, is not in the GS1 "
					 "AI encodable character set 82 (digits, letters and !\"%%&'()*+,-./:;<=>?_).",
					 i + 1, char_desc(s.p[i]));
	if (s.len > GS1_SERIAL_MAX)
		bid_fail(ctx, "The serial number (AI 21) has %d characters; at most %d are allowed.",
				 s.len, GS1_SERIAL_MAX);
}

/* The canonical text of a GS1 identifier, after validating its parts. */
static text *
gs1_make(const BidCtx *ctx, Span gtin, Span serial)
{
	char		g14[GTIN_LEN + 1];
	StringInfoData buf;

	gtin_normalise(ctx, gtin, g14);
	gs1_serial_check(ctx, serial);
	initStringInfo(&buf);
	appendStringInfo(&buf, GS1_PREFIX "%s/21/", g14);
	appendBinaryStringInfo(&buf, serial.p, serial.len);
	return cstring_to_text_with_len(buf.data, buf.len);
}

/* gs1:01/<gtin>/21/<serial> ("gs1:" already matched, in any case) */
static text *
parse_gs1_text(const BidCtx *ctx, const char *s, int len)
{
	const char *p = s + 4;
	const char *end = s + len;
	const char *slash;

	if (end - p < 3 || memcmp(p, "01/", 3) != 0)
		bid_fail(ctx, "A gs1: identifier continues with 01/<GTIN>/21/<serial>.");
	p += 3;
	slash = memchr(p, '/', end - p);
	if (slash == NULL)
		bid_fail(ctx, "The gs1: identifier has no /21/<serial> after the GTIN.");
	/* "/21" at the very end: report the empty serial */
	if (!(end - slash == 3 && memcmp(slash, "/21", 3) == 0) &&
		(end - slash < 4 || memcmp(slash, "/21/", 4) != 0))
		bid_fail(ctx, "In a gs1: identifier the GTIN is followed by /21/<serial>.");
	return gs1_make(ctx, (Span) {p, slash - p},
					(Span) {Min(slash + 4, end), Max(end - slash - 4, 0)});
}

/* (01)<gtin>(21)<serial>: the serial is the rest of the input. */
static text *
parse_element_string(const BidCtx *ctx, const char *s, int len)
{
	const char *end = s + len;
	const char *gtin;
	const char *p;

	if (len < 4 || memcmp(s, "(01)", 4) != 0)
		bid_fail(ctx, "A GS1 element string starts with (01) and the GTIN.");
	gtin = s + 4;
	p = memchr(gtin, '(', end - gtin);
	if (p == NULL)
		bid_fail(ctx, "The element string has no (21) serial number after the GTIN.");
	if (end - p < 4 || memcmp(p, "(21)", 4) != 0)
		bid_fail(ctx, "In the element string the GTIN must be followed by (21) and the serial number.");
	return gs1_make(ctx, (Span) {gtin, p - gtin}, (Span) {p + 4, end - p - 4});
}

/*
 * GS1 Digital Link URIs
 */

/* NULL if host is a usable URI host (name, IPv4, [IPv6], optional :port), else why not. */
static char *
uri_host_problem(const char *host, int len)
{
	if (len == 0)
		return pstrdup("The URI has no host.");
	for (int i = 0; i < len; i++)
		if (!is_alnum(host[i]) && !in_set(host[i], ".-:[]"))
			return psprintf("The URI host contains %s.", char_desc(host[i]));
	return NULL;
}

/* NULL if path is well-formed (pchars, '/', %XX), else why not; base: position of path[0]. */
static char *
uri_path_problem(const char *path, int len, int base)
{
	for (int i = 0; i < len; i++)
	{
		if (path[i] == '%')
		{
			if (i + 2 >= len || bl_hex_nibble(path[i + 1]) < 0 || bl_hex_nibble(path[i + 2]) < 0)
				return psprintf("Bad percent-encoding at character %d: '%%' must be followed "
								"by two hexadecimal digits.", base + i);
			i += 2;
		}
		else if (path[i] != '/' && !uri_pchar(path[i]))
			return psprintf("Character %d, %s, must be percent-encoded in a URI.",
							base + i, char_desc(path[i]));
	}
	return NULL;
}

/* Decode %XX in a well-formed path segment (checked by uri_path_problem). */
static Span
pct_decode(Span seg)
{
	char	   *out = palloc(seg.len + 1);
	int			n = 0;

	for (int i = 0; i < seg.len; i++)
	{
		if (seg.p[i] == '%')
		{
			out[n++] = (char) (bl_hex_nibble(seg.p[i + 1]) * 16 + bl_hex_nibble(seg.p[i + 2]));
			i += 2;
		}
		else
			out[n++] = seg.p[i];
	}
	return (Span) {out, n};
}

/* The last (up to) n segments of a path "/a/b/c"; rseg[0] is the last.  Returns how many. */
static int
path_tail(const char *path, int len, Span *rseg, int n)
{
	int			found = 0;
	int			end = len;

	while (found < n && end > 0)
	{
		int			start = end;

		while (start > 0 && path[start - 1] != '/')
			start--;
		rseg[found++] = (Span) {path + start, end - start};
		end = start - 1;
	}
	return found;
}

/* Offset just after the first segment equal to name starting at or after from, or -1. */
static int
segment_after(const char *path, int len, int from, const char *name)
{
	int			n = strlen(name);

	for (int i = from; i + n < len; i++)
		if (path[i] == '/' && memcmp(path + i + 1, name, n) == 0 &&
			(i + 1 + n == len || path[i + 1 + n] == '/'))
			return i + 1 + n;
	return -1;
}

/* Explain why a path does not end in /01/<gtin>/21/<serial>. */
static void
dl_path_fail(const BidCtx *ctx, const char *path, int len, const Span *rseg, int found)
{
	int			after01 = segment_after(path, len, 0, "01");

	if (after01 < 0)
		bid_fail(ctx, "The URI path has no /01/ element (the GTIN); a GS1 Digital Link "
				 "URI ends in /01/<GTIN>/21/<serial>.");
	if (segment_after(path, len, after01, "21") < 0)
		bid_fail(ctx, "The URI path has no /21/ element (the serial number) after /01/.");
	if (found >= 3 && span_eq(rseg[2], "01") && span_eq(rseg[0], "21"))
		bid_fail(ctx, "The URI path ends in /21 with no serial number after it.");
	bid_fail(ctx, "The URI path must end in /01/<GTIN>/21/<serial>, with no other "
			 "element between or after them.");
}

/* http(s)://<host>[/<prefix>]/01/<gtin>/21/<serial>[?query][#fragment] */
static text *
parse_digital_link(const BidCtx *ctx, const char *s, int len)
{
	const char *end = s + len;
	const char *host = (const char *) memchr(s, ':', len) + 1;
	const char *path;
	const char *pathend;
	char	   *why;
	Span		rseg[4];
	int			found;

	if (end - host < 2 || memcmp(host, "//", 2) != 0)
		bid_fail(ctx, "A Digital Link URI starts with https://<host>.");
	host += 2;
	for (path = host; path < end && *path != '/' && *path != '?' && *path != '#'; path++)
		;
	if ((why = uri_host_problem(host, path - host)) != NULL)
		bid_fail(ctx, "%s", why);
	for (pathend = path; pathend < end && *pathend != '?' && *pathend != '#'; pathend++)
		;
	if ((why = uri_path_problem(path, pathend - path, pos(ctx, path))) != NULL)
		bid_fail(ctx, "%s", why);
	found = path_tail(path, pathend - path, rseg, 4);
	if (found < 4 || !span_eq(rseg[3], "01") || !span_eq(rseg[1], "21"))
		dl_path_fail(ctx, path, pathend - path, rseg, found);
	return gs1_make(ctx, pct_decode(rseg[2]), pct_decode(rseg[0]));
}

/*
 * Other ISO/IEC 15459 identifiers
 */

static void
iso_part_check(const BidCtx *ctx, const char *what, Span part, int max, bool serial)
{
	if (part.len == 0)
		bid_fail(ctx, "The %s is empty.", what);
	for (int i = 0; i < part.len; i++)
		if (!is_alnum(part.p[i]) && !(serial && in_set(part.p[i], "-./")))
			bid_fail(ctx, "Character %d of the %s, %s, is not allowed; use A-Z and 0-9%s.",
					 i + 1, what, char_desc(part.p[i]), serial ? ", '-', '.' and '/'" : "");
	if (part.len > max)
		bid_fail(ctx, "The %s has %d characters; at most %d are allowed.", what, part.len, max);
}

/* iso15459:<IAC>/<CIN>/<serial> ("iso15459:" already matched, in any case) */
static text *
parse_iso15459(const BidCtx *ctx, const char *s, int len)
{
	const char *iac = s + ISO_PREFIX_LEN;
	const char *end = s + len;
	const char *cin = memchr(iac, '/', end - iac);
	const char *serial = cin ? memchr(cin + 1, '/', end - cin - 1) : NULL;
	text	   *t;
	char	   *d;

	if (serial == NULL)
		bid_fail(ctx, "An iso15459: identifier has three parts: <IAC>/<CIN>/<serial>.");
	cin++;
	serial++;
	iso_part_check(ctx, "issuing agency code (IAC)", (Span) {iac, cin - 1 - iac}, ISO_IAC_MAX, false);
	iso_part_check(ctx, "company identification number (CIN)", (Span) {cin, serial - 1 - cin},
				   ISO_CIN_MAX, false);
	iso_part_check(ctx, "serial number", (Span) {serial, end - serial}, ISO_SERIAL_MAX, true);

	t = palloc(VARHDRSZ + len);
	SET_VARSIZE(t, VARHDRSZ + len);
	d = VARDATA(t);
	memcpy(d, ISO_PREFIX, ISO_PREFIX_LEN);
	for (int i = ISO_PREFIX_LEN; i < len; i++)
		d[i] = to_upper(s[i]);
	return t;
}

/*
 * Dispatch on the form
 */

static void
unknown_form(BidCtx *ctx, const char *s, int len)
{
	int			n = 0;

	ctx->hint = HINT_ANY;
	if (len == 0)
		bid_fail(ctx, "The identifier is empty.");
	while (n < len && n < 32 && (is_alnum(s[n]) || in_set(s[n], "+-.")))
		n++;
	if (n > 0 && n < len && s[n] == ':' && !is_digit(s[0]))
		bid_fail(ctx, "Unknown scheme \"%.*s\".", n, s);
	bid_fail(ctx, "It is neither a GS1 Digital Link URI, a GS1 element string, "
			 "nor a gs1: or iso15459: identifier.");
}

/* Parse the identifier s[0..len) (ctx->input is the whole input) into canonical text. */
static text *
battery_id_parse(BidCtx *ctx, const char *s, int len)
{
	ctx->hint = HINT_GS1;
	if (has_prefix_ci(s, len, "https:") || has_prefix_ci(s, len, "http:"))
		return parse_digital_link(ctx, s, len);
	if (len > 0 && s[0] == '(')
		return parse_element_string(ctx, s, len);
	if (has_prefix_ci(s, len, "gs1:"))
		return parse_gs1_text(ctx, s, len);
	ctx->hint = HINT_ISO;
	if (has_prefix_ci(s, len, ISO_PREFIX))
		return parse_iso15459(ctx, s, len);
	unknown_form(ctx, s, len);
	return NULL;				/* not reached */
}

static void
check_input_length(const BidCtx *ctx, size_t len)
{
	if (len > BID_INPUT_MAX)
		ereport(ERROR,
				(errcode(ctx->sqlstate),
				 errmsg("invalid battery identifier: \"%s\"",
						shown(ctx->input, (int) Min(len, (size_t) BID_INPUT_MAX + 1))),
				 errdetail("The identifier is %zu bytes long; no accepted form is longer than %d bytes.",
						   len, BID_INPUT_MAX),
				 errhint(HINT_ANY)));
}

static inline bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

PG_FUNCTION_INFO_V1(battery_id_in);
Datum
battery_id_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);
	size_t		len = strlen(s);
	BidCtx		ctx = {s, 0, ERRCODE_INVALID_TEXT_REPRESENTATION, HINT_ANY};
	int			start = 0;
	int			end;

	check_input_length(&ctx, len);
	ctx.inlen = end = (int) len;
	/* surrounding white space (say, from a scanner) is not part of any form */
	while (start < end && is_space(s[start]))
		start++;
	while (end > start && is_space(s[end - 1]))
		end--;
	PG_RETURN_TEXT_P(battery_id_parse(&ctx, s + start, end - start));
}

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
	BidCtx		ctx = {data, len, ERRCODE_INVALID_BINARY_REPRESENTATION, HINT_ANY};
	text	   *t;

	/* checked first: the value may be quoted in later errors */
	for (int i = 0; i < len; i++)
		if ((unsigned char) data[i] <= 0x20 || (unsigned char) data[i] >= 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid battery identifier in binary input"),
					 errdetail("Byte %d is 0x%02X; the binary form is the canonical text, "
							   "which is printable ASCII.", i + 1, (unsigned char) data[i])));
	check_input_length(&ctx, len);
	t = battery_id_parse(&ctx, data, len);
	if ((int) VARSIZE_ANY_EXHDR(t) != len || memcmp(VARDATA_ANY(t), data, len) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid battery identifier: \"%s\"", shown(data, len)),
				 errdetail("The binary form must be the canonical text \"%s\".",
						   text_to_cstring(t)),
				 errhint("Send the text battery_id_out writes.")));
	PG_RETURN_TEXT_P(t);
}

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

PG_FUNCTION_INFO_V1(battery_id_scheme);
Datum
battery_id_scheme(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(bid_is_gs1(PG_GETARG_TEXT_PP(0)) ? "gs1" : "iso15459"));
}

PG_FUNCTION_INFO_V1(battery_gtin);
Datum
battery_gtin(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	if (!bid_is_gs1(t))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(VARDATA_ANY(t) + GS1_PREFIX_LEN, GTIN_LEN));
}

PG_FUNCTION_INFO_V1(battery_serial);
Datum
battery_serial(PG_FUNCTION_ARGS)
{
	Span		s = bid_serial(PG_GETARG_TEXT_PP(0));

	PG_RETURN_TEXT_P(cstring_to_text_with_len(s.p, s.len));
}

/* The resolver URI without trailing slashes, or an error saying what is wrong with it. */
static char *
resolver_base(text *resolver)
{
	char	   *r = text_to_cstring(resolver);
	int			len = strlen(r);
	char	   *host = strstr(r, "://");
	char	   *path;
	char	   *why = NULL;

	if (len > BID_INPUT_MAX)
		why = psprintf("The resolver URI is longer than %d bytes.", BID_INPUT_MAX);
	else if (!(has_prefix_ci(r, len, "https://") || has_prefix_ci(r, len, "http://")))
		why = pstrdup("The resolver URI must start with https:// or http://.");
	else if (strpbrk(r, "?#") != NULL)
		why = pstrdup("The resolver URI must not have a query string or fragment.");
	else
	{
		host += 3;
		path = host + strcspn(host, "/");
		why = uri_host_problem(host, path - host);
		if (why == NULL)
			why = uri_path_problem(path, strlen(path), (int) (path - r) + 1);
	}
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
		if (uri_unreserved(serial.p[i]))
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

PG_FUNCTION_INFO_V1(battery_id_cmp);
Datum
battery_id_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(battery_id_cmp_internal(PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1)));
}

PG_FUNCTION_INFO_V1(battery_id_hash);
Datum
battery_id_hash(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	return hash_any((unsigned char *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

PG_FUNCTION_INFO_V1(battery_id_hash_extended);
Datum
battery_id_hash_extended(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	return hash_any_extended((unsigned char *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t),
							 PG_GETARG_INT64(1));
}
