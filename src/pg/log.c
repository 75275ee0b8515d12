/*
 * log.c — the member's transparency log.
 *
 * Every ledger row becomes one leaf of an RFC 6962 Merkle tree when sealed.
 * The chain trigger records, and the log trigger writes, (table, seq, prev,
 * hash) of each inserted row in log_pending (log_entries.c), an unlogged
 * table (no WAL per queued row; rebuilt from the tables after a crash); seal()
 * takes every committed queued row, assigns dense leaf indexes, stores the
 * leaf (log_leaf, level 0) and the completed nodes of tree levels 8, 16, ...
 * in tiles of 256 (log_tile, C2SP tlog-tiles' layout), and signs a C2SP checkpoint with the key named by
 * battledger.log_key_file.  seal() writes leaves and tiles in bulk
 * (table_multi_insert and direct index inserts) unless a trigger or row
 * security on the log's tables needs the SQL statements it used before 0.5.0.
 * Proofs recompute their O(log n) nodes from one tile per tile level and
 * 256-leaf ranges of log_leaf, read with one query and one index scan.  Before signing, seal() checks that the stored tree still yields the
 * last checkpoint's root and that the new tree is consistent with it, so the
 * log never signs a checkpoint inconsistent with an earlier one.
 *
 * The log is split by phase behind log_internal.h: the queue (log_queue.c,
 * its entries in memory in log_entries.c),
 * the key file and origin (here), the tree store (log_tree.c), seal
 * (log_seal.c, its bulk write path in log_bulk.c), the proof functions
 * (log_proof.c) and verify_log() (log_verify.c).
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
#include "sha256.h"

char	   *bl_origin = NULL;
char	   *bl_log_key_file = NULL;

static KeyFile log_key = {NULL, NULL};

/*
 * The Ed25519 private key in the file a setting names; NULL if unset and
 * missing_ok.  The file is read at every use and parsed again when its bytes
 * change: a key replaced in place (the usual way to rotate one) must take
 * effect in every backend at once, not only in new ones, or a long-lived
 * backend (the seal worker, a pooled connection) signs on with the retired
 * key.  A read is a few microseconds, once per seal.
 */
void *
key_file_load(KeyFile *kf, const char *path, const char *setting, bool missing_ok)
{
	FILE	   *f;
	char		buf[8192];
	size_t		n;
	uint8		digest[32];

	if (path == NULL || path[0] == '\0')
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s is not set", setting),
				 errhint("Point it at an Ed25519 private key (PKCS#8 PEM, e.g. from \"battledger keygen\"), readable by the server.")));
	}
	f = AllocateFile(path, "r");
	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open key file \"%s\" (%s): %m", path, setting),
				 errhint("The server opens it as the operating system user it runs as (usually postgres): "
						 "the file must be there and be that user's, mode 0600 (chown postgres: FILE; chmod 600 FILE).")));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	FreeFile(f);
	if (bl_sha256(buf, n, digest) != 0)
	{
		explicit_bzero(buf, sizeof(buf));
		elog(ERROR, "could not hash key file \"%s\"", path);
	}
	if (kf->key && kf->path && strcmp(kf->path, path) == 0 &&
		memcmp(kf->digest, digest, sizeof(digest)) == 0)
	{
		explicit_bzero(buf, sizeof(buf));
		return kf->key;
	}
	if (kf->key)
		bl_ed25519_priv_free(kf->key);
	kf->key = bl_ed25519_priv_load_pem(buf, n);
	memcpy(kf->digest, digest, sizeof(digest));
	explicit_bzero(buf, sizeof(buf));
	if (kf->key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key file \"%s\" (%s) does not hold an Ed25519 private key", path, setting),
				 errhint("Generate one with \"battledger keygen --out FILE\".")));
	if (kf->path)
		pfree(kf->path);
	kf->path = MemoryContextStrdup(TopMemoryContext, path);
	return kf->key;
}

/* The log's signing key, read from battledger.log_key_file. */
void *
log_signing_key(bool missing_ok)
{
	return key_file_load(&log_key, bl_log_key_file, "battledger.log_key_file", missing_ok);
}

/*
 * Whether battledger.origin has been assigned since log_origin() last found
 * it valid.  The chain trigger asks for the origin once per row, and the
 * check walks the name's UTF-8 each time.  Every assignment of the setting
 * goes through the assign hook, whatever its source (SET, SET LOCAL and its
 * end, RESET, a function's SET clause, a transaction or subtransaction
 * abort restoring the old value, a reloaded configuration file, the
 * placeholder replaced when the library loads), so a bumped generation voids
 * the verdict before the new value can be read.  The value's address alone
 * would not do: freed text can be reused for another.  Only a valid value is
 * remembered: an invalid one is refused at every use, as before.
 */
static uint64 origin_gen = 1;
static uint64 origin_valid_gen = 0;

void
bl_origin_assign(const char *newval, void *extra)
{
	origin_gen++;
}

uint64
bl_origin_generation(void)
{
	return origin_gen;
}

const char *
log_origin(void)
{
	if (origin_valid_gen == origin_gen)
		return bl_origin;
	if (bl_origin == NULL || bl_origin[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("battledger.origin is not set"),
				 errhint("Name this database's log, e.g. ALTER SYSTEM SET battledger.origin = 'oem.example/batteries'.")));
	if (!bl_note_key_name_valid(bl_origin, strlen(bl_origin)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("battledger.origin \"%s\" is not a valid note key name", bl_origin),
				 errdetail("It must be non-empty UTF-8 without spaces, control characters or '+'.")));
	origin_valid_gen = origin_gen;
	return bl_origin;
}

const char *
local_origin(void)
{
	if (bl_origin == NULL || bl_origin[0] == '\0')
		return "";
	return log_origin();
}


/*
 * battledger._origin() RETURNS text: this database's origin as the chain
 * trigger stamps rows with it ('' when unset).  The rules that decide by
 * "here" (_governance_rules(), add_id_namespace()) call it rather than
 * current_setting(): in a session where the library is not loaded yet,
 * battledger.origin is a placeholder that any role may SET, and it reverts
 * to the configured value only when the library loads, which a member_event
 * row does first in its chain trigger, after the rules trigger fired (red
 * team r28, P1).  Calling this loads the library first.
 */
PG_FUNCTION_INFO_V1(battledger_origin);
Datum
battledger_origin(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(local_origin()));
}
