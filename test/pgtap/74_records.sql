-- entry-exit record certificates and the HK contactless e-Channel code
-- (issue 12 items 7 and 8; seed 003)
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(131);
-- A table is read in a statement of its own (\gset), then compared: on Citus a
-- statement reading one shard runs whole on a worker, where this session's
-- pgTAP plan does not exist.

-- SQLSTATE and detail of a statement's error
CREATE FUNCTION pg_temp.failure(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN sqlstate || ': ' || d;
END
$$;

-- a mainland resident who went to Hong Kong two days ago and came back yesterday
SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明') AS m \gset
SELECT healthpass.record_realname_result(:m, 1, 'approved') \gset
SELECT healthpass.record_travel_document(:m, 'hk_macau_permit', 'C12345678', '广东省公安厅出入境管理局',
                                         current_date - 100, current_date + 3000, '44') AS md \gset
SELECT healthpass.record_endorsement(:m, :md, 'HK', 'S', 'multiple', current_date - 1, current_date + 300, 14) \gset
SELECT crossing_id AS x1 FROM healthpass.cross_border('shenzhen_bay', 'exit', 'manual', 'hk_macau_permit', 'C12345678',
                                                      crossed_at => now() - interval '2 days') \gset
SELECT crossing_id AS x2 FROM healthpass.cross_border('shenzhen_bay', 'entry', 'manual', 'hk_macau_permit', 'C12345678',
                                                      crossed_at => now() - interval '1 day') \gset
SELECT floor(extract(epoch FROM crossed_at))::bigint AS t1 FROM healthpass.crossing WHERE crossing_id = :x1 \gset
SELECT floor(extract(epoch FROM crossed_at))::bigint AS t2 FROM healthpass.crossing WHERE crossing_id = :x2 \gset
-- a Hong Kong resident
SELECT healthpass.register_person('hkid', 'A123456(3)', 'CHAN Tai Man', birth_date => '1980-05-01', nationality => 'HKG') AS h \gset

-- the record certificate of a period (item 7) ---------------------------------------
SELECT healthpass.crossing_record(:m, now() - interval '30 days', now()) AS rec \gset
SELECT is((SELECT valid::text || ' ' || kind || ' ' || (expires_at = issued_at + interval '1 year') FROM healthpass.verify_token(:'rec')),
          'true record true', 'a certificate is a valid HP1 token of kind record, a year long');
SELECT is((SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(healthpass.pass_body(:'rec'::healthpass.pass)) k),
          'doc,id,k,name,per,ref,v,x', 'its body: person_claims, the period and the crossings, compact keys');
SELECT quote_nullable((SELECT b->>'name' || ' ' || (b->>'doc') || ' ' || (b->>'id') || ' ' || ((b->>'ref')::uuid = p.public_ref)
             FROM (SELECT healthpass.pass_body(:'rec'::healthpass.pass) b) x, healthpass.person p WHERE p.person_id = :m)) AS got \gset
SELECT is(:got::text,
          '王*明 cn_resident_id 4401**********1239 true', 'the name and the identity card number masked, the opaque reference');
SELECT is(healthpass.pass_body(:'rec'::healthpass.pass)->'x',
          format('[{"c": "manual", "d": "exit", "p": "shenzhen_bay", "r": "HK", "t": %s}, {"c": "manual", "d": "entry", "p": "shenzhen_bay", "r": "HK", "t": %s}]',
                 :t1, :t2)::jsonb,
          'the crossings, oldest first: channel, direction, port, region, instant in epoch seconds');
SELECT is((SELECT (b->'per'->>1)::bigint - (b->'per'->>0)::bigint FROM (SELECT healthpass.pass_body(:'rec'::healthpass.pass) b) x),
          30 * 86400::bigint, 'the period, in whole epoch seconds');
SELECT is((SELECT (healthpass.pass_body(:'rec'::healthpass.pass)->'per'->>1)::bigint <= extract(epoch FROM now())), true,
          'ending by now');
SELECT is((SELECT body FROM healthpass.verify_token(:'rec')), healthpass.pass_body(:'rec'::healthpass.pass),
          'verify_token shows the same body');
SELECT is((SELECT strpos(b, '王小明') + strpos(b, '440104199003071239') + strpos(b, 'C12345678') + strpos(b, '小明')
             FROM (SELECT healthpass.pass_body(:'rec'::healthpass.pass)::text b) x), 0,
          'no full name, identity number or permit number in the body');
SELECT quote_nullable((SELECT kind || ' ' || (expires_at = healthpass.pass_expires_at(:'rec'::healthpass.pass)) FROM healthpass.code_issued
            WHERE person_id = :m AND token_id = healthpass.pass_token_id(:'rec'::healthpass.pass))) AS got \gset
SELECT is(:got::text,
          'record true', 'in the person''s ledger of live codes');
SELECT quote_nullable((SELECT crossing_ids::text || ' ' || (period_to - period_from) || ' ' || (port_code IS NULL)
             FROM healthpass.record_certificate WHERE person_id = :m AND token_id = healthpass.pass_token_id(:'rec'::healthpass.pass))) AS got \gset
SELECT is(:got::text,
          format('{%s,%s} 30 days true', :x1, :x2), 'and the administration keeps its copy: period and crossings');

-- what a counter sees
SELECT is((SELECT valid::text || ' ' || coalesce(reason, '-') || ' ' || issuer || ' ' || name_masked || ' ' || doc_kind || ' ' || id_masked
                  || ' ' || (period_to - period_from) || ' ' || coalesce(latest_at_port, '-') || ' ' || jsonb_array_length(crossings)
             FROM healthpass.verify_record_certificate(:'rec')),
          'true - CN-44 王*明 cn_resident_id 4401**********1239 30 days - 2', 'verify_record_certificate: verdict, masked identity, period');
SELECT is((SELECT crossings->0 FROM healthpass.verify_record_certificate(:'rec')),
          jsonb_build_object('crossed_at', to_char(to_timestamp(:t1) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS"+08:00"'),
                             'port_code', 'shenzhen_bay', 'port_name', '深圳湾口岸', 'direction', 'exit', 'region', 'HK',
                             'channel', 'manual'),
          'each crossing in China Standard Time with the port''s name');
SELECT is((SELECT string_agg(c->>'direction', ',') FROM healthpass.verify_record_certificate(:'rec'), jsonb_array_elements(crossings) c),
          'exit,entry', 'oldest first');

-- periods
SELECT is(jsonb_array_length(healthpass.pass_body(healthpass.crossing_record(:m, now() - interval '36 hours', now())::healthpass.pass)->'x'),
          1, 'a shorter period lists only its crossings');
SELECT is(healthpass.pass_body(healthpass.crossing_record(:m, now() - interval '30 days', now() - interval '20 days')::healthpass.pass)->'x',
          '[]'::jsonb, 'a period without crossings is certified as such');
SELECT is(healthpass.pass_body(healthpass.crossing_record(:m, to_timestamp(:t1 + 0.75), to_timestamp(:t2 + 0.25))::healthpass.pass)->'per',
          format('[%s, %s]', :t1, :t2)::jsonb, 'instants are cut to whole seconds');
SELECT is(jsonb_array_length(healthpass.pass_body(healthpass.crossing_record(:m, to_timestamp(:t1), to_timestamp(:t2))::healthpass.pass)->'x'),
          1, 'a period includes its start and excludes its end');
SELECT is((SELECT valid::text || ' ' || period_from || ' ' || jsonb_array_length(crossings)
             FROM healthpass.verify_record_certificate(healthpass.crossing_record(:m, '1960-01-01 00:00+08', now()))),
          'true ' || '1960-01-01 00:00+08'::timestamptz || ' 2', 'a period may start before 1970 (a negative epoch)');
SELECT throws_ok(format($$SELECT healthpass.crossing_record(%s, now(), now() - interval '1 day')$$, :m),
    '22023', NULL, 'a period ends after it starts');
SELECT throws_ok(format($$SELECT healthpass.crossing_record(%s, '2026-01-01 10:00:00.2+08', '2026-01-01 10:00:00.7+08')$$, :m),
    '22023', 'period from 2026-01-01 10:00 to 2026-01-01 10:00 is not valid', 'a period lasts at least a second');
SELECT throws_ok(format($$SELECT healthpass.crossing_record(%s, now() - interval '1 day', now() + interval '1 day')$$, :m),
    '22008', NULL, 'a period ends by now');
SELECT throws_ok(format($$SELECT healthpass.crossing_record(%s, '-infinity', now())$$, :m),
    '22008', 'period start "-infinity" is not a point in time', 'a period starts at an instant');
SELECT throws_ok(format($$SELECT healthpass.crossing_record(%s, NULL, now())$$, :m),
    '22004', 'period start is missing', 'a period needs a start');
SELECT throws_ok(format($$SELECT healthpass.crossing_record(%s, now() - interval '1 day', NULL)$$, :m),
    '22004', 'period end is missing', 'and an end');
SELECT throws_ok($$SELECT healthpass.crossing_record(NULL, now() - interval '1 day', now())$$,
    '22004', 'person id is missing', 'a certificate needs a person');
SELECT throws_ok($$SELECT healthpass.crossing_record(999999, now() - interval '1 day', now())$$,
    'P0002', 'person 999999 does not exist', 'an unknown person');
SELECT throws_ok(format($$SELECT healthpass.crossing_record(%s, now() - interval '1 day', now())$$, :h),
    '23514', 'document kind "hkid" cannot hold an entry-exit record certificate', 'only mainland residents get certificates');
SELECT is(pg_temp.failure(format($$SELECT healthpass.crossing_record(%s, now() - interval '1 day', now())$$, :h)),
    '23514: Entry-exit record certificates are for mainland residents, identified by a resident identity card (seed 003).',
    'the refusal says why');
SELECT healthpass.register_person('cn_resident_id', '440305198805121050', '赵立新') AS rej \gset
SELECT healthpass.record_realname_result(:rej, 1, 'rejected', 'the name does not match the ID number') \gset
SELECT throws_ok(format($$SELECT healthpass.crossing_record(%s, now() - interval '1 day', now())$$, :rej),
    '55000', format('real-name verification of person %s was rejected', :rej), 'a rejected person gets no certificate');

-- at most 40 crossings -------------------------------------------------------------------
SELECT healthpass.register_person('cn_resident_id', '440305198805121130', '欧阳建国') AS lim \gset
SELECT healthpass.record_realname_result(:lim, 1, 'approved') \gset
SELECT healthpass.record_travel_document(:lim, 'hk_macau_permit', 'C34567890', '广东省公安厅出入境管理局',
                                         current_date - 400, current_date + 3000, '44') AS ld \gset
SELECT healthpass.record_endorsement(:lim, :ld, 'HK', 'S', 'multiple', current_date - 400, current_date + 300, 14) \gset
SELECT healthpass.record_endorsement(:lim, :ld, 'MO', 'S', 'multiple', current_date - 400, current_date + 300, 14) \gset
SELECT healthpass.give_biometric_consent(:lim) \gset
SELECT healthpass.enrol_biometrics(:lim, 'shenzhen_bay_collection', 'officer 7', 'tmpl:0000000042') \gset
UPDATE healthpass.biometric_enrolment SET enrolled_at = now() - interval '1 year' WHERE person_id = :lim;
-- 41 crossings over 205 days: nine ports, both regions, four channels, odd seconds
SELECT is((SELECT count(*) FILTER (WHERE c.passed)
             FROM generate_series(1, 41) i,
                  LATERAL (SELECT CASE WHEN i % 4 IN (1, 2) THEN 'HK' ELSE 'MO' END AS r) g,
                  LATERAL healthpass.cross_border(
                      CASE g.r WHEN 'HK' THEN (ARRAY['shenzhen_bay', 'luohu', 'futian', 'huanggang', 'lianhuashan', 'hzmb_zhuhai'])[1 + i % 6]
                               ELSE (ARRAY['gongbei', 'hengqin', 'qingmao', 'hzmb_zhuhai'])[1 + i % 4] END,
                      CASE WHEN i % 2 = 1 THEN 'exit' ELSE 'entry' END,
                      (ARRAY['manual', 'e_channel', 'self_service'])[1 + (i / 2) % 3], 'hk_macau_permit', 'C34567890',
                      region => g.r, crossed_at => now() - interval '210 days' + i * interval '5 days' + (i * 7919 % 86400) * interval '1 second') c),
          41::bigint, 'a frequent traveller crossed 41 times');
SELECT min(crossed_at) AS lf, max(crossed_at) AS ll FROM healthpass.crossing WHERE person_id = :lim \gset
SELECT throws_ok(format($$SELECT healthpass.crossing_record(%s, %L, now())$$, :lim, :'lf'),
    '54000', NULL, 'a period holding more than 40 crossings is refused');
SELECT is(pg_temp.failure(format($$SELECT healthpass.crossing_record(%s, %L, now())$$, :lim, :'lf')),
    '54000: A certificate lists at most 40 crossings: shorten the period and ask for several certificates.',
    'with a detail telling to shorten the period');
SELECT healthpass.crossing_record(:lim, :'lf', :'ll') AS rec40 \gset
SELECT is(jsonb_array_length(healthpass.pass_body(:'rec40'::healthpass.pass)->'x'), 40, 'a period of 40 crossings is certified');
SELECT cmp_ok(length(:'rec40'), '<', 1200, 'its token stays under 1200 characters');
SELECT cmp_ok((SELECT (get_byte(q, 16) * 16777216 + get_byte(q, 17) * 65536 + get_byte(q, 18) * 256 + get_byte(q, 19) - 17) / 4
                 FROM (SELECT healthpass.qr_png(:'rec40', 'M', 1, 0) q) z), '<=', 22,
          'and fits a QR code of version 22 at level M (105 modules)');
SELECT is((SELECT count(*) FROM healthpass.verify_record_certificate(:'rec40') v, jsonb_array_elements(v.crossings) c
            WHERE v.valid AND c->>'port_name' IS NOT NULL), 40::bigint, 'and verifies with its 40 crossings');

-- the kiosk print ------------------------------------------------------------------------
SELECT healthpass.latest_crossing_record(:m, 'shenzhen_bay') AS kiosk \gset
SELECT is((SELECT kind || ' ' || (b->>'at') || ' ' || (b ? 'per') || ' ' || (b->'x')::text
             FROM healthpass.verify_token(:'kiosk') v, LATERAL (SELECT v.body AS b) x),
          format('record shenzhen_bay false [{"c": "manual", "d": "entry", "p": "shenzhen_bay", "r": "HK", "t": %s}]', :t2),
          'the kiosk prints the latest crossing at its port: same kind, one crossing, the port instead of a period');
SELECT is((SELECT valid::text || ' ' || latest_at_port || ' ' || (period_from IS NULL) || ' ' || (crossings->0->>'direction')
             FROM healthpass.verify_record_certificate(:'kiosk')),
          'true shenzhen_bay true entry', 'and verifies');
SELECT quote_nullable((SELECT crossing_ids::text || ' ' || port_code FROM healthpass.record_certificate
            WHERE person_id = :m AND token_id = healthpass.pass_token_id(:'kiosk'::healthpass.pass))) AS got \gset
SELECT is(:got::text,
          format('{%s} shenzhen_bay', :x2), 'the copy names the port and the crossing');
SELECT throws_ok(format($$SELECT healthpass.latest_crossing_record(%s, 'luohu')$$, :m),
    'P0002', format('person %s has no crossing at port "luohu"', :m), 'no crossing at the port: P0002');
SELECT throws_ok(format($$SELECT healthpass.latest_crossing_record(%s, 'atlantis')$$, :m),
    '22023', 'port "atlantis" does not exist', 'an unknown port');
SELECT throws_ok(format($$SELECT healthpass.latest_crossing_record(%s, NULL)$$, :m),
    '22023', 'port "NULL" does not exist', 'a missing port');
SELECT throws_ok($$SELECT healthpass.latest_crossing_record(NULL, 'luohu')$$,
    '22004', 'person id is missing', 'a missing person');
SELECT throws_ok(format($$SELECT healthpass.latest_crossing_record(%s, 'luohu')$$, :h),
    '23514', 'document kind "hkid" cannot hold an entry-exit record certificate', 'only for mainland residents');

-- the printable certificate: SVG -----------------------------------------------------------
SELECT healthpass.record_certificate_svg(:m, now() - interval '30 days', now()) AS svg \gset
SELECT ok(xml_is_well_formed_document(:'svg'), 'the certificate is a well-formed SVG document');
SELECT ok(strpos(:'svg', '>出入境记录凭证</text>') > 0 AND strpos(:'svg', '>Entry-exit record</text>') > 0
          AND strpos(:'svg', '<title>出入境记录凭证 Entry-exit record</title>') > 0, 'with its title');
SELECT ok(strpos(:'svg', '姓名 Name: 王*明') > 0 AND strpos(:'svg', '证件 Document: 居民身份证 4401**********1239') > 0,
          'the masked name and document');
SELECT ok(:'svg' ~ format('期间 Period: %s [0-2][0-9]:[0-5][0-9] 至 %s [0-2][0-9]:[0-5][0-9] \(北京时间\)',
                          to_char((now() - interval '30 days') AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'),
                          to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')), 'the period, in China Standard Time');
SELECT is((SELECT string_agg(m[1] || '|' || m[2] || '|' || m[3] || '|' || m[4], ';')
             FROM regexp_matches(:'svg', '<text y="[0-9.]+"><tspan x="15">([^<]*)</tspan><tspan x="52">([^<]*)</tspan><tspan x="100">([^<]*)</tspan><tspan x="130">([^<]*)</tspan></text>', 'g') m),
          format('%s|深圳湾口岸|出境 · 香港|人工通道;%s|深圳湾口岸|入境 · 香港|人工通道',
                 to_char(to_timestamp(:t1) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI'),
                 to_char(to_timestamp(:t2) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')),
          'a table of the crossings: time in China Standard Time, port, direction, channel');
SELECT ok(strpos(:'svg', '<path ') > 0 AND strpos(:'svg', 'width="210mm"') > 0, 'the QR code drawn on an A4-wide page');
SELECT is(strpos(:'svg', '王小明') + strpos(:'svg', '440104199003071239') + strpos(:'svg', 'C12345678'), 0,
          'no full name or number in the SVG');
SELECT ok(strpos(healthpass.record_certificate_svg(:m, now() - interval '30 days', now() - interval '20 days'),
                 '本期间无出入境记录 No crossings in this period') > 0, 'a period without crossings says so');
SELECT healthpass.latest_crossing_svg(:m, 'shenzhen_bay') AS ksvg \gset
SELECT ok(xml_is_well_formed_document(:'ksvg') AND strpos(:'ksvg', '口岸 Port: 深圳湾口岸 最近一次出入境记录') > 0
          AND strpos(:'ksvg', '入境 · 香港') > 0 AND strpos(:'ksvg', '出境 · 香港') = 0,
          'the kiosk print as SVG: the port and its latest crossing');
SELECT throws_ok(format($$SELECT healthpass.latest_crossing_svg(%s, 'luohu')$$, :m), 'P0002', NULL, 'nothing to print');
SELECT throws_ok(format($$SELECT healthpass.record_certificate_svg(%s, now(), NULL)$$, :m), '22004', 'period end is missing',
    'the SVG checks the period too');
SELECT count(*) AS n FROM healthpass.record_certificate WHERE person_id = :m \gset
SELECT is(:n::bigint, 10::bigint,
          'every certificate issued, printed or not, is kept');

-- XML escaping: a name with an apostrophe, a port name with markup
SELECT healthpass.register_person('cn_resident_id', '440305198805121210', 'D''Arcy Wang') AS da \gset
SELECT healthpass.record_realname_result(:da, 1, 'approved') \gset
SELECT healthpass.record_travel_document(:da, 'hk_macau_permit', 'C23456789', '广东省公安厅出入境管理局',
                                         current_date - 100, current_date + 3000, '44') AS dd \gset
SELECT healthpass.record_endorsement(:da, :dd, 'HK', 'S', 'multiple', current_date - 1, current_date + 300, 14) \gset
INSERT INTO healthpass.port (port_code, name, name_zh, city, regions)
VALUES ('test_port', 'Test <Port> & "Co"', '测试<口岸>&"引号''</text>', '深圳市', ARRAY['HK']);
SELECT passed FROM healthpass.cross_border('test_port', 'exit', 'manual', 'hk_macau_permit', 'C23456789',
                                           crossed_at => now() - interval '1 hour') \gset
SELECT healthpass.record_certificate_svg(:da, now() - interval '1 day', now()) AS esvg \gset
SELECT ok(xml_is_well_formed_document(:'esvg'), 'a certificate with markup in its texts is still well-formed');
SELECT ok(strpos(:'esvg', '<tspan x="52">测试&lt;口岸&gt;&amp;&quot;引号&apos;&lt;/text&gt;</tspan>') > 0,
          'the port name is escaped');
SELECT ok(strpos(:'esvg', '姓名 Name: D&apos;A*** W***') > 0 AND strpos(:'esvg', 'D''A***') = 0, 'the masked name is escaped');
SELECT ok(strpos(healthpass.latest_crossing_svg(:da, 'test_port'), '口岸 Port: 测试&lt;口岸&gt;&amp;&quot;引号&apos;&lt;/text&gt; 最近一次出入境记录') > 0,
          'and in the kiosk print');

-- the printable certificate: PNG -----------------------------------------------------------
SELECT healthpass.record_certificate_png(:m, now() - interval '30 days', now()) AS png \gset
SELECT is(substr(:'png'::bytea, 1, 8), '\x89504e470d0a1a0a'::bytea, 'the PNG certificate is a PNG image');
SELECT ok(position(convert_to('iTXtTitle', 'UTF8') || '\x0000000000'::bytea || convert_to('出入境记录凭证 Entry-exit record', 'UTF8')
                   IN :'png'::bytea) > 0, 'with its title in a text chunk');
SELECT ok(position(convert_to('iTXtDescription', 'UTF8') || '\x0000000000'::bytea || convert_to('王*明 · 居民身份证 4401**********1239 · ', 'UTF8')
                   IN :'png'::bytea) > 0, 'and the masked name, document and period');
SELECT is(position(convert_to('王小明', 'UTF8') IN :'png'::bytea) + position(convert_to('440104199003071239', 'UTF8') IN :'png'::bytea)
          + position(convert_to('C12345678', 'UTF8') IN :'png'::bytea), 0, 'no full name or number in the PNG');
SELECT ok(length(healthpass.record_certificate_png(:m, now() - interval '30 days', now(), 2)) < length(:'png'::bytea),
          'a module size may be chosen');
SELECT throws_ok(format($$SELECT healthpass.record_certificate_png(%s, now() - interval '1 day', now(), 0)$$, :m),
    '22023', 'module size 0 is out of range', 'a module size is checked');
SELECT healthpass.latest_crossing_png(:m, 'shenzhen_bay') AS kpng \gset
SELECT ok(substr(:'kpng'::bytea, 1, 8) = '\x89504e470d0a1a0a'::bytea
          AND position(convert_to('深圳湾口岸 最近一次出入境记录', 'UTF8') IN :'kpng'::bytea) > 0,
          'the kiosk print as PNG, the port in its description');
SELECT throws_ok(format($$SELECT healthpass.latest_crossing_png(%s, 'shenzhen_bay', NULL)$$, :m),
    '22023', 'module size NULL is out of range', 'a missing module size is refused');
SELECT throws_ok(format($$SELECT healthpass.latest_crossing_png(%s, 'shenzhen_bay')$$, :h),
    '23514', NULL, 'no PNG for a Hong Kong resident');

-- verifying: every refusal ---------------------------------------------------------------
SELECT is((SELECT valid::text || ' ' || reason || ' ' || coalesce(name_masked, '-') || ' ' || coalesce(crossings::text, '-')
             FROM healthpass.verify_record_certificate(healthpass.personal_code(:m))),
          'false wrong_kind - -', 'a personal code is not a certificate, and shows nothing');
SELECT is((SELECT valid::text || ' ' || reason FROM healthpass.verify_record_certificate('HP1:NOT-A-CERTIFICATE')),
          'false malformed', 'garbled text');
SELECT is((SELECT valid::text || ' ' || reason || ' ' || coalesce(name_masked, '-')
             FROM healthpass.verify_record_certificate(healthpass.issue_token('record',
                      '{"name": "王*明", "doc": "cn_resident_id", "id": "4401**********1239", "per": [2, 1], "x": []}', '1 day'))),
          'false malformed -', 'a record token whose period runs backwards');
SELECT is((SELECT valid::text || ' ' || reason
             FROM healthpass.verify_record_certificate(healthpass.issue_token('record',
                      '{"name": "王*明", "doc": "cn_resident_id", "id": "4401**********1239", "at": "luohu", "x": [{"t": 1, "p": "luohu", "d": "sideways", "r": "HK", "c": "manual"}]}', '1 day'))),
          'false malformed', 'a record token with a crossing of no direction');
SELECT is((SELECT valid::text || ' ' || reason
             FROM healthpass.verify_record_certificate(healthpass.issue_token('record',
                      '{"name": "王*明", "doc": "cn_resident_id", "id": "4401**********1239", "at": "luohu", "per": [1, 2], "x": []}', '1 day'))),
          'false malformed', 'a record token with both a period and a port');
SELECT throws_ok($$SELECT * FROM healthpass.verify_record_certificate(NULL)$$,
    '22004', 'record certificate is missing', 'a missing certificate');
-- (the key is made older than the expired certificate it signs)
UPDATE healthpass.signing_key SET not_before = now() - interval '3 years' WHERE secret_box IS NOT NULL AND status = 'active';
SELECT healthpass.issue_token_at('record', healthpass.pass_body(:'rec'::healthpass.pass) - 'k' - 'v',
                                 now() - interval '2 years', now() - interval '1 year', '\x00112233445566778899aabbccddeeff') AS old \gset
SELECT is((SELECT valid::text || ' ' || reason || ' ' || name_masked || ' ' || jsonb_array_length(crossings)
             FROM healthpass.verify_record_certificate(:'old')),
          'false expired 王*明 2', 'an expired certificate: named, its content still shown');
SELECT healthpass.revoke_pass(:'kiosk', 'printed by mistake') \gset
SELECT is((SELECT valid::text || ' ' || reason || ' ' || latest_at_port FROM healthpass.verify_record_certificate(:'kiosk')),
          'false revoked shenzhen_bay', 'a revoked certificate');
SELECT is((SELECT valid::text || ' ' || (reason IN ('malformed', 'bad_signature')) || ' ' || coalesce(name_masked, '-')
             FROM healthpass.verify_record_certificate(overlay(:'rec' PLACING CASE WHEN substr(:'rec', 40, 1) = 'A' THEN 'B' ELSE 'A' END FROM 40 FOR 1))),
          'false true -', 'a changed character is refused, and shows nothing');
SELECT is(healthpass.edit_person(:m, '{"name": "王晓明"}'), 3, 'the person''s name is edited');
SELECT is((SELECT reason FROM healthpass.verify_record_certificate(:'rec')), 'revoked',
          'which revokes the certificates showing the old masked name (the ledger of live codes)');
SELECT is((SELECT valid::text || ' ' || name_masked
             FROM healthpass.verify_record_certificate(healthpass.crossing_record(:m, now() - interval '30 days', now()))),
          'true 王*明', 'a new certificate is issued');

-- the contactless e-Channel code (item 8) --------------------------------------------------------
SELECT healthpass.hk_contactless_code(:h, 'iam_smart') AS cc \gset
SELECT is((SELECT valid::text || ' ' || kind || ' ' || (expires_at - issued_at) FROM healthpass.verify_token(:'cc')),
          'true crossing 00:10:00', 'a contactless code: HP1 kind crossing, valid for 10 minutes');
SELECT is(healthpass.pass_body(:'cc'::healthpass.pass) - 'k' - 'v', healthpass_internal.person_claims(:h),
          'its body: the reference, masked name, document kind and masked HKID');
SELECT is((SELECT b->>'name' || ' ' || (b->>'doc') || ' ' || (b->>'id') FROM (SELECT healthpass.pass_body(:'cc'::healthpass.pass) b) x),
          'C*** T** M** hkid A1*****(3)', 'masked');
SELECT is((SELECT strpos(b, 'CHAN') + strpos(b, 'Tai Man') + strpos(b, 'A123456') + strpos(b, 'A1234563')
             FROM (SELECT healthpass.pass_body(:'cc'::healthpass.pass)::text b) x), 0, 'no full name or HKID in the body');
SELECT quote_nullable((SELECT authenticated_via || ' ' || (expires_at - issued_at) FROM healthpass.contactless_code
            WHERE person_id = :h AND token_id = healthpass.pass_token_id(:'cc'::healthpass.pass))) AS got \gset
SELECT is(:got::text,
          'iam_smart 00:10:00', 'the authentication is recorded');
SELECT quote_nullable((SELECT kind FROM healthpass.code_issued WHERE person_id = :h AND token_id = healthpass.pass_token_id(:'cc'::healthpass.pass))) AS got \gset
SELECT is(:got::text,
          'crossing', 'and the code is in the ledger of live codes');
SELECT is(healthpass.configure('contactless_code_valid_for', '5 minutes'), '00:05:00', 'the validity is a database setting');
SELECT is((SELECT expires_at - issued_at FROM healthpass.verify_token(healthpass.hk_contactless_code(:h, 'iam_smart_plus'))),
          '00:05:00'::interval, 'codes issued afterwards use it; iAM Smart+ is an authentication too');
SELECT is((SELECT value || ' ' || default_value || ' ' || kind FROM healthpass.settings() WHERE name = 'contactless_code_valid_for'),
          '00:05:00 00:10:00 database', 'settings() lists it');
SELECT throws_ok($$SELECT healthpass.configure('contactless_code_valid_for', '30 seconds')$$,
    '22023', 'contactless code validity "00:00:30" is out of range', 'at least a minute');
SELECT throws_ok($$SELECT healthpass.configure('contactless_code_valid_for', '2 days')$$,
    '22023', 'contactless code validity "2 days" is out of range', 'at most a day');
SELECT healthpass.configure('contactless_code_valid_for', NULL) \gset
SELECT throws_ok(format($$SELECT healthpass.hk_contactless_code(%s, 'password')$$, :h),
    '22023', 'authentication "password" is not valid', 'only after iAM Smart');
SELECT throws_ok(format($$SELECT healthpass.hk_contactless_code(%s, NULL)$$, :h),
    '22023', 'authentication "NULL" is not valid', 'the authentication is required');
SELECT throws_ok(format($$SELECT healthpass.hk_contactless_code(%s, 'iam_smart')$$, :m),
    '23514', 'document kind "cn_resident_id" cannot hold a contactless e-Channel code', 'only for HKID holders');
SELECT throws_ok($$SELECT healthpass.hk_contactless_code(NULL, 'iam_smart')$$, '22004', 'person id is missing', 'a person is required');
SELECT throws_ok($$SELECT healthpass.hk_contactless_code(999999, 'iam_smart')$$, 'P0002', 'person 999999 does not exist', 'an unknown person');
SELECT healthpass.register_person('hkid', 'M654323(0)', 'LEE Ka Yan', birth_date => '1991-02-03') AS hrej \gset
SELECT healthpass.record_realname_result(:hrej, 1, 'rejected', 'the name does not match the card') \gset
SELECT throws_ok(format($$SELECT healthpass.hk_contactless_code(%s, 'iam_smart')$$, :hrej),
    '55000', format('real-name verification of person %s was rejected', :hrej), 'a rejected person gets no code');
SELECT count(*) AS n FROM healthpass.contactless_code WHERE person_id IN (:m, :hrej) \gset
SELECT is(:n::bigint, 0::bigint, 'refusals record nothing');

-- the gate
SELECT is((SELECT passed::text || ' ' || coalesce(refusal, '-') || ' ' || name_masked || ' ' || id_masked
             FROM healthpass.scan_contactless_code(:'cc', 'shenzhen_bay', 'departure')),
          'true - C*** T** M** A1*****(3)', 'a gate lets the holder through, showing the masked name and HKID');
SELECT quote_nullable((SELECT port_code || ' ' || direction || ' ' || (now() - passed_at < interval '1 minute') FROM healthpass.contactless_passage
            WHERE person_id = :h AND token_id = healthpass.pass_token_id(:'cc'::healthpass.pass))) AS got \gset
SELECT is(:got::text,
          'shenzhen_bay departure true', 'and records the passage');
SELECT is((SELECT passed::text || ' ' || refusal || ' ' || name_masked FROM healthpass.scan_contactless_code(:'cc', 'shenzhen_bay', 'departure')),
          'false already_used C*** T** M**', 'a second scan of the same code is refused: it is used once');
SELECT is((SELECT refusal FROM healthpass.scan_contactless_code(:'cc', 'luohu', 'arrival')), 'already_used', 'at any gate');
SELECT ok((SELECT detail FROM healthpass.scan_contactless_code(:'cc', 'luohu', 'arrival')) ~ '^The code let its holder through at Shenzhen Bay on ',
          'saying where it was used');
SELECT count(*) AS n FROM healthpass.contactless_passage WHERE person_id = :h \gset
SELECT is(:n::bigint, 1::bigint, 'one passage recorded');
SELECT is((SELECT passed::text || ' ' || refusal || ' ' || coalesce(name_masked, '-')
             FROM healthpass.scan_contactless_code(:'rec40', 'luohu', 'arrival')),
          'false wrong_kind -', 'a record certificate is not a contactless code');
SELECT is((SELECT refusal FROM healthpass.scan_contactless_code(healthpass.personal_code(:h), 'luohu', 'arrival')),
          'wrong_kind', 'nor is a personal code');
SELECT is((SELECT refusal || ' ' || detail FROM healthpass.scan_contactless_code('HP1:GARBLED', 'luohu', 'arrival')),
          'malformed The scanned text is not an HP1 code.', 'garbled text');
SELECT is((SELECT refusal || ' ' || name_masked
             FROM healthpass.scan_contactless_code(healthpass.issue_token_at('crossing', healthpass_internal.person_claims(:h),
                      now() - interval '1 hour', now() - interval '50 minutes', '\xffeeddccbbaa99887766554433221100'), 'luohu', 'arrival')),
          'expired C*** T** M**', 'an expired code');
SELECT healthpass.hk_contactless_code(:h, 'iam_smart') AS cc2 \gset
SELECT healthpass.revoke_pass(:'cc2', 'phone lost') \gset
SELECT is((SELECT refusal FROM healthpass.scan_contactless_code(:'cc2', 'luohu', 'arrival')), 'revoked', 'a revoked code');
SELECT is((SELECT refusal || ' ' || name_masked
             FROM healthpass.scan_contactless_code(healthpass.issue_token('crossing', healthpass_internal.person_claims(:h), '5 minutes'), 'luohu', 'arrival')),
          'not_issued C*** T** M**', 'a crossing token not issued as a contactless code');
SELECT is((SELECT refusal FROM healthpass.scan_contactless_code(healthpass.issue_token('crossing', '{"ref": "nobody"}', '5 minutes'), 'luohu', 'arrival')),
          'malformed', 'a crossing token naming no person');
SELECT count(*) AS n FROM healthpass.contactless_passage WHERE person_id = :h \gset
SELECT is(:n::bigint, 1::bigint, 'refusals record no passage');
SELECT throws_ok(format($$SELECT * FROM healthpass.scan_contactless_code(%L, 'luohu', 'in')$$, :'cc'),
    '22023', 'direction "in" is not valid', 'a direction is arrival or departure');
SELECT throws_ok(format($$SELECT * FROM healthpass.scan_contactless_code(%L, 'luohu', NULL)$$, :'cc'),
    '22023', 'direction "NULL" is not valid', 'a direction is required');
SELECT throws_ok(format($$SELECT * FROM healthpass.scan_contactless_code(%L, 'gongbei', 'arrival')$$, :'cc'),
    '22023', 'port "gongbei" does not serve region "HK"', 'the gate is at a port to Hong Kong');
SELECT throws_ok(format($$SELECT * FROM healthpass.scan_contactless_code(%L, 'atlantis', 'arrival')$$, :'cc'),
    '22023', 'port "atlantis" does not exist', 'an unknown port');
SELECT throws_ok($$SELECT * FROM healthpass.scan_contactless_code(NULL, 'luohu', 'arrival')$$,
    '22004', 'contactless code is missing', 'a missing code');
SELECT healthpass.hk_contactless_code(:h, 'iam_smart') AS cc3 \gset
SELECT is(healthpass.edit_person(:h, '{"name": "CHAN Tai-man"}'), 2, 'the holder''s name is edited');
SELECT is((SELECT refusal FROM healthpass.scan_contactless_code(:'cc3', 'luohu', 'arrival')), 'revoked',
          'which revokes the code (the ledger of live codes)');

-- roles ----------------------------------------------------------------------------------
SELECT is((SELECT string_agg(f || ':' || r, ',' ORDER BY f, r)
             FROM unnest(ARRAY['crossing_record(bigint, timestamptz, timestamptz)', 'latest_crossing_record(bigint, text)',
                               'record_certificate_svg(bigint, timestamptz, timestamptz)', 'latest_crossing_svg(bigint, text)',
                               'record_certificate_png(bigint, timestamptz, timestamptz, integer)', 'latest_crossing_png(bigint, text, integer)',
                               'verify_record_certificate(text)', 'hk_contactless_code(bigint, text)',
                               'scan_contactless_code(text, text, text)']) f,
                  unnest(ARRAY['healthpass_admin', 'healthpass_app', 'healthpass_scanner', 'healthpass_health', 'healthpass_report',
                               'healthpass_border', 'public']) r
            WHERE has_function_privilege(r, 'healthpass.' || f, 'EXECUTE')),
          'crossing_record(bigint, timestamptz, timestamptz):healthpass_app,crossing_record(bigint, timestamptz, timestamptz):healthpass_border,'
          'hk_contactless_code(bigint, text):healthpass_app,'
          'latest_crossing_png(bigint, text, integer):healthpass_app,latest_crossing_png(bigint, text, integer):healthpass_border,'
          'latest_crossing_record(bigint, text):healthpass_app,latest_crossing_record(bigint, text):healthpass_border,'
          'latest_crossing_svg(bigint, text):healthpass_app,latest_crossing_svg(bigint, text):healthpass_border,'
          'record_certificate_png(bigint, timestamptz, timestamptz, integer):healthpass_app,record_certificate_png(bigint, timestamptz, timestamptz, integer):healthpass_border,'
          'record_certificate_svg(bigint, timestamptz, timestamptz):healthpass_app,record_certificate_svg(bigint, timestamptz, timestamptz):healthpass_border,'
          'scan_contactless_code(text, text, text):healthpass_border,'
          'verify_record_certificate(text):healthpass_border,verify_record_certificate(text):healthpass_scanner',
          'certificates to app and border, verification to border and scanner, the code to app, the gate to border');
SET ROLE healthpass_border;
SELECT is((SELECT valid FROM healthpass.verify_record_certificate(healthpass.latest_crossing_record(:da, 'test_port'))), true,
          'the border role prints at a kiosk and verifies at a counter');
SELECT is((SELECT passed FROM healthpass.scan_contactless_code(:'cc3', 'luohu', 'arrival')), false, 'a gate scans as the border role');
SELECT throws_ok($$SELECT * FROM healthpass.contactless_passage$$, '42501', NULL, 'but reads no table');
RESET ROLE;
SET ROLE healthpass_scanner;
SELECT is((SELECT valid FROM healthpass.verify_record_certificate(:'rec40')), true, 'a scanner verifies a certificate');
SELECT throws_ok(format($$SELECT healthpass.crossing_record(%s, now() - interval '1 day', now())$$, :m), '42501', NULL,
    'but issues none');
RESET ROLE;
SET ROLE healthpass_app;
SELECT ok(healthpass.crossing_record(:m, now() - interval '1 day', now()) LIKE 'HP1:%', 'an app server downloads a certificate');
SELECT ok(healthpass.hk_contactless_code(:h, 'iam_smart') LIKE 'HP1:%', 'and a contactless code');
SELECT throws_ok($$SELECT * FROM healthpass.scan_contactless_code('HP1:X', 'luohu', 'arrival')$$, '42501', NULL, 'but scans at no gate');
RESET ROLE;

-- another issuer's codes ----------------------------------------------------------------------
SELECT healthpass.hk_contactless_code(:h, 'iam_smart') AS cc4 \gset
-- this server's key looks like an imported one: its codes are another issuer's
UPDATE healthpass.signing_key SET secret_box = NULL WHERE kid = (healthpass.verify_token(:'cc4')).kid;
SELECT is((SELECT refusal FROM healthpass.scan_contactless_code(:'cc4', 'luohu', 'arrival')), 'foreign',
          'a gate refuses another issuer''s contactless code');
SELECT is((SELECT valid::text || ' ' || issuer FROM healthpass.verify_record_certificate(:'rec40')), 'true CN-44',
          'while a certificate of a trusted issuer verifies anywhere');

SELECT * FROM finish();
