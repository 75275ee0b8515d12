/*
 * commitment_rows.h — counting the battery_event rows naming a commitment
 * by an index scan that stops at a limit (commitment_rows.c).
 */
#ifndef BATTLEDGER_COMMITMENT_ROWS_H
#define BATTLEDGER_COMMITMENT_ROWS_H

#include "postgres.h"

#include "utils/snapshot.h"

/*
 * The rows of NSP.battery_event whose restricted value is COMMITMENT (a
 * hash256 Datum), up to LIM, visible under SNAPSHOT; the index
 * NSP.battery_event_restricted checked first (an ERROR if it does not fit).
 */
extern int32 bl_commitment_rows_count(Oid nsp, Datum commitment, int32 lim, Snapshot snapshot);

#endif
