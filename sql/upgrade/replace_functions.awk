# Prints the named functions and views of an install part as CREATE OR
# REPLACE statements, for an upgrade script:
#   awk -v names="f g" -f replace_functions.awk FILE
# (CREATE OR REPLACE VIEW keeps a view's columns, names and types, in their
# order: a view whose columns change needs a DROP in a .sql part instead.)
BEGIN { n = split(names, list, " "); for (i = 1; i <= n; i++) want[list[i]] = 1 }
# (parts loaded by the upgrade scripts too, like 32_enable_ledger.sql, already
# say CREATE OR REPLACE FUNCTION)
/^CREATE (OR REPLACE )?FUNCTION @extschema@\./ {
    name = ($2 == "OR") ? $5 : $3; sub(/^@extschema@\./, "", name); sub(/\(.*/, "", name)
    if (name in want) { copying = 1; sub(/^CREATE FUNCTION/, "CREATE OR REPLACE FUNCTION"); seen[name] = 1 }
}
/^CREATE (OR REPLACE )?VIEW @extschema@\./ {
    name = ($2 == "OR") ? $5 : $3; sub(/^@extschema@\./, "", name)
    if (name in want) { view = 1; sub(/^CREATE VIEW/, "CREATE OR REPLACE VIEW"); seen[name] = 1 }
}
copying { print }
copying && /\$\$;[ \t]*$/ { copying = 0; print "" }
# a C function ends at its library's symbol (CREATE ... AS 'MODULE_PATHNAME', 'symbol';)
copying && /'MODULE_PATHNAME', '[A-Za-z0-9_]+';[ \t]*$/ { copying = 0; print "" }
# a view ends at the first line, not a comment, ending in a semicolon
view { print; if ($0 !~ /^[ \t]*--/ && $0 ~ /;[ \t]*$/) { view = 0; print "" } }
END { for (w in want) if (!(w in seen)) { print "replace_functions.awk: no function or view " w > "/dev/stderr"; exit 1 } }
