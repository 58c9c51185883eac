-- Hostile-argument suite, the verdicts (run by test/scripts/90_hostile.sh
-- after run.sql). A call FAILS when it
--   * ended the connection (outcome 'crash'), or left no result at all;
--   * raised an internal error (SQLSTATE class XX);
--   * raised a message, detail or hint that quotes a full resident ID number
--     (17 digits and a digit or X, not part of a longer run of digits or
--     of a hexadecimal string),
--     except in the validators whose job is to answer about the number the
--     caller typed (hostile.may_quote_ids);
--   * raised a message, detail or hint over 300 characters (a quoted value
--     must be cut);
--   * raised a message, detail or hint holding a control, zero-width or
--     text-direction character (a quoted value shows them as "?", so a log
--     line cannot be forged or displayed reversed).
\set ON_ERROR_STOP 1
SET search_path = pg_catalog;

-- the routines that may quote the number they were given: the validator a
-- user calls on their own input (issue 9, item 5) and the type's text input
CREATE FUNCTION hostile.may_quote_ids() RETURNS regprocedure[] LANGUAGE sql STABLE
RETURN ARRAY['healthpass.normalize_document(text, text)'::regprocedure,
             'healthpass.is_valid_document(text, text)'::regprocedure,
             'healthpass.cn_resident_id_in(cstring)'::regprocedure];

-- a text as a report line may show it: control characters as "?", cut
CREATE FUNCTION hostile.cut(t text, n integer DEFAULT 160) RETURNS text LANGUAGE sql IMMUTABLE
RETURN CASE WHEN t IS NULL THEN NULL
            ELSE regexp_replace(left(t, n), '[\x01-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]', '?', 'g')
                 || CASE WHEN length(t) > n THEN '…(' || length(t) || ' chars)' ELSE '' END END;

CREATE TABLE hostile.outcome AS
SELECT c.call_id, c.fn, f.name, c.role, c.pos, c.label,
       CASE WHEN c.pos = 0 THEN 'baseline' ELSE 'arg ' || c.pos || ' ' || f.argnames[c.pos] || ' = ' || c.label END AS what,
       coalesce(r.outcome, 'no result') AS outcome, r.sqlstate, r.message, r.detail, r.hint, r.output, r.ms,
       concat_ws('; ',
           CASE WHEN r.outcome IS NULL THEN 'no result recorded (harness error)' END,
           CASE WHEN r.outcome = 'crash' THEN 'lost the connection (crash)' END,
           CASE WHEN r.sqlstate LIKE 'XX%' THEN 'internal error ' || r.sqlstate END,
           CASE WHEN NOT c.fn = ANY (hostile.may_quote_ids())
                 AND concat_ws(' ', r.message, r.detail, r.hint) ~ '(^|[^0-9A-Za-z])[0-9]{17}[0-9Xx]([^0-9A-Za-z]|$)'
                THEN 'quotes a full ID number' END,
           CASE WHEN concat_ws(' ', r.message, r.detail, r.hint) ~ '[\x01-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]'
                THEN 'message holds a control or text-direction character' END,
           CASE WHEN length(r.message) > 300 THEN 'message is ' || length(r.message) || ' characters' END,
           CASE WHEN length(r.detail) > 300 THEN 'detail is ' || length(r.detail) || ' characters' END,
           CASE WHEN length(r.hint) > 300 THEN 'hint is ' || length(r.hint) || ' characters' END) AS failure
  FROM hostile.calls c
  JOIN hostile.fn f ON f.fn = c.fn
  LEFT JOIN hostile.result r ON r.call_id = c.call_id;
CREATE INDEX ON hostile.outcome (fn);
ANALYZE hostile.outcome;

-- failures, one line per (routine, argument, value, verdict, message): the roles merged
CREATE TABLE hostile.failure AS
SELECT fn, name, pos, label, what, sqlstate, failure,
       string_agg(replace(role, 'healthpass_', ''), ',' ORDER BY role) AS roles,
       hostile.cut(min(message)) AS message, hostile.cut(min(detail), 100) AS detail,
       hostile.cut(min(message), 100) AS message_short, hostile.cut(min(detail), 60) AS detail_short
  FROM hostile.outcome
 WHERE failure <> ''
 GROUP BY fn, name, pos, label, what, sqlstate, failure, hostile.cut(message), hostile.cut(detail, 100);

-- the TAP lines of the routines (numbered by the driver)
\o :tapfile
SELECT concat_ws(E'\n',
         CASE WHEN nf = 0 THEN 'ok' ELSE 'not ok' END || ' - ' || f.name || ': '
           || s.calls || ' calls as ' || replace(array_to_string(f.roles, ','), 'healthpass_', '') || '; '
           || s.accepted || ' accepted, ' || s.refused || ' refused'
           || CASE WHEN s.timeouts > 0 THEN ', ' || s.timeouts || ' timed out' ELSE '' END
           || CASE WHEN s.unrep > 0 THEN ', ' || s.unrep || ' values not of the type' ELSE '' END
           || CASE WHEN s.skipped > 0 THEN ', ' || s.skipped || ' skipped after crashes' ELSE '' END,
         (SELECT string_agg('#   ' || x.failure || ': ' || x.what || ' as ' || x.roles || ' -> '
                            || coalesce(x.sqlstate, '-') || ' ' || coalesce(x.message_short, '')
                            || coalesce(' / ' || x.detail_short, ''), E'\n' ORDER BY x.pos, x.label, x.failure)
            FROM hostile.failure x WHERE x.fn = f.fn))
  FROM hostile.fn f
 CROSS JOIN LATERAL (
        SELECT count(*) AS calls,
               count(*) FILTER (WHERE o.outcome = 'accepted') AS accepted,
               count(*) FILTER (WHERE o.outcome = 'refused') AS refused,
               count(*) FILTER (WHERE o.outcome = 'timeout') AS timeouts,
               count(*) FILTER (WHERE o.outcome = 'unrepresentable') AS unrep,
               count(*) FILTER (WHERE o.outcome = 'skipped') AS skipped,
               count(*) FILTER (WHERE o.failure <> '') AS nf
          FROM hostile.outcome o WHERE o.fn = f.fn) s
 WHERE f.skip_why IS NULL
 ORDER BY f.name;
\o

-- every failure, one per line, for the record
\o :failfile
SELECT name || ' | ' || what || ' | ' || roles || ' | ' || coalesce(sqlstate, '-') || ' | ' || failure
       || ' | ' || coalesce(message, '') || coalesce(' | ' || detail, '')
  FROM hostile.failure ORDER BY name, pos, label;
\o

-- calls that succeeded with a hostile value: for review. One line per
-- (routine, argument, value) with the roles merged and what came back.
\o :acceptedfile
SELECT name || ' | ' || what || ' | ' || roles || ' | ' || coalesce(output, '')
  FROM (SELECT name, pos, label, what, string_agg(replace(role, 'healthpass_', ''), ',' ORDER BY role) AS roles,
               hostile.cut(min(output), 100) AS output
          FROM hostile.outcome WHERE outcome = 'accepted' AND pos > 0
         GROUP BY name, pos, label, what) a
 ORDER BY name, pos, label;
\o
