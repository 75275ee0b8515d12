/*
 * pg_compat.h — the server APIs that differ between the PostgreSQL major
 * versions battledger supports (15, 16, 17 and 18).
 *
 * One place, so that the rest of the code is written once against one API
 * and a reader sees every version difference here.  Each entry names the
 * release that changed the API; the 15 spelling is the one the code had
 * before, so a build on 15 is unchanged.  Checked against the headers of
 * 15 (Debian 12), 17 (Debian 13), 18 (Debian unstable) and, for the
 * thresholds at 16, PostgreSQL's REL_16_STABLE sources (README: "Supported
 * PostgreSQL versions").
 *
 * Every C file of the extension includes it right after postgres.h
 * (directly or through its own header).  The command-line tool's pure
 * files do not include it.
 */
#ifndef BL_PG_COMPAT_H
#define BL_PG_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#error "battledger needs PostgreSQL 15 or later"
#endif

/*
 * 16 moved the varlena macros (VARDATA_ANY, VARSIZE_ANY_EXHDR, ...) from
 * postgres.h to varatt.h, which postgres.h no longer includes.
 */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/*
 * 18 replaced the trailing pg_attribute_noreturn() with a leading
 * pg_noreturn.  Before 18 the old attribute, written in front, means the
 * same to GCC and Clang; declarations here use the 18 form.
 */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

/*
 * The backend's local transaction id, which tells one transaction of this
 * backend from the next: 17 moved it into MyProc->vxid.
 */
#if PG_VERSION_NUM >= 170000
#define BL_MY_LXID() (MyProc->vxid.lxid)
#else
#define BL_MY_LXID() (MyProc->lxid)
#endif

/*
 * Index entries for a heap tuple written directly (seal's bulk path): 16
 * added ExecInsertIndexTuples()'s onlySummarizing argument (for HOT
 * updates; an insert updates every index, so false).
 */
#if PG_VERSION_NUM >= 160000
#define bl_exec_insert_index_tuples(rri, slot, estate, update, nodup, specconflict, arbiters) \
	ExecInsertIndexTuples((rri), (slot), (estate), (update), (nodup), (specconflict), (arbiters), false)
#else
#define bl_exec_insert_index_tuples(rri, slot, estate, update, nodup, specconflict, arbiters) \
	ExecInsertIndexTuples((rri), (slot), (estate), (update), (nodup), (specconflict), (arbiters))
#endif

/*
 * A hash index entry inserted directly (seal's bulk path): 16 added
 * _hash_doinsert()'s sorted argument, for an index build's presorted
 * tuples; entries inserted into a live index are not (false).
 */
#if PG_VERSION_NUM >= 160000
#define bl_hash_doinsert(rel, itup, heaprel) _hash_doinsert((rel), (itup), (heaprel), false)
#else
#define bl_hash_doinsert(rel, itup, heaprel) _hash_doinsert((rel), (itup), (heaprel))
#endif

/*
 * Ownership of a relation: 16 folded pg_class_ownercheck() into
 * object_ownercheck().
 */
#if PG_VERSION_NUM >= 160000
#define bl_rel_ownercheck(relid, role) object_ownercheck(RelationRelationId, (relid), (role))
#else
#define bl_rel_ownercheck(relid, role) pg_class_ownercheck((relid), (role))
#endif

/*
 * stringToQualifiedNameList() gained a soft-error context in 16; NULL keeps
 * the 15 behaviour (a syntax error is raised).
 */
#if PG_VERSION_NUM >= 160000
#define bl_stringToQualifiedNameList(str) stringToQualifiedNameList((str), NULL)
#else
#define bl_stringToQualifiedNameList(str) stringToQualifiedNameList(str)
#endif

/*
 * makeJsonLexContextCstringLen() takes a caller-provided context first
 * since 17 (NULL: allocate one, as 15 and 16 always do) and a const string.
 */
#if PG_VERSION_NUM >= 170000
#define bl_makeJsonLexContextCstringLen(json, len, enc, escapes) \
	makeJsonLexContextCstringLen(NULL, (json), (len), (enc), (escapes))
#else
#define bl_makeJsonLexContextCstringLen(json, len, enc, escapes) \
	makeJsonLexContextCstringLen((json), (len), (enc), (escapes))
#endif

/*
 * 18 dropped ExecutorRun's execute_once argument (and the hook's).  The
 * hook is declared with BL_EXECUTORRUN_PARAMS and passes them on with
 * BL_EXECUTORRUN_ARGS.
 */
#if PG_VERSION_NUM >= 180000
#define BL_EXECUTORRUN_PARAMS QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define BL_EXECUTORRUN_ARGS queryDesc, direction, count
#else
#define BL_EXECUTORRUN_PARAMS QueryDesc *queryDesc, ScanDirection direction, uint64 count, \
	bool execute_once
#define BL_EXECUTORRUN_ARGS queryDesc, direction, count, execute_once
#endif

/*
 * index_beginscan() takes an instrumentation struct since 18 (NULL: none,
 * as before).
 */
#if PG_VERSION_NUM >= 180000
#define bl_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), NULL, (nkeys), (norderbys))
#else
#define bl_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), (nkeys), (norderbys))
#endif

/*
 * ExecCheckIndexConstraints() takes, since 18, the TID of a tuple to leave
 * out of the check; the tuple checked here is not stored yet (NULL).
 */
#if PG_VERSION_NUM >= 180000
#define bl_ExecCheckIndexConstraints(rri, slot, estate, conflictTid, arbiters) \
	ExecCheckIndexConstraints((rri), (slot), (estate), (conflictTid), NULL, (arbiters))
#else
#define bl_ExecCheckIndexConstraints(rri, slot, estate, conflictTid, arbiters) \
	ExecCheckIndexConstraints((rri), (slot), (estate), (conflictTid), (arbiters))
#endif

/*
 * RelationGetPrimaryKeyIndex() takes, since 18, whether a deferrable primary
 * key may be returned; the log's keys are not deferrable (false: as before).
 */
#if PG_VERSION_NUM >= 180000
#define bl_RelationGetPrimaryKeyIndex(rel) RelationGetPrimaryKeyIndex((rel), false)
#else
#define bl_RelationGetPrimaryKeyIndex(rel) RelationGetPrimaryKeyIndex(rel)
#endif

#endif							/* BL_PG_COMPAT_H */
