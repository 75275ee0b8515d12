/*
 * fuzz_vkey_list — bl_vkey_list_parse(_alg), the lists of a log's (or a
 * witness's) verifier keys across rotations, oldest first, one per line:
 * verify_log()'s log_vkey argument (any role may pass one) and the lists
 * pinned in consortium_member.  The first byte picks the algorithm (bit 0:
 * cosignature/v1 instead of Ed25519) and the limit (1..16, bits 1-4); the
 * rest is the list.  Checked against a reference split written here:
 *   - an accepted list has between 1 and max keys, one per non-blank line
 *     (LF-separated, one trailing CR stripped), each formatting back to its
 *     line (the key ID's hex digits may be upper case on input), of the
 *     algorithm asked for, all of one name, no two alike;
 *   - bl_vkey_list_line() gives each key's line;
 *   - a refused list names a rule, and a key and line that exist (for a
 *     duplicate or a second name, an earlier key on an earlier line);
 * then, for an accepted Ed25519 list, bl_note_newest_signer() on the note
 * the list's text makes when signed by the TEST-ONLY key under the first
 * key's name: it must not crash, and must return -1 or a key index.
 */
#include <ctype.h>

#include "fuzz.h"

#define LIST_MAX 16

/* The reference: the line of the next non-blank line, as the parser splits. */
static int
next_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *nl;

	if (*p >= end)
		return 0;
	nl = memchr(*p, '\n', (size_t) (end - *p));
	*line = *p;
	*len = (size_t) ((nl ? nl : end) - *p);
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	*p = nl ? nl + 1 : end;
	return 1;
}

/* Does the vkey text `back` equal line (id hex digits compared without case)? */
static int
same_key_text(const char *line, size_t len, const char *back, size_t name_len)
{
	if (strlen(back) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
	{
		int			in_id = i > name_len && i <= name_len + 8;

		if (in_id ? tolower((unsigned char) line[i]) != back[i] : line[i] != back[i])
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bl_vkey		keys[LIST_MAX + 1];
	bl_vkey_list_error err;
	const char *p;
	const char *end;
	const char *line;
	size_t		len;
	uint8_t		alg;
	int			max;
	int			n;
	int			lines = 0;
	int			nonblank = 0;

	if (size < 1)
		return 0;
	alg = (data[0] & 1) ? BL_NOTE_ALG_COSIG_V1 : BL_NOTE_ALG_ED25519;
	max = 1 + ((data[0] >> 1) & 15);
	p = (const char *) data + 1;
	end = (const char *) data + size;

	for (const char *q = p; next_line(&q, end, &line, &len);)
	{
		lines++;
		nonblank += len > 0;
	}

	n = bl_vkey_list_parse_alg(p, (size_t) (end - p), alg, keys, max, &err);
	if (n > 0)
	{
		int			k = 0;
		int			ln = 0;

		FUZZ_CHECK(err.rule == BL_VKEY_LIST_OK);
		FUZZ_CHECK(n <= max && n == nonblank);
		for (const char *q = p; next_line(&q, end, &line, &len);)
		{
			char	   *back;

			ln++;
			if (len == 0)
				continue;
			back = bl_vkey_format(keys[k].name, keys[k].alg, keys[k].pub);
			FUZZ_CHECK(back != NULL);
			FUZZ_CHECK(same_key_text(line, len, back, strlen(keys[k].name)));
			free(back);
			FUZZ_CHECK(keys[k].alg == alg);
			FUZZ_CHECK(strcmp(keys[k].name, keys[0].name) == 0);
			for (int j = 0; j < k; j++)
				FUZZ_CHECK(memcmp(keys[j].pub, keys[k].pub, BL_ED25519_PUB_LEN) != 0);
			FUZZ_CHECK(bl_vkey_list_line(p, (size_t) (end - p), k + 1) == ln);
			k++;
		}
		FUZZ_CHECK(k == n);
	}
	else
	{
		FUZZ_CHECK(n == -1);
		FUZZ_CHECK(err.rule != BL_VKEY_LIST_OK);
		if (err.rule == BL_VKEY_LIST_EMPTY)
			FUZZ_CHECK(nonblank == 0 && err.key == 0 && err.line == 0);
		else
		{
			FUZZ_CHECK(err.key >= 1 && err.key <= nonblank && err.key <= max + 1);
			FUZZ_CHECK(err.line >= err.key && err.line <= lines);
		}
		if (err.rule == BL_VKEY_LIST_TOO_MANY)
			FUZZ_CHECK(err.key == max + 1);
		if (err.rule == BL_VKEY_LIST_DUPLICATE || err.rule == BL_VKEY_LIST_TWO_NAMES)
			FUZZ_CHECK(err.first_key >= 1 && err.first_key < err.key &&
					   err.first_line >= 1 && err.first_line < err.line);
		else
			FUZZ_CHECK(err.first_key == 0 && err.first_line == 0);
	}

	/* the era rule over an accepted list: a note signed as its first key */
	if (n > 0 && alg == BL_NOTE_ALG_ED25519)
	{
		const fuzz_keys *fk = fuzz_get_keys();
		char	   *signed_note;
		bl_note		note;

		signed_note = bl_note_sign(FUZZ_LOG_NAME "\n1\n", strlen(FUZZ_LOG_NAME "\n1\n"),
								   keys[0].name, fk->priv);
		if (signed_note)
		{
			if (bl_note_parse(signed_note, strlen(signed_note), &note) == 0)
			{
				int			s = bl_note_newest_signer(&note, keys, n, (int) (data[0] >> 5) - 1);

				FUZZ_CHECK(s >= -1 && s < n);
				/* only a listed key with the TEST-ONLY public key can verify it */
				if (s >= 0)
					FUZZ_CHECK(memcmp(keys[s].pub, fk->pub, BL_ED25519_PUB_LEN) == 0);
			}
			bl_note_free(&note);
			free(signed_note);
		}
	}
	return 0;
}
