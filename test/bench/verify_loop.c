/*
 * test/bench/verify_loop.c — one OpenSSL Ed25519 verification, counted.
 *
 * signed_callgrind_ab.sh runs this under callgrind (--toggle-collect=verify_loop)
 * to count the instructions of one verification on this machine's OpenSSL,
 * the unit in which issue 15 states the signed-insert goals.  It verifies as
 * `openssl speed ed25519` does (one EVP_MD_CTX initialised once, then
 * EVP_DigestVerify in a loop) over a message of the given length, which the
 * script takes from the signing bytes of the rows it loads.
 * Usage: verify_loop MSGLEN N  (prints the number of good verifications; exit 0
 * if all N and the warm-up were good).  Build: cc -O2 verify_loop.c -lcrypto.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

static EVP_MD_CTX *ctx;
static unsigned char sig[64];
static unsigned char *msg;
static size_t msglen;

/* not inlined: callgrind counts from its entry to its exit */
__attribute__((noinline)) int
verify_loop(int n);

__attribute__((noinline)) int
verify_loop(int n)
{
	int			ok = 0;

	for (int i = 0; i < n; i++)
		ok += EVP_DigestVerify(ctx, sig, sizeof(sig), msg, msglen) == 1;
	return ok;
}

int
main(int argc, char **argv)
{
	EVP_PKEY   *key;
	EVP_MD_CTX *sctx;
	size_t		siglen = sizeof(sig);
	int			n;

	if (argc != 3 || atoi(argv[1]) < 0 || atoi(argv[2]) < 1)
	{
		fprintf(stderr, "usage: verify_loop MSGLEN N\n");
		return 2;
	}
	msglen = (size_t) atoi(argv[1]);
	n = atoi(argv[2]);
	msg = malloc(msglen + 1);
	for (size_t i = 0; i < msglen; i++)
		msg[i] = (unsigned char) (i * 7 + 1);
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	sctx = EVP_MD_CTX_new();
	ctx = EVP_MD_CTX_new();
	if (!key || !sctx || !ctx ||
		EVP_DigestSignInit(sctx, NULL, NULL, NULL, key) != 1 ||
		EVP_DigestSign(sctx, sig, &siglen, msg, msglen) != 1 ||
		EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1)
	{
		fprintf(stderr, "verify_loop: OpenSSL setup failed\n");
		return 2;
	}
	/* a warm-up (first-use fetches); the script divides the count by N + 1 */
	if (verify_loop(1) != 1)
		return 1;
	n = verify_loop(n);
	printf("%d\n", n);
	return n == atoi(argv[2]) ? 0 : 1;
}
