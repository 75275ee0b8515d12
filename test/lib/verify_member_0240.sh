# test/lib/verify_member_0240.sh — sourced by test/shell/verify_member_grouped.sh
# and test/bench/verify_member_rows.sh: vm_0240_sql prints SQL that creates
# vm_0240.verify_member(text), 0.24.0's verify_member() (two groupings of each
# table's leaves and rows), taken from the frozen upgrade script that
# installed it (sql/upgrade/battledger--0.23.0--0.24.0.sql), with the
# extension's schema filled in: the baseline the one-grouping version must
# match row for row, and the one it is timed against.
vm_0240_sql() {
  local f; f="$(dirname "${BASH_SOURCE[0]}")/../../sql/upgrade/battledger--0.23.0--0.24.0.sql"
  echo "CREATE SCHEMA IF NOT EXISTS vm_0240;"
  awk '/^CREATE OR REPLACE FUNCTION @extschema@\.verify_member\(member text\)/ { on = 1 }
       on { print } on && /^END \$\$;/ { exit }' "$f" \
    | sed -e '1s/@extschema@\.verify_member(/vm_0240.verify_member(/' -e 's/@extschema@/battledger/g'
}
