/*
 * quarantine.h — holding back rows of a quarantined chain (quarantine.c).
 */
#ifndef BATTLEDGER_QUARANTINE_H
#define BATTLEDGER_QUARANTINE_H

#include "postgres.h"
#include "pg_compat.h"

#include "access/htup.h"
#include "utils/relcache.h"

#include "ledger_rel.h"

/*
 * If the arriving row belongs to a quarantined chain, hold it in
 * battledger.held_row and return true (the row is then not stored).
 */
extern bool quarantine_holds(Relation rel, LedgerRel *lr, const char *origin, HeapTuple tup,
							 Datum *values, bool *nulls);

#endif
