-- risk marks and risk areas
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT plan(21);

SELECT healthpass.register_person('cn_resident_id', '11010519491231002X', '张三') AS p \gset

SELECT healthpass.set_risk_mark(:p, 'close_contact', note => ' traced by the CDC ') AS m1 \gset
SELECT healthpass.set_risk_mark(:p, 'secondary_contact', now() + interval '1 day', now() + interval '15 days') AS m2 \gset
SELECT is((SELECT string_agg(kind || ':' || active::text || ':' || coalesce(note, '-'), ',' ORDER BY mark_id)
             FROM healthpass.risk_marks(:p)),
          'close_contact:true:traced by the CDC,secondary_contact:false:-', 'marks with their window; a future one is not active yet');
SELECT ok(healthpass.lift_risk_mark(:p, :m1, 'test was negative') IS NOT NULL, 'a mark is lifted early');
SELECT is((SELECT active::text || ':' || lift_reason FROM healthpass.risk_marks(:p) WHERE mark_id = :m1),
          'false:test was negative', 'a lifted mark is kept, inactive, with its reason');

SELECT throws_ok(format($$SELECT healthpass.set_risk_mark(%s, 'unwell')$$, :p),
    '22023', 'risk mark kind "unwell" is not valid', 'five kinds only');
SELECT throws_ok(format($$SELECT healthpass.set_risk_mark(%s, 'confirmed', '2030-01-02', '2030-01-01')$$, :p),
    '22008', 'validity window "2030-01-02 00:00:00+00" to "2030-01-01 00:00:00+00" is empty', 'a window ends after it starts');
SELECT throws_ok(format($$SELECT healthpass.set_risk_mark(%s, 'confirmed', '2020-01-01', '2020-01-02')$$, :p),
    '22008', 'validity window ends in the past at "2020-01-02 00:00:00+00"', 'no marks that already ended');
SELECT throws_ok(format($$SELECT healthpass.set_risk_mark(%s, 'confirmed', NULL)$$, :p),
    '22023', 'valid_from is missing', 'a mark starts somewhere');
SELECT throws_ok(format($$SELECT healthpass.set_risk_mark(%s, 'confirmed', note => repeat('x', 501))$$, :p),
    '54000', 'note is 501 characters long', 'notes are short');
SELECT throws_ok($$SELECT healthpass.set_risk_mark(999999, 'confirmed')$$,
    'P0002', 'person 999999 does not exist', 'unknown person');
SELECT throws_ok(format($$SELECT healthpass.lift_risk_mark(%s, %s, 'again')$$, :p, :m1),
    '55000', format('risk mark %s was already lifted at %s', :m1,
                    (SELECT lifted_at FROM healthpass.risk_marks(:p) WHERE mark_id = :m1)), 'a mark is lifted once');
SELECT throws_ok(format($$SELECT healthpass.lift_risk_mark(%s, 999999, 'x')$$, :p),
    'P0002', format('person %s has no risk mark 999999', :p), 'unknown mark');
SELECT throws_ok(format($$SELECT healthpass.lift_risk_mark(%s, %s, ' ')$$, :p, :m2),
    '22023', 'reason is missing', 'lifting needs a reason');

-- risk areas
SELECT healthpass.declare_risk_area(' 广东省深圳市南山区 ', 'cluster') AS a1 \gset
SELECT is((SELECT string_agg(place || ':' || note, ',') FROM healthpass.risk_areas()), '广东省深圳市南山区:cluster', 'areas in force');
SELECT throws_ok($$SELECT healthpass.declare_risk_area('广东省深圳市南山区')$$,
    '23505', 'risk area "广东省深圳市南山区" is already declared', 'an area is declared once');
SELECT throws_ok($$SELECT healthpass.declare_risk_area('')$$,
    '22023', 'risk area "" is empty', 'an area names a place');
SELECT ok(healthpass.lift_risk_area(:a1) IS NOT NULL, 'an area is lifted');
SELECT is((SELECT count(*)::integer FROM healthpass.risk_areas()), 0, 'no area in force');
SELECT is((SELECT count(*)::integer FROM healthpass.risk_areas(true)), 1, 'lifted areas are kept');
SELECT throws_ok(format($$SELECT healthpass.lift_risk_area(%s)$$, :a1),
    '55000', format('risk area "广东省深圳市南山区" was already lifted at %s',
                    (SELECT lifted_at FROM healthpass.risk_areas(true) WHERE area_id = :a1)), 'an area is lifted once');
SELECT throws_ok($$SELECT healthpass.lift_risk_area(999999)$$,
    'P0002', 'risk area 999999 does not exist', 'unknown area');

SET ROLE healthpass_app;
SELECT throws_ok(format($$SELECT healthpass.set_risk_mark(%s, 'confirmed')$$, :p),
    '42501', 'permission denied for function set_risk_mark', 'only the health authority marks people');
RESET ROLE;

SELECT * FROM finish();
