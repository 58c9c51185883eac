-- 01_settings.sql: the settings an administrator changed in this database.
--
-- One row per changed setting, none at install: the defaults live in the
-- registry (sql/api/01_settings.sql), so a dump carries exactly what was
-- changed and a restore (which creates the extension first) never collides
-- with a row CREATE EXTENSION made.
-- (created once: later changes go to sql/updates/)

CREATE TABLE setting (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE healthpass.setting IS 'database settings an administrator changed (the defaults are in settings())';
SELECT pg_catalog.pg_extension_config_dump('setting', '');
