/*
 * pgutil.h — small server helpers every module uses (pgutil.c): SPI with a
 * pinned search_path and row security off, text[] literals as C strings,
 * and huge pages for large arrays.
 */
#ifndef BATTLEDGER_PGUTIL_H
#define BATTLEDGER_PGUTIL_H

#include "postgres.h"
#include "pg_compat.h"

/*
 * A sequential scan that starts at the table's first block.  table_beginscan()
 * lets a scan join a synchronized scan of the same table (one larger than a
 * quarter of shared_buffers, with another scan of it running or just
 * cancelled) and start where that one is, wrapping around at the end; the
 * log's checks take leaves in the order the heap holds them, and such a scan
 * reported an honest log as tampered (red team r15 V15, V17).  battledger's
 * own heap scans all use this one (the caller includes access/tableam.h).
 */
#define bl_table_beginscan(rel, snapshot) \
	table_beginscan_strat((rel), (snapshot), 0, NULL, true, false)

/*
 * SPI with search_path pinned to pg_catalog: names in the queries are
 * qualified, and no operator or function a user created elsewhere can be
 * picked instead of the built-in one.  Restored at bl_spi_finish(), or by
 * the (sub)transaction abort on error.
 */
extern int	bl_spi_connect(void);
extern void bl_spi_finish(int nest);

/*
 * SPI from a pre-commit (or pre-prepare) transaction callback: no statement
 * runs then and an apply worker has no portal, so the work gets a snapshot
 * of its own (without one SPI refuses, the commit fails, and an apply worker
 * retries the same transaction for ever).  Pairs like the two above.
 */
extern int	bl_spi_connect_at_commit(void);
extern void bl_spi_finish_at_commit(int nest);

/*
 * Ask for [p, p + size), memory of one allocation, in transparent huge pages
 * (madvise MADV_HUGEPAGE on the whole 2 MB pages inside it; a hint, its
 * failure changes nothing).  For arrays of tens of megabytes first touched
 * by one call: touching 40 MB of new 4 kB pages cost about 100 ms on the
 * 2-vCPU VM of docs/benchmarks.md, of 2 MB pages 2-60 ms, depending on how
 * readily the kernel finds them (0.10.0).  Returns p.
 */
extern void *bl_advise_huge(void *p, Size size);

/*
 * size bytes in CurrentMemoryContext, from a 2 MB boundary and advised as
 * above over whole 2 MB pages, so that none of it is first touched in 4 kB
 * pages: bl_advise_huge() on a palloc'd array leaves the partial 2 MB pages
 * at both ends in 4 kB pages, and an array of 1-2 MB entirely (issue 15,
 * 0.13.0: about 1,900 page faults of verify()'s 30 MB of batch arrays in a
 * fresh backend).  Under 2 MB, a plain allocation.  *block is what to pfree.
 */
extern void *bl_alloc_huge_pages(Size size, void **block);

/*
 * battledger's own advisory locks.  A lock tag is (database, key1, key2,
 * class): SQL-level advisory locks (pg_advisory_lock() and friends) use
 * class 1 and 2, so no role can take, and hold up, one of these from SQL.
 * Each class below is one kind of turn; the values are what pg_locks shows
 * (objsubid, a smallint: 0xB1ED is -19987 there), and tests and docs name
 * them (test/shell/lock_tags.sh), so they never change.
 */
#define BL_LOCK_CHAIN		0xB1ED	/* chain.c: (table, chain key stripe) */
#define BL_LOCK_SEAL		0xB1EE	/* log_seal.c: one sealer (0, 0) */
#define BL_LOCK_STOPPER		0xB1EF	/* consortium.c: (subscription, 0) */
#define BL_LOCK_HELD_CP		0xB1F0	/* witness.c: (hash of origin, 0) */
#define BL_LOCK_USAGE		0xB1F1	/* usage_lock.c: (commitment's 8 bytes) */

/*
 * Wait for battledger's advisory lock (dbid, key1, key2, lockclass) in
 * ExclusiveLock mode, held to the end of the transaction (released at
 * commit or abort, also of an apply worker's remote transaction).  One
 * place for the tag so that every caller spells it the same way.
 */
extern void bl_advisory_xact_lock(Oid dbid, uint32 key1, uint32 key2, uint16 lockclass);

/* Parse a text[] literal such as {oem,cell_maker} into C strings. */
extern char **parse_role_list(const char *text, int *n, MemoryContext mcxt);

#endif
