/*
 * origin_claim.h — one log per origin in a cluster (origin_claim.c).
 */
#ifndef BATTLEDGER_ORIGIN_CLAIM_H
#define BATTLEDGER_ORIGIN_CLAIM_H

/* ERROR unless this database may seal under origin (claimed on first use). */
extern void origin_claim(const char *origin);

#endif
