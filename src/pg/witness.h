/*
 * witness.h — other members' checkpoints: leaves, cosignatures and the
 * witness key (witness.c).  Its entry points are triggers and SQL
 * functions; only the setting is shared.
 */
#ifndef BATTLEDGER_WITNESS_H
#define BATTLEDGER_WITNESS_H

/* battledger.witness_key_file */
extern char *bl_witness_key_file;
/* battledger.max_clock_ahead, in seconds: how far ahead of this clock an arriving cosignature may be dated */
extern int	bl_max_clock_ahead;

#endif
