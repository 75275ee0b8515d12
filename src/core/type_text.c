/*
 * type_text.c — parsers behind the hash256 and battery_id input functions
 * (see type_text.h; the forms are described in hash256.c and battery_id.c).
 *
 * Split out of the server files unchanged in what they accept and in every
 * error detail they write: the only differences are that errors return -1
 * up the call chain instead of longjmp'ing out of ereport, and that buffers
 * are fixed-size instead of palloc'd (inputs are at most BL_BID_INPUT_MAX
 * bytes, so every piece fits).
 */
#include "type_text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"

/* ------------------------------------------------------------ hash256 */

int
bl_hash256_parse(const char *s, size_t len, uint8_t out[BL_HASH_LEN])
{
	if (len != 2 * BL_HASH_LEN)
		return -1;
	for (int i = 0; i < BL_HASH_LEN; i++)
	{
		int			hi = bl_hex_nibble(s[2 * i]);
		int			lo = bl_hex_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return hi < 0 ? 2 * i + 1 : 2 * i + 2;
		out[i] = (uint8_t) ((hi << 4) | lo);
	}
	return 0;
}

/* --------------------------------------------------------- battery_id */

#define GTIN_LEN		BL_BID_GTIN_LEN
#define GS1_SERIAL_MAX	20
#define ISO_IAC_MAX		3
#define ISO_CIN_MAX		12
#define ISO_SERIAL_MAX	35

#define Min(a, b) ((a) < (b) ? (a) : (b))
#define Max(a, b) ((a) > (b) ? (a) : (b))

/* What a parse reports its errors against, and its scratch space. */
typedef struct BidCtx
{
	const char *input;			/* the whole input, for positions */
	bl_bid_result *r;
	char		seg[2][BL_BID_INPUT_MAX];	/* percent-decoded GTIN, serial */
} BidCtx;

/* A piece of the input. */
typedef struct Span
{
	const char *p;
	int			len;
} Span;

#ifdef __GNUC__
__attribute__((format(printf, 2, 3)))
#endif
static int
bid_fail(BidCtx *ctx, const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	vsnprintf(ctx->r->detail, sizeof(ctx->r->detail), fmt, args);
	va_end(args);
	return -1;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* c is one of the characters of set (never true for NUL) */
static int
in_set(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

static char
to_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

static int
span_eq(Span s, const char *lit)
{
	return s.len == (int) strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

/*
 * pg_strncasecmp's folding (ASCII letters, then the C library's for bytes
 * with the high bit set), so that prefixes match exactly as they did when
 * this code called it.
 */
static unsigned char
fold(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch + ('a' - 'A');
	if (ch >= 0x80 && isupper(ch))
		return (unsigned char) tolower(ch);
	return ch;
}

int
bl_has_prefix_ci(const char *s, int len, const char *prefix)
{
	int			n = strlen(prefix);

	if (len < n)
		return 0;
	for (int i = 0; i < n; i++)
		if (s[i] != prefix[i] &&
			fold((unsigned char) s[i]) != fold((unsigned char) prefix[i]))
			return 0;
	return 1;
}

/* GS1 AI encodable character set 82. */
static int
gs1_cset82(char c)
{
	return is_alnum(c) || in_set(c, "!\"%&'()*+,-./:;<=>?_");
}

int
bl_uri_unreserved(char c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 pchar, less pct-encoded: what may stand unencoded in a path segment. */
static int
uri_pchar(char c)
{
	return bl_uri_unreserved(c) || in_set(c, "!$&'()*+,;=:@");
}

/* A character for an error detail: 'x', or its byte value if not printable ASCII. */
static const char *
char_desc(char ch, char buf[16])
{
	unsigned char c = (unsigned char) ch;

	if (c == '\'')
		snprintf(buf, 16, "\"'\"");
	else if (c > 0x20 && c < 0x7f)
		snprintf(buf, 16, "'%c'", c);
	else if (c == ' ')
		snprintf(buf, 16, "a space");
	else
		snprintf(buf, 16, "byte 0x%02X", c);
	return buf;
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
static int
gtin_normalise(BidCtx *ctx, Span g, char *out)
{
	char		d[16];
	int			expected;

	if (g.len == 0)
		return bid_fail(ctx, "The GTIN (AI 01) is empty.");
	for (int i = 0; i < g.len; i++)
		if (!is_digit(g.p[i]))
			return bid_fail(ctx, "Character %d of the GTIN (AI 01), %s, is not a digit.",
							i + 1, char_desc(g.p[i], d));
	if (g.len != 8 && g.len != 12 && g.len != 13 && g.len != GTIN_LEN)
		return bid_fail(ctx, "A GTIN has 8, 12, 13 or 14 digits, not %d.", g.len);
	memset(out, '0', GTIN_LEN - g.len);
	memcpy(out + GTIN_LEN - g.len, g.p, g.len);
	out[GTIN_LEN] = '\0';
	expected = gs1_check_digit(out);
	if (out[GTIN_LEN - 1] - '0' != expected)
		return bid_fail(ctx, "The check digit of GTIN %.*s is %c, but %d was expected.",
						g.len, g.p, g.p[g.len - 1], expected);
	return 0;
}

static int
gs1_serial_check(BidCtx *ctx, Span s)
{
	char		d[16];

	if (s.len == 0)
		return bid_fail(ctx, "The serial number (AI 21) is empty.");
	for (int i = 0; i < s.len; i++)
		if (!gs1_cset82(s.p[i]))
			return bid_fail(ctx, "Character %d of the serial number (AI 21), %s, is not in the GS1 "
							"AI encodable character set 82 (digits, letters and !\"%%&'()*+,-./:;<=>?_).",
							i + 1, char_desc(s.p[i], d));
	if (s.len > GS1_SERIAL_MAX)
		return bid_fail(ctx, "The serial number (AI 21) has %d characters; at most %d are allowed.",
						s.len, GS1_SERIAL_MAX);
	return 0;
}

/* The canonical text of a GS1 identifier, after validating its parts. */
static int
gs1_make(BidCtx *ctx, Span gtin, Span serial)
{
	char		g14[GTIN_LEN + 1];
	bl_bid_result *r = ctx->r;

	if (gtin_normalise(ctx, gtin, g14) != 0 || gs1_serial_check(ctx, serial) != 0)
		return -1;
	/* at most 7 + 14 + 4 + 20 bytes */
	r->canon_len = snprintf(r->canon, sizeof(r->canon), BL_BID_GS1_PREFIX "%s/21/%.*s",
							g14, serial.len, serial.p);
	return 0;
}

/* gs1:01/<gtin>/21/<serial> ("gs1:" already matched, in any case) */
static int
parse_gs1_text(BidCtx *ctx, const char *s, int len)
{
	const char *p = s + 4;
	const char *end = s + len;
	const char *slash;

	if (end - p < 3 || memcmp(p, "01/", 3) != 0)
		return bid_fail(ctx, "A gs1: identifier continues with 01/<GTIN>/21/<serial>.");
	p += 3;
	slash = memchr(p, '/', end - p);
	if (slash == NULL)
		return bid_fail(ctx, "The gs1: identifier has no /21/<serial> after the GTIN.");
	/* "/21" at the very end: report the empty serial */
	if (!(end - slash == 3 && memcmp(slash, "/21", 3) == 0) &&
		(end - slash < 4 || memcmp(slash, "/21/", 4) != 0))
		return bid_fail(ctx, "In a gs1: identifier the GTIN is followed by /21/<serial>.");
	return gs1_make(ctx, (Span) {p, slash - p},
					(Span) {Min(slash + 4, end), Max(end - slash - 4, 0)});
}

/* (01)<gtin>(21)<serial>: the serial is the rest of the input. */
static int
parse_element_string(BidCtx *ctx, const char *s, int len)
{
	const char *end = s + len;
	const char *gtin;
	const char *p;

	if (len < 4 || memcmp(s, "(01)", 4) != 0)
		return bid_fail(ctx, "A GS1 element string starts with (01) and the GTIN.");
	gtin = s + 4;
	p = memchr(gtin, '(', end - gtin);
	if (p == NULL)
		return bid_fail(ctx, "The element string has no (21) serial number after the GTIN.");
	if (end - p < 4 || memcmp(p, "(21)", 4) != 0)
		return bid_fail(ctx, "In the element string the GTIN must be followed by (21) and the serial number.");
	return gs1_make(ctx, (Span) {gtin, p - gtin}, (Span) {p + 4, end - p - 4});
}

/*
 * GS1 Digital Link URIs
 */

int
bl_uri_host_problem(const char *host, int len, char *why, size_t cap)
{
	char		d[16];

	if (len == 0)
	{
		snprintf(why, cap, "The URI has no host.");
		return 1;
	}
	for (int i = 0; i < len; i++)
		if (!is_alnum(host[i]) && !in_set(host[i], ".-:[]"))
		{
			snprintf(why, cap, "The URI host contains %s.", char_desc(host[i], d));
			return 1;
		}
	return 0;
}

int
bl_uri_path_problem(const char *path, int len, int base, char *why, size_t cap)
{
	char		d[16];

	for (int i = 0; i < len; i++)
	{
		if (path[i] == '%')
		{
			if (i + 2 >= len || bl_hex_nibble(path[i + 1]) < 0 || bl_hex_nibble(path[i + 2]) < 0)
			{
				snprintf(why, cap, "Bad percent-encoding at character %d: '%%' must be followed "
						 "by two hexadecimal digits.", base + i);
				return 1;
			}
			i += 2;
		}
		else if (path[i] != '/' && !uri_pchar(path[i]))
		{
			snprintf(why, cap, "Character %d, %s, must be percent-encoded in a URI.",
					 base + i, char_desc(path[i], d));
			return 1;
		}
	}
	return 0;
}

/* Decode %XX in a well-formed path segment (checked by bl_uri_path_problem). */
static Span
pct_decode(Span seg, char *out)
{
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
static int
dl_path_fail(BidCtx *ctx, const char *path, int len, const Span *rseg, int found)
{
	int			after01 = segment_after(path, len, 0, "01");

	if (after01 < 0)
		return bid_fail(ctx, "The URI path has no /01/ element (the GTIN); a GS1 Digital Link "
						"URI ends in /01/<GTIN>/21/<serial>.");
	if (segment_after(path, len, after01, "21") < 0)
		return bid_fail(ctx, "The URI path has no /21/ element (the serial number) after /01/.");
	if (found >= 3 && span_eq(rseg[2], "01") && span_eq(rseg[0], "21"))
		return bid_fail(ctx, "The URI path ends in /21 with no serial number after it.");
	return bid_fail(ctx, "The URI path must end in /01/<GTIN>/21/<serial>, with no other "
					"element between or after them.");
}

/* http(s)://<host>[/<prefix>]/01/<gtin>/21/<serial>[?query][#fragment] */
static int
parse_digital_link(BidCtx *ctx, const char *s, int len)
{
	const char *end = s + len;
	const char *host = (const char *) memchr(s, ':', len) + 1;
	const char *path;
	const char *pathend;
	Span		rseg[4];
	int			found;

	if (end - host < 2 || memcmp(host, "//", 2) != 0)
		return bid_fail(ctx, "A Digital Link URI starts with https://<host>.");
	host += 2;
	for (path = host; path < end && *path != '/' && *path != '?' && *path != '#'; path++)
		;
	if (bl_uri_host_problem(host, path - host, ctx->r->detail, sizeof(ctx->r->detail)))
		return -1;
	for (pathend = path; pathend < end && *pathend != '?' && *pathend != '#'; pathend++)
		;
	if (bl_uri_path_problem(path, pathend - path, pos(ctx, path),
							ctx->r->detail, sizeof(ctx->r->detail)))
		return -1;
	found = path_tail(path, pathend - path, rseg, 4);
	if (found < 4 || !span_eq(rseg[3], "01") || !span_eq(rseg[1], "21"))
		return dl_path_fail(ctx, path, pathend - path, rseg, found);
	return gs1_make(ctx, pct_decode(rseg[2], ctx->seg[0]), pct_decode(rseg[0], ctx->seg[1]));
}

/*
 * Other ISO/IEC 15459 identifiers
 */

static int
iso_part_check(BidCtx *ctx, const char *what, Span part, int max, int serial)
{
	char		d[16];

	if (part.len == 0)
		return bid_fail(ctx, "The %s is empty.", what);
	for (int i = 0; i < part.len; i++)
		if (!is_alnum(part.p[i]) && !(serial && in_set(part.p[i], "-./")))
			return bid_fail(ctx, "Character %d of the %s, %s, is not allowed; use A-Z and 0-9%s.",
							i + 1, what, char_desc(part.p[i], d), serial ? ", '-', '.' and '/'" : "");
	if (part.len > max)
		return bid_fail(ctx, "The %s has %d characters; at most %d are allowed.", what, part.len, max);
	return 0;
}

/* iso15459:<IAC>/<CIN>/<serial> ("iso15459:" already matched, in any case) */
static int
parse_iso15459(BidCtx *ctx, const char *s, int len)
{
	const char *iac = s + BL_BID_ISO_PREFIX_LEN;
	const char *end = s + len;
	const char *cin = memchr(iac, '/', end - iac);
	const char *serial = cin ? memchr(cin + 1, '/', end - cin - 1) : NULL;
	bl_bid_result *r = ctx->r;

	if (serial == NULL)
		return bid_fail(ctx, "An iso15459: identifier has three parts: <IAC>/<CIN>/<serial>.");
	cin++;
	serial++;
	if (iso_part_check(ctx, "issuing agency code (IAC)", (Span) {iac, cin - 1 - iac}, ISO_IAC_MAX, 0) != 0 ||
		iso_part_check(ctx, "company identification number (CIN)", (Span) {cin, serial - 1 - cin},
					   ISO_CIN_MAX, 0) != 0 ||
		iso_part_check(ctx, "serial number", (Span) {serial, end - serial}, ISO_SERIAL_MAX, 1) != 0)
		return -1;

	memcpy(r->canon, BL_BID_ISO_PREFIX, BL_BID_ISO_PREFIX_LEN);
	for (int i = BL_BID_ISO_PREFIX_LEN; i < len; i++)
		r->canon[i] = to_upper(s[i]);
	r->canon[len] = '\0';
	r->canon_len = len;
	return 0;
}

/*
 * Dispatch on the form
 */

static int
unknown_form(BidCtx *ctx, const char *s, int len)
{
	int			n = 0;

	ctx->r->hint = BL_BID_HINT_ANY;
	if (len == 0)
		return bid_fail(ctx, "The identifier is empty.");
	while (n < len && n < 32 && (is_alnum(s[n]) || in_set(s[n], "+-.")))
		n++;
	if (n > 0 && n < len && s[n] == ':' && !is_digit(s[0]))
		return bid_fail(ctx, "Unknown scheme \"%.*s\".", n, s);
	return bid_fail(ctx, "It is neither a GS1 Digital Link URI, a GS1 element string, "
					"nor a gs1: or iso15459: identifier.");
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int
bl_battery_id_parse(const char *s, int len, bl_bid_result *r)
{
	BidCtx		ctx;
	int			start = 0;
	int			end = len;

	ctx.input = s;
	ctx.r = r;
	r->canon[0] = '\0';
	r->canon_len = 0;
	r->detail[0] = '\0';
	r->hint = BL_BID_HINT_ANY;
	if (len < 0 || len > BL_BID_INPUT_MAX)
		return bid_fail(&ctx, "The identifier is %d bytes long; no accepted form is longer than %d bytes.",
						len, BL_BID_INPUT_MAX);
	/* surrounding white space (say, from a scanner) is not part of any form */
	while (start < end && is_space(s[start]))
		start++;
	while (end > start && is_space(s[end - 1]))
		end--;
	s += start;
	len = end - start;

	r->hint = BL_BID_HINT_GS1;
	if (bl_has_prefix_ci(s, len, "https:") || bl_has_prefix_ci(s, len, "http:"))
		return parse_digital_link(&ctx, s, len);
	if (len > 0 && s[0] == '(')
		return parse_element_string(&ctx, s, len);
	if (bl_has_prefix_ci(s, len, "gs1:"))
		return parse_gs1_text(&ctx, s, len);
	r->hint = BL_BID_HINT_ISO;
	if (bl_has_prefix_ci(s, len, BL_BID_ISO_PREFIX))
		return parse_iso15459(&ctx, s, len);
	return unknown_form(&ctx, s, len);
}
