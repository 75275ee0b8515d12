/*
 * batch.h — the signed manifest of a batch of content hashes.
 *
 * Pure code (no PostgreSQL headers), shared by the extension and the
 * command-line tool, so both build byte-identical manifests:
 *
 *     "battledger batch v1\n" || batch id (UTF-8) || "\n"
 *         || u64be(count) || root (32 bytes)
 *
 * where root is the RFC 6962 Merkle root over the leaves
 * bl_merkle_leaf_hash(content hash) of the batch's 32-byte content hashes
 * sorted in ascending byte order (so the order rows are inserted in plays no
 * part).  Everything after the batch id has a fixed length, so the
 * manifest is unambiguous even if an id were to contain a newline.
 */
#ifndef BATTLEDGER_BATCH_H
#define BATTLEDGER_BATCH_H

#include <stddef.h>
#include <stdint.h>

#define BL_BATCH_MAGIC "battledger batch v1\n"

/* Root over count content hashes (count 0: the empty root).  0 ok / -1. */
int			bl_batch_root(const uint8_t (*content_hashes)[32], uint64_t count,
						  uint8_t root[32]);

/* Size of the manifest for a batch id of id_len bytes. */
size_t		bl_batch_manifest_len(size_t id_len);

/* Write the manifest into out (bl_batch_manifest_len(id_len) bytes). */
void		bl_batch_manifest(const char *batch_id, size_t id_len,
							  uint64_t count, const uint8_t root[32],
							  uint8_t *out);

#endif
