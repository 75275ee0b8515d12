/*
 * keys.c — the backend's cache of members' public keys.
 *
 * A signed insert names its key by id; the key, its validity period, its
 * revocation and its member's roles are read once through SPI from the
 * battledger.keys and battledger.members views (the member's row probed
 * alone, 0.24.0) and the parsed OpenSSL key is kept.  Inserting into member_event, key_event or key_proof (a proof of
 * possession can settle a contested key, 0.23.0) fires a statement trigger
 * that sends a relcache invalidation for that table; every backend's callback
 * then marks its cache stale, and the next lookup starts afresh.
 *
 * The keys view counts only the key rows whose origin added the member they
 * name (0.22.0): a key written past the hosting rule, or one two members'
 * rows count for, is not in it, so every signature check here (the chain
 * trigger, the arrival check, verify()) finds it unknown, as _signer() and
 * the registry's readers do; the one judgement is the view's, read here by
 * SPI, not mirrored.  Such a key's lookup also reads one of its raw rows,
 * for the error's detail only.  The view reads battledger.origin (a member
 * added under the empty origin was added here), so a change of that
 * setting clears the cache as well.
 *
 * Weak public keys (bl_ed25519_pub_is_acceptable: small order, non-canonical,
 * no curve point) are refused when a key row is written here or arrives from
 * another member (key_row_problem, below).  One stored before they were
 * refused is still looked up, but gets no OpenSSL handle: key_check() reports
 * it, and no signature verifies under it, so verify() flags its rows.
 */
#include "postgres.h"

#include "keys.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "ed25519.h"

#include "hash256.h"
#include "ledger_rel.h"
#include "log.h"
#include "pgutil.h"
#include "sqlstate.h"

static HTAB *key_cache = NULL;
static MemoryContext key_cxt = NULL;
static bool key_cache_stale = false;
static bool key_callback_registered = false;
static uint64 key_origin_gen = 0;	/* bl_origin_generation() when filled */
static SPIPlanPtr key_fill_plan = NULL; /* key_fill()'s query, kept */
static SPIPlanPtr added_by_plan = NULL;	/* key_member_added_by()'s, kept */
static SPIPlanPtr added_by_old_plan = NULL;	/* the same before 0.23.0's _member_hosts */

static void
key_cache_reset(void)
{
	HASH_SEQ_STATUS status;
	KeyInfo    *k;

	if (key_cache == NULL)
		return;
	/* OpenSSL objects live outside memory contexts: free them first */
	hash_seq_init(&status, key_cache);
	while ((k = hash_seq_search(&status)) != NULL)
	{
		if (k->vctx)
			bl_ed25519_verify_ctx_free(k->vctx);
		if (k->pkey)
			bl_ed25519_pub_free(k->pkey);
	}
	MemoryContextDelete(key_cxt);
	key_cache = NULL;
	key_cxt = NULL;
}

static void
key_relcache_callback(Datum arg, Oid relid)
{
	/* cheap and safe at any moment: only mark; the next lookup clears */
	key_cache_stale = true;
}

static void
key_cache_init(void)
{
	HASHCTL		ctl;

	if (!key_callback_registered)
	{
		/*
		 * Any relcache invalidation marks the cache stale: the extension's
		 * trigger sends one for member_event / key_event on every insert, and
		 * other invalidations are rare enough that a refill costs nothing.
		 */
		CacheRegisterRelcacheCallback(key_relcache_callback, (Datum) 0);
		key_callback_registered = true;
	}
	if (key_cache_stale || key_origin_gen != bl_origin_generation())
		key_cache_reset();
	key_cache_stale = false;
	key_origin_gen = bl_origin_generation();
	if (key_cache)
		return;
	key_cxt = AllocSetContextCreate(CacheMemoryContext, "battledger keys",
									ALLOCSET_SMALL_SIZES);
	ctl.keysize = sizeof(Hash256);
	ctl.entrysize = sizeof(KeyInfo);
	ctl.hcxt = key_cxt;
	key_cache = hash_create("battledger keys", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static TimestampTz
timestamp_or_noend(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? DT_NOEND : DatumGetTimestampTz(d);
}

static void
key_fill(KeyInfo *k)
{
	int			nest;
	Oid			argtypes[1] = {BYTEAOID};
	Datum		args[1];
	bytea	   *idbytes = palloc(VARHDRSZ + BL_HASH_LEN);
	int			rc;
	SPIPlanPtr	plan;

	SET_VARSIZE(idbytes, VARHDRSZ + BL_HASH_LEN);
	memcpy(VARDATA(idbytes), k->key_id.bytes, BL_HASH_LEN);
	args[0] = PointerGetDatum(idbytes);

	nest = bl_spi_connect();
	/*
	 * The latest committed state, not this transaction's snapshot: an entry
	 * filled from an old snapshot could outlive the invalidation that a
	 * revocation sent.
	 */
	/*
	 * The member's roles: the members view probed for the key's member, a
	 * subquery kept apart (OFFSET 0) so that the member reaches the view's
	 * DISTINCT ON as a condition; joined to the view, the planner worked out
	 * every member's row on each miss (about 2 ms at 1,600 member rows;
	 * 0.24.0, issue 15).  The same rows as the join, from the views every
	 * release has (the library serves older installed versions until they
	 * are updated).  The plan is kept for the session (planning the views
	 * was most of what a miss cost; the plan cache replans it when they
	 * change), generic: a probe by key.
	 */
	if (key_fill_plan == NULL)
	{
		plan = SPI_prepare_cursor("SELECT k.member, k.public_key, k.valid_from, k.valid_until, k.revoked_at, m.roles::text "
								  "  FROM battledger.keys k "
								  " CROSS JOIN LATERAL (SELECT m.roles FROM battledger.members m "
								  "                      WHERE m.member = k.member OFFSET 0) m "
								  " WHERE k.key_id OPERATOR(battledger.=) $1::battledger.hash256",
								  1, argtypes, CURSOR_OPT_NO_SCROLL | CURSOR_OPT_GENERIC_PLAN);
		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the key lookup");
		key_fill_plan = plan;
	}
	rc = SPI_execute_snapshot(key_fill_plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot, true, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read battledger.keys");
	k->known = SPI_processed == 1;
	k->pkey = NULL;
	k->vctx = NULL;
	k->weak = NULL;
	k->uncounted = NULL;
	k->added_by = NULL;
	if (k->known)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		bytea	   *pub = DatumGetByteaPP(SPI_getbinval(tup, desc, 2, &isnull));

		k->member = MemoryContextStrdup(key_cxt, SPI_getvalue(tup, desc, 1));
		k->valid_from = timestamp_or_noend(tup, desc, 3);
		k->valid_until = timestamp_or_noend(tup, desc, 4);
		k->revoked_at = timestamp_or_noend(tup, desc, 5);
		k->roles = parse_role_list(SPI_getvalue(tup, desc, 6), &k->nroles, key_cxt);
		if (VARSIZE_ANY_EXHDR(pub) == BL_ED25519_PUB_LEN &&
			bl_ed25519_pub_is_acceptable((const uint8_t *) VARDATA_ANY(pub), &k->weak))
			k->pkey = bl_ed25519_pub_new((const uint8_t *) VARDATA_ANY(pub));
		if (k->pkey == NULL && k->weak == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("registered key %s cannot be parsed as an Ed25519 public key",
							hash256_to_hex(&k->key_id))));
	}
	else
	{
		/*
		 * Not counted: say why if a row adds it (for the error only; the
		 * first in registry order, so that the message is the same on
		 * every member)
		 */
		plan = SPI_prepare("SELECT format('\"%s\", by origin \"%s\"', k.member, k.ledger_origin) "
						   "  FROM battledger.key_event k "
						   " WHERE k.key_id OPERATOR(battledger.=) $1::battledger.hash256 AND k.event = 'added' "
						   " ORDER BY k.at, k.ledger_origin, k.ledger_seq",
						   1, argtypes);
		if (plan == NULL)
			elog(ERROR, "could not prepare the key row lookup");
		rc = SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot, true, false, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "could not read battledger.key_event");
		if (SPI_processed == 1)
			k->uncounted = MemoryContextStrdup(key_cxt, SPI_getvalue(SPI_tuptable->vals[0],
																	  SPI_tuptable->tupdesc, 1));
	}
	bl_spi_finish(nest);
}

KeyInfo *
key_lookup(const Hash256 *key_id)
{
	KeyInfo    *k;
	bool		found;

	key_cache_init();
	k = hash_search(key_cache, key_id, HASH_ENTER, &found);
	if (!found)
	{
		k->known = false;
		k->pkey = NULL;
		k->vctx = NULL;
		k->weak = NULL;
		k->uncounted = NULL;
		k->added_by = NULL;
		PG_TRY();
		{
			key_fill(k);
		}
		PG_CATCH();
		{
			hash_search(key_cache, key_id, HASH_REMOVE, NULL);
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	return k;
}

/*
 * Whether origin added the key's member (red team rt27 H1): a signature
 * covers a row's content, not where the row is written (its signing bytes
 * leave out ledger_origin and ledger_at), so a member's signed row, or
 * batch, copied by anybody allowed to INSERT (PUBLIC may, on the registry's
 * tables) into another member's database before the member's own copy
 * arrived there verified as its member's, was stored under that database's
 * origin, and the original was then refused there as a unique_conflict
 * (the signature's unique index), stopping the subscription.  An origin
 * writes the rows of the members it added, as the registry reads hosting
 * (_member_hosts: a member_event "added" row under the origin; the empty
 * origin is this database's, rows from elsewhere never carry it).  A
 * positive answer is kept with the key until the key cache is next cleared
 * (any change of the member or key registry); a negative one is asked again,
 * as it refuses the row.  Read from the latest committed state, as
 * key_fill() reads the key.
 */
bool
key_member_added_by(KeyInfo *key, const char *origin, bool local)
{
	int			nest;
	Oid			argtypes[3] = {TEXTOID, TEXTOID, BOOLOID};
	Datum		args[3];
	bool		found;

	if (!key->known || key->member == NULL)
		return false;
	if (key->added_by != NULL && strcmp(key->added_by, origin) == 0)
		return true;
	args[0] = CStringGetTextDatum(key->member);
	args[1] = CStringGetTextDatum(origin);
	args[2] = BoolGetDatum(local);
	/*
	 * hosting as the registry reads it (_member_hosts, host_pin), not any
	 * row adding the member: a member's superuser that added a competitor's
	 * member again past its rules (a row that counts for nothing where the
	 * pin is the competitor's) passed, and its copies of the competitor's
	 * rows were stored here (red team rt27c I1).  The view counts an
	 * empty-origin adding row for this database's origin as well, so local
	 * needs no more.  A database whose extension is older than the view
	 * (before 0.23.0; this library is loaded before ALTER EXTENSION UPDATE runs)
	 * has no host pins: there any adding row of the origin counts, as
	 * before 0.23.0 for keys.
	 */
	nest = bl_spi_connect();
	{
		Oid			nsp = get_namespace_oid("battledger", true);
		bool		view = OidIsValid(nsp) && OidIsValid(get_relname_relid("_member_hosts", nsp));
		SPIPlanPtr *plan = view ? &added_by_plan : &added_by_old_plan;

		if (*plan == NULL)
		{
			SPIPlanPtr	p = SPI_prepare(view
										? "SELECT 1 FROM battledger._member_hosts h "
										"  WHERE h.member = $1 "
										"    AND ($2 = ANY (h.origins) OR ($3 AND '' = ANY (h.origins)))"
										: "SELECT 1 FROM battledger.member_event e "
										"  WHERE e.member = $1 AND e.event = 'added' "
										"    AND (e.ledger_origin = $2 OR ($3 AND e.ledger_origin = ''))",
										3, argtypes);

			if (p == NULL || SPI_keepplan(p) != 0)
				elog(ERROR, "could not prepare the member host lookup");
			*plan = p;
		}
		if (SPI_execute_snapshot(*plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
								 true, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the members' hosts");
	}
	found = SPI_processed == 1;
	bl_spi_finish(nest);
	if (found && key_cxt != NULL)
		key->added_by = MemoryContextStrdup(key_cxt, origin);
	return found;
}

KeyCheck
key_check(const KeyInfo *key, TimestampTz t, char **roles, int nroles)
{
	if (!key->known)
		return KEY_UNKNOWN;
	if (key->weak)
		return KEY_WEAK;
	if (t < key->valid_from)
		return KEY_NOT_YET_VALID;
	if (t >= key->revoked_at)
		return KEY_REVOKED;
	if (t >= key->valid_until)
		return KEY_EXPIRED;
	if (roles == NULL)
		return KEY_OK;
	for (int i = 0; i < nroles; i++)
		for (int j = 0; j < key->nroles; j++)
			if (strcmp(roles[i], key->roles[j]) == 0)
				return KEY_OK;
	return KEY_WRONG_ROLE;
}

static char *
key_id_text(const KeyInfo *key)
{
	return hash256_to_hex(&key->key_id);
}

void
key_check_report(KeyCheck check, const KeyInfo *key, TimestampTz t, const char *what)
{
	switch (check)
	{
		case KEY_OK:
			return;
		case KEY_UNKNOWN:
			if (key->uncounted)
				ereport(ERROR,
						(errcode(ERRCODE_SIG_UNKNOWN_KEY),
						 errmsg("%s is signed with a key that signs for no member", what),
						 errdetail("Key %s is added for member %s, but no row adding it counts: a key row counts only where its origin added the member it names, and a key counted for two members signs for neither unless exactly one of them proved possession of it.",
								   key_id_text(key), key->uncounted),
						 errhint("battledger.registry_conflicts() names such key rows (key_not_hosted, key_registered_twice). Register the key where its member was added; a key registered for two members signs for the one whose holder proves it with battledger.prove_key().")));
			ereport(ERROR,
					(errcode(ERRCODE_SIG_UNKNOWN_KEY),
					 errmsg("%s is signed with an unknown key", what),
					 errdetail("No member has registered key %s.", key_id_text(key)),
					 errhint("Register the member's public key with battledger.add_key().")));
			break;
		case KEY_WEAK:
			ereport(ERROR,
					(errcode(ERRCODE_KEY_WEAK),
					 errmsg("%s is signed with a weak key", what),
					 errdetail("Key %s of member \"%s\" is %s.",
							   key_id_text(key), key->member, key->weak),
					 errhint("The key was registered before such keys were refused: revoke it with battledger.revoke_key() and register a new one.")));
			break;
		case KEY_NOT_YET_VALID:
			ereport(ERROR,
					(errcode(ERRCODE_SIG_KEY_NOT_YET_VALID),
					 errmsg("%s is signed with a key that is not yet valid", what),
					 errdetail("Key %s of member \"%s\" is valid from %s; the time is %s.",
							   key_id_text(key), key->member,
							   timestamptz_to_str(key->valid_from), timestamptz_to_str(t))));
			break;
		case KEY_EXPIRED:
			ereport(ERROR,
					(errcode(ERRCODE_SIG_KEY_EXPIRED),
					 errmsg("%s is signed with an expired key", what),
					 errdetail("Key %s of member \"%s\" was valid until %s; the time is %s.",
							   key_id_text(key), key->member,
							   timestamptz_to_str(key->valid_until), timestamptz_to_str(t))));
			break;
		case KEY_REVOKED:
			ereport(ERROR,
					(errcode(ERRCODE_SIG_KEY_REVOKED),
					 errmsg("%s is signed with a revoked key", what),
					 errdetail("Key %s of member \"%s\" was revoked at %s.",
							   key_id_text(key), key->member, timestamptz_to_str(key->revoked_at))));
			break;
		case KEY_WRONG_ROLE:
			ereport(ERROR,
					(errcode(ERRCODE_SIG_ROLE),
					 errmsg("member \"%s\" may not sign %s", key->member, what),
					 errdetail("The member's roles do not include one of the roles allowed to sign it.")));
			break;
	}
}

bool
key_verify(KeyInfo *key, const char *msg, size_t len, const uint8 *sig)
{
	int			rc;

	/* a weak key has no handle: nothing verifies under it */
	if (key->pkey == NULL)
		return false;
	/* the context lives as long as the cache entry: key_cache_reset frees both */
	rc = bl_ed25519_verify_ctx(&key->vctx, key->pkey, (const uint8_t *) msg, len, sig);
	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not verify an Ed25519 signature"),
				 errdetail("OpenSSL's verification failed for a reason other than a bad signature.")));
	return rc == 1;
}

/* The column of a battledger.key_event row, checked by name and type. */
static AttrNumber
key_event_column(TupleDesc desc, const char *name, Oid typid)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
		{
			if (att->atttypid != typid)
				break;
			return att->attnum;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("battledger.key_event has no column \"%s\" of type %s", name, format_type_be(typid))));
	return InvalidAttrNumber;	/* keep the compiler quiet */
}

/*
 * Why the key a battledger.key_event row registers is refused, or NULL (also
 * for rows of other tables and rows that register no key).  *member gets the
 * member the row names.  Rows of other lengths are left to the table's CHECK.
 */
static const char *
key_row_weakness(const LedgerRel *lr, TupleDesc desc, Datum *values, bool *nulls,
				 const char **member)
{
	AttrNumber	pub_att;
	AttrNumber	member_att;
	bytea	   *pub;
	const char *why = NULL;

	if (!lr->is_key_event)
		return NULL;
	pub_att = key_event_column(desc, "public_key", BYTEAOID);
	member_att = key_event_column(desc, "member", TEXTOID);
	if (nulls[pub_att - 1])
		return NULL;
	pub = DatumGetByteaPP(values[pub_att - 1]);
	if (VARSIZE_ANY_EXHDR(pub) != BL_ED25519_PUB_LEN ||
		bl_ed25519_pub_is_acceptable((const uint8_t *) VARDATA_ANY(pub), &why))
		return NULL;
	*member = nulls[member_att - 1] ? "?" : TextDatumGetCString(values[member_att - 1]);
	return why;
}

const char *
key_row_problem(const LedgerRel *lr, TupleDesc desc, Datum *values, bool *nulls, char **detail)
{
	const char *member;
	const char *why = key_row_weakness(lr, desc, values, nulls, &member);

	if (why == NULL)
		return NULL;
	*detail = psprintf("The Ed25519 public key registered for member \"%s\" is %s.", member, why);
	return "weak_key";
}

void
key_row_check_new(const LedgerRel *lr, TupleDesc desc, Datum *values, bool *nulls)
{
	const char *member;
	const char *why = key_row_weakness(lr, desc, values, nulls, &member);

	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_KEY_WEAK),
				 errmsg("weak Ed25519 public key for member \"%s\" refused", member),
				 errdetail("The key is %s.", why),
				 errhint("Register the public key of a key pair made by battledger keygen or openssl genpkey -algorithm ed25519.")));
}

/* battledger._keys_changed() RETURNS trigger: the AFTER INSERT statement trigger on member_event / key_event. */
PG_FUNCTION_INFO_V1(battledger_keys_changed);
Datum
battledger_keys_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("battledger._keys_changed() must be called as a trigger")));
	/*
	 * It returns NULL, which a BEFORE or INSTEAD OF row trigger takes for
	 * "skip this row": attached anywhere else it would drop rows silently
	 * (red team r16b T2).
	 */
	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("battledger._keys_changed() must fire AFTER, FOR EACH STATEMENT"),
				 errdetail("It is the statement trigger on battledger.member_event, battledger.key_event and battledger.key_proof.")));
	CacheInvalidateRelcache(td->tg_relation);
	return PointerGetDatum(NULL);
}

/* ---- SQL helpers ---- */

/* battledger.key_id(public_key bytea) RETURNS hash256 */
PG_FUNCTION_INFO_V1(battledger_key_id);
Datum
battledger_key_id(PG_FUNCTION_ARGS)
{
	bytea	   *pub = PG_GETARG_BYTEA_PP(0);
	Hash256    *id = palloc(sizeof(Hash256));

	if (VARSIZE_ANY_EXHDR(pub) != BL_ED25519_PUB_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an Ed25519 public key is 32 bytes, not %zu", (size_t) VARSIZE_ANY_EXHDR(pub)),
				 errhint("Pass the raw key, or its PEM text to battledger.public_key_from_pem().")));
	bl_key_id((const uint8_t *) VARDATA_ANY(pub), id->bytes);
	PG_RETURN_HASH256_P(id);
}

/* battledger.public_key_from_pem(pem text) RETURNS bytea */
PG_FUNCTION_INFO_V1(battledger_public_key_from_pem);
Datum
battledger_public_key_from_pem(PG_FUNCTION_ARGS)
{
	text	   *pem = PG_GETARG_TEXT_PP(0);
	bytea	   *out = palloc(VARHDRSZ + BL_ED25519_PUB_LEN);

	if (bl_ed25519_pub_from_pem(VARDATA_ANY(pem), VARSIZE_ANY_EXHDR(pem),
								(uint8_t *) VARDATA(out)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid Ed25519 public key PEM"),
				 errdetail("Expected a \"-----BEGIN PUBLIC KEY-----\" block holding an Ed25519 SubjectPublicKeyInfo."),
				 errhint("Produce one with: openssl pkey -in member.key -pubout")));
	SET_VARSIZE(out, VARHDRSZ + BL_ED25519_PUB_LEN);
	PG_RETURN_BYTEA_P(out);
}

/*
 * battledger.ed25519_verify(public_key bytea, message bytea, signature bytea)
 * RETURNS boolean.  A weak public key is an ERROR (BL018), not false: under it
 * "true" is what anybody can produce, so the question has no answer.
 */
PG_FUNCTION_INFO_V1(battledger_ed25519_verify);
Datum
battledger_ed25519_verify(PG_FUNCTION_ARGS)
{
	bytea	   *pub = PG_GETARG_BYTEA_PP(0);
	bytea	   *msg = PG_GETARG_BYTEA_PP(1);
	bytea	   *sig = PG_GETARG_BYTEA_PP(2);
	void	   *pkey;
	int			rc;

	if (VARSIZE_ANY_EXHDR(pub) != BL_ED25519_PUB_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an Ed25519 public key is 32 bytes, not %zu", (size_t) VARSIZE_ANY_EXHDR(pub))));
	if (VARSIZE_ANY_EXHDR(sig) != 64)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an Ed25519 signature is 64 bytes, not %zu", (size_t) VARSIZE_ANY_EXHDR(sig))));
	{
		const char *why;

		if (!bl_ed25519_pub_is_acceptable((const uint8_t *) VARDATA_ANY(pub), &why))
			ereport(ERROR,
					(errcode(ERRCODE_KEY_WEAK),
					 errmsg("weak Ed25519 public key"),
					 errdetail("The key is %s.", why)));
	}
	pkey = bl_ed25519_pub_new((const uint8_t *) VARDATA_ANY(pub));
	if (pkey == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid Ed25519 public key")));
	rc = bl_ed25519_verify(pkey, (const uint8_t *) VARDATA_ANY(msg), VARSIZE_ANY_EXHDR(msg),
						   (const uint8_t *) VARDATA_ANY(sig));
	bl_ed25519_pub_free(pkey);
	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not verify an Ed25519 signature")));
	PG_RETURN_BOOL(rc == 1);
}
