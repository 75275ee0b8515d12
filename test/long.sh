#!/usr/bin/env bash
# The long scenarios, outside the default suite (test/all.sh) to keep it
# short; CI runs them after it (.ci/run): four members under pgbench load
# through joins, a forgery, slot loss and kill -9 (test/long/faults.sh),
# the consortium's statuses sampled under faults (test/long/status_faults.sh),
# members with clocks behind and ahead (test/long/registry_clock.sh), red
# teams r15's and r16b's cases (test/long/red_team_r15.sh, red_team_r16b.sh),
# model ids, lot ids and lots' mass balance (test/long/red_team_ns21.sh),
# red team r22's cases on 0.19.0's merges (test/long/red_team_r22.sh),
# lots read from rows other members write (test/long/red_team_lots23.sh),
# red team r23's cases on them (test/long/red_team_r23.sh),
# passport ids in namespaces (test/long/red_team_pp23.sh), red team r24's
# cases on them and r25's on keys registered where their member is hosted
# (test/long/red_team_r24.sh), red teams k26, r26 and r27 on 0.22.0's keys
# judged by origin and the witness's re-join (test/long/red_team_r26.sh),
# 0.23.0's on roles judged by origin (test/long/red_team_r28.sh),
# the faults the others do not make: a dropped publication, power cuts in
# seal() and in a join's copy, a clock jump, a member restored from a
# snapshot (test/long/faults23.sh),
# a consortium updated one member at a time from the previous release's own
# binaries (test/long/rolling_update.sh),
# the upgrade scenario compared with a fresh install at every step
# (test/long/upgrade_every_step.sh), the README's demo run as a user runs it,
# failing on any attack it shows accepted (test/long/demo.sh), and
# the Debian packages built, linted, installed and checked
# (test/long/deb_package.sh).  Fresh Debian 12, as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."
source test/lib/cluster.sh

bl_install_packages
bl_build_install
say "installing the TEST-ONLY signing extension (test/signer)"
make -s -C test/signer PG_CONFIG="$PG_CONFIG" with_llvm=no && as_root make -s -C test/signer PG_CONFIG="$PG_CONFIG" with_llvm=no install
failed=()
for t in test/long/*.sh; do
  say "long scenario: $t"
  bash "$t" || failed+=("$t")
done
if [ ${#failed[@]} -gt 0 ]; then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "all long scenarios passed"
