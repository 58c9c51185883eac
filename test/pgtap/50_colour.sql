-- health-code colour type, worst-of aggregate, settings and the rule language
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT plan(47);

-- the colour type: ordered by severity
SELECT is(array_to_string(enum_range(NULL::healthpass.health_colour), ','),
          'green,light_green,yellow,red', 'four colours in order of severity');
SELECT ok('green'::healthpass.health_colour < 'light_green' AND 'light_green'::healthpass.health_colour < 'yellow'
          AND 'yellow'::healthpass.health_colour < 'red', 'green < light_green < yellow < red');
SELECT is((SELECT healthpass.worst(c) FROM unnest('{green,yellow,light_green}'::healthpass.health_colour[]) c),
          'yellow'::healthpass.health_colour, 'worst() picks the most severe colour');
SELECT is((SELECT healthpass.worst(c) FROM unnest('{green,red,NULL}'::healthpass.health_colour[]) c),
          'red'::healthpass.health_colour, 'worst() ignores NULLs');
SELECT is((SELECT healthpass.worst(c) FROM unnest('{}'::healthpass.health_colour[]) c),
          NULL, 'worst() of no rows is NULL');
SELECT is((SELECT string_agg(g::text || ':' || w::text, ',' ORDER BY g)
             FROM (SELECT g, healthpass.worst(c) w FROM (VALUES (1, 'green'::healthpass.health_colour), (1, 'light_green'),
                                                              (2, 'yellow'), (2, 'green'), (3, 'red')) v(g, c) GROUP BY g) x),
          '1:light_green,2:yellow,3:red', 'worst() per group');
SELECT is(healthpass.worse('yellow', 'light_green'), 'yellow'::healthpass.health_colour, 'worse() of two');
SELECT is(healthpass.worse(NULL, 'green'), 'green'::healthpass.health_colour, 'worse() with an absent colour');
SELECT is(healthpass.colour_meaning('light_green'), 'light green code (淡绿码): no health information reported',
          'meaning of light green (seed 004)');
SELECT is(healthpass.colour_meaning('yellow'),
          'yellow code (黄码): pass after more information or a check such as temperature; or the declaration has expired and must be renewed',
          'meaning of yellow (seed 004)');

-- settings
SELECT is((SELECT code_valid_for || ' ' || declaration_valid_for FROM healthpass.health_settings()),
          '00:03:00 1 day', 'defaults: a code lives 3 minutes, a declaration 1 day');
SELECT healthpass.configure_health(code_valid_for => '5 minutes');
SELECT is((SELECT code_valid_for FROM healthpass.health_settings()), '00:05:00'::interval, 'the code validity is configurable');
SELECT is((SELECT declaration_valid_for FROM healthpass.health_settings()), '1 day'::interval,
          'NULL keeps the other setting');
SELECT throws_ok($$SELECT healthpass.configure_health('10 seconds')$$,
    '22023', 'health-code validity "00:00:10" is out of range', 'a code lives at least 30 seconds');
SELECT throws_ok($$SELECT healthpass.configure_health(declaration_valid_for => '31 days')$$,
    '22023', 'declaration validity "31 days" is out of range', 'a declaration lives at most 30 days');

-- the default rules (seed 004)
SELECT is((SELECT count(*)::integer FROM healthpass.colour_rules()), 13, 'thirteen default rules');
SELECT is((SELECT string_agg(DISTINCT colour::text, ',' ORDER BY colour::text) FROM healthpass.colour_rules()),
          'green,light_green,red,yellow', 'every colour is reachable from the defaults');
SELECT is((SELECT count(*)::integer FROM healthpass.colour_facts_catalogue()), 19,
          'nineteen facts: sixteen of our own, two of foreign HC1 certificates, one of recognised transfers');

-- conditions compile to SQL over the facts row
SELECT is(healthpass.colour_condition_sql('{"fact": "fever_today"}'), 'coalesce(f.fever_today, false)', 'a boolean fact alone');
SELECT is(healthpass.colour_condition_sql('{"fact": "temperature", "op": ">=", "value": 37.3}'),
          'coalesce(f.temperature >= ''37.3''::numeric, false)', 'numbers are quoted, typed literals');
SELECT is(healthpass.colour_condition_sql($${"fact": "destination_city", "op": "=", "value": "x'); DROP TABLE y; --"}$$),
          'coalesce(f.destination_city = ''x''''); DROP TABLE y; --''::text, false)', 'text cannot escape its literal');
SELECT is(healthpass.colour_condition_sql('{"any": [{"fact": "latest_result", "op": "in", "value": ["positive", "pending"]}, {"not": {"fact": "has_declaration"}}]}'),
          '(coalesce(f.latest_result = ANY (ARRAY[''positive'', ''pending'']::text[]), false) OR (NOT coalesce(f.has_declaration, false)))',
          'any, in and not');
SELECT is(healthpass.colour_condition_sql('{"fact": "last_negative_at", "op": "not_within", "value": "3 days"}'),
          'NOT coalesce(f.last_negative_at > f.at - ''3 days''::interval, false)', 'time windows');
SELECT is(healthpass.colour_condition_sql('{"fact": "temperature", "op": "is_missing"}'), '(f.temperature IS NULL)', 'missing facts');
SELECT is(healthpass.colour_condition_sql('true'), 'true', 'true is a condition');

-- bad conditions
SELECT throws_ok($$SELECT healthpass.colour_condition_sql('{"fact": "shoe_size", "op": ">", "value": 40}')$$,
    '22023', 'unknown fact "shoe_size" at $', 'unknown facts are refused');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql('{"fact": "temperature", "op": "~", "value": 37}')$$,
    '22023', 'fact "temperature" at $ is compared with =, <>, <, <=, > or >= to a number', 'operators fit the fact type');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql('{"fact": "temperature", "op": ">", "value": "37"}')$$,
    '22023', 'fact "temperature" at $ is compared with =, <>, <, <=, > or >= to a number', 'values fit the fact type');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql('{"fact": "temperature"}')$$,
    '22023', 'fact "temperature" at $ needs an operator', 'only boolean facts stand alone');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql('{"all": []}')$$,
    '22023', '"all" at $ needs a non-empty array of conditions', 'empty all');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql('{"sql": "true"}')$$,
    '22023', 'condition {"sql": "true"} at $ is not understood', 'no raw SQL');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql('[1]')$$,
    '22023', 'condition [1] at $ is not an object', 'not an object');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql('{"any": [{"fact": "fever_today"}, {"fact": "nope"}]}')$$,
    '22023', 'unknown fact "nope" at $.any[1]', 'errors name the path');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql('{"fact": "last_negative_at", "op": "within", "value": "soon"}')$$,
    '22007', 'interval "soon" at $ is not valid', 'bad interval text');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql('{"fact": "last_negative_at", "op": "within", "value": "-3 days"}')$$,
    '22023', 'interval "-3 days" at $ is out of range', 'negative window');
SELECT throws_ok($$SELECT healthpass.colour_condition_sql(
        '{"not":{"not":{"not":{"not":{"not":{"not":{"not":{"not":{"not":{"not":{"fact":"fever_today"}}}}}}}}}}}')$$,
    '54000', 'condition is nested deeper than 10 levels at $.not.not.not.not.not.not.not.not.not.not', 'depth limit');
SELECT throws_ok(format($$SELECT healthpass.colour_condition_sql(%L)$$,
        jsonb_build_object('any', (SELECT jsonb_agg('{"fact": "fever_today"}'::jsonb) FROM generate_series(1, 120)))),
    '54000', 'condition has more than 100 parts at $.any[99]', 'size limit');
SELECT throws_ok(format($$SELECT healthpass.colour_condition_sql(%L)$$,
        jsonb_build_object('fact', 'destination_city', 'op', 'in', 'value', (SELECT jsonb_agg(g::text) FROM generate_series(1, 51) g))),
    '54000', 'value list at $ has 51 entries', 'list limit');

-- rule administration
SELECT throws_ok($$SELECT healthpass.add_colour_rule('yellow', '  ', 'true')$$,
    '22023', 'rule reason "  " is not valid', 'a rule needs a reason people can read');
SELECT throws_ok($$SELECT healthpass.add_colour_rule('yellow', 'x', 'true', -1)$$,
    '22023', 'rule priority -1 is out of range', 'priority range');
SELECT throws_ok($$SELECT healthpass.add_colour_rule('yellow', 'x', '{"fact": "nope"}')$$,
    '22023', 'unknown fact "nope" at $', 'a bad condition is refused before anything changes');
SELECT throws_ok($$SELECT healthpass.retire_colour_rule(999)$$,
    'P0002', 'colour rule 999 is not in force', 'retire an unknown rule');
SELECT throws_ok($$SELECT healthpass.replace_colour_rule(999, 'red', 'x', 'true')$$,
    'P0002', 'colour rule 999 is not in force', 'replace an unknown rule');
SELECT throws_ok($$SELECT healthpass.replace_colour_rule(NULL, 'red', 'x', 'true')$$,
    'P0002', 'colour rule <NULL> is not in force', 'replace without a rule id');
SELECT is((SELECT count(*)::integer FROM healthpass.colour_rulesets()), 1, 'refused changes make no rule set version');

-- privileges: only administrators change rules
SET ROLE healthpass_app;
SELECT throws_ok($$SELECT healthpass.add_colour_rule('red', 'x', 'true')$$,
    '42501', 'permission denied for function add_colour_rule', 'the app role cannot change rules');
RESET ROLE;
SET ROLE healthpass_report;
SELECT is((SELECT count(*)::integer FROM healthpass.colour_rules()), 13, 'the report role reads the rules');
RESET ROLE;

SELECT * FROM finish();
