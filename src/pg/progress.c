/*
 * progress.c — progress lines for long work: seal() over a large backlog,
 * verify() over a large table, verify_log() over a large log, and (through
 * _progress(), for work written in PL/pgSQL) verify_member() and
 * migrate_to_ledger().
 *
 * PostgreSQL 15 gives extensions no pg_stat_progress_* view of their own, so
 * a long call reports the PostgreSQL way the rest can: a NOTICE to the client
 * (a LOG line in the sealing background worker) at most every
 * battledger.progress_interval, with how far it is and how long it has run.
 */
#include "postgres.h"

#include "progress.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

int			bl_progress_interval = 10000;

/* Is a line due at now, the last one (or the start) having been at last? */
static bool
progress_due(TimestampTz last, TimestampTz now)
{
	if (bl_progress_interval < 0)
		return false;
	return bl_progress_interval == 0 || TimestampDifferenceExceeds(last, now, bl_progress_interval);
}

static void
progress_emit(const char *what, const char *unit, int64 done, int64 total,
			  TimestampTz start, TimestampTz now)
{
	if (total > 0)
		ereport(MyBackendType == B_BG_WORKER ? LOG : NOTICE,
				(errmsg("%s: " INT64_FORMAT " of " INT64_FORMAT " %s (%d%%)", what, done, total, unit,
						(int) (100.0 * done / total)),
				 errdetail("%.1f s so far.", (double) (now - start) / USECS_PER_SEC)));
	else
		ereport(MyBackendType == B_BG_WORKER ? LOG : NOTICE,
				(errmsg("%s: " INT64_FORMAT " %s", what, done, unit),
				 errdetail("%.1f s so far.", (double) (now - start) / USECS_PER_SEC)));
}

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
	if (!progress_due(p->last, now))
		return;
	p->last = now;
	progress_emit(p->what, p->unit, done, total, p->start, now);
}

/*
 * battledger._progress(what text, unit text, done bigint, total bigint,
 *                      started timestamptz, last timestamptz) RETURNS timestamptz
 *
 * The same line for work written in PL/pgSQL, which keeps the state: call it
 * with the time the work started and the value the previous call returned
 * (the start, the first time); it reports if the interval has passed and
 * returns when it last reported.  total 0: unknown.  Only ever raises a
 * NOTICE, so every role may call it (the owners running
 * migrate_to_ledger() do).
 */
PG_FUNCTION_INFO_V1(battledger_progress);
Datum
battledger_progress(PG_FUNCTION_ARGS)
{
	TimestampTz started = PG_GETARG_TIMESTAMPTZ(4);
	TimestampTz last = PG_GETARG_TIMESTAMPTZ(5);
	TimestampTz now;

	if (bl_progress_interval < 0)
		PG_RETURN_TIMESTAMPTZ(last);
	now = GetCurrentTimestamp();
	if (!progress_due(last, now))
		PG_RETURN_TIMESTAMPTZ(last);
	progress_emit(text_to_cstring(PG_GETARG_TEXT_PP(0)), text_to_cstring(PG_GETARG_TEXT_PP(1)),
				  PG_GETARG_INT64(2), PG_GETARG_INT64(3), started, now);
	PG_RETURN_TIMESTAMPTZ(now);
}
