/*
 * batch.c — batch roots and manifests (the byte layout is in batch.h).
 */
#include "batch.h"

#include <string.h>

#include "merkle.h"

int
bl_batch_root(const uint8_t (*content_hashes)[32], uint64_t count,
			  uint8_t root[32])
{
	bl_compact	c;
	uint8_t		leaf[BL_MERKLE_HASH_LEN];

	bl_compact_init(&c);
	for (uint64_t i = 0; i < count; i++)
	{
		if (bl_merkle_leaf_hash(content_hashes[i], 32, leaf) != 0 ||
			bl_compact_append(&c, leaf, NULL, NULL) != 0)
			return -1;
	}
	return bl_compact_root(&c, root);
}

size_t
bl_batch_manifest_len(size_t id_len)
{
	return sizeof(BL_BATCH_MAGIC) - 1 + id_len + 1 + 8 + 32;
}

void
bl_batch_manifest(const char *batch_id, size_t id_len, uint64_t count,
				  const uint8_t root[32], uint8_t *out)
{
	size_t		pos = sizeof(BL_BATCH_MAGIC) - 1;

	memcpy(out, BL_BATCH_MAGIC, pos);
	memcpy(out + pos, batch_id, id_len);
	pos += id_len;
	out[pos++] = '\n';
	for (int shift = 56; shift >= 0; shift -= 8)
		out[pos++] = (uint8_t) (count >> shift);
	memcpy(out + pos, root, 32);
}
