# test/lib/cluster.sh — sourced by the demo, the test runner and the benchmarks.
#
# Installs what battledger needs from Debian's packages, builds and installs
# the extension, and starts throwaway PostgreSQL 15 clusters on private
# Unix sockets.  Works as root (initdb/pg_ctl then run as "postgres") or as
# a user with sudo.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_CONFIG=${PG_CONFIG:-$PG_BIN/pg_config}
BL_ROOT=${BL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# the signed writers ev() and model() of the shell scenarios (TEST ONLY)
export BL_SIGNED_WRITERS=$BL_ROOT/test/lib/signed_writers.sql
# clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes, which
# clang only recommends, so --no-install-recommends leaves them out) are
# for test/fuzz.  debhelper, dpkg-dev, postgresql-server-dev-all (the
# pg_buildext debhelper add-on) and lintian build and check the Debian
# packages (test/long/deb_package.sh).  python3-jsonschema and
# python3-rfc3987 (its "uri" format checker) validate the passports against
# the standards' schemas (test/shell/passport_schemas.sh).
BL_PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-contrib postgresql-15-pgtap
  libtap-parser-sourcehandler-pgtap-perl libssl-dev openssl xxd make gcc libc6-dev
  clang libclang-rt-14-dev prometheus-postgres-exporter curl libfaketime
  debhelper dpkg-dev postgresql-server-dev-all lintian python3-jsonschema python3-rfc3987"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# initdb and pg_ctl refuse root: run them as postgres when we are root.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

bl_install_packages() {
  local missing=""
  for p in $BL_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
  done
  # server and server-dev must be the same minor version: upgrade them together
  if [ -n "$missing" ] || [ "$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null)" != \
       "$(dpkg-query -W -f='${Version}' postgresql-server-dev-15 2>/dev/null)" ]; then
    say "installing Debian packages:$missing"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      $BL_PACKAGES >/dev/null
  fi
}

bl_build_install() {
  say "building and installing battledger"
  ( cd "$BL_ROOT" && make -s PG_CONFIG="$PG_CONFIG" with_llvm=no \
      PG_CFLAGS="-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror" \
    && as_root make -s PG_CONFIG="$PG_CONFIG" with_llvm=no install )
}

# bl_start_cluster NAME PORT [extra postgresql.conf lines]
# Sets BL_WORK (shared scratch dir) and starts $BL_WORK/NAME on a private socket.
bl_start_cluster() {
  local name=$1 port=$2 extra=${3:-}
  bl_scratch
  as_pg "$PG_BIN/initdb" -D "$BL_WORK/$name" -A trust -U postgres --no-sync -E UTF8 \
    --locale=C >/dev/null
  cat >> "$BL_WORK/$name/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$BL_WORK'
max_locks_per_transaction = 256
$extra
CONF
  as_pg "$PG_BIN/pg_ctl" -D "$BL_WORK/$name" -l "$BL_WORK/$name.log" -w start >/dev/null
  export PGHOST=$BL_WORK PGPORT=$port PGUSER=postgres
}

# Settings for a test cluster's transparency log, with the committed TEST-ONLY key.
bl_test_log_conf() {
  local origin=$1
  install -m 600 "$BL_ROOT/test/data/TEST-ONLY-log.key" "$BL_WORK/log.key"
  [ "$(id -u)" = 0 ] && chown postgres: "$BL_WORK/log.key"
  printf "battledger.origin = '%s'\nbattledger.log_key_file = '%s'\n" "$origin" "$BL_WORK/log.key"
}

# bl_scratch: make sure BL_WORK exists before the first cluster starts.
bl_scratch() {
  if [ -z "${BL_WORK:-}" ]; then
    BL_WORK=$(mktemp -d /tmp/battledger.XXXXXX)
    chmod 755 "$BL_WORK"
    [ "$(id -u)" = 0 ] && chown postgres: "$BL_WORK"
    trap bl_cleanup EXIT
  fi
}

bl_cleanup() {
  local rc=$?
  if [ -n "${BL_WORK:-}" ] && [ -d "$BL_WORK" ]; then
    # A cluster the script already stopped makes pg_ctl fail: under set -e
    # that failure, the last command of an && list, ended the script with
    # status 1 before the rm (verify_ab.sh after printing its tables).
    for d in "$BL_WORK"/*/; do
      if [ -f "$d/PG_VERSION" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
      fi
    done
    if [ $rc -ne 0 ]; then
      for l in "$BL_WORK"/*.log; do [ -f "$l" ] && { echo "---- server log $l (tail)"; tail -n 60 "$l"; }; done
    fi
    rm -rf "$BL_WORK"
  fi
  return $rc
}
