-- The C names of the trigger functions follow one pattern,
-- battledger_<name>_trigger (issue 13); the library keeps the old symbols
-- for the older install scripts.
CREATE OR REPLACE FUNCTION @extschema@._chain_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_chain_trigger' LANGUAGE C;
CREATE OR REPLACE FUNCTION @extschema@._refuse_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_refuse_trigger' LANGUAGE C;
CREATE OR REPLACE FUNCTION @extschema@._arrive_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'battledger_arrive_trigger' LANGUAGE C;
