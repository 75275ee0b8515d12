# test/lib/release.sh — sourced after test/lib/cluster.sh by the scenarios
# that run a released battledger's own binaries: test/shell/upgrade.sh (logs
# written by each release, then updated) and test/long/rolling_update.sh (a
# consortium updated one member at a time).
#
# BL_RELEASES: every release whose commit the scenarios build, oldest first,
# "VERSION COMMIT DIRNAME" (DIRNAME under $BL_WORK).  Opening a release adds
# the previous one here (its landed commit); the last entry is the release
# before the one in progress.
BL_RELEASES=("0.2.0 b06c259 pg020" "0.3.0 f08a441 pg030" "0.4.0 f2f6205 pg040"
             "0.5.0 166d21d pg-v05" "0.6.0 8a7f2d1 pg-v06" "0.7.0 f190580 pg-v07"
             "0.8.0 b61276b pg-v08" "0.9.0 84e14de pg-v09" "0.10.0 546a5c3 pg-v10"
             "0.11.0 18c7a9c pg-v11" "0.12.0 5017310 pg-v12"
             "0.13.0 b035bd3 pg-v13" "0.14.0 fae939a pg-v14"
             "0.15.0 c45f14b pg-v15" "0.16.0 f83d032 pg-v16"
             "0.17.0 5dee606 pg-v17" "0.18.0 3eab271 pg-v18"
             "0.19.0 282483d pg-v19" "0.20.0 9de6b2f pg-v20"
             "0.21.0 fd285c4 pg-v21"
             "0.22.0 36112d8 pg-v22"
             "0.23.0 11aab24 pg-v23"
             "0.24.0 3410aca pg-v24"
             "0.25.0 fc1067e pg-v25"
             "0.26.0 77a384a pg-v26"
             "0.27.0 82d4890 pg-v27")

# bl_build_release VERSION COMMIT DIR: that release's extension, CLI and test
# signer, built from its commit into DIR, a relocated copy of this PostgreSQL
# (PG_BIN, PG_CONFIG); its server binaries are DIR/usr/lib/postgresql/15/bin
bl_build_release() {
  local version=$1 commit=$2 dir=$3 config=$3/usr/lib/postgresql/15/bin/pg_config
  mkdir -p "$dir/usr/lib/postgresql" "$dir/usr/share/postgresql" "$dir/usr/include" "$dir/bin" "$dir/src"
  cp -a "$(dirname "$PG_BIN")" "$dir/usr/lib/postgresql/"
  cp -a "$("$PG_CONFIG" --sharedir)" "$dir/usr/share/postgresql/"
  ln -s "$(dirname "$("$PG_CONFIG" --includedir-server)")/.." "$dir/usr/include/postgresql"
  if ! git -C "$BL_ROOT" cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "FAIL - $version's release commit $commit is not in this clone (shallow?): git fetch --unshallow"
    exit 1
  fi
  git -C "$BL_ROOT" archive "$commit" | tar -x -C "$dir/src"
  # unoptimised, without debug information: half the compile time (the builds
  # were most of the upgrade scenario's CPU), and these binaries only write data
  make -s -C "$dir/src" PG_CONFIG="$config" with_llvm=no COPT="-O0 -g0" CLI_BINDIR="$dir/bin" install >/dev/null
  make -s -C "$dir/src/test/signer" PG_CONFIG="$config" with_llvm=no COPT="-O0 -g0" install >/dev/null
}
