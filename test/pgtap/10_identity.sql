-- 10_identity: identity documents. Every kind gets at least 10 valid and 10
-- invalid numbers (SQLSTATE, exact message and exact detail); check
-- characters are verified against reference implementations written here
-- from the standards' verification formulas, independent of the C code.
BEGIN;
SET search_path = public, healthpass;
SELECT plan(627);

-- ---------------------------------------------------------------------
-- reference check formulas (from the standards, not from src/)

-- GB 11643-1999 / ISO 7064 MOD 11-2: sum of a_i * 2^(18-i) over all 18
-- characters (X = 10) is 1 modulo 11
CREATE FUNCTION pg_temp.gb11643_ok(id text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT length(id) = 18 AND id ~ '^[0-9]{17}[0-9X]$' AND
         sum(CASE substr(id, i, 1) WHEN 'X' THEN 10 ELSE substr(id, i, 1)::int END
             * ((1 << (18 - i)) % 11)) % 11 = 1
    FROM generate_series(1, 18) i
$$;

-- HKID: letters A=10..Z=35, a missing first letter counts as a space (36);
-- weights 9..1 over the 9 symbols including the check (A = 10): sum is 0 mod 11
CREATE FUNCTION pg_temp.hkid_ok(id text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  WITH p AS (SELECT lpad(replace(replace(id, '(', ''), ')', ''), 9, ' ') AS s)
  SELECT sum(CASE WHEN c = ' ' THEN 36
                  WHEN c ~ '[0-9]' THEN c::int
                  WHEN i = 9 AND c = 'A' THEN 10
                  ELSE ascii(c) - 55 END * (10 - i)) % 11 = 0
    FROM p, generate_series(1, 9) i, substr(p.s, i, 1) c
$$;

-- GB 32100-2015: characters 0-9 A-H J-N P-R T U W-Y valued 0..30; the sum of
-- value_i * 3^(i-1) over 17 characters plus the check's value is 0 mod 31
CREATE FUNCTION pg_temp.uscc_ok(code text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT length(code) = 18 AND
         (sum((strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, i, 1)) - 1)
              * (power(3, i - 1)::bigint % 31))
          + strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, 18, 1)) - 1) % 31 = 0
    FROM generate_series(1, 17) i
$$;

-- GB 11714: weights 3 7 9 10 5 8 4 2, letters A=10..Z=35, check X = 10:
-- weighted sum plus check is 0 mod 11 (the code written XXXXXXXX-C)
CREATE FUNCTION pg_temp.org_ok(code text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT (sum(CASE WHEN substr(code, i, 1) ~ '[0-9]' THEN substr(code, i, 1)::int
                   ELSE ascii(substr(code, i, 1)) - 55 END
              * (ARRAY[3, 7, 9, 10, 5, 8, 4, 2])[i])
          + CASE right(code, 1) WHEN 'X' THEN 10 ELSE right(code, 1)::int END) % 11 = 0
    FROM generate_series(1, 8) i
$$;

-- a typed value for a test name: control characters spelt out
CREATE FUNCTION pg_temp.shown(v text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT replace(replace(v, E'\t', '\t'), E'\n', '\n')
$$;

-- the detail of the error a normalize_document call raises
CREATE FUNCTION pg_temp.detail_of(kind text, number text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  d text;
BEGIN
  PERFORM healthpass.normalize_document(kind, number);
  RETURN '(no error)';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
  RETURN d;
END
$$;

-- the reference formulas agree with the published examples
SELECT ok(pg_temp.gb11643_ok('11010519491231002X'), 'GB 11643 example 11010519491231002X passes the reference formula');
SELECT ok(NOT pg_temp.gb11643_ok('110105194912310021'), 'reference formula rejects a changed check');
SELECT ok(pg_temp.hkid_ok('A123456(3)'), 'HKID example A123456(3) passes the reference formula');
SELECT ok(pg_temp.uscc_ok('91350100M000100Y43'), 'GB 32100 example 91350100M000100Y43 passes the reference formula');
SELECT ok(pg_temp.org_ok('D2143569-X'), 'GB 11714 example D2143569-X passes the reference formula');

-- ---------------------------------------------------------------------
-- valid numbers: (kind, as typed, canonical)
CREATE TEMP TABLE valid_cases (kind text, typed text, canonical text);
INSERT INTO valid_cases VALUES
  -- cn_resident_id: GB 11643-1999's example and numbers checked with python
  ('cn_resident_id', '11010519491231002X', '11010519491231002X'),
  ('cn_resident_id', '11010519491231002x', '11010519491231002X'),
  ('cn_resident_id', '110105491231002', '11010519491231002X'),
  ('cn_resident_id', '110105 19491231 002X', '11010519491231002X'),
  ('cn_resident_id', '110105-1949-1231-002X', '11010519491231002X'),
  ('cn_resident_id', '１１０１０５１９４９１２３１００２ｘ', '11010519491231002X'),
  ('cn_resident_id', E'\t11010519491231002X\n', '11010519491231002X'),
  ('cn_resident_id', '440524200002290010', '440524200002290010'),
  ('cn_resident_id', '440106190001010012', '440106190001010012'),
  ('cn_resident_id', '810000199001010019', '810000199001010019'),
  ('cn_resident_id', '830000198506150024', '830000198506150024'),
  ('cn_resident_id', '650102197805230470', '650102197805230470'),
  ('cn_resident_id', '44030519991231109x', '44030519991231109X'),
  ('cn_resident_id', '370202202301100092', '370202202301100092'),
  -- hkid
  ('hkid', 'A123456(3)', 'A123456(3)'),
  ('hkid', 'a123456(3)', 'A123456(3)'),
  ('hkid', 'A1234563', 'A123456(3)'),
  ('hkid', 'A123456 (3)', 'A123456(3)'),
  ('hkid', 'A123456（3）', 'A123456(3)'),
  ('hkid', 'G123456(A)', 'G123456(A)'),
  ('hkid', 'g123456a', 'G123456(A)'),
  ('hkid', 'AB987654(3)', 'AB987654(3)'),
  ('hkid', 'xa 123456 (8)', 'XA123456(8)'),
  ('hkid', 'Ｚ６８３３６５（Ａ）', 'Z683365(A)'),
  ('hkid', 'K034178(9)', 'K034178(9)'),
  ('hkid', 'WX123789-4', 'WX123789(4)'),
  ('hkid', 'R000000(A)', 'R000000(A)'),
  -- macau_id (format only)
  ('macau_id', '1234567(8)', '1234567(8)'),
  ('macau_id', '12345678', '1234567(8)'),
  ('macau_id', '1/234567/8', '1234567(8)'),
  ('macau_id', '5123456(0)', '5123456(0)'),
  ('macau_id', '7654321(1)', '7654321(1)'),
  ('macau_id', '１２３４５６７（８）', '1234567(8)'),
  ('macau_id', '5 215853 (4)', '5215853(4)'),
  ('macau_id', '7-123456-0', '7123456(0)'),
  ('macau_id', '1234567 8', '1234567(8)'),
  ('macau_id', '1.234567.8', '1234567(8)'),
  -- home_return_permit: the issue count is dropped
  ('home_return_permit', 'H12345678', 'H12345678'),
  ('home_return_permit', 'M87654321', 'M87654321'),
  ('home_return_permit', 'h12345678', 'H12345678'),
  ('home_return_permit', 'H1234567801', 'H12345678'),
  ('home_return_permit', 'M 8765 4321 03', 'M87654321'),
  ('home_return_permit', 'Ｈ１２３４５６７８', 'H12345678'),
  ('home_return_permit', 'H-12345678', 'H12345678'),
  ('home_return_permit', 'm87654321', 'M87654321'),
  ('home_return_permit', 'H12345678 01', 'H12345678'),
  ('home_return_permit', 'H00000001', 'H00000001'),
  -- hk_macau_permit
  ('hk_macau_permit', 'C12345678', 'C12345678'),
  ('hk_macau_permit', 'W12345678', 'W12345678'),
  ('hk_macau_permit', 'c12345678', 'C12345678'),
  ('hk_macau_permit', 'C 1234 5678', 'C12345678'),
  ('hk_macau_permit', 'Ｃ１２３４５６７８', 'C12345678'),
  ('hk_macau_permit', 'w-12345678', 'W12345678'),
  ('hk_macau_permit', 'C87654321', 'C87654321'),
  ('hk_macau_permit', 'W 8765.4321', 'W87654321'),
  ('hk_macau_permit', 'c1234 5678', 'C12345678'),
  ('hk_macau_permit', 'C00000001', 'C00000001'),
  -- cn_passport
  ('cn_passport', 'E12345678', 'E12345678'),
  ('cn_passport', 'G12345678', 'G12345678'),
  ('cn_passport', 'EA1234567', 'EA1234567'),
  ('cn_passport', 'e12345678', 'E12345678'),
  ('cn_passport', 'ea1234567', 'EA1234567'),
  ('cn_passport', 'E 1234 5678', 'E12345678'),
  ('cn_passport', 'Ｅ１２３４５６７８', 'E12345678'),
  ('cn_passport', 'EH 123 4567', 'EH1234567'),
  ('cn_passport', 'g-12345678', 'G12345678'),
  ('cn_passport', 'EJ7654321', 'EJ7654321'),
  -- passport (any other country's): 5 to 20 letters and digits
  ('passport', 'GB－12345679', 'GB12345679'),
  ('passport', 'ｇｂ 1234-5678', 'GB12345678'),
  ('passport', 'X1234567', 'X1234567'),
  ('passport', '123456789', '123456789'),
  ('passport', 'c01x00t47', 'C01X00T47'),
  ('passport', 'L898902C3', 'L898902C3'),
  ('passport', '12345', '12345'),
  ('passport', 'ABCDEFGHIJ0123456789', 'ABCDEFGHIJ0123456789'),
  ('passport', 'P–1234567', 'P1234567'),
  ('passport', 'Ｋ１２３４５６７８', 'K12345678'),
  ('passport', 'ab.123.456', 'AB123456'),
  ('passport', E'\tAB　123456\n', 'AB123456'),
  -- uscc: GB 32100-2015's example and codes checked with python
  ('uscc', '91350100M000100Y43', '91350100M000100Y43'),
  ('uscc', '91350100m000100y43', '91350100M000100Y43'),
  ('uscc', '9135 0100 M000 100Y 43', '91350100M000100Y43'),
  ('uscc', '91350100-M000100Y4-3', '91350100M000100Y43'),
  ('uscc', '９１３５０１００Ｍ０００１００Ｙ４３', '91350100M000100Y43'),
  ('uscc', '91110000600001760P', '91110000600001760P'),
  ('uscc', '12100000400010398P', '12100000400010398P'),
  ('uscc', '51440300MJL111111D', '51440300MJL111111D'),
  ('uscc', '31440000G348493U3L', '31440000G348493U3L'),
  ('uscc', 'Y1440300MA5FXXXX19', 'Y1440300MA5FXXXX19'),
  ('uscc', '11100000000013127D', '11100000000013127D'),
  -- org_code: GB 11714's example and codes checked with python
  ('org_code', 'D2143569-X', 'D2143569-X'),
  ('org_code', 'd2143569x', 'D2143569-X'),
  ('org_code', 'D2143569 X', 'D2143569-X'),
  ('org_code', 'M000100Y-4', 'M000100Y-4'),
  ('org_code', '60000176-0', '60000176-0'),
  ('org_code', '40001039-8', '40001039-8'),
  ('org_code', 'MA5D4NQX8', 'MA5D4NQX-8'),
  ('org_code', 'Ｇ３４８４９３Ｕ－３', 'G348493U-3'),
  ('org_code', '00000000-0', '00000000-0'),
  ('org_code', 'ZZZZZZZZ-3', 'ZZZZZZZZ-3'),
  ('org_code', 'abcdefgh-5', 'ABCDEFGH-5'),
  -- plate
  ('plate', '粤B12345', '粤B12345'),
  ('plate', '粤b12345', '粤B12345'),
  ('plate', '粤B·12345', '粤B12345'),
  ('plate', '京A 88888', '京A88888'),
  ('plate', '粵B12345', '粤B12345'),
  ('plate', '沪Ａ１２３４５', '沪A12345'),
  ('plate', '粤BD12345', '粤BD12345'),
  ('plate', '粤B12345D', '粤B12345D'),
  ('plate', '粤B DA1234', '粤BDA1234'),
  ('plate', '粤b·f12345', '粤BF12345'),
  ('plate', '粤Z1234港', '粤Z1234港'),
  ('plate', '粤Z·1234澳', '粤Z1234澳'),
  ('plate', '粤A1234警', '粤A1234警'),
  ('plate', '京A1234學', '京A1234学'),
  ('plate', '粤A1234挂', '粤A1234挂'),
  ('plate', '川A-AB123', '川AAB123');

SELECT is(healthpass.normalize_document(kind, typed), canonical,
          format('%s %s is %s', kind, pg_temp.shown(typed), canonical))
  FROM valid_cases ORDER BY kind, typed;
SELECT ok(healthpass.is_valid_document(kind, typed),
          format('is_valid_document(%s, %s)', kind, pg_temp.shown(typed)))
  FROM valid_cases ORDER BY kind, typed;

-- the canonical forms with check characters satisfy the reference formulas
SELECT is(count(*) FILTER (WHERE NOT pg_temp.gb11643_ok(canonical)), 0::bigint,
          'every valid resident ID passes the MOD 11-2 reference formula')
  FROM valid_cases WHERE kind = 'cn_resident_id';
SELECT is(count(*) FILTER (WHERE NOT pg_temp.hkid_ok(canonical)), 0::bigint,
          'every valid HKID passes the reference formula')
  FROM valid_cases WHERE kind = 'hkid';
SELECT is(count(*) FILTER (WHERE NOT pg_temp.uscc_ok(canonical)), 0::bigint,
          'every valid USCC passes the reference formula')
  FROM valid_cases WHERE kind = 'uscc';
SELECT is(count(*) FILTER (WHERE NOT pg_temp.org_ok(canonical)), 0::bigint,
          'every valid organization code passes the reference formula')
  FROM valid_cases WHERE kind = 'org_code';
SELECT ok(count(*) >= 10, format('at least 10 valid %s numbers', kind))
  FROM valid_cases GROUP BY kind ORDER BY kind;

-- ---------------------------------------------------------------------
-- invalid numbers: (kind, as typed, detail)
CREATE TEMP TABLE invalid_cases (kind text, typed text, detail text);
INSERT INTO invalid_cases VALUES
  ('cn_resident_id', '110105194912310021', 'The check character should be "X".'),
  ('cn_resident_id', '11010519491231002Y', 'The check character must be a digit or X.'),
  ('cn_resident_id', '1101051949123100X2', 'Only the last character may be X.'),
  ('cn_resident_id', '11010519491231002', 'A resident ID number has 18 characters (15 digits on a first-generation card), not 17.'),
  ('cn_resident_id', '110105194912310021X', 'A resident ID number has 18 characters (15 digits on a first-generation card), not 19.'),
  ('cn_resident_id', '99010519491231002X', 'The region code "990105" does not start with a province code.'),
  ('cn_resident_id', '00010519491231002X', 'The region code "000105" does not start with a province code.'),
  ('cn_resident_id', '11010519490229002X', 'The birth date "19490229" is not a real date.'),
  ('cn_resident_id', '110105194913010021', 'The birth date "19491301" is not a real date.'),
  ('cn_resident_id', '440524188001010014', 'The birth date 1880-01-01 is before 1900-01-01.'),
  ('cn_resident_id', '11010520991231002X', 'The birth date 2099-12-31 is in the future.'),
  ('cn_resident_id', '110105491331002', 'The birth date "19491331" is not a real date.'),
  ('cn_resident_id', '11010549123100X', 'A first-generation number has digits only.'),
  ('cn_resident_id', '', 'The number is empty.'),
  ('cn_resident_id', '110105#19491231002X', 'The character "#" is not allowed.'),
  ('cn_resident_id', 'ID11010519491231002X', 'The character "I" is not allowed.'),
  ('hkid', 'A123456(4)', 'The check character should be "3".'),
  ('hkid', 'C668668(E)', 'The check character must be a digit or A.'),
  ('hkid', 'A12345(3)', 'An HKID number has 1 or 2 letters, 6 digits and a check character.'),
  ('hkid', 'ABC123456(7)', 'An HKID number has 1 or 2 letters, 6 digits and a check character.'),
  ('hkid', '1234567(8)', 'An HKID number has 1 or 2 letters, 6 digits and a check character.'),
  ('hkid', 'A1234567(3)', 'An HKID number has 1 or 2 letters, 6 digits and a check character.'),
  ('hkid', 'A123456(3', 'Only the check character may be in brackets.'),
  ('hkid', 'A123456(33)', 'Only the check character may be in brackets.'),
  ('hkid', 'A123456#3', 'The character "#" is not allowed.'),
  ('hkid', '', 'The number is empty.'),
  ('hkid', 'AB987654(0)', 'The check character should be "3".'),
  ('hkid', 'A123456(B)', 'The check character must be a digit or A.'),
  ('hkid', 'K034178(2)', 'The check character should be "9".'),
  ('macau_id', '2123456(7)', 'The first digit must be 1, 5 or 7.'),
  ('macau_id', '9234567(1)', 'The first digit must be 1, 5 or 7.'),
  ('macau_id', '123456(7)', 'A Macau ID number has 7 digits and a check digit in brackets.'),
  ('macau_id', '12345678(9)', 'A Macau ID number has 7 digits and a check digit in brackets.'),
  ('macau_id', '1234567', 'A Macau ID number has 7 digits and a check digit in brackets.'),
  ('macau_id', 'A123456(7)', 'The character "A" is not allowed.'),
  ('macau_id', '1234567(A)', 'The character "A" is not allowed.'),
  ('macau_id', '', 'The number is empty.'),
  ('macau_id', '//', 'The number is empty.'),
  ('macau_id', '1234567(8', 'Only the check character may be in brackets.'),
  ('macau_id', '1234567((8))', 'Only the check character may be in brackets.'),
  ('home_return_permit', 'X12345678', 'The number must start with H (Hong Kong) or M (Macau).'),
  ('home_return_permit', '12345678', 'The number must start with H (Hong Kong) or M (Macau).'),
  ('home_return_permit', 'C12345678', 'The number must start with H (Hong Kong) or M (Macau).'),
  ('home_return_permit', 'H1234567', 'A home return permit number is H or M and 8 digits, optionally followed by a 2-digit issue count.'),
  ('home_return_permit', 'H123456789', 'A home return permit number is H or M and 8 digits, optionally followed by a 2-digit issue count.'),
  ('home_return_permit', 'H123456789012', 'A home return permit number is H or M and 8 digits, optionally followed by a 2-digit issue count.'),
  ('home_return_permit', 'HA1234567', 'A home return permit number is H or M and 8 digits, optionally followed by a 2-digit issue count.'),
  ('home_return_permit', 'H1234567A', 'A home return permit number is H or M and 8 digits, optionally followed by a 2-digit issue count.'),
  ('home_return_permit', 'H12345678(01)', 'The character "(" is not allowed.'),
  ('home_return_permit', '', 'The number is empty.'),
  ('hk_macau_permit', 'C1234567', 'An exit-entry permit number for Hong Kong and Macau is C or W and 8 digits.'),
  ('hk_macau_permit', 'C123456789', 'An exit-entry permit number for Hong Kong and Macau is C or W and 8 digits.'),
  ('hk_macau_permit', 'D12345678', 'The number must start with C (card) or W (older booklet).'),
  ('hk_macau_permit', 'CA1234567', 'An exit-entry permit number for Hong Kong and Macau is C or W and 8 digits.'),
  ('hk_macau_permit', 'H12345678', 'The number must start with C (card) or W (older booklet).'),
  ('hk_macau_permit', '12345678', 'The number must start with C (card) or W (older booklet).'),
  ('hk_macau_permit', 'C1234567X', 'An exit-entry permit number for Hong Kong and Macau is C or W and 8 digits.'),
  ('hk_macau_permit', '', 'The number is empty.'),
  ('hk_macau_permit', 'C12345678(1)', 'The character "(" is not allowed.'),
  ('hk_macau_permit', 'C１２３４５６７', 'An exit-entry permit number for Hong Kong and Macau is C or W and 8 digits.'),
  ('cn_passport', 'GA1234567', 'A passport number is E or G and 8 digits, or E, a letter and 7 digits.'),
  ('cn_passport', 'P12345678', 'The number must start with E (e-passport) or G (older passport).'),
  ('cn_passport', 'E1234567', 'A passport number is E or G and 8 digits, or E, a letter and 7 digits.'),
  ('cn_passport', 'E123456789', 'A passport number is E or G and 8 digits, or E, a letter and 7 digits.'),
  ('cn_passport', 'EAB123456', 'A passport number is E or G and 8 digits, or E, a letter and 7 digits.'),
  ('cn_passport', 'K12345678', 'The number must start with E (e-passport) or G (older passport).'),
  ('cn_passport', '12345678', 'The number must start with E (e-passport) or G (older passport).'),
  ('cn_passport', 'E1234567#', 'The character "#" is not allowed.'),
  ('cn_passport', '', 'The number is empty.'),
  ('cn_passport', 'EA123456', 'A passport number is E or G and 8 digits, or E, a letter and 7 digits.'),
  ('passport', 'AB#1', 'The character "#" is not allowed.'),
  ('passport', '1234', 'A passport number has 5 to 20 letters and digits, not 4.'),
  ('passport', 'A1', 'A passport number has 5 to 20 letters and digits, not 2.'),
  ('passport', 'ABCDEFGHIJ01234567890', 'A passport number has 5 to 20 letters and digits, not 21.'),
  ('passport', '', 'The number is empty.'),
  ('passport', '- －', 'The number is empty.'),
  ('passport', 'GB12345(6)', 'The character "(" is not allowed.'),
  ('passport', 'GB/12345678', 'The character "/" is not allowed.'),
  ('passport', 'É1234567', 'The character "É" is not allowed.'),
  ('passport', 'GB1234567_', 'The character "_" is not allowed.'),
  ('passport', '护照12345', 'The character "护" is not allowed.'),
  ('uscc', '91350100M000100Y44', 'The check character should be "3".'),
  ('uscc', '91350100M000100O43', 'The letter "O" is not used in unified social credit codes (no I, O, S, V or Z).'),
  ('uscc', '91350100M000100I43', 'The letter "I" is not used in unified social credit codes (no I, O, S, V or Z).'),
  ('uscc', 'Z1350100M000100Y43', 'The letter "Z" is not used in unified social credit codes (no I, O, S, V or Z).'),
  ('uscc', '91350100M000100Y4', 'A unified social credit code has 18 characters, not 17.'),
  ('uscc', '91350100M000100Y431', 'A unified social credit code has 18 characters, not 19.'),
  ('uscc', '91A50100M000100Y43', 'Characters 3 to 8 (the region code) must be digits.'),
  ('uscc', '91350100M000100Y4#', 'The character "#" is not allowed.'),
  ('uscc', '', 'The number is empty.'),
  ('uscc', '91110000600001760Q', 'The check character should be "P".'),
  ('uscc', '91350100M000100Y34', 'The check character should be "0".'),
  ('org_code', 'D2143569-1', 'The check character should be "X".'),
  ('org_code', 'D2143569-A', 'The check character must be a digit or X.'),
  ('org_code', 'D214356-X', 'An organization code has 8 digits or letters and a check character, not 8 characters.'),
  ('org_code', 'D21435690X', 'An organization code has 8 digits or letters and a check character, not 10 characters.'),
  ('org_code', 'D2143569#X', 'The character "#" is not allowed.'),
  ('org_code', '', 'The number is empty.'),
  ('org_code', 'M000100Y-3', 'The check character should be "4".'),
  ('org_code', '60000176-X', 'The check character should be "0".'),
  ('org_code', '91350100M000100Y43', 'An organization code has 8 digits or letters and a check character, not 18 characters.'),
  ('org_code', 'D2143596-X', 'The check character should be "4".'),
  ('plate', 'B12345', 'A plate starts with a province character such as 粤 or 京.'),
  ('plate', '港B12345', 'A plate starts with a province character such as 粤 or 京.'),
  ('plate', '粤12345', 'The second character must be the letter of the issuing office.'),
  ('plate', '粤B1234', 'A plate has a province character, the issuing office''s letter and 5 letters or digits (6 on a new-energy plate).'),
  ('plate', '粤B1234567', 'A plate has a province character, the issuing office''s letter and 5 letters or digits (6 on a new-energy plate).'),
  ('plate', '粤B1O345', 'The letters I and O are not used in plate numbers.'),
  ('plate', '粤BI2345', 'The letters I and O are not used in plate numbers.'),
  ('plate', '粤B123456', 'A new-energy plate has D or F, a letter or digit and 4 digits, or 5 digits and D or F.'),
  ('plate', '粤BX12345', 'A new-energy plate has D or F, a letter or digit and 4 digits, or 5 digits and D or F.'),
  ('plate', '粤A1234港', 'Hong Kong and Macau plates are 粤Z plates.'),
  ('plate', '粤B12345警', 'A plate ending in "警" has 4 letters or digits before it.'),
  ('plate', '粤B1234#', 'The character "#" is not allowed.'),
  ('plate', '', 'The number is empty.');

SELECT throws_ok(format('SELECT healthpass.normalize_document(%L, %L)', kind, typed),
                 '22P02', format('invalid %s number: "%s"', kind, typed),
                 format('%s %s is rejected', kind, typed))
  FROM invalid_cases ORDER BY kind, typed;
SELECT is(pg_temp.detail_of(kind, typed), detail,
          format('%s %s: %s', kind, typed, detail))
  FROM invalid_cases ORDER BY kind, typed;
SELECT ok(NOT healthpass.is_valid_document(kind, typed),
          format('is_valid_document(%s, %s) is false', kind, typed))
  FROM invalid_cases WHERE kind IN ('hkid', 'plate', 'passport') ORDER BY kind, typed;
SELECT ok(count(*) >= 10, format('at least 10 invalid %s numbers', kind))
  FROM invalid_cases GROUP BY kind ORDER BY kind;

-- ---------------------------------------------------------------------
-- check characters of generated numbers agree with the reference formulas:
-- for each body, exactly the candidate the formula accepts is accepted
SELECT setseed(0.2024);
CREATE TEMP TABLE rid_bodies AS
SELECT (ARRAY['11', '31', '44', '65', '81', '83'])[1 + (random() * 5)::int]
       || lpad((random() * 9999)::int::text, 4, '0')
       || to_char(date '1900-01-01' + (random() * (current_date - date '1900-01-01'))::int, 'YYYYMMDD')
       || lpad((random() * 999)::int::text, 3, '0') AS body
  FROM generate_series(1, 300);
SELECT is(count(*) FILTER (WHERE healthpass.is_valid_document('cn_resident_id', body || c)
                                 <> pg_temp.gb11643_ok(body || c)), 0::bigint,
          'resident ID: the check character is the one of ISO 7064 MOD 11-2 (300 numbers x 11 candidates)')
  FROM rid_bodies, unnest(string_to_array('0123456789X', NULL)) c;
SELECT is(count(*), 300::bigint, 'resident ID: exactly one check character per body')
  FROM rid_bodies, unnest(string_to_array('0123456789X', NULL)) c
 WHERE healthpass.is_valid_document('cn_resident_id', body || c);

CREATE TEMP TABLE hk_bodies AS
SELECT CASE WHEN random() < 0.5 THEN '' ELSE chr(65 + (random() * 25)::int) END
       || chr(65 + (random() * 25)::int)
       || lpad((random() * 999999)::int::text, 6, '0') AS body
  FROM generate_series(1, 300);
SELECT is(count(*) FILTER (WHERE healthpass.is_valid_document('hkid', body || '(' || c || ')')
                                 <> pg_temp.hkid_ok(body || '(' || c || ')')), 0::bigint,
          'HKID: the check character is the MOD 11 one (300 numbers x 11 candidates)')
  FROM hk_bodies, unnest(string_to_array('0123456789A', NULL)) c;
SELECT is(count(*), 300::bigint, 'HKID: exactly one check character per body')
  FROM hk_bodies, unnest(string_to_array('0123456789A', NULL)) c
 WHERE healthpass.is_valid_document('hkid', body || c);

CREATE TEMP TABLE uscc_bodies AS
SELECT substr('123456789ANY', 1 + (random() * 11)::int, 1)
       || (1 + (random() * 8)::int)::text
       || lpad((random() * 999999)::int::text, 6, '0')
       || (SELECT string_agg(substr('0123456789ABCDEFGHJKLMNPQRTUWXY', 1 + (random() * 30)::int, 1), '')
             FROM generate_series(1, 9) WHERE g > 0) AS body
  FROM generate_series(1, 200) g;
SELECT is(count(*) FILTER (WHERE healthpass.is_valid_document('uscc', body || c)
                                 <> pg_temp.uscc_ok(body || c)), 0::bigint,
          'USCC: the check character is the MOD 31 one (200 codes x 31 candidates)')
  FROM uscc_bodies, unnest(string_to_array('0123456789ABCDEFGHJKLMNPQRTUWXY', NULL)) c;
SELECT is(count(*), 200::bigint, 'USCC: exactly one check character per body')
  FROM uscc_bodies, unnest(string_to_array('0123456789ABCDEFGHJKLMNPQRTUWXY', NULL)) c
 WHERE healthpass.is_valid_document('uscc', body || c);

CREATE TEMP TABLE org_bodies AS
SELECT (SELECT string_agg(substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', 1 + (random() * 35)::int, 1), '')
          FROM generate_series(1, 8) WHERE g > 0) AS body
  FROM generate_series(1, 200) g;
SELECT is(count(*) FILTER (WHERE healthpass.is_valid_document('org_code', body || '-' || c)
                                 <> pg_temp.org_ok(body || '-' || c)), 0::bigint,
          'organization code: the check character is the GB 11714 one (200 codes x 11 candidates)')
  FROM org_bodies, unnest(string_to_array('0123456789X', NULL)) c;
SELECT is(count(*), 200::bigint, 'organization code: exactly one check character per body')
  FROM org_bodies, unnest(string_to_array('0123456789X', NULL)) c
 WHERE healthpass.is_valid_document('org_code', body || c);

-- canonical forms are fixed points
SELECT is(count(*) FILTER (WHERE healthpass.normalize_document(kind, canonical) <> canonical),
          0::bigint, 'normalize_document of a canonical form returns it unchanged')
  FROM valid_cases;

-- typing noise: separators anywhere, any case, full-width characters
CREATE FUNCTION pg_temp.noisy(v text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  seps text[] := ARRAY[' ', '-', '.', '·', chr(12288), E'\t', chr(8211)];
  out text := '';
  ch text;
BEGIN
  FOREACH ch IN ARRAY string_to_array(v, NULL) LOOP
    IF random() < 0.3 THEN
      out := out || seps[1 + (random() * (array_length(seps, 1) - 1))::int];
    END IF;
    IF random() < 0.5 THEN
      ch := lower(ch);
    END IF;
    IF random() < 0.3 AND ascii(ch) BETWEEN 33 AND 126 THEN
      ch := chr(ascii(ch) + 65248);
    END IF;
    out := out || ch;
  END LOOP;
  RETURN out;
END
$$;
SELECT is(count(*) FILTER (WHERE healthpass.normalize_document(kind, pg_temp.noisy(canonical)) <> canonical),
          0::bigint, 'typing noise (separators, case, full width) normalises away (20 variants of each valid number)')
  FROM valid_cases, generate_series(1, 20);

-- fuzz: random strings of digits, letters, brackets, separators, full-width
-- forms, Chinese characters and emoji never crash or raise anything but
-- 22P02, and whatever is accepted normalises to a fixed point
CREATE FUNCTION pg_temp.fuzz(kinds text[], rounds int) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  alphabet text[] := string_to_array('0123456789ABXYZaxz()（）-. ·/#１Ｘ粤粵京港澳警学D F' || chr(12288) || chr(128512) || chr(65279), NULL);
  s text;
  k text;
  c text;
  problems text := '';
BEGIN
  FOR i IN 1 .. rounds LOOP
    s := '';
    FOR j IN 1 .. (random() * 24)::int LOOP
      s := s || alphabet[1 + (random() * (array_length(alphabet, 1) - 1))::int];
    END LOOP;
    FOREACH k IN ARRAY kinds LOOP
      BEGIN
        c := healthpass.normalize_document(k, s);
        IF healthpass.normalize_document(k, c) <> c THEN
          problems := problems || format('%s %s not a fixed point; ', k, s);
        END IF;
      EXCEPTION WHEN invalid_text_representation THEN
        NULL;
      END;
    END LOOP;
    BEGIN
      PERFORM healthpass.mask_name(s);
    EXCEPTION WHEN invalid_text_representation THEN
      NULL;
    END;
  END LOOP;
  RETURN problems;
END
$$;
SELECT is(pg_temp.fuzz(ARRAY(SELECT healthpass.document_kinds()), 3000), '',
          'fuzz: 3000 random strings x 10 kinds and mask_name');

-- ---------------------------------------------------------------------
-- the cn_resident_id type
SELECT is('11010519491231002x'::healthpass.cn_resident_id::text, '11010519491231002X', 'type: x is stored upper case');
SELECT is('110105491231002'::healthpass.cn_resident_id::text, '11010519491231002X', 'type: 15 digits get 19 and a check character');
SELECT is(healthpass.cn_resident_id_birth_date('11010519491231002X'), date '1949-12-31', 'birth_date');
SELECT is(healthpass.cn_resident_id_sex('11010519491231002X'), 'female', 'sex: even sequence 002 is female');
SELECT is(healthpass.cn_resident_id_sex('440524200002290010'), 'male', 'sex: odd sequence 001 is male');
SELECT is(healthpass.cn_resident_id_region_code('11010519491231002X'), '110105', 'region_code');
SELECT is(healthpass.cn_resident_id_age('11010519491231002X', date '2024-12-30'), 74, 'age the day before the birthday');
SELECT is(healthpass.cn_resident_id_age('11010519491231002X', date '2024-12-31'), 75, 'age on the birthday');
SELECT is(healthpass.cn_resident_id_age('11010519491231002X', date '1949-12-31'), 0, 'age on the birth date');
SELECT is(healthpass.cn_resident_id_age('440524200002290010', date '2023-02-28'), 22, 'born 29 February: not older on 28 February');
SELECT is(healthpass.cn_resident_id_age('440524200002290010', date '2023-03-01'), 23, 'born 29 February: older on 1 March');
SELECT is(healthpass.cn_resident_id_age('11010519491231002X'), healthpass.cn_resident_id_age('11010519491231002X', current_date), 'age defaults to today');
SELECT is(healthpass.cn_resident_id_mask('11010519491231002X'), '1101**********002X', 'mask keeps the first 4 and last 4');
SELECT throws_ok($$SELECT healthpass.cn_resident_id_age('11010519491231002X', date '1949-12-30')$$,
                 '22023', 'date "1949-12-30" is before the birth date', 'age before birth');
SELECT throws_ok($$SELECT healthpass.cn_resident_id_age('11010519491231002X', 'infinity')$$,
                 '22008', 'cannot compute an age at "infinity"', 'age at infinity');

-- strict text input: no separators or full-width digits (normalize_document takes those)
SELECT throws_ok($$SELECT ' 11010519491231002X'::healthpass.cn_resident_id$$,
                 '22P02', 'invalid cn_resident_id number: " 11010519491231002X"', 'type: spaces rejected');
SELECT throws_ok($$SELECT '11010519491231002X '::healthpass.cn_resident_id$$,
                 '22P02', 'invalid cn_resident_id number: "11010519491231002X "', 'type: trailing space rejected');
SELECT throws_ok($$SELECT '110105-19491231-002X'::healthpass.cn_resident_id$$,
                 '22P02', 'invalid cn_resident_id number: "110105-19491231-002X"', 'type: hyphens rejected');
SELECT throws_ok($$SELECT '１１０１０５１９４９１２３１００２Ｘ'::healthpass.cn_resident_id$$,
                 '22P02', 'invalid cn_resident_id number: "１１０１０５１９４９１２３１００２Ｘ"', 'type: full-width rejected');
SELECT throws_ok($$SELECT '110105194912310021'::healthpass.cn_resident_id$$,
                 '22P02', 'invalid cn_resident_id number: "110105194912310021"', 'type: wrong check');
SELECT throws_ok($$SELECT '440524188001010014'::healthpass.cn_resident_id$$,
                 '22P02', 'invalid cn_resident_id number: "440524188001010014"', 'type: GB 11643 example born 1880 is before 1900');
SELECT throws_ok(format('SELECT %L::healthpass.cn_resident_id', repeat('9', 60)),
                 '22P02', format('invalid cn_resident_id number: "%s..."', repeat('9', 40)), 'type: long values are cut in the message');

-- today is a valid birth date, tomorrow (anywhere on Earth) is not
SELECT ok(healthpass.is_valid_document('cn_resident_id', b || c), 'born today is valid')
  FROM (SELECT '440106' || to_char(current_date, 'YYYYMMDD') || '001' AS b) s,
       unnest(string_to_array('0123456789X', NULL)) c
 WHERE pg_temp.gb11643_ok(b || c);
SELECT is(pg_temp.detail_of('cn_resident_id', b || c),
          format('The birth date %s is in the future.', to_char(current_date + 3, 'YYYY-MM-DD')),
          'born three days from now is in the future')
  FROM (SELECT '440106' || to_char(current_date + 3, 'YYYYMMDD') || '001' AS b) s,
       unnest(string_to_array('0123456789X', NULL)) c
 WHERE pg_temp.gb11643_ok(b || c);

-- the order of the type is the order of the text; accessors agree with the text
CREATE TEMP TABLE rid_numbers AS
SELECT body || c AS id
  FROM rid_bodies, unnest(string_to_array('0123456789X', NULL)) c
 WHERE pg_temp.gb11643_ok(body || c);
SELECT is((SELECT array_agg(id::healthpass.cn_resident_id::text ORDER BY id::healthpass.cn_resident_id) FROM rid_numbers),
          (SELECT array_agg(id ORDER BY id COLLATE "C") FROM rid_numbers),
          'type: sorts like its text');
SELECT is(count(*) FILTER (WHERE healthpass.cn_resident_id_birth_date(id::healthpass.cn_resident_id) <> to_date(substr(id, 7, 8), 'YYYYMMDD')
                              OR healthpass.cn_resident_id_sex(id::healthpass.cn_resident_id) <> CASE WHEN substr(id, 17, 1)::int % 2 = 1 THEN 'male' ELSE 'female' END
                              OR healthpass.cn_resident_id_region_code(id::healthpass.cn_resident_id) <> left(id, 6)
                              OR healthpass.cn_resident_id_mask(id::healthpass.cn_resident_id) <> left(id, 4) || '**********' || right(id, 4)
                              OR id::healthpass.cn_resident_id::text <> id),
          0::bigint, 'type: accessors and output agree with the digits (300 numbers)')
  FROM rid_numbers;
SELECT is(count(*) FILTER (WHERE healthpass.normalize_document('cn_resident_id', n15)
                                 <> left(n15, 6) || '19' || substr(n15, 7)
                                    || right(healthpass.normalize_document('cn_resident_id', n15), 1)
                              OR NOT pg_temp.gb11643_ok(healthpass.normalize_document('cn_resident_id', n15))),
          0::bigint, 'first-generation numbers: 19 inserted, check character by MOD 11-2')
  FROM (SELECT left(id, 6) || substr(id, 9, 9) AS n15 FROM rid_numbers WHERE substr(id, 7, 2) = '19') s;

-- equal values hash equally (x and X, 15 and 18 digits)
SELECT is(healthpass.cn_resident_id_hash('110105491231002'),
          healthpass.cn_resident_id_hash('11010519491231002x'), 'type: equal numbers hash equally');
SELECT is(healthpass.cn_resident_id_hash_extended('110105491231002', 7),
          healthpass.cn_resident_id_hash_extended('11010519491231002X', 7), 'type: extended hash agrees');

-- ---------------------------------------------------------------------
-- masks
SELECT is(healthpass.mask_document(kind, typed), masked, format('mask_document(%s, %s)', kind, typed))
  FROM (VALUES
    ('cn_resident_id', '110105 19491231 002x', '1101**********002X'),
    ('hkid', 'a123456(3)', 'A1*****(3)'),
    ('hkid', 'AB987654(3)', 'AB******(3)'),
    ('macau_id', '1234567(8)', '12*****(8)'),
    ('home_return_permit', 'H1234567801', 'H1*****78'),
    ('hk_macau_permit', 'C12345678', 'C1*****78'),
    ('cn_passport', 'EA1234567', 'EA*****67'),
    ('passport', 'GB－12345679', 'GB******79'),
    ('passport', '12345', '12*45'),
    ('uscc', '91350100M000100Y43', '9135**********0Y43'),
    ('org_code', 'D2143569X', 'D2******-X'),
    ('plate', '粤B12345', '粤B***45'),
    ('plate', '粤BD12345', '粤B****45'),
    ('plate', '粤A1234警', '粤A***4警')
  ) v(kind, typed, masked);
SELECT throws_ok($$SELECT healthpass.mask_document('hkid', 'A123456(4)')$$,
                 '22P02', 'invalid hkid number: "A123456(4)"', 'mask_document validates first');
SELECT throws_ok($$SELECT healthpass.mask_document('passport', 'GB#12345678')$$,
                 '22P02', 'invalid passport number: "GB#12345678"', 'mask_document validates passports too');

SELECT is(healthpass.mask_name(name), masked, format('mask_name(%s)', name))
  FROM (VALUES
    ('张明', '张*'),
    ('张三明', '张*明'),
    ('欧阳小明', '欧**明'),
    ('司马相如风', '司***风'),
    ('张', '*'),
    ('买买提·艾力', '买**·*力'),
    ('  张三明　', '张*明'),
    ('Chan Tai Man', 'C*** T** M**'),
    ('  Chan   Tai Man ', 'C*** T** M**'),
    ('Mary-Jane O''Neil', 'M***-J*** O''N***'),
    ('José Müller', 'J*** M*****'),
    ('Li', 'L*'),
    ('A', 'A')
  ) v(name, masked);
SELECT throws_ok($$SELECT healthpass.mask_name(' ')$$, '22P02', 'invalid name: " "', 'mask_name of a blank name');
SELECT throws_ok($$SELECT healthpass.mask_name('·')$$, '22P02', 'invalid name: "·"', 'mask_name of separators only');

-- ---------------------------------------------------------------------
-- kinds
SELECT is(array_agg(k), ARRAY['cn_resident_id', 'hkid', 'macau_id', 'home_return_permit',
                              'hk_macau_permit', 'cn_passport', 'passport', 'uscc', 'org_code', 'plate'],
          'document_kinds lists the kinds in order')
  FROM healthpass.document_kinds() k;
SELECT throws_ok($$SELECT healthpass.normalize_document('id_card', 'E12345678')$$,
                 '22023', 'unknown document kind: "id_card"', 'unknown kind');
SELECT throws_ok($$SELECT healthpass.is_valid_document('passports', 'GB12345678')$$,
                 '22023', 'unknown document kind: "passports"', 'is_valid_document: unknown kind, however close');
SELECT throws_ok($$SELECT healthpass.normalize_document('HKID', 'A123456(3)')$$,
                 '22023', 'unknown document kind: "HKID"', 'kinds are lower case');
SELECT throws_ok($$SELECT healthpass.is_valid_document('vin', 'x')$$,
                 '22023', 'unknown document kind: "vin"', 'is_valid_document: unknown kind');
SELECT throws_ok($$SELECT healthpass.mask_document('', 'x')$$,
                 '22023', 'unknown document kind: ""', 'mask_document: unknown kind');
SELECT is(healthpass.normalize_document(NULL, 'A123456(3)'), NULL::text, 'STRICT: NULL kind gives NULL');

-- ---------------------------------------------------------------------
-- privileges: every purpose role, not PUBLIC
SELECT ok(has_function_privilege(r, f, 'EXECUTE'), format('%s may call %s', r, f))
  FROM unnest(ARRAY['healthpass_admin', 'healthpass_app', 'healthpass_scanner',
                    'healthpass_health', 'healthpass_report']) r,
       unnest(ARRAY['healthpass.normalize_document(text,text)',
                    'healthpass.mask_name(text)',
                    'healthpass.cn_resident_id_birth_date(healthpass.cn_resident_id)']) f;
SELECT ok(NOT has_function_privilege('public', 'healthpass.normalize_document(text,text)', 'EXECUTE'),
          'PUBLIC may not call normalize_document');

-- one registry of kinds, in C: what each identifies (SQL reads it; issue 10)
SELECT is((SELECT string_agg(k || '=' || healthpass.document_kind_holder(k), ',') FROM healthpass.document_kinds() k),
          'cn_resident_id=person,hkid=person,macau_id=person,home_return_permit=person,hk_macau_permit=person,'
          'cn_passport=person,passport=person,uscc=organisation,org_code=organisation,plate=vehicle',
          'every kind says what it identifies');
SELECT throws_ok($$SELECT healthpass.document_kind_holder('id_card')$$, '22023', 'unknown document kind: "id_card"',
                 'an unknown kind is refused');
SELECT is(healthpass.document_kind_holder(NULL), NULL, 'NULL in, NULL out (a pure function)');

SELECT * FROM finish();
ROLLBACK;
