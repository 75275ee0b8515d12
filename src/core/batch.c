/*
 * batch.c — batch roots and manifests (the byte layout is in batch.h).
 */
#include "batch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"

/* a hash's first 8 bytes as a big-endian number: memcmp's order on them */
static inline uint64_t
hash_prefix(const uint8_t *h)
{
	uint64_t	v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | h[i];
	return v;
}

/* memcmp(a, b, BL_HASH_LEN) <= 0, without the call for nearly every pair */
static inline int
hash_le(const uint8_t *a, const uint8_t *b)
{
	uint64_t	x = hash_prefix(a),
				y = hash_prefix(b);

	if (x != y)
		return x < y;
	return memcmp(a + 8, b + 8, BL_HASH_LEN - 8) <= 0;
}

/*
 * Sorts count hashes into memcmp order: a bottom-up merge sort, n log n
 * whatever the input (a batch's rows, and so the order of their hashes, are
 * the writer's choice: a quicksort's worst case would be theirs to pick, on
 * every member that checks the batch).  Until 0.27.0 this was qsort() with
 * a memcmp() callback; equal hashes are equal bytes, so any sort gives the
 * same sequence, and the same root.
 */
static void
sort_hashes(uint8_t (*a)[BL_HASH_LEN], uint8_t (*tmp)[BL_HASH_LEN], uint64_t count)
{
	uint8_t		(*src)[BL_HASH_LEN] = a;
	uint8_t		(*dst)[BL_HASH_LEN] = tmp;

	for (uint64_t width = 1; width < count; width *= 2)
	{
		for (uint64_t lo = 0; lo < count; lo += 2 * width)
		{
			uint64_t	mid = lo + width < count ? lo + width : count;
			uint64_t	hi = lo + 2 * width < count ? lo + 2 * width : count;
			uint64_t	i = lo,
						j = mid,
						k = lo;

			while (i < mid && j < hi)
			{
				if (hash_le(src[i], src[j]))
					memcpy(dst[k++], src[i++], BL_HASH_LEN);
				else
					memcpy(dst[k++], src[j++], BL_HASH_LEN);
			}
			if (i < mid)
				memcpy(dst[k], src[i], (mid - i) * BL_HASH_LEN);
			else if (j < hi)
				memcpy(dst[k], src[j], (hi - j) * BL_HASH_LEN);
		}
		{
			uint8_t		(*t)[BL_HASH_LEN] = src;

			src = dst;
			dst = t;
		}
	}
	if (src != a)
		memcpy(a, src, count * BL_HASH_LEN);
}

int
bl_batch_root(const uint8_t (*content_hashes)[BL_HASH_LEN], uint64_t count,
			  uint8_t root[BL_HASH_LEN])
{
	bl_compact	c;
	uint8_t		leaf[BL_HASH_LEN];
	uint8_t		(*sorted)[BL_HASH_LEN] = NULL;

	/* sorted, so that the order rows are inserted in plays no part */
	if (count > 0)
	{
		if (count > SIZE_MAX / (2 * BL_HASH_LEN))
			return -1;
		sorted = malloc(2 * count * BL_HASH_LEN);
		if (sorted == NULL)
			return -1;
		memcpy(sorted, content_hashes, count * BL_HASH_LEN);
		sort_hashes(sorted, sorted + count, count);
	}
	bl_compact_init(&c);
	for (uint64_t i = 0; i < count; i++)
	{
		if (bl_merkle_leaf_hash(sorted[i], BL_HASH_LEN, leaf) != 0 ||
			bl_compact_append(&c, leaf, NULL, NULL) != 0)
		{
			free(sorted);
			return -1;
		}
	}
	free(sorted);
	return bl_compact_root(&c, root);
}

size_t
bl_batch_manifest_len(size_t id_len)
{
	return sizeof(BL_BATCH_MAGIC) - 1 + id_len + 1 + 8 + BL_HASH_LEN;
}

void
bl_batch_manifest(const char *batch_id, size_t id_len, uint64_t count,
				  const uint8_t root[BL_HASH_LEN], uint8_t *out)
{
	size_t		pos = sizeof(BL_BATCH_MAGIC) - 1;

	memcpy(out, BL_BATCH_MAGIC, pos);
	memcpy(out + pos, batch_id, id_len);
	pos += id_len;
	out[pos++] = '\n';
	for (int shift = 56; shift >= 0; shift -= 8)
		out[pos++] = (uint8_t) (count >> shift);
	memcpy(out + pos, root, BL_HASH_LEN);
}

size_t
bl_batch_manifest_v2_len(size_t tbl_len, size_t id_len)
{
	return sizeof(BL_BATCH_MAGIC_V2) - 1 + 2 + tbl_len + id_len + 1 + 8 + BL_HASH_LEN;
}

void
bl_batch_manifest_v2(const char *tbl, size_t tbl_len, const char *batch_id,
					 size_t id_len, uint64_t count, const uint8_t root[BL_HASH_LEN],
					 uint8_t *out)
{
	size_t		pos = sizeof(BL_BATCH_MAGIC_V2) - 1;

	memcpy(out, BL_BATCH_MAGIC_V2, pos);
	/* length-prefixed: a quoted table name may hold any character */
	out[pos++] = (uint8_t) (tbl_len >> 8);
	out[pos++] = (uint8_t) tbl_len;
	memcpy(out + pos, tbl, tbl_len);
	pos += tbl_len;
	memcpy(out + pos, batch_id, id_len);
	pos += id_len;
	out[pos++] = '\n';
	for (int shift = 56; shift >= 0; shift -= 8)
		out[pos++] = (uint8_t) (count >> shift);
	memcpy(out + pos, root, BL_HASH_LEN);
}
