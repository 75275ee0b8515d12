/*
 * fuzz_merkle — the RFC 9162 proof verifiers the CLI runs on proof files,
 * and the shape code behind the log's proof generation, on any sizes.
 *
 * Input: 1 byte t, u64 a, u64 b (little-endian), root1, root2, leaf hash
 * (32 bytes each), then proof hashes (the rest, 32 bytes each).
 *   - both verifiers on (a, b, roots, leaf, proof): must not misbehave;
 *   - node listings and generators for (a, b) with a stand-in node store:
 *     every node asked for must be a complete subtree of the tree;
 *   - a real tree of t % 65 leaves ("leaf 0", ...), built with the compact
 *     range: its root, generated inclusion and consistency proofs must
 *     verify, whatever a picks as the index and old size.
 */
#include "fuzz.h"

#define HDR (1 + 8 + 8 + 3 * 32)
#define MAX_HASHES 130			/* past BL_MERKLE_MAX_PROOF: overlong proofs too */

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t	v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* A perfect subtree (level, index) lies inside a tree of `size` leaves. */
static int
node_inside(int level, uint64_t index, uint64_t size)
{
	return level >= 0 && level < 64 && index < (size >> level);
}

/* Stand-in store: any node inside the tree, as bytes that name it. */
static int
fake_node(void *ctx, int level, uint64_t index, uint8_t out[32])
{
	uint64_t	size = *(const uint64_t *) ctx;

	FUZZ_CHECK(node_inside(level, index, size));
	memset(out, 0, 32);
	out[0] = (uint8_t) level;
	memcpy(out + 1, &index, 8);
	return 0;
}

static void
check_shapes(uint64_t a, uint64_t b)
{
	int			levels[BL_MERKLE_MAX_NODES];
	uint64_t	idx[BL_MERKLE_MAX_NODES];
	size_t		n;
	uint8_t		out[BL_MERKLE_MAX_PROOF][32];
	uint8_t		root[32];
	bl_compact	c;

	if (bl_merkle_root_nodes(b, levels, idx, &n) == 0)
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(node_inside(levels[i], idx[i], b));
	if (bl_merkle_inclusion_nodes(a, b, levels, idx, &n) == 0)
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(node_inside(levels[i], idx[i], b));
	if (bl_merkle_consistency_nodes(a, b, levels, idx, &n) == 0)
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(node_inside(levels[i], idx[i], b));
	FUZZ_CHECK(bl_merkle_root(b, fake_node, &b, root) == 0);
	if (bl_merkle_inclusion_proof(a, b, fake_node, &b, out, &n) == 0)
		FUZZ_CHECK(a < b && n <= BL_MERKLE_MAX_PROOF);
	if (bl_merkle_consistency_proof(a, b, fake_node, &b, out, &n) == 0)
		FUZZ_CHECK(a > 0 && a <= b && n <= BL_MERKLE_MAX_PROOF);
	FUZZ_CHECK(bl_compact_from_nodes(&c, b, fake_node, &b) == 0 && c.size == b);
	FUZZ_CHECK(bl_compact_root(&c, root) == 0);
}

/* The real tree's perfect subtrees, as the compact range emits them. */
typedef struct tree
{
	uint64_t	size;
	uint8_t		node[7][64][32];	/* up to 64 leaves: levels 0..6 */
	int			have[7][64];
} tree;

static void
emit_node(void *ctx, int level, uint64_t index, const uint8_t hash[32])
{
	tree	   *t = ctx;

	FUZZ_CHECK(level >= 0 && level < 7 && index < 64 && !t->have[level][index]);
	memcpy(t->node[level][index], hash, 32);
	t->have[level][index] = 1;
}

static int
real_node(void *ctx, int level, uint64_t index, uint8_t out[32])
{
	tree	   *t = ctx;

	FUZZ_CHECK(node_inside(level, index, t->size) && t->have[level][index]);
	memcpy(out, t->node[level][index], 32);
	return 0;
}

static void
check_real_tree(uint64_t size, uint64_t a)
{
	static tree t;
	bl_compact	c;
	uint8_t		root[32];
	uint8_t		root2[32];
	uint8_t		leaf[32];
	uint8_t		proof[BL_MERKLE_MAX_PROOF][32];
	size_t		n;

	memset(&t, 0, sizeof(t));
	bl_compact_init(&c);
	for (uint64_t i = 0; i < size; i++)
	{
		fuzz_leaf_hash(i, leaf);
		FUZZ_CHECK(bl_compact_append(&c, leaf, emit_node, &t) == 0);
	}
	t.size = size;
	FUZZ_CHECK(bl_compact_root(&c, root) == 0);
	FUZZ_CHECK(bl_merkle_root(size, real_node, &t, root2) == 0 && memcmp(root, root2, 32) == 0);
	FUZZ_CHECK(bl_compact_from_nodes(&c, size, real_node, &t) == 0);
	FUZZ_CHECK(bl_compact_root(&c, root2) == 0 && memcmp(root, root2, 32) == 0);
	if (size == 0)
		return;
	/* inclusion of leaf a % size */
	fuzz_leaf_hash(a % size, leaf);
	FUZZ_CHECK(bl_merkle_inclusion_proof(a % size, size, real_node, &t, proof, &n) == 0);
	FUZZ_CHECK(bl_merkle_verify_inclusion(a % size, size, leaf, (const uint8_t (*)[32]) proof, n, root));
	/* consistency from the tree of a % size + 1 leaves */
	{
		uint64_t	old = a % size + 1;
		uint8_t		old_root[32];

		FUZZ_CHECK(bl_merkle_root(old, real_node, &t, old_root) == 0);
		FUZZ_CHECK(bl_merkle_consistency_proof(old, size, real_node, &t, proof, &n) == 0);
		FUZZ_CHECK(bl_merkle_verify_consistency(old, size, old_root, root,
												(const uint8_t (*)[32]) proof, n));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t	a;
	uint64_t	b;
	const uint8_t *r1;
	const uint8_t *r2;
	const uint8_t *leaf;
	uint8_t		(*proof)[32];
	size_t		n;

	if (size < HDR)
		return 0;
	a = get_u64(data + 1);
	b = get_u64(data + 9);
	r1 = data + 17;
	r2 = data + 49;
	leaf = data + 81;
	n = (size - HDR) / 32;
	if (n > MAX_HASHES)
		n = MAX_HASHES;
	/* an exact-size copy, so that reading past the proof is an ASan error */
	proof = malloc(n ? n * 32 : 1);
	FUZZ_CHECK(proof != NULL);
	memcpy(proof, data + HDR, n * 32);

	(void) bl_merkle_verify_inclusion(a, b, leaf, (const uint8_t (*)[32]) proof, n, r1);
	(void) bl_merkle_verify_consistency(a, b, r1, r2, (const uint8_t (*)[32]) proof, n);
	free(proof);
	check_shapes(a, b);
	check_real_tree(data[0] % 65, a);
	return 0;
}
