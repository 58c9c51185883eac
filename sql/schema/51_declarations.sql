-- 51_declarations.sql: health declarations (seed 002's three questions and
-- itinerary, seed 004's "expired, declare again").
--
-- A declaration answers: fever or symptoms today, contact history in the
-- last 14 days, travel history in the last 14 days (the places), where the
-- person is going today (city and address) and, when measured, the
-- temperature. It is valid for health_settings().declaration_valid_for from
-- the moment it is made; the latest declaration is the one that counts, and
-- once it has lapsed the person's colour turns yellow by the default rules.
-- Declarations are never changed: a new one supersedes the old, so the
-- colour at any past instant can be recomputed from what was known then.
-- (created once: later changes go to sql/updates/)

CREATE TABLE health_declaration (
    person_id           bigint NOT NULL,
    declaration_id      bigint GENERATED ALWAYS AS IDENTITY,
    declared_at         timestamptz NOT NULL DEFAULT now(),
    valid_until         timestamptz NOT NULL,
    fever_today         boolean NOT NULL,
    contact_14d         boolean NOT NULL,
    travel_places       text[] NOT NULL DEFAULT '{}',
    destination_city    text,
    destination_address text,
    temperature         numeric(3,1) CHECK (temperature BETWEEN 30.0 AND 45.0),
    PRIMARY KEY (person_id, declaration_id),
    CHECK (valid_until > declared_at)
);
COMMENT ON TABLE healthpass.health_declaration IS
    'health declarations: fever today, 14-day contact and travel history, destination, temperature; never updated';
CREATE INDEX health_declaration_latest ON health_declaration (person_id, declared_at);
SELECT pg_catalog.pg_extension_config_dump('health_declaration', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.health_declaration', 'declaration_id'), '');

-- The one form in which places are stored and compared (declared travel
-- places, destination cities, risk areas): NFC; full-width ASCII forms
-- (ＡＢＣ１２３（）) folded to ASCII; runs of spaces of any width (also the
-- ideographic space) as one space, none at the ends; no space between two
-- CJK characters, so "广东省 珠海市　香洲区" is "广东省珠海市香洲区". A place
-- matches a risk area when its form starts with the area's form. Created
-- once, not replayed: stored places are in this form (risk_area checks it),
-- so a change to it is an update step that re-normalises what is stored.
-- hp_clean_place (sql/api/51_declarations.sql) checks a typed place and
-- returns this form.
CREATE FUNCTION healthpass_internal.hp_place_form(place text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN regexp_replace(
         btrim(regexp_replace(
           translate(CASE WHEN current_setting('server_encoding') = 'UTF8' THEN normalize(place, NFC) ELSE place END,
                     '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～',
                     E'!"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~'),
           '[\s\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+', ' ', 'g'), ' '),
         '(?<=[\u2e80-\u2fff\u3001-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]) (?=[\u2e80-\u2fff\u3001-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff])',
         '', 'g');
COMMENT ON FUNCTION healthpass_internal.hp_place_form(text) IS
    'the stored and compared form of a place: NFC, full-width ASCII folded, spaces collapsed and removed between CJK characters (internal)';
