/*
 * battledger_test_signer.c — TEST ONLY.  Ed25519 key derivation and signing
 * from a 32-byte seed given in SQL, for deterministic regression tests.
 */
#include "postgres.h"

#include "fmgr.h"
/* 16 moved the varlena macros out of postgres.h */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

#include <openssl/err.h>
#include <openssl/evp.h>

PG_MODULE_MAGIC;

static EVP_PKEY *
key_from_seed(bytea *seed)
{
	EVP_PKEY   *k;

	if (VARSIZE_ANY_EXHDR(seed) != 32)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("seed must be 32 bytes")));
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
									 (const unsigned char *) VARDATA_ANY(seed), 32);
	if (k == NULL)
	{
		ERR_clear_error();
		elog(ERROR, "could not make an Ed25519 key");
	}
	return k;
}

PG_FUNCTION_INFO_V1(test_public_key);
Datum
test_public_key(PG_FUNCTION_ARGS)
{
	EVP_PKEY   *k = key_from_seed(PG_GETARG_BYTEA_PP(0));
	bytea	   *out = palloc(VARHDRSZ + 32);
	size_t		len = 32;
	int			ok = EVP_PKEY_get_raw_public_key(k, (unsigned char *) VARDATA(out), &len);

	EVP_PKEY_free(k);
	if (ok != 1)
	{
		ERR_clear_error();
		elog(ERROR, "could not get the public key");
	}
	SET_VARSIZE(out, VARHDRSZ + 32);
	PG_RETURN_BYTEA_P(out);
}

PG_FUNCTION_INFO_V1(test_sign);
Datum
test_sign(PG_FUNCTION_ARGS)
{
	EVP_PKEY   *k = key_from_seed(PG_GETARG_BYTEA_PP(0));
	bytea	   *msg = PG_GETARG_BYTEA_PP(1);
	bytea	   *out = palloc(VARHDRSZ + 64);
	size_t		len = 64;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int			ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) == 1 &&
		EVP_DigestSign(ctx, (unsigned char *) VARDATA(out), &len,
					   (const unsigned char *) VARDATA_ANY(msg), VARSIZE_ANY_EXHDR(msg)) == 1;

	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	if (!ok)
	{
		ERR_clear_error();
		elog(ERROR, "could not sign");
	}
	SET_VARSIZE(out, VARHDRSZ + 64);
	PG_RETURN_BYTEA_P(out);
}
