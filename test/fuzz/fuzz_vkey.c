/*
 * fuzz_vkey — bl_vkey_parse, the verifier keys auditors pass to the CLI and
 * members store for each other's logs.  An accepted vkey must format back
 * to the same text (the key ID's hex digits may be upper case on input).
 */
#include <ctype.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bl_vkey		v;
	char	   *back;
	size_t		nlen;

	if (bl_vkey_parse((const char *) data, size, &v) != 0)
		return 0;
	nlen = strlen(v.name);
	back = bl_vkey_format(v.name, v.alg, v.pub);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(strlen(back) == size);
	for (size_t i = 0; i < size; i++)
	{
		int			in_id = i > nlen && i <= nlen + 8;

		FUZZ_CHECK(in_id ? tolower(data[i]) == back[i] : data[i] == (uint8_t) back[i]);
	}
	free(back);
	return 0;
}
