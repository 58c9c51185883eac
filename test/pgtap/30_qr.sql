-- QR rendering: signatures and markings, grants, every bad option (22023,
-- naming the option), the length limits (54000, with byte count and limit)
-- at each level and kind of text, the empty string, mode and symbol size,
-- and the shape of each output; the poster PNG with text drawn under the
-- code (hp_poster_png): its size, wrapping, NULL and control characters,
-- limits (22023, 54000) and a missing font (58P01).
BEGIN;
SELECT plan(174);

-- an HP1-like string: 'HP1:' and n characters of the base45 alphabet
CREATE FUNCTION pg_temp.b45(n integer, seed text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT 'HP1:' || string_agg(substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:',
                 1 + get_byte(decode(md5(seed || i), 'hex'), 0) % 45, 1), '' ORDER BY i)
            FROM generate_series(1, n) AS i $$;
-- a big-endian uint32 of a bytea at offset o (PNG width and height)
CREATE FUNCTION pg_temp.u32(b bytea, o integer) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT (get_byte(b, o)::bigint << 24) | (get_byte(b, o + 1) << 16)
                 | (get_byte(b, o + 2) << 8) | get_byte(b, o + 3) $$;
-- modules across the symbol alone (no quiet zone, 1 px a module)
CREATE FUNCTION pg_temp.modules(data text, level text) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT pg_temp.u32(healthpass.qr_png(data, level, 1, 0), 16) $$;

-- 1. signatures, markings and grants (3 + 9 + 15 + 3)
SELECT has_function('healthpass', 'qr_png', ARRAY['text', 'text', 'integer', 'integer', 'text', 'text']);
SELECT has_function('healthpass', 'qr_svg', ARRAY['text', 'text', 'integer', 'integer', 'text', 'text']);
SELECT has_function('healthpass', 'qr_text', ARRAY['text', 'text', 'integer', 'boolean']);
SELECT t FROM (VALUES ('qr_png', ARRAY['text', 'text', 'integer', 'integer', 'text', 'text']::name[]),
                      ('qr_svg', ARRAY['text', 'text', 'integer', 'integer', 'text', 'text']::name[]),
                      ('qr_text', ARRAY['text', 'text', 'integer', 'boolean']::name[])) AS f(f, a),
       LATERAL unnest(ARRAY[
           volatility_is('healthpass', f, a, 'immutable', f || ' is immutable'),
           is_strict('healthpass', f, a, f || ' is strict'),
           is((SELECT proparallel FROM pg_proc
                WHERE oid = ('healthpass.' || f || '(' || array_to_string(a, ',') || ')')::regprocedure),
              's'::"char", f || ' is parallel safe')]) AS t;
SELECT ok(has_function_privilege(r, f, 'EXECUTE'), r || ' may run ' || f)
  FROM unnest(ARRAY['healthpass_admin', 'healthpass_app', 'healthpass_scanner',
                    'healthpass_health', 'healthpass_report']) AS r,
       unnest(ARRAY['healthpass.qr_png(text,text,integer,integer,text,text)',
                    'healthpass.qr_svg(text,text,integer,integer,text,text)',
                    'healthpass.qr_text(text,text,integer,boolean)']) AS f;
CREATE ROLE hp_qr_outsider NOLOGIN;
SELECT ok(NOT has_function_privilege('hp_qr_outsider', f, 'EXECUTE'), 'PUBLIC may not run ' || f)
  FROM unnest(ARRAY['healthpass.qr_png(text,text,integer,integer,text,text)',
                    'healthpass.qr_svg(text,text,integer,integer,text,text)',
                    'healthpass.qr_text(text,text,integer,boolean)']) AS f;

-- 2. bad options: 22023, the option named, the value quoted (22)
SELECT throws_ok($$SELECT healthpass.qr_png('x', 'X')$$, '22023',
                 'invalid value for option "level": "X"', 'level X');
SELECT throws_ok($$SELECT healthpass.qr_svg('x', '')$$, '22023',
                 'invalid value for option "level": ""', 'level empty');
SELECT throws_ok($$SELECT healthpass.qr_text('x', 'medium')$$, '22023',
                 'invalid value for option "level": "medium"', 'level as a word');
SELECT throws_ok($$SELECT healthpass.qr_png('x', 'L ')$$, '22023',
                 'invalid value for option "level": "L "', 'level with a space');
SELECT throws_ok($$SELECT healthpass.qr_png('x', 'M', 0)$$, '22023',
                 'invalid value for option "module_px": 0', 'module_px 0');
SELECT throws_ok($$SELECT healthpass.qr_png('x', 'M', 65)$$, '22023',
                 'invalid value for option "module_px": 65', 'module_px 65');
SELECT throws_ok($$SELECT healthpass.qr_svg('x', 'M', -4)$$, '22023',
                 'invalid value for option "module_px": -4', 'svg module_px -4');
SELECT throws_ok($$SELECT healthpass.qr_svg('x', 'M', 100)$$, '22023',
                 'invalid value for option "module_px": 100', 'svg module_px 100');
SELECT throws_ok($$SELECT healthpass.qr_png('x', 'M', 4, -1)$$, '22023',
                 'invalid value for option "margin": -1', 'margin -1');
SELECT throws_ok($$SELECT healthpass.qr_png('x', 'M', 4, 33)$$, '22023',
                 'invalid value for option "margin": 33', 'margin 33');
SELECT throws_ok($$SELECT healthpass.qr_svg('x', 'M', 4, 40)$$, '22023',
                 'invalid value for option "margin": 40', 'svg margin 40');
SELECT throws_ok($$SELECT healthpass.qr_text('x', 'L', -2)$$, '22023',
                 'invalid value for option "margin": -2', 'text margin -2');
SELECT throws_ok($$SELECT healthpass.qr_png('x', fg => 'blue')$$, '22023',
                 'invalid value for option "fg": "blue"', 'fg unknown name');
SELECT throws_ok($$SELECT healthpass.qr_png('x', bg => '#FFFFFG')$$, '22023',
                 'invalid value for option "bg": "#FFFFFG"', 'bg bad hex digit');
SELECT throws_ok($$SELECT healthpass.qr_svg('x', fg => '#12')$$, '22023',
                 'invalid value for option "fg": "#12"', 'fg two digits');
SELECT throws_ok($$SELECT healthpass.qr_svg('x', bg => '#FFFFFFF')$$, '22023',
                 'invalid value for option "bg": "#FFFFFFF"', 'bg seven digits');
SELECT throws_ok($$SELECT healthpass.qr_png('x', fg => 'green ')$$, '22023',
                 'invalid value for option "fg": "green "', 'fg with a trailing space');
SELECT throws_ok($$SELECT healthpass.qr_png('x', fg => '000000')$$, '22023',
                 'invalid value for option "fg": "000000"', 'fg without #');
SELECT throws_ok($$SELECT healthpass.qr_png('x', fg => 'white', bg => 'black')$$, '22023',
                 'option "fg" "white" is too light for option "bg" "black"', 'inverted colours');
SELECT throws_ok($$SELECT healthpass.qr_svg('x', fg => 'green', bg => 'green')$$, '22023',
                 'option "fg" "green" is too light for option "bg" "green"', 'equal colours');
SELECT throws_ok($$SELECT healthpass.qr_png('x', fg => '#CCCCCC')$$, '22023',
                 'option "fg" "#CCCCCC" is too light for option "bg" "white"', 'grey too light on white');
SELECT throws_ok($$SELECT healthpass.qr_png('x', fg => 'light_green', bg => 'green')$$, '22023',
                 'option "fg" "light_green" is too light for option "bg" "green"', 'light green on green');

-- 3. the empty string is refused (3); NULL gives NULL (3)
SELECT throws_ok($$SELECT healthpass.qr_png('')$$, '22023', 'QR code data must not be empty', 'png of empty string');
SELECT throws_ok($$SELECT healthpass.qr_svg('')$$, '22023', 'QR code data must not be empty', 'svg of empty string');
SELECT throws_ok($$SELECT healthpass.qr_text('')$$, '22023', 'QR code data must not be empty', 'text of empty string');
SELECT ok(healthpass.qr_png(NULL) IS NULL, 'png of NULL is NULL');
SELECT ok(healthpass.qr_svg('x', fg => NULL) IS NULL, 'svg with NULL fg is NULL');
SELECT ok(healthpass.qr_text('x', 'L', 4, NULL) IS NULL, 'text with NULL invert is NULL');

-- 4. limits at every level: the longest text of each kind fits in a version
-- 40 symbol (177 modules), one byte more is 54000 (4 levels x 4 kinds x 2)
SELECT t FROM (VALUES ('L', 7089), ('M', 5596), ('Q', 3993), ('H', 3057)) AS l(lv, n),
       LATERAL unnest(ARRAY[
           is(pg_temp.modules(repeat('7', n), lv), 177::bigint, format('%s digits fit at %s', n, lv)),
           throws_ok(format($$SELECT healthpass.qr_svg(repeat('7', %s), %L)$$, n + 1, lv), '54000',
                 format('data too long for a QR code at error-correction level %s: %s bytes, the limit is %s', lv, n + 1, n),
                 format('%s digits are too long at %s', n + 1, lv))]) AS t;
SELECT t FROM (VALUES ('L', 4296), ('M', 3391), ('Q', 2420), ('H', 1852)) AS l(lv, n),
       LATERAL unnest(ARRAY[
           is(pg_temp.modules(repeat('AB1:', n / 4) || left('AB1:', n % 4), lv), 177::bigint,
               format('%s alphanumeric characters fit at %s', n, lv)),
           throws_ok(format($$SELECT healthpass.qr_png(repeat('AB1:', %s) || %L, %L)$$, n / 4, left('AB1:', n % 4) || 'Z', lv), '54000',
                 format('data too long for a QR code at error-correction level %s: %s bytes, the limit is %s', lv, n + 1, n),
                 format('%s alphanumeric characters are too long at %s', n + 1, lv))]) AS t;
SELECT t FROM (VALUES ('L', 2953), ('M', 2331), ('Q', 1663), ('H', 1273)) AS l(lv, n),
       LATERAL unnest(ARRAY[
           is(pg_temp.modules(repeat('a', n), lv), 177::bigint, format('%s bytes of ASCII fit at %s', n, lv)),
           throws_ok(format($$SELECT healthpass.qr_text(repeat('a', %s), %L)$$, n + 1, lv), '54000',
                 format('data too long for a QR code at error-correction level %s: %s bytes, the limit is %s', lv, n + 1, n),
                 format('%s bytes of ASCII are too long at %s', n + 1, lv))]) AS t;
-- other UTF-8 text carries a 12-bit ECI header: one byte less ('é' is 2 bytes)
SELECT t FROM (VALUES ('L', 2952), ('M', 2330), ('Q', 1662), ('H', 1272)) AS l(lv, n),
       LATERAL unnest(ARRAY[
           is(pg_temp.modules(repeat('é', n / 2), lv), 177::bigint, format('%s bytes of UTF-8 fit at %s', n, lv)),
           throws_ok(format($$SELECT healthpass.qr_png(repeat('é', %s) || 'a', %L)$$, n / 2, lv), '54000',
                 format('data too long for a QR code at error-correction level %s: %s bytes, the limit is %s', lv, n + 1, n),
                 format('%s bytes of UTF-8 are too long at %s', n + 1, lv))]) AS t;
SELECT throws_ok($$SELECT healthpass.qr_png(repeat('A', 1000000))$$, '54000',
                 'data too long for a QR code at error-correction level M: 1000000 bytes, the limit is 3391',
                 'a megabyte is refused before encoding');
SELECT throws_ok($$SELECT healthpass.qr_png(repeat('健康', 400), 'H')$$, '54000',
                 'data too long for a QR code at error-correction level H: 2400 bytes, the limit is 1272',
                 'the byte count is of UTF-8 bytes, not characters');

-- 5. mode: alphanumeric text takes the smallest symbol.  At level M the
-- alphanumeric capacity of versions 3, 4, 10 and 11 is 61, 90, 311 and 366
-- characters (ISO/IEC 18004 table 7); 8-bit mode holds only 42, 62, 213, 251
-- bytes there (8)
SELECT is(pg_temp.modules(pg_temp.b45(n - 4, 'm' || n), 'M'), m::bigint,
          format('%s HP1-like characters take %s modules at M', n, m))
  FROM (VALUES (61, 29), (62, 33), (90, 33), (91, 37), (311, 57), (312, 61), (366, 61), (367, 65)) AS v(n, m);
-- the same text in lower case is 8-bit, and larger (4)
SELECT cmp_ok(pg_temp.modules(lower(pg_temp.b45(n, 'x')), 'M'), '>', pg_temp.modules(pg_temp.b45(n, 'x'), 'M'),
              format('%s characters in lower case take a larger symbol', n + 4))
  FROM unnest(ARRAY[60, 200, 400, 800]) AS n;
-- lower-case letters are not folded to upper case (1)
SELECT isnt(healthpass.qr_text('hp1:abc'), healthpass.qr_text('HP1:ABC'), 'case is kept');
-- digits only: numeric mode, 3.3 bits a digit (version 1-M holds 34) (2)
SELECT is(pg_temp.modules(repeat('9', 34), 'M'), 21::bigint, '34 digits fit version 1 at M');
SELECT is(pg_temp.modules(repeat('9', 35), 'M'), 25::bigint, '35 digits need version 2 at M');

-- 6. PNG: 1-bit grayscale for black on white, a 2-colour palette otherwise,
-- the declared size, compressed below the raw bitmap (16)
SELECT is(get_byte(healthpass.qr_png('HP1:X', fg => c, bg => b), 25), 0, format('%s on %s is grayscale', c, b))
  FROM (VALUES ('black', 'white'), ('#000', '#FFF'), ('#000000', '#ffffff'), ('BLACK', 'White')) AS v(c, b);
SELECT is(encode(substring(healthpass.qr_png('HP1:X', fg => c), 34, 14), 'hex'),
          '00000006504c5445' || rgb || 'ffffff', format('%s is a palette of %s and white', c, rgb))
  FROM (VALUES ('green', '007a3d'), ('yellow', 'b07d00'), ('red', 'c4121f'),
               ('light_green', '3e8e41'), ('#345', '334455'), ('#102030', '102030')) AS v(c, rgb);
SELECT is(get_byte(healthpass.qr_png('HP1:X', 'M', 4, 4, 'red', '#FFE'), 24), 1, 'palette images are 1 bit deep');
SELECT is(pg_temp.u32(p, 16), (21 + 2 * m) * px::bigint, format('%s px a module, margin %s: width', px, m))
  FROM (VALUES (1, 0), (64, 32), (7, 3)) AS v(px, m),
       healthpass.qr_png('HP1:X', 'M', px, m) AS p;
SELECT is(pg_temp.u32(healthpass.qr_png('HP1:X', 'M', 64, 32), 20), 5440::bigint, 'height equals width');
SELECT cmp_ok(length(healthpass.qr_png(pg_temp.b45(300, 'p'), 'M', 8, 4)), '<', (((57 + 8) * 8 + 7) / 8) * (57 + 8) * 8 / 10,
              'a version 10 PNG at 8 px is under a tenth of its 1-bit bitmap');

-- 7. SVG: well-formed XML, one path, viewBox in modules, size in pixels,
-- and exactly the dark modules of the text rendering (8)
SELECT is((xpath('count(//s:path)', healthpass.qr_svg(pg_temp.b45(100, 's'))::xml,
                 ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text, '1', 'one path');
SELECT is((xpath('/s:svg/@viewBox', healthpass.qr_svg('HP1:X', 'M', 10, 2)::xml,
                 ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text, '0 0 25 25', 'viewBox in modules');
SELECT is((xpath('/s:svg/@width', healthpass.qr_svg('HP1:X', 'M', 10, 2)::xml,
                 ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text, '250', 'width in pixels');
SELECT is((xpath('/s:svg/@shape-rendering', healthpass.qr_svg('HP1:X')::xml,
                 ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text, 'crispEdges', 'crisp edges');
SELECT is((xpath('/s:svg/s:path/@fill', healthpass.qr_svg('HP1:X', fg => 'green')::xml,
                 ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text, '#007a3d', 'path in the fg colour');
SELECT is((xpath('/s:svg/s:rect/@fill', healthpass.qr_svg('HP1:X', bg => '#FEA')::xml,
                 ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))[1]::text, '#ffeeaa', 'background in the bg colour');
SELECT is((SELECT sum(m[1]::int) FROM regexp_matches(healthpass.qr_svg(d, 'Q'), 'h(\d+)v', 'g') AS m),
          (SELECT (sum(length(l) - length(replace(l, '█', ''))) * 2
                   + sum(length(l) - length(replace(l, '▀', '')))
                   + sum(length(l) - length(replace(l, '▄', ''))))::bigint
             FROM regexp_split_to_table(healthpass.qr_text(d, 'Q'), E'\n') AS l),
          format('the SVG and the text show the same dark modules (%s bytes)', length(d)))
  FROM unnest(ARRAY[pg_temp.b45(150, 'c'), '检疫 健康码 https://example.org/?q=1']) AS d;

-- 8. text: half blocks, two module rows a line, quiet zone, inversion (8)
SELECT is(array_length(regexp_split_to_array(healthpass.qr_text('HP1:X'), E'\n'), 1), 15,
          '21 modules + 8 of quiet zone: 15 lines');
SELECT is((SELECT count(DISTINCT length(l))::int FROM regexp_split_to_table(healthpass.qr_text('HP1:X'), E'\n') AS l), 1,
          'all lines equally long');
SELECT is(length(split_part(healthpass.qr_text('HP1:X', 'L', 1), E'\n', 1)), 23, '21 modules + 2 of quiet zone a line');
SELECT is(split_part(healthpass.qr_text('HP1:X'), E'\n', 1), repeat(' ', 29), 'the quiet zone is blank');
SELECT is(split_part(healthpass.qr_text('HP1:X', invert => true), E'\n', 1), repeat('█', 29),
          'inverted, the quiet zone is ink');
SELECT ok(healthpass.qr_text(pg_temp.b45(200, 't')) ~ '^[ ▀▄█\n]+$', 'only spaces, half and full blocks');
SELECT is(array_to_string(inv[1:n - 1], E'\n'), translate(array_to_string(ink[1:n - 1], E'\n'), ' ▀▄█', '█▄▀ '),
          'inverted is the complement, but for the half row past the end')
  FROM (SELECT regexp_split_to_array(healthpass.qr_text(d, 'L', 2, true), E'\n') AS inv,
               regexp_split_to_array(healthpass.qr_text(d, 'L', 2), E'\n') AS ink,
               array_length(regexp_split_to_array(healthpass.qr_text(d, 'L', 2), E'\n'), 1) AS n
          FROM pg_temp.b45(40, 'i') AS d) AS x;
SELECT ok(split_part(healthpass.qr_text('HP1:X', 'L', 0), E'\n', 1) ~ '^█▀▀▀▀▀█ .* █▀▀▀▀▀█$',
          'without a quiet zone, line 1 shows the top of both upper finder patterns');
SELECT ok(split_part(healthpass.qr_text('HP1:X', 'L', 0), E'\n', 11) ~ '^▀▀▀▀▀▀▀ ',
          'line 11 shows the last row of the lower finder pattern as upper halves');

-- 9. the poster: hp_poster_png draws lines of text under the code (34)
-- a poster of HP1:POSTER at level Q, px pixels a module, and its height
CREATE FUNCTION pg_temp.poster(lines text[], px integer DEFAULT 4) RETURNS bytea
    LANGUAGE sql STABLE
    AS $$ SELECT healthpass_internal.hp_poster_png('HP1:POSTER', 'Q', px, lines) $$;
CREATE FUNCTION pg_temp.h(png bytea) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT pg_temp.u32(png, 20) $$;
SELECT has_function('healthpass_internal', 'hp_poster_png', ARRAY['text', 'text', 'integer', 'text[]']);
SELECT volatility_is('healthpass_internal', 'hp_poster_png', ARRAY['text', 'text', 'integer', 'text[]'], 'stable',
                     'hp_poster_png is stable (it depends on healthpass.poster_font)');
SELECT is_strict('healthpass_internal', 'hp_poster_png', ARRAY['text', 'text', 'integer', 'text[]'], 'hp_poster_png is strict');
SELECT ok(NOT has_function_privilege(r, 'healthpass_internal.hp_poster_png(text,text,integer,text[])', 'EXECUTE'),
          r || ' may not run hp_poster_png')
  FROM unnest(ARRAY['hp_qr_outsider', 'healthpass_app']) AS r;
SELECT is(substr(pg_temp.poster(ARRAY['济宁市任城区人民医院', '山东省济宁市任城区 建设路 12 号']), 1, 8),
          '\x89504e470d0a1a0a'::bytea, 'a poster is a PNG');
SELECT is(get_byte(p, 24) || '/' || get_byte(p, 25), '8/0', 'an 8-bit greyscale PNG')
  FROM pg_temp.poster(ARRAY['健康码']) AS p;
SELECT is(pg_temp.u32(pg_temp.poster(ARRAY['济宁']), 16), pg_temp.u32(healthpass.qr_png('HP1:POSTER', 'Q', 4, 4), 16),
          'with short lines the poster is as wide as the code');
SELECT cmp_ok(pg_temp.h(pg_temp.poster(ARRAY['济宁市任城区人民医院', '山东省济宁市任城区 建设路 12 号'], 8)), '>',
              pg_temp.h(healthpass.qr_png('HP1:POSTER', 'Q', 8, 4)), 'the text makes it taller than the code');
SELECT is(pg_temp.h(pg_temp.poster('{}')), pg_temp.h(healthpass.qr_png('HP1:POSTER', 'Q', 4, 4)),
          'without lines it is the code alone');
SELECT cmp_ok(pg_temp.h(pg_temp.poster(ARRAY['济宁', '任城区', '建设路'])), '>', pg_temp.h(pg_temp.poster(ARRAY['济宁', '任城区'])),
              'more lines make it taller');
SELECT cmp_ok(pg_temp.h(pg_temp.poster(ARRAY['a', 'b', 'c'])) - pg_temp.h(pg_temp.poster(ARRAY['a', 'b'])), '<',
              pg_temp.h(pg_temp.poster(ARRAY['a'])) - pg_temp.h(pg_temp.poster('{}')) - 16,
              'the first line (the title) is taller than the others');
-- a line longer than the code widens the image, up to twice the code
SELECT cmp_ok(pg_temp.u32(pg_temp.poster(ARRAY['t', '山东省济宁市任城区建设路十二号']), 16), '>',
              pg_temp.u32(pg_temp.poster(ARRAY['t', '山东省']), 16), 'a longer line widens the image');
SELECT is(pg_temp.u32(pg_temp.poster(ARRAY['t', repeat('济宁', 100)]), 16), 2 * pg_temp.u32(pg_temp.poster(ARRAY['t']), 16),
          'at most to twice the width of the code');
-- then wraps: CJK anywhere, Latin at spaces (and within a word longer than a line)
SELECT cmp_ok(pg_temp.h(pg_temp.poster(ARRAY['t', repeat('济宁', 100)])), '>', pg_temp.h(pg_temp.poster(ARRAY['t', repeat('济宁', 5)])),
              'a long CJK line wraps: taller than a short one');
SELECT cmp_ok(pg_temp.h(pg_temp.poster(ARRAY['t', repeat('Jining hospital ', 20)])), '>', pg_temp.h(pg_temp.poster(ARRAY['t', 'Jining hospital'])),
              'a long Latin line wraps: taller than a short one');
SELECT cmp_ok(pg_temp.h(pg_temp.poster(ARRAY['t', repeat('x', 300)])), '>', pg_temp.h(pg_temp.poster(ARRAY['t', 'x'])),
              'a word longer than a line is broken');
-- NULL elements are skipped; control characters are drawn as nothing
SELECT is(pg_temp.poster(ARRAY[NULL, '济宁', NULL, '任城区', NULL]), pg_temp.poster(ARRAY['济宁', '任城区']), 'NULL lines are skipped');
SELECT is(pg_temp.poster(ARRAY[NULL]::text[]), pg_temp.poster('{}'), 'only NULL lines: the code alone');
SELECT is(pg_temp.poster(ARRAY[E'济\u0001宁\u200b市' || chr(127) || chr(133) || E'\u202e']), pg_temp.poster(ARRAY['济宁市']),
          'control and invisible format characters are drawn as nothing');
SELECT isnt(pg_temp.poster(ARRAY['济宁市']), pg_temp.poster(ARRAY['济宁巿']), 'different text, different image');
SELECT lives_ok($$SELECT pg_temp.poster(ARRAY[E'\U0001F7E9 \U0010FFFD \u0378 ☃'])$$,
                'characters the font lacks are drawn as its .notdef glyph');
SELECT ok(healthpass_internal.hp_poster_png(NULL, 'Q', 4, ARRAY['a']) IS NULL
          AND healthpass_internal.hp_poster_png('x', 'Q', 4, NULL) IS NULL, 'NULL gives NULL');
-- limits: 64 lines of 500 characters, and pixels
SELECT lives_ok($$SELECT pg_temp.poster(array_fill(repeat('健', 500), ARRAY[64]), 1)$$,
                '64 lines of 500 characters are drawn');
SELECT throws_ok($$SELECT pg_temp.poster(array_fill('健'::text, ARRAY[65]))$$, '22023',
                 'too many poster lines: 65', '65 lines are refused');
SELECT throws_ok($$SELECT pg_temp.poster(ARRAY['t', repeat('a', 501)])$$, '22023',
                 format('poster line 2 is too long: "%s..."', repeat('a', 40)), 'a line of 501 characters is refused');
SELECT throws_ok($$SELECT pg_temp.poster(ARRAY[repeat('健', 501)])$$, '22023',
                 format('poster line 1 is too long: "%s..."', repeat('健', 40)), 'characters are counted, not bytes');
SELECT throws_ok($$SELECT pg_temp.poster(array_fill(repeat('健', 500), ARRAY[64]), 40)$$, '54000',
                 NULL, 'a poster of more than 64 MB of pixels is refused');
SELECT throws_ok($$SELECT healthpass_internal.hp_poster_png('x', 'X', 4, ARRAY['a'])$$, '22023',
                 'invalid value for option "level": "X"', 'the level is checked');
SELECT throws_ok($$SELECT healthpass_internal.hp_poster_png('x', 'Q', 65, ARRAY['a'])$$, '22023',
                 'invalid value for option "module_px": 65', 'the module size is checked');
-- the font: healthpass.poster_font, 58P01 when it is missing, reloaded when changed
CREATE TEMP TABLE poster_before AS SELECT pg_temp.poster(ARRAY['济宁']) AS p;
SET healthpass.poster_font = '/nonexistent.ttf';
SELECT throws_ok($$SELECT pg_temp.poster(ARRAY['济宁'])$$, '58P01',
                 'poster font "/nonexistent.ttf" cannot be opened', 'a missing font is 58P01');
SET healthpass.poster_font = 'PG_VERSION';  -- in the data directory
SELECT throws_ok($$SELECT pg_temp.poster(ARRAY['济宁'])$$, '58P01',
                 'poster font "PG_VERSION" cannot be opened', 'a file that is not a font is 58P01');
RESET healthpass.poster_font;
SELECT is(pg_temp.poster(ARRAY['济宁']), (SELECT p FROM poster_before), 'once reset, the default font draws the same image');
SELECT is(current_setting('healthpass.poster_font'), '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc',
          'the default font is WenQuanYi Micro Hei');

SELECT * FROM finish();
ROLLBACK;
