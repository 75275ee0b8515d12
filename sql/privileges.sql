-- Every object of the extension and what PUBLIC and each of the extension's
-- roles may do with it, read from the catalog: this file's expected output
-- is the privilege table a new object is compared against, so nothing can be
-- added with a careless grant (issue 10).  Functions: X = EXECUTE.  Tables,
-- views, sequences: a = INSERT, r = SELECT, w = UPDATE, d = DELETE,
-- D = TRUNCATE, x = REFERENCES, t = TRIGGER, U = USAGE (as in aclitem).
\pset null '-'
WITH ext AS (
    SELECT d.classid, d.objid
      FROM pg_depend d
     WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
       AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'battledger')
), who(r) AS (
    VALUES ('public'), ('battledger_legitimate_interest'), ('battledger_authority')
), rel_privs(p, letter) AS (
    VALUES ('INSERT', 'a'), ('SELECT', 'r'), ('UPDATE', 'w'), ('DELETE', 'd'),
           ('TRUNCATE', 'D'), ('REFERENCES', 'x'), ('TRIGGER', 't')
), seq_privs(p, letter) AS (
    VALUES ('USAGE', 'U'), ('SELECT', 'r'), ('UPDATE', 'w')
), objects AS (
    SELECT 'function ' || p.oid::regprocedure::text AS object, w.r,
           CASE WHEN has_function_privilege(w.r, p.oid, 'EXECUTE') THEN 'X' ELSE '' END AS may
      FROM ext JOIN pg_proc p ON ext.classid = 'pg_proc'::regclass AND p.oid = ext.objid, who w
    UNION ALL
    SELECT CASE c.relkind WHEN 'v' THEN 'view ' ELSE 'table ' END || c.oid::regclass::text, w.r,
           (SELECT string_agg(letter, '' ORDER BY letter) FROM rel_privs
             WHERE has_table_privilege(w.r, c.oid, p))
      FROM ext JOIN pg_class c ON ext.classid = 'pg_class'::regclass AND c.oid = ext.objid, who w
     WHERE c.relkind IN ('r', 'v', 'p')
    UNION ALL
    SELECT 'sequence ' || c.oid::regclass::text, w.r,
           (SELECT string_agg(letter, '' ORDER BY letter) FROM seq_privs
             WHERE has_sequence_privilege(w.r, c.oid, p))
      FROM ext JOIN pg_class c ON ext.classid = 'pg_class'::regclass AND c.oid = ext.objid, who w
     WHERE c.relkind = 'S'
    UNION ALL
    SELECT 'type ' || t.oid::regtype::text, w.r,
           CASE WHEN has_type_privilege(w.r, t.oid, 'USAGE') THEN 'U' ELSE '' END
      FROM ext JOIN pg_type t ON ext.classid = 'pg_type'::regclass AND t.oid = ext.objid, who w
     -- the types the extension creates: PostgreSQL 17 and 18 (not 15) also record
     -- a member table's row type and each member type's array type as
     -- members; their privileges follow the table and the element type
     WHERE NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
       AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
    UNION ALL
    SELECT 'schema battledger', w.r,
           concat(CASE WHEN has_schema_privilege(w.r, 'battledger', 'USAGE') THEN 'U' END,
                  CASE WHEN has_schema_privilege(w.r, 'battledger', 'CREATE') THEN 'C' END)
      FROM who w
)
SELECT object,
       max(coalesce(may, '')) FILTER (WHERE r = 'public') AS public,
       max(coalesce(may, '')) FILTER (WHERE r = 'battledger_legitimate_interest') AS legitimate_interest,
       max(coalesce(may, '')) FILTER (WHERE r = 'battledger_authority') AS authority
  FROM objects
 GROUP BY object
 ORDER BY object COLLATE "C";

-- what a monitoring role (pg_monitor) may do beyond PUBLIC: read the status,
-- through these functions only, which run as the owner (ops21); nothing
-- else, and no table
WITH ext AS (
    SELECT d.classid, d.objid FROM pg_depend d
     WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
       AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'battledger')
)
SELECT 'function ' || p.oid::regprocedure::text AS object, p.prosecdef AS security_definer,
       p.proconfig AS settings
  FROM ext JOIN pg_proc p ON ext.classid = 'pg_proc'::regclass AND p.oid = ext.objid
 WHERE has_function_privilege('pg_monitor', p.oid, 'EXECUTE') AND NOT has_function_privilege('public', p.oid, 'EXECUTE')
UNION ALL
SELECT 'table ' || c.oid::regclass::text || ' ' || x.p, NULL, NULL
  FROM ext JOIN pg_class c ON ext.classid = 'pg_class'::regclass AND c.oid = ext.objid,
       unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) x(p)
 WHERE c.relkind IN ('r', 'v', 'p', 'S')
   AND has_table_privilege('pg_monitor', c.oid, x.p) AND NOT has_table_privilege('public', c.oid, x.p)
 ORDER BY 1;

-- every user-facing object explains itself (\df+, \dt+, \dv+, \dT+): the
-- functions, tables, views and types of the extension without a comment,
-- other than internal ones (names beginning with _) and the support functions
-- of its types and operators (and, as above, the row and array types that
-- PostgreSQL 17 and 18 also record as members)
\pset null ''
SELECT kind, object FROM (
    SELECT 'function' AS kind, p.oid::regprocedure::text AS object
      FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
     WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'battledger')
       AND p.proname NOT LIKE '\_%' AND obj_description(p.oid, 'pg_proc') IS NULL
       AND NOT EXISTS (SELECT 1 FROM pg_type t WHERE p.oid IN (t.typinput, t.typoutput, t.typreceive, t.typsend))
       AND NOT EXISTS (SELECT 1 FROM pg_operator o WHERE o.oprcode = p.oid)
       AND NOT EXISTS (SELECT 1 FROM pg_amproc a WHERE a.amproc = p.oid)
    UNION ALL
    SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END, c.oid::regclass::text
      FROM pg_class c JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
     WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'battledger')
       AND c.relkind IN ('r', 'v') AND obj_description(c.oid, 'pg_class') IS NULL
    UNION ALL
    SELECT 'type', t.oid::regtype::text
      FROM pg_type t JOIN pg_depend d ON d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
     WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'battledger')
       AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
       AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
       AND obj_description(t.oid, 'pg_type') IS NULL) missing
 ORDER BY 1, 2;
