/*
 * sha256.c — SHA-256 through OpenSSL, one context per process.
 *
 * Where the library still has them (every OpenSSL 3.x unless built with
 * no-deprecated), SHA256_Init/_Update/_Final: the same block code as the
 * EVP interface (SHA-NI where the CPU has it) without EVP's provider
 * dispatch, which took ~80 ns of the ~290 ns a 190-byte row's hash costs
 * through EVP on the benchmark machine — a tenth of verify()'s CPU per row
 * (issue 15, 0.12.0).  The hashes are the same bytes either way.  A library
 * without them gets the EVP path as before.
 */
#define OPENSSL_SUPPRESS_DEPRECATED		/* SHA256_Init & co. are deprecated in 3.0 */

#include "sha256.h"

#include <openssl/opensslconf.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#if defined(OPENSSL_NO_DEPRECATED_3_0) || defined(OPENSSL_NO_DEPRECATED)
#define BL_SHA256_EVP 1
#endif

#ifdef BL_SHA256_EVP
static EVP_MD *sha256_md;
static EVP_MD_CTX *sha256_ctx;

static int
sha256_ready(void)
{
	if (sha256_ctx)
		return 0;
	if (!sha256_md)
		sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (sha256_md)
		sha256_ctx = EVP_MD_CTX_new();
	if (!sha256_ctx)
	{
		ERR_clear_error();
		return -1;
	}
	return 0;
}
#endif

int
bl_sha256_parts(const void *const *parts, const size_t *lens, int n,
				uint8_t out[BL_HASH_LEN])
{
#ifdef BL_SHA256_EVP
	unsigned int outlen = 0;

	if (sha256_ready() != 0)
		return -1;
	if (EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) != 1)
		goto fail;
	for (int i = 0; i < n; i++)
		if (lens[i] > 0 && EVP_DigestUpdate(sha256_ctx, parts[i], lens[i]) != 1)
			goto fail;
	if (EVP_DigestFinal_ex(sha256_ctx, out, &outlen) != 1 || outlen != BL_HASH_LEN)
		goto fail;
	return 0;

fail:
	ERR_clear_error();
	return -1;
#else
	SHA256_CTX	ctx;

	if (SHA256_Init(&ctx) != 1)
		goto fail;
	for (int i = 0; i < n; i++)
		if (lens[i] > 0 && SHA256_Update(&ctx, parts[i], lens[i]) != 1)
			goto fail;
	if (SHA256_Final(out, &ctx) != 1)
		goto fail;
	return 0;

fail:
	ERR_clear_error();
	return -1;
#endif
}

int
bl_sha256(const void *data, size_t len, uint8_t out[BL_HASH_LEN])
{
	return bl_sha256_parts(&data, &len, 1, out);
}
