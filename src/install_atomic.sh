# src/install_atomic.sh INSTALL-COMMAND... -- FILE... DEST
#
# PGXS's INSTALL_SHLIB, made atomic (the Makefiles of battledger and of
# test/signer set INSTALL_SHLIB to this script followed by PGXS's own
# command).  DEST is the installed file's path (one FILE) or a directory
# (ending in /).  Each FILE is installed by the given command under a
# temporary name next to its target, then renamed over the target.
#
# Why: install(1) removes the target, creates it (mode 0600), writes it and
# only then sets its mode.  A server running from that directory loads the
# library in every new session ("LOAD", or the first call of one of its
# functions): a session that did so in that window failed with "could not
# access file" or "could not load library ...: Permission denied" (or
# "file too short").  A member running `make install` before its restart
# (docs/consortium.md, "Updating the members one at a time"), or a second
# test run installing into the PostgreSQL a first one uses, made a writer's
# transaction fail at random.  rename(2) replaces the name in one step: a
# new session loads the old file or the new one, whole.  Sessions that have
# it loaded keep theirs (the old file lives on until they exit).
# (POSIX sh: make runs it with /bin/sh)
set -eu
usage() { echo "install_atomic.sh: usage: INSTALL-COMMAND... -- FILE... DEST" >&2; exit 2; }
# the command's words, each quoted for eval (PGXS's: install, its options,
# and with install-strip an environment assignment, hence "env")
cmd=env
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  cmd="$cmd '$(printf '%s' "$1" | sed "s/'/'\\\\''/g")'"
  shift
done
[ $# -gt 0 ] || usage
shift
[ $# -ge 2 ] || usage
for dest in "$@"; do :; done
case $dest in */) ;; *) [ $# -eq 2 ] || { echo "install_atomic.sh: several files go to a directory (DEST ending in /), not to $dest" >&2; exit 2; } ;; esac
tmp=
trap 'if [ -n "$tmp" ]; then rm -f "$tmp"; fi' EXIT
while [ $# -gt 1 ]; do
  f=$1; shift
  case $dest in
    */) target=$dest$(basename "$f") ;;
    *) target=$dest ;;
  esac
  tmp=$(dirname "$target")/.$(basename "$target").$$.tmp
  eval "$cmd \"\$f\" \"\$tmp\""
  mv -f "$tmp" "$target"
  tmp=
done
