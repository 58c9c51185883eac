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
COMMENT ON TABLE health_declaration IS
    'health declarations: fever today, 14-day contact and travel history, destination, temperature; never updated';
CREATE INDEX health_declaration_latest ON health_declaration (person_id, declared_at);
SELECT pg_catalog.pg_extension_config_dump('health_declaration', '');
