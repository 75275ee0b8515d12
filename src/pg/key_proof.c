/*
 * key_proof.c — proofs of possession of members' keys (0.23.0).
 *
 * A key whose counted rows name two members (a member's superuser
 * registered a competitor's public key for its own member) signs for the
 * one member that proves it holds the private key, if exactly one does
 * (battledger.keys, sql/install/50_members_keys.sql).  The proof is an
 * Ed25519 signature by the key over bl_key_possession_message() (src/core,
 * shared with the CLI); docs/signatures.md gives the bytes.
 *
 * Two entry points: the message, for the holder to sign, and the check the
 * readers run on a battledger.key_proof row.  The check never raises: a
 * superuser can write any bytes into key_proof past its checks, and a
 * reader of keys (the key cache, every probe of a row's signer) must then
 * see a proof that does not count, not an error.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "ed25519.h"
#include "pg_compat.h"

/* The message bytes for member and pub (pub already 32 bytes long). */
static bytea *
possession_message(text *member, bytea *pub)
{
	size_t		mlen = VARSIZE_ANY_EXHDR(member);
	size_t		len = bl_key_possession_message(VARDATA_ANY(member), mlen,
												(const uint8_t *) VARDATA_ANY(pub), NULL);
	bytea	   *msg = palloc(VARHDRSZ + len);

	SET_VARSIZE(msg, VARHDRSZ + len);
	bl_key_possession_message(VARDATA_ANY(member), mlen, (const uint8_t *) VARDATA_ANY(pub),
							  (uint8_t *) VARDATA(msg));
	return msg;
}

/*
 * battledger.key_possession_message(member text, public_key bytea) RETURNS bytea:
 * what the holder of public_key signs to prove it holds the key for member.
 */
PG_FUNCTION_INFO_V1(battledger_key_possession_message);
Datum
battledger_key_possession_message(PG_FUNCTION_ARGS)
{
	text	   *member = PG_GETARG_TEXT_PP(0);
	bytea	   *pub = PG_GETARG_BYTEA_PP(1);

	if (VARSIZE_ANY_EXHDR(pub) != BL_ED25519_PUB_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an Ed25519 public key is 32 bytes, not %zu", (size_t) VARSIZE_ANY_EXHDR(pub))));
	PG_RETURN_BYTEA_P(possession_message(member, pub));
}

/*
 * battledger._key_possession_valid(member text, public_key bytea, signature bytea) RETURNS boolean:
 * does signature prove possession of public_key for member?  False, never
 * an error, for a malformed key or signature and for a weak key (under a
 * key of small order a signature made without any private key verifies).
 */
PG_FUNCTION_INFO_V1(battledger_key_possession_valid);
Datum
battledger_key_possession_valid(PG_FUNCTION_ARGS)
{
	text	   *member = PG_GETARG_TEXT_PP(0);
	bytea	   *pub = PG_GETARG_BYTEA_PP(1);
	bytea	   *sig = PG_GETARG_BYTEA_PP(2);
	bytea	   *msg;
	void	   *pkey;
	int			rc;

	if (VARSIZE_ANY_EXHDR(pub) != BL_ED25519_PUB_LEN || VARSIZE_ANY_EXHDR(sig) != BL_ED25519_SIG_LEN)
		PG_RETURN_BOOL(false);
	/* bl_ed25519_pub_new() gives no handle for a weak key */
	pkey = bl_ed25519_pub_new((const uint8_t *) VARDATA_ANY(pub));
	if (pkey == NULL)
		PG_RETURN_BOOL(false);
	msg = possession_message(member, pub);
	rc = bl_ed25519_verify(pkey, (const uint8_t *) VARDATA(msg), VARSIZE(msg) - VARHDRSZ,
						   (const uint8_t *) VARDATA_ANY(sig));
	bl_ed25519_pub_free(pkey);
	PG_RETURN_BOOL(rc == 1);
}
