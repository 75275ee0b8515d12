/*
 * fuzz_checkpoint — bl_checkpoint_parse on a checkpoint body (the signed
 * text of a note).  The body format has one spelling per value, so an
 * accepted body must be rebuilt byte for byte by bl_checkpoint_body from
 * the parsed origin, size, root and extension lines.
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bl_checkpoint cp;
	char	   *origin;
	char	   *ext = NULL;
	static const char *lines[BL_NOTE_MAX_LEN / 2];	/* static: 1 MiB */
	static const char *no_lines[1];
	int			nlines = 0;
	char	   *back;

	if (bl_checkpoint_parse((const char *) data, size, &cp) != 0)
		return 0;
	FUZZ_CHECK(cp.origin == (const char *) data && cp.origin_len > 0);
	origin = fuzz_strndup(cp.origin, cp.origin_len);
	if (cp.ext)
	{
		/* split the extension lines in place (each ends in a newline) */
		ext = fuzz_strndup(cp.ext, cp.ext_len);
		for (char *p = ext; *p; nlines++)
		{
			char	   *nl = strchr(p, '\n');

			FUZZ_CHECK(nl != NULL && nlines < (int) (sizeof(lines) / sizeof(lines[0])));
			*nl = '\0';
			lines[nlines] = p;
			p = nl + 1;
		}
	}
	back = bl_checkpoint_body(origin, cp.size, cp.root, nlines ? lines : no_lines, nlines);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(strlen(back) == size && memcmp(back, data, size) == 0);
	free(back);
	free(ext);
	free(origin);
	return 0;
}
