/*
 * battery_id.h — the battery_id type's glue (battery_id.c): what other
 * modules need of it.
 */
#ifndef BATTLEDGER_BATTERY_ID_H
#define BATTLEDGER_BATTERY_ID_H

#include "utils/guc.h"

/* battledger.resolver: its check hook, registered in _PG_init() */
extern bool bl_check_resolver(char **newval, void **extra, GucSource source);

#endif
