/*
 * test_crypto.c — unit tests of the pure-C primitives (no database):
 * merkle.c against an independent naive RFC 9162 implementation, note.c
 * (base64, signed notes, checkpoints, cosignatures, vkeys, tlog-proofs),
 * ed25519.c (with the weak public keys it refuses) and batch.c, with known
 * answers from RFC 6962/8032 and C2SP.
 *
 *   test_crypto                 run the tests, print a summary, exit 1 on failure
 *   test_crypto --fixtures DIR  also write key/checkpoint/proof files for the
 *                               command-line tests in run.sh
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "batch.h"
#include "ed25519.h"
#include "merkle.h"
#include "note.h"

static int n_pass;
static int n_fail;
static const char *section = "";

static void
check(int cond, const char *fmt,...)
{
	va_list		ap;

	if (cond)
	{
		n_pass++;
		return;
	}
	n_fail++;
	if (n_fail > 50)
		return;					/* the count is enough after that */
	fprintf(stderr, "FAIL [%s] ", section);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
hex_to_bytes(const char *hex, uint8_t *out)
{
	for (size_t i = 0; hex[2 * i]; i++)
		sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

static int
eq_hex(const uint8_t *p, const char *hex)
{
	uint8_t		buf[64];

	hex_to_bytes(hex, buf);
	return memcmp(p, buf, strlen(hex) / 2) == 0;
}

/* ------------------------------------------------ naive RFC 9162 model */

#define MAXLEAVES 1200
#define MAXLEVEL 11

static uint8_t leaves[MAXLEAVES][32];	/* leaf hashes */
static uint8_t perfect[MAXLEVEL][MAXLEAVES][32];	/* complete subtrees */

/* SHA-256 of prefix || a || b with OpenSSL's one-shot API (no merkle.c). */
static void
naive_hash(uint8_t prefix, const uint8_t *a, size_t alen,
		   const uint8_t *b, size_t blen, uint8_t out[32])
{
	uint8_t		buf[1 + 64 + 64];

	buf[0] = prefix;
	memcpy(buf + 1, a, alen);
	if (blen)
		memcpy(buf + 1 + alen, b, blen);
	EVP_Digest(buf, 1 + alen + blen, out, NULL, EVP_sha256(), NULL);
}

/* MTH(D[lo:hi]), literally recursive. */
static void
naive_mth(uint64_t lo, uint64_t hi, uint8_t out[32])
{
	uint64_t	k = 1;
	uint8_t		l[32];
	uint8_t		r[32];

	if (hi - lo == 1)
	{
		memcpy(out, leaves[lo], 32);
		return;
	}
	while (2 * k < hi - lo)
		k *= 2;
	naive_mth(lo, lo + k, l);
	naive_mth(lo + k, hi, r);
	naive_hash(0x01, l, 32, r, 32, out);
}

/* PATH(m, D[lo:hi]) appended to out. */
static void
naive_path(uint64_t m, uint64_t lo, uint64_t hi, uint8_t (*out)[32], size_t *n)
{
	uint64_t	k = 1;

	if (hi - lo <= 1)
		return;
	while (2 * k < hi - lo)
		k *= 2;
	if (m < k)
	{
		naive_path(m, lo, lo + k, out, n);
		naive_mth(lo + k, hi, out[(*n)++]);
	}
	else
	{
		naive_path(m - k, lo + k, hi, out, n);
		naive_mth(lo, lo + k, out[(*n)++]);
	}
}

/* SUBPROOF(m, D[lo:hi], b) appended to out. */
static void
naive_subproof(uint64_t m, uint64_t lo, uint64_t hi, int b,
			   uint8_t (*out)[32], size_t *n)
{
	uint64_t	k = 1;

	if (m == hi - lo)
	{
		if (!b)
			naive_mth(lo, hi, out[(*n)++]);
		return;
	}
	while (2 * k < hi - lo)
		k *= 2;
	if (m <= k)
	{
		naive_subproof(m, lo, lo + k, b, out, n);
		naive_mth(lo + k, hi, out[(*n)++]);
	}
	else
	{
		naive_subproof(m - k, lo + k, hi, 0, out, n);
		naive_mth(lo, lo + k, out[(*n)++]);
	}
}

static void
build_model(void)
{
	for (uint64_t i = 0; i < MAXLEAVES; i++)
	{
		uint8_t		data[8];

		for (int b = 0; b < 8; b++)
			data[b] = (uint8_t) (i >> (8 * b));
		naive_hash(0x00, data, 8, NULL, 0, leaves[i]);
	}
	for (int l = 0; l < MAXLEVEL; l++)
		for (uint64_t i = 0; ((i + 1) << l) <= MAXLEAVES; i++)
			naive_mth(i << l, (i + 1) << l, perfect[l][i]);
}

/* Node store seen by the generators: only subtrees complete at `size`. */
typedef struct store
{
	uint64_t	size;
	int			bad;			/* requests for incomplete/unknown nodes */
	int			nreq;
	int			req_level[256];
	uint64_t	req_index[256];
} store;

static int
get_node(void *ctx, int level, uint64_t index, uint8_t out[32])
{
	store	   *s = ctx;

	if (level < 0 || level >= MAXLEVEL || ((index + 1) << level) > s->size)
	{
		s->bad++;
		return -1;
	}
	if (s->nreq < 256)
	{
		s->req_level[s->nreq] = level;
		s->req_index[s->nreq++] = index;
	}
	memcpy(out, perfect[level][index], 32);
	return 0;
}

/* Every node the generator fetched was announced by the *_nodes listing. */
static int
requests_listed(const store *s, const int *levels, const uint64_t *idx,
				size_t n)
{
	for (int r = 0; r < s->nreq; r++)
	{
		int			found = 0;

		for (size_t i = 0; i < n && !found; i++)
			found = levels[i] == s->req_level[r] && idx[i] == s->req_index[r];
		if (!found)
			return 0;
	}
	return 1;
}

/* ---------------------------------------------------------- merkle tests */

static void
test_known_answers(void)
{
	uint8_t		h[32];
	bl_compact	c;

	section = "known answers";
	check(bl_merkle_empty_root(h) == 0 &&
		  eq_hex(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
		  "empty root");
	bl_compact_init(&c);
	check(bl_compact_root(&c, h) == 0 &&
		  eq_hex(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
		  "empty compact root");
	check(bl_merkle_leaf_hash("", 0, h) == 0 &&
		  eq_hex(h, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
		  "leaf hash of empty string");
	for (int i = 0; i < MAXLEAVES; i += 97)
	{
		uint8_t		data[8];

		for (int b = 0; b < 8; b++)
			data[b] = (uint8_t) ((uint64_t) i >> (8 * b));
		check(bl_merkle_leaf_hash(data, 8, h) == 0 && memcmp(h, leaves[i], 32) == 0,
			  "leaf hash %d vs model", i);
	}
	check(bl_merkle_node_hash(leaves[0], leaves[1], h) == 0 &&
		  memcmp(h, perfect[1][0], 32) == 0, "node hash vs model");
}

/* Flip one bit in each proof element: the proof must stop verifying. */
static void
check_inclusion_tamper(uint64_t m, uint64_t n, uint8_t (*p)[32], size_t len,
					   const uint8_t root[32])
{
	for (size_t i = 0; i < len; i++)
	{
		p[i][i % 32] ^= 0x01;
		check(!bl_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t (*)[32]) p,
										  len, root), "tampered inclusion %" PRIu64 "/%" PRIu64, m, n);
		p[i][i % 32] ^= 0x01;
	}
	if (len > 0)
		check(!bl_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t (*)[32]) p,
										  len - 1, root), "truncated inclusion");
	memcpy(p[len], root, 32);
	check(!bl_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t (*)[32]) p,
									  len + 1, root), "extended inclusion");
	check(!bl_merkle_verify_inclusion(m, n, leaves[(m + 1) % MAXLEAVES],
									  (const uint8_t (*)[32]) p, len, root),
		  "wrong leaf accepted");
	check(!bl_merkle_verify_inclusion(n, n, leaves[m], (const uint8_t (*)[32]) p,
									  len, root), "index == size accepted");
	/*
	 * The right root reached with path left over (RFC 9162: sn must be 0).
	 * A proof does not bind the size unless the depth differs: it does when
	 * n is a power of two and the claimed size n + 1.
	 */
	check((n & (n - 1)) != 0 ||
		  !bl_merkle_verify_inclusion(m, n + 1, leaves[m], (const uint8_t (*)[32]) p,
									  len, root), "proof accepted for a deeper tree");
}

static void
test_inclusion_one(uint64_t m, uint64_t n, const uint8_t root[32])
{
	uint8_t		got[BL_MERKLE_MAX_PROOF + 1][32];
	uint8_t		want[BL_MERKLE_MAX_PROOF][32];
	size_t		ngot;
	size_t		nwant = 0;
	int			levels[BL_MERKLE_MAX_NODES];
	uint64_t	idx[BL_MERKLE_MAX_NODES];
	size_t		nnodes;
	store		s = {.size = n};

	naive_path(m, 0, n, want, &nwant);
	check(bl_merkle_inclusion_proof(m, n, get_node, &s, got, &ngot) == 0 &&
		  s.bad == 0, "generate inclusion %" PRIu64 "/%" PRIu64, m, n);
	check(ngot == nwant && memcmp(got, want, 32 * nwant) == 0,
		  "inclusion %" PRIu64 "/%" PRIu64 " differs from naive PATH", m, n);
	check(bl_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t (*)[32]) got,
									 ngot, root) == 1,
		  "verify inclusion %" PRIu64 "/%" PRIu64, m, n);
	check(bl_merkle_inclusion_nodes(m, n, levels, idx, &nnodes) == 0 &&
		  requests_listed(&s, levels, idx, nnodes),
		  "inclusion nodes listing %" PRIu64 "/%" PRIu64, m, n);
	check_inclusion_tamper(m, n, got, ngot, root);
}

static void
check_consistency_tamper(uint64_t m, uint64_t n, uint8_t (*p)[32], size_t len,
						 const uint8_t r1[32], const uint8_t r2[32])
{
	for (size_t i = 0; i < len; i++)
	{
		p[i][(i * 7) % 32] ^= 0x80;
		check(!bl_merkle_verify_consistency(m, n, r1, r2, (const uint8_t (*)[32]) p, len),
			  "tampered consistency %" PRIu64 "->%" PRIu64, m, n);
		p[i][(i * 7) % 32] ^= 0x80;
	}
	check(!bl_merkle_verify_consistency(m, n, r2, r1, (const uint8_t (*)[32]) p, len) ||
		  memcmp(r1, r2, 32) == 0, "swapped roots %" PRIu64 "->%" PRIu64, m, n);
	if (len > 0)
		check(!bl_merkle_verify_consistency(m, n, r1, r2, (const uint8_t (*)[32]) p,
											len - 1), "truncated consistency");
	memcpy(p[len], r1, 32);
	check(!bl_merkle_verify_consistency(m, n, r1, r2, (const uint8_t (*)[32]) p, len + 1),
		  "extended consistency %" PRIu64 "->%" PRIu64, m, n);
	check(!bl_merkle_verify_consistency(n, m, r2, r1, (const uint8_t (*)[32]) p, len) ||
		  m == n, "reversed sizes accepted");
	check((n & (n - 1)) != 0 || m == n ||
		  !bl_merkle_verify_consistency(m, n + 1, r1, r2, (const uint8_t (*)[32]) p, len),
		  "consistency accepted for a deeper tree %" PRIu64 "->%" PRIu64, m, n);
}

static void
test_consistency_one(uint64_t m, uint64_t n, const uint8_t r1[32],
					 const uint8_t r2[32])
{
	uint8_t		got[BL_MERKLE_MAX_PROOF + 1][32];
	uint8_t		want[BL_MERKLE_MAX_PROOF][32];
	size_t		ngot;
	size_t		nwant = 0;
	int			levels[BL_MERKLE_MAX_NODES];
	uint64_t	idx[BL_MERKLE_MAX_NODES];
	size_t		nnodes;
	store		s = {.size = n};

	naive_subproof(m, 0, n, 1, want, &nwant);
	check(bl_merkle_consistency_proof(m, n, get_node, &s, got, &ngot) == 0 &&
		  s.bad == 0, "generate consistency %" PRIu64 "->%" PRIu64, m, n);
	check(ngot == nwant && memcmp(got, want, 32 * nwant) == 0,
		  "consistency %" PRIu64 "->%" PRIu64 " differs from naive PROOF", m, n);
	check(bl_merkle_verify_consistency(m, n, r1, r2, (const uint8_t (*)[32]) got,
									   ngot) == 1,
		  "verify consistency %" PRIu64 "->%" PRIu64, m, n);
	check(bl_merkle_consistency_nodes(m, n, levels, idx, &nnodes) == 0 &&
		  requests_listed(&s, levels, idx, nnodes),
		  "consistency nodes listing %" PRIu64 "->%" PRIu64, m, n);
	check_consistency_tamper(m, n, got, ngot, r1, r2);
}

static void
model_root(uint64_t n, uint8_t out[32])
{
	if (n == 0)
		EVP_Digest("", 0, out, NULL, EVP_sha256(), NULL);
	else
		naive_mth(0, n, out);
}

static void
test_root_at(uint64_t n)
{
	uint8_t		want[32];
	uint8_t		got[32];
	int			levels[BL_MERKLE_MAX_NODES];
	uint64_t	idx[BL_MERKLE_MAX_NODES];
	size_t		nnodes;
	store		s = {.size = n};

	model_root(n, want);
	check(bl_merkle_root(n, get_node, &s, got) == 0 && s.bad == 0 &&
		  memcmp(got, want, 32) == 0, "root at %" PRIu64, n);
	check(bl_merkle_root_nodes(n, levels, idx, &nnodes) == 0 &&
		  requests_listed(&s, levels, idx, nnodes), "root nodes at %" PRIu64, n);
}

static void
test_proofs(void)
{
	uint8_t		roots[MAXLEAVES + 1][32];
	static const uint64_t big[] = {100, 127, 128, 129, 255, 256, 257, 511,
	513, 777, 1000, 1023, 1024, 1025, 1199, 1200};

	section = "merkle proofs";
	for (uint64_t n = 0; n <= MAXLEAVES; n++)
		model_root(n, roots[n]);
	for (uint64_t n = 0; n <= 64; n++)
		test_root_at(n);
	for (uint64_t n = 1; n <= 64; n++)
		for (uint64_t m = 0; m < n; m++)
			test_inclusion_one(m, n, roots[n]);
	for (uint64_t n = 1; n <= 64; n++)
		for (uint64_t m = 1; m <= n; m++)
			test_consistency_one(m, n, roots[m], roots[n]);
	/* Larger trees: a sample of indexes and old sizes. */
	for (size_t b = 0; b < sizeof(big) / sizeof(big[0]); b++)
	{
		uint64_t	n = big[b];

		test_root_at(n);
		for (uint64_t m = 0; m < n; m += 1 + n / 23)
			test_inclusion_one(m, n, roots[n]);
		test_inclusion_one(n - 1, n, roots[n]);
		for (uint64_t m = 1; m <= n; m += 1 + n / 19)
			test_consistency_one(m, n, roots[m], roots[n]);
		test_consistency_one(n - 1, n, roots[n - 1], roots[n]);
	}
	/* Arguments no proof exists for. */
	{
		uint8_t		p[BL_MERKLE_MAX_PROOF][32];
		size_t		np;
		store		s = {.size = 10};

		check(bl_merkle_inclusion_proof(10, 10, get_node, &s, p, &np) != 0,
			  "inclusion index == size refused");
		check(bl_merkle_consistency_proof(0, 10, get_node, &s, p, &np) != 0,
			  "consistency from 0 refused");
		check(bl_merkle_consistency_proof(11, 10, get_node, &s, p, &np) != 0,
			  "consistency size1 > size2 refused");
		check(!bl_merkle_verify_consistency(0, 0, roots[0], roots[0], NULL, 0),
			  "verify consistency 0 -> 0 refused");
		check(bl_merkle_verify_consistency(5, 5, roots[5], roots[5], NULL, 0) == 1,
			  "verify consistency 5 -> 5, empty proof");
	}
}

/* emit callback: record nodes, checking each is emitted once and correctly. */
typedef struct emitted
{
	int			count[MAXLEVEL][MAXLEAVES];
	int			wrong;
} emitted;

static void
on_emit(void *ctx, int level, uint64_t index, const uint8_t hash[32])
{
	emitted    *e = ctx;

	if (level >= MAXLEVEL || index >= MAXLEAVES ||
		memcmp(hash, perfect[level][index], 32) != 0)
		e->wrong++;
	else
		e->count[level][index]++;
}

static void
test_compact(void)
{
	static emitted e;
	bl_compact	c;
	bl_compact	r;
	uint8_t		want[32];
	uint8_t		got[32];
	int			dup = 0;

	section = "compact range";
	bl_compact_init(&c);
	for (uint64_t n = 1; n <= MAXLEAVES; n++)
	{
		check(bl_compact_append(&c, leaves[n - 1], on_emit, &e) == 0, "append");
		naive_mth(0, n, want);
		check(bl_compact_root(&c, got) == 0 && memcmp(got, want, 32) == 0,
			  "compact root at %" PRIu64, n);
	}
	check(e.wrong == 0, "emitted %d wrong nodes", e.wrong);
	for (int l = 0; l < MAXLEVEL; l++)
		for (uint64_t i = 0; ((i + 1) << l) <= MAXLEAVES; i++)
			dup += e.count[l][i] != 1;
	check(dup == 0, "%d perfect subtrees not emitted exactly once", dup);

	/* Restart from stored nodes at every size, then keep appending. */
	for (uint64_t n = 0; n <= 200; n++)
	{
		store		s = {.size = n};

		check(bl_compact_from_nodes(&r, n, get_node, &s) == 0 && s.bad == 0,
			  "compact from nodes at %" PRIu64, n);
		for (uint64_t i = n; i < n + 37 && i < MAXLEAVES; i++)
			bl_compact_append(&r, leaves[i], NULL, NULL);
		naive_mth(0, r.size, want);
		check(bl_compact_root(&r, got) == 0 && memcmp(got, want, 32) == 0,
			  "resumed compact root from %" PRIu64, n);
	}
}

/* ---------------------------------------------------------- base64 */

static void
test_base64(void)
{
	static const char *const rfc[][2] = {
		{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
		{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
	};
	static const char *const bad[] = {
		"Zg", "Zg=", "Zh==", "Zm9=", "Zm8", "Z===", "====", "=Zm8",
		"Zg==Zg==", "Zm9v\n", " Zm9v", "Zm9v ", "Zm-v", "Zm_v", "Zm9v=",
		"Zm9v====", "Zm9\x80", "Zg=A", "Z=g=",
	};
	char		enc[72];			/* 48 bytes: 64 characters and a NUL */
	uint8_t		dec[64];
	size_t		n;

	section = "base64";
	for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++)
	{
		size_t		len = strlen(rfc[i][0]);

		bl_base64_encode((const uint8_t *) rfc[i][0], len, enc);
		check(strcmp(enc, rfc[i][1]) == 0 && bl_base64_encoded_len(len) == strlen(enc),
			  "encode \"%s\"", rfc[i][0]);
		check(bl_base64_decode(rfc[i][1], strlen(rfc[i][1]), dec, sizeof(dec), &n) == 0 &&
			  n == len && memcmp(dec, rfc[i][0], len) == 0, "decode \"%s\"", rfc[i][1]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check(bl_base64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec), &n) != 0,
			  "accepted bad base64 \"%s\"", bad[i]);
	check(bl_base64_decode("Zm9vYmFy", 8, dec, 5, &n) != 0, "decode past capacity");
	check(bl_base64_decode("Zm9vYmFy", 8, dec, 6, &n) == 0 && n == 6, "decode exact capacity");
	/* Every length and byte value round-trips. */
	for (size_t len = 0; len <= 48; len++)
	{
		uint8_t		src[48];

		for (size_t i = 0; i < len; i++)
			src[i] = (uint8_t) (len * 37 + i * 101 + 255 * (i & 1));
		bl_base64_encode(src, len, enc);
		check(bl_base64_decode(enc, strlen(enc), dec, sizeof(dec), &n) == 0 &&
			  n == len && memcmp(dec, src, len) == 0, "round trip length %zu", len);
	}
}

static void
test_decimal(void)
{
	static const char *const bad[] = {"", "00", "01", "-1", "+1", " 1", "1 ",
	"18446744073709551616", "99999999999999999999", "1a", "0x10"};
	uint64_t	v;

	section = "decimal";
	check(bl_parse_u64("0", 1, &v) == 0 && v == 0, "0");
	check(bl_parse_u64("20852163", 8, &v) == 0 && v == 20852163, "20852163");
	check(bl_parse_u64("18446744073709551615", 20, &v) == 0 && v == UINT64_MAX, "max");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check(bl_parse_u64(bad[i], strlen(bad[i]), &v) != 0, "accepted \"%s\"", bad[i]);
}

/* ---------------------------------------------------------- ed25519 */

static void
test_ed25519(void)
{
	/* RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2. */
	uint8_t		pub1[32];
	uint8_t		sig1[64];
	uint8_t		pub2[32];
	uint8_t		sig2[64];
	uint8_t		msg2 = 0x72;
	uint8_t		pub[32];
	uint8_t		sig[64];
	uint8_t		id[32];
	void	   *k;
	void	   *priv;
	char	   *pem;

	section = "ed25519";
	hex_to_bytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pub1);
	hex_to_bytes("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
				 "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b", sig1);
	hex_to_bytes("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", pub2);
	hex_to_bytes("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
				 "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00", sig2);
	k = bl_ed25519_pub_new(pub1);
	check(k && bl_ed25519_verify(k, (const uint8_t *) "", 0, sig1) == 1, "RFC 8032 test 1");
	check(k && bl_ed25519_verify(k, (const uint8_t *) "x", 1, sig1) == 0, "test 1, other message");
	bl_ed25519_pub_free(k);
	k = bl_ed25519_pub_new(pub2);
	check(k && bl_ed25519_verify(k, &msg2, 1, sig2) == 1, "RFC 8032 test 2");
	/*
	 * One context kept for a key (the extension's per-key cache): the same
	 * answers as fresh contexts, in any order, for good and bad signatures
	 * and messages, and again after a refusal.
	 */
	{
		void	   *vctx = NULL;
		uint8_t		other = 0x73;

		check(k && bl_ed25519_verify_ctx(&vctx, k, &msg2, 1, sig2) == 1 && vctx != NULL,
			  "kept context: test 2, first use");
		check(bl_ed25519_verify_ctx(&vctx, k, &msg2, 1, sig2) == 1, "kept context: test 2 again");
		check(bl_ed25519_verify_ctx(&vctx, k, &other, 1, sig2) == 0, "kept context: other message");
		check(bl_ed25519_verify_ctx(&vctx, k, &msg2, 1, sig2) == 1, "kept context: valid after a refusal");
		sig2[63] ^= 0x10;
		check(bl_ed25519_verify_ctx(&vctx, k, &msg2, 1, sig2) == 0, "kept context: modified signature");
		sig2[63] ^= 0x10;
		check(bl_ed25519_verify_ctx(&vctx, k, &msg2, 1, sig2) == 1, "kept context: restored signature");
		bl_ed25519_verify_ctx_free(vctx);
		vctx = NULL;
		sig2[0] ^= 0x01;
		check(bl_ed25519_verify_ctx(&vctx, k, &msg2, 1, sig2) == 0, "fresh kept context: modified signature");
		sig2[0] ^= 0x01;
		bl_ed25519_verify_ctx_free(vctx);
		vctx = NULL;
		/* a context made for one key answers only for that key: here, test 1's */
		{
			void	   *k1 = bl_ed25519_pub_new(pub1);

			check(k1 && bl_ed25519_verify_ctx(&vctx, k1, (const uint8_t *) "", 0, sig1) == 1 &&
				  bl_ed25519_verify_ctx(&vctx, k1, (const uint8_t *) "", 0, sig2) == 0,
				  "kept context, test 1's key");
			bl_ed25519_verify_ctx_free(vctx);
			bl_ed25519_pub_free(k1);
		}
	}
	sig2[63] ^= 0x10;
	check(k && bl_ed25519_verify(k, &msg2, 1, sig2) == 0, "test 2, modified signature");
	bl_ed25519_pub_free(k);

	priv = bl_ed25519_generate();
	check(priv && bl_ed25519_raw_public(priv, pub) == 0, "generate");
	check(bl_ed25519_sign(priv, (const uint8_t *) "abc", 3, sig) == 0, "sign");
	k = bl_ed25519_pub_new(pub);
	check(bl_ed25519_verify(k, (const uint8_t *) "abc", 3, sig) == 1, "verify own");
	check(bl_ed25519_verify(k, (const uint8_t *) "abd", 3, sig) == 0, "reject other msg");
	check(bl_ed25519_sign(k, (const uint8_t *) "abc", 3, sig) != 0, "sign with public key refused");
	pem = bl_ed25519_pub_to_pem(k);
	check(pem && strncmp(pem, "-----BEGIN PUBLIC KEY-----", 26) == 0 &&
		  bl_ed25519_pub_from_pem(pem, strlen(pem), id) == 0 && memcmp(id, pub, 32) == 0,
		  "public PEM round trip");
	check(bl_ed25519_pub_from_pem("junk", 4, id) != 0, "junk public PEM refused");
	free(pem);
	bl_ed25519_pub_free(k);
	pem = bl_ed25519_priv_to_pem(priv);
	bl_ed25519_priv_free(priv);
	priv = pem ? bl_ed25519_priv_load_pem(pem, strlen(pem)) : NULL;
	check(pem && strncmp(pem, "-----BEGIN PRIVATE KEY-----", 27) == 0 && priv &&
		  bl_ed25519_raw_public(priv, id) == 0 && memcmp(id, pub, 32) == 0,
		  "private PEM round trip");
	check(bl_ed25519_priv_load_pem("junk", 4) == NULL, "junk private PEM refused");
	free(pem);
	bl_ed25519_priv_free(priv);

	/* Member key id = SHA-256("battledger key v1\n" || pub). */
	{
		uint8_t		buf[18 + 32];
		uint8_t		want[32];

		memcpy(buf, "battledger key v1\n", 18);
		memcpy(buf + 18, pub1, 32);
		EVP_Digest(buf, sizeof(buf), want, NULL, EVP_sha256(), NULL);
		check(bl_key_id(pub1, id) == 0 && memcmp(id, want, 32) == 0, "member key id");
	}

	/*
	 * Proof of possession (0.23.0): "battledger key-possession v1\n" ||
	 * member || "\n" || pub, written out here byte by byte.
	 */
	{
		static const char prefix[] = "battledger key-possession v1\n";
		uint8_t		want[29 + 11 + 1 + 32];
		uint8_t		got[sizeof(want)];

		memcpy(want, prefix, 29);
		memcpy(want + 29, "oem.example", 11);
		want[40] = '\n';
		memcpy(want + 41, pub1, 32);
		check(sizeof(prefix) - 1 == 29 &&
			  bl_key_possession_message("oem.example", 11, pub1, NULL) == sizeof(want) &&
			  bl_key_possession_message("oem.example", 11, pub1, got) == sizeof(want) &&
			  memcmp(got, want, sizeof(want)) == 0, "possession message bytes");
	}
}

/*
 * Weak public keys.  The eight points of small order, each written with both
 * sign bits, are derived here from the curve equation (see the comment in
 * ed25519.c) by an independent Python computation, not by the code under
 * test: y = 1 (order 1), y = p-1 (order 2), y = 0 (order 4, x = +-sqrt(-1)),
 * and y = +-0x7a03ac92...17c7 (order 8).  y = p and y = p+1 write y = 0 and
 * y = 1 again; every y >= p is refused as non-canonical.
 */
static const char *const small_order_keys[] = {
	"0100000000000000000000000000000000000000000000000000000000000000",	/* identity */
	"0100000000000000000000000000000000000000000000000000000000000080",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",	/* order 2 */
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"0000000000000000000000000000000000000000000000000000000000000000",	/* order 4 */
	"0000000000000000000000000000000000000000000000000000000000000080",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",	/* order 8 */
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
};
static const char *const noncanonical_keys[] = {
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",	/* y = p: order 4 */
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",	/* y = p+1: identity */
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",	/* y = p+18 */
};
static const char *const not_point_keys[] = {
	"0200000000000000000000000000000000000000000000000000000000000000",	/* y = 2 */
	"ebffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",	/* y = p-2 */
};

/* Refused by bl_ed25519_pub_is_acceptable with a reason containing want, and by pub_new. */
static void
check_refused(const char *hex, const char *want)
{
	uint8_t		pub[32];
	const char *why = NULL;
	void	   *k;

	hex_to_bytes(hex, pub);
	check(!bl_ed25519_pub_is_acceptable(pub, &why) && why && strstr(why, want),
		  "key %s not refused as \"%s\" (%s)", hex, want, why ? why : "accepted");
	k = bl_ed25519_pub_new(pub);
	check(k == NULL, "pub_new made a handle for weak key %s", hex);
	bl_ed25519_pub_free(k);
}

static void
test_weak_keys(void)
{
	uint8_t		identity[32];
	uint8_t		forged[64];		/* R = identity, S = 0 */
	uint8_t		pub[32];
	uint8_t		root[32];
	void	   *k;
	int			accepted = 0;
	EVP_PKEY   *raw;
	EVP_MD_CTX *md;

	section = "weak keys";
	for (size_t i = 0; i < sizeof(small_order_keys) / sizeof(small_order_keys[0]); i++)
		check_refused(small_order_keys[i], "small order");
	for (size_t i = 0; i < sizeof(noncanonical_keys) / sizeof(noncanonical_keys[0]); i++)
		check_refused(noncanonical_keys[i], "non-canonical");
	for (size_t i = 0; i < sizeof(not_point_keys) / sizeof(not_point_keys[0]); i++)
		check_refused(not_point_keys[i], "not the encoding of a curve point");
	hex_to_bytes(small_order_keys[0], identity);
	check(bl_ed25519_pub_is_acceptable(identity, NULL) == 0, "identity accepted when why is NULL");

	/* Real keys pass: RFC 8032 test 1, y = p-3 (a point, not small), fresh ones. */
	hex_to_bytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pub);
	check(bl_ed25519_pub_is_acceptable(pub, NULL) == 1, "RFC 8032 key refused");
	hex_to_bytes("eaffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", pub);
	check(bl_ed25519_pub_is_acceptable(pub, NULL) == 1, "y = p-3 refused");
	for (int i = 0; i < 256; i++)
	{
		void	   *priv = bl_ed25519_generate();
		const char *why = NULL;

		if (priv && bl_ed25519_raw_public(priv, pub) == 0 &&
			bl_ed25519_pub_is_acceptable(pub, &why) == 1 && (k = bl_ed25519_pub_new(pub)) != NULL)
		{
			accepted++;
			bl_ed25519_pub_free(k);
		}
		else
			check(0, "generated key refused: %s", why ? why : "?");
		bl_ed25519_priv_free(priv);
	}
	check(accepted == 256, "%d of 256 generated keys accepted", accepted);

	/*
	 * The forgery: under the identity key, R = identity and S = 0 satisfy
	 * [S]B = R + [h]A for every message.  OpenSSL itself accepts it (shown,
	 * not required: a later OpenSSL may refuse); battledger must not.
	 */
	memset(forged, 0, sizeof(forged));
	forged[0] = 0x01;
	raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, identity, 32);
	md = EVP_MD_CTX_new();
	if (raw && md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, raw) == 1 &&
		EVP_DigestVerify(md, forged, 64, (const uint8_t *) "any message", 11) == 1)
		printf("weak keys: OpenSSL alone accepts the identity-key forgery; battledger must not\n");
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(raw);
	k = bl_ed25519_pub_new(identity);
	check(bl_ed25519_verify(k, (const uint8_t *) "any message", 11, forged) != 1,
		  "identity key + (R = identity, S = 0) verified");
	bl_ed25519_pub_free(k);

	/* The same forgery as a checkpoint note and as a cosignature under weak vkeys. */
	memset(root, 0x5a, 32);
	{
		char	   *body = bl_checkpoint_body("example.com/weak", 1, root, NULL, 0);
		uint8_t		raw_sig[4 + 8 + 64];
		char		b64[128];
		char		note_text[512];
		bl_vkey		vk;
		bl_note		note;
		bl_checkpoint cp;
		const char *why = NULL;
		uint64_t	ts = 0;

		check(body != NULL, "checkpoint body");
		if (!body)
			return;
		memset(&vk, 0, sizeof(vk));
		strcpy(vk.name, "example.com/weak");
		vk.alg = BL_NOTE_ALG_ED25519;
		memcpy(vk.pub, identity, 32);
		bl_note_key_id(vk.name, vk.alg, vk.pub, vk.key_id);
		memcpy(raw_sig, vk.key_id, 4);
		memcpy(raw_sig + 4, forged, 64);
		bl_base64_encode(raw_sig, 4 + 64, b64);
		snprintf(note_text, sizeof(note_text), "%s\n\xe2\x80\x94 %s %s\n", body, vk.name, b64);
		memset(&note, 0, sizeof(note));
		check(bl_checkpoint_open(note_text, strlen(note_text), &vk, NULL, NULL, 0, &note, &cp, &why) != 1,
			  "checkpoint forged under the identity log key accepted");
		bl_note_free(&note);

		/* cosignature/v1: key ID, 8-byte timestamp, signature */
		vk.alg = BL_NOTE_ALG_COSIG_V1;
		bl_note_key_id(vk.name, vk.alg, vk.pub, vk.key_id);
		memcpy(raw_sig, vk.key_id, 4);
		memset(raw_sig + 4, 0, 8);
		memcpy(raw_sig + 12, forged, 64);
		bl_base64_encode(raw_sig, sizeof(raw_sig), b64);
		snprintf(note_text, sizeof(note_text), "%s\n\xe2\x80\x94 %s %s\n", body, vk.name, b64);
		memset(&note, 0, sizeof(note));
		check(bl_note_parse(note_text, strlen(note_text), &note) == 0 &&
			  bl_cosig_verify(&note, vk.name, vk.pub, &ts) != 1,
			  "cosignature forged under the identity witness key accepted");
		bl_note_free(&note);
		free(body);
	}
}

/* ----------------------------------------------------------- notes */

static const char c2sp_vkey[] =
"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
static const char c2sp_note[] =
"This is an example message.\n\n"
"\xe2\x80\x94 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7"
"Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

static void
test_c2sp_example(void)
{
	bl_vkey		vk;
	bl_note		note;
	char	   *again;

	section = "c2sp signed-note example";
	check(bl_vkey_parse(c2sp_vkey, strlen(c2sp_vkey), &vk) == 0 &&
		  vk.alg == BL_NOTE_ALG_ED25519 && strcmp(vk.name, "example.com/foo") == 0,
		  "parse example vkey");
	again = bl_vkey_format(vk.name, vk.alg, vk.pub);
	check(again && strcmp(again, c2sp_vkey) == 0, "format example vkey");
	free(again);
	check(bl_note_parse(c2sp_note, strlen(c2sp_note), &note) == 0 && note.nsigs == 1 &&
		  note.text_len == 28, "parse example note");
	check(bl_note_verify(&note, vk.name, vk.pub) == 1, "verify example note");
	check(bl_note_verify(&note, "example.com/bar", vk.pub) == 0, "other name ignored");
	bl_note_free(&note);
}

static void
test_vkeys(void)
{
	static const char *const bad[] = {
		"example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		"example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		"example.com/foo+530d903a0+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",
		"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k=",
		"example.com/foo+530d903a",
		"example.com/foo",
		"+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		"example.com/f o+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		"example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
	};
	bl_vkey		vk;
	uint8_t		pub[32] = {1, 2, 3};
	char	   *s;

	section = "vkeys";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check(bl_vkey_parse(bad[i], strlen(bad[i]), &vk) != 0, "accepted bad vkey %zu", i);
	s = bl_vkey_format("witness.example/w1", BL_NOTE_ALG_COSIG_V1, pub);
	check(s && bl_vkey_parse(s, strlen(s), &vk) == 0 && vk.alg == BL_NOTE_ALG_COSIG_V1 &&
		  memcmp(vk.pub, pub, 32) == 0, "cosigner vkey round trip");
	free(s);
	check(bl_vkey_format("bad name", 1, pub) == NULL, "name with space refused");
	check(bl_vkey_format("bad+name", 1, pub) == NULL, "name with plus refused");
	check(bl_vkey_format("x", 0x02, pub) == NULL, "unsupported algorithm refused");
	check(!bl_note_key_name_valid("a\xc2\xa0" "b", 4), "no-break space in name");
	check(!bl_note_key_name_valid("a\xe3\x80\x80" "b", 5), "ideographic space in name");
	check(bl_note_key_name_valid("caf\xc3\xa9.example", 13), "UTF-8 name allowed");
}

/* "a\nb\n..." of the given lines into buf. */
static const char *
join_lines(char *buf, size_t size, const char *const *lines, int n, const char *sep)
{
	buf[0] = '\0';
	for (int i = 0; i < n; i++)
	{
		strncat(buf, lines[i], size - strlen(buf) - 1);
		strncat(buf, sep, size - strlen(buf) - 1);
	}
	return buf;
}

/* Rotations of one log: the list of its keys, oldest first (bl_vkey_list_parse). */
static void
test_vkey_lists(void)
{
	void	   *priv[3];
	char	   *v[3];
	char	   *other;
	char	   *cosigner;
	uint8_t		pub[3][32];
	bl_vkey		out[4];
	bl_vkey_list_error err;
	char		buf[2048];
	const char *l;
	int			rc;

	section = "vkey lists";
	for (int i = 0; i < 3; i++)
	{
		priv[i] = bl_ed25519_generate();
		bl_ed25519_raw_public(priv[i], pub[i]);
		v[i] = bl_vkey_format("example.com/log", BL_NOTE_ALG_ED25519, pub[i]);
	}
	other = bl_vkey_format("example.com/other", BL_NOTE_ALG_ED25519, pub[1]);
	cosigner = bl_vkey_format("example.com/log", BL_NOTE_ALG_COSIG_V1, pub[1]);

	/* one key, with or without its newline */
	check(bl_vkey_list_parse(v[0], strlen(v[0]), out, 4, &err) == 1 && err.rule == BL_VKEY_LIST_OK &&
		  memcmp(out[0].pub, pub[0], 32) == 0 && strcmp(out[0].name, "example.com/log") == 0,
		  "one key without a newline");
	l = join_lines(buf, sizeof(buf), (const char *const[]) {v[0], v[1], v[2]}, 3, "\n");
	check(bl_vkey_list_parse(l, strlen(l), out, 4, &err) == 3 && memcmp(out[0].pub, pub[0], 32) == 0 &&
		  memcmp(out[1].pub, pub[1], 32) == 0 && memcmp(out[2].pub, pub[2], 32) == 0,
		  "three keys, oldest first, in order");
	/* CRLF: the CR is not part of the key */
	l = join_lines(buf, sizeof(buf), (const char *const[]) {v[0], v[1]}, 2, "\r\n");
	check(bl_vkey_list_parse(l, strlen(l), out, 4, &err) == 2 && memcmp(out[1].pub, pub[1], 32) == 0,
		  "CRLF line ends");
	/* blank lines (and CR-only ones) are skipped, and not counted as keys */
	snprintf(buf, sizeof(buf), "\n\r\n%s\n\n\r\n%s", v[0], v[1]);
	check(bl_vkey_list_parse(buf, strlen(buf), out, 4, &err) == 2 && memcmp(out[1].pub, pub[1], 32) == 0,
		  "blank lines skipped");
	check(bl_vkey_list_line(buf, strlen(buf), 1) == 3 && bl_vkey_list_line(buf, strlen(buf), 2) == 6,
		  "line of a key counts the blank lines");
	/* a CR elsewhere than at the end of a line is not stripped */
	snprintf(buf, sizeof(buf), "%s\r\r\n", v[0]);
	check(bl_vkey_list_parse(buf, strlen(buf), out, 4, &err) == -1 && err.rule == BL_VKEY_LIST_BAD_KEY,
		  "only one trailing CR is stripped");

	/* too many: the key past max is reported, before it is parsed */
	l = join_lines(buf, sizeof(buf), (const char *const[]) {v[0], v[1], "not a key"}, 3, "\n");
	rc = bl_vkey_list_parse(l, strlen(l), out, 2, &err);
	check(rc == -1 && err.rule == BL_VKEY_LIST_TOO_MANY &&
		  err.key == 3 && err.line == 3, "too many keys: %d key %d line %d", err.rule, err.key, err.line);
	l = join_lines(buf, sizeof(buf), (const char *const[]) {v[0], v[1]}, 2, "\n");
	check(bl_vkey_list_parse(l, strlen(l), out, 2, &err) == 2, "exactly max keys");

	/* a bad line: its key number and its line number */
	snprintf(buf, sizeof(buf), "%s\n\nnot a key\n%s\n", v[0], v[1]);
	rc = bl_vkey_list_parse(buf, strlen(buf), out, 4, &err);
	check(rc == -1 && err.rule == BL_VKEY_LIST_BAD_KEY &&
		  err.key == 2 && err.line == 3, "bad line: %d key %d line %d", err.rule, err.key, err.line);
	l = join_lines(buf, sizeof(buf), (const char *const[]) {v[0], cosigner}, 2, "\n");
	check(bl_vkey_list_parse(l, strlen(l), out, 4, &err) == -1 && err.rule == BL_VKEY_LIST_BAD_KEY &&
		  err.key == 2, "a cosignature/v1 key is not a log key");
	snprintf(buf, sizeof(buf), " %s\n", v[0]);
	check(bl_vkey_list_parse(buf, strlen(buf), out, 4, &err) == -1 && err.rule == BL_VKEY_LIST_BAD_KEY &&
		  err.key == 1 && err.line == 1, "a line with a leading space");

	/* a key listed twice, even after a newer one, even with a CR */
	l = join_lines(buf, sizeof(buf), (const char *const[]) {v[0], v[1], v[0]}, 3, "\n");
	rc = bl_vkey_list_parse(l, strlen(l), out, 4, &err);
	check(rc == -1 && err.rule == BL_VKEY_LIST_DUPLICATE &&
		  err.key == 3 && err.line == 3 && err.first_key == 1 && err.first_line == 1 &&
		  memcmp(out[2].pub, pub[0], 32) == 0,
		  "duplicate: %d key %d line %d first %d/%d", err.rule, err.key, err.line, err.first_key, err.first_line);
	snprintf(buf, sizeof(buf), "%s\n\n%s\n%s\r\n", v[0], v[1], v[1]);
	rc = bl_vkey_list_parse(buf, strlen(buf), out, 4, &err);
	check(rc == -1 && err.rule == BL_VKEY_LIST_DUPLICATE &&
		  err.key == 3 && err.line == 4 && err.first_key == 2 && err.first_line == 3,
		  "duplicate after a blank line: %d key %d line %d first %d/%d",
		  err.rule, err.key, err.line, err.first_key, err.first_line);

	/* keys of two names: two logs (the same public key under another name too) */
	l = join_lines(buf, sizeof(buf), (const char *const[]) {v[0], v[1], other}, 3, "\n");
	rc = bl_vkey_list_parse(l, strlen(l), out, 4, &err);
	check(rc == -1 && err.rule == BL_VKEY_LIST_TWO_NAMES &&
		  err.key == 3 && err.line == 3 && err.first_key == 1 && err.first_line == 1 &&
		  strcmp(out[2].name, "example.com/other") == 0,
		  "two names: %d key %d line %d", err.rule, err.key, err.line);
	l = join_lines(buf, sizeof(buf), (const char *const[]) {other, v[1]}, 2, "\n");
	check(bl_vkey_list_parse(l, strlen(l), out, 4, &err) == -1 && err.rule == BL_VKEY_LIST_TWO_NAMES &&
		  err.key == 2, "one public key under two names");

	/* empty */
	check(bl_vkey_list_parse("", 0, out, 4, &err) == -1 && err.rule == BL_VKEY_LIST_EMPTY &&
		  err.key == 0 && err.line == 0, "empty list");
	check(bl_vkey_list_parse("\n\r\n\n", 4, out, 4, &err) == -1 && err.rule == BL_VKEY_LIST_EMPTY,
		  "blank lines only");
	check(bl_vkey_list_parse("", 0, out, 4, NULL) == -1, "no error wanted");
	/* the length is the list's end, not a NUL */
	l = join_lines(buf, sizeof(buf), (const char *const[]) {v[0], "not a key"}, 2, "\n");
	check(bl_vkey_list_parse(l, strlen(v[0]) + 1, out, 4, &err) == 1, "length bounds the list");

	for (int i = 0; i < 3; i++)
	{
		free(v[i]);
		bl_ed25519_priv_free(priv[i]);
	}
	free(other);
	free(cosigner);
}

/* The era rule: the newest key from the era on that verifies the note. */
static void
test_newest_signer(void)
{
	void	   *priv[4];
	bl_vkey		keys[4];
	uint8_t		root[32];
	char	   *body;
	char	   *by0;
	char	   *by02;
	char	   *by1;
	char	   *byx;
	char	   *both;
	bl_note		n;

	section = "era rule";
	for (int i = 0; i < 4; i++)
	{
		char	   *v;

		priv[i] = bl_ed25519_generate();
		bl_ed25519_raw_public(priv[i], keys[i].pub);
		v = bl_vkey_format("example.com/log", BL_NOTE_ALG_ED25519, keys[i].pub);
		bl_vkey_parse(v, strlen(v), &keys[i]);
		free(v);
	}
	memset(root, 9, 32);
	body = bl_checkpoint_body("example.com/log", 5, root, NULL, 0);
	by0 = bl_note_sign(body, strlen(body), "example.com/log", priv[0]);
	by1 = bl_note_sign(body, strlen(body), "example.com/log", priv[1]);
	byx = bl_note_sign(body, strlen(body), "example.com/log", priv[3]);	/* not listed */
	/* a handover: the old and the new key sign one note */
	by02 = bl_note_sign(body, strlen(body), "example.com/log", priv[2]);
	both = malloc(strlen(by0) + strlen(by02) + 1);
	sprintf(both, "%s%s", by0, strstr(by02, "\xe2\x80\x94"));

	check(bl_note_parse(both, strlen(both), &n) == 0 && n.nsigs == 2, "parse the handover note");
	check(bl_note_newest_signer(&n, keys, 3, 0) == 2, "picks the newest of two signers");
	check(bl_note_newest_signer(&n, keys, 3, 2) == 2, "the newest at the era");
	check(bl_note_newest_signer(&n, keys, 2, 0) == 0, "key 3 not listed: key 1 signed");
	check(bl_note_newest_signer(&n, keys, 2, 1) == -1, "key 1 is before the era");
	check(bl_note_newest_signer(&n, keys, 3, -5) == 2, "an era below 0 counts as 0");
	check(bl_note_newest_signer(&n, keys, 0, 0) == -1, "no keys");
	bl_note_free(&n);

	check(bl_note_parse(by1, strlen(by1), &n) == 0, "parse a note by key 2");
	check(bl_note_newest_signer(&n, keys, 3, 0) == 1, "key 2 of 3");
	check(bl_note_newest_signer(&n, keys, 3, 1) == 1, "key 2 at its own era");
	check(bl_note_newest_signer(&n, keys, 3, 2) == -1, "key 2 after key 3's era: none");
	check(bl_note_newest_signer(&n, keys, 3, 3) == -1, "an era past the keys: none");
	bl_note_free(&n);

	check(bl_note_parse(byx, strlen(byx), &n) == 0, "parse a note by an unlisted key");
	check(bl_note_newest_signer(&n, keys, 3, 0) == -1, "no listed key signed: none");
	check(bl_note_newest_signer(&n, keys, 4, 0) == 3, "listed: found");
	bl_note_free(&n);

	/*
	 * a note by key 1 carrying a forged line for key 3 (its name and key
	 * ID, a signature that does not verify): rejected, not taken as key 1's
	 */
	{
		char	   *forged = malloc(strlen(by0) + strlen(by02) + 1);
		size_t		l;

		sprintf(forged, "%s%s", by0, strstr(by02, "\xe2\x80\x94"));
		/* a base64 digit near the end of the last line: the signature, not the key ID */
		l = strlen(forged);
		forged[l - 6] = forged[l - 6] == 'A' ? 'B' : 'A';
		check(bl_note_parse(forged, strlen(forged), &n) == 0 && n.nsigs == 2, "parse the note with a forged line");
		check(bl_note_newest_signer(&n, keys, 3, 0) == -1, "a forged line of a listed key rejects the note");
		check(bl_note_newest_signer(&n, keys, 2, 0) == 0, "  a line of an unlisted key is ignored");
		bl_note_free(&n);
		free(forged);
	}

	/* the name counts: the same public key under another name does not verify */
	strcpy(keys[1].name, "example.com/other");
	check(bl_note_parse(by1, strlen(by1), &n) == 0 && bl_note_newest_signer(&n, keys, 3, 0) == -1,
		  "another name: none");
	bl_note_free(&n);

	free(both);
	free(by02);
	free(byx);
	free(by1);
	free(by0);
	free(body);
	for (int i = 0; i < 4; i++)
		bl_ed25519_priv_free(priv[i]);
}

#define Z32 "AAAAAAAAAA" "AAAAAAAAAA" "AAAAAAAAAA" "AAAAAAAAAA" "AAA="	/* 32 zero bytes */
#define Z31 "AAAAAAAAAA" "AAAAAAAAAA" "AAAAAAAAAA" "AAAAAAAAAA" "AA=="	/* 31 */

static void
test_checkpoint_format(void)
{
	static const char *const bad[] = {
		"", "o\n", "o\n1\n", "o\n01\n" Z32 "\n", "\n1\n" Z32 "\n",
		"o\n1\n" Z31 "\n", "o\n1\n" Z32 "\n\n", "o\n1\n" Z32,
		"o\n18446744073709551616\n" Z32 "\n", "o\r\n1\n" Z32 "\n",
		"o\n1\n" Z32 "\next\n\n", "o\n-1\n" Z32 "\n", "o\n1\n" Z32 "\n\next\n",
	};
	const char *ext[2] = {"ext one", "two"};
	uint8_t		root[32];
	char	   *body;
	bl_checkpoint cp;

	section = "checkpoint format";
	memset(root, 0xab, 32);
	body = bl_checkpoint_body("example.com/log", 20852163, root, ext, 2);
	check(bl_checkpoint_parse("o\n0\n" Z32 "\n", 4 + 45, &cp) == 0 && cp.size == 0 &&
		  cp.ext == NULL, "minimal checkpoint");
	check(body && strcmp(body, "example.com/log\n20852163\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n"
						 "ext one\ntwo\n") == 0, "body text");
	check(body && bl_checkpoint_parse(body, strlen(body), &cp) == 0 &&
		  cp.origin_len == 15 && memcmp(cp.origin, "example.com/log", 15) == 0 &&
		  cp.size == 20852163 && memcmp(cp.root, root, 32) == 0 &&
		  cp.ext_len == 12, "parse body");
	free(body);
	check(bl_checkpoint_body("", 1, root, NULL, 0) == NULL, "empty origin refused");
	check(bl_checkpoint_body("a\nb", 1, root, NULL, 0) == NULL, "newline in origin refused");
	ext[1] = "";
	check(bl_checkpoint_body("o", 1, root, ext, 2) == NULL, "empty extension refused");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check(bl_checkpoint_parse(bad[i], strlen(bad[i]), &cp) != 0,
			  "accepted bad checkpoint %zu", i);
}

/*
 * Count the one-byte changes of a signed note that still verify: the log's
 * signature and, if wit_name is given, the witness's cosignature.
 */
static int
tamper_all_bytes(const char *note, const char *log_name, const uint8_t log_pub[32],
				 const char *wit_name, const uint8_t wit_pub[32])
{
	size_t		len = strlen(note);
	char	   *copy = malloc(len + 1);
	int			accepted = 0;
	static const uint8_t flips[] = {0x01, 0x20, 0x80};

	for (size_t i = 0; i < len; i++)
		for (size_t f = 0; f < sizeof(flips); f++)
		{
			bl_note		n;

			memcpy(copy, note, len + 1);
			copy[i] ^= flips[f];
			accepted += bl_note_parse(copy, len, &n) == 0 &&
				bl_note_verify(&n, log_name, log_pub) == 1 &&
				(!wit_name || bl_cosig_verify(&n, wit_name, wit_pub, NULL) == 1);
			bl_note_free(&n);
		}
	free(copy);
	return accepted;
}

#define MINIMAL "t\n\n\xe2\x80\x94 k AAAAAAAA\n"
#define BLANKS "a\n\nb\n\n\xe2\x80\x94 k AAAAAAAA\n"

static void
test_note_rejects(void)
{
	static const char *const bad[] = {
		"text\n",				/* no signatures */
		"text\n\n",				/* blank line but no signatures */
		"text\n\n\xe2\x80\x94 k AAAAAA==\n",	/* key ID but no signature */
		"text\n\n\xe2\x80\x94 k AAAAAAAA\n\n",	/* trailing blank line */
		"text\n\n- k AAAAAAAA\n",	/* ASCII dash */
		"text\n\n\xe2\x80\x94 k+x AAAAAAAA\n",	/* plus in name */
		"text\n\n\xe2\x80\x94  AAAAAAAA\n",	/* empty name */
		"text\n\n\xe2\x80\x94 k AAAAAAAA",	/* no final newline */
		"text\n\n\xe2\x80\x94 k AAAA AAAA\n",	/* space in signature */
		"te\txt\n\n\xe2\x80\x94 k AAAAAAAA\n",	/* control character */
		"te\xc0\xafxt\n\n\xe2\x80\x94 k AAAAAAAA\n",	/* overlong UTF-8 */
		"te\xed\xa0\x80xt\n\n\xe2\x80\x94 k AAAAAAAA\n",	/* surrogate */
	};
	bl_note		n;
	char	   *many;
	size_t		pos;

	section = "note format";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		check(bl_note_parse(bad[i], strlen(bad[i]), &n) != 0, "accepted bad note %zu", i);
		bl_note_free(&n);
	}
	check(bl_note_parse(MINIMAL, strlen(MINIMAL), &n) == 0 && n.nsigs == 1 &&
		  n.sigs[0].sig_len == 2, "minimal note parses");
	bl_note_free(&n);
	/* The text may contain blank lines: the last one separates. */
	check(bl_note_parse(BLANKS, strlen(BLANKS), &n) == 0 &&
		  n.text_len == 5, "blank line inside text");
	bl_note_free(&n);
	/* Up to BL_NOTE_MAX_SIGS lines, not more. */
	many = malloc(3 + 20 * (BL_NOTE_MAX_SIGS + 1));
	pos = (size_t) sprintf(many, "t\n\n");
	for (int i = 0; i < BL_NOTE_MAX_SIGS; i++)
		pos += (size_t) sprintf(many + pos, "\xe2\x80\x94 k%d AAAAAAAA\n", i % 10);
	check(bl_note_parse(many, pos, &n) == 0 && n.nsigs == BL_NOTE_MAX_SIGS, "max signatures");
	bl_note_free(&n);
	pos += (size_t) sprintf(many + pos, "\xe2\x80\x94 k AAAAAAAA\n");
	check(bl_note_parse(many, pos, &n) != 0, "too many signatures");
	bl_note_free(&n);
	free(many);
}

static void
test_notes(void)
{
	void	   *log = bl_ed25519_generate();
	void	   *other = bl_ed25519_generate();
	uint8_t		pub[32];
	uint8_t		opub[32];
	uint8_t		root[32];
	char	   *body;
	char	   *note;
	char	   *forged;
	char	   *mixed;
	uint8_t		blob[68];
	char		b64[96];
	bl_note		n;

	section = "signed notes";
	bl_ed25519_raw_public(log, pub);
	bl_ed25519_raw_public(other, opub);
	memset(root, 7, 32);
	body = bl_checkpoint_body("example.com/log", 42, root, NULL, 0);
	note = bl_note_sign(body, strlen(body), "example.com/log", log);
	check(note && bl_note_parse(note, strlen(note), &n) == 0 && n.nsigs == 1 &&
		  n.text_len == strlen(body) && memcmp(n.text, body, n.text_len) == 0,
		  "sign and parse");
	check(bl_note_verify(&n, "example.com/log", pub) == 1, "verify");
	check(bl_note_verify(&n, "example.com/log", opub) == 0, "other key");
	check(bl_note_verify(&n, "example.com/other", pub) == 0, "other name");
	bl_note_free(&n);
	check(tamper_all_bytes(note, "example.com/log", pub, NULL, NULL) == 0,
		  "single-byte changes accepted");
	check(bl_note_sign("no newline", 10, "k", log) == NULL, "text must end in newline");
	check(bl_note_sign("a\n", 2, "bad name", log) == NULL, "bad key name refused");

	/* Another key under the same name has another key ID: both verify. */
	forged = bl_note_sign(body, strlen(body), "example.com/log", other);
	mixed = malloc(strlen(note) + strlen(forged) + 1);
	sprintf(mixed, "%s%s", note, strstr(forged, "\xe2\x80\x94"));
	check(bl_note_parse(mixed, strlen(mixed), &n) == 0 && n.nsigs == 2 &&
		  bl_note_verify(&n, "example.com/log", pub) == 1 &&
		  bl_note_verify(&n, "example.com/log", opub) == 1,
		  "two keys under one name");
	bl_note_free(&n);
	/* A bad line under the known (name, key ID) rejects the note, even
	 * next to a good one: graft the other key's signature onto our key ID. */
	bl_note_parse(forged, strlen(forged), &n);
	bl_note_key_id("example.com/log", BL_NOTE_ALG_ED25519, pub, blob);
	memcpy(blob + 4, n.sigs[0].sig, 64);
	bl_note_free(&n);
	bl_base64_encode(blob, sizeof(blob), b64);
	sprintf(mixed, "%s\xe2\x80\x94 example.com/log %s\n", note, b64);
	check(bl_note_parse(mixed, strlen(mixed), &n) == 0 && n.nsigs == 2 &&
		  bl_note_verify(&n, "example.com/log", pub) == 0,
		  "bad signature under a known key ID accepted");
	bl_note_free(&n);
	free(mixed);
	free(forged);
	free(note);
	free(body);
	bl_ed25519_priv_free(log);
	bl_ed25519_priv_free(other);
}

static void
test_cosignatures(void)
{
	void	   *log = bl_ed25519_generate();
	void	   *wit = bl_ed25519_generate();
	uint8_t		lpub[32];
	uint8_t		wpub[32];
	uint8_t		root[32] = {0};
	char	   *body;
	char	   *note;
	char	   *cosigned;
	uint8_t    *msg;
	size_t		msg_len;
	uint64_t	t = 0;
	bl_note		n;

	section = "cosignatures";
	bl_ed25519_raw_public(log, lpub);
	bl_ed25519_raw_public(wit, wpub);
	msg = bl_cosig_message("o\n1\nR\n", 6, 1679315147, &msg_len);
	check(msg && msg_len == 37 &&
		  memcmp(msg, "cosignature/v1\ntime 1679315147\no\n1\nR\n", 37) == 0,
		  "signed message layout");
	free(msg);
	check(bl_cosig_message("o\n", 2, (uint64_t) INT64_MAX + 1, &msg_len) == NULL,
		  "timestamp above 2^63-1 refused");

	body = bl_checkpoint_body("example.com/log", 3, root, NULL, 0);
	note = bl_note_sign(body, strlen(body), "example.com/log", log);
	cosigned = bl_note_cosign(note, strlen(note), "witness.example/w1", wit, 1679315147);
	check(cosigned && strncmp(cosigned, note, strlen(note)) == 0, "cosign appends a line");
	check(cosigned && bl_note_parse(cosigned, strlen(cosigned), &n) == 0 && n.nsigs == 2 &&
		  n.sigs[1].sig_len == 72, "parse cosigned note");
	check(bl_cosig_verify(&n, "witness.example/w1", wpub, &t) == 1 && t == 1679315147,
		  "verify cosignature and timestamp");
	check(bl_note_verify(&n, "example.com/log", lpub) == 1, "log signature still verifies");
	check(bl_cosig_verify(&n, "witness.example/w1", lpub, NULL) == 0, "wrong witness key");
	/* Ed25519 note verification must not accept the cosignature (key ID 0x04 != 0x01). */
	check(bl_note_verify(&n, "witness.example/w1", wpub) == 0, "cosignature is not a note signature");
	bl_note_free(&n);
	check(tamper_all_bytes(cosigned, "example.com/log", lpub, "witness.example/w1", wpub) == 0,
		  "single-byte changes accepted");
	check(bl_note_cosign("not a note\n", 11, "w", wit, 1) == NULL, "cosign needs a note");
	free(cosigned);
	free(note);
	free(body);
	bl_ed25519_priv_free(log);
	bl_ed25519_priv_free(wit);
}

/* -------------------------------------------------------- tlog-proof */

typedef struct fixture
{
	void	   *log;
	void	   *wit;
	bl_vkey		log_vk;
	bl_vkey		wit_vk;
	char	   *cp_small;		/* signed checkpoint at size 7 */
	char	   *cp_big;			/* signed + cosigned checkpoint at size 13 */
	char	   *bundle;			/* tlog-proof of leaf 5 at size 13 */
	uint8_t		cons[BL_MERKLE_MAX_PROOF][32];	/* 7 -> 13 */
	size_t		ncons;
} fixture;

static char *
signed_checkpoint(void *log, uint64_t size, void *wit)
{
	uint8_t		root[32];
	char	   *body;
	char	   *note;
	char	   *co;

	naive_mth(0, size, root);
	body = bl_checkpoint_body("example.com/log", size, root, NULL, 0);
	note = bl_note_sign(body, strlen(body), "example.com/log", log);
	free(body);
	if (!wit)
		return note;
	co = bl_note_cosign(note, strlen(note), "witness.example", wit, 1700000000);
	free(note);
	return co;
}

static void
make_fixture(fixture *f)
{
	uint8_t		pub[32];
	uint8_t		p[BL_MERKLE_MAX_PROOF][32];
	size_t		np;
	store		s = {.size = 13};
	char	   *vk;

	f->log = bl_ed25519_generate();
	f->wit = bl_ed25519_generate();
	bl_ed25519_raw_public(f->log, pub);
	vk = bl_vkey_format("example.com/log", BL_NOTE_ALG_ED25519, pub);
	bl_vkey_parse(vk, strlen(vk), &f->log_vk);
	free(vk);
	bl_ed25519_raw_public(f->wit, pub);
	vk = bl_vkey_format("witness.example", BL_NOTE_ALG_COSIG_V1, pub);
	bl_vkey_parse(vk, strlen(vk), &f->wit_vk);
	free(vk);
	f->cp_small = signed_checkpoint(f->log, 7, NULL);
	f->cp_big = signed_checkpoint(f->log, 13, f->wit);
	bl_merkle_inclusion_proof(5, 13, get_node, &s, p, &np);
	f->bundle = bl_tlog_proof_format(5, (const uint8_t (*)[32]) p, np, NULL, 0,
									 f->cp_big, strlen(f->cp_big));
	bl_merkle_consistency_proof(7, 13, get_node, &s, f->cons, &f->ncons);
}

static void
free_fixture(fixture *f)
{
	bl_ed25519_priv_free(f->log);
	bl_ed25519_priv_free(f->wit);
	free(f->cp_small);
	free(f->cp_big);
	free(f->bundle);
}

static int
proof_ok(const char *buf, const fixture *f, int nw, const uint8_t *leaf,
		 const char **why)
{
	bl_tlog_proof p;
	bl_note		n;
	bl_checkpoint cp;
	int			ok = bl_tlog_proof_verify(buf, strlen(buf), &f->log_vk, NULL,
										  &f->wit_vk, nw, leaf, &p, &n, &cp, why);

	bl_note_free(&n);
	return ok;
}

static void
test_tlog_proof(fixture *f)
{
	static const char *const bad[] = {
		"c2sp.org/tlog-proof@v2\nindex 1\n\nx\n",
		"c2sp.org/tlog-proof@v1\nindex 01\n\nx\n",
		"c2sp.org/tlog-proof@v1\nextra \nindex 1\n\nx\n",
		"c2sp.org/tlog-proof@v1\nextra Zg=\nindex 1\n\nx\n",
		"c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx\n",
		"c2sp.org/tlog-proof@v1\nindex 1\n",
		"c2sp.org/tlog-proof@v1\nindex 1\n\n",
		"c2sp.org/tlog-proof@v1\nIndex 1\n\nx\n",
		"c2sp.org/tlog-proof@v1\nindex  1\n\nx\n",
	};
	const uint8_t extra[] = "context";
	bl_tlog_proof p;
	const char *why = "";
	char	   *b;
	char	   *copy;
	int			accepted = 0;

	section = "tlog-proof";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check(bl_tlog_proof_parse(bad[i], strlen(bad[i]), &p) != 0, "accepted bad bundle %zu", i);
	b = bl_tlog_proof_format(3, (const uint8_t (*)[32]) leaves, 2, extra, 7, "n\n", 2);
	check(b && strncmp(b, "c2sp.org/tlog-proof@v1\nextra Y29udGV4dA==\nindex 3\n", 50) == 0 &&
		  bl_tlog_proof_parse(b, strlen(b), &p) == 0 && p.index == 3 && p.n == 2 &&
		  memcmp(p.proof, leaves, 64) == 0 && p.extra_len == 12 &&
		  p.note_len == 2 && memcmp(p.note, "n\n", 2) == 0, "format/parse with extra");
	free(b);

	check(proof_ok(f->bundle, f, 1, leaves[5], &why) == 1, "bundle verifies (%s)", why);
	check(proof_ok(f->bundle, f, 0, leaves[5], &why) == 1, "bundle verifies without witness policy");
	check(!proof_ok(f->bundle, f, 1, leaves[6], &why), "wrong leaf accepted");
	copy = strdup(f->bundle);
	copy[strlen("c2sp.org/tlog-proof@v1\nindex ")] = '6';
	check(!proof_ok(copy, f, 0, leaves[5], &why), "wrong index accepted");
	free(copy);
	/* Any single-byte change (proof, index or checkpoint) is rejected. */
	copy = strdup(f->bundle);
	for (size_t i = 0; i < strlen(copy); i++)
	{
		copy[i] ^= 0x01;
		accepted += proof_ok(copy, f, 1, leaves[5], &why);
		copy[i] ^= 0x01;
	}
	check(accepted == 0, "%d single-byte changes of the bundle accepted", accepted);
	free(copy);
	/* A checkpoint without the witness fails a policy that requires it. */
	{
		store		s = {.size = 7};
		uint8_t		pp[BL_MERKLE_MAX_PROOF][32];
		size_t		np;

		bl_merkle_inclusion_proof(2, 7, get_node, &s, pp, &np);
		b = bl_tlog_proof_format(2, (const uint8_t (*)[32]) pp, np, NULL, 0,
								 f->cp_small, strlen(f->cp_small));
		check(proof_ok(b, f, 0, leaves[2], &why) == 1, "uncosigned bundle, no policy");
		check(!proof_ok(b, f, 1, leaves[2], &why), "missing witness accepted");
		free(b);
	}
}

/* --------------------------------------------------------------- batch */

static void
test_batch(void)
{
	uint8_t		content[3][32];
	uint8_t		root[32];
	uint8_t		want[32];
	uint8_t		l[3][32];
	uint8_t		a[32];
	uint8_t		out[128];
	size_t		len = bl_batch_manifest_len(2);

	section = "batch manifest";
	for (int i = 0; i < 3; i++)
	{
		memset(content[i], i + 1, 32);
		naive_hash(0x00, content[i], 32, NULL, 0, l[i]);
	}
	naive_hash(0x01, l[0], 32, l[1], 32, a);
	naive_hash(0x01, a, 32, l[2], 32, want);
	check(bl_batch_root((const uint8_t (*)[32]) content, 3, root) == 0 &&
		  memcmp(root, want, 32) == 0, "root of 3 content hashes");
	bl_batch_manifest("b1", 2, 3, root, out);
	check(len == 20 + 2 + 1 + 8 + 32 &&
		  memcmp(out, "battledger batch v1\nb1\n\0\0\0\0\0\0\0\3", 31) == 0 &&
		  memcmp(out + 31, root, 32) == 0, "manifest layout");
}

/* ------------------------------------------------------------ fixtures */

static int
write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
	{
		fprintf(stderr, "could not write %s\n", path);
		return -1;
	}
	return 0;
}

static int
write_str(const char *dir, const char *name, const char *s)
{
	return write_file(dir, name, s, strlen(s));
}

/* Files for the CLI tests: keys, checkpoints, a bundle and a proof. */
static int
write_fixtures(const char *dir, const fixture *f)
{
	char	   *pem = bl_ed25519_priv_to_pem(f->log);
	char	   *vk = bl_vkey_format(f->log_vk.name, f->log_vk.alg, f->log_vk.pub);
	char	   *wvk = bl_vkey_format(f->wit_vk.name, f->wit_vk.alg, f->wit_vk.pub);
	char		lines[BL_MERKLE_MAX_PROOF * 46 + 1] = "";
	char		leaf[8];
	int			rc = 0;

	for (size_t i = 0; i < f->ncons; i++)
	{
		bl_base64_encode(f->cons[i], 32, lines + strlen(lines));
		strcat(lines, "\n");
	}
	for (int b = 0; b < 8; b++)
		leaf[b] = (char) ((uint64_t) 5 >> (8 * b));
	rc |= write_str(dir, "log.key", pem);
	rc |= write_str(dir, "log.vkey", vk);
	rc |= write_str(dir, "witness.vkey", wvk);
	rc |= write_str(dir, "small.checkpoint", f->cp_small);
	rc |= write_str(dir, "big.checkpoint", f->cp_big);
	rc |= write_str(dir, "leaf5.tlog-proof", f->bundle);
	rc |= write_str(dir, "7-13.proof", lines);
	rc |= write_file(dir, "leaf5.bin", leaf, 8);
	free(pem);
	free(vk);
	free(wvk);
	return rc;
}

int
main(int argc, char **argv)
{
	fixture		f;

	build_model();
	test_known_answers();
	test_proofs();
	test_compact();
	test_base64();
	test_decimal();
	test_ed25519();
	test_weak_keys();
	test_c2sp_example();
	test_vkeys();
	test_checkpoint_format();
	test_note_rejects();
	test_notes();
	test_vkey_lists();
	test_newest_signer();
	test_cosignatures();
	make_fixture(&f);
	test_tlog_proof(&f);
	test_batch();
	if (argc == 3 && strcmp(argv[1], "--fixtures") == 0 &&
		write_fixtures(argv[2], &f) != 0)
		n_fail++;
	free_fixture(&f);
	printf("test_crypto: %d checks passed, %d failed\n", n_pass, n_fail);
	return n_fail == 0 ? 0 : 1;
}
