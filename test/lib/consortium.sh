# test/lib/consortium.sh — sourced after test/lib/cluster.sh by the shell
# scenarios that run several consortium members on this machine
# (test/shell/consortium.sh, registry_races.sh, slot_loss.sh,
# test/long/faults.sh): one member's cluster, keys and database, a join,
# and a wait for a member to reach a state.
#
# The caller declares, per member name (a, b, ...):
#   PORT[m]    its port;  ORIGIN[m]  its battledger.origin;
# and bl_member_keys fills, once the caller has run CREATE EXTENSION
# battledger in the member's database "bl":
#   LOGV[m]    its log verifier key (SELECT battledger.log_vkey())
#   WITV[m]    its witness verifier key, when it has a witness key.  Keys are made with the CLI, as an operator would.

BL_CLI=${BATTLEDGER_CLI:-$BL_ROOT/bin/battledger}

# BL_QUICK_RETRY: a member setting for the default suite's scenarios
# (test/shell/).  On PostgreSQL 15 the logical replication launcher starts
# an apply worker at most once per wal_retrieve_retry_interval (5 s by
# default) in a cluster, and relaunches a failed one no sooner: a member
# that joins two others started the second subscription 5 s after the
# first, and each restart, re-enable or join again waited as much.  The
# scenarios wait for the outcome (wait_for polls), so a shorter interval
# changes when a worker starts, not what it must do.  Not for test/long/ nor
# test/redteam/ (status_faults.sh runs the r12 red team scripts, which sample
# consortium_status() through these windows and set the interval themselves).
BL_QUICK_RETRY="wal_retrieve_retry_interval = 200ms"

# bl_mq MEMBER psql-args...: psql at MEMBER's database "bl", unaligned, stop on error
bl_mq() { local m=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -h "$BL_WORK" -p "${PORT[$m]}" -d bl "$@"; }

# bl_wait_for MEMBER SQL [TRIES]: poll SQL at MEMBER every 0.2 s until it
# returns t (TRIES times; by default BL_WAIT_TRIES, else 300: a minute).  On a timeout it says
# what it waited for, shows the errors in every member's server log and runs
# the caller's bl_on_timeout, if it has one (more state to show), then
# returns 1: the scenario's check fails and names the wait.
bl_wait_for() {
  local m=$1 sql=$2 n=${3:-${BL_WAIT_TRIES:-300}} i o
  for i in $(seq 1 "$n"); do
    [ "$(bl_mq "$m" -c "$sql" 2>/dev/null)" = t ] && return 0
    sleep 0.2
  done
  echo "timed out at $m waiting for: $sql"
  for o in $(printf '%s\n' "${!PORT[@]}" | sort); do
    [ -f "$BL_WORK/$o.log" ] || continue
    echo "-- errors in $BL_WORK/$o.log"; grep -A2 -E "ERROR|WARNING|FATAL" "$BL_WORK/$o.log" | tail -n 16
  done
  if [ "$(type -t bl_on_timeout)" = function ]; then bl_on_timeout; fi
  return 1
}

# bl_member_start MEMBER KEYDIR [witness] [extra postgresql.conf lines]:
# a log key (and, with "witness", a witness key) in KEYDIR, a cluster with
# logical replication on MEMBER's port and origin, and its database "bl";
# BL_MEMBER_CONF: more lines for every member's postgresql.conf, from the
# environment (test/long/isolation.sh)
bl_member_start() {
  local m=$1 dir=$2 witness=${3:-} extra=${4:-} conf
  "$BL_CLI" keygen --out "$dir/$m-log" >/dev/null
  [ "$(id -u)" = 0 ] && chown postgres: "$dir/$m-log.key"
  conf="wal_level = logical
max_replication_slots = 16
max_wal_senders = 16
max_logical_replication_workers = 10
max_worker_processes = 20
battledger.origin = '${ORIGIN[$m]}'
battledger.log_key_file = '$dir/$m-log.key'"
  if [ "$witness" = witness ]; then
    "$BL_CLI" keygen --out "$dir/$m-witness" >/dev/null
    [ "$(id -u)" = 0 ] && chown postgres: "$dir/$m-witness.key"
    conf+="
battledger.witness_key_file = '$dir/$m-witness.key'"
  fi
  bl_start_cluster "$m" "${PORT[$m]}" "$conf
$extra
${BL_MEMBER_CONF:-}"
  createdb -h "$BL_WORK" -p "${PORT[$m]}" bl
}

# bl_member_keys MEMBER [witness]: read its verifier keys into LOGV (and
# WITV) after CREATE EXTENSION battledger
bl_member_keys() {
  LOGV[$1]=$(bl_mq "$1" -c "SELECT battledger.log_vkey()")
  if [ "${2:-}" = witness ]; then WITV[$1]=$(bl_mq "$1" -c "SELECT battledger.witness_vkey()"); fi
}

# bl_join SUBSCRIBER MEMBER: SUBSCRIBER pins MEMBER's keys and runs the
# CREATE SUBSCRIPTION battledger.join() returns (psql's \gexec)
bl_join() {
  bl_mq "$1" -v origin="${ORIGIN[$2]}" -v conn="host=$BL_WORK port=${PORT[$2]} dbname=bl user=postgres" \
    -v lv="${LOGV[$2]}" -v wv="${WITV[$2]:-}" >/dev/null <<'SQL'
SELECT battledger.join(:'origin', :'conn', :'lv', NULLIF(:'wv', '')) \gexec
SQL
}
