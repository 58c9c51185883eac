-- every colour path: each default rule, worst-of, expiry, history at an
-- instant, rule changes and re-colouring jobs, risk areas, time-driven changes
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT plan(69);

CREATE SEQUENCE pg_temp.doc_seq;
-- a new test person
CREATE FUNCTION pg_temp.np() RETURNS bigint LANGUAGE sql AS $$
    SELECT healthpass.register_person('passport', 'T' || lpad(nextval('pg_temp.doc_seq')::text, 7, '0'),
                                      'Test Person', '1990-01-01', NULL, 'GBR')
$$;
-- colour now and its reasons, materialised
CREATE FUNCTION pg_temp.col(p bigint) RETURNS text LANGUAGE sql AS $$
    SELECT colour || ': ' || array_to_string(reasons, ' | ') FROM healthpass.health_status(p)
$$;
-- a person with a valid, clean declaration
CREATE FUNCTION pg_temp.green() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE p bigint := pg_temp.np();
BEGIN
    PERFORM healthpass.declare_health(p, false, false);
    RETURN p;
END $$;

-- light green and green -----------------------------------------------------
SELECT pg_temp.np() AS p0 \gset
SELECT is(pg_temp.col(:p0), 'light_green: no health information reported', 'rule 12: nothing reported is light green');
SELECT healthpass.declare_health(:p0, false, false);
SELECT is(pg_temp.col(:p0), 'green: declaration in force and no risk found', 'rule 13: a clean declaration is green');

-- each red rule ---------------------------------------------------------------
SELECT pg_temp.green() AS p \gset
SELECT healthpass.set_risk_mark(:p, 'confirmed');
SELECT is(pg_temp.col(:p), 'red: confirmed case', 'rule 1: confirmed case');
SELECT pg_temp.green() AS p \gset
SELECT healthpass.set_risk_mark(:p, 'suspected');
SELECT is(pg_temp.col(:p), 'red: suspected case', 'rule 2: suspected case');
SELECT pg_temp.green() AS p \gset
SELECT healthpass.set_risk_mark(:p, 'close_contact');
SELECT is(pg_temp.col(:p), 'red: close contact of a case', 'rule 3: close contact');
SELECT pg_temp.green() AS p \gset
SELECT healthpass.record_test_result(:p, 'Lab', 'S1', now() - interval '13 days 12 hours', 'positive');
SELECT is(pg_temp.col(:p), 'red: positive nucleic-acid test in the last 14 days', 'rule 4: positive test within 14 days');
SELECT quote_nullable((SELECT recheck_at FROM healthpass.colour_current WHERE person_id = :p)) AS got \gset
SELECT quote_nullable((SELECT sampled_at + interval '14 days' FROM healthpass.test_result WHERE person_id = :p)) AS want \gset
SELECT is(:got::timestamptz, :want::timestamptz,
          'it is re-checked when the test leaves the 14-day window');
SELECT healthpass.record_test_result(:p, 'Lab', 'S2', now() - interval '1 hour', 'negative');
SELECT is(pg_temp.col(:p), 'green: declaration in force and no risk found', 'a later negative test is the latest result');
SELECT pg_temp.green() AS p \gset
SELECT healthpass.record_test_result(:p, 'Lab', 'S1', now() - interval '15 days', 'positive');
SELECT is(pg_temp.col(:p), 'green: declaration in force and no risk found', 'a positive older than 14 days does not count');

-- each yellow rule --------------------------------------------------------------
SELECT pg_temp.green() AS p \gset
SELECT healthpass.set_risk_mark(:p, 'secondary_contact');
SELECT is(pg_temp.col(:p), 'yellow: secondary contact', 'rule 5: secondary contact');
SELECT pg_temp.green() AS p \gset
SELECT healthpass.set_risk_mark(:p, 'risk_area_arrival');
SELECT is(pg_temp.col(:p), 'yellow: arrived from a risk area', 'rule 6: arrival from a risk area');
SELECT pg_temp.np() AS p \gset
SELECT healthpass.declare_health(:p, true, false);
SELECT is(pg_temp.col(:p), 'yellow: declared fever or symptoms today', 'rule 8: fever today');
SELECT pg_temp.np() AS p \gset
SELECT healthpass.declare_health(:p, false, false, temperature => 37.3);
SELECT is(pg_temp.col(:p), 'yellow: temperature 37.3 °C or higher', 'rule 9: temperature');
SELECT healthpass.declare_health(:p, false, false, temperature => 37.2);
SELECT is(pg_temp.col(:p), 'green: declaration in force and no risk found', 'a new declaration with 37.2 °C is green');
SELECT pg_temp.np() AS p \gset
SELECT healthpass.declare_health(:p, false, true);
SELECT is(pg_temp.col(:p), 'yellow: declared contact with a case in the last 14 days', 'rule 10: contact history');

-- rule 7: risk areas, declared and lifted
SELECT pg_temp.np() AS pa \gset
SELECT healthpass.declare_health(:pa, false, false, ARRAY['广东省深圳市南山区粤海街道', '澳门']);
SELECT pg_temp.np() AS pb \gset
SELECT healthpass.declare_health(:pb, false, false, ARRAY['广东省广州市']);
SELECT is(pg_temp.col(:pa), 'green: declaration in force and no risk found', 'travel alone is not a risk');
SELECT healthpass.declare_risk_area('广东省深圳市南山区') AS area \gset
SELECT quote_nullable((SELECT colour::text FROM healthpass.colour_current WHERE person_id = :pa)) AS got \gset
SELECT is(:got::text, 'yellow',
          'declaring an area re-colours the people who travelled there at once');
SELECT is(pg_temp.col(:pa), 'yellow: travelled through a risk area in the last 14 days', 'rule 7: a place inside a risk area');
SELECT is(pg_temp.col(:pb), 'green: declaration in force and no risk found', 'other places are not affected');
SELECT pg_temp.np() AS pc \gset
SELECT healthpass.declare_health(:pc, false, false, ARRAY['广东省深圳市南山区']);
SELECT is(pg_temp.col(:pc), 'yellow: travelled through a risk area in the last 14 days', 'a later declaration meets the area too');
SELECT healthpass.lift_risk_area(:area);
SELECT quote_nullable((SELECT colour::text FROM healthpass.colour_current WHERE person_id = :pa)) AS got \gset
SELECT is(:got::text, 'green',
          'lifting the area re-colours them back at once');

-- rule 11: an expired declaration (valid for one second here)
SELECT pg_temp.np() AS pe \gset
INSERT INTO healthpass.health_declaration (person_id, valid_until, fever_today, contact_14d)
VALUES (:pe, now() + interval '1 second', false, false) RETURNING valid_until AS pe_until \gset
SELECT is(pg_temp.col(:pe), 'green: declaration in force and no risk found', 'green while the declaration is valid');
SELECT quote_nullable((SELECT recheck_at FROM healthpass.colour_current WHERE person_id = :pe)) AS got \gset
SELECT is(:got::timestamptz, :'pe_until'::timestamptz,
          're-checked when the declaration lapses');
SELECT pg_sleep(1.2);
SELECT is((SELECT colour::text || ':' || source FROM healthpass.colour_status(:pe)), 'yellow:computed',
          'after it lapses, a read computes yellow on the spot');
SELECT quote_nullable((SELECT colour::text FROM healthpass.colour_current WHERE person_id = :pe)) AS got \gset
SELECT is(:got::text, 'green', 'nothing was written by that read');
SELECT ok(healthpass.colour_tick() >= 1, 'the tick materialises due changes');
SELECT quote_nullable((SELECT colour || '@' || since FROM healthpass.colour_current WHERE person_id = :pe)) AS got \gset
SELECT is(:got::text,
          'yellow@' || :'pe_until'::timestamptz, 'rule 11: expired, yellow from the exact instant it lapsed');
SELECT is((SELECT colour::text || ':' || reasons[1] FROM healthpass.colour_status(:pe)),
          'yellow:health declaration expired: declare again', 'the reason says to declare again');

-- worst colour wins, reasons in priority order
SELECT pg_temp.np() AS p \gset
SELECT healthpass.declare_health(:p, true, true, temperature => 38.0);
SELECT is(pg_temp.col(:p),
          'yellow: declared fever or symptoms today | temperature 37.3 °C or higher | declared contact with a case in the last 14 days',
          'several yellow rules: all their reasons, by priority');
SELECT healthpass.set_risk_mark(:p, 'close_contact');
SELECT healthpass.set_risk_mark(:p, 'confirmed');
SELECT is(pg_temp.col(:p), 'red: confirmed case | close contact of a case', 'red beats yellow; only the red reasons');
SELECT pg_temp.np() AS p \gset
SELECT healthpass.set_risk_mark(:p, 'secondary_contact');
SELECT is(pg_temp.col(:p), 'yellow: secondary contact', 'yellow beats light green (no declaration)');

-- marks: a future window starts on its own; lifting ends it
SELECT pg_temp.green() AS pm \gset
SELECT healthpass.set_risk_mark(:pm, 'suspected', now() + interval '1 second') AS mk \gset
SELECT is(pg_temp.col(:pm), 'green: declaration in force and no risk found', 'a future mark is not active yet');
SELECT pg_sleep(1.2);
SELECT is(pg_temp.col(:pm), 'red: suspected case', 'it starts on its own (materialised on read)');
SELECT healthpass.lift_risk_mark(:pm, :mk, 'test negative');
SELECT is(pg_temp.col(:pm), 'green: declaration in force and no risk found', 'lifting the mark ends it');
SELECT is((SELECT string_agg(colour::text, ',' ORDER BY since) FROM healthpass.colour_history(:pm)),
          'green,red,green', 'every change is in the history (registered and declared at one instant: no light green period)');
SELECT quote_nullable((SELECT valid_from FROM healthpass.risk_mark WHERE person_id = :pm)) AS want \gset
SELECT is((SELECT since FROM healthpass.colour_history(:pm) WHERE colour = 'red'), :want::timestamptz,
          'the red period began exactly when the mark did');

-- history at an instant ---------------------------------------------------------
SELECT pg_temp.np() AS ph \gset
UPDATE healthpass.person SET created_at = now() - interval '2 days' WHERE person_id = :ph RETURNING created_at AS ph_reg \gset
SELECT declared_at AS ph_decl FROM healthpass.declare_health(:ph, false, false) \gset
SELECT healthpass.set_risk_mark(:ph, 'close_contact') AS phm \gset
SELECT recorded_at AS ph_mark FROM healthpass.risk_mark WHERE person_id = :ph \gset
SELECT is(healthpass.colour_at(:ph, :'ph_reg'::timestamptz - interval '1 second'), NULL, 'no colour before registration');
SELECT is(healthpass.colour_at(:ph, :'ph_reg'), 'light_green', 'light green from the instant of registration');
SELECT is(healthpass.colour_at(:ph, :'ph_reg'::timestamptz + interval '1 day'), 'light_green', 'light green a day later');
SELECT is(healthpass.colour_at(:ph, :'ph_decl'::timestamptz - interval '1 microsecond'), 'light_green',
          'light green up to the microsecond before the declaration');
SELECT is(healthpass.colour_at(:ph, :'ph_decl'), 'green', 'green from the instant of the declaration');
SELECT is((SELECT source || ':' || since || ':' || until FROM healthpass.colour_status(:ph, :'ph_decl')),
          'history:' || :'ph_decl'::timestamptz || ':' || :'ph_mark'::timestamptz, 'answered from the history, with its period');
SELECT is(healthpass.colour_at(:ph, :'ph_mark'), 'red', 'red from the mark on');
SELECT throws_ok(format($$INSERT INTO healthpass.colour_history VALUES (%s, %L, %L, 'green', '{}', 1)$$,
                        :ph, :'ph_reg'::timestamptz + interval '1 hour', :'ph_decl'::timestamptz + interval '1 hour'),
    '23P01', 'conflicting key value violates exclusion constraint "colour_history_no_overlap"',
    'the exclusion constraint refuses overlapping periods');
SELECT throws_ok(format($$INSERT INTO healthpass.colour_history VALUES (%s, %L, %L, 'green', '{}', 1)$$,
                        :ph, :'ph_reg'::timestamptz - interval '1 hour', :'ph_reg'::timestamptz + interval '1 microsecond'),
    '23P01', 'conflicting key value violates exclusion constraint "colour_history_no_overlap"',
    'an overlap of one microsecond is refused');
SELECT lives_ok(format($$INSERT INTO healthpass.colour_history VALUES (%s, %L, %L, 'green', '{}', 1)$$,
                       :ph, :'ph_reg'::timestamptz - interval '1 hour', :'ph_reg'),
    'an adjacent period is not an overlap');

-- rule changes -------------------------------------------------------------------
SELECT pg_temp.green() AS pr \gset
SELECT healthpass.record_test_result(:pr, 'Lab', 'P1', now() - interval '1 hour', 'pending');
SELECT is(pg_temp.col(:pr), 'green: declaration in force and no risk found', 'pending alone is green by default');
SELECT healthpass.add_colour_rule('yellow', 'nucleic-acid result pending',
                                  '{"fact": "latest_result", "op": "=", "value": "pending"}', 105) AS r1 \gset
SELECT activated_at AS v2 FROM healthpass.colour_rulesets() ORDER BY version DESC LIMIT 1 \gset
SELECT is((SELECT colour::text || ':' || source FROM healthpass.colour_status(:pr)), 'yellow:computed',
          'the new rule applies at once, before any re-colouring');
SELECT is((SELECT state FROM healthpass.recolour_progress()), 'queued', 'the rule change queued a job');
SELECT ok(healthpass.recolour_all() >= 1, 'the job re-colours everyone');
SELECT count(*) AS everyone FROM healthpass.person \gset
SELECT is((SELECT state || ':' || done || '/' || total FROM healthpass.recolour_progress()),
          'done:' || :everyone || '/' || :everyone,
          'progress shows everyone done');
SELECT quote_nullable((SELECT colour || '@' || since FROM healthpass.colour_current WHERE person_id = :pr)) AS got \gset
SELECT is(:got::text,
          'yellow@' || :'v2'::timestamptz, 'the change is dated at the instant the rule came into force');
SELECT is(healthpass.colour_at(:pr, :'v2'::timestamptz - interval '1 microsecond'), 'green', 'green just before');
SELECT healthpass.replace_colour_rule(:r1, 'red', 'nucleic-acid result pending (strict)',
                                      '{"fact": "latest_result", "op": "=", "value": "pending"}', 105) AS r2 \gset
SELECT is(pg_temp.col(:pr), 'red: nucleic-acid result pending (strict)', 'a replaced rule applies on the next read');
SELECT healthpass.retire_colour_rule(:r2);
SELECT is(pg_temp.col(:pr), 'green: declaration in force and no risk found', 'a retired rule no longer applies');
SELECT is((SELECT count(*)::integer FROM healthpass.colour_rulesets()), 4, 'each change is a rule set version');
SELECT is((SELECT string_agg(rule_id::text, ',') FROM healthpass.colour_rules(2) WHERE rule_id > 13), :'r1', 'older versions stay readable');
SELECT is((SELECT string_agg(reasons[1], ',' ORDER BY since) FROM healthpass.colour_history(:pr) WHERE since >= :'v2'),
          'nucleic-acid result pending,nucleic-acid result pending (strict),declaration in force and no risk found',
          'history keeps the reasons of the rules that were in force');
SELECT ok(healthpass.recolour_all() >= 0, 'the last job runs to the end');
SELECT is((SELECT state || ':' || finished FROM healthpass.recolour_step((SELECT max(job_id) FROM healthpass.recolour_progress()))),
          'done:true', 'a finished job has nothing more to do');

-- refusals
SELECT throws_ok(format($$SELECT healthpass.colour_at(%s, '2999-01-01 00:00:00+00')$$, :p0),
    '22008', 'instant "2999-01-01 00:00:00+00" is not valid', 'no colours for the future');
SELECT throws_ok($$SELECT * FROM healthpass.colour_status(999999)$$,
    'P0002', 'person 999999 does not exist', 'unknown person');
SELECT throws_ok(format($$SELECT * FROM healthpass.colour_history(%s, 'infinity', '-infinity')$$, :p0),
    '22008', 'period "infinity" to "-infinity" is not valid', 'a period starts before it ends');
SELECT throws_ok($$SELECT healthpass.colour_tick(0)$$, '22023', 'max_people 0 is out of range', 'tick size');
SELECT throws_ok($$SELECT healthpass.recolour_start(10)$$, '22023', 'chunk size 10 is out of range', 'chunk size');
SELECT throws_ok($$SELECT * FROM healthpass.recolour_step(999999)$$,
    'P0002', 're-colouring job 999999 does not exist', 'unknown job');

-- without any matching rule the colour is yellow (never green by accident)
SELECT healthpass.retire_colour_rule(12);
SELECT healthpass.retire_colour_rule(13);
SELECT is(pg_temp.col(pg_temp.np()), 'yellow: no colour rule applies: check the person', 'a gap in the rules gives yellow');

-- On one node the periods are kept apart by the exclusion constraint, which
-- takes no lock of its own per row: a bulk re-colouring writes tens of
-- thousands of periods in one transaction (a row trigger taking an advisory
-- lock per person ran out of lock slots there, test/bench/50_recolour.sh).
-- On a Citus cluster (this suite also runs distributed: make test-citus)
-- distribute() has swapped the constraint for the same-person row trigger.
SELECT current_setting('citus.version', true) IS NOT NULL AS on_citus \gset
SELECT is((SELECT contype::text FROM pg_constraint
            WHERE conrelid = 'healthpass.colour_history'::regclass AND conname = 'colour_history_no_overlap'),
          CASE WHEN :'on_citus'::boolean THEN NULL ELSE 'x' END,
          'colour periods are kept apart by an exclusion constraint (on a cluster, not: by the trigger)');
SELECT is((SELECT string_agg(tgname::text, ',') FROM pg_trigger
            WHERE tgrelid = 'healthpass.colour_history'::regclass AND NOT tgisinternal),
          CASE WHEN :'on_citus'::boolean THEN 'colour_history_no_overlap' END,
          'no row trigger on the colour history (the cluster''s guard is added by distribute() only)');
SELECT * FROM finish();
