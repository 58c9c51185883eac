-- colour rules: the free text an administrator gives (reasons, text values
-- of conditions) is bounded (54000) and holds no control or bidi
-- characters (22023); the grammar itself is tested in 50_colour.sql
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT plan(19);

-- reasons: people read them on their code, one line of at most 200 characters
SELECT throws_ok($$SELECT healthpass.add_colour_rule('yellow', repeat('r', 201), 'true')$$,
    '54000', format('rule reason "%s…" is 201 characters long', repeat('r', 40)), 'a reason is at most 200 characters');
SELECT throws_ok($$SELECT healthpass.add_colour_rule('yellow', E'fever\ncheck', 'true')$$,
    '22023', 'rule reason "fever?check" holds a control character', 'a reason is one line');
SELECT throws_ok($$SELECT healthpass.add_colour_rule('yellow', U&'\202Efever', 'true')$$,
    '22023', 'rule reason "?fever" holds a control character', 'no bidi override in a reason');
SELECT throws_ok($$SELECT healthpass.add_colour_rule('yellow', U&'fe\200Dver', 'true')$$,
    '22023', 'rule reason "fe?ver" holds a control character', 'no zero-width character in a reason');
SELECT throws_ok($$SELECT healthpass.replace_colour_rule(13, 'green', repeat('r', 201), '{"fact": "declaration_valid"}')$$,
    '54000', format('rule reason "%s…" is 201 characters long', repeat('r', 40)), 'replacing: a reason is at most 200 characters');
SELECT throws_ok($$SELECT healthpass.replace_colour_rule(13, 'green', U&'ok\2069', '{"fact": "declaration_valid"}')$$,
    '22023', 'rule reason "ok?" holds a control character', 'replacing: no bidi isolate in a reason');
SELECT is((SELECT count(*)::integer FROM healthpass.colour_rulesets()), 1, 'refused reasons make no rule set version');
SELECT ok(healthpass.add_colour_rule('yellow', '  destination 珠海市: check at arrival ', '{"fact": "destination_city", "op": "=", "value": "珠海市"}') >= 100,
          'a plain reason and text value are accepted');
SELECT is((SELECT reason FROM healthpass.colour_rules() WHERE priority = 1000), 'destination 珠海市: check at arrival',
          'the reason is stored trimmed');

-- text values of conditions
SELECT throws_ok($$SELECT healthpass.colour_condition_sql(jsonb_build_object('fact', 'destination_city', 'op', '=', 'value', E'珠海\u0007'))$$,
    '22023', 'value at $ "珠海?" holds a control character', 'no control character in a text value');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql(jsonb_build_object('fact', 'destination_city', 'op', '<>', 'value', U&'\202E珠海'))$$,
    '22023', 'value at $ "?珠海" holds a control character', 'no bidi override in a text value');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql(jsonb_build_object('fact', 'destination_city', 'op', 'in', 'value', jsonb_build_array('珠海', U&'澳门\2066')))$$,
    '22023', 'value at $[1] "澳门?" holds a control character', 'no bidi isolate in a value list, the entry is named');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql(jsonb_build_object('fact', 'destination_city', 'op', 'not_in', 'value', jsonb_build_array(repeat('x', 201))))$$,
    '54000', format('value at $[0] "%s…" is 201 characters long', repeat('x', 40)), 'entries of a value list are at most 200 characters');
SELECT throws_ok($$SELECT healthpass.add_colour_rule('red', 'x', jsonb_build_object('any', jsonb_build_array(
                     jsonb_build_object('fact', 'fever_today'),
                     jsonb_build_object('fact', 'destination_city', 'op', '=', 'value', E'a\nb'))))$$,
    '22023', 'value at $.any[1] "a?b" holds a control character', 'a rule with a bad text value is refused');

-- what a message quotes of a condition is cut
SELECT throws_ok($$SELECT healthpass.colour_condition_sql(jsonb_build_object('fact', repeat('f', 100000)))$$,
    '22023', format('unknown fact "%s…" at $', repeat('f', 40)), 'an unknown fact is quoted cut');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql(jsonb_build_object(repeat('k', 100000), 1))$$,
    '22023', format('condition {"%s… at $ is not understood', repeat('k', 38)), 'a condition not understood is quoted cut');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql(jsonb_build_object('fact', 'last_negative_at', 'op', 'within', 'value', repeat('9', 100000) || ' days'))$$,
    '22007', format('interval "9999%s9999…" at $ is not valid', repeat('*', 32)), 'a bad interval is quoted cut');

-- a rule written directly with the id the sequence gives out next: the
-- next add is refused in the project's words, not with a bare duplicate key
INSERT INTO healthpass.colour_rule (rule_id, colour, reason, priority, condition)
VALUES (101, 'yellow', 'written directly', 2000, 'false'), (102, 'yellow', 'written directly', 2000, 'false');
SELECT throws_ok($$SELECT healthpass.add_colour_rule('yellow', 'another', 'false')$$,
    '23505', 'colour rule id 101 is taken by a rule written directly', 'a taken rule id is reported in the project''s words');
SELECT throws_ok($$SELECT healthpass.replace_colour_rule(100, 'yellow', 'another', 'false')$$,
    '23505', 'colour rule id 102 is taken by a rule written directly', 'replacing too');

SELECT * FROM finish();
