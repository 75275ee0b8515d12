/*
 * merkle.c — RFC 6962 / RFC 9162 Merkle tree math (see merkle.h).
 *
 * Proof generation works on leaf ranges [lo, hi).  The RFC's recursive
 * PATH and PROOF algorithms are walked top-down iteratively, yielding the
 * ranges whose subtree hashes form the proof; each range is then hashed from
 * the stored perfect subtrees it splits into.  Verification is a literal
 * transcription of RFC 9162 sections 2.1.3.2 and 2.1.4.2.
 */
#include "merkle.h"

#include <string.h>

#include "sha256.h"

/* A stored perfect subtree: leaves [index * 2^level, (index + 1) * 2^level). */
typedef struct node_ref
{
	int			level;
	uint64_t	index;
} node_ref;

/* A leaf range [lo, hi) whose RFC 6962 subtree hash is one proof element. */
typedef struct leaf_range
{
	uint64_t	lo;
	uint64_t	hi;
} leaf_range;

/* Proof shapes plus one spare slot, so overlong proofs are detected. */
#define MAX_RANGES (BL_MERKLE_MAX_PROOF + 1)

int
bl_merkle_leaf_hash(const void *data, size_t len,
					uint8_t out[BL_HASH_LEN])
{
	static const uint8_t prefix = 0x00;
	const void *parts[2] = {&prefix, data};
	size_t		lens[2] = {1, len};

	return bl_sha256_parts(parts, lens, 2, out);
}

int
bl_merkle_node_hash(const uint8_t left[BL_HASH_LEN],
					const uint8_t right[BL_HASH_LEN],
					uint8_t out[BL_HASH_LEN])
{
	static const uint8_t prefix = 0x01;
	const void *parts[3] = {&prefix, left, right};
	size_t		lens[3] = {1, BL_HASH_LEN, BL_HASH_LEN};
	uint8_t		tmp[BL_HASH_LEN];

	/* Through a temporary: callers pass out == left or out == right. */
	if (bl_sha256_parts(parts, lens, 3, tmp) != 0)
		return -1;
	memcpy(out, tmp, BL_HASH_LEN);
	return 0;
}

int
bl_merkle_empty_root(uint8_t out[BL_HASH_LEN])
{
	return bl_sha256("", 0, out);
}

/* ---------------------------------------------------------------- verify */

/* RFC 9162: "right-shift both fn and sn equally until LSB(fn) is set or fn is 0". */
static void
shift_to_odd(uint64_t *fn, uint64_t *sn)
{
	while (*fn != 0 && (*fn & 1) == 0)
	{
		*fn >>= 1;
		*sn >>= 1;
	}
}

int
bl_merkle_verify_inclusion(uint64_t index, uint64_t size,
						   const uint8_t leaf_hash[BL_HASH_LEN],
						   const uint8_t (*proof)[BL_HASH_LEN],
						   size_t n,
						   const uint8_t root[BL_HASH_LEN])
{
	uint64_t	fn = index;
	uint64_t	sn;
	uint8_t		r[BL_HASH_LEN];

	if (index >= size)
		return 0;
	sn = size - 1;
	memcpy(r, leaf_hash, BL_HASH_LEN);
	for (size_t i = 0; i < n; i++)
	{
		if (sn == 0)
			return 0;			/* proof longer than the path */
		if ((fn & 1) || fn == sn)
		{
			if (bl_merkle_node_hash(proof[i], r, r) != 0)
				return 0;
			shift_to_odd(&fn, &sn);
		}
		else if (bl_merkle_node_hash(r, proof[i], r) != 0)
			return 0;
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, BL_HASH_LEN) == 0;
}

static int
is_pow2(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/* RFC 9162 2.1.4.2 steps 3-7, over the path with root1 already prepended. */
static int
consistency_walk(uint64_t size1, uint64_t size2,
				 const uint8_t first[BL_HASH_LEN],
				 const uint8_t (*rest)[BL_HASH_LEN], size_t n,
				 const uint8_t root1[BL_HASH_LEN],
				 const uint8_t root2[BL_HASH_LEN])
{
	uint64_t	fn = size1 - 1;
	uint64_t	sn = size2 - 1;
	uint8_t		fr[BL_HASH_LEN];
	uint8_t		sr[BL_HASH_LEN];

	while (fn & 1)
	{
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, first, BL_HASH_LEN);
	memcpy(sr, first, BL_HASH_LEN);
	for (size_t i = 0; i < n; i++)
	{
		if (sn == 0)
			return 0;
		if ((fn & 1) || fn == sn)
		{
			if (bl_merkle_node_hash(rest[i], fr, fr) != 0 ||
				bl_merkle_node_hash(rest[i], sr, sr) != 0)
				return 0;
			shift_to_odd(&fn, &sn);
		}
		else if (bl_merkle_node_hash(sr, rest[i], sr) != 0)
			return 0;
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 &&
		memcmp(fr, root1, BL_HASH_LEN) == 0 &&
		memcmp(sr, root2, BL_HASH_LEN) == 0;
}

int
bl_merkle_verify_consistency(uint64_t size1, uint64_t size2,
							 const uint8_t root1[BL_HASH_LEN],
							 const uint8_t root2[BL_HASH_LEN],
							 const uint8_t (*proof)[BL_HASH_LEN],
							 size_t n)
{
	if (size1 == 0 || size1 > size2)
		return 0;
	if (size1 == size2)
		return n == 0 && memcmp(root1, root2, BL_HASH_LEN) == 0;
	if (n == 0)
		return 0;
	/* Step 2: a power-of-two old tree is itself a node of the new one. */
	if (is_pow2(size1))
		return consistency_walk(size1, size2, root1, proof, n, root1, root2);
	return consistency_walk(size1, size2, proof[0], proof + 1, n - 1,
							root1, root2);
}

/* ------------------------------------------------------------ tree shape */

/* RFC 6962's k: the largest power of two smaller than n (n >= 2). */
static uint64_t
split_point(uint64_t n)
{
	uint64_t	k = 1;

	while (k < n - k)
		k <<= 1;
	return k;
}

/*
 * Split [lo, hi) into perfect subtrees, largest (leftmost) first, appending
 * to out.  Fails unless the range is left-aligned as RFC 6962 subtrees are.
 */
static int
decompose(uint64_t lo, uint64_t hi, node_ref *out, size_t cap, size_t *n)
{
	uint64_t	pos = lo;
	uint64_t	width = hi - lo;

	if (hi < lo)
		return -1;
	for (int level = 63; level >= 0; level--)
	{
		uint64_t	span = (uint64_t) 1 << level;

		if ((width & span) == 0)
			continue;
		if ((pos & (span - 1)) != 0 || *n >= cap)
			return -1;
		out[*n].level = level;
		out[*n].index = pos >> level;
		(*n)++;
		pos += span;
	}
	return 0;
}

/* PATH(m, D[0:size]) as ranges, leaf's sibling first (RFC 9162 2.1.3.1). */
static int
inclusion_ranges(uint64_t m, uint64_t size, leaf_range *out, size_t *n)
{
	leaf_range	top[MAX_RANGES];
	size_t		depth = 0;
	uint64_t	lo = 0;
	uint64_t	hi = size;

	if (m >= size)
		return -1;
	while (hi - lo > 1)
	{
		uint64_t	k = split_point(hi - lo);

		if (depth >= BL_MERKLE_MAX_PROOF)
			return -1;
		if (m < lo + k)
		{
			top[depth].lo = lo + k;
			top[depth].hi = hi;
			hi = lo + k;
		}
		else
		{
			top[depth].lo = lo;
			top[depth].hi = lo + k;
			lo += k;
		}
		depth++;
	}
	for (*n = 0; *n < depth; (*n)++)
		out[*n] = top[depth - 1 - *n];
	return 0;
}

/*
 * PROOF(m, D[0:size]) = SUBPROOF(m, D[0:size], true) as ranges, innermost
 * first (RFC 9162 2.1.4.1).  lo < m <= hi holds throughout the walk.
 */
static int
consistency_ranges(uint64_t m, uint64_t size, leaf_range *out, size_t *n)
{
	leaf_range	top[MAX_RANGES];
	size_t		depth = 0;
	uint64_t	lo = 0;
	uint64_t	hi = size;
	int			whole = 1;		/* SUBPROOF's b: still on the left spine */

	if (m == 0 || m > size)
		return -1;
	while (m != hi)
	{
		uint64_t	k = split_point(hi - lo);

		if (depth >= BL_MERKLE_MAX_PROOF)
			return -1;
		if (m <= lo + k)
		{
			top[depth].lo = lo + k;
			top[depth].hi = hi;
			hi = lo + k;
		}
		else
		{
			top[depth].lo = lo;
			top[depth].hi = lo + k;
			lo += k;
			whole = 0;
		}
		depth++;
	}
	*n = 0;
	if (!whole)
	{
		out[0].lo = lo;
		out[0].hi = hi;
		*n = 1;
	}
	if (*n + depth > BL_MERKLE_MAX_PROOF)
		return -1;
	for (size_t i = depth; i-- > 0;)
		out[(*n)++] = top[i];
	return 0;
}

/* ------------------------------------------------------ node listings */

/* Flatten the perfect subtrees of several ranges into the caller's arrays. */
static int
list_nodes(const leaf_range *ranges, size_t nranges,
		   int *levels, uint64_t *indexes, size_t *n)
{
	node_ref	refs[BL_MERKLE_MAX_NODES];
	size_t		count = 0;

	for (size_t i = 0; i < nranges; i++)
		if (decompose(ranges[i].lo, ranges[i].hi, refs, BL_MERKLE_MAX_NODES,
					  &count) != 0)
			return -1;
	for (size_t i = 0; i < count; i++)
	{
		levels[i] = refs[i].level;
		indexes[i] = refs[i].index;
	}
	*n = count;
	return 0;
}

int
bl_merkle_root_nodes(uint64_t size, int *levels, uint64_t *indexes, size_t *n)
{
	leaf_range	whole = {0, size};

	return list_nodes(&whole, 1, levels, indexes, n);
}

int
bl_merkle_inclusion_nodes(uint64_t index, uint64_t size,
						  int *levels, uint64_t *indexes, size_t *n)
{
	leaf_range	ranges[MAX_RANGES];
	size_t		nranges;

	if (inclusion_ranges(index, size, ranges, &nranges) != 0)
		return -1;
	return list_nodes(ranges, nranges, levels, indexes, n);
}

int
bl_merkle_consistency_nodes(uint64_t size1, uint64_t size2,
							int *levels, uint64_t *indexes, size_t *n)
{
	leaf_range	ranges[MAX_RANGES];
	size_t		nranges;

	if (consistency_ranges(size1, size2, ranges, &nranges) != 0)
		return -1;
	return list_nodes(ranges, nranges, levels, indexes, n);
}

/* ----------------------------------------------------------- generation */

/* MTH(D[lo:hi]) folded right to left from its perfect subtrees. */
static int
range_hash(uint64_t lo, uint64_t hi, bl_node_fn get, void *ctx,
		   uint8_t out[BL_HASH_LEN])
{
	node_ref	parts[64];
	size_t		n = 0;
	uint8_t		h[BL_HASH_LEN];

	if (hi <= lo || decompose(lo, hi, parts, 64, &n) != 0)
		return -1;
	if (get(ctx, parts[n - 1].level, parts[n - 1].index, out) != 0)
		return -1;
	for (size_t i = n - 1; i-- > 0;)
	{
		if (get(ctx, parts[i].level, parts[i].index, h) != 0 ||
			bl_merkle_node_hash(h, out, out) != 0)
			return -1;
	}
	return 0;
}

static int
hash_ranges(const leaf_range *ranges, size_t nranges, bl_node_fn get,
			void *ctx, uint8_t (*out)[BL_HASH_LEN])
{
	for (size_t i = 0; i < nranges; i++)
		if (range_hash(ranges[i].lo, ranges[i].hi, get, ctx, out[i]) != 0)
			return -1;
	return 0;
}

int
bl_merkle_root(uint64_t size, bl_node_fn get, void *ctx,
			   uint8_t out[BL_HASH_LEN])
{
	if (size == 0)
		return bl_merkle_empty_root(out);
	return range_hash(0, size, get, ctx, out);
}

int
bl_merkle_inclusion_proof(uint64_t index, uint64_t size,
						  bl_node_fn get, void *ctx,
						  uint8_t (*out)[BL_HASH_LEN], size_t *n)
{
	leaf_range	ranges[MAX_RANGES];
	size_t		nranges;

	*n = 0;
	if (inclusion_ranges(index, size, ranges, &nranges) != 0 ||
		hash_ranges(ranges, nranges, get, ctx, out) != 0)
		return -1;
	*n = nranges;
	return 0;
}

int
bl_merkle_consistency_proof(uint64_t size1, uint64_t size2,
							bl_node_fn get, void *ctx,
							uint8_t (*out)[BL_HASH_LEN], size_t *n)
{
	leaf_range	ranges[MAX_RANGES];
	size_t		nranges;

	*n = 0;
	if (consistency_ranges(size1, size2, ranges, &nranges) != 0 ||
		hash_ranges(ranges, nranges, get, ctx, out) != 0)
		return -1;
	*n = nranges;
	return 0;
}

/* -------------------------------------------------------- compact range */

void
bl_compact_init(bl_compact *c)
{
	memset(c, 0, sizeof(*c));
}

int
bl_compact_append(bl_compact *c, const uint8_t leaf_hash[BL_HASH_LEN],
				  bl_emit_fn emit, void *ctx)
{
	uint64_t	s = c->size;
	uint8_t		h[BL_HASH_LEN];
	int			level = 0;

	if (s == UINT64_MAX)
		return -1;
	memcpy(h, leaf_hash, BL_HASH_LEN);
	if (emit)
		emit(ctx, 0, s, h);
	/* Each set low bit of the old size is a left sibling now completed. */
	while ((s >> level) & 1)
	{
		if (bl_merkle_node_hash(c->stack[level], h, h) != 0)
			return -1;
		level++;
		if (emit)
			emit(ctx, level, s >> level, h);
	}
	memcpy(c->stack[level], h, BL_HASH_LEN);
	c->size = s + 1;
	return 0;
}

int
bl_compact_root(const bl_compact *c, uint8_t out[BL_HASH_LEN])
{
	int			level = 0;

	if (c->size == 0)
		return bl_merkle_empty_root(out);
	while (((c->size >> level) & 1) == 0)
		level++;
	memcpy(out, c->stack[level], BL_HASH_LEN);
	/* Fold the larger subtrees on from the right, as MTH nests them. */
	for (level++; level < 64; level++)
		if (((c->size >> level) & 1) &&
			bl_merkle_node_hash(c->stack[level], out, out) != 0)
			return -1;
	return 0;
}

int
bl_compact_from_nodes(bl_compact *c, uint64_t size, bl_node_fn get, void *ctx)
{
	node_ref	parts[64];
	size_t		n = 0;

	bl_compact_init(c);
	if (decompose(0, size, parts, 64, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (get(ctx, parts[i].level, parts[i].index,
				c->stack[parts[i].level]) != 0)
			return -1;
	c->size = size;
	return 0;
}

size_t
bl_log_leaf_len(size_t table_len)
{
	return 4 + 2 + table_len + 8 + BL_HASH_LEN + BL_HASH_LEN;
}

void
bl_log_leaf(const char *table, size_t table_len, int64_t seq,
			const uint8_t prev[BL_HASH_LEN], const uint8_t row_hash[BL_HASH_LEN], uint8_t *out)
{
	size_t		pos = 0;

	memcpy(out, BL_LOG_LEAF_MAGIC, 4);
	pos = 4;
	out[pos++] = (uint8_t) (table_len >> 8);
	out[pos++] = (uint8_t) table_len;
	memcpy(out + pos, table, table_len);
	pos += table_len;
	for (int i = 7; i >= 0; i--)
		out[pos++] = (uint8_t) ((uint64_t) seq >> (8 * i));
	memcpy(out + pos, prev, BL_HASH_LEN);
	pos += BL_HASH_LEN;
	memcpy(out + pos, row_hash, BL_HASH_LEN);
}
