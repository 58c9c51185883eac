-- 30_qr.sql: QR codes rendered in SQL (src/qr.c).
--
-- qr_png and qr_svg give an image ready for an app page or a print; qr_text
-- gives the code in Unicode half blocks for psql and terminals. All three
-- are pure functions of their arguments (IMMUTABLE, PARALLEL SAFE), STRICT
-- (NULL data or option gives NULL), and priced high (COST 1000: rendering
-- a code is some 100 microseconds) so the planner runs cheap filters first.
-- Every purpose role may render codes: none of them reveals anything the
-- caller did not pass in.
-- (replayed by every upgrade: CREATE OR REPLACE only)

CREATE OR REPLACE FUNCTION qr_png(data text, level text DEFAULT 'M',
                       module_px integer DEFAULT 4, margin integer DEFAULT 4,
                       fg text DEFAULT 'black', bg text DEFAULT 'white')
    RETURNS bytea
    AS 'MODULE_PATHNAME', 'qr_png'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION healthpass.qr_png(text, text, integer, integer, text, text) IS
    'QR code of data as a 1-bit PNG (grayscale, or a two-colour palette)';

CREATE OR REPLACE FUNCTION qr_svg(data text, level text DEFAULT 'M',
                       module_px integer DEFAULT 4, margin integer DEFAULT 4,
                       fg text DEFAULT 'black', bg text DEFAULT 'white')
    RETURNS text
    AS 'MODULE_PATHNAME', 'qr_svg'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION healthpass.qr_svg(text, text, integer, integer, text, text) IS
    'QR code of data as a scalable SVG document (one path)';

CREATE OR REPLACE FUNCTION qr_text(data text, level text DEFAULT 'L',
                        margin integer DEFAULT 4, invert boolean DEFAULT false)
    RETURNS text
    AS 'MODULE_PATHNAME', 'qr_text'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION healthpass.qr_text(text, text, integer, boolean) IS
    'QR code of data in Unicode half blocks, two module rows a line';

GRANT EXECUTE ON FUNCTION
    healthpass.qr_png(text, text, integer, integer, text, text),
    healthpass.qr_svg(text, text, integer, integer, text, text),
    healthpass.qr_text(text, text, integer, boolean)
    TO healthpass_admin, healthpass_app, healthpass_scanner,
       healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;

-- The module size a domain function passes to qr_png: qr_png, like every
-- codec, is STRICT (NULL in, NULL out); a domain function instead refuses a
-- missing or out-of-range size, so an app never gets a silent NULL image.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_module_px(module_px integer) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF module_px IS NULL OR module_px NOT BETWEEN 1 AND 40 THEN
        RAISE EXCEPTION 'module size % is out of range', coalesce(module_px::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', DETAIL = 'A module is 1 to 40 pixels wide.';
    END IF;
    RETURN module_px;
END
$$;
COMMENT ON FUNCTION healthpass_internal.hp_module_px(integer) IS 'checked QR module size for domain functions (internal)';

-- A printable poster as a PNG (src/poster.c): the code at level, module_px
-- pixels a module in a 4-module quiet zone, each non-NULL element of lines
-- drawn under it, centred, by FreeType in the font healthpass.poster_font
-- (the first as the title, larger), wrapped to the image's width. STABLE,
-- not IMMUTABLE: the drawing depends on that setting.
CREATE OR REPLACE FUNCTION healthpass_internal.hp_poster_png(code text, level text, module_px integer, lines text[])
    RETURNS bytea
    AS 'MODULE_PATHNAME', 'hp_poster_png'
    LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000;
COMMENT ON FUNCTION healthpass_internal.hp_poster_png(text, text, integer, text[]) IS
    'QR code with lines of text drawn under it in the font healthpass.poster_font, as an 8-bit greyscale PNG (internal)';
