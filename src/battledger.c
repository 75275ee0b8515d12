/*
 * battledger.c — module entry point: the settings.
 *
 * Nothing else is set up at load time: OpenSSL contexts and caches are
 * created lazily in each backend on first use, so preloading is cheap.
 */
#include "battledger.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "log.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomStringVariable("battledger.origin",
							   "Name of this database's transparency log (the checkpoint origin).",
							   "For example \"oem.example/batteries\"; also the name of the log's signing key.",
							   &bl_origin, NULL, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("battledger.log_key_file",
							   "Ed25519 private key (PKCS#8 PEM) that signs the log's checkpoints.",
							   "Read by the server process; never stored in a table.",
							   &bl_log_key_file, NULL, PGC_SUSET, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	MarkGUCPrefixReserved("battledger");
}
