/*
 * ledger_table.h — the names that make a table a ledger table: the columns
 * enable_ledger() adds and the triggers it creates, and which of a user's own
 * triggers a ledger table cannot have.  Header only; what is derived from
 * them per table is ledger_rel.h's.
 */
#ifndef BATTLEDGER_LEDGER_TABLE_H
#define BATTLEDGER_LEDGER_TABLE_H

#include "catalog/pg_trigger.h"
#include "commands/trigger.h"

/* The chain columns enable_ledger() adds; never part of a row's bytes. */
#define LEDGER_COL_SEQ	"ledger_seq"
#define LEDGER_COL_PREV "ledger_prev"
#define LEDGER_COL_HASH "ledger_hash"
/*
 * The member database (log) that wrote the row: part of the chain's identity
 * and of the row's bytes, except that the empty origin (a database not named
 * by battledger.origin) is omitted, so such rows hash as they did in 0.1.0.
 */
#define LEDGER_COL_ORIGIN	"ledger_origin"
/* Signed tables add these: key id and batch are signed, signature and time are not. */
#define LEDGER_COL_KEY_ID	"ledger_key_id"
#define LEDGER_COL_SIG		"ledger_sig"
#define LEDGER_COL_AT		"ledger_at"
#define LEDGER_COL_BATCH	"ledger_batch"

/* Trigger names; the chain trigger must fire after every other BEFORE INSERT trigger. */
#define LEDGER_CHAIN_TRIGGER	"zz_battledger_chain"
#define LEDGER_GUARD_TRIGGER	"battledger_append_only"
#define LEDGER_LOG_TRIGGER		"battledger_log"
#define LEDGER_ARRIVE_TRIGGER	"zz_battledger_arrive"	/* ENABLE REPLICA: rows from other members */

/*
 * Why a user's trigger (not one of the four above) may not be on a ledger
 * table.  Only a BEFORE INSERT row trigger can change or drop a row before
 * it lands; it is safe when it fires on this member's own writes alone and
 * before the chain trigger hashes the row.  Enabled ALWAYS or REPLICA, it
 * fires in the apply worker on rows arriving from other members; enabled
 * and named after the chain trigger, it fires after the row is hashed.
 * The DDL guard (guard.c) refuses both, enable_ledger() (enable.c) will not
 * take a table with one, and _arrival_triggers() (sql/install) lists the
 * first kind for consortium_status(): one rule, in one place for the C code.
 */
typedef enum UserTriggerHazard
{
	USER_TRIGGER_SAFE,
	USER_TRIGGER_ON_ARRIVALS,	/* enabled ALWAYS or REPLICA */
	USER_TRIGGER_AFTER_CHAIN	/* enabled, named after LEDGER_CHAIN_TRIGGER */
} UserTriggerHazard;

/* tgtype: pg_trigger.tgtype's bits; fires: a tgenabled value ('O', 'A', 'R', 'D') */
static inline UserTriggerHazard
user_trigger_hazard(int16 tgtype, char fires, const char *name)
{
	if (!TRIGGER_FOR_ROW(tgtype) || !TRIGGER_FOR_BEFORE(tgtype) || !TRIGGER_FOR_INSERT(tgtype))
		return USER_TRIGGER_SAFE;
	if (fires == TRIGGER_FIRES_ALWAYS || fires == TRIGGER_FIRES_ON_REPLICA)
		return USER_TRIGGER_ON_ARRIVALS;
	if (fires != TRIGGER_DISABLED && strcmp(name, LEDGER_CHAIN_TRIGGER) > 0)
		return USER_TRIGGER_AFTER_CHAIN;
	return USER_TRIGGER_SAFE;
}

#endif
