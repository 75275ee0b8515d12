/*
 * ed25519.c — Ed25519 through OpenSSL's EVP interface (see ed25519.h).
 *
 * Ed25519 is a "one-shot" algorithm in OpenSSL: EVP_DigestSign/Verify with
 * a NULL digest over the whole message.  One EVP_MD_CTX is kept per process
 * and reset before each use, which avoids an allocation per verification;
 * the extension's key cache goes further with bl_ed25519_verify_ctx, one
 * context per key kept initialised, since verification runs once per signed
 * row, written here or arriving from another member.
 */
#include "ed25519.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sha256.h"

static EVP_MD_CTX *shared_ctx;

/* The per-process context, reset so it can be initialised for a new key. */
static EVP_MD_CTX *
ctx_get(void)
{
	if (!shared_ctx)
		shared_ctx = EVP_MD_CTX_new();
	else
		EVP_MD_CTX_reset(shared_ctx);
	return shared_ctx;
}

static int
is_ed25519(const EVP_PKEY *key)
{
	return key != NULL && EVP_PKEY_is_a(key, "ED25519");
}

/*
 * Which public keys are refused (see ed25519.h), decided from y alone with
 * arithmetic modulo p = 2^255-19 on the curve -x^2 + y^2 = 1 + d x^2 y^2,
 * where x^2 = u / v with u = y^2 - 1 and v = d y^2 + 1 (v is never 0: d is
 * not a square modulo p, and -1 is):
 *
 *  - y >= p: RFC 8032 (5.1.3) says decoding fails; OpenSSL does not check,
 *    and p and p+1 are second names of the points with y = 0 and y = 1.
 *  - Small order, from the doubling law, which is complete on this curve:
 *    x(2P) = 2xy / (y^2 - x^2) and y(2P) = (y^2 + x^2) / (2 - y^2 + x^2).
 *    [2]P = O iff x = 0; [4]P = O iff x(2P) = 0, i.e. x = 0 or y = 0;
 *    [8]P = O iff also y(2P) = 0, i.e. x^2 + y^2 = 0.  So the eight points
 *    of order 1, 2, 4 or 8 are those with u = 0, y = 0 or u + y^2 v = 0,
 *    written with either sign bit (x = 0 with the sign bit set, which RFC
 *    8032 also refuses, is among them).
 *  - Not a point: no x exists unless u / v, or equally u v, is a square.
 *    The Jacobi symbol decides that without an exponentiation, which would
 *    cost more than the rest together.
 *
 * Returns NULL if the key is acceptable, else the phrase for *why.
 */
#define WHY_UNCHECKED "not checkable (OpenSSL's bignum arithmetic failed)"

static const char *
pub_problem(const uint8_t pub[BL_ED25519_PUB_LEN], BN_CTX *ctx)
{
	uint8_t		le[BL_ED25519_PUB_LEN];
	BIGNUM	   *p,
			   *d,
			   *y,
			   *y2,
			   *u,
			   *v,
			   *t;
	int			symbol;

	p = BN_CTX_get(ctx);
	d = BN_CTX_get(ctx);
	y = BN_CTX_get(ctx);
	y2 = BN_CTX_get(ctx);
	u = BN_CTX_get(ctx);
	v = BN_CTX_get(ctx);
	t = BN_CTX_get(ctx);
	if (!t)						/* once one fails, every later one does */
		return WHY_UNCHECKED;

	/* y is the low 255 bits, little-endian; the top bit is x's sign */
	memcpy(le, pub, sizeof(le));
	le[BL_ED25519_PUB_LEN - 1] &= 0x7f;
	if (!BN_set_word(p, 0) || !BN_set_bit(p, 255) || !BN_sub_word(p, 19) ||
		!BN_lebin2bn(le, sizeof(le), y))
		return WHY_UNCHECKED;
	if (BN_cmp(y, p) >= 0)
		return "a non-canonical encoding (its y coordinate is 2^255-19 or more)";

	/* d = -121665 / 121666, as RFC 8032 (5.1) gives it: an inversion costs more than the rest */
	if (!BN_dec2bn(&d, "37095705934669439343138083508754565189542113879843219016388785533085940283555"))
		return WHY_UNCHECKED;
	/* u = y^2 - 1, v = d y^2 + 1 */
	if (!BN_mod_sqr(y2, y, p, ctx) || !BN_one(t) || !BN_mod_sub(u, y2, t, p, ctx) ||
		!BN_mod_mul(v, d, y2, p, ctx) || !BN_mod_add(v, v, t, p, ctx))
		return WHY_UNCHECKED;
	if (BN_is_zero(v))
		return "not the encoding of a curve point";
	/* t = u + y^2 v, zero iff x^2 = -y^2 */
	if (!BN_mod_mul(t, y2, v, p, ctx) || !BN_mod_add(t, t, u, p, ctx))
		return WHY_UNCHECKED;
	if (BN_is_zero(u) || BN_is_zero(y) || BN_is_zero(t))
		return "a point of small order, under which signatures verify without any private key";

	if (!BN_mod_mul(t, u, v, p, ctx) || (symbol = BN_kronecker(t, p, ctx)) == -2)
		return WHY_UNCHECKED;
	if (symbol != 1)
		return "not the encoding of a curve point";
	return NULL;
}

int
bl_ed25519_pub_is_acceptable(const uint8_t pub[BL_ED25519_PUB_LEN], const char **why)
{
	BN_CTX	   *ctx = BN_CTX_new();
	const char *problem = WHY_UNCHECKED;

	if (ctx)
	{
		BN_CTX_start(ctx);
		problem = pub_problem(pub, ctx);
		BN_CTX_end(ctx);
		BN_CTX_free(ctx);
	}
	if (problem == NULL)
		return 1;
	/* a failed bignum call leaves entries in the error queue */
	ERR_clear_error();
	if (why)
		*why = problem;
	return 0;
}

void *
bl_ed25519_pub_new(const uint8_t pub[BL_ED25519_PUB_LEN])
{
	EVP_PKEY   *key;

	if (!bl_ed25519_pub_is_acceptable(pub, NULL))
		return NULL;
	key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
									  BL_ED25519_PUB_LEN);
	if (!key)
		ERR_clear_error();
	return key;
}

void
bl_ed25519_pub_free(void *pub)
{
	EVP_PKEY_free((EVP_PKEY *) pub);
}

void
bl_ed25519_priv_free(void *priv)
{
	EVP_PKEY_free((EVP_PKEY *) priv);
}

int
bl_ed25519_verify(void *pub, const uint8_t *msg, size_t len,
				  const uint8_t sig[BL_ED25519_SIG_LEN])
{
	EVP_MD_CTX *ctx = ctx_get();
	int			rc;

	if (!ctx || !is_ed25519(pub))
		goto error;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, (EVP_PKEY *) pub) != 1)
		goto error;
	rc = EVP_DigestVerify(ctx, sig, BL_ED25519_SIG_LEN, msg, len);
	if (rc == 1)
		return 1;
	/* A bad signature also leaves entries in the error queue. */
	ERR_clear_error();
	return rc == 0 ? 0 : -1;

error:
	ERR_clear_error();
	return -1;
}

/*
 * Reuse of a verifying context, proven and refuted (see ed25519.h).  OpenSSL
 * 3.0's Ed25519 one-shot verification keeps no state between calls, but
 * nothing documents that a context verifies more than once, and a later
 * OpenSSL might mark it finalised after the first call.  Per process: the
 * answer does not depend on the key.
 */
static int	reuse_proven;
static int	reuse_refuted;

int
bl_ed25519_verify_ctx(void **vctx, void *pub, const uint8_t *msg, size_t len,
					  const uint8_t sig[BL_ED25519_SIG_LEN])
{
	EVP_MD_CTX *ctx = (EVP_MD_CTX *) *vctx;
	int			reused = ctx != NULL;
	int			rc;

	if (reuse_refuted)
		return bl_ed25519_verify(pub, msg, len, sig);
	if (!ctx)
	{
		if (!is_ed25519(pub) || !(ctx = EVP_MD_CTX_new()))
		{
			ERR_clear_error();
			return -1;
		}
		if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, (EVP_PKEY *) pub) != 1)
		{
			EVP_MD_CTX_free(ctx);
			ERR_clear_error();
			return -1;
		}
		*vctx = ctx;
	}
	rc = EVP_DigestVerify(ctx, sig, BL_ED25519_SIG_LEN, msg, len);
	if (rc == 1)
	{
		if (reused)
			reuse_proven = 1;
		return 1;
	}
	/* a bad signature leaves entries in the error queue */
	ERR_clear_error();
	if (!reused || reuse_proven)
		return rc == 0 ? 0 : -1;

	/* a reused context said no before reuse was proven: ask a fresh one */
	rc = bl_ed25519_verify(pub, msg, len, sig);
	if (rc == 1)
		reuse_refuted = 1;		/* this OpenSSL does not verify twice on one context */
	return rc;
}

void
bl_ed25519_verify_ctx_free(void *ctx)
{
	EVP_MD_CTX_free((EVP_MD_CTX *) ctx);
}

int
bl_ed25519_sign(void *priv, const uint8_t *msg, size_t len,
				uint8_t sig[BL_ED25519_SIG_LEN])
{
	EVP_MD_CTX *ctx = ctx_get();
	size_t		siglen = BL_ED25519_SIG_LEN;

	if (!ctx || !is_ed25519(priv))
		goto error;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, (EVP_PKEY *) priv) != 1)
		goto error;
	if (EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 ||
		siglen != BL_ED25519_SIG_LEN)
		goto error;
	return 0;

error:
	ERR_clear_error();
	return -1;
}

int
bl_ed25519_raw_public(void *key, uint8_t out[BL_ED25519_PUB_LEN])
{
	size_t		len = BL_ED25519_PUB_LEN;

	if (!is_ed25519(key) ||
		EVP_PKEY_get_raw_public_key((EVP_PKEY *) key, out, &len) != 1 ||
		len != BL_ED25519_PUB_LEN)
	{
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* A read-only memory BIO over caller text; NULL if the text is too large. */
static BIO *
mem_reader(const char *text, size_t len)
{
	BIO		   *bio;

	if (len > INT_MAX)
		return NULL;
	bio = BIO_new_mem_buf(text, (int) len);
	if (!bio)
		ERR_clear_error();
	return bio;
}

int
bl_ed25519_pub_from_pem(const char *pem, size_t len,
						uint8_t out[BL_ED25519_PUB_LEN])
{
	BIO		   *bio = mem_reader(pem, len);
	EVP_PKEY   *key = NULL;
	int			rc = -1;

	if (bio)
		key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (key && bl_ed25519_raw_public(key, out) == 0)
		rc = 0;
	EVP_PKEY_free(key);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

/*
 * Password callback that supplies no password: an encrypted key then fails
 * to load instead of OpenSSL prompting on the terminal.
 */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void) buf;
	(void) size;
	(void) rwflag;
	(void) u;
	return 0;
}

void *
bl_ed25519_priv_load_pem(const char *pem, size_t len)
{
	BIO		   *bio = mem_reader(pem, len);
	EVP_PKEY   *key = NULL;

	if (bio)
		key = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	BIO_free(bio);
	if (key && !is_ed25519(key))
	{
		EVP_PKEY_free(key);
		key = NULL;
	}
	ERR_clear_error();
	return key;
}

void *
bl_ed25519_generate(void)
{
	EVP_PKEY   *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	if (!key)
		ERR_clear_error();
	return key;
}

/* Drain a memory BIO into a malloc'd NUL-terminated string. */
static char *
bio_to_string(BIO *bio)
{
	char	   *data;
	long		len = BIO_get_mem_data(bio, &data);
	char	   *out;

	if (len <= 0)
		return NULL;
	out = malloc((size_t) len + 1);
	if (!out)
		return NULL;
	memcpy(out, data, (size_t) len);
	out[len] = '\0';
	return out;
}

char *
bl_ed25519_priv_to_pem(void *priv)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *out = NULL;

	/* Unencrypted PKCS#8 ("BEGIN PRIVATE KEY"), as openssl genpkey writes. */
	if (bio && is_ed25519(priv) &&
		PEM_write_bio_PKCS8PrivateKey(bio, (EVP_PKEY *) priv, NULL, NULL, 0,
									  NULL, NULL) == 1)
		out = bio_to_string(bio);
	BIO_free(bio);
	ERR_clear_error();
	return out;
}

char *
bl_ed25519_pub_to_pem(void *key)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *out = NULL;

	if (bio && is_ed25519(key) &&
		PEM_write_bio_PUBKEY(bio, (EVP_PKEY *) key) == 1)
		out = bio_to_string(bio);
	BIO_free(bio);
	ERR_clear_error();
	return out;
}

int
bl_key_id(const uint8_t pub[BL_ED25519_PUB_LEN], uint8_t out[BL_HASH_LEN])
{
	const void *parts[2] = {BL_KEY_ID_PREFIX, pub};
	size_t		lens[2] = {sizeof(BL_KEY_ID_PREFIX) - 1, BL_ED25519_PUB_LEN};

	if (bl_sha256_parts(parts, lens, 2, out) == 0)
		return 0;
	memset(out, 0, BL_HASH_LEN);
	return -1;
}

size_t
bl_key_possession_message(const char *member, size_t member_len,
						  const uint8_t pub[BL_ED25519_PUB_LEN], uint8_t *out)
{
	size_t		plen = sizeof(BL_KEY_POSSESSION_PREFIX) - 1;

	if (out)
	{
		memcpy(out, BL_KEY_POSSESSION_PREFIX, plen);
		memcpy(out + plen, member, member_len);
		out[plen + member_len] = '\n';
		memcpy(out + plen + member_len + 1, pub, BL_ED25519_PUB_LEN);
	}
	return plen + member_len + 1 + BL_ED25519_PUB_LEN;
}
