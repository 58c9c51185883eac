-- personal flows never quote a whole document number in a message: a
-- number with one wrong check digit is 17 correct digits of a real
-- person's number (issue 9, item 5). normalize_document, the validator a
-- user calls on their own input, may quote it.
\set ECHO none
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
SELECT plan(11);

SELECT healthpass.register_person('cn_resident_id', '440104199003071239', '王小明') AS p \gset
-- message, detail and hint of the error a statement raises
CREATE FUNCTION pg_temp.error_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text; d text; h text; s text;
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN s || ': ' || m || ' / ' || coalesce(d, '') || ' / ' || coalesce(h, '');
END $$;
CREATE TEMP TABLE calls (what text, stmt text);
INSERT INTO calls VALUES
  ('register_person', $$SELECT healthpass.register_person('cn_resident_id', '440105199308151058', '李四')$$),
  ('find_person', $$SELECT healthpass.find_person('cn_resident_id', '440105199308151058')$$),
  ('entry_lookup', $$SELECT * FROM healthpass.entry_lookup('cn_resident_id', '440105199308151058')$$),
  ('bind_companion', format($$SELECT healthpass.bind_companion(%s, 'cn_resident_id', '440105199308151058')$$, :p)),
  ('unbind_companion', format($$SELECT healthpass.unbind_companion(%s, 'cn_resident_id', '440105199308151058')$$, :p)),
  ('add_family_member', format($$SELECT healthpass.add_family_member(%s, 'cn_resident_id', '440105199308151058', '王大爷', 'parent')$$, :p)),
  ('edit_person', format($$SELECT healthpass.edit_person(%s, '{"doc_number": "440105199308151058"}')$$, :p)),
  ('manual_health_check', $$SELECT * FROM healthpass.manual_health_check('cn_resident_id', '440105199308151058', '李四', '13800138000')$$),
  ('register_person, hkid', $$SELECT healthpass.register_person('hkid', 'A1234564', 'CHAN Tai Man', '1980-05-01')$$);

SELECT doesnt_match(pg_temp.error_of(stmt), '[0-9]{15}', what || ': the error quotes no long run of the number')
  FROM calls WHERE what <> 'register_person, hkid';
SELECT alike(pg_temp.error_of($$SELECT * FROM healthpass.entry_lookup('cn_resident_id', '440105199308151058')$$),
            '22P02: invalid cn_resident_id number: "4401**********1058" / %', 'the error keeps its SQLSTATE and shows the number masked');
SELECT unalike(pg_temp.error_of(stmt), '%A1234564%', 'an hkid number is masked too') FROM calls WHERE what = 'register_person, hkid';
SELECT alike(pg_temp.error_of($$SELECT healthpass.normalize_document('cn_resident_id', '440105199308151058')$$),
            '%440105199308151058%', 'normalize_document, the validator, still quotes its input');

SELECT * FROM finish();
