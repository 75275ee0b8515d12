/*
 * codec.c — the strict text and byte codecs the C2SP formats (note.c), the
 * type input functions (type_text.c) and the CLI share: base64, decimal
 * u64, hex digits, UTF-8 validation and big-endian integers (see codec.h).
 *
 * They read text that arrives from other members and from auditors' files,
 * so each accepts exactly one spelling of a value: canonical padded base64,
 * decimal without sign or leading zeros, well-formed UTF-8 (no overlong
 * forms, no surrogates) without control characters.
 */
#include "codec.h"

#include <string.h>

/* -------------------------------------------------------------- base64 */

static const char b64_alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
bl_base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void
bl_base64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t		i;

	for (i = 0; i + 2 < n; i += 3)
	{
		uint32_t	v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];

		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = b64_alphabet[(v >> 6) & 63];
		*out++ = b64_alphabet[v & 63];
	}
	if (i < n)
	{
		uint32_t	v = (uint32_t) in[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t) in[i + 1] << 8;
		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * One 4-character group whose last `pad` characters must be '='.  The bits
 * that padding leaves unused must be zero: otherwise two different strings
 * would decode to the same bytes, and signed text must have one spelling.
 */
static int
b64_group(const char *g, int pad, uint8_t out[3])
{
	uint32_t	acc = 0;

	for (int j = 0; j < 4; j++)
	{
		int			v = j >= 4 - pad ? (g[j] == '=' ? 0 : -1) : b64_value(g[j]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t) v;
	}
	if ((pad == 1 && (acc & 0xFF) != 0) || (pad == 2 && (acc & 0xFFFF) != 0))
		return -1;
	out[0] = (uint8_t) (acc >> 16);
	out[1] = (uint8_t) (acc >> 8);
	out[2] = (uint8_t) acc;
	return 0;
}

/* Decode, or only validate when out is NULL; returns the length or -1. */
static long long
b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	int			pad = 0;
	size_t		need;
	uint8_t		g[3];

	if (len % 4 != 0)
		return -1;
	if (len > 0 && in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	need = len / 4 * 3 - (size_t) pad;
	if (out && need > cap)
		return -1;
	for (size_t q = 0; q < len; q += 4)
	{
		int			gpad = q + 4 == len ? pad : 0;

		if (b64_group(in + q, gpad, g) != 0)
			return -1;
		if (out)
			memcpy(out + q / 4 * 3, g, (size_t) (3 - gpad));
	}
	return (long long) need;
}

int
bl_base64_check(const char *in, size_t len)
{
	return b64_decode(in, len, NULL, 0) < 0 ? -1 : 0;
}

int
bl_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap,
				 size_t *outlen)
{
	long long	n = b64_decode(in, len, out, cap);

	if (n < 0)
		return -1;
	*outlen = (size_t) n;
	return 0;
}

/* ---------------------------------------------------------------- text */

int
bl_parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t	v = 0;

	if (len == 0 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++)
	{
		unsigned	d = (unsigned) (s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Length of the well-formed UTF-8 sequence at s, or 0; *cp gets its value. */
static size_t
utf8_char(const uint8_t *s, size_t avail, uint32_t *cp)
{
	size_t		len;
	uint32_t	c;
	uint32_t	min;

	if (s[0] < 0x80)
	{
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0)
		len = 2;
	else if ((s[0] & 0xF0) == 0xE0)
		len = 3;
	else if ((s[0] & 0xF8) == 0xF0)
		len = 4;
	else
		return 0;
	c = s[0] & (0x7F >> len);
	min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
	if (avail < len)
		return 0;
	for (size_t i = 1; i < len; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	/* Overlong forms, UTF-16 surrogates and values past U+10FFFF. */
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

/* Unicode White_Space, as key names must contain none of it. */
static int
is_unicode_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 ||
		c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
		c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
		c == 0x3000;
}

/* Valid UTF-8 with no control characters except the newlines kind allows. */
int
bl_utf8_text_valid(const char *s, size_t len, bl_text_kind kind)
{
	size_t		i = 0;

	while (i < len)
	{
		uint32_t	c;
		size_t		n = utf8_char((const uint8_t *) s + i, len - i, &c);

		if (n == 0)
			return 0;
		if (c < 0x20 && !(kind == BL_TEXT_MULTILINE && c == '\n'))
			return 0;
		if (kind == BL_TEXT_KEY_NAME && (c == '+' || is_unicode_space(c)))
			return 0;
		i += n;
	}
	return 1;
}

int
bl_text_line_valid(const char *s, size_t len)
{
	return bl_utf8_text_valid(s, len, BL_TEXT_LINE);
}


/* ------------------------------------------------------------- hex */

int
bl_hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ----------------------------------------------------------- bytes */

void
bl_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t) (v >> (56 - 8 * i));
}

uint64_t
bl_get_be64(const uint8_t *p)
{
	uint64_t	v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}
