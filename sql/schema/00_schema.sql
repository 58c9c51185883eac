-- 00_schema.sql: the internal schema.
--
-- The public API lives in the extension's schema, healthpass. Everything
-- an application must not call (helpers, trigger functions, the key cache's
-- hooks, the compiled rule sets' building blocks) lives in
-- healthpass_internal, which no purpose role may even look into: only the
-- SECURITY DEFINER API functions, running as the extension's owner, reach it.
-- (created once: later changes go to sql/updates/)

CREATE SCHEMA healthpass_internal;
COMMENT ON SCHEMA healthpass_internal IS
    'healthpass internals: helpers, trigger functions, caches; not for applications';
REVOKE ALL ON SCHEMA healthpass_internal FROM PUBLIC;
