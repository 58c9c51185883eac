-- HP1 test vectors (test/vectors/hp1-vectors.json, made by an independent
-- implementation): after importing its trust list, each of the twelve
-- tokens gets its verdict at verify_at with a clock skew of 300 s; then
-- key expiry, a key shared by two kids, and key revocation on imported keys.
\set ON_ERROR_STOP 1
\set vectors `cat test/vectors/hp1-vectors.json`
SET search_path = healthpass, public;
CREATE TEMP TABLE v AS SELECT :'vectors'::jsonb AS doc;
SELECT plan(24);

SELECT is(import_trust_list((SELECT doc->'trust_list' FROM v)), 2, 'the vectors'' trust list imports two keys');
SELECT is(current_setting('healthpass.clock_skew')::interval, interval '300 s', 'clock skew defaults to 300 s');

SELECT is(coalesce(r.reason, 'valid'), c->>'expect', 'vector ' || (c->>'name') || ': ' || (c->>'expect'))
  FROM v, jsonb_array_elements(v.doc->'cases') c,
       verify_token(c->>'token', (v.doc->>'verify_at')::timestamptz) r;

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

-- several keys with one kid: each is tried (the kid check is lifted to forge a collision)
BEGIN;
ALTER TABLE signing_key DROP CONSTRAINT signing_key_kid_of_key;
INSERT INTO signing_key (kid, public_key, issuer, not_before, not_after)
VALUES (decode('21fe31dfa154a261', 'hex'), sha256('another key'), 'XX', '2025-01-01Z', '2040-01-01Z');
SELECT is((SELECT coalesce(r.reason, 'valid') FROM v, verify_token(v.doc->'cases'->0->>'token', '2030-01-01Z') r),
          'valid', 'a kid naming two keys: the one whose signature checks decides');
SELECT is((SELECT r.reason FROM v, verify_token(v.doc->'cases'->4->>'token', '2030-01-01Z') r),
          'bad_signature', 'a kid naming two keys: a bad signature fails under both');
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

SELECT * FROM finish();
