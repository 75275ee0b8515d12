/*
 * cli_io.c — the CLI's messages and input: one error line or one verdict
 * line per run, files and stdin read whole with a size limit, and the
 * strict parsers of its arguments (hex, base64, decimal, vkeys, key files,
 * proof files).
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

void PRINTF_LIKE(1, 0)
print_error(const char *fmt, va_list ap)
{
	fputs("battledger: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* A runtime error: one line on stderr, exit status 1. */
int PRINTF_LIKE(1, 2)
fail_error(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	print_error(fmt, ap);
	va_end(ap);
	return EXIT_BAD;
}

/* A usage error: one line on stderr, exit status 2. */
int PRINTF_LIKE(1, 2)
usage_error(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	print_error(fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

int PRINTF_LIKE(1, 2)
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

int
verdict_fail(const char *reason)
{
	printf("FAIL: %s\n", reason);
	return EXIT_BAD;
}

/* -------------------------------------------------------------- input */

/* Whole file (or stdin for "-" / NULL) as a NUL-terminated buffer. */
char *
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
uint8_t *
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

void
print_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

/* "label hex" on one line. */
void
print_hex_field(FILE *f, const char *label, const uint8_t *p, size_t n)
{
	fprintf(f, "%s ", label);
	print_hex(f, p, n);
	fputc('\n', f);
}

int
parse_u64_arg(const char *opt, const char *s, uint64_t *out)
{
	if (bl_parse_u64(s, strlen(s), out) != 0)
		return usage_error("%s must be a decimal number without leading zeros",
						   opt);
	return EXIT_OK;
}

/* A base64 argument of any length (up to cap bytes). */
int
parse_b64_arg(const char *opt, const char *s, uint8_t *out, size_t cap,
			  size_t *len)
{
	if (bl_base64_decode(s, strlen(s), out, cap, len) != 0)
		return usage_error("%s is not valid base64", opt);
	return EXIT_OK;
}

/* A verifier key argument; a weak key is refused: anybody could sign under it. */
int
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
void *
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
int
load_public_key(const char *path, uint8_t pub[BL_ED25519_PUB_LEN])
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
int
read_proof_file(const char *path, uint8_t (*out)[BL_HASH_LEN], size_t *n,
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
		else if (bl_base64_decode(buf + pos, end - pos, out[*n], BL_HASH_LEN, &got) != 0 ||
				 got != BL_HASH_LEN)
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
