/*
 * cli_keys.c — the CLI's key commands: keygen, pubkey, sign, sign-batch,
 * prove-key.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

/* Create a new file with the given mode, refusing to overwrite one. */
static int
write_new_file(const char *path, const char *text, mode_t mode)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	size_t		len = strlen(text);
	ssize_t		w;

	if (fd < 0)
		return fail_error("could not create \"%s\": %s", path,
						  errno == EEXIST ? "file exists" : strerror(errno));
	w = write(fd, text, len);
	if (close(fd) != 0 || w < 0 || (size_t) w != len)
		return fail_error("could not write \"%s\"", path);
	return EXIT_OK;
}

static int
write_key_pair(const char *prefix, const char *priv_pem, const char *pub_pem)
{
	size_t		plen = strlen(prefix);
	char	   *path = malloc(plen + 5);
	int			rc;

	if (!path)
		return fail_error("out of memory");
	snprintf(path, plen + 5, "%s.key", prefix);
	rc = write_new_file(path, priv_pem, 0600);
	if (rc == EXIT_OK)
	{
		snprintf(path, plen + 5, "%s.pub", prefix);
		rc = write_new_file(path, pub_pem, 0644);
	}
	free(path);
	return rc;
}

int
cmd_keygen(const cmd_args *a)
{
	void	   *key = bl_ed25519_generate();
	char	   *priv_pem = key ? bl_ed25519_priv_to_pem(key) : NULL;
	char	   *pub_pem = key ? bl_ed25519_pub_to_pem(key) : NULL;
	uint8_t		pub[BL_ED25519_PUB_LEN];
	uint8_t		id[BL_HASH_LEN];
	int			rc = EXIT_OK;

	if (!priv_pem || !pub_pem || bl_ed25519_raw_public(key, pub) != 0 ||
		bl_key_id(pub, id) != 0)
		rc = fail_error("could not generate an Ed25519 key");
	else if (a->val[O_OUT])
		rc = write_key_pair(a->val[O_OUT], priv_pem, pub_pem);
	else
		fputs(priv_pem, stdout);
	if (rc == EXIT_OK)
	{
		/* Keep stdout a clean PEM file when the key goes there. */
		FILE	   *info = a->val[O_OUT] ? stdout : stderr;

		print_hex_field(info, "public_key", pub, BL_ED25519_PUB_LEN);
		print_hex_field(info, "key_id", id, BL_HASH_LEN);
	}
	if (priv_pem)
		memset(priv_pem, 0, strlen(priv_pem));
	free(priv_pem);
	free(pub_pem);
	bl_ed25519_priv_free(key);
	return rc;
}

int
cmd_pubkey(const cmd_args *a)
{
	uint8_t		pub[BL_ED25519_PUB_LEN];
	uint8_t		id[BL_HASH_LEN];
	void	   *key;
	char	   *pem;

	if (load_public_key(a->val[O_KEY], pub) != EXIT_OK)
		return EXIT_BAD;
	key = bl_ed25519_pub_new(pub);
	pem = key ? bl_ed25519_pub_to_pem(key) : NULL;
	bl_ed25519_pub_free(key);
	if (!pem || bl_key_id(pub, id) != 0)
	{
		free(pem);
		return fail_error("could not encode the public key");
	}
	print_hex_field(stdout, "public_key", pub, BL_ED25519_PUB_LEN);
	print_hex_field(stdout, "key_id", id, BL_HASH_LEN);
	fputs(pem, stdout);
	free(pem);
	return EXIT_OK;
}

/* Sign msg with the key file and print the signature as hex. */
static int
sign_and_print(const char *key_path, const uint8_t *msg, size_t len,
			   const char *label)
{
	void	   *key = load_private_key(key_path);
	uint8_t		sig[BL_ED25519_SIG_LEN];
	int			rc;

	if (!key)
		return EXIT_BAD;
	rc = bl_ed25519_sign(key, msg, len, sig);
	bl_ed25519_priv_free(key);
	if (rc != 0)
		return fail_error("signing failed");
	if (label)
		print_hex_field(stdout, label, sig, sizeof(sig));
	else
	{
		print_hex(stdout, sig, sizeof(sig));
		putchar('\n');
	}
	return EXIT_OK;
}

int
cmd_sign(const cmd_args *a)
{
	uint8_t    *msg;
	size_t		len;
	int			rc;

	if (a->val[O_HEX])
	{
		msg = hex_decode(a->val[O_HEX], strlen(a->val[O_HEX]), &len);
		if (!msg)
			return usage_error("--hex is not an even-length hex string");
	}
	else if (!(msg = (uint8_t *) read_all(NULL, MAX_INPUT, &len)))
		return fail_error("could not read the message from standard input (at most 16 MiB)");
	rc = sign_and_print(a->val[O_KEY], msg, len, NULL);
	free(msg);
	return rc;
}

/* Content hashes, one 64-hex line each, from stdin into *out. */
static int
read_hash_lines(uint8_t (**out)[BL_HASH_LEN], uint64_t *count)
{
	size_t		len;
	char	   *buf = read_all(NULL, MAX_INPUT, &len);
	size_t		pos = 0;

	*count = 0;
	if (!buf)
		return fail_error("could not read content hashes from standard input (at most 16 MiB)");
	*out = malloc((len / 65 + 1) * BL_HASH_LEN);
	while (*out && pos < len)
	{
		char	   *nl = memchr(buf + pos, '\n', len - pos);
		size_t		end = nl ? (size_t) (nl - buf) : len;
		size_t		n;
		uint8_t    *h = end - pos == 64 ? hex_decode(buf + pos, 64, &n) : NULL;

		if (!h)
		{
			free(buf);
			return fail_error("line %" PRIu64 " is not a 64-digit hex SHA-256 hash",
							  *count + 1);
		}
		memcpy((*out)[(*count)++], h, BL_HASH_LEN);
		free(h);
		pos = end + 1;
	}
	free(buf);
	return *out ? EXIT_OK : fail_error("out of memory");
}

int
cmd_sign_batch(const cmd_args *a)
{
	const char *id = a->val[O_BATCH_ID];
	size_t		id_len = strlen(id);
	const char *tbl = a->val[O_TABLE];
	size_t		tbl_len = strlen(tbl);
	size_t		mlen = bl_batch_manifest_v2_len(tbl_len, id_len);
	uint8_t		(*hashes)[BL_HASH_LEN] = NULL;
	uint64_t	count;
	uint8_t		root[BL_HASH_LEN];
	uint8_t    *manifest;
	int			rc;

	if (id_len == 0 || !bl_text_line_valid(id, id_len))
		return usage_error("--batch-id must be non-empty UTF-8 without control characters");
	if (tbl_len == 0 || tbl_len > BL_BATCH_TABLE_MAX || !bl_text_line_valid(tbl, tbl_len) ||
		strchr(tbl, '.') == NULL)
		return usage_error("--table must name the ledger table as schema.table");
	rc = read_hash_lines(&hashes, &count);
	if (rc == EXIT_OK && count == 0)
		rc = fail_error("no content hashes on standard input");
	if (rc == EXIT_OK && bl_batch_root((const uint8_t (*)[BL_HASH_LEN]) hashes, count, root) != 0)
		rc = fail_error("could not compute the batch root");
	free(hashes);
	if (rc != EXIT_OK)
		return rc;
	manifest = malloc(mlen);
	if (!manifest)
		return fail_error("out of memory");
	bl_batch_manifest_v2(tbl, tbl_len, id, id_len, count, root, manifest);
	print_hex_field(stdout, "root", root, BL_HASH_LEN);
	printf("count %" PRIu64 "\n", count);
	rc = sign_and_print(a->val[O_KEY], manifest, mlen, "signature");
	free(manifest);
	return rc;
}

/*
 * The proof of possession of the key for a member (0.23.0): built here from
 * the private key, so that the holder signs what it has checked, not bytes
 * a server handed it.
 */
int
cmd_prove_key(const cmd_args *a)
{
	const char *member = a->val[O_MEMBER];
	size_t		member_len = strlen(member);
	void	   *key;
	uint8_t		pub[BL_ED25519_PUB_LEN];
	uint8_t		id[BL_HASH_LEN];
	uint8_t    *msg;
	size_t		len;
	int			rc;

	if (member_len == 0 || !bl_text_line_valid(member, member_len))
		return usage_error("--member must be non-empty UTF-8 without control characters");
	if (!(key = load_private_key(a->val[O_KEY])))
		return EXIT_BAD;
	rc = bl_ed25519_raw_public(key, pub);
	bl_ed25519_priv_free(key);
	if (rc != 0 || bl_key_id(pub, id) != 0)
		return fail_error("could not read the public key");
	len = bl_key_possession_message(member, member_len, pub, NULL);
	if (!(msg = malloc(len)))
		return fail_error("out of memory");
	bl_key_possession_message(member, member_len, pub, msg);
	print_hex_field(stdout, "key_id", id, BL_HASH_LEN);
	rc = sign_and_print(a->val[O_KEY], msg, len, "signature");
	free(msg);
	return rc;
}
