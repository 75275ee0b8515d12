/*
 * log_proof.c — the proof SQL functions: inclusion and consistency proofs,
 * root, leaf, tlog_proof, checkpoint, the log's vkey and proof verification.
 * Part of the transparency log (log.c); log_internal.h joins its files.
 */
#include "log.h"
#include "log_internal.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/acl.h"
#include "utils/rls.h"
#include "utils/tuplestore.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "catalog/pg_trigger.h"
#include "utils/snapmgr.h"

#include "ed25519.h"
#include "ledger_rel.h"
#include "progress.h"
#include "merkle.h"
#include "note.h"

static ArrayType *
hashes_to_array(uint8 (*h)[HASH256_LEN], size_t n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (size_t i = 0; i < n; i++)
	{
		Hash256    *x = palloc(sizeof(Hash256));

		memcpy(x->bytes, h[i], HASH256_LEN);
		d[i] = PointerGetDatum(x);
	}
	return construct_array(d, (int) n, hash256_type_oid(), HASH256_LEN, false, TYPALIGN_CHAR);
}

/* hash256[] argument into a proof buffer; ERROR if malformed. */
static size_t
array_to_hashes(ArrayType *arr, uint8 (*out)[HASH256_LEN])
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("a proof is a one-dimensional array of hashes")));
	deconstruct_array(arr, hash256_type_oid(), HASH256_LEN, false, TYPALIGN_CHAR, &elems, &nulls, &n);
	if (n > BL_MERKLE_MAX_PROOF)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("a proof has at most %d hashes, not %d", BL_MERKLE_MAX_PROOF, n)));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							errmsg("a proof must not contain NULL hashes")));
		memcpy(out[i], DatumGetHash256P(elems[i])->bytes, HASH256_LEN);
	}
	return (size_t) n;
}

/* tree_size argument: NULL means the latest checkpoint's size. Caller is in SPI. */
static int64
resolve_tree_size(FunctionCallInfo fcinfo, int argno)
{
	int64		cp_size;
	uint8		cp_root[HASH256_LEN];

	if (!PG_ARGISNULL(argno))
		return PG_GETARG_INT64(argno);
	if (!latest_checkpoint(&cp_size, cp_root, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the log has no checkpoint yet"),
				 errhint("Call battledger.seal().")));
	return cp_size;
}

static size_t
inclusion_proof(int64 index, int64 size, uint8 (*proof)[HASH256_LEN])
{
	NodeSet    *ns = palloc0(sizeof(NodeSet));
	size_t		nn,
				np;

	if (bl_merkle_inclusion_nodes((uint64) index, (uint64) size, ns->levels, ns->idx, &nn) != 0)
		elog(ERROR, "bad proof arguments");
	ns->n = (int) nn;
	nodeset_fetch(ns);
	if (bl_merkle_inclusion_proof((uint64) index, (uint64) size, nodeset_get, ns, proof, &np) != 0)
		tree_error("a node of the inclusion proof is missing");
	return np;
}

PG_FUNCTION_INFO_V1(battledger_inclusion_proof);
Datum
battledger_inclusion_proof(PG_FUNCTION_ARGS)
{
	int			nest;
	int64		index,
				size,
				n;
	uint8		proof[BL_MERKLE_MAX_PROOF][HASH256_LEN];
	size_t		np;
	ArrayType  *result;
	MemoryContext caller = CurrentMemoryContext;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("leaf index must not be null")));
	index = PG_GETARG_INT64(0);
	nest = bl_spi_connect();
	n = log_size();
	size = resolve_tree_size(fcinfo, 1);
	check_range(size, 1, n, "tree size");
	check_range(index, 0, size - 1, "leaf index");
	np = inclusion_proof(index, size, proof);
	bl_spi_finish(nest);
	MemoryContextSwitchTo(caller);
	result = hashes_to_array(proof, np);
	PG_RETURN_ARRAYTYPE_P(result);
}

PG_FUNCTION_INFO_V1(battledger_consistency_proof);
Datum
battledger_consistency_proof(PG_FUNCTION_ARGS)
{
	int			nest;
	int64		size1 = PG_GETARG_INT64(0);
	int64		size2 = PG_GETARG_INT64(1);
	int64		n;
	NodeSet    *ns = palloc0(sizeof(NodeSet));
	uint8		proof[BL_MERKLE_MAX_PROOF][HASH256_LEN];
	size_t		nn,
				np;

	nest = bl_spi_connect();
	n = log_size();
	check_range(size2, 1, n, "tree size");
	if (size1 < 1 || size1 > size2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("size1 %lld is out of range", (long long) size1),
				 errdetail("A consistency proof needs 1 <= size1 <= size2 (%lld).", (long long) size2)));
	if (bl_merkle_consistency_nodes((uint64) size1, (uint64) size2, ns->levels, ns->idx, &nn) != 0)
		elog(ERROR, "bad proof arguments");
	ns->n = (int) nn;
	nodeset_fetch(ns);
	if (bl_merkle_consistency_proof((uint64) size1, (uint64) size2, nodeset_get, ns, proof, &np) != 0)
		tree_error("a node of the consistency proof is missing");
	bl_spi_finish(nest);
	PG_RETURN_ARRAYTYPE_P(hashes_to_array(proof, np));
}

PG_FUNCTION_INFO_V1(battledger_root);
Datum
battledger_root(PG_FUNCTION_ARGS)
{
	int			nest;
	int64		size = PG_GETARG_INT64(0);
	Hash256    *out = palloc(sizeof(Hash256));

	nest = bl_spi_connect();
	check_range(size, 0, log_size(), "tree size");
	root_at(size, out->bytes);
	bl_spi_finish(nest);
	PG_RETURN_HASH256_P(out);
}

PG_FUNCTION_INFO_V1(battledger_leaf);
Datum
battledger_leaf(PG_FUNCTION_ARGS)
{
	int			nest;
	int64		index = PG_GETARG_INT64(0);
	Oid			types[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(index)};
	StringInfoData buf;
	bytea	   *out;
	MemoryContext caller = CurrentMemoryContext;

	nest = bl_spi_connect();
	if (SPI_execute_with_args("SELECT tbl, seq, prev, row_hash FROM battledger.log_leaf WHERE leaf_index = $1",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.log_leaf");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("leaf index %lld is out of range", (long long) index),
				 errdetail("The log has %lld sealed leaves.", (long long) log_size())));
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		text	   *tbl = DatumGetTextPP(SPI_getbinval(t, d, 1, &isnull));

		MemoryContext spi = MemoryContextSwitchTo(caller);

		initStringInfo(&buf);
		MemoryContextSwitchTo(spi);
		log_leaf_bytes(&buf, VARDATA_ANY(tbl), VARSIZE_ANY_EXHDR(tbl),
					   DatumGetInt64(SPI_getbinval(t, d, 2, &isnull)),
					   DatumGetHash256P(SPI_getbinval(t, d, 3, &isnull))->bytes,
					   DatumGetHash256P(SPI_getbinval(t, d, 4, &isnull))->bytes);
	}
	bl_spi_finish(nest);
	out = palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(out, VARHDRSZ + buf.len);
	memcpy(VARDATA(out), buf.data, buf.len);
	PG_RETURN_BYTEA_P(out);
}

/*
 * The checkpoint a proof is given against: the latest, or with min_cosigs > 0
 * the latest that at least that many witnesses cosigned, with their
 * cosignature lines appended to the note.  Caller is in SPI.
 */
static SPIPlanPtr cosigned_plan = NULL;

static bool
cosigned_checkpoint(int64 index, int min_cosigs, int64 *size, char **note)
{
	Oid			types[3] = {TEXTOID, INT8OID, INT4OID};
	Datum		args[3] = {CStringGetTextDatum(local_origin()), Int64GetDatum(index), Int32GetDatum(min_cosigs)};
	StringInfoData buf;
	bool		isnull;

	/* planned once per backend: proofs are a hot path */
	if (cosigned_plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare("SELECT c.tree_size, c.note, array(SELECT s.line FROM battledger.cosignature s "
									   "  WHERE s.log_origin = $1 AND s.tree_size = c.tree_size AND s.root OPERATOR(battledger.=) c.root "
									   "  ORDER BY s.witness) AS lines "
									   "FROM battledger.checkpoint c WHERE c.tree_size > $2 AND "
									   "  (SELECT count(*) FROM battledger.cosignature s WHERE s.log_origin = $1 "
									   "    AND s.tree_size = c.tree_size AND s.root OPERATOR(battledger.=) c.root) >= $3 "
									   "ORDER BY c.tree_size DESC LIMIT 1", 3, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not plan the checkpoint query");
		cosigned_plan = plan;
	}
	if (SPI_execute_plan(cosigned_plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.checkpoint");
	if (SPI_processed != 1)
		return false;
	*size = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	initStringInfo(&buf);
	appendStringInfoString(&buf, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	{
		ArrayType  *lines = DatumGetArrayTypeP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
		Datum	   *elems;
		int			n;

		deconstruct_array(lines, TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &n);
		for (int i = 0; i < n; i++)
			appendStringInfo(&buf, "%s\n", TextDatumGetCString(elems[i]));
	}
	*note = buf.data;
	return true;
}

PG_FUNCTION_INFO_V1(battledger_tlog_proof);
Datum
battledger_tlog_proof(PG_FUNCTION_ARGS)
{
	int			nest;
	int64		index = PG_GETARG_INT64(0);
	int			min_cosigs = PG_GETARG_INT32(1);
	int64		size;
	char	   *note;
	uint8		proof[BL_MERKLE_MAX_PROOF][HASH256_LEN];
	size_t		np;
	char	   *bundle;
	text	   *result;
	MemoryContext caller = CurrentMemoryContext;

	nest = bl_spi_connect();
	check_range(index, 0, PG_INT64_MAX - 1, "leaf index");
	if (!cosigned_checkpoint(index, Max(min_cosigs, 0), &size, &note))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg(min_cosigs > 0 ? "no checkpoint covering leaf %lld has %d cosignatures yet"
						: "no checkpoint covers leaf %lld yet", (long long) index, min_cosigs),
				 errhint(min_cosigs > 0 ? "Wait for the witnesses to cosign, or ask for fewer."
						 : "Call battledger.seal().")));
	np = inclusion_proof(index, size, proof);
	bundle = bl_tlog_proof_format((uint64) index, (const uint8_t (*)[32]) proof, np, NULL, 0,
								  note, strlen(note));
	if (bundle == NULL)
		elog(ERROR, "could not format the proof");
	MemoryContextSwitchTo(caller);
	result = cstring_to_text(bundle);
	free(bundle);
	bl_spi_finish(nest);
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(battledger_checkpoint);
Datum
battledger_checkpoint(PG_FUNCTION_ARGS)
{
	int			nest;
	int64		size;
	uint8		root[HASH256_LEN];
	char	   *note;
	text	   *result = NULL;
	MemoryContext caller = CurrentMemoryContext;

	nest = bl_spi_connect();
	if (latest_checkpoint(&size, root, &note))
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		result = cstring_to_text(note);
		MemoryContextSwitchTo(spi);
	}
	bl_spi_finish(nest);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(result);
}

/* The log's verifier key (C2SP vkey), derived from the signing key file. */
PG_FUNCTION_INFO_V1(battledger_log_vkey);
Datum
battledger_log_vkey(PG_FUNCTION_ARGS)
{
	uint8		pub[32];
	char	   *vkey;
	text	   *result;

	if (bl_ed25519_raw_public(log_signing_key(false), pub) != 0)
		elog(ERROR, "could not derive the log's public key");
	vkey = bl_vkey_format(log_origin(), BL_NOTE_ALG_ED25519, pub);
	if (vkey == NULL)
		elog(ERROR, "could not format the verifier key");
	result = cstring_to_text(vkey);
	free(vkey);
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(battledger_verify_inclusion);
Datum
battledger_verify_inclusion(PG_FUNCTION_ARGS)
{
	bytea	   *leaf = PG_GETARG_BYTEA_PP(0);
	int64		index = PG_GETARG_INT64(1);
	int64		size = PG_GETARG_INT64(2);
	uint8		proof[BL_MERKLE_MAX_PROOF][HASH256_LEN];
	size_t		np = array_to_hashes(PG_GETARG_ARRAYTYPE_P(3), proof);
	Hash256    *root = PG_GETARG_HASH256_P(4);
	uint8		lh[HASH256_LEN];

	if (index < 0 || size < 1 || index >= size)
		PG_RETURN_BOOL(false);
	if (bl_merkle_leaf_hash(VARDATA_ANY(leaf), VARSIZE_ANY_EXHDR(leaf), lh) != 0)
		elog(ERROR, "could not hash the leaf");
	PG_RETURN_BOOL(bl_merkle_verify_inclusion((uint64) index, (uint64) size, lh,
											  (const uint8_t (*)[32]) proof, np, root->bytes) == 1);
}

PG_FUNCTION_INFO_V1(battledger_verify_consistency);
Datum
battledger_verify_consistency(PG_FUNCTION_ARGS)
{
	int64		size1 = PG_GETARG_INT64(0);
	int64		size2 = PG_GETARG_INT64(1);
	Hash256    *root1 = PG_GETARG_HASH256_P(2);
	Hash256    *root2 = PG_GETARG_HASH256_P(3);
	uint8		proof[BL_MERKLE_MAX_PROOF][HASH256_LEN];
	size_t		np = array_to_hashes(PG_GETARG_ARRAYTYPE_P(4), proof);

	if (size1 < 1 || size2 < size1)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(bl_merkle_verify_consistency((uint64) size1, (uint64) size2, root1->bytes,
												root2->bytes, (const uint8_t (*)[32]) proof, np) == 1);
}

