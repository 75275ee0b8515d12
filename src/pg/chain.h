/*
 * chain.h — the hash chains of ledger tables (chain.c): the chain hash, the
 * chain trigger's helpers, and the chain heads other modules look up.
 */
#ifndef BATTLEDGER_CHAIN_H
#define BATTLEDGER_CHAIN_H

#include "postgres.h"
#include "pg_compat.h"

#include "datatype/timestamp.h"
#include "fmgr.h"

#include "hash256.h"
#include "ledger_rel.h"

/* SHA-256(prev || seq (8 bytes, big-endian) || content): a row's ledger_hash. */
extern void chain_hash(const uint8 *prev, int64 seq, const char *content,
					   size_t content_len, uint8 *out);

/* ERROR unless called as a BEFORE INSERT FOR EACH ROW trigger */
extern void check_trigger_context(FunctionCallInfo fcinfo, const char *fname);

/* The ExecutorRun hook behind the statement head cache */
extern void chain_install_hooks(void);

/* Statements the hooks saw that are running now (log_entries.c tags rows with it) */
extern int	chain_statement_depth(void);

/*
 * The last (seq, hash) of the chain (origin, key) among positions
 * >= min_seq (0: all), seen with SnapshotSelf, and (signed tables, at not
 * NULL) its ledger_at; false if there is none.
 */
extern bool chain_head(Relation rel, LedgerRel *lr, Datum origin, Datum key, int64 min_seq,
					   int64 *seq, Hash256 *hash, TimestampTz *at);

/* The hash of the row at position seq of the chain (origin, key); false if none. */
extern bool chain_row_hash(Relation rel, LedgerRel *lr, Datum origin, Datum key, int64 seq,
						   Hash256 *hash);

#endif
