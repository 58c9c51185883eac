-- nucleic-acid results: latest within 14 days, for a person and a guardian's family
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT plan(46);

SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明') AS g \gset
SELECT healthpass.add_family_member(:g, 'cn_resident_id', '440606195508084416', '王大爷', 'parent') AS m1 \gset
SELECT healthpass.add_family_member(:g, 'cn_resident_id', '440606201505056637', '王小宝', 'child') AS m2 \gset
SELECT healthpass.register_person('cn_resident_id', '440104199003071247', '李红') AS other \gset
SELECT now() - interval '20 days' AS t20, now() - interval '13 days' AS t13, now() - interval '2 days' AS t2,
       now() - interval '5 hours' AS t5h \gset

-- the guardian: an old positive (outside 14 days), then a negative and a pending sample
SELECT ok(healthpass.record_test_result(:g, 'Lab A', 'A-1', :'t20', 'positive', :'t20'::timestamptz + interval '1 day') > 0, 'result recorded');
SELECT is((SELECT count(*)::integer FROM healthpass.latest_test_result(:g)), 0, 'a result sampled 20 days ago does not count');
SELECT ok(healthpass.record_test_result(:g, 'Lab A', 'A-2', :'t13', 'negative') > 0, 'a negative 13 days ago');
SELECT ok(healthpass.record_test_result(:g, 'Lab B', 'B-7', :'t5h', 'pending') > 0, 'a pending sample 5 hours ago');
SELECT now() AS tp \gset
SELECT is((SELECT result || ':' || institution || ':' || (reported_at IS NULL)::text FROM healthpass.latest_test_result(:g)),
          'pending:Lab B:true', 'the latest within 14 days is the pending one');
SELECT is((SELECT last_negative_at FROM healthpass.latest_test_result(:g)), :'t13'::timestamptz,
          'with the last negative sampling time');
SELECT ok(healthpass.record_test_result(:g, ' Lab B ', 'B-7', :'t5h', 'NEGATIVE') > 0, 'the pending sample is reported negative');
SELECT is((SELECT result || ':' || (reported_at IS NOT NULL)::text FROM healthpass.latest_test_result(:g)),
          'negative:true', 'the newest record of a sample is its result');
SELECT is((SELECT last_negative_at FROM healthpass.latest_test_result(:g)), :'t5h'::timestamptz, 'last negative moves on');
SELECT is((SELECT result FROM healthpass.latest_test_result(:g, :'tp')),
          'pending', 'as known at an earlier instant, the sample was pending');
SELECT is((SELECT count(*)::integer FROM healthpass.latest_test_result(:other)), 0, 'no row without a result in 14 days');
SELECT is((SELECT count(*)::integer FROM healthpass.test_results(:g)), 4, 'every record is kept');

-- family members (seed 004)
SELECT ok(healthpass.record_test_result(:m1, 'Lab A', 'A-9', :'t2', 'negative') > 0, 'a member''s result');
SELECT ok(healthpass.record_test_result(:other, 'Lab A', 'A-10', :'t2', 'positive') > 0, 'someone else''s result');
SELECT is((SELECT string_agg(name_masked || ':' || relation || ':' || coalesce(result, '-'), ',' ORDER BY member_id)
             FROM healthpass.family_test_results(:g)),
          '王*爷:parent:negative,王*宝:child:-', 'the guardian sees each member''s latest result, members without one too');
SELECT is((SELECT count(*)::integer FROM healthpass.family_test_results(:other)), 0, 'no family, no rows');

-- refusals
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', 'A-2', %L, 'negative')$$, :g, :'t13'),
    '23505', 'sample "A-2" of "Lab A" is already recorded as negative', 'a record only when the result changes');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', 'A-2', %L, 'pending')$$, :g, :'t13'),
    '55000', 'sample "A-2" of "Lab A" already has the final result negative', 'a final result does not go back to pending');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', 'A-2', '2000-01-01 00:00:00+00', 'positive')$$, :g),
    '23514', format('sample "A-2" of "Lab A" was taken at %s, not 2000-01-01 00:00:00+00', :'t13'), 'one sample, one sampling time');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', 'A-3', %L, 'unclear')$$, :g, :'t2'),
    '22023', 'test result "unclear" is not valid', 'three results only');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', 'A-3', '2999-01-01 00:00:00+00', 'negative')$$, :g),
    '22008', 'sampling time "2999-01-01 00:00:00+00" is in the future', 'no future samples');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', 'A-3', %L, 'pending', now())$$, :g, :'t2'),
    '22023', format('a pending result cannot have a report time "%s"', now()), 'pending is not reported');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', 'A-3', %L, 'negative', %L)$$, :g, :'t2', :'t13'),
    '22008', format('report time "%s" is out of range', :'t13'), 'reported before it was sampled');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, '', 'A-3', %L, 'negative')$$, :g, :'t2'),
    '22023', 'institution is missing', 'the institution is named');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', repeat('9', 65), %L, 'negative')$$, :g, :'t2'),
    '54000', format('sample reference "9999%s9999…" is 65 characters long', repeat('*', 32)), 'sample references are short');

-- free text: length limits (54000), no control or bidi characters (22023)
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, repeat('院', 101), 'A-3', %L, 'negative')$$, :g, :'t2'),
    '54000', format('institution "%s…" is 101 characters long', repeat('院', 40)), 'institution names are short');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, E'Lab\tA', 'A-3', %L, 'negative')$$, :g, :'t2'),
    '22023', 'institution "Lab?A" holds a control character', 'no tab in an institution name');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, U&'Lab \202EA', 'A-3', %L, 'negative')$$, :g, :'t2'),
    '22023', 'institution "Lab ?A" holds a control character', 'no bidi override in an institution name');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', U&'A-\2067 3', %L, 'negative')$$, :g, :'t2'),
    '22023', 'sample reference "A-? 3" holds a control character', 'no bidi isolate in a sample reference');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', NULL, %L, 'negative')$$, :g, :'t2'),
    '22023', 'sample reference is missing', 'a sample reference is given');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', 'A-3', %L, repeat('x', 5000))$$, :g, :'t2'),
    '22023', format('test result "%s…" is not valid', repeat('x', 40)), 'a bad result is quoted cut');

-- instants: finite (22008), present when required (22004)
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', 'A-3', '-infinity', 'negative')$$, :g),
    '22008', 'sampled_at "-infinity" is not a point in time', 'no sample at -infinity');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', 'A-3', 'infinity', 'pending')$$, :g),
    '22008', 'sampled_at "infinity" is not a point in time', 'no sample at infinity');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', 'A-3', NULL, 'pending')$$, :g),
    '22004', 'sampled_at is missing', 'a sample has a sampling time');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', 'A-3', %L, 'negative', '-infinity')$$, :g, :'t2'),
    '22008', 'reported_at "-infinity" is not a point in time', 'no report at -infinity');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', 'A-3', %L, 'negative', 'infinity')$$, :g, :'t2'),
    '22008', 'reported_at "infinity" is not a point in time', 'no report at infinity');
SELECT throws_ok(format($$SELECT * FROM healthpass.latest_test_result(%s, '-infinity')$$, :g),
    '22008', 'instant "-infinity" is not a point in time', 'no look-up at -infinity');
SELECT throws_ok(format($$SELECT * FROM healthpass.latest_test_result(%s, NULL)$$, :g),
    '22004', 'instant is missing', 'a look-up names its instant');
SELECT throws_ok(format($$SELECT * FROM healthpass.family_test_results(%s, '-infinity')$$, :g),
    '22008', 'instant "-infinity" is not a point in time', 'no family look-up at -infinity');
SELECT throws_ok(format($$SELECT * FROM healthpass.family_test_results(%s, 'infinity')$$, :g),
    '22008', 'instant "infinity" is not a point in time', 'no family look-up at infinity');

-- a sample is pending once, also for a row written around the function
SELECT ok(healthpass.record_test_result(:g, 'Lab C', 'C-1', :'t2', 'pending') > 0, 'a pending sample');
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab C', 'C-1', %L, 'pending')$$, :g, :'t2'),
    '23505', 'sample "C-1" of "Lab C" is already recorded as pending', 'the same pending record twice is refused');
SELECT throws_ok(format($$INSERT INTO healthpass.test_result (person_id, institution, sample_ref, sampled_at, result)
                          VALUES (%s, 'Lab C', 'C-1', %L, 'pending')$$, :g, :'t2'),
    '23505', NULL, 'a direct duplicate pending record is refused by test_result_pending_once');
SELECT lives_ok(format($$INSERT INTO healthpass.test_result (person_id, institution, sample_ref, sampled_at, result)
                         VALUES (%s, 'Lab C', 'C-2', %L, 'pending')$$, :g, :'t2'),
    'another sample of the same time may be pending');
SELECT throws_ok(format($$SELECT * FROM healthpass.latest_test_result(%s, '2999-01-01 00:00:00+00')$$, :g),
    '22008', 'instant "2999-01-01 00:00:00+00" is not valid', 'no look-ups in the future');

SET ROLE healthpass_app;
SELECT throws_ok(format($$SELECT healthpass.record_test_result(%s, 'Lab A', 'A-3', %L, 'negative')$$, :g, :'t2'),
    '42501', 'permission denied for function record_test_result', 'only the health authority records results');
RESET ROLE;

SELECT * FROM finish();
