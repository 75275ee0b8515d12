-- test/lib/signed_writers.sql — TEST ONLY: a member's application in SQL.
-- Each function fills in the key id of member m's test key, signs the row's
-- signing bytes with that key (battledger_test_signer: the seed is derived
-- from the name, so anyone can sign as anyone — never in production) and
-- inserts the row.  Needs CREATE EXTENSION battledger and
-- battledger_test_signer.  Scripts load it with
--     \getenv signed_writers BL_SIGNED_WRITERS
--     \i :signed_writers
-- (test/lib/cluster.sh exports BL_SIGNED_WRITERS).

-- ev(m, j): a battery_event signed by m
CREATE FUNCTION public.ev(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_event := jsonb_populate_record(NULL::battledger.battery_event,
    j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN
    r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r));
    INSERT INTO battledger.battery_event SELECT r.*;
END $$;

-- model(m, j): a battery_model signed by m
CREATE FUNCTION public.model(m text, j jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r battledger.battery_model := jsonb_populate_record(NULL::battledger.battery_model,
    j || jsonb_build_object('ledger_key_id', battledger.key_id(battledger_test.public_key(battledger_test.seed(m)))::text));
BEGIN
    r.ledger_sig := battledger_test.sign(battledger_test.seed(m), battledger.signing_bytes(r));
    INSERT INTO battledger.battery_model SELECT r.*;
END $$;
