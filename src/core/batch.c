/*
 * batch.c — batch roots and manifests (the byte layout is in batch.h).
 */
#include "batch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"

/* A hash by its first 8 bytes, as a big-endian number: memcmp's order on them. */
typedef struct hash_key
{
	uint64_t	prefix;
	uint64_t	idx;			/* the hash's position in the input */
} hash_key;

static inline uint64_t
hash_prefix(const uint8_t *h)
{
	return ((uint64_t) h[0] << 56) | ((uint64_t) h[1] << 48) | ((uint64_t) h[2] << 40) |
		((uint64_t) h[3] << 32) | ((uint64_t) h[4] << 24) | ((uint64_t) h[5] << 16) |
		((uint64_t) h[6] << 8) | (uint64_t) h[7];
}

/* memcmp(a, b, BL_HASH_LEN) <= 0 for the hashes a and b stand for */
static inline int
key_le(const hash_key *a, const hash_key *b, const uint8_t (*hashes)[BL_HASH_LEN])
{
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix;
	return memcmp(hashes[a->idx] + 8, hashes[b->idx] + 8, BL_HASH_LEN - 8) <= 0;
}

/*
 * Sorts keys (count of them, tmp as long) into their hashes' memcmp order:
 * a bottom-up merge sort of 16-byte keys compared as numbers, memcmp only
 * on a tie of the first 8 bytes, n log n whatever the input and whatever
 * the C library's qsort() does.  Until 0.27.0 this was qsort() over the
 * 32-byte hashes with a memcmp() callback: a call through a pointer per
 * comparison, about three times the instructions (issue 15,
 * docs/benchmarks.md "0.27.0").  Equal hashes are equal bytes, so any sort
 * gives the same sequence, and the same root.
 */
static hash_key *
sort_keys(hash_key *keys, hash_key *tmp, uint64_t count, const uint8_t (*hashes)[BL_HASH_LEN])
{
	hash_key   *src = keys;
	hash_key   *dst = tmp;

	for (uint64_t width = 1; width < count; width *= 2)
	{
		hash_key   *t;

		for (uint64_t lo = 0; lo < count; lo += 2 * width)
		{
			uint64_t	mid = lo + width < count ? lo + width : count;
			uint64_t	hi = lo + 2 * width < count ? lo + 2 * width : count;
			uint64_t	i = lo,
						j = mid,
						k = lo;

			while (i < mid && j < hi)
				dst[k++] = key_le(&src[i], &src[j], hashes) ? src[i++] : src[j++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		t = src;
		src = dst;
		dst = t;
	}
	return src;
}

int
bl_batch_root(const uint8_t (*content_hashes)[BL_HASH_LEN], uint64_t count,
			  uint8_t root[BL_HASH_LEN])
{
	bl_compact	c;
	uint8_t		leaf[BL_HASH_LEN];
	hash_key   *keys = NULL,
			   *by = NULL;

	/*
	 * Sorted, so that the order rows are inserted in plays no part.  The
	 * leaves are read through the sorted keys, not from a sorted copy of
	 * the hashes: 32 bytes a row less at the peak (a third of it beside
	 * the caller's hashes: red team rt27d).
	 */
	if (count > 0)
	{
		if (count > SIZE_MAX / (2 * sizeof(hash_key)))
			return -1;
		keys = malloc(2 * count * sizeof(hash_key));
		if (keys == NULL)
			return -1;
		for (uint64_t i = 0; i < count; i++)
		{
			keys[i].prefix = hash_prefix(content_hashes[i]);
			keys[i].idx = i;
		}
		by = sort_keys(keys, keys + count, count, content_hashes);
	}
	bl_compact_init(&c);
	for (uint64_t i = 0; i < count; i++)
	{
#if defined(__GNUC__)
		/* the hashes are read in sorted order, scattered: fetch ahead */
		if (i + 16 < count)
			__builtin_prefetch(content_hashes[by[i + 16].idx]);
#endif
		if (bl_merkle_leaf_hash(content_hashes[by[i].idx], BL_HASH_LEN, leaf) != 0 ||
			bl_compact_append(&c, leaf, NULL, NULL) != 0)
		{
			free(keys);
			return -1;
		}
	}
	free(keys);
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
