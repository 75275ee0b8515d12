/*
 * ledger_table.h — the names that make a table a ledger table: the columns
 * enable_ledger() adds and the triggers it creates.  Header only; what is
 * derived from them per table is ledger_rel.h's.
 */
#ifndef BATTLEDGER_LEDGER_TABLE_H
#define BATTLEDGER_LEDGER_TABLE_H

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

#endif
