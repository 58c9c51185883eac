-- 74_records.sql: entry-exit record certificates (出入境记录凭证) for
-- mainland residents, and Hong Kong's contactless e-Channel code (非触式
-- e-道) with the passages made with it (seed 003).
--
-- Every table is a person's: person_id first in the primary key and in
-- every unique key. A certificate and a contactless code are HP1 tokens
-- issued through the ledger of live codes (code_issued); the tables here
-- keep what the ledger forgets when a code expires: which certificate was
-- issued for which period and crossings, how each contactless code was
-- authenticated, and which code let whom through which gate.
-- (created once: later changes go to sql/updates/)

-- Every record certificate issued: a period certificate (period_from ..
-- period_to, the crossings in it) or a kiosk print (port_code: the latest
-- crossing at that port). crossing_ids are the crossings it lists, oldest
-- first. A certificate is a paper record: this is the administration's copy.
CREATE TABLE record_certificate (
    person_id      bigint NOT NULL,
    certificate_id bigint GENERATED ALWAYS AS IDENTITY,
    token_id       bytea NOT NULL,
    kid            bytea NOT NULL,
    period_from    timestamptz,
    period_to      timestamptz,
    port_code      text REFERENCES port,
    crossing_ids   bigint[] NOT NULL,
    issued_at      timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (person_id, certificate_id),
    UNIQUE (person_id, token_id),
    -- a period certificate names its period, a kiosk print its port
    CHECK ((period_from IS NOT NULL AND period_to IS NOT NULL AND period_from < period_to AND port_code IS NULL)
           OR (period_from IS NULL AND period_to IS NULL AND port_code IS NOT NULL
               AND cardinality(crossing_ids) = 1))
);
COMMENT ON TABLE healthpass.record_certificate IS
    'entry-exit record certificates issued (seed 003): token, period or kiosk port, the crossings listed';

-- Every contactless e-Channel code issued to a Hong Kong resident, with how
-- the resident was authenticated before it (iAM Smart).
CREATE TABLE contactless_code (
    person_id         bigint NOT NULL,
    token_id          bytea NOT NULL,
    authenticated_via text NOT NULL CHECK (authenticated_via IN ('iam_smart', 'iam_smart_plus')),
    issued_at         timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    PRIMARY KEY (person_id, token_id)
);
COMMENT ON TABLE healthpass.contactless_code IS
    'contactless e-Channel codes issued (seed 003 非触式e-道): token id, authentication, validity';

-- A passage through a contactless e-Channel gate. A code is used once: its
-- token id is the key, so a second scan of the same code (at any gate, at
-- the same moment or later) finds it taken.
CREATE TABLE contactless_passage (
    person_id  bigint NOT NULL,
    token_id   bytea NOT NULL,
    port_code  text NOT NULL REFERENCES port,
    direction  text NOT NULL CHECK (direction IN ('arrival', 'departure')),
    passed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, token_id),
    FOREIGN KEY (person_id, token_id) REFERENCES contactless_code
);
COMMENT ON TABLE healthpass.contactless_passage IS
    'passages through Hong Kong contactless e-Channel gates: the code used (once), port, direction as Hong Kong sees it, instant';
-- a person's passages by time
CREATE INDEX contactless_passage_person_time ON contactless_passage (person_id, passed_at);

SELECT pg_catalog.pg_extension_config_dump('record_certificate', '');
SELECT pg_catalog.pg_extension_config_dump(pg_get_serial_sequence('healthpass.record_certificate', 'certificate_id'), '');
SELECT pg_catalog.pg_extension_config_dump('contactless_code', '');
SELECT pg_catalog.pg_extension_config_dump('contactless_passage', '');
