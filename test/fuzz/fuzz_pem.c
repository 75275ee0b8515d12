/*
 * fuzz_pem — PEM key loading (ed25519.c): public keys a member registers
 * (keys.c reads them on the server) and private key files the CLI reads.
 * The parsing itself is OpenSSL's (not instrumented here); what is fuzzed
 * is our handling of its results: lengths, key types, error paths, frees.
 * A loaded key must write back to PEM that loads as the same key.
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *pem = (const char *) data;
	uint8_t		pub[32];
	uint8_t		pub2[32];
	void	   *priv;

	if (bl_ed25519_pub_from_pem(pem, size, pub) == 0)
	{
		void	   *key = bl_ed25519_pub_new(pub);
		char	   *back;

		/*
		 * A well-formed PEM may carry a weak or off-curve key (OpenSSL takes
		 * any 32 bytes): no handle is made for one, so nothing verifies
		 * under it.  Found by this target once weak keys were refused.
		 */
		if (!bl_ed25519_pub_is_acceptable(pub, NULL))
		{
			FUZZ_CHECK(key == NULL);
			goto private_key;
		}
		FUZZ_CHECK(key != NULL);
		back = bl_ed25519_pub_to_pem(key);
		FUZZ_CHECK(back != NULL);
		FUZZ_CHECK(bl_ed25519_pub_from_pem(back, strlen(back), pub2) == 0 &&
				   memcmp(pub, pub2, 32) == 0);
		free(back);
		bl_ed25519_pub_free(key);
	}

private_key:
	priv = bl_ed25519_priv_load_pem(pem, size);
	if (priv)
	{
		char	   *back = bl_ed25519_priv_to_pem(priv);
		void	   *again;
		uint8_t		sig[64];
		void	   *key;

		FUZZ_CHECK(bl_ed25519_raw_public(priv, pub) == 0);
		FUZZ_CHECK(back != NULL);
		again = bl_ed25519_priv_load_pem(back, strlen(back));
		FUZZ_CHECK(again && bl_ed25519_raw_public(again, pub2) == 0 &&
				   memcmp(pub, pub2, 32) == 0);
		/* and it signs what its public key verifies */
		FUZZ_CHECK(bl_ed25519_sign(priv, data, size, sig) == 0);
		key = bl_ed25519_pub_new(pub);
		FUZZ_CHECK(key && bl_ed25519_verify(key, data, size, sig) == 1);
		bl_ed25519_pub_free(key);
		bl_ed25519_priv_free(again);
		free(back);
		bl_ed25519_priv_free(priv);
	}
	return 0;
}
