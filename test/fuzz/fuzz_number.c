/*
 * fuzz_number — the check _json_num() makes of a number written as text by
 * another member (bl_number_text_ok in src/core/number_text.c) before
 * numeric's input reads it.  An accepted text must be short, read by
 * strtold as a whole (after its blanks) and finite in long double (about
 * 10^4932, far inside numeric's range): numeric's input then cannot fail
 * on it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "number_text.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (bl_number_text_ok((const char *) data, size))
	{
		char		buf[BL_NUMBER_TEXT_MAX + 1];
		char	   *end;
		long double d;

		FUZZ_CHECK(size <= BL_NUMBER_TEXT_MAX);
		FUZZ_CHECK(memchr(data, '\0', size) == NULL);
		memcpy(buf, data, size);
		buf[size] = '\0';
		/* no hex, no "inf"/"nan": strtold would read those too */
		for (size_t i = 0; i < size; i++)
			FUZZ_CHECK(strchr("0123456789+-.eE \t\n\r\f\v", buf[i]) != NULL);
		d = strtold(buf, &end);
		while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r' || *end == '\f' || *end == '\v')
			end++;
		FUZZ_CHECK(*end == '\0');
		FUZZ_CHECK(isfinite(d));
	}
	return 0;
}
