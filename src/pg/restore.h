/*
 * restore.h — battledger.restore: a superuser's pg_restore of a member
 * database.  The extension's ledger tables are restored by COPY after
 * CREATE EXTENSION made their triggers, unlike a user's ledger tables (their
 * triggers come after the data): with the setting on, the chain trigger
 * keeps a row's dumped ledger columns once its hash covers its content, and
 * the rules and batch triggers let the row pass, as the history it is.
 */
#ifndef BL_RESTORE_H
#define BL_RESTORE_H

extern PGDLLIMPORT bool bl_restore;

#endif
