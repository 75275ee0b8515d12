/*
 * progress.c — progress lines for long work: seal() over a large backlog,
 * verify() over a large table, verify_log() over a large log.
 *
 * PostgreSQL 15 gives extensions no pg_stat_progress_* view of their own, so
 * a long call reports the PostgreSQL way the rest can: a NOTICE to the client
 * (a LOG line in the sealing background worker) at most every
 * battledger.progress_interval, with how far it is and how long it has run.
 */
#include "battledger.h"

#include "miscadmin.h"
#include "utils/timestamp.h"

#include "progress.h"

int			bl_progress_interval = 10000;

void
bl_progress_start(BlProgress *p, const char *what, const char *unit)
{
	p->what = what;
	p->unit = unit;
	p->start = p->last = GetCurrentTimestamp();
}

void
bl_progress_step(BlProgress *p, int64 done, int64 total)
{
	TimestampTz now;

	if (bl_progress_interval < 0)
		return;
	now = GetCurrentTimestamp();
	if (bl_progress_interval > 0 &&
		!TimestampDifferenceExceeds(p->last, now, bl_progress_interval))
		return;
	p->last = now;
	if (total > 0)
		ereport(MyBackendType == B_BG_WORKER ? LOG : NOTICE,
				(errmsg("%s: " INT64_FORMAT " of " INT64_FORMAT " %s (%d%%)", p->what, done, total, p->unit,
						(int) (100.0 * done / total)),
				 errdetail("%.1f s so far.", (double) (now - p->start) / USECS_PER_SEC)));
	else
		ereport(MyBackendType == B_BG_WORKER ? LOG : NOTICE,
				(errmsg("%s: " INT64_FORMAT " %s", p->what, done, p->unit),
				 errdetail("%.1f s so far.", (double) (now - p->start) / USECS_PER_SEC)));
}
