/*
 * origin_claim.c — one log per origin in a cluster.
 *
 * battledger.origin and the log key may be set for the whole cluster (in
 * postgresql.conf, ALTER SYSTEM); then every database of the cluster would
 * keep its own log under the same origin and key: two logs, each signed,
 * that contradict each other — a split view by construction.  So the first
 * seal() of an origin claims it for its database, in a file under the data
 * directory named by the origin's hash and holding the database's OID, and
 * every later seal() of that origin from another database is refused.  The
 * claim is written whole and then linked into place, so two databases
 * sealing at once cannot both win; it survives restarts and is copied by
 * base backups with the rest of the cluster.
 */
#include "postgres.h"

#include "origin_claim.h"

#include <fcntl.h>
#include <unistd.h>

#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "storage/fd.h"

#include "hash256.h"
#include "sqlstate.h"

#define CLAIM_DIR "battledger_origins"

/* The OID recorded in an existing claim (InvalidOid if unreadable). */
static Oid
read_claim(const char *path)
{
	char		buf[32];
	int			fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	int			n;

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open \"%s\": %m", path)));
	n = read(fd, buf, sizeof(buf) - 1);
	CloseTransientFile(fd);
	if (n < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read \"%s\": %m", path)));
	buf[n] = '\0';
	return (Oid) strtoul(buf, NULL, 10);
}

/*
 * Claim path for this database: the claim is written whole to a file of this
 * backend's own, then linked to its name, which fails if the name exists.  So
 * a claim is never seen half-written, and of two databases claiming at once
 * exactly one wins.
 */
static bool
write_claim(const char *path)
{
	char		tmp[MAXPGPATH];
	char		buf[32];
	int			len = snprintf(buf, sizeof(buf), "%u\n", MyDatabaseId);
	int			fd;
	bool		won;

	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, MyProcPid);
	fd = OpenTransientFile(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create \"%s\": %m", tmp)));
	if (write(fd, buf, len) != len || pg_fsync(fd) != 0)
	{
		int			save = errno;

		CloseTransientFile(fd);
		unlink(tmp);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write \"%s\": %m", tmp)));
	}
	CloseTransientFile(fd);
	won = link(tmp, path) == 0;
	if (!won && errno != EEXIST)
	{
		int			save = errno;

		unlink(tmp);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not link \"%s\" to \"%s\": %m", tmp, path)));
	}
	unlink(tmp);
	return won;
}

void
origin_claim(const char *origin)
{
	char		dir[MAXPGPATH];
	char		path[MAXPGPATH];
	uint8		h[BL_HASH_LEN];
	char		hex[2 * BL_HASH_LEN + 1];
	Oid			owner;

	snprintf(dir, sizeof(dir), "%s/%s", DataDir, CLAIM_DIR);
	if (MakePGDirectory(dir) < 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", dir)));
	bl_hash_or_error(origin, strlen(origin), h);
	for (int i = 0; i < BL_HASH_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	snprintf(path, sizeof(path), "%s/%s", dir, hex);

	if (write_claim(path))
	{
		fsync_fname(dir, true);
		return;
	}
	owner = read_claim(path);
	if (owner == MyDatabaseId)
		return;
	{
		char	   *dbname = get_database_name(owner);

		ereport(ERROR,
				(errcode(ERRCODE_ORIGIN_CLAIMED),
				 errmsg("origin \"%s\" is sealed by another database of this cluster (%s)",
						origin, dbname ? psprintf("\"%s\"", dbname) : psprintf("OID %u, dropped", owner)),
				 errdetail("Two databases sealing under one origin and key would publish two conflicting logs."),
				 errhint("Set battledger.origin and battledger.log_key_file per database (ALTER DATABASE ... SET). "
						 "If that database was dropped and its log retired, remove \"%s\".", path)));
	}
}
