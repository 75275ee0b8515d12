/*
 * fuzz_base64 — the strict text primitives of codec.c that every note,
 * vkey and proof goes through: base64 decoding (canonical only, so an
 * accepted string must re-encode to itself), decimal u64, hex digits, and
 * the UTF-8 line / key-name validators.
 */
#include <inttypes.h>

#include "fuzz.h"

/* What a strict decimal must print back as. */
static void
check_u64(const uint8_t *data, size_t size)
{
	uint64_t	v;
	char		back[32];

	if (bl_parse_u64((const char *) data, size, &v) != 0)
		return;
	snprintf(back, sizeof(back), "%" PRIu64, v);
	FUZZ_CHECK(strlen(back) == size && memcmp(back, data, size) == 0);
}

static void
check_base64(const uint8_t *data, size_t size)
{
	uint8_t    *out = malloc(size + 1);
	uint8_t    *small = malloc(32);	/* exactly 32: an overflow is an ASan error */
	size_t		n = 0;
	size_t		m = 0;

	FUZZ_CHECK(out && small);
	if (bl_base64_decode((const char *) data, size, out, size, &n) == 0)
	{
		char	   *back = malloc(bl_base64_encoded_len(n) + 1);

		FUZZ_CHECK(back);
		bl_base64_encode(out, n, back);
		FUZZ_CHECK(strlen(back) == size && memcmp(back, data, size) == 0);
		free(back);
		/* with a 32-byte cap: the same bytes if they fit, refused if not */
		if (bl_base64_decode((const char *) data, size, small, 32, &m) == 0)
			FUZZ_CHECK(m == n && memcmp(small, out, n) == 0);
		else
			FUZZ_CHECK(n > 32);
	}
	else
		FUZZ_CHECK(bl_base64_decode((const char *) data, size, small, 32, &m) != 0);
	free(out);
	free(small);
}

static void
check_text(const uint8_t *data, size_t size)
{
	int			line = bl_text_line_valid((const char *) data, size);
	int			name = bl_note_key_name_valid((const char *) data, size);

	/* a key name is a non-empty line with fewer characters allowed */
	if (name)
		FUZZ_CHECK(line && size > 0 && !memchr(data, '+', size) && !memchr(data, ' ', size));
	/* no ASCII control characters (UTF-8 continuation bytes are >= 0x80) */
	if (line)
		for (size_t i = 0; i < size; i++)
			FUZZ_CHECK(data[i] >= 0x20);
}

static void
check_hex(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++)
	{
		int			v = bl_hex_nibble((char) data[i]);
		char		c[2] = {(char) data[i], '\0'};
		char	   *end;
		long		want = strchr("0123456789abcdefABCDEF", c[0]) && c[0] ?
			strtol(c, &end, 16) : -1;

		FUZZ_CHECK(v == want);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_u64(data, size);
	check_base64(data, size);
	check_text(data, size);
	check_hex(data, size < 64 ? size : 64);
	return 0;
}
