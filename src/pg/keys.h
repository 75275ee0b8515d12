/*
 * keys.h — members' public keys as the backend sees them: looked up by key
 * id, parsed once, cached until the key or member registry changes.
 */
#ifndef BATTLEDGER_KEYS_H
#define BATTLEDGER_KEYS_H

#include "postgres.h"
#include "pg_compat.h"

#include "access/tupdesc.h"
#include "datatype/timestamp.h"

#include "hash256.h"
#include "ledger_rel.h"

typedef struct KeyInfo
{
	Hash256		key_id;			/* hash key */
	bool		known;			/* false: cached "no such key" */
	char	   *member;
	void	   *pkey;			/* parsed Ed25519 public key (OpenSSL); NULL if weak */
	void	   *vctx;			/* OpenSSL context kept initialised to verify under pkey */
	const char *weak;			/* why the stored key is refused, or NULL */
	char	   *uncounted;		/* !known, yet a key_event row adds it: its
								 * member and origin (for the error's detail) */
	TimestampTz valid_from;
	TimestampTz valid_until;	/* DT_NOEND when open-ended */
	TimestampTz revoked_at;		/* DT_NOEND when never revoked */
	int			nroles;
	char	  **roles;			/* the member's current roles */
	char	   *added_by;		/* an origin found to have added the member
								 * (key_member_added_by()), or NULL */
} KeyInfo;

typedef enum KeyCheck
{
	KEY_OK,
	KEY_UNKNOWN,
	KEY_WEAK,					/* registered before weak keys were refused */
	KEY_NOT_YET_VALID,
	KEY_EXPIRED,
	KEY_REVOKED,
	KEY_WRONG_ROLE
} KeyCheck;

/* The key, or a KeyInfo with known = false.  Valid until the next key_lookup(). */
extern KeyInfo *key_lookup(const Hash256 *key_id);

/* Is the key usable at time t by a member holding one of roles (NULL: any role)? */
extern KeyCheck key_check(const KeyInfo *key, TimestampTz t, char **roles, int nroles);

/*
 * Was the key's member added by origin (a member_event "added" row under it;
 * with local, also one under the empty origin, a member added here before
 * battledger.origin was set)?  Whose rows an origin may sign.
 */
extern bool key_member_added_by(KeyInfo *key, const char *origin, bool local);

/* Raise the ERROR that matches a failed check. */
extern void key_check_report(KeyCheck check, const KeyInfo *key, TimestampTz t,
							 const char *what);

/*
 * Verify an Ed25519 signature; false if it does not verify.  Not const: the
 * key keeps its verifying context between calls.
 */
extern bool key_verify(KeyInfo *key, const char *msg, size_t len, const uint8 *sig);

/*
 * A row of battledger.key_event registering a public key: refused if the key
 * is weak (bl_ed25519_pub_is_acceptable), wherever the row comes from.  NULL
 * if the row is not such a row or its key is acceptable, else the problem
 * ("weak_key") with *detail, for the arrive trigger and verify().
 */
extern const char *key_row_problem(const LedgerRel *lr, TupleDesc desc, Datum *values,
								   bool *nulls, char **detail);

/* The same for a row written here, by the chain trigger: ERROR (BL018) if refused. */
extern void key_row_check_new(const LedgerRel *lr, TupleDesc desc, Datum *values, bool *nulls);

#endif
