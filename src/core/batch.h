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
 *
 * Version 2 (battledger 0.3.0 and later) also names the table the batch is
 * for, so that a copied manifest cannot be filed for another table:
 *
 *     "battledger batch v2\n" || u16be(table name length) || table name
 *         (UTF-8, "schema.table" as log leaves name it) || batch id || "\n"
 *         || u64be(count) || root (32 bytes)
 *
 * Version 1 verifies batches filed before the table's update to 0.3.0.
 */
#ifndef BATTLEDGER_BATCH_H
#define BATTLEDGER_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define BL_BATCH_MAGIC "battledger batch v1\n"
#define BL_BATCH_MAGIC_V2 "battledger batch v2\n"
#define BL_BATCH_TABLE_MAX 65535

/* Root over count content hashes (count 0: the empty root).  0 ok / -1. */
int			bl_batch_root(const uint8_t (*content_hashes)[BL_HASH_LEN], uint64_t count,
						  uint8_t root[BL_HASH_LEN]);

/* Size of the manifest for a batch id of id_len bytes. */
size_t		bl_batch_manifest_len(size_t id_len);

/* Write the manifest into out (bl_batch_manifest_len(id_len) bytes). */
void		bl_batch_manifest(const char *batch_id, size_t id_len,
							  uint64_t count, const uint8_t root[BL_HASH_LEN],
							  uint8_t *out);

/*
 * Version 2: the same, bound to table (tbl_len bytes, at most
 * BL_BATCH_TABLE_MAX).  tbl NULL: version 1.
 */
size_t		bl_batch_manifest_v2_len(size_t tbl_len, size_t id_len);
void		bl_batch_manifest_v2(const char *tbl, size_t tbl_len,
								 const char *batch_id, size_t id_len,
								 uint64_t count, const uint8_t root[BL_HASH_LEN],
								 uint8_t *out);

#endif
