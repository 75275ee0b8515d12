/*
 * encode.h — the canonical row encoding (encode.c): the bytes a row's chain
 * hash covers and the bytes a member signs (docs/encoding.md).
 */
#ifndef BATTLEDGER_ENCODE_H
#define BATTLEDGER_ENCODE_H

#include "postgres.h"
#include "pg_compat.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "fmgr.h"
#include "lib/stringinfo.h"

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
/* "schema.table", both parts quoted only if needed, as leaves name a table */
extern char *ledger_table_name(Oid relid);

#endif
