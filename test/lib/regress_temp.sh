#!/usr/bin/env bash
# test/lib/regress_temp.sh TEST... — the pg_regress suite with nothing to
# prepare, the way contrib's `make check` runs (`make check-temp` calls it
# after building; see the Makefile and README "Tests").
#
# PGXS cannot build PostgreSQL's temporary installation, so this makes one:
# it copies the server of $PG_CONFIG (the programs pg_regress runs, lib,
# share: PostgreSQL finds its share and lib directories relative to its
# binaries) into tmp_check/install, installs battledger and the TEST-ONLY
# signer there (make install DESTDIR=...), and runs pg_regress --temp-instance with --temp-config
# test/regress.conf plus the log key.  No server needs to run, nothing is
# written outside tmp_check/, and the port and socket are pg_regress's own.
# As root it runs pg_regress as "postgres" (initdb refuses root), as
# test/lib/cluster.sh does.  Results: tmp_check/regression.diffs on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
MAKE=${MAKE:-make}
[ $# -gt 0 ] || { echo "usage: $0 TEST..." >&2; exit 2; }

T=$PWD/tmp_check
I=$T/install
rm -rf "$T"
mkdir -p "$I" "$T/input"
bindir=$("$PG_CONFIG" --bindir)
pkglibdir=$("$PG_CONFIG" --pkglibdir)
sharedir=$("$PG_CONFIG" --sharedir)
# the programs pg_regress runs (bindir may be /usr/bin: copy only these)
mkdir -p "$I$bindir"
for p in initdb postgres pg_ctl psql; do
  cp -a "$bindir/$p" "$I$bindir/"
done
for d in "$pkglibdir" "$sharedir"; do
  mkdir -p "$I$(dirname "$d")"
  cp -a "$d" "$I$d"
done
"$MAKE" -s install PG_CONFIG="$PG_CONFIG" with_llvm=no CLI_BINDIR= DESTDIR="$I"
"$MAKE" -s -C test/signer PG_CONFIG="$PG_CONFIG" with_llvm=no
"$MAKE" -s -C test/signer install PG_CONFIG="$PG_CONFIG" with_llvm=no DESTDIR="$I"

# inputs copied too: the server user may not be able to read the checkout
cp -a sql expected "$T/input/"
install -m 600 test/data/TEST-ONLY-log.key "$T/log.key"
{ cat test/regress.conf; printf "battledger.log_key_file = '%s'\n" "$T/log.key"; } > "$T/regress.conf"

run=()
if [ "$(id -u)" = 0 ]; then
  chown -R postgres: "$T"
  run=(runuser -u postgres --)
fi
# a server or settings of the caller's environment must not be used
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS
"${run[@]}" "$pkglibdir/pgxs/src/test/regress/pg_regress" \
  --temp-instance="$T/instance" --temp-config="$T/regress.conf" \
  --bindir="$I$bindir" --inputdir="$T/input" --outputdir="$T" \
  --encoding=UTF8 --no-locale \
  --dbname=contrib_regression --load-extension=battledger "$@"
