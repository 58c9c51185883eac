-- 43_epass.sql: face verification, the certified photo and the electronic
-- pass (seed 000).
-- (created once: later changes go to sql/updates/)

-- Face verification (CTID) ---------------------------------------------------

-- Every face check an external provider reported, kept for audit.
CREATE TABLE face_check (
    person_id    bigint NOT NULL,
    check_id     bigint GENERATED ALWAYS AS IDENTITY,
    provider     text NOT NULL,
    provider_ref text,
    outcome      text NOT NULL CHECK (outcome IN ('passed', 'failed')),
    checked_at   timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, check_id)
);
COMMENT ON TABLE healthpass.face_check IS 'results of external face checks (provider, time, outcome)';

-- The certified photo a passed check returned. Present = face verified.
CREATE TABLE certified_photo (
    person_id  bigint PRIMARY KEY,
    check_id   bigint NOT NULL,
    media_type text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png')),
    photo      bytea NOT NULL,
    bound_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE healthpass.certified_photo IS 'the certified photo of the latest passed face check; deleted when unbound';

-- The electronic pass: one per person, with "my information".
CREATE TABLE epass (
    person_id               bigint PRIMARY KEY,
    letter_version          integer NOT NULL,
    residence_district      text NOT NULL,
    residence_address       text NOT NULL,
    workplace               text,
    emergency_contact_name  text,
    emergency_contact_phone text,
    version                 integer NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE healthpass.epass IS 'electronic passes (seed 000), one per resident-ID-card holder';

CREATE TABLE epass_history (
    person_id  bigint NOT NULL,
    version    integer NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (person_id, version)
);
COMMENT ON TABLE healthpass.epass_history IS 'earlier versions of e-pass information';

SELECT pg_catalog.pg_extension_config_dump('face_check', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.face_check', 'check_id'), '');
SELECT pg_catalog.pg_extension_config_dump('certified_photo', '');
SELECT pg_catalog.pg_extension_config_dump('epass', '');
SELECT pg_catalog.pg_extension_config_dump('epass_history', '');
