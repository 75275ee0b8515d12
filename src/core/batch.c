/*
 * batch.c — batch roots and manifests (the byte layout is in batch.h).
 */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "merkle.h"

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, BL_HASH_LEN);
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
		sorted = malloc(count * BL_HASH_LEN);
		if (sorted == NULL)
			return -1;
		memcpy(sorted, content_hashes, count * BL_HASH_LEN);
		qsort(sorted, count, BL_HASH_LEN, hash_cmp);
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
