-- 41_registration.sql: versioned notices (registration notice, commitment
-- letter) and the entry-person registration of seed 000.
-- (created once: later changes go to sql/updates/)

-- Notices are versioned data: administrators publish a new version; the
-- current version is the highest. Travellers accept a version, recorded
-- with the time.
CREATE TABLE notice (
    kind         text NOT NULL CHECK (kind IN ('registration_notice', 'commitment_letter', 'transfer_notice')),
    version      integer NOT NULL CHECK (version > 0),
    title        text NOT NULL,
    body         text NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, version)
);
COMMENT ON TABLE healthpass.notice IS 'versions of the registration notice, the e-pass commitment letter and the transfer notice';

CREATE TABLE notice_acceptance (
    person_id   bigint NOT NULL,
    kind        text NOT NULL,
    version     integer NOT NULL,
    accepted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, kind, version)
);
COMMENT ON TABLE healthpass.notice_acceptance IS 'which notice version each person accepted, and when';

-- One complete entry registration per person (a row exists only when every
-- required field was given).
CREATE TABLE entry_registration (
    person_id               bigint PRIMARY KEY,
    notice_version          integer NOT NULL,
    arrival_port            text NOT NULL,
    arrival_date            date NOT NULL,
    transport_mode          text NOT NULL
                            CHECK (transport_mode IN ('flight', 'train', 'ship', 'road', 'on_foot')),
    transport_number        text,
    seat_number             text,
    departure_country       text NOT NULL CHECK (departure_country ~ '^[A-Z]{3}$'),
    departure_city          text NOT NULL,
    destination_district    text NOT NULL,
    destination_address     text NOT NULL,
    contact_phone           text NOT NULL,
    purpose                 text NOT NULL
                            CHECK (purpose IN ('business', 'family', 'tourism', 'study', 'work',
                                               'return_home', 'transit', 'other')),
    emergency_contact_name  text,
    emergency_contact_phone text,
    version                 integer NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE healthpass.entry_registration IS 'entry-person registrations (seed 000), one per person';

CREATE TABLE entry_registration_history (
    person_id  bigint NOT NULL,
    version    integer NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (person_id, version)
);
COMMENT ON TABLE healthpass.entry_registration_history IS 'earlier versions of entry registrations';

SELECT pg_catalog.pg_extension_config_dump('notice', '');
SELECT pg_catalog.pg_extension_config_dump('notice_acceptance', '');
SELECT pg_catalog.pg_extension_config_dump('entry_registration', '');
SELECT pg_catalog.pg_extension_config_dump('entry_registration_history', '');
