/*
 * battledger.h — declarations shared by the extension's C files.
 */
#ifndef BATTLEDGER_H
#define BATTLEDGER_H

#include "postgres.h"
#include "pg_compat.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "fmgr.h"
#include "utils/guc.h"
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

/* The chain columns enable_ledger() adds; never part of a row's bytes. */
#define LEDGER_COL_SEQ	"ledger_seq"
#define LEDGER_COL_PREV "ledger_prev"
#define LEDGER_COL_HASH "ledger_hash"
/*
 * The member database (log) that wrote the row: part of the chain's identity
 * and of the row's bytes, except that the empty origin (a database not named
 * by battledger.origin) is omitted, so such rows hash as they did in 0.1.0.
 */
#define LEDGER_COL_ORIGIN	"ledger_origin"
/* Signed tables add these: key id and batch are signed, signature and time are not. */
#define LEDGER_COL_KEY_ID	"ledger_key_id"
#define LEDGER_COL_SIG		"ledger_sig"
#define LEDGER_COL_AT		"ledger_at"
#define LEDGER_COL_BATCH	"ledger_batch"

/* Trigger names; the chain trigger must fire after every other BEFORE INSERT trigger. */
#define LEDGER_CHAIN_TRIGGER	"zz_battledger_chain"
#define LEDGER_GUARD_TRIGGER	"battledger_append_only"
#define LEDGER_LOG_TRIGGER		"battledger_log"
#define LEDGER_ARRIVE_TRIGGER	"zz_battledger_arrive"	/* ENABLE REPLICA: rows from other members */

/* Custom SQLSTATE for refused modifications of a ledger table (class BL). */
#define ERRCODE_LEDGER_APPEND_ONLY	MAKE_SQLSTATE('B','L','0','0','1')
#define ERRCODE_LEDGER_DDL_REFUSED	MAKE_SQLSTATE('B','L','0','0','2')
/* Signature checks (class BL, 01x) */
#define ERRCODE_SIG_UNKNOWN_KEY		MAKE_SQLSTATE('B','L','0','1','1')
#define ERRCODE_SIG_KEY_NOT_YET_VALID MAKE_SQLSTATE('B','L','0','1','2')
#define ERRCODE_SIG_KEY_EXPIRED		MAKE_SQLSTATE('B','L','0','1','3')
#define ERRCODE_SIG_KEY_REVOKED		MAKE_SQLSTATE('B','L','0','1','4')
#define ERRCODE_SIG_ROLE			MAKE_SQLSTATE('B','L','0','1','5')
#define ERRCODE_SIG_INVALID			MAKE_SQLSTATE('B','L','0','1','6')
#define ERRCODE_SIG_MISSING			MAKE_SQLSTATE('B','L','0','1','7')
/* a public key under which anybody could sign (small order, non-canonical, no point) */
#define ERRCODE_KEY_WEAK			MAKE_SQLSTATE('B','L','0','1','8')
#define ERRCODE_BATCH_INVALID		MAKE_SQLSTATE('B','L','0','2','0')
#define ERRCODE_BATCH_MISMATCH		MAKE_SQLSTATE('B','L','0','2','1')
/* Consortium (class BL, 04x; 03x are the registry's) */
#define ERRCODE_ORIGIN_MISMATCH		MAKE_SQLSTATE('B','L','0','4','0')
#define ERRCODE_ROW_REJECTED		MAKE_SQLSTATE('B','L','0','4','1')
#define ERRCODE_ORIGIN_CLAIMED		MAKE_SQLSTATE('B','L','0','4','2')

/* sha256 wrappers that raise an ERROR when OpenSSL fails */
extern void bl_hash_or_error(const void *data, size_t len, uint8 *out);
extern void bl_hash_parts_or_error(const void *const *parts, const size_t *lens,
								   int n, uint8 *out);

/*
 * SPI with search_path pinned to pg_catalog: names in the queries are
 * qualified, and no operator or function a user created elsewhere can be
 * picked instead of the built-in one.  Restored at bl_spi_finish(), or by
 * the (sub)transaction abort on error.
 */
extern int	bl_spi_connect(void);
extern void bl_spi_finish(int nest);

/* ledger_rel.c: the owner of a relation (ERROR if it does not exist) */
extern Oid	bl_rel_owner(Oid relid);

/* hash256.c */
extern Oid	hash256_type_oid(void);
extern Oid	battery_id_type_oid(void);
/* battledger.resolver: its check hook (battery_id.c) */
extern bool bl_check_resolver(char **newval, void **extra, GucSource source);
extern char *hash256_to_hex(const Hash256 *h);

/* encode.c — the canonical row encoding */
typedef struct RowEncoder RowEncoder;

typedef enum EncoderKind
{
	ENCODE_ROW,					/* content + signature fields: what the chain hash covers */
	ENCODE_SIGNING				/* content + key id + batch: what the member signs */
} EncoderKind;

extern RowEncoder *row_encoder_build(TupleDesc tupdesc, MemoryContext mcxt,
									 EncoderKind kind);
extern void row_encode(const RowEncoder *enc, Datum *values, bool *nulls,
					   StringInfo out);
extern bool encodable_type(Oid typid, const char **why);
extern bool is_ledger_column_name(const char *name);
extern void record_encode(FunctionCallInfo fcinfo, HeapTupleHeader rec,
						  EncoderKind kind, StringInfo out);
/* signing bytes v2 for table tbl ("schema.table"), or v1 with tbl NULL */
extern void signing_encode(const RowEncoder *enc, const char *tbl, Datum *values,
						   bool *nulls, StringInfo out);
extern char *ledger_table_name(Oid relid);

/* log.c: this database's origin, validated; "" when battledger.origin is unset */
extern const char *local_origin(void);

/* chain.c */
extern void chain_hash(const uint8 *prev, int64 seq, const char *content,
					   size_t content_len, uint8 *out);

#endif
