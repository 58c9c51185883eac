-- 10_identity: the cn_resident_id type and normalize_document(), exact outputs
SET search_path = healthpass, public;
SET DateStyle = ISO, YMD;

-- text input: the GB 11643-1999 example, lower-case x, a first-generation
-- (15-digit) number converted to 18 characters
SELECT '11010519491231002X'::cn_resident_id AS canonical,
       '11010519491231002x'::cn_resident_id AS lower_x,
       '110105491231002'::cn_resident_id AS first_generation;

-- bad text input: SQLSTATE 22P02, the value quoted, what is wrong in the detail
\set VERBOSITY default
SELECT '11010519491231002Y'::cn_resident_id;
SELECT '110105194912310021'::cn_resident_id;
SELECT '1101051949123100X2'::cn_resident_id;
SELECT '11010519491231002'::cn_resident_id;
SELECT ' 11010519491231002X'::cn_resident_id;
SELECT '１１０１０５１９４９１２３１００２Ｘ'::cn_resident_id;
SELECT '99010519491231002X'::cn_resident_id;
SELECT '11010519490229002X'::cn_resident_id;
SELECT '440524188001010014'::cn_resident_id;
SELECT '11010520991231002X'::cn_resident_id;
SELECT '11010549123100X'::cn_resident_id;
SELECT ''::cn_resident_id;
SELECT repeat('1', 100)::cn_resident_id;

-- accessors
SELECT cn_resident_id_birth_date(id), cn_resident_id_sex(id), cn_resident_id_region_code(id), cn_resident_id_mask(id),
       cn_resident_id_age(id, '2024-12-30') AS age_day_before, cn_resident_id_age(id, '2024-12-31') AS age_on_birthday
  FROM (VALUES ('11010519491231002X'::cn_resident_id),
               ('440524200002290010'::cn_resident_id)) v(id);
-- born on 29 February: a year older on 1 March in a common year
SELECT cn_resident_id_age('440524200002290010'::cn_resident_id, '2023-02-28') AS feb_28,
       cn_resident_id_age('440524200002290010'::cn_resident_id, '2023-03-01') AS mar_1,
       cn_resident_id_age('440524200002290010'::cn_resident_id, '2024-02-29') AS feb_29;
SELECT cn_resident_id_age('11010519491231002X'::cn_resident_id, '1949-12-30');
SELECT cn_resident_id_age('11010519491231002X'::cn_resident_id, 'infinity');

-- comparison follows the text order; x and X, 15 and 18 digits are equal
SELECT '110105491231002'::cn_resident_id = '11010519491231002x' AS same,
       '11010519491231002X'::cn_resident_id < '11010519491231010X' AS lt,
       '440524198001010013'::cn_resident_id > '11010519491231002X' AS gt,
       '11010519491231002X'::cn_resident_id <> '11010519491231002X' AS ne,
       '11010519491231002X'::cn_resident_id <= '11010519491231002X' AS le,
       '11010519491231002X'::cn_resident_id >= '440524200002290010' AS ge;

-- casts: text to cn_resident_id in assignments, back to text automatically
CREATE TABLE rid (id cn_resident_id PRIMARY KEY, note text);
INSERT INTO rid VALUES ('11010519491231002x'::text, 'assigned from text');
INSERT INTO rid VALUES (normalize_document('cn_resident_id', '440524 2000 0229 0010'), 'normalised');
SELECT id, id::text || '!' AS as_text, note FROM rid ORDER BY id;
-- the 15-digit form of a stored number is a duplicate key
INSERT INTO rid VALUES ('110105491231002', 'duplicate');

-- binary COPY round trip: send/recv carry the 18 ASCII characters
INSERT INTO rid
SELECT ('440106' || to_char(d, 'YYMMDD') || lpad(s::text, 3, '0'))::cn_resident_id, 'generated'
  FROM generate_series(date '1950-01-01', date '1999-12-31', interval '73 days') d,
       generate_series(1, 9) s;
SELECT count(*) FROM rid;
\copy rid TO 'results/10_identity.bin' (FORMAT binary)
CREATE TABLE rid_copy (LIKE rid);
\copy rid_copy FROM 'results/10_identity.bin' (FORMAT binary)
SELECT count(*) AS copied,
       count(*) FILTER (WHERE r.id IS NULL) AS missing
  FROM rid_copy c LEFT JOIN rid r ON r.id = c.id AND r.note = c.note;
-- the binary form in a bytea's binary form is what recv reads
CREATE TABLE raw (b bytea, note text);
CREATE TABLE rid_in (id cn_resident_id, note text);
INSERT INTO raw VALUES (convert_to('440524198001010013', 'UTF8'), 'good');
\copy raw TO 'results/10_identity_raw.bin' (FORMAT binary)
\copy rid_in FROM 'results/10_identity_raw.bin' (FORMAT binary)
SELECT id, note FROM rid_in;
-- recv is as strict as text input, and wants the canonical form
TRUNCATE raw;
INSERT INTO raw VALUES (convert_to('11010519491231002x', 'UTF8'), 'lower-case x');
\copy raw TO 'results/10_identity_raw.bin' (FORMAT binary)
\copy rid_in FROM 'results/10_identity_raw.bin' (FORMAT binary)
TRUNCATE raw;
INSERT INTO raw VALUES (convert_to('110105491231002', 'UTF8'), '15 digits');
\copy raw TO 'results/10_identity_raw.bin' (FORMAT binary)
\copy rid_in FROM 'results/10_identity_raw.bin' (FORMAT binary)
TRUNCATE raw;
INSERT INTO raw VALUES (convert_to('110105194912310021', 'UTF8'), 'wrong check');
\copy raw TO 'results/10_identity_raw.bin' (FORMAT binary)
\copy rid_in FROM 'results/10_identity_raw.bin' (FORMAT binary)
TRUNCATE raw;
INSERT INTO raw VALUES (convert_to('11010520991231002X', 'UTF8'), 'future');
\copy raw TO 'results/10_identity_raw.bin' (FORMAT binary)
\copy rid_in FROM 'results/10_identity_raw.bin' (FORMAT binary)
TRUNCATE raw;
INSERT INTO raw VALUES ('\x0000000000000000'::bytea, 'an int8');
\copy raw TO 'results/10_identity_raw.bin' (FORMAT binary)
\copy rid_in FROM 'results/10_identity_raw.bin' (FORMAT binary)
SELECT count(*) AS loaded FROM rid_in;

-- index scans: btree (the primary key) and hash
ANALYZE rid;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT note FROM rid WHERE id = '11010519491231002X';
SELECT note FROM rid WHERE id = '11010519491231002X';
EXPLAIN (COSTS OFF) SELECT id FROM rid WHERE id BETWEEN '440106195001010015' AND '440106195001019992' ORDER BY id;
SELECT id FROM rid WHERE id BETWEEN '440106195001010015' AND '440106195001019992' ORDER BY id;
CREATE INDEX rid_copy_hash ON rid_copy USING hash (id);
ANALYZE rid_copy;
EXPLAIN (COSTS OFF) SELECT note FROM rid_copy WHERE id = '440524200002290010';
SELECT note FROM rid_copy WHERE id = '440524200002290010';
RESET enable_seqscan;
RESET enable_bitmapscan;
-- a hash join uses the hash opclass
SET enable_mergejoin = off;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM rid a JOIN rid_copy b USING (id);
SELECT count(*) FROM rid a JOIN rid_copy b USING (id);
RESET enable_mergejoin;
RESET enable_nestloop;

-- normalize_document: every kind, as people type them
SELECT kind, number, normalize_document(kind, number) AS canonical,
       mask_document(kind, number) AS masked
  FROM (VALUES
    ('cn_resident_id', '110105 19491231 002x'),
    ('cn_resident_id', '110105491231002'),
    ('hkid', 'a123456 (3)'),
    ('hkid', 'G123456a'),
    ('macau_id', '1/234567/8'),
    ('home_return_permit', 'h1234567801'),
    ('hk_macau_permit', 'ｃ１２３４５６７８'),
    ('cn_passport', 'ea 123 4567'),
    ('passport', 'GB－12345679'),
    ('uscc', '91350100-M000100Y4-3'),
    ('org_code', 'd2143569x'),
    ('plate', '粵b·12345'),
    ('plate', '粤B D12345'),
    ('plate', '粤Z·1234港')
  ) v(kind, number);

-- every bad number: 22P02, the value quoted, the reason in the detail
SELECT normalize_document('hkid', 'A123456(4)');
SELECT normalize_document('hkid', 'C668668(E)');
SELECT normalize_document('macau_id', '2123456(7)');
SELECT normalize_document('home_return_permit', 'X12345678');
SELECT normalize_document('hk_macau_permit', 'C1234567');
SELECT normalize_document('cn_passport', 'GA1234567');
SELECT normalize_document('passport', 'GB#1234567');
SELECT normalize_document('passport', 'GB 12');
SELECT normalize_document('uscc', '91350100M000100Y44');
SELECT normalize_document('uscc', '91350100M000100O43');
SELECT normalize_document('org_code', 'D2143569-1');
SELECT normalize_document('plate', '粤B1O345');
SELECT normalize_document('plate', '粤A1234港');
SELECT normalize_document('plate', '   ');
SELECT mask_document('hkid', 'A12345');
-- an unknown kind is a bad parameter: 22023 with the list of kinds
SELECT normalize_document('id_card', 'E12345678');
SELECT is_valid_document('hkid', 'A123456(3)') AS good,
       is_valid_document('hkid', 'A123456(4)') AS bad;
SELECT is_valid_document('passport', 'GB－12345679') AS good,
       is_valid_document('passport', 'GB#1') AS bad;
SELECT document_kinds();

-- names for display
SELECT name, mask_name(name)
  FROM (VALUES ('张明'), ('张三明'), ('欧阳小明'), ('买买提·艾力'), ('张'),
               ('Chan Tai Man'), ('  mary-jane  o''neil '), ('José Müller')) v(name);
SELECT mask_name(' ');

-- all purpose roles may call the pure functions; PUBLIC may not
SELECT r, has_function_privilege(r, 'healthpass.normalize_document(text,text)', 'EXECUTE') AS normalize,
       has_function_privilege(r, 'healthpass.cn_resident_id_mask(healthpass.cn_resident_id)', 'EXECUTE') AS mask,
       has_function_privilege(r, 'healthpass.cn_resident_id_eq(healthpass.cn_resident_id,healthpass.cn_resident_id)', 'EXECUTE') AS eq
  FROM unnest(ARRAY['healthpass_admin', 'healthpass_app', 'healthpass_scanner',
                    'healthpass_health', 'healthpass_report']) r;
SELECT bool_or(has_function_privilege('public', p.oid, 'EXECUTE')) AS public_may_execute
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'healthpass')
   AND p.proname IN ('normalize_document', 'mask_document', 'mask_name', 'birth_date');

DROP TABLE rid, rid_copy, raw, rid_in;
