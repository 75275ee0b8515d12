/*
 * log_verify_rows.h — verify_log(true)'s check of one ledger table's rows
 * against its leaves and the queue (log_verify_rows.c).
 */
#ifndef BATTLEDGER_LOG_VERIFY_ROWS_H
#define BATTLEDGER_LOG_VERIFY_ROWS_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "utils/tuplestore.h"

/*
 * The leaves of every table log_leaf names, each table's in log_leaf's heap
 * order, gathered during verify_leaves()'s scan (0.14.0).
 */
typedef struct LeafTables LeafTables;

extern LeafTables *leaf_tables_create(double reltuples);
extern void leaf_tables_add(LeafTables *lt, const char *tbl, int len, int64 leaf_index, int64 seq,
							const uint8 *row_hash);
extern int	leaf_tables_count(const LeafTables *lt);
extern const char *leaf_tables_name(const LeafTables *lt, int i);

extern void verify_table_rows(LeafTables *lt, Oid relid, const char *tbl, bool queue_whole, const char *local,
							  Tuplestorestate *ts, TupleDesc desc,
							  void (*put) (Tuplestorestate *, TupleDesc, const char *, int64, const char *));

#endif
