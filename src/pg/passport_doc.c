/*
 * passport_doc.c — the registry's own passport document (format
 * battledger) assembled from a passport's source in one pass.
 *
 * Until 0.26.0 _passport_battledger() was one PL/pgSQL expression:
 * jsonb_build_object() level by level (each level copying every value of
 * the levels below it again), the usage values shaped by jsonb_each(), a
 * join and jsonb_object_agg(), nine _rated() calls each switching
 * search_path, jsonb_strip_nulls() over the whole, and _passport() then
 * concatenated the second-life section (one more copy of the whole): a
 * quarter of a legitimate-interest passport's instructions (issue 15).
 * Here every value of the source is read where it lies and copied once
 * into the document, nulls stripped as it is copied.  The document is the
 * same, byte for byte (test/shell/passport_doc.sh compares it with the
 * expression's on every battery, tier and source shape it builds):
 *
 *  - the fields and nesting of 0.25.0's expression; a value the source
 *    lacks, or holds as JSON null, is left out (jsonb_strip_nulls()), at
 *    every depth of the values copied; an object left empty stays;
 *  - a rated value: (src->'model'->>'x')::numeric, with numeric's own
 *    input function, so a value it would refuse raises the same error;
 *  - passportCeased: (src->>'ceased')::boolean, the same way;
 *  - the usage values: each key of src->'dynamic' that _dynamic_attribute
 *    names, under its name and with its unit, read from that table (the
 *    extension's schema, the function's own) by a plan kept for the
 *    session;
 *  - secondLife: src->'secondLife' as it is (0.25.0's _passport() added
 *    it after the nulls were stripped).
 *
 * Memory: the document is built in the caller's memory context; the
 * table's rows are copied out of SPI's before SPI_finish().  Not
 * executable by PUBLIC (sql/install/85_passport.sql).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "jsonb_push.h"

PG_FUNCTION_INFO_V1(bl_passport_battledger);

/* _dynamic_attribute's rows: key, passport name, unit */
typedef struct DynAttr
{
	char	   *key;
	char	   *name;
	char	   *unit;
} DynAttr;

/* the table's query, planned once a session (and again if the schema is renamed) */
static SPIPlanPtr dyn_plan = NULL;
static char *dyn_plan_schema = NULL;

/*
 * obj->key: the value under key of an object value (a container), NULL when
 * obj is NULL, not an object, or lacks the key (the -> operator's NULL).
 */
static JsonbValue *
field(JsonbValue *obj, const char *key)
{
	JsonbValue	k;

	if (obj == NULL || obj->type != jbvBinary || !JsonContainerIsObject(obj->val.binary.data))
		return NULL;
	bl_jsonb_set_cstring(&k, key, strlen(key));
	return findJsonbValueFromContainer(obj->val.binary.data, JB_FOBJECT, &k);
}

/* a path of fields: field(field(obj, a), b) ... */
static JsonbValue *
path(JsonbValue *obj, const char *a, const char *b, const char *c)
{
	JsonbValue *v = field(obj, a);

	if (b != NULL)
		v = field(v, b);
	if (c != NULL)
		v = field(v, c);
	return v;
}

/* a value that jsonb_strip_nulls() would leave out as an object's field */
static inline bool
is_none(JsonbValue *v)
{
	return v == NULL || v->type == jbvNull;
}

/*
 * Push v (a scalar or a container) as the current token's value (WJB_VALUE
 * or WJB_ELEM), every object's null-valued fields at any depth left out,
 * as jsonb_strip_nulls() does (array elements stay, nulls included).
 */
static void
push_stripped(JsonbParseState **ps, JsonbIteratorToken tok, JsonbValue *v)
{
	JsonbIterator *it;
	JsonbValue	x;
	JsonbIteratorToken r;

	if (v->type != jbvBinary)
	{
		pushJsonbValue(ps, tok, v);
		return;
	}
	it = JsonbIteratorInit(v->val.binary.data);
	while ((r = JsonbIteratorNext(&it, &x, false)) != WJB_DONE)
	{
		if (r == WJB_KEY)
		{
			JsonbValue	k = x;

			r = JsonbIteratorNext(&it, &x, false);
			if (r == WJB_VALUE && x.type == jbvNull)
				continue;
			pushJsonbValue(ps, WJB_KEY, &k);
		}
		/* a container's own begin and end tokens carry no value */
		pushJsonbValue(ps, r, (r == WJB_KEY || r == WJB_VALUE || r == WJB_ELEM) ? &x : NULL);
	}
}

/* a field of the document: key and v, left out when v is none */
static void
put(JsonbParseState **ps, const char *key, JsonbValue *v)
{
	if (is_none(v))
		return;
	bl_jsonb_push_key(ps, key);
	push_stripped(ps, WJB_VALUE, v);
}

/*
 * v->> as text (jsonb's ->> operator): NULL for none; a string's text, a
 * number's or boolean's output, a container's JSON text otherwise.
 */
static char *
as_text(JsonbValue *v)
{
	if (is_none(v))
		return NULL;
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvBinary:
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	return NULL;				/* not reached */
}

/*
 * A rated value, 0.25.0's _rated((src->'model'->>'col')::numeric, unit):
 * {"value": number, "unit": unit}, left out when the model has none.  The
 * model's rated columns are plain numeric, which a member's row may fill
 * with NaN or an infinity: those come out as to_jsonb() gives them, strings.
 */
static void
put_rated(JsonbParseState **ps, const char *key, JsonbValue *model, const char *col, const char *unit)
{
	char	   *t = as_text(field(model, col));
	Numeric		n;

	if (t == NULL)
		return;
	n = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(t),
											ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	bl_jsonb_push_key(ps, key);
	pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
	bl_jsonb_push_key(ps, "value");
	bl_jsonb_push_numeric(ps, WJB_VALUE, n);
	bl_jsonb_push_key(ps, "unit");
	bl_jsonb_push_cstring(ps, WJB_VALUE, unit, strlen(unit));
	pushJsonbValue(ps, WJB_END_OBJECT, NULL);
}

/*
 * _dynamic_attribute's rows, copied into the caller's memory; *n the
 * count.  schema: the extension's (the function's own).
 */
static DynAttr *
dynamic_attributes(const char *schema, int *n)
{
	MemoryContext caller = CurrentMemoryContext;
	DynAttr    *rows;
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (dyn_plan == NULL || dyn_plan_schema == NULL || strcmp(dyn_plan_schema, schema) != 0)
	{
		StringInfoData sql;
		SPIPlanPtr	plan;

		if (dyn_plan != NULL)
		{
			SPI_freeplan(dyn_plan);
			dyn_plan = NULL;
		}
		initStringInfo(&sql);
		appendStringInfo(&sql, "SELECT a.key, a.name, a.unit FROM %s._dynamic_attribute a",
						 quote_identifier(schema));
		plan = SPI_prepare(sql.data, 0, NULL);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		if (dyn_plan_schema != NULL)
			pfree(dyn_plan_schema);
		dyn_plan_schema = MemoryContextStrdup(TopMemoryContext, schema);
		dyn_plan = plan;
	}
	rc = SPI_execute_plan(dyn_plan, NULL, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading _dynamic_attribute failed: %s", SPI_result_code_string(rc));
	*n = (int) SPI_processed;
	rows = MemoryContextAlloc(caller, sizeof(DynAttr) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		char	   *k = SPI_getvalue(t, d, 1);
		char	   *nm = SPI_getvalue(t, d, 2);
		char	   *u = SPI_getvalue(t, d, 3);

		/* (key is the primary key; name and unit are NOT NULL) */
		if (k == NULL || nm == NULL || u == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("%s._dynamic_attribute has a NULL column", schema),
					 errdetail("Its key is the primary key and its name and unit are NOT NULL: the table was changed outside the extension."),
					 errhint("Put back its rows as the extension's install script writes them, or ALTER EXTENSION battledger UPDATE from a fresh install.")));
		rows[i].key = MemoryContextStrdup(caller, k);
		rows[i].name = MemoryContextStrdup(caller, nm);
		rows[i].unit = MemoryContextStrdup(caller, u);
	}
	SPI_finish();
	return rows;
}

/*
 * The usage values, 0.25.0's
 *   jsonb_object_agg(a.name, {value, unit, timestamp, basis, derivation,
 *                             setBy: {event, sequence, ledgerHash, leafIndex}})
 *   FROM jsonb_each(src->'dynamic' if an object) d JOIN _dynamic_attribute a ON a.key = d.key
 * under the key "dynamic"; left out when no key is named (the aggregate's NULL).
 */
static void
put_dynamic(JsonbParseState **ps, JsonbValue *dyn, const char *schema)
{
	DynAttr    *attrs = NULL;
	int			nattrs = 0;
	bool		begun = false;
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	x;
	JsonbIteratorToken r;

	if (dyn == NULL || dyn->type != jbvBinary || !JsonContainerIsObject(dyn->val.binary.data)
		|| JsonContainerSize(dyn->val.binary.data) == 0)
		return;
	attrs = dynamic_attributes(schema, &nattrs);
	it = JsonbIteratorInit(dyn->val.binary.data);
	while ((r = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		DynAttr    *a = NULL;

		if (r != WJB_KEY)
			continue;
		r = JsonbIteratorNext(&it, &x, true);
		Assert(r == WJB_VALUE);
		for (int i = 0; i < nattrs; i++)
			if (strlen(attrs[i].key) == (size_t) k.val.string.len
				&& memcmp(attrs[i].key, k.val.string.val, k.val.string.len) == 0)
			{
				a = &attrs[i];
				break;
			}
		if (a == NULL)
			continue;
		if (!begun)
		{
			bl_jsonb_push_key(ps, "dynamic");
			pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
			begun = true;
		}
		bl_jsonb_push_key(ps, a->name);
		pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
		put(ps, "value", field(&x, "value"));
		bl_jsonb_push_key(ps, "unit");
		bl_jsonb_push_cstring(ps, WJB_VALUE, a->unit, strlen(a->unit));
		put(ps, "timestamp", field(&x, "at"));
		put(ps, "basis", field(&x, "basis"));
		put(ps, "derivation", field(&x, "method"));
		bl_jsonb_push_key(ps, "setBy");
		pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
		put(ps, "event", field(&x, "event"));
		put(ps, "sequence", field(&x, "sequence"));
		put(ps, "ledgerHash", field(&x, "ledgerHash"));
		put(ps, "leafIndex", field(&x, "leafIndex"));
		pushJsonbValue(ps, WJB_END_OBJECT, NULL);
		pushJsonbValue(ps, WJB_END_OBJECT, NULL);
	}
	if (begun)
		pushJsonbValue(ps, WJB_END_OBJECT, NULL);
}

/*
 * _passport_battledger(src jsonb) RETURNS jsonb
 *
 * The battledger document of a passport's source (_passport()'s src, its
 * second-life section included).  A NULL or non-object source reads as
 * one without any field, as the expression did.
 */
Datum
bl_passport_battledger(PG_FUNCTION_ARGS)
{
	JsonbValue	root;
	JsonbValue *src = NULL;
	JsonbValue *model;
	JsonbValue *v;
	JsonbParseState *ps = NULL;
	JsonbValue *res;
	char	   *schema;
	char	   *t;

	/* what it is given: declared over anything but jsonb, it would read another type's bytes as jsonb */
	if (OidIsValid(get_fn_expr_argtype(fcinfo->flinfo, 0)) && get_fn_expr_argtype(fcinfo->flinfo, 0) != JSONBOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("_passport_battledger() takes one jsonb argument"),
				 errdetail("It was declared or called with %s.", format_type_be(get_fn_expr_argtype(fcinfo->flinfo, 0))),
				 errhint("Declare it as the extension's install script does: _passport_battledger(jsonb).")));
	schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
	if (schema == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("_passport_battledger() cannot find its schema")));
	if (!PG_ARGISNULL(0))
	{
		Jsonb	   *jb = PG_GETARG_JSONB_P(0);

		if (JB_ROOT_IS_OBJECT(jb))
		{
			root.type = jbvBinary;
			root.val.binary.data = &jb->root;
			root.val.binary.len = VARSIZE(jb) - VARHDRSZ;
			src = &root;
		}
	}
	model = field(src, "model");

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	put(&ps, "passportId", field(src, "passportId"));
	put(&ps, "batteryIdentifier", field(src, "battery"));
	put(&ps, "digitalLink", field(src, "digitalLink"));
	put(&ps, "batteryStatus", field(src, "status"));
	put(&ps, "passportHistory", field(src, "history"));

	bl_jsonb_push_key(&ps, "generalProductInformation");
	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	put(&ps, "batteryCategory", field(model, "category"));
	put(&ps, "manufacturerIdentification", field(model, "manufacturer"));
	/* as registered (battledger.operator_registration) or as the event declared: see basis */
	put(&ps, "manufacturerInformation", path(src, "manufactured", "data", "manufacturer"));
	put(&ps, "operatorInformation", path(src, "issued", "data", "operator"));
	put(&ps, "batteryModel", field(model, "model_id"));
	put(&ps, "manufacturingDate", path(src, "manufactured", "at", NULL));
	put(&ps, "manufacturingPlace", path(src, "manufactured", "data", "facility"));
	put(&ps, "manufacturingFacility", path(src, "manufactured", "facility", NULL));
	put(&ps, "puttingIntoService", field(src, "inService"));
	put_rated(&ps, "batteryMass", model, "mass_kg", "kg");
	pushJsonbValue(&ps, WJB_END_OBJECT, NULL);

	put(&ps, "batteryChemistry", field(model, "chemistry"));

	bl_jsonb_push_key(&ps, "performance");
	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	bl_jsonb_push_key(&ps, "rated");
	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	put_rated(&ps, "ratedCapacity", model, "rated_capacity_ah", "Ah");
	put_rated(&ps, "ratedEnergy", model, "rated_energy_kwh", "kWh");
	put_rated(&ps, "nominalVoltage", model, "nominal_voltage_v", "V");
	put_rated(&ps, "minimumVoltage", model, "min_voltage_v", "V");
	put_rated(&ps, "maximumVoltage", model, "max_voltage_v", "V");
	put_rated(&ps, "originalPowerCapability", model, "original_power_w", "W");
	put(&ps, "expectedLifetimeNumberOfChargeDischargeCycles", field(model, "expected_lifetime_cycles"));
	put_rated(&ps, "capacityThresholdForExhaustion", model, "capacity_threshold_pct", "%");
	pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	put_dynamic(&ps, field(src, "dynamic"), schema);
	pushJsonbValue(&ps, WJB_END_OBJECT, NULL);

	put(&ps, "materialComposition", field(src, "materials"));
	put(&ps, "recycledContent", field(model, "recycled_content"));

	bl_jsonb_push_key(&ps, "carbonFootprint");
	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	put_rated(&ps, "batteryCarbonFootprint", model, "carbon_footprint_kg_co2e_per_kwh", "kg CO2e/kWh");
	pushJsonbValue(&ps, WJB_END_OBJECT, NULL);

	v = field(src, "negativeEvents");
	if (v != NULL && v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data))
	{
		JsonbValue	n;

		n.type = jbvNumeric;
		n.val.numeric = int64_to_numeric(JsonContainerSize(v->val.binary.data));
		bl_jsonb_push_key(&ps, "negativeEvents");
		pushJsonbValue(&ps, WJB_VALUE, &n);
	}
	put(&ps, "testReports", field(src, "testReports"));
	t = as_text(field(src, "ceased"));
	if (t != NULL && DatumGetBool(DirectFunctionCall1(boolin, CStringGetDatum(t))))
	{
		JsonbValue	b;

		b.type = jbvBool;
		b.val.boolean = true;
		bl_jsonb_push_key(&ps, "passportCeased");
		pushJsonbValue(&ps, WJB_VALUE, &b);
	}
	put(&ps, "accessTier", field(src, "tier"));

	/* the second-life section as _passport() gave it, nulls and all */
	v = field(src, "secondLife");
	if (v != NULL)
	{
		bl_jsonb_push_key(&ps, "secondLife");
		pushJsonbValue(&ps, WJB_VALUE, v);
	}
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}
