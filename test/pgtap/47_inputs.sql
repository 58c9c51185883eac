-- inputs that were silently accepted (issue 9, items 8, 10, 11): impossible
-- instants, unbounded or control-laden text, and NULL arguments that gave a
-- silent NULL, in the people, registration, e-pass, family and code domains
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(16);

SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明') AS p \gset
SELECT healthpass.add_family_member(:p, 'cn_resident_id', '440606195508084416', '王大爷', 'parent') AS m \gset

-- instants ------------------------------------------------------------------
SELECT throws_ok(format($$SELECT healthpass.record_face_check(%s, 'CTID', 'failed', checked_at => '-infinity')$$, :p),
    '22008', 'face check time "-infinity" is not a point in time', 'a face check at -infinity is refused');
SELECT throws_ok(format($$SELECT healthpass.record_face_check(%s, 'CTID', 'failed', checked_at => 'infinity')$$, :p),
    '22008', 'face check time "infinity" is not a point in time', 'a face check at infinity is refused');
SELECT throws_ok(format($$SELECT healthpass.record_face_check(%s, 'CTID', 'failed', checked_at => NULL)$$, :p),
    '22004', 'face check time is missing', 'a face check needs its time');
SELECT throws_ok(format($$SELECT * FROM healthpass.colour_status(%s, '-infinity')$$, :p),
    '22008', 'instant "-infinity" is not a point in time', 'no colour at -infinity');

-- text ----------------------------------------------------------------------
SELECT throws_ok($$SELECT healthpass.publish_notice('registration_notice', repeat('x', 1000000), 'Read me.')$$,
    '54000', format('notice title "%s…" is 1000000 characters long', repeat('x', 40)), 'a 1 MB notice title is refused');
SELECT throws_ok($$SELECT healthpass.publish_notice('registration_notice', E'Notice\x07', 'Read me.')$$,
    '22023', 'notice title "Notice?" holds a control character', 'control characters in a notice title');
SELECT throws_ok($$SELECT healthpass.publish_notice('registration_notice', 'Notice', repeat('x', 20001))$$,
    '54000', NULL, 'an overlong notice body is refused');
SELECT lives_ok($$SELECT healthpass.publish_notice('registration_notice', 'Notice', E'Line one.\nLine two.')$$,
    'a notice body keeps its line breaks');
SELECT throws_ok(format($$SELECT healthpass.record_realname_result(%s, (healthpass.person_info(%s)->>'version')::integer, 'rejected', repeat('x', 1000000))$$, :p, :p),
    '54000', format('rejection reason "%s…" is 1000000 characters long', repeat('x', 40)), 'a 1 MB rejection reason is refused');
SELECT throws_ok(format($$SELECT healthpass.record_realname_result(%s, (healthpass.person_info(%s)->>'version')::integer, 'rejected', E'\u202ebad photo')$$, :p, :p),
    '22023', 'rejection reason "?bad photo" holds a control character', 'a rejection reason with a bidi override is refused');
SELECT throws_ok(format($$SELECT healthpass.record_face_check(%s, 'CTID', 'failed', provider_ref => repeat('r', 1000000))$$, :p),
    '54000', format('provider reference "%s…" is 1000000 characters long', repeat('r', 40)), 'a 1 MB provider reference is refused');
SELECT throws_ok(format($$SELECT healthpass.record_face_check(%s, E'CT\nID', 'failed')$$, :p),
    '22023', 'face check provider "CT?ID" is not valid', 'a provider with a line break is refused');
SELECT throws_ok(format($$SELECT healthpass.add_family_member(%s, 'cn_resident_id', '440606201505056637', '王小宝', repeat('c', 100000))$$, :p),
    '22023', format('relation "%s…" is not valid', repeat('c', 40)), 'a relation is quoted cut');

-- NULL arguments raise instead of giving a silent NULL ----------------------
SELECT throws_ok(format($$SELECT healthpass.family_member_qr_png(%s, %s, '90 days', NULL)$$, :p, :m),
    '22023', 'module size NULL is out of range', 'family_member_qr_png refuses a NULL module size');
SELECT throws_ok(format($$SELECT * FROM healthpass.health_code_png(%s, NULL)$$, :p),
    '22023', 'module size NULL is out of range', 'health_code_png refuses it the same way');
SELECT throws_ok(format($$SELECT healthpass.family_member_qr_png(%s, %s, NULL)$$, :p, :m),
    '22023', NULL, 'a NULL validity is refused');

SELECT * FROM finish();
