/*
 * hash256.c — the battledger.hash256 type: a 32-byte SHA-256 digest.
 *
 * Fixed length, passed by reference, compared as unsigned bytes (so the btree
 * order is the order of the hex text).  Text form is 64 hex digits, written
 * lower case, read in either case.
 */
#include "postgres.h"

#include "hash256.h"

#include "type_text.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

static const char hexdigits[] = "0123456789abcdef";

/*
 * The extension's types' OIDs, as last looked up, and whether the callback
 * that forgets them is registered.  Any invalidation of pg_type's cache
 * (a type created, altered or dropped, or a cache reset) forgets both, so a
 * dropped and re-created extension is looked up again.  Until 0.22.0 each
 * call probed the syscache for the cached OID instead: a single-row INSERT
 * paid it at every flush of the log queue.
 */
static Oid	hash256_oid = InvalidOid;
static Oid	battery_id_oid = InvalidOid;
static bool type_oids_callback = false;

static void
type_oids_forget(Datum arg, int cacheid, uint32 hashvalue)
{
	hash256_oid = InvalidOid;
	battery_id_oid = InvalidOid;
}

/* A type of the extension's schema by name; looked up again once forgotten. */
static Oid
extension_type_oid(const char *name, Oid *cached)
{
	if (!type_oids_callback)
	{
		CacheRegisterSyscacheCallback(TYPEOID, type_oids_forget, (Datum) 0);
		type_oids_callback = true;
	}
	if (OidIsValid(*cached))
		return *cached;
	*cached = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum(name),
							  ObjectIdGetDatum(get_namespace_oid("battledger", false)));
	return *cached;
}

Oid
hash256_type_oid(void)
{
	if (!OidIsValid(extension_type_oid("hash256", &hash256_oid)))
		elog(ERROR, "type battledger.hash256 not found");
	return hash256_oid;
}

Oid
battery_id_type_oid(void)
{
	return extension_type_oid("battery_id", &battery_id_oid);
}

void
bl_hash_parts_or_error(const void *const *parts, const size_t *lens, int n,
					   uint8 *out)
{
	if (bl_sha256_parts(parts, lens, n, out) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute SHA-256 digest"),
				 errdetail("OpenSSL's digest functions failed.")));
}

void
bl_hash_or_error(const void *data, size_t len, uint8 *out)
{
	bl_hash_parts_or_error(&data, &len, 1, out);
}

/* battledger.hash256_in(cstring) RETURNS hash256 */
PG_FUNCTION_INFO_V1(hash256_in);
Datum
hash256_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);
	size_t		len = strlen(s);
	Hash256    *h = palloc(sizeof(Hash256));
	int			bad = bl_hash256_parse(s, len, h->bytes);	/* type_text.c */

	if (bad < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", "hash256", s),
				 errdetail("A hash256 value has exactly 64 hexadecimal digits, not %zu characters.", len)));
	if (bad > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", "hash256", s),
				 errdetail("Character %d is not a hexadecimal digit.", bad)));
	PG_RETURN_HASH256_P(h);
}

char *
hash256_to_hex(const Hash256 *h)
{
	char	   *s = palloc(2 * BL_HASH_LEN + 1);

	for (int i = 0; i < BL_HASH_LEN; i++)
	{
		s[2 * i] = hexdigits[h->bytes[i] >> 4];
		s[2 * i + 1] = hexdigits[h->bytes[i] & 0xf];
	}
	s[2 * BL_HASH_LEN] = '\0';
	return s;
}

/* battledger.hash256_out(hash256) RETURNS cstring */
PG_FUNCTION_INFO_V1(hash256_out);
Datum
hash256_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(hash256_to_hex(PG_GETARG_HASH256_P(0)));
}

/* battledger.hash256_recv(internal) RETURNS hash256 */
PG_FUNCTION_INFO_V1(hash256_recv);
Datum
hash256_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	Hash256    *h;

	if (buf->len - buf->cursor != BL_HASH_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary hash256 value"),
				 errdetail("A hash256 value is exactly 32 bytes, not %d.",
						   buf->len - buf->cursor)));
	h = palloc(sizeof(Hash256));
	pq_copymsgbytes(buf, (char *) h->bytes, BL_HASH_LEN);
	PG_RETURN_HASH256_P(h);
}

/* battledger.hash256_send(hash256) RETURNS bytea */
PG_FUNCTION_INFO_V1(hash256_send);
Datum
hash256_send(PG_FUNCTION_ARGS)
{
	Hash256    *h = PG_GETARG_HASH256_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, (char *) h->bytes, BL_HASH_LEN);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* battledger.hash256(bytea) RETURNS hash256 */
PG_FUNCTION_INFO_V1(hash256_from_bytea);
Datum
hash256_from_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	Hash256    *h;

	if (VARSIZE_ANY_EXHDR(b) != BL_HASH_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot cast bytea of length %zu to hash256",
						(size_t) VARSIZE_ANY_EXHDR(b)),
				 errdetail("A hash256 value is exactly 32 bytes.")));
	h = palloc(sizeof(Hash256));
	memcpy(h->bytes, VARDATA_ANY(b), BL_HASH_LEN);
	PG_RETURN_HASH256_P(h);
}

/* battledger.bytea(hash256) RETURNS bytea */
PG_FUNCTION_INFO_V1(hash256_to_bytea);
Datum
hash256_to_bytea(PG_FUNCTION_ARGS)
{
	Hash256    *h = PG_GETARG_HASH256_P(0);
	bytea	   *b = palloc(VARHDRSZ + BL_HASH_LEN);

	SET_VARSIZE(b, VARHDRSZ + BL_HASH_LEN);
	memcpy(VARDATA(b), h->bytes, BL_HASH_LEN);
	PG_RETURN_BYTEA_P(b);
}

/* Comparison: unsigned bytewise, which is also the order of the hex text. */
static inline int
hash256_cmp_internal(const Hash256 *a, const Hash256 *b)
{
	return memcmp(a->bytes, b->bytes, BL_HASH_LEN);
}

/* battledger.hash256_eq(hash256, hash256) RETURNS bool, and _ne, _lt, _le, _gt, _ge */
#define HASH256_CMP_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	int c = hash256_cmp_internal(PG_GETARG_HASH256_P(0), PG_GETARG_HASH256_P(1)); \
	PG_RETURN_BOOL(expr); \
}

HASH256_CMP_FN(hash256_eq, c == 0)
HASH256_CMP_FN(hash256_ne, c != 0)
HASH256_CMP_FN(hash256_lt, c < 0)
HASH256_CMP_FN(hash256_le, c <= 0)
HASH256_CMP_FN(hash256_gt, c > 0)
HASH256_CMP_FN(hash256_ge, c >= 0)

/* battledger.hash256_cmp(hash256, hash256) RETURNS int4 */
PG_FUNCTION_INFO_V1(hash256_cmp);
Datum
hash256_cmp(PG_FUNCTION_ARGS)
{
	int			c = hash256_cmp_internal(PG_GETARG_HASH256_P(0), PG_GETARG_HASH256_P(1));

	PG_RETURN_INT32(c < 0 ? -1 : (c > 0 ? 1 : 0));
}

/* battledger.hash256_hash(hash256) RETURNS int4 */
PG_FUNCTION_INFO_V1(hash256_hash);
Datum
hash256_hash(PG_FUNCTION_ARGS)
{
	Hash256    *h = PG_GETARG_HASH256_P(0);

	return hash_any(h->bytes, BL_HASH_LEN);
}

/* battledger.hash256_hash_extended(hash256, int8) RETURNS int8 */
PG_FUNCTION_INFO_V1(hash256_hash_extended);
Datum
hash256_hash_extended(PG_FUNCTION_ARGS)
{
	Hash256    *h = PG_GETARG_HASH256_P(0);

	return hash_any_extended(h->bytes, BL_HASH_LEN, PG_GETARG_INT64(1));
}
