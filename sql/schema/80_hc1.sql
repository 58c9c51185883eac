-- 80_hc1.sql: EU Digital COVID Certificates ("HC1:", issue 13) verified in
-- the database: the signer certificates of other countries, and the
-- foreign certificates verified and recorded for a person, which colour
-- rules read as facts.
-- (created once: later changes go to sql/updates/)

-- Document signer certificates (DSC): one X.509 certificate, DER, per kid.
-- The kid is what an HC1 names its signer by: the first 8 bytes of
-- SHA-256 over the DER. Signer certificates are public material: a dump
-- carries them.
CREATE TABLE hc1_signer (
    kid         bytea PRIMARY KEY,
    country     text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    certificate bytea NOT NULL,
    family      text NOT NULL CHECK (family IN ('EC', 'RSA')),
    not_before  timestamptz NOT NULL,
    not_after   timestamptz NOT NULL,
    subject     text NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    added_by    name NOT NULL DEFAULT session_user,
    CONSTRAINT hc1_signer_kid_of_certificate CHECK (kid = substring(sha256(certificate) FROM 1 FOR 8)),
    CONSTRAINT hc1_signer_validity CHECK (not_before < not_after)
);
COMMENT ON TABLE healthpass.hc1_signer IS
    'signer certificates of HC1 (EU DCC) issuers: kid = SHA-256(DER)[0:8], country, key family (EC P-256 or RSA), validity';
SELECT pg_catalog.pg_extension_config_dump('hc1_signer', '');

-- Foreign certificates verified and recorded for a person: one row a
-- certificate (its UVCI, "ci"), never updated. A test has its type
-- (naat: nucleic-acid amplification, rat: rapid antigen), sampling time
-- and result; a vaccination its date and dose n of total; a recovery its
-- validity. kid and country name the signer that verified it.
CREATE TABLE hc1_record (
    person_id     bigint NOT NULL,
    uvci          text NOT NULL CHECK (length(uvci) BETWEEN 1 AND 80),
    kind          text NOT NULL CHECK (kind IN ('test', 'vaccination', 'recovery')),
    test_type     text CHECK (test_type IN ('naat', 'rat')),
    sampled_at    timestamptz,
    result        text CHECK (result IN ('negative', 'positive')),
    vaccinated_on date,
    dose_number   integer CHECK (dose_number BETWEEN 1 AND 99),
    dose_total    integer CHECK (dose_total BETWEEN 1 AND 99),
    valid_from    date,
    valid_until   date,
    country       text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    kid           bytea NOT NULL,
    issued_at     timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, uvci),
    CHECK (kind <> 'test' OR (test_type IS NOT NULL AND sampled_at IS NOT NULL AND result IS NOT NULL)),
    CHECK (kind <> 'vaccination' OR (vaccinated_on IS NOT NULL AND dose_number IS NOT NULL AND dose_total IS NOT NULL)),
    CHECK (kind <> 'recovery' OR (valid_from IS NOT NULL AND valid_until IS NOT NULL))
);
COMMENT ON TABLE healthpass.hc1_record IS
    'foreign HC1 certificates verified and recorded for a person: test (sample, result), vaccination (date, dose n/total) or recovery';
-- the facts read the latest test and any complete vaccination of a person
CREATE INDEX hc1_record_test ON hc1_record (person_id, sampled_at) WHERE kind = 'test';
SELECT pg_catalog.pg_extension_config_dump('hc1_record', '');

-- the facts colour rules may read from them (colour_facts, sql/api/54_rules.sql)
INSERT INTO colour_fact VALUES
    ('foreign_negative_at',          'timestamptz', 'sampling time of the latest negative nucleic-acid (NAAT) test on a verified foreign (HC1) certificate sampled in the last 14 days; missing when none'),
    ('foreign_vaccination_complete', 'boolean',     'a verified foreign (HC1) vaccination certificate records the last dose of its series (dose n of n)');
