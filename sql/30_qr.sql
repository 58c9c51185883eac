-- QR rendering: exact outputs of qr_text, the SVG document's head, the PNG
-- header chunks, and the error messages (with their SQLSTATE).
\set SHOW_CONTEXT never
\pset format unaligned

-- a short HP1-like string, level L, the default quiet zone of 4 modules
SELECT healthpass.qr_text('HP1:HELLO') AS qr_text;
-- light ink for light-on-dark terminals, a one-module quiet zone
SELECT healthpass.qr_text('HP1:HELLO', 'L', 1, invert => true) AS inverted;

\pset format aligned
-- SVG: the XML declaration and the <svg> element (size 4 px a module,
-- viewBox in modules), one background <rect>, exactly one <path>
SELECT split_part(s, E'\n', 1) AS line1, split_part(s, E'\n', 2) AS line2,
       split_part(s, E'\n', 3) AS line3,
       left(split_part(s, E'\n', 4), 40) AS path_start,
       (length(s) - length(replace(s, '<path', ''))) / 5 AS paths,
       right(s, 14) AS tail
  FROM healthpass.qr_svg('HP1:HELLO') AS s;
SELECT split_part(healthpass.qr_svg('HP1:HELLO', 'Q', 10, 2, 'red', '#FFE'), E'\n', 2) AS svg,
       split_part(healthpass.qr_svg('HP1:HELLO', 'Q', 10, 2, 'red', '#FFE'), E'\n', 3) AS rect;

-- PNG: signature, IHDR (width, height, bit depth 1, colour type 0 = gray or
-- 3 = palette) and, in colour, the two-entry PLTE (fg first)
CREATE FUNCTION pg_temp.u32(b bytea, o int) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT (get_byte(b, o)::bigint << 24) | (get_byte(b, o + 1) << 16)
                 | (get_byte(b, o + 2) << 8) | get_byte(b, o + 3) $$;
SELECT encode(substring(p FROM 1 FOR 8), 'hex') AS signature,
       encode(substring(p FROM 13 FOR 4), 'escape') AS chunk,
       pg_temp.u32(p, 16) AS width, pg_temp.u32(p, 20) AS height,
       get_byte(p, 24) AS depth, get_byte(p, 25) AS colour_type,
       encode(substring(p FROM 38 FOR 4), 'escape') AS next_chunk,
       encode(substring(p FROM length(p) - 11), 'hex') AS iend
  FROM healthpass.qr_png('HP1:HELLO') AS p;
SELECT c AS colour, pg_temp.u32(p, 16) AS width, get_byte(p, 25) AS colour_type,
       encode(substring(p FROM 38 FOR 4), 'escape') AS next_chunk,
       CASE get_byte(p, 25) WHEN 3 THEN encode(substring(p FROM 42 FOR 6), 'hex') END AS palette
  FROM unnest(ARRAY['green', 'yellow', 'red', 'light_green', '#123', 'Black']) AS c,
       healthpass.qr_png('HP1:HELLO', 'M', 3, 2, c) AS p;
-- sizes follow the symbol (21 modules + 4 a version) and the quiet zone;
-- the alphanumeric text takes a smaller symbol than the same in lower case
-- (8-bit mode)
SELECT lv, pg_temp.u32(healthpass.qr_png(t, lv, 1, 0), 16) AS alnum_modules,
       pg_temp.u32(healthpass.qr_png(lower(t), lv, 1, 0), 16) AS bytes_modules,
       pg_temp.u32(healthpass.qr_png(t, lv, 5, 3), 16) AS width_5px_margin_3
  FROM unnest(ARRAY['L', 'm', 'Q', 'h']) AS lv,
       CAST('HP1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6IOO6+IDO' AS text) AS t;

-- errors: the message names the option and quotes the value
SELECT healthpass.qr_png('x', 'X');
\echo :LAST_ERROR_SQLSTATE
SELECT healthpass.qr_svg('x', 'MM');
\echo :LAST_ERROR_SQLSTATE
SELECT healthpass.qr_png('x', 'M', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT healthpass.qr_svg('x', 'M', 65);
\echo :LAST_ERROR_SQLSTATE
SELECT healthpass.qr_png('x', 'M', 4, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT healthpass.qr_text('x', 'L', 33);
\echo :LAST_ERROR_SQLSTATE
SELECT healthpass.qr_png('x', fg => 'blue');
\echo :LAST_ERROR_SQLSTATE
SELECT healthpass.qr_svg('x', bg => '#12345G');
\echo :LAST_ERROR_SQLSTATE
SELECT healthpass.qr_png('x', fg => 'yellow', bg => 'green');
\echo :LAST_ERROR_SQLSTATE
SELECT healthpass.qr_png('x', fg => 'white', bg => 'black');
\echo :LAST_ERROR_SQLSTATE
SELECT healthpass.qr_text('');
\echo :LAST_ERROR_SQLSTATE
SELECT healthpass.qr_png(repeat('A', 1853), 'H');
\echo :LAST_ERROR_SQLSTATE
SELECT healthpass.qr_svg(repeat('a', 2332));
\echo :LAST_ERROR_SQLSTATE
SELECT healthpass.qr_text(repeat('健', 1000), 'Q');
\echo :LAST_ERROR_SQLSTATE
-- STRICT: a NULL anywhere gives NULL
SELECT healthpass.qr_png(NULL) IS NULL AS null_data,
       healthpass.qr_svg('x', NULL) IS NULL AS null_level,
       healthpass.qr_text('x', 'L', NULL) IS NULL AS null_margin;
