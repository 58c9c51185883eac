-- 53_marks.sql: risk marks set by the health authority, and risk areas.
--
-- A risk mark says that, from valid_from until valid_until (open when NULL),
-- a person is a confirmed or suspected case, a close contact, a secondary
-- contact, or has arrived from a risk area. Lifting a mark early records
-- when it was lifted; marks are never deleted, so the colour at any past
-- instant can be recomputed from what was known then.
--
-- A risk area is a place (a country, province, city or district name, as
-- declarations write them). A declared travel place matches an area when
-- the place starts with the area's name: the area "深圳市南山区" matches
-- "深圳市南山区粤海街道". Both sides are stored in one form (hp_place_form:
-- NFC, full-width ASCII folded, no space between CJK characters), so the
-- place "广东省 珠海市 香洲区" matches the area "广东省珠海市". Declaring or
-- lifting an area re-colours, at once, everyone whose declaration in force
-- lists a matching place.
-- (created once: later changes go to sql/updates/)

CREATE TYPE risk_mark_kind AS ENUM
    ('confirmed', 'suspected', 'close_contact', 'secondary_contact', 'risk_area_arrival');
COMMENT ON TYPE healthpass.risk_mark_kind IS
    'what the health authority marks a person as: confirmed or suspected case, close or secondary contact, arrival from a risk area';

CREATE TABLE risk_mark (
    person_id   bigint NOT NULL,
    mark_id     bigint GENERATED ALWAYS AS IDENTITY,
    kind        risk_mark_kind NOT NULL,
    valid_from  timestamptz NOT NULL,
    valid_until timestamptz,
    note        text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    lifted_at   timestamptz,
    lift_reason text,
    PRIMARY KEY (person_id, mark_id),
    CHECK (valid_until IS NULL OR valid_until > valid_from),
    CHECK ((lifted_at IS NULL) = (lift_reason IS NULL))
);
COMMENT ON TABLE healthpass.risk_mark IS 'risk marks with their validity window; lifting records lifted_at';
SELECT pg_catalog.pg_extension_config_dump('risk_mark', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.risk_mark', 'mark_id'), '');

CREATE TABLE risk_area (
    area_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    place       text NOT NULL,
    note        text,
    declared_at timestamptz NOT NULL DEFAULT now(),
    lifted_at   timestamptz,
    -- places are stored in the form they are compared in (hp_place_form,
    -- 51_declarations.sql), so one place cannot be in force twice under two
    -- spellings
    CONSTRAINT risk_area_place_form CHECK (place <> '' AND place = hp_place_form(place))
);
COMMENT ON TABLE healthpass.risk_area IS 'risk areas: a declared travel place starting with the area name matches';
CREATE UNIQUE INDEX risk_area_active ON risk_area (place) WHERE lifted_at IS NULL;
SELECT pg_catalog.pg_extension_config_dump('risk_area', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.risk_area', 'area_id'), '');
