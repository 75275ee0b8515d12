/*
 * sha256.c — SHA-256 through OpenSSL's EVP interface, one context per process.
 */
#include "sha256.h"

#include <openssl/err.h>
#include <openssl/evp.h>

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

int
bl_sha256_parts(const void *const *parts, const size_t *lens, int n,
				uint8_t out[BL_HASH_LEN])
{
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
}

int
bl_sha256(const void *data, size_t len, uint8_t out[BL_HASH_LEN])
{
	return bl_sha256_parts(&data, &len, 1, out);
}
