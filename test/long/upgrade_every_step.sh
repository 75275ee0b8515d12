#!/usr/bin/env bash
# test/shell/upgrade.sh with every database compared with a fresh install at
# every version it passes on its way to this one, not only at the end (the
# default suite's run): the steps between are frozen scripts, so this runs
# in the long stage (test/long.sh), where a change to a frozen script or to
# what PostgreSQL makes of it would still be caught before a release.
set -euo pipefail
BL_UPGRADE_EVERY_STEP=1 exec bash "$(dirname "$0")/../shell/upgrade.sh"
