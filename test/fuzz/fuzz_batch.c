/*
 * fuzz_batch — batch roots and manifests (batch.c) and the SHA-256 parts
 * API under them.  The CLI builds a batch from content hashes a member
 * supplies; the root is defined over the sorted hashes, so it must not
 * depend on their order.
 *
 * Input: 1 byte k, a batch id of k bytes (clipped to the input), then
 * 32-byte content hashes.
 */
#include "batch.h"
#include "fuzz.h"
#include "sha256.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t		id_len;
	const char *id;
	size_t		count;
	uint8_t		(*h)[32];
	uint8_t		root[32];
	uint8_t		root2[32];
	uint8_t    *manifest;
	size_t		mlen;

	if (size < 1)
		return 0;
	id_len = data[0] < size - 1 ? data[0] : size - 1;
	id = (const char *) data + 1;
	count = (size - 1 - id_len) / 32;
	h = malloc(count ? count * 32 : 1);
	FUZZ_CHECK(h != NULL);
	memcpy(h, data + 1 + id_len, count * 32);

	FUZZ_CHECK(bl_batch_root((const uint8_t (*)[32]) h, count, root) == 0);
	/* reversed: the same root */
	for (size_t i = 0; i < count / 2; i++)
	{
		uint8_t		tmp[32];

		memcpy(tmp, h[i], 32);
		memcpy(h[i], h[count - 1 - i], 32);
		memcpy(h[count - 1 - i], tmp, 32);
	}
	FUZZ_CHECK(bl_batch_root((const uint8_t (*)[32]) h, count, root2) == 0);
	FUZZ_CHECK(memcmp(root, root2, 32) == 0);
	free(h);

	mlen = bl_batch_manifest_len(id_len);
	manifest = malloc(mlen);
	FUZZ_CHECK(manifest != NULL);
	bl_batch_manifest(id, id_len, count, root, manifest);
	FUZZ_CHECK(memcmp(manifest, BL_BATCH_MAGIC, strlen(BL_BATCH_MAGIC)) == 0 &&
			   memcmp(manifest + mlen - 32, root, 32) == 0);

	/* the manifest hashed whole and in three parts: the same digest */
	{
		size_t		cut1 = id_len % (mlen + 1);
		size_t		cut2 = cut1 + (mlen - cut1) / 2;
		const void *parts[3] = {manifest, manifest + cut1, manifest + cut2};
		size_t		lens[3] = {cut1, cut2 - cut1, mlen - cut2};

		FUZZ_CHECK(bl_sha256(manifest, mlen, root) == 0);
		FUZZ_CHECK(bl_sha256_parts(parts, lens, 3, root2) == 0);
		FUZZ_CHECK(memcmp(root, root2, 32) == 0);
	}
	free(manifest);
	return 0;
}
