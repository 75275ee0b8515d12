/*
 * fuzz_hash256 — the text input of the hash256 type (bl_hash256_parse in
 * src/core/type_text.c, called by hash256_in).  Accepted text must be the
 * lower-case hex of the bytes up to case; a refusal must name the first
 * non-hex character.
 */
#include <ctype.h>

#include "fuzz.h"
#include "type_text.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		out[BL_HASH_LEN];
	int			rc = bl_hash256_parse((const char *) data, size, out);

	if (rc == 0)
	{
		char		back[2 * BL_HASH_LEN + 1];

		FUZZ_CHECK(size == 2 * BL_HASH_LEN);
		for (int i = 0; i < BL_HASH_LEN; i++)
			snprintf(back + 2 * i, 3, "%02x", out[i]);
		for (size_t i = 0; i < size; i++)
			FUZZ_CHECK(tolower(data[i]) == back[i]);
	}
	else if (rc < 0)
		FUZZ_CHECK(rc == -1 && size != 2 * BL_HASH_LEN);
	else
	{
		FUZZ_CHECK(size == 2 * BL_HASH_LEN && rc <= (int) size);
		FUZZ_CHECK(!isxdigit(data[rc - 1]));
		for (int i = 0; i < rc - 1; i++)
			FUZZ_CHECK(isxdigit(data[i]));
	}
	return 0;
}
