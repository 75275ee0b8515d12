/*
 * hash256.h — the battledger.hash256 type (hash256.c): a 32-byte SHA-256
 * digest, the extension's types looked up by name, and SHA-256 that raises
 * an ERROR when OpenSSL fails.
 */
#ifndef BATTLEDGER_HASH256_H
#define BATTLEDGER_HASH256_H

#include "postgres.h"
#include "pg_compat.h"

#include "fmgr.h"

#include "sha256.h"

/*
 * BL_HASH_LEN (sha256.h) is the one name of the 32-byte length; HASH256_LEN
 * is kept as an alias for src/pg/log.c, which another change is rewriting.
 */
#define HASH256_LEN BL_HASH_LEN

typedef struct Hash256
{
	uint8		bytes[BL_HASH_LEN];
} Hash256;

#define DatumGetHash256P(d)		((Hash256 *) DatumGetPointer(d))
#define PG_GETARG_HASH256_P(n)	DatumGetHash256P(PG_GETARG_DATUM(n))
#define PG_RETURN_HASH256_P(p)	PG_RETURN_POINTER(p)

/* The extension's types by name (re-read if dropped and re-created). */
extern Oid	hash256_type_oid(void);
extern Oid	battery_id_type_oid(void);	/* InvalidOid before 0.2.0's type */

/* 64 lower-case hex digits, palloc'd */
extern char *hash256_to_hex(const Hash256 *h);

/* sha256 wrappers that raise an ERROR when OpenSSL fails */
extern void bl_hash_or_error(const void *data, size_t len, uint8 *out);
extern void bl_hash_parts_or_error(const void *const *parts, const size_t *lens,
								   int n, uint8 *out);

#endif
