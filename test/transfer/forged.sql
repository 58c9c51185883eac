-- forged and stale transfers presented in Macau (run by
-- test/scripts/78_transfer.sh): not green at the source, a seal from
-- another package, a box that is not a seal, a key vouching for another
-- issuer, an expired token.
\set QUIET 1
SET client_min_messages = warning;
SET healthpass.clock_skew = 0;
SELECT plan(7);
SELECT throws_ok(format($$SELECT * FROM healthpass.import_transfer(%L, %L)$$, :'yellow', :'itin'),
    '55000', 'the source''s code is yellow, not green', 'only a green code is recognised');
SELECT throws_ok(format($$SELECT * FROM healthpass.import_transfer(%L, %L)$$, :'swapped', :'itin'),
    '22023', 'the sealed package does not belong to this transfer token', 'a seal moved from another package');
SELECT throws_ok(format($$SELECT * FROM healthpass.import_transfer(%L, %L)$$, :'notsealed', :'itin'),
    '22023', 'the seal of the transfer does not open', 'a box that does not open');
SELECT throws_ok(format($$SELECT * FROM healthpass.import_transfer(%L, %L)$$, :'mismatch', :'itin'),
    '22023', 'transfer token is not valid: issuer_mismatch', 'a key vouches only for its own issuer');
SELECT throws_ok(format($$SELECT * FROM healthpass.import_transfer(%L, %L)$$, :'shortlived', :'itin'),
    '55000', 'transfer token is not valid: expired', 'an expired transfer');
SELECT throws_ok(format($$SELECT * FROM healthpass.import_transfer(%L, %L)$$, healthpass.issue_token('transfer', '{"dst": "MO"}', '1 hour'), :'itin'),
    '22023', 'transfers from "MO" are not accepted', 'our own issuer is no partner');
SELECT is((SELECT count(*)::int FROM healthpass.transfer_package WHERE person_id IS NULL), 0, 'no half-imported package');
SELECT * FROM finish();
