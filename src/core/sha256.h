/*
 * sha256.h — SHA-256 through OpenSSL (see sha256.c for which interface).
 *
 * Pure code (no PostgreSQL headers), shared by the extension and the
 * command-line tool.  No allocation per call: the EVP fallback keeps one
 * context per process, created on first use (fetching the algorithm and
 * allocating a context per call costs more than hashing a typical row).
 */
#ifndef BATTLEDGER_SHA256_H
#define BATTLEDGER_SHA256_H

#include <stddef.h>
#include <stdint.h>

/*
 * The one name of the 32-byte length: SHA-256 digests, and so the hash256
 * type, Merkle nodes, chain hashes and member key ids.
 */
#define BL_HASH_LEN 32

/* Returns 0 on success, -1 if OpenSSL failed (its error queue is cleared). */
int bl_sha256(const void *data, size_t len, uint8_t out[BL_HASH_LEN]);

/* Hash the concatenation of up to n parts without copying them together. */
int bl_sha256_parts(const void *const *parts, const size_t *lens, int n,
					uint8_t out[BL_HASH_LEN]);

#endif
