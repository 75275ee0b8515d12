/*
 * sign.h — signed ledger rows and signed batches.
 */
#ifndef BATTLEDGER_SIGN_H
#define BATTLEDGER_SIGN_H

#include "postgres.h"
#include "pg_compat.h"

#include "datatype/timestamp.h"
#include "utils/relcache.h"

#include "ledger_rel.h"

/* Chain trigger: check a new row's signature (or its batch) at time now; ERROR if it fails. */
extern void sign_check_new_row(Relation rel, LedgerRel *lr, Datum *values, bool *nulls,
							   TimestampTz now);

/*
 * Chain trigger, after sign_check_new_row() accepted the row: its key judged
 * again at a later time (the predecessor's ledger_at); ERROR if not valid then.
 */
extern void sign_check_new_row_key(Relation rel, LedgerRel *lr, Datum *values, bool *nulls,
								   TimestampTz at);

/* Rows from other members: the same, and the member must hold one of the table's roles. */
extern const char *sign_check_arriving_row(Relation rel, LedgerRel *lr, Datum *values,
										   bool *nulls, char **detail);

/*
 * A row or batch from origin signed with key_id: "signer_not_hosted" (and
 * *detail) if the key's member is one origin did not add, else NULL.
 */
extern const char *sign_origin_problem(const Hash256 *key_id, const char *origin, char **detail);

/* Check this batch against its signed manifest when the transaction commits. */
extern void sign_defer_batch_check(const char *batch_id, const Hash256 *key_id);

/* verify(): why a stored row's signature does not check out, or NULL; batch rows return NULL. */
extern const char *sign_check_stored_row(LedgerRel *lr, Datum *values, bool *nulls,
										 char **detail);

/* verify() and commit: why a batch's rows do not match its signed manifest, or NULL. */
extern const char *batch_check(const char *batch_id, const Hash256 *key_id, Oid expect_tbl,
							   char **detail);

#endif
