#!/usr/bin/env bash
# test/matrix.sh [VERSION...] — the suite on the PostgreSQL majors Debian 12
# does not ship: 17 (Debian 13 "trixie") and 18 (Debian unstable "sid").
#
# For each version: debootstrap a throwaway minimal Debian root under /tmp
# from Debian's package registry (the mirror this machine's apt uses),
# install postgresql-N, postgresql-server-dev-N and pgTAP into it, copy this
# tree in and run test/lib/matrix_root.sh inside (chroot): build with
# -Werror, install, start a cluster of that version, run pg_regress,
# pgTAP and the shell scenarios that do not need 15's layout or extra
# packages (BL_MATRIX_SCENARIOS, see test/lib/matrix_root.sh; empty: none).
# Every root is removed at the end; nothing is cached.
#
# Needs root (debootstrap, chroot, mount) and debootstrap (installed from
# Debian's packages when missing).  PostgreSQL 15 is tested by test/all.sh.
# Versions run in parallel (BL_MATRIX_PARALLEL=0: one after the other);
# each one's output goes to a log printed when it ends.
# Usage: bash test/matrix.sh            # 17 and 18
#        bash test/matrix.sh 18         # one version
set -euo pipefail
cd "$(dirname "$0")/.."
BL_ROOT=$(pwd)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "test/matrix.sh needs root (debootstrap, chroot)" >&2; exit 2; }
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(17 18)

suite_of() {
  case $1 in
    17) echo trixie ;;
    18) echo sid ;;
    *) echo "no Debian suite known for PostgreSQL $1 (15: test/all.sh; 16: not packaged by Debian)" >&2; return 1 ;;
  esac
}
for v in "${versions[@]}"; do suite_of "$v" >/dev/null; done

# The mirror this machine's apt uses for Debian (deb822 or one-line format).
mirror=${BL_DEBIAN_MIRROR:-$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
  grep -E '^(URIs:|deb )' | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n 1 | tr -d ' ' || true)}
mirror=${mirror:-http://deb.debian.org/debian}

if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

WORK=$(mktemp -d /tmp/battledger-matrix.XXXXXX)

# Stop what runs inside a root (our own clusters, by pid), unmount what we
# mounted, then delete it — only once nothing is mounted below it.
release_root() {
  local root=$1 p
  [ -d "$root" ] || return 0
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null
  done
  for m in dev/pts dev/shm proc; do
    mountpoint -q "$root/$m" && umount -l "$root/$m"
  done
  if grep -q " $root/" /proc/mounts; then
    echo "not removing $root: something is still mounted below it" >&2
    return 1
  fi
  rm -rf "$root"
}
cleanup() {
  local rc=$? r
  for r in "$WORK"/root-*; do [ -e "$r" ] && release_root "$r"; done
  rm -rf "$WORK"
  return $rc
}
trap cleanup EXIT

# run_steps V ROOT: debootstrap, packages, the tree, the tests inside.
run_steps() {
  local v=$1 root=$2 suite
  suite=$(suite_of "$v")
  say "PostgreSQL $v: debootstrap $suite from $mirror"
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$WORK/$v.debootstrap.log" 2>&1 ||
    { tail -n 30 "$WORK/$v.debootstrap.log"; return 1; }
  mount -t proc proc "$root/proc" || return 1
  mount -t tmpfs -o mode=1777 shm "$root/dev/shm" || return 1
  # no service starts in the root, and no default cluster is made
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d" &&
    mkdir -p "$root/etc/postgresql-common" &&
    echo 'create_main_cluster = false' > "$root/etc/postgresql-common/createcluster.conf" || return 1
  say "PostgreSQL $v: installing postgresql-$v, postgresql-server-dev-$v, pgTAP"
  chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get install -y -q \
    --no-install-recommends "postgresql-$v" "postgresql-server-dev-$v" "postgresql-$v-pgtap" \
    libtap-parser-sourcehandler-pgtap-perl libssl-dev make gcc libc6-dev openssl xxd \
    >"$WORK/$v.apt.log" 2>&1 || { tail -n 30 "$WORK/$v.apt.log"; return 1; }
  say "PostgreSQL $v: copying the tree in"
  mkdir "$root/build" && tar -C "$BL_ROOT" --exclude=.git -cf - . | tar -C "$root/build" -xf - || return 1
  local scen=()
  [ -z "${BL_MATRIX_SCENARIOS+set}" ] || scen=(BL_MATRIX_SCENARIOS="$BL_MATRIX_SCENARIOS")
  chroot "$root" env LC_ALL=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${scen[@]}" \
    bash /build/test/lib/matrix_root.sh "$v"
}

# run_version V: the whole run for one version, output to $WORK/V.log,
# result to $WORK/V.rc, seconds to $WORK/V.time; the root is removed.
run_version() {
  local v=$1 t0 rc=0
  t0=$(date +%s)
  run_steps "$v" "$WORK/root-$v" >"$WORK/$v.log" 2>&1 || rc=$?
  echo $(( $(date +%s) - t0 )) > "$WORK/$v.time"
  echo $rc > "$WORK/$v.rc"
  release_root "$WORK/root-$v" || true
}

t_start=$(date +%s)
say "matrix: PostgreSQL ${versions[*]} (mirror $mirror)"
if [ "${BL_MATRIX_PARALLEL:-1}" = 1 ]; then
  pids=()
  for v in "${versions[@]}"; do run_version "$v" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || true; done
else
  for v in "${versions[@]}"; do run_version "$v" || true; done
fi

passed=0 failed=0 summary=()
for v in "${versions[@]}"; do
  say "log of PostgreSQL $v"
  cat "$WORK/$v.log" 2>/dev/null || true
  if [ "$(cat "$WORK/$v.rc" 2>/dev/null)" = 0 ]; then
    passed=$((passed + 1)); summary+=("PostgreSQL $v: passed in $(cat "$WORK/$v.time")s")
  else
    failed=$((failed + 1)); summary+=("PostgreSQL $v: FAILED after $(cat "$WORK/$v.time" 2>/dev/null || echo '?')s")
  fi
done
say "matrix summary (wall time $(( $(date +%s) - t_start ))s)"
printf '%s\n' "${summary[@]}"
echo "matrix: $passed passed, $failed failed"
[ "$failed" = 0 ]
