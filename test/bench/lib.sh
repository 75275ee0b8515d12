# test/bench/lib.sh — helpers shared by the benchmark scripts (sourced after
# test/lib/cluster.sh): number formatting, medians, wall-clock and CPU
# accounting, and the machine rows every report starts with.

fmt() { awk -v x="$2" "BEGIN { printf \"$1\", x }"; }          # fmt '%.1f' 3.14159
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_ms() { date +%s%3N; }

# CPU accounting, to tell how much of the machine other work took during a
# run: busy jiffies of the whole machine, and the CPU time of this script's
# children (psql, pgbench; from `times`) plus the cluster's (postmaster with
# its exited backends, from /proc).  All in seconds.
CLK_TCK=$(getconf CLK_TCK)
machine_busy() { awk -v hz="$CLK_TCK" '/^cpu / { print ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat; }
children_cpu() {
  times | tail -n 1 | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60 + a[2] } print t }'
}
cluster_cpu() {             # cluster_cpu DATADIR
  local pid
  pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null) || { echo 0; return; }
  awk -v hz="$CLK_TCK" '{ sub(/^.*\) /, ""); print ($12 + $13 + $14 + $15) / hz }' "/proc/$pid/stat"
}

# bench_install [signer]: install the Debian packages, build and install
# battledger for $PG_CONFIG (test/lib/cluster.sh) and, with "signer", the
# TEST-ONLY signer extension (test/signer).  BENCH_NO_INSTALL=1 skips all of
# it and uses what is already installed for $PG_CONFIG: for a private
# (relocated) PostgreSQL, install there first, then run the benchmark, e.g.
#   make PG_CONFIG=$P with_llvm=no CLI_BINDIR=$D install
#   make -C test/signer PG_CONFIG=$P with_llvm=no install
#   PG_BIN=$(dirname "$P") PG_CONFIG=$P BENCH_NO_INSTALL=1 test/bench/signed.sh
# (GIT_STATE then names the checkout, which is what was installed only if
# you installed it.)
bench_install() {
  if [ "${BENCH_NO_INSTALL:-0}" = 1 ]; then
    say "BENCH_NO_INSTALL=1: using battledger${1:+ and the TEST-ONLY signer} as installed for $PG_CONFIG"
    return 0
  fi
  bl_install_packages
  bl_build_install
  if [ "${1:-}" = signer ]; then
    say "building and installing the TEST-ONLY signer (test/signer)"
    make -s -C "$BL_ROOT/test/signer" PG_CONFIG="$PG_CONFIG" with_llvm=no
    as_root make -s -C "$BL_ROOT/test/signer" PG_CONFIG="$PG_CONFIG" with_llvm=no install
  fi
}

# What is built: the commit, and the files that differ from it (the tree may hold uncommitted work).
bench_git_state() {
  (cd "$BL_ROOT" && { git rev-parse --short HEAD 2>/dev/null || echo "not a git checkout"; } | tr -d '\n'
   d=$(git status --porcelain --untracked-files=no 2>/dev/null | awk '{ print $2 }' | tr '\n' ' ')
   [ -z "$d" ] || printf ' + uncommitted changes to: %s' "$d")
}

# The head of every report: title, date and command, and the "Machine and server"
# table up to the machine's rows.  bench_report_head TITLE COMMAND
bench_report_head() {
  echo "# battledger benchmark$1"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), \`$2\`"
  echo
  echo "## Machine and server"
  echo
  echo "| | |"
  echo "|---|---|"
  bench_machine_rows
}

# The machine rows of a report's "Machine and server" table.
bench_machine_rows() {
  echo "| CPUs (nproc) | $(nproc) |"
  echo "| CPU model | $(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo) |"
  echo "| Memory | $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) |"
  echo "| Data directory filesystem | $(df --output=fstype "$BL_WORK" | tail -n 1) |"
}

# The rows describing one run: load, CPU taken by other work, the source built.
# Uses LOAD_BEFORE, LOAD_AFTER, ELAPSED, OWN, OTHER and GIT_STATE.
bench_run_rows() {
  echo "| Load average (1, 5, 15 min) before / at the end | $LOAD_BEFORE / $LOAD_AFTER |"
  echo "| CPU time during the run ($(fmt '%.0f' "$ELAPSED") s x $(nproc) CPUs) | this benchmark $(fmt '%.0f' "$OWN") s, **other work on the machine $(fmt '%.0f' "$OTHER") s** |"
  echo "| battledger source | $GIT_STATE |"
}
