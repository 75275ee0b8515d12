/*
 * log_verify_rows.h — verify_log(true)'s check of one ledger table's rows
 * against its leaves and the queue (log_verify_rows.c).
 */
#ifndef BATTLEDGER_LOG_VERIFY_ROWS_H
#define BATTLEDGER_LOG_VERIFY_ROWS_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "utils/tuplestore.h"

extern void verify_table_rows(Oid relid, const char *tbl, bool queue_whole, const char *local,
							  Tuplestorestate *ts, TupleDesc desc,
							  void (*put) (Tuplestorestate *, TupleDesc, const char *, int64, const char *));

#endif
