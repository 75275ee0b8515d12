/*
 * cli_proof.c — the CLI's proof commands: leaf, verify-proof,
 * verify-consistency, verify-inclusion, verify-consistency-raw.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

/*
 * leaf --table SCHEMA.TABLE --seq N --prev HEX --hash HEX: the log leaf of a
 * row, from its published ledger_seq, ledger_prev and ledger_hash, as hex —
 * what verify-proof's --leaf-hex takes.  An auditor needs nothing the member
 * has to hand over besides the row (and its proof bundle).
 */
int
cmd_leaf(const cmd_args *a)
{
	const char *tbl = a->val[O_TABLE];
	size_t		tbl_len = strlen(tbl);
	char	   *end;
	long long	seq;
	uint8_t    *prev,
			   *hash,
			   *leaf;
	size_t		n1 = 0,
				n2 = 0;

	if (tbl_len == 0 || tbl_len > 65535 || !bl_text_line_valid(tbl, tbl_len) || strchr(tbl, '.') == NULL)
		return usage_error("--table must name the ledger table as schema.table");
	errno = 0;
	seq = strtoll(a->val[O_SEQ], &end, 10);
	if (errno != 0 || *end != '\0' || end == a->val[O_SEQ] || seq < 1)
		return usage_error("--seq must be a position of 1 or more");
	prev = hex_decode(a->val[O_PREV], strlen(a->val[O_PREV]), &n1);
	hash = hex_decode(a->val[O_ROW_HASH], strlen(a->val[O_ROW_HASH]), &n2);
	if (!prev || !hash || n1 != BL_HASH_LEN || n2 != BL_HASH_LEN)
	{
		free(prev);
		free(hash);
		return usage_error("--prev and --hash must be 64 hex digits (ledger_prev, ledger_hash)");
	}
	leaf = malloc(bl_log_leaf_len(tbl_len));
	if (!leaf)
	{
		free(prev);
		free(hash);
		return fail_error("out of memory");
	}
	bl_log_leaf(tbl, tbl_len, (int64_t) seq, prev, hash, leaf);
	print_hex(stdout, leaf, bl_log_leaf_len(tbl_len));
	fputc('\n', stdout);
	free(leaf);
	free(prev);
	free(hash);
	return EXIT_OK;
}

/* The leaf bytes from --leaf-hex or --leaf-file, hashed as an RFC 6962 leaf. */
static int
leaf_hash_arg(const cmd_args *a, uint8_t out[BL_HASH_LEN])
{
	uint8_t    *leaf;
	size_t		len;
	int			rc;

	if (!a->val[O_LEAF_HEX] == !a->val[O_LEAF_FILE])
		return usage_error("give exactly one of --leaf-hex and --leaf-file");
	if (a->val[O_LEAF_HEX])
	{
		leaf = hex_decode(a->val[O_LEAF_HEX], strlen(a->val[O_LEAF_HEX]), &len);
		if (!leaf)
			return usage_error("--leaf-hex is not an even-length hex string");
	}
	else if (!(leaf = (uint8_t *) read_all(a->val[O_LEAF_FILE], MAX_INPUT, &len)))
		return fail_error("could not read leaf file \"%s\"", a->val[O_LEAF_FILE]);
	rc = bl_merkle_leaf_hash(leaf, len, out);
	free(leaf);
	return rc == 0 ? EXIT_OK : fail_error("could not hash the leaf");
}

int
cmd_verify_proof(const cmd_args *a)
{
	bl_vkey		log;
	bl_vkey		w[MAX_WITNESSES];
	uint8_t		leaf[BL_HASH_LEN];
	bl_tlog_proof proof;
	bl_note		note;
	bl_checkpoint cp;
	const char *why = NULL;
	size_t		len;
	char	   *buf;
	int			ok;
	int			rc;

	int			min;
	int			need;

	if (parse_keys(a, &log, w) != EXIT_OK || (need = quorum_arg(a, &min)) < 0)
		return EXIT_USAGE;
	if ((rc = leaf_hash_arg(a, leaf)) != EXIT_OK)
		return rc;
	if (!(buf = read_all(a->val[O_PROOF], MAX_TEXT, &len)))
		return fail_error("could not read proof \"%s\"", a->val[O_PROOF]);
	ok = bl_tlog_proof_verify(buf, len, &log, a->val[O_ORIGIN], w, need,
							  leaf, &proof, &note, &cp, &why);
	if (ok)
		ok = quorum_ok(&note, w, a, min, &why);
	if (ok)
		verdict_ok("leaf %" PRIu64 " is included in %.*s at size %" PRIu64,
				   proof.index, (int) cp.origin_len, cp.origin, cp.size);
	bl_note_free(&note);
	free(buf);
	return ok ? EXIT_OK : verdict_fail(why);
}

/* Both checkpoints are verified; now the proof between them. */
static int
check_consistency(const bl_checkpoint *old, const bl_checkpoint *new,
				  const char *proof_path)
{
	uint8_t		proof[MAX_PROOF_LINES][BL_HASH_LEN];
	uint8_t		empty[BL_HASH_LEN];
	size_t		n;
	const char *why = NULL;
	int			rc = read_proof_file(proof_path, proof, &n, &why);

	if (rc < 0)
		return fail_error("could not read proof file \"%s\"", proof_path);
	if (rc == 0)
		return verdict_fail(why);
	if (old->size > new->size)
		return verdict_fail("new checkpoint is smaller than the old one");
	/* An empty log is a prefix of every log: nothing to prove. */
	if (old->size == 0)
	{
		if (bl_merkle_empty_root(empty) != 0 || memcmp(empty, old->root, BL_HASH_LEN) != 0)
			return verdict_fail("old checkpoint has size 0 but not the empty root");
		if (n != 0)
			return verdict_fail("proof must be empty for an empty old tree");
	}
	else if (!bl_merkle_verify_consistency(old->size, new->size, old->root,
										   new->root,
										   (const uint8_t (*)[BL_HASH_LEN]) proof, n))
		return verdict_fail("consistency proof does not hold");
	return verdict_ok("%.*s grew from size %" PRIu64 " to %" PRIu64 " append-only",
					  (int) new->origin_len, new->origin, old->size, new->size);
}

int
cmd_verify_consistency(const cmd_args *a)
{
	bl_vkey		log;
	bl_vkey		old_log;
	bl_note		old_note;
	bl_note		new_note;
	bl_checkpoint old_cp;
	bl_checkpoint new_cp;
	const char *why = NULL;
	int			ok;
	int			rc;

	if (parse_keys(a, &log, NULL) != EXIT_OK)
		return EXIT_USAGE;
	/*
	 * A log whose key was rotated signs its old checkpoints with the old key
	 * and its new ones with the new: the old note is checked with the key
	 * the auditor kept, the new one with the key learned since.  What ties
	 * the two is the proof: the new tree extends the tree the old key
	 * signed, so a rotation cannot rewrite history unseen.
	 */
	old_log = log;
	if (a->val[O_OLD_VKEY])
	{
		if (parse_vkey_arg("--old-vkey", a->val[O_OLD_VKEY], &old_log) != EXIT_OK)
			return EXIT_USAGE;
		if (old_log.alg != BL_NOTE_ALG_ED25519)
			return usage_error("--old-vkey must be an Ed25519 (type 0x01) note key");
	}
	memset(&new_note, 0, sizeof(new_note));
	ok = open_checkpoint_file(a->val[O_OLD], &old_log, a->val[O_ORIGIN], NULL, 0,
							  &old_note, &old_cp, &why);
	if (ok == 1)
		ok = open_checkpoint_file(a->val[O_NEW], &log, a->val[O_ORIGIN], NULL, 0,
								  &new_note, &new_cp, &why);
	/* one log: with two keys of different names, the origins could differ */
	if (ok == 1 && (old_cp.origin_len != new_cp.origin_len ||
					memcmp(old_cp.origin, new_cp.origin, old_cp.origin_len) != 0))
	{
		ok = 0;
		why = "the two checkpoints name different origins: they are not of one log";
	}
	if (ok == 1)
		rc = check_consistency(&old_cp, &new_cp, a->val[O_PROOF]);
	else
		rc = why ? verdict_fail(why) : EXIT_BAD;
	bl_note_free(&old_note);
	bl_note_free(&new_note);
	return rc;
}

int
cmd_verify_inclusion(const cmd_args *a)
{
	uint64_t	size;
	uint64_t	index;
	uint8_t		root[64];
	uint8_t		leaf[64];
	size_t		root_len;
	size_t		leaf_len;
	uint8_t		proof[MAX_PROOF_LINES][BL_HASH_LEN];
	size_t		n;
	const char *why = NULL;
	int			rc;

	if (parse_u64_arg("--size", a->val[O_SIZE], &size) != EXIT_OK ||
		parse_u64_arg("--index", a->val[O_INDEX], &index) != EXIT_OK ||
		parse_b64_arg("--root", a->val[O_ROOT], root, 64, &root_len) != EXIT_OK ||
		parse_b64_arg("--leaf-hash", a->val[O_LEAF_HASH], leaf, 64, &leaf_len) != EXIT_OK)
		return EXIT_USAGE;
	rc = read_proof_file(a->val[O_PROOF_FILE], proof, &n, &why);
	if (rc < 0)
		return fail_error("could not read proof file \"%s\"", a->val[O_PROOF_FILE]);
	/* Well-formed values of the wrong length are data that fails, not usage. */
	if (rc == 0)
		return verdict_fail(why);
	if (root_len != BL_HASH_LEN || leaf_len != BL_HASH_LEN)
		return verdict_fail("root and leaf hash must be 32 bytes");
	if (!bl_merkle_verify_inclusion(index, size, leaf,
									(const uint8_t (*)[BL_HASH_LEN]) proof, n, root))
		return verdict_fail("inclusion proof does not hold");
	return verdict_ok("leaf %" PRIu64 " is included in the tree of size %" PRIu64,
					  index, size);
}

int
cmd_verify_consistency_raw(const cmd_args *a)
{
	uint64_t	size1;
	uint64_t	size2;
	uint8_t		root1[64];
	uint8_t		root2[64];
	size_t		len1;
	size_t		len2;
	uint8_t		proof[MAX_PROOF_LINES][BL_HASH_LEN];
	size_t		n;
	const char *why = NULL;
	int			rc;

	if (parse_u64_arg("--size1", a->val[O_SIZE1], &size1) != EXIT_OK ||
		parse_u64_arg("--size2", a->val[O_SIZE2], &size2) != EXIT_OK ||
		parse_b64_arg("--root1", a->val[O_ROOT1], root1, 64, &len1) != EXIT_OK ||
		parse_b64_arg("--root2", a->val[O_ROOT2], root2, 64, &len2) != EXIT_OK)
		return EXIT_USAGE;
	rc = read_proof_file(a->val[O_PROOF_FILE], proof, &n, &why);
	if (rc < 0)
		return fail_error("could not read proof file \"%s\"", a->val[O_PROOF_FILE]);
	if (rc == 0)
		return verdict_fail(why);

	/*
	 * Equal sizes need no hashing, only equal roots, so (as in the
	 * transparency-dev vectors) the roots are compared as opaque values of
	 * any length.  Everything else goes through the RFC 9162 verifier.
	 */
	if (size1 == size2 && size1 > 0 && n == 0 && len1 == len2 &&
		memcmp(root1, root2, len1) == 0)
		return verdict_ok("trees of size %" PRIu64 " are identical", size1);
	if (len1 != BL_HASH_LEN || len2 != BL_HASH_LEN)
		return verdict_fail("roots must be 32 bytes");
	if (!bl_merkle_verify_consistency(size1, size2, root1, root2,
									  (const uint8_t (*)[BL_HASH_LEN]) proof, n))
		return verdict_fail("consistency proof does not hold");
	return verdict_ok("tree of size %" PRIu64 " extends tree of size %" PRIu64,
					  size2, size1);
}
