-- face verification, certified photo and the electronic pass
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(50);

SELECT healthpass.publish_notice('commitment_letter', 'Commitment letter', 'I promise.') AS lv \gset
SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明', phone => '13800138000') AS p \gset
SELECT healthpass.register_person('hkid', 'A123456(3)', 'CHAN Tai Man', '1980-05-01') AS hk \gset
CREATE TEMP TABLE pic AS SELECT '\xffd8ffe000104a46494600'::bytea AS jpeg,
                                '\x89504e470d0a1a0a0000000d49484452'::bytea AS png;
CREATE TEMP TABLE info AS SELECT '{"residence_district": "Chancheng", "residence_address": "3 Lianhua Road",
                                   "workplace": "Foshan No. 1 Middle School"}'::jsonb AS f;

-- face checks ------------------------------------------------------------------
SELECT throws_ok(format($$SELECT healthpass.record_face_check(%s, ' ', 'passed', (SELECT jpeg FROM pic))$$, :p),
    '22023', 'face check provider " " is not valid', 'a provider is named');
SELECT throws_ok(format($$SELECT healthpass.record_face_check(%s, 'CTID', 'ok', (SELECT jpeg FROM pic))$$, :p),
    '22023', 'face check outcome "ok" is not valid', 'outcomes are passed or failed');
SELECT throws_ok(format($$SELECT healthpass.record_face_check(%s, 'CTID', 'passed')$$, :p),
    '22023', format('passed face check of person %s has no certified photo', :p), 'a pass comes with the photo');
SELECT throws_ok(format($$SELECT healthpass.record_face_check(%s, 'CTID', 'failed', (SELECT jpeg FROM pic))$$, :p),
    '22023', format('failed face check of person %s carries a photo', :p), 'a failure has no photo');
SELECT throws_ok(format($$SELECT healthpass.record_face_check(%s, 'CTID', 'passed', '\x474946383961')$$, :p),
    '22023', 'certified photo starting with "474946383961" is not a JPEG or PNG image', 'photos are JPEG or PNG');
SELECT throws_ok(format($$SELECT healthpass.record_face_check(%s, 'CTID', 'passed', (SELECT jpeg FROM pic) || repeat('x', 1048576)::bytea)$$, :p),
    '54000', 'certified photo of 1048587 bytes is too large', 'photos are at most 1 MiB');
SELECT throws_ok(format($$SELECT healthpass.record_face_check(%s, 'CTID', 'failed', checked_at => '2999-01-01')$$, :p),
    '22008', format('face check time %s is in the future', '2999-01-01'::timestamptz), 'checks are recorded afterwards');
SELECT throws_ok($$SELECT healthpass.record_face_check(999999, 'CTID', 'failed')$$,
    'P0002', 'person 999999 does not exist', 'unknown person');
SELECT throws_ok(format($$SELECT * FROM healthpass.certified_photo(%s)$$, :p),
    'P0002', format('person %s has no certified photo', :p), 'no photo before a passed check');

SELECT ok(healthpass.record_face_check(:p, 'CTID', 'failed', provider_ref => 'tx-1') > 0, 'a failed check is recorded');
SELECT throws_ok(format($$SELECT * FROM healthpass.certified_photo(%s)$$, :p),
    'P0002', format('person %s has no certified photo', :p), 'a failed check binds no photo');

-- e-pass refusals before the conditions hold --------------------------------------------
SELECT throws_ok(format($$SELECT healthpass.apply_epass(%s, %s, (SELECT f FROM info))$$, :hk, :lv),
    '23514', 'document kind "hkid" cannot hold an electronic pass', 'only resident ID card holders');
SELECT throws_ok(format($$SELECT healthpass.apply_epass(%s, %s, (SELECT f FROM info))$$, :p, :lv),
    '55000', format('real-name status of person %s is "pending", not approved', :p), 'real-name approval first');
SELECT healthpass.record_realname_result(:p, (healthpass.person_info(:p)->>'version')::integer, 'approved') AS ok1 \gset
SELECT throws_ok(format($$SELECT healthpass.apply_epass(%s, %s, (SELECT f FROM info))$$, :p, :lv),
    '55000', format('person %s has not passed a face check', :p), 'a passed face check next');

SELECT healthpass.record_face_check(:p, 'CTID', 'passed', (SELECT jpeg FROM pic), 'tx-2') AS chk \gset
SELECT is((SELECT media_type || ' ' || provider FROM healthpass.certified_photo(:p)), 'image/jpeg CTID',
          'the certified photo is kept with its provider');
SELECT is((SELECT photo FROM healthpass.certified_photo(:p)), (SELECT jpeg FROM pic), 'the photo comes back as stored');
SELECT is((SELECT string_agg(outcome || ':' || photo_bound, ',' ORDER BY check_id) FROM healthpass.face_checks(:p)),
          'failed:false,passed:true', 'the face checks are listed with the bound one');

SELECT throws_ok(format($$SELECT healthpass.apply_epass(%s, NULL, (SELECT f FROM info))$$, :p),
    '55000', 'the commitment letter has not been accepted', 'the letter must be accepted');
SELECT healthpass.publish_notice('commitment_letter', 'Commitment letter', 'I promise, really.') AS lv2 \gset
SELECT throws_ok(format($$SELECT healthpass.apply_epass(%s, %s, (SELECT f FROM info))$$, :p, :lv),
    '55000', 'commitment letter version 1 is not the current one', 'the current letter version must be accepted');
SELECT throws_ok(format($$SELECT healthpass.apply_epass(%s, %s, (SELECT f - 'residence_address' FROM info))$$, :p, :lv2),
    '22023', 'field "residence_address" is required', 'the form is complete');
SELECT throws_ok(format($$SELECT healthpass.apply_epass(%s, %s, (SELECT f || '{"hobby": "chess"}' FROM info))$$, :p, :lv2),
    '22023', 'unknown e-pass field "hobby"', 'unknown fields are refused');

-- the e-pass page --------------------------------------------------------------------------
SELECT healthpass.apply_epass(:p, :lv2, (SELECT f FROM info)) AS page \gset
SELECT is(:'page'::jsonb->>'status', 'active', 'approved and face verified: the e-pass is active');
SELECT is(:'page'::jsonb->'reasons', '[]'::jsonb, 'nothing blocks it');
SELECT is(:'page'::jsonb#>>'{person,id}', '4401**********1239', 'the page shows the masked ID');
SELECT is(:'page'::jsonb#>>'{info,residence_district}', 'Chancheng', 'the page shows my information');
SELECT is(jsonb_typeof(:'page'::jsonb#>'{health,available}'), 'boolean', 'the page has a health-code section');
SELECT is(:'page'::jsonb#>'{health,available}', healthpass_internal.epass_health_section(:p)->'available',
          'the section is what epass_health_section says');
SELECT is((SELECT kind || ' ' || (body->>'ref') FROM healthpass.verify_token(:'page'::jsonb->>'pass')),
          'epass ' || (healthpass.person_info(:p)->>'ref'), 'an active e-pass carries an HP1 epass code');
SELECT is((SELECT string_agg(kind || ' ' || version, ',') FROM healthpass.notice_acceptances(:p)), 'commitment_letter 2',
          'the accepted letter version is recorded');
SELECT throws_ok(format($$SELECT healthpass.apply_epass(%s, %s, (SELECT f FROM info))$$, :p, :lv2),
    '23505', format('person %s already has an electronic pass', :p), 'one e-pass per person');

-- modify my information ---------------------------------------------------------------------
SELECT is(healthpass.modify_epass(:p, '{"workplace": "Foshan Library", "phone": "13900139000"}')#>>'{info,workplace}',
          'Foshan Library', 'e-pass fields are modified');
SELECT is(healthpass.person_info(:p)->>'phone', '13900139000', 'person fields are modified alongside');
SELECT is(healthpass.epass_page(:p)->>'status', 'active', 'a contact change keeps the e-pass active');
SELECT is((SELECT string_agg(coalesce(data->>'workplace', '-'), ',' ORDER BY version) FROM healthpass.epass_history(:p)),
          'Foshan No. 1 Middle School,Foshan Library', 'the e-pass history keeps the old information');
SELECT throws_ok(format($$SELECT healthpass.modify_epass(%s, '{"doc_kind": "hkid"}')$$, :p),
    '22023', 'unknown e-pass field "doc_kind"', 'the document kind of an e-pass cannot change');
SELECT throws_ok(format($$SELECT healthpass.modify_epass(%s, '{"residence_address": ""}')$$, :p),
    '22023', 'field "residence_address" is required', 'required fields stay required');
SELECT throws_ok(format($$SELECT healthpass.modify_epass(%s, '{}')$$, :hk),
    'P0002', format('person %s has no electronic pass', :hk), 'modify needs an e-pass');
SELECT throws_ok(format($$SELECT healthpass.epass_page(%s)$$, :hk),
    'P0002', format('person %s has no electronic pass', :hk), 'no page without an e-pass');

SELECT is(healthpass.modify_epass(:p, '{"name": "王晓明"}')->'reasons', '["realname_pending", "face_not_verified"]'::jsonb,
          'a name change suspends the e-pass until a new real-name approval and face check');
SELECT is(healthpass.epass_page(:p)->'pass', 'null'::jsonb, 'a suspended e-pass carries no code');
SELECT healthpass.record_realname_result(:p, (healthpass.person_info(:p)->>'version')::integer, 'approved') AS ok2 \gset
SELECT is(healthpass.epass_page(:p)->'reasons', '["face_not_verified"]'::jsonb, 'approval alone is not enough');
SELECT ok(healthpass.record_face_check(:p, 'CTID', 'passed', (SELECT jpeg FROM pic)) > 0, 'a face check for the new name');
SELECT is(healthpass.epass_page(:p)->>'status', 'active', 'approval and the new face check reactivate it');

-- unbinding the certified photo -----------------------------------------------------------------
SELECT is(healthpass.unbind_certified_photo(:p), 'suspended', 'unbinding the photo suspends the e-pass');
SELECT throws_ok(format($$SELECT * FROM healthpass.certified_photo(%s)$$, :p),
    'P0002', format('person %s has no certified photo', :p), 'the photo is deleted');
SELECT is(healthpass.epass_page(:p)->'reasons', '["face_not_verified"]'::jsonb, 'the page says why');
SELECT throws_ok(format($$SELECT healthpass.unbind_certified_photo(%s)$$, :p),
    'P0002', format('person %s has no certified photo', :p), 'nothing to unbind twice');
SELECT ok(healthpass.record_face_check(:p, 'CTID', 'passed', (SELECT png FROM pic)) > 0, 'a new face check');
SELECT is(healthpass.epass_page(:p)->>'status', 'active', 'a new passed face check reactivates the e-pass');

SET ROLE healthpass_scanner;
SELECT throws_ok(format($$SELECT * FROM healthpass.certified_photo(%s)$$, :p),
    '42501', 'permission denied for function certified_photo', 'scanners cannot read photos');
RESET ROLE;

SELECT * FROM finish();
