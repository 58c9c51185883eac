-- risk marks and risk areas
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT plan(43);
-- A table is read in a statement of its own (\gset), then compared: on Citus a
-- statement reading one shard runs whole on a worker, where this session's
-- pgTAP plan does not exist.

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
    '22004', 'valid_from is missing', 'a mark starts somewhere');
SELECT throws_ok(format($$SELECT healthpass.set_risk_mark(%s, 'confirmed', note => repeat('x', 501))$$, :p),
    '54000', format('note "%s…" is 501 characters long', repeat('x', 40)), 'notes are short');
SELECT throws_ok($$SELECT healthpass.set_risk_mark(999999, 'confirmed')$$,
    'P0002', 'person 999999 does not exist', 'unknown person');
SELECT throws_ok(format($$SELECT healthpass.lift_risk_mark(%s, %s, 'again')$$, :p, :m1),
    '55000', format('risk mark %s was already lifted at %s', :m1,
                    (SELECT lifted_at FROM healthpass.risk_marks(:p) WHERE mark_id = :m1)), 'a mark is lifted once');
SELECT throws_ok(format($$SELECT healthpass.lift_risk_mark(%s, 999999, 'x')$$, :p),
    'P0002', format('person %s has no risk mark 999999', :p), 'unknown mark');
SELECT throws_ok(format($$SELECT healthpass.lift_risk_mark(%s, %s, ' ')$$, :p, :m2),
    '22023', 'reason is missing', 'lifting needs a reason');

-- instants are finite (22008)
SELECT throws_ok(format($$SELECT healthpass.set_risk_mark(%s, 'confirmed', '-infinity')$$, :p),
    '22008', 'valid_from "-infinity" is not a point in time', 'a mark does not start at -infinity');
SELECT throws_ok(format($$SELECT healthpass.set_risk_mark(%s, 'confirmed', 'infinity')$$, :p),
    '22008', 'valid_from "infinity" is not a point in time', 'a mark does not start at infinity');
SELECT throws_ok(format($$SELECT healthpass.set_risk_mark(%s, 'confirmed', now(), 'infinity')$$, :p),
    '22008', 'valid_until "infinity" is not a point in time', 'an open mark has no valid_until (NULL), not infinity');
-- free text: notes may span lines, reasons are one line; both at most 500
-- characters (54000) without control or bidi characters (22023)
SELECT throws_ok(format($$SELECT healthpass.set_risk_mark(%s, 'confirmed', note => U&'traced \202Eby CDC')$$, :p),
    '22023', 'note "traced ?by CDC" holds a control character', 'no bidi override in a note');
SELECT throws_ok(format($$SELECT healthpass.set_risk_mark(%s, 'confirmed', note => E'traced\x07')$$, :p),
    '22023', 'note "traced?" holds a control character', 'no control character in a note');
SELECT ok(healthpass.set_risk_mark(:p, 'close_contact', note => E'traced by the CDC\nsee case 12') > 0, 'a note may span lines');
SELECT throws_ok(format($$SELECT healthpass.set_risk_mark(%s, repeat('k', 100000))$$, :p),
    '22023', format('risk mark kind "%s…" is not valid', repeat('k', 40)), 'a bad kind is quoted cut');
SELECT throws_ok(format($$SELECT healthpass.lift_risk_mark(%s, %s, repeat('r', 501))$$, :p, :m2),
    '54000', format('reason "%s…" is 501 characters long', repeat('r', 40)), 'reasons are short');
SELECT throws_ok(format($$SELECT healthpass.lift_risk_mark(%s, %s, E'negative\nretest')$$, :p, :m2),
    '22023', 'reason "negative?retest" holds a control character', 'a reason is one line');
SELECT throws_ok(format($$SELECT healthpass.lift_risk_mark(%s, %s, U&'negative\2066')$$, :p, :m2),
    '22023', 'reason "negative?" holds a control character', 'no bidi isolate in a reason');

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

SELECT throws_ok($$SELECT healthpass.declare_risk_area(repeat('区', 101))$$,
    '54000', format('risk area "%s…" is 101 characters long', repeat('区', 40)), 'an area name is at most 100 characters');
SELECT throws_ok($$SELECT healthpass.declare_risk_area(E'广东省\n珠海市')$$,
    '22023', 'risk area "广东省?珠海市" holds a control character', 'no line break in an area name');
SELECT throws_ok($$SELECT healthpass.declare_risk_area(U&'\202E广东省')$$,
    '22023', 'risk area "?广东省" holds a control character', 'no bidi override in an area name');
SELECT throws_ok($$SELECT healthpass.declare_risk_area('广东省', repeat('n', 501))$$,
    '54000', format('note "%s…" is 501 characters long', repeat('n', 40)), 'area notes are short');
SELECT throws_ok($$SELECT healthpass.declare_risk_area('广东省', U&'cluster\200F')$$,
    '22023', 'note "cluster?" holds a control character', 'no direction mark in an area note');

-- one form for places: an area is stored and matched in it (hp_place_form)
SELECT healthpass.declare_risk_area('广东省　珠海市 ') AS a2 \gset
SELECT is((SELECT place FROM healthpass.risk_areas() WHERE area_id = :a2), '广东省珠海市', 'an area is stored in the one form');
SELECT throws_ok($$SELECT healthpass.declare_risk_area('广东省 珠海市')$$,
    '23505', 'risk area "广东省珠海市" is already declared', 'a spelled variant of an area in force is the same area');
SELECT throws_ok($$INSERT INTO healthpass.risk_area (place) VALUES ('广东省 香洲区')$$,
    '23514', NULL, 'risk_area refuses a place not in its form (direct insert)');
SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明') AS q1 \gset
SELECT healthpass.register_person('cn_resident_id', '440104199003071247', '李红') AS q2 \gset
SELECT healthpass.register_person('cn_resident_id', '440606201001010029', '王小红') AS q3 \gset
SELECT healthpass.register_person('cn_resident_id', '440606198506153311', '赵六') AS q4 \gset
SELECT healthpass.declare_health(:q1, false, false, ARRAY['广东省 珠海市 香洲区']);
SELECT healthpass.declare_health(:q2, false, false, ARRAY['广东省珠海市香洲区拱北']);
SELECT healthpass.declare_health(:q3, false, false, ARRAY['ＭＡＣＡＵ　Ｃｏｔａｉ']);
SELECT healthpass.declare_health(:q4, false, false, ARRAY['广东省 中山市']);
SELECT quote_nullable((SELECT array_agg(colour::text ORDER BY person_id) FROM healthpass.colour_current WHERE person_id IN (:q1, :q2, :q4))) AS got \gset
SELECT is(:got::text[],
          ARRAY['yellow', 'yellow', 'green'], 'spaced and unspaced places in 广东省珠海市 match the area; others do not');
SELECT quote_nullable((SELECT colour::text FROM healthpass.colour_current WHERE person_id = :q3)) AS got \gset
SELECT is(:got::text, 'green', 'no area yet for the full-width place');
SELECT healthpass.declare_risk_area('ＭＡＣＡＵ') AS a4 \gset
SELECT is((SELECT colour::text || ':' || array_to_string(reasons, '|') FROM healthpass.colour_status(:q3)),
          'yellow:travelled through a risk area in the last 14 days', 'a full-width area matches a full-width place (mixed widths and spaces)');
SELECT healthpass.lift_risk_area(:a2);
SELECT quote_nullable((SELECT array_agg(colour::text ORDER BY person_id) FROM healthpass.colour_current WHERE person_id IN (:q1, :q2))) AS got \gset
SELECT is(:got::text[],
          ARRAY['green', 'green'], 'lifting the area re-colours the spaced place too');

SET ROLE healthpass_app;
SELECT throws_ok(format($$SELECT healthpass.set_risk_mark(%s, 'confirmed')$$, :p),
    '42501', 'permission denied for function set_risk_mark', 'only the health authority marks people');
RESET ROLE;

SELECT * FROM finish();
