/*
 * cli_note.c — the CLI's C2SP note commands: vkey, sign-checkpoint, cosign,
 * verify-checkpoint, and the checkpoint checks the proof commands share.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

int
cmd_vkey(const cmd_args *a)
{
	uint8_t		pub[BL_ED25519_PUB_LEN];
	uint8_t		alg = a->val[O_COSIGNER] ? BL_NOTE_ALG_COSIG_V1 : BL_NOTE_ALG_ED25519;
	char	   *vkey;

	if (!bl_note_key_name_valid(a->val[O_NAME], strlen(a->val[O_NAME])) ||
		strlen(a->val[O_NAME]) > BL_NOTE_NAME_MAX)
		return usage_error("--name must be a key name without spaces or '+'");
	if (load_public_key(a->val[O_KEY], pub) != EXIT_OK)
		return EXIT_BAD;
	vkey = bl_vkey_format(a->val[O_NAME], alg, pub);
	if (!vkey)
		return fail_error("could not format the verifier key");
	puts(vkey);
	free(vkey);
	return EXIT_OK;
}

int
cmd_sign_checkpoint(const cmd_args *a)
{
	const char *name = a->val[O_NAME] ? a->val[O_NAME] : a->val[O_ORIGIN];
	uint64_t	size;
	uint8_t		root[BL_HASH_LEN];
	size_t		root_len;
	char	   *body;
	char	   *note = NULL;
	void	   *key;

	if (parse_u64_arg("--size", a->val[O_SIZE], &size) != EXIT_OK ||
		parse_b64_arg("--root", a->val[O_ROOT], root, BL_HASH_LEN, &root_len) != EXIT_OK)
		return EXIT_USAGE;
	if (root_len != BL_HASH_LEN)
		return usage_error("--root must be a base64 SHA-256 hash");
	if (!bl_note_key_name_valid(name, strlen(name)))
		return usage_error("the key name must not contain spaces or '+'");
	body = bl_checkpoint_body(a->val[O_ORIGIN], size, root, NULL, 0);
	if (!body)
		return usage_error("--origin must be one line of UTF-8 text");
	key = load_private_key(a->val[O_KEY]);
	if (!key)
	{
		free(body);
		return EXIT_BAD;
	}
	note = bl_note_sign(body, strlen(body), name, key);
	bl_ed25519_priv_free(key);
	free(body);
	if (!note)
		return fail_error("signing failed");
	fputs(note, stdout);
	free(note);
	return EXIT_OK;
}

int
cmd_cosign(const cmd_args *a)
{
	uint64_t	t = (uint64_t) time(NULL);
	size_t		len;
	char	   *in;
	char	   *out = NULL;
	void	   *key;

	if (a->val[O_TIME] && parse_u64_arg("--time", a->val[O_TIME], &t) != EXIT_OK)
		return EXIT_USAGE;
	if (!bl_note_key_name_valid(a->val[O_NAME], strlen(a->val[O_NAME])))
		return usage_error("--name must be a key name without spaces or '+'");
	if (t > (uint64_t) BL_COSIG_MAX_TIME)
		return usage_error("--time must not exceed 2^63-1");
	if (!(key = load_private_key(a->val[O_KEY])))
		return EXIT_BAD;
	if ((in = read_all(a->val[O_FILE], MAX_TEXT, &len)) != NULL)
		out = bl_note_cosign(in, len, a->val[O_NAME], key, t);
	bl_ed25519_priv_free(key);
	if (!in)
		return fail_error("could not read the checkpoint");
	free(in);
	if (!out)
		return fail_error("input is not a signed checkpoint note");
	fputs(out, stdout);
	free(out);
	return EXIT_OK;
}

/* --vkey and every --witness, parsed. */
int
parse_keys(const cmd_args *a, bl_vkey *log, bl_vkey *witnesses)
{
	if (parse_vkey_arg("--vkey", a->val[O_VKEY], log) != EXIT_OK)
		return EXIT_USAGE;
	if (log->alg != BL_NOTE_ALG_ED25519)
		return usage_error("--vkey must be an Ed25519 (type 0x01) note key");
	for (int i = 0; i < a->nwitness; i++)
		if (parse_vkey_arg("--witness", a->witness[i], &witnesses[i]) != EXIT_OK)
			return EXIT_USAGE;
	return EXIT_OK;
}

/*
 * The witness policy: every --witness, or with --min-witnesses K at least K
 * of them.  Returns the count bl_checkpoint_open / bl_tlog_proof_verify must
 * require themselves (0 when the quorum is checked afterwards), or -1.
 */
int
quorum_arg(const cmd_args *a, int *min)
{
	uint64_t	k;

	*min = -1;
	if (!a->val[O_MIN_WITNESSES])
		return a->nwitness;
	if (bl_parse_u64(a->val[O_MIN_WITNESSES], strlen(a->val[O_MIN_WITNESSES]), &k) != 0 ||
		k < 1 || k > (uint64_t) a->nwitness)
	{
		usage_error("--min-witnesses must be between 1 and the number of --witness keys");
		return -1;
	}
	*min = (int) k;
	return 0;
}

/* After the note verified: does it meet the quorum (if one was asked for)? */
int
quorum_ok(const bl_note *note, const bl_vkey *w, const cmd_args *a, int min, const char **why)
{
	return min < 0 ? 1 : bl_witness_quorum(note, w, a->nwitness, min, why);
}

/*
 * Open and verify one checkpoint file: 1 ok, 0 rejected (*why set), -1
 * unreadable (error already printed).
 */
int
open_checkpoint_file(const char *path, const bl_vkey *log, const char *origin,
					 const bl_vkey *w, int nw, bl_note *note,
					 bl_checkpoint *cp, const char **why)
{
	size_t		len;
	char	   *buf = read_all(path, MAX_TEXT, &len);
	int			ok;

	memset(note, 0, sizeof(*note));
	if (!buf)
	{
		*why = NULL;
		fail_error("could not read checkpoint \"%s\"", path ? path : "-");
		return -1;
	}
	ok = bl_checkpoint_open(buf, len, log, origin, w, nw, note, cp, why);
	free(buf);
	return ok;
}

int
cmd_verify_checkpoint(const cmd_args *a)
{
	bl_vkey		log;
	bl_vkey		w[MAX_WITNESSES];
	bl_note		note;
	bl_checkpoint cp;
	const char *why = NULL;
	char		root[48];
	int			ok;

	int			min;
	int			need;

	if (parse_keys(a, &log, w) != EXIT_OK || (need = quorum_arg(a, &min)) < 0)
		return EXIT_USAGE;
	ok = open_checkpoint_file(a->val[O_FILE], &log, a->val[O_ORIGIN], w,
							  need, &note, &cp, &why);
	if (ok == 1)
		ok = quorum_ok(&note, w, a, min, &why);
	if (ok == 1)
	{
		bl_base64_encode(cp.root, BL_HASH_LEN, root);
		verdict_ok("checkpoint of %.*s at size %" PRIu64 " root %s (%d witness%s)",
				   (int) cp.origin_len, cp.origin, cp.size, root, a->nwitness,
				   a->nwitness == 1 ? "" : "es");
	}
	bl_note_free(&note);
	if (ok == 1)
		return EXIT_OK;
	return why ? verdict_fail(why) : EXIT_BAD;
}
