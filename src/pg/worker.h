/*
 * worker.h — the optional sealing background worker.
 */
#ifndef BATTLEDGER_WORKER_H
#define BATTLEDGER_WORKER_H

extern int	bl_seal_interval;
extern char *bl_seal_database;

/* From _PG_init while shared_preload_libraries is being processed. */
extern void seal_worker_register(void);

#endif
