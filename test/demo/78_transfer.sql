-- healthpass demo: green codes carried between Guangdong and Macau (seed
-- 002), two databases in this cluster that never connect: what crosses
-- is text, as a phone carries it.
\pset footer off
\echo
\echo '== cross-border recognition: Guangdong -> Macau and back, the two back ends never connected'
SET client_min_messages = warning;
DROP DATABASE IF EXISTS hp_demo_macau;
CREATE DATABASE hp_demo_macau;
ALTER DATABASE hp_demo_macau SET healthpass.issuer = 'MO';

\echo '-- once, out of band: each side hands the other its public material (trust list, sealing key)'
SELECT healthpass.transfer_material() AS gd_material \gset
\c hp_demo_macau
\set QUIET 1
SET client_min_messages = warning;
CREATE EXTENSION healthpass;
SELECT healthpass.publish_notice('transfer_notice', '下载个人资料申请粤康码', 'Your data is sealed for Guangdong.') IS NOT NULL AS "Macau's notice";
SELECT healthpass.import_transfer_partner(:'gd_material', true, true) AS "sealing keys of CN-44 stored in Macau";
SELECT healthpass.transfer_material() AS mo_material \gset
\c hp_demo
\set QUIET 1
SELECT healthpass.import_transfer_partner(:'mo_material', true, true) AS "sealing keys of MO stored in Guangdong";
SELECT healthpass.publish_notice('transfer_notice', '入澳申报 申领须知', 'Your data is sealed for Macau.') IS NOT NULL AS "Guangdong's notice";

\echo '-- a green traveller in Guangdong asks for the Macau health code (申领澳门健康码): the notice, the form'
SELECT healthpass.register_person('cn_resident_id', '440402198808084562', '何敏', phone => '13900000002') AS he \gset
SELECT (healthpass.declare_health(:he, false, false)).declared_at IS NOT NULL AS declared;
SELECT colour FROM healthpass.colour_status(:he);
SELECT token AS transfer, length(token) AS characters, expires_at
  FROM healthpass.request_transfer(:he, 'MO', 1, jsonb_build_object(
       'name', '何敏', 'birth_date', '1988-08-08', 'doc_kind', 'cn_resident_id', 'doc_number', '440402198808084562',
       'phone', '13900000002', 'fever_today', false, 'contact_14d', false, 'travel_14d', false)) \gset
\echo 'the transfer token (' :characters 'characters) is signed by CN-44; the personal data inside is sealed to Macau''s key:'
SELECT kind, issuer, body->>'dst' AS destination, left(body->>'box', 24) || '…' AS sealed_box
  FROM healthpass.verify_token(:'transfer');
\pset format unaligned
\pset tuples_only on
\set cmd '| base64 -d > "' :out '/transfer-to-macau.png"'
SELECT translate(encode(healthpass.qr_png(:'transfer', 'M', 4), 'base64'), E'\n', '') \g :cmd
\pset tuples_only off
\pset format aligned
\echo 'wrote transfer-to-macau.png to' :out

\echo '-- at the border the traveller shows it; Macau verifies, opens, uses it once, and issues its own code'
\c hp_demo_macau
\set QUIET 1
SELECT outcome, source, colour, left(code, 20) || '…' AS macau_code
  FROM healthpass.import_transfer(:'transfer', '{"phone": "85366660000", "destination_city": "澳门", "address": "新马路 1 号",
                                               "sms_checked": true, "captcha_checked": true}');
SELECT source, colour, colour_at::timestamp(0) AS "green at the source", outcome FROM healthpass.received_transfers(1);
\echo '-- the same token again: refused (a package is used once)'
\set ON_ERROR_STOP 0
SELECT * FROM healthpass.import_transfer(:'transfer', '{"phone": "85366660000", "destination_city": "澳门", "address": "新马路 1 号",
                                                       "sms_checked": true, "captcha_checked": true}');
\set ON_ERROR_STOP 1

\echo '-- back to Guangdong: Macau hands a transfer to the same traveller (下载个人资料申请粤康码)'
SELECT token AS back FROM healthpass.request_transfer(1, 'CN-44', 1, jsonb_build_object(
       'name', '何敏', 'birth_date', '1988-08-08', 'doc_kind', 'cn_resident_id', 'doc_number', '440402198808084562',
       'phone', '13900000002', 'fever_today', false, 'contact_14d', false, 'travel_14d', false)) \gset
\c hp_demo
\set QUIET 1
SELECT outcome, source, colour FROM healthpass.import_transfer(:'back', '{"phone": "13900000002", "destination_city": "珠海市",
                                                                          "address": "拱北 1 号", "sms_checked": true, "captcha_checked": true}');
\echo 'a mainland resident''s transfer is "submitted": the usual code shows the colour'
SELECT source, colour, destination_city, outcome FROM healthpass.received_transfers(:he);
DROP DATABASE hp_demo_macau;
