-- 60_venues.sql: venues, their staff and their printed venue codes
-- (seed 004 一.1-3).
--
-- A registered person (the manager) registers a venue under an identifier:
-- the organisation's unified social credit code or organisation code, else
-- the manager's own resident ID number, or a vehicle's plate. The manager
-- adds staff (registered people) who scan for the venue. The venue code is
-- a long-lived HP1 token of kind "venue" printed on a poster at the door;
-- the ledger venue_code_issued lets an edit or a suspension revoke it.
--
-- Citus: venue, venue_staff, venue_code_issued (and the two history
-- tables) are small shared data read on every scan by venue id, and by
-- person id for "my venues": reference tables, so the scan path (whatever
-- key the scans are distributed by) reads them on the node it runs on. The
-- licence images are their only bulk (doc/venues.md, "Design notes").
-- (created once: later changes go to sql/updates/)

CREATE TABLE venue (
    venue_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id_kind      text NOT NULL CHECK (id_kind IN ('uscc', 'org_code', 'cn_resident_id', 'plate')),
    id_number    text NOT NULL,      -- normalised by normalize_document
    name         text NOT NULL,
    street       text NOT NULL,      -- 街道
    address      text NOT NULL,
    phone        text NOT NULL,
    image_type   text NOT NULL CHECK (image_type IN ('image/jpeg', 'image/png')),
    image        bytea NOT NULL,     -- licence, or vehicle photo for a plate
    manager_id   bigint NOT NULL,    -- person_id of the registering person
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
    status_reason text,              -- why the status last changed
    negative_test_hours integer CHECK (negative_test_hours BETWEEN 1 AND 168),
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id_kind, id_number, name),
    CONSTRAINT venue_status_reason CHECK (status = 'active' OR status_reason IS NOT NULL)
);
COMMENT ON TABLE healthpass.venue IS
    'venues (seed 004): identifier, name, street, address, phone, licence or vehicle photo, manager, status';
-- "my venues" of a manager
CREATE INDEX venue_manager ON venue (manager_id);

-- earlier versions of a venue row (edits and status changes); the image is
-- kept as its digest (hp_venue_history_slim)
CREATE TABLE venue_history (
    venue_id   bigint NOT NULL,
    version    integer NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to   timestamptz NOT NULL,
    data       jsonb NOT NULL,
    PRIMARY KEY (venue_id, version)
);
COMMENT ON TABLE healthpass.venue_history IS 'earlier versions of venue rows (data is the row as it was, the image as its SHA-256)';

-- the people who scan for a venue besides its manager; a person may serve
-- several venues
CREATE TABLE venue_staff (
    venue_id   bigint NOT NULL,
    person_id  bigint NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue_id, person_id)
);
COMMENT ON TABLE healthpass.venue_staff IS 'staff a venue''s manager added (registered people whose name matched)';
-- "my venues" of a staff member
CREATE INDEX venue_staff_person ON venue_staff (person_id);

-- staff that were removed, and when
CREATE TABLE venue_staff_history (
    venue_id   bigint NOT NULL,
    person_id  bigint NOT NULL,
    added_at   timestamptz NOT NULL,
    removed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue_id, person_id, added_at)
);
COMMENT ON TABLE healthpass.venue_staff_history IS 'former staff of a venue: when they were added and removed';

-- Every venue code issued and not yet expired or revoked, so that a change
-- of what the poster shows, a suspension or a closing revokes it. The
-- token is kept: venue_code hands out the same code until it nears expiry.
CREATE TABLE venue_code_issued (
    venue_id   bigint NOT NULL,
    token_id   bytea NOT NULL,
    kid        bytea NOT NULL,
    token      text NOT NULL,
    version    integer NOT NULL,     -- the venue version the code was issued for
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (venue_id, token_id)
);
COMMENT ON TABLE healthpass.venue_code_issued IS 'venue codes issued and not yet expired or revoked (the ledger revocation works from)';

SELECT pg_catalog.pg_extension_config_dump('venue', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.venue', 'venue_id'), '');
SELECT pg_catalog.pg_extension_config_dump('venue_history', '');
SELECT pg_catalog.pg_extension_config_dump('venue_staff', '');
SELECT pg_catalog.pg_extension_config_dump('venue_staff_history', '');
SELECT pg_catalog.pg_extension_config_dump('venue_code_issued', '');
