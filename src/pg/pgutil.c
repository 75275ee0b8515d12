/*
 * pgutil.c — small server helpers every module uses (see pgutil.h).
 */
#include "postgres.h"

#include "pgutil.h"

#include <string.h>
#include <sys/mman.h>

#include "access/gin.h"
#include "executor/spi.h"
#include "storage/lock.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

int
bl_spi_connect(void)
{
	int			nest;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	nest = NewGUCNestLevel();
	/* pg_temp last: unlisted, it would be searched first for relation names */
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	/*
	 * The extension's own reads decide (is this batch complete? is this log
	 * intact?): a row-level security policy must not hide rows from them.
	 * With row_security off, a read that a policy would filter fails instead.
	 */
	(void) set_config_option("row_security", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	/*
	 * Nor may a session setting drop rows from them: gin_fuzzy_search_limit
	 * makes a GIN index scan return a random subset of its matches, and a
	 * table's owner may build a GIN index (btree_gin is a trusted
	 * extension) on the column a check reads by.  A batch's re-read then
	 * missed the rows that ride on it unsigned, and the batch committed
	 * (red team rt27d F1).  Set only when not already 0: this runs for
	 * every row written.
	 */
	if (GinFuzzySearchLimit != 0)
		(void) set_config_option("gin_fuzzy_search_limit", "0", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

void
bl_spi_finish(int nest)
{
	AtEOXact_GUC(true, nest);
	SPI_finish();
}

int
bl_spi_connect_at_commit(void)
{
	PushActiveSnapshot(GetTransactionSnapshot());
	return bl_spi_connect();
}

void
bl_spi_finish_at_commit(int nest)
{
	bl_spi_finish(nest);
	PopActiveSnapshot();
}

char	  **
parse_role_list(const char *text, int *n, MemoryContext mcxt)
{
	char	   *copy = MemoryContextStrdup(mcxt, text);
	char	  **out;
	char	   *p;
	char	   *tok;
	int			cap = 1;

	for (p = copy; *p; p++)
		if (*p == ',')
			cap++;
	out = MemoryContextAlloc(mcxt, sizeof(char *) * cap);
	*n = 0;
	for (tok = strtok(copy, "{},\""); tok != NULL; tok = strtok(NULL, "{},\""))
		out[(*n)++] = tok;
	return out;
}

#define HUGE_PAGE_SIZE (2 * 1024 * 1024)

void *
bl_advise_huge(void *p, Size size)
{
#ifdef MADV_HUGEPAGE
	uintptr_t	start = TYPEALIGN(HUGE_PAGE_SIZE, (uintptr_t) p);
	uintptr_t	end = TYPEALIGN_DOWN(HUGE_PAGE_SIZE, (uintptr_t) p + size);

	if (end > start)
		(void) madvise((void *) start, end - start, MADV_HUGEPAGE);
#endif
	return p;
}

void *
bl_alloc_huge_pages(Size size, void **block)
{
	Size		whole;
	char	   *p;
	char	   *start;

	if (size < HUGE_PAGE_SIZE)
	{
		*block = MemoryContextAllocHuge(CurrentMemoryContext, size);
		return *block;
	}
	whole = TYPEALIGN(HUGE_PAGE_SIZE, size);
	p = MemoryContextAllocHuge(CurrentMemoryContext, whole + HUGE_PAGE_SIZE);
	start = (char *) TYPEALIGN(HUGE_PAGE_SIZE, p);
	(void) bl_advise_huge(start, whole);
	*block = p;
	return start;
}

void
bl_advisory_xact_lock(Oid dbid, uint32 key1, uint32 key2, uint16 lockclass)
{
	LOCKTAG		tag;

	/* classes 1 and 2 are the SQL-level advisory locks' (see pgutil.h) */
	Assert(lockclass > 2);
	SET_LOCKTAG_ADVISORY(tag, dbid, key1, key2, lockclass);
	/* ExclusiveLock, transaction-scoped (sessionLock false), waiting (dontWait false) */
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}
