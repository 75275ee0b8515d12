/*
 * pgutil.h — small server helpers every module uses (pgutil.c): SPI with a
 * pinned search_path and row security off, and text[] literals as C
 * strings.
 */
#ifndef BATTLEDGER_PGUTIL_H
#define BATTLEDGER_PGUTIL_H

#include "postgres.h"
#include "pg_compat.h"

/*
 * SPI with search_path pinned to pg_catalog: names in the queries are
 * qualified, and no operator or function a user created elsewhere can be
 * picked instead of the built-in one.  Restored at bl_spi_finish(), or by
 * the (sub)transaction abort on error.
 */
extern int	bl_spi_connect(void);
extern void bl_spi_finish(int nest);

/* Parse a text[] literal such as {oem,cell_maker} into C strings. */
extern char **parse_role_list(const char *text, int *n, MemoryContext mcxt);

#endif
