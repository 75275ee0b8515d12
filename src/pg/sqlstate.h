/*
 * sqlstate.h — the extension's own SQLSTATEs (class BL).
 *
 * Header only.  The full table, with the registry's codes raised from SQL
 * (BL030-BL039, BL043 to BL045, string literals in
 * sql/install/80_registry.sql), is in docs/dba-guide.md, "SQLSTATEs": a
 * new code goes in both.
 */
#ifndef BATTLEDGER_SQLSTATE_H
#define BATTLEDGER_SQLSTATE_H

#include "postgres.h"

/* Refused modifications of a ledger table (BL00x) */
#define ERRCODE_LEDGER_APPEND_ONLY	MAKE_SQLSTATE('B','L','0','0','1')
#define ERRCODE_LEDGER_DDL_REFUSED	MAKE_SQLSTATE('B','L','0','0','2')
/* Signature checks (BL01x) */
#define ERRCODE_SIG_UNKNOWN_KEY		MAKE_SQLSTATE('B','L','0','1','1')
#define ERRCODE_SIG_KEY_NOT_YET_VALID MAKE_SQLSTATE('B','L','0','1','2')
#define ERRCODE_SIG_KEY_EXPIRED		MAKE_SQLSTATE('B','L','0','1','3')
#define ERRCODE_SIG_KEY_REVOKED		MAKE_SQLSTATE('B','L','0','1','4')
#define ERRCODE_SIG_ROLE			MAKE_SQLSTATE('B','L','0','1','5')
#define ERRCODE_SIG_INVALID			MAKE_SQLSTATE('B','L','0','1','6')
#define ERRCODE_SIG_MISSING			MAKE_SQLSTATE('B','L','0','1','7')
/* a public key under which anybody could sign (small order, non-canonical, no point) */
#define ERRCODE_KEY_WEAK			MAKE_SQLSTATE('B','L','0','1','8')
/* a row or batch signed for a member that this database's origin did not add */
#define ERRCODE_SIG_NOT_HOSTED		MAKE_SQLSTATE('B','L','0','1','9')
/* Signed batches (BL02x) */
#define ERRCODE_BATCH_INVALID		MAKE_SQLSTATE('B','L','0','2','0')
#define ERRCODE_BATCH_MISMATCH		MAKE_SQLSTATE('B','L','0','2','1')
/* BL030-BL039, BL043-BL045: the battery registry, raised from SQL only */
/* Consortium (BL04x) */
#define ERRCODE_ORIGIN_MISMATCH		MAKE_SQLSTATE('B','L','0','4','0')
#define ERRCODE_ROW_REJECTED		MAKE_SQLSTATE('B','L','0','4','1')
#define ERRCODE_ORIGIN_CLAIMED		MAKE_SQLSTATE('B','L','0','4','2')

#endif
