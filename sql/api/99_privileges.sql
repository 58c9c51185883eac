-- 99_privileges.sql: runs last. Functions are created EXECUTE-able by
-- PUBLIC; take that (and any table or sequence access) away from PUBLIC for
-- everything in the schema. Each domain file grants its own functions to the
-- purpose roles that need them; those grants stay.
-- (replayed by every upgrade: CREATE OR REPLACE only)
-- ROUTINES: FUNCTIONS would leave procedures (recolour_run) to PUBLIC
REVOKE ALL ON ALL ROUTINES IN SCHEMA healthpass FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA healthpass FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA healthpass FROM PUBLIC;
-- the internal schema: no USAGE for anyone but the owner, and no routine
-- executable by PUBLIC should a role ever be given USAGE
REVOKE ALL ON SCHEMA healthpass_internal FROM PUBLIC;
REVOKE ALL ON ALL ROUTINES IN SCHEMA healthpass_internal FROM PUBLIC;
