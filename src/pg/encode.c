/*
 * encode.c — the canonical row encoding (docs/encoding.md is its specification).
 *
 * A row's bytes must not depend on session settings, so no type output
 * function that reads DateStyle, TimeZone, extra_float_digits, bytea_output
 * or lc_* is used: numbers and times are written in binary, text is converted
 * to UTF-8, and only numeric and jsonb use their (setting-free) text forms.
 *
 *   row   := 'B' 'L' 'R' 0x01, u16 field count, field*   (fields sorted by name)
 *   field := u8 name length, name (UTF-8), u8 type tag, u32 value length, value
 *
 * NULL columns and the ledger's own columns are left out, so adding a
 * nullable column to a ledger table keeps every existing row's bytes.
 *
 * Why one file: the canonical encoding is one specification
 * (docs/encoding.md); its type tags, the writers and the SQL functions that
 * return the bytes must change together.
 */
#include "postgres.h"

#include "encode.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_class.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "port/pg_bswap.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/uuid.h"

#include "hash256.h"
#include "ledger_table.h"

/* Type tags: part of the format, never renumber. */
typedef enum EncTag
{
	TAG_BOOL = 0x01,
	TAG_INT2 = 0x02,
	TAG_INT4 = 0x03,
	TAG_INT8 = 0x04,
	TAG_FLOAT4 = 0x05,
	TAG_FLOAT8 = 0x06,
	TAG_NUMERIC = 0x07,
	TAG_TEXT = 0x08,
	TAG_BYTEA = 0x09,
	TAG_DATE = 0x0A,
	TAG_TIMESTAMP = 0x0B,
	TAG_TIMESTAMPTZ = 0x0C,
	TAG_TIME = 0x0D,
	TAG_INTERVAL = 0x0E,
	TAG_UUID = 0x0F,
	TAG_JSONB = 0x10,
	TAG_HASH256 = 0x11,
	TAG_JSON = 0x12,
	TAG_BATTERY_ID = 0x13,
	TAG_ENUM = 0x14,
	TAG_ARRAY = 0x20
} EncTag;

#define ROW_MAGIC "BLR\001"
#define SIGNING_MAGIC_V2 "BLS\002"

typedef struct EncColumn
{
	int			attidx;			/* 0-based index into the tuple */
	uint8		tag;
	uint8		elemtag;		/* TAG_ARRAY: the elements' tag */
	Oid			elemtype;
	int16		elemlen;
	bool		elembyval;
	char		elemalign;
	bool		omit_empty;		/* ledger_origin: the empty origin is left out */
	int			namelen;		/* UTF-8 bytes */
	char	   *name;			/* UTF-8 */
} EncColumn;

struct RowEncoder
{
	int			ncols;
	EncColumn	cols[FLEXIBLE_ARRAY_MEMBER];
};

bool
is_ledger_column_name(const char *name)
{
	return strcmp(name, LEDGER_COL_SEQ) == 0 ||
		strcmp(name, LEDGER_COL_PREV) == 0 ||
		strcmp(name, LEDGER_COL_HASH) == 0;
}

/* Tag of a scalar type (domains resolved to their base), or 0 if unsupported. */
static uint8
scalar_tag(Oid typid)
{
	typid = getBaseType(typid);
	switch (typid)
	{
		case BOOLOID:
			return TAG_BOOL;
		case INT2OID:
			return TAG_INT2;
		case INT4OID:
			return TAG_INT4;
		case INT8OID:
			return TAG_INT8;
		case FLOAT4OID:
			return TAG_FLOAT4;
		case FLOAT8OID:
			return TAG_FLOAT8;
		case NUMERICOID:
			return TAG_NUMERIC;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return TAG_TEXT;
		case BYTEAOID:
			return TAG_BYTEA;
		case DATEOID:
			return TAG_DATE;
		case TIMESTAMPOID:
			return TAG_TIMESTAMP;
		case TIMESTAMPTZOID:
			return TAG_TIMESTAMPTZ;
		case TIMEOID:
			return TAG_TIME;
		case INTERVALOID:
			return TAG_INTERVAL;
		case UUIDOID:
			return TAG_UUID;
		case JSONBOID:
			return TAG_JSONB;
		case JSONOID:
			return TAG_JSON;
		default:
			if (typid == hash256_type_oid())
				return TAG_HASH256;
			if (typid == battery_id_type_oid())
				return TAG_BATTERY_ID;
			/* by label, not by pg_enum OID: labels are what replicas and dumps agree on */
			if (type_is_enum(typid))
				return TAG_ENUM;
			return 0;
	}
}

/*
 * Can values of typid be encoded?  One-dimensional arrays of supported
 * scalars are; everything else (composites, ranges, geometric types,
 * oids...) is refused, with *why saying so.
 */
bool
encodable_type(Oid typid, const char **why)
{
	Oid			base = getBaseType(typid);
	Oid			elem = get_element_type(base);

	if (OidIsValid(elem))
	{
		if (scalar_tag(elem) == 0)
		{
			*why = "Arrays are supported only of the supported scalar types.";
			return false;
		}
		return true;
	}
	if (scalar_tag(base) == 0)
	{
		*why = "The canonical encoding has no representation for this type.";
		return false;
	}
	return true;
}

static void
fill_column(EncColumn *col, Form_pg_attribute att)
{
	Oid			base = getBaseType(att->atttypid);
	Oid			elem = get_element_type(base);
	const char *why = NULL;
	const char *name = NameStr(att->attname);
	char	   *utf8;

	if (!encodable_type(att->atttypid, &why))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("column \"%s\" has unsupported type %s",
						name, format_type_be(att->atttypid)),
				 errdetail("%s", why),
				 errhint("Use one of the types listed in the canonical encoding specification, or cast the value to text.")));

	if (OidIsValid(elem))
	{
		col->tag = TAG_ARRAY;
		col->elemtag = scalar_tag(elem);
		col->elemtype = elem;
		get_typlenbyvalalign(elem, &col->elemlen, &col->elembyval, &col->elemalign);
	}
	else
		col->tag = scalar_tag(base);

	/*
	 * By name and type: row_bytes() and row_hash() take any record, whose
	 * ledger_origin may be an int; reading that as text dereferenced the
	 * integer (found by test/shell/sql_fuzz.sh and by review).
	 */
	col->omit_empty = strcmp(name, LEDGER_COL_ORIGIN) == 0 && col->tag == TAG_TEXT;
	utf8 = pg_server_to_any(name, strlen(name), PG_UTF8);
	col->namelen = strlen(utf8);
	col->name = pstrdup(utf8);
}

static int
column_name_cmp(const void *a, const void *b)
{
	const EncColumn *x = a;
	const EncColumn *y = b;
	int			c = memcmp(x->name, y->name, Min(x->namelen, y->namelen));

	return c != 0 ? c : x->namelen - y->namelen;
}

static bool
excluded_column(const char *name, EncoderKind kind)
{
	if (is_ledger_column_name(name))
		return true;
	/* the member signs content; where it lands (origin, time) the chain hash covers */
	return kind == ENCODE_SIGNING &&
		(strcmp(name, LEDGER_COL_SIG) == 0 || strcmp(name, LEDGER_COL_AT) == 0 ||
		 strcmp(name, LEDGER_COL_ORIGIN) == 0);
}

RowEncoder *
row_encoder_build(TupleDesc tupdesc, MemoryContext mcxt, EncoderKind kind)
{
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	RowEncoder *enc = palloc0(offsetof(RowEncoder, cols) +
							  sizeof(EncColumn) * Max(tupdesc->natts, 1));

	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (att->attisdropped || excluded_column(NameStr(att->attname), kind))
			continue;
		enc->cols[enc->ncols].attidx = i;
		fill_column(&enc->cols[enc->ncols], att);
		enc->ncols++;
	}
	qsort(enc->cols, enc->ncols, sizeof(EncColumn), column_name_cmp);
	MemoryContextSwitchTo(old);
	return enc;
}

/*
 * appendBinaryStringInfo() without its call when the bytes fit: a row is
 * encoded a few bytes at a time, and verify() spent a tenth of its time in
 * appendBinaryStringInfo() and enlargeStringInfo() (docs/benchmarks.md,
 * 0.8.0).  The same bytes, and the same terminating NUL.
 */
static inline void
put_bytes(StringInfo out, const void *p, int n)
{
	if (likely(out->len + n < out->maxlen))
	{
		memcpy(out->data + out->len, p, n);
		out->len += n;
		out->data[out->len] = '\0';
	}
	else
		appendBinaryStringInfo(out, p, n);
}

static inline void
put_u8(StringInfo out, uint8 v)
{
	appendStringInfoCharMacro(out, (char) v);
}

/*
 * v's low nbytes, big-endian.  nbytes is a constant at every call: the
 * byte swap and the copy compile to a few instructions, where the shifting
 * loop was a tenth of row_encode()'s own time (perf, v10).
 */
static inline void
put_be(StringInfo out, uint64 v, int nbytes)
{
	uint64		be = pg_hton64(v);

	put_bytes(out, (const char *) &be + (8 - nbytes), nbytes);
}

static void
put_utf8(StringInfo out, const char *s, int len)
{
	char	   *u = pg_server_to_any(s, len, PG_UTF8);

	put_bytes(out, u, u == s ? len : (int) strlen(u));
	if (u != s)
		pfree(u);
}

static void
put_cstring_utf8(StringInfo out, char *s)
{
	put_utf8(out, s, strlen(s));
	pfree(s);
}

/*
 * A finite numeric's text as numeric_out() prints it, written from the
 * value's stored form (numeric.c's on-disk layout: a 2-byte header, short
 * or followed by a 2-byte weight, then base-10000 digits): an optional '-',
 * the integer part's groups of four decimal digits with the first group's
 * leading zeros dropped ("0" if there is no integer part), then '.' and
 * exactly dscale fraction digits, missing digits written as zeros.  Each
 * group's four characters are '0' plus the digit's thousands, hundreds,
 * tens and units, and a leading zero is dropped while that character is not
 * above '0', as numeric_out() does, so the bytes are the same for any
 * stored digits.  numeric_out() was a fifth of the encoder's time in
 * verify() (its detoasted copy, palloc'd string, strlen and pfree; v10).
 * Returns false, having written nothing, for NaN and the infinities, a
 * compressed or external value, or text longer than 128 bytes: the caller
 * then calls numeric_out().
 */
#define NUM_FLAGS_MASK 0xC000
#define NUM_FLAG_NEG 0x4000
#define NUM_FLAG_SHORT 0x8000
#define NUM_FLAG_SPECIAL 0xC000
#define NUM_SHORT_NEG 0x2000
#define NUM_SHORT_DSCALE_MASK 0x1F80
#define NUM_SHORT_DSCALE_SHIFT 7
#define NUM_SHORT_WEIGHT_NEG 0x0040
#define NUM_SHORT_WEIGHT_MASK 0x003F
#define NUM_LONG_DSCALE_MASK 0x3FFF
#define NUM_TEXT_MAX 128

static bool
put_numeric_text(StringInfo out, Datum v)
{
	const struct varlena *p = (const struct varlena *) DatumGetPointer(v);
	const char *data;
	int			len;
	uint16		header;
	int			hdrlen;
	int			weight;
	int			dscale;
	bool		neg;
	int			ndigits;
	char		text[NUM_TEXT_MAX];
	int			t = 0;

	if (!VARATT_IS_SHORT(p) && !VARATT_IS_4B_U(p))
		return false;			/* compressed or external */
	data = VARDATA_ANY(p);
	len = VARSIZE_ANY_EXHDR(p);
	if (len < 2)
		return false;
	memcpy(&header, data, 2);
	switch (header & NUM_FLAGS_MASK)
	{
		case NUM_FLAG_SPECIAL:
			return false;
		case NUM_FLAG_SHORT:
			neg = (header & NUM_SHORT_NEG) != 0;
			dscale = (header & NUM_SHORT_DSCALE_MASK) >> NUM_SHORT_DSCALE_SHIFT;
			weight = (int) (header & NUM_SHORT_WEIGHT_MASK);
			if (header & NUM_SHORT_WEIGHT_NEG)
				weight -= NUM_SHORT_WEIGHT_MASK + 1;
			hdrlen = 2;
			break;
		default:
			{
				int16		w;

				if (len < 4)
					return false;
				neg = (header & NUM_FLAGS_MASK) == NUM_FLAG_NEG;
				dscale = header & NUM_LONG_DSCALE_MASK;
				memcpy(&w, data + 2, 2);
				weight = w;
				hdrlen = 4;
				break;
			}
	}
	ndigits = (len - hdrlen) / 2;
	/* sign, integer groups, '.', fraction */
	if (1 + (weight < 0 ? 1 : (weight + 1) * 4) + 1 + dscale > NUM_TEXT_MAX)
		return false;
	if (neg)
		text[t++] = '-';
	if (weight < 0)
		text[t++] = '0';
	for (int g = 0; g <= weight; g++)
	{
		int16		digit = 0;
		int			c[4];
		bool		lead = (g == 0);

		if (g < ndigits)
			memcpy(&digit, data + hdrlen + 2 * g, 2);
		c[0] = digit / 1000;
		c[1] = (digit % 1000) / 100;
		c[2] = (digit % 100) / 10;
		c[3] = digit % 10;
		for (int k = 0; k < 4; k++)
		{
			if (lead && k < 3 && c[k] <= 0)
				continue;
			lead = false;
			text[t++] = (char) ('0' + c[k]);
		}
	}
	if (dscale > 0)
	{
		text[t++] = '.';
		for (int k = 0; k < dscale; k++)
		{
			int			g = weight + 1 + k / 4;
			int16		digit = 0;
			int			c;

			if (g >= 0 && g < ndigits)
				memcpy(&digit, data + hdrlen + 2 * g, 2);
			switch (k % 4)
			{
				case 0:
					c = digit / 1000;
					break;
				case 1:
					c = (digit % 1000) / 100;
					break;
				case 2:
					c = (digit % 100) / 10;
					break;
				default:
					c = digit % 10;
					break;
			}
			text[t++] = (char) ('0' + c);
		}
	}
	put_bytes(out, text, t);
	return true;
}

/* Append the value bytes (no length) of one scalar. */
static void
put_scalar(StringInfo out, uint8 tag, Datum v)
{
	switch (tag)
	{
		case TAG_BOOL:
			put_u8(out, DatumGetBool(v) ? 1 : 0);
			break;
		case TAG_INT2:
			put_be(out, (uint16) DatumGetInt16(v), 2);
			break;
		case TAG_INT4:
			put_be(out, (uint32) DatumGetInt32(v), 4);
			break;
		case TAG_INT8:
			put_be(out, (uint64) DatumGetInt64(v), 8);
			break;
		case TAG_FLOAT4:
			{
				float4		f = DatumGetFloat4(v);
				uint32		bits;

				if (isnan(f))
					bits = 0x7fc00000;	/* one NaN, whatever its payload */
				else
					memcpy(&bits, &f, 4);
				put_be(out, bits, 4);
				break;
			}
		case TAG_FLOAT8:
			{
				float8		f = DatumGetFloat8(v);
				uint64		bits;

				if (isnan(f))
					bits = UINT64CONST(0x7ff8000000000000);
				else
					memcpy(&bits, &f, 8);
				put_be(out, bits, 8);
				break;
			}
		case TAG_NUMERIC:
			/* numeric_out ignores every setting: digits, '.', scale kept (ASCII) */
			if (!put_numeric_text(out, v))
				put_cstring_utf8(out, DatumGetCString(DirectFunctionCall1(numeric_out, v)));
			break;
		case TAG_TEXT:
		case TAG_JSON:
		case TAG_BATTERY_ID:
			{
				/* text, varchar, bpchar (padding kept); json as stored; battery_id canonical */
				text	   *t = DatumGetTextPP(v);

				put_utf8(out, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
				break;
			}
		case TAG_BYTEA:
			{
				bytea	   *b = DatumGetByteaPP(v);

				put_bytes(out, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
				break;
			}
		case TAG_DATE:
			/* days since 2000-01-01; -infinity/infinity are INT32 min/max */
			put_be(out, (uint32) DatumGetDateADT(v), 4);
			break;
		case TAG_TIMESTAMP:
		case TAG_TIMESTAMPTZ:
			/* microseconds since 2000-01-01 00:00:00 (UTC for timestamptz) */
			put_be(out, (uint64) DatumGetTimestamp(v), 8);
			break;
		case TAG_TIME:
			put_be(out, (uint64) DatumGetTimeADT(v), 8);
			break;
		case TAG_INTERVAL:
			{
				Interval   *iv = DatumGetIntervalP(v);

				put_be(out, (uint32) iv->month, 4);
				put_be(out, (uint32) iv->day, 4);
				put_be(out, (uint64) iv->time, 8);
				break;
			}
		case TAG_UUID:
			put_bytes(out, (char *) DatumGetUUIDP(v)->data, UUID_LEN);
			break;
		case TAG_JSONB:
			/* jsonb_out: keys sorted and deduplicated, fixed spacing */
			put_cstring_utf8(out, DatumGetCString(DirectFunctionCall1(jsonb_out, v)));
			break;
		case TAG_HASH256:
			put_bytes(out, (char *) DatumGetHash256P(v)->bytes, BL_HASH_LEN);
			break;
		case TAG_ENUM:
			{
				/*
				 * The label, not the OID (which differs between databases,
				 * dumps and members) nor the sort position (ALTER TYPE ... ADD
				 * VALUE BEFORE moves it).  A label is stable because the DDL
				 * guard refuses ALTER TYPE ... RENAME VALUE on an enum a
				 * ledger table uses.
				 */
				HeapTuple	tup = SearchSysCache1(ENUMOID, v);
				Form_pg_enum en;

				if (!HeapTupleIsValid(tup))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
							 errmsg("invalid internal value for enum: %u", DatumGetObjectId(v))));
				en = (Form_pg_enum) GETSTRUCT(tup);
				put_utf8(out, NameStr(en->enumlabel), strlen(NameStr(en->enumlabel)));
				ReleaseSysCache(tup);
				break;
			}
		default:
			elog(ERROR, "unexpected encoding tag %d", tag);
	}
}

static void
put_array(StringInfo out, const EncColumn *col, Datum v)
{
	ArrayType  *arr = DatumGetArrayTypeP(v);
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	StringInfoData ebuf;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("column \"%s\" holds a %d-dimensional array", col->name, ARR_NDIM(arr)),
				 errdetail("The canonical encoding supports one-dimensional arrays only.")));

	if (ARR_NDIM(arr) == 1 && ARR_LBOUND(arr)[0] != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("column \"%s\" holds an array whose first index is %d", col->name, ARR_LBOUND(arr)[0]),
				 errdetail("The canonical encoding supports arrays indexed from 1, so that equal bytes mean equal arrays.")));
	deconstruct_array(arr, col->elemtype, col->elemlen, col->elembyval,
					  col->elemalign, &elems, &enulls, &n);
	put_u8(out, col->elemtag);
	put_be(out, (uint32) n, 4);
	initStringInfo(&ebuf);
	for (int i = 0; i < n; i++)
	{
		if (enulls[i])
		{
			put_be(out, UINT64CONST(0xFFFFFFFF), 4);
			continue;
		}
		resetStringInfo(&ebuf);
		put_scalar(&ebuf, col->elemtag, elems[i]);
		put_be(out, (uint32) ebuf.len, 4);
		put_bytes(out, ebuf.data, ebuf.len);
	}
	pfree(ebuf.data);
}

/*
 * Append the canonical bytes of one row.  values/nulls are indexed like the
 * tuple descriptor the encoder was built from.
 */
void
row_encode(const RowEncoder *enc, Datum *values, bool *nulls, StringInfo out)
{
	int			present = 0;
	int			count_at;

	put_bytes(out, ROW_MAGIC, 4);
	count_at = out->len;
	put_be(out, 0, 2);			/* patched below */

	for (int i = 0; i < enc->ncols; i++)
	{
		const EncColumn *col = &enc->cols[i];
		int			len_at;
		uint32		vlen;

		if (nulls[col->attidx])
			continue;
		if (col->omit_empty && VARSIZE_ANY_EXHDR(DatumGetPointer(values[col->attidx])) == 0)
			continue;
		present++;
		put_u8(out, (uint8) col->namelen);
		put_bytes(out, col->name, col->namelen);
		put_u8(out, col->tag);
		len_at = out->len;
		put_be(out, 0, 4);		/* patched below */
		if (col->tag == TAG_ARRAY)
			put_array(out, col, values[col->attidx]);
		else
			put_scalar(out, col->tag, values[col->attidx]);
		vlen = pg_hton32((uint32) (out->len - len_at - 4));
		memcpy(out->data + len_at, &vlen, 4);
	}
	out->data[count_at] = (char) (present >> 8);
	out->data[count_at + 1] = (char) present;
}

/*
 * Signing bytes, version 2: the table the row is for, then its signing
 * encoding, so that a signature made for one table's row does not verify in
 * another's:  'B' 'L' 'S' 0x02, u16 table name length, table name (UTF-8,
 * "schema.table" as log leaves name it), row encoding.  tbl NULL: version 1,
 * the row encoding alone (rows signed before 0.3.0).
 */
static void
put_signing_prefix(StringInfo out, const char *tbl)
{
	char	   *utf8 = pg_server_to_any(tbl, strlen(tbl), PG_UTF8);
	size_t		len = strlen(utf8);

	/* two quoted identifiers of at most 63 bytes each (times 4 in UTF-8) and a dot */
	Assert(len <= 65535);
	put_bytes(out, SIGNING_MAGIC_V2, 4);
	put_be(out, (uint32) len, 2);
	put_bytes(out, utf8, len);
}

void
signing_encode(const RowEncoder *enc, const char *tbl, Datum *values, bool *nulls, StringInfo out)
{
	if (tbl != NULL)
		put_signing_prefix(out, tbl);
	row_encode(enc, values, nulls, out);
}

/* "schema.table" of a relation, as log leaves and signing bytes v2 name it. */
char *
ledger_table_name(Oid relid)
{
	return psprintf("%s.%s", get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
}

/* ---- SQL: row_bytes(record), row_hash(record), signing_bytes(record) ---- */

/* Encoder for one record type, cached in fn_extra: built once per query, not per row. */
typedef struct RecordEncoderCache
{
	Oid			typid;
	int32		typmod;
	EncoderKind kind;
	RowEncoder *enc;
} RecordEncoderCache;

void
record_encode(FunctionCallInfo fcinfo, HeapTupleHeader rec, EncoderKind kind,
			  StringInfo out)
{
	Oid			typid = HeapTupleHeaderGetTypeId(rec);
	int32		typmod = HeapTupleHeaderGetTypMod(rec);
	RecordEncoderCache *cache = fcinfo->flinfo->fn_extra;
	TupleDesc	tupdesc = lookup_rowtype_tupdesc(typid, typmod);
	HeapTupleData tuple;
	Datum	   *values = palloc(sizeof(Datum) * Max(tupdesc->natts, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(tupdesc->natts, 1));

	if (cache == NULL || cache->typid != typid || cache->typmod != typmod ||
		cache->kind != kind)
	{
		if (cache == NULL)
			cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RecordEncoderCache));
		cache->enc = row_encoder_build(tupdesc, fcinfo->flinfo->fn_mcxt, kind);
		cache->typid = typid;
		cache->typmod = typmod;
		cache->kind = kind;
		fcinfo->flinfo->fn_extra = cache;
	}
	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = rec;
	heap_deform_tuple(&tuple, tupdesc, values, nulls);
	ReleaseTupleDesc(tupdesc);
	row_encode(cache->enc, values, nulls, out);
}

static bytea *
stringinfo_to_bytea(StringInfo buf)
{
	bytea	   *result = palloc(VARHDRSZ + buf->len);

	SET_VARSIZE(result, VARHDRSZ + buf->len);
	memcpy(VARDATA(result), buf->data, buf->len);
	return result;
}

/* battledger.row_bytes(record) RETURNS bytea */
PG_FUNCTION_INFO_V1(battledger_row_bytes);
Datum
battledger_row_bytes(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	initStringInfo(&buf);
	record_encode(fcinfo, PG_GETARG_HEAPTUPLEHEADER(0), ENCODE_ROW, &buf);
	PG_RETURN_BYTEA_P(stringinfo_to_bytea(&buf));
}

static Datum
signing_bytes_for(FunctionCallInfo fcinfo, HeapTupleHeader rec, Oid relid)
{
	StringInfoData row;
	StringInfoData buf;

	if (get_rel_relkind(relid) != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("signing bytes name a table, and \"%s\" is not one", get_rel_name(relid)),
				 errhint("Pass the ledger table the row is for: battledger.signing_bytes(row, 'schema.table').")));
	initStringInfo(&row);
	record_encode(fcinfo, rec, ENCODE_SIGNING, &row);
	initStringInfo(&buf);
	put_signing_prefix(&buf, ledger_table_name(relid));
	put_bytes(&buf, row.data, row.len);
	PG_RETURN_BYTEA_P(stringinfo_to_bytea(&buf));
}

/*
 * battledger.signing_bytes(row record) RETURNS bytea
 *
 * What a member signs for a row: version 2, bound to the table whose row
 * type the record has.  A record of any other type names no table: refused.
 */
PG_FUNCTION_INFO_V1(battledger_signing_bytes);
Datum
battledger_signing_bytes(PG_FUNCTION_ARGS)
{
	HeapTupleHeader rec = PG_GETARG_HEAPTUPLEHEADER(0);
	Oid			relid = get_typ_typrelid(HeapTupleHeaderGetTypeId(rec));

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("signing_bytes() needs a row of a ledger table, not an anonymous record"),
				 errdetail("Signing bytes name the table the row is for."),
				 errhint("Build the row as the table's type, e.g. jsonb_populate_record(NULL::my_table, ...), or pass the table: battledger.signing_bytes(row, 'schema.table').")));
	return signing_bytes_for(fcinfo, rec, relid);
}

/*
 * battledger.signing_bytes(row record, tbl regclass) RETURNS bytea
 *
 * The same for a row built in another shape (a composite type with the
 * table's content columns): the table is named explicitly.
 */
PG_FUNCTION_INFO_V1(battledger_signing_bytes_for);
Datum
battledger_signing_bytes_for(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(1);

	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return signing_bytes_for(fcinfo, PG_GETARG_HEAPTUPLEHEADER(0), relid);
}

/*
 * battledger.signing_bytes_v1(row record) RETURNS bytea
 *
 * Version 1, for auditors re-checking rows signed before 0.3.0.
 */
PG_FUNCTION_INFO_V1(battledger_signing_bytes_v1);
Datum
battledger_signing_bytes_v1(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	initStringInfo(&buf);
	record_encode(fcinfo, PG_GETARG_HEAPTUPLEHEADER(0), ENCODE_SIGNING, &buf);
	PG_RETURN_BYTEA_P(stringinfo_to_bytea(&buf));
}

/* battledger.row_hash(record) RETURNS hash256 */
PG_FUNCTION_INFO_V1(battledger_row_hash);
Datum
battledger_row_hash(PG_FUNCTION_ARGS)
{
	StringInfoData buf;
	Hash256    *h = palloc(sizeof(Hash256));

	initStringInfo(&buf);
	record_encode(fcinfo, PG_GETARG_HEAPTUPLEHEADER(0), ENCODE_ROW, &buf);
	bl_hash_or_error(buf.data, buf.len, h->bytes);
	PG_RETURN_HASH256_P(h);
}

/* enable_ledger() helper: refuse a table with a column the encoding cannot represent. */
PG_FUNCTION_INFO_V1(battledger_check_encodable);
Datum
battledger_check_encodable(PG_FUNCTION_ARGS)
{
	Relation	rel;

	/* enable_ledger() calls it as the table's owner; nobody else has a reason to */
	if (get_rel_name(PG_GETARG_OID(0)) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", PG_GETARG_OID(0))));
	if (!bl_rel_ownercheck(PG_GETARG_OID(0), GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(PG_GETARG_OID(0)));
	rel = relation_open(PG_GETARG_OID(0), AccessShareLock);
	(void) row_encoder_build(RelationGetDescr(rel), CurrentMemoryContext, ENCODE_ROW);
	relation_close(rel, AccessShareLock);
	PG_RETURN_VOID();
}
