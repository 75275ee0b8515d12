/*
 * battledger.c — module entry point.
 *
 * Nothing is set up at load time: OpenSSL contexts and caches are created
 * lazily in each backend on first use, so preloading the library is cheap.
 */
#include "battledger.h"

#include "fmgr.h"

PG_MODULE_MAGIC;
