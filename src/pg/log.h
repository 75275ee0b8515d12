/*
 * log.h — the member's transparency log (RFC 9162 Merkle tree of ledger rows).
 */
#ifndef BATTLEDGER_LOG_H
#define BATTLEDGER_LOG_H

#include "postgres.h"
#include "pg_compat.h"

#include "lib/stringinfo.h"

/*
 * log.c reaches these through this header (it includes no other of the
 * extension's headers for them).
 */
#include "hash256.h"
#include "origin_claim.h"
#include "pgutil.h"
#include "sqlstate.h"

extern char *bl_origin;
/* battledger.origin's assign hook, and how many assignments it has seen (log.c) */
extern void bl_origin_assign(const char *newval, void *extra);
extern uint64 bl_origin_generation(void);
extern char *bl_log_key_file;
extern int	bl_seal_checkpoint_every;
extern bool bl_seal_bulk_write;

/*
 * A private key file named by a setting, parsed once per backend and again
 * whenever the file's contents change (digest: SHA-256 of the file).
 */
typedef struct KeyFile
{
	void	   *key;
	char	   *path;
	uint8		digest[32];
} KeyFile;

extern void *key_file_load(KeyFile *kf, const char *path, const char *setting, bool missing_ok);

/* The leaf bytes of a ledger row (docs/transparency-log.md). */
extern void log_leaf_bytes(StringInfo out, const char *qualname, size_t namelen,
						   int64 seq, const uint8 *prev, const uint8 *row_hash);

/* This database's origin, validated; "" when battledger.origin is unset. */
extern const char *local_origin(void);

/*
 * The log queue (log_entries.c): the chain trigger records each row it chains;
 * the rows reach log_pending at their statement's end (the log trigger), or
 * at the latest when the transaction commits or is prepared.
 */
struct LedgerRel;
extern void log_queue_record(struct LedgerRel *lr, Datum origin, Datum key, int64 seq,
							 const Hash256 *prev, const Hash256 *row_hash, bool certain);
extern void log_queue_flush_finished(void);
extern void log_queue_install(void);

#endif
