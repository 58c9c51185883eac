-- HP1 tokens on this server's own keys: the deterministic vector with the
-- RFC 8032 TEST 1 key, issuing and verifying, jsonb <-> CBOR, expiry and
-- skew, rotation, key and token revocation, every single-character change,
-- the pass type, base45, privileges and every bad input.
\set ON_ERROR_STOP 1
\set vectors `cat test/vectors/hp1-vectors.json`
SET search_path = healthpass, public;
CREATE TEMP TABLE v AS SELECT :'vectors'::jsonb AS doc;
SELECT no_plan();

-- ---- the deterministic vector: the RFC 8032 TEST 1 seed, imported from a server file
SELECT format('%s/hp_test_seed.hex', current_setting('data_directory')) AS seed_file \gset
SELECT format('COPY (SELECT %L) TO PROGRAM %L', doc->'deterministic'->>'seed_hex',
              format('umask 077 && cat > %s', :'seed_file')) FROM v \gexec
SELECT is(import_signing_key(:'seed_file', '2025-01-01Z', '2040-01-01Z'),
          decode('21fe31dfa154a261', 'hex'), 'import_signing_key reads a seed file; kid of RFC 8032 TEST 1');
CREATE TEMP TABLE det AS
SELECT issue_token_at('health', '{"c": "green", "n": "张*明", "d": "4401**********123X"}',
                      to_timestamp(1767225600), to_timestamp(2082758400),
                      decode('00112233445566778899aabbccddeeff', 'hex')) AS t;
SELECT is(encode(pass_cose(t::pass), 'hex'), (SELECT doc->'deterministic'->>'cose_hex' FROM v),
          'deterministic vector: COSE bytes equal cose_hex') FROM det;
SELECT is(encode(substring(pass_cose(t::pass) FROM length(pass_cose(t::pass)) - 63), 'hex'),
          (SELECT doc->'deterministic'->>'signature_hex' FROM v), 'deterministic vector: signature_hex') FROM det;
SELECT is(t, (SELECT doc->'cases'->0->>'token' FROM v), 'deterministic vector: even the HP1 text equals the vector''s') FROM det;
SELECT is(issue_token_at('health', '{"d": "4401**********123X", "n": "张*明", "c": "green", "v": 1}',
                         to_timestamp(1767225600), to_timestamp(2082758400),
                         decode('00112233445566778899aabbccddeeff', 'hex')), t,
          'equal claims give equal bytes (key order, a repeated "v")') FROM det;
SELECT is((verify_token(t, '2030-01-01Z')).valid, true, 'the deterministic token verifies here') FROM det;
SELECT is(rotate_signing_key() <> decode('21fe31dfa154a261', 'hex'), true, 'rotation makes a new random key');

-- ---- issuing and verifying
CREATE TEMP TABLE t1 AS SELECT issue_token('entry', '{"n": "张*明", "r": "P-1"}', '10 minutes') AS t,
                               clock_timestamp() AS made;
SELECT ok(t ~ '^HP1:[0-9A-Z $%*+./:-]+$', 'issue_token returns HP1 text in the QR alphanumeric set') FROM t1;
SELECT is((SELECT row(r.valid, r.reason, r.kind, r.issuer, r.body)::text FROM verify_token(t) r),
          row(true, NULL::text, 'entry', 'CN-44', '{"k": "entry", "n": "张*明", "r": "P-1", "v": 1}'::jsonb)::text,
          'a fresh token is valid, with its claims') FROM t1;
SELECT ok(abs(extract(epoch FROM (verify_token(t)).issued_at - made)) < 2 AND
          (verify_token(t)).expires_at - (verify_token(t)).issued_at = interval '10 minutes',
          'issued_at is now and expires_at is valid_for later') FROM t1;
SELECT is(length((verify_token(t)).token_id), 16, 'token ids have 16 bytes') FROM t1;
SELECT isnt((SELECT (verify_token(issue_token('entry', '{}', '1 minute'))).token_id),
            (SELECT (verify_token(issue_token('entry', '{}', '1 minute'))).token_id), 'token ids are random');

-- clock skew: 300 s at both ends
SELECT is((verify_token(t, (verify_token(t)).expires_at + interval '299 s')).valid, true, 'valid 299 s past exp (skew)') FROM t1;
SELECT is((verify_token(t, (verify_token(t)).expires_at + interval '300 s')).reason, 'expired', 'expired 300 s past exp') FROM t1;
SELECT is((verify_token(t, (verify_token(t)).issued_at - interval '300 s')).valid, true, 'valid 300 s before iat (skew)') FROM t1;
SELECT is((verify_token(t, (verify_token(t)).issued_at - interval '301 s')).reason, 'not_yet_valid', 'not_yet_valid 301 s before iat') FROM t1;
SET healthpass.clock_skew = 0;
SELECT is((verify_token(t, (verify_token(t)).expires_at)).reason, 'expired', 'with no skew a token is expired at exp') FROM t1;
RESET healthpass.clock_skew;

-- jsonb -> CBOR -> jsonb
SELECT is((verify_token(issue_token('record', b, '1 hour'))).body, b || '{"k": "record", "v": 1}',
          'body round trip: ' || b::text)
  FROM (VALUES ('{"f": 36.6, "g": -0.5, "h": 1e300, "i": 0.1}'::jsonb),
               ('{"n": null, "t": true, "f": false, "s": ""}'),
               ('{"a": [1, [2, [3, {"x": []}]], {}], "o": {"p": {"q": "深"}}}'),
               ('{"max": 18446744073709551615, "min": -18446744073709551616, "z": 0}'),
               ('{"long key name that is more than twenty-four bytes": 1, "é": "ü"}')) x(b);
SELECT is((verify_token(issue_token('record', '{"x": 2.50}', '1 hour'))).body->'x', '2.5', '2.50 travels as 2.5 (a float)');
SELECT is((verify_token(issue_token('record', '{"x": 3.0}', '1 hour'))).body->'x', '3', '3.0 travels as the integer 3');
SELECT is(encode(pass_cose(issue_token('record', '{"h": 1.5, "s": 100000.5, "d": 1.1}', '1 hour')::pass), 'hex')
          ~ 'fb3ff199999999999a.*f93e00.*fa47c35040', true, 'floats use the shortest of binary16/32/64');

-- ---- rotation and key revocation
CREATE TEMP TABLE k AS SELECT (verify_token(t)).kid AS old_kid FROM t1;
SELECT isnt(rotate_signing_key(), (SELECT old_kid FROM k), 'rotate_signing_key returns a new kid');
CREATE TEMP TABLE t2 AS SELECT issue_token('entry', '{}', '10 minutes') AS t;
SELECT isnt((verify_token(t)).kid, (SELECT old_kid FROM k), 'new tokens use the new key') FROM t2;
SELECT is((verify_token(t)).valid, true, 'a token of the retired key keeps verifying') FROM t1;
SELECT is((SELECT status FROM signing_keys() WHERE kid = old_kid), 'retired', 'the old key is retired') FROM k;
SELECT is((SELECT count(*) FROM jsonb_array_elements(trust_list()->'keys') e WHERE e->>'status' = 'active'), 1::bigint,
          'the trust list has one active key');
SELECT is(revoke_signing_key(old_kid, 'lost laptop'), 1, 'revoke_signing_key revokes the key') FROM k;
SELECT is((verify_token(t)).reason, 'key_revoked', 'its tokens are key_revoked') FROM t1;
SELECT is((verify_token(t)).valid, true, 'other keys'' tokens stay valid') FROM t2;
SELECT throws_ok(format('SELECT healthpass.revoke_signing_key(%L, %L)', old_kid, 'again'), '55000',
                 'signing key ' || encode(old_kid, 'hex') || ' is already revoked') FROM k;
SELECT is(revoke_signing_key((verify_token(t)).kid, 'compromised'), 1, 'the active key can be revoked too') FROM t2;
SELECT isnt((verify_token(issue_token('entry', '{}', '1 minute'))).kid, (verify_token(t)).kid,
            'issuing after the active key was revoked makes a new key') FROM t2;
SELECT is((SELECT count(*) FROM signing_keys() WHERE local AND status = 'active'), 1::bigint, 'one active key');

-- ---- token revocation
CREATE TEMP TABLE t3 AS SELECT issue_token('venue', '{"v": 1}', '1 hour') AS t;
SELECT lives_ok(format('SELECT healthpass.revoke_token(%L, %L)', (verify_token(t)).token_id, 'reissued'),
                'revoke_token takes a token id') FROM t3;
SELECT is((verify_token(t)).reason, 'revoked', 'a revoked token verifies as revoked') FROM t3;
SELECT is((verify_token(t::pass)).reason, 'revoked', 'also as a pass') FROM t3;
SELECT throws_ok(format('SELECT healthpass.revoke_token(%L, %L)', (verify_token(t)).token_id, 'twice'), '23505',
                 'token ' || encode((verify_token(t)).token_id, 'hex') || ' is already revoked') FROM t3;
CREATE TEMP TABLE t4 AS SELECT issue_token('venue', '{}', '1 hour') AS t;
SELECT lives_ok(format('SELECT healthpass.revoke_pass(%L, %L)', t, 'lost'), 'revoke_pass takes a pass') FROM t4;
SELECT ok(revocation_list()->'revoked'->_b64url_encode((verify_token(t)).kid)
          ? _b64url_encode(substring(sha256((verify_token(t)).token_id) FROM 1 FOR 16)),
          'the revocation list holds the hash of the token id under its kid') FROM t4;
SELECT ok(revocation_list()->'revoked'->'*'
          ? _b64url_encode(substring(sha256((verify_token(t)).token_id) FROM 1 FOR 16)),
          'ids revoked without a kid are listed under "*"') FROM t3;
SELECT is((verify_token(t)).reason, 'revoked', 'revocation applies at once in this session') FROM t4;

-- ---- no single-character change of a token is accepted
CREATE TEMP TABLE flip AS
SELECT t, i, c FROM t2, generate_series(1, length(t)) i,
       regexp_split_to_table('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:a', '') c
 WHERE substr(t, i, 1) <> c;
UPDATE revoked_token SET reason = reason WHERE false;
SELECT is((SELECT count(*) FROM flip, verify_token(overlay(t PLACING c FROM i FOR 1)) r WHERE r.valid), 0::bigint,
          format('none of %s single-character changes verifies', (SELECT count(*) FROM flip)));
SELECT is((SELECT count(*) FROM t2, generate_series(5, length(t)) i,
                  verify_token(overlay(t PLACING '' FROM i FOR 1)) r WHERE r.valid), 0::bigint,
          'no token with one character deleted verifies');

-- ---- the pass type
SELECT is((SELECT row(pass_kind(p), pass_issuer(p), pass_kid(p), pass_issued_at(p), pass_expires_at(p),
                      pass_token_id(p), pass_body(p))::text FROM (SELECT t::pass AS p FROM det) x),
          row('health', 'CN-44', '\x21fe31dfa154a261'::bytea, '2026-01-01 00:00:00Z'::timestamptz,
              '2036-01-01 00:00:00Z'::timestamptz, '\x00112233445566778899aabbccddeeff'::bytea,
              '{"c": "green", "d": "4401**********123X", "k": "health", "n": "张*明", "v": 1}'::jsonb)::text,
          'pass accessors read the claims');
SELECT is(t::pass::text, t, 'pass text output is the issued token') FROM t1;
SELECT is((SELECT (p::text)::pass::text FROM (SELECT (doc->'cases'->7->>'token')::pass p FROM v) x),
          (SELECT doc->'cases'->7->>'token' FROM v)::pass::text, 'an uncompressed token is stored and shown compressed');
SELECT ok(pg_column_size(t::pass) < length(t), 'a pass is smaller than its text') FROM t1;
SELECT is((verify_token(issue_token('entry', '{}', '1 hour')::pass, now())).valid, true, 'verify_token takes a pass');
SELECT throws_ok($$SELECT 'HP1:NOT BASE45 ='::healthpass.pass$$, '22P02',
                 'invalid input syntax for type pass: "HP1:NOT BASE45 ="');
SELECT throws_ok($$SELECT 'hp1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEPWK G2EP4J0BGJLFX3R3VHXK.PJ:2DPF6R:5SVBHABVCNN95SWMPHQUHQN%A0SOE+QQAB-HQ/HQ7IR.SQEEOK9SAI4- 7Y15KBPD34  QWSP0WRGTQFNPLIR.KQNA7N95U/3FJCTG90OARH9P1J4HGZJKBEG%123ZC$0BCI757TLXKIBTV5TN%2LXK-$CH4TSXKZ4S/$K%0KPQ1HEP9.PZE9Q$95:UENEUW6646936HRTO$9KZ56DE/.QC$Q3J62:6LZ6O59++9-G9+E93ZM$96TV6NRNJ4/53IK1:3Q1HQR32C9W68.QWE1$62W58/KA3+4OI7'::healthpass.pass$$,
                 '22P02', 'invalid input syntax for type pass: "hp1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEPWK G2EP..."',
                 'a lower-case prefix is refused');
SELECT throws_ok(format('SELECT %L::healthpass.pass', (SELECT doc->'cases'->11->>'token' FROM v)), '22P02', NULL,
                 'a CBOR array that is not COSE is not a pass');

-- ---- base45 (RFC 9285 examples)
SELECT is(base45_encode(convert_to('AB', 'UTF8')), 'BB8', 'base45_encode RFC 9285 "AB"');
SELECT is(base45_encode(convert_to('Hello!!', 'UTF8')), '%69 VD92EX0', 'base45_encode RFC 9285 "Hello!!"');
SELECT is(base45_encode(convert_to('base-45', 'UTF8')), 'UJCLQE7W581', 'base45_encode RFC 9285 "base-45"');
SELECT is(convert_from(base45_decode('QED8WEX0'), 'UTF8'), 'ietf!', 'base45_decode RFC 9285 "QED8WEX0"');
SELECT is(base45_decode(base45_encode(b)), b, 'base45 round trip of ' || length(b) || ' bytes')
  FROM (VALUES (''::bytea), ('\x00'), ('\xffff'), ('\x00ff00ff01')) x(b);
SELECT throws_ok($$SELECT healthpass.base45_decode('GGW')$$, '22P02', 'invalid input syntax for base45: "GGW"');
SELECT throws_ok($$SELECT healthpass.base45_decode('qed8wex0')$$, '22P02', 'invalid input syntax for base45: "qed8wex0"');

-- ---- bad input to issuing
SELECT throws_ok($$SELECT healthpass.issue_token('Entry', '{}', '1 hour')$$, '22023', 'invalid token kind "Entry"');
SELECT throws_ok($$SELECT healthpass.issue_token('', '{}', '1 hour')$$, '22023', 'invalid token kind ""');
SELECT throws_ok($$SELECT healthpass.issue_token('entry', '[1]', '1 hour')$$, '22023', 'token body must be a JSON object');
SELECT throws_ok($$SELECT healthpass.issue_token('entry', '{"k": "venue"}', '1 hour')$$, '22023',
                 'token body key "k" does not match kind "entry"');
SELECT throws_ok($$SELECT healthpass.issue_token('entry', '{"v": 2}', '1 hour')$$, '22023', 'token body key "v" must be 1');
SELECT throws_ok($$SELECT healthpass.issue_token('entry', '{"x": 0.1000000000000000000001}', '1 hour')$$, '22023',
                 'body number 0.1000000000000000000001 cannot be carried exactly');
SELECT throws_ok($$SELECT healthpass.issue_token('entry', '{"x": 18446744073709551616}', '1 hour')$$, '22023',
                 'body number 18446744073709551616 cannot be carried exactly');
SELECT throws_ok($$SELECT healthpass.issue_token('entry', '{}', '0 s')$$, '22023', 'token validity "00:00:00" is too short');
SELECT throws_ok($$SELECT healthpass.issue_token('entry', '{}', '-1 day')$$, '22023', 'token validity "-1 days" is too short');
SELECT throws_ok($$SELECT healthpass.issue_token('entry', '{"a":[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}', '1 hour')$$,
                 '54000', 'token body is nested 17 levels deep');
SELECT throws_ok($$SELECT healthpass.issue_token('entry', jsonb_build_object('x', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 200) i)), '1 hour')$$,
                 '54000', NULL, 'a token too large for a QR code is refused');
SELECT throws_ok($$SELECT healthpass.issue_token_at('entry', '{}', now(), now() + interval '1 hour', '\x00')$$,
                 '22023', 'token id of 1 bytes is invalid');
SELECT throws_ok($$SELECT healthpass.issue_token_at('entry', '{}', now(), now(), '\x00112233445566778899aabbccddeeff')$$,
                 '22023', NULL, 'expires_at must follow issued_at');
SELECT throws_ok($$SELECT healthpass.issue_token_at('entry', '{}', now(), now() + interval '1 hour',
                   '\x00112233445566778899aabbccddeeff', '\x0102030405060708')$$,
                 'P0002', 'no usable local signing key with kid 0102030405060708');

-- ---- bad input to keys, revocation and trust lists
SELECT throws_ok($$SELECT healthpass.revoke_signing_key('\x0102030405060708', 'x')$$, 'P0002',
                 'no signing key with kid 0102030405060708');
SELECT throws_ok($$SELECT healthpass.revoke_signing_key('\x0102030405060708', ' ')$$, '22023', 'revocation reason " " is empty');
SELECT throws_ok($$SELECT healthpass.revoke_token('\x00', 'x')$$, '22023', 'invalid token id "00"');
SELECT throws_ok($$SELECT healthpass.revoke_token('\x00112233445566778899aabbccddeeff', '')$$, '22023', 'revocation reason "" is empty');
SELECT throws_ok($$SELECT healthpass.rotate_signing_key('-1 day')$$, '22023', 'signing key validity "-1 days" is not positive');
SELECT throws_ok($$SELECT healthpass.import_signing_key('/nonexistent/seed.hex')$$, '58P01', NULL, 'a missing key file is refused');
SELECT format('COPY (SELECT %L) TO %L', repeat('ab', 32), current_setting('data_directory') || '/hp_test_open.hex') \gexec
SELECT throws_ok(format('SELECT healthpass.import_signing_key(%L)', current_setting('data_directory') || '/hp_test_open.hex'),
                 '22023', format('key file "%s/hp_test_open.hex" is not a private file of 64 hex digits', current_setting('data_directory')),
                 'a key file others can read is refused');
SELECT throws_ok(format('SELECT healthpass.import_signing_key(%L)', :'seed_file'), '23505',
                 'signing key 21fe31dfa154a261 is already stored');
SELECT throws_ok($$SELECT healthpass.import_trust_list('{"issuer": "MO"}')$$, '22023', 'invalid trust list: {"issuer": "MO"}');
SELECT throws_ok($$SELECT healthpass.import_trust_list('{"issuer": "MO", "keys": [{"kid": "x", "kty": "OKP", "crv": "Ed25519", "x": "AA", "d": "secret"}]}')$$,
                 '22023', 'trust list key x carries a secret key');
SELECT throws_ok($$SELECT healthpass.import_trust_list('{"issuer": "MO", "keys": [{"kid": "x", "kty": "EC", "crv": "P-256"}]}')$$,
                 '22023', 'trust list key x is not an Ed25519 key');
SELECT throws_ok($$SELECT healthpass.import_trust_list('{"issuer": "MO", "keys": [{"kid": "AAAAAAAAAAA", "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "not_before": "2025-01-01T00:00:00Z", "not_after": "2040-01-01T00:00:00Z"}]}')$$,
                 '22023', 'trust list kid "AAAAAAAAAAA" does not match its public key');
SELECT throws_ok($$SELECT healthpass.import_trust_list('{"issuer": "MO", "keys": [{"kid": "OfcT0KZEJT8", "kty": "OKP", "crv": "Ed25519", "x": "PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw", "not_before": "soon", "not_after": "2040-01-01T00:00:00Z"}]}')$$,
                 '22007', 'invalid trust list time in "not_before": "soon"');
SELECT throws_ok($$SELECT healthpass.import_trust_list('{"issuer": "MO", "keys": [{"kid": "OfcT0KZEJT8", "kty": "OKP", "crv": "Ed25519", "x": "PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw!", "not_before": "2025-01-01Z", "not_after": "2040-01-01T00:00:00Z"}]}')$$,
                 '22023', 'invalid base64url in trust list field "x": "PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw!"');
SELECT throws_ok($$SELECT healthpass.import_trust_list('{"issuer": "MO", "keys": [{"kid": "If4x36FUomE", "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "not_before": "2025-01-01Z", "not_after": "2040-01-01T00:00:00Z"}]}')$$,
                 '23505', 'trust list key If4x36FUomE is one of this server''s own keys');
SELECT is(import_trust_list(trust_list() - 'keys' || '{"issuer": "ZZ", "keys": []}'), 0, 'an empty trust list imports nothing');

-- ---- privileges: the application role
SELECT issue_token('entry', '{}', '1 hour') AS app_tok \gset
SET ROLE healthpass_app;
SELECT throws_ok('SELECT count(*) FROM healthpass.signing_key', '42501', 'permission denied for table signing_key');
SELECT throws_ok('SELECT count(*) FROM healthpass.revoked_token', '42501', 'permission denied for table revoked_token');
SELECT throws_ok($$SELECT healthpass.issue_token('entry', '{}', '1 hour')$$, '42501', 'permission denied for function issue_token');
SELECT throws_ok($$SELECT healthpass.rotate_signing_key()$$, '42501', 'permission denied for function rotate_signing_key');
SELECT throws_ok($$SELECT healthpass._signing_key_material()$$, '42501', 'permission denied for function _signing_key_material');
SELECT throws_ok($$SELECT healthpass.issue_token_at('entry', '{}', now(), now(), '\x00')$$, '42501',
                 'permission denied for function issue_token_at');
SELECT is((verify_token(:'app_tok')).valid, true, 'the application role verifies tokens');
SELECT is(jsonb_typeof(trust_list()->'keys'), 'array', 'the application role reads the trust list');
RESET ROLE;
SET ROLE healthpass_admin;
SELECT is((verify_token(issue_token('entry', '{}', '1 hour'))).valid, true, 'an administrator issues tokens');
SELECT throws_ok('SELECT count(*) FROM healthpass.signing_key', '42501', 'permission denied for table signing_key');
SELECT ok(NOT EXISTS (SELECT 1 FROM signing_keys() s WHERE to_jsonb(s) ? 'secret_box'), 'signing_keys() shows no secret');
RESET ROLE;
SELECT is((SELECT count(*) FROM signing_key WHERE secret_box IS NOT NULL AND length(secret_box) = 72), 
          (SELECT count(*) FROM signing_keys() WHERE local), 'local secret keys are stored only encrypted (72-byte boxes)');

SELECT * FROM finish();
