/*
 * progress.h — progress lines for long work (see progress.c).
 */
#ifndef BATTLEDGER_PROGRESS_H
#define BATTLEDGER_PROGRESS_H

#include "postgres.h"
#include "pg_compat.h"

#include "datatype/timestamp.h"

/* battledger.progress_interval, in ms: 0 at every step, -1 never */
extern int	bl_progress_interval;

typedef struct BlProgress
{
	const char *what;			/* "seal", "verify(public.soh)", ... */
	const char *unit;			/* "leaves", "rows" */
	TimestampTz start;
	TimestampTz last;
} BlProgress;

extern void bl_progress_start(BlProgress *p, const char *what, const char *unit);
/* Report done of total (total 0: unknown) if the interval has passed. */
extern void bl_progress_step(BlProgress *p, int64 done, int64 total);

#endif
