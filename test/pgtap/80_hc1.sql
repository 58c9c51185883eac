-- EU Digital COVID Certificates (HC1, issue 13 item 5): signer
-- certificates, verify_hc1 at chosen instants, record_hc1 (holder, kind,
-- refusals) and the colour facts it makes, privileges. The verdict of
-- every kind of certificate against fresh material is test/scripts/80_hc1.sh.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT plan(69);

-- fixed material made once by test/hc1/make-vectors.py --fixed (test/hc1/fixed.json):
-- signer certificates valid 2020..2100, certificates issued 2024-01-01 expiring 2099-01-01
\set de_es256 '3082017e30820124a00302010202140b9eaf5a98bfea1cbe5b6c65ab0d1cbe67e8ab74300a06082a8648ce3d040302303e310b300906035504061302444531183016060355040a0c0f4843312074657374206973737565723115301306035504030c0c4453432064652d65733235363020170d3230303130313030303030305a180f32313030303130313030303030305a303e310b300906035504061302444531183016060355040a0c0f4843312074657374206973737565723115301306035504030c0c4453432064652d65733235363059301306072a8648ce3d020106082a8648ce3d03010703420004e929f70bd152f162d73341d705ccd78d4eff8010ed6217e07ad70c99ff75dd5e0f6ba4db532399a4ce2019aa3608b91f796ef41b2a1218a48115ce88c055fb33300a06082a8648ce3d040302034800304502205999a831c4eb4b46e321a015dfe35c136c0c026fb90ac89c4a3ad63f5948f285022100a63b127a9b3eaf4efbef10bd7fea80c76820c21832af77ef6af175c1164a56d8'
\set fr_ps256 '3082030a308201f2a003020102021416a0517cbadcb487be1b32735ae2861af28c460e300d06092a864886f70d01010b0500303e310b300906035504061302465231183016060355040a0c0f4843312074657374206973737565723115301306035504030c0c4453432066722d70733235363020170d3230303130313030303030305a180f32313030303130313030303030305a303e310b300906035504061302465231183016060355040a0c0f4843312074657374206973737565723115301306035504030c0c4453432066722d707332353630820122300d06092a864886f70d01010105000382010f003082010a0282010100e6cd4c9964d30385561764015bbba2d8a00394e71fcf3488cd7a4887ebd7abb3d3368c73da4657e060fbf17300c358d7b074bca60e56c724ca6366a40183a1943e80c7f993b35b4bd8cfc90498e27503bba8c04804bf11260eddb1146c9d6535d7d311a835431d07dad23b5e7ab63c4ec13c3fc926409164e82931603c205f9e2a32b9d787297ab8fac737460edd3375f7b0caa4988f03cebdf20845300c32c7eade3d466dd320ea2303acadc4f921e9401f0adb8a24e8ebcc563838669013de5b651bdc011cc4a9a657939be0573e8ac2902dae68b2aa532b95f17a15b3b7e0d34c0b7d43e8db5513d8437d25b1cff58ac23fafc8a86fc6d5e4c26d1b72eb430203010001300d06092a864886f70d01010b050003820101002853bca97fc865854c1a29f5b52667199ecd03d610b7e28224e67b07df8b7ac91c964bf129596ce17c275c8f6a2d7324827dd97f293f150729228683d33cbb7b5db570a13aa77656ec75f8ed624b4293e68a710179005029aa92f5319ae50fac5f56ec209eb9a4391fb26d70a05eb9b5a0e61926b9fe1be3ddd3cada0cb011a9db61d6fa5e02095e8ab3966912e05b7f4d2ecf931b96c30f0a830c8e65f83a4782960ea27f720482277201f2a84be46cda5698af06af46072aaf11a20e448f5832a833ad0f8d695bde929ff3745ebd77c46764db90896cf009d7d25801d4f2cc9d1a46bec6cc76b074602afbbfc62381674f05dd1ea29ed67d72a815274ce383'
\set kid_de_es256 '51964bd710c18506'
\set kid_fr_ps256 '76452eaade7f08c8'
\set ec_p384 '308201b93082013fa003020102021412b806384b1137735269e2a8f5e41720d867e952300a06082a8648ce3d040302303d310b300906035504061302444531183016060355040a0c0f4843312074657374206973737565723114301206035504030c0b4453432065632d703338343020170d3230303130313030303030305a180f32313030303130313030303030305a303d310b300906035504061302444531183016060355040a0c0f4843312074657374206973737565723114301206035504030c0b4453432065632d703338343076301006072a8648ce3d020106052b81040022036200048f76b93d4f662b45dc80eb0ae28e93edb792ed0ea64cc3df05008b6f3e6ab2167129afee0513e551af703fe5b78c8ca4280c28b96c9ae1e34a6bb27fda5c4acffd394d93150095d5a75acdfa397b068eb8c790a2d86f3e0a0ed95e6675d64a96300a06082a8648ce3d0403020368003065023100808b9ac2f41ef0ca863b9d76c8f506134ac74cf6b592580ac1558a918e975aee514379cc3e0d7a895da7e3eebfc558e10230528fd18d4aad8517bc1e1ce23ef568d6df8286f0c792dc1592e8fb7239ed0a4435a57b4d1ea18395a0546e2b78088c5b'
\set rsa_1024 '308202053082016ea003020102021451fd1967089d1a4e4a0b85e08d86b454b48700b1300d06092a864886f70d01010b0500303e310b300906035504061302444531183016060355040a0c0f4843312074657374206973737565723115301306035504030c0c445343207273612d313032343020170d3230303130313030303030305a180f32313030303130313030303030305a303e310b300906035504061302444531183016060355040a0c0f4843312074657374206973737565723115301306035504030c0c445343207273612d3130323430819f300d06092a864886f70d010101050003818d0030818902818100babde4e415f3baf84c828d643bd2e32b3bde13815956e11353d87bc949b88f947a46bdabfbbc69d479687ccec3b070325bbe176c14cd53d5b51fa285ee2bed98e2f4f25312fe56d0f1fdee17cb4b38d74291a9ba46d75eb8a006256df5d93674ac508228833e1f08ee721baf83a763c0c911c5e02d7c2c20da721c5cf26979d10203010001300d06092a864886f70d01010b050003818100249a7591e17171220c291e1678b6b776831bc5b4dd4ff0213d3bdfe60ac3707afd05edfb4b2411bbd08311f38610951904e539219c11fd4a1a93220614789f8b00156b6b4beced7cb096be6436b69067414e9eac8c83b54fc39dc57665c1b8e491ed3b00f0fe4e4e8c63ff08b18b106151691280c12f186ea7ee96d1b31764ef'
\set ed25519 '3082013b3081eea00302010202147977b78ff69b531757c8e838ec1473ab00e19333300506032b6570303d310b300906035504061302444531183016060355040a0c0f4843312074657374206973737565723114301206035504030c0b44534320656432353531393020170d3230303130313030303030305a180f32313030303130313030303030305a303d310b300906035504061302444531183016060355040a0c0f4843312074657374206973737565723114301206035504030c0b4453432065643235353139302a300506032b657003210002cdbae38d547c27f500bc25f24b5bb34caf41c14c002163b284de2ce79f8fa4300506032b6570034100bc3e9ad83c50c99b8ae283172c77ac6b0801c4f1b6b831e4168457a9c5c0914e0209c30de41c59bb2905c54797ead25158af068dc4fe411660f17efbc4f04108'
\set vaccination_complete 'HC1:NCFE60JG0/3WUWGSLKH47GO0$.EL+5Y5S/419CKZ500XK3JCQGADI3K*KE8G7F3QKIK9GY50.FK8ZKO/EZKEZ967L6C56..DX%DZJC3/DH$9- NTVDXKEW.C9WE.Y9AY8+S9UIAI3DLJDA/DOCC9Z9*KE1ECI3DCWENB88+92S7RB8XB9JPCT3E5JDNA7NW69464W5:R67:EDOL9WEQDD+Q6TW6FA7C466KCN9E%961A6DL6FA7D46.JCP9EJY8L/5M/5546.96VF6.JCBECB1A-:8$966469L6OF6VX6FVCPD0KQEPD0LVC6JD846Y96B463W5.A6UPC3JCUIA+EDV3FZED+EDBYECDLDZC6VCK44OCCFOAG/D4XOWJC0FDB/3AIA%G7X+AQB9746NG7ZHAG+A846HR6BC92Y89G6F*8ZK4FBB+20Z5L.HCPC1QAFR0PFQBAWGTLNCQFF:O3N3KEQ9/62RQQH7H:M+ BXFM$7BJSP-T2NPGQPEKT4*ZMKC61ESN/TLBRBR68R8DNTT4W6.B40M1KHIGSYCDIE7 YF8AV-SS2HR5HOF.0 $PULMCYR:*7NDRYDRU1KNN9W0DUSCV/2+EEC01HI4WK6I0CD2U:EH561YKBUKS4MK4J7.%THKLZ76*HQ6$7HUV3.4.2J:265YAHIALFFFPU45EE1NPIK/O2 -LY/SE+RR/S.+4/+ADNSDDKP36UXB6GLHLIBVAR3TYX2.AG6AU0:0065/AN1ME7AGTRR8OOFTLG8FV:3NJOT455AW54LHMMX82JBOL1AP8Q+U730O5KV9XDGFB5W0$9HQABB4'
\set vaccination_partial 'HC1:NCFU70H90T9WTWGSLKC 4I6900JL8R-KOV$0FBBWK0*70HS8FN0HUU/L4WY0$$C%20D97TK0F90$PC5$CUZC$$5Y$5TPCBEC7ZKW.CU2DNXO VD5$CLPCG/DU2D4ZA2T9GY8 JC6/DAC8..DY34GECMEDMPCG/DLJDL+95B8MY95IA:B8GVC*JC1A6Y473W56L6-96KECTHG4KCD3DX47B46IL6646H*6Z/E5JD%96IA74R6646307Q$D.UDRYA 96NF6L/5SW6Y57B$D% D3IA4W5646946846.96XJC +D3KC.SCXJCCWENF6OF63W5$Q6746WJCT3E2+8%JC*QEHZ95/D QE3XOZKEC44DZCPVD+34CECBYERILOPCF8FHZA1+9LZAZM81G7CA6QX8G+A846HR6BC92Y8NA6F*8+K427B..K4AWE2D+ZCJTQHVM9OGC2H-W6Y*MJ 12890OEYBQZ1TW%4L5U3OKU6B:MCB2NQ.3/5PG$9P:5-XM%IUUNSBC2+F3AMSDUT2S6Y+F'
\set test_old_negative 'HC1:NCFOXN%TSMAHN-HRL4QQJL%E4TGTTD:D41.K-36OLNAOM5%F0RL5DO.%I/HH9LOQHIZC4TPIFRMLNKNM8POCEUG*%NH$RSC9OIF+3OAFVW+S:Z26ALD-I+ZVVSN.JV/Y0 /K%ZCO8TJV4VGVI$21$48AL**I$E7 MVVUR4F7TEF+*4.$S6ZC0JB-EJKD3LWT+LJM:IP1MPF5RBQ746B46O1N646RM9WC5OFU946+967KQZE9%UP3M104AM69 JU/V9355P1M:%0YYKN63QR3FVAPUB1VC-N0PJO-CRJ76AHPJSP130%OK2J9QH6 ZPSR9FX9ON1AMIUNIDH8JRH.NL2YUWLHVOEDYJDSH%J6$NICZUL/F6PP+ 5-PP:G9XF5LFUXSRDZT:1BPMIMIA*NIKYJF84:H3J1D1I3-*TW C%JT MLHF06HPG.PHSOE0P /QNA7TSO5KO.INQ49Z+3V4WACHEYOUYH$-C.5PEIFA8KZ4GZDJ*+EMWP7WMB-1P.3EURBDWO4L8JKVDUA-9V.N0/U/1Q:8NL3P-9PMCQ 18PLU%+2A2GFIH'
\set test_positive 'HC1:NCFOXN%TSMAHN-HRL4QQJL%E4TGTTD:D41.K-36OLNAOM5%F0RL5DO.%I/HH9LOQHIZC4TPIFRMLNKNM8POCEUG*%NH$RSC9OIF+3OAFVW+S:Z26ALD-I+ZVVSN.JV/Y0 /K%ZCO8TJV4VGVI$21$48AL**I$E7 MVVUR4F7TEF+*4.$S6ZC0JB-EJKD3LWT+LJM:IP1MPF5RBQ746B46O1N646RM9WC5OFU946+967KQZE9%UP3M104AM69 JU/V9355P1M:%0YYKN63QR3FVAPUB1VC-N0PJO-CRJ76AHPJSP130%OK2J9QH6 ZP0 HJ$HON1-RIUNIDH8JRH.NL2YUWLHVOEDYJDSH%J6$NICZUL/F6PP+ 5-PP:G9XF5LFUXSRDZT:1BPMIMIA*NIKYJF84:H3J1D1I3-*TW C%JT MLHF06HPG.PHSOYY4G08NA7 PODUUQFWT-FES9L$LQZD2T2 Z78GAFYDSI1/%E:5I-BWH6W%XMNBOC:PJ 01HAVXQ24Q+STNVIAEW/E8*IQ89QA*4E C94SDYUQ:B8JQ620EC7G0'
\set other_holder 'HC1:NCFOXN%TSMAHN-HRL4QQJL%E4TGTTD E4%%5+T94FEKKI*ZMEKN:X90 E3O8CV4*XUA2PWKP/HLIJLKNF8JF7LPMIH-O92UQIJA TU+QH/UIGSUIJAN-VRQG.UIAYUO F*QHUZUAXQVJ8C:HM4KHJP7NVDEB$/IM3LO%05QNA*4W$C2VLTK96L6SR9MU9DV5 R13PI%F1PN1/T1%%HN9G2 UK*R3T3+7A.N88J4R$F/MAITH-+R2YBV44PZB6H0CJ0%H0%P8C K1U70%KLR2C KPLIUM42CGEA0LAC2%KI*VS9NN$KASS7DS2*N.SSDUO+LHDV2/GA.IEGW2MN2DG9B7MPK9V L8C1VUU8C1VTE5ZMT56QHEI+1BJDGLUNNUZU1%0IL9E3%BB5R8AW8IPZU0-7J-%3LHAY5G50C+JS+%0/BH%V0.KC86POOIZ2L*1AQ+C0D7H/ONSFLXQ21SL3VWKD9 P.5NL390CC11Q8QVCN1TKPURE'
\set other_birth 'HC1:NCFOXN%TSMAHN-HRL4QQJL%E4TGTTD3J4O:5+T94FEKKI*ZMEKN:X90 E3O8CV4*XUA2PWKP/HLIJLKNF8JF7LPMIH-O92UQKRQT02.MPDB9WH9 UPZF9PV164V6DESH95CQ3NENVP9XA1Y9%PP4T9P8Q0LPM/UASESNUTS1RVE9/9-3AKI63ZM-.Q$76UW61Y9YPDN*I4OIMEDTJCJKDLEDL9CZTAKBI/8D:8DKTDL+S/15A+2XEN QT QTHC31M3+E3+T4D-4HRVUMNMD3323623423.LJX/KQ968X2+36/-KKTC 509UEE8GKJ3SZ4:05CT03ZCR9JH0D3ZCT4JP-BXZIKCIEPL0UIM42TBJ9LEI C KEM%G%9DJ6K1AD1WMN+I0JKRULE33*VNPSI68AO5HZT8GQ8YPJDM4GD3FRNJ4RCO9Y6SKM7XFKB:AURO$MCS+E8O6Z5UM:BHIIGDNHL78Q9P2V4UQWSLTGG72D8177.D0UDF/S$PJ-JKMMSTXL+10/B7V1'

-- ---- signers
SELECT is(encode(healthpass.add_hc1_signer('DE', decode(:'de_es256', 'hex')), 'hex'), :'kid_de_es256',
          'add_hc1_signer returns the kid: SHA-256(DER)[0:8]');
SELECT is(encode(healthpass.add_hc1_signer('FR', decode(:'fr_ps256', 'hex')), 'hex'), :'kid_fr_ps256',
          'an RSA signer (PS256)');
SELECT is((SELECT string_agg(country || ':' || family || ':' || subject, ',' ORDER BY country) FROM healthpass.hc1_signers()),
          'DE:EC:CN=DSC de-es256,O=HC1 test issuer,C=DE,FR:RSA:CN=DSC fr-ps256,O=HC1 test issuer,C=FR',
          'hc1_signers lists country, key family and subject');
SELECT is((SELECT not_before || ' ' || not_after FROM healthpass.hc1_signers() WHERE country = 'DE'),
          '2020-01-01 00:00:00+00 2100-01-01 00:00:00+00', 'with the certificate''s validity');

SELECT throws_ok(format($$SELECT healthpass.add_hc1_signer('DE', decode(%L, 'hex'))$$, :'de_es256'),
    '23505', format('signer certificate with kid "%s" is already added', encode(decode(:'kid_de_es256', 'hex'), 'base64')),
    'a signer is added once');
SELECT throws_ok(format($$SELECT healthpass.add_hc1_signer('de', decode(%L, 'hex'))$$, :'de_es256'),
    '22023', 'country "de" is not valid', 'a country is two upper-case letters');
SELECT throws_ok(format($$SELECT healthpass.add_hc1_signer('DEU', decode(%L, 'hex'))$$, :'de_es256'),
    '22023', 'country "DEU" is not valid', 'not alpha-3');
SELECT throws_ok(format($$SELECT healthpass.add_hc1_signer(NULL, decode(%L, 'hex'))$$, :'de_es256'),
    '22004', 'country is missing', 'no country');
SELECT throws_ok($$SELECT healthpass.add_hc1_signer('DE', NULL)$$,
    '22004', 'signer certificate is missing', 'no certificate');
SELECT throws_ok($$SELECT healthpass.add_hc1_signer('DE', convert_to('-----BEGIN CERTIFICATE-----', 'UTF8'))$$,
    '22P03', 'signer certificate starting with "2d2d2d2d2d424547" is not an X.509 certificate', 'PEM is not DER');
SELECT throws_ok(format($$SELECT healthpass.add_hc1_signer('DE', decode(%L, 'hex') || '\x00'::bytea)$$, :'de_es256'),
    '22P03', format('signer certificate starting with "%s" is not an X.509 certificate', left(:'de_es256', 16)),
    'nothing may follow the certificate');
SELECT throws_ok($$SELECT healthpass.add_hc1_signer('DE', '\x')$$,
    '22P03', 'signer certificate starting with "" is not an X.509 certificate', 'empty');
SELECT throws_ok(format($$SELECT healthpass.add_hc1_signer('DE', decode(%L, 'hex'))$$, :'ec_p384'),
    '22023', 'signer certificate key "EC secp384r1" is not supported', 'EC keys are on P-256 only');
SELECT throws_ok(format($$SELECT healthpass.add_hc1_signer('DE', decode(%L, 'hex'))$$, :'ed25519'),
    '22023', 'signer certificate key "ED25519" is not supported', 'Ed25519 keys are not HC1 signers');
SELECT throws_ok(format($$SELECT healthpass.add_hc1_signer('DE', decode(%L, 'hex'))$$, :'rsa_1024'),
    '22023', 'signer certificate RSA key of 1024 bits is too small', 'RSA keys have 2048 bits or more');
SELECT throws_ok($$SELECT healthpass.add_hc1_signer('DE', decode(repeat('30', 20000), 'hex'))$$,
    '54000', 'signer certificate of 20000 bytes is too large', 'signer certificates are small');
SELECT throws_ok($$SELECT healthpass.remove_hc1_signer(NULL)$$, '22004', 'kid is missing', 'remove: no kid');
SELECT throws_ok($$SELECT healthpass.remove_hc1_signer('\x0102')$$, '22023', 'kid "AQI=" is not valid', 'remove: a kid has 8 bytes');
SELECT throws_ok($$SELECT healthpass.remove_hc1_signer('\x0102030405060708')$$,
    'P0002', 'no signer certificate has kid "AQIDBAUGBwg="', 'remove: unknown kid');

-- ---- verifying the fixed certificates
SELECT is((SELECT concat_ws('|', valid, reason, alg, country, encode(kid, 'hex'), issued_at, expires_at,
                            content->'v'->0->>'dn', content->'v'->0->>'sd', content->'nam'->>'gnt')
             FROM healthpass.verify_hc1(:'vaccination_complete')),
          format('t|PS256|FR|%s|2024-01-01 00:00:00+00|2099-01-01 00:00:00+00|2|2|ANNA<MARIA', :'kid_fr_ps256'),
          'a PS256 vaccination certificate verifies, with its content');
SELECT is((SELECT concat_ws('|', valid, alg, country) FROM healthpass.verify_hc1(:'test_old_negative')),
          't|ES256|DE', 'an ES256 test certificate verifies');
SELECT is((SELECT reason FROM healthpass.verify_hc1(:'vaccination_complete', '2099-06-01')), 'expired', 'expired after exp');
SELECT is((SELECT reason FROM healthpass.verify_hc1(:'vaccination_complete', '2098-12-31 23:58:00+00')), NULL,
          'within the clock skew of exp');
SELECT is((SELECT reason FROM healthpass.verify_hc1(:'vaccination_complete', '2023-06-01')), 'not_yet_valid', 'not yet valid before iat');
SELECT is((SELECT reason FROM healthpass.verify_hc1(:'vaccination_complete', '2019-06-01')), 'signer_not_valid',
          'the signer certificate is checked at the verification time');
SELECT is((SELECT (content IS NULL)::text || '/' || coalesce(country, '-') FROM healthpass.verify_hc1('HC1:')),
          'true/-', 'no content and no signer when the text does not decode');
SELECT is((SELECT reason FROM healthpass.verify_hc1(repeat('x', 100000))), 'bad_prefix', 'a long text without the prefix');
SELECT is((SELECT reason FROM healthpass.verify_hc1('HC1:' || repeat('0', 100000))), 'malformed', 'a text too long to be a QR code');
SELECT is((SELECT reason FROM healthpass.verify_hc1(E'HC1:\n')), 'bad_base45', 'a line break is not base45');
SELECT throws_ok($$SELECT healthpass.verify_hc1(NULL)$$, '22004', 'certificate is missing', 'verify: no certificate');
SELECT throws_ok(format($$SELECT healthpass.verify_hc1(%L, NULL)$$, :'test_old_negative'),
    '22004', 'verification time is missing', 'verify: no time');
SELECT throws_ok(format($$SELECT healthpass.verify_hc1(%L, 'infinity')$$, :'test_old_negative'),
    '22008', 'verification time "infinity" is not a point in time', 'verify: a finite time');

-- ---- recording: holder, kind, colour facts
SELECT healthpass.register_person('passport', 'C01X00T47', 'Mueller Anna Maria', '1985-03-14', nationality => 'DEU') AS p \gset
SELECT healthpass.register_person('passport', 'C01X00T49', 'Anna Maria Mueller', '1985-03-14', nationality => 'DEU') AS q \gset
SELECT healthpass.retire_colour_rule(12) AS v1 \gset
SELECT healthpass.add_colour_rule('green', 'vaccinated abroad (series complete)', '{"fact": "foreign_vaccination_complete"}', 115) AS rule \gset
SELECT is(healthpass.colour_condition_sql('{"fact": "foreign_negative_at", "op": "within", "value": "3 days"}'),
          'coalesce(f.foreign_negative_at > f.at - ''3 days''::interval, false)', 'the new facts compile like the others');
SELECT is((SELECT colour::text FROM healthpass.colour_status(:p)), 'yellow', 'before: no rule applies');

SELECT is((SELECT concat_ws('|', kind, country, uvci) FROM healthpass.record_hc1(:p, :'vaccination_partial')),
          'vaccination|DE|URN:UVCI:01DE/V2024FIXED1OF2#P', 'record_hc1: dose 1 of 2');
SELECT is((SELECT colour::text FROM healthpass.colour_status(:p)), 'yellow', 'dose 1 of 2 is no complete vaccination');
SELECT is((SELECT concat_ws('|', kind, country) FROM healthpass.record_hc1(:p, :'vaccination_complete')),
          'vaccination|FR', 'record_hc1: dose 2 of 2');
SELECT is((SELECT colour || '|' || array_to_string(reasons, ';') FROM healthpass.colour_status(:p)),
          'green|vaccinated abroad (series complete)', 'the colour follows the fact at once');
SELECT is((SELECT foreign_vaccination_complete::text || '/' || coalesce(foreign_negative_at::text, '-')
             FROM healthpass_internal.colour_facts(:p, :p, ARRAY[:p]::bigint[], ARRAY[now()]::timestamptz[])),
          'true/-', 'colour_facts: vaccination complete, no foreign negative test');
SELECT is((SELECT foreign_vaccination_complete FROM healthpass_internal.colour_facts(:p, :p, ARRAY[:p]::bigint[],
                                                                                     ARRAY[now() - interval '1 hour']::timestamptz[])),
          false, 'facts are what was recorded by the instant');
SELECT is((SELECT concat_ws('|', kind, uvci) FROM healthpass.record_hc1(:p, :'test_old_negative')),
          'test|URN:UVCI:01DE/T2024FIXEDNEG#S', 'record_hc1: a test');
SELECT is((SELECT foreign_negative_at FROM healthpass_internal.colour_facts(:p, :p, ARRAY[:p]::bigint[], ARRAY[now()]::timestamptz[])),
          NULL, 'a negative test sampled in 2023 is outside the 14-day window');
SELECT is((SELECT foreign_negative_at FROM healthpass_internal.colour_facts(:p, :p, ARRAY[:p]::bigint[],
                                                                            ARRAY['2024-01-02 00:00:00+00']::timestamptz[])),
          NULL, 'and nothing is known before it was recorded');
SELECT is((SELECT kind FROM healthpass.record_hc1(:q, :'test_positive')), 'test', 'record_hc1: a positive test');
SELECT is((SELECT concat_ws('|', kind, result, test_type) FROM healthpass.hc1_records(:q)),
          'test|positive|naat', 'is recorded as positive');
SELECT is((SELECT string_agg(concat_ws('|', kind, coalesce(result, '-'), coalesce(dose_number || '/' || dose_total, '-'),
                                       coalesce(sampled_at::text, '-'), country), ',' ORDER BY uvci)
             FROM healthpass.hc1_records(:p)),
          'vaccination|-|2/2|-|FR,test|negative|-|2023-12-31 22:00:00+00|DE,vaccination|-|1/2|-|DE',
          'hc1_records lists what was recorded');

SELECT throws_ok(format($$SELECT healthpass.record_hc1(%s, %L)$$, :p, :'vaccination_complete'),
    '23505', 'health certificate "URN:UVCI:01:FR:V2024FIXED2OF2#K" is already recorded for person ' || :p,
    'a certificate is recorded once');
SELECT throws_ok(format($$SELECT healthpass.record_hc1(%s, %L)$$, :p, :'other_holder'),
    '23514', 'health certificate holder "ROSSI<MARIO" is not person ' || :p, 'another holder''s certificate');
SELECT throws_ok(format($$SELECT healthpass.record_hc1(%s, %L)$$, :p, :'other_birth'),
    '23514', 'health certificate date of birth "1985-03-15" is not the birth date of person ' || :p, 'another date of birth');
SELECT throws_ok($$SELECT healthpass.record_hc1(NULL, 'HC1:')$$, '22004', 'person id is missing', 'record: no person');
SELECT throws_ok(format($$SELECT healthpass.record_hc1(%s, NULL)$$, :p), '22004', 'certificate is missing', 'record: no certificate');
SELECT throws_ok(format($$SELECT healthpass.record_hc1(99999, %L)$$, :'vaccination_complete'),
    'P0002', 'person 99999 does not exist', 'record: unknown person');
SELECT throws_ok(format($$SELECT healthpass.record_hc1(%s, 'HC1:abc')$$, :p),
    '22P02', 'health certificate "HC1:abc" is not valid: bad_base45', 'record: a text that does not decode');
SELECT throws_ok(format($$SELECT healthpass.record_hc1(%s, 'hello')$$, :p),
    '22P02', 'health certificate "hello" is not valid: bad_prefix', 'record: not an HC1');
SELECT is(healthpass.remove_hc1_signer(decode(:'kid_de_es256', 'hex')), 1, 'remove_hc1_signer');
SELECT is((SELECT reason FROM healthpass.verify_hc1(:'vaccination_partial')), 'unknown_signer', 'its certificates have no signer now');
SELECT throws_ok(format($$SELECT healthpass.record_hc1(%s, %L)$$, :q, :'other_birth'),
    '22023', format('health certificate "%s…" is not valid: unknown_signer', left(:'other_birth', 40)),
    'record: a certificate that does not verify');
SELECT is((SELECT count(*)::integer FROM healthpass.hc1_records(:p)), 3, 'what was recorded stays');
SELECT ok(healthpass_internal.hp_hc1_same_birth('1985-03-14', '1985-03') AND healthpass_internal.hp_hc1_same_birth('1985-03-14', '1985')
          AND NOT healthpass_internal.hp_hc1_same_birth('1985-03-14', '') AND NOT healthpass_internal.hp_hc1_same_birth('1985-03-14', '1985-3'),
          'a date of birth may be the year and month, or the year');
SELECT ok(healthpass_internal.hp_hc1_same_name('Anna-Maria O''Neil', '{"fnt": "ONEIL", "gnt": "ANNA<MARIA"}')
          AND NOT healthpass_internal.hp_hc1_same_name('Anna Maria', '{"fnt": "ONEIL", "gnt": "ANNA<MARIA"}'),
          'names compare by their standardised words');

-- ---- privileges
SET ROLE healthpass_scanner;
SELECT is((SELECT valid FROM healthpass.verify_hc1(:'vaccination_complete')), true, 'scanners verify');
SELECT throws_ok(format($$SELECT healthpass.add_hc1_signer('DE', decode(%L, 'hex'))$$, :'de_es256'),
    '42501', NULL, 'scanners do not add signers');
SELECT throws_ok(format($$SELECT healthpass.record_hc1(%s, %L)$$, :q, :'vaccination_complete'),
    '42501', NULL, 'scanners do not record');
RESET ROLE;
SET ROLE healthpass_border;
SELECT is((SELECT valid FROM healthpass.verify_hc1(:'vaccination_complete')), true, 'the border verifies');
RESET ROLE;
SET ROLE healthpass_app;
SELECT is((SELECT kind FROM healthpass.record_hc1(:q, :'vaccination_complete')), 'vaccination', 'apps record');
SELECT throws_ok($$SELECT * FROM healthpass.hc1_signers()$$, '42501', NULL, 'apps do not list signers');
RESET ROLE;
SET ROLE healthpass_report;
SELECT is((SELECT count(*)::integer FROM healthpass.hc1_signers()), 1, 'reports list signers');
SELECT throws_ok(format($$SELECT healthpass.verify_hc1(%L)$$, :'vaccination_complete'), '42501', NULL, 'reports do not verify');
RESET ROLE;
SELECT ok(NOT has_table_privilege('healthpass_admin', 'healthpass.hc1_signer', 'SELECT')
          AND NOT has_table_privilege('healthpass_app', 'healthpass.hc1_record', 'SELECT'), 'the tables are granted to nobody');

SELECT * FROM finish();
