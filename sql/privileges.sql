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
