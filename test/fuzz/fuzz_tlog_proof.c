/*
 * fuzz_tlog_proof — tlog-proof@v1 bundles, which the CLI verifies for
 * auditors: the structural parser, then the whole check with the fixed log
 * key, witness and the seeds' leaf ("leaf 5").  A parsed bundle must format
 * back to the same bytes (one spelling per bundle).
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const fuzz_keys *k = fuzz_get_keys();
	const char *buf = (const char *) data;
	bl_tlog_proof proof;
	bl_note		note;
	bl_checkpoint cp;
	uint8_t		leaf[32];
	const char *why = NULL;
	int			ok;

	if (bl_tlog_proof_parse(buf, size, &proof) == 0)
	{
		uint8_t    *extra = NULL;
		size_t		extra_len = 0;
		char	   *back;

		FUZZ_CHECK(proof.n <= BL_TLOG_PROOF_MAX && proof.note_len > 0);
		FUZZ_CHECK(proof.note + proof.note_len == buf + size);
		if (proof.extra)
		{
			extra = malloc(proof.extra_len);
			FUZZ_CHECK(extra && bl_base64_decode(proof.extra, proof.extra_len, extra,
												 proof.extra_len, &extra_len) == 0);
		}
		back = bl_tlog_proof_format(proof.index, (const uint8_t (*)[32]) proof.proof, proof.n,
									extra, extra_len, proof.note, proof.note_len);
		/* memcmp, not strlen: the note part is not checked here and may hold NULs */
		FUZZ_CHECK(back && memcmp(back, buf, size) == 0 && back[size] == '\0');
		free(back);
		free(extra);
	}

	fuzz_leaf_hash(FUZZ_LEAF_INDEX, leaf);
	ok = bl_tlog_proof_verify(buf, size, &k->log, NULL, k->witness, 1, leaf,
							  &proof, &note, &cp, &why);
	FUZZ_CHECK(ok == 1 ? why == NULL : why != NULL);
	if (ok == 1)
		FUZZ_CHECK(proof.index == FUZZ_LEAF_INDEX && proof.index < cp.size);
	bl_note_free(&note);
	return 0;
}
