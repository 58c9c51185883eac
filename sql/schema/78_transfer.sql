-- 78_transfer.sql: cross-border recognition of green codes (seed 002:
-- "codes recognised, data not interconnected"). Each database is one issuer;
-- two of them exchange, once and out of band, public material only: their
-- signing trust lists and a sealing public key (X25519). A traveller whose
-- code is green asks the source for a transfer token (HP1 kind "transfer",
-- signed by the source, the personal data sealed to the destination's
-- public key) and carries it; the destination verifies, opens, checks and
-- imports it. The two back ends never connect.
-- (created once: later changes go to sql/updates/)

-- Our sealing keys: the X25519 secret half sealed under the master key
-- (secret_box, as signing keys), never readable from SQL. The newest key is
-- the one partners seal to; a retired key still opens packages until
-- open_until (rotation grace).
CREATE TABLE sealing_key (
    kid         bytea PRIMARY KEY CHECK (length(kid) = 8),
    public_key  bytea NOT NULL UNIQUE CHECK (length(public_key) = 32),
    secret_box  bytea NOT NULL CHECK (length(secret_box) = 72),
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz,
    open_until  timestamptz,
    CHECK (kid = substring(sha256(public_key) FROM 1 FOR 8)),
    CHECK ((retired_at IS NULL) = (open_until IS NULL))
);
COMMENT ON TABLE healthpass.sealing_key IS
    'our X25519 keys for receiving transfers: the secret sealed under the master key; retired keys open until open_until';

-- Other issuers we exchange transfers with, and which way.
CREATE TABLE transfer_partner (
    issuer      text PRIMARY KEY CHECK (issuer <> ''),
    accept_from boolean NOT NULL DEFAULT false,   -- we import transfers they sign
    send_to     boolean NOT NULL DEFAULT false,   -- we export transfers sealed to them
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE healthpass.transfer_partner IS 'issuers we exchange transfers with: whether we accept theirs, whether we send to them';

-- Their sealing public keys, from the material they sent.
CREATE TABLE partner_sealing_key (
    issuer      text NOT NULL REFERENCES transfer_partner,
    kid         bytea NOT NULL CHECK (length(kid) = 8),
    public_key  bytea NOT NULL CHECK (length(public_key) = 32),
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, kid),
    CHECK (kid = substring(sha256(public_key) FROM 1 FOR 8))
);
COMMENT ON TABLE healthpass.partner_sealing_key IS 'partners'' X25519 public keys to seal transfers to (the newest unretired one is used)';

-- Source side: the transfers a person asked for (no personal data: that
-- travels sealed, with the traveller only).
CREATE TABLE transfer_export (
    person_id      bigint NOT NULL,
    package_id     uuid NOT NULL,
    destination    text NOT NULL,
    token_id       bytea NOT NULL,
    notice_version integer NOT NULL,
    consented_at   timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, package_id)
);
COMMENT ON TABLE healthpass.transfer_export IS 'transfers a person asked for: destination, token, the notice version consented to';

-- Destination side: every package ever imported, keyed by its id, so a
-- package is used once even after its token expired (replay refused).
CREATE TABLE transfer_package (
    package_id  uuid PRIMARY KEY,
    source      text NOT NULL,
    person_id   bigint,                -- set once the traveller is found or registered
    imported_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE healthpass.transfer_package IS 'packages imported, by id: a package is used once';

-- What the destination received, with its provenance (which issuer said
-- what, when), and the itinerary declared on arrival.
CREATE TABLE received_transfer (
    person_id          bigint NOT NULL,
    package_id         uuid NOT NULL,
    source             text NOT NULL,
    source_kid         bytea NOT NULL,
    token_issued_at    timestamptz NOT NULL,
    colour             text NOT NULL,
    colour_at          timestamptz NOT NULL,
    answers            jsonb NOT NULL,
    last_negative_test date,
    tests              jsonb NOT NULL DEFAULT '[]',
    notice_version     integer NOT NULL,
    consented_at       timestamptz NOT NULL,
    phone              text NOT NULL,
    destination_city   text NOT NULL,
    address            text NOT NULL,
    sms_checked        boolean NOT NULL,
    captcha_checked    boolean NOT NULL,
    outcome            text NOT NULL CHECK (outcome IN ('entry_person_page', 'submitted')),
    received_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, package_id)
);
COMMENT ON TABLE healthpass.received_transfer IS
    'transfers received: the source''s colour, answers and tests with their provenance, and the itinerary declared here';
CREATE INDEX received_transfer_time ON received_transfer (person_id, received_at);

-- the fact colour rules read from it (colour_facts, sql/api/54_rules.sql):
-- a destination's own rule, such as "green when a trusted partner found the
-- person green within 24 hours"
INSERT INTO colour_fact VALUES
    ('recognised_green_at', 'timestamptz',
     'when a trusted partner issuer last found the person green, from a transfer imported here; missing when none');

SELECT pg_catalog.pg_extension_config_dump('sealing_key', '');
SELECT pg_catalog.pg_extension_config_dump('transfer_partner', '');
SELECT pg_catalog.pg_extension_config_dump('partner_sealing_key', '');
SELECT pg_catalog.pg_extension_config_dump('transfer_export', '');
SELECT pg_catalog.pg_extension_config_dump('transfer_package', '');
SELECT pg_catalog.pg_extension_config_dump('received_transfer', '');
