-- The installed API: types, functions, privileges, registry.
BEGIN;
SELECT plan(17);

SELECT has_schema('battledger');
SELECT has_type('battledger', 'hash256', 'type hash256 exists');
SELECT has_function('battledger', 'enable_ledger', ARRAY['regclass', 'name', 'boolean', 'text[]']);
SELECT has_function('battledger', 'verify', ARRAY['regclass', 'text']);
SELECT has_function('battledger', 'row_bytes', ARRAY['record']);
SELECT has_function('battledger', 'row_hash', ARRAY['record']);
SELECT has_function('battledger', 'chain_hash', ARRAY['battledger.hash256', 'bigint', 'bytea']);
SELECT has_table('battledger', 'ledger_tables', 'registry of ledger tables');
-- table owners register through enable_ledger(); _register checks ownership and that the
-- registered settings are the chain trigger's own (sql/ledger.sql tests the refusal)
SELECT ok(has_function_privilege('public', 'battledger._register(regclass, name, name, text[])', 'EXECUTE'),
          'table owners can register their ledger tables');
SELECT ok(NOT has_table_privilege('public', 'battledger.ledger_tables', 'INSERT, UPDATE, DELETE, TRUNCATE'),
          'PUBLIC cannot write the registry');
SELECT ok(has_table_privilege('public', 'battledger.ledger_tables', 'SELECT'), 'PUBLIC can read the registry');
SELECT ok(NOT prosecdef AND prolang = (SELECT oid FROM pg_language WHERE lanname = 'c'),
          '_register runs as its caller (it checks ownership itself, in C)')
  FROM pg_proc WHERE oid = 'battledger._register(regclass, name, name, text[])'::regprocedure;
SELECT is((SELECT count(*)::int FROM pg_event_trigger WHERE evtname LIKE 'battledger_%' AND evtenabled = 'A'), 2,
          'both DDL guards fire ALWAYS');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'battledger'), false, 'not relocatable');

SELECT ok(NOT has_function_privilege('public', 'battledger.add_key(text, bytea, timestamptz, timestamptz)', 'EXECUTE'),
          'PUBLIC cannot register keys');
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                       WHERE n.nspname = 'battledger' AND p.proname ILIKE '%sign' AND p.proname <> 'signing_bytes'),
          'CREATE EXTENSION battledger installs no signing function');
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                       WHERE n.nspname = 'battledger' AND p.prosecdef
                         AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)),
          'every SECURITY DEFINER function pins search_path');
SELECT * FROM finish();
ROLLBACK;
