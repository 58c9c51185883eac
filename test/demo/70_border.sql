-- healthpass demo: the border (seeds 001 and 003): a Guangdong permit and
-- its endorsement, the electronic permit, crossings that use entries, the
-- document-free channel, a printed entry/exit record, due reminders, and a
-- foreign HC1 certificate verified
\pset footer off
\echo
\echo '== the border: electronic HK/Macau permit, crossings, the face channel, records, reminders'
SET search_path = healthpass, public;
SET client_min_messages = warning;
SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date AS today \gset

\echo '-- the exit-entry administration records a Guangdong permit and a two-entry family-visit endorsement for Hong Kong'
SELECT register_person('cn_resident_id', '440305199201011234', '许文', phone => '13900000001') AS xu \gset
SELECT record_travel_document(:xu, 'hk_macau_permit', 'C13572468', '广东省公安厅出入境管理局', :'today'::date - 200,
                              :'today'::date + 3450, '44', biometric_ref => 'tmpl:app:xu-0001') AS permit \gset
SELECT record_endorsement(:xu, :permit, 'HK', 'T', '2', :'today'::date - 30, :'today'::date + 25, 14) IS NOT NULL AS endorsed;

\echo '-- binding the electronic permit (seed 001): real name, a face check reading digits aloud'
SELECT record_realname_result(:xu, 1, 'approved');
SELECT record_face_check(:xu, 'CTID', 'passed', '\xffd8ffe000104a46494600') IS NOT NULL AS face_checked;
SELECT outcome, reason, retry_after IS NOT NULL AS retry_later FROM bind_electronic_permit(:xu, 'C13572469', 'read_digits');
SELECT outcome FROM bind_electronic_permit(:xu, 'C13572468', 'read_digits');

\echo '-- the permit''s page: entries remaining "as of" the issuing system''s count'
SELECT e->>'region' AS region, e->>'type' AS type, e->>'entries_remaining' AS remaining, e->>'valid_until' AS valid_until
  FROM jsonb_array_elements(electronic_permit(:xu)->'endorsements') e;

\echo '-- crossing: each exit uses an entry; the last one refused by name; the return reports the stay'
SELECT passed, refusal, entries_remaining FROM cross_border('shenzhen_bay', 'exit', 'manual', 'hk_macau_permit', 'C13572468',
                                                            crossed_at => now() - interval '20 days');
SELECT passed, stay_days, overstay_days, detail FROM cross_border('shenzhen_bay', 'entry', 'manual', 'hk_macau_permit', 'C13572468',
                                                                  crossed_at => now() - interval '3 days');
SELECT passed, refusal, entries_remaining FROM cross_border('futian', 'exit', 'manual', 'hk_macau_permit', 'C13572468',
                                                            crossed_at => now() - interval '2 days');
SELECT passed, refusal, detail FROM cross_border('futian', 'exit', 'manual', 'hk_macau_permit', 'C13572468');

\echo '-- reminders, made by triggers while the permit is bound: before the endorsement and the permit expire, and now that it is used up'
SELECT reason, subject, offset_days, due_at::date, status FROM reminders(:xu) ORDER BY due_at LIMIT 5;
\echo '-- a delivery worker claims what is due (FOR UPDATE SKIP LOCKED: several workers never get the same one) and reports it sent'
SELECT reason, doc_number_masked, region, expires_on, days_left, entries_remaining FROM claim_due_reminders('demo-worker', 10);
SELECT mark_reminder_sent(:xu, reminder_id, 'demo-worker') AS sent FROM reminders(:xu) WHERE reason = 'endorsement_used_up';

\echo '-- renewal online (续签) gives a multiple-entry endorsement; consent makes the face channel possible (seed 003)'
SELECT renew_endorsement(:xu, 'HK', 'T', 'multiple', :'today'::date + 360, 14, :'today'::date) IS NOT NULL AS renewed;
SELECT eligible, reasons FROM document_free_eligibility(:xu, 'shenzhen_bay');
SELECT give_biometric_consent(:xu) IS NOT NULL AS consented;
SELECT eligible, reasons FROM document_free_eligibility(:xu, 'shenzhen_bay');
SELECT passed FROM cross_border('shenzhen_bay', 'entry', 'document_free', person_id => :xu);
SELECT crossed_at::timestamp(0), port_name, direction, channel FROM crossings(:xu);

\echo '-- the entry/exit record certificate: a signed HP1 token, printed with its crossings (SVG and PNG)'
SELECT pg_sleep(1) \gset
\pset format unaligned
\pset tuples_only on
\set svgfile :out '/record-certificate.svg'
SELECT record_certificate_svg(:xu, now() - interval '30 days', now()) \g :svgfile
\set cmd '| base64 -d > "' :out '/record-certificate.png"'
SELECT translate(encode(record_certificate_png(:xu, now() - interval '30 days', now()), 'base64'), E'\n', '') \g :cmd
\pset tuples_only off
\pset format aligned
\echo 'wrote record-certificate.svg and record-certificate.png to' :out
SELECT valid, jsonb_array_length(crossings) AS crossings
  FROM verify_record_certificate(crossing_record(:xu, now() - interval '30 days', now()));


\echo '-- a foreign HC1 certificate (EU DCC) verified in SQL against an imported signer certificate'
\set fixed `cat test/hc1/fixed.json`
SELECT add_hc1_signer('DE', decode(f->'signers'->>'de_es256', 'hex')) IS NOT NULL AS "German signer added",
       add_hc1_signer('FR', decode(f->'signers'->>'fr_ps256', 'hex')) IS NOT NULL AS "French signer added"
  FROM (SELECT :'fixed'::jsonb AS f) x;
SELECT c.key AS certificate, v.valid, v.reason, v.alg, v.country, v.content->'nam'->>'fnt' AS family_name
  FROM (SELECT :'fixed'::jsonb AS f) x, jsonb_each_text(f->'certificates') c, verify_hc1(c.value) v
 WHERE c.key IN ('vaccination_complete', 'vaccination_complete_es256')
;
\echo '-- the French signer removed: its certificates are refused by name'
SELECT remove_hc1_signer(kid) AS removed FROM hc1_signers() WHERE country = 'FR';
SELECT v.valid, v.reason FROM (SELECT :'fixed'::jsonb AS f) x, verify_hc1(f->'certificates'->>'vaccination_complete') v;
RESET search_path;
