-- 44_family.sql: family members registered by proxy (seed 004).
--
-- A registered person (the guardian) adds family members who have no
-- smartphone. Members are full persons (their own document, real-name
-- check and codes) whose person.guardian_id names the guardian; the
-- guardian's list is family_member, keyed by the guardian. Members cannot
-- register others, and a guardian has at most 10 members.
-- (created once: later changes go to sql/updates/)

CREATE TABLE family_member (
    person_id bigint NOT NULL,      -- the guardian
    member_id bigint NOT NULL,
    relation  text NOT NULL
              CHECK (relation IN ('parent', 'child', 'spouse', 'grandparent', 'grandchild',
                                  'sibling', 'other')),
    added_at  timestamptz NOT NULL DEFAULT now(),
    version   integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, member_id)
);
COMMENT ON TABLE healthpass.family_member IS 'family members a guardian registered by proxy';

-- earlier versions of a guardian's link to a member (the relation)
CREATE TABLE family_member_history (
    person_id  bigint NOT NULL,
    member_id  bigint NOT NULL,
    version    integer NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (person_id, member_id, version)
);
COMMENT ON TABLE healthpass.family_member_history IS 'earlier versions of family links';

SELECT pg_catalog.pg_extension_config_dump('family_member', '');
SELECT pg_catalog.pg_extension_config_dump('family_member_history', '');
