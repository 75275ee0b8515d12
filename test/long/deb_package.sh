#!/usr/bin/env bash
# The Debian packages (issue 13, section 2), end to end:
#   1. dpkg-buildpackage builds the source package and the binary packages
#      (postgresql-NN-battledger per version pg_buildext supports here, and
#      battledger-tools) from a copy of the working tree, so the checkout
#      stays clean;
#   2. lintian reports no error, and no warning outside the documented list
#      below;
#   3. the packages' contents: the extension files in the server package, the
#      CLI as /usr/bin/battledger in battledger-tools only;
#   4. the packages are installed by the README's "Install from the package"
#      commands, as printed (its build line aside: step 1 ran it, with the
#      source package), on a system where no other battledger files exist;
#      the README's configuration block restarts 15/main with a log key and
#      creates the extension there; then every PostgreSQL version gets a
#      fresh cluster: CREATE EXTENSION, a ledger table and rows,
#      verify() (intact, then tampered), seal(), and the checkpoint and an
#      inclusion proof checked by the packaged CLI (debian/tests/smoke, the
#      autopkgtest, which runs debian/tests/check-extension).
#
# Step 4 must not change the machine: test/all.sh ran `make install` into the
# same PostgreSQL before, later scenarios rely on those files, and other test
# runs may share the machine.  So the installation happens in private mount
# and network namespaces where /usr, /var and /etc are overlays of the real
# ones and /run/postgresql an empty tmpfs: apt and dpkg run for real against
# the real package database, the server is the system's, and every change
# disappears with the namespace.  Where that is not
# possible (no root, no namespaces, no overlayfs), the test says so and falls back to
# unpacking the packages with `dpkg -x` into a copy of the server's
# directories (BL_DEB_MODE=relocated forces this), after checking with
# `apt-get -s` that they would install.
set -euo pipefail
source "$(dirname "$0")/../lib/cluster.sh"
# the README's commands reach the system's cluster (15/main) the way a DBA's
# do: not a test cluster some caller (test/all.sh) pointed the environment at
unset PGHOST PGPORT PGUSER PGDATABASE

# Known lintian warnings, each with its reason (anything else fails):
#   initial-upload-closes-no-bugs  the packages are not uploaded to Debian, so
#                                  there is no ITP bug to close.
#   incomplete-creative-commons-license  debian/copyright names the CC BY 4.0
#                                  schemas in test/standards/ (used by the test
#                                  suite only, in no binary package) and points
#                                  to the licence's text by URL instead of
#                                  reproducing it.
LINTIAN_ALLOWED_WARNINGS="initial-upload-closes-no-bugs incomplete-creative-commons-license"

fail=0
check() { local what=$1; shift; if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fail=1; fi; }
t0=$(date +%s)
bl_scratch
version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$BL_ROOT/battledger.control")
D=$BL_WORK/deb
src=$D/battledger-$version
mkdir -p "$src"

say "copying the working tree to $src"
if git -C "$BL_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
  # tracked and untracked-but-not-ignored files, as they are now
  ( cd "$BL_ROOT" && git ls-files -z -co --exclude-standard |
      while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
      tar --null -T - -cf - ) | tar -xf - -C "$src"
else
  tar -C "$BL_ROOT" --exclude=.git -cf - . | tar -xf - -C "$src"
fi
# the upstream tarball is the tree without debian/ (format 3.0 (quilt))
tar -C "$D" --exclude="battledger-$version/debian" -czf "$D/battledger_$version.orig.tar.gz" "battledger-$version"

say "dpkg-buildpackage -us -uc"
tb=$(date +%s)
if ! ( cd "$src" && dpkg-buildpackage -us -uc -j"$(nproc)" ) > "$D/build.log" 2>&1; then
  tail -n 60 "$D/build.log"
  echo "deb_package: FAIL (dpkg-buildpackage)"; exit 1
fi
build_s=$(( $(date +%s) - tb ))
changes=$D/battledger_${version}-1_$(dpkg --print-architecture).changes
mapfile -t debs < <(find "$D" -maxdepth 1 -name '*.deb' ! -name '*-dbgsym_*' | sort)
pgversions=$(cd "$src" && pg_buildext supported-versions)
echo "built in ${build_s}s: $(printf '%s ' "${debs[@]##*/}")"
for v in $pgversions; do
  check "postgresql-$v-battledger was built" test -f "$D/postgresql-$v-battledger_${version}-1_$(dpkg --print-architecture).deb"
done
tools_deb=$(printf '%s\n' "${debs[@]}" | grep '/battledger-tools_')
check "battledger-tools was built" test -f "$tools_deb"

say "lintian"
lintian --pedantic --display-info "$changes" > "$D/lintian.out" 2>&1 || true
grep -v '^running with root privileges' "$D/lintian.out" || true
check "lintian reports no error" bash -c "! grep -q '^E: ' '$D/lintian.out'"
# the tag follows "W: <package>:" or "W: <package> source:"
unexpected=$(grep '^W: ' "$D/lintian.out" | sed -E 's/^W: [^:]+: ([^ ]+).*/\1/' | grep -vxF -f <(tr ' ' '\n' <<<"$LINTIAN_ALLOWED_WARNINGS") || true)
check "lintian warns only of the documented tags${unexpected:+ (also: $unexpected)}" test -z "$unexpected"

say "contents"
for v in $pgversions; do
  deb=$D/postgresql-$v-battledger_${version}-1_$(dpkg --print-architecture).deb
  files=$(dpkg-deb -c "$deb" | awk '{print $6}')
  check "postgresql-$v-battledger ships battledger.so, the control file and the $version script" \
    test "$(grep -cxE "\./usr/lib/postgresql/$v/lib/battledger\.so|\./usr/share/postgresql/$v/extension/battledger\.control|\./usr/share/postgresql/$v/extension/battledger--$version\.sql" <<<"$files")" = 3
  # every file (directories aside) in this version's extension directories or
  # its docs: no CLI, nothing for another version
  stray=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' |
          grep -vE "^\./usr/(lib/postgresql/$v/lib/|share/postgresql/$v/extension/|share/doc/postgresql-$v-battledger/)" || true)
  check "postgresql-$v-battledger ships nothing outside PostgreSQL $v's directories${stray:+ (also: $stray)}" test -z "$stray"
  check "postgresql-$v-battledger depends on postgresql-$v" \
    bash -c "dpkg-deb -f '$deb' Depends | grep -q 'postgresql-$v\\b'"
done
tools_files=$(dpkg-deb -c "$tools_deb" | awk '$1 !~ /^d/ {print $6}')
stray=$(grep -vE '^\./usr/(bin/battledger|share/doc/battledger-tools/.*|share/man/man1/battledger\.1\.gz)$' <<<"$tools_files" || true)
check "battledger-tools ships /usr/bin/battledger, its manual page and docs only${stray:+ (also: $stray)}" \
  bash -c 'grep -qx "\./usr/bin/battledger" <<<"$1" && [ -z "$2" ]' _ "$tools_files" "$stray"

# --- installing
mode=${BL_DEB_MODE:-auto}
if [ "$mode" = auto ]; then
  mkdir -p "$D/probe-u" "$D/probe-w"
  if as_root unshare -m -n --propagation private \
       mount -t overlay overlay -o "lowerdir=/etc,upperdir=$D/probe-u,workdir=$D/probe-w" /etc 2>/dev/null; then
    mode=overlay
  else
    mode=relocated
    echo "NOTE: no private mount namespace with overlayfs here: unpacking with dpkg -x instead of installing"
  fi
fi
# what `make install` left in the real system, to show it is unchanged after
sys_files() { sha256sum /usr/lib/postgresql/*/lib/battledger.so /usr/share/postgresql/*/extension/battledger* \
                /usr/local/bin/battledger /usr/bin/battledger 2>/dev/null || true; }
before=$(sys_files)

if [ "$mode" = overlay ]; then
  say "README's install commands, as printed, in a private overlay of /usr, /var and /etc"
  # The two sh blocks of README.md's "Install from the package"
  readme_block() {
    awk -v n="$1" '/^## Install from the package/ {on = 1; next} on && /^## / {exit}
                   on && /^```sh$/ {k++; if (k == n) {inblock = 1; next}} inblock && /^```$/ {exit} inblock {print}' \
      "$BL_ROOT/README.md"
  }
  readme_block 1 > "$D/readme-install.sh"
  readme_block 2 > "$D/readme-configure.sh"
  check "README's install section has its two blocks" \
    bash -c "grep -q '^dpkg-buildpackage -us -uc -b$' '$D/readme-install.sh' && grep -q 'CREATE EXTENSION battledger' '$D/readme-configure.sh'"
  # Runs as root in a namespace of its own (mounts and network: the main
  # cluster it starts listens on a private localhost, its socket on a
  # private /run/postgresql).  Battledger files that `make install` left
  # (owned by no package) are removed first, in the overlay only, so the
  # clusters can use nothing but what the packages install.
  cat > "$D/in-namespace.sh" <<'NS'
set -euo pipefail
D=$1; src=$2; shift 2
ip link set lo up
for d in usr var etc; do
  mkdir -p "$D/ov/$d-u" "$D/ov/$d-w"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$D/ov/$d-u,workdir=$D/ov/$d-w" "/$d"
done
mount -t tmpfs tmpfs /run/postgresql && chown postgres:postgres /run/postgresql && chmod 2775 /run/postgresql
rm -f /var/lib/man-db/auto-update       # no man-db index rebuild (slow, not what is tested)
rm -rf /usr/lib/postgresql/*/lib/battledger.so /usr/lib/postgresql/*/lib/bitcode/battledger \
       /usr/lib/postgresql/*/lib/bitcode/battledger.index.bc /usr/share/postgresql/*/extension/battledger[.-]* \
       /usr/local/bin/battledger
left=$(ls -d /usr/lib/postgresql/*/lib/battledger.so /usr/lib/postgresql/*/lib/bitcode/battledger* \
          /usr/share/postgresql/*/extension/battledger[.-]* /usr/local/bin/battledger 2>/dev/null || true)
[ -z "$left" ] || { echo "battledger files left before the install: $left"; exit 1; }
cd "$src"
# README block 1 as printed, but for the build: the packages were built
# above with the same command (without -b, to check the source package too)
echo "# README block 1 (without the dpkg-buildpackage line)"
grep -v '^dpkg-buildpackage ' "$D/readme-install.sh" > "$D/readme-install-nobuild.sh"
DEBIAN_FRONTEND=noninteractive bash -ex "$D/readme-install-nobuild.sh" > "$D/apt.log" 2>&1 || { cat "$D/apt.log"; exit 1; }
grep -E '^(Setting up|Unpacking) ' "$D/apt.log"
# the packages of other PostgreSQL versions, if any were built
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" > "$D/apt2.log" 2>&1 || { cat "$D/apt2.log"; exit 1; }
for p in $(dpkg-query -W -f '${db:Status-Status} ${Package}\n' 'postgresql-*-battledger' | awk '$1 == "installed" {print $2}') battledger-tools; do
  dpkg --verify "$p" || { echo "dpkg --verify $p: the installed files differ from the package"; exit 1; }
  echo "installed: $p $(dpkg-query -W -f '${Version}' "$p") (dpkg --verify clean)"
done
echo "$(dpkg -S /usr/bin/battledger)"
if [ -d /etc/postgresql/15/main ]; then
  echo "# README block 2 as printed"
  trap 'pg_ctlcluster 15 main stop -m immediate >/dev/null 2>&1 || true' EXIT
  bash -ex "$D/readme-configure.sh"
  cp=$(runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -c 'SELECT battledger.seal()')
  [ "$(head -1 <<<"$cp")" = oem.example/batteries ] || { echo "seal() in 15/main: $cp"; exit 1; }
  echo "readme-configure: PASS (15/main seals as oem.example/batteries)"
  pg_ctlcluster 15 main stop
  trap - EXIT
else
  echo "NOTE: no cluster 15/main on this machine: README block 2 not run"
fi
echo "# the autopkgtest"
BATTLEDGER=/usr/bin/battledger debian/tests/smoke
NS
  if as_root unshare -m -n --propagation private bash "$D/in-namespace.sh" "$D" "$src" "${debs[@]}" 2>&1 | tee "$D/install.log"; then
    check "apt-get installed the packages; the README's commands and the autopkgtest passed" true
  else
    check "apt-get installed the packages; the README's commands and the autopkgtest passed" false
  fi
  check "the autopkgtest checked every version ($pgversions) on a fresh cluster" \
    test "$(grep -c '^check-extension: PASS' "$D/install.log")" = "$(wc -w <<<"$pgversions")"
  check "outside the namespace nothing changed (no package installed, battledger files as before)" \
    bash -c "! dpkg-query -W -f '\${Status}\n' battledger-tools 2>/dev/null | grep -q 'ok installed' && [ \"\$1\" = \"\$2\" ]" _ "$before" "$(sys_files)"
  as_root rm -rf "$D/ov"
else
  say "apt-get -s (would they install here?), then dpkg -x into a copy of each server"
  check "apt-get -s accepts the packages" \
    bash -c "apt-get install -s --no-install-recommends $(printf "'%s' " "${debs[@]}") > '$D/apt-s.log' 2>&1 || { cat '$D/apt-s.log'; false; }"
  # a copy of each server's own files, without any battledger file that
  # `make install` left, then the packages unpacked over it
  R=$BL_WORK/root
  mkdir -p "$R/usr/lib/postgresql" "$R/usr/share/postgresql"
  for v in $pgversions; do
    cp -a "/usr/lib/postgresql/$v" "$R/usr/lib/postgresql/"
    cp -a "/usr/share/postgresql/$v" "$R/usr/share/postgresql/"
    rm -rf "$R/usr/lib/postgresql/$v/lib/battledger.so" "$R/usr/lib/postgresql/$v/lib/bitcode/battledger" \
           "$R/usr/lib/postgresql/$v/lib/bitcode/battledger.index.bc" "$R/usr/share/postgresql/$v/extension"/battledger[.-]*
  done
  for deb in "${debs[@]}"; do dpkg -x "$deb" "$R"; done
  key_dir=$BL_WORK/logkey; mkdir -p "$key_dir"
  "$R/usr/bin/battledger" keygen --out "$key_dir/log" >/dev/null
  [ "$(id -u)" = 0 ] && chown postgres: "$key_dir/log.key"
  port=55471
  for v in $pgversions; do
    PG_BIN=$R/usr/lib/postgresql/$v/bin
    bl_start_cluster "pg$v" "$port" "battledger.origin = 'deb-package.example/log'
battledger.log_key_file = '$key_dir/log.key'"
    createdb check
    if PGDATABASE=check BATTLEDGER=$R/usr/bin/battledger "$src/debian/tests/check-extension"; then
      check "PostgreSQL $v: the unpacked packages pass the check" true
    else
      check "PostgreSQL $v: the unpacked packages pass the check" false
    fi
    check "PostgreSQL $v: the server's library directory is the unpacked one" \
      test "$(psql -X -At -d check -c "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")" = "$R/usr/lib/postgresql/$v/lib"
    port=$((port + 1))
  done
fi

echo "deb_package ($mode): $(( $(date +%s) - t0 ))s in all, build ${build_s}s"
[ $fail = 0 ] && echo "deb_package: PASS" || { echo "deb_package: FAIL"; exit 1; }
