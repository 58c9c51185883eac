-- 00_schema.sql: purpose roles, privileges and the version function.
--
-- Application roles never get table privileges: they call SECURITY DEFINER
-- functions granted to them. Roles are cluster-wide, so they are created
-- only when missing (the extension may be created in several databases).
-- (replayed by every upgrade: CREATE OR REPLACE only)

DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY[
        'healthpass_admin',      -- administrators: keys, rules, notices
        'healthpass_app',        -- app servers acting for travellers
        'healthpass_scanner',    -- venue and border scanners: verify, record scans
        'healthpass_health',     -- health authority: results, risk marks
        'healthpass_report',     -- DBAs and analysts: read-only reports
        'healthpass_border',     -- exit-entry administration and border control: documents, crossings
        'healthpass_messenger'   -- reminder delivery workers: claim due reminders, mark them sent
    ] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$roles$;

REVOKE ALL ON SCHEMA healthpass FROM PUBLIC;
GRANT USAGE ON SCHEMA healthpass
    TO healthpass_admin, healthpass_app, healthpass_scanner,
       healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;

CREATE OR REPLACE FUNCTION healthpass.version() RETURNS text
    AS 'MODULE_PATHNAME', 'healthpass_version'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- qualified: an unqualified version() here would name pg_catalog.version()
COMMENT ON FUNCTION healthpass.version() IS 'healthpass extension version';
GRANT EXECUTE ON FUNCTION healthpass.version()
    TO healthpass_admin, healthpass_app, healthpass_scanner,
       healthpass_health, healthpass_report, healthpass_border, healthpass_messenger;
