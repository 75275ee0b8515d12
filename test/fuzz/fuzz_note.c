/*
 * fuzz_note — signed notes as members and auditors receive them: the note
 * and signature-line parser (Ed25519 and cosignature/v1 lines), signature
 * and cosignature checks with the fixed keys, bl_checkpoint_open (the
 * CLI's and the witnesses' whole check) and the witness quorum.  A note
 * that opens as a checkpoint is cosigned once more: the result must parse
 * and its new cosignature must verify.
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const fuzz_keys *k = fuzz_get_keys();
	const char *buf = (const char *) data;
	bl_note		note;
	bl_checkpoint cp;
	const char *why = NULL;
	uint64_t	t = 0;
	int			ok;

	int			cosigned_before = 0;

	if (bl_note_parse(buf, size, &note) == 0)
	{
		FUZZ_CHECK(note.nsigs >= 1 && note.nsigs <= BL_NOTE_MAX_SIGS);
		FUZZ_CHECK(note.text_len < size && memcmp(note.text, buf, note.text_len) == 0);
		FUZZ_CHECK(note.text[note.text_len - 1] == '\n' && note.text[note.text_len] == '\0');
		for (int i = 0; i < note.nsigs; i++)
			cosigned_before |= strcmp(note.sigs[i].name, FUZZ_COSIGNER_NAME) == 0;
		for (int i = 0; i < note.nsigs; i++)
			FUZZ_CHECK(bl_note_key_name_valid(note.sigs[i].name, strlen(note.sigs[i].name)) &&
					   note.sigs[i].sig_len >= 1);
		FUZZ_CHECK(bl_note_verify(&note, k->log.name, k->log.pub) >= 0);
		FUZZ_CHECK(bl_cosig_verify(&note, k->witness[0].name, k->witness[0].pub, &t) >= 0);
	}
	bl_note_free(&note);

	/* the log key and the first witness, then "1 of 2 witnesses" */
	ok = bl_checkpoint_open(buf, size, &k->log, NULL, k->witness, 1, &note, &cp, &why);
	FUZZ_CHECK(ok == 1 ? why == NULL : why != NULL);
	if (ok == 1)
	{
		const char *why2 = NULL;

		FUZZ_CHECK(cp.origin_len == strlen(FUZZ_LOG_NAME));
		ok = bl_witness_quorum(&note, k->witness, 2, 1, &why2);
		FUZZ_CHECK(ok == 1);
	}
	bl_note_free(&note);

	/* cosigning anything that is a checkpoint note (the witness's job) */
	{
		char	   *co = bl_note_cosign(buf, size, FUZZ_COSIGNER_NAME, k->priv, 1700000000);

		if (co)
		{
			FUZZ_CHECK(bl_note_parse(co, strlen(co), &note) == 0);
			/* unless the input already had lines by that name (which may be bad) */
			if (!cosigned_before)
				FUZZ_CHECK(bl_cosig_verify(&note, k->cosigner.name, k->cosigner.pub, &t) == 1 &&
						   t == 1700000000);
			bl_note_free(&note);
			free(co);
		}
	}
	return 0;
}
