-- a transfer for Macau presented in Hong Kong (which trusts Guangdong)
\set QUIET 1
SET client_min_messages = warning;
SELECT plan(2);
SELECT throws_ok(format($$SELECT * FROM healthpass.import_transfer(%L, %L)$$, :'t', :'itin'),
    '22023', 'transfer token is for "MO", not for "HK"', 'a transfer is imported only at its destination');
SELECT is((SELECT count(*)::int FROM healthpass.person), 0, 'nobody was registered');
SELECT * FROM finish();
