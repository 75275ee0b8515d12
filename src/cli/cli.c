/*
 * cli.c — the `battledger` command-line tool for members and auditors:
 * key generation, signing, and offline verification of checkpoints,
 * tlog-proofs and Merkle proofs, with no database.
 *
 * Build (pure C, libcrypto only):
 *   gcc -std=c99 -O2 -o battledger src/cli/cli.c src/core/codec.c src/core/note.c src/core/ed25519.c \
 *       src/core/merkle.c src/core/batch.c src/core/sha256.c -lcrypto
 *
 * Exit codes: 0 success / verified, 1 verification failed or runtime error,
 * 2 usage error.  Errors are one line, "battledger: error: ...", on stderr;
 * verifiers print one verdict line, "OK: ..." or "FAIL: ...", on stdout.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"

#ifndef BL_VERSION
#define BL_VERSION "unknown"
#endif
#include "ed25519.h"
#include "merkle.h"
#include "note.h"

#define EXIT_OK 0
#define EXIT_BAD 1
#define EXIT_USAGE 2

#define MAX_INPUT (16 * 1024 * 1024)	/* messages, leaves, batch lists */
#define MAX_TEXT (1024 * 1024)	/* keys, notes, proofs */
#define MAX_WITNESSES 16
#define MAX_PROOF_LINES 128		/* beyond any valid proof; verifier rejects */

/* Lets the compiler check the format strings of the message helpers. */
#ifdef __GNUC__
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* ------------------------------------------------------------ options */

typedef enum opt_id
{
	O_HELP, O_OUT, O_KEY, O_HEX, O_BATCH_ID, O_NAME, O_COSIGNER, O_VKEY,
	O_FILE, O_ORIGIN, O_WITNESS, O_PROOF, O_LEAF_HEX, O_LEAF_FILE, O_OLD,
	O_NEW, O_SIZE, O_INDEX, O_ROOT, O_LEAF_HASH, O_PROOF_FILE, O_SIZE1,
	O_SIZE2, O_ROOT1, O_ROOT2, O_TIME, O_MIN_WITNESSES, O_TABLE, O_SEQ, O_PREV, O_ROW_HASH, O_COUNT
} opt_id;

typedef struct opt_def
{
	const char *name;
	int			has_value;
} opt_def;

static const opt_def opt_defs[O_COUNT] = {
	[O_HELP] = {"--help", 0},
	[O_OUT] = {"--out", 1},
	[O_KEY] = {"--key", 1},
	[O_HEX] = {"--hex", 1},
	[O_BATCH_ID] = {"--batch-id", 1},
	[O_NAME] = {"--name", 1},
	[O_COSIGNER] = {"--cosigner", 0},
	[O_VKEY] = {"--vkey", 1},
	[O_FILE] = {"--file", 1},
	[O_ORIGIN] = {"--origin", 1},
	[O_WITNESS] = {"--witness", 1},
	[O_PROOF] = {"--proof", 1},
	[O_LEAF_HEX] = {"--leaf-hex", 1},
	[O_LEAF_FILE] = {"--leaf-file", 1},
	[O_OLD] = {"--old", 1},
	[O_NEW] = {"--new", 1},
	[O_SIZE] = {"--size", 1},
	[O_INDEX] = {"--index", 1},
	[O_ROOT] = {"--root", 1},
	[O_LEAF_HASH] = {"--leaf-hash", 1},
	[O_PROOF_FILE] = {"--proof-file", 1},
	[O_SIZE1] = {"--size1", 1},
	[O_SIZE2] = {"--size2", 1},
	[O_ROOT1] = {"--root1", 1},
	[O_ROOT2] = {"--root2", 1},
	[O_TIME] = {"--time", 1},
	[O_MIN_WITNESSES] = {"--min-witnesses", 1},
	[O_TABLE] = {"--table", 1},
	[O_SEQ] = {"--seq", 1},
	[O_PREV] = {"--prev", 1},
	[O_ROW_HASH] = {"--hash", 1},
};

#define BIT(o) ((uint64_t) 1 << (o))

typedef struct cmd_args
{
	const char *val[O_COUNT];
	const char *witness[MAX_WITNESSES];
	int			nwitness;
} cmd_args;

typedef int (*cmd_fn) (const cmd_args *a);

typedef struct command
{
	const char *name;
	cmd_fn		fn;
	uint64_t	allowed;
	uint64_t	required;
	const char *synopsis;
	const char *help;
} command;

/* ------------------------------------------------------------ messages */

static void PRINTF_LIKE(1, 0)
print_error(const char *fmt, va_list ap)
{
	fputs("battledger: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* A runtime error: one line on stderr, exit status 1. */
static int PRINTF_LIKE(1, 2)
fail_error(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	print_error(fmt, ap);
	va_end(ap);
	return EXIT_BAD;
}

/* A usage error: one line on stderr, exit status 2. */
static int PRINTF_LIKE(1, 2)
usage_error(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	print_error(fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

static int PRINTF_LIKE(1, 2)
verdict_ok(const char *fmt,...)
{
	va_list		ap;

	fputs("OK: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	return EXIT_OK;
}

static int
verdict_fail(const char *reason)
{
	printf("FAIL: %s\n", reason);
	return EXIT_BAD;
}

/* -------------------------------------------------------------- input */

/* Whole file (or stdin for "-" / NULL) as a NUL-terminated buffer. */
static char *
read_all(const char *path, size_t max, size_t *len)
{
	FILE	   *f = (!path || strcmp(path, "-") == 0) ? stdin : fopen(path, "rb");
	char	   *buf = NULL;
	size_t		cap = 0;
	size_t		n = 0;
	int			ok = 1;

	if (!f)
		return NULL;
	for (;;)
	{
		size_t		got;

		/* Grow while keeping room for the NUL; stop once past max. */
		if (n + 1 >= cap)
		{
			size_t		ncap = cap ? cap * 2 : 4096;
			char	   *grown = cap > max + 1 ? NULL : realloc(buf, ncap);

			if (!grown)
			{
				ok = 0;
				break;
			}
			buf = grown;
			cap = ncap;
		}
		got = fread(buf + n, 1, cap - 1 - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		ok = 0;
	if (f != stdin)
		fclose(f);
	if (!ok || n > max)
	{
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Strict hex (even length, digits only) into a malloc'd buffer. */
static uint8_t *
hex_decode(const char *s, size_t len, size_t *out_len)
{
	uint8_t    *out;

	if (len % 2 != 0 || !(out = malloc(len / 2 + 1)))
		return NULL;
	for (size_t i = 0; i < len / 2; i++)
	{
		int			hi = bl_hex_nibble(s[2 * i]);
		int			lo = bl_hex_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
		{
			free(out);
			return NULL;
		}
		out[i] = (uint8_t) (hi << 4 | lo);
	}
	*out_len = len / 2;
	return out;
}

static void
print_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

/* "label hex" on one line. */
static void
print_hex_field(FILE *f, const char *label, const uint8_t *p, size_t n)
{
	fprintf(f, "%s ", label);
	print_hex(f, p, n);
	fputc('\n', f);
}

static int
parse_u64_arg(const char *opt, const char *s, uint64_t *out)
{
	if (bl_parse_u64(s, strlen(s), out) != 0)
		return usage_error("%s must be a decimal number without leading zeros",
						   opt);
	return EXIT_OK;
}

/* A base64 argument of any length (up to cap bytes). */
static int
parse_b64_arg(const char *opt, const char *s, uint8_t *out, size_t cap,
			  size_t *len)
{
	if (bl_base64_decode(s, strlen(s), out, cap, len) != 0)
		return usage_error("%s is not valid base64", opt);
	return EXIT_OK;
}

/* A verifier key argument; a weak key is refused: anybody could sign under it. */
static int
parse_vkey_arg(const char *opt, const char *s, bl_vkey *out)
{
	const char *why;

	if (bl_vkey_parse(s, strlen(s), out) != 0)
		return usage_error("%s is not a valid Ed25519 note verifier key", opt);
	if (!bl_ed25519_pub_is_acceptable(out->pub, &why))
		return usage_error("%s holds a weak Ed25519 public key, refused: the key is %s",
						   opt, why);
	return EXIT_OK;
}

/* Private key from a PKCS#8 PEM file; NULL after printing an error. */
static void *
load_private_key(const char *path)
{
	size_t		len;
	char	   *pem = read_all(path, MAX_TEXT, &len);
	void	   *key;

	if (!pem)
	{
		fail_error("could not read key file \"%s\"", path);
		return NULL;
	}
	key = bl_ed25519_priv_load_pem(pem, len);
	memset(pem, 0, len);
	free(pem);
	if (!key)
		fail_error("\"%s\" is not an unencrypted Ed25519 private key (PKCS#8 PEM)",
				   path);
	return key;
}

/* Raw public key from a private or public PEM key file: 0 ok.  Weak keys are refused. */
static int
load_public_key(const char *path, uint8_t pub[32])
{
	size_t		len;
	char	   *pem = read_all(path, MAX_TEXT, &len);
	void	   *key;
	int			rc = -1;
	const char *why;

	if (!pem)
		return fail_error("could not read key file \"%s\"", path);
	key = bl_ed25519_priv_load_pem(pem, len);
	if (key)
		rc = bl_ed25519_raw_public(key, pub);
	else
		rc = bl_ed25519_pub_from_pem(pem, len, pub);
	bl_ed25519_priv_free(key);
	memset(pem, 0, len);
	free(pem);
	if (rc != 0)
		return fail_error("\"%s\" is not an Ed25519 PEM key", path);
	/* a vkey or key id made from it would let anybody sign as its owner */
	if (!bl_ed25519_pub_is_acceptable(pub, &why))
		return fail_error("\"%s\" holds a weak Ed25519 public key, refused: the key is %s",
						  path, why);
	return EXIT_OK;
}

/*
 * A proof file: one base64 hash per line (the last newline optional).
 * Every line counts, so an empty line is an invalid (empty) hash, not
 * something to skip.  1 ok, 0 malformed with *why set, -1 unreadable.
 */
static int
read_proof_file(const char *path, uint8_t (*out)[32], size_t *n,
				const char **why)
{
	size_t		len;
	char	   *buf = read_all(path, MAX_TEXT, &len);
	size_t		pos = 0;
	int			ok = 1;

	*n = 0;
	if (!buf)
		return -1;
	while (ok && pos < len)
	{
		char	   *nl = memchr(buf + pos, '\n', len - pos);
		size_t		end = nl ? (size_t) (nl - buf) : len;
		size_t		got;

		if (*n >= MAX_PROOF_LINES)
		{
			*why = "proof has too many hashes";
			ok = 0;
		}
		else if (bl_base64_decode(buf + pos, end - pos, out[*n], 32, &got) != 0 ||
				 got != 32)
		{
			*why = "proof line is not a base64 SHA-256 hash";
			ok = 0;
		}
		else
			(*n)++;
		pos = end + 1;
	}
	free(buf);
	return ok;
}

/* ----------------------------------------------------------- commands */

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

static int
cmd_keygen(const cmd_args *a)
{
	void	   *key = bl_ed25519_generate();
	char	   *priv_pem = key ? bl_ed25519_priv_to_pem(key) : NULL;
	char	   *pub_pem = key ? bl_ed25519_pub_to_pem(key) : NULL;
	uint8_t		pub[32];
	uint8_t		id[BL_KEY_ID_LEN];
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

		print_hex_field(info, "public_key", pub, 32);
		print_hex_field(info, "key_id", id, BL_KEY_ID_LEN);
	}
	if (priv_pem)
		memset(priv_pem, 0, strlen(priv_pem));
	free(priv_pem);
	free(pub_pem);
	bl_ed25519_priv_free(key);
	return rc;
}

/*
 * leaf --table SCHEMA.TABLE --seq N --prev HEX --hash HEX: the log leaf of a
 * row, from its published ledger_seq, ledger_prev and ledger_hash, as hex —
 * what verify-proof's --leaf-hex takes.  An auditor needs nothing the member
 * has to hand over besides the row (and its proof bundle).
 */
static int
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
	if (!prev || !hash || n1 != 32 || n2 != 32)
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

static int
cmd_pubkey(const cmd_args *a)
{
	uint8_t		pub[32];
	uint8_t		id[BL_KEY_ID_LEN];
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
	print_hex_field(stdout, "public_key", pub, 32);
	print_hex_field(stdout, "key_id", id, BL_KEY_ID_LEN);
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

static int
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
read_hash_lines(uint8_t (**out)[32], uint64_t *count)
{
	size_t		len;
	char	   *buf = read_all(NULL, MAX_INPUT, &len);
	size_t		pos = 0;

	*count = 0;
	if (!buf)
		return fail_error("could not read content hashes from standard input (at most 16 MiB)");
	*out = malloc((len / 65 + 1) * 32);
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
		memcpy((*out)[(*count)++], h, 32);
		free(h);
		pos = end + 1;
	}
	free(buf);
	return *out ? EXIT_OK : fail_error("out of memory");
}

static int
cmd_sign_batch(const cmd_args *a)
{
	const char *id = a->val[O_BATCH_ID];
	size_t		id_len = strlen(id);
	const char *tbl = a->val[O_TABLE];
	size_t		tbl_len = strlen(tbl);
	size_t		mlen = bl_batch_manifest_v2_len(tbl_len, id_len);
	uint8_t		(*hashes)[32] = NULL;
	uint64_t	count;
	uint8_t		root[32];
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
	if (rc == EXIT_OK && bl_batch_root((const uint8_t (*)[32]) hashes, count, root) != 0)
		rc = fail_error("could not compute the batch root");
	free(hashes);
	if (rc != EXIT_OK)
		return rc;
	manifest = malloc(mlen);
	if (!manifest)
		return fail_error("out of memory");
	bl_batch_manifest_v2(tbl, tbl_len, id, id_len, count, root, manifest);
	print_hex_field(stdout, "root", root, 32);
	printf("count %" PRIu64 "\n", count);
	rc = sign_and_print(a->val[O_KEY], manifest, mlen, "signature");
	free(manifest);
	return rc;
}

static int
cmd_vkey(const cmd_args *a)
{
	uint8_t		pub[32];
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

static int
cmd_sign_checkpoint(const cmd_args *a)
{
	const char *name = a->val[O_NAME] ? a->val[O_NAME] : a->val[O_ORIGIN];
	uint64_t	size;
	uint8_t		root[32];
	size_t		root_len;
	char	   *body;
	char	   *note = NULL;
	void	   *key;

	if (parse_u64_arg("--size", a->val[O_SIZE], &size) != EXIT_OK ||
		parse_b64_arg("--root", a->val[O_ROOT], root, 32, &root_len) != EXIT_OK)
		return EXIT_USAGE;
	if (root_len != 32)
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

static int
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
static int
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
static int
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
static int
quorum_ok(const bl_note *note, const bl_vkey *w, const cmd_args *a, int min, const char **why)
{
	return min < 0 ? 1 : bl_witness_quorum(note, w, a->nwitness, min, why);
}

/*
 * Open and verify one checkpoint file: 1 ok, 0 rejected (*why set), -1
 * unreadable (error already printed).
 */
static int
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

static int
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
		bl_base64_encode(cp.root, 32, root);
		verdict_ok("checkpoint of %.*s at size %" PRIu64 " root %s (%d witness%s)",
				   (int) cp.origin_len, cp.origin, cp.size, root, a->nwitness,
				   a->nwitness == 1 ? "" : "es");
	}
	bl_note_free(&note);
	if (ok == 1)
		return EXIT_OK;
	return why ? verdict_fail(why) : EXIT_BAD;
}

/* The leaf bytes from --leaf-hex or --leaf-file, hashed as an RFC 6962 leaf. */
static int
leaf_hash_arg(const cmd_args *a, uint8_t out[32])
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

static int
cmd_verify_proof(const cmd_args *a)
{
	bl_vkey		log;
	bl_vkey		w[MAX_WITNESSES];
	uint8_t		leaf[32];
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
	uint8_t		proof[MAX_PROOF_LINES][32];
	uint8_t		empty[32];
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
		if (bl_merkle_empty_root(empty) != 0 || memcmp(empty, old->root, 32) != 0)
			return verdict_fail("old checkpoint has size 0 but not the empty root");
		if (n != 0)
			return verdict_fail("proof must be empty for an empty old tree");
	}
	else if (!bl_merkle_verify_consistency(old->size, new->size, old->root,
										   new->root,
										   (const uint8_t (*)[32]) proof, n))
		return verdict_fail("consistency proof does not hold");
	return verdict_ok("%.*s grew from size %" PRIu64 " to %" PRIu64 " append-only",
					  (int) new->origin_len, new->origin, old->size, new->size);
}

static int
cmd_verify_consistency(const cmd_args *a)
{
	bl_vkey		log;
	bl_note		old_note;
	bl_note		new_note;
	bl_checkpoint old_cp;
	bl_checkpoint new_cp;
	const char *why = NULL;
	int			ok;
	int			rc;

	if (parse_keys(a, &log, NULL) != EXIT_OK)
		return EXIT_USAGE;
	memset(&new_note, 0, sizeof(new_note));
	ok = open_checkpoint_file(a->val[O_OLD], &log, a->val[O_ORIGIN], NULL, 0,
							  &old_note, &old_cp, &why);
	if (ok == 1)
		ok = open_checkpoint_file(a->val[O_NEW], &log, a->val[O_ORIGIN], NULL, 0,
								  &new_note, &new_cp, &why);
	if (ok == 1)
		rc = check_consistency(&old_cp, &new_cp, a->val[O_PROOF]);
	else
		rc = why ? verdict_fail(why) : EXIT_BAD;
	bl_note_free(&old_note);
	bl_note_free(&new_note);
	return rc;
}

static int
cmd_verify_inclusion(const cmd_args *a)
{
	uint64_t	size;
	uint64_t	index;
	uint8_t		root[64];
	uint8_t		leaf[64];
	size_t		root_len;
	size_t		leaf_len;
	uint8_t		proof[MAX_PROOF_LINES][32];
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
	if (root_len != 32 || leaf_len != 32)
		return verdict_fail("root and leaf hash must be 32 bytes");
	if (!bl_merkle_verify_inclusion(index, size, leaf,
									(const uint8_t (*)[32]) proof, n, root))
		return verdict_fail("inclusion proof does not hold");
	return verdict_ok("leaf %" PRIu64 " is included in the tree of size %" PRIu64,
					  index, size);
}

static int
cmd_verify_consistency_raw(const cmd_args *a)
{
	uint64_t	size1;
	uint64_t	size2;
	uint8_t		root1[64];
	uint8_t		root2[64];
	size_t		len1;
	size_t		len2;
	uint8_t		proof[MAX_PROOF_LINES][32];
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
	if (len1 != 32 || len2 != 32)
		return verdict_fail("roots must be 32 bytes");
	if (!bl_merkle_verify_consistency(size1, size2, root1, root2,
									  (const uint8_t (*)[32]) proof, n))
		return verdict_fail("consistency proof does not hold");
	return verdict_ok("tree of size %" PRIu64 " extends tree of size %" PRIu64,
					  size2, size1);
}

/* ------------------------------------------------------------ dispatch */

static const command commands[] = {
	{"keygen", cmd_keygen, BIT(O_OUT), 0,
		"keygen [--out PREFIX]",
		"Generate an Ed25519 key.  With --out, write PREFIX.key (PKCS#8 PEM,\n"
		"mode 0600) and PREFIX.pub (public PEM), never overwriting, and print\n"
		"the raw public key and member key id (hex).  Without --out, print the\n"
		"private PEM on stdout and the public key and key id on stderr.\n"},
	{"pubkey", cmd_pubkey, BIT(O_KEY), BIT(O_KEY),
		"pubkey --key FILE",
		"Print the raw public key (hex), the member key id\n"
		"(SHA-256(\"battledger key v1\\n\" || public key), hex) and the public\n"
		"PEM of a private or public key file.\n"},
	{"sign", cmd_sign, BIT(O_KEY) | BIT(O_HEX), BIT(O_KEY),
		"sign --key FILE [--hex HEX]",
		"Sign the bytes given as --hex, or the raw bytes read from stdin, and\n"
		"print the 64-byte Ed25519 signature as hex.\n"},
	{"sign-batch", cmd_sign_batch, BIT(O_KEY) | BIT(O_BATCH_ID) | BIT(O_TABLE),
		BIT(O_KEY) | BIT(O_BATCH_ID) | BIT(O_TABLE),
		"sign-batch --key FILE --table SCHEMA.TABLE --batch-id ID",
		"Read content hashes (64 hex digits, one per line) from stdin, compute\n"
		"the RFC 6962 root over their leaf hashes, and sign the manifest\n"
		"\"battledger batch v2\\n\" || u16be(len) || TABLE || ID || \"\\n\"\n"
		"|| u64be(count) || root (the table as schema.table, unquoted).\n"
		"Prints root, count and signature (hex).\n"},
	{"vkey", cmd_vkey, BIT(O_KEY) | BIT(O_NAME) | BIT(O_COSIGNER),
		BIT(O_KEY) | BIT(O_NAME),
		"vkey --key FILE --name NAME [--cosigner]",
		"Print the C2SP verifier key NAME+KEYID+BASE64 of a key file: an\n"
		"Ed25519 note key, or with --cosigner a tlog-cosignature/v1 key.\n"},
	{"sign-checkpoint", cmd_sign_checkpoint,
		BIT(O_KEY) | BIT(O_ORIGIN) | BIT(O_SIZE) | BIT(O_ROOT) | BIT(O_NAME),
		BIT(O_KEY) | BIT(O_ORIGIN) | BIT(O_SIZE) | BIT(O_ROOT),
		"sign-checkpoint --key FILE --origin ORIGIN --size N --root B64 [--name NAME]",
		"Print a C2SP checkpoint note for the tree (N, root) signed with the key\n"
		"under NAME (default: the origin).\n"},
	{"cosign", cmd_cosign, BIT(O_KEY) | BIT(O_NAME) | BIT(O_TIME) | BIT(O_FILE),
		BIT(O_KEY) | BIT(O_NAME),
		"cosign --key FILE --name NAME [--time UNIX] [--file F]",
		"Append a tlog-cosignature/v1 line by witness NAME to the checkpoint note\n"
		"read from F (default stdin) and print the note.  Verify the checkpoint\n"
		"and its consistency with what you saw before cosigning it.\n"},
	{"verify-checkpoint", cmd_verify_checkpoint,
		BIT(O_VKEY) | BIT(O_FILE) | BIT(O_ORIGIN) | BIT(O_WITNESS) | BIT(O_MIN_WITNESSES), BIT(O_VKEY),
		"verify-checkpoint --vkey VKEY [--file F] [--origin O] [--witness VKEY]... [--min-witnesses K]",
		"Verify a checkpoint note (from F or stdin) signed by VKEY, whose origin\n"
		"must be O (default: the key's name), cosigned by every --witness, or\n"
		"with --min-witnesses by at least K of them.\n"},
	{"leaf", cmd_leaf, BIT(O_TABLE) | BIT(O_SEQ) | BIT(O_PREV) | BIT(O_ROW_HASH),
		BIT(O_TABLE) | BIT(O_SEQ) | BIT(O_PREV) | BIT(O_ROW_HASH),
		"leaf --table SCHEMA.TABLE --seq N --prev HEX --hash HEX",
		"Print (hex) the log leaf of a ledger row from its published values:\n"
		"\"BLL\" 0x01 || u16be(len) || table || i64be(ledger_seq) || ledger_prev\n"
		"|| ledger_hash.  It is what verify-proof --leaf-hex takes.\n"},
	{"verify-proof", cmd_verify_proof,
		BIT(O_VKEY) | BIT(O_PROOF) | BIT(O_LEAF_HEX) | BIT(O_LEAF_FILE) |
		BIT(O_ORIGIN) | BIT(O_WITNESS) | BIT(O_MIN_WITNESSES),
		BIT(O_VKEY) | BIT(O_PROOF),
		"verify-proof --vkey VKEY --proof FILE (--leaf-hex HEX | --leaf-file F)\n"
		"             [--origin O] [--witness VKEY]... [--min-witnesses K]",
		"Verify a c2sp.org/tlog-proof@v1 bundle: the checkpoint's signature,\n"
		"origin and cosignatures (every --witness, or at least K of them), then that the RFC 6962 leaf hash of the given\n"
		"leaf bytes is included at the bundle's index.  The leaf: `battledger leaf`\n"
		"from the row's published values, or SELECT encode(battledger.leaf(i), 'hex');\n"
		"the bundle: SELECT battledger.tlog_proof(i) (saved with printf '%s\\n').\n"},
	{"verify-consistency", cmd_verify_consistency,
		BIT(O_VKEY) | BIT(O_OLD) | BIT(O_NEW) | BIT(O_PROOF) | BIT(O_ORIGIN),
		BIT(O_VKEY) | BIT(O_OLD) | BIT(O_NEW) | BIT(O_PROOF),
		"verify-consistency --vkey VKEY --old FILE --new FILE --proof FILE [--origin O]",
		"Verify two checkpoint notes of one log and the consistency proof between\n"
		"them (base64 hashes, one per line): the new tree extends the old one.\n"
		"The proof: SELECT encode(h::bytea, 'base64') FROM\n"
		"unnest(battledger.consistency_proof(OLD_SIZE, NEW_SIZE)) h.\n"},
	{"verify-inclusion", cmd_verify_inclusion,
		BIT(O_SIZE) | BIT(O_INDEX) | BIT(O_ROOT) | BIT(O_LEAF_HASH) | BIT(O_PROOF_FILE),
		BIT(O_SIZE) | BIT(O_INDEX) | BIT(O_ROOT) | BIT(O_LEAF_HASH) | BIT(O_PROOF_FILE),
		"verify-inclusion --size N --index I --root B64 --leaf-hash B64 --proof-file F",
		"Verify a raw RFC 9162 inclusion proof (base64 hashes, one per line).\n"},
	{"verify-consistency-raw", cmd_verify_consistency_raw,
		BIT(O_SIZE1) | BIT(O_SIZE2) | BIT(O_ROOT1) | BIT(O_ROOT2) | BIT(O_PROOF_FILE),
		BIT(O_SIZE1) | BIT(O_SIZE2) | BIT(O_ROOT1) | BIT(O_ROOT2) | BIT(O_PROOF_FILE),
		"verify-consistency-raw --size1 N --size2 N --root1 B64 --root2 B64 --proof-file F",
		"Verify a raw RFC 9162 consistency proof (base64 hashes, one per line).\n"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
print_usage(FILE *f)
{
	fputs("usage: battledger COMMAND [OPTIONS]\n\ncommands:\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].synopsis);
	fputs("\n'battledger COMMAND --help' describes a command.  Exit status: 0 ok,\n"
		  "1 verification failed or error, 2 usage error.\n", f);
}

static void
print_command_help(const command *c)
{
	printf("usage: battledger %s\n\n%s", c->synopsis, c->help);
}

static const command *
find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int
find_option(const char *arg)
{
	for (int i = 0; i < O_COUNT; i++)
		if (strcmp(opt_defs[i].name, arg) == 0)
			return i;
	return -1;
}

/* Parse argv[2..] against the command's options; EXIT_OK or usage error. */
static int
parse_args(const command *c, int argc, char **argv, cmd_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 2; i < argc; i++)
	{
		int			o = find_option(argv[i]);

		if (o < 0 || !((c->allowed & BIT(o)) || o == O_HELP))
			return usage_error("%s: unknown option \"%s\" (see battledger %s --help)",
							   c->name, argv[i], c->name);
		if (o == O_HELP)
		{
			a->val[O_HELP] = "";
			return EXIT_OK;
		}
		if (opt_defs[o].has_value && i + 1 >= argc)
			return usage_error("%s: %s needs a value", c->name, argv[i]);
		if (o == O_WITNESS)
		{
			if (a->nwitness >= MAX_WITNESSES)
				return usage_error("%s: at most %d witnesses", c->name, MAX_WITNESSES);
			a->witness[a->nwitness++] = argv[++i];
			a->val[o] = argv[i];
			continue;
		}
		if (a->val[o])
			return usage_error("%s: %s given twice", c->name, argv[i]);
		a->val[o] = opt_defs[o].has_value ? argv[++i] : "";
	}
	for (int o = 0; o < O_COUNT; o++)
		if ((c->required & BIT(o)) && !a->val[o])
			return usage_error("%s: missing %s (see battledger %s --help)",
							   c->name, opt_defs[o].name, c->name);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	const command *c;
	cmd_args	a;

	if (argc < 2)
	{
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0)
	{
		/* the extension version this tool was built with (Makefile: from battledger.control) */
		printf("battledger %s\n", BL_VERSION);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
		strcmp(argv[1], "help") == 0)
	{
		if (argc > 2 && (c = find_command(argv[2])) != NULL)
			print_command_help(c);
		else
			print_usage(stdout);
		return EXIT_OK;
	}
	c = find_command(argv[1]);
	if (!c)
		return usage_error("unknown command \"%s\" (see battledger --help)", argv[1]);
	if (parse_args(c, argc, argv, &a) != EXIT_OK)
		return EXIT_USAGE;
	if (a.val[O_HELP])
	{
		print_command_help(c);
		return EXIT_OK;
	}
	return c->fn(&a);
}
