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
 * file is created with O_EXCL, so two databases sealing at once cannot both
 * win; it survives restarts and is copied by base backups with the rest of
 * the cluster.
 */
#include "battledger.h"

#include <fcntl.h>
#include <unistd.h>

#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "storage/fd.h"

#include "log.h"

#define CLAIM_DIR "battledger_origins"

/* The OID recorded in an existing claim; InvalidOid if the file is empty (a crash mid-claim). */
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

static bool
write_claim(const char *path, bool exclusive)
{
	char		buf[32];
	int			fd = OpenTransientFile(path, O_WRONLY | O_CREAT | PG_BINARY |
									   (exclusive ? O_EXCL : O_TRUNC));
	int			len = snprintf(buf, sizeof(buf), "%u\n", MyDatabaseId);

	if (fd < 0)
	{
		if (exclusive && errno == EEXIST)
			return false;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create \"%s\": %m", path)));
	}
	if (write(fd, buf, len) != len || pg_fsync(fd) != 0)
	{
		int			save = errno;

		CloseTransientFile(fd);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write \"%s\": %m", path)));
	}
	CloseTransientFile(fd);
	return true;
}

void
origin_claim(const char *origin)
{
	char		dir[MAXPGPATH];
	char		path[MAXPGPATH];
	uint8		h[HASH256_LEN];
	char		hex[2 * HASH256_LEN + 1];
	Oid			owner;

	snprintf(dir, sizeof(dir), "%s/%s", DataDir, CLAIM_DIR);
	if (MakePGDirectory(dir) < 0 && errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", dir)));
	bl_hash_or_error(origin, strlen(origin), h);
	for (int i = 0; i < HASH256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	snprintf(path, sizeof(path), "%s/%s", dir, hex);

	if (write_claim(path, true))
	{
		fsync_fname(dir, true);
		return;
	}
	owner = read_claim(path);
	if (owner == MyDatabaseId)
		return;
	if (!OidIsValid(owner))
	{
		/* a claim cut short by a crash: nobody sealed under it */
		(void) write_claim(path, false);
		return;
	}
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
