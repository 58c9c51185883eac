-- 42_companions.sql: accompanying travellers (seed 000, step 7-9).
--
-- A registrant binds companions by document. The group is the registrant
-- plus at most 9 companions (10 travellers). A person accompanies one group
-- at a time, and a registrant who has companions cannot be bound into
-- another group (groups do not nest). Both sides are stored on their own
-- person's rows: companion (registrant's rows) and companion_of
-- (companion's rows). The rules span two people, so they are checked in
-- bind_companion under row locks on both person rows, taken in person_id
-- order (no deadlock between two binders); see
-- test/isolation/specs/42_companion_binding.spec. Row triggers on both
-- tables (sql/api/42_companions.sql) check what each person's own rows can
-- tell, so a direct INSERT cannot make a group bind_companion would refuse.
-- (created once: later changes go to sql/updates/)

CREATE TABLE companion (
    person_id    bigint NOT NULL,       -- the registrant
    companion_id bigint NOT NULL,
    pos          integer NOT NULL CHECK (pos > 0),
    bound_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, companion_id),
    UNIQUE (person_id, pos)
);
COMMENT ON TABLE healthpass.companion IS 'companions bound by a registrant, in binding order (pos)';

CREATE TABLE companion_of (
    person_id     bigint PRIMARY KEY,   -- the companion: one group at a time
    registrant_id bigint NOT NULL,
    bound_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE healthpass.companion_of IS 'the group a person currently accompanies';

SELECT pg_catalog.pg_extension_config_dump('companion', '');
SELECT pg_catalog.pg_extension_config_dump('companion_of', '');
