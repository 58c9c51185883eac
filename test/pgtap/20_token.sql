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
SELECT ok(revocation_list()->'revoked'->healthpass_internal._b64url_encode((verify_token(t)).kid)
          ? healthpass_internal._b64url_encode(substring(sha256((verify_token(t)).token_id) FROM 1 FOR 16)),
          'the revocation list holds the hash of the token id under its kid') FROM t4;
SELECT ok(revocation_list()->'revoked'->'*'
          ? healthpass_internal._b64url_encode(substring(sha256((verify_token(t)).token_id) FROM 1 FOR 16)),
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
SELECT throws_ok(format('SELECT %L::healthpass.pass', (SELECT c->>'token' FROM v, jsonb_array_elements(doc->'cases') c
                                                         WHERE c->>'name' = 'not_cose')), '22P02', NULL,
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
-- every interval the token domain takes: zero, tiny, negative, huge (never a bare "timestamp out of range")
SELECT throws_ok(format('SELECT healthpass.issue_token(%L, %L, %L)', 'entry', '{}', i), e, m, 'issue_token valid_for ' || i)
  FROM (VALUES ('1 microsecond', '22023', 'token validity "00:00:00.000001" is too short'),
               ('0.999999 s', '22023', 'token validity "00:00:00.999999" is too short'),
               ('1 month -31 days', '22023', 'token validity "1 mon -31 days" is too short'),
               ('-178000000 years', '22023', 'token validity "-178000000 years" is too short'),
               ('-2147483648 days', '22023', 'token validity "-2147483648 days" is too short'),
               ('178000000 years', '22008', 'token validity "178000000 years" is too long'),
               ('8000 years', '22008', 'token validity "8000 years" is too long'),
               ('2147483647 days', '22008', 'token validity "2147483647 days" is too long'),
               ('2562047788:00:54.775807', '22008', 'token validity "2562047788:00:54.775807" is too long'),
               ('178000000 years -2147483648 days', '22008', 'token validity "178000000 years -2147483648 days" is too long'))
       x(i, e, m);
SELECT is(r.expires_at - r.issued_at, interval '1 second', 'one second is the shortest validity')
  FROM verify_token(issue_token('entry', '{}', '1 second')) r;
SELECT throws_ok($$SELECT healthpass.issue_token_at('entry', '{}', 'infinity', '2036-01-01Z', '\x00112233445566778899aabbccddeeff')$$,
                 '22008', 'issued_at "infinity" is not a point in time');
SELECT throws_ok($$SELECT healthpass.issue_token_at('entry', '{}', '2026-01-01Z', '-infinity', '\x00112233445566778899aabbccddeeff')$$,
                 '22008', 'expires_at "-infinity" is not a point in time');
SELECT throws_ok($$SELECT healthpass.issue_token_at('entry', '{}', '1969-12-31 23:59:59Z', '2036-01-01Z', '\x00112233445566778899aabbccddeeff')$$,
                 '22008', NULL, 'issue_token_at: issued_at before 1970 is out of range');
SELECT throws_ok($$SELECT healthpass.issue_token_at('entry', '{}', '2026-01-01Z', '10000-01-01Z', '\x00112233445566778899aabbccddeeff')$$,
                 '22008', NULL, 'issue_token_at: expires_at after 9999 is out of range');
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
                 'no signing key with kid 0102********0708');
SELECT throws_ok($$SELECT healthpass.revoke_signing_key('\x0102030405060708', ' ')$$, '22023', 'revocation reason is missing');
SELECT throws_ok($$SELECT healthpass.revoke_token('\x00112233445566778899aabbccddeeff', repeat('r', 1000000))$$, '54000',
    format('revocation reason "%s…" is 1000000 characters long', repeat('r', 40)), 'a revocation reason has a length limit');
SELECT throws_ok($$SELECT healthpass.revoke_token('\x00112233445566778899aabbccddeeff', E'lost\u202e')$$, '22023',
    'revocation reason "lost?" holds a control character', 'and no control or text-direction characters');
SELECT throws_ok($$SELECT healthpass.revoke_token(decode(repeat('ab', 1000), 'hex'), 'x')$$, '22023',
    format('invalid token id "%s…"', repeat('ab', 20)), 'a long token id is quoted cut');
SELECT throws_ok($$SELECT healthpass.rotate_signing_key(NULL)$$, '22023', 'signing key validity is missing',
    'rotate_signing_key refuses NULL instead of returning NULL');
SELECT throws_ok($$SELECT healthpass.import_trust_list(NULL)$$, '22023', 'trust list is not a JSON object: NULL',
    'import_trust_list refuses NULL instead of returning NULL');
SELECT throws_ok($$SELECT healthpass.revoke_token('\x00', 'x')$$, '22023', 'invalid token id "00"');
SELECT throws_ok($$SELECT healthpass.revoke_token('\x00112233445566778899aabbccddeeff', '')$$, '22023', 'revocation reason is missing');
SELECT throws_ok(format('SELECT healthpass.rotate_signing_key(%L)', i), e, m, 'rotate_signing_key ' || i)
  FROM (VALUES ('1 microsecond', '22023', 'signing key validity "00:00:00.000001" is too short'),
               ('0', '22023', 'signing key validity "00:00:00" is too short'),
               ('-1 day', '22023', 'signing key validity "-1 days" is too short'),
               ('1 month -31 days', '22023', 'signing key validity "1 mon -31 days" is too short'),
               ('-178000000 years', '22023', 'signing key validity "-178000000 years" is too short'),
               ('178000000 years', '22008', 'signing key validity "178000000 years" is too long'),
               ('8000 years', '22008', 'signing key validity "8000 years" is too long'),
               ('2147483647 days', '22008', 'signing key validity "2147483647 days" is too long'))
       x(i, e, m);
SELECT is((SELECT count(*) FROM signing_keys() WHERE local AND status = 'active'), 1::bigint,
          'a refused rotation leaves the active key');
SELECT throws_ok(format('SELECT healthpass.import_signing_key(%L, %L, %L)', :'seed_file', nb, na), e, m,
                 format('import_signing_key from %s to %s', nb, na))
  FROM (VALUES ('infinity', '2040-01-01Z', '22008', 'not_before "infinity" is not a point in time'),
               ('2025-01-01Z', 'infinity', '22008', 'not_after "infinity" is not a point in time'),
               ('-infinity', '2040-01-01Z', '22008', 'not_before "-infinity" is not a point in time'),
               ('2030-01-01Z', '2030-01-01Z', '22023', NULL),
               ('2030-01-01Z', '2029-01-01Z', '22023', NULL),
               ('294276-12-31Z', '2040-01-01Z', '22008', NULL),
               ('2025-01-01Z', '10000-01-01Z', '22008', NULL),
               ('4713-01-01 BC', '294276-12-31Z', '22008', NULL))
       x(nb, na, e, m);

-- ---- file errors: a specific SQLSTATE for each (never XX000), the path quoted cut
CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END
$f$;
SELECT format('%s/hp_test_files', current_setting('data_directory')) AS fdir \gset
SELECT format('COPY (SELECT 1) TO PROGRAM %L',
              format('rm -rf %1$s && mkdir %1$s && cd %1$s && (umask 0777 && echo > unreadable.hex) && mkfifo fifo.hex && ln -s loop.hex loop.hex',
                     :'fdir')) \gexec
SELECT throws_ok($$SELECT healthpass.import_signing_key('/nonexistent/seed.hex')$$, '58P01',
                 'could not open key file "/nonexistent/seed.hex": No such file or directory', 'a missing key file: 58P01');
SELECT throws_ok(format('SELECT healthpass.import_signing_key(%L)', repeat('x', 5000)), '22023',
                 format('key file name "%s...%s" is too long', repeat('x', 24), repeat('x', 40)),
                 'a 5000-byte path: 22023, quoted cut to its start and end');
SELECT throws_ok(format('SELECT healthpass.import_signing_key(%L)', '/tmp/' || repeat('y', 300)), '22023',
                 format('could not open key file "/tmp/%s...%s": File name too long', repeat('y', 19), repeat('y', 40)),
                 'a file name longer than the system allows (ENAMETOOLONG): 22023, quoted cut');
SELECT throws_ok(format('SELECT healthpass.import_signing_key(%L)', current_setting('data_directory') || '/PG_VERSION/seed.hex'),
                 '58P01', NULL, 'a path through a file (ENOTDIR): 58P01');
SELECT throws_ok(format('SELECT healthpass.import_signing_key(%L)', :'fdir' || '/unreadable.hex'), '42501', NULL,
                 'a file the server may not read (EACCES): 42501');
SELECT throws_ok(format('SELECT healthpass.import_signing_key(%L)', :'fdir' || '/loop.hex'), '22023', NULL,
                 'a symbolic link loop (ELOOP): 22023');
SELECT throws_ok(format('SELECT healthpass.import_signing_key(%L)', :'fdir'), '42809', NULL,
                 'a directory: 42809');
SELECT throws_ok($$SELECT healthpass.import_signing_key('/dev/null')$$, '42809', 'key file "/dev/null" is not a regular file',
                 'a device: 42809');
SELECT throws_ok(format('SELECT healthpass.import_signing_key(%L)', :'fdir' || '/fifo.hex'), '42809', NULL,
                 'a FIFO: 42809, without waiting for a writer');
SELECT is(pg_temp.error_of(format('SELECT healthpass.import_signing_key(%L)', E'/tmp/a\nb.hex')),
          '58P01 could not open key file "/tmp/a?b.hex": No such file or directory', 'control characters in a path are not quoted');
SELECT ok(length(pg_temp.error_of(format('SELECT healthpass.import_signing_key(%L)', p))) < 200,
          'a long path is quoted cut: ' || left(p, 20) || '...')
  FROM (VALUES (repeat('z', 5000)), ('/tmp/' || repeat('z/', 600) || 'seed.hex'), (repeat('/', 900) || repeat('é', 500))) x(p);
SELECT format('COPY (SELECT 1) TO PROGRAM %L', format('rm -rf %s', :'fdir')) \gexec
SELECT format('COPY (SELECT %L) TO %L', repeat('ab', 32), current_setting('data_directory') || '/hp_test_open.hex') \gexec
-- QuotePath in src/master_key.c: an ASCII path of more than 67 bytes shows its first 24 and last 40
CREATE FUNCTION pg_temp.quote_path(p text) RETURNS text LANGUAGE sql
RETURN CASE WHEN length(p) <= 67 THEN p ELSE left(p, 24) || '...' || right(p, 40) END;
SELECT throws_ok(format('SELECT healthpass.import_signing_key(%L)', current_setting('data_directory') || '/hp_test_open.hex'),
                 '22023', format('key file "%s" is not a private file of 64 hex digits',
                                 pg_temp.quote_path(current_setting('data_directory') || '/hp_test_open.hex')),
                 'a key file others can read is refused');
SELECT throws_ok(format('SELECT healthpass.import_signing_key(%L)', :'seed_file'), '23505',
                 'signing key 21fe31dfa154a261 is already stored');

-- ---- trust lists: every field checked (22023 naming the field)
-- MO's list: the vectors' key B (the RFC 8032 TEST 2 key), under the list's issuer
CREATE TEMP TABLE mo AS
SELECT jsonb_build_object('issuer', 'MO', 'generated_at', '2026-01-01T00:00:00Z',
                          'keys', jsonb_build_array((doc->'trust_list'->'keys'->1) - 'iss')) AS list
  FROM v;
SELECT throws_ok(format('SELECT healthpass.import_trust_list(%L)', d), '22023', m, 'trust list refused: ' || why)
  FROM mo, LATERAL (VALUES
    ('[]'::jsonb, 'trust list is not a JSON object: []', 'not an object'),
    ('"MO"', 'trust list is not a JSON object: "MO"', 'a string'),
    (list - 'issuer', 'trust list field "issuer" is missing', 'no issuer'),
    (jsonb_set(list, '{issuer}', '5'), 'trust list field "issuer" is not a string: 5', 'a number as issuer'),
    (jsonb_set(list, '{issuer}', 'null'), 'trust list field "issuer" is not a string: null', 'a null issuer'),
    (jsonb_set(list, '{issuer}', '""'), 'trust list field "issuer" is not a valid issuer: ""', 'an empty issuer'),
    (jsonb_set(list, '{issuer}', to_jsonb(repeat('M', 65))),
     format('trust list field "issuer" is not a valid issuer: "%s…"', repeat('M', 40)), 'an issuer of 65 characters'),
    (jsonb_set(list, '{issuer}', to_jsonb(repeat('M', 1000000))),
     format('trust list field "issuer" is not a valid issuer: "%s…"', repeat('M', 40)), 'an issuer of 1 MB'),
    (jsonb_set(list, '{issuer}', to_jsonb(E'M\nO'::text)), 'trust list field "issuer" is not a valid issuer: "M?O"', 'a control character in the issuer'),
    (jsonb_set(list, '{issuer}', to_jsonb(E'\u202eMO'::text)), 'trust list field "issuer" is not a valid issuer: "?MO"', 'a bidi override in the issuer'),
    (jsonb_set(list, '{issuer}', '"M O"'), 'trust list field "issuer" is not a valid issuer: "M O"', 'a space in the issuer'),
    (jsonb_set(list, '{issuer}', '"澳门"'), 'trust list field "issuer" is not a valid issuer: "澳门"', 'a non-ASCII issuer'),
    (jsonb_set(list, '{issuer}', '"CN-44"'), 'trust list field "issuer" names this server''s own issuer "CN-44"', 'our own issuer'),
    (jsonb_set(list, '{issuer}', '"cn-44"'), 'trust list field "issuer" names this server''s own issuer "cn-44"', 'our own issuer in lower case'),
    (list - 'generated_at', 'trust list field "generated_at" is missing', 'no generated_at'),
    (jsonb_set(list, '{generated_at}', '[]'), 'trust list field "generated_at" is not a string: []', 'generated_at []'),
    (jsonb_set(list, '{generated_at}', '1767225600'), 'trust list field "generated_at" is not a string: 1767225600', 'generated_at a number'),
    (jsonb_set(list, '{generated_at}', '"soon"'), 'trust list field "generated_at" is not a valid time: "soon"', 'generated_at not a time'),
    (jsonb_set(list, '{generated_at}', '"infinity"'), 'trust list field "generated_at" is not a valid time: "infinity"', 'generated_at infinity'),
    (list - 'keys', 'trust list field "keys" is missing', 'no keys'),
    (jsonb_set(list, '{keys}', '{}'), 'trust list field "keys" is not an array: {}', 'keys an object'),
    (jsonb_set(list, '{keys}', '[1]'), 'trust list field "keys[0]" is not an object: 1', 'a key that is a number'),
    (list #- '{keys,0,kid}', 'trust list field "keys[0].kid" is missing', 'no kid'),
    (jsonb_set(list, '{keys,0,kid}', '8'), 'trust list field "keys[0].kid" is not a string: 8', 'a number as kid'),
    (list #- '{keys,0,kty}', 'trust list field "keys[0].kty" is missing', 'no kty'),
    (jsonb_set(list, '{keys,0,kty}', '"EC"'), 'trust list field "keys[0].kty" is not "OKP": "EC"', 'kty EC'),
    (list #- '{keys,0,crv}', 'trust list field "keys[0].crv" is missing', 'no crv'),
    (jsonb_set(list, '{keys,0,crv}', '"X25519"'), 'trust list field "keys[0].crv" is not "Ed25519": "X25519"', 'crv X25519'),
    (list #- '{keys,0,x}', 'trust list field "keys[0].x" is missing', 'no x'),
    (jsonb_set(list, '{keys,0,x}', 'true'), 'trust list field "keys[0].x" is not a string: true', 'x true'),
    (jsonb_set(list, '{keys,0,x}', '"AAAA"'), 'trust list field "keys[0].x" holds a public key of 3 bytes', 'x of 3 bytes'),
    (list #- '{keys,0,not_before}', 'trust list field "keys[0].not_before" is missing', 'no not_before'),
    (jsonb_set(list, '{keys,0,not_before}', '1735689600'), 'trust list field "keys[0].not_before" is not a string: 1735689600', 'not_before a number'),
    (jsonb_set(list, '{keys,0,not_before}', '"soon"'), 'trust list field "keys[0].not_before" is not a valid time: "soon"', 'not_before soon'),
    (jsonb_set(list, '{keys,0,not_after}', 'null'), 'trust list field "keys[0].not_after" is not a string: null', 'not_after null'),
    (jsonb_set(list, '{keys,0,not_after}', '"infinity"'), 'trust list field "keys[0].not_after" is not a valid time: "infinity"', 'not_after infinity'),
    (jsonb_set(list, '{keys,0,status}', 'null'), 'trust list field "keys[0].status" is not active, retired or revoked: null', 'status null'),
    (jsonb_set(list, '{keys,0,status}', '"paused"'), 'trust list field "keys[0].status" is not active, retired or revoked: "paused"', 'status paused'),
    (jsonb_set(list, '{keys,0,status}', '1'), 'trust list field "keys[0].status" is not active, retired or revoked: 1', 'status 1'),
    (jsonb_set(list, '{keys,0,iss}', 'null'), 'trust list field "keys[0].iss" is not a string: null', 'iss null'),
    (jsonb_set(list, '{keys,0,iss}', '"M O"'), 'trust list field "keys[0].iss" is not a valid issuer: "M O"', 'iss with a space'),
    (jsonb_set(list, '{keys,0,iss}', '"CN-44"'), 'trust list field "keys[0].iss" names this server''s own issuer "CN-44"', 'a key of our own issuer'),
    (jsonb_set(list, '{keys}', (list->'keys') || '[{"kty": "OKP"}]'), 'trust list field "keys[1].kid" is missing', 'the second key is named by its position'),
    (jsonb_set(list, '{keys,0,d}', '"secret"'), 'trust list key OfcT0KZEJT8 carries a secret key', 'a private key'),
    (jsonb_set(list, '{keys,0,kid}', '"AAAAAAAAAAA"'), 'trust list kid "AAAAAAAAAAA" does not match its public key', 'a kid of another key'),
    (jsonb_set(list, '{keys,0,x}', '"PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw!"'),
     'invalid base64url in trust list field "keys[0].x": "PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0…"', 'x not base64url')
  ) x(d, m, why);
SELECT is((SELECT count(*) FROM signing_keys() WHERE NOT local), 0::bigint, 'no refused list stored anything');
SELECT throws_ok($$SELECT healthpass.import_trust_list('{"issuer": "MO", "generated_at": "2026-01-01T00:00:00Z", "keys": [{"kid": "If4x36FUomE", "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "not_before": "2025-01-01Z", "not_after": "2040-01-01T00:00:00Z"}]}')$$,
                 '23505', 'trust list key If4x36FUomE is one of this server''s own keys');
SELECT throws_ok(format('SELECT healthpass.import_trust_list(%L)', jsonb_set(list, '{keys}', (list->'keys') || (list->'keys')))
                 , '23505', 'trust list lists key OfcT0KZEJT8 twice') FROM mo;
SELECT is(import_trust_list(trust_list() - 'keys' || '{"issuer": "ZZ", "keys": []}'), 0, 'an empty trust list imports nothing');

-- ---- two issuers: this server (CN-44, own key A = RFC 8032 TEST 1) and MO (key B, imported)
SELECT is(import_trust_list(list), 1, 'MO''s trust list imports its key') FROM mo;
SELECT is((SELECT issuer FROM signing_keys() WHERE kid = '\x39f713d0a644253f'), 'MO', 'key B is stored as MO''s');
CREATE TEMP TABLE vt AS SELECT c->>'name' AS name, c->>'token' AS t FROM v, jsonb_array_elements(doc->'cases') c;
SELECT is((SELECT row(r.valid, r.issuer)::text FROM vt, verify_token(t, '2030-01-01Z') r WHERE name = 'valid_foreign_issuer'),
          row(true, 'MO')::text, 'MO''s key vouches for MO''s token');
SELECT is((SELECT row(r.valid, r.issuer)::text FROM vt, verify_token(t, '2030-01-01Z') r WHERE name = 'valid_health'),
          row(true, 'CN-44')::text, 'our own key vouches for our (CN-44) token');
SELECT is((SELECT row(r.valid, r.reason, r.issuer)::text FROM vt, verify_token(t, '2030-01-01Z') r WHERE name = 'issuer_mismatch'),
          row(false, 'issuer_mismatch', NULL::text)::text, 'MO''s key signing a token that claims CN-44: issuer_mismatch');
SELECT is((SELECT r.reason FROM vt, verify_token(t::pass, '2030-01-01Z') r WHERE name = 'issuer_mismatch'),
          'issuer_mismatch', 'the same as a stored pass');
SELECT is((SELECT row(h.valid, h.reason, h.issuer, h.current_colour)::text FROM vt, verify_health_code(t) h WHERE name = 'issuer_mismatch'),
          row(false, 'issuer_mismatch', NULL::text, NULL::health_colour)::text,
          'verify_health_code refuses it too, telling nothing');
-- own keys belong to healthpass.issuer: under another name our old tokens no longer vouch for CN-44
SET healthpass.issuer = 'CN-45';
SELECT is((SELECT r.reason FROM vt, verify_token(t, '2030-01-01Z') r WHERE name = 'valid_health'),
          'issuer_mismatch', 'our key vouches only for healthpass.issuer');
SELECT is((SELECT r.valid FROM vt, verify_token(t, '2030-01-01Z') r WHERE name = 'valid_foreign_issuer'),
          true, 'MO''s token is not affected');
RESET healthpass.issuer;
-- no list relabels MO's key: not as ours, not as a third issuer's
SELECT throws_ok(format('SELECT healthpass.import_trust_list(%L)', jsonb_set(list, '{issuer}', '"CN-44"')), '22023',
                 'trust list field "issuer" names this server''s own issuer "CN-44"', 'a list claiming CN-44 cannot relabel MO''s key as ours')
  FROM mo;
SELECT throws_ok(format('SELECT healthpass.import_trust_list(%L)', jsonb_set(list, '{issuer}', '"HK"')), '22023',
                 'trust list key OfcT0KZEJT8 is stored for issuer "MO" and cannot move to "HK"', 'a list cannot move a kid to its issuer')
  FROM mo;
SELECT throws_ok(format('SELECT healthpass.import_trust_list(%L)', jsonb_set(jsonb_set(list, '{issuer}', '"GW"'), '{keys,0,iss}', '"HK"')),
                 '22023', 'trust list key OfcT0KZEJT8 is stored for issuer "MO" and cannot move to "HK"',
                 'a list cannot move a kid to the issuer its "iss" names')
  FROM mo;
SELECT is((SELECT issuer FROM signing_keys() WHERE kid = '\x39f713d0a644253f'), 'MO', 'key B is still MO''s');
SELECT is((SELECT r.reason FROM vt, verify_token(t, '2030-01-01Z') r WHERE name = 'issuer_mismatch'),
          'issuer_mismatch', 'and the spoofed token still fails');
-- a gateway's list names each key's issuer; it may carry MO's key under MO
SELECT is(import_trust_list(jsonb_set(jsonb_set(list, '{issuer}', '"GW"'), '{keys,0,iss}', '"MO"')), 1,
          'a gateway''s list carries MO''s key with "iss": "MO"') FROM mo;
SELECT is((SELECT array_agg(issuer) FROM signing_keys() WHERE NOT local), ARRAY['MO'], 'the key stays MO''s, once');
-- MO's own list without the key: MO's keys it no longer lists are dropped
SELECT is(import_trust_list(jsonb_set(list, '{keys}', '[]')), 0, 'MO publishes an empty list') FROM mo;
SELECT is((SELECT r.reason FROM vt, verify_token(t, '2030-01-01Z') r WHERE name = 'valid_foreign_issuer'),
          'unknown_key', 'MO''s dropped key no longer vouches');

-- ---- privileges: the application role
SELECT issue_token('entry', '{}', '1 hour') AS app_tok \gset
SET ROLE healthpass_app;
SELECT throws_ok('SELECT count(*) FROM healthpass.signing_key', '42501', 'permission denied for table signing_key');
SELECT throws_ok('SELECT count(*) FROM healthpass.revoked_token', '42501', 'permission denied for table revoked_token');
SELECT throws_ok($$SELECT healthpass.issue_token('entry', '{}', '1 hour')$$, '42501', 'permission denied for function issue_token');
SELECT throws_ok($$SELECT healthpass.rotate_signing_key()$$, '42501', 'permission denied for function rotate_signing_key');
SELECT throws_ok($$SELECT healthpass_internal._signing_key_material()$$, '42501', 'permission denied for schema healthpass_internal');
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
