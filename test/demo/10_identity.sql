-- demo: identity documents as people type them
\echo
\echo '== identity documents: numbers typed by people, normalised and masked'
SET search_path = public, healthpass;
SELECT kind, typed AS "typed by a person", normalize_document(kind, typed) AS canonical,
       mask_document(kind, typed) AS masked
  FROM (VALUES ('cn_resident_id', '110105 19491231 002x'),
               ('cn_resident_id', '110105491231002'),
               ('hkid', 'a123456（3）'),
               ('macau_id', '1/234567/8'),
               ('home_return_permit', 'h 1234 5678 01'),
               ('hk_macau_permit', 'ｃ１２３４５６７８'),
               ('cn_passport', 'ea 123 4567'),
               ('uscc', '91350100-M000100Y4-3'),
               ('org_code', 'd2143569x'),
               ('plate', '粵b·D12345')) v(kind, typed);

\echo '-- what the resident ID number itself says'
SELECT id, cn_resident_id_birth_date(id), cn_resident_id_sex(id), cn_resident_id_region_code(id), cn_resident_id_age(id) AS "age today", cn_resident_id_mask(id)
  FROM (VALUES (normalize_document('cn_resident_id', '11010519491231002x')::cn_resident_id),
               ('440524200002290010'::cn_resident_id)) v(id);

\echo '-- mistakes are caught with the reason'
SELECT typed, is_valid_document('cn_resident_id', typed) AS valid
  FROM (VALUES ('11010519491231002X'), ('110105194912310021'), ('11010520991231002X')) v(typed);
DO $$
DECLARE
    msg text;
    detail text;
BEGIN
    PERFORM healthpass.normalize_document('hkid', 'A123456(4)');
EXCEPTION WHEN invalid_text_representation THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'SQLSTATE 22P02: % (%)', msg, detail;
END
$$;

\echo '-- names for codes and screens'
SELECT name, mask_name(name) AS shown
  FROM (VALUES ('张明'), ('张三明'), ('欧阳小明'), ('Chan Tai Man')) v(name);
RESET search_path;
