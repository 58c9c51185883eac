-- HP1 test vectors (test/vectors/hp1-vectors.json, made by an independent
-- implementation): after importing its trust list (two issuers' keys, each
-- naming its "iss"), each of the thirteen tokens gets its verdict at
-- verify_at with a clock skew of 300 s; then what an issuer_mismatch
-- verdict returns, key expiry, a key shared by two kids, and key revocation
-- on imported keys. This server runs as issuer HP-TEST here, so that
-- neither of the vectors' issuers (CN-44, MO) is its own.
\set ON_ERROR_STOP 1
\set vectors `cat test/vectors/hp1-vectors.json`
SET search_path = healthpass, public;
SET healthpass.issuer = 'HP-TEST';
CREATE TEMP TABLE v AS SELECT :'vectors'::jsonb AS doc;
SELECT plan(37);

SELECT is(token_issuer(), 'HP-TEST', 'this server is issuer HP-TEST for these tests');
SELECT is(jsonb_array_length(doc->'cases'), 13, 'the vectors hold thirteen tokens') FROM v;
SELECT is(import_trust_list((SELECT doc->'trust_list' FROM v)), 2, 'the vectors'' trust list imports two keys');
SELECT is((SELECT array_agg(row(encode(kid, 'hex'), issuer, local)::text ORDER BY issuer) FROM signing_keys()),
          ARRAY[row('21fe31dfa154a261', 'CN-44', false)::text, row('39f713d0a644253f', 'MO', false)::text],
          'each key is stored under the issuer its "iss" names, not the list''s "issuer"');
SELECT is(current_setting('healthpass.clock_skew')::interval, interval '300 s', 'clock skew defaults to 300 s');

SELECT is(coalesce(r.reason, 'valid'), c->>'expect', 'vector ' || (c->>'name') || ': ' || (c->>'expect'))
  FROM v, jsonb_array_elements(v.doc->'cases') c,
       verify_token(c->>'token', (v.doc->>'verify_at')::timestamptz) r;
SELECT is(coalesce(r.reason, 'valid'), c->>'expect', 'vector ' || (c->>'name') || ' as a pass: ' || (c->>'expect'))
  FROM v, jsonb_array_elements(v.doc->'cases') c,
       verify_token((c->>'token')::pass, (v.doc->>'verify_at')::timestamptz) r
 WHERE c->>'name' IN ('valid_foreign_issuer', 'issuer_mismatch');

SELECT is((verify_token((SELECT doc->'cases'->0->>'token' FROM v), '2030-01-01Z')).body,
          '{"c": "green", "d": "4401**********123X", "k": "health", "n": "张*明", "v": 1}'::jsonb,
          'the valid token''s body comes back as jsonb');
SELECT is((SELECT row(r.issuer, r.kind, encode(r.kid, 'hex'), r.issued_at, r.expires_at, encode(r.token_id, 'hex'))::text
             FROM v, verify_token(v.doc->'cases'->1->>'token', '2030-01-01Z') r),
          row('MO', 'entry', '39f713d0a644253f', '2026-01-01 00:00:00+00'::timestamptz,
              '2036-01-01 00:00:00+00'::timestamptz, '00112233445566778899aabbccddeeff')::text,
          'the foreign issuer''s claims come back');
SELECT is((SELECT r.body->'nested' FROM v, verify_token(v.doc->'cases'->1->>'token', '2030-01-01Z') r),
          '{"a": true, "b": [1, 2, 3]}'::jsonb, 'nested maps and arrays decode');
SELECT is((SELECT row(r.reason, r.kid, r.body)::text FROM verify_token('HP1:', '2030-01-01Z') r),
          row('malformed', NULL::bytea, NULL::jsonb)::text, 'an empty token is malformed, with nothing else');

-- issuer_mismatch: MO's key signed a token claiming CN-44. The kid is
-- reported, the claims (nobody's word) are not.
CREATE TEMP TABLE mismatch AS SELECT c->>'token' AS t FROM v, jsonb_array_elements(v.doc->'cases') c
 WHERE c->>'name' = 'issuer_mismatch';
SELECT is((SELECT row(r.valid, r.reason, encode(r.kid, 'hex'), r.issuer, r.kind, r.body)::text
             FROM mismatch, verify_token(t, '2030-01-01Z') r),
          row(false, 'issuer_mismatch', '39f713d0a644253f', NULL::text, NULL::text, NULL::jsonb)::text,
          'issuer_mismatch: the kid is reported, no claim is');
SELECT is(pass_issuer(t::pass), 'CN-44', 'the mismatched token does claim CN-44') FROM mismatch;
SELECT is((verify_token(t, '2030-01-01Z')).reason, 'issuer_mismatch',
          'issuer_mismatch holds whatever the time (it comes before expired)')
  FROM mismatch;
SELECT is((verify_token(t, '2040-01-01Z')).reason, 'issuer_mismatch',
          'issuer_mismatch comes before expired (at a time past exp)')
  FROM mismatch;

-- several keys with one kid: each is tried (the kid check is lifted to forge a collision)
BEGIN;
ALTER TABLE signing_key DROP CONSTRAINT signing_key_kid_of_key;
INSERT INTO signing_key (kid, public_key, issuer, not_before, not_after)
VALUES (decode('21fe31dfa154a261', 'hex'), sha256('another key'), 'XX', '2025-01-01Z', '2040-01-01Z');
SELECT is((SELECT coalesce(r.reason, 'valid') FROM v, verify_token(v.doc->'cases'->0->>'token', '2030-01-01Z') r),
          'valid', 'a kid naming two keys: the one whose signature checks decides');
SELECT is((SELECT r.reason FROM v, verify_token(v.doc->'cases'->4->>'token', '2030-01-01Z') r),
          'bad_signature', 'a kid naming two keys: a bad signature fails under both');
-- the issuer is that of the key whose signature checks: a CN-44 key with the
-- same kid lends nothing to a token that another issuer's key signed
UPDATE signing_key SET issuer = CASE WHEN public_key = sha256('another key') THEN 'CN-44' ELSE 'XX' END
 WHERE kid = decode('21fe31dfa154a261', 'hex');
SELECT is((SELECT r.reason FROM v, verify_token(v.doc->'cases'->0->>'token', '2030-01-01Z') r),
          'issuer_mismatch', 'a kid naming two keys: the issuer is that of the key whose signature checks');
ROLLBACK;

-- an imported key's validity bounds iat
UPDATE v SET doc = jsonb_set(doc, '{trust_list,keys,0,not_after}', '"2025-06-01T00:00:00Z"');
SELECT is(import_trust_list((SELECT doc->'trust_list' FROM v)), 2, 're-importing the list updates its keys');
SELECT is((SELECT r.reason FROM v, verify_token(v.doc->'cases'->0->>'token', '2030-01-01Z') r),
          'key_expired', 'a token issued after its key''s not_after is key_expired');

-- an imported key revoked by its issuer
UPDATE v SET doc = jsonb_set(doc, '{trust_list,keys,1,status}', '"revoked"');
SELECT lives_ok($$SELECT healthpass.import_trust_list((SELECT doc->'trust_list' FROM v))$$, 'the list imports with a key marked revoked');
SELECT is((SELECT r.reason FROM v, verify_token(v.doc->'cases'->1->>'token', '2030-01-01Z') r),
          'key_revoked', 'a token of a key its issuer revoked is key_revoked');
SELECT is((SELECT r.reason FROM mismatch, verify_token(t, '2030-01-01Z') r),
          'key_revoked', 'key_revoked comes before issuer_mismatch');

-- the vectors' keys cannot be imported by a server that is CN-44 itself
SET healthpass.issuer = 'CN-44';
SELECT throws_ok($$SELECT healthpass.import_trust_list((SELECT doc->'trust_list' FROM v))$$, '22023',
                 'trust list field "keys[0].iss" names this server''s own issuer "CN-44"',
                 'a server that is CN-44 refuses a list with a CN-44 key');
RESET healthpass.issuer;

SELECT * FROM finish();
