# Prints the named functions of an install part as CREATE OR REPLACE FUNCTION
# statements, for an upgrade script: awk -v names="f g" -f replace_functions.awk FILE
BEGIN { n = split(names, list, " "); for (i = 1; i <= n; i++) want[list[i]] = 1 }
# (parts loaded by the upgrade scripts too, like 32_enable_ledger.sql, already
# say CREATE OR REPLACE FUNCTION)
/^CREATE (OR REPLACE )?FUNCTION @extschema@\./ {
    name = ($2 == "OR") ? $5 : $3; sub(/^@extschema@\./, "", name); sub(/\(.*/, "", name)
    if (name in want) { copying = 1; sub(/^CREATE FUNCTION/, "CREATE OR REPLACE FUNCTION"); seen[name] = 1 }
}
copying { print }
copying && /\$\$;[ \t]*$/ { copying = 0; print "" }
END { for (w in want) if (!(w in seen)) { print "replace_functions.awk: no function " w > "/dev/stderr"; exit 1 } }
