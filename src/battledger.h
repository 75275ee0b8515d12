/*
 * battledger.h — declarations shared by the extension's C files.
 */
#ifndef BATTLEDGER_H
#define BATTLEDGER_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "utils/relcache.h"

#include "sha256.h"

#define HASH256_LEN BL_SHA256_LEN

typedef struct Hash256
{
	uint8		bytes[HASH256_LEN];
} Hash256;

#define DatumGetHash256P(d)		((Hash256 *) DatumGetPointer(d))
#define PG_GETARG_HASH256_P(n)	DatumGetHash256P(PG_GETARG_DATUM(n))
#define PG_RETURN_HASH256_P(p)	PG_RETURN_POINTER(p)

/* The columns enable_ledger() adds; never part of a row's content. */
#define LEDGER_COL_SEQ	"ledger_seq"
#define LEDGER_COL_PREV "ledger_prev"
#define LEDGER_COL_HASH "ledger_hash"

/* Trigger names; the chain trigger must fire after every other BEFORE INSERT trigger. */
#define LEDGER_CHAIN_TRIGGER	"zz_battledger_chain"
#define LEDGER_GUARD_TRIGGER	"battledger_append_only"

/* Custom SQLSTATE for refused modifications of a ledger table (class BL). */
#define ERRCODE_LEDGER_APPEND_ONLY	MAKE_SQLSTATE('B','L','0','0','1')
#define ERRCODE_LEDGER_DDL_REFUSED	MAKE_SQLSTATE('B','L','0','0','2')

/* sha256 wrappers that raise an ERROR when OpenSSL fails */
extern void bl_hash_or_error(const void *data, size_t len, uint8 *out);
extern void bl_hash_parts_or_error(const void *const *parts, const size_t *lens,
								   int n, uint8 *out);

/* hash256.c */
extern Oid	hash256_type_oid(void);

/* encode.c — the canonical row encoding */
typedef struct RowEncoder RowEncoder;

extern RowEncoder *row_encoder_build(TupleDesc tupdesc, MemoryContext mcxt);
extern void row_encode(const RowEncoder *enc, Datum *values, bool *nulls,
					   StringInfo out);
extern bool encodable_type(Oid typid, const char **why);
extern bool is_ledger_column_name(const char *name);

/* chain.c */
extern void chain_hash(const uint8 *prev, int64 seq, const char *content,
					   size_t content_len, uint8 *out);

#endif
