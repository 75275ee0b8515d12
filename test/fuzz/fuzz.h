/*
 * fuzz.h — shared by the libFuzzer targets in test/fuzz (see run.sh).
 *
 * Each target feeds its bytes to one family of parsers and, where the
 * format promises it, checks a property (a canonical form re-encodes to the
 * same bytes, accepted values re-parse) with FUZZ_CHECK, which aborts: a
 * wrong answer is reported like a crash, with the input saved.
 *
 * The fixed keys let seeds that are really signed (test/fuzz/corpus, made
 * by make_corpus.sh with the CLI) reach the signature and proof checks.
 * The private key is the repository's public TEST-ONLY key
 * (test/data/TEST-ONLY-log.key), never a secret.
 */
#ifndef BATTLEDGER_FUZZ_H
#define BATTLEDGER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ed25519.h"
#include "merkle.h"
#include "note.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* test/data/TEST-ONLY-log.key */
#define FUZZ_KEY_PEM \
	"-----BEGIN PRIVATE KEY-----\n" \
	"MC4CAQAwBQYDK2VwBCIEIEcDURu6QaEjyd+9x/ZmKK2KjEgyjLjrhz91L5a//zI7\n" \
	"-----END PRIVATE KEY-----\n"

/* Names the seeds are signed under (make_corpus.sh uses the same). */
#define FUZZ_LOG_NAME "fuzz.test/log"
#define FUZZ_WITNESS_NAME "fuzz.test/witness"
#define FUZZ_WITNESS2_NAME "fuzz.test/witness2"
#define FUZZ_COSIGNER_NAME "fuzz.test/cosigner"	/* only in what fuzz_note cosigns */
#define FUZZ_TREE_SIZE 13		/* the seeds' tree: leaves "leaf 0".."leaf 12" */
#define FUZZ_LEAF_INDEX 5		/* the seeds' tlog-proof is for "leaf 5" */

typedef struct fuzz_keys
{
	void	   *priv;
	uint8_t		pub[32];
	bl_vkey		log;			/* Ed25519 note key FUZZ_LOG_NAME */
	bl_vkey		witness[2];		/* cosignature/v1 keys, same key pair */
	bl_vkey		cosigner;
} fuzz_keys;

static inline void
fuzz_vkey(const char *name, uint8_t alg, const uint8_t pub[32], bl_vkey *out)
{
	char	   *s = bl_vkey_format(name, alg, pub);

	if (!s || bl_vkey_parse(s, strlen(s), out) != 0)
	{
		fprintf(stderr, "fuzz: cannot make the vkey of %s\n", name);
		abort();
	}
	free(s);
}

/* Loaded once per process; never freed (LeakSanitizer sees it reachable). */
static inline const fuzz_keys *
fuzz_get_keys(void)
{
	static fuzz_keys k;
	static int	done;

	if (!done)
	{
		k.priv = bl_ed25519_priv_load_pem(FUZZ_KEY_PEM, strlen(FUZZ_KEY_PEM));
		if (!k.priv || bl_ed25519_raw_public(k.priv, k.pub) != 0)
		{
			fprintf(stderr, "fuzz: cannot load the TEST-ONLY key\n");
			abort();
		}
		fuzz_vkey(FUZZ_LOG_NAME, BL_NOTE_ALG_ED25519, k.pub, &k.log);
		fuzz_vkey(FUZZ_WITNESS_NAME, BL_NOTE_ALG_COSIG_V1, k.pub, &k.witness[0]);
		fuzz_vkey(FUZZ_WITNESS2_NAME, BL_NOTE_ALG_COSIG_V1, k.pub, &k.witness[1]);
		fuzz_vkey(FUZZ_COSIGNER_NAME, BL_NOTE_ALG_COSIG_V1, k.pub, &k.cosigner);
		done = 1;
	}
	return &k;
}

/* The leaf hash of "leaf <i>", as make_corpus.sh builds its tree. */
static inline void
fuzz_leaf_hash(uint64_t i, uint8_t out[32])
{
	char		leaf[32];
	int			n = snprintf(leaf, sizeof(leaf), "leaf %llu", (unsigned long long) i);

	if (bl_merkle_leaf_hash(leaf, (size_t) n, out) != 0)
		abort();
}

/* A NUL-terminated copy (the parsers take lengths; a few helpers want C strings). */
static inline char *
fuzz_strndup(const void *p, size_t n)
{
	char	   *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

#endif
